/*
 * compact_node.c — compact proposals at the node's frame boundary
 * (docs/node.md "Compact proposals, session 13"; the bytes: compact.c,
 * compact_fill.c).
 *
 * Out: a PROPOSAL the machine sends leaves as its compact form against this
 * node's pool (the chain app's pending events), made once per proposal and
 * kept, with a copy of each referenced event's gossip encoding, for the
 * last two proposals: a receiver's WANT is answered from them (FILL), or
 * with the full PROPOSAL bytes.
 *
 * In: a compact proposal is rebuilt from the pool; rebuilt, it goes to the
 * machine exactly as a full PROPOSAL frame from that peer would. Events the
 * pool lacks: it is held (one per peer) and tried again after each pass of
 * admissions; once the transport has no event left to hand out, the
 * missing ones are asked for (WANT). A rebuild whose body is not the
 * header's (MISMATCH) is never delivered: the full form is asked for. A
 * sender that never answers is a proposer that sent nothing: the machine's
 * propose timeout runs. Malformed messages drop the peer as any bad frame.
 */
#include "node_internal.h"

#include "chain_app_internal.h"
#include "jark/bytes.h"

#include <stdlib.h>
#include <string.h>

#define JK_CN_SENT 2 /* proposals kept to answer WANTs: a height's last two rounds */

typedef struct jk_cn_sent {
    uint64_t height;
    uint32_t round;
    uint8_t *full, *compact;
    size_t full_len, compact_len;
    size_t nev;
    uint8_t **ev;     /* per body event: a copy of its gossip encoding, NULL: literal */
    size_t *ev_len;
} jk_cn_sent;

typedef struct jk_cn_held {
    uint32_t peer;
    uint8_t key[JK_NET_KEY_SIZE];  /* the sender's, as its frame carried it */
    jk_node_compact *c;
    bool asked;           /* a WANT of the missing events went out */
    bool want_full;       /* the full form was asked for: no more rebuilds */
    size_t pool_seen;     /* the pool's size at the last try */
    uint32_t passes;      /* passes of admissions since it arrived */
    uint64_t since_ms;
} jk_cn_held;

struct jk_node_cn {
    jk_cn_sent sent[JK_CN_SENT];
    size_t next_sent;
    jk_cn_held *held;
    size_t nheld, capheld;
    jk_node_cn_stats stats;
};

static void jk_cn_sent_clear(jk_cn_sent *s)
{
    free(s->full);
    free(s->compact);
    if (s->ev)
        for (size_t i = 0; i < s->nev; i++)
            free(s->ev[i]);
    free(s->ev);
    free(s->ev_len);
    memset(s, 0, sizeof *s);
}

void jk_node_cn_free(jk_node_cn *st)
{
    if (!st)
        return;
    for (size_t i = 0; i < JK_CN_SENT; i++)
        jk_cn_sent_clear(&st->sent[i]);
    for (size_t i = 0; i < st->nheld; i++)
        jk_node_compact_free(st->held[i].c);
    free(st->held);
    free(st);
}

static jk_node_cn *jk_cn_state(jk_node *n)
{
    if (!n->compact)
        n->compact = calloc(1, sizeof *n->compact);
    return n->compact;
}

void jk_node_compact_stats_get(const jk_node *n, jk_node_cn_stats *out)
{
    if (n->compact)
        *out = n->compact->stats;
    else
        memset(out, 0, sizeof *out);
}

/* The chain app's pool as references (malloc'd; NULL with *count 0 when
 * there is no chain app or no memory). */
static jk_node_pool_ref *jk_cn_pool(const jk_node *n, size_t *count)
{
    *count = 0;
    const jk_node_chain_app *a = n->cfg.chain;
    if (!a || a->npending == 0)
        return NULL;
    jk_node_pool_ref *p = malloc(a->npending * sizeof *p);
    if (!p)
        return NULL;
    for (size_t i = 0; i < a->npending; i++)
        p[i] = (jk_node_pool_ref){a->pending[i].id, a->pending[i].bytes, a->pending[i].len};
    *count = a->npending;
    return p;
}

static size_t jk_cn_pool_size(const jk_node *n)
{
    return n->cfg.chain ? n->cfg.chain->npending : 0;
}

/* ---- out ------------------------------------------------------------------ */

bool jk_node_compact_outgoing(jk_node *n, const uint8_t *full, size_t len, const uint8_t **out,
                              size_t *out_len)
{
    jk_node_cn *st = n->cfg.chain && n->m ? jk_cn_state(n) : NULL;
    if (!st || len < 25 || full[0] != JK_CONS_MSG_PROPOSAL)
        return false;
    for (size_t i = 0; i < JK_CN_SENT; i++) {
        jk_cn_sent *s = &st->sent[i];
        if (s->full && s->full_len == len && memcmp(s->full, full, len) == 0) {
            if (!s->compact)
                return false; /* no compact form: whole */
            *out = s->compact;
            *out_len = s->compact_len;
            st->stats.compact_sent++;
            return true;
        }
    }
    jk_cn_sent *s = &st->sent[st->next_sent];
    st->next_sent = (st->next_sent + 1) % JK_CN_SENT;
    jk_cn_sent_clear(s);
    s->height = jk_get_u64le(full + 1);
    s->round = jk_get_u32le(full + 9);
    if (!(s->full = malloc(len)))
        return false;
    memcpy(s->full, full, len);
    s->full_len = len;
    size_t npool, *at = NULL;
    jk_node_pool_ref *pool = jk_cn_pool(n, &npool);
    jk_err err = jk_node_compact_encode(full, len, pool, npool, &s->compact, &s->compact_len, &at,
                                        &s->nev);
    if (err == JK_OK) {
        s->ev = calloc(s->nev + 1, sizeof *s->ev);
        s->ev_len = calloc(s->nev + 1, sizeof *s->ev_len);
        err = s->ev && s->ev_len ? JK_OK : JK_ERR_NOMEM;
    }
    size_t refs = 0;
    for (size_t i = 0; err == JK_OK && i < s->nev; i++) {
        if (at[i] == SIZE_MAX)
            continue;
        if (!(s->ev[i] = malloc(pool[at[i]].len))) {
            err = JK_ERR_NOMEM;
            break;
        }
        memcpy(s->ev[i], pool[at[i]].bytes, pool[at[i]].len);
        s->ev_len[i] = pool[at[i]].len;
        refs++;
    }
    free(at);
    free(pool);
    if (err != JK_OK) {
        uint8_t *keep = s->full;
        s->full = NULL;
        jk_cn_sent_clear(s); /* remembered as "no compact form" */
        s->full = keep;
        s->full_len = len;
        return false;
    }
    jk_node_logf(n, 1, "proposal %llu/%u sent compact: %zu bytes for %zu (%zu of %zu events by reference)",
                 (unsigned long long)s->height, s->round, s->compact_len, len, refs, s->nev);
    st->stats.compact_sent++;
    st->stats.bytes_saved += len - (s->compact_len < len ? s->compact_len : len);
    *out = s->compact;
    *out_len = s->compact_len;
    return true;
}

/* Answer a WANT from peer: the wanted events (FILL) when every one is
 * kept, else the full form; nothing when the proposal is not kept. */
static void jk_cn_answer(jk_node *n, uint32_t peer, const jk_node_want *w)
{
    jk_node_cn *st = n->compact;
    jk_cn_sent *s = NULL;
    for (size_t i = 0; st && i < JK_CN_SENT; i++)
        if (st->sent[i].full && st->sent[i].height == w->height && st->sent[i].round == w->round)
            s = &st->sent[i];
    if (!s)
        return;
    bool whole = w->count == 0 || !s->ev;
    uint32_t *idx = whole ? NULL : malloc(w->count * sizeof *idx);
    const uint8_t **evs = whole ? NULL : malloc(w->count * sizeof *evs);
    size_t *lens = whole ? NULL : malloc(w->count * sizeof *lens);
    if (!whole && (!idx || !evs || !lens))
        whole = true;
    for (size_t i = 0; !whole && i < w->count; i++) {
        idx[i] = jk_get_u32le(w->idx + 4 * i);
        if (idx[i] >= s->nev || !s->ev[idx[i]])
            whole = true;
        else {
            evs[i] = s->ev[idx[i]];
            lens[i] = s->ev_len[idx[i]];
        }
    }
    uint8_t *fill = NULL;
    size_t fill_len = 0;
    if (!whole && jk_node_fill_encode(w->height, w->round, idx, evs, lens, w->count, &fill,
                                      &fill_len) != JK_OK)
        whole = true;
    if (whole) {
        (void)jk_net_send(n->net, peer, JK_NET_CONSENSUS, s->full, s->full_len);
        st->stats.full_sent++;
    } else {
        (void)jk_net_send(n->net, peer, JK_NET_CONSENSUS, fill, fill_len);
        st->stats.fills_sent++;
    }
    n->unsent = true;
    free(fill);
    free(idx);
    free(evs);
    free(lens);
}

/* ---- in ------------------------------------------------------------------- */

static void jk_cn_drop_peer(jk_node *n, uint32_t peer, const char *why)
{
    n->bad_peers++;
    jk_node_logf(n, 0, "peer %u dropped: %s (%s)", peer, jk_strerror(JK_ERR_NODE_COMPACT), why);
    (void)jk_net_disconnect(n->net, peer, JK_NET_REASON_BAD_SIG);
}

static jk_cn_held *jk_cn_held_of(jk_node_cn *st, uint32_t peer)
{
    for (size_t i = 0; i < st->nheld; i++)
        if (st->held[i].peer == peer)
            return &st->held[i];
    return NULL;
}

static void jk_cn_held_remove(jk_node_cn *st, jk_cn_held *h)
{
    jk_node_compact_free(h->c);
    *h = st->held[--st->nheld];
}

static void jk_cn_want(jk_node *n, jk_cn_held *h, const uint32_t *idx, size_t count)
{
    uint64_t height;
    uint32_t round;
    jk_node_compact_info(h->c, &height, &round, NULL, NULL);
    uint8_t *b;
    size_t len;
    if (jk_node_want_encode(height, round, idx, count, &b, &len) != JK_OK)
        return;
    (void)jk_net_send(n->net, h->peer, JK_NET_CONSENSUS, b, len);
    n->unsent = true;
    free(b);
    n->compact->stats.wants_sent++;
    if (count == 0) {
        h->want_full = true;
        n->compact->stats.wants_full++;
    }
    h->asked = true;
    jk_node_logf(n, 1, "proposal %llu/%u from peer %u: asked for %s", (unsigned long long)height,
                 round, h->peer, count ? "the missing events" : "the full form");
}

/* Try to rebuild held proposal h: delivered (and removed) when done, the
 * full form asked for on a mismatch, the missing events asked for when
 * `ask` and not asked yet. *h may move: the caller stops using it. */
static jk_err jk_cn_try(jk_node *n, jk_cn_held *h, bool ask, jk_diag *diag)
{
    jk_node_cn *st = n->compact;
    size_t npool;
    jk_node_pool_ref *pool = jk_cn_pool(n, &npool);
    jk_node_compact_state state;
    uint8_t *full;
    size_t full_len, nmissing;
    uint32_t *missing;
    jk_diag why = {{0}};
    h->pool_seen = jk_cn_pool_size(n);
    jk_err err = jk_node_compact_rebuild(h->c, pool, npool, &state, &full, &full_len, &missing,
                                         &nmissing, &why);
    free(pool);
    if (err != JK_OK)
        return jk_diag_set(diag, err, "compact proposal: out of memory rebuilding");
    uint64_t height;
    uint32_t round;
    size_t events;
    jk_node_compact_info(h->c, &height, &round, NULL, &events);
    if (state == JK_NODE_COMPACT_DONE) {
        jk_net_event ev = {.type = JK_NET_EV_FRAME, .peer = h->peer, .kind = JK_NET_CONSENSUS,
                           .data = full, .len = full_len};
        memcpy(ev.key, h->key, sizeof ev.key);
        uint64_t waited = jk_node_now_ms() - h->since_ms;
        uint32_t peer = h->peer;
        jk_cn_held_remove(st, h);
        st->stats.rebuilt++;
        jk_node_logf(n, 1, "proposal %llu/%u from peer %u rebuilt (%zu events, %zu bytes, held %llu ms)",
                     (unsigned long long)height, round, peer, events, full_len,
                     (unsigned long long)waited);
        err = jk_node_on_frame(n, &ev, diag);
        free(full);
        return err;
    }
    if (state == JK_NODE_COMPACT_MISMATCH) {
        st->stats.mismatches++;
        jk_node_logf(n, 0, "proposal %llu/%u from peer %u: compact form refused: %s",
                     (unsigned long long)height, round, h->peer, why.msg);
        jk_cn_want(n, h, NULL, 0);
    } else if (ask && !h->asked) {
        jk_cn_want(n, h, missing, nmissing);
    }
    free(missing);
    return JK_OK;
}

bool jk_node_compact_frame(jk_node *n, const jk_net_event *ev, jk_err *err, jk_diag *diag)
{
    *err = JK_OK;
    if (ev->kind != JK_NET_CONSENSUS || ev->len == 0)
        return false;
    uint8_t kind = ev->data[0];
    if (kind == JK_CONS_MSG_PROPOSAL) {
        /* the full form came (asked for, or from a node that sends it):
         * a held compact of the same proposal is done with */
        jk_cn_held *h = n->compact ? jk_cn_held_of(n->compact, ev->peer) : NULL;
        uint64_t height;
        uint32_t round;
        if (h && ev->len >= 13) {
            jk_node_compact_info(h->c, &height, &round, NULL, NULL);
            if (height == jk_get_u64le(ev->data + 1) && round == jk_get_u32le(ev->data + 9))
                jk_cn_held_remove(n->compact, h);
        }
        return false;
    }
    if (kind != JK_NODE_MSG_COMPACT && kind != JK_NODE_MSG_WANT && kind != JK_NODE_MSG_FILL)
        return false;
    jk_node_cn *st = jk_cn_state(n);
    if (!st) {
        *err = jk_diag_set(diag, JK_ERR_NOMEM, "compact proposal: out of memory");
        return true;
    }
    jk_diag why = {{0}};
    if (kind == JK_NODE_MSG_WANT) {
        jk_node_want w;
        if (jk_node_want_decode(ev->data, ev->len, &w, &why) != JK_OK)
            jk_cn_drop_peer(n, ev->peer, why.msg);
        else if (jk_node_validator_of(n, ev->key) < n->cfg.valset->count)
            jk_cn_answer(n, ev->peer, &w); /* only validators take proposals: no one
                                              else gets 2 MiB for an 18-byte ask */
        return true;
    }
    jk_cn_held *h = jk_cn_held_of(st, ev->peer);
    if (kind == JK_NODE_MSG_FILL) {
        size_t taken = 0;
        jk_err e = jk_node_compact_fill(h ? h->c : NULL, ev->data, ev->len, &taken, &why);
        if (e == JK_ERR_NOMEM)
            *err = jk_diag_set(diag, e, "compact proposal: out of memory");
        else if (e != JK_OK)
            jk_cn_drop_peer(n, ev->peer, why.msg);
        else if (taken) {
            st->stats.fills_received++;
            if (!h->want_full)
                *err = jk_cn_try(n, h, false, diag);
        }
        return true;
    }
    jk_node_compact *c;
    jk_err e = jk_node_compact_decode(ev->data, ev->len, &c, &why);
    if (e == JK_ERR_NOMEM) {
        *err = jk_diag_set(diag, e, "compact proposal: out of memory");
        return true;
    }
    if (e != JK_OK) {
        jk_cn_drop_peer(n, ev->peer, why.msg);
        return true;
    }
    st->stats.received++;
    if (h) {
        jk_node_compact_free(h->c); /* a newer proposal from the same peer */
    } else {
        if (st->nheld == st->capheld) {
            size_t cap = st->capheld ? 2 * st->capheld : 4;
            jk_cn_held *p = realloc(st->held, cap * sizeof *p);
            if (!p) {
                jk_node_compact_free(c);
                *err = jk_diag_set(diag, JK_ERR_NOMEM, "compact proposal: out of memory");
                return true;
            }
            st->held = p;
            st->capheld = cap;
        }
        h = &st->held[st->nheld++];
    }
    *h = (jk_cn_held){.peer = ev->peer, .c = c, .since_ms = jk_node_now_ms()};
    memcpy(h->key, ev->key, sizeof h->key);
    /* never ask at once: a turn hands the proposal out before the events
     * read with it (jk_node_drain_net), which are no longer queued in the
     * transport but not admitted yet; jk_node_compact_retry asks after the
     * pass, when the transport has no event left either */
    *err = jk_cn_try(n, h, false, diag);
    return true;
}

bool jk_node_compact_pending(const jk_node *n)
{
    return n->compact && n->compact->nheld > 0;
}

jk_err jk_node_compact_retry(jk_node *n, jk_diag *diag)
{
    jk_node_cn *st = n->compact;
    bool idle = jk_net_queued(n->net) == 0;
    for (size_t i = 0; st && i < st->nheld;) {
        jk_cn_held *h = &st->held[i];
        uint64_t height;
        jk_node_compact_info(h->c, &height, NULL, NULL, NULL);
        if (height <= n->committed) { /* decided without it */
            jk_cn_held_remove(st, h);
            continue;
        }
        /* asked when the transport has no event left, or after
         * JK_CN_ASK_PASSES passes behind a backlog (node_internal.h) */
        bool ask = idle || ++h->passes >= JK_CN_ASK_PASSES;
        if (h->want_full || (h->pool_seen == jk_cn_pool_size(n) && (h->asked || !ask))) {
            i++;
            continue;
        }
        size_t before = st->nheld;
        jk_err err = jk_cn_try(n, h, ask, diag);
        if (err != JK_OK)
            return err;
        if (st->nheld == before)
            i++; /* still held (h stays at i); else the last one moved to i */
    }
    return JK_OK;
}
