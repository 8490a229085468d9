/*
 * test_jit_loop_bulk.c — a copy loop's iterations moved with `rep movsb`
 * (session 11, src/pvm/jit_loop_bulk.c, docs/pvm.md "Bulk copies (session
 * 11)"). Each loop runs on both engines in lockstep over a memory of 300
 * arena pages, whole or with a copy-on-write Data page, a read-only page and
 * an unmapped page inside, from starts at page ends and before each hole,
 * with buffers apart and overlapping by a word, half an iteration, an
 * iteration and more, lengths from none to hundreds of pages, and gas that
 * runs out inside the loop; every stop is compared whole (status, pc, gas,
 * registers, fault address), and the memories at the end.
 */
#include "../test.h"
#include "jit_test_util.h"

#define JK_BULK_BASE 0x10000u
#define JK_BULK_PAGES 300u
#define JK_BULK_END (JK_BULK_BASE + JK_BULK_PAGES * 4096u)

static _Alignas(4096) uint8_t jk_bulk_data[4096];

static jk_pvm_memory *jk_bulk_memory(int holes)
{
    jk_pvm_memory *mem = NULL;
    if (jk_pvm_memory_new(&mem) != JK_OK)
        return NULL;
    jk_pvm_memory_map(mem, JK_BULK_BASE, JK_BULK_PAGES * 4096u, JK_PVM_ACCESS_WRITE);
    uint8_t fill[4096];
    for (uint32_t a = JK_BULK_BASE; a < JK_BULK_END; a += sizeof fill) {
        for (unsigned i = 0; i < sizeof fill; i++)
            fill[i] = (uint8_t)(a / 4096 * 11 + i * 7 + 3);
        jk_pvm_memory_write(mem, a, fill, sizeof fill);
    }
    if (holes) {
        jk_pvm_memory_map_shared(mem, 0x40000, jk_bulk_data, JK_PVM_ACCESS_WRITE); /* copy-on-write */
        jk_pvm_memory_map(mem, 0x60000, 4096, JK_PVM_ACCESS_READ);                 /* read-only */
        jk_pvm_memory_map(mem, 0x80000, 4096, JK_PVM_ACCESS_NONE);                 /* unmapped */
    }
    return mem;
}

static const int64_t jk_bulk_gas[][3] = {
    {INT64_C(1) << 40, 1, 4}, /* plenty */
    {30011, 7777, 400},       /* out of gas every few thousand iterations */
    {47, 29, 300},            /* ... every few, near the start */
};

/* prog on both engines from regs (r1..r6 as given, the rest a pattern),
 * with every gas schedule, on both layouts. */
static void jk_bulk_both(const jk_pvm_program *prog, const uint64_t regs[7])
{
    for (int holes = 0; holes < 2; holes++)
        for (size_t g = 0; g < sizeof jk_bulk_gas / sizeof jk_bulk_gas[0]; g++) {
            jk_test_lockstep run = {.memory = jk_bulk_memory, .layout = holes, .gas = jk_bulk_gas[g][0],
                                    .step = jk_bulk_gas[g][1], .hops = (int)jk_bulk_gas[g][2],
                                    .pages = {{JK_BULK_BASE, JK_BULK_END}}};
            jk_test_pattern_regs(run.regs);
            memcpy(run.regs + 1, regs + 1, 6 * sizeof regs[0]);
            jk_test_lockstep_run(prog, &run, NULL);
        }
    for (size_t i = 0; i < sizeof jk_bulk_data; i++)
        JK_CHECK(jk_bulk_data[i] == 0x5A); /* the Data page is never written */
}

/* Sources: the arena's first page, a word before a page end, before each
 * hole (so the source or, further on, the destination runs into it), a
 * page from the arena's end (the loop runs off the mapped pages). */
static const uint64_t jk_bulk_starts[] = {JK_BULK_BASE, 0x12ff8, 0x3ffe0, 0x5fff0, 0x7ff00, JK_BULK_END - 0x1000};
/* dst − src: apart, in the other direction, and overlapping by a word,
 * half an iteration, one, and several (both directions), and in place */
static const int64_t jk_bulk_dist[] = {0x21000, -0x9000, 8, 16, 32, 1024, -8, -32, -1024, 0};
/* bytes the loop's bound is past its cursor: none (and below: the loop runs
 * once), one iteration, not a multiple of one, a page, hundreds of pages */
static const int64_t jk_bulk_len[] = {0, -64, 32, 40, 4096, 0x100000};

/* A loop that copies 32 bytes a step: registers v[0..3] loaded through s
 * at lo, lo + 8, ..., stored in the same order through d, both cursors
 * stepped (d first), then `branch` back. */
static jk_pvm_program *jk_bulk_copy32(const char *const v[4], const char *s, const char *d, int lo, const char *branch)
{
    char src[1024];
    size_t n = (size_t)snprintf(src, sizeof src, "start:\n  fallthrough\ncopy:\n");
    for (int i = 0; i < 8; i++)
        n += (size_t)snprintf(src + n, sizeof src - n, "  %s_ind_u64 %s, %s, %d\n", i < 4 ? "load" : "store",
                              v[i % 4], i < 4 ? s : d, lo + 8 * (i % 4));
    snprintf(src + n, sizeof src - n,
             "  add_imm_64 %s, %s, 32\n  add_imm_64 %s, %s, 32\n  %s, copy\n  load_imm r0, 0xffff0000\n"
             "  jump_ind r0, 0\n",
             d, d, s, s, branch);
    return jk_test_asm_program(src, true);
}

/* Every start, distance and length: the source cursor (register rs) at
 * start − lo, the destination (rd) `dist` away, the bound (re) `len` past
 * the destination when on_dst, else past the source. */
static void jk_bulk_matrix(const jk_pvm_program *prog, int rs, int rd, int re, int lo, bool on_dst)
{
    for (size_t s = 0; s < sizeof jk_bulk_starts / sizeof jk_bulk_starts[0]; s++)
        for (size_t d = 0; d < sizeof jk_bulk_dist / sizeof jk_bulk_dist[0]; d++)
            for (size_t n = 0; n < sizeof jk_bulk_len / sizeof jk_bulk_len[0]; n++) {
                uint64_t regs[7] = {0};
                regs[rs] = jk_bulk_starts[s] - (uint64_t)(int64_t)lo;
                regs[rd] = regs[rs] + (uint64_t)jk_bulk_dist[d];
                regs[re] = (on_dst ? regs[rd] : regs[rs]) + (uint64_t)jk_bulk_len[n];
                jk_bulk_both(prog, regs);
            }
}

/* The copy.s loop: branch_lt_u on the source cursor. */
JK_TEST(test_jit_loop_bulk_lt_u)
{
    memset(jk_bulk_data, 0x5A, sizeof jk_bulk_data);
    static const char *const v[4] = {"r5", "r6", "r7", "r8"};
    jk_pvm_program *prog = jk_bulk_copy32(v, "r1", "r3", 0, "branch_lt_u r1, r4");
    JK_REQUIRE(prog != NULL);
    jk_bulk_matrix(prog, 1, 3, 4, 0, false);
    jk_pvm_program_free(prog);
}

/* The SDK's c_copy loop (clang's): offsets −16..+8, r0 among the words,
 * the bound on the destination, branch_ne; a bound that is not a multiple
 * of 32 away is never met (the loop runs off the pages). */
JK_TEST(test_jit_loop_bulk_ne_c_copy)
{
    memset(jk_bulk_data, 0x5A, sizeof jk_bulk_data);
    static const char *const v[4] = {"r0", "r1", "r2", "r3"};
    jk_pvm_program *prog = jk_bulk_copy32(v, "r5", "r4", -16, "branch_ne r4, r6");
    JK_REQUIRE(prog != NULL);
    jk_bulk_matrix(prog, 5, 4, 6, -16, true);
    jk_pvm_program_free(prog);
}

/* Other shapes taken: 8 bytes a step with the bound first (`branch_ne r4,
 * r1`, on the source); 16 bytes a step with the source stepped between its
 * loads and the stores in the other order. And shapes that must not be taken
 * (they run the checked copy, with the same results): the words swapped on
 * the way, a store before its register's load (the previous iteration's
 * value), a third register stepped. */
JK_TEST(test_jit_loop_bulk_shapes)
{
    memset(jk_bulk_data, 0x5A, sizeof jk_bulk_data);
    static const char *const srcs[] = {
        "start:\n  fallthrough\ncopy:\n"
        "  load_ind_u64 r5, r1, 0\n  store_ind_u64 r5, r3, 0\n"
        "  add_imm_64 r1, r1, 8\n  add_imm_64 r3, r3, 8\n  branch_ne r4, r1, copy\n  trap\n",
        "start:\n  fallthrough\ncopy:\n"
        "  load_ind_u64 r5, r1, 0\n  add_imm_64 r1, r1, 16\n  load_ind_u64 r6, r1, -8\n"
        "  store_ind_u64 r6, r3, 8\n  store_ind_u64 r5, r3, 0\n  add_imm_64 r3, r3, 16\n"
        "  branch_lt_u r1, r4, copy\n  trap\n",
        "start:\n  fallthrough\ncopy:\n"
        "  load_ind_u64 r5, r1, 0\n  load_ind_u64 r6, r1, 8\n"
        "  store_ind_u64 r6, r3, 0\n  store_ind_u64 r5, r3, 8\n"
        "  add_imm_64 r1, r1, 16\n  add_imm_64 r3, r3, 16\n  branch_lt_u r1, r4, copy\n  trap\n",
        "start:\n  fallthrough\ncopy:\n"
        "  store_ind_u64 r5, r3, 0\n  load_ind_u64 r5, r1, 0\n"
        "  add_imm_64 r1, r1, 8\n  add_imm_64 r3, r3, 8\n  branch_lt_u r1, r4, copy\n  trap\n",
        "start:\n  fallthrough\ncopy:\n"
        "  load_ind_u64 r5, r1, 0\n  store_ind_u64 r5, r3, 0\n  add_imm_64 r6, r6, 1\n"
        "  add_imm_64 r1, r1, 8\n  add_imm_64 r3, r3, 8\n  branch_lt_u r1, r4, copy\n  trap\n",
    };
    static const uint64_t starts[] = {JK_BULK_BASE, 0x3ffe0, 0x5fff0};
    static const int64_t dist[] = {0x21000, 8, -8, 0};
    static const int64_t len[] = {0, 8, 12, 0x80000};
    for (size_t p = 0; p < sizeof srcs / sizeof srcs[0]; p++) {
        jk_pvm_program *prog = jk_test_asm_program(srcs[p], true);
        JK_REQUIRE(prog != NULL);
        for (size_t s = 0; s < sizeof starts / sizeof starts[0]; s++)
            for (size_t d = 0; d < sizeof dist / sizeof dist[0]; d++)
                for (size_t n = 0; n < sizeof len / sizeof len[0]; n++) {
                    uint64_t regs[7] = {0, starts[s], 0, starts[s] + (uint64_t)dist[d], starts[s] + (uint64_t)len[n]};
                    jk_bulk_both(prog, regs);
                }
        jk_pvm_program_free(prog);
    }
}
