/*
 * chain_app_batch.c — a loop turn's events verified together
 * (jk_node_chain_app_prepare, docs/node.md "Admission in batches"): the
 * verdicts wait for each event's add_event (chain_app.c), which admits
 * through them (jk_chain_admit_prepared). Split from chain_app.c by concern.
 *
 * Each event of the turn is decoded and hashed here, once: add_event finds
 * it again by its bytes (jk_node_app_prep_take) and takes the decoded event,
 * its traces, its hash and its copied bytes from here, and the verify is
 * handed the hash too (jk_chain_prepare_events_id). It was decoded three
 * times and hashed three times (docs/node.md "Admission cost (session 7)").
 */
#include "chain_app_internal.h"

#include "jark/crypto.h"
#include "jark/pvm.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void jk_node_chain_app_prepare_end(jk_node_chain_app *a)
{
    jk_chain_prepared_free(a->prep);
    for (size_t i = 0; i < a->nprep_evs; i++) {
        free(a->prep_evs[i].bytes);
        free(a->prep_evs[i].traces);
    }
    free(a->prep_evs);
    a->prep = NULL;
    a->prep_evs = NULL;
    a->nprep_evs = a->prep_next = 0;
}

/* A turn's event by its hash, for finding repeats within the turn. */
typedef struct jk_prep_key {
    jk_hash id;
    size_t ev; /* index into prep_evs */
} jk_prep_key;

static int jk_prep_key_cmp(const void *x, const void *y)
{
    const jk_prep_key *p = x, *q = y;
    int c = memcmp(p->id.bytes, q->id.bytes, JK_HASH_SIZE);
    return c ? c : (p->ev > q->ev) - (p->ev < q->ev); /* ties: arrival order */
}

/* The turn's event ids, jk_chain_event_hash's H(natural(endpoint) ‖ blob),
 * four at a time (session 11; jk_chain_event_hashes since session 12): a
 * demo transfer's message is 83 bytes, one BLAKE2b block, so four of them
 * take one pass of the four-lane compression where each took a streaming
 * hash of its own (~1,150 instructions an event, on every node for every
 * event). test_chain_app_prepare_ids_are_the_chains holds them to
 * jk_chain_event_hash. */
static jk_err jk_prep_ids(jk_app_prep_ev *evs, size_t n)
{
    jk_chain_event *ev = malloc((n ? n : 1) * sizeof *ev);
    jk_hash *ids = malloc((n ? n : 1) * sizeof *ids);
    if (!ev || !ids) {
        free(ev);
        free(ids);
        return JK_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++)
        ev[i] = evs[i].ev;
    jk_chain_event_hashes(ev, n, ids);
    for (size_t i = 0; i < n; i++)
        evs[i].id = ids[i];
    free(ev);
    free(ids);
    return JK_OK;
}

/* Decode a copy of each event; the malformed are left out (add_event
 * refuses them on its own). */
static jk_err jk_prep_decode(jk_node_chain_app *a, const uint8_t *const *events, const size_t *lens,
                             size_t n)
{
    a->prep_evs = calloc(n ? n : 1, sizeof *a->prep_evs);
    if (!a->prep_evs)
        return JK_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        jk_app_prep_ev *e = &a->prep_evs[a->nprep_evs];
        if (jk_node_event_decode(events[i], lens[i], &e->ev, &e->traces, &e->count, NULL) != JK_OK)
            continue;
        /* with room for the traces after the encoding: what the pending
         * entry keeps of its verdict (chain_app.c, jk_app_keep_verdict) */
        e->room = jk_node_app_room(lens[i], e->count);
        e->bytes = malloc(e->room);
        if (!e->bytes) {
            free(e->traces);
            memset(e, 0, sizeof *e);
            return JK_ERR_NOMEM;
        }
        memcpy(e->bytes, events[i], lens[i]);
        e->ev.blob = e->bytes + (e->ev.blob - events[i]); /* into the copy */
        e->len = lens[i];
        e->at = SIZE_MAX;
        a->nprep_evs++;
    }
    return jk_prep_ids(a->prep_evs, a->nprep_evs);
}

jk_err jk_node_chain_app_prepare(jk_node_chain_app *a, const uint8_t *const *events,
                                 const size_t *lens, size_t n, jk_diag *diag)
{
    jk_node_chain_app_prepare_end(a);
    jk_err err = jk_prep_decode(a, events, lens, n);
    size_t m = a->nprep_evs;
    jk_prep_key *keys = calloc(m ? m : 1, sizeof *keys);
    jk_chain_event *order = calloc(m ? m : 1, sizeof *order);
    jk_hash *ids = calloc(m ? m : 1, sizeof *ids);
    const jk_chain_trace **otr = calloc(m ? m : 1, sizeof *otr);
    size_t *ocount = calloc(m ? m : 1, sizeof *ocount);
    if (err == JK_OK && (!keys || !order || !ids || !otr || !ocount))
        err = JK_ERR_NOMEM;
    /* those seen before are answered by add_event without a verify */
    size_t u = 0;
    for (size_t i = 0; err == JK_OK && i < m; i++) {
        bool seen;
        (void)jk_node_app_seen_find(a, &a->prep_evs[i].id, &seen);
        if (!seen)
            keys[u++] = (jk_prep_key){a->prep_evs[i].id, i};
    }
    /* the same event from several peers in one turn: verified once, for
     * its first arrival; the later copies meet it as seen in add_event */
    if (err == JK_OK)
        qsort(keys, u, sizeof *keys, jk_prep_key_cmp);
    for (size_t i = 0; err == JK_OK && i < u; i++)
        if (i == 0 || memcmp(keys[i - 1].id.bytes, keys[i].id.bytes, JK_HASH_SIZE) != 0)
            a->prep_evs[keys[i].ev].at = 0; /* to be verified: numbered below */
    /* in arrival order, numbered as prepared */
    size_t k = 0;
    for (size_t i = 0; err == JK_OK && i < m; i++) {
        jk_app_prep_ev *e = &a->prep_evs[i];
        if (e->at == SIZE_MAX)
            continue;
        e->at = k;
        order[k] = e->ev;
        ids[k] = e->id;
        otr[k] = e->traces;
        ocount[k++] = e->count;
    }
    jk_chain_kernel *ck = a->v->ck;
    if (err == JK_OK && k > 0 && !ck->cycle_open)
        err = jk_chain_setup_cycle(ck, diag);
    if (err == JK_OK && k > 0)
        err = jk_chain_prepare_events_id(ck, order, ids, otr, ocount, k, a->verify_threads, &a->prep);
    free(keys);
    free(order);
    free(ids);
    free(otr);
    free(ocount);
    /* (with nothing to verify the decoded events still serve add_event) */
    if (err != JK_OK)
        jk_node_chain_app_prepare_end(a); /* add_event as without prepare */
    return err;
}

static bool jk_prep_is(const jk_app_prep_ev *e, const uint8_t *bytes, size_t len)
{
    return !e->taken && e->len == len && memcmp(e->bytes, bytes, len) == 0;
}

/* add_event comes in arrival order, so the search starts where the last one
 * was found and nearly always ends there. */
jk_app_prep_ev *jk_node_app_prep_take(jk_node_chain_app *a, const uint8_t *bytes, size_t len)
{
    size_t n = a->nprep_evs;
    for (size_t j = 0; j < n; j++) {
        size_t i = (a->prep_next + j) % n;
        jk_app_prep_ev *e = &a->prep_evs[i];
        if (jk_prep_is(e, bytes, len)) {
            e->taken = true;
            a->prep_next = i + 1;
            return e;
        }
    }
    return NULL;
}

jk_err jk_node_app_admit_prepared(jk_node_chain_app *a, const jk_app_prep_ev *e, bool *admitted,
                                  jk_diag *why, jk_diag *diag)
{
    jk_chain_kernel *ck = a->v->ck;
    jk_err err = ck->cycle_open ? JK_OK : jk_chain_setup_cycle(ck, diag);
    if (err == JK_OK)
        err = jk_chain_admit_prepared(ck, a->prep, e->at, &e->ev, e->traces, e->count, admitted, why);
    if (err != JK_OK)
        jk_chain_teardown(ck);
    return err;
}
