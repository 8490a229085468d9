/*
 * test_dispatch.c — a block's dispatch part is re-derived by every importer
 * (docs/chain-design.md, "Dispatch on a network"; src/chain/dispatch.c):
 * the honest block imports and both kernels hold the same next-cycle
 * queue; a block whose part is forged — a consumed event that does not
 * verify, one process never saw, the same event twice, a queued emit
 * process did not make, a tampered process trace, the transacts process
 * made missing from the body, the queue of the cycle before not consumed —
 * is refused and leaves the importer as it was. And the bounds: a cycle's
 * consumed events stop at JK_CHAIN_CONSUMED_BYTES and at the replay verify
 * budget (the chain's block gas), and a part past that budget is refused
 * before its replay verifies the rest.
 */
#include "../test.h"
#include "../progs.h"
#include "chain_test_util.h"

typedef struct dfx {
    jk_test_chain tc;
    const jk_chain_genesis *g;
    jk_hash genesis;
    uint8_t pk[3][32], sk[3][64];
    jk_chain_kernel *p, *importer;
} dfx;

/* block_gas: the chain's apply budget, and so its replay verify budget */
static bool dfx_open_gas(dfx *f, int64_t block_gas)
{
    memset(f, 0, sizeof *f);
    if (!jk_test_chain_make(&f->tc, NULL))
        return false;
    f->g = jk_test_genesis(&f->tc, 1, block_gas, &f->genesis);
    for (int i = 0; i < 3; i++)
        jk_test_key((uint8_t)(i == 2 ? 9 : i + 1), f->pk[i], f->sk[i]);
    if (!f->g || jk_chain_kernel_new(f->g, jk_cap_null(), &f->p, NULL) != JK_OK ||
        jk_chain_kernel_new(f->g, jk_cap_null(), &f->importer, NULL) != JK_OK)
        return false;
    jk_chain_set_own_key(f->p, f->sk[2]);
    return true;
}

static bool dfx_open(dfx *f)
{
    return dfx_open_gas(f, 10000000);
}

static void dfx_close(dfx *f)
{
    jk_chain_kernel_free(f->p);
    jk_chain_kernel_free(f->importer);
    jk_test_chain_free(&f->tc);
}

/* A report by key k (a dispatch event to endpoint 0), admitted by p. */
static bool report(dfx *f, int k, const char *text)
{
    uint8_t blob[96];
    size_t len = jk_blob(blob, f->pk[k], 'D', text);
    jk_chain_trace t;
    jk_chain_trace_sign(f->sk[k], &f->genesis, blob, len, &t);
    jk_chain_event ev = {jk_chain_endpoint_dispatch(0), blob, len};
    bool admitted = false;
    return jk_chain_handle_incoming_event(f->p, &ev, &t, 1, &admitted, NULL) == JK_OK && admitted;
}

/* b re-made with the dispatch part d (and its last `drop` events left out),
 * signed by the proposer: only the part (or the body's end) differs. */
static void remake(const dfx *f, const jk_chain_block *b, const jk_chain_dispatch_part *d, size_t drop,
                   jk_chain_block *out)
{
    memset(out, 0, sizeof *out);
    jk_diag why = {{0}};
    if (jk_chain_block_build(&b->header.parent, b->header.number, b->header.proposer, &b->header.state_root,
                             b->events, b->event_count - drop, b->traces, b->trace_count, out, &why) != JK_OK ||
        jk_chain_block_set_dispatch(out, d, &why) != JK_OK)
        jk_test_fail(__FILE__, __LINE__, "remake: %s", why.msg);
    out->header.round = b->header.round;
    out->header.last_commit = b->header.last_commit;
    jk_chain_block_sign(out, f->sk[2], &f->genesis);
}

/* The forged block is refused with words in its reason; the importer is
 * unchanged. */
static void refused(dfx *f, const jk_chain_block *bad, const jk_hash *parent, uint64_t number, const char *words,
                    int line)
{
    jk_cap before = jk_cap_retain(f->importer->chain);
    size_t queued = f->importer->queued_count;
    jk_diag why = {{0}};
    jk_err err = jk_chain_check_block(f->importer, bad, parent, number, &why);
    if (err != JK_ERR_CHAIN_BLOCK_INVALID || !strstr(why.msg, words))
        jk_test_fail(__FILE__, line, "check: want invalid \"%s\", got %s \"%s\"", words, jk_strerror(err), why.msg);
    err = jk_chain_apply_block_import(f->importer, bad, parent, number, &why);
    if (err != JK_ERR_CHAIN_BLOCK_INVALID)
        jk_test_fail(__FILE__, line, "import: want invalid, got %s \"%s\"", jk_strerror(err), why.msg);
    if (!jk_cap_equal(f->importer->chain, before) || f->importer->queued_count != queued)
        jk_test_fail(__FILE__, line, "the importer changed");
    jk_cap_release(before);
}

JK_TEST(test_chain_dispatch_forged_parts_refused)
{
    static dfx f;
    JK_REQUIRE(dfx_open(&f));
    /* block 1: two reports; process attests them, emits the first as a
     * transact (the body's end) and as a dispatch (the next queue) */
    JK_REQUIRE(jk_chain_setup_cycle(f.p, NULL) == JK_OK);
    JK_REQUIRE(report(&f, 0, "price 42"));
    JK_REQUIRE(report(&f, 1, "price 43"));
    JK_REQUIRE(jk_chain_run_cycle_process(f.p, NULL) == JK_OK);
    jk_chain_block b1;
    jk_diag why = {{0}};
    JK_REQUIRE(jk_chain_apply_block_produce(f.p, &f.genesis, 1, 0, NULL, &b1, &why) == JK_OK);
    const jk_chain_dispatch_part *d = &b1.dispatch;
    JK_REQUIRE(d->ran && d->consumed_count == 2 && d->process_trace_count == 2 && d->queued_count == 1);
    JK_CHECK_EQ(b1.event_count, 1); /* the transact process made */
    JK_CHECK_EQ(f.p->queued_count, 1);

    /* a consumed event whose trace is forged (signed by another key) */
    jk_chain_traced_event ev[3] = {d->consumed[0], d->consumed[1], d->consumed[1]};
    jk_chain_trace forged;
    jk_chain_trace_sign(f.sk[1], &f.genesis, d->consumed[0].event.blob, d->consumed[0].event.blob_len, &forged);
    ev[0].traces = &forged;
    jk_chain_dispatch_part x = *d;
    x.consumed = ev;
    jk_chain_block bad;
    remake(&f, &b1, &x, 0, &bad);
    refused(&f, &bad, &f.genesis, 1, "consumed event 0 is not admissible", __LINE__);
    jk_chain_block_free(&bad);
    /* the same event consumed twice */
    ev[0] = d->consumed[0];
    x.consumed_count = 3;
    remake(&f, &b1, &x, 0, &bad);
    refused(&f, &bad, &f.genesis, 1, "already buffered", __LINE__);
    jk_chain_block_free(&bad);
    /* one consumed event left out: process derives another part */
    x.consumed = ev + 1;
    x.consumed_count = 1;
    remake(&f, &b1, &x, 0, &bad);
    refused(&f, &bad, &f.genesis, 1, "dispatch part", __LINE__);
    jk_chain_block_free(&bad);
    /* a queued emit process did not make: one more, then another blob */
    x = *d;
    jk_chain_traced_event q[2] = {d->queued[0], d->consumed[1]};
    x.queued = q;
    x.queued_count = 2;
    remake(&f, &b1, &x, 0, &bad);
    refused(&f, &bad, &f.genesis, 1, "process queued 1 emits, the block says 2", __LINE__);
    jk_chain_block_free(&bad);
    x.queued = q + 1;
    x.queued_count = 1;
    remake(&f, &b1, &x, 0, &bad);
    refused(&f, &bad, &f.genesis, 1, "queued emit 0 is not the one process made", __LINE__);
    jk_chain_block_free(&bad);
    /* a process trace tampered with */
    x = *d;
    jk_chain_trace pt[2] = {d->process_traces[0], d->process_traces[1]};
    pt[1].sig[3] ^= 1;
    x.process_traces = pt;
    remake(&f, &b1, &x, 0, &bad);
    refused(&f, &bad, &f.genesis, 1, "process used 0 of its 2 traces", __LINE__);
    jk_chain_block_free(&bad);
    /* the transact process made left out of the body */
    remake(&f, &b1, d, 1, &bad);
    refused(&f, &bad, &f.genesis, 1, "process made 1 transacts", __LINE__);
    jk_chain_block_free(&bad);

    /* the honest block imports; both hold the same queue */
    JK_REQUIRE(jk_chain_apply_block_import(f.importer, &b1, &f.genesis, 1, &why) == JK_OK);
    JK_CHECK(jk_cap_equal(f.importer->chain, f.p->chain));
    JK_REQUIRE(f.importer->queued_count == 1);
    JK_CHECK(f.importer->queued[0].blob_len == f.p->queued[0].blob_len &&
             !memcmp(f.importer->queued[0].blob, f.p->queued[0].blob, f.p->queued[0].blob_len));

    /* block 2 consumes the queue first; a block that leaves it out is refused */
    jk_hash parent;
    jk_chain_block_hash(&b1, &parent);
    JK_REQUIRE(jk_chain_setup_cycle(f.p, NULL) == JK_OK);
    JK_REQUIRE(report(&f, 1, "price 44"));
    JK_REQUIRE(jk_chain_run_cycle_process(f.p, NULL) == JK_OK);
    jk_chain_block b2;
    JK_REQUIRE(jk_chain_apply_block_produce(f.p, &parent, 2, 0, NULL, &b2, &why) == JK_OK);
    JK_REQUIRE(b2.dispatch.consumed_count == 2);
    x = b2.dispatch;
    x.consumed = b2.dispatch.consumed + 1;
    x.consumed_count = 1;
    remake(&f, &b2, &x, 0, &bad);
    refused(&f, &bad, &parent, 2, "dispatch part", __LINE__);
    jk_chain_block_free(&bad);
    JK_CHECK_EQ(jk_chain_apply_block_import(f.importer, &b2, &parent, 2, &why), JK_OK);
    JK_CHECK(jk_cap_equal(f.importer->chain, f.p->chain));
    jk_chain_block_free(&b1);
    jk_chain_block_free(&b2);
    dfx_close(&f);
}

/* A cycle's consumed events fit one block: past JK_CHAIN_CONSUMED_BYTES a
 * dispatch event is refused before its verify; the produced block's part is
 * within its bound and imports. */
JK_TEST(test_chain_dispatch_consumed_bytes_bound)
{
    static dfx f;
    JK_REQUIRE(dfx_open(&f));
    JK_REQUIRE(jk_chain_setup_cycle(f.p, NULL) == JK_OK);
    size_t big = JK_CHAIN_MAX_BLOB;
    uint8_t *blob = calloc(1, big);
    JK_REQUIRE(blob);
    for (int i = 0; i < 3; i++) {
        size_t len = i == 0 ? big : i == 1 ? (256u << 10) : 64;
        memcpy(blob, f.pk[0], 32);
        blob[32] = 'D';
        blob[33] = (uint8_t)('a' + i);
        jk_chain_trace t;
        jk_chain_trace_sign(f.sk[0], &f.genesis, blob, len, &t);
        jk_chain_event ev = {jk_chain_endpoint_dispatch(0), blob, len};
        bool admitted = false;
        jk_diag why = {{0}};
        uint64_t runs = f.p->stats.verify_runs;
        JK_REQUIRE(jk_chain_handle_incoming_event(f.p, &ev, &t, 1, &admitted, &why) == JK_OK);
        if (i == 1) {
            JK_CHECK(!admitted);
            JK_CHECK(strstr(why.msg, "full this cycle (bytes)") != NULL);
            JK_CHECK_EQ(f.p->stats.verify_runs, runs); /* before any verify */
        } else {
            JK_CHECK(admitted);
        }
    }
    JK_CHECK(f.p->dispatch_bytes <= JK_CHAIN_CONSUMED_BYTES);
    JK_REQUIRE(jk_chain_run_cycle_process(f.p, NULL) == JK_OK);
    jk_chain_block b;
    jk_diag why = {{0}};
    JK_REQUIRE(jk_chain_apply_block_produce(f.p, &f.genesis, 1, 0, NULL, &b, &why) == JK_OK);
    JK_CHECK_EQ(b.dispatch.consumed_count, 2);
    JK_CHECK(jk_chain_block_encoded_size(&b) > 0);
    JK_CHECK_EQ(jk_chain_apply_block_import(f.importer, &b, &f.genesis, 1, &why), JK_OK);
    JK_CHECK(jk_cap_equal(f.importer->chain, f.p->chain));
    jk_chain_block_free(&b);
    free(blob);
    dfx_close(&f);
}

/* An event admitted after process ran is not in the block's consumed list
 * (process never saw it; it waits for another cycle): the block imports.
 * Before, the list was the buffers at produce, and every importer refused
 * the proposer's block. */
JK_TEST(test_chain_dispatch_admitted_after_process)
{
    static dfx f;
    JK_REQUIRE(dfx_open(&f));
    JK_REQUIRE(jk_chain_setup_cycle(f.p, NULL) == JK_OK);
    JK_REQUIRE(report(&f, 0, "price 42"));
    JK_REQUIRE(jk_chain_run_cycle_process(f.p, NULL) == JK_OK);
    JK_REQUIRE(report(&f, 1, "price 43"));
    jk_chain_block b;
    jk_diag why = {{0}};
    JK_REQUIRE(jk_chain_apply_block_produce(f.p, &f.genesis, 1, 0, NULL, &b, &why) == JK_OK);
    JK_CHECK_EQ(b.dispatch.consumed_count, 1);
    JK_CHECK_EQ(jk_chain_apply_block_import(f.importer, &b, &f.genesis, 1, &why), JK_OK);
    JK_CHECK(jk_cap_equal(f.importer->chain, f.p->chain));
    jk_chain_block_free(&b);
    dfx_close(&f);
}

/* A report by key k as a block's dispatch part carries it (blob and the
 * one trace its verify uses), into the caller's buffers. */
static jk_chain_traced_event carried(dfx *f, int k, const char *text, uint8_t blob[96], jk_chain_trace *t)
{
    size_t len = jk_blob(blob, f->pk[k], 'D', text);
    jk_chain_trace_sign(f->sk[k], &f->genesis, blob, len, t);
    return (jk_chain_traced_event){{jk_chain_endpoint_dispatch(0), blob, len}, t, 1};
}

/* The replay verify budget (docs/chain-design.md, "Dispatch on a network"):
 * the verify gas of a block's consumed events is at most the chain's block
 * budget. The proposer stops admitting gossiped dispatch events at it (the
 * last one that fits is admitted, the next refused — before its verify once
 * the budget is spent); a block at the budget imports; a part consuming past
 * it is refused at the event that crosses it, before the verifies of the
 * events after it and before process runs. */
JK_TEST(test_chain_dispatch_replay_verify_budget)
{
    static dfx f;
    /* what one report's verify costs (every report here is the same size) */
    JK_REQUIRE(dfx_open(&f));
    JK_REQUIRE(jk_chain_setup_cycle(f.p, NULL) == JK_OK);
    JK_REQUIRE(report(&f, 0, "price 40"));
    int64_t g = f.p->dispatch_gas;
    JK_REQUIRE(g > 0);
    dfx_close(&f);

    /* a budget of 3 reports less one gas: the third runs its verify and is
     * refused at admission (it would cross the budget) */
    JK_REQUIRE(dfx_open_gas(&f, 3 * g - 1));
    JK_REQUIRE(jk_chain_setup_cycle(f.p, NULL) == JK_OK);
    JK_REQUIRE(report(&f, 0, "price 40"));
    JK_REQUIRE(report(&f, 1, "price 41"));
    uint64_t runs = f.p->stats.verify_runs;
    JK_CHECK(!report(&f, 0, "price 42"));
    JK_CHECK_EQ(f.p->stats.verify_runs, runs + 1);
    JK_CHECK_EQ(f.p->dispatch_gas, 2 * g);
    dfx_close(&f);

    /* a budget of exactly 3 reports */
    JK_REQUIRE(dfx_open_gas(&f, 3 * g));
    JK_REQUIRE(jk_chain_setup_cycle(f.p, NULL) == JK_OK);
    JK_REQUIRE(report(&f, 0, "price 40"));
    JK_REQUIRE(report(&f, 1, "price 41"));
    /* the third arrives with a trace its verify does not use (another key's
     * first): the block carries only the used one, and its verify costs the
     * importer what it cost the proposer */
    uint8_t blob[96];
    jk_chain_trace two[2];
    jk_chain_traced_event e = carried(&f, 0, "price 42", blob, &two[1]);
    jk_chain_trace_sign(f.sk[1], &f.genesis, blob, e.event.blob_len, &two[0]);
    bool admitted = false;
    jk_diag why = {{0}};
    JK_REQUIRE(jk_chain_handle_incoming_event(f.p, &e.event, two, 2, &admitted, &why) == JK_OK && admitted);
    JK_CHECK_EQ(f.p->dispatch_gas, 3 * g);
    /* spent: the next is refused before its verify runs */
    runs = f.p->stats.verify_runs;
    jk_chain_trace t;
    e = carried(&f, 1, "price 43", blob, &t);
    admitted = true;
    JK_REQUIRE(jk_chain_handle_incoming_event(f.p, &e.event, &t, 1, &admitted, &why) == JK_OK);
    JK_CHECK(!admitted);
    JK_CHECK(strstr(why.msg, "full this cycle (replay verify gas)") != NULL);
    JK_CHECK_EQ(f.p->stats.verify_runs, runs);
    JK_REQUIRE(jk_chain_run_cycle_process(f.p, NULL) == JK_OK);
    jk_chain_block b;
    JK_REQUIRE(jk_chain_apply_block_produce(f.p, &f.genesis, 1, 0, NULL, &b, &why) == JK_OK);
    JK_CHECK_EQ(b.dispatch.consumed_count, 3);

    /* the same block consuming two more reports: refused at the fourth,
     * whose verify never runs, nor the fifth's, nor process */
    jk_chain_traced_event ev[5] = {b.dispatch.consumed[0], b.dispatch.consumed[1], b.dispatch.consumed[2]};
    uint8_t blobs[2][96];
    jk_chain_trace ts[2];
    ev[3] = carried(&f, 1, "price 43", blobs[0], &ts[0]);
    ev[4] = carried(&f, 1, "price 44", blobs[1], &ts[1]);
    jk_chain_dispatch_part x = b.dispatch;
    x.consumed = ev;
    x.consumed_count = 5;
    jk_chain_block over;
    remake(&f, &b, &x, 0, &over);
    runs = f.importer->stats.verify_runs;
    refused(&f, &over, &f.genesis, 1, "consumed event 3 is not admissible: the dispatch buffer is full this cycle "
            "(replay verify gas)", __LINE__);
    /* check and import: 3 verifies each (the consumed events within the
     * budget), none of the two past it */
    JK_CHECK_EQ(f.importer->stats.verify_runs, runs + 2 * 3);

    /* the block at the budget imports, and the kernels agree */
    runs = f.importer->stats.verify_runs;
    JK_CHECK_EQ(jk_chain_apply_block_import(f.importer, &b, &f.genesis, 1, &why), JK_OK);
    JK_CHECK_EQ(f.importer->stats.verify_runs, runs + 3);
    JK_CHECK(jk_cap_equal(f.importer->chain, f.p->chain));
    jk_chain_block_free(&over);
    jk_chain_block_free(&b);
    dfx_close(&f);
}
