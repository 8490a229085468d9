/*
 * test_cap_cnode.c — CNode: slots, the merkle hash against an independent
 * reference written from docs/cap.md, canonical empty subtrees, iteration,
 * copy-on-write isolation, the nesting bound, and re-hash cost (counted).
 */
#include "../test.h"
#include "cap_test_util.h"

#include "jark/cap.h"

#include <stdlib.h>

static jk_cap_stats stats(void)
{
    jk_cap_stats s;
    jk_cap_stats_get(&s);
    return s;
}

static jk_cap small_data(uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    jk_cap d = jk_cap_null();
    jk_cap_data_new(b, sizeof b, &d);
    return d;
}

/* In place: *c = set(*c, i, v), releasing the old value. */
static jk_err set_in(jk_cap *c, uint32_t i, jk_cap v)
{
    jk_cap next;
    jk_err err = jk_cap_cnode_set(*c, i, v, &next);
    if (err == JK_OK) {
        jk_cap_release(*c);
        *c = next;
    }
    return err;
}

/* ---- reference hash from docs/cap.md ---- */

static void ref_sub(jk_cap c, uint32_t first, unsigned h, jk_hash *out)
{
    if (h == 0) {
        jk_cap_hash(jk_cap_cnode_get(c, first), out);
        return;
    }
    jk_hash l, r;
    ref_sub(c, first, h - 1, &l);
    ref_sub(c, first + (1u << (h - 1)), h - 1, &r);
    jk_test_node_hash(&l, &r, out);
}

static void ref_cnode(jk_cap c, jk_hash *out)
{
    unsigned k = jk_cap_cnode_log2(c);
    uint8_t buf[34] = {0x04, (uint8_t)k};
    jk_hash root;
    ref_sub(c, 0, k, &root);
    memcpy(buf + 2, root.bytes, 32);
    jk_crypto_blake2b256(buf, sizeof buf, out);
}

JK_TEST(test_cap_cnode_new_and_empty_hash)
{
    int64_t before = live();
    for (unsigned k = 0; k <= 16; k++) {
        jk_cap c;
        JK_REQUIRE(jk_cap_cnode_new(k, &c) == JK_OK);
        JK_CHECK_EQ(jk_cap_kind_of(c), JK_CAP_CNODE);
        JK_CHECK_EQ(jk_cap_cnode_log2(c), k);
        JK_CHECK_EQ(jk_cap_cnode_slot_count(c), 1u << k);
        JK_CHECK(jk_cap_is_null(jk_cap_cnode_get(c, 0)));
        JK_CHECK(jk_cap_is_null(jk_cap_cnode_get(c, (1u << k) - 1)));
        JK_CHECK(jk_cap_is_null(jk_cap_cnode_get(c, 1u << k)));
        JK_CHECK_EQ(jk_cap_depth(c), 1);
        uint8_t buf[34] = {0x04, (uint8_t)k};
        jk_hash want, got;
        jk_crypto_blake2b256(buf, sizeof buf, &want);
        jk_cap_hash(c, &got);
        JK_CHECK_MEM(got.bytes, want.bytes, 32);
        uint32_t idx;
        JK_CHECK(!jk_cap_cnode_next(c, 0, &idx));
        jk_cap_release(c);
    }
    jk_cap c = jk_cap_null();
    JK_CHECK(jk_cap_cnode_new(17, &c) == JK_ERR_CAP_RANGE);
    JK_CHECK(jk_cap_is_null(c));
    JK_CHECK_EQ(live(), before);
}

JK_TEST(test_cap_cnode_set_get_and_reference_hash)
{
    int64_t before = live();
    static const unsigned ks[] = {0, 1, 2, 3, 8, 11};
    for (size_t t = 0; t < sizeof ks / sizeof ks[0]; t++) {
        unsigned k = ks[t];
        uint32_t n = 1u << k;
        jk_cap c;
        JK_REQUIRE(jk_cap_cnode_new(k, &c) == JK_OK);
        /* fill a scattering of slots, including the first and last */
        for (uint32_t i = 0; i < n; i += (n > 8 ? n / 7 + 1 : 2)) {
            jk_cap d = small_data(i + 1000 * k);
            JK_REQUIRE(set_in(&c, i, d) == JK_OK);
            jk_cap_release(d);
        }
        jk_cap last = small_data(77);
        JK_REQUIRE(set_in(&c, n - 1, last) == JK_OK);
        JK_CHECK(jk_cap_equal(jk_cap_cnode_get(c, n - 1), last));
        JK_CHECK(jk_cap_cnode_get(c, n - 1).body == last.body); /* same body, not a copy */
        jk_cap_release(last);
        jk_hash got, want;
        jk_cap_hash(c, &got);
        ref_cnode(c, &want);
        JK_CHECK_MEM(got.bytes, want.bytes, 32);
        JK_CHECK_EQ(jk_cap_depth(c), 2);
        /* iteration visits exactly the non-empty slots */
        uint32_t idx, from = 0, seen = 0;
        while (jk_cap_cnode_next(c, from, &idx)) {
            JK_CHECK(!jk_cap_is_null(jk_cap_cnode_get(c, idx)));
            for (uint32_t j = from; j < idx; j++)
                JK_CHECK(jk_cap_is_null(jk_cap_cnode_get(c, j)));
            seen++;
            from = idx + 1;
            if (from >= n)
                break;
        }
        JK_CHECK(seen >= 1);
        jk_cap_release(c);
    }
    JK_CHECK_EQ(live(), before);
}

/* Emptying every slot gives back exactly the empty CNode's hash. */
JK_TEST(test_cap_cnode_clear_is_canonical)
{
    int64_t before = live();
    jk_cap c, empty;
    JK_REQUIRE(jk_cap_cnode_new(10, &c) == JK_OK);
    JK_REQUIRE(jk_cap_cnode_new(10, &empty) == JK_OK);
    uint32_t slots[] = {0, 1, 513, 1023, 700};
    for (size_t i = 0; i < 5; i++) {
        jk_cap d = small_data(slots[i]);
        JK_REQUIRE(set_in(&c, slots[i], d) == JK_OK);
        jk_cap_release(d);
    }
    JK_CHECK(!jk_cap_equal(c, empty));
    for (size_t i = 0; i < 5; i++)
        JK_REQUIRE(set_in(&c, slots[i], jk_cap_null()) == JK_OK);
    JK_CHECK(jk_cap_equal(c, empty));
    JK_CHECK_EQ(live() - before, 2); /* two bodies, no nodes left behind */
    jk_cap_release(c);
    jk_cap_release(empty);
    JK_CHECK_EQ(live(), before);
}

JK_TEST(test_cap_cnode_copy_on_write_isolation)
{
    int64_t before = live();
    jk_cap a, d1, d2;
    JK_REQUIRE(jk_cap_cnode_new(8, &a) == JK_OK);
    d1 = small_data(1);
    d2 = small_data(2);
    JK_REQUIRE(set_in(&a, 42, d1) == JK_OK);
    jk_hash ha, ha2;
    jk_cap_hash(a, &ha);
    jk_cap copy = jk_cap_retain(a), b;
    JK_REQUIRE(jk_cap_cnode_set(copy, 42, d2, &b) == JK_OK);
    JK_CHECK(jk_cap_equal(jk_cap_cnode_get(a, 42), d1));
    JK_CHECK(jk_cap_equal(jk_cap_cnode_get(b, 42), d2));
    jk_cap_hash(a, &ha2);
    JK_CHECK_MEM(ha.bytes, ha2.bytes, 32);
    jk_hash want;
    ref_cnode(a, &want);
    JK_CHECK_MEM(ha2.bytes, want.bytes, 32);
    ref_cnode(b, &want);
    jk_cap_hash(b, &ha2);
    JK_CHECK_MEM(ha2.bytes, want.bytes, 32);
    /* setting the cap already there returns the same value */
    jk_cap same;
    JK_REQUIRE(jk_cap_cnode_set(b, 42, d2, &same) == JK_OK);
    JK_CHECK(same.body == b.body);
    jk_cap_release(same);
    /* refusals leave the output untouched */
    jk_cap none = jk_cap_null();
    JK_CHECK(jk_cap_cnode_set(a, 256, d1, &none) == JK_ERR_CAP_RANGE);
    JK_CHECK(jk_cap_cnode_set(d1, 0, d1, &none) == JK_ERR_CAP_KIND);
    JK_CHECK(jk_cap_is_null(none));
    JK_CHECK(jk_cap_is_null(jk_cap_cnode_get(d1, 0)));
    jk_cap_release(a);
    jk_cap_release(b);
    jk_cap_release(copy);
    jk_cap_release(d1);
    jk_cap_release(d2);
    JK_CHECK_EQ(live(), before);
}

JK_TEST(test_cap_cnode_nesting_bound)
{
    int64_t before = live();
    jk_cap v = small_data(0); /* depth 1 */
    for (unsigned depth = 2; depth <= JK_CAP_MAX_DEPTH; depth++) {
        jk_cap c, next;
        JK_REQUIRE(jk_cap_cnode_new(depth % 3, &c) == JK_OK);
        JK_REQUIRE(jk_cap_cnode_set(c, 0, v, &next) == JK_OK);
        JK_CHECK_EQ(jk_cap_depth(next), depth);
        jk_cap_release(c);
        jk_cap_release(v);
        v = next;
    }
    jk_cap c, next = jk_cap_null();
    JK_REQUIRE(jk_cap_cnode_new(4, &c) == JK_OK);
    JK_CHECK(jk_cap_cnode_set(c, 3, v, &next) == JK_ERR_CAP_TOO_DEEP);
    JK_CHECK(jk_cap_is_null(next));
    jk_hash h;
    jk_cap_hash(v, &h); /* hashing the deepest value is fine */
    jk_cap_release(c);
    jk_cap_release(v);
    JK_CHECK_EQ(live(), before);
}

/* Re-hashing a 65536-slot CNode after one set costs 16 node hashes. */
JK_TEST(test_cap_cnode_rehash_cost_is_logarithmic)
{
    int64_t before = live();
    jk_cap c;
    JK_REQUIRE(jk_cap_cnode_new(16, &c) == JK_OK);
    for (uint32_t i = 0; i < 65536; i += 61) {
        jk_cap d = small_data(i);
        JK_REQUIRE(set_in(&c, i, d) == JK_OK);
        jk_cap_release(d);
    }
    jk_hash h;
    jk_cap_hash(c, &h);
    jk_cap d = small_data(0xFFFF);
    jk_hash hd;
    jk_cap_hash(d, &hd);
    for (uint32_t i = 5; i < 65536; i += 9999) {
        jk_cap c2;
        JK_REQUIRE(jk_cap_cnode_set(c, i, d, &c2) == JK_OK);
        jk_cap_stats s0 = stats();
        jk_cap_hash(c2, &h);
        jk_cap_stats s1 = stats();
        JK_CHECK_EQ(s1.node_hashes - s0.node_hashes, 16);
        JK_CHECK_EQ(s1.root_hashes - s0.root_hashes, 1);
        JK_CHECK_EQ(s1.page_hashes - s0.page_hashes, 0);
        jk_cap_release(c2);
    }
    jk_cap_release(d);
    jk_cap_release(c);
    JK_CHECK_EQ(live(), before);
}

/* jk_cap_cnode_update (issue 16): where the caller holds the only reference
 * it writes in place (same body, no new objects), drops the hashes cached on
 * the path, keeps the canonical tree (an emptied subtree goes away), and
 * gives every step the value jk_cap_cnode_set gives; where another holder
 * shares the CNode or a node on the path, that holder sees no change. */
JK_TEST(test_cap_cnode_update_in_place_and_shared)
{
    int64_t before = live();
    jk_cap c, twin, d1 = small_data(1), d2 = small_data(2);
    JK_REQUIRE(jk_cap_cnode_new(8, &c) == JK_OK);
    JK_REQUIRE(jk_cap_cnode_new(8, &twin) == JK_OK);
    uint32_t slots[] = {7, 200, 7, 201, 0};
    jk_cap vals[] = {d1, d2, d2, d1, d1};
    for (size_t s = 0; s < 5; s++) {
        jk_hash h;
        jk_cap_hash(c, &h); /* a cached hash the update must drop */
        const void *body = c.body;
        JK_REQUIRE(jk_cap_cnode_update(&c, slots[s], vals[s]) == JK_OK);
        JK_REQUIRE(set_in(&twin, slots[s], vals[s]) == JK_OK);
        JK_CHECK(c.body == body);
        JK_CHECK(jk_cap_equal(c, twin));
        jk_hash want;
        ref_cnode(c, &want);
        jk_cap_hash(c, &h);
        JK_CHECK_MEM(h.bytes, want.bytes, 32);
    }
    JK_CHECK_EQ(jk_cap_depth(c), 2);
    /* a write in place creates nothing: c and twin hold equal trees */
    int64_t mid = live();
    JK_REQUIRE(jk_cap_cnode_update(&c, 7, d1) == JK_OK);
    JK_CHECK_EQ(live(), mid);
    JK_REQUIRE(jk_cap_cnode_update(&c, 7, d2) == JK_OK);

    /* shared: the other holder keeps its value, the caller gets the new one */
    jk_cap keep = jk_cap_retain(c);
    jk_hash kh;
    jk_cap_hash(keep, &kh);
    JK_REQUIRE(jk_cap_cnode_update(&c, 200, jk_cap_null()) == JK_OK);
    JK_CHECK(c.body != keep.body);
    JK_CHECK(jk_cap_equal(jk_cap_cnode_get(keep, 200), d2));
    JK_CHECK(jk_cap_is_null(jk_cap_cnode_get(c, 200)));
    jk_hash kh2;
    jk_cap_hash(keep, &kh2);
    JK_CHECK_MEM(kh.bytes, kh2.bytes, 32);
    /* the new body is ours alone, but its path nodes are shared with keep */
    JK_REQUIRE(jk_cap_cnode_update(&c, 201, d2) == JK_OK);
    JK_CHECK(jk_cap_equal(jk_cap_cnode_get(keep, 201), d1));
    jk_cap_release(keep);

    /* emptying every slot gives the canonical empty CNode */
    uint32_t all[] = {0, 7, 201};
    for (size_t s = 0; s < 3; s++)
        JK_REQUIRE(jk_cap_cnode_update(&c, all[s], jk_cap_null()) == JK_OK);
    jk_cap empty;
    JK_REQUIRE(jk_cap_cnode_new(8, &empty) == JK_OK);
    JK_CHECK(jk_cap_equal(c, empty));
    JK_CHECK_EQ(jk_cap_depth(c), 1);
    /* refusals leave *cnode as it was */
    jk_cap was = c;
    JK_CHECK(jk_cap_cnode_update(&c, 256, d1) == JK_ERR_CAP_RANGE);
    JK_CHECK(jk_cap_cnode_update(&d1, 0, d1) == JK_ERR_CAP_KIND);
    JK_CHECK(c.body == was.body);
    jk_cap_release(empty);
    jk_cap_release(c);
    jk_cap_release(twin);
    jk_cap_release(d1);
    jk_cap_release(d2);
    JK_CHECK_EQ(live(), before);
}

/* jk_cap_cnode_update_path (issue 16): writes through nested CNodes held by
 * the caller alone change them in place (no new objects, cached hashes on
 * every level dropped, depths kept), give the value of the chain of sets at
 * every step, copy from the first shared level in (the other holder sees no
 * change), never make a CNode contain itself, and refuse (changing nothing)
 * what the sets refuse, with the same errors. */
JK_TEST(test_cap_cnode_update_path_nested)
{
    int64_t before = live();
    jk_cap c, twin, a, b, d1 = small_data(1), d2 = small_data(2);
    JK_REQUIRE(jk_cap_cnode_new(8, &c) == JK_OK);
    JK_REQUIRE(jk_cap_cnode_new(16, &a) == JK_OK);
    JK_REQUIRE(jk_cap_cnode_new(4, &b) == JK_OK);
    JK_REQUIRE(set_in(&a, 300, b) == JK_OK);
    JK_REQUIRE(set_in(&c, 20, a) == JK_OK);
    jk_cap_release(a);
    jk_cap_release(b);
    twin = jk_cap_retain(c);
    JK_REQUIRE(set_in(&twin, 21, d1) == JK_OK); /* twin: its own value... */
    JK_REQUIRE(set_in(&twin, 21, jk_cap_null()) == JK_OK); /* ...equal to c */
    JK_CHECK(jk_cap_equal(c, twin));

    /* the first write copies (twin shares the nested CNodes), the rest are
     * in place; each matches the chain of sets and drops the cached hashes */
    uint32_t p3[3] = {20, 300, 5}, p2[2] = {20, 7}, q3[3] = {20, 300, 6};
    /* same: the slot held a cap already, so an in-place write creates no
     * object (the others make or free the leaf node of a new or emptied
     * slot pair) */
    struct { const uint32_t *p; unsigned n; jk_cap v; bool same; } steps[] = {
        {p3, 3, d1, false}, {p3, 3, d2, true}, {p2, 2, d1, false},
        {q3, 3, d1, false}, {p3, 3, jk_cap_null(), false}, {p2, 2, d2, true},
    };
    for (size_t s = 0; s < sizeof steps / sizeof steps[0]; s++) {
        jk_hash stale;
        jk_cap_hash(c, &stale);
        jk_cap_hash(jk_cap_cnode_get(c, 20), &stale);
        jk_cap_hash(jk_cap_cnode_get(jk_cap_cnode_get(c, 20), 300), &stale);
        const void *nested = jk_cap_cnode_get(c, 20).body;
        int64_t mid = live();
        JK_REQUIRE(jk_cap_cnode_update_path(&c, steps[s].p, steps[s].n, steps[s].v) == JK_OK);
        JK_REQUIRE(jk_test_set_path(&twin, steps[s].p, steps[s].n, steps[s].v) == JK_OK);
        JK_CHECK(jk_cap_equal(c, twin));
        JK_CHECK(jk_test_same_hash(c, twin));
        JK_CHECK(jk_test_same_hash(jk_cap_cnode_get(c, 20), jk_cap_cnode_get(twin, 20)));
        JK_CHECK_EQ(jk_cap_depth(c), jk_cap_depth(twin));
        if (s > 0) /* in place: the nested CNode is the same object */
            JK_CHECK(jk_cap_cnode_get(c, 20).body == nested);
        if (steps[s].same)
            JK_CHECK_EQ(live(), mid);
    }
    JK_CHECK(jk_cap_cnode_get(c, 20).body != jk_cap_cnode_get(twin, 20).body);

    /* a deeper value raises every level's depth, as the sets do */
    jk_cap deep;
    JK_REQUIRE(jk_cap_cnode_new(1, &deep) == JK_OK);
    JK_REQUIRE(set_in(&deep, 1, d1) == JK_OK);
    JK_REQUIRE(jk_cap_cnode_update_path(&c, q3, 3, deep) == JK_OK);
    JK_REQUIRE(jk_test_set_path(&twin, q3, 3, deep) == JK_OK);
    JK_CHECK_EQ(jk_cap_depth(c), jk_cap_depth(deep) + 3);
    JK_CHECK_EQ(jk_cap_depth(c), jk_cap_depth(twin));
    JK_CHECK(jk_test_same_hash(c, twin));

    /* another holder of a nested CNode keeps its value */
    jk_cap keep = jk_cap_retain(jk_cap_cnode_get(jk_cap_cnode_get(c, 20), 300));
    jk_hash kh, kh2;
    jk_cap_hash(keep, &kh);
    JK_REQUIRE(jk_cap_cnode_update_path(&c, q3, 3, d2) == JK_OK);
    JK_REQUIRE(jk_test_set_path(&twin, q3, 3, d2) == JK_OK);
    jk_cap_hash(keep, &kh2);
    JK_CHECK_MEM(kh.bytes, kh2.bytes, 32);
    JK_CHECK(jk_cap_equal(jk_cap_cnode_get(keep, 6), deep));
    JK_CHECK(jk_test_same_hash(c, twin));
    jk_cap_release(keep);

    /* a nested CNode written into itself (borrowed from the tree, held once):
     * the old value goes in, no CNode contains itself (live() below) */
    JK_REQUIRE(jk_cap_cnode_update_path(&c, q3, 3, jk_cap_cnode_get(c, 20)) == JK_OK);
    JK_REQUIRE(jk_test_set_path(&twin, q3, 3, jk_cap_cnode_get(twin, 20)) == JK_OK);
    JK_CHECK(jk_test_same_hash(c, twin));
    JK_REQUIRE(jk_cap_cnode_update_path(&c, p2, 2, jk_cap_cnode_get(jk_cap_cnode_get(c, 20), 300)) == JK_OK);
    JK_REQUIRE(jk_test_set_path(&twin, p2, 2, jk_cap_cnode_get(jk_cap_cnode_get(twin, 20), 300)) == JK_OK);
    JK_CHECK(jk_test_same_hash(c, twin));

    /* the nesting bound: depth(v) + 3 levels may reach JK_CAP_MAX_DEPTH, not
     * pass it; a refusal changes nothing */
    jk_cap v = jk_cap_retain(d1);
    while (jk_cap_depth(v) < JK_CAP_MAX_DEPTH - 3) {
        jk_cap w;
        JK_REQUIRE(jk_cap_cnode_new(0, &w) == JK_OK);
        JK_REQUIRE(set_in(&w, 0, v) == JK_OK);
        jk_cap_release(v);
        v = w;
    }
    jk_cap w;
    JK_REQUIRE(jk_cap_cnode_new(0, &w) == JK_OK);
    JK_REQUIRE(set_in(&w, 0, v) == JK_OK);
    jk_hash was, now;
    jk_cap_hash(c, &was);
    const void *body = c.body;
    JK_CHECK(jk_cap_cnode_update_path(&c, p3, 3, w) == JK_ERR_CAP_TOO_DEEP);
    JK_CHECK(jk_test_set_path(&twin, p3, 3, w) == JK_ERR_CAP_TOO_DEEP);
    JK_CHECK(c.body == body);
    jk_cap_hash(c, &now);
    JK_CHECK_MEM(was.bytes, now.bytes, 32);
    JK_REQUIRE(jk_cap_cnode_update_path(&c, p3, 3, v) == JK_OK);
    JK_REQUIRE(jk_test_set_path(&twin, p3, 3, v) == JK_OK);
    JK_CHECK_EQ(jk_cap_depth(c), JK_CAP_MAX_DEPTH);
    JK_CHECK(jk_test_same_hash(c, twin));
    jk_cap_release(v);
    jk_cap_release(w);

    /* paths that do not name a slot */
    uint32_t data_at[2] = {20, 9};
    JK_REQUIRE(jk_cap_cnode_update_path(&c, data_at, 2, d1) == JK_OK);
    JK_REQUIRE(jk_test_set_path(&twin, data_at, 2, d1) == JK_OK);
    uint32_t bad_kind[3] = {20, 9, 0}, bad_range[3] = {20, 300, 16}, far[2] = {20, 65536};
    JK_CHECK(jk_cap_cnode_update_path(&c, bad_kind, 3, d1) == JK_ERR_CAP_KIND);
    JK_CHECK(jk_cap_cnode_update_path(&c, bad_range, 3, d1) == JK_ERR_CAP_RANGE);
    JK_CHECK(jk_cap_cnode_update_path(&c, far, 2, d1) == JK_ERR_CAP_RANGE);
    JK_CHECK(jk_cap_cnode_update_path(&c, far, 0, d1) == JK_ERR_INVALID_ARG);
    JK_CHECK(c.body == body);
    JK_CHECK(jk_test_same_hash(c, twin));

    jk_cap_release(deep);
    jk_cap_release(c);
    jk_cap_release(twin);
    jk_cap_release(d1);
    jk_cap_release(d2);
    JK_CHECK_EQ(live(), before);
}

/* The reference for jk_cap_cnode_get_path: jk_cap_cnode_get level by level,
 * with the range and kind checks written out. */
static bool get_path_ref(jk_cap c, const uint32_t *idx, unsigned n, jk_cap *out)
{
    for (unsigned l = 0; l < n; l++) {
        if (jk_cap_kind_of(c) != JK_CAP_CNODE || idx[l] >= jk_cap_cnode_slot_count(c))
            return false;
        c = jk_cap_cnode_get(c, idx[l]);
    }
    *out = c;
    return true;
}

/* The kernel's slot-path walk (issue 16): at every level and size (log2 0,
 * 1, 3, 8, 16), the first and last slots, one past the end, an empty slot
 * and a Data where a CNode should be, each against the reference. */
JK_TEST(test_cap_cnode_get_path_boundaries)
{
    int64_t before = live();
    static const unsigned sizes[] = {0, 1, 3, 8, 16};
    enum { NS = sizeof sizes / sizeof sizes[0] };
    jk_cap d = small_data(7), sentinel = small_data(99);
    for (unsigned top = 0; top < NS; top++) {
        for (unsigned mid = 0; mid < NS; mid++) {
            uint32_t tn = 1u << sizes[top], mn = 1u << sizes[mid];
            jk_cap root, inner;
            JK_REQUIRE(jk_cap_cnode_new(sizes[top], &root) == JK_OK);
            JK_REQUIRE(jk_cap_cnode_new(sizes[mid], &inner) == JK_OK);
            /* Data at the inner CNode's last slot; the root holds the inner
             * CNode at its last slot and Data at its first (when distinct) */
            JK_REQUIRE(set_in(&inner, mn - 1, d) == JK_OK);
            JK_REQUIRE(set_in(&root, tn - 1, inner) == JK_OK);
            if (tn > 1)
                JK_REQUIRE(set_in(&root, 0, d) == JK_OK);
            uint32_t paths[][3] = {
                {tn - 1, mn - 1, 0}, {tn - 1, 0, 0},  {tn - 1, mn, 0}, {tn, 0, 0},
                {0, 0, 0},           {tn - 1, mn - 1, 1}, {tn - 1, 0, 0},
            };
            for (size_t p = 0; p < sizeof paths / sizeof paths[0]; p++) {
                for (unsigned n = 1; n <= 3; n++) {
                    jk_cap got = sentinel, want = sentinel;
                    bool ok = jk_cap_cnode_get_path(root, paths[p], n, &got);
                    bool ref = get_path_ref(root, paths[p], n, &want);
                    JK_CHECK_EQ(ok, ref);
                    /* the same slot (borrowed) — or, refused, untouched */
                    JK_CHECK(got.kind == want.kind && got.body == want.body);
                }
            }
            /* the values the walk must find */
            jk_cap got;
            uint32_t full[2] = {tn - 1, mn - 1}, empty[2] = {tn - 1, mn > 1 ? 0 : mn};
            JK_CHECK(jk_cap_cnode_get_path(root, full, 2, &got) && got.body == d.body);
            if (mn > 1)
                JK_CHECK(jk_cap_cnode_get_path(root, empty, 2, &got) && jk_cap_is_null(got));
            else
                JK_CHECK(!jk_cap_cnode_get_path(root, empty, 2, &got));
            JK_CHECK(jk_cap_cnode_get_path(root, full, 1, &got) && got.body == inner.body);
            JK_CHECK(jk_cap_cnode_get_path(root, full, 0, &got) && got.body == root.body);
            jk_cap_release(inner);
            jk_cap_release(root);
        }
    }
    /* not a CNode at all */
    uint32_t zero = 0;
    jk_cap got = jk_cap_null();
    JK_CHECK(!jk_cap_cnode_get_path(d, &zero, 1, &got));
    JK_CHECK(!jk_cap_cnode_get_path(jk_cap_null(), &zero, 1, &got));
    jk_cap_release(d);
    jk_cap_release(sentinel);
    JK_CHECK_EQ(live(), before);
}

/* In-place updates on random trees (issue 16: the update is a loop over
 * the unique nodes): every step equals the chain of copying sets — value,
 * hash, depth — with empty slots (the canonical form prunes subtrees),
 * nested CNodes (depth) and snapshots held elsewhere (copy-on-write from the
 * first shared node), whose hashes never move. */
JK_TEST(test_cap_cnode_update_random_against_set)
{
    int64_t before = live();
    uint64_t x = 0x9E3779B97F4A7C15u;
    jk_cap vals[4] = {jk_cap_null(), small_data(1), small_data(2), jk_cap_null()};
    JK_REQUIRE(jk_cap_cnode_new(2, &vals[3]) == JK_OK);
    JK_REQUIRE(set_in(&vals[3], 3, vals[1]) == JK_OK);
    static const unsigned sizes[] = {1, 4, 10};
    for (size_t z = 0; z < sizeof sizes / sizeof sizes[0]; z++) {
        jk_cap c, ref, snap[8];
        jk_hash snap_hash[8];
        unsigned nsnap = 0;
        JK_REQUIRE(jk_cap_cnode_new(sizes[z], &c) == JK_OK);
        JK_REQUIRE(jk_cap_cnode_new(sizes[z], &ref) == JK_OK);
        uint32_t n = 1u << sizes[z];
        for (int step = 0; step < 1500; step++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            /* a few hot slots, so that writes meet, empty and refill pairs */
            uint32_t i = (uint32_t)(x >> 8) % (n < 16 ? n : 16);
            if (x & 0x10000)
                i = (uint32_t)(x >> 24) % n;
            jk_cap v = vals[(x >> 40) % 4];
            if ((x >> 50) % 97 == 0 && nsnap < 8) { /* someone else holds c now */
                snap[nsnap] = jk_cap_retain(c);
                jk_cap_hash(c, &snap_hash[nsnap++]);
            }
            if ((x >> 45) % 7 == 0) {
                jk_hash stale;
                jk_cap_hash(c, &stale); /* a cached hash the update must drop */
            }
            JK_REQUIRE(jk_cap_cnode_update(&c, i, v) == JK_OK);
            JK_REQUIRE(set_in(&ref, i, v) == JK_OK);
            JK_CHECK(jk_cap_equal(c, ref));
            JK_CHECK(jk_test_same_hash(c, ref));
            JK_CHECK_EQ(jk_cap_depth(c), jk_cap_depth(ref));
        }
        jk_hash want;
        ref_cnode(c, &want);
        jk_hash got;
        jk_cap_hash(c, &got);
        JK_CHECK_MEM(got.bytes, want.bytes, 32);
        for (unsigned s = 0; s < nsnap; s++) {
            jk_cap_hash(snap[s], &got);
            JK_CHECK_MEM(got.bytes, snap_hash[s].bytes, 32);
            ref_cnode(snap[s], &want);
            JK_CHECK_MEM(got.bytes, want.bytes, 32);
            jk_cap_release(snap[s]);
        }
        JK_CHECK(nsnap > 0);
        jk_cap_release(c);
        jk_cap_release(ref);
    }
    for (int v = 0; v < 4; v++)
        jk_cap_release(vals[v]);
    JK_CHECK_EQ(live(), before);
}
