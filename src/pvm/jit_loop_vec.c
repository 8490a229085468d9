/*
 * jit_loop_vec.c — two refinements of a one-block loop's checked copy
 * (session 7; docs/pvm.md "Loops and copies"): adjacent 8-byte load and
 * store pairs moved 16 bytes at once through an xmm register, and derived
 * bases the copy need not compute. jit_loop.c decides where they apply and
 * emits the rest of the copy.
 */
#include "jit_loop.h"

#include <string.h>

#if JK_PVM_HAVE_JIT

/* Are instructions k and k + 1 two 8-byte accesses of kind `opcode`
 * through the same base, 8 bytes apart, with two different registers? lo
 * and hi: the registers at the lower and the higher address. */
static bool jk_vec_adjacent(const jk_pvm_program *prog, uint32_t k, uint8_t opcode, uint8_t *lo, uint8_t *hi)
{
    const jk_pvm_insn *a = &prog->insns[k], *z = &prog->insns[k + 1];
    jk_memop ma, mz;
    if (a->opcode != opcode || z->opcode != opcode || !jk_pvm_group_memop(a, &ma) ||
        !jk_pvm_group_memop(z, &mz) || ma.base != mz.base || ma.reg == mz.reg)
        return false;
    int64_t d = (int64_t)(int32_t)mz.off - (int64_t)(int32_t)ma.off;
    if (d != 8 && d != -8)
        return false;
    *lo = (uint8_t)(d == 8 ? ma.reg : mz.reg);
    *hi = (uint8_t)(d == 8 ? mz.reg : ma.reg);
    return true;
}

/* Does one of the register fields instruction in's format uses name r?
 * (Unused fields are zero, so they must not count: r0 is common in C.) */
static bool jk_vec_names(const jk_pvm_insn *in, unsigned r)
{
    const jk_pvm_opinfo *info = jk_pvm_opinfo_get(in->opcode);
    if (!info)
        return true;
    switch (info->format) {
    case JK_PVM_ARGS_NONE: case JK_PVM_ARGS_IMM: case JK_PVM_ARGS_IMM_IMM: case JK_PVM_ARGS_OFFSET:
        return false;
    case JK_PVM_ARGS_REG_IMM64: case JK_PVM_ARGS_REG_IMM: case JK_PVM_ARGS_REG_IMM_IMM:
    case JK_PVM_ARGS_REG_IMM_OFFSET:
        return in->ra == r;
    case JK_PVM_ARGS_REG_REG:
        return in->ra == r || in->rd == r;
    case JK_PVM_ARGS_REG_REG_IMM: case JK_PVM_ARGS_REG_REG_OFFSET: case JK_PVM_ARGS_REG_REG_IMM_IMM:
        return in->ra == r || in->rb == r;
    default:
        return in->ra == r || in->rb == r || in->rd == r;
    }
}

/* 16-byte moves in a one-block loop's copy (session 7; docs/pvm.md "Loops
 * and copies"). A copy loop moves words through registers:
 *   load_ind_u64 rA, c, o;  load_ind_u64 rB, c, o + 8;  …
 *   store_ind_u64 rA, d, o';  store_ind_u64 rB, d, o' + 8;  …
 * Two adjacent accesses read or write the same 16 bytes at the same point
 * of the program whether as two 8-byte moves or as one 16-byte move (and
 * in the copy they cannot fault), so a load pair becomes one `movdqu xmm,
 * [..]` and a store pair of the same registers one `movdqu [..], xmm`;
 * every access keeps its place, so a source and a destination that overlap
 * give the interpreter's bytes. The registers themselves are not written in
 * the copy: when no other instruction of the loop (its branch included)
 * names rA or rB, they are observable only where the copy is left, and xmm
 * p holds their values at every point of it. So the check loads xmm p from
 * them (a copy left before its first load leaves them as they were) and
 * every exit writes them back (jk_pvm_jit_loop_vec_enter, _leave). Fills l's
 * vector fields; a pair with no store pair, or whose registers something
 * else names, is not one. Linear: a few passes over the block. */
void jk_pvm_jit_loop_vec(const jk_pvm_program *prog, jk_kernel_loop *l)
{
    l->nvec = 0;
    memset(l->vrole, 0, sizeof l->vrole);
    if (l->mid != UINT32_MAX)
        return;
    uint32_t s = l->first, e = l->last;
    uint8_t lo, hi;
    for (uint32_t k = s; k + 1 < e && l->nvec < JK_LOOP_VECS; k++) {
        if (!jk_vec_adjacent(prog, k, OP_load_ind_u64, &lo, &hi))
            continue;
        l->vlo[l->nvec] = lo;
        l->vhi[l->nvec] = hi;
        l->nvec++;
        l->vrole[k - s] = (uint8_t)l->nvec;
        l->vrole[++k - s] = JK_VEC_SKIP;
    }
    bool stored[JK_LOOP_VECS] = {false};
    for (uint32_t k = s; k + 1 < e; k++) {
        if (l->vrole[k - s] || l->vrole[k + 1 - s] || !jk_vec_adjacent(prog, k, OP_store_ind_u64, &lo, &hi))
            continue;
        for (unsigned p = 0; p < l->nvec; p++) {
            if (l->vlo[p] != lo || l->vhi[p] != hi)
                continue;
            stored[p] = true;
            l->vrole[k - s] = (uint8_t)(p + 1);
            l->vrole[++k - s] = JK_VEC_SKIP;
            break;
        }
    }
    for (unsigned p = 0; p < l->nvec; p++) {
        bool ok = stored[p];
        unsigned r0 = l->vlo[p], r1 = l->vhi[p];
        for (uint32_t k = s; k <= e && ok; k++) {
            const jk_pvm_insn *in = &prog->insns[k];
            uint8_t role = l->vrole[k - s];
            if (role == JK_VEC_SKIP)
                role = l->vrole[k - 1 - s];
            if (role == p + 1) /* one of its own accesses: the base must be another register */
                ok = in->rb != r0 && in->rb != r1;
            else /* anything else must not name them */
                ok = !jk_vec_names(in, r0) && !jk_vec_names(in, r1);
        }
        if (ok)
            continue;
        l->vlo[p] = l->vhi[p] = JK_VEC_SKIP; /* dropped: its accesses are ordinary ones */
        for (uint32_t k = s; k + 1 < e; k++)
            if (l->vrole[k - s] == p + 1)
                l->vrole[k - s] = l->vrole[k + 1 - s] = 0;
    }
}

/* Entering the copy: xmm p = (vlo[p], vhi[p]). Leaves rcx and rdx alone. */
void jk_pvm_jit_loop_vec_enter(jk_cc *c, const jk_kernel_loop *l)
{
    for (unsigned p = 0; p < l->nvec; p++) {
        if (l->vlo[p] == JK_VEC_SKIP)
            continue;
        x_movq_to_xmm(&c->b, (uint8_t)p, G(l->vlo[p]));
        x_movq_to_xmm(&c->b, 15, G(l->vhi[p]));
        x_punpcklqdq(&c->b, (uint8_t)p, 15);
    }
}

/* Leaving the copy: the registers from xmm p. */
void jk_pvm_jit_loop_vec_leave(jk_cc *c, const jk_kernel_loop *l)
{
    for (unsigned p = 0; p < l->nvec; p++) {
        if (l->vlo[p] == JK_VEC_SKIP)
            continue;
        x_movq_from_xmm(&c->b, G(l->vlo[p]), (uint8_t)p);
        x_pshufd_hi(&c->b, 15, (uint8_t)p);
        x_movq_from_xmm(&c->b, G(l->vhi[p]), 15);
    }
}

/* A derived base b = x + p the copy need not compute (session 7; two-block
 * loops and dead bases since session 12): p in a host register, and nothing but its `add_64 b, x, p` and the
 * accesses through it naming b (jk_vec_names), none of them storing it. The
 * copy then skips the add and reaches b + off as [p + delta' + off] with
 * delta' = host − guest + x (the check leaves out its `sub x`), or + off −
 * stride for an access after a constant step of p. b itself is observable
 * only where the copy is left, at an iteration's end, where it is x + p −
 * step (x + p when p is stepped before the add): every exit writes that,
 * and the check enters the copy only when b holds it already (a run may
 * have started mid-block, after the add; then the ordinary code runs one
 * more iteration first), so a copy left before its first iteration leaves
 * b as it was. */
/* Is k on l's path, or one of its two branches? */
static bool jk_fold_on_path(const jk_kernel_loop *l, uint32_t k)
{
    return l->mid == UINT32_MAX || k <= l->mid || k >= l->second;
}

/* A base whose value no exit sees (session 12, c_sieve's outer loop: the
 * byte is loaded into the base's own register): after its add, in path
 * order, only accesses through it that do not store it, up to a load
 * through it into it, and no branch between (B1's exit, the back edge).
 * The add then computes nothing anyone reads but those accesses. */
static bool jk_fold_dead(const jk_cc *c, const jk_kernel_loop *l, const jk_cursor *cu)
{
    for (uint32_t k = cu->def + 1; k <= l->last; k++) {
        if (!jk_fold_on_path(l, k))
            continue;
        jk_memop m;
        if (k == l->mid || k == l->last || !jk_pvm_group_memop(&c->prog->insns[k], &m) || m.base != cu->reg)
            return false;
        if (m.reg == (int)cu->reg)
            return !m.write;
    }
    return false;
}

void jk_pvm_jit_loop_fold(const jk_cc *c, jk_kernel_loop *l)
{
    for (unsigned j = 0; j < l->ncur; j++) {
        jk_cursor *cu = &l->cur[j];
        cu->fold = cu->dead = false;
        if (cu->preg < 0 || c->map[cu->preg] == X_NOREG)
            continue;
        if (jk_fold_dead(c, l, cu)) {
            cu->fold = cu->dead = true;
            continue;
        }
        /* two blocks (session 12): the base is computed in B1 before its
         * exit, so the exit sees this iteration's value (jk_pvm_jit_loop_fold_value) */
        if (l->mid != UINT32_MAX && cu->def > l->mid)
            continue;
        bool ok = true;
        for (uint32_t k = l->first; k <= l->last && ok; k++) {
            const jk_pvm_insn *in = &c->prog->insns[k];
            jk_memop m;
            if (k == cu->def || !jk_fold_on_path(l, k))
                continue;
            if (jk_pvm_group_memop(in, &m) && m.base == cu->reg)
                ok = m.reg != (int)cu->reg &&
                     (cu->pre || cu->update == UINT32_MAX || k < cu->update || cu->sreg < 0);
            else
                ok = !jk_vec_names(in, cu->reg);
        }
        cu->fold = ok;
    }
}

/* rax = what a folded base holds where the copy is left before instruction
 * `at` of the path (UINT32_MAX: at an iteration's end): x + p, less the
 * step when p was stepped after the add and before `at`. */
void jk_pvm_jit_loop_fold_value(jk_cc *c, const jk_cursor *cu, uint32_t at)
{
    jk_x64_buf *b = &c->b;
    ld(c, X_RAX, (unsigned)cu->xreg);
    x_alu_r_rm(b, ALU_ADD, true, X_RAX, G((unsigned)cu->preg));
    if (cu->update == UINT32_MAX || cu->update < cu->def || cu->update >= at)
        return;
    if (cu->sreg >= 0)
        x_alu_r_rm(b, ALU_SUB, true, X_RAX, G((unsigned)cu->sreg));
    else
        x_alu_rm_imm(b, ALU_SUB, true, X_REG(X_RAX), (int32_t)cu->stride);
}

#endif /* JK_PVM_HAVE_JIT */
