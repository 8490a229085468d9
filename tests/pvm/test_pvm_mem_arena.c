/* test_pvm_mem_arena.c — guest ranges mapped in one piece live in an arena
 * (src/pvm/memory_arena.c, docs/pvm.md "Memory (session 9)"): consecutive
 * guest pages are consecutive host pages, and everything the page table
 * promised before still holds — zero-filled maps, unmapped pages gone,
 * Data pages shared and never written, copy-on-write copies recorded as
 * dirty (and placed in the page's slot), pooled memories fresh. */
#include "../test.h"
#include "../../src/pvm/internal.h"

static _Alignas(4096) uint8_t jk_arena_data[4096];

/* Are the host buffers of guest pages [addr, addr + n pages) consecutive? */
static bool jk_arena_contiguous(const jk_pvm_memory *mem, uint32_t addr, uint32_t n)
{
    const uint8_t *first = jk_pvm_memory_page(mem, addr);
    for (uint32_t i = 1; i < n; i++)
        if (!first || jk_pvm_memory_page(mem, addr + i * JK_PVM_PAGE_SIZE) != first + (size_t)i * JK_PVM_PAGE_SIZE)
            return false;
    return first != NULL;
}

static size_t jk_arena_nonzero(jk_pvm_memory *mem, uint32_t addr, uint32_t len)
{
    static uint8_t buf[0x10000];
    size_t n = 0;
    JK_CHECK(len <= sizeof buf);
    JK_CHECK_EQ(jk_pvm_memory_read(mem, addr, buf, len), JK_OK);
    for (uint32_t i = 0; i < len; i++)
        n += buf[i] != 0;
    return n;
}

static void jk_arena_checks(jk_pvm_memory *mem)
{
    memset(jk_arena_data, 0x5A, sizeof jk_arena_data);
    /* 64 pages in one map: one host range; a small map is not one */
    JK_REQUIRE(jk_pvm_memory_map(mem, 0x100000, 64 * 4096, JK_PVM_ACCESS_WRITE) == JK_OK);
    JK_CHECK(jk_arena_contiguous(mem, 0x100000, 64));
    JK_CHECK_EQ(jk_arena_nonzero(mem, 0x100000, 0x10000), 0);
    uint8_t *slot5 = (uint8_t *)jk_pvm_memory_page(mem, 0x105000);
    /* a range partly mapped already: its unmapped runs of 16 pages or more
     * get an arena each, the pages mapped before keep their buffers */
    JK_REQUIRE(jk_pvm_memory_map(mem, 0x200000, 4096, JK_PVM_ACCESS_WRITE) == JK_OK);
    const uint8_t *kept = jk_pvm_memory_page(mem, 0x200000);
    JK_REQUIRE(jk_pvm_memory_map(mem, 0x1F0000, 0x30000, JK_PVM_ACCESS_WRITE) == JK_OK);
    JK_CHECK(jk_pvm_memory_page(mem, 0x200000) == kept);
    JK_CHECK(jk_arena_contiguous(mem, 0x1F0000, 16));
    JK_CHECK(jk_arena_contiguous(mem, 0x201000, 31));

    /* written, unmapped, mapped again: the same slot, zero-filled */
    uint8_t ff[4096];
    memset(ff, 0xFF, sizeof ff);
    JK_CHECK_EQ(jk_pvm_memory_write(mem, 0x105000, ff, sizeof ff), JK_OK);
    JK_CHECK_EQ(jk_pvm_memory_map(mem, 0x105000, 4096, JK_PVM_ACCESS_NONE), JK_OK);
    JK_CHECK_EQ(jk_pvm_memory_access_at(mem, 0x105000), JK_PVM_ACCESS_NONE);
    JK_CHECK(jk_pvm_memory_page(mem, 0x105000) == NULL);
    JK_CHECK_EQ(jk_pvm_memory_map(mem, 0x105000, 4096, JK_PVM_ACCESS_WRITE), JK_OK);
    JK_CHECK(jk_pvm_memory_page(mem, 0x105000) == slot5);
    JK_CHECK_EQ(jk_arena_nonzero(mem, 0x105000, 4096), 0);
    JK_CHECK(jk_arena_contiguous(mem, 0x100000, 64));

    /* read-only in place: the same buffer, another access */
    JK_CHECK_EQ(jk_pvm_memory_map(mem, 0x106000, 4096, JK_PVM_ACCESS_READ), JK_OK);
    JK_CHECK_EQ(jk_pvm_memory_access_at(mem, 0x106000), JK_PVM_ACCESS_READ);
    JK_CHECK(jk_pvm_memory_page(mem, 0x106000) == slot5 + 4096);

    /* a Data page over an arena page: shared, never written; the guest's
     * first write copies it into the page's own slot and records it dirty */
    JK_CHECK_EQ(jk_pvm_memory_map_shared(mem, 0x107000, jk_arena_data, JK_PVM_ACCESS_WRITE), JK_OK);
    JK_CHECK(jk_pvm_memory_page(mem, 0x107000) == jk_arena_data);
    uint32_t fault = 1;
    JK_CHECK_EQ(jk_pvm_memory_guest_write(mem, 0x107010, ff, 16, &fault), JK_OK);
    JK_CHECK_EQ(fault, 0);
    JK_CHECK(jk_pvm_memory_page(mem, 0x107000) == slot5 + 2 * 4096);
    JK_CHECK_EQ(jk_pvm_memory_access_at(mem, 0x107000), JK_PVM_ACCESS_WRITE);
    const uint8_t *copy = jk_pvm_memory_page(mem, 0x107000);
    JK_CHECK(copy[0] == 0x5A && copy[0x10] == 0xFF && copy[0x20] == 0x5A);
    JK_CHECK(jk_arena_data[0x10] == 0x5A);
    const uint32_t *dirty;
    size_t ndirty;
    jk_pvm_memory_dirty_pages(mem, &dirty, &ndirty);
    JK_CHECK_EQ(ndirty, 1);
    if (ndirty)
        JK_CHECK_EQ(dirty[0], 0x107);
    /* a read-only Data page written by the host (not the guest): copied too */
    JK_CHECK_EQ(jk_pvm_memory_map_shared(mem, 0x108000, jk_arena_data, JK_PVM_ACCESS_READ), JK_OK);
    JK_CHECK_EQ(jk_pvm_memory_write(mem, 0x108000, ff, 8), JK_OK);
    JK_CHECK(jk_pvm_memory_page(mem, 0x108000) == slot5 + 3 * 4096);
    JK_CHECK_EQ(jk_pvm_memory_access_at(mem, 0x108000), JK_PVM_ACCESS_READ);
    JK_CHECK(jk_arena_data[0] == 0x5A);

    /* a parked page (in-place resume) keeps its slot when unparked */
    jk_pvm_memory_park(mem);
    JK_CHECK(jk_pvm_memory_parked(mem, 0x100000));
    jk_pvm_memory_unpark(mem, 0x100000);
    JK_CHECK(jk_pvm_memory_page(mem, 0x100000) == slot5 - 5 * 4096);
    JK_CHECK_EQ(jk_pvm_memory_access_at(mem, 0x100000), JK_PVM_ACCESS_WRITE);

    /* 2 MiB and more: the same contract */
    JK_REQUIRE(jk_pvm_memory_map(mem, 0x1000000, 0x400000, JK_PVM_ACCESS_WRITE) == JK_OK);
    JK_CHECK(jk_arena_contiguous(mem, 0x1000000, 1024));
    JK_CHECK_EQ(jk_pvm_memory_write(mem, 0x13FF000, ff, sizeof ff), JK_OK);
    JK_CHECK_EQ(jk_arena_nonzero(mem, 0x13F0000, 0x10000), 4096);
}

JK_TEST(test_pvm_mem_arena_pages_are_consecutive_and_keep_the_rules)
{
    jk_pvm_memory *mem;
    JK_REQUIRE(jk_pvm_memory_new(&mem) == JK_OK);
    jk_arena_checks(mem);
    jk_pvm_memory_free(mem);
}

JK_TEST(test_pvm_mem_arena_pooled_memories_come_back_fresh)
{
    jk_pvm_mem_pool *pool;
    JK_REQUIRE(jk_pvm_mem_pool_new(&pool) == JK_OK);
    jk_pvm_memory *a, *b;
    JK_REQUIRE(jk_pvm_memory_new_pooled(pool, &a) == JK_OK);
    jk_arena_checks(a);
    jk_pvm_memory_free(a);
    JK_REQUIRE(jk_pvm_memory_new_pooled(pool, &b) == JK_OK);
    JK_CHECK(b == a);
    /* nothing left of a's arenas: unmapped, and maps zero-filled again */
    JK_CHECK_EQ(jk_pvm_memory_access_at(b, 0x105000), JK_PVM_ACCESS_NONE);
    JK_CHECK(jk_pvm_memory_page(b, 0x1000000) == NULL);
    jk_arena_checks(b);
    jk_pvm_memory_free(b);
    jk_pvm_mem_pool_free(pool);
}
