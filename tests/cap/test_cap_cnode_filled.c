/*
 * test_cap_cnode_filled.c — jk_cap_cnode_new_filled (docs/cap.md, "CNode"):
 * the CNode it builds is the one the writes of each slot give — the same
 * hash (against a reference written from docs/cap.md and against the
 * writes), the same reads through the read index, the same depth, and the
 * same behaviour when changed afterwards with a snapshot held — for sizes
 * 2^0..2^13 and slot lists with holes (whole empty subtrees); its
 * refusals; and no object leaked.
 */
#include "../test.h"
#include "cap_test_util.h"

#include "jark/cap.h"

#include <stdlib.h>

static uint64_t next_rand(uint64_t *x)
{
    *x ^= *x << 13, *x ^= *x >> 7, *x ^= *x << 17;
    return *x;
}

static void ref_sub(const jk_cap *slots, size_t n, uint32_t first, unsigned h, jk_hash *out)
{
    static const jk_hash zero;
    if (h == 0) {
        if (first < n)
            jk_cap_hash(slots[first], out);
        else
            *out = zero;
        return;
    }
    jk_hash l, r;
    ref_sub(slots, n, first, h - 1, &l);
    ref_sub(slots, n, first + (1u << (h - 1)), h - 1, &r);
    jk_test_node_hash(&l, &r, out);
}

/* The CNode record's hash from docs/cap.md over slots[0..n) of 2^k. */
static void ref_cnode(const jk_cap *slots, size_t n, unsigned k, jk_hash *out)
{
    uint8_t buf[34] = {0x04, (uint8_t)k};
    jk_hash root;
    ref_sub(slots, n, 0, k, &root);
    memcpy(buf + 2, root.bytes, 32);
    jk_crypto_blake2b256(buf, sizeof buf, out);
}

JK_TEST(test_cap_cnode_filled_equals_the_sets)
{
    int64_t before = live();
    uint64_t x = 0x9e3779b97f4a7c15u;
    jk_cap vals[4] = {jk_cap_null(), jk_cap_null(), jk_cap_null(), jk_cap_null()};
    for (int v = 1; v < 4; v++) {
        uint8_t b[3] = {(uint8_t)v, 0xa5, (uint8_t)(v * 7)};
        JK_CHECK_EQ(jk_cap_data_new(b, sizeof b, &vals[v]), JK_OK);
    }
    jk_cap inner;
    JK_CHECK_EQ(jk_cap_cnode_new(1, &inner), JK_OK);
    JK_CHECK_EQ(jk_cap_cnode_update(&inner, 1, vals[1]), JK_OK);
    vals[0] = inner; /* a nested CNode among the slots: depth 2 */
    static const unsigned ks[] = {0, 1, 2, 3, 4, 5, 8, 9, 12, 13};
    for (size_t t = 0; t < sizeof ks / sizeof ks[0]; t++) {
        unsigned k = ks[t];
        for (int round = 0; round < 6; round++) {
            size_t cap = (size_t)1 << k;
            size_t n = round == 0 ? 0 : round == 1 ? cap : (size_t)(next_rand(&x) % (cap + 1));
            jk_cap *slots = calloc(n ? n : 1, sizeof *slots);
            for (size_t i = 0; i < n; i++) {
                uint64_t r = next_rand(&x);
                /* holes: runs of empty slots, so whole subtrees stay empty */
                slots[i] = (r >> 60) < 5 ? jk_cap_null() : vals[r % 4];
            }
            jk_cap built, set;
            JK_CHECK_EQ(jk_cap_cnode_new_filled(k, slots, n, &built), JK_OK);
            JK_CHECK_EQ(jk_cap_cnode_new(k, &set), JK_OK);
            for (size_t i = 0; i < n; i++)
                JK_CHECK_EQ(jk_cap_cnode_update(&set, (uint32_t)i, slots[i]), JK_OK);
            jk_hash hb, hs, hr;
            jk_cap_hash(built, &hb);
            jk_cap_hash(set, &hs);
            ref_cnode(slots, n, k, &hr);
            JK_CHECK_MEM(hb.bytes, hr.bytes, 32);
            JK_CHECK_MEM(hs.bytes, hr.bytes, 32);
            JK_CHECK_EQ(jk_cap_depth(built), jk_cap_depth(set));
            JK_CHECK(jk_cap_equal(built, set));
            for (uint32_t i = 0; i < cap; i++) {
                jk_cap want = i < n ? slots[i] : jk_cap_null(), got;
                JK_CHECK(jk_cap_same(jk_cap_cnode_get(built, i), want));
                JK_CHECK(jk_cap_cnode_get_path(built, &i, 1, &got) && jk_cap_same(got, want));
            }
            /* a built CNode changes like any other (in place and copied) */
            if (cap > 1) {
                jk_cap snap = jk_cap_retain(built);
                uint32_t at = (uint32_t)(next_rand(&x) % cap);
                JK_CHECK_EQ(jk_cap_cnode_update(&built, at, vals[3]), JK_OK);
                JK_CHECK_EQ(jk_cap_cnode_update(&set, at, vals[3]), JK_OK);
                jk_cap_hash(built, &hb);
                jk_cap_hash(set, &hs);
                JK_CHECK_MEM(hb.bytes, hs.bytes, 32);
                JK_CHECK(jk_cap_same(jk_cap_cnode_get(built, at), vals[3]));
                JK_CHECK(jk_cap_same(jk_cap_cnode_get(snap, at), at < n ? slots[at] : jk_cap_null()));
                jk_cap_release(snap);
            }
            jk_cap_release(built);
            jk_cap_release(set);
            free(slots);
        }
    }
    for (int v = 0; v < 4; v++)
        jk_cap_release(vals[v]);
    JK_CHECK_EQ(live(), before);
}

JK_TEST(test_cap_cnode_filled_refusals)
{
    int64_t before = live();
    jk_cap d, out = jk_cap_null();
    JK_CHECK_EQ(jk_cap_data_new("x", 1, &d), JK_OK);
    jk_cap three[3] = {d, d, d};
    JK_CHECK_EQ(jk_cap_cnode_new_filled(1, three, 3, &out), JK_ERR_CAP_RANGE);
    JK_CHECK_EQ(jk_cap_cnode_new_filled(17, three, 1, &out), JK_ERR_CAP_RANGE);
    JK_CHECK(jk_cap_is_null(out));
    /* a CNode at the nesting bound cannot go one level deeper */
    jk_cap deep = jk_cap_retain(d);
    while (jk_cap_depth(deep) < JK_CAP_MAX_DEPTH) {
        jk_cap up;
        JK_CHECK_EQ(jk_cap_cnode_new_filled(0, &deep, 1, &up), JK_OK);
        jk_cap_release(deep);
        deep = up;
    }
    jk_cap pair[2] = {d, deep};
    JK_CHECK_EQ(jk_cap_cnode_new_filled(1, pair, 2, &out), JK_ERR_CAP_TOO_DEEP);
    JK_CHECK(jk_cap_is_null(out));
    jk_cap_release(deep);
    /* one slot of 2^0, and none of 2^16: both fine */
    JK_CHECK_EQ(jk_cap_cnode_new_filled(0, &d, 1, &out), JK_OK);
    JK_CHECK(jk_cap_same(jk_cap_cnode_get(out, 0), d));
    jk_cap_release(out);
    JK_CHECK_EQ(jk_cap_cnode_new_filled(16, NULL, 0, &out), JK_OK);
    JK_CHECK_EQ(jk_cap_cnode_slot_count(out), 65536u);
    jk_cap_release(out);
    jk_cap_release(d);
    JK_CHECK_EQ(live(), before);
}
