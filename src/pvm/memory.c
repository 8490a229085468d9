/*
 * memory.c — the PVM's paged 32-bit address space.
 *
 * Invariants: the page table has one entry per 4 KiB page; an entry is 0 or a
 * page buffer's address (4 KiB-aligned, owned by this memory) ORed with
 * JK_PAGE_R, or JK_PAGE_R | JK_PAGE_W. Pages below the 64 KiB guard are never
 * mapped. The interpreter's fast path (internal.h) covers in-page accesses to
 * permitted pages; everything else comes here.
 */
#include "internal.h"

#include <stdlib.h>

jk_err jk_pvm_memory_new(jk_pvm_memory **out)
{
    jk_pvm_memory *mem = calloc(1, sizeof *mem);
    if (!mem)
        return JK_ERR_NOMEM;
    /* 8 MiB of virtual space; calloc hands back lazily-zeroed pages, so only
     * the parts of the table that describe mapped memory become resident. */
    mem->pages = calloc(JK_PVM_PAGE_COUNT, sizeof *mem->pages);
    if (!mem->pages) {
        free(mem);
        return JK_ERR_NOMEM;
    }
    mem->page_lo = JK_PVM_PAGE_COUNT;
    mem->page_hi = 0;
    *out = mem;
    return JK_OK;
}

void jk_pvm_memory_free(jk_pvm_memory *mem)
{
    if (!mem)
        return;
    for (uint32_t p = mem->page_lo; p < mem->page_hi; p++)
        if (mem->pages[p])
            free((void *)(mem->pages[p] & ~JK_PAGE_FLAGS));
    free(mem->pages);
    free(mem);
}

static uintptr_t jk_access_bits(jk_pvm_access access)
{
    switch (access) {
    case JK_PVM_ACCESS_READ: return JK_PAGE_R;
    case JK_PVM_ACCESS_WRITE: return JK_PAGE_R | JK_PAGE_W;
    case JK_PVM_ACCESS_NONE: break;
    }
    return 0;
}

jk_err jk_pvm_memory_map(jk_pvm_memory *mem, uint32_t addr, uint32_t len,
                         jk_pvm_access access)
{
    if ((addr | len) & (JK_PVM_PAGE_SIZE - 1))
        return JK_ERR_PVM_MAP;
    if (addr < JK_PVM_GUARD_SIZE || (uint64_t)addr + len > (UINT64_C(1) << 32))
        return JK_ERR_PVM_MAP;
    if (access != JK_PVM_ACCESS_NONE && access != JK_PVM_ACCESS_READ &&
        access != JK_PVM_ACCESS_WRITE)
        return JK_ERR_PVM_MAP;
    uint32_t first = addr >> JK_PVM_PAGE_SHIFT, count = len >> JK_PVM_PAGE_SHIFT;
    uintptr_t bits = jk_access_bits(access);
    /* Allocate every missing page first, so a failure changes nothing. */
    if (bits) {
        for (uint32_t p = first; p < first + count; p++) {
            if (mem->pages[p])
                continue;
            void *page = aligned_alloc(JK_PVM_PAGE_SIZE, JK_PVM_PAGE_SIZE);
            if (!page) {
                for (uint32_t q = first; q < p; q++)
                    if (mem->pages[q] && !(mem->pages[q] & JK_PAGE_FLAGS)) {
                        free((void *)mem->pages[q]);
                        mem->pages[q] = 0;
                    }
                return JK_ERR_NOMEM;
            }
            memset(page, 0, JK_PVM_PAGE_SIZE);
            mem->pages[p] = (uintptr_t)page; /* no flags yet: marks "new" */
        }
    }
    if (bits && count) {
        if (first < mem->page_lo)
            mem->page_lo = first;
        if (first + count > mem->page_hi)
            mem->page_hi = first + count;
    }
    for (uint32_t p = first; p < first + count; p++) {
        uintptr_t e = mem->pages[p];
        if (!e)
            continue;
        if (!bits) {
            free((void *)(e & ~JK_PAGE_FLAGS));
            mem->pages[p] = 0;
        } else {
            mem->pages[p] = (e & ~JK_PAGE_FLAGS) | bits;
        }
    }
    return JK_OK;
}

jk_pvm_access jk_pvm_memory_access_at(const jk_pvm_memory *mem, uint32_t addr)
{
    uintptr_t e = mem->pages[addr >> JK_PVM_PAGE_SHIFT];
    if (e & JK_PAGE_W)
        return JK_PVM_ACCESS_WRITE;
    return (e & JK_PAGE_R) ? JK_PVM_ACCESS_READ : JK_PVM_ACCESS_NONE;
}

static bool jk_range_mapped(const jk_pvm_memory *mem, uint32_t addr, size_t len)
{
    if ((uint64_t)addr + len > (UINT64_C(1) << 32))
        return false;
    if (len == 0)
        return true;
    uint32_t last = (uint32_t)((uint64_t)addr + len - 1) >> JK_PVM_PAGE_SHIFT;
    for (uint32_t p = addr >> JK_PVM_PAGE_SHIFT; p <= last; p++)
        if (!mem->pages[p])
            return false;
    return true;
}

jk_err jk_pvm_memory_write(jk_pvm_memory *mem, uint32_t addr, const void *src,
                           size_t len)
{
    if (!jk_range_mapped(mem, addr, len))
        return JK_ERR_PVM_NOT_MAPPED;
    const uint8_t *from = src;
    while (len > 0) {
        uint32_t off = addr & (JK_PVM_PAGE_SIZE - 1);
        size_t chunk = JK_PVM_PAGE_SIZE - off;
        if (chunk > len)
            chunk = len;
        uint8_t *page = (uint8_t *)(mem->pages[addr >> JK_PVM_PAGE_SHIFT] & ~JK_PAGE_FLAGS);
        memcpy(page + off, from, chunk);
        from += chunk;
        addr += (uint32_t)chunk;
        len -= chunk;
    }
    return JK_OK;
}

jk_err jk_pvm_memory_read(const jk_pvm_memory *mem, uint32_t addr, void *dst,
                          size_t len)
{
    if (!jk_range_mapped(mem, addr, len))
        return JK_ERR_PVM_NOT_MAPPED;
    uint8_t *to = dst;
    while (len > 0) {
        uint32_t off = addr & (JK_PVM_PAGE_SIZE - 1);
        size_t chunk = JK_PVM_PAGE_SIZE - off;
        if (chunk > len)
            chunk = len;
        const uint8_t *page = (const uint8_t *)(mem->pages[addr >> JK_PVM_PAGE_SHIFT] & ~JK_PAGE_FLAGS);
        memcpy(to, page + off, chunk);
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

/* Check every byte of a guest access (addresses wrap mod 2^32): a byte below
 * the guard panics; else the lowest byte lacking `need` faults at its page. */
static int jk_mem_check(const jk_pvm_memory *mem, uint32_t addr, unsigned n,
                        uintptr_t need, uint32_t *fault_address)
{
    uint32_t lowest_bad = 0;
    bool bad = false;
    for (unsigned i = 0; i < n; i++) {
        uint32_t a = addr + i; /* wraps mod 2^32 by design */
        if (a < JK_PVM_GUARD_SIZE)
            return JK_MEM_PANIC;
        if ((mem->pages[a >> JK_PVM_PAGE_SHIFT] & need) != need && (!bad || a < lowest_bad)) {
            lowest_bad = a;
            bad = true;
        }
    }
    if (bad) {
        *fault_address = lowest_bad & ~(JK_PVM_PAGE_SIZE - 1);
        return JK_MEM_FAULT;
    }
    return JK_MEM_OK;
}

int jk_pvm_mem_load_slow(const jk_pvm_memory *mem, uint32_t addr, unsigned n,
                         uint64_t *value, uint32_t *fault_address)
{
    int rc = jk_mem_check(mem, addr, n, JK_PAGE_R, fault_address);
    if (rc != JK_MEM_OK)
        return rc;
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++) {
        uint32_t a = addr + i;
        const uint8_t *page = (const uint8_t *)(mem->pages[a >> JK_PVM_PAGE_SHIFT] & ~JK_PAGE_FLAGS);
        v |= (uint64_t)page[a & (JK_PVM_PAGE_SIZE - 1)] << (8 * i);
    }
    *value = v;
    return JK_MEM_OK;
}

int jk_pvm_mem_store_slow(jk_pvm_memory *mem, uint32_t addr, unsigned n,
                          uint64_t value, uint32_t *fault_address)
{
    int rc = jk_mem_check(mem, addr, n, JK_PAGE_R | JK_PAGE_W, fault_address);
    if (rc != JK_MEM_OK)
        return rc;
    for (unsigned i = 0; i < n; i++) {
        uint32_t a = addr + i;
        uint8_t *page = (uint8_t *)(mem->pages[a >> JK_PVM_PAGE_SHIFT] & ~JK_PAGE_FLAGS);
        page[a & (JK_PVM_PAGE_SIZE - 1)] = (uint8_t)(value >> (8 * i));
    }
    return JK_MEM_OK;
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
        if (mem->pages[a >> JK_PVM_PAGE_SHIFT])
            continue;
        if (jk_pvm_memory_map(mem, (uint32_t)a, JK_PVM_PAGE_SIZE, JK_PVM_ACCESS_WRITE) != JK_OK)
            return 0;
    }
    mem->heap_top = (uint32_t)new_top;
    return top;
}
