/*
 * test_block.c — blocks (src/chain/block.c) and the replay of the block fuzz
 * corpus (tests/fuzz/corpus/block/).
 *
 * A fixed block is built from fixed parts and its bytes are checked field by
 * field against docs/block-format.md; its hashes are pinned as hex (they were
 * cross-checked when pinned against an independent Python transcription of
 * docs/block-format.md: hashlib.blake2b and the `cryptography` package's
 * Ed25519). Then: round trips, determinism, signatures, every single-byte
 * change detected, every truncation and trailing bytes refused, each natural
 * in a longer form refused, every bound at and past its limit, for decode
 * and for build.
 *
 * The corpus seeds are written by this file: run
 *   JK_CHAIN_WRITE_CORPUS=tests/fuzz/corpus/block build/tests test_chain_block_corpus
 * to regenerate them. "valid-*" seeds must decode (and re-encode to the same
 * bytes, with a matching body hash); "bad-*" seeds must be refused.
 */
#include "../test.h"
#include "../fuzz/fuzz_targets.h"

#include "jark/chain.h"
#include "jark/pvm.h"

#include <dirent.h>
#include <stdlib.h>

/* ---- helpers ---- */

static void to_hex(const uint8_t *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = 0;
}

#define CHECK_HEX(bytes, n, expect)                                                      \
    do {                                                                                 \
        char got_[2 * (n) + 1];                                                          \
        to_hex((bytes), (n), got_);                                                      \
        if (strcmp(got_, (expect)) != 0)                                                 \
            jk_test_fail(__FILE__, __LINE__, "%s:\n  got    %s\n  expect %s", #bytes, got_, \
                         (expect));                                                      \
    } while (0)

static void hash_str(const char *s, jk_hash *out)
{
    jk_crypto_blake2b256(s, strlen(s), out);
}

static void seed_key(uint8_t fill, bool counting, uint8_t pk[32], uint8_t sk[64])
{
    uint8_t seed[32];
    for (int i = 0; i < 32; i++)
        seed[i] = counting ? (uint8_t)i : fill;
    if (jk_crypto_ed25519_keypair_from_seed(seed, pk, sk) != JK_OK)
        jk_test_fail(__FILE__, __LINE__, "keypair");
}

/* The fixed block (docs/block-format.md, "Test values"):
 *   genesis G = H("jark test genesis"); proposer key from seed 00 01 .. 1f;
 *   parent = H("jark test parent"), number 7, proposer 2,
 *   state_root = H("jark test state");
 *   events: transact "set_price 42"; dispatch 0 with an empty blob;
 *           dispatch 3 with 300 bytes b[i] = (7·i) mod 256;
 *   traces: the key of seed 01×32 attests "report 1", the key of seed
 *           02×32 attests "report 2", both under G;
 *   signed by the proposer. */
typedef struct fixture {
    jk_hash genesis;
    uint8_t pk[32], sk[64];
    uint8_t blob3[300];
    jk_chain_block block;
} fixture;

static bool fixture_make(fixture *f)
{
    jk_hash parent, state;
    uint8_t rpk[32], rsk[64];
    jk_chain_trace traces[2];
    hash_str("jark test genesis", &f->genesis);
    hash_str("jark test parent", &parent);
    hash_str("jark test state", &state);
    seed_key(0, true, f->pk, f->sk);
    for (int i = 0; i < 300; i++)
        f->blob3[i] = (uint8_t)(7 * i);
    jk_chain_event events[3] = {
        {JK_CHAIN_ENDPOINT_TRANSACT, (const uint8_t *)"set_price 42", 12},
        {jk_chain_endpoint_dispatch(0), NULL, 0},
        {jk_chain_endpoint_dispatch(3), f->blob3, sizeof f->blob3},
    };
    seed_key(1, false, rpk, rsk);
    jk_chain_trace_sign(rsk, &f->genesis, "report 1", 8, &traces[0]);
    seed_key(2, false, rpk, rsk);
    jk_chain_trace_sign(rsk, &f->genesis, "report 2", 8, &traces[1]);
    jk_crypto_wipe(rsk, sizeof rsk);
    jk_diag diag = {{0}};
    if (jk_chain_block_build(&parent, 7, 2, &state, events, 3, traces, 2, &f->block, &diag) !=
        JK_OK) {
        jk_test_fail(__FILE__, __LINE__, "build: %s", diag.msg);
        return false;
    }
    jk_chain_block_sign(&f->block, f->sk, &f->genesis);
    return true;
}

static void fixture_free(fixture *f)
{
    jk_chain_block_free(&f->block);
    jk_crypto_wipe(f->sk, sizeof f->sk);
}

static bool encode(const jk_chain_block *b, uint8_t **out, size_t *len)
{
    jk_err err = jk_chain_block_encode(b, out, len);
    if (err != JK_OK)
        jk_test_fail(__FILE__, __LINE__, "encode: %s", jk_strerror(err));
    return err == JK_OK;
}

/* The two blocks have equal fields (not compared byte-wise: padding). */
static bool block_equal(const jk_chain_block *a, const jk_chain_block *b)
{
    uint8_t ha[JK_CHAIN_HEADER_SIZE], hb[JK_CHAIN_HEADER_SIZE];
    jk_chain_header_encode(&a->header, ha);
    jk_chain_header_encode(&b->header, hb);
    if (memcmp(ha, hb, sizeof ha) || a->event_count != b->event_count ||
        a->trace_count != b->trace_count)
        return false;
    for (size_t i = 0; i < a->event_count; i++)
        if (a->events[i].endpoint != b->events[i].endpoint ||
            a->events[i].blob_len != b->events[i].blob_len ||
            memcmp(a->events[i].blob, b->events[i].blob, a->events[i].blob_len))
            return false;
    for (size_t i = 0; i < a->trace_count; i++) {
        uint8_t ta[128], tb[128];
        jk_chain_trace_encode(&a->traces[i], ta);
        jk_chain_trace_encode(&b->traces[i], tb);
        if (memcmp(ta, tb, 128))
            return false;
    }
    return true;
}

/* decode must refuse bytes with `want`, and say why. */
static void expect_refused(const uint8_t *bytes, size_t len, jk_err want, const char *what,
                           int line)
{
    jk_chain_block b;
    jk_diag diag = {{0}};
    jk_err err = jk_chain_block_decode(bytes, len, &b, &diag);
    if (err != want)
        jk_test_fail(__FILE__, line, "%s: got %d (%s), want %d", what, (int)err, diag.msg,
                     (int)want);
    if (err != JK_OK && !diag.msg[0])
        jk_test_fail(__FILE__, line, "%s: refused without a message", what);
    if (b.events || b.traces || b.blob_store || b.event_count || b.trace_count)
        jk_test_fail(__FILE__, line, "%s: refused block not zeroed", what);
    jk_chain_block_free(&b);
}

/* A block encoding from a zero header and the given body bytes. */
static uint8_t *raw_block(const uint8_t *body, size_t body_len, size_t *len)
{
    uint8_t *p = calloc(1, JK_CHAIN_HEADER_SIZE + body_len + 1);
    if (p && body_len)
        memcpy(p + JK_CHAIN_HEADER_SIZE, body, body_len);
    *len = JK_CHAIN_HEADER_SIZE + body_len;
    return p;
}

/* ---- layout and golden values ---- */

JK_TEST(test_chain_block_layout)
{
    JK_REQUIRE(jk_crypto_init() == JK_OK);
    static fixture f;
    JK_REQUIRE(fixture_make(&f));
    uint8_t *enc;
    size_t len;
    JK_REQUIRE(encode(&f.block, &enc, &len));
    jk_hash parent, state, body;
    hash_str("jark test parent", &parent);
    hash_str("jark test state", &state);
    /* header: parent, number u64le, proposer u32le, state root, body hash, sig */
    JK_CHECK_MEM(enc, parent.bytes, 32);
    static const uint8_t num[8] = {7, 0, 0, 0, 0, 0, 0, 0}, prop[4] = {2, 0, 0, 0};
    JK_CHECK_MEM(enc + 32, num, 8);
    JK_CHECK_MEM(enc + 40, prop, 4);
    JK_CHECK_MEM(enc + 44, state.bytes, 32);
    JK_CHECK_MEM(enc + 76, f.block.header.body_hash.bytes, 32);
    JK_CHECK_MEM(enc + 108, f.block.header.signature, 64);
    /* body_hash = H(body) */
    jk_crypto_blake2b256(enc + 172, len - 172, &body);
    JK_CHECK_MEM(body.bytes, f.block.header.body_hash.bytes, 32);
    /* body: E(3) ‖ (E(0) E(12) "set_price 42") ‖ (E(1) E(0)) ‖
     * (E(4) E(300) blob) ‖ E(2) ‖ 2 traces */
    const uint8_t *p = enc + 172;
    static const uint8_t ev0[] = {3, 0, 12, 's', 'e', 't', '_', 'p', 'r', 'i', 'c', 'e', ' ',
                                  '4', '2', 1, 0, 4, 0x81, 0x2C};
    JK_CHECK_MEM(p, ev0, sizeof ev0);
    p += sizeof ev0;
    JK_CHECK_MEM(p, f.blob3, 300);
    p += 300;
    JK_CHECK_EQ(p[0], 2);
    p++;
    for (int i = 0; i < 2; i++, p += 128) {
        uint8_t t[128];
        jk_chain_trace_encode(&f.block.traces[i], t);
        JK_CHECK_MEM(p, t, 128);
    }
    JK_CHECK_EQ((size_t)(p - enc), len);
    JK_CHECK_EQ(len, 172 + sizeof ev0 + 300 + 1 + 256);
    JK_CHECK_EQ(jk_chain_block_encoded_size(&f.block), len);
    /* the block hash is H(all 172 header bytes) */
    jk_hash bh, want;
    jk_chain_block_hash(&f.block, &bh);
    jk_crypto_blake2b256(enc, 172, &want);
    JK_CHECK_MEM(bh.bytes, want.bytes, 32);
    /* the signed digest is H("jark/block/v1" ‖ G ‖ header[0..108)) */
    uint8_t msg[13 + 32 + 108];
    memcpy(msg, "jark/block/v1", 13);
    memcpy(msg + 13, f.genesis.bytes, 32);
    memcpy(msg + 45, enc, 108);
    jk_crypto_blake2b256(msg, sizeof msg, &want);
    jk_chain_header_signing_hash(&f.block.header, &f.genesis, &bh);
    JK_CHECK_MEM(bh.bytes, want.bytes, 32);
    JK_CHECK_EQ(jk_crypto_ed25519_verify(f.pk, want.bytes, 32, f.block.header.signature), JK_OK);
    free(enc);
    fixture_free(&f);
}

JK_TEST(test_chain_block_golden)
{
    JK_REQUIRE(jk_crypto_init() == JK_OK);
    static fixture f;
    JK_REQUIRE(fixture_make(&f));
    uint8_t *enc;
    size_t len;
    JK_REQUIRE(encode(&f.block, &enc, &len));
    jk_hash h;
    JK_CHECK_EQ(len, 749);
    CHECK_HEX(f.block.header.body_hash.bytes, 32,
              "8b5712da9f5ce2c62eda7762c0cf5ce82611385b61b72493443d0ffdf5cfbc9a");
    jk_chain_header_signing_hash(&f.block.header, &f.genesis, &h);
    CHECK_HEX(h.bytes, 32, "9e662b86113ac7fd523b075aba3c91f49e49d624853b827034d806368a99a21d");
    CHECK_HEX(f.block.header.signature, 64,
              "90b7a405f57cc65f2a47ddec5292b4b6575722e31f567313eb895a93ea7af8ed"
              "ef4ea2854086e314edd93d9a274b3c316f69229af74fb0167955013279452f0e");
    jk_chain_block_hash(&f.block, &h);
    CHECK_HEX(h.bytes, 32, "e155f9c03ef406531e94d616015446efbcba86ea7c2ab818bf5984aa77de51b6");
    jk_crypto_blake2b256(enc, len, &h);
    CHECK_HEX(h.bytes, 32, "13cf3f0be8ad03d0af91486987d8c1dbb0423e74598b3657770394510243d80a");
    /* The empty block: body = 00 00. */
    jk_chain_block e;
    jk_hash zero = {{0}};
    JK_REQUIRE(jk_chain_block_build(&zero, 0, 0, &zero, NULL, 0, NULL, 0, &e, NULL) == JK_OK);
    CHECK_HEX(e.header.body_hash.bytes, 32,
              "9ee6dfb61a2fb903df487c401663825643bb825d41695e63df8af6162ab145a6");
    jk_chain_block_free(&e);
    free(enc);
    fixture_free(&f);
}

/* ---- round trips, determinism, signatures ---- */

JK_TEST(test_chain_block_roundtrip)
{
    JK_REQUIRE(jk_crypto_init() == JK_OK);
    static fixture f;
    JK_REQUIRE(fixture_make(&f));
    uint8_t *enc, *enc2;
    size_t len, len2;
    JK_REQUIRE(encode(&f.block, &enc, &len));
    jk_chain_block d;
    jk_diag diag = {{0}};
    JK_REQUIRE(jk_chain_block_decode(enc, len, &d, &diag) == JK_OK);
    JK_CHECK(block_equal(&d, &f.block));
    JK_CHECK_EQ(jk_chain_block_check_body(&d), JK_OK);
    JK_CHECK_EQ(jk_chain_block_verify_sig(&d, f.pk, &f.genesis), JK_OK);
    JK_REQUIRE(encode(&d, &enc2, &len2));
    JK_CHECK_EQ(len2, len);
    JK_CHECK_MEM(enc2, enc, len);
    /* an empty blob decodes to a non-NULL pointer */
    JK_CHECK(d.events[1].blob != NULL && d.events[1].blob_len == 0);
    JK_CHECK(jk_chain_endpoint_is_dispatch(d.events[2].endpoint));
    JK_CHECK_EQ(jk_chain_endpoint_dispatch_index(d.events[2].endpoint), 3);
    JK_CHECK(!jk_chain_endpoint_is_dispatch(d.events[0].endpoint));
    free(enc2);
    jk_chain_block_free(&d);
    JK_CHECK(d.events == NULL && d.event_count == 0);
    jk_chain_block_free(&d); /* twice is fine */
    jk_chain_block_free(NULL);

    /* the empty block: 172 + 2 bytes */
    jk_chain_block e;
    jk_hash zero = {{0}};
    JK_REQUIRE(jk_chain_block_build(&zero, 0, 0, &zero, NULL, 0, NULL, 0, &e, NULL) == JK_OK);
    jk_chain_block_sign(&e, f.sk, &f.genesis);
    JK_REQUIRE(encode(&e, &enc2, &len2));
    JK_CHECK_EQ(len2, 174);
    JK_CHECK(enc2[172] == 0 && enc2[173] == 0);
    JK_REQUIRE(jk_chain_block_decode(enc2, len2, &d, NULL) == JK_OK);
    JK_CHECK(block_equal(&d, &e));
    JK_CHECK_EQ(jk_chain_block_verify_sig(&d, f.pk, &f.genesis), JK_OK);
    JK_CHECK_EQ(jk_chain_block_check_body(&d), JK_OK);
    jk_chain_block_free(&d);
    jk_chain_block_free(&e);
    free(enc2);
    free(enc);
    fixture_free(&f);
}

JK_TEST(test_chain_block_deterministic)
{
    JK_REQUIRE(jk_crypto_init() == JK_OK);
    static fixture f, g;
    JK_REQUIRE(fixture_make(&f));
    JK_REQUIRE(fixture_make(&g));
    uint8_t *a, *b, *c;
    size_t la, lb, lc;
    JK_REQUIRE(encode(&f.block, &a, &la));
    JK_REQUIRE(encode(&f.block, &b, &lb)); /* the same block twice */
    JK_REQUIRE(encode(&g.block, &c, &lc)); /* built again from the same parts */
    JK_CHECK(la == lb && la == lc);
    JK_CHECK_MEM(a, b, la);
    JK_CHECK_MEM(a, c, la);
    /* signing again gives the same signature */
    uint8_t sig[64];
    memcpy(sig, f.block.header.signature, 64);
    jk_chain_block_sign(&f.block, f.sk, &f.genesis);
    JK_CHECK_MEM(sig, f.block.header.signature, 64);
    free(a);
    free(b);
    free(c);
    fixture_free(&f);
    fixture_free(&g);
}

JK_TEST(test_chain_block_signature)
{
    JK_REQUIRE(jk_crypto_init() == JK_OK);
    static fixture f;
    JK_REQUIRE(fixture_make(&f));
    uint8_t pk2[32], sk2[64];
    jk_hash g2;
    seed_key(0x33, false, pk2, sk2);
    hash_str("another chain", &g2);
    JK_CHECK_EQ(jk_chain_block_verify_sig(&f.block, f.pk, &f.genesis), JK_OK);
    JK_CHECK_EQ(jk_chain_block_verify_sig(&f.block, pk2, &f.genesis), JK_ERR_CHAIN_BLOCK_SIG);
    JK_CHECK_EQ(jk_chain_block_verify_sig(&f.block, f.pk, &g2), JK_ERR_CHAIN_BLOCK_SIG);
    /* every signed field matters */
    jk_chain_header saved = f.block.header;
    f.block.header.number++;
    JK_CHECK_EQ(jk_chain_block_verify_sig(&f.block, f.pk, &f.genesis), JK_ERR_CHAIN_BLOCK_SIG);
    f.block.header = saved;
    f.block.header.proposer ^= 0x80000000u;
    JK_CHECK_EQ(jk_chain_block_verify_sig(&f.block, f.pk, &f.genesis), JK_ERR_CHAIN_BLOCK_SIG);
    f.block.header = saved;
    f.block.header.parent.bytes[31] ^= 1;
    JK_CHECK_EQ(jk_chain_block_verify_sig(&f.block, f.pk, &f.genesis), JK_ERR_CHAIN_BLOCK_SIG);
    f.block.header = saved;
    f.block.header.state_root.bytes[0] ^= 1;
    JK_CHECK_EQ(jk_chain_block_verify_sig(&f.block, f.pk, &f.genesis), JK_ERR_CHAIN_BLOCK_SIG);
    f.block.header = saved;
    f.block.header.body_hash.bytes[9] ^= 4;
    JK_CHECK_EQ(jk_chain_block_verify_sig(&f.block, f.pk, &f.genesis), JK_ERR_CHAIN_BLOCK_SIG);
    JK_CHECK_EQ(jk_chain_block_check_body(&f.block), JK_ERR_CHAIN_BODY_HASH);
    f.block.header = saved;
    /* signed by another key, verified under that key */
    jk_chain_block_sign(&f.block, sk2, &f.genesis);
    JK_CHECK_EQ(jk_chain_block_verify_sig(&f.block, pk2, &f.genesis), JK_OK);
    JK_CHECK_EQ(jk_chain_block_verify_sig(&f.block, f.pk, &f.genesis), JK_ERR_CHAIN_BLOCK_SIG);
    /* the signature does not enter the signing hash, but does the block hash */
    jk_hash s1, s2, b1, b2;
    jk_chain_header_signing_hash(&saved, &f.genesis, &s1);
    jk_chain_header_signing_hash(&f.block.header, &f.genesis, &s2);
    JK_CHECK_MEM(s1.bytes, s2.bytes, 32);
    jk_chain_header_hash(&saved, &b1);
    jk_chain_header_hash(&f.block.header, &b2);
    JK_CHECK(memcmp(b1.bytes, b2.bytes, 32) != 0);
    /* a body changed after signing: the signature still verifies (it covers
     * the body hash), the body check does not */
    f.block.header = saved;
    ((uint8_t *)f.block.events[2].blob)[5] ^= 1;
    JK_CHECK_EQ(jk_chain_block_verify_sig(&f.block, f.pk, &f.genesis), JK_OK);
    JK_CHECK_EQ(jk_chain_block_check_body(&f.block), JK_ERR_CHAIN_BODY_HASH);
    jk_crypto_wipe(sk2, sizeof sk2);
    fixture_free(&f);
}

JK_TEST(test_chain_header_codec)
{
    JK_REQUIRE(jk_crypto_init() == JK_OK);
    static fixture f;
    JK_REQUIRE(fixture_make(&f));
    uint8_t enc[JK_CHAIN_HEADER_SIZE + 1] = {0}, back[JK_CHAIN_HEADER_SIZE];
    jk_chain_header_encode(&f.block.header, enc);
    jk_chain_header h;
    jk_diag diag = {{0}};
    JK_CHECK_EQ(jk_chain_header_decode(enc, JK_CHAIN_HEADER_SIZE, &h, &diag), JK_OK);
    jk_chain_header_encode(&h, back);
    JK_CHECK_MEM(back, enc, JK_CHAIN_HEADER_SIZE);
    JK_CHECK_EQ(h.number, 7);
    JK_CHECK_EQ(h.proposer, 2);
    JK_CHECK_EQ(jk_chain_header_decode(enc, JK_CHAIN_HEADER_SIZE - 1, &h, &diag),
                JK_ERR_CHAIN_DECODE);
    JK_CHECK(strstr(diag.msg, "truncated") != NULL);
    JK_CHECK_EQ(jk_chain_header_decode(enc, JK_CHAIN_HEADER_SIZE + 1, &h, &diag),
                JK_ERR_CHAIN_DECODE);
    JK_CHECK(strstr(diag.msg, "trailing") != NULL);
    /* full-width integers are little-endian */
    h.number = 0x0102030405060708ull;
    h.proposer = 0xA0B0C0D0u;
    jk_chain_header_encode(&h, back);
    static const uint8_t num[8] = {8, 7, 6, 5, 4, 3, 2, 1}, prop[4] = {0xD0, 0xC0, 0xB0, 0xA0};
    JK_CHECK_MEM(back + 32, num, 8);
    JK_CHECK_MEM(back + 40, prop, 4);
    fixture_free(&f);
}

/* ---- damage ---- */

/* Every single-bit change anywhere in the encoding is caught: by decode, by
 * the body check, or by the signature. */
JK_TEST(test_chain_block_tamper_detected)
{
    JK_REQUIRE(jk_crypto_init() == JK_OK);
    static fixture f;
    JK_REQUIRE(fixture_make(&f));
    uint8_t *enc;
    size_t len;
    JK_REQUIRE(encode(&f.block, &enc, &len));
    jk_hash orig_hash;
    jk_chain_block_hash(&f.block, &orig_hash);
    size_t by_decode = 0, by_body = 0, by_sig = 0;
    for (size_t i = 0; i < len; i++)
        for (int bit = 0; bit < 8; bit += 3) {
            enc[i] ^= (uint8_t)(1u << bit);
            jk_chain_block d;
            if (jk_chain_block_decode(enc, len, &d, NULL) != JK_OK) {
                by_decode++;
            } else {
                bool body_bad = jk_chain_block_check_body(&d) != JK_OK;
                bool sig_bad = jk_chain_block_verify_sig(&d, f.pk, &f.genesis) != JK_OK;
                by_body += body_bad;
                by_sig += sig_bad && !body_bad;
                if (!body_bad && !sig_bad)
                    jk_test_fail(__FILE__, __LINE__, "byte %zu bit %d changed unnoticed", i, bit);
                jk_hash h;
                jk_chain_block_hash(&d, &h);
                if (i < JK_CHAIN_HEADER_SIZE && !memcmp(h.bytes, orig_hash.bytes, 32))
                    jk_test_fail(__FILE__, __LINE__, "header byte %zu: same block hash", i);
                jk_chain_block_free(&d);
            }
            enc[i] ^= (uint8_t)(1u << bit);
        }
    JK_CHECK(by_decode > 0 && by_body > 0 && by_sig > 0);
    JK_CHECK_EQ(by_decode + by_body + by_sig, len * 3);
    free(enc);
    fixture_free(&f);
}

JK_TEST(test_chain_block_truncated)
{
    JK_REQUIRE(jk_crypto_init() == JK_OK);
    static fixture f;
    JK_REQUIRE(fixture_make(&f));
    uint8_t *enc;
    size_t len;
    JK_REQUIRE(encode(&f.block, &enc, &len));
    for (size_t n = 0; n < len; n++) {
        uint8_t *copy = malloc(n ? n : 1); /* exact size, so ASan sees overreads */
        JK_REQUIRE(copy != NULL);
        memcpy(copy, enc, n);
        char what[48];
        snprintf(what, sizeof what, "truncated to %zu", n);
        expect_refused(copy, n, JK_ERR_CHAIN_DECODE, what, __LINE__);
        free(copy);
    }
    jk_diag diag = {{0}};
    jk_chain_block d;
    JK_CHECK_EQ(jk_chain_block_decode(enc, 100, &d, &diag), JK_ERR_CHAIN_DECODE);
    JK_CHECK(strstr(diag.msg, "header truncated") != NULL);
    JK_CHECK_EQ(jk_chain_block_decode(enc, len - 1, &d, &diag), JK_ERR_CHAIN_DECODE);
    JK_CHECK(strstr(diag.msg, "trace 1") != NULL);
    JK_CHECK_EQ(jk_chain_block_decode(enc, 172 + 20 + 100, &d, &diag), JK_ERR_CHAIN_DECODE);
    JK_CHECK(strstr(diag.msg, "event 2 blob") != NULL);
    free(enc);
    fixture_free(&f);
}

JK_TEST(test_chain_block_trailing)
{
    JK_REQUIRE(jk_crypto_init() == JK_OK);
    static fixture f;
    JK_REQUIRE(fixture_make(&f));
    uint8_t *enc;
    size_t len;
    JK_REQUIRE(encode(&f.block, &enc, &len));
    uint8_t *more = calloc(1, len + 200);
    JK_REQUIRE(more != NULL);
    memcpy(more, enc, len);
    for (size_t extra = 1; extra <= 200; extra += (extra < 8 ? 1 : 37)) {
        expect_refused(more, len + extra, JK_ERR_CHAIN_DECODE, "trailing", __LINE__);
        more[len + extra - 1] = 0xFF;
    }
    jk_diag diag = {{0}};
    jk_chain_block d;
    JK_CHECK_EQ(jk_chain_block_decode(more, len + 1, &d, &diag), JK_ERR_CHAIN_DECODE);
    JK_CHECK(strstr(diag.msg, "1 trailing bytes at offset 749") != NULL);
    free(more);
    free(enc);
    fixture_free(&f);
}

/* Each natural of the body re-spelled in a longer form (which decodes to
 * the same value) is refused. */
JK_TEST(test_chain_block_noncanonical)
{
    JK_REQUIRE(jk_crypto_init() == JK_OK);
    static fixture f;
    JK_REQUIRE(fixture_make(&f));
    uint8_t *enc;
    size_t len;
    JK_REQUIRE(encode(&f.block, &enc, &len));
    /* offsets of the naturals: event count, ep0, len0, ep1, len1, ep2,
     * len2 (2 bytes), trace count */
    const size_t at[] = {172, 173, 174, 187, 188, 189, 190, 492};
    const size_t width[] = {1, 1, 1, 1, 1, 1, 2, 1};
    for (size_t k = 0; k < sizeof at / sizeof at[0]; k++) {
        uint64_t v;
        JK_REQUIRE(jk_pvm_decode_natural(enc + at[k], width[k], &v) == width[k]);
        /* the 9-byte form 0xFF ‖ u64le, and the next-longer form */
        uint8_t forms[2][9];
        size_t flen[2];
        forms[0][0] = 0xFF;
        for (int i = 0; i < 8; i++)
            forms[0][1 + i] = (uint8_t)(v >> (8 * i));
        flen[0] = 9;
        /* width w+1: prefix of w ones, then the value */
        size_t w = width[k];
        forms[1][0] = (uint8_t)(0xFF << (8 - w)) | (uint8_t)(v >> (8 * w));
        for (size_t i = 0; i < w; i++)
            forms[1][1 + i] = (uint8_t)(v >> (8 * i));
        flen[1] = w + 1;
        for (int fi = 0; fi < 2; fi++) {
            uint64_t check;
            JK_REQUIRE(jk_pvm_decode_natural(forms[fi], flen[fi], &check) == flen[fi]);
            JK_REQUIRE(check == v);
            size_t nlen = len - w + flen[fi];
            uint8_t *p = malloc(nlen);
            JK_REQUIRE(p != NULL);
            memcpy(p, enc, at[k]);
            memcpy(p + at[k], forms[fi], flen[fi]);
            memcpy(p + at[k] + flen[fi], enc + at[k] + w, len - at[k] - w);
            jk_diag diag = {{0}};
            jk_chain_block d;
            JK_CHECK_EQ(jk_chain_block_decode(p, nlen, &d, &diag), JK_ERR_CHAIN_DECODE);
            if (!strstr(diag.msg, "canonical"))
                jk_test_fail(__FILE__, __LINE__, "natural %zu form %d: \"%s\"", k, fi, diag.msg);
            free(p);
        }
    }
    free(enc);
    fixture_free(&f);
}

/* ---- bounds ---- */

static size_t put_nat(uint8_t *p, uint64_t v)
{
    return jk_pvm_encode_natural(v, p);
}

JK_TEST(test_chain_block_decode_bounds)
{
    JK_REQUIRE(jk_crypto_init() == JK_OK);
    uint8_t body[64];
    size_t n, len;
    uint8_t *p;
    jk_diag diag = {{0}};
    jk_chain_block d;

    /* event count: 65,536 is allowed (then truncated here), 65,537 is not */
    n = put_nat(body, 65536);
    p = raw_block(body, n, &len);
    expect_refused(p, len, JK_ERR_CHAIN_DECODE, "65536 events, no bytes", __LINE__);
    free(p);
    n = put_nat(body, 65537);
    p = raw_block(body, n, &len);
    expect_refused(p, len, JK_ERR_CHAIN_TOO_LARGE, "65537 events", __LINE__);
    free(p);
    n = put_nat(body, UINT64_MAX);
    p = raw_block(body, n, &len);
    expect_refused(p, len, JK_ERR_CHAIN_TOO_LARGE, "2^64-1 events", __LINE__);
    free(p);

    /* endpoint: 256 (dispatch 255) allowed, 257 refused */
    n = put_nat(body, 1);
    n += put_nat(body + n, 256);
    n += put_nat(body + n, 0);
    n += put_nat(body + n, 0);
    p = raw_block(body, n, &len);
    JK_CHECK_EQ(jk_chain_block_decode(p, len, &d, &diag), JK_OK);
    JK_CHECK_EQ(jk_chain_endpoint_dispatch_index(d.events[0].endpoint), 255);
    jk_chain_block_free(&d);
    free(p);
    n = put_nat(body, 1);
    n += put_nat(body + n, 257);
    n += put_nat(body + n, 0);
    n += put_nat(body + n, 0);
    p = raw_block(body, n, &len);
    expect_refused(p, len, JK_ERR_CHAIN_TOO_LARGE, "endpoint 257", __LINE__);
    JK_CHECK_EQ(jk_chain_block_decode(p, len, &d, &diag), JK_ERR_CHAIN_TOO_LARGE);
    JK_CHECK(strstr(diag.msg, "event 0 endpoint at offset 173") != NULL);
    free(p);

    /* blob length: 1 MiB + 1 refused before looking for the bytes; 1 MiB
     * declared without the bytes is a truncation */
    n = put_nat(body, 1);
    n += put_nat(body + n, 0);
    n += put_nat(body + n, (1u << 20) + 1);
    p = raw_block(body, n, &len);
    expect_refused(p, len, JK_ERR_CHAIN_TOO_LARGE, "blob 1 MiB + 1", __LINE__);
    free(p);
    n = put_nat(body, 1);
    n += put_nat(body + n, 0);
    n += put_nat(body + n, 1u << 20);
    p = raw_block(body, n, &len);
    expect_refused(p, len, JK_ERR_CHAIN_DECODE, "blob 1 MiB, no bytes", __LINE__);
    free(p);

    /* trace count */
    n = put_nat(body, 0);
    n += put_nat(body + n, 65537);
    p = raw_block(body, n, &len);
    expect_refused(p, len, JK_ERR_CHAIN_TOO_LARGE, "65537 traces", __LINE__);
    free(p);
    n = put_nat(body, 0);
    n += put_nat(body + n, 65536);
    p = raw_block(body, n, &len);
    expect_refused(p, len, JK_ERR_CHAIN_DECODE, "65536 traces, no bytes", __LINE__);
    free(p);

    /* the whole block: over 16 MiB refused at once, whatever it holds */
    size_t big = JK_CHAIN_MAX_BLOCK_SIZE + 1;
    p = calloc(1, big);
    JK_REQUIRE(p != NULL);
    expect_refused(p, big, JK_ERR_CHAIN_TOO_LARGE, "16 MiB + 1", __LINE__);
    free(p);
}

JK_TEST(test_chain_block_build_bounds)
{
    JK_REQUIRE(jk_crypto_init() == JK_OK);
    jk_hash z = {{0}};
    jk_chain_block b;
    jk_diag diag = {{0}};
    static jk_chain_event ev[JK_CHAIN_MAX_EVENTS + 1];
    static jk_chain_trace tr[JK_CHAIN_MAX_TRACES + 1];
    uint8_t *mib = calloc(1, JK_CHAIN_MAX_BLOB + 1);
    JK_REQUIRE(mib != NULL);

    /* the largest counts: 65,536 empty events and 65,536 traces round-trip */
    for (size_t i = 0; i <= JK_CHAIN_MAX_EVENTS; i++)
        ev[i] = (jk_chain_event){(jk_chain_endpoint)(i % 257), NULL, 0};
    for (size_t i = 0; i <= JK_CHAIN_MAX_TRACES; i++)
        memset(&tr[i], (int)(i & 0xFF), sizeof tr[i]);
    JK_REQUIRE(jk_chain_block_build(&z, 1, 0, &z, ev, JK_CHAIN_MAX_EVENTS, tr,
                                    JK_CHAIN_MAX_TRACES, &b, &diag) == JK_OK);
    uint8_t *enc, *enc2;
    size_t len, len2;
    JK_REQUIRE(encode(&b, &enc, &len));
    jk_chain_block d;
    JK_REQUIRE(jk_chain_block_decode(enc, len, &d, &diag) == JK_OK);
    JK_CHECK(block_equal(&b, &d));
    JK_CHECK_EQ(jk_chain_block_check_body(&d), JK_OK);
    JK_REQUIRE(encode(&d, &enc2, &len2));
    JK_CHECK(len == len2 && !memcmp(enc, enc2, len));
    free(enc);
    free(enc2);
    jk_chain_block_free(&d);
    jk_chain_block_free(&b);

    /* one more of either is refused */
    JK_CHECK_EQ(jk_chain_block_build(&z, 1, 0, &z, ev, JK_CHAIN_MAX_EVENTS + 1, NULL, 0, &b,
                                     &diag), JK_ERR_CHAIN_TOO_LARGE);
    JK_CHECK(strstr(diag.msg, "65537 events") != NULL);
    JK_CHECK_EQ(jk_chain_block_build(&z, 1, 0, &z, NULL, 0, tr, JK_CHAIN_MAX_TRACES + 1, &b,
                                     &diag), JK_ERR_CHAIN_TOO_LARGE);
    JK_CHECK(b.events == NULL && b.traces == NULL);

    /* a blob of 1 MiB is fine, 1 MiB + 1 is not */
    jk_chain_event one = {JK_CHAIN_ENDPOINT_TRANSACT, mib, JK_CHAIN_MAX_BLOB};
    JK_CHECK_EQ(jk_chain_block_build(&z, 1, 0, &z, &one, 1, NULL, 0, &b, &diag), JK_OK);
    jk_chain_block_free(&b);
    one.blob_len++;
    JK_CHECK_EQ(jk_chain_block_build(&z, 1, 0, &z, &one, 1, NULL, 0, &b, &diag),
                JK_ERR_CHAIN_TOO_LARGE);
    JK_CHECK(strstr(diag.msg, "event 0: blob") != NULL);

    /* the 16 MiB bound on the whole block: 15 one-MiB blobs fit, 16 do not */
    jk_chain_event many[16];
    for (int i = 0; i < 16; i++)
        many[i] = (jk_chain_event){JK_CHAIN_ENDPOINT_TRANSACT, mib, JK_CHAIN_MAX_BLOB};
    JK_REQUIRE(jk_chain_block_build(&z, 1, 0, &z, many, 15, NULL, 0, &b, &diag) == JK_OK);
    JK_REQUIRE(encode(&b, &enc, &len));
    JK_CHECK(len <= JK_CHAIN_MAX_BLOCK_SIZE);
    JK_CHECK_EQ(jk_chain_block_decode(enc, len, &d, &diag), JK_OK);
    jk_chain_block_free(&d);
    free(enc);
    jk_chain_block_free(&b);
    JK_CHECK_EQ(jk_chain_block_build(&z, 1, 0, &z, many, 16, NULL, 0, &b, &diag),
                JK_ERR_CHAIN_TOO_LARGE);
    JK_CHECK(strstr(diag.msg, "block over") != NULL);

    /* a dispatch index of 256 or more */
    one = (jk_chain_event){jk_chain_endpoint_dispatch(256), NULL, 0};
    JK_CHECK_EQ(jk_chain_block_build(&z, 1, 0, &z, &one, 1, NULL, 0, &b, &diag),
                JK_ERR_CHAIN_TOO_LARGE);
    one.endpoint = jk_chain_endpoint_dispatch(255);
    JK_CHECK_EQ(jk_chain_block_build(&z, 1, 0, &z, &one, 1, NULL, 0, &b, &diag), JK_OK);
    jk_chain_block_free(&b);

    /* NULL parts with counts */
    one = (jk_chain_event){JK_CHAIN_ENDPOINT_TRANSACT, NULL, 3};
    JK_CHECK_EQ(jk_chain_block_build(&z, 1, 0, &z, &one, 1, NULL, 0, &b, &diag),
                JK_ERR_INVALID_ARG);
    JK_CHECK_EQ(jk_chain_block_build(&z, 1, 0, &z, NULL, 2, NULL, 0, &b, &diag),
                JK_ERR_INVALID_ARG);
    JK_CHECK_EQ(jk_chain_block_build(&z, 1, 0, &z, NULL, 0, NULL, 1, &b, &diag),
                JK_ERR_INVALID_ARG);

    /* a block changed by hand past a bound is not encoded */
    one = (jk_chain_event){JK_CHAIN_ENDPOINT_TRANSACT, NULL, 0};
    JK_REQUIRE(jk_chain_block_build(&z, 1, 0, &z, &one, 1, NULL, 0, &b, &diag) == JK_OK);
    b.events[0].endpoint = 1000;
    JK_CHECK_EQ(jk_chain_block_encoded_size(&b), 0);
    enc = NULL;
    JK_CHECK_EQ(jk_chain_block_encode(&b, &enc, &len), JK_ERR_CHAIN_TOO_LARGE);
    JK_CHECK(enc == NULL);
    jk_chain_block_free(&b);
    free(mib);
}

/* ---- the fuzz corpus ---- */

#define CORPUS_DIR "tests/fuzz/corpus/block"

static void write_file(const char *dir, const char *name, const uint8_t *b, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b, 1, n, f) != n)
        jk_test_fail(__FILE__, __LINE__, "cannot write %s", path);
    if (f)
        fclose(f);
}

static void write_block(const char *dir, const char *name, const jk_chain_block *b)
{
    uint8_t *enc;
    size_t len;
    if (encode(b, &enc, &len)) {
        write_file(dir, name, enc, len);
        free(enc);
    }
}

static void write_corpus(const char *dir)
{
    static fixture f;
    if (!fixture_make(&f))
        return;
    jk_hash z = {{0}}, parent;
    jk_chain_block b;
    uint8_t *enc;
    size_t len;
    hash_str("jark test parent", &parent);

    write_block(dir, "valid-golden", &f.block);
    jk_chain_block_build(&parent, 1, 0, &z, NULL, 0, NULL, 0, &b, NULL);
    jk_chain_block_sign(&b, f.sk, &f.genesis);
    write_block(dir, "valid-empty", &b);
    jk_chain_block_free(&b);
    jk_chain_event tx[2] = {{JK_CHAIN_ENDPOINT_TRANSACT, (const uint8_t *)"transfer 5", 10},
                            {JK_CHAIN_ENDPOINT_TRANSACT, (const uint8_t *)"x", 1}};
    jk_chain_block_build(&parent, 2, 1, &z, tx, 2, NULL, 0, &b, NULL);
    jk_chain_block_sign(&b, f.sk, &f.genesis);
    write_block(dir, "valid-transacts", &b);
    jk_chain_block_free(&b);
    jk_chain_block_build(&parent, 3, 0, &z, NULL, 0, f.block.traces, 2, &b, NULL);
    write_block(dir, "valid-traces-unsigned", &b);
    jk_chain_block_free(&b);
    jk_chain_event wide[2] = {{jk_chain_endpoint_dispatch(255), f.blob3, 200},
                              {jk_chain_endpoint_dispatch(127), f.blob3, 128}};
    jk_chain_block_build(&parent, UINT64_MAX, UINT32_MAX, &parent, wide, 2, NULL, 0, &b, NULL);
    jk_chain_block_sign(&b, f.sk, &f.genesis);
    write_block(dir, "valid-wide-naturals", &b);
    jk_chain_block_free(&b);

    if (encode(&f.block, &enc, &len)) {
        write_file(dir, "bad-truncated", enc, len - 5);
        uint8_t *more = calloc(1, len + 1);
        if (more) {
            memcpy(more, enc, len);
            write_file(dir, "bad-trailing", more, len + 1);
            free(more);
        }
        free(enc);
    }
    uint8_t body[16];
    size_t n;
    uint8_t *p;
    body[0] = 0x80; /* event count 0 in two bytes */
    body[1] = 0x00;
    body[2] = 0x00;
    p = raw_block(body, 3, &len);
    write_file(dir, "bad-noncanonical", p, len);
    free(p);
    n = put_nat(body, 65537);
    p = raw_block(body, n, &len);
    write_file(dir, "bad-too-many-events", p, len);
    free(p);
    n = put_nat(body, 1);
    n += put_nat(body + n, 0);
    n += put_nat(body + n, (1u << 20) + 1);
    p = raw_block(body, n, &len);
    write_file(dir, "bad-blob-too-large", p, len);
    free(p);
    fixture_free(&f);
}

/* A "valid-" seed decodes, re-encodes to itself and has a matching body
 * hash; a "bad-" seed is refused. */
static void check_seed(const char *name, const uint8_t *bytes, size_t len)
{
    jk_chain_block b;
    jk_diag diag = {{0}};
    jk_err err = jk_chain_block_decode(bytes, len, &b, &diag);
    if (!strncmp(name, "valid-", 6)) {
        uint8_t *enc;
        size_t elen;
        if (err != JK_OK) {
            jk_test_fail(__FILE__, __LINE__, "seed %s refused: %s", name, diag.msg);
            return;
        }
        if (jk_chain_block_check_body(&b) != JK_OK)
            jk_test_fail(__FILE__, __LINE__, "seed %s: body hash differs", name);
        if (encode(&b, &enc, &elen)) {
            if (elen != len || memcmp(enc, bytes, len))
                jk_test_fail(__FILE__, __LINE__, "seed %s does not re-encode", name);
            free(enc);
        }
        jk_chain_block_free(&b);
    } else if (!strncmp(name, "bad-", 4) && err == JK_OK) {
        jk_test_fail(__FILE__, __LINE__, "seed %s decodes", name);
        jk_chain_block_free(&b);
    }
}

JK_TEST(test_chain_block_corpus)
{
    JK_REQUIRE(jk_crypto_init() == JK_OK);
    const char *out = getenv("JK_CHAIN_WRITE_CORPUS");
    if (out)
        write_corpus(out);
    DIR *dir = opendir(CORPUS_DIR);
    JK_REQUIRE(dir != NULL);
    size_t count = 0, valid = 0, bad = 0;
    struct dirent *de;
    while ((de = readdir(dir)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", CORPUS_DIR, de->d_name);
        FILE *f = fopen(path, "rb");
        if (!f)
            continue;
        uint8_t *buf = NULL;
        size_t n = 0, cap = 0;
        for (;;) { /* read it whole, whatever its size */
            if (n == cap) {
                cap = cap ? cap * 2 : 1 << 16;
                uint8_t *nb = realloc(buf, cap);
                if (!nb)
                    break;
                buf = nb;
            }
            size_t got = fread(buf + n, 1, cap - n, f);
            n += got;
            if (got == 0)
                break;
        }
        fclose(f);
        if (!buf)
            continue;
        jk_fuzz_block(buf, n); /* aborts on a bug */
        check_seed(de->d_name, buf, n);
        valid += !strncmp(de->d_name, "valid-", 6);
        bad += !strncmp(de->d_name, "bad-", 4);
        count++;
        free(buf);
    }
    closedir(dir);
    JK_CHECK(count >= 10);
    JK_CHECK(valid >= 5);
    JK_CHECK(bad >= 5);
}
