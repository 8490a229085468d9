/*
 * follow.c — full nodes: a node without a validator key follows the chain
 * by certified decisions (docs/node.md, "Full nodes"), and validators
 * answer its requests.
 *
 * A full node runs no consensus machine (the machine signs as a validator
 * index). Every tick it asks its peers for the decisions from its next
 * height on (SYNC_REQUEST); a DECISION for exactly that height is taken
 * when its certificate proves the value's id final under the genesis
 * validator set (jk_cons_cert_check: 2f+1 valid precommits of distinct
 * validators) and the application finds the value valid on its head; then
 * the application commits it, as a validator's machine would. A decision
 * that fails to decode or whose certificate does not verify gets its peer
 * disconnected (BAD_SIG); one for another height is ignored (a reply to an
 * older request).
 *
 * The machine answers sync requests of validators only; the driver answers
 * those of other keys here, from the application's get_decision, with the
 * same DECISION messages (at most JK_CONS_SYNC_BATCH per request).
 */
#include "node_internal.h"

#include <stdlib.h>
#include <string.h>

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

void jk_node_follow_tick(jk_node *n)
{
    jk_cons_msg msg = {.kind = JK_CONS_MSG_SYNC_REQUEST, .sync_height = n->committed + 1};
    uint8_t *bytes;
    size_t len;
    if (jk_cons_msg_encode(&msg, &bytes, &len) == JK_OK) {
        (void)jk_net_broadcast(n->net, JK_NET_SYNC, bytes, len, NULL);
        free(bytes);
    }
}

jk_err jk_node_follow_frame(jk_node *n, const jk_net_event *ev, jk_diag *diag)
{
    if (ev->len == 0 || ev->data[0] != JK_CONS_MSG_DECISION)
        return JK_OK; /* votes, proposals, events: not a full node's business yet */
    jk_cons_msg *msg = malloc(sizeof *msg);
    if (!msg)
        return JK_ERR_NOMEM;
    jk_diag why = {{0}};
    jk_err err = jk_cons_msg_decode(ev->data, ev->len, msg, &why);
    uint64_t h = n->committed + 1;
    if (err == JK_OK && msg->decision.cert.height == h) {
        jk_hash id;
        n->app.hash(n->app.ctx, msg->decision.value, msg->decision.value_len, &id);
        err = jk_cons_cert_check(&msg->decision.cert, &n->cfg.genesis, n->cfg.valset, h, &id, &why);
        if (err == JK_OK && !n->app.valid(n->app.ctx, h, msg->decision.value, msg->decision.value_len))
            err = jk_diag_set(&why, JK_ERR_CONS_VALUE, "a certified value this node finds invalid");
        if (err == JK_OK) {
            err = jk_node_commit(n, h, msg->decision.value, msg->decision.value_len,
                                 &msg->decision.cert);
            free(msg);
            if (err != JK_OK)
                return jk_diag_set(diag, err, "full node: commit of height %llu failed",
                                   (unsigned long long)h);
            /* More may be waiting: ask at once rather than at the tick. */
            jk_node_follow_tick(n);
            return JK_OK;
        }
    }
    free(msg);
    if (err != JK_OK) {
        n->bad_peers++;
        jk_node_logf(n, 0, "peer %u dropped: %s (%s)", ev->peer, jk_strerror(err), why.msg);
        (void)jk_net_disconnect(n->net, ev->peer, JK_NET_REASON_BAD_SIG);
    }
    return JK_OK;
}
