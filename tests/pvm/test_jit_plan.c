/*
 * test_jit_plan.c — the gas plans' mechanical check (jit_plan.c, session
 * 14): every way into a block that skips its prologue pays what that
 * prologue charges, and every way onto it pays what it charges less. A
 * test hook breaks the plan of one program in each of the ways the check
 * knows (fib12's fuzz finding among them); the check must refuse each, and
 * the program then runs with the plain plan, the interpreter's results.
 */
#include "jit_test_util.h"
#include "../../src/pvm/jit.h"
#include "../../src/pvm/jit_plan.h"

#include <stdint.h>

/* b0 (0–1) is a precharged branch to d: pre = cost(d) = 2 on b0, less =
 * 2 on its fallthrough f (2–4), which djumps to h, the jump table's one
 * entry. d (5–6) falls into e (7–8) but may not pay for it: b0's branch
 * lands past d's prologue having paid cost(d) alone. h (9–11) holds a
 * host call. (The loader appends a trap: 13 instructions.) */
static const char jk_plan_src[] = ".jump_table h\n"
                                  "    add_imm_64 r8, r8, 1\n"
                                  "    branch_ne_imm r7, 0, d\n"
                                  "f:\n"
                                  "    add_imm_64 r8, r8, 2\n"
                                  "    load_imm r2, 2\n"
                                  "    jump_ind r2, 0\n"
                                  "d:\n"
                                  "    add_imm_64 r9, r9, 1\n"
                                  "    fallthrough\n"
                                  "e:\n"
                                  "    add_imm_64 r9, r9, 2\n"
                                  "    trap\n"
                                  "h:\n"
                                  "    ecalli 1\n"
                                  "    add_imm_64 r9, r9, 4\n"
                                  "    trap\n";

#if JK_PVM_HAVE_JIT
static int jk_plan_break; /* which way the hook breaks the plan (0: none) */
static int jk_plan_saw;   /* the hook saw the expected plan */

static void jk_plan_breaker(const jk_pvm_program *prog, uint32_t *pre, uint32_t *less)
{
    if (prog->insn_count != 13 || !pre || !less)
        return;
    jk_plan_saw = pre[0] == 2 && pre[1] == 2 && less[2] == 2 && pre[5] == 0 && less[7] == 0;
    switch (jk_plan_break) {
    case 1: /* fib12: d pays for e, whose prologue goes; b0's branch skips both */
        pre[5] = pre[6] = 2;
        less[7] = 2;
        break;
    case 2: /* f charges in full what b0 already paid for d */
        less[2] = 0;
        break;
    case 3: /* b0's branch paid nothing, yet its prologue charges for d */
        pre[1] = 0;
        break;
    case 4: /* a jump-table entry's prologue charges less */
        less[9] = 1;
        break;
    case 5: /* a djump's block pays ahead for a block it cannot know */
        pre[2] = pre[3] = pre[4] = 1;
        break;
    case 6: /* a block with a host call pays ahead */
        pre[9] = pre[10] = pre[11] = 1;
        break;
    default:
        break;
    }
}
#endif

static void jk_plan_runs(const jk_pvm_program *prog)
{
    uint64_t regs[JK_PVM_REGS] = {0};
    for (uint64_t r7 = 0; r7 < 2; r7++) {
        regs[7] = r7;
        for (int64_t gas = -1; gas < 16; gas++) {
            jk_test_both_pages(prog, 0, regs, gas, 0, 0x1000, 100);
            jk_test_both_pages(prog, 0, regs, gas, 1, 0x1000, 100);
        }
        for (uint32_t pc = 0; pc < 40; pc++)
            for (int64_t gas = 0; gas < 10; gas++)
                jk_test_both_pages(prog, pc, regs, gas, 2, 0x1000, 100);
    }
}

/* The program's own plan passes the check and is the interpreter's. */
JK_TEST(test_jit_plan_check_passes_the_plans_it_is_given)
{
#if JK_PVM_HAVE_JIT
    unsigned long refused = jk_pvm_jit_plan_refused;
    jk_plan_break = 0;
    jk_plan_saw = 0;
    jk_pvm_jit_plan_hook = jk_plan_breaker;
#endif
    jk_pvm_program *prog = jk_test_asm_program(jk_plan_src, true);
#if JK_PVM_HAVE_JIT
    jk_pvm_jit_plan_hook = NULL;
    JK_REQUIRE(prog != NULL);
    JK_CHECK(jk_plan_saw);
    JK_CHECK_EQ(jk_pvm_jit_plan_refused, refused);
    JK_REQUIRE(prog->jit->pre != NULL);
    JK_CHECK_EQ(prog->jit->pre[0], 2);
#endif
    JK_REQUIRE(prog != NULL);
    jk_plan_runs(prog);
    jk_pvm_program_free(prog);
}

/* Each broken plan is refused (the count goes up, no block is precharged)
 * and the program is the interpreter's. Without the check, fib12's plan
 * leaves cost(e) = 2 more gas on b0's taken branch. */
JK_TEST(test_jit_plan_check_refuses_broken_plans)
{
#if JK_PVM_HAVE_JIT
    for (int way = 1; way <= 6; way++) {
        unsigned long refused = jk_pvm_jit_plan_refused;
        jk_plan_break = way;
        jk_plan_saw = 0;
        jk_pvm_jit_plan_hook = jk_plan_breaker;
        jk_pvm_program *prog = jk_test_asm_program(jk_plan_src, true);
        jk_pvm_jit_plan_hook = NULL;
        JK_REQUIRE(prog != NULL);
        JK_CHECK(jk_plan_saw);
        JK_CHECK_EQ(jk_pvm_jit_plan_refused, refused + 1);
        JK_CHECK(prog->jit->pre == NULL);
        jk_plan_runs(prog);
        jk_pvm_program_free(prog);
    }
    /* the same fib12 plan, unchecked: the engines disagree on gas */
    jk_plan_break = 1;
    jk_pvm_jit_plan_hook = jk_plan_breaker;
    jk_pvm_jit_plan_checked = false;
    jk_pvm_program *prog = jk_test_asm_program(jk_plan_src, true);
    jk_pvm_jit_plan_checked = true;
    jk_pvm_jit_plan_hook = NULL;
    JK_REQUIRE(prog != NULL);
    jk_pvm_state st[2];
    jk_pvm_exit ex[2];
    for (int e = 0; e < 2; e++) {
        jk_pvm_memory *mem = NULL;
        JK_REQUIRE(jk_pvm_memory_new(&mem) == JK_OK);
        memset(&st[e], 0, sizeof st[e]);
        st[e].regs[7] = 1;
        st[e].gas = 100;
        JK_REQUIRE(jk_pvm_run_engine(prog, mem, &st[e], &ex[e], e ? JK_PVM_ENGINE_JIT : JK_PVM_ENGINE_INTERP) ==
                   JK_OK);
        jk_pvm_memory_free(mem);
    }
    JK_CHECK_EQ(ex[0].status, JK_PVM_PANIC);
    JK_CHECK_EQ(ex[1].status, JK_PVM_PANIC);
    JK_CHECK_EQ(st[0].gas, 94);
    JK_CHECK_EQ(st[1].gas, 96);
    jk_pvm_program_free(prog);
#endif
}
