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

/* Buffers kept from turn to turn above this are given back at the turn's
 * end (a turn of large events should not pin its memory for good). */
#define JK_PREP_KEEP (1u << 20)

void jk_node_chain_app_prepare_end(jk_node_chain_app *a)
{
    jk_chain_prepared_free(a->prep);
    for (size_t i = 0; i < a->nprep_evs; i++) {
        if (!a->prep_evs[i].shared)
            free(a->prep_evs[i].bytes); /* (its traces are read in place) */
    }
    a->prep = NULL;
    a->nprep_evs = a->prep_next = 0;
    if (a->cap_prep_shared > JK_PREP_KEEP || a->cap_prep_work > JK_PREP_KEEP ||
        a->cap_prep_evs * sizeof *a->prep_evs > JK_PREP_KEEP)
        jk_node_app_prep_free(a);
}

void jk_node_app_prep_free(jk_node_chain_app *a)
{
    if (a->nprep_evs || a->prep)
        jk_node_chain_app_prepare_end(a);
    free(a->prep_evs);
    free(a->prep_shared);
    free(a->prep_work);
    a->prep_evs = NULL;
    a->prep_shared = a->prep_work = NULL;
    a->cap_prep_evs = a->cap_prep_shared = a->cap_prep_work = 0;
}

/* p's room for at least want bytes (its contents not kept). */
static bool jk_prep_room(uint8_t **p, size_t *cap, size_t want)
{
    if (*cap >= want)
        return true;
    free(*p);
    *p = malloc(want);
    *cap = *p ? want : 0;
    return *p != NULL;
}

/* prepare's work arrays for m events, carved from one buffer kept across
 * turns: the verify's arrays (each element's size a multiple of 8, so each
 * stays aligned), then the table that finds repeats within the turn
 * (slots: a power of two, at least 2m; each an index into prep_evs, or
 * JK_PREP_FREE). */
#define JK_PREP_FREE UINT32_MAX
typedef struct jk_prep_work {
    jk_chain_event *order;
    const jk_chain_trace **otr;
    size_t *ocount;
    jk_hash *ids;
    uint32_t *table;
    size_t slots;
} jk_prep_work;

static bool jk_prep_work_get(jk_node_chain_app *a, size_t m, jk_prep_work *w)
{
    if (m >= JK_PREP_FREE / 2)
        return false; /* (a turn is at most JK_NODE_TURN_MAX events) */
    size_t slots = 16;
    while (slots < 2 * m)
        slots *= 2;
    size_t one = sizeof *w->order + sizeof *w->otr + sizeof *w->ocount + sizeof *w->ids;
    if (!jk_prep_room(&a->prep_work, &a->cap_prep_work, m * one + slots * sizeof *w->table))
        return false;
    uint8_t *p = a->prep_work;
    w->order = (jk_chain_event *)p;
    w->otr = (const jk_chain_trace **)(p += m * sizeof *w->order);
    w->ocount = (size_t *)(p += m * sizeof *w->otr);
    w->ids = (jk_hash *)(p += m * sizeof *w->ocount);
    w->table = (uint32_t *)(p + m * sizeof *w->ids);
    w->slots = slots;
    memset(w->table, 0xff, slots * sizeof *w->table); /* every slot JK_PREP_FREE */
    return true;
}

/* Whether an earlier event of the turn has e's id; else e is entered. The
 * table is placed by the seen set's keyed hash (jk_node_app_seen_hash,
 * computed already): nobody can aim ids at one run of slots. (Before,
 * session 13: a qsort of the turn's 40-byte (id, index) keys, ~765
 * instructions an event.) */
static bool jk_prep_repeat(const jk_node_chain_app *a, const jk_prep_work *w, size_t i)
{
    const jk_app_prep_ev *e = &a->prep_evs[i];
    size_t mask = w->slots - 1;
    for (size_t s = (size_t)e->seen_h & mask;; s = (s + 1) & mask) {
        uint32_t j = w->table[s];
        if (j == JK_PREP_FREE) {
            w->table[s] = (uint32_t)i;
            return false;
        }
        if (memcmp(a->prep_evs[j].id.bytes, e->id.bytes, JK_HASH_SIZE) == 0)
            return true;
    }
}

/* The turn's event ids, jk_chain_event_hash's H(natural(endpoint) ‖ blob),
 * four at a time (session 11; jk_chain_event_hashes since session 12): a
 * demo transfer's message is 83 bytes, one BLAKE2b block, so four of them
 * take one pass of the four-lane compression where each took a streaming
 * hash of its own (~1,150 instructions an event, on every node for every
 * event). test_chain_app_prepare_ids_are_the_chains holds them to
 * jk_chain_event_hash. w's order and ids serve as the hash's arrays. */
static void jk_prep_ids(jk_app_prep_ev *evs, size_t n, const jk_prep_work *w)
{
    for (size_t i = 0; i < n; i++)
        w->order[i] = evs[i].ev;
    jk_chain_event_hashes(w->order, n, w->ids);
    for (size_t i = 0; i < n; i++)
        evs[i].id = w->ids[i];
}

/* Each well-formed event's header (the malformed are left out: add_event
 * refuses them on its own), its blob still the caller's. */
static jk_err jk_prep_view(jk_node_chain_app *a, const uint8_t *const *events, const size_t *lens,
                           size_t n)
{
    if (a->cap_prep_evs < n) {
        free(a->prep_evs);
        a->prep_evs = malloc(n * sizeof *a->prep_evs);
        a->cap_prep_evs = a->prep_evs ? n : 0;
        if (!a->prep_evs)
            return JK_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        jk_app_prep_ev *e = &a->prep_evs[a->nprep_evs];
        memset(e, 0, sizeof *e);
        if (jk_node_event_view(events[i], lens[i], &e->ev, &e->count, NULL) != JK_OK)
            continue;
        e->bytes = (uint8_t *)(uintptr_t)events[i]; /* the caller's, until jk_prep_copy */
        e->len = lens[i];
        e->at = SIZE_MAX;
        a->nprep_evs++;
    }
    return JK_OK;
}

/* The caller's bytes are borrowed for the call only: each event is copied.
 * One to be verified gets its own copy, with room for its traces after the
 * encoding (what the pending entry keeps of its verdict: chain_app.c,
 * jk_app_keep_verdict), which moves to the pending list when admitted; its
 * traces are read where the copy holds them (session 16: they were decoded
 * into a calloc of their own, freed at the turn's end; nothing reads them
 * after the admission, which copies what the pool keeps). One seen before
 * (nearly every echo: the same event relayed by another peer) is only
 * found again by add_event, which answers the repeat from its id: its
 * bytes go into the turn's shared buffer (session 13: a malloc, a calloc
 * and their frees less an echo). */
static jk_err jk_prep_copy(jk_node_chain_app *a)
{
    size_t shared = 0;
    for (size_t i = 0; i < a->nprep_evs; i++)
        if (a->prep_evs[i].at == SIZE_MAX)
            shared += a->prep_evs[i].len;
    if (shared && !jk_prep_room(&a->prep_shared, &a->cap_prep_shared, shared)) {
        for (size_t i = 0; i < a->nprep_evs; i++)
            a->prep_evs[i].bytes = NULL; /* the caller's: prepare_end must not free them */
        return JK_ERR_NOMEM;
    }
    uint8_t *to = a->prep_shared;
    jk_err err = JK_OK;
    for (size_t i = 0; i < a->nprep_evs; i++) {
        jk_app_prep_ev *e = &a->prep_evs[i];
        const uint8_t *from = e->bytes;
        if (e->at == SIZE_MAX) {
            e->bytes = to;
            e->shared = true;
            to += e->len;
        } else {
            e->room = jk_node_app_room(e->len, e->count);
            e->bytes = err == JK_OK ? malloc(e->room) : NULL;
            if (!e->bytes) { /* not shared: prepare_end frees none of the rest */
                err = JK_ERR_NOMEM;
                continue;
            }
        }
        memcpy(e->bytes, from, e->len);
        e->ev.blob = e->bytes + (e->ev.blob - from); /* into the copy */
        if (!e->shared)
            e->traces = jk_node_event_traces_at(&e->ev, e->count); /* in the copy */
    }
    return err;
}

jk_err jk_node_chain_app_prepare(jk_node_chain_app *a, const uint8_t *const *events,
                                 const size_t *lens, size_t n, jk_diag *diag)
{
    jk_node_chain_app_prepare_end(a);
    jk_err err = jk_prep_view(a, events, lens, n);
    size_t m = a->nprep_evs;
    jk_prep_work w;
    if (err == JK_OK && !jk_prep_work_get(a, m, &w))
        err = JK_ERR_NOMEM;
    if (err != JK_OK) {
        a->nprep_evs = 0; /* nothing copied yet: nothing to free */
        return err;
    }
    jk_prep_ids(a->prep_evs, m, &w);
    /* those seen before are answered by add_event without a verify; the
     * same event from several peers in one turn is verified once, for its
     * first arrival (the later copies meet it as seen in add_event) */
    for (size_t i = 0; i < m; i++) {
        bool seen;
        jk_app_prep_ev *e = &a->prep_evs[i];
        e->seen_h = jk_node_app_seen_hash(&e->id); /* again by its add_event */
        (void)jk_node_app_seen_find_h(a, &e->id, e->seen_h, &seen);
        if (!seen && !jk_prep_repeat(a, &w, i))
            e->at = 0; /* to be verified: numbered below */
    }
    err = jk_prep_copy(a);
    /* in arrival order, numbered as prepared */
    size_t k = 0;
    for (size_t i = 0; err == JK_OK && i < m; i++) {
        jk_app_prep_ev *e = &a->prep_evs[i];
        if (e->at == SIZE_MAX)
            continue;
        e->at = k;
        w.order[k] = e->ev;
        w.ids[k] = e->id;
        w.otr[k] = e->traces;
        w.ocount[k++] = e->count;
    }
    jk_chain_kernel *ck = a->v->ck;
    if (err == JK_OK && k > 0 && !ck->cycle_open)
        err = jk_chain_setup_cycle(ck, diag);
    if (err == JK_OK && k > 0)
        err = jk_chain_prepare_events_id(ck, w.order, w.ids, w.otr, w.ocount, k, a->verify_threads, &a->prep);
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
