/*
 * archive_evidence.c — the block archive's equivocation evidence (table
 * "evidence", schema at the top of archive.c): one entry per equivocation,
 * the first pair seen kept, at most JK_NODE_EVIDENCE_MAX entries (the
 * oldest height makes room for a higher one). Split from archive.c.
 */
#include "archive_internal.h"

#include <stdlib.h>
#include <string.h>

/* The two votes of an EVIDENCE output, checked to be one equivocation:
 * same validator, height, round and type, different values. */
static jk_err jk_evidence_parse(const uint8_t *bytes, size_t len, jk_node_evidence *ev,
                                jk_diag *diag)
{
    memset(ev, 0, sizeof *ev);
    if (len != JK_EVIDENCE_SIZE)
        return jk_diag_set(diag, JK_ERR_NODE_EVIDENCE, "evidence: %zu bytes, not %u", len,
                           JK_EVIDENCE_SIZE);
    jk_cons_msg m1, m2;
    if (jk_cons_msg_decode(bytes, JK_CONS_VOTE_SIZE, &m1, diag) != JK_OK ||
        jk_cons_msg_decode(bytes + JK_CONS_VOTE_SIZE, JK_CONS_VOTE_SIZE, &m2, diag) != JK_OK ||
        (m1.kind != JK_CONS_MSG_PREVOTE && m1.kind != JK_CONS_MSG_PRECOMMIT))
        return jk_diag_set(diag, JK_ERR_NODE_EVIDENCE, "evidence: not two votes");
    const jk_cons_vote *a = &m1.vote, *b = &m2.vote;
    if (m1.kind != m2.kind || a->validator != b->validator || a->height != b->height ||
        a->round != b->round ||
        (a->has_value == b->has_value && !memcmp(a->value.bytes, b->value.bytes, 32)))
        return jk_diag_set(diag, JK_ERR_NODE_EVIDENCE, "evidence: the votes do not conflict");
    ev->first = *a;
    ev->second = *b;
    return JK_OK;
}

static void jk_evidence_key(const jk_cons_vote *v, uint8_t key[JK_EVIDENCE_KEY])
{
    jk_put_u64be(key, v->height);
    jk_put_u32be(key + 8, v->round);
    key[12] = v->type;
    jk_put_u32be(key + 13, v->validator);
}

typedef struct jk_arch_ev {
    jk_node_archive *a;
    const uint8_t *bytes;
    uint8_t key[JK_EVIDENCE_KEY];
    bool stored;
    int64_t delta;
} jk_arch_ev;

static jk_err jk_arch_ev_txn(void *ctx, jk_cap_store_txn *t, jk_diag *diag)
{
    jk_arch_ev *e = ctx;
    const uint8_t *old;
    size_t n;
    jk_err err = jk_cap_txn_get(t, e->a->evidence, e->key, sizeof e->key, &old, &n, diag);
    if (err != JK_ERR_CAP_MISSING)
        return err; /* JK_OK: this equivocation is kept already */
    if (e->a->evidence_count >= e->a->evidence_max) {
        jk_cap_table_entry first;
        if ((err = jk_cap_txn_seek(t, e->a->evidence, NULL, 0, false, &first, diag)) != JK_OK)
            return err;
        if (memcmp(first.key, e->key, JK_EVIDENCE_KEY) > 0)
            return JK_OK; /* older than everything kept: dropped */
        uint8_t k[JK_EVIDENCE_KEY];
        memcpy(k, first.key, sizeof k);
        if ((err = jk_cap_txn_del(t, e->a->evidence, k, sizeof k, diag)) != JK_OK)
            return err;
        e->delta--;
    }
    err = jk_cap_txn_put(t, e->a->evidence, e->key, sizeof e->key, e->bytes, JK_EVIDENCE_SIZE,
                         diag);
    if (err == JK_OK) {
        e->delta++;
        e->stored = true;
    }
    return err;
}

jk_err jk_node_archive_put_evidence(jk_node_archive *a, const uint8_t *bytes, size_t len,
                                    bool *stored, jk_diag *diag)
{
    if (stored)
        *stored = false;
    jk_node_evidence ev;
    jk_err err = jk_evidence_parse(bytes, len, &ev, diag);
    if (err != JK_OK)
        return err;
    jk_arch_ev e = {.a = a, .bytes = bytes};
    jk_evidence_key(&ev.first, e.key);
    if ((err = jk_cap_store_write(a->store, jk_arch_ev_txn, &e, diag)) != JK_OK)
        return jk_arch_err(err, diag, "evidence");
    a->evidence_count = (uint64_t)((int64_t)a->evidence_count + e.delta);
    if (stored)
        *stored = e.stored;
    return JK_OK;
}

uint64_t jk_node_archive_evidence_count(const jk_node_archive *a) { return a->evidence_count; }

void jk_node_archive_set_evidence_max(jk_node_archive *a, uint64_t max)
{
    a->evidence_max = max ? max : JK_NODE_EVIDENCE_MAX;
}

typedef struct jk_arch_evl {
    jk_node_archive *a;
    uint64_t offset;
    jk_node_evidence *out;
    size_t max, n;
} jk_arch_evl;

static jk_err jk_arch_evl_txn(void *ctx, jk_cap_store_txn *t, jk_diag *diag)
{
    jk_arch_evl *l = ctx;
    uint8_t key[JK_EVIDENCE_KEY + 1];
    size_t klen = 0;
    for (uint64_t i = 0; l->n < l->max; i++) {
        jk_cap_table_entry e;
        jk_err err = jk_cap_txn_seek(t, l->a->evidence, key, klen, false, &e, diag);
        if (err == JK_ERR_CAP_MISSING)
            return JK_OK;
        if (err != JK_OK)
            return err;
        if (e.key_len != JK_EVIDENCE_KEY)
            return jk_diag_set(diag, JK_ERR_NODE_ARCHIVE, "archive: an evidence key is corrupt");
        if (i >= l->offset) {
            if ((err = jk_evidence_parse(e.val, e.val_len, &l->out[l->n], diag)) != JK_OK)
                return jk_diag_set(diag, JK_ERR_NODE_ARCHIVE, "archive: evidence is corrupt");
            l->n++;
        }
        /* the next key: this one followed by a zero byte */
        memcpy(key, e.key, JK_EVIDENCE_KEY);
        key[JK_EVIDENCE_KEY] = 0;
        klen = JK_EVIDENCE_KEY + 1;
    }
    return JK_OK;
}

jk_err jk_node_archive_evidence(jk_node_archive *a, uint64_t offset, jk_node_evidence *out,
                                size_t max, size_t *count, jk_diag *diag)
{
    jk_arch_evl l = {a, offset, out, max, 0};
    jk_err err = jk_cap_store_read(a->store, jk_arch_evl_txn, &l, diag);
    *count = err == JK_OK ? l.n : 0;
    return jk_arch_err(err, diag, "evidence");
}

