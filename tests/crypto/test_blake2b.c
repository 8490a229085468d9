/*
 * test_blake2b.c — jark's own BLAKE2b (src/crypto/blake2b_core.c, the
 * portable code; blake2b_x4.c, one message and four lanes with AVX2)
 * against libsodium's crypto_generichash, the same function: every length
 * 0..1,024, the output lengths 1..64, four lanes of every mix of block
 * counts, the short form, the streaming hasher in pieces (the fuzz corpus,
 * tests/fuzz/fuzz_blake2b.c, is replayed by tests/fuzz/test_corpus.c). The AVX2
 * paths are checked only on a CPU that has AVX2 (the portable path always);
 * `JK_B2_NO_AVX2=1 build/tests` runs every other test on the portable path.
 */
#include "../test.h"

#include "jark/crypto.h"
#include "../../src/crypto/internal.h"

#include <sodium.h>

/* A fixed pseudo-random message (xorshift64), the same on every run. */
static void b2t_fill(uint8_t *p, size_t n, uint64_t seed)
{
    uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        p[i] = (uint8_t)x;
    }
}

JK_TEST(crypto_blake2b_own_equals_libsodium_every_length_to_1024)
{
    JK_REQUIRE(jk_crypto_init() == JK_OK);
    static uint8_t msg[1024];
    b2t_fill(msg, sizeof msg, 1);
    int bad = 0;
    for (size_t len = 0; len <= sizeof msg; len++) {
        jk_hash want, got;
        crypto_generichash(want.bytes, JK_HASH_SIZE, msg, len, NULL, 0);
        jk_crypto_blake2b256(msg, len, &got);
        bad += memcmp(want.bytes, got.bytes, JK_HASH_SIZE) != 0;
        jk_crypto_b2_oneshot(msg, len, got.bytes, JK_HASH_SIZE);
        bad += memcmp(want.bytes, got.bytes, JK_HASH_SIZE) != 0;
        if (jk_crypto_b2_have_avx2()) {
            jk_crypto_b2_oneshot_avx2(msg, len, got.bytes, JK_HASH_SIZE);
            bad += memcmp(want.bytes, got.bytes, JK_HASH_SIZE) != 0;
        }
    }
    JK_CHECK_EQ(bad, 0);
}

JK_TEST(crypto_blake2b_own_equals_libsodium_every_output_length)
{
    JK_REQUIRE(jk_crypto_init() == JK_OK);
    static const size_t lens[] = {0, 1, 3, 64, 127, 128, 129, 255, 256, 257, 1000};
    uint8_t msg[1000];
    b2t_fill(msg, sizeof msg, 2);
    int bad = 0;
    for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++)
        for (size_t out_len = 1; out_len <= 64; out_len++) {
            uint8_t want[64], got[64];
            crypto_generichash(want, out_len, msg, lens[k], NULL, 0);
            bad += jk_crypto_blake2b(msg, lens[k], got, out_len) != JK_OK || memcmp(want, got, out_len) != 0;
            jk_crypto_b2_oneshot(msg, lens[k], got, out_len);
            bad += memcmp(want, got, out_len) != 0;
            if (jk_crypto_b2_have_avx2()) {
                jk_crypto_b2_oneshot_avx2(msg, lens[k], got, out_len);
                bad += memcmp(want, got, out_len) != 0;
            }
        }
    JK_CHECK_EQ(bad, 0);
}

/* Four lanes against libsodium, through the public call and both paths. */
static int b2t_lanes(const uint8_t *const p[4], const size_t l[4])
{
    jk_hash want[4], got[4];
    int bad = 0;
    for (int i = 0; i < 4; i++)
        crypto_generichash(want[i].bytes, JK_HASH_SIZE, p[i], l[i], NULL, 0);
    jk_crypto_blake2b256_x4((const void *const *)p, l, got);
    for (int i = 0; i < 4; i++)
        bad += memcmp(want[i].bytes, got[i].bytes, JK_HASH_SIZE) != 0;
    jk_crypto_b2_x4_portable(p, l, got);
    for (int i = 0; i < 4; i++)
        bad += memcmp(want[i].bytes, got[i].bytes, JK_HASH_SIZE) != 0;
    if (jk_crypto_b2_have_avx2()) {
        jk_crypto_b2_x4_avx2(p, l, got);
        for (int i = 0; i < 4; i++)
            bad += memcmp(want[i].bytes, got[i].bytes, JK_HASH_SIZE) != 0;
    }
    return bad;
}

JK_TEST(crypto_blake2b_x4_lanes_equal_libsodium_at_block_edges)
{
    JK_REQUIRE(jk_crypto_init() == JK_OK);
    /* Every mix of these lengths over the four lanes (0, one block, its
     * edges, two and three blocks): lanes that end early must keep their
     * state while the others go on. */
    static const size_t edge[] = {0, 1, 65, 127, 128, 129, 256, 300};
    enum { NE = sizeof edge / sizeof edge[0] };
    static uint8_t buf[4][300];
    for (int i = 0; i < 4; i++)
        b2t_fill(buf[i], sizeof buf[i], 10 + (uint64_t)i);
    const uint8_t *p[4] = {buf[0], buf[1], buf[2], buf[3]};
    int bad = 0;
    for (int a = 0; a < NE; a++)
        for (int b = 0; b < NE; b++)
            for (int c = 0; c < NE; c++)
                for (int d = 0; d < NE; d++) {
                    size_t l[4] = {edge[a], edge[b], edge[c], edge[d]};
                    bad += b2t_lanes(p, l);
                }
    JK_CHECK_EQ(bad, 0);
}

JK_TEST(crypto_blake2b_x4_random_lengths_and_shared_messages)
{
    JK_REQUIRE(jk_crypto_init() == JK_OK);
    static uint8_t big[4096];
    b2t_fill(big, sizeof big, 3);
    uint64_t x = 77;
    int bad = 0;
    for (int trial = 0; trial < 500; trial++) {
        const uint8_t *p[4];
        size_t l[4];
        for (int i = 0; i < 4; i++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            size_t off = (size_t)(x >> 33) % 2048;
            l[i] = (size_t)(x >> 13) % 1025;
            p[i] = big + off;
        }
        if (trial % 5 == 0) /* the same message in two lanes */
            p[2] = p[0], l[2] = l[0];
        bad += b2t_lanes(p, l);
    }
    JK_CHECK_EQ(bad, 0);
}

/* The published BLAKE2b-256("abc") (test_crypto.c) in every lane. */
JK_TEST(crypto_blake2b_x4_abc_vector_in_every_lane)
{
    JK_REQUIRE(jk_crypto_init() == JK_OK);
    const void *p[4] = {"abc", "", "abc", "abc"};
    size_t l[4] = {3, 0, 3, 3};
    jk_hash out[4];
    jk_crypto_blake2b256_x4(p, l, out);
    for (int i = 0; i < 4; i++)
        if (i != 1)
            JK_CHECK_HEX(out[i].bytes, 32, "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");
    JK_CHECK_HEX(out[1].bytes, 32, "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
}

JK_TEST(crypto_blake2b_x4_short_equals_libsodium_every_length_to_128)
{
    JK_REQUIRE(jk_crypto_init() == JK_OK);
    uint8_t msg[4][128];
    for (int i = 0; i < 4; i++)
        b2t_fill(msg[i], sizeof msg[i], 20 + (uint64_t)i);
    int bad = 0;
    for (size_t n = 0; n <= 128; n++) {
        /* lane i holds n, 128 − n, n / 2 and 65 bytes, zero past them */
        size_t len[4] = {n, 128 - n, n / 2, 65};
        uint8_t blk[4][JK_BLAKE2B_BLOCK] = {{0}};
        for (int i = 0; i < 4; i++)
            memcpy(blk[i], msg[i], len[i]);
        jk_hash got[4], want;
        jk_crypto_blake2b256_x4_short(blk, len, got);
        for (int i = 0; i < 4; i++) {
            crypto_generichash(want.bytes, JK_HASH_SIZE, msg[i], len[i], NULL, 0);
            bad += memcmp(want.bytes, got[i].bytes, JK_HASH_SIZE) != 0;
        }
        if (jk_crypto_b2_have_avx2()) {
            jk_crypto_b2_x4_short_avx2(blk, len, got);
            for (int i = 0; i < 4; i++) {
                crypto_generichash(want.bytes, JK_HASH_SIZE, msg[i], len[i], NULL, 0);
                bad += memcmp(want.bytes, got[i].bytes, JK_HASH_SIZE) != 0;
            }
        }
    }
    JK_CHECK_EQ(bad, 0);
}

/* The streaming hasher against libsodium's one-shot: every length 0..600,
 * fed in pieces of drawn sizes (0 and whole blocks among them), so a full
 * buffer, a block straight from the input and a last block of every fill
 * are all met. */
JK_TEST(crypto_blake2b_hasher_equals_libsodium_in_any_pieces)
{
    JK_REQUIRE(jk_crypto_init() == JK_OK);
    static uint8_t msg[600];
    b2t_fill(msg, sizeof msg, 4);
    static const size_t piece[] = {0, 1, 7, 64, 127, 128, 129, 200, 256, 300};
    uint64_t x = 5;
    int bad = 0;
    for (size_t len = 0; len <= sizeof msg; len++) {
        jk_hash want, got;
        crypto_generichash(want.bytes, JK_HASH_SIZE, msg, len, NULL, 0);
        jk_crypto_hasher h;
        jk_crypto_hasher_init(&h);
        for (size_t at = 0; at < len;) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            size_t n = piece[(x >> 33) % (sizeof piece / sizeof piece[0])];
            if (n > len - at)
                n = len - at;
            jk_crypto_hasher_update(&h, msg + at, n);
            at += n;
        }
        bad += jk_crypto_hasher_final(&h, &got) != JK_OK || memcmp(want.bytes, got.bytes, JK_HASH_SIZE) != 0;
    }
    JK_CHECK_EQ(bad, 0);
}
