/*
 * test_cap_later.c — jk_cap_release_later (cap.c, session 10): a value
 * whose last reference is released "later" is freed a few objects at a
 * time by the thread's next allocations, never an object another holder
 * still reaches, and entirely by jk_cap_release_later_drain or the thread's
 * exit; the live count says so at every step.
 */
#include "../test.h"
#include "cap_test_util.h"

#include <pthread.h>

/* A CNode of 2^10 slots, every third slot a small Data (and slot 5 a
 * nested 4-slot CNode holding one), and a snapshot of it with one slot
 * changed: the two share all but one path. */
static void lt_build(jk_cap *big, jk_cap *snap)
{
    jk_cap c, next, inner, d;
    JK_REQUIRE(jk_cap_cnode_new(10, &c) == JK_OK);
    for (uint32_t i = 0; i < 1024; i += 3) {
        uint8_t b[40];
        memset(b, (int)(i & 0xff), sizeof b);
        b[0] = (uint8_t)(i >> 8);
        JK_REQUIRE(jk_cap_data_new(b, sizeof b, &d) == JK_OK);
        JK_REQUIRE(jk_cap_cnode_update(&c, i, d) == JK_OK);
        jk_cap_release(d);
    }
    JK_REQUIRE(jk_cap_cnode_new(2, &inner) == JK_OK);
    JK_REQUIRE(jk_cap_data_new("in", 2, &d) == JK_OK);
    JK_REQUIRE(jk_cap_cnode_update(&inner, 1, d) == JK_OK);
    jk_cap_release(d);
    JK_REQUIRE(jk_cap_cnode_update(&c, 5, inner) == JK_OK);
    jk_cap_release(inner);
    JK_REQUIRE(jk_cap_data_new("x", 1, &d) == JK_OK);
    JK_REQUIRE(jk_cap_cnode_set(c, 9, d, &next) == JK_OK);
    jk_cap_release(d);
    *big = c;
    *snap = next;
}

JK_TEST(test_cap_release_later_frees_a_few_per_allocation)
{
    jk_cap_release_later_drain();
    int64_t l0 = live();
    jk_cap big, snap;
    lt_build(&big, &snap);
    jk_hash hsnap, hagain;
    jk_cap_hash(snap, &hsnap);
    int64_t l1 = live();
    /* big's own objects: the root path of slot 9 that snap replaced */
    jk_cap_release_later(big);
    JK_CHECK_EQ(jk_cap_release_later_count(), 1);
    JK_CHECK_EQ(live(), l1); /* nothing freed yet: the body waits */
    /* each allocation frees at most two of the waiting objects */
    jk_cap made[64];
    int64_t before = live();
    size_t steps = 0;
    for (; steps < 64 && jk_cap_release_later_count() > 0; steps++) {
        JK_REQUIRE(jk_cap_data_new("y", 1, &made[steps]) == JK_OK);
        int64_t now = live();
        /* the Data is 3 objects here (body, page, buffer: the buffer is no
         * object), each allocation frees at most 2 */
        JK_CHECK(now >= before + 2 - 2 * 2);
        before = now;
    }
    JK_CHECK(steps >= 3);                      /* spread, not at once */
    JK_CHECK_EQ(jk_cap_release_later_count(), 0);
    /* the snapshot is whole: nothing it reaches was freed */
    JK_CHECK_EQ(jk_cap_cnode_slot_count(snap), 1024);
    jk_cap_hash(snap, &hagain);
    JK_CHECK_MEM(hagain.bytes, hsnap.bytes, 32);
    jk_cap inner = jk_cap_cnode_get(snap, 5), got;
    JK_CHECK(jk_cap_cnode_get_path(snap, (const uint32_t[]){5, 1}, 2, &got));
    JK_CHECK_EQ(jk_cap_data_len(got), 2);
    JK_CHECK_EQ(jk_cap_kind_of(inner), JK_CAP_CNODE);
    for (size_t i = 0; i < steps; i++)
        jk_cap_release(made[i]);
    /* now snap alone: releasing it later and draining frees everything */
    jk_cap_release_later(snap);
    JK_CHECK(live() > l0);
    jk_cap_release_later_drain();
    JK_CHECK_EQ(jk_cap_release_later_count(), 0);
    JK_CHECK_EQ(live(), l0);
}

JK_TEST(test_cap_release_later_of_a_shared_value_frees_nothing)
{
    jk_cap_release_later_drain();
    int64_t l0 = live();
    jk_cap big, snap;
    lt_build(&big, &snap);
    int64_t l1 = live();
    jk_cap_release_later(jk_cap_retain(big)); /* not the last reference */
    JK_CHECK_EQ(jk_cap_release_later_count(), 0);
    JK_CHECK_EQ(live(), l1);
    jk_cap_release_later(jk_cap_null());
    JK_CHECK_EQ(jk_cap_release_later_count(), 0);
    jk_cap_release(big);
    jk_cap_release(snap);
    JK_CHECK_EQ(live(), l0);
}

static void *lt_thread(void *arg)
{
    jk_cap big, snap;
    lt_build(&big, &snap);
    jk_cap_release(snap);
    jk_cap_release_later(big);
    *(size_t *)arg = jk_cap_release_later_count();
    return NULL; /* exits with the list full: its exit frees it */
}

JK_TEST(test_cap_release_later_freed_at_thread_exit)
{
    int64_t l0 = live();
    size_t waiting = 0;
    pthread_t t;
    JK_REQUIRE(pthread_create(&t, NULL, lt_thread, &waiting) == 0);
    pthread_join(t, NULL);
    JK_CHECK_EQ(waiting, 1);
    JK_CHECK_EQ(live(), l0);
    JK_CHECK_EQ(jk_cap_release_later_count(), 0); /* this thread's is its own */
}
