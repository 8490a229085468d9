/* verify.c — the exchange's VerifyImage: runs once per gossiped event, on a
 * copy of the chain's state. slot[0] = {0: blob, 1: AA}. Only orders are
 * admitted, to dispatch endpoint 0: well formed, from an account holder,
 * with the account's current nonce, funded in full, signed by the owner.
 * Settles come only from process (a settle gossiped by anyone is refused
 * here), so apply never sees one a user wrote. */
#include "common.h"

static uint8_t blob[MAX_BLOB];
static accounts acc;

uint64_t verify(void)
{
    jk_move(JK_PATH2(0, 1), JK_PATH(SLOT_AA));
    jk_move(JK_PATH2(0, 0), JK_PATH(SLOT_INPUT));
    jk_drop(JK_SLOT0);
    uint64_t len = read_blob(JK_PATH(SLOT_INPUT), blob, sizeof blob);
    order o;
    REFUSE_UNLESS(order_parse(blob, len, &o), 1, "not a well-formed order");
    accounts_load(&acc);
    int64_t i = account_find(&acc, o.owner);
    REFUSE_UNLESS(i >= 0, 2, "no such account");
    REFUSE_UNLESS(o.nonce == acc_nonce(&acc, i), 3, "stale or future nonce");
    REFUSE_UNLESS(order_funded(&acc, i, &o), 4, "not enough funds for the whole order");
    attest(o.owner, blob, len);
    jk_cnode_mint(JK_PATH(SLOT_WORK), 8);
    jk_move(JK_PATH(SLOT_INPUT), JK_PATH2(SLOT_WORK, EVENT_BLOB_SLOT));
    jk_derive_spawn(JK_PATH(PIN_DISPATCH_INSTANCE), JK_PATH(SLOT_WORK), JK_SLOT0);
    jk_drop(JK_PATH(SLOT_AA));
    return 0;
}
JK_ENDPOINT(0, verify);
