/*
 * test_chain_app_pending.c — a commit's drop of the block's events from the
 * pending list (src/node/chain_app_pending.c, a table of the block's ids
 * since session 10) against a plain model: exactly the pending transacts
 * whose ids the block carries go, in any order and with repeats in the
 * block, with ids that differ in their last four bytes only; a dispatch
 * event goes when past its age; the
 * rest stays in arrival order. Session 16: the table is placed by the seen
 * set's hash, each pending entry's kept from its admission (seen_h) and the
 * block's handed over by the commit or computed here.
 */
#include "../test.h"

#include "../../src/node/chain_app_internal.h"

#include <stdlib.h>
#include <string.h>

/* Ids that differ in their last four bytes only (one home slot for all
 * while the table hashed the ids' first half, before session 16). */
static void pd_id(uint32_t k, jk_hash *h)
{
    memset(h->bytes, 0xa5, sizeof h->bytes);
    memcpy(h->bytes + 28, &k, sizeof k);
}

static void pd_drop_is_the_model(bool hand_hashes)
{
    enum { P = 3000, B = 2500 };
    jk_node_chain_app *a = calloc(1, sizeof *a);
    JK_REQUIRE(a != NULL);
    a->pending = calloc(P, sizeof *a->pending);
    JK_REQUIRE(a->pending != NULL);
    bool in_block[P] = {false}, keep[P];
    jk_hash *ids = calloc(B, sizeof *ids);
    JK_REQUIRE(ids != NULL);
    for (uint32_t i = 0; i < P; i++) {
        jk_app_pending *p = &a->pending[i];
        pd_id(i, &p->id);
        p->seen_h = jk_node_app_seen_hash(&p->id); /* as its admission kept it */
        p->bytes = malloc(8);
        p->dispatch = i % 7 == 3;
        p->height = p->dispatch && i % 2 ? 1 : 10; /* half the dispatch events expire at 10 */
    }
    a->npending = P;
    /* the block: about half of the pending ids, in another order, and ids
     * of events this node never had */
    for (uint32_t j = 0; j < B; j++) {
        uint32_t k = j >= B - 100 ? (uint32_t)((j - 900u) * 7919u % (2 * P)) /* repeats */
                                  : (uint32_t)(j * 7919u % (2 * P));
        pd_id(k, &ids[j]);
        if (k < P)
            in_block[k] = true;
    }
    uint32_t kept = 0;
    for (uint32_t i = 0; i < P; i++) {
        const jk_app_pending *p = &a->pending[i];
        bool expired = p->dispatch && 10 >= p->height + JK_NODE_DISPATCH_MAX_AGE;
        keep[i] = p->dispatch ? !expired : !in_block[i];
        kept += keep[i];
    }
    jk_chain_block b;
    memset(&b, 0, sizeof b);
    b.event_count = B;
    b.header.number = 10;
    uint64_t *hs = calloc(B, sizeof *hs);
    JK_REQUIRE(hs != NULL);
    for (uint32_t j = 0; j < B; j++)
        hs[j] = jk_node_app_seen_hash(&ids[j]);
    jk_node_app_drop_pending(a, &b, ids, hand_hashes ? hs : NULL);
    free(hs);
    JK_CHECK_EQ(a->npending, kept);
    uint32_t at = 0;
    for (uint32_t i = 0; i < P && at < a->npending; i++) {
        if (!keep[i])
            continue;
        jk_hash want;
        pd_id(i, &want);
        JK_CHECK(!memcmp(a->pending[at].id.bytes, want.bytes, JK_HASH_SIZE));
        at++;
    }
    JK_CHECK_EQ(at, kept);
    JK_CHECK(a->stats.dispatch_expired > 0);
    for (size_t i = 0; i < a->npending; i++)
        free(a->pending[i].bytes);
    free(a->pending);
    free(a);
    free(ids);
}

JK_TEST(test_chain_app_pending_drop_is_the_model)
{
    pd_drop_is_the_model(false);
}

JK_TEST(test_chain_app_pending_drop_with_the_commits_hashes_is_the_model)
{
    pd_drop_is_the_model(true);
}
