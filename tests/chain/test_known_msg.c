/*
 * test_known_msg.c — the attest message of a pooled transact's blob is
 * hashed once (session 11): its admission's verify keeps it with the pool
 * entry (jk_chain_pooled's blob_msg), and produce and import take it instead
 * of hashing the blob again. What is kept must be exactly what it replaces,
 * and an import must still refuse a trace whose message is not its blob's.
 */
#include "chain_test_util.h"
#include "../../src/chain/internal.h"

#include <stdlib.h>

#define KM_EVENTS 12

/* A one-validator test chain, a proposer kernel (own key 9) with an open
 * cycle, and KM_EVENTS transacts signed by keys 1 and 2 in turn. */
typedef struct km_fixture {
    jk_test_chain tc;
    jk_hash g;
    const jk_chain_genesis *tg;
    uint8_t pk[2][32], sk[2][64], pk9[32], sk9[64];
    uint8_t blobs[KM_EVENTS][64];
    size_t lens[KM_EVENTS];
    jk_chain_trace traces[KM_EVENTS];
} km_fixture;

static bool km_make(km_fixture *f)
{
    if (!jk_test_chain_make(&f->tc, NULL))
        return false;
    f->tg = jk_test_genesis(&f->tc, 1, 100000000, &f->g);
    jk_test_key(1, f->pk[0], f->sk[0]);
    jk_test_key(2, f->pk[1], f->sk[1]);
    jk_test_key(9, f->pk9, f->sk9);
    for (int i = 0; i < KM_EVENTS; i++) {
        char text[16];
        snprintf(text, sizeof text, "event %d", i);
        f->lens[i] = jk_blob(f->blobs[i], f->pk[i % 2], 'T', text);
        jk_chain_trace_sign(f->sk[i % 2], &f->g, f->blobs[i], f->lens[i], &f->traces[i]);
    }
    return f->tg != NULL;
}

/* A kernel on the fixture's genesis with an open cycle and every event
 * admitted (gossiped); with own, it may produce. NULL on failure. */
static jk_chain_kernel *km_kernel(const km_fixture *f, bool own)
{
    jk_chain_kernel *ck = NULL;
    if (jk_chain_kernel_new(f->tg, jk_cap_null(), &ck, NULL) != JK_OK)
        return NULL;
    if (own)
        jk_chain_set_own_key(ck, f->sk9);
    bool ok = jk_chain_setup_cycle(ck, NULL) == JK_OK;
    for (int i = 0; ok && i < KM_EVENTS; i++) {
        jk_chain_event ev = {JK_CHAIN_ENDPOINT_TRANSACT, f->blobs[i], f->lens[i]};
        bool admitted = false;
        ok = jk_chain_handle_incoming_event(ck, &ev, &f->traces[i], 1, &admitted, NULL) == JK_OK && admitted;
    }
    if (!ok) {
        jk_chain_kernel_free(ck);
        return NULL;
    }
    return ck;
}

/* Every admitted transact keeps its blob's attest message, and it is the
 * bytes jk_chain_attest_msg_hash gives (the test chain's verify attests
 * exactly the event's blob). */
JK_TEST(test_chain_known_msg_is_the_blobs_attest_message)
{
    km_fixture f;
    JK_REQUIRE(km_make(&f));
    jk_chain_kernel *ck = km_kernel(&f, false);
    JK_REQUIRE(ck);
    JK_CHECK_EQ(ck->pool_count, (size_t)KM_EVENTS);
    for (size_t i = 0; i < ck->pool_count; i++) {
        const jk_chain_pooled *e = &ck->pool[i];
        jk_hash want;
        jk_chain_attest_msg_hash(&f.g, e->blob, e->blob_len, &want);
        JK_CHECK(e->has_blob_msg);
        JK_CHECK_MEM(e->blob_msg.bytes, want.bytes, JK_HASH_SIZE);
        /* and the trace its verify used is over that message */
        JK_CHECK(e->trace_count == 1 && !memcmp(e->traces[0].msg_hash.bytes, want.bytes, JK_HASH_SIZE));
    }
    jk_chain_kernel_free(ck);
    jk_test_chain_free(&f.tc);
}

/* Produce with the kept messages makes the very block produce makes
 * hashing every blob (the same pool with blob_msg forgotten); an importer
 * that gossiped the events and a cold one (empty pool) both accept it and
 * reach the proposer's chain. */
JK_TEST(test_chain_known_msg_produce_and_import_as_hashing)
{
    km_fixture f;
    JK_REQUIRE(km_make(&f));
    jk_chain_kernel *kept = km_kernel(&f, true), *hashing = km_kernel(&f, true), *imp = km_kernel(&f, false);
    jk_chain_kernel *cold = NULL;
    JK_REQUIRE(kept && hashing && imp);
    JK_REQUIRE(jk_chain_kernel_new(f.tg, jk_cap_null(), &cold, NULL) == JK_OK);
    for (size_t i = 0; i < hashing->pool_count; i++)
        hashing->pool[i].has_blob_msg = false;
    jk_chain_block a, b;
    jk_diag why = {{0}};
    JK_REQUIRE(jk_chain_apply_block_produce(kept, &f.g, 1, 0, NULL, &a, &why) == JK_OK);
    JK_REQUIRE(jk_chain_apply_block_produce(hashing, &f.g, 1, 0, NULL, &b, &why) == JK_OK);
    JK_CHECK_EQ(a.event_count, (size_t)KM_EVENTS);
    JK_CHECK_EQ(a.trace_count, (size_t)KM_EVENTS);
    jk_hash ha, hb;
    jk_chain_block_hash(&a, &ha);
    jk_chain_block_hash(&b, &hb);
    JK_CHECK_MEM(ha.bytes, hb.bytes, JK_HASH_SIZE);
    JK_CHECK_MEM(a.header.state_root.bytes, b.header.state_root.bytes, JK_HASH_SIZE);
    JK_CHECK_EQ(jk_chain_apply_block_import(imp, &a, &f.g, 1, &why), JK_OK);
    JK_CHECK_EQ(jk_chain_apply_block_import(cold, &a, &f.g, 1, &why), JK_OK);
    JK_CHECK(jk_cap_equal(imp->chain, kept->chain));
    JK_CHECK(jk_cap_equal(cold->chain, kept->chain));
    jk_chain_block_free(&a);
    jk_chain_block_free(&b);
    jk_chain_kernel_free(kept);
    jk_chain_kernel_free(hashing);
    jk_chain_kernel_free(imp);
    jk_chain_kernel_free(cold);
    jk_test_chain_free(&f.tc);
}

/* A block whose trace for event 5 is a valid signature by event 5's key
 * over event 6's attest message: the message is not event 5's blob's, so
 * the block is invalid — also for an importer whose pool holds event 6 with
 * that very message kept (a lookup by message alone would vouch for it; the
 * entry's blob must be the attested blob). Refused as the cold importer
 * refuses it; the honest block is then accepted. */
JK_TEST(test_chain_known_msg_never_vouches_for_another_blob)
{
    km_fixture f;
    JK_REQUIRE(km_make(&f));
    jk_chain_kernel *p = km_kernel(&f, true), *imp = km_kernel(&f, false), *cold = NULL;
    JK_REQUIRE(p && imp);
    JK_REQUIRE(jk_chain_kernel_new(f.tg, jk_cap_null(), &cold, NULL) == JK_OK);
    jk_chain_block b, bad;
    jk_diag why = {{0}}, why_imp = {{0}}, why_cold = {{0}};
    JK_REQUIRE(jk_chain_apply_block_produce(p, &f.g, 1, 0, NULL, &b, &why) == JK_OK);
    JK_REQUIRE(b.trace_count == KM_EVENTS);
    jk_hash msg6;
    jk_chain_attest_msg_hash(&f.g, f.blobs[6], f.lens[6], &msg6);
    jk_chain_trace *forged = malloc(b.trace_count * sizeof *forged);
    JK_REQUIRE(forged);
    memcpy(forged, b.traces, b.trace_count * sizeof *forged);
    JK_REQUIRE(!memcmp(forged[5].key, f.pk[1], 32)); /* event 5's trace, in attest order */
    jk_chain_trace_sign_hash(f.sk[1], &msg6, &forged[5]);
    JK_REQUIRE(jk_chain_trace_check(&forged[5]) == JK_OK);
    bool held = false;
    for (size_t i = 0; i < imp->pool_count; i++)
        held |= imp->pool[i].has_blob_msg && !memcmp(imp->pool[i].blob_msg.bytes, msg6.bytes, JK_HASH_SIZE);
    JK_REQUIRE(held);
    memset(&bad, 0, sizeof bad);
    JK_REQUIRE(jk_chain_block_build(&b.header.parent, 1, 0, &b.header.state_root, b.events, b.event_count, forged,
                                    b.trace_count, &bad, NULL) == JK_OK);
    jk_chain_block_sign(&bad, f.sk9, &f.g);
    JK_CHECK_EQ(jk_chain_apply_block_import(cold, &bad, &f.g, 1, &why_cold), JK_ERR_CHAIN_BLOCK_INVALID);
    JK_CHECK_EQ(jk_chain_apply_block_import(imp, &bad, &f.g, 1, &why_imp), JK_ERR_CHAIN_BLOCK_INVALID);
    JK_CHECK(why_imp.msg[0] != 0 && strcmp(why_imp.msg, why_cold.msg) == 0);
    JK_CHECK(jk_cap_equal(imp->chain, f.tc.chain));
    JK_CHECK_EQ(jk_chain_apply_block_import(imp, &b, &f.g, 1, &why), JK_OK);
    JK_CHECK(jk_cap_equal(imp->chain, p->chain));
    free(forged);
    jk_chain_block_free(&bad);
    jk_chain_block_free(&b);
    jk_chain_kernel_free(p);
    jk_chain_kernel_free(imp);
    jk_chain_kernel_free(cold);
    jk_test_chain_free(&f.tc);
}
