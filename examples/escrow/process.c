/* process.c — the the escrow's Dispatch_0_Image: once per cycle, over the
 * timeout claims admitted to dispatch endpoint 0; slot[0] = {0: CNode of the
 * event instances, in admission order, 1: AA}. Each the escrow's claim is emitted
 * once as a transact (the claim blob itself), attested again so that the
 * payer's signature travels with the emit to apply. Returns the emits. */
#include "escrow.h"

static uint8_t claims[MAX_CLAIMS][TIMEOUT_SIZE];

uint64_t process(void)
{
    jk_move(JK_PATH2(0, 1), JK_PATH(SLOT_AA));
    jk_move(JK_PATH2(0, 0), JK_PATH(SLOT_INPUT));
    jk_drop(JK_SLOT0);
    uint64_t n = 0;
    for (uint64_t i = 0; n < MAX_CLAIMS && jk_cap_kind(JK_PATH2(SLOT_INPUT, i)) == JK_KIND_INSTANCE; i++) {
        /* the instance's endpoint 0 hands its blob back in slot[0] */
        REQUIRE(jk_call(JK_PATH2(SLOT_INPUT, i), 0, jk_gas(), 0, 0, 0).outcome == JK_OUTCOME_HALT);
        uint8_t b[MAX_BLOB];
        uint64_t len = read_blob(JK_SLOT0, b, sizeof b);
        jk_drop(JK_SLOT0);
        REQUIRE(timeout_ok(b, len));
        int dup = 0;
        for (uint64_t k = 0; k < n; k++)
            dup |= memcmp(claims[k], b, TIMEOUT_SIZE) == 0;
        if (!dup)
            memcpy(claims[n++], b, TIMEOUT_SIZE);
    }
    jk_cnode_mint(JK_PATH(SLOT_WORK), 6); /* the emits: 2^6 = MAX_CLAIMS */
    const uint8_t transact[4] = {0, 0, 0, 0};
    for (uint64_t k = 0; k < n; k++) {
        attest(claims[k] + 9, claims[k], TIMEOUT_SIZE);
        jk_cnode_mint(JK_PATH2(SLOT_WORK, k), 1);
        jk_data_mint(transact, 4, JK_PATH3(SLOT_WORK, k, 0));
        jk_data_mint(claims[k], TIMEOUT_SIZE, JK_PATH3(SLOT_WORK, k, 1));
    }
    jk_move(JK_PATH(SLOT_WORK), JK_SLOT0);
    jk_drop(JK_PATH(SLOT_AA));
    jk_drop(JK_PATH(SLOT_INPUT));
    return n;
}
JK_ENDPOINT(0, process);
