/*
 * test_fastpath.c — the chain layer's fast path (issue 16): the signature
 * cache keeps what it is given, import's signature checks on worker threads
 * decide exactly as the sequential checks do, and the kernel's arrays grow
 * geometrically.
 */
#include "chain_test_util.h"
#include "../../src/chain/internal.h"

#include <stdlib.h>

/* A trace whose signature does not verify: only a cache hit says "valid". */
static void jk_fake_trace(uint32_t i, jk_chain_trace *t)
{
    char seed[32];
    int n = snprintf(seed, sizeof seed, "fastpath/%u", i);
    jk_hash h;
    jk_crypto_blake2b256(seed, (size_t)n, &h);
    memcpy(t->key, h.bytes, 32);
    jk_crypto_blake2b256(h.bytes, 32, &t->msg_hash);
    memset(t->sig, 0x11, sizeof t->sig);
}

/* A one-validator test chain and a chain kernel on it (NULL on failure);
 * *g: its genesis hash. */
static jk_chain_kernel *jk_fastpath_kernel(jk_test_chain *tc, jk_hash *g)
{
    jk_chain_kernel *ck = NULL;
    if (!jk_test_chain_make(tc, NULL))
        return NULL;
    const jk_chain_genesis *tg = jk_test_genesis(tc, 1, 10000000, g);
    if (!tg || jk_chain_kernel_new(tg, jk_cap_null(), &ck, NULL) != JK_OK)
        return NULL;
    return ck;
}

/* 2,000 remembered traces are all still there: the cache is set-associative,
 * and only a full set overwrites. (Before: direct-mapped, 2,000 entries in
 * 16,384 slots overwrote each other ~120 times, and each overwritten entry
 * cost import a full signature check again.) A trace never remembered is no
 * hit, and its invalid signature is refused. */
JK_TEST(test_chain_fastpath_sig_cache_keeps_what_it_holds)
{
    jk_test_chain tc;
    jk_hash g;
    jk_chain_kernel *ck = jk_fastpath_kernel(&tc, &g);
    JK_REQUIRE(ck != NULL);
    enum { N = 2000 };
    jk_chain_trace t;
    for (uint32_t i = 0; i < N; i++) {
        jk_fake_trace(i, &t);
        JK_REQUIRE(!jk_chain_sig_ok(ck, &t));
        jk_chain_sig_remember(ck, &t);
    }
    uint32_t kept = 0;
    for (uint32_t i = 0; i < N; i++) {
        jk_fake_trace(i, &t);
        kept += jk_chain_sig_cached(ck, &t) && jk_chain_sig_ok(ck, &t);
    }
    JK_CHECK_EQ(kept, N);
    jk_fake_trace(N, &t);
    JK_CHECK(!jk_chain_sig_cached(ck, &t));
    JK_CHECK(!jk_chain_sig_ok(ck, &t));
    t.sig[0] ^= 1; /* another triple than a remembered one: a miss */
    jk_fake_trace(7, &t);
    t.sig[63] ^= 1;
    JK_CHECK(!jk_chain_sig_ok(ck, &t));
    jk_chain_kernel_free(ck);
    jk_test_chain_free(&tc);
}

/* An entry is the whole trace and a hit compares all of it (sigcache.c):
 * a remembered trace with its key, its message hash or one byte of its
 * signature changed is no hit, wherever it lands; an all-zero trace is
 * never stored. */
JK_TEST(test_chain_fastpath_sig_cache_compares_whole_traces)
{
    jk_test_chain tc;
    jk_hash g;
    jk_chain_kernel *ck = jk_fastpath_kernel(&tc, &g);
    JK_REQUIRE(ck != NULL);
    jk_chain_trace t, u;
    jk_fake_trace(3, &t);
    jk_chain_sig_remember(ck, &t);
    JK_CHECK(jk_chain_sig_cached(ck, &t));
    for (size_t at = 0; at < sizeof t; at += 7) {
        u = t;
        ((uint8_t *)&u)[at] ^= 0x40;
        JK_CHECK(!jk_chain_sig_cached(ck, &u));
        JK_CHECK(!jk_chain_sig_ok(ck, &u));
    }
    jk_fake_trace(4, &u);
    memcpy(u.sig, t.sig, sizeof u.sig); /* the same signature bytes, another key and message */
    JK_CHECK(!jk_chain_sig_cached(ck, &u));
    memset(&u, 0, sizeof u);
    jk_chain_sig_remember(ck, &u);
    JK_CHECK(!jk_chain_sig_cached(ck, &u));
    JK_CHECK(!jk_chain_sig_ok(ck, &u));
    jk_chain_kernel_free(ck);
    jk_test_chain_free(&tc);
}

/* A block of 12 transacts (two keys) produced and imported by importers
 * checking signatures on 0 and on 4 threads: the same chain. The same block
 * with trace 5's signature altered: both refuse it, with the same reason,
 * and neither moves. */
JK_TEST(test_chain_fastpath_import_threads_decide_alike)
{
    jk_test_chain tc;
    jk_hash g;
    JK_REQUIRE(jk_test_chain_make(&tc, NULL));
    const jk_chain_genesis *tg = jk_test_genesis(&tc, 1, 100000000, &g);
    uint8_t pk[2][32], sk[2][64], pk9[32], sk9[64];
    jk_test_key(1, pk[0], sk[0]);
    jk_test_key(2, pk[1], sk[1]);
    jk_test_key(9, pk9, sk9);
    jk_chain_kernel *p = NULL, *seq = NULL, *par = NULL;
    JK_REQUIRE(tg && jk_chain_kernel_new(tg, jk_cap_null(), &p, NULL) == JK_OK);
    JK_REQUIRE(jk_chain_kernel_new(tg, jk_cap_null(), &seq, NULL) == JK_OK);
    JK_REQUIRE(jk_chain_kernel_new(tg, jk_cap_null(), &par, NULL) == JK_OK);
    jk_chain_set_own_key(p, sk9);
    jk_chain_set_import_threads(par, 4);
    JK_REQUIRE(jk_chain_setup_cycle(p, NULL) == JK_OK);
    for (int i = 0; i < 12; i++) {
        uint8_t blob[64];
        char text[16];
        snprintf(text, sizeof text, "event %d", i);
        size_t n = jk_blob(blob, pk[i % 2], 'T', text);
        jk_chain_trace t;
        jk_chain_trace_sign(sk[i % 2], &g, blob, n, &t);
        jk_chain_event ev = {JK_CHAIN_ENDPOINT_TRANSACT, blob, n};
        bool admitted = false;
        JK_REQUIRE(jk_chain_handle_incoming_event(p, &ev, &t, 1, &admitted, NULL) == JK_OK && admitted);
    }
    jk_chain_block b, bad;
    jk_diag why = {{0}}, why_seq = {{0}}, why_par = {{0}};
    JK_REQUIRE(jk_chain_apply_block_produce(p, &g, 1, 0, NULL, &b, &why) == JK_OK);
    JK_REQUIRE(b.event_count == 12 && b.trace_count == 12);
    jk_chain_trace *altered = malloc(b.trace_count * sizeof *altered);
    JK_REQUIRE(altered);
    memcpy(altered, b.traces, b.trace_count * sizeof *altered);
    altered[5].sig[20] ^= 0x40;
    memset(&bad, 0, sizeof bad);
    JK_REQUIRE(jk_chain_block_build(&b.header.parent, 1, 0, &b.header.state_root, b.events, b.event_count, altered,
                                    b.trace_count, &bad, NULL) == JK_OK);
    jk_chain_block_sign(&bad, sk9, &g);
    JK_CHECK_EQ(jk_chain_apply_block_import(seq, &bad, &g, 1, &why_seq), JK_ERR_CHAIN_BLOCK_INVALID);
    JK_CHECK_EQ(jk_chain_apply_block_import(par, &bad, &g, 1, &why_par), JK_ERR_CHAIN_BLOCK_INVALID);
    JK_CHECK(why_seq.msg[0] != 0);
    JK_CHECK(strcmp(why_seq.msg, why_par.msg) == 0);
    JK_CHECK(jk_cap_equal(seq->chain, tc.chain) && jk_cap_equal(par->chain, tc.chain));
    JK_CHECK_EQ(jk_chain_apply_block_import(seq, &b, &g, 1, &why), JK_OK);
    JK_CHECK_EQ(jk_chain_apply_block_import(par, &b, &g, 1, &why), JK_OK);
    JK_CHECK(jk_cap_equal(seq->chain, p->chain));
    JK_CHECK(jk_cap_equal(par->chain, p->chain));
    free(altered);
    jk_chain_block_free(&bad);
    jk_chain_block_free(&b);
    jk_chain_kernel_free(p);
    jk_chain_kernel_free(seq);
    jk_chain_kernel_free(par);
    jk_test_chain_free(&tc);
}

/* jk_chain_grow doubles (from 8): n appends leave room for fewer than 2n
 * (so O(log n) reallocations, O(n) copies in all; before, the pool and the
 * cycle's lists grew by one element per admission); it refuses a size whose
 * room would overflow, leaving the array as it was. */
JK_TEST(test_chain_fastpath_arrays_grow_geometrically)
{
    uint32_t *a = NULL;
    size_t cap = 0, grows = 0;
    for (size_t n = 0; n < 1000; n++) {
        size_t before = cap;
        uint32_t *g = jk_chain_grow(a, &cap, n + 1, sizeof *a);
        JK_REQUIRE(g != NULL);
        a = g;
        a[n] = (uint32_t)n;
        grows += cap != before;
        JK_CHECK(cap >= n + 1 && (cap == 8 || cap < 2 * (n + 1)));
    }
    JK_CHECK_EQ(grows, 8); /* 8, 16, …, 1024 */
    for (size_t n = 0; n < 1000; n++)
        JK_CHECK_EQ(a[n], (uint32_t)n);
    size_t kept = cap;
    JK_CHECK(jk_chain_grow(a, &cap, SIZE_MAX / 2, 8) == NULL);
    JK_CHECK_EQ(cap, kept);
    free(a);
}

/* An admitted transact's pool entry keeps the verdict's own array of used
 * traces (no copy) and its seen keys; a refused one (a repeat) leaves the
 * array with the verdict, whose free releases it. (Before: the pool copied
 * the traces into a fresh malloc, and the verdict's seen keys were merged
 * into an empty set, reserving room for 16 + 64 keys, per event.) */
JK_TEST(test_chain_fastpath_admit_takes_the_verdicts_traces)
{
    jk_test_chain tc;
    jk_hash g;
    jk_chain_kernel *ck = jk_fastpath_kernel(&tc, &g);
    JK_REQUIRE(ck != NULL);
    JK_REQUIRE(jk_chain_setup_cycle(ck, NULL) == JK_OK);
    uint8_t pk[32], sk[64], blob[64];
    jk_test_key(3, pk, sk);
    size_t n = jk_blob(blob, pk, 'T', "take");
    jk_chain_trace t[2];
    jk_chain_trace_sign(sk, &g, blob, n, &t[1]);
    t[0] = t[1];
    t[0].sig[0] ^= 1; /* not the used one: the pool keeps only t[1] */
    jk_chain_event ev = {JK_CHAIN_ENDPOINT_TRANSACT, blob, n};
    jk_chain_verdict v, again;
    JK_REQUIRE(jk_chain_verify_event(ck, ck->kernel, &ev, t, 2, &v) == JK_OK && v.admit);
    JK_REQUIRE(v.used_count == 1 && v.used != NULL);
    JK_CHECK(jk_chain_keyset_count(&v.seen) == 1 && jk_chain_keyset_contains(&v.seen, pk));
    const jk_chain_trace *used = v.used;
    JK_REQUIRE(jk_chain_verify_event(ck, ck->kernel, &ev, t, 2, &again) == JK_OK && again.admit);
    const char *refused = "unset";
    JK_CHECK_EQ(jk_chain_admit(ck, &ev, &v, &refused), JK_OK);
    JK_CHECK(refused == NULL);
    JK_REQUIRE(ck->pool_count == 1);
    JK_CHECK(v.used == NULL);
    JK_CHECK(ck->pool[0].traces == used);
    JK_CHECK_EQ(ck->pool[0].trace_count, 1);
    JK_CHECK_MEM(&ck->pool[0].traces[0], &t[1], sizeof t[1]);
    JK_CHECK_EQ(jk_chain_pool_seen_settle(ck), JK_OK);
    JK_CHECK(jk_chain_keyset_contains(&ck->pool_seen_keys, pk));
    /* the same transact again: refused, and its traces stay its verdict's */
    JK_CHECK_EQ(jk_chain_admit(ck, &ev, &again, &refused), JK_OK);
    JK_CHECK(refused != NULL);
    JK_CHECK(again.used != NULL && again.used_count == 1);
    JK_CHECK_EQ(ck->pool_count, 1);
    jk_chain_verdict_free(&again);
    jk_chain_verdict_free(&v);
    jk_chain_kernel_free(ck);
    jk_test_chain_free(&tc);
}

/* The fast-path kernel with a pool that takes 2 transacts a key. */
static jk_chain_kernel *jk_pool_kernel(jk_test_chain *tc)
{
    jk_hash g;
    jk_chain_kernel *ck = jk_fastpath_kernel(tc, &g);
    jk_chain_pool_limits lim = {100000, 64u << 20, 2};
    if (ck)
        jk_chain_set_pool_limits(ck, &lim);
    return ck;
}

/* Admit a transact of blob number blob_no whose verify attested key number
 * key_no (0: no key) straight into the pool; the refusal, or NULL. */
static const char *jk_admit_keyed(jk_chain_kernel *ck, uint32_t key_no, uint32_t blob_no)
{
    jk_chain_keyset seen;
    jk_chain_keyset_init(&seen);
    uint8_t key[32] = {0};
    jk_put_u32le(key + 20, key_no);
    if (key_no)
        JK_CHECK(jk_chain_keyset_add(&seen, key, NULL) == JK_OK);
    uint8_t blob[8];
    jk_put_u32le(blob, blob_no);
    jk_put_u32le(blob + 4, 0x706f6f6c);
    jk_chain_event ev = {JK_CHAIN_ENDPOINT_TRANSACT, blob, sizeof blob};
    const char *refused = NULL;
    JK_CHECK(jk_chain_pool_admit(ck, &ev, NULL, NULL, 0, NULL, NULL, &seen, &refused) == JK_OK);
    jk_chain_keyset_free(&seen);
    return refused;
}

/* The pool's per-key counting is a hash table (pool.c): with 600 keys (the
 * table grows several times) each key takes max_per_key transacts and no
 * more, an event that attested no key counts under the all-zero key, a
 * kernel-made one (no seen set) under none, and a rebuild of the pool from
 * its entries counts the same. */
JK_TEST(test_chain_fastpath_pool_counts_per_key)
{
    jk_test_chain tc;
    jk_chain_kernel *ck = jk_pool_kernel(&tc);
    JK_REQUIRE(ck != NULL);
    enum { K = 600 };
    uint32_t blob_no = 0;
    size_t admitted = 0, refused_n = 0;
    for (int round = 0; round < 3; round++)
        for (uint32_t k = 0; k <= K; k++) {
            /* k == K: an event that attested no key */
            const char *refused = jk_admit_keyed(ck, k < K ? k + 1 : 0, ++blob_no);
            admitted += !refused;
            refused_n += refused != NULL;
            if (round < 2)
                JK_CHECK(refused == NULL);
            else
                JK_CHECK(refused != NULL);
        }
    JK_CHECK_EQ(admitted, 2 * (K + 1));
    JK_CHECK_EQ(refused_n, K + 1);
    JK_CHECK_EQ(ck->pool_key_count, K + 1);
    /* kernel-made: charges no key, so the bound does not refuse it */
    uint8_t blob[8] = {'k', 'e', 'r', 'n', 'e', 'l'};
    jk_chain_event ev = {JK_CHAIN_ENDPOINT_TRANSACT, blob, sizeof blob};
    const char *refused = NULL;
    JK_REQUIRE(jk_chain_pool_admit(ck, &ev, NULL, NULL, 0, NULL, NULL, NULL, &refused) == JK_OK);
    JK_CHECK(refused == NULL);
    JK_CHECK_EQ(ck->pool_key_count, K + 1);
    /* a rebuild from the entries (their traces name no key: each counts
     * under the all-zero key, so only max_per_key of the 2K+2 attested ones
     * and the kernel-made one stay) */
    jk_chain_pooled *list = ck->pool;
    size_t count = ck->pool_count;
    ck->pool = NULL;
    ck->pool_count = ck->pool_cap = 0;
    JK_REQUIRE(jk_chain_pool_rebuild(ck, list, count) == JK_OK);
    JK_CHECK_EQ(ck->pool_count, 3);
    JK_CHECK_EQ(ck->pool_key_count, 1);
    jk_chain_kernel_free(ck);
    jk_test_chain_free(&tc);
}

/* An entry that charges one key (the usual transact) has the key hashed into
 * the per-key table once, for the bound's check and the charge alike, at its
 * admission and at each rebuild; and a rebuild sizes the table once, so no
 * key is hashed again by a chain of doublings (session 15: it was twice an
 * entry, plus every key again at each doubling of the table). */
JK_TEST(test_chain_fastpath_pool_key_hashed_once)
{
    jk_test_chain tc;
    jk_chain_kernel *ck = jk_pool_kernel(&tc);
    JK_REQUIRE(ck != NULL);
    enum { K = 300 };
    for (uint32_t k = 0; k <= K; k++) {
        /* k == K: no key attested (the all-zero key's count); 100 keys, at
         * most 2 each: the first 200 in, the next 100 refused */
        const char *refused = jk_admit_keyed(ck, k < K ? k % 100 + 1 : 0, k + 1);
        JK_CHECK_EQ(refused == NULL, k < 200 || k == K);
    }
    JK_CHECK_EQ(ck->pool_count, 201);
    JK_CHECK_EQ(ck->pool_key_count, 101);
    JK_CHECK_EQ(ck->pool_key_hashes, (uint64_t)K + 1);
    /* a rebuild re-inserts each (its traces name no key: all count under
     * the all-zero key, 2 stay): one hash an entry looked at */
    jk_chain_pooled *list = ck->pool;
    size_t count = ck->pool_count;
    ck->pool = NULL;
    ck->pool_count = ck->pool_cap = 0;
    ck->pool_key_hashes = 0;
    JK_REQUIRE(jk_chain_pool_rebuild(ck, list, count) == JK_OK);
    JK_CHECK_EQ(ck->pool_count, 2);
    JK_CHECK_EQ(ck->pool_key_count, 1);
    JK_CHECK_EQ(ck->pool_key_hashes, (uint64_t)count);
    jk_chain_kernel_free(ck);
    jk_test_chain_free(&tc);
}

/* The pool's seen keys are put in their set once, when produce asks it
 * (jk_chain_pool_seen_settle), not at each admission: the keys wait in
 * arrival order, and a settle leaves the same set the adds made — each key
 * once, those of earlier settles kept (session 15: an admission's add was a
 * search and a move of part of the set, ~840 Ir, at every node). */
JK_TEST(test_chain_fastpath_pool_seen_keys_settled_once)
{
    jk_test_chain tc;
    jk_chain_kernel *ck = jk_pool_kernel(&tc);
    JK_REQUIRE(ck != NULL);
    uint32_t blob_no = 0;
    for (uint32_t k = 0; k < 30; k++) /* keys 20 down to 1, then 1..10 again */
        JK_CHECK(jk_admit_keyed(ck, k < 20 ? 20 - k : k - 19, ++blob_no) == NULL);
    JK_CHECK_EQ(ck->pool_seen_later_count, 30);
    JK_CHECK_EQ(jk_chain_keyset_count(&ck->pool_seen_keys), 0);
    JK_CHECK_EQ(jk_chain_pool_seen_settle(ck), JK_OK);
    JK_CHECK_EQ(ck->pool_seen_later_count, 0);
    JK_CHECK_EQ(jk_chain_keyset_count(&ck->pool_seen_keys), 20);
    /* 10 new keys and 5 old ones (11..15): merged into the set, in order */
    for (uint32_t k = 0; k < 15; k++)
        JK_CHECK(jk_admit_keyed(ck, k < 10 ? 100 + k : k + 1, ++blob_no) == NULL);
    JK_CHECK_EQ(jk_chain_pool_seen_settle(ck), JK_OK);
    JK_CHECK_EQ(jk_chain_keyset_count(&ck->pool_seen_keys), 30);
    jk_chain_keyset_iter it = JK_CHAIN_KEYSET_ITER_INIT;
    const uint8_t *prev = NULL, *key;
    size_t n = 0;
    while ((key = jk_chain_keyset_next(&ck->pool_seen_keys, &it)) != NULL) {
        uint32_t no = jk_get_u32le(key + 20);
        JK_CHECK((no >= 1 && no <= 20) || (no >= 100 && no < 110));
        JK_CHECK(prev == NULL || memcmp(prev, key, 32) < 0);
        prev = key;
        n++;
    }
    JK_CHECK_EQ(n, 30);
    jk_chain_kernel_free(ck);
    jk_test_chain_free(&tc);
}
