/*
 * cap_test_util.h — what the cap tests share: the count of live cap objects
 * (every test that makes caps checks it comes back to where it was, so a
 * leaked or doubly released reference fails), and little-endian writers
 * for the records the tests build by hand (docs/cap.md).
 *
 * Static inline, so each test file gets its own copy.
 */
#ifndef JK_TESTS_CAP_TEST_UTIL_H
#define JK_TESTS_CAP_TEST_UTIL_H

#include "jark/cap.h"

#include <string.h>

static inline int64_t live(void)
{
    jk_cap_stats s;
    jk_cap_stats_get(&s);
    return s.live_objects;
}

static inline void put32(uint8_t **p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        *(*p)++ = (uint8_t)(v >> (8 * i));
}

static inline void put64(uint8_t **p, uint64_t v)
{
    put32(p, (uint32_t)v);
    put32(p, (uint32_t)(v >> 32));
}

/* c's hash, 32 bytes. */
static inline void puth(uint8_t **p, jk_cap c)
{
    jk_hash h;
    jk_cap_hash(c, &h);
    memcpy(*p, h.bytes, 32);
    *p += 32;
}

#endif
