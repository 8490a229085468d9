/*
 * test_safety.c — the chain kernel's safety rules (issue 11), each against
 * the small test chain of tests/chain/progs: the proposer rule at import and
 * produce, bounded produce that never wedges, the pool's bounds and
 * duplicate index, admission bounds, clean cycles, emit routing, transform
 * lineage, the block context in apply's slot[0], and the AA taken from the
 * current chain.
 */
#include "chain_test_util.h"

#include <stdlib.h>

/* What most tests start from: the test chain (aa / chain: other programs
 * for those roles, NULL for the usual), its genesis record with `validators`
 * validators and the given block gas, keys A (seed 1), B (seed 2) and
 * validator 0's (seed 9), a producer holding validator 0's key and an
 * importer. */
typedef struct jk_safety {
    jk_test_chain tc;
    jk_hash genesis;
    const jk_chain_genesis *tg;
    uint8_t pka[32], ska[64], pkb[32], skb[64], pk9[32], sk9[64];
    jk_chain_kernel *p, *importer;
} jk_safety;

static bool jk_safety_open(jk_safety *f, uint32_t validators, int64_t block_gas, const char *chain)
{
    memset(f, 0, sizeof *f);
    jk_test_chain_opts opts = {.chain = chain};
    if (!jk_test_chain_make(&f->tc, &opts))
        return false;
    f->tg = jk_test_genesis(&f->tc, validators, block_gas, &f->genesis);
    jk_test_key(1, f->pka, f->ska);
    jk_test_key(2, f->pkb, f->skb);
    jk_test_key(9, f->pk9, f->sk9);
    if (!f->tg || jk_chain_kernel_new(f->tg, jk_cap_null(), &f->p, NULL) != JK_OK ||
        jk_chain_kernel_new(f->tg, jk_cap_null(), &f->importer, NULL) != JK_OK)
        return false;
    jk_chain_set_own_key(f->p, f->sk9);
    return true;
}

static void jk_safety_close(jk_safety *f)
{
    jk_chain_kernel_free(f->p);
    jk_chain_kernel_free(f->importer);
    jk_test_chain_free(&f->tc);
}

/* Submit a transact blob signed by sk (one trace). */
static bool jk_submit(jk_chain_kernel *ck, const uint8_t *blob, size_t len, const uint8_t *sk, const jk_hash *g,
                      jk_diag *why)
{
    jk_chain_trace t;
    jk_chain_trace_sign(sk, g, blob, len, &t);
    jk_chain_event ev = {JK_CHAIN_ENDPOINT_TRANSACT, blob, len};
    bool admitted = false;
    if (jk_chain_handle_incoming_event(ck, &ev, &t, 1, &admitted, why) != JK_OK)
        return false;
    return admitted;
}

/* Submit B's report `text` to dispatch endpoint 0 of ck, signed by B. */
static bool jk_submit_report(const jk_safety *f, jk_chain_kernel *ck, const char *text, jk_diag *why)
{
    uint8_t blob[64];
    size_t n = jk_blob(blob, f->pkb, 'D', text);
    jk_chain_trace t;
    jk_chain_trace_sign(f->skb, &f->genesis, blob, n, &t);
    jk_chain_event ev = {jk_chain_endpoint_dispatch(0), blob, n};
    bool admitted = false;
    return jk_chain_handle_incoming_event(ck, &ev, &t, 1, &admitted, why) == JK_OK && admitted;
}

/* A block re-made from b with header fields changed and re-signed by sk. */
static void jk_resign(const jk_chain_block *b, uint32_t round, uint32_t proposer, const jk_hash *last_commit,
                      const uint8_t *sk, const jk_hash *g, jk_chain_block *out)
{
    memset(out, 0, sizeof *out);
    if (jk_chain_block_build(&b->header.parent, b->header.number, proposer, &b->header.state_root, b->events,
                             b->event_count, b->traces, b->trace_count, out, NULL) != JK_OK)
        return;
    out->header.round = round;
    if (last_commit)
        out->header.last_commit = *last_commit;
    jk_chain_block_sign(out, sk, g);
}

/* Import checks that the proposer index is the one the rule designates for
 * (number, round) and that the key at that index signed; produce only as
 * that proposer. (Before: any index was imported when the right key signed.) */
JK_TEST(test_chain_safety_proposer_rule)
{
    jk_safety f;
    JK_REQUIRE(jk_safety_open(&f, 2, 10000000, NULL));
    uint8_t pk8[32], sk8[64];
    jk_test_key(8, pk8, sk8); /* validator 1; f.p holds validator 0's key */
    jk_chain_kernel *v0 = f.p, *v1, *importer = f.importer;
    JK_REQUIRE(jk_chain_kernel_new(f.tg, jk_cap_null(), &v1, NULL) == JK_OK);
    jk_chain_set_own_key(v1, sk8);
    JK_CHECK_EQ(jk_chain_proposer_index(2, 1, 0), 1);

    /* Block 1, round 0, is validator 1's: validator 0 may not produce it. */
    jk_chain_block block, bad;
    jk_diag why = {{0}};
    JK_REQUIRE(jk_chain_setup_cycle(v0, NULL) == JK_OK && jk_chain_setup_cycle(v1, NULL) == JK_OK);
    JK_CHECK_EQ(jk_chain_apply_block_produce(v0, &f.genesis, 1, 0, NULL, &block, &why), JK_ERR_INVALID_ARG);
    JK_CHECK(strstr(why.msg, "not the proposer") != NULL);
    uint8_t blob[64];
    size_t len = jk_blob(blob, f.pka, 'T', "pay 1");
    JK_REQUIRE(jk_submit(v1, blob, len, f.ska, &f.genesis, NULL));
    JK_REQUIRE(jk_chain_apply_block_produce(v1, &f.genesis, 1, 0, NULL, &block, &why) == JK_OK);
    JK_CHECK_EQ(block.header.proposer, 1);
    JK_CHECK_EQ(block.header.round, 0);

    /* Re-signed by the right key with another index, or out of range; a
     * round whose proposer is someone else; the other key; a last_commit in
     * block 1: all refused, the chain unchanged. */
    static const jk_hash some = {{1, 2, 3}};
    struct {
        uint32_t round, proposer;
        const uint8_t *sk;
        const jk_hash *last_commit;
        jk_err want;
        const char *what;
    } cases[] = {{0, 3, sk8, NULL, JK_ERR_CHAIN_BLOCK_INVALID, "index 3"},
                 {0, UINT32_MAX, sk8, NULL, JK_ERR_CHAIN_BLOCK_INVALID, "index 0xFFFFFFFF"},
                 {0, 0, sk8, NULL, JK_ERR_CHAIN_BLOCK_INVALID, "index 0 signed by validator 1"},
                 {0, 0, f.sk9, NULL, JK_ERR_CHAIN_BLOCK_INVALID, "validator 0 in round 0"},
                 {1, 1, sk8, NULL, JK_ERR_CHAIN_BLOCK_INVALID, "round 1 belongs to validator 0"},
                 {1, 0, sk8, NULL, JK_ERR_CHAIN_BLOCK_SIG, "round 1 signed by validator 1"},
                 {0, 1, sk8, &some, JK_ERR_CHAIN_BLOCK_INVALID, "a last_commit in block 1"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        jk_resign(&block, cases[i].round, cases[i].proposer, cases[i].last_commit, cases[i].sk, &f.genesis, &bad);
        jk_err err = jk_chain_apply_block_import(importer, &bad, &f.genesis, 1, &why);
        if (err != cases[i].want)
            jk_test_fail(__FILE__, __LINE__, "%s: %s (%s)", cases[i].what, jk_strerror(err), why.msg);
        JK_CHECK(jk_cap_equal(importer->chain, f.tc.chain));
        jk_chain_block_free(&bad);
    }
    /* Round 1 of block 1 is validator 0's: produced by it, it imports. */
    JK_REQUIRE(jk_chain_setup_cycle(v0, NULL) == JK_OK);
    JK_REQUIRE(jk_submit(v0, blob, len, f.ska, &f.genesis, NULL));
    jk_chain_block r1;
    JK_REQUIRE(jk_chain_apply_block_produce(v0, &f.genesis, 1, 1, NULL, &r1, &why) == JK_OK);
    JK_CHECK_EQ(r1.header.proposer, 0);
    JK_CHECK_EQ(r1.header.round, 1);
    JK_CHECK_EQ(jk_chain_apply_block_import(importer, &r1, &f.genesis, 1, &why), JK_OK);
    /* apply saw the block context in slot[0][2]: number 1, proposer 0, round 1 */
    uint8_t ctx[16] = {0};
    jk_cap kept = jk_cap_cnode_get(jk_cap_instance_cnode(importer->chain), 41);
    JK_CHECK_EQ(jk_cap_data_len(kept), 16);
    jk_cap_data_read(kept, 0, ctx, 16);
    static const uint8_t want_ctx[16] = {1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0};
    JK_CHECK_MEM(ctx, want_ctx, 16);
    jk_chain_block_free(&r1);
    jk_chain_block_free(&block);
    jk_chain_kernel_free(v1);
    jk_safety_close(&f);
}

/* A pool whose blobs add up past a block's 16 MiB: produce takes the longest
 * prefix that fits, the rest waits for the next blocks, in order; no produce
 * fails. (Before: build refused the oversized body, the pool was kept, and
 * every later produce failed the same way.) */
JK_TEST(test_chain_safety_produce_is_bounded_and_never_wedges)
{
    jk_safety f;
    JK_REQUIRE(jk_safety_open(&f, 1, 100000000, NULL));
    jk_chain_kernel *p = f.p, *importer = f.importer;
    enum { N = 17 };
    uint8_t *big = malloc(JK_CHAIN_MAX_BLOB);
    JK_REQUIRE(big != NULL);
    JK_REQUIRE(jk_chain_setup_cycle(p, NULL) == JK_OK);
    for (int i = 0; i < N; i++) {
        char text[16];
        snprintf(text, sizeof text, "big %02d", i);
        size_t n = jk_blob(big, f.pka, 'T', text);
        memset(big + n, 'x', JK_CHAIN_MAX_BLOB - n);
        JK_REQUIRE(jk_submit(p, big, JK_CHAIN_MAX_BLOB, f.ska, &f.genesis, NULL));
    }
    JK_CHECK_EQ(p->pool_count, N);
    jk_hash parent = f.genesis;
    size_t total = 0, blocks = 0;
    for (uint64_t number = 1; number <= 4; number++) {
        jk_chain_block b;
        jk_diag why = {{0}};
        if (number > 1)
            JK_REQUIRE(jk_chain_setup_cycle(p, NULL) == JK_OK);
        jk_err err = jk_chain_apply_block_produce(p, &parent, number, 0, NULL, &b, &why);
        if (err != JK_OK)
            jk_test_fail(__FILE__, __LINE__, "block %llu: %s", (unsigned long long)number, why.msg);
        JK_REQUIRE(err == JK_OK);
        JK_CHECK(jk_chain_block_encoded_size(&b) > 0); /* within every bound */
        JK_CHECK(b.event_count <= JK_CHAIN_PRODUCE_EVENT_BYTES / JK_CHAIN_MAX_BLOB);
        for (size_t i = 0; i < b.event_count; i++) {
            char want[16];
            snprintf(want, sizeof want, "big %02zu", total + i);
            JK_CHECK(!memcmp(b.events[i].blob + 33, want, strlen(want))); /* pool order kept */
        }
        total += b.event_count;
        blocks += b.event_count > 0;
        JK_CHECK_EQ(jk_chain_apply_block_import(importer, &b, &parent, number, &why), JK_OK);
        jk_chain_block_hash(&b, &parent);
        jk_chain_block_free(&b);
    }
    JK_CHECK_EQ(total, N);
    JK_CHECK_EQ(blocks, 4); /* 6 MiB of events a block: the dispatch part keeps 2 MiB */
    JK_CHECK(jk_cap_equal(importer->chain, p->chain));
    free(big);
    jk_safety_close(&f);
}

/* The pool's bounds: per attested key, count, bytes; duplicates by event
 * hash. Refusal, never eviction. (Before: one key could fill an unbounded
 * pool.) */
JK_TEST(test_chain_safety_pool_bounds)
{
    jk_safety f;
    JK_REQUIRE(jk_safety_open(&f, 1, 10000000, NULL));
    jk_chain_kernel *ck = f.p;
    JK_CHECK_EQ(ck->pool_limits.max_events, JK_CHAIN_POOL_MAX_EVENTS);
    jk_chain_pool_limits lim = {5, 1u << 20, 3};
    jk_chain_set_pool_limits(ck, &lim);
    JK_REQUIRE(jk_chain_setup_cycle(ck, NULL) == JK_OK);
    uint8_t blob[64];
    jk_diag why = {{0}};
    char text[16];
    for (int i = 0; i < 4; i++) { /* A: three fit, the fourth is refused */
        snprintf(text, sizeof text, "a%d", i);
        size_t n = jk_blob(blob, f.pka, 'T', text);
        why.msg[0] = 0;
        JK_CHECK_EQ(jk_submit(ck, blob, n, f.ska, &f.genesis, &why), i < 3);
        if (i == 3)
            JK_CHECK(strstr(why.msg, "for one of its keys") != NULL);
    }
    size_t n = jk_blob(blob, f.pka, 'T', "a0"); /* a repeat: refused as a duplicate */
    JK_CHECK(!jk_submit(ck, blob, n, f.ska, &f.genesis, &why));
    JK_CHECK(strstr(why.msg, "already holds") != NULL);
    for (int i = 0; i < 3; i++) { /* B: two fit, then the pool is full */
        snprintf(text, sizeof text, "b%d", i);
        n = jk_blob(blob, f.pkb, 'T', text);
        JK_CHECK_EQ(jk_submit(ck, blob, n, f.skb, &f.genesis, &why), i < 2);
    }
    JK_CHECK(strstr(why.msg, "full (events)") != NULL);
    JK_CHECK_EQ(ck->pool_count, 5);
    /* bytes: blob + 128 per kept trace count against max_bytes */
    jk_chain_kernel *small;
    JK_REQUIRE(jk_chain_kernel_new(f.tg, jk_cap_null(), &small, NULL) == JK_OK);
    jk_chain_pool_limits tiny = {100, 200, 100};
    jk_chain_set_pool_limits(small, &tiny);
    JK_REQUIRE(jk_chain_setup_cycle(small, NULL) == JK_OK);
    n = jk_blob(blob, f.pka, 'T', "one");
    JK_CHECK(jk_submit(small, blob, n, f.ska, &f.genesis, &why));   /* 36 + 128 = 164 bytes */
    n = jk_blob(blob, f.pka, 'T', "two");
    JK_CHECK(!jk_submit(small, blob, n, f.ska, &f.genesis, &why));  /* 328 > 200 */
    JK_CHECK(strstr(why.msg, "full (bytes)") != NULL);
    JK_CHECK_EQ(small->pool_bytes, 164);
    jk_chain_kernel_free(small);
    jk_safety_close(&f);
}

/* Admission refuses an oversized blob and too many traces before running
 * verify, checks only the traces an attest asks for and keeps only those.
 * (Before: a 64 MiB blob was copied and verified, and 30,000 junk traces
 * were all checked and pooled.) */
JK_TEST(test_chain_safety_admission_bounds)
{
    jk_safety f;
    JK_REQUIRE(jk_safety_open(&f, 1, 10000000, NULL));
    jk_chain_kernel *ck = f.p;
    JK_REQUIRE(jk_chain_setup_cycle(ck, NULL) == JK_OK);
    jk_diag why = {{0}};
    bool admitted = true;
    /* one byte over the blob bound, correctly signed: refused unrun */
    uint8_t *big = calloc(1, JK_CHAIN_MAX_BLOB + 1);
    JK_REQUIRE(big != NULL);
    size_t n = jk_blob(big, f.pka, 'T', "huge");
    (void)n;
    jk_chain_trace t;
    jk_chain_trace_sign(f.ska, &f.genesis, big, JK_CHAIN_MAX_BLOB + 1, &t);
    jk_chain_event ev = {JK_CHAIN_ENDPOINT_TRANSACT, big, JK_CHAIN_MAX_BLOB + 1};
    JK_CHECK_EQ(jk_chain_handle_incoming_event(ck, &ev, &t, 1, &admitted, &why), JK_OK);
    JK_CHECK(!admitted);
    JK_CHECK(strstr(why.msg, "a blob of 1048577 bytes") != NULL);
    free(big);
    /* nine traces (the default bound is 8), the good one last: refused */
    uint8_t blob[64];
    n = jk_blob(blob, f.pka, 'T', "traced");
    jk_chain_trace many[JK_CHAIN_DEFAULT_EVENT_TRACES + 1];
    for (size_t i = 0; i < JK_CHAIN_DEFAULT_EVENT_TRACES; i++) {
        jk_chain_trace_sign(f.skb, &f.genesis, blob, n, &many[i]); /* B's: no attest asks for them */
        many[i].sig[0] ^= (uint8_t)i;
    }
    jk_chain_trace_sign(f.ska, &f.genesis, blob, n, &many[JK_CHAIN_DEFAULT_EVENT_TRACES]);
    ev = (jk_chain_event){JK_CHAIN_ENDPOINT_TRANSACT, blob, n};
    JK_CHECK_EQ(jk_chain_handle_incoming_event(ck, &ev, many, JK_CHAIN_DEFAULT_EVENT_TRACES + 1, &admitted, &why),
                JK_OK);
    JK_CHECK(!admitted);
    JK_CHECK(strstr(why.msg, "9 traces") != NULL);
    /* eight: admitted, and the pool keeps only the trace the attest used */
    JK_CHECK_EQ(jk_chain_handle_incoming_event(ck, &ev, many + 1, JK_CHAIN_DEFAULT_EVENT_TRACES, &admitted, &why),
                JK_OK);
    JK_CHECK(admitted);
    JK_REQUIRE(ck->pool_count == 1);
    JK_CHECK_EQ(ck->pool[0].trace_count, 1);
    JK_CHECK_MEM(ck->pool[0].traces[0].key, f.pka, 32);
    jk_safety_close(&f);
}

/* Each cycle starts clean: after a failed import, the next setup_cycle holds
 * no seen key, buffered event or trace of the cycle before, so process
 * cannot attest a stale report under the seen-rule. (Before: they survived
 * until a successful apply.) */
JK_TEST(test_chain_safety_cycle_starts_clean)
{
    jk_safety f;
    JK_REQUIRE(jk_safety_open(&f, 1, 10000000, NULL));
    jk_chain_kernel *ck = f.importer;
    JK_REQUIRE(jk_chain_setup_cycle(ck, NULL) == JK_OK);
    JK_REQUIRE(jk_submit_report(&f, ck, "price 7", NULL));
    JK_CHECK(jk_chain_keyset_contains(&ck->cycle_seen_keys[0], f.pkb));
    /* an import that fails */
    jk_chain_block bad;
    jk_hash zero = {{0}};
    JK_REQUIRE(jk_chain_block_build(&f.genesis, 1, 0, &zero, NULL, 0, NULL, 0, &bad, NULL) == JK_OK);
    jk_chain_block_sign(&bad, f.sk9, &f.genesis);
    jk_diag why = {{0}};
    JK_CHECK_EQ(jk_chain_apply_block_import(ck, &bad, &f.genesis, 1, &why), JK_ERR_CHAIN_BLOCK_INVALID);
    jk_chain_block_free(&bad);
    /* the next cycle */
    JK_REQUIRE(jk_chain_setup_cycle(ck, NULL) == JK_OK);
    JK_CHECK(!jk_chain_keyset_contains(&ck->cycle_seen_keys[0], f.pkb));
    JK_CHECK_EQ(ck->dispatch_buffered[0], 0);
    JK_CHECK_EQ(ck->cycle_trace_count, 0);
    uint64_t processed[JK_CHAIN_MAX_DISPATCH_ENDPOINTS];
    JK_REQUIRE(jk_chain_run_cycle_process(ck, processed) == JK_OK);
    JK_CHECK_EQ(processed[0], 0); /* nothing to attest */
    /* produce outside a cycle is refused */
    jk_chain_set_own_key(ck, f.sk9);
    jk_chain_teardown(ck);
    jk_chain_block b;
    JK_CHECK_EQ(jk_chain_apply_block_produce(ck, &f.genesis, 1, 0, NULL, &b, &why), JK_ERR_INVALID_ARG);
    jk_safety_close(&f);
}

/* Emits: apply's outgoing emits are returned (jk_chain_emits) on producer
 * and importer alike and routed (a transact to the pool); a dispatch emit of
 * process reaches the next cycle's buffer through its verify. (Before: apply's
 * emits were dropped and the dispatch queue was never read.) */
JK_TEST(test_chain_safety_emits_routed)
{
    jk_safety f;
    JK_REQUIRE(jk_safety_open(&f, 1, 100000000, NULL));
    jk_chain_kernel *p = f.p, *importer = f.importer;
    JK_REQUIRE(jk_chain_setup_cycle(p, NULL) == JK_OK);
    uint8_t tblob[64], dblob[64];
    size_t tlen = jk_blob(tblob, f.pka, 'E', "emit please"), dlen = jk_blob(dblob, f.pkb, 'D', "price 42");
    JK_REQUIRE(jk_submit(p, tblob, tlen, f.ska, &f.genesis, NULL));
    jk_chain_trace dtr;
    jk_chain_trace_sign(f.skb, &f.genesis, dblob, dlen, &dtr);
    jk_chain_event dev = {jk_chain_endpoint_dispatch(0), dblob, dlen};
    bool admitted = false;
    JK_REQUIRE(jk_chain_handle_incoming_event(p, &dev, &dtr, 1, &admitted, NULL) == JK_OK && admitted);
    JK_REQUIRE(jk_chain_run_cycle_process(p, NULL) == JK_OK);
    JK_CHECK_EQ(p->cycle_queued_count, 1); /* process's dispatch emit: the block's queued list */
    jk_chain_block b;
    jk_diag why = {{0}};
    JK_REQUIRE(jk_chain_apply_block_produce(p, &f.genesis, 1, 0, NULL, &b, &why) == JK_OK);
    JK_REQUIRE(jk_chain_apply_block_import(importer, &b, &f.genesis, 1, &why) == JK_OK);
    const jk_chain_pooled *pe, *ie;
    JK_REQUIRE(jk_chain_emits(p, &pe) == 1 && jk_chain_emits(importer, &ie) == 1);
    uint8_t want[33];
    memcpy(want, f.pka, 32);
    want[32] = 'T';
    JK_CHECK(pe[0].endpoint == JK_CHAIN_ENDPOINT_TRANSACT && pe[0].blob_len == 33 && !memcmp(pe[0].blob, want, 33));
    JK_CHECK(ie[0].blob_len == 33 && !memcmp(ie[0].blob, want, 33));
    /* routed as process emits are: the transact waits in the pool */
    JK_CHECK_EQ(importer->pool_count, 1);
    JK_CHECK(importer->pool_count == 1 && !memcmp(importer->pool[0].blob, want, 33));
    /* the next cycle verifies what waited: the dispatch emit (B's report,
     * with the trace process used) joins endpoint 0's buffer; the unsigned
     * emitted transact waits unverified (no recheck) until a produce would
     * take it: then it fails its verify and is dropped, not included */
    JK_CHECK_EQ(importer->queued_count, 1); /* the importer holds the same queue */
    JK_REQUIRE(jk_chain_setup_cycle(p, NULL) == JK_OK);
    JK_CHECK_EQ(p->queued_count, 1); /* fed as a copy: the queue is the head's until the next block */
    JK_CHECK_EQ(p->dispatch_buffered[0], 1);
    JK_CHECK(jk_chain_keyset_contains(&p->cycle_seen_keys[0], f.pkb));
    JK_CHECK_EQ(p->pool_count, 1);
    JK_CHECK(p->pool[0].kernel_made && p->pool[0].stamp != p->cycle_stamp); /* not current */
    uint64_t runs = p->stats.verify_runs;
    jk_chain_block b2;
    jk_hash parent;
    jk_chain_block_hash(&b, &parent);
    JK_REQUIRE(jk_chain_apply_block_produce(p, &parent, 2, 0, NULL, &b2, &why) == JK_OK);
    JK_CHECK_EQ(p->stats.verify_runs, runs + 1);
    JK_CHECK_EQ(p->stats.pool_dropped, 1);
    JK_CHECK_EQ(b2.event_count, 0);
    JK_CHECK_EQ(p->pool_count, 0);
    jk_chain_block_free(&b2);
    jk_chain_block_free(&b);
    jk_safety_close(&f);
}

/* A transform that set_images onto another image than the one pinned for
 * its role: setup_cycle refuses it. (Before: whatever it made became
 * verify_proto.) */
JK_TEST(test_chain_safety_transform_lineage)
{
    jk_safety f;
    JK_REQUIRE(jk_safety_open(&f, 1, 10000000, "chain_bad_transform"));
    jk_chain_kernel *ck = f.p;
    jk_diag why = {{0}};
    JK_CHECK_EQ(jk_chain_setup_cycle(ck, &why), JK_ERR_INVALID_ARG);
    JK_CHECK(strstr(why.msg, "pinned in slot 1") != NULL);
    JK_CHECK(!ck->cycle_open);
    jk_safety_close(&f);
}

/* The AA is the one the current chain pins, at every injection: after the
 * chain set_images onto an image pinning another AA, a running kernel and
 * one restarted at that head decide alike. (Before: the running kernel kept
 * the AA it read when it was made.) The other AA here returns without asking
 * the kernel, so an unsigned event passes its verify. */
JK_TEST(test_chain_safety_aa_from_current_chain)
{
    jk_safety f;
    JK_REQUIRE(jk_safety_open(&f, 1, 10000000, NULL));
    jk_test_chain other;
    static const jk_test_chain_opts no_yield = {.aa = "aa_no_yield"};
    JK_REQUIRE(jk_test_chain_make(&other, &no_yield));
    jk_chain_kernel *running = f.p, *restarted;
    uint8_t blob[64];
    size_t n = jk_blob(blob, f.pka, 'T', "unsigned");
    jk_chain_event ev = {JK_CHAIN_ENDPOINT_TRANSACT, blob, n};
    bool admitted = true;
    JK_REQUIRE(jk_chain_setup_cycle(running, NULL) == JK_OK);
    JK_REQUIRE(jk_chain_handle_incoming_event(running, &ev, NULL, 0, &admitted, NULL) == JK_OK);
    JK_CHECK(!admitted); /* the f.genesis AA asks the kernel: no trace, no attest */
    /* the chain moves onto the other image (as an apply's set_image would) */
    jk_cap moved;
    JK_REQUIRE(jk_cap_instance_set_image(running->chain, other.images[5], &moved, NULL) == JK_OK);
    jk_cap_release(running->chain);
    running->chain = moved;
    JK_REQUIRE(jk_chain_kernel_new(f.tg, moved, &restarted, NULL) == JK_OK);
    bool a_running = false, a_restarted = false;
    JK_REQUIRE(jk_chain_setup_cycle(running, NULL) == JK_OK && jk_chain_setup_cycle(restarted, NULL) == JK_OK);
    JK_REQUIRE(jk_chain_handle_incoming_event(running, &ev, NULL, 0, &a_running, NULL) == JK_OK);
    JK_REQUIRE(jk_chain_handle_incoming_event(restarted, &ev, NULL, 0, &a_restarted, NULL) == JK_OK);
    JK_CHECK(a_restarted);
    JK_CHECK_EQ(a_running, a_restarted);
    jk_chain_kernel_free(restarted);
    jk_test_chain_free(&other);
    jk_safety_close(&f);
}

/* The signature cache never changes a result: after gossip put a trace in
 * it, the block carrying that trace imports, while the same block with the
 * trace's signature altered (a miss: another triple) is still refused. */
JK_TEST(test_chain_safety_signature_cache_changes_no_result)
{
    jk_safety f;
    JK_REQUIRE(jk_safety_open(&f, 1, 100000000, NULL));
    jk_chain_kernel *p = f.p, *importer = f.importer;
    uint8_t blob[64];
    size_t n = jk_blob(blob, f.pka, 'T', "cached");
    JK_REQUIRE(jk_chain_setup_cycle(p, NULL) == JK_OK && jk_chain_setup_cycle(importer, NULL) == JK_OK);
    JK_REQUIRE(jk_submit(p, blob, n, f.ska, &f.genesis, NULL));
    JK_REQUIRE(jk_submit(importer, blob, n, f.ska, &f.genesis, NULL)); /* the importer saw the gossip */
    JK_CHECK(importer->sig_cache != NULL);
    jk_chain_block b, bad;
    jk_diag why = {{0}};
    JK_REQUIRE(jk_chain_apply_block_produce(p, &f.genesis, 1, 0, NULL, &b, &why) == JK_OK);
    JK_REQUIRE(b.trace_count == 1);
    jk_chain_trace altered = b.traces[0];
    altered.sig[10] ^= 4;
    memset(&bad, 0, sizeof bad);
    JK_REQUIRE(jk_chain_block_build(&b.header.parent, 1, 0, &b.header.state_root, b.events, b.event_count,
                                    &altered, 1, &bad, NULL) == JK_OK);
    jk_chain_block_sign(&bad, f.sk9, &f.genesis);
    JK_CHECK_EQ(jk_chain_apply_block_import(importer, &bad, &f.genesis, 1, &why), JK_ERR_CHAIN_BLOCK_INVALID);
    JK_CHECK_EQ(jk_chain_apply_block_import(importer, &b, &f.genesis, 1, &why), JK_OK);
    JK_CHECK(jk_cap_equal(importer->chain, p->chain));
    jk_chain_block_free(&bad);
    jk_chain_block_free(&b);
    jk_safety_close(&f);
}

/* jk_chain_check_block: import's verdict without advancing (a prevote's
 * valid(v)); an import of the same block on the same head adopts the checked
 * result and ends exactly where a plain import does. */
JK_TEST(test_chain_safety_check_block_then_adopt)
{
    jk_safety f;
    JK_REQUIRE(jk_safety_open(&f, 1, 10000000, NULL));
    uint8_t blob[64];
    size_t n = jk_blob(blob, f.pka, 'T', "checked");
    JK_REQUIRE(jk_chain_setup_cycle(f.p, NULL) == JK_OK);
    JK_REQUIRE(jk_submit(f.p, blob, n, f.ska, &f.genesis, NULL));
    jk_chain_block b, bad;
    jk_diag why = {{0}};
    JK_REQUIRE(jk_chain_apply_block_produce(f.p, &f.genesis, 1, 0, NULL, &b, &why) == JK_OK);
    /* a block with another state root: refused, nothing kept */
    jk_hash wrong = {{7}};
    JK_REQUIRE(jk_chain_block_build(&f.genesis, 1, 0, &wrong, b.events, b.event_count, b.traces, b.trace_count, &bad,
                                    NULL) == JK_OK);
    jk_chain_block_sign(&bad, f.sk9, &f.genesis);
    JK_CHECK_EQ(jk_chain_check_block(f.importer, &bad, &f.genesis, 1, &why), JK_ERR_CHAIN_BLOCK_INVALID);
    JK_CHECK(!f.importer->has_checked);
    /* the good block: valid, and the chain has not moved */
    JK_CHECK_EQ(jk_chain_check_block(f.importer, &b, &f.genesis, 1, &why), JK_OK);
    JK_CHECK(f.importer->has_checked);
    JK_CHECK(jk_cap_equal(f.importer->chain, f.tc.chain));
    /* the checked result is not adopted for another block */
    JK_CHECK_EQ(jk_chain_apply_block_import(f.importer, &bad, &f.genesis, 1, &why), JK_ERR_CHAIN_BLOCK_INVALID);
    JK_CHECK(jk_cap_equal(f.importer->chain, f.tc.chain));
    /* the same block: adopted */
    JK_CHECK_EQ(jk_chain_apply_block_import(f.importer, &b, &f.genesis, 1, &why), JK_OK);
    JK_CHECK(!f.importer->has_checked);
    JK_CHECK(jk_cap_equal(f.importer->chain, f.p->chain));
    jk_chain_block_free(&bad);
    jk_chain_block_free(&b);
    jk_safety_close(&f);
}

/* Dispatch buffers are bounded too: a report gossiped twice is buffered once
 * per cycle (its hash is indexed), and no endpoint buffers more than
 * JK_CHAIN_MAX_BUFFERED events a cycle. (Before: every repeat was buffered,
 * without bound.) */
JK_TEST(test_chain_safety_dispatch_buffer_deduplicated)
{
    jk_safety f;
    JK_REQUIRE(jk_safety_open(&f, 1, 10000000, NULL));
    jk_chain_kernel *ck = f.importer;
    JK_REQUIRE(jk_chain_setup_cycle(ck, NULL) == JK_OK);
    jk_diag why = {{0}};
    JK_CHECK(jk_submit_report(&f, ck, "price 9", &why));
    JK_CHECK(!jk_submit_report(&f, ck, "price 9", &why));
    JK_CHECK(strstr(why.msg, "already buffered") != NULL);
    JK_CHECK_EQ(ck->dispatch_buffered[0], 1);
    /* a new cycle forgets it: the same report may come again */
    JK_REQUIRE(jk_chain_setup_cycle(ck, NULL) == JK_OK);
    JK_CHECK(jk_submit_report(&f, ck, "price 9", &why));
    jk_safety_close(&f);
}
