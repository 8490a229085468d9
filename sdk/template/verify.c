/* verify.c — @NAME@'s VerifyImage: runs once per gossiped event, on a copy
 * of the chain's state. slot[0] = {0: blob, 1: AA}. It checks the blob, has
 * its signer attest it, and hands back the event instance in slot[0]:
 *   'M' message → a Transact instance (goes to the pool, then to apply)
 *   'P' ping    → a DispatchInstance (goes to dispatch 0's process)
 * Anything else faults: the event is dropped. */
#include "common.h"

static uint8_t blob[MAX_BLOB];

uint64_t verify(void)
{
    jk_move(JK_PATH2(0, 1), JK_PATH(SLOT_AA));
    jk_move(JK_PATH2(0, 0), JK_PATH(SLOT_INPUT));
    jk_drop(JK_SLOT0);
    uint64_t len = read_blob(JK_PATH(SLOT_INPUT), blob, sizeof blob), image;
    if (blob[0] == 'M') {
        REFUSE_UNLESS(message_ok(blob, len), 1, "malformed message");
        image = PIN_TRANSACT;
    } else {
        REFUSE_UNLESS(blob[0] == 'P' && len == PING_SIZE, 2, "neither a message nor a ping");
        image = PIN_DISPATCH_INSTANCE;
    }
    attest(blob + 1, blob, len);
    /* The event instance: a fresh cnode holding the blob in slot 20. */
    jk_cnode_mint(JK_PATH(SLOT_WORK), 8);
    jk_move(JK_PATH(SLOT_INPUT), JK_PATH2(SLOT_WORK, EVENT_BLOB_SLOT));
    jk_derive_spawn(JK_PATH(image), JK_PATH(SLOT_WORK), JK_SLOT0);
    jk_drop(JK_PATH(SLOT_AA));
    return 0;
}
JK_ENDPOINT(0, verify);
