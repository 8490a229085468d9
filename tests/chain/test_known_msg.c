/*
 * test_known_msg.c — the attest message of a pooled transact's blob is
 * hashed once (session 11): its admission's verify keeps it with the pool
 * entry (jk_chain_pooled's blob_msg), and produce and import take it instead
 * of hashing the blob again. What is kept must be exactly what it replaces,
 * and an import must still refuse a trace whose message is not its blob's.
 * Session 16: the entry keeps its blob's Data too (the body's at produce
 * and import), and a setup_cycle on the same head keeps the pool built.
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
 * exactly the event's blob); and (session 16) its blob's Data, which holds
 * exactly the blob. */
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
        uint8_t back[64];
        JK_CHECK(e->data.kind == JK_CAP_DATA && jk_cap_data_len(e->data) == e->blob_len &&
                 e->blob_len <= sizeof back && jk_cap_data_read(e->data, 0, back, e->blob_len) == JK_OK &&
                 !memcmp(back, e->blob, e->blob_len));
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

/* ---- the body's Data from admission (session 16) ----
 *
 * A pooled transact keeps the Data its admission's verify ran on
 * (jk_chain_pooled.data), and produce and import put it in the body where
 * each apply made the blob's Data again. It must be exactly the blob, and
 * the blocks and chains must be those of the Data made at apply. */

/* Forget every entry's kept Data: the apply makes them as before (an
 * entry whose blob is the Data's bytes gets a copy of its own first). */
static void km_forget_datas(jk_chain_kernel *ck)
{
    for (size_t i = 0; i < ck->pool_count; i++) {
        jk_chain_pooled *e = &ck->pool[i];
        if (e->blob == jk_cap_data_flat(e->data)) {
            uint8_t *own = malloc(e->blob_len);
            JK_REQUIRE(own);
            memcpy(own, e->blob, e->blob_len);
            e->blob = own;
        }
        jk_cap_release(ck->pool[i].data);
        ck->pool[i].data = jk_cap_null();
    }
}

/* Block 1 produced by x (*a, the caller's) and by y: whether they are the
 * same block (hash and state root). */
static bool km_produce_same(const km_fixture *f, jk_chain_kernel *x, jk_chain_kernel *y, jk_chain_block *a)
{
    jk_chain_block b;
    jk_diag why = {{0}};
    memset(a, 0, sizeof *a);
    if (jk_chain_apply_block_produce(x, &f->g, 1, 0, NULL, a, &why) != JK_OK ||
        jk_chain_apply_block_produce(y, &f->g, 1, 0, NULL, &b, &why) != JK_OK)
        return false;
    jk_hash ha, hb;
    jk_chain_block_hash(a, &ha);
    jk_chain_block_hash(&b, &hb);
    bool same = !memcmp(ha.bytes, hb.bytes, JK_HASH_SIZE) &&
                !memcmp(a->header.state_root.bytes, b.header.state_root.bytes, JK_HASH_SIZE);
    jk_chain_block_free(&b);
    return same;
}

static void km_free(km_fixture *f, jk_chain_kernel **ks, size_t n)
{
    for (size_t i = 0; i < n; i++)
        jk_chain_kernel_free(ks[i]);
    jk_test_chain_free(&f->tc);
}

/* Produce with the kept Data makes the block produce makes without them;
 * an importer that gossiped every event takes every one, one that gossiped
 * only the even ones takes those six (the others are made: the trace
 * cursor goes on past them), a cold one none; all reach the same chain. */
JK_TEST(test_chain_body_data_produce_and_import_as_made)
{
    km_fixture f;
    JK_REQUIRE(km_make(&f));
    jk_chain_kernel *k[5] = {km_kernel(&f, true), km_kernel(&f, true), km_kernel(&f, false), NULL, NULL};
    jk_chain_kernel *kept = k[0], *made = k[1], *imp = k[2];
    JK_REQUIRE(kept && made && imp);
    JK_REQUIRE(jk_chain_kernel_new(f.tg, jk_cap_null(), &k[3], NULL) == JK_OK);
    JK_REQUIRE(jk_chain_kernel_new(f.tg, jk_cap_null(), &k[4], NULL) == JK_OK);
    jk_chain_kernel *half = k[3], *cold = k[4];
    JK_REQUIRE(jk_chain_setup_cycle(half, NULL) == JK_OK);
    for (int i = 0; i < KM_EVENTS; i += 2) {
        jk_chain_event ev = {JK_CHAIN_ENDPOINT_TRANSACT, f.blobs[i], f.lens[i]};
        bool admitted = false;
        JK_REQUIRE(jk_chain_handle_incoming_event(half, &ev, &f.traces[i], 1, &admitted, NULL) == JK_OK && admitted);
    }
    km_forget_datas(made);
    jk_chain_block a;
    jk_diag why = {{0}};
    JK_CHECK(km_produce_same(&f, kept, made, &a));
    JK_CHECK_EQ(kept->stats.body_datas_kept, (uint64_t)KM_EVENTS);
    JK_CHECK_EQ(made->stats.body_datas_kept, 0u);
    JK_CHECK_EQ(a.event_count, (size_t)KM_EVENTS);
    JK_CHECK_EQ(jk_chain_apply_block_import(imp, &a, &f.g, 1, &why), JK_OK);
    JK_CHECK_EQ(jk_chain_apply_block_import(half, &a, &f.g, 1, &why), JK_OK);
    JK_CHECK_EQ(jk_chain_apply_block_import(cold, &a, &f.g, 1, &why), JK_OK);
    JK_CHECK_EQ(imp->stats.body_datas_kept, (uint64_t)KM_EVENTS);
    JK_CHECK_EQ(half->stats.body_datas_kept, (uint64_t)KM_EVENTS / 2);
    JK_CHECK_EQ(cold->stats.body_datas_kept, 0u);
    JK_CHECK(jk_cap_equal(imp->chain, kept->chain));
    JK_CHECK(jk_cap_equal(half->chain, kept->chain));
    JK_CHECK(jk_cap_equal(cold->chain, kept->chain));
    jk_chain_block_free(&a);
    km_free(&f, k, 5);
}

/* ---- a rebuild only when something changed (session 16) ----
 *
 * A setup_cycle on the chain state the pool was built on keeps the pool as
 * it is (no entry put back); what it keeps must be what the rebuild would
 * make: the same block from it as from a pool rebuilt (new limits, the same
 * values, force one), the same duplicate refused. A block moves the head:
 * the next setup_cycle rebuilds what is left. */
JK_TEST(test_chain_setup_cycle_on_the_same_head_keeps_the_pool)
{
    km_fixture f;
    JK_REQUIRE(km_make(&f));
    jk_chain_kernel *k[3] = {km_kernel(&f, true), km_kernel(&f, true), km_kernel(&f, false)};
    jk_chain_kernel *keep = k[0], *rebuilt = k[1], *imp = k[2];
    JK_REQUIRE(keep && rebuilt && imp);
    uint64_t before = keep->stats.pool_reinserted;
    JK_REQUIRE(jk_chain_setup_cycle(keep, NULL) == JK_OK);
    JK_CHECK_EQ(keep->stats.pool_reinserted, before);
    JK_CHECK_EQ(keep->pool_count, (size_t)KM_EVENTS);
    jk_chain_pool_limits limits = rebuilt->pool_limits;
    jk_chain_set_pool_limits(rebuilt, &limits);
    before = rebuilt->stats.pool_reinserted;
    JK_REQUIRE(jk_chain_setup_cycle(rebuilt, NULL) == JK_OK);
    JK_CHECK_EQ(rebuilt->stats.pool_reinserted, before + KM_EVENTS);
    /* the kept index still refuses a duplicate */
    jk_chain_event ev = {JK_CHAIN_ENDPOINT_TRANSACT, f.blobs[3], f.lens[3]};
    bool admitted = true;
    jk_diag why = {{0}};
    JK_CHECK_EQ(jk_chain_handle_incoming_event(keep, &ev, &f.traces[3], 1, &admitted, &why), JK_OK);
    JK_CHECK(!admitted);
    JK_CHECK_EQ(keep->pool_count, (size_t)KM_EVENTS);
    /* a bound of 8 events: the same 8 from the kept pool as from the rebuilt */
    jk_chain_set_produce_event_bytes(keep, 8 * (2 + f.lens[0]));
    jk_chain_set_produce_event_bytes(rebuilt, 8 * (2 + f.lens[0]));
    jk_chain_block a;
    JK_CHECK(km_produce_same(&f, keep, rebuilt, &a));
    JK_CHECK(a.event_count > 0 && a.event_count < KM_EVENTS);
    JK_CHECK_EQ(jk_chain_apply_block_import(imp, &a, &f.g, 1, &why), JK_OK);
    /* a new head: the rest is put back, once */
    size_t rest = imp->pool_count;
    JK_CHECK_EQ(rest, (size_t)KM_EVENTS - a.event_count);
    before = imp->stats.pool_reinserted;
    JK_REQUIRE(jk_chain_setup_cycle(imp, NULL) == JK_OK);
    JK_CHECK_EQ(imp->stats.pool_reinserted, before + rest);
    before = imp->stats.pool_reinserted;
    JK_REQUIRE(jk_chain_setup_cycle(imp, NULL) == JK_OK);
    JK_CHECK_EQ(imp->stats.pool_reinserted, before);
    jk_chain_block_free(&a);
    km_free(&f, k, 3);
}
