/*
 * test_adv_straddle.c — guest loads and stores that straddle two pages
 * (adv15). Each one costs one unit of gas like any access, but took the
 * general slow path (the page table walked once per byte, the recompiler's
 * TLBs emptied): 8-13 ns of host time per gas, 60-150 times the demo
 * transfer's average (docs/bench.md "Host cost per gas, session 15").
 * jk_pvm_mem_pair serves the straddle over two pages that allow it as they
 * are; these tests hold it to the bytes a byte-by-byte oracle gives, on both
 * engines, for every width and offset across a boundary, signed and
 * unsigned, and bound how many accesses still take the general path
 * (mem->general_accesses): none over two private pages, one per
 * copy-on-write page, one per fault.
 */
#include "../test.h"
#include "../pvm/jit_test_util.h"
#include "../../src/pvm/internal.h"

#include <stdio.h>
#include <stdlib.h>

#define LO 0x20000u /* two private pages [LO, LO + 8192) */
#define MID (LO + 0x1000u)

static uint8_t pattern(uint32_t addr)
{
    return (uint8_t)(addr * 37u + 11u);
}

static jk_pvm_memory *two_pages(void)
{
    jk_pvm_memory *mem = NULL;
    if (jk_pvm_memory_new(&mem) != JK_OK || jk_pvm_memory_map(mem, LO, 0x2000, JK_PVM_ACCESS_WRITE) != JK_OK)
        return NULL;
    for (uint32_t a = LO; a < LO + 0x2000; a++) {
        uint8_t b = pattern(a);
        if (jk_pvm_memory_write(mem, a, &b, 1) != JK_OK)
            return NULL;
    }
    return mem;
}

/* Run src from r7 = address on an engine; the state after it. */
static void run(const char *src, jk_pvm_memory *mem, jk_pvm_engine engine, uint64_t r7, jk_pvm_state *st,
                jk_pvm_exit *ex)
{
    jk_pvm_program *prog = jk_test_asm_program(src, true);
    JK_REQUIRE(prog != NULL);
    memset(st, 0, sizeof *st);
    st->regs[0] = 0xFFFF0000u;
    st->regs[7] = r7;
    st->regs[8] = 0x8877665544332211ull;
    st->gas = 1000000;
    JK_REQUIRE(jk_pvm_run_engine(prog, mem, st, ex, engine) == JK_OK);
    jk_pvm_program_free(prog);
}

static uint64_t oracle(uint32_t addr, unsigned n, bool sign)
{
    uint64_t v = 0;
    for (unsigned i = n; i-- > 0;)
        v = v << 8 | pattern(addr + i);
    if (sign && n < 8 && (v >> (8 * n - 1)) & 1)
        v |= ~UINT64_C(0) << (8 * n);
    return v;
}

static const jk_pvm_engine engines[2] = {JK_PVM_ENGINE_INTERP, JK_PVM_ENGINE_JIT};

JK_TEST(test_adv_straddle_loads_match_the_bytes)
{
    static const char src[] = "load_ind_u16 r2, r7, 0\nload_ind_i16 r3, r7, 0\nload_ind_u32 r4, r7, 0\n"
                              "load_ind_i32 r5, r7, 0\nload_ind_u64 r6, r7, 0\njump_ind r0, 0\n";
    for (int e = 0; e < 2; e++)
        for (uint32_t a = MID - 7; a < MID; a++) {
            jk_pvm_memory *mem = two_pages();
            JK_REQUIRE(mem != NULL);
            jk_pvm_state st;
            jk_pvm_exit ex;
            run(src, mem, engines[e], a, &st, &ex);
            JK_CHECK_EQ(ex.status, JK_PVM_HALT);
            /* a u16 at MID - 1 is the only 2-byte straddle; the others
             * read inside a page and must agree all the same */
            JK_CHECK_EQ(st.regs[2], oracle(a, 2, false));
            JK_CHECK_EQ(st.regs[3], oracle(a, 2, true));
            JK_CHECK_EQ(st.regs[4], oracle(a, 4, false));
            JK_CHECK_EQ(st.regs[5], oracle(a, 4, true));
            JK_CHECK_EQ(st.regs[6], oracle(a, 8, false));
            JK_CHECK_EQ(mem->general_accesses, 0);
            jk_pvm_memory_free(mem);
        }
}

JK_TEST(test_adv_straddle_stores_write_only_their_bytes)
{
    static const char *const srcs[3] = {"store_ind_u16 r8, r7, 0\njump_ind r0, 0\n",
                                        "store_ind_u32 r8, r7, 0\njump_ind r0, 0\n",
                                        "store_ind_u64 r8, r7, 0\njump_ind r0, 0\n"};
    static const unsigned widths[3] = {2, 4, 8};
    for (int e = 0; e < 2; e++)
        for (int w = 0; w < 3; w++)
            for (uint32_t a = MID - widths[w] + 1; a < MID; a++) {
                jk_pvm_memory *mem = two_pages();
                JK_REQUIRE(mem != NULL);
                jk_pvm_state st;
                jk_pvm_exit ex;
                run(srcs[w], mem, engines[e], a, &st, &ex);
                JK_CHECK_EQ(ex.status, JK_PVM_HALT);
                uint8_t got[32];
                JK_REQUIRE(jk_pvm_memory_read(mem, MID - 16, got, sizeof got) == JK_OK);
                for (uint32_t i = 0; i < sizeof got; i++) {
                    uint32_t at = MID - 16 + i;
                    uint8_t want = at >= a && at < a + widths[w] ? (uint8_t)(0x8877665544332211ull >> (8 * (at - a)))
                                                                 : pattern(at);
                    if (got[i] != want)
                        printf("engine %d width %u at 0x%x: byte 0x%x is %02x, want %02x\n", e, widths[w], a, at,
                               got[i], want);
                    JK_CHECK_EQ(got[i], want);
                }
                JK_CHECK_EQ(mem->general_accesses, 0);
                jk_pvm_memory_free(mem);
            }
}

/* 1,000 iterations of six straddling accesses: none takes the general
 * path over private pages; over a copy-on-write page only the first store
 * does (it copies the page); an unmapped or read-only second page faults
 * through it, with the same fault on both engines and nothing written. */
JK_TEST(test_adv_straddle_general_path_bounded)
{
    static const char loop[] = "load_imm r3, 1000\nfallthrough\n"
                               "l: load_ind_u64 r4, r7, 0\nload_ind_u32 r5, r7, 2\nstore_ind_u64 r4, r7, 1\n"
                               "store_ind_u16 r5, r7, 4\nload_ind_i16 r6, r7, 4\nstore_ind_u32 r3, r7, 3\n"
                               "add_imm_64 r3, r3, -1\nbranch_ne_imm r3, 0, l\njump_ind r0, 0\n";
    static _Alignas(4096) uint8_t shared[4096];
    uint8_t bytes[2][16];
    for (int e = 0; e < 2; e++) {
        jk_pvm_memory *mem = two_pages();
        JK_REQUIRE(mem != NULL);
        jk_pvm_state st;
        jk_pvm_exit ex;
        run(loop, mem, engines[e], MID - 5, &st, &ex);
        JK_CHECK_EQ(ex.status, JK_PVM_HALT);
        JK_CHECK_EQ(mem->general_accesses, 0);
        JK_REQUIRE(jk_pvm_memory_read(mem, MID - 8, bytes[e], 16) == JK_OK);
        jk_pvm_memory_free(mem);

        /* the second page copy-on-write */
        mem = two_pages();
        JK_REQUIRE(mem != NULL);
        JK_REQUIRE(jk_pvm_memory_map_shared(mem, MID, shared, JK_PVM_ACCESS_WRITE) == JK_OK);
        run(loop, mem, engines[e], MID - 5, &st, &ex);
        JK_CHECK_EQ(ex.status, JK_PVM_HALT);
        JK_CHECK_EQ(mem->general_accesses, 1); /* the first store (a shared page is read as it is) */
        const uint32_t *dirty;
        size_t ndirty;
        jk_pvm_memory_dirty_pages(mem, &dirty, &ndirty);
        JK_CHECK_EQ(ndirty, 1);
        JK_CHECK(shared[0] == 0 && shared[3] == 0); /* the shared page itself untouched */
        jk_pvm_memory_free(mem);

        /* an unmapped, then a read-only second page */
        for (int ro = 0; ro < 2; ro++) {
            mem = NULL;
            JK_REQUIRE(jk_pvm_memory_new(&mem) == JK_OK);
            JK_REQUIRE(jk_pvm_memory_map(mem, LO, 0x1000, JK_PVM_ACCESS_WRITE) == JK_OK);
            if (ro)
                JK_REQUIRE(jk_pvm_memory_map(mem, MID, 0x1000, JK_PVM_ACCESS_READ) == JK_OK);
            run(ro ? "store_ind_u64 r8, r7, 0\njump_ind r0, 0\n" : "load_ind_u64 r4, r7, 0\njump_ind r0, 0\n", mem,
                engines[e], MID - 3, &st, &ex);
            JK_CHECK_EQ(ex.status, JK_PVM_PAGE_FAULT);
            JK_CHECK_EQ(ex.fault_address, MID);
            JK_CHECK_EQ(mem->general_accesses, 1);
            uint8_t low[3];
            JK_REQUIRE(jk_pvm_memory_read(mem, MID - 3, low, 3) == JK_OK);
            JK_CHECK(low[0] == 0 && low[1] == 0 && low[2] == 0); /* the faulting store wrote nothing */
            jk_pvm_memory_free(mem);
        }
    }
    JK_CHECK(memcmp(bytes[0], bytes[1], 16) == 0);
}
