/*
 * test_block_dispatch.c — the dispatch part of a block body (jark/block/v2,
 * docs/block-format.md "The dispatch part"): the golden block with a part,
 * cross-checked against an independent Python transcription of the page;
 * round trips; and every refusal of the part's decoder and of
 * jk_chain_block_set_dispatch.
 */
#include "block_test_util.h"

#define CHECK_HEX(bytes, n, hex)                                                         \
    do {                                                                                 \
        char got_[2 * (n) + 1];                                                          \
        for (size_t i_ = 0; i_ < (n); i_++)                                              \
            snprintf(got_ + 2 * i_, 3, "%02x", (bytes)[i_]);                             \
        if (strcmp(got_, (hex)) != 0)                                                    \
            jk_test_fail(__FILE__, __LINE__, "%s: got %s, expect %s", #bytes, got_, hex); \
    } while (0)

JK_TEST(test_chain_block_dispatch_golden)
{
    JK_REQUIRE(jk_crypto_init() == JK_OK);
    static fixture f;
    jk_chain_trace tr[2];
    JK_REQUIRE(fixture_make(&f));
    JK_REQUIRE(fixture_with_dispatch(&f, tr));
    uint8_t *enc;
    size_t len;
    JK_REQUIRE(encode(&f.block, &enc, &len));
    JK_CHECK_EQ(len, 1190);
    /* the part: 01 ‖ E(1) ‖ (E(1) E(6) "vote 1" E(1) trace) ‖ E(1) ‖ trace ‖
     * E(1) ‖ (E(2) E(5) "batch" E(1) trace): 405 bytes */
    static const uint8_t head[] = {1, 1, 1, 6, 'v', 'o', 't', 'e', ' ', '1', 1};
    JK_CHECK_MEM(enc + len - 405, head, sizeof head);
    jk_hash h;
    CHECK_HEX(f.block.header.body_hash.bytes, 32,
              "fdb58714b20b39fd291f3ff9157236238779faeb6babd4a7aa465e1af86e0084");
    jk_chain_header_signing_hash(&f.block.header, &f.genesis, &h);
    CHECK_HEX(h.bytes, 32, "5fa14f932fedd72067c41af3962daafac48e52ecabbe330772f0eee853168458");
    CHECK_HEX(f.block.header.signature, 64,
              "a906868d0f2310162f5680af89fa0bb038363755e148d8f9be41313284e2a650"
              "6e13086c599de3db6f8e8876e96ecd72e972fdfbe4b283267e9ae142a0bafd09");
    jk_chain_block_hash(&f.block, &h);
    CHECK_HEX(h.bytes, 32, "f6c78f0a17848e6df3180620f047415979ff364b55568046c8a112f646b475bb");
    jk_crypto_blake2b256(enc, len, &h);
    CHECK_HEX(h.bytes, 32, "24e714bdbf9abab59d049c52d343e7d77a3d0162dbd54f580201db1a7c3d75b7");
    /* decodes to the same part, re-encodes to the same bytes */
    jk_chain_block d;
    jk_diag diag = {{0}};
    JK_REQUIRE(jk_chain_block_decode(enc, len, &d, &diag) == JK_OK);
    JK_CHECK(block_equal(&d, &f.block));
    JK_CHECK(d.dispatch.ran);
    JK_CHECK(d.dispatch.consumed_count == 1 && d.dispatch.consumed[0].event.blob_len == 6 &&
             !memcmp(d.dispatch.consumed[0].event.blob, "vote 1", 6) && d.dispatch.consumed[0].trace_count == 1);
    JK_CHECK(d.dispatch.queued_count == 1 && d.dispatch.queued[0].event.endpoint == jk_chain_endpoint_dispatch(1));
    JK_CHECK_EQ(d.dispatch.process_trace_count, 1);
    JK_CHECK_EQ(jk_chain_block_check_body(&d), JK_OK);
    JK_CHECK_EQ(jk_chain_block_verify_sig(&d, f.pk, &f.genesis), JK_OK);
    uint8_t *again;
    size_t again_len;
    JK_REQUIRE(encode(&d, &again, &again_len));
    JK_CHECK(again_len == len && !memcmp(again, enc, len));
    free(again);
    jk_chain_block_free(&d);
    /* every truncation of the part is refused with its reason */
    for (size_t cut = 1; cut <= 405; cut++) {
        JK_CHECK(jk_chain_block_decode(enc, len - cut, &d, &diag) != JK_OK);
        JK_CHECK(diag.msg[0] != 0);
    }
    free(enc);
    fixture_free(&f);
}

/* One decode that must be refused with code and words. */
static void refused(const uint8_t *p, size_t len, jk_err code, const char *words, int line)
{
    jk_chain_block d;
    jk_diag diag = {{0}};
    jk_err err = jk_chain_block_decode(p, len, &d, &diag);
    if (err != code || !strstr(diag.msg, words))
        jk_test_fail(__FILE__, line, "want %s \"%s\", got %s \"%s\"", jk_strerror(code), words,
                     jk_strerror(err), diag.msg);
}

/* A body with no events and no traces, then the part's flag 1: n bytes. */
static size_t ran_prefix(uint8_t *body)
{
    size_t n = put_nat(body, 0);
    n += put_nat(body + n, 0);
    body[n++] = 1;
    return n;
}

JK_TEST(test_chain_block_dispatch_refusals)
{
    JK_REQUIRE(jk_crypto_init() == JK_OK);
    uint8_t body[64];
    size_t n, len;
    uint8_t *p;
    /* the flag: 0 or 1 */
    n = put_nat(body, 0);
    n += put_nat(body + n, 0);
    body[n++] = 2;
    p = raw_block(body, n, &len);
    refused(p, len, JK_ERR_CHAIN_DECODE, "flag 2", __LINE__);
    free(p);
    /* nothing after a 0 flag */
    body[n - 1] = 0;
    body[n++] = 0;
    p = raw_block(body, n, &len);
    refused(p, len, JK_ERR_CHAIN_DECODE, "trailing", __LINE__);
    free(p);
    /* a consumed event to the transact endpoint */
    n = ran_prefix(body);
    n += put_nat(body + n, 1); /* one consumed */
    n += put_nat(body + n, 0); /* endpoint 0 */
    p = raw_block(body, n, &len);
    refused(p, len, JK_ERR_CHAIN_DECODE, "not a dispatch endpoint", __LINE__);
    free(p);
    /* counts over their bounds */
    n = ran_prefix(body);
    n += put_nat(body + n, JK_CHAIN_MAX_CONSUMED + 1);
    p = raw_block(body, n, &len);
    refused(p, len, JK_ERR_CHAIN_TOO_LARGE, "consumed", __LINE__);
    free(p);
    n = ran_prefix(body);
    n += put_nat(body + n, 0);
    n += put_nat(body + n, JK_CHAIN_MAX_PROCESS_TRACES + 1);
    p = raw_block(body, n, &len);
    refused(p, len, JK_ERR_CHAIN_TOO_LARGE, "process traces", __LINE__);
    free(p);
    n = ran_prefix(body);
    n += put_nat(body + n, 0);
    n += put_nat(body + n, 0);
    n += put_nat(body + n, JK_CHAIN_MAX_QUEUED + 1);
    p = raw_block(body, n, &len);
    refused(p, len, JK_ERR_CHAIN_TOO_LARGE, "queued", __LINE__);
    free(p);
    /* an event's traces over the per-event bound, and running past the end */
    n = ran_prefix(body);
    n += put_nat(body + n, 1);
    n += put_nat(body + n, 1);
    n += put_nat(body + n, 0);
    size_t at = n;
    n += put_nat(body + n, JK_CHAIN_MAX_EVENT_TRACES + 1);
    p = raw_block(body, n, &len);
    refused(p, len, JK_ERR_CHAIN_TOO_LARGE, "traces", __LINE__);
    free(p);
    n = at + put_nat(body + at, 3);
    p = raw_block(body, n, &len);
    refused(p, len, JK_ERR_CHAIN_DECODE, "run past the end", __LINE__);
    free(p);
    /* a non-canonical count */
    n = ran_prefix(body);
    body[n++] = 0x80;
    body[n++] = 0x00;
    p = raw_block(body, n, &len);
    refused(p, len, JK_ERR_CHAIN_DECODE, "canonical", __LINE__);
    free(p);
}

JK_TEST(test_chain_block_dispatch_set_refusals)
{
    JK_REQUIRE(jk_crypto_init() == JK_OK);
    static fixture f;
    JK_REQUIRE(fixture_make(&f));
    jk_hash before = f.block.header.body_hash;
    jk_diag diag = {{0}};
    jk_chain_traced_event tx = {{JK_CHAIN_ENDPOINT_TRANSACT, (const uint8_t *)"x", 1}, NULL, 0};
    jk_chain_dispatch_part part = {true, &tx, 1, NULL, 0, NULL, 0, NULL, NULL};
    JK_CHECK_EQ(jk_chain_block_set_dispatch(&f.block, &part, &diag), JK_ERR_INVALID_ARG);
    jk_chain_dispatch_part lists_without_run = {false, &tx, 1, NULL, 0, NULL, 0, NULL, NULL};
    JK_CHECK_EQ(jk_chain_block_set_dispatch(&f.block, &lists_without_run, &diag), JK_ERR_INVALID_ARG);
    /* a part over its 2 MiB: three 1 MiB blobs */
    static uint8_t big[1u << 20];
    jk_chain_traced_event three[3];
    for (int i = 0; i < 3; i++)
        three[i] = (jk_chain_traced_event){{jk_chain_endpoint_dispatch(0), big, sizeof big}, NULL, 0};
    jk_chain_dispatch_part over = {true, three, 3, NULL, 0, NULL, 0, NULL, NULL};
    JK_CHECK_EQ(jk_chain_block_set_dispatch(&f.block, &over, &diag), JK_ERR_CHAIN_TOO_LARGE);
    JK_CHECK(strstr(diag.msg, "2097152") != NULL);
    /* refusals leave the block as it was */
    JK_CHECK_MEM(f.block.header.body_hash.bytes, before.bytes, 32);
    JK_CHECK(!f.block.dispatch.ran);
    fixture_free(&f);
}
