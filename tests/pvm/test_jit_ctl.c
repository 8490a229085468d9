/*
 * test_jit_ctl.c — the recompiler's fast paths for control flow and
 * arithmetic (src/pvm/jit_ctl.c, jit_range.c, jit_insn.c) against the
 * interpreter, on their edge cases: divisions whose special cases the block
 * rules out (and runs that start inside such a proof), returns, dynamic jumps
 * to bad, misaligned and out-of-table addresses, recursion deeper than the
 * predicted returns, out of gas at a call or a return, and a page fault on a
 * frame store.
 */
#include "../test.h"
#include "jit_test_util.h"
#include "../../src/pvm/jit.h"

#include <stdlib.h>

/* Run prog from (pc, regs, gas) on the interpreter and on the recompiler,
 * serving host calls (r7 += 1000) and out-of-gas stops (97 more gas), and
 * check that everything observable agrees: status, pc, gas, registers, fault
 * address, the stack pages [0x20000, 0x30000). The recompiler's state out. */
static void jk_ctl_both(const jk_pvm_program *prog, uint32_t pc, const uint64_t regs[JK_PVM_REGS],
                        int64_t gas, jk_pvm_state *out_state, jk_pvm_exit *out_exit)
{
    static uint8_t stack[2][0x10000];
    jk_pvm_state st[2];
    jk_pvm_exit ex[2];
    for (int e = 0; e < 2; e++) {
        jk_pvm_memory *mem;
        JK_REQUIRE(jk_pvm_memory_new(&mem) == JK_OK);
        /* 0x20000 read-only: a frame pushed below 0x21000 faults */
        JK_REQUIRE(jk_pvm_memory_map(mem, 0x20000, 0x1000, JK_PVM_ACCESS_READ) == JK_OK);
        JK_REQUIRE(jk_pvm_memory_map(mem, 0x21000, 0xf000, JK_PVM_ACCESS_WRITE) == JK_OK);
        memset(&st[e], 0, sizeof st[e]);
        memcpy(st[e].regs, regs, sizeof st[e].regs);
        st[e].gas = gas;
        st[e].pc = pc;
        JK_REQUIRE(jk_test_run_served(prog, mem, &st[e], &ex[e],
                                      e ? JK_PVM_ENGINE_JIT : JK_PVM_ENGINE_INTERP, 100000));
        JK_CHECK_EQ(jk_pvm_memory_read(mem, 0x20000, stack[e], sizeof stack[e]), JK_OK);
        jk_pvm_memory_free(mem);
    }
    JK_CHECK_SAME_RUNS(st, ex, stack);
    if (out_state)
        *out_state = st[1];
    if (out_exit)
        *out_exit = ex[1];
}

JK_TEST(test_jit_divisions_with_known_divisors_are_the_interpreters)
{
    /* The first three divisions have divisors the block makes nonzero
     * (`| 1`, `& 0xFFFF` then `+ 3`), and not −1 for the signed ones; the
     * rest must keep their checks: a divisor that may be −1 (signed 64, and
     * signed 32 over a 32-bit range), an add that may wrap to 0, and one a
     * host call changed after the proof (−1000 + 1000 = 0). */
    jk_pvm_program *prog = jk_test_asm_program(
        "  shlo_r_imm_64 r4, r8, 32\n"
        "  or_imm r4, r4, 1\n"
        "  div_u_64 r5, r8, r4\n"
        "  and_imm r6, r8, 0xFFFF\n"
        "  add_imm_64 r6, r6, 3\n"
        "  rem_u_64 r9, r8, r6\n"
        "  div_s_64 r10, r8, r4\n"
        "  div_u_32 r2, r8, r4\n"
        "  rem_s_32 r3, r8, r4\n"
        "  or_imm r11, r8, 1\n"
        "  div_s_64 r12, r8, r11\n"
        "  and_imm r0, r8, 0xFF\n"
        "  add_imm_64 r0, r0, -3\n"
        "  rem_u_64 r0, r8, r0\n"
        "  load_imm r7, -1000\n"
        "  ecalli 0\n"
        "  div_u_64 r1, r8, r7\n"
        "  trap\n", true);
    JK_REQUIRE(prog != NULL);
    static const uint64_t xs[] = {0, 1, 2, 3, 0xFFFF, 0x10000, 0xFFFFFFFF, 0x100000000ull,
                                  0x7FFFFFFFFFFFFFFFull, 0x8000000000000000ull,
                                  0xFFFFFFFFFFFFFFFFull, 0xFFFFFFFF00000003ull,
                                  0x0123456789ABCDEFull};
    uint64_t regs[JK_PVM_REGS];
    for (size_t k = 0; k < sizeof xs / sizeof xs[0]; k++) {
        memset(regs, 0, sizeof regs);
        regs[8] = xs[k];
        for (int64_t gas = 1; gas <= 64; gas *= 4)
            jk_ctl_both(prog, 0, regs, gas, NULL, NULL);
    }
    /* A run that starts inside a proof (at the division itself, or between
     * the instructions it rests on) with the divisors 0 or −1: on the
     * interpreter's terms, never a host trap. */
    for (uint32_t i = 0; i < prog->insn_count; i++)
        for (int v = 0; v < 2; v++) {
            for (int r = 0; r < JK_PVM_REGS; r++)
                regs[r] = v ? UINT64_MAX : 0;
            regs[8] = 0x8000000000000000ull;
            jk_ctl_both(prog, prog->insns[i].pc, regs, 1000, NULL, NULL);
        }
#if JK_PVM_HAVE_JIT
    /* the proofs were used: entering the first division goes to the interpreter */
    JK_CHECK_EQ(prog->jit->entry[2], JK_JIT_NO_ENTRY);
    JK_CHECK(prog->jit->entry[15] != JK_JIT_NO_ENTRY); /* after ecalli: no proof */
    JK_CHECK(prog->jit->entry[16] != JK_JIT_NO_ENTRY);
#endif
    jk_pvm_program_free(prog);
}

/* Recursive Fibonacci with real calls, as bench/pvm/fib.s, but the second
 * call goes through a pointer (load_imm_jump_ind: a predicted call via the
 * table), and the leaf at n == r10 returns to ω_9 instead of ω_0 (r9 = the
 * correct address when unused): a bad, misaligned or out-of-table address,
 * the halt address, another call site's return, one with high bits set. */
static const char jk_ctl_fib_src[] =
    ".jump_table ret_main, ret_1, ret_2, fib, mid\n"
    "  load_imm r2, jt(fib)\n"
    "  load_imm_jump r0, jt(ret_main), fib\n"
    "ret_main:\n"
    "  load_imm r0, 0xFFFF0000\n"
    "  jump_ind r0, 0\n"
    "fib:\n"
    "  branch_lt_u_imm r7, 2, leaf\n"
    "  add_imm_64 r1, r1, -24\n"
    "  store_ind_u64 r0, r1, 0\n"
    "  store_ind_u64 r7, r1, 8\n"
    "  add_imm_64 r7, r7, -1\n"
    "  load_imm_jump r0, jt(ret_1), fib\n"
    "ret_1:\n"
    "  store_ind_u64 r7, r1, 16\n"
    "  load_ind_u64 r7, r1, 8\n"
    "  add_imm_64 r7, r7, -2\n"
    "  load_imm_jump_ind r0, r2, jt(ret_2), 0\n"
    "ret_2:\n"
    "  load_ind_u64 r8, r1, 16\n"
    "  add_64 r7, r7, r8\n"
    "  load_ind_u64 r0, r1, 0\n"
    "mid:\n"
    "  add_imm_64 r1, r1, 24\n"
    "  jump_ind r0, 0\n"
    "leaf:\n"
    "  branch_eq r7, r10, poison\n"
    "  jump_ind r0, 0\n"
    "poison:\n"
    "  add_imm_64 r10, r10, 100\n"
    "  jump_ind r9, 0\n";

JK_TEST(test_jit_calls_returns_and_djumps_edge_cases)
{
    jk_pvm_program *prog = jk_test_asm_program(jk_ctl_fib_src, true);
    JK_REQUIRE(prog != NULL);
    uint64_t regs[JK_PVM_REGS];
    jk_pvm_state st;
    jk_pvm_exit ex;
    /* plain runs, and out of gas at every call and return: small gas,
     * resumed with 97 more each time */
    for (uint64_t n = 0; n < 12; n++)
        for (int64_t gas = 1; gas <= 1 << 20; gas *= 7) {
            memset(regs, 0, sizeof regs);
            regs[1] = 0x30000;
            regs[7] = n;
            regs[10] = UINT64_MAX; /* no poison */
            jk_ctl_both(prog, 0, regs, gas, &st, &ex);
            JK_CHECK_EQ(ex.status, JK_PVM_HALT);
        }
    memset(regs, 0, sizeof regs);
    regs[1] = 0x30000;
    regs[7] = 20;
    regs[10] = UINT64_MAX;
    jk_ctl_both(prog, 0, regs, 1 << 30, &st, &ex);
    JK_CHECK_EQ(ex.status, JK_PVM_HALT);
    JK_CHECK_EQ(st.regs[7], 6765);
    /* poisoned returns with predicted returns stacked */
    static const uint64_t bad[] = {0, 1, 2, 3, 5, 6, 7, 8, 10, 11, 12, 0xFFFF0000, 0xFFFFFFFF,
                                   0xFFFFFFFE, 0x100000004ull, 0xFFFFFFFF00000006ull, UINT64_MAX};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
        for (uint64_t at = 0; at < 2; at++) {
            memset(regs, 0, sizeof regs);
            regs[1] = 0x30000;
            regs[7] = 9;
            regs[9] = bad[k];
            regs[10] = at;
            jk_ctl_both(prog, 0, regs, 1 << 30, &st, &ex);
            jk_ctl_both(prog, 0, regs, 40, &st, &ex);
        }
    /* the same addresses with nothing stacked: a run that starts at the
     * poisoned `jump_ind r9` (the host stack holds only the trampoline's
     * bottom words, which no 32-bit target may match) */
    uint32_t last = prog->insn_count - 2; /* before the implicit trap */
    JK_CHECK_EQ(prog->insns[last].opcode, 50); /* jump_ind */
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        memset(regs, 0, sizeof regs);
        regs[1] = 0x30000;
        regs[9] = bad[k];
        jk_ctl_both(prog, prog->insns[last].pc, regs, 1 << 30, &st, &ex);
    }
    /* a frame store that faults: the stack runs into the read-only page at
     * 0x20000 after (0x21000 + 100 − 0x21000) / 24 levels, or at once */
    static const uint64_t sps[] = {0x21000 + 100, 0x21000 + 8, 0x21000, 0x20ff8, 0x10};
    for (size_t k = 0; k < sizeof sps / sizeof sps[0]; k++) {
        memset(regs, 0, sizeof regs);
        regs[1] = sps[k];
        regs[7] = 15;
        regs[10] = UINT64_MAX;
        jk_ctl_both(prog, 0, regs, 1 << 30, &st, &ex);
        JK_CHECK_EQ(ex.status, JK_PVM_PAGE_FAULT);
    }
    jk_pvm_program_free(prog);
}

JK_TEST(test_jit_deep_recursion_exhausts_predicted_returns)
{
    /* 3,000 nested calls (past the 1,024 predicted levels), half of them
     * through a pointer, then the unwinding; and with small gas, so runs
     * stop and resume (an empty host stack) at every depth. */
    jk_pvm_program *prog = jk_test_asm_program(
        ".jump_table ret_main, ret_a, ret_b, down\n"
        "  load_imm r2, jt(down)\n"
        "  load_imm_jump r0, jt(ret_main), down\n"
        "ret_main:\n"
        "  load_imm r0, 0xFFFF0000\n"
        "  jump_ind r0, 0\n"
        "down:\n"
        "  branch_eq_imm r7, 0, leaf\n"
        "  add_imm_64 r1, r1, -8\n"
        "  store_ind_u64 r0, r1, 0\n"
        "  add_imm_64 r7, r7, -1\n"
        "  and_imm r3, r7, 1\n"
        "  branch_eq_imm r3, 0, by_ptr\n"
        "  load_imm_jump r0, jt(ret_a), down\n"
        "ret_a:\n"
        "  add_imm_64 r8, r8, 1\n"
        "  load_ind_u64 r0, r1, 0\n"
        "  add_imm_64 r1, r1, 8\n"
        "  jump_ind r0, 0\n"
        "by_ptr:\n"
        "  load_imm_jump_ind r0, r2, jt(ret_b), 0\n"
        "ret_b:\n"
        "  add_imm_64 r8, r8, 3\n"
        "  load_ind_u64 r0, r1, 0\n"
        "  add_imm_64 r1, r1, 8\n"
        "  jump_ind r0, 0\n"
        "leaf:\n"
        "  jump_ind r0, 0\n", true);
    JK_REQUIRE(prog != NULL);
    uint64_t regs[JK_PVM_REGS];
    jk_pvm_state st;
    jk_pvm_exit ex;
    static const int64_t gases[] = {1 << 30, 1000, 37};
    for (size_t g = 0; g < sizeof gases / sizeof gases[0]; g++) {
        memset(regs, 0, sizeof regs);
        regs[1] = 0x30000;
        regs[7] = 3000;
        jk_ctl_both(prog, 0, regs, gases[g], &st, &ex);
        JK_CHECK_EQ(ex.status, JK_PVM_HALT);
        JK_CHECK_EQ(st.regs[8], 1500 * 1 + 1500 * 3);
    }
    jk_pvm_program_free(prog);
}

/* The cases above again with the host's call/ret predicting the returns:
 * programs with few call sites return directly by default (session 10,
 * jit_ctl.c), and both ways must give the interpreter's results. */
JK_TEST(test_jit_ctl_cases_with_predicted_returns)
{
    unsigned keep = jk_pvm_jit_direct_max;
    jk_pvm_jit_direct_max = 0;
    test_jit_calls_returns_and_djumps_edge_cases();
    test_jit_deep_recursion_exhausts_predicted_returns();
    jk_pvm_jit_direct_max = keep;
}
