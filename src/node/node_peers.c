/*
 * node_peers.c — what the node knows of its peers: which validator a
 * transport peer is, and how far each peer has committed; and the order a
 * loop turn's frames from them go to the machine in (node.c, "Consensus
 * first"); at -v, the proposals sent to them and taken from them, with
 * each one's congestion window (docs/bench.md "The idle, session 13").
 *
 * Peer heights. status.syncing needs to know how far the peers are. Every
 * prevote and precommit names its height h, so its signer has committed
 * h - 1; a vote that would raise its sender's known height is checked
 * first, so nothing unsigned moves the figure, and a vote whose signature
 * fails gets its sender dropped, at any height. The machine verifies every
 * vote of its own height and the next (input.c: counted, or buffered), so a
 * vote of those heights is noted only once the machine took it
 * (jk_node_note_height's *after): checking it here too was a second Ed25519
 * verify of the same vote per peer per height (session 8). A vote of any
 * other height — a peer far ahead (syncing) or behind — the machine drops
 * unverified, so it is verified here (jk_cons_vote_verify against the
 * genesis set). A full node has no machine: it verifies here. A decision
 * this node took also tells that its sender has that height. A peer's
 * height is forgotten when it goes down. syncing = some connected peer is
 * known more than one height ahead (one ahead is the normal state of a
 * peer that committed a moment earlier).
 */
#include "node_internal.h"

#include "jark/bytes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint32_t jk_node_validator_of(const jk_node *n, const uint8_t key[JK_NET_KEY_SIZE])
{
    for (uint32_t i = 0; i < n->cfg.valset->count; i++)
        if (memcmp(n->cfg.valset->keys[i], key, JK_NET_KEY_SIZE) == 0)
            return i;
    return n->cfg.valset->count;
}

static uint64_t jk_peer_height(const jk_node *n, uint32_t peer)
{
    return peer < n->npeer_height ? n->peer_height[peer] : 0;
}

void jk_node_peer_height_set(jk_node *n, uint32_t peer, uint64_t height)
{
    if (peer >= n->npeer_height) {
        /* peer indices are dense and bounded by the transport's limits */
        size_t cap = (size_t)peer + 16;
        uint64_t *p = realloc(n->peer_height, cap * sizeof *p);
        if (!p)
            return; /* the figure stays low: status only */
        memset(p + n->npeer_height, 0, (cap - n->npeer_height) * sizeof *p);
        n->peer_height = p;
        n->npeer_height = cap;
    }
    if (height > n->peer_height[peer])
        n->peer_height[peer] = height;
}

uint64_t jk_node_max_peer_height(const jk_node *n, uint32_t *peer)
{
    uint64_t top = 0;
    uint32_t best = UINT32_MAX;
    for (size_t i = 0; i < n->npeer_height; i++)
        if (n->peer_height[i] > top) {
            top = n->peer_height[i];
            best = (uint32_t)i;
        }
    if (peer)
        *peer = best;
    return top;
}

bool jk_node_syncing(const jk_node *n)
{
    return jk_node_max_peer_height(n, NULL) > n->committed + 1;
}

/* A vote's height, checked before it raises its sender's known height.
 * machine_h: the machine's height (0: no machine). *after: the height to
 * note once the machine took the frame (jk_node_peer_height_set), 0: none.
 * @return false when the vote's signature fails (the sender is dropped). */
bool jk_node_note_height(jk_node *n, const jk_net_event *ev, uint64_t machine_h, uint64_t *after)
{
    *after = 0;
    if (ev->len != JK_CONS_VOTE_SIZE ||
        (ev->data[0] != JK_CONS_MSG_PREVOTE && ev->data[0] != JK_CONS_MSG_PRECOMMIT))
        return true;
    uint64_t h = jk_get_u64le(ev->data + 1);
    if (h == 0 || h - 1 <= jk_peer_height(n, ev->peer))
        return true;
    if (machine_h && (h == machine_h || h == machine_h + 1)) {
        *after = h - 1; /* the machine verifies it (or knows it verified) */
        return true;
    }
    jk_cons_msg *msg = malloc(sizeof *msg);
    if (!msg)
        return true;
    jk_diag why = {{0}};
    jk_err err = jk_cons_msg_decode(ev->data, ev->len, msg, &why);
    if (err == JK_OK) {
        n->vote_checks++;
        err = jk_cons_vote_verify(&msg->vote, &n->cfg.genesis, n->cfg.valset);
        if (err == JK_OK)
            jk_node_peer_height_set(n, ev->peer, h - 1);
        else
            jk_diag_set(&why, err, "a vote of height %llu does not verify",
                        (unsigned long long)h);
    }
    free(msg);
    if (err == JK_OK)
        return true;
    n->bad_peers++;
    jk_node_logf(n, 0, "peer %u dropped: %s (%s)", ev->peer, jk_strerror(err), why.msg);
    if (n->net)
        (void)jk_net_disconnect(n->net, ev->peer, JK_NET_REASON_BAD_SIG);
    return false;
}

size_t jk_node_turn_order(const jk_net_event *turn, size_t count, size_t *order)
{
    size_t k = 0;
    for (size_t i = 0; i < count; i++)
        if (turn[i].type != JK_NET_EV_FRAME || turn[i].kind != JK_NET_EVENTS)
            order[k++] = i;
    size_t m = k;
    for (size_t i = 0; i < count; i++)
        if (turn[i].type == JK_NET_EV_FRAME && turn[i].kind == JK_NET_EVENTS)
            order[m++] = i;
    return k;
}

/* -v: a proposal leaving or arriving, with what the transport says of
 * each peer's window (docs/bench.md "The idle, session 13"). A proposal's
 * header: type, height (u64), round (u32), valid round, proposer. */
void jk_node_note_proposal(jk_node *n, bool out, uint32_t peer, const uint8_t *bytes, size_t len)
{
    if (len < 21 || bytes[0] != JK_CONS_MSG_PROPOSAL)
        return;
    uint64_t h = jk_get_u64le(bytes + 1);
    uint32_t r = jk_get_u32le(bytes + 9), proposer = jk_get_u32le(bytes + 17);
    if (!out) {
        jk_node_logf(n, 1, "proposal in height=%llu round=%u proposer=%u peer=%u bytes=%zu",
                     (unsigned long long)h, r, proposer, peer, len);
        return;
    }
    bool again = n->proposals_out && h == n->prop_height && r == n->prop_round;
    n->proposals_out++;
    n->proposals_again += again;
    n->prop_height = h;
    n->prop_round = r;
    if (!n->cfg.log || n->cfg.verbose < 1)
        return;
    char peers[256];
    size_t at = 0;
    peers[0] = 0;
    for (uint32_t p = 0, count = jk_net_peer_count(n->net); p < count && at < sizeof peers - 64; p++) {
        jk_net_peer_stats st;
        if (jk_net_peer_stats_get(n->net, p, &st) != JK_OK || !st.connected)
            continue;
        at += (size_t)snprintf(peers + at, sizeof peers - at, " p%u=%llu/%llu/%llu/%llu/%llu", p,
                               (unsigned long long)st.cwnd, (unsigned long long)st.srtt_us,
                               (unsigned long long)st.cwnd_stops, (unsigned long long)st.ptos,
                               (unsigned long long)st.recoveries);
    }
    jk_node_logf(n, 1,
                 "proposal out height=%llu round=%u proposer=%u bytes=%zu again=%d sent=%llu resent=%llu"
                 " polls=%llu peer=%u cwnd/srtt_us/cwnd_stops/ptos/recoveries:%s",
                 (unsigned long long)h, r, proposer, len, again, (unsigned long long)n->proposals_out,
                 (unsigned long long)n->proposals_again, (unsigned long long)n->net_polls, peer, peers);
}

/* A disconnect this node made because of what the peer sent or failed to
 * take (docs/network.md "Reasons"), not a close, an error or a shutdown. */
static bool jk_node_reason_is_misbehaviour(jk_net_reason r)
{
    return r == JK_NET_REASON_GARBAGE || r == JK_NET_REASON_OVERSIZE ||
           r == JK_NET_REASON_BAD_SIG || r == JK_NET_REASON_SLOW || r == JK_NET_REASON_LOCAL;
}

/* The transport's counters into the metrics: what `BENCH testnet` divides
 * by the events for the bytes on the wire per event. */
void jk_node_net_metrics(jk_node *n)
{
    uint64_t sum[4] = {0}, dropped = 0;
    for (uint32_t p = 0, count = jk_net_peer_count(n->net); p < count; p++) {
        jk_net_peer_stats st;
        if (jk_net_peer_stats_get(n->net, p, &st) != JK_OK)
            continue;
        sum[0] += st.frames_out;
        sum[1] += st.bytes_out;
        sum[2] += st.frames_in;
        sum[3] += st.bytes_in;
        for (int r = 0; r < JK_NET_REASONS; r++)
            if (jk_node_reason_is_misbehaviour((jk_net_reason)r))
                dropped += st.down[r];
    }
    for (int k = 0; k < 4; k++)
        jk_rpc_metric_set(n->m_net[k], (double)sum[k]);
    jk_rpc_metric_set(n->m_peers_dropped, (double)dropped);
    jk_net_stats ns;
    jk_net_stats_get(n->net, &ns);
    uint64_t refused = 0;
    for (int r = 0; r < JK_NET_REASONS; r++) {
        bool refusal = jk_node_reason_is_misbehaviour((jk_net_reason)r) ||
                       r == JK_NET_REASON_HANDSHAKE || r == JK_NET_REASON_BAD_KEY ||
                       r == JK_NET_REASON_TOO_MANY || r == JK_NET_REASON_TIMEOUT;
        if (refusal)
            refused += ns.refused[r];
    }
    jk_rpc_metric_set(n->m_connections_refused, (double)refused);
    jk_rpc_metric_set(n->m_event_frames_out, (double)n->event_frames_out);
    /* the process's Ed25519 checks (a counter: what grew since the last turn) */
    uint64_t verifies = jk_crypto_ed25519_verifies();
    jk_rpc_metric_add(n->metrics.ed25519_verifies, verifies - n->verifies_noted);
    n->verifies_noted = verifies;
}
