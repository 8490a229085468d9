/* cons_harness.c — see cons_harness.h. */
#include "cons_harness.h"

#include <stdlib.h>
#include <string.h>

static uint32_t th_proposer(void *ctx, uint64_t h, uint32_t r)
{
    const th *t = ctx;
    return (uint32_t)((h + r) % t->n);
}

static jk_err th_get_value(void *ctx, uint64_t h, uint32_t r, uint8_t **v, size_t *len)
{
    (void)ctx;
    *v = malloc(16);
    if (!*v)
        return JK_ERR_NOMEM;
    *len = th_value((uint8_t)('a' + (h + r) % 26), *v);
    return JK_OK;
}

static bool th_valid(void *ctx, uint64_t h, const uint8_t *v, size_t len)
{
    (void)ctx;
    (void)h;
    return len > 0 && v[0] != 'X';
}

static void th_hash(void *ctx, const uint8_t *v, size_t len, jk_hash *out)
{
    (void)ctx;
    jk_crypto_blake2b256(v, len, out);
}

static jk_err th_commit(void *ctx, uint64_t h, const uint8_t *v, size_t len,
                        const jk_cons_cert *cert)
{
    th *t = ctx;
    if (t->commit_fails != JK_OK)
        return t->commit_fails;
    if (h != t->ndecided + 1 || t->ndecided == 8 || len > 16)
        return JK_ERR_INVALID_ARG;
    th_decision *d = &t->decided[t->ndecided++];
    memcpy(d->value, v, len);
    d->len = len;
    d->cert = *cert;
    return JK_OK;
}

static bool th_get_decision(void *ctx, uint64_t h, const uint8_t **v, size_t *len,
                            const jk_cons_cert **cert)
{
    const th *t = ctx;
    if (h == 0 || h > t->ndecided)
        return false;
    *v = t->decided[h - 1].value;
    *len = t->decided[h - 1].len;
    *cert = &t->decided[h - 1].cert;
    return true;
}

static bool th_add_event(void *ctx, const uint8_t *ev, size_t len)
{
    th *t = ctx;
    (void)ev;
    (void)len;
    t->events_added++;
    t->idle = false;
    return true;
}

static bool th_idle(void *ctx, uint64_t h)
{
    const th *t = ctx;
    (void)h;
    return t->idle;
}

static uint32_t th_propose_extra(void *ctx, uint64_t h, uint32_t r)
{
    const th *t = ctx;
    (void)h;
    (void)r;
    return t->extra_ms;
}

static void th_new_machine(th *t)
{
    jk_cons_config cfg = {0};
    cfg.genesis = t->genesis;
    cfg.valset = &t->vs;
    cfg.self = t->self;
    memcpy(cfg.secret_key, t->sk[t->self], sizeof cfg.secret_key);
    cfg.timeouts = t->timeouts;
    cfg.app = (jk_cons_app){.ctx = t, .proposer = th_proposer, .get_value = th_get_value,
                            .valid = th_valid, .hash = th_hash, .commit = th_commit,
                            .get_decision = th_get_decision, .add_event = th_add_event,
                            .idle = th_idle, .propose_extra_ms = th_propose_extra};
    if (jk_cons_machine_new(&cfg, t->ndecided + 1, t->records, t->nrecords,
                            t->pol_len ? t->pol : NULL, t->pol_len, &t->m) != JK_OK)
        abort();
}

void th_init(th *t, uint32_t n, uint32_t self)
{
    memset(t, 0, sizeof *t);
    if (jk_crypto_init() != JK_OK || n > TH_MAX)
        abort();
    t->n = n;
    t->self = self;
    t->vs.count = n;
    for (uint32_t i = 0; i < n; i++) {
        uint8_t seed[32] = {0};
        seed[0] = (uint8_t)(i + 1);
        if (jk_crypto_ed25519_keypair_from_seed(seed, t->vs.keys[i], t->sk[i]) != JK_OK)
            abort();
    }
    jk_crypto_blake2b256("harness genesis", 15, &t->genesis);
    t->timeouts = (jk_cons_timeouts){.propose_ms = 300, .propose_delta_ms = 100,
                                     .prevote_ms = 200, .prevote_delta_ms = 50,
                                     .precommit_ms = 150, .precommit_delta_ms = 25,
                                     .tick_ms = 1000};
    th_new_machine(t);
}

void th_clear(th *t)
{
    for (size_t i = 0; i < t->nouts; i++)
        free(t->bytes[i]);
    t->nouts = 0;
}

void th_free(th *t)
{
    th_clear(t);
    jk_cons_machine_free(t->m);
    t->m = NULL;
}

void th_restart(th *t)
{
    th_free(t);
    th_new_machine(t);
}

/* Copy the machine's outputs, and carry out the durable ones. */
static void th_collect(th *t)
{
    size_t n;
    const jk_cons_out *o = jk_cons_outputs(t->m, &n);
    for (size_t i = 0; i < n && t->nouts < 256; i++) {
        jk_cons_out c = o[i];
        uint8_t *b = NULL;
        if (c.len) {
            b = malloc(c.len);
            if (!b)
                abort();
            memcpy(b, o[i].bytes, c.len);
        }
        c.bytes = b;
        t->outs[t->nouts] = c;
        t->bytes[t->nouts++] = b;
        if (c.kind == JK_CONS_OUT_PERSIST) {
            /* the latest two heights' records, as the node's vote log */
            size_t keep = 0;
            for (size_t k = 0; k < t->nrecords; k++)
                if (t->records[k].height + 1 >= c.record.height)
                    t->records[keep++] = t->records[k];
            t->nrecords = keep;
            if (t->nrecords < 64)
                t->records[t->nrecords++] = c.record;
        } else if (c.kind == JK_CONS_OUT_PERSIST_POL && c.len <= sizeof t->pol) {
            memcpy(t->pol, b, c.len);
            t->pol_len = c.len;
        } else if (c.kind == JK_CONS_OUT_EVIDENCE) {
            t->evidence++;
        }
    }
    jk_cons_outputs_clear(t->m);
}

size_t th_value(uint8_t c, uint8_t out[16])
{
    memcpy(out, "value:", 6);
    out[0] = c == 'X' ? 'X' : 'v';
    out[6] = c;
    out[7] = 0;
    return 8;
}

void th_id(uint8_t c, jk_hash *out)
{
    uint8_t v[16];
    size_t n = th_value(c, v);
    jk_crypto_blake2b256(v, n, out);
}

void th_start(th *t)
{
    t->last = jk_cons_start(t->m);
    th_collect(t);
}

void th_begin(th *t, uint32_t n, uint32_t self)
{
    th_init(t, n, self);
    th_start(t);
}

void th_deliver(th *t, uint32_t peer, const uint8_t *bytes, size_t len)
{
    t->last = jk_cons_on_message(t->m, peer, bytes, len, NULL);
    th_collect(t);
}

void th_proposal(th *t, uint32_t from, uint64_t h, uint32_t r, uint32_t vr, uint8_t c)
{
    th_proposal_via(t, from, from, h, r, vr, c);
}

void th_proposal_via(th *t, uint32_t via, uint32_t from, uint64_t h, uint32_t r, uint32_t vr,
                     uint8_t c)
{
    uint8_t v[16];
    jk_cons_msg msg = {0};
    jk_hash id;
    msg.kind = JK_CONS_MSG_PROPOSAL;
    msg.proposal.height = h;
    msg.proposal.round = r;
    msg.proposal.valid_round = vr;
    msg.proposal.proposer = from;
    msg.proposal.value = v;
    msg.proposal.value_len = th_value(c, v);
    th_id(c, &id);
    jk_cons_proposal_sign(&msg.proposal, &t->genesis, &id, t->sk[from]);
    uint8_t *b;
    size_t len;
    if (jk_cons_msg_encode(&msg, &b, &len) != JK_OK)
        abort();
    th_deliver(t, via, b, len);
    free(b);
}

void th_vote(th *t, uint32_t from, uint8_t type, uint64_t h, uint32_t r, uint8_t c)
{
    jk_cons_vote v = {0};
    uint8_t b[JK_CONS_VOTE_SIZE];
    v.type = type;
    v.height = h;
    v.round = r;
    v.has_value = c != 0;
    if (c)
        th_id(c, &v.value);
    v.validator = from;
    jk_cons_vote_sign(&v, &t->genesis, t->sk[from]);
    jk_cons_vote_encode(&v, b);
    th_deliver(t, from, b, sizeof b);
}

void th_votes(th *t, const char *from, uint8_t type, uint64_t h, uint32_t r, uint8_t c)
{
    for (const char *f = from; *f; f++)
        th_vote(t, (uint32_t)(*f - '0'), type, h, r, c);
}

const jk_cons_out *th_timer(const th *t, jk_cons_timer_kind kind)
{
    for (size_t i = t->nouts; i-- > 0;)
        if (t->outs[i].kind == JK_CONS_OUT_TIMER && t->outs[i].timer.kind == kind)
            return &t->outs[i];
    return NULL;
}

bool th_fire(th *t, jk_cons_timer_kind kind)
{
    const jk_cons_out *o = th_timer(t, kind);
    if (!o)
        return false;
    jk_cons_timer timer = o->timer;
    t->last = jk_cons_on_timer(t->m, &timer);
    th_collect(t);
    return true;
}

void th_tick(th *t)
{
    jk_cons_status st;
    jk_cons_status_get(t->m, &st);
    jk_cons_timer tick = {.kind = JK_CONS_TIMER_TICK, .height = st.height, .delay_ms = 1000};
    t->last = jk_cons_on_timer(t->m, &tick);
    th_collect(t);
}

void th_peer_up(th *t, uint32_t peer)
{
    t->last = jk_cons_on_peer_up(t->m, peer);
    th_collect(t);
}

size_t th_sent_proposals(const th *t, uint32_t *peers, size_t max)
{
    size_t k = 0;
    for (size_t i = 0; i < t->nouts; i++) {
        const jk_cons_out *o = &t->outs[i];
        if (o->kind == JK_CONS_OUT_SEND && o->len && o->bytes[0] == JK_CONS_MSG_PROPOSAL) {
            if (k < max)
                peers[k] = o->peer;
            k++;
        }
    }
    return k;
}

int th_sent_vote(const th *t, uint8_t type, uint32_t round, jk_hash *value)
{
    for (size_t i = 0; i < t->nouts; i++) {
        const jk_cons_out *o = &t->outs[i];
        jk_cons_msg msg;
        if (o->kind != JK_CONS_OUT_SEND || jk_cons_msg_decode(o->bytes, o->len, &msg, NULL) != JK_OK)
            continue;
        if ((uint8_t)msg.kind != type || msg.vote.validator != t->self || msg.vote.round != round)
            continue;
        if (value)
            *value = msg.vote.value;
        return msg.vote.has_value ? 1 : 0;
    }
    return -1;
}

bool th_sent_proposal(const th *t, jk_cons_proposal *p)
{
    for (size_t i = 0; i < t->nouts; i++) {
        const jk_cons_out *o = &t->outs[i];
        jk_cons_msg msg;
        if (o->kind == JK_CONS_OUT_SEND &&
            jk_cons_msg_decode(o->bytes, o->len, &msg, NULL) == JK_OK &&
            msg.kind == JK_CONS_MSG_PROPOSAL && msg.proposal.proposer == t->self) {
            *p = msg.proposal;
            return true;
        }
    }
    return false;
}

size_t th_count(const th *t, jk_cons_out_kind kind)
{
    size_t c = 0;
    for (size_t i = 0; i < t->nouts; i++)
        c += t->outs[i].kind == kind;
    return c;
}

jk_cons_status th_status(const th *t)
{
    jk_cons_status st;
    jk_cons_status_get(t->m, &st);
    return st;
}
