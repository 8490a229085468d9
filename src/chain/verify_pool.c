/*
 * verify_pool.c — per-event verifies on worker threads (architecture §6).
 *
 * Each verify runs in its own copy of verify_proto and only reads shared,
 * immutable caps (atomic refcounts, release/acquire hash publication), so
 * workers need nothing but their own jk_kernel. Workers take event indices
 * from a shared counter; the verdicts are then admitted by the calling thread
 * in event order, which makes the outcome identical to a sequential run
 * whatever the threads' timing.
 */
#include "internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define JK_MAX_VERIFY_THREADS 64

typedef struct jk_pool_job {
    const jk_chain_kernel *ck;
    const jk_chain_event *events;
    const jk_hash *ids;                     /* NULL: each verify hashes its event */
    const jk_chain_trace *const *traces;
    const size_t *trace_counts;
    size_t n;
    jk_chain_verdict *verdicts;
    jk_err *errors;
    atomic_size_t next;
} jk_pool_job;

/* Events taken at a time: their verify programs run back to back, then the
 * signature checks their attests wait for, back to back (jk_chain_verify_start
 * with defer). Run one by one, every attest of every event switched between
 * the kernel's code and libsodium's, each evicting the other from the
 * instruction cache (~2.5 µs an event; docs/bench.md "verify_events wall
 * gap, session 8"). The verdicts are the same either way. */
#define JK_VERIFY_BATCH 16u

static void jk_pool_work(jk_pool_job *job, jk_kernel *kernel)
{
    jk_chain_verify_run runs[JK_VERIFY_BATCH];
    for (;;) {
        size_t first = atomic_fetch_add_explicit(&job->next, JK_VERIFY_BATCH, memory_order_relaxed);
        if (first >= job->n)
            return;
        size_t count = job->n - first < JK_VERIFY_BATCH ? job->n - first : JK_VERIFY_BATCH;
        /* each event's attest message of its own blob (what a transfer's
         * verify attests), four at a time: ~1,000 instructions an event
         * hashed alone at its attest (session 13). One event alone keeps
         * the lazy hash: a four-lane pass costs about what one hash does. */
        jk_hash msgs[JK_VERIFY_BATCH];
        bool have[JK_VERIFY_BATCH] = {false};
        if (count > 1)
            jk_chain_attest_msg_hashes(&job->ck->genesis_hash, &job->events[first], count, msgs, have);
        for (size_t b = 0; b < count; b++) {
            size_t i = first + b;
            job->errors[i] = jk_chain_verify_start(job->ck, kernel, &job->events[i],
                                                   job->traces ? job->traces[i] : NULL,
                                                   job->trace_counts ? job->trace_counts[i] : 0, false,
                                                   job->ids ? &job->ids[i] : NULL, have[b] ? &msgs[b] : NULL,
                                                   true, &runs[b], &job->verdicts[i]);
        }
        for (size_t b = 0; b < count; b++) {
            jk_err err = jk_chain_verify_settle(&runs[b], &job->verdicts[first + b]);
            if (job->errors[first + b] == JK_OK)
                job->errors[first + b] = err;
        }
    }
}

typedef struct jk_worker {
    jk_pool_job *job;
    jk_kernel *kernel;
    pthread_t thread;
    bool started;
} jk_worker;

static void *jk_worker_main(void *arg)
{
    jk_worker *w = arg;
    jk_pool_work(w->job, w->kernel);
    return NULL;
}

/* Verdicts made ahead of their admission (jk_chain_prepare_events). */
struct jk_chain_prepared {
    jk_hash root;                 /* the chain root of the cycle they were verified in */
    size_t n;
    jk_hash *ids;                 /* the events' hashes when the caller gave them, else NULL */
    jk_chain_verdict *verdicts;
    jk_err *errors;
    bool *taken;                  /* admitted (or refused) through this verdict already */
};

void jk_chain_prepared_free(jk_chain_prepared *p)
{
    if (!p)
        return;
    for (size_t i = 0; p->verdicts && i < p->n; i++)
        jk_chain_verdict_free(&p->verdicts[i]);
    free(p->verdicts);
    free(p->ids);
    free(p->errors);
    free(p->taken);
    free(p);
}

jk_err jk_chain_prepare_events(jk_chain_kernel *ck, const jk_chain_event *events,
                               const jk_chain_trace *const *traces, const size_t *trace_counts, size_t n,
                               unsigned threads, jk_chain_prepared **out)
{
    return jk_chain_prepare_events_id(ck, events, NULL, traces, trace_counts, n, threads, out);
}

jk_err jk_chain_prepare_events_id(jk_chain_kernel *ck, const jk_chain_event *events, const jk_hash *ids,
                                  const jk_chain_trace *const *traces, const size_t *trace_counts, size_t n,
                                  unsigned threads, jk_chain_prepared **out)
{
    *out = NULL;
    if (!ck->cycle_open)
        return JK_ERR_INVALID_ARG;
    if (threads > JK_MAX_VERIFY_THREADS)
        threads = JK_MAX_VERIFY_THREADS;
    jk_chain_prepared *p = calloc(1, sizeof *p);
    if (!p)
        return JK_ERR_NOMEM;
    p->root = ck->stamped_root;
    p->n = n;
    p->verdicts = calloc(n ? n : 1, sizeof *p->verdicts);
    p->errors = calloc(n ? n : 1, sizeof *p->errors);
    p->taken = calloc(n ? n : 1, sizeof *p->taken);
    if (ids && (p->ids = malloc((n ? n : 1) * sizeof *p->ids)) != NULL)
        memcpy(p->ids, ids, n * sizeof *ids);
    jk_pool_job job = {ck, events, ids, traces, trace_counts, n, p->verdicts, p->errors, 0};
    jk_worker workers[JK_MAX_VERIFY_THREADS];
    memset(workers, 0, sizeof workers);
    jk_err err = p->verdicts && p->errors && p->taken && (!ids || p->ids) ? JK_OK : JK_ERR_NOMEM;
    /* Workers: each its own kernel, minting the attest marker with the same
     * tag, so the marker caps the AA instances hold are recognised. */
    for (unsigned t = 0; err == JK_OK && threads > 1 && t < threads; t++) {
        jk_cap marker;
        workers[t].job = &job;
        jk_kernel_config cfg = {.debug = ck->debug};
        err = jk_kernel_new(&cfg, &workers[t].kernel);
        if (err == JK_OK) {
            err = jk_kernel_mint_marker(workers[t].kernel, 0, &marker);
            jk_cap_release(marker);
        }
        if (err == JK_OK && pthread_create(&workers[t].thread, NULL, jk_worker_main, &workers[t]) == 0)
            workers[t].started = true;
    }
    if (err == JK_OK && threads <= 1)
        jk_pool_work(&job, ck->kernel);
    for (unsigned t = 0; t < JK_MAX_VERIFY_THREADS; t++) {
        if (workers[t].started)
            pthread_join(workers[t].thread, NULL);
        jk_kernel_free(workers[t].kernel);
    }
    if (err == JK_OK && threads > 1)
        jk_pool_work(&job, ck->kernel); /* whatever a worker that failed to start left */
    for (size_t i = 0; err == JK_OK && i < n; i++) {
        if (p->verdicts[i].ran)
            ck->stats.verify_runs++;
        ck->stats.attests_deferred += p->verdicts[i].deferred;
        /* the signatures an admitted verdict's verify checked hold whatever
         * becomes of the verdict: a verify again (another root by the time
         * of admission) finds them in the cache */
        for (size_t t = 0; p->verdicts[i].admit && t < p->verdicts[i].used_count; t++)
            jk_chain_sig_remember(ck, &p->verdicts[i].used[t]);
        p->verdicts[i].remembered = true;
    }
    if (err != JK_OK) {
        jk_chain_prepared_free(p);
        return err;
    }
    *out = p;
    return JK_OK;
}

jk_err jk_chain_admit_prepared(jk_chain_kernel *ck, jk_chain_prepared *p, size_t i, const jk_chain_event *ev,
                               const jk_chain_trace *traces, size_t trace_count, bool *admitted, jk_diag *why)
{
    *admitted = false;
    if (!ck->cycle_open)
        return jk_diag_set(why, JK_ERR_INVALID_ARG, "no open cycle (setup_cycle first)");
    /* A verify's verdict holds on any open cycle of the same chain root
     * (verify is a pure function of it); admission re-checks the pool or
     * buffer as it is now. Otherwise — another root, taken already, or
     * refused before its verify ran (by the pool or buffer as they were
     * then: cheap to ask again) — handle it now. */
    if (i >= p->n || p->taken[i] || (p->errors[i] == JK_OK && !p->verdicts[i].ran) ||
        memcmp(p->root.bytes, ck->stamped_root.bytes, JK_HASH_SIZE) != 0)
        return jk_chain_handle_incoming_event_id(ck, ev, p->ids && i < p->n ? &p->ids[i] : NULL, traces,
                                                 trace_count, admitted, why);
    p->taken[i] = true;
    jk_chain_verdict *v = &p->verdicts[i];
    ck->last_verify_gas = v->ran ? v->gas : 0;
    if (p->errors[i] != JK_OK)
        return p->errors[i];
    if (!v->admit) {
        jk_diag_set(why, JK_OK, "%s", v->why);
        return JK_OK;
    }
    const char *refused = NULL;
    jk_err err = jk_chain_admit(ck, ev, v, &refused);
    *admitted = err == JK_OK && !refused; /* a refusal: dropped, as sequentially */
    if (refused)
        jk_diag_set(why, JK_OK, "%s", refused);
    return err;
}

jk_err jk_chain_handle_incoming_events(jk_chain_kernel *ck, const jk_chain_event *events,
                                       const jk_chain_trace *const *traces,
                                       const size_t *trace_counts, size_t n,
                                       unsigned threads, bool *admitted)
{
    return jk_chain_handle_incoming_events_why(ck, events, traces, trace_counts, n, threads, admitted, NULL);
}

jk_err jk_chain_handle_incoming_events_why(jk_chain_kernel *ck, const jk_chain_event *events,
                                           const jk_chain_trace *const *traces,
                                           const size_t *trace_counts, size_t n,
                                           unsigned threads, bool *admitted, jk_diag *why)
{
    jk_chain_prepared *p;
    jk_err err = jk_chain_prepare_events(ck, events, traces, trace_counts, n, threads, &p);
    /* Admit in event order. */
    for (size_t i = 0; err == JK_OK && i < n; i++)
        err = jk_chain_admit_prepared(ck, p, i, &events[i], traces ? traces[i] : NULL,
                                      trace_counts ? trace_counts[i] : 0, &admitted[i], why ? &why[i] : NULL);
    jk_chain_prepared_free(p);
    return err;
}
