/*
 * archive.c — the block archive: every committed block with its commit
 * certificate, by height and by hash, the consensus machine's durable state
 * (the signed-vote records of the current height and the proof of lock) and
 * the equivocation evidence; and sync: blocks with certificates from a peer,
 * each certificate checked against the validator set before the block is
 * imported, in order.
 *
 * The archive lives in the chain store's LMDB environment (jk_cap_store
 * tables, docs/node.md "The store"), so that a block, its certificate and
 * the head that adopts its state commit in ONE transaction
 * (jk_node_archive_commit): a crash leaves all or none of them. A standalone
 * archive (jk_node_archive_open: a store of its own in a directory) serves
 * tools and tests that read an archive without a validator.
 *
 * Schema (five tables):
 *   "height":   key = height u64 big-endian (so a cursor walks in order),
 *               value = block hash[32] ‖ cert_len u32 LE ‖ certificate ‖ block.
 *               Rows written since session 9 have cert_len 0: their
 *               certificate is in "cert". Rows of an earlier jark hold it
 *               here (cert_len > 0) until "cert" gets one for their height.
 *   "cert":     key = height u64 big-endian, value = the certificate
 *               (jk_cons_cert_encode); read before the row's own. Why a table
 *               of its own: the certificate of block h changes once, at
 *               h+1 (the carried one replaces the one this node's decision
 *               made), and with it inside the row that swap rewrote the
 *               whole row — the block, ~29 overflow pages for a 512-event
 *               block — a second time each height (docs/bench.md "Store
 *               format, session 9").
 *   "hash":     key = block hash[32], value = height u64 LE.
 *   "vote":     empty. (An earlier jark kept the signed-vote records here
 *               under "records" and the proof of lock under "pol"; they
 *               move to the vote log, DIR/votes.log (votelog.c), at its
 *               first use.)
 *   "evidence": key = height u64 BE ‖ round u32 BE ‖ vote type u8 ‖
 *               validator u32 BE (one entry per equivocation: the first
 *               pair seen is kept), value = the two votes (2 × 114 bytes).
 *               At most JK_NODE_EVIDENCE_MAX entries: past that the lowest
 *               key (the oldest height) makes room for a higher one.
 * Heights are contiguous from 1: put refuses a gap and refuses another block
 * at an archived height. The certificate of block h is the one block h+1
 * carried (its LastCommit) once h+1 is committed, so that every honest
 * archive holds the same certificate below its top; the top keeps the one
 * its own decision produced. Durability (docs/cap.md "Store: syncs"): the
 * signed-vote records are appended to the vote log with one fdatasync per
 * append, and so is the proof of lock; every commit before them is on disk
 * by then except the async one on the writer thread (the top: a vote of
 * top + 1 does not wait for it, docs/node.md "The proposal before the
 * write"); evidence and put go through jk_cap_store_write,
 * on disk when it returns; so a record written before a vote is sent
 * survives any crash after it; a block's
 * commit (jk_node_archive_commit) is a head commit: all or nothing, one
 * sync, and a machine crash may undo the latest one. Pruning: none (every
 * block is kept).
 */
#include "jark/node.h"

#include "jark/bytes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "archive_internal.h"

#define JK_ARCHIVE_MAP ((size_t)1 << 32)
#define JK_ARCH_CERT_MAX (48 + 68 * JK_CONS_MAX_VALIDATORS) /* jk_cons_cert_size's bound */

/* ---- open ---- */

static jk_err jk_arch_scan(void *ctx, jk_cap_store_txn *t, jk_diag *diag)
{
    jk_node_archive *a = ctx;
    jk_cap_table_entry e;
    jk_err err = jk_cap_txn_seek(t, a->by_height, NULL, 0, true, &e, diag);
    if (err == JK_OK && e.key_len == 8)
        a->top = jk_get_u64be(e.key);
    else if (err != JK_ERR_CAP_MISSING && err != JK_OK)
        return err;
    return jk_cap_txn_count(t, a->evidence, &a->evidence_count, diag);
}

jk_err jk_node_archive_attach(jk_cap_store *store, jk_node_archive **out, jk_diag *diag)
{
    *out = NULL;
    jk_node_archive *a = calloc(1, sizeof *a);
    if (!a)
        return JK_ERR_NOMEM;
    a->store = store;
    a->evidence_max = JK_NODE_EVIDENCE_MAX;
    a->unsynced = true; /* what the store's owner committed before: flushed at the first record */
    jk_err err = jk_cap_store_table(store, "height", &a->by_height, diag);
    if (err == JK_OK)
        err = jk_cap_store_table(store, "hash", &a->by_hash, diag);
    if (err == JK_OK)
        err = jk_cap_store_table(store, "vote", &a->vote, diag);
    if (err == JK_OK)
        err = jk_cap_store_table(store, "evidence", &a->evidence, diag);
    if (err == JK_OK)
        err = jk_cap_store_table(store, "cert", &a->certs, diag);
    if (err == JK_OK)
        err = jk_cap_store_read(store, jk_arch_scan, a, diag);
    if (err != JK_OK) {
        free(a);
        return jk_arch_err(err, diag, "open");
    }
    *out = a;
    return JK_OK;
}

jk_err jk_node_archive_open(const char *dir, jk_node_archive **out, jk_diag *diag)
{
    *out = NULL;
    jk_cap_store *store;
    jk_cap_store_options opt = {.map_size = JK_ARCHIVE_MAP};
    jk_err err = jk_cap_store_open(dir, &opt, &store, diag);
    if (err == JK_ERR_IO)
        return err;
    if (err != JK_OK)
        return jk_arch_err(err, diag, "open");
    if ((err = jk_node_archive_attach(store, out, diag)) != JK_OK) {
        jk_cap_store_close(store);
        return err;
    }
    (*out)->owned = true;
    return JK_OK;
}

/* What the last async commit writes, kept for reads (jk_node_archive_get). */
typedef struct jk_arch_top {
    uint64_t height;
    jk_hash id;
    jk_cons_cert cert, prev_cert;
    bool has_prev;
    size_t len;
    uint8_t block[];
} jk_arch_top;

static void jk_arch_forget_top(jk_node_archive *a)
{
    free(a->recent);
    a->recent = NULL;
}

void jk_node_archive_close(jk_node_archive *a)
{
    if (!a)
        return;
    jk_arch_forget_top(a);
    jk_node_votelog_close(a->vlog);
    if (a->owned)
        jk_cap_store_close(a->store);
    free(a);
}

uint64_t jk_node_archive_top(const jk_node_archive *a) { return a->top; }

/* ---- blocks ---- */

typedef struct jk_arch_put {
    jk_node_archive *a;
    uint64_t height;
    const jk_hash *id;
    const uint8_t *block;
    size_t len;
    const jk_cons_cert *cert;
    const jk_cons_cert *prev_cert;  /* height - 1's certificate, or NULL */
    void *inner_ctx;                /* jk_node_archive_commit: validator's fn */
} jk_arch_put;

/* Set the certificate of the archived block at height (its row unchanged:
 * "cert" is read before the row's own). */
static jk_err jk_arch_recert(jk_node_archive *a, jk_cap_store_txn *t, uint64_t height,
                             const jk_cons_cert *cert, jk_diag *diag)
{
    uint8_t hk[8];
    jk_put_u64be(hk, height);
    const uint8_t *old;
    size_t n;
    jk_err err = jk_cap_txn_get(t, a->by_height, hk, 8, &old, &n, diag);
    if (err == JK_ERR_CAP_MISSING)
        return jk_diag_set(diag, JK_ERR_NODE_MISSING, "archive: no block at height %llu",
                           (unsigned long long)height);
    if (err != JK_OK)
        return err;
    if (n < 36)
        return jk_diag_set(diag, JK_ERR_NODE_ARCHIVE, "archive: height %llu is corrupt",
                           (unsigned long long)height);
    if (memcmp(cert->value.bytes, old, 32) != 0 || cert->height != height)
        return jk_diag_set(diag, JK_ERR_NODE_CONFLICT,
                           "archive: a certificate for another block than height %llu's",
                           (unsigned long long)height);
    uint8_t c[JK_ARCH_CERT_MAX];
    size_t clen = jk_cons_cert_size(cert);
    jk_cons_cert_encode(cert, c);
    return jk_cap_txn_put(t, a->certs, hk, 8, c, clen, diag);
}

static jk_err jk_arch_put_txn(void *ctx, jk_cap_store_txn *t, jk_diag *diag)
{
    jk_arch_put *p = ctx;
    jk_node_archive *a = p->a;
    uint8_t hk[8], hv[8], c[JK_ARCH_CERT_MAX], *val;
    jk_put_u64be(hk, p->height);
    jk_put_u64le(hv, p->height);
    jk_cons_cert_encode(p->cert, c);
    /* the row written in place in the store's pages: the block copied once */
    jk_err err = jk_cap_txn_reserve(t, a->by_height, hk, 8, 36 + p->len, &val, diag);
    if (err == JK_OK) {
        memcpy(val, p->id->bytes, 32);
        jk_put_u32le(val + 32, 0); /* the certificate is in "cert" */
        memcpy(val + 36, p->block, p->len);
    }
    if (err == JK_OK)
        err = jk_cap_txn_put(t, a->certs, hk, 8, c, jk_cons_cert_size(p->cert), diag);
    if (err == JK_OK)
        err = jk_cap_txn_put(t, a->by_hash, p->id->bytes, 32, hv, 8, diag);
    if (err == JK_OK && p->prev_cert && p->height > 1)
        err = jk_arch_recert(a, t, p->height - 1, p->prev_cert, diag);
    return err;
}

/* Is height next? JK_OK with *again when the same block is already there. */
static jk_err jk_arch_next(jk_node_archive *a, uint64_t height, const jk_hash *block_hash,
                           bool *again, jk_diag *diag)
{
    *again = false;
    if (height == 0 || height > a->top + 1)
        return jk_diag_set(diag, JK_ERR_NODE_CONFLICT,
                           "archive: height %llu does not follow the top %llu",
                           (unsigned long long)height, (unsigned long long)a->top);
    if (height <= a->top) {
        jk_hash have;
        jk_err err = jk_node_archive_get(a, height, &have, NULL, NULL, NULL, diag);
        if (err != JK_OK)
            return err;
        if (memcmp(have.bytes, block_hash->bytes, JK_HASH_SIZE) != 0)
            return jk_diag_set(diag, JK_ERR_NODE_CONFLICT,
                               "archive: another block is archived at height %llu",
                               (unsigned long long)height);
        *again = true;
    }
    return JK_OK;
}

jk_err jk_node_archive_put(jk_node_archive *a, uint64_t height, const jk_hash *block_hash,
                           const uint8_t *block, size_t len, const jk_cons_cert *cert,
                           jk_diag *diag)
{
    bool again;
    jk_err err = jk_arch_next(a, height, block_hash, &again, diag);
    if (err != JK_OK || again)
        return err;
    jk_arch_put p = {a, height, block_hash, block, len, cert, NULL, NULL};
    if ((err = jk_cap_store_write(a->store, jk_arch_put_txn, &p, diag)) != JK_OK)
        return jk_arch_err(err, diag, "put");
    a->top = height;
    a->unsynced = false; /* a durable write: every commit before it is too */
    jk_arch_forget_top(a);
    return JK_OK;
}

/* A commit of another height than top + 1. */
static jk_err jk_arch_not_next(const jk_node_archive *a, uint64_t height, jk_diag *diag)
{
    return jk_diag_set(diag, JK_ERR_NODE_CONFLICT, "archive: height %llu does not follow the top %llu",
                       (unsigned long long)height, (unsigned long long)a->top);
}

jk_err jk_node_archive_commit(jk_node_archive *a, jk_node_validator *v, uint64_t height,
                              const jk_hash *block_hash, const uint8_t *block, size_t len,
                              const jk_cons_cert *cert, const jk_cons_cert *prev_cert,
                              jk_diag *diag)
{
    if (height != a->top + 1)
        return jk_arch_not_next(a, height, diag);
    jk_arch_put p = {a, height, block_hash, block, len, cert, prev_cert, NULL};
    jk_err err = jk_node_validator_commit_with(v, height, block_hash, block, len,
                                               jk_arch_put_txn, &p, diag);
    if (err != JK_OK)
        return err;
    a->top = height;
    a->unsynced = true; /* its meta page waits for a flush */
    jk_arch_forget_top(a);
    return JK_OK;
}

/* An async commit's own copy of what jk_arch_put_txn writes: the caller's
 * buffers are gone by the time the writer thread runs it. */
typedef struct jk_arch_job {
    jk_arch_put p;
    jk_hash id;
    jk_cons_cert cert, prev_cert;
    void (*hook)(void *ctx, uint64_t height);
    void *hook_ctx;
    uint8_t block[];
} jk_arch_job;

static jk_err jk_arch_job_txn(void *ctx, jk_cap_store_txn *t, jk_diag *diag)
{
    jk_arch_job *j = ctx;
    /* the fault hook (tests): the head moved in memory, nothing of this
     * commit is in the store yet (its transaction is not committed) */
    if (j->hook)
        j->hook(j->hook_ctx, j->p.height);
    return jk_arch_put_txn(&j->p, t, diag);
}

jk_err jk_node_archive_commit_async(jk_node_archive *a, jk_node_validator *v, uint64_t height,
                                    const jk_hash *block_hash, const uint8_t *block, size_t len,
                                    const jk_cons_cert *cert, const jk_cons_cert *prev_cert,
                                    jk_diag *diag)
{
    if (height != a->top + 1)
        return jk_arch_not_next(a, height, diag);
    jk_arch_job *j = malloc(sizeof *j + (len ? len : 1));
    if (!j)
        return JK_ERR_NOMEM;
    memcpy(j->block, block, len);
    j->id = *block_hash;
    j->cert = *cert;
    if (prev_cert)
        j->prev_cert = *prev_cert;
    j->hook = a->write_hook;
    j->hook_ctx = a->write_hook_ctx;
    j->p = (jk_arch_put){a, height, &j->id, j->block, len, &j->cert,
                         prev_cert ? &j->prev_cert : NULL, NULL};
    /* the block's bytes are copied twice (the head record's Data and this
     * job): ~0.1 MB for a full block, small next to the commit */
    bool batch = jk_cap_store_in_batch(a->store); /* then it runs here, unsynced */
    jk_arch_top *top = malloc(sizeof *top + (len ? len : 1));
    jk_err err = top ? jk_node_validator_commit_async(v, height, block_hash, block, len, jk_arch_job_txn,
                                                      j, free, diag)
                     : JK_ERR_NOMEM;
    if (!top)
        free(j);
    jk_arch_forget_top(a);
    if (err != JK_OK) {
        free(top);
        return err;
    }
    a->top = height;
    a->unsynced |= batch;
    /* a third copy of the block (~0.2 MB for a full one, a memcpy): the
     * job's belongs to the writer thread and goes with it */
    top->height = height;
    top->id = *block_hash;
    top->cert = *cert;
    top->has_prev = prev_cert != NULL;
    if (prev_cert)
        top->prev_cert = *prev_cert;
    top->len = len;
    memcpy(top->block, block, len);
    a->recent = top;
    return JK_OK;
}

void jk_node_archive_set_write_hook(jk_node_archive *a, void (*hook)(void *ctx, uint64_t height),
                                    void *ctx)
{
    a->write_hook = hook;
    a->write_hook_ctx = ctx;
}

jk_err jk_node_archive_durable(jk_node_archive *a, jk_diag *diag)
{
    return jk_arch_err(jk_cap_store_wait(a->store, diag), diag, "durable write");
}

typedef struct jk_arch_get {
    jk_node_archive *a;
    uint64_t height;
    jk_hash *block_hash;
    uint8_t **block;
    size_t *len;
    jk_cons_cert *cert;
} jk_arch_get;

static jk_err jk_arch_get_txn(void *ctx, jk_cap_store_txn *t, jk_diag *diag)
{
    jk_arch_get *g = ctx;
    uint8_t hk[8];
    jk_put_u64be(hk, g->height);
    const uint8_t *p;
    size_t n;
    jk_err err = jk_cap_txn_get(t, g->a->by_height, hk, 8, &p, &n, diag);
    if (err == JK_ERR_CAP_MISSING)
        return jk_diag_set(diag, JK_ERR_NODE_MISSING, "archive: no block at height %llu",
                           (unsigned long long)g->height);
    if (err != JK_OK)
        return err;
    uint32_t clen = n >= 36 ? jk_get_u32le(p + 32) : 0;
    if (n < 36 || clen > n - 36)
        return jk_diag_set(diag, JK_ERR_NODE_ARCHIVE, "archive: height %llu is corrupt",
                           (unsigned long long)g->height);
    if (g->block_hash)
        memcpy(g->block_hash->bytes, p, 32);
    if (g->cert) {
        /* "cert" first; a row of an earlier jark holds its own */
        const uint8_t *c = p + 36;
        size_t cn = clen;
        err = jk_cap_txn_get(t, g->a->certs, hk, 8, &c, &cn, diag);
        if (err == JK_ERR_CAP_MISSING)
            c = p + 36, cn = clen, err = JK_OK;
        if (err != JK_OK)
            return err;
        if (cn == 0 || jk_cons_cert_decode(c, cn, g->cert, diag) != JK_OK ||
            memcmp(g->cert->value.bytes, p, 32) != 0 || g->cert->height != g->height)
            return jk_diag_set(diag, JK_ERR_NODE_ARCHIVE, "archive: height %llu: %s", (unsigned long long)g->height,
                               cn == 0 ? "no certificate" : "bad certificate");
    }
    if (g->block) {
        size_t bl = n - 36 - clen;
        if (!(*g->block = malloc(bl ? bl : 1)))
            return JK_ERR_NOMEM;
        memcpy(*g->block, p + 36 + clen, bl);
        *g->len = bl;
    }
    return JK_OK;
}

/* Block `height` from the last async commit's copy, when it has it: the
 * top itself, or the certificate alone of top - 1 (the carried one its
 * write puts there). The same answers as the store's once that write is
 * done. */
static bool jk_arch_get_recent(const jk_node_archive *a, uint64_t height, jk_hash *block_hash,
                               uint8_t **block, size_t *len, jk_cons_cert *cert, jk_err *err)
{
    const jk_arch_top *t = a->recent;
    *err = JK_OK;
    if (!t)
        return false;
    if (height + 1 == t->height && t->has_prev && !block_hash && !block) {
        if (cert)
            *cert = t->prev_cert;
        return true;
    }
    if (height != t->height)
        return false;
    if (block_hash)
        *block_hash = t->id;
    if (cert)
        *cert = t->cert;
    if (block) {
        if (!(*block = malloc(t->len ? t->len : 1))) {
            *err = JK_ERR_NOMEM;
            return true;
        }
        memcpy(*block, t->block, t->len);
        *len = t->len;
    }
    return true;
}

jk_err jk_node_archive_get(jk_node_archive *a, uint64_t height, jk_hash *block_hash,
                           uint8_t **block, size_t *len, jk_cons_cert *cert, jk_diag *diag)
{
    if (block)
        *block = NULL;
    jk_err rerr;
    if (jk_arch_get_recent(a, height, block_hash, block, len, cert, &rerr))
        return rerr;
    jk_arch_get g = {a, height, block_hash, block, len, cert};
    jk_err err = jk_cap_store_read(a->store, jk_arch_get_txn, &g, diag);
    if (err != JK_OK && block) {
        free(*block);
        *block = NULL;
    }
    return jk_arch_err(err, diag, "get");
}

jk_err jk_node_archive_head_block(jk_cap_store *store, uint64_t height, const jk_hash *block_hash,
                                  jk_cap *out, jk_diag *diag)
{
    *out = jk_cap_null();
    jk_node_archive *a;
    jk_err err = jk_node_archive_attach(store, &a, diag);
    if (err != JK_OK)
        return err;
    jk_hash id;
    uint8_t *block = NULL;
    size_t len = 0;
    err = jk_node_archive_get(a, height, &id, &block, &len, NULL, diag);
    jk_node_archive_close(a);
    if (err == JK_OK && memcmp(id.bytes, block_hash->bytes, JK_HASH_SIZE) != 0)
        err = jk_diag_set(diag, JK_ERR_NODE_ARCHIVE,
                          "archive: the head names another block than the one archived at height %llu",
                          (unsigned long long)height);
    if (err == JK_OK)
        err = jk_cap_data_new(block, len, out);
    free(block);
    return err;
}

typedef struct jk_arch_find {
    jk_node_archive *a;
    const jk_hash *id;
    uint64_t *height;
} jk_arch_find;

static jk_err jk_arch_find_txn(void *ctx, jk_cap_store_txn *t, jk_diag *diag)
{
    jk_arch_find *f = ctx;
    const uint8_t *p;
    size_t n;
    jk_err err = jk_cap_txn_get(t, f->a->by_hash, f->id->bytes, 32, &p, &n, diag);
    if (err == JK_ERR_CAP_MISSING)
        return jk_diag_set(diag, JK_ERR_NODE_MISSING, "archive: no such block");
    if (err == JK_OK && n != 8)
        return jk_diag_set(diag, JK_ERR_NODE_ARCHIVE, "archive: a hash entry is corrupt");
    if (err == JK_OK)
        *f->height = jk_get_u64le(p);
    return err;
}

jk_err jk_node_archive_find(jk_node_archive *a, const jk_hash *block_hash, uint64_t *height,
                            jk_diag *diag)
{
    jk_arch_find f = {a, block_hash, height};
    return jk_arch_err(jk_cap_store_read(a->store, jk_arch_find_txn, &f, diag), diag, "find");
}

/* ---- the consensus machine's durable state ---- */

typedef struct jk_arch_vote {
    jk_node_archive *a;
    const char *key;
    bool del;                  /* delete "records" and "pol"; else read key */
    uint8_t **out;             /* read: malloc'd copy */
    size_t *out_len;
} jk_arch_vote;

static jk_err jk_arch_vote_txn(void *ctx, jk_cap_store_txn *t, jk_diag *diag)
{
    jk_arch_vote *w = ctx;
    if (w->del) {
        jk_err err = jk_cap_txn_del(t, w->a->vote, "records", 7, diag);
        if (err == JK_OK || err == JK_ERR_CAP_MISSING)
            err = jk_cap_txn_del(t, w->a->vote, "pol", 3, diag);
        return err == JK_ERR_CAP_MISSING ? JK_OK : err;
    }
    const uint8_t *old = NULL;
    size_t n = 0;
    jk_err err = jk_cap_txn_get(t, w->a->vote, w->key, strlen(w->key), &old, &n, diag);
    *w->out = NULL;
    *w->out_len = 0;
    if (err == JK_ERR_CAP_MISSING)
        return JK_OK;
    if (err != JK_OK || n == 0)
        return err;
    if (!(*w->out = malloc(n)))
        return JK_ERR_NOMEM;
    memcpy(*w->out, old, n);
    *w->out_len = n;
    return JK_OK;
}

/* A store of an earlier jark kept the records of the latest height in the
 * "vote" table under "records" (n × 87 bytes) and the proof of lock under
 * "pol": carried into a new vote log once, so that an upgraded validator
 * remembers what it signed and its lock, then dropped from the table. */
static jk_err jk_arch_vlog_migrate(jk_node_archive *a, bool *found, jk_diag *diag)
{
    uint8_t *b = NULL;
    size_t n = 0;
    jk_arch_vote w = {.a = a, .key = "records", .out = &b, .out_len = &n};
    jk_err err = jk_cap_store_read(a->store, jk_arch_vote_txn, &w, diag);
    if (err != JK_OK || n == 0)
        return err;
    *found = true;
    if (n % JK_CONS_RECORD_SIZE != 0) {
        free(b);
        return jk_diag_set(diag, JK_ERR_NODE_ARCHIVE, "archive: the old vote records are corrupt (%zu bytes)",
                           n);
    }
    for (size_t i = 0; i < n / JK_CONS_RECORD_SIZE && err == JK_OK; i += JK_NODE_VOTELOG_GROUP) {
        jk_cons_record r[JK_NODE_VOTELOG_GROUP];
        size_t k = 0;
        for (; k < JK_NODE_VOTELOG_GROUP && i + k < n / JK_CONS_RECORD_SIZE && err == JK_OK; k++)
            err = jk_cons_record_decode(b + (i + k) * JK_CONS_RECORD_SIZE, JK_CONS_RECORD_SIZE, &r[k], diag);
        if (err == JK_OK)
            err = jk_node_votelog_append(a->vlog, r, k, diag);
    }
    free(b);
    return err;
}

/* The same for the proof of lock ("pol"). */
static jk_err jk_arch_vlog_migrate_pol(jk_node_archive *a, bool *found, jk_diag *diag)
{
    uint8_t *b = NULL;
    size_t n = 0;
    jk_arch_vote w = {.a = a, .key = "pol", .out = &b, .out_len = &n};
    jk_err err = jk_cap_store_read(a->store, jk_arch_vote_txn, &w, diag);
    if (err == JK_OK && n) {
        *found = true;
        err = jk_node_votelog_put_pol(a->vlog, b, n, diag);
    }
    free(b);
    return err;
}

/* The vote log beside the store, opened at its first use (readers of blocks
 * alone never touch it); a new log takes over an old store's records. */
static jk_err jk_arch_vlog(jk_node_archive *a, jk_diag *diag)
{
    if (a->vlog)
        return JK_OK;
    const char *dir = jk_cap_store_path(a->store);
    if (!dir)
        return jk_diag_set(diag, JK_ERR_NODE_ARCHIVE, "archive: the store has no directory for its vote log");
    char path[4096];
    snprintf(path, sizeof path, "%s/votes.log", dir);
    bool fresh = access(path, F_OK) != 0;
    jk_err err = jk_node_votelog_open(dir, &a->vlog, diag);
    bool found = false;
    if (err == JK_OK && fresh)
        err = jk_arch_vlog_migrate(a, &found, diag);
    if (err == JK_OK && fresh)
        err = jk_arch_vlog_migrate_pol(a, &found, diag);
    jk_arch_vote del = {.a = a, .del = true};
    if (err == JK_OK && found)
        err = jk_cap_store_write(a->store, jk_arch_vote_txn, &del, diag);
    if (err != JK_OK) {
        jk_node_votelog_close(a->vlog);
        a->vlog = NULL;
    }
    return err;
}

jk_err jk_node_archive_put_turn(jk_node_archive *a, const jk_cons_record *recs, size_t n,
                                const uint8_t *pol, size_t pol_len, jk_diag *diag)
{
    jk_err err = jk_arch_vlog(a, diag);
    /* Every head commit before these votes reaches the disk first, except
     * the one on the writer thread now (at most the archive's top, h: the
     * machine signs at h + 1 or above). That one is not waited for: a
     * validator that signed at h + 1 and comes back from a crash at h - 1
     * keeps its records of h + 1, signs nothing at h (decided: peers hand
     * it over) and resumes h + 1 from them (jk_cons_machine_new; docs/node.md
     * "The proposal before the write"). A commit not on the writer (a
     * synchronous one, one inside a batch) is flushed first, one sync. */
    if (err == JK_OK && (n || pol_len) && a->unsynced) {
        err = jk_arch_err(jk_cap_store_flush(a->store, diag), diag, "flush before a vote");
        a->unsynced = err != JK_OK;
    }
    if (err == JK_OK)
        err = jk_node_votelog_append_turn(a->vlog, recs, n, pol, pol_len, diag);
    return err;
}

jk_err jk_node_archive_put_record(jk_node_archive *a, const jk_cons_record *rec, jk_diag *diag)
{
    return jk_node_archive_put_turn(a, rec, 1, NULL, 0, diag);
}

jk_err jk_node_archive_records(jk_node_archive *a, jk_cons_record **recs, size_t *count,
                               jk_diag *diag)
{
    *recs = NULL;
    *count = 0;
    jk_err err = jk_arch_vlog(a, diag);
    if (err != JK_OK)
        return err;
    size_t k;
    const jk_cons_record *latest = jk_node_votelog_latest(a->vlog, &k);
    if (k == 0)
        return JK_OK;
    if (!(*recs = malloc(k * sizeof **recs)))
        return JK_ERR_NOMEM;
    memcpy(*recs, latest, k * sizeof **recs);
    *count = k;
    return JK_OK;
}

const char *jk_node_archive_vote_note(const jk_node_archive *a)
{
    return a->vlog ? jk_node_votelog_note(a->vlog) : "";
}

jk_err jk_node_archive_put_pol(jk_node_archive *a, const uint8_t *pol, size_t len, jk_diag *diag)
{
    if (len == 0)
        return jk_diag_set(diag, JK_ERR_INVALID_ARG, "archive: an empty proof of lock");
    return jk_node_archive_put_turn(a, NULL, 0, pol, len, diag);
}

jk_err jk_node_archive_pol(jk_node_archive *a, uint8_t **pol, size_t *len, jk_diag *diag)
{
    *pol = NULL;
    *len = 0;
    jk_err err = jk_arch_vlog(a, diag);
    if (err != JK_OK)
        return err;
    size_t n;
    const uint8_t *p = jk_node_votelog_pol(a->vlog, &n);
    if (n == 0)
        return JK_OK;
    if (!(*pol = malloc(n)))
        return JK_ERR_NOMEM;
    memcpy(*pol, p, n);
    *len = n;
    return JK_OK;
}

/* ---- sync ---- */

jk_err jk_node_sync(jk_node_archive *a, const jk_cons_valset *vs, const jk_hash *genesis,
                    const jk_node_sync_item *items, size_t count, jk_node_import_fn import,
                    void *ctx, size_t *imported, jk_diag *diag)
{
    *imported = 0;
    for (size_t i = 0; i < count; i++) {
        const jk_node_sync_item *it = &items[i];
        if (it->height != a->top + 1)
            return jk_diag_set(diag, JK_ERR_NODE_CONFLICT,
                               "sync: block %llu does not follow the archive's top %llu",
                               (unsigned long long)it->height, (unsigned long long)a->top);
        jk_chain_header h;
        jk_err err = jk_chain_header_decode(it->block, it->len < JK_CHAIN_HEADER_SIZE
                                                           ? it->len : JK_CHAIN_HEADER_SIZE,
                                            &h, diag);
        if (err != JK_OK)
            return err;
        jk_hash id;
        jk_chain_header_hash(&h, &id);
        /* Never import a block without a valid certificate for it. */
        if ((err = jk_cons_cert_check(&it->cert, genesis, vs, it->height, &id, diag)) != JK_OK)
            return err;
        if ((err = import(ctx, it->height, it->block, it->len, diag)) != JK_OK)
            return err;
        if ((err = jk_node_archive_put(a, it->height, &id, it->block, it->len, &it->cert,
                                       diag)) != JK_OK)
            return err;
        (*imported)++;
    }
    return JK_OK;
}
