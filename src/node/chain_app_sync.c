/*
 * chain_app_sync.c — the chain app's LastCommit check (Tendermint's rule:
 * each block carries its parent's commit certificate) and sync through the
 * app (the archive, that rule and the chain import, through the same
 * callbacks the machine calls). Split from chain_app.c by concern.
 *
 * Certificates are checked through a memo of the precommits verified
 * lately (jk_node_chain_app_cert_check): a node that follows the chain
 * checks height h's certificate when it takes the decision, and block
 * h + 1 carries a certificate of h as its LastCommit — the same precommits,
 * or most of them. Checking both in full was a quarter of a full node's
 * import (BENCH sync, docs/bench.md); a signature already verified for the
 * same validator, height, round and value is not verified again.
 */
#include "chain_app_internal.h"

#include <stdlib.h>
#include <string.h>

/* Whether c names height and id and its members are a quorum of distinct
 * validators of the set, ascending: the structure jk_cons_cert_check
 * checks besides the signatures. */
static bool jk_app_cert_shape(const jk_cons_cert *c, uint64_t height, const jk_hash *id,
                              uint32_t members)
{
    if (c->height != height || memcmp(c->value.bytes, id->bytes, JK_HASH_SIZE) != 0 ||
        c->count < jk_cons_quorum(members) || c->count > members)
        return false;
    for (uint32_t i = 0; i < c->count; i++)
        if ((i > 0 && c->sigs[i].validator <= c->sigs[i - 1].validator) ||
            c->sigs[i].validator >= members || c->sigs[i].validator >= JK_CONS_MAX_VALIDATORS)
            return false;
    return true;
}

/* The memo of this (height, round, value), or NULL and in *old the one to
 * replace: the lower height's (or an unused one). */
static struct jk_app_cert_memo *jk_app_cert_memo_find(jk_node_chain_app *a, uint64_t height,
                                                      uint32_t round, const jk_hash *id,
                                                      struct jk_app_cert_memo **old)
{
    *old = NULL;
    for (int k = 0; k < 2; k++) {
        struct jk_app_cert_memo *x = &a->cert_memo[k];
        if (x->valid && x->height == height && x->round == round &&
            memcmp(x->value.bytes, id->bytes, JK_HASH_SIZE) == 0)
            return x;
        if (!*old || !x->valid || ((*old)->valid && x->height < (*old)->height))
            *old = x;
    }
    return NULL;
}

/* Remember cert's precommits as verified, with those of the same height,
 * round and value remembered before (otherwise in place of the lower
 * height's). */
static void jk_app_cert_memo_put(jk_node_chain_app *a, const jk_cons_cert *cert, uint64_t height,
                                 const jk_hash *id)
{
    struct jk_app_cert_memo *old, *m = jk_app_cert_memo_find(a, height, cert->round, id, &old);
    if (!m) {
        m = old;
        memset(m->has, 0, sizeof m->has);
        m->valid = true;
        m->height = height;
        m->round = cert->round;
        m->value = *id;
    }
    for (uint32_t i = 0; i < cert->count; i++) {
        uint32_t who = cert->sigs[i].validator;
        if (who < JK_CONS_MAX_VALIDATORS) {
            m->has[who] = true;
            memcpy(m->sig[who], cert->sigs[i].sig, JK_ED25519_SIG_SIZE);
        }
    }
}

jk_err jk_node_chain_app_cert_check(jk_node_chain_app *a, const jk_cons_cert *cert,
                                    uint64_t height, const jk_hash *id, jk_diag *diag)
{
    struct jk_app_cert_memo *old, *m = jk_app_cert_memo_find(a, height, cert->round, id, &old);
    jk_cons_valset *vs = malloc(sizeof *vs);
    if (!vs)
        return JK_ERR_NOMEM;
    jk_node_chain_app_valset(a, vs);
    bool ok = jk_app_cert_shape(cert, height, id, vs->count);
    /* each precommit the memo does not hold verified is verified now */
    jk_cons_vote v = {.type = JK_CONS_MSG_PRECOMMIT, .height = height, .round = cert->round,
                      .has_value = true, .value = *id};
    for (uint32_t i = 0; ok && i < cert->count; i++) {
        uint32_t who = cert->sigs[i].validator;
        if (m && m->has[who] &&
            memcmp(m->sig[who], cert->sigs[i].sig, JK_ED25519_SIG_SIZE) == 0)
            continue;
        v.validator = who;
        memcpy(v.sig, cert->sigs[i].sig, JK_ED25519_SIG_SIZE);
        a->stats.cert_sigs_checked++;
        ok = jk_cons_vote_verify(&v, &a->genesis.genesis_hash, vs) == JK_OK;
    }
    /* refused here: the full check decides and says why, in its words */
    jk_err err = ok ? JK_OK
                    : jk_cons_cert_check(cert, &a->genesis.genesis_hash, vs, height, id, diag);
    free(vs);
    if (err == JK_OK)
        jk_app_cert_memo_put(a, cert, height, id);
    return err;
}

/* The certificate a commit decided height on: its precommits were verified
 * before the commit (the machine counts only votes it verified and checks a
 * DECISION's certificate; the sync and follow paths check theirs through
 * jk_node_chain_app_cert_check), so they are remembered as verified. The
 * next proposer's block carries its own certificate of this height as its
 * LastCommit: the same precommits, or most of them, which the check of that
 * block then does not verify again (session 8: 3 Ed25519 verifies a height
 * at every validator but the proposer, whose own block is not checked). */
void jk_node_app_cert_committed(jk_node_chain_app *a, const jk_cons_cert *cert, uint64_t height)
{
    if (cert->height == height && cert->count <= JK_CONS_MAX_VALIDATORS)
        jk_app_cert_memo_put(a, cert, height, &cert->value);
}

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
    jk_err err = jk_node_chain_app_cert_check(a, &val->cert, height - 1, &a->v->head_hash, diag);
    if (err == JK_ERR_NOMEM)
        return err;
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
        err = jk_node_chain_app_cert_check(a, &it->cert, it->height, &id, diag);
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
    return err;
}
