/* chain.c — a minimal ChainImage for the cycle tests.
 * apply: for every event of the body (slot[0] = {0: body, 1: AA}; body slot
 * i = {0: endpoint Data, 1: blob Data}; blob = key[32] ‖ kind ‖ text), attest
 * (key, blob) again, then count it into the state Data in slot 40 (u64 count
 * ‖ u64 sum of blob lengths). The transforms set_image to the pinned Verify
 * (slot 1) and Dispatch_0 (slot 5) images.
 * Poison, for the tests of blocks apply cannot finish: an event of kind 'G'
 * spins until the gas runs out, one of kind 'Y' yields to the AA instance,
 * which is no kernel marker.
 * apply keeps the block context of slot[0][2] in slot 41; an event of kind
 * 'E' makes apply emit one transact (the event's key ‖ 'T').
 * Built with JK_TEST_SWAPPED, apply and transform_to_verify trade endpoint
 * numbers; with JK_TEST_VERIFY_SLOT 2, transform_to_verify set_images onto
 * the Transact image (the kernel must refuse both). */
#include "jark.h"

#ifndef JK_TEST_VERIFY_SLOT
#define JK_TEST_VERIFY_SLOT 1
#endif

uint64_t apply(void)
{
    uint64_t state[2] = {0, 0};
    uint8_t emit[33];
    int emits = 0;
    jk_move(JK_PATH2(0, 1), JK_PATH(30)); /* the AA */
    jk_move(JK_PATH2(0, 0), JK_PATH(31)); /* the body */
    /* the block's context (number ‖ proposer ‖ round), kept in slot 41 */
    jk_drop(JK_PATH(41));
    if (jk_cap_kind(JK_PATH2(0, 2)) == JK_KIND_DATA)
        jk_move(JK_PATH2(0, 2), JK_PATH(41));
    if (jk_cap_kind(JK_PATH(40)) == JK_KIND_DATA)
        jk_data_read(JK_PATH(40), 0, 16, state);
    for (uint64_t i = 0; i < 256; i++) {
        if (jk_cap_kind(JK_PATH3(31, i, 1)) != JK_KIND_DATA)
            break;
        uint8_t key[33];
        jk_data_read(JK_PATH3(31, i, 1), 0, 33, key);
        if (key[32] == 'G')
            for (volatile uint64_t spin = 0;; spin++)
                ;
        if (key[32] == 'Y')
            jk_yield(JK_PATH(30));
        if (key[32] == 'E') {
            emits = 1;
            for (int b = 0; b < 33; b++)
                emit[b] = key[b];
        }
        jk_drop(JK_SLOT0);
        jk_cnode_mint(JK_SLOT0, 2);
        jk_data_mint(key, 32, JK_PATH2(0, 0));
        jk_copy(JK_PATH3(31, i, 1), JK_PATH2(0, 1));
        if (jk_call(JK_PATH(30), 0, jk_gas(), 0, 0, 0).outcome != JK_OUTCOME_HALT)
            __builtin_trap();
        state[0] += 1;
        state[1] += jk_data_len(JK_PATH3(31, i, 1));
    }
    jk_drop(JK_PATH(40));
    jk_data_mint(state, 16, JK_PATH(40));
    jk_drop(JK_SLOT0);
    if (emits) { /* one outgoing emit: a transact of the event's key ‖ 'T' */
        static const uint32_t transact = 0;
        emit[32] = 'T';
        jk_cnode_mint(JK_SLOT0, 1);
        jk_cnode_mint(JK_PATH2(0, 0), 1);
        jk_data_mint(&transact, 4, JK_PATH3(0, 0, 0));
        jk_data_mint(emit, 33, JK_PATH3(0, 0, 1));
    }
    jk_drop(JK_PATH(30));
    jk_drop(JK_PATH(31));
    return state[0];
}
uint64_t transform_to_verify(void)
{
    jk_set_image(JK_PATH(JK_TEST_VERIFY_SLOT));
    return 0;
}
uint64_t transform_to_dispatch_0(void)
{
    jk_set_image(JK_PATH(5));
    return 0;
}
#ifdef JK_TEST_SWAPPED /* for the genesis refusal: apply and transform_to_verify swapped */
JK_ENDPOINT(0, transform_to_verify);
JK_ENDPOINT(1, apply);
#else
JK_ENDPOINT(0, apply);
JK_ENDPOINT(1, transform_to_verify);
#endif
JK_ENDPOINT(2, transform_to_dispatch_0);
