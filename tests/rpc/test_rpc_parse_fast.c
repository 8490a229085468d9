/*
 * test_rpc_parse_fast.c — the request parser's fast path
 * (src/rpc/request_fast.c): it takes the bulk submit_event shape and fills
 * exactly what the json-c path fills; anything off the shape it leaves to
 * json-c, whose answer stands (docs/rpc.md "The fast path").
 */
#include "../test.h"

#include "../../src/rpc/internal.h"

#include <stdio.h>
#include <stdlib.h>

static const char K64[] = "0101010101010101010101010101010101010101010101010101010101010101";
static const char H64[] = "a0B1c2D3e4F5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9aAbB";
static const char S128[] =
    "02020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202"
    "020202020202020202020202";

/* One request of the workload's shape (src/devnet/testnet_workload.c). */
static int req(char *out, size_t cap, const char *id, const char *blob, int traces)
{
    int n = snprintf(out, cap,
                     "{\"jsonrpc\":\"2.0\",\"id\":%s,\"method\":\"submit_event\",\"params\":[\"transact\",\"%s\",[",
                     id, blob);
    for (int t = 0; t < traces; t++)
        n += snprintf(out + n, cap - (size_t)n, "%s[\"%s\",\"%s\",\"%s\"]", t ? "," : "", K64, H64, S128);
    n += snprintf(out + n, cap - (size_t)n, "]]}");
    return n;
}

/* JK_REQUIRE for a function that returns a bool */
#define NEED(cond)          \
    do {                    \
        if (!(cond)) {      \
            JK_CHECK(cond); \
            return false;   \
        }                   \
    } while (0)

/* Both paths agree on text; returns whether the fast path took it. */
static bool same(const char *text)
{
    size_t len = strlen(text);
    jk_rpc_parsed f, j;
    bool took = jk_rpc_parse_fast((const uint8_t *)text, len, &f);
    NEED(jk_rpc_parse_json((const uint8_t *)text, len, &j) == JK_OK);
    if (took) {
        JK_CHECK_EQ(f.batch, j.batch);
        JK_CHECK_EQ(f.count, j.count);
        JK_CHECK_EQ(j.error_code, 0);
        for (size_t i = 0; i < f.count && i < j.count; i++) {
            const jk_rpc_request *a = &f.requests[i], *b = &j.requests[i];
            JK_CHECK_EQ(b->error_code, 0);
            JK_CHECK_EQ(a->method, b->method);
            JK_CHECK_EQ(a->id.kind, b->id.kind);
            JK_CHECK_EQ(a->id.num, b->id.num);
            JK_CHECK_EQ(a->params.submit.endpoint, b->params.submit.endpoint);
            NEED(a->params.submit.blob_len == b->params.submit.blob_len);
            JK_CHECK(!memcmp(a->params.submit.blob, b->params.submit.blob, a->params.submit.blob_len));
            NEED(a->params.submit.trace_count == b->params.submit.trace_count);
            JK_CHECK(a->params.submit.trace_count == 0 ||
                     !memcmp(a->params.submit.traces, b->params.submit.traces,
                             a->params.submit.trace_count * sizeof(jk_chain_trace)));
        }
        jk_rpc_parsed_free(&f);
    }
    /* jk_rpc_parse answers what the json-c path answers, either way */
    jk_rpc_parsed p;
    NEED(jk_rpc_parse((const uint8_t *)text, len, &p) == JK_OK);
    JK_CHECK_EQ(p.error_code, j.error_code);
    JK_CHECK_EQ(p.count, j.count);
    for (size_t i = 0; i < p.count && i < j.count; i++)
        JK_CHECK_EQ(p.requests[i].error_code, j.requests[i].error_code);
    jk_rpc_parsed_free(&p);
    jk_rpc_parsed_free(&j);
    return took;
}

JK_TEST(test_rpc_parse_fast_takes_the_workload_shape)
{
    static char body[64 * 1200];
    char one[1200];
    /* a single request, then a full batch of 64 */
    req(one, sizeof one, "7", "00112233aabbccddeeff", 1);
    JK_CHECK(same(one));
    size_t len = 0;
    body[len++] = '[';
    for (int i = 0; i < 64; i++) {
        char id[24];
        snprintf(id, sizeof id, "%d", i * 1000003);
        len += (size_t)snprintf(body + len, sizeof body - len, "%s", i ? "," : "");
        len += (size_t)req(body + len, sizeof body - len, id, "0a0b0c", 1 + i % 3);
    }
    body[len++] = ']';
    body[len] = '\0';
    JK_CHECK(same(body));
    jk_rpc_parsed p;
    JK_REQUIRE(jk_rpc_parse_fast((const uint8_t *)body, len, &p));
    JK_CHECK(p.batch);
    JK_CHECK_EQ(p.count, 64u);
    JK_CHECK_EQ(p.requests[63].id.num, 63 * 1000003);
    JK_CHECK_EQ(p.requests[2].params.submit.trace_count, 3u);
    JK_CHECK_EQ(p.requests[2].params.submit.traces[2].sig[0], 0x02);
    JK_CHECK_EQ(p.requests[1].params.submit.traces[0].msg_hash.bytes[1], 0xB1);
    jk_rpc_parsed_free(&p);
    /* no traces; whitespace around the body */
    req(one, sizeof one, "0", "ff", 0);
    JK_CHECK(same(one));
    char spaced[1300];
    snprintf(spaced, sizeof spaced, " \r\n[%s]\t\n", one);
    JK_CHECK(same(spaced));
}

JK_TEST(test_rpc_parse_fast_leaves_the_rest_to_json_c)
{
    char one[1200], text[1400];
    /* valid requests off the shape: json-c's, accepted there */
    req(one, sizeof one, "7", "0011", 1);
    snprintf(text, sizeof text, "[ %s]", one);
    JK_CHECK(!same(text));
    JK_CHECK(!same("{\"jsonrpc\":\"2.0\",\"method\":\"submit_event\",\"id\":1,\"params\":[\"transact\",\"00\",[]]}"));
    JK_CHECK(!same("{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"method\":\"submit_event\",\"params\":[\"transact\",\"00\",[]]}"));
    JK_CHECK(!same("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"submit_event\",\"params\":[\"dispatch:3\",\"00\",[]]}"));
    JK_CHECK(!same("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"submit_event\",\"params\":[\"transact\",\"00\"]}"));
    JK_CHECK(!same("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"submit_event\",\"params\":[\"transact\",\"\",[]]}"));
    req(one, sizeof one, "1234567890123456789", "00", 0); /* 19 digits: int64, json-c's */
    JK_CHECK(!same(one));
    req(one, sizeof one, "-1", "00", 0);
    JK_CHECK(!same(one));
    JK_CHECK(!same("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"status\"}"));
    /* refusals stay json-c's, with its codes */
    req(one, sizeof one, "01", "00", 0);   /* a leading zero: not JSON */
    JK_CHECK(!same(one));
    req(one, sizeof one, "1", "001", 0);   /* odd hex */
    JK_CHECK(!same(one));
    req(one, sizeof one, "1", "0g", 0);
    JK_CHECK(!same(one));
    req(one, sizeof one, "1", "00", 1);
    one[strlen(one) - 2] = '\0';           /* truncated */
    JK_CHECK(!same(one));
    req(one, sizeof one, "1", "00", 1);
    snprintf(text, sizeof text, "%s,", one); /* trailing bytes */
    JK_CHECK(!same(text));
    snprintf(text, sizeof text, "[%s,]", one);
    JK_CHECK(!same(text));
    JK_CHECK(!same("[]"));
    /* no body at all (NULL, 0): not the fast path's, json-c's parse error */
    jk_rpc_parsed none;
    JK_CHECK(!jk_rpc_parse_fast(NULL, 0, &none));
    JK_REQUIRE(jk_rpc_parse(NULL, 0, &none) == JK_OK);
    JK_CHECK_EQ(none.error_code, JK_RPC_PARSE_ERROR);
    jk_rpc_parsed_free(&none);
    /* 65 traces, and a batch of 65: over the bounds */
    static char big[70 * 1200];
    int n = snprintf(big, sizeof big,
                     "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"submit_event\",\"params\":[\"transact\",\"00\",[");
    for (int t = 0; t < 65; t++)
        n += snprintf(big + n, sizeof big - (size_t)n, "%s[\"%s\",\"%s\",\"%s\"]", t ? "," : "", K64, K64, S128);
    snprintf(big + n, sizeof big - (size_t)n, "]]}");
    JK_CHECK(!same(big));
    size_t len = 0;
    big[len++] = '[';
    for (int i = 0; i < 65; i++) {
        len += (size_t)snprintf(big + len, sizeof big - len, "%s", i ? "," : "");
        len += (size_t)req(big + len, sizeof big - len, "5", "00", 0);
    }
    big[len++] = ']';
    big[len] = '\0';
    JK_CHECK(!same(big));
    /* a trace's field of the wrong length */
    snprintf(one, sizeof one,
             "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"submit_event\",\"params\":[\"transact\",\"00\",[[\"%s\",\"%s\",\"%s\"]]]}",
             K64, K64, K64);
    JK_CHECK(!same(one));
}
