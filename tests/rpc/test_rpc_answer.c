/*
 * test_rpc_answer.c — jk_rpc_answer without HTTP: the exact bytes of
 * answers, and what a provider that fails or lies is answered with (the
 * server checks what the node hands it before showing it).
 */
#include "../test.h"
#include "../../src/rpc/internal.h"
#include "rpc_fake.h"

#include <json-c/json.h>

#include <stdlib.h>

/* The answer to body from provider p, as a string ("" for no answer). */
static char *answer(const jk_rpc_provider *p, const char *body)
{
    jk_rpc_parsed parsed;
    if (jk_rpc_parse((const uint8_t *)body, strlen(body), &parsed) != JK_OK)
        return NULL;
    char *out = NULL;
    size_t len = 0;
    jk_err err = jk_rpc_answer(p, &parsed, &out, &len);
    jk_rpc_parsed_free(&parsed);
    if (err != JK_OK)
        return NULL;
    if (!out)
        out = strdup("");
    else if (strlen(out) != len) {
        free(out);
        return NULL;
    }
    return out;
}

#define CHECK_ANSWER(p, body, expect)                                                                  \
    do {                                                                                               \
        char *got_ = answer((p), (body));                                                              \
        if (!got_ || strcmp(got_, (expect)))                                                           \
            jk_test_fail(__FILE__, __LINE__, "%s\n  got    %s\n  expect %s", (body), got_ ? got_ : "(null)", \
                         (expect));                                                                    \
        free(got_);                                                                                    \
    } while (0)

JK_TEST(test_rpc_answer_bytes)
{
    fake_node f;
    JK_REQUIRE(fake_node_init(&f));
    jk_rpc_provider p = fake_provider(&f);
    char expect[1024], head[65];
    jk_rpc_hex_encode(f.hashes[FAKE_BLOCKS - 1].bytes, 32, head);
    snprintf(expect, sizeof expect,
             "{\"jsonrpc\":\"2.0\",\"result\":{\"height\":3,\"head_hash\":\"%s\",\"round\":2,\"peers\":5,"
             "\"syncing\":false,\"pool_size\":0,\"max_peer_height\":0,\"evidence\":0,\"validator_index\":1},\"id\":\"a/b\"}",
             head);
    /* a string id comes back as it was, '/' unescaped */
    CHECK_ANSWER(&p, "{\"jsonrpc\":\"2.0\",\"id\":\"a/b\",\"method\":\"status\"}", expect);
    CHECK_ANSWER(&p, "{\"jsonrpc\":\"2.0\",\"id\":-5,\"method\":\"nosuch\"}",
                 "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32601,\"message\":\"Method not found\","
                 "\"data\":\"no method 'nosuch'\"},\"id\":-5}");
    CHECK_ANSWER(&p, "[1]",
                 "[{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32600,\"message\":\"Invalid Request\","
                 "\"data\":\"a request must be an object\"},\"id\":null}]");
    CHECK_ANSWER(&p, "{\"jsonrpc\":\"2.0\",\"method\":\"status\"}", "");
    CHECK_ANSWER(&p, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"submit_event\",\"params\":[\"dispatch:0\",\"\"]}",
                 "{\"jsonrpc\":\"2.0\",\"result\":{\"admitted\":false,\"reason\":\"empty blob\"},\"id\":1}");
    CHECK_ANSWER(&p, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"submit_event\",\"params\":[\"dispatch:0\",\"61\"]}",
                 "{\"jsonrpc\":\"2.0\",\"result\":{\"admitted\":true,\"event_hash\":"
                 "\"8928aae63c84d87ea098564d1e03ad813f107add474e56aedd286349c0c03ea4\"},\"id\":1}");   /* H("a") */
    CHECK_ANSWER(&p, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"pool\"}",
                 "{\"jsonrpc\":\"2.0\",\"result\":{\"total\":1,\"offset\":0,\"events\":[{\"endpoint\":\"dispatch:0\","
                 "\"blob\":\"61\",\"traces\":[]}]},\"id\":2}");
    fake_node_free(&f);
}

/* A batch's admitted submit_event answers with integer ids are written
 * without json-c (answer.c, jk_text_admitted): the same bytes json-c writes,
 * next to the others it still writes, joined as json-c joins an array. */
JK_TEST(test_rpc_answer_admitted_written_directly)
{
    fake_node f;
    JK_REQUIRE(fake_node_init(&f));
    jk_rpc_provider p = fake_provider(&f);
    static const char h61[] = "8928aae63c84d87ea098564d1e03ad813f107add474e56aedd286349c0c03ea4"; /* H("a") */
    char expect[2048];
    snprintf(expect, sizeof expect,
             "[{\"jsonrpc\":\"2.0\",\"result\":{\"admitted\":true,\"event_hash\":\"%s\"},\"id\":9223372036854775806},"
             "{\"jsonrpc\":\"2.0\",\"result\":{\"admitted\":true,\"event_hash\":\"%s\"},\"id\":\"x\"},"
             "{\"jsonrpc\":\"2.0\",\"result\":{\"admitted\":false,\"reason\":\"verify refused the event\"},\"id\":-3},"
             "{\"jsonrpc\":\"2.0\",\"result\":{\"admitted\":true,\"event_hash\":\"%s\"},\"id\":-9223372036854775807},"
             "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32602,\"message\":\"Invalid params\","
             "\"data\":\"blob: odd number of hex digits (1)\"},\"id\":0}]",
             h61, h61, h61);
    CHECK_ANSWER(&p,
                 "[{\"jsonrpc\":\"2.0\",\"id\":9223372036854775806,\"method\":\"submit_event\",\"params\":[\"transact\",\"61\"]},"
                 "{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"method\":\"submit_event\",\"params\":[\"transact\",\"61\"]},"
                 "{\"jsonrpc\":\"2.0\",\"method\":\"submit_event\",\"params\":[\"transact\",\"61\"]},"
                 "{\"jsonrpc\":\"2.0\",\"id\":-3,\"method\":\"submit_event\",\"params\":[\"transact\",\"ff\"]},"
                 "{\"jsonrpc\":\"2.0\",\"id\":-9223372036854775807,\"method\":\"submit_event\",\"params\":[\"transact\",\"61\"]},"
                 "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"submit_event\",\"params\":[\"transact\",\"6\"]}]",
                 expect);
    /* the notification ran too: four admitted in all */
    JK_CHECK_EQ(f.pool_count, 4u);
    /* only notifications: no answer, but they ran */
    CHECK_ANSWER(&p, "[{\"jsonrpc\":\"2.0\",\"method\":\"submit_event\",\"params\":[\"transact\",\"62\"]}]", "");
    JK_CHECK_EQ(f.pool_count, 5u);
    fake_node_free(&f);
}

/* ---- providers that fail or lie ---- */

typedef struct liar {
    fake_node *f;
    int mode;
} liar;

static jk_err liar_block(void *ctx, const jk_rpc_block_query *q, jk_rpc_buf *block, jk_rpc_buf *cert,
                         jk_diag *diag)
{
    liar *l = ctx;
    (void)q;
    (void)cert;
    switch (l->mode) {
    case 0: return jk_rpc_buf_set(block, "garbage", 7);                                /* does not decode */
    case 1: return jk_rpc_buf_set(block, l->f->blocks[0], l->f->block_lens[0]);        /* another block */
    case 2: return jk_diag_set(diag, JK_ERR_IO, "disk on fire");
    case 3: return JK_ERR_CAP_MISSING;                                                 /* empty diag */
    default: return jk_diag_set(diag, JK_ERR_RPC_UNAVAILABLE, "syncing");
    }
}

static jk_err liar_slot(void *ctx, const uint32_t *path, size_t depth, jk_rpc_slot_value *out, jk_diag *diag)
{
    (void)ctx;
    (void)path;
    (void)depth;
    (void)diag;
    out->kind = (jk_rpc_slot_kind)99;
    return JK_OK;
}

/* A provider that ignores the pool limit: the answer stays bounded. */
static jk_err liar_pool(void *ctx, uint32_t offset, jk_rpc_pool_sink *sink, uint64_t *total, jk_diag *diag)
{
    (void)ctx;
    (void)offset;
    (void)diag;
    static const uint8_t blob[1] = {9};
    jk_rpc_pool_entry e = {JK_CHAIN_ENDPOINT_TRANSACT, blob, 1, NULL, 0};
    unsigned refused = 0;
    for (int i = 0; i < 10; i++)
        refused += jk_rpc_pool_add(sink, &e) == JK_ERR_CAP_RANGE;
    *total = 10;
    return refused == 8 ? JK_OK : JK_ERR_INVALID_ARG;   /* limit 2: eight refused */
}

JK_TEST(test_rpc_answer_provider_failures)
{
    fake_node f;
    JK_REQUIRE(fake_node_init(&f));
    liar l = {&f, 0};
    jk_rpc_provider p = {&l, NULL, NULL, liar_block, liar_slot, liar_pool};
    static const char block2[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"block\",\"params\":[2]}";
    static const char *expect[] = {
        "\"code\":-32603,\"message\":\"Internal error\",\"data\":\"the node's block does not decode: ",
        ("{\"code\":-32603,\"message\":\"Internal error\",\"data\":\"the node answered with another block than "
         "the one asked for\"}"),
        "{\"code\":-32603,\"message\":\"Internal error\",\"data\":\"disk on fire\"}",
        "{\"code\":-32001,\"message\":\"Not found\",\"data\":\"object not in the store\"}",
        "{\"code\":-32002,\"message\":\"Unavailable\",\"data\":\"syncing\"}",
    };
    for (l.mode = 0; l.mode < 5; l.mode++) {
        char *got = answer(&p, block2);
        if (!got || !strstr(got, expect[l.mode]))
            jk_test_fail(__FILE__, __LINE__, "mode %d: %s", l.mode, got ? got : "(null)");
        free(got);
    }
    char *got = answer(&p, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"state_slot\",\"params\":[[1]]}");
    JK_CHECK(got && strstr(got, "\"data\":\"the node answered with an unknown cap kind\"") != NULL);
    free(got);
    got = answer(&p, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"pool\",\"params\":[2]}");
    JK_CHECK(got && !strcmp(got, "{\"jsonrpc\":\"2.0\",\"result\":{\"total\":10,\"offset\":0,\"events\":["
                                 "{\"endpoint\":\"transact\",\"blob\":\"09\",\"traces\":[]},"
                                 "{\"endpoint\":\"transact\",\"blob\":\"09\",\"traces\":[]}]},\"id\":1}"));
    free(got);
    /* methods whose provider function is NULL */
    got = answer(&p, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"status\"}");
    JK_CHECK(got && strstr(got, "\"code\":-32601") != NULL);
    free(got);
    fake_node_free(&f);
}

/* One answer carries at most a budget of hex bytes, however many requests
 * the batch has: past it a block or value is -32003 and the pool stops. */
JK_TEST(test_rpc_answer_budget)
{
    fake_node f;
    JK_REQUIRE(fake_node_init(&f));
    jk_rpc_provider p = fake_provider(&f);
    static const char body[] = "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"state_slot\",\"params\":[[20,0]]},"
                               "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"state_slot\",\"params\":[[20,1]]},"
                               "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"block\",\"params\":[1]}]";
    jk_rpc_parsed parsed;
    JK_REQUIRE(jk_rpc_parse((const uint8_t *)body, sizeof body - 1, &parsed) == JK_OK);
    /* "slot-0" is 12 hex digits: a budget of 20 holds the first value only */
    char *out = NULL;
    size_t len;
    JK_REQUIRE(jk_rpc_answer_bounded(&p, &parsed, 20, &out, &len) == JK_OK && out);
    JK_CHECK(strstr(out, "\"value\":\"736c6f742d30\"") != NULL);
    JK_CHECK(strstr(out, "{\"code\":-32003,\"message\":\"Too large\",\"data\":\"the value is over the answer's bound\"},\"id\":2}") != NULL);
    JK_CHECK(strstr(out, "\"data\":\"the block and its certificate are over the answer's bound\"},\"id\":3}") != NULL);
    free(out);
    /* the default budget holds all three */
    JK_REQUIRE(jk_rpc_answer(&p, &parsed, &out, &len) == JK_OK && out);
    JK_CHECK(strstr(out, "-32003") == NULL);
    free(out);
    jk_rpc_parsed_free(&parsed);

    /* the pool stops where the budget ends: three one-byte events, room for two */
    for (int i = 0; i < 3; i++) {
        f.pool[i].endpoint = JK_CHAIN_ENDPOINT_TRANSACT;
        f.pool[i].blob[0] = (uint8_t)i;
        f.pool[i].blob_len = 1;
    }
    f.pool_count = 3;
    static const char pool[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"pool\"}";
    JK_REQUIRE(jk_rpc_parse((const uint8_t *)pool, sizeof pool - 1, &parsed) == JK_OK);
    JK_REQUIRE(jk_rpc_answer_bounded(&p, &parsed, 5, &out, &len) == JK_OK && out);
    JK_CHECK(!strcmp(out, "{\"jsonrpc\":\"2.0\",\"result\":{\"total\":3,\"offset\":0,\"events\":["
                          "{\"endpoint\":\"transact\",\"blob\":\"00\",\"traces\":[]},"
                          "{\"endpoint\":\"transact\",\"blob\":\"01\",\"traces\":[]}]},\"id\":1}"));
    free(out);
    jk_rpc_parsed_free(&parsed);
    fake_node_free(&f);
}

/* ---- the batch hint (jk_rpc_provider.submit_batch, session 9) ---- */

typedef struct hinted {
    fake_node *f;
    jk_rpc_provider inner;
    unsigned batches, ends;
    size_t n;                  /* events of the last hint */
    uint8_t first[4], last[4]; /* their blobs' first bytes */
    unsigned submits_at_hint;  /* submit_event calls made before the hint */
} hinted;

static jk_err hinted_submit(void *ctx, const jk_rpc_event *ev, jk_rpc_submit_result *out, jk_diag *diag)
{
    hinted *h = ctx;
    return h->inner.submit_event(h->inner.ctx, ev, out, diag);
}

static void hinted_batch(void *ctx, const jk_rpc_event *const *evs, size_t n)
{
    hinted *h = ctx;
    h->batches++;
    h->n = n;
    h->first[0] = evs[0]->blob_len ? evs[0]->blob[0] : 0;
    h->last[0] = evs[n - 1]->blob_len ? evs[n - 1]->blob[0] : 0;
    h->submits_at_hint = h->f->submits;
}

static void hinted_end(void *ctx)
{
    hinted *h = ctx;
    h->ends++;
}

/* (Only submit_event reaches the inner provider through the wrapper: the
 * other request is an unknown method.)
 * A batch's well-formed submit_event requests (notifications too) are
 * handed over once, in body order, before any is answered, and the end
 * follows; a single request, a batch with one submit and a body refused as
 * a whole are not; the answers are the bytes a provider without the hint
 * gives. */
JK_TEST(test_rpc_answer_submit_batch_hint)
{
    fake_node f, g;
    JK_REQUIRE(fake_node_init(&f) && fake_node_init(&g));
    hinted h = {.f = &f, .inner = fake_provider(&f)};
    jk_rpc_provider p = h.inner;
    p.ctx = &h;
    p.submit_event = hinted_submit;
    p.submit_batch = hinted_batch;
    p.submit_batch_end = hinted_end;
    jk_rpc_provider plain = fake_provider(&g);
    static const char body[] =
        "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"submit_event\",\"params\":[\"transact\",\"61\"]},"
        "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"nosuch\"},"
        "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"submit_event\",\"params\":[\"transact\",\"6\"]},"
        "{\"jsonrpc\":\"2.0\",\"method\":\"submit_event\",\"params\":[\"transact\",\"62\"]},"
        "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"submit_event\",\"params\":[\"transact\",\"63\"]}]";
    char *a = answer(&p, body), *b = answer(&plain, body);
    JK_CHECK(a && b && strcmp(a, b) == 0);
    free(a);
    free(b);
    JK_CHECK_EQ(h.batches, 1u);
    JK_CHECK_EQ(h.ends, 1u);
    JK_CHECK_EQ(h.n, 3u); /* 61, 62 (the notification), 63; "6" is refused by the parser */
    JK_CHECK_EQ(h.first[0], 0x61);
    JK_CHECK_EQ(h.last[0], 0x63);
    JK_CHECK_EQ(h.submits_at_hint, 0u); /* before any was answered */
    JK_CHECK_EQ(f.pool_count, g.pool_count);
    /* one request; a batch with one submit; a body refused whole: no hint */
    a = answer(&p, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"submit_event\",\"params\":[\"transact\",\"64\"]}");
    free(a);
    a = answer(&p, "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"submit_event\",\"params\":[\"transact\",\"65\"]},"
                   "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"nosuch\"}]");
    free(a);
    a = answer(&p, "[]");
    free(a);
    JK_CHECK_EQ(h.batches, 1u);
    JK_CHECK_EQ(h.ends, 1u);
    fake_node_free(&f);
    fake_node_free(&g);
}

/* A block answer with an integer id is written without json-c (session 11,
 * answer.c jk_text_block): for every height, by height and by hash, alone
 * and in a batch, its bytes are exactly what json-c writes for the same
 * JSON (read back and written again), and its result is the one the json-c
 * path gives the same query with a string id; a failure with an integer id
 * is json-c's error object. */
static bool same_as_json_c(const char *text)
{
    json_object *o = json_tokener_parse(text);
    const char *again = o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                                 JSON_C_TO_STRING_NOSLASHESCAPE)
                          : NULL;
    bool same = again && !strcmp(again, text);
    json_object_put(o);
    return same;
}

JK_TEST(test_rpc_answer_block_written_directly)
{
    fake_node f;
    JK_REQUIRE(fake_node_init(&f));
    jk_rpc_provider p = fake_provider(&f);
    char body[512], hex[65];
    for (int h = 1; h <= FAKE_BLOCKS; h++) {
        for (int by_hash = 0; by_hash < 2; by_hash++) {
            jk_rpc_hex_encode(f.hashes[h - 1].bytes, 32, hex);
            char param[80];
            if (by_hash)
                snprintf(param, sizeof param, "[\"%s\"]", hex);
            else
                snprintf(param, sizeof param, "[%d]", h);
            snprintf(body, sizeof body, "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"block\",\"params\":%s}",
                     -7 * h, param);
            char *direct = answer(&p, body);
            snprintf(body, sizeof body, "{\"jsonrpc\":\"2.0\",\"id\":\"s\",\"method\":\"block\",\"params\":%s}",
                     param);
            char *json = answer(&p, body);
            JK_REQUIRE(direct && json);
            JK_CHECK(same_as_json_c(direct));
            json_object *a = json_tokener_parse(direct), *b = json_tokener_parse(json), *ra, *rb, *id;
            JK_CHECK(a && b && json_object_object_get_ex(a, "result", &ra) &&
                     json_object_object_get_ex(b, "result", &rb) && json_object_equal(ra, rb));
            JK_CHECK(a && json_object_object_get_ex(a, "id", &id) && json_object_get_int64(id) == -7 * h);
            /* block 1 has no certificate: null, as json-c writes it */
            JK_CHECK((strstr(direct, "\"certificate\":null") != NULL) == (h == 1));
            json_object_put(a);
            json_object_put(b);
            free(direct);
            free(json);
        }
    }
    /* in a batch, next to json-c's answers */
    char *got = answer(&p, "[{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"method\":\"status\"},"
                           "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"block\",\"params\":[2]},"
                           "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"block\",\"params\":[9]},"
                           "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"block\",\"params\":[3]}]");
    JK_REQUIRE(got);
    JK_CHECK(same_as_json_c(got));
    JK_CHECK(strstr(got, "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32001,\"message\":\"Not found\","
                         "\"data\":\"no such block\"},\"id\":6}") != NULL);
    json_object *arr = json_tokener_parse(got), *r;
    JK_CHECK(arr && json_object_array_length(arr) == 4 &&
             json_object_object_get_ex(json_object_array_get_idx(arr, 3), "result", &r));
    json_object_put(arr);
    free(got);
    fake_node_free(&f);
}
