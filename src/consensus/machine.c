/*
 * machine.c — Algorithm 1 of "The latest gossip on BFT consensus" (Buchman,
 * Kwon, Milosevic, arXiv:1807.04938) as a deterministic state machine.
 *
 * Variables keep the paper's names: h_p (height), round_p, step_p,
 * lockedValue_p / lockedRound_p, validValue_p / validRound_p; "line N" is the
 * paper's line. The upon-rules are evaluated by jk_cons_progress after every
 * input until none fires, which is the paper's "executed atomically".
 *
 * Invariants:
 *   - the message log holds only messages of h_p whose signature verified,
 *     the first one per (validator, round, kind); a second, different vote is
 *     equivocation evidence (counted, emitted, not used);
 *   - every proposal and vote this machine signs passes jk_sign_allowed, which
 *     pushes the PERSIST output before the SEND output (the signed-vote record
 *     is never behind what has left the machine);
 *   - the lock is part of every record written, so a restart keeps it.
 */
#include "internal.h"

#include "jark/bytes.h"

#include <stdlib.h>
#include <string.h>


/* ---- outputs -------------------------------------------------------------- */

jk_cons_out *jk_cons_out_push(jk_cons_machine *m, jk_cons_out_kind kind)
{
    if (m->nouts == m->capouts) {
        size_t cap = m->capouts ? 2 * m->capouts : 16;
        jk_cons_out *o = realloc(m->outs, cap * sizeof *o);
        if (!o) {
            m->failed = JK_ERR_NOMEM;
            return NULL;
        }
        m->outs = o;
        m->capouts = cap;
    }
    jk_cons_out *o = &m->outs[m->nouts++];
    memset(o, 0, sizeof *o);
    o->kind = kind;
    return o;
}

static void jk_send_bytes(jk_cons_machine *m, uint32_t peer, uint8_t *bytes, size_t len)
{
    jk_cons_out *o = jk_cons_out_push(m, JK_CONS_OUT_SEND);
    if (!o) {
        free(bytes);
        return;
    }
    o->peer = peer;
    o->bytes = bytes;
    o->len = len;
}

void jk_cons_send_msg(jk_cons_machine *m, uint32_t peer, const jk_cons_msg *msg)
{
    uint8_t *b;
    size_t len;
    jk_err err = jk_cons_msg_encode(msg, &b, &len);
    if (err != JK_OK) {
        m->failed = err;
        return;
    }
    jk_send_bytes(m, peer, b, len);
}

void jk_cons_send_event(jk_cons_machine *m, uint32_t peer, const uint8_t *event, size_t len)
{
    uint8_t *b;
    size_t n;
    jk_err err = jk_cons_event_encode(event, len, &b, &n);
    if (err != JK_OK) {
        m->failed = err;
        return;
    }
    jk_send_bytes(m, peer, b, n);
}

static uint32_t jk_timeout(uint32_t base, uint32_t delta, uint32_t round)
{
    uint64_t t = (uint64_t)base + (uint64_t)delta * round;
    return t > 0x7fffffff ? 0x7fffffff : (uint32_t)t;
}

void jk_cons_schedule(jk_cons_machine *m, jk_cons_timer_kind kind)
{
    const jk_cons_timeouts *t = &m->cfg.timeouts;
    jk_cons_out *o = jk_cons_out_push(m, JK_CONS_OUT_TIMER);
    if (!o)
        return;
    o->timer.kind = kind;
    o->timer.height = m->h;
    o->timer.round = m->round;
    switch (kind) {
    case JK_CONS_TIMER_PROPOSE: {
        const jk_cons_app *app = &m->cfg.app;
        uint64_t d = jk_timeout(t->propose_ms, t->propose_delta_ms, m->round);
        if (app->propose_extra_ms)
            d += app->propose_extra_ms(app->ctx, m->h, m->round);
        o->timer.delay_ms = d > 0x7fffffff ? 0x7fffffff : (uint32_t)d;
        break;
    }
    case JK_CONS_TIMER_PREVOTE:
        o->timer.delay_ms = jk_timeout(t->prevote_ms, t->prevote_delta_ms, m->round);
        break;
    case JK_CONS_TIMER_PRECOMMIT:
        o->timer.delay_ms = jk_timeout(t->precommit_ms, t->precommit_delta_ms, m->round);
        break;
    case JK_CONS_TIMER_TICK:
        o->timer.delay_ms = t->tick_ms;
        break;
    case JK_CONS_TIMER_START:
        o->timer.delay_ms = m->waiting ? t->empty_blocks_ms : 0;
        break;
    }
}

/* ---- the message log ------------------------------------------------------ */

static void jk_round_free(jk_cons_round *r)
{
    if (!r)
        return;
    free(r->value);
    free(r->prevotes);
    free(r->precommits);
    free(r->seen);
    free(r->holds);
    free(r->up_sent);
    free(r);
}

jk_cons_round *jk_cons_round_find(const jk_cons_machine *m, uint32_t round)
{
    for (size_t i = 0; i < m->nrounds; i++)
        if (m->rounds[i]->round == round)
            return m->rounds[i];
    return NULL;
}

/* The round's log, created on first use (NULL on NOMEM, recorded in failed). */
jk_cons_round *jk_cons_round_get(jk_cons_machine *m, uint32_t round)
{
    jk_cons_round *r = jk_cons_round_find(m, round);
    if (r)
        return r;
    jk_cons_round **rs = realloc(m->rounds, (m->nrounds + 1) * sizeof *rs);
    if (!rs)
        goto nomem;
    m->rounds = rs;
    r = calloc(1, sizeof *r);
    if (!r)
        goto nomem;
    r->round = round;
    r->validity = -1;
    r->prevotes = calloc(m->n, sizeof *r->prevotes);
    r->precommits = calloc(m->n, sizeof *r->precommits);
    r->seen = calloc(m->n, 1);
    r->holds = calloc(m->n, 1);
    r->up_sent = calloc(m->n, 1);
    if (!r->prevotes || !r->precommits || !r->seen || !r->holds || !r->up_sent) {
        jk_round_free(r);
        goto nomem;
    }
    size_t at = m->nrounds;
    while (at > 0 && m->rounds[at - 1]->round > round) {
        m->rounds[at] = m->rounds[at - 1];
        at--;
    }
    m->rounds[at] = r;
    m->nrounds++;
    return r;
nomem:
    m->failed = JK_ERR_NOMEM;
    return NULL;
}

/* May a message of `validator` for `round` open a log entry? Rounds up to
 * round_p + 1 always; beyond that each validator may open FUTURE_ROUNDS
 * rounds per height, so a Byzantine one cannot make the log grow without
 * bound, while f+1 honest ones can still pull us forward (line 55). */
bool jk_cons_round_admit(jk_cons_machine *m, uint32_t validator, uint32_t round)
{
    if (round <= m->round + 1 || jk_cons_round_find(m, round))
        return true;
    uint32_t *f = &m->future[(size_t)validator * JK_CONS_FUTURE_ROUNDS];
    for (uint8_t i = 0; i < m->future_count[validator]; i++)
        if (f[i] == round)
            return true;
    if (m->future_count[validator] == JK_CONS_FUTURE_ROUNDS)
        return false;
    f[m->future_count[validator]++] = round;
    return true;
}

const jk_cons_entry *jk_cons_slot_find(const jk_cons_slot *s, const jk_hash *value)
{
    for (uint8_t i = 0; i < s->count; i++) {
        const jk_cons_entry *e = &s->v[i];
        if (value ? e->has_value && memcmp(e->value.bytes, value->bytes, JK_HASH_SIZE) == 0
                  : !e->has_value)
            return e;
    }
    return NULL;
}

int jk_cons_slot_add(jk_cons_slot *s, const jk_cons_entry *e, const jk_hash *prefer)
{
    if (jk_cons_slot_find(s, e->has_value ? &e->value : NULL))
        return 0;
    if (s->count < JK_CONS_SLOT_VOTES) {
        s->v[s->count++] = *e;
        return s->count == 1 ? 1 : 2;
    }
    if (prefer && e->has_value && memcmp(e->value.bytes, prefer->bytes, JK_HASH_SIZE) == 0) {
        s->v[JK_CONS_SLOT_VOTES - 1] = *e;
        return 2;
    }
    return 3;
}

enum { JK_COUNT_ANY, JK_COUNT_NIL, JK_COUNT_VALUE };

/* How many validators sent a vote of this kind (any, nil, or for value). */
static uint32_t jk_count(const jk_cons_machine *m, const jk_cons_slot *s, int mode,
                         const jk_hash *value)
{
    uint32_t c = 0;
    for (uint32_t i = 0; i < m->n; i++) {
        if (s[i].count == 0)
            continue;
        if (mode == JK_COUNT_ANY || (mode == JK_COUNT_NIL && jk_cons_slot_find(&s[i], NULL)) ||
            (mode == JK_COUNT_VALUE && jk_cons_slot_find(&s[i], value)))
            c++;
    }
    return c;
}

static uint32_t jk_count_seen(const jk_cons_machine *m, const jk_cons_round *r)
{
    uint32_t c = 0;
    for (uint32_t i = 0; i < m->n; i++)
        c += r->seen[i] ? 1 : 0;
    return c;
}

/* valid(v) of a round's proposal, asked once. */
static bool jk_round_valid(jk_cons_machine *m, jk_cons_round *r)
{
    if (r->validity < 0)
        r->validity = m->cfg.app.valid(m->cfg.app.ctx, m->h, r->value, r->value_len) ? 1 : 0;
    return r->validity == 1;
}

/* ---- signing under the record --------------------------------------------- */

static int jk_hrs_cmp(uint64_t h1, uint32_t r1, uint8_t s1, uint64_t h2, uint32_t r2, uint8_t s2)
{
    if (h1 != h2)
        return h1 < h2 ? -1 : 1;
    if (r1 != r2)
        return r1 < r2 ? -1 : 1;
    if (s1 != s2)
        return s1 < s2 ? -1 : 1;
    return 0;
}

/* The signer's rule: sign at (h_p, round_p, step) only above the record's
 * (height, round, step), or at it for exactly what was signed there (a
 * re-send after a restart). When allowed, the new record (with the current
 * lock) is pushed as PERSIST, before the caller pushes the SEND. */
static bool jk_sign_allowed(jk_cons_machine *m, uint8_t step, bool has_value,
                            const jk_hash *value, uint32_t valid_round)
{
    jk_cons_record *rec = &m->record;
    jk_hash zero = {{0}};
    if (!has_value)
        value = &zero;
    if (rec->present) {
        int c = jk_hrs_cmp(m->h, m->round, step, rec->height, rec->round, rec->step);
        if (c < 0)
            goto refuse;
        if (c == 0) {
            if (rec->has_value != has_value || rec->valid_round != valid_round ||
                memcmp(rec->value.bytes, value->bytes, JK_HASH_SIZE) != 0)
                goto refuse;
            return true; /* the same message again: nothing new to persist */
        }
    }
    rec->present = true;
    rec->height = m->h;
    rec->round = m->round;
    rec->step = step;
    rec->has_value = has_value;
    rec->value = *value;
    rec->valid_round = valid_round;
    rec->locked_round = m->locked_round < 0 ? JK_CONS_NIL_ROUND : (uint32_t)m->locked_round;
    rec->locked_value = m->locked_round < 0 ? zero : m->locked_value;
    jk_cons_out *o = jk_cons_out_push(m, JK_CONS_OUT_PERSIST);
    if (!o)
        return false;
    o->record = *rec;
    return true;
refuse:
    m->refused++;
    return false;
}

/* broadcast ⟨PREVOTE|PRECOMMIT, h_p, round_p, id(v) or nil⟩: record, send,
 * and count it in our own log as every other process would. */
void jk_cons_broadcast_vote(jk_cons_machine *m, uint8_t type, const jk_hash *value)
{
    uint8_t step = type == JK_CONS_MSG_PREVOTE ? JK_CONS_STEP_PREVOTE : JK_CONS_STEP_PRECOMMIT;
    if (!jk_sign_allowed(m, step, value != NULL, value, JK_CONS_NIL_ROUND))
        return;
    jk_cons_msg msg = {0};
    msg.kind = (jk_cons_msg_kind)type;
    msg.vote.type = type;
    msg.vote.height = m->h;
    msg.vote.round = m->round;
    msg.vote.has_value = value != NULL;
    if (value)
        msg.vote.value = *value;
    msg.vote.validator = m->cfg.self;
    jk_cons_vote_sign(&msg.vote, &m->cfg.genesis, m->cfg.secret_key);
    jk_cons_send_msg(m, JK_CONS_ALL, &msg);
    jk_cons_round *r = jk_cons_round_get(m, m->round);
    if (!r)
        return;
    jk_cons_slot *s = type == JK_CONS_MSG_PREVOTE ? &r->prevotes[m->cfg.self]
                                                  : &r->precommits[m->cfg.self];
    jk_cons_entry e;
    e.has_value = msg.vote.has_value;
    e.value = msg.vote.value;
    memcpy(e.sig, msg.vote.sig, JK_ED25519_SIG_SIZE);
    (void)jk_cons_slot_add(s, &e, NULL);
    r->seen[m->cfg.self] = 1;
}

void jk_cons_send_proposal(jk_cons_machine *m, const jk_cons_round *r, uint32_t proposer,
                           uint32_t peer)
{
    jk_cons_msg msg = {0};
    msg.kind = JK_CONS_MSG_PROPOSAL;
    msg.proposal.height = m->h;
    msg.proposal.round = r->round;
    msg.proposal.valid_round = r->valid_round;
    msg.proposal.proposer = proposer;
    msg.proposal.value = r->value;
    msg.proposal.value_len = r->value_len;
    memcpy(msg.proposal.sig, r->prop_sig, JK_ED25519_SIG_SIZE);
    jk_cons_send_msg(m, peer, &msg);
}

/* broadcast ⟨PROPOSAL, h_p, round_p, proposal, validRound_p⟩ (line 19).
 * Takes ownership of value. Returns false when nothing was sent. */
static bool jk_broadcast_proposal(jk_cons_machine *m, uint8_t *value, size_t len)
{
    jk_hash id;
    m->cfg.app.hash(m->cfg.app.ctx, value, len, &id);
    uint32_t vr = m->valid_round < 0 ? JK_CONS_NIL_ROUND : (uint32_t)m->valid_round;
    jk_cons_round *r = jk_cons_round_get(m, m->round);
    if (!r || r->has_proposal || len == 0 || len > JK_CONS_MAX_VALUE ||
        !jk_sign_allowed(m, JK_CONS_STEP_PROPOSE, true, &id, vr)) {
        free(value);
        return false;
    }
    jk_cons_proposal p = {0};
    p.height = m->h;
    p.round = m->round;
    p.valid_round = vr;
    p.proposer = m->cfg.self;
    jk_cons_proposal_sign(&p, &m->cfg.genesis, &id, m->cfg.secret_key);
    r->has_proposal = true;
    r->value = value;
    r->value_len = len;
    r->value_hash = id;
    r->valid_round = vr;
    memcpy(r->prop_sig, p.sig, JK_ED25519_SIG_SIZE);
    r->seen[m->cfg.self] = 1;
    r->got_tick = m->ticks;
    memset(r->holds, 1, m->n); /* sent to every validator (jk_cons_peer_reset) */
    jk_cons_send_proposal(m, r, m->cfg.self, JK_CONS_ALL);
    /* Not in the paper: with vr >= 0, the 2f+1 prevotes of round vr for
     * id(v) go with it — what line 28 needs at every receiver. The paper's
     * gossip relays every message a correct process received within Δ;
     * ours relays on the stall tick, and an equivocator may have shown its
     * prevote for v to us alone (seed 1301, V = 4: the re-proposal of round
     * 2's value in round 3 failed at the two validators that lacked that
     * prevote, one more round). */
    const jk_cons_round *pol = vr == JK_CONS_NIL_ROUND ? NULL : jk_cons_round_find(m, vr);
    for (uint32_t i = 0; pol && i < m->n; i++)
        jk_cons_send_slot(m, pol, JK_CONS_MSG_PREVOTE, i, &id, JK_CONS_ALL);
    return true;
}

/* ---- StartRound and the decision ------------------------------------------ */

/* Function StartRound(round), lines 11-21. */
void jk_cons_start_round(jk_cons_machine *m, uint32_t round)
{
    m->round = round;               /* line 12 */
    m->step = JK_CONS_STEP_PROPOSE; /* line 13 */
    const jk_cons_app *app = &m->cfg.app;
    if (app->proposer(app->ctx, m->h, round) == m->cfg.self) { /* line 14 */
        uint8_t *v = NULL;
        size_t len = 0;
        bool sent = false;
        if (m->valid_value) { /* lines 15-16 */
            v = malloc(m->valid_len);
            if (v) {
                memcpy(v, m->valid_value, m->valid_len);
                len = m->valid_len;
            }
        } else if (app->get_value(app->ctx, m->h, round, &v, &len) != JK_OK) { /* line 18 */
            v = NULL;
        }
        if (v)
            sent = jk_broadcast_proposal(m, v, len); /* line 19 */
        /* Not in the paper: a proposer that could not propose (no value, or
         * the record refuses after a restart) waits like everyone else. */
        if (!sent)
            jk_cons_schedule(m, JK_CONS_TIMER_PROPOSE);
    } else {
        jk_cons_schedule(m, JK_CONS_TIMER_PROPOSE); /* line 21 */
    }
}

void jk_cons_clear_height(jk_cons_machine *m)
{
    for (size_t i = 0; i < m->nrounds; i++)
        jk_round_free(m->rounds[i]);
    free(m->rounds);
    m->rounds = NULL;
    m->nrounds = 0;
    memset(m->future_count, 0, m->n);
    free(m->valid_value);
    m->valid_value = NULL;
    m->valid_len = 0;
    m->locked_round = -1;
    memset(&m->locked_value, 0, sizeof m->locked_value);
    m->valid_round = -1;
}

/* decision_p[h_p] = v, then the next height (lines 51-54). */
void jk_cons_decide(jk_cons_machine *m, const uint8_t *value, size_t len,
                      const jk_cons_cert *cert)
{
    jk_err err = m->cfg.app.commit(m->cfg.app.ctx, m->h, value, len, cert);
    if (err != JK_OK) {
        m->failed = err;
        return;
    }
    m->h++;            /* line 52 */
    jk_cons_clear_height(m); /* line 53 */
    /* Not in the paper: the empty-blocks wait (jk_cons_timeouts). A chain
     * with nothing to do otherwise decides empty heights back to back, as
     * fast as the votes travel. Delaying line 54 is safe (it only delays
     * this validator's messages, as a slow network would) and live (the
     * START timer ends the wait), and an event ends it at once. */
    bool wait = m->cfg.timeouts.empty_blocks_ms > 0 && m->cfg.app.idle &&
                m->cfg.app.idle(m->cfg.app.ctx, m->h);
    const jk_cons_record *at = jk_cons_history_at(m);
    if (at) {
        /* A height signed in before a restart that began below it (the
         * store lagged the records: jk_cons_start): resume it as a restart
         * inside it would, with no empty-blocks wait (it was entered once). */
        if ((err = jk_cons_restore_pol(m)) != JK_OK) {
            m->failed = err;
            return;
        }
        jk_cons_resume(m, *at);
    } else if (m->n == 1 || wait) {
        /* A lone validator's own votes are a quorum: StartRound(0) would
         * decide the next height inside this very input, and the next, so
         * its driver never got control back (RPC, signals). Line 54 runs on
         * the next input instead, at the latest a zero-delay timer: the
         * same steps, one height per input. V >= 2 is unchanged. */
        m->round = 0;
        m->step = JK_CONS_STEP_PROPOSE;
        m->start_pending = true;
        m->waiting = wait;
        m->waits += wait;
        jk_cons_schedule(m, JK_CONS_TIMER_START);
    } else {
        jk_cons_start_round(m, 0); /* line 54 */
    }
    /* Messages of the new height that arrived early. */
    jk_cons_buffered *buf = m->buf;
    size_t nbuf = m->nbuf;
    m->buf = NULL;
    m->nbuf = 0;
    for (size_t i = 0; i < nbuf; i++) {
        (void)jk_cons_ingest(m, buf[i].peer, buf[i].bytes, buf[i].len, NULL);
        free(buf[i].bytes);
    }
    free(buf);
}

/* The certificate of a decision at round r: every precommit of r for id
 * in the log, ascending by validator (at least 2f+1 of them); over
 * prevotes, the proof of lock of line 36. */
static void jk_make_cert(const jk_cons_machine *m, const jk_cons_round *r, const jk_hash *id,
                         const jk_cons_slot *slots, jk_cons_cert *c)
{
    memset(c, 0, sizeof *c);
    c->height = m->h;
    c->round = r->round;
    c->value = *id;
    for (uint32_t i = 0; i < m->n; i++) {
        const jk_cons_entry *e = jk_cons_slot_find(&slots[i], id);
        if (e) {
            c->sigs[c->count].validator = i;
            memcpy(c->sigs[c->count].sig, e->sig, JK_ED25519_SIG_SIZE);
            c->count++;
        }
    }
}

static void jk_persist_pol(jk_cons_machine *m, const jk_cons_round *r)
{
    jk_cons_cert *c = malloc(sizeof *c);
    uint8_t *b = NULL;
    size_t len = 0;
    if (c) {
        jk_make_cert(m, r, &r->value_hash, r->prevotes, c);
        if (jk_cons_pol_encode(m, r, c, &b, &len) != JK_OK)
            b = NULL;
    }
    jk_cons_out *o = b ? jk_cons_out_push(m, JK_CONS_OUT_PERSIST_POL) : NULL;
    free(c);
    if (!o) {
        free(b);
        m->failed = JK_ERR_NOMEM;
        return;
    }
    o->bytes = b;
    o->len = len;
}

/* ---- the upon-rules ------------------------------------------------------- */

/* Line 49's proposal for round r: r's own, or — not in the paper — that
 * of another round with the same id(v), valid, when r's 2f+1 precommits
 * are for it. The decision is v either way (2f+1 precommitted id(v) in
 * r); only its bytes come from elsewhere. Why: after every validator
 * crashed inside the write of a decided height, each restores the last
 * proof of lock of the height (pol.c), which may be of a later round than
 * the decision's (the same value: a decided value is the only one anyone
 * can lock afterwards), and the re-sent precommits are those of the
 * decision's round. NULL when none. */
static jk_cons_round *jk_decidable(jk_cons_machine *m, jk_cons_round *r)
{
    if (r->has_proposal && jk_count(m, r->precommits, JK_COUNT_VALUE, &r->value_hash) >= m->quorum &&
        jk_round_valid(m, r)) /* line 50 */
        return r;
    for (size_t j = 0; j < m->nrounds; j++) {
        jk_cons_round *p = m->rounds[j];
        if (p == r || !p->has_proposal || (r->has_proposal && !memcmp(p->value_hash.bytes, r->value_hash.bytes, JK_HASH_SIZE)))
            continue;
        if (jk_count(m, r->precommits, JK_COUNT_VALUE, &p->value_hash) >= m->quorum && jk_round_valid(m, p))
            return p;
    }
    return NULL;
}


/* validValue_p := r's proposal, validRound_p := r (lines 42-43); false
 * only when out of memory (recorded in failed). */
static bool jk_set_valid(jk_cons_machine *m, const jk_cons_round *r)
{
    uint8_t *copy = malloc(r->value_len);
    if (!copy) {
        m->failed = JK_ERR_NOMEM;
        return false;
    }
    memcpy(copy, r->value, r->value_len);
    free(m->valid_value);
    m->valid_value = copy;
    m->valid_len = r->value_len;
    m->valid_round = r->round;
    return true;
}

/* One pass: fire the first rule whose condition holds; true if one did. */
static bool jk_step_once(jk_cons_machine *m)
{
    /* Lines 49-54: a proposal of any round r with 2f+1 precommits for it. */
    for (size_t i = 0; i < m->nrounds; i++) {
        jk_cons_round *r = m->rounds[i];
        jk_cons_round *p = jk_decidable(m, r);
        if (!p)
            continue;
        jk_cons_cert *cert = malloc(sizeof *cert);
        uint8_t *v = malloc(p->value_len);
        if (!cert || !v) {
            free(cert);
            free(v);
            m->failed = JK_ERR_NOMEM;
            return false;
        }
        jk_make_cert(m, r, &p->value_hash, r->precommits, cert);
        memcpy(v, p->value, p->value_len);
        size_t len = p->value_len;
        jk_cons_decide(m, v, len, cert);
        free(v);
        free(cert);
        return m->failed == JK_OK;
    }
    /* Lines 55-56: f+1 messages of a round above round_p: skip to it (the
     * highest such round). */
    for (size_t i = m->nrounds; i-- > 0;) {
        jk_cons_round *r = m->rounds[i];
        if (r->round <= m->round)
            break;
        if (jk_count_seen(m, r) >= m->skip) {
            jk_cons_start_round(m, r->round);
            return true;
        }
    }
    /* Lines 36 and 42-43 applied late (not in the paper as written): a
     * proof of an earlier round r — its proposal, valid, and 2f+1 prevotes
     * for it — that this process completes only after leaving r. Had it
     * arrived in time, line 36 would have made it validValue_p; the
     * paper's gossip would have brought it within Δ, ours brings it on the
     * stall tick. Only what this process proposes changes (lines 15-16),
     * and every receiver checks the proof again at line 28: safe for the
     * reason the restore is (docs/consensus.md "validValue from a later
     * proof"). The lock does not move. validRound_p only grows. */
    for (size_t i = m->nrounds; i-- > 0;) {
        jk_cons_round *p = m->rounds[i];
        if ((int64_t)p->round <= m->valid_round)
            break;
        if (p->round >= m->round || !p->has_proposal ||
            jk_count(m, p->prevotes, JK_COUNT_VALUE, &p->value_hash) < m->quorum ||
            !jk_round_valid(m, p))
            continue;
        return jk_set_valid(m, p);
    }
    jk_cons_round *r = jk_cons_round_find(m, m->round);
    if (!r)
        return false;
    if (m->step == JK_CONS_STEP_PROPOSE && r->has_proposal) {
        if (r->valid_round == JK_CONS_NIL_ROUND) {
            /* Lines 22-27. */
            bool ok = jk_round_valid(m, r) &&
                      (m->locked_round < 0 ||
                       memcmp(m->locked_value.bytes, r->value_hash.bytes, JK_HASH_SIZE) == 0);
            jk_cons_broadcast_vote(m, JK_CONS_MSG_PREVOTE, ok ? &r->value_hash : NULL);
            m->step = JK_CONS_STEP_PREVOTE;
            return true;
        }
        /* Lines 28-33: vr >= 0 and vr < round_p (the decoder enforces it),
         * with 2f+1 prevotes of round vr for id(v). */
        jk_cons_round *vr = jk_cons_round_find(m, r->valid_round);
        if (vr && jk_count(m, vr->prevotes, JK_COUNT_VALUE, &r->value_hash) >= m->quorum) {
            bool ok = jk_round_valid(m, r) &&
                      (m->locked_round <= (int64_t)r->valid_round ||
                       memcmp(m->locked_value.bytes, r->value_hash.bytes, JK_HASH_SIZE) == 0);
            jk_cons_broadcast_vote(m, JK_CONS_MSG_PREVOTE, ok ? &r->value_hash : NULL);
            m->step = JK_CONS_STEP_PREVOTE;
            return true;
        }
    }
    /* Lines 34-35. */
    if (m->step == JK_CONS_STEP_PREVOTE && !r->fired_34 &&
        jk_count(m, r->prevotes, JK_COUNT_ANY, NULL) >= m->quorum) {
        r->fired_34 = true;
        jk_cons_schedule(m, JK_CONS_TIMER_PREVOTE);
        return true;
    }
    /* Lines 36-43: the proposal of round_p with 2f+1 prevotes for it, valid,
     * step >= prevote, for the first time. */
    if (m->step >= JK_CONS_STEP_PREVOTE && !r->fired_36 && r->has_proposal &&
        jk_count(m, r->prevotes, JK_COUNT_VALUE, &r->value_hash) >= m->quorum &&
        jk_round_valid(m, r)) {
        r->fired_36 = true;
        /* Persisted before the precommit that may follow: see
         * jk_cons_machine_new for why the proof must survive a crash. */
        jk_persist_pol(m, r);
        if (m->step == JK_CONS_STEP_PREVOTE) { /* line 37 */
            m->locked_value = r->value_hash;   /* line 38 */
            m->locked_round = r->round;        /* line 39 */
            jk_cons_broadcast_vote(m, JK_CONS_MSG_PRECOMMIT, &r->value_hash); /* line 40 */
            m->step = JK_CONS_STEP_PRECOMMIT;  /* line 41 */
        }
        return jk_set_valid(m, r); /* lines 42-43 */
    }
    /* Lines 44-46. */
    if (m->step == JK_CONS_STEP_PREVOTE &&
        jk_count(m, r->prevotes, JK_COUNT_NIL, NULL) >= m->quorum) {
        jk_cons_broadcast_vote(m, JK_CONS_MSG_PRECOMMIT, NULL);
        m->step = JK_CONS_STEP_PRECOMMIT;
        return true;
    }
    /* Lines 47-48. */
    if (!r->fired_47 && jk_count(m, r->precommits, JK_COUNT_ANY, NULL) >= m->quorum) {
        r->fired_47 = true;
        jk_cons_schedule(m, JK_CONS_TIMER_PRECOMMIT);
        return true;
    }
    return false;
}

/* A peer's proposal or vote of h_p in the log (a decision's buffered
 * messages included): it stopped waiting, so do we (nothing is signed at
 * h_p while waiting). */
static void jk_wake_on_peer(jk_cons_machine *m)
{
    if (m->waiting && m->nrounds > 0) {
        m->waiting = false;
        m->start_pending = false;
        jk_cons_start_round(m, 0); /* line 54, after the wait */
    }
}

jk_err jk_cons_progress(jk_cons_machine *m)
{
    jk_wake_on_peer(m);
    if (m->start_pending && !m->waiting && !m->held && m->failed == JK_OK) {
        m->start_pending = false;
        jk_cons_start_round(m, 0); /* line 54, deferred (jk_cons_decide) */
    }
    while (m->failed == JK_OK && jk_step_once(m))
        jk_wake_on_peer(m);
    return m->failed;
}

/* ---- inputs --------------------------------------------------------------- */

