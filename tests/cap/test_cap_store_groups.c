/*
 * test_cap_store_groups.c — the store's layout 2 (src/cap/load.c, store.c;
 * docs/cap.md "Store: CNode groups"): CNode inner nodes stored four levels
 * per record under the top node's hash. The same roots as one record per
 * node; a one-slot change in a 2^16-slot CNode writes 4 node records, not
 * 16; a group whose bytes are damaged or cut is refused on load; the top's
 * object is still readable by its hash; a store of layout 1 or of an
 * unknown layout is refused with a clear message.
 */
#include "../test.h"

#include "jark/cap.h"
#include "store_util.h"

#include <lmdb.h>
#include <stdlib.h>
#include <unistd.h>


static jk_cap g_u64(uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    jk_cap d = jk_cap_null();
    if (jk_cap_data_new(b, 8, &d) != JK_OK)
        abort();
    return d;
}

/* A CNode of 2^log2 slots with `count` slots set (spread by a stride),
 * each a Data of its index. */
static jk_cap g_cnode(unsigned log2, uint32_t count)
{
    jk_cap c;
    if (jk_cap_cnode_new(log2, &c) != JK_OK)
        abort();
    uint32_t slots = 1u << log2;
    for (uint32_t k = 0; k < count; k++) {
        uint32_t i = (uint32_t)(((uint64_t)k * 40503u) % slots);
        jk_cap v = g_u64(i + 1), next;
        if (jk_cap_cnode_set(c, i, v, &next) != JK_OK)
            abort();
        jk_cap_release(v);
        jk_cap_release(c);
        c = next;
    }
    return c;
}

static uint64_t g_node_records(jk_cap_store *st)
{
    jk_cap_store_stats s;
    jk_cap_store_stats_get(st, &s);
    return s.objects[JK_CAP_TAG_CNODE_NODE];
}

JK_TEST(test_cap_groups_same_roots_fewer_records)
{
    char dir[64];
    jk_ts_tmpdir(dir, sizeof dir);
    JK_REQUIRE(dir[0]);
    jk_cap_store *st;
    jk_diag diag = {{0}};
    JK_REQUIRE(jk_cap_store_open(dir, NULL, &st, &diag) == JK_OK);
    unsigned sizes[] = {1, 3, 4, 5, 8, 9, 16};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        jk_cap c = g_cnode(sizes[k], sizes[k] >= 8 ? 200 : 1u << (sizes[k] - 1));
        jk_hash want, head;
        jk_cap_hash(c, &want);
        JK_REQUIRE(jk_cap_store_commit(st, "g", c, NULL, &diag) == JK_OK);
        JK_REQUIRE(jk_cap_store_head(st, "g", &head, &diag) == JK_OK);
        JK_CHECK_MEM(head.bytes, want.bytes, 32); /* the root is the same hash */
        jk_cap back = jk_cap_null();
        if (jk_cap_store_load(st, &head, &back, &diag) != JK_OK)
            jk_test_fail(__FILE__, __LINE__, "log2 %u: %s", sizes[k], diag.msg);
        JK_CHECK(jk_cap_equal(back, c));
        jk_cap_release(back);
        jk_cap_release(c);
    }
    /* one slot changed in a CNode of 2^16 slots: 16 inner nodes changed, 4
     * group records written (heights 16..13, 12..9, 8..5, 4..1) */
    jk_cap big = g_cnode(16, 300), v = g_u64(999), next;
    JK_REQUIRE(jk_cap_store_commit(st, "big", big, NULL, &diag) == JK_OK);
    uint64_t before = g_node_records(st);
    JK_REQUIRE(jk_cap_cnode_set(big, 12345, v, &next) == JK_OK);
    uint64_t written = 0;
    JK_REQUIRE(jk_cap_store_commit(st, "big", next, &written, &diag) == JK_OK);
    JK_CHECK_EQ(g_node_records(st) - before, 4);
    JK_CHECK_EQ(written, 4 + 1); /* the groups, the CNode root; the slot's Data is held in its group */
    jk_cap_store_close(st);
    /* reopen and read the changed slot back */
    JK_REQUIRE(jk_cap_store_open(dir, NULL, &st, &diag) == JK_OK);
    jk_hash head;
    JK_REQUIRE(jk_cap_store_head(st, "big", &head, &diag) == JK_OK);
    jk_cap back = jk_cap_null();
    JK_REQUIRE(jk_cap_store_load(st, &head, &back, &diag) == JK_OK);
    JK_CHECK(jk_cap_equal(jk_cap_cnode_get(back, 12345), v));
    JK_CHECK(jk_cap_equal(back, next));
    /* the root node's object, by its hash (a group's top) */
    jk_hash root_node;
    uint8_t *bytes = NULL;
    size_t len = 0;
    uint8_t *rec = NULL;
    size_t rlen = 0;
    JK_REQUIRE(jk_cap_store_get(st, &head, &rec, &rlen, &diag) == JK_OK); /* the CNode root record */
    JK_REQUIRE(rlen >= 1 + 1 + 32);
    memcpy(root_node.bytes, rec + rlen - 32, 32);
    if (jk_cap_store_get(st, &root_node, &bytes, &len, &diag) == JK_OK) {
        jk_hash got;
        jk_crypto_blake2b256(bytes, len, &got);
        JK_CHECK_EQ(len, 65);
        JK_CHECK_MEM(got.bytes, root_node.bytes, 32);
    } else {
        jk_test_fail(__FILE__, __LINE__, "get of the root node: %s", diag.msg);
    }
    free(bytes);
    free(rec);
    /* a node put alone is refused: nodes live in groups */
    uint8_t node[65] = {0x05, 1};
    JK_CHECK_EQ(jk_cap_store_put(st, node, sizeof node, NULL, &diag), JK_ERR_INVALID_ARG);
    jk_cap_release(back);
    jk_cap_store_close(st);
    jk_cap_release(big);
    jk_cap_release(next);
    jk_cap_release(v);
    jk_ts_rmstore(dir);
}

/* Change the record under key with fn, through LMDB directly. */
static void g_poke(const char *dir, const jk_hash *key, void (*fn)(MDB_val *v, uint8_t *buf))
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    static uint8_t buf[4096];
    if (mdb_env_create(&env) || mdb_env_set_maxdbs(env, 4) || mdb_env_open(env, dir, 0, 0644) ||
        mdb_txn_begin(env, NULL, 0, &txn) || mdb_dbi_open(txn, "objects", 0, &dbi))
        abort();
    MDB_val k = {32, (void *)key->bytes}, v;
    if (mdb_get(txn, dbi, &k, &v) || v.mv_size > sizeof buf)
        abort();
    memcpy(buf, v.mv_data, v.mv_size);
    v.mv_data = buf;
    fn(&v, buf);
    if (mdb_put(txn, dbi, &k, &v, 0) || mdb_txn_commit(txn))
        abort();
    mdb_env_close(env);
}

static void g_flip_inner(MDB_val *v, uint8_t *buf)
{
    buf[v->mv_size - 10] ^= 0x20; /* inside the last node of the group */
}

static void g_cut(MDB_val *v, uint8_t *buf)
{
    (void)buf;
    v->mv_size -= 64; /* one node less */
}

static void g_flip_top(MDB_val *v, uint8_t *buf)
{
    (void)v;
    buf[2 + 5] ^= 0x01; /* the top node */
}

JK_TEST(test_cap_groups_damage_is_refused)
{
    void (*damage[])(MDB_val *, uint8_t *) = {g_flip_inner, g_cut, g_flip_top};
    jk_err want[] = {JK_ERR_CAP_CORRUPT, JK_ERR_CAP_DECODE, JK_ERR_CAP_CORRUPT};
    for (int k = 0; k < 3; k++) {
        char dir[64];
        jk_ts_tmpdir(dir, sizeof dir);
        JK_REQUIRE(dir[0]);
        jk_cap_store *st;
        jk_diag diag = {{0}};
        JK_REQUIRE(jk_cap_store_open(dir, NULL, &st, &diag) == JK_OK);
        jk_cap c = g_cnode(8, 40);
        JK_REQUIRE(jk_cap_store_commit(st, "g", c, NULL, &diag) == JK_OK);
        jk_hash head;
        JK_REQUIRE(jk_cap_store_head(st, "g", &head, &diag) == JK_OK);
        uint8_t *rec;
        size_t rlen;
        JK_REQUIRE(jk_cap_store_get(st, &head, &rec, &rlen, &diag) == JK_OK);
        jk_hash top;
        memcpy(top.bytes, rec + rlen - 32, 32);
        free(rec);
        jk_cap_store_close(st);
        g_poke(dir, &top, damage[k]);
        JK_REQUIRE(jk_cap_store_open(dir, NULL, &st, &diag) == JK_OK);
        jk_cap back = jk_cap_null();
        jk_err err = jk_cap_store_load(st, &head, &back, &diag);
        if (err != want[k])
            jk_test_fail(__FILE__, __LINE__, "damage %d: %d (%s)", k, err, diag.msg);
        JK_CHECK(strstr(diag.msg, "cnode group") != NULL);
        JK_CHECK(jk_cap_is_null(back));
        jk_cap_store_close(st);
        jk_cap_release(c);
        jk_ts_rmstore(dir);
    }
}

JK_TEST(test_cap_groups_old_layout_refused)
{
    for (int k = 0; k < 2; k++) {
        char dir[64];
        jk_ts_tmpdir(dir, sizeof dir);
        JK_REQUIRE(dir[0]);
        /* layout 1: objects, no "format" table; or "format" saying 7 */
        MDB_env *env;
        MDB_txn *txn;
        MDB_dbi dbi;
        JK_REQUIRE(mdb_env_create(&env) == 0);
        mdb_env_set_maxdbs(env, 4);
        JK_REQUIRE(mdb_env_open(env, dir, 0, 0644) == 0);
        JK_REQUIRE(mdb_txn_begin(env, NULL, 0, &txn) == 0);
        uint8_t key[32] = {1}, val[3] = {1, 2, 3}, seven[4] = {7};
        MDB_val kk = {32, key}, vv = {3, val}, lk = {6, (void *)"layout"}, lv = {4, seven};
        JK_REQUIRE(mdb_dbi_open(txn, k == 0 ? "objects" : "format", MDB_CREATE, &dbi) == 0);
        JK_REQUIRE(mdb_put(txn, dbi, k == 0 ? &kk : &lk, k == 0 ? &vv : &lv, 0) == 0);
        JK_REQUIRE(mdb_txn_commit(txn) == 0);
        mdb_env_close(env);
        jk_cap_store *st = NULL;
        jk_diag diag = {{0}};
        JK_CHECK_EQ(jk_cap_store_open(dir, NULL, &st, &diag), JK_ERR_CAP_STORE_LAYOUT);
        JK_CHECK(st == NULL);
        JK_CHECK(strstr(diag.msg, k == 0 ? "layout 1" : "layout 7") != NULL);
        jk_ts_rmstore(dir);
    }
}
