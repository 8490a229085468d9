/*
 * test_attest.c — attestation traces and key sets (src/chain/attest.c).
 *
 * The attested message hash against its definition in docs/block-format.md
 * (built by hand, one-shot and streaming); a golden trace pinned as hex (the
 * values were cross-checked when pinned against an independent Python
 * transcription of docs/block-format.md: hashlib.blake2b and the
 * `cryptography` package's Ed25519); sign / verify and every refusal (another
 * key, genesis, blob; damaged fields); lookup; and key sets against a plain
 * sorted-array reference, in several insertion orders.
 */
#include "../test.h"

#include "jark/chain.h"
#include "../../src/chain/internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- helpers ---- */

/* The fixed inputs of the golden values (docs/block-format.md, "Test
 * values"): seed[i] = i; genesis = H("jark test genesis"); the blob below. */
static const char golden_blob[] = "oracle report: price=42 round=7";

static void golden_key(uint8_t pk[32], uint8_t sk[64])
{
    uint8_t seed[32];
    for (int i = 0; i < 32; i++)
        seed[i] = (uint8_t)i;
    JK_CHECK_EQ(jk_crypto_ed25519_keypair_from_seed(seed, pk, sk), JK_OK);
}

static void golden_genesis(jk_hash *g)
{
    jk_crypto_blake2b256("jark test genesis", 17, g);
}

static void key_from_byte(uint8_t b, uint8_t pk[32], uint8_t sk[64])
{
    uint8_t seed[32];
    memset(seed, b, sizeof seed);
    JK_CHECK_EQ(jk_crypto_ed25519_keypair_from_seed(seed, pk, sk), JK_OK);
}

/* ---- the attested message ---- */

JK_TEST(test_chain_attest_msg_hash_definition)
{
    JK_REQUIRE(jk_crypto_init() == JK_OK);
    jk_hash g, got, want;
    golden_genesis(&g);
    /* By hand: the 14 tag bytes, genesis, blob; no NUL, no length. */
    uint8_t buf[14 + 32 + sizeof golden_blob];
    size_t blen = sizeof golden_blob - 1;
    memcpy(buf, "jark/attest/v1", 14);
    memcpy(buf + 14, g.bytes, 32);
    memcpy(buf + 46, golden_blob, blen);
    jk_crypto_blake2b256(buf, 46 + blen, &want);
    jk_chain_attest_msg_hash(&g, golden_blob, blen, &got);
    JK_CHECK_MEM(got.bytes, want.bytes, 32);
    /* Empty blob (NULL allowed). */
    jk_crypto_blake2b256(buf, 46, &want);
    jk_chain_attest_msg_hash(&g, NULL, 0, &got);
    JK_CHECK_MEM(got.bytes, want.bytes, 32);
    /* A large blob: streaming equals one-shot. */
    size_t big = (3u << 20) + 17;
    uint8_t *p = malloc(46 + big);
    JK_REQUIRE(p != NULL);
    memcpy(p, buf, 46);
    for (size_t i = 0; i < big; i++)
        p[46 + i] = (uint8_t)(i * 31 + (i >> 9));
    jk_crypto_blake2b256(p, 46 + big, &want);
    jk_chain_attest_msg_hash(&g, p + 46, big, &got);
    JK_CHECK_MEM(got.bytes, want.bytes, 32);
    free(p);
}

JK_TEST(test_chain_attest_golden_trace)
{
    JK_REQUIRE(jk_crypto_init() == JK_OK);
    uint8_t pk[32], sk[64], enc[JK_CHAIN_TRACE_SIZE];
    jk_hash g, m;
    golden_key(pk, sk);
    golden_genesis(&g);
    jk_chain_attest_msg_hash(&g, golden_blob, sizeof golden_blob - 1, &m);
    jk_chain_trace t;
    jk_chain_trace_sign(sk, &g, golden_blob, sizeof golden_blob - 1, &t);
    jk_chain_trace_encode(&t, enc);
    JK_CHECK_HEX(g.bytes, 32, "4e80ef79bb04d667f3462fc116a1d5787c6f982540493ff44d3fd8512b80533d");
    JK_CHECK_HEX(pk, 32, "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8");
    JK_CHECK_HEX(m.bytes, 32, "3dc11288b373829f8acdff9609b5989ae17d01ad33687679a73615da86e25953");
    JK_CHECK_HEX(enc, 128,
                 "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8" /* key */
                 "3dc11288b373829f8acdff9609b5989ae17d01ad33687679a73615da86e25953" /* msg_hash */
                 "75583cf8812e78119085a6a6d843d421ccc9b8fc0343d9b7cbefbb0c534d7b7e" /* sig R */
                 "b9825b5843c073102f6843f168e944f81c10e3264329f05af6e2ecd5ff093105" /* sig S */);
    jk_crypto_wipe(sk, sizeof sk);
}

/* ---- traces ---- */

JK_TEST(test_chain_trace_sign_verify)
{
    JK_REQUIRE(jk_crypto_init() == JK_OK);
    uint8_t pk[32], sk[64], enc[JK_CHAIN_TRACE_SIZE];
    jk_hash g, m;
    golden_key(pk, sk);
    golden_genesis(&g);
    const uint8_t *blob = (const uint8_t *)golden_blob;
    size_t len = sizeof golden_blob - 1;
    jk_chain_trace t, back;
    jk_chain_trace_sign(sk, &g, blob, len, &t);
    jk_chain_attest_msg_hash(&g, blob, len, &m);

    JK_CHECK_EQ(jk_chain_trace_verify(&t, pk, &g, blob, len), JK_OK);
    JK_CHECK_EQ(jk_chain_trace_verify_hash(&t, pk, &m), JK_OK);
    JK_CHECK_EQ(jk_chain_trace_check(&t), JK_OK);
    /* The fields: the key is the public half; msg_hash is the attested
     * message hash itself (no second hash); the signature is plain Ed25519
     * over those 32 bytes. */
    JK_CHECK_MEM(t.key, pk, 32);
    JK_CHECK_MEM(t.msg_hash.bytes, m.bytes, 32);
    JK_CHECK_EQ(jk_crypto_ed25519_verify(pk, m.bytes, 32, t.sig), JK_OK);
    /* Encoding: key ‖ msg_hash ‖ sig, and back. */
    jk_chain_trace_encode(&t, enc);
    JK_CHECK_MEM(enc, pk, 32);
    JK_CHECK_MEM(enc + 32, m.bytes, 32);
    JK_CHECK_MEM(enc + 64, t.sig, 64);
    jk_chain_trace_decode(enc, &back);
    JK_CHECK_MEM(&back, &t, sizeof t);
    /* sign_hash gives the same trace; signing is deterministic. */
    jk_chain_trace_sign_hash(sk, &m, &back);
    JK_CHECK_MEM(&back, &t, sizeof t);
    /* An empty blob works too. */
    jk_chain_trace_sign(sk, &g, NULL, 0, &t);
    JK_CHECK_EQ(jk_chain_trace_verify(&t, pk, &g, NULL, 0), JK_OK);
    JK_CHECK_EQ(jk_chain_trace_verify(&t, pk, &g, "x", 1), JK_ERR_CHAIN_TRACE_MSG);
    jk_crypto_wipe(sk, sizeof sk);
}

JK_TEST(test_chain_trace_refusals)
{
    JK_REQUIRE(jk_crypto_init() == JK_OK);
    uint8_t pk[32], sk[64], pk2[32], sk2[64];
    jk_hash g, g2;
    golden_key(pk, sk);
    key_from_byte(0xA5, pk2, sk2);
    golden_genesis(&g);
    jk_crypto_blake2b256("another chain", 13, &g2);
    const char *blob = golden_blob;
    size_t len = sizeof golden_blob - 1;
    jk_chain_trace t, bad;
    jk_chain_trace_sign(sk, &g, blob, len, &t);

    /* Made with one key: not valid under another. */
    JK_CHECK_EQ(jk_chain_trace_verify(&t, pk2, &g, blob, len), JK_ERR_CHAIN_TRACE_KEY);
    /* Claiming the other key does not help: the signature is pk's. */
    bad = t;
    memcpy(bad.key, pk2, 32);
    JK_CHECK_EQ(jk_chain_trace_verify(&bad, pk2, &g, blob, len), JK_ERR_CHAIN_TRACE_SIG);
    JK_CHECK_EQ(jk_chain_trace_check(&bad), JK_ERR_CHAIN_TRACE_SIG);
    /* Another genesis (another chain), another blob. */
    JK_CHECK_EQ(jk_chain_trace_verify(&t, pk, &g2, blob, len), JK_ERR_CHAIN_TRACE_MSG);
    JK_CHECK_EQ(jk_chain_trace_verify(&t, pk, &g, blob, len - 1), JK_ERR_CHAIN_TRACE_MSG);
    JK_CHECK_EQ(jk_chain_trace_verify(&t, pk, &g, "oracle report: price=43 round=7", len),
                JK_ERR_CHAIN_TRACE_MSG);
    /* A trace made for the other chain is refused under this one and is
     * fine under its own. */
    jk_chain_trace t2;
    jk_chain_trace_sign(sk, &g2, blob, len, &t2);
    JK_CHECK_EQ(jk_chain_trace_verify(&t2, pk, &g, blob, len), JK_ERR_CHAIN_TRACE_MSG);
    JK_CHECK_EQ(jk_chain_trace_verify(&t2, pk, &g2, blob, len), JK_OK);
    /* Every single-bit change of the 128 encoded bytes is refused. */
    uint8_t enc[JK_CHAIN_TRACE_SIZE], dam[JK_CHAIN_TRACE_SIZE];
    jk_chain_trace_encode(&t, enc);
    size_t refused = 0;
    for (size_t i = 0; i < sizeof enc; i++) {
        memcpy(dam, enc, sizeof enc);
        dam[i] ^= (uint8_t)(1u << (i % 8));
        jk_chain_trace_decode(dam, &bad);
        jk_err err = jk_chain_trace_verify(&bad, pk, &g, blob, len);
        jk_err want = i < 32 ? JK_ERR_CHAIN_TRACE_KEY
                      : i < 64 ? JK_ERR_CHAIN_TRACE_MSG
                               : JK_ERR_CHAIN_TRACE_SIG;
        if (err != want)
            jk_test_fail(__FILE__, __LINE__, "byte %zu damaged: %d, want %d", i, (int)err,
                         (int)want);
        refused += err != JK_OK;
    }
    JK_CHECK_EQ(refused, 128);
    /* An all-zero trace (an invalid key) is refused, not crashed on. */
    memset(&bad, 0, sizeof bad);
    JK_CHECK_EQ(jk_chain_trace_check(&bad), JK_ERR_CHAIN_TRACE_SIG);
    jk_crypto_wipe(sk, sizeof sk);
    jk_crypto_wipe(sk2, sizeof sk2);
}

JK_TEST(test_chain_trace_find)
{
    JK_REQUIRE(jk_crypto_init() == JK_OK);
    uint8_t pk[3][32], sk[3][64];
    jk_hash g, m[3];
    golden_genesis(&g);
    for (int i = 0; i < 3; i++)
        key_from_byte((uint8_t)(i + 1), pk[i], sk[i]);
    const char *blobs[3] = {"a", "bb", "ccc"};
    for (int i = 0; i < 3; i++)
        jk_chain_attest_msg_hash(&g, blobs[i], strlen(blobs[i]), &m[i]);
    jk_chain_trace list[6];
    jk_chain_trace_sign(sk[0], &g, "a", 1, &list[0]);   /* (0, a) */
    jk_chain_trace_sign(sk[1], &g, "a", 1, &list[1]);   /* (1, a) */
    jk_chain_trace_sign(sk[0], &g, "bb", 2, &list[2]);  /* (0, bb) */
    list[3] = list[2];                                  /* (0, bb) again */
    jk_chain_trace_sign(sk[2], &g, "ccc", 3, &list[4]); /* (2, ccc), damaged below */
    list[4].sig[5] ^= 1;
    jk_chain_trace_sign(sk[2], &g, "ccc", 3, &list[5]); /* (2, ccc), valid */

    size_t idx = 99;
    JK_CHECK(jk_chain_trace_find(list, 6, pk[0], &m[0], &idx));
    JK_CHECK_EQ(idx, 0);
    JK_CHECK(jk_chain_trace_find(list, 6, pk[1], &m[0], &idx));
    JK_CHECK_EQ(idx, 1);
    JK_CHECK(jk_chain_trace_find(list, 6, pk[0], &m[1], &idx));
    JK_CHECK_EQ(idx, 2); /* the first of two equal ones */
    JK_CHECK(!jk_chain_trace_find(list, 6, pk[1], &m[1], &idx));
    JK_CHECK(!jk_chain_trace_find(list, 6, pk[0], &m[2], NULL));
    JK_CHECK(!jk_chain_trace_find(NULL, 0, pk[0], &m[0], NULL));
    /* find looks at key and msg_hash only; find_valid skips bad signatures. */
    JK_CHECK(jk_chain_trace_find(list, 6, pk[2], &m[2], &idx));
    JK_CHECK_EQ(idx, 4);
    JK_CHECK(jk_chain_trace_find_valid(list, 6, pk[2], &m[2], &idx));
    JK_CHECK_EQ(idx, 5);
    JK_CHECK(!jk_chain_trace_find_valid(list, 5, pk[2], &m[2], NULL));
    JK_CHECK(jk_chain_trace_find_valid(list, 6, pk[0], &m[1], &idx));
    JK_CHECK_EQ(idx, 2);
    for (int i = 0; i < 3; i++)
        jk_crypto_wipe(sk[i], sizeof sk[i]);
}

/* ---- key sets ---- */

static void make_key(uint32_t i, uint8_t out[32])
{
    jk_hash h;
    uint8_t b[4] = {(uint8_t)i, (uint8_t)(i >> 8), (uint8_t)(i >> 16), (uint8_t)(i >> 24)};
    jk_crypto_blake2b256(b, 4, &h);
    memcpy(out, h.bytes, 32);
}

static int cmp_key(const void *a, const void *b)
{
    return memcmp(a, b, 32);
}

/* s must hold exactly the distinct keys of ref[0..n) (ref is sorted and
 * de-duplicated here), iterate them in ascending order, and contain each. */
static void check_against(const jk_chain_keyset *s, uint8_t (*ref)[32], size_t n, int line)
{
    qsort(ref, n, 32, cmp_key);
    size_t u = 0;
    for (size_t i = 0; i < n; i++)
        if (u == 0 || memcmp(ref[u - 1], ref[i], 32) != 0)
            memmove(ref[u++], ref[i], 32);
    if (jk_chain_keyset_count(s) != u)
        jk_test_fail(__FILE__, line, "count %zu, want %zu", jk_chain_keyset_count(s), u);
    jk_chain_keyset_iter it = JK_CHAIN_KEYSET_ITER_INIT;
    const uint8_t *k;
    size_t i = 0;
    while ((k = jk_chain_keyset_next(s, &it)) != NULL) {
        if (i >= u || memcmp(k, ref[i], 32) != 0) {
            jk_test_fail(__FILE__, line, "iteration differs at %zu", i);
            return;
        }
        i++;
    }
    if (i != u)
        jk_test_fail(__FILE__, line, "iteration gave %zu keys, want %zu", i, u);
    for (size_t j = 0; j < u; j++)
        if (!jk_chain_keyset_contains(s, ref[j])) {
            jk_test_fail(__FILE__, line, "key %zu missing", j);
            return;
        }
}

JK_TEST(test_chain_keyset_basics)
{
    JK_REQUIRE(jk_crypto_init() == JK_OK);
    jk_chain_keyset s = JK_CHAIN_KEYSET_INIT;
    uint8_t a[32], b[32], c[32];
    make_key(1, a);
    make_key(2, b);
    make_key(3, c);
    JK_CHECK_EQ(jk_chain_keyset_count(&s), 0);
    JK_CHECK(!jk_chain_keyset_contains(&s, a));
    jk_chain_keyset_iter it = JK_CHAIN_KEYSET_ITER_INIT;
    JK_CHECK(jk_chain_keyset_next(&s, &it) == NULL);
    bool added = false;
    JK_CHECK_EQ(jk_chain_keyset_add(&s, a, &added), JK_OK);
    JK_CHECK(added);
    JK_CHECK_EQ(jk_chain_keyset_add(&s, a, &added), JK_OK);
    JK_CHECK(!added);
    JK_CHECK_EQ(jk_chain_keyset_add(&s, b, NULL), JK_OK);
    JK_CHECK_EQ(jk_chain_keyset_count(&s), 2);
    JK_CHECK(jk_chain_keyset_contains(&s, a) && jk_chain_keyset_contains(&s, b));
    JK_CHECK(!jk_chain_keyset_contains(&s, c));
    /* merge with itself, with an empty set */
    jk_chain_keyset e = JK_CHAIN_KEYSET_INIT;
    JK_CHECK_EQ(jk_chain_keyset_merge(&s, &s), JK_OK);
    JK_CHECK_EQ(jk_chain_keyset_merge(&s, &e), JK_OK);
    JK_CHECK_EQ(jk_chain_keyset_count(&s), 2);
    JK_CHECK_EQ(jk_chain_keyset_merge(&e, &s), JK_OK);
    JK_CHECK(jk_chain_keyset_equal(&e, &s));
    JK_CHECK_EQ(jk_chain_keyset_add(&e, c, NULL), JK_OK);
    JK_CHECK(!jk_chain_keyset_equal(&e, &s));
    /* clear keeps the set usable */
    jk_chain_keyset_clear(&s);
    JK_CHECK_EQ(jk_chain_keyset_count(&s), 0);
    JK_CHECK(!jk_chain_keyset_contains(&s, a));
    JK_CHECK_EQ(jk_chain_keyset_add(&s, c, &added), JK_OK);
    JK_CHECK(added && jk_chain_keyset_count(&s) == 1);
    jk_chain_keyset_free(&s);
    jk_chain_keyset_free(&e);
    JK_CHECK_EQ(jk_chain_keyset_count(&s), 0);
    jk_chain_keyset_free(&s); /* twice is fine: free leaves an empty set */
    jk_chain_keyset_init(&s);
    JK_CHECK_EQ(jk_chain_keyset_count(&s), 0);
}

/* The same keys inserted in several orders, with duplicates, and through
 * merges of several shapes, give the same set and the same iteration. */
JK_TEST(test_chain_keyset_order_independent)
{
    JK_REQUIRE(jk_crypto_init() == JK_OK);
    enum { N = 5000 };
    static uint8_t keys[N][32], ref[2 * N][32];
    for (uint32_t i = 0; i < N; i++)
        make_key(i, keys[i]);

    jk_chain_keyset fwd = JK_CHAIN_KEYSET_INIT, rev = JK_CHAIN_KEYSET_INIT,
                    shuf = JK_CHAIN_KEYSET_INIT, merged = JK_CHAIN_KEYSET_INIT,
                    small = JK_CHAIN_KEYSET_INIT, part = JK_CHAIN_KEYSET_INIT;
    for (size_t i = 0; i < N; i++)
        JK_REQUIRE(jk_chain_keyset_add(&fwd, keys[i], NULL) == JK_OK);
    for (size_t i = N; i-- > 0;)
        JK_REQUIRE(jk_chain_keyset_add(&rev, keys[i], NULL) == JK_OK);
    /* a fixed permutation, every key twice */
    for (size_t r = 0; r < 2; r++)
        for (size_t i = 0; i < N; i++)
            JK_REQUIRE(jk_chain_keyset_add(&shuf, keys[(i * 7919 + r * 13) % N], NULL) == JK_OK);
    /* per-"event" sets of 1..5 keys merged one after the other (the small
     * merge path), then a large merge of the remainder */
    size_t i = 0;
    while (i < N / 2) {
        jk_chain_keyset_clear(&small);
        for (size_t k = 0; k < 1 + i % 5 && i < N / 2; k++, i++)
            JK_REQUIRE(jk_chain_keyset_add(&small, keys[(i * 31) % N], NULL) == JK_OK);
        JK_REQUIRE(jk_chain_keyset_merge(&merged, &small) == JK_OK);
    }
    for (size_t j = 0; j < N; j++)
        if (!jk_chain_keyset_contains(&merged, keys[j]))
            JK_REQUIRE(jk_chain_keyset_add(&part, keys[j], NULL) == JK_OK);
    JK_REQUIRE(jk_chain_keyset_merge(&merged, &part) == JK_OK); /* large path */
    JK_REQUIRE(jk_chain_keyset_merge(&merged, &fwd) == JK_OK);  /* all duplicates */

    memcpy(ref, keys, sizeof keys);
    check_against(&fwd, ref, N, __LINE__);
    JK_CHECK(jk_chain_keyset_equal(&fwd, &rev));
    JK_CHECK(jk_chain_keyset_equal(&fwd, &shuf));
    JK_CHECK(jk_chain_keyset_equal(&fwd, &merged));
    JK_CHECK(jk_chain_keyset_equal(&merged, &rev));
    /* Iteration is the same sequence for all of them. */
    jk_chain_keyset_iter a = JK_CHAIN_KEYSET_ITER_INIT, b = JK_CHAIN_KEYSET_ITER_INIT,
                         c = JK_CHAIN_KEYSET_ITER_INIT;
    const uint8_t *x;
    size_t same = 0;
    while ((x = jk_chain_keyset_next(&fwd, &a)) != NULL) {
        const uint8_t *y = jk_chain_keyset_next(&rev, &b), *z = jk_chain_keyset_next(&merged, &c);
        same += y && z && !memcmp(x, y, 32) && !memcmp(x, z, 32);
    }
    JK_CHECK_EQ(same, N);
    /* Keys not added are not contained. */
    for (uint32_t j = N; j < N + 200; j++) {
        uint8_t k[32];
        make_key(j, k);
        JK_CHECK(!jk_chain_keyset_contains(&merged, k));
    }
    jk_chain_keyset_free(&fwd);
    jk_chain_keyset_free(&rev);
    jk_chain_keyset_free(&shuf);
    jk_chain_keyset_free(&merged);
    jk_chain_keyset_free(&small);
    jk_chain_keyset_free(&part);
}

/* Random operations checked step by step against a sorted reference. */
JK_TEST(test_chain_keyset_random_ops)
{
    JK_REQUIRE(jk_crypto_init() == JK_OK);
    enum { OPS = 3000, POOL = 900 };
    static uint8_t ref[60000][32], tmp[60000][32]; /* ≤ 97 ops × 400 keys between checks */
    size_t nref = 0;
    jk_chain_keyset s = JK_CHAIN_KEYSET_INIT, other = JK_CHAIN_KEYSET_INIT;
    uint64_t rng = 0x9E3779B97F4A7C15ull;
    for (int op = 0; op < OPS; op++) {
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        uint32_t r = (uint32_t)(rng >> 33);
        uint8_t k[32];
        make_key(r % POOL, k);
        if (r % 100 < 80) {
            bool added, had = jk_chain_keyset_contains(&s, k);
            JK_REQUIRE(jk_chain_keyset_add(&s, k, &added) == JK_OK);
            JK_CHECK(added == !had);
            memcpy(ref[nref++], k, 32);
        } else if (r % 100 < 98) {
            /* merge a random set of 0..(r%40) keys (both merge paths) */
            jk_chain_keyset_clear(&other);
            size_t cnt = (r >> 8) % (r % 2 ? 8 : 400);
            for (size_t j = 0; j < cnt; j++) {
                make_key((r + (uint32_t)j * 17) % POOL, k);
                JK_REQUIRE(jk_chain_keyset_add(&other, k, NULL) == JK_OK);
                memcpy(ref[nref++], k, 32);
            }
            JK_REQUIRE(jk_chain_keyset_merge(&s, &other) == JK_OK);
        } else {
            jk_chain_keyset_clear(&s);
            nref = 0;
        }
        if (op % 97 == 0 || op == OPS - 1) {
            memcpy(tmp, ref, nref * 32);
            check_against(&s, tmp, nref, __LINE__);
            /* keep the reference small: replace it by its distinct keys */
            memcpy(ref, tmp, jk_chain_keyset_count(&s) * 32);
            nref = jk_chain_keyset_count(&s);
        }
    }
    jk_chain_keyset_free(&s);
    jk_chain_keyset_free(&other);
}

/* Many keys (folds of side into main at growing sizes) stay correct and
 * fast: 100,000 adds in random order. */
JK_TEST(test_chain_keyset_large)
{
    JK_REQUIRE(jk_crypto_init() == JK_OK);
    enum { N = 100000 };
    jk_chain_keyset s = JK_CHAIN_KEYSET_INIT;
    uint8_t k[32], prev[32];
    for (uint32_t i = 0; i < N; i++) {
        make_key(i, k);
        JK_REQUIRE(jk_chain_keyset_add(&s, k, NULL) == JK_OK);
    }
    JK_CHECK_EQ(jk_chain_keyset_count(&s), N);
    jk_chain_keyset_iter it = JK_CHAIN_KEYSET_ITER_INIT;
    const uint8_t *x;
    size_t n = 0, ordered = 0;
    while ((x = jk_chain_keyset_next(&s, &it)) != NULL) {
        ordered += n == 0 || memcmp(prev, x, 32) < 0;
        memcpy(prev, x, 32);
        n++;
    }
    JK_CHECK_EQ(n, N);
    JK_CHECK_EQ(ordered, N);
    for (uint32_t i = 0; i < N; i += 101) {
        make_key(i, k);
        JK_CHECK(jk_chain_keyset_contains(&s, k));
    }
    jk_chain_keyset_free(&s);
}

/* A one-key set (an event's attest, issue 16) holds its key without an
 * allocation, survives a copy by value (nothing points into the set), and
 * grows into a real one: the inline key moves into main with the second key,
 * whichever order the two keys have. */
JK_TEST(test_chain_keyset_one_key_inline)
{
    JK_REQUIRE(jk_crypto_init() == JK_OK);
    uint8_t k[4][32], ref[4][32];
    for (uint32_t i = 0; i < 4; i++)
        make_key(100 + i, k[i]);
    for (int order = 0; order < 2; order++) {
        jk_chain_keyset s = JK_CHAIN_KEYSET_INIT;
        const uint8_t *first = order ? k[0] : k[1], *second = order ? k[1] : k[0];
        JK_CHECK_EQ(jk_chain_keyset_add(&s, first, NULL), JK_OK);
        JK_CHECK(s.main == NULL && s.side == NULL); /* no allocation */
        jk_chain_keyset copy = s;                   /* by value */
        memset(&s, 0xEE, sizeof s);
        memcpy(ref[0], first, 32);
        check_against(&copy, ref, 1, __LINE__);
        /* merge the one-key set into an empty one and into a large one */
        jk_chain_keyset big = JK_CHAIN_KEYSET_INIT, empty = JK_CHAIN_KEYSET_INIT;
        JK_CHECK_EQ(jk_chain_keyset_merge(&empty, &copy), JK_OK);
        check_against(&empty, ref, 1, __LINE__);
        for (uint32_t i = 0; i < 500; i++) {
            uint8_t x[32];
            make_key(1000 + i, x);
            JK_REQUIRE(jk_chain_keyset_add(&big, x, NULL) == JK_OK);
        }
        JK_CHECK_EQ(jk_chain_keyset_merge(&big, &copy), JK_OK);
        JK_CHECK_EQ(jk_chain_keyset_count(&big), 501);
        JK_CHECK(jk_chain_keyset_contains(&big, first));
        /* the second key: the inline key moves into main */
        bool added = false;
        JK_CHECK_EQ(jk_chain_keyset_add(&copy, second, &added), JK_OK);
        JK_CHECK(added && copy.main != NULL);
        JK_CHECK_EQ(jk_chain_keyset_add(&copy, k[2], NULL), JK_OK);
        JK_CHECK_EQ(jk_chain_keyset_add(&copy, first, &added), JK_OK);
        JK_CHECK(!added);
        memcpy(ref[0], k[0], 32);
        memcpy(ref[1], k[1], 32);
        memcpy(ref[2], k[2], 32);
        check_against(&copy, ref, 3, __LINE__);
        /* clear keeps main; a first key after it goes there */
        jk_chain_keyset_clear(&copy);
        JK_CHECK_EQ(jk_chain_keyset_add(&copy, k[3], NULL), JK_OK);
        memcpy(ref[0], k[3], 32);
        check_against(&copy, ref, 1, __LINE__);
        jk_chain_keyset_free(&copy);
        jk_chain_keyset_free(&big);
        jk_chain_keyset_free(&empty);
    }
}

/* The verify batch's attest messages four at a time (session 13,
 * jk_chain_attest_msg_hashes) are jk_chain_attest_msg_hash's, for every blob
 * length around the one-block bound (82 bytes with the tag and G: hashed
 * and said so; longer: left out and said so), in batches of every size up
 * to 16, so that each lane of each group of four and the partial group at
 * the end are taken. */
JK_TEST(test_chain_attest_msg_hashes_are_the_single)
{
    jk_hash g;
    for (size_t i = 0; i < JK_HASH_SIZE; i++)
        g.bytes[i] = (uint8_t)(0xa0 + i);
    static uint8_t blobs[100][100];
    jk_chain_event evs[100];
    for (size_t i = 0; i < 100; i++) {
        for (size_t b = 0; b < sizeof blobs[i]; b++)
            blobs[i][b] = (uint8_t)(i * 31 + b * 5);
        evs[i] = (jk_chain_event){JK_CHAIN_ENDPOINT_TRANSACT, blobs[i], (i * 7) % 100}; /* lengths 0..99 */
    }
    size_t wrong = 0, hashed = 0, left = 0;
    for (size_t n = 1; n <= 16; n++)
        for (size_t from = 0; from + n <= 100; from += 5) {
            jk_hash out[16];
            bool have[16];
            jk_chain_attest_msg_hashes(&g, &evs[from], n, out, have);
            for (size_t i = 0; i < n; i++) {
                const jk_chain_event *ev = &evs[from + i];
                wrong += have[i] != (ev->blob_len <= 82);
                if (!have[i]) {
                    left++;
                    continue;
                }
                jk_hash want;
                jk_chain_attest_msg_hash(&g, ev->blob, ev->blob_len, &want);
                wrong += memcmp(want.bytes, out[i].bytes, JK_HASH_SIZE) != 0;
                hashed++;
            }
        }
    JK_CHECK_EQ(wrong, 0);
    JK_CHECK(hashed > 1000 && left > 100);
}
