/*
 * test_cap_cnode_stale.c — in-place writes that stop on their way up
 * (docs/cap.md, "Session 9: fewer walks and fewer nodes per write"): an
 * up-walk ends at the first node whose hash was already stale and whose
 * depth did not move. These tests write many times between two hashings
 * (so writes meet paths an earlier write left stale), through one CNode
 * and through nested ones (jk_cap_cnode_update_path), with values of
 * several depths (so depths move up and down), slots emptied and filled
 * (subtrees freed and made again, read index entries redone), and
 * snapshots taken at random points; after every write the reads through
 * the index and the depth must equal those of a reference built with
 * jk_cap_cnode_set, and at every hashing the hash must equal the
 * reference's. An up-walk that stopped one level too early leaves a
 * cached hash or a depth stale, or an index entry naming a freed node.
 */
#include "../test.h"
#include "cap_test_util.h"

#include "jark/cap.h"

static uint64_t next_rand(uint64_t *x)
{
    *x ^= *x << 13, *x ^= *x >> 7, *x ^= *x << 17;
    return *x;
}

static jk_cap data_of(uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    jk_cap d = jk_cap_null();
    jk_cap_data_new(b, sizeof b, &d);
    return d;
}

JK_TEST(test_cap_cnode_stale_paths_one_cnode)
{
    int64_t before = live();
    uint64_t x = 0x2545F4914F6CDD1Du;
    /* values of depth 1, 2 and 3: a write moves a path's depth both ways */
    jk_cap vals[5] = {jk_cap_null(), data_of(1), data_of(2), jk_cap_null(), jk_cap_null()};
    JK_REQUIRE(jk_cap_cnode_new(1, &vals[3]) == JK_OK);
    JK_REQUIRE(jk_cap_cnode_update(&vals[3], 0, vals[1]) == JK_OK);
    JK_REQUIRE(jk_cap_cnode_new(1, &vals[4]) == JK_OK);
    JK_REQUIRE(jk_cap_cnode_update(&vals[4], 1, vals[3]) == JK_OK);
    static const unsigned sizes[] = {3, 8, 10, 16};
    for (size_t z = 0; z < sizeof sizes / sizeof sizes[0]; z++) {
        uint32_t n = 1u << sizes[z];
        uint32_t hot[24];
        for (unsigned j = 0; j < 24; j++) /* clustered: writes share paths, pairs empty and refill */
            hot[j] = (uint32_t)(next_rand(&x) >> 20) & (n - 1) & (j < 12 ? ~0x3fu : ~0u);
        jk_cap c, ref, snap = jk_cap_null();
        jk_hash snap_hash = {{0}};
        JK_REQUIRE(jk_cap_cnode_new(sizes[z], &c) == JK_OK);
        JK_REQUIRE(jk_cap_cnode_new(sizes[z], &ref) == JK_OK);
        for (int step = 0; step < 3000; step++) {
            uint64_t r = next_rand(&x);
            uint32_t i = hot[r % 24] ^ ((uint32_t)(r >> 30) & 0x7 & (n - 1));
            jk_cap v = vals[(r >> 40) % 5];
            if ((r >> 50) % 11 == 0) {
                JK_CHECK(jk_test_same_hash(c, ref)); /* caches some hashes: later writes must drop them */
            }
            if ((r >> 56) % 97 == 0 && !snap.body) {
                snap = jk_cap_retain(c);
                jk_cap_hash(snap, &snap_hash);
            }
            JK_REQUIRE(jk_cap_cnode_update(&c, i, v) == JK_OK);
            JK_REQUIRE(jk_test_set_path(&ref, &i, 1, v) == JK_OK);
            JK_CHECK_EQ(jk_cap_depth(c), jk_cap_depth(ref));
            for (unsigned j = 0; j < 24; j += 3) {
                jk_cap got;
                JK_CHECK(jk_cap_cnode_get_path(c, &hot[j], 1, &got) &&
                         jk_cap_same(got, jk_cap_cnode_get(ref, hot[j])));
            }
            if ((r >> 58) % 53 == 0 && snap.body) {
                jk_hash h;
                jk_cap_hash(snap, &h);
                JK_CHECK_MEM(h.bytes, snap_hash.bytes, 32);
                jk_cap_release(snap);
                snap = jk_cap_null();
            }
        }
        JK_CHECK(jk_test_same_hash(c, ref));
        jk_cap_release(snap);
        jk_cap_release(c);
        jk_cap_release(ref);
    }
    for (int v = 0; v < 5; v++)
        jk_cap_release(vals[v]);
    JK_CHECK_EQ(live(), before);
}

JK_TEST(test_cap_cnode_stale_paths_nested)
{
    int64_t before = live();
    uint64_t x = 0x853C49E6748FEA9Bu;
    jk_cap vals[4] = {jk_cap_null(), data_of(7), data_of(8), jk_cap_null()};
    JK_REQUIRE(jk_cap_cnode_new(2, &vals[3]) == JK_OK);
    JK_REQUIRE(jk_cap_cnode_update(&vals[3], 2, vals[2]) == JK_OK);
    /* the demo's shape: a 256-slot root, a 2^16-slot tree in slot 23, and
     * a 2^8 CNode below one of its slots (paths of 2 and 3 levels) */
    jk_cap c, ref, tree, sub;
    JK_REQUIRE(jk_cap_cnode_new(8, &c) == JK_OK);
    JK_REQUIRE(jk_cap_cnode_new(16, &tree) == JK_OK);
    JK_REQUIRE(jk_cap_cnode_new(8, &sub) == JK_OK);
    JK_REQUIRE(jk_cap_cnode_update(&tree, 0x1234, sub) == JK_OK);
    JK_REQUIRE(jk_cap_cnode_update(&c, 23, tree) == JK_OK);
    jk_cap_release(sub);
    jk_cap_release(tree);
    ref = jk_cap_retain(c); /* shared at first: the first writes copy */
    for (int step = 0; step < 4000; step++) {
        uint64_t r = next_rand(&x);
        uint32_t idx[3] = {23, (uint32_t)(r >> 8) & 0xff0f, (uint32_t)(r >> 32) & 0x1f};
        unsigned count = 2;
        if (r % 5 == 0) {
            idx[1] = 0x1234;
            count = 3;
        } else if (r % 7 == 0) {
            idx[0] = (uint32_t)(r >> 24) % 22; /* a root slot of its own */
            count = 1;
        }
        jk_cap v = vals[(r >> 44) % 4];
        if ((r >> 52) % 13 == 0)
            JK_CHECK(jk_test_same_hash(c, ref));
        jk_err want = jk_test_set_path(&ref, idx, count, v);
        JK_CHECK_EQ(jk_cap_cnode_update_path(&c, idx, count, v), want);
        JK_CHECK_EQ(jk_cap_depth(c), jk_cap_depth(ref));
        jk_cap a, b;
        JK_CHECK_EQ(jk_cap_cnode_get_path(c, idx, count, &a), jk_cap_cnode_get_path(ref, idx, count, &b));
        JK_CHECK(jk_cap_same(a, b) || jk_cap_equal(a, b));
    }
    JK_CHECK(jk_test_same_hash(c, ref));
    jk_cap_release(c);
    jk_cap_release(ref);
    for (int v = 0; v < 4; v++)
        jk_cap_release(vals[v]);
    JK_CHECK_EQ(live(), before);
}

/* The chain a null write empties is kept for the write that refills the
 * slot (docs/cap.md): refilled, the CNode must equal one built by sets; a
 * snapshot taken between the two must keep the slot empty; a refill of
 * another slot (no match) and a CNode freed with a chain still kept must
 * leave the values right and the live count where it was. */
JK_TEST(test_cap_cnode_stale_pruned_chain_refilled)
{
    int64_t before = live();
    jk_cap a = data_of(11), b = data_of(12), d3;
    JK_REQUIRE(jk_cap_cnode_new(2, &d3) == JK_OK); /* depth 2 */
    JK_REQUIRE(jk_cap_cnode_update(&d3, 1, a) == JK_OK);
    int64_t held = live(); /* a, b and d3 */
    static const uint32_t slots[] = {0x0000, 0x1234, 0xfedc, 0x1235, 0x8000};
    for (int round = 0; round < 4; round++) {
        jk_cap c, ref;
        JK_REQUIRE(jk_cap_cnode_new(16, &c) == JK_OK);
        for (int j = 0; j < 5; j++)
            JK_REQUIRE(jk_cap_cnode_update(&c, slots[j], j % 2 ? a : b) == JK_OK);
        ref = jk_cap_retain(c);
        JK_REQUIRE(jk_cap_cnode_update(&c, 0, jk_cap_null()) == JK_OK); /* c copies: ref holds it */
        jk_hash h;
        jk_cap_hash(c, &h); /* hashes cached on the path the next writes take */
        uint32_t at = slots[1 + round];
        JK_REQUIRE(jk_cap_cnode_update(&c, at, jk_cap_null()) == JK_OK); /* in place: a chain kept */
        jk_cap snap = jk_cap_retain(c), snap_ref;
        JK_REQUIRE(jk_cap_cnode_set(ref, 0, jk_cap_null(), &snap_ref) == JK_OK);
        jk_cap tmp;
        JK_REQUIRE(jk_cap_cnode_set(snap_ref, at, jk_cap_null(), &tmp) == JK_OK);
        jk_cap_release(snap_ref);
        snap_ref = tmp;
        jk_cap v = round == 2 ? d3 : a;
        uint32_t again = round == 3 ? 0x4321 : at; /* round 3: another slot, the chain not taken */
        JK_REQUIRE(jk_cap_cnode_update(&c, again, v) == JK_OK); /* c is shared with snap: copies */
        jk_cap_release(snap);
        snap = jk_cap_retain(c);
        JK_REQUIRE(jk_cap_cnode_update(&c, again, jk_cap_null()) == JK_OK);
        JK_REQUIRE(jk_cap_cnode_update(&c, again, v) == JK_OK);
        /* snap and c hold the same value; ref's path is untouched */
        JK_REQUIRE(jk_cap_cnode_set(snap_ref, again, v, &tmp) == JK_OK);
        JK_CHECK(jk_test_same_hash(c, tmp));
        JK_CHECK(jk_test_same_hash(snap, tmp));
        JK_CHECK_EQ(jk_cap_depth(c), jk_cap_depth(tmp));
        JK_CHECK(jk_cap_same(jk_cap_cnode_get(c, again), v));
        JK_CHECK(jk_cap_is_null(jk_cap_cnode_get(snap_ref, at)));
        JK_CHECK(jk_cap_same(jk_cap_cnode_get(ref, at), (1 + round) % 2 ? a : b));
        /* a chain left kept when everything is dropped */
        JK_REQUIRE(jk_cap_cnode_update(&c, slots[4], jk_cap_null()) == JK_OK);
        jk_cap_release(tmp);
        jk_cap_release(snap_ref);
        jk_cap_release(snap);
        jk_cap_release(ref);
        jk_cap_release(c);
        JK_CHECK_EQ(live(), held); /* a kept chain counts as dead */
    }
    jk_cap_release(d3);
    jk_cap_release(a);
    jk_cap_release(b);
    JK_CHECK_EQ(live(), before);
}
