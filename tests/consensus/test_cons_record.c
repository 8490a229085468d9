/*
 * test_cons_record.c — the signed-vote record across restarts, equivocation
 * evidence, sync by decisions, messages of the next height, forged messages.
 * Validator 0 of 4 at height 1, as in test_cons_rules.c.
 */
#include "../test.h"
#include "cons_harness.h"

#define PV JK_CONS_MSG_PREVOTE
#define PC JK_CONS_MSG_PRECOMMIT
#define NIL JK_CONS_NIL_ROUND

/* PERSIST comes before the SEND of the vote it records, and covers it. */
JK_TEST(test_cons_record_persisted_before_the_vote_leaves)
{
    th t;
    th_begin(&t, 4, 0);
    th_clear(&t);
    th_proposal(&t, 1, 1, 0, NIL, 'a');
    size_t persist = SIZE_MAX, send = SIZE_MAX;
    for (size_t i = 0; i < t.nouts; i++) {
        if (t.outs[i].kind == JK_CONS_OUT_PERSIST && persist == SIZE_MAX)
            persist = i;
        if (t.outs[i].kind == JK_CONS_OUT_SEND && send == SIZE_MAX)
            send = i;
    }
    JK_REQUIRE(persist != SIZE_MAX && send != SIZE_MAX);
    JK_CHECK(persist < send);
    const jk_cons_record *r = &t.outs[persist].record;
    JK_CHECK(r->present);
    JK_CHECK_EQ(r->height, 1);
    JK_CHECK_EQ(r->round, 0);
    JK_CHECK_EQ(r->step, JK_CONS_STEP_PREVOTE);
    JK_CHECK(r->has_value);
    th_free(&t);
}

/* A crash right after the record of a prevote for 'a' (the prevote never
 * left): the restarted machine re-sends exactly that prevote, and a
 * conflicting proposal of the same round gets no second prevote. */
JK_TEST(test_cons_record_restart_never_signs_a_conflicting_vote)
{
    th t;
    jk_hash v;
    th_begin(&t, 4, 0);
    th_proposal(&t, 1, 1, 0, NIL, 'a');
    JK_REQUIRE(th_sent_vote(&t, PV, 0, &v) == 1);
    th_restart(&t);
    th_start(&t);
    jk_hash again;
    JK_CHECK_EQ(th_sent_vote(&t, PV, 0, &again), 1);
    JK_CHECK_MEM(again.bytes, v.bytes, 32);
    th_clear(&t);
    th_proposal(&t, 1, 1, 0, NIL, 'b'); /* the proposer equivocates */
    JK_CHECK_EQ(th_sent_vote(&t, PV, 0, NULL), -1);
    jk_cons_timer tm = {JK_CONS_TIMER_PREVOTE, 1, 0, 0};
    JK_CHECK_EQ(jk_cons_on_timer(t.m, &tm), JK_OK);
    size_t n;
    const jk_cons_out *o = jk_cons_outputs(t.m, &n);
    bool nil_precommit = false;
    for (size_t i = 0; i < n; i++) /* round 0 goes on: a nil precommit */
        nil_precommit |= o[i].kind == JK_CONS_OUT_SEND && o[i].bytes[0] == PC &&
                         o[i].bytes[13] == 0;
    JK_CHECK(nil_precommit);
    th_free(&t);
}

/* The lock survives a restart (it is in every record), and so does the
 * proof of lock: a locked validator prevotes nil for a new value after the
 * restart, and re-proposes the valid value with its round when it is the
 * proposer. */
JK_TEST(test_cons_record_restart_keeps_the_lock)
{
    th t;
    jk_cons_proposal p;
    th_begin(&t, 4, 0);
    th_proposal(&t, 1, 1, 0, NIL, 'a');
    th_votes(&t, "12", PV, 1, 0, 'a');
    JK_REQUIRE(th_status(&t).locked_round == 0);
    JK_REQUIRE(t.pol_len > 0);
    th_restart(&t);
    th_start(&t);
    jk_cons_status st = th_status(&t);
    JK_CHECK_EQ(st.locked_round, 0);
    JK_CHECK_EQ(st.valid_round, 0);
    JK_CHECK_EQ(st.step, JK_CONS_STEP_PRECOMMIT);
    th_votes(&t, "12", PV, 1, 1, 0);
    JK_REQUIRE(th_status(&t).round == 1);
    th_proposal(&t, 2, 1, 1, NIL, 'b');
    JK_CHECK_EQ(th_sent_vote(&t, PV, 1, NULL), 0);
    th_clear(&t);
    th_votes(&t, "12", PV, 1, 3, 0);
    JK_REQUIRE(th_status(&t).round == 3);
    JK_REQUIRE(th_sent_proposal(&t, &p));
    JK_CHECK_EQ(p.valid_round, 0);
    th_free(&t);
}

/* Every vote of the height is re-sent after a restart (the stall tick),
 * not only the last: a prevote lost with the crash would otherwise leave
 * the others short of 2f+1 forever. */
JK_TEST(test_cons_record_restart_resends_every_vote_of_the_height)
{
    th t;
    th_begin(&t, 4, 0);
    JK_REQUIRE(th_fire(&t, JK_CONS_TIMER_PROPOSE)); /* prevote nil, round 0 */
    th_votes(&t, "12", PV, 1, 1, 0);
    JK_REQUIRE(th_status(&t).round == 1);
    JK_REQUIRE(th_fire(&t, JK_CONS_TIMER_PROPOSE)); /* prevote nil, round 1 */
    th_restart(&t);
    th_start(&t);
    th_clear(&t);
    jk_cons_timer tick = {JK_CONS_TIMER_TICK, 0, 0, 1000};
    JK_CHECK_EQ(jk_cons_on_timer(t.m, &tick), JK_OK); /* one tick to notice */
    JK_CHECK_EQ(jk_cons_on_timer(t.m, &tick), JK_OK); /* stalled: re-send */
    size_t n;
    const jk_cons_out *o = jk_cons_outputs(t.m, &n);
    int seen0 = 0, seen1 = 0;
    for (size_t i = 0; i < n; i++) {
        jk_cons_msg msg;
        if (o[i].kind != JK_CONS_OUT_SEND ||
            jk_cons_msg_decode(o[i].bytes, o[i].len, &msg, NULL) != JK_OK ||
            msg.kind != JK_CONS_MSG_PREVOTE || msg.vote.validator != 0)
            continue;
        seen0 |= msg.vote.round == 0;
        seen1 |= msg.vote.round == 1;
    }
    JK_CHECK(seen0 && seen1);
    th_free(&t);
}

/* The store lost its last decided height (its write was still on the
 * node's writer thread) after the validator signed at the next one: the
 * machine restarts at height 1 with its records of heights 1 and 2
 * (docs/node.md "The proposal before the write"). At 1 it re-sends what it
 * signed (its precommit, so the others can still decide 1) and signs
 * nothing new (the record is at 2); it takes 1 from the others' precommits
 * and then resumes 2 from its records: the lock, the proof of lock, the
 * round and step, its precommit re-sent; a new value at a later round gets
 * a nil prevote (locked). Without the resume it enters 2 afresh, unlocked. */
JK_TEST(test_cons_record_restart_below_its_records_resumes_them)
{
    th t;
    jk_hash a, b, v;
    th_id('a', &a);
    th_id('b', &b);
    th_begin(&t, 4, 0);
    th_proposal(&t, 1, 1, 0, NIL, 'a');
    th_votes(&t, "12", PV, 1, 0, 'a');
    th_votes(&t, "12", PC, 1, 0, 'a');
    JK_REQUIRE(t.ndecided == 1 && th_status(&t).height == 2);
    th_proposal(&t, 2, 2, 0, NIL, 'b'); /* proposer(2, 0) = 2 */
    th_votes(&t, "23", PV, 2, 0, 'b');
    JK_REQUIRE(th_status(&t).locked_round == 0);
    JK_REQUIRE(t.nrecords >= 4 && t.records[0].height == 1);
    JK_REQUIRE(t.records[t.nrecords - 1].height == 2);
    JK_REQUIRE(t.records[t.nrecords - 1].step == JK_CONS_STEP_PRECOMMIT);
    t.ndecided = 0; /* the crash: height 1's write never landed */
    th_restart(&t);
    th_start(&t);
    JK_CHECK_EQ(t.last, JK_OK);
    jk_cons_status st = th_status(&t);
    JK_CHECK_EQ(st.height, 1);
    JK_CHECK_EQ(st.locked_round, 0);
    JK_CHECK_EQ(th_sent_vote(&t, PC, 0, &v), 1); /* its precommit of 1, again */
    JK_CHECK_MEM(v.bytes, a.bytes, 32);
    JK_CHECK_EQ(th_count(&t, JK_CONS_OUT_PERSIST), 0);
    /* nothing new at 1: round 1's nil prevote is refused */
    th_clear(&t);
    th_votes(&t, "12", PV, 1, 1, 0);
    JK_REQUIRE(th_status(&t).round == 1);
    JK_REQUIRE(th_fire(&t, JK_CONS_TIMER_PROPOSE));
    JK_CHECK_EQ(th_sent_vote(&t, PV, 1, NULL), -1);
    JK_CHECK_EQ(th_count(&t, JK_CONS_OUT_PERSIST), 0);
    JK_CHECK(th_status(&t).refused_signs > 0);
    /* 1 is decided at round 0 (its proposal and 2f+1 precommits) */
    th_clear(&t);
    th_proposal(&t, 1, 1, 0, NIL, 'a');
    th_votes(&t, "12", PC, 1, 0, 'a');
    JK_CHECK_EQ(t.ndecided, 1);
    st = th_status(&t);
    JK_CHECK_EQ(st.height, 2);
    JK_CHECK_EQ(st.round, 0);
    JK_CHECK_EQ(st.step, JK_CONS_STEP_PRECOMMIT);
    JK_CHECK_EQ(st.locked_round, 0);
    JK_CHECK_MEM(st.locked_value.bytes, b.bytes, 32);
    JK_CHECK_EQ(st.valid_round, 0); /* the proof of lock of height 2, kept */
    JK_CHECK_EQ(th_sent_vote(&t, PC, 0, &v), 1);
    JK_CHECK_MEM(v.bytes, b.bytes, 32);
    JK_CHECK_EQ(th_count(&t, JK_CONS_OUT_PERSIST), 0); /* a re-send: nothing new */
    th_clear(&t);
    th_votes(&t, "12", PV, 2, 1, 0);
    JK_REQUIRE(th_status(&t).round == 1);
    th_proposal(&t, 3, 2, 1, NIL, 'c'); /* proposer(2, 1) = 3 */
    JK_CHECK_EQ(th_sent_vote(&t, PV, 1, NULL), 0);
    th_free(&t);
}

/* Two different prevotes of one validator in one round: evidence (both
 * votes, once), counted in status; both votes count for their values. */
JK_TEST(test_cons_equivocation_evidence_kept_and_counted)
{
    th t;
    th_begin(&t, 4, 0);
    th_vote(&t, 1, PV, 1, 0, 'a');
    th_votes(&t, "11", PV, 1, 0, 'b'); /* a re-sent copy: no new evidence */
    JK_CHECK_EQ(t.evidence, 1);
    JK_CHECK_EQ(th_status(&t).equivocations, 1);
    const jk_cons_out *ev = NULL;
    for (size_t i = 0; i < t.nouts; i++)
        if (t.outs[i].kind == JK_CONS_OUT_EVIDENCE)
            ev = &t.outs[i];
    JK_REQUIRE(ev != NULL && ev->len == 2 * JK_CONS_VOTE_SIZE);
    jk_cons_msg x, y;
    JK_REQUIRE(jk_cons_msg_decode(ev->bytes, JK_CONS_VOTE_SIZE, &x, NULL) == JK_OK);
    JK_REQUIRE(jk_cons_msg_decode(ev->bytes + JK_CONS_VOTE_SIZE, JK_CONS_VOTE_SIZE, &y, NULL) == JK_OK);
    JK_CHECK_EQ(x.vote.validator, 1);
    JK_CHECK_EQ(y.vote.validator, 1);
    JK_CHECK(memcmp(x.vote.value.bytes, y.vote.value.bytes, 32) != 0);
    JK_CHECK_EQ(jk_cons_vote_verify(&x.vote, &t.genesis, &t.vs), JK_OK);
    JK_CHECK_EQ(jk_cons_vote_verify(&y.vote, &t.genesis, &t.vs), JK_OK);
    /* 'b' now has 1's prevote: with 2 and ours (after the proposal) it locks. */
    th_proposal(&t, 1, 1, 0, NIL, 'b');
    th_vote(&t, 2, PV, 1, 0, 'b');
    JK_CHECK_EQ(th_status(&t).locked_round, 0);
    th_free(&t);
}

/* A forged vote and a malformed message are refused with their codes. */
JK_TEST(test_cons_forged_and_malformed_messages_refused)
{
    th t;
    th_begin(&t, 4, 0);
    jk_cons_vote v = {0};
    uint8_t b[JK_CONS_VOTE_SIZE];
    v.type = PV;
    v.height = 1;
    v.validator = 2;
    jk_cons_vote_sign(&v, &t.genesis, t.sk[1]); /* signed by 1, claims 2 */
    jk_cons_vote_encode(&v, b);
    th_deliver(&t, 2, b, sizeof b);
    JK_CHECK_EQ(t.last, JK_ERR_CONS_SIG);
    th_deliver(&t, 2, b, sizeof b - 1);
    JK_CHECK_EQ(t.last, JK_ERR_CONS_DECODE);
    v.validator = 9; /* outside the set of 4 */
    jk_cons_vote_encode(&v, b);
    th_deliver(&t, 2, b, sizeof b);
    JK_CHECK_EQ(t.last, JK_ERR_CONS_MEMBER);
    th_free(&t);
}

/* Sync: a decision with a valid certificate for h_p commits it; one with
 * too few precommits is refused and commits nothing. */
JK_TEST(test_cons_sync_decision_needs_a_valid_certificate)
{
    th t, src;
    th_init(&src, 4, 3);
    th_start(&src);
    th_proposal(&src, 1, 1, 0, NIL, 'a');
    th_votes(&src, "012", PC, 1, 0, 'a');
    JK_REQUIRE(src.ndecided == 1);

    th_begin(&t, 4, 0);
    jk_cons_msg msg = {0};
    msg.kind = JK_CONS_MSG_DECISION;
    msg.decision.value = src.decided[0].value;
    msg.decision.value_len = src.decided[0].len;
    msg.decision.cert = src.decided[0].cert;
    msg.decision.cert.count = 2; /* below the quorum of 3 */
    uint8_t *b;
    size_t len;
    JK_REQUIRE(jk_cons_msg_encode(&msg, &b, &len) == JK_OK);
    th_deliver(&t, 1, b, len);
    free(b);
    JK_CHECK_EQ(t.last, JK_ERR_CONS_CERT);
    JK_CHECK_EQ(t.ndecided, 0);
    msg.decision.cert = src.decided[0].cert;
    JK_REQUIRE(jk_cons_msg_encode(&msg, &b, &len) == JK_OK);
    th_deliver(&t, 1, b, len);
    free(b);
    JK_CHECK_EQ(t.last, JK_OK);
    JK_CHECK_EQ(t.ndecided, 1);
    JK_CHECK_EQ(th_status(&t).height, 2);

    /* And src answers a sync request from height 1 with that decision. */
    th_clear(&src);
    uint8_t req[9] = {JK_CONS_MSG_SYNC_REQUEST, 1};
    th_deliver(&src, 0, req, sizeof req);
    size_t answers = 0;
    for (size_t i = 0; i < src.nouts; i++)
        if (src.outs[i].kind == JK_CONS_OUT_SEND && src.outs[i].peer == 0 &&
            src.outs[i].bytes[0] == JK_CONS_MSG_DECISION)
            answers++;
    JK_CHECK_EQ(answers, 1);
    th_free(&t);
    th_free(&src);
}

/* Messages of h_p + 1 are kept and used as soon as that height starts. */
JK_TEST(test_cons_next_height_messages_buffered)
{
    th t;
    th_begin(&t, 4, 0);
    th_proposal(&t, 2, 2, 0, NIL, 'n'); /* proposer of (2, 0) is 2 */
    JK_CHECK_EQ(t.last, JK_OK);
    th_proposal(&t, 1, 1, 0, NIL, 'a');
    th_votes(&t, "12", PC, 1, 0, 'a');
    th_clear(&t);
    th_vote(&t, 3, PC, 1, 0, 'a');
    JK_REQUIRE(th_status(&t).height == 2);
    JK_CHECK_EQ(th_sent_vote(&t, PV, 0, NULL), 1); /* prevote at height 2 */
    th_free(&t);
}

/* A proof of lock whose prevotes do not verify is refused at start, not
 * trusted (it would let a corrupted store unlock the validator). */
JK_TEST(test_cons_record_corrupt_proof_of_lock_refused)
{
    th t;
    th_begin(&t, 4, 0);
    th_proposal(&t, 1, 1, 0, NIL, 'a');
    th_votes(&t, "12", PV, 1, 0, 'a');
    JK_REQUIRE(t.pol_len > 64);
    t.pol[t.pol_len - 1] ^= 1; /* the last prevote's signature */
    th_restart(&t);
    th_start(&t);
    JK_CHECK_EQ(t.last, JK_ERR_CONS_RECORD);
    t.pol[t.pol_len - 1] ^= 1;
    th_restart(&t);
    th_start(&t);
    JK_CHECK_EQ(t.last, JK_OK);
    JK_CHECK_EQ(th_status(&t).valid_round, 0);
    th_free(&t);
}

/* Layout 2 (session 12) brings the round's proposal back with the proof:
 * restored, the 2f+1 precommits of its round decide it with no proposal
 * delivered (the crash of every validator inside the write of a decided
 * height). Each part is checked before anything is restored — the
 * proposer's signature, its vr (which the signature covers), the value
 * against the prevotes' id — so a damaged or forged proof refuses the
 * start rather than put a proposal in the log that its proposer never
 * signed or whose bytes are not what 2f+1 prevoted. */
JK_TEST(test_cons_record_proof_of_lock_brings_back_a_checked_proposal)
{
    th t;
    th_begin(&t, 4, 0);
    th_proposal(&t, 1, 1, 0, NIL, 'a');
    th_votes(&t, "12", PV, 1, 0, 'a');
    JK_REQUIRE(t.pol_len > 4 + 4 + 64 + 4 && t.pol[3] == 0xFF);
    static const size_t at[] = {4, 8 + 10, 8 + 64 + 4 + 2}; /* vr, signature, value */
    for (size_t i = 0; i < 3; i++) {
        t.pol[at[i]] ^= 1;
        th_restart(&t);
        th_start(&t);
        JK_CHECK_EQ(t.last, JK_ERR_CONS_RECORD);
        t.pol[at[i]] ^= 1;
    }
    th_restart(&t);
    th_start(&t);
    JK_REQUIRE(t.last == JK_OK);
    th_votes(&t, "12", PC, 1, 0, 'a'); /* and our own, re-sent from the record */
    JK_REQUIRE(t.ndecided == 1);
    jk_hash a;
    th_id('a', &a);
    JK_CHECK_EQ(jk_cons_cert_check(&t.decided[0].cert, &t.genesis, &t.vs, 1, &a, NULL), JK_OK);
    th_free(&t);
}

/* Failure sticks (consensus.h): a commit that fails stops the machine; that
 * input and every later one return the same code and add no output, while a
 * refused peer message before it did not stop anything. */
JK_TEST(test_cons_record_failed_commit_sticks)
{
    th t;
    th_begin(&t, 4, 0);
    th_proposal(&t, 1, 1, 0, NIL, 'a');
    th_proposal(&t, 2, 1, 0, NIL, 'a'); /* not the proposer: refused, not stopping */
    JK_CHECK_EQ(t.last, JK_ERR_CONS_MEMBER);
    th_votes(&t, "12", PC, 1, 0, 'a');
    JK_CHECK_EQ(t.last, JK_OK);
    t.commit_fails = JK_ERR_CAP_STORE;
    th_vote(&t, 3, PC, 1, 0, 'a');
    JK_CHECK_EQ(t.last, JK_ERR_CAP_STORE);
    JK_CHECK_EQ(t.ndecided, 0);
    th_clear(&t);
    t.commit_fails = JK_OK; /* the store would work now: the machine stays stopped */
    jk_cons_timer tick = {JK_CONS_TIMER_TICK, 1, 0, 0};
    JK_CHECK_EQ(jk_cons_on_timer(t.m, &tick), JK_ERR_CAP_STORE);
    JK_CHECK_EQ(jk_cons_on_event(t.m, (const uint8_t *)"event", 5), JK_ERR_CAP_STORE);
    JK_CHECK_EQ(jk_cons_start(t.m), JK_ERR_CAP_STORE);
    th_vote(&t, 3, PV, 1, 0, 'a');
    JK_CHECK_EQ(t.last, JK_ERR_CAP_STORE);
    size_t n;
    jk_cons_outputs(t.m, &n);
    JK_CHECK_EQ(n, 0);
    JK_CHECK_EQ(t.nouts, 0);
    JK_CHECK_EQ(th_status(&t).height, 1);
    th_free(&t);
}
