/* adv_alloc.h — bytes the host allocates (tests/adversary/adv_alloc.c).
 * Every malloc, calloc, realloc and aligned_alloc made by the test binary and
 * libjark (not by shared libraries) adds its size to a running total; the
 * total never goes down, so the bytes allocated between two readings bound
 * from above the memory the host could have held in between. bench/bench_gas.c
 * links the same counters (bench/gas.mk) for its bytes per unit of gas. */
#ifndef ADV_ALLOC_H
#define ADV_ALLOC_H

#include <stdint.h>

uint64_t adv_allocated(void);

/* The documented peak-memory bound of one invocation given `gas`
 * (docs/abi.md "Peak memory"): 2 MiB + 32 bytes per unit of gas. */
static inline uint64_t adv_bound(int64_t gas) { return (2ull << 20) + 32ull * (uint64_t)gas; }

#endif
