/* test_node_admission.c — session 9, a node's admissions around its
 * consensus work:
 *
 * - a JSON-RPC batch of submit_event calls is verified together
 *   (jk_rpc_provider.submit_batch, the node's jk_nrpc_submit_batch:
 *   jk_node_chain_app_prepare) before each call is answered, and the
 *   answers, the pool and the verify runs are those of the same calls
 *   answered one by one;
 * - gossiped events are admitted a slice at a time (JK_NODE_SLICE), and a
 *   consensus message that arrives while events are queued is taken before
 *   the next slice.
 *
 * Validators of the demo chain (fx), each wrapped in an in-process jk_node
 * with no peer connected (nothing is decided while the test runs).
 */
#include "chain_app_fx.h"

#include "../../src/net/internal.h"
#include "../../src/node/node_internal.h"

#include "jark/crypto.h"
#include "jark/net.h"
#include "jark/rpc.h"

#include <stdio.h>
#include <string.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>

/* The JSON-RPC batch of submit_event calls for events [first, first + n) of
 * the gossip, ids from 1; `tamper` (when < n) has its blob's byte 9 flipped
 * after signing. */
static char *batch_body(const jk_gossip *g, size_t first, size_t n, size_t tamper, size_t repeat_of,
                        size_t repeat_at)
{
    size_t cap = 1024 + (n + 1) * 1024;
    char *body = malloc(cap);
    if (!body)
        return NULL;
    size_t at = 0;
    at += (size_t)snprintf(body + at, cap - at, "[");
    for (size_t k = 0; k <= n; k++) {
        size_t e;
        if (k == n) {
            if (repeat_at != n)
                break;
            e = first + repeat_of; /* the repeat, last */
        } else {
            e = first + k;
        }
        const jk_chain_event *ev = &g->events[e];
        uint8_t blob[96];
        memcpy(blob, ev->blob, ev->blob_len);
        if (k == tamper)
            blob[9] ^= 1;
        char hb[2 * 96 + 1], hk[65], hm[65], hs[129];
        jk_rpc_hex_encode(blob, ev->blob_len, hb);
        const jk_chain_trace *t = g->trace_ptrs[e];
        jk_rpc_hex_encode(t->key, 32, hk);
        jk_rpc_hex_encode(t->msg_hash.bytes, 32, hm);
        jk_rpc_hex_encode(t->sig, 64, hs);
        at += (size_t)snprintf(body + at, cap - at,
                               "%s{\"jsonrpc\":\"2.0\",\"id\":%zu,\"method\":\"submit_event\","
                               "\"params\":[\"transact\",\"%s\",[[\"%s\",\"%s\",\"%s\"]]]}",
                               k ? "," : "", k + 1, hb, hk, hm, hs);
    }
    snprintf(body + at, cap - at, "]");
    return body;
}

static char *answer(const jk_rpc_provider *p, const char *body)
{
    jk_rpc_parsed parsed;
    if (jk_rpc_parse((const uint8_t *)body, strlen(body), &parsed) != JK_OK)
        return NULL;
    char *out = NULL;
    size_t olen = 0;
    jk_err err = jk_rpc_answer(p, &parsed, &out, &olen);
    jk_rpc_parsed_free(&parsed);
    return err == JK_OK ? out : NULL;
}

static jk_node *wrap(fx *f, uint32_t i, uint16_t port)
{
    static jk_cons_valset vs;
    jk_node_chain_app_valset(f->apps[0], &vs);
    jk_node_config cfg = {
        .net = {.listen_host = "127.0.0.1", .listen_port = port},
        .secret_key = f->keys[i].sk,
        .genesis = f->genesis.genesis_hash,
        .valset = &vs,
        .self = i,
        .timeouts = {.propose_ms = 60000, .propose_delta_ms = 1000, .prevote_ms = 60000,
                     .prevote_delta_ms = 1000, .precommit_ms = 60000, .precommit_delta_ms = 1000,
                     .tick_ms = 60000},
        .archive = jk_node_chain_app_archive(f->apps[i]),
        .height = 1,
        .chain = f->apps[i],
    };
    jk_net_limits_default(&cfg.net.limits);
    jk_node_chain_app_bind(f->apps[i], &cfg.app);
    jk_node *n = NULL;
    jk_diag diag = {{0}};
    if (jk_node_new(&cfg, &n, &diag) != JK_OK) {
        fprintf(stderr, "node %u: %s\n", i, diag.msg);
        return NULL;
    }
    return n;
}

/* The demo fixture with block 1's gossip of `transfers` transfers made. */
static bool fx_with_block(fx *f, uint32_t transfers)
{
    if (!fx_make(f))
        return false;
    jk_devnet_demo_block(&f->demo, &f->genesis.genesis_hash, 1, transfers, &f->gossip);
    return f->gossip.n >= transfers;
}

/* The same batch body — transfers, a repeat within the batch, a transfer
 * whose blob was changed after signing, a second batch with repeats of the
 * first — goes through jk_rpc_answer to node 0's provider as the node makes
 * it and to node 1's with the batch hook taken away. The batch path shows in
 * the kernel's attests_deferred (only a prepared verify defers its
 * signature checks), which is 0 without it. */
JK_TEST(test_node_rpc_batch_verified_together_same_answers)
{
    static fx f;
    JK_REQUIRE(fx_with_block(&f, 24));
    jk_node *n0 = wrap(&f, 0, jk_net_loopback_free_port(SOCK_DGRAM));
    jk_node *n1 = n0 ? wrap(&f, 1, jk_net_loopback_free_port(SOCK_DGRAM)) : NULL;
    JK_REQUIRE(n0 && n1);
    jk_rpc_provider p0, p1;
    jk_node_rpc_provider(n0, &p0);
    jk_node_rpc_provider(n1, &p1);
    JK_CHECK(p0.submit_batch != NULL && p0.submit_batch_end != NULL);
    p1.submit_batch = NULL; /* one by one, as before */
    p1.submit_batch_end = NULL;

    /* 16 transfers, the 6th tampered (refused: its signature fails), the
     * 3rd repeated at the end; then 8 more with the first 4 of the first
     * batch again (in the pool now) */
    char *b1 = batch_body(&f.gossip, 0, 16, 5, 2, 16);
    char *b2 = batch_body(&f.gossip, 12, 12, SIZE_MAX, 0, SIZE_MAX);
    JK_REQUIRE(b1 && b2);
    const char *bodies[2] = {b1, b2};
    for (int b = 0; b < 2; b++) {
        char *a0 = answer(&p0, bodies[b]);
        char *a1 = answer(&p1, bodies[b]);
        JK_CHECK(a0 && a1 && strcmp(a0, a1) == 0);
        if (b == 0) /* the tampered one refused, the repeat in the pool */
            JK_CHECK(a0 && strstr(a0, "already in the pool") && strstr(a0, "\"admitted\":false"));
        free(a0);
        free(a1);
    }
    free(b1);
    free(b2);

    jk_node_chain_app_stats s0 = fx_stats(&f, 0), s1 = fx_stats(&f, 1);
    JK_CHECK_EQ(s0.events_admitted, 23); /* 24 distinct, one tampered */
    JK_CHECK_EQ(s1.events_admitted, s0.events_admitted);
    JK_CHECK_EQ(s1.events_refused, s0.events_refused);
    JK_CHECK_EQ(s1.verify_runs, s0.verify_runs);
    const jk_chain_kernel *k0 = jk_node_chain_app_validator(f.apps[0])->ck;
    const jk_chain_kernel *k1 = jk_node_chain_app_validator(f.apps[1])->ck;
    JK_CHECK_EQ(k0->pool_count, k1->pool_count);
    for (size_t j = 0; j < k0->pool_count && j < k1->pool_count; j++)
        JK_CHECK_MEM(k0->pool[j].hash.bytes, k1->pool[j].hash.bytes, 32);
    /* the batch path ran on node 0 only */
    JK_CHECK(k0->stats.attests_deferred >= 23);
    JK_CHECK_EQ(k1->stats.attests_deferred, 0);

    jk_node_free(n0);
    jk_node_free(n1);
    fx_free(&f);
}

/* gossip event e as the RPC layer hands it over (borrowing g's bytes) */
static jk_rpc_event rpc_event(jk_gossip *g, size_t e, jk_chain_trace *trace)
{
    *trace = *g->trace_ptrs[e];
    return (jk_rpc_event){g->events[e].endpoint, (uint8_t *)g->events[e].blob,
                          g->events[e].blob_len, trace, 1};
}

/* BLAKE2b-256 of e's gossip encoding: what submit_event answers as event_hash. */
static void enc_hash(const jk_rpc_event *e, jk_hash *out)
{
    jk_chain_event ce = {e->endpoint, e->blob, e->blob_len};
    uint8_t *bytes = NULL;
    size_t len = 0;
    memset(out, 0, sizeof *out);
    if (jk_node_event_encode(&ce, e->traces, e->trace_count, &bytes, &len) == JK_OK)
        jk_crypto_blake2b256(bytes, len, out);
    free(bytes);
}

/* The batch hint keeps each encoding with its hash (session 12), and a
 * submit answers the kept hash only for the very event it was computed
 * from: here the hint holds A, a copy of B whose signature was changed
 * (same endpoint and blob: only its trace differs) and C, and the submits
 * are D (never hinted), the genuine B, C and A out of the hint's order.
 * Each admitted answer's event_hash is its own encoding's; B's is not the
 * changed copy's, and the changed copy, submitted last, is refused. */
JK_TEST(test_node_rpc_hint_hash_is_the_events_own)
{
    static fx f;
    JK_REQUIRE(fx_with_block(&f, 8));
    jk_node *n0 = wrap(&f, 0, jk_net_loopback_free_port(SOCK_DGRAM));
    JK_REQUIRE(n0);
    jk_rpc_provider p;
    jk_node_rpc_provider(n0, &p);
    jk_chain_trace ta, tb, tbx, tc, td;
    jk_rpc_event a = rpc_event(&f.gossip, 0, &ta), b = rpc_event(&f.gossip, 1, &tb);
    jk_rpc_event bx = rpc_event(&f.gossip, 1, &tbx), c = rpc_event(&f.gossip, 2, &tc);
    jk_rpc_event d = rpc_event(&f.gossip, 3, &td);
    tbx.sig[7] ^= 0x40;
    const jk_rpc_event *hint[3] = {&a, &bx, &c};
    p.submit_batch(p.ctx, hint, 3);
    JK_REQUIRE(n0->rpc_hint != NULL);
    const jk_rpc_event *order[5] = {&d, &b, &c, &a, &bx};
    jk_rpc_submit_result r[5];
    for (int i = 0; i < 5; i++) {
        jk_diag diag = {{0}};
        JK_REQUIRE(p.submit_event(p.ctx, order[i], &r[i], &diag) == JK_OK);
    }
    p.submit_batch_end(p.ctx);
    JK_CHECK(n0->rpc_hint == NULL);
    for (int i = 0; i < 4; i++) {
        jk_hash want;
        enc_hash(order[i], &want);
        JK_CHECK(r[i].admitted);
        JK_CHECK_MEM(r[i].event_hash.bytes, want.bytes, JK_HASH_SIZE);
    }
    jk_hash bxh;
    enc_hash(&bx, &bxh);
    JK_CHECK(memcmp(r[1].event_hash.bytes, bxh.bytes, JK_HASH_SIZE) != 0);
    JK_CHECK(!r[4].admitted);
    static const jk_hash zero;
    JK_CHECK_MEM(r[4].event_hash.bytes, zero.bytes, JK_HASH_SIZE);
    jk_node_free(n0);
    fx_free(&f);
}

/* An EVENT message (the consensus layer's gossip of one event) carrying
 * the gossip encoding of event e. */
static size_t event_msg(const jk_gossip *g, size_t e, uint8_t *out, size_t cap)
{
    uint8_t *bytes = NULL;
    size_t len = 0;
    if (jk_node_event_encode(&g->events[e], g->trace_ptrs[e], g->counts[e], &bytes, &len) != JK_OK ||
        len + 5 > cap) {
        free(bytes);
        return 0;
    }
    out[0] = JK_CONS_MSG_EVENT;
    jk_put_u32le(out + 1, (uint32_t)len);
    memcpy(out + 5, bytes, len);
    free(bytes);
    return len + 5;
}

/* Queue `count` gossiped events at n's transport, from transport peer
 * `peer`. */
static bool queue_events(fx *f, jk_node *n, uint32_t peer, size_t count)
{
    static uint8_t msg[1024];
    size_t queued = 0;
    for (uint64_t h = 1; queued < count; h++) {
        jk_devnet_demo_block(&f->demo, &f->genesis.genesis_hash, h, 60, &f->gossip);
        for (size_t e = 0; e < f->gossip.n && queued < count; e++) {
            size_t len = event_msg(&f->gossip, e, msg, sizeof msg);
            if (len == 0)
                return false;
            jk_net_emit(n->net, JK_NET_EV_FRAME, peer, JK_NET_REASON_NONE, JK_NET_EVENTS, msg, len);
            queued++;
        }
    }
    return true;
}

/* 300 gossiped events queued at once are taken 128, 128, then 44, one
 * slice a pass; a consensus message (here a malformed one: its peer is
 * dropped and counted, so it shows when it was taken) that arrives after
 * the first pass is taken at the start of the second, before that pass's
 * slice, not after the 172 events queued before it. */
JK_TEST(test_node_events_admitted_a_slice_at_a_time)
{
    static fx f;
    JK_REQUIRE(fx_make(&f));
    jk_node *n = wrap(&f, 0, jk_net_loopback_free_port(SOCK_DGRAM));
    JK_REQUIRE(n);
    jk_net_peer_config pc = {.host = NULL};
    memcpy(pc.key, f.pks[1], 32); /* validator 1, not connected */
    uint32_t peer;
    JK_REQUIRE(jk_net_add_peer(n->net, &pc, &peer) == JK_OK);
    enum { EVENTS = 300 };
    JK_REQUIRE(queue_events(&f, n, peer, EVENTS));
    jk_diag diag = {{0}};
    JK_REQUIRE(jk_node_drain_net(n, 1000, &diag) == JK_OK);
    JK_CHECK_EQ(jk_net_queued(n->net), EVENTS - JK_NODE_SLICE);
    uint64_t first = fx_stats(&f, 0).events_admitted;
    JK_CHECK(first > 0 && first <= JK_NODE_SLICE);
    const uint8_t bad[3] = {0xEE, 1, 2};
    jk_net_emit(n->net, JK_NET_EV_FRAME, peer, JK_NET_REASON_NONE, JK_NET_CONSENSUS, bad, sizeof bad);
    JK_REQUIRE(jk_node_drain_net(n, 1000, &diag) == JK_OK);
    jk_node_info info;
    jk_node_info_get(n, &info);
    JK_CHECK_EQ(info.bad_peers, 1); /* taken in this pass, before its slice */
    JK_CHECK_EQ(jk_net_queued(n->net), EVENTS - 2 * JK_NODE_SLICE);
    JK_REQUIRE(jk_node_drain_net(n, 1000, &diag) == JK_OK);
    JK_CHECK_EQ(jk_net_queued(n->net), 0);
    jk_node_free(n);
    fx_free(&f);
}

/* A peer's QUIC packets are read and acknowledged inside a slice of
 * admissions (session 13, JK_NODE_POLL_EVERY): a peer sends a 200 KB
 * frame, whose first window waits in the node's socket while the node
 * admits a slice of queued events. The node reads that window and
 * acknowledges it during the slice, so the peer, stepped once after it,
 * hands ngtcp2 more of the frame. Without the steps inside the slice the
 * node reads nothing until its next step and the peer's window stays
 * shut. Nothing here depends on timing: the peer's datagrams are in the
 * node's socket before the slice starts (loopback), and the node steps
 * nowhere else. */
JK_TEST(test_node_acknowledges_inside_a_slice)
{
    static fx f;
    JK_REQUIRE(fx_make(&f));
    jk_node *n = wrap(&f, 0, jk_net_loopback_free_port(SOCK_DGRAM));
    JK_REQUIRE(n);
    jk_net_config bc = {.listen_host = "127.0.0.1", .dial_at_once = true};
    bc.secret_key = f.keys[1].sk;
    bc.genesis_hash = f.genesis.genesis_hash.bytes;
    jk_net_limits_default(&bc.limits);
    jk_net *b = NULL;
    jk_diag diag = {{0}};
    JK_REQUIRE(jk_net_create(&bc, &b, &diag) == JK_OK);
    jk_net_peer_config pc = {.host = "127.0.0.1", .port = jk_node_listen_port(n)};
    memcpy(pc.key, f.pks[0], 32);
    uint32_t to_node;
    JK_REQUIRE(jk_net_add_peer(b, &pc, &to_node) == JK_OK);
    bool up = false;
    for (int i = 0; i < 2000 && !up; i++) {
        JK_REQUIRE(jk_net_step(b, jk_node_now_ms(), 1) == JK_OK);
        JK_REQUIRE(jk_net_step(n->net, jk_node_now_ms(), 1) == JK_OK);
        jk_net_event ev;
        while (jk_net_next_event(b, &ev))
            up |= ev.type == JK_NET_EV_PEER_UP;
    }
    JK_REQUIRE(up);
    for (int i = 0; i < 20; i++) { /* the handshake's last packets settle */
        JK_REQUIRE(jk_net_step(b, jk_node_now_ms(), 1) == JK_OK);
        JK_REQUIRE(jk_net_step(n->net, jk_node_now_ms(), 1) == JK_OK);
    }
    static uint8_t big[200000];
    memset(big, 0xEE, sizeof big); /* not a message: never decoded here */
    JK_REQUIRE(jk_net_send(b, to_node, JK_NET_CONSENSUS, big, sizeof big) == JK_OK);
    jk_net_flush(b); /* the first window leaves */
    uint64_t unsent = jk_net_unsent(b, to_node);
    JK_REQUIRE(unsent > 0 && unsent < sizeof big); /* a first window left */

    jk_net_peer_config fake = {.host = NULL};
    memcpy(fake.key, f.pks[2], 32); /* validator 2, not connected */
    uint32_t peer;
    JK_REQUIRE(jk_net_add_peer(n->net, &fake, &peer) == JK_OK);
    JK_REQUIRE(queue_events(&f, n, peer, JK_NODE_SLICE));
    jk_net_stats before, after;
    jk_net_stats_get(n->net, &before);
    JK_REQUIRE(jk_node_drain_net(n, jk_node_now_ms(), &diag) == JK_OK);
    jk_net_stats_get(n->net, &after);
    JK_CHECK(fx_stats(&f, 0).events_admitted > 0);
    JK_CHECK(after.datagrams_in > before.datagrams_in);   /* read inside the slice */
    JK_CHECK(after.datagrams_out > before.datagrams_out); /* and acknowledged */
    JK_REQUIRE(jk_net_step(b, jk_node_now_ms(), 0) == JK_OK);
    JK_CHECK(jk_net_unsent(b, to_node) < unsent); /* its window opened */
    jk_net_destroy(b);
    jk_node_free(n);
    fx_free(&f);
}

/* ---- the top from memory (session 10) ---------------------------------- */

/* The store's writer of a height, held inside its transaction until the
 * test releases it (jk_node_archive_set_write_hook). */
typedef struct top_hold {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool inside, released, answered;
    const jk_rpc_provider *p;
    char *status, *by_height, *by_hash;
    char hash_hex[65];
} top_hold;

static void top_hook(void *ctx, uint64_t height)
{
    (void)height;
    top_hold *t = ctx;
    pthread_mutex_lock(&t->mu);
    t->inside = true;
    pthread_cond_broadcast(&t->cv);
    while (!t->released)
        pthread_cond_wait(&t->cv, &t->mu);
    pthread_mutex_unlock(&t->mu);
}

static void top_ask(top_hold *t)
{
    char body[256];
    t->status = answer(t->p, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"status\"}");
    t->by_height = answer(t->p, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"block\",\"params\":[1]}");
    snprintf(body, sizeof body,
             "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"block\",\"params\":[\"%s\"]}", t->hash_hex);
    t->by_hash = answer(t->p, body);
}

static void *top_asker(void *arg)
{
    top_hold *t = arg;
    top_ask(t);
    pthread_mutex_lock(&t->mu);
    t->answered = true;
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

/* A node's status and a block request for the height it has just
 * committed are answered while the store's writer is still writing that
 * height (node_rpc.c "The top from memory"): they read the archive before,
 * and every read of the store waits for the write in progress, so the
 * node's one thread slept through it (the testnet's watch asks every node
 * right after each commit). The answers are the archive's once the write is
 * done, byte for byte. The wait for the answers has a bound only a failure
 * reaches (without the copy they wait for the held write). */
JK_TEST(test_node_rpc_top_answered_while_its_write_waits)
{
    static fx f;
    JK_REQUIRE(fx_make(&f));
    jk_node *n = wrap(&f, 0, jk_net_loopback_free_port(SOCK_DGRAM));
    JK_REQUIRE(n);
    jk_rpc_provider p;
    jk_node_rpc_provider(n, &p);
    static top_hold t;
    pthread_mutex_init(&t.mu, NULL);
    pthread_cond_init(&t.cv, NULL);
    t.p = &p;
    jk_node_archive_set_write_hook(jk_node_chain_app_archive(f.apps[0]), top_hook, &t);

    /* height 1 with 8 transfers, produced by its proposer, checked by
     * validator 0 and committed through its node's commit, as its machine
     * would */
    JK_REQUIRE(fx_gossip(&f, 1, 8) == 8);
    uint32_t pr = jk_chain_proposer_index(V, 1, 0);
    uint8_t *v = NULL;
    size_t len = 0;
    JK_REQUIRE(f.cb[pr].get_value(f.apps[pr], 1, 0, &v, &len) == JK_OK);
    JK_REQUIRE(pr == 0 || f.cb[0].valid(f.apps[0], 1, v, len));
    jk_hash id;
    f.cb[0].hash(f.apps[0], v, len, &id);
    jk_rpc_hex_encode(id.bytes, 32, t.hash_hex);
    static jk_cons_cert cert;
    fx_cert(&f, 1, 0, &id, &cert);
    JK_REQUIRE(jk_node_commit(n, 1, v, len, &cert) == JK_OK);
    free(v);

    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 120;
    pthread_mutex_lock(&t.mu);
    while (!t.inside && pthread_cond_timedwait(&t.cv, &t.mu, &until) == 0)
        ;
    bool inside = t.inside;
    pthread_mutex_unlock(&t.mu);
    JK_CHECK(inside); /* the write of height 1 is held */

    pthread_t th;
    JK_REQUIRE(pthread_create(&th, NULL, top_asker, &t) == 0);
    pthread_mutex_lock(&t.mu);
    while (!t.answered && pthread_cond_timedwait(&t.cv, &t.mu, &until) == 0)
        ;
    bool answered = t.answered; /* while the write was held */
    t.released = true;
    pthread_cond_broadcast(&t.cv);
    pthread_mutex_unlock(&t.mu);
    pthread_join(th, NULL);
    JK_CHECK(answered);
    JK_REQUIRE(t.status && t.by_height && t.by_hash);
    JK_CHECK(strstr(t.status, "\"height\":1") != NULL);
    JK_CHECK(strstr(t.status, t.hash_hex) != NULL);
    JK_CHECK(strstr(t.by_height, "\"event_count\":8") != NULL);
    JK_CHECK(strstr(t.by_height, "\"certificate\"") != NULL);

    /* the write done, the archive answers the same bytes */
    jk_diag diag = {{0}};
    JK_REQUIRE(jk_node_chain_app_durable(f.apps[0], &diag) == JK_OK);
    char *mem[3] = {t.status, t.by_height, t.by_hash};
    n->top_height = 0; /* forgotten: the archive answers */
    top_ask(&t);
    JK_CHECK(t.status && strcmp(t.status, mem[0]) == 0);
    JK_CHECK(t.by_height && strcmp(t.by_height, mem[1]) == 0);
    JK_CHECK(t.by_hash && strcmp(t.by_hash, mem[2]) == 0);
    for (int k = 0; k < 3; k++)
        free(mem[k]);
    free(t.status);
    free(t.by_height);
    free(t.by_hash);
    jk_node_archive_set_write_hook(jk_node_chain_app_archive(f.apps[0]), NULL, NULL);
    jk_node_free(n);
    fx_free(&f);
}
