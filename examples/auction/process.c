/* process.c — the auction's Dispatch_0_Image: once per cycle, over the
 * reveals admitted to dispatch endpoint 0; slot[0] = {0: CNode of the event
 * instances, in admission order, 1: AA}. It keeps per auction the highest
 * reveal of the cycle (the first admitted on a tie) and emits it as a
 * transact, attested again so that the bidder's signature travels with the
 * emit to apply: a block carries one reveal per auction, not every loser's.
 * Returns the number of emits. */
#include "auction.h"

#define MAX_REVEALS 64 /* reveals looked at per cycle; later ones wait */

static uint8_t best[MAX_REVEALS][REVEAL_SIZE];

uint64_t process(void)
{
    jk_move(JK_PATH2(0, 1), JK_PATH(SLOT_AA));
    jk_move(JK_PATH2(0, 0), JK_PATH(SLOT_INPUT));
    jk_drop(JK_SLOT0);
    uint64_t n = 0;
    for (uint64_t i = 0; i < MAX_REVEALS && jk_cap_kind(JK_PATH2(SLOT_INPUT, i)) == JK_KIND_INSTANCE; i++) {
        REQUIRE(jk_call(JK_PATH2(SLOT_INPUT, i), 0, jk_gas(), 0, 0, 0).outcome == JK_OUTCOME_HALT);
        uint8_t b[MAX_BLOB];
        uint64_t len = read_blob(JK_SLOT0, b, sizeof b), k;
        jk_drop(JK_SLOT0);
        REQUIRE(reveal_ok(b, len));
        for (k = 0; k < n && blob_id(best[k]) != blob_id(b); k++)
            ;
        if (k == n)
            memcpy(best[n++], b, REVEAL_SIZE);
        else if (get_u64(b + 41) > get_u64(best[k] + 41))
            memcpy(best[k], b, REVEAL_SIZE);
    }
    jk_cnode_mint(JK_PATH(SLOT_WORK), 6); /* the emits: 2^6 = MAX_REVEALS */
    const uint8_t transact[4] = {0, 0, 0, 0};
    for (uint64_t k = 0; k < n; k++) {
        attest(best[k] + 9, best[k], REVEAL_SIZE);
        jk_cnode_mint(JK_PATH2(SLOT_WORK, k), 1);
        jk_data_mint(transact, 4, JK_PATH3(SLOT_WORK, k, 0));
        jk_data_mint(best[k], REVEAL_SIZE, JK_PATH3(SLOT_WORK, k, 1));
    }
    jk_move(JK_PATH(SLOT_WORK), JK_SLOT0);
    jk_drop(JK_PATH(SLOT_AA));
    jk_drop(JK_PATH(SLOT_INPUT));
    return n;
}
JK_ENDPOINT(0, process);
