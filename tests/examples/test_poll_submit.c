/* test_poll_submit.c — issue 13: a `jark node`'s submit_event says why an
 * event was not admitted, and never an earlier event's reason. The poll
 * chain (examples/poll) on one node, a validator (events reach the chain
 * app through the consensus machine) and a full node (through the relay);
 * each request goes through the RPC answer (JSON in, JSON out) to the
 * node's own provider, as `jark event submit` sends it.
 *
 * Before the fix the answer was "refused by verify" (no code, no text), or
 * the chain app's last_error of an earlier event ("already in the pool"
 * after a repeat), since nothing reset it per event. */
#include "../test.h"
#include "example_chain.h"
#include "poll_blobs.h"
#include "../progs.h"

#include "jark/bytes.h"
#include "jark/net.h"
#include "jark/node.h"
#include "jark/rpc.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* submit_event's result object for the event (endpoint name, blob signed
 * by signer) as the node's provider answers it; NULL on any failure. */
static json_object *submit(const jk_rpc_provider *p, const jk_hash *g, const char *endpoint,
                           const uint8_t *blob, size_t len, const jk_ex_key *signer)
{
    jk_chain_trace t;
    jk_chain_trace_sign(signer->sk, g, blob, len, &t);
    char hb[2 * 256 + 1], hk[65], hm[65], hs[129], body[1200];
    jk_rpc_hex_encode(blob, len, hb);
    jk_rpc_hex_encode(t.key, 32, hk);
    jk_rpc_hex_encode(t.msg_hash.bytes, 32, hm);
    jk_rpc_hex_encode(t.sig, 64, hs);
    snprintf(body, sizeof body,
             "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"submit_event\",\"params\":"
             "[\"%s\",\"%s\",[[\"%s\",\"%s\",\"%s\"]]]}",
             endpoint, hb, hk, hm, hs);
    jk_rpc_parsed parsed;
    if (jk_rpc_parse((const uint8_t *)body, strlen(body), &parsed) != JK_OK)
        return NULL;
    char *out = NULL;
    size_t olen = 0;
    jk_err err = jk_rpc_answer(p, &parsed, &out, &olen);
    jk_rpc_parsed_free(&parsed);
    if (err != JK_OK || !out)
        return NULL;
    json_object *root = json_tokener_parse(out);
    free(out);
    json_object *res = NULL;
    if (!root || !json_object_object_get_ex(root, "result", &res)) {
        json_object_put(root);
        return NULL;
    }
    json_object_get(res);
    json_object_put(root);
    return res;
}

static const char *field_str(json_object *o, const char *name)
{
    json_object *v;
    return o && json_object_object_get_ex(o, name, &v) ? json_object_get_string(v) : NULL;
}

static bool has_field(json_object *o, const char *name)
{
    return o && json_object_object_get_ex(o, name, NULL);
}

static int64_t field_int(json_object *o, const char *name)
{
    json_object *v;
    return o && json_object_object_get_ex(o, name, &v) ? json_object_get_int64(v) : -1;
}

static bool admitted(json_object *o)
{
    json_object *v;
    return o && json_object_object_get_ex(o, "admitted", &v) && json_object_get_boolean(v);
}

/* One node (validator, or full node when full) on the poll chain, in dir:
 * A refused with reason 2, then B with reason 4, each answer its own; A
 * again: "already refused" with A's reason and code; an admitted open
 * after those refusals carries no reason; the open again: in the pool. */
static void run(const jk_ex_chain *c, const char *dir, bool full)
{
    const jk_ex_key alice = jk_ex_key_of(1), dave = jk_ex_key_of(4);
    const jk_hash *g = &c->g.genesis_hash;
    jk_node_chain_app *app = NULL;
    jk_diag diag = {{0}};
    if (jk_node_chain_app_open(dir, full ? NULL : c->validator.sk, &c->g, &app, &diag) != JK_OK) {
        jk_test_fail(__FILE__, __LINE__, "chain app: %s", diag.msg);
        return;
    }
    /* Two keys in the machine's set (the genesis validator's and one that
     * never runs): no quorum, so nothing is decided while the test runs. */
    static jk_cons_valset vs;
    memset(&vs, 0, sizeof vs);
    vs.count = 2;
    memcpy(vs.keys[0], c->validator.pk, 32);
    memset(vs.keys[1], 0x5A, 32);
    jk_ex_key transport = jk_ex_key_of(0x77);
    jk_node_config cfg = {
        .net = {.listen_host = "127.0.0.1", .listen_port = jk_net_loopback_free_port(SOCK_DGRAM)},
        .secret_key = full ? transport.sk : c->validator.sk,
        .genesis = *g,
        .valset = &vs,
        .self = full ? JK_NODE_FULL : 0,
        .timeouts = {.propose_ms = 400, .propose_delta_ms = 200, .prevote_ms = 200,
                     .prevote_delta_ms = 100, .precommit_ms = 200, .precommit_delta_ms = 100,
                     .tick_ms = 500},
        .archive = jk_node_chain_app_archive(app),
        .height = 1,
        .chain = app,
    };
    jk_net_limits_default(&cfg.net.limits);
    jk_node_chain_app_bind(app, &cfg.app);
    jk_node *n = NULL;
    if (jk_node_new(&cfg, &n, &diag) != JK_OK) {
        jk_test_fail(__FILE__, __LINE__, "node: %s", diag.msg);
        jk_node_chain_app_close(app);
        return;
    }
    jk_rpc_provider p;
    jk_node_rpc_provider(n, &p);
    uint8_t b[256];

    /* A: dave is not on the roll (reason 2) */
    size_t alen = vote_blob(b, 7, &dave, 1);
    uint8_t a_blob[VOTE];
    memcpy(a_blob, b, alen);
    json_object *r = submit(&p, g, "dispatch:0", a_blob, alen, &dave);
    JK_CHECK(r && !admitted(r));
    JK_CHECK(field_str(r, "reason") &&
             !strcmp(field_str(r, "reason"),
                     "verify did not HALT: program fault, reason 2: voter not on the roll"));
    JK_CHECK_EQ(field_int(r, "code"), 2);
    json_object_put(r);

    /* B, another event: no poll 9 (reason 4); its own reason, not A's */
    r = submit(&p, g, "dispatch:0", b, vote_blob(b, 9, &alice, 1), &alice);
    JK_CHECK(r && !admitted(r));
    JK_CHECK(field_str(r, "reason") &&
             !strcmp(field_str(r, "reason"),
                     "verify did not HALT: program fault, reason 4: no such poll"));
    JK_CHECK_EQ(field_int(r, "code"), 4);
    json_object_put(r);

    /* A again: refused before, with A's reason and code (not B's) */
    r = submit(&p, g, "dispatch:0", a_blob, alen, &dave);
    JK_CHECK(r && !admitted(r));
    JK_CHECK(field_str(r, "reason") &&
             !strcmp(field_str(r, "reason"),
                     "already refused when first seen: verify did not HALT: program fault, "
                     "reason 2: voter not on the roll"));
    JK_CHECK_EQ(field_int(r, "code"), 2);
    json_object_put(r);

    /* an admitted event after the refusals: no reason, no code */
    size_t olen = open_blob(b, 7, &alice, 2);
    r = submit(&p, g, "transact", b, olen, &alice);
    JK_CHECK(admitted(r));
    JK_CHECK(has_field(r, "event_hash"));
    JK_CHECK(!has_field(r, "reason") && !has_field(r, "code"));
    json_object_put(r);

    /* the open again: in the pool (a duplicate carries no verify code) */
    r = submit(&p, g, "transact", b, olen, &alice);
    JK_CHECK(r && !admitted(r));
    JK_CHECK(field_str(r, "reason") && !strcmp(field_str(r, "reason"), "already in the pool"));
    JK_CHECK(!has_field(r, "code"));
    json_object_put(r);

    /* the chain app's own verdict, by event hash: the last call's only */
    jk_chain_event ev = {JK_CHAIN_ENDPOINT_TRANSACT, b, olen};
    jk_hash id;
    jk_chain_event_hash(&ev, &id);
    jk_node_event_verdict v;
    JK_CHECK(jk_node_chain_app_verdict(app, &id, &v));
    JK_CHECK_EQ(v.kind, JK_NODE_VERDICT_IN_POOL);
    jk_chain_event eva = {jk_chain_endpoint_dispatch(0), a_blob, alen};
    jk_chain_event_hash(&eva, &id);
    JK_CHECK(!jk_node_chain_app_verdict(app, &id, &v)); /* A's is not the last */
    /* without the hash (the RPC's submit, session 8): the last verdict
     * until cleared, then none until the next add_event */
    JK_CHECK(jk_node_chain_app_verdict_take(app, &v));
    JK_CHECK_EQ(v.kind, JK_NODE_VERDICT_IN_POOL);
    jk_node_chain_app_verdict_clear(app);
    JK_CHECK(!jk_node_chain_app_verdict_take(app, &v));

    jk_node_free(n);
    jk_node_chain_app_close(app);
}

JK_TEST(test_poll_submit_says_why)
{
    jk_ex_chain c;
    JK_REQUIRE(jk_ex_open(&c, "examples/poll/poll-spec.json", NULL, NULL, NULL, 0));
    for (int full = 0; full < 2; full++) {
        char dir[512];
        JK_REQUIRE(jk_test_tmpdir(full ? "poll-submit-full" : "poll-submit", dir, sizeof dir));
        run(&c, dir, full);
        jk_test_rm_tree(dir);
    }
    jk_ex_close(&c);
}

/* jk_node_chain_app_submit answers with the same verdicts directly, and a
 * refusal that is not verify's own FAULT (a bad signature) has no code. */
JK_TEST(test_poll_submit_verdict_kinds)
{
    jk_ex_chain c;
    JK_REQUIRE(jk_ex_open(&c, "examples/poll/poll-spec.json", NULL, NULL, NULL, 0));
    char dir[512];
    JK_REQUIRE(jk_test_tmpdir("poll-verdicts", dir, sizeof dir));
    jk_node_chain_app *app = NULL;
    JK_REQUIRE(jk_node_chain_app_open(dir, c.validator.sk, &c.g, &app, NULL) == JK_OK);
    const jk_ex_key alice = jk_ex_key_of(1), bob = jk_ex_key_of(2);
    uint8_t b[256], *bytes = NULL;
    size_t len = 0;
    jk_node_event_verdict v;
    /* bob's open signed by alice: verify's attest finds no trace by bob */
    size_t olen = open_blob(b, 3, &bob, 5);
    jk_chain_trace t;
    jk_chain_trace_sign(alice.sk, &c.g.genesis_hash, b, olen, &t);
    jk_chain_event ev = {JK_CHAIN_ENDPOINT_TRANSACT, b, olen};
    JK_REQUIRE(jk_node_event_encode(&ev, &t, 1, &bytes, &len) == JK_OK);
    JK_CHECK(!jk_node_chain_app_submit(app, bytes, len, &v));
    JK_CHECK_EQ(v.kind, JK_NODE_VERDICT_REFUSED);
    JK_CHECK(!v.has_code);
    JK_CHECK(v.reason[0] != 0);
    free(bytes);
    /* 33 traces, one over the spec's max_event_traces: the chain's bound,
     * before verify runs */
    open_blob(b, 5, &bob, 5);
    jk_chain_trace many[33];
    for (size_t i = 0; i < 33; i++)
        jk_chain_trace_sign(bob.sk, &c.g.genesis_hash, b, olen, &many[i]);
    JK_REQUIRE(jk_node_event_encode(&ev, many, 33, &bytes, &len) == JK_OK);
    JK_CHECK(!jk_node_chain_app_submit(app, bytes, len, &v));
    JK_CHECK_EQ(v.kind, JK_NODE_VERDICT_OVER_BOUNDS);
    JK_CHECK(!v.has_code);
    JK_CHECK(strstr(v.reason, "33 traces") != NULL);
    /* a bound's refusal does not stick (it may be transient: the pool
     * full): sent again, the event is judged again, not "already refused" */
    JK_CHECK(!jk_node_chain_app_submit(app, bytes, len, &v));
    JK_CHECK_EQ(v.kind, JK_NODE_VERDICT_OVER_BOUNDS);
    free(bytes);
    /* and the same blob with one good trace (the same event hash) is
     * admitted */
    jk_chain_trace_sign(bob.sk, &c.g.genesis_hash, b, olen, &t);
    JK_REQUIRE(jk_node_event_encode(&ev, &t, 1, &bytes, &len) == JK_OK);
    JK_CHECK(jk_node_chain_app_submit(app, bytes, len, &v));
    JK_CHECK_EQ(v.kind, JK_NODE_VERDICT_ADMITTED);
    free(bytes);
    /* a malformed gossip encoding */
    uint8_t junk[5] = {0};
    JK_CHECK(!jk_node_chain_app_submit(app, junk, sizeof junk, &v));
    JK_CHECK_EQ(v.kind, JK_NODE_VERDICT_MALFORMED);
    JK_CHECK(strstr(v.reason, "not within") != NULL);
    /* admitted (another poll: the same blob would be a repeat): kind
     * ADMITTED, empty reason */
    olen = open_blob(b, 4, &bob, 5);
    jk_chain_trace_sign(bob.sk, &c.g.genesis_hash, b, olen, &t);
    JK_REQUIRE(jk_node_event_encode(&ev, &t, 1, &bytes, &len) == JK_OK);
    JK_CHECK(jk_node_chain_app_submit(app, bytes, len, &v));
    JK_CHECK_EQ(v.kind, JK_NODE_VERDICT_ADMITTED);
    JK_CHECK(v.reason[0] == 0 && !v.has_code);
    free(bytes);
    jk_node_chain_app_close(app);
    jk_test_rm_tree(dir);
    jk_ex_close(&c);
}
