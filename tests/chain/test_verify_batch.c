/*
 * test_verify_batch.c — admission's batched verifies (verify_pool.c): a batch
 * runs its verify programs with the attests' signature checks deferred to
 * the end of each run (jk_chain_verify_start / _settle). Every verdict must
 * be the one a verify that checks at the attest gives (one by one, through
 * jk_chain_handle_incoming_event): admitted or not, the reason, the traces
 * kept and the keys seen — with several attests, several traces per key,
 * forged ones first, a fault after an attest, and no attest at all.
 */
#include "chain_test_util.h"

#include <stdlib.h>

enum { JK_VB_N = 44 };

typedef struct jk_vb_case {
    char kind;          /* the verify_two.c kind */
    const char *traces; /* per trace: 'k' key1 valid, 'K' key1 forged, 'q' key2 valid, 'Q' key2 forged,
                           'h' key2 valid over the 40-byte message, 'H' that forged, 'x' key2 over nothing asked */
} jk_vb_case;

static const jk_vb_case jk_vb_cases[] = {
    {'A', "k"},   {'A', "K"},  {'A', "Kk"}, {'A', ""},    {'A', "qk"}, {'2', "kq"}, {'2', "kQ"},  {'2', "Kq"},
    {'2', "k"},   {'2', "qKkQq"}, {'H', "kh"}, {'H', "kH"}, {'H', "kq"}, {'F', "k"},  {'F', "K"},  {'N', ""},
    {'N', "KQx"}, {'2', "xkq"}, {'A', "KKk"}, {'H', "Hkh"}, {'F', ""},  {'2', "QkQ"},
};

static size_t jk_vb_event(int i, const uint8_t pk1[32], const uint8_t pk2[32], uint8_t *blob)
{
    const jk_vb_case *c = &jk_vb_cases[i % (int)(sizeof jk_vb_cases / sizeof jk_vb_cases[0])];
    memcpy(blob, pk1, 32);
    blob[32] = (uint8_t)c->kind;
    memcpy(blob + 33, pk2, 32);
    int n = snprintf((char *)blob + 65, 32, "event %d", i);
    return 65 + (size_t)n;
}

JK_TEST(test_chain_verify_batch_equals_one_by_one)
{
    jk_test_chain tc;
    jk_test_chain_opts opts = {.verify = "verify_two"};
    JK_REQUIRE(jk_test_chain_make(&tc, &opts));
    jk_hash genesis;
    const jk_chain_genesis *tg = jk_test_genesis(&tc, 1, 10000000, &genesis);
    JK_REQUIRE(tg != NULL);
    static uint8_t blobs[JK_VB_N][128];
    static jk_chain_trace traces[JK_VB_N][8];
    jk_chain_event events[JK_VB_N];
    const jk_chain_trace *trace_ptrs[JK_VB_N];
    size_t counts[JK_VB_N];
    const size_t ncases = sizeof jk_vb_cases / sizeof jk_vb_cases[0];
    for (int i = 0; i < JK_VB_N; i++) {
        uint8_t pk1[32], sk1[64], pk2[32], sk2[64];
        jk_test_key((uint8_t)(i % 5 + 1), pk1, sk1);
        /* the second half of the cases has key2 == key1: the used traces and
         * seen keys then hold one entry for two attests */
        jk_test_key((uint8_t)((size_t)i < ncases ? i % 3 + 20 : i % 5 + 1), pk2, sk2);
        size_t len = jk_vb_event(i, pk1, pk2, blobs[i]);
        events[i] = (jk_chain_event){JK_CHAIN_ENDPOINT_TRANSACT, blobs[i], len};
        const char *spec = jk_vb_cases[(size_t)i % ncases].traces;
        size_t n = strlen(spec);
        for (size_t t = 0; t < n; t++) {
            char k = spec[t];
            const uint8_t *sk = (k == 'k' || k == 'K') ? sk1 : sk2;
            size_t msg_len = (k == 'h' || k == 'H') ? 40 : k == 'x' ? 33 : len;
            jk_chain_trace_sign(sk, &genesis, blobs[i], msg_len, &traces[i][t]);
            if (k == 'K' || k == 'Q' || k == 'H')
                traces[i][t].sig[t % 64] ^= 0x20; /* forged */
        }
        trace_ptrs[i] = traces[i];
        counts[i] = n;
    }
    jk_chain_kernel *seq, *batch[2];
    JK_REQUIRE(jk_chain_kernel_new(tg, jk_cap_null(), &seq, NULL) == JK_OK);
    JK_REQUIRE(jk_chain_setup_cycle(seq, NULL) == JK_OK);
    bool a_seq[JK_VB_N], a_batch[JK_VB_N];
    jk_diag why_seq[JK_VB_N], why_batch[JK_VB_N];
    memset(why_seq, 0, sizeof why_seq);
    for (int i = 0; i < JK_VB_N; i++)
        JK_REQUIRE(jk_chain_handle_incoming_event(seq, &events[i], trace_ptrs[i], counts[i], &a_seq[i], &why_seq[i]) ==
                   JK_OK);
    JK_CHECK_EQ(seq->stats.attests_deferred, 0);
    int admitted = 0, refused_attest = 0;
    for (int i = 0; i < JK_VB_N; i++) {
        admitted += a_seq[i];
        refused_attest += strstr(why_seq[i].msg, "attest refused") != NULL;
    }
    JK_CHECK(admitted > 10 && admitted < JK_VB_N - 10); /* a real mix */
    JK_CHECK(refused_attest > 10);
    for (unsigned b = 0; b < 2; b++) {
        unsigned threads = b == 0 ? 0 : 3;
        JK_REQUIRE(jk_chain_kernel_new(tg, jk_cap_null(), &batch[b], NULL) == JK_OK);
        JK_REQUIRE(jk_chain_setup_cycle(batch[b], NULL) == JK_OK);
        memset(why_batch, 0, sizeof why_batch);
        JK_REQUIRE(jk_chain_handle_incoming_events_why(batch[b], events, trace_ptrs, counts, JK_VB_N, threads,
                                                       a_batch, why_batch) == JK_OK);
        /* the checks did wait (the batch is not the one-by-one path) */
        JK_CHECK(batch[b]->stats.attests_deferred > (uint64_t)admitted);
        JK_CHECK_EQ(batch[b]->stats.verify_runs, seq->stats.verify_runs);
        for (int i = 0; i < JK_VB_N; i++) {
            JK_CHECK_EQ(a_seq[i], a_batch[i]);
            if (strcmp(why_seq[i].msg, why_batch[i].msg) != 0)
                jk_test_fail(__FILE__, __LINE__, "event %d (threads %u): \"%s\" one by one, \"%s\" batched", i,
                             threads, why_seq[i].msg, why_batch[i].msg);
        }
        jk_chain_kernel *k = batch[b];
        JK_REQUIRE(seq->pool_count == k->pool_count);
        for (size_t i = 0; i < seq->pool_count; i++) {
            JK_CHECK(seq->pool[i].blob_len == k->pool[i].blob_len &&
                     !memcmp(seq->pool[i].blob, k->pool[i].blob, seq->pool[i].blob_len));
            JK_CHECK_EQ(seq->pool[i].trace_count, k->pool[i].trace_count);
            JK_CHECK(!memcmp(seq->pool[i].traces, k->pool[i].traces,
                             seq->pool[i].trace_count * sizeof *seq->pool[i].traces));
        }
        JK_CHECK(jk_chain_pool_seen_settle(seq) == JK_OK && jk_chain_pool_seen_settle(k) == JK_OK);
        JK_CHECK(jk_chain_keyset_equal(&seq->pool_seen_keys, &k->pool_seen_keys));
        jk_chain_kernel_free(k);
    }
    jk_chain_kernel_free(seq);
    jk_test_chain_free(&tc);
}
