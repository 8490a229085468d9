/*
 * test_cap_threads.c — one value shared by several threads, as the chain
 * layer's per-event verifies will share verify_proto: each thread copies it,
 * hashes it (racing to fill the same caches), changes its own copy, and
 * drops everything. All threads must agree on every hash and, at the end,
 * every object must be freed exactly once. (Run under ThreadSanitizer to
 * check the memory ordering; under ASan this checks the counts.)
 */
#include "../test.h"
#include "cap_test_util.h"

#include "jark/cap.h"

#include <pthread.h>
#include <stdlib.h>

#define THREADS 4

typedef struct worker {
    jk_cap shared;     /* borrowed from the main thread */
    int id;
    jk_hash shared_hash, own_hash;
    bool ok;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    w->ok = true;
    for (int round = 0; round < 50; round++) {
        jk_cap mine = jk_cap_retain(w->shared), data = jk_cap_null(), cn = jk_cap_null(),
               next = jk_cap_null();
        jk_cap_hash(mine, &w->shared_hash);
        /* change this thread's copy: a page of slot 1's Data, then slot 1 */
        uint8_t b = (uint8_t)(w->id * 50 + round);
        if (jk_cap_data_write(jk_cap_cnode_get(mine, 1), 4096 * (uint64_t)w->id, &b, 1,
                              &data) != JK_OK ||
            jk_cap_cnode_set(mine, 1, data, &cn) != JK_OK ||
            jk_cap_cnode_set(cn, 2 + (uint32_t)w->id, data, &next) != JK_OK)
            w->ok = false;
        jk_cap_hash(next, &w->own_hash);
        jk_cap_release(data);
        jk_cap_release(cn);
        jk_cap_release(next);
        jk_cap_release(mine);
    }
    return NULL;
}

JK_TEST(test_cap_threads_shared_value)
{
    int64_t before = live();
    for (int trial = 0; trial < 20; trial++) {
        /* a fresh, never hashed value each trial, so the threads race to
         * compute and cache its hashes */
        uint8_t *bytes = malloc(64 * 4096);
        for (size_t i = 0; i < 64 * 4096; i++)
            bytes[i] = (uint8_t)(i * 131 + (size_t)trial);
        jk_cap d, c, c2, shared;
        JK_REQUIRE(jk_cap_data_new(bytes, 64 * 4096, &d) == JK_OK);
        free(bytes);
        JK_REQUIRE(jk_cap_cnode_new(4, &c) == JK_OK);
        JK_REQUIRE(jk_cap_cnode_set(c, 1, d, &c2) == JK_OK);
        JK_REQUIRE(jk_cap_cnode_set(c2, 0, d, &shared) == JK_OK);
        jk_cap_release(d);
        jk_cap_release(c);
        jk_cap_release(c2);

        worker w[THREADS];
        pthread_t tid[THREADS];
        for (int i = 0; i < THREADS; i++) {
            w[i] = (worker){.shared = shared, .id = i};
            JK_REQUIRE(pthread_create(&tid[i], NULL, work, &w[i]) == 0);
        }
        for (int i = 0; i < THREADS; i++)
            pthread_join(tid[i], NULL);
        jk_hash want;
        jk_cap_hash(shared, &want);
        for (int i = 0; i < THREADS; i++) {
            JK_CHECK(w[i].ok);
            JK_CHECK_MEM(w[i].shared_hash.bytes, want.bytes, 32);
        }
        /* the same work done here, single-threaded, gives the same hashes */
        worker solo = {.shared = shared, .id = 2};
        work(&solo);
        JK_CHECK_MEM(solo.own_hash.bytes, w[2].own_hash.bytes, 32);
        jk_cap_release(shared);
    }
    JK_CHECK_EQ(live(), before);
}

/* The deepest value the nesting bound allows (64 levels of 65,536-slot
 * CNodes, each nested in the last slot of the next) can be hashed, exported
 * and freed on a thread with a 2 MiB stack: every recursion is bounded by
 * JK_CAP_MAX_DEPTH × tree height (an -O2 build needs under 192 KiB). */
static jk_err deep_has(void *ctx, const jk_hash *h, bool *present)
{
    (void)ctx;
    (void)h;
    *present = false;
    return JK_OK;
}

static jk_err deep_put(void *ctx, const jk_hash *h, const uint8_t *bytes, size_t len)
{
    (void)h;
    (void)bytes;
    (void)len;
    ++*(size_t *)ctx;
    return JK_OK;
}

static void *deep_work(void *arg)
{
    jk_cap *deep = arg;
    jk_hash h;
    size_t puts = 0;
    jk_cap_hash(*deep, &h);
    jk_cap_sink sink = {&puts, deep_has, deep_put};
    if (jk_cap_export(*deep, &sink, NULL) != JK_OK || puts != 2 + 63 * 17)
        return NULL;
    jk_cap_release(*deep);
    return deep;
}

JK_TEST(test_cap_threads_deepest_value_on_a_small_stack)
{
    int64_t before = live();
    jk_cap v;
    JK_REQUIRE(jk_cap_data_new("x", 1, &v) == JK_OK);
    for (unsigned d = 2; d <= JK_CAP_MAX_DEPTH; d++) {
        jk_cap c, next;
        JK_REQUIRE(jk_cap_cnode_new(16, &c) == JK_OK);
        JK_REQUIRE(jk_cap_cnode_set(c, 65535, v, &next) == JK_OK);
        jk_cap_release(c);
        jk_cap_release(v);
        v = next;
    }
    JK_CHECK_EQ(jk_cap_depth(v), JK_CAP_MAX_DEPTH);
    pthread_attr_t attr;
    pthread_t tid;
    void *result = NULL;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, (size_t)2 << 20);
    JK_REQUIRE(pthread_create(&tid, &attr, deep_work, &v) == 0);
    pthread_join(tid, &result);
    pthread_attr_destroy(&attr);
    JK_CHECK(result == &v);
    if (!result)
        jk_cap_release(v);
    JK_CHECK_EQ(live(), before);
}

/* live_objects is counted per thread and summed on read (issue 16: no
 * locked add on a shared counter per object made and dropped). Objects made
 * on one thread and dropped on another, by threads that are still running
 * or have exited, must still sum to the objects alive: a thread's count is
 * read while it runs and kept when it exits. */
typedef struct live_worker {
    jk_cap made;                /* made here (alloc), or given to drop */
    bool drop;                  /* drop `made` instead of making it */
    pthread_barrier_t *hold;    /* if set: wait twice before exiting */
    bool ok;
} live_worker;

static jk_err make_value(jk_cap *out)
{
    jk_cap d, c;
    jk_err e = jk_cap_data_new("live", 4, &d);
    if (e != JK_OK)
        return e;
    e = jk_cap_cnode_new(4, &c);
    if (e == JK_OK) {
        e = jk_cap_cnode_set(c, 3, d, out);
        jk_cap_release(c);
    }
    jk_cap_release(d);
    return e;
}

static void *live_work(void *arg)
{
    live_worker *w = arg;
    if (w->drop) {
        jk_cap_release(w->made);
        w->made = jk_cap_null();
        w->ok = true;
    } else {
        w->ok = make_value(&w->made) == JK_OK;
    }
    if (w->hold) {
        pthread_barrier_wait(w->hold); /* the main thread reads live() now */
        pthread_barrier_wait(w->hold);
    }
    return NULL;
}

static void live_run(live_worker *w)
{
    pthread_t tid;
    if (pthread_create(&tid, NULL, live_work, w) != 0) {
        w->ok = false;
        return;
    }
    pthread_join(tid, NULL);
}

JK_TEST(test_cap_threads_live_count_across_threads)
{
    int64_t before = live();
    jk_cap v;
    JK_REQUIRE(make_value(&v) == JK_OK);
    int64_t k = live() - before; /* objects in one value: CNode body, nodes, Data */
    JK_CHECK(k >= 3);
    jk_cap_release(v);
    JK_CHECK_EQ(live(), before);

    /* made on a thread that exits: still counted; dropped here */
    live_worker a = {0};
    live_run(&a);
    JK_REQUIRE(a.ok);
    JK_CHECK_EQ(live(), before + k);
    jk_cap_release(a.made);
    JK_CHECK_EQ(live(), before);

    /* made here, dropped on a thread that exits */
    live_worker b = {.drop = true};
    JK_REQUIRE(make_value(&b.made) == JK_OK);
    live_run(&b);
    JK_REQUIRE(b.ok);
    JK_CHECK_EQ(live(), before);

    /* made on a thread that is still running, read while it runs; then
     * dropped on another running thread, read while both run */
    pthread_barrier_t hold;
    JK_REQUIRE(pthread_barrier_init(&hold, NULL, 3) == 0);
    live_worker c = {.hold = &hold}, d = {.drop = true, .hold = &hold};
    pthread_t tc, td;
    JK_REQUIRE(make_value(&d.made) == JK_OK);
    JK_REQUIRE(pthread_create(&tc, NULL, live_work, &c) == 0);
    JK_REQUIRE(pthread_create(&td, NULL, live_work, &d) == 0);
    pthread_barrier_wait(&hold);
    JK_CHECK(c.ok && d.ok);
    JK_CHECK_EQ(live(), before + k); /* c's value alive, d's dropped */
    pthread_barrier_wait(&hold);
    pthread_join(tc, NULL);
    pthread_join(td, NULL);
    pthread_barrier_destroy(&hold);
    JK_CHECK_EQ(live(), before + k);
    jk_cap_release(c.made);
    JK_CHECK_EQ(live(), before);
}
