/*
 * compact_fill.c — a compact proposal's rebuild into the full PROPOSAL
 * bytes, and the WANT / FILL messages that complete it (docs/network.md
 * "Compact proposals"). The codec of the compact form itself: compact.c.
 */
#include "compact_internal.h"

#include "jark/bytes.h"

#include <stdlib.h>
#include <string.h>

#define JK_CP_FIXED (1u + 8u + 4u + 4u + 4u + 4u + 64u)
#define JK_CP_WANT_HEAD (2u + 8u + 4u + 4u)

/* Where body event i's bytes come from in a rebuild. */
typedef struct jk_cp_src {
    const uint8_t *gossip;   /* a gossip encoding (fill or pool), or NULL: literal */
    size_t gossip_len;
    jk_node_cp_gossip g;
    uint8_t nat[18];         /* E(endpoint) ‖ E(|blob|) for a gossip source */
    size_t nat_len;
} jk_cp_src;

static size_t jk_cp_src_size(const jk_node_compact *c, size_t i, const jk_cp_src *s)
{
    return s->gossip ? s->nat_len + s->g.blob_len : c->ev[i].len;
}

jk_err jk_node_compact_rebuild(const jk_node_compact *c, const jk_node_pool_ref *pool,
                               size_t npool, jk_node_compact_state *state, uint8_t **proposal,
                               size_t *proposal_len, uint32_t **missing, size_t *nmissing,
                               jk_diag *why)
{
    *proposal = NULL;
    *proposal_len = 0;
    *missing = NULL;
    *nmissing = 0;
    *state = JK_NODE_COMPACT_MISMATCH;
    jk_cp_src *src = calloc(c->nev + 1, sizeof *src);
    jk_node_cp_index ix = {0};
    if (!src || jk_node_cp_index_build(&ix, pool, npool) != JK_OK) {
        free(src);
        return JK_ERR_NOMEM;
    }
    size_t nmiss = 0;
    for (size_t i = 0; i < c->nev; i++) {
        jk_cp_src *s = &src[i];
        if (c->fill && c->fill[i]) {
            s->gossip = c->fill[i];
            s->gossip_len = c->fill_len[i];
        } else if (!c->ev[i].literal) {
            size_t p = jk_node_cp_index_find(&ix, pool, c->ev[i].prefix);
            if (p == SIZE_MAX) {
                nmiss++;
                continue;
            }
            s->gossip = pool[p].bytes;
            s->gossip_len = pool[p].len;
        }
        if (s->gossip) {
            if (!jk_node_cp_gossip_view(s->gossip, s->gossip_len, &s->g)) {
                s->gossip = NULL; /* a pool entry that is no gossip encoding: not ours to use */
                nmiss++;
                continue;
            }
            s->nat_len = jk_pvm_encode_natural(s->g.endpoint, s->nat);
            s->nat_len += jk_pvm_encode_natural(s->g.blob_len, s->nat + s->nat_len);
        }
    }
    free(ix.slot);
    if (nmiss) {
        uint32_t *m = malloc(nmiss * sizeof *m);
        if (!m) {
            free(src);
            return JK_ERR_NOMEM;
        }
        size_t k = 0;
        for (size_t i = 0; i < c->nev; i++)
            if (!c->ev[i].literal && !src[i].gossip)
                m[k++] = (uint32_t)i;
        free(src);
        *missing = m;
        *nmissing = k;
        *state = JK_NODE_COMPACT_MISSING;
        jk_diag_set(why, JK_OK, "%zu of %zu events not in the pool", k, c->nev);
        return JK_OK;
    }
    /* every trace reference must name a trace its event has */
    for (size_t t = 0; t < c->ntr; t++) {
        const jk_cp_tr *x = &c->tr[t];
        if (!x->literal && (!src[x->ev_or_off].gossip || x->trace >= src[x->ev_or_off].g.ntraces)) {
            free(src);
            jk_diag_set(why, JK_OK, "trace %zu names trace %u of event %u, which it does not have",
                        t, x->trace, x->ev_or_off);
            return JK_OK;
        }
    }
    uint8_t nat[9];
    size_t body = jk_pvm_encode_natural(c->nev, nat) + jk_pvm_encode_natural(c->ntr, nat) +
                  c->ntr * JK_CHAIN_TRACE_SIZE + c->part_len;
    for (size_t i = 0; i < c->nev; i++)
        body += jk_cp_src_size(c, i, &src[i]);
    size_t vlen = JK_CHAIN_HEADER_SIZE + body + c->cert_len + 4;
    if (vlen > JK_CONS_MAX_VALUE) {
        free(src);
        jk_diag_set(why, JK_OK, "the rebuilt value would be %zu bytes, over %u", vlen,
                    JK_CONS_MAX_VALUE);
        return JK_OK;
    }
    size_t total = JK_CP_FIXED + vlen;
    uint8_t *b = malloc(total);
    if (!b) {
        free(src);
        return JK_ERR_NOMEM;
    }
    const uint8_t *cb = c->bytes;
    b[0] = JK_CONS_MSG_PROPOSAL;
    memcpy(b + 1, cb + 2, 20); /* h, r, vr, proposer */
    jk_put_u32le(b + 21, (uint32_t)vlen);
    uint8_t *v = b + 25;
    memcpy(v, cb + c->header_off, JK_CHAIN_HEADER_SIZE);
    uint8_t *body0 = v + JK_CHAIN_HEADER_SIZE, *w = body0;
    w += jk_pvm_encode_natural(c->nev, w);
    for (size_t i = 0; i < c->nev; i++) {
        const jk_cp_src *s = &src[i];
        if (s->gossip) {
            memcpy(w, s->nat, s->nat_len);
            memcpy(w + s->nat_len, s->g.blob, s->g.blob_len);
            w += s->nat_len + s->g.blob_len;
        } else {
            memcpy(w, cb + c->ev[i].off, c->ev[i].len);
            w += c->ev[i].len;
        }
    }
    w += jk_pvm_encode_natural(c->ntr, w);
    for (size_t t = 0; t < c->ntr; t++, w += JK_CHAIN_TRACE_SIZE) {
        const jk_cp_tr *x = &c->tr[t];
        memcpy(w, x->literal ? cb + x->ev_or_off
                             : src[x->ev_or_off].g.traces + (size_t)x->trace * JK_CHAIN_TRACE_SIZE,
               JK_CHAIN_TRACE_SIZE);
    }
    memcpy(w, cb + c->part_off, c->part_len);
    w += c->part_len;
    free(src);
    jk_hash h;
    jk_crypto_blake2b256(body0, (size_t)(w - body0), &h);
    /* header: parent 32, number 8, round 4, proposer 4, state_root 32, body_hash */
    if (memcmp(h.bytes, v + 80, JK_HASH_SIZE) != 0) {
        free(b);
        jk_diag_set(why, JK_OK, "the rebuilt body does not hash to the header's body_hash");
        return JK_OK;
    }
    memcpy(w, cb + c->cert_off, c->cert_len);
    w += c->cert_len;
    jk_put_u32le(w, (uint32_t)c->cert_len);
    memcpy(w + 4, cb + c->sig_off, JK_ED25519_SIG_SIZE);
    *proposal = b;
    *proposal_len = total;
    *state = JK_NODE_COMPACT_DONE;
    return JK_OK;
}

/* ---- WANT ------------------------------------------------------------------ */

static uint8_t *jk_cp_msg_head(uint8_t kind, uint64_t height, uint32_t round, size_t count,
                               size_t total)
{
    uint8_t *b = malloc(total);
    if (!b)
        return NULL;
    b[0] = kind;
    b[1] = JK_NODE_COMPACT_VERSION;
    jk_put_u64le(b + 2, height);
    jk_put_u32le(b + 10, round);
    jk_put_u32le(b + 14, (uint32_t)count);
    return b;
}

jk_err jk_node_want_encode(uint64_t height, uint32_t round, const uint32_t *idx, size_t count,
                           uint8_t **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    if (count > JK_CHAIN_MAX_EVENTS)
        return JK_ERR_INVALID_ARG;
    for (size_t i = 1; i < count; i++)
        if (idx[i] <= idx[i - 1])
            return JK_ERR_INVALID_ARG;
    size_t total = JK_CP_WANT_HEAD + 4 * count;
    uint8_t *b = jk_cp_msg_head(JK_NODE_MSG_WANT, height, round, count, total);
    if (!b)
        return JK_ERR_NOMEM;
    for (size_t i = 0; i < count; i++)
        jk_put_u32le(b + JK_CP_WANT_HEAD + 4 * i, idx[i]);
    *out = b;
    *out_len = total;
    return JK_OK;
}

static jk_err jk_cp_bad(jk_diag *diag, const char *msg, const char *what, size_t at)
{
    return jk_diag_set(diag, JK_ERR_NODE_COMPACT, "%s: %s (at byte %zu)", msg, what, at);
}

/* The head both WANT and FILL start with. */
static jk_err jk_cp_msg_check(const uint8_t *b, size_t len, uint8_t kind, const char *msg,
                              jk_diag *diag)
{
    if (len < JK_CP_WANT_HEAD)
        return jk_cp_bad(diag, msg, "truncated", len);
    if (b[0] != kind)
        return jk_cp_bad(diag, msg, "not this message's kind", 0);
    if (b[1] != JK_NODE_COMPACT_VERSION)
        return jk_cp_bad(diag, msg, "unknown version (this node reads version 1)", 1);
    if (jk_get_u32le(b + 10) > JK_CONS_MAX_ROUND)
        return jk_cp_bad(diag, msg, "round over the bound", 10);
    if (jk_get_u32le(b + 14) > JK_CHAIN_MAX_EVENTS)
        return jk_cp_bad(diag, msg, "count over the bound", 14);
    return JK_OK;
}

jk_err jk_node_want_decode(const uint8_t *b, size_t len, jk_node_want *out, jk_diag *diag)
{
    memset(out, 0, sizeof *out);
    jk_err err = jk_cp_msg_check(b, len, JK_NODE_MSG_WANT, "want", diag);
    if (err != JK_OK)
        return err;
    size_t count = jk_get_u32le(b + 14);
    if (len != JK_CP_WANT_HEAD + 4 * count)
        return jk_cp_bad(diag, "want", "length is not that of its count", len);
    for (size_t i = 1; i < count; i++)
        if (jk_get_u32le(b + JK_CP_WANT_HEAD + 4 * i) <=
            jk_get_u32le(b + JK_CP_WANT_HEAD + 4 * (i - 1)))
            return jk_cp_bad(diag, "want", "indices not ascending", JK_CP_WANT_HEAD + 4 * i);
    out->height = jk_get_u64le(b + 2);
    out->round = jk_get_u32le(b + 10);
    out->count = count;
    out->idx = b + JK_CP_WANT_HEAD;
    return JK_OK;
}

/* ---- FILL ------------------------------------------------------------------ */

jk_err jk_node_fill_encode(uint64_t height, uint32_t round, const uint32_t *idx,
                           const uint8_t *const *events, const size_t *lens, size_t count,
                           uint8_t **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    if (count > JK_CHAIN_MAX_EVENTS)
        return JK_ERR_INVALID_ARG;
    size_t total = JK_CP_WANT_HEAD;
    for (size_t i = 0; i < count; i++) {
        if ((i && idx[i] <= idx[i - 1]) || lens[i] > JK_CONS_MAX_EVENT)
            return JK_ERR_INVALID_ARG;
        total += 8 + lens[i];
    }
    uint8_t *b = jk_cp_msg_head(JK_NODE_MSG_FILL, height, round, count, total);
    if (!b)
        return JK_ERR_NOMEM;
    uint8_t *w = b + JK_CP_WANT_HEAD;
    for (size_t i = 0; i < count; i++) {
        jk_put_u32le(w, idx[i]);
        jk_put_u32le(w + 4, (uint32_t)lens[i]);
        memcpy(w + 8, events[i], lens[i]);
        w += 8 + lens[i];
    }
    *out = b;
    *out_len = total;
    return JK_OK;
}

jk_err jk_node_compact_fill(jk_node_compact *c, const uint8_t *b, size_t len, size_t *taken,
                            jk_diag *diag)
{
    *taken = 0;
    jk_err err = jk_cp_msg_check(b, len, JK_NODE_MSG_FILL, "fill", diag);
    if (err != JK_OK)
        return err;
    size_t count = jk_get_u32le(b + 14);
    bool ours = c && jk_get_u64le(b + 2) == c->height && jk_get_u32le(b + 10) == c->round;
    /* the whole message is checked before anything is kept */
    size_t at = JK_CP_WANT_HEAD;
    uint32_t last = 0;
    for (size_t i = 0; i < count; i++) {
        if (len - at < 8)
            return jk_cp_bad(diag, "fill", "truncated", at);
        uint32_t idx = jk_get_u32le(b + at), elen = jk_get_u32le(b + at + 4);
        if (i && idx <= last)
            return jk_cp_bad(diag, "fill", "indices not ascending", at);
        if (ours && idx >= c->nev)
            return jk_cp_bad(diag, "fill", "an index past the proposal's events", at);
        last = idx;
        jk_chain_event ev;
        jk_chain_trace *traces = NULL;
        size_t ntraces;
        jk_diag edg = {{0}};
        if (elen > len - at - 8)
            return jk_cp_bad(diag, "fill", "an event longer than the message", at + 4);
        err = jk_node_event_decode(b + at + 8, elen, &ev, &traces, &ntraces, &edg);
        free(traces);
        if (err == JK_ERR_NOMEM)
            return err;
        if (err != JK_OK)
            return jk_cp_bad(diag, "fill", edg.msg, at + 8);
        at += 8 + (size_t)elen;
    }
    if (at != len)
        return jk_cp_bad(diag, "fill", "bytes after the last event", at);
    if (!ours || count == 0)
        return JK_OK;
    if (!c->fill) {
        c->fill = calloc(c->nev, sizeof *c->fill);
        c->fill_len = calloc(c->nev, sizeof *c->fill_len);
        if (!c->fill || !c->fill_len) {
            free(c->fill);
            free(c->fill_len);
            c->fill = NULL;
            c->fill_len = NULL;
            return JK_ERR_NOMEM;
        }
    }
    at = JK_CP_WANT_HEAD;
    for (size_t i = 0; i < count; i++) {
        uint32_t idx = jk_get_u32le(b + at), elen = jk_get_u32le(b + at + 4);
        uint8_t *copy = malloc(elen);
        if (!copy)
            return JK_ERR_NOMEM;
        memcpy(copy, b + at + 8, elen);
        free(c->fill[idx]);
        c->fill[idx] = copy;
        c->fill_len[idx] = elen;
        (*taken)++;
        at += 8 + (size_t)elen;
    }
    return JK_OK;
}
