/*
 * test_crypto.c — the crypto layer against published known-answer vectors.
 *
 * Vectors, typed in from the standards (hex, laid out as the documents print
 * them):
 *   - RFC 7693 Appendix A: BLAKE2b-512("abc").
 *   - BLAKE2b-256 of "" and of "abc" (the widely published values; they also
 *     match Python's hashlib.blake2b(digest_size=32)).
 *   - RFC 8032 section 7.1: Ed25519 TEST 1, TEST 2, TEST 3 and TEST SHA(abc).
 * Each test calls jk_crypto_init() first, since tests run in name order and
 * any one of them may run alone.
 */
#include "../test.h"

#include "jark/crypto.h"
#include "jark/err.h"

/* Decode a hex string (whitespace allowed, for RFC-style layout) into out.
 * Returns the number of bytes written, or (size_t)-1 on a malformed string or
 * one longer than cap. Test-only helper. */
static size_t hex_decode(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    int hi = -1;
    for (const char *p = hex; *p; p++) {
        int v;
        if (*p == ' ' || *p == '\n')
            continue;
        if (*p >= '0' && *p <= '9')
            v = *p - '0';
        else if (*p >= 'a' && *p <= 'f')
            v = *p - 'a' + 10;
        else if (*p >= 'A' && *p <= 'F')
            v = *p - 'A' + 10;
        else
            return (size_t)-1;
        if (hi < 0) {
            hi = v;
        } else {
            if (n == cap)
                return (size_t)-1;
            out[n++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    return hi < 0 ? n : (size_t)-1;
}

/* ---------------------------------------------------------------------------
 * Initialisation
 * ------------------------------------------------------------------------- */

JK_TEST(crypto_init_twice)
{
    JK_CHECK_EQ(jk_crypto_init(), JK_OK);
    JK_CHECK_EQ(jk_crypto_init(), JK_OK);
}

/* ---------------------------------------------------------------------------
 * BLAKE2b
 * ------------------------------------------------------------------------- */

/* RFC 7693, Appendix A: BLAKE2b-512("abc"). */
static const char rfc7693_abc_512[] =
    "BA 80 A5 3F 98 1C 4D 0D 6A 27 97 B6 9F 12 F6 E9"
    "4C 21 2F 14 68 5A C4 B7 4B 12 BB 6F DB FF A2 D1"
    "7D 87 C5 39 2A AB 79 2D C2 52 D5 DE 45 33 CC 95"
    "18 D3 8A A8 DB F1 92 5A B9 23 86 ED D4 00 99 23";

static const char blake2b256_empty[] =
    "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8";
static const char blake2b256_abc[] =
    "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319";

JK_TEST(crypto_blake2b512_rfc7693_abc)
{
    uint8_t want[64], got[64];
    JK_REQUIRE(jk_crypto_init() == JK_OK);
    JK_REQUIRE(hex_decode(rfc7693_abc_512, want, sizeof want) == 64);
    JK_CHECK_EQ(jk_crypto_blake2b("abc", 3, got, sizeof got), JK_OK);
    JK_CHECK_MEM(got, want, 64);
}

JK_TEST(crypto_blake2b256_empty)
{
    uint8_t want[32];
    jk_hash got;
    JK_REQUIRE(jk_crypto_init() == JK_OK);
    JK_REQUIRE(hex_decode(blake2b256_empty, want, sizeof want) == 32);
    jk_crypto_blake2b256("", 0, &got);
    JK_CHECK_MEM(got.bytes, want, 32);
    /* NULL is allowed for an empty input. */
    memset(&got, 0xAA, sizeof got);
    jk_crypto_blake2b256(NULL, 0, &got);
    JK_CHECK_MEM(got.bytes, want, 32);
}

JK_TEST(crypto_blake2b256_abc)
{
    uint8_t want[32], generic[32];
    jk_hash got;
    JK_REQUIRE(jk_crypto_init() == JK_OK);
    JK_REQUIRE(hex_decode(blake2b256_abc, want, sizeof want) == 32);
    jk_crypto_blake2b256("abc", 3, &got);
    JK_CHECK_MEM(got.bytes, want, 32);
    /* The arbitrary-length form at 32 bytes is the same function. */
    JK_CHECK_EQ(jk_crypto_blake2b("abc", 3, generic, 32), JK_OK);
    JK_CHECK_MEM(generic, want, 32);
}

JK_TEST(crypto_blake2b_length_bounds)
{
    uint8_t out[65], before[65];
    JK_REQUIRE(jk_crypto_init() == JK_OK);
    memset(out, 0x5C, sizeof out);
    memcpy(before, out, sizeof out);
    /* Out of range: refused, buffer untouched. */
    JK_CHECK_EQ(jk_crypto_blake2b("abc", 3, out, 0), JK_ERR_INVALID_ARG);
    JK_CHECK_EQ(jk_crypto_blake2b("abc", 3, out, 65), JK_ERR_INVALID_ARG);
    JK_CHECK_MEM(out, before, sizeof out);
    /* Both ends of the range work and write exactly out_len bytes. */
    JK_CHECK_EQ(jk_crypto_blake2b("abc", 3, out, 1), JK_OK);
    JK_CHECK_MEM(out + 1, before + 1, sizeof out - 1);
    JK_CHECK_EQ(jk_crypto_blake2b("abc", 3, out, 64), JK_OK);
    JK_CHECK_EQ(out[64], 0x5C);
    /* Output length is a BLAKE2b parameter: a 1-byte digest is not the first
     * byte of the 64-byte one (0xBA for "abc"), so this guards against a
     * truncating implementation. 0x6B is Python's
     * hashlib.blake2b(b"abc", digest_size=1), not a published vector; it pins
     * that lengths below libsodium's recommended 16 work. */
    {
        uint8_t one;
        JK_CHECK_EQ(jk_crypto_blake2b("abc", 3, &one, 1), JK_OK);
        JK_CHECK_EQ(one, 0x6B);
        JK_CHECK(one != out[0]);
    }
}

/* A message spanning several 128-byte BLAKE2b blocks, fed in pieces. */
JK_TEST(crypto_hasher_matches_oneshot)
{
    static const size_t splits[] = {0, 1, 2, 63, 127, 128, 129, 255, 256, 257, 299, 300};
    uint8_t msg[300];
    jk_hash whole, part;
    JK_REQUIRE(jk_crypto_init() == JK_OK);
    for (size_t i = 0; i < sizeof msg; i++)
        msg[i] = (uint8_t)(i * 31 + 7);
    jk_crypto_blake2b256(msg, sizeof msg, &whole);

    /* One cut. */
    for (size_t i = 0; i < sizeof splits / sizeof splits[0]; i++) {
        jk_crypto_hasher h;
        size_t s = splits[i];
        jk_crypto_hasher_init(&h);
        jk_crypto_hasher_update(&h, msg, s);
        jk_crypto_hasher_update(&h, msg + s, sizeof msg - s);
        JK_CHECK_EQ(jk_crypto_hasher_final(&h, &part), JK_OK);
        if (memcmp(part.bytes, whole.bytes, JK_HASH_SIZE) != 0)
            jk_test_fail(__FILE__, __LINE__, "split at %zu differs", s);
    }
    /* Two cuts, every ordered pair of split points. */
    for (size_t i = 0; i < sizeof splits / sizeof splits[0]; i++) {
        for (size_t j = i; j < sizeof splits / sizeof splits[0]; j++) {
            jk_crypto_hasher h;
            size_t a = splits[i], b = splits[j];
            jk_crypto_hasher_init(&h);
            jk_crypto_hasher_update(&h, msg, a);
            jk_crypto_hasher_update(&h, msg + a, b - a);
            jk_crypto_hasher_update(&h, msg + b, sizeof msg - b);
            JK_CHECK_EQ(jk_crypto_hasher_final(&h, &part), JK_OK);
            if (memcmp(part.bytes, whole.bytes, JK_HASH_SIZE) != 0)
                jk_test_fail(__FILE__, __LINE__, "splits at %zu,%zu differ", a, b);
        }
    }
    /* A byte at a time, with empty updates (NULL allowed) in between. */
    {
        jk_crypto_hasher h;
        jk_crypto_hasher_init(&h);
        for (size_t i = 0; i < sizeof msg; i++) {
            jk_crypto_hasher_update(&h, msg + i, 1);
            jk_crypto_hasher_update(&h, NULL, 0);
        }
        JK_CHECK_EQ(jk_crypto_hasher_final(&h, &part), JK_OK);
        JK_CHECK_MEM(part.bytes, whole.bytes, JK_HASH_SIZE);
    }
}

/* The streaming form against the published vectors directly. */
JK_TEST(crypto_hasher_vectors)
{
    uint8_t want[32];
    jk_crypto_hasher h;
    jk_hash got;
    JK_REQUIRE(jk_crypto_init() == JK_OK);

    JK_REQUIRE(hex_decode(blake2b256_abc, want, sizeof want) == 32);
    jk_crypto_hasher_init(&h);
    jk_crypto_hasher_update(&h, "a", 1);
    jk_crypto_hasher_update(&h, "bc", 2);
    JK_CHECK_EQ(jk_crypto_hasher_final(&h, &got), JK_OK);
    JK_CHECK_MEM(got.bytes, want, 32);

    JK_REQUIRE(hex_decode(blake2b256_empty, want, sizeof want) == 32);
    jk_crypto_hasher_init(&h);  /* re-init after final: reusable */
    JK_CHECK_EQ(jk_crypto_hasher_final(&h, &got), JK_OK);
    JK_CHECK_MEM(got.bytes, want, 32);
}

JK_TEST(crypto_hasher_final_twice)
{
    jk_crypto_hasher h;
    jk_hash first, again;
    JK_REQUIRE(jk_crypto_init() == JK_OK);
    jk_crypto_hasher_init(&h);
    jk_crypto_hasher_update(&h, "abc", 3);
    JK_CHECK_EQ(jk_crypto_hasher_final(&h, &first), JK_OK);
    /* Misuse after final: update ignored, final refused, out untouched. */
    jk_crypto_hasher_update(&h, "x", 1);
    memset(&again, 0x11, sizeof again);
    JK_CHECK_EQ(jk_crypto_hasher_final(&h, &again), JK_ERR_INVALID_ARG);
    for (size_t i = 0; i < JK_HASH_SIZE; i++)
        JK_CHECK_EQ(again.bytes[i], 0x11);
    /* init makes it usable again. */
    jk_crypto_hasher_init(&h);
    jk_crypto_hasher_update(&h, "abc", 3);
    JK_CHECK_EQ(jk_crypto_hasher_final(&h, &again), JK_OK);
    JK_CHECK_MEM(again.bytes, first.bytes, JK_HASH_SIZE);
}

/* ---------------------------------------------------------------------------
 * Ed25519: RFC 8032 section 7.1
 * ------------------------------------------------------------------------- */

typedef struct ed25519_vector {
    const char *name;
    const char *secret_key;  /* RFC 8032's SECRET KEY: the 32-byte seed */
    const char *public_key;
    const char *message;
    const char *signature;
} ed25519_vector;

static const ed25519_vector rfc8032_test1 = {
    "TEST 1",
    "9d61b19deffd5a60ba844af492ec2cc4"
    "4449c5697b326919703bac031cae7f60",
    "d75a980182b10ab7d54bfed3c964073a"
    "0ee172f3daa62325af021a68f707511a",
    "",
    "e5564300c360ac729086e2cc806e828a"
    "84877f1eb8e5d974d873e06522490155"
    "5fb8821590a33bacc61e39701cf9b46b"
    "d25bf5f0595bbe24655141438e7a100b",
};

static const ed25519_vector rfc8032_test2 = {
    "TEST 2",
    "4ccd089b28ff96da9db6c346ec114e0f"
    "5b8a319f35aba624da8cf6ed4fb8a6fb",
    "3d4017c3e843895a92b70aa74d1b7ebc"
    "9c982ccf2ec4968cc0cd55f12af4660c",
    "72",
    "92a009a9f0d4cab8720e820b5f642540"
    "a2b27b5416503f8fb3762223ebdb69da"
    "085ac1e43e15996e458f3613d0f11d8c"
    "387b2eaeb4302aeeb00d291612bb0c00",
};

static const ed25519_vector rfc8032_test3 = {
    "TEST 3",
    "c5aa8df43f9f837bedb7442f31dcb7b1"
    "66d38535076f094b85ce3a2e0b4458f7",
    "fc51cd8e6218a1a38da47ed00230f058"
    "0816ed13ba3303ac5deb911548908025",
    "af82",
    "6291d657deec24024827e69c3abe01a3"
    "0ce548a284743a445e3680d7db5ac3ac"
    "18ff9b538d16f290ae67f760984dc659"
    "4a7c15e9716ed28dc027beceea1ec40a",
};

/* The message is SHA-512("abc"). */
static const ed25519_vector rfc8032_test_sha_abc = {
    "TEST SHA(abc)",
    "833fe62409237b9d62ec77587520911e"
    "9a759cec1d19755b7da901b96dca3d42",
    "ec172b93ad5e563bf4932c70e1245034"
    "c35467ef2efd4d64ebf819683467e2bf",
    "ddaf35a193617abacc417349ae204131"
    "12e6fa4e89a97ea20a9eeee64b55d39a"
    "2192992a274fc1a836ba3c23a3feebbd"
    "454d4423643ce80e2a9ac94fa54ca49f",
    "dc2a4459e7369633a52b1bf277839a00"
    "201009a3efbf3ecb69bea2186c26b589"
    "09351fc9ac90b3ecfdfbc7c66431e030"
    "3dca179c138ac17ad9bef1177331a704",
};

/* Key derivation, exact signature, acceptance, and rejection of a signature
 * with one bit flipped (in R, in S, and in S's top byte) and of a message
 * with one byte changed (or, for the empty message, one byte added). */
static void check_ed25519_vector(const ed25519_vector *v)
{
    uint8_t seed[32], want_pk[32], want_sig[64], msg[64];
    uint8_t pk[32], sk[64], sig[64], bad[64];
    size_t msg_len;
    static const size_t flip_bytes[] = {0, 31, 32, 63};

    if (jk_crypto_init() != JK_OK) {
        jk_test_fail(__FILE__, __LINE__, "%s: jk_crypto_init failed", v->name);
        return;
    }
    msg_len = hex_decode(v->message, msg, sizeof msg);
    if (hex_decode(v->secret_key, seed, sizeof seed) != 32 ||
        hex_decode(v->public_key, want_pk, sizeof want_pk) != 32 ||
        hex_decode(v->signature, want_sig, sizeof want_sig) != 64 ||
        msg_len == (size_t)-1) {
        jk_test_fail(__FILE__, __LINE__, "%s: bad hex in vector", v->name);
        return;
    }

    memset(pk, 0, sizeof pk);
    JK_CHECK_EQ(jk_crypto_ed25519_keypair_from_seed(seed, pk, sk), JK_OK);
    if (memcmp(pk, want_pk, 32) != 0)
        jk_test_fail(__FILE__, __LINE__, "%s: public key differs", v->name);
    JK_CHECK_MEM(sk, seed, 32);       /* libsodium layout: seed ‖ public key */
    JK_CHECK_MEM(sk + 32, want_pk, 32);

    jk_crypto_ed25519_sign(sk, msg, msg_len, sig);
    if (memcmp(sig, want_sig, 64) != 0)
        jk_test_fail(__FILE__, __LINE__, "%s: signature differs", v->name);

    if (jk_crypto_ed25519_verify(want_pk, msg, msg_len, want_sig) != JK_OK)
        jk_test_fail(__FILE__, __LINE__, "%s: published signature rejected", v->name);

    for (size_t i = 0; i < sizeof flip_bytes / sizeof flip_bytes[0]; i++) {
        memcpy(bad, want_sig, 64);
        bad[flip_bytes[i]] ^= 0x01;
        if (jk_crypto_ed25519_verify(want_pk, msg, msg_len, bad) != JK_ERR_CRYPTO_BAD_SIG)
            jk_test_fail(__FILE__, __LINE__, "%s: sig with byte %zu flipped accepted",
                         v->name, flip_bytes[i]);
    }
    /* Top bit of S: makes S non-canonical, which libsodium must refuse. */
    memcpy(bad, want_sig, 64);
    bad[63] ^= 0x80;
    if (jk_crypto_ed25519_verify(want_pk, msg, msg_len, bad) != JK_ERR_CRYPTO_BAD_SIG)
        jk_test_fail(__FILE__, __LINE__, "%s: non-canonical S accepted", v->name);

    if (msg_len > 0) {
        uint8_t changed[64];
        for (size_t i = 0; i < msg_len; i++) {
            memcpy(changed, msg, msg_len);
            changed[i] ^= 0x01;
            if (jk_crypto_ed25519_verify(want_pk, changed, msg_len, want_sig) !=
                JK_ERR_CRYPTO_BAD_SIG)
                jk_test_fail(__FILE__, __LINE__, "%s: message byte %zu changed, accepted",
                             v->name, i);
        }
        /* A prefix of the message is a different message too. */
        if (jk_crypto_ed25519_verify(want_pk, msg, msg_len - 1, want_sig) !=
            JK_ERR_CRYPTO_BAD_SIG)
            jk_test_fail(__FILE__, __LINE__, "%s: truncated message accepted", v->name);
    } else {
        static const uint8_t one_byte[1] = {0};
        if (jk_crypto_ed25519_verify(want_pk, one_byte, 1, want_sig) != JK_ERR_CRYPTO_BAD_SIG)
            jk_test_fail(__FILE__, __LINE__, "%s: extended message accepted", v->name);
    }

    /* The same signature under a different key. */
    memcpy(bad, want_pk, 32);
    bad[0] ^= 0x01;
    if (jk_crypto_ed25519_verify(bad, msg, msg_len, want_sig) != JK_ERR_CRYPTO_BAD_SIG)
        jk_test_fail(__FILE__, __LINE__, "%s: wrong public key accepted", v->name);

    jk_crypto_wipe(sk, sizeof sk);
    jk_crypto_wipe(seed, sizeof seed);
}

JK_TEST(crypto_ed25519_rfc8032_test1)
{
    check_ed25519_vector(&rfc8032_test1);
}

JK_TEST(crypto_ed25519_rfc8032_test2)
{
    check_ed25519_vector(&rfc8032_test2);
}

JK_TEST(crypto_ed25519_rfc8032_test3)
{
    check_ed25519_vector(&rfc8032_test3);
}

JK_TEST(crypto_ed25519_rfc8032_test_sha_abc)
{
    check_ed25519_vector(&rfc8032_test_sha_abc);
}

/* TEST 1's message is empty: signing and verifying with msg == NULL, len 0
 * (allowed by the header) gives the published result. */
JK_TEST(crypto_ed25519_null_empty_message)
{
    uint8_t seed[32], pk[32], sk[64], sig[64], want_sig[64];
    JK_REQUIRE(jk_crypto_init() == JK_OK);
    JK_REQUIRE(hex_decode(rfc8032_test1.secret_key, seed, sizeof seed) == 32);
    JK_REQUIRE(hex_decode(rfc8032_test1.signature, want_sig, sizeof want_sig) == 64);
    JK_REQUIRE(jk_crypto_ed25519_keypair_from_seed(seed, pk, sk) == JK_OK);
    jk_crypto_ed25519_sign(sk, NULL, 0, sig);
    JK_CHECK_MEM(sig, want_sig, 64);
    JK_CHECK_EQ(jk_crypto_ed25519_verify(pk, NULL, 0, sig), JK_OK);
    jk_crypto_wipe(sk, sizeof sk);
}

/* A signature from one RFC key does not verify under another RFC key. */
JK_TEST(crypto_ed25519_cross_key)
{
    uint8_t pk2[32], msg[1], sig1[64];
    JK_REQUIRE(jk_crypto_init() == JK_OK);
    JK_REQUIRE(hex_decode(rfc8032_test2.public_key, pk2, sizeof pk2) == 32);
    JK_REQUIRE(hex_decode(rfc8032_test2.message, msg, sizeof msg) == 1);
    JK_REQUIRE(hex_decode(rfc8032_test1.signature, sig1, sizeof sig1) == 64);
    JK_CHECK_EQ(jk_crypto_ed25519_verify(pk2, NULL, 0, sig1), JK_ERR_CRYPTO_BAD_SIG);
    JK_CHECK_EQ(jk_crypto_ed25519_verify(pk2, msg, 1, sig1), JK_ERR_CRYPTO_BAD_SIG);
}

/* Malformed inputs are rejected, not crashed on: an all-zero public key
 * (small order) and an all-zero signature. */
JK_TEST(crypto_ed25519_degenerate_inputs)
{
    uint8_t zero_pk[32] = {0}, zero_sig[64] = {0}, pk[32], sig[64];
    JK_REQUIRE(jk_crypto_init() == JK_OK);
    JK_REQUIRE(hex_decode(rfc8032_test1.public_key, pk, sizeof pk) == 32);
    JK_REQUIRE(hex_decode(rfc8032_test1.signature, sig, sizeof sig) == 64);
    JK_CHECK_EQ(jk_crypto_ed25519_verify(zero_pk, NULL, 0, sig), JK_ERR_CRYPTO_BAD_SIG);
    JK_CHECK_EQ(jk_crypto_ed25519_verify(pk, NULL, 0, zero_sig), JK_ERR_CRYPTO_BAD_SIG);
    JK_CHECK_EQ(jk_crypto_ed25519_verify(zero_pk, NULL, 0, zero_sig), JK_ERR_CRYPTO_BAD_SIG);
}

/* jk_crypto_ed25519_verifies counts every verification, valid or not, and
 * nothing else (signing, key making): the figure behind a node's
 * jark_ed25519_verifies_total. */
JK_TEST(crypto_ed25519_verifies_counted)
{
    uint8_t seed[32] = {5}, pk[32], sk[64], sig[64], msg[3] = {1, 2, 3};
    JK_REQUIRE(jk_crypto_init() == JK_OK);
    uint64_t before = jk_crypto_ed25519_verifies();
    JK_REQUIRE(jk_crypto_ed25519_keypair_from_seed(seed, pk, sk) == JK_OK);
    jk_crypto_ed25519_sign(sk, msg, sizeof msg, sig);
    JK_CHECK_EQ(jk_crypto_ed25519_verifies(), before);
    JK_CHECK_EQ(jk_crypto_ed25519_verify(pk, msg, sizeof msg, sig), JK_OK);
    sig[9] ^= 1;
    JK_CHECK_EQ(jk_crypto_ed25519_verify(pk, msg, sizeof msg, sig), JK_ERR_CRYPTO_BAD_SIG);
    JK_CHECK_EQ(jk_crypto_ed25519_verifies(), before + 2);
    jk_crypto_wipe(sk, sizeof sk);
}

/* ---------------------------------------------------------------------------
 * Secret hygiene
 * ------------------------------------------------------------------------- */

JK_TEST(crypto_equal32)
{
    uint8_t a[32], b[32];
    JK_REQUIRE(jk_crypto_init() == JK_OK);
    for (size_t i = 0; i < 32; i++)
        a[i] = (uint8_t)(0xC3 ^ i);
    memcpy(b, a, 32);
    JK_CHECK(jk_crypto_equal32(a, b));
    JK_CHECK(jk_crypto_equal32(a, a));
    /* A single differing bit anywhere is seen: each byte, low and high bit. */
    for (size_t i = 0; i < 32; i++) {
        for (int bit = 0; bit < 8; bit += 7) {
            memcpy(b, a, 32);
            b[i] ^= (uint8_t)(1u << bit);
            if (jk_crypto_equal32(a, b))
                jk_test_fail(__FILE__, __LINE__, "byte %zu bit %d not seen", i, bit);
        }
    }
}

JK_TEST(crypto_wipe)
{
    uint8_t buf[40], zero[40] = {0};
    JK_REQUIRE(jk_crypto_init() == JK_OK);
    memset(buf, 0xA5, sizeof buf);
    jk_crypto_wipe(buf + 4, 32);
    JK_CHECK_MEM(buf + 4, zero, 32);
    JK_CHECK_EQ(buf[3], 0xA5);   /* only the given range */
    JK_CHECK_EQ(buf[36], 0xA5);
    jk_crypto_wipe(NULL, 0);      /* allowed no-op */
}
