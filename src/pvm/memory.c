/*
 * memory.c — the PVM's paged 32-bit address space.
 *
 * Invariants: the page table (internal.h: two levels, leaves allocated on
 * demand) has one entry per 4 KiB page; an entry is 0 or a 4 KiB-aligned page
 * buffer's address ORed with flag bits:
 *   JK_PAGE_R       readable
 *   JK_PAGE_W       writable in place (only ever on pages this memory owns)
 *   JK_PAGE_SHARED  the buffer belongs to someone else (a Data cap's page, via
 *                   jk_pvm_memory_map_shared): never written, never freed
 *   JK_PAGE_COW     shared but writable: the first write copies the page into
 *                   one of our own (then R|W) and records it as dirty
 * Pages below the 64 KiB guard are never mapped. The interpreter's fast path
 * (internal.h) covers in-page accesses to pages with the needed bits; all else
 * — page-straddling accesses, copy-on-write, lazily resolved pages, faults —
 * comes here.
 */
#include "internal.h"

#include <stddef.h>
#include <stdlib.h>

const uintptr_t jk_pvm_empty_leaf[JK_LEAF_SIZE];

/* A parked entry (jk_pvm_memory_park): the buffer's address, JK_PAGE_PARKED,
 * and the page's own flags moved up by JK_PARKED_SHIFT, so that no access bit
 * the fast paths (interpreter, recompiler) test is set. */
#define JK_PAGE_PARKED ((uintptr_t)16)
#define JK_PARKED_SHIFT 5

/* The entry as it was before parking (e itself when not parked). */
static uintptr_t jk_live(uintptr_t e)
{
    if (!(e & JK_PAGE_PARKED))
        return e;
    return (e & ~JK_PAGE_FLAGS) | ((e >> JK_PARKED_SHIFT) & (JK_PAGE_R | JK_PAGE_W | JK_PAGE_SHARED | JK_PAGE_COW));
}

jk_err jk_pvm_memory_new(jk_pvm_memory **out)
{
    /* An all-zero top level is the empty address space (internal.h); the
     * leaf list is only read up to leaf_count, so it stays uninitialised. */
    jk_pvm_memory *mem = malloc(sizeof *mem);
    if (!mem)
        return JK_ERR_NOMEM;
    memset(mem, 0, offsetof(jk_pvm_memory, leaves));
    *out = mem;
    return JK_OK;
}

/* ---- reuse (pvm.h "Memory reuse") ----
 * Free lists with fixed bounds: a frame touches a few leaves and pages, and a
 * kernel stack is at most a few dozen frames deep, so these cover a whole
 * invocation; past a bound, parts go back to malloc. Invariants: a pooled
 * memory has an all-zero top level, no leaves, no dirty pages (its dirty
 * array is kept for reuse); a pooled leaf is all zero; a pooled page buffer
 * is 4 KiB-aligned with any contents (whoever takes it overwrites it whole). */
#define JK_POOL_MEMS 32
#define JK_POOL_LEAVES 128
#define JK_POOL_PAGES 512

struct jk_pvm_mem_pool {
    uint32_t mem_count, leaf_count, page_count;
    jk_pvm_memory *mems[JK_POOL_MEMS];
    uintptr_t *leaves[JK_POOL_LEAVES];
    void *pages[JK_POOL_PAGES];
};

jk_err jk_pvm_mem_pool_new(jk_pvm_mem_pool **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? JK_OK : JK_ERR_NOMEM;
}

void jk_pvm_mem_pool_free(jk_pvm_mem_pool *pool)
{
    if (!pool)
        return;
    for (uint32_t i = 0; i < pool->mem_count; i++) {
        free(pool->mems[i]->arenas);
        free(pool->mems[i]->dirty);
        free(pool->mems[i]->jit_ctx);
        free(pool->mems[i]);
    }
    for (uint32_t i = 0; i < pool->leaf_count; i++)
        free(pool->leaves[i]);
    for (uint32_t i = 0; i < pool->page_count; i++)
        free(pool->pages[i]);
    free(pool);
}

jk_err jk_pvm_memory_new_pooled(jk_pvm_mem_pool *pool, jk_pvm_memory **out)
{
    if (pool && pool->mem_count) {
        *out = pool->mems[--pool->mem_count];
        return JK_OK;
    }
    jk_err err = jk_pvm_memory_new(out);
    if (err == JK_OK)
        (*out)->pool = pool;
    return err;
}

/* A 4 KiB-aligned page buffer (contents undefined), NULL when out of memory. */
static void *jk_page_alloc(jk_pvm_memory *mem)
{
    jk_pvm_mem_pool *pool = mem->pool;
    if (pool && pool->page_count)
        return pool->pages[--pool->page_count];
    return aligned_alloc(JK_PVM_PAGE_SIZE, JK_PVM_PAGE_SIZE);
}

/* A buffer of page p's for a page that had none: its arena slot when an
 * arena covers p (memory_arena.c), else a page of its own. */
static void *jk_page_for(jk_pvm_memory *mem, uint32_t p)
{
    uint8_t *slot = jk_pvm_arena_slot(mem, p);
    return slot ? slot : jk_page_alloc(mem);
}

/* Page p's entry e is going away: its buffer, when the memory owns it, goes
 * back (an arena slot gives its host memory back and stays p's). */
static void jk_page_release(jk_pvm_memory *mem, uint32_t p, uintptr_t e)
{
    e = jk_live(e);
    if (!e || (e & JK_PAGE_SHARED))
        return;
    uint8_t *page = (uint8_t *)(e & ~JK_PAGE_FLAGS);
    if (page == jk_pvm_arena_slot(mem, p)) {
        jk_pvm_arena_release(page);
        return;
    }
    jk_pvm_mem_pool *pool = mem->pool;
    if (pool && pool->page_count < JK_POOL_PAGES)
        pool->pages[pool->page_count++] = page;
    else
        free(page);
}

void jk_pvm_memory_free(jk_pvm_memory *mem)
{
    if (!mem)
        return;
    jk_pvm_mem_pool *pool = mem->pool;
    /* Only the leaves this memory allocated, and in each only the entries
     * that were ever written. */
    for (uint32_t k = 0; k < mem->leaf_count; k++) {
        const jk_pvm_leaf_use *u = &mem->leaves[k];
        uintptr_t *leaf = (uintptr_t *)jk_pvm_leaf(mem->top, u->top);
        for (uint32_t j = u->lo; j <= u->hi; j++) {
            uint32_t p = (uint32_t)u->top << JK_LEAF_BITS | j;
            uintptr_t e = jk_live(leaf[j]);
            if ((e & ~JK_PAGE_FLAGS) != (uintptr_t)jk_pvm_arena_slot(mem, p))
                jk_page_release(mem, p, leaf[j]); /* arenas go whole, below */
        }
        if (pool && pool->leaf_count < JK_POOL_LEAVES) {
            memset(&leaf[u->lo], 0, (size_t)(u->hi - u->lo + 1) * sizeof *leaf);
            pool->leaves[pool->leaf_count++] = leaf;
        } else {
            free(leaf);
        }
        mem->top[u->top] = 0;
    }
    jk_pvm_arena_free_all(mem);
    mem->gen++; /* every entry is gone: the recompiler's TLBs with them */
    if (pool && pool->mem_count < JK_POOL_MEMS) {
        /* Back to the state jk_pvm_memory_new gives (the dirty array kept). */
        mem->leaf_count = 0;
        mem->dirty_count = 0;
        mem->heap_top = mem->heap_limit = 0;
        mem->resolver = NULL;
        mem->resolver_ctx = NULL;
        mem->host_fn = NULL;
        mem->host_ctx = NULL;
        mem->host_args = false;
        pool->mems[pool->mem_count++] = mem;
        return;
    }
    free(mem->arenas);
    free(mem->dirty);
    free(mem->jit_ctx);
    free(mem);
}

/* The writable entry of page p, allocating its leaf; NULL when out of memory. */
static uintptr_t *jk_slot(jk_pvm_memory *mem, uint32_t p)
{
    /* Every write of an entry comes through here (park and free aside): the
     * recompiler's TLBs may hold the entry as it was. */
    mem->gen++;
    uint32_t t = p >> JK_LEAF_BITS, j = p & (JK_LEAF_SIZE - 1);
    uintptr_t *leaf = (uintptr_t *)jk_pvm_leaf(mem->top, t);
    if (mem->top[t] == 0) {
        jk_pvm_mem_pool *pool = mem->pool;
        uintptr_t *fresh = pool && pool->leaf_count ? pool->leaves[--pool->leaf_count]
                                                    : calloc(JK_LEAF_SIZE, sizeof *fresh);
        if (!fresh)
            return NULL;
        mem->top[t] = (uintptr_t)fresh - (uintptr_t)jk_pvm_empty_leaf;
        mem->leaves[mem->leaf_count++] = (jk_pvm_leaf_use){(uint16_t)t, (uint16_t)j, (uint16_t)j};
        return &fresh[j];
    }
    /* Widen the written range of this leaf (few leaves: a short scan). */
    for (uint32_t k = mem->leaf_count; k-- > 0;) {
        jk_pvm_leaf_use *u = &mem->leaves[k];
        if (u->top == t) {
            if (j < u->lo)
                u->lo = (uint16_t)j;
            if (j > u->hi)
                u->hi = (uint16_t)j;
            break;
        }
    }
    return &leaf[j];
}

static bool jk_map_args_ok(uint32_t addr, uint64_t len)
{
    return !((addr | len) & (JK_PVM_PAGE_SIZE - 1)) && addr >= JK_PVM_GUARD_SIZE &&
           (uint64_t)addr + len <= (UINT64_C(1) << 32);
}

/* The flags a page gets for `access`, given whether its buffer is shared. */
static uintptr_t jk_access_bits(jk_pvm_access access, bool shared)
{
    switch (access) {
    case JK_PVM_ACCESS_READ: return JK_PAGE_R | (shared ? JK_PAGE_SHARED : 0);
    case JK_PVM_ACCESS_WRITE: return shared ? JK_PAGE_R | JK_PAGE_SHARED | JK_PAGE_COW : JK_PAGE_R | JK_PAGE_W;
    case JK_PVM_ACCESS_NONE: break;
    }
    return 0;
}

/* Cover every run of at least JK_ARENA_MIN_PAGES pages of [first, first +
 * count) that are unmapped and not covered yet with an arena of its own
 * (memory_arena.c); a run the host refuses keeps single page buffers. */
static void jk_arenas_for(jk_pvm_memory *mem, uint32_t first, uint32_t count)
{
    if (count < JK_ARENA_MIN_PAGES)
        return;
    for (uint32_t p = first, end = first + count; p < end;) {
        uint32_t q = p;
        while (q < end && !jk_pvm_entry(mem, q) && !jk_pvm_arena_slot(mem, q))
            q++;
        if (q - p >= JK_ARENA_MIN_PAGES)
            (void)jk_pvm_arena_add(mem, p, q - p);
        p = q + 1;
    }
}

jk_err jk_pvm_memory_map(jk_pvm_memory *mem, uint32_t addr, uint32_t len,
                         jk_pvm_access access)
{
    if (!jk_map_args_ok(addr, len))
        return JK_ERR_PVM_MAP;
    if (access != JK_PVM_ACCESS_NONE && access != JK_PVM_ACCESS_READ &&
        access != JK_PVM_ACCESS_WRITE)
        return JK_ERR_PVM_MAP;
    uint32_t first = addr >> JK_PVM_PAGE_SHIFT, count = len >> JK_PVM_PAGE_SHIFT;
    if (access != JK_PVM_ACCESS_NONE)
        jk_arenas_for(mem, first, count);
    /* Allocate every missing page first, so a failure changes nothing. New
     * pages carry no flags until the second loop: that marks them "new". */
    if (access != JK_PVM_ACCESS_NONE) {
        for (uint32_t p = first; p < first + count; p++) {
            if (jk_pvm_entry(mem, p))
                continue;
            uintptr_t *slot = jk_slot(mem, p);
            void *page = slot ? jk_page_for(mem, p) : NULL;
            if (!page) {
                for (uint32_t q = first; q < p; q++) {
                    uintptr_t e = jk_pvm_entry(mem, q);
                    if (e && !(e & JK_PAGE_FLAGS)) {
                        jk_page_release(mem, q, e);
                        *jk_slot(mem, q) = 0; /* its leaf exists */
                    }
                }
                return JK_ERR_NOMEM;
            }
            memset(page, 0, JK_PVM_PAGE_SIZE);
            *slot = (uintptr_t)page;
        }
    }
    for (uint32_t p = first; p < first + count; p++) {
        uintptr_t e = jk_live(jk_pvm_entry(mem, p)); /* mapping again unparks */
        if (!e)
            continue;
        uintptr_t *slot = jk_slot(mem, p); /* exists: e is non-zero */
        if (access == JK_PVM_ACCESS_NONE) {
            jk_page_release(mem, p, e);
            *slot = 0;
        } else {
            *slot = (e & ~JK_PAGE_FLAGS) | jk_access_bits(access, (e & JK_PAGE_SHARED) != 0);
        }
    }
    return JK_OK;
}

jk_err jk_pvm_memory_map_shared(jk_pvm_memory *mem, uint32_t addr, const uint8_t *page,
                                jk_pvm_access access)
{
    if (!jk_map_args_ok(addr, JK_PVM_PAGE_SIZE) || !page || ((uintptr_t)page & JK_PAGE_FLAGS) ||
        (access != JK_PVM_ACCESS_READ && access != JK_PVM_ACCESS_WRITE))
        return JK_ERR_PVM_MAP;
    uintptr_t *slot = jk_slot(mem, addr >> JK_PVM_PAGE_SHIFT);
    if (!slot)
        return JK_ERR_NOMEM;
    jk_page_release(mem, addr >> JK_PVM_PAGE_SHIFT, *slot);
    *slot = (uintptr_t)page | jk_access_bits(access, true);
    return JK_OK;
}

void jk_pvm_memory_set_resolver(jk_pvm_memory *mem, jk_pvm_resolver resolver, void *ctx)
{
    mem->resolver = resolver;
    mem->resolver_ctx = ctx;
}

void jk_pvm_memory_set_host(jk_pvm_memory *mem, jk_pvm_host_fn fn, void *ctx)
{
    mem->host_fn = fn;
    mem->host_ctx = ctx;
    mem->host_args = false;
}

jk_pvm_access jk_pvm_memory_access_at(const jk_pvm_memory *mem, uint32_t addr)
{
    uintptr_t e = jk_pvm_entry(mem, addr >> JK_PVM_PAGE_SHIFT);
    if (e & (JK_PAGE_W | JK_PAGE_COW))
        return JK_PVM_ACCESS_WRITE;
    return (e & JK_PAGE_R) ? JK_PVM_ACCESS_READ : JK_PVM_ACCESS_NONE;
}

const uint8_t *jk_pvm_memory_page(const jk_pvm_memory *mem, uint32_t addr)
{
    uintptr_t e = jk_pvm_entry(mem, addr >> JK_PVM_PAGE_SHIFT);
    return e ? (const uint8_t *)(e & ~JK_PAGE_FLAGS) : NULL;
}

void jk_pvm_memory_dirty_pages(const jk_pvm_memory *mem, const uint32_t **pages, size_t *count)
{
    *pages = mem->dirty;
    *count = mem->dirty_count;
}

/* Entry of page p, asking the resolver for an unmapped (or parked) page
 * first; 0 when it stays unmapped or parked. */
static uintptr_t jk_entry(jk_pvm_memory *mem, uint32_t p)
{
    uintptr_t e = jk_pvm_entry(mem, p);
    if ((!e || (e & JK_PAGE_PARKED)) && mem->resolver && ((uint64_t)p << JK_PVM_PAGE_SHIFT) >= JK_PVM_GUARD_SIZE) {
        mem->resolver(mem->resolver_ctx, mem, p << JK_PVM_PAGE_SHIFT);
        e = jk_pvm_entry(mem, p);
    }
    return (e & JK_PAGE_PARKED) ? 0 : e;
}

/* An entry parked (0 and parked entries unchanged). */
static uintptr_t jk_parked(uintptr_t e)
{
    if (!e || (e & JK_PAGE_PARKED))
        return e;
    return (e & ~JK_PAGE_FLAGS) | JK_PAGE_PARKED |
           ((e & (JK_PAGE_R | JK_PAGE_W | JK_PAGE_SHARED | JK_PAGE_COW)) << JK_PARKED_SHIFT);
}

void jk_pvm_memory_park(jk_pvm_memory *mem)
{
    mem->gen++;
    /* Only allocated leaves, and in each only the range ever written. */
    for (uint32_t k = 0; k < mem->leaf_count; k++) {
        const jk_pvm_leaf_use *u = &mem->leaves[k];
        uintptr_t *leaf = (uintptr_t *)jk_pvm_leaf(mem->top, u->top);
        for (uint32_t j = u->lo; j <= u->hi; j++)
            leaf[j] = jk_parked(leaf[j]);
    }
}

void jk_pvm_memory_park_pages(jk_pvm_memory *mem, const uint32_t *addrs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t p = addrs[i] >> JK_PVM_PAGE_SHIFT;
        uintptr_t e = jk_pvm_entry(mem, p);
        if (e && !(e & JK_PAGE_PARKED))
            *jk_slot(mem, p) = jk_parked(e); /* mapped: its leaf exists */
    }
}

bool jk_pvm_memory_parked(const jk_pvm_memory *mem, uint32_t addr)
{
    return (jk_pvm_entry(mem, addr >> JK_PVM_PAGE_SHIFT) & JK_PAGE_PARKED) != 0;
}

void jk_pvm_memory_unpark(jk_pvm_memory *mem, uint32_t addr)
{
    uint32_t p = addr >> JK_PVM_PAGE_SHIFT;
    uintptr_t e = jk_pvm_entry(mem, p);
    if (e & JK_PAGE_PARKED)
        *jk_slot(mem, p) = jk_live(e); /* mapped: its leaf exists */
}

/* Give a copy-on-write page a private copy (R|W) and record it as dirty.
 * Returns false when out of memory (nothing changed). */
static bool jk_unshare(jk_pvm_memory *mem, uint32_t p)
{
    uintptr_t e = jk_pvm_entry(mem, p);
    if (mem->dirty_count == mem->dirty_cap) {
        size_t cap = mem->dirty_cap ? mem->dirty_cap * 2 : 16;
        uint32_t *grown = realloc(mem->dirty, cap * sizeof *grown);
        if (!grown)
            return false;
        mem->dirty = grown;
        mem->dirty_cap = cap;
    }
    uint8_t *copy = jk_page_for(mem, p);
    if (!copy)
        return false;
    memcpy(copy, (const void *)(e & ~JK_PAGE_FLAGS), JK_PVM_PAGE_SIZE);
    *jk_slot(mem, p) = (uintptr_t)copy | JK_PAGE_R | JK_PAGE_W; /* mapped: its leaf exists */
    mem->dirty[mem->dirty_count++] = p;
    return true;
}

/* Prepare a guest access of bytes [addr, addr+n) (addresses wrap mod 2^32):
 * a byte below the guard panics; else the lowest byte whose page lacks the
 * access faults at that page; else, for a write, copy-on-write pages get their
 * own copy. Nothing changes unless the whole access is allowed. */
static int jk_mem_prepare(jk_pvm_memory *mem, uint32_t addr, uint64_t n, bool write,
                          uint32_t *fault_address)
{
    uint32_t lowest_bad = 0;
    bool bad = false;
    /* Any byte below the guard panics: without wrapping that is addr itself;
     * a range that wraps past 2^32 always includes address 0. */
    if (addr < JK_PVM_GUARD_SIZE || (uint64_t)addr + n > (UINT64_C(1) << 32))
        return JK_MEM_PANIC;
    /* Page by page (an access of n bytes touches at most n/4096 + 2 pages). */
    for (uint64_t i = 0; i < n;) {
        uint32_t a = (uint32_t)(addr + i), p = a >> JK_PVM_PAGE_SHIFT;
        uintptr_t e = jk_entry(mem, p);
        bool ok = write ? (e & (JK_PAGE_W | JK_PAGE_COW)) != 0 : (e & JK_PAGE_R) != 0;
        if (!ok && (!bad || a < lowest_bad)) {
            lowest_bad = a;
            bad = true;
        }
        i += JK_PVM_PAGE_SIZE - (a & (JK_PVM_PAGE_SIZE - 1));
    }
    if (bad) {
        *fault_address = lowest_bad & ~(JK_PVM_PAGE_SIZE - 1);
        return JK_MEM_FAULT;
    }
    if (write) {
        for (uint64_t i = 0; i < n;) {
            uint32_t a = (uint32_t)(addr + i), p = a >> JK_PVM_PAGE_SHIFT;
            if ((jk_pvm_entry(mem, p) & JK_PAGE_COW) && !jk_unshare(mem, p))
                return JK_MEM_NOMEM;
            i += JK_PVM_PAGE_SIZE - (a & (JK_PVM_PAGE_SIZE - 1));
        }
    }
    return JK_MEM_OK;
}

static uint8_t *jk_byte(const jk_pvm_memory *mem, uint32_t a)
{
    return (uint8_t *)(jk_pvm_entry(mem, a >> JK_PVM_PAGE_SHIFT) & ~JK_PAGE_FLAGS) + (a & (JK_PVM_PAGE_SIZE - 1));
}

/* adv15: a straddling access went through jk_mem_prepare and then looked
 * its page up once per byte, ~240 host instructions for one unit of gas
 * (~350 from compiled code, which also emptied its TLBs), where an access
 * inside a page costs a few: 8-13 ns of host time per gas on either
 * engine, 60-150 times the demo transfer's average (docs/bench.md "Host
 * cost per gas, session 15"). Two page-table lookups and two copies serve
 * the common case. */
bool jk_pvm_mem_pair(jk_pvm_memory *mem, uint32_t addr, unsigned n, uint64_t *value, bool write)
{
    uint32_t off = addr & (JK_PVM_PAGE_SIZE - 1);
    if (JK_HOST_BIG_ENDIAN || n > 8 || off + n <= JK_PVM_PAGE_SIZE || addr < JK_PVM_GUARD_SIZE ||
        (uint64_t)addr + n > (UINT64_C(1) << 32))
        return false;
    uintptr_t need = write ? JK_PAGE_R | JK_PAGE_W : JK_PAGE_R;
    uint32_t p = addr >> JK_PVM_PAGE_SHIFT;
    uintptr_t a = jk_pvm_entry(mem, p), b = jk_pvm_entry(mem, p + 1);
    if ((a & need) != need || (b & need) != need)
        return false;
    /* the access's bytes are the last `first` of page p and the first
     * n - first of page p + 1; 1 <= first < n <= 8 (little-endian host,
     * internal.h) */
    uint8_t *lo = (uint8_t *)(a & ~JK_PAGE_FLAGS) + JK_PVM_PAGE_SIZE - 8, *hi = (uint8_t *)(b & ~JK_PAGE_FLAGS);
    unsigned first = JK_PVM_PAGE_SIZE - off, sh = 8 * first;
    uint64_t x, y;
    memcpy(&x, lo, 8);
    memcpy(&y, hi, 8);
    if (write) {
        unsigned rest = 8 * n - sh; /* bits that go to page p + 1: 8..56 */
        x = (x & (~UINT64_C(0) >> sh)) | *value << (64 - sh);
        y = (y & (~UINT64_C(0) << rest)) | ((*value >> sh) & ~(~UINT64_C(0) << rest));
        memcpy(lo, &x, 8);
        memcpy(hi, &y, 8);
        return true;
    }
    uint64_t v = x >> (64 - sh) | y << sh;
    *value = n == 8 ? v : v & ~(~UINT64_C(0) << (8 * n));
    return true;
}

int jk_pvm_mem_load_slow(jk_pvm_memory *mem, uint32_t addr, unsigned n,
                         uint64_t *value, uint32_t *fault_address)
{
    if (jk_pvm_mem_pair(mem, addr, n, value, false))
        return JK_MEM_OK;
    mem->general_accesses++;
    int rc = jk_mem_prepare(mem, addr, n, false, fault_address);
    if (rc != JK_MEM_OK)
        return rc;
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)*jk_byte(mem, addr + i) << (8 * i);
    *value = v;
    return JK_MEM_OK;
}

int jk_pvm_mem_store_slow(jk_pvm_memory *mem, uint32_t addr, unsigned n,
                          uint64_t value, uint32_t *fault_address)
{
    if (jk_pvm_mem_pair(mem, addr, n, &value, true))
        return JK_MEM_OK;
    mem->general_accesses++;
    int rc = jk_mem_prepare(mem, addr, n, true, fault_address);
    if (rc != JK_MEM_OK)
        return rc;
    for (unsigned i = 0; i < n; i++)
        *jk_byte(mem, addr + i) = (uint8_t)(value >> (8 * i));
    return JK_MEM_OK;
}

/* Copy len bytes at addr out to `to` or in from `from`, a page at a time:
 * jk_mem_prepare allowed the whole access, so every page is mapped and the
 * range does not pass 2^32. */
static void jk_copy_pages(const jk_pvm_memory *mem, uint32_t addr, uint8_t *to, const uint8_t *from, size_t len)
{
    while (len > 0) {
        size_t chunk = JK_PVM_PAGE_SIZE - (addr & (JK_PVM_PAGE_SIZE - 1));
        if (chunk > len)
            chunk = len;
        if (to) {
            memcpy(to, jk_byte(mem, addr), chunk);
            to += chunk;
        } else {
            memcpy(jk_byte(mem, addr), from, chunk);
            from += chunk;
        }
        addr += (uint32_t)chunk;
        len -= chunk;
    }
}

/* Guest-rule copies for the embedder's host calls. */
static jk_err jk_guest_status(int rc, uint32_t fault, uint32_t *fault_address)
{
    if (rc == JK_MEM_NOMEM)
        return JK_ERR_NOMEM;
    if (fault_address)
        *fault_address = rc == JK_MEM_FAULT ? fault : 0;
    return rc == JK_MEM_OK ? JK_OK : JK_ERR_PVM_NOT_MAPPED;
}

/* A copy inside one page already mapped with the access it needs (R for a
 * read; R|W, a private writable page, for a write): the interpreter's own
 * fast path (jk_pvm_page_ptr), which the slow path's rules reach too without
 * the resolver, a fault or a copy-on-write. DATA_READ's ledger records and
 * the attest's key and blob (issue 16). */
static uint8_t *jk_guest_fast(const jk_pvm_memory *mem, uint32_t addr, size_t len, uintptr_t need)
{
    return len && len <= JK_PVM_PAGE_SIZE ? jk_pvm_page_ptr(mem->top, addr, (unsigned)len, need) : NULL;
}

jk_err jk_pvm_memory_guest_read(jk_pvm_memory *mem, uint32_t addr, void *dst, size_t len,
                                uint32_t *fault_address)
{
    const uint8_t *fast = jk_guest_fast(mem, addr, len, JK_PAGE_R);
    if (fast) {
        memcpy(dst, fast, len);
        if (fault_address)
            *fault_address = 0;
        return JK_OK;
    }
    uint32_t fault = 0;
    int rc = len ? jk_mem_prepare(mem, addr, len, false, &fault) : JK_MEM_OK;
    if (rc == JK_MEM_OK)
        jk_copy_pages(mem, addr, dst, NULL, len);
    return jk_guest_status(rc, fault, fault_address);
}

jk_err jk_pvm_memory_guest_write(jk_pvm_memory *mem, uint32_t addr, const void *src, size_t len,
                                 uint32_t *fault_address)
{
    uint8_t *fast = jk_guest_fast(mem, addr, len, JK_PAGE_R | JK_PAGE_W);
    if (fast) {
        memcpy(fast, src, len);
        if (fault_address)
            *fault_address = 0;
        return JK_OK;
    }
    uint32_t fault = 0;
    int rc = len ? jk_mem_prepare(mem, addr, len, true, &fault) : JK_MEM_OK;
    if (rc == JK_MEM_OK)
        jk_copy_pages(mem, addr, NULL, src, len);
    return jk_guest_status(rc, fault, fault_address);
}

/* ---- host-side copies that ignore protection (loading images, tests) ---- */

static bool jk_range_mapped(jk_pvm_memory *mem, uint32_t addr, size_t len)
{
    if ((uint64_t)addr + len > (UINT64_C(1) << 32))
        return false;
    if (len == 0)
        return true;
    uint32_t last = (uint32_t)((uint64_t)addr + len - 1) >> JK_PVM_PAGE_SHIFT;
    for (uint32_t p = addr >> JK_PVM_PAGE_SHIFT; p <= last; p++)
        if (!jk_entry(mem, p))
            return false;
    return true;
}

jk_err jk_pvm_memory_write(jk_pvm_memory *mem, uint32_t addr, const void *src,
                           size_t len)
{
    if (!jk_range_mapped(mem, addr, len))
        return JK_ERR_PVM_NOT_MAPPED;
    /* A shared page is never written in place: give it a copy first. */
    uint32_t last = len ? (uint32_t)((uint64_t)addr + len - 1) >> JK_PVM_PAGE_SHIFT : 0;
    for (uint32_t p = addr >> JK_PVM_PAGE_SHIFT; len && p <= last; p++) {
        uintptr_t e = jk_pvm_entry(mem, p);
        if (e & JK_PAGE_SHARED) {
            uintptr_t *slot = jk_slot(mem, p); /* mapped: its leaf exists */
            bool writable = (e & JK_PAGE_COW) != 0;
            *slot = (e & ~JK_PAGE_FLAGS) | JK_PAGE_R | JK_PAGE_SHARED | JK_PAGE_COW;
            if (!jk_unshare(mem, p)) {
                *slot = e;
                return JK_ERR_NOMEM;
            }
            if (!writable)
                *slot &= ~JK_PAGE_W; /* stays read-only for the guest */
        }
    }
    const uint8_t *from = src;
    while (len > 0) {
        uint32_t off = addr & (JK_PVM_PAGE_SIZE - 1);
        size_t chunk = JK_PVM_PAGE_SIZE - off;
        if (chunk > len)
            chunk = len;
        memcpy(jk_byte(mem, addr), from, chunk);
        from += chunk;
        addr += (uint32_t)chunk;
        len -= chunk;
    }
    return JK_OK;
}

jk_err jk_pvm_memory_read(jk_pvm_memory *mem, uint32_t addr, void *dst, size_t len)
{
    if (!jk_range_mapped(mem, addr, len))
        return JK_ERR_PVM_NOT_MAPPED;
    uint8_t *to = dst;
    while (len > 0) {
        uint32_t off = addr & (JK_PVM_PAGE_SIZE - 1);
        size_t chunk = JK_PVM_PAGE_SIZE - off;
        if (chunk > len)
            chunk = len;
        memcpy(to, jk_byte(mem, addr), chunk);
        to += chunk;
        addr += (uint32_t)chunk;
        len -= chunk;
    }
    return JK_OK;
}

void jk_pvm_memory_set_heap(jk_pvm_memory *mem, uint32_t top, uint32_t limit)
{
    mem->heap_top = top;
    mem->heap_limit = limit;
}

uint64_t jk_pvm_mem_sbrk(jk_pvm_memory *mem, uint64_t size)
{
    uint64_t top = mem->heap_top;
    if (top == 0 && mem->heap_limit == 0)
        return 0; /* no heap configured */
    if (size == 0)
        return top;
    if (size > (uint64_t)mem->heap_limit - top)
        return 0;
    uint64_t new_top = top + size;
    /* Pages from the one holding `top` to the one holding new_top - 1. */
    uint64_t first = top & ~(uint64_t)(JK_PVM_PAGE_SIZE - 1);
    uint64_t end = (new_top + JK_PVM_PAGE_SIZE - 1) & ~(uint64_t)(JK_PVM_PAGE_SIZE - 1);
    for (uint64_t a = first; a < end; a += JK_PVM_PAGE_SIZE) {
        if (jk_pvm_entry(mem, (uint32_t)(a >> JK_PVM_PAGE_SHIFT)))
            continue;
        if (jk_pvm_memory_map(mem, (uint32_t)a, JK_PVM_PAGE_SIZE, JK_PVM_ACCESS_WRITE) != JK_OK)
            return 0;
    }
    mem->heap_top = (uint32_t)new_top;
    return top;
}
