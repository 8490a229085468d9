/*
 * store_async.c — head commits on a writer thread (jk_cap_store_commit_async,
 * docs/cap.md "Store: commits on a writer thread").
 *
 * Why: a validator's commit of height h is ~11 ms of CPU (hashing and
 * encoding the new objects, LMDB puts) and one or two disk syncs, which on a
 * busy disk are 0.1-0.9 s of wall time; meanwhile the node could already
 * build or check h+1 on the in-memory head. The writer runs the commit
 * (transaction and sync) while the caller goes on.
 *
 * One job at a time: a new async commit waits for the previous one, and
 * every other entry point of the handle waits too (jk_cap_store_drain), so
 * that the handle behaves as if each commit had run when it was asked for,
 * only later: reads see it, a durable write or flush makes it durable
 * first. LMDB's rule (a write transaction on one thread) holds because the
 * writer begins and ends each of its transactions itself. The cap being
 * committed is immutable and its reference count and hash cache are atomic
 * (internal.h), so the caller may go on using and sharing it.
 */
#define _GNU_SOURCE /* pthread_setname_np */
#include "store_internal.h"

bool jk_cap_store_writer_init(jk_cap_store *s)
{
    if (pthread_mutex_init(&s->mu, NULL) != 0)
        return false;
    if (pthread_cond_init(&s->cv, NULL) != 0) {
        pthread_mutex_destroy(&s->mu);
        return false;
    }
    return true;
}

static void jk_job_done(jk_store_job *job)
{
    jk_cap_release(job->cap);
    job->cap = jk_cap_null();
    if (job->ctx_free)
        job->ctx_free(job->ctx);
    job->ctx = NULL;
    job->ctx_free = NULL;
}

/* The commit the job asks for, then the sync of its meta page: when the
 * job is done, the commit is durable (so the vote that waits for it never
 * reaches the disk ahead of it; docs/node.md "Commit on a writer thread"). */
static jk_err jk_job_run(jk_cap_store *s, jk_store_job *job, jk_diag *diag)
{
    jk_err err = jk_cap_store_commit_now(s, job->rows ? NULL : job->head, job->cap, job->fn, job->ctx,
                                         NULL, diag);
    if (err != JK_OK)
        return err;
    int rc = mdb_env_sync(s->env, 1);
    if (rc != 0)
        return jk_diag_set(diag, JK_ERR_CAP_STORE, "store: sync: %s", mdb_strerror(rc));
    s->stats.syncs++;
    s->meta_pending = false;
    return JK_OK;
}

static void *jk_writer_main(void *arg)
{
    jk_cap_store *s = arg;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->busy && !s->stop)
            pthread_cond_wait(&s->cv, &s->mu);
        if (!s->busy)
            break; /* stop, nothing queued */
        pthread_mutex_unlock(&s->mu);
        jk_diag diag = {{0}};
        jk_err err = jk_job_run(s, &s->job, &diag);
        jk_job_done(&s->job);
        pthread_mutex_lock(&s->mu);
        if (err != JK_OK && s->async_err == JK_OK) {
            s->async_err = err;
            snprintf(s->async_msg, sizeof s->async_msg, "%s",
                     diag.msg[0] ? diag.msg : jk_strerror(err));
        }
        s->busy = false;
        pthread_cond_broadcast(&s->cv);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

jk_err jk_cap_store_drain(jk_cap_store *s, jk_diag *diag)
{
    if (s->writer_up && pthread_equal(pthread_self(), s->writer))
        return JK_OK; /* the writer's own commit */
    pthread_mutex_lock(&s->mu);
    s->waiting++;
    while (s->busy)
        pthread_cond_wait(&s->cv, &s->mu);
    s->waiting--;
    jk_err err = s->async_err;
    pthread_mutex_unlock(&s->mu);
    if (err != JK_OK)
        return jk_diag_set(diag, err, "store: a commit on the writer thread failed (%s): "
                           "reopen the store", s->async_msg);
    return JK_OK;
}

void jk_cap_store_writer_stop(jk_cap_store *s)
{
    if (s->writer_up) {
        pthread_mutex_lock(&s->mu);
        s->stop = true;
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->writer, NULL);
        s->writer_up = false;
    }
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
}

jk_err jk_cap_store_commit_async(jk_cap_store *store, const char *head, jk_cap cap,
                                 jk_cap_store_txn_fn fn, void *ctx, void (*ctx_free)(void *ctx),
                                 jk_diag *diag)
{
    jk_err err = jk_cap_store_drain(store, diag);
    bool rows = !head && jk_cap_is_null(cap) && fn; /* the rows alone */
    if (err == JK_OK && !rows && (!head || !head[0] || strlen(head) > 255))
        err = jk_diag_set(diag, JK_ERR_INVALID_ARG, "store: head name must be 1..255 bytes");
    if (err == JK_OK && !rows && jk_cap_is_null(cap))
        err = jk_diag_set(diag, JK_ERR_CAP_KIND, "store: cannot commit the null cap");
    /* Inside a batch the commit is a nested transaction of the batch's,
     * which lives on this thread: run it here (it costs no sync anyway). */
    if (err == JK_OK && store->batch)
        err = jk_cap_store_commit_now(store, head, cap, fn, ctx, NULL, diag);
    if (err != JK_OK || store->batch) {
        if (ctx_free)
            ctx_free(ctx);
        return err;
    }
    if (!store->writer_up) {
        if (pthread_create(&store->writer, NULL, jk_writer_main, store) != 0) {
            if (ctx_free)
                ctx_free(ctx);
            return jk_diag_set(diag, JK_ERR_CAP_STORE, "store: cannot start the writer thread");
        }
        store->writer_up = true;
        /* "jk-store" in /proc/PID/task/TID/comm: the writer's CPU, measured apart */
        (void)pthread_setname_np(store->writer, "jk-store");
    }
    pthread_mutex_lock(&store->mu);
    store->job.rows = rows;
    snprintf(store->job.head, sizeof store->job.head, "%s", rows ? "" : head);
    store->job.cap = jk_cap_retain(cap);
    store->job.fn = fn;
    store->job.ctx = ctx;
    store->job.ctx_free = ctx_free;
    store->busy = true;
    pthread_cond_broadcast(&store->cv);
    pthread_mutex_unlock(&store->mu);
    return JK_OK;
}

jk_err jk_cap_store_wait(jk_cap_store *store, jk_diag *diag)
{
    return jk_cap_store_drain(store, diag);
}

unsigned jk_cap_store_waiters(jk_cap_store *store)
{
    pthread_mutex_lock(&store->mu);
    unsigned n = store->busy ? store->waiting : 0;
    pthread_mutex_unlock(&store->mu);
    return n;
}
