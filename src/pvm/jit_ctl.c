/*
 * jit_ctl.c — the recompiler's control flow: static branches, calls with
 * return prediction and direct returns, and the out-of-line ("late") code
 * that the hot paths jump to rarely (out-of-gas exits, djump failures,
 * too-deep calls, access groups' one-by-one copies). Dynamic jumps and
 * calls via a pointer, through tables, are in jit_table.c.
 *
 * Invariant (docs/pvm.md, "Control flow and safety"): guest code only ever
 * reaches block starts of its own program — static targets are resolved at
 * load to block starts (or a panic exit), dynamic ones go through a table of
 * code addresses indexed by a bounds-checked jump-table entry — and a
 * predicted return lands exactly where its jump-table entry leads.
 */
#include "jit_cc.h"

#include <string.h>

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
 * address. At most 15 bytes a block: linear.
 * With direct returns (session 10) the landings and the precharged
 * landings are on 64 bytes instead; since session 15 a direct return's
 * landing (a call site's next block, JK_ALIGN_LABEL) starts 48 bytes into
 * its line, not at its start: with the same instructions `c_fib` took 19%
 * less thread CPU time (3.0 against 3.7 ms, min of 25 runs, offsets
 * alternating; 40–48 all good, 0–24 and 52–56 not) and the asm `fib` the
 * same (1.9–2.06 against 1.95–2.05 ms; docs/pvm.md, session 15). */
#define JK_LANDING_AT 48
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
    /* a direct return's landing: the last 16 bytes of a 64-byte line
     * (session 15, measured: below) */
    size_t at = c->site_count && c->align[i] == JK_ALIGN_LABEL ? JK_LANDING_AT : 0;
    size_t pad = (line + at - (c->b.len + lead) % line) % line;
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
void jk_pvm_jit_depth_cmp(jk_cc *c)
{
    x_alu_r_rm(&c->b, ALU_CMP, true, X_RSP, X_MEM(X_RBX, CTX_STACK_LIMIT));
}

void jk_pvm_jit_push_return(jk_cc *c, uint64_t v)
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
    jk_pvm_jit_depth_cmp(c);
    jk_jump_to_at(c, x_jcc32(b, CC_BE), target, paid); /* too deep: a plain jump */
    jk_pvm_jit_push_return(c, v);
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
    jk_pvm_jit_push_return(c, c->bottom_v);
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
    jk_pvm_jit_push_return(c, c->bottom_v);
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
    jk_pvm_jit_paid_stubs(c);
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
            jk_pvm_jit_paid_stub(c, &c->late[k]);
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
                jk_pvm_jit_paid_slow(c, l);
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
