/*
 * test_cap_store.c — the LMDB store: commit and reopen, what a commit writes
 * after a small change (O(log) objects), raw put/get/has with their checks,
 * heads, corruption on disk noticed at load, and a full map that leaves the
 * store as it was.
 */
#include "../test.h"

#include "jark/cap.h"

#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int64_t live(void)
{
    jk_cap_stats s;
    jk_cap_stats_get(&s);
    return s.live_objects;
}

static void tmpdir(char *dir, size_t n)
{
    snprintf(dir, n, "/tmp/jk_cap_store_XXXXXX");
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

JK_TEST(test_cap_store_commit_reopen_load)
{
    int64_t before = live();
    char dir[64];
    tmpdir(dir, sizeof dir);
    JK_REQUIRE(dir[0]);
    jk_cap_store *st;
    jk_diag diag = {{0}};
    JK_REQUIRE(jk_cap_store_open(dir, NULL, &st, &diag) == JK_OK);
    jk_cap d, inst = state_value(1000, &d);
    uint64_t written = 0;
    JK_REQUIRE(jk_cap_store_commit(st, "main", inst, &written, &diag) == JK_OK);
    /* 1000 pages + 999 nodes + data root, the cnode path (8) + root, code
     * data (1 page + root), image, instance */
    JK_CHECK_EQ(written, 2000 + 9 + 2 + 1 + 1);
    JK_REQUIRE(jk_cap_store_commit(st, "main", inst, &written, &diag) == JK_OK);
    JK_CHECK_EQ(written, 0);

    /* a one-page change writes O(log) objects */
    uint8_t b = 1;
    jk_cap d2, cn, inst2;
    JK_REQUIRE(jk_cap_data_write(d, 777 * 4096 + 5, &b, 1, &d2) == JK_OK);
    JK_REQUIRE(jk_cap_cnode_set(jk_cap_instance_cnode(inst), 20, d2, &cn) == JK_OK);
    JK_REQUIRE(jk_cap_instance_with_cnode(inst, cn, &inst2, &diag) == JK_OK);
    JK_REQUIRE(jk_cap_store_commit(st, "main", inst2, &written, &diag) == JK_OK);
    JK_CHECK(written >= 3 && written <= 1 + 10 + 1 + 9 + 1);
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
    rmstore(dir);
    JK_CHECK_EQ(live(), before);
}

JK_TEST(test_cap_store_put_get_has)
{
    char dir[64];
    tmpdir(dir, sizeof dir);
    JK_REQUIRE(dir[0]);
    jk_cap_store *st;
    jk_diag diag = {{0}};
    JK_REQUIRE(jk_cap_store_open(dir, NULL, &st, &diag) == JK_OK);
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
    rmstore(dir);
}

/* Bytes changed on disk behind the store's back are noticed at load. */
JK_TEST(test_cap_store_detects_corruption)
{
    int64_t before = live();
    char dir[64];
    tmpdir(dir, sizeof dir);
    JK_REQUIRE(dir[0]);
    jk_cap_store *st;
    jk_diag diag = {{0}};
    JK_REQUIRE(jk_cap_store_open(dir, NULL, &st, &diag) == JK_OK);
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
    rmstore(dir);
    JK_CHECK_EQ(live(), before);
}

/* A commit that does not fit fails whole: the head and objects stay. */
JK_TEST(test_cap_store_map_full_is_atomic)
{
    int64_t before = live();
    char dir[64];
    tmpdir(dir, sizeof dir);
    JK_REQUIRE(dir[0]);
    jk_cap_store *st;
    jk_diag diag = {{0}};
    jk_cap_store_options opt = {.map_size = 1 << 20};
    JK_REQUIRE(jk_cap_store_open(dir, &opt, &st, &diag) == JK_OK);
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
    rmstore(dir);
    JK_CHECK_EQ(live(), before);
}
