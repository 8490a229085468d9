/*
 * test_block_refusals.c — what block decoding and building (src/chain/block.c)
 * refuse or detect.
 *
 * On the fixed block (block_test_util.h): every single-bit change detected
 * (by decode, the body check or the signature), every truncation and trailing
 * bytes refused, each natural of the body in a longer form refused. Then every
 * bound at and past its limit, for decode and for build.
 */
#include "../test.h"
#include "block_test_util.h"

#include "jark/chain.h"
#include "jark/pvm.h"

#include <stdlib.h>

/* ---- helpers ---- */

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

/* ---- damage ---- */

/* Every single-bit change anywhere in the encoding is caught: by decode, by
 * the body check, or by the signature. */
JK_TEST(test_chain_block_tamper_detected)
{
    static fixture f;
    JK_REQUIRE(fixture_make(&f));
    uint8_t *enc = f.enc;
    size_t len = f.enc_len;
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
    fixture_free(&f);
}

JK_TEST(test_chain_block_truncated)
{
    static fixture f;
    JK_REQUIRE(fixture_make(&f));
    uint8_t *enc = f.enc;
    size_t len = f.enc_len;
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
    JK_CHECK(strstr(diag.msg, "the dispatch part is missing") != NULL);
    JK_CHECK_EQ(jk_chain_block_decode(enc, len - 2, &d, &diag), JK_ERR_CHAIN_DECODE);
    JK_CHECK(strstr(diag.msg, "trace 1") != NULL);
    JK_CHECK_EQ(jk_chain_block_decode(enc, 208 + 20 + 100, &d, &diag), JK_ERR_CHAIN_DECODE);
    JK_CHECK(strstr(diag.msg, "event 2 blob") != NULL);
    fixture_free(&f);
}

JK_TEST(test_chain_block_trailing)
{
    static fixture f;
    JK_REQUIRE(fixture_make(&f));
    uint8_t *enc = f.enc;
    size_t len = f.enc_len;
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
    JK_CHECK(strstr(diag.msg, "1 trailing bytes at offset 786") != NULL);
    free(more);
    fixture_free(&f);
}

/* Each natural of the body re-spelled in a longer form (which decodes to
 * the same value) is refused. */
JK_TEST(test_chain_block_noncanonical)
{
    static fixture f;
    JK_REQUIRE(fixture_make(&f));
    uint8_t *enc = f.enc;
    size_t len = f.enc_len;
    /* offsets of the naturals: event count, ep0, len0, ep1, len1, ep2,
     * len2 (2 bytes), trace count */
    const size_t at[] = {208, 209, 210, 223, 224, 225, 226, 528};
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
    fixture_free(&f);
}

/* ---- bounds ---- */

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
    n += put_nat(body + n, 0); /* the dispatch part: process did not run */
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
    JK_CHECK(strstr(diag.msg, "event 0 endpoint at offset 209") != NULL);
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
