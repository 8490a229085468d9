/*
 * test_jit_loop_arith.c — the recompiler's arithmetic in hot loops, session 8
 * (src/pvm/jit_insn.c, jit_range.c): a 64-bit unsigned division or remainder
 * by (x >> 32) | m of its own dividend x done with one 32-bit divide, and
 * `add_imm_64 d, a, k` with d ≠ a as one `lea`. Each program runs on the
 * interpreter and on the recompiler from every instruction, with small gas
 * resumed, and everything observable is compared.
 */
#include "../test.h"
#include "jit_test_util.h"
#include "../../src/pvm/jit.h"

/* Run prog from (pc, regs, gas) on both engines (host calls r7 += 1000,
 * out-of-gas stops 97 more gas) and compare status, pc, gas, registers. */
static void jk_arith_both(const jk_pvm_program *prog, uint32_t pc, const uint64_t regs[JK_PVM_REGS], int64_t gas)
{
    jk_pvm_state st[2];
    jk_pvm_exit ex[2];
    for (int e = 0; e < 2; e++) {
        jk_pvm_memory *mem;
        JK_REQUIRE(jk_pvm_memory_new(&mem) == JK_OK);
        memset(&st[e], 0, sizeof st[e]);
        memcpy(st[e].regs, regs, sizeof st[e].regs);
        st[e].gas = gas;
        st[e].pc = pc;
        JK_REQUIRE(jk_test_run_served(prog, mem, &st[e], &ex[e], e ? JK_PVM_ENGINE_JIT : JK_PVM_ENGINE_INTERP,
                                      1000));
        jk_pvm_memory_free(mem);
    }
    JK_CHECK_SAME_STATE(st, ex);
}

/* Dividends around every case of the high half hi against the divisor
 * d = hi | m: hi = d (hi odd, or all ones), hi < d, hi = 0, the low half
 * zero, all ones, and a few LCG values as muldiv makes them. */
static const uint64_t jk_arith_x[] = {
    0, 1, 0xFFFFFFFFu, 0x100000000ull, 0x1FFFFFFFFull, 0x200000000ull, 0x300000005ull,
    0x7FFFFFFF00000000ull, 0x8000000000000000ull, 0x80000001FFFFFFFFull, 0xFFFFFFFF00000000ull,
    0xFFFFFFFFFFFFFFFFull, 0xFFFFFFFE12345678ull, 0x0123456789ABCDEFull, 0xDEADBEEFCAFEF00Dull,
};

static void jk_arith_all(const jk_pvm_program *prog, unsigned xreg)
{
    uint64_t regs[JK_PVM_REGS];
    for (size_t k = 0; k < sizeof jk_arith_x / sizeof jk_arith_x[0]; k++) {
        for (int r = 0; r < JK_PVM_REGS; r++)
            regs[r] = (uint64_t)(r + 1) * 0x0101010101010101ull;
        regs[xreg] = jk_arith_x[k];
        for (int64_t gas = 1; gas <= 4096; gas *= 8)
            jk_arith_both(prog, 0, regs, gas);
    }
    /* Runs that start inside the proof (between the shift and the
     * division, at the division) with divisors the proof would not allow:
     * 0, 1 with a large dividend (a 32-bit divide would overflow), all
     * ones. Such a run goes to the interpreter (no_entry), never a host
     * trap and never the 32-bit divide. */
    static const uint64_t ds[] = {0, 1, 0xFFFFFFFFFFFFFFFFull, 0x100000000ull};
    for (uint32_t i = 0; i < prog->insn_count; i++)
        for (size_t v = 0; v < sizeof ds / sizeof ds[0]; v++) {
            for (int r = 0; r < JK_PVM_REGS; r++)
                regs[r] = ds[v];
            regs[xreg] = 0xFFFFFFFFFFFFFFF0ull;
            jk_arith_both(prog, prog->insns[i].pc, regs, 1000);
        }
}

JK_TEST(test_jit_division_by_the_dividends_high_half_is_the_interpreters)
{
    /* muldiv's quotient and remainder, the SDK's form (the divisor's
     * register is the destination), other m, the dividend as destination */
    jk_pvm_program *prog = jk_test_asm_program(
        "  shlo_r_imm_64 r4, r8, 32\n"
        "  or_imm r4, r4, 1\n"
        "  div_u_64 r5, r8, r4\n"
        "  rem_u_64 r6, r8, r4\n"
        "  shlo_r_imm_64 r9, r8, 32\n"
        "  or_imm r9, r9, 1\n"
        "  div_u_64 r9, r8, r9\n"
        "  shlo_r_imm_64 r10, r8, 32\n"
        "  or_imm r10, r10, 0x7FFFFFFF\n"
        "  rem_u_64 r10, r8, r10\n"
        "  shlo_r_imm_64 r2, r8, 32\n"
        "  or_imm r3, r2, 6\n"
        "  div_u_64 r0, r8, r3\n"
        "  rem_u_64 r1, r8, r3\n"
        "  ecalli 3\n"
        "  shlo_r_imm_64 r11, r8, 32\n"
        "  or_imm r11, r11, 0xFFFF\n"
        "  div_u_64 r8, r8, r11\n"
        "  trap\n", true);
    JK_REQUIRE(prog != NULL);
    jk_arith_all(prog, 8);
#if JK_PVM_HAVE_JIT
    /* the proofs were used: a run entering a division goes to the interpreter */
    JK_CHECK_EQ(prog->jit->entry[2], JK_JIT_NO_ENTRY);
    JK_CHECK_EQ(prog->jit->entry[17], JK_JIT_NO_ENTRY);
    JK_CHECK(prog->jit->entry[15] != JK_JIT_NO_ENTRY); /* after ecalli */
#endif
    jk_pvm_program_free(prog);
}

JK_TEST(test_jit_division_by_other_high_halves_keeps_the_64_bit_divide)
{
    /* Forms the 32-bit divide must not take (each would trap or give
     * another result on some dividend): a shift by 33 (the high half can be
     * twice the divisor), the dividend changed after the shift, m = 0
     * (divisor 0), m with bits above 32 (-1: the divisor is all ones), the
     * divisor changed after the or, a signed division, a host call between
     * (the test's host adds 1000 to r7, the divisor), the dividend and the
     * divisor in the same register. */
    jk_pvm_program *prog = jk_test_asm_program(
        "  shlo_r_imm_64 r4, r8, 33\n"
        "  or_imm r4, r4, 1\n"
        "  div_u_64 r5, r8, r4\n"
        "  shlo_r_imm_64 r4, r8, 32\n"
        "  or_imm r4, r4, 1\n"
        "  add_imm_64 r8, r8, 0x7FFFFFFF\n"
        "  div_u_64 r5, r8, r4\n"
        "  shlo_r_imm_64 r4, r8, 32\n"
        "  or_imm r4, r4, 0\n"
        "  rem_u_64 r5, r8, r4\n"
        "  shlo_r_imm_64 r4, r8, 32\n"
        "  or_imm r4, r4, -1\n"
        "  div_u_64 r5, r8, r4\n"
        "  shlo_r_imm_64 r4, r8, 32\n"
        "  or_imm r4, r4, 1\n"
        "  add_imm_64 r4, r4, -2\n"
        "  div_u_64 r6, r8, r4\n"
        "  shlo_r_imm_64 r4, r8, 32\n"
        "  or_imm r4, r4, 1\n"
        "  div_s_64 r6, r8, r4\n"
        "  shlo_r_imm_64 r7, r8, 32\n"
        "  or_imm r7, r7, 1\n"
        "  ecalli 1\n"
        "  div_u_64 r6, r8, r7\n"
        "  shlo_r_imm_64 r8, r8, 32\n"
        "  or_imm r8, r8, 1\n"
        "  rem_u_64 r6, r8, r8\n"
        "  trap\n", true);
    JK_REQUIRE(prog != NULL);
    jk_arith_all(prog, 8);
    jk_pvm_program_free(prog);
}

/* r0..r9 named 7 times each: a program that starts with this keeps them in
 * the ten host registers, and r10..r12 in the context (jk_allocate). */
#define JK_ARITH_BUSY                                                                          \
    "  add_64 r0, r1, r2\n  add_64 r3, r4, r5\n  add_64 r6, r7, r8\n  add_64 r9, r0, r1\n"     \
    "  add_64 r2, r3, r4\n  add_64 r5, r6, r7\n  add_64 r8, r9, r0\n  add_64 r1, r2, r3\n"     \
    "  add_64 r4, r5, r6\n  add_64 r7, r8, r9\n  add_64 r0, r1, r2\n  add_64 r3, r4, r5\n"     \
    "  add_64 r6, r7, r8\n  add_64 r9, r0, r1\n  add_64 r2, r3, r4\n  add_64 r5, r6, r7\n"     \
    "  add_64 r8, r9, r0\n  add_64 r1, r2, r3\n  add_64 r4, r5, r6\n  add_64 r7, r8, r9\n"     \
    "  add_64 r0, r1, r2\n  add_64 r3, r4, r5\n  add_64 r6, r7, r8\n  add_64 r9, r0, r1\n"

JK_TEST(test_jit_division_by_the_high_half_in_context_registers)
{
    /* r0..r9 named often enough to take the ten host registers: the
     * dividend r11 and the divisor r12 live in the context (memory
     * operands of the divide and the compare) */
    jk_pvm_program *prog = jk_test_asm_program(
        JK_ARITH_BUSY
        "  shlo_r_imm_64 r12, r11, 32\n"
        "  or_imm r12, r12, 3\n"
        "  div_u_64 r10, r11, r12\n"
        "  rem_u_64 r12, r11, r12\n"
        "  trap\n", true);
    JK_REQUIRE(prog != NULL);
    jk_arith_all(prog, 11);
    jk_pvm_program_free(prog);
}

JK_TEST(test_jit_add_imm_64_to_another_register_is_the_interpreters)
{
    /* add_imm_64 d, a, k with d ≠ a (one lea): constants of every sign
     * and width, wrapping past 2^64, d in a host register and in the
     * context, a in either */
    jk_pvm_program *prog = jk_test_asm_program(
        JK_ARITH_BUSY
        "  add_imm_64 r1, r2, 8\n"
        "  add_imm_64 r3, r4, -1\n"
        "  add_imm_64 r5, r6, 0x7FFFFFFF\n"
        "  add_imm_64 r7, r8, -0x80000000\n"
        "  add_imm_64 r9, r0, 0\n"
        "  add_imm_64 r11, r2, 24\n"
        "  add_imm_64 r2, r12, -24\n"
        "  add_imm_64 r10, r12, 1\n"
        "  add_imm_64 r0, r0, 5\n"
        "  trap\n", true);
    JK_REQUIRE(prog != NULL);
    jk_arith_all(prog, 2);
    jk_pvm_program_free(prog);
}
