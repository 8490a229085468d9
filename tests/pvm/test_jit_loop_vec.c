/*
 * test_jit_loop_vec.c — the recompiler's checked loop copies, session 7
 * (src/pvm/jit_loop.c): 16-byte moves (jk_loop_vec: pairs of adjacent 8-byte
 * loads and stores become one SSE2 move each, the registers they name living
 * in an xmm register for the copy) and folded derived bases (jk_loop_fold:
 * b = x + p not computed in the copy, written at its exits). Each program
 * runs on both engines in lockstep,
 * with gas given out in small steps, and every stop (out of gas, fault,
 * halt) is compared whole: a copy left without writing the registers back
 * (its trip into the ordinary code at a gas stop, its loop end) shows here,
 * where a run that ends on a fault would hide it (the ordinary code
 * reloads the registers before faulting).
 */
#include "../test.h"
#include "jit_test_util.h"
#include "../../src/pvm/jit.h"

#include <stdlib.h>

/* A Data cap's page, mapped copy-on-write at 0x18000 and read-only at 0x19000. */
static _Alignas(4096) uint8_t jk_vec_shared[4096];

/* Eight writable pages at 0x10000 (filled), then copy-on-write, read-only,
 * unmapped. */
static jk_pvm_memory *jk_vec_memory(int layout)
{
    (void)layout;
    jk_pvm_memory *mem = NULL;
    if (jk_pvm_memory_new(&mem) != JK_OK)
        return NULL;
    jk_pvm_memory_map(mem, 0x10000, 0x8000, JK_PVM_ACCESS_WRITE);
    jk_pvm_memory_map_shared(mem, 0x18000, jk_vec_shared, JK_PVM_ACCESS_WRITE);
    jk_pvm_memory_map_shared(mem, 0x19000, jk_vec_shared, JK_PVM_ACCESS_READ);
    uint8_t fill[256];
    for (unsigned i = 0; i < sizeof fill; i++)
        fill[i] = (uint8_t)(i * 37 + 11);
    for (uint32_t a = 0x10000; a < 0x18000; a += sizeof fill) {
        fill[0]++;
        jk_pvm_memory_write(mem, a, fill, sizeof fill);
    }
    return mem;
}

/* Run prog with r1 = src, r3 = dst, r4 = count on both engines, `gas` at
 * first and `step` more at each out-of-gas stop, comparing every stop;
 * from instruction `at` (0: the start; else with r8 = 3, r10 = src, r12 =
 * 0 and r11 = src + 0x100, an address, as a stale derived base). */
static void jk_vec_both_at(const jk_pvm_program *prog, uint32_t at, uint64_t src, uint64_t dst, uint64_t count,
                           int64_t gas, int64_t step)
{
    jk_test_lockstep run = {.memory = jk_vec_memory, .gas = gas, .step = step, .hops = 400,
                            .pages = {{0x10000, 0x1a000}}};
    jk_test_pattern_regs(run.regs);
    run.regs[1] = src;
    run.regs[3] = dst;
    run.regs[4] = count;
    if (at) { /* what the fold tests' first instructions set, and a stale base */
        run.pc = prog->insns[at].pc;
        run.regs[8] = 3;
        run.regs[10] = src;
        run.regs[11] = src + 0x100;
        run.regs[12] = 0;
    }
    jk_test_lockstep_run(prog, &run, NULL);
    for (size_t i = 0; i < sizeof jk_vec_shared; i++)
        JK_CHECK(jk_vec_shared[i] == 0); /* the Data cap's page is never written */
}

static void jk_vec_both(const jk_pvm_program *prog, uint64_t src, uint64_t dst, uint64_t count, int64_t gas,
                        int64_t step)
{
    jk_vec_both_at(prog, 0, src, dst, count, gas, step);
}

/* Destination − source distances: none (in place), overlapping either way
 * by one word, half a pair, a pair, a whole iteration, and far (across
 * pages, into the copy-on-write and read-only pages). */
static const int64_t jk_vec_deltas[] = {0, 8, -8, 16, -16, 24, 32, -32, 40, 0x1000, -0x1000, 0x3ff8, 0x7000};

static void jk_vec_runs(const char *src, uint64_t count)
{
    jk_pvm_program *prog = jk_test_asm_program(src, true);
    JK_REQUIRE(prog != NULL);
    static const int64_t gases[][2] = {{INT64_C(1) << 24, 1}, {700, 333}, {41, 17}};
    static const uint64_t starts[] = {0x10000, 0x10ff0, 0x11f80, 0x12008, 0x13ffc, 0x16000};
    for (size_t d = 0; d < sizeof jk_vec_deltas / sizeof jk_vec_deltas[0]; d++)
        for (size_t s = 0; s < sizeof starts / sizeof starts[0]; s++)
            for (size_t g = 0; g < sizeof gases / sizeof gases[0]; g++) {
                uint64_t dst = starts[s] + (uint64_t)jk_vec_deltas[d];
                if (dst < 0x10000)
                    dst += 0x7000;
                jk_vec_both(prog, starts[s], dst, count, gases[g][0], gases[g][1]);
            }
    /* a source past 2^32 whose 32-bit address is a mapped one */
    jk_vec_both(prog, UINT64_C(0x100010000), 0x12000, count, INT64_C(1) << 24, 1);
    jk_pvm_program_free(prog);
}

JK_TEST(test_jit_loop_vec_copy)
{
    /* the asm `copy` loop: two load pairs, then their two store pairs */
    jk_vec_runs(JK_TEST_COPY32_ASM, 300);
}

JK_TEST(test_jit_loop_vec_c_copy)
{
    /* c_copy's loop as the SDK leaves it: r0 in a pair (the unused register
     * fields of the other instructions are 0 and must not count), offsets
     * around the cursor, the end compared with the destination cursor */
    jk_vec_runs("start:\n"
                "  add_imm_64 r6, r4, 0\n"
                "  shlo_l_imm_64 r6, r6, 5\n"
                "  add_64 r6, r6, r3\n"
                "  add_imm_64 r3, r3, 16\n"
                "  add_imm_64 r6, r6, 16\n"
                "  add_imm_64 r5, r1, 16\n"
                "  fallthrough\n"
                "copy:\n"
                "  load_ind_u64 r0, r5, -16\n"
                "  load_ind_u64 r9, r5, -8\n"
                "  load_ind_u64 r12, r5, 0\n"
                "  load_ind_u64 r2, r5, 8\n"
                "  store_ind_u64 r0, r3, -16\n"
                "  store_ind_u64 r9, r3, -8\n"
                "  store_ind_u64 r12, r3, 0\n"
                "  store_ind_u64 r2, r3, 8\n"
                "  add_imm_64 r3, r3, 32\n"
                "  add_imm_64 r5, r5, 32\n"
                "  branch_ne r3, r6, copy\n"
                "  load_imm r0, 0xffff0000\n"
                "  jump_ind r0, 0\n",
                250);
}

JK_TEST(test_jit_loop_vec_orders)
{
    /* pairs written high word first, a store pair before its load pair (it
     * stores the previous iteration's words, or the registers' values on
     * entry), a store pair of the same registers twice, negative offsets,
     * and a backwards walk */
    jk_vec_runs("start:\n"
                "  fallthrough\n"
                "copy:\n"
                "  store_ind_u64 r9, r3, 40\n"
                "  store_ind_u64 r8, r3, 32\n"
                "  load_ind_u64 r6, r1, 8\n"
                "  load_ind_u64 r5, r1, 0\n"
                "  load_ind_u64 r8, r1, -16\n"
                "  load_ind_u64 r9, r1, -8\n"
                "  store_ind_u64 r6, r3, -8\n"
                "  store_ind_u64 r5, r3, -16\n"
                "  store_ind_u64 r5, r3, 16\n"
                "  store_ind_u64 r6, r3, 24\n"
                "  add_imm_64 r1, r1, -48\n"
                "  add_imm_64 r3, r3, -48\n"
                "  add_imm_64 r4, r4, -1\n"
                "  branch_ne_imm r4, 0, copy\n"
                "  load_imm r0, 0xffff0000\n"
                "  jump_ind r0, 0\n",
                200);
}

JK_TEST(test_jit_loop_vec_not_pairs)
{
    /* forms that must stay 8-byte moves (or lose their pair), each against
     * the interpreter: a pair's register read by something else (r5 into a
     * checksum), written by something else (r8), the branch reading one
     * (r10), stores that swap the words, stores of registers from two pairs,
     * a load into a register of another pair's stores, and loads 16 bytes
     * apart */
    jk_vec_runs("start:\n"
                "  load_imm r7, 0\n"
                "  fallthrough\n"
                "copy:\n"
                "  load_ind_u64 r5, r1, 0\n"
                "  load_ind_u64 r6, r1, 8\n"
                "  xor r7, r7, r5\n"
                "  store_ind_u64 r5, r3, 0\n"
                "  store_ind_u64 r6, r3, 8\n"
                "  load_ind_u64 r8, r1, 16\n"
                "  load_ind_u64 r9, r1, 24\n"
                "  store_ind_u64 r8, r3, 16\n"
                "  store_ind_u64 r9, r3, 24\n"
                "  add_imm_64 r8, r8, 1\n"
                "  load_ind_u64 r10, r1, 32\n"
                "  load_ind_u64 r11, r1, 40\n"
                "  store_ind_u64 r11, r3, 32\n"
                "  store_ind_u64 r10, r3, 40\n"
                "  load_ind_u64 r12, r1, 48\n"
                "  load_ind_u64 r2, r1, 56\n"
                "  store_ind_u64 r12, r3, 48\n"
                "  store_ind_u64 r10, r3, 56\n"
                "  load_ind_u64 r0, r1, 64\n"
                "  load_ind_u64 r11, r1, 80\n"
                "  store_ind_u64 r0, r3, 64\n"
                "  store_ind_u64 r11, r3, 72\n"
                "  add_imm_64 r1, r1, 88\n"
                "  add_imm_64 r3, r3, 88\n"
                "  add_imm_64 r4, r4, -1\n"
                "  branch_ne r4, r10, copy\n"
                "  load_imm r0, 0xffff0000\n"
                "  jump_ind r0, 0\n",
                90);
    /* a pair's registers read through the other formats: the base of
     * an immediate form (r6) and a two-register move (r5) */
    jk_vec_runs("start:\n"
                "  fallthrough\n"
                "copy:\n"
                "  load_ind_u64 r5, r1, 0\n"
                "  load_ind_u64 r6, r1, 8\n"
                "  store_ind_u64 r5, r3, 0\n"
                "  store_ind_u64 r6, r3, 8\n"
                "  add_imm_64 r7, r6, 1\n"
                "  load_ind_u64 r8, r1, 16\n"
                "  load_ind_u64 r9, r1, 24\n"
                "  store_ind_u64 r8, r3, 16\n"
                "  store_ind_u64 r9, r3, 24\n"
                "  move_reg r10, r9\n"
                "  add_imm_64 r1, r1, 32\n"
                "  add_imm_64 r3, r3, 32\n"
                "  add_imm_64 r4, r4, -1\n"
                "  branch_ne_imm r4, 0, copy\n"
                "  load_imm r0, 0xffff0000\n"
                "  jump_ind r0, 0\n",
                300);
}

/* Folded derived bases: run from every start and gas schedule, and from
 * every instruction of the loop block [first, last] (a run may start
 * mid-block, after the base's add, with a stale base). */
static void jk_fold_runs(const char *src, uint32_t first, uint32_t last, uint64_t bound)
{
    jk_pvm_program *prog = jk_test_asm_program(src, true);
    JK_REQUIRE(prog != NULL);
    static const int64_t gases[][2] = {{INT64_C(1) << 24, 1}, {700, 333}, {41, 17}, {9, 5}};
    static const uint64_t starts[] = {0x10000, 0x10ff0, 0x13f00, 0x16f80, 0x17ff8};
    for (size_t s = 0; s < sizeof starts / sizeof starts[0]; s++)
        for (size_t g = 0; g < sizeof gases / sizeof gases[0]; g++)
            for (uint32_t at = first; at <= last; at++)
                jk_vec_both_at(prog, at == first ? 0 : at, starts[s], 0, bound, gases[g][0], gases[g][1]);
    /* mid-block starts with just enough gas to reach the check, so that
     * the copy is left before its first iteration */
    for (size_t s = 0; s < sizeof starts / sizeof starts[0]; s++)
        for (uint32_t at = first + 1; at <= last; at++)
            for (int64_t gas = 1; gas <= 16; gas++)
                jk_vec_both_at(prog, at, starts[s], 0, bound, gas, 5);
    jk_vec_both(prog, UINT64_C(0x100010000), 0, bound, INT64_C(1) << 24, 1);
    jk_pvm_program_free(prog);
}

/* The register-step loops' start (x = r10, p = r12, step r8 = 3) up to
 * their base's add, and the halt after them. */
#define JK_FOLD_HEAD                                                          \
    "start:\n  move_reg r10, r1\n  load_imm r12, 0\n  load_imm r8, 3\n  fallthrough\n" \
    "mark:\n  add_64 r11, r10, r12\n"
#define JK_FOLD_HALT "  load_imm r0, 0xffff0000\n  jump_ind r0, 0\n"

JK_TEST(test_jit_loop_fold_register_step)
{
    /* the asm sieve's marking loop: b = x + p, a store through b, p
     * stepped by a register after it; the bound (r4) past the pages, so
     * runs end by a fault on the copy-on-write page or by the bound */
    jk_fold_runs(JK_FOLD_HEAD
                 "  store_ind_u8 r8, r11, 0\n"
                 "  load_ind_u8 r7, r11, 1\n"
                 "  add_64 r12, r12, r8\n"
                 "  branch_lt_u r12, r4, mark\n" JK_FOLD_HALT,
                 4, 8, 3000);
    /* an access through b after p's register step: not folded (its offset
     * would depend on the step) */
    jk_fold_runs(JK_FOLD_HEAD
                 "  add_64 r12, r12, r8\n"
                 "  store_ind_u8 r8, r11, 0\n"
                 "  branch_lt_u r12, r4, mark\n" JK_FOLD_HALT,
                 4, 7, 3000);
}

JK_TEST(test_jit_loop_fold_constant_step)
{
    /* p stepped by a constant between the add and the base's accesses
     * (their offsets move back by the stride in the copy), then p stepped
     * before the add (b = x + p at an iteration's end), then a base the
     * branch reads (not folded) */
    const char *after = "start:\n"
                        "  move_reg r10, r1\n"
                        "  load_imm r12, 0\n"
                        "  fallthrough\n"
                        "mark:\n"
                        "  add_64 r11, r10, r12\n"
                        "  add_imm_64 r12, r12, 5\n"
                        "  store_ind_u16 r12, r11, 2\n"
                        "  load_ind_u8 r7, r11, 1\n"
                        "  branch_lt_u r12, r4, mark\n"
                        "  load_imm r0, 0xffff0000\n"
                        "  jump_ind r0, 0\n";
    jk_fold_runs(after, 3, 7, 4000);
    const char *pre = "start:\n"
                      "  move_reg r10, r1\n"
                      "  load_imm r12, 0\n"
                      "  fallthrough\n"
                      "mark:\n"
                      "  add_imm_64 r12, r12, 7\n"
                      "  add_64 r11, r12, r10\n"
                      "  store_ind_u8 r12, r11, -3\n"
                      "  branch_lt_u r12, r4, mark\n"
                      "  load_imm r0, 0xffff0000\n"
                      "  jump_ind r0, 0\n";
    jk_fold_runs(pre, 3, 6, 6000);
    const char *read = "start:\n"
                       "  move_reg r10, r1\n"
                       "  load_imm r12, 0\n"
                       "  fallthrough\n"
                       "mark:\n"
                       "  add_64 r11, r10, r12\n"
                       "  store_ind_u8 r12, r11, 0\n"
                       "  add_imm_64 r12, r12, 2\n"
                       "  branch_ne r11, r4, mark\n"
                       "  load_imm r0, 0xffff0000\n"
                       "  jump_ind r0, 0\n";
    jk_fold_runs(read, 3, 6, 0x11800);
}
