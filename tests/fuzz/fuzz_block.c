/*
 * fuzz_block.c — fuzz target over the chain layer's block decoder
 * (jk_chain_block_decode), with the trace codec and key sets on the side.
 *
 * The whole input is one candidate block. A refusal must come with a
 * diagnostic and one of the decoder's documented codes. A block that decodes
 * must re-encode to exactly the input bytes (canonical encoding), its header
 * alone must decode to the same header, and hashing, the body-hash check and
 * signature verification must run on it without incident.
 * Then, on the same bytes: every aligned 128-byte window decodes as a trace
 * and encodes back; and the input's 32-byte chunks, added to key sets in
 * forward and in reverse order, give equal sets, iterated in ascending order.
 * Any crash, leak, sanitizer report or broken rule aborts.
 */
#include "fuzz_targets.h"

#include "jark/chain.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void jk_fuzz_fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_block: %s: %s\n", what, detail ? detail : "");
    abort();
}

static void jk_fuzz_block_ok(const jk_chain_block *b, const uint8_t *data, size_t size)
{
    uint8_t *enc = NULL;
    size_t enc_len = 0;
    if (jk_chain_block_encoded_size(b) != size)
        jk_fuzz_fail("encoded size differs from the input", NULL);
    if (jk_chain_block_encode(b, &enc, &enc_len) != JK_OK)
        jk_fuzz_fail("a decoded block does not encode", NULL);
    if (enc_len != size || memcmp(enc, data, size) != 0)
        jk_fuzz_fail("re-encoding differs from the input", NULL);
    free(enc);

    jk_chain_header h;
    jk_diag diag = {{0}};
    uint8_t h1[JK_CHAIN_HEADER_SIZE], h2[JK_CHAIN_HEADER_SIZE];
    if (jk_chain_header_decode(data, JK_CHAIN_HEADER_SIZE, &h, &diag) != JK_OK)
        jk_fuzz_fail("the header alone does not decode", diag.msg);
    jk_chain_header_encode(&h, h1);
    jk_chain_header_encode(&b->header, h2);
    if (memcmp(h1, h2, sizeof h1) != 0 || memcmp(h1, data, sizeof h1) != 0)
        jk_fuzz_fail("the header alone decodes differently", NULL);

    jk_hash bh, hh, g = {{0}};
    jk_chain_block_hash(b, &bh);
    jk_chain_header_hash(&b->header, &hh);
    if (memcmp(bh.bytes, hh.bytes, JK_HASH_SIZE) != 0)
        jk_fuzz_fail("block hash is not the header hash", NULL);
    jk_err err = jk_chain_block_check_body(b);
    if (err != JK_OK && err != JK_ERR_CHAIN_BODY_HASH)
        jk_fuzz_fail("check_body gave an undocumented code", jk_strerror(err));
    err = jk_chain_block_verify_sig(b, data, &g); /* any 32 bytes as a key */
    if (err != JK_OK && err != JK_ERR_CHAIN_BLOCK_SIG)
        jk_fuzz_fail("verify_sig gave an undocumented code", jk_strerror(err));
    for (size_t i = 0; i < b->event_count; i++) {
        if (!b->events[i].blob || b->events[i].blob_len > JK_CHAIN_MAX_BLOB ||
            b->events[i].endpoint > JK_CHAIN_MAX_DISPATCH)
            jk_fuzz_fail("a decoded event breaks a bound", NULL);
        if (b->events[i].blob_len)
            (void)*(volatile const uint8_t *)&b->events[i].blob[b->events[i].blob_len - 1];
    }
    for (size_t i = 0; i < b->trace_count; i++)
        (void)jk_chain_trace_check(&b->traces[i]);
}

static void jk_fuzz_traces(const uint8_t *data, size_t size)
{
    for (size_t off = 0; off + JK_CHAIN_TRACE_SIZE <= size && off < 1024;
         off += JK_CHAIN_TRACE_SIZE) {
        jk_chain_trace t;
        uint8_t back[JK_CHAIN_TRACE_SIZE];
        jk_chain_trace_decode(data + off, &t);
        jk_chain_trace_encode(&t, back);
        if (memcmp(back, data + off, JK_CHAIN_TRACE_SIZE) != 0)
            jk_fuzz_fail("trace does not round-trip", NULL);
        jk_err err = jk_chain_trace_verify_hash(&t, t.key, &t.msg_hash);
        if (err != JK_OK && err != JK_ERR_CHAIN_TRACE_SIG)
            jk_fuzz_fail("trace verify gave an unexpected code", jk_strerror(err));
    }
}

static void jk_fuzz_keysets(const uint8_t *data, size_t size)
{
    size_t n = size / 32;
    if (n > 256)
        n = 256;
    jk_chain_keyset fwd = JK_CHAIN_KEYSET_INIT, rev = JK_CHAIN_KEYSET_INIT,
                    merged = JK_CHAIN_KEYSET_INIT;
    for (size_t i = 0; i < n; i++)
        if (jk_chain_keyset_add(&fwd, data + 32 * i, NULL) != JK_OK)
            abort();
    for (size_t i = n; i-- > 0;)
        if (jk_chain_keyset_add(&rev, data + 32 * i, NULL) != JK_OK)
            abort();
    if (jk_chain_keyset_merge(&merged, &rev) != JK_OK ||
        jk_chain_keyset_merge(&merged, &fwd) != JK_OK)
        abort();
    if (!jk_chain_keyset_equal(&fwd, &rev) || !jk_chain_keyset_equal(&fwd, &merged))
        jk_fuzz_fail("key sets depend on insertion order", NULL);
    for (size_t i = 0; i < n; i++)
        if (!jk_chain_keyset_contains(&rev, data + 32 * i))
            jk_fuzz_fail("an added key is missing", NULL);
    jk_chain_keyset_iter it = JK_CHAIN_KEYSET_ITER_INIT;
    const uint8_t *k, *prev = NULL;
    size_t count = 0;
    while ((k = jk_chain_keyset_next(&fwd, &it)) != NULL) {
        if (prev && memcmp(prev, k, 32) >= 0)
            jk_fuzz_fail("key set iteration not strictly ascending", NULL);
        prev = k;
        count++;
    }
    if (count != jk_chain_keyset_count(&fwd))
        jk_fuzz_fail("key set count differs from its iteration", NULL);
    jk_chain_keyset_free(&fwd);
    jk_chain_keyset_free(&rev);
    jk_chain_keyset_free(&merged);
}

int jk_fuzz_block(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        if (jk_crypto_init() != JK_OK)
            abort();
        ready = 1;
    }
    jk_chain_block b;
    jk_diag diag = {{0}};
    jk_err err = jk_chain_block_decode(data, size, &b, &diag);
    if (err == JK_OK) {
        jk_fuzz_block_ok(&b, data, size);
    } else {
        if (!diag.msg[0])
            jk_fuzz_fail("refusal without a message", jk_strerror(err));
        if (err != JK_ERR_CHAIN_DECODE && err != JK_ERR_CHAIN_TOO_LARGE && err != JK_ERR_NOMEM)
            jk_fuzz_fail("refusal with an undocumented code", jk_strerror(err));
        if (b.events || b.traces || b.blob_store || b.event_count || b.trace_count)
            jk_fuzz_fail("a refused block is not zeroed", diag.msg);
    }
    jk_chain_block_free(&b);
    jk_fuzz_traces(data, size);
    jk_fuzz_keysets(data, size);
    return 0;
}

#ifdef JK_FUZZ_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return jk_fuzz_block(data, size);
}
#endif
