/*
 * test_cons_codec.c — thresholds, message round trips and refusals, commit
 * certificates (check, hash), the signed-vote record codec.
 */
#include "../test.h"
#include "cons_harness.h"

#include <stdlib.h>

JK_TEST(test_cons_quorum_thresholds)
{
    static const uint32_t n[] = {1, 3, 4, 5, 6, 7, 10, 100};
    static const uint32_t q[] = {1, 3, 3, 4, 5, 5, 7, 67};
    static const uint32_t s[] = {1, 2, 2, 2, 3, 3, 4, 34};
    for (size_t i = 0; i < sizeof n / sizeof n[0]; i++) {
        JK_CHECK_EQ(jk_cons_quorum(n[i]), q[i]);
        JK_CHECK_EQ(jk_cons_skip_threshold(n[i]), s[i]);
        /* Two quorums share more than f = (n-1)/3 validators (safety), and
         * f+1 always holds an honest one. */
        JK_CHECK(2 * q[i] > n[i] + (n[i] - 1) / 3);
        JK_CHECK(s[i] > (n[i] - 1) / 3);
    }
}

static void roundtrip(const jk_cons_msg *msg)
{
    uint8_t *b = NULL, *b2 = NULL;
    size_t len = 0, len2 = 0;
    jk_cons_msg back;
    jk_diag diag = {{0}};
    JK_REQUIRE(jk_cons_msg_encode(msg, &b, &len) == JK_OK);
    JK_CHECK_EQ(jk_cons_msg_decode(b, len, &back, &diag), JK_OK);
    JK_CHECK_EQ(back.kind, msg->kind);
    JK_CHECK_EQ(jk_cons_msg_encode(&back, &b2, &len2), JK_OK);
    JK_CHECK_EQ(len2, len);
    if (b2 && len2 == len)
        JK_CHECK_MEM(b, b2, len);
    /* Every strict prefix is refused. */
    for (size_t cut = 0; cut < len; cut += 1 + cut / 4)
        JK_CHECK_EQ(jk_cons_msg_decode(b, cut, &back, NULL), JK_ERR_CONS_DECODE);
    free(b);
    free(b2);
}

JK_TEST(test_cons_msg_round_trips)
{
    th t;
    th_init(&t, 4, 0);
    uint8_t v[16];
    jk_cons_msg m = {0};
    m.kind = JK_CONS_MSG_PROPOSAL;
    m.proposal = (jk_cons_proposal){.height = 9, .round = 3, .valid_round = 1, .proposer = 2,
                                    .value = v, .value_len = th_value('q', v)};
    roundtrip(&m);
    m.proposal.valid_round = JK_CONS_NIL_ROUND;
    roundtrip(&m);
    memset(&m, 0, sizeof m);
    m.kind = JK_CONS_MSG_PRECOMMIT;
    m.vote = (jk_cons_vote){.type = JK_CONS_MSG_PRECOMMIT, .height = 5, .round = 2,
                            .has_value = true, .validator = 3};
    th_id('z', &m.vote.value);
    jk_cons_vote_sign(&m.vote, &t.genesis, t.sk[3]);
    roundtrip(&m);
    m.kind = JK_CONS_MSG_PREVOTE;
    m.vote.type = JK_CONS_MSG_PREVOTE;
    m.vote.has_value = false;
    memset(m.vote.value.bytes, 0, 32);
    roundtrip(&m);
    memset(&m, 0, sizeof m);
    m.kind = JK_CONS_MSG_SYNC_REQUEST;
    m.sync_height = 77;
    roundtrip(&m);
    memset(&m, 0, sizeof m);
    m.kind = JK_CONS_MSG_EVENT;
    m.event = v;
    m.event_len = 5;
    roundtrip(&m);
    memset(&m, 0, sizeof m);
    m.kind = JK_CONS_MSG_DECISION;
    m.decision.value = v;
    m.decision.value_len = 8;
    m.decision.cert.height = 4;
    m.decision.cert.count = 2;
    m.decision.cert.sigs[0].validator = 1;
    m.decision.cert.sigs[1].validator = 3;
    roundtrip(&m);
    th_free(&t);
}

static void refused(const uint8_t *b, size_t len, const char *what)
{
    jk_cons_msg m;
    jk_diag diag = {{0}};
    jk_err err = jk_cons_msg_decode(b, len, &m, &diag);
    if (err != JK_ERR_CONS_DECODE || !diag.msg[0])
        jk_test_fail(__FILE__, __LINE__, "%s: not refused with a message (%s)", what,
                     jk_strerror(err));
    JK_CHECK_EQ(m.kind, 0);
}

JK_TEST(test_cons_msg_decoder_refusals)
{
    uint8_t b[256] = {0};
    refused(b, 0, "empty");
    b[0] = 7;
    refused(b, 9, "unknown kind");
    b[0] = JK_CONS_MSG_PREVOTE;
    refused(b, JK_CONS_VOTE_SIZE + 1, "trailing byte");
    b[13] = 2;
    refused(b, JK_CONS_VOTE_SIZE, "value flag 2");
    b[13] = 0;
    b[20] = 1;
    refused(b, JK_CONS_VOTE_SIZE, "nil vote with a hash");
    b[20] = 0;
    b[12] = 0x80; /* round 2^31 */
    refused(b, JK_CONS_VOTE_SIZE, "round over the bound");
    b[12] = 0;
    b[46] = 200;
    refused(b, JK_CONS_VOTE_SIZE, "validator over the bound");
    memset(b, 0, sizeof b);
    b[0] = JK_CONS_MSG_PROPOSAL;
    b[9] = 2;  /* round 2 */
    b[13] = 2; /* vr 2 */
    b[21] = 1; /* value of 1 byte */
    refused(b, 90, "vr not below the round");
    b[13] = 0xff, b[14] = 0xff, b[15] = 0xff, b[16] = 0xff; /* vr -1 */
    b[21] = 0;
    refused(b, 89, "empty value");
    b[21] = 2;
    refused(b, 90, "value length past the end");
    memset(b, 0, sizeof b);
    b[0] = JK_CONS_MSG_SYNC_REQUEST;
    refused(b, 10, "long sync request");
    b[0] = JK_CONS_MSG_EVENT;
    refused(b, 5, "empty event");
    b[1] = 3;
    refused(b, 7, "short event");
    memset(b, 0, sizeof b);
    b[0] = JK_CONS_MSG_DECISION;
    b[1] = 1; /* value of 1 byte, then a 48-byte head with count 0 */
    refused(b, 5 + 1 + 48, "certificate without signatures");
    b[6 + 44] = 2; /* count 2 */
    b[6 + 48] = 3; /* validators 3, then 1: not ascending */
    b[6 + 48 + 68] = 1;
    refused(b, 5 + 1 + 48 + 136, "certificate out of order");
}

/* A certificate of validators 0, 1, 2 of 4 for 'a' at (height 3, round 1). */
static void make_cert(th *t, jk_cons_cert *c, uint8_t type)
{
    memset(c, 0, sizeof *c);
    c->height = 3;
    c->round = 1;
    th_id('a', &c->value);
    for (uint32_t i = 0; i < 3; i++) {
        jk_cons_vote v = {.type = type, .height = 3, .round = 1, .has_value = true,
                          .value = c->value, .validator = i};
        jk_cons_vote_sign(&v, &t->genesis, t->sk[i]);
        c->sigs[i].validator = i;
        memcpy(c->sigs[i].sig, v.sig, 64);
    }
    c->count = 3;
}

JK_TEST(test_cons_cert_check)
{
    th t;
    jk_cons_cert c, bad;
    jk_hash a, b;
    jk_diag diag = {{0}};
    th_init(&t, 4, 0);
    th_id('a', &a);
    th_id('b', &b);
    make_cert(&t, &c, JK_CONS_MSG_PRECOMMIT);
    JK_CHECK_EQ(jk_cons_cert_check(&c, &t.genesis, &t.vs, 3, &a, &diag), JK_OK);
    JK_CHECK_EQ(jk_cons_cert_check(&c, &t.genesis, &t.vs, 4, &a, &diag), JK_ERR_CONS_CERT);
    JK_CHECK_EQ(jk_cons_cert_check(&c, &t.genesis, &t.vs, 3, &b, &diag), JK_ERR_CONS_CERT);
    bad = c;
    bad.count = 2;
    JK_CHECK_EQ(jk_cons_cert_check(&bad, &t.genesis, &t.vs, 3, &a, &diag), JK_ERR_CONS_CERT);
    bad = c;
    bad.sigs[2] = bad.sigs[1]; /* a validator twice */
    JK_CHECK_EQ(jk_cons_cert_check(&bad, &t.genesis, &t.vs, 3, &a, &diag), JK_ERR_CONS_CERT);
    bad = c;
    bad.sigs[2].sig[5] ^= 1;
    JK_CHECK_EQ(jk_cons_cert_check(&bad, &t.genesis, &t.vs, 3, &a, &diag), JK_ERR_CONS_CERT);
    bad = c;
    bad.sigs[2].validator = 7;
    JK_CHECK_EQ(jk_cons_cert_check(&bad, &t.genesis, &t.vs, 3, &a, &diag), JK_ERR_CONS_CERT);
    bad = c;
    bad.round = 2; /* signatures are over round 1 */
    JK_CHECK_EQ(jk_cons_cert_check(&bad, &t.genesis, &t.vs, 3, &a, &diag), JK_ERR_CONS_CERT);
    jk_hash other;
    jk_crypto_blake2b256("other chain", 11, &other);
    JK_CHECK_EQ(jk_cons_cert_check(&c, &other, &t.vs, 3, &a, &diag), JK_ERR_CONS_CERT);
    /* Prevotes are not precommits: the step is in the signed message. */
    make_cert(&t, &bad, JK_CONS_MSG_PREVOTE);
    JK_CHECK_EQ(jk_cons_cert_check(&bad, &t.genesis, &t.vs, 3, &a, &diag), JK_ERR_CONS_CERT);
    JK_CHECK(diag.msg[0] != 0);
    th_free(&t);
}

JK_TEST(test_cons_cert_encoding_and_hash)
{
    th t;
    jk_cons_cert c, back;
    th_init(&t, 4, 0);
    make_cert(&t, &c, JK_CONS_MSG_PRECOMMIT);
    size_t n = jk_cons_cert_size(&c);
    JK_CHECK_EQ(n, 48 + 3 * 68);
    uint8_t *b = malloc(n);
    JK_REQUIRE(b != NULL);
    jk_cons_cert_encode(&c, b);
    JK_CHECK_EQ(jk_cons_cert_decode(b, n, &back, NULL), JK_OK);
    JK_CHECK_EQ(back.count, 3);
    JK_CHECK_MEM(back.sigs[2].sig, c.sigs[2].sig, 64);
    jk_hash h1, h2;
    jk_cons_cert_hash(&c, &h1);
    jk_crypto_blake2b256(b, n, &h2);
    JK_CHECK_MEM(h1.bytes, h2.bytes, 32);
    JK_CHECK_EQ(jk_cons_cert_decode(b, n - 1, &back, NULL), JK_ERR_CONS_DECODE);
    free(b);
    th_free(&t);
}

JK_TEST(test_cons_record_codec)
{
    jk_cons_record r = {.present = true, .height = 12, .round = 4, .step = 2,
                        .has_value = true, .valid_round = JK_CONS_NIL_ROUND,
                        .locked_round = 3};
    th_id('a', &r.value);
    th_id('b', &r.locked_value);
    uint8_t b[JK_CONS_RECORD_SIZE];
    jk_cons_record back;
    jk_cons_record_encode(&r, b);
    JK_CHECK_EQ(jk_cons_record_decode(b, sizeof b, &back, NULL), JK_OK);
    JK_CHECK_EQ(back.height, 12);
    JK_CHECK_EQ(back.round, 4);
    JK_CHECK_EQ(back.locked_round, 3);
    JK_CHECK_MEM(back.locked_value.bytes, r.locked_value.bytes, 32);
    JK_CHECK_EQ(jk_cons_record_decode(b, sizeof b - 1, &back, NULL), JK_ERR_CONS_RECORD);
    b[13] = 3; /* no such step */
    JK_CHECK_EQ(jk_cons_record_decode(b, sizeof b, &back, NULL), JK_ERR_CONS_RECORD);
    b[13] = 2;
    b[51] = 5; /* locked round 5 above the record's round 4 */
    JK_CHECK_EQ(jk_cons_record_decode(b, sizeof b, &back, NULL), JK_ERR_CONS_RECORD);
    jk_cons_record none = {0};
    jk_cons_record_encode(&none, b);
    JK_CHECK_EQ(jk_cons_record_decode(b, sizeof b, &back, NULL), JK_OK);
    JK_CHECK(!back.present);
}

/* The decoder zeroes per kind, not the whole ~8.8 KB struct (codec.c,
 * jk_msg_clear): a message decoded into a struct that held a DECISION
 * keeps none of it but the certificate's entries, which count 0 disowns;
 * a refusal leaves kind 0 and every field zero in the same sense. */
static bool msg_rest_zero(const jk_cons_msg *m, jk_cons_msg_kind keep)
{
    static const jk_cons_proposal zp;
    static const jk_cons_vote zv;
    static const jk_hash zh;
    return (keep == JK_CONS_MSG_PROPOSAL || !memcmp(&m->proposal, &zp, sizeof zp)) &&
           ((keep == JK_CONS_MSG_PREVOTE || keep == JK_CONS_MSG_PRECOMMIT) ||
            !memcmp(&m->vote, &zv, sizeof zv)) &&
           (keep == JK_CONS_MSG_SYNC_REQUEST || m->sync_height == 0) &&
           (keep == JK_CONS_MSG_DECISION ||
            (!m->decision.value && m->decision.value_len == 0 && m->decision.cert.count == 0 &&
             m->decision.cert.height == 0 && m->decision.cert.round == 0 &&
             !memcmp(m->decision.cert.value.bytes, zh.bytes, 32))) &&
           (keep == JK_CONS_MSG_EVENT || (!m->event && m->event_len == 0));
}

JK_TEST(test_cons_msg_decode_clears_per_kind)
{
    th t;
    th_init(&t, 4, 0);
    uint8_t v[16];
    jk_cons_msg *m = malloc(sizeof *m);
    JK_REQUIRE(m != NULL);
    memset(m, 0, sizeof *m);
    m->kind = JK_CONS_MSG_DECISION;
    m->decision.value = v;
    m->decision.value_len = th_value('d', v);
    make_cert(&t, &m->decision.cert, JK_CONS_MSG_PRECOMMIT);
    uint8_t *dec = NULL, *ev = NULL, *vote = NULL;
    size_t dec_len = 0, ev_len = 0, vote_len = 0;
    JK_REQUIRE(jk_cons_msg_encode(m, &dec, &dec_len) == JK_OK);
    jk_cons_msg e = {0};
    e.kind = JK_CONS_MSG_EVENT;
    e.event = v;
    e.event_len = 7;
    JK_REQUIRE(jk_cons_msg_encode(&e, &ev, &ev_len) == JK_OK);
    jk_cons_msg pv = {0};
    pv.kind = JK_CONS_MSG_PREVOTE;
    pv.vote = (jk_cons_vote){.type = JK_CONS_MSG_PREVOTE, .height = 3, .round = 1, .validator = 2};
    JK_REQUIRE(jk_cons_msg_encode(&pv, &vote, &vote_len) == JK_OK);

    memset(m, 0xa5, sizeof *m); /* what an earlier message or garbage left */
    JK_CHECK_EQ(jk_cons_msg_decode(dec, dec_len, m, NULL), JK_OK);
    JK_CHECK_EQ(m->kind, JK_CONS_MSG_DECISION);
    JK_CHECK_EQ(m->decision.cert.count, 3);
    JK_CHECK_EQ(m->decision.cert.sigs[2].validator, 2);
    JK_CHECK(msg_rest_zero(m, JK_CONS_MSG_DECISION));

    JK_CHECK_EQ(jk_cons_msg_decode(ev, ev_len, m, NULL), JK_OK);
    JK_CHECK_EQ(m->kind, JK_CONS_MSG_EVENT);
    JK_CHECK_EQ(m->event_len, 7);
    JK_CHECK(m->event == ev + 5);
    JK_CHECK(msg_rest_zero(m, JK_CONS_MSG_EVENT));

    memset(m, 0xa5, sizeof *m);
    JK_CHECK_EQ(jk_cons_msg_decode(vote, vote_len, m, NULL), JK_OK);
    JK_CHECK_EQ(m->kind, JK_CONS_MSG_PREVOTE);
    JK_CHECK_EQ(m->vote.validator, 2);
    JK_CHECK(msg_rest_zero(m, JK_CONS_MSG_PREVOTE));

    memset(m, 0xa5, sizeof *m);
    JK_CHECK_EQ(jk_cons_msg_decode(dec, dec_len - 1, m, NULL), JK_ERR_CONS_DECODE);
    JK_CHECK_EQ(m->kind, 0);
    JK_CHECK(msg_rest_zero(m, 0));
    free(dec);
    free(ev);
    free(vote);
    free(m);
    th_free(&t);
}
