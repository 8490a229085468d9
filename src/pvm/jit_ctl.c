/*
 * jit_ctl.c — the recompiler's control flow: static branches, calls with
 * return prediction, dynamic jumps through the jump table, and the
 * out-of-line ("late") code that the hot paths jump to rarely (out-of-gas
 * exits, djump failures, too-deep calls, access groups' one-by-one copies).
 *
 * Invariant (docs/pvm.md, "Control flow and safety"): guest code only ever
 * reaches block starts of its own program — static targets are resolved at
 * load to block starts (or a panic exit), dynamic ones go through a table of
 * code addresses indexed by a bounds-checked jump-table entry — and a
 * predicted return lands exactly where its jump-table entry leads.
 */
#include "jit_cc.h"
#include "jit_plan.h"

#include <string.h>
#include <sys/mman.h>

#if JK_PVM_HAVE_JIT

/* Branch to instruction index target (a block start) on cc, or panic when the
 * target is not one. cc < 0: unconditional. */
void jk_pvm_jit_branch(jk_cc *c, uint32_t i, int cc, uint32_t target)
{
    jk_x64_buf *b = &c->b;
    if (target == JK_PVM_NO_TARGET) {
        if (cc < 0) {
            jk_panic(c, i);
            return;
        }
        size_t skip = x_jcc8(b, cc ^ 1);
        jk_panic(c, i);
        x_here8(b, skip);
        return;
    }
    /* a precharged block's jump or branch lands past the prologue it paid
     * (a conditional branch's block is precharged only for its target) */
    jk_jump_to_at(c, cc < 0 ? x_jmp32(b) : x_jcc32(b, cc), target, c->pre && c->pre[i]);
}

/* Where precharged jumps and calls land, on 16 bytes (session 8). With the
 * same instructions, `fib` took 20% less CPU time (perf task-clock, 400
 * runs, builds alternating) when its call's landing point, entry[T] past
 * the prologue the caller paid, starts a 16-byte block — the front end
 * fetches aligned blocks, and a landing near a block's end wastes most of
 * the first — as compilers align functions. Only these landings: aligning
 * every jump-table target as well (calls via a pointer land on a
 * prologue) made `c_fib` 15% slower on the same instructions, so placement
 * is not a free lunch on this VM (docs/pvm.md). The block is padded only
 * when nothing falls into it (the instruction before is a jump, a djump
 * or a trap that is not a call), so the padding is never executed, and
 * never the block after a call, whose prologue is the call's return
 * address. At most 15 bytes a block: linear. */
static bool jk_never_falls_through(const jk_cc *c, uint32_t i)
{
    const jk_pvm_insn *in = &c->prog->insns[i];
    switch (in->opcode) {
    case OP_trap:
    case OP_jump:
    case OP_jump_ind:
        return true;
    case OP_load_imm_jump:
    case OP_load_imm_jump_ind:
        return !jk_pvm_jit_is_call(c, i, in->imm_x);
    default:
        return false;
    }
}

void jk_pvm_jit_align_plan(jk_cc *c)
{
    const jk_pvm_program *prog = c->prog;
    c->align = NULL;
    for (uint32_t i = 0; c->pre && i < prog->insn_count; i++) {
        const jk_pvm_insn *in = &prog->insns[i];
        uint32_t t = in->target;
        if ((in->opcode != OP_jump && in->opcode != OP_load_imm_jump) || !c->pre[i] || t == 0 ||
            t >= prog->insn_count || !jk_never_falls_through(c, t - 1))
            continue;
        if (!c->align && !(c->align = calloc(prog->insn_count, 1)))
            return; /* nothing padded: correct, only slower */
        c->align[t] = 1;
    }
}

void jk_pvm_jit_align(jk_cc *c, uint32_t i)
{
    if (!c->align || !c->align[i])
        return;
    /* the landing is past the prologue: `sub r11, imm8/imm32; jl rel32`
     * (it charges its own cost and, for a precharged branch's block, its
     * target's: jk_pvm_jit_precharge_plan) */
    uint64_t cost = (uint64_t)c->prog->insns[i].cost + (c->pre ? c->pre[i] : 0);
    size_t lead = c->align[i] == JK_ALIGN_LABEL ? 0 : (cost <= 127 ? 4 : 7) + 6;
    size_t line = c->site_count ? 64 : 16; /* direct returns: on 64 (above) */
    size_t pad = (line - (c->b.len + lead) % line) % line;
    static const uint8_t nop[9][9] = {
        {0}, {0x90}, {0x66, 0x90}, {0x0F, 0x1F, 0x00}, {0x0F, 0x1F, 0x40, 0x00},
        {0x0F, 0x1F, 0x44, 0x00, 0x00}, {0x66, 0x0F, 0x1F, 0x44, 0x00, 0x00},
        {0x0F, 0x1F, 0x80, 0x00, 0x00, 0x00, 0x00}, {0x0F, 0x1F, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00},
    };
    while (pad > 0) { /* the recommended long nops, never executed */
        size_t k = pad > 8 ? 8 : pad;
        for (size_t q = 0; q < k; q++)
            x_b(&c->b, nop[k][q]);
        pad -= k;
    }
}

/* Return prediction. A PVM call is `load_imm_jump rA, v, f` (or
 * `load_imm_jump_ind`) whose v is the jump-table address of the very next
 * instruction; the return is a `jump_ind` to v. Such a call pushes v and
 * then makes a host `call` (16 bytes, so the stack stays aligned for calls
 * into C), and its return address is the code just before the next
 * instruction's block. A `jump_ind` whose target equals the v on top of that
 * stack returns with `ret`, which the CPU predicts from its return stack;
 * anything else takes the ordinary djump. Semantics cannot change: the `ret`
 * lands exactly where jump-table entry v leads (each v belongs to one call
 * site, the instruction before its entry), and lands before that block's gas
 * prologue. The trampoline puts an all-ones word under the first entry, which
 * no zero-extended address equals; calls stop pushing when rsp reaches
 * ctx->stack_limit (JK_JIT_RETURN_STACK below the entry); stale entries left
 * by guests that do not return are merely never matched; every exit resets
 * the host stack. No counter: nothing here is a read-modify-write chain. */
bool jk_pvm_jit_is_call(const jk_cc *c, uint32_t i, uint64_t v)
{
    uint32_t a = (uint32_t)v, count = c->prog->blob.jump_count;
    if (a == 0 || (a & 1) || a / 2 > count)
        return false;
    return c->prog->jump_targets[a / 2 - 1] == i + 1;
}

/* Direct returns (session 10). Where a program makes few calls (at most
 * jk_pvm_jit_direct_max call sites, each a `load_imm_jump` or
 * `load_imm_jump_ind` that jk_pvm_jit_is_call accepts; since session 12 a
 * call via a pointer is a jump through the calls' table,
 * jk_pvm_jit_call_ind: `c_fib` 1.67 → 1.47 of native, which the 14%
 * session 10 measured with its calls as djumps had kept away), a call is a plain
 * jump (`mov rA, v; jmp f`: no depth check, no push, no host `call`) and a
 * `jump_ind` compares its target with each site's v in turn, jumping to
 * that site's landing block (its prologue, in the same copy) on a match —
 * exactly what the djump on v does, since jump-table entry v/2 − 1 is that
 * block (jk_pvm_jit_is_call) — and takes the ordinary djump otherwise. The
 * host stack is not used, so nothing can overflow or go stale, and the
 * ordinary copy's returns need no window check (a return lands in its own
 * copy). The chain is at most JK_JIT_SITES compares per `jump_ind`, so
 * compilation stays linear. `fib`: 10 host instructions a call pair less
 * for the calls, the returns' compares as many as before.
 * Where they land, on 64 bytes: with direct returns `fib` spends its time
 * in four blocks (its entry, two landings, the leaf) reached only by taken
 * jumps; starting the entry and each landing on a 64-byte line (padding
 * that is never executed: a landing follows a call, now a jump) measured
 * 0.79 of native against 0.88–0.99 for the other offsets (docs/bench.md). */
static uint32_t jk_sites(const jk_cc *c, uint32_t *v, uint32_t *at)
{
    const jk_pvm_program *prog = c->prog;
    uint32_t count = 0, max = jk_pvm_jit_direct_max < JK_JIT_SITES ? jk_pvm_jit_direct_max : JK_JIT_SITES;
    for (uint32_t i = 0; i < prog->insn_count; i++) {
        const jk_pvm_insn *in = &prog->insns[i];
        if ((in->opcode != OP_load_imm_jump && in->opcode != OP_load_imm_jump_ind) ||
            !jk_pvm_jit_is_call(c, i, in->imm_x))
            continue;
        if (count == max || (in->opcode == OP_load_imm_jump_ind && !c->call_code))
            return 0; /* too many, or a call via a pointer without the calls' table: predicted returns */
        if (v) {
            v[count] = (uint32_t)in->imm_x;
            at[count] = i + 1;
        }
        count++;
    }
    return count;
}

uint32_t jk_pvm_jit_direct_sites(const jk_cc *c)
{
    return jk_sites(c, NULL, NULL);
}

void jk_pvm_jit_site_plan(jk_cc *c)
{
    const jk_pvm_program *prog = c->prog;
    uint32_t count = jk_sites(c, c->site_v, c->site_at);
    c->site_count = count;
    if (!count)
        return;
    if (!c->align && !(c->align = calloc(prog->insn_count, 1)))
        return; /* nothing padded: correct, only slower */
    for (uint32_t k = 0; k < count; k++)
        c->align[c->site_at[k]] = JK_ALIGN_LABEL;
}

/* Compare rsp with the predicted returns' limit: "below or equal" means the
 * host stack is full and the call must be a plain jump. */
static void jk_depth_cmp(jk_cc *c)
{
    x_alu_r_rm(&c->b, ALU_CMP, true, X_RSP, X_MEM(X_RBX, CTX_STACK_LIMIT));
}

static void jk_push_return(jk_cc *c, uint64_t v)
{
    x_b(&c->b, 0x68); /* push imm32 (v < 2^25: a jump-table address) */
    x_d(&c->b, (uint32_t)v);
}

/* A static call (load_imm_jump that is a call, see above) to block target.
 * The hot path has no taken jump but the call itself. The code after the
 * call is reached only by the predicted return's `ret 8`, which drops v as
 * it returns, so it is directly the next block's prologue. */
void jk_pvm_jit_static_call(jk_cc *c, uint64_t v, uint32_t target)
{
    jk_x64_buf *b = &c->b;
    const jk_pvm_insn *in = &c->prog->insns[c->insn];
    /* precharged: the call lands past the prologue its block paid */
    bool paid = c->pre && c->pre[c->insn] && in->opcode == OP_load_imm_jump && in->target == target;
    if (c->site_count) { /* direct returns: a plain jump */
        jk_jump_to_at(c, x_jmp32(b), target, paid);
        return;
    }
    jk_depth_cmp(c);
    jk_jump_to_at(c, x_jcc32(b, CC_BE), target, paid); /* too deep: a plain jump */
    jk_push_return(c, v);
    jk_jump_to_at(c, x_call32(b), target, paid);
}

/* The predicted return of `jump_ind rA, imm`: `ret 8` (pop the host return
 * address and the v under it) when the target equals the v on top;
 * otherwise fall through to the ordinary djump with the target in eax.
 * - imm = 0 and ω_A in a host register (every return the SDK emits, and
 *   fib's): the target is ω_A's low 32 bits, compared as they are with the
 *   v's low dword (`cmp r32, [rsp+8]`; session 7: one host instruction
 *   less than forming it in eax first). Any 32-bit value can match the
 *   trampoline's bottom entry, so that entry is a real one
 *   (jk_pvm_jit_push_bottom): v = the address of a jump-table entry that is
 *   a block start, returning into a routine that goes there.
 * - otherwise (and when the program's jump table has no block start, where
 *   the bottom v is all ones): eax = the zero-extended target, compared
 *   with the whole word, which the all-ones bottom never equals. */
static uint32_t jk_site_distance(uint32_t at, uint32_t i)
{
    return at > i ? at - i : i - at;
}

void jk_pvm_jit_return(jk_cc *c, unsigned a, uint64_t imm)
{
    jk_x64_buf *b = &c->b;
    uint8_t h = a < JK_PVM_REGS ? c->map[a] : X_NOREG;
    if (c->site_count) { /* direct returns (above) */
        bool reg = (uint32_t)imm == 0 && h != X_NOREG;
        if (!reg)
            jk_pvm_jit_addr(c, (int)a, imm);
        /* nearest site first: a recursive function returns mostly to its
         * own calls (`c_fib`), and any order gives the same result */
        uint32_t order[JK_JIT_SITES], i = c->insn;
        for (uint32_t k = 0; k < c->site_count; k++) {
            uint32_t at = k;
            while (at > 0 && jk_site_distance(c->site_at[order[at - 1]], i) > jk_site_distance(c->site_at[k], i)) {
                order[at] = order[at - 1];
                at--;
            }
            order[at] = k;
        }
        for (uint32_t q = 0; q < c->site_count; q++) {
            uint32_t k = order[q];
            x_alu_rm_imm(b, ALU_CMP, false, X_REG(reg ? h : X_RAX), (int32_t)c->site_v[k]);
            jk_jump_to(c, x_jcc32(b, CC_E), c->site_at[k]);
        }
        if (reg)
            x_mov_r_rm(b, false, X_RAX, X_REG(h)); /* the djump's target */
        return;
    }
    bool direct = c->bottom_v && (uint32_t)imm == 0 && h != X_NOREG;
    if (direct)
        x_alu_r_rm(b, ALU_CMP, false, h, X_MEM(X_RSP, 8)); /* cmp r32, [rsp+8]: the v on top */
    else {
        jk_pvm_jit_addr(c, (int)a, imm);
        x_alu_r_rm(b, ALU_CMP, true, X_RAX, X_MEM(X_RSP, 8)); /* the v on top */
    }
    size_t other = x_jcc8(b, CC_NE);
    size_t denied = SIZE_MAX;
    if (c->frame_h && !c->framed) {
        /* the ordinary copy of a program with a frame copy: the call may
         * have been made in the frame copy, whose landing needs the window
         * (jit_stack.c); without it, pop the prediction (never the bottom
         * entry, which only the bottom routine pops and pushes back) and
         * take the djump, which lands in this copy */
        x_patch32(b, x_call32(b), c->frame_try);
        x_op(b, 0, false, 0x85, 1, X_RAX, X_REG(X_RAX), false); /* test eax, eax */
        denied = x_jcc8(b, CC_E);
    }
    x_b(b, 0xC2); /* ret 8 */
    x_b(b, 8);
    x_b(b, 0);
    if (denied != SIZE_MAX) {
        x_here8(b, denied);
        size_t bottom = SIZE_MAX;
        if (c->bottom_v) {
            if (direct)
                x_alu_rm_imm(b, ALU_CMP, false, X_REG(h), (int32_t)c->bottom_v);
            else
                x_alu_rm_imm(b, ALU_CMP, true, X_MEM(X_RSP, 8), (int32_t)c->bottom_v);
            bottom = x_jcc8(b, CC_E);
        }
        x_alu_rm_imm(b, ALU_ADD, true, X_REG(X_RSP), 16);
        if (bottom != SIZE_MAX)
            x_here8(b, bottom);
        if (!direct)
            jk_pvm_jit_addr(c, (int)a, imm); /* eax again (the routine used it) */
    }
    x_here8(b, other);
    if (direct)
        x_mov_r_rm(b, false, X_RAX, X_REG(h)); /* the djump's target, off the hot path */
}

/* The bottom entry of the predicted returns, pushed by the trampoline
 * (after one padding word): v, then a return address. With the direct
 * compare above any 32-bit target can equal the bottom v, so it is made a
 * true prediction: v = 2(k + 1) for the first jump-table entry k that is a
 * block start, and its return address is the bottom routine
 * (jk_pvm_jit_emit_bottom), which pushes the entry back and enters entry
 * k's code — exactly what the djump on v does (it passes the bounds check
 * and lands on that block's prologue). When no entry is a block start, the
 * bottom is all ones and 8 bytes of padding, and returns use the compare
 * the all-ones word never matches. Clobbers rax (the trampoline loads it
 * afterwards). */
void jk_pvm_jit_push_bottom(jk_cc *c)
{
    jk_x64_buf *b = &c->b;
    const jk_pvm_program *prog = c->prog;
    c->bottom_v = 0;
    for (uint32_t k = 0; k < prog->blob.jump_count && k < (UINT32_C(1) << 28); k++)
        if (prog->jump_targets[k] != JK_PVM_NO_TARGET) { /* stops at the first: linear */
            c->bottom_v = 2 * (k + 1);
            c->bottom_k = k;
            break;
        }
    if (!c->bottom_v) {
        x_b(b, 0x6A);
        x_b(b, 0xFF); /* push -1 */
        x_alu_rm_imm(b, ALU_SUB, true, X_REG(X_RSP), 8);
        return;
    }
    jk_push_return(c, c->bottom_v);
    x_b(b, 0x48);
    x_b(b, 0x8D);
    x_b(b, 0x05); /* lea rax, [rip + rel32]: the bottom routine, patched later */
    c->bottom_at = b->len;
    x_d(b, 0);
    x_push(b, X_RAX);
}

/* The bottom routine: a `jump_ind` to the bottom v with no call stacked
 * returned here with `ret 8`; push the bottom entry back (the same two
 * words: the next return compares with it again) and enter jump-table
 * entry k like the djump would, on the same host stack as at entry. */
void jk_pvm_jit_emit_bottom(jk_cc *c)
{
    jk_x64_buf *b = &c->b;
    if (!c->bottom_v)
        return;
    size_t routine = b->len;
    x_patch32(b, c->bottom_at, routine);
    jk_push_return(c, c->bottom_v);
    x_b(b, 0x48);
    x_b(b, 0x8D);
    x_b(b, 0x05); /* lea rax, [rip + rel32]: this routine */
    size_t at = b->len;
    x_d(b, 0);
    x_patch32(b, at, routine);
    x_push(b, X_RAX);
    uint64_t table;
    const void *tp = c->jump_code;
    memcpy(&table, &tp, sizeof table);
    x_mov_r_imm(b, X_RDX, table);
    x_op(b, 0, false, 0xFF, 1, 4, X_MEM(X_RDX, (int32_t)(8 * c->bottom_k)), false); /* jmp [rdx + 8k] */
}

/* rdx = the address of a table of code addresses. */
static void jk_table_to_rdx(jk_cc *c, void *const *table)
{
    uint64_t a;
    memcpy(&a, &table, sizeof a);
    x_mov_r_imm(&c->b, X_RDX, a);
}

/* jmp (ext 4) or call (ext 2) through [index·8 + table]: one instruction
 * with the table's absolute address when it lies below 2 GiB, else the
 * address in rdx first. */
static void jk_table_op(jk_cc *c, void *const *table, uint8_t index, uint8_t ext)
{
    jk_x64_buf *b = &c->b;
    uint64_t a;
    memcpy(&a, &table, sizeof a);
    if (a < (UINT64_C(1) << 31)) {
        if (index & 8)
            x_b(b, 0x42); /* REX.X */
        x_b(b, 0xFF);
        x_b(b, (uint8_t)(ext << 3 | 4));                /* mod 00, SIB */
        x_b(b, (uint8_t)(3 << 6 | (index & 7) << 3 | 5)); /* ·8, no base: disp32 */
        x_d(b, (uint32_t)a);
        return;
    }
    jk_table_to_rdx(c, table);
    x_op(b, 0, false, 0xFF, 1, ext, X_MEMI(X_RDX, index, 3, 0), false);
}

/* djump (Graypaper) on the address (ω_base + imm) mod 2^32, inlined at each dynamic jump so
 * that every site has its own indirect branch to predict: halt on the halt
 * address; else a = 2(k+1) with k < |j| enters jump-table entry k, whose code
 * is a block start's prologue or, for an entry that is not a block start,
 * the djump_bad routine (jk_pvm_jit_emit_late), which panics at the index in eax.
 * With e = a − 2 (32-bit) rotated right by one bit, an even e
 * gives k and an odd one a value >= 2^31, so one unsigned compare with |j|
 * sends odd e, e >= 2|j| (which includes a = 0) and the halt address to the
 * out-of-line part (halt or panic). e is formed in ecx straight from the
 * register (`lea ecx, [reg + imm − 2]`), or from eax when the address is
 * already there (`in_eax`: after a return's compare); the out-of-line part
 * rebuilds the address from ecx. */
void jk_pvm_jit_djump(jk_cc *c, uint32_t i, bool in_eax, unsigned base, uint64_t imm)
{
    jk_x64_buf *b = &c->b;
    uint32_t count = c->prog->blob.jump_count;
    if (in_eax)
        x_op(b, 0, false, 0x8D, 1, X_RCX, X_MEM(X_RAX, -2), false); /* lea ecx, [rax-2] */
    else
        jk_pvm_jit_maddr(c, (int)base, imm - 2);
    x_shift_imm(b, SH_ROR, false, X_RCX, 1);
    x_alu_rm_imm(b, ALU_CMP, false, X_REG(X_RCX), (int32_t)count);
    jk_late out = {0};
    out.kind = JK_LATE_DJUMP_OUT;
    out.at = (uint32_t)x_jcc32(b, CC_AE);
    out.first = i;
    jk_pvm_jit_add_late(c, &out);
    jk_table_to_rdx(c, c->jump_code);
    x_mov_r_imm(b, X_RAX, i); /* an entry that is not a block start panics here */
    x_op(b, 0, false, 0xFF, 1, 4, X_MEMI(X_RDX, X_RCX, 3, 0), false); /* jmp [rdx+rcx*8] */
}

/* Calls via a pointer (`load_imm_jump_ind rA, rB, v, imm` that is a call,
 * jk_pvm_jit_is_call) go through a table of their own, indexed by the
 * address a itself (session 12): entry a is the code of jump-table entry
 * a/2 − 1's block when a is even, nonzero and that entry a block start,
 * and otherwise call_bad, which finds the call's index from the v the call
 * pushed (v = 2(k + 1) and jump-table entry k is the instruction after the
 * call, so the index is jump_targets[k] − 1) and panics there — as the
 * djump does for an odd address, 0, or an entry that is not a block start.
 * The table has 2|j| + 2 entries (jk_pvm_jit_call_slots), so its bound is
 * the one check: with imm = 0 and ω_B in a host register (every call the
 * SDK emits) the hot path is
 *     cmp rB, 2|j| + 2; jae slow; movabs rdx, table;
 *     cmp rsp, [limit]; jbe slow; push v; call [rdx + rB·8]
 * where the djump's index arithmetic was `lea; ror; cmp; jae`: the 64-bit
 * compare sends a register with any upper bit set, as well as the halt
 * address and everything beyond the table, to the slow path, which is the
 * plain djump on (ω_B + imm) mod 2^32 (JK_LATE_DEEP_JUMP): it halts,
 * panics or jumps exactly as the djump does, without a prediction; a
 * too-deep call goes there too. Otherwise (imm ≠ 0, ω_B in the context,
 * or A = B, whose ω_B was read into eax before ω_A was written) the
 * 32-bit address is formed in ecx (or is in eax) first. Two host
 * instructions less a call than the k-indexed table of session 8. With
 * direct returns (jk_pvm_jit_site_plan) the call is `mov eax, i; jmp
 * [rdx + rB·8]` after the bound check, and the table's bad entries are
 * djump_bad's: no host stack at all. */
uint32_t jk_pvm_jit_call_slots(const jk_pvm_program *prog)
{
    return 2 * prog->blob.jump_count + 2;
}

void jk_pvm_jit_call_ind(jk_cc *c, uint32_t i, bool in_eax, unsigned base, uint64_t imm, uint32_t v)
{
    jk_x64_buf *b = &c->b;
    uint8_t h = c->map[base], index = X_RAX;
    if (!in_eax) {
        if ((uint32_t)imm == 0 && h != X_NOREG) {
            index = h; /* the whole register: upper bits go to the slow path */
        } else {
            jk_pvm_jit_maddr(c, (int)base, imm);
            index = X_RCX;
        }
    }
    if (c->site_count && index == X_RAX) { /* the jump's index in eax is the call's (below) */
        x_mov_r_rm(b, false, X_RCX, X_REG(X_RAX));
        index = X_RCX;
    }
    x_alu_rm_imm(b, ALU_CMP, index == h, X_REG(index), (int32_t)jk_pvm_jit_call_slots(c->prog));
    jk_late slow = {0};
    slow.kind = JK_LATE_DEEP_JUMP; /* outside the table, or too deep: the plain djump */
    slow.at = (uint32_t)x_jcc32(b, CC_AE);
    slow.first = i;
    jk_pvm_jit_add_late(c, &slow);
    if (c->site_count) { /* direct returns: a plain jump */
        if (c->call_ra < 0)
            x_mov_r_imm(b, X_RAX, i); /* djump_bad's index; else call_bad_a finds it from ω_A */
        jk_table_op(c, c->call_code, index, 4); /* jmp [table + index*8] */
        return;
    }
    jk_depth_cmp(c);
    slow.at = (uint32_t)x_jcc32(b, CC_BE);
    jk_pvm_jit_add_late(c, &slow);
    jk_push_return(c, v);
    jk_table_op(c, c->call_code, index, 2); /* call [table + index*8] */
}

/* The calls' tables (the ordinary copy's, then the frame copy's: room for
 * both) in one mapping, below 2 GiB where the system gives one
 * (MAP_32BIT): a call then reads its entry at an absolute address, `jmp
 * [rB·8 + table]`, with no `movabs rdx, table` (session 14: two host
 * instructions a `c_fib` pair); elsewhere through rdx as before. A 16-byte
 * header keeps the mapping's size for jk_pvm_jit_call_table_free. */
bool jk_pvm_jit_low_tables = true;

static void **jk_call_map(size_t bytes)
{
    bytes += 16;
    void *map = MAP_FAILED;
#ifdef MAP_32BIT
    if (jk_pvm_jit_low_tables)
        map = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
#endif
    if (map == MAP_FAILED)
        map = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED)
        return NULL;
    memcpy(map, &bytes, sizeof bytes);
    return (void **)((uint8_t *)map + 16);
}

/* Allocate the calls' table (above) when the program makes a call via a
 * pointer; its bound must fit a sign-extended 32-bit compare (a program
 * whose jump table is that large makes its calls as plain djumps). */
bool jk_pvm_jit_call_table(jk_cc *c)
{
    const jk_pvm_program *prog = c->prog;
    c->call_code = NULL;
    c->call_ra = -1;
    if (prog->blob.jump_count >= (UINT32_C(1) << 28))
        return true;
    bool any = false, same = true;
    for (uint32_t i = 0; i < prog->insn_count; i++) {
        const jk_pvm_insn *in = &prog->insns[i];
        if (in->opcode != OP_load_imm_jump_ind || !jk_pvm_jit_is_call(c, i, in->imm_x))
            continue;
        same = same && (!any || (int)in->ra == c->call_ra);
        c->call_ra = (int)in->ra;
        any = true;
    }
    if (!same)
        c->call_ra = -1;
    if (!any)
        return true;
    c->call_code = jk_call_map(2 * (size_t)jk_pvm_jit_call_slots(prog) * sizeof(void *));
    return c->call_code != NULL;
}

void **jk_pvm_jit_call_table_frame(const jk_cc *c)
{
    return c->call_code_o + jk_pvm_jit_call_slots(c->prog);
}

void jk_pvm_jit_call_table_free(void **table)
{
    if (table) {
        uint8_t *map = (uint8_t *)table - 16;
        size_t bytes;
        memcpy(&bytes, map, sizeof bytes);
        munmap(map, bytes);
    }
}

/* table[k] = the code of jump-table entry k's block in the copy whose
 * labels are `label`, or `bad` when the entry is not a block start. */
static void jk_table_fill(const jk_cc *c, void **table, const uint32_t *label, uint8_t *code, size_t bad)
{
    for (uint32_t k = 0; table && k < c->prog->blob.jump_count; k++) {
        uint32_t t = c->prog->jump_targets[k];
        table[k] = code + (t == JK_PVM_NO_TARGET ? bad : label[t]);
    }
}

/* The calls' table, indexed by the address a: entry a is jump-table entry
 * a/2 − 1's code for an even a ≥ 2, call_bad otherwise, or djump_bad when
 * the calls are plain jumps (direct returns: jk_pvm_jit_call_ind). With
 * paid calls (below) a block start's entry is past its prologue, or the
 * stub that charges what the call's block did not pay. */
static void jk_call_fill(const jk_cc *c, void **table, const uint32_t *label, const uint32_t *entry, uint8_t *code,
                         bool framed)
{
    uint32_t slots = jk_pvm_jit_call_slots(c->prog);
    for (uint32_t a = 0; table && a < slots; a++) {
        uint32_t t = a >= 2 && !(a & 1) && a / 2 - 1 < c->prog->blob.jump_count ? c->prog->jump_targets[a / 2 - 1]
                                                                                  : JK_PVM_NO_TARGET;
        size_t bad = !c->site_count ? c->call_bad : c->call_ra >= 0 ? c->call_bad_a : c->djump_bad;
        table[a] = code + (t == JK_PVM_NO_TARGET ? bad : c->call_paid ? entry[t] : label[t]);
    }
    for (size_t k = 0; table && k < c->late_count; k++) {
        const jk_late *l = &c->late[k];
        if (l->kind == JK_LATE_PAID && l->framed == framed)
            table[2 * (l->first + 1)] = code + l->done;
    }
}

void jk_pvm_jit_call_table_fill(const jk_cc *c, uint8_t *code)
{
    jk_table_fill(c, c->jump_code_o, c->label_o, code, c->djump_bad);
    jk_call_fill(c, c->call_code_o, c->label_o, c->entry_o, code, false);
    if (c->frame_h) { /* the frame copy's own (jit_stack.c) */
        jk_table_fill(c, c->jump_code_f, c->label_f, code, c->djump_bad);
        jk_call_fill(c, c->call_code_f, c->label_f, c->entry_f, code, true);
    }
    if (c->call_code_o) { /* written for good: read-only from here on (a failure leaves it writable) */
        uint8_t *map = (uint8_t *)c->call_code_o - 16;
        size_t bytes;
        memcpy(&bytes, map, sizeof bytes);
        (void)mprotect(map, bytes, PROT_READ);
    }
}

/* Paid calls (session 14; the plan is jk_paid_plan in jit_plan.c). Where
 * every call via a pointer's block has paid P for its callee's entry, the
 * calls' table leads each block start t whose prologue charges exactly P
 * (cost(t) + pre(t) = P: `c_fib`'s fib_rec) past that prologue, and every
 * other block start to a stub, out of line, that charges the difference
 * `sub r11, C − P; jl` (whose exit is t's own out-of-gas exit, which
 * gives C back: the interpreter's gas at t) and jumps past t's prologue.
 * One stub per such jump-table entry and copy: linear. */
static void jk_paid_stubs(jk_cc *c)
{
    const jk_pvm_program *prog = c->prog;
    for (int copy = 0; c->call_paid && copy < (c->frame_h ? 2 : 1); copy++) {
        jk_pvm_jit_frame_select(c, copy == 1);
        for (uint32_t k = 0; k < prog->blob.jump_count; k++) {
            uint32_t t = prog->jump_targets[k];
            if (t == JK_PVM_NO_TARGET || prog->insns[t].cost + (c->pre ? c->pre[t] : 0) == c->call_paid)
                continue;
            jk_late stub = {0};
            stub.kind = JK_LATE_PAID;
            stub.first = k;
            stub.last = t;
            jk_pvm_jit_add_late(c, &stub);
        }
    }
    jk_pvm_jit_frame_select(c, false);
}

static void jk_paid_stub(jk_cc *c, jk_late *l)
{
    jk_x64_buf *b = &c->b;
    uint32_t t = l->last, cost = c->prog->insns[t].cost + (c->pre ? c->pre[t] : 0);
    l->done = (uint32_t)b->len;
    x_alu_rm_imm(b, ALU_SUB, true, X_REG(X_GAS), (int32_t)cost - (int32_t)c->call_paid);
    jk_late oog = {0};
    oog.at = (uint32_t)x_jcc32(b, CC_L);
    oog.first = t;
    oog.cost = cost;
    oog.kind = JK_LATE_OOG;
    jk_pvm_jit_add_late(c, &oog);
    jk_jump_to_at(c, x_jmp32(b), t, true);
}

/* A paid call's slow path (its register has upper bits set or is past the
 * table): on the 32-bit address a, in ecx, the table again when a is in
 * it (the callee's entry was paid), else a halt — which gives P back, the
 * callee never being entered — or a panic at the call, for which the
 * runtime gives back the block's pre (jit_run.c). */
static void jk_paid_slow(jk_cc *c, const jk_late *l)
{
    jk_x64_buf *b = &c->b;
    const jk_pvm_insn *in = &c->prog->insns[l->first];
    uint8_t h = c->map[in->rb];
    if (in->ra != in->rb && (uint32_t)in->imm_y == 0 && h != X_NOREG)
        x_mov_r_rm(b, false, X_RCX, X_REG(h)); /* else formed in ecx (jk_pvm_jit_call_ind) */
    x_alu_rm_imm(b, ALU_CMP, false, X_REG(X_RCX), (int32_t)jk_pvm_jit_call_slots(c->prog));
    size_t out = x_jcc8(b, CC_AE);
    if (c->call_ra < 0)
        x_mov_r_imm(b, X_RAX, l->first);
    jk_table_op(c, c->call_code, X_RCX, 4); /* jmp [table + rcx*8] */
    x_here8(b, out);
    jk_set_exit(c, l->first);
    x_alu_rm_imm(b, ALU_CMP, false, X_REG(X_RCX), (int32_t)JK_PVM_HALT_ADDRESS);
    size_t panic = x_jcc8(b, CC_NE);
    x_alu_rm_imm(b, ALU_ADD, true, X_REG(X_GAS), (int32_t)c->call_paid);
    jk_jmp_to_off(c, c->halt_common);
    x_here8(b, panic);
    jk_jmp_to_off(c, c->panic_common);
}

void jk_pvm_jit_add_late(jk_cc *c, const jk_late *l)
{
    jk_late *g = jk_grow(c, c->late, &c->late_cap, c->late_count, sizeof *g);
    if (!g)
        return;
    c->late = g;
    c->late[c->late_count] = *l;
    c->late[c->late_count++].framed = c->framed; /* emitted in its own copy's terms */
}

/* Panic at the call whose v (the address of jump-table entry k, 2(k +
 * 1), whose instruction follows the call) is in v32. */
static void jk_call_bad(jk_cc *c, jk_x64_rm v32)
{
    x_mov_r_rm(&c->b, false, X_RAX, v32);
    x_shift_imm(&c->b, SH_SHR, false, X_RAX, 1); /* k + 1 */
    uint64_t targets;
    const void *tp = c->prog->jump_targets;
    memcpy(&targets, &tp, sizeof targets);
    x_mov_r_imm(&c->b, X_RDX, targets);
    x_mov_r_rm(&c->b, false, X_RAX, X_MEMI(X_RDX, X_RAX, 2, -4)); /* jump_targets[k] */
    x_alu_rm_imm(&c->b, ALU_SUB, false, X_REG(X_RAX), 1);
    x_mov_rm_r(&c->b, false, X_MEM(X_RBX, CTX_EXIT), X_RAX);
    jk_jmp_to_off(c, c->panic_common);
}

void jk_pvm_jit_emit_late(jk_cc *c)
{
    /* djump_bad: a jump-table entry that is not a block start was entered;
     * eax holds the index of the jump (jk_pvm_jit_djump) */
    if (!x_reserve(&c->b, 128))
        return;
    c->djump_bad = c->b.len;
    x_mov_rm_r(&c->b, false, X_MEM(X_RBX, CTX_EXIT), X_RAX);
    jk_jmp_to_off(c, c->panic_common);
    /* call_bad: a call via a pointer entered a jump-table entry that is not
     * a block start; [rsp+8] is the v it pushed, 2(k + 1), and the call's
     * index is jump_targets[k] − 1 (jk_pvm_jit_call_table); call_bad_a:
     * the same with direct returns, where the call wrote v into ω_A (the
     * same A at every such call: call_ra) and pushed nothing */
    c->call_bad = c->b.len;
    jk_call_bad(c, X_MEM(X_RSP, 8));
    c->call_bad_a = c->call_bad;
    if (c->call_ra >= 0) {
        if (!x_reserve(&c->b, 128))
            return;
        c->call_bad_a = c->b.len;
        jk_call_bad(c, G((unsigned)c->call_ra));
    }
    jk_pvm_jit_frame_select(c, false);
    jk_pvm_jit_emit_bottom(c);
    jk_paid_stubs(c);
    for (size_t k = 0; k < c->late_count && !c->b.oom && !c->oom; k++) {
        /* a copy: emitting may record more (the array may move) */
        const jk_late late = c->late[k], *l = &late;
        jk_pvm_jit_frame_select(c, l->framed); /* its copy's labels and tables */
        if (l->kind == JK_LATE_GROUP) {
            jk_late g = *l;
            if (l->stack) { /* the stack TLB missed: the ordinary TLBs first */
                if (!x_reserve(&c->b, 128))
                    return;
                g.at = (uint32_t)jk_pvm_jit_stack_miss(c, l);
            }
            jk_pvm_jit_group_slow(c, &g);
            continue;
        }
        jk_x64_buf *b = &c->b;
        if (!x_reserve(b, 192)) /* the longest (JK_LATE_STACK, a load) is ~130 bytes */
            return;
        if (l->kind == JK_LATE_PAID) { /* reached through the calls' table */
            jk_paid_stub(c, &c->late[k]);
            continue;
        }
        x_patch32(b, l->at, b->len);
        switch (l->kind) {
        case JK_LATE_OOG: /* give the block's cost back, exit at its start */
            x_alu_rm_imm(b, ALU_ADD, true, X_REG(X_GAS), (int32_t)l->cost);
            jk_exit_with(c, l->first, JK_JIT_EXIT_OOG);
            break;
        case JK_LATE_DJUMP_OUT: /* ecx: e; halt on 0xFFFF0000, else panic */
            x_mov_r_rm(b, false, X_RAX, X_REG(X_RCX));
            x_shift_imm(b, SH_ROL, false, X_RAX, 1);
            x_alu_rm_imm(b, ALU_ADD, false, X_REG(X_RAX), 2); /* eax = the address */
            jk_set_exit(c, l->first);
            x_alu_rm_imm(b, ALU_CMP, false, X_REG(X_RAX), (int32_t)JK_PVM_HALT_ADDRESS);
            x_patch32(b, x_jcc32(b, CC_E), c->halt_common);
            jk_jmp_to_off(c, c->panic_common);
            break;
        case JK_LATE_DIV:
            jk_pvm_jit_div_special(c, l);
            break;
        case JK_LATE_STACK:
            jk_pvm_jit_stack_check_miss(c, l);
            break;
        case JK_LATE_FRAME:
            jk_pvm_jit_frame_late(c, l);
            break;
        default: { /* JK_LATE_DEEP_JUMP: the plain djump of the call at first */
            if (c->call_paid) {
                jk_paid_slow(c, l);
                break;
            }
            const jk_pvm_insn *in = &c->prog->insns[l->first];
            jk_pvm_jit_djump(c, l->first, in->ra == in->rb, in->rb, in->imm_y);
            break;
        }
        }
    }
}

#endif
