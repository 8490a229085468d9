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
    const jk_chain_trace *const *traces;
    const size_t *trace_counts;
    size_t n;
    jk_chain_verdict *verdicts;
    jk_err *errors;
    atomic_size_t next;
} jk_pool_job;

static void jk_pool_work(jk_pool_job *job, jk_kernel *kernel)
{
    for (;;) {
        size_t i = atomic_fetch_add_explicit(&job->next, 1, memory_order_relaxed);
        if (i >= job->n)
            return;
        job->errors[i] = jk_chain_verify_event(job->ck, kernel, &job->events[i], job->traces ? job->traces[i] : NULL,
                                               job->trace_counts ? job->trace_counts[i] : 0, &job->verdicts[i]);
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

jk_err jk_chain_handle_incoming_events(jk_chain_kernel *ck, const jk_chain_event *events,
                                       const jk_chain_trace *const *traces,
                                       const size_t *trace_counts, size_t n,
                                       unsigned threads, bool *admitted)
{
    if (!ck->cycle_open)
        return JK_ERR_INVALID_ARG;
    if (threads > JK_MAX_VERIFY_THREADS)
        threads = JK_MAX_VERIFY_THREADS;
    jk_pool_job job = {ck, events, traces, trace_counts, n, calloc(n ? n : 1, sizeof(jk_chain_verdict)),
                       calloc(n ? n : 1, sizeof(jk_err)), 0};
    jk_worker workers[JK_MAX_VERIFY_THREADS];
    memset(workers, 0, sizeof workers);
    jk_err err = job.verdicts && job.errors ? JK_OK : JK_ERR_NOMEM;
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
    /* Admit in event order. */
    for (size_t i = 0; i < n && job.verdicts; i++) {
        admitted[i] = false;
        if (err == JK_OK && job.errors[i] != JK_OK)
            err = job.errors[i];
        if (err == JK_OK && job.verdicts[i].admit) {
            const char *refused = NULL;
            err = jk_chain_admit(ck, &events[i], &job.verdicts[i], &refused);
            admitted[i] = err == JK_OK && !refused; /* a refusal: dropped, as sequentially */
        }
        jk_chain_verdict_free(&job.verdicts[i]);
    }
    free(job.verdicts);
    free(job.errors);
    return err;
}
