/*
 * store_tables.c — the store's tables for upper layers (jk_cap_store_table,
 * jk_cap_txn_*; docs/cap.md "The store", "Tables"): byte-string key → value
 * maps in the store's LMDB environment, written inside a head's commit
 * transaction or one of their own. This layer never reads them. Split from
 * store.c.
 */
#include "store_internal.h"

jk_err jk_cap_store_table(jk_cap_store *store, const char *name, jk_cap_table *out,
                          jk_diag *diag)
{
    if (!name || !name[0] || strlen(name) > 64 || !strcmp(name, "objects") ||
        !strcmp(name, "heads"))
        return jk_diag_set(diag, JK_ERR_INVALID_ARG, "store: bad table name");
    jk_err err = jk_cap_store_batch_end(store, diag); /* drains the writer first */
    if (err != JK_OK)
        return err;
    MDB_txn *txn;
    MDB_dbi dbi = 0;
    int rc = mdb_txn_begin(store->env, NULL, 0, &txn);
    if (rc == 0 && (rc = mdb_dbi_open(txn, name, MDB_CREATE, &dbi)) == 0) {
        rc = mdb_txn_commit(txn);
    } else if (rc != 0 && txn) {
        mdb_txn_abort(txn);
    }
    if (rc != 0)
        return jk_cap_store_mdb_fail(diag, rc, "open table");
    /* LMDB hands out one handle per name: the same table again is found */
    for (uint32_t i = 0; i < store->ntables; i++)
        if (store->tables[i] == dbi) {
            *out = i;
            return JK_OK;
        }
    if (store->ntables == JK_CAP_STORE_MAX_TABLES)
        return jk_diag_set(diag, JK_ERR_CAP_STORE, "store: more than %d tables",
                           JK_CAP_STORE_MAX_TABLES);
    store->tables[store->ntables] = dbi;
    *out = store->ntables++;
    return JK_OK;
}

static jk_err jk_table_dbi(jk_cap_store_txn *t, jk_cap_table table, MDB_dbi *dbi, jk_diag *diag)
{
    if (table >= t->store->ntables)
        return jk_diag_set(diag, JK_ERR_INVALID_ARG, "store: no table %u", table);
    *dbi = t->store->tables[table];
    return JK_OK;
}

/* A table put: v's bytes, or with MDB_RESERVE room for them (v->mv_data
 * set to it). */
static jk_err jk_table_put(jk_cap_store_txn *t, jk_cap_table table, const void *key, size_t klen, MDB_val *v,
                           unsigned flags, jk_diag *diag)
{
    MDB_dbi dbi = 0;
    jk_err err = jk_table_dbi(t, table, &dbi, diag);
    if (err != JK_OK)
        return err;
    if (t->readonly)
        return jk_diag_set(diag, JK_ERR_CAP_STORE, "store: a write in a read transaction");
    if (klen == 0 || klen > 511)
        return jk_diag_set(diag, JK_ERR_INVALID_ARG, "store: a key of %zu bytes", klen);
    MDB_val k = {klen, (void *)key};
    int rc = mdb_put(t->txn, dbi, &k, v, flags);
    return rc ? jk_cap_store_mdb_fail(diag, rc, "table put") : JK_OK;
}

jk_err jk_cap_txn_put(jk_cap_store_txn *t, jk_cap_table table, const void *key, size_t klen,
                      const void *val, size_t vlen, jk_diag *diag)
{
    MDB_val v = {vlen, (void *)val};
    return jk_table_put(t, table, key, klen, &v, 0, diag);
}

jk_err jk_cap_txn_reserve(jk_cap_store_txn *t, jk_cap_table table, const void *key, size_t klen, size_t vlen,
                          uint8_t **val, jk_diag *diag)
{
    MDB_val v = {vlen, NULL};
    jk_err err = jk_table_put(t, table, key, klen, &v, MDB_RESERVE, diag);
    if (err == JK_OK)
        *val = v.mv_data;
    return err;
}

jk_err jk_cap_txn_get(jk_cap_store_txn *t, jk_cap_table table, const void *key, size_t klen,
                      const uint8_t **val, size_t *vlen, jk_diag *diag)
{
    MDB_dbi dbi = 0;
    jk_err err = jk_table_dbi(t, table, &dbi, diag);
    if (err != JK_OK)
        return err;
    MDB_val k = {klen, (void *)key}, v;
    int rc = klen ? mdb_get(t->txn, dbi, &k, &v) : MDB_NOTFOUND;
    if (rc == MDB_NOTFOUND)
        return JK_ERR_CAP_MISSING;
    if (rc != 0)
        return jk_cap_store_mdb_fail(diag, rc, "table get");
    *val = v.mv_data;
    *vlen = v.mv_size;
    return JK_OK;
}

jk_err jk_cap_txn_del(jk_cap_store_txn *t, jk_cap_table table, const void *key, size_t klen,
                      jk_diag *diag)
{
    MDB_dbi dbi = 0;
    jk_err err = jk_table_dbi(t, table, &dbi, diag);
    if (err != JK_OK)
        return err;
    if (t->readonly)
        return jk_diag_set(diag, JK_ERR_CAP_STORE, "store: a write in a read transaction");
    MDB_val k = {klen, (void *)key};
    int rc = klen ? mdb_del(t->txn, dbi, &k, NULL) : MDB_NOTFOUND;
    if (rc == MDB_NOTFOUND)
        return JK_ERR_CAP_MISSING;
    return rc ? jk_cap_store_mdb_fail(diag, rc, "table delete") : JK_OK;
}

jk_err jk_cap_txn_seek(jk_cap_store_txn *t, jk_cap_table table, const void *key, size_t klen,
                       bool last, jk_cap_table_entry *out, jk_diag *diag)
{
    MDB_dbi dbi = 0;
    jk_err err = jk_table_dbi(t, table, &dbi, diag);
    if (err != JK_OK)
        return err;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(t->txn, dbi, &cur);
    if (rc != 0)
        return jk_cap_store_mdb_fail(diag, rc, "table cursor");
    MDB_val k = {klen, (void *)key}, v;
    rc = mdb_cursor_get(cur, &k, &v, last ? MDB_LAST : klen ? MDB_SET_RANGE : MDB_FIRST);
    mdb_cursor_close(cur);
    if (rc == MDB_NOTFOUND)
        return JK_ERR_CAP_MISSING;
    if (rc != 0)
        return jk_cap_store_mdb_fail(diag, rc, "table seek");
    out->key = k.mv_data;
    out->key_len = k.mv_size;
    out->val = v.mv_data;
    out->val_len = v.mv_size;
    return JK_OK;
}

jk_err jk_cap_txn_count(jk_cap_store_txn *t, jk_cap_table table, uint64_t *count, jk_diag *diag)
{
    MDB_dbi dbi = 0;
    jk_err err = jk_table_dbi(t, table, &dbi, diag);
    if (err != JK_OK)
        return err;
    MDB_stat st;
    int rc = mdb_stat(t->txn, dbi, &st);
    if (rc != 0)
        return jk_cap_store_mdb_fail(diag, rc, "table count");
    *count = st.ms_entries;
    return JK_OK;
}

