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
