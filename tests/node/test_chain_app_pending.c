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
#include "jark/bytes.h"

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

/* A pending transact's gossip encoding of blob (endpoint transact, no
 * traces), its id and seen hash as its admission kept them. */
static void pd_pending(jk_app_pending *p, const uint8_t *blob, size_t n)
{
    memset(p, 0, sizeof *p);
    p->len = 12 + n;
    p->bytes = malloc(p->len);
    jk_put_u32le(p->bytes, JK_CHAIN_ENDPOINT_TRANSACT);
    jk_put_u32le(p->bytes + 4, (uint32_t)n);
    memcpy(p->bytes + 8, blob, n);
    jk_put_u32le(p->bytes + 8 + n, 0);
    jk_chain_event ev = {JK_CHAIN_ENDPOINT_TRANSACT, p->bytes + 8, n};
    jk_chain_event_hash(&ev, &p->id);
    p->seen_h = jk_node_app_seen_hash(&p->id);
}

/* Session 16: a commit takes a block event's id from its pending entry
 * (same endpoint and blob) when it finds it in the pending list's order
 * within a few entries of the last one found, and hashes the rest. Every
 * id and seen hash is the event's own whichever way it came: here the
 * block holds pending events in order with others between them in the
 * list, two out of order, a dispatch event whose blob a pending transact
 * has (not that entry: another endpoint), and events never pending. */
JK_TEST(test_chain_app_block_ids_from_pending_are_the_events_own)
{
    enum { P = 40, B = 30 };
    jk_node_chain_app *a = calloc(1, sizeof *a);
    JK_REQUIRE(a != NULL);
    a->pending = calloc(P, sizeof *a->pending);
    JK_REQUIRE(a->pending != NULL);
    uint8_t blobs[P + 10][20];
    for (int i = 0; i < P + 10; i++)
        for (int k = 0; k < 20; k++)
            blobs[i][k] = (uint8_t)(i * 31 + k * 7 + (k == 0 ? i : 0));
    for (int i = 0; i < P; i++)
        pd_pending(&a->pending[i], blobs[i], 20);
    a->npending = P;
    /* pending 0,1,2, then every other one (the others came later), two
     * swapped, a dispatch event of a pending blob, blobs never pending */
    int pick[B] = {0, 1, 2, 4, 6, 8, 10, 12, 16, 14, 18, 20, 22, 24, -1, 26, 28, 30,
                   P + 1, P + 2, 32, 34, 36, 38, 39, P + 3, P + 4, P + 5, 3, 5};
    jk_chain_block b;
    memset(&b, 0, sizeof b);
    jk_chain_event evs[B];
    for (int j = 0; j < B; j++) {
        int i = pick[j] < 0 ? 7 : pick[j];
        evs[j] = (jk_chain_event){pick[j] < 0 ? 1u : JK_CHAIN_ENDPOINT_TRANSACT, blobs[i], 20};
    }
    b.events = evs;
    b.event_count = B;
    jk_hash ids[B];
    uint64_t hs[B];
    size_t hashed = jk_node_app_block_ids(a, &b, ids, hs);
    size_t want_hashed = 0;
    for (int j = 0; j < B; j++) {
        jk_hash want;
        jk_chain_event_hash(&evs[j], &want);
        JK_CHECK_MEM(ids[j].bytes, want.bytes, 32);
        JK_CHECK_EQ(hs[j], jk_node_app_seen_hash(&want));
        want_hashed += pick[j] < 0 || pick[j] >= P || pick[j] == 14 || pick[j] == 3 || pick[j] == 5;
    }
    /* found: all in order but the swapped 14 (16 came first), the dispatch
     * event, the never-pending ones, and 3 and 5 (behind the last found) */
    JK_CHECK_EQ(hashed, want_hashed);
    JK_CHECK(hashed < B / 2);
    for (size_t i = 0; i < a->npending; i++)
        free(a->pending[i].bytes);
    free(a->pending);
    free(a);
}
