/*
 * import_sigs.c — import's signature checks, answered ahead of apply on
 * worker threads (issue 16).
 *
 * Import mode's attest accepts trace i only if (key, msg_hash) match the
 * request and the signature verifies (jk_decide_import, import.c). Whether a
 * signature verifies is a pure function of the trace's 128 bytes, so it can
 * be computed by anyone, in any order, before it is asked, and more than
 * once: the decision apply sees is the same bit, and the block's outcome
 * cannot change. What this file changes is only when and where the ~50 µs
 * Ed25519 checks run:
 *
 *   - first, on the calling thread, every trace the signature cache already
 *     holds is marked valid (a gossiped block then starts no worker);
 *   - then `threads − 1` workers claim the other traces from the back
 *     (atomic counter, then a compare-and-swap on the trace's state) while
 *     the calling thread runs apply, which asks for them from the front;
 *     when apply asks for a trace no worker has finished, the calling thread
 *     checks it itself — it never waits for a worker — and with it the next
 *     JK_SIG_AHEAD unclaimed traces (a batch). The two ends meet once, and a
 *     worker stops there; at most the trace a worker holds at that moment
 *     is checked twice.
 *     (Why batches, session 8: one check per attest, as before, ran
 *     Ed25519's code between two runs of apply's kernel, cap and program
 *     code, each evicting the other from the instruction cache — 778 k
 *     simulated I1 misses per 1,000-transfer block against 91 k in
 *     batches of 64, and 8–10 % more time per libsodium verify than the
 *     native ledger's tight loop. A block refused early costs at most one
 *     batch of checks more than asked: the answers are the same bits.)
 *     (Waiting for the worker that held the asked-for trace, as a first
 *     version did, stalled apply for a whole scheduling period whenever that
 *     worker was descheduled on a loaded machine.)
 *   - import stops the workers when apply ends, whatever the outcome, and
 *     joins them: a block refused early costs at most one check per worker,
 *     and one batch, more than the sequential order would.
 *
 * Workers read only the block's traces (immutable while import runs) and
 * write only their state bytes; the signature cache is read before they
 * start and written on the calling thread only.
 */
#include "internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define JK_MAX_IMPORT_THREADS 64u
/* The traces checked after an asked one in the same batch (64 a batch). */
#define JK_SIG_AHEAD 63u

/* A trace's state. CLAIMED: a worker is checking it; CACHED: valid, known
 * from the cache (so import need not remember it again). */
enum { JK_SIG_UNCHECKED = 0, JK_SIG_CLAIMED = 1, JK_SIG_VALID = 2, JK_SIG_INVALID = 3, JK_SIG_CACHED = 4 };

struct jk_chain_sigjobs {
    const jk_chain_trace *traces;
    size_t n;
    atomic_uchar *state;      /* n states, JK_SIG_* */
    atomic_size_t taken;      /* traces the workers took from the back: they next try n − 1 − taken */
    atomic_bool stop;
    size_t checked;           /* checks made on the calling thread */
    pthread_t workers[JK_MAX_IMPORT_THREADS];
    unsigned started;
};

static unsigned char jk_check(const jk_chain_trace *t)
{
    return jk_chain_trace_check(t) == JK_OK ? JK_SIG_VALID : JK_SIG_INVALID;
}

static void *jk_sig_worker(void *arg)
{
    jk_chain_sigjobs *j = arg;
    while (!atomic_load_explicit(&j->stop, memory_order_relaxed)) {
        size_t taken = atomic_fetch_add_explicit(&j->taken, 1, memory_order_relaxed);
        if (taken >= j->n)
            break;
        size_t i = j->n - 1 - taken;
        unsigned char expect = JK_SIG_UNCHECKED;
        if (!atomic_compare_exchange_strong(&j->state[i], &expect, JK_SIG_CLAIMED)) {
            if (expect != JK_SIG_CACHED)
                break; /* the calling thread got here from the front: the ends met */
            continue;  /* a cache hit */
        }
        /* the calling thread may have checked it meanwhile: the same bit */
        atomic_store_explicit(&j->state[i], jk_check(&j->traces[i]), memory_order_release);
    }
    return NULL;
}

jk_err jk_chain_sigjobs_start(const jk_chain_kernel *ck, const jk_chain_trace *traces, size_t n, unsigned threads,
                              jk_chain_sigjobs **out)
{
    *out = NULL;
    jk_chain_sigjobs *j = calloc(1, sizeof *j);
    if (!j)
        return JK_ERR_NOMEM;
    j->state = calloc(n ? n : 1, sizeof *j->state);
    if (!j->state) {
        free(j);
        return JK_ERR_NOMEM;
    }
    j->traces = traces;
    j->n = n;
    atomic_init(&j->taken, 0);
    atomic_init(&j->stop, false);
    size_t misses = 0;
    for (size_t i = 0; i < n; i++) {
        bool hit = jk_chain_sig_cached(ck, &traces[i]);
        atomic_init(&j->state[i], hit ? JK_SIG_CACHED : JK_SIG_UNCHECKED);
        misses += !hit;
    }
    /* No more workers than misses: a gossiped block starts none. A worker
     * that cannot start leaves its share to the others and to the caller. */
    if (threads > JK_MAX_IMPORT_THREADS)
        threads = JK_MAX_IMPORT_THREADS;
    for (unsigned t = 1; t < threads && t <= misses; t++)
        if (pthread_create(&j->workers[j->started], NULL, jk_sig_worker, j) == 0)
            j->started++;
    *out = j;
    return JK_OK;
}

bool jk_chain_sigjobs_valid(jk_chain_sigjobs *j, size_t i)
{
    unsigned char s = atomic_load_explicit(&j->state[i], memory_order_acquire);
    if (s == JK_SIG_UNCHECKED || s == JK_SIG_CLAIMED) {
        /* not known yet: check it here rather than wait. Claiming it first
         * keeps workers off it, and tells the one coming from the back that
         * the ends met. */
        unsigned char expect = JK_SIG_UNCHECKED;
        atomic_compare_exchange_strong(&j->state[i], &expect, JK_SIG_CLAIMED);
        s = jk_check(&j->traces[i]);
        atomic_store_explicit(&j->state[i], s, memory_order_relaxed);
        j->checked++;
        /* and the next ones while Ed25519's code and tables are in cache
         * (JK_SIG_AHEAD): apply's own work between two attests evicts them.
         * Only unclaimed traces; a worker's (or the ends meeting) stops it. */
        for (size_t k = i + 1; k < j->n && k <= i + JK_SIG_AHEAD; k++) {
            expect = JK_SIG_UNCHECKED;
            if (!atomic_compare_exchange_strong(&j->state[k], &expect, JK_SIG_CLAIMED)) {
                if (expect == JK_SIG_CACHED)
                    continue;
                break;
            }
            atomic_store_explicit(&j->state[k], jk_check(&j->traces[k]), memory_order_relaxed);
            j->checked++;
        }
    }
    return s == JK_SIG_VALID || s == JK_SIG_CACHED;
}

bool jk_chain_sigjobs_cached(jk_chain_sigjobs *j, size_t i)
{
    return atomic_load_explicit(&j->state[i], memory_order_relaxed) == JK_SIG_CACHED;
}

size_t jk_chain_sigjobs_checked(const jk_chain_sigjobs *j)
{
    return j->checked;
}

void jk_chain_sigjobs_finish(jk_chain_sigjobs *j)
{
    if (!j)
        return;
    atomic_store(&j->stop, true);
    for (unsigned t = 0; t < j->started; t++)
        pthread_join(j->workers[t], NULL);
    free(j->state);
    free(j);
}

void jk_chain_set_import_threads(jk_chain_kernel *ck, unsigned threads)
{
    ck->import_threads = threads;
}
