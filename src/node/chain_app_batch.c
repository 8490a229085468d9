/*
 * chain_app_batch.c — a loop turn's events verified together
 * (jk_node_chain_app_prepare, docs/node.md "Admission in batches"): the
 * verdicts wait for each event's add_event (chain_app.c), which admits
 * through them (jk_chain_admit_prepared). Split from chain_app.c by concern.
 */
#include "chain_app_internal.h"

#include <stdlib.h>
#include <string.h>

static int jk_app_prep_cmp(const void *x, const void *y)
{
    return memcmp(x, y, JK_HASH_SIZE); /* the id leads struct jk_app_prep_id */
}

void jk_node_chain_app_prepare_end(jk_node_chain_app *a)
{
    jk_chain_prepared_free(a->prep);
    free(a->prep_ids);
    a->prep = NULL;
    a->prep_ids = NULL;
    a->nprep = 0;
}

jk_err jk_node_chain_app_prepare(jk_node_chain_app *a, const uint8_t *const *events,
                                 const size_t *lens, size_t n, jk_diag *diag)
{
    jk_node_chain_app_prepare_end(a);
    jk_chain_event *evs = calloc(n ? n : 1, sizeof *evs);
    jk_chain_trace **traces = calloc(n ? n : 1, sizeof *traces);
    size_t *counts = calloc(n ? n : 1, sizeof *counts);
    struct jk_app_prep_id *ids = calloc(n ? n : 1, sizeof *ids);
    jk_err err = evs && traces && counts && ids ? JK_OK : JK_ERR_NOMEM;
    size_t m = 0;
    for (size_t i = 0; err == JK_OK && i < n; i++) {
        jk_chain_trace *t;
        size_t c;
        bool seen;
        if (jk_node_event_decode(events[i], lens[i], &evs[m], &t, &c, NULL) != JK_OK)
            continue; /* add_event refuses it on its own */
        jk_chain_event_hash(&evs[m], &ids[m].id);
        (void)jk_node_app_seen_find(a, &ids[m].id, &seen);
        if (seen) {
            free(t); /* a repeat: add_event answers it without a verify */
            continue;
        }
        traces[m] = t;
        counts[m] = c;
        ids[m].at = m;
        m++;
    }
    /* the same event from several peers in one turn: verified once */
    if (err == JK_OK)
        qsort(ids, m, sizeof *ids, jk_app_prep_cmp);
    size_t k = 0;
    for (size_t i = 0; err == JK_OK && i < m; i++) {
        if (k > 0 && !memcmp(ids[k - 1].id.bytes, ids[i].id.bytes, JK_HASH_SIZE))
            continue;
        ids[k++] = ids[i];
    }
    /* in arrival order again, numbered as prepared */
    jk_chain_event *order = calloc(k ? k : 1, sizeof *order);
    const jk_chain_trace **otr = calloc(k ? k : 1, sizeof *otr);
    size_t *ocount = calloc(k ? k : 1, sizeof *ocount);
    if (err == JK_OK && (!order || !otr || !ocount))
        err = JK_ERR_NOMEM;
    bool *keep = calloc(m ? m : 1, sizeof *keep);
    if (err == JK_OK && !keep)
        err = JK_ERR_NOMEM;
    for (size_t i = 0; err == JK_OK && i < k; i++)
        keep[ids[i].at] = true;
    size_t *slot = calloc(m ? m : 1, sizeof *slot);
    if (err == JK_OK && !slot)
        err = JK_ERR_NOMEM;
    size_t o = 0;
    for (size_t i = 0; err == JK_OK && i < m; i++)
        if (keep[i]) {
            slot[i] = o;
            order[o] = evs[i];
            otr[o] = traces[i];
            ocount[o++] = counts[i];
        }
    for (size_t i = 0; err == JK_OK && i < k; i++)
        ids[i].at = slot[ids[i].at];
    jk_chain_kernel *ck = a->v->ck;
    if (err == JK_OK && k > 0 && !ck->cycle_open)
        err = jk_chain_setup_cycle(ck, diag);
    if (err == JK_OK && k > 0)
        err = jk_chain_prepare_events(ck, order, otr, ocount, k, a->verify_threads, &a->prep);
    if (err == JK_OK && k > 0) {
        a->prep_ids = ids;
        a->nprep = k;
        ids = NULL;
    }
    for (size_t i = 0; i < m; i++)
        free(traces[i]);
    free(evs);
    free(traces);
    free(counts);
    free(ids);
    free(order);
    free(otr);
    free(ocount);
    free(keep);
    free(slot);
    return err;
}

/* Admit a decoded event through its prepared verdict when it has one
 * (*used), else leave it to jk_app_admit. why: the chain layer's reason
 * when it is not admitted (the same words as without prepare). */
jk_err jk_node_app_admit_prepared(jk_node_chain_app *a, const jk_hash *id, const uint8_t *bytes,
                                    size_t len, bool *used, bool *admitted, jk_diag *why,
                                    jk_diag *diag)
{
    *used = false;
    struct jk_app_prep_id *hit = a->prep ? bsearch(id, a->prep_ids, a->nprep, sizeof *a->prep_ids,
                                                   jk_app_prep_cmp)
                                         : NULL;
    if (!hit)
        return JK_OK;
    *used = true;
    jk_chain_kernel *ck = a->v->ck;
    jk_chain_event ev;
    jk_chain_trace *traces = NULL;
    size_t count = 0;
    jk_err err = ck->cycle_open ? JK_OK : jk_chain_setup_cycle(ck, diag);
    if (err == JK_OK)
        err = jk_node_event_decode(bytes, len, &ev, &traces, &count, diag);
    if (err == JK_OK)
        err = jk_chain_admit_prepared(ck, a->prep, hit->at, &ev, traces, count, admitted, why);
    free(traces);
    if (err != JK_OK)
        jk_chain_teardown(ck);
    return err;
}

