/*
 * test_cap_store.c — the LMDB store: commit and reopen, what a commit writes
 * after a small change (O(log) objects), raw put/get/has with their checks,
 * heads, corruption on disk noticed at load, and a full map that leaves the
 * store as it was.
 *
 * Batches and syncs (docs/cap.md "Store: syncs"): commits inside a batch are
 * read back at once and land together at its end; a failing commit inside a
 * batch (its row writer refuses, or the map is full) leaves the batch and
 * the head as they were; a durable write, a table open and close end the
 * batch; what each kind of write costs in disk syncs; a read through an open
 * batch refuses writes; a batch whose disk write fails (the file may not
 * grow: RLIMIT_FSIZE) is lost whole and the handle refuses writes until
 * reopened. The crash side (a kill in the middle of a batch
 * leaves a whole earlier head) is test_cap_crash_kill_during_batches.
 */
#include "../test.h"

#include "jark/cap.h"
#include "store_util.h"

#include <lmdb.h>
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <unistd.h>

static int64_t live(void)
{
    jk_cap_stats s;
    jk_cap_stats_get(&s);
    return s.live_objects;
}


static const uint8_t blob[] = {0x00, 0x00, 0x04, 0x01, 0x0A, 0x00, 0x00, 0x0B};

/* An Instance whose slot 20 holds a Data of `pages` distinct pages. */
static jk_cap state_value(uint32_t pages, jk_cap *data_out)
{
    size_t n = (size_t)pages * 4096;
    uint8_t *b = malloc(n);
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < n; i++) { /* xorshift32: no two pages alike */
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        b[i] = (uint8_t)x;
    }
    jk_cap d, cn, cn2, im, inst = jk_cap_null();
    jk_cap_data_new(b, n, &d);
    free(b);
    jk_cap_endpoint ep = {0};
    jk_cap_image_spec spec = {blob, sizeof blob, NULL, 0, &ep, 1, NULL, 0, 0};
    jk_cap_image_new(&spec, &im, NULL);
    jk_cap_cnode_new(8, &cn);
    jk_cap_cnode_set(cn, 20, d, &cn2);
    jk_cap_instance_genesis(im, cn2, &inst, NULL);
    jk_cap_release(cn);
    jk_cap_release(cn2);
    jk_cap_release(im);
    *data_out = d;
    return inst;
}

/* A fresh store (opt NULL: the defaults) in a new directory dir[64]; NULL
 * on failure. */
static jk_cap_store *open_fresh(char *dir, const jk_cap_store_options *opt)
{
    jk_cap_store *st = NULL;
    jk_ts_tmpdir(dir, 64);
    if (!dir[0] || jk_cap_store_open(dir, opt, &st, NULL) != JK_OK)
        return NULL;
    return st;
}

JK_TEST(test_cap_store_commit_reopen_load)
{
    int64_t before = live();
    char dir[64];
    jk_cap_store *st = open_fresh(dir, NULL);
    JK_REQUIRE(st);
    jk_diag diag = {{0}};
    jk_cap d, inst = state_value(1000, &d);
    uint64_t written = 0;
    JK_REQUIRE(jk_cap_store_commit(st, "main", inst, &written, &diag) == JK_OK);
    /* 1000 pages + 999 nodes + data root, the cnode path (8 nodes: 2
     * groups of 4 levels) + root, code data (1 page + root), image,
     * instance */
    JK_CHECK_EQ(written, 2000 + 3 + 2 + 1 + 1);
    JK_REQUIRE(jk_cap_store_commit(st, "main", inst, &written, &diag) == JK_OK);
    JK_CHECK_EQ(written, 0);

    /* a one-page change writes O(log) objects */
    uint8_t b = 1;
    jk_cap d2, cn, inst2;
    JK_REQUIRE(jk_cap_data_write(d, 777 * 4096 + 5, &b, 1, &d2) == JK_OK);
    JK_REQUIRE(jk_cap_cnode_set(jk_cap_instance_cnode(inst), 20, d2, &cn) == JK_OK);
    JK_REQUIRE(jk_cap_instance_with_cnode(inst, cn, &inst2, &diag) == JK_OK);
    JK_REQUIRE(jk_cap_store_commit(st, "main", inst2, &written, &diag) == JK_OK);
    JK_CHECK(written >= 3 && written <= 1 + 10 + 1 + 3 + 1);
    JK_REQUIRE(jk_cap_store_commit(st, "old", inst, &written, &diag) == JK_OK);
    JK_CHECK_EQ(written, 0);
    jk_cap_store_close(st);

    /* reopen: both heads, both values, contents intact */
    JK_REQUIRE(jk_cap_store_open(dir, NULL, &st, &diag) == JK_OK);
    jk_hash h_main, h_old, want;
    JK_REQUIRE(jk_cap_store_head(st, "main", &h_main, &diag) == JK_OK);
    JK_REQUIRE(jk_cap_store_head(st, "old", &h_old, &diag) == JK_OK);
    jk_cap_hash(inst2, &want);
    JK_CHECK_MEM(h_main.bytes, want.bytes, 32);
    jk_cap_hash(inst, &want);
    JK_CHECK_MEM(h_old.bytes, want.bytes, 32);
    jk_cap back;
    JK_REQUIRE(jk_cap_store_load(st, &h_main, &back, &diag) == JK_OK);
    JK_CHECK(jk_cap_equal(back, inst2));
    jk_cap bd = jk_cap_cnode_get(jk_cap_instance_cnode(back), 20);
    uint8_t got[2];
    JK_CHECK(jk_cap_data_read(bd, 777 * 4096 + 5, got, 1) == JK_OK);
    JK_CHECK_EQ(got[0], 1);
    jk_cap_release(back);

    JK_CHECK(jk_cap_store_head(st, "nope", &h_old, &diag) == JK_ERR_CAP_MISSING);
    JK_CHECK(jk_cap_store_head(st, "", &h_old, &diag) == JK_ERR_INVALID_ARG);
    JK_CHECK(jk_cap_store_commit(st, "x", jk_cap_null(), NULL, &diag) == JK_ERR_CAP_KIND);
    jk_cap_store_close(st);
    jk_cap caps[] = {d, inst, d2, cn, inst2};
    for (size_t i = 0; i < 5; i++)
        jk_cap_release(caps[i]);
    jk_ts_rmstore(dir);
    JK_CHECK_EQ(live(), before);
}

JK_TEST(test_cap_store_put_get_has)
{
    char dir[64];
    jk_cap_store *st = open_fresh(dir, NULL);
    JK_REQUIRE(st);
    jk_diag diag = {{0}};
    uint8_t page[10] = {0x02, 5, 0, 0, 0, 'h', 'e', 'l', 'l', 'o'};
    jk_hash h, want;
    jk_crypto_blake2b256(page, sizeof page, &want);
    bool present = true;
    JK_CHECK(jk_cap_store_has(st, &want, &present, &diag) == JK_OK);
    JK_CHECK(!present);
    JK_REQUIRE(jk_cap_store_put(st, page, sizeof page, &h, &diag) == JK_OK);
    JK_CHECK_MEM(h.bytes, want.bytes, 32);
    JK_CHECK(jk_cap_store_has(st, &h, &present, &diag) == JK_OK);
    JK_CHECK(present);
    uint8_t *bytes = NULL;
    size_t len = 0;
    JK_REQUIRE(jk_cap_store_get(st, &h, &bytes, &len, &diag) == JK_OK);
    JK_CHECK_EQ(len, sizeof page);
    JK_CHECK_MEM(bytes, page, sizeof page);
    free(bytes);
    /* a data record over that page is accepted; one over a missing page not */
    uint8_t rec[41] = {0x01, 5};
    memcpy(rec + 9, h.bytes, 32);
    JK_CHECK(jk_cap_store_put(st, rec, sizeof rec, NULL, &diag) == JK_OK);
    jk_hash rec_h;
    jk_crypto_blake2b256(rec, sizeof rec, &rec_h);
    jk_cap d;
    JK_REQUIRE(jk_cap_store_load(st, &rec_h, &d, &diag) == JK_OK);
    JK_CHECK_EQ(jk_cap_data_len(d), 5);
    jk_cap_release(d);
    rec[9] ^= 1;
    JK_CHECK(jk_cap_store_put(st, rec, sizeof rec, NULL, &diag) == JK_ERR_CAP_MISSING);
    /* malformed objects are refused */
    JK_CHECK(jk_cap_store_put(st, rec, 40, NULL, &diag) == JK_ERR_CAP_DECODE);
    JK_CHECK(jk_cap_store_put(st, (const uint8_t *)"\x09", 1, NULL, &diag) == JK_ERR_CAP_DECODE);
    jk_hash absent = {{9}};
    JK_CHECK(jk_cap_store_get(st, &absent, &bytes, &len, &diag) == JK_ERR_CAP_MISSING);
    JK_CHECK(jk_cap_store_load(st, &absent, &d, &diag) == JK_ERR_CAP_MISSING);
    jk_cap_store_close(st);
    jk_ts_rmstore(dir);
}

/* Bytes changed on disk behind the store's back are noticed at load. */
JK_TEST(test_cap_store_detects_corruption)
{
    int64_t before = live();
    char dir[64];
    jk_cap_store *st = open_fresh(dir, NULL);
    JK_REQUIRE(st);
    jk_diag diag = {{0}};
    jk_cap d, inst = state_value(4, &d);
    JK_REQUIRE(jk_cap_store_commit(st, "main", inst, NULL, &diag) == JK_OK);
    jk_cap_store_close(st);

    /* flip one byte of one page object, in place, with LMDB directly */
    jk_hash victim;
    const uint8_t *p2 = jk_cap_data_page(d, 2);
    uint8_t obj[5 + 4096] = {0x02, 0x00, 0x10};
    memcpy(obj + 5, p2, 4096);
    jk_crypto_blake2b256(obj, sizeof obj, &victim);
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    JK_REQUIRE(mdb_env_create(&env) == 0);
    mdb_env_set_maxdbs(env, 2);
    JK_REQUIRE(mdb_env_open(env, dir, 0, 0644) == 0);
    JK_REQUIRE(mdb_txn_begin(env, NULL, 0, &txn) == 0);
    JK_REQUIRE(mdb_dbi_open(txn, "objects", 0, &dbi) == 0);
    MDB_val k = {32, victim.bytes}, v;
    JK_REQUIRE(mdb_get(txn, dbi, &k, &v) == 0);
    obj[100] ^= 0x80;
    v.mv_data = obj;
    v.mv_size = sizeof obj;
    JK_REQUIRE(mdb_put(txn, dbi, &k, &v, 0) == 0);
    JK_REQUIRE(mdb_txn_commit(txn) == 0);
    mdb_env_close(env);

    JK_REQUIRE(jk_cap_store_open(dir, NULL, &st, &diag) == JK_OK);
    jk_hash head;
    JK_REQUIRE(jk_cap_store_head(st, "main", &head, &diag) == JK_OK);
    jk_cap back = jk_cap_null();
    JK_CHECK(jk_cap_store_load(st, &head, &back, &diag) == JK_ERR_CAP_CORRUPT);
    JK_CHECK(strstr(diag.msg, "hash to") != NULL);
    JK_CHECK(jk_cap_is_null(back));
    uint8_t *bytes;
    size_t len;
    JK_CHECK(jk_cap_store_get(st, &victim, &bytes, &len, &diag) == JK_ERR_CAP_CORRUPT);
    jk_cap_store_close(st);
    jk_cap_release(d);
    jk_cap_release(inst);
    jk_ts_rmstore(dir);
    JK_CHECK_EQ(live(), before);
}

/* A commit that does not fit fails whole: the head and objects stay. */
JK_TEST(test_cap_store_map_full_is_atomic)
{
    int64_t before = live();
    char dir[64];
    jk_cap_store_options opt = {.map_size = 1 << 20};
    jk_cap_store *st = open_fresh(dir, &opt);
    JK_REQUIRE(st);
    jk_diag diag = {{0}};
    jk_cap d1, small = state_value(2, &d1), d2, big = state_value(300, &d2);
    JK_REQUIRE(jk_cap_store_commit(st, "main", small, NULL, &diag) == JK_OK);
    JK_CHECK(jk_cap_store_commit(st, "main", big, NULL, &diag) == JK_ERR_CAP_STORE_FULL);
    JK_CHECK(strstr(diag.msg, "MDB_MAP_FULL") != NULL);
    jk_hash head, want, h2;
    JK_REQUIRE(jk_cap_store_head(st, "main", &head, &diag) == JK_OK);
    jk_cap_hash(small, &want);
    JK_CHECK_MEM(head.bytes, want.bytes, 32);
    bool present = true;
    jk_cap_hash(d2, &h2);
    JK_CHECK(jk_cap_store_has(st, &h2, &present, &diag) == JK_OK);
    JK_CHECK(!present);
    jk_cap back;
    JK_CHECK(jk_cap_store_load(st, &head, &back, &diag) == JK_OK);
    jk_cap_release(back);
    jk_cap_store_close(st);
    jk_cap caps[] = {d1, small, d2, big};
    for (size_t i = 0; i < 4; i++)
        jk_cap_release(caps[i]);
    jk_ts_rmstore(dir);
    JK_CHECK_EQ(live(), before);
}

/* ---- batches and syncs ---- */

static jk_cap u64_data(uint64_t v)
{
    jk_cap d = jk_cap_null();
    jk_cap_data_new(&v, sizeof v, &d);
    return d;
}

static bool head_is(jk_cap_store *st, jk_cap want)
{
    jk_hash h, w;
    jk_cap_hash(want, &w);
    return jk_cap_store_head(st, "main", &h, NULL) == JK_OK && !memcmp(h.bytes, w.bytes, 32);
}

typedef struct row {
    jk_cap_table t;
    const char *key;
    jk_err fail;
    bool found;
} row;

static jk_err put_row(void *ctx, jk_cap_store_txn *txn, jk_diag *diag)
{
    row *r = ctx;
    jk_err err = jk_cap_txn_put(txn, r->t, r->key, strlen(r->key), "v", 1, diag);
    return err != JK_OK ? err : r->fail;
}

static jk_err get_row(void *ctx, jk_cap_store_txn *txn, jk_diag *diag)
{
    row *r = ctx;
    const uint8_t *v;
    size_t n;
    jk_err err = jk_cap_txn_get(txn, r->t, r->key, strlen(r->key), &v, &n, diag);
    r->found = err == JK_OK;
    return err == JK_ERR_CAP_MISSING ? JK_OK : err;
}

/* A fresh store in a new directory dir[64] with the table "rows" open;
 * NULL on failure. */
static jk_cap_store *open_rows(char *dir, jk_cap_table *t)
{
    jk_cap_store *st = open_fresh(dir, NULL);
    if (st && jk_cap_store_table(st, "rows", t, NULL) != JK_OK) {
        jk_cap_store_close(st);
        return NULL;
    }
    return st;
}

JK_TEST(test_cap_batch_commits_land_together)
{
    char dir[64];
    jk_cap_table t;
    jk_cap_store *st = open_rows(dir, &t);
    JK_REQUIRE(st);
    jk_diag diag = {{0}};
    jk_cap a = u64_data(1), b = u64_data(2), c = u64_data(3), d = u64_data(4);
    JK_REQUIRE(jk_cap_store_commit(st, "main", a, NULL, &diag) == JK_OK);

    JK_REQUIRE(jk_cap_store_batch_begin(st, &diag) == JK_OK);
    JK_CHECK(jk_cap_store_in_batch(st));
    row rb = {t, "b", JK_OK, false};
    JK_CHECK_EQ(jk_cap_store_commit_with(st, "main", b, put_row, &rb, NULL, &diag), JK_OK);
    JK_CHECK(head_is(st, b)); /* read through the batch */
    row seen = {t, "b", JK_OK, false};
    JK_CHECK_EQ(jk_cap_store_read(st, get_row, &seen, &diag), JK_OK);
    JK_CHECK(seen.found);
    /* a read inside the batch does not write */
    row sneak = {t, "x", JK_OK, false};
    JK_CHECK_EQ(jk_cap_store_read(st, put_row, &sneak, &diag), JK_ERR_CAP_STORE);
    /* a commit whose row writer fails: the batch is as it was */
    row bad = {t, "c", JK_ERR_INVALID_ARG, false};
    JK_CHECK_EQ(jk_cap_store_commit_with(st, "main", c, put_row, &bad, NULL, &diag),
                JK_ERR_INVALID_ARG);
    JK_CHECK(head_is(st, b));
    row rc = {t, "c", JK_OK, false};
    JK_CHECK_EQ(jk_cap_store_read(st, get_row, &rc, &diag), JK_OK);
    JK_CHECK(!rc.found);
    JK_CHECK(jk_cap_store_in_batch(st));
    JK_CHECK_EQ(jk_cap_store_commit(st, "main", d, NULL, &diag), JK_OK);
    jk_cap_store_stats s;
    jk_cap_store_stats_get(st, &s);
    JK_CHECK_EQ(s.in_batch, 2);
    JK_CHECK_EQ(jk_cap_store_batch_end(st, &diag), JK_OK);
    JK_CHECK(!jk_cap_store_in_batch(st));
    jk_cap_store_stats_get(st, &s);
    JK_CHECK_EQ(s.in_batch, 0);
    JK_CHECK_EQ(s.batched, 2);
    jk_cap_store_close(st);

    JK_REQUIRE(jk_cap_store_open(dir, NULL, &st, &diag) == JK_OK);
    JK_REQUIRE(jk_cap_store_table(st, "rows", &t, &diag) == JK_OK);
    JK_CHECK(head_is(st, d));
    row again = {t, "b", JK_OK, false};
    JK_CHECK_EQ(jk_cap_store_read(st, get_row, &again, &diag), JK_OK);
    JK_CHECK(again.found);
    jk_cap_store_close(st);
    jk_cap caps[] = {a, b, c, d};
    for (size_t i = 0; i < 4; i++)
        jk_cap_release(caps[i]);
    jk_ts_rmstore(dir);
}

/* A commit that does not fit the map, inside a batch: it fails whole, the
 * batch's earlier commit stays and still lands. */
JK_TEST(test_cap_batch_map_full_keeps_batch)
{
    char dir[64];
    jk_cap_store_options opt = {.map_size = 1 << 20};
    jk_cap_store *st = open_fresh(dir, &opt);
    JK_REQUIRE(st);
    jk_diag diag = {{0}};
    jk_cap d1, small = state_value(2, &d1), d2, next = state_value(3, &d2), d3,
                 big = state_value(300, &d3);
    JK_REQUIRE(jk_cap_store_commit(st, "main", small, NULL, &diag) == JK_OK);
    JK_REQUIRE(jk_cap_store_batch_begin(st, &diag) == JK_OK);
    JK_REQUIRE(jk_cap_store_commit(st, "main", next, NULL, &diag) == JK_OK);
    JK_CHECK_EQ(jk_cap_store_commit(st, "main", big, NULL, &diag), JK_ERR_CAP_STORE_FULL);
    JK_CHECK(head_is(st, next));
    bool present = true;
    jk_hash hb;
    jk_cap_hash(big, &hb);
    JK_CHECK_EQ(jk_cap_store_has(st, &hb, &present, &diag), JK_OK);
    JK_CHECK(!present);
    JK_CHECK_EQ(jk_cap_store_batch_end(st, &diag), JK_OK);
    jk_cap_store_close(st);
    JK_REQUIRE(jk_cap_store_open(dir, &opt, &st, &diag) == JK_OK);
    JK_CHECK(head_is(st, next));
    jk_hash h;
    jk_cap back;
    JK_REQUIRE(jk_cap_store_head(st, "main", &h, &diag) == JK_OK);
    JK_CHECK_EQ(jk_cap_store_load(st, &h, &back, &diag), JK_OK);
    JK_CHECK(jk_cap_equal(back, next));
    jk_cap_release(back);
    jk_cap_store_close(st);
    jk_cap caps[] = {d1, small, d2, next, d3, big};
    for (size_t i = 0; i < 6; i++)
        jk_cap_release(caps[i]);
    jk_ts_rmstore(dir);
}

/* Durable writes end the batch first; close ends it; the sync counts. */
/* Since *s0: `commits` LMDB commits and `syncs` disk syncs; *s0 = now. */
static void costs(jk_cap_store *st, jk_cap_store_stats *s0, uint64_t commits, uint64_t syncs)
{
    jk_cap_store_stats s;
    jk_cap_store_stats_get(st, &s);
    JK_CHECK_EQ(s.commits - s0->commits, commits);
    JK_CHECK_EQ(s.syncs - s0->syncs, syncs);
    *s0 = s;
}

JK_TEST(test_cap_batch_durable_ends_it)
{
    char dir[64];
    jk_cap_table t;
    jk_cap_store *st = open_rows(dir, &t);
    JK_REQUIRE(st);
    jk_diag diag = {{0}};
    jk_cap a = u64_data(1), b = u64_data(2), c = u64_data(3);
    jk_cap_store_stats s0;
    jk_cap_store_stats_get(st, &s0);
    /* a head commit: one LMDB commit, one sync (the meta page waits) */
    JK_REQUIRE(jk_cap_store_commit(st, "main", a, NULL, &diag) == JK_OK);
    costs(st, &s0, 1, 1);
    /* a durable write: its commit and the meta page's sync */
    row r = {t, "vote", JK_OK, false};
    JK_REQUIRE(jk_cap_store_write(st, put_row, &r, &diag) == JK_OK);
    costs(st, &s0, 1, 2);
    /* a batch of two head commits: nothing on disk until it ends */
    uint64_t batched = s0.batched;
    JK_REQUIRE(jk_cap_store_batch_begin(st, &diag) == JK_OK);
    JK_REQUIRE(jk_cap_store_commit(st, "main", b, NULL, &diag) == JK_OK);
    JK_REQUIRE(jk_cap_store_commit(st, "main", c, NULL, &diag) == JK_OK);
    costs(st, &s0, 0, 0);
    /* a durable write in a batch ends it (one commit, one sync), then is
     * durable itself (one commit, two syncs) */
    row r2 = {t, "vote2", JK_OK, false};
    JK_REQUIRE(jk_cap_store_write(st, put_row, &r2, &diag) == JK_OK);
    JK_CHECK(!jk_cap_store_in_batch(st));
    costs(st, &s0, 2, 3);
    JK_CHECK_EQ(s0.batched - batched, 2);
    /* jk_cap_store_put and table opens end a batch too */
    JK_REQUIRE(jk_cap_store_batch_begin(st, &diag) == JK_OK);
    uint8_t obj[64];
    size_t olen = 0;
    {
        jk_cap d = u64_data(77);
        uint8_t *bytes;
        size_t n;
        jk_hash h;
        JK_REQUIRE(jk_cap_store_commit(st, "other", d, NULL, &diag) == JK_OK);
        jk_cap_hash(d, &h);
        JK_REQUIRE(jk_cap_store_get(st, &h, &bytes, &n, &diag) == JK_OK); /* through the batch */
        JK_REQUIRE(n <= sizeof obj);
        memcpy(obj, bytes, n);
        olen = n;
        free(bytes);
        jk_cap_release(d);
    }
    JK_CHECK_EQ(jk_cap_store_put(st, obj, olen, NULL, &diag), JK_OK);
    JK_CHECK(!jk_cap_store_in_batch(st));
    JK_REQUIRE(jk_cap_store_batch_begin(st, &diag) == JK_OK);
    jk_cap_table t2;
    JK_CHECK_EQ(jk_cap_store_table(st, "more", &t2, &diag), JK_OK);
    JK_CHECK(!jk_cap_store_in_batch(st));
    /* close ends an open batch: its commit is there after a reopen */
    JK_REQUIRE(jk_cap_store_batch_begin(st, &diag) == JK_OK);
    jk_cap e = u64_data(5);
    JK_REQUIRE(jk_cap_store_commit(st, "main", e, NULL, &diag) == JK_OK);
    JK_CHECK_EQ(jk_cap_store_sync(st, &diag), JK_OK);
    JK_CHECK(!jk_cap_store_in_batch(st));
    jk_cap f = u64_data(6);
    JK_REQUIRE(jk_cap_store_batch_begin(st, &diag) == JK_OK);
    JK_REQUIRE(jk_cap_store_commit(st, "main", f, NULL, &diag) == JK_OK);
    jk_cap_store_close(st);
    JK_REQUIRE(jk_cap_store_open(dir, NULL, &st, &diag) == JK_OK);
    JK_CHECK(head_is(st, f));
    jk_cap_store_close(st);
    jk_cap caps[] = {a, b, c, e, f};
    for (size_t i = 0; i < 5; i++)
        jk_cap_release(caps[i]);
    jk_ts_rmstore(dir);
}

/* Fault injection: the batch's commit cannot write (RLIMIT_FSIZE at the
 * file's size: every write that would grow it fails with EFBIG). */
JK_TEST(test_cap_batch_failed_write_loses_batch_whole)
{
    char dir[64], path[96];
    jk_cap_store *st = open_fresh(dir, NULL);
    JK_REQUIRE(st);
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    jk_diag diag = {{0}};
    jk_cap d1, first = state_value(2, &d1), d2, second = state_value(60, &d2), d3,
                  third = state_value(3, &d3);
    JK_REQUIRE(jk_cap_store_commit(st, "main", first, NULL, &diag) == JK_OK);
    JK_REQUIRE(jk_cap_store_batch_begin(st, &diag) == JK_OK);
    JK_REQUIRE(jk_cap_store_commit(st, "main", second, NULL, &diag) == JK_OK);
    FILE *f = fopen(path, "rb");
    JK_REQUIRE(f && fseek(f, 0, SEEK_END) == 0);
    long size = ftell(f);
    fclose(f);
    struct rlimit old, lim;
    JK_REQUIRE(getrlimit(RLIMIT_FSIZE, &old) == 0);
    lim = old;
    lim.rlim_cur = (rlim_t)size;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    JK_REQUIRE(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    jk_err err = jk_cap_store_batch_end(st, &diag);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, prev);
    JK_CHECK_EQ(err, JK_ERR_CAP_STORE);
    JK_CHECK(!jk_cap_store_in_batch(st));
    JK_CHECK(head_is(st, first)); /* the batch is gone, the head before it stays */
    JK_CHECK_EQ(jk_cap_store_commit(st, "main", third, NULL, &diag), JK_ERR_CAP_STORE);
    JK_CHECK(strstr(diag.msg, "reopen the store") != NULL);
    jk_cap_store_close(st);
    JK_REQUIRE(jk_cap_store_open(dir, NULL, &st, &diag) == JK_OK);
    JK_CHECK(head_is(st, first));
    jk_hash h;
    jk_cap back;
    JK_REQUIRE(jk_cap_store_head(st, "main", &h, &diag) == JK_OK);
    JK_CHECK_EQ(jk_cap_store_load(st, &h, &back, &diag), JK_OK);
    jk_cap_release(back);
    JK_CHECK_EQ(jk_cap_store_commit(st, "main", third, NULL, &diag), JK_OK);
    jk_cap_store_close(st);
    jk_cap caps[] = {d1, first, d2, second, d3, third};
    for (size_t i = 0; i < 6; i++)
        jk_cap_release(caps[i]);
    jk_ts_rmstore(dir);
}
