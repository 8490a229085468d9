/* memops.c — memcpy, memset, memmove and memcmp at many alignments and
 * lengths, including overlapping moves both ways. */
#include "corpus.h"

#include <string.h>

static uint8_t a[300], b[300];

static uint64_t digest(const uint8_t *p, unsigned n)
{
    uint64_t h = 1469598103934665603ull;
    for (unsigned i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

long memops_main(void)
{
    uint64_t h = 0;
    for (unsigned off = 0; off < 9; off++) {
        for (unsigned len = 0; len < 70; len += 3) {
            corpus_fill(a, sizeof a, off * 100 + len);
            memset(b, 0xA5, sizeof b);
            memcpy(b + off, a + (8 - off), len);
            h = h * 31 + digest(b, sizeof b);
            memset(b + off + 1, (int)(len & 0xFF), len);
            h = h * 31 + digest(b, sizeof b);
            memmove(a + off, a + off + 5, len);      /* overlapping, downwards */
            h = h * 31 + digest(a, sizeof a);
            memmove(a + off + 7, a + off, len);      /* overlapping, upwards */
            h = h * 31 + digest(a, sizeof a);
            int c = memcmp(a + off, b + off, len);
            h = h * 31 + (uint64_t)(c < 0 ? 1 : c > 0 ? 2 : 3);
        }
    }
    say_hex("memops", h);
    say("equal", memcmp("abcdef", "abcdef", 6) == 0);
    say("less", memcmp("abcdea", "abcdef", 6) < 0);
    return (long)(h & 0xFFFF);
}
JK_PROGRAM_MAIN(memops_main);
