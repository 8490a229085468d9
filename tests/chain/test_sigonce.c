/*
 * test_sigonce.c — each validator checks each event's signature once
 * (issue 13, session 11): admitted by two validators, produced in two blocks
 * by one and imported by the other, the pool re-verified by produce after
 * the first commit, and the process made exactly one Ed25519 check per event
 * per validator (jk_crypto_ed25519_verifies), besides the blocks' own
 * signatures — also when three times a set's ways of the events map to one
 * set of the signature cache, which its earlier rule (one set, a full set
 * overwrites a way chosen by the signature's first byte) could not hold.
 */
#include "chain_test_util.h"
#include "../../src/chain/internal.h"

#include <stdlib.h>

enum { SIGONCE_OTHERS = 40, SIGONCE_SAME = 24, SIGONCE_N = SIGONCE_OTHERS + SIGONCE_SAME, SIGONCE_KEYS = 4 };

typedef struct sigonce_ev {
    uint8_t blob[64];
    size_t len;
    jk_chain_trace t;
} sigonce_ev;

static void sigonce_make(uint32_t i, const uint8_t pk[SIGONCE_KEYS][32], const uint8_t sk[SIGONCE_KEYS][64],
                         const jk_hash *g, sigonce_ev *e)
{
    char text[16];
    snprintf(text, sizeof text, "once %06u", i);
    e->len = jk_blob(e->blob, pk[i % SIGONCE_KEYS], 'T', text);
    jk_chain_trace_sign(sk[i % SIGONCE_KEYS], g, e->blob, e->len, &e->t);
}

/* Admit evs into ck, each with its one trace. */
static bool sigonce_admit(jk_chain_kernel *ck, const sigonce_ev *evs, size_t n)
{
    if (jk_chain_setup_cycle(ck, NULL) != JK_OK)
        return false;
    for (size_t i = 0; i < n; i++) {
        jk_chain_event ev = {JK_CHAIN_ENDPOINT_TRANSACT, evs[i].blob, evs[i].len};
        bool admitted = false;
        if (jk_chain_handle_incoming_event(ck, &ev, &evs[i].t, 1, &admitted, NULL) != JK_OK || !admitted)
            return false;
    }
    return true;
}

/* Block `number` produced by `by` (at most `bytes` of events, 0: all) and
 * imported by `other`; both then commit it (the cache lets its traces go). */
static bool sigonce_block(jk_chain_kernel *by, jk_chain_kernel *other, uint64_t number, const jk_hash *parent,
                          size_t bytes, jk_chain_block *b)
{
    jk_diag why = {{0}};
    memset(b, 0, sizeof *b);
    jk_chain_set_produce_event_bytes(by, bytes);
    bool ok = (by->cycle_open || jk_chain_setup_cycle(by, &why) == JK_OK) &&
              jk_chain_apply_block_produce(by, parent, number, 0, NULL, b, &why) == JK_OK;
    jk_chain_teardown(by);
    jk_chain_set_produce_event_bytes(by, 0);
    ok = ok && jk_chain_apply_block_import(other, b, parent, number, &why) == JK_OK;
    if (!ok)
        printf("block %llu: %s\n", (unsigned long long)number, why.msg);
    jk_chain_forget_committed_sigs(by, b);
    jk_chain_forget_committed_sigs(other, b);
    return ok;
}

JK_TEST(test_chain_sigonce_each_signature_checked_once)
{
    jk_test_chain tc;
    jk_hash g;
    JK_REQUIRE(jk_test_chain_make(&tc, NULL));
    const jk_chain_genesis *tg = jk_test_genesis(&tc, 2, 100000000, &g);
    JK_REQUIRE(tg);
    uint8_t pk[SIGONCE_KEYS][32], sk[SIGONCE_KEYS][64], vpk[2][32], vsk[2][64];
    for (int k = 0; k < SIGONCE_KEYS; k++)
        jk_test_key((uint8_t)(1 + k), pk[k], sk[k]);
    jk_test_key(9, vpk[0], vsk[0]); /* validator 0 */
    jk_test_key(8, vpk[1], vsk[1]); /* validator 1 */
    jk_chain_kernel *v[2] = {NULL, NULL};
    /* the pool's bound sizes the cache: 1,024 entries in 128 sets here */
    jk_chain_pool_limits lim = {.max_events = 256, .max_bytes = JK_CHAIN_POOL_MAX_BYTES,
                                .max_per_key = JK_CHAIN_POOL_MAX_PER_KEY};
    for (int i = 0; i < 2; i++) {
        JK_REQUIRE(jk_chain_kernel_new(tg, jk_cap_null(), &v[i], NULL) == JK_OK);
        jk_chain_set_own_key(v[i], vsk[i]);
        jk_chain_set_pool_limits(v[i], &lim);
    }
    /* Events until SIGONCE_SAME of them have the same first candidate set
     * (validator 0's and 1's caches have the same geometry and the
     * process's one SipHash key), and SIGONCE_OTHERS others. */
    enum { MAX_TRIES = 60000 };
    sigonce_ev *cand = malloc(MAX_TRIES * sizeof *cand);
    size_t *sets = calloc(MAX_TRIES, sizeof *sets), *count = NULL, nsets = 0;
    JK_REQUIRE(cand && sets);
    uint32_t tries = 0;
    size_t full = SIZE_MAX;
    while (full == SIZE_MAX && tries < MAX_TRIES) {
        sigonce_make(tries, pk, sk, &g, &cand[tries]);
        size_t s = jk_chain_sig_home(v[0], &cand[tries].t);
        JK_REQUIRE(s == jk_chain_sig_home(v[1], &cand[tries].t));
        if (s >= nsets) {
            size_t grown = s + 1 > 2 * nsets ? s + 1 : 2 * nsets;
            size_t *c = realloc(count, grown * sizeof *c);
            JK_REQUIRE(c);
            memset(c + nsets, 0, (grown - nsets) * sizeof *c);
            count = c;
            nsets = grown;
        }
        sets[tries] = s;
        if (++count[s] == SIGONCE_SAME)
            full = s;
        tries++;
    }
    JK_REQUIRE(full != SIZE_MAX);
    /* interleaved, so that both blocks carry some of the crowded set's */
    sigonce_ev *evs = malloc(SIGONCE_N * sizeof *evs);
    JK_REQUIRE(evs);
    size_t n = 0, same = 0, others = 0;
    for (uint32_t i = 0; i < tries; i++) {
        bool crowd = sets[i] == full;
        if (crowd ? same >= SIGONCE_SAME : others >= SIGONCE_OTHERS)
            continue;
        same += crowd;
        others += !crowd;
        evs[n++] = cand[i];
    }
    JK_REQUIRE(n == SIGONCE_N);

    uint64_t start = jk_crypto_ed25519_verifies();
    JK_REQUIRE(sigonce_admit(v[0], evs, n));
    JK_REQUIRE(sigonce_admit(v[1], evs, n));
    /* admission: one check per event per validator; all of them kept */
    JK_CHECK_EQ(jk_crypto_ed25519_verifies() - start, 2 * n);
    size_t kept = 0;
    for (size_t i = 0; i < n; i++)
        kept += jk_chain_sig_cached(v[0], &evs[i].t) + jk_chain_sig_cached(v[1], &evs[i].t);
    JK_CHECK_EQ(kept, 2 * n);

    /* block 1: about half the pool, by its proposer; the other imports it */
    uint32_t p1 = jk_chain_proposer_index(2, 1, 0), p2 = jk_chain_proposer_index(2, 2, 0);
    JK_REQUIRE(p1 != p2);
    jk_chain_block b1, b2;
    uint64_t before = jk_crypto_ed25519_verifies();
    JK_REQUIRE(sigonce_block(v[p1], v[1 - p1], 1, &g, (n / 2) * (2 + evs[0].len), &b1));
    JK_CHECK(b1.event_count > 0 && b1.event_count < n);
    /* the import checked the block's signature, and no event's */
    JK_CHECK_EQ(jk_crypto_ed25519_verifies() - before, 1);
    /* block 2: the rest, by the other validator, whose produce verifies its
     * pool again on the chain block 1 made (the signatures: cache hits) */
    jk_hash h1;
    jk_chain_block_hash(&b1, &h1);
    before = jk_crypto_ed25519_verifies();
    JK_REQUIRE(sigonce_block(v[p2], v[1 - p2], 2, &h1, 0, &b2));
    JK_CHECK_EQ(b1.event_count + b2.event_count, n);
    JK_CHECK(v[p2]->stats.produce_verifies > 0);
    JK_CHECK_EQ(jk_crypto_ed25519_verifies() - before, 1);
    /* in all: each event's signature once per validator, and the blocks' */
    JK_CHECK_EQ(jk_crypto_ed25519_verifies() - start, 2 * n + 2);
    /* both committed: the caches hold nothing */
    JK_CHECK_EQ(jk_chain_sig_entries(v[0]), 0);
    JK_CHECK_EQ(jk_chain_sig_entries(v[1]), 0);
    JK_CHECK(jk_cap_equal(v[0]->chain, v[1]->chain));

    jk_chain_block_free(&b1);
    jk_chain_block_free(&b2);
    free(evs);
    free(cand);
    free(sets);
    free(count);
    jk_chain_kernel_free(v[0]);
    jk_chain_kernel_free(v[1]);
    jk_test_chain_free(&tc);
}

/* Session 12's metadata (32-bit tags and stamps, one cache line a set):
 * the insert clock wraps past 2^32, and the stamps are compared by their
 * wrapping difference, so an insert still evicts the oldest entries. In a
 * cache of 1,024 entries, 4,096 traces (their signatures are not checked:
 * the cache only compares bytes) inserted across the wrap leave the last
 * 256 nearly all cached; compared as plain numbers, the traces stamped
 * after the wrap looked the oldest and evicted each other (~half of those
 * 256 gone). A forgotten trace is a miss (its tag cleared, its bytes left)
 * and can be remembered again. */
JK_TEST(test_chain_sigcache_stamps_wrap)
{
    jk_chain_kernel *ck = calloc(1, sizeof *ck);
    JK_REQUIRE(ck);
    ck->pool_limits.max_events = 512; /* 1,024 entries, 128 sets */
    jk_chain_sig_clock_set(ck, UINT32_MAX - 3000u);
    JK_REQUIRE(ck->sig_cache);
    enum { N = 4096, LAST = 256 };
    jk_chain_trace *t = calloc(N, sizeof *t);
    JK_REQUIRE(t);
    uint64_t s = 0x9e3779b97f4a7c15u;
    for (size_t i = 0; i < N; i++) {
        for (size_t b = 0; b < sizeof t[i]; b += 8) {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            memcpy((uint8_t *)&t[i] + b, &s, 8);
        }
        jk_chain_sig_remember(ck, &t[i]);
    }
    size_t kept = 0;
    for (size_t i = N - LAST; i < N; i++)
        kept += jk_chain_sig_cached(ck, &t[i]);
    JK_CHECK(kept >= LAST * 9 / 10);
    JK_CHECK_EQ(jk_chain_sig_entries(ck), 1024u);
    size_t before = jk_chain_sig_entries(ck), gone = 0;
    for (size_t i = N - 10; i < N; i++)
        if (jk_chain_sig_cached(ck, &t[i])) {
            jk_chain_sig_forget(ck, &t[i]);
            gone++;
            JK_CHECK(!jk_chain_sig_cached(ck, &t[i]));
        }
    JK_CHECK_EQ(jk_chain_sig_entries(ck), before - gone);
    jk_chain_sig_remember(ck, &t[N - 1]);
    JK_CHECK(jk_chain_sig_cached(ck, &t[N - 1]));
    free(t);
    free(ck->sig_cache);
    free(ck);
}
