/*
 * test_bytes.c — jark/bytes.h: the little-endian loads and stores give the
 * bytes the formats define (least significant first) at any alignment,
 * whichever way the host builds them (one memcpy on a little-endian host,
 * byte loops elsewhere).
 */
#include "../test.h"

#include "jark/bytes.h"

JK_TEST(test_bytes_le_loads_and_stores_are_the_formats_bytes)
{
    uint8_t buf[24];
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (unsigned round = 0; round < 200; round++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        for (unsigned off = 0; off < 8; off++) { /* every alignment */
            memset(buf, 0xa5, sizeof buf);
            jk_put_u64le(buf + off, x);
            for (unsigned i = 0; i < 8; i++)
                JK_CHECK(buf[off + i] == (uint8_t)(x >> (8 * i)));
            JK_CHECK(buf[off + 8] == 0xa5 && (off == 0 || buf[off - 1] == 0xa5));
            JK_CHECK(jk_get_u64le(buf + off) == x);
            jk_put_u32le(buf + off + 9, (uint32_t)x);
            for (unsigned i = 0; i < 4; i++)
                JK_CHECK(buf[off + 9 + i] == (uint8_t)(x >> (8 * i)));
            JK_CHECK(buf[off + 13] == 0xa5);
            JK_CHECK(jk_get_u32le(buf + off + 9) == (uint32_t)x);
        }
    }
    const uint8_t fixed[8] = {1, 2, 3, 4, 5, 6, 7, 0x80};
    JK_CHECK(jk_get_u64le(fixed) == 0x8007060504030201ull);
    JK_CHECK(jk_get_u32le(fixed) == 0x04030201u);
}
