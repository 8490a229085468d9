/*
 * node_peers.c — what the node knows of its peers: which validator a
 * transport peer is, and how far each peer has committed.
 *
 * Peer heights. status.syncing needs to know how far the peers are. Every
 * prevote and precommit names its height h, so its signer has committed
 * h - 1; a vote that would raise its sender's known height is checked
 * first (jk_cons_vote_verify against the genesis set: one Ed25519 verify
 * per peer per height), so nothing unsigned moves the figure, and a vote
 * whose signature fails gets its sender dropped, at any height. A decision
 * this node took also tells that its sender has that height. A peer's
 * height is forgotten when it goes down. syncing = some connected peer is
 * known more than one height ahead (one ahead is the normal state of a
 * peer that committed a moment earlier).
 */
#include "node_internal.h"

#include "jark/bytes.h"

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
 * @return false when the vote's signature fails (the sender is dropped). */
bool jk_node_note_height(jk_node *n, const jk_net_event *ev)
{
    if (ev->len != JK_CONS_VOTE_SIZE ||
        (ev->data[0] != JK_CONS_MSG_PREVOTE && ev->data[0] != JK_CONS_MSG_PRECOMMIT))
        return true;
    uint64_t h = jk_get_u64le(ev->data + 1);
    if (h == 0 || h - 1 <= jk_peer_height(n, ev->peer))
        return true;
    jk_cons_msg *msg = malloc(sizeof *msg);
    if (!msg)
        return true;
    jk_diag why = {{0}};
    jk_err err = jk_cons_msg_decode(ev->data, ev->len, msg, &why);
    if (err == JK_OK) {
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
    (void)jk_net_disconnect(n->net, ev->peer, JK_NET_REASON_BAD_SIG);
    return false;
}
