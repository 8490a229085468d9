/*
 * follow.c — full nodes: a node without a validator key follows the chain
 * by certified decisions, relays events, and answers sync requests
 * (docs/node.md, "Full nodes"); validators answer its requests.
 *
 * A full node runs no consensus machine (the machine signs as a validator
 * index). It asks its peers for the decisions from its next height on
 * (SYNC_REQUEST): at every tick to all of them, to a peer as soon as it
 * comes up, and between ticks to the peer known furthest ahead as soon as
 * the last request's batch is used up and a peer is known ahead (peer
 * heights: node.c), or that request was answered with a whole batch (the
 * peer may hold more: a chain standing still sends no votes that would
 * tell). A DECISION for exactly
 * the next height is taken when its certificate proves the value's id final
 * under the genesis validator set (jk_cons_cert_check: 2f+1 valid
 * precommits of distinct validators) and the application finds the value
 * valid on its head; then the application commits it, as a validator's
 * machine would. A decision that fails to decode or whose certificate does
 * not verify gets its peer disconnected (BAD_SIG); one for another height
 * is ignored (a duplicate from another peer, or a reply to an older
 * request).
 *
 * Events reaching a full node (RPC or a peer) go through the same
 * admission as a validator's (the chain app's add_event: decode, dedup by
 * event hash, verify into the pool) and, when new and admitted, on to every
 * other peer: relay. The pool's own rules bound what it keeps. A peer that
 * comes up is handed the whole pool (what was admitted while no validator
 * was connected, or while one restarted and lost its pool, still reaches
 * a block); validators deduplicate by event hash.
 *
 * Catching up, commits are batched (docs/node.md "Sync commits"): while a
 * peer is known to be ahead, each certified decision's commit joins one
 * store batch (jk_cap_store_batch_begin: one LMDB transaction, each commit a
 * nested all-or-nothing one), and so while the rest of a request's batch is
 * awaited that went out with no peer known ahead; the store batch ends —
 * one disk sync — after JK_NODE_SYNC_COMMITS heights, when no more is
 * expected, and at every tick (a peer that answered less than a whole
 * batch leaves it open until then). A crash in between leaves the store at the whole height before
 * the batch; the node then asks its peers again. A full node sends no vote,
 * so nothing that left it depends on the batched heights.
 *
 * The machine answers sync requests of validators only; the driver answers
 * those of other keys here (and a full node answers everyone), from the
 * application's get_decision, with the same DECISION messages (at most
 * JK_CONS_SYNC_BATCH per request).
 */
#include "node_internal.h"

#include <stdlib.h>
#include <string.h>

/* heights per sync batch: one disk sync for this many blocks at most */
#define JK_NODE_SYNC_COMMITS 64

static jk_cap_store *jk_follow_store(jk_node *n)
{
    jk_node_validator *v = n->cfg.chain ? jk_node_chain_app_validator(n->cfg.chain) : NULL;
    return v ? v->store.store : NULL;
}

/* End the open sync batch, if any: its heights reach the disk. */
static jk_err jk_follow_flush(jk_node *n, jk_diag *diag)
{
    jk_cap_store *st = jk_follow_store(n);
    jk_diag why = {{0}};
    jk_err err = st ? jk_cap_store_batch_end(st, &why) : JK_OK;
    if (err != JK_OK)
        return jk_diag_set(diag, err, "full node: the sync batch up to height %llu did not commit: %s",
                           (unsigned long long)n->committed, why.msg);
    return JK_OK;
}

static void jk_send_msg(jk_node *n, uint32_t peer, const jk_cons_msg *msg)
{
    uint8_t *bytes;
    size_t len;
    if (jk_cons_msg_encode(msg, &bytes, &len) == JK_OK) {
        (void)jk_net_send(n->net, peer, JK_NET_SYNC, bytes, len);
        free(bytes);
    }
}

bool jk_node_answer_sync(jk_node *n, const jk_net_event *ev)
{
    if (ev->len == 0 || ev->data[0] != JK_CONS_MSG_SYNC_REQUEST || !n->app.get_decision)
        return false;
    jk_cons_msg req;
    if (jk_cons_msg_decode(ev->data, ev->len, &req, NULL) != JK_OK)
        return false; /* the machine refuses it with the reason */
    for (uint64_t h = req.sync_height; h < req.sync_height + JK_CONS_SYNC_BATCH && h <= n->committed;
         h++) {
        const uint8_t *value;
        size_t len;
        const jk_cons_cert *cert;
        if (!n->app.get_decision(n->app.ctx, h, &value, &len, &cert))
            break;
        jk_cons_msg msg = {.kind = JK_CONS_MSG_DECISION};
        msg.decision.value = value;
        msg.decision.value_len = len;
        msg.decision.cert = *cert;
        jk_send_msg(n, ev->peer, &msg);
    }
    return true;
}

/* Send a SYNC_REQUEST for the next height to `peer` (UINT32_MAX, or a
 * peer not connected: to every peer) and note what it covers. */
static void jk_follow_request(jk_node *n, uint32_t peer, uint64_t top)
{
    jk_cons_msg msg = {.kind = JK_CONS_MSG_SYNC_REQUEST, .sync_height = n->committed + 1};
    /* The batch the request covers, as far as the peers are known to have
     * it: once used up, the next request goes out at once. */
    uint64_t until = n->committed + JK_CONS_SYNC_BATCH;
    n->sync_more = until;
    n->sync_blind = top <= n->committed;
    if (top > n->committed && top < until)
        until = top;
    /* Blind (no peer known ahead): the answer may be empty (a peer at this
     * node's height); a vote showing a peer ahead asks again at once. */
    if (top <= n->committed)
        until = n->committed;
    n->sync_until = until;
    uint8_t *bytes;
    size_t len;
    if (jk_cons_msg_encode(&msg, &bytes, &len) != JK_OK)
        return;
    if (peer == UINT32_MAX || jk_net_send(n->net, peer, JK_NET_SYNC, bytes, len) != JK_OK)
        (void)jk_net_broadcast(n->net, JK_NET_SYNC, bytes, len, NULL);
    free(bytes);
}

void jk_node_follow_want(jk_node *n, bool force)
{
    uint32_t best;
    uint64_t top = jk_node_max_peer_height(n, &best);
    if (force) {
        /* a tick: what the last batch committed goes to disk */
        jk_diag why = {{0}};
        if (jk_follow_flush(n, &why) != JK_OK)
            jk_node_logf(n, 0, "%s", why.msg);
    }
    /* Between ticks: a peer known ahead once the last request's batch is
     * used up, or that request answered in full (a peer that sent a whole
     * batch may hold more, though no vote told: an idle chain's validators
     * send none). */
    bool ahead = top > n->committed && n->committed >= n->sync_until;
    bool more = n->sync_more && n->committed >= n->sync_more;
    if (!force && !ahead && !more)
        return;
    /* Between ticks one peer answers (the one furthest ahead): a broadcast
     * would bring every batch once per peer. The tick asks everyone, so a
     * peer that lost or ignores the request costs one tick at most. */
    jk_follow_request(n, force ? UINT32_MAX : best, top);
}

jk_err jk_node_relay_event(jk_node *n, uint32_t from, const uint8_t *ev, size_t len,
                           bool *admitted)
{
    *admitted = false;
    if (!n->app.add_event)
        return JK_OK;
    /* An event's admission (decode, dedup, the verify program): verify time. */
    double t0 = jk_node_secs();
    *admitted = jk_node_peer_add_event(n, from, ev, len); /* charged to from (node_gas.c) */
    jk_rpc_metric_observe(n->metrics.verify_seconds, jk_node_secs() - t0);
    if (!*admitted)
        return JK_OK;
    jk_cons_msg msg = {.kind = JK_CONS_MSG_EVENT, .event = ev, .event_len = len};
    uint8_t *bytes;
    size_t blen;
    jk_err err = jk_cons_msg_encode(&msg, &bytes, &blen);
    if (err != JK_OK)
        return err == JK_ERR_NOMEM ? err : JK_OK;
    uint32_t count = jk_net_peer_count(n->net);
    for (uint32_t p = 0; p < count; p++)
        if (p != from)
            (void)jk_net_send(n->net, p, JK_NET_EVENTS, bytes, blen); /* not connected: skipped */
    free(bytes);
    n->events_relayed++;
    return JK_OK;
}

void jk_node_follow_peer_up(jk_node *n, uint32_t peer)
{
    size_t count = n->cfg.chain ? jk_node_chain_app_pending_count(n->cfg.chain) : 0;
    for (size_t i = 0; i < count; i++) {
        size_t len;
        const uint8_t *ev = jk_node_chain_app_pending(n->cfg.chain, i, &len);
        jk_cons_msg msg = {.kind = JK_CONS_MSG_EVENT, .event = ev, .event_len = len};
        uint8_t *bytes;
        size_t blen;
        if (jk_cons_msg_encode(&msg, &bytes, &blen) != JK_OK)
            break;
        jk_err err = jk_net_send(n->net, peer, JK_NET_EVENTS, bytes, blen);
        free(bytes);
        if (err != JK_OK)
            break;
    }
    /* Ask the peer for the decisions from the next height on at once: a
     * chain that stands still sends no vote, so nothing else would tell
     * that the peer is ahead before the tick. */
    jk_follow_request(n, peer, jk_node_max_peer_height(n, NULL));
}

static void jk_drop(jk_node *n, uint32_t peer, jk_err err, const char *why)
{
    n->bad_peers++;
    jk_node_logf(n, 0, "peer %u dropped: %s (%s)", peer, jk_strerror(err), why);
    (void)jk_net_disconnect(n->net, peer, JK_NET_REASON_BAD_SIG);
}

static jk_err jk_follow_decision(jk_node *n, const jk_net_event *ev, jk_cons_msg *msg,
                                 jk_diag *diag)
{
    jk_diag why = {{0}};
    uint64_t h = n->committed + 1;
    if (msg->decision.cert.height != h)
        return JK_OK;
    jk_hash id;
    n->app.hash(n->app.ctx, msg->decision.value, msg->decision.value_len, &id);
    /* through the chain app when there is one: it remembers the precommits,
     * and block h + 1's LastCommit repeats them (chain_app_sync.c) */
    jk_err err = n->cfg.chain ? jk_node_chain_app_cert_check(n->cfg.chain, &msg->decision.cert, h,
                                                             &id, &why)
                              : jk_cons_cert_check(&msg->decision.cert, &n->cfg.genesis,
                                                   n->cfg.valset, h, &id, &why);
    if (err == JK_ERR_NOMEM)
        return err;
    if (err == JK_OK && !n->app.valid(n->app.ctx, h, msg->decision.value, msg->decision.value_len))
        err = jk_diag_set(&why, JK_ERR_CONS_VALUE, "a certified value this node finds invalid");
    if (err != JK_OK) {
        jk_drop(n, ev->peer, err, why.msg);
        return JK_OK;
    }
    uint32_t best;
    uint64_t top = jk_node_max_peer_height(n, &best);
    jk_cap_store *st = jk_follow_store(n);
    /* more to come: a peer known ahead, or the rest of a blind request's
     * batch, or (its last height) the next request's answer (a partial
     * answer leaves the batch open until the tick) */
    bool more = top > h || (n->sync_blind && h <= n->sync_more);
    if (st && more && (err = jk_cap_store_batch_begin(st, diag)) != JK_OK)
        return err;
    err = jk_node_commit(n, h, msg->decision.value, msg->decision.value_len, &msg->decision.cert);
    if (err != JK_OK)
        return jk_diag_set(diag, err, "full node: commit of height %llu failed",
                           (unsigned long long)h);
    jk_cap_store_stats stats = {0};
    if (st)
        jk_cap_store_stats_get(st, &stats);
    if (!more || stats.in_batch >= JK_NODE_SYNC_COMMITS) {
        if ((err = jk_follow_flush(n, diag)) != JK_OK)
            return err;
    }
    /* The sender has it: it is at h at least. */
    jk_node_peer_height_set(n, ev->peer, h);
    jk_node_follow_want(n, false);
    return JK_OK;
}

jk_err jk_node_follow_frame(jk_node *n, const jk_net_event *ev, jk_diag *diag)
{
    if (ev->len == 0)
        return JK_OK;
    uint8_t kind = ev->data[0];
    if (kind != JK_CONS_MSG_DECISION && kind != JK_CONS_MSG_EVENT &&
        kind != JK_CONS_MSG_SYNC_REQUEST)
        return JK_OK; /* votes and proposals: only their heights (node.c) */
    jk_cons_msg *msg = malloc(sizeof *msg);
    if (!msg)
        return JK_ERR_NOMEM;
    jk_diag why = {{0}};
    jk_err err = jk_cons_msg_decode(ev->data, ev->len, msg, &why);
    if (err != JK_OK) {
        jk_drop(n, ev->peer, err, why.msg);
        err = JK_OK;
    } else if (kind == JK_CONS_MSG_SYNC_REQUEST) {
        (void)jk_node_answer_sync(n, ev); /* another full node syncing from this one */
    } else if (kind == JK_CONS_MSG_EVENT) {
        bool admitted;
        err = jk_node_relay_event(n, ev->peer, msg->event, msg->event_len, &admitted);
    } else {
        err = jk_follow_decision(n, ev, msg, diag);
    }
    free(msg);
    return err;
}
