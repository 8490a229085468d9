/*
 * test_jit_paid.c — paid calls (session 14, docs/pvm.md "Calls in compiled
 * code, session 14"): with direct returns, every call via a pointer's
 * block pays one program-wide P for its callee's entry, and the calls'
 * table leads past the prologue of each block start that charges exactly
 * P, or to a stub charging the difference. Each case runs on both engines
 * from small gas budgets, stopped and resumed, and from every pc, and
 * compares status, pc, gas, registers, fault address and memory.
 */
#include "jit_test_util.h"
#include "../../src/pvm/jit.h"
#include "../../src/pvm/jit_plan.h"

#include <stdint.h>

/* Three call sites through r2 (r10 picks one): site_a, the fallthrough of
 * b1, a branch that its block pays for site_b (a paid call block: b1 pays
 * P more and site_a's prologue charges that much less); site_b; and
 * site_c (A = B), reached by a jump that pays for it. site_a stores
 * through r1 first (a fault there gives P back). The callees: f and f2
 * charge 2 (P, the most common), g 4 (with a host call), h 1, k 2 (its
 * branch pays for nothing: its fallthrough mid is a jump-table entry,
 * though no block start); the returns' landings are jump-table entries
 * too. */
static const char jk_paid_src[] = ".jump_table ret_a, ret_b, ret_c, f, f2, g, h, mid, k\n"
                                  "    branch_eq_imm r10, 1, jumper\n"
                                  "    branch_eq_imm r10, 2, site_b\n"
                                  "site_a:\n"
                                  "    store_ind_u64 r8, r1, 0\n"
                                  "    load_imm_jump_ind r0, r2, jt(ret_a), 0\n"
                                  "ret_a:\n"
                                  "    add_imm_64 r8, r8, 16\n"
                                  "    load_imm r0, 0xFFFF0000\n"
                                  "    jump_ind r0, 0\n"
                                  "site_b:\n"
                                  "    add_imm_64 r8, r8, 32\n"
                                  "    load_imm_jump_ind r0, r2, jt(ret_b), 0\n"
                                  "ret_b:\n"
                                  "    load_imm r0, 0xFFFF0000\n"
                                  "    jump_ind r0, 0\n"
                                  "jumper:\n"
                                  "    add_imm_64 r8, r8, 64\n"
                                  "    jump site_c\n"
                                  "site_c:\n"
                                  "    move_reg r0, r2\n"
                                  "    load_imm_jump_ind r0, r0, jt(ret_c), 0\n"
                                  "ret_c:\n"
                                  "    load_imm r0, 0xFFFF0000\n"
                                  "    jump_ind r0, 0\n"
                                  "f:\n"
                                  "    add_imm_64 r9, r9, 1\n"
                                  "    jump_ind r0, 0\n"
                                  "f2:\n"
                                  "    add_imm_64 r9, r9, 2\n"
                                  "    jump_ind r0, 0\n"
                                  "g:\n"
                                  "    add_imm_64 r9, r9, 3\n"
                                  "    ecalli 1\n"
                                  "    add_imm_64 r9, r9, 4\n"
                                  "    jump_ind r0, 0\n"
                                  "h:\n"
                                  "    jump_ind r0, 0\n"
                                  "k:\n"
                                  "    add_imm_64 r9, r9, 5\n"
                                  "    branch_eq_imm r9, 5, kleaf\n"
                                  "mid:\n"
                                  "    add_imm_64 r9, r9, 6\n"
                                  "    jump_ind r0, 0\n"
                                  "kleaf:\n"
                                  "    jump_ind r0, 0\n";

/* Addresses: ret_a 2, ret_b 4, ret_c 6, f 8, f2 10, g 12, h 14, mid 16
 * (no block start), k 18; the table has 2|j| + 2 = 20 entries. With upper
 * bits set a call takes the slow path, which goes by the low 32 bits:
 * the table again, the halt address (P given back) or a panic. */
static const uint64_t jk_paid_targets[] = {8,
                                           10,
                                           12,
                                           14,
                                           16,
                                           18,
                                           2,
                                           4,
                                           6,
                                           0,
                                           1,
                                           19,
                                           20,
                                           21,
                                           0xFFFF0000u,
                                           0xFFFFFFFFu,
                                           (UINT64_C(1) << 32) + 8,
                                           (UINT64_C(1) << 32) + 14,
                                           (UINT64_C(1) << 32) + 16,
                                           (UINT64_C(1) << 32) + 0xFFFF0000u,
                                           (UINT64_C(1) << 63) + 12,
                                           (UINT64_C(7) << 32) + 21};

static void jk_paid_runs(const jk_pvm_program *prog)
{
    /* site_a's store: writable, read-only, unmapped */
    static const uint64_t stores[] = {0x20800, 0x30800, 0x40800};
    uint64_t regs[JK_PVM_REGS];
    for (size_t t = 0; t < sizeof jk_paid_targets / sizeof jk_paid_targets[0]; t++)
        for (uint64_t r10 = 0; r10 < 3; r10++)
            for (size_t s = 0; s < sizeof stores / sizeof stores[0]; s++) {
                memset(regs, 0, sizeof regs);
                regs[1] = stores[s];
                regs[2] = jk_paid_targets[t];
                regs[10] = r10;
                jk_test_both_pages(prog, 0, regs, 1000, 0, 0x1000, 10);
                for (int64_t gas = -1; gas < 14; gas++) {
                    jk_test_both_pages(prog, 0, regs, gas, 0, 0x1000, 10);
                    jk_test_both_pages(prog, 0, regs, gas, 1, 0x1000, 40);
                    jk_test_both_pages(prog, 0, regs, gas, 2, 0x1000, 40);
                }
                for (uint32_t pc = 0; pc < 90; pc++)
                    for (int64_t gas = 0; gas < 8; gas++)
                        jk_test_both_pages(prog, pc, regs, gas, 3, 0x1000, 40);
            }
}

/* The plan as designed (P = 2), and the interpreter's results. Fails
 * without the stubs (a call to g or h runs it for P's charge: gas
 * differs), without the slow path's giving P back on a halt (gas), and
 * without b1 paying P for site_b (the check refuses the plan: pre[1]). */
JK_TEST(test_jit_paid_calls_are_the_interpreters)
{
    unsigned long refused = jk_pvm_jit_plan_refused;
    jk_pvm_program *prog = jk_test_asm_program(jk_paid_src, true);
    JK_REQUIRE(prog != NULL);
#if JK_PVM_HAVE_JIT
    JK_CHECK_EQ(jk_pvm_jit_plan_refused, refused);
    const uint32_t *pre = prog->jit->pre;
    JK_REQUIRE(pre != NULL);
    JK_CHECK_EQ(pre[1], 4);  /* b1: site_b's cost and P */
    JK_CHECK_EQ(pre[2], 2);  /* site_a */
    JK_CHECK_EQ(pre[3], 2);
    JK_CHECK_EQ(pre[7], 2);  /* site_b */
    JK_CHECK_EQ(pre[11], 4); /* jumper: site_c's cost and P */
    JK_CHECK_EQ(pre[13], 2); /* site_c */
    JK_CHECK_EQ(pre[26], 0); /* k */
#if defined(__linux__)
    JK_CHECK((uintptr_t)prog->jit->call_code < (UINT64_C(1) << 31)); /* MAP_32BIT: absolute addresses */
#endif
#endif
    jk_paid_runs(prog);
    jk_pvm_program_free(prog);
}

/* The same with the calls' tables mapped anywhere (where MAP_32BIT is
 * missing, or the low 2 GiB are full): the calls load the table's address
 * into rdx first. */
JK_TEST(test_jit_paid_calls_with_tables_anywhere)
{
#if JK_PVM_HAVE_JIT
    jk_pvm_jit_low_tables = false;
#endif
    jk_pvm_program *prog = jk_test_asm_program(jk_paid_src, true);
#if JK_PVM_HAVE_JIT
    jk_pvm_jit_low_tables = true;
#endif
    JK_REQUIRE(prog != NULL);
#if JK_PVM_HAVE_JIT
    JK_CHECK((uintptr_t)prog->jit->call_code >= (UINT64_C(1) << 31)); /* the rdx path */
#endif
    jk_paid_runs(prog);
    jk_pvm_program_free(prog);
}

/* With predicted returns (more call sites than direct returns take) no
 * call is paid; the same runs. */
JK_TEST(test_jit_paid_calls_only_with_direct_returns)
{
    unsigned keep = jk_pvm_jit_direct_max;
    jk_pvm_jit_direct_max = 0;
    jk_pvm_program *prog = jk_test_asm_program(jk_paid_src, true);
    jk_pvm_jit_direct_max = keep;
    JK_REQUIRE(prog != NULL);
#if JK_PVM_HAVE_JIT
    JK_REQUIRE(prog->jit->pre != NULL);
    JK_CHECK_EQ(prog->jit->pre[2], 0);
    JK_CHECK_EQ(prog->jit->pre[1], 2);
#endif
    jk_paid_runs(prog);
    jk_pvm_program_free(prog);
}

/* A call block with a host call: no call is paid (one table for all). */
JK_TEST(test_jit_paid_calls_not_with_a_host_call_in_a_call_block)
{
    jk_pvm_program *prog = jk_test_asm_program(".jump_table ret, f\n"
                                               "    ecalli 2\n"
                                               "    load_imm_jump_ind r0, r2, jt(ret), 0\n"
                                               "ret:\n"
                                               "    load_imm r0, 0xFFFF0000\n"
                                               "    jump_ind r0, 0\n"
                                               "f:\n"
                                               "    add_imm_64 r9, r9, 1\n"
                                               "    jump_ind r0, 0\n",
                                               true);
    JK_REQUIRE(prog != NULL);
#if JK_PVM_HAVE_JIT
    JK_CHECK(prog->jit->pre == NULL || prog->jit->pre[0] == 0);
#endif
    uint64_t regs[JK_PVM_REGS] = {0};
    for (uint64_t target = 0; target < 8; target++) {
        regs[2] = target;
        for (int64_t gas = 0; gas < 10; gas++)
            jk_test_both_pages(prog, 0, regs, gas, 1, 0x1000, 20);
    }
    jk_pvm_program_free(prog);
}

/* A call via a pointer into an entry that is no block start panics at the
 * call: with direct returns and one A at every such call (the SDK's r0)
 * the panic finds the call from the v in ω_A, else from the index the call
 * put in eax. Both programs: two sites (r10 picks one), mid no block
 * start, every target and small budget. */
JK_TEST(test_jit_calls_via_a_pointer_into_no_block_start_panic_at_the_call)
{
    /* site_b's A (and mid's return register): r0 as site_a's, or r3 */
    static const char *const second[] = {"r0", "r3"};
    for (size_t p = 0; p < sizeof second / sizeof second[0]; p++) {
        char src[512];
        snprintf(src, sizeof src,
                 ".jump_table ret_a, ret_b, f, mid\n"
                 "    branch_eq_imm r10, 1, site_b\n"
                 "    load_imm_jump_ind r0, r2, jt(ret_a), 0\n"
                 "ret_a:\n"
                 "    load_imm r0, 0xFFFF0000\n"
                 "    jump_ind r0, 0\n"
                 "site_b:\n"
                 "    load_imm_jump_ind %s, r2, jt(ret_b), 0\n"
                 "ret_b:\n"
                 "    load_imm r0, 0xFFFF0000\n"
                 "    jump_ind r0, 0\n"
                 "f:\n"
                 "    add_imm_64 r9, r9, 1\n"
                 "mid:\n"
                 "    add_imm_64 r9, r9, 2\n"
                 "    jump_ind %s, 0\n",
                 second[p], second[p]);
        jk_pvm_program *prog = jk_test_asm_program(src, true);
        JK_REQUIRE(prog != NULL);
        uint64_t regs[JK_PVM_REGS] = {0};
        for (uint64_t target = 0; target < 14; target++)
            for (uint64_t r10 = 0; r10 < 2; r10++) {
                regs[2] = target == 13 ? (UINT64_C(1) << 32) + 8 : target;
                regs[10] = r10;
                for (int64_t gas = 0; gas < 8; gas++)
                    jk_test_both_pages(prog, 0, regs, gas, 1, 0x1000, 20);
            }
        jk_pvm_program_free(prog);
    }
}
