/*
 * store_internal.h — the store handle, shared by store.c (LMDB transactions,
 * heads, tables, batches) and store_async.c (head commits on a writer
 * thread). Private to src/cap.
 */
#ifndef JK_CAP_STORE_INTERNAL_H
#define JK_CAP_STORE_INTERNAL_H

#include "internal.h"

#include <lmdb.h>
#include <pthread.h>

/* One head commit handed to the writer thread (jk_cap_store_commit_async). */
typedef struct jk_store_job {
    char head[256];
    jk_cap cap;                 /* retained until the job is done */
    jk_cap_store_txn_fn fn;
    void *ctx;
    void (*ctx_free)(void *ctx);
    bool rows;                  /* fn's rows alone: no head, no objects */
} jk_store_job;

/* The written-keys filter (store_known.c): keys the store is known to
 * hold, and those of the commit in progress, kept until it commits. */
#define JK_KNOWN_BITS 15
typedef struct jk_known {
    uint16_t *tags[2];          /* per generation, 2^JK_KNOWN_BITS slots: 0 empty */
    jk_hash *keys[2];           /* the slots' keys; NULL until first used */
    unsigned cur;               /* the generation inserts go to */
    size_t count;               /* keys in it */
    jk_hash *pending;           /* the commit in progress: put or found present */
    size_t npending, room;
} jk_known;

/* Whether h is known present (never true for a key the store lacks). */
bool jk_cap_known_has(const jk_known *k, const jk_hash *h);
/* Note that the commit in progress put h or found it present. */
void jk_cap_known_note(jk_known *k, const jk_hash *h);
/* The commit in progress committed: its noted keys join the set. */
void jk_cap_known_merge(jk_known *k);
/* It did not (aborted, failed, or nested in a batch not yet committed). */
void jk_cap_known_drop(jk_known *k);
void jk_cap_known_free(jk_known *k);

struct jk_cap_store {
    MDB_env *env;
    MDB_dbi objects, heads;
    MDB_dbi tables[JK_CAP_STORE_MAX_TABLES];
    uint32_t ntables;
    MDB_txn *batch;             /* the open batch's transaction, or NULL */
    int lost;                   /* a batch failed to commit: LMDB's code; no
                                   more writes (the user's state is ahead) */
    bool meta_pending;          /* a commit since the last meta sync: its
                                   meta page may not be on disk yet */
    jk_cap_store_stats stats;
    jk_known known;             /* head commits' has() answers (store_known.c) */
    /* The writer thread (store_async.c). While `busy`, the job and every
     * field above belong to the writer; the handle's thread touches them
     * only after jk_cap_store_drain saw busy false (under mu: the writer's
     * writes happen before). */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t writer;
    bool writer_up, busy, stop;
    unsigned waiting;           /* threads in jk_cap_store_drain's wait */
    jk_store_job job;
    jk_err async_err;           /* an async commit failed: sticky, like lost */
    char async_msg[sizeof ((jk_diag *)0)->msg];
};

/* A transaction of the store (store.c); also the upper layers'
 * jk_cap_store_txn, opaque to them (store_tables.c). */
struct jk_cap_store_txn {
    jk_cap_store *store;
    MDB_txn *txn;
    int rc;             /* the last LMDB failure, for the diagnostic */
    uint64_t written;
    bool borrowed;      /* txn is the open batch itself (a read): never ended here */
    bool readonly;      /* a read: table writes refused (the batch would take them) */
};

/* store.c: LMDB's failure rc while doing `what`, as JK_ERR_CAP_STORE (or
 * JK_ERR_CAP_STORE_FULL for a full map) with LMDB's reason. */
jk_err jk_cap_store_mdb_fail(jk_diag *diag, int rc, const char *what);

/* store.c: jk_cap_store_commit_with without waiting for the writer (what
 * the writer itself runs). */
jk_err jk_cap_store_commit_now(jk_cap_store *store, const char *head, jk_cap cap,
                               jk_cap_store_txn_fn fn, void *ctx, uint64_t *written,
                               jk_diag *diag);
/* store_async.c: wait until no async commit is running. @return JK_OK, or
 * the error of an async commit that failed (every later one too: the
 * user's state is ahead of the store), with its reason in diag. */
jk_err jk_cap_store_drain(jk_cap_store *store, jk_diag *diag);
/* Drain and end the writer thread (close). */
void jk_cap_store_writer_stop(jk_cap_store *store);
/* The mutex and condition of a new handle. @return false on failure. */
bool jk_cap_store_writer_init(jk_cap_store *store);

#endif
