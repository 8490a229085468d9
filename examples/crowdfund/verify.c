/* verify.c — the crowdfund chain's VerifyImage: runs once per gossiped
 * event on a copy of the state as of the last block (slot 23 holds its
 * number; the event can land in that block's successor at the earliest).
 * It refuses, with a reason, only what can never become valid: a malformed
 * blob, an account genesis did not give, a spent nonce, a nonce too far
 * ahead, a pledge or a create whose deadline has passed, a claim by anyone
 * but the creator, a claim of a campaign whose deadline has passed short of
 * its goal, a refund of one that met it. The rest (a campaign not yet
 * created, a balance not yet there, a claim before the deadline) may still
 * become valid: verify admits it and apply decides. Then the account's key
 * must attest the blob, and the event becomes a Transact instance. */
#include "common.h"

static uint8_t blob[MAX_BLOB];

uint64_t verify(void)
{
    jk_move(JK_PATH2(0, 1), JK_PATH(SLOT_AA));
    jk_move(JK_PATH2(0, 0), JK_PATH(SLOT_INPUT));
    jk_drop(JK_SLOT0);
    uint64_t len = read_blob(JK_PATH(SLOT_INPUT), blob, sizeof blob);
    REFUSE_UNLESS(blob_ok(blob, len), WHY_MALFORMED, "malformed event");
    uint8_t rec[ACCOUNT_SIZE], c[CAMPAIGN_SIZE];
    REFUSE_UNLESS(load_account(get_u64(blob + 1), rec), WHY_NO_ACCOUNT, "no such account");
    uint64_t nonce = get_u64(blob + 9), have = get_u64(rec + A_NONCE);
    REFUSE_UNLESS(nonce >= have, WHY_NONCE_USED, "nonce already used");
    REFUSE_UNLESS(nonce < have + NONCE_WINDOW, WHY_NONCE_AHEAD, "nonce too far ahead");
    uint64_t last = load_u64(JK_PATH(SLOT_HEIGHT)); /* the event lands in block last + 1 or later */
    int known = load_campaign(get_u64(blob + 17), c);
    switch (blob[0]) {
    case 'C':
        REFUSE_UNLESS(get_u64(blob + 33) > last + 1, WHY_TOO_LATE, "deadline already past");
        break;
    case 'P':
        REFUSE_UNLESS(!known || get_u64(c + C_DEADLINE) > last, WHY_TOO_LATE, "campaign closed");
        break;
    case 'W':
        REFUSE_UNLESS(!known || get_u64(c + C_CREATOR) == get_u64(blob + 1), WHY_NOT_CREATOR,
                      "only the creator claims");
        REFUSE_UNLESS(!known || !get_u64(c + C_CLAIMED), WHY_GOAL, "already claimed");
        REFUSE_UNLESS(!known || get_u64(c + C_DEADLINE) > last || get_u64(c + C_RAISED) >= get_u64(c + C_GOAL),
                      WHY_GOAL, "goal missed: backers take refunds");
        break;
    case 'R':
        REFUSE_UNLESS(!known || get_u64(c + C_DEADLINE) > last || get_u64(c + C_RAISED) < get_u64(c + C_GOAL),
                      WHY_GOAL, "goal met: nothing to refund");
        break;
    }
    attest(rec + A_KEY, blob, len);
    jk_cnode_mint(JK_PATH(SLOT_WORK), 8);
    jk_move(JK_PATH(SLOT_INPUT), JK_PATH2(SLOT_WORK, EVENT_BLOB_SLOT));
    jk_derive_spawn(JK_PATH(PIN_TRANSACT), JK_PATH(SLOT_WORK), JK_SLOT0);
    jk_drop(JK_PATH(SLOT_AA));
    return 0;
}
JK_ENDPOINT(0, verify);
