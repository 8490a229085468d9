/* test_poll_batch.c — issue 13 (adv8's finding, docs/outsider.md): the
 * events of one JSON-RPC batch meet in one block. A lone `jark node`
 * validator on the poll chain, idle (a long empty-blocks interval), gets
 * three opens in one batch over HTTP (jk_rpc_call_batch, as `jark event
 * submit` sends a file). Before the fix the first submit ended the wait and
 * the validator decided a block holding it alone inside that input; the
 * other two went to the next height. Now the machine is held over the
 * server's pass (jk_cons_hold), and exactly one block holds all three. */
#include "../test.h"
#include "example_chain.h"
#include "poll_blobs.h"
#include "../progs.h"

#include "jark/net.h"
#include "jark/node.h"
#include "jark/rpc.h"

#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

enum { PB_EVENTS = 3 };

typedef struct pb_client {
    uint16_t port;
    const jk_hash *genesis;
    volatile int stop;
    int admitted;   /* of the batch's calls */
    bool answered;  /* the batch had an answer */
    bool drained;   /* the pool emptied after it */
} pb_client;

/* submit_event's params for alice's open of poll id */
static char *pb_params(const jk_hash *g, uint64_t id)
{
    const jk_ex_key alice = jk_ex_key_of(1);
    uint8_t b[OPEN];
    size_t len = open_blob(b, id, &alice, 5);
    jk_chain_trace t;
    jk_chain_trace_sign(alice.sk, g, b, len, &t);
    char hb[2 * OPEN + 1], hk[65], hm[65], hs[129];
    jk_rpc_hex_encode(b, len, hb);
    jk_rpc_hex_encode(t.key, 32, hk);
    jk_rpc_hex_encode(t.msg_hash.bytes, 32, hm);
    jk_rpc_hex_encode(t.sig, 64, hs);
    char *p = malloc(512);
    if (p)
        snprintf(p, 512, "[\"transact\",\"%s\",[[\"%s\",\"%s\",\"%s\"]]]", hb, hk, hm, hs);
    return p;
}

static int64_t pb_pool_size(uint16_t port)
{
    char *res = NULL;
    int64_t size = -1;
    if (jk_rpc_call("127.0.0.1", port, "status", NULL, &res, NULL) == JK_OK) {
        json_object *o = json_tokener_parse(res), *v;
        if (o && json_object_object_get_ex(o, "pool_size", &v))
            size = json_object_get_int64(v);
        json_object_put(o);
    }
    free(res);
    return size;
}

static void *pb_client_run(void *arg)
{
    pb_client *c = arg;
    char *params[PB_EVENTS] = {0}, *results[PB_EVENTS] = {0};
    jk_err errs[PB_EVENTS];
    bool made = true;
    for (int i = 0; i < PB_EVENTS; i++)
        made &= (params[i] = pb_params(c->genesis, 7 + (uint64_t)i)) != NULL;
    if (made && jk_rpc_call_batch("127.0.0.1", c->port, "submit_event", (const char *const *)params, PB_EVENTS,
                                  results, errs, NULL) == JK_OK) {
        c->answered = true;
        for (int i = 0; i < PB_EVENTS; i++) {
            json_object *o = errs[i] == JK_OK ? json_tokener_parse(results[i]) : NULL, *v;
            c->admitted += o && json_object_object_get_ex(o, "admitted", &v) && json_object_get_boolean(v);
            json_object_put(o);
        }
    }
    /* until the pool is empty again: the events are in committed blocks
     * (a bound, not a timing: the node commits them at its own pace) */
    for (int tries = 0; c->answered && tries < 3000 && !c->drained; tries++) {
        c->drained = pb_pool_size(c->port) == 0;
        if (!c->drained)
            nanosleep(&(struct timespec){0, 10000000}, NULL);
    }
    for (int i = 0; i < PB_EVENTS; i++) {
        free(params[i]);
        free(results[i]);
    }
    c->stop = 1;
    return NULL;
}

JK_TEST(test_poll_batch_meets_in_one_block)
{
    jk_ex_chain c;
    JK_REQUIRE(jk_ex_open(&c, "examples/poll/poll-spec.json", NULL, NULL, NULL, 0));
    char dir[512];
    JK_REQUIRE(jk_test_tmpdir("poll-batch", dir, sizeof dir));
    jk_node_chain_app *app = NULL;
    jk_diag diag = {{0}};
    JK_REQUIRE(jk_node_chain_app_open(dir, c.validator.sk, &c.g, &app, &diag) == JK_OK);
    static jk_cons_valset vs;
    jk_node_chain_app_valset(app, &vs);
    JK_REQUIRE(vs.count == 1);
    jk_node_config cfg = {
        .net = {.listen_host = "127.0.0.1", .listen_port = jk_net_loopback_free_port(SOCK_DGRAM)},
        .secret_key = c.validator.sk,
        .genesis = c.g.genesis_hash,
        .valset = &vs,
        .self = 0,
        .timeouts = {.propose_ms = 400, .propose_delta_ms = 200, .prevote_ms = 200,
                     .prevote_delta_ms = 100, .precommit_ms = 200, .precommit_delta_ms = 100,
                     .tick_ms = 500, .empty_blocks_ms = 600000},
        .archive = jk_node_chain_app_archive(app),
        .height = 1,
        .chain = app,
        .rpc = true,
        .rpc_host = "127.0.0.1",
        .rpc_port = jk_net_loopback_free_port(SOCK_STREAM),
    };
    jk_net_limits_default(&cfg.net.limits);
    jk_node_chain_app_bind(app, &cfg.app);
    jk_node *n = NULL;
    JK_REQUIRE(jk_node_new(&cfg, &n, &diag) == JK_OK);

    pb_client cl = {.port = jk_node_rpc_port(n), .genesis = &c.g.genesis_hash};
    pthread_t th;
    JK_REQUIRE(pthread_create(&th, NULL, pb_client_run, &cl) == 0);
    jk_err run = jk_node_run(n, &cl.stop, 0, &diag);
    pthread_join(th, NULL);
    JK_CHECK_EQ(run, JK_OK);
    JK_CHECK(cl.answered);
    JK_CHECK_EQ(cl.admitted, PB_EVENTS);
    JK_CHECK(cl.drained);

    /* every committed block: exactly one holds events, and it holds all */
    jk_node_info info;
    jk_node_info_get(n, &info);
    jk_rpc_provider p;
    jk_node_rpc_provider(n, &p);
    int with_events = 0;
    size_t in_it = 0;
    for (uint64_t h = 1; h <= info.height; h++) {
        jk_rpc_block_query q = {.height = h};
        jk_rpc_buf block = {0}, cert = {0};
        jk_chain_block b;
        if (p.block(p.ctx, &q, &block, &cert, NULL) == JK_OK &&
            jk_chain_block_decode(block.data, block.len, &b, NULL) == JK_OK) {
            if (b.event_count) {
                with_events++;
                in_it = b.event_count;
            }
            jk_chain_block_free(&b);
        }
        free(block.data);
        free(cert.data);
    }
    JK_CHECK_EQ(with_events, 1);
    JK_CHECK_EQ(in_it, PB_EVENTS);

    jk_node_free(n);
    jk_node_chain_app_close(app);
    jk_test_rm_tree(dir);
    jk_ex_close(&c);
}
