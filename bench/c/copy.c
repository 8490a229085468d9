/* copy.c — a load/store copy loop over 16 MiB, several passes back and forth
 * between two buffers, then a checksum. */
#include "jark.h"
#include "place.h"

#define COPY_WORDS ((16u << 20) / 8)
static JK_BENCH_LARGE uint64_t buf_a[COPY_WORDS];
static JK_BENCH_LARGE uint64_t buf_b[COPY_WORDS];

uint64_t c_copy(uint64_t words, uint64_t passes)
{
    const uint64_t k = 0x9E3779B97F4A7C15ull;
    uint64_t v = k;
    if (words > COPY_WORDS)
        words = COPY_WORDS;
    for (uint64_t i = 0; i < words; i++, v += k)
        buf_a[i] = v;
    uint64_t *src = buf_a, *dst = buf_b;
    for (uint64_t p = 0; p < passes; p++) {
        for (uint64_t i = 0; i + 3 < words; i += 4) {
            uint64_t w0 = src[i], w1 = src[i + 1], w2 = src[i + 2], w3 = src[i + 3];
            dst[i] = w0;
            dst[i + 1] = w1;
            dst[i + 2] = w2;
            dst[i + 3] = w3;
        }
        uint64_t *t = src;
        src = dst;
        dst = t;
    }
    uint64_t acc = 0;
    for (uint64_t i = 0; i < words; i++)
        acc = ((acc << 5) | (acc >> 59)) ^ src[i];
    return acc;
}
JK_ENDPOINT(0, c_copy);
