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

static jk_pvm_memory *jk_runs_memory(int layout)
{
    (void)layout;
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
    jk_test_lockstep run = {.memory = jk_runs_memory, .gas = gas, .step = more, .hops = 100000,
                            .pages = {{0x3F0000, 0x423000}, {JK_RUNS_SINGLE, JK_RUNS_SINGLE + 0x8000}}};
    memcpy(run.regs, regs, sizeof run.regs);
    jk_pvm_exit last;
    jk_test_lockstep_run(prog, &run, &last);
    JK_CHECK(last.status != JK_PVM_OUT_OF_GAS); /* ran to its end */
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

/* Folded bases in two-block loops (session 12, jk_pvm_jit_loop_fold). The
 * asm sieve's outer loop: B1 computes r11 = r10 + r8 and reads through it,
 * leaving for the side block at a zero byte, where r11 must be this
 * iteration's x + p (the side block writes beside it and adds it into
 * r5), B2 steps r8. c_sieve's: B1 steps r12 and leaves at the end, B2
 * computes the base r0 and loads into it (a base no exit sees: not
 * computed at all). And a base computed in B1 before B1's exit and loaded
 * into in B2, which that exit sees: folded neither way (it goes on over
 * zero bytes, so its copy runs to the end and leaves through B1). The side
 * blocks mark a few bytes ahead, so the sieve's and c_sieve's copies run a
 * few iterations between exits. */
static const char jk_fold_sieve_src[] =
    "outer:\n"
    "  add_64 r11, r10, r8\n"
    "  load_ind_u8 r3, r11, 0\n"
    "  branch_ne_imm r3, 0, next\n"
    "  add_imm_64 r7, r7, 1\n"
    "  store_ind_u8 r4, r11, 1\n"
    "  store_ind_u8 r4, r11, 2\n"
    "  store_ind_u8 r4, r11, 4\n"
    "  add_64 r5, r5, r11\n"
    "  fallthrough\n"
    "next:\n"
    "  add_imm_64 r8, r8, 1\n"
    "  branch_lt_u r8, r9, outer\n"
    "  load_imm r0, 0xffff0000\n"
    "  jump_ind r0, 0\n";

static const char jk_fold_dead_src[] =
    "loop:\n"
    "  add_imm_64 r12, r12, 1\n"
    "  branch_eq r12, r9, done\n"
    "  add_64 r0, r10, r12\n"
    "  load_ind_u8 r0, r0, 0\n"
    "  branch_ne_imm r0, 0, loop\n"
    "  add_imm_64 r7, r7, 1\n"
    "  add_64 r1, r10, r12\n"
    "  store_ind_u8 r4, r1, 2\n"
    "  store_ind_u8 r4, r1, 3\n"
    "  store_ind_u8 r4, r1, 5\n"
    "  jump loop\n"
    "done:\n"
    "  load_imm r0, 0xffff0000\n"
    "  jump_ind r0, 0\n";

static const char jk_fold_seen_src[] =
    "loop:\n"
    "  add_imm_64 r12, r12, 1\n"
    "  add_64 r0, r10, r12\n"
    "  branch_eq r12, r9, done\n"
    "  load_ind_u8 r0, r0, 0\n"
    "  branch_eq_imm r0, 0, loop\n"
    "  add_imm_64 r7, r7, 1\n"
    "  add_64 r1, r10, r12\n"
    "  store_ind_u8 r4, r1, 2\n"
    "  store_ind_u8 r4, r1, 3\n"
    "  store_ind_u8 r4, r1, 5\n"
    "  jump loop\n"
    "done:\n"
    "  add_64 r5, r5, r0\n"
    "  load_imm r0, 0xffff0000\n"
    "  jump_ind r0, 0\n";

JK_TEST(test_jit_loop_runs_two_block_folds_are_the_interpreters)
{
    const char *srcs[] = {jk_fold_sieve_src, jk_fold_dead_src, jk_fold_seen_src};
    /* x, and the counter's first value and end: inside the arena, across
     * the leaf's end, into the copy-on-write and read-only pages, the
     * single pages into the unmapped one, x past 2^32 */
    static const struct {
        uint64_t x, j, end;
    } runs[] = {
        {0x3F0000, 3, 0x2F000}, {0x3F0000, 0xFFF0, 0x10100}, {0x3F0000, 0x2EFF0, 0x31800},
        {JK_RUNS_SINGLE, 0xFF0, 0x8400}, {0x1003F0000ull, 3, 0x2000},
    };
    static const int64_t gas[][2] = {{INT64_C(1) << 40, 1}, {9, 61}, {300, 1013}};
    for (size_t s = 0; s < sizeof srcs / sizeof srcs[0]; s++) {
        jk_pvm_program *prog = jk_test_asm_program(srcs[s], true);
        JK_REQUIRE(prog != NULL);
        for (size_t a = 0; a < sizeof runs / sizeof runs[0]; a++)
            for (size_t g = 0; g < sizeof gas / sizeof gas[0]; g++) {
                uint64_t regs[JK_PVM_REGS] = {0};
                regs[4] = 1;
                regs[10] = runs[a].x;
                regs[8] = regs[12] = runs[a].j;
                regs[9] = runs[a].end;
                jk_runs_lockstep(prog, regs, gas[g][0], gas[g][1]);
            }
        jk_pvm_program_free(prog);
    }
}

/* Fills (session 12, jit_loop_bulk.c): a one-block loop that only stores
 * one value through one cursor stepped by the store's width moves its
 * checked iterations with one `rep stos`. c_sieve's zeroing loop (a byte
 * constant, the cursor stepped after the store, `branch_ne`), and a
 * register's value at each width (stepped before the store, `branch_lt_u`),
 * the value in each of several registers (r12 of the third lives in rdi,
 * which the move borrows: jit.c's loop-weighted count ranks it seventh,
 * after r3, the four its first lines name nine times each, and r11). From starts in the arena to ends before the leaf's end,
 * past it, at the copy-on-write page and into the read-only one, in the
 * single pages and into the unmapped one, short (below the bulk's 1 KiB)
 * and long, with gas in small steps. */
static const char *const jk_fill_srcs[] = {
    "loop:\n"
    "  store_imm_ind_u8 r3, 0, 0x5A\n"
    "  add_imm_64 r3, r3, 1\n"
    "  branch_ne r3, r9, loop\n"
    "  load_imm r0, 0xffff0000\n"
    "  jump_ind r0, 0\n",
    "loop:\n"
    "  add_imm_64 r3, r3, 2\n"
    "  store_ind_u16 r1, r3, -2\n"
    "  branch_lt_u r3, r9, loop\n"
    "  load_imm r0, 0xffff0000\n"
    "  jump_ind r0, 0\n",
    "  add_64 r0, r0, r0\n  add_64 r0, r0, r0\n  add_64 r0, r0, r0\n"
    "  add_64 r1, r1, r1\n  add_64 r1, r1, r1\n  add_64 r1, r1, r1\n"
    "  add_64 r2, r2, r2\n  add_64 r2, r2, r2\n  add_64 r2, r2, r2\n"
    "  add_64 r4, r4, r4\n  add_64 r4, r4, r4\n  add_64 r4, r4, r4\n"
    "  fallthrough\n"
    "loop:\n"
    "  store_ind_u32 r12, r3, 4\n"
    "  add_imm_64 r3, r3, 4\n"
    "  branch_lt_u r3, r11, loop\n"
    "  load_imm r0, 0xffff0000\n"
    "  jump_ind r0, 0\n",
    "loop:\n"
    "  store_ind_u64 r8, r3, 0\n"
    "  add_imm_64 r3, r3, 8\n"
    "  branch_ne r9, r3, loop\n"
    "  load_imm r0, 0xffff0000\n"
    "  jump_ind r0, 0\n",
};

JK_TEST(test_jit_loop_runs_fills_are_the_interpreters)
{
    static const struct {
        uint64_t from, to;
    } runs[] = {
        {0x3F0000, 0x3F0200}, {0x3F0008, 0x3FF000}, {0x3FE000, 0x402000}, {0x3F0000, 0x420800},
        {0x41F000, 0x421800}, {JK_RUNS_SINGLE + 8, JK_RUNS_SINGLE + 0x8800},
    };
    static const int64_t gas[][2] = {{INT64_C(1) << 40, 1}, {9, 4093}, {3000, 2999}};
    for (size_t s = 0; s < sizeof jk_fill_srcs / sizeof jk_fill_srcs[0]; s++) {
        jk_pvm_program *prog = jk_test_asm_program(jk_fill_srcs[s], true);
        JK_REQUIRE(prog != NULL);
        for (size_t a = 0; a < sizeof runs / sizeof runs[0]; a++)
            for (size_t g = 0; g < sizeof gas / sizeof gas[0]; g++) {
                uint64_t regs[JK_PVM_REGS] = {0};
                for (unsigned r = 0; r < JK_PVM_REGS; r++)
                    regs[r] = UINT64_C(0x1122334455667788) * (r + 1);
                regs[3] = runs[a].from;
                regs[9] = regs[11] = runs[a].to;
                jk_runs_lockstep(prog, regs, gas[g][0], gas[g][1]);
            }
        jk_pvm_program_free(prog);
    }
}
