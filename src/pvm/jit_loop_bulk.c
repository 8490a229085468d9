/*
 * jit_loop_bulk.c — a one-block copy loop's iterations moved as one block of
 * bytes (session 11; docs/pvm.md "Bulk copies (session 11)"). jit_loop.c's
 * checked copy runs `copy.s`'s and `c_copy`'s loops at 9 host instructions
 * per 32 bytes against gcc's 8, and both are bound by memory traffic: what
 * moves the bytes faster is the CPU's own string move (`rep movsb`, fast on
 * every x86-64 since Ivy Bridge / Zen: 0.63–0.75 of gcc's loop's time for
 * 1 MiB blocks on this machine).
 *
 * The loop (one block, two cursors s and d, both stepped by the same
 * constant S, a power of two from 8 to 1024) must be nothing but
 *   load_ind_u64 rI, s, o_I   (registers all different, none a cursor)
 *   store_ind_u64 rI, d, o'_I (after rI's load; o'_I − lo_d = o_I − lo_s)
 *   add_imm_64 s, s, S;  add_imm_64 d, d, S
 *   branch_lt_u x, e, top  or  branch_ne x, e / e, x  (x a cursor, e not
 *   written in the loop)
 * with the stores covering the d span [lo_d, lo_d + S) once each. Then, when
 * the host ranges [s + lo_s, + n·S) and [d + lo_d, + n·S) do not overlap, n
 * iterations leave memory exactly as a copy of n·S bytes does: every store
 * writes the bytes its register was loaded from in the same iteration, and
 * no store reaches a later load. The registers' values at the end of those
 * n are not observable: n stops one iteration short of the loop's exit and
 * of K, the check's bound, and the ordinary checked copy runs what is left,
 * so every exit of the loop, the loaded registers included, is the copy's
 * as before. Gas: n iterations cost n·cost, paid only when the budget holds
 * it, so no iteration of the n can run out of gas.
 *
 * Session 12: a fill (one cursor, one store of a value the loop does not
 * change, c_sieve's zeroing loop) takes the same count and moves its units
 * with `rep stos` (jk_loop_bulk_fill).
 */
#include "jit_loop.h"

#include <string.h>

#if JK_PVM_HAVE_JIT

/* Fewer bytes than this go through the checked copy: `rep movsb` has a
 * start-up cost of a few dozen cycles. */
#define JK_LOOP_BULK_MIN_BYTES 1024

/* Fill l's bulk fields (see the top of the file), or leave l->bulk false. */
/* The branch of a bulk loop: `branch_lt_u x, e` or `branch_ne x, e / e,
 * x`, x one of the cursors; fills bulk_end, bulk_ne and bulk_cmp (the
 * other fields are the caller's). False for anything else. */
static bool jk_loop_bulk_branch(const jk_pvm_program *prog, jk_kernel_loop *l)
{
    const jk_pvm_insn *br = &prog->insns[l->last];
    unsigned x;
    if (br->opcode == OP_branch_lt_u) {
        x = br->ra;
        l->bulk_end = br->rb;
        l->bulk_ne = false;
    } else if (br->opcode == OP_branch_ne) {
        bool a_is = br->ra == l->cur[0].reg || (l->ncur > 1 && br->ra == l->cur[1].reg);
        x = a_is ? br->ra : br->rb;
        l->bulk_end = a_is ? br->rb : br->ra;
        l->bulk_ne = true;
    } else {
        return false;
    }
    for (unsigned j = 0; j < l->ncur; j++)
        if (l->bulk_end == l->cur[j].reg)
            return false; /* the bound must not move in the loop */
    for (unsigned j = 0; j < l->ncur; j++)
        if (x == l->cur[j].reg) {
            l->bulk_cmp = (uint8_t)j;
            return true;
        }
    return false;
}

/* A fill (session 12, c_sieve's zeroing loop): one cursor d stepped by S =
 * n, a power of two up to 8, and nothing else in the loop but one
 * `store_imm_ind_uN [d + o], v` or `store_ind_uN r, d, o` (r not d: the
 * loop writes nothing else, so r is the same in every iteration). Then n
 * iterations write the same N bytes at d + o + i·S, i < n: one `rep stos`
 * of n units, and d advances by n·S. */
static void jk_loop_bulk_fill(const jk_pvm_program *prog, jk_kernel_loop *l)
{
    const jk_cursor *cu = &l->cur[0];
    int64_t stride = cu->stride;
    if (l->ncur != 1 || cu->sreg >= 0 || cu->preg >= 0 || !cu->write || stride < 1 || stride > 8 ||
        (stride & (stride - 1)) != 0 || l->last != l->first + 2)
        return;
    jk_memop m;
    uint32_t k = cu->update == l->first ? l->first + 1 : l->first;
    if (cu->update != l->first && cu->update != l->first + 1)
        return;
    if (!jk_pvm_group_memop(&prog->insns[k], &m) || !m.write || m.n != (unsigned)stride ||
        m.reg == (int)cu->reg || !jk_loop_bulk_branch(prog, l) || (m.reg >= 0 && m.reg == l->bulk_end))
        return;
    l->bulk_vreg = (int8_t)m.reg;
    l->bulk_vimm = m.vimm;
    l->bulk_src = 0;
    l->bulk_shift = 0;
    while ((INT64_C(1) << l->bulk_shift) < stride)
        l->bulk_shift++;
    l->bulk = l->bulk_fill = true;
}

void jk_pvm_jit_loop_bulk(const jk_pvm_program *prog, jk_kernel_loop *l)
{
    l->bulk = l->bulk_fill = false;
    if (l->mid == UINT32_MAX && l->ncur == 1)
        jk_loop_bulk_fill(prog, l);
    if (l->mid != UINT32_MAX || l->ncur != 2)
        return;
    int64_t stride = l->cur[0].stride;
    if (stride < 8 || stride > JK_LOOP_MAX_REACH || (stride & (stride - 1)) != 0)
        return;
    for (unsigned j = 0; j < 2; j++) {
        const jk_cursor *cu = &l->cur[j];
        if (cu->sreg >= 0 || cu->preg >= 0 || cu->stride != stride || cu->hi - cu->lo != stride)
            return;
    }
    unsigned src = l->cur[0].write ? 1 : 0, dst = 1 - src;
    if (l->cur[src].write || !l->cur[dst].write)
        return;
    /* loaded[r]: the effective offset (from the iteration's start) rI was
     * loaded from, + 1, or 0; covered: the d span's bytes stored */
    int64_t loaded[JK_PVM_REGS] = {0};
    uint8_t covered[JK_LOOP_MAX_REACH] = {0};
    unsigned loads = 0, stores = 0;
    for (uint32_t k = l->first; k < l->last; k++) {
        const jk_pvm_insn *in = &prog->insns[k];
        jk_memop m;
        if (in->opcode == OP_add_imm_64) {
            if (k != l->cur[0].update && k != l->cur[1].update)
                return;
            continue;
        }
        if (!jk_pvm_group_memop(in, &m) || m.reg < 0 || m.n != 8)
            return;
        unsigned j = m.base == l->cur[src].reg ? src : dst;
        const jk_cursor *cu = &l->cur[j];
        int64_t eff = (int64_t)(int32_t)m.off + (cu->update < k ? stride : 0) - cu->lo;
        if (in->opcode == OP_load_ind_u64 && j == src) {
            if (loaded[m.reg] || (unsigned)m.reg == l->cur[0].reg || (unsigned)m.reg == l->cur[1].reg)
                return;
            loaded[m.reg] = eff + 1;
            loads++;
        } else if (in->opcode == OP_store_ind_u64 && j == dst) {
            if (loaded[m.reg] != eff + 1)
                return; /* not the bytes this register was loaded from, or not loaded yet */
            for (int64_t i = eff; i < eff + 8; i++)
                if (covered[i]++)
                    return;
            stores++;
        } else {
            return;
        }
    }
    if (loads != stores || (int64_t)stores * 8 != stride)
        return; /* 8 bytes a store, none twice, over a span of S: every byte once */
    if (!jk_loop_bulk_branch(prog, l) || loaded[l->bulk_end])
        return; /* the bound must not move in the loop */
    l->bulk_src = (uint8_t)src;
    l->bulk_shift = 0;
    while ((INT64_C(1) << l->bulk_shift) < stride)
        l->bulk_shift++;
    l->bulk = true;
}

/* The fill's move (rax = n units, n·cost in scratch, the budget holds it):
 *   rcx = n; rdx = d's host span; rax = the value; push rdi; rdi = rdx;
 *   rep stos; rax = rdi − rdx (bytes); pop rdi; d += rax; gas −= n·cost
 * The value is read before rdi is reused (it may be the register that
 * lives in rdi), the cursor after it is restored. */
static void jk_loop_bulk_fill_emit(jk_cc *c, const jk_kernel_loop *l)
{
    jk_x64_buf *b = &c->b;
    const jk_cursor *d = &l->cur[0];
    x_mov_r_rm(b, true, X_RCX, X_REG(X_RAX));
    x_mov_r_rm(b, true, X_RDX, X_MEM(X_RBX, CTX_LOOP_DELTA));
    x_op(b, 0, true, 0x8D, 1, X_RDX, X_MEMI(X_RDX, d->host, 0, (int32_t)d->lo), false);
    if (l->bulk_vreg >= 0)
        ld(c, X_RAX, (unsigned)l->bulk_vreg);
    else
        x_mov_r_imm(b, X_RAX, l->bulk_vimm);
    x_push(b, X_RDI);
    x_mov_r_rm(b, true, X_RDI, X_REG(X_RDX));
    if (l->bulk_shift == 1)
        x_b(b, 0x66); /* stosw */
    x_b(b, 0xF3);
    if (l->bulk_shift == 3)
        x_b(b, 0x48); /* stosq */
    x_b(b, l->bulk_shift == 0 ? 0xAA : 0xAB); /* rep stos */
    x_mov_r_rm(b, true, X_RAX, X_REG(X_RDI));
    x_alu_r_rm(b, ALU_SUB, true, X_RAX, X_REG(X_RDX));
    x_pop(b, X_RDI);
    x_alu_r_rm(b, ALU_ADD, true, d->host, X_REG(X_RAX));
    x_alu_r_rm(b, ALU_SUB, true, X_GAS, X_MEM(X_RBX, CTX_SCRATCH));
}

/* The bulk move, at the checked copy's entry (after the check; rax, rcx,
 * rdx free, the deltas in ctx->loop_delta, K in ctx->loop_k): n iterations
 * at once when n is large enough, the budget holds them and the ranges are
 * apart, else nothing; then the checked copy as before.
 *
 *   rax = iterations that continue (the branch's bound) − 1 ... min K − 1
 *   cmp rax, min; jb skip;  rcx = rax·cost; cmp gas, rcx; jl skip
 *   rdx = s's host span, rcx = d's, rax = bytes; apart? else skip
 *   push rsi, rdi; rep movsb; pop; gas −= n·cost; s += bytes; d += bytes
 */
void jk_pvm_jit_loop_bulk_emit(jk_cc *c, const jk_kernel_loop *l)
{
    jk_x64_buf *b = &c->b;
    if (!l->bulk || !x_reserve(b, 256))
        return;
    const jk_cursor *s = &l->cur[l->bulk_src], *d = &l->cur[1 - l->bulk_src];
    const jk_cursor *x = &l->cur[l->bulk_cmp];
    uint8_t sh = l->bulk_shift;
    /* rcx = K − 1 (K >= 1) */
    x_mov_r_rm(b, false, X_RCX, X_MEM(X_RBX, CTX_LOOP_K));
    x_alu_rm_imm(b, ALU_SUB, false, X_REG(X_RCX), 1);
    /* rax = t = e − x at the iteration's start (the branch sees x + i·S
     * after iteration i) */
    ld(c, X_RAX, l->bulk_end);
    x_alu_r_rm(b, ALU_SUB, true, X_RAX, X_REG(x->host));
    size_t skip1, all = SIZE_MAX;
    if (!l->bulk_ne) {
        /* x + i·S < e for i = 1..⌊(t − 1) / S⌋; none when e <= x */
        skip1 = x_jcc32(b, CC_BE);
        x_alu_rm_imm(b, ALU_SUB, true, X_REG(X_RAX), 1);
        x_shift_imm(b, SH_SHR, true, X_RAX, sh);
    } else {
        /* x + i·S != e for every i when t is not a multiple of S (no wrap:
         * the check holds x + K·S inside a run below 2^32), else for i <
         * t / S (t = 0: t / S − 1 wraps to the largest, so every i) */
        skip1 = SIZE_MAX;
        x_f7(b, 0, false, X_REG(X_RAX)); /* test eax, S − 1 */
        x_d(b, (uint32_t)((1u << sh) - 1));
        all = x_jcc8(b, CC_NE);
        x_shift_imm(b, SH_SHR, true, X_RAX, sh);
        x_alu_rm_imm(b, ALU_SUB, true, X_REG(X_RAX), 1);
    }
    /* rax = min(rax, K − 1), unsigned */
    x_alu_r_rm(b, ALU_CMP, true, X_RAX, X_REG(X_RCX));
    x_cmov(b, CC_A, true, X_RAX, X_REG(X_RCX));
    if (all != SIZE_MAX) {
        size_t over = x_jmp8(b);
        x_here8(b, all);
        x_mov_r_rm(b, true, X_RAX, X_REG(X_RCX));
        x_here8(b, over);
    }
    x_alu_rm_imm(b, ALU_CMP, true, X_REG(X_RAX), JK_LOOP_BULK_MIN_BYTES >> sh);
    size_t skip2 = x_jcc32(b, CC_B);
    /* the budget must hold n·cost (n < 2^21, cost < 2^32) */
    x_op(b, 0, true, 0x69, 1, X_RCX, X_REG(X_RAX), false); /* imul rcx, rax, cost */
    x_d(b, l->cost);
    x_alu_r_rm(b, ALU_CMP, true, X_GAS, X_REG(X_RCX));
    size_t skip3 = x_jcc32(b, CC_L);
    x_mov_rm_r(b, true, X_MEM(X_RBX, CTX_SCRATCH), X_RCX);
    if (l->bulk_fill) {
        jk_loop_bulk_fill_emit(c, l);
        x_patch32(b, skip2, b->len);
        x_patch32(b, skip3, b->len);
        if (skip1 != SIZE_MAX)
            x_patch32(b, skip1, b->len);
        return;
    }
    x_shift_imm(b, SH_SHL, true, X_RAX, sh); /* bytes */
    x_mov_r_rm(b, true, X_RDX, X_MEM(X_RBX, CTX_LOOP_DELTA + 8 * (int32_t)l->bulk_src));
    x_op(b, 0, true, 0x8D, 1, X_RDX, X_MEMI(X_RDX, s->host, 0, (int32_t)s->lo), false);
    x_mov_r_rm(b, true, X_RCX, X_MEM(X_RBX, CTX_LOOP_DELTA + 8 * (int32_t)(1 - l->bulk_src)));
    x_op(b, 0, true, 0x8D, 1, X_RCX, X_MEMI(X_RCX, d->host, 0, (int32_t)d->lo), false);
    /* apart: d − s and s − d both at least the bytes, unsigned (host
     * addresses: a guest page's bytes are where the TLB says, wherever
     * another guest page maps) */
    x_push(b, X_RSI);
    x_mov_r_rm(b, true, X_RSI, X_REG(X_RCX));
    x_alu_r_rm(b, ALU_SUB, true, X_RSI, X_REG(X_RDX));
    x_alu_r_rm(b, ALU_CMP, true, X_RSI, X_REG(X_RAX));
    size_t near1 = x_jcc8(b, CC_B);
    x_mov_r_rm(b, true, X_RSI, X_REG(X_RDX));
    x_alu_r_rm(b, ALU_SUB, true, X_RSI, X_REG(X_RCX));
    x_alu_r_rm(b, ALU_CMP, true, X_RSI, X_REG(X_RAX));
    size_t near2 = x_jcc8(b, CC_B);
    x_push(b, X_RDI);
    x_mov_r_rm(b, true, X_RSI, X_REG(X_RDX));
    x_mov_r_rm(b, true, X_RDI, X_REG(X_RCX));
    x_mov_r_rm(b, true, X_RCX, X_REG(X_RAX));
    x_b(b, 0xF3);
    x_b(b, 0xA4); /* rep movsb */
    x_pop(b, X_RDI);
    x_pop(b, X_RSI);
    x_alu_r_rm(b, ALU_SUB, true, X_GAS, X_MEM(X_RBX, CTX_SCRATCH));
    x_alu_r_rm(b, ALU_ADD, true, s->host, X_REG(X_RAX));
    x_alu_r_rm(b, ALU_ADD, true, d->host, X_REG(X_RAX));
    size_t done = x_jmp8(b);
    x_here8(b, near1);
    x_here8(b, near2);
    x_pop(b, X_RSI);
    x_here8(b, done);
    if (skip1 != SIZE_MAX)
        x_patch32(b, skip1, b->len);
    x_patch32(b, skip2, b->len);
    x_patch32(b, skip3, b->len);
}

#endif /* JK_PVM_HAVE_JIT */
