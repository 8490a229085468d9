/*
 * test_cap_batch.c — store batches and syncs (docs/cap.md "Store: syncs"):
 * commits inside a batch are read back at once and land together at its
 * end; a failing commit inside a batch (its row writer refuses, or the map
 * is full) leaves the batch and the head as they were; a durable write,
 * a table open and close end the batch; what each kind of write costs in
 * disk syncs; a read through an open batch refuses writes. The crash side
 * (a kill in the middle of a batch leaves a whole earlier head) is
 * test_cap_crash_kill_during_batches.
 */
#include "../test.h"

#include "jark/cap.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void tmpdir(char *dir, size_t n)
{
    snprintf(dir, n, "/tmp/jk_cap_batch_XXXXXX");
    if (!mkdtemp(dir))
        dir[0] = 0;
}

static void rmstore(const char *dir)
{
    char p[512];
    snprintf(p, sizeof p, "%s/data.mdb", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/lock.mdb", dir);
    unlink(p);
    rmdir(dir);
}

static jk_cap u64_data(uint64_t v)
{
    jk_cap d = jk_cap_null();
    jk_cap_data_new(&v, sizeof v, &d);
    return d;
}

/* A Data of `pages` pages that differ from every other call's. */
static jk_cap big_data(uint32_t pages, uint32_t seed)
{
    size_t n = (size_t)pages * 4096;
    uint8_t *b = malloc(n);
    uint32_t x = 2463534242u ^ seed;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        b[i] = (uint8_t)x;
    }
    jk_cap d = jk_cap_null();
    jk_cap_data_new(b, n, &d);
    free(b);
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

JK_TEST(test_cap_batch_commits_land_together)
{
    char dir[64];
    tmpdir(dir, sizeof dir);
    JK_REQUIRE(dir[0]);
    jk_cap_store *st;
    jk_diag diag = {{0}};
    JK_REQUIRE(jk_cap_store_open(dir, NULL, &st, &diag) == JK_OK);
    jk_cap_table t;
    JK_REQUIRE(jk_cap_store_table(st, "rows", &t, &diag) == JK_OK);
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
    rmstore(dir);
}

/* A commit that does not fit the map, inside a batch: it fails whole, the
 * batch's earlier commit stays and still lands. */
JK_TEST(test_cap_batch_map_full_keeps_batch)
{
    char dir[64];
    tmpdir(dir, sizeof dir);
    JK_REQUIRE(dir[0]);
    jk_cap_store *st;
    jk_diag diag = {{0}};
    jk_cap_store_options opt = {.map_size = 1 << 20};
    JK_REQUIRE(jk_cap_store_open(dir, &opt, &st, &diag) == JK_OK);
    jk_cap small = big_data(2, 1), next = big_data(2, 2), big = big_data(300, 3);
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
    jk_cap_release(small);
    jk_cap_release(next);
    jk_cap_release(big);
    rmstore(dir);
}

/* Durable writes end the batch first; close ends it; the sync counts. */
JK_TEST(test_cap_batch_durable_ends_it)
{
    char dir[64];
    tmpdir(dir, sizeof dir);
    JK_REQUIRE(dir[0]);
    jk_cap_store *st;
    jk_diag diag = {{0}};
    JK_REQUIRE(jk_cap_store_open(dir, NULL, &st, &diag) == JK_OK);
    jk_cap_table t;
    JK_REQUIRE(jk_cap_store_table(st, "rows", &t, &diag) == JK_OK);
    jk_cap a = u64_data(1), b = u64_data(2), c = u64_data(3);
    jk_cap_store_stats s0, s;
    jk_cap_store_stats_get(st, &s0);
    /* a head commit: one LMDB commit, one sync (the meta page waits) */
    JK_REQUIRE(jk_cap_store_commit(st, "main", a, NULL, &diag) == JK_OK);
    jk_cap_store_stats_get(st, &s);
    JK_CHECK_EQ(s.commits - s0.commits, 1);
    JK_CHECK_EQ(s.syncs - s0.syncs, 1);
    /* a durable write: its commit and the meta page's sync */
    row r = {t, "vote", JK_OK, false};
    s0 = s;
    JK_REQUIRE(jk_cap_store_write(st, put_row, &r, &diag) == JK_OK);
    jk_cap_store_stats_get(st, &s);
    JK_CHECK_EQ(s.commits - s0.commits, 1);
    JK_CHECK_EQ(s.syncs - s0.syncs, 2);
    /* a batch of two head commits: one commit, one sync */
    s0 = s;
    JK_REQUIRE(jk_cap_store_batch_begin(st, &diag) == JK_OK);
    JK_REQUIRE(jk_cap_store_commit(st, "main", b, NULL, &diag) == JK_OK);
    JK_REQUIRE(jk_cap_store_commit(st, "main", c, NULL, &diag) == JK_OK);
    jk_cap_store_stats_get(st, &s);
    JK_CHECK_EQ(s.syncs - s0.syncs, 0);
    /* a durable write in a batch ends it, then is durable itself */
    row r2 = {t, "vote2", JK_OK, false};
    JK_REQUIRE(jk_cap_store_write(st, put_row, &r2, &diag) == JK_OK);
    JK_CHECK(!jk_cap_store_in_batch(st));
    jk_cap_store_stats_get(st, &s);
    JK_CHECK_EQ(s.commits - s0.commits, 2);
    JK_CHECK_EQ(s.syncs - s0.syncs, 3);
    JK_CHECK_EQ(s.batched - s0.batched, 2);
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
    rmstore(dir);
}
