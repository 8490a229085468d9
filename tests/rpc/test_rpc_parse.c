/*
 * test_rpc_parse.c — the request parser (jk_rpc_parse) as the pure function
 * it is: envelopes, ids, notifications, batches, every method's params and
 * every refusal with its JSON-RPC code; and hex.
 */
#include "../test.h"

#include "jark/rpc.h"

#include <stdlib.h>

static jk_rpc_parsed parse(const char *text)
{
    jk_rpc_parsed p;
    if (jk_rpc_parse((const uint8_t *)text, strlen(text), &p) != JK_OK)
        memset(&p, 0, sizeof p);
    return p;
}

/* The code the single request in text is answered with (0 = valid); the
 * body-level code when the body is refused. */
static int code_of(const char *text)
{
    jk_rpc_parsed p = parse(text);
    int code = p.error_code ? p.error_code : (p.count == 1 ? p.requests[0].error_code : 12345);
    jk_rpc_parsed_free(&p);
    return code;
}

#define REQ(method, params) "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"" method "\",\"params\":" params "}"

static const char K64[] = "0101010101010101010101010101010101010101010101010101010101010101";
static const char S128[] =
    "02020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202"
    "020202020202020202020202";

JK_TEST(test_rpc_parse_envelope)
{
    jk_rpc_parsed p = parse("{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"status\"}");
    JK_REQUIRE(p.error_code == 0 && p.count == 1 && !p.batch);
    JK_CHECK_EQ(p.requests[0].error_code, 0);
    JK_CHECK_EQ(p.requests[0].method, JK_RPC_M_STATUS);
    JK_CHECK_EQ(p.requests[0].id.kind, JK_RPC_ID_INT);
    JK_CHECK_EQ(p.requests[0].id.num, 7);
    jk_rpc_parsed_free(&p);

    /* whitespace around the body is fine; params [] and {} mean none */
    JK_CHECK_EQ(code_of(" \n{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"status\",\"params\":[]}\r\n "), 0);
    JK_CHECK_EQ(code_of(REQ("status", "{}")), 0);
    JK_CHECK_EQ(code_of(REQ("status", "[1]")), JK_RPC_INVALID_PARAMS);
    JK_CHECK_EQ(code_of(REQ("status", "{\"x\":1}")), JK_RPC_INVALID_PARAMS);
    JK_CHECK_EQ(code_of(REQ("status", "7")), JK_RPC_INVALID_REQUEST);

    /* the envelope */
    JK_CHECK_EQ(code_of("{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"status\"}"), JK_RPC_INVALID_REQUEST);
    JK_CHECK_EQ(code_of("{\"id\":1,\"method\":\"status\"}"), JK_RPC_INVALID_REQUEST);
    JK_CHECK_EQ(code_of("{\"jsonrpc\":2.0,\"id\":1,\"method\":\"status\"}"), JK_RPC_INVALID_REQUEST);
    JK_CHECK_EQ(code_of("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":5}"), JK_RPC_INVALID_REQUEST);
    JK_CHECK_EQ(code_of("{\"jsonrpc\":\"2.0\",\"id\":1}"), JK_RPC_INVALID_REQUEST);
    JK_CHECK_EQ(code_of("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"status\",\"extra\":1}"), JK_RPC_INVALID_REQUEST);
    JK_CHECK_EQ(code_of(REQ("nosuch", "[]")), JK_RPC_METHOD_NOT_FOUND);
    JK_CHECK_EQ(code_of(REQ("Status", "[]")), JK_RPC_METHOD_NOT_FOUND);
    /* a method name with a NUL inside is not "status" */
    JK_CHECK_EQ(code_of("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"status\\u0000x\"}"), JK_RPC_METHOD_NOT_FOUND);
}

JK_TEST(test_rpc_parse_body_refusals)
{
    JK_CHECK_EQ(code_of(""), JK_RPC_PARSE_ERROR);
    JK_CHECK_EQ(code_of("   "), JK_RPC_PARSE_ERROR);
    JK_CHECK_EQ(code_of("{"), JK_RPC_PARSE_ERROR);
    JK_CHECK_EQ(code_of("{\"jsonrpc\":\"2.0\",}"), JK_RPC_PARSE_ERROR);   /* strict: no trailing comma */
    JK_CHECK_EQ(code_of("{'jsonrpc':'2.0'}"), JK_RPC_PARSE_ERROR);
    JK_CHECK_EQ(code_of(REQ("status", "[]") " {}"), JK_RPC_PARSE_ERROR);  /* trailing value */
    JK_CHECK_EQ(code_of(REQ("status", "[]") "x"), JK_RPC_PARSE_ERROR);
    JK_CHECK_EQ(code_of("{\"jsonrpc\":\"2.0\",\"id\":\"\xff\",\"method\":\"status\"}"), JK_RPC_PARSE_ERROR); /* not UTF-8 */
    JK_CHECK_EQ(code_of("[]"), JK_RPC_INVALID_REQUEST);
    JK_CHECK_EQ(code_of("5"), JK_RPC_INVALID_REQUEST);
    JK_CHECK_EQ(code_of("\"status\""), JK_RPC_INVALID_REQUEST);
    /* a key given twice, at the top or in params: valid JSON, refused as a
     * request, not resolved to the last */
    JK_CHECK_EQ(code_of("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"nosuch\",\"method\":\"status\"}"),
                JK_RPC_INVALID_REQUEST);
    JK_CHECK_EQ(code_of(REQ("block", "{\"height\":1,\"height\":2}")), JK_RPC_INVALID_REQUEST);
    JK_CHECK_EQ(code_of("[" REQ("status", "[]") "," REQ("block", "{\"height\":1,\"height\":2}") "]"),
                JK_RPC_INVALID_REQUEST);
    /* equal keys in different objects are fine */
    jk_rpc_parsed two = parse("[" REQ("status", "[]") "," REQ("status", "[]") "]");
    JK_CHECK(two.error_code == 0 && two.count == 2 && two.requests[0].error_code == 0 &&
             two.requests[1].error_code == 0);
    jk_rpc_parsed_free(&two);
    /* nesting beyond JK_RPC_MAX_DEPTH is a parse error, not a stack overflow */
    char deep[4096];
    size_t n = 0;
    for (int i = 0; i < 1000; i++)
        deep[n++] = '[';
    deep[n] = '\0';
    JK_CHECK_EQ(code_of(deep), JK_RPC_PARSE_ERROR);
    /* a NUL byte in the middle of the body */
    jk_rpc_parsed p;
    static const uint8_t nul[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"status\"}\0{}";
    JK_REQUIRE(jk_rpc_parse(nul, sizeof nul - 1, &p) == JK_OK);
    JK_CHECK_EQ(p.error_code, JK_RPC_PARSE_ERROR);
    jk_rpc_parsed_free(&p);
}

JK_TEST(test_rpc_parse_ids_and_notifications)
{
    jk_rpc_parsed p = parse("{\"jsonrpc\":\"2.0\",\"id\":\"abc\",\"method\":\"pool\"}");
    JK_REQUIRE(p.count == 1);
    JK_CHECK_EQ(p.requests[0].id.kind, JK_RPC_ID_STRING);
    JK_CHECK(p.requests[0].id.str_len == 3 && !strcmp(p.requests[0].id.str, "abc"));
    jk_rpc_parsed_free(&p);

    p = parse("{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"pool\"}");
    JK_CHECK(p.count == 1 && p.requests[0].id.kind == JK_RPC_ID_NULL && p.requests[0].error_code == 0);
    jk_rpc_parsed_free(&p);

    p = parse("{\"jsonrpc\":\"2.0\",\"id\":-9223372036854775807,\"method\":\"pool\"}");
    JK_CHECK(p.count == 1 && p.requests[0].id.kind == JK_RPC_ID_INT && p.requests[0].id.num == INT64_MIN + 1);
    jk_rpc_parsed_free(&p);

    /* fractional, out-of-range, structured ids are refused, answered with id null */
    /* json-c clamps integers beyond int64 to its ends, so the ends themselves are refused */
    static const char *bad[] = {"1.5", "1e3", "18446744073709551615", "9223372036854775808",
                                "-9223372036854775808", "-99999999999999999999", "[1]", "{}", "true"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[128];
        snprintf(text, sizeof text, "{\"jsonrpc\":\"2.0\",\"id\":%s,\"method\":\"pool\"}", bad[i]);
        p = parse(text);
        JK_CHECK(p.count == 1 && p.requests[0].error_code == JK_RPC_INVALID_REQUEST);
        JK_CHECK(p.count == 1 && p.requests[0].id.kind == JK_RPC_ID_NULL);
        jk_rpc_parsed_free(&p);
    }
    char longid[400] = "{\"jsonrpc\":\"2.0\",\"method\":\"pool\",\"id\":\"";
    size_t n = strlen(longid);
    memset(longid + n, 'x', JK_RPC_MAX_ID + 1);
    strcpy(longid + n + JK_RPC_MAX_ID + 1, "\"}");
    JK_CHECK_EQ(code_of(longid), JK_RPC_INVALID_REQUEST);

    /* a notification keeps id ABSENT even when its method is unknown (no
     * answer); a malformed request without id is answered with id null */
    p = parse("{\"jsonrpc\":\"2.0\",\"method\":\"nosuch\"}");
    JK_CHECK(p.count == 1 && p.requests[0].id.kind == JK_RPC_ID_ABSENT);
    JK_CHECK_EQ(p.requests[0].error_code, JK_RPC_METHOD_NOT_FOUND);
    jk_rpc_parsed_free(&p);
    p = parse("{\"jsonrpc\":\"1.0\",\"method\":\"status\"}");
    JK_CHECK(p.count == 1 && p.requests[0].id.kind == JK_RPC_ID_NULL);
    jk_rpc_parsed_free(&p);
}

JK_TEST(test_rpc_parse_batches)
{
    jk_rpc_parsed p = parse("[" REQ("status", "[]") ", 5, {\"jsonrpc\":\"2.0\",\"method\":\"pool\"}," REQ("x", "[]") "]");
    JK_REQUIRE(p.error_code == 0 && p.batch && p.count == 4);
    JK_CHECK_EQ(p.requests[0].error_code, 0);
    JK_CHECK_EQ(p.requests[1].error_code, JK_RPC_INVALID_REQUEST);
    JK_CHECK_EQ(p.requests[1].id.kind, JK_RPC_ID_NULL);
    JK_CHECK_EQ(p.requests[2].id.kind, JK_RPC_ID_ABSENT);
    JK_CHECK_EQ(p.requests[3].error_code, JK_RPC_METHOD_NOT_FOUND);
    jk_rpc_parsed_free(&p);

    /* JK_RPC_MAX_BATCH requests pass, one more is refused as a whole */
    size_t cap = (JK_RPC_MAX_BATCH + 1) * 64 + 16, n = 0;
    char *text = malloc(cap);
    JK_REQUIRE(text);
    for (unsigned count = JK_RPC_MAX_BATCH; count <= JK_RPC_MAX_BATCH + 1; count++) {
        n = 0;
        text[n++] = '[';
        for (unsigned i = 0; i < count; i++)
            n += (size_t)snprintf(text + n, cap - n, "%s{\"jsonrpc\":\"2.0\",\"id\":%u,\"method\":\"status\"}",
                                  i ? "," : "", i);
        text[n++] = ']';
        text[n] = '\0';
        p = parse(text);
        if (count == JK_RPC_MAX_BATCH)
            JK_CHECK(p.error_code == 0 && p.count == JK_RPC_MAX_BATCH);
        else
            JK_CHECK(p.error_code == JK_RPC_INVALID_REQUEST && p.count == 0);
        jk_rpc_parsed_free(&p);
    }
    free(text);
}

JK_TEST(test_rpc_parse_submit_event)
{
    char text[1024];
    snprintf(text, sizeof text,
             REQ("submit_event", "{\"endpoint\":\"dispatch:12\",\"blob\":\"00FFab\",\"traces\":[[\"%s\",\"%s\",\"%s\"]]}"),
             K64, K64, S128);
    jk_rpc_parsed p = parse(text);
    JK_REQUIRE(p.count == 1 && p.requests[0].error_code == 0);
    const jk_rpc_event *ev = &p.requests[0].params.submit;
    JK_CHECK_EQ(ev->endpoint, jk_chain_endpoint_dispatch(12));
    JK_CHECK(ev->blob_len == 3 && ev->blob[0] == 0 && ev->blob[1] == 0xFF && ev->blob[2] == 0xAB);
    JK_REQUIRE(ev->trace_count == 1);
    JK_CHECK(ev->traces[0].key[0] == 1 && ev->traces[0].msg_hash.bytes[31] == 1 && ev->traces[0].sig[63] == 2);
    jk_rpc_parsed_free(&p);

    /* positional, no traces, an empty blob */
    p = parse(REQ("submit_event", "[\"transact\",\"\"]"));
    JK_REQUIRE(p.count == 1 && p.requests[0].error_code == 0);
    JK_CHECK(p.requests[0].params.submit.endpoint == JK_CHAIN_ENDPOINT_TRANSACT);
    JK_CHECK(p.requests[0].params.submit.blob_len == 0 && p.requests[0].params.submit.blob != NULL);
    jk_rpc_parsed_free(&p);

    static const char *bad[] = {
        "{\"endpoint\":\"transact\"}",                             /* no blob */
        "{\"blob\":\"00\"}",                                      /* no endpoint */
        "{\"endpoint\":\"dispatch:256\",\"blob\":\"00\"}",        /* k out of range */
        "{\"endpoint\":\"dispatch:01\",\"blob\":\"00\"}",         /* not the one spelling */
        "{\"endpoint\":\"dispatch:\",\"blob\":\"00\"}",
        "{\"endpoint\":\"dispatch:-1\",\"blob\":\"00\"}",
        "{\"endpoint\":0,\"blob\":\"00\"}",
        "{\"endpoint\":\"transact\",\"blob\":\"0\"}",             /* odd hex */
        "{\"endpoint\":\"transact\",\"blob\":\"0g\"}",
        "{\"endpoint\":\"transact\",\"blob\":\"0x00\"}",
        "{\"endpoint\":\"transact\",\"blob\":[0]}",
        "{\"endpoint\":\"transact\",\"blob\":\"00\",\"traces\":{}}",
        "{\"endpoint\":\"transact\",\"blob\":\"00\",\"traces\":[[\"00\",\"00\",\"00\"]]}",
        "{\"endpoint\":\"transact\",\"blob\":\"00\",\"traces\":[\"00\"]}",
        "{\"endpoint\":\"transact\",\"blob\":\"00\",\"trace\":[]}",  /* misspelt */
        "[\"transact\",\"00\",[],1]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(text, sizeof text, REQ("submit_event", "%s"), bad[i]);
        int code = code_of(text);
        if (code != JK_RPC_INVALID_PARAMS)
            jk_test_fail(__FILE__, __LINE__, "params %s answered %d", bad[i], code);
    }
    /* a trace with a key one digit short */
    snprintf(text, sizeof text, REQ("submit_event", "[\"transact\",\"00\",[[\"%.63s\",\"%s\",\"%s\"]]]"), K64, K64, S128);
    JK_CHECK_EQ(code_of(text), JK_RPC_INVALID_PARAMS);
    /* JK_RPC_MAX_TRACES + 1 traces */
    size_t cap = (JK_RPC_MAX_TRACES + 2) * 300, n;
    char *big = malloc(cap);
    JK_REQUIRE(big);
    n = (size_t)snprintf(big, cap, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"submit_event\",\"params\":[\"transact\",\"00\",[");
    for (unsigned i = 0; i <= JK_RPC_MAX_TRACES; i++)
        n += (size_t)snprintf(big + n, cap - n, "%s[\"%s\",\"%s\",\"%s\"]", i ? "," : "", K64, K64, S128);
    snprintf(big + n, cap - n, "]]}");
    JK_CHECK_EQ(code_of(big), JK_RPC_INVALID_PARAMS);
    free(big);
}

JK_TEST(test_rpc_parse_block_slot_pool)
{
    jk_rpc_parsed p = parse(REQ("block", "{\"height\":18446744073709551614}"));
    JK_REQUIRE(p.count == 1 && p.requests[0].error_code == 0);
    JK_CHECK(!p.requests[0].params.block.by_hash && p.requests[0].params.block.height == UINT64_MAX - 1);
    jk_rpc_parsed_free(&p);
    char text[512];
    snprintf(text, sizeof text, REQ("block", "[\"%s\"]"), K64);
    p = parse(text);
    JK_REQUIRE(p.count == 1 && p.requests[0].error_code == 0);
    JK_CHECK(p.requests[0].params.block.by_hash && p.requests[0].params.block.hash.bytes[0] == 1);
    jk_rpc_parsed_free(&p);
    p = parse(REQ("block", "[3]"));
    JK_CHECK(p.count == 1 && p.requests[0].error_code == 0 && p.requests[0].params.block.height == 3);
    jk_rpc_parsed_free(&p);
    static const char *bad_block[] = {"{}", "[]", "[-1]", "[1.0]", "[\"12\"]", "{\"height\":\"1\"}",
                                      "{\"height\":18446744073709551616}", "{\"height\":18446744073709551615}", "[1,2]"};
    for (size_t i = 0; i < sizeof bad_block / sizeof bad_block[0]; i++) {
        snprintf(text, sizeof text, REQ("block", "%s"), bad_block[i]);
        JK_CHECK_EQ(code_of(text), JK_RPC_INVALID_PARAMS);
    }
    snprintf(text, sizeof text, REQ("block", "{\"height\":1,\"hash\":\"%s\"}"), K64);
    JK_CHECK_EQ(code_of(text), JK_RPC_INVALID_PARAMS);

    p = parse(REQ("state_slot", "{\"path\":[20,65535,0]}"));
    JK_REQUIRE(p.count == 1 && p.requests[0].error_code == 0);
    JK_CHECK(p.requests[0].params.slot.depth == 3 && p.requests[0].params.slot.path[1] == 65535);
    jk_rpc_parsed_free(&p);
    static const char *bad_slot[] = {"[]", "[[]]", "[[65536]]", "[[-1]]", "[[1,2,3,4,5,6,7,8,9]]", "[\"20\"]",
                                     "{\"path\":[1.5]}"};
    for (size_t i = 0; i < sizeof bad_slot / sizeof bad_slot[0]; i++) {
        snprintf(text, sizeof text, REQ("state_slot", "%s"), bad_slot[i]);
        JK_CHECK_EQ(code_of(text), JK_RPC_INVALID_PARAMS);
    }

    p = parse("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"pool\"}");
    JK_CHECK(p.count == 1 && p.requests[0].params.pool.limit == JK_RPC_DEFAULT_POOL &&
             p.requests[0].params.pool.offset == 0);
    jk_rpc_parsed_free(&p);
    p = parse(REQ("pool", "[1000, 4294967295]"));
    JK_CHECK(p.count == 1 && p.requests[0].params.pool.limit == 1000 &&
             p.requests[0].params.pool.offset == UINT32_MAX);
    jk_rpc_parsed_free(&p);
    JK_CHECK_EQ(code_of(REQ("pool", "[1001]")), JK_RPC_INVALID_PARAMS);
    JK_CHECK_EQ(code_of(REQ("pool", "[0]")), JK_RPC_INVALID_PARAMS);
    JK_CHECK_EQ(code_of(REQ("pool", "{\"offset\":4294967296}")), JK_RPC_INVALID_PARAMS);
}

JK_TEST(test_rpc_hex)
{
    uint8_t out[4];
    size_t n = 99;
    JK_CHECK(jk_rpc_hex_decode("", 0, out, 4, &n, NULL) == JK_OK && n == 0);
    JK_CHECK(jk_rpc_hex_decode("0aFf", 4, out, 4, &n, NULL) == JK_OK && n == 2 && out[0] == 0x0a && out[1] == 0xff);
    jk_diag d = {{0}};
    JK_CHECK(jk_rpc_hex_decode("abc", 3, out, 4, &n, &d) == JK_ERR_PARSE && strstr(d.msg, "odd"));
    JK_CHECK(jk_rpc_hex_decode("zz", 2, out, 4, &n, NULL) == JK_ERR_PARSE);
    JK_CHECK(jk_rpc_hex_decode("0000000000", 10, out, 4, &n, NULL) == JK_ERR_PARSE);
    char text[9];
    static const uint8_t b[4] = {0, 0x1f, 0xa0, 0xff};
    jk_rpc_hex_encode(b, 4, text);
    JK_CHECK(!strcmp(text, "001fa0ff"));
}

/* The one-digit-at-a-time decoder the eight-at-a-time one must equal
 * (session 11: src/rpc/request.c jk_hex_word): the bytes, or the offset of
 * the first byte that is not a hex digit. */
static long hex_model(const char *hex, size_t len, uint8_t *out)
{
    for (size_t i = 0; i < len; i++) {
        char c = hex[i];
        int v = c >= '0' && c <= '9' ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (v < 0)
            return (long)i;
        out[i / 2] = (uint8_t)(i % 2 ? (out[i / 2] & 0xf0) | v : v << 4);
    }
    return -1;
}

/* Every byte value at every position of hex strings 2..40 digits long
 * (each lane of each eight-digit word, and the tail), on valid strings of
 * every digit: the same bytes, or the same refusal naming the same offset. */
JK_TEST(test_rpc_hex_decode_wide_equals_bytewise)
{
    static const char digits[] = "0123456789abcdefABCDEF";
    char hex[41], msg[64];
    uint8_t got[20], want[20];
    size_t n, mismatches = 0, checked = 0;
    for (size_t len = 2; len <= 40; len += 2)
        for (size_t at = 0; at < len; at++)
            for (int b = 0; b < 256; b++) {
                for (size_t i = 0; i < len; i++)
                    hex[i] = digits[(i * 7 + len + (size_t)b) % 22];
                hex[at] = (char)b;
                jk_diag d = {{0}};
                jk_err err = jk_rpc_hex_decode(hex, len, got, sizeof got, &n, &d);
                long bad = hex_model(hex, len, want);
                checked++;
                if (bad < 0)
                    mismatches += err != JK_OK || n != len / 2 || memcmp(got, want, n) != 0;
                else {
                    snprintf(msg, sizeof msg, "not a hex digit at offset %ld", bad);
                    mismatches += err != JK_ERR_PARSE || strcmp(d.msg, msg) != 0;
                }
            }
    JK_CHECK_EQ(mismatches, 0);
    JK_CHECK(checked > 100000);
}

/* The pair table (session 11) against printf, for every byte value. */
JK_TEST(test_rpc_hex_encode_every_byte)
{
    uint8_t all[256], back[256];
    char text[513], want[513];
    for (int i = 0; i < 256; i++) {
        all[i] = (uint8_t)(255 - i);
        snprintf(want + 2 * i, 3, "%02x", 255 - i);
    }
    memset(text, 'x', sizeof text);
    jk_rpc_hex_encode(all, 256, text);
    JK_CHECK(!strcmp(text, want));
    size_t n;
    JK_CHECK(jk_rpc_hex_decode(text, 512, back, sizeof back, &n, NULL) == JK_OK && n == 256 &&
             !memcmp(back, all, 256));
}
