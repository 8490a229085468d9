/*
 * block_test_util.h — what the block tests (test_block.c, test_block_refusals.c,
 * test_block_corpus.c) share: the fixed block of docs/block-format.md ("Test
 * values") and its keys, encoding with a failure recorded, field-wise block
 * equality, and raw block bytes from a zero header and given body bytes.
 *
 * Static inline, so each test file gets its own copy.
 */
#ifndef JK_TESTS_CHAIN_BLOCK_TEST_UTIL_H
#define JK_TESTS_CHAIN_BLOCK_TEST_UTIL_H

#include "../test.h"

#include "jark/chain.h"
#include "jark/pvm.h"

#include <stdlib.h>

static inline void hash_str(const char *s, jk_hash *out)
{
    jk_crypto_blake2b256(s, strlen(s), out);
}

static inline void seed_key(uint8_t fill, bool counting, uint8_t pk[32], uint8_t sk[64])
{
    uint8_t seed[32];
    for (int i = 0; i < 32; i++)
        seed[i] = counting ? (uint8_t)i : fill;
    if (jk_crypto_ed25519_keypair_from_seed(seed, pk, sk) != JK_OK)
        jk_test_fail(__FILE__, __LINE__, "keypair");
}

/* The fixed block (docs/block-format.md, "Test values"):
 *   genesis G = H("jark test genesis"); proposer key from seed 00 01 .. 1f;
 *   parent = H("jark test parent"), number 7, round 5, proposer 2,
 *   state_root = H("jark test state"), last_commit = H("jark test commit");
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
    uint8_t *enc; /* block's encoding (owned), enc_len bytes */
    size_t enc_len;
} fixture;

static inline bool encode(const jk_chain_block *b, uint8_t **out, size_t *len);

/* The fixed block and its encoding (after jk_crypto_init); false, with the
 * failure recorded, when any step fails. */
static inline bool fixture_make(fixture *f)
{
    jk_hash parent, state;
    uint8_t rpk[32], rsk[64];
    jk_chain_trace traces[2];
    memset(f, 0, sizeof *f);
    if (jk_crypto_init() != JK_OK) {
        jk_test_fail(__FILE__, __LINE__, "jk_crypto_init");
        return false;
    }
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
    f->block.header.round = 5;
    hash_str("jark test commit", &f->block.header.last_commit);
    jk_chain_block_sign(&f->block, f->sk, &f->genesis);
    return encode(&f->block, &f->enc, &f->enc_len);
}

/* The fixed block with a dispatch part (docs/block-format.md, "Test
 * values"): consumed: dispatch 0 "vote 1" with the trace of seed 01×32 over
 * it; process traces: seed 02×32 attests "tally"; queued: dispatch 1
 * "batch" carrying that trace. Re-signed. The part's storage is the
 * caller's (traces[3]). */
static inline bool fixture_with_dispatch(fixture *f, jk_chain_trace traces[2])
{
    uint8_t rpk[32], rsk[64];
    seed_key(1, false, rpk, rsk);
    jk_chain_trace_sign(rsk, &f->genesis, "vote 1", 6, &traces[0]);
    seed_key(2, false, rpk, rsk);
    jk_chain_trace_sign(rsk, &f->genesis, "tally", 5, &traces[1]);
    jk_crypto_wipe(rsk, sizeof rsk);
    jk_chain_traced_event consumed = {{jk_chain_endpoint_dispatch(0), (const uint8_t *)"vote 1", 6}, &traces[0], 1};
    jk_chain_traced_event queued = {{jk_chain_endpoint_dispatch(1), (const uint8_t *)"batch", 5}, &traces[1], 1};
    jk_chain_dispatch_part part = {true, &consumed, 1, &traces[1], 1, &queued, 1, NULL, NULL};
    jk_diag diag = {{0}};
    if (jk_chain_block_set_dispatch(&f->block, &part, &diag) != JK_OK) {
        jk_test_fail(__FILE__, __LINE__, "set_dispatch: %s", diag.msg);
        return false;
    }
    jk_chain_block_sign(&f->block, f->sk, &f->genesis);
    return true;
}

static inline void fixture_free(fixture *f)
{
    free(f->enc);
    jk_chain_block_free(&f->block);
    jk_crypto_wipe(f->sk, sizeof f->sk);
}

static inline bool encode(const jk_chain_block *b, uint8_t **out, size_t *len)
{
    jk_err err = jk_chain_block_encode(b, out, len);
    if (err != JK_OK)
        jk_test_fail(__FILE__, __LINE__, "encode: %s", jk_strerror(err));
    return err == JK_OK;
}

/* The two blocks have equal fields (not compared byte-wise: padding). */
static inline bool block_equal(const jk_chain_block *a, const jk_chain_block *b)
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
    /* the dispatch parts: through the body hashes (the rest is equal) */
    jk_hash x, y;
    jk_chain_block_body_hash(a, &x);
    jk_chain_block_body_hash(b, &y);
    return a->dispatch.ran == b->dispatch.ran && a->dispatch.consumed_count == b->dispatch.consumed_count &&
           a->dispatch.queued_count == b->dispatch.queued_count &&
           a->dispatch.process_trace_count == b->dispatch.process_trace_count && !memcmp(x.bytes, y.bytes, 32);
}

/* A block encoding from a zero header and the given body bytes. */
static inline uint8_t *raw_block(const uint8_t *body, size_t body_len, size_t *len)
{
    uint8_t *p = calloc(1, JK_CHAIN_HEADER_SIZE + body_len + 1);
    if (p && body_len)
        memcpy(p + JK_CHAIN_HEADER_SIZE, body, body_len);
    *len = JK_CHAIN_HEADER_SIZE + body_len;
    return p;
}

static inline size_t put_nat(uint8_t *p, uint64_t v)
{
    return jk_pvm_encode_natural(v, p);
}

#endif
