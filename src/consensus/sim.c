/*
 * sim.c — the deterministic simulator: a driver that runs N consensus
 * machines over a seeded, faulty network in one process (architecture.md §7:
 * "the simulator is a driver").
 *
 * Time is a counter in milliseconds. Every step pops the earliest item of a
 * heap ordered by (time, sequence number) — a delivery, a timer, a crash, a
 * restart, the heal, an event submission — feeds it to one machine and
 * carries out that machine's outputs in order. The checks run on every
 * output and commit (sim_app.c), so a violation is reported at the step that
 * caused it: agreement and equal roots at each honest commit, a valid
 * certificate for every commit, and for every honest vote that leaves a
 * machine: its record was persisted first, and it conflicts with nothing that
 * validator signed before (across crashes). After the heal, every honest
 * validator must decide new heights within the round bound and a deadline.
 * Every step is folded into a BLAKE2b digest: same seed, same digest.
 */
#include "sim_internal.h"

#include "jark/bytes.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void jk_cons_sim_violation(jk_sim *s, bool safety, const char *fmt, ...)
{
    if (safety)
        s->res->safety_ok = false;
    else
        s->res->liveness_ok = false;
    if (!s->res->violation[0]) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(s->res->violation, sizeof s->res->violation, fmt, ap);
        va_end(ap);
    }
    s->stop = true;
}

void jk_cons_sim_trace(jk_sim *s, const char *fmt, ...)
{
    if (!s->cfg->trace || !s->cfg->trace_steps)
        return;
    char line[240];
    int k = snprintf(line, sizeof line, "t=%llu ", (unsigned long long)s->now);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + k, sizeof line - (size_t)k, fmt, ap);
    va_end(ap);
    s->cfg->trace(s->cfg->trace_ctx, line);
}

/* A signed message a validator sends, as a trace line: kind, height, round,
 * the first bytes of id(v) (or nil), vr for a proposal. */
static void jk_trace_sent(jk_sim_node *node, const uint8_t *bytes, size_t len)
{
    jk_sim *s = node->sim;
    jk_cons_msg *msg;
    if (!s->cfg->trace || !s->cfg->trace_steps || !(msg = malloc(sizeof *msg)))
        return;
    if (jk_cons_msg_decode(bytes, len, msg, NULL) == JK_OK) {
        jk_hash id = {{0}};
        if (msg->kind == JK_CONS_MSG_PROPOSAL) {
            jk_crypto_blake2b256(msg->proposal.value, msg->proposal.value_len, &id);
            if (msg->proposal.proposer == node->index)
                jk_cons_sim_trace(s, "v%u%s PROPOSAL h%llu r%u vr %d %02x%02x%s", node->index,
                                  node->byzantine ? "*" : "", (unsigned long long)msg->proposal.height,
                                  msg->proposal.round, (int)msg->proposal.valid_round, id.bytes[0],
                                  id.bytes[1],
                                  jk_cons_sim_mock_valid(node, msg->proposal.height, msg->proposal.value,
                                                         msg->proposal.value_len) ? "" : " (invalid)");
        } else if ((msg->kind == JK_CONS_MSG_PREVOTE || msg->kind == JK_CONS_MSG_PRECOMMIT) &&
                   msg->vote.validator == node->index) {
            char v[8] = "nil";
            if (msg->vote.has_value)
                snprintf(v, sizeof v, "%02x%02x", msg->vote.value.bytes[0], msg->vote.value.bytes[1]);
            jk_cons_status st;
            jk_cons_status_get(node->m, &st);
            jk_cons_sim_trace(s, "v%u%s %s h%llu r%u %s (locked %d)", node->index,
                              node->byzantine ? "*" : "",
                              msg->kind == JK_CONS_MSG_PREVOTE ? "PREVOTE" : "PRECOMMIT",
                              (unsigned long long)msg->vote.height, msg->vote.round, v,
                              (int)st.locked_round);
        }
    }
    free(msg);
}

/* ---- the schedule --------------------------------------------------------- */

jk_sim_item *jk_cons_sim_push(jk_sim *s, uint64_t time, uint8_t kind, uint32_t node)
{
    jk_sim_item *it = jk_cons_sim_queue_push(&s->queue, time, kind, node);
    if (!it)
        s->failed = JK_ERR_NOMEM;
    return it;
}

/* ---- the network ---------------------------------------------------------- */

static void jk_digest_u64(jk_sim *s, uint64_t v)
{
    uint8_t b[8];
    jk_put_u64le(b, v);
    jk_crypto_hasher_update(&s->digest, b, 8);
}

/* One copy of bytes from `from` to `to`, subject to the faults. */
static void jk_transmit(jk_sim *s, uint32_t from, uint32_t to, const uint8_t *bytes, size_t len)
{
    const jk_cons_sim_config *c = s->cfg;
    bool faulty = !s->healed;
    if (faulty && s->now >= s->part_start && s->now < s->part_end && s->side[from] != s->side[to])
        return;
    if (faulty && jk_cons_sim_chance(&s->rng, c->drop_permille))
        return;
    int copies = faulty && jk_cons_sim_chance(&s->rng, c->dup_permille) ? 2 : 1;
    for (int k = 0; k < copies; k++) {
        uint64_t delay = c->delay_min_ms + jk_cons_sim_below(&s->rng, c->delay_max_ms - c->delay_min_ms + 1);
        uint8_t *copy = malloc(len);
        if (!copy) {
            s->failed = JK_ERR_NOMEM;
            return;
        }
        memcpy(copy, bytes, len);
        jk_sim_item *it = jk_cons_sim_push(s, s->now + delay, JK_SIM_DELIVER, to);
        if (!it) {
            free(copy);
            return;
        }
        it->from = from;
        it->bytes = copy;
        it->len = len;
        s->res->sent++;
        if (bytes[0] == JK_CONS_MSG_PROPOSAL) {
            s->res->proposals++;
            s->res->proposal_bytes += len;
        }
    }
}

static void jk_send(jk_sim *s, uint32_t from, uint32_t peer, const uint8_t *bytes, size_t len)
{
    for (uint32_t j = 0; j < s->vs.count; j++)
        if (j != from && (peer == JK_CONS_ALL || peer == j))
            jk_transmit(s, from, j, bytes, len);
}

/* ---- Byzantine behaviour -------------------------------------------------- */

static void jk_byz_send(jk_sim_node *node, uint32_t peer, const uint8_t *bytes, size_t len)
{
    jk_sim *s = node->sim;
    uint32_t mask = s->cfg->byz_mask;
    jk_cons_msg *msg = malloc(sizeof *msg);
    if (!msg) {
        s->failed = JK_ERR_NOMEM;
        return;
    }
    bool is_vote = jk_cons_msg_decode(bytes, len, msg, NULL) == JK_OK &&
                   (msg->kind == JK_CONS_MSG_PREVOTE || msg->kind == JK_CONS_MSG_PRECOMMIT);
    if (is_vote && (mask & JK_CONS_BYZ_WITHHOLD)) {
        /* withheld */
    } else if (is_vote && (mask & JK_CONS_BYZ_EQUIVOCATE) && peer == JK_CONS_ALL) {
        /* The genuine vote to even validators, a conflicting one to odd. */
        jk_cons_vote other = msg->vote;
        if (other.has_value) {
            other.has_value = false;
            memset(other.value.bytes, 0, 32);
        } else {
            other.has_value = true;
            jk_crypto_blake2b256(bytes, len, &other.value);
        }
        jk_cons_vote_sign(&other, &s->genesis, node->sk);
        uint8_t alt[JK_CONS_VOTE_SIZE];
        jk_cons_vote_encode(&other, alt);
        for (uint32_t j = 0; j < s->vs.count; j++)
            if (j != node->index)
                jk_transmit(s, node->index, j, j % 2 ? alt : bytes, len);
    } else {
        jk_send(s, node->index, peer, bytes, len);
    }
    free(msg);
    if (mask & JK_CONS_BYZ_GARBAGE) {
        uint8_t junk[160];
        size_t n = jk_cons_sim_below(&s->rng, sizeof junk + 1);
        if (jk_cons_sim_chance(&s->rng, 500) && len <= sizeof junk) {
            memcpy(junk, bytes, len); /* a mangled copy of a real message */
            n = len;
            junk[jk_cons_sim_below(&s->rng, n)] ^= (uint8_t)(1 + jk_cons_sim_below(&s->rng, 255));
        } else {
            for (size_t i = 0; i < n; i++)
                junk[i] = (uint8_t)jk_cons_sim_rand(&s->rng);
        }
        uint32_t to = (uint32_t)jk_cons_sim_below(&s->rng, s->vs.count);
        if (to != node->index)
            jk_transmit(s, node->index, to, junk, n);
    }
}

/* ---- checks on what an honest machine sends -------------------------------- */

static void jk_check_signed(jk_sim_node *node, const uint8_t *bytes, size_t len)
{
    jk_sim *s = node->sim;
    jk_cons_msg *msg = malloc(sizeof *msg);
    if (!msg) {
        s->failed = JK_ERR_NOMEM;
        return;
    }
    if (jk_cons_msg_decode(bytes, len, msg, NULL) != JK_OK) {
        jk_cons_sim_violation(s, true, "validator %u sent a message that does not decode",
                         node->index);
        free(msg);
        return;
    }
    jk_sim_signed sg = {0};
    uint8_t step;
    uint32_t signer = msg->kind == JK_CONS_MSG_PROPOSAL ? msg->proposal.proposer
                                                         : msg->vote.validator;
    if (signer != node->index && (msg->kind == JK_CONS_MSG_PROPOSAL ||
                                  msg->kind == JK_CONS_MSG_PREVOTE ||
                                  msg->kind == JK_CONS_MSG_PRECOMMIT)) {
        free(msg); /* relayed gossip: checked when its signer sent it */
        return;
    }
    if (msg->kind == JK_CONS_MSG_PROPOSAL) {
        sg.height = msg->proposal.height;
        sg.round = msg->proposal.round;
        sg.type = JK_CONS_MSG_PROPOSAL;
        sg.has_value = true;
        jk_crypto_blake2b256(msg->proposal.value, msg->proposal.value_len, &sg.value);
        step = JK_CONS_STEP_PROPOSE;
    } else if (msg->kind == JK_CONS_MSG_PREVOTE || msg->kind == JK_CONS_MSG_PRECOMMIT) {
        sg.height = msg->vote.height;
        sg.round = msg->vote.round;
        sg.type = msg->vote.type;
        sg.has_value = msg->vote.has_value;
        sg.value = msg->vote.value;
        step = msg->kind == JK_CONS_MSG_PREVOTE ? JK_CONS_STEP_PREVOTE : JK_CONS_STEP_PRECOMMIT;
    } else {
        free(msg);
        return;
    }
    free(msg);
    /* The record was persisted before the message left. */
    jk_cons_record rec;
    if (jk_cons_record_decode(node->record, sizeof node->record, &rec, NULL) != JK_OK ||
        !rec.present || rec.height < sg.height ||
        (rec.height == sg.height &&
         (rec.round < sg.round || (rec.round == sg.round && rec.step < step))))
        jk_cons_sim_violation(s, true, "validator %u sent a message at (%llu, %u, %u) its durable "
                         "record does not cover", node->index,
                         (unsigned long long)sg.height, sg.round, step);
    bool conflict;
    if (jk_cons_sim_signed_note(&node->sigs, &sg, &conflict) != JK_OK)
        s->failed = JK_ERR_NOMEM;
    else if (conflict)
        jk_cons_sim_violation(s, true, "honest validator %u signed two conflicting messages "
                         "(kind %u) at height %llu round %u", node->index, sg.type,
                         (unsigned long long)sg.height, sg.round);
}

static void jk_check_evidence(jk_sim_node *node, const uint8_t *b, size_t len)
{
    jk_sim *s = node->sim;
    jk_cons_msg *x = malloc(sizeof *x), *y = malloc(sizeof *y);
    if (!x || !y || len != 2 * JK_CONS_VOTE_SIZE ||
        jk_cons_msg_decode(b, JK_CONS_VOTE_SIZE, x, NULL) != JK_OK ||
        jk_cons_msg_decode(b + JK_CONS_VOTE_SIZE, JK_CONS_VOTE_SIZE, y, NULL) != JK_OK ||
        jk_cons_vote_verify(&x->vote, &s->genesis, &s->vs) != JK_OK ||
        jk_cons_vote_verify(&y->vote, &s->genesis, &s->vs) != JK_OK ||
        x->vote.validator != y->vote.validator)
        jk_cons_sim_violation(s, true, "validator %u emitted evidence that does not hold",
                         node->index);
    else if (!s->nodes[x->vote.validator].byzantine)
        jk_cons_sim_violation(s, true, "evidence against honest validator %u", x->vote.validator);
    free(x);
    free(y);
    s->res->evidence++;
}

/* A PERSIST_POL into the node's durable proofs, as the node's vote log
 * keeps them: the last one of each of the latest two heights, ascending (a
 * new one replaces its height's and drops those two heights below it). */
static void jk_keep_pol(jk_sim_node *node, const uint8_t *pol, size_t len)
{
    jk_sim *s = node->sim;
    size_t size;
    uint64_t h, ph;
    if (jk_cons_pol_next(pol, len, &size, &h, NULL) != JK_OK || size != len) {
        jk_cons_sim_violation(s, true, "validator %u: a malformed proof of lock", node->index);
        return;
    }
    uint8_t *b = malloc(node->pol_len + len);
    if (!b) {
        s->failed = JK_ERR_NOMEM;
        return;
    }
    size_t n = 0;
    for (size_t off = 0; off < node->pol_len; off += size) {
        if (jk_cons_pol_next(node->pol + off, node->pol_len - off, &size, &ph, NULL) != JK_OK)
            break; /* written by the code above: cannot happen */
        if (ph != h && ph + 1 >= h) {
            memcpy(b + n, node->pol + off, size);
            n += size;
        }
    }
    memcpy(b + n, pol, len);
    free(node->pol);
    node->pol = b;
    node->pol_len = n + len;
}

/* Carry out a machine's outputs in order. A mid-crash (the node dies right
 * after a PERSIST, before what follows it leaves) discards the rest. */
jk_err jk_cons_sim_drain(jk_sim_node *node)
{
    jk_sim *s = node->sim;
    size_t n;
    const jk_cons_out *outs = jk_cons_outputs(node->m, &n);
    bool crash = false;
    for (size_t i = 0; i < n && !crash && s->failed == JK_OK; i++) {
        const jk_cons_out *o = &outs[i];
        switch (o->kind) {
        case JK_CONS_OUT_PERSIST: {
            /* a new height: the records of two heights below it are done;
             * the previous height's stay, as the node's vote log keeps them
             * (its store may lose that height: jk_cons_sim_node_crash) */
            size_t keep = 0;
            for (size_t k = 0; k < node->nrecords; k++) {
                jk_cons_record r;
                if (jk_cons_record_decode(node->records[k], JK_CONS_RECORD_SIZE, &r, NULL) == JK_OK &&
                    r.height + 1 >= o->record.height)
                    memmove(node->records[keep++], node->records[k], JK_CONS_RECORD_SIZE);
            }
            node->nrecords = keep;
            if (node->nrecords == node->caprecords) {
                size_t cap = node->caprecords ? 2 * node->caprecords : 16;
                uint8_t(*a)[JK_CONS_RECORD_SIZE] = realloc(node->records, cap * sizeof *a);
                if (!a) {
                    s->failed = JK_ERR_NOMEM;
                    break;
                }
                node->records = a;
                node->caprecords = cap;
            }
            jk_cons_record_encode(&o->record, node->record);
            memcpy(node->records[node->nrecords++], node->record, JK_CONS_RECORD_SIZE);
            if (!s->healed && !node->byzantine &&
                jk_cons_sim_chance(&s->rng, s->cfg->midcrash_permille))
                crash = true;
            break;
        }
        case JK_CONS_OUT_SEND:
            jk_trace_sent(node, o->bytes, o->len);
            jk_digest_u64(s, o->len);
            if (node->byzantine) {
                jk_byz_send(node, o->peer, o->bytes, o->len);
            } else {
                jk_check_signed(node, o->bytes, o->len);
                jk_send(s, node->index, o->peer, o->bytes, o->len);
            }
            break;
        case JK_CONS_OUT_TIMER: {
            jk_sim_item *it = jk_cons_sim_push(s, s->now + o->timer.delay_ms, JK_SIM_TIMER, node->index);
            if (it) {
                it->timer = o->timer;
                it->inc = node->incarnation;
            }
            break;
        }
        case JK_CONS_OUT_EVIDENCE:
            jk_check_evidence(node, o->bytes, o->len);
            break;
        case JK_CONS_OUT_PERSIST_POL:
            jk_keep_pol(node, o->bytes, o->len);
            break;
        }
    }
    jk_cons_outputs_clear(node->m);
    if (crash) {
        s->res->midcrashes++;
        jk_cons_sim_trace(s, "v%u crashes after a PERSIST", node->index);
        jk_cons_sim_node_crash(node, false);
        jk_sim_item *it = jk_cons_sim_push(s, s->now + 20 + jk_cons_sim_below(&s->rng, 400), JK_SIM_RESTART,
                                  node->index);
        if (it)
            it->inc = node->incarnation;
    }
    return s->failed;
}

jk_err jk_cons_sim_peer_up(jk_sim *s, uint32_t at, uint32_t peer)
{
    jk_sim_node *node = &s->nodes[at];
    if (!node->m)
        return s->failed;
    s->res->steps++;
    if (jk_cons_on_peer_up(node->m, peer) != JK_OK)
        return JK_ERR_NOMEM;
    return jk_cons_sim_drain(node);
}
