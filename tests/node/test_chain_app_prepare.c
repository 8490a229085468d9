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
