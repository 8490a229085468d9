/* verify.c — the multisig chain's VerifyImage: runs once per gossiped event,
 * on a copy of the chain's state. slot[0] = {0: blob, 1: AA}. It checks the
 * blob against the state, has every key it names attest it, and hands back
 * the event instance in slot[0]: creates and spends become Transact
 * instances, approvals DispatchInstances for dispatch endpoint 0. Executes
 * come from process only. Refusals carry a reason. */
#include "common.h"

static uint8_t blob[MAX_BLOB];

uint64_t verify(void)
{
    jk_move(JK_PATH2(0, 1), JK_PATH(SLOT_AA));
    jk_move(JK_PATH2(0, 0), JK_PATH(SLOT_INPUT));
    jk_drop(JK_SLOT0);
    uint64_t len = read_blob(JK_PATH(SLOT_INPUT), blob, sizeof blob), image = PIN_TRANSACT;
    uint8_t rec[RECORD_SIZE];
    if (blob[0] == 'C') {
        REFUSE_UNLESS(create_ok(blob, len), 1, "malformed create");
        REFUSE_UNLESS(!load_wallet(get_u64(blob + 1), rec), 2, "wallet id taken");
        for (unsigned i = 0; i < blob[10]; i++) /* every owner: count traces */
            attest(blob + CREATE_HEAD + 32 * i, blob, len);
    } else if (blob[0] == 'S') {
        REFUSE_UNLESS(spend_ok(blob, len, 'S'), 3, "malformed spend");
        REFUSE_UNLESS(load_wallet(get_u64(blob + 1), rec), 4, "no such wallet");
        REFUSE_UNLESS(spend_applies(rec, blob), 5, "stale nonce, short balance, no destination or too few signers");
        for (unsigned i = 0; i < MAX_OWNERS; i++)
            if (blob[33] >> i & 1)
                attest(rec + R_OWNERS + 32 * i, blob, len);
    } else if (blob[0] == 'A') {
        REFUSE_UNLESS(approve_ok(blob, len), 6, "malformed approve");
        REFUSE_UNLESS(load_wallet(get_u64(blob + 1), rec), 4, "no such wallet");
        REFUSE_UNLESS(blob[33] < get_u64(rec + R_COUNT) && memcmp(rec + R_OWNERS + 32 * blob[33], blob + 34, 32) == 0,
                      7, "not that owner of the wallet");
        uint8_t as_spend[SPEND_SIZE];
        memcpy(as_spend, blob, 33);
        as_spend[33] = (uint8_t)((1u << get_u64(rec + R_COUNT)) - 1); /* the threshold is process's to check */
        REFUSE_UNLESS(spend_applies(rec, as_spend), 8, "stale nonce, short balance or no destination");
        attest(blob + 34, blob, len);
        image = PIN_DISPATCH_INSTANCE;
    } else {
        REFUSE_UNLESS(0, 9, "neither a create, a spend nor an approve");
    }
    jk_cnode_mint(JK_PATH(SLOT_WORK), 8);
    jk_move(JK_PATH(SLOT_INPUT), JK_PATH2(SLOT_WORK, EVENT_BLOB_SLOT));
    jk_derive_spawn(JK_PATH(image), JK_PATH(SLOT_WORK), JK_SLOT0);
    jk_drop(JK_PATH(SLOT_AA));
    return 0;
}
JK_ENDPOINT(0, verify);
