/*
 * chain_app_sync.c — the chain app's LastCommit check (Tendermint's rule:
 * each block carries its parent's commit certificate) and sync through the
 * app (the archive, that rule and the chain import, through the same
 * callbacks the machine calls). Split from chain_app.c by concern; no
 * behaviour change.
 */
#include "chain_app_internal.h"

#include <stdlib.h>
#include <string.h>

/* Tendermint's LastCommit rule: block `height` carries a valid commit
 * certificate of its parent (the committed head): 2f+1 distinct
 * validators' good precommit signatures over the head's hash at height-1,
 * any round; block 1 carries none. jk_app_value_header checked that the
 * header names it. */
jk_err jk_node_app_check_last_commit(jk_node_chain_app *a, uint64_t height,
                                     const jk_node_value *val, jk_diag *diag)
{
    if (height == 1)
        return val->has_cert ? jk_diag_set(diag, JK_ERR_NODE_LAST_COMMIT,
                                           "block 1 carries a certificate")
                             : JK_OK;
    if (!val->has_cert)
        return jk_diag_set(diag, JK_ERR_NODE_LAST_COMMIT,
                           "block %llu carries no certificate of its parent",
                           (unsigned long long)height);
    jk_cons_valset *vs = malloc(sizeof *vs);
    if (!vs)
        return JK_ERR_NOMEM;
    jk_node_chain_app_valset(a, vs);
    jk_err err = jk_cons_cert_check(&val->cert, &a->genesis.genesis_hash, vs, height - 1,
                                    &a->v->head_hash, diag);
    free(vs);
    if (err != JK_OK) {
        char why[sizeof diag->msg];
        snprintf(why, sizeof why, "%s", diag && diag->msg[0] ? diag->msg : jk_strerror(err));
        return jk_diag_set(diag, JK_ERR_NODE_LAST_COMMIT, "the carried LastCommit: %s", why);
    }
    return JK_OK;
}

/* ---------------------------------------------------------------------------
 * Sync through the app (the archive, the LastCommit rule and the chain import)
 * ------------------------------------------------------------------------- */

jk_err jk_node_chain_app_sync(jk_node_chain_app *a, const jk_node_sync_item *items, size_t count,
                              size_t *imported, jk_diag *diag)
{
    *imported = 0;
    jk_cons_valset *vs = malloc(sizeof *vs);
    if (!vs)
        return JK_ERR_NOMEM;
    jk_node_chain_app_valset(a, vs);
    jk_cons_app cb; /* the callbacks, as the machine calls them */
    jk_node_chain_app_bind(a, &cb);
    jk_err err = JK_OK;
    for (size_t i = 0; i < count && err == JK_OK; i++) {
        const jk_node_sync_item *it = &items[i];
        if (it->height != a->v->height + 1) {
            err = jk_diag_set(diag, JK_ERR_NODE_CONFLICT,
                              "sync: block %llu does not follow the head %llu",
                              (unsigned long long)it->height, (unsigned long long)a->v->height);
            break;
        }
        jk_hash id;
        cb.hash(a, it->block, it->len, &id);
        /* never a block without a valid certificate for it */
        err = jk_cons_cert_check(&it->cert, &a->genesis.genesis_hash, vs, it->height, &id, diag);
        if (err == JK_OK && !cb.valid(a, it->height, it->block, it->len))
            err = jk_diag_set(diag, JK_ERR_CONS_VALUE, "sync: block %llu: %s",
                              (unsigned long long)it->height, a->stats.last_error);
        if (err == JK_OK && (err = cb.commit(a, it->height, it->block, it->len, &it->cert)) !=
                                JK_OK)
            jk_diag_set(diag, err, "sync: block %llu: %s", (unsigned long long)it->height,
                        a->stats.last_error);
        if (err == JK_OK)
            (*imported)++;
    }
    free(vs);
    return err;
}
