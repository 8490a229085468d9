/*
 * test_block_corpus.c — the replay of the block fuzz corpus
 * (tests/fuzz/corpus/block/) through jk_fuzz_block() and the block decoder
 * (src/chain/block.c).
 *
 * The corpus seeds are written by this file: run
 *   JK_CHAIN_WRITE_CORPUS=tests/fuzz/corpus/block build/tests test_chain_block_corpus
 * to regenerate them. "valid-*" seeds must decode (and re-encode to the same
 * bytes, with a matching body hash); "bad-*" seeds must be refused.
 */
#include "../files.h"
#include "../test.h"
#include "../fuzz/fuzz_targets.h"
#include "block_test_util.h"

#include "jark/chain.h"

#include <stdlib.h>

/* ---- the fuzz corpus ---- */

#define CORPUS_DIR "tests/fuzz/corpus/block"

static void write_block(const char *dir, const char *name, const jk_chain_block *b)
{
    uint8_t *enc;
    size_t len;
    if (encode(b, &enc, &len)) {
        jk_test_write_file(dir, name, enc, len);
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
        jk_test_write_file(dir, "bad-truncated", enc, len - 5);
        uint8_t *more = calloc(1, len + 1);
        if (more) {
            memcpy(more, enc, len);
            jk_test_write_file(dir, "bad-trailing", more, len + 1);
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
    jk_test_write_file(dir, "bad-noncanonical", p, len);
    free(p);
    n = put_nat(body, 65537);
    p = raw_block(body, n, &len);
    jk_test_write_file(dir, "bad-too-many-events", p, len);
    free(p);
    n = put_nat(body, 1);
    n += put_nat(body + n, 0);
    n += put_nat(body + n, (1u << 20) + 1);
    p = raw_block(body, n, &len);
    jk_test_write_file(dir, "bad-blob-too-large", p, len);
    free(p);
    /* the dispatch part (jark/block/v2) */
    jk_chain_trace dtr[2];
    if (fixture_with_dispatch(&f, dtr) && encode(&f.block, &enc, &len)) {
        write_block(dir, "valid-dispatch", &f.block);
        size_t at = len - 405; /* the part's flag (405 bytes: docs/block-format.md) */
        enc[at] = 2;
        jk_test_write_file(dir, "bad-dispatch-flag", enc, len);
        enc[at] = 1;
        enc[at + 2] = 0; /* the consumed event's endpoint: a transact */
        jk_test_write_file(dir, "bad-dispatch-transact", enc, len);
        enc[at + 2] = 1;
        jk_test_write_file(dir, "bad-dispatch-truncated", enc, len - 100);
        free(enc);
    }
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
    } else if (err == JK_OK) {
        jk_chain_block_free(&b); /* an input the fuzzer found: decoding is all it asks */
    }
}

JK_TEST(test_chain_block_corpus)
{
    JK_REQUIRE(jk_crypto_init() == JK_OK);
    const char *out = getenv("JK_CHAIN_WRITE_CORPUS");
    if (out)
        write_corpus(out);
    jk_test_corpus c;
    JK_REQUIRE(jk_test_corpus_open(&c, CORPUS_DIR));
    size_t count = 0, valid = 0, bad = 0;
    while (jk_test_corpus_next(&c)) { /* each read whole, whatever its size */
        jk_fuzz_block(c.bytes, c.len); /* aborts on a bug */
        check_seed(c.name, c.bytes, c.len);
        valid += !strncmp(c.name, "valid-", 6);
        bad += !strncmp(c.name, "bad-", 4);
        count++;
    }
    jk_test_corpus_close(&c);
    JK_CHECK(count >= 10);
    JK_CHECK(valid >= 5);
    JK_CHECK(bad >= 5);
}
