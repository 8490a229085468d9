/*
 * test_cap_hash_counts.c — jk_cap_stats' hash counts are kept per thread and
 * summed on read (cap.c: no locked add on a shared counter per hash, issue
 * 16): hashes computed on a thread that still runs, and on one that exited,
 * must all be in the sums.
 */
#include "../test.h"
#include "jark/cap.h"

#include <pthread.h>

/* A fresh value: a 16-slot CNode holding a 5-byte Data, hashed whole. */
static bool hash_fresh_value(void)
{
    jk_cap d, c, v;
    if (jk_cap_data_new("count", 5, &d) != JK_OK)
        return false;
    if (jk_cap_cnode_new(4, &c) != JK_OK) {
        jk_cap_release(d);
        return false;
    }
    jk_err e = jk_cap_cnode_set(c, 9, d, &v);
    jk_cap_release(c);
    jk_cap_release(d);
    if (e != JK_OK)
        return false;
    jk_hash h;
    jk_cap_hash(v, &h);
    jk_cap_release(v);
    return true;
}

typedef struct {
    pthread_barrier_t *hold; /* if set: wait twice before exiting */
    bool ok;
} hash_worker;

static void *hash_work(void *arg)
{
    hash_worker *w = arg;
    w->ok = hash_fresh_value();
    if (w->hold) {
        pthread_barrier_wait(w->hold); /* the main thread reads the counts now */
        pthread_barrier_wait(w->hold);
    }
    return NULL;
}

static void counts(uint64_t out[3])
{
    jk_cap_stats s;
    jk_cap_stats_get(&s);
    out[0] = s.page_hashes;
    out[1] = s.node_hashes;
    out[2] = s.root_hashes;
}

static void check_delta(const uint64_t before[3], const uint64_t one[3], uint64_t times)
{
    uint64_t now[3];
    counts(now);
    for (int i = 0; i < 3; i++)
        JK_CHECK_EQ(now[i] - before[i], one[i] * times);
}

JK_TEST(test_cap_hash_counts_summed_over_threads)
{
    uint64_t before[3], after[3], one[3];
    counts(before);
    JK_REQUIRE(hash_fresh_value());
    counts(after);
    for (int i = 0; i < 3; i++)
        one[i] = after[i] - before[i];
    JK_CHECK(one[0] >= 1 && one[1] >= 1 && one[2] >= 2); /* a page; CNode nodes; Data and CNode bodies */

    /* on a thread that has exited */
    counts(before);
    hash_worker a = {0};
    pthread_t ta;
    JK_REQUIRE(pthread_create(&ta, NULL, hash_work, &a) == 0);
    pthread_join(ta, NULL);
    JK_REQUIRE(a.ok);
    check_delta(before, one, 1);

    /* on a thread that still runs, read while it runs and after it exits */
    counts(before);
    pthread_barrier_t hold;
    JK_REQUIRE(pthread_barrier_init(&hold, NULL, 2) == 0);
    hash_worker b = {.hold = &hold};
    pthread_t tb;
    JK_REQUIRE(pthread_create(&tb, NULL, hash_work, &b) == 0);
    pthread_barrier_wait(&hold);
    JK_CHECK(b.ok);
    check_delta(before, one, 1);
    pthread_barrier_wait(&hold);
    pthread_join(tb, NULL);
    pthread_barrier_destroy(&hold);
    check_delta(before, one, 1);
    /* and here again: the counts only grow */
    JK_REQUIRE(hash_fresh_value());
    check_delta(before, one, 2);
}
