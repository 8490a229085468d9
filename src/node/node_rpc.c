/*
 * node_rpc.c — the node's RPC provider (include/jark/rpc.h, section 2).
 *
 * The server runs in external-loop mode on the node's thread (node.c steps
 * it between network waits), so these read the machine, the transport and
 * the archive without a lock. What needs the chain's state (state_slot,
 * pool, an event's verify with its reason) belongs to the chain app and is
 * answered "method not found" until that app provides it.
 */
#include "node_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static jk_err jk_nrpc_status(void *ctx, jk_rpc_status *out, jk_diag *diag)
{
    (void)diag;
    jk_node *n = ctx;
    jk_node_info info;
    jk_node_info_get(n, &info);
    memset(out, 0, sizeof *out);
    out->height = info.height;
    out->round = info.round;
    out->peers = info.peers;
    out->syncing = false;
    out->is_validator = n->cfg.self != JK_NODE_FULL;
    out->validator_index = out->is_validator ? n->cfg.self : 0;
    if (info.height == 0)
        out->head_hash = n->cfg.genesis;
    else
        (void)jk_node_archive_get(n->cfg.archive, info.height, &out->head_hash, NULL, NULL, NULL,
                                  NULL);
    return JK_OK;
}

static jk_err jk_nrpc_block(void *ctx, const jk_rpc_block_query *q, jk_rpc_buf *block,
                            jk_rpc_buf *certificate, jk_diag *diag)
{
    jk_node *n = ctx;
    uint64_t height = q->height;
    jk_err err = JK_OK;
    if (q->by_hash)
        err = jk_node_archive_find(n->cfg.archive, &q->hash, &height, diag);
    uint8_t *bytes = NULL;
    size_t len = 0;
    jk_cons_cert *cert = malloc(sizeof *cert);
    if (!cert)
        return JK_ERR_NOMEM;
    if (err == JK_OK)
        err = jk_node_archive_get(n->cfg.archive, height, NULL, &bytes, &len, cert, diag);
    if (err == JK_ERR_NODE_MISSING)
        err = jk_diag_set(diag, JK_ERR_RPC_NOT_FOUND, "no block at that height or hash");
    if (err == JK_OK)
        err = jk_rpc_buf_set(block, bytes, len);
    if (err == JK_OK) {
        size_t cl = jk_cons_cert_size(cert);
        uint8_t *enc = malloc(cl);
        if (!enc)
            err = JK_ERR_NOMEM;
        else {
            jk_cons_cert_encode(cert, enc);
            err = jk_rpc_buf_set(certificate, enc, cl);
            free(enc);
        }
    }
    free(bytes);
    free(cert);
    return err;
}

/* Hand the event to the machine as a locally submitted one: the chain
 * app's add_event decodes, deduplicates and verifies it into the pool, and
 * the machine gossips it on when it is new. Its verdict is read from the
 * app's counters around the call (the machine's add_event answers only
 * new or not). event_hash: BLAKE2b-256 of the gossip encoding. */
static jk_err jk_nrpc_submit(void *ctx, const jk_rpc_event *ev, jk_rpc_submit_result *out,
                             jk_diag *diag)
{
    jk_node *n = ctx;
    memset(out, 0, sizeof *out);
    if (!n->cfg.chain || !n->m)
        return jk_diag_set(diag, JK_ERR_RPC_UNAVAILABLE,
                           "this node does not admit events (no chain application, or a full node)");
    jk_chain_event ce = {.endpoint = ev->endpoint, .blob = ev->blob, .blob_len = ev->blob_len};
    uint8_t *bytes = NULL;
    size_t len = 0;
    jk_err err = jk_node_event_encode(&ce, ev->traces, ev->trace_count, &bytes, &len);
    if (err == JK_ERR_INVALID_ARG) {
        snprintf(out->reason, sizeof out->reason, "event over the gossip bounds");
        n->events_refused++;
        jk_rpc_metric_add(n->metrics.events_refused, 1);
        return JK_OK;
    }
    if (err != JK_OK)
        return err;
    jk_node_chain_app_stats before, after;
    jk_node_chain_app_stats_get(n->cfg.chain, &before);
    err = jk_cons_on_event(n->m, bytes, len);
    jk_node_chain_app_stats_get(n->cfg.chain, &after);
    jk_crypto_blake2b256(bytes, len, &out->event_hash);
    free(bytes);
    if (err != JK_OK)
        return jk_diag_set(diag, err, "submit: %s", jk_strerror(err));
    if (after.events_admitted > before.events_admitted) {
        out->admitted = true;
        n->events_admitted++;
        jk_rpc_metric_add(n->metrics.events_admitted, 1);
    } else {
        if (after.events_duplicate > before.events_duplicate)
            snprintf(out->reason, sizeof out->reason, "already in the pool");
        else
            snprintf(out->reason, sizeof out->reason, "%s",
                     after.last_error[0] ? after.last_error : "refused by verify");
        memset(&out->event_hash, 0, sizeof out->event_hash);
        n->events_refused++;
        jk_rpc_metric_add(n->metrics.events_refused, 1);
    }
    return JK_OK;
}

void jk_node_rpc_provider(jk_node *n, jk_rpc_provider *out)
{
    *out = (jk_rpc_provider){.ctx = n, .status = jk_nrpc_status, .block = jk_nrpc_block,
                             .submit_event = jk_nrpc_submit};
}
