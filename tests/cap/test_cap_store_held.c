/*
 * test_cap_store_held.c — the store's layout 3 (src/cap/load.c, store.c;
 * docs/cap.md "Store: small Data in groups"): a small Data in a CNode slot
 * is held inside the group record that names it, not as a root record and
 * a page record of its own. Same hashes and values; fewer records; the
 * group stays within LMDB's overflow threshold; a held Data whose bytes,
 * form, length or end are damaged is refused with a message; a layout 2
 * store (no held Data) is read and upgraded, a jark of layout 2 then
 * refusing it.
 */
#include "../test.h"

#include "jark/cap.h"
#include "store_util.h"

#include <lmdb.h>
#include <stdlib.h>
#include <unistd.h>

static jk_cap h_data(uint32_t len, uint8_t fill)
{
    uint8_t *b = malloc(len ? len : 1);
    if (!b)
        abort();
    for (uint32_t i = 0; i < len; i++)
        b[i] = (uint8_t)(fill + i * 7);
    jk_cap d = jk_cap_null();
    if (jk_cap_data_new(b, len, &d) != JK_OK)
        abort();
    free(b);
    return d;
}

/* A CNode of 2^log2 slots, slot i (< count) a Data of len bytes. */
static jk_cap h_cnode(unsigned log2, uint32_t count, uint32_t len)
{
    jk_cap c;
    if (jk_cap_cnode_new(log2, &c) != JK_OK)
        abort();
    for (uint32_t i = 0; i < count; i++) {
        jk_cap v = h_data(len, (uint8_t)i), next;
        if (jk_cap_cnode_set(c, i, v, &next) != JK_OK)
            abort();
        jk_cap_release(v);
        jk_cap_release(c);
        c = next;
    }
    return c;
}

/* The raw record under key (a copy), through LMDB directly. */
static uint8_t *h_raw(const char *dir, const jk_hash *key, size_t *len)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    uint8_t *out = NULL;
    if (mdb_env_create(&env) || mdb_env_set_maxdbs(env, 16) || mdb_env_open(env, dir, 0, 0644) ||
        mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) || mdb_dbi_open(txn, "objects", 0, &dbi))
        abort();
    MDB_val k = {32, (void *)key->bytes}, v;
    if (mdb_get(txn, dbi, &k, &v) == 0 && (out = malloc(v.mv_size)) != NULL) {
        memcpy(out, v.mv_data, v.mv_size);
        *len = v.mv_size;
    }
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return out;
}

/* Replace the record under key, or put key → bytes into table `db`. */
static void h_put(const char *dir, const char *db, const void *key, size_t klen, const uint8_t *bytes, size_t len)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    if (mdb_env_create(&env) || mdb_env_set_maxdbs(env, 16) || mdb_env_open(env, dir, 0, 0644) ||
        mdb_txn_begin(env, NULL, 0, &txn) || mdb_dbi_open(txn, db, MDB_CREATE, &dbi))
        abort();
    MDB_val k = {klen, (void *)key}, v = {len, (void *)bytes};
    if (mdb_put(txn, dbi, &k, &v, 0) || mdb_txn_commit(txn))
        abort();
    mdb_env_close(env);
}

typedef struct h_objs {
    jk_hash names[64];
    uint8_t bytes[64][128];
    size_t lens[64], n;
} h_objs;

static jk_err h_has(void *ctx, const jk_hash *h, bool *present)
{
    (void)ctx;
    (void)h;
    *present = false;
    return JK_OK;
}

static jk_err h_keep(void *ctx, const jk_hash *h, const uint8_t *bytes, size_t len)
{
    h_objs *o = ctx;
    if (o->n == 64 || len > 128)
        return JK_ERR_CAP_TOO_LARGE;
    o->names[o->n] = *h;
    memcpy(o->bytes[o->n], bytes, len);
    o->lens[o->n++] = len;
    return JK_OK;
}

/* A fresh store in dir (64 bytes) with c committed as head "c". */
static jk_cap_store *h_fresh(char *dir, jk_cap c)
{
    jk_cap_store *st = NULL;
    jk_diag diag = {{0}};
    jk_ts_tmpdir(dir, 64);
    if (!dir[0] || jk_cap_store_open(dir, NULL, &st, &diag) != JK_OK)
        return NULL;
    if (jk_cap_store_commit(st, "c", c, NULL, &diag) != JK_OK) {
        jk_test_fail(__FILE__, __LINE__, "commit: %s", diag.msg);
        jk_cap_store_close(st);
        return NULL;
    }
    return st;
}

/* A store at dir, opened, whose head "c" loads equal to want (closed
 * again). */
static void h_reload_equal(const char *dir, jk_cap want)
{
    jk_cap_store *st;
    jk_diag diag = {{0}};
    JK_REQUIRE(jk_cap_store_open(dir, NULL, &st, &diag) == JK_OK);
    jk_hash head, h;
    jk_cap back = jk_cap_null();
    JK_REQUIRE(jk_cap_store_head(st, "c", &head, &diag) == JK_OK);
    jk_cap_hash(want, &h);
    JK_CHECK_MEM(head.bytes, h.bytes, 32);
    if (jk_cap_store_load(st, &head, &back, &diag) != JK_OK)
        jk_test_fail(__FILE__, __LINE__, "load: %s", diag.msg);
    JK_CHECK(jk_cap_equal(back, want));
    jk_cap_release(back);
    jk_cap_store_close(st);
}

/* 16 small Data in a 16-slot CNode: one group record and the CNode's root
 * record, nothing else; the Data are no records of their own; the value
 * loads back equal after a reopen. */
JK_TEST(test_cap_held_small_data_in_the_group)
{
    char dir[64];
    jk_diag diag = {{0}};
    jk_cap c = h_cnode(4, 16, 40);
    jk_cap_store *st = h_fresh(dir, c);
    JK_REQUIRE(st != NULL);
    jk_cap_store_stats s;
    jk_cap_store_stats_get(st, &s);
    JK_CHECK_EQ(s.objects[JK_CAP_TAG_CNODE_NODE], 1);
    JK_CHECK_EQ(s.objects[JK_CAP_TAG_CNODE], 1);
    JK_CHECK_EQ(s.objects[JK_CAP_TAG_DATA], 0);
    JK_CHECK_EQ(s.objects[JK_CAP_TAG_DATA_PAGE], 0);
    jk_hash dh;
    jk_cap_hash(jk_cap_cnode_get(c, 3), &dh);
    bool present = true;
    JK_CHECK_EQ(jk_cap_store_has(st, &dh, &present, &diag), JK_OK);
    JK_CHECK(!present);
    jk_cap_store_close(st);
    JK_REQUIRE(jk_cap_store_open(dir, NULL, &st, &diag) == JK_OK);
    jk_hash head, want;
    jk_cap back = jk_cap_null();
    JK_REQUIRE(jk_cap_store_head(st, "c", &head, &diag) == JK_OK);
    jk_cap_hash(c, &want);
    JK_CHECK_MEM(head.bytes, want.bytes, 32);
    JK_REQUIRE(jk_cap_store_load(st, &head, &back, &diag) == JK_OK);
    JK_CHECK(jk_cap_equal(back, c));
    uint8_t got[40];
    jk_cap d = jk_cap_cnode_get(back, 15);
    JK_CHECK_EQ(jk_cap_data_len(d), 40);
    JK_CHECK_EQ(jk_cap_data_read(d, 0, got, 40), JK_OK);
    JK_CHECK_EQ(got[1], (uint8_t)(15 + 7));
    /* a change of one slot: one group record again (its neighbours held
     * in it, not asked for) */
    jk_cap v = h_data(12, 99), next;
    JK_REQUIRE(jk_cap_cnode_set(back, 5, v, &next) == JK_OK);
    jk_cap_store_stats s0;
    jk_cap_store_stats_get(st, &s0);
    JK_REQUIRE(jk_cap_store_commit(st, "c", next, NULL, &diag) == JK_OK);
    jk_cap_store_stats_get(st, &s);
    JK_CHECK_EQ(s.objects[JK_CAP_TAG_CNODE_NODE] - s0.objects[JK_CAP_TAG_CNODE_NODE], 1);
    JK_CHECK_EQ(s.objects[JK_CAP_TAG_DATA] - s0.objects[JK_CAP_TAG_DATA], 0);
    JK_CHECK_EQ(s.has_asked - s0.has_asked, 2); /* the CNode's root record and the group top */
    jk_cap_release(v);
    jk_cap_release(next);
    jk_cap_release(back);
    jk_cap_store_close(st);
    jk_cap_release(c);
    jk_ts_rmstore(dir);
}

/* Data too long to hold (over JK_CAP_INLINE_MAX = 512) are records of
 * their own, and a group holds at most ~960 bytes of Data: 16 slots of
 * 200 bytes give 4 held and 12 records; the group record stays within one
 * LMDB leaf node. Everything loads back equal. */
JK_TEST(test_cap_held_within_the_budget)
{
    for (int k = 0; k < 2; k++) {
        char dir[64];
        jk_cap c = k == 0 ? h_cnode(4, 16, 200) : h_cnode(1, 2, 513);
        jk_cap_store *st = h_fresh(dir, c);
        JK_REQUIRE(st != NULL);
        jk_cap_store_stats s;
        jk_cap_store_stats_get(st, &s);
        JK_CHECK_EQ(s.objects[JK_CAP_TAG_DATA], k == 0 ? 12 : 2);
        JK_CHECK_EQ(s.objects[JK_CAP_TAG_DATA_PAGE], k == 0 ? 12 : 2);
        JK_CHECK_EQ(s.objects[JK_CAP_TAG_CNODE_NODE], 1);
        /* the group's size: under LMDB's 1,998-byte bound for a 32-byte key */
        JK_CHECK(s.object_bytes[JK_CAP_TAG_CNODE_NODE] <= 1998);
        jk_cap_store_close(st);
        h_reload_equal(dir, c);
        jk_cap_release(c);
        jk_ts_rmstore(dir);
    }
}

/* The record of a 2-slot CNode holding one 8-byte Data at slot 0:
 * 0x09 ‖ 1 ‖ a ‖ b ‖ form ‖ len u16 ‖ 8 bytes (77 bytes), damaged four
 * ways: each refused with the right code and a "cnode group" message. */
JK_TEST(test_cap_held_damage_is_refused)
{
    for (int k = 0; k < 5; k++) {
        char dir[64];
        jk_diag diag = {{0}};
        jk_cap c = h_cnode(1, 1, 8);
        jk_cap_store *st = h_fresh(dir, c);
        JK_REQUIRE(st != NULL);
        jk_hash head;
        JK_REQUIRE(jk_cap_store_head(st, "c", &head, &diag) == JK_OK);
        uint8_t *rec;
        size_t rlen;
        JK_REQUIRE(jk_cap_store_get(st, &head, &rec, &rlen, &diag) == JK_OK);
        jk_hash top;
        memcpy(top.bytes, rec + rlen - 32, 32);
        free(rec);
        jk_cap_store_close(st);
        size_t n = 0;
        uint8_t *g = h_raw(dir, &top, &n);
        JK_REQUIRE(g != NULL && n == 77);
        JK_CHECK_EQ(g[0], 0x09);
        JK_CHECK_EQ(g[66], 0x01); /* held */
        JK_CHECK_EQ(g[67], 8);
        jk_err want = JK_ERR_CAP_DECODE;
        const char *why = NULL;
        switch (k) {
        case 0: g[72] ^= 1, want = JK_ERR_CAP_CORRUPT, why = "does not hash"; break;
        case 1: g[66] = 7, why = "form is unknown"; break;
        case 2: g[67] = 0, why = "length is out of range"; break;
        case 3: n -= 3, why = "cut short"; break;
        case 4: g[67] = 0x01, g[68] = 0x02, why = "length is out of range"; break; /* 513 */
        }
        h_put(dir, "objects", top.bytes, 32, g, n);
        free(g);
        JK_REQUIRE(jk_cap_store_open(dir, NULL, &st, &diag) == JK_OK);
        jk_cap back = jk_cap_null();
        jk_err err = jk_cap_store_load(st, &head, &back, &diag);
        if (err != want)
            jk_test_fail(__FILE__, __LINE__, "damage %d: %d (%s)", k, err, diag.msg);
        JK_CHECK(strstr(diag.msg, "cnode group") != NULL);
        JK_CHECK(strstr(diag.msg, why) != NULL);
        JK_CHECK(jk_cap_is_null(back));
        jk_cap_store_close(st);
        jk_cap_release(c);
        jk_ts_rmstore(dir);
    }
}

/* A store of layout 2 (a group record of tag 0x08 without forms, the Data
 * a root record and a page record of their own, "format" saying 2) is
 * read: the same value loads; the store then says layout 3 (a jark of
 * layout 2 refuses it), and a commit on it writes held Data. */
JK_TEST(test_cap_held_reads_and_upgrades_layout_2)
{
    char dir[64];
    jk_ts_tmpdir(dir, sizeof dir);
    JK_REQUIRE(dir[0]);
    jk_cap c = h_cnode(2, 1, 8); /* 4 slots: heights 2..1 in one group */
    /* its objects, one per node (the plain export) */
    static h_objs o;
    o.n = 0;
    jk_cap_sink sink = {&o, h_has, h_keep};
    jk_diag diag = {{0}};
    JK_REQUIRE(jk_cap_export(c, &sink, &diag) == JK_OK);
    /* Data page, Data root, node h1, node h2, CNode root */
    JK_REQUIRE(o.n == 5);
    JK_CHECK_EQ(o.bytes[2][0], JK_CAP_TAG_CNODE_NODE);
    JK_CHECK_EQ(o.bytes[3][0], JK_CAP_TAG_CNODE_NODE);
    uint8_t group[2 + 128];
    group[0] = 0x08, group[1] = 2;
    memcpy(group + 2, o.bytes[3] + 1, 64);  /* the top (height 2) */
    memcpy(group + 66, o.bytes[2] + 1, 64); /* its left child (height 1) */
    uint8_t two[4] = {2};
    h_put(dir, "format", "layout", 6, two, 4);
    for (size_t i = 0; i < 5; i++)
        h_put(dir, "objects", o.names[i].bytes, 32, i == 3 ? group : o.bytes[i], i == 3 ? sizeof group : o.lens[i]);
    jk_hash want;
    jk_cap_hash(c, &want);
    h_put(dir, "heads", "c", 1, want.bytes, 32);
    jk_cap_store *st;
    JK_REQUIRE(jk_cap_store_open(dir, NULL, &st, &diag) == JK_OK);
    jk_cap back = jk_cap_null();
    JK_REQUIRE(jk_cap_store_load(st, &want, &back, &diag) == JK_OK);
    JK_CHECK(jk_cap_equal(back, c));
    jk_cap v = h_data(9, 3), next;
    JK_REQUIRE(jk_cap_cnode_set(back, 3, v, &next) == JK_OK);
    jk_cap_store_stats s0, s;
    jk_cap_store_stats_get(st, &s0);
    JK_REQUIRE(jk_cap_store_commit(st, "c", next, NULL, &diag) == JK_OK);
    jk_cap_store_stats_get(st, &s);
    JK_CHECK_EQ(s.objects[JK_CAP_TAG_DATA] - s0.objects[JK_CAP_TAG_DATA], 0); /* both held now */
    jk_cap_store_close(st);
    /* "format" now says 3 */
    {
        MDB_env *env;
        MDB_txn *txn;
        MDB_dbi dbi;
        JK_REQUIRE(mdb_env_create(&env) == 0 && mdb_env_set_maxdbs(env, 16) == 0 &&
                   mdb_env_open(env, dir, 0, 0644) == 0 && mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) == 0 &&
                   mdb_dbi_open(txn, "format", 0, &dbi) == 0);
        MDB_val k = {6, (void *)"layout"}, val;
        JK_CHECK(mdb_get(txn, dbi, &k, &val) == 0 && val.mv_size == 4 && ((uint8_t *)val.mv_data)[0] == 3);
        mdb_txn_abort(txn);
        mdb_env_close(env);
    }
    h_reload_equal(dir, next);
    jk_cap_release(v);
    jk_cap_release(next);
    jk_cap_release(back);
    jk_cap_release(c);
    jk_ts_rmstore(dir);
}
