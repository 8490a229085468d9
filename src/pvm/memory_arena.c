/*
 * memory_arena.c — contiguous host ranges for guest ranges mapped in one
 * piece (docs/pvm.md, "Memory (session 9)").
 *
 * Why: a page buffer of its own per guest page (aligned_alloc) puts
 * consecutive guest pages 8 KiB apart in host memory, so code that walks
 * guest memory must stop at every guest page end for a new translation (the
 * recompiler's strided loops, jit_loop_run.c), and the host TLB holds twice
 * the pages. An arena maps a whole range at once: consecutive guest pages
 * are consecutive host pages, 2 MiB host pages where the host gives them.
 *
 * What stays as it was: the page table. An entry still points at its page's
 * buffer (here, its slot), with the same flags; pages shared with Data caps
 * stay where they are, and a written copy-on-write page is copied into its
 * slot when an arena covers it. A slot is used by its own guest page only,
 * so nothing is ever allocated in an arena after it is made.
 *
 * Host memory: an arena is reserved for the range the embedder mapped and
 * never more (its virtual size is the range's, rounded up to 2 MiB and
 * trimmed back), its pages are touched when they are mapped (zero-filled, as
 * single buffers are), and a slot whose page is unmapped or replaced by a
 * shared page gives its memory back (MADV_DONTNEED). So what a memory holds
 * resident is still its mapped pages, the bound pvm.h documents.
 */
#include "internal.h"

#include <stdlib.h>
#include <sys/mman.h>

typedef struct jk_pvm_arena {
    uint8_t *host;          /* count pages */
    size_t map_len;         /* bytes mmap'd from host (count pages) */
    uint32_t first, count;  /* the guest pages it covers */
} jk_pvm_arena;

#define JK_ARENA_HUGE ((size_t)2 << 20)

uint8_t *jk_pvm_arena_slot(const jk_pvm_memory *mem, uint32_t p)
{
    /* Few arenas: one per large map (a program's image and stack, a
     * benchmark's buffers), so a scan. */
    for (uint32_t i = 0; i < mem->arena_count; i++) {
        const jk_pvm_arena *a = &mem->arenas[i];
        if (p - a->first < a->count)
            return a->host + (size_t)(p - a->first) * JK_PVM_PAGE_SIZE;
    }
    return NULL;
}

/* count pages of anonymous memory, 2 MiB aligned when at least 2 MiB (so
 * that the host can back it with huge pages); NULL when refused. */
static uint8_t *jk_arena_map(size_t len)
{
    if (len < JK_ARENA_HUGE) {
        void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        return m == MAP_FAILED ? NULL : m;
    }
    /* over-reserve by 2 MiB − 4 KiB and trim to an aligned start */
    size_t extra = JK_ARENA_HUGE - JK_PVM_PAGE_SIZE;
    void *m = mmap(NULL, len + extra, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    uintptr_t start = (uintptr_t)m, aligned = (start + JK_ARENA_HUGE - 1) & ~(uintptr_t)(JK_ARENA_HUGE - 1);
    if (aligned > start)
        munmap(m, aligned - start);
    if (start + extra > aligned)
        munmap((void *)(aligned + len), start + extra - aligned);
#ifdef MADV_HUGEPAGE
    (void)madvise((void *)aligned, len, MADV_HUGEPAGE); /* a hint: refused is fine */
#endif
    return (uint8_t *)aligned;
}

bool jk_pvm_arena_add(jk_pvm_memory *mem, uint32_t first, uint32_t count)
{
    if (mem->arena_count == mem->arena_cap) {
        uint32_t cap = mem->arena_cap ? 2 * mem->arena_cap : 4;
        jk_pvm_arena *grown = realloc(mem->arenas, cap * sizeof *grown);
        if (!grown)
            return false;
        mem->arenas = grown;
        mem->arena_cap = cap;
    }
    size_t len = (size_t)count * JK_PVM_PAGE_SIZE;
    uint8_t *host = jk_arena_map(len);
    if (!host)
        return false;
    mem->arenas[mem->arena_count++] = (jk_pvm_arena){host, len, first, count};
    return true;
}

void jk_pvm_arena_release(uint8_t *slot)
{
    /* The slot stays reserved for its page; its memory goes back to the
     * host (a later use finds zeros on Linux, and writes it whole anyway:
     * a map zero-fills, a copy-on-write copies). */
    (void)madvise(slot, JK_PVM_PAGE_SIZE, MADV_DONTNEED);
}

void jk_pvm_arena_free_all(jk_pvm_memory *mem)
{
    for (uint32_t i = 0; i < mem->arena_count; i++)
        munmap(mem->arenas[i].host, mem->arenas[i].map_len);
    mem->arena_count = 0;
}
