/* process.c — the registry's Dispatch_0_Image (pinned in slot 5): claims.
 *
 * slot[0] = {0: the cycle's claim instances (admission order), 1: AA}.
 * Each free name goes to its first admitted claimant: later claims for the
 * same name this cycle lose, and so do claims for a name that is taken, or
 * whose bucket is full. Each winning claim is attested by its claimant (the
 * seen-rule: the claimant's own claim was admitted this cycle) and emitted as
 * an award transact 'A' ‖ claim. Emits (slot[0] at HALT): a CNode whose slot
 * i holds {0: target Data (u32 0 = transact), 1: the award}. Returns the
 * number of awards. */
#include "names.h"

#define MAX_CLAIMS 256

static uint8_t won[MAX_CLAIMS][NAMES_CLAIM];

uint64_t process(void)
{
    jk_move(JK_PATH2(0, 1), JK_PATH(NAMES_SLOT_AA));
    jk_move(JK_PATH2(0, 0), JK_PATH(NAMES_SLOT_INPUT));
    jk_drop(JK_SLOT0);
    uint64_t height = names_next_height(), n = 0;
    for (uint64_t i = 0; i < MAX_CLAIMS; i++) {
        if (jk_cap_kind(JK_PATH2(NAMES_SLOT_INPUT, i)) != JK_KIND_INSTANCE)
            break;
        jk_drop(JK_SLOT0);
        NAMES_REQUIRE(jk_call(JK_PATH2(NAMES_SLOT_INPUT, i), 0, jk_gas(), 0, 0, 0).outcome == JK_OUTCOME_HALT);
        uint8_t claim[NAMES_CLAIM];
        if (jk_cap_kind(JK_SLOT0) != JK_KIND_DATA || jk_data_len(JK_SLOT0) != NAMES_CLAIM)
            continue;
        jk_data_read(JK_SLOT0, 0, NAMES_CLAIM, claim);
        if (!names_claim_parse(claim, NAMES_CLAIM))
            continue;
        names_record r;
        names_get(claim + 33, &r);
        if (names_taken(&r, height) || (!r.exists && !names_room(claim + 33)))
            continue;
        int dup = 0;
        for (uint64_t k = 0; k < n && !dup; k++)
            dup = memcmp(won[k] + 33, claim + 33, NAMES_NAME) == 0;
        if (!dup)
            memcpy(won[n++], claim, NAMES_CLAIM);
    }
    jk_drop(JK_SLOT0);
    jk_cnode_mint(JK_PATH(NAMES_SLOT_OUT), 8);
    for (uint64_t k = 0; k < n; k++) {
        names_attest(won[k] + 1, won[k], NAMES_CLAIM);
        uint8_t award[NAMES_AWARD], transact[4] = {0, 0, 0, 0};
        award[0] = 'A';
        memcpy(award + 1, won[k], NAMES_CLAIM);
        jk_cnode_mint(JK_PATH2(NAMES_SLOT_OUT, k), 1);
        jk_data_mint(transact, 4, JK_PATH3(NAMES_SLOT_OUT, k, 0));
        jk_data_mint(award, NAMES_AWARD, JK_PATH3(NAMES_SLOT_OUT, k, 1));
    }
    jk_move(JK_PATH(NAMES_SLOT_OUT), JK_SLOT0);
    jk_drop(JK_PATH(NAMES_SLOT_AA));
    jk_drop(JK_PATH(NAMES_SLOT_INPUT));
    return n;
}
JK_ENDPOINT(0, process);
