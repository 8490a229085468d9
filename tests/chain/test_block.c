/*
 * test_block.c — blocks (src/chain/block.c): the fixed block's layout and
 * pinned hashes, round trips, determinism, signatures, the header codec.
 *
 * A fixed block (block_test_util.h) is built from fixed parts and its bytes
 * are checked field by field against docs/block-format.md; its hashes are
 * pinned as hex (they were cross-checked when pinned against an independent
 * Python transcription of docs/block-format.md: hashlib.blake2b and the
 * `cryptography` package's Ed25519). Then: round trips, determinism,
 * signatures. What decode and build refuse is tested in test_block_refusals.c,
 * the fuzz corpus in test_block_corpus.c.
 */
#include "../test.h"
#include "block_test_util.h"

#include "jark/chain.h"

#include <stdlib.h>

/* ---- helpers ---- */

/* ---- layout and golden values ---- */

JK_TEST(test_chain_block_layout)
{
    static fixture f;
    JK_REQUIRE(fixture_make(&f));
    uint8_t *enc = f.enc;
    size_t len = f.enc_len;
    jk_hash parent, state, commit, body;
    hash_str("jark test parent", &parent);
    hash_str("jark test state", &state);
    hash_str("jark test commit", &commit);
    /* header: parent, number u64le, round u32le, proposer u32le, state root,
     * body hash, last_commit, sig */
    JK_CHECK_MEM(enc, parent.bytes, 32);
    static const uint8_t num[8] = {7, 0, 0, 0, 0, 0, 0, 0}, round[4] = {5, 0, 0, 0}, prop[4] = {2, 0, 0, 0};
    JK_CHECK_MEM(enc + 32, num, 8);
    JK_CHECK_MEM(enc + 40, round, 4);
    JK_CHECK_MEM(enc + 44, prop, 4);
    JK_CHECK_MEM(enc + 48, state.bytes, 32);
    JK_CHECK_MEM(enc + 80, f.block.header.body_hash.bytes, 32);
    JK_CHECK_MEM(enc + 112, commit.bytes, 32);
    JK_CHECK_MEM(enc + 144, f.block.header.signature, 64);
    /* body_hash = H(body) */
    jk_crypto_blake2b256(enc + 208, len - 208, &body);
    JK_CHECK_MEM(body.bytes, f.block.header.body_hash.bytes, 32);
    /* body: E(3) ‖ (E(0) E(12) "set_price 42") ‖ (E(1) E(0)) ‖
     * (E(4) E(300) blob) ‖ E(2) ‖ 2 traces */
    const uint8_t *p = enc + 208;
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
    JK_CHECK_EQ(p[0], 0); /* the dispatch part: process did not run */
    p++;
    JK_CHECK_EQ((size_t)(p - enc), len);
    JK_CHECK_EQ(len, 208 + sizeof ev0 + 300 + 1 + 256 + 1);
    JK_CHECK_EQ(jk_chain_block_encoded_size(&f.block), len);
    /* the block hash is H(all 208 header bytes) */
    jk_hash bh, want;
    jk_chain_block_hash(&f.block, &bh);
    jk_crypto_blake2b256(enc, 208, &want);
    JK_CHECK_MEM(bh.bytes, want.bytes, 32);
    /* the signed digest is H("jark/block/v2" ‖ G ‖ header[0..144)) */
    uint8_t msg[13 + 32 + 144];
    memcpy(msg, "jark/block/v2", 13);
    memcpy(msg + 13, f.genesis.bytes, 32);
    memcpy(msg + 45, enc, 144);
    jk_crypto_blake2b256(msg, sizeof msg, &want);
    jk_chain_header_signing_hash(&f.block.header, &f.genesis, &bh);
    JK_CHECK_MEM(bh.bytes, want.bytes, 32);
    JK_CHECK_EQ(jk_crypto_ed25519_verify(f.pk, want.bytes, 32, f.block.header.signature), JK_OK);
    fixture_free(&f);
}

JK_TEST(test_chain_block_golden)
{
    static fixture f;
    JK_REQUIRE(fixture_make(&f));
    uint8_t *enc = f.enc;
    size_t len = f.enc_len;
    jk_hash h;
    JK_CHECK_EQ(len, 786);
    JK_CHECK_HEX(f.block.header.body_hash.bytes, 32,
                 "81b146e637c86cd2f5fb60bd879e46246261ebf20ef4c240739f952aea957a48");
    jk_chain_header_signing_hash(&f.block.header, &f.genesis, &h);
    JK_CHECK_HEX(h.bytes, 32, "7a69bbab84491b612178430a5ac3fa7f638b99fce9d0c4d26a0a7fafe202ad60");
    JK_CHECK_HEX(f.block.header.signature, 64,
                 "f28496907dc5fc1b28fe4c2441e9c44c031372b12b4b45fbc350a72a3e92d73c"
                 "5624e0b1d545af486e134650f88c518909ef7b4a0336a94313a9d1948df85108");
    jk_chain_block_hash(&f.block, &h);
    JK_CHECK_HEX(h.bytes, 32, "88047ea16f47f72feeabc2645f9dbd89dbea16cae173abde3f00a5652513d0e3");
    jk_crypto_blake2b256(enc, len, &h);
    JK_CHECK_HEX(h.bytes, 32, "f1173d5225858d2686f22af90e439ed2d473141600150caf3775f788313b2757");
    /* The empty block: body = 00 00 00. */
    jk_chain_block e;
    jk_hash zero = {{0}};
    JK_REQUIRE(jk_chain_block_build(&zero, 0, 0, &zero, NULL, 0, NULL, 0, &e, NULL) == JK_OK);
    JK_CHECK_HEX(e.header.body_hash.bytes, 32,
                 "ab29e6dc16755d0071eba349ebda225d15e4f910cb474549c47e95cb85ecc4d6");
    jk_chain_block_free(&e);
    fixture_free(&f);
}

/* ---- round trips, determinism, signatures ---- */

JK_TEST(test_chain_block_roundtrip)
{
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

    /* the empty block: 208 + 3 bytes */
    jk_chain_block e;
    jk_hash zero = {{0}};
    JK_REQUIRE(jk_chain_block_build(&zero, 0, 0, &zero, NULL, 0, NULL, 0, &e, NULL) == JK_OK);
    jk_chain_block_sign(&e, f.sk, &f.genesis);
    JK_REQUIRE(encode(&e, &enc2, &len2));
    JK_CHECK_EQ(len2, 211);
    JK_CHECK(enc2[208] == 0 && enc2[209] == 0 && enc2[210] == 0);
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
    JK_CHECK_EQ(h.round, 5);
    JK_CHECK_EQ(h.proposer, 2);
    JK_CHECK_MEM(h.last_commit.bytes, f.block.header.last_commit.bytes, 32);
    JK_CHECK_EQ(jk_chain_header_decode(enc, JK_CHAIN_HEADER_SIZE - 1, &h, &diag),
                JK_ERR_CHAIN_DECODE);
    JK_CHECK(strstr(diag.msg, "truncated") != NULL);
    JK_CHECK_EQ(jk_chain_header_decode(enc, JK_CHAIN_HEADER_SIZE + 1, &h, &diag),
                JK_ERR_CHAIN_DECODE);
    JK_CHECK(strstr(diag.msg, "trailing") != NULL);
    /* full-width integers are little-endian */
    h.number = 0x0102030405060708ull;
    h.round = 0x11223344u;
    h.proposer = 0xA0B0C0D0u;
    jk_chain_header_encode(&h, back);
    static const uint8_t num[8] = {8, 7, 6, 5, 4, 3, 2, 1}, prop[4] = {0xD0, 0xC0, 0xB0, 0xA0},
                         round[4] = {0x44, 0x33, 0x22, 0x11};
    JK_CHECK_MEM(back + 32, num, 8);
    JK_CHECK_MEM(back + 40, round, 4);
    JK_CHECK_MEM(back + 44, prop, 4);
    fixture_free(&f);
}

/* The one proposer rule: (height + round) mod V, no overflow at the edges. */
JK_TEST(test_chain_proposer_index)
{
    JK_CHECK_EQ(jk_chain_proposer_index(4, 0, 0), 0);
    JK_CHECK_EQ(jk_chain_proposer_index(4, 5, 0), 1);
    JK_CHECK_EQ(jk_chain_proposer_index(4, 5, 1), 2);
    JK_CHECK_EQ(jk_chain_proposer_index(4, 5, 3), 0);
    JK_CHECK_EQ(jk_chain_proposer_index(1, 12345, 678), 0);
    /* UINT64_MAX mod 7 = 1, UINT32_MAX mod 7 = 3 */
    JK_CHECK_EQ(jk_chain_proposer_index(7, UINT64_MAX, UINT32_MAX), 4);
    JK_CHECK_EQ(jk_chain_proposer_index(UINT32_MAX, UINT64_MAX, UINT32_MAX), (uint32_t)(UINT64_MAX % UINT32_MAX));
    JK_CHECK_EQ(jk_chain_proposer_index(0, 3, 3), 0);
}
