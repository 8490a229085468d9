/*
 * test_cons_corpus.c — the consensus fuzz target's corpus: replayed by
 * `make test`, and its seeds made here (validly signed under the target's
 * fixed keys, so the fuzzer starts past the signature checks). With
 * JK_CONS_CORPUS_OUT=dir the seeds are also written there.
 */
#include "../files.h"
#include "../test.h"
#include "../fuzz/fuzz_targets.h"

#include "jark/bytes.h"
#include "jark/consensus.h"

#include <stdlib.h>

typedef struct buf {
    uint8_t b[8192];
    size_t n;
} buf;

static uint8_t fz_sk[4][64];
static jk_cons_valset fz_vs;
static jk_hash fz_genesis;

static void keys(void)
{
    fz_vs.count = 4;
    for (uint32_t i = 0; i < 4; i++) {
        uint8_t seed[32] = {0};
        seed[0] = (uint8_t)(i + 1);
        if (jk_crypto_ed25519_keypair_from_seed(seed, fz_vs.keys[i], fz_sk[i]) != JK_OK)
            abort();
    }
    jk_crypto_blake2b256("fuzz genesis", 12, &fz_genesis);
}

static void put(buf *o, const jk_cons_msg *m, bool framed)
{
    uint8_t *b;
    size_t len;
    if (jk_cons_msg_encode(m, &b, &len) != JK_OK || o->n + len + 2 > sizeof o->b)
        abort();
    if (framed) {
        o->b[o->n++] = (uint8_t)len;
        o->b[o->n++] = (uint8_t)(len >> 8);
    }
    memcpy(o->b + o->n, b, len);
    o->n += len;
    free(b);
}

static const uint8_t fz_value[8] = {'f', 'u', 'z', 'z', 'v', 'a', 'l', 1};

static void proposal(buf *o, uint64_t h, uint32_t r, bool framed)
{
    jk_cons_msg m = {0};
    jk_hash id;
    m.kind = JK_CONS_MSG_PROPOSAL;
    m.proposal = (jk_cons_proposal){.height = h, .round = r, .valid_round = JK_CONS_NIL_ROUND,
                                    .proposer = (uint32_t)((h + r) % 4), .value = fz_value,
                                    .value_len = sizeof fz_value};
    jk_crypto_blake2b256(fz_value, sizeof fz_value, &id);
    jk_cons_proposal_sign(&m.proposal, &fz_genesis, &id, fz_sk[m.proposal.proposer]);
    put(o, &m, framed);
}

static jk_cons_vote vote(uint8_t type, uint32_t from, uint64_t h, uint32_t r, bool nil)
{
    jk_cons_vote v = {.type = type, .height = h, .round = r, .has_value = !nil,
                      .validator = from};
    if (!nil)
        jk_crypto_blake2b256(fz_value, sizeof fz_value, &v.value);
    jk_cons_vote_sign(&v, &fz_genesis, fz_sk[from]);
    return v;
}

static void vote_msg(buf *o, uint8_t type, uint32_t from, uint64_t h, uint32_t r, bool nil,
                     bool framed)
{
    jk_cons_msg m = {0};
    m.kind = (jk_cons_msg_kind)type;
    m.vote = vote(type, from, h, r, nil);
    put(o, &m, framed);
}

static void decision(buf *o, bool framed)
{
    jk_cons_msg m = {0};
    m.kind = JK_CONS_MSG_DECISION;
    m.decision.value = fz_value;
    m.decision.value_len = sizeof fz_value;
    jk_cons_cert *c = &m.decision.cert;
    c->height = 1;
    jk_crypto_blake2b256(fz_value, sizeof fz_value, &c->value);
    for (uint32_t i = 1; i < 4; i++) {
        jk_cons_vote v = vote(JK_CONS_MSG_PRECOMMIT, i, 1, 0, false);
        c->sigs[c->count].validator = i;
        memcpy(c->sigs[c->count++].sig, v.sig, 64);
    }
    put(o, &m, framed);
}

static size_t make_seeds(buf *seeds, size_t max)
{
    size_t n = 0;
    memset(seeds, 0, max * sizeof *seeds);
    proposal(&seeds[n++], 1, 0, false);
    vote_msg(&seeds[n++], JK_CONS_MSG_PREVOTE, 2, 1, 0, false, false);
    vote_msg(&seeds[n++], JK_CONS_MSG_PRECOMMIT, 3, 1, 0, true, false);
    jk_cons_msg m = {0};
    m.kind = JK_CONS_MSG_SYNC_REQUEST;
    m.sync_height = 1;
    put(&seeds[n++], &m, false);
    decision(&seeds[n++], false);
    m.kind = JK_CONS_MSG_EVENT;
    m.event = fz_value;
    m.event_len = sizeof fz_value;
    put(&seeds[n++], &m, false);
    /* A height decided by the log, then height 2 begun. */
    buf *s = &seeds[n++];
    proposal(s, 1, 0, true);
    for (uint32_t i = 1; i < 4; i++)
        vote_msg(s, JK_CONS_MSG_PREVOTE, i, 1, 0, false, true);
    for (uint32_t i = 1; i < 4; i++)
        vote_msg(s, JK_CONS_MSG_PRECOMMIT, i, 1, 0, false, true);
    proposal(s, 2, 0, true);
    vote_msg(s, JK_CONS_MSG_PREVOTE, 1, 2, 0, false, true);
    /* Equivocation, a round skip, a nil round. */
    s = &seeds[n++];
    vote_msg(s, JK_CONS_MSG_PREVOTE, 1, 1, 0, false, true);
    vote_msg(s, JK_CONS_MSG_PREVOTE, 1, 1, 0, true, true);
    vote_msg(s, JK_CONS_MSG_PREVOTE, 2, 1, 3, true, true);
    vote_msg(s, JK_CONS_MSG_PRECOMMIT, 3, 1, 3, true, true);
    vote_msg(s, JK_CONS_MSG_PRECOMMIT, 1, 1, 3, true, true);
    proposal(s, 1, 3, true);
    /* A decision by sync, then a sync request answered. */
    s = &seeds[n++];
    decision(s, true);
    m.kind = JK_CONS_MSG_SYNC_REQUEST;
    m.sync_height = 1;
    put(s, &m, true);
    /* A certificate and a record alone; garbage. */
    s = &seeds[n++];
    jk_cons_cert c = {.height = 1, .count = 1};
    c.sigs[0].validator = 2;
    jk_cons_cert_encode(&c, s->b);
    s->n = jk_cons_cert_size(&c);
    s = &seeds[n++];
    jk_cons_record r = {.present = true, .height = 1, .round = 2, .step = 1,
                        .valid_round = JK_CONS_NIL_ROUND, .locked_round = JK_CONS_NIL_ROUND};
    jk_cons_record_encode(&r, s->b);
    s->n = JK_CONS_RECORD_SIZE;
    s = &seeds[n++];
    for (size_t i = 0; i < 300; i++)
        s->b[i] = (uint8_t)(i * 37 + 11);
    s->n = 300;
    return n;
}

JK_TEST(test_cons_corpus_seeds)
{
    JK_REQUIRE(jk_crypto_init() == JK_OK);
    keys();
    static buf seeds[16];
    size_t n = make_seeds(seeds, 16);
    JK_CHECK_EQ(n, 12);
    /* Every seed is in the checked-in corpus, byte for byte, so that
     * test_cons_corpus_replay (and the fuzzer) start from all of them: a
     * change of an encoding that leaves the corpus behind fails here. */
    bool found[16] = {false};
    jk_test_corpus c;
    JK_REQUIRE(jk_test_corpus_open(&c, "tests/fuzz/corpus/consensus"));
    while (jk_test_corpus_next(&c))
        for (size_t i = 0; i < n; i++)
            found[i] |= c.len == seeds[i].n && !memcmp(c.bytes, seeds[i].b, c.len);
    jk_test_corpus_close(&c);
    for (size_t i = 0; i < n; i++)
        if (!found[i])
            jk_test_fail(__FILE__, __LINE__, "seed %zu is not in tests/fuzz/corpus/consensus "
                         "(JK_CONS_CORPUS_OUT=DIR writes the seeds)", i);
    const char *out = getenv("JK_CONS_CORPUS_OUT");
    for (size_t i = 0; i < n; i++) {
        jk_fuzz_consensus(seeds[i].b, seeds[i].n); /* aborts on a bug */
        if (out && *out) {
            char path[512];
            snprintf(path, sizeof path, "%s/seed-%02zu", out, i);
            FILE *f = fopen(path, "wb");
            JK_REQUIRE(f != NULL);
            JK_CHECK_EQ(fwrite(seeds[i].b, 1, seeds[i].n, f), seeds[i].n);
            fclose(f);
        }
    }
}

JK_TEST(test_cons_corpus_replay)
{
    jk_test_corpus c;
    JK_REQUIRE(jk_test_corpus_open(&c, "tests/fuzz/corpus/consensus"));
    size_t count = 0;
    while (jk_test_corpus_next(&c)) {
        jk_fuzz_consensus(c.bytes, c.len); /* aborts on a bug */
        count++;
    }
    jk_test_corpus_close(&c);
    JK_CHECK(count >= 12);
}
