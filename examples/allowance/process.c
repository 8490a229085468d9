/* process.c — the allowance chain's faucet (Dispatch_0_Image): once per
 * cycle, over the drips admitted to dispatch endpoint 0; slot[0] = {0: CNode
 * of the event instances, in admission order, 1: AA}. The first drip of
 * each account, for the first MAX_GRANTS accounts, goes into one grant
 * transact; every one is attested again — by the seen-rule that succeeds
 * only for keys whose drip was admitted in this very cycle — so the drips'
 * signatures travel with the grant and apply can attest them once more.
 * Drips past MAX_GRANTS are consumed without effect (send again). Returns
 * the number of drips granted. */
#include "common.h"

static uint8_t grant[GRANT_HEAD + 16 * MAX_GRANTS];

uint64_t process(void)
{
    jk_move(JK_PATH2(0, 1), JK_PATH(SLOT_AA));
    jk_move(JK_PATH2(0, 0), JK_PATH(SLOT_INPUT));
    jk_drop(JK_SLOT0);
    unsigned n = 0;
    grant[0] = 'G';
    for (uint64_t i = 0; n < MAX_GRANTS && jk_cap_kind(JK_PATH2(SLOT_INPUT, i)) == JK_KIND_INSTANCE; i++) {
        /* the instance's endpoint 0 hands its blob back in slot[0] */
        REQUIRE(jk_call(JK_PATH2(SLOT_INPUT, i), 0, jk_gas(), 0, 0, 0).outcome == JK_OUTCOME_HALT);
        uint8_t d[MAX_BLOB], rec[RECORD_SIZE];
        uint64_t len = read_blob(JK_SLOT0, d, sizeof d);
        jk_drop(JK_SLOT0);
        REQUIRE(len == DRIP_SIZE && blob_ok(d, len) && d[0] == 'D');
        unsigned k = 0;
        while (k < n && memcmp(grant + GRANT_HEAD + 16 * k, d + 1, 8) != 0)
            k++;
        if (k < n)
            continue; /* this account's first drip of the cycle is in already */
        REQUIRE(load_account(get_u64(d + 1), rec));
        attest(rec + R_KEY, d, DRIP_SIZE);
        memcpy(grant + GRANT_HEAD + 16 * n, d + 1, 16);
        n++;
    }
    jk_cnode_mint(JK_SLOT0, 0); /* the emits: one slot, left empty when nothing is granted */
    if (n) {
        static const uint8_t transact[4] = {0, 0, 0, 0};
        grant[1] = (uint8_t)n;
        jk_cnode_mint(JK_PATH2(0, 0), 1);
        jk_data_mint(transact, 4, JK_PATH3(0, 0, 0));
        jk_data_mint(grant, GRANT_HEAD + 16u * n, JK_PATH3(0, 0, 1));
    }
    jk_drop(JK_PATH(SLOT_AA));
    jk_drop(JK_PATH(SLOT_INPUT));
    return n;
}
JK_ENDPOINT(0, process);
