/*
 * jit_plan.c — the recompiler's gas plans, made once per program before
 * any code is emitted: which blocks are precharged (a static jump's or
 * call's target, a conditional branch's target, a fallthrough's next
 * block paid by the block before it) and what each prologue charges less.
 * Split from jit_ctl.c (session 13), which emits the control flow these
 * plans shape. The rule every plan keeps: each way into a block that skips
 * its gas check pays what that check charges (docs/pvm.md).
 */
#include "jit_cc.h"
#include "jit_plan.h"

#include <stdlib.h>

unsigned long jk_pvm_jit_plan_refused;
void (*jk_pvm_jit_plan_hook)(const jk_pvm_program *prog, uint32_t *pre, uint32_t *less);
bool jk_pvm_jit_plan_checked = true;

#if JK_PVM_HAVE_JIT

/* Precharged blocks (session 8). A block B whose terminator is a static
 * `jump` or `load_imm_jump` (a call, mostly) to a block T always enters T
 * when it completes, so B's prologue charges both costs with one `sub r11,
 * cost(B) + cost(T); jl` and B's jump lands on entry[T], past T's own
 * prologue: one `sub`/`jl` pair less on every such edge (two of `fib`'s six
 * a call pair). The interpreter charges T only when B is done, so wherever
 * B does not complete the difference is undone in C (jit_run.c), where
 * every such case ends compiled code anyway:
 * - B's prologue fails (gas < cost(B) + cost(T)): it gives both back as any
 *   prologue does and exits out-of-gas at B; the runtime then runs the rest
 *   on the interpreter, which pays B, runs it and stops at T (or at B when
 *   cost(B) is not there either), exactly as the interpreter would;
 * - an instruction of B faults or panics: the runtime gives cost(T) back
 *   (jk_pvm_jit->pre[] says how much, per instruction);
 * - a run starts inside B (a block start, or any instruction: jk_pvm_run
 *   takes any pc): the runtime charges cost(T) with the block's rest, and
 *   runs the interpreter when only the rest is there.
 * B may contain no `ecalli` (a host call leaves mid-block and resumes with
 * the block paid), and T must not itself be precharged (entry[T] skips a
 * prologue that charges cost(T) alone): T's terminator is not a static
 * jump, a local test, so the plan is linear. */

/* A conditional branch (its target in in->target), as opposed to the
 * static jumps and calls above. */
static bool jk_is_cond_branch(const jk_pvm_insn *in)
{
    const jk_pvm_opinfo *info = jk_pvm_opinfo_get(in->opcode);
    return info && (info->format == JK_PVM_ARGS_REG_REG_OFFSET ||
                    (info->format == JK_PVM_ARGS_REG_IMM_OFFSET && in->opcode != OP_load_imm_jump));
}

/* Precharged branches (session 10). A block E that ends in a conditional
 * branch to T and falls through to F, where nothing but that fallthrough
 * enters F (no static target, no jump-table entry names F), pays for T
 * too: E's prologue charges cost(E) + cost(T), the taken branch lands on
 * entry[T], past T's prologue, and F's prologue charges cost(T) less (it
 * is "given back" there: `sub r11, cost(F) − cost(T)`, whose `jl` fails
 * exactly when the interpreter's gas at F, r11 + cost(T), is below
 * cost(F); its out-of-gas exit adds cost(F) back, leaving the
 * interpreter's gas). `fib`'s leaf (`branch_lt_u_imm r7, 2, leaf`) loses
 * its `sub`/`jl`. For the runtime E is a precharged block like the ones
 * above (pre = cost(T): a fault in E gives it back, a failed prologue or
 * a start in E with too little gas runs the interpreter). T must not be
 * precharged itself (its terminator is no static jump, call or
 * conditional branch) nor be E; E must not be a conditional branch's
 * target, which keeps it out of the strided loops (jit_loop.c: a loop's
 * blocks are its branches' targets or fall into one) and their own gas
 * accounting. A static jump or call to such an E pays cost(E) + pre(E),
 * so `fib`'s calls still land past its entry's prologue. */
static void jk_branch_plan(jk_cc *c, const uint32_t *last, const uint8_t *host, const uint8_t *named,
                           const uint8_t *branched)
{
    const jk_pvm_program *prog = c->prog;
    uint32_t n = prog->insn_count;
    for (uint32_t e = 0; e < n; e++) {
        if (!prog->block_start[e] || host[e] || branched[e])
            continue;
        const jk_pvm_insn *t = &prog->insns[last[e]];
        uint32_t to = t->target, f = last[e] + 1;
        if (!jk_is_cond_branch(t) || to >= n || !prog->block_start[to] || to == e || f >= n || to == f ||
            named[f])
            continue;
        const jk_pvm_insn *tend = &prog->insns[last[to]];
        if (jk_is_cond_branch(tend) || tend->opcode == OP_jump || tend->opcode == OP_load_imm_jump)
            continue; /* T is precharged itself, or may be by the pass below */
        uint64_t both = (uint64_t)prog->insns[e].cost + prog->insns[to].cost;
        if (both > INT32_MAX / 2)
            continue;
        if (!c->pre && !(c->pre = calloc(n, sizeof *c->pre)))
            return; /* no block precharged: correct, only slower */
        if (!c->less && !(c->less = calloc(n, sizeof *c->less)))
            return;
        for (uint32_t k = e; k <= last[e]; k++)
            c->pre[k] = prog->insns[to].cost;
        c->less[f] = prog->insns[to].cost;
    }
}

/* Precharged fallthroughs (session 12). A block D that ends in
 * `fallthrough` into E, where E is entered otherwise only by conditional
 * branches precharged for it (which land past its prologue) and is no
 * jump-table entry, pays for E too: D's prologue charges cost(D) +
 * cost(E) and E has no prologue at all (less[E] = cost(E): the driver,
 * jit.c, emits none for a block whose charge is 0 — nothing that enters E
 * can arrive with negative gas, every entrant having paid). For the
 * runtime D is a precharged block as above (pre = cost(E)). `c_fib`'s
 * frame-pop block falls into its return, which its leaf test's branch
 * already enters precharged: one `sub`/`jl` less a non-leaf call. E must
 * not be precharged itself (its terminator is no static jump, call or
 * conditional branch), nor a static jump's or call's target: this pass
 * runs before the one for jumps, which then counts pre(D) when a jump
 * lands on D. `hard` marks, per block start, an entrant that lands on
 * its prologue. D in turn must not be a precharged branch's target: that
 * branch (planned above, before D's precharge existed) paid cost(D) alone
 * and lands past D's prologue, so nothing would pay cost(E) — fib12's
 * fuzz finding (tests/fuzz/corpus/jit/fib12-pc-gas-disagreement; `skip`
 * marks such a D). Every other way into D goes through its prologue or
 * pays pre(D) (static jumps, the runtime's start), and every way into E
 * is D's fallthrough or a branch that paid cost(E). */
static void jk_fall_plan(jk_cc *c, const uint32_t *last, const uint8_t *host)
{
    const jk_pvm_program *prog = c->prog;
    uint32_t n = prog->insn_count;
    uint8_t *hard = calloc(n ? n : 1, 1), *skip = calloc(n ? n : 1, 1);
    if (!hard || !skip) {
        free(hard);
        free(skip);
        return; /* nothing precharged: correct, only slower */
    }
    for (uint32_t j = 0; j < n; j++) {
        uint32_t t = prog->insns[j].target;
        if (t >= n)
            continue;
        if (jk_is_cond_branch(&prog->insns[j]) && c->pre && c->pre[j])
            skip[t] = 1;
        else
            hard[t] = 1;
    }
    for (uint32_t k = 0; k < prog->blob.jump_count; k++)
        if (prog->jump_targets[k] < n)
            hard[prog->jump_targets[k]] = 1;
    for (uint32_t d = 0; d < n; d++) {
        if (!prog->block_start[d] || host[d] || prog->insns[last[d]].opcode != OP_fallthrough)
            continue;
        uint32_t e = last[d] + 1;
        if (e >= n || !prog->block_start[e] || hard[e] || skip[d] || (c->less && c->less[e]) || (c->pre && c->pre[d]))
            continue;
        const jk_pvm_insn *eend = &prog->insns[last[e]];
        if (jk_is_cond_branch(eend) || eend->opcode == OP_jump || eend->opcode == OP_load_imm_jump)
            continue;
        uint64_t both = (uint64_t)prog->insns[d].cost + prog->insns[e].cost;
        if (both > INT32_MAX / 2)
            continue;
        if ((!c->pre && !(c->pre = calloc(n, sizeof *c->pre))) ||
            (!c->less && !(c->less = calloc(n, sizeof *c->less))))
            break;
        for (uint32_t k = d; k <= last[d]; k++)
            c->pre[k] = prog->insns[e].cost;
        c->less[e] = prog->insns[e].cost;
    }
    free(hard);
    free(skip);
}


/* Paid calls (session 14). A call via a pointer (`load_imm_jump_ind`
 * that jk_pvm_jit_is_call accepts) cannot know its callee, so its block
 * could not pay for the callee's entry the way a static call does: each
 * `c_fib` call paid the callee's `sub`/`jl` (two of a pair's 66 host
 * instructions, twice). Here every such block X pays one program-wide P
 * instead, the most common charge C(t) = cost(t) + pre(t) among the jump
 * table's block starts that are not a call's landing (the functions a
 * pointer names), and the calls' table leads to entry[t] past the
 * prologue where C(t) = P, else to a stub that charges C(t) − P and
 * enters past it (jit_ctl.c, jk_paid_stubs). For the runtime X is a
 * precharged block (pre = P: a fault or panic in X gives P back, a start
 * in X pays it or runs the interpreter); the call's slow path gives P back
 * where it halts. Only with direct returns (the call is a jump through
 * the table: a predicted call's too-deep path is a plain jump whose bad
 * entries could not tell the call), and for all such calls or none (one
 * table): none when a call's block holds an `ecalli` or is precharged
 * already. A precharged branch into X (planned before, having paid
 * cost(X) alone, and landing past X's prologue: fib12's shape) pays P as
 * well, and its fallthrough's prologue charges that much less. Runs after
 * the branches' and fallthroughs' plans, before the jumps' one, which
 * then counts pre(X) when a jump lands on X. */
static int jk_cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static void jk_paid_plan(jk_cc *c, const uint32_t *last, const uint8_t *host)
{
    const jk_pvm_program *prog = c->prog;
    uint32_t n = prog->insn_count, count = prog->blob.jump_count;
    if (!c->call_code || !count || !jk_pvm_jit_direct_sites(c))
        return;
    uint32_t *charge = malloc(count * sizeof *charge);
    uint8_t *paid_x = calloc(n, 1), *landing = calloc(n + 1, 1);
    if (!charge || !paid_x || !landing)
        goto done; /* no call paid: correct, only slower */
    for (uint32_t j = 0; j < n; j++) {
        const jk_pvm_insn *in = &prog->insns[j];
        if ((in->opcode == OP_load_imm_jump || in->opcode == OP_load_imm_jump_ind) &&
            jk_pvm_jit_is_call(c, j, in->imm_x))
            landing[j + 1] = 1;
    }
    uint32_t m = 0;
    for (uint32_t k = 0; k < count; k++) {
        uint32_t t = prog->jump_targets[k];
        if (t < n && prog->block_start[t] && !landing[t])
            charge[m++] = prog->insns[t].cost + (c->pre ? c->pre[t] : 0);
    }
    uint32_t paid = 0, best = 0;
    qsort(charge, m, sizeof *charge, jk_cmp_u32);
    for (uint32_t a = 0, z; a < m; a = z) { /* the most common, the smallest of ties */
        for (z = a; z < m && charge[z] == charge[a]; z++)
            ;
        if (z - a > best && charge[a] <= INT32_MAX / 4) {
            best = z - a;
            paid = charge[a];
        }
    }
    for (uint32_t x = 0; paid && x < n; x++) {
        const jk_pvm_insn *t = &prog->insns[last[x]];
        if (!prog->block_start[x] || t->opcode != OP_load_imm_jump_ind || !jk_pvm_jit_is_call(c, last[x], t->imm_x))
            continue;
        if (host[x] || (c->pre && c->pre[x]) || (uint64_t)prog->insns[x].cost + paid > INT32_MAX / 4)
            paid = 0;
        paid_x[x] = 1;
    }
    if (!paid || (!c->pre && !(c->pre = calloc(n, sizeof *c->pre))) ||
        (!c->less && !(c->less = calloc(n, sizeof *c->less))))
        goto done;
    for (uint32_t x = 0; x < n; x++)
        for (uint32_t k = x; paid_x[x] && k <= last[x]; k++)
            c->pre[k] = paid;
    for (uint32_t e = 0; e < n; e++) { /* precharged branches into a paid X */
        const jk_pvm_insn *t = &prog->insns[last[e]];
        if (!prog->block_start[e] || !jk_is_cond_branch(t) || !c->pre[e] || t->target >= n || !paid_x[t->target])
            continue;
        for (uint32_t k = e; k <= last[e]; k++)
            c->pre[k] += paid;
        c->less[last[e] + 1] += paid;
    }
    c->call_paid = paid;
done:
    free(charge);
    free(paid_x);
    free(landing);
}

/* The plans' one rule, checked mechanically once they are made (session
 * 14; fib12's fuzz finding was a plan that broke it). Per edge into a
 * block B, p is what the edge's source has paid towards B beyond the
 * interpreter's gas: the source block's pre (what its prologue charged
 * beyond its own cost, none of it spent yet). An edge that lands past B's
 * prologue must have paid exactly cost(B) + pre(B), what that prologue
 * charges in full; one that lands on the prologue exactly less(B), which
 * the prologue charges less. Either way r11 after B's prologue is the
 * interpreter's gas less cost(B) + pre(B), whatever the way in. The edges
 * are the emitter's (jit_ctl.c, jit.c): a static jump, a call or a
 * conditional branch lands past the prologue exactly when its block has a
 * pre; a branch's fallthrough, a `fallthrough` and every other way in
 * (djumps and calls through the tables, returns of either kind, the
 * strided loops' exits) land on the prologue, and the dynamic ones come
 * from blocks that must have no pre (each such entrant has p = 0, so
 * every jump-table entry needs less = 0) — but for paid calls: a call via
 * a pointer's block has paid exactly call_paid, which the calls' table
 * completes to each block start's C (its entry or a stub, jit_ctl.c). Two more rules for the runtime
 * (jit_run.c): pre is the same on every instruction of a block (a fault
 * gives back the pre of its instruction) and a block with an `ecalli`
 * has none (a host call resumes mid-block with the block paid). Linear.
 * Returns false with *bad = the block entered wrongly. */
static uint32_t jk_at(const uint32_t *a, uint32_t i)
{
    return a ? a[i] : 0;
}

static bool jk_edge_ok(const jk_pvm_program *prog, const uint32_t *pre, const uint32_t *less, uint32_t p,
                       uint32_t to, bool past)
{
    if (to >= prog->insn_count || !prog->block_start[to])
        return !past && p == 0; /* a panic: nothing may have been paid for it */
    uint64_t need = past ? (uint64_t)prog->insns[to].cost + jk_at(pre, to) : jk_at(less, to);
    return p == need;
}

static bool jk_plan_ok(const jk_cc *c, const uint32_t *pre, const uint32_t *less, const uint32_t *last,
                       const uint8_t *host, uint32_t *bad)
{
    const jk_pvm_program *prog = c->prog;
    uint32_t n = prog->insn_count;
    for (uint32_t k = 0; k < prog->blob.jump_count; k++) {
        uint32_t t = prog->jump_targets[k];
        if (t < n && prog->block_start[t] && jk_at(less, t)) {
            *bad = t;
            return false;
        }
    }
    for (uint32_t b = 0; b < n; b++) {
        *bad = b;
        if (!prog->block_start[b]) {
            if (jk_at(less, b))
                return false;
            continue;
        }
        uint32_t e = last[b], p = jk_at(pre, b);
        for (uint32_t k = b; k <= e; k++)
            if (jk_at(pre, k) != p)
                return false;
        if (host[b] && p)
            return false;
        const jk_pvm_insn *t = &prog->insns[e];
        bool ok = true;
        switch (t->opcode) {
        case OP_trap:
            break;
        case OP_jump:
        case OP_load_imm_jump:
            *bad = t->target;
            ok = jk_edge_ok(prog, pre, less, p, t->target, p != 0);
            break;
        case OP_load_imm_jump_ind:
            if (c->call_code && jk_pvm_jit_is_call(c, e, t->imm_x)) {
                ok = p == c->call_paid; /* through the calls' table */
                break;
            }
            /* fall through */
        case OP_jump_ind:
            ok = p == 0;
            break;
        default:
            if (jk_is_cond_branch(t)) {
                *bad = t->target;
                if (!jk_edge_ok(prog, pre, less, p, t->target, p != 0))
                    return false;
            }
            /* the fallthrough (past the last instruction: a panic) */
            *bad = e + 1;
            ok = e + 1 >= n ? p == 0 : jk_edge_ok(prog, pre, less, p, e + 1, false);
            break;
        }
        if (!ok)
            return false;
    }
    return true;
}

bool jk_pvm_jit_precharge_plan(jk_cc *c)
{
    const jk_pvm_program *prog = c->prog;
    uint32_t n = prog->insn_count;
    c->pre = NULL;
    c->less = NULL;
    c->call_paid = 0;
    uint32_t *last = malloc((n ? n : 1) * sizeof *last); /* per block start: its terminator */
    uint8_t *host = calloc(n ? n : 1, 1);                /* per block start: it holds an ecalli */
    uint8_t *named = calloc(n ? n : 1, 1);               /* a static target or a jump-table entry */
    uint8_t *branched = calloc(n ? n : 1, 1);            /* a conditional branch's target */
    if (!last || !host || !named || !branched) {
        free(last);
        free(host);
        free(named);
        free(branched);
        return false;
    }
    uint32_t block = 0;
    for (uint32_t i = 0; i < n; i++) {
        const jk_pvm_insn *in = &prog->insns[i];
        if (prog->block_start[i])
            block = i;
        if (in->opcode == OP_ecalli)
            host[block] = 1;
        if (i + 1 == n || prog->block_start[i + 1])
            last[block] = i;
        if (in->target < n) {
            named[in->target] = 1;
            if (jk_is_cond_branch(in))
                branched[in->target] = 1;
        }
    }
    for (uint32_t k = 0; k < prog->blob.jump_count; k++)
        if (prog->jump_targets[k] < n)
            named[prog->jump_targets[k]] = 1;
    jk_branch_plan(c, last, host, named, branched);
    jk_fall_plan(c, last, host);
    jk_paid_plan(c, last, host);
    for (uint32_t b = 0; b < n; b++) {
        if (!prog->block_start[b] || host[b])
            continue;
        const jk_pvm_insn *t = &prog->insns[last[b]];
        if ((t->opcode != OP_jump && t->opcode != OP_load_imm_jump) || t->target == JK_PVM_NO_TARGET)
            continue;
        uint32_t to = t->target;
        if (to >= n || !prog->block_start[to] || to == b)
            continue;
        uint8_t top = prog->insns[last[to]].opcode;
        if (top == OP_jump || top == OP_load_imm_jump)
            continue;
        /* T's own precharge, if it is a precharged branch (above) */
        uint32_t tpre = c->pre ? c->pre[to] : 0;
        uint64_t both = (uint64_t)prog->insns[b].cost + prog->insns[to].cost + tpre;
        if (both > INT32_MAX / 2)
            continue;
        if (!c->pre && !(c->pre = calloc(n, sizeof *c->pre)))
            break; /* no block precharged: correct, only slower */
        for (uint32_t k = b; k <= last[b]; k++)
            c->pre[k] = prog->insns[to].cost + tpre;
    }
    if (jk_pvm_jit_plan_hook)
        jk_pvm_jit_plan_hook(prog, c->pre, c->less);
    uint32_t bad;
    if (jk_pvm_jit_plan_checked && !jk_plan_ok(c, c->pre, c->less, last, host, &bad)) {
        /* a plan that breaks the rule: the plain plan instead, which
         * charges every block at its own prologue (always right) */
        __atomic_add_fetch(&jk_pvm_jit_plan_refused, 1, __ATOMIC_RELAXED);
        free(c->pre);
        free(c->less);
        c->pre = NULL;
        c->less = NULL;
        c->call_paid = 0;
    }
    jk_pvm_jit_align_plan(c);
    free(last);
    free(host);
    free(named);
    free(branched);
    return true;
}

#endif /* JK_PVM_HAVE_JIT */
