/*
 * test_jit_run.c — entering compiled code again after a host call: the
 * recompiler's TLBs are kept from one run to the next while no page-table
 * entry changed (jit_run.c, memory.c's `gen`), and must never outlive a
 * change made between the runs.
 */
#include "jit_test_util.h"

#include "../../src/pvm/jit.h"

/* A program that reads the u64 at 0x20000, stores r8 at 0x20008, host-calls,
 * and does both again: the host changes the page between the two reads. */
static const char jk_two_reads_src[] =
    "start:\n"
    "  load_u64 r2, 0x20000\n"
    "  store_u64 r8, 0x21000\n"
    "  ecalli 1\n"
    "  load_u64 r3, 0x20000\n"
    "  store_u64 r8, 0x21000\n"
    "  load_imm r0, 0xffff0000\n"
    "  jump_ind r0, 0\n";

/* What the host does between the runs. */
enum { JK_HOST_WRITES_COW, JK_HOST_REMAPS, JK_HOST_PARKS_AND_RESOLVES, JK_HOST_UNMAPS_WRITABLE };

/* The resolver of a parked page: another buffer there (a stale TLB entry
 * would still read the old one). */
static void jk_resolve_elsewhere(void *ctx, jk_pvm_memory *mem, uint32_t addr)
{
    (void)jk_pvm_memory_map_shared(mem, addr, ctx, JK_PVM_ACCESS_READ);
}

/* Runs the program on the recompiler with one change by the host at the
 * ecalli; checks what the second half saw. */
static void jk_check_change(int change)
{
    static _Alignas(4096) uint8_t first[4096], second[4096];
    memset(first, 0, sizeof first);
    memset(second, 0, sizeof second);
    first[0] = 0x11;
    second[0] = 0x22;
    jk_pvm_program *prog = jk_test_asm_program(jk_two_reads_src, true);
    JK_REQUIRE(prog != NULL);
    jk_pvm_memory *mem;
    JK_REQUIRE(jk_pvm_memory_new(&mem) == JK_OK);
    JK_REQUIRE(jk_pvm_memory_map_shared(mem, 0x20000, first, JK_PVM_ACCESS_WRITE) == JK_OK);
    JK_REQUIRE(jk_pvm_memory_map(mem, 0x21000, 4096, JK_PVM_ACCESS_WRITE) == JK_OK);
    jk_pvm_state st;
    jk_pvm_exit ex;
    memset(&st, 0, sizeof st);
    st.gas = 1000;
    st.regs[8] = 7;
    JK_CHECK_EQ(jk_pvm_run_engine(prog, mem, &st, &ex, JK_PVM_ENGINE_JIT), JK_OK);
    JK_REQUIRE(ex.status == JK_PVM_HOST_CALL);
    JK_CHECK_EQ(st.regs[2], 0x11);
    uint64_t v = 0x33;
    bool expect_fault = false;
    switch (change) {
    case JK_HOST_WRITES_COW: /* the shared page gets a private copy */
        JK_CHECK_EQ(jk_pvm_memory_guest_write(mem, 0x20000, &v, 1, NULL), JK_OK);
        break;
    case JK_HOST_REMAPS: /* another buffer at the same address */
        JK_CHECK_EQ(jk_pvm_memory_map_shared(mem, 0x20000, second, JK_PVM_ACCESS_READ), JK_OK);
        v = 0x22;
        break;
    case JK_HOST_PARKS_AND_RESOLVES: /* parked, then mapped anew on touch */
        jk_pvm_memory_park(mem);
        jk_pvm_memory_set_resolver(mem, jk_resolve_elsewhere, second);
        jk_pvm_memory_unpark(mem, 0x21000);
        v = 0x22;
        break;
    case JK_HOST_UNMAPS_WRITABLE: /* the stored-to page goes away */
        JK_CHECK_EQ(jk_pvm_memory_map(mem, 0x21000, 4096, JK_PVM_ACCESS_NONE), JK_OK);
        v = 0x11;
        expect_fault = true;
        break;
    }
    st.regs[8] = 9;
    JK_CHECK_EQ(jk_pvm_run_engine(prog, mem, &st, &ex, JK_PVM_ENGINE_JIT), JK_OK);
    if (expect_fault) {
        JK_CHECK_EQ(ex.status, JK_PVM_PAGE_FAULT);
        JK_CHECK_EQ(ex.fault_address, 0x21000);
    } else {
        JK_CHECK_EQ(ex.status, JK_PVM_HALT);
        uint64_t stored = 0;
        JK_CHECK_EQ(jk_pvm_memory_read(mem, 0x21000, &stored, sizeof stored), JK_OK);
        JK_CHECK_EQ(stored, 9);
    }
    JK_CHECK_EQ(st.regs[3], v);
    JK_CHECK_EQ(first[0], 0x11); /* a shared page is never written */
    jk_pvm_memory_free(mem);
    jk_pvm_program_free(prog);
}

JK_TEST(test_jit_run_tlb_follows_page_changes_between_runs)
{
#if JK_PVM_HAVE_JIT
    jk_check_change(JK_HOST_WRITES_COW);
    jk_check_change(JK_HOST_REMAPS);
    jk_check_change(JK_HOST_PARKS_AND_RESOLVES);
    jk_check_change(JK_HOST_UNMAPS_WRITABLE);
#endif
}

/* A memory back in its pool and taken again is a new address space: the
 * TLBs of its last user must not map its pages. */
JK_TEST(test_jit_run_tlb_not_kept_across_pooled_memories)
{
#if JK_PVM_HAVE_JIT
    static _Alignas(4096) uint8_t page[4096];
    page[0] = 0x44;
    jk_pvm_program *prog = jk_test_asm_program(jk_two_reads_src, true);
    JK_REQUIRE(prog != NULL);
    jk_pvm_mem_pool *pool;
    JK_REQUIRE(jk_pvm_mem_pool_new(&pool) == JK_OK);
    for (int round = 0; round < 2; round++) {
        jk_pvm_memory *mem;
        JK_REQUIRE(jk_pvm_memory_new_pooled(pool, &mem) == JK_OK);
        if (round == 0) {
            JK_REQUIRE(jk_pvm_memory_map_shared(mem, 0x20000, page, JK_PVM_ACCESS_READ) == JK_OK);
        }
        JK_REQUIRE(jk_pvm_memory_map(mem, 0x21000, 4096, JK_PVM_ACCESS_WRITE) == JK_OK);
        jk_pvm_state st;
        jk_pvm_exit ex;
        memset(&st, 0, sizeof st);
        st.gas = 1000;
        JK_CHECK_EQ(jk_pvm_run_engine(prog, mem, &st, &ex, JK_PVM_ENGINE_JIT), JK_OK);
        if (round == 0) {
            JK_CHECK_EQ(ex.status, JK_PVM_HOST_CALL);
            JK_CHECK_EQ(st.regs[2], 0x44);
        } else {
            /* 0x20000 is not mapped in the new memory */
            JK_CHECK_EQ(ex.status, JK_PVM_PAGE_FAULT);
            JK_CHECK_EQ(ex.fault_address, 0x20000);
        }
        jk_pvm_memory_free(mem);
    }
    jk_pvm_mem_pool_free(pool);
    jk_pvm_program_free(prog);
#endif
}
