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
    out->is_validator = true;
    out->validator_index = n->cfg.self;
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

void jk_node_rpc_provider(jk_node *n, jk_rpc_provider *out)
{
    *out = (jk_rpc_provider){.ctx = n, .status = jk_nrpc_status, .block = jk_nrpc_block};
}
