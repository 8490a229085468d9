/*
 * archive.c — the block archive: every committed block with its commit
 * certificate, by height and by hash, plus the consensus machine's durable
 * state (the signed-vote records of the current height and the proof of
 * lock); and sync: blocks with certificates from a peer, each certificate
 * checked against the validator set before the block is imported, in order.
 *
 * Schema (one LMDB environment in its own directory, three named databases):
 *   "height": key = height u64 big-endian (so a cursor walks in order),
 *             value = block hash[32] ‖ cert_len u32 LE ‖ certificate ‖ block.
 *   "hash":   key = block hash[32], value = height u64 LE.
 *   "vote":   "records" → n × 87-byte records (jk_cons_record_encode) of the
 *             latest height signed in; "pol" → the last PERSIST_POL bytes.
 * Heights are contiguous from 1: put refuses a gap and refuses another block
 * at an archived height. Durability is LMDB's synchronous default: a put
 * that returned is on disk, so a record written before a vote is sent
 * survives any crash after it. Pruning: none (every block is kept).
 */
#include "jark/node.h"

#include "jark/bytes.h"

#include <errno.h>
#include <lmdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define JK_ARCHIVE_MAP ((size_t)1 << 32)

struct jk_node_archive {
    MDB_env *env;
    MDB_dbi by_height, by_hash, vote;
    uint64_t top;
};

static jk_err jk_arch_fail(jk_diag *diag, int rc, const char *what)
{
    return jk_diag_set(diag, JK_ERR_NODE_ARCHIVE, "archive: %s: %s", what, mdb_strerror(rc));
}

static void jk_put_u64be(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint64_t jk_get_u64be(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

jk_err jk_node_archive_open(const char *dir, jk_node_archive **out, jk_diag *diag)
{
    *out = NULL;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return jk_diag_set(diag, JK_ERR_IO, "archive: cannot create %s", dir);
    jk_node_archive *a = calloc(1, sizeof *a);
    if (!a)
        return JK_ERR_NOMEM;
    int rc;
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    if ((rc = mdb_env_create(&a->env)) != 0) {
        free(a);
        return jk_arch_fail(diag, rc, "create");
    }
    if ((rc = mdb_env_set_maxdbs(a->env, 3)) != 0 ||
        (rc = mdb_env_set_mapsize(a->env, JK_ARCHIVE_MAP)) != 0 ||
        (rc = mdb_env_open(a->env, dir, MDB_NOTLS, 0644)) != 0 ||
        (rc = mdb_txn_begin(a->env, NULL, 0, &txn)) != 0 ||
        (rc = mdb_dbi_open(txn, "height", MDB_CREATE, &a->by_height)) != 0 ||
        (rc = mdb_dbi_open(txn, "hash", MDB_CREATE, &a->by_hash)) != 0 ||
        (rc = mdb_dbi_open(txn, "vote", MDB_CREATE, &a->vote)) != 0 ||
        (rc = mdb_cursor_open(txn, a->by_height, &cur)) != 0)
        goto fail;
    MDB_val k, v;
    rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
    if (rc == 0 && k.mv_size == 8)
        a->top = jk_get_u64be(k.mv_data);
    else if (rc != MDB_NOTFOUND)
        goto fail;
    mdb_cursor_close(cur);
    cur = NULL;
    if ((rc = mdb_txn_commit(txn)) != 0) {
        txn = NULL;
        goto fail;
    }
    *out = a;
    return JK_OK;
fail:
    if (cur)
        mdb_cursor_close(cur);
    if (txn)
        mdb_txn_abort(txn);
    mdb_env_close(a->env);
    free(a);
    return jk_arch_fail(diag, rc, "open");
}

void jk_node_archive_close(jk_node_archive *a)
{
    if (!a)
        return;
    mdb_env_close(a->env);
    free(a);
}

uint64_t jk_node_archive_top(const jk_node_archive *a) { return a->top; }

jk_err jk_node_archive_put(jk_node_archive *a, uint64_t height, const jk_hash *block_hash,
                           const uint8_t *block, size_t len, const jk_cons_cert *cert,
                           jk_diag *diag)
{
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
        return JK_OK; /* the same block again */
    }
    size_t clen = jk_cons_cert_size(cert), n = 36 + clen + len;
    uint8_t *val = malloc(n);
    if (!val)
        return JK_ERR_NOMEM;
    memcpy(val, block_hash->bytes, 32);
    jk_put_u32le(val + 32, (uint32_t)clen);
    jk_cons_cert_encode(cert, val + 36);
    memcpy(val + 36 + clen, block, len);
    uint8_t hk[8], hv[8];
    jk_put_u64be(hk, height);
    jk_put_u64le(hv, height);
    MDB_txn *txn;
    MDB_val k1 = {8, hk}, v1 = {n, val}, k2 = {32, (void *)block_hash->bytes}, v2 = {8, hv};
    int rc = mdb_txn_begin(a->env, NULL, 0, &txn);
    if (rc == 0 && (rc = mdb_put(txn, a->by_height, &k1, &v1, 0)) == 0 &&
        (rc = mdb_put(txn, a->by_hash, &k2, &v2, 0)) == 0) {
        rc = mdb_txn_commit(txn);
    } else if (rc != 0 && txn) {
        mdb_txn_abort(txn);
    }
    free(val);
    if (rc != 0)
        return jk_arch_fail(diag, rc, "put");
    a->top = height;
    return JK_OK;
}

jk_err jk_node_archive_get(jk_node_archive *a, uint64_t height, jk_hash *block_hash,
                           uint8_t **block, size_t *len, jk_cons_cert *cert, jk_diag *diag)
{
    uint8_t hk[8];
    jk_put_u64be(hk, height);
    MDB_txn *txn;
    MDB_val k = {8, hk}, v;
    jk_err err = JK_OK;
    if (block)
        *block = NULL;
    int rc = mdb_txn_begin(a->env, NULL, MDB_RDONLY, &txn);
    if (rc != 0)
        return jk_arch_fail(diag, rc, "read");
    rc = mdb_get(txn, a->by_height, &k, &v);
    if (rc == MDB_NOTFOUND) {
        err = jk_diag_set(diag, JK_ERR_NODE_MISSING, "archive: no block at height %llu",
                          (unsigned long long)height);
        goto done;
    }
    if (rc != 0) {
        err = jk_arch_fail(diag, rc, "get");
        goto done;
    }
    const uint8_t *p = v.mv_data;
    uint32_t clen = v.mv_size >= 36 ? jk_get_u32le(p + 32) : 0;
    if (v.mv_size < 36 || clen > v.mv_size - 36) {
        err = jk_diag_set(diag, JK_ERR_NODE_ARCHIVE, "archive: height %llu is corrupt",
                          (unsigned long long)height);
        goto done;
    }
    if (block_hash)
        memcpy(block_hash->bytes, p, 32);
    if (cert && (err = jk_cons_cert_decode(p + 36, clen, cert, diag)) != JK_OK) {
        err = jk_diag_set(diag, JK_ERR_NODE_ARCHIVE, "archive: height %llu: bad certificate",
                          (unsigned long long)height);
        goto done;
    }
    if (block) {
        size_t n = v.mv_size - 36 - clen;
        if (!(*block = malloc(n ? n : 1))) {
            err = JK_ERR_NOMEM;
            goto done;
        }
        memcpy(*block, p + 36 + clen, n);
        *len = n;
    }
done:
    mdb_txn_abort(txn);
    return err;
}

jk_err jk_node_archive_find(jk_node_archive *a, const jk_hash *block_hash, uint64_t *height,
                            jk_diag *diag)
{
    MDB_txn *txn;
    MDB_val k = {32, (void *)block_hash->bytes}, v;
    int rc = mdb_txn_begin(a->env, NULL, MDB_RDONLY, &txn);
    if (rc != 0)
        return jk_arch_fail(diag, rc, "read");
    rc = mdb_get(txn, a->by_hash, &k, &v);
    jk_err err = JK_OK;
    if (rc == MDB_NOTFOUND)
        err = jk_diag_set(diag, JK_ERR_NODE_MISSING, "archive: no such block");
    else if (rc != 0 || v.mv_size != 8)
        err = jk_arch_fail(diag, rc, "find");
    else
        *height = jk_get_u64le(v.mv_data);
    mdb_txn_abort(txn);
    return err;
}

static jk_err jk_vote_put(jk_node_archive *a, const char *key, const void *bytes, size_t len,
                          jk_diag *diag)
{
    MDB_txn *txn;
    MDB_val k = {strlen(key), (void *)key}, v = {len, (void *)bytes};
    int rc = mdb_txn_begin(a->env, NULL, 0, &txn);
    if (rc == 0 && (rc = mdb_put(txn, a->vote, &k, &v, 0)) == 0)
        rc = mdb_txn_commit(txn);
    else if (rc != 0 && txn)
        mdb_txn_abort(txn);
    return rc ? jk_arch_fail(diag, rc, "vote record") : JK_OK;
}

static jk_err jk_vote_get(jk_node_archive *a, const char *key, uint8_t **bytes, size_t *len,
                          jk_diag *diag)
{
    MDB_txn *txn;
    MDB_val k = {strlen(key), (void *)key}, v;
    *bytes = NULL;
    *len = 0;
    int rc = mdb_txn_begin(a->env, NULL, MDB_RDONLY, &txn);
    if (rc != 0)
        return jk_arch_fail(diag, rc, "read");
    jk_err err = JK_OK;
    rc = mdb_get(txn, a->vote, &k, &v);
    if (rc == 0 && v.mv_size > 0) {
        if ((*bytes = malloc(v.mv_size)) != NULL) {
            memcpy(*bytes, v.mv_data, v.mv_size);
            *len = v.mv_size;
        } else {
            err = JK_ERR_NOMEM;
        }
    } else if (rc != 0 && rc != MDB_NOTFOUND) {
        err = jk_arch_fail(diag, rc, "vote record");
    }
    mdb_txn_abort(txn);
    return err;
}

jk_err jk_node_archive_put_record(jk_node_archive *a, const jk_cons_record *rec, jk_diag *diag)
{
    uint8_t *old;
    size_t n;
    jk_err err = jk_vote_get(a, "records", &old, &n, diag);
    if (err != JK_OK)
        return err;
    jk_cons_record last;
    if (n >= JK_CONS_RECORD_SIZE &&
        (jk_cons_record_decode(old + n - JK_CONS_RECORD_SIZE, JK_CONS_RECORD_SIZE, &last, NULL) !=
             JK_OK ||
         last.height != rec->height))
        n = 0; /* a new height: the older records are done with */
    uint8_t *all = realloc(old, n + JK_CONS_RECORD_SIZE);
    if (!all) {
        free(old);
        return JK_ERR_NOMEM;
    }
    jk_cons_record_encode(rec, all + n);
    err = jk_vote_put(a, "records", all, n + JK_CONS_RECORD_SIZE, diag);
    free(all);
    return err;
}

jk_err jk_node_archive_records(jk_node_archive *a, jk_cons_record **recs, size_t *count,
                               jk_diag *diag)
{
    uint8_t *b;
    size_t n;
    *recs = NULL;
    *count = 0;
    jk_err err = jk_vote_get(a, "records", &b, &n, diag);
    if (err != JK_OK || n == 0)
        return err;
    if (n % JK_CONS_RECORD_SIZE != 0) {
        free(b);
        return jk_diag_set(diag, JK_ERR_NODE_ARCHIVE, "archive: vote records are corrupt");
    }
    size_t k = n / JK_CONS_RECORD_SIZE;
    jk_cons_record *r = calloc(k, sizeof *r);
    for (size_t i = 0; r && i < k && err == JK_OK; i++)
        err = jk_cons_record_decode(b + i * JK_CONS_RECORD_SIZE, JK_CONS_RECORD_SIZE, &r[i], diag);
    free(b);
    if (!r)
        return JK_ERR_NOMEM;
    if (err != JK_OK) {
        free(r);
        return err;
    }
    *recs = r;
    *count = k;
    return JK_OK;
}

jk_err jk_node_archive_put_pol(jk_node_archive *a, const uint8_t *pol, size_t len, jk_diag *diag)
{
    return jk_vote_put(a, "pol", pol, len, diag);
}

jk_err jk_node_archive_pol(jk_node_archive *a, uint8_t **pol, size_t *len, jk_diag *diag)
{
    return jk_vote_get(a, "pol", pol, len, diag);
}

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
