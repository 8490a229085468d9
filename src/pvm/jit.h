/*
 * jit.h — what the recompiler's compiler (jit.c) and runtime (jit_run.c)
 * share (internal to src/pvm).
 *
 * Compiled code runs with one context (jk_jit_ctx) whose address is in rbx.
 * Eleven guest registers (the program's most used) live in host registers for
 * the whole run; the other two live in ctx->regs. ctx->regs is also where every register is spilled
 * when compiled code calls into C, so a C helper sees the whole state.
 */
#ifndef JK_PVM_JIT_H
#define JK_PVM_JIT_H

#include "internal.h"

#include <stddef.h>

#if defined(__x86_64__) && (defined(__linux__) || defined(__APPLE__) || defined(__FreeBSD__))
#define JK_PVM_HAVE_JIT 1
#else
#define JK_PVM_HAVE_JIT 0
#endif

/* Exit codes of compiled code (returned in eax by the entry trampoline). */
enum {
    JK_JIT_EXIT_HALT = 1,
    JK_JIT_EXIT_PANIC = 2,
    JK_JIT_EXIT_OOG = 3,
    JK_JIT_EXIT_MEMORY = 4, /* ctx->mem_rc says panic, fault or no memory */
    JK_JIT_EXIT_HOST = 5,
};

/* The run's context. Hot fields first, so the code reaches them with 8-bit
 * displacements. */
typedef struct jk_jit_ctx {
    uint64_t regs[JK_PVM_REGS];     /* the two unmapped always; the rest when spilled */
    int64_t gas;
    /* The frame window (jit_stack.c, session 9): while the code runs in its
     * frame copy, frame_lo <= sp <= frame_hi, [sp, sp + H) lies in one
     * private writable page, and that page's host address is its guest
     * address + frame_delta. Written only by the frame check routine;
     * frame_lo is emptied with the TLBs (to JK_JIT_TLB_EMPTY), after which
     * the routine walks the page table again. */
    uint64_t frame_delta;
    uint64_t frame_lo, frame_hi;
    /* The stack TLB (jit_stack.c): one private writable page, the one the
     * stack pointer's access groups last used; emptied with the TLBs. */
    struct {
        uint64_t addr;              /* the page's guest address, or JK_JIT_TLB_EMPTY */
        uint64_t base;              /* its host buffer */
    } stack_tlb;
    /* Direct-mapped TLBs, indexed by page number mod JK_JIT_TLB_SIZE: for
     * loads (readable pages) and for stores (private writable pages). */
    struct {
        uint64_t addr;              /* the page's guest address, or JK_JIT_TLB_EMPTY */
        uint64_t base;              /* its host buffer */
    } tlb_r[16], tlb_w[16];
    const uintptr_t *top;           /* the memory's top level (leaf offsets) */
    uintptr_t empty_leaf;           /* what the offsets are relative to */
    uint32_t exit_index;            /* instruction that exited */
    uint32_t jump_count;            /* entries of the jump table */
    void *const *jump_code;         /* per jump-table entry, the code to enter */
    uint64_t scratch;               /* a value passed to or from a helper */
    uint64_t host_rsp;              /* the stack pointer to unwind to on exit */
    uint64_t stack_limit;           /* predicted returns stop below this (jit.c) */
    jk_pvm_memory *mem;
    int mem_rc;                     /* JK_MEM_* of a failed access */
    uint32_t fault_address;
    /* Strided loops (jit_loop.c): written by a loop's check, read by its
     * body; no two loops' bodies ever run interleaved. */
    int64_t loop_bias;              /* gas held back so the body stops after K iterations */
    uint64_t loop_delta[4];         /* per cursor: host address − guest address */
    uint32_t loop_k;                /* the smallest iteration count so far */
    /* Host calls served in compiled code (jit_host.c): the run's program and
     * state, set at every entry. */
    const jk_pvm_program *prog;
    jk_pvm_state *state;
} jk_jit_ctx;

/* An empty TLB entry: no 32-bit address XORed with it is below 4096. */
#define JK_JIT_TLB_EMPTY (UINT64_C(1) << 32)
#define JK_JIT_TLB_SIZE 16

/* A compiled program. The code is mapped read+execute only after it was
 * written (never writable and executable at once). */
typedef struct jk_pvm_jit {
    uint8_t *code;          /* mmap'd, PROT_READ|PROT_EXEC */
    size_t code_map_size;
    size_t code_len;        /* bytes emitted */
    uint32_t *entry;        /* per instruction: where a run resumes at it
                               (after its block's gas check, if any), or
                               JK_JIT_NO_ENTRY: a run starting there uses
                               the interpreter (jit_range.c) */
    void **jump_code;       /* per jump-table entry: code address to enter */
    void **call_code;       /* the same for calls via a pointer (jit_ctl.c),
                               whose entries that are not block starts lead
                               to a routine that needs no index in eax; NULL
                               when the program makes no such call */
    void **jump_code_frame; /* the frame copy's jump table and calls' table */
    void **call_code_frame; /* (jit_stack.c), or NULL when there is none */
    uint32_t *entry_frame;  /* per instruction: where a run that starts
                               there while the cached window holds enters
                               the frame copy (session 10, jit_run.c), or
                               JK_JIT_NO_ENTRY; NULL without a frame copy */
    uint32_t frame_h;       /* the frame copy's window H (jit_stack.c) */
    unsigned frame_sp;      /* the guest stack pointer it is kept for */
    uint32_t *pre;          /* per instruction: gas its block's prologue
                               charges for the block it jumps to (jit_ctl.c,
                               "precharged"), or NULL when no block does */
    uint32_t trampoline;    /* offset of the entry trampoline */
} jk_pvm_jit;

#define JK_JIT_NO_ENTRY UINT32_MAX

/* Programs with at most this many call sites (at most 4) return directly
 * (jit_ctl.c, "Direct returns"), the others with the host's call/ret.
 * Only tests change it, before loading the programs they want compiled
 * the other way: both ways give the interpreter's results. */
extern unsigned jk_pvm_jit_direct_max;

/* Compile prog (already pre-decoded) into prog->jit. On any failure (no
 * executable memory, out of memory) prog->jit stays NULL and runs use the
 * interpreter, which gives the same results. */
void jk_pvm_jit_compile(jk_pvm_program *prog);
void jk_pvm_jit_free(jk_pvm_jit *jit);

/* jk_pvm_run on compiled code; prog->jit must be non-NULL. */
jk_err jk_pvm_jit_run(const jk_pvm_program *prog, jk_pvm_memory *mem, jk_pvm_state *state,
                      jk_pvm_exit *out);

/* Helpers called from compiled code (jit_run.c). They return 0 on success;
 * otherwise they set ctx->mem_rc (and fault_address) and return 1. */
int jk_pvm_jit_load_slow(jk_jit_ctx *ctx, uint32_t addr, uint32_t n);
int jk_pvm_jit_store_slow(jk_jit_ctx *ctx, uint32_t addr, uint32_t n);
/* Execute one rarely used instruction on ctx->regs (sbrk, bit counts). */
void jk_pvm_jit_step(jk_jit_ctx *ctx, const jk_pvm_insn *in);
/* Empty the TLBs (any page-table entry may have changed). */
void jk_pvm_jit_tlb_flush(jk_jit_ctx *ctx);

#endif
