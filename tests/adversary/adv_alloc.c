/* adv_alloc.c — allocation counters for the hostile-guest tests, linked with
 * -Wl,--wrap=malloc,... (tests/adversary/adversary.mk). Relaxed atomics: the
 * node tests allocate from several threads; a hostile-guest test reads the
 * total around a call made on its own thread while no other runs. */
#include "adv_alloc.h"

#include <stddef.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
void *__real_aligned_alloc(size_t a, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);
void *__wrap_aligned_alloc(size_t a, size_t n);

static uint64_t adv_total;

static void adv_add(size_t n) { __atomic_fetch_add(&adv_total, (uint64_t)n, __ATOMIC_RELAXED); }

uint64_t adv_allocated(void) { return __atomic_load_n(&adv_total, __ATOMIC_RELAXED); }

void *__wrap_malloc(size_t n)
{
    adv_add(n);
    return __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t m)
{
    adv_add(n * m);
    return __real_calloc(n, m);
}

/* Counted whole: a growing buffer reallocated k times counts every size. */
void *__wrap_realloc(void *p, size_t n)
{
    adv_add(n);
    return __real_realloc(p, n);
}

void *__wrap_aligned_alloc(size_t a, size_t n)
{
    adv_add(n);
    return __real_aligned_alloc(a, n);
}
