/* test_node_gas.c — what a peer's relayed events may cost (issue 13,
 * session 16; docs/network.md "Peer costs", src/node/node_gas.c): each
 * relayed event's verify gas is charged to the peer that relayed it; a peer
 * whose refusals are its own fault (bad signatures, verify out of gas) past
 * peer_fault_gas is disconnected and counted, its later events refused
 * unverified; a peer past its gas rate has its events refused unverified;
 * an honest relayer whose events the state refuses (nonces this node's
 * state has not reached) is not punished.
 *
 * One validator of the demo chain (fx) in an in-process jk_node with no
 * peer connected: frames are queued at its transport as two validators'
 * (jk_net_emit) and drained with a fixed `now`, so the buckets never refill
 * and every count is exact. Then the same over the wire: a rogue peer
 * (tests/net/rogue.c) against the node running its loop.
 */
#include "chain_app_fx.h"

#include "../../src/net/internal.h"
#include "../../src/node/node_internal.h"
#include "../net/rogue.h"

#include "jark/crypto.h"
#include "jark/net.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* The transport's index for validator v's key (added, never connected). */
static uint32_t gas_peer(const fx *f, jk_node *n, uint32_t v)
{
    jk_net_peer_config pc = {.host = NULL};
    memcpy(pc.key, f->pks[v], 32);
    uint32_t peer = UINT32_MAX;
    if (jk_net_add_peer(n->net, &pc, &peer) != JK_OK)
        return UINT32_MAX;
    return peer;
}

/* The demo fixture made, validator 0 of it as a node with the peers' gas
 * figures (0: the defaults), and validators 1 and 2 added to its transport
 * as peers[0] and peers[1] (NULL on failure). */
static jk_node *gas_node(fx *f, uint64_t gas_per_s, uint64_t fault_gas, uint32_t peers[2])
{
    static jk_cons_valset vs;
    if (!fx_make(f))
        return NULL;
    jk_node_chain_app_valset(f->apps[0], &vs);
    jk_cons_timeouts slow = {.propose_ms = 60000, .prevote_ms = 60000, .precommit_ms = 60000,
                             .tick_ms = 60000};
    jk_node_config cfg = {.secret_key = f->keys[0].sk, .genesis = f->genesis.genesis_hash,
                          .valset = &vs, .self = 0, .timeouts = slow, .height = 1,
                          .archive = jk_node_chain_app_archive(f->apps[0]), .chain = f->apps[0],
                          .peer_verify_gas_per_s = gas_per_s, .peer_fault_gas = fault_gas};
    cfg.net.listen_host = "127.0.0.1";
    cfg.net.listen_port = jk_net_loopback_free_port(SOCK_DGRAM);
    jk_net_limits_default(&cfg.net.limits);
    jk_node_chain_app_bind(f->apps[0], &cfg.app);
    jk_node *n = NULL;
    jk_diag diag = {{0}};
    if (jk_node_new(&cfg, &n, &diag) != JK_OK) {
        fprintf(stderr, "node: %s\n", diag.msg);
        return NULL;
    }
    peers[0] = gas_peer(f, n, 1);
    peers[1] = gas_peer(f, n, 2);
    if (peers[0] == UINT32_MAX || peers[1] == UINT32_MAX) {
        jk_node_free(n);
        return NULL;
    }
    return n;
}

/* Encoded events batch[0..count) as EVENT frames from `peer`; `forge`:
 * each with its byte 9 (inside the blob, as fx_copy_event) changed after
 * signing: its attest is refused. */
static void gas_emit(jk_node *n, uint32_t peer, uint8_t **batch, const size_t *lens, size_t count,
                     bool forge)
{
    for (size_t e = 0; e < count; e++) {
        uint8_t msg[1024];
        JK_REQUIRE(lens[e] + 5 <= sizeof msg);
        msg[0] = JK_CONS_MSG_EVENT;
        jk_put_u32le(msg + 1, (uint32_t)lens[e]);
        memcpy(msg + 5, batch[e], lens[e]);
        if (forge)
            msg[5 + 9] ^= 1;
        jk_net_emit(n->net, JK_NET_EV_FRAME, peer, JK_NET_REASON_NONE, JK_NET_EVENTS, msg, lens[e] + 5);
    }
}

/* Demo block `height`'s first `count` (≤ 64) transfers emitted from
 * `peer` (gas_emit); the demo's nonces move on with each block made. */
static size_t gas_queue(fx *f, jk_node *n, uint32_t peer, uint64_t height, size_t count, bool forge)
{
    uint8_t *batch[64];
    size_t lens[64], made = fx_batch(f, height, (uint32_t)count, batch, lens, count);
    gas_emit(n, peer, batch, lens, made, forge);
    for (size_t e = 0; e < made; e++)
        free(batch[e]);
    return made;
}

static void gas_drain(jk_node *n)
{
    jk_diag diag = {{0}};
    for (int k = 0; k < 16 && jk_net_queued(n->net) > 0; k++)
        JK_CHECK(jk_node_drain_net(n, 1000, &diag) == JK_OK);
    JK_CHECK_EQ(jk_net_queued(n->net), 0);
}

/* Validator 1 relays 64 transfers whose signatures fail (each a fault,
 * charged JK_NODE_PEER_FAULT_MIN_GAS: its own gas is less), validator 2 64
 * good transfers of block 1 and 64 of block 2 (their nonces one ahead of
 * the state: refused by the state, not the relayer's fault). With the
 * default 32 M fault budget the 33rd forged event takes validator 1 below
 * zero: it is dropped and counted once, and its last 31 events are refused
 * unverified. Validator 2 is never dropped: its 64 good ones are admitted,
 * its 64 early ones refused by verify. Without the charge: 64 verifies of
 * forged events and no drop. */
JK_TEST(test_node_gas_bad_signature_flood_drops_the_relayer_not_the_honest_one)
{
    static fx f;
    uint32_t p[2];
    jk_node *n = gas_node(&f, 0, 0, p);
    JK_REQUIRE(n);
    uint32_t rogue = p[0], honest = p[1];
    JK_REQUIRE(gas_queue(&f, n, honest, 1, 64, false) == 64);
    JK_REQUIRE(gas_queue(&f, n, honest, 2, 64, false) == 64);
    JK_REQUIRE(gas_queue(&f, n, rogue, 3, 64, true) == 64);
    uint64_t runs0 = fx_stats(&f, 0).verify_runs;
    gas_drain(n);
    jk_node_chain_app_stats st = fx_stats(&f, 0);
    JK_CHECK_EQ(n->peers_dropped_gas, 1);
    JK_CHECK_EQ(n->bad_peers, 1);
    JK_CHECK_EQ(n->events_over_rate, 64 - 33);
    JK_CHECK_EQ(st.events_admitted, 64);
    JK_CHECK_EQ(st.verify_runs - runs0, 64 + 64 + 33);
    jk_node_free(n);
    fx_free(&f);
}

/* A chain whose verify burns its whole budget (here the demo's budget cut
 * to 20,000 gas: every transfer runs out, ~38,700 needed) relayed by one
 * peer: each out-of-gas refusal is its fault, charged max(its gas, 1 M);
 * with a fault budget of 4 M the fifth drops it, and the other 11 are
 * refused unverified. Without the charge: 16 verifies, no drop. */
JK_TEST(test_node_gas_verify_out_of_gas_drops_the_relayer)
{
    static fx f;
    uint32_t p[2];
    jk_node *n = gas_node(&f, 0, 4000000, p);
    JK_REQUIRE(n);
    jk_node_chain_app_validator(f.apps[0])->ck->gas.verify = 20000;
    uint32_t rogue = p[0];
    JK_REQUIRE(gas_queue(&f, n, rogue, 1, 16, false) == 16);
    uint64_t runs0 = fx_stats(&f, 0).verify_runs;
    gas_drain(n);
    JK_CHECK_EQ(n->peers_dropped_gas, 1);
    JK_CHECK_EQ(fx_stats(&f, 0).verify_runs - runs0, 5);
    JK_CHECK_EQ(n->events_over_rate, 16 - 5);
    JK_CHECK_EQ(fx_stats(&f, 0).events_admitted, 0);
    jk_node_free(n);
    fx_free(&f);
}

/* How many of events[first..count) a bucket of `budget` gas lets through
 * one by one (each verified while the bucket is above zero), by their
 * verify gas on app 1 (the same chain state as app 0's). */
static size_t gas_fits(fx *f, uint8_t **batch, const size_t *lens, size_t first, size_t count,
                       int64_t budget)
{
    size_t k = first;
    for (; k < count && budget > 0; k++) {
        jk_node_event_verdict v;
        (void)jk_node_chain_app_submit(f->apps[1], batch[k], lens[k], &v);
        budget -= v.gas;
    }
    return k - first;
}

/* The rate: 200,000 gas a second (a burst of as much) lets an honest
 * relayer's transfers (~38,700 gas each here) through until the bucket is
 * below zero: 6 of 16; its other 10 are refused unverified, not
 * remembered, and nobody is dropped. The same 16 from another peer: 6
 * repeats (no verify, no gas), and of the 10 judged afresh its own budget
 * takes 6 again. Without the charge all 16 are admitted from the first. */
JK_TEST(test_node_gas_rate_refuses_unverified_past_the_budget)
{
    static fx f;
    uint32_t p[2];
    jk_node *n = gas_node(&f, 200000, 0, p);
    JK_REQUIRE(n);
    uint32_t a = p[0], b = p[1];
    uint8_t *batch[16];
    size_t lens[16], made = fx_batch(&f, 1, 16, batch, lens, 16);
    JK_REQUIRE(made == 16);
    size_t first = gas_fits(&f, batch, lens, 0, 16, 200000);
    size_t second = gas_fits(&f, batch, lens, first, 16, 200000);
    JK_CHECK(first >= 2 && first < 16 && second >= 1 && first + second < 16);
    gas_emit(n, a, batch, lens, made, false);
    gas_drain(n);
    JK_CHECK_EQ(fx_stats(&f, 0).events_admitted, first);
    JK_CHECK_EQ(n->events_over_rate, 16 - first);
    gas_emit(n, b, batch, lens, made, false);
    gas_drain(n);
    JK_CHECK_EQ(fx_stats(&f, 0).events_admitted, first + second);
    JK_CHECK_EQ(n->events_over_rate, 16 - first + 16 - first - second);
    JK_CHECK_EQ(n->peers_dropped_gas, 0);
    JK_CHECK_EQ(n->bad_peers, 0);
    for (size_t e = 0; e < made; e++)
        free(batch[e]);
    jk_node_free(n);
    fx_free(&f);
}

typedef struct gas_loop {
    jk_node *n;
    volatile int stop;
    jk_err err;
} gas_loop;

static void *gas_loop_main(void *arg)
{
    gas_loop *l = arg;
    jk_diag diag = {{0}};
    l->err = jk_node_run(l->n, &l->stop, 0, &diag);
    return NULL;
}

/* Over the wire: a rogue (tests/net/rogue.c, over QUIC, with a key no
 * validator holds) floods node 0, running its own loop on a thread, with
 * 64 transfers whose signatures fail. The node disconnects it (BAD_SIG in
 * the transport's count for that peer) and counts it once; the rogue sees
 * its connection end, and the loop goes on until it is stopped. */
JK_TEST(test_node_gas_rogue_flood_disconnected_over_the_wire)
{
    static fx f;
    uint32_t p[2];
    jk_node *n = gas_node(&f, 0, 0, p);
    JK_REQUIRE(n);
    uint8_t seed[32], sk[64], pk[32];
    memset(seed, 0x77, sizeof seed);
    JK_REQUIRE(jk_crypto_ed25519_keypair_from_seed(seed, pk, sk) == JK_OK);
    gas_loop l = {.n = n};
    pthread_t th;
    JK_REQUIRE(pthread_create(&th, NULL, gas_loop_main, &l) == 0);
    jk_rogue *r = jk_rogue_open(jk_node_listen_port(n), f.pks[0], sk, f.genesis.genesis_hash.bytes);
    bool dropped = false;
    if (r) {
        uint8_t *batch[64];
        size_t lens[64], made = fx_batch(&f, 1, 64, batch, lens, 64);
        for (size_t e = 0; e < made; e++) {
            uint8_t msg[1024], hdr[JK_NET_FRAME_HEADER];
            if (lens[e] + 5 <= sizeof msg) {
                msg[0] = JK_CONS_MSG_EVENT;
                jk_put_u32le(msg + 1, (uint32_t)lens[e]);
                memcpy(msg + 5, batch[e], lens[e]);
                msg[5 + 9] ^= 1; /* the signature fails */
                /* the first header as a frame, which puts the rogue on the
                 * events stream; the raw bytes after it follow on that stream */
                jk_net_frame_header(JK_NET_EVENTS, (uint32_t)lens[e] + 5, hdr);
                if (e == 0)
                    jk_rogue_send_frame(r, JK_NET_EVENTS, (uint32_t)lens[e] + 5, 0, 0);
                else
                    jk_rogue_send_raw(r, hdr, sizeof hdr);
                jk_rogue_send_raw(r, msg, lens[e] + 5);
            }
            free(batch[e]);
        }
        dropped = !jk_rogue_pump_for(r, 40000); /* bounded: only a failure waits it out */
        jk_rogue_close(r);
    }
    l.stop = 1;
    pthread_join(th, NULL);
    JK_CHECK(r != NULL);
    JK_CHECK(dropped);
    JK_CHECK_EQ(l.err, JK_OK);
    JK_CHECK_EQ(n->peers_dropped_gas, 1);
    JK_CHECK_EQ(n->bad_peers, 1);
    uint32_t idx;
    jk_net_peer_stats st;
    JK_CHECK(jk_net_peer_find(n->net, pk, &idx));
    JK_CHECK(jk_net_peer_stats_get(n->net, idx, &st) == JK_OK && st.down[JK_NET_REASON_BAD_SIG] == 1);
    /* at least the 33 of the 32 M fault budget were verified (more only
     * if the loop's clock refilled it meanwhile), not all 64 */
    jk_node_chain_app_stats cs = fx_stats(&f, 0);
    JK_CHECK(cs.events_refused >= 33 && cs.events_refused < 64);
    JK_CHECK_EQ(cs.events_admitted, 0);
    jk_node_free(n);
    fx_free(&f);
}
