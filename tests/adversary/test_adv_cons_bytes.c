/*
 * test_adv_cons_bytes.c — every field of a signed consensus message wrong,
 * one at a time, down to the byte: a proposal, a prevote, a nil precommit
 * and a decision (a value with its commit certificate), each made and signed
 * by validators of a four-validator set, encoded, then every byte flipped
 * with three masks. Each flipped message must be refused: by the decoder,
 * with a reason (JK_ERR_CONS_DECODE and a message), or, when it still
 * decodes, by the check the node runs on its kind before anything counts
 * it (jk_cons_proposal_verify over id(v), jk_cons_vote_verify,
 * jk_cons_cert_check over the decided value). A flip may turn one kind into
 * another (a prevote's kind byte into a precommit's): the check of the kind
 * it decodes as must still refuse it, since the step is signed.
 */
#include "../test.h"
#include "../consensus/cons_harness.h"

#include <stdlib.h>
#include <string.h>

/* Is the decoded message m refused by the check of its kind? */
static bool refused_by_check(const th *t, const jk_cons_msg *m, jk_diag *why)
{
    jk_hash id;
    switch (m->kind) {
    case JK_CONS_MSG_PROPOSAL:
        jk_crypto_blake2b256(m->proposal.value, m->proposal.value_len, &id);
        return jk_cons_proposal_verify(&m->proposal, &t->genesis, &id, &t->vs) != JK_OK;
    case JK_CONS_MSG_PREVOTE:
    case JK_CONS_MSG_PRECOMMIT:
        return jk_cons_vote_verify(&m->vote, &t->genesis, &t->vs) != JK_OK;
    case JK_CONS_MSG_DECISION:
        jk_crypto_blake2b256(m->decision.value, m->decision.value_len, &id);
        return jk_cons_cert_check(&m->decision.cert, &t->genesis, &t->vs, m->decision.cert.height, &id, why) !=
               JK_OK;
    default:
        return false; /* an unsigned kind: nothing to refuse it, so a flip must not reach one */
    }
}

/* Encodes m, checks the encoding is accepted as it is, then flips every
 * byte; returns how many flips the decoder refused (*by_check: the rest). */
static size_t flip_all(const char *what, const th *t, const jk_cons_msg *m, size_t *by_check)
{
    uint8_t *enc = NULL;
    size_t len = 0, by_decode = 0;
    *by_check = 0;
    if (jk_cons_msg_encode(m, &enc, &len) != JK_OK) {
        jk_test_fail(__FILE__, __LINE__, "%s: does not encode", what);
        return 0;
    }
    jk_cons_msg d;
    jk_diag why = {{0}};
    if (jk_cons_msg_decode(enc, len, &d, &why) != JK_OK || refused_by_check(t, &d, &why))
        jk_test_fail(__FILE__, __LINE__, "%s: the unflipped message is refused (%s)", what, why.msg);
    static const uint8_t masks[3] = {0x01, 0x80, 0xff};
    for (size_t i = 0; i < len; i++)
        for (int k = 0; k < 3; k++) {
            enc[i] ^= masks[k];
            why.msg[0] = 0;
            jk_err err = jk_cons_msg_decode(enc, len, &d, &why);
            if (err != JK_OK) {
                by_decode++;
                if (err != JK_ERR_CONS_DECODE || !why.msg[0])
                    jk_test_fail(__FILE__, __LINE__, "%s: byte %zu ^ 0x%02x refused by decode as %s without a reason",
                                 what, i, masks[k], jk_strerror(err));
            } else if (refused_by_check(t, &d, &why)) {
                (*by_check)++;
            } else {
                jk_test_fail(__FILE__, __LINE__, "%s: byte %zu ^ 0x%02x accepted (as kind %d)", what, i, masks[k],
                             (int)d.kind);
            }
            enc[i] ^= masks[k];
        }
    free(enc);
    return by_decode;
}

JK_TEST(test_adv_cons_every_byte_of_a_signed_message)
{
    th t;
    th_init(&t, 4, 0);
    uint8_t value[16];
    size_t vlen = th_value('q', value);
    jk_hash id;
    jk_crypto_blake2b256(value, vlen, &id);

    jk_cons_msg m;
    size_t by_check = 0, by_decode = 0;

    /* A proposal of validator 2 at (7, 1), vr nil, and one with vr 0 at round 2. */
    for (uint32_t vr = 0; vr < 2; vr++) {
        memset(&m, 0, sizeof m);
        m.kind = JK_CONS_MSG_PROPOSAL;
        m.proposal = (jk_cons_proposal){.height = 7, .round = 1 + vr, .valid_round = vr ? 0 : JK_CONS_NIL_ROUND,
                                        .proposer = 2, .value = value, .value_len = vlen};
        jk_cons_proposal_sign(&m.proposal, &t.genesis, &id, t.sk[2]);
        by_decode = flip_all(vr ? "a proposal with vr 0" : "a proposal", &t, &m, &by_check);
        JK_CHECK(by_decode > 0 && by_check > 0);
    }

    /* A prevote for the value, a nil precommit. */
    for (int nil = 0; nil < 2; nil++) {
        memset(&m, 0, sizeof m);
        m.kind = nil ? JK_CONS_MSG_PRECOMMIT : JK_CONS_MSG_PREVOTE;
        m.vote = (jk_cons_vote){.type = (uint8_t)m.kind, .height = 7, .round = 1, .has_value = !nil,
                                .value = nil ? (jk_hash){{0}} : id, .validator = 3};
        jk_cons_vote_sign(&m.vote, &t.genesis, t.sk[3]);
        by_decode = flip_all(nil ? "a nil precommit" : "a prevote", &t, &m, &by_check);
        JK_CHECK(by_decode > 0 && by_check > 0);
    }

    /* A decision: the value with precommits of validators 0, 1 and 3. */
    memset(&m, 0, sizeof m);
    m.kind = JK_CONS_MSG_DECISION;
    m.decision.value = value;
    m.decision.value_len = vlen;
    m.decision.cert.height = 7;
    m.decision.cert.round = 1;
    m.decision.cert.value = id;
    const uint32_t who[3] = {0, 1, 3};
    for (int i = 0; i < 3; i++) {
        jk_cons_vote v = {.type = JK_CONS_MSG_PRECOMMIT, .height = 7, .round = 1, .has_value = true, .value = id,
                          .validator = who[i]};
        jk_cons_vote_sign(&v, &t.genesis, t.sk[who[i]]);
        m.decision.cert.sigs[i].validator = who[i];
        memcpy(m.decision.cert.sigs[i].sig, v.sig, sizeof v.sig);
    }
    m.decision.cert.count = 3;
    by_decode = flip_all("a decision", &t, &m, &by_check);
    JK_CHECK(by_decode > 0 && by_check > 0);
    th_free(&t);
}
