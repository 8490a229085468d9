/*
 * node.c — the node driver: one event-loop thread that feeds the consensus
 * machine from the transport, the RPC server and its own timers, and carries
 * out the machine's outputs in order (docs/node.md, "The node on a network").
 *
 * Clock. CLOCK_MONOTONIC is read here and nowhere below: it arms the
 * machine's timers and is the time jk_net_step refills its rate buckets
 * from. Nothing that decides a result depends on it; the machine only learns
 * that a timer it asked for has fired.
 *
 * Peers. The machine names validators by their index in the validator set;
 * the transport names peers by its own indices. A frame's sender is mapped
 * through its authenticated key (the transport proved it in the handshake),
 * and a SEND to validator i goes to the transport peer holding key i. Frames
 * from keys outside the set are given to the machine as peer index
 * valset->count (it answers sync requests only to validators and takes
 * nothing else on the sender's word). What the node knows of its peers'
 * heights (status.syncing) is in node_peers.c.
 */
#include "node_internal.h"

#include "jark/bytes.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The longest the loop waits in epoll while an RPC server runs: the server
 * is stepped between waits, so this bounds an RPC answer's added latency. */
#define JK_NODE_RPC_POLL_MS 5
#define JK_NODE_IDLE_MS 200

uint64_t jk_node_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Seconds on CLOCK_MONOTONIC, finer than jk_node_now_ms: for the verify and
 * apply histograms only. */
double jk_node_secs(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void jk_node_logf(jk_node *n, int level, const char *fmt, ...)
{
    if (!n->cfg.log || level > n->cfg.verbose)
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    n->cfg.log(n->cfg.log_ctx, level, line);
}

/* ---- timers ------------------------------------------------------------- */

static jk_err jk_timer_add(jk_node *n, const jk_cons_timer *t, uint64_t now)
{
    if (n->ntimers == n->captimers) {
        size_t cap = n->captimers ? 2 * n->captimers : 16;
        jk_node_timer *p = realloc(n->timers, cap * sizeof *p);
        if (!p)
            return JK_ERR_NOMEM;
        n->timers = p;
        n->captimers = cap;
    }
    /* Arrival order breaks ties: timers due at one instant fire in the order
     * the machine asked for them. */
    n->timers[n->ntimers++] = (jk_node_timer){.due = now + t->delay_ms, .seq = n->timer_seq++,
                                              .timer = *t};
    return JK_OK;
}

/* The index of the earliest due timer among those asked for before seq_end
 * (UINT64_MAX: all), or SIZE_MAX. */
static size_t jk_timer_first(const jk_node *n, uint64_t seq_end)
{
    size_t best = SIZE_MAX;
    for (size_t i = 0; i < n->ntimers; i++) {
        const jk_node_timer *t = &n->timers[i];
        if (t->seq >= seq_end)
            continue;
        if (best == SIZE_MAX || t->due < n->timers[best].due ||
            (t->due == n->timers[best].due && t->seq < n->timers[best].seq))
            best = i;
    }
    return best;
}

/* ---- outputs ------------------------------------------------------------ */

static jk_net_kind jk_kind_of(const uint8_t *bytes, size_t len)
{
    switch (len ? bytes[0] : 0) {
    case JK_CONS_MSG_SYNC_REQUEST:
    case JK_CONS_MSG_DECISION:
        return JK_NET_SYNC;
    case JK_CONS_MSG_EVENT:
        return JK_NET_EVENTS;
    default:
        return JK_NET_CONSENSUS;
    }
}


/* Whether transport peer p is known by a validator's key. */
static bool jk_peer_is_validator(const jk_node *n, uint32_t p)
{
    uint8_t key[JK_NET_KEY_SIZE];
    return jk_net_peer_key(n->net, p, key) == JK_OK &&
           jk_node_validator_of(n, key) < n->cfg.valset->count;
}

/* An event a peer sent, new here, gossiped on (docs/node.md "Relay"): never
 * back to the sender, and when the sender is a validator, to full nodes
 * only. Validators form a full mesh already (the machine sends each vote to
 * each validator directly; no one relays votes), so the validator that sent
 * it has sent it to every validator it reaches; passing it on between
 * validators only made duplicates (among 4 validators 6 of every 9 copies). */
static void jk_gossip_on(jk_node *n, const uint8_t *bytes, size_t len)
{
    bool from_validator = jk_peer_is_validator(n, n->relay_from);
    for (uint32_t p = 0, count = jk_net_peer_count(n->net); p < count; p++) {
        if (p == n->relay_from || (from_validator && jk_peer_is_validator(n, p)))
            continue;
        if (jk_net_send(n->net, p, JK_NET_EVENTS, bytes, len) == JK_OK) /* not connected: skipped */
            n->event_frames_out++;
    }
}

static void jk_send(jk_node *n, uint32_t validator, const uint8_t *bytes, size_t len)
{
    jk_net_kind kind = jk_kind_of(bytes, len);
    if (kind == JK_NET_CONSENSUS)
        jk_node_note_proposal(n, true, validator, bytes, len);
    n->unsent |= kind == JK_NET_CONSENSUS;
    if (validator == JK_CONS_ALL && kind == JK_NET_EVENTS && n->relay_from != UINT32_MAX) {
        jk_gossip_on(n, bytes, len);
        return;
    }
    if (validator == JK_CONS_ALL) {
        /* Every connected peer: validators and the full nodes that relay
         * and follow the chain (an event submitted here over RPC too). */
        size_t sent = 0;
        (void)jk_net_broadcast(n->net, kind, bytes, len, &sent);
        if (kind == JK_NET_EVENTS)
            n->event_frames_out += sent;
        return;
    }
    uint32_t peer;
    if (validator < n->cfg.valset->count &&
        jk_net_peer_find(n->net, n->cfg.valset->keys[validator], &peer))
        /* A peer not connected misses it; the machine's stall tick re-sends
         * what it signed at the height. */
        (void)jk_net_send(n->net, peer, kind, bytes, len);
}

/* Send the consensus messages the machine's outputs queued, now, before
 * work that takes a while (a slice of admissions, the RPC pass): they used
 * to leave only at the loop's next jk_net_step, so each vote and proposal
 * of the height's critical path waited for that work at every node it
 * passed (session 9). */
static void jk_node_send_now(jk_node *n)
{
    if (n->unsent)
        jk_net_flush(n->net);
    n->unsent = false;
}

/* Carry out the machine's outputs in order, the durable ones first: the
 * turn's PERSIST records and its last PERSIST_POL go to the vote log in one
 * append, one sync, before any SEND, so no vote leaves before its record
 * is on disk. */
static jk_err jk_outputs(jk_node *n, uint64_t now, jk_diag *diag)
{
    jk_cons_status st; /* in the empty-blocks wait? (node_app.c: jk_w_proposer) */
    jk_cons_status_get(n->m, &st);
    n->was_waiting = st.waiting;
    size_t count;
    const jk_cons_out *outs = jk_cons_outputs(n->m, &count);
    jk_err err = JK_OK;
    jk_cons_record recs[JK_NODE_VOTELOG_GROUP];
    size_t nrecs = 0;
    const jk_cons_out *pol = NULL;
    for (size_t i = 0; i <= count && err == JK_OK; i++) {
        if (i < count && outs[i].kind == JK_CONS_OUT_PERSIST_POL)
            pol = &outs[i];
        if (i < count && outs[i].kind == JK_CONS_OUT_PERSIST)
            recs[nrecs++] = outs[i].record;
        if ((nrecs || pol) && (i == count || nrecs == JK_NODE_VOTELOG_GROUP)) {
            jk_node_phase_t0 t0 = jk_node_phase_start(n);
            err = jk_node_archive_put_turn(n->cfg.archive, recs, nrecs, pol ? pol->bytes : NULL,
                                           pol ? pol->len : 0, diag);
            jk_node_phase(n, "persist-votes", nrecs ? recs[0].height : 0, t0, 0);
            nrecs = 0;
            pol = NULL;
        }
    }
    for (size_t i = 0; i < count && err == JK_OK; i++) {
        const jk_cons_out *o = &outs[i];
        switch (o->kind) {
        case JK_CONS_OUT_PERSIST:
        case JK_CONS_OUT_PERSIST_POL:
            break; /* done above */
        case JK_CONS_OUT_SEND:
            jk_send(n, o->peer, o->bytes, o->len);
            break;
        case JK_CONS_OUT_TIMER:
            err = jk_timer_add(n, &o->timer, now);
            break;
        case JK_CONS_OUT_EVIDENCE: {
            /* Kept in the archive (deduplicated by height, round, type and
             * validator there), so that status and an operator see it after
             * a restart too. The machine verified both signatures; a pair
             * the archive still refuses is logged, not fatal. */
            bool stored = false;
            jk_diag why = {{0}};
            err = jk_node_archive_put_evidence(n->cfg.archive, o->bytes, o->len, &stored, &why);
            n->evidence++;
            jk_node_logf(n, 0, "evidence: two conflicting votes of one validator (%s)",
                         err != JK_OK ? why.msg : stored ? "stored" : "already stored");
            if (err == JK_ERR_NODE_EVIDENCE)
                err = JK_OK;
            else if (err != JK_OK && diag)
                *diag = why;
            break;
        }
        }
    }
    jk_cons_outputs_clear(n->m);
    if (err == JK_ERR_NOMEM)
        jk_diag_set(diag, err, "out of memory carrying out the machine's outputs");
    return err;
}

/* ---- inputs ------------------------------------------------------------- */

static jk_err jk_on_frame(jk_node *n, const jk_net_event *ev, jk_diag *diag)
{
    uint64_t machine_h = 0, after;
    if (n->m && ev->len == JK_CONS_VOTE_SIZE) { /* only a vote's height is noted */
        jk_cons_status st;
        jk_cons_status_get(n->m, &st);
        machine_h = st.height;
    }
    if (!jk_node_note_height(n, ev, machine_h, &after))
        return JK_OK;
    uint32_t from = jk_node_validator_of(n, ev->key);
    if (ev->kind == JK_NET_CONSENSUS) /* an event's first byte may look like one */
        jk_node_note_proposal(n, false, from, ev->data, ev->len);
    if (!n->m)
        return jk_node_follow_frame(n, ev, diag);
    if (from == n->cfg.valset->count && jk_node_answer_sync(n, ev))
        return JK_OK;
    jk_diag why = {{0}};
    jk_err err = jk_cons_on_message(n->m, from, ev->data, ev->len, &why);
    switch (err) {
    case JK_OK:
        if (after) /* the machine verified the vote (node_peers.c) */
            jk_node_peer_height_set(n, ev->peer, after);
        return JK_OK;
    case JK_ERR_CONS_DECODE:
    case JK_ERR_CONS_SIG:
    case JK_ERR_CONS_MEMBER:
    case JK_ERR_CONS_CERT:
    case JK_ERR_CONS_VALUE:
        /* A message that cannot be what an honest peer sends: drop the
         * peer, count it, and go on (the machine changed nothing). */
        n->bad_peers++;
        jk_node_logf(n, 0, "peer %u dropped: %s (%s)", ev->peer, jk_strerror(err), why.msg);
        (void)jk_net_disconnect(n->net, ev->peer, JK_NET_REASON_BAD_SIG);
        jk_cons_outputs_clear(n->m);
        return JK_OK;
    default:
        /* The application's commit or memory: the machine cannot go on. */
        if (diag)
            *diag = why;
        return err;
    }
}

static jk_err jk_on_net_event(jk_node *n, const jk_net_event *evp, uint64_t now, jk_diag *diag)
{
    jk_net_event ev = *evp;
    char key[17];
    jk_rpc_hex_encode(ev.key, 8, key);
    switch (ev.type) {
    case JK_NET_EV_PEER_UP: {
        n->peers_up++;
        jk_node_logf(n, 1, "peer %u up (key %s, %s)", ev.peer, key,
                     ev.known ? "validator" : "full node");
        if (!n->m) {
            jk_node_follow_peer_up(n, ev.peer);
            break;
        }
        /* What was sent to it before (our proposal at startup, before any
         * peer was up) may be lost: it gets the height's state at once
         * (rule 13), not on the next stall tick. */
        jk_err err = jk_cons_on_peer_up(n->m, jk_node_validator_of(n, ev.key));
        if (err == JK_OK)
            err = jk_outputs(n, now, diag);
        if (err != JK_OK)
            return err;
        break;
    }
    case JK_NET_EV_PEER_DOWN:
        if (n->peers_up)
            n->peers_up--;
        if (ev.peer < n->npeer_height)
            n->peer_height[ev.peer] = 0; /* known again from its next vote */
        jk_node_logf(n, 1, "peer %u down (key %s): %s", ev.peer, key,
                     jk_net_reason_name(ev.reason));
        break;
    case JK_NET_EV_FRAME: {
        n->relay_from = ev.peer;
        jk_err err = jk_on_frame(n, &ev, diag);
        if (err == JK_OK && n->m)
            err = jk_outputs(n, now, diag);
        n->relay_from = UINT32_MAX;
        if (err != JK_OK)
            return err;
        break;
    }
    }
    return JK_OK;
}

/* The gossiped events of a loop turn go to the chain app together before the
 * frames go to the machine one by one (issue 13): their verifies then run at
 * once on the verify pool's threads, and each add_event admits through its
 * verdict (jk_node_chain_app_prepare; same outcome as one by one). The
 * transport's payload lives until its next event, so a turn's frames' payloads
 * are taken from it (jk_net_take_data), at most JK_NODE_TURN_MAX at a time.
 *
 * Consensus first (session 8). A turn under load holds hundreds of events
 * (~85 µs of admission each, ~87 ms for 1,024) and a few votes or a
 * proposal; in arrival order, a vote or the proposal behind them waited for
 * all of them, and with it the height: the proposer's produce, the others'
 * check and every vote of the critical path queued behind admission on each
 * node in turn. Now the turn's other entries go to the machine first, in
 * their order, and its events after them, in theirs (jk_node_turn_order).
 * Nothing orders an EVENTS frame against a CONSENSUS frame on the wire
 * (they travel on different QUIC streams, and a network may delay either
 * one), so this is an order the network could have given: safety is the
 * machine's, which takes messages in any order. The events are prepared
 * after the consensus pass, so a commit in it does not leave their verdicts
 * on the old head (they would be judged again one by one). */
#define JK_NODE_TURN_MAX 1024u

static void jk_prepare_turn(jk_node *n, const jk_net_event *turn, size_t count)
{
    const uint8_t **events = n->turn_events;
    size_t *lens = n->turn_lens, m = 0;
    n->gas_turn++; /* a peer's room in the batch (node_gas.c): the rest one by one */
    for (size_t i = 0; i < count; i++) {
        const jk_net_event *ev = &turn[i];
        if (ev->type == JK_NET_EV_FRAME && ev->kind == JK_NET_EVENTS && ev->len > 5 &&
            ev->data[0] == JK_CONS_MSG_EVENT && jk_get_u32le(ev->data + 1) == ev->len - 5 &&
            jk_node_peer_prepare(n, ev->peer)) {
            events[m] = ev->data + 5;
            lens[m++] = ev->len - 5;
        }
    }
    if (m > 1)
        (void)jk_node_chain_app_prepare(n->cfg.chain, events, lens, m, NULL); /* else one by one */
}

static void jk_turn_free(jk_node *n)
{
    free(n->turn);
    free(n->turn_events);
    free(n->turn_lens);
    free(n->turn_order);
    n->turn = NULL;
    n->turn_events = NULL;
    n->turn_lens = NULL;
    n->turn_order = NULL;
}

/* Read and acknowledge what peers sent, and write what their windows allow,
 * without waiting and without taking anything from the transport's queue
 * (node_internal.h, JK_NODE_POLL_EVERY). A failed epoll is the loop's to
 * report at its own step. */
static void jk_node_poll_net(jk_node *n)
{
    n->unsent = false; /* the step's write pass sends them */
    (void)jk_net_step(n->net, jk_node_now_ms(), 0);
    n->net_polls++;
}

/* The turn's buffers, allocated at the first turn that needs them (NULL:
 * no chain app, or no memory: frames go one by one). */
static jk_net_event *jk_turn_buffers(jk_node *n)
{
    if (!n->m || !n->cfg.chain)
        return NULL;
    if (!n->turn) {
        n->turn = malloc(JK_NODE_TURN_MAX * sizeof *n->turn);
        n->turn_events = malloc(JK_NODE_TURN_MAX * sizeof *n->turn_events);
        n->turn_lens = malloc(JK_NODE_TURN_MAX * sizeof *n->turn_lens);
        n->turn_order = malloc(JK_NODE_TURN_MAX * sizeof *n->turn_order);
        if (!n->turn || !n->turn_events || !n->turn_lens || !n->turn_order)
            jk_turn_free(n);
    }
    return n->turn;
}

jk_err jk_node_drain_net(jk_node *n, uint64_t now, jk_diag *diag)
{
    jk_net_event ev;
    jk_net_event *turn = jk_turn_buffers(n);
    bool more = true;
    jk_err err = JK_OK;
    n->gas_now_ms = now; /* the peers' gas buckets refill from it (node_gas.c) */
    while (more && err == JK_OK) {
        size_t count = 0, events = 0;
        bool uncopied = false; /* ev: taken, its payload still the transport's: after the turn */
        while (turn && count < JK_NODE_TURN_MAX && events < JK_NODE_SLICE &&
               (more = jk_net_next_event(n->net, &ev))) {
            events += ev.type == JK_NET_EV_FRAME && ev.kind == JK_NET_EVENTS;
            /* the frame's payload, taken from the transport (it was copied
             * here, a malloc and a memcpy per frame: session 8) */
            uint8_t *own = ev.type == JK_NET_EV_FRAME ? jk_net_take_data(n->net) : NULL;
            if (ev.type == JK_NET_EV_FRAME && !own) {
                uncopied = true; /* never: each queued frame has a buffer of its own */
                break;
            }
            ev.data = own;
            turn[count++] = ev;
        }
        /* Consensus first: the turn's votes, proposals, decisions and peer
         * changes, then its events (jk_node_turn_order). The machine is
         * held over the turn (jk_cons_hold): a waiting proposer proposes
         * after the turn, with every event of it in the pool (a turn is at
         * most a slice of a larger burst: JK_NODE_SLICE). */
        if (n->m)
            jk_cons_hold(n->m);
        size_t first_event = jk_node_turn_order(turn, count, n->turn_order);
        for (size_t k = 0; k < first_event && err == JK_OK; k++)
            err = jk_on_net_event(n, &turn[n->turn_order[k]], now, diag);
        /* the votes and proposal that pass made leave now, not after the
         * events' admission below (they waited for it and the RPC pass
         * until the next step: session 9) */
        if (count > first_event && err == JK_OK)
            jk_node_send_now(n);
        if (count > first_event && err == JK_OK) {
            jk_prepare_turn(n, turn, count);
            jk_node_poll_net(n);
        }
        for (size_t k = first_event; k < count && err == JK_OK; k++) {
            err = jk_on_net_event(n, &turn[n->turn_order[k]], now, diag);
            if ((k - first_event + 1) % JK_NODE_POLL_EVERY == 0 && k + 1 < count)
                jk_node_poll_net(n);
        }
        for (size_t i = 0; i < count; i++)
            free((void *)turn[i].data);
        if (count > first_event)
            jk_node_chain_app_prepare_end(n->cfg.chain);
        if (uncopied && err == JK_OK) /* its payload is still the transport's */
            err = jk_on_net_event(n, &ev, now, diag);
        if (n->m) {
            jk_err rel = jk_cons_release(n->m);
            if (err == JK_OK)
                err = rel == JK_OK ? jk_outputs(n, now, diag) : rel;
        }
        if (!turn) { /* no chain app, or no room: one by one */
            while (err == JK_OK && (more = jk_net_next_event(n->net, &ev)))
                err = jk_on_net_event(n, &ev, now, diag);
        }
        if (events >= JK_NODE_SLICE)
            break; /* the next slice after the loop went round (jk_node_run) */
    }
    if (err != JK_OK)
        return err;
    jk_rpc_metric_set(n->metrics.peers, (double)n->peers_up);
    jk_node_net_metrics(n);
    jk_rpc_metric_set(n->m_max_peer_height, (double)jk_node_max_peer_height(n, NULL));
    jk_rpc_metric_set(n->m_syncing, jk_node_syncing(n) ? 1.0 : 0.0);
    if (!n->m)
        jk_node_follow_want(n, false); /* a peer seen ahead: ask at once */
    return JK_OK;
}

static jk_err jk_fire_timers(jk_node *n, uint64_t now, jk_diag *diag)
{
    /* Only the timers armed before this pass: a zero-delay timer a fired
     * one asks for (a lone validator's next height) waits for the next
     * turn of the loop, after the network and RPC had theirs. */
    uint64_t seq_end = n->timer_seq;
    for (;;) {
        size_t i = jk_timer_first(n, seq_end);
        if (i == SIZE_MAX || n->timers[i].due > now)
            return JK_OK;
        jk_cons_timer t = n->timers[i].timer;
        n->timers[i] = n->timers[--n->ntimers];
        jk_err err = jk_cons_on_timer(n->m, &t);
        if (err == JK_OK)
            err = jk_outputs(n, now, diag);
        if (err != JK_OK)
            return jk_diag_set(diag, err, "timer: %s", jk_strerror(err));
    }
}

/* ---- life cycle --------------------------------------------------------- */

jk_err jk_node_new(const jk_node_config *cfg, jk_node **out, jk_diag *diag)
{
    *out = NULL;
    if (!cfg->valset || !cfg->archive || !cfg->secret_key ||
        (cfg->self >= cfg->valset->count && cfg->self != JK_NODE_FULL) ||
        !cfg->app.proposer || !cfg->app.get_value || !cfg->app.valid || !cfg->app.hash ||
        !cfg->app.commit)
        return jk_diag_set(diag, JK_ERR_INVALID_ARG,
                           "node: a validator index (or JK_NODE_FULL), a key, an archive and an application are required");
    jk_node *n = calloc(1, sizeof *n);
    if (!n)
        return JK_ERR_NOMEM;
    n->cfg = *cfg;
    n->app = cfg->app;
    n->relay_from = UINT32_MAX;
    n->committed = cfg->height ? cfg->height - 1 : 0;
    n->height_start_ms = jk_node_now_ms();
    jk_err err = jk_rpc_metrics_new(&n->registry);
    if (err == JK_OK)
        err = jk_rpc_node_metrics_register(n->registry, &n->metrics);
    if (err == JK_OK)
        err = jk_rpc_metrics_gauge(n->registry, "jark_max_peer_height",
                                   "The highest committed height a connected peer is known at",
                                   &n->m_max_peer_height);
    if (err == JK_OK)
        err = jk_rpc_metrics_gauge(n->registry, "jark_syncing",
                                   "1 while a peer is known more than one height ahead",
                                   &n->m_syncing);
    static const char *const net_names[4][2] = {
        {"jark_net_frames_out", "Frames queued to peers, headers included, summed over peers"},
        {"jark_net_bytes_out", "Frame bytes queued to peers, headers included, summed over peers"},
        {"jark_net_frames_in", "Frames received from peers, summed over peers"},
        {"jark_net_bytes_in", "Frame bytes received from peers, headers included, summed over peers"},
    };
    for (int k = 0; k < 4 && err == JK_OK; k++)
        err = jk_rpc_metrics_gauge(n->registry, net_names[k][0], net_names[k][1], &n->m_net[k]);
    if (err == JK_OK)
        err = jk_rpc_metrics_gauge(n->registry, "jark_net_event_frames_out",
                                   "EVENT frames this validator sent (submitted here or gossiped on)",
                                   &n->m_event_frames_out);
    if (err == JK_OK)
        err = jk_rpc_metrics_gauge(n->registry, "jark_net_peers_dropped",
                                   "Peers disconnected for what they sent (garbage, oversize frames, "
                                   "bad signatures) or would not read, since start",
                                   &n->m_peers_dropped);
    if (err == JK_OK)
        err = jk_rpc_metrics_gauge(n->registry, "jark_net_connections_refused",
                                   "Connections closed before they authenticated (handshake, "
                                   "wrong key, too many, timeout, garbage), since start",
                                   &n->m_connections_refused);
    if (err != JK_OK) {
        jk_node_free(n);
        return jk_diag_set(diag, err, "node: metrics: %s", jk_strerror(err));
    }
    jk_rpc_metric_set(n->metrics.height, (double)n->committed);

    jk_net_config nc = cfg->net;
    nc.secret_key = cfg->secret_key;
    nc.genesis_hash = cfg->genesis.bytes;
    if (cfg->self == JK_NODE_FULL)
        nc.dial_at_once = true;
    err = jk_net_create(&nc, &n->net, diag);
    if (err != JK_OK) {
        jk_node_free(n);
        return err;
    }

    if (cfg->rpc) {
        jk_rpc_server_config sc = {.host = cfg->rpc_host, .port = cfg->rpc_port,
                                   .metrics = n->registry, .external_loop = true,
                                   .max_body = cfg->rpc_max_body,
                                   .request_ms = cfg->rpc_request_ms};
        jk_rpc_provider p;
        if (cfg->provider)
            p = *cfg->provider;
        else
            jk_node_rpc_provider(n, &p);
        err = jk_rpc_server_start(&sc, &p, &n->rpc, diag);
        if (err != JK_OK) {
            jk_node_free(n);
            return err;
        }
        /* A request wakes the loop at once (it used to wait up to
         * JK_NODE_RPC_POLL_MS for the next poll: a workload posting one
         * batch after another lost up to that much per request). Without it
         * the loop polls as before. */
        n->rpc_wakes = jk_net_wake_on(n->net, jk_rpc_server_fd(n->rpc)) == JK_OK;
    }

    if (cfg->self == JK_NODE_FULL) {
        /* A full node: no machine; it follows by certified decisions. */
        *out = n;
        return JK_OK;
    }
    jk_cons_config mc = {.genesis = cfg->genesis, .valset = cfg->valset, .self = cfg->self,
                         .timeouts = cfg->timeouts};
    memcpy(mc.secret_key, cfg->secret_key, JK_ED25519_SECRET_SIZE);
    jk_node_wrap_app(n, &mc.app);
    jk_cons_record *recs = NULL;
    size_t nrecs = 0;
    uint8_t *pol = NULL;
    size_t pol_len = 0;
    err = jk_node_archive_records(cfg->archive, &recs, &nrecs, diag);
    if (err == JK_OK && jk_node_archive_vote_note(cfg->archive)[0])
        jk_node_logf(n, 0, "%s", jk_node_archive_vote_note(cfg->archive));
    if (err == JK_OK)
        err = jk_node_archive_pol(cfg->archive, &pol, &pol_len, diag);
    if (err == JK_OK)
        err = jk_cons_machine_new(&mc, cfg->height ? cfg->height : 1, recs, nrecs, pol, pol_len,
                                  &n->m);
    sodium_memzero(mc.secret_key, sizeof mc.secret_key);
    free(recs);
    free(pol);
    if (err == JK_OK)
        err = jk_cons_start(n->m);
    if (err == JK_OK)
        err = jk_outputs(n, jk_node_now_ms(), diag);
    if (err != JK_OK) {
        jk_node_free(n);
        if (diag && !diag->msg[0])
            jk_diag_set(diag, err, "node: starting the machine: %s", jk_strerror(err));
        return err;
    }
    *out = n;
    return JK_OK;
}

void jk_node_free(jk_node *n)
{
    if (!n)
        return;
    jk_rpc_server_stop(n->rpc);
    jk_net_destroy(n->net);
    jk_cons_machine_free(n->m);
    jk_rpc_metrics_free(n->registry);
    free(n->timers);
    free(n->peer_height);
    free(n->peer_gas);
    free(n->top_value);
    free(n->top_cert);
    jk_turn_free(n);
    free(n);
}

uint16_t jk_node_listen_port(const jk_node *n)
{
    return jk_net_listen_port(n->net);
}

uint16_t jk_node_rpc_port(const jk_node *n)
{
    return n->rpc ? jk_rpc_server_port(n->rpc) : 0;
}

void jk_node_info_get(const jk_node *n, jk_node_info *out)
{
    jk_cons_status st = {0};
    if (n->m)
        jk_cons_status_get(n->m, &st);
    *out = (jk_node_info){.height = n->committed, .round = st.round, .peers = n->peers_up,
                          .commits = n->commits, .bad_peers = n->bad_peers,
                          .max_peer_height = jk_node_max_peer_height(n, NULL),
                          .syncing = jk_node_syncing(n), .events_relayed = n->events_relayed,
                          .loop_turns = n->loop_turns, .rpc_runs = n->rpc_runs};
}

/* The RPC server has work: a step found its descriptor readable since its
 * last pass, or its deadline is due (docs/node.md "The driver", 4). */
static bool jk_node_rpc_due(jk_node *n)
{
    uint64_t wakes = jk_net_wakes(n->net);
    if (n->rpc_wakes && wakes == n->rpc_wakes_run && jk_rpc_server_timeout_ms(n->rpc) != 0)
        return false;
    n->rpc_wakes_run = wakes;
    return true;
}

jk_err jk_node_run(jk_node *n, volatile int *stop, uint64_t stop_height, jk_diag *diag)
{
    while (!(stop && *stop) && !(stop_height && n->committed >= stop_height)) {
        uint64_t now = jk_node_now_ms();
        jk_err err = jk_fire_timers(n, now, diag);
        if (err != JK_OK)
            return err;
        int wait = JK_NODE_IDLE_MS;
        size_t first = jk_timer_first(n, UINT64_MAX);
        if (first != SIZE_MAX) {
            uint64_t due = n->timers[first].due;
            wait = due <= now ? 0 : (due - now < (uint64_t)wait ? (int)(due - now) : wait);
        }
        if (jk_net_queued(n->net) > 0)
            wait = 0; /* a slice of events left (jk_node_drain_net): no waiting */
        if (n->rpc) {
            /* MHD's own deadline (a connection's timeout, a request it has
             * read but not yet served: 0) when its descriptor wakes us; a
             * short poll when it cannot. */
            int rpc_wait = n->rpc_wakes ? jk_rpc_server_timeout_ms(n->rpc) : JK_NODE_RPC_POLL_MS;
            if (rpc_wait >= 0 && rpc_wait < wait)
                wait = rpc_wait;
        }
        n->unsent = false; /* the step's write pass sends them */
        jk_node_phase_t0 t_step = jk_node_phase_start(n);
        err = jk_net_step(n->net, now, wait);
        jk_node_phase_step(n, t_step);
        if (err != JK_OK)
            return jk_diag_set(diag, err, "node: the event loop failed (epoll)");
        jk_node_phase_t0 t_net = jk_node_phase_start(n);
        err = jk_node_drain_net(n, jk_node_now_ms(), diag);
        if (err != JK_OK)
            return err;
        if (jk_node_secs() - t_net.wall > 0.001)
            jk_node_phase(n, "net", n->committed + 1, t_net, 0);
        n->loop_turns++;
        if (n->rpc && jk_node_rpc_due(n)) {
            n->rpc_runs++;
            jk_node_send_now(n); /* the RPC pass admits: votes first */
            jk_node_phase_t0 t0 = jk_node_phase_start(n);
            /* Held over the server's pass: the events of one JSON-RPC batch
             * (`jark event submit` sends a file as one) meet in one
             * proposal, as they would in one cycle of jark devnet. */
            if (n->m)
                jk_cons_hold(n->m);
            err = jk_rpc_server_run(n->rpc);
            if (n->m) {
                jk_err rel = jk_cons_release(n->m);
                if (err == JK_OK && rel != JK_OK)
                    return jk_diag_set(diag, rel, "node: consensus: %s", jk_strerror(rel));
            }
            if (jk_node_secs() - t0.wall > 0.001)
                jk_node_phase(n, "rpc", n->committed + 1, t0, 0);
            if (err != JK_OK)
                return jk_diag_set(diag, err, "node: the RPC server failed");
            /* A submitted event may have produced outputs (gossip). */
            err = n->m ? jk_outputs(n, jk_node_now_ms(), diag) : JK_OK;
            if (err != JK_OK)
                return err;
        }
        if (n->m) {
            jk_cons_status st;
            jk_cons_status_get(n->m, &st);
            jk_rpc_metric_set(n->metrics.round, (double)st.round);
        } else if (now >= n->next_tick_ms) {
            jk_node_follow_want(n, true);
            n->next_tick_ms = now + (n->cfg.timeouts.tick_ms ? n->cfg.timeouts.tick_ms : 500);
        }
    }
    return JK_OK;
}
