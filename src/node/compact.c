/*
 * compact.c — compact proposals' bytes (docs/network.md "Compact
 * proposals"): a PROPOSAL whose value is a chain block, sent as its header
 * and certificate with each body event a prefix of its id and each body
 * trace an (event, trace) reference, both resolved from the receiver's own
 * pool; the receiver's rebuild, checked against the header's body hash; and
 * the WANT / FILL messages that complete a rebuild the pool cannot.
 *
 * Nothing here is hashed, signed or stored: the machine, the vote log and
 * the store see the rebuilt full bytes. A reference that resolves to the
 * wrong event (a prefix shared by two events, a pool holding the event with
 * other traces, a lying sender) gives a body whose hash is not the header's
 * body_hash, and the header is what the proposer signed: such a rebuild is
 * MISMATCH and is never delivered.
 */
#include "compact_internal.h"

#include "jark/bytes.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define JK_CP_FIXED 1u + 8u + 4u + 4u + 4u + 4u + 64u /* a full PROPOSAL's fields and length */
#define JK_CP_HEAD (2u + 8u + 4u + 4u + 4u + 64u)     /* compact: kind, version, h, r, vr, p, sig */
#define JK_CP_EV_REF (1u + JK_NODE_COMPACT_PREFIX)    /* the smallest event entry */
#define JK_CP_TR_REF 6u                               /* tag, event u32, trace u8 */
#define JK_CP_CERT_MAX (48u + 68u * JK_CONS_MAX_VALIDATORS)

/* ---- a bounds-checked reader ---------------------------------------------- */

typedef struct jk_rd {
    const uint8_t *b;
    size_t len, at;
} jk_rd;

static bool jk_rd_has(const jk_rd *r, size_t n) { return r->len - r->at >= n; }
static uint32_t jk_rd_u32(jk_rd *r)
{
    uint32_t v = jk_get_u32le(r->b + r->at);
    r->at += 4;
    return v;
}

/* ---- gossip encodings and body events --------------------------------------- */

bool jk_node_cp_gossip_view(const uint8_t *b, size_t len, jk_node_cp_gossip *g)
{
    if (len < 12)
        return false;
    g->endpoint = jk_get_u32le(b);
    g->blob_len = jk_get_u32le(b + 4);
    if (g->blob_len == 0 || g->blob_len > len - 12)
        return false;
    g->blob = b + 8;
    g->ntraces = jk_get_u32le(b + 8 + g->blob_len);
    g->traces = b + 12 + g->blob_len;
    return g->ntraces <= JK_NODE_EVENT_MAX_TRACES &&
           (size_t)g->ntraces * JK_CHAIN_TRACE_SIZE == len - 12 - g->blob_len;
}

/* One body event at b[0..len): E(endpoint) ‖ E(|blob|) ‖ blob, canonical
 * naturals. @return its length, 0 when b does not start with one. */
size_t jk_node_cp_body_event(const uint8_t *b, size_t len, uint64_t *endpoint, size_t *blob_off,
                            uint64_t *blob_len)
{
    uint8_t nat[9];
    size_t a = jk_pvm_decode_natural(b, len, endpoint);
    if (a == 0 || jk_pvm_encode_natural(*endpoint, nat) != a)
        return 0;
    size_t c = jk_pvm_decode_natural(b + a, len - a, blob_len);
    if (c == 0 || jk_pvm_encode_natural(*blob_len, nat) != c || *blob_len > len - a - c ||
        *blob_len > JK_CHAIN_MAX_BLOB)
        return 0;
    *blob_off = a + c;
    return a + c + (size_t)*blob_len;
}

/* ---- the pool's index by id prefix ------------------------------------------ */

static uint64_t jk_mix_key[2];

static size_t jk_prefix_home(const uint8_t *p, size_t mask)
{
    if (!jk_mix_key[1]) {
        uint64_t k[2];
        randombytes_buf(k, sizeof k);
        jk_mix_key[0] = k[0];
        jk_mix_key[1] = k[1] | 1;
    }
    uint64_t x = jk_get_u64le(p) ^ jk_mix_key[0];
    x *= jk_mix_key[1];
    return (size_t)(x >> 32 ^ x) & mask;
}

jk_err jk_node_cp_index_build(jk_node_cp_index *ix, const jk_node_pool_ref *pool, size_t n)
{
    size_t cap = 16;
    while (cap < 2 * n + 16)
        cap *= 2;
    ix->slot = calloc(cap, sizeof *ix->slot);
    if (!ix->slot)
        return JK_ERR_NOMEM;
    ix->mask = cap - 1;
    for (size_t i = 0; i < n; i++) {
        size_t s = jk_prefix_home(pool[i].id.bytes, ix->mask);
        bool dup = false;
        while (ix->slot[s] && !dup) {
            dup = memcmp(pool[ix->slot[s] - 1].id.bytes, pool[i].id.bytes,
                         JK_NODE_COMPACT_PREFIX) == 0;
            s = (s + 1) & ix->mask;
        }
        if (!dup) /* the first in pool order keeps the prefix */
            ix->slot[s] = i + 1;
    }
    return JK_OK;
}

/* The pool index whose id starts with prefix (SIZE_MAX: none). */
size_t jk_node_cp_index_find(const jk_node_cp_index *ix, const jk_node_pool_ref *pool,
                             const uint8_t *prefix)
{
    for (size_t s = jk_prefix_home(prefix, ix->mask); ix->slot[s]; s = (s + 1) & ix->mask)
        if (memcmp(pool[ix->slot[s] - 1].id.bytes, prefix, JK_NODE_COMPACT_PREFIX) == 0)
            return ix->slot[s] - 1;
    return SIZE_MAX;
}

/* ---- encode (the proposer) ---------------------------------------------------- */

/* A growing output buffer; a failed grow sets failed and writes nothing more. */
typedef struct jk_out {
    uint8_t *b;
    size_t len, cap;
    bool failed;
} jk_out;

static uint8_t *jk_out_room(jk_out *o, size_t n)
{
    if (o->failed)
        return NULL;
    if (o->cap - o->len < n) {
        size_t cap = o->cap ? o->cap : 4096;
        while (cap - o->len < n)
            cap *= 2;
        uint8_t *p = realloc(o->b, cap);
        if (!p) {
            o->failed = true;
            return NULL;
        }
        o->b = p;
        o->cap = cap;
    }
    uint8_t *at = o->b + o->len;
    o->len += n;
    return at;
}

static void jk_out_bytes(jk_out *o, const void *p, size_t n)
{
    uint8_t *at = jk_out_room(o, n);
    if (at && n)
        memcpy(at, p, n);
}

static void jk_out_u32(jk_out *o, uint32_t v)
{
    uint8_t *at = jk_out_room(o, 4);
    if (at)
        jk_put_u32le(at, v);
}

static void jk_out_u8(jk_out *o, uint8_t v) { jk_out_bytes(o, &v, 1); }

/* The traces of the body's referenced events, by the first 8 bytes of
 * their signature: where a body trace is found (event, trace). */
typedef struct jk_trace_index {
    struct jk_trace_slot {
        const uint8_t *trace;  /* NULL: empty */
        uint32_t ev;
        uint8_t at;
    } *slot;
    size_t mask;
} jk_trace_index;

static void jk_trace_index_add(jk_trace_index *ti, const uint8_t *trace, uint32_t ev, uint8_t at)
{
    size_t s = jk_prefix_home(trace + 64, ti->mask);
    while (ti->slot[s].trace) {
        if (memcmp(ti->slot[s].trace, trace, JK_CHAIN_TRACE_SIZE) == 0)
            return; /* the first keeps it */
        s = (s + 1) & ti->mask;
    }
    ti->slot[s] = (struct jk_trace_slot){trace, ev, at};
}

static const struct jk_trace_slot *jk_trace_index_find(const jk_trace_index *ti,
                                                       const uint8_t *trace)
{
    for (size_t s = jk_prefix_home(trace + 64, ti->mask); ti->slot[s].trace;
         s = (s + 1) & ti->mask)
        if (memcmp(ti->slot[s].trace, trace, JK_CHAIN_TRACE_SIZE) == 0)
            return &ti->slot[s];
    return NULL;
}

/* The body's events: where each is in the body and its id. */
typedef struct jk_body_walk {
    size_t n, events_end, ntraces, traces_off;
    size_t *off, *len;
    jk_hash *id;
} jk_body_walk;

static void jk_body_walk_free(jk_body_walk *w)
{
    free(w->off);
    free(w->len);
    free(w->id);
}

/* Walk a body (our own proposal's: produced here, so any failure only
 * means "send it whole"). */
static jk_err jk_body_walk_make(const uint8_t *body, size_t len, jk_body_walk *w)
{
    memset(w, 0, sizeof *w);
    uint64_t n, m;
    size_t at = jk_pvm_decode_natural(body, len, &n);
    if (at == 0 || n > JK_CHAIN_MAX_EVENTS)
        return JK_ERR_NODE_COMPACT;
    w->n = (size_t)n;
    w->off = malloc((w->n + 1) * sizeof *w->off);
    w->len = malloc((w->n + 1) * sizeof *w->len);
    w->id = malloc((w->n + 1) * sizeof *w->id);
    jk_chain_event *evs = malloc((w->n + 1) * sizeof *evs);
    if (!w->off || !w->len || !w->id || !evs) {
        free(evs);
        return JK_ERR_NOMEM;
    }
    for (size_t i = 0; i < w->n; i++) {
        uint64_t endpoint, blob_len;
        size_t blob_off;
        size_t k = jk_node_cp_body_event(body + at, len - at, &endpoint, &blob_off, &blob_len);
        if (k == 0 || endpoint > UINT32_MAX) {
            free(evs);
            return JK_ERR_NODE_COMPACT;
        }
        w->off[i] = at;
        w->len[i] = k;
        evs[i] = (jk_chain_event){(jk_chain_endpoint)endpoint, body + at + blob_off,
                                  (size_t)blob_len};
        at += k;
    }
    jk_chain_event_hashes(evs, w->n, w->id);
    free(evs);
    w->events_end = at;
    size_t k = jk_pvm_decode_natural(body + at, len - at, &m);
    if (k == 0 || m > JK_CHAIN_MAX_TRACES || m * JK_CHAIN_TRACE_SIZE > len - at - k)
        return JK_ERR_NODE_COMPACT;
    w->ntraces = (size_t)m;
    w->traces_off = at + k;
    return JK_OK;
}

jk_err jk_node_compact_encode(const uint8_t *proposal, size_t len, const jk_node_pool_ref *pool,
                              size_t npool, uint8_t **out, size_t *out_len, size_t **pool_at,
                              size_t *nevents)
{
    *out = NULL;
    *out_len = 0;
    *pool_at = NULL;
    *nevents = 0;
    if (len < JK_CP_FIXED || proposal[0] != JK_CONS_MSG_PROPOSAL)
        return JK_ERR_NODE_COMPACT;
    size_t vlen = jk_get_u32le(proposal + 21);
    if (len != JK_CP_FIXED + vlen || vlen < JK_CHAIN_HEADER_SIZE + 4)
        return JK_ERR_NODE_COMPACT;
    const uint8_t *value = proposal + 25;
    size_t cert_len = jk_get_u32le(value + vlen - 4);
    if (cert_len > vlen - 4 - JK_CHAIN_HEADER_SIZE || cert_len > JK_CP_CERT_MAX)
        return JK_ERR_NODE_COMPACT;
    size_t block_len = vlen - 4 - cert_len;
    const uint8_t *body = value + JK_CHAIN_HEADER_SIZE;
    size_t body_len = block_len - JK_CHAIN_HEADER_SIZE;
    jk_body_walk w;
    jk_err err = jk_body_walk_make(body, body_len, &w);
    jk_node_cp_index ix = {0};
    jk_trace_index ti = {0};
    size_t *at = NULL;
    if (err == JK_OK)
        err = jk_node_cp_index_build(&ix, pool, npool);
    if (err == JK_OK && !(at = malloc((w.n + 1) * sizeof *at)))
        err = JK_ERR_NOMEM;
    /* which body events the pool holds (the whole id compared), and the
     * traces those hold */
    size_t refs = 0, pooled_traces = 0;
    for (size_t i = 0; err == JK_OK && i < w.n; i++) {
        size_t p = jk_node_cp_index_find(&ix, pool, w.id[i].bytes);
        jk_node_cp_gossip g;
        at[i] = SIZE_MAX;
        if (p != SIZE_MAX && memcmp(pool[p].id.bytes, w.id[i].bytes, JK_HASH_SIZE) == 0 &&
            jk_node_cp_gossip_view(pool[p].bytes, pool[p].len, &g)) {
            at[i] = p;
            refs++;
            pooled_traces += g.ntraces;
        }
    }
    if (err == JK_OK && refs == 0)
        err = JK_ERR_NODE_COMPACT;
    if (err == JK_OK) {
        size_t cap = 16;
        while (cap < 2 * pooled_traces + 16)
            cap *= 2;
        ti.slot = calloc(cap, sizeof *ti.slot);
        ti.mask = cap - 1;
        if (!ti.slot)
            err = JK_ERR_NOMEM;
    }
    jk_out o = {0};
    if (err == JK_OK) {
        for (size_t i = 0; i < w.n; i++) {
            jk_node_cp_gossip g;
            if (at[i] != SIZE_MAX && jk_node_cp_gossip_view(pool[at[i]].bytes, pool[at[i]].len, &g))
                for (uint32_t t = 0; t < g.ntraces; t++)
                    jk_trace_index_add(&ti, g.traces + (size_t)t * JK_CHAIN_TRACE_SIZE,
                                       (uint32_t)i, (uint8_t)t);
        }
        jk_out_u8(&o, JK_NODE_MSG_COMPACT);
        jk_out_u8(&o, JK_NODE_COMPACT_VERSION);
        jk_out_bytes(&o, proposal + 1, 20);           /* h, r, vr, proposer */
        jk_out_bytes(&o, proposal + 25 + vlen, 64);   /* the signature */
        jk_out_bytes(&o, value, JK_CHAIN_HEADER_SIZE);
        jk_out_u32(&o, (uint32_t)cert_len);
        jk_out_bytes(&o, value + block_len, cert_len);
        jk_out_u32(&o, (uint32_t)w.n);
        for (size_t i = 0; i < w.n; i++) {
            if (at[i] != SIZE_MAX) {
                jk_out_u8(&o, 0);
                jk_out_bytes(&o, w.id[i].bytes, JK_NODE_COMPACT_PREFIX);
            } else {
                jk_out_u8(&o, 1);
                jk_out_u32(&o, (uint32_t)w.len[i]);
                jk_out_bytes(&o, body + w.off[i], w.len[i]);
            }
        }
        jk_out_u32(&o, (uint32_t)w.ntraces);
        for (size_t t = 0; t < w.ntraces; t++) {
            const uint8_t *tr = body + w.traces_off + t * JK_CHAIN_TRACE_SIZE;
            const struct jk_trace_slot *s = jk_trace_index_find(&ti, tr);
            if (s) {
                uint8_t *p = jk_out_room(&o, JK_CP_TR_REF);
                if (p) {
                    p[0] = 0;
                    jk_put_u32le(p + 1, s->ev);
                    p[5] = s->at;
                }
            } else {
                jk_out_u8(&o, 1);
                jk_out_bytes(&o, tr, JK_CHAIN_TRACE_SIZE);
            }
        }
        size_t part_off = w.traces_off + w.ntraces * JK_CHAIN_TRACE_SIZE;
        jk_out_u32(&o, (uint32_t)(body_len - part_off));
        jk_out_bytes(&o, body + part_off, body_len - part_off);
        if (o.failed)
            err = JK_ERR_NOMEM;
    }
    free(ix.slot);
    free(ti.slot);
    if (err != JK_OK) {
        free(o.b);
        free(at);
        jk_body_walk_free(&w);
        return err;
    }
    *out = o.b;
    *out_len = o.len;
    *pool_at = at;
    *nevents = w.n;
    jk_body_walk_free(&w);
    return JK_OK;
}

/* ---- decode (the receiver) ---------------------------------------------------- */

void jk_node_compact_free(jk_node_compact *c)
{
    if (!c)
        return;
    if (c->fill)
        for (size_t i = 0; i < c->nev; i++)
            free(c->fill[i]);
    free(c->fill);
    free(c->fill_len);
    free(c->ev);
    free(c->tr);
    free(c->bytes);
    free(c);
}

void jk_node_compact_info(const jk_node_compact *c, uint64_t *height, uint32_t *round,
                          uint32_t *proposer, size_t *events)
{
    if (height)
        *height = c->height;
    if (round)
        *round = c->round;
    if (proposer)
        *proposer = c->proposer;
    if (events)
        *events = c->nev;
}

static jk_err jk_cp_refuse(jk_node_compact *c, jk_diag *diag, jk_err err, const char *what,
                           size_t at)
{
    jk_node_compact_free(c);
    if (err == JK_ERR_NOMEM)
        return JK_ERR_NOMEM;
    return jk_diag_set(diag, JK_ERR_NODE_COMPACT, "compact proposal: %s (at byte %zu)", what, at);
}

/* The fixed head (kind, version, the proposal's fields): h, r, vr, p out. */
static const char *jk_cp_head(jk_rd *r, uint8_t kind, size_t fixed)
{
    if (!jk_rd_has(r, fixed))
        return "truncated";
    if (r->b[0] != kind)
        return "not this message's kind";
    if (r->b[1] != JK_NODE_COMPACT_VERSION)
        return "unknown version (this node reads version 1)";
    r->at = 2;
    return NULL;
}

jk_err jk_node_compact_decode(const uint8_t *bytes, size_t len, jk_node_compact **out,
                              jk_diag *diag)
{
    *out = NULL;
    jk_node_compact *c = calloc(1, sizeof *c);
    if (!c || !(c->bytes = malloc(len ? len : 1))) {
        free(c);
        return JK_ERR_NOMEM;
    }
    memcpy(c->bytes, bytes, len);
    c->len = len;
    jk_rd r = {c->bytes, len, 0};
    const char *bad = jk_cp_head(&r, JK_NODE_MSG_COMPACT, JK_CP_HEAD + JK_CHAIN_HEADER_SIZE + 4);
    if (bad)
        return jk_cp_refuse(c, diag, JK_ERR_NODE_COMPACT, bad, r.at);
    c->height = jk_get_u64le(r.b + 2);
    c->round = jk_get_u32le(r.b + 10);
    c->valid_round = jk_get_u32le(r.b + 14);
    c->proposer = jk_get_u32le(r.b + 18);
    if (c->round > JK_CONS_MAX_ROUND ||
        (c->valid_round != JK_CONS_NIL_ROUND && c->valid_round >= c->round) ||
        c->proposer >= JK_CONS_MAX_VALIDATORS)
        return jk_cp_refuse(c, diag, JK_ERR_NODE_COMPACT,
                            "round, valid round or proposer out of bounds", 10);
    c->sig_off = 22;
    c->header_off = JK_CP_HEAD;
    r.at = JK_CP_HEAD + JK_CHAIN_HEADER_SIZE;
    c->cert_len = jk_rd_u32(&r);
    c->cert_off = r.at;
    if (c->cert_len > JK_CP_CERT_MAX || !jk_rd_has(&r, c->cert_len))
        return jk_cp_refuse(c, diag, JK_ERR_NODE_COMPACT, "certificate length", r.at - 4);
    if (c->cert_len) {
        jk_cons_cert *cert = malloc(sizeof *cert);
        if (!cert)
            return jk_cp_refuse(c, diag, JK_ERR_NOMEM, "", 0);
        jk_err err = jk_cons_cert_decode(r.b + r.at, c->cert_len, cert, NULL);
        free(cert);
        if (err != JK_OK)
            return jk_cp_refuse(c, diag, JK_ERR_NODE_COMPACT, "the certificate is not canonical",
                                r.at);
    }
    r.at += c->cert_len;
    if (!jk_rd_has(&r, 4))
        return jk_cp_refuse(c, diag, JK_ERR_NODE_COMPACT, "truncated before the event count",
                            r.at);
    size_t nev = jk_rd_u32(&r);
    /* bounded by the chain and by the bytes left: nothing is allocated for
     * entries the message cannot hold */
    if (nev > JK_CHAIN_MAX_EVENTS || nev > (len - r.at) / JK_CP_EV_REF)
        return jk_cp_refuse(c, diag, JK_ERR_NODE_COMPACT, "event count over its bound", r.at - 4);
    c->nev = nev;
    if (!(c->ev = calloc(nev + 1, sizeof *c->ev)))
        return jk_cp_refuse(c, diag, JK_ERR_NOMEM, "", 0);
    for (size_t i = 0; i < nev; i++) {
        if (!jk_rd_has(&r, 1))
            return jk_cp_refuse(c, diag, JK_ERR_NODE_COMPACT, "truncated in the events", r.at);
        uint8_t tag = r.b[r.at++];
        jk_cp_ev *e = &c->ev[i];
        if (tag == 0) {
            if (!jk_rd_has(&r, JK_NODE_COMPACT_PREFIX))
                return jk_cp_refuse(c, diag, JK_ERR_NODE_COMPACT, "truncated reference", r.at);
            memcpy(e->prefix, r.b + r.at, JK_NODE_COMPACT_PREFIX);
            r.at += JK_NODE_COMPACT_PREFIX;
        } else if (tag == 1) {
            uint64_t endpoint, blob_len;
            size_t blob_off;
            if (!jk_rd_has(&r, 4))
                return jk_cp_refuse(c, diag, JK_ERR_NODE_COMPACT, "truncated literal event", r.at);
            size_t elen = jk_rd_u32(&r);
            if (elen == 0 || !jk_rd_has(&r, elen) ||
                jk_node_cp_body_event(r.b + r.at, elen, &endpoint, &blob_off, &blob_len) != elen)
                return jk_cp_refuse(c, diag, JK_ERR_NODE_COMPACT,
                                    "a literal event that is not one body event", r.at - 4);
            e->literal = true;
            e->off = (uint32_t)r.at;
            e->len = (uint32_t)elen;
            r.at += elen;
        } else {
            return jk_cp_refuse(c, diag, JK_ERR_NODE_COMPACT, "event tag not 0 or 1", r.at - 1);
        }
    }
    if (!jk_rd_has(&r, 4))
        return jk_cp_refuse(c, diag, JK_ERR_NODE_COMPACT, "truncated before the trace count",
                            r.at);
    size_t ntr = jk_rd_u32(&r);
    if (ntr > JK_CHAIN_MAX_TRACES || ntr > (len - r.at) / JK_CP_TR_REF)
        return jk_cp_refuse(c, diag, JK_ERR_NODE_COMPACT, "trace count over its bound", r.at - 4);
    c->ntr = ntr;
    if (!(c->tr = calloc(ntr + 1, sizeof *c->tr)))
        return jk_cp_refuse(c, diag, JK_ERR_NOMEM, "", 0);
    for (size_t t = 0; t < ntr; t++) {
        if (!jk_rd_has(&r, 1))
            return jk_cp_refuse(c, diag, JK_ERR_NODE_COMPACT, "truncated in the traces", r.at);
        uint8_t tag = r.b[r.at++];
        jk_cp_tr *x = &c->tr[t];
        if (tag == 0) {
            if (!jk_rd_has(&r, JK_CP_TR_REF - 1))
                return jk_cp_refuse(c, diag, JK_ERR_NODE_COMPACT, "truncated trace reference",
                                    r.at);
            x->ev_or_off = jk_rd_u32(&r);
            x->trace = r.b[r.at++];
            if (x->ev_or_off >= nev || x->trace >= JK_NODE_EVENT_MAX_TRACES)
                return jk_cp_refuse(c, diag, JK_ERR_NODE_COMPACT,
                                    "a trace reference past the events or their traces",
                                    r.at - 5);
        } else if (tag == 1) {
            if (!jk_rd_has(&r, JK_CHAIN_TRACE_SIZE))
                return jk_cp_refuse(c, diag, JK_ERR_NODE_COMPACT, "truncated literal trace",
                                    r.at);
            x->literal = true;
            x->ev_or_off = (uint32_t)r.at;
            r.at += JK_CHAIN_TRACE_SIZE;
        } else {
            return jk_cp_refuse(c, diag, JK_ERR_NODE_COMPACT, "trace tag not 0 or 1", r.at - 1);
        }
    }
    if (!jk_rd_has(&r, 4))
        return jk_cp_refuse(c, diag, JK_ERR_NODE_COMPACT, "truncated before the dispatch part",
                            r.at);
    c->part_len = jk_rd_u32(&r);
    c->part_off = r.at;
    if (c->part_len == 0 || c->part_len != len - r.at || c->part_len > JK_CHAIN_MAX_DISPATCH_PART ||
        r.b[r.at] > 1 || (r.b[r.at] == 0 && c->part_len != 1))
        return jk_cp_refuse(c, diag, JK_ERR_NODE_COMPACT,
                            "the dispatch part is not the rest of the message (00, or 01 and its lists)",
                            r.at - 4);
    *out = c;
    return JK_OK;
}
