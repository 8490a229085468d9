/*
 * test_chain_app_pacing.c — the chain app's answers to the consensus
 * machine's pacing questions (docs/node.md "Block pacing", "Block size"):
 * idle (nothing for a block: the empty-blocks wait) and propose_extra_ms
 * (the propose timeout's extra time for the proposal's expected size).
 */
#include "chain_app_fx.h"

static void no_feed(void *ctx, uint64_t height)
{
    (void)ctx;
    (void)height;
}

JK_TEST(test_chain_app_idle_and_propose_extra)
{
    static fx f;
    JK_REQUIRE(fx_make(&f));
    jk_cons_app *cb = &f.cb[1];
    JK_REQUIRE(cb->idle && cb->propose_extra_ms);
    /* a fresh chain: nothing pooled, no queue */
    JK_CHECK(cb->idle(f.apps[1], 1));
    JK_CHECK_EQ(cb->propose_extra_ms(f.apps[1], 1, 0), 0);
    /* 10 transfers pooled: not idle; 1 ms each by default */
    JK_CHECK_EQ(fx_gossip(&f, 1, 10), 10);
    JK_CHECK(!cb->idle(f.apps[1], 1));
    JK_CHECK_EQ(cb->propose_extra_ms(f.apps[1], 1, 0), 10 * JK_NODE_PROPOSE_US_PER_EVENT / 1000);
    /* at most the block cap's worth; the cost per event is the app's */
    jk_node_chain_app_set_max_block_events(f.apps[1], 4);
    JK_CHECK_EQ(cb->propose_extra_ms(f.apps[1], 1, 0), 4 * JK_NODE_PROPOSE_US_PER_EVENT / 1000);
    jk_node_chain_app_set_propose_cost(f.apps[1], 2500);
    JK_CHECK_EQ(cb->propose_extra_ms(f.apps[1], 1, 3), 10);
    jk_node_chain_app_set_max_block_events(f.apps[1], JK_NODE_MAX_BLOCK_EVENTS);
    /* the block takes them: idle again, no extra time */
    jk_cons_cert c1;
    JK_REQUIRE(fx_decide(&f, 1, 0, &c1));
    JK_CHECK_EQ(jk_node_chain_app_pending_count(f.apps[1]), 0);
    JK_CHECK(cb->idle(f.apps[1], 2));
    JK_CHECK_EQ(cb->propose_extra_ms(f.apps[1], 2, 0), 0);
    /* a produce hook feeds the pool from elsewhere: never idle */
    jk_node_chain_app_set_produce_hook(f.apps[1], no_feed, NULL);
    JK_CHECK(!cb->idle(f.apps[1], 2));
    jk_node_chain_app_set_produce_hook(f.apps[1], NULL, NULL);
    JK_CHECK(cb->idle(f.apps[1], 2));
    fx_free(&f);
}
