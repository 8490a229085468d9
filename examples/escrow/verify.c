/* verify.c — the the escrow's VerifyImage: runs once per gossiped event on a
 * copy of the chain's state; slot[0] = {0: blob, 1: AA}. It checks the blob
 * against the state, has its signers attest it and hands back the event
 * instance in slot[0]: opens and settles become Transact instances, timeout
 * claims DispatchInstances for dispatch endpoint 0. Refusals carry a reason. */
#include "escrow.h"

static uint8_t blob[MAX_BLOB];

uint64_t verify(void)
{
    jk_move(JK_PATH2(0, 1), JK_PATH(SLOT_AA));
    jk_move(JK_PATH2(0, 0), JK_PATH(SLOT_INPUT));
    jk_drop(JK_SLOT0);
    uint64_t len = read_blob(JK_PATH(SLOT_INPUT), blob, sizeof blob), image = PIN_TRANSACT;
    uint8_t rec[RECORD_SIZE];
    if (blob[0] == 'O') {
        REFUSE_UNLESS(open_ok(blob, len), 1, "malformed open");
        REFUSE_UNLESS(!load_record(blob_id(blob), rec), 2, "escrow id taken");
        attest(blob + 9, blob, len); /* the payer */
    } else if (blob[0] == 'S') {
        REFUSE_UNLESS(settle_ok(blob, len), 3, "malformed settle");
        REFUSE_UNLESS(load_record(blob_id(blob), rec), 4, "no such escrow");
        REFUSE_UNLESS(settle_applies(rec, blob), 5, "escrow settled, or a signer is not a party");
        attest(blob + 10, blob, len); /* both signers: the event carries two traces */
        attest(blob + 42, blob, len);
    } else {
        REFUSE_UNLESS(timeout_ok(blob, len), 6, "neither an open, a settle nor a timeout");
        REFUSE_UNLESS(load_record(blob_id(blob), rec), 4, "no such escrow");
        REFUSE_UNLESS(get_u64(rec + R_STATUS) == OPEN, 7, "escrow settled");
        REFUSE_UNLESS(memcmp(rec + R_PAYER, blob + 9, 32) == 0, 8, "not the payer");
        /* the next block is number height + 1 */
        REFUSE_UNLESS(load_u64(JK_PATH(SLOT_HEIGHT)) + 1 >= get_u64(rec + R_DEADLINE), 9, "deadline not reached");
        attest(blob + 9, blob, len);
        image = PIN_DISPATCH_INSTANCE;
    }
    jk_cnode_mint(JK_PATH(SLOT_WORK), 8);
    jk_move(JK_PATH(SLOT_INPUT), JK_PATH2(SLOT_WORK, EVENT_BLOB_SLOT));
    jk_derive_spawn(JK_PATH(image), JK_PATH(SLOT_WORK), JK_SLOT0);
    jk_drop(JK_PATH(SLOT_AA));
    return 0;
}
JK_ENDPOINT(0, verify);
