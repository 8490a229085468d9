/*
 * blake2b_core.c — BLAKE2b (RFC 7693) in portable C: the compression
 * function F unrolled, and a one-shot hash that compresses the message's
 * whole blocks where they lie and copies only the last one.
 *
 * Why jark has its own: most of what a node hashes is one or two blocks (a
 * CNode inner node's 65 bytes, a small Data's page and its 41-byte root
 * record, an event id, a vote), and libsodium's crypto_generichash spends
 * a large share of such a hash outside the compression — the parameter
 * block, the 256-byte buffered update, the final's padding of the whole
 * buffer (docs/crypto.md "Own BLAKE2b, session 10"). The result is the
 * same function, checked against libsodium on every length 0..1,024 and by
 * the fuzz target fuzz_blake2b.
 *
 * Determinism: words are read and written little-endian byte by byte (the
 * compilers turn that into plain loads on little-endian machines), so the
 * digest is the same bytes on every machine and compiler.
 */
#include "internal.h"

#include <string.h>

const uint64_t jk_crypto_b2_iv[8] = {0x6a09e667f3bcc908ull, 0xbb67ae8584caa73bull, 0x3c6ef372fe94f82bull,
                              0xa54ff53a5f1d36f1ull, 0x510e527fade682d1ull, 0x9b05688c2b3e6c1full,
                              0x1f83d9abfb41bd6bull, 0x5be0cd19137e2179ull};


static inline uint64_t jk_crypto_b2_load64(const uint8_t *p)
{
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
           (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
}

static inline void jk_crypto_b2_store64(uint8_t *p, uint64_t w)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(w >> (8 * i));
}

static inline uint64_t jk_crypto_b2_rotr(uint64_t x, unsigned n) { return x >> n | x << (64 - n); }

/* The mixing function G (RFC 7693 §3.1), rotations R1..R4 = 32, 24, 16, 63. */
#define JK_B2_G(a, b, c, d, x, y)                                                                  \
    do {                                                                                           \
        a = a + b + (x);                                                                           \
        d = jk_crypto_b2_rotr(d ^ a, 32);                                                                 \
        c = c + d;                                                                                 \
        b = jk_crypto_b2_rotr(b ^ c, 24);                                                                 \
        a = a + b + (y);                                                                           \
        d = jk_crypto_b2_rotr(d ^ a, 16);                                                                 \
        c = c + d;                                                                                 \
        b = jk_crypto_b2_rotr(b ^ c, 63);                                                                 \
    } while (0)

/* One round: the four column steps, then the four diagonal steps; r is a
 * literal, so every σ index folds to a constant and m[] stays in registers
 * or on the stack, never indexed at run time. */
#define JK_B2_ROUND(r)                                                                             \
    do {                                                                                           \
        JK_B2_G(v0, v4, v8, v12, m[jk_crypto_b2_sigma[r][0]], m[jk_crypto_b2_sigma[r][1]]);                      \
        JK_B2_G(v1, v5, v9, v13, m[jk_crypto_b2_sigma[r][2]], m[jk_crypto_b2_sigma[r][3]]);                      \
        JK_B2_G(v2, v6, v10, v14, m[jk_crypto_b2_sigma[r][4]], m[jk_crypto_b2_sigma[r][5]]);                     \
        JK_B2_G(v3, v7, v11, v15, m[jk_crypto_b2_sigma[r][6]], m[jk_crypto_b2_sigma[r][7]]);                     \
        JK_B2_G(v0, v5, v10, v15, m[jk_crypto_b2_sigma[r][8]], m[jk_crypto_b2_sigma[r][9]]);                     \
        JK_B2_G(v1, v6, v11, v12, m[jk_crypto_b2_sigma[r][10]], m[jk_crypto_b2_sigma[r][11]]);                   \
        JK_B2_G(v2, v7, v8, v13, m[jk_crypto_b2_sigma[r][12]], m[jk_crypto_b2_sigma[r][13]]);                    \
        JK_B2_G(v3, v4, v9, v14, m[jk_crypto_b2_sigma[r][14]], m[jk_crypto_b2_sigma[r][15]]);                    \
    } while (0)

void jk_crypto_b2_compress(uint64_t h[8], const uint8_t block[JK_B2_BLOCK], uint64_t t, bool last)
{
    uint64_t m[16];
    for (int i = 0; i < 16; i++)
        m[i] = jk_crypto_b2_load64(block + 8 * i);
    uint64_t v0 = h[0], v1 = h[1], v2 = h[2], v3 = h[3], v4 = h[4], v5 = h[5], v6 = h[6], v7 = h[7];
    uint64_t v8 = jk_crypto_b2_iv[0], v9 = jk_crypto_b2_iv[1], v10 = jk_crypto_b2_iv[2], v11 = jk_crypto_b2_iv[3];
    uint64_t v12 = jk_crypto_b2_iv[4] ^ t, v13 = jk_crypto_b2_iv[5], v14 = jk_crypto_b2_iv[6] ^ (last ? ~0ull : 0);
    uint64_t v15 = jk_crypto_b2_iv[7];
    JK_B2_ROUND(0);
    JK_B2_ROUND(1);
    JK_B2_ROUND(2);
    JK_B2_ROUND(3);
    JK_B2_ROUND(4);
    JK_B2_ROUND(5);
    JK_B2_ROUND(6);
    JK_B2_ROUND(7);
    JK_B2_ROUND(8);
    JK_B2_ROUND(9);
    JK_B2_ROUND(10);
    JK_B2_ROUND(11);
    h[0] ^= v0 ^ v8;
    h[1] ^= v1 ^ v9;
    h[2] ^= v2 ^ v10;
    h[3] ^= v3 ^ v11;
    h[4] ^= v4 ^ v12;
    h[5] ^= v5 ^ v13;
    h[6] ^= v6 ^ v14;
    h[7] ^= v7 ^ v15;
}

void jk_crypto_b2_oneshot(const uint8_t *data, size_t len, uint8_t *out, size_t out_len)
{
    uint64_t h[8];
    memcpy(h, jk_crypto_b2_iv, sizeof h);
    /* The parameter block's first word: digest length, key length 0,
     * fanout 1, depth 1 (RFC 7693 §2.5); the rest of it is zero. */
    h[0] ^= 0x01010000ull ^ (uint64_t)out_len;
    /* Every block but the last straight from the message; the last (a
     * partial one, or an empty message's only block) zero-padded. */
    size_t off = 0;
    while (len - off > JK_B2_BLOCK) {
        jk_crypto_b2_compress(h, data + off, (uint64_t)(off + JK_B2_BLOCK), false);
        off += JK_B2_BLOCK;
    }
    uint8_t last[JK_B2_BLOCK] = {0};
    if (len > off)
        memcpy(last, data + off, len - off);
    jk_crypto_b2_compress(h, last, (uint64_t)len, true);
    uint8_t full[64];
    for (int i = 0; i < 8; i++)
        jk_crypto_b2_store64(full + 8 * i, h[i]);
    memcpy(out, full, out_len);
}

void jk_crypto_b2_x4_portable(const uint8_t *const data[4], const size_t len[4], jk_hash out[4])
{
    for (int i = 0; i < 4; i++)
        jk_crypto_b2_oneshot(data[i], len[i], out[i].bytes, JK_HASH_SIZE);
}
