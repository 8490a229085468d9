/*
 * chain_app_pending.c — what the chain app keeps between heights: the
 * pending events (gossiped or submitted, admitted, not yet in a committed
 * block), the dispatch events among them fed to each produce's cycle, and
 * the committed head's dispatch queue (docs/node.md, "Dispatch events on a
 * network"). Split from chain_app.c by concern.
 */
#include "chain_app_internal.h"

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

static int jk_app_hash_cmp(const void *x, const void *y)
{
    return memcmp(x, y, JK_HASH_SIZE);
}

/* Drop the pending events a committed block carries: its transacts, and
 * the dispatch events its dispatch part consumed (every validator drops
 * the same ones); a dispatch event no block consumed within
 * JK_NODE_DISPATCH_MAX_AGE heights goes too (its verify may fail on every
 * later head: it must not wait forever). */
void jk_node_app_drop_pending(jk_node_chain_app *a, const jk_chain_block *b,
                              const jk_hash *block_ids)
{
    /* The block's event hashes once, sorted: a lookup per pending event
     * (hashing the block for each one was pending × events hashes); the
     * commit's own when it hands them over (session 9). */
    jk_hash *ids = malloc((b->event_count ? b->event_count : 1) * sizeof *ids);
    for (size_t j = 0; ids && j < b->event_count; j++) {
        if (block_ids)
            ids[j] = block_ids[j];
        else
            jk_chain_event_hash(&b->events[j], &ids[j]);
    }
    if (ids)
        qsort(ids, b->event_count, sizeof *ids, jk_app_hash_cmp);
    const jk_chain_dispatch_part *d = &b->dispatch;
    jk_hash *used = malloc((d->consumed_count ? d->consumed_count : 1) * sizeof *used);
    for (size_t j = 0; used && j < d->consumed_count; j++)
        jk_chain_event_hash(&d->consumed[j].event, &used[j]);
    if (used)
        qsort(used, d->consumed_count, sizeof *used, jk_app_hash_cmp);
    size_t k = 0;
    a->npending_dispatch = 0;
    for (size_t i = 0; i < a->npending; i++) {
        jk_app_pending *p = &a->pending[i];
        bool in_block = false, expired = false;
        if (p->dispatch) {
            in_block = used && bsearch(&p->id, used, d->consumed_count, sizeof *used, jk_app_hash_cmp) != NULL;
            expired = !in_block && b->header.number >= p->height + JK_NODE_DISPATCH_MAX_AGE;
            a->stats.dispatch_consumed += in_block;
            a->stats.dispatch_expired += expired;
        } else if (ids) {
            in_block = bsearch(&p->id, ids, b->event_count, sizeof *ids, jk_app_hash_cmp) != NULL;
        }
        for (size_t j = 0; !p->dispatch && !ids && j < b->event_count && !in_block; j++) {
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
    free(ids);
    free(used);
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
    jk_hash *ids = malloc((n ? n : 1) * sizeof *ids);
    if (!ids)
        return; /* they stay: a rewind re-admits and refuses them again */
    for (size_t j = 0; j < b->event_count; j++)
        jk_chain_event_hash(&b->events[j], &ids[j]);
    for (size_t j = 0; j < ck->pool_count; j++)
        ids[b->event_count + j] = ck->pool[j].hash;
    qsort(ids, n, sizeof *ids, jk_app_hash_cmp);
    size_t k = 0;
    for (size_t i = 0; i < a->npending; i++) {
        if (a->pending[i].dispatch ||
            bsearch(&a->pending[i].id, ids, n, sizeof *ids, jk_app_hash_cmp) != NULL) {
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
    free(ids);
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
