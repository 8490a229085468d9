/*
 * store.c — the persistent store: LMDB, hash → object, and named heads.
 *
 * Schema (one LMDB environment in a directory, three named databases):
 *   "objects": key = the 32-byte hash, value = the object's canonical bytes;
 *              except CNode inner nodes, stored in groups of
 *              JK_CAP_GROUP_LEVELS levels under their top node's hash,
 *              and since layout 3 a small Data in a CNode slot, held in
 *              the group that names it (load.c, export.c; docs/cap.md
 *              "Store: CNode groups", "Store: layout 3");
 *   "heads":   key = a head name (1..255 bytes), value = a 32-byte hash;
 *   "format":  "layout" → u32 LE JK_STORE_LAYOUT (3). A store without it
 *              that holds objects is of layout 1 (one record per CNode
 *              node) and is refused (JK_ERR_CAP_STORE_LAYOUT); one of
 *              layout 2 is read and marked 3 (it gets layout 3 records).
 * plus up to JK_CAP_STORE_MAX_TABLES named tables an upper layer opens
 * (jk_cap_store_table, store_tables.c): key → value maps this layer never
 * reads, which exist so that an upper layer's records commit in the same
 * transaction as a head (jk_cap_store_commit_with; the node's block
 * archive is the user).
 * Invariant: an object is present only if every object it names is too —
 * a head commit puts a value's records inside one transaction (each new
 * record before its children since session 9: the put is the lookup, and
 * the order inside a transaction is invisible), and jk_cap_store_put
 * checks the children — so "has(h)" means "has h's whole subtree", which
 * is what lets a commit skip it.
 *
 * Durability (docs/cap.md "Store: syncs"): the environment runs with
 * MDB_NOMETASYNC (no MDB_NOSYNC, no MDB_WRITEMAP): mdb_txn_commit writes the
 * data pages and fdatasyncs them, then writes the meta page that makes them
 * current without a second sync. A crash at any point leaves the store at a
 * whole committed transaction (ACI always holds: the meta page only ever
 * names pages already on disk); a machine crash may lose the LAST commit
 * (its meta page not yet on disk) and nothing before it, because every
 * commit's data sync also flushes the previous meta page.
 *   - head commits (jk_cap_store_commit / _with) take that one sync: a
 *     machine crash undoes at most the latest of them;
 *   - jk_cap_store_write and jk_cap_store_put are DURABLE when they return:
 *     their commit is followed by mdb_env_sync(force), which flushes the
 *     meta page too (and with it every earlier commit). jk_cap_store_flush
 *     does that sync only when a commit is not yet durable: the node's
 *     signed-vote log (a file of its own) calls it before each append, so
 *     every block committed before a vote is on disk with the vote.
 *   - a batch (jk_cap_store_batch_begin .. _end) runs head commits as nested
 *     transactions of one LMDB transaction: each commit is still all or
 *     nothing, reads see it, and the batch costs one sync at its end. A
 *     crash before the end leaves the store as before the batch (a whole
 *     earlier head). Anything durable (write, put, table) ends the batch
 *     first; close ends it and syncs.
 * MDB_NOTLS lets read transactions live on any thread; the handle itself is
 * one thread's at a time. Stale reader slots of dead processes are cleared
 * at open.
 */
#include "store_internal.h"

#include <errno.h>
#include <sys/stat.h>

#define JK_STORE_DEFAULT_MAP ((size_t)1 << 30)
#define JK_STORE_LAYOUT 3u

jk_err jk_cap_store_mdb_fail(jk_diag *diag, int rc, const char *what)
{
    return jk_diag_set(diag, rc == MDB_MAP_FULL ? JK_ERR_CAP_STORE_FULL : JK_ERR_CAP_STORE,
                       "store: %s: %s", what, mdb_strerror(rc));
}

static MDB_val jk_key(const jk_hash *h)
{
    MDB_val k = {JK_HASH_SIZE, (void *)h->bytes};
    return k;
}

/* The order of the "objects" keys: LMDB's default (memcmp over the
 * shorter length, then the shorter first), so a store written with either
 * reads with the other, but 32-byte keys — every object's — compare by
 * their first 8 bytes as a big-endian integer first. They are hashes, so
 * that decides nearly every comparison of a B-tree search (-5.6 % of a
 * commit's instructions: the default calls memcmp through mdb_cmp_memn
 * each time; docs/bench.md "Store writer, session 8"). */
static uint64_t jk_be64(const uint8_t *p)
{
    return __builtin_bswap64(jk_rd_u64(p)); /* jk_rd_u64 reads little-endian on any host */
}

/* LMDB's own order (mdb_cmp_memn), for what the fast path leaves. Not
 * inlined, so that the fast path needs no stack frame. */
static __attribute__((noinline)) int jk_key_cmp_bytes(const MDB_val *a, const MDB_val *b)
{
    size_t n = a->mv_size < b->mv_size ? a->mv_size : b->mv_size;
    int d = n ? memcmp(a->mv_data, b->mv_data, n) : 0;
    return d ? d : a->mv_size < b->mv_size ? -1 : a->mv_size > b->mv_size;
}

static int jk_key_cmp(const MDB_val *a, const MDB_val *b)
{
    if (a->mv_size == JK_HASH_SIZE && b->mv_size == JK_HASH_SIZE) {
        uint64_t x = jk_be64(a->mv_data), y = jk_be64(b->mv_data);
        if (x != y)
            return x < y ? -1 : 1;
    }
    return jk_key_cmp_bytes(a, b);
}

static jk_err jk_store_layout_put(MDB_txn *txn, MDB_dbi format, MDB_val *k)
{
    uint8_t b[4];
    b[0] = JK_STORE_LAYOUT, b[1] = b[2] = b[3] = 0;
    MDB_val v = {4, b};
    int rc = mdb_put(txn, format, k, &v, 0);
    return rc ? jk_cap_store_mdb_fail(NULL, rc, "layout") : JK_OK;
}

/* The store's layout: written into a store without objects, checked in
 * one with them. */
static jk_err jk_store_layout(jk_cap_store *s, MDB_txn *txn, const char *dir, jk_diag *diag)
{
    MDB_dbi format;
    MDB_stat st;
    MDB_val k = {6, (void *)"layout"}, v;
    int rc = mdb_dbi_open(txn, "format", MDB_CREATE, &format);
    if (rc == 0 && (rc = mdb_get(txn, format, &k, &v)) == MDB_NOTFOUND) {
        if ((rc = mdb_stat(txn, s->objects, &st)) != 0)
            return jk_cap_store_mdb_fail(diag, rc, "layout");
        if (st.ms_entries > 0)
            return jk_diag_set(diag, JK_ERR_CAP_STORE_LAYOUT,
                               "store %s: layout 1 (a record per CNode node); this jark reads layouts 2 and %u "
                               "(CNode nodes in groups): sync the node again into an empty directory",
                               dir, JK_STORE_LAYOUT);
        return jk_store_layout_put(txn, format, &k);
    }
    if (rc != 0)
        return jk_cap_store_mdb_fail(diag, rc, "layout");
    uint32_t layout = v.mv_size == 4 ? jk_rd_u32(v.mv_data) : 0;
    /* Layout 2's records are layout 3's without held Data: this jark reads
     * both (load.c), and from now on writes layout 3 into the store, which
     * a jark of layout 2 could not read — so the key says 3 from here on
     * and such a jark refuses the store instead of failing on a record. */
    if (layout == 2)
        return jk_store_layout_put(txn, format, &k);
    if (layout != JK_STORE_LAYOUT)
        return jk_diag_set(diag, JK_ERR_CAP_STORE_LAYOUT, "store %s: layout %u; this jark reads layouts 2 and %u",
                           dir, layout, JK_STORE_LAYOUT);
    return JK_OK;
}

jk_err jk_cap_store_open(const char *dir, const jk_cap_store_options *opt,
                         jk_cap_store **out, jk_diag *diag)
{
    if (!dir || !out)
        return jk_diag_set(diag, JK_ERR_INVALID_ARG, "store: no directory");
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return jk_diag_set(diag, JK_ERR_IO, "store: cannot create %s: %s", dir, strerror(errno));
    jk_cap_store *s = calloc(1, sizeof *s);
    if (!s)
        return JK_ERR_NOMEM;
    if (!jk_cap_store_writer_init(s)) {
        free(s);
        return JK_ERR_NOMEM;
    }
    MDB_txn *txn = NULL;
    int rc, dead;
    const char *what = "create";
    if ((rc = mdb_env_create(&s->env)) != 0)
        goto fail;
    what = "configure";
    if ((rc = mdb_env_set_maxdbs(s->env, 3 + JK_CAP_STORE_MAX_TABLES)) != 0 ||
        (rc = mdb_env_set_mapsize(s->env, opt && opt->map_size ? opt->map_size
                                                                : JK_STORE_DEFAULT_MAP)) != 0)
        goto fail;
    what = "open";
    if ((rc = mdb_env_open(s->env, dir, MDB_NOTLS | MDB_NOMETASYNC, 0644)) != 0)
        goto fail;
    what = "reader check";
    if ((rc = mdb_reader_check(s->env, &dead)) != 0)
        goto fail;
    what = "open databases";
    if ((rc = mdb_txn_begin(s->env, NULL, 0, &txn)) != 0 ||
        (rc = mdb_dbi_open(txn, "objects", MDB_CREATE, &s->objects)) != 0 ||
        (rc = mdb_set_compare(txn, s->objects, jk_key_cmp)) != 0 ||
        (rc = mdb_dbi_open(txn, "heads", MDB_CREATE, &s->heads)) != 0)
        goto fail;
    jk_err err = jk_store_layout(s, txn, dir, diag);
    if (err != JK_OK) {
        mdb_txn_abort(txn);
        mdb_env_close(s->env);
        jk_cap_store_writer_stop(s);
        free(s);
        return err;
    }
    rc = mdb_txn_commit(txn);
    txn = NULL;
    if (rc != 0)
        goto fail;
    *out = s;
    return JK_OK;
fail:
    if (txn)
        mdb_txn_abort(txn);
    if (s->env)
        mdb_env_close(s->env);
    jk_cap_store_writer_stop(s);
    free(s);
    return jk_cap_store_mdb_fail(diag, rc, what);
}

void jk_cap_store_close(jk_cap_store *store)
{
    if (!store)
        return;
    /* a clean close loses nothing: the writer's commit ends, the batch
     * commits and the meta page of the last commit reaches the disk
     * (failures here have no caller) */
    (void)jk_cap_store_drain(store, NULL);
    (void)jk_cap_store_batch_end(store, NULL);
    (void)mdb_env_sync(store->env, 1);
    mdb_env_close(store->env);
    jk_cap_store_writer_stop(store);
    jk_cap_known_free(&store->known);
    free(store);
}

/* ---- transactions as sources and sinks ---- */

typedef struct jk_cap_store_txn jk_txn_ctx;

static jk_err jk_txn_get(void *ctx, const jk_hash *h, const uint8_t **bytes, size_t *len)
{
    jk_txn_ctx *t = ctx;
    MDB_val k = jk_key(h), v;
    int rc = mdb_get(t->txn, t->store->objects, &k, &v);
    if (rc == MDB_NOTFOUND)
        return JK_ERR_CAP_MISSING;
    if (rc != 0) {
        t->rc = rc;
        return JK_ERR_CAP_STORE;
    }
    *bytes = v.mv_data;
    *len = v.mv_size;
    return JK_OK;
}

static jk_err jk_txn_has(void *ctx, const jk_hash *h, bool *present)
{
    const uint8_t *bytes;
    size_t len;
    jk_err err = jk_txn_get(ctx, h, &bytes, &len);
    *present = err == JK_OK;
    return err == JK_ERR_CAP_MISSING ? JK_OK : err;
}

/* Put h → bytes; with MDB_NOOVERWRITE, JK_TXN_EXISTS when the store holds
 * h already (nothing written). */
#define JK_TXN_EXISTS 1 /* a return of jk_txn_put_as, not a jk_err */
static jk_err jk_txn_put_as(void *ctx, const jk_hash *h, const uint8_t *bytes, size_t len, unsigned flags)
{
    jk_txn_ctx *t = ctx;
    MDB_val k = jk_key(h), v = {len, (void *)bytes};
    int rc = mdb_put(t->txn, t->store->objects, &k, &v, flags);
    if (rc == MDB_KEYEXIST && (flags & MDB_NOOVERWRITE))
        return (jk_err)JK_TXN_EXISTS;
    if (rc != 0) {
        t->rc = rc;
        return rc == MDB_MAP_FULL ? JK_ERR_CAP_STORE_FULL : JK_ERR_CAP_STORE;
    }
    t->written++;
    /* by tag, for measurements; a failed transaction's puts count too (a
     * CNode group as a CNode node: the records a commit writes) */
    unsigned tag = len && (bytes[0] == JK_CAP_GROUP_TAG || bytes[0] == JK_CAP_GROUP3_TAG) ? JK_CAP_TAG_CNODE_NODE
                   : len && bytes[0] < JK_CAP_STORE_TAGS ? bytes[0] : 0;
    t->store->stats.objects[tag]++;
    t->store->stats.object_bytes[tag] += len;
    return JK_OK;
}

static jk_err jk_txn_put(void *ctx, const jk_hash *h, const uint8_t *bytes, size_t len)
{
    return jk_txn_put_as(ctx, h, bytes, len, 0);
}

/* A head commit's known(): the written-keys filter alone (store_known.c);
 * counted as a has() question. */
static bool jk_txn_sink_known(void *ctx, const jk_hash *h)
{
    jk_txn_ctx *t = ctx;
    jk_cap_store *s = t->store;
    s->stats.has_asked++;
    if (!jk_cap_known_has(&s->known, h))
        return false;
    s->stats.has_known++;
    s->stats.has_present++;
    jk_cap_known_note(&s->known, h);
    return true;
}

/* A head commit's put_new(): the put is the lookup (MDB_NOOVERWRITE: one
 * descent, not a get and then a put); noted for the filter either way. */
static jk_err jk_txn_sink_put_new(void *ctx, const jk_hash *h, const uint8_t *bytes, size_t len, bool *present)
{
    jk_txn_ctx *t = ctx;
    jk_err err = jk_txn_put_as(ctx, h, bytes, len, MDB_NOOVERWRITE);
    *present = err == (jk_err)JK_TXN_EXISTS;
    if (*present) {
        t->store->stats.has_present++;
        err = JK_OK;
    }
    if (err == JK_OK)
        jk_cap_known_note(&t->store->known, h);
    return err;
}

static jk_err jk_txn_child_present(void *ctx, const jk_hash *h)
{
    bool present;
    jk_err err = jk_txn_has(ctx, h, &present);
    return err != JK_OK ? err : present ? JK_OK : JK_ERR_CAP_MISSING;
}

/* What a transaction is for: a read, a head commit (joins an open batch as
 * a nested transaction), or a durable write (ends an open batch first). */
typedef enum { JK_TXN_READ, JK_TXN_COMMIT, JK_TXN_DURABLE } jk_txn_kind;

static jk_err jk_txn_begin(jk_cap_store *store, jk_txn_kind kind, jk_txn_ctx *t, jk_diag *diag)
{
    memset(t, 0, sizeof *t);
    t->store = store;
    t->readonly = kind == JK_TXN_READ;
    if (kind == JK_TXN_DURABLE && store->batch) {
        jk_err err = jk_cap_store_batch_end(store, diag);
        if (err != JK_OK)
            return err;
    }
    if (kind != JK_TXN_READ && store->lost)
        return jk_diag_set(diag, JK_ERR_CAP_STORE,
                           "store: an earlier batch failed to commit (%s): reopen the store",
                           mdb_strerror(store->lost));
    if (kind == JK_TXN_READ && store->batch) {
        /* the batch's writes are this handle's state: read through it */
        t->txn = store->batch;
        t->borrowed = true;
        return JK_OK;
    }
    int rc = mdb_txn_begin(store->env, kind == JK_TXN_COMMIT ? store->batch : NULL,
                           kind == JK_TXN_READ ? MDB_RDONLY : 0, &t->txn);
    return rc ? jk_cap_store_mdb_fail(diag, rc, "begin transaction") : JK_OK;
}

/* End a read: abort it, unless it is the batch (which goes on). */
static void jk_txn_end(jk_txn_ctx *t)
{
    if (t->txn && !t->borrowed)
        mdb_txn_abort(t->txn);
    t->txn = NULL;
}

/* Commit a write transaction; durable: then flush the meta page too. A
 * nested one (inside a batch) only merges into the batch: no disk write. */
static jk_err jk_txn_commit(jk_txn_ctx *t, bool durable, jk_diag *diag)
{
    jk_cap_store *s = t->store;
    bool nested = s->batch != NULL;
    int rc = mdb_txn_commit(t->txn);
    t->txn = NULL;
    if (rc != 0)
        return jk_cap_store_mdb_fail(diag, rc, "commit");
    if (nested) {
        s->stats.batched++;
        s->stats.in_batch++;
        return JK_OK;
    }
    s->stats.commits++;
    s->stats.syncs++; /* mdb_txn_commit's data sync */
    s->meta_pending = true;
    if (durable) {
        if ((rc = mdb_env_sync(s->env, 1)) != 0)
            return jk_cap_store_mdb_fail(diag, rc, "sync");
        s->stats.syncs++;
        s->meta_pending = false;
    }
    return JK_OK;
}

/* The error err from a source/sink call, with LMDB's reason when it has one. */
static jk_err jk_txn_fail(jk_txn_ctx *t, jk_err err, jk_diag *diag)
{
    jk_txn_end(t);
    if (t->rc)
        return jk_cap_store_mdb_fail(diag, t->rc, "transaction");
    return err;
}

/* ---- public ---- */

jk_err jk_cap_store_put(jk_cap_store *store, const uint8_t *bytes, size_t len,
                        jk_hash *hash, jk_diag *diag)
{
    jk_obj_view v;
    jk_hash h;
    jk_txn_ctx t;
    jk_err err = jk_cap_store_drain(store, diag);
    if (err == JK_OK)
        err = jk_cap_obj_parse(bytes, len, &v, diag);
    if (err != JK_OK)
        return err;
    if (v.tag == JK_CAP_TAG_CNODE_NODE)
        return jk_diag_set(diag, JK_ERR_INVALID_ARG,
                           "store: put: CNode nodes are stored in groups with their CNode (commit it)");
    jk_crypto_blake2b256(bytes, len, &h);
    if ((err = jk_txn_begin(store, JK_TXN_DURABLE, &t, diag)) != JK_OK)
        return err;
    err = jk_cap_view_children(&v, jk_txn_child_present, &t);
    if (err == JK_ERR_CAP_MISSING)
        err = jk_diag_set(diag, err, "store: put: an object it names is missing");
    if (err == JK_OK)
        err = jk_txn_put(&t, &h, bytes, len);
    if (err != JK_OK)
        return jk_txn_fail(&t, err, diag);
    if ((err = jk_txn_commit(&t, true, diag)) == JK_OK && hash)
        *hash = h;
    return err;
}

jk_err jk_cap_store_get(jk_cap_store *store, const jk_hash *hash, uint8_t **bytes,
                        size_t *len, jk_diag *diag)
{
    jk_txn_ctx t;
    const uint8_t *p;
    size_t n;
    jk_hash got;
    (void)jk_cap_store_drain(store, NULL); /* reads see every commit made */
    jk_err err = jk_txn_begin(store, JK_TXN_READ, &t, diag);
    if (err != JK_OK)
        return err;
    err = jk_txn_get(&t, hash, &p, &n);
    if (err == JK_ERR_CAP_MISSING) {
        err = jk_diag_set(diag, err, "store: object not found");
    } else if (err == JK_OK) {
        uint8_t top[1 + 2 * JK_HASH_SIZE] = {JK_CAP_TAG_CNODE_NODE};
        if (n && (p[0] == JK_CAP_GROUP_TAG || p[0] == JK_CAP_GROUP3_TAG)) {
            /* a group: its top node's object */
            if ((err = jk_cap_group_check(hash, p, n, diag)) != JK_OK)
                return jk_txn_fail(&t, err, diag);
            memcpy(top + 1, p + 2, 2 * JK_HASH_SIZE);
            p = top;
            n = sizeof top;
        }
        jk_crypto_blake2b256(p, n, &got);
        if (memcmp(got.bytes, hash->bytes, JK_HASH_SIZE) != 0) {
            err = jk_diag_set(diag, JK_ERR_CAP_CORRUPT, "store: object does not match its hash");
        } else if (!(*bytes = malloc(n ? n : 1))) {
            err = JK_ERR_NOMEM;
        } else {
            memcpy(*bytes, p, n);
            *len = n;
        }
    }
    if (err != JK_OK)
        return jk_txn_fail(&t, err, diag);
    jk_txn_end(&t);
    return JK_OK;
}

jk_err jk_cap_store_has(jk_cap_store *store, const jk_hash *hash, bool *present,
                        jk_diag *diag)
{
    jk_txn_ctx t;
    (void)jk_cap_store_drain(store, NULL);
    jk_err err = jk_txn_begin(store, JK_TXN_READ, &t, diag);
    if (err != JK_OK)
        return err;
    if ((err = jk_txn_has(&t, hash, present)) != JK_OK)
        return jk_txn_fail(&t, err, diag);
    jk_txn_end(&t);
    return JK_OK;
}

static bool jk_head_ok(const char *head) { return head && head[0] && strlen(head) <= 255; }

static jk_err jk_store_commit_txn(jk_cap_store *store, const char *head, jk_cap cap,
                                  jk_cap_store_txn_fn fn, void *ctx, uint64_t *written,
                                  jk_diag *diag);

jk_err jk_cap_store_commit(jk_cap_store *store, const char *head, jk_cap cap,
                           uint64_t *written, jk_diag *diag)
{
    return jk_cap_store_commit_with(store, head, cap, NULL, NULL, written, diag);
}

jk_err jk_cap_store_commit_with(jk_cap_store *store, const char *head, jk_cap cap,
                                jk_cap_store_txn_fn fn, void *ctx, uint64_t *written,
                                jk_diag *diag)
{
    jk_err err = jk_cap_store_drain(store, diag);
    return err != JK_OK ? err
                        : jk_cap_store_commit_now(store, head, cap, fn, ctx, written, diag);
}

jk_err jk_cap_store_commit_now(jk_cap_store *store, const char *head, jk_cap cap,
                               jk_cap_store_txn_fn fn, void *ctx, uint64_t *written,
                               jk_diag *diag)
{
    /* The written-keys filter learns this commit's keys only if its own
     * LMDB transaction commits to the file: nested in a batch, the batch
     * may still fail (store_known.c). */
    bool nested = store->batch != NULL;
    jk_cap_known_drop(&store->known);
    jk_err err = jk_store_commit_txn(store, head, cap, fn, ctx, written, diag);
    if (err == JK_OK && !nested)
        jk_cap_known_merge(&store->known);
    else
        jk_cap_known_drop(&store->known);
    return err;
}

static jk_err jk_store_commit_txn(jk_cap_store *store, const char *head, jk_cap cap,
                                  jk_cap_store_txn_fn fn, void *ctx, uint64_t *written,
                                  jk_diag *diag)
{
    /* head NULL, cap null, fn set: the rows alone (jk_cap_store_commit_rows) */
    bool rows = !head && jk_cap_is_null(cap) && fn;
    if (!rows && !jk_head_ok(head))
        return jk_diag_set(diag, JK_ERR_INVALID_ARG, "store: head name must be 1..255 bytes");
    if (!rows && jk_cap_is_null(cap))
        return jk_diag_set(diag, JK_ERR_CAP_KIND, "store: cannot commit the null cap");
    jk_txn_ctx t;
    jk_err err = jk_txn_begin(store, JK_TXN_COMMIT, &t, diag);
    if (err != JK_OK)
        return err;
    if (!rows) {
        jk_hash h;
        jk_cap_hash(cap, &h);
        jk_cap_put_sink sink = {&t, jk_txn_sink_known, jk_txn_sink_put_new};
        if ((err = jk_cap_export_put_first(cap, &sink, diag)) != JK_OK)
            return jk_txn_fail(&t, err, diag);
        MDB_val k = {strlen(head), (void *)head}, v = {JK_HASH_SIZE, h.bytes};
        int rc = mdb_put(t.txn, store->heads, &k, &v, 0);
        if (rc != 0) {
            t.rc = rc;
            return jk_txn_fail(&t, JK_ERR_CAP_STORE, diag);
        }
    }
    uint64_t n = t.written;
    if (fn && (err = fn(ctx, &t, diag)) != JK_OK) {
        /* the caller's reason stands (its diag); LMDB's only if it has none */
        jk_txn_end(&t);
        return err;
    }
    if ((err = jk_txn_commit(&t, false, diag)) == JK_OK && written)
        *written = n;
    return err;
}

jk_err jk_cap_store_head(jk_cap_store *store, const char *head, jk_hash *out, jk_diag *diag)
{
    if (!jk_head_ok(head))
        return jk_diag_set(diag, JK_ERR_INVALID_ARG, "store: head name must be 1..255 bytes");
    jk_txn_ctx t;
    (void)jk_cap_store_drain(store, NULL);
    jk_err err = jk_txn_begin(store, JK_TXN_READ, &t, diag);
    if (err != JK_OK)
        return err;
    MDB_val k = {strlen(head), (void *)head}, v;
    int rc = mdb_get(t.txn, store->heads, &k, &v);
    if (rc == MDB_NOTFOUND)
        err = jk_diag_set(diag, JK_ERR_CAP_MISSING, "store: no head \"%s\"", head);
    else if (rc != 0)
        err = jk_cap_store_mdb_fail(diag, rc, "read head");
    else if (v.mv_size != JK_HASH_SIZE)
        err = jk_diag_set(diag, JK_ERR_CAP_CORRUPT, "store: head \"%s\" is %zu bytes, not 32",
                          head, v.mv_size);
    else
        memcpy(out->bytes, v.mv_data, JK_HASH_SIZE);
    jk_txn_end(&t);
    return err;
}

jk_err jk_cap_store_load(jk_cap_store *store, const jk_hash *hash, jk_cap *out,
                         jk_diag *diag)
{
    jk_txn_ctx t;
    (void)jk_cap_store_drain(store, NULL);
    jk_err err = jk_txn_begin(store, JK_TXN_READ, &t, diag);
    if (err != JK_OK)
        return err;
    jk_cap_source src = {&t, jk_txn_get};
    err = jk_cap_load_grouped(&src, hash, out, diag);
    if (err != JK_OK)
        return jk_txn_fail(&t, err, diag);
    jk_txn_end(&t);
    return JK_OK;
}

static jk_err jk_txn_run(jk_cap_store *store, bool write, jk_cap_store_txn_fn fn, void *ctx,
                         jk_diag *diag)
{
    jk_txn_ctx t;
    jk_err err = jk_cap_store_drain(store, diag);
    if (err != JK_OK && write)
        return err;
    err = jk_txn_begin(store, write ? JK_TXN_DURABLE : JK_TXN_READ, &t, diag);
    if (err != JK_OK)
        return err;
    if ((err = fn(ctx, &t, diag)) != JK_OK || !write) {
        jk_txn_end(&t);
        return err;
    }
    return jk_txn_commit(&t, true, diag);
}

/* ---- batches and syncs ---- */

jk_err jk_cap_store_batch_begin(jk_cap_store *store, jk_diag *diag)
{
    jk_err err = jk_cap_store_drain(store, diag);
    if (err != JK_OK)
        return err;
    if (store->batch)
        return JK_OK;
    int rc = mdb_txn_begin(store->env, NULL, 0, &store->batch);
    if (rc != 0) {
        store->batch = NULL;
        return jk_cap_store_mdb_fail(diag, rc, "begin batch");
    }
    return JK_OK;
}

jk_err jk_cap_store_batch_end(jk_cap_store *store, jk_diag *diag)
{
    jk_err err = jk_cap_store_drain(store, diag);
    if (err != JK_OK)
        return err;
    if (!store->batch)
        return JK_OK;
    int rc = mdb_txn_commit(store->batch);
    store->batch = NULL;
    store->stats.in_batch = 0;
    if (rc != 0) {
        store->lost = rc;
        return jk_cap_store_mdb_fail(diag, rc, "commit batch");
    }
    store->stats.commits++;
    store->stats.syncs++;
    store->meta_pending = true;
    return JK_OK;
}

bool jk_cap_store_in_batch(const jk_cap_store *store) { return store->batch != NULL; }

jk_err jk_cap_store_sync(jk_cap_store *store, jk_diag *diag)
{
    jk_err err = jk_cap_store_batch_end(store, diag);
    if (err != JK_OK)
        return err;
    int rc = mdb_env_sync(store->env, 1);
    if (rc != 0)
        return jk_cap_store_mdb_fail(diag, rc, "sync");
    store->stats.syncs++;
    store->meta_pending = false;
    return JK_OK;
}

jk_err jk_cap_store_flush(jk_cap_store *store, jk_diag *diag)
{
    jk_err err = jk_cap_store_drain(store, diag);
    if (err != JK_OK)
        return err;
    if (!store->batch && !store->meta_pending)
        return JK_OK;
    return jk_cap_store_sync(store, diag);
}

const char *jk_cap_store_path(const jk_cap_store *store)
{
    const char *path = NULL;
    return mdb_env_get_path(store->env, &path) == 0 ? path : NULL;
}

void jk_cap_store_stats_get(const jk_cap_store *store, jk_cap_store_stats *out)
{
    /* the writer's counts are its own until its commit is done */
    (void)jk_cap_store_drain((jk_cap_store *)store, NULL);
    *out = store->stats;
}

jk_err jk_cap_store_write(jk_cap_store *store, jk_cap_store_txn_fn fn, void *ctx, jk_diag *diag)
{
    return jk_txn_run(store, true, fn, ctx, diag);
}

jk_err jk_cap_store_read(jk_cap_store *store, jk_cap_store_txn_fn fn, void *ctx, jk_diag *diag)
{
    return jk_txn_run(store, false, fn, ctx, diag);
}

jk_err jk_cap_store_record_check(const jk_hash *key, const uint8_t *bytes, size_t len, jk_diag *diag)
{
    if (len && (bytes[0] == JK_CAP_GROUP_TAG || bytes[0] == JK_CAP_GROUP3_TAG))
        return jk_cap_group_check(key, bytes, len, diag);
    jk_hash got;
    jk_crypto_blake2b256(bytes, len, &got);
    if (memcmp(got.bytes, key->bytes, JK_HASH_SIZE) != 0)
        return jk_diag_set(diag, JK_ERR_CAP_CORRUPT, "store: a record does not hash to its key");
    return jk_cap_object_check(bytes, len, diag);
}
