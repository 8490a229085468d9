/*
 * test_cap_cache.c — objects reused from the per-thread cache (cap.c) are
 * as good as new: a value built from the objects another value left behind
 * hashes exactly as the same value built in a fresh thread (whose cache is
 * empty, so every object comes from malloc), and the live count is exact.
 * A recycled object that kept its cached hash, its children or its depth
 * would change the first hash.
 */
#include "../test.h"

#include "jark/cap.h"

#include <pthread.h>

/* A root CNode with `n` slots holding one-byte Data (byte = seed + slot),
 * hashed; everything released but the hash. */
static void cc_build(uint8_t seed, int n, jk_hash *out)
{
    jk_cap cnode, next;
    if (jk_cap_cnode_new(JK_CAP_ROOT_LOG2, &cnode) != JK_OK)
        return;
    for (int i = 1; i <= n; i++) {
        uint8_t b = (uint8_t)(seed + i);
        jk_cap d;
        if (jk_cap_data_new(&b, 1, &d) != JK_OK)
            break;
        if (jk_cap_cnode_set(cnode, (uint32_t)i * 7 % 256, d, &next) == JK_OK) {
            jk_cap_release(cnode);
            cnode = next;
        }
        jk_cap_release(d);
    }
    jk_cap_hash(cnode, out);
    jk_cap_release(cnode);
}

typedef struct cc_job {
    jk_hash h;
} cc_job;

static void *cc_fresh(void *arg)
{
    cc_build(100, 60, &((cc_job *)arg)->h);
    return NULL;
}

JK_TEST(test_cap_cache_reused_objects_are_new)
{
    jk_cap_stats s0, s1;
    jk_cap_stats_get(&s0);
    jk_hash first, again, other;
    cc_build(1, 60, &first);  /* leaves its nodes in this thread's cache */
    cc_build(100, 60, &other); /* built from them */
    cc_build(1, 60, &again);
    JK_CHECK(!memcmp(first.bytes, again.bytes, JK_HASH_SIZE));
    JK_CHECK(memcmp(first.bytes, other.bytes, JK_HASH_SIZE) != 0);
    cc_job job;
    pthread_t t;
    JK_REQUIRE(pthread_create(&t, NULL, cc_fresh, &job) == 0);
    pthread_join(t, NULL); /* its cache is freed as it exits */
    JK_CHECK(!memcmp(other.bytes, job.h.bytes, JK_HASH_SIZE));
    jk_cap_stats_get(&s1);
    JK_CHECK_EQ(s1.live_objects, s0.live_objects);
}

/* ---- the free lists' byte budget and the release loop (session 8) ---- */

#include "../../src/cap/internal.h"

#if defined(__SANITIZE_ADDRESS__)
#define CC_LISTS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CC_LISTS 0
#endif
#endif
#ifndef CC_LISTS
#define CC_LISTS 1
#endif

/* A CNode of 2^log2 slots, every slot holding d (one shared Data) when d is
 * given, else its own one-byte Data; in-place updates, so no garbage. */
static jk_cap cc_full(unsigned log2, bool shared)
{
    jk_cap c = jk_cap_null(), d = jk_cap_null();
    if (jk_cap_cnode_new(log2, &c) != JK_OK)
        return jk_cap_null();
    uint8_t b = 7;
    if (shared && jk_cap_data_new(&b, 1, &d) != JK_OK)
        return c;
    for (uint32_t i = 0; i < (1u << log2); i++) {
        jk_cap v = d;
        b = (uint8_t)i;
        if (!shared && jk_cap_data_new(&b, 1, &v) != JK_OK)
            break;
        JK_CHECK_EQ(jk_cap_cnode_update(&c, i, v), JK_OK);
        if (!shared)
            jk_cap_release(v);
    }
    jk_cap_release(d);
    return c;
}

typedef struct cc_usage {
    size_t blocks_small, bytes_small, blocks_big, bytes_big;
    int64_t live_before, live_after;
} cc_usage;

static void *cc_budget_thread(void *arg)
{
    cc_usage *u = arg;
    jk_cap_stats s;
    jk_cap_stats_get(&s);
    u->live_before = s.live_objects;
    /* 2^13 slots: 8,191 CNode nodes, ~7,600 of them of the plain size (no
     * read index), more than the 4,096 a type the lists held before */
    jk_cap c = cc_full(13, true);
    jk_cap_release(c);
    jk_cap_cache_usage(&u->blocks_small, &u->bytes_small);
    /* 2^16 slots of their own Data: ~16 MB of objects, over the budget */
    c = cc_full(16, false);
    jk_cap_release(c);
    jk_cap_cache_usage(&u->blocks_big, &u->bytes_big);
    jk_cap_stats_get(&s);
    u->live_after = s.live_objects;
    return NULL;
}

/* A thread's free lists keep what a dropped value left behind up to the byte
 * budget, whatever its types (a batch of verified events drops mostly CNode
 * nodes of one size), and never more than the budget. On a fresh thread, so
 * that the lists start empty. */
JK_TEST(test_cap_cache_budget_in_bytes_not_per_type)
{
    cc_usage u;
    pthread_t t;
    JK_REQUIRE(pthread_create(&t, NULL, cc_budget_thread, &u) == 0);
    pthread_join(t, NULL);
    JK_CHECK_EQ(u.live_after, u.live_before);
    if (CC_LISTS) {
        JK_CHECK(u.blocks_small >= 8191);
        JK_CHECK(u.bytes_small <= JK_CACHE_BYTES);
        JK_CHECK(u.bytes_big <= JK_CACHE_BYTES);
        JK_CHECK(u.bytes_big > JK_CACHE_BYTES - 4096);
    } else {
        JK_CHECK_EQ(u.blocks_small, 0);
        JK_CHECK_EQ(u.bytes_big, 0);
    }
}

/* The last release frees a value deeper than its loop's stack of pending
 * objects (JK_DEAD_STACK): nested 2^16-slot CNodes, the inner one in the
 * last slot and a Data in the sibling subtree at every level of the path to
 * it, leave 16 pending siblings a CNode (the loop goes down the right link
 * first).
 * Every object is freed (the live count) and nothing else is (a snapshot
 * of an inner CNode stays whole and hashes as before). */
JK_TEST(test_cap_release_deep_value_past_the_pending_stack)
{
    jk_cap_stats s0, s1;
    jk_cap_stats_get(&s0);
    uint8_t b = 1;
    jk_cap inner, leaf, keep = jk_cap_null();
    JK_REQUIRE(jk_cap_data_new(&b, 1, &inner) == JK_OK);
    JK_REQUIRE(jk_cap_data_new(&b, 1, &leaf) == JK_OK);
    jk_hash kept_hash = {{0}};
    for (int level = 0; level < 12; level++) {
        jk_cap c;
        JK_REQUIRE(jk_cap_cnode_new(16, &c) == JK_OK);
        for (unsigned j = 0; j < 16; j++)
            JK_CHECK_EQ(jk_cap_cnode_update(&c, 65535u ^ (1u << j), leaf), JK_OK);
        JK_CHECK_EQ(jk_cap_cnode_update(&c, 65535, inner), JK_OK);
        jk_cap_release(inner);
        inner = c;
        if (level == 5) {
            keep = jk_cap_retain(c);
            jk_cap_hash(keep, &kept_hash);
        }
    }
    jk_cap_release(inner);
    jk_cap_release(leaf);
    jk_hash again;
    jk_cap_hash(keep, &again);
    JK_CHECK_MEM(again.bytes, kept_hash.bytes, JK_HASH_SIZE);
    JK_CHECK_EQ(jk_cap_cnode_get(keep, 65535).kind, JK_CAP_CNODE);
    jk_cap_release(keep);
    jk_cap_stats_get(&s1);
    JK_CHECK_EQ(s1.live_objects, s0.live_objects);
}
