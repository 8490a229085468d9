/*
 * test_jit_call.c — the recompiler's returns, session 7 (docs/pvm.md,
 * "Calls and the stack (session 7)"): `jump_ind rA, 0` compares ω_A's low
 * 32 bits with the predicted v directly, and the trampoline's bottom entry
 * is a real prediction (the first jump-table entry that is a block start)
 * whose return address is a routine entering that entry. Each case runs on
 * both engines, with every gas budget (stopped, and resumed a little at a
 * time), and compares status, pc, gas, registers and fault address.
 */
#include "jit_test_util.h"
#include "../../src/pvm/jit.h"

#include <stdint.h>

/* Run src with r7 = arg on both engines from every gas budget up to
 * `max_gas`, each stop resumed with `step` more gas (0: not resumed). */
static void jk_call_both(const char *src, uint64_t r0, uint64_t arg, int64_t max_gas, int64_t step)
{
    jk_pvm_program *prog = jk_test_asm_program(src, true);
    JK_REQUIRE(prog != NULL);
    for (int64_t gas = 0; gas <= max_gas; gas++) {
        jk_pvm_state st[2];
        jk_pvm_exit ex[2];
        for (int e = 0; e < 2; e++) {
            memset(&st[e], 0, sizeof st[e]);
            for (int r = 0; r < JK_PVM_REGS; r++)
                st[e].regs[r] = (uint64_t)r * 0x0101010101010101u;
            st[e].regs[0] = r0;
            st[e].regs[7] = arg;
            st[e].gas = gas;
            jk_pvm_memory *mem = NULL;
            JK_REQUIRE(jk_pvm_memory_new(&mem) == JK_OK);
            for (int hop = 0; hop < 1000; hop++) {
                JK_REQUIRE(jk_pvm_run_engine(prog, mem, &st[e], &ex[e],
                                             e ? JK_PVM_ENGINE_JIT : JK_PVM_ENGINE_INTERP) == JK_OK);
                if (ex[e].status == JK_PVM_HOST_CALL)
                    st[e].regs[8] += 1;
                else if (ex[e].status == JK_PVM_OUT_OF_GAS && step > 0)
                    st[e].gas += step;
                else
                    break;
            }
            jk_pvm_memory_free(mem);
        }
        JK_CHECK_SAME_STATE(st, ex);
    }
    jk_pvm_program_free(prog);
}

/* The jump table's first entry is not a block start (bad: the middle of a
 * block), so the bottom v is jt(one), the second. The program returns
 * "from nothing" (no call stacked) to r0, then loops: r7 counts down, r9
 * records where each jump landed. A call in between (f) and returns with
 * an immediate that is not 0 (to jt(two) − 2 + 2). */
static const char jk_bottom_src[] =
    ".jump_table bad, one, two, ret_f\n"
    "    jump_ind r0, 0\n"               /* r0 from the case: bottom v or not */
    "one:\n"
    "    add_imm_64 r9, r9, 1\n"
    "bad:\n"
    "    add_imm_64 r7, r7, -1\n"
    "    branch_eq_imm r7, 0, done\n"
    "    load_imm_jump r0, jt(ret_f), f\n" /* a real call in the middle */
    "ret_f:\n"
    "    load_imm r0, jt(one)\n"
    "    and_imm r10, r7, 1\n"
    "    branch_eq_imm r10, 0, again\n"
    "    load_imm r0, jt(two)\n"
    "    add_imm_64 r0, r0, -2\n"
    "    jump_ind r0, 2\n"               /* to two, not predicted: imm 2 */
    "again:\n"
    "    jump_ind r0, 0\n"               /* to one: the bottom entry */
    "two:\n"
    "    add_imm_64 r9, r9, 256\n"
    "    jump one\n"
    "f:\n"
    "    ecalli 3\n"
    "    add_imm_64 r11, r11, 7\n"
    "    jump_ind r0, 0\n"
    "done:\n"
    "    load_imm r0, 0xFFFF0000\n"
    "    jump_ind r0, 0\n";

JK_TEST(test_jit_call_return_to_the_bottom_entry)
{
    /* r0 = jt(one) = 4, the bottom v: the first `jump_ind` returns through
     * the bottom routine into `one`, and later ones again (it pushed the
     * entry back); jt(one) + 2^32 (the low 32 bits match); jt(two) (the
     * ordinary djump); jt(bad) = 2 (an entry that is not a block start:
     * panic, never the bottom); 0xFFFFFFFF and 0 (panic). */
    static const uint64_t r0s[] = {4, (UINT64_C(1) << 32) | 4, 6, 2, 0xFFFFFFFFu, 0, UINT64_MAX};
    for (size_t k = 0; k < sizeof r0s / sizeof r0s[0]; k++) {
        jk_call_both(jk_bottom_src, r0s[k], 9, 120, 0);
        jk_call_both(jk_bottom_src, r0s[k], 9, 40, 3);
    }
}

JK_TEST(test_jit_call_return_with_an_immediate_is_not_predicted_on_the_register)
{
    /* `jump_ind r0, 2` with r0 = v − 2... and with r0 = v of the call on
     * top: the target is v + 2 (entry `other`), which the compare of ω_A
     * itself would wrongly take for the predicted v. */
    static const char src[] =
        ".jump_table ret_f, other\n"
        "    load_imm_jump r0, jt(ret_f), f\n"
        "ret_f:\n"
        "    add_imm_64 r9, r9, 1\n"
        "    load_imm r0, 0xFFFF0000\n"
        "    jump_ind r0, 0\n"
        "other:\n"
        "    add_imm_64 r9, r9, 100\n"
        "    load_imm r0, 0xFFFF0000\n"
        "    jump_ind r0, 0\n"
        "f:\n"
        "    add_imm_64 r0, r0, 0\n"
        "    jump_ind r0, 2\n";
    jk_call_both(src, 0, 0, 12, 0);
}

JK_TEST(test_jit_call_return_without_a_block_start_in_the_jump_table)
{
    /* No jump-table entry is a block start: the bottom stays all ones and
     * returns compare the whole zero-extended target, so ω_A = 0xFFFFFFFF
     * (or −1) with nothing stacked panics instead of returning into the
     * trampoline. */
    static const char src[] =
        ".jump_table mid\n"
        "    add_imm_64 r9, r9, 1\n"
        "mid:\n"
        "    add_imm_64 r9, r9, 1\n"
        "    jump_ind r0, 0\n";
    static const uint64_t r0s[] = {0xFFFFFFFFu, UINT64_MAX, 2, 0xFFFF0000u};
    for (size_t k = 0; k < sizeof r0s / sizeof r0s[0]; k++)
        jk_call_both(src, r0s[k], 0, 6, 0);
}

/* ---- session 8: calls via a pointer through the calls' table ---- */

/* Run prog from regs with `gas` on both engines, each out-of-gas stop
 * resumed with `step` more (0: not resumed), and compare. */
static void jk_call_regs_both(const jk_pvm_program *prog, const uint64_t *regs, int64_t gas, int64_t step,
                              jk_pvm_state st[2], jk_pvm_exit ex[2])
{
    for (int e = 0; e < 2; e++) {
        memset(&st[e], 0, sizeof st[e]);
        memcpy(st[e].regs, regs, sizeof st[e].regs);
        st[e].gas = gas;
        jk_pvm_memory *mem = NULL;
        JK_REQUIRE(jk_pvm_memory_new(&mem) == JK_OK);
        for (int hop = 0; hop < 100000; hop++) {
            JK_REQUIRE(jk_pvm_run_engine(prog, mem, &st[e], &ex[e], e ? JK_PVM_ENGINE_JIT : JK_PVM_ENGINE_INTERP) ==
                       JK_OK);
            if (ex[e].status != JK_PVM_OUT_OF_GAS || step <= 0)
                break;
            st[e].gas += step;
        }
        jk_pvm_memory_free(mem);
    }
    JK_CHECK_SAME_STATE(st, ex);
}

/* r7 levels of calls via a pointer (r2 = jt(down)) from two call sites,
 * alternating, then one more call via r4 from the site r5's parity picks:
 * to `mid` (an entry that is not a block start: a panic at that call),
 * `down` (goes on to halt), `ret_a` (a trap), or outside the table. */
static const char jk_ptr_src[] =
    ".jump_table ret_main, ret_a, ret_b, down, mid\n"
    "    load_imm_jump r0, jt(ret_main), down\n"
    "ret_main:\n"
    "    load_imm r0, 0xFFFF0000\n"
    "    jump_ind r0, 0\n"
    "down:\n"
    "    branch_eq_imm r7, 0, last\n"
    "    add_imm_64 r7, r7, -1\n"
    "mid:\n"
    "    and_imm r3, r7, 1\n"
    "    add_imm_64 r8, r8, 1\n"
    "    branch_eq_imm r3, 0, site_b\n"
    "    load_imm_jump_ind r0, r2, jt(ret_a), 0\n"
    "ret_a:\n"
    "    trap\n"
    "site_b:\n"
    "    load_imm_jump_ind r0, r2, jt(ret_b), 0\n"
    "ret_b:\n"
    "    trap\n"
    "last:\n"
    "    branch_ne_imm r6, 0, done\n"
    "    load_imm r6, 1\n"
    "    move_reg r2, r4\n"
    "    move_reg r7, r5\n"
    "    jump down\n"
    "done:\n"
    "    load_imm r0, 0xFFFF0000\n"
    "    jump_ind r0, 0\n";

JK_TEST(test_jit_call_via_a_pointer_to_an_entry_that_is_not_a_block_start)
{
    /* The calls' table sends `mid` to a routine that finds the call from
     * the v it pushed: the panic must be at the call that made it (site a
     * or b), at every depth — within the predicted levels and past them
     * (1,024: the too-deep call is a plain jump through the jump table
     * with the index in eax) — and at every gas budget. */
    jk_pvm_program *prog = jk_test_asm_program(jk_ptr_src, true);
    JK_REQUIRE(prog != NULL);
    static const uint64_t targets[] = {10, 8, 4, 2, 3, 12, 0, 0xFFFF0000u};
    static const uint64_t depths[] = {0, 1, 2, 3, 1018, 1019, 1020, 1021, 1022, 1023, 1024, 1025, 1100};
    jk_pvm_state st[2];
    jk_pvm_exit ex[2];
    for (size_t t = 0; t < sizeof targets / sizeof targets[0]; t++)
        for (size_t d = 0; d < sizeof depths / sizeof depths[0]; d++)
            for (uint64_t parity = 1; parity <= 2; parity++) {
                uint64_t regs[JK_PVM_REGS] = {0};
                regs[2] = 8; /* jt(down) */
                regs[4] = targets[t];
                regs[5] = parity;
                regs[7] = depths[d];
                jk_call_regs_both(prog, regs, 1 << 30, 0, st, ex);
                if (targets[t] == 10) { /* mid: a panic at the last call */
                    JK_CHECK_EQ(ex[1].status, JK_PVM_PANIC);
                    JK_CHECK_EQ(st[1].regs[8], depths[d] + 1);
                }
                if (depths[d] < 4 || depths[d] == 1100)
                    for (int64_t gas = 0; gas < 40; gas++)
                        jk_call_regs_both(prog, regs, gas, depths[d] < 4 ? 0 : 61, st, ex);
            }
    jk_pvm_program_free(prog);
}

/* ---- session 8: precharged blocks (docs/pvm.md, "Calls and the stack
 * (session 8)") ---- */

/* Run prog from pc `pc` and regs with `gas` on both engines over a memory
 * with a writable page at 0x20000 and a read-only one at 0x30000; a host
 * call adds 100 to r8, an out-of-gas stop gets `step` more (0: ends the
 * run). Compares the state and both pages. */
static void jk_pre_both(const jk_pvm_program *prog, uint32_t pc, const uint64_t *regs, int64_t gas, int64_t step)
{
    jk_test_both_pages(prog, pc, regs, gas, step, 4096, 10000);
}

/* Calls and jumps whose blocks pay for their targets: `jump start`, the
 * call of f (its block stores through r1 first: a fault there when r1 is
 * on the read-only page, unmapped or below 64 KiB), `jump start` back; a
 * chain of jumps (the first is not precharged: its target ends with a
 * jump), a block with an ecalli (not precharged), and a jump to a block
 * whose branch comes back to it. */
static const char jk_pre_src[] =
    ".jump_table ret1\n"
    "    jump start\n"
    "start:\n"
    "    branch_eq_imm r7, 0, chain\n"
    "    add_imm_64 r1, r1, -16\n"
    "    store_ind_u64 r7, r1, 0\n"
    "    add_imm_64 r7, r7, -1\n"
    "    load_imm_jump r0, jt(ret1), f\n"
    "ret1:\n"
    "    load_ind_u64 r9, r1, 0\n"
    "    add_imm_64 r1, r1, 16\n"
    "    add_64 r8, r8, r9\n"
    "    jump start\n"
    "chain:\n"
    "    jump c2\n"
    "c2:\n"
    "    add_imm_64 r8, r8, 5\n"
    "    jump c3\n"
    "c3:\n"
    "    add_imm_64 r8, r8, 7\n"
    "    ecalli 1\n"
    "    add_imm_64 r8, r8, 1\n"
    "    jump again\n"
    "again:\n"
    "    add_imm_64 r10, r10, -1\n"
    "    branch_eq_imm r10, 0, done\n"
    "    jump again\n"
    "done:\n"
    "    load_imm r0, 0xFFFF0000\n"
    "    jump_ind r0, 0\n"
    "f:\n"
    "    add_imm_64 r8, r8, 3\n"
    "    jump_ind r0, 0\n";

JK_TEST(test_jit_precharged_blocks_are_the_interpreters)
{
    jk_pvm_program *prog = jk_test_asm_program(jk_pre_src, true);
    JK_REQUIRE(prog != NULL);
    static const uint64_t sps[] = {0x20800, 0x20008, 0x30800, 0x40800, 0x800};
    for (size_t s = 0; s < sizeof sps / sizeof sps[0]; s++) {
        uint64_t regs[JK_PVM_REGS] = {0};
        regs[1] = sps[s];
        regs[7] = 4;
        regs[10] = 3;
        for (int64_t gas = -1; gas < 90; gas++) {
            jk_pre_both(prog, 0, regs, gas, 0);
            jk_pre_both(prog, 0, regs, gas, 1);
            jk_pre_both(prog, 0, regs, gas, 5);
        }
        /* a run may start at any instruction, with any gas */
        for (uint32_t pc = 0; pc < 80; pc++)
            for (int64_t gas = 0; gas < 12; gas++) {
                jk_pre_both(prog, pc, regs, gas, 0);
                jk_pre_both(prog, pc, regs, gas, 3);
            }
    }
    jk_pvm_program_free(prog);
}

JK_TEST(test_jit_jump_to_its_own_block_is_not_precharged)
{
    /* `x: add; jump x`: a block that jumps to itself pays once a round. */
    jk_pvm_program *prog = jk_test_asm_program(
        "    load_imm r8, 0\n"
        "    jump x\n"
        "x:\n"
        "    add_imm_64 r8, r8, 1\n"
        "    jump x\n", true);
    JK_REQUIRE(prog != NULL);
    uint64_t regs[JK_PVM_REGS] = {0};
    for (int64_t gas = 0; gas < 40; gas++)
        jk_pre_both(prog, 0, regs, gas, 0);
    jk_pvm_program_free(prog);
}

JK_TEST(test_jit_calls_land_on_16_bytes)
{
    /* f is called from a precharged block: the call lands past f's
     * prologue, which must start a 16-byte block (f follows a `jump_ind`,
     * so its padding is never executed); g, entered through the jump table,
     * is not padded. The program runs as on the interpreter. */
    static const char src[] =
        ".jump_table ret_main, ret_p, g\n"
        "    load_imm_jump r0, jt(ret_main), f\n"
        "ret_main:\n"
        "    load_imm r2, jt(g)\n"
        "    load_imm_jump_ind r0, r2, jt(ret_p), 0\n"
        "ret_p:\n"
        "    load_imm r0, 0xFFFF0000\n"
        "    jump_ind r0, 0\n"
        "f:\n"
        "    branch_eq_imm r7, 0, fz\n"
        "    add_imm_64 r7, r7, -1\n"
        "    fallthrough\n"
        "fz:\n"
        "    jump_ind r0, 0\n"
        "g:\n"
        "    add_imm_64 r8, r8, 1\n"
        "    jump_ind r0, 0\n";
    jk_pvm_program *prog = jk_test_asm_program(src, true);
    JK_REQUIRE(prog != NULL);
#if JK_PVM_HAVE_JIT
    const jk_pvm_jit *jit = prog->jit;
    /* the call's block pays f's branch block and, since that block is a
     * precharged branch (session 10), fz too */
    JK_CHECK(jit->pre != NULL && jit->pre[0] == 2);
    JK_CHECK_EQ((uintptr_t)(jit->code + jit->entry[5]) % 16, 0); /* f: instruction 5 */
#endif
    for (uint64_t n = 0; n < 3; n++)
        for (int64_t gas = 0; gas < 16; gas++) {
            uint64_t regs[JK_PVM_REGS] = {0};
            regs[7] = n;
            jk_pre_both(prog, 0, regs, gas, 0);
        }
    jk_pvm_program_free(prog);
}

/* ---- precharged branches (docs/pvm.md, "Session 10") ---- */

/* e ends in a conditional branch to t and falls through to f, which
 * nothing else enters: e pays for t, f charges t's cost less. f stores
 * through r1 (a fault there gives nothing back: e was complete), e stores
 * through r1 + 8 (a fault there gives t's cost back), t holds an ecalli
 * (its resumption is paid), and f jumps back to e, paying e and t too. */
static const char jk_brpre_long_src[] =
    "    jump e\n"
    "e:\n"
    "    store_ind_u64 r7, r1, 8\n"
    "    add_imm_64 r7, r7, -1\n"
    "    branch_lt_u_imm r7, 2, t\n"
    "    add_imm_64 r8, r8, 2\n"
    "    store_ind_u64 r8, r1, 0\n"
    "    add_imm_64 r8, r8, 1\n"
    "    jump e\n"
    "t:\n"
    "    ecalli 3\n"
    "    add_imm_64 r9, r9, 1\n"
    "    load_imm r0, 0xFFFF0000\n"
    "    jump_ind r0, 0\n";

/* t (5) costs more than the fallthrough f (2), so f's prologue gives gas
 * back; f is itself a precharged branch (to done) falling through to
 * g, whose prologue charges done's cost less and whose jump pays e and t;
 * e is also a jump-table entry (t returns there through r2, entering e's
 * prologue, which charges e and t). */
static const char jk_brpre_short_src[] =
    ".jump_table e\n"
    "    load_imm r2, jt(e)\n"
    "    jump e\n"
    "e:\n"
    "    add_imm_64 r7, r7, -1\n"
    "    branch_ge_u_imm r7, 5, t\n"
    "    store_ind_u64 r7, r1, 0\n"
    "    branch_eq_imm r7, 0, done\n"
    "    jump e\n"
    "t:\n"
    "    add_imm_64 r8, r8, 1\n"
    "    add_imm_64 r8, r8, 3\n"
    "    add_imm_64 r8, r8, 5\n"
    "    add_imm_64 r8, r8, 7\n"
    "    jump_ind r2, 0\n"
    "done:\n"
    "    load_imm r0, 0xFFFF0000\n"
    "    jump_ind r0, 0\n";

static void jk_brpre_all(const char *src, uint64_t r7, int64_t max_gas)
{
    jk_pvm_program *prog = jk_test_asm_program(src, true);
    JK_REQUIRE(prog != NULL);
#if JK_PVM_HAVE_JIT
    JK_CHECK(prog->jit->pre != NULL && prog->jit->pre[1] != 0); /* e is precharged */
#endif
    static const uint64_t sps[] = {0x20800, 0x20ff8, 0x30800, 0x40800, 0x800};
    for (size_t s = 0; s < sizeof sps / sizeof sps[0]; s++) {
        uint64_t regs[JK_PVM_REGS] = {0};
        regs[1] = sps[s];
        regs[7] = r7;
        for (int64_t gas = -1; gas < max_gas; gas++) {
            jk_pre_both(prog, 0, regs, gas, 0);
            jk_pre_both(prog, 0, regs, gas, 1);
            jk_pre_both(prog, 0, regs, gas, 4);
        }
        for (uint32_t pc = 0; pc < 48; pc++) /* a run may start anywhere */
            for (int64_t gas = 0; gas < 16; gas++) {
                jk_pre_both(prog, pc, regs, gas, 0);
                jk_pre_both(prog, pc, regs, gas, 2);
            }
    }
    jk_pvm_program_free(prog);
}

JK_TEST(test_jit_precharged_branches_are_the_interpreters)
{
    jk_brpre_all(jk_brpre_long_src, 5, 40);
    jk_brpre_all(jk_brpre_short_src, 8, 90);
}

JK_TEST(test_jit_branch_into_its_fallthrough_target_is_not_precharged)
{
    /* f is e's fallthrough and also g's branch target: its prologue must
     * charge its whole cost, so e is not precharged */
    jk_pvm_program *prog = jk_test_asm_program(
        "    jump e\n"
        "e:\n"
        "    add_imm_64 r7, r7, -1\n"
        "    branch_eq_imm r7, 0, t\n"
        "f:\n"
        "    add_imm_64 r8, r8, 1\n"
        "    jump g\n"
        "g:\n"
        "    branch_lt_u_imm r8, 3, f\n"
        "    jump e\n"
        "t:\n"
        "    load_imm r0, 0xFFFF0000\n"
        "    jump_ind r0, 0\n", true);
    JK_REQUIRE(prog != NULL);
    uint64_t regs[JK_PVM_REGS] = {0};
    regs[7] = 4;
    for (int64_t gas = 0; gas < 40; gas++)
        jk_pre_both(prog, 0, regs, gas, 0);
    jk_pvm_program_free(prog);
}

/* ---- direct returns (docs/pvm.md, "Session 10") ---- */

/* Three call sites, all static calls, so returns are direct: a
 * `jump_ind` compares with each site's v. f and g return to
 * r0 + r9, so a nonzero r9 forges the return: another site (a landing
 * that is not the caller's), a jump-table entry that is a block start but
 * no site (g), one that is not a block start (mid), the halt address, odd
 * and out-of-table addresses, and the caller's own site with the upper 32
 * bits set. f makes a host call before returning. */
static const char jk_direct_src[] =
    ".jump_table r_a, r_b, r_c, mid, g\n"
    "    load_imm_jump r0, jt(r_a), f\n"
    "r_a:\n"
    "    add_imm_64 r8, r8, 1\n"
    "    load_imm_jump r0, jt(r_b), f\n"
    "r_b:\n"
    "    add_imm_64 r8, r8, 10\n"
    "    load_imm_jump r0, jt(r_c), g\n"
    "r_c:\n"
    "    add_imm_64 r8, r8, 100\n"
    "mid:\n"
    "    add_imm_64 r7, r7, 1\n"
    "    load_imm r0, 0xFFFF0000\n"
    "    jump_ind r0, 0\n"
    "f:\n"
    "    add_64 r0, r0, r9\n"
    "    ecalli 0\n"
    "    jump_ind r0, 0\n"
    "g:\n"
    "    add_imm_64 r8, r8, 1000\n"
    "    add_64 r0, r0, r9\n"
    "    jump_ind r0, 0\n";

JK_TEST(test_jit_direct_returns_are_the_interpreters)
{
    jk_pvm_program *prog = jk_test_asm_program(jk_direct_src, true);
    JK_REQUIRE(prog != NULL);
    static const uint64_t forged[] = {0, 2, 4, 6, 8, (uint64_t)-2, (uint64_t)-4, 1, 3, 0x100, UINT64_C(1) << 32,
                                      0xFFFF0000u - 2, 0xFFFF0000u - 4, 0xFFFF0000u - 6, 0xFFFFFFFEu};
    for (size_t k = 0; k < sizeof forged / sizeof forged[0]; k++) {
        uint64_t regs[JK_PVM_REGS] = {0};
        regs[9] = forged[k];
        for (int64_t gas = -1; gas < 40; gas++) {
            jk_pre_both(prog, 0, regs, gas, 0);
            jk_pre_both(prog, 0, regs, gas, 1);
        }
        for (uint32_t pc = 0; pc < 48; pc++)
            jk_pre_both(prog, pc, regs, 30, 0);
    }
    jk_pvm_program_free(prog);
}

JK_TEST(test_jit_direct_return_landings_start_48_bytes_into_a_line)
{
    /* Session 15: a direct return's landing (the block after each call
     * site: r_a, r_b, r_c) starts 48 bytes into a 64-byte line, its
     * prologue (`sub r11, imm8; jl rel32`, 10 bytes) before entry[]. */
    jk_pvm_program *prog = jk_test_asm_program(jk_direct_src, true);
    JK_REQUIRE(prog != NULL);
#if JK_PVM_HAVE_JIT
    const jk_pvm_jit *jit = prog->jit;
    static const uint32_t landing[] = {1, 3, 5};
    for (size_t k = 0; k < 3; k++)
        JK_CHECK_EQ((uintptr_t)(jit->code + jit->entry[landing[k]]) % 64, 48 + 10);
#endif
    uint64_t regs[JK_PVM_REGS] = {0};
    for (int64_t gas = -1; gas < 40; gas++)
        jk_pre_both(prog, 0, regs, gas, 0);
    jk_pvm_program_free(prog);
}

JK_TEST(test_jit_five_call_sites_return_through_the_host_stack)
{
    /* one call site more than direct returns take: the returns are
     * predicted with the host's call/ret, a return to the wrong site
     * included */
    jk_pvm_program *prog = jk_test_asm_program(
        ".jump_table a, b, c, d, e\n"
        "    load_imm_jump r0, jt(a), f\n"
        "a:\n"
        "    load_imm_jump r0, jt(b), f\n"
        "b:\n"
        "    load_imm_jump r0, jt(c), f\n"
        "c:\n"
        "    load_imm_jump r0, jt(d), f\n"
        "d:\n"
        "    load_imm_jump r0, jt(e), f\n"
        "e:\n"
        "    load_imm r0, 0xFFFF0000\n"
        "    jump_ind r0, 0\n"
        "f:\n"
        "    add_imm_64 r8, r8, 1\n"
        "    add_64 r0, r0, r9\n"
        "    jump_ind r0, 0\n", true);
    JK_REQUIRE(prog != NULL);
    for (uint64_t r9 = 0; r9 < 6; r9 += 2) {
        uint64_t regs[JK_PVM_REGS] = {0};
        regs[9] = r9;
        for (int64_t gas = 0; gas < 30; gas++)
            jk_pre_both(prog, 0, regs, gas, 1);
    }
    jk_pvm_program_free(prog);
}

/* The cases above again with the host's call/ret predicting the returns:
 * programs with few call sites return directly by default (session 10,
 * jit_ctl.c), and both ways must give the interpreter's results. */
JK_TEST(test_jit_call_cases_with_predicted_returns)
{
    unsigned keep = jk_pvm_jit_direct_max;
    jk_pvm_jit_direct_max = 0;
    test_jit_call_return_to_the_bottom_entry();
    test_jit_call_return_with_an_immediate_is_not_predicted_on_the_register();
    test_jit_call_return_without_a_block_start_in_the_jump_table();
    test_jit_call_via_a_pointer_to_an_entry_that_is_not_a_block_start();
    test_jit_precharged_blocks_are_the_interpreters();
    test_jit_calls_land_on_16_bytes();
    test_jit_precharged_branches_are_the_interpreters();
    test_jit_direct_returns_are_the_interpreters();
    jk_pvm_jit_direct_max = keep;
}
