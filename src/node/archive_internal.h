/*
 * archive_internal.h — the block archive's handle and helpers, shared by
 * archive.c (blocks, certificates, the vote log, sync) and
 * archive_evidence.c (equivocation evidence). Private to src/node.
 */
#ifndef JK_NODE_ARCHIVE_INTERNAL_H
#define JK_NODE_ARCHIVE_INTERNAL_H

#include "internal.h"
#include "jark/node.h"

#include <stdio.h>

#define JK_EVIDENCE_KEY 17
#define JK_EVIDENCE_SIZE (2 * JK_CONS_VOTE_SIZE)

struct jk_node_archive {
    jk_cap_store *store;
    bool owned;                 /* opened here: closed with the archive */
    jk_cap_table by_height, by_hash, vote, evidence, certs;
    uint64_t top;
    uint64_t evidence_count;    /* entries in "evidence" */
    uint64_t evidence_max;      /* JK_NODE_EVIDENCE_MAX unless set */
    jk_node_votelog *vlog;      /* opened at the first use of the records */
    /* A head commit made here may not be durable yet other than as the
     * writer thread's job in flight (a synchronous commit, one inside a
     * batch): the next vote record flushes the store first. While false,
     * every commit but the writer's current one is durable, and a record
     * goes to the vote log without waiting for that one (docs/node.md "The
     * proposal before the write"). */
    bool unsynced;
    /* The block of the last async commit (the top) with its certificate and
     * the carried certificate of top - 1, as its write puts them: a read of
     * those answers from here rather than wait for the writer (a peer's
     * sync request for the top arrived during a checkpoint's write and held
     * the loop for it). NULL when the last commit was not async. */
    struct jk_arch_top *recent;
    /* the fault hook of async commits (jk_node_archive_set_write_hook) */
    void (*write_hook)(void *ctx, uint64_t height);
    void *write_hook_ctx;
};

static inline void jk_put_u64be(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static inline uint64_t jk_get_u64be(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static inline void jk_put_u32be(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (24 - 8 * i));
}

/* The archive's errors are JK_ERR_NODE_ARCHIVE, with the store's reason. */
static inline jk_err jk_arch_err(jk_err err, jk_diag *diag, const char *what)
{
    if (err == JK_OK || err == JK_ERR_NOMEM || err == JK_ERR_NODE_ARCHIVE ||
        err == JK_ERR_NODE_MISSING || err == JK_ERR_NODE_CONFLICT)
        return err;
    char why[sizeof diag->msg];
    snprintf(why, sizeof why, "%s", diag && diag->msg[0] ? diag->msg : jk_strerror(err));
    return jk_diag_set(diag, JK_ERR_NODE_ARCHIVE, "archive: %s: %s", what, why);
}

#endif
