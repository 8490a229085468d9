/*
 * node_gas.c — what a peer's relayed events may make this node spend in
 * verify gas (docs/network.md "Peer costs", issue 13, session 16).
 *
 * A relayed EVENT runs the chain's verify program, up to its gas budget,
 * before any of its signatures can be checked (the program decides when it
 * attests). Each relayed event's verify gas is charged to the peer that
 * relayed it, in two token buckets kept per transport peer index (a key:
 * kept across reconnects, as the transport's byte and frame buckets are):
 *
 *  - rate: every verify's gas, up to peer_verify_gas_per_s a second with a
 *    burst of one second. An event from a peer whose bucket is empty is
 *    refused unverified (not remembered as seen: another peer's copy, or a
 *    later one, is judged afresh). The bucket may go below zero by the
 *    last event's gas: the debt is paid before the peer's next verify.
 *  - fault: the gas of refusals that are the relayer's fault, at least
 *    JK_NODE_PEER_FAULT_MIN_GAS each: a refused attest (a bad signature:
 *    no chain state makes it good, short of a key change), a verify that
 *    used its whole budget, an event that does not decode (the relayer
 *    decoded it to admit it). Refusals on this node's state — a stale
 *    nonce, an overspend, a trap or the program's own FAULT — count in the
 *    rate bucket only: an honest relayer that saw another state (a syncing
 *    full node, an event raced by a block) sends those. When the fault
 *    bucket (peer_fault_gas, refilled at 1/64 of it a second) goes below
 *    zero the peer is disconnected (BAD_SIG) and counted, and its events
 *    are refused unverified until the bucket is back above zero.
 *
 * The buckets refill from the `now` of jk_node_drain_net (the loop's
 * CLOCK_MONOTONIC, as the transport's buckets refill from jk_net_step's):
 * admission is local policy, never consensus; nothing hashed or stored
 * depends on it, and a test that passes a fixed now gets exact counts.
 */
#include "node_internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct jk_node_peer_gas {
    bool started;
    int64_t rate, fault;          /* tokens (gas); below 0: in debt */
    uint64_t at_ms;               /* the last refill */
    uint32_t room;                /* events a turn's prepared batch may take */
    uint32_t in_turn;             /* of them, taken in turn `turn` */
    uint64_t turn;
} jk_node_peer_gas;

/* A configured figure, at most 2^50 gas (the refill's products stay in 64 bits). */
#define JK_GAS_MAX ((int64_t)1 << 50)

static int64_t jk_gas_rate(const jk_node *n)
{
    uint64_t r = n->cfg.peer_verify_gas_per_s ? n->cfg.peer_verify_gas_per_s
                                               : JK_NODE_PEER_VERIFY_GAS_PER_S;
    return r > (uint64_t)JK_GAS_MAX ? JK_GAS_MAX : (int64_t)r;
}

static int64_t jk_gas_fault(const jk_node *n)
{
    uint64_t f = n->cfg.peer_fault_gas ? n->cfg.peer_fault_gas : JK_NODE_PEER_FAULT_GAS;
    return f > (uint64_t)JK_GAS_MAX ? JK_GAS_MAX : (int64_t)f;
}

/* tokens + per_s × ms / 1000, at most cap (per_s ≥ 1, cap ≤ 64 × per_s) */
static int64_t jk_refill(int64_t tokens, int64_t per_s, int64_t cap, uint64_t ms)
{
    if (ms > 65000u) /* 65 s fills either bucket from empty */
        ms = 65000u;
    int64_t add = per_s / 1000 * (int64_t)ms + per_s % 1000 * (int64_t)ms / 1000;
    return tokens >= cap - add ? cap : tokens + add;
}

/* peer's buckets, refilled to now (NULL: no memory; the peer goes
 * unmetered rather than refused: admission must not fail on it) */
static jk_node_peer_gas *jk_peer_gas(jk_node *n, uint32_t peer)
{
    if (peer >= n->npeer_gas) {
        size_t cap = (size_t)peer + 16; /* dense, bounded by the transport */
        jk_node_peer_gas *p = realloc(n->peer_gas, cap * sizeof *p);
        if (!p)
            return NULL;
        memset(p + n->npeer_gas, 0, (cap - n->npeer_gas) * sizeof *p);
        n->peer_gas = p;
        n->npeer_gas = cap;
    }
    jk_node_peer_gas *g = &n->peer_gas[peer];
    uint64_t now = n->gas_now_ms;
    int64_t rate = jk_gas_rate(n), fault = jk_gas_fault(n);
    if (!g->started) {
        *g = (jk_node_peer_gas){.started = true, .rate = rate, .fault = fault, .at_ms = now,
                                .room = 1};
    } else if (now > g->at_ms) {
        g->rate = jk_refill(g->rate, rate, rate, now - g->at_ms);
        g->fault = jk_refill(g->fault, fault / 64 ? fault / 64 : 1, fault, now - g->at_ms);
        g->at_ms = now;
    }
    return g;
}

static bool jk_may_verify(const jk_node_peer_gas *g)
{
    return g->rate > 0 && g->fault >= 0;
}

bool jk_node_peer_prepare(jk_node *n, uint32_t peer)
{
    jk_node_peer_gas *g = jk_peer_gas(n, peer);
    if (!g)
        return true;
    if (!jk_may_verify(g))
        return false;
    if (g->turn != n->gas_turn) {
        g->turn = n->gas_turn;
        g->in_turn = 0;
    }
    if (g->in_turn >= g->room)
        return false;
    g->in_turn++;
    return true;
}

/* A refusal that is the relayer's fault (above). The chain layer's words
 * (src/chain/cycle.c): "verify did not HALT: attest refused", and out of
 * gas ("… out of gas or yield", or the kernel's fault text): a run stopped
 * for gas reports what it used up to the instruction it could not pay,
 * just under the budget. */
static bool jk_relayer_fault(const jk_node_event_verdict *v)
{
    static const char halt[] = "verify did not HALT: ";
    if (v->kind == JK_NODE_VERDICT_MALFORMED)
        return true;
    if (v->kind != JK_NODE_VERDICT_REFUSED || strncmp(v->reason, halt, sizeof halt - 1) != 0)
        return false;
    const char *why = v->reason + sizeof halt - 1;
    return strncmp(why, "attest refused", 14) == 0 || strstr(why, "out of gas") != NULL;
}

static int64_t jk_sub(int64_t tokens, int64_t gas)
{
    return tokens < INT64_MIN / 2 + gas ? INT64_MIN / 2 : tokens - gas;
}

static void jk_charge(jk_node *n, uint32_t peer, jk_node_peer_gas *g, const jk_node_event_verdict *v)
{
    int64_t gas = v->gas > 0 ? v->gas : 0;
    g->rate = jk_sub(g->rate, gas);
    if (v->kind == JK_NODE_VERDICT_ADMITTED && g->room < JK_NODE_SLICE)
        g->room++;
    if (!jk_relayer_fault(v))
        return;
    g->room = 1;
    bool was = g->fault >= 0;
    g->fault = jk_sub(g->fault, gas > JK_NODE_PEER_FAULT_MIN_GAS ? gas : JK_NODE_PEER_FAULT_MIN_GAS);
    if (!was || g->fault >= 0)
        return;
    n->bad_peers++;
    n->peers_dropped_gas++;
    jk_node_logf(n, 0, "peer %u dropped: its relayed events' refusals passed %lld gas (last: %s)",
                 peer, (long long)jk_gas_fault(n), v->reason);
    if (n->net)
        (void)jk_net_disconnect(n->net, peer, JK_NET_REASON_BAD_SIG);
}

bool jk_node_peer_add_event(jk_node *n, uint32_t from, const uint8_t *ev, size_t len)
{
    if (!n->app.add_event)
        return false;
    jk_node_peer_gas *g = from != UINT32_MAX && n->cfg.chain ? jk_peer_gas(n, from) : NULL;
    if (g && !jk_may_verify(g)) {
        n->events_over_rate++;
        return false;
    }
    bool admitted = n->app.add_event(n->app.ctx, ev, len);
    jk_node_event_verdict v;
    if (g && jk_node_chain_app_verdict_take(n->cfg.chain, &v))
        jk_charge(n, from, g, &v);
    else if (g && !admitted) /* undecodable: verdict_take skips MALFORMED */
        jk_charge(n, from, g, &(jk_node_event_verdict){.kind = JK_NODE_VERDICT_MALFORMED});
    return admitted;
}
