/*
 * test_cap_store_known.c — the written-keys filter (docs/cap.md "Store: the
 * written-keys filter", src/cap/store_known.c): head commits answer has()
 * from the keys earlier commits of the handle wrote or found, and that never
 * changes what is stored.
 *
 * - a commit that failed (its row writer refused: the transaction aborted)
 *   teaches the filter nothing: committing the same value next writes every
 *   object it lacks (a filter that learnt the aborted puts would skip them
 *   and lose the subtree);
 * - a handle kept open (the filter answering) and one reopened before every
 *   commit (an empty filter: every answer from LMDB) end with the same
 *   objects table, key for key and byte for byte, and each commit wrote the
 *   same number of objects, across more keys than one generation of the
 *   filter holds (so that it rotated);
 * - a value whose keys the filter dropped long ago is still found present
 *   (written 0) and loads.
 *
 * And the objects' key order (store.c, jk_key_cmp): a store written through
 * jark reads with LMDB's default comparison — keys in strictly increasing
 * memcmp order, each found by a default-order search — so a store written
 * before the comparison changed, or read by another LMDB program, is the
 * same B-tree.
 */
#include "../test.h"

#include "jark/cap.h"
#include "store_util.h"

#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>

static int64_t live(void)
{
    jk_cap_stats s;
    jk_cap_stats_get(&s);
    return s.live_objects;
}

/* A CNode of 2^12 slots, slot i holding the 8-byte Data seed * 4096 + i:
 * ~4,400 objects, none shared with another seed's. */
static jk_cap wide(uint64_t seed)
{
    jk_cap cn = jk_cap_null();
    jk_cap_cnode_new(12, &cn);
    for (uint32_t i = 0; i < 4096; i++) {
        uint64_t v = seed * 4096 + i;
        jk_cap d = jk_cap_null(), next = jk_cap_null();
        jk_cap_data_new(&v, sizeof v, &d);
        jk_cap_cnode_set(cn, i, d, &next);
        jk_cap_release(d);
        jk_cap_release(cn);
        cn = next;
    }
    return cn;
}

/* wide(), each Data boxed in a CNode of one slot: the Data is then a
 * record of its own (layout 3 holds a small Data only in a group that
 * names it, and a one-slot CNode has no group), so the store gets more
 * than 8,192 records. */
static jk_cap wide_boxed(uint64_t seed)
{
    jk_cap cn = jk_cap_null();
    jk_cap_cnode_new(12, &cn);
    for (uint32_t i = 0; i < 4096; i++) {
        uint64_t v = seed * 4096 + i;
        jk_cap d = jk_cap_null(), box = jk_cap_null(), boxed = jk_cap_null(), next = jk_cap_null();
        jk_cap_data_new(&v, sizeof v, &d);
        jk_cap_cnode_new(0, &box);
        jk_cap_cnode_set(box, 0, d, &boxed);
        jk_cap_cnode_set(cn, i, boxed, &next);
        jk_cap_release(d);
        jk_cap_release(box);
        jk_cap_release(boxed);
        jk_cap_release(cn);
        cn = next;
    }
    return cn;
}

/* cn with slot `slot` replaced by the Data v. */
static jk_cap with_slot(jk_cap cn, uint32_t slot, uint64_t v)
{
    jk_cap d = jk_cap_null(), out = jk_cap_null();
    jk_cap_data_new(&v, sizeof v, &d);
    jk_cap_cnode_set(cn, slot, d, &out);
    jk_cap_release(d);
    return out;
}

static jk_err refuse(void *ctx, jk_cap_store_txn *txn, jk_diag *diag)
{
    (void)ctx;
    (void)txn;
    return jk_diag_set(diag, JK_ERR_INVALID_ARG, "refused");
}

static jk_cap_store *open_dir(const char *dir)
{
    jk_cap_store *st = NULL;
    return jk_cap_store_open(dir, NULL, &st, NULL) == JK_OK ? st : NULL;
}

static bool loads_as(jk_cap_store *st, jk_cap want)
{
    jk_hash h;
    jk_cap back = jk_cap_null();
    bool ok = jk_cap_store_head(st, "main", &h, NULL) == JK_OK &&
              jk_cap_store_load(st, &h, &back, NULL) == JK_OK && jk_cap_equal(back, want);
    jk_cap_release(back);
    return ok;
}

JK_TEST(test_cap_store_known_failed_commit_teaches_nothing)
{
    int64_t before = live();
    char dir[64], ref[64];
    jk_ts_tmpdir(dir, sizeof dir);
    jk_ts_tmpdir(ref, sizeof ref);
    JK_REQUIRE(dir[0] && ref[0]);
    jk_cap_store *st = open_dir(dir), *rs = open_dir(ref);
    JK_REQUIRE(st && rs);
    jk_diag diag = {{0}};
    jk_cap a = wide(1), b = with_slot(a, 77, 1u << 30), c = with_slot(b, 3000, 1u << 31);
    /* the reference: what committing b after a writes */
    uint64_t want = 0, got = 0;
    JK_REQUIRE(jk_cap_store_commit(rs, "main", a, NULL, &diag) == JK_OK);
    JK_REQUIRE(jk_cap_store_commit(rs, "main", b, &want, &diag) == JK_OK);
    JK_CHECK(want >= 3); /* the new Data, the group records on its path, the root */

    JK_REQUIRE(jk_cap_store_commit(st, "main", a, NULL, &diag) == JK_OK);
    JK_CHECK_EQ(jk_cap_store_commit_with(st, "main", b, refuse, NULL, NULL, &diag), JK_ERR_INVALID_ARG);
    JK_CHECK_EQ(jk_cap_store_commit(st, "main", b, &got, &diag), JK_OK);
    JK_CHECK_EQ(got, want);
    /* and the filter does answer for what did commit: c shares all but a
     * path with b */
    jk_cap_store_stats s0, s1;
    jk_cap_store_stats_get(st, &s0);
    JK_CHECK_EQ(jk_cap_store_commit(st, "main", c, &got, &diag), JK_OK);
    jk_cap_store_stats_get(st, &s1);
    JK_CHECK(s1.has_known > s0.has_known);
    JK_CHECK(s1.has_present - s0.has_present >= s1.has_known - s0.has_known);
    jk_cap_store_close(st);
    JK_REQUIRE((st = open_dir(dir)) != NULL);
    JK_CHECK(loads_as(st, c));
    jk_hash hb;
    bool present = false;
    jk_cap_hash(b, &hb);
    JK_CHECK_EQ(jk_cap_store_has(st, &hb, &present, &diag), JK_OK);
    JK_CHECK(present);
    jk_cap_store_close(st);
    jk_cap_store_close(rs);
    jk_cap caps[] = {a, b, c};
    for (size_t i = 0; i < 3; i++)
        jk_cap_release(caps[i]);
    jk_ts_rmstore(dir);
    jk_ts_rmstore(ref);
    JK_CHECK_EQ(live(), before);
}

/* Every (key, value) of the "objects" database of the store in dir, in key
 * order, as one byte string (key ‖ value length u32 ‖ value)*. */
static uint8_t *objects_dump(const char *dir, size_t *len)
{
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_dbi dbi;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    uint8_t *out = NULL;
    size_t n = 0, room = 0;
    *len = 0;
    if (mdb_env_create(&env) || mdb_env_set_maxdbs(env, 16) || mdb_env_open(env, dir, MDB_RDONLY, 0644) ||
        mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) || mdb_dbi_open(txn, "objects", 0, &dbi) ||
        mdb_cursor_open(txn, dbi, &cur))
        goto done;
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        size_t need = n + k.mv_size + 4 + v.mv_size;
        if (need > room) {
            room = 2 * need;
            uint8_t *p = realloc(out, room);
            if (!p)
                goto done;
            out = p;
        }
        memcpy(out + n, k.mv_data, k.mv_size);
        n += k.mv_size;
        uint32_t vl = (uint32_t)v.mv_size;
        memcpy(out + n, &vl, 4);
        n += 4;
        memcpy(out + n, v.mv_data, v.mv_size);
        n += v.mv_size;
    }
    *len = n;
done:
    if (cur)
        mdb_cursor_close(cur);
    if (txn)
        mdb_txn_abort(txn);
    if (env)
        mdb_env_close(env);
    return out;
}

JK_TEST(test_cap_store_known_changes_nothing_stored)
{
    int64_t before = live();
    char kept[64], fresh[64];
    jk_ts_tmpdir(kept, sizeof kept);
    jk_ts_tmpdir(fresh, sizeof fresh);
    JK_REQUIRE(kept[0] && fresh[0]);
    jk_cap_store *ks = open_dir(kept);
    JK_REQUIRE(ks);
    jk_diag diag = {{0}};
    /* 6 wide values (~26,000 keys: more than one generation of the filter
     * holds, so it rotates) each followed by two small changes, then the
     * first value again: its keys left the filter long ago */
    enum { ROUNDS = 6 };
    jk_cap vals[3 * ROUNDS + 1];
    size_t nv = 0;
    for (uint64_t r = 0; r < ROUNDS; r++) {
        vals[nv] = wide(r + 10);
        vals[nv + 1] = with_slot(vals[nv], (uint32_t)(r * 101 % 4096), r);
        vals[nv + 2] = with_slot(vals[nv + 1], (uint32_t)(r * 577 % 4096), r + 1000);
        nv += 3;
    }
    vals[nv++] = jk_cap_retain(vals[0]);
    uint64_t known = 0;
    for (size_t i = 0; i < nv; i++) {
        uint64_t wk = 0, wf = 0;
        jk_cap_store_stats s0, s1;
        jk_cap_store_stats_get(ks, &s0);
        JK_REQUIRE(jk_cap_store_commit(ks, "main", vals[i], &wk, &diag) == JK_OK);
        jk_cap_store_stats_get(ks, &s1);
        known += s1.has_known - s0.has_known;
        jk_cap_store *fs = open_dir(fresh);
        JK_REQUIRE(fs);
        JK_REQUIRE(jk_cap_store_commit(fs, "main", vals[i], &wf, &diag) == JK_OK);
        jk_cap_store_stats_get(fs, &s1);
        JK_CHECK_EQ(s1.has_known, 0);
        jk_cap_store_close(fs);
        JK_CHECK_EQ(wk, wf);
        if (i == nv - 1)
            JK_CHECK_EQ(wk, 0); /* the first value: all present */
    }
    JK_CHECK(known > 0);
    JK_CHECK(loads_as(ks, vals[0]));
    jk_cap_store_close(ks);
    size_t lk, lf;
    uint8_t *dk = objects_dump(kept, &lk), *df = objects_dump(fresh, &lf);
    JK_REQUIRE(dk && df);
    JK_CHECK_EQ(lk, lf);
    JK_CHECK(lk == lf && memcmp(dk, df, lk) == 0);
    free(dk);
    free(df);
    for (size_t i = 0; i < nv; i++)
        jk_cap_release(vals[i]);
    jk_ts_rmstore(kept);
    jk_ts_rmstore(fresh);
    JK_CHECK_EQ(live(), before);
}

JK_TEST(test_cap_store_key_order_is_lmdb_default)
{
    int64_t before = live();
    char dir[64];
    jk_ts_tmpdir(dir, sizeof dir);
    JK_REQUIRE(dir[0]);
    jk_cap_store *st = open_dir(dir);
    JK_REQUIRE(st);
    jk_cap a = wide_boxed(7), b = with_slot(a, 4000, 99);
    JK_REQUIRE(jk_cap_store_commit(st, "main", a, NULL, NULL) == JK_OK);
    JK_REQUIRE(jk_cap_store_commit(st, "main", b, NULL, NULL) == JK_OK);
    jk_cap_store_close(st);

    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_dbi dbi;
    MDB_cursor *cur = NULL;
    JK_REQUIRE(mdb_env_create(&env) == 0 && mdb_env_set_maxdbs(env, 16) == 0 &&
               mdb_env_open(env, dir, MDB_RDONLY, 0644) == 0 && mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) == 0 &&
               mdb_dbi_open(txn, "objects", 0, &dbi) == 0 && mdb_cursor_open(txn, dbi, &cur) == 0);
    MDB_val k, v, prev = {0, NULL};
    size_t n = 0, unordered = 0, lost = 0;
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (prev.mv_data && (k.mv_size != 32 || memcmp(prev.mv_data, k.mv_data, 32) >= 0))
            unordered++;
        MDB_val kk = k, vv;
        if (mdb_get(txn, dbi, &kk, &vv) != 0 || vv.mv_size != v.mv_size)
            lost++;
        prev = k;
        n++;
    }
    JK_CHECK(n > 4096);
    JK_CHECK_EQ(unordered, 0);
    JK_CHECK_EQ(lost, 0);
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    mdb_env_close(env);
    /* and back through jark */
    JK_REQUIRE((st = open_dir(dir)) != NULL);
    JK_CHECK(loads_as(st, b));
    jk_cap_store_close(st);
    jk_cap_release(a);
    jk_cap_release(b);
    jk_ts_rmstore(dir);
    JK_CHECK_EQ(live(), before);
}
