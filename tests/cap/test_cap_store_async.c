/*
 * test_cap_store_async.c — head commits on the store's writer thread
 * (jk_cap_store_commit_async, docs/cap.md "Store: commits on a writer
 * thread"): the commit and its table rows land whole and durable, every
 * later call of the handle sees them, a commit inside a batch runs on the
 * caller's thread, and a failed one sticks (later writes refused, the store
 * as before it).
 */
#include "../progs.h"
#include "../test.h"

#include "jark/cap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct arow {
    jk_cap_table t;
    const char *key;
    jk_err fail;       /* returned after the put */
    int *freed;        /* ctx_free counts here */
} arow;

static jk_err arow_put(void *ctx, jk_cap_store_txn *txn, jk_diag *diag)
{
    arow *r = ctx;
    jk_err err = jk_cap_txn_put(txn, r->t, r->key, strlen(r->key), "v", 1, diag);
    return err != JK_OK ? err : r->fail;
}

static void arow_free(void *ctx)
{
    arow *r = ctx;
    (*r->freed)++;
}

typedef struct aget {
    jk_cap_table t;
    const char *key;
    bool found;
} aget;

static jk_err arow_get(void *ctx, jk_cap_store_txn *txn, jk_diag *diag)
{
    aget *g = ctx;
    const uint8_t *v;
    size_t n;
    jk_err err = jk_cap_txn_get(txn, g->t, g->key, strlen(g->key), &v, &n, diag);
    g->found = err == JK_OK;
    return err == JK_ERR_CAP_MISSING ? JK_OK : err;
}

static jk_cap adata(const char *s)
{
    jk_cap c = jk_cap_null();
    JK_CHECK_EQ(jk_cap_data_new((const uint8_t *)s, strlen(s), &c), JK_OK);
    return c;
}

JK_TEST(test_cap_store_async_commit)
{
    char dir[256];
    JK_REQUIRE(jk_test_tmpdir("store-async", dir, sizeof dir));
    jk_cap_store *s = NULL;
    jk_diag diag = {{0}};
    JK_REQUIRE(jk_cap_store_open(dir, NULL, &s, &diag) == JK_OK);
    jk_cap_table t;
    JK_REQUIRE(jk_cap_store_table(s, "rows", &t, &diag) == JK_OK);
    int freed = 0;

    /* queued, then seen by the next read: head, object and row */
    jk_cap a = adata("first value");
    jk_hash ha, got;
    jk_cap_hash(a, &ha);
    arow r1 = {t, "one", JK_OK, &freed};
    JK_CHECK_EQ(jk_cap_store_commit_async(s, "head", a, arow_put, &r1, arow_free, &diag), JK_OK);
    jk_cap_release(a); /* the job holds its own reference */
    JK_CHECK_EQ(jk_cap_store_head(s, "head", &got, &diag), JK_OK);
    JK_CHECK_MEM(got.bytes, ha.bytes, 32);
    JK_CHECK_EQ(freed, 1);
    bool present = false;
    JK_CHECK_EQ(jk_cap_store_has(s, &ha, &present, &diag), JK_OK);
    JK_CHECK(present);
    aget g = {t, "one", false};
    JK_CHECK_EQ(jk_cap_store_read(s, arow_get, &g, &diag), JK_OK);
    JK_CHECK(g.found);
    /* durable when done: nothing left for a flush to sync */
    jk_cap_store_stats st0, st1;
    JK_CHECK_EQ(jk_cap_store_wait(s, &diag), JK_OK);
    jk_cap_store_stats_get(s, &st0);
    JK_CHECK_EQ(jk_cap_store_flush(s, &diag), JK_OK);
    jk_cap_store_stats_get(s, &st1);
    JK_CHECK_EQ(st1.syncs, st0.syncs);

    /* inside a batch: runs here, a nested commit (no disk write) */
    JK_CHECK_EQ(jk_cap_store_batch_begin(s, &diag), JK_OK);
    jk_cap b = adata("second value");
    jk_hash hb;
    jk_cap_hash(b, &hb);
    arow r2 = {t, "two", JK_OK, &freed};
    JK_CHECK_EQ(jk_cap_store_commit_async(s, "head", b, arow_put, &r2, arow_free, &diag), JK_OK);
    JK_CHECK_EQ(freed, 2);
    jk_cap_store_stats_get(s, &st0);
    JK_CHECK_EQ(st0.in_batch, 1);
    JK_CHECK_EQ(jk_cap_store_batch_end(s, &diag), JK_OK);
    jk_cap_release(b);

    /* a failing job: nothing of it lands, and every later write refuses */
    jk_cap c = adata("third value");
    arow r3 = {t, "three", JK_ERR_INVALID_ARG, &freed};
    JK_CHECK_EQ(jk_cap_store_commit_async(s, "head", c, arow_put, &r3, arow_free, &diag), JK_OK);
    jk_cap_release(c);
    memset(&diag, 0, sizeof diag);
    JK_CHECK_EQ(jk_cap_store_wait(s, &diag), JK_ERR_INVALID_ARG);
    JK_CHECK(strstr(diag.msg, "reopen the store") != NULL);
    JK_CHECK_EQ(freed, 3);
    JK_CHECK_EQ(jk_cap_store_head(s, "head", &got, &diag), JK_OK);
    JK_CHECK_MEM(got.bytes, hb.bytes, 32);
    g.key = "three";
    JK_CHECK_EQ(jk_cap_store_read(s, arow_get, &g, &diag), JK_OK);
    JK_CHECK(!g.found);
    jk_cap d = adata("fourth value");
    arow r4 = {t, "four", JK_OK, &freed};
    JK_CHECK_EQ(jk_cap_store_commit_async(s, "head", d, arow_put, &r4, arow_free, &diag),
                JK_ERR_INVALID_ARG);
    JK_CHECK_EQ(freed, 4); /* not queued: freed here */
    JK_CHECK_EQ(jk_cap_store_commit(s, "head", d, NULL, &diag), JK_ERR_INVALID_ARG);
    jk_cap_release(d);
    jk_cap_store_close(s);

    /* reopened: the second head, rows one and two */
    JK_REQUIRE(jk_cap_store_open(dir, NULL, &s, &diag) == JK_OK);
    JK_REQUIRE(jk_cap_store_table(s, "rows", &t, &diag) == JK_OK);
    JK_CHECK_EQ(jk_cap_store_head(s, "head", &got, &diag), JK_OK);
    JK_CHECK_MEM(got.bytes, hb.bytes, 32);
    g = (aget){t, "two", false};
    JK_CHECK_EQ(jk_cap_store_read(s, arow_get, &g, &diag), JK_OK);
    JK_CHECK(g.found);
    jk_cap_store_close(s);
    jk_test_rm_tree(dir);
}
