/*
 * jit_cc.h — the recompiler's compile-time state, shared by jit.c (control
 * flow, arithmetic, the compile driver) and jit_mem.c (the shared routines and
 * guest memory access). Internal to src/pvm.
 */
#ifndef JK_PVM_JIT_CC_H
#define JK_PVM_JIT_CC_H

#include "jit.h"
#include "jit_x64.h"

#include <stddef.h>

#define CTX_GAS ((int32_t)offsetof(jk_jit_ctx, gas))
#define CTX_TOP ((int32_t)offsetof(jk_jit_ctx, top))
#define CTX_EMPTY_LEAF ((int32_t)offsetof(jk_jit_ctx, empty_leaf))
#define CTX_EXIT ((int32_t)offsetof(jk_jit_ctx, exit_index))
#define CTX_JCOUNT ((int32_t)offsetof(jk_jit_ctx, jump_count))
#define CTX_JCODE ((int32_t)offsetof(jk_jit_ctx, jump_code))
#define CTX_SCRATCH ((int32_t)offsetof(jk_jit_ctx, scratch))
#define CTX_RSP ((int32_t)offsetof(jk_jit_ctx, host_rsp))
#define CTX_STACK_LIMIT ((int32_t)offsetof(jk_jit_ctx, stack_limit))
/* Direct returns (jit_ctl.c): at most this many call sites. */
#define JK_JIT_SITES 4u
/* c->align: pad so the block's prologue (a return's landing), not what
 * follows it, starts the line. */
#define JK_ALIGN_LABEL 2
/* Host stack the predicted returns may use: 1,024 levels of 16 bytes. */
#define JK_JIT_RETURN_STACK (16 * 1024)
#define CTX_LOOP_BIAS ((int32_t)offsetof(jk_jit_ctx, loop_bias))
#define CTX_LOOP_DELTA ((int32_t)offsetof(jk_jit_ctx, loop_delta))
#define CTX_LOOP_K ((int32_t)offsetof(jk_jit_ctx, loop_k))
#define CTX_FRAME_DELTA ((int32_t)offsetof(jk_jit_ctx, frame_delta))
#define CTX_FRAME_LO ((int32_t)offsetof(jk_jit_ctx, frame_lo))
#define CTX_FRAME_HI ((int32_t)offsetof(jk_jit_ctx, frame_hi))
#define CTX_STACK_ADDR ((int32_t)offsetof(jk_jit_ctx, stack_tlb.addr))
#define CTX_STACK_BASE ((int32_t)offsetof(jk_jit_ctx, stack_tlb.base))
#define CTX_TLB_R_ADDR ((int32_t)offsetof(jk_jit_ctx, tlb_r[0].addr))
#define CTX_TLB_R_BASE ((int32_t)offsetof(jk_jit_ctx, tlb_r[0].base))
#define CTX_TLB_W_ADDR ((int32_t)offsetof(jk_jit_ctx, tlb_w[0].addr))
#define CTX_TLB_W_BASE ((int32_t)offsetof(jk_jit_ctx, tlb_w[0].base))
_Static_assert(JK_JIT_TLB_SIZE == 16, "the code indexes the TLB with (addr >> 8) & 0xF0");
_Static_assert(sizeof(((jk_jit_ctx *)0)->tlb_r[0]) == 16, "TLB entries are 16 bytes");

enum {
#define JK_OPC(op, name, fmt, term) OP_##name = op,
    JK_PVM_OPCODE_TABLE(JK_OPC)
#undef JK_OPC
};

/* The gas counter lives in a host register for the whole run: the block
 * prologue's `sub` would otherwise be a store-to-load chain through memory in
 * every loop. Caller-saved, so it is spilled to ctx->gas around calls into C,
 * and stored there on exit. */
#define X_GAS X_R11

static inline bool jk_host_caller_saved(uint8_t h)
{
    return h == X_RSI || h == X_RDI || (h >= X_R8 && h <= X_R11);
}

/* Bytes one guest instruction may emit, at most (checked after each). */
#define JK_JIT_INSN_BOUND 512

typedef struct jk_fixup {
    uint32_t at;     /* rel32 field */
    uint32_t target; /* instruction index (a block start) */
    bool to_entry;   /* to entry[target], past its gas prologue (jit_ctl.c:
                        the jumping block paid for it) */
    bool framed;     /* to the frame copy's code (jit_stack.c), else the
                        ordinary copy's */
} jk_fixup;

/* The out-of-line part of one guest memory access (jit_mem.c): emitted after
 * all instructions, reached only on a TLB miss. */
typedef struct jk_mem_stub {
    uint32_t miss_at;   /* the hot path's rel32 jump to the stub */
    uint32_t hit;       /* where the access itself starts (rdx, rcx ready) */
    uint32_t done;      /* where the hot path continues */
    uint32_t index;     /* the instruction */
    uint64_t vimm;      /* store: the constant stored when vreg < 0 */
    int16_t vreg;       /* store: the guest register stored, or −1 */
    uint8_t n, write, sx, ra;
    bool konst;         /* the miss path starts with the address in rcx
                           (a known address's compare, or the stack TLB's
                           miss path), not xored with a TLB entry */
    bool sum;           /* the access is at [rcx] (stack TLB): the walk
                           adds the page to the offset before going back */
    bool known;         /* a known address whose hot path formed none: the
                           miss path starts with `mov ecx, addr` */
    uint32_t addr;
} jk_mem_stub;

/* Code placed after all instructions, reached only by a rarely taken jump. */
enum {
    JK_LATE_OOG,        /* block `first` cannot be paid: give `cost` back, exit */
    JK_LATE_GROUP,      /* access group first..last: its one-by-one copy */
    JK_LATE_DJUMP_OUT,  /* djump at `first` outside the table: halt or panic */
    JK_LATE_DEEP_JUMP,  /* call via a pointer at `first` outside the calls'
                           table or with the host stack full: the plain djump */
    JK_LATE_DIV,        /* a division's divisor 0 or −1: its result, back to `done` */
    JK_LATE_STACK,      /* one access through the stack pointer missed the stack
                           TLB: tlb_w, then stub `first` (jit_stack.c) */
    JK_LATE_FRAME,      /* `add_imm_64 sp, sp, k` at `first` in the frame copy
                           left the window: check again, back to `back` or
                           to the ordinary copy's first + 1 (jit_stack.c) */
    JK_LATE_PAID,       /* jump-table entry `first` (block `last`) for a paid
                           call (jit_ctl.c): charge the difference, enter
                           past the prologue; `done` gets where it starts */
};

/* JK_LATE_DIV: `first` is the dividend's guest register, `cost` these bits. */
#define JK_DIV_W 1u     /* 64-bit (else 32-bit) */
#define JK_DIV_REM 2u   /* remainder (in rdx), else quotient (in rax) */
#define JK_DIV_M1 4u    /* the divisor −1 case of a signed form, else divisor 0 */

typedef struct jk_late {
    uint32_t at;          /* the rel32 jump to patch to it */
    uint32_t at2;         /* group: a second one, or 0 (jit_group.c) */
    uint32_t first, last; /* instructions */
    uint32_t done;        /* group: where the fast copy continues */
    uint32_t cost;        /* out of gas: the cost to give back */
    int kind;             /* JK_LATE_* */
    /* group through the stack register (jit_stack.c): its check's span, */
    uint32_t span;        /* whether it stores, and where its fast copy */
    uint32_t back;        /* starts (the stack TLB's miss path returns there) */
    bool write, stack;
    bool framed;          /* recorded while compiling the frame copy */
} jk_late;

typedef struct jk_cc {
    jk_x64_buf b;
    const jk_pvm_program *prog;
    uint32_t *label;  /* per instruction: offset of its block prologue */
    uint32_t *entry;  /* per instruction: offset after the prologue */
    jk_fixup *fix;
    size_t fix_count, fix_cap;
    /* shared routines */
    size_t exit_common, panic_common, halt_common, mem_fail, load_slow, store_slow;
    size_t djump_bad; /* panic at the index in eax (jit_ctl.c) */
    size_t call_bad;  /* panic at the call via a pointer that pushed the v at [rsp+8] */
    size_t call_bad_a; /* the same from the v in ω_call_ra (direct returns) */
    int call_ra;      /* the A of every call via a pointer, or −1 (jit_ctl.c) */
    bool oom;
    uint8_t map[JK_PVM_REGS]; /* host register of each guest register, or X_NOREG */
    void **jump_code;         /* the jump table's code addresses (filled at the end) */
    void **call_code;         /* the calls' table (jk_pvm_jit_call_table), or NULL */
    jk_mem_stub *stubs;       /* memory accesses' out-of-line parts, in order */
    size_t stub_count, stub_cap;
    jk_late *late;            /* out-of-line code, emitted before the stubs */
    size_t late_count, late_cap;
    uint8_t *no_entry;        /* per instruction: a run may not start here (jit_range.c) */
    size_t maddr_at, maddr_end; /* the last jk_pvm_jit_maddr's code (jit_mem.c) */
    int stack_reg;            /* the guest stack pointer (jit_stack.c), or −1 */
    /* The bottom of the predicted returns (jit_ctl.c): v = 2(k + 1) of the
     * first jump-table entry k that is a block start, or 0 when none is;
     * where the trampoline's `lea rax, [rip + rel32]` wants the bottom
     * routine's address. */
    uint32_t bottom_v, bottom_k;
    size_t bottom_at;
    /* Blocks that pay for their successor (jit_ctl.c, "precharged"): per
     * instruction, the gas its block's prologue charges beyond the block's
     * own cost, or NULL when no block does; and the instruction the driver
     * is compiling (jit.c). */
    uint32_t *pre;
    uint32_t insn;
    /* Per block start F that only a precharged branch's fallthrough enters
     * (session 10): the gas that branch's block already paid for its
     * target, which F's prologue charges less (it gives it back when the
     * branch falls through); NULL when no block has any. */
    uint32_t *less;
    /* Paid calls (jit_plan.c, session 14): what every call via a pointer's
     * block precharges for its callee's entry, or 0 when none does. */
    uint32_t call_paid;
    /* Direct returns (session 10): a program with at most JK_JIT_SITES
     * call sites returns by comparing the target with each site's v and
     * jumping to its landing block, and calls are plain jumps; site_count
     * is 0 when the program has more (returns are then predicted with the
     * host's call/ret, above). */
    uint32_t site_v[JK_JIT_SITES], site_at[JK_JIT_SITES];
    uint32_t site_count;
    /* Per instruction: 1 when what follows its block's prologue must start
     * on 16 bytes (a precharged jump lands there: jit_ctl.c), or NULL when
     * no block is padded. */
    uint8_t *align;
    /* The frame copy (jit_stack.c, session 9): a second copy of the program
     * whose accesses near the stack pointer need no check. `framed` while
     * compiling it (label, entry, jump_code and call_code then point at its
     * own arrays; the _o ones are the ordinary copy's); frame_h is the
     * window H, 0 when the program gets no frame copy; frame_try the
     * routine that checks the window. */
    bool framed;
    uint32_t frame_h;
    uint8_t frame_host;       /* the stack pointer's host register */
    uint8_t frame_reg;        /* a callee-saved host register holding
                                 frame_delta in the frame copy, or X_NOREG
                                 (then the copy loads it from ctx) */
    uint64_t uses[JK_PVM_REGS]; /* jit.c's weighted count of each guest
                                   register's namings (0: never named) */
    size_t frame_try;
    uint32_t *label_o, *entry_o, *label_f, *entry_f;
    void **jump_code_o, **call_code_o, **jump_code_f, **call_code_f;
} jk_cc;

static inline jk_x64_rm jk_opnd(const jk_cc *c, unsigned g)
{
    uint8_t h = c->map[g];
    return h != X_NOREG ? X_REG(h) : X_MEM(X_RBX, (int32_t)(8 * g));
}
#define G(g) jk_opnd(c, (g))

static inline void ld(jk_cc *c, uint8_t host, unsigned g) { x_mov_r_rm(&c->b, true, host, G(g)); }
static inline void ld32(jk_cc *c, uint8_t host, unsigned g) { x_mov_r_rm(&c->b, false, host, G(g)); }
static inline void st(jk_cc *c, unsigned g, uint8_t host) { x_mov_rm_r(&c->b, true, G(g), host); }

/* Room for one more element in one of the compiler's growing arrays: the
 * array (moved, maybe), or NULL with c->oom set. */
static inline void *jk_grow(jk_cc *c, void *items, size_t *cap, size_t count, size_t size)
{
    if (count < *cap)
        return items;
    size_t n = *cap ? *cap * 2 : 256;
    void *grown = realloc(items, n * size);
    if (!grown) {
        c->oom = true;
        return NULL;
    }
    *cap = n;
    return grown;
}

/* A jump's rel32 field at `at` to instruction target's code in the copy
 * `framed` (jit_stack.c), past its prologue when to_entry. */
static inline void jk_jump_to_copy(jk_cc *c, size_t at, uint32_t target, bool to_entry, bool framed)
{
    jk_fixup *f = jk_grow(c, c->fix, &c->fix_cap, c->fix_count, sizeof *f);
    if (!f)
        return;
    c->fix = f;
    c->fix[c->fix_count].at = (uint32_t)at;
    c->fix[c->fix_count].target = target;
    c->fix[c->fix_count].to_entry = to_entry;
    c->fix[c->fix_count].framed = framed;
    c->fix_count++;
}

/* The same in the copy being compiled. */
static inline void jk_jump_to_at(jk_cc *c, size_t at, uint32_t target, bool to_entry)
{
    jk_jump_to_copy(c, at, target, to_entry, c->framed);
}

static inline void jk_jump_to(jk_cc *c, size_t at, uint32_t target)
{
    jk_jump_to_at(c, at, target, false);
}

/* Set ctx->exit_index = i. */
static inline void jk_set_exit(jk_cc *c, uint32_t i)
{
    x_op(&c->b, 0, false, 0xC7, 1, 0, X_MEM(X_RBX, CTX_EXIT), false);
    x_d(&c->b, i);
}

static inline void jk_jmp_to_off(jk_cc *c, size_t target)
{
    x_patch32(&c->b, x_jmp32(&c->b), target);
}

static inline void jk_exit_with(jk_cc *c, uint32_t i, int code)
{
    jk_set_exit(c, i);
    x_mov_r_imm(&c->b, X_RAX, (uint64_t)code);
    jk_jmp_to_off(c, c->exit_common);
}

static inline void jk_panic(jk_cc *c, uint32_t i)
{
    jk_set_exit(c, i);
    jk_jmp_to_off(c, c->panic_common);
}

/* Spill / reload guest registers kept in host registers. */
static inline void jk_spill(jk_cc *c, bool all)
{
    x_mov_rm_r(&c->b, true, X_MEM(X_RBX, CTX_GAS), X_GAS);
    for (unsigned g = 0; g < JK_PVM_REGS; g++)
        if (c->map[g] != X_NOREG && (all || jk_host_caller_saved(c->map[g])))
            x_mov_rm_r(&c->b, true, X_MEM(X_RBX, (int32_t)(8 * g)), c->map[g]);
}

static inline void jk_reload(jk_cc *c, bool all)
{
    x_mov_r_rm(&c->b, true, X_GAS, X_MEM(X_RBX, CTX_GAS));
    for (unsigned g = 0; g < JK_PVM_REGS; g++)
        if (c->map[g] != X_NOREG && (all || jk_host_caller_saved(c->map[g])))
            x_mov_r_rm(&c->b, true, c->map[g], X_MEM(X_RBX, (int32_t)(8 * g)));
}

static inline void jk_call_abs(jk_cc *c, const void *fn)
{
    uint64_t a;
    memcpy(&a, &fn, sizeof a < sizeof fn ? sizeof a : sizeof fn);
    x_mov_r_imm(&c->b, X_RAX, a);
    x_op(&c->b, 0, false, 0xFF, 1, 2, X_REG(X_RAX), false); /* call rax */
}

static inline void jk_sx32_rax(jk_cc *c) { x_movsxd(&c->b, X_RAX, X_REG(X_RAX)); }


/* jit_mem.c */

/* The entry trampoline, exits and slow-path routines, once per program. */
void jk_pvm_jit_emit_routines(jk_cc *c);
/* rax = (uint32)(guest register base + imm), or the constant when base < 0. */
void jk_pvm_jit_addr(jk_cc *c, int base, uint64_t imm);
/* The same into rcx, where guest memory accesses take their address. */
void jk_pvm_jit_maddr(jk_cc *c, int base, uint64_t imm);
/* The same into host register r. */
void jk_pvm_jit_addr_to(jk_cc *c, uint8_t r, int base, uint64_t imm);
/* Load n bytes at the address in rcx into guest register ra (sx: signed). */
void jk_pvm_jit_load(jk_cc *c, uint32_t i, unsigned ra, unsigned n, bool sx);
/* Store n bytes of guest register vreg (or the constant vimm when vreg < 0)
 * at the address in rcx. */
void jk_pvm_jit_store(jk_cc *c, uint32_t i, int vreg, uint64_t vimm, unsigned n);
/* The TLB probe of an access of n bytes at ecx (see jit_mem.c); returns the
 * miss jump's rel32 field. */
size_t jk_pvm_jit_tlb_probe(jk_cc *c, unsigned n, bool write);
/* The page-table walk of an access of the 32-bit address in rcx, refilling
 * its TLB entry when the page allows it (see jit_mem.c); returns the rel8
 * jump taken when it does not. */
size_t jk_pvm_jit_tlb_walk(jk_cc *c, bool write, bool stack);
/* The store itself, at the memory operand `at` (clobbers rax only). */
void jk_pvm_jit_store_at(jk_cc *c, jk_x64_rm at, int vreg, uint64_t vimm, unsigned n);
/* Emit every recorded access's walk and slow path (after all instructions). */
void jk_pvm_jit_emit_mem_stubs(jk_cc *c);
/* Run instruction in in C on the spilled registers (rare opcodes). */
void jk_pvm_jit_call_step(jk_cc *c, const jk_pvm_insn *in);


/* jit_host.c: an `ecalli`: offer the call to the memory's server, exit
 * unless it served it. */
void jk_pvm_jit_ecalli(jk_cc *c, uint32_t i);

/* jit_insn.c: one instruction's code (not its block prologue). */
void jk_pvm_jit_compile_insn(jk_cc *c, uint32_t i);
/* jit_range.c: does the code before instruction i in its block prove that
 * guest register reg, as a divisor (w: 64-bit, sgn: signed), is neither 0
 * nor (signed) −1? If so, *from is the instruction from which the proof's
 * instructions run: a run must not start after it, up to i. */
bool jk_pvm_jit_divisor_safe(const jk_cc *c, uint32_t i, unsigned reg, bool w, bool sgn, uint32_t *from);
/* jit_range.c: does the code before instruction i in its block prove that
 * guest register reg is (ω_x >> 32) | m for some 1 <= m < 2^32, ω_x being
 * what it is at i? Then ω_x / ω_reg has no special case and ω_x's high half
 * is at most ω_reg (the division by the dividend's high half, session 8).
 * *from as for jk_pvm_jit_divisor_safe. */
bool jk_pvm_jit_divisor_high(const jk_cc *c, uint32_t i, unsigned x, unsigned reg, uint32_t *from);
/* jit_range.c: is guest register reg's value known just before instruction
 * i (set by load_imm earlier in the block, …)? If so, *value is it and *from
 * as for jk_pvm_jit_divisor_safe. */
bool jk_pvm_jit_value_known(const jk_cc *c, uint32_t i, unsigned reg, uint64_t *value, uint32_t *from);
/* jit_insn.c: a division's special case, out of line (from jk_pvm_jit_emit_late). */
void jk_pvm_jit_div_special(jk_cc *c, const jk_late *l);

/* jit_ctl.c: branch to instruction index target (a block start) on condition
 * cc (< 0: always), or panic at i when the target is not one. */
void jk_pvm_jit_branch(jk_cc *c, uint32_t i, int cc, uint32_t target);
/* jit_ctl.c: is `load_imm_jump(_ind) rA, v, …` at i a call whose return
 * address v leads to the next instruction (return prediction)? */
bool jk_pvm_jit_is_call(const jk_cc *c, uint32_t i, uint64_t v);
/* jit_ctl.c: a static call returning to v, to block target. */
void jk_pvm_jit_static_call(jk_cc *c, uint64_t v, uint32_t target);
/* jit_table.c: djump on the address (ω_base + imm) mod 2^32, or on eax when
 * in_eax. */
void jk_pvm_jit_djump(jk_cc *c, uint32_t i, bool in_eax, unsigned base, uint64_t imm);
/* jit_table.c: a call via a pointer to the same address, returning to v,
 * through the calls' table (c->call_code set); its number of entries. */
void jk_pvm_jit_call_ind(jk_cc *c, uint32_t i, bool in_eax, unsigned base, uint64_t imm, uint32_t v);
uint32_t jk_pvm_jit_call_slots(const jk_pvm_program *prog);
/* jit_ctl.c: the predicted return of `jump_ind ra, imm`; falls through with
 * eax = the target when it is not the predicted one. */
void jk_pvm_jit_return(jk_cc *c, unsigned a, uint64_t imm);
/* jit_ctl.c: the trampoline's bottom entry of the predicted returns (from
 * jk_pvm_jit_emit_routines), and the routine a return to it enters (from
 * jk_pvm_jit_emit_late). */
void jk_pvm_jit_push_bottom(jk_cc *c);
void jk_pvm_jit_emit_bottom(jk_cc *c);
/* jit_ctl.c: a predicted call's depth check (`cmp rsp, [limit]`; "below or
 * equal": too deep) and its push of v. */
void jk_pvm_jit_depth_cmp(jk_cc *c);
void jk_pvm_jit_push_return(jk_cc *c, uint64_t v);

/* jit_group.c: if an access group starts at instruction i, emit its fast
 * copy (the one-by-one copy is emitted late; see there), set *last to its
 * last instruction and return true. */
bool jk_pvm_jit_group(jk_cc *c, uint32_t i, uint32_t *last);
/* jit_group.c: the same without trying a strided loop first (jit_loop.c). */
bool jk_pvm_jit_group_only(jk_cc *c, uint32_t i, uint32_t *last);

/* One guest memory access through a base register (jit_group.c). */
typedef struct jk_memop {
    unsigned base;   /* guest register holding the base address */
    uint32_t off;    /* constant added to it (32-bit wrap) */
    unsigned n;      /* bytes */
    bool write, sx;
    int reg;         /* load: destination; store: value register, or −1 */
    uint64_t vimm;   /* store: the constant stored when reg < 0 */
} jk_memop;
/* jit_group.c: decode in as a register-based access, or return false. */
bool jk_pvm_group_memop(const jk_pvm_insn *in, jk_memop *m);
/* jit_group.c: the guest register an instruction allowed between checked
 * accesses writes, or −1 when it may not sit there. Allowed: ALU forms whose
 * code (jit_insn.c) uses only rax and rcx as scratch (never rdx), never exits
 * and never calls C. */
int jk_pvm_group_alu(const jk_pvm_insn *in);
/* jit_group.c: access m as one plain host load or store at `at`, known to be
 * inside a page that allows it (clobbers rax only). */
void jk_pvm_group_access(jk_cc *c, const jk_memop *m, jk_x64_rm at);
/* jit_loop.c: if instruction i starts a strided loop, emit the whole loop
 * block (its ordinary code, the check and the checked-once copy), set *last
 * to its last instruction and return true. */
bool jk_pvm_jit_loop(jk_cc *c, uint32_t i, uint32_t *last);

/* jit_group.c: a group's one-by-one copy, out of line (from jk_pvm_jit_emit_late). */
void jk_pvm_jit_group_slow(jk_cc *c, const jk_late *l);
/* jit_stack.c: choose c->stack_reg, the register whose access groups use
 * the stack TLB (once per program, linear). */
void jk_pvm_jit_stack_choose(jk_cc *c);
/* jit_stack.c: the stack TLB check of [ω_base + off, + span) (one page,
 * private writable); on a hit rdx = the host address of its first byte.
 * Returns the miss jump's rel32 field; *back is where the hit continues. */
size_t jk_pvm_jit_stack_probe(jk_cc *c, unsigned base, uint32_t off, uint32_t span, uint32_t *back);
/* jit_stack.c: a stack group's miss path (from jk_pvm_jit_emit_late): the
 * ordinary TLBs, refilling the stack TLB; returns the rel32 field of the
 * jump to take when they miss too (to the group's one-by-one copy). */
size_t jk_pvm_jit_stack_miss(jk_cc *c, const jk_late *l);
/* jit_stack.c: do accesses to [ω_base + off, + span) use the stack TLB
 * (base the stack pointer, the range near it)? */
bool jk_pvm_jit_stack_near(const jk_cc *c, unsigned base, uint32_t off, uint32_t span);
/* jit_stack.c: is instruction i a register-based access that uses the stack
 * TLB (as above)? */
bool jk_pvm_jit_stack_access(const jk_cc *c, uint32_t i);
/* jit_stack.c: the stack TLB check of one access of n bytes at the address
 * in rcx; on a hit rcx = its host address. Fills the stub's hot-path fields;
 * the caller adds the stub next. */
void jk_pvm_jit_stack_check(jk_cc *c, unsigned n, bool write, jk_mem_stub *stub);
/* jit_stack.c: that check's miss path (JK_LATE_STACK, from jk_pvm_jit_emit_late). */
void jk_pvm_jit_stack_check_miss(jk_cc *c, const jk_late *l);
/* jit_stack.c: the frame copy (session 9). Choose the window H and
 * whether the program gets a frame copy (c->frame_h), once, after
 * jk_pvm_jit_stack_choose. */
void jk_pvm_jit_frame_plan(jk_cc *c);
/* jit_stack.c: emit the routine that checks the window (c->frame_try). */
void jk_pvm_jit_frame_routine(jk_cc *c);
/* jit_stack.c: select the copy compiled next: its arrays and tables. */
void jk_pvm_jit_frame_select(jk_cc *c, bool framed);
/* jit_stack.c: in the frame copy, instruction i that the copy does not
 * compile (a host call, sbrk, a terminator that writes the stack pointer):
 * a jump to the ordinary copy's i; returns true when it emitted that. */
bool jk_pvm_jit_frame_leave(jk_cc *c, uint32_t i);
/* jit_stack.c: in the frame copy, instruction i alone when it is an access
 * inside the window: one host instruction and the delta's load; returns
 * true when it emitted that. */
bool jk_pvm_jit_frame_access(jk_cc *c, uint32_t i);
/* jit_stack.c: after instruction i (compiled alone, either copy): when it
 * writes the stack pointer, the window's check and the move between copies. */
void jk_pvm_jit_frame_after(jk_cc *c, uint32_t i);
/* jit_stack.c: may instruction i write the stack pointer (either copy)? */
bool jk_pvm_jit_frame_writes_sp(const jk_cc *c, uint32_t i);
/* jit_stack.c: a group's span [sp + off, + span) inside the window (frame
 * copy only): its accesses need no check. */
bool jk_pvm_jit_frame_near(const jk_cc *c, unsigned base, uint32_t off, uint32_t span);
/* jit_stack.c: in the frame copy, where the access at sp + off goes
 * ([sp + delta + off], the delta in frame_reg or, after
 * jk_pvm_jit_frame_delta, in rdx). */
jk_x64_rm jk_pvm_jit_frame_at(jk_cc *c, uint32_t off);
void jk_pvm_jit_frame_delta(jk_cc *c);
/* jit_stack.c: JK_LATE_FRAME's code (from jk_pvm_jit_emit_late). */
void jk_pvm_jit_frame_late(jk_cc *c, const jk_late *l);
/* jit_ctl.c: choose the blocks that pay for their successor (c->pre) and
 * the landing points to align (c->align); false when out of memory. */
bool jk_pvm_jit_precharge_plan(jk_cc *c);
/* Where precharged jumps and calls land on 16 bytes (jit_ctl.c); called by
 * jk_pvm_jit_precharge_plan (jit_plan.c) once its plans are made. */
void jk_pvm_jit_align_plan(jk_cc *c);
/* jit_ctl.c: the call sites, for direct returns (c->site_count). */
void jk_pvm_jit_site_plan(jk_cc *c);
/* jit_ctl.c: how many call sites return directly (the site plan's
 * choice, known before it runs), 0 when returns are predicted. */
uint32_t jk_pvm_jit_direct_sites(const jk_cc *c);
/* jit_ctl.c: the padding before block i's prologue, if c->align asks. */
void jk_pvm_jit_align(jk_cc *c, uint32_t i);
/* jit_table.c: allocate c->call_code (jit->call_code) when the program makes
 * a call via a pointer; false when out of memory. */
bool jk_pvm_jit_call_table(jk_cc *c);
/* jit_table.c: the frame copy's calls' table (allocated with the ordinary
 * one), and freeing both (jk_pvm_jit_free). */
void **jk_pvm_jit_call_table_frame(const jk_cc *c);
void jk_pvm_jit_call_table_free(void **table);
/* jit_table.c: the calls' table's addresses, once the code is mapped at code. */
void jk_pvm_jit_call_table_fill(const jk_cc *c, uint8_t *code);
/* jit_ctl.c: record one piece of out-of-line code. */
void jk_pvm_jit_add_late(jk_cc *c, const jk_late *l);
/* jit_ctl.c: emit the recorded out-of-line code (after all instructions). */
void jk_pvm_jit_emit_late(jk_cc *c);
/* jit_table.c: the paid calls' stubs, recorded as late code (from
 * jk_pvm_jit_emit_late), one stub's code, and a paid call's slow path. */
void jk_pvm_jit_paid_stubs(jk_cc *c);
void jk_pvm_jit_paid_stub(jk_cc *c, jk_late *l);
void jk_pvm_jit_paid_slow(jk_cc *c, const jk_late *l);

#endif
