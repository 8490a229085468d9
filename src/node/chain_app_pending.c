/*
 * chain_app_pending.c — what the chain app keeps between heights: the
 * pending events (gossiped or submitted, admitted, not yet in a committed
 * block), the dispatch events among them fed to each produce's cycle, and
 * the committed head's dispatch queue (docs/node.md, "Dispatch events on a
 * network"). Split from chain_app.c by concern.
 */
#include "chain_app_internal.h"

#include "jark/bytes.h"

#include <stdlib.h>
#include <string.h>

/* The pending dispatch events into the open cycle (setup_cycle dropped the
 * buffers): Dispatch_k.process of this produce sees them. */
jk_err jk_node_app_feed_dispatch(jk_node_chain_app *a, size_t limit)
{
    jk_err err = JK_OK;
    size_t fed = 0;
    for (size_t i = 0; i < a->npending && err == JK_OK && fed < limit; i++) {
        if (!a->pending[i].dispatch)
            continue;
        fed++;
        jk_chain_event ev;
        jk_chain_trace *traces;
        size_t count;
        bool admitted;
        err = jk_node_event_decode(a->pending[i].bytes, a->pending[i].len, &ev, &traces, &count,
                                   NULL);
        if (err == JK_OK)
            err = jk_chain_handle_incoming_event(a->v->ck, &ev, traces, count, &admitted, NULL);
        free(traces);
    }
    return err;
}

/* A set of event ids for one pass over the pending list: an open-addressing
 * table (linear probing, at most half full) of indexes into the ids' array.
 * A commit dropped the block's events from the pending list by sorting the
 * block's ids and searching each pending id there: ~1,500 instructions a
 * block's event with 4,000 pending (the sort's and the searches' calls of
 * memcmp; docs/bench.md "Admission, session 10"); here it is a probe or two
 * a lookup. The slot of an id is the seen set's keyed hash of it
 * (jk_node_app_seen_hash, under a key drawn once per process): the ids are
 * hashes of what peers send, and ids aimed at one run would make every
 * lookup walk it. A pending entry keeps that hash from its admission and
 * the commit computes the block's once for this set and the seen set's
 * update (session 16: three SipHashes an event at every node's commit
 * became one multilinear hash). Only lookups read it: its layout decides
 * nothing. */
typedef struct jk_idset {
    const jk_hash *ids; /* borrowed */
    uint32_t *slot;     /* index + 1 into ids; 0: empty */
    size_t mask;
} jk_idset;

/* The set of ids[0..n) (borrowed: they must outlive it), hs[j] the seen
 * hash of ids[j] (NULL: computed here); false when out of memory or past
 * the table's index range. */
static bool jk_idset_make(jk_idset *s, const jk_hash *ids, const uint64_t *hs, size_t n)
{
    size_t cap = 16;
    while (cap < 2 * n && cap <= UINT32_MAX / 2)
        cap *= 2;
    s->ids = ids;
    s->mask = cap - 1;
    s->slot = cap >= 2 * n ? calloc(cap, sizeof *s->slot) : NULL;
    if (!s->slot)
        return false;
    for (size_t j = 0; j < n; j++) {
        size_t i = (size_t)(hs ? hs[j] : jk_node_app_seen_hash(&ids[j])) & s->mask;
        while (s->slot[i] && memcmp(ids[s->slot[i] - 1].bytes, ids[j].bytes, JK_HASH_SIZE) != 0)
            i = (i + 1) & s->mask;
        if (!s->slot[i])
            s->slot[i] = (uint32_t)(j + 1);
    }
    return true;
}

/* Whether id (h: its seen hash) is in s. */
static bool jk_idset_has(const jk_idset *s, const jk_hash *id, uint64_t h)
{
    for (size_t i = (size_t)h & s->mask; s->slot[i]; i = (i + 1) & s->mask)
        if (!memcmp(s->ids[s->slot[i] - 1].bytes, id->bytes, JK_HASH_SIZE))
            return true;
    return false;
}

/* Whether pending entry p is event ev: the same endpoint and blob, so the
 * same id (p->id is jk_chain_event_hash of what p's bytes decode to). */
static bool jk_pending_is(const jk_app_pending *p, const jk_chain_event *ev)
{
    return !p->dispatch && p->len >= 12 + ev->blob_len && jk_get_u32le(p->bytes) == ev->endpoint &&
           jk_get_u32le(p->bytes + 4) == ev->blob_len &&
           memcmp(p->bytes + 8, ev->blob, ev->blob_len) == 0;
}

/* How far past the last match a block event is looked for among the
 * pending entries (events admitted between the proposer's selection and
 * the commit, or in another order, sit in between). */
#define JK_BLOCK_IDS_AHEAD 4u

size_t jk_node_app_block_ids(const jk_node_chain_app *a, const jk_chain_block *b, jk_hash *ids,
                             uint64_t *seen_h)
{
    size_t n = b->event_count, cur = 0, nmiss = 0;
    size_t *miss = malloc((n ? n : 1) * sizeof *miss);
    jk_chain_event *mev = malloc((n ? n : 1) * sizeof *mev);
    jk_hash *mids = malloc((n ? n : 1) * sizeof *mids);
    if (!miss || !mev || !mids) {
        free(miss);
        free(mev);
        free(mids);
        jk_chain_event_hashes(b->events, n, ids);
        for (size_t j = 0; j < n; j++)
            seen_h[j] = jk_node_app_seen_hash(&ids[j]);
        return n;
    }
    for (size_t j = 0; j < n; j++) {
        size_t k = cur, end = cur + JK_BLOCK_IDS_AHEAD < a->npending ? cur + JK_BLOCK_IDS_AHEAD : a->npending;
        while (k < end && !jk_pending_is(&a->pending[k], &b->events[j]))
            k++;
        if (k < end) {
            ids[j] = a->pending[k].id;
            seen_h[j] = a->pending[k].seen_h;
            cur = k + 1;
        } else {
            mev[nmiss] = b->events[j];
            miss[nmiss++] = j;
        }
    }
    if (nmiss)
        jk_chain_event_hashes(mev, nmiss, mids); /* the rest four lanes at a time, as before */
    for (size_t m = 0; m < nmiss; m++) {
        ids[miss[m]] = mids[m];
        seen_h[miss[m]] = jk_node_app_seen_hash(&mids[m]);
    }
    free(miss);
    free(mev);
    free(mids);
    return nmiss;
}

/* Drop the pending events a committed block carries: its transacts, and
 * the dispatch events its dispatch part consumed (every validator drops
 * the same ones); a dispatch event no block consumed within
 * JK_NODE_DISPATCH_MAX_AGE heights goes too (its verify may fail on every
 * later head: it must not wait forever). */
void jk_node_app_drop_pending(jk_node_chain_app *a, const jk_chain_block *b,
                              const jk_hash *block_ids, const uint64_t *block_seen_h)
{
    /* The block's event hashes once, as a set: a lookup per pending event
     * (hashing the block for each one was pending × events hashes); the
     * commit's own when it hands them over (session 9). */
    jk_hash *own = block_ids ? NULL : malloc((b->event_count ? b->event_count : 1) * sizeof *own);
    if (own)
        jk_chain_event_hashes(b->events, b->event_count, own);
    jk_idset ids, used;
    bool have_ids = (block_ids || own) && jk_idset_make(&ids, block_ids ? block_ids : own,
                                                                   block_ids ? block_seen_h : NULL,
                                                                   b->event_count);
    const jk_chain_dispatch_part *d = &b->dispatch;
    jk_hash *consumed = malloc((d->consumed_count ? d->consumed_count : 1) * sizeof *consumed);
    for (size_t j = 0; consumed && j < d->consumed_count; j++)
        jk_chain_event_hash(&d->consumed[j].event, &consumed[j]);
    bool have_used = consumed && jk_idset_make(&used, consumed, NULL, d->consumed_count);
    size_t k = 0;
    a->npending_dispatch = 0;
    for (size_t i = 0; i < a->npending; i++) {
        jk_app_pending *p = &a->pending[i];
        bool in_block = false, expired = false;
        if (p->dispatch) {
            in_block = have_used && jk_idset_has(&used, &p->id, p->seen_h);
            expired = !in_block && b->header.number >= p->height + JK_NODE_DISPATCH_MAX_AGE;
            a->stats.dispatch_consumed += in_block;
            a->stats.dispatch_expired += expired;
        } else if (have_ids) {
            in_block = jk_idset_has(&ids, &p->id, p->seen_h);
        }
        for (size_t j = 0; !p->dispatch && !have_ids && j < b->event_count && !in_block; j++) {
            jk_hash id;
            jk_chain_event_hash(&b->events[j], &id);
            in_block = memcmp(id.bytes, p->id.bytes, JK_HASH_SIZE) == 0;
        }
        if (in_block || expired) {
            free(p->bytes);
        } else {
            a->npending_dispatch += p->dispatch;
            a->pending[k++] = *p;
        }
    }
    a->npending = k;
    if (have_ids)
        free(ids.slot);
    if (have_used)
        free(used.slot);
    free(own);
    free(consumed);
}

/* Keep the committed head's queue (what a rewind's kernel starts with). */
void jk_node_app_keep_queue(jk_node_chain_app *a)
{
    jk_chain_pooled *copy = NULL;
    size_t n = 0;
    (void)jk_chain_queue_get(a->v->ck, &copy, &n); /* out of memory: a rewind starts without it */
    jk_chain_pooled_list_free(a->queue, a->nqueue);
    a->queue = copy;
    a->nqueue = n;
}

/* Drop the pending transacts the produce that made b dropped from the
 * chain's pool (their verify refused them on this head: a block made them
 * invalid; docs/chain-design.md "No recheck"): neither in b nor in the pool.
 * A repeat is then told it was refused. Without this they would wait here
 * for a block that never carries them. */
void jk_node_app_drop_refused(jk_node_chain_app *a, const jk_chain_block *b)
{
    const jk_chain_kernel *ck = a->v->ck;
    size_t n = b->event_count + ck->pool_count;
    jk_hash *all = malloc((n ? n : 1) * sizeof *all);
    jk_idset ids;
    if (all) {
        jk_chain_event_hashes(b->events, b->event_count, all);
        for (size_t j = 0; j < ck->pool_count; j++)
            all[b->event_count + j] = ck->pool[j].hash;
    }
    if (!all || !jk_idset_make(&ids, all, NULL, n)) {
        free(all);
        return; /* they stay: a rewind re-admits and refuses them again */
    }
    size_t k = 0;
    for (size_t i = 0; i < a->npending; i++) {
        if (a->pending[i].dispatch || jk_idset_has(&ids, &a->pending[i].id, a->pending[i].seen_h)) {
            a->pending[k++] = a->pending[i];
            continue;
        }
        (void)jk_node_app_seen_add(a, &a->pending[i].id,
                              "verify refused it on a later chain state: a produce dropped it "
                              "(a committed block made it invalid)");
        free(a->pending[i].bytes);
        a->stats.events_dropped++;
    }
    a->npending = k;
    free(ids.slot);
    free(all);
}

/* A node reopened from its store takes the head's queue back, so its next
 * proposal consumes it as every other node expects (docs/node.md): from the
 * head record (jk_node_validator_open took it: the block's queued list,
 * apply's dispatch emits, a queue carried over a block whose process did not
 * run), or, from a store of an earlier jark without that record, the head
 * block's queued list (the rest is not in the block). */
jk_err jk_node_app_restore_queue(jk_node_chain_app *a, const uint8_t *bytes, size_t len, jk_diag *diag)
{
    if (a->v->queue_restored) {
        jk_node_app_keep_queue(a);
        return JK_OK;
    }
    jk_chain_block b;
    jk_err err = jk_chain_block_decode(bytes, len, &b, diag);
    if (err != JK_OK)
        return err;
    const jk_chain_dispatch_part *d = &b.dispatch;
    jk_chain_pooled *list = calloc(d->queued_count ? d->queued_count : 1, sizeof *list);
    err = list ? JK_OK : JK_ERR_NOMEM;
    for (size_t i = 0; err == JK_OK && i < d->queued_count; i++) {
        const jk_chain_traced_event *e = &d->queued[i];
        /* borrowed from the block: jk_chain_set_queue copies */
        list[i].blob = (uint8_t *)e->event.blob;
        list[i].blob_len = e->event.blob_len;
        list[i].traces = (jk_chain_trace *)e->traces;
        list[i].trace_count = e->trace_count;
        list[i].endpoint = e->event.endpoint;
        jk_chain_event_hash(&e->event, &list[i].hash);
    }
    if (err == JK_OK && d->ran)
        err = jk_chain_set_queue(a->v->ck, list, d->queued_count);
    free(list);
    jk_chain_block_free(&b);
    if (err == JK_OK)
        jk_node_app_keep_queue(a);
    return err;
}
