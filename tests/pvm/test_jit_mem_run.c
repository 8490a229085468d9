/*
 * test_jit_mem_run.c — a strided loop's check over runs of pages (session 9,
 * src/pvm/jit_loop_check.c jk_loop_run, docs/pvm.md "Memory (session 9)"):
 * K counts the iterations every cursor stays inside the run of pages whose
 * page-table entries follow one another by 4096 (consecutive host pages
 * with the same flags: an arena's), up to 255 pages past the cursor's and
 * never past its leaf. Each loop runs on both engines in lockstep over a
 * memory of 300 arena pages, whole or with holes of every kind inside
 * (a copy-on-write Data page, a page made read-only in place, an unmapped
 * page, a page unmapped and mapped again), plus a second arena across the
 * 4 MiB leaf boundary and two Data pages that are adjacent on the host;
 * every stop is compared whole, and the memories at the end.
 */
#include "../test.h"
#include "jit_test_util.h"
#include "../../src/pvm/jit.h"

#include <stdlib.h>

#define JK_RUN_BASE 0x10000u
#define JK_RUN_PAGES 300u
#define JK_RUN_END (JK_RUN_BASE + JK_RUN_PAGES * 4096u)
#define JK_RUN_LEAF 0x3F0000u /* a second arena, 0x3F0000..0x410000 */

static _Alignas(4096) uint8_t jk_run_data[3 * 4096];

static jk_pvm_memory *jk_run_memory(int holes)
{
    jk_pvm_memory *mem = NULL;
    if (jk_pvm_memory_new(&mem) != JK_OK)
        return NULL;
    jk_pvm_memory_map(mem, JK_RUN_BASE, JK_RUN_PAGES * 4096u, JK_PVM_ACCESS_WRITE);
    jk_pvm_memory_map(mem, JK_RUN_LEAF, 0x20000, JK_PVM_ACCESS_WRITE);
    uint8_t fill[4096];
    for (uint32_t a = JK_RUN_BASE; a < JK_RUN_END; a += sizeof fill) {
        for (unsigned i = 0; i < sizeof fill; i++)
            fill[i] = (uint8_t)(a / 4096 * 7 + i * 13 + 1);
        jk_pvm_memory_write(mem, a, fill, sizeof fill);
    }
    if (holes) {
        jk_pvm_memory_map_shared(mem, 0x40000, jk_run_data, JK_PVM_ACCESS_WRITE); /* copy-on-write */
        jk_pvm_memory_map(mem, 0x60000, 4096, JK_PVM_ACCESS_READ);                /* read-only in place */
        jk_pvm_memory_map(mem, 0x80000, 4096, JK_PVM_ACCESS_NONE);                /* unmapped */
        jk_pvm_memory_map(mem, 0xA0000, 4096, JK_PVM_ACCESS_NONE);                /* and mapped again */
        jk_pvm_memory_map(mem, 0xA0000, 4096, JK_PVM_ACCESS_WRITE);
        /* two Data pages adjacent on the host, read-only, after the arena */
        jk_pvm_memory_map_shared(mem, JK_RUN_END, jk_run_data + 4096, JK_PVM_ACCESS_READ);
        jk_pvm_memory_map_shared(mem, JK_RUN_END + 4096, jk_run_data + 8192, JK_PVM_ACCESS_READ);
    }
    return mem;
}

/* Run prog with r1 = src, r3 = dst, r4 = count, r2 = step on both engines,
 * `gas` at first and `step` more at each out-of-gas stop. */
static void jk_run_both(const jk_pvm_program *prog, bool holes, uint64_t src, uint64_t dst, uint64_t count,
                        uint64_t rstep, int64_t gas, int64_t step, int hops)
{
    jk_test_lockstep run = {.memory = jk_run_memory, .layout = holes, .gas = gas, .step = step, .hops = hops,
                            .pages = {{JK_RUN_BASE, JK_RUN_END + 4096}, {JK_RUN_LEAF, JK_RUN_LEAF + 0x1F000}}};
    jk_test_pattern_regs(run.regs);
    run.regs[1] = src;
    run.regs[2] = rstep;
    run.regs[3] = dst;
    run.regs[4] = count;
    jk_test_lockstep_run(prog, &run, NULL);
    for (size_t i = 0; i < 4096; i++)
        JK_CHECK(jk_run_data[i] == 0x77); /* the Data pages are never written */
}

static const int64_t jk_run_gas[][3] = {
    {INT64_C(1) << 40, 1, 4},   /* plenty */
    {20011, 7777, 400},         /* stops every few hundred iterations */
    {53, 29, 300},              /* stops every few iterations, near the starts */
};

/* Every start (below) on both layouts, with dst = src + distance. */
static void jk_run_all(const char *src, uint64_t count, uint64_t rstep, const int64_t *distances, size_t nd,
                       const uint64_t *starts, size_t ns)
{
    memset(jk_run_data, 0x77, sizeof jk_run_data);
    jk_pvm_program *prog = jk_test_asm_program(src, true);
    JK_REQUIRE(prog != NULL);
    for (int holes = 0; holes < 2; holes++)
        for (size_t d = 0; d < nd; d++)
            for (size_t s = 0; s < ns; s++)
                for (size_t g = 0; g < sizeof jk_run_gas / sizeof jk_run_gas[0]; g++)
                    jk_run_both(prog, holes, starts[s], starts[s] + (uint64_t)distances[d], count, rstep,
                                jk_run_gas[g][0], jk_run_gas[g][1], (int)jk_run_gas[g][2]);
    jk_pvm_program_free(prog);
}

/* Starts: the arena's first page, mid-page, a few bytes before each hole,
 * right after one, just below the leaf boundary, and in the Data pages. */
static const uint64_t jk_run_starts[] = {JK_RUN_BASE, 0x10ff8, 0x3ffe0, 0x5fff0, 0x7ff00, 0x9ffe8, 0x41008,
                                         JK_RUN_LEAF + 0xF000, 0x3fff8};

JK_TEST(test_jit_mem_run_copy_forward)
{
    /* the asm `copy` loop: two cursors, 32 bytes a step, 16-byte moves */
    static const int64_t dist[] = {0x2000, 0x41000, -0x3000, 8};
    jk_run_all(JK_TEST_COPY32_ASM,
               40000, 0, dist, sizeof dist / sizeof dist[0], jk_run_starts,
               sizeof jk_run_starts / sizeof jk_run_starts[0]);
}

/* One byte read and written per step, the step a constant. */
static void jk_run_stride(int stride, uint64_t count)
{
    char src[512];
    snprintf(src, sizeof src,
             "start:\n"
             "  fallthrough\n"
             "loop:\n"
             "  load_ind_u8 r5, r1, 0\n"
             "  add_imm_64 r5, r5, 1\n"
             "  store_ind_u8 r5, r3, 1\n"
             "  add_imm_64 r1, r1, %d\n"
             "  add_imm_64 r3, r3, %d\n"
             "  add_imm_64 r4, r4, -1\n"
             "  branch_ne_imm r4, 0, loop\n"
             "  load_imm r0, 0xffff0000\n"
             "  jump_ind r0, 0\n",
             stride, stride);
    static const int64_t dist[] = {0x1000, 0};
    static const uint64_t back[] = {0x12CFF0, 0x7F000, 0x60010, 0x41000, JK_RUN_LEAF + 0x11000, 0x12D010};
    if (stride > 0)
        jk_run_all(src, count, 0, dist, 2, jk_run_starts, sizeof jk_run_starts / sizeof jk_run_starts[0]);
    else
        jk_run_all(src, count, 0, dist, 2, back, sizeof back / sizeof back[0]);
}

JK_TEST(test_jit_mem_run_constant_strides)
{
    /* K = room / stride + 1 over rooms up to 1 MiB: a shift for powers of
     * two, a multiply by ceil(2^32 / d) otherwise (exact below 2^21) */
    jk_run_stride(1, 300000);
    jk_run_stride(3, 200000);
    jk_run_stride(7, 100000);
    jk_run_stride(2000, 1000);
    jk_run_stride(2048, 1000);
    jk_run_stride(-1, 300000);
    jk_run_stride(-3, 200000);
    jk_run_stride(-2000, 1000);
}

JK_TEST(test_jit_mem_run_register_steps)
{
    /* the sieve's marking loop: K from a shift of the run's room */
    static const char *src = "start:\n"
                             "  fallthrough\n"
                             "mark:\n"
                             "  store_ind_u8 r5, r1, 0\n"
                             "  add_64 r1, r1, r2\n"
                             "  branch_lt_u r1, r4, mark\n"
                             "  load_imm r0, 0xffff0000\n"
                             "  jump_ind r0, 0\n";
    static const int64_t dist[] = {0};
    static const uint64_t steps[] = {1, 3, 100, 256};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
        jk_run_all(src, JK_RUN_END + 0x3000, steps[i], dist, 1, jk_run_starts,
                   sizeof jk_run_starts / sizeof jk_run_starts[0]);
}

/* The top 16 pages of the address space, writable. */
static jk_pvm_memory *jk_top_memory(int layout)
{
    (void)layout;
    jk_pvm_memory *mem = NULL;
    if (jk_pvm_memory_new(&mem) != JK_OK)
        return NULL;
    if (jk_pvm_memory_map(mem, 0xFFFF0000u, 0x10000, JK_PVM_ACCESS_WRITE) != JK_OK) {
        jk_pvm_memory_free(mem);
        return NULL;
    }
    return mem;
}

JK_TEST(test_jit_mem_run_cursor_reaching_2_32)
{
    /* A copy at the top of the space whose destination cursor reaches
     * exactly 2^32 at a check: the address is not a 32-bit one, so the
     * ordinary code runs the iteration (its store wraps to 0 and panics).
     * Before session 9 the check's probe XORed 2^32 with the empty TLB
     * entry's tag (also 2^32), saw a hit and stored through the stale host
     * page the entry last held (a crash or a write outside guest memory). */
    jk_pvm_program *prog = jk_test_asm_program("start:\n"
                                               "  fallthrough\n"
                                               "copy:\n"
                                               "  load_ind_u64 r5, r1, 0\n"
                                               "  load_ind_u64 r6, r1, 8\n"
                                               "  store_ind_u64 r5, r3, 0\n"
                                               "  store_ind_u64 r6, r3, 8\n"
                                               "  add_imm_64 r1, r1, 256\n"
                                               "  add_imm_64 r3, r3, 256\n"
                                               "  branch_ne_imm r4, 0, copy\n"
                                               "  trap\n",
                                               true);
    JK_REQUIRE(prog != NULL);
    static const uint64_t dsts[] = {0xFFFF8000u, 0xFFFFF000u, 0xFFFFFF00u, 0xFFFF0100u};
    for (size_t d = 0; d < sizeof dsts / sizeof dsts[0]; d++)
        for (int64_t gas = 9; gas < 5000; gas = gas * 3 + 1) {
            jk_test_lockstep run = {.memory = jk_top_memory, .gas = gas, .step = gas, .hops = 200,
                                    .pages = {{0xFFFF0000u, 0xFFFFF000u}}};
            run.regs[1] = 0xFFFF0000u;
            run.regs[3] = dsts[d];
            run.regs[4] = 1;
            jk_pvm_exit last;
            jk_test_lockstep_run(prog, &run, &last);
            JK_CHECK_EQ(last.status, JK_PVM_PANIC);
        }
    jk_pvm_program_free(prog);
}
