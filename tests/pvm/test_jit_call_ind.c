/*
 * test_jit_call_ind.c — session 12 (docs/pvm.md, "Calls in compiled code,
 * session 12"): calls via a pointer through a table indexed by the address
 * itself (one 64-bit bound check, the plain djump for everything else),
 * and blocks that fall through into a block they pay for, which then has
 * no prologue. Each case runs on both engines from every small gas budget,
 * stopped and resumed, and compares status, pc, gas, registers, fault
 * address and memory.
 */
#include "jit_test_util.h"
#include "../../src/pvm/jit.h"

#include <stdint.h>

/* A stack of 16 KiB at 0x20000 (writable), a read-only page at 0x30000,
 * the rest unmapped; a host call adds 100 to r8; at most 3,000 out-of-gas
 * stops (a run that loops ends out of gas). */
#define JK_CI_STACK_HI 0x24000u

static void jk_ci_both(const jk_pvm_program *prog, uint32_t pc, const uint64_t *regs, int64_t gas, int64_t step)
{
    jk_test_both_pages(prog, pc, regs, gas, step, JK_CI_STACK_HI - 0x20000u, 3000);
}

/* ---- calls via a pointer, indexed by the address ---- */

/* f (entered with r0 = the halt address) recurses r7 levels, each saving
 * r0 on the stack at r1 and calling
 * itself via a pointer from one of four sites, picked by r7 mod 4: site a
 * through r2 (a host register, imm 0: the hot path), site b through r12
 * (named once, so it lives in the context), site c through r4 + 16 (an
 * immediate), site d through r0 itself (A = B: the address is read before
 * r0 is written): four call sites, so the calls are plain jumps and the
 * returns compare with each site (direct returns) unless the test asks
 * for predicted ones. Each return loads r0 back and adds r9 to it (a nonzero
 * r9 returns somewhere else than the caller's site). At the bottom, the
 * first time (r6 = 0), every pointer is set from r5 (r4 to r5 − 16) and f
 * recurses r10 levels more from there: the host stack is then r7 levels
 * deep when the first call to r5 is made. */
static const char jk_ci_src[] =
    ".jump_table ret_main, ret_a, ret_b, ret_c, ret_d, f, mid\n"
    "    load_imm r0, 0xFFFF0000\n"
    "    jump f\n"
    "ret_main:\n"
    "    load_imm r0, 0xFFFF0000\n"
    "    jump_ind r0, 0\n"
    "f:\n"
    "    branch_eq_imm r7, 0, last\n"
    "    add_imm_64 r1, r1, -8\n"
    "mid:\n"
    "    store_ind_u64 r0, r1, 0\n"
    "    add_imm_64 r7, r7, -1\n"
    "    and_imm r3, r7, 3\n"
    "    branch_eq_imm r3, 1, site_b\n"
    "    branch_eq_imm r3, 2, site_c\n"
    "    branch_eq_imm r3, 3, site_d\n"
    "    load_imm_jump_ind r0, r2, jt(ret_a), 0\n"
    "ret_a:\n"
    "    jump pop\n"
    "site_b:\n"
    "    load_imm_jump_ind r0, r12, jt(ret_b), 0\n"
    "ret_b:\n"
    "    jump pop\n"
    "site_c:\n"
    "    load_imm_jump_ind r0, r4, jt(ret_c), 16\n"
    "ret_c:\n"
    "    jump pop\n"
    "site_d:\n"
    "    move_reg r0, r2\n"
    "    load_imm_jump_ind r0, r0, jt(ret_d), 0\n"
    "ret_d:\n"
    "    fallthrough\n"
    "pop:\n"
    "    load_ind_u64 r0, r1, 0\n"
    "    add_imm_64 r1, r1, 8\n"
    "    add_imm_64 r8, r8, 1\n"
    "    add_64 r0, r0, r9\n"
    "    jump_ind r0, 0\n"
    "last:\n"
    "    branch_ne_imm r6, 0, leaf\n"
    "    load_imm r6, 1\n"
    "    move_reg r2, r5\n"
    "    add_imm_64 r4, r5, -16\n"
    "    move_reg r12, r5\n"
    "    move_reg r7, r10\n"
    /* names that keep r12 among the three least used registers */
    "    add_imm_64 r4, r4, 0\n"
    "    add_imm_64 r6, r6, 0\n"
    "    add_imm_64 r8, r8, 0\n"
    "    add_imm_64 r10, r10, 0\n"
    "    add_imm_64 r11, r11, 0\n"
    "    jump f\n"
    "leaf:\n"
    "    add_imm_64 r8, r8, 1000\n"
    "    jump_ind r0, 0\n";

/* The registers of a run of jk_ci_src: `depth` levels to f, then `more`
 * levels whose first call goes to `target`; returns add `forge`. */
static void jk_ci_regs(uint64_t *regs, uint64_t depth, uint64_t target, uint64_t more, uint64_t forge)
{
    memset(regs, 0, JK_PVM_REGS * sizeof *regs);
    regs[1] = JK_CI_STACK_HI;
    regs[2] = 12; /* jt(f) */
    regs[4] = 12 - 16;
    regs[12] = 12;
    regs[5] = target;
    regs[7] = depth;
    regs[9] = forge;
    regs[10] = more;
}

static void jk_calls_via_a_pointer_by_the_address_cases(void)
{
    jk_pvm_program *prog = jk_test_asm_program(jk_ci_src, true);
    JK_REQUIRE(prog != NULL);
#if JK_PVM_HAVE_JIT
    JK_CHECK(prog->jit->call_code != NULL); /* the calls take the table */
#endif
    /* The first call to r5: f (a = 12, a block start), ret_a (a block
     * start that is no function), mid (an entry that is not a block
     * start), ret_main, 0, odd, the table's last entry and the first past
     * it (2|j| + 2 = 16), the halt address, and f, 0, mid and an odd one
     * with upper bits set (the 64-bit bound sends them to the djump, which
     * takes the address mod 2^32). */
    static const uint64_t targets[] = {12,
                                       4,
                                       14,
                                       2,
                                       0,
                                       1,
                                       13,
                                       15,
                                       16,
                                       17,
                                       0xFFFF0000u,
                                       0xFFFFFFFFu,
                                       (UINT64_C(1) << 32) + 12,
                                       (UINT64_C(1) << 63) + 12,
                                       UINT64_C(1) << 32,
                                       0xFFFFFFFF00000000u + 14,
                                       (UINT64_C(5) << 32) + 3};
    /* within the predicted levels and past them (1,024: the too-deep call
     * is the plain djump) */
    static const uint64_t depths[] = {0, 1, 2, 3, 4, 5, 1021, 1022, 1023, 1024, 1025, 1026, 1100};
    uint64_t regs[JK_PVM_REGS];
    for (size_t t = 0; t < sizeof targets / sizeof targets[0]; t++)
        for (size_t d = 0; d < sizeof depths / sizeof depths[0]; d++)
            for (uint64_t more = 1; more <= 4; more++) { /* which site calls r5 first */
                jk_ci_regs(regs, depths[d], targets[t], more, 0);
                jk_ci_both(prog, 0, regs, INT64_C(1) << 30, 0);
                if (depths[d] < 6)
                    for (int64_t gas = 0; gas < 90; gas++) {
                        jk_ci_both(prog, 0, regs, gas, 0);
                        jk_ci_both(prog, 0, regs, gas, 1);
                    }
                else
                    jk_ci_both(prog, 0, regs, 1000, 997);
            }
    jk_pvm_program_free(prog);
}

static void jk_calls_via_a_pointer_return_elsewhere_cases(void)
{
    /* every return adds r9 to the address it loads: the neighbouring
     * site's landing (predicted for another call), two sites on, an odd
     * address, out of the table, and the caller's own site with upper
     * bits set (still predicted: the same 32-bit target) */
    jk_pvm_program *prog = jk_test_asm_program(jk_ci_src, true);
    JK_REQUIRE(prog != NULL);
    static const uint64_t forged[] = {2, (uint64_t)-2, 4, 6, 1, 100, UINT64_C(1) << 32};
    uint64_t regs[JK_PVM_REGS];
    for (size_t k = 0; k < sizeof forged / sizeof forged[0]; k++)
        for (uint64_t depth = 0; depth < 9; depth++) {
            jk_ci_regs(regs, depth, 12, 2, forged[k]);
            for (int64_t gas = 0; gas < 70; gas++)
                jk_ci_both(prog, 0, regs, gas, 3);
            jk_ci_both(prog, 0, regs, INT64_C(1) << 20, 0);
        }
    /* a run may start at any instruction */
    for (uint32_t pc = 0; pc < 140; pc++) {
        jk_ci_regs(regs, 5, 12, 3, 0);
        jk_ci_both(prog, pc, regs, 200, 0);
        jk_ci_both(prog, pc, regs, 7, 5);
    }
    jk_pvm_program_free(prog);
}

static void jk_calls_via_a_pointer_to_the_stack_end_cases(void)
{
    /* recursion until the 16 KiB stack runs out (2,048 levels of 8 bytes,
     * then a fault below it) and to exactly its end, with the calls made
     * from all four sites */
    jk_pvm_program *prog = jk_test_asm_program(jk_ci_src, true);
    JK_REQUIRE(prog != NULL);
    uint64_t regs[JK_PVM_REGS];
    static const uint64_t depths[] = {2047, 2048, 2049, 3000};
    for (size_t d = 0; d < sizeof depths / sizeof depths[0]; d++) {
        jk_ci_regs(regs, depths[d], 12, 1, 0);
        jk_ci_both(prog, 0, regs, INT64_C(1) << 30, 0);
        jk_ci_both(prog, 0, regs, 5000, 4999);
    }
    jk_pvm_program_free(prog);
}

/* Each of the above with direct returns (the calls are jumps through the
 * table, the default for four call sites) and with predicted ones (the
 * calls push the return and call through it, with the depth check). */
static void jk_ci_both_ways(void (*cases)(void))
{
    unsigned keep = jk_pvm_jit_direct_max;
    for (int pass = 0; pass < 2; pass++) {
        jk_pvm_jit_direct_max = pass ? 0 : keep;
        cases();
    }
    jk_pvm_jit_direct_max = keep;
}

JK_TEST(test_jit_calls_via_a_pointer_by_the_address)
{
    jk_ci_both_ways(jk_calls_via_a_pointer_by_the_address_cases);
}

JK_TEST(test_jit_calls_via_a_pointer_return_elsewhere)
{
    jk_ci_both_ways(jk_calls_via_a_pointer_return_elsewhere_cases);
}

JK_TEST(test_jit_calls_via_a_pointer_to_the_stack_end)
{
    jk_ci_both_ways(jk_calls_via_a_pointer_to_the_stack_end_cases);
}

/* ---- precharged fallthroughs ---- */

/* a (jump-table entry 0) counts r7 down and branches to e when it
 * reaches 0, with r2 = the halt address; otherwise d stores r7 through r1
 * (a fault there gives e's cost back), sets r2 = jt(a) and falls through
 * into e, which it pays for (e has no prologue); e makes a host call and
 * jumps to r2. With r10 ≠ 0 the run goes to j, whose jump to dj pays
 * for dj and for ej, which dj pays for. d2 falls into e2, a jump-table
 * entry, and d3 into e3, which a block with a host call jumps to (not
 * precharged): neither pays for its successor; they run from a start at
 * their pc, or (e2) from a `jump_ind r2` with r2 = jt(e2). */
static const char jk_fall_src[] =
    ".jump_table a, e2\n"
    "    branch_ne_imm r10, 0, j\n"
    "a:\n"
    "    load_imm r2, 0xFFFF0000\n"
    "    add_imm_64 r7, r7, -1\n"
    "    branch_eq_imm r7, 0, e\n"
    "d:\n"
    "    store_ind_u64 r7, r1, 0\n"
    "    load_imm r2, 2\n"
    "    add_imm_64 r8, r8, 3\n"
    "    fallthrough\n"
    "e:\n"
    "    add_imm_64 r9, r9, 1\n"
    "    ecalli 5\n"
    "    add_imm_64 r9, r9, 1\n"
    "    jump_ind r2, 0\n"
    "j:\n"
    "    load_imm r2, 0xFFFF0000\n"
    "    jump dj\n"
    "dj:\n"
    "    add_imm_64 r8, r8, 13\n"
    "    fallthrough\n"
    "ej:\n"
    "    add_imm_64 r9, r9, 17\n"
    "    jump_ind r2, 0\n"
    "d2:\n"
    "    add_imm_64 r8, r8, 5\n"
    "    fallthrough\n"
    "e2:\n"
    "    add_imm_64 r9, r9, 7\n"
    "    load_imm r2, 0xFFFF0000\n"
    "    jump_ind r2, 0\n"
    "d3:\n"
    "    add_imm_64 r8, r8, 9\n"
    "    fallthrough\n"
    "e3:\n"
    "    add_imm_64 r9, r9, 11\n"
    "    jump_ind r2, 0\n"
    "    ecalli 6\n"
    "    jump e3\n";

static void jk_fall_cases(void)
{
    jk_pvm_program *prog = jk_test_asm_program(jk_fall_src, true);
    JK_REQUIRE(prog != NULL);
#if JK_PVM_HAVE_JIT
    /* d (instructions 4–7) and dj (14–15) pay for e and ej, the jump to
     * dj (12–13) for dj and ej; d2 (18) and d3 (23) pay for nothing */
    const uint32_t *pre = prog->jit->pre;
    JK_REQUIRE(pre != NULL);
    JK_CHECK_EQ(pre[4], 4);
    JK_CHECK_EQ(pre[7], 4);
    JK_CHECK_EQ(pre[14], 2);
    JK_CHECK_EQ(pre[12], 4);
    JK_CHECK_EQ(pre[18], 0);
    JK_CHECK_EQ(pre[23], 0);
#endif
    static const uint64_t sps[] = {0x20800, 0x23ffc, 0x30800, 0x40800, 0x800};
    uint64_t regs[JK_PVM_REGS];
    for (size_t s = 0; s < sizeof sps / sizeof sps[0]; s++)
        for (uint64_t r10 = 0; r10 < 2; r10++) {
            memset(regs, 0, sizeof regs);
            regs[1] = sps[s];
            regs[7] = 4;
            regs[10] = r10;
            for (int64_t gas = -1; gas < 70; gas++) {
                jk_ci_both(prog, 0, regs, gas, 0);
                jk_ci_both(prog, 0, regs, gas, 1);
                jk_ci_both(prog, 0, regs, gas, 4);
            }
            /* any instruction, any gas: d2 and d3 only run from here */
            regs[2] = 4; /* jt(e2) */
            for (uint32_t pc = 0; pc < 100; pc++)
                for (int64_t gas = 0; gas < 14; gas++) {
                    jk_ci_both(prog, pc, regs, gas, 0);
                    jk_ci_both(prog, pc, regs, gas, 2);
                }
        }
    jk_pvm_program_free(prog);
}

JK_TEST(test_jit_precharged_fallthroughs_are_the_interpreters)
{
    jk_ci_both_ways(jk_fall_cases);
}

/* ---- guarded known bases after a call (jit_group.c) ---- */

/* r7 rounds of: r5 = K, a store through r12 (which puts r12's page in
 * the TLB for writing), a call of g (which reads through r5, moves it by
 * r6 and makes a host call), then at the landing a group through r5 — a
 * load, a store 8 bytes on, a 4-byte load at 12 — whose check is r5 = K
 * and K's page in the TLB for writing. */
static void jk_guard_run(uint32_t k, uint64_t r6, uint64_t r12)
{
    char src[1024];
    snprintf(src, sizeof src,
             ".jump_table ret1, g\n"
             "    load_imm r7, 3\n"
             "    jump top\n"
             "top:\n"
             "    load_imm r5, %u\n"
             "    store_ind_u64 r7, r12, 0\n"
             "    load_imm_jump r0, jt(ret1), g\n"
             "ret1:\n"
             "    load_ind_u64 r8, r5, 0\n"
             "    add_imm_64 r8, r8, 1\n"
             "    store_ind_u64 r8, r5, 8\n"
             "    load_ind_u32 r9, r5, 12\n"
             "    add_imm_64 r7, r7, -1\n"
             "    branch_ne_imm r7, 0, top\n"
             "    load_imm r0, 0xFFFF0000\n"
             "    jump_ind r0, 0\n"
             "g:\n"
             "    load_ind_u64 r10, r5, 0\n"
             "    add_64 r5, r5, r6\n"
             "    ecalli 1\n"
             "    jump_ind r0, 0\n",
             k);
    jk_pvm_program *prog = jk_test_asm_program(src, true);
    JK_REQUIRE(prog != NULL);
    uint64_t regs[JK_PVM_REGS] = {0};
    regs[6] = r6;
    regs[12] = r12;
    jk_test_both_pages(prog, 0, regs, INT64_C(1) << 20, 0, 0x2000, 10);
    for (int64_t gas = 0; gas < 45; gas++) {
        jk_test_both_pages(prog, 0, regs, gas, 0, 0x2000, 10);
        jk_test_both_pages(prog, 0, regs, gas, 2, 0x2000, 100);
    }
    for (uint32_t pc = 0; pc < 48; pc++)
        jk_test_both_pages(prog, pc, regs, 60, 0, 0x2000, 10);
    jk_pvm_program_free(prog);
}

JK_TEST(test_jit_guarded_bases_after_a_call_are_the_interpreters)
{
    /* writable pages (at a page's start, ending exactly at its end, and
     * crossing into the next: not guarded), the read-only page (the store
     * faults: the TLB for writing never holds it, though g's load put it
     * in the one for reading), unmapped pages, and K above 2^31 − 256 (not
     * guarded); g keeping r5, or moving it within the page, to the next,
     * to the read-only page and far away */
    static const uint32_t ks[] = {0x20000, 0x20ff0, 0x20ff8, 0x21000, 0x30000, 0x30ff0, 0x40000, 0x800,
                                  0x7FFFFF00u, 0xFFFFF000u};
    static const uint64_t moves[] = {0, 8, 0x1000, 0x10000, (uint64_t)-0x10000, UINT64_C(1) << 32};
    for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++)
        for (size_t m = 0; m < sizeof moves / sizeof moves[0]; m++) {
            jk_guard_run(ks[i], moves[m], 0x20000);
            jk_guard_run(ks[i], moves[m], 0x21000);
        }
}
