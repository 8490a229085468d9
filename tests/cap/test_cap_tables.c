/*
 * test_cap_tables.c — the store's tables for upper layers
 * (jk_cap_store_table, docs/cap.md "The store"): rows written in a head's
 * commit transaction land with it or not at all, put/get/del/seek/count,
 * names refused, and rows across a reopen.
 */
#include "../progs.h"
#include "../test.h"

#include "jark/cap.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

typedef struct rows {
    jk_cap_table t;
    const char *key, *val;
    jk_err fail;            /* returned after the put */
    /* read back */
    char got[64];
    uint64_t count;
    char first[16], last[16], after_b[16];
} rows;

static jk_err put_row(void *ctx, jk_cap_store_txn *txn, jk_diag *diag)
{
    rows *r = ctx;
    jk_err err = jk_cap_txn_put(txn, r->t, r->key, strlen(r->key), r->val, strlen(r->val), diag);
    return err != JK_OK ? err : r->fail;
}

static void copy_key(char *out, const jk_cap_table_entry *e)
{
    snprintf(out, 16, "%.*s", (int)e->key_len, (const char *)e->key);
}

static jk_err read_rows(void *ctx, jk_cap_store_txn *txn, jk_diag *diag)
{
    rows *r = ctx;
    const uint8_t *v;
    size_t n;
    r->got[0] = 0;
    jk_err err = jk_cap_txn_get(txn, r->t, r->key, strlen(r->key), &v, &n, diag);
    if (err == JK_OK)
        snprintf(r->got, sizeof r->got, "%.*s", (int)n, (const char *)v);
    else if (err != JK_ERR_CAP_MISSING)
        return err;
    jk_cap_table_entry e;
    r->first[0] = r->last[0] = r->after_b[0] = 0;
    if (jk_cap_txn_seek(txn, r->t, NULL, 0, false, &e, diag) == JK_OK)
        copy_key(r->first, &e);
    if (jk_cap_txn_seek(txn, r->t, NULL, 0, true, &e, diag) == JK_OK)
        copy_key(r->last, &e);
    if (jk_cap_txn_seek(txn, r->t, "b\x01", 2, false, &e, diag) == JK_OK)
        copy_key(r->after_b, &e);
    return jk_cap_txn_count(txn, r->t, &r->count, diag);
}

static jk_err del_row(void *ctx, jk_cap_store_txn *txn, jk_diag *diag)
{
    rows *r = ctx;
    return jk_cap_txn_del(txn, r->t, r->key, strlen(r->key), diag);
}

JK_TEST(test_cap_tables_commit_with_is_one_transaction)
{
    char dir[128];
    JK_REQUIRE(jk_test_tmpdir("cap-tables", dir, sizeof dir));
    JK_REQUIRE(dir[0]);
    jk_cap_store *s;
    JK_REQUIRE(jk_cap_store_open(dir, NULL, &s, NULL) == JK_OK);
    jk_cap_table t, again, other;
    JK_REQUIRE(jk_cap_store_table(s, "blocks", &t, NULL) == JK_OK);
    JK_CHECK_EQ(jk_cap_store_table(s, "blocks", &again, NULL), JK_OK);
    JK_CHECK_EQ(again, t);
    JK_REQUIRE(jk_cap_store_table(s, "other", &other, NULL) == JK_OK);
    JK_CHECK(other != t);
    jk_diag diag = {{0}};
    JK_CHECK_EQ(jk_cap_store_table(s, "objects", &again, &diag), JK_ERR_INVALID_ARG);
    JK_CHECK_EQ(jk_cap_store_table(s, "heads", &again, &diag), JK_ERR_INVALID_ARG);
    JK_CHECK_EQ(jk_cap_store_table(s, "", &again, &diag), JK_ERR_INVALID_ARG);

    jk_cap d1, d2;
    JK_REQUIRE(jk_cap_data_new((const uint8_t *)"one", 3, &d1) == JK_OK);
    JK_REQUIRE(jk_cap_data_new((const uint8_t *)"two", 3, &d2) == JK_OK);
    /* a commit with a row */
    rows r = {.t = t, .key = "a", .val = "block a"};
    JK_CHECK_EQ(jk_cap_store_commit_with(s, "head", d1, put_row, &r, NULL, NULL), JK_OK);
    /* a commit whose row writer fails: neither the head nor its row move */
    rows bad = {.t = t, .key = "b", .val = "block b", .fail = JK_ERR_INVALID_ARG};
    JK_CHECK_EQ(jk_cap_store_commit_with(s, "head", d2, put_row, &bad, NULL, NULL),
                JK_ERR_INVALID_ARG);
    jk_hash h, want;
    JK_REQUIRE(jk_cap_store_head(s, "head", &h, NULL) == JK_OK);
    jk_cap_hash(d1, &want);
    JK_CHECK_MEM(h.bytes, want.bytes, 32);
    bool present = true;
    jk_cap_hash(d2, &want);
    JK_CHECK_EQ(jk_cap_store_has(s, &want, &present, NULL), JK_OK);
    JK_CHECK(!present); /* d2's object was not written either */
    rows rb = {.t = t, .key = "b"};
    JK_REQUIRE(jk_cap_store_read(s, read_rows, &rb, NULL) == JK_OK);
    JK_CHECK_EQ(rb.got[0], 0);
    JK_CHECK_EQ(rb.count, 1);
    /* rows on their own */
    rows c = {.t = t, .key = "c", .val = "block c"};
    JK_CHECK_EQ(jk_cap_store_write(s, put_row, &c, NULL), JK_OK);
    rows b2 = {.t = t, .key = "b", .val = "block b"};
    JK_CHECK_EQ(jk_cap_store_write(s, put_row, &b2, NULL), JK_OK);
    /* a put in a read transaction is refused */
    rows ro = {.t = t, .key = "z", .val = "nope"};
    JK_CHECK(jk_cap_store_read(s, put_row, &ro, NULL) != JK_OK);
    /* a table of another handle is refused */
    rows wrong = {.t = 7, .key = "a", .val = "x"};
    JK_CHECK_EQ(jk_cap_store_write(s, put_row, &wrong, NULL), JK_ERR_INVALID_ARG);
    jk_cap_store_close(s);

    JK_REQUIRE(jk_cap_store_open(dir, NULL, &s, NULL) == JK_OK);
    JK_REQUIRE(jk_cap_store_table(s, "other", &other, NULL) == JK_OK);
    JK_REQUIRE(jk_cap_store_table(s, "blocks", &t, NULL) == JK_OK);
    rows ra = {.t = t, .key = "a"};
    JK_REQUIRE(jk_cap_store_read(s, read_rows, &ra, NULL) == JK_OK);
    JK_CHECK(!strcmp(ra.got, "block a"));
    JK_CHECK_EQ(ra.count, 3);
    JK_CHECK(!strcmp(ra.first, "a"));
    JK_CHECK(!strcmp(ra.last, "c"));
    JK_CHECK(!strcmp(ra.after_b, "c")); /* the first key >= "b\x01" */
    rows del = {.t = t, .key = "b"};
    JK_CHECK_EQ(jk_cap_store_write(s, del_row, &del, NULL), JK_OK);
    JK_CHECK_EQ(jk_cap_store_write(s, del_row, &del, NULL), JK_ERR_CAP_MISSING);
    JK_REQUIRE(jk_cap_store_read(s, read_rows, &ra, NULL) == JK_OK);
    JK_CHECK_EQ(ra.count, 2);
    rows empty = {.t = other, .key = "a"};
    JK_REQUIRE(jk_cap_store_read(s, read_rows, &empty, NULL) == JK_OK);
    JK_CHECK_EQ(empty.count, 0);
    JK_CHECK_EQ(empty.first[0], 0);
    jk_cap_store_close(s);
    jk_cap_release(d1);
    jk_cap_release(d2);
    jk_test_rm_tree(dir);
}

typedef struct reserve_row {
    jk_cap_table t;
    size_t len;
    jk_err err;
} reserve_row;

/* A 20,000-byte row (overflow pages) written in place: all its bytes land. */
static jk_err reserve_put(void *ctx, jk_cap_store_txn *txn, jk_diag *diag)
{
    reserve_row *r = ctx;
    uint8_t *val = NULL;
    r->err = jk_cap_txn_reserve(txn, r->t, "big", 3, r->len, &val, diag);
    if (r->err != JK_OK)
        return r->err;
    for (size_t i = 0; i < r->len; i++)
        val[i] = (uint8_t)(i * 13 + 1);
    return JK_OK;
}

static jk_err reserve_get(void *ctx, jk_cap_store_txn *txn, jk_diag *diag)
{
    reserve_row *r = ctx;
    const uint8_t *v;
    size_t n;
    jk_err err = jk_cap_txn_get(txn, r->t, "big", 3, &v, &n, diag);
    if (err != JK_OK)
        return err;
    r->err = n == r->len ? JK_OK : JK_ERR_CAP_CORRUPT;
    for (size_t i = 0; i < n && r->err == JK_OK; i++)
        if (v[i] != (uint8_t)(i * 13 + 1))
            r->err = JK_ERR_CAP_CORRUPT;
    return JK_OK;
}

JK_TEST(test_cap_tables_reserve_writes_in_place)
{
    char dir[128];
    JK_REQUIRE(jk_test_tmpdir("cap-tables", dir, sizeof dir));
    jk_cap_store *s;
    JK_REQUIRE(jk_cap_store_open(dir, NULL, &s, NULL) == JK_OK);
    reserve_row r = {.len = 20000};
    JK_REQUIRE(jk_cap_store_table(s, "rows", &r.t, NULL) == JK_OK);
    JK_CHECK_EQ(jk_cap_store_write(s, reserve_put, &r, NULL), JK_OK);
    jk_cap_store_close(s);
    JK_REQUIRE(jk_cap_store_open(dir, NULL, &s, NULL) == JK_OK);
    JK_REQUIRE(jk_cap_store_table(s, "rows", &r.t, NULL) == JK_OK);
    r.err = JK_ERR_CAP_MISSING;
    JK_CHECK_EQ(jk_cap_store_read(s, reserve_get, &r, NULL), JK_OK);
    JK_CHECK_EQ(r.err, JK_OK);
    /* a read transaction refuses it */
    jk_diag diag = {{0}};
    JK_CHECK_EQ(jk_cap_store_read(s, reserve_put, &r, &diag), JK_ERR_CAP_STORE);
    JK_CHECK(strstr(diag.msg, "read transaction") != NULL);
    jk_cap_store_close(s);
    jk_test_rm_tree(dir);
}
