/* test_memory_pool.c — memories reused from a pool (pvm.h "Memory reuse")
 * behave exactly as new ones: nothing mapped, no dirty pages, every page they
 * map zero-filled, even though the page buffers and leaves come back used. */
#include "../test.h"
#include "../../src/pvm/internal.h"

static _Alignas(4096) uint8_t jk_pool_source[4096];

/* Dirty a memory in every way a frame does: zero-filled pages written,
 * a copy-on-write page copied, two leaves far apart, a heap. */
static void jk_pool_dirty(jk_pvm_memory *mem)
{
    static uint8_t ff[8192];
    memset(ff, 0xFF, sizeof ff);
    memset(jk_pool_source, 0x5A, sizeof jk_pool_source);
    JK_CHECK_EQ(jk_pvm_memory_map(mem, 0x20000, 0x2000, JK_PVM_ACCESS_WRITE), JK_OK);
    JK_CHECK_EQ(jk_pvm_memory_guest_write(mem, 0x20000, ff, sizeof ff, NULL), JK_OK);
    JK_CHECK_EQ(jk_pvm_memory_map_shared(mem, 0xFEFD0000u, jk_pool_source, JK_PVM_ACCESS_WRITE), JK_OK);
    JK_CHECK_EQ(jk_pvm_memory_guest_write(mem, 0xFEFD0010u, ff, 16, NULL), JK_OK);
    jk_pvm_memory_set_heap(mem, 0x22000, 0x30000);
    const uint32_t *dirty;
    size_t ndirty;
    jk_pvm_memory_dirty_pages(mem, &dirty, &ndirty);
    JK_CHECK_EQ(ndirty, 1);
}

JK_TEST(test_pvm_memory_pool_reuse_is_fresh)
{
    jk_pvm_mem_pool *pool;
    JK_REQUIRE(jk_pvm_mem_pool_new(&pool) == JK_OK);
    jk_pvm_memory *a, *b, *c;
    JK_REQUIRE(jk_pvm_memory_new_pooled(pool, &a) == JK_OK);
    JK_REQUIRE(jk_pvm_memory_new_pooled(pool, &b) == JK_OK);
    JK_CHECK(a != b);
    jk_pool_dirty(a);
    jk_pvm_memory_free(a);
    JK_REQUIRE(jk_pvm_memory_new_pooled(pool, &c) == JK_OK);
    JK_CHECK(c == a); /* reused: the rest of the test checks it is clean */
    /* Nothing is mapped, nothing is dirty, no heap. */
    JK_CHECK_EQ(jk_pvm_memory_access_at(c, 0x20000), JK_PVM_ACCESS_NONE);
    JK_CHECK_EQ(jk_pvm_memory_access_at(c, 0x21000), JK_PVM_ACCESS_NONE);
    JK_CHECK_EQ(jk_pvm_memory_access_at(c, 0xFEFD0000u), JK_PVM_ACCESS_NONE);
    JK_CHECK(jk_pvm_memory_page(c, 0x20000) == NULL);
    const uint32_t *dirty;
    size_t ndirty;
    jk_pvm_memory_dirty_pages(c, &dirty, &ndirty);
    JK_CHECK_EQ(ndirty, 0);
    JK_CHECK_EQ(jk_pvm_mem_sbrk(c, 16), 0);
    uint8_t byte = 1;
    JK_CHECK_EQ(jk_pvm_memory_read(c, 0x20000, &byte, 1), JK_ERR_PVM_NOT_MAPPED);
    /* Pages it maps now (reused buffers that held 0xFF) read as zero. */
    JK_CHECK_EQ(jk_pvm_memory_map(c, 0x40000, 0x3000, JK_PVM_ACCESS_WRITE), JK_OK);
    uint8_t back[0x3000];
    memset(back, 1, sizeof back);
    JK_CHECK_EQ(jk_pvm_memory_read(c, 0x40000, back, sizeof back), JK_OK);
    size_t nonzero = 0;
    for (size_t i = 0; i < sizeof back; i++)
        nonzero += back[i] != 0;
    JK_CHECK_EQ(nonzero, 0);
    /* A copy-on-write page is copied from its source, not from a reused buffer. */
    JK_CHECK_EQ(jk_pvm_memory_map_shared(c, 0xFEFD0000u, jk_pool_source, JK_PVM_ACCESS_WRITE), JK_OK);
    JK_CHECK_EQ(jk_pvm_memory_guest_write(c, 0xFEFD0000u, &byte, 1, NULL), JK_OK);
    JK_CHECK_EQ(jk_pvm_memory_read(c, 0xFEFD0010u, back, 16), JK_OK);
    JK_CHECK_EQ(back[0], 0x5A);
    JK_CHECK_EQ(back[15], 0x5A);
    /* Freed with memories still from it or not, the pool frees everything
     * (ASan checks there is no leak). */
    jk_pvm_memory_free(c);
    jk_pvm_memory_free(b);
    jk_pvm_mem_pool_free(pool);
    /* A NULL pool is plain jk_pvm_memory_new. */
    JK_REQUIRE(jk_pvm_memory_new_pooled(NULL, &a) == JK_OK);
    jk_pool_dirty(a);
    jk_pvm_memory_free(a);
}

/* Guest copies go a page at a time: an unaligned copy over three pages lands
 * byte for byte, and copy-on-write pages on its way get their own copies. */
JK_TEST(test_pvm_memory_guest_copy_straddles_pages)
{
    static _Alignas(4096) uint8_t src_page[4096];
    memset(src_page, 0x33, sizeof src_page);
    jk_pvm_memory *mem;
    JK_REQUIRE(jk_pvm_memory_new(&mem) == JK_OK);
    JK_CHECK_EQ(jk_pvm_memory_map(mem, 0x50000, 0x2000, JK_PVM_ACCESS_WRITE), JK_OK);
    JK_CHECK_EQ(jk_pvm_memory_map_shared(mem, 0x52000, src_page, JK_PVM_ACCESS_WRITE), JK_OK);
    uint8_t in[8200], out[8250];
    for (size_t i = 0; i < sizeof in; i++)
        in[i] = (uint8_t)(i * 7 + 1);
    JK_CHECK_EQ(jk_pvm_memory_guest_write(mem, 0x50FF0, in, sizeof in, NULL), JK_OK);
    JK_CHECK_EQ(jk_pvm_memory_guest_read(mem, 0x50FF0 - 50, out, sizeof out, NULL), JK_OK);
    size_t wrong = 0;
    for (size_t i = 0; i < 50; i++)
        wrong += out[i] != 0;
    for (size_t i = 0; i < sizeof in; i++)
        wrong += out[50 + i] != in[i];
    for (size_t i = 50 + sizeof in; i < sizeof out; i++)
        wrong += out[i] != 0x33;
    JK_CHECK_EQ(wrong, 0);
    JK_CHECK_EQ(src_page[0], 0x33); /* the shared page was copied, not written */
    jk_pvm_memory_free(mem);
}
