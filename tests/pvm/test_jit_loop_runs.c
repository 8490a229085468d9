/*
 * test_jit_loop_runs.c — steps in a register above 256 taken by the check
 * with runs (session 12, src/pvm/jit_loop_check.c): a one-block loop's
 * plain check sends such a step to the check with runs, which takes it up
 * to JK_LOOP_MAX_RUN_STEP when its run of host-contiguous pages holds at
 * least JK_LOOP_WIDE_K iterations, and otherwise enters the wide copy,
 * which comes back to that check every JK_LOOP_WIDE_RUN iterations. The
 * asm sieve's marking loop runs with steps on both sides of every bound,
 * over an arena that crosses a leaf's end (4 MiB) and runs into a
 * copy-on-write, a read-only, a writable and an unmapped page, and over
 * single page buffers (no runs), with gas given out in small steps, on
 * both engines; every stop and every page is compared.
 */
#include "../test.h"
#include "jit_test_util.h"
#include "../../src/pvm/jit.h"

/* A Data cap's page, mapped copy-on-write at 0x420000 and read-only at 0x421000. */
static _Alignas(4096) uint8_t jk_runs_shared[4096];

#define JK_RUNS_SINGLE 0x500000u /* 8 pages mapped one at a time: single buffers */

static jk_pvm_memory *jk_runs_memory(void)
{
    jk_pvm_memory *mem = NULL;
    if (jk_pvm_memory_new(&mem) != JK_OK)
        return NULL;
    /* 48 pages in one arena, across the leaf end at 0x400000 */
    jk_pvm_memory_map(mem, 0x3F0000, 0x30000, JK_PVM_ACCESS_WRITE);
    jk_pvm_memory_map_shared(mem, 0x420000, jk_runs_shared, JK_PVM_ACCESS_WRITE);
    jk_pvm_memory_map_shared(mem, 0x421000, jk_runs_shared, JK_PVM_ACCESS_READ);
    jk_pvm_memory_map(mem, 0x422000, 0x1000, JK_PVM_ACCESS_WRITE);
    for (uint32_t a = JK_RUNS_SINGLE; a < JK_RUNS_SINGLE + 0x8000; a += 0x1000)
        jk_pvm_memory_map(mem, a, 0x1000, JK_PVM_ACCESS_WRITE);
    return mem; /* 0x423000 and 0x508000 unmapped */
}

/* The marking loop of bench/pvm/sieve.s, once per step of a list: r10 =
 * the array (x), r12 = j (p), r8 = the step, r9 = the end; each pass
 * starts at j = r1 and marks with the pass's number. */
static const char jk_runs_src[] =
    "  load_imm r4, 1\n"
    "  load_imm r8, 257\n"
    "  fallthrough\n"
    JK_TEST_SIEVE_PASS_ASM
    "  load_imm r7, 3000\n"
    "  branch_eq_imm r8, 257, step\n"
    "  load_imm r7, 40\n"
    "  branch_eq_imm r8, 3000, step\n"
    "  load_imm r7, 4096\n"
    "  branch_eq_imm r8, 40, step\n"
    "  load_imm r7, 5000\n"
    "  branch_eq_imm r8, 4096, step\n"
    "  load_imm r7, 65536\n"
    "  branch_eq_imm r8, 5000, step\n"
    "  load_imm r7, 65537\n"
    "  branch_eq_imm r8, 65536, step\n"
    "  load_imm r7, 256\n"
    "  branch_eq_imm r8, 65537, step\n"
    "  load_imm r7, 1000\n"
    "  branch_eq_imm r8, 256, step\n"
    "  load_imm r0, 0xffff0000\n"
    "  jump_ind r0, 0\n"
    "step:\n"
    "  move_reg r8, r7\n"
    "  jump pass\n";

/* Run prog from registers regs[] (all 13), `gas` and then `more` at each
 * out-of-gas stop, on both engines; every stop and every page compared. */
static void jk_runs_lockstep(const jk_pvm_program *prog, const uint64_t *regs, int64_t gas, int64_t more)
{
    jk_pvm_memory *mem[2];
    jk_pvm_state st[2];
    jk_pvm_exit ex[2];
    for (int e = 0; e < 2; e++) {
        mem[e] = jk_runs_memory();
        JK_REQUIRE(mem[e] != NULL);
        memset(&st[e], 0, sizeof st[e]);
        memcpy(st[e].regs, regs, sizeof st[e].regs);
        st[e].gas = gas;
    }
    JK_TEST_LOCKSTEP(prog, mem, st, ex, more, 100000);
    JK_CHECK(ex[0].status != JK_PVM_OUT_OF_GAS); /* ran to its end */
    jk_test_check_same_memory(mem[0], mem[1], 0x3F0000, 0x423000);
    jk_test_check_same_memory(mem[0], mem[1], JK_RUNS_SINGLE, JK_RUNS_SINGLE + 0x8000);
    jk_pvm_memory_free(mem[0]);
    jk_pvm_memory_free(mem[1]);
    JK_CHECK(jk_runs_shared[7] == 0); /* the Data cap's page is never written */
}

/* The passes: x = r10, the first j = r1, the end = r9. */
static void jk_runs_both(const jk_pvm_program *prog, uint64_t x, uint64_t j, uint64_t end, int64_t gas,
                         int64_t more)
{
    uint64_t regs[JK_PVM_REGS] = {0};
    regs[10] = x;
    regs[1] = j;
    regs[9] = end;
    jk_runs_lockstep(prog, regs, gas, more);
}

JK_TEST(test_jit_loop_runs_large_steps_are_the_interpreters)
{
    jk_pvm_program *prog = jk_test_asm_program(jk_runs_src, true);
    JK_REQUIRE(prog != NULL);
    /* the arena from its start and from just before the leaf's end, with
     * ends inside it, at the copy-on-write page and past the read-only
     * one; the single pages, inside and into the unmapped page after
     * them; x past 2^32 (every address wraps, the check refuses) */
    static const struct {
        uint64_t x, end;
    } runs[] = {
        {0x3F0000, 0x30000}, {0x3F0000, 0x30800}, {0x3F0000, 0x33800}, {0x3FE801, 0x21000},
        {JK_RUNS_SINGLE, 0x8000}, {JK_RUNS_SINGLE + 0x7FF, 0x9000}, {0x1003F0000ull, 0x30000},
    };
    static const uint64_t firsts[] = {5, 4093, 0};
    for (size_t a = 0; a < sizeof runs / sizeof runs[0]; a++)
        for (size_t k = 0; k < sizeof firsts / sizeof firsts[0]; k++) {
            jk_runs_both(prog, runs[a].x, firsts[k], runs[a].end, INT64_C(1) << 40, 1);
            jk_runs_both(prog, runs[a].x, firsts[k], runs[a].end, 7, 97);
            jk_runs_both(prog, runs[a].x, firsts[k], runs[a].end, 300, 1013);
        }
    jk_pvm_program_free(prog);
}

/* The wide copy's hand-back: over single pages the check with runs finds
 * fewer than JK_LOOP_WIDE_K iterations for the steps of 3000 and more, so
 * the wide copy runs JK_LOOP_WIDE_RUN (64) iterations and comes back to it,
 * at the start of an iteration; the gas schedules put out-of-gas stops at,
 * just before and just after that point (4 gas an iteration). The arena
 * from its start, for contrast. */
JK_TEST(test_jit_loop_runs_wide_comes_back)
{
    jk_pvm_program *prog = jk_test_asm_program(jk_runs_src, true);
    JK_REQUIRE(prog != NULL);
    static const int64_t gas[][2] = {{INT64_C(1) << 40, 1}, {5, 3}, {263, 261}, {4 * 64 + 1, 4 * 64}};
    for (size_t g = 0; g < sizeof gas / sizeof gas[0]; g++) {
        jk_runs_both(prog, JK_RUNS_SINGLE, 3, 0x7000, gas[g][0], gas[g][1]);
        jk_runs_both(prog, 0x3F0000, 3, 0x30000, gas[g][0], gas[g][1]);
    }
    jk_pvm_program_free(prog);
}

/* A step of 2^32 + 3000: its low 32 bits are a step the runs take, but
 * the cursor leaves the 32-bit range after each iteration, so only the
 * wide copy may run it (the check's step test compares all 64 bits; with
 * 32 of them the checked copy would write far outside guest memory). j
 * starts one step below 5 (mod 2^64), so the check sees j = 5 once. */
static const char jk_runs_far_src[] =
    "mark:\n"
    "  add_64 r11, r10, r12\n"
    "  store_ind_u8 r4, r11, 0\n"
    "  add_64 r12, r12, r8\n"
    "  branch_lt_u r12, r9, mark\n"
    "  load_imm r0, 0xffff0000\n"
    "  jump_ind r0, 0\n";

JK_TEST(test_jit_loop_runs_step_past_2_32)
{
    jk_pvm_program *prog = jk_test_asm_program(jk_runs_far_src, true);
    JK_REQUIRE(prog != NULL);
    uint64_t regs[JK_PVM_REGS] = {0};
    regs[4] = 9;
    regs[8] = (UINT64_C(1) << 32) + 3000;
    regs[9] = UINT64_C(3) << 32;
    regs[10] = 0x3F0000 + 3000;
    regs[12] = 5 - regs[8];
    jk_runs_lockstep(prog, regs, INT64_C(1) << 40, 1);
    jk_runs_lockstep(prog, regs, 9, 3);
    jk_pvm_program_free(prog);
}
