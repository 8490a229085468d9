/*
 * blake2b_x4.c — BLAKE2b-256 of four independent messages at once: each
 * 256-bit AVX2 register holds one state or message word of all four
 * messages (lane i = message i), so one pass of the compression function F
 * (RFC 7693 §3.2) does four messages' work. The words are the same, lane by
 * lane, as the portable code's (blake2b_core.c): the output is the same
 * bytes, which the tests and fuzz_blake2b check against libsodium.
 *
 * Why: a block's state root hashes thousands of CNode inner nodes (65
 * bytes each, one compression), and the nodes of one height are
 * independent; cap_hash.c hands them over four at a time (docs/crypto.md
 * "Four lanes").
 *
 * Chosen at run time: the AVX2 code is compiled with a target attribute
 * (the rest of jark keeps the baseline ISA), and jk_crypto_b2_have_avx2 asks the
 * CPU once; elsewhere the portable code runs lane after lane.
 */
#include "internal.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define JK_B2_X86 1
#include <immintrin.h>
#endif

bool jk_crypto_b2_have_avx2(void)
{
#ifdef JK_B2_X86
    /* 0 unknown, 1 no, 2 yes; every thread that races here computes the
     * same answer, so a relaxed store is enough. */
    static atomic_int known;
    int k = atomic_load_explicit(&known, memory_order_relaxed);
    if (k == 0) {
        __builtin_cpu_init();
        const char *off = getenv("JK_B2_NO_AVX2");
        k = __builtin_cpu_supports("avx2") && !(off && *off) ? 2 : 1;
        atomic_store_explicit(&known, k, memory_order_relaxed);
    }
    return k == 2;
#else
    return false;
#endif
}

#ifdef JK_B2_X86

#define JK_X4 __attribute__((target("avx2")))

typedef __m256i jk_v4;

JK_X4 static inline jk_v4 jk_x4_rot32(jk_v4 x) { return _mm256_shuffle_epi32(x, _MM_SHUFFLE(2, 3, 0, 1)); }

JK_X4 static inline jk_v4 jk_x4_rot24(jk_v4 x)
{
    const jk_v4 r24 = _mm256_setr_epi8(3, 4, 5, 6, 7, 0, 1, 2, 11, 12, 13, 14, 15, 8, 9, 10, 3, 4, 5, 6, 7, 0, 1,
                                       2, 11, 12, 13, 14, 15, 8, 9, 10);
    return _mm256_shuffle_epi8(x, r24);
}

JK_X4 static inline jk_v4 jk_x4_rot16(jk_v4 x)
{
    const jk_v4 r16 = _mm256_setr_epi8(2, 3, 4, 5, 6, 7, 0, 1, 10, 11, 12, 13, 14, 15, 8, 9, 2, 3, 4, 5, 6, 7, 0, 1,
                                       10, 11, 12, 13, 14, 15, 8, 9);
    return _mm256_shuffle_epi8(x, r16);
}

JK_X4 static inline jk_v4 jk_x4_rot63(jk_v4 x)
{
    return _mm256_or_si256(_mm256_srli_epi64(x, 63), _mm256_add_epi64(x, x));
}

#define JK_X4_G(a, b, c, d, x, y)                                                                  \
    do {                                                                                           \
        a = _mm256_add_epi64(_mm256_add_epi64(a, b), x);                                           \
        d = jk_x4_rot32(_mm256_xor_si256(d, a));                                                   \
        c = _mm256_add_epi64(c, d);                                                                \
        b = jk_x4_rot24(_mm256_xor_si256(b, c));                                                   \
        a = _mm256_add_epi64(_mm256_add_epi64(a, b), y);                                           \
        d = jk_x4_rot16(_mm256_xor_si256(d, a));                                                   \
        c = _mm256_add_epi64(c, d);                                                                \
        b = jk_x4_rot63(_mm256_xor_si256(b, c));                                                   \
    } while (0)

#define JK_X4_ROUND(r)                                                                             \
    do {                                                                                           \
        JK_X4_G(v[0], v[4], v[8], v[12], m[jk_crypto_b2_sigma[r][0]], m[jk_crypto_b2_sigma[r][1]]);              \
        JK_X4_G(v[1], v[5], v[9], v[13], m[jk_crypto_b2_sigma[r][2]], m[jk_crypto_b2_sigma[r][3]]);              \
        JK_X4_G(v[2], v[6], v[10], v[14], m[jk_crypto_b2_sigma[r][4]], m[jk_crypto_b2_sigma[r][5]]);             \
        JK_X4_G(v[3], v[7], v[11], v[15], m[jk_crypto_b2_sigma[r][6]], m[jk_crypto_b2_sigma[r][7]]);             \
        JK_X4_G(v[0], v[5], v[10], v[15], m[jk_crypto_b2_sigma[r][8]], m[jk_crypto_b2_sigma[r][9]]);             \
        JK_X4_G(v[1], v[6], v[11], v[12], m[jk_crypto_b2_sigma[r][10]], m[jk_crypto_b2_sigma[r][11]]);           \
        JK_X4_G(v[2], v[7], v[8], v[13], m[jk_crypto_b2_sigma[r][12]], m[jk_crypto_b2_sigma[r][13]]);            \
        JK_X4_G(v[3], v[4], v[9], v[14], m[jk_crypto_b2_sigma[r][14]], m[jk_crypto_b2_sigma[r][15]]);            \
    } while (0)

/* Four words a, b, c, d of four 64-bit lanes each (a = lane i's words
 * 4k..4k+3) turned into the four vectors of word 4k+j across the lanes. */
JK_X4 static inline void jk_x4_transpose(jk_v4 *a, jk_v4 *b, jk_v4 *c, jk_v4 *d)
{
    jk_v4 t0 = _mm256_unpacklo_epi64(*a, *b); /* a0 b0 a2 b2 */
    jk_v4 t1 = _mm256_unpackhi_epi64(*a, *b); /* a1 b1 a3 b3 */
    jk_v4 t2 = _mm256_unpacklo_epi64(*c, *d); /* c0 d0 c2 d2 */
    jk_v4 t3 = _mm256_unpackhi_epi64(*c, *d); /* c1 d1 c3 d3 */
    *a = _mm256_permute2x128_si256(t0, t2, 0x20); /* a0 b0 c0 d0 */
    *b = _mm256_permute2x128_si256(t1, t3, 0x20); /* a1 b1 c1 d1 */
    *c = _mm256_permute2x128_si256(t0, t2, 0x31); /* a2 b2 c2 d2 */
    *d = _mm256_permute2x128_si256(t1, t3, 0x31); /* a3 b3 c3 d3 */
}

/* F on one block of each lane: blk[i] is lane i's 128 bytes, t its
 * counter, last its final-block mask (all ones or zero), live which lanes
 * take the result (a lane whose message has ended keeps its state). */
JK_X4 static void jk_x4_compress(jk_v4 h[8], const uint8_t *const blk[4], jk_v4 t, jk_v4 last, jk_v4 live)
{
    jk_v4 m[16], v[16];
    for (int k = 0; k < 4; k++) {
        m[4 * k] = _mm256_loadu_si256((const jk_v4 *)(const void *)(blk[0] + 32 * k));
        m[4 * k + 1] = _mm256_loadu_si256((const jk_v4 *)(const void *)(blk[1] + 32 * k));
        m[4 * k + 2] = _mm256_loadu_si256((const jk_v4 *)(const void *)(blk[2] + 32 * k));
        m[4 * k + 3] = _mm256_loadu_si256((const jk_v4 *)(const void *)(blk[3] + 32 * k));
        jk_x4_transpose(&m[4 * k], &m[4 * k + 1], &m[4 * k + 2], &m[4 * k + 3]);
    }
    for (int i = 0; i < 8; i++) {
        v[i] = h[i];
        v[i + 8] = _mm256_set1_epi64x((long long)jk_crypto_b2_iv[i]);
    }
    v[12] = _mm256_xor_si256(v[12], t);
    v[14] = _mm256_xor_si256(v[14], last);
    JK_X4_ROUND(0);
    JK_X4_ROUND(1);
    JK_X4_ROUND(2);
    JK_X4_ROUND(3);
    JK_X4_ROUND(4);
    JK_X4_ROUND(5);
    JK_X4_ROUND(6);
    JK_X4_ROUND(7);
    JK_X4_ROUND(8);
    JK_X4_ROUND(9);
    JK_X4_ROUND(10);
    JK_X4_ROUND(11);
    for (int i = 0; i < 8; i++) {
        jk_v4 nh = _mm256_xor_si256(h[i], _mm256_xor_si256(v[i], v[i + 8]));
        h[i] = _mm256_blendv_epi8(h[i], nh, live);
    }
}

JK_X4 void jk_crypto_b2_x4_avx2(const uint8_t *const data[4], const size_t len[4], jk_hash out[4])
{
    static const uint8_t zero[JK_B2_BLOCK];
    uint8_t pad[4][JK_B2_BLOCK];
    size_t nblk[4], most = 0;
    for (int i = 0; i < 4; i++) {
        /* An empty message still has one (all-zero) block. */
        nblk[i] = len[i] ? (len[i] + JK_B2_BLOCK - 1) / JK_B2_BLOCK : 1;
        if (nblk[i] > most)
            most = nblk[i];
        size_t tail = len[i] - (nblk[i] - 1) * JK_B2_BLOCK;
        memset(pad[i], 0, JK_B2_BLOCK);
        if (tail)
            memcpy(pad[i], data[i] + (nblk[i] - 1) * JK_B2_BLOCK, tail);
    }
    jk_v4 h[8];
    for (int i = 0; i < 8; i++)
        h[i] = _mm256_set1_epi64x((long long)jk_crypto_b2_iv[i]);
    /* Parameter block: 32-byte digest, no key, fanout 1, depth 1. */
    h[0] = _mm256_xor_si256(h[0], _mm256_set1_epi64x(0x01010000ll ^ JK_HASH_SIZE));
    for (size_t b = 0; b < most; b++) {
        const uint8_t *blk[4];
        long long t[4], last[4], live[4];
        for (int i = 0; i < 4; i++) {
            bool is_live = b < nblk[i], is_last = b + 1 == nblk[i];
            blk[i] = !is_live ? zero : is_last ? pad[i] : data[i] + b * JK_B2_BLOCK;
            t[i] = (long long)(is_last ? len[i] : (b + 1) * JK_B2_BLOCK);
            last[i] = is_last ? -1 : 0;
            live[i] = is_live ? -1 : 0;
        }
        jk_x4_compress(h, blk, _mm256_setr_epi64x(t[0], t[1], t[2], t[3]),
                       _mm256_setr_epi64x(last[0], last[1], last[2], last[3]),
                       _mm256_setr_epi64x(live[0], live[1], live[2], live[3]));
    }
    /* h[0..3] across the lanes back to lane-major: lane i's 32 bytes. */
    jk_x4_transpose(&h[0], &h[1], &h[2], &h[3]);
    for (int i = 0; i < 4; i++)
        _mm256_storeu_si256((jk_v4 *)(void *)out[i].bytes, h[i]);
}

JK_X4 void jk_crypto_b2_x4_short_avx2(const uint8_t block[4][JK_B2_BLOCK], const size_t len[4], jk_hash out[4])
{
    jk_v4 h[8];
    for (int i = 0; i < 8; i++)
        h[i] = _mm256_set1_epi64x((long long)jk_crypto_b2_iv[i]);
    h[0] = _mm256_xor_si256(h[0], _mm256_set1_epi64x(0x01010000ll ^ JK_HASH_SIZE));
    const uint8_t *blk[4] = {block[0], block[1], block[2], block[3]};
    const jk_v4 ones = _mm256_set1_epi64x(-1);
    jk_x4_compress(h, blk,
                   _mm256_setr_epi64x((long long)len[0], (long long)len[1], (long long)len[2], (long long)len[3]),
                   ones, ones);
    jk_x4_transpose(&h[0], &h[1], &h[2], &h[3]);
    for (int i = 0; i < 4; i++)
        _mm256_storeu_si256((jk_v4 *)(void *)out[i].bytes, h[i]);
}

/* ---- one message, its 4 x 4 state in four registers ----
 *
 * The rows a = v0..v3, b = v4..v7, c = v8..v11, d = v12..v15: one G
 * sequence on the rows does the four column steps at once; rotating rows
 * b, c, d by one, two and three words lines the diagonals up for the next
 * four, and rotating them back restores the columns. The message words of
 * each step are gathered from the block by σ (the G sequence is the four
 * lanes' JK_X4_G on the rows). Used for one-shot hashes on AVX2 CPUs: the
 * same words as jk_crypto_b2_compress. */

#define JK_X1_M(r, i, j, k, l)                                                                     \
    _mm256_setr_epi64x(m[jk_crypto_b2_sigma[r][i]], m[jk_crypto_b2_sigma[r][j]], m[jk_crypto_b2_sigma[r][k]], m[jk_crypto_b2_sigma[r][l]])

#define JK_X1_ROUND(r)                                                                             \
    do {                                                                                           \
        JK_X4_G(a, b, c, d, JK_X1_M(r, 0, 2, 4, 6), JK_X1_M(r, 1, 3, 5, 7));                                \
        b = _mm256_permute4x64_epi64(b, _MM_SHUFFLE(0, 3, 2, 1));                                  \
        c = _mm256_permute4x64_epi64(c, _MM_SHUFFLE(1, 0, 3, 2));                                  \
        d = _mm256_permute4x64_epi64(d, _MM_SHUFFLE(2, 1, 0, 3));                                  \
        JK_X4_G(a, b, c, d, JK_X1_M(r, 8, 10, 12, 14), JK_X1_M(r, 9, 11, 13, 15));                             \
        b = _mm256_permute4x64_epi64(b, _MM_SHUFFLE(2, 1, 0, 3));                                  \
        c = _mm256_permute4x64_epi64(c, _MM_SHUFFLE(1, 0, 3, 2));                                  \
        d = _mm256_permute4x64_epi64(d, _MM_SHUFFLE(0, 3, 2, 1));                                  \
    } while (0)

JK_X4 static void jk_x1_compress(jk_v4 *h0, jk_v4 *h1, const uint8_t *blk, uint64_t t, bool last)
{
    long long m[16];
    memcpy(m, blk, sizeof m); /* x86: little-endian, the words as RFC 7693 reads them */
    jk_v4 a = *h0, b = *h1;
    jk_v4 c = _mm256_loadu_si256((const jk_v4 *)(const void *)jk_crypto_b2_iv);
    jk_v4 d = _mm256_xor_si256(_mm256_loadu_si256((const jk_v4 *)(const void *)(jk_crypto_b2_iv + 4)),
                               _mm256_setr_epi64x((long long)t, 0, last ? -1 : 0, 0));
    JK_X1_ROUND(0);
    JK_X1_ROUND(1);
    JK_X1_ROUND(2);
    JK_X1_ROUND(3);
    JK_X1_ROUND(4);
    JK_X1_ROUND(5);
    JK_X1_ROUND(6);
    JK_X1_ROUND(7);
    JK_X1_ROUND(8);
    JK_X1_ROUND(9);
    JK_X1_ROUND(10);
    JK_X1_ROUND(11);
    *h0 = _mm256_xor_si256(*h0, _mm256_xor_si256(a, c));
    *h1 = _mm256_xor_si256(*h1, _mm256_xor_si256(b, d));
}

JK_X4 void jk_crypto_b2_oneshot_avx2(const uint8_t *data, size_t len, uint8_t *out, size_t out_len)
{
    jk_v4 h0 = _mm256_loadu_si256((const jk_v4 *)(const void *)jk_crypto_b2_iv);
    jk_v4 h1 = _mm256_loadu_si256((const jk_v4 *)(const void *)(jk_crypto_b2_iv + 4));
    /* Parameter block: digest length, no key, fanout 1, depth 1. */
    h0 = _mm256_xor_si256(h0, _mm256_setr_epi64x((long long)(0x01010000ull ^ out_len), 0, 0, 0));
    size_t off = 0;
    while (len - off > JK_B2_BLOCK) {
        jk_x1_compress(&h0, &h1, data + off, (uint64_t)(off + JK_B2_BLOCK), false);
        off += JK_B2_BLOCK;
    }
    uint8_t last[JK_B2_BLOCK] = {0};
    if (len > off)
        memcpy(last, data + off, len - off);
    jk_x1_compress(&h0, &h1, last, (uint64_t)len, true);
    uint8_t full[64];
    _mm256_storeu_si256((jk_v4 *)(void *)full, h0);
    _mm256_storeu_si256((jk_v4 *)(void *)(full + 32), h1);
    memcpy(out, full, out_len);
}

#else

void jk_crypto_b2_x4_avx2(const uint8_t *const data[4], const size_t len[4], jk_hash out[4])
{
    jk_crypto_b2_x4_portable(data, len, out);
}

void jk_crypto_b2_oneshot_avx2(const uint8_t *data, size_t len, uint8_t *out, size_t out_len)
{
    jk_crypto_b2_oneshot(data, len, out, out_len);
}

void jk_crypto_b2_x4_short_avx2(const uint8_t block[4][JK_B2_BLOCK], const size_t len[4], jk_hash out[4])
{
    for (int i = 0; i < 4; i++)
        jk_crypto_b2_oneshot(block[i], len[i], out[i].bytes, JK_HASH_SIZE);
}

#endif
