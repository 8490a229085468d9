/*
 * jit_loop_check.c — a strided loop's check (jit_loop.c has the scan and
 * the copies; docs/pvm.md "Strided loops", "Memory (session 9)"): per
 * cursor, the TLB probe of one iteration's span, the walk when it misses,
 * the run of host-contiguous pages that follows (session 9), and K, the
 * iterations every cursor stays inside its run, with the gas held back so
 * that the copy stops after K.
 */
#include "jit_cc.h"

#if JK_PVM_HAVE_JIT

#include "jit_loop.h"

/* eax = floor(eax / d) + 1 for eax < 2^21, 1 <= d <= 2048: a shift, or a
 * multiply by m = ceil(2^32 / d) and a shift. Exact for these ranges: with
 * e = m·d − 2^32 < d, eax·m / 2^32 = eax/d + eax·e / (d·2^32), and eax·e <
 * 2^21 · 2^11 = 2^32 keeps the error below 1/d, which the fraction of eax/d
 * (at most (d − 1)/d) cannot carry past the next integer. (Session 8's
 * 2^24 covered one page's room; a run of pages needs the wider one.) */
static void jk_loop_div1(jk_x64_buf *b, uint64_t d)
{
    if ((d & (d - 1)) == 0) {
        uint8_t sh = 0;
        while ((UINT64_C(1) << sh) < d)
            sh++;
        if (sh)
            x_shift_imm(b, SH_SHR, false, X_RAX, sh);
    } else {
        uint32_t m = (uint32_t)(((UINT64_C(1) << 32) + d - 1) / d); /* d >= 3: below 2^31 */
        x_op(b, 0, true, 0x69, 1, X_RAX, X_REG(X_RAX), false); /* imul rax, rax, m */
        x_d(b, m);
        x_shift_imm(b, SH_SHR, true, X_RAX, 32);
    }
    x_alu_rm_imm(b, ALU_ADD, false, X_REG(X_RAX), 1);
}

/* rcx = cursor + lo, in 64 bits (a value past 2^32 or below 0 goes to the
 * ordinary code: jk_pvm_jit_loop_check tests it). A derived base's is the
 * next iteration's, x + p. */
static void jk_loop_span_at(jk_cc *c, const jk_cursor *cu)
{
    jk_x64_buf *b = &c->b;
    if (cu->preg >= 0) {
        ld(c, X_RCX, (unsigned)cu->xreg);
        x_alu_r_rm(b, ALU_ADD, true, X_RCX, G((unsigned)cu->preg));
        x_op(b, 0, true, 0x8D, 1, X_RCX, X_MEM(X_RCX, (int32_t)cu->lo), false);
    } else {
        x_op(b, 0, true, 0x8D, 1, X_RCX, X_MEM(cu->host, (int32_t)cu->lo), false);
    }
}

/* The run (session 9): eax += 4096 for each page after the cursor's (before
 * it when !forward), up to JK_LOOP_RUN_PAGES and its leaf's end, whose
 * page-table entry is the previous one's plus 4096 — the next host page,
 * with the same flags, so the same access is allowed there and one delta
 * reaches it. Pages from one arena are (memory_arena.c); two page buffers
 * that merely happen to be adjacent are too, and are as good. Called after
 * the cursor's probe hit, so its span's page is mapped, allowed, and
 * < 2^32 (its leaf exists); the entries are what the TLB was filled from,
 * and nothing changes them while compiled code runs. The limit lives in
 * loop_bias, and the room in scratch, until they are used: the check
 * writes the bias only at its end, and calls no C in between. */
static void jk_loop_run(jk_cc *c, const jk_cursor *cu, bool forward)
{
    jk_x64_buf *b = &c->b;
    x_mov_rm_r(b, true, X_MEM(X_RBX, CTX_SCRATCH), X_RAX);
    jk_loop_span_at(c, cu);
    /* rcx = &leaf[page mod 1024], rax = the leaf */
    x_mov_r_rm(b, false, X_RDX, X_REG(X_RCX));
    x_shift_imm(b, SH_SHR, false, X_RDX, JK_PVM_PAGE_SHIFT + JK_LEAF_BITS);
    x_mov_r_rm(b, true, X_RAX, X_MEM(X_RBX, CTX_TOP));
    x_mov_r_rm(b, true, X_RAX, X_MEMI(X_RAX, X_RDX, 3, 0));
    x_alu_r_rm(b, ALU_ADD, true, X_RAX, X_MEM(X_RBX, CTX_EMPTY_LEAF));
    x_shift_imm(b, SH_SHR, false, X_RCX, JK_PVM_PAGE_SHIFT);
    x_alu_rm_imm(b, ALU_AND, false, X_REG(X_RCX), JK_LEAF_SIZE - 1);
    x_op(b, 0, true, 0x8D, 1, X_RCX, X_MEMI(X_RAX, X_RCX, 3, 0), false);
    /* the limit: the leaf's last (first) entry, or JK_LOOP_RUN_PAGES away */
    int32_t reach = 8 * JK_LOOP_RUN_PAGES;
    if (forward)
        x_alu_rm_imm(b, ALU_ADD, true, X_REG(X_RAX), 8 * (JK_LEAF_SIZE - 1));
    x_op(b, 0, true, 0x8D, 1, X_RDX, X_MEM(X_RCX, forward ? reach : -reach), false);
    x_alu_r_rm(b, ALU_CMP, true, X_RDX, X_REG(X_RAX));
    x_cmov(b, forward ? CC_B : CC_A, true, X_RAX, X_REG(X_RDX));
    x_mov_rm_r(b, true, X_MEM(X_RBX, CTX_LOOP_BIAS), X_RAX);
    x_alu_r_rm(b, ALU_XOR, false, X_RAX, X_REG(X_RAX));
    /* while not at the limit and entry ± 1 == entry ± 4096: eax += 4096 */
    size_t top = b->len;
    x_alu_r_rm(b, ALU_CMP, true, X_RCX, X_MEM(X_RBX, CTX_LOOP_BIAS));
    size_t end1 = x_jcc8(b, forward ? CC_AE : CC_BE);
    x_mov_r_rm(b, true, X_RDX, X_MEM(X_RCX, 0));
    x_alu_rm_imm(b, ALU_ADD, true, X_REG(X_RDX), forward ? JK_PVM_PAGE_SIZE : -JK_PVM_PAGE_SIZE);
    x_alu_rm_imm(b, forward ? ALU_ADD : ALU_SUB, true, X_REG(X_RCX), 8);
    x_alu_rm_r(b, ALU_CMP, true, X_MEM(X_RCX, 0), X_RDX);
    size_t end2 = x_jcc8(b, CC_NE);
    x_alu_rm_imm(b, ALU_ADD, false, X_REG(X_RAX), JK_PVM_PAGE_SIZE);
    x_patch32(b, x_jmp32(b), top);
    x_here8(b, end1);
    x_here8(b, end2);
    x_alu_r_rm(b, ALU_ADD, false, X_RAX, X_MEM(X_RBX, CTX_SCRATCH));
}

/* Does the copy's trip go back to the check (session 8), not to the
 * ordinary code? For every one-block loop since session 9: the check a
 * trip goes back to adds the run of pages past the cursors'
 * (jk_pvm_jit_loop_check with runs), so a step in a register, whose K is
 * about half the room, gets half of a run at each trip instead of half a
 * page (session 8 sent those trips to the ordinary code: with one page's
 * room, the asm sieve measured 302.4 -> 306.9 M host instructions the
 * other way; with runs, 301.6 -> 274.6 M). A trip means a page or run end
 * or gas short; the check starts with the gas test, so a trip for want of
 * gas goes on to the ordinary code's out-of-gas exit. */
bool jk_pvm_jit_loop_retries(const jk_kernel_loop *l)
{
    return l->mid == UINT32_MAX;
}

/* The check's misses (session 8): the page an iteration's span falls in is
 * usually just not in the TLB yet (a cursor that crossed into the next
 * page), so the check walks the page table itself and, when the page allows
 * the access (jk_pvm_jit_tlb_walk: R, or R|W for a storing cursor), refills
 * the entry and probes again, instead of running an iteration in the
 * ordinary code (which would take the same walk, through each access's
 * miss path) and coming back. A span past 2^32 or below 0, one that
 * straddles a page end, and a page that does not allow the access go to
 * the ordinary code as before: it faults, copies on write or asks the
 * resolver. The refill is what an access's miss path would have written,
 * so the TLBs hold nothing they could not hold otherwise; and the probe
 * that follows it hits (its span was checked to lie in the page), so each
 * cursor walks at most once per check. */
void jk_pvm_jit_loop_walks(jk_cc *c, const jk_kernel_loop *l, const jk_loop_miss *miss)
{
    jk_x64_buf *b = &c->b;
    for (unsigned j = 0; j < l->ncur; j++) {
        const jk_cursor *cu = &l->cur[j];
        unsigned span = (unsigned)(cu->hi - cu->lo);
        if (!x_reserve(b, JK_JIT_INSN_BOUND))
            return;
        x_patch32(b, miss[j].at, b->len);
        /* the address, from the probe's xor; 32 bits and inside one page */
        x_alu_r_rm(b, ALU_XOR, true, X_RCX, X_MEMI(X_RBX, X_RDX, 0, cu->write ? CTX_TLB_W_ADDR : CTX_TLB_R_ADDR));
        x_mov_r_rm(b, true, X_RAX, X_REG(X_RCX));
        x_shift_imm(b, SH_SHR, true, X_RAX, 32);
        x_patch32(b, x_jcc32(b, CC_NE), c->label[l->first]);
        x_mov_r_rm(b, false, X_RAX, X_REG(X_RCX));
        x_alu_rm_imm(b, ALU_AND, false, X_REG(X_RAX), JK_PVM_PAGE_SIZE - 1);
        x_alu_rm_imm(b, ALU_CMP, false, X_REG(X_RAX), (int32_t)(JK_PVM_PAGE_SIZE - span));
        x_patch32(b, x_jcc32(b, CC_A), c->label[l->first]);
        size_t slow = jk_pvm_jit_tlb_walk(c, cu->write, false);
        jk_jmp_to_off(c, miss[j].again);
        x_here8(b, slow);
        jk_jmp_to_off(c, c->label[l->first]);
    }
}

/* The check (see the top of the file); misses jump to the ordinary code.
 * A step in a register outside 1..JK_LOOP_MAX_REG_STEP jumps through
 * wide[0..*nwide) instead, for the caller to patch. */
void jk_pvm_jit_loop_check(jk_cc *c, const jk_kernel_loop *l, bool runs, size_t wide[2 * JK_LOOP_CURSORS], unsigned *nwide,
                          jk_loop_miss miss[JK_LOOP_CURSORS])
{
    jk_x64_buf *b = &c->b;
    uint32_t s = l->first, cost = l->cost;
    *nwide = 0;
    /* not one iteration's gas left: the ordinary code exits out of gas (a
     * copy's trip that comes back here would otherwise come back forever) */
    if (jk_pvm_jit_loop_retries(l)) {
        x_alu_rm_imm(b, ALU_CMP, true, X_REG(X_GAS), (int32_t)cost);
        x_patch32(b, x_jcc32(b, CC_L), c->label[s]);
    }
    for (unsigned j = 0; j < l->ncur; j++) {
        /* a step in a register: only 1..JK_LOOP_MAX_REG_STEP, forwards (up
         * to JK_LOOP_MAX_RUN_STEP with runs) */
        if (l->cur[j].sreg < 0)
            continue;
        ld(c, X_RCX, (unsigned)l->cur[j].sreg);
        x_op(b, 0, true, 0x8D, 1, X_RDX, X_MEM(X_RCX, -1), false); /* lea rdx, [rcx - 1] */
        x_alu_rm_imm(b, ALU_CMP, true, X_REG(X_RDX), (runs ? JK_LOOP_MAX_RUN_STEP : JK_LOOP_MAX_REG_STEP) - 1);
        wide[(*nwide)++] = x_jcc32(b, CC_A);
    }
    /* after the step test, which steps above the bound fail on every
     * ordinary iteration (the asm sieve: 3.5 M times) */
    for (unsigned j = 0; j < l->ncur; j++) {
        if (!l->cur[j].fold || l->cur[j].dead)
            continue; /* the copy's exits would write x + p − step: it must hold now */
        jk_pvm_jit_loop_fold_value(c, &l->cur[j], UINT32_MAX);
        x_alu_r_rm(b, ALU_CMP, true, X_RAX, G(l->cur[j].reg));
        x_patch32(b, x_jcc32(b, CC_NE), c->label[s]);
    }
    for (unsigned j = 0; j < l->ncur; j++) {
        const jk_cursor *cu = &l->cur[j];
        unsigned span = (unsigned)(cu->hi - cu->lo);
        miss[j].again = b->len;
        jk_loop_span_at(c, cu);
        /* a 64-bit address must be below 2^32 before the probe: the empty
         * TLB entry's tag is 2^32 (jit.h), so 2^32 + x XORed with it is x,
         * a hit on a stale host page (session 9: a copy whose destination
         * reached 2^32 wrote through whatever the entry last held, on main
         * too; tests/fuzz/corpus/jit/mem9-copy-*) */
        x_mov_r_rm(b, true, X_RAX, X_REG(X_RCX));
        x_shift_imm(b, SH_SHR, true, X_RAX, 32);
        x_patch32(b, x_jcc32(b, CC_NE), c->label[s]);
        miss[j].at = jk_pvm_jit_tlb_probe(c, span, cu->write); /* to jk_loop_walks */
        /* hit: rdx = host page, rcx = (cursor + lo) − guest page */
        x_op(b, 0, true, 0x8D, 1, X_RAX, X_MEMI(X_RDX, X_RCX, 0, (int32_t)-cu->lo), false);
        if (cu->preg >= 0) {
            if (!cu->fold) /* folded: delta' = host − guest + x */
                x_alu_r_rm(b, ALU_SUB, true, X_RAX, G((unsigned)cu->xreg));
            x_alu_r_rm(b, ALU_SUB, true, X_RAX, G((unsigned)cu->preg));
        } else {
            x_alu_r_rm(b, ALU_SUB, true, X_RAX, X_REG(cu->host));
        }
        x_mov_rm_r(b, true, X_MEM(X_RBX, CTX_LOOP_DELTA + 8 * (int32_t)j), X_RAX);
        /* eax = iterations inside the run: room / |stride| + 1, where
         * room is what is left of the page past the span (before it, for
         * a negative stride), and the pages of the run (jk_loop_run) */
        if (cu->sreg >= 0 || cu->stride > 0) {
            x_mov_r_imm(b, X_RAX, JK_PVM_PAGE_SIZE - span);
            x_alu_r_rm(b, ALU_SUB, false, X_RAX, X_REG(X_RCX));
        } else if (cu->stride < 0) {
            x_mov_r_rm(b, false, X_RAX, X_REG(X_RCX));
        }
        if (runs && (cu->sreg >= 0 || cu->stride != 0))
            jk_loop_run(c, cu, cu->sreg >= 0 || cu->stride > 0);
        if (cu->sreg >= 0) {
            /* a step in a register (1..JK_LOOP_MAX_REG_STEP, tested above):
             * K = room >> (floor(log2 step) + 1), + 1: at most the exact
             * room / step + 1 (2^(floor(log2 step) + 1) > step), at least
             * about half of it, and a few cycles instead of a `div` */
            ld(c, X_RCX, (unsigned)cu->sreg);
            x_op(b, 0, false, 0x0FBD, 2, X_RCX, X_REG(X_RCX), false); /* bsr ecx, ecx (step >= 1) */
            x_alu_rm_imm(b, ALU_ADD, false, X_REG(X_RCX), 1);
            x_shift_cl(b, SH_SHR, false, X_RAX);
            x_alu_rm_imm(b, ALU_ADD, false, X_REG(X_RAX), 1);
            if (runs) {
                /* a step of 256 or more (ecx = floor(log2 step) + 1 >= 9)
                 * with few iterations in its run (single page buffers, or
                 * a leaf's end): the wide copy, which comes back here after
                 * JK_LOOP_WIDE_RUN iterations. Nothing the check wrote so
                 * far is observable, and the gas is not touched yet. */
                x_alu_rm_imm(b, ALU_CMP, false, X_REG(X_RAX), JK_LOOP_WIDE_K);
                size_t many = x_jcc8(b, CC_AE);
                x_alu_rm_imm(b, ALU_CMP, false, X_REG(X_RCX), 9);
                wide[(*nwide)++] = x_jcc32(b, CC_AE);
                x_here8(b, many);
            }
        } else if (cu->stride == 0) {
            x_mov_r_imm(b, X_RAX, JK_LOOP_STILL);
        } else {
            jk_loop_div1(b, (uint64_t)(cu->stride > 0 ? cu->stride : -cu->stride));
        }
        if (j > 0) { /* eax = min(eax, the other cursors' K) */
            x_alu_r_rm(b, ALU_CMP, false, X_RAX, X_MEM(X_RBX, CTX_LOOP_K));
            x_cmov(b, CC_A, false, X_RAX, X_MEM(X_RBX, CTX_LOOP_K));
        }
        x_mov_rm_r(b, false, X_MEM(X_RBX, CTX_LOOP_K), X_RAX);
    }
    /* bias = max(0, gas − K·cost): the copy's gas check fails after K */
    x_op(b, 0, true, 0x69, 1, X_RAX, X_REG(X_RAX), false); /* imul rax, rax, cost */
    x_d(b, cost);
    x_mov_r_rm(b, true, X_RCX, X_REG(X_GAS));
    x_alu_r_rm(b, ALU_SUB, true, X_RCX, X_REG(X_RAX));
    x_alu_r_rm(b, ALU_XOR, false, X_RAX, X_REG(X_RAX));
    x_alu_r_rm(b, ALU_CMP, true, X_RCX, X_REG(X_RAX));
    x_cmov(b, CC_L, true, X_RCX, X_REG(X_RAX));
    x_mov_rm_r(b, true, X_MEM(X_RBX, CTX_LOOP_BIAS), X_RCX);
    x_alu_r_rm(b, ALU_SUB, true, X_GAS, X_REG(X_RCX));
}

#endif
