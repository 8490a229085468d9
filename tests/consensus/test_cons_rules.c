/*
 * test_cons_rules.c — one test per rule of Algorithm 1 (arXiv:1807.04938),
 * each named after the rule, on validator 0 of 4 at height 1 (f = 1, 2f+1 =
 * 3, f+1 = 2; the proposer of round r is (1 + r) mod 4, so rounds 0, 1, 2, 3
 * are proposed by validators 1, 2, 3 and 0).
 */
#include "../test.h"
#include "cons_harness.h"

#define PV JK_CONS_MSG_PREVOTE
#define PC JK_CONS_MSG_PRECOMMIT
#define NIL JK_CONS_NIL_ROUND

static bool th_hash_eq(const jk_hash *a, uint8_t c)
{
    jk_hash id;
    th_id(c, &id);
    return memcmp(a->bytes, id.bytes, 32) == 0;
}

/* Lines 55-56 as a step of a test: f+1 nil prevotes of round r, from the
 * validators named in `from`, move round_p to r. */
static void th_skip_to(th *t, const char *from, uint32_t r)
{
    th_votes(t, from, PV, 1, r, 0);
}

/* Round 0 up to our precommit for 'a': proposal, prevotes of 1 and 2. */
static void th_lock_on_a(th *t)
{
    th_start(t);
    th_proposal(t, 1, 1, 0, NIL, 'a');
    th_votes(t, "12", PV, 1, 0, 'a');
}

/* Lines 11-21: StartRound as a non-proposer schedules timeoutPropose(0). */
JK_TEST(test_cons_rule_start_round_schedules_timeout_propose)
{
    th t;
    th_begin(&t, 4, 0);
    JK_CHECK_EQ(t.last, JK_OK);
    const jk_cons_out *o = th_timer(&t, JK_CONS_TIMER_PROPOSE);
    JK_REQUIRE(o != NULL);
    JK_CHECK_EQ(o->timer.height, 1);
    JK_CHECK_EQ(o->timer.round, 0);
    JK_CHECK_EQ(o->timer.delay_ms, 300);
    jk_cons_proposal p;
    JK_CHECK(!th_sent_proposal(&t, &p));
    th_free(&t);
}

/* Lines 57-60: OnTimeoutPropose prevotes nil. */
JK_TEST(test_cons_rule_timeout_propose_prevotes_nil)
{
    th t;
    th_begin(&t, 4, 0);
    JK_REQUIRE(th_fire(&t, JK_CONS_TIMER_PROPOSE));
    JK_CHECK_EQ(th_sent_vote(&t, PV, 0, NULL), 0);
    JK_CHECK_EQ(th_status(&t).step, JK_CONS_STEP_PREVOTE);
    th_free(&t);
}

/* Lines 22-24: a valid proposal with vr = -1, not locked: prevote id(v). */
JK_TEST(test_cons_rule_prevote_for_valid_proposal)
{
    th t;
    jk_hash v;
    th_begin(&t, 4, 0);
    th_proposal(&t, 1, 1, 0, NIL, 'a');
    JK_CHECK_EQ(t.last, JK_OK);
    JK_CHECK_EQ(th_sent_vote(&t, PV, 0, &v), 1);
    JK_CHECK(th_hash_eq(&v, 'a'));
    th_free(&t);
}

/* Lines 22, 25-26: an invalid proposal gets a nil prevote. */
JK_TEST(test_cons_rule_nil_prevote_for_invalid_proposal)
{
    th t;
    th_begin(&t, 4, 0);
    th_proposal(&t, 1, 1, 0, NIL, 'X');
    JK_CHECK_EQ(th_sent_vote(&t, PV, 0, NULL), 0);
    th_free(&t);
}

/* Line 22 "from proposer(h_p, round_p)": another validator's proposal is
 * refused and changes nothing. */
JK_TEST(test_cons_rule_proposal_only_from_the_proposer)
{
    th t;
    th_begin(&t, 4, 0);
    th_clear(&t);
    th_proposal(&t, 2, 1, 0, NIL, 'a');
    JK_CHECK_EQ(t.last, JK_ERR_CONS_MEMBER);
    JK_CHECK_EQ(th_sent_vote(&t, PV, 0, NULL), -1);
    JK_CHECK_EQ(th_status(&t).step, JK_CONS_STEP_PROPOSE);
    th_free(&t);
}

/* Lines 36-43: 2f+1 prevotes for the proposal: lock, precommit, valid value. */
JK_TEST(test_cons_rule_locking)
{
    th t;
    jk_hash v;
    th_init(&t, 4, 0);
    th_lock_on_a(&t);
    JK_CHECK_EQ(th_sent_vote(&t, PC, 0, &v), 1);
    JK_CHECK(th_hash_eq(&v, 'a'));
    jk_cons_status st = th_status(&t);
    JK_CHECK_EQ(st.step, JK_CONS_STEP_PRECOMMIT);
    JK_CHECK_EQ(st.locked_round, 0);
    JK_CHECK(th_hash_eq(&st.locked_value, 'a'));
    JK_CHECK_EQ(st.valid_round, 0);
    JK_CHECK_EQ(th_count(&t, JK_CONS_OUT_PERSIST_POL), 1);
    th_free(&t);
}

/* Lines 36-37 with step = precommit (we timed out to a nil precommit): the
 * valid value is updated, the lock is not. */
JK_TEST(test_cons_rule_valid_value_without_lock)
{
    th t;
    th_begin(&t, 4, 0);
    th_proposal(&t, 1, 1, 0, NIL, 'a');
    th_vote(&t, 1, PV, 1, 0, 0);
    th_vote(&t, 2, PV, 1, 0, 'b');
    JK_REQUIRE(th_fire(&t, JK_CONS_TIMER_PREVOTE)); /* lines 34-35, 61-64 */
    JK_CHECK_EQ(th_sent_vote(&t, PC, 0, NULL), 0);
    th_votes(&t, "31", PV, 1, 0, 'a'); /* 1 equivocates: counts for 'a' too */
    jk_cons_status st = th_status(&t);
    JK_CHECK_EQ(st.locked_round, NIL);
    JK_CHECK_EQ(st.valid_round, 0);
    th_free(&t);
}

/* Line 23: locked on 'a', a new value with vr = -1 gets a nil prevote; the
 * locked value itself gets a prevote. */
JK_TEST(test_cons_rule_locked_prevotes_only_the_locked_value)
{
    th t;
    jk_hash v;
    th_init(&t, 4, 0);
    th_lock_on_a(&t);
    /* Lines 47-48, 65-67: 2f+1 precommits (any), timeout, round 1. */
    th_votes(&t, "12", PC, 1, 0, 0);
    JK_REQUIRE(th_fire(&t, JK_CONS_TIMER_PRECOMMIT));
    JK_CHECK_EQ(th_status(&t).round, 1);
    th_proposal(&t, 2, 1, 1, NIL, 'b');
    JK_CHECK_EQ(th_sent_vote(&t, PV, 1, NULL), 0);
    th_free(&t);

    th_init(&t, 4, 0);
    th_lock_on_a(&t);
    th_votes(&t, "12", PC, 1, 0, 0);
    JK_REQUIRE(th_fire(&t, JK_CONS_TIMER_PRECOMMIT));
    th_proposal(&t, 2, 1, 1, NIL, 'a');
    JK_CHECK_EQ(th_sent_vote(&t, PV, 1, &v), 1);
    JK_CHECK(th_hash_eq(&v, 'a'));
    th_free(&t);
}

/* Lines 28-30: locked on 'a' at round 0; a proposal of 'b' with vr = 1 and
 * 2f+1 prevotes for 'b' in round 1 unlocks: prevote 'b'. With only 2f
 * prevotes at vr the rule does not fire. */
JK_TEST(test_cons_rule_unlocking_on_higher_valid_round)
{
    th t;
    jk_hash v;
    th_init(&t, 4, 0);
    th_lock_on_a(&t);
    th_skip_to(&t, "13", 2); /* f+1 messages of round 2: skip there */
    JK_REQUIRE(th_status(&t).round == 2);
    th_votes(&t, "12", PV, 1, 1, 'b');
    th_clear(&t);
    th_proposal(&t, 3, 1, 2, 1, 'b');
    JK_CHECK_EQ(th_sent_vote(&t, PV, 2, NULL), -1); /* 2 prevotes at vr: wait */
    th_vote(&t, 3, PV, 1, 1, 'b');
    JK_CHECK_EQ(th_sent_vote(&t, PV, 2, &v), 1);
    JK_CHECK(th_hash_eq(&v, 'b'));
    th_free(&t);

    /* Locked at round 1 (above vr = 0): the same proposal gets nil. */
    th_begin(&t, 4, 0);
    th_skip_to(&t, "13", 1);
    JK_REQUIRE(th_status(&t).round == 1);
    th_proposal(&t, 2, 1, 1, NIL, 'a');
    th_votes(&t, "23", PV, 1, 1, 'a');
    JK_REQUIRE(th_status(&t).locked_round == 1);
    th_votes(&t, "13", PV, 1, 2, 0);
    th_votes(&t, "123", PV, 1, 0, 'b');
    th_proposal(&t, 3, 1, 2, 0, 'b');
    JK_CHECK_EQ(th_sent_vote(&t, PV, 2, NULL), 0);
    th_free(&t);
}

/* Lines 44-46: 2f+1 nil prevotes: precommit nil. */
JK_TEST(test_cons_rule_nil_prevotes_precommit_nil)
{
    th t;
    th_begin(&t, 4, 0);
    JK_REQUIRE(th_fire(&t, JK_CONS_TIMER_PROPOSE));
    th_vote(&t, 1, PV, 1, 0, 0);
    JK_CHECK_EQ(th_sent_vote(&t, PC, 0, NULL), -1);
    th_vote(&t, 2, PV, 1, 0, 0);
    JK_CHECK_EQ(th_sent_vote(&t, PC, 0, NULL), 0);
    JK_CHECK_EQ(th_status(&t).step, JK_CONS_STEP_PRECOMMIT);
    th_free(&t);
}

/* Lines 34-35 and 61-64: 2f+1 prevotes of any kind start timeoutPrevote;
 * when it fires in step prevote: precommit nil. */
JK_TEST(test_cons_rule_timeout_prevote)
{
    th t;
    th_begin(&t, 4, 0);
    th_proposal(&t, 1, 1, 0, NIL, 'a');
    th_vote(&t, 1, PV, 1, 0, 0);
    JK_CHECK(th_timer(&t, JK_CONS_TIMER_PREVOTE) == NULL);
    th_vote(&t, 2, PV, 1, 0, 'b');
    const jk_cons_out *o = th_timer(&t, JK_CONS_TIMER_PREVOTE);
    JK_REQUIRE(o != NULL);
    JK_CHECK_EQ(o->timer.delay_ms, 200);
    JK_CHECK_EQ(th_sent_vote(&t, PC, 0, NULL), -1);
    JK_REQUIRE(th_fire(&t, JK_CONS_TIMER_PREVOTE));
    JK_CHECK_EQ(th_sent_vote(&t, PC, 0, NULL), 0);
    th_free(&t);
}

/* Lines 47-48 and 65-67: 2f+1 precommits of any kind start
 * timeoutPrecommit; when it fires: StartRound(round_p + 1). A stale timer
 * (another round) does nothing. */
JK_TEST(test_cons_rule_timeout_precommit_starts_next_round)
{
    th t;
    th_begin(&t, 4, 0);
    jk_cons_timer stale = {JK_CONS_TIMER_PRECOMMIT, 1, 7, 0};
    JK_CHECK_EQ(jk_cons_on_timer(t.m, &stale), JK_OK);
    JK_CHECK_EQ(th_status(&t).round, 0);
    th_vote(&t, 1, PC, 1, 0, 0);
    th_vote(&t, 2, PC, 1, 0, 'b');
    JK_CHECK(th_timer(&t, JK_CONS_TIMER_PRECOMMIT) == NULL);
    th_vote(&t, 3, PC, 1, 0, 0);
    const jk_cons_out *o = th_timer(&t, JK_CONS_TIMER_PRECOMMIT);
    JK_REQUIRE(o != NULL);
    JK_CHECK_EQ(o->timer.delay_ms, 150);
    JK_REQUIRE(th_fire(&t, JK_CONS_TIMER_PRECOMMIT));
    JK_CHECK_EQ(th_status(&t).round, 1);
    JK_CHECK_EQ(th_status(&t).step, JK_CONS_STEP_PROPOSE);
    th_free(&t);
}

/* timeoutX(r) = X + r * delta: the timeouts grow with the round. */
JK_TEST(test_cons_rule_timeouts_grow_with_round)
{
    th t;
    th_begin(&t, 4, 0);
    uint32_t last = 0;
    for (uint32_t r = 0; r < 3; r++) {
        const jk_cons_out *o = th_timer(&t, JK_CONS_TIMER_PROPOSE);
        JK_REQUIRE(o != NULL);
        JK_CHECK_EQ(o->timer.round, r);
        JK_CHECK_EQ(o->timer.delay_ms, 300 + 100 * r);
        JK_CHECK(o->timer.delay_ms > last);
        last = o->timer.delay_ms;
        th_clear(&t);
        th_votes(&t, "123", PC, 1, r, 0);
        const jk_cons_out *pc = th_timer(&t, JK_CONS_TIMER_PRECOMMIT);
        JK_REQUIRE(pc != NULL);
        JK_CHECK_EQ(pc->timer.delay_ms, 150 + 25 * r);
        JK_REQUIRE(th_fire(&t, JK_CONS_TIMER_PRECOMMIT));
    }
    th_free(&t);
}

/* Lines 55-56: f+1 messages of a higher round skip to it; f do not. */
JK_TEST(test_cons_rule_round_skip_on_f_plus_1_higher_round)
{
    th t;
    th_begin(&t, 4, 0);
    th_vote(&t, 1, PV, 1, 5, 0);
    th_vote(&t, 1, PC, 1, 5, 0); /* the same validator again: still f */
    JK_CHECK_EQ(th_status(&t).round, 0);
    th_proposal(&t, 2, 1, 5, NIL, 'c'); /* (1 + 5) mod 4 = 2 proposes round 5 */
    JK_CHECK_EQ(th_status(&t).round, 5);
    /* And in round 5 the proposal is there: line 22 fires at once. */
    JK_CHECK_EQ(th_sent_vote(&t, PV, 5, NULL), 1);
    th_free(&t);
}

/* Lines 49-54: the proposal and 2f+1 precommits for it: decide, with a
 * certificate that checks, and start height 2 at round 0. */
JK_TEST(test_cons_rule_decide_on_precommit_quorum)
{
    th t;
    th_begin(&t, 4, 0);
    th_proposal(&t, 1, 1, 0, NIL, 'a');
    th_votes(&t, "12", PC, 1, 0, 'a');
    JK_CHECK_EQ(t.ndecided, 0);
    th_vote(&t, 3, PC, 1, 0, 'a');
    JK_REQUIRE(t.ndecided == 1);
    jk_hash id;
    th_id('a', &id);
    JK_CHECK_EQ(jk_cons_cert_check(&t.decided[0].cert, &t.genesis, &t.vs, 1, &id, NULL), JK_OK);
    JK_CHECK_EQ(t.decided[0].cert.count, 3);
    jk_cons_status st = th_status(&t);
    JK_CHECK_EQ(st.height, 2);
    JK_CHECK_EQ(st.round, 0);
    JK_CHECK_EQ(st.locked_round, NIL);
    th_free(&t);
}

/* Line 49 holds for any round r, not only round_p. */
JK_TEST(test_cons_rule_decide_in_an_earlier_round)
{
    th t;
    th_begin(&t, 4, 0);
    th_skip_to(&t, "12", 1);
    JK_REQUIRE(th_status(&t).round == 1);
    th_votes(&t, "123", PC, 1, 0, 'a');
    JK_CHECK_EQ(t.ndecided, 0); /* no proposal yet */
    th_proposal(&t, 1, 1, 0, NIL, 'a');
    JK_CHECK_EQ(t.ndecided, 1);
    JK_CHECK_EQ(t.decided[0].cert.round, 0);
    th_free(&t);
}

/* Line 49 by id (session 12, not in the paper): 2f+1 precommits of round 1
 * for id(a), whose bytes the log holds only as round 0's proposal, decide
 * 'a' with round 1's certificate — also when round 1's own proposal is
 * another value. The bytes taken from another round are checked valid
 * first: precommits for an invalid value decide nothing, wherever its bytes
 * are. */
JK_TEST(test_cons_rule_decide_by_id_from_another_rounds_proposal)
{
    th t;
    jk_hash a;
    th_id('a', &a);
    th_begin(&t, 4, 0);
    th_proposal(&t, 1, 1, 0, NIL, 'a');
    th_skip_to(&t, "12", 1);
    th_proposal(&t, 2, 1, 1, NIL, 'b');
    th_votes(&t, "12", PC, 1, 1, 'a');
    JK_CHECK_EQ(t.ndecided, 0);
    th_vote(&t, 3, PC, 1, 1, 'a');
    JK_REQUIRE(t.ndecided == 1);
    JK_CHECK_EQ(t.decided[0].cert.round, 1);
    JK_CHECK_EQ(jk_cons_cert_check(&t.decided[0].cert, &t.genesis, &t.vs, 1, &a, NULL), JK_OK);
    JK_CHECK_MEM(t.decided[0].value, "value:a", 7);
    th_free(&t);

    th_begin(&t, 4, 0);
    th_proposal(&t, 1, 1, 0, NIL, 'X');
    th_skip_to(&t, "12", 1);
    th_votes(&t, "123", PC, 1, 1, 'X');
    JK_CHECK_EQ(t.ndecided, 0);
    th_free(&t);
}

/* Line 50: 2f+1 precommits for an invalid value decide nothing. */
JK_TEST(test_cons_rule_no_decision_on_invalid_value)
{
    th t;
    th_begin(&t, 4, 0);
    th_proposal(&t, 1, 1, 0, NIL, 'X');
    th_votes(&t, "123", PC, 1, 0, 'X');
    JK_CHECK_EQ(t.ndecided, 0);
    th_free(&t);
}

/* The prevotes of round r among what we sent since the last clear: how
 * many, from whom (from[validator]), and how many were not for c to all. */
static size_t th_sent_prevotes(const th *t, uint32_t r, uint8_t c, bool from[TH_MAX], size_t *other)
{
    size_t n = 0;
    *other = 0;
    for (size_t i = 0; i < t->nouts; i++) {
        jk_cons_msg msg;
        if (t->outs[i].kind != JK_CONS_OUT_SEND ||
            jk_cons_msg_decode(t->outs[i].bytes, t->outs[i].len, &msg, NULL) != JK_OK ||
            msg.kind != JK_CONS_MSG_PREVOTE || msg.vote.round != r)
            continue;
        n++;
        from[msg.vote.validator] = true;
        *other += !msg.vote.has_value || !th_hash_eq(&msg.vote.value, c) || t->outs[i].peer != JK_CONS_ALL;
    }
    return n;
}

/* Lines 14-19: our round, nothing valid yet: propose getValue() with vr -1;
 * lines 15-16: with a valid value, propose it with validRound. Not in the
 * paper: with vr >= 0 the 2f+1 prevotes of round vr for the value leave
 * with the proposal, to every validator, so line 28 can fire at each
 * receiver in this round even when an equivocator showed its prevote of
 * round vr to the proposer alone (seed 1301, V = 4: one round more without
 * it); a proposal with vr = -1 carries none. */
JK_TEST(test_cons_rule_proposer_proposes_valid_value)
{
    th t;
    jk_cons_proposal p;
    bool from[TH_MAX] = {false};
    size_t other;
    th_begin(&t, 4, 0);
    th_clear(&t);
    th_skip_to(&t, "12", 3);
    JK_REQUIRE(th_status(&t).round == 3);
    JK_REQUIRE(th_sent_proposal(&t, &p));
    JK_CHECK_EQ(p.valid_round, NIL);
    JK_CHECK(th_timer(&t, JK_CONS_TIMER_PROPOSE) == NULL); /* line 21 is the else */
    JK_CHECK_EQ(th_sent_prevotes(&t, 0, 'a', from, &other), 0);
    th_free(&t);

    th_init(&t, 4, 0);
    th_lock_on_a(&t);
    th_clear(&t);
    th_skip_to(&t, "12", 3);
    JK_REQUIRE(th_status(&t).round == 3);
    JK_REQUIRE(th_sent_proposal(&t, &p));
    JK_CHECK_EQ(p.valid_round, 0);
    jk_hash id;
    jk_crypto_blake2b256(p.value, p.value_len, &id);
    JK_CHECK(th_hash_eq(&id, 'a'));
    JK_CHECK_EQ(th_sent_prevotes(&t, 0, 'a', from, &other), 3); /* its proof */
    JK_CHECK_EQ(other, 0);
    JK_CHECK(from[0] && from[1] && from[2]);
    th_free(&t);
}


/* Lines 36 and 42-43 applied late (session 14): the proof of round 1 — its
 * proposal and 2f+1 prevotes — completes only when we are in round 2. It
 * becomes validValue_p / validRound_p (the lock stays), a proof of a lower
 * round after it changes nothing, and as proposer of round 3 we propose
 * it with vr = 1. Without the rule: a fresh value, vr = -1. */
JK_TEST(test_cons_rule_valid_value_from_a_later_proof)
{
    th t;
    jk_cons_proposal p;
    th_begin(&t, 4, 0);
    th_skip_to(&t, "12", 2);
    JK_REQUIRE(th_status(&t).round == 2);
    th_proposal(&t, 2, 1, 1, NIL, 'b');
    JK_CHECK_EQ(th_status(&t).valid_round, NIL);
    th_votes(&t, "123", PV, 1, 1, 'b');
    JK_CHECK_EQ(th_status(&t).valid_round, 1);
    JK_CHECK_EQ(th_status(&t).locked_round, NIL);
    th_proposal(&t, 1, 1, 0, NIL, 'a');
    th_votes(&t, "123", PV, 1, 0, 'a');
    JK_CHECK_EQ(th_status(&t).valid_round, 1);
    th_clear(&t);
    th_skip_to(&t, "12", 3);
    JK_REQUIRE(th_status(&t).round == 3);
    JK_REQUIRE(th_sent_proposal(&t, &p));
    JK_CHECK_EQ(p.valid_round, 1);
    jk_hash id;
    jk_crypto_blake2b256(p.value, p.value_len, &id);
    JK_CHECK(th_hash_eq(&id, 'b'));
    th_free(&t);
}

/* ... but not from a proof of a value that is not valid here. */
JK_TEST(test_cons_rule_no_valid_value_from_an_invalid_later_proof)
{
    th t;
    th_begin(&t, 4, 0);
    th_skip_to(&t, "12", 1);
    th_proposal(&t, 1, 1, 0, NIL, 'X');
    th_votes(&t, "123", PV, 1, 0, 'X');
    JK_CHECK_EQ(th_status(&t).valid_round, NIL);
    th_free(&t);
}
