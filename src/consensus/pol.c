/*
 * pol.c — the proof of lock a PERSIST_POL output carries, and its restore
 * at start (docs/consensus.md "What is persisted").
 *
 * Layout 2 (written since session 12):
 *   tag u32 LE 0xFFFF0002 ‖ vr u32 LE ‖ the proposer's signature (64) ‖
 *   value_len u32 LE ‖ value ‖ the prevotes' certificate (jk_cons_cert
 *   encoding: height, round, id(v), 2f+1 prevote signatures).
 * Layout 1 (read only): value_len u32 LE ‖ value ‖ the certificate. A
 * value is at most JK_CONS_MAX_VALUE bytes, so no layout-1 proof starts
 * with the tag.
 *
 * Why the proposal's signature and vr: a proof is persisted with the
 * precommit of line 40, in the same append. When every validator crashes
 * inside the write of a decided height, the block is in no store, and the
 * proof is the only copy of it left (docs/node.md "A crash of every
 * validator at once"). Restored with its signature, the round's proposal
 * is back in the log: the re-sent precommits decide it again (line 49) in
 * its own round, the stall tick re-sends it to whoever lacks it.
 *
 * Self-delimiting (the certificate's count says its length), so a driver
 * hands several proofs back to back: the last one of each of the latest two
 * heights, since a validator may precommit at h + 1 before its store's
 * write of h is durable.
 */
#include "internal.h"

#include "jark/bytes.h"

#include <stdlib.h>
#include <string.h>

#define JK_POL_TAG 0xFFFF0002u
#define JK_POL2_FIXED (4 + 4 + JK_ED25519_SIG_SIZE + 4)

/* One proof at p[0..len): where its parts are. */
typedef struct jk_pol_view {
    bool has_prop;      /* layout 2 */
    uint32_t vr;
    const uint8_t *sig;
    const uint8_t *value;
    uint32_t value_len;
    const uint8_t *cert;
    size_t cert_len;
    size_t size;        /* the whole proof's bytes */
} jk_pol_view;

static jk_err jk_pol_parse(const uint8_t *p, size_t len, jk_pol_view *v, jk_diag *diag)
{
    memset(v, 0, sizeof *v);
    size_t off = 0;
    if (len >= 4 && jk_get_u32le(p) == JK_POL_TAG) {
        if (len < JK_POL2_FIXED)
            return jk_diag_set(diag, JK_ERR_CONS_RECORD, "proof of lock: %zu bytes, cut short", len);
        v->has_prop = true;
        v->vr = jk_get_u32le(p + 4);
        v->sig = p + 8;
        off = 8 + JK_ED25519_SIG_SIZE;
    }
    if (len - off < 4)
        return jk_diag_set(diag, JK_ERR_CONS_RECORD, "proof of lock: %zu bytes, cut short", len);
    v->value_len = jk_get_u32le(p + off);
    off += 4;
    if (v->value_len == 0 || v->value_len > JK_CONS_MAX_VALUE || v->value_len > len - off)
        return jk_diag_set(diag, JK_ERR_CONS_RECORD, "proof of lock: a value of %u bytes (of %zu)",
                           v->value_len, len - off);
    v->value = p + off;
    off += v->value_len;
    if (len - off < JK_CONS_CERT_HEAD)
        return jk_diag_set(diag, JK_ERR_CONS_RECORD, "proof of lock: its certificate is cut short");
    uint32_t count = jk_get_u32le(p + off + 44);
    if (count == 0 || count > JK_CONS_MAX_VALIDATORS ||
        len - off - JK_CONS_CERT_HEAD < (size_t)JK_CONS_CERT_ENTRY * count)
        return jk_diag_set(diag, JK_ERR_CONS_RECORD, "proof of lock: a certificate of %u prevotes in %zu bytes",
                           count, len - off);
    v->cert = p + off;
    v->cert_len = JK_CONS_CERT_HEAD + (size_t)JK_CONS_CERT_ENTRY * count;
    v->size = off + v->cert_len;
    if (v->has_prop && v->vr != JK_CONS_NIL_ROUND && v->vr >= jk_get_u32le(v->cert + 8))
        return jk_diag_set(diag, JK_ERR_CONS_RECORD, "proof of lock: vr %u not below its round", v->vr);
    return JK_OK;
}

jk_err jk_cons_pol_next(const uint8_t *pol, size_t len, size_t *size, uint64_t *height, jk_diag *diag)
{
    jk_pol_view v;
    *size = 0;
    *height = 0;
    jk_err err = jk_pol_parse(pol, len, &v, diag);
    if (err != JK_OK)
        return err;
    *size = v.size;
    *height = jk_get_u64le(v.cert);
    return JK_OK;
}

jk_err jk_cons_pol_encode(const jk_cons_machine *m, const jk_cons_round *r, const jk_cons_cert *prevotes,
                          uint8_t **out, size_t *len)
{
    size_t n = JK_POL2_FIXED + r->value_len + jk_cons_cert_size(prevotes);
    uint8_t *b = malloc(n);
    if (!b)
        return JK_ERR_NOMEM;
    (void)m;
    jk_put_u32le(b, JK_POL_TAG);
    jk_put_u32le(b + 4, r->valid_round);
    memcpy(b + 8, r->prop_sig, JK_ED25519_SIG_SIZE);
    jk_put_u32le(b + 8 + JK_ED25519_SIG_SIZE, (uint32_t)r->value_len);
    memcpy(b + JK_POL2_FIXED, r->value, r->value_len);
    jk_cons_cert_encode(prevotes, b + JK_POL2_FIXED + r->value_len);
    *out = b;
    *len = n;
    return JK_OK;
}

/* The proof pv (certificate c) checked — a store is trusted less than
 * memory: the value is the one the prevotes are for, they are a quorum and
 * verify, and so does the proposer's signature (layout 2). *id: id(v). */
static jk_err jk_pol_check(const jk_cons_machine *m, const jk_pol_view *pv, const jk_cons_cert *c, jk_hash *id)
{
    m->cfg.app.hash(m->cfg.app.ctx, pv->value, pv->value_len, id);
    if (memcmp(id->bytes, c->value.bytes, JK_HASH_SIZE) != 0 || c->count < m->quorum)
        return JK_ERR_CONS_RECORD;
    jk_cons_vote v = {0};
    v.type = JK_CONS_MSG_PREVOTE;
    v.height = c->height;
    v.round = c->round;
    v.has_value = true;
    v.value = *id;
    for (uint32_t i = 0; i < c->count; i++) {
        v.validator = c->sigs[i].validator;
        memcpy(v.sig, c->sigs[i].sig, JK_ED25519_SIG_SIZE);
        if (jk_cons_vote_verify(&v, &m->cfg.genesis, m->cfg.valset) != JK_OK)
            return JK_ERR_CONS_RECORD;
    }
    if (pv->has_prop) {
        jk_cons_proposal p = {0};
        p.height = c->height;
        p.round = c->round;
        p.valid_round = pv->vr;
        p.proposer = m->cfg.app.proposer(m->cfg.app.ctx, c->height, c->round);
        memcpy(p.sig, pv->sig, JK_ED25519_SIG_SIZE);
        if (jk_cons_proposal_verify(&p, &m->cfg.genesis, id, m->cfg.valset) != JK_OK)
            return JK_ERR_CONS_RECORD;
    }
    return JK_OK;
}

/* The checked proof of h_p back in the log: its prevotes in their round
 * (re-gossiped, they count for line 28), validValue_p / validRound_p (as
 * proposer we propose it again: lines 15-16), and with layout 2 the
 * round's proposal itself (line 49 can decide it again). */
static jk_err jk_pol_restore_one(jk_cons_machine *m, const jk_pol_view *pv, const jk_cons_cert *c,
                                 const jk_hash *id)
{
    jk_cons_round *r = jk_cons_round_get(m, c->round);
    uint8_t *copy = malloc(pv->value_len);
    uint8_t *prop = pv->has_prop ? malloc(pv->value_len) : NULL;
    if (!r || !copy || (pv->has_prop && !prop)) {
        free(copy);
        free(prop);
        return JK_ERR_NOMEM;
    }
    for (uint32_t i = 0; i < c->count; i++) {
        jk_cons_entry e;
        e.has_value = true;
        e.value = *id;
        memcpy(e.sig, c->sigs[i].sig, JK_ED25519_SIG_SIZE);
        (void)jk_cons_slot_add(&r->prevotes[c->sigs[i].validator], &e, id);
    }
    if (pv->has_prop && !r->has_proposal) {
        memcpy(prop, pv->value, pv->value_len);
        r->has_proposal = true;
        r->value = prop;
        r->value_len = pv->value_len;
        r->value_hash = *id;
        r->valid_round = pv->vr;
        memcpy(r->prop_sig, pv->sig, JK_ED25519_SIG_SIZE);
        r->validity = -1;
        r->got_tick = m->ticks; /* holds: none known (every peer may have restarted too) */
        r->seen[m->cfg.app.proposer(m->cfg.app.ctx, c->height, c->round)] = 1;
    } else {
        free(prop);
    }
    memcpy(copy, pv->value, pv->value_len);
    free(m->valid_value);
    m->valid_value = copy;
    m->valid_len = pv->value_len;
    m->valid_round = c->round;
    return JK_OK;
}

/* The proofs given at creation: the last one of h_p back in the log; those
 * of a height above h_p (the store lagged the record: jk_cons_resume) are
 * checked now and kept until h_p gets there; older ones go. */
jk_err jk_cons_restore_pol(jk_cons_machine *m)
{
    if (!m->pol)
        return JK_OK;
    jk_err err = JK_OK;
    bool keep = false;
    jk_cons_cert *c = malloc(sizeof *c);
    if (!c)
        return JK_ERR_NOMEM;
    size_t at = SIZE_MAX;
    for (size_t off = 0; off < m->pol_len && err == JK_OK;) {
        jk_pol_view pv;
        jk_hash id;
        if (jk_pol_parse(m->pol + off, m->pol_len - off, &pv, NULL) != JK_OK ||
            jk_cons_cert_decode(pv.cert, pv.cert_len, c, NULL) != JK_OK) {
            err = JK_ERR_CONS_RECORD;
            break;
        }
        if (c->height >= m->h)
            err = jk_pol_check(m, &pv, c, &id);
        if (c->height > m->h)
            keep = true;
        if (c->height == m->h)
            at = off; /* a later proof of the height replaces an earlier one */
        off += pv.size;
    }
    if (err == JK_OK && at != SIZE_MAX) {
        jk_pol_view pv;
        jk_hash id;
        (void)jk_pol_parse(m->pol + at, m->pol_len - at, &pv, NULL);
        (void)jk_cons_cert_decode(pv.cert, pv.cert_len, c, NULL);
        m->cfg.app.hash(m->cfg.app.ctx, pv.value, pv.value_len, &id);
        err = jk_pol_restore_one(m, &pv, c, &id);
    }
    free(c);
    if (!keep || err != JK_OK) {
        free(m->pol);
        m->pol = NULL;
        m->pol_len = 0;
    }
    return err;
}
