/*
 * consensus_net.c — the devnet on consensus's simulated network
 * (consensus.c's file comment): delays, loss, duplicates and the partition
 * over the schedule jk_cons_sim_queue (consensus.h), the Byzantine validators' corrupted
 * messages, and the watch over what honest validators sign.
 */
#include "consensus_internal.h"

#include "jark/bytes.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((format(printf, 3, 4)))
void jk_devnet_cs_violation(jk_cs *s, bool safety, const char *fmt, ...)
{
    if (safety)
        s->r->safety_ok = false;
    else
        s->r->liveness_ok = false;
    s->stop = true;
    if (s->r->violation[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->r->violation, sizeof s->r->violation, fmt, ap);
    va_end(ap);
}

uint64_t jk_devnet_cs_below(jk_cs *s, uint64_t n)
{
    return n ? jk_devnet_next(&s->rng) % n : 0;
}

bool jk_devnet_cs_chance(jk_cs *s, uint32_t permille)
{
    return jk_devnet_cs_below(s, 1000) < permille;
}

/* ---- the network ---------------------------------------------------------- */

static bool jk_cs_faulty(const jk_cs *s) { return s->now < s->fault_end; }

void jk_devnet_cs_transmit(jk_cs *s, uint32_t from, uint32_t to, const uint8_t *bytes, size_t len)
{
    if (from == to)
        return;
    bool faulty = jk_cs_faulty(s);
    uint64_t at = s->now + 2 + jk_devnet_cs_below(s, 30);
    if (faulty && s->f.partition && s->now >= s->part_start && s->now < s->part_end &&
        s->side[from] != s->side[to])
        at = s->part_end + jk_devnet_cs_below(s, 30); /* held until the heal */
    if (faulty && jk_devnet_cs_chance(s, s->f.drop_permille))
        return;
    int copies = faulty && jk_devnet_cs_chance(s, s->f.dup_permille) ? 2 : 1;
    for (int c = 0; c < copies; c++) {
        uint8_t *b = malloc(len ? len : 1);
        jk_cs_item *it = b ? jk_cons_sim_queue_push(&s->queue, at + (uint64_t)c * jk_devnet_cs_below(s, 20),
                                                    JK_CS_DELIVER, to)
                           : NULL;
        if (!it) {
            free(b);
            return;
        }
        memcpy(b, bytes, len);
        it->from = from;
        it->bytes = b;
        it->len = len;
        s->r->sent++;
    }
}

/* An honest validator's signed message: the same (height, round, type)
 * twice with different values is a violation. */
void jk_devnet_cs_watch_signed(jk_cs *s, jk_cs_node *n, const uint8_t *bytes, size_t len)
{
    jk_cons_msg msg;
    if (jk_cons_msg_decode(bytes, len, &msg, NULL) != JK_OK)
        return;
    jk_cs_signed sg;
    memset(&sg, 0, sizeof sg);
    if (msg.kind == JK_CONS_MSG_PROPOSAL) {
        if (msg.proposal.proposer != n->index)
            return; /* a re-gossip of another's proposal */
        sg.height = msg.proposal.height;
        sg.round = msg.proposal.round;
        sg.type = JK_CONS_MSG_PROPOSAL;
        sg.has_value = true;
        jk_cons_app app;
        jk_node_chain_app_bind(n->app, &app);
        app.hash(app.ctx, msg.proposal.value, msg.proposal.value_len, &sg.value);
    } else if (msg.kind == JK_CONS_MSG_PREVOTE || msg.kind == JK_CONS_MSG_PRECOMMIT) {
        if (msg.vote.validator != n->index)
            return;
        sg.height = msg.vote.height;
        sg.round = msg.vote.round;
        sg.type = msg.kind;
        sg.has_value = msg.vote.has_value;
        sg.value = msg.vote.value;
    } else {
        return;
    }
    bool conflict;
    if (jk_cons_sim_signed_note(&n->sigs, &sg, &conflict) == JK_OK && conflict)
        jk_devnet_cs_violation(s, true, "validator %u signed two different messages of kind %u "
                        "at height %" PRIu64 " round %u", n->index, sg.type, sg.height,
                        sg.round);
}

/* A Byzantine validator's SEND, corrupted (see the file comment). */
/* A proposal whose value carries its parent's certificate one signature
 * short of 2f+1, with the header's last_commit naming that short
 * certificate and the proposal signed for the id honest validators compute:
 * only the LastCommit rule of valid() refuses it. No draw from the rng, so
 * runs without Byzantine validators are unchanged. */
static bool jk_cs_bad_last_commit(jk_cs *s, jk_cs_node *n, jk_cons_msg *msg, uint8_t **out,
                                  size_t *out_len)
{
    jk_node_value *val = malloc(sizeof *val);
    bool ok = val && jk_node_value_decode(msg->proposal.value, msg->proposal.value_len, val,
                                          NULL) == JK_OK &&
              val->has_cert && val->cert.count > 1;
    uint8_t *block = ok ? malloc(val->block_len) : NULL, *value = NULL;
    size_t len = 0;
    ok = ok && block;
    if (ok) {
        memcpy(block, val->block, val->block_len);
        val->cert.count--;
        jk_hash lc, id;
        jk_cons_cert_hash(&val->cert, &lc);
        memcpy(block + 112, lc.bytes, 32); /* the header's last_commit */
        jk_chain_header h;
        ok = jk_chain_header_decode(block, JK_CHAIN_HEADER_SIZE, &h, NULL) == JK_OK &&
             jk_node_value_encode(block, val->block_len, &val->cert, &value, &len) == JK_OK;
        if (ok) {
            jk_chain_header_hash(&h, &id);
            msg->proposal.value = value;
            msg->proposal.value_len = len;
            jk_cons_proposal_sign(&msg->proposal, &s->genesis.genesis_hash, &id,
                                  s->keys[n->index].sk);
            ok = jk_cons_msg_encode(msg, out, out_len) == JK_OK;
        }
    }
    free(value);
    free(block);
    free(val);
    return ok;
}

void jk_devnet_cs_byzantine_send(jk_cs *s, jk_cs_node *n, uint32_t to, const uint8_t *bytes,
                                 size_t len)
{
    jk_cons_msg msg;
    uint8_t *out = NULL;
    size_t out_len = 0;
    if (jk_cons_msg_decode(bytes, len, &msg, NULL) == JK_OK) {
        if ((msg.kind == JK_CONS_MSG_PREVOTE || msg.kind == JK_CONS_MSG_PRECOMMIT) && to % 2 == 1) {
            /* equivocate: the odd half hears a vote for another value */
            msg.vote.has_value = true;
            for (int i = 0; i < 32; i++)
                msg.vote.value.bytes[i] = (uint8_t)jk_devnet_next(&s->rng);
            jk_cons_vote_sign(&msg.vote, &s->genesis.genesis_hash, s->keys[n->index].sk);
            jk_cons_msg_encode(&msg, &out, &out_len);
        } else if (msg.kind == JK_CONS_MSG_PROPOSAL && msg.proposal.proposer == n->index &&
                   (msg.proposal.height / s->v + msg.proposal.round) % 2 == 1 &&
                   jk_cs_bad_last_commit(s, n, &msg, &out, &out_len)) {
            n->bad++;
        } else if (msg.kind == JK_CONS_MSG_PROPOSAL && msg.proposal.proposer == n->index &&
                   msg.proposal.value_len >= JK_CHAIN_HEADER_SIZE) {
            /* an invalid proposal: a header whose state root is wrong */
            uint8_t *v = malloc(msg.proposal.value_len);
            jk_chain_header h;
            if (v) {
                memcpy(v, msg.proposal.value, msg.proposal.value_len);
                v[80] ^= 1;
                jk_hash id;
                if (jk_chain_header_decode(v, JK_CHAIN_HEADER_SIZE, &h, NULL) == JK_OK) {
                    jk_chain_header_hash(&h, &id);
                    msg.proposal.value = v;
                    jk_cons_proposal_sign(&msg.proposal, &s->genesis.genesis_hash, &id,
                                          s->keys[n->index].sk);
                    jk_cons_msg_encode(&msg, &out, &out_len);
                }
                free(v);
                n->bad++;
            }
        }
    }
    jk_devnet_cs_transmit(s, n->index, to, out ? out : bytes, out ? out_len : len);
    free(out);
    if (jk_devnet_cs_chance(s, 50)) { /* garbage */
        uint8_t junk[64];
        size_t jl = 1 + jk_devnet_cs_below(s, sizeof junk);
        for (size_t i = 0; i < jl; i++)
            junk[i] = (uint8_t)jk_devnet_next(&s->rng);
        junk[0] = (uint8_t)(1 + jk_devnet_cs_below(s, 6));
        jk_devnet_cs_transmit(s, n->index, to, junk, jl);
    }
}

