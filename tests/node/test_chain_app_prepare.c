/*
 * test_chain_app_prepare.c — the loop turn's prepare (src/node/
 * chain_app_batch.c) computes the events' ids four at a time (session 11,
 * jk_prep_ids): each must be the chain's own id of the event
 * (jk_chain_event_hash), whatever the endpoint's encoded width, the blob's
 * length (across the one-block bound) and the event's place in its group
 * of four.
 */
#include "chain_app_fx.h"

#include "../../src/node/chain_app_internal.h"
#include "../adversary/adv_alloc.h"

#define PREP_N 203 /* not a multiple of four: the last lanes go alone */

JK_TEST(test_chain_app_prepare_ids_are_the_chains)
{
    fx f;
    JK_REQUIRE(fx_make(&f));
    static const uint32_t dispatch[] = {0, 1, 127, 128, 255};
    uint8_t *enc[PREP_N];
    size_t lens[PREP_N];
    jk_chain_event evs[PREP_N];
    uint8_t blobs[PREP_N][200];
    for (size_t i = 0; i < PREP_N; i++) {
        /* blob lengths 1..200 (the bound is 128 bytes less the endpoint's
         * 1..2), every fifth a transact, the others dispatch endpoints */
        size_t len = 1 + (i * 37) % 200;
        for (size_t b = 0; b < len; b++)
            blobs[i][b] = (uint8_t)(i * 131 + b * 7);
        evs[i] = (jk_chain_event){i % 5 == 0 ? JK_CHAIN_ENDPOINT_TRANSACT
                                             : jk_chain_endpoint_dispatch(dispatch[i % 5]),
                                  blobs[i], len};
        JK_REQUIRE(jk_node_event_encode(&evs[i], NULL, 0, &enc[i], &lens[i]) == JK_OK);
    }
    jk_diag diag = {{0}};
    JK_REQUIRE(jk_node_chain_app_prepare(f.apps[0], (const uint8_t *const *)enc, lens, PREP_N, &diag) ==
               JK_OK);
    jk_node_chain_app *a = f.apps[0];
    JK_REQUIRE(a->nprep_evs == PREP_N);
    size_t wrong = 0, short_ones = 0;
    for (size_t i = 0; i < PREP_N; i++) {
        jk_hash want;
        jk_chain_event_hash(&evs[i], &want);
        wrong += memcmp(want.bytes, a->prep_evs[i].id.bytes, JK_HASH_SIZE) != 0;
        short_ones += evs[i].blob_len <= 126;
    }
    JK_CHECK_EQ(wrong, 0);
    JK_CHECK(short_ones > 100 && short_ones < PREP_N); /* both ways taken */
    jk_node_chain_app_prepare_end(a);
    for (size_t i = 0; i < PREP_N; i++)
        free(enc[i]);
    fx_free(&f);
}

/* A prepared turn's echoes (events seen before: the same event relayed by
 * another peer) cost no allocation (session 13): their bytes go into the
 * turn's shared buffer, kept from turn to turn, their traces are not
 * decoded, and prepare's work arrays are kept too. Before, each echo got a
 * copy of its bytes and its decoded traces, freed at the turn's end. The
 * echoes are still answered "already in the pool", from their ids. */
JK_TEST(test_chain_app_prepared_echoes_allocate_nothing)
{
    static fx f;
    JK_REQUIRE(fx_make(&f));
    enum { MAXB = 16 };
    uint8_t *batch[MAXB];
    size_t lens[MAXB], nb = fx_batch(&f, 1, 12, batch, lens, MAXB), all = 0;
    for (size_t e = 0; e < nb; e++)
        all += lens[e];
    JK_REQUIRE(nb >= 8);
    jk_node_chain_app *a = f.apps[0];
    uint64_t during = 0;
    for (int turn = 0; turn < 3; turn++) { /* new, then echoes twice */
        jk_diag diag = {{0}};
        uint64_t before = adv_allocated();
        JK_REQUIRE(jk_node_chain_app_prepare(a, (const uint8_t *const *)batch, lens, nb, &diag) == JK_OK);
        for (size_t e = 0; e < nb; e++) {
            jk_node_event_verdict v;
            JK_CHECK_EQ(jk_node_chain_app_submit(a, batch[e], lens[e], &v), turn == 0);
            JK_CHECK_EQ(v.kind, turn == 0 ? JK_NODE_VERDICT_ADMITTED : JK_NODE_VERDICT_IN_POOL);
            if (turn > 0)
                JK_CHECK(strcmp(v.reason, "already in the pool") == 0);
        }
        during = adv_allocated() - before;
        jk_node_chain_app_prepare_end(a);
    }
    /* (the first echo turn made the shared buffer: the second reuses it) */
    JK_CHECK(during < all);
    JK_CHECK_EQ(during, 0);
    JK_CHECK_EQ(jk_node_chain_app_pending_count(a), nb);
    for (size_t e = 0; e < nb; e++)
        free(batch[e]);
    fx_free(&f);
}

/* The fixed verdict reasons are copied, not formatted (session 13): the
 * copy truncates and terminates as snprintf(out, cap, "%s", text) does. */
JK_TEST(test_chain_app_text_copy_is_snprintf)
{
    static const char *texts[] = {"", "a", "already in the pool", "0123456789"};
    for (size_t t = 0; t < sizeof texts / sizeof *texts; t++)
        for (size_t cap = 1; cap <= 12; cap++) {
            char got[16], want[16];
            memset(got, 'x', sizeof got);
            memset(want, 'x', sizeof want);
            jk_node_app_text_copy(got, cap, texts[t]);
            snprintf(want, cap, "%s", texts[t]);
            JK_CHECK_MEM(got, want, sizeof got);
        }
}

/* Repeats within one prepared turn (the same event from several peers) are
 * verified once, for their first arrival, however many and however
 * interleaved (session 13: found by a table placed by the seen set's keyed
 * hash, where a sort of the turn's ids found them before): 8 events, each
 * arriving 5 times, all 40 in one turn. */
JK_TEST(test_chain_app_prepared_repeats_verified_once)
{
    static fx f;
    JK_REQUIRE(fx_make(&f));
    jk_devnet_demo_block(&f.demo, &f.genesis.genesis_hash, 1, 8, &f.gossip);
    JK_REQUIRE(f.gossip.n >= 8);
    enum { E = 8, COPIES = 5 };
    uint8_t *enc[E];
    size_t elen[E];
    for (size_t e = 0; e < E; e++)
        JK_REQUIRE(fx_encode(&f, e, &enc[e], &elen[e]) == JK_OK);
    const uint8_t *batch[E * COPIES];
    size_t lens[E * COPIES];
    for (size_t i = 0; i < E * COPIES; i++) { /* 0 3 6 1 4 7 2 5, then again */
        size_t e = (i * 3) % E;
        batch[i] = enc[e];
        lens[i] = elen[e];
    }
    jk_node_chain_app *a = f.apps[0];
    jk_node_chain_app_stats before, after;
    jk_node_chain_app_stats_get(a, &before);
    jk_diag diag = {{0}};
    JK_REQUIRE(jk_node_chain_app_prepare(a, batch, lens, E * COPIES, &diag) == JK_OK);
    jk_node_chain_app_stats_get(a, &after);
    JK_CHECK_EQ(after.verify_runs - before.verify_runs, E);
    size_t admitted = 0;
    for (size_t i = 0; i < E * COPIES; i++) {
        jk_node_event_verdict v;
        bool ok = jk_node_chain_app_submit(a, batch[i], lens[i], &v);
        JK_CHECK_EQ(ok, i < E); /* the first arrival of each */
        admitted += ok;
    }
    jk_node_chain_app_prepare_end(a);
    jk_node_chain_app_stats_get(a, &after);
    JK_CHECK_EQ(admitted, E);
    JK_CHECK_EQ(after.verify_runs - before.verify_runs, E);
    JK_CHECK_EQ(jk_node_chain_app_pending_count(a), E);
    for (size_t e = 0; e < E; e++)
        free(enc[e]);
    fx_free(&f);
}

/* Session 16: a prepared event's traces are read where its copy holds them
 * (jk_node_event_traces_at), not decoded into an allocation of their own:
 * each points into the event's own bytes, just past the blob and the trace
 * count, and reads as jk_chain_trace_decode's decoding of those bytes; the
 * events are then admitted through them as before. */
JK_TEST(test_chain_app_prepared_traces_are_read_in_place)
{
    static fx f;
    JK_REQUIRE(fx_make(&f));
    enum { MAXB = 12 };
    uint8_t *batch[MAXB];
    size_t lens[MAXB], nb = fx_batch(&f, 1, 10, batch, lens, MAXB);
    JK_REQUIRE(nb >= 8);
    jk_node_chain_app *a = f.apps[0];
    JK_REQUIRE(jk_node_chain_app_prepare(a, (const uint8_t *const *)batch, lens, nb, NULL) == JK_OK);
    JK_REQUIRE(a->nprep_evs == nb);
    for (size_t e = 0; e < nb; e++) {
        const jk_app_prep_ev *pe = &a->prep_evs[e];
        JK_REQUIRE(pe->count >= 1 && !pe->shared);
        const uint8_t *at = pe->ev.blob + pe->ev.blob_len + 4;
        JK_CHECK(pe->ev.blob == pe->bytes + 8);
        JK_CHECK((const uint8_t *)pe->traces == at);
        for (size_t t = 0; t < pe->count; t++) {
            jk_chain_trace want;
            jk_chain_trace_decode(at + t * JK_CHAIN_TRACE_SIZE, &want);
            JK_CHECK_MEM(&pe->traces[t], &want, sizeof want);
        }
    }
    for (size_t e = 0; e < nb; e++) {
        jk_node_event_verdict v;
        JK_CHECK(jk_node_chain_app_submit(a, batch[e], lens[e], &v));
        JK_CHECK_EQ(v.kind, JK_NODE_VERDICT_ADMITTED);
    }
    jk_node_chain_app_prepare_end(a);
    JK_CHECK_EQ(jk_node_chain_app_pending_count(a), nb);
    for (size_t e = 0; e < nb; e++)
        free(batch[e]);
    fx_free(&f);
}
