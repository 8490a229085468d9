/* blake2b.h — BLAKE2b (RFC 7693), unkeyed, 1..64-byte digests, freestanding
 * C: b2_init, b2_update, b2_final. Included by bench/c/blake2b.c (the
 * benchmark's endpoint, issue 15) and by tests/sdk/corpus/blake2b.c (the SDK
 * corpus program), so the one BLAKE2b written in C is the one both check
 * against libsodium. */
#ifndef JK_BENCH_C_BLAKE2B_H
#define JK_BENCH_C_BLAKE2B_H

#include "jark.h"

typedef struct b2_state {
    uint64_t h[8];
    uint64_t t;       /* bytes hashed so far (messages < 2^64 bytes) */
    uint8_t buf[128];
    size_t fill;
} b2_state;

/* The SHA-512 IV: first 64 bits of the fractional parts of the square roots
 * of the first 8 primes (RFC 7693 §2.6). */
static const uint64_t b2_iv[8] = {0x6a09e667f3bcc908ull, 0xbb67ae8584caa73bull, 0x3c6ef372fe94f82bull,
                                  0xa54ff53a5f1d36f1ull, 0x510e527fade682d1ull, 0x9b05688c2b3e6c1full,
                                  0x1f83d9abfb41bd6bull, 0x5be0cd19137e2179ull};

/* The message schedule σ (RFC 7693 §2.7); rounds 10 and 11 reuse rows 0 and 1. */
static const uint8_t b2_sigma[12][16] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
    {11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4},
    {7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
    {9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13},
    {2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
    {12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11},
    {13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
    {6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5},
    {10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3}};

static uint64_t b2_rotr(uint64_t x, int n) { return x >> n | x << (64 - n); }

#define B2_G(a, b, c, d, x, y)                                                                                 \
    do {                                                                                                       \
        v[a] = v[a] + v[b] + (x);                                                                              \
        v[d] = b2_rotr(v[d] ^ v[a], 32);                                                                       \
        v[c] = v[c] + v[d];                                                                                    \
        v[b] = b2_rotr(v[b] ^ v[c], 24);                                                                       \
        v[a] = v[a] + v[b] + (y);                                                                              \
        v[d] = b2_rotr(v[d] ^ v[a], 16);                                                                       \
        v[c] = v[c] + v[d];                                                                                    \
        v[b] = b2_rotr(v[b] ^ v[c], 63);                                                                       \
    } while (0)

/* The compression function F (RFC 7693 §3.2); last marks the final block. */
static void b2_compress(b2_state *s, const uint8_t *block, int last)
{
    uint64_t m[16], v[16];
    for (int i = 0; i < 16; i++) {
        uint64_t x = 0;
        for (int j = 7; j >= 0; j--)
            x = x << 8 | block[8 * i + j];
        m[i] = x;
    }
    for (int i = 0; i < 8; i++) {
        v[i] = s->h[i];
        v[i + 8] = b2_iv[i];
    }
    v[12] ^= s->t;            /* the counter's high word stays 0 */
    if (last)
        v[14] = ~v[14];
    for (int r = 0; r < 12; r++) {
        const uint8_t *z = b2_sigma[r];
        B2_G(0, 4, 8, 12, m[z[0]], m[z[1]]);
        B2_G(1, 5, 9, 13, m[z[2]], m[z[3]]);
        B2_G(2, 6, 10, 14, m[z[4]], m[z[5]]);
        B2_G(3, 7, 11, 15, m[z[6]], m[z[7]]);
        B2_G(0, 5, 10, 15, m[z[8]], m[z[9]]);
        B2_G(1, 6, 11, 12, m[z[10]], m[z[11]]);
        B2_G(2, 7, 8, 13, m[z[12]], m[z[13]]);
        B2_G(3, 4, 9, 14, m[z[14]], m[z[15]]);
    }
    for (int i = 0; i < 8; i++)
        s->h[i] ^= v[i] ^ v[i + 8];
}

static void b2_init(b2_state *s, size_t outlen)
{
    for (int i = 0; i < 8; i++)
        s->h[i] = b2_iv[i];
    s->h[0] ^= 0x01010000u ^ outlen; /* parameter block: depth 1, fanout 1, no key */
    s->t = 0;
    s->fill = 0;
}

/* The last block is compressed only at the end (it may be the final one). */
static void b2_update(b2_state *s, const uint8_t *p, size_t n)
{
    while (n > 0) {
        if (s->fill == 128) {
            s->t += 128;
            b2_compress(s, s->buf, 0);
            s->fill = 0;
        }
        if (s->fill == 0) {
            while (n > 128) { /* whole blocks straight from the input */
                s->t += 128;
                b2_compress(s, p, 0);
                p += 128;
                n -= 128;
            }
        }
        size_t take = 128 - s->fill < n ? 128 - s->fill : n;
        memcpy(s->buf + s->fill, p, take);
        s->fill += take;
        p += take;
        n -= take;
    }
}

static void b2_final(b2_state *s, uint8_t *out, size_t outlen)
{
    s->t += s->fill;
    memset(s->buf + s->fill, 0, 128 - s->fill);
    b2_compress(s, s->buf, 1);
    for (size_t i = 0; i < outlen; i++)
        out[i] = (uint8_t)(s->h[i / 8] >> (8 * (i % 8)));
}

#endif
