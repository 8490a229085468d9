/* test_chain_app_commit.c — session 9: the commit takes the block that
 * valid() checked or get_value produced under the decided id, decoded
 * already (stats.commit_decodes counts the commits that had to decode it),
 * and hashes the block's events once for the chain's pool and its own
 * pending list (jk_chain_apply_block_import_ids). The outcome — roots,
 * pools, pending lists — is that of a commit that decodes and hashes for
 * itself. */
#include "chain_app_fx.h"
#include "../../src/chain/internal.h"
#include "../../src/node/chain_app_internal.h"

JK_TEST(test_chain_app_commit_takes_the_checked_block)
{
    static fx f;
    JK_REQUIRE(fx_make(&f));
    /* height 1 as consensus drives it: produce, valid everywhere, commit */
    JK_REQUIRE(fx_gossip(&f, 1, 12) == 12);
    jk_cons_cert c;
    JK_REQUIRE(fx_decide(&f, 1, 0, &c));
    for (uint32_t i = 0; i < V; i++) {
        JK_CHECK_EQ(fx_stats(&f, i).commit_decodes, 0); /* the proposer's produced block, the others' checked one */
        JK_CHECK_EQ(jk_node_chain_app_pending_count(f.apps[i]), 0);
        JK_CHECK_EQ(jk_node_chain_app_validator(f.apps[i])->ck->pool_count, 0);
    }

    /* height 2: events pending at every app, some left for later (a second
     * gossip after the value was made). The round-0 proposer p (app 2)
     * checks the round-1 proposer's value last, and the round-1 proposer q
     * (app 3) never checks the round-0 value (its memo is its own): both
     * decode the decided round-0 block at its commit */
    JK_REQUIRE(fx_gossip(&f, 2, 8) == 8);
    uint32_t p = jk_chain_proposer_index(V, 2, 0);
    uint8_t *value = NULL, *other = NULL;
    size_t len = 0, olen = 0;
    JK_REQUIRE(f.cb[p].get_value(f.apps[p], 2, 0, &value, &len) == JK_OK);
    JK_REQUIRE(fx_gossip(&f, 3, 4) == 4);
    uint32_t q = jk_chain_proposer_index(V, 2, 1);
    JK_REQUIRE(p == 2 && q == 3);
    JK_REQUIRE(f.cb[q].get_value(f.apps[q], 2, 1, &other, &olen) == JK_OK);
    jk_hash id;
    f.cb[0].hash(f.apps[0], value, len, &id);
    for (uint32_t i = 0; i < V; i++) {
        if (i == q)
            continue;
        JK_CHECK(f.cb[i].valid(f.apps[i], 2, value, len));
        if (i == p)
            JK_CHECK(f.cb[i].valid(f.apps[i], 2, other, olen));
    }
    fx_cert(&f, 2, 0, &id, &c);
    for (uint32_t i = 0; i < V; i++)
        JK_CHECK(f.cb[i].commit(f.apps[i], 2, value, len, &c) == JK_OK);
    free(value);
    free(other);
    jk_hash r0, ri;
    fx_root(&f, 0, &r0);
    for (uint32_t i = 0; i < V; i++) {
        JK_CHECK_EQ(fx_stats(&f, i).commit_decodes, i == p || i == q ? 1 : 0);
        fx_root(&f, i, &ri);
        JK_CHECK_MEM(ri.bytes, r0.bytes, 32);
        /* the 4 gossiped after the value are pending everywhere, in the
         * chain's pool too (the proposer q of round 1 rewound) */
        JK_CHECK_EQ(jk_node_chain_app_pending_count(f.apps[i]), 4);
        JK_CHECK_EQ(jk_node_chain_app_validator(f.apps[i])->ck->pool_count, 4);
    }
    /* and they make the next block everywhere */
    JK_REQUIRE(fx_decide(&f, 3, 0, &c));
    JK_CHECK_EQ(fx_stats(&f, 0).last_events, 4);
    for (uint32_t i = 0; i < V; i++)
        JK_CHECK_EQ(jk_node_chain_app_pending_count(f.apps[i]), 0);
    fx_free(&f);
}

/* Session 10: the commit drops the old head with jk_cap_release_later, so
 * what the block replaced is freed by the next allocations on the loop
 * thread, not inside the commit; the roots are those of a commit that frees
 * at once, and closing the apps frees what is still waiting. */
JK_TEST(test_chain_app_commit_frees_the_old_head_later)
{
    static fx f;
    jk_cap_release_later_drain();
    JK_REQUIRE(fx_make(&f));
    JK_REQUIRE(fx_gossip(&f, 1, 12) == 12);
    jk_cons_cert c;
    JK_REQUIRE(fx_decide(&f, 1, 0, &c));
    /* the last app's commit left its old head waiting (genesis is held by
     * the fixture too, so the first height frees little: a second one) */
    JK_REQUIRE(fx_gossip(&f, 2, 12) == 12);
    JK_REQUIRE(fx_decide(&f, 2, 0, &c));
    JK_CHECK(jk_cap_release_later_count() > 0);
    jk_hash r0, ri;
    fx_root(&f, 0, &r0);
    for (uint32_t i = 1; i < V; i++) {
        fx_root(&f, i, &ri);
        JK_CHECK_MEM(ri.bytes, r0.bytes, 32);
    }
    JK_CHECK_EQ(fx_stats(&f, 0).last_events, 12);
    fx_free(&f);
    JK_CHECK_EQ(jk_cap_release_later_count(), 0); /* the close drained it */
}

/* A block taken through jk_node_validator_import (the round-robin devnet's
 * path for the validators that did not produce it) is final there: its
 * traces leave the importer's signature cache, as the chain app's commit
 * lets them go. Without the forget they stayed, taking ways from pending
 * events until oldest-first replacement pushed them out. */
JK_TEST(test_chain_app_import_forgets_the_committed_traces)
{
    static fx f;
    JK_REQUIRE(fx_make(&f));
    JK_REQUIRE(fx_gossip(&f, 1, 12) == 12);
    uint32_t p = jk_chain_proposer_index(V, 1, 0), other = (p + 1) % V;
    uint8_t *value = NULL;
    size_t len = 0;
    JK_REQUIRE(f.cb[p].get_value(f.apps[p], 1, 0, &value, &len) == JK_OK);
    jk_node_value *val = malloc(sizeof *val);
    JK_REQUIRE(val && jk_node_value_decode(value, len, val, NULL) == JK_OK);
    jk_chain_block block;
    JK_REQUIRE(jk_chain_block_decode(val->block, val->block_len, &block, NULL) == JK_OK);
    JK_REQUIRE(block.trace_count > 0);
    jk_node_validator *v = jk_node_chain_app_validator(f.apps[other]);
    size_t cached = 0;
    for (size_t i = 0; i < block.trace_count; i++)
        cached += jk_chain_sig_cached(v->ck, &block.traces[i]);
    JK_CHECK_EQ(cached, block.trace_count); /* admitted from the gossip: each checked once */
    jk_diag diag = {{0}};
    JK_CHECK_EQ(jk_node_validator_import(v, val->block, val->block_len, 1, &diag), JK_OK);
    JK_CHECK_EQ(v->height, 1);
    cached = 0;
    for (size_t i = 0; i < block.trace_count; i++)
        cached += jk_chain_sig_cached(v->ck, &block.traces[i]);
    JK_CHECK_EQ(cached, 0);
    jk_chain_block_free(&block);
    free(val);
    free(value);
    fx_free(&f);
}

/* Session 13 (net13's reading): an event a node first meets inside a block
 * (the proposer had it; this node's gossip copy was still on its way) is
 * checked with the block and committed, and its traces leave the signature
 * cache at the commit. Its gossip copy, arriving after, was then new to the
 * seen set: verify ran again (one more Ed25519 check an event at each such
 * node) only to refuse it. Now the commit remembers the block's events as
 * seen: the copy is told "already committed" and nothing runs. */
JK_TEST(test_chain_app_late_gossip_copy_of_a_committed_event_runs_nothing)
{
    static fx f;
    JK_REQUIRE(fx_make(&f));
    uint32_t p = jk_chain_proposer_index(V, 1, 0);
    jk_devnet_demo_block(&f.demo, &f.genesis.genesis_hash, 1, 6, &f.gossip);
    JK_REQUIRE(f.gossip.n == 6);
    uint8_t *bytes[6] = {0};
    size_t lens[6] = {0};
    jk_hash ids[6];
    for (size_t e = 0; e < 6; e++) {
        JK_REQUIRE(fx_encode(&f, e, &bytes[e], &lens[e]) == JK_OK);
        jk_chain_event_hash(&f.gossip.events[e], &ids[e]);
        JK_REQUIRE(f.cb[p].add_event(f.apps[p], bytes[e], lens[e])); /* the proposer's only */
    }
    uint8_t *value = NULL;
    size_t len = 0;
    JK_REQUIRE(f.cb[p].get_value(f.apps[p], 1, 0, &value, &len) == JK_OK);
    jk_hash id;
    f.cb[p].hash(f.apps[p], value, len, &id);
    for (uint32_t i = 0; i < V; i++)
        if (i != p)
            JK_CHECK(f.cb[i].valid(f.apps[i], 1, value, len));
    jk_cons_cert c;
    fx_cert(&f, 1, 0, &id, &c);
    for (uint32_t i = 0; i < V; i++)
        JK_CHECK(f.cb[i].commit(f.apps[i], 1, value, len, &c) == JK_OK);
    free(value);
    JK_CHECK_EQ(fx_stats(&f, p).last_events, 6);
    for (uint32_t i = 0; i < V; i++) {
        if (i == p)
            continue;
        jk_node_validator *v = jk_node_chain_app_validator(f.apps[i]);
        uint64_t runs = v->ck->stats.verify_runs, sigs = jk_crypto_ed25519_verifies();
        for (size_t e = 0; e < 6; e++) {
            JK_CHECK(!f.cb[i].add_event(f.apps[i], bytes[e], lens[e])); /* the late copy */
            jk_node_event_verdict vd;
            JK_REQUIRE(jk_node_chain_app_verdict(f.apps[i], &ids[e], &vd));
            JK_CHECK_EQ(vd.kind, JK_NODE_VERDICT_COMMITTED);
        }
        JK_CHECK_EQ(v->ck->stats.verify_runs, runs);
        JK_CHECK_EQ(jk_crypto_ed25519_verifies(), sigs);
        JK_CHECK_EQ(jk_node_chain_app_pending_count(f.apps[i]), 0);
    }
    for (size_t e = 0; e < 6; e++)
        free(bytes[e]);
    fx_free(&f);
}

/* Session 16: a pending entry keeps the seen set's hash of its id from its
 * admission (prepared in a turn, or one by one), which the commit's drop
 * probes the block's ids with: it must be that id's hash, or the drop would
 * keep events a block carried. Then the block's events leave every
 * pending list and are seen (a late copy is a repeat). */
JK_TEST(test_chain_app_pending_keeps_its_seen_hash)
{
    static fx f;
    JK_REQUIRE(fx_make(&f));
    enum { N = 10 };
    uint8_t *batch[N] = {0};
    size_t lens[N] = {0};
    JK_REQUIRE(fx_batch(&f, 1, N, batch, lens, N) == N);
    for (uint32_t i = 0; i < V; i++) {
        /* the first six in one prepared turn, the rest one by one */
        JK_REQUIRE(jk_node_chain_app_prepare(f.apps[i], (const uint8_t *const *)batch, lens, 6,
                                             NULL) == JK_OK);
        for (size_t e = 0; e < N; e++) {
            if (e == 6)
                jk_node_chain_app_prepare_end(f.apps[i]);
            JK_CHECK(f.cb[i].add_event(f.apps[i], batch[e], lens[e]));
        }
        const jk_node_chain_app *a = f.apps[i];
        JK_REQUIRE(a->npending == N);
        for (size_t k = 0; k < a->npending; k++) {
            jk_hash want;
            jk_chain_event_hash(&f.gossip.events[k], &want);
            JK_CHECK_MEM(a->pending[k].id.bytes, want.bytes, 32);
            JK_CHECK_EQ(a->pending[k].seen_h, jk_node_app_seen_hash(&want));
        }
    }
    jk_cons_cert c;
    JK_REQUIRE(fx_decide(&f, 1, 0, &c));
    JK_CHECK_EQ(fx_stats(&f, 0).last_events, N);
    for (uint32_t i = 0; i < V; i++) {
        /* every block event was pending, in the same order: no id hashed */
        JK_CHECK_EQ(fx_stats(&f, i).commit_ids_hashed, 0);
        JK_CHECK_EQ(jk_node_chain_app_pending_count(f.apps[i]), 0);
        for (size_t e = 0; e < N; e++) {
            jk_hash id;
            bool found;
            jk_chain_event_hash(&f.gossip.events[e], &id);
            (void)jk_node_app_seen_find(f.apps[i], &id, &found);
            JK_CHECK(found);
        }
    }
    for (size_t e = 0; e < N; e++)
        free(batch[e]);
    fx_free(&f);
}
