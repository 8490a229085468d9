/* test_memory.c — shared pages, copy-on-write, dirty tracking, lazy mapping
 * and the guest-rule copies the kernel's host calls use. */
#include "../test.h"
#include "../../src/pvm/internal.h"

#include <stdlib.h>

static _Alignas(4096) uint8_t jk_source_page[4096];

/* store_ind_u64 r7 -> [r8 + 0], then the implicit trap. */
static jk_pvm_status jk_store(jk_pvm_memory *mem, uint64_t addr, uint64_t value, uint32_t *fault)
{
    static const uint8_t blob[] = {0, 0, 2, 123, 0x87, 1};
    jk_pvm_program *prog;
    jk_pvm_exit ex;
    jk_pvm_state st = {.gas = 10};
    st.regs[7] = value;
    st.regs[8] = addr;
    if (jk_pvm_program_load(blob, sizeof blob, &prog, NULL) != JK_OK)
        return JK_PVM_PANIC;
    jk_pvm_run(prog, mem, &st, &ex);
    jk_pvm_program_free(prog);
    *fault = ex.fault_address;
    return ex.status == JK_PVM_PANIC && st.pc == 2 ? JK_PVM_HALT /* stored */ : ex.status;
}

JK_TEST(test_pvm_memory_shared_pages_copy_on_write)
{
    memset(jk_source_page, 0x5A, sizeof jk_source_page);
    jk_pvm_memory *mem;
    JK_REQUIRE(jk_pvm_memory_new(&mem) == JK_OK);
    JK_CHECK_EQ(jk_pvm_memory_map_shared(mem, 0x20000, jk_source_page, JK_PVM_ACCESS_WRITE), JK_OK);
    JK_CHECK_EQ(jk_pvm_memory_map_shared(mem, 0x21000, jk_source_page, JK_PVM_ACCESS_READ), JK_OK);
    JK_CHECK_EQ(jk_pvm_memory_map_shared(mem, 0x21001, jk_source_page, JK_PVM_ACCESS_READ), JK_ERR_PVM_MAP);
    JK_CHECK_EQ(jk_pvm_memory_map_shared(mem, 0x1000, jk_source_page, JK_PVM_ACCESS_READ), JK_ERR_PVM_MAP);
    JK_CHECK(jk_pvm_memory_page(mem, 0x20010) == jk_source_page); /* mapped in place, no copy */
    const uint32_t *dirty;
    size_t ndirty;
    jk_pvm_memory_dirty_pages(mem, &dirty, &ndirty);
    JK_CHECK_EQ(ndirty, 0);

    uint32_t fault = 0;
    JK_CHECK_EQ(jk_store(mem, 0x20008, 0x1122334455667788u, &fault), JK_PVM_HALT);
    JK_CHECK_EQ(jk_source_page[8], 0x5A); /* the source never changes */
    JK_CHECK(jk_pvm_memory_page(mem, 0x20000) != jk_source_page);
    uint8_t back[16];
    JK_CHECK_EQ(jk_pvm_memory_read(mem, 0x20000, back, 16), JK_OK);
    JK_CHECK_EQ(back[0], 0x5A);
    JK_CHECK_EQ(back[8], 0x88);
    jk_pvm_memory_dirty_pages(mem, &dirty, &ndirty);
    JK_REQUIRE(ndirty == 1);
    JK_CHECK_EQ(dirty[0], 0x20);
    /* A second store to the same page does not copy again. */
    JK_CHECK_EQ(jk_store(mem, 0x20100, 1, &fault), JK_PVM_HALT);
    jk_pvm_memory_dirty_pages(mem, &dirty, &ndirty);
    JK_CHECK_EQ(ndirty, 1);
    /* The read-only shared page faults a store and is not copied. */
    JK_CHECK_EQ(jk_store(mem, 0x21000, 1, &fault), JK_PVM_PAGE_FAULT);
    JK_CHECK_EQ(fault, 0x21000);
    JK_CHECK(jk_pvm_memory_page(mem, 0x21000) == jk_source_page);
    /* A store straddling the COW page and the read-only page changes nothing. */
    JK_CHECK_EQ(jk_store(mem, 0x20FFC, ~0ull, &fault), JK_PVM_PAGE_FAULT);
    JK_CHECK_EQ(fault, 0x21000);
    JK_CHECK_EQ(jk_pvm_memory_read(mem, 0x20FFC, back, 4), JK_OK);
    JK_CHECK_EQ(back[0], 0x5A);
    jk_pvm_memory_free(mem); /* frees the copy, not the shared page */
    JK_CHECK_EQ(jk_source_page[0], 0x5A);
}

static int jk_resolved;
static void jk_resolve_even_pages(void *ctx, jk_pvm_memory *mem, uint32_t page_addr)
{
    (void)ctx;
    jk_resolved++;
    if (((page_addr >> 12) & 1) == 0)
        jk_pvm_memory_map_shared(mem, page_addr, jk_source_page, JK_PVM_ACCESS_WRITE);
}

JK_TEST(test_pvm_memory_lazy_resolver_and_guest_copies)
{
    memset(jk_source_page, 7, sizeof jk_source_page);
    jk_pvm_memory *mem;
    JK_REQUIRE(jk_pvm_memory_new(&mem) == JK_OK);
    jk_pvm_memory_set_resolver(mem, jk_resolve_even_pages, NULL);
    jk_resolved = 0;
    uint32_t fault = 0;
    JK_CHECK_EQ(jk_store(mem, 0x40010, 99, &fault), JK_PVM_HALT);  /* even: resolved, copied */
    JK_CHECK_EQ(jk_resolved, 1);
    JK_CHECK_EQ(jk_store(mem, 0x41010, 99, &fault), JK_PVM_PAGE_FAULT); /* odd: stays unmapped */
    JK_CHECK_EQ(fault, 0x41000);

    uint8_t buf[8] = {1, 2, 3, 4, 5, 6, 7, 8}, got[8];
    JK_CHECK_EQ(jk_pvm_memory_guest_write(mem, 0x42FFC, buf, 8, &fault), JK_ERR_PVM_NOT_MAPPED);
    JK_CHECK_EQ(fault, 0x43000);                   /* 0x42000 resolves, 0x43000 does not */
    JK_CHECK_EQ(jk_pvm_memory_guest_read(mem, 0x42000, got, 1, &fault), JK_OK);
    JK_CHECK_EQ(got[0], 7);                        /* nothing of the refused write landed */
    JK_CHECK_EQ(jk_pvm_memory_guest_write(mem, 0x42008, buf, 8, &fault), JK_OK);
    JK_CHECK_EQ(jk_pvm_memory_guest_read(mem, 0x42008, got, 8, &fault), JK_OK);
    JK_CHECK_MEM(got, buf, 8);
    JK_CHECK_EQ(jk_source_page[8], 7);
    JK_CHECK_EQ(jk_pvm_memory_guest_read(mem, 0xFFF0, got, 8, &fault), JK_ERR_PVM_NOT_MAPPED); /* guard */
    JK_CHECK_EQ(fault, 0);
    JK_CHECK_EQ(jk_pvm_memory_guest_read(mem, 0xFFFFFFFC, got, 8, &fault), JK_ERR_PVM_NOT_MAPPED); /* wraps */
    /* Read-only owned pages refuse guest writes but take host writes. */
    JK_CHECK_EQ(jk_pvm_memory_map(mem, 0x50000, 0x1000, JK_PVM_ACCESS_READ), JK_OK);
    JK_CHECK_EQ(jk_pvm_memory_guest_write(mem, 0x50000, buf, 1, &fault), JK_ERR_PVM_NOT_MAPPED);
    JK_CHECK_EQ(jk_pvm_memory_write(mem, 0x50000, buf, 1), JK_OK);
    /* Host writes to a read-only shared page copy it and keep it read-only. */
    JK_CHECK_EQ(jk_pvm_memory_map_shared(mem, 0x51000, jk_source_page, JK_PVM_ACCESS_READ), JK_OK);
    JK_CHECK_EQ(jk_pvm_memory_write(mem, 0x51000, buf, 2), JK_OK);
    JK_CHECK_EQ(jk_source_page[0], 7);
    JK_CHECK_EQ(jk_pvm_memory_access_at(mem, 0x51000), JK_PVM_ACCESS_READ);
    jk_pvm_memory_free(mem);
}
