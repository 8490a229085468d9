/*
 * input.c — the machine's inputs: peer messages (decoded, checked, logged,
 * buffered for the next height, or answered), timers, events, and the
 * public life cycle (new, start from the signed-vote record, free, outputs,
 * status). The upon-rules themselves are in machine.c.
 */
#include "internal.h"

#include "jark/bytes.h"

#include <stdlib.h>
#include <string.h>

/* ---- ingesting peer messages ---------------------------------------------- */

static void jk_evidence(jk_cons_machine *m, const jk_cons_vote *first, const jk_cons_vote *second)
{
    m->equivocations++;
    uint8_t *b = malloc(2 * JK_CONS_VOTE_SIZE);
    if (!b) {
        m->failed = JK_ERR_NOMEM;
        return;
    }
    jk_cons_vote_encode(first, b);
    jk_cons_vote_encode(second, b + JK_CONS_VOTE_SIZE);
    jk_cons_out *o = jk_cons_out_push(m, JK_CONS_OUT_EVIDENCE);
    if (!o) {
        free(b);
        return;
    }
    o->bytes = b;
    o->len = 2 * JK_CONS_VOTE_SIZE;
}

static jk_err jk_check_vote(const jk_cons_machine *m, const jk_cons_vote *v, jk_diag *diag)
{
    jk_err err = jk_cons_vote_verify(v, &m->cfg.genesis, m->cfg.valset);
    if (err == JK_ERR_CONS_MEMBER)
        return jk_diag_set(diag, err, "vote by validator %u of a set of %u", v->validator, m->n);
    if (err != JK_OK)
        return jk_diag_set(diag, err, "vote of validator %u at (%llu, %u) does not verify",
                           v->validator, (unsigned long long)v->height, v->round);
    return JK_OK;
}

/* "from proposer(h_p, round)": the signer must be the designated proposer. */
static jk_err jk_check_proposal(const jk_cons_machine *m, const jk_cons_proposal *p,
                                jk_hash *id, jk_diag *diag)
{
    const jk_cons_app *app = &m->cfg.app;
    if (p->proposer >= m->n || app->proposer(app->ctx, p->height, p->round) != p->proposer)
        return jk_diag_set(diag, JK_ERR_CONS_MEMBER,
                           "proposal by validator %u, not the proposer of (%llu, %u)",
                           p->proposer, (unsigned long long)p->height, p->round);
    app->hash(app->ctx, p->value, p->value_len, id);
    if (jk_cons_proposal_verify(p, &m->cfg.genesis, id, m->cfg.valset) != JK_OK)
        return jk_diag_set(diag, JK_ERR_CONS_SIG, "proposal of (%llu, %u) does not verify",
                           (unsigned long long)p->height, p->round);
    return JK_OK;
}

static bool jk_known_vote(const jk_cons_machine *m, const jk_cons_vote *v)
{
    const jk_cons_round *r = v->validator < m->n ? jk_cons_round_find(m, v->round) : NULL;
    if (!r)
        return false;
    const jk_cons_slot *s = v->type == JK_CONS_MSG_PREVOTE ? &r->prevotes[v->validator]
                                                           : &r->precommits[v->validator];
    const jk_cons_entry *e = jk_cons_slot_find(s, v->has_value ? &v->value : NULL);
    return e && memcmp(e->sig, v->sig, JK_ED25519_SIG_SIZE) == 0;
}

static void jk_log_vote(jk_cons_machine *m, const jk_cons_vote *v)
{
    if (!jk_cons_round_admit(m, v->validator, v->round))
        return;
    jk_cons_round *r = jk_cons_round_get(m, v->round);
    if (!r)
        return;
    jk_cons_slot *s = v->type == JK_CONS_MSG_PREVOTE ? &r->prevotes[v->validator]
                                                     : &r->precommits[v->validator];
    jk_cons_entry e;
    e.has_value = v->has_value;
    e.value = v->value;
    memcpy(e.sig, v->sig, JK_ED25519_SIG_SIZE);
    int added = jk_cons_slot_add(s, &e, r->has_proposal ? &r->value_hash : NULL);
    /* a vote for id(v) of the round's proposal: its sender had v (lines
     * 22, 28 and 36 want the proposal); a re-sent copy is no news, and
     * after a reconnect it may be all a restarted sender still has */
    if ((added == 1 || added == 2) && r->has_proposal && v->has_value &&
        memcmp(v->value.bytes, r->value_hash.bytes, JK_HASH_SIZE) == 0)
        r->holds[v->validator] = 1;
    if (added == 1) {
        r->seen[v->validator] = 1;
    } else if (added >= 2 && !s->evidenced) {
        s->evidenced = true;
        jk_cons_vote first = *v;
        first.has_value = s->v[0].has_value;
        first.value = s->v[0].value;
        memcpy(first.sig, s->v[0].sig, JK_ED25519_SIG_SIZE);
        jk_evidence(m, &first, v);
    }
}

/* Who holds the proposal of round r, as far as this log shows: its
 * proposer, the peer that sent it, and each validator whose vote of r is
 * for its id. What jk_resend leaves out. */
static void jk_note_holders(jk_cons_machine *m, jk_cons_round *r, uint32_t proposer, uint32_t peer)
{
    r->holds[proposer] = 1;
    if (peer < m->n)
        r->holds[peer] = 1;
}

static void jk_log_proposal(jk_cons_machine *m, uint32_t peer, const jk_cons_proposal *p,
                            const jk_hash *id)
{
    if (!jk_cons_round_admit(m, p->proposer, p->round))
        return;
    jk_cons_round *r = jk_cons_round_get(m, p->round);
    if (!r)
        return;
    if (r->has_proposal) {
        if (memcmp(r->value_hash.bytes, id->bytes, JK_HASH_SIZE) != 0 ||
            r->valid_round != p->valid_round)
            m->equivocations++; /* two proposals for one round: keep the first */
        else
            jk_note_holders(m, r, p->proposer, peer);
        return;
    }
    uint8_t *v = malloc(p->value_len);
    if (!v) {
        m->failed = JK_ERR_NOMEM;
        return;
    }
    memcpy(v, p->value, p->value_len);
    r->has_proposal = true;
    r->value = v;
    r->value_len = p->value_len;
    r->value_hash = *id;
    r->valid_round = p->valid_round;
    memcpy(r->prop_sig, p->sig, JK_ED25519_SIG_SIZE);
    r->validity = -1;
    r->seen[p->proposer] = 1;
    r->got_tick = m->ticks;
    jk_note_holders(m, r, p->proposer, peer);
    for (uint32_t i = 0; i < m->n; i++)
        if (jk_cons_slot_find(&r->prevotes[i], id) || jk_cons_slot_find(&r->precommits[i], id))
            r->holds[i] = 1;
}

/* A verified message of h_p + 1, replayed when that height starts; bounded,
 * so a flood is dropped (the stall tick re-sends what matters). */
static void jk_buffer(jk_cons_machine *m, uint32_t peer, const uint8_t *bytes, size_t len)
{
    if (m->nbuf >= 8 * (size_t)m->n + 8)
        return;
    jk_cons_buffered *b = realloc(m->buf, (m->nbuf + 1) * sizeof *b);
    uint8_t *copy = malloc(len);
    if (!b || !copy) {
        if (b)
            m->buf = b;
        free(copy);
        m->failed = JK_ERR_NOMEM;
        return;
    }
    m->buf = b;
    memcpy(copy, bytes, len);
    b[m->nbuf].bytes = copy;
    b[m->nbuf].len = len;
    b[m->nbuf].peer = peer;
    m->nbuf++;
}

static void jk_answer_sync(jk_cons_machine *m, uint32_t peer, uint64_t from)
{
    const jk_cons_app *app = &m->cfg.app;
    if (!app->get_decision || peer >= m->n || peer == m->cfg.self)
        return;
    for (uint64_t hh = from; hh < m->h && hh - from < JK_CONS_SYNC_BATCH; hh++) {
        const uint8_t *v;
        size_t len;
        const jk_cons_cert *cert;
        if (!app->get_decision(app->ctx, hh, &v, &len, &cert))
            break;
        jk_cons_msg msg = {0};
        msg.kind = JK_CONS_MSG_DECISION;
        msg.decision.value = v;
        msg.decision.value_len = len;
        msg.decision.cert = *cert;
        jk_cons_send_msg(m, peer, &msg);
    }
}

/* A decided value with its certificate for h_p: the line-49 decision made
 * from a certificate instead of from our own log (sync). */
static jk_err jk_ingest_decision(jk_cons_machine *m, const jk_cons_msg *msg, jk_diag *diag)
{
    const jk_cons_cert *cert = &msg->decision.cert;
    if (cert->height != m->h)
        return JK_OK; /* stale, or not checkable before its parent */
    jk_hash id;
    m->cfg.app.hash(m->cfg.app.ctx, msg->decision.value, msg->decision.value_len, &id);
    jk_err err = jk_cons_cert_check(cert, &m->cfg.genesis, m->cfg.valset, m->h, &id, diag);
    if (err != JK_OK)
        return err;
    if (!m->cfg.app.valid(m->cfg.app.ctx, m->h, msg->decision.value, msg->decision.value_len))
        return jk_diag_set(diag, JK_ERR_CONS_VALUE,
                           "decision for height %llu: certified value not valid here",
                           (unsigned long long)m->h);
    jk_cons_decide(m, msg->decision.value, msg->decision.value_len, cert);
    return m->failed;
}

jk_err jk_cons_ingest(jk_cons_machine *m, uint32_t peer, const uint8_t *bytes, size_t len,
                        jk_diag *diag)
{
    jk_cons_msg *msg = malloc(sizeof *msg); /* ~9 KB with its certificate */
    if (!msg)
        return m->failed = JK_ERR_NOMEM;
    jk_err err = jk_cons_msg_decode(bytes, len, msg, diag);
    if (err != JK_OK)
        goto done;
    jk_hash id;
    switch (msg->kind) {
    case JK_CONS_MSG_PROPOSAL:
        if (msg->proposal.height < m->h || msg->proposal.height > m->h + 1)
            break;
        if ((err = jk_check_proposal(m, &msg->proposal, &id, diag)) != JK_OK)
            break;
        if (msg->proposal.height == m->h)
            jk_log_proposal(m, peer, &msg->proposal, &id);
        else
            jk_buffer(m, peer, bytes, len);
        break;
    case JK_CONS_MSG_PREVOTE:
    case JK_CONS_MSG_PRECOMMIT:
        if (msg->vote.height < m->h || msg->vote.height > m->h + 1)
            break;
        if (msg->vote.height == m->h && jk_known_vote(m, &msg->vote))
            break; /* a re-sent copy: already verified and counted */
        if ((err = jk_check_vote(m, &msg->vote, diag)) != JK_OK)
            break;
        if (msg->vote.height == m->h)
            jk_log_vote(m, &msg->vote);
        else
            jk_buffer(m, peer, bytes, len);
        break;
    case JK_CONS_MSG_SYNC_REQUEST:
        jk_answer_sync(m, peer, msg->sync_height);
        break;
    case JK_CONS_MSG_DECISION:
        err = jk_ingest_decision(m, msg, diag);
        break;
    case JK_CONS_MSG_EVENT:
        if (m->cfg.app.add_event && m->cfg.app.add_event(m->cfg.app.ctx, msg->event, msg->event_len)) {
            m->waiting = false; /* something to propose: the wait ends */
            jk_cons_send_msg(m, JK_CONS_ALL, msg); /* gossip on, once per event */
        }
        break;
    }
done:
    free(msg);
    return err;
}

static void jk_send_vote(jk_cons_machine *m, const jk_cons_round *r, uint8_t type,
                         uint32_t validator, const jk_cons_entry *e, uint32_t to)
{
    jk_cons_msg msg = {0};
    msg.kind = (jk_cons_msg_kind)type;
    msg.vote.type = type;
    msg.vote.height = m->h;
    msg.vote.round = r->round;
    msg.vote.has_value = e->has_value;
    msg.vote.value = e->value;
    msg.vote.validator = validator;
    memcpy(msg.vote.sig, e->sig, JK_ED25519_SIG_SIZE);
    jk_cons_send_msg(m, to, &msg);
}

void jk_cons_send_slot(jk_cons_machine *m, const jk_cons_round *r, uint8_t type,
                       uint32_t validator, const jk_hash *only, uint32_t to)
{
    const jk_cons_slot *s = type == JK_CONS_MSG_PREVOTE ? &r->prevotes[validator]
                                                        : &r->precommits[validator];
    if (only) {
        const jk_cons_entry *e = jk_cons_slot_find(s, only);
        if (e)
            jk_send_vote(m, r, type, validator, e, to);
        return;
    }
    for (uint8_t i = 0; i < s->count; i++)
        jk_send_vote(m, r, type, validator, &s->v[i], to);
}

/* A proposal of round r again, on the stall tick, to the validators that
 * may lack it: not its proposer, not one whose vote of r is for it, not
 * one that sent it to us, not one we sent it to since its last reconnect
 * (jk_cons_peer_reset), and only once it has been in our log for a whole
 * tick, so the sends under way — its proposer's first — have that long to
 * arrive. A proposal is the big message (~250 KB at 1,024 events), and
 * every node re-sending it to every peer queued each copy behind the
 * transport's window, ahead of what mattered (docs/bench.md "Proposal
 * re-sends, session 14"). Whoever is wrong here (a crash the driver did
 * not report, a message lost inside a connection): on every
 * JK_CONS_RESEND_ALL_TICKS-th tick in a row without a new height, and
 * when a restart re-sends (stalled 0), it goes to every validator again. */
static void jk_resend_proposal(jk_cons_machine *m, jk_cons_round *r, uint32_t proposer, bool all)
{
    uint32_t lacking = 0;
    for (uint32_t v = 0; v < m->n; v++)
        lacking += v != m->cfg.self && (all || !r->holds[v]);
    if (lacking == 0 || (!all && m->ticks - r->got_tick < 2))
        return;
    if (lacking == m->n - 1) {
        jk_cons_send_proposal(m, r, proposer, JK_CONS_ALL);
    } else {
        for (uint32_t v = 0; v < m->n; v++)
            if (v != m->cfg.self && !r->holds[v])
                jk_cons_send_proposal(m, r, proposer, v);
    }
    memset(r->holds, 1, m->n);
}

/* The stall tick: the height did not move for one tick, so messages may
 * have been lost (drops, partitions, crashes). The paper assumes gossip
 * delivers to every correct process what one correct process received;
 * this is that gossip, bounded: our own messages of every round of h_p,
 * everyone's messages of round_p, and of older rounds what a rule can still
 * use — a proposal with 2f+1 prevotes for it (its proof of lock, which line
 * 28 needs at everyone) or 2f+1 precommits (a decision, line 49); the
 * proposals only to whom may lack them (jk_resend_proposal). Then ask
 * for decisions from h_p on, in case the others have moved on.
 * `to` JK_CONS_ALL is the tick (and a restart's re-send); a validator is
 * rule 13: the same choice for that one peer, which has just connected
 * (jk_cons_on_peer_up), less its own votes, and of the proposals only our
 * own: every validator holding another's would send the peer its copy of
 * the big message at once (n - 1 copies; the simulator's proposals per
 * height +35 %), while its proposer, connected too, sends it anyway; one
 * whose proposer is not connected goes on the next tick (holds cleared).
 * Our proposal goes to one validator (one key) once per (h, r) this way:
 * a validator reconnecting in a loop got the big message (~250 KB at the
 * testnet's load) at each connection; a later PEER_UP of it in the round
 * leaves it to the stall tick, which sends it to whom may lack it (its
 * holds were cleared) at most once a tick (session 16, peer16). */
static void jk_gossip(jk_cons_machine *m, uint32_t to)
{
    const jk_cons_app *app = &m->cfg.app;
    bool all = m->stalled % JK_CONS_RESEND_ALL_TICKS == 0;
    for (size_t i = 0; i < m->nrounds; i++) {
        jk_cons_round *r = m->rounds[i];
        uint32_t pol = 0, dec = 0;
        for (uint32_t v = 0; r->has_proposal && v < m->n; v++) {
            pol += jk_cons_slot_find(&r->prevotes[v], &r->value_hash) != NULL;
            dec += jk_cons_slot_find(&r->precommits[v], &r->value_hash) != NULL;
        }
        bool current = r->round == m->round;
        bool useful = pol >= m->quorum || dec >= m->quorum;
        uint32_t proposer = app->proposer(app->ctx, m->h, r->round);
        if (r->has_proposal && (current || useful || proposer == m->cfg.self)) {
            if (to == JK_CONS_ALL) {
                jk_resend_proposal(m, r, proposer, all);
            } else if (proposer == m->cfg.self && !r->up_sent[to]) {
                jk_cons_send_proposal(m, r, proposer, to);
                r->holds[to] = 1;
                r->up_sent[to] = 1;
            }
        }
        for (uint32_t v = 0; v < m->n; v++) {
            bool every = current || v == m->cfg.self;
            if (v == to)
                continue; /* its own votes: its records keep them */
            if (every || pol >= m->quorum)
                jk_cons_send_slot(m, r, JK_CONS_MSG_PREVOTE, v, every ? NULL : &r->value_hash, to);
            if (every || dec >= m->quorum)
                jk_cons_send_slot(m, r, JK_CONS_MSG_PRECOMMIT, v, every ? NULL : &r->value_hash, to);
        }
    }
    jk_cons_msg req = {0};
    req.kind = JK_CONS_MSG_SYNC_REQUEST;
    req.sync_height = m->h;
    jk_cons_send_msg(m, to, &req);
}

static void jk_resend(jk_cons_machine *m)
{
    jk_gossip(m, JK_CONS_ALL);
}

void jk_cons_peer_reset(jk_cons_machine *m, uint32_t validator)
{
    if (validator >= m->n || validator == m->cfg.self)
        return;
    for (size_t i = 0; i < m->nrounds; i++)
        m->rounds[i]->holds[validator] = 0;
}

jk_err jk_cons_on_peer_up(jk_cons_machine *m, uint32_t validator)
{
    if (m->failed != JK_OK)
        return m->failed;
    if (validator >= m->n || validator == m->cfg.self)
        return JK_OK;
    jk_cons_peer_reset(m, validator);
    jk_gossip(m, validator);
    return m->failed;
}

jk_err jk_cons_machine_new(const jk_cons_config *cfg, uint64_t height,
                           const jk_cons_record *records, size_t nrecords,
                           const uint8_t *pol, size_t pol_len, jk_cons_machine **out)
{
    *out = NULL;
    const jk_cons_app *a = &cfg->app;
    if (!cfg->valset || cfg->valset->count == 0 ||
        cfg->valset->count > JK_CONS_MAX_VALIDATORS || cfg->self >= cfg->valset->count ||
        !a->proposer || !a->get_value || !a->valid || !a->hash || !a->commit)
        return JK_ERR_INVALID_ARG;
    jk_cons_machine *m = calloc(1, sizeof *m);
    if (!m)
        return JK_ERR_NOMEM;
    m->cfg = *cfg;
    m->n = cfg->valset->count;
    m->quorum = jk_cons_quorum(m->n);
    m->skip = jk_cons_skip_threshold(m->n);
    m->h = height;
    m->locked_round = -1;
    m->valid_round = -1;
    m->future = calloc((size_t)m->n * JK_CONS_FUTURE_ROUNDS, sizeof *m->future);
    m->future_count = calloc(m->n, 1);
    if (!m->future || !m->future_count) {
        jk_cons_machine_free(m);
        return JK_ERR_NOMEM;
    }
    if (records && nrecords && records[nrecords - 1].present) {
        m->record = records[nrecords - 1];
        if (!(m->history = malloc(nrecords * sizeof *m->history))) {
            jk_cons_machine_free(m);
            return JK_ERR_NOMEM;
        }
        memcpy(m->history, records, nrecords * sizeof *m->history);
        m->nhistory = nrecords;
    }
    if (pol && pol_len) {
        if (!(m->pol = malloc(pol_len))) {
            jk_cons_machine_free(m);
            return JK_ERR_NOMEM;
        }
        memcpy(m->pol, pol, pol_len);
        m->pol_len = pol_len;
    }
    *out = m;
    return JK_OK;
}

void jk_cons_machine_free(jk_cons_machine *m)
{
    if (!m)
        return;
    jk_cons_clear_height(m);
    for (size_t i = 0; i < m->nbuf; i++)
        free(m->buf[i].bytes);
    free(m->buf);
    jk_cons_outputs_clear(m);
    free(m->outs);
    free(m->future);
    free(m->future_count);
    free(m->pol);
    free(m->history);
    jk_crypto_wipe(m->cfg.secret_key, sizeof m->cfg.secret_key);
    free(m);
}

/* Votes signed earlier at h_p, back in our own slots (re-signed: Ed25519 is
 * deterministic, so these are the very signatures sent before), so that the
 * stall tick re-sends them. Records of a later height stay for its resume;
 * older ones go. */
static void jk_restore_history(jk_cons_machine *m)
{
    size_t keep = 0;
    for (size_t i = 0; i < m->nhistory; i++) {
        const jk_cons_record *h = &m->history[i];
        if (h->present && h->height > m->h)
            m->history[keep++] = *h;
        if (!h->present || h->height != m->h || h->step == JK_CONS_STEP_PROPOSE)
            continue;
        jk_cons_vote v = {0};
        v.type = h->step == JK_CONS_STEP_PREVOTE ? JK_CONS_MSG_PREVOTE : JK_CONS_MSG_PRECOMMIT;
        v.height = h->height;
        v.round = h->round;
        v.has_value = h->has_value;
        v.value = h->value;
        v.validator = m->cfg.self;
        jk_cons_vote_sign(&v, &m->cfg.genesis, m->cfg.secret_key);
        jk_cons_round *r = jk_cons_round_get(m, v.round);
        if (!r)
            return;
        jk_cons_entry e;
        e.has_value = v.has_value;
        e.value = v.value;
        memcpy(e.sig, v.sig, JK_ED25519_SIG_SIZE);
        (void)jk_cons_slot_add(v.type == JK_CONS_MSG_PREVOTE ? &r->prevotes[m->cfg.self]
                                                             : &r->precommits[m->cfg.self],
                               &e, NULL);
        r->seen[m->cfg.self] = 1;
    }
    m->nhistory = keep;
    if (keep == 0) {
        free(m->history);
        m->history = NULL;
    }
}

const jk_cons_record *jk_cons_history_at(const jk_cons_machine *m)
{
    const jk_cons_record *at = NULL;
    for (size_t i = 0; i < m->nhistory; i++)
        if (m->history[i].present && m->history[i].height == m->h)
            at = &m->history[i];
    return at;
}

/* A restart inside a height we signed in: keep the lock (every record
 * carries it), go back to the round and step of `saved` (our last record of
 * h_p), and re-send what we signed there, which may never have left before
 * the crash. When the last record overall is above h_p (the store lagged
 * it: see jk_cons_start) nothing new may be signed at h_p, so the votes of
 * h_p come back from their records alone and go out at once. The proof of
 * lock is restored first (jk_cons_restore_pol). */
void jk_cons_resume(jk_cons_machine *m, jk_cons_record saved)
{
    bool below = m->record.height > m->h;
    jk_restore_history(m);
    if (saved.locked_round != JK_CONS_NIL_ROUND) {
        m->locked_round = saved.locked_round;
        m->locked_value = saved.locked_value;
    }
    jk_cons_start_round(m, saved.round);
    if (saved.step >= JK_CONS_STEP_PREVOTE) {
        uint8_t type = saved.step == JK_CONS_STEP_PREVOTE ? JK_CONS_MSG_PREVOTE
                                                          : JK_CONS_MSG_PRECOMMIT;
        if (!below)
            jk_cons_broadcast_vote(m, type, saved.has_value ? &saved.value : NULL);
        m->step = (jk_cons_step)saved.step;
        if (saved.step == JK_CONS_STEP_PREVOTE)
            jk_cons_schedule(m, JK_CONS_TIMER_PREVOTE);
        else
            jk_cons_schedule(m, JK_CONS_TIMER_PRECOMMIT);
    }
    if (below)
        jk_resend(m);
}

jk_err jk_cons_start(jk_cons_machine *m)
{
    if (m->failed != JK_OK)
        return m->failed;
    jk_cons_schedule(m, JK_CONS_TIMER_TICK);
    m->height_at_tick = m->h;
    jk_err err = jk_cons_restore_pol(m);
    if (err != JK_OK)
        return err;
    /* Records above h_p: the store lost its last decided height (its write
     * was still on the writer thread at the crash) after this validator
     * signed at the next (docs/node.md "The proposal before the write").
     * Every new signature at h_p is refused (jk_sign_allowed: below the
     * record); what it signed at h_p before (the records of h_p, kept too)
     * is re-sent, so the others can still decide h_p with it; the records
     * above wait in the history until h_p reaches them (jk_cons_decide). */
    const jk_cons_record *at = jk_cons_history_at(m);
    if (at) {
        jk_cons_resume(m, *at);
        return jk_cons_progress(m);
    }
    jk_restore_history(m); /* none of h_p: keeps those above, drops older */
    jk_cons_start_round(m, 0); /* line 10 */
    if (m->record.present && m->record.height > m->h)
        jk_resend(m); /* ask for the decision of h_p at once */
    return jk_cons_progress(m);
}

jk_err jk_cons_on_message(jk_cons_machine *m, uint32_t peer, const uint8_t *bytes, size_t len,
                          jk_diag *diag)
{
    if (m->failed != JK_OK)
        return m->failed;
    jk_err err = jk_cons_ingest(m, peer, bytes, len, diag);
    jk_err perr = jk_cons_progress(m);
    return err != JK_OK ? err : perr;
}

jk_err jk_cons_on_timer(jk_cons_machine *m, const jk_cons_timer *t)
{
    if (m->failed != JK_OK)
        return m->failed;
    if (t->kind == JK_CONS_TIMER_TICK) {
        /* The height did not move for a whole tick: re-send (gossip). Not
         * "no step moved": rounds keep moving with the timeouts while old
         * rounds' prevotes, which line 28 needs, are still missing. */
        m->ticks++;
        m->stalled = m->h == m->height_at_tick ? m->stalled + 1 : 0;
        if (m->stalled)
            jk_resend(m);
        m->height_at_tick = m->h;
        jk_cons_schedule(m, JK_CONS_TIMER_TICK);
        return jk_cons_progress(m);
    }
    if (t->height != m->h || t->round != m->round)
        return JK_OK;
    if (t->kind == JK_CONS_TIMER_START) {
        m->waiting = false; /* the empty-blocks interval is over */
    } else if (t->kind == JK_CONS_TIMER_PROPOSE && m->step == JK_CONS_STEP_PROPOSE) {
        /* OnTimeoutPropose, lines 57-60. */
        jk_cons_broadcast_vote(m, JK_CONS_MSG_PREVOTE, NULL);
        m->step = JK_CONS_STEP_PREVOTE;
    } else if (t->kind == JK_CONS_TIMER_PREVOTE && m->step == JK_CONS_STEP_PREVOTE) {
        /* OnTimeoutPrevote, lines 61-64. */
        jk_cons_broadcast_vote(m, JK_CONS_MSG_PRECOMMIT, NULL);
        m->step = JK_CONS_STEP_PRECOMMIT;
    } else if (t->kind == JK_CONS_TIMER_PRECOMMIT) {
        /* OnTimeoutPrecommit, lines 65-67. */
        jk_cons_start_round(m, m->round + 1);
    }
    return jk_cons_progress(m);
}

jk_err jk_cons_on_event(jk_cons_machine *m, const uint8_t *event, size_t len)
{
    if (m->failed != JK_OK)
        return m->failed;
    if (!event || len == 0 || len > JK_CONS_MAX_EVENT)
        return JK_ERR_INVALID_ARG;
    if (m->cfg.app.add_event && m->cfg.app.add_event(m->cfg.app.ctx, event, len)) {
        jk_cons_send_event(m, JK_CONS_ALL, event, len);
        if (m->waiting) {
            m->waiting = false; /* something to propose: the wait ends */
            return jk_cons_progress(m);
        }
    }
    return m->failed;
}

void jk_cons_hold(jk_cons_machine *m)
{
    m->held++;
}

jk_err jk_cons_release(jk_cons_machine *m)
{
    if (m->held)
        m->held--;
    return m->held ? m->failed : jk_cons_progress(m);
}

const jk_cons_out *jk_cons_outputs(const jk_cons_machine *m, size_t *count)
{
    *count = m->nouts;
    return m->outs;
}

void jk_cons_outputs_clear(jk_cons_machine *m)
{
    for (size_t i = 0; i < m->nouts; i++)
        free(m->outs[i].bytes);
    m->nouts = 0;
}

void jk_cons_status_get(const jk_cons_machine *m, jk_cons_status *st)
{
    memset(st, 0, sizeof *st);
    st->height = m->h;
    st->round = m->round;
    st->step = m->step;
    st->locked_round = m->locked_round < 0 ? JK_CONS_NIL_ROUND : (uint32_t)m->locked_round;
    if (m->locked_round >= 0)
        st->locked_value = m->locked_value;
    st->valid_round = m->valid_round < 0 ? JK_CONS_NIL_ROUND : (uint32_t)m->valid_round;
    st->equivocations = m->equivocations;
    st->refused_signs = m->refused;
    st->waiting = m->waiting;
    st->waits = m->waits;
}
