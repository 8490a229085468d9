/*
 * test_rpc_server.c — the server on an ephemeral 127.0.0.1 port in front of
 * the fake node (rpc_fake.h), driven by the library's client: every method,
 * JSON-RPC errors, batches, notifications, oversize bodies, GET /metrics,
 * HTTP-level refusals, and the external-loop mode. Nothing here waits on a
 * clock: every exchange is one blocking request and its reply.
 */
#include "../test.h"
#include "rpc_fake.h"

#include <json-c/json.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct srv {
    fake_node f;
    jk_rpc_metrics *metrics;
    jk_rpc_node_metrics nm;
    jk_rpc_server *s;
    uint16_t port;
} srv;

static bool srv_start(srv *t, size_t max_body, bool external)
{
    memset(t, 0, sizeof *t);
    if (!fake_node_init(&t->f) || jk_rpc_metrics_new(&t->metrics) != JK_OK ||
        jk_rpc_node_metrics_register(t->metrics, &t->nm) != JK_OK)
        return false;
    jk_rpc_server_config cfg = {NULL, 0, max_body, t->metrics, external};
    jk_rpc_provider p = fake_provider(&t->f);
    jk_diag d = {{0}};
    if (jk_rpc_server_start(&cfg, &p, &t->s, &d) != JK_OK) {
        printf("server: %s\n", d.msg);
        return false;
    }
    t->port = jk_rpc_server_port(t->s);
    return t->port != 0;
}

static void srv_stop(srv *t)
{
    jk_rpc_server_stop(t->s);
    jk_rpc_metrics_free(t->metrics);
    fake_node_free(&t->f);
}

/* POST body; returns the parsed reply (NULL when empty or not JSON). */
static json_object *post(srv *t, const char *body, int *status)
{
    char *reply = NULL;
    size_t len;
    *status = 0;
    if (jk_rpc_http("127.0.0.1", t->port, "POST", "/", body, strlen(body), status, &reply, &len, NULL) != JK_OK)
        return NULL;
    json_object *o = len ? json_tokener_parse(reply) : NULL;
    free(reply);
    return o;
}

/* A successful call's result, parsed (caller puts it). */
static json_object *call_ok(srv *t, const char *method, const char *params)
{
    char *result = NULL;
    jk_diag d = {{0}};
    jk_err err = jk_rpc_call("127.0.0.1", t->port, method, params, &result, &d);
    if (err != JK_OK) {
        printf("call %s: %s: %s\n", method, jk_strerror(err), d.msg);
        free(result);
        return NULL;
    }
    json_object *o = json_tokener_parse(result);
    free(result);
    return o;
}

/* The JSON-RPC error code a call is answered with (0 when it succeeds). */
static int call_code(srv *t, const char *method, const char *params)
{
    char *result = NULL;
    jk_diag d = {{0}};
    jk_err err = jk_rpc_call("127.0.0.1", t->port, method, params, &result, &d);
    int code = 0;
    if (err == JK_ERR_RPC_REMOTE) {
        json_object *o = json_tokener_parse(result);
        code = json_object_get_int(json_object_object_get(o, "code"));
        json_object_put(o);
    } else if (err != JK_OK) {
        code = 1;
    }
    free(result);
    return code;
}

static const char *str(json_object *o, const char *key)
{
    json_object *v = json_object_object_get(o, key);
    return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
}

static uint64_t num(json_object *o, const char *key)
{
    return json_object_get_uint64(json_object_object_get(o, key));
}

static void hex_of(const uint8_t *b, size_t n, char *out) { jk_rpc_hex_encode(b, n, out); }

/* A plain TCP connection to the server, for requests the client would not
 * send; -1 on failure. */
static int raw_connect(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* Read until the peer closes (or cap - 1 bytes); NUL-terminates. The
 * server closes after each of these answers, so this never waits on a clock. */
static size_t raw_read(int fd, char *out, size_t cap)
{
    size_t n = 0;
    for (;;) {
        ssize_t r = recv(fd, out + n, cap - 1 - n, 0);
        if (r <= 0)
            break;
        n += (size_t)r;
        if (n == cap - 1)
            break;
    }
    out[n] = '\0';
    return n;
}

/* o has key, and its value is null (json-c: a NULL child). */
static bool null_member(json_object *o, const char *key)
{
    json_object *v = (json_object *)1;
    return o && json_object_object_get_ex(o, key, &v) && v == NULL;
}

JK_TEST(test_rpc_server_status)
{
    srv t;
    JK_REQUIRE(srv_start(&t, 0, false));
    json_object *r = call_ok(&t, "status", NULL);
    JK_REQUIRE(r);
    char head[65];
    hex_of(t.f.hashes[FAKE_BLOCKS - 1].bytes, 32, head);
    JK_CHECK_EQ(num(r, "height"), FAKE_BLOCKS);
    JK_CHECK(!strcmp(str(r, "head_hash"), head));
    JK_CHECK_EQ(num(r, "round"), 2);
    JK_CHECK_EQ(num(r, "peers"), 5);
    JK_CHECK(json_object_get_boolean(json_object_object_get(r, "syncing")) == 0);
    JK_CHECK_EQ(num(r, "pool_size"), 0);
    JK_CHECK_EQ(num(r, "validator_index"), 1);
    json_object_put(r);
    /* a full node: validator_index is null */
    t.f.is_validator = false;
    r = call_ok(&t, "status", "[]");
    JK_CHECK(null_member(r, "validator_index"));
    json_object_put(r);
    /* a node that cannot answer: -32002 */
    t.f.syncing = true;
    JK_CHECK_EQ(call_code(&t, "status", NULL), JK_RPC_ERR_UNAVAILABLE);
    srv_stop(&t);
}

JK_TEST(test_rpc_server_submit_and_pool)
{
    srv t;
    JK_REQUIRE(srv_start(&t, 0, false));
    char params[1024], key[65], msg[65], sig[129];
    uint8_t k[32], m[32], s[64];
    memset(k, 0xaa, 32);
    memset(m, 0xbb, 32);
    memset(s, 0xcc, 64);
    hex_of(k, 32, key);
    hex_of(m, 32, msg);
    hex_of(s, 64, sig);
    snprintf(params, sizeof params, "{\"endpoint\":\"dispatch:3\",\"blob\":\"0102\",\"traces\":[[\"%s\",\"%s\",\"%s\"]]}",
             key, msg, sig);
    json_object *r = call_ok(&t, "submit_event", params);
    JK_REQUIRE(r);
    JK_CHECK(json_object_get_boolean(json_object_object_get(r, "admitted")));
    jk_hash h;
    static const uint8_t blob[2] = {1, 2};
    jk_crypto_blake2b256(blob, 2, &h);
    char hh[65];
    hex_of(h.bytes, 32, hh);
    JK_CHECK(!strcmp(str(r, "event_hash"), hh));
    json_object_put(r);
    /* refused, with the provider's reason */
    r = call_ok(&t, "submit_event", "[\"transact\",\"ff00\"]");
    JK_REQUIRE(r);
    JK_CHECK(!json_object_get_boolean(json_object_object_get(r, "admitted")));
    JK_CHECK(!strcmp(str(r, "reason"), "verify refused the event"));
    JK_CHECK(!json_object_object_get_ex(r, "event_hash", NULL));
    json_object_put(r);
    r = call_ok(&t, "submit_event", "[\"transact\",\"03\"]");   /* second admitted */
    JK_REQUIRE(r != NULL);
    json_object_put(r);

    /* the pool shows both, in order, with the traces as they came */
    r = call_ok(&t, "pool", NULL);
    JK_REQUIRE(r);
    JK_CHECK_EQ(num(r, "total"), 2);
    json_object *events = json_object_object_get(r, "events");
    JK_REQUIRE(json_object_array_length(events) == 2);
    json_object *e0 = json_object_array_get_idx(events, 0);
    JK_CHECK(!strcmp(str(e0, "endpoint"), "dispatch:3"));
    JK_CHECK(!strcmp(str(e0, "blob"), "0102"));
    json_object *tr = json_object_array_get_idx(json_object_object_get(e0, "traces"), 0);
    JK_CHECK(!strcmp(json_object_get_string(json_object_array_get_idx(tr, 0)), key));
    JK_CHECK(!strcmp(json_object_get_string(json_object_array_get_idx(tr, 1)), msg));
    JK_CHECK(!strcmp(json_object_get_string(json_object_array_get_idx(tr, 2)), sig));
    JK_CHECK(!strcmp(str(json_object_array_get_idx(events, 1), "endpoint"), "transact"));
    json_object_put(r);
    /* bounded: limit 1 from offset 1 */
    r = call_ok(&t, "pool", "{\"limit\":1,\"offset\":1}");
    JK_REQUIRE(r);
    JK_CHECK_EQ(num(r, "total"), 2);
    JK_CHECK_EQ(num(r, "offset"), 1);
    events = json_object_object_get(r, "events");
    JK_CHECK(json_object_array_length(events) == 1 && !strcmp(str(json_object_array_get_idx(events, 0), "blob"), "03"));
    json_object_put(r);
    r = call_ok(&t, "pool", "[1]");
    JK_CHECK(r && json_object_array_length(json_object_object_get(r, "events")) == 1);
    json_object_put(r);
    srv_stop(&t);
}

JK_TEST(test_rpc_server_block)
{
    srv t;
    JK_REQUIRE(srv_start(&t, 0, false));
    char hash2[65], params[128];
    hex_of(t.f.hashes[1].bytes, 32, hash2);
    for (int by_hash = 0; by_hash < 2; by_hash++) {
        if (by_hash)
            snprintf(params, sizeof params, "{\"hash\":\"%s\"}", hash2);
        else
            snprintf(params, sizeof params, "[2]");
        json_object *r = call_ok(&t, "block", params);
        JK_REQUIRE(r);
        JK_CHECK_EQ(num(r, "height"), 2);
        JK_CHECK(!strcmp(str(r, "hash"), hash2));
        char *block_hex = malloc(2 * t.f.block_lens[1] + 1);
        JK_REQUIRE(block_hex);
        hex_of(t.f.blocks[1], t.f.block_lens[1], block_hex);
        JK_CHECK(!strcmp(str(r, "block"), block_hex));
        free(block_hex);
        JK_CHECK(!strcmp(str(r, "certificate"), "636572742d32"));   /* "cert-2" */
        JK_CHECK_EQ(num(r, "event_count"), 1);
        JK_CHECK_EQ(num(r, "trace_count"), 1);
        json_object *hdr = json_object_object_get(r, "header");
        char parent[65];
        hex_of(t.f.hashes[0].bytes, 32, parent);
        JK_CHECK(!strcmp(str(hdr, "parent"), parent));
        JK_CHECK_EQ(num(hdr, "number"), 2);
        JK_CHECK_EQ(num(hdr, "proposer"), 2);
        JK_CHECK(strlen(str(hdr, "state_root")) == 64 && strlen(str(hdr, "body_hash")) == 64);
        JK_CHECK(strlen(str(hdr, "signature")) == 128);
        json_object_put(r);
    }
    /* block 1 has no certificate: null */
    json_object *r = call_ok(&t, "block", "[1]");
    JK_CHECK(null_member(r, "certificate"));
    json_object_put(r);
    srv_stop(&t);
}

JK_TEST(test_rpc_server_state_slot)
{
    srv t;
    JK_REQUIRE(srv_start(&t, 0, false));
    char head[65];
    hex_of(t.f.hashes[FAKE_BLOCKS - 1].bytes, 32, head);
    json_object *r = call_ok(&t, "state_slot", "{\"path\":[20,1]}");
    JK_REQUIRE(r);
    JK_CHECK(!strcmp(str(r, "kind"), "data"));
    JK_CHECK(!strcmp(str(r, "value"), "736c6f742d31"));   /* "slot-1" */
    jk_hash h;
    jk_crypto_blake2b256("slot-1", 6, &h);
    char hh[65];
    hex_of(h.bytes, 32, hh);
    JK_CHECK(!strcmp(str(r, "hash"), hh));
    JK_CHECK_EQ(num(r, "height"), FAKE_BLOCKS);
    JK_CHECK(!strcmp(str(r, "block_hash"), head));
    json_object *path = json_object_object_get(r, "path");
    JK_CHECK(json_object_array_length(path) == 2 && json_object_get_int(json_object_array_get_idx(path, 1)) == 1);
    json_object_put(r);
    r = call_ok(&t, "state_slot", "[[20]]");
    JK_CHECK(r && !strcmp(str(r, "kind"), "cnode") && !strcmp(str(r, "value"), "636e6f6465"));
    json_object_put(r);
    r = call_ok(&t, "state_slot", "[[21]]");
    JK_CHECK(r && !strcmp(str(r, "kind"), "empty") && !strcmp(str(r, "value"), ""));
    JK_CHECK(null_member(r, "hash"));
    json_object_put(r);
    srv_stop(&t);
}

/* Calls the node answers with an error, through the client. */
JK_TEST(test_rpc_server_refusals)
{
    srv t;
    JK_REQUIRE(srv_start(&t, 0, false));
    static const struct {
        const char *method, *params;
        int code;
    } cases[] = {
        {"block", "[4]", JK_RPC_ERR_NOT_FOUND},
        {"block", "[\"00\"]", JK_RPC_INVALID_PARAMS},
        {"block", "{\"height\":-1}", JK_RPC_INVALID_PARAMS},
        {"state_slot", "[[22]]", JK_RPC_ERR_NOT_FOUND},
        {"state_slot", "[[20,3]]", JK_RPC_ERR_NOT_FOUND},
        {"state_slot", "[[70000]]", JK_RPC_INVALID_PARAMS},
        {"state_slot", "[\"20/1\"]", JK_RPC_INVALID_PARAMS},
        {"pool", "{\"limit\":0}", JK_RPC_INVALID_PARAMS},
        {"submit_event", "[\"transact\"]", JK_RPC_INVALID_PARAMS},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int code = call_code(&t, cases[i].method, cases[i].params);
        if (code != cases[i].code)
            jk_test_fail(__FILE__, __LINE__, "%s %s: answered %d", cases[i].method, cases[i].params, code);
    }
    srv_stop(&t);
}

/* Malformed requests through HTTP: each answer is the right error object
 * with the right id. */
JK_TEST(test_rpc_server_errors)
{
    srv t;
    JK_REQUIRE(srv_start(&t, 0, false));
    static const struct {
        const char *body;
        int code;
        const char *id;   /* the id's JSON text in the answer */
    } cases[] = {
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"status\"", JK_RPC_PARSE_ERROR, "null"},
        {"not json", JK_RPC_PARSE_ERROR, "null"},
        {"", JK_RPC_PARSE_ERROR, "null"},
        {"[]", JK_RPC_INVALID_REQUEST, "null"},
        {"42", JK_RPC_INVALID_REQUEST, "null"},
        {"{\"jsonrpc\":\"1.0\",\"id\":9,\"method\":\"status\"}", JK_RPC_INVALID_REQUEST, "9"},
        {"{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"method\":\"mint_money\"}", JK_RPC_METHOD_NOT_FOUND, "\"x\""},
        {"{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"block\",\"params\":{\"height\":\"two\"}}", JK_RPC_INVALID_PARAMS,
         "3"},
        {"{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"submit_event\",\"params\":[\"transact\",\"abc\"]}",
         JK_RPC_INVALID_PARAMS, "4"},
        {"{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"pool\",\"params\":{\"limit\":true}}", JK_RPC_INVALID_PARAMS, "5"},
        {"{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"status\"}", JK_RPC_INVALID_REQUEST, "null"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int status;
        json_object *r = post(&t, cases[i].body, &status);
        json_object *err = r ? json_object_object_get(r, "error") : NULL;
        json_object *id = (json_object *)1;
        bool has_id = r && json_object_object_get_ex(r, "id", &id);
        const char *id_text = has_id ? (id ? json_object_to_json_string(id) : "null") : "(absent)";
        if (status != 200 || !err || json_object_get_int(json_object_object_get(err, "code")) != cases[i].code ||
            strcmp(id_text, cases[i].id) || !strcmp(str(r, "jsonrpc"), "") ||
            json_object_object_get_ex(r, "result", NULL))
            jk_test_fail(__FILE__, __LINE__, "case %zu (%s): HTTP %d, %s", i, cases[i].body, status,
                         r ? json_object_to_json_string(r) : "(no JSON)");
        /* the standard message, and the parser's reason in data */
        if (err && cases[i].code == JK_RPC_INVALID_PARAMS)
            JK_CHECK(!strcmp(str(err, "message"), "Invalid params") && strlen(str(err, "data")) > 0);
        json_object_put(r);
    }
    JK_CHECK_EQ(t.f.calls, 0);   /* nothing malformed reached the provider */
    /* a provider without a method: -32601 */
    jk_rpc_server_stop(t.s);
    jk_rpc_provider p = fake_provider(&t.f);
    p.pool = NULL;
    jk_rpc_server_config cfg = {"localhost", 0, 0, NULL, false};
    JK_REQUIRE(jk_rpc_server_start(&cfg, &p, &t.s, NULL) == JK_OK);
    t.port = jk_rpc_server_port(t.s);
    JK_CHECK_EQ(call_code(&t, "pool", NULL), JK_RPC_METHOD_NOT_FOUND);
    JK_CHECK_EQ(call_code(&t, "status", NULL), 0);
    srv_stop(&t);
}

JK_TEST(test_rpc_server_batch)
{
    srv t;
    JK_REQUIRE(srv_start(&t, 0, false));
    int status;
    json_object *r = post(&t,
                          "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"status\"},"
                          " {\"jsonrpc\":\"2.0\",\"method\":\"submit_event\",\"params\":[\"transact\",\"07\"]},"
                          " 17,"
                          " {\"jsonrpc\":\"2.0\",\"id\":\"b\",\"method\":\"block\",\"params\":[99]},"
                          " {\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"pool\"}]",
                          &status);
    JK_CHECK_EQ(status, 200);
    JK_REQUIRE(r && json_object_is_type(r, json_type_array));
    /* four answers in request order: the notification gets none */
    JK_REQUIRE(json_object_array_length(r) == 4);
    json_object *a0 = json_object_array_get_idx(r, 0), *a1 = json_object_array_get_idx(r, 1),
                *a2 = json_object_array_get_idx(r, 2), *a3 = json_object_array_get_idx(r, 3);
    JK_CHECK(json_object_get_int(json_object_object_get(a0, "id")) == 1 && json_object_object_get(a0, "result"));
    JK_CHECK(json_object_get_int(json_object_object_get(json_object_object_get(a1, "error"), "code")) ==
             JK_RPC_INVALID_REQUEST);
    JK_CHECK(!strcmp(str(a2, "id"), "b"));
    JK_CHECK(json_object_get_int(json_object_object_get(json_object_object_get(a2, "error"), "code")) ==
             JK_RPC_ERR_NOT_FOUND);
    /* the notification ran before the pool request after it */
    JK_CHECK_EQ(num(json_object_object_get(a3, "result"), "total"), 1);
    json_object_put(r);
    JK_CHECK_EQ(t.f.submits, 1);

    /* only notifications: HTTP 204, no body; and they still run */
    char *reply = NULL;
    size_t len = 99;
    static const char only[] = "[{\"jsonrpc\":\"2.0\",\"method\":\"submit_event\",\"params\":[\"transact\",\"08\"]},"
                               "{\"jsonrpc\":\"2.0\",\"method\":\"nosuch\"}]";
    JK_REQUIRE(jk_rpc_http("127.0.0.1", t.port, "POST", "/", only, strlen(only), &status, &reply, &len, NULL) == JK_OK);
    JK_CHECK_EQ(status, 204);
    JK_CHECK_EQ(len, 0);
    free(reply);
    JK_CHECK_EQ(t.f.submits, 2);
    JK_CHECK_EQ(t.f.pool_count, 2);
    srv_stop(&t);
}

JK_TEST(test_rpc_server_body_bound)
{
    srv t;
    JK_REQUIRE(srv_start(&t, 256, false));
    /* 300 bytes against a 256-byte bound: 413 with a JSON-RPC error, provider untouched */
    char body[301];
    memset(body, ' ', 300);
    memcpy(body, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"status\"}", 42);
    body[300] = '\0';
    int status;
    json_object *r = post(&t, body, &status);
    JK_CHECK_EQ(status, 413);
    JK_CHECK(r && json_object_get_int(json_object_object_get(json_object_object_get(r, "error"), "code")) ==
                      JK_RPC_INVALID_REQUEST);
    json_object_put(r);
    JK_CHECK_EQ(t.f.calls, 0);
    /* exactly at the bound is served */
    body[256] = '\0';
    r = post(&t, body, &status);
    JK_CHECK_EQ(status, 200);
    JK_CHECK(r && json_object_object_get(r, "result"));
    json_object_put(r);
    srv_stop(&t);

    /* the default bound: a header announcing JK_RPC_MAX_BODY + 1 bytes is
     * answered 413 before any byte of the body is sent */
    JK_REQUIRE(srv_start(&t, 0, false));
    int fd = raw_connect(t.port);
    JK_REQUIRE(fd >= 0);
    char head[256];
    int n = snprintf(head, sizeof head, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %u\r\n\r\n", JK_RPC_MAX_BODY + 1);
    JK_REQUIRE(send(fd, head, (size_t)n, MSG_NOSIGNAL) == n);
    char got[512];
    size_t k = raw_read(fd, got, sizeof got);
    JK_CHECK(k >= 12 && !strncmp(got, "HTTP/1.1 413", 12));
    close(fd);
    srv_stop(&t);
}

JK_TEST(test_rpc_server_http_and_metrics)
{
    srv t;
    JK_REQUIRE(srv_start(&t, 0, false));
    jk_rpc_metric_set(t.nm.height, 3);
    jk_rpc_metric_add(t.nm.events_admitted, 5);
    jk_rpc_metric_observe(t.nm.finality_seconds, 0.2);
    int status;
    char *reply = NULL;
    size_t len;
    JK_REQUIRE(jk_rpc_http(NULL, t.port, "GET", "/metrics", NULL, 0, &status, &reply, &len, NULL) == JK_OK);
    JK_CHECK_EQ(status, 200);
    char *direct = NULL;
    size_t dlen;
    JK_REQUIRE(jk_rpc_metrics_render(t.metrics, &direct, &dlen) == JK_OK);
    JK_CHECK(len == dlen && !strcmp(reply, direct));   /* the registry's text, byte for byte */
    JK_CHECK(strstr(reply, "\njark_height 3\n") && strstr(reply, "\njark_events_admitted_total 5\n"));
    JK_CHECK(strstr(reply, "\njark_finality_seconds_bucket{le=\"0.25\"} 1\n") != NULL);
    free(reply);
    free(direct);

    static const struct {
        const char *method, *path;
        int status;
    } http[] = {{"GET", "/", 404}, {"GET", "/nope", 404}, {"POST", "/metrics", 404}, {"PUT", "/", 405},
                {"DELETE", "/metrics", 405}};
    for (size_t i = 0; i < sizeof http / sizeof http[0]; i++) {
        reply = NULL;
        JK_CHECK(jk_rpc_http("127.0.0.1", t.port, http[i].method, http[i].path, "{}", 2, &status, &reply, &len, NULL) ==
                 JK_OK);
        if (status != http[i].status)
            jk_test_fail(__FILE__, __LINE__, "%s %s: HTTP %d", http[i].method, http[i].path, status);
        free(reply);
    }
    srv_stop(&t);

    /* a server without a registry has no /metrics */
    fake_node f;
    JK_REQUIRE(fake_node_init(&f));
    jk_rpc_provider p = fake_provider(&f);
    jk_rpc_server_config cfg = {"127.0.0.1", 0, 0, NULL, false};
    jk_rpc_server *s;
    JK_REQUIRE(jk_rpc_server_start(&cfg, &p, &s, NULL) == JK_OK);
    reply = NULL;
    JK_CHECK(jk_rpc_http("127.0.0.1", jk_rpc_server_port(s), "GET", "/metrics", NULL, 0, &status, &reply, &len, NULL) ==
             JK_OK);
    JK_CHECK_EQ(status, 404);
    free(reply);
    jk_rpc_server_stop(s);
    fake_node_free(&f);
}

JK_TEST(test_rpc_server_start_refusals)
{
    fake_node f;
    JK_REQUIRE(fake_node_init(&f));
    jk_rpc_provider p = fake_provider(&f);
    jk_rpc_server *s = NULL, *s2 = NULL;
    jk_diag d = {{0}};
    jk_rpc_server_config bad = {"example.com", 0, 0, NULL, false};
    JK_CHECK_EQ(jk_rpc_server_start(&bad, &p, &s, &d), JK_ERR_INVALID_ARG);
    JK_CHECK(strstr(d.msg, "example.com") != NULL);
    /* the same port twice: the second cannot bind */
    jk_rpc_server_config cfg = {NULL, 0, 0, NULL, false};
    JK_REQUIRE(jk_rpc_server_start(&cfg, &p, &s, NULL) == JK_OK);
    cfg.port = jk_rpc_server_port(s);
    d.msg[0] = '\0';
    JK_CHECK_EQ(jk_rpc_server_start(&cfg, &p, &s2, &d), JK_ERR_IO);
    JK_CHECK(strstr(d.msg, "cannot serve") != NULL);
    /* threaded mode has no fd and no run */
    JK_CHECK_EQ(jk_rpc_server_fd(s), -1);
    JK_CHECK_EQ(jk_rpc_server_run(s), JK_ERR_INVALID_ARG);
    jk_rpc_server_stop(s);
    jk_rpc_server_stop(NULL);
    /* the client: nobody listening on that port any more */
    char *out = NULL;
    d.msg[0] = '\0';
    JK_CHECK_EQ(jk_rpc_call("127.0.0.1", cfg.port, "status", NULL, &out, &d), JK_ERR_IO);
    JK_CHECK(strstr(d.msg, "connect") != NULL);
    JK_CHECK_EQ(jk_rpc_call("127.0.0.1", cfg.port, "status", "nope", &out, NULL), JK_ERR_INVALID_ARG);
    JK_CHECK_EQ(jk_rpc_call("127.0.0.1", cfg.port, "status", "5", &out, NULL), JK_ERR_INVALID_ARG);
    fake_node_free(&f);
}

JK_TEST(test_rpc_addr_parse)
{
    char host[64];
    uint16_t port = 0;
    JK_CHECK(jk_rpc_addr_parse("127.0.0.1:8545", host, sizeof host, &port, NULL) == JK_OK && port == 8545 &&
             !strcmp(host, "127.0.0.1"));
    JK_CHECK(jk_rpc_addr_parse("localhost:0", host, sizeof host, &port, NULL) == JK_OK && port == 0);
    static const char *bad[] = {"127.0.0.1", ":80", "h:", "h:65536", "h:-1", "h:80x", "h:0000001"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (jk_rpc_addr_parse(bad[i], host, sizeof host, &port, NULL) != JK_ERR_PARSE)
            jk_test_fail(__FILE__, __LINE__, "accepted '%s'", bad[i]);
}

/* External-loop mode: the client runs on a thread, this thread drives the
 * server; the provider is called only from inside jk_rpc_server_run. */
typedef struct ext_client {
    uint16_t port;
    char *result;
    jk_err err;
    volatile int done;
} ext_client;

static void *ext_client_run(void *arg)
{
    ext_client *c = arg;
    c->err = jk_rpc_call("127.0.0.1", c->port, "status", NULL, &c->result, NULL);
    __atomic_store_n(&c->done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static __thread int in_run;   /* set on this thread while jk_rpc_server_run runs */
static int calls_outside_run;

static jk_err ext_status(void *ctx, jk_rpc_status *out, jk_diag *diag)
{
    (void)ctx;
    (void)diag;
    if (!in_run)
        calls_outside_run++;
    out->height = 77;
    return JK_OK;
}

JK_TEST(test_rpc_server_external_loop)
{
    jk_rpc_provider p = {NULL, ext_status, NULL, NULL, NULL, NULL};
    jk_rpc_server_config cfg = {NULL, 0, 0, NULL, true};
    jk_rpc_server *s;
    JK_REQUIRE(jk_rpc_server_start(&cfg, &p, &s, NULL) == JK_OK);
    int fd = jk_rpc_server_fd(s);
    JK_REQUIRE(fd >= 0);
    calls_outside_run = 0;
    ext_client c = {jk_rpc_server_port(s), NULL, JK_OK, 0};
    pthread_t th;
    JK_REQUIRE(pthread_create(&th, NULL, ext_client_run, &c) == 0);
    /* The poll timeout only bounds how often `done` is looked at; no result
     * depends on it. */
    while (!__atomic_load_n(&c.done, __ATOMIC_SEQ_CST)) {
        struct pollfd pfd = {fd, POLLIN, 0};
        poll(&pfd, 1, 50);
        in_run = 1;
        jk_err err = jk_rpc_server_run(s);
        in_run = 0;
        if (err != JK_OK) {
            JK_CHECK_EQ(err, JK_OK);
            break;
        }
    }
    pthread_join(th, NULL);
    JK_CHECK_EQ(c.err, JK_OK);
    JK_CHECK(c.result && strstr(c.result, "\"height\":77") != NULL);
    JK_CHECK_EQ(calls_outside_run, 0);
    free(c.result);
    jk_rpc_server_stop(s);
}

/* Threaded mode's contract: provider calls never overlap, however many
 * clients there are. Each call checks that no other call is inside. */
typedef struct serial_node {
    int inside, overlaps, calls;
} serial_node;

static jk_err serial_status(void *ctx, jk_rpc_status *out, jk_diag *diag)
{
    (void)diag;
    serial_node *n = ctx;
    if (__atomic_add_fetch(&n->inside, 1, __ATOMIC_SEQ_CST) != 1)
        __atomic_add_fetch(&n->overlaps, 1, __ATOMIC_SEQ_CST);
    for (volatile int spin = 0; spin < 20000; spin++) /* widen the window an overlap would need */
        ;
    out->height = (uint64_t)__atomic_add_fetch(&n->calls, 1, __ATOMIC_SEQ_CST);
    __atomic_sub_fetch(&n->inside, 1, __ATOMIC_SEQ_CST);
    return JK_OK;
}

typedef struct serial_client {
    uint16_t port;
    int ok;
} serial_client;

static void *serial_client_run(void *arg)
{
    serial_client *c = arg;
    for (int i = 0; i < 25; i++) {
        char *result = NULL;
        if (jk_rpc_call("127.0.0.1", c->port, "status", NULL, &result, NULL) == JK_OK)
            c->ok++;
        free(result);
    }
    return NULL;
}

JK_TEST(test_rpc_server_serialized_provider)
{
    serial_node n = {0, 0, 0};
    jk_rpc_provider p = {&n, serial_status, NULL, NULL, NULL, NULL};
    jk_rpc_server_config cfg = {NULL, 0, 0, NULL, false};
    jk_rpc_server *s;
    JK_REQUIRE(jk_rpc_server_start(&cfg, &p, &s, NULL) == JK_OK);
    serial_client c[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        c[i].port = jk_rpc_server_port(s);
        c[i].ok = 0;
        JK_REQUIRE(pthread_create(&th[i], NULL, serial_client_run, &c[i]) == 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        JK_CHECK_EQ(c[i].ok, 25);
    }
    jk_rpc_server_stop(s);
    JK_CHECK_EQ(n.calls, 100);
    JK_CHECK_EQ(n.overlaps, 0);
}

/* A body larger than one network read arrives in pieces and is served
 * whole; a chunked body that grows over the bound closes the connection
 * without an answer. */
JK_TEST(test_rpc_server_large_and_chunked_bodies)
{
    srv t;
    JK_REQUIRE(srv_start(&t, 0, false));
    size_t blob = 300000, cap = 2 * blob + 128;
    char *params = malloc(cap);
    JK_REQUIRE(params);
    size_t n = (size_t)snprintf(params, cap, "[\"transact\",\"");
    memset(params + n, 'a', 2 * blob);
    snprintf(params + n + 2 * blob, cap - n - 2 * blob, "\"]");
    json_object *r = call_ok(&t, "submit_event", params);
    free(params);
    JK_CHECK(r && !strcmp(str(r, "reason"), "too large for the fake pool"));   /* reached the node whole */
    json_object_put(r);
    JK_CHECK_EQ(t.f.submits, 1);
    srv_stop(&t);

    JK_REQUIRE(srv_start(&t, 64, false));
    int fd = raw_connect(t.port);
    JK_REQUIRE(fd >= 0);
    static const char req[] = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                              "28\r\n{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"status\"\r\n"
                              "28\r\n                                        \r\n"
                              "1\r\n}\r\n0\r\n\r\n";
    (void)!send(fd, req, sizeof req - 1, MSG_NOSIGNAL);
    char got[256];
    size_t k = raw_read(fd, got, sizeof got);
    JK_CHECK(k < 12 || strncmp(got, "HTTP/1.1 200", 12) != 0);
    close(fd);
    JK_CHECK_EQ(t.f.calls, 0);
    srv_stop(&t);
}
