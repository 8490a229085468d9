/*
 * jit_loop.c — strided loops: one page check per page instead of one per
 * iteration (docs/pvm.md, "Strided loops").
 *
 * A basic block that branches back to its own start, whose memory accesses
 * all go through a few base registers ("cursors"), each written in the block
 * by nothing but one `add_imm_64 c, c, stride` (or not at all), walks memory
 * by a constant step: the page one iteration touches through a cursor holds
 * for the next (room in the page) / |stride| iterations. Such a block gets,
 * besides its ordinary code (where branches from elsewhere and resumptions
 * enter, and where its own back edge leaves), a check and a second copy:
 *
 *   ordinary:  the block as any block is compiled (gas, access groups,
 *              per-access TLB probes); its back edge jumps to the check;
 *   check:     per cursor, the TLB probe of one iteration's span; on any
 *              miss, back to the ordinary code (which walks, refills, takes
 *              the slow path or faults exactly as always). On hits: K, the
 *              number of iterations every cursor stays inside its page, and
 *              each cursor's host − guest delta; then gas is held back
 *              (bias = max(0, gas − K·cost)) so that the copy's own gas check
 *              fails after K iterations at most;
 *   copy:      `sub gas, cost; jl trip`, then every access as one host
 *              instruction at [cursor + delta + offset], the other
 *              instructions as usual, the back edge to its own top; leaving
 *              (branch not taken) gives the bias back. `trip` gives back the
 *              cost and the bias and runs that iteration in the ordinary code
 *              (next page, real out-of-gas, fault: all as without this file);
 *              since session 8 a one-block copy's trip and every check's TLB
 *              miss first try the next page themselves (jk_loop_walks).
 *
 * Two blocks (session 6): B1 whose branch leads, in one direction, to B2,
 * whose branch goes back to B1 (the sieve's outer loop: a byte read, a side
 * exit when it is zero, the counter stepped). The check sits on B2's back
 * edge, the copy runs B1 then B2 under one gas check of both blocks' cost,
 * B1's branch continues by falling through (its condition inverted when B2
 * is its target) and leaves out of line giving back B2's cost: B2 was not
 * entered, so the interpreter charged only B1. B1 keeps its ordinary code
 * where it is; trips and misses enter it at its prologue. A derived base
 * may be a register the path also uses for other values, as long as every
 * access reads what its `add_64 b, x, p` wrote (jk_loop_def), and p may be
 * stepped by a constant before that add (the span moves by the stride):
 * what a C compiler leaves, as in c_sieve's outer loop. One-block copies
 * run in pairs (jk_loop_unrolled), and a second cursor's delta may stay in
 * rcx (jk_loop_keeps_rcx). Session 7, one-block copies: adjacent 8-byte
 * load and store pairs move 16 bytes at once through an xmm register
 * (jk_pvm_jit_loop_vec, jit_loop_vec.c), and a derived base the rest of the loop does not read is
 * not computed, only written where the copy is left (jk_pvm_jit_loop_fold).
 * Session 11: a loop that only copies words from one cursor's span to the
 * other's moves all but the last of a check's iterations with `rep movsb`
 * when the host ranges are apart (jk_pvm_jit_loop_bulk, jit_loop_bulk.c).
 *
 * The copy's accesses cannot fault, exit or call C (all K iterations were
 * checked against pages the TLB holds, and nothing in the block can change
 * the page table), and its gas check trips at the same iteration as the
 * ordinary code's would when gas runs out, so both leave the same state. Each
 * instruction of the block is compiled at most three times (ordinary, an
 * access group's one-by-one copy, this copy), B1's at most twice more (it
 * leads to two blocks at most): compilation stays linear.
 */
#include "jit_cc.h"

#if JK_PVM_HAVE_JIT

#include "jit_loop.h"


/* The path's first instruction and the one after k (== last: the end). */
static uint32_t jk_loop_begin(const jk_kernel_loop *l)
{
    return l->first == l->mid ? l->second : l->first;
}

static uint32_t jk_loop_next(const jk_kernel_loop *l, uint32_t k)
{
    return k + 1 == l->mid ? l->second : k + 1;
}

static int jk_loop_cursor(const jk_kernel_loop *l, unsigned reg)
{
    for (unsigned j = 0; j < l->ncur; j++)
        if (l->cur[j].reg == reg)
            return (int)j;
    return -1;
}

/* Conditional branches whose code (jit_insn.c) uses only rax and rcx. */
static bool jk_loop_branch(const jk_pvm_insn *in)
{
    switch (in->opcode) {
    case OP_branch_eq: case OP_branch_ne: case OP_branch_lt_u: case OP_branch_lt_s:
    case OP_branch_ge_u: case OP_branch_ge_s:
    case OP_branch_eq_imm: case OP_branch_ne_imm: case OP_branch_lt_u_imm: case OP_branch_le_u_imm:
    case OP_branch_ge_u_imm: case OP_branch_gt_u_imm: case OP_branch_lt_s_imm: case OP_branch_le_s_imm:
    case OP_branch_ge_s_imm: case OP_branch_gt_s_imm:
        return true;
    default:
        return false;
    }
}

/* Is register r stepped: written at most once in the block (writes[],
 * at[]: the counts and first writes), by add_imm_64 r, r, v (|v| bounded) or
 * add_64 r, r, q with q not written? Then fill cu's step (stride or sreg,
 * and the update's index). */
static bool jk_loop_step(const jk_pvm_program *prog, const uint8_t *writes, const uint32_t *at, unsigned r,
                         jk_cursor *cu)
{
    cu->stride = 0;
    cu->sreg = -1;
    cu->update = UINT32_MAX;
    if (writes[r] == 0)
        return true;
    const jk_pvm_insn *in = &prog->insns[at[r]];
    if (writes[r] > 1)
        return false;
    if (in->opcode == OP_add_imm_64 && in->rb == r) {
        cu->stride = (int64_t)in->imm_x;
        if (cu->stride < -JK_LOOP_MAX_STRIDE || cu->stride > JK_LOOP_MAX_STRIDE)
            return false;
    } else if (in->opcode == OP_add_64 && (in->ra == r) != (in->rb == r)) {
        cu->sreg = (int)(in->ra == r ? in->rb : in->ra);
        if (writes[cu->sreg] != 0)
            return false; /* the step must be the same in every iteration */
    } else {
        return false;
    }
    cu->update = at[r];
    return true;
}

/* The guest register an instruction of a loop's path writes, or -1. */
static int jk_loop_writes(const jk_pvm_insn *in)
{
    jk_memop m;
    if (jk_pvm_group_memop(in, &m))
        return m.write ? -1 : m.reg;
    return jk_pvm_group_alu(in);
}

/* A base written in the path (by anything, any number of times) whose every
 * access reads the value one instruction, *def, wrote: the last write before
 * its first access, and none between that and its last access. Then the
 * value at each access is what *def computes in that iteration, whatever
 * the register holds elsewhere (the C compiler's reuse of a register as a
 * temporary, or as the loaded byte, as in c_sieve's outer loop). */
static bool jk_loop_def(const jk_pvm_program *prog, const jk_kernel_loop *l, unsigned b, uint32_t *def)
{
    uint32_t last = UINT32_MAX;
    bool seen = false;
    for (uint32_t k = jk_loop_begin(l); k != l->last; k = jk_loop_next(l, k)) {
        const jk_pvm_insn *in = &prog->insns[k];
        jk_memop m;
        if (jk_pvm_group_memop(in, &m) && m.base == b) {
            if (last == UINT32_MAX || (seen && last != *def))
                return false;
            *def = last;
            seen = true;
        }
        if (jk_loop_writes(in) == (int)b)
            last = k;
    }
    return seen;
}

/* Is [s, *e] one block made of accesses and access-group ALU forms only,
 * ended by a conditional branch (*e) that uses rax and rcx only? Bounded
 * look-ahead, so the compiler stays linear. */
static bool jk_loop_block(const jk_pvm_program *prog, uint32_t s, uint32_t *e)
{
    for (uint32_t k = s; k < prog->insn_count && k - s < JK_LOOP_MAX_INSNS; k++) {
        const jk_pvm_insn *in = &prog->insns[k];
        if (k > s && prog->block_start[k])
            return false;
        jk_memop m;
        if (jk_pvm_group_memop(in, &m) || jk_pvm_group_alu(in) >= 0)
            continue;
        if (!jk_loop_branch(in) || in->target == JK_PVM_NO_TARGET)
            return false;
        *e = k;
        return true;
    }
    return false;
}

/* Is the block starting at s a strided loop, alone or as the second of two
 * blocks (see jk_kernel_loop)? */
static bool jk_loop_scan(const jk_cc *c, uint32_t s, jk_kernel_loop *l)
{
    const jk_pvm_program *prog = c->prog;
    memset(l, 0, sizeof *l);
    uint32_t e;
    if (!jk_loop_block(prog, s, &e) || e + 1 >= prog->insn_count)
        return false;
    uint32_t t = prog->insns[e].target;
    l->first = l->second = t;
    l->mid = UINT32_MAX;
    l->last = e;
    l->cost = prog->insns[s].cost;
    if (t != s) {
        /* two blocks: B1 at the back edge's target, before s, leading to s */
        uint32_t m;
        if (t > s || !prog->block_start[t] || !jk_loop_block(prog, t, &m))
            return false;
        if (prog->insns[m].target == s)
            l->stay_taken = true;
        else if (m + 1 != s)
            return false;
        l->mid = m;
        l->second = s;
        l->cost += prog->insns[t].cost;
    }
    /* the path's cursors */
    for (uint32_t k = jk_loop_begin(l); k != l->last; k = jk_loop_next(l, k)) {
        jk_memop m;
        if (!jk_pvm_group_memop(&prog->insns[k], &m))
            continue;
        int j = jk_loop_cursor(l, m.base);
        if (j < 0) {
            if (l->ncur == JK_LOOP_CURSORS || c->map[m.base] == X_NOREG)
                return false; /* the access needs the cursor in a host register */
            j = (int)l->ncur++;
            l->cur[j].reg = m.base;
            l->cur[j].host = c->map[m.base];
            l->cur[j].update = UINT32_MAX;
            l->cur[j].sreg = -1;
            l->cur[j].xreg = l->cur[j].preg = -1;
            l->cur[j].lo = INT64_MAX;
            l->cur[j].hi = INT64_MIN;
        }
        l->cur[j].write |= m.write;
    }
    if (l->ncur == 0)
        return false;
    /* each register's writes in the block: how many, and the first */
    uint8_t writes[JK_PVM_REGS] = {0};
    uint32_t at[JK_PVM_REGS] = {0};
    for (uint32_t k = jk_loop_begin(l); k != l->last; k = jk_loop_next(l, k)) {
        int w = jk_loop_writes(&prog->insns[k]);
        if (w >= 0 && writes[w]++ == 0)
            at[w] = k;
    }
    /* a cursor is stepped (see jk_loop_step), or a derived base: written
     * once, by add_64 b, x, p before its accesses, x not written, p
     * stepped after that (b = x + p moves with p) */
    for (unsigned j = 0; j < l->ncur; j++) {
        jk_cursor *cu = &l->cur[j];
        if (jk_loop_step(prog, writes, at, cu->reg, cu))
            continue;
        if (!jk_loop_def(prog, l, cu->reg, &cu->def))
            return false;
        const jk_pvm_insn *in = &prog->insns[cu->def];
        if (in->opcode != OP_add_64 || in->ra == cu->reg || in->rb == cu->reg)
            return false;
        for (int swap = 0; swap < 2 && cu->preg < 0; swap++) {
            unsigned x = swap ? in->rb : in->ra, p = swap ? in->ra : in->rb;
            if (x != p && writes[x] == 0 && jk_loop_step(prog, writes, at, p, cu) &&
                (cu->update == UINT32_MAX || cu->update > cu->def || cu->sreg < 0)) {
                cu->xreg = (int)x;
                cu->preg = (int)p;
                /* stepped before the base is computed: the iteration's base
                 * is x + p + stride, p taken at the iteration's start */
                cu->pre = cu->update != UINT32_MAX && cu->update < cu->def;
            }
        }
        if (cu->preg < 0)
            return false;
    }
    /* the bytes one iteration touches, relative to its start's cursors
     * (the path's instructions are in pc order: first < second) */
    for (uint32_t k = jk_loop_begin(l); k != l->last; k = jk_loop_next(l, k)) {
        jk_memop m;
        if (!jk_pvm_group_memop(&prog->insns[k], &m))
            continue;
        jk_cursor *cu = &l->cur[jk_loop_cursor(l, m.base)];
        if (cu->preg >= 0 ? k < cu->def : cu->sreg >= 0 && cu->update < k)
            return false; /* the previous iteration's base, or an offset that depends on the step */
        int64_t eff = (int64_t)(int32_t)m.off + ((cu->preg < 0 && cu->update < k) || cu->pre ? cu->stride : 0);
        if (eff < -JK_LOOP_MAX_REACH || eff > JK_LOOP_MAX_REACH)
            return false;
        if (eff < cu->lo)
            cu->lo = eff;
        if (eff + (int64_t)m.n > cu->hi)
            cu->hi = eff + (int64_t)m.n;
    }
    for (unsigned j = 0; j < l->ncur; j++)
        if (l->cur[j].hi - l->cur[j].lo > JK_LOOP_MAX_REACH)
            return false;
    return true;
}

/* Compile the branch at instruction k and take its jump to `target` out of
 * the fixups: return that rel32 field, for the caller to patch, or SIZE_MAX
 * (out of memory). With invert, the jump's condition is negated (the caller
 * then treats the jump as the other direction and the fall-through as
 * `target`). Every conditional branch with a target is one jcc rel32
 * (jk_pvm_jit_branch), whose condition is the low bit's pair. */
static size_t jk_loop_branch_out(jk_cc *c, uint32_t k, uint32_t target, bool invert)
{
    if (!x_reserve(&c->b, JK_JIT_INSN_BOUND))
        return SIZE_MAX;
    size_t before = c->fix_count, start = c->b.len;
    jk_pvm_jit_compile_insn(c, k);
    if (c->b.len - start > JK_JIT_INSN_BOUND)
        c->b.oom = true;
    for (size_t f = before; f < c->fix_count; f++) {
        if (c->fix[f].target != target)
            continue;
        size_t at = c->fix[f].at;
        c->fix[f] = c->fix[--c->fix_count];
        if (invert) {
            if (at < 2 || c->b.p[at - 2] != 0x0F || (c->b.p[at - 1] & 0xF0) != 0x80) {
                c->oom = true; /* not a jcc rel32: refuse the program's code */
                return SIZE_MAX;
            }
            c->b.p[at - 1] ^= 1;
        }
        return at;
    }
    c->oom = true; /* jk_jump_to could not record it */
    return SIZE_MAX;
}

/* Does the code of in (a path instruction or branch of a loop's copy)
 * leave rcx alone? Accesses in the copy are one host instruction that may
 * use rax (jk_pvm_group_access); of the rest, only forms read from
 * jit_insn.c to use rax at most, with their constants as given. Anything
 * else may use rcx as scratch. */
static bool jk_loop_keeps_rcx(const jk_cc *c, const jk_pvm_insn *in)
{
    jk_memop m;
    if (jk_pvm_group_memop(in, &m))
        return true;
    switch (in->opcode) {
    case OP_add_64: case OP_sub_64: case OP_and: case OP_xor: case OP_or: case OP_add_32: case OP_sub_32:
    case OP_move_reg: case OP_add_imm_32:
    case OP_branch_eq: case OP_branch_ne: case OP_branch_lt_u: case OP_branch_lt_s:
    case OP_branch_ge_u: case OP_branch_ge_s:
        return true; /* jk_alu3, ld/st, a register compare */
    case OP_load_imm:
        return c->map[in->ra] != X_NOREG || x_fits32(in->imm_x); /* jk_load_const */
    case OP_add_imm_64: case OP_and_imm: case OP_xor_imm: case OP_or_imm:
    case OP_branch_eq_imm: case OP_branch_ne_imm: case OP_branch_lt_u_imm: case OP_branch_le_u_imm:
    case OP_branch_ge_u_imm: case OP_branch_gt_u_imm: case OP_branch_lt_s_imm: case OP_branch_le_s_imm:
    case OP_branch_ge_s_imm: case OP_branch_gt_s_imm:
        return x_fits32(in->imm_x); /* jk_alu_imm_to, jk_cmp_imm: rcx holds a wide constant */
    default:
        return false;
    }
}

/* The copy of path instructions [from, to) (see jk_pvm_jit_loop): cursor
 * in_rcx's accesses use the delta in rcx, the others the one in rdx,
 * reloaded when the cursor changes. */
static bool jk_loop_copy(jk_cc *c, const jk_kernel_loop *l, uint32_t from, uint32_t to, int in_rcx, int *in_rdx)
{
    jk_x64_buf *b = &c->b;
    for (uint32_t k = from; k < to; k++) {
        uint8_t role = l->nvec ? l->vrole[k - l->first] : 0;
        if (role == JK_VEC_SKIP)
            continue; /* the second of a pair: moved with the first */
        bool skip = false;
        for (unsigned j = 0; j < l->ncur; j++)
            skip |= l->cur[j].fold && l->cur[j].def == k;
        if (skip)
            continue; /* a folded base's add: its accesses go through p */
        if (!x_reserve(b, JK_JIT_INSN_BOUND))
            return false;
        size_t start = b->len;
        jk_memop m;
        if (jk_pvm_group_memop(&c->prog->insns[k], &m)) {
            int j = jk_loop_cursor(l, m.base);
            const jk_cursor *cu = &l->cur[j];
            if (j != in_rcx && j != *in_rdx) {
                x_mov_r_rm(b, true, X_RDX, X_MEM(X_RBX, CTX_LOOP_DELTA + 8 * j));
                *in_rdx = j;
            }
            jk_x64_rm at = X_MEMI(cu->host, j == in_rcx ? X_RCX : X_RDX, 0, (int32_t)m.off);
            if (cu->fold) {
                at.reg = c->map[cu->preg];
                if (!cu->pre && cu->update != UINT32_MAX && k > cu->update)
                    at.disp -= (int32_t)cu->stride; /* p already stepped (a constant step) */
            }
            jk_memop m2;
            if (!role) {
                jk_pvm_group_access(c, &m, at);
            } else if (jk_pvm_group_memop(&c->prog->insns[k + 1], &m2)) {
                if ((int32_t)m2.off < (int32_t)m.off)
                    at.disp += (int32_t)m2.off - (int32_t)m.off; /* the pair's lower address */
                if (m.write)
                    x_movdqu_store(b, at, (uint8_t)(role - 1));
                else
                    x_movdqu_load(b, (uint8_t)(role - 1), at);
            }
        } else {
            jk_pvm_jit_compile_insn(c, k);
        }
        if (b->len - start > JK_JIT_INSN_BOUND)
            b->oom = true;
        if (c->oom || b->oom)
            return false;
    }
    return true;
}

/* Leaving a checked copy before path instruction `at` (UINT32_MAX: at an
 * iteration's end): give back `refund` (what was charged for iterations or
 * blocks not entered) and the bias, then go to instruction `to`'s code, or
 * to code offset `off` when to is UINT32_MAX. */
static void jk_loop_leave(jk_cc *c, const jk_kernel_loop *l, uint32_t at, int32_t refund, uint32_t to, size_t off)
{
    jk_x64_buf *b = &c->b;
    if (!x_reserve(b, 64 + 24 * JK_LOOP_VECS + 32 * JK_LOOP_CURSORS))
        return;
    jk_pvm_jit_loop_vec_leave(c, l);
    for (unsigned j = 0; j < l->ncur; j++) {
        if (!l->cur[j].fold || l->cur[j].dead)
            continue;
        jk_pvm_jit_loop_fold_value(c, &l->cur[j], at);
        st(c, l->cur[j].reg, X_RAX);
    }
    if (refund)
        x_alu_rm_imm(b, ALU_ADD, true, X_REG(X_GAS), refund);
    x_alu_r_rm(b, ALU_ADD, true, X_GAS, X_MEM(X_RBX, CTX_LOOP_BIAS));
    if (to == UINT32_MAX)
        jk_jmp_to_off(c, off);
    else
        jk_jump_to(c, x_jmp32(b), to);
}

/* A copy's back edge (the loop's last branch) to code offset top, and its
 * fall-through leaving the loop. False when out of memory. */
static bool jk_loop_back(jk_cc *c, const jk_kernel_loop *l, size_t top)
{
    size_t again = jk_loop_branch_out(c, l->last, l->first, false);
    if (again == SIZE_MAX || !x_reserve(&c->b, 128))
        return false;
    x_patch32(&c->b, again, top);
    jk_loop_leave(c, l, UINT32_MAX, 0, l->last + 1, 0);
    return true;
}

/* The checked-once copy of a one-block loop, unrolled twice: one gas check
 * (of two iterations' cost) and one taken branch per pair. The first
 * iteration's branch is inverted and leaves out of line giving back the
 * second's cost (not entered, not paid); when less than two iterations are
 * left in the budget (K odd, or little gas), one runs alone, and when not
 * even one is, the trip goes back to the check (session 8), which walks to
 * the next page and comes back, or sends the iteration to the ordinary code:
 *
 *   pair:  sub gas, 2c; jl one;  body; j!cc out;  body; jcc pair;  leave
 *   one:   add gas, c; jl trip;  body; jcc pair;  leave
 *   out:   add gas, c;  leave          trip: add gas, c; bias back; check
 *
 * At `one` the budget lost 2c and got c back, so `jl` asks for exactly one
 * iteration's gas; every iteration that runs was paid before it started,
 * so ⌊budget / c⌋ of them run, never more than K (the bias held the
 * budget to K·c at most). */
static void jk_loop_unrolled(jk_cc *c, const jk_kernel_loop *l, int in_rcx, int in_rdx0, size_t check_run)
{
    jk_x64_buf *b = &c->b;
    uint32_t s = l->first, e = l->last;
    int32_t cost = (int32_t)l->cost;
    int in_rdx = in_rdx0;
    size_t pair = b->len;
    x_alu_rm_imm(b, ALU_SUB, true, X_REG(X_GAS), 2 * cost);
    size_t one = x_jcc32(b, CC_L);
    if (!jk_loop_copy(c, l, s, e, in_rcx, &in_rdx))
        return;
    size_t out = jk_loop_branch_out(c, e, s, true);
    in_rdx = in_rdx0;
    if (out == SIZE_MAX || !jk_loop_copy(c, l, s, e, in_rcx, &in_rdx) || !jk_loop_back(c, l, pair))
        return;
    /* one iteration alone */
    x_patch32(b, one, b->len);
    x_alu_rm_imm(b, ALU_ADD, true, X_REG(X_GAS), cost);
    size_t trip = x_jcc32(b, CC_L);
    in_rdx = in_rdx0;
    if (!jk_loop_copy(c, l, s, e, in_rcx, &in_rdx) || !jk_loop_back(c, l, pair))
        return;
    /* the pair's first iteration left the loop */
    x_patch32(b, out, b->len);
    jk_loop_leave(c, l, UINT32_MAX, cost, e + 1, 0);
    /* trip: K iterations ran (a cursor's page ends) or the gas is short:
     * with everything given back, the check again (session 8; constant
     * steps only, jk_loop_retries), which walks
     * to the next page and comes back into the copy, or sends the
     * iteration to the ordinary code (a fault, copy-on-write, less than one
     * iteration's gas) */
    x_patch32(b, trip, b->len);
    jk_loop_leave(c, l, UINT32_MAX, cost, UINT32_MAX, jk_pvm_jit_loop_retries(l) ? check_run : c->label[s]);
}

/* A one-block loop whose step register holds a step the check does not
 * take (not positive, above JK_LOOP_MAX_RUN_STEP, or since session 12 a
 * step of 256 or more that the check with runs finds fewer than
 * JK_LOOP_WIDE_K iterations of room for) fails the check's step test on
 * every iteration, and the step cannot change while the loop runs (the
 * block does not write it). So the failing test enters a second ordinary copy of the
 * block whose back edge goes to its own top, not to the check: the block
 * exactly as the ordinary code runs it (its gas check, one access at a
 * time through the TLB, the same out-of-gas exit), minus the test. Entered
 * only from the check, which runs at an iteration's end, so entry[] and
 * label[] keep pointing at the ordinary code; with runs it goes back to
 * the check with runs every JK_LOOP_WIDE_RUN iterations. One more copy of
 * each instruction: compilation stays linear. */
static void jk_loop_wide(jk_cc *c, const jk_kernel_loop *l, const size_t *wide, unsigned nwide, size_t check_run)
{
    jk_x64_buf *b = &c->b;
    uint32_t s = l->first, e = l->last;
    if (!x_reserve(b, 64))
        return;
    for (unsigned w = 0; w < nwide; w++)
        x_patch32(b, wide[w], b->len);
    /* with the check's runs (session 12): back to that check every
     * JK_LOOP_WIDE_RUN iterations, at an iteration's start as the back
     * edge would be, so that a step the runs take leaves this copy once
     * the cursor reaches a long run (past a leaf's end) */
    if (check_run != SIZE_MAX) {
        x_op(b, 0, false, 0xC7, 1, 0, X_MEM(X_RBX, CTX_LOOP_K), false); /* mov dword [loop_k], n */
        x_d(b, JK_LOOP_WIDE_RUN);
    }
    size_t top = b->len;
    if (check_run != SIZE_MAX) {
        x_alu_rm_imm(b, ALU_SUB, false, X_MEM(X_RBX, CTX_LOOP_K), 1);
        x_patch32(b, x_jcc32(b, CC_E), check_run);
    }
    x_alu_rm_imm(b, ALU_SUB, true, X_REG(X_GAS), (int32_t)c->prog->insns[s].cost);
    jk_late oog = {0};
    oog.at = (uint32_t)x_jcc32(b, CC_L);
    oog.first = s;
    oog.cost = c->prog->insns[s].cost;
    oog.kind = JK_LATE_OOG;
    jk_pvm_jit_add_late(c, &oog);
    for (uint32_t k = s; k < e; k++) {
        if (!x_reserve(b, JK_JIT_INSN_BOUND))
            return;
        size_t start = b->len;
        jk_pvm_jit_compile_insn(c, k);
        if (b->len - start > JK_JIT_INSN_BOUND)
            b->oom = true;
        if (c->oom || b->oom)
            return;
    }
    size_t again = jk_loop_branch_out(c, e, s, false);
    if (again == SIZE_MAX || !x_reserve(b, 16))
        return;
    x_patch32(b, again, top);
    jk_jump_to(c, x_jmp32(b), e + 1);
}

bool jk_pvm_jit_loop(jk_cc *c, uint32_t s, uint32_t *last)
{
    jk_kernel_loop l;
    if (!jk_loop_scan(c, s, &l))
        return false;
    jk_pvm_jit_loop_vec(c->prog, &l);
    jk_pvm_jit_loop_fold(c, &l);
    jk_pvm_jit_loop_bulk(c->prog, &l);
    *last = l.last;
    jk_x64_buf *b = &c->b;
    const jk_pvm_program *prog = c->prog;
    uint32_t e = l.last;

    /* 1. the ordinary code of block s (the caller emitted the prologue and
     * entry[s]); for two blocks, B1's was compiled as any block's */
    for (uint32_t k = s; k < e; k++) {
        if (!x_reserve(b, JK_JIT_INSN_BOUND))
            return true;
        if (k > s)
            c->label[k] = c->entry[k] = (uint32_t)b->len;
        uint32_t glast;
        if (jk_pvm_jit_group_only(c, k, &glast)) {
            k = glast;
        } else {
            size_t start = b->len;
            jk_pvm_jit_compile_insn(c, k);
            if (b->len - start > JK_JIT_INSN_BOUND)
                b->oom = true;
        }
        if (c->oom || b->oom)
            return true;
    }
    if (e > s) /* s = e, a block of the branch alone: label[s] stays the prologue the caller emitted */
        c->label[e] = c->entry[e] = (uint32_t)b->len;
    size_t back = jk_loop_branch_out(c, e, l.first, false);
    if (back == SIZE_MAX || !x_reserve(b, 64 + 400 * JK_LOOP_CURSORS))
        return true;
    jk_jump_to(c, x_jmp32(b), e + 1); /* leaving the loop */

    /* 2. the check, where the ordinary back edge goes; before it, for a
     * one-block loop, the check its copy's trips go back to, which also
     * adds the run of pages past the cursors' (session 9): a trip means
     * the copy used up its K, so this loop is worth the run's scan, where
     * a loop just entered may leave after a few iterations (the sieve's
     * outer loop leaves at every prime) */
    size_t wide[3 * JK_LOOP_CURSORS], check_run = SIZE_MAX, to_copy = SIZE_MAX;
    unsigned nwide = 0, nw;
    jk_loop_miss miss[JK_LOOP_CURSORS], miss_run[JK_LOOP_CURSORS];
    bool runs = jk_pvm_jit_loop_retries(&l);
    if (runs) {
        check_run = b->len;
        jk_pvm_jit_loop_check(c, &l, true, wide, &nwide, miss_run);
        if (!x_reserve(b, 64 + 400 * JK_LOOP_CURSORS))
            return true;
        to_copy = x_jmp32(b);
    }
    x_patch32(b, back, b->len);
    jk_pvm_jit_loop_check(c, &l, false, wide + nwide, &nw, miss);
    if (runs) {
        /* a step above JK_LOOP_MAX_REG_STEP: the check with runs decides
         * (session 12; the asm sieve's marks of primes 257..3162) */
        for (unsigned w = 0; w < nw; w++)
            x_patch32(b, wide[nwide + w], check_run);
        nw = 0;
    }
    nwide += nw;
    if (runs)
        x_patch32(b, to_copy, b->len);
    /* both checks enter the copy here: first the bulk move (session 11) */
    jk_pvm_jit_loop_bulk_emit(c, &l);
    /* with two cursors or more, the last one's delta stays in rcx when no
     * code of the copy touches rcx (no reloads in a copy loop's iteration);
     * rdx holds the delta of the cursor the last other access used */
    int in_rcx = l.ncur > 1 && jk_loop_keeps_rcx(c, &prog->insns[e]) &&
                 (l.mid == UINT32_MAX || jk_loop_keeps_rcx(c, &prog->insns[l.mid])) ? (int)l.ncur - 1 : -1;
    for (uint32_t k = jk_loop_begin(&l); k != e && in_rcx >= 0; k = jk_loop_next(&l, k))
        if (!jk_loop_keeps_rcx(c, &prog->insns[k]))
            in_rcx = -1;
    int in_rdx = -1;
    for (uint32_t k = jk_loop_begin(&l); k != e; k = jk_loop_next(&l, k)) {
        jk_memop m;
        if (jk_pvm_group_memop(&prog->insns[k], &m) && jk_loop_cursor(&l, m.base) != in_rcx)
            in_rdx = jk_loop_cursor(&l, m.base);
    }
    if (in_rcx >= 0)
        x_mov_r_rm(b, true, X_RCX, X_MEM(X_RBX, CTX_LOOP_DELTA + 8 * in_rcx));
    if (in_rdx >= 0)
        x_mov_r_rm(b, true, X_RDX, X_MEM(X_RBX, CTX_LOOP_DELTA + 8 * in_rdx));

    if (l.mid == UINT32_MAX) {
        if (!x_reserve(b, 24 * JK_LOOP_VECS))
            return true;
        jk_pvm_jit_loop_vec_enter(c, &l);
        jk_loop_unrolled(c, &l, in_rcx, in_rdx, check_run);
        if (nwide && !c->oom && !b->oom)
            jk_loop_wide(c, &l, wide, nwide, check_run);
        if (!c->oom && !b->oom)
            jk_pvm_jit_loop_walks(c, &l, miss);
        if (runs && !c->oom && !b->oom)
            jk_pvm_jit_loop_walks(c, &l, miss_run);
        return true;
    }
    /* a step the check does not take: that iteration runs in the ordinary
     * code from B1 (l.first), as a miss does — not from s, B2's start, which
     * would skip B1 and never reach its accesses (a fault the interpreter
     * takes there was skipped and B2 ran until out of gas; session 9,
     * tests/fuzz/corpus/jit/wide-two-block-*) */
    for (unsigned w = 0; w < nwide; w++)
        x_patch32(b, wide[w], c->label[l.first]);

    /* 3. the checked-once copy: one gas check for the whole path; B1's
     * branch continues by falling through (its condition inverted when B2 is
     * its target), and leaves out of line, giving back B2's cost */
    size_t top = b->len;
    x_alu_rm_imm(b, ALU_SUB, true, X_REG(X_GAS), (int32_t)l.cost);
    size_t trip = x_jcc32(b, CC_L);
    if (!jk_loop_copy(c, &l, l.first, l.mid, in_rcx, &in_rdx))
        return true;
    uint32_t t = prog->insns[l.mid].target;
    size_t out = jk_loop_branch_out(c, l.mid, l.stay_taken ? l.second : t, l.stay_taken);
    if (out == SIZE_MAX)
        return true;
    if (!jk_loop_copy(c, &l, l.second, e, in_rcx, &in_rdx) || !jk_loop_back(c, &l, top))
        return true;
    /* B1 left the loop: B2 was not entered, so neither paid */
    x_patch32(b, out, b->len);
    jk_loop_leave(c, &l, l.mid, (int32_t)prog->insns[l.second].cost, l.stay_taken ? l.mid + 1 : t, 0);
    /* trip: this iteration runs in the ordinary code, with all its gas */
    x_patch32(b, trip, b->len);
    jk_loop_leave(c, &l, UINT32_MAX, (int32_t)l.cost, UINT32_MAX, c->label[l.first]);
    if (!c->oom && !b->oom)
        jk_pvm_jit_loop_walks(c, &l, miss);
    return true;
}

#endif
