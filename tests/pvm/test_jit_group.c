/*
 * test_jit_group.c — the recompiler's access groups (src/pvm/jit_group.c):
 * runs of loads and stores through one base register, checked with one page
 * probe, must behave exactly as the interpreter wherever the span lies: inside
 * a writable page, across the end of one, on a read-only, copy-on-write or
 * unmapped page, past 2^32, and with gas running out at the block's start.
 */
#include "../test.h"
#include "jit_test_util.h"
#include "../../src/pvm/jit.h"

#include <stdlib.h>

/* A Data cap's page, mapped copy-on-write at 0x22000 and read-only at 0x25000. */
static _Alignas(4096) uint8_t jk_group_shared[4096];

static jk_pvm_memory *jk_group_memory(void)
{
    jk_pvm_memory *mem = NULL;
    if (jk_pvm_memory_new(&mem) != JK_OK)
        return NULL;
    jk_pvm_memory_map(mem, 0x20000, 0x1000, JK_PVM_ACCESS_WRITE);
    jk_pvm_memory_map(mem, 0x21000, 0x1000, JK_PVM_ACCESS_READ);
    jk_pvm_memory_map_shared(mem, 0x22000, jk_group_shared, JK_PVM_ACCESS_WRITE);
    /* 0x23000 unmapped */
    jk_pvm_memory_map(mem, 0x24000, 0x1000, JK_PVM_ACCESS_WRITE);
    jk_pvm_memory_map_shared(mem, 0x25000, jk_group_shared, JK_PVM_ACCESS_READ);
    uint8_t fill[64];
    for (unsigned i = 0; i < sizeof fill; i++)
        fill[i] = (uint8_t)(i * 29 + 3);
    for (uint32_t a = 0x20000; a < 0x21000; a += 0x100)
        jk_pvm_memory_write(mem, a, fill, sizeof fill);
    jk_pvm_memory_write(mem, 0x21fc0, fill, sizeof fill);
    /* for the strided loops: four writable pages, then copy-on-write,
     * read-only, writable, unmapped */
    jk_pvm_memory_map(mem, 0x30000, 0x4000, JK_PVM_ACCESS_WRITE);
    jk_pvm_memory_map_shared(mem, 0x34000, jk_group_shared, JK_PVM_ACCESS_WRITE);
    jk_pvm_memory_map(mem, 0x35000, 0x1000, JK_PVM_ACCESS_READ);
    jk_pvm_memory_map(mem, 0x36000, 0x1000, JK_PVM_ACCESS_WRITE);
    for (uint32_t a = 0x30000; a < 0x37000; a += sizeof fill)
        if (a < 0x34000 || a >= 0x36000)
            jk_pvm_memory_write(mem, a, fill, sizeof fill);
    return mem;
}

/* Run prog from base address `base` (r1) on both engines, with `gas`
 * (resumed with `step` more on out-of-gas), and compare everything. */
static void jk_group_both_step(const jk_pvm_program *prog, uint64_t base, int64_t gas, int64_t step)
{
    jk_pvm_memory *mem[2];
    jk_pvm_state st[2];
    jk_pvm_exit ex[2];
    for (int e = 0; e < 2; e++) {
        mem[e] = jk_group_memory();
        JK_REQUIRE(mem[e] != NULL);
        memset(&st[e], 0, sizeof st[e]);
        for (int r = 0; r < JK_PVM_REGS; r++)
            st[e].regs[r] = (uint64_t)r * 0x0101010101010101u;
        st[e].regs[1] = base;
        st[e].gas = gas;
        for (int hop = 0; hop < 100; hop++) {
            JK_REQUIRE(jk_pvm_run_engine(prog, mem[e], &st[e], &ex[e],
                                         e ? JK_PVM_ENGINE_JIT : JK_PVM_ENGINE_INTERP) == JK_OK);
            if (ex[e].status != JK_PVM_OUT_OF_GAS)
                break;
            st[e].gas += step;
        }
    }
    JK_CHECK_EQ(ex[0].status, ex[1].status);
    JK_CHECK_EQ(ex[0].fault_address, ex[1].fault_address);
    JK_CHECK_EQ(st[0].pc, st[1].pc);
    JK_CHECK_EQ(st[0].gas, st[1].gas);
    for (int r = 0; r < JK_PVM_REGS; r++)
        JK_CHECK_EQ(st[0].regs[r], st[1].regs[r]);
    for (uint32_t a = 0x1f000; a <= 0x38000; a += JK_PVM_PAGE_SIZE) {
        JK_CHECK_EQ(jk_pvm_memory_access_at(mem[0], a), jk_pvm_memory_access_at(mem[1], a));
        const uint8_t *p0 = jk_pvm_memory_page(mem[0], a), *p1 = jk_pvm_memory_page(mem[1], a);
        JK_CHECK_EQ(p0 == NULL, p1 == NULL);
        if (p0 && p1)
            JK_CHECK(memcmp(p0, p1, JK_PVM_PAGE_SIZE) == 0);
    }
    const uint32_t *d0, *d1;
    size_t n0, n1;
    jk_pvm_memory_dirty_pages(mem[0], &d0, &n0);
    jk_pvm_memory_dirty_pages(mem[1], &d1, &n1);
    JK_CHECK_EQ(n0, n1);
    if (n0 == n1 && n0)
        JK_CHECK(memcmp(d0, d1, n0 * sizeof *d0) == 0);
    jk_pvm_memory_free(mem[0]);
    jk_pvm_memory_free(mem[1]);
    JK_CHECK(jk_group_shared[20] == 0); /* the Data cap's page is never written */
}

static void jk_group_both(const jk_pvm_program *prog, uint64_t base, int64_t gas)
{
    jk_group_both_step(prog, base, gas, 3);
}

JK_TEST(test_jit_access_groups_are_the_interpreters)
{
    /* Block 1: a load-only group (its loads fill the TLB for reading); block
     * 2: a loop whose group loads and stores near the same base, so from the
     * second round on (or at once, after block 1) the probe finds the page in
     * the TLB; block 3: a mixed group (stores and loads, overlapping, signed
     * and unsigned, a constant store, ALU between them, offsets below and
     * above the first); block 4: a load-only group whose last load replaces
     * the base. A read-only page must never be written through a group that
     * stores, even when the TLB for reading holds it. */
    jk_pvm_program *prog = jk_test_asm_program(
        "start:\n"
        "  add_imm_64 r0, r1, 40\n"
        "  load_ind_u64 r7, r1, 0\n"
        "  xor r8, r7, r6\n"
        "  load_ind_u16 r8, r1, 2\n"
        "  load_imm r11, 4\n"
        "  fallthrough\n"
        "loop:\n"
        "  load_ind_u32 r12, r0, 4\n"
        "  store_ind_u32 r11, r0, 0\n"
        "  store_ind_u32 r12, r0, 8\n"
        "  add_imm_64 r11, r11, -1\n"
        "  branch_ne_imm r11, 0, loop\n"
        "  store_ind_u64 r2, r1, 8\n"
        "  add_64 r3, r3, r2\n"
        "  load_ind_u32 r4, r1, 12\n"
        "  store_imm_ind_u16 r1, 20, 0x1234\n"
        "  shlo_l_imm_64 r9, r4, 3\n"
        "  load_ind_i8 r5, r1, 0\n"
        "  store_ind_u8 r3, r1, 30\n"
        "  load_ind_u64 r6, r1, 24\n"
        "  load_ind_i16 r10, r1, 21\n"
        "  fallthrough\n"
        "reads:\n"
        "  load_ind_u64 r7, r1, 0\n"
        "  xor r8, r7, r6\n"
        "  load_ind_u16 r8, r1, 2\n"
        "  load_ind_u64 r1, r1, 16\n"
        "  load_imm r0, 0xffff0000\n"
        "  jump_ind r0, 0\n", false);
    JK_REQUIRE(prog != NULL);
#if JK_PVM_HAVE_JIT
    JK_CHECK(jk_pvm_program_jitted(prog));
#endif
    /* bases across every kind of page boundary, and bases past 2^32 whose
     * 32-bit sums land in the same places */
    static const uint64_t starts[] = {0x20f00, 0x21f80, 0x22f80, 0x23f80, 0x24f80, 0x1ffc0,
                                      0x100020f80u, 0xffffffe0u};
    int64_t gases[] = {1000, 3};
    for (size_t s = 0; s < sizeof starts / sizeof starts[0]; s++)
        for (uint64_t base = starts[s]; base < starts[s] + 0xa0; base += 3)
            for (size_t g = 0; g < 2; g++)
                jk_group_both(prog, base, gases[g]);
    jk_pvm_program_free(prog);
}

/* Strided loops (src/pvm/jit_loop.c): a block that branches back to itself
 * and walks memory through cursors advanced by constant strides is checked
 * once per page, not once per iteration. Each program runs from many bases
 * (r1) over four writable pages followed by a copy-on-write, a read-only, a
 * writable and an unmapped page, so faults land on the first, a middle and
 * the last iteration, page crossings fall mid-loop, copy-on-write pages are
 * written mid-loop (dirty list compared), and gas runs out mid-loop (small
 * gas, resumed in steps) or is plenty (the gas held back by the check). */
static void jk_loop_runs(const char *src, uint64_t lo, uint64_t hi, uint64_t step)
{
    jk_pvm_program *prog = jk_test_asm_program(src, false);
    JK_REQUIRE(prog != NULL);
#if JK_PVM_HAVE_JIT
    JK_CHECK(jk_pvm_program_jitted(prog));
#endif
    static const int64_t gases[][2] = {{INT64_C(1) << 20, 97}, {1001, 97}, {50, 3}};
    for (uint64_t base = lo; base < hi; base += step)
        for (size_t g = 0; g < sizeof gases / sizeof gases[0]; g++)
            jk_group_both_step(prog, base, gases[g][0], gases[g][1]);
    /* bases past 2^32 (the check must not take them) and just below it */
    for (size_t g = 0; g < sizeof gases / sizeof gases[0]; g++) {
        jk_group_both_step(prog, UINT64_C(0x100030000) + lo % 0x1000, gases[g][0], gases[g][1]);
        jk_group_both_step(prog, UINT64_C(0xfffffff0), gases[g][0], gases[g][1]);
    }
    for (size_t i = 0; i < sizeof jk_group_shared; i++)
        JK_CHECK(jk_group_shared[i] == 0);
    jk_pvm_program_free(prog);
}

JK_TEST(test_jit_strided_loop_copy)
{
    /* two cursors, positive stride; the destination runs 0x2800 ahead, into
     * the copy-on-write, then the read-only page, and its last iterations
     * read what its first ones wrote */
    jk_loop_runs("start:\n"
                 "  load_imm r4, 700\n"
                 "  add_imm_64 r3, r1, 0x2800\n"
                 "  fallthrough\n"
                 "copy:\n"
                 "  load_ind_u64 r5, r1, 0\n"
                 "  load_ind_u64 r6, r1, 8\n"
                 "  store_ind_u64 r5, r3, 0\n"
                 "  store_ind_u64 r6, r3, 8\n"
                 "  add_imm_64 r1, r1, 16\n"
                 "  add_imm_64 r3, r3, 16\n"
                 "  add_imm_64 r4, r4, -1\n"
                 "  branch_ne_imm r4, 0, copy\n"
                 "  load_imm r0, 0xffff0000\n"
                 "  jump_ind r0, 0\n",
                 0x2ff00, 0x33000, 0x1f8);
}

JK_TEST(test_jit_strided_loop_backwards)
{
    /* a negative stride, the cursor moved before its accesses (offsets
     * relative to the moved value), a constant store and sign-extending
     * loads; downwards from the writable page past the read-only one, from
     * the copy-on-write page, and off the bottom of the writable pages */
    jk_loop_runs("start:\n"
                 "  load_imm r4, 400\n"
                 "  load_imm r8, 0\n"
                 "  fallthrough\n"
                 "back:\n"
                 "  add_imm_64 r1, r1, -20\n"
                 "  store_imm_ind_u32 r1, 4, 0x55aa\n"
                 "  load_ind_u16 r7, r1, 2\n"
                 "  add_64 r8, r8, r7\n"
                 "  load_ind_i8 r9, r1, 7\n"
                 "  xor r8, r8, r9\n"
                 "  add_imm_64 r4, r4, -1\n"
                 "  branch_ne_imm r4, 0, back\n"
                 "  load_imm r0, 0xffff0000\n"
                 "  jump_ind r0, 0\n",
                 0x30f00, 0x37100, 0x2e4);
}

JK_TEST(test_jit_strided_loop_strides)
{
    /* byte steps (a zeroing loop), a stride near a page, a stride above a
     * page (not a strided loop), a cursor that does not move while another
     * does */
    jk_loop_runs("start:\n"
                 "  load_imm r4, 5000\n"
                 "  fallthrough\n"
                 "zero:\n"
                 "  store_imm_ind_u8 r1, 0, 7\n"
                 "  add_imm_64 r1, r1, 1\n"
                 "  add_imm_64 r4, r4, -1\n"
                 "  branch_ne_imm r4, 0, zero\n"
                 "  load_imm r4, 5\n"
                 "  fallthrough\n"
                 "big:\n"
                 "  load_ind_u8 r7, r1, 1\n"
                 "  store_ind_u8 r4, r1, 0\n"
                 "  add_imm_64 r1, r1, -2000\n"
                 "  add_imm_64 r4, r4, -1\n"
                 "  branch_ne_imm r4, 0, big\n"
                 "  load_imm r4, 3\n"
                 "  fallthrough\n"
                 "huge:\n"
                 "  store_ind_u16 r4, r1, 0\n"
                 "  add_imm_64 r1, r1, 5000\n"
                 "  add_imm_64 r4, r4, -1\n"
                 "  branch_ne_imm r4, 0, huge\n"
                 "  load_imm r4, 900\n"
                 "  add_imm_64 r2, r1, -64\n"
                 "  fallthrough\n"
                 "still:\n"
                 "  load_ind_u32 r7, r2, 0\n"
                 "  store_ind_u32 r7, r1, 0\n"
                 "  add_imm_64 r1, r1, 4\n"
                 "  add_imm_64 r4, r4, -1\n"
                 "  branch_lt_u_imm r4, 900, still\n"
                 "  load_imm r0, 0xffff0000\n"
                 "  jump_ind r0, 0\n",
                 0x2fe00, 0x36000, 0x3f4);
}

JK_TEST(test_jit_strided_loop_cursor_written)
{
    /* the base register written inside the loop by something else than one
     * constant step: by a register add, twice, by a load */
    jk_loop_runs("start:\n"
                 "  load_imm r4, 300\n"
                 "  load_imm r9, 24\n"
                 "  fallthrough\n"
                 "other:\n"
                 "  store_ind_u64 r4, r1, 0\n"
                 "  add_64 r1, r1, r9\n"
                 "  add_imm_64 r4, r4, -1\n"
                 "  branch_ne_imm r4, 0, other\n"
                 "  load_imm r4, 200\n"
                 "  fallthrough\n"
                 "twice:\n"
                 "  store_ind_u32 r4, r1, 0\n"
                 "  add_imm_64 r1, r1, 8\n"
                 "  load_ind_u32 r7, r1, 0\n"
                 "  add_imm_64 r1, r1, 8\n"
                 "  add_imm_64 r4, r4, -1\n"
                 "  branch_ne_imm r4, 0, twice\n"
                 "  load_imm r4, 50\n"
                 "  add_imm_64 r2, r1, 8\n"
                 "  store_ind_u64 r2, r1, 0\n"
                 "  fallthrough\n"
                 "chase:\n"
                 "  store_ind_u32 r4, r1, 8\n"
                 "  load_ind_u64 r1, r1, 0\n"
                 "  add_imm_64 r2, r1, 16\n"
                 "  store_ind_u64 r2, r1, 0\n"
                 "  add_imm_64 r4, r4, -1\n"
                 "  branch_ne_imm r4, 0, chase\n"
                 "  load_imm r0, 0xffff0000\n"
                 "  jump_ind r0, 0\n",
                 0x2ff00, 0x36000, 0x3f4);
}

JK_TEST(test_jit_strided_loop_read_only)
{
    /* one cursor that loads 64 bytes ahead of where it stores: the loads
     * put the read-only page into the TLB for reading before the stores
     * reach it, so a check that looked there for a storing cursor would
     * write a read-only page; likewise into the copy-on-write page */
    jk_loop_runs("start:\n"
                 "  load_imm r4, 3000\n"
                 "  fallthrough\n"
                 "ahead:\n"
                 "  load_ind_u8 r7, r1, 64\n"
                 "  add_imm_64 r7, r7, 1\n"
                 "  store_ind_u8 r7, r1, 0\n"
                 "  add_imm_64 r1, r1, 1\n"
                 "  add_imm_64 r4, r4, -1\n"
                 "  branch_ne_imm r4, 0, ahead\n"
                 "  load_imm r0, 0xffff0000\n"
                 "  jump_ind r0, 0\n",
                 0x33200, 0x35100, 0x2c8);
}

JK_TEST(test_jit_strided_loop_register_step)
{
    /* a step held in a register that the block does not write (a sieve's
     * marking loop): steps of 1, 3, 100, 256 (the most the check takes),
     * 257 and 5000 (ordinary code only), 0 and a negative one (ordinary
     * code only); and a step register the block writes (not a strided loop) */
    jk_loop_runs("start:\n"
                 "  load_imm r8, 1\n"
                 "  load_imm r10, 7\n"
                 "  fallthrough\n"
                 "outer:\n"
                 "  move_reg r2, r1\n"
                 "  load_imm r4, 0\n"
                 "  fallthrough\n"
                 "mark:\n"
                 "  store_ind_u8 r10, r2, 0\n"
                 "  load_ind_u8 r7, r2, 1\n"
                 "  add_64 r4, r4, r7\n"
                 "  add_64 r2, r2, r8\n"
                 "  branch_lt_u_imm r4, 600, mark\n"
                 "  add_imm_64 r10, r10, 1\n"
                 "  load_imm r9, 3\n"
                 "  branch_eq_imm r8, 1, next\n"
                 "  load_imm r9, 100\n"
                 "  branch_eq_imm r8, 3, next\n"
                 "  load_imm r9, 256\n"
                 "  branch_eq_imm r8, 100, next\n"
                 "  load_imm r9, 257\n"
                 "  branch_eq_imm r8, 256, next\n"
                 "  load_imm r9, 5000\n"
                 "  branch_eq_imm r8, 257, next\n"
                 "  load_imm r9, 0\n"
                 "  branch_eq_imm r8, 5000, next\n"
                 "  load_imm r9, -16\n"
                 "  branch_eq_imm r8, 0, next\n"
                 "  jump self\n"
                 "next:\n"
                 "  move_reg r8, r9\n"
                 "  jump outer\n"
                 "self:\n"
                 "  load_imm r4, 300\n"
                 "  load_imm r8, 12\n"
                 "  fallthrough\n"
                 "grow:\n"
                 "  store_ind_u16 r4, r1, 0\n"
                 "  add_64 r1, r1, r8\n"
                 "  add_imm_64 r8, r8, 4\n"
                 "  add_imm_64 r4, r4, -1\n"
                 "  branch_ne_imm r4, 0, grow\n"
                 "  load_imm r0, 0xffff0000\n"
                 "  jump_ind r0, 0\n",
                 0x2ff00, 0x36000, 0x3f4);
}

JK_TEST(test_jit_strided_loop_derived_base)
{
    /* a base recomputed each iteration as x + p, p stepped after it (the asm
     * sieve's marking loop), with a register step and a constant one; p
     * stepped by a constant before the base is computed (a strided loop
     * since session 6: the span moves by the stride); then forms that are
     * not strided loops: x written in the block, an access through the base
     * before it is recomputed (the previous iteration's value) */
    jk_loop_runs("start:\n"
                 "  move_reg r10, r1\n"
                 "  load_imm r8, 3\n"
                 "  load_imm r9, 0x4800\n"
                 "  load_imm r4, 9\n"
                 "  fallthrough\n"
                 "outer:\n"
                 "  move_reg r12, r8\n"
                 "  fallthrough\n"
                 "mark:\n"
                 "  add_64 r11, r10, r12\n"
                 "  store_ind_u8 r4, r11, 0\n"
                 "  load_ind_u8 r7, r11, 1\n"
                 "  add_64 r12, r12, r8\n"
                 "  branch_lt_u r12, r9, mark\n"
                 "  add_imm_64 r8, r8, 411\n"
                 "  branch_lt_u_imm r8, 2500, outer\n"
                 "  load_imm r12, 0\n"
                 "  fallthrough\n"
                 "konst:\n"
                 "  add_64 r11, r12, r10\n"
                 "  store_ind_u16 r12, r11, 2\n"
                 "  add_imm_64 r12, r12, 6\n"
                 "  branch_lt_u r12, r9, konst\n"
                 "  load_imm r12, 0\n"
                 "  fallthrough\n"
                 "before:\n"
                 "  add_imm_64 r12, r12, 5\n"
                 "  add_64 r11, r10, r12\n"
                 "  store_ind_u8 r12, r11, 0\n"
                 "  branch_lt_u r12, r9, before\n"
                 "  load_imm r12, 0\n"
                 "  fallthrough\n"
                 "xmoves:\n"
                 "  add_64 r11, r10, r12\n"
                 "  store_ind_u8 r12, r11, 0\n"
                 "  add_imm_64 r10, r10, 1\n"
                 "  add_imm_64 r12, r12, 7\n"
                 "  branch_lt_u r12, r9, xmoves\n"
                 "  load_imm r0, 0xffff0000\n"
                 "  jump_ind r0, 0\n",
                 0x2ff00, 0x36000, 0x3f4);
    /* an access through the base before it is recomputed: at the first
     * check the old base can lie in the page before the new one, which the
     * TLB already holds */
    jk_loop_runs("start:\n"
                 "  move_reg r10, r1\n"
                 "  move_reg r11, r1\n"
                 "  load_imm r12, 0\n"
                 "  load_imm r9, 600\n"
                 "  store_imm_ind_u8 r1, 24, 1\n" /* the next page in the TLB for writing */
                 "  fallthrough\n"
                 "stale:\n"
                 "  store_ind_u8 r12, r11, 0\n"
                 "  add_64 r11, r10, r12\n"
                 "  load_ind_u8 r7, r11, 0\n"
                 "  add_imm_64 r12, r12, 9\n"
                 "  branch_lt_u r12, r9, stale\n"
                 "  load_imm r0, 0xffff0000\n"
                 "  jump_ind r0, 0\n",
                 0x30fe8, 0x31008, 1);
}

JK_TEST(test_jit_strided_loop_two_blocks)
{
    /* the asm sieve's outer loop: B1 reads a byte through a derived base and
     * continues to B2 when its branch is taken; the other direction leaves
     * into a block that counts and writes beside the byte (so a side exit
     * faults on the read-only page and copies the copy-on-write one), and
     * that block falls into B2, whose branch goes back to B1 */
    jk_loop_runs("start:\n"
                 "  move_reg r10, r1\n"
                 "  load_imm r8, 0\n"
                 "  load_imm r9, 0x2c00\n"
                 "  load_imm r7, 0\n"
                 "  fallthrough\n"
                 "outer:\n"
                 "  add_64 r11, r10, r8\n"
                 "  load_ind_u8 r3, r11, 0\n"
                 "  branch_lt_u_imm r3, 200, next\n"
                 "  add_imm_64 r7, r7, 1\n"
                 "  store_ind_u8 r7, r11, 1\n"
                 "  fallthrough\n"
                 "next:\n"
                 "  add_imm_64 r8, r8, 1\n"
                 "  branch_lt_u r8, r9, outer\n"
                 "  load_imm r0, 0xffff0000\n"
                 "  jump_ind r0, 0\n",
                 0x2ff00, 0x36000, 0x3f4);
    /* B1 falls through into B2 and leaves when its branch is taken (to a
     * block that skips a word and jumps back to B1); two cursors, the
     * writing one 0x2800 ahead, into the copy-on-write and read-only pages;
     * B2 leaves by its own branch too */
    jk_loop_runs("start:\n"
                 "  add_imm_64 r2, r1, 0x2800\n"
                 "  add_imm_64 r9, r1, 0x1e00\n"
                 "  load_imm r7, 0\n"
                 "  fallthrough\n"
                 "head:\n"
                 "  load_ind_u16 r3, r1, 0\n"
                 "  add_64 r7, r7, r3\n"
                 "  branch_ge_u_imm r3, 0xe000, skip\n"
                 "  store_ind_u16 r3, r2, 2\n"
                 "  add_imm_64 r1, r1, 2\n"
                 "  add_imm_64 r2, r2, 6\n"
                 "  branch_lt_u r1, r9, head\n"
                 "  load_imm r0, 0xffff0000\n"
                 "  jump_ind r0, 0\n"
                 "skip:\n"
                 "  add_imm_64 r1, r1, 4\n"
                 "  branch_lt_u r1, r9, head\n"
                 "  trap\n",
                 0x2ff00, 0x36000, 0x3f4);
    /* B1 is its branch alone (the loop's exit test first), B2 a byte copy
     * backwards with a cursor that stays put */
    jk_loop_runs("start:\n"
                 "  load_imm r4, 3000\n"
                 "  add_imm_64 r2, r1, 0x1000\n"
                 "  fallthrough\n"
                 "test:\n"
                 "  branch_eq_imm r4, 0, done\n"
                 "  load_ind_u8 r5, r1, 0\n"
                 "  load_ind_u8 r6, r2, 5\n"
                 "  xor r5, r5, r6\n"
                 "  store_ind_u8 r5, r1, 0\n"
                 "  add_imm_64 r1, r1, -1\n"
                 "  add_imm_64 r4, r4, -1\n"
                 "  branch_ne_imm r5, 0x1ff, test\n"
                 "  fallthrough\n"
                 "done:\n"
                 "  load_imm r0, 0xffff0000\n"
                 "  jump_ind r0, 0\n",
                 0x30f00, 0x37100, 0x2e4);
    /* c_sieve's outer loop as GCC's RISC-V code has it after translation:
     * B1 steps i first and falls into B2, which computes the base from the
     * stepped i (so each iteration's base is x + i + 1 at its start), and
     * the base's register is also a temporary in B1 and the loaded byte */
    jk_loop_runs("start:\n"
                 "  move_reg r10, r1\n"
                 "  load_imm r8, 0\n"
                 "  load_imm r9, 0x2c00\n"
                 "  load_imm r7, 0\n"
                 "  load_imm r6, 5\n"
                 "  jump test\n"
                 "next:\n"
                 "  add_imm_64 r8, r8, 1\n"
                 "  add_imm_64 r11, r6, 2\n"
                 "  add_64 r5, r5, r6\n"
                 "  move_reg r6, r11\n"
                 "  branch_eq r8, r9, done\n"
                 "test:\n"
                 "  add_64 r11, r10, r8\n"
                 "  load_ind_u8 r11, r11, 0\n"
                 "  branch_lt_u_imm r11, 200, next\n"
                 "  add_imm_64 r7, r7, 1\n"
                 "  add_64 r12, r10, r8\n"
                 "  store_ind_u8 r7, r12, 1\n"
                 "  jump next\n"
                 "done:\n"
                 "  load_imm r0, 0xffff0000\n"
                 "  jump_ind r0, 0\n",
                 0x2ff00, 0x36000, 0x3f4);
    /* not strided: p stepped by a register before the base is computed
     * (the offset would depend on the step) */
    jk_loop_runs("start:\n"
                 "  move_reg r10, r1\n"
                 "  load_imm r12, 0\n"
                 "  load_imm r8, 3\n"
                 "  load_imm r9, 0x2c00\n"
                 "  fallthrough\n"
                 "regpre:\n"
                 "  add_64 r12, r12, r8\n"
                 "  add_64 r11, r10, r12\n"
                 "  store_ind_u8 r12, r11, 0\n"
                 "  branch_lt_u r12, r9, regpre\n"
                 "  load_imm r0, 0xffff0000\n"
                 "  jump_ind r0, 0\n",
                 0x2ff00, 0x36000, 0x3f4);
    /* not strided: a base written again between two of its accesses (the
     * second access is not at x + p + offset) */
    jk_loop_runs("start:\n"
                 "  move_reg r10, r1\n"
                 "  load_imm r8, 0\n"
                 "  load_imm r9, 0x2c00\n"
                 "  fallthrough\n"
                 "moved:\n"
                 "  add_64 r11, r10, r8\n"
                 "  load_ind_u8 r5, r11, 0\n"
                 "  add_imm_64 r11, r11, 7\n"
                 "  store_ind_u8 r5, r11, 0\n"
                 "  add_imm_64 r8, r8, 3\n"
                 "  branch_lt_u r8, r9, moved\n"
                 "  load_imm r0, 0xffff0000\n"
                 "  jump_ind r0, 0\n",
                 0x2ff00, 0x36000, 0x3f4);
    /* not two-block loops: B2's back edge goes to a block whose branch
     * neither targets B2 nor falls into it (it is reached through a third
     * block, which also steps the cursor); and B2 before B1 */
    jk_loop_runs("start:\n"
                 "  load_imm r4, 0\n"
                 "  fallthrough\n"
                 "b1:\n"
                 "  load_ind_u8 r5, r1, 0\n"
                 "  branch_eq_imm r5, 0, away\n"
                 "  add_imm_64 r1, r1, 1\n"
                 "  fallthrough\n"
                 "mid:\n"
                 "  add_imm_64 r4, r4, 1\n"
                 "  branch_ge_u_imm r4, 5000, done\n"
                 "  fallthrough\n"
                 "b2:\n"
                 "  store_ind_u8 r4, r1, 0\n"
                 "  add_imm_64 r1, r1, 1\n"
                 "  branch_lt_u_imm r4, 4000, b1\n"
                 "  jump done\n"
                 "away:\n"
                 "  add_imm_64 r1, r1, 3\n"
                 "  jump b2\n"
                 "done:\n"
                 "  load_imm r0, 0xffff0000\n"
                 "  jump_ind r0, 0\n",
                 0x2ff00, 0x36000, 0x3f4);
}

JK_TEST(test_jit_strided_loop_delta_in_rcx)
{
    /* two cursors, so one's delta may stay in rcx for the whole copy loop;
     * the first loop's code keeps rcx, the others' use it as scratch (a
     * rotation and a shift by a register), so the delta must be reloaded
     * there */
    jk_loop_runs("start:\n"
                 "  load_imm r4, 600\n"
                 "  add_imm_64 r3, r1, 0x2800\n"
                 "  load_imm r9, 3\n"
                 "  fallthrough\n"
                 "keeps:\n"
                 "  load_ind_u32 r5, r1, 0\n"
                 "  store_ind_u32 r5, r3, 4\n"
                 "  add_64 r7, r7, r5\n"
                 "  add_imm_64 r1, r1, 12\n"
                 "  add_imm_64 r3, r3, 8\n"
                 "  add_imm_64 r4, r4, -1\n"
                 "  branch_ne_imm r4, 0, keeps\n"
                 "  load_imm r4, 500\n"
                 "  fallthrough\n"
                 "wide:\n"
                 "  load_ind_u16 r5, r1, 0\n"
                 "  rot_r_64 r7, r5, r9\n"
                 "  store_ind_u16 r5, r3, 0\n"
                 "  add_imm_64 r1, r1, -6\n"
                 "  add_imm_64 r3, r3, 2\n"
                 "  add_imm_64 r4, r4, -1\n"
                 "  branch_ne_imm r4, 0, wide\n"
                 "  load_imm r4, 400\n"
                 "  fallthrough\n"
                 "shift:\n"
                 "  load_ind_u8 r5, r1, 0\n"
                 "  shlo_l_64 r8, r5, r9\n"
                 "  store_ind_u8 r8, r3, 1\n"
                 "  add_imm_64 r1, r1, 3\n"
                 "  add_imm_64 r3, r3, 5\n"
                 "  add_imm_64 r4, r4, -1\n"
                 "  branch_ne_imm r4, 0, shift\n"
                 "  load_imm r0, 0xffff0000\n"
                 "  jump_ind r0, 0\n",
                 0x2ff00, 0x35000, 0x3f4);
}
