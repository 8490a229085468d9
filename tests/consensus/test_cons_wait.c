/*
 * test_cons_wait.c — the empty-blocks wait (jk_cons_timeouts.empty_blocks_ms):
 * after a decision, an idle application makes round 0 of the next height
 * wait for the interval, an event or a peer that stopped waiting; nothing
 * is proposed and no timeoutPropose runs meanwhile.
 */
#include "../test.h"

#include "cons_harness.h"

#define PV JK_CONS_MSG_PREVOTE
#define PC JK_CONS_MSG_PRECOMMIT
#define NIL JK_CONS_NIL_ROUND

/* Validator `self` of 4 with the interval, height 1 decided (proposer 1,
 * value 'a'); the outputs are those of the deciding input. */
static void wait_setup(th *t, uint32_t self, uint32_t interval_ms, bool idle)
{
    th_init(t, 4, self);
    t->timeouts.empty_blocks_ms = interval_ms;
    t->idle = idle;
    th_restart(t);
    th_start(t);
    th_proposal(t, 1, 1, 0, NIL, 'a');
    uint32_t voters[3], nv = 0;
    for (uint32_t v = 0; v < 4 && nv < 3; v++)
        if (v != self)
            voters[nv++] = v;
    th_vote(t, voters[0], PC, 1, 0, 'a');
    th_vote(t, voters[1], PC, 1, 0, 'a');
    th_clear(t);
    th_vote(t, voters[2], PC, 1, 0, 'a');
    JK_REQUIRE(t->ndecided == 1);
    JK_REQUIRE(th_status(t).height == 2);
}

/* The proposer of height 2 (validator 2) waits: no proposal, no
 * timeoutPropose, a START timer of the interval; it proposes when the
 * timer fires, and a timer fired again changes nothing. */
JK_TEST(test_cons_wait_idle_proposer_waits_for_the_interval)
{
    th t;
    jk_cons_proposal p;
    wait_setup(&t, 2, 1000, true);
    JK_CHECK(th_status(&t).waiting);
    JK_CHECK_EQ(th_status(&t).waits, 1);
    JK_CHECK(!th_sent_proposal(&t, &p));
    JK_CHECK(th_timer(&t, JK_CONS_TIMER_PROPOSE) == NULL);
    const jk_cons_out *o = th_timer(&t, JK_CONS_TIMER_START);
    JK_REQUIRE(o != NULL);
    JK_CHECK_EQ(o->timer.delay_ms, 1000);
    JK_CHECK_EQ(o->timer.height, 2);
    /* A tick meanwhile does not end the wait. */
    jk_cons_timer start = o->timer;
    jk_cons_timer tick = {.kind = JK_CONS_TIMER_TICK, .height = 2};
    th_clear(&t);
    JK_CHECK_EQ(jk_cons_on_timer(t.m, &tick), JK_OK);
    jk_cons_outputs_clear(t.m);
    JK_CHECK(th_status(&t).waiting);
    JK_CHECK_EQ(jk_cons_on_timer(t.m, &start), JK_OK);
    size_t n;
    const jk_cons_out *outs = jk_cons_outputs(t.m, &n);
    bool proposed = false;
    for (size_t i = 0; i < n; i++) {
        jk_cons_msg msg;
        proposed |= outs[i].kind == JK_CONS_OUT_SEND &&
                    jk_cons_msg_decode(outs[i].bytes, outs[i].len, &msg, NULL) == JK_OK &&
                    msg.kind == JK_CONS_MSG_PROPOSAL && msg.proposal.height == 2;
    }
    JK_CHECK(proposed);
    jk_cons_outputs_clear(t.m);
    th_free(&t);

    wait_setup(&t, 2, 1000, true);
    JK_REQUIRE(th_fire(&t, JK_CONS_TIMER_START));
    JK_CHECK(!th_status(&t).waiting);
    JK_REQUIRE(th_sent_proposal(&t, &p));
    JK_CHECK_EQ(p.height, 2);
    JK_CHECK_EQ(p.round, 0);
    th_clear(&t);
    jk_cons_timer again = {.kind = JK_CONS_TIMER_START, .height = 2, .round = 0};
    JK_CHECK_EQ(jk_cons_on_timer(t.m, &again), JK_OK);
    jk_cons_outputs(t.m, &n);
    JK_CHECK_EQ(n, 0);
    JK_CHECK_EQ(th_status(&t).round, 0);
    th_free(&t);
}

/* An event ends the proposer's wait at once: it proposes inside that input. */
JK_TEST(test_cons_wait_event_ends_the_wait)
{
    th t;
    jk_cons_proposal p;
    wait_setup(&t, 2, 60000, true);
    JK_REQUIRE(th_status(&t).waiting);
    JK_CHECK_EQ(jk_cons_on_event(t.m, (const uint8_t *)"an event", 8), JK_OK);
    size_t n;
    const jk_cons_out *o = jk_cons_outputs(t.m, &n);
    bool proposed = false, gossiped = false;
    for (size_t i = 0; i < n; i++) {
        jk_cons_msg msg;
        if (o[i].kind != JK_CONS_OUT_SEND ||
            jk_cons_msg_decode(o[i].bytes, o[i].len, &msg, NULL) != JK_OK)
            continue;
        gossiped |= msg.kind == JK_CONS_MSG_EVENT;
        proposed |= msg.kind == JK_CONS_MSG_PROPOSAL && msg.proposal.height == 2 &&
                    msg.proposal.round == 0;
    }
    JK_CHECK(gossiped);
    JK_CHECK(proposed);
    JK_CHECK(!th_status(&t).waiting);
    JK_CHECK_EQ(t.events_added, 1);
    (void)p;
    th_free(&t);

    /* The same through a gossiped event message. */
    wait_setup(&t, 2, 60000, true);
    jk_cons_msg ev = {0};
    ev.kind = JK_CONS_MSG_EVENT;
    ev.event = (const uint8_t *)"gossip";
    ev.event_len = 6;
    uint8_t *b;
    size_t len;
    JK_REQUIRE(jk_cons_msg_encode(&ev, &b, &len) == JK_OK);
    th_deliver(&t, 1, b, len);
    free(b);
    JK_CHECK(!th_status(&t).waiting);
    JK_CHECK(th_sent_proposal(&t, &p));
    th_free(&t);
}

/* A non-proposer waits without a timeoutPropose (it must not time out the
 * waiting proposer); a peer's vote or proposal of the height ends its wait:
 * timeoutPropose starts then, or it prevotes the proposal at once. */
JK_TEST(test_cons_wait_peer_message_ends_a_non_proposers_wait)
{
    th t;
    wait_setup(&t, 0, 60000, true);
    JK_REQUIRE(th_status(&t).waiting);
    JK_CHECK(th_timer(&t, JK_CONS_TIMER_PROPOSE) == NULL);
    th_clear(&t);
    th_vote(&t, 1, PV, 2, 0, 0);
    JK_CHECK(!th_status(&t).waiting);
    const jk_cons_out *o = th_timer(&t, JK_CONS_TIMER_PROPOSE);
    JK_REQUIRE(o != NULL);
    JK_CHECK_EQ(o->timer.height, 2);
    JK_CHECK_EQ(o->timer.round, 0);
    th_free(&t);

    wait_setup(&t, 0, 60000, true);
    th_clear(&t);
    th_proposal(&t, 2, 2, 0, NIL, 'b');
    JK_CHECK(!th_status(&t).waiting);
    jk_hash id, want;
    th_id('b', &want);
    JK_CHECK_EQ(th_sent_vote(&t, PV, 0, &id), 1);
    JK_CHECK_MEM(id.bytes, want.bytes, 32);
    th_free(&t);

    /* A message of the next height, buffered before the decision, ends
     * the wait as soon as the height starts. */
    th_init(&t, 4, 0);
    t.timeouts.empty_blocks_ms = 60000;
    t.idle = true;
    th_restart(&t);
    th_start(&t);
    th_proposal(&t, 1, 1, 0, NIL, 'a');
    th_vote(&t, 3, PV, 2, 0, 0);
    th_votes(&t, "12", PC, 1, 0, 'a');
    th_clear(&t);
    th_vote(&t, 3, PC, 1, 0, 'a');
    JK_REQUIRE(t.ndecided == 1);
    JK_CHECK(!th_status(&t).waiting);
    JK_CHECK_EQ(th_status(&t).waits, 1);
    JK_CHECK(th_timer(&t, JK_CONS_TIMER_PROPOSE) != NULL);
    th_free(&t);
}

/* No wait when the application has work, when the interval is 0, or at
 * start (a restart rejoins at once). */
JK_TEST(test_cons_wait_only_when_idle_and_configured)
{
    th t;
    jk_cons_proposal p;
    wait_setup(&t, 2, 1000, false);
    JK_CHECK(!th_status(&t).waiting);
    JK_CHECK_EQ(th_status(&t).waits, 0);
    JK_CHECK(th_sent_proposal(&t, &p));
    th_free(&t);

    wait_setup(&t, 2, 0, true);
    JK_CHECK(!th_status(&t).waiting);
    JK_CHECK(th_sent_proposal(&t, &p));
    th_free(&t);

    /* Waiting at height 2, then restarted: round 0 starts at once. */
    wait_setup(&t, 0, 60000, true);
    JK_REQUIRE(th_status(&t).waiting);
    th_restart(&t);
    th_start(&t);
    JK_CHECK(!th_status(&t).waiting);
    JK_CHECK(th_timer(&t, JK_CONS_TIMER_PROPOSE) != NULL);
    th_free(&t);
}

/* The simulator with the interval and no faults: still one round per
 * height, and the idle heights took the interval (simulated time). */
JK_TEST(test_cons_wait_sim_one_round_per_height)
{
    JK_REQUIRE(jk_crypto_init() == JK_OK);
    jk_cons_sim_config cfg;
    jk_cons_sim_result fast, slow;
    jk_cons_sim_config_for_seed(4, 4, false, &cfg);
    cfg.heights = 8;
    cfg.timeouts.empty_blocks_ms = 0;
    JK_REQUIRE(jk_cons_sim_run(&cfg, &fast) == JK_OK);
    JK_REQUIRE(fast.ok);
    cfg.timeouts.empty_blocks_ms = 2000;
    JK_REQUIRE(jk_cons_sim_run(&cfg, &slow) == JK_OK);
    JK_CHECK(slow.ok);
    JK_CHECK_EQ(slow.rounds, slow.heights);
    /* heights 2..8 start after a decision; the events make a few busy */
    JK_CHECK(slow.sim_ms >= fast.sim_ms + 3 * 2000);
}

/* The propose timeout grows with the application's estimate of the
 * proposal's size (jk_cons_app.propose_extra_ms), in every round, on top of
 * timeoutPropose(r); the others are unchanged. */
JK_TEST(test_cons_propose_timeout_adds_the_apps_estimate)
{
    th t;
    th_init(&t, 4, 0);
    t.extra_ms = 700;
    th_restart(&t);
    th_start(&t); /* height 1: validator 1 proposes, we wait for it */
    const jk_cons_out *o = th_timer(&t, JK_CONS_TIMER_PROPOSE);
    JK_REQUIRE(o != NULL);
    JK_CHECK_EQ(o->timer.delay_ms, 300 + 700);
    t.extra_ms = 50;
    JK_REQUIRE(th_fire(&t, JK_CONS_TIMER_PROPOSE));
    th_clear(&t);
    th_votes(&t, "123", PV, 1, 0, 0);
    JK_REQUIRE(th_fire(&t, JK_CONS_TIMER_PREVOTE));
    const jk_cons_out *pv = th_timer(&t, JK_CONS_TIMER_PREVOTE);
    JK_REQUIRE(pv != NULL);
    JK_CHECK_EQ(pv->timer.delay_ms, 200); /* prevote: no estimate */
    th_votes(&t, "123", PC, 1, 0, 0);
    JK_REQUIRE(th_fire(&t, JK_CONS_TIMER_PRECOMMIT)); /* round 1 */
    JK_REQUIRE(th_status(&t).round == 1);
    o = th_timer(&t, JK_CONS_TIMER_PROPOSE);
    JK_REQUIRE(o != NULL);
    JK_CHECK_EQ(o->timer.delay_ms, 300 + 100 + 50);
    th_free(&t);
}

/* Count the SEND outputs of one kind since the last clear: those the
 * harness collected and those still in the machine. */
static size_t wait_sent_in(const jk_cons_out *o, size_t n, uint8_t kind)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        jk_cons_msg msg;
        count += o[i].kind == JK_CONS_OUT_SEND && jk_cons_msg_decode(o[i].bytes, o[i].len, &msg, NULL) == JK_OK &&
                 msg.kind == kind;
    }
    return count;
}

static size_t wait_sent(th *t, uint8_t kind)
{
    size_t n;
    const jk_cons_out *o = jk_cons_outputs(t->m, &n);
    return wait_sent_in(t->outs, t->nouts, kind) + wait_sent_in(o, n, kind);
}

/* jk_cons_hold: the events of one batch (an RPC batch, one network read)
 * all reach the pool before the waiting proposer takes its value; without
 * the hold the first event's input proposed and the rest went to the next
 * height (docs/outsider.md, session 8). Holds nest; a peer's vote still
 * ends a wait at once. */
JK_TEST(test_cons_wait_hold_gathers_a_batch_before_proposing)
{
    th t;
    wait_setup(&t, 2, 60000, true);
    JK_REQUIRE(th_status(&t).waiting);
    th_clear(&t);
    jk_cons_hold(t.m);
    jk_cons_hold(t.m);
    JK_CHECK_EQ(jk_cons_on_event(t.m, (const uint8_t *)"event one", 9), JK_OK);
    JK_CHECK_EQ(jk_cons_on_event(t.m, (const uint8_t *)"event two", 9), JK_OK);
    jk_cons_msg ev = {0};
    ev.kind = JK_CONS_MSG_EVENT;
    ev.event = (const uint8_t *)"event three";
    ev.event_len = 11;
    uint8_t *b;
    size_t len;
    JK_REQUIRE(jk_cons_msg_encode(&ev, &b, &len) == JK_OK);
    th_deliver(&t, 1, b, len);
    free(b);
    JK_CHECK_EQ(t.events_added, 3);
    JK_CHECK_EQ(wait_sent(&t, JK_CONS_MSG_EVENT), 3); /* gossip is not held */
    JK_CHECK_EQ(wait_sent(&t, JK_CONS_MSG_PROPOSAL), 0);
    JK_CHECK(!th_status(&t).waiting);
    JK_CHECK_EQ(jk_cons_release(t.m), JK_OK); /* the inner hold: still held */
    JK_CHECK_EQ(wait_sent(&t, JK_CONS_MSG_PROPOSAL), 0);
    JK_CHECK_EQ(jk_cons_release(t.m), JK_OK);
    JK_CHECK_EQ(wait_sent(&t, JK_CONS_MSG_PROPOSAL), 1);
    size_t nout;
    const jk_cons_out *o = jk_cons_outputs(t.m, &nout);
    bool round0 = false;
    for (size_t i = 0; i < nout; i++) {
        jk_cons_msg msg;
        round0 |= o[i].kind == JK_CONS_OUT_SEND && jk_cons_msg_decode(o[i].bytes, o[i].len, &msg, NULL) == JK_OK &&
                  msg.kind == JK_CONS_MSG_PROPOSAL && msg.proposal.height == 2 && msg.proposal.round == 0;
    }
    JK_CHECK(round0);
    jk_cons_outputs_clear(t.m);
    th_clear(&t);
    JK_CHECK_EQ(jk_cons_release(t.m), JK_OK); /* an extra release is harmless */
    JK_CHECK_EQ(wait_sent(&t, JK_CONS_MSG_PROPOSAL), 0);
    th_free(&t);

    /* Held, a non-proposer still wakes on a peer's vote of h_p. */
    wait_setup(&t, 0, 60000, true);
    JK_REQUIRE(th_status(&t).waiting);
    th_clear(&t);
    jk_cons_hold(t.m);
    th_vote(&t, 1, PV, 2, 0, 0);
    JK_CHECK(!th_status(&t).waiting);
    JK_CHECK(th_timer(&t, JK_CONS_TIMER_PROPOSE) != NULL);
    JK_CHECK_EQ(jk_cons_release(t.m), JK_OK);
    th_free(&t);
}

/* A submitted event is gossiped as exactly the bytes jk_cons_msg_encode
 * gives its EVENT message (jk_cons_send_event encodes it without building a
 * jk_cons_msg: one holds a whole certificate), and the event encoder keeps
 * the message's bounds. */
JK_TEST(test_cons_event_gossip_bytes_are_the_messages)
{
    th t;
    wait_setup(&t, 0, 60000, false);
    static const uint8_t ev[] = "an event to gossip";
    JK_CHECK_EQ(jk_cons_on_event(t.m, ev, sizeof ev), JK_OK);
    size_t n, found = 0;
    const jk_cons_out *o = jk_cons_outputs(t.m, &n);
    jk_cons_msg msg = {0};
    msg.kind = JK_CONS_MSG_EVENT;
    msg.event = ev;
    msg.event_len = sizeof ev;
    uint8_t *want;
    size_t want_len;
    JK_REQUIRE(jk_cons_msg_encode(&msg, &want, &want_len) == JK_OK);
    for (size_t i = 0; i < n; i++)
        if (o[i].kind == JK_CONS_OUT_SEND && o[i].len > 0 && o[i].bytes[0] == JK_CONS_MSG_EVENT) {
            found++;
            JK_CHECK_EQ(o[i].peer, JK_CONS_ALL);
            JK_CHECK_EQ(o[i].len, want_len);
            JK_CHECK(o[i].len == want_len && memcmp(o[i].bytes, want, want_len) == 0);
        }
    JK_CHECK_EQ(found, 1);
    free(want);
    th_free(&t);

    uint8_t *b = (uint8_t *)&found;
    size_t len = 7;
    JK_CHECK_EQ(jk_cons_event_encode(ev, 0, &b, &len), JK_ERR_INVALID_ARG);
    JK_CHECK(b == NULL && len == 0);
    JK_CHECK_EQ(jk_cons_event_encode(NULL, 4, &b, &len), JK_ERR_INVALID_ARG);
    JK_CHECK_EQ(jk_cons_event_encode(ev, (size_t)JK_CONS_MAX_EVENT + 1, &b, &len),
                JK_ERR_INVALID_ARG);
}
