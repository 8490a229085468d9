/*
 * test_adv_jit_helpers.c — the instructions compiled code leaves to a C
 * helper (jk_pvm_jit_step: sbrk and the bit counts) keep the recompiler's
 * TLBs unless the page table changed (adv15). They emptied them every
 * time, so a loop of bit counts, or of sbrk under the kernel (no heap: sbrk
 * changes nothing), made every later access walk the page table: 3-6 ns of
 * host time per gas (docs/bench.md "Host cost per gas, session 15"). The
 * count bounded here is of TLB entries lost: none where no page changed.
 */
#include "../test.h"
#include "../pvm/jit_test_util.h"
#include "../../src/pvm/jit.h"

#define PAGE 0x20000u
#define HEAP 0x30000u

/* Run src on the recompiler with r7 = PAGE (mapped) and r9 = sbrk's size;
 * whether PAGE's read TLB entry survived (*kept), and the registers. */
static void run_jit(const char *src, bool heap, uint64_t sbrk_size, jk_pvm_state *st, bool *kept)
{
    *kept = false;
    jk_pvm_program *prog = jk_test_asm_program(src, true);
    JK_REQUIRE(prog != NULL);
    jk_pvm_memory *mem = NULL;
    JK_REQUIRE(jk_pvm_memory_new(&mem) == JK_OK);
    JK_REQUIRE(jk_pvm_memory_map(mem, PAGE, 0x1000, JK_PVM_ACCESS_WRITE) == JK_OK);
    JK_REQUIRE(jk_pvm_memory_write(mem, PAGE, "\xff\x0f\x01\x00\x00\x00\x00\x80", 8) == JK_OK);
    if (heap)
        jk_pvm_memory_set_heap(mem, HEAP, HEAP + 0x4000);
    memset(st, 0, sizeof *st);
    st->regs[0] = 0xFFFF0000u;
    st->regs[7] = PAGE;
    st->regs[9] = sbrk_size;
    st->gas = 1000;
    jk_pvm_exit ex;
    JK_REQUIRE(jk_pvm_run_engine(prog, mem, st, &ex, JK_PVM_ENGINE_JIT) == JK_OK);
    JK_CHECK_EQ(ex.status, JK_PVM_HALT);
    JK_REQUIRE(mem->jit_ctx != NULL);
    *kept = mem->jit_ctx->tlb_r[(PAGE >> 12) & (JK_JIT_TLB_SIZE - 1)].addr == PAGE;
    jk_pvm_memory_free(mem);
    jk_pvm_program_free(prog);
}

static bool kept_after(const char *src, bool heap, uint64_t sbrk_size, jk_pvm_state *st)
{
    bool kept;
    run_jit(src, heap, sbrk_size, st, &kept);
    return kept;
}

JK_TEST(test_adv_jit_helpers_keep_the_tlb)
{
    jk_pvm_state st;
    /* the load fills the entry; the bit counts change no page */
    JK_CHECK(kept_after("load_ind_u64 r4, r7, 0\ncount_set_bits_64 r5, r4\ncount_set_bits_32 r6, r4\n"
                      "jump_ind r0, 0\n",
                      false, 0, &st));
    JK_CHECK_EQ(st.regs[5], 14);
    JK_CHECK_EQ(st.regs[6], 13);
    /* sbrk with no heap (the kernel's memories) answers 0 and maps nothing */
    JK_CHECK(kept_after("load_ind_u64 r4, r7, 0\nsbrk r8, r9\njump_ind r0, 0\n", false, 8192, &st));
    JK_CHECK_EQ(st.regs[8], 0);
    /* sbrk 0 reads the top; sbrk inside the mapped heap page maps nothing */
    JK_CHECK(kept_after("load_ind_u64 r4, r7, 0\nsbrk r8, r9\njump_ind r0, 0\n", true, 0, &st));
    JK_CHECK_EQ(st.regs[8], HEAP);
    /* an sbrk that maps a page empties them (the page table changed), and
     * a store into the new page then works */
    JK_CHECK(!kept_after("load_ind_u64 r4, r7, 0\nsbrk r8, r9\nstore_ind_u64 r4, r8, 4088\njump_ind r0, 0\n", true,
                       4096, &st));
    JK_CHECK_EQ(st.regs[8], HEAP);
}
