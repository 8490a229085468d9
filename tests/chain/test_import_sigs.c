/*
 * test_import_sigs.c — import's signature checks run in batches on the
 * calling thread (import_sigs.c, issue 16, session 8): asking for trace i
 * checks the unclaimed traces after it too, while Ed25519's code and tables
 * are in cache; the answers are the same bits as one check at a time.
 */
#include "chain_test_util.h"
#include "../../src/chain/internal.h"

#include <stdlib.h>

enum { JK_IS_N = 100 };

/* JK_IS_N traces signed by key 1 over distinct messages; trace `bad` has a
 * broken signature. */
static void jk_is_traces(const jk_hash *g, size_t bad, jk_chain_trace *t)
{
    uint8_t pk[32], sk[64];
    jk_test_key(1, pk, sk);
    for (size_t i = 0; i < JK_IS_N; i++) {
        uint8_t blob[64];
        char text[16];
        snprintf(text, sizeof text, "sig %zu", i);
        size_t n = jk_blob(blob, pk, 'T', text);
        jk_chain_trace_sign(sk, g, blob, n, &t[i]);
    }
    t[bad].sig[9] ^= 0x20;
}

/* The test chain's kernel at genesis and JK_IS_N traces of it, trace `bad`
 * broken (jk_is_traces). */
typedef struct jk_is_fx {
    jk_test_chain tc;
    jk_chain_kernel *ck;
    jk_chain_trace *t;
} jk_is_fx;

static bool jk_is_make(jk_is_fx *x, size_t bad)
{
    jk_hash g;
    memset(x, 0, sizeof *x);
    if (!jk_test_chain_make(&x->tc, NULL))
        return false;
    const jk_chain_genesis *tg = jk_test_genesis(&x->tc, 1, 10000000, &g);
    if (!tg || jk_chain_kernel_new(tg, jk_cap_null(), &x->ck, NULL) != JK_OK)
        return false;
    if (!(x->t = calloc(JK_IS_N, sizeof *x->t)))
        return false;
    jk_is_traces(&g, bad, x->t);
    return true;
}

static void jk_is_free(jk_is_fx *x)
{
    free(x->t);
    jk_chain_kernel_free(x->ck);
    jk_test_chain_free(&x->tc);
}

/* The first ask checks the batch after it (the cached trace skipped, not
 * counted); asks inside the batch check nothing more and give each trace's
 * own answer (the broken one refused); the first ask past it starts the
 * next batch. (Before: one check per ask, so 1 after the first.) */
JK_TEST(test_chain_import_sigs_checked_in_batches)
{
    jk_is_fx x;
    JK_REQUIRE(jk_is_make(&x, 10));
    jk_chain_kernel *ck = x.ck;
    jk_chain_trace *t = x.t;
    jk_chain_sig_remember(ck, &t[3]);
    jk_chain_sigjobs *j = NULL;
    JK_REQUIRE(jk_chain_sigjobs_start(ck, t, JK_IS_N, 0, &j) == JK_OK);
    JK_CHECK_EQ(jk_chain_sigjobs_checked(j), 0);
    JK_CHECK(jk_chain_sigjobs_valid(j, 0));
    size_t batch = jk_chain_sigjobs_checked(j);
    JK_CHECK(batch > 1);
    JK_CHECK(batch < JK_IS_N - 1); /* bounded: a block refused early wastes at most a batch */
    JK_CHECK(jk_chain_sigjobs_cached(j, 3) && jk_chain_sigjobs_valid(j, 3));
    JK_CHECK(!jk_chain_sigjobs_cached(j, 4) && jk_chain_sigjobs_valid(j, 4));
    JK_CHECK(!jk_chain_sigjobs_valid(j, 10));
    JK_CHECK_EQ(jk_chain_sigjobs_checked(j), batch);
    for (size_t i = 11; i < JK_IS_N; i++)
        JK_CHECK(jk_chain_sigjobs_valid(j, i));
    JK_CHECK_EQ(jk_chain_sigjobs_checked(j), JK_IS_N - 1); /* each uncached trace once */
    jk_chain_sigjobs_finish(j);
    /* the same answers one by one, each checked alone */
    for (size_t i = 0; i < JK_IS_N; i++)
        JK_CHECK_EQ(jk_chain_trace_check(&t[i]) == JK_OK, i != 10);
    jk_is_free(&x);
}

/* With workers (threads 3) every trace is decided once and alike: the
 * calling thread's batches stop where a worker's claims begin. */
JK_TEST(test_chain_import_sigs_batches_meet_workers)
{
    jk_is_fx x;
    JK_REQUIRE(jk_is_make(&x, 77));
    jk_chain_kernel *ck = x.ck;
    jk_chain_trace *t = x.t;
    jk_chain_sigjobs *j = NULL;
    JK_REQUIRE(jk_chain_sigjobs_start(ck, t, JK_IS_N, 3, &j) == JK_OK);
    for (size_t i = 0; i < JK_IS_N; i++)
        JK_CHECK_EQ(jk_chain_sigjobs_valid(j, i), i != 77);
    JK_CHECK(jk_chain_sigjobs_checked(j) <= JK_IS_N);
    jk_chain_sigjobs_finish(j);
    jk_is_free(&x);
}
