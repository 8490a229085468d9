/* test_cycle.c — the spec's Kernel, first steps, through a small test chain
 * written in C (tests/chain/progs): setup_cycle derives verify_proto and
 * Dispatch_0 from the chain; handle_incoming_event verifies events in fresh
 * copies with the AttestationAuthority in verify mode and admits them. */
#include "../test.h"
#include "chain_test_util.h"

#include "jark/chain.h"

#include <stdlib.h>

JK_TEST(test_chain_cycle_verify_admits_and_drops)
{
    jk_cap_stats before;
    jk_cap_stats_get(&before);
    jk_test_chain tc;
    JK_REQUIRE(jk_test_chain_make(&tc, NULL));
    jk_hash genesis;
    const jk_chain_genesis *tg = jk_test_genesis(&tc, 1, 10000000, &genesis);
    JK_REQUIRE(tg != NULL);
    jk_chain_kernel *ck;
    jk_diag diag = {{0}};
    JK_REQUIRE(jk_chain_kernel_new(tg, jk_cap_null(), &ck, &diag) == JK_OK);

    jk_chain_event ev = {JK_CHAIN_ENDPOINT_TRANSACT, NULL, 0};
    bool admitted = true;
    JK_CHECK_EQ(jk_chain_handle_incoming_event(ck, &ev, NULL, 0, &admitted, &diag), JK_ERR_INVALID_ARG);
    JK_REQUIRE(jk_chain_setup_cycle(ck, &diag) == JK_OK);
    JK_CHECK(!jk_cap_is_null(ck->verify_proto));
    JK_CHECK(!jk_cap_is_null(ck->dispatch_protos[0]));
    JK_CHECK(jk_cap_equal(jk_cap_instance_image(ck->verify_proto), tc.images[4]));
    jk_hash proto_before;
    jk_cap_hash(ck->verify_proto, &proto_before);

    uint8_t seed_a[32] = {1}, seed_b[32] = {2}, pk_a[32], sk_a[64], pk_b[32], sk_b[64];
    JK_REQUIRE(jk_crypto_ed25519_keypair_from_seed(seed_a, pk_a, sk_a) == JK_OK);
    JK_REQUIRE(jk_crypto_ed25519_keypair_from_seed(seed_b, pk_b, sk_b) == JK_OK);
    uint8_t blob[128];
    jk_chain_trace tr, forged;

    /* A signed transact is admitted to the pool. */
    ev.blob = blob;
    ev.blob_len = jk_blob(blob, pk_a, 'T', "pay 5 to bob");
    jk_chain_trace_sign(sk_a, &genesis, blob, ev.blob_len, &tr);
    JK_CHECK_EQ(jk_chain_handle_incoming_event(ck, &ev, &tr, 1, &admitted, &diag), JK_OK);
    JK_CHECK(admitted);
    JK_CHECK_EQ(ck->pool_count, 1);
    JK_CHECK_EQ(jk_chain_pool_seen_settle(ck), JK_OK);
    JK_CHECK(jk_chain_keyset_contains(&ck->pool_seen_keys, pk_a));
    /* The same transact gossiped again is not pooled twice. */
    JK_CHECK_EQ(jk_chain_handle_incoming_event(ck, &ev, &tr, 1, &admitted, &diag), JK_OK);
    JK_CHECK(!admitted);
    JK_CHECK_EQ(ck->pool_count, 1);

    /* Forged (signed by another key), missing, or for another genesis: dropped. */
    jk_chain_trace_sign(sk_b, &genesis, blob, ev.blob_len, &forged);
    memcpy(forged.key, pk_a, 32);
    JK_CHECK_EQ(jk_chain_handle_incoming_event(ck, &ev, &forged, 1, &admitted, &diag), JK_OK);
    JK_CHECK(!admitted);
    JK_CHECK_EQ(jk_chain_handle_incoming_event(ck, &ev, NULL, 0, &admitted, &diag), JK_OK);
    JK_CHECK(!admitted);
    jk_hash other_genesis;
    jk_crypto_blake2b256("other chain", 11, &other_genesis);
    jk_chain_trace elsewhere;
    jk_chain_trace_sign(sk_a, &other_genesis, blob, ev.blob_len, &elsewhere);
    JK_CHECK_EQ(jk_chain_handle_incoming_event(ck, &ev, &elsewhere, 1, &admitted, &diag), JK_OK);
    JK_CHECK(!admitted);
    JK_CHECK_EQ(ck->pool_count, 1);

    /* A dispatch event goes to endpoint 0's buffer; its key becomes seen. */
    jk_chain_event dev = {jk_chain_endpoint_dispatch(0), blob, jk_blob(blob, pk_b, 'D', "price 42")};
    jk_chain_trace dtr;
    jk_chain_trace_sign(sk_b, &genesis, blob, dev.blob_len, &dtr);
    JK_CHECK_EQ(jk_chain_handle_incoming_event(ck, &dev, &dtr, 1, &admitted, &diag), JK_OK);
    JK_CHECK(admitted);
    JK_CHECK_EQ(ck->dispatch_buffered[0], 1);
    JK_CHECK(jk_chain_keyset_contains(&ck->cycle_seen_keys[0], pk_b));
    JK_CHECK(!jk_chain_keyset_contains(&ck->cycle_seen_keys[0], pk_a));
    /* The same dispatch blob on the transact endpoint: wrong lineage, dropped. */
    dev.endpoint = JK_CHAIN_ENDPOINT_TRANSACT;
    JK_CHECK_EQ(jk_chain_handle_incoming_event(ck, &dev, &dtr, 1, &admitted, &diag), JK_OK);
    JK_CHECK(!admitted);
    /* A dispatch endpoint that does not exist. */
    dev.endpoint = jk_chain_endpoint_dispatch(3);
    JK_CHECK_EQ(jk_chain_handle_incoming_event(ck, &dev, &dtr, 1, &admitted, &diag), JK_OK);
    JK_CHECK(!admitted);

    /* A verify that scribbles on its copy leaks nothing into verify_proto. */
    ev.blob_len = jk_blob(blob, pk_a, 'M', "mutate");
    jk_chain_trace_sign(sk_a, &genesis, blob, ev.blob_len, &tr);
    JK_CHECK_EQ(jk_chain_handle_incoming_event(ck, &ev, &tr, 1, &admitted, &diag), JK_OK);
    JK_CHECK(admitted);
    jk_hash proto_after;
    jk_cap_hash(ck->verify_proto, &proto_after);
    JK_CHECK_MEM(proto_before.bytes, proto_after.bytes, 32);
    JK_CHECK(jk_cap_is_null(jk_cap_cnode_get(jk_cap_instance_cnode(ck->verify_proto), 40)));
    JK_CHECK_EQ(ck->pool_count, 2);

    jk_chain_teardown(ck);
    JK_CHECK(jk_cap_is_null(ck->verify_proto));
    jk_chain_kernel_free(ck);
    jk_test_chain_free(&tc);
    jk_cap_stats after;
    jk_cap_stats_get(&after);
    JK_CHECK_EQ(after.live_objects, before.live_objects);
}

/* A block re-made from `b` with other traces / state root, signed by sk. */
static void jk_remake(const jk_chain_block *b, const jk_chain_trace *traces, size_t n, const jk_hash *root,
                      const uint8_t *sk, const jk_hash *genesis, jk_chain_block *out)
{
    memset(out, 0, sizeof *out);
    if (jk_chain_block_build(&b->header.parent, b->header.number, b->header.proposer, root, b->events,
                             b->event_count, traces, n, out, NULL) == JK_OK)
        jk_chain_block_sign(out, sk, genesis);
}

JK_TEST(test_chain_cycle_process_produce_and_import)
{
    jk_cap_stats before;
    jk_cap_stats_get(&before);
    jk_test_chain tc;
    JK_REQUIRE(jk_test_chain_make(&tc, NULL));
    jk_hash genesis, start_root;
    const jk_chain_genesis *tg = jk_test_genesis(&tc, 1, 10000000, &genesis);
    JK_REQUIRE(tg != NULL);
    jk_cap_hash(tc.chain, &start_root);
    uint8_t seeds[3][32] = {{1}, {2}, {9}}, pk[3][32], sk[3][64];
    for (int i = 0; i < 3; i++)
        JK_REQUIRE(jk_crypto_ed25519_keypair_from_seed(seeds[i], pk[i], sk[i]) == JK_OK);
    jk_chain_kernel *producer, *importer;
    JK_REQUIRE(jk_chain_kernel_new(tg, jk_cap_null(), &producer, NULL) == JK_OK);
    JK_REQUIRE(jk_chain_kernel_new(tg, jk_cap_null(), &importer, NULL) == JK_OK);
    jk_chain_set_own_key(producer, sk[2]);

    /* The cycle: a transact by A and a report by B. */
    uint8_t tblob[64], dblob[64], xblob[64];
    size_t tlen = jk_blob(tblob, pk[0], 'T', "pay 5"), dlen = jk_blob(dblob, pk[1], 'D', "price 42");
    size_t xlen = jk_blob(xblob, pk[1], 'D', "Xrogue");
    jk_chain_trace ttr, dtr, xtr;
    jk_chain_trace_sign(sk[0], &genesis, tblob, tlen, &ttr);
    jk_chain_trace_sign(sk[1], &genesis, dblob, dlen, &dtr);
    jk_chain_trace_sign(sk[1], &genesis, xblob, xlen, &xtr);
    jk_chain_event tev = {JK_CHAIN_ENDPOINT_TRANSACT, tblob, tlen}, dev = {jk_chain_endpoint_dispatch(0), dblob, dlen};
    bool admitted;
    JK_REQUIRE(jk_chain_setup_cycle(producer, NULL) == JK_OK);
    JK_REQUIRE(jk_chain_handle_incoming_event(producer, &tev, &ttr, 1, &admitted, NULL) == JK_OK && admitted);
    JK_REQUIRE(jk_chain_handle_incoming_event(producer, &dev, &dtr, 1, &admitted, NULL) == JK_OK && admitted);
    uint64_t processed[JK_CHAIN_MAX_DISPATCH_ENDPOINTS];
    JK_REQUIRE(jk_chain_run_cycle_process(producer, processed) == JK_OK);
    JK_CHECK_EQ(processed[0], 1); /* the report was attested under the seen-rule */
    JK_CHECK_EQ(producer->pool_count, 1); /* the transfer */
    JK_CHECK_EQ(producer->cycle_transact_count, 1); /* the emitted transact: the body's end */
    /* the dispatch emit is the block's queued list; the queue changes only
     * with the block */
    JK_CHECK_EQ(producer->queued_count, 0);
    JK_CHECK(producer->cycle_queued_count == 1 && producer->cycle_queued[0].endpoint == jk_chain_endpoint_dispatch(0) &&
             producer->cycle_queued[0].blob_len == dlen && !memcmp(producer->cycle_queued[0].blob, dblob, dlen));

    /* A process that attests a key nobody used this cycle is aborted. */
    JK_REQUIRE(jk_chain_setup_cycle(importer, NULL) == JK_OK);
    jk_chain_event xev = {jk_chain_endpoint_dispatch(0), xblob, xlen};
    JK_REQUIRE(jk_chain_handle_incoming_event(importer, &xev, &xtr, 1, &admitted, NULL) == JK_OK && admitted);
    JK_REQUIRE(jk_chain_run_cycle_process(importer, processed) == JK_OK);
    JK_CHECK_EQ(processed[0], UINT64_MAX);
    jk_chain_teardown(importer);

    /* Produce block 1. */
    jk_chain_block block;
    jk_diag why = {{0}};
    JK_REQUIRE(jk_chain_apply_block_produce(producer, &genesis, 1, 0, NULL, &block, &why) == JK_OK);
    JK_CHECK_EQ(block.event_count, 2);
    JK_CHECK_EQ(block.trace_count, 2); /* apply re-attested A's transfer and B's report */
    JK_CHECK_EQ(producer->pool_count, 0);
    jk_hash produced_root;
    jk_cap_hash(producer->chain, &produced_root);
    JK_CHECK_MEM(produced_root.bytes, block.header.state_root.bytes, 32);
    JK_CHECK(memcmp(produced_root.bytes, start_root.bytes, 32) != 0);

    /* Bad blocks are rejected and leave the importer's chain as it was. */
    jk_chain_block bad;
    jk_hash wrong_root = start_root;
    jk_chain_trace three[3] = {block.traces[0], block.traces[1], block.traces[1]};
    jk_chain_trace swapped[2] = {block.traces[1], block.traces[0]};
    jk_chain_trace tampered = block.traces[0];
    tampered.sig[5] ^= 1;
    jk_chain_trace tampered2[2] = {tampered, block.traces[1]};
    struct {
        const char *what;
        const jk_chain_trace *traces;
        size_t n;
        const jk_hash *root;
    } cases[] = {{"missing trace", block.traces, 1, &block.header.state_root},
                 {"extra trace", three, 3, &block.header.state_root},
                 {"reordered traces", swapped, 2, &block.header.state_root},
                 {"tampered trace", tampered2, 2, &block.header.state_root},
                 {"wrong state root", block.traces, 2, &wrong_root}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        jk_remake(&block, cases[i].traces, cases[i].n, cases[i].root, sk[2], &genesis, &bad);
        jk_err err = jk_chain_apply_block_import(importer, &bad, &genesis, 1, &why);
        if (err == JK_OK)
            jk_test_fail(__FILE__, __LINE__, "%s: imported", cases[i].what);
        JK_CHECK(jk_cap_same(importer->chain, tc.chain) || jk_cap_equal(importer->chain, tc.chain));
        jk_chain_block_free(&bad);
    }
    /* signed by another key */
    jk_remake(&block, block.traces, block.trace_count, &block.header.state_root, sk[0], &genesis, &bad);
    JK_CHECK_EQ(jk_chain_apply_block_import(importer, &bad, &genesis, 1, &why), JK_ERR_CHAIN_BLOCK_SIG);
    jk_chain_block_free(&bad);
    JK_CHECK_EQ(jk_chain_apply_block_import(importer, &block, &genesis, 2, &why), JK_ERR_CHAIN_BLOCK_INVALID);
    JK_CHECK_EQ(jk_chain_apply_block_import(importer, &block, &start_root, 1, &why), JK_ERR_CHAIN_BLOCK_INVALID);
    JK_CHECK(jk_cap_equal(importer->chain, tc.chain));

    /* The real block imports and both validators agree. */
    JK_CHECK_EQ(jk_chain_apply_block_import(importer, &block, &genesis, 1, &why), JK_OK);
    JK_CHECK(jk_cap_equal(importer->chain, producer->chain));
    uint64_t state[2] = {0, 0};
    jk_cap_data_read(jk_cap_cnode_get(jk_cap_instance_cnode(importer->chain), 40), 0, state, 16);
    JK_CHECK_EQ(state[0], 2);
    JK_CHECK_EQ(state[1], tlen + dlen);

    jk_chain_block_free(&block);
    jk_chain_kernel_free(producer);
    jk_chain_kernel_free(importer);
    jk_test_chain_free(&tc);
    jk_cap_stats after;
    jk_cap_stats_get(&after);
    JK_CHECK_EQ(after.live_objects, before.live_objects);
}

JK_TEST(test_chain_cycle_threaded_verify_equals_sequential)
{
    jk_test_chain tc;
    JK_REQUIRE(jk_test_chain_make(&tc, NULL));
    jk_hash genesis;
    const jk_chain_genesis *tg = jk_test_genesis(&tc, 1, 10000000, &genesis);
    JK_REQUIRE(tg != NULL);
    enum { N = 40 };
    static uint8_t blobs[N][64];
    jk_chain_event events[N];
    jk_chain_trace traces[N];
    const jk_chain_trace *trace_ptrs[N];
    size_t counts[N];
    for (int i = 0; i < N; i++) {
        uint8_t seed[32] = {(uint8_t)(i % 7 + 1)}, pk[32], sk[64];
        JK_REQUIRE(jk_crypto_ed25519_keypair_from_seed(seed, pk, sk) == JK_OK);
        char text[16];
        snprintf(text, sizeof text, "event %d", i);
        bool dispatch = i % 3 == 0;
        size_t len = jk_blob(blobs[i], pk, dispatch ? 'D' : 'T', text);
        events[i] = (jk_chain_event){dispatch ? jk_chain_endpoint_dispatch(0) : JK_CHAIN_ENDPOINT_TRANSACT,
                                     blobs[i], len};
        jk_chain_trace_sign(sk, &genesis, blobs[i], len, &traces[i]);
        if (i % 5 == 4)
            traces[i].sig[0] ^= 1;   /* forged: dropped */
        if (i % 11 == 10)
            events[i].endpoint = JK_CHAIN_ENDPOINT_TRANSACT; /* kind mismatch for 'D' ones */
        trace_ptrs[i] = &traces[i];
        counts[i] = 1;
    }
    jk_chain_kernel *seq, *par;
    JK_REQUIRE(jk_chain_kernel_new(tg, jk_cap_null(), &seq, NULL) == JK_OK);
    JK_REQUIRE(jk_chain_kernel_new(tg, jk_cap_null(), &par, NULL) == JK_OK);
    JK_REQUIRE(jk_chain_setup_cycle(seq, NULL) == JK_OK && jk_chain_setup_cycle(par, NULL) == JK_OK);
    bool a_seq[N], a_par[N];
    for (int i = 0; i < N; i++)
        JK_REQUIRE(jk_chain_handle_incoming_event(seq, &events[i], trace_ptrs[i], 1, &a_seq[i], NULL) == JK_OK);
    JK_REQUIRE(jk_chain_handle_incoming_events(par, events, trace_ptrs, counts, N, 4, a_par) == JK_OK);
    int admitted = 0;
    for (int i = 0; i < N; i++) {
        JK_CHECK_EQ(a_seq[i], a_par[i]);
        admitted += a_seq[i];
    }
    JK_CHECK(admitted > 10 && admitted < N); /* a real mix */
    JK_REQUIRE(seq->pool_count == par->pool_count);
    for (size_t i = 0; i < seq->pool_count; i++)
        JK_CHECK(seq->pool[i].blob_len == par->pool[i].blob_len &&
                 !memcmp(seq->pool[i].blob, par->pool[i].blob, seq->pool[i].blob_len));
    JK_REQUIRE(seq->dispatch_buffered[0] == par->dispatch_buffered[0]);
    for (size_t i = 0; i < seq->dispatch_buffered[0]; i++)
        JK_CHECK(jk_cap_equal(seq->dispatch_buffer[0][i], par->dispatch_buffer[0][i]));
    JK_CHECK(jk_chain_pool_seen_settle(seq) == JK_OK && jk_chain_pool_seen_settle(par) == JK_OK);
    JK_CHECK(jk_chain_keyset_equal(&seq->pool_seen_keys, &par->pool_seen_keys));
    JK_CHECK(jk_chain_keyset_equal(&seq->cycle_seen_keys[0], &par->cycle_seen_keys[0]));
    jk_chain_kernel_free(seq);
    jk_chain_kernel_free(par);
    jk_test_chain_free(&tc);
}

/* A chain whose apply cannot finish on some transacts (it spins out of gas,
 * or yields to an instance that is no kernel marker): the producer leaves
 * them out and produces the rest, in order; an importer handed a block with
 * one rejects it and keeps its chain. */
JK_TEST(test_chain_cycle_apply_that_cannot_finish)
{
    jk_test_chain tc;
    JK_REQUIRE(jk_test_chain_make(&tc, NULL));
    jk_hash genesis;
    const jk_chain_genesis *tg = jk_test_genesis(&tc, 1, 3000000, &genesis);
    JK_REQUIRE(tg != NULL);
    uint8_t seed_a[32] = {1}, seed_p[32] = {9}, pk_a[32], sk_a[64], pk_p[32], sk_p[64];
    JK_REQUIRE(jk_crypto_ed25519_keypair_from_seed(seed_a, pk_a, sk_a) == JK_OK);
    JK_REQUIRE(jk_crypto_ed25519_keypair_from_seed(seed_p, pk_p, sk_p) == JK_OK);
    jk_chain_kernel *producer, *importer;
    JK_REQUIRE(jk_chain_kernel_new(tg, jk_cap_null(), &producer, NULL) == JK_OK);
    JK_REQUIRE(jk_chain_kernel_new(tg, jk_cap_null(), &importer, NULL) == JK_OK);
    jk_chain_set_own_key(producer, sk_p);

    static const struct {
        char kind;
        const char *text;
    } gossip[] = {{'T', "one"}, {'G', "spin"}, {'T', "two"}, {'Y', "yield"}, {'T', "three"}, {'G', "again"}};
    enum { N = sizeof gossip / sizeof gossip[0] };
    uint8_t blobs[N][64];
    size_t lens[N];
    jk_chain_trace traces[N];
    JK_REQUIRE(jk_chain_setup_cycle(producer, NULL) == JK_OK);
    for (int i = 0; i < N; i++) {
        lens[i] = jk_blob(blobs[i], pk_a, gossip[i].kind, gossip[i].text);
        jk_chain_trace_sign(sk_a, &genesis, blobs[i], lens[i], &traces[i]);
        jk_chain_event ev = {JK_CHAIN_ENDPOINT_TRANSACT, blobs[i], lens[i]};
        bool admitted = false;
        JK_REQUIRE(jk_chain_handle_incoming_event(producer, &ev, &traces[i], 1, &admitted, NULL) == JK_OK);
        JK_CHECK(admitted); /* verify does not look at the kind: the poison reaches the pool */
    }
    JK_REQUIRE(jk_chain_run_cycle_process(producer, NULL) == JK_OK);
    jk_chain_block block;
    jk_diag why = {{0}};
    JK_REQUIRE(jk_chain_apply_block_produce(producer, &genesis, 1, 0, NULL, &block, &why) == JK_OK);
    jk_chain_teardown(producer);
    JK_CHECK_EQ(block.event_count, 3);
    JK_CHECK_EQ(block.trace_count, 3);
    static const int kept[3] = {0, 2, 4};
    for (size_t i = 0; i < block.event_count && i < 3; i++)
        JK_CHECK(block.events[i].blob_len == lens[kept[i]] &&
                 !memcmp(block.events[i].blob, blobs[kept[i]], lens[kept[i]]));
    uint64_t state[2] = {0, 0};
    jk_cap_data_read(jk_cap_cnode_get(jk_cap_instance_cnode(producer->chain), 40), 0, state, 16);
    JK_CHECK_EQ(state[0], 3);
    JK_CHECK_EQ(producer->pool_count, 0); /* the poison went with the pool */

    JK_REQUIRE(jk_chain_apply_block_import(importer, &block, &genesis, 1, &why) == JK_OK);
    JK_CHECK(jk_cap_equal(importer->chain, producer->chain));

    /* Block 2, made by hand with one poisoned transact (and its trace): invalid. */
    jk_hash parent;
    jk_chain_block_hash(&block, &parent);
    jk_cap before = jk_cap_retain(importer->chain);
    for (int p = 1; p <= 3; p += 2) {
        jk_chain_event ev = {JK_CHAIN_ENDPOINT_TRANSACT, blobs[p], lens[p]};
        jk_chain_block bad;
        memset(&bad, 0, sizeof bad);
        JK_REQUIRE(jk_chain_block_build(&parent, 2, 0, &block.header.state_root, &ev, 1, &traces[p], 1, &bad, NULL) ==
                   JK_OK);
        jk_chain_block_sign(&bad, sk_p, &genesis);
        JK_CHECK_EQ(jk_chain_apply_block_import(importer, &bad, &parent, 2, &why), JK_ERR_CHAIN_BLOCK_INVALID);
        JK_CHECK(jk_cap_same(importer->chain, before));
        jk_chain_block_free(&bad);
    }
    jk_cap_release(before);
    jk_chain_block_free(&block);
    jk_chain_kernel_free(producer);
    jk_chain_kernel_free(importer);
    jk_test_chain_free(&tc);
}
