/*
 * test_cons_peer_up.c — rule 13 (docs/consensus.md, session 15): a peer
 * that connects gets at once what it may lack of h_p (jk_cons_on_peer_up),
 * not on the next stall tick. Four machines over links that are down at
 * first, as four nodes starting one after another: the proposer of (1, 0)
 * proposes before any peer is up and that proposal is lost, yet height 1
 * is decided in round 0 with no timer of any kind firing. And what one
 * machine sends on a PEER_UP: only to that peer, one tick's choice less
 * the peer's own votes.
 */
#include "../test.h"
#include "cons_harness.h"

#include <stdlib.h>
#include <string.h>

#define PV JK_CONS_MSG_PREVOTE
#define PC JK_CONS_MSG_PRECOMMIT
#define NIL JK_CONS_NIL_ROUND
#define NET_N 4

typedef struct net_msg {
    uint32_t from, to;
    uint8_t *bytes;
    size_t len;
} net_msg;

/* Four machines and their links: a SEND over a link that is down is lost,
 * as a node's transport skips a peer it has no connection to. */
typedef struct net {
    th t[NET_N];
    bool up[NET_N][NET_N];
    net_msg *q;           /* FIFO: delivered in the order sent */
    size_t head, n, cap;
    size_t lost;          /* copies a down link lost */
} net;

static void net_push(net *w, uint32_t from, uint32_t to, const uint8_t *b, size_t len)
{
    if (w->n == w->cap) {
        w->cap = w->cap ? 2 * w->cap : 64;
        w->q = realloc(w->q, w->cap * sizeof *w->q);
        if (!w->q)
            abort();
    }
    uint8_t *copy = malloc(len);
    if (!copy)
        abort();
    memcpy(copy, b, len);
    w->q[w->n++] = (net_msg){.from = from, .to = to, .bytes = copy, .len = len};
}

/* Carry machine i's SENDs over its links; drop its other outputs (timers
 * are never fired here). */
static void net_route(net *w, uint32_t i)
{
    th *t = &w->t[i];
    for (size_t k = 0; k < t->nouts; k++) {
        const jk_cons_out *o = &t->outs[k];
        if (o->kind != JK_CONS_OUT_SEND)
            continue;
        for (uint32_t j = 0; j < NET_N; j++) {
            if (j == i || (o->peer != JK_CONS_ALL && o->peer != j))
                continue;
            if (w->up[i][j])
                net_push(w, i, j, o->bytes, o->len);
            else
                w->lost++;
        }
    }
    th_clear(t);
}

static bool net_all_decided(const net *w)
{
    for (uint32_t i = 0; i < NET_N; i++)
        if (w->t[i].ndecided < 1)
            return false;
    return true;
}

/* Deliver until the queue is empty or every machine decided height 1. */
static void net_run(net *w)
{
    while (w->head < w->n && !net_all_decided(w)) {
        net_msg msg = w->q[w->head++];
        th_deliver(&w->t[msg.to], msg.from, msg.bytes, msg.len);
        free(msg.bytes);
        net_route(w, msg.to);
    }
}

/* The link i–j comes up: each end sees PEER_UP of the other. */
static void net_link_up(net *w, uint32_t i, uint32_t j)
{
    w->up[i][j] = w->up[j][i] = true;
    th_peer_up(&w->t[i], j);
    net_route(w, i);
    th_peer_up(&w->t[j], i);
    net_route(w, j);
    net_run(w);
}

static void net_free(net *w)
{
    for (size_t k = w->head; k < w->n; k++)
        free(w->q[k].bytes);
    free(w->q);
    for (uint32_t i = 0; i < NET_N; i++)
        th_free(&w->t[i]);
}

/* The testnet's start (session 15): validator 1, the proposer of (1, 0),
 * starts first and proposes to nobody; the links come up one by one, its
 * own last. Without rule 13 (jk_cons_peer_reset alone on PEER_UP) the
 * proposal stays lost until a stall tick or timeoutPropose, neither of which
 * fires here: nobody decides. */
JK_TEST(test_cons_peer_up_proposal_before_peers_decides_round_0)
{
    static net w;
    memset(&w, 0, sizeof w);
    for (uint32_t i = 0; i < NET_N; i++) {
        th_begin(&w.t[i], NET_N, i);
        net_route(&w, i);
    }
    JK_REQUIRE(w.lost >= NET_N - 1); /* the proposal went to nobody */
    static const uint32_t order[][2] = {{0, 2}, {2, 3}, {0, 3}, {1, 2}, {0, 1}, {1, 3}};
    for (size_t k = 0; k < sizeof order / sizeof order[0]; k++)
        net_link_up(&w, order[k][0], order[k][1]);
    for (uint32_t i = 0; i < NET_N; i++) {
        JK_CHECK(w.t[i].ndecided >= 1);
        if (w.t[i].ndecided >= 1) {
            JK_CHECK_EQ(w.t[i].decided[0].cert.round, 0);
            JK_CHECK_MEM(w.t[i].decided[0].value, w.t[0].decided[0].value, 8);
        }
        JK_CHECK_EQ(w.t[i].last, JK_OK);
    }
    net_free(&w);
}

/* The SENDs since the last clear: each one's peer must be `to`; counts of
 * proposals, votes by (validator, type), and sync requests. */
typedef struct sent_count {
    size_t proposals, sync, other, total;
    size_t votes[TH_MAX][2]; /* [validator][prevote, precommit] */
    bool all_to_peer;
    bool no_persist_or_timer;
} sent_count;

static sent_count count_sent(const th *t, uint32_t to)
{
    sent_count c;
    memset(&c, 0, sizeof c);
    c.all_to_peer = true;
    c.no_persist_or_timer = true;
    for (size_t i = 0; i < t->nouts; i++) {
        const jk_cons_out *o = &t->outs[i];
        if (o->kind != JK_CONS_OUT_SEND) {
            c.no_persist_or_timer = false;
            continue;
        }
        c.total++;
        c.all_to_peer &= o->peer == to;
        jk_cons_msg msg;
        if (jk_cons_msg_decode(o->bytes, o->len, &msg, NULL) != JK_OK) {
            c.other++;
            continue;
        }
        if (msg.kind == JK_CONS_MSG_PROPOSAL)
            c.proposals++;
        else if (msg.kind == JK_CONS_MSG_SYNC_REQUEST && msg.sync_height == 1)
            c.sync++;
        else if ((msg.kind == PV || msg.kind == PC) && msg.vote.validator < TH_MAX)
            c.votes[msg.vote.validator][msg.kind == PC]++;
        else
            c.other++;
    }
    return c;
}

/* Validator `self` of 4 in round 0 of height 1 with the proposal of
 * validator 1 (its value 'b', as the harness proposes at (1, 0)) and 2's
 * prevote for it; it prevoted it too. Self 1 made the proposal. */
static void begin_with_a_proposal(th *t, uint32_t self)
{
    th_begin(t, 4, self);
    if (self != 1)
        th_proposal(t, 1, 1, 0, NIL, 'b');
    th_vote(t, 2, PV, 1, 0, 'b');
    th_clear(t);
}

/* Validator 1 of 4, the proposer of (1, 0), with 2's prevote for its
 * proposal: validator 3 connects and gets, from us alone, the proposal, our
 * prevote, 2's prevote and a sync request; 2 connects and gets the
 * proposal and our prevote, not its own back. Nothing else is sent,
 * persisted or timed; self and validators out of range get nothing. */
JK_TEST(test_cons_peer_up_sends_the_height_to_that_peer_alone)
{
    th t;
    begin_with_a_proposal(&t, 1);
    th_peer_up(&t, 3);
    sent_count c = count_sent(&t, 3);
    JK_CHECK_EQ(t.last, JK_OK);
    JK_CHECK(c.all_to_peer);
    JK_CHECK(c.no_persist_or_timer);
    JK_CHECK_EQ(c.proposals, 1);
    JK_CHECK_EQ(c.sync, 1);
    JK_CHECK_EQ(c.votes[1][0], 1);
    JK_CHECK_EQ(c.votes[2][0], 1);
    JK_CHECK_EQ(c.votes[0][0] + c.votes[3][0], 0);
    JK_CHECK_EQ(c.total, 4);
    th_clear(&t);
    th_peer_up(&t, 2);
    c = count_sent(&t, 2);
    JK_CHECK(c.all_to_peer);
    JK_CHECK_EQ(c.proposals, 1);
    JK_CHECK_EQ(c.votes[1][0], 1);
    JK_CHECK_EQ(c.votes[2][0], 0);
    JK_CHECK_EQ(c.total, 3);
    th_clear(&t);
    th_peer_up(&t, 1);
    th_peer_up(&t, 4);
    th_peer_up(&t, JK_CONS_ALL);
    JK_CHECK_EQ(t.nouts, 0);
    JK_CHECK_EQ(t.last, JK_OK);
    th_free(&t);
}

/* Another's proposal is not sent on a PEER_UP (its proposer, connected
 * too, sends it; n - 1 holders would each send the big message): validator
 * 0, holding 1's proposal, sends 3 the votes and the sync request only, and
 * the tick after the one the proposal arrived in sends it to 3 (its holds
 * were cleared). */
JK_TEST(test_cons_peer_up_leaves_anothers_proposal_to_the_tick)
{
    th t;
    uint32_t peer = 0;
    begin_with_a_proposal(&t, 0);
    th_peer_up(&t, 3);
    sent_count c = count_sent(&t, 3);
    JK_CHECK(c.all_to_peer);
    JK_CHECK_EQ(c.proposals, 0);
    JK_CHECK_EQ(c.votes[0][0] + c.votes[2][0], 2);
    JK_CHECK_EQ(c.sync, 1);
    th_clear(&t);
    th_tick(&t);
    JK_CHECK_EQ(th_sent_proposals(&t, &peer, 1), 0);
    th_clear(&t);
    th_tick(&t);
    JK_CHECK_EQ(th_sent_proposals(&t, &peer, 1), 1);
    JK_CHECK_EQ(peer, 3);
    th_free(&t);
}

/* Our proposal sent on a PEER_UP counts as held, as a tick's re-send does
 * (rule 11): the ticks that follow do not send it to that peer again,
 * until the every-fourth-tick fallback sends it to all. Without the mark,
 * the reconnect's cleared entry has the second tick send it again. */
JK_TEST(test_cons_peer_up_counts_as_held_by_the_tick)
{
    th t;
    uint32_t peer;
    begin_with_a_proposal(&t, 1);
    th_peer_up(&t, 3);
    size_t sent[4];
    for (int k = 0; k < 4; k++) { /* 3 was sent it; the fourth tick: to all */
        th_clear(&t);
        th_tick(&t);
        sent[k] = th_sent_proposals(&t, &peer, 1);
    }
    JK_CHECK(sent[0] == 0 && sent[1] == 0 && sent[2] == 0);
    JK_CHECK_EQ(sent[3], 1);
    JK_CHECK_EQ(peer, JK_CONS_ALL);
    th_free(&t);
}

/* A validator reconnecting in a loop (issue 13, session 16): the proposer
 * sends its proposal of (h, r) on a PEER_UP once per peer key, not once per
 * connection — ten connections of validator 3 in round 0 get it once (the
 * votes and the sync request each time: small). The stall tick still sends
 * it to 3, whose holds the reconnect cleared; and another peer, 2, still
 * gets it on its own first PEER_UP. Without the mark: 10 proposals. */
JK_TEST(test_cons_peer_up_reconnect_loop_gets_the_proposal_once)
{
    th t;
    uint32_t peer = 0;
    begin_with_a_proposal(&t, 1);
    size_t proposals = 0, syncs = 0;
    for (int k = 0; k < 10; k++) {
        th_peer_up(&t, 3);
        sent_count c = count_sent(&t, 3);
        JK_CHECK(c.all_to_peer);
        proposals += c.proposals;
        syncs += c.sync;
        JK_CHECK_EQ(c.votes[1][0] + c.votes[2][0], 2);
        th_clear(&t);
    }
    JK_CHECK_EQ(proposals, 1);
    JK_CHECK_EQ(syncs, 10);
    th_peer_up(&t, 2);
    JK_CHECK_EQ(count_sent(&t, 2).proposals, 1);
    th_clear(&t);
    /* the tick after the proposal's arrival one: 3 may lack it (its last
     * reconnect cleared holds), so the tick sends it there alone */
    th_tick(&t);
    th_clear(&t);
    th_tick(&t);
    JK_CHECK_EQ(th_sent_proposals(&t, &peer, 1), 1);
    JK_CHECK_EQ(peer, 3);
    JK_CHECK_EQ(t.last, JK_OK);
    th_free(&t);
}
