/*
 * test_chain_app_events.c — the chain app's events: the gossip event codec
 * and its corpus, gossip dedup and the reasons a repeat is told, admission
 * in one cycle, prepared batches, verify runs per event, and the RPC
 * provider's state_slot and pool.
 */
#include "chain_app_fx.h"

JK_TEST(test_chain_app_event_codec_is_strict)
{
    uint8_t blob[3] = {7, 8, 9};
    jk_chain_trace t[2];
    memset(t, 0x5a, sizeof t);
    jk_chain_event ev = {0, blob, sizeof blob};
    uint8_t *b;
    size_t len;
    JK_REQUIRE(jk_node_event_encode(&ev, t, 2, &b, &len) == JK_OK);
    JK_CHECK_EQ(len, 12 + 3 + 2 * JK_CHAIN_TRACE_SIZE);
    jk_chain_event got;
    jk_chain_trace *gt;
    size_t n;
    jk_diag diag = {{0}};
    JK_REQUIRE(jk_node_event_decode(b, len, &got, &gt, &n, &diag) == JK_OK);
    JK_CHECK_EQ(n, 2);
    JK_CHECK_EQ(got.blob_len, 3);
    JK_CHECK_MEM(got.blob, blob, 3);
    free(gt);
    /* every truncation and one trailing byte are refused with a reason */
    for (size_t cut = 0; cut < len; cut++) {
        diag.msg[0] = 0;
        JK_CHECK_EQ(jk_node_event_decode(b, cut, &got, &gt, &n, &diag), JK_ERR_NODE_EVENT);
        JK_CHECK(diag.msg[0] != 0);
        JK_CHECK(gt == NULL);
    }
    uint8_t *longer = malloc(len + 1);
    memcpy(longer, b, len);
    longer[len] = 0;
    JK_CHECK_EQ(jk_node_event_decode(longer, len + 1, &got, &gt, &n, &diag), JK_ERR_NODE_EVENT);
    /* an empty blob, too many traces */
    jk_put_u32le(longer + 4, 0);
    JK_CHECK_EQ(jk_node_event_decode(longer, len, &got, &gt, &n, &diag), JK_ERR_NODE_EVENT);
    free(longer);
    jk_put_u32le(b + 8 + 3, JK_NODE_EVENT_MAX_TRACES + 1);
    JK_CHECK_EQ(jk_node_event_decode(b, len, &got, &gt, &n, &diag), JK_ERR_NODE_EVENT);
    free(b);
    JK_CHECK_EQ(jk_node_event_encode(&ev, t, JK_NODE_EVENT_MAX_TRACES + 1, &b, &len),
                JK_ERR_INVALID_ARG);
}

/* The fuzz target's corpus (tests/fuzz/corpus/node_event), replayed. */
int jk_fuzz_node_event(const uint8_t *data, size_t size);

JK_TEST(test_chain_app_fuzz_corpus_node_event)
{
    static const char *const names[] = {"two-traces", "no-trace", "truncated", "trailing"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[256];
        snprintf(path, sizeof path, "tests/fuzz/corpus/node_event/%s", names[i]);
        FILE *fp = fopen(path, "rb");
        JK_REQUIRE(fp != NULL);
        static uint8_t buf[1 << 17];
        size_t n = fread(buf, 1, sizeof buf, fp);
        fclose(fp);
        jk_fuzz_node_event(buf, n); /* aborts on a bug */
        jk_chain_event ev;
        jk_chain_trace *t;
        size_t count;
        jk_err want = i < 2 ? JK_OK : JK_ERR_NODE_EVENT;
        JK_CHECK_EQ(jk_node_event_decode(buf, n, &ev, &t, &count, NULL), want);
        free(t);
    }
}

/* One JSON-RPC request answered by a provider over app 0 (state_slot, pool)
 * without HTTP; the answer's JSON text (caller frees). */
static char *fx_rpc(fx *f, const char *body)
{
    jk_rpc_provider p = {.ctx = f->apps[0], .state_slot = jk_node_chain_app_rpc_state_slot,
                         .pool = jk_node_chain_app_rpc_pool};
    jk_rpc_parsed req;
    if (jk_rpc_parse((const uint8_t *)body, strlen(body), &req) != JK_OK)
        return NULL;
    char *out = NULL;
    size_t len = 0;
    jk_err e = jk_rpc_answer(&p, &req, &out, &len);
    jk_rpc_parsed_free(&req);
    return e == JK_OK ? out : NULL;
}

/* state_slot reads the committed chain instance's root cnode (a Data's
 * bytes, its hash, the head it was read at); pool lists the pending events. */
JK_TEST(test_chain_app_rpc_state_slot_and_pool)
{
    static fx f;
    JK_REQUIRE(fx_make(&f));
    JK_CHECK(fx_gossip(&f, 1, 8) > 0);
    jk_cons_cert c1;
    JK_REQUIRE(fx_decide(&f, 1, 0, &c1));
    size_t fresh = fx_gossip(&f, 2, 3);
    JK_REQUIRE(fresh > 0);
    JK_CHECK_EQ(jk_node_chain_app_pending_count(f.apps[0]), fresh);

    jk_cap chain;
    uint64_t height;
    jk_hash head;
    jk_node_chain_app_head(f.apps[0], &chain, &height, &head);
    JK_CHECK_EQ(height, 1);
    JK_CHECK_MEM(head.bytes, c1.value.bytes, 32);
    /* the first Data slot of the root cnode, found here independently */
    jk_cap root = jk_cap_instance_cnode(chain);
    uint32_t slot = UINT32_MAX;
    for (uint32_t i = 0; i < jk_cap_cnode_slot_count(root) && slot == UINT32_MAX; i++)
        if (jk_cap_kind_of(jk_cap_cnode_get(root, i)) == JK_CAP_DATA &&
            jk_cap_data_len(jk_cap_cnode_get(root, i)) > 0)
            slot = i;
    JK_REQUIRE(slot != UINT32_MAX);
    jk_cap data = jk_cap_cnode_get(root, slot);
    size_t dlen = (size_t)jk_cap_data_len(data);
    uint8_t *bytes = malloc(dlen);
    char *hex = malloc(2 * dlen + 1), hhex[65], bhex[65];
    JK_REQUIRE(bytes && hex);
    JK_REQUIRE(jk_cap_data_read(data, 0, bytes, dlen) == JK_OK);
    jk_rpc_hex_encode(bytes, dlen, hex);
    jk_hash dh;
    jk_cap_hash(data, &dh);
    jk_rpc_hex_encode(dh.bytes, 32, hhex);
    jk_rpc_hex_encode(head.bytes, 32, bhex);

    char body[160];
    snprintf(body, sizeof body,
             "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"state_slot\",\"params\":[[%u]]}", slot);
    char *ans = fx_rpc(&f, body);
    JK_REQUIRE(ans);
    JK_CHECK(strstr(ans, "\"kind\":\"data\"") != NULL);
    JK_CHECK(strstr(ans, hex) != NULL);
    JK_CHECK(strstr(ans, hhex) != NULL);
    JK_CHECK(strstr(ans, bhex) != NULL);
    JK_CHECK(strstr(ans, "\"height\":1") != NULL);
    free(ans);
    /* a step into a Data leads nowhere; so does a slot past the root's end */
    snprintf(body, sizeof body,
             "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"state_slot\",\"params\":[[%u,0]]}", slot);
    ans = fx_rpc(&f, body);
    JK_REQUIRE(ans);
    JK_CHECK(strstr(ans, "-32001") != NULL);
    free(ans);
    snprintf(body, sizeof body,
             "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"state_slot\",\"params\":[[%u]]}",
             jk_cap_cnode_slot_count(root));
    ans = fx_rpc(&f, body);
    JK_REQUIRE(ans);
    JK_CHECK(strstr(ans, "-32001") != NULL);
    free(ans);

    /* the pool: every pending event, the first one's blob as gossiped */
    ans = fx_rpc(&f, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"pool\",\"params\":[100]}");
    JK_REQUIRE(ans);
    char want[64];
    snprintf(want, sizeof want, "\"total\":%zu", fresh);
    JK_CHECK(strstr(ans, want) != NULL);
    size_t plen;
    const uint8_t *p0 = jk_node_chain_app_pending(f.apps[0], 0, &plen);
    JK_REQUIRE(p0 && plen > 12);
    uint32_t blen = jk_get_u32le(p0 + 4);
    char *bh = malloc(2 * (size_t)blen + 1);
    JK_REQUIRE(bh);
    jk_rpc_hex_encode(p0 + 8, blen, bh);
    JK_CHECK(strstr(ans, bh) != NULL);
    free(bh);
    free(ans);
    /* limit 1: one event back, the total still whole */
    ans = fx_rpc(&f, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"pool\",\"params\":[1]}");
    JK_REQUIRE(ans);
    JK_CHECK(strstr(ans, want) != NULL);
    const char *e1 = strstr(ans, "\"endpoint\"");
    JK_CHECK(e1 != NULL && strstr(e1 + 1, "\"endpoint\"") == NULL);
    free(ans);
    JK_CHECK(jk_node_chain_app_pending(f.apps[0], fresh, &plen) == NULL && plen == 0);
    free(bytes);
    free(hex);
    fx_free(&f);
}

/* Admission keeps one cycle open: setup_cycle verifies the whole pool again,
 * so a cycle per admitted event made n admissions cost n²/2 verifies (the
 * testnet's 256-event batches took 11 s). The cycle stays open across
 * admissions, closes when a commit moves the Kernel, and the next admission
 * opens one on the new head; every admitted event still reaches the block. */
JK_TEST(test_chain_app_admission_keeps_one_cycle)
{
    static fx f;
    JK_REQUIRE(fx_make(&f));
    JK_CHECK_EQ(fx_gossip(&f, 1, 1), 1);
    for (uint32_t i = 0; i < V; i++)
        JK_CHECK(jk_node_chain_app_validator(f.apps[i])->ck->cycle_open);
    JK_CHECK_EQ(fx_gossip(&f, 2, 16), 16);
    for (uint32_t i = 0; i < V; i++) {
        JK_CHECK(jk_node_chain_app_validator(f.apps[i])->ck->cycle_open);
        JK_CHECK_EQ(jk_node_chain_app_pending_count(f.apps[i]), 17);
    }
    jk_cons_cert c1;
    JK_REQUIRE(fx_decide(&f, 1, 0, &c1));
    jk_node_chain_app_stats st;
    for (uint32_t i = 0; i < V; i++) {
        jk_node_chain_app_stats_get(f.apps[i], &st);
        JK_CHECK_EQ(st.last_events, 17);
        JK_CHECK_EQ(jk_node_chain_app_pending_count(f.apps[i]), 0);
        JK_CHECK(!jk_node_chain_app_validator(f.apps[i])->ck->cycle_open);
    }
    JK_CHECK_EQ(fx_gossip(&f, 3, 4), 4);
    JK_CHECK(jk_node_chain_app_validator(f.apps[0])->ck->cycle_open);
    jk_cons_cert c2;
    JK_REQUIRE(fx_decide(&f, 2, 0, &c2));
    jk_node_chain_app_stats_get(f.apps[0], &st);
    JK_CHECK_EQ(st.last_events, 4);
    fx_free(&f);
}

/* The reason a repeated event is given (issue 13; the RPC submit answer
 * shows it): "already in the pool" while pooled; once its block is
 * committed, "already committed"; an event verify refused, "already
 * refused" (not "in the pool", which it never was). */
JK_TEST(test_chain_app_repeat_event_reason)
{
    static fx f;
    JK_REQUIRE(fx_make(&f));
    JK_CHECK_EQ(fx_gossip(&f, 1, 1), 1);
    uint8_t *bytes = NULL;
    size_t len = 0;
    JK_REQUIRE(fx_encode(&f, 0, &bytes, &len) == JK_OK);
    jk_node_chain_app_stats st;
    JK_CHECK(!jk_node_chain_app_add_event(f.apps[0], bytes, len));
    jk_node_chain_app_stats_get(f.apps[0], &st);
    JK_CHECK(strcmp(st.last_error, "already in the pool") == 0);
    jk_node_event_verdict v;
    JK_CHECK(!jk_node_chain_app_submit(f.apps[0], bytes, len, &v));
    JK_CHECK_EQ(v.kind, JK_NODE_VERDICT_IN_POOL);
    JK_CHECK(strcmp(v.reason, "already in the pool") == 0);
    jk_cons_cert c1;
    JK_REQUIRE(fx_decide(&f, 1, 0, &c1));
    JK_CHECK_EQ(jk_node_chain_app_pending_count(f.apps[0]), 0);
    JK_CHECK(!jk_node_chain_app_add_event(f.apps[0], bytes, len));
    jk_node_chain_app_stats_get(f.apps[0], &st);
    JK_CHECK(strncmp(st.last_error, "already committed", 17) == 0);
    JK_CHECK(!jk_node_chain_app_submit(f.apps[0], bytes, len, &v));
    JK_CHECK_EQ(v.kind, JK_NODE_VERDICT_COMMITTED);

    /* the same transfer with its blob changed: its signature fails */
    jk_chain_event bad = f.gossip.events[0];
    uint8_t blob[4096];
    JK_REQUIRE(bad.blob_len > 0 && bad.blob_len <= sizeof blob);
    memcpy(blob, bad.blob, bad.blob_len);
    blob[bad.blob_len - 1] ^= 1;
    bad.blob = blob;
    uint8_t *bb = NULL;
    size_t blen = 0;
    JK_REQUIRE(jk_node_event_encode(&bad, f.gossip.trace_ptrs[0], f.gossip.counts[0], &bb,
                                    &blen) == JK_OK);
    uint64_t refused = st.events_refused;
    JK_CHECK(!jk_node_chain_app_submit(f.apps[0], bb, blen, &v));
    jk_node_chain_app_stats_get(f.apps[0], &st);
    JK_CHECK_EQ(st.events_refused, refused + 1);
    JK_CHECK_EQ(v.kind, JK_NODE_VERDICT_REFUSED);
    char first[192];
    snprintf(first, sizeof first, "%s", v.reason);
    JK_CHECK(first[0] != 0); /* the chain layer's reason, not a stale repeat's */
    JK_CHECK(strncmp(first, "already", 7) != 0);
    JK_CHECK(!jk_node_chain_app_add_event(f.apps[0], bb, blen));
    jk_node_chain_app_stats_get(f.apps[0], &st);
    JK_CHECK(strncmp(st.last_error, "already refused", 15) == 0);
    /* the repeat carries the first refusal's reason */
    JK_CHECK(jk_node_chain_app_submit(f.apps[0], bb, blen, &v) == false);
    JK_CHECK_EQ(v.kind, JK_NODE_VERDICT_REFUSED_BEFORE);
    JK_CHECK(strstr(v.reason, first) != NULL);
    free(bb);
    free(bytes);
    fx_free(&f);
}

/* A verify refusal holds for the bytes judged, traces included: a copy of
 * a genuine transfer's blob with a junk signature, sent first, is refused
 * and so is its repeat, but the genuine event is still admitted, one by one
 * and within a prepared turn (adv7: remembered under the event's id, the
 * junk copy made the node refuse the genuine one until the next commit, so
 * anyone could censor a blob they could predict). */
JK_TEST(test_chain_app_junk_traces_do_not_censor)
{
    static fx f;
    JK_REQUIRE(fx_make(&f));
    jk_devnet_demo_block(&f.demo, &f.genesis.genesis_hash, 1, 4, &f.gossip);
    JK_REQUIRE(f.gossip.n >= 2);
    for (size_t e = 0; e < 2; e++) {
        jk_chain_trace junk[8];
        size_t n = f.gossip.counts[e];
        JK_REQUIRE(n >= 1 && n <= 8);
        memcpy(junk, f.gossip.trace_ptrs[e], n * sizeof *junk);
        junk[0].sig[0] ^= 1;
        uint8_t *good = NULL, *bad = NULL;
        size_t glen = 0, blen = 0;
        JK_REQUIRE(jk_node_event_encode(&f.gossip.events[e], f.gossip.trace_ptrs[e], n, &good, &glen) ==
                   JK_OK);
        JK_REQUIRE(jk_node_event_encode(&f.gossip.events[e], junk, n, &bad, &blen) == JK_OK);
        jk_node_event_verdict v;
        if (e == 0) {
            JK_CHECK(!jk_node_chain_app_submit(f.apps[0], bad, blen, &v));
            JK_CHECK_EQ(v.kind, JK_NODE_VERDICT_REFUSED);
            JK_CHECK(!jk_node_chain_app_submit(f.apps[0], bad, blen, &v));
            JK_CHECK_EQ(v.kind, JK_NODE_VERDICT_REFUSED_BEFORE);
            JK_CHECK(jk_node_chain_app_submit(f.apps[0], good, glen, &v));
            JK_CHECK_EQ(v.kind, JK_NODE_VERDICT_ADMITTED);
            JK_CHECK(!jk_node_chain_app_submit(f.apps[0], good, glen, &v));
            JK_CHECK_EQ(v.kind, JK_NODE_VERDICT_IN_POOL);
        } else {
            const uint8_t *batch[3] = {bad, good, bad};
            size_t lens[3] = {blen, glen, blen};
            jk_diag diag = {{0}};
            JK_REQUIRE(jk_node_chain_app_prepare(f.apps[0], batch, lens, 3, &diag) == JK_OK);
            JK_CHECK(!f.cb[0].add_event(f.apps[0], bad, blen));
            JK_CHECK(f.cb[0].add_event(f.apps[0], good, glen));
            JK_CHECK(!f.cb[0].add_event(f.apps[0], bad, blen));
            jk_node_chain_app_prepare_end(f.apps[0]);
        }
        free(good);
        free(bad);
    }
    JK_CHECK_EQ(jk_node_chain_app_pending_count(f.apps[0]), 2);
    fx_free(&f);
}

/* A loop turn's events verified together (jk_node_chain_app_prepare, on 0,
 * 2 and 4 threads) and then handed to add_event one by one answer exactly
 * as add_event alone does: the same admitted / refused sequence, the same
 * reasons, the same pool in the same order, one verify run per distinct
 * event (a repeat within the turn is verified once), and the same block. */
JK_TEST(test_chain_app_prepared_batch_same_outcome)
{
    static fx f;
    JK_REQUIRE(fx_make(&f));
    enum { MAXB = 64 };
    uint8_t *batch[MAXB];
    size_t lens[MAXB], nb = fx_batch(&f, 1, 12, batch, lens, MAXB - 3);
    JK_REQUIRE(nb >= 12);
    /* a repeat within the turn, a transfer whose signature fails, a malformed frame */
    JK_REQUIRE(fx_copy_event(batch, lens, &nb, 3, false));
    JK_REQUIRE(fx_copy_event(batch, lens, &nb, 5, true));
    batch[nb] = malloc(3);
    JK_REQUIRE(batch[nb] != NULL);
    memset(batch[nb], 0, 3);
    lens[nb] = 3;
    nb++;
    static bool answers[V][MAXB];
    static char reasons[V][MAXB][192];
    const unsigned threads[V] = {0, 2, 4, 0};
    for (uint32_t i = 0; i < V; i++) {
        jk_diag diag = {{0}};
        jk_node_chain_app_set_verify_threads(f.apps[i], threads[i]);
        if (i < 3) /* app 3 admits one by one, as before */
            JK_REQUIRE(jk_node_chain_app_prepare(f.apps[i], (const uint8_t *const *)batch, lens, nb, &diag) ==
                       JK_OK);
        for (size_t e = 0; e < nb; e++) {
            jk_node_chain_app_stats st;
            answers[i][e] = f.cb[i].add_event(f.apps[i], batch[e], lens[e]);
            jk_node_chain_app_stats_get(f.apps[i], &st);
            snprintf(reasons[i][e], sizeof reasons[i][e], "%s", answers[i][e] ? "" : st.last_error);
        }
        jk_node_chain_app_prepare_end(f.apps[i]);
    }
    jk_node_chain_app_stats s0, si;
    jk_node_chain_app_stats_get(f.apps[3], &s0);
    JK_CHECK_EQ(s0.events_admitted, nb - 3);
    JK_CHECK_EQ(s0.verify_runs, nb - 2); /* every distinct well-formed event once */
    const jk_chain_kernel *k0 = jk_node_chain_app_validator(f.apps[3])->ck;
    for (uint32_t i = 0; i < 3; i++) {
        jk_node_chain_app_stats_get(f.apps[i], &si);
        JK_CHECK_EQ(si.events_admitted, s0.events_admitted);
        JK_CHECK_EQ(si.events_refused, s0.events_refused);
        JK_CHECK_EQ(si.verify_runs, s0.verify_runs);
        for (size_t e = 0; e < nb; e++) {
            JK_CHECK_EQ(answers[i][e], answers[3][e]);
            JK_CHECK(strcmp(reasons[i][e], reasons[3][e]) == 0);
        }
        const jk_chain_kernel *ki = jk_node_chain_app_validator(f.apps[i])->ck;
        JK_CHECK_EQ(ki->pool_count, k0->pool_count);
        for (size_t j = 0; j < ki->pool_count && j < k0->pool_count; j++)
            JK_CHECK_MEM(ki->pool[j].hash.bytes, k0->pool[j].hash.bytes, 32);
    }
    JK_CHECK(!answers[3][nb - 3] && !answers[3][nb - 2] && !answers[3][nb - 1]);
    jk_cons_cert c1;
    JK_REQUIRE(fx_decide(&f, 1, 0, &c1));
    jk_node_chain_app_stats_get(f.apps[0], &s0);
    JK_CHECK_EQ(s0.last_events, nb - 3);
    for (size_t e = 0; e < nb; e++)
        free(batch[e]);
    fx_free(&f);
}

/* No recheck through the app: a validator that does not propose runs the
 * verify program once per admitted event, however many cycles the commits
 * and admissions open (before: every pooled event again at each). The
 * proposer verifies again only what waited across a commit. */
JK_TEST(test_chain_app_verify_runs_once_per_event)
{
    static fx f;
    JK_REQUIRE(fx_make(&f));
    JK_CHECK_EQ(fx_gossip(&f, 1, 16), 16);
    jk_cons_cert c;
    JK_REQUIRE(fx_decide(&f, 1, 0, &c)); /* proposer: app 1 */
    /* 4 transfers reach every app but app 2, which proposes height 2: they
     * wait across its commit at the others, and app 3, proposing height 3,
     * verifies them again on the new head (its produce), once. (A block that
     * leaves the state root as it was would not make them verify again: a
     * verify on the same root decides the same.) */
    jk_devnet_demo_block(&f.demo, &f.genesis.genesis_hash, 2, 4, &f.gossip);
    for (size_t e = 0; e < f.gossip.n; e++) {
        uint8_t *bytes;
        size_t len;
        JK_REQUIRE(fx_encode(&f, e, &bytes, &len) == JK_OK);
        for (uint32_t i = 0; i < V; i++)
            JK_CHECK_EQ(i == 2 || f.cb[i].add_event(f.apps[i], bytes, len), true);
        free(bytes);
    }
    JK_CHECK_EQ(fx_gossip(&f, 12, 2), 2); /* to all: block 2 moves the state */
    JK_REQUIRE(fx_decide(&f, 2, 0, &c));
    jk_node_chain_app_stats st;
    jk_node_chain_app_stats_get(f.apps[2], &st);
    JK_CHECK_EQ(st.last_events, 2);
    JK_CHECK_EQ(fx_gossip(&f, 3, 4), 4);
    JK_REQUIRE(fx_decide(&f, 3, 0, &c)); /* proposer: app 3 */
    jk_node_chain_app_stats_get(f.apps[3], &st);
    JK_CHECK_EQ(st.last_events, 8);
    for (uint32_t i = 0; i < V; i++) {
        uint64_t admitted = i == 2 ? 22 : 26;
        jk_node_chain_app_stats_get(f.apps[i], &st);
        JK_CHECK_EQ(st.events_admitted, admitted);
        /* once at admission; app 3's produce verified again the 4 that
         * waited across a commit, and only those */
        JK_CHECK_EQ(st.verify_runs, admitted + (i == 3 ? 4 : 0));
    }
    fx_free(&f);
}

/* A verify refusal holds for the chain state it was judged on: once the
 * head moves, the same bytes are judged afresh (outsider5: a transfer sent
 * with the next nonce a block early was refused for good on that node).
 * Here every demo account sends in block 1, so each of block 2's transfers
 * carries nonce 1: refused on the genesis state, twice (the repeat from
 * memory), admitted once block 1 is committed. */
JK_TEST(test_chain_app_refusal_judged_afresh_after_commit)
{
    static fx f;
    static jk_gossip next;
    JK_REQUIRE(fx_make(&f));
    jk_devnet_demo_block(&f.demo, &f.genesis.genesis_hash, 1, JK_DEMO_ACCOUNTS, &f.gossip);
    jk_devnet_demo_block(&f.demo, &f.genesis.genesis_hash, 2, 1, &next);
    JK_REQUIRE(next.n >= 1);
    uint8_t *early = NULL;
    size_t elen = 0;
    JK_REQUIRE(jk_node_event_encode(&next.events[0], next.trace_ptrs[0], next.counts[0], &early,
                                    &elen) == JK_OK);
    jk_node_event_verdict v;
    JK_CHECK(!jk_node_chain_app_submit(f.apps[0], early, elen, &v));
    JK_CHECK_EQ(v.kind, JK_NODE_VERDICT_REFUSED);
    JK_CHECK(!jk_node_chain_app_submit(f.apps[0], early, elen, &v));
    JK_CHECK_EQ(v.kind, JK_NODE_VERDICT_REFUSED_BEFORE);
    /* block 1: every account's nonce-0 transfer, at every app */
    for (size_t e = 0; e < f.gossip.n; e++) {
        uint8_t *b = NULL;
        size_t len = 0;
        JK_REQUIRE(fx_encode(&f, e, &b, &len) == JK_OK);
        for (uint32_t i = 0; i < V; i++)
            (void)jk_node_chain_app_add_event(f.apps[i], b, len);
        free(b);
    }
    jk_cons_cert c1;
    JK_REQUIRE(fx_decide(&f, 1, 0, &c1));
    JK_CHECK(jk_node_chain_app_submit(f.apps[0], early, elen, &v));
    JK_CHECK_EQ(v.kind, JK_NODE_VERDICT_ADMITTED);
    free(early);
    fx_free(&f);
}

/* add_event finds a prepared event by its bytes, not by where they are
 * (chain_app_batch.c keeps a decoded copy of each): bytes changed in place
 * after prepare are judged as what they are now, not as what was prepared;
 * and an event that was seen (refused) when the turn was prepared, whose
 * refusal a commit forgot before its add_event, is verified afresh. */
JK_TEST(test_chain_app_prepared_found_by_bytes)
{
    static fx f;
    JK_REQUIRE(fx_make(&f));
    enum { MAXB = 16 };
    uint8_t *batch[MAXB];
    size_t lens[MAXB], nb = fx_batch(&f, 1, 8, batch, lens, MAXB - 1);
    JK_REQUIRE(nb >= 8);
    /* a forged copy of event 0, refused by app 0 before the turn */
    size_t bad = nb;
    JK_REQUIRE(fx_copy_event(batch, lens, &nb, 0, true));
    jk_node_event_verdict v;
    JK_CHECK(!jk_node_chain_app_submit(f.apps[0], batch[bad], lens[bad], &v));
    JK_CHECK_EQ(v.kind, JK_NODE_VERDICT_REFUSED);
    char first[sizeof v.reason];
    snprintf(first, sizeof first, "%s", v.reason);
    jk_diag diag = {{0}};
    JK_REQUIRE(jk_node_chain_app_prepare(f.apps[0], (const uint8_t *const *)batch, lens, nb, &diag) == JK_OK);
    /* event 3 changed in place after prepare: a forgery now */
    batch[3][9] ^= 1;
    for (size_t e = 0; e < bad; e++) {
        bool want = e != 3;
        JK_CHECK_EQ(jk_node_chain_app_submit(f.apps[0], batch[e], lens[e], &v), want);
        JK_CHECK_EQ(f.cb[1].add_event(f.apps[1], batch[e], lens[e]), want); /* one by one */
        if (e == 3)
            JK_CHECK_EQ(v.kind, JK_NODE_VERDICT_REFUSED);
    }
    for (uint32_t i = 2; i < V; i++)
        for (size_t e = 0; e < bad; e++)
            (void)f.cb[i].add_event(f.apps[i], batch[e], lens[e]);
    jk_cons_cert c1;
    JK_REQUIRE(fx_decide(&f, 1, 0, &c1)); /* forgets app 0's refusals */
    jk_node_chain_app_stats s0, s1;
    jk_node_chain_app_stats_get(f.apps[0], &s0);
    JK_CHECK(!jk_node_chain_app_submit(f.apps[0], batch[bad], lens[bad], &v));
    JK_CHECK_EQ(v.kind, JK_NODE_VERDICT_REFUSED); /* not "refused before": judged afresh */
    JK_CHECK(strcmp(v.reason, first) == 0);
    jk_node_chain_app_stats_get(f.apps[0], &s1);
    JK_CHECK_EQ(s1.verify_runs, s0.verify_runs + 1);
    jk_node_chain_app_prepare_end(f.apps[0]);
    for (size_t e = 0; e < nb; e++)
        free(batch[e]);
    fx_free(&f);
}
