/*
 * test_cons_resend.c — the stall tick's proposal re-sends (docs/consensus.md
 * "Re-sent proposals", session 14): a proposal goes again only to the
 * validators that may lack it, to one that reconnected whatever it voted,
 * and to everyone on every fourth tick in a row without a new height.
 * Validator 0 of 4 at height 1; the proposer of round r is (1 + r) mod 4.
 */
#include "../test.h"
#include "cons_harness.h"

#define PV JK_CONS_MSG_PREVOTE
#define NIL JK_CONS_NIL_ROUND

/* One stall tick; how many proposals it sent, the first one's peer. */
static size_t tick_sends(th *t, uint32_t *peer)
{
    th_clear(t);
    th_tick(t);
    *peer = UINT32_MAX;
    return th_sent_proposals(t, peer, 1);
}

/* Round 0's proposal from its proposer (1) and a prevote for it from 2:
 * only 3 may lack it. Not in the tick it arrived in (the proposer's own
 * sends get a whole tick), then to 3 alone, once; the fourth tick in a row
 * without a new height sends it to everyone. Before session 14 every tick
 * sent it to every validator. */
JK_TEST(test_cons_resend_proposal_only_to_who_may_lack_it)
{
    th t;
    uint32_t peer;
    th_begin(&t, 4, 0);
    th_proposal(&t, 1, 1, 0, NIL, 'a');
    th_vote(&t, 2, PV, 1, 0, 'a');
    JK_REQUIRE(th_sent_vote(&t, PV, 0, NULL) == 1);
    JK_CHECK_EQ(tick_sends(&t, &peer), 0);
    JK_CHECK_EQ(tick_sends(&t, &peer), 1);
    JK_CHECK_EQ(peer, 3);
    JK_CHECK_EQ(tick_sends(&t, &peer), 0);
    JK_CHECK_EQ(tick_sends(&t, &peer), 1);
    JK_CHECK_EQ(peer, JK_CONS_ALL);
    JK_CHECK_EQ(tick_sends(&t, &peer), 0); /* the count starts again */
    th_free(&t);
}

/* Everyone holds it (1 proposed it, 2 relayed it, 3 prevoted it) until 3
 * reconnects: then 3 gets it on the next tick although its prevote for it
 * is in the log — a restarted validator keeps its votes' records, not the
 * proposal — and its re-sent prevote, a copy, proves nothing new. A reset
 * of ourselves or of no validator changes nothing. */
JK_TEST(test_cons_resend_proposal_after_a_reconnect)
{
    th t;
    uint32_t peer;
    th_begin(&t, 4, 0);
    th_proposal_via(&t, 2, 1, 1, 0, NIL, 'a');
    th_vote(&t, 3, PV, 1, 0, 'a');
    JK_CHECK_EQ(tick_sends(&t, &peer), 0);
    JK_CHECK_EQ(tick_sends(&t, &peer), 0);
    jk_cons_peer_reset(t.m, 0);
    jk_cons_peer_reset(t.m, 4);
    jk_cons_peer_reset(t.m, JK_CONS_ALL);
    jk_cons_peer_reset(t.m, 3);
    th_vote(&t, 3, PV, 1, 0, 'a');
    JK_CHECK_EQ(tick_sends(&t, &peer), 1);
    JK_CHECK_EQ(peer, 3);
    JK_CHECK_EQ(tick_sends(&t, &peer), 1); /* the fourth: to all */
    JK_CHECK_EQ(peer, JK_CONS_ALL);
    th_free(&t);
}

/* The proposer's own proposal went to everyone: it goes again only to a
 * validator that reconnected, and on the fallback tick. */
JK_TEST(test_cons_resend_own_proposal_after_a_reconnect)
{
    th t;
    uint32_t peer;
    th_begin(&t, 4, 1); /* proposer of (1, 0) */
    JK_REQUIRE(th_sent_proposals(&t, &peer, 1) == 1 && peer == JK_CONS_ALL);
    JK_CHECK_EQ(tick_sends(&t, &peer), 0);
    JK_CHECK_EQ(tick_sends(&t, &peer), 0);
    jk_cons_peer_reset(t.m, 2);
    JK_CHECK_EQ(tick_sends(&t, &peer), 1);
    JK_CHECK_EQ(peer, 2);
    JK_CHECK_EQ(tick_sends(&t, &peer), 1);
    JK_CHECK_EQ(peer, JK_CONS_ALL);
    th_free(&t);
}

/* A restart re-sends at once to everyone (nothing is known of who holds
 * what): the machine restarted below its record re-sends its height's
 * proposals from the restored proof of lock to every validator. Covered by
 * test_cons_record_*; here: a height that moves resets the count, so a
 * tick after a decision sends nothing. */
JK_TEST(test_cons_resend_nothing_after_the_height_moved)
{
    th t;
    uint32_t peer;
    th_begin(&t, 4, 0);
    th_proposal(&t, 1, 1, 0, NIL, 'a');
    th_votes(&t, "12", PV, 1, 0, 'a');
    th_votes(&t, "123", JK_CONS_MSG_PRECOMMIT, 1, 0, 'a');
    JK_REQUIRE(th_status(&t).height == 2);
    JK_CHECK_EQ(tick_sends(&t, &peer), 0);
    th_free(&t);
}
