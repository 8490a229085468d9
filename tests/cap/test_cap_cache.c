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
