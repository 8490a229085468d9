/*
 * test_adv_dispatch.c — what a block's dispatch part costs every importer
 * (docs/chain-design.md, "Dispatch on a network"): the part's consumed
 * events are verified again by each importer, never gossiped to it or not.
 * The cost must be one verify run per consumed event per block — the
 * prevote's check and the commit's import of the same block must not
 * replay the part twice — and hostile parts (a consumed event twice, of an
 * endpoint the chain does not declare, endpoints out of order) are refused
 * with the importer unchanged.
 */
#include "../test.h"
#include "../progs.h"
#include "../chain/chain_test_util.h"
#include "adv_alloc.h"

#include <stdlib.h>

typedef struct adx {
    jk_test_chain tc;
    const jk_chain_genesis *g;
    jk_hash genesis;
    uint8_t pk[32], sk[64], ppk[32], psk[64];
    jk_chain_kernel *p, *importer;
} adx;

static bool adx_open(adx *f)
{
    memset(f, 0, sizeof *f);
    if (!jk_test_chain_make(&f->tc, NULL))
        return false;
    f->g = jk_test_genesis(&f->tc, 1, 10000000, &f->genesis);
    jk_test_key(1, f->pk, f->sk);
    jk_test_key(9, f->ppk, f->psk); /* the proposer's (validator 0) */
    if (!f->g || jk_chain_kernel_new(f->g, jk_cap_null(), &f->p, NULL) != JK_OK ||
        jk_chain_kernel_new(f->g, jk_cap_null(), &f->importer, NULL) != JK_OK)
        return false;
    jk_chain_set_own_key(f->p, f->psk);
    return true;
}

static void adx_close(adx *f)
{
    jk_chain_kernel_free(f->p);
    jk_chain_kernel_free(f->importer);
    jk_test_chain_free(&f->tc);
}

/* Report i (a dispatch event to endpoint 0), admitted by the proposer. */
static bool adx_report(adx *f, int i)
{
    uint8_t blob[96];
    char text[16];
    snprintf(text, sizeof text, "vote %d", i);
    size_t len = jk_blob(blob, f->pk, 'D', text);
    jk_chain_trace t;
    jk_chain_trace_sign(f->sk, &f->genesis, blob, len, &t);
    jk_chain_event ev = {jk_chain_endpoint_dispatch(0), blob, len};
    bool admitted = false;
    return jk_chain_handle_incoming_event(f->p, &ev, &t, 1, &admitted, NULL) == JK_OK && admitted;
}

/* b re-made with the part d, signed by the proposer. */
static bool adx_remake(const adx *f, const jk_chain_block *b, const jk_chain_dispatch_part *d,
                       jk_chain_block *out)
{
    memset(out, 0, sizeof *out);
    if (jk_chain_block_build(&b->header.parent, b->header.number, b->header.proposer, &b->header.state_root,
                             b->events, b->event_count, b->traces, b->trace_count, out, NULL) != JK_OK ||
        jk_chain_block_set_dispatch(out, d, NULL) != JK_OK)
        return false;
    out->header.round = b->header.round;
    out->header.last_commit = b->header.last_commit;
    jk_chain_block_sign(out, f->psk, &f->genesis);
    return true;
}

/* check and import both refuse bad with `words`; the importer as it was,
 * and at most one verify run per consumed event per call. */
static void adx_refused(adx *f, const jk_chain_block *bad, const char *words, int line)
{
    jk_cap before = jk_cap_retain(f->importer->chain);
    for (int pass = 0; pass < 2; pass++) {
        jk_diag why = {{0}};
        uint64_t runs = f->importer->stats.verify_runs;
        jk_err err = pass == 0 ? jk_chain_check_block(f->importer, bad, &f->genesis, 1, &why)
                               : jk_chain_apply_block_import(f->importer, bad, &f->genesis, 1, &why);
        if (err != JK_ERR_CHAIN_BLOCK_INVALID || !strstr(why.msg, words))
            jk_test_fail(__FILE__, line, "want invalid \"%s\", got %s \"%s\"", words, jk_strerror(err), why.msg);
        if (f->importer->stats.verify_runs - runs > bad->dispatch.consumed_count)
            jk_test_fail(__FILE__, line, "%llu verify runs for %zu consumed events",
                         (unsigned long long)(f->importer->stats.verify_runs - runs),
                         bad->dispatch.consumed_count);
    }
    if (!jk_cap_equal(f->importer->chain, before) || f->importer->queued_count != 0)
        jk_test_fail(__FILE__, line, "the importer changed");
    jk_cap_release(before);
}

#define ADX_EVENTS 64

JK_TEST(test_adv_dispatch_importer_verifies_each_consumed_event_once)
{
    static adx f;
    JK_REQUIRE(adx_open(&f));
    JK_REQUIRE(jk_chain_setup_cycle(f.p, NULL) == JK_OK);
    for (int i = 0; i < ADX_EVENTS; i++)
        JK_REQUIRE(adx_report(&f, i));
    JK_REQUIRE(jk_chain_run_cycle_process(f.p, NULL) == JK_OK);
    jk_chain_block b;
    jk_diag why = {{0}};
    JK_REQUIRE(jk_chain_apply_block_produce(f.p, &f.genesis, 1, 0, NULL, &b, &why) == JK_OK);
    JK_REQUIRE(b.dispatch.ran);
    JK_CHECK_EQ(b.dispatch.consumed_count, ADX_EVENTS);

    /* hostile parts built from the honest one */
    jk_chain_traced_event ev[ADX_EVENTS + 1];
    jk_chain_dispatch_part d = b.dispatch;
    jk_chain_block bad;
    /* the first event consumed twice */
    memcpy(ev, b.dispatch.consumed, ADX_EVENTS * sizeof ev[0]);
    ev[ADX_EVENTS] = ev[0];
    d.consumed = ev;
    d.consumed_count = ADX_EVENTS + 1;
    if (adx_remake(&f, &b, &d, &bad)) {
        adx_refused(&f, &bad, "dispatch part", __LINE__);
        jk_chain_block_free(&bad);
    } else {
        JK_CHECK(!"the duplicate part could not be built");
    }
    /* the last event to an endpoint the chain does not declare (dispatch 1
     * of a chain with one), after endpoint 0's: refused before its verify */
    memcpy(ev, b.dispatch.consumed, ADX_EVENTS * sizeof ev[0]);
    ev[ADX_EVENTS - 1].event.endpoint = jk_chain_endpoint_dispatch(1);
    d.consumed_count = ADX_EVENTS;
    if (adx_remake(&f, &b, &d, &bad)) {
        adx_refused(&f, &bad, "does not exist", __LINE__);
        jk_chain_block_free(&bad);
    }
    /* two events swapped (not the order they were consumed in): the part
     * is not canonical, so the process traces no longer match — refused */
    memcpy(ev, b.dispatch.consumed, ADX_EVENTS * sizeof ev[0]);
    jk_chain_traced_event t = ev[0];
    ev[0] = ev[1];
    ev[1] = t;
    if (adx_remake(&f, &b, &d, &bad)) {
        adx_refused(&f, &bad, "dispatch part", __LINE__);
        jk_chain_block_free(&bad);
    }

    /* the honest block: the prevote's check, then the commit's import —
     * the part is replayed once, one verify run per consumed event */
    uint64_t runs = f.importer->stats.verify_runs;
    JK_CHECK_EQ(jk_chain_check_block(f.importer, &b, &f.genesis, 1, &why), JK_OK);
    JK_CHECK_EQ(f.importer->stats.verify_runs - runs, ADX_EVENTS);
    JK_CHECK_EQ(jk_chain_apply_block_import(f.importer, &b, &f.genesis, 1, &why), JK_OK);
    JK_CHECK_EQ(f.importer->stats.verify_runs - runs, ADX_EVENTS);
    JK_CHECK(jk_cap_equal(f.importer->chain, f.p->chain));
    jk_chain_block_free(&b);
    adx_close(&f);
}
