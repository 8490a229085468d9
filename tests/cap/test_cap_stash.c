/*
 * test_cap_stash.c — the thread's stash of CNode chains (cap.c, cnode.c;
 * docs/cap.md "Session 14"): a dead CNode whose tree is one path held by
 * it alone leaves that path for the next write along it, the stash keeps
 * several such chains, and a refilled chain is as good as new (the same
 * hashes and reads as a tree made from fresh nodes). On a fresh thread
 * each, so that the stash starts empty. Fails without session 14's body
 * free (nothing kept: kept8) or with one chain kept (kept1, kept2).
 */
#include "../test.h"

#include "jark/cap.h"
#include "../../src/cap/internal.h"

#include <pthread.h>

/* A fresh 2^log2-slot CNode with a one-byte Data (byte b) in each slot of
 * `slots` (n of them), written in place. */
static jk_cap cs_cnode(unsigned log2, const uint32_t *slots, int n, uint8_t b)
{
    jk_cap c;
    if (jk_cap_cnode_new(log2, &c) != JK_OK)
        return jk_cap_null();
    for (int k = 0; k < n; k++) {
        jk_cap d;
        uint8_t v = (uint8_t)(b + k);
        if (jk_cap_data_new(&v, 1, &d) != JK_OK || jk_cap_cnode_update(&c, slots[k], d) != JK_OK)
            JK_CHECK(false);
        jk_cap_release(d);
    }
    return c;
}

typedef struct cs_result {
    bool kept8, kept1, kept2, none_two_paths, none_shared, none_after;
    bool leaf_empty, kept_value_alive;
    jk_hash refilled, fresh;
    bool reads_ok, copied, pair_made[2], pair_took[2];
    jk_hash pair[2], pair_fresh[2];
    int64_t live_before, live_after;
} cs_result;

static void *cs_thread(void *arg)
{
    cs_result *r = arg;
    jk_cap_stats s;
    jk_cap_stats_get(&s);
    r->live_before = s.live_objects;

    /* one slot of a 256-slot CNode (a verify's event cnode): its 8 nodes
     * are kept, the leaf emptied, the value it held dropped (ours lives) */
    uint8_t b = 9;
    jk_cap d, c;
    if (jk_cap_data_new(&b, 1, &d) != JK_OK || jk_cap_cnode_new(8, &c) != JK_OK ||
        jk_cap_cnode_update(&c, 20, d) != JK_OK)
        return NULL; /* the checks below fail */
    jk_cnode_node *root = jk_cnode_of(c)->root;
    jk_cap_release(c);
    /* two more chains of other heights: the stash keeps all three */
    uint32_t s1 = 1, s0 = 0;
    jk_cap c1 = cs_cnode(1, &s1, 1, 3), c2 = cs_cnode(2, &s0, 1, 4);
    jk_cap_release(c1);
    jk_cap_release(c2);
    jk_cnode_node *top = jk_cap_chain_unstash(8, 20);
    r->kept8 = top == root;
    if (top) {
        jk_cnode_node *n = top;
        for (unsigned l = 8; l > 1; l--)
            n = n->u.kid[(20u >> (l - 1)) & 1];
        r->leaf_empty = !n->u.slot[0].body && !n->u.slot[1].body;
        jk_cap_obj_release(&top->o);
    }
    r->kept_value_alive = atomic_load(&jk_cap_obj(d)->refs) == 1;
    jk_cnode_node *t1 = jk_cap_chain_unstash(1, 1), *t2 = jk_cap_chain_unstash(2, 0);
    r->kept1 = t1 != NULL;
    r->kept2 = t2 != NULL;
    if (t1)
        jk_cap_obj_release(&t1->o);
    if (t2)
        jk_cap_obj_release(&t2->o);

    /* not kept: two paths; a tree another value shares; a null slot written */
    uint32_t two[2] = {20, 200};
    c = cs_cnode(8, two, 2, 5);
    jk_cap_release(c);
    r->none_two_paths = !jk_cap_chain_unstash(8, 20) && !jk_cap_chain_unstash(8, 200);
    /* slot 20's path from height 4 down shared with a copy that wrote
     * slot 9: c's death leaves that path to the copy */
    c = cs_cnode(8, two, 1, 6);
    jk_cap other = jk_cap_null();
    r->copied = jk_cap_cnode_set(c, 9, d, &other) == JK_OK;
    jk_cap_release(c);
    r->none_shared = !jk_cap_chain_unstash(8, 20);
    jk_cap_release(other); /* two paths */
    r->none_after = !jk_cap_chain_unstash(8, 20) && !jk_cap_chain_unstash(8, 9);

    /* a refilled chain hashes and reads as new: 2^16 slots, slot 51,234 */
    uint32_t far = 51234;
    c = cs_cnode(16, &far, 1, 7);
    jk_cap_release(c); /* kept */
    c = cs_cnode(16, &far, 1, 8); /* refilled from it */
    jk_cap_hash(c, &r->refilled);
    jk_cap got = jk_cap_cnode_get(c, far);
    uint8_t byte = 0;
    r->reads_ok = jk_cap_kind_of(got) == JK_CAP_DATA && jk_cap_data_read(got, 0, &byte, 1) == JK_OK &&
                  byte == 8 && jk_cap_is_null(jk_cap_cnode_get(c, far ^ 1)) &&
                  jk_cap_is_null(jk_cap_cnode_get(c, far ^ 16));
    jk_cap_release(c);

    /* a scratchpad (slots 0 and 1 of 4) made from a kept chain of its
     * shape, either slot of the leaf; then one with slot 1 alone */
    jk_cap pad[2], xy[2];
    uint8_t x = 1, y = 2;
    if (jk_cap_data_new(&x, 1, &xy[0]) != JK_OK || jk_cap_data_new(&y, 1, &xy[1]) != JK_OK)
        return NULL;
    for (int k = 0; k < 2; k++) {
        for (uint32_t bit = 0; bit < 2; bit++) { /* the last pad's chain: not this one */
            jk_cnode_node *was = jk_cap_chain_unstash(2, bit);
            if (was)
                jk_cap_obj_release(&was->o);
        }
        uint32_t one = 1;
        jk_cap old = cs_cnode(2, &one, 1, 11); /* kept as (2, 1) */
        jk_cap_release(old);
        jk_cap first = k ? jk_cap_null() : xy[0];
        r->pair_made[k] = jk_cap_cnode_new_filled(2, (jk_cap[2]){first, xy[1]}, 2, &pad[k]) == JK_OK;
        jk_cnode_node *left = jk_cap_chain_unstash(2, 1);
        r->pair_took[k] = !left;
        if (left)
            jk_cap_obj_release(&left->o);
        if (r->pair_made[k]) {
            jk_cap_hash(pad[k], &r->pair[k]);
            jk_cap_release(pad[k]);
        }
    }
    jk_cap_release(xy[0]);
    jk_cap_release(xy[1]);
    jk_cap_release(d);
    jk_cap_release_later_drain();
    jk_cap_stats_get(&s);
    r->live_after = s.live_objects;
    return NULL;
}

/* The same 2^16-slot value made by a copy (jk_cap_cnode_set: fresh nodes),
 * and the two scratchpads from fresh nodes. */
static void *cs_fresh(void *arg)
{
    cs_result *r = arg;
    uint8_t v = 8;
    jk_cap d, c, out;
    if (jk_cap_data_new(&v, 1, &d) != JK_OK || jk_cap_cnode_new(16, &c) != JK_OK)
        return NULL;
    if (jk_cap_cnode_set(c, 51234, d, &out) == JK_OK) {
        jk_cap_hash(out, &r->fresh);
        jk_cap_release(out);
    }
    jk_cap_release(c);
    jk_cap_release(d);
    uint8_t x = 1, y = 2;
    jk_cap xy[2], pad;
    if (jk_cap_data_new(&x, 1, &xy[0]) != JK_OK || jk_cap_data_new(&y, 1, &xy[1]) != JK_OK)
        return NULL;
    for (int k = 0; k < 2; k++)
        if (jk_cap_cnode_new_filled(2, (jk_cap[2]){k ? jk_cap_null() : xy[0], xy[1]}, 2, &pad) == JK_OK) {
            jk_cap_hash(pad, &r->pair_fresh[k]);
            jk_cap_release(pad);
        }
    jk_cap_release(xy[0]);
    jk_cap_release(xy[1]);
    return NULL;
}

JK_TEST(test_cap_stash_keeps_a_dead_one_path_tree)
{
    cs_result r;
    memset(&r, 0, sizeof r);
    pthread_t t;
    JK_REQUIRE(pthread_create(&t, NULL, cs_thread, &r) == 0);
    pthread_join(t, NULL);
    JK_REQUIRE(pthread_create(&t, NULL, cs_fresh, &r) == 0);
    pthread_join(t, NULL);
    JK_CHECK(r.kept8);
    JK_CHECK(r.leaf_empty);
    JK_CHECK(r.kept_value_alive);
    JK_CHECK(r.kept1);
    JK_CHECK(r.kept2);
    JK_CHECK(r.none_two_paths);
    JK_CHECK(r.copied);
    JK_CHECK(r.none_shared);
    JK_CHECK(r.none_after);
    JK_CHECK(r.reads_ok);
    JK_CHECK(!jk_hash_is_zero(&r.fresh));
    JK_CHECK_MEM(r.refilled.bytes, r.fresh.bytes, JK_HASH_SIZE);
    for (int k = 0; k < 2; k++) {
        JK_CHECK(r.pair_made[k]);
        JK_CHECK(r.pair_took[k]);
        JK_CHECK(!jk_hash_is_zero(&r.pair_fresh[k]));
        JK_CHECK_MEM(r.pair[k].bytes, r.pair_fresh[k].bytes, JK_HASH_SIZE);
    }
    JK_CHECK_EQ(r.live_after, r.live_before);
}
