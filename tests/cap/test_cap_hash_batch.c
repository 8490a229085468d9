/*
 * test_cap_hash_batch.c — CNode inner nodes hashed four at a time
 * (src/cap/cap_hash.c, jk_cnode_tree_hash, session 10) against a reference
 * written from docs/cap.md that hashes node by node and CNodes nested in
 * slots by itself: a tree larger than the batch buffer (several flushes), a
 * CNode holding a copy of itself (nodes shared between the outer tree and
 * the nested one, which the outer batch has claimed), nesting deeper than
 * the batch levels, each fresh node hashed exactly once, and the slots'
 * small Data (batched too) of every page length.
 */
#include "../test.h"
#include "cap_test_util.h"

#include "jark/cap.h"

#include <stdlib.h>

static jk_cap hb_data(uint32_t v)
{
    uint8_t b[8] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24), 0xab, 0xcd, 0, 1};
    jk_cap d = jk_cap_null();
    jk_cap_data_new(b, sizeof b, &d);
    return d;
}

static void hb_ref(jk_cap c, jk_hash *out);

static void hb_ref_sub(jk_cap c, uint32_t first, unsigned h, jk_hash *out)
{
    if (h == 0) {
        jk_cap v = jk_cap_cnode_get(c, first);
        if (jk_cap_is_null(v))
            memset(out->bytes, 0, 32);
        else
            hb_ref(v, out);
        return;
    }
    jk_hash l, r;
    hb_ref_sub(c, first, h - 1, &l);
    hb_ref_sub(c, first + (1u << (h - 1)), h - 1, &r);
    jk_test_node_hash(&l, &r, out);
}

/* A Data of at most one page, from its bytes (docs/cap.md): the root
 * record 0x01 ‖ length u64 ‖ page hash, the page record 0x02 ‖ n u32 ‖
 * bytes (zero hash for the empty Data's absent page). */
static void hb_ref_data(jk_cap d, jk_hash *out)
{
    uint64_t n = jk_cap_data_len(d);
    uint8_t page[5 + 4096], rec[41] = {0x01};
    jk_hash ph = {{0}};
    if (n) {
        page[0] = 0x02;
        for (int b = 0; b < 4; b++)
            page[1 + b] = (uint8_t)(n >> (8 * b));
        JK_CHECK(jk_cap_data_read(d, 0, page + 5, (size_t)n) == JK_OK);
        jk_crypto_blake2b256(page, 5 + (size_t)n, &ph);
    }
    for (int b = 0; b < 8; b++)
        rec[1 + b] = (uint8_t)(n >> (8 * b));
    memcpy(rec + 9, ph.bytes, 32);
    jk_crypto_blake2b256(rec, sizeof rec, out);
}

/* A CNode's hash (0x04 ‖ log2 ‖ root) with every nested CNode's and
 * one-page Data's hash computed here too; other values through
 * jk_cap_hash. */
static void hb_ref(jk_cap c, jk_hash *out)
{
    if (jk_cap_kind_of(c) == JK_CAP_DATA && jk_cap_data_len(c) <= 4096) {
        hb_ref_data(c, out);
        return;
    }
    if (jk_cap_kind_of(c) != JK_CAP_CNODE) {
        jk_cap_hash(c, out);
        return;
    }
    unsigned k = jk_cap_cnode_log2(c);
    uint8_t buf[34] = {0x04, (uint8_t)k};
    jk_hash root;
    hb_ref_sub(c, 0, k, &root);
    memcpy(buf + 2, root.bytes, 32);
    jk_crypto_blake2b256(buf, sizeof buf, out);
}

/* c's hash through the code under test equals the reference. */
static void hb_check(jk_cap c)
{
    jk_hash got, want;
    jk_cap_hash(c, &got);
    hb_ref(c, &want);
    JK_CHECK_MEM(got.bytes, want.bytes, 32);
}

static jk_cap hb_filled(unsigned k, uint32_t salt)
{
    uint32_t n = 1u << k;
    jk_cap *slots = calloc(n, sizeof *slots);
    if (!slots)
        abort();
    for (uint32_t i = 0; i < n; i++)
        slots[i] = hb_data(i * 7919u + salt);
    jk_cap c = jk_cap_null();
    jk_err err = jk_cap_cnode_new_filled(k, slots, n, &c);
    JK_CHECK_EQ(err, JK_OK);
    for (uint32_t i = 0; i < n; i++)
        jk_cap_release(slots[i]);
    free(slots);
    return c;
}

JK_TEST(test_cap_hash_batch_large_tree_equals_reference_and_hashes_each_node_once)
{
    int64_t before = live();
    jk_cap c = hb_filled(12, 1); /* 4,095 inner nodes: 16 batch flushes */
    /* the slots' Data first, so that the count below is the inner nodes */
    for (uint32_t i = 0; i < 4096; i++) {
        jk_hash ignored;
        jk_cap_hash(jk_cap_cnode_get(c, i), &ignored);
    }
    jk_cap_stats s0, s1;
    jk_cap_stats_get(&s0);
    jk_hash got, want;
    jk_cap_hash(c, &got);
    jk_cap_stats_get(&s1);
    JK_CHECK_EQ(s1.node_hashes - s0.node_hashes, 4095);
    hb_ref(c, &want);
    JK_CHECK_MEM(got.bytes, want.bytes, 32);
    /* one slot changed: its path of 12 nodes hashed again, nothing else */
    jk_cap d = hb_data(999999), next;
    JK_REQUIRE(jk_cap_cnode_set(c, 1234, d, &next) == JK_OK);
    jk_cap_hash(d, &got);
    jk_cap_stats_get(&s0);
    jk_cap_hash(next, &got);
    jk_cap_stats_get(&s1);
    JK_CHECK_EQ(s1.node_hashes - s0.node_hashes, 12);
    hb_ref(next, &want);
    JK_CHECK_MEM(got.bytes, want.bytes, 32);
    jk_cap_release(d);
    jk_cap_release(next);
    jk_cap_release(c);
    JK_CHECK_EQ(live(), before);
}

JK_TEST(test_cap_hash_batch_cnode_holding_a_copy_of_itself)
{
    int64_t before = live();
    jk_cap a = hb_filled(8, 2);
    /* b shares all of a's nodes but one path, and holds a in slot 5: the
     * nested tree's nodes are the outer batch's, claimed and not hashed
     * yet, when slot 5's value is hashed */
    jk_cap b = jk_cap_null();
    JK_REQUIRE(jk_cap_cnode_set(a, 5, a, &b) == JK_OK);
    hb_check(b);
    hb_check(a);
    jk_cap_release(b);
    jk_cap_release(a);
    JK_CHECK_EQ(live(), before);
}

JK_TEST(test_cap_hash_batch_nested_deeper_than_the_batch_levels)
{
    int64_t before = live();
    /* eight CNodes, each a fresh 16-slot tree holding the next in slot 3 */
    jk_cap inner = hb_filled(4, 100);
    for (uint32_t level = 0; level < 7; level++) {
        jk_cap outer = hb_filled(4, 200 + level), next;
        JK_REQUIRE(jk_cap_cnode_set(outer, 3, inner, &next) == JK_OK);
        jk_cap_release(outer);
        jk_cap_release(inner);
        inner = next;
    }
    hb_check(inner);
    jk_cap_release(inner);
    JK_CHECK_EQ(live(), before);
}

JK_TEST(test_cap_hash_batch_small_data_of_every_page_length)
{
    int64_t before = live();
    /* 256 slots: Data of 0..128 bytes (a page record of one block up to
     * 123 bytes, two blocks past it), some slots sharing one Data, some
     * empty, one Data hashed before */
    uint8_t bytes[128];
    for (int i = 0; i < 128; i++)
        bytes[i] = (uint8_t)(i * 37 + 11);
    jk_cap c;
    JK_REQUIRE(jk_cap_cnode_new(8, &c) == JK_OK);
    jk_cap shared = jk_cap_null(), early = jk_cap_null();
    JK_REQUIRE(jk_cap_data_new(bytes, 50, &shared) == JK_OK);
    JK_REQUIRE(jk_cap_data_new(bytes + 3, 60, &early) == JK_OK);
    jk_hash h;
    jk_cap_hash(early, &h);
    for (uint32_t i = 0; i < 256; i++) {
        jk_cap d = jk_cap_null(), next;
        if (i % 9 == 4)
            continue;
        if (i % 17 == 0)
            d = jk_cap_retain(shared);
        else if (i == 200)
            d = jk_cap_retain(early);
        else
            JK_REQUIRE(jk_cap_data_new(bytes, i % 129, &d) == JK_OK);
        JK_REQUIRE(jk_cap_cnode_set(c, i, d, &next) == JK_OK);
        jk_cap_release(d);
        jk_cap_release(c);
        c = next;
    }
    hb_check(c);
    /* each slot's cached hash is its own */
    jk_hash got, want;
    int bad = 0;
    for (uint32_t i = 0; i < 256; i++) {
        jk_cap v = jk_cap_cnode_get(c, i);
        if (jk_cap_is_null(v))
            continue;
        jk_cap_hash(v, &got);
        hb_ref_data(v, &want);
        bad += memcmp(got.bytes, want.bytes, 32) != 0;
    }
    JK_CHECK_EQ(bad, 0);
    jk_cap_release(shared);
    jk_cap_release(early);
    jk_cap_release(c);
    JK_CHECK_EQ(live(), before);
}
