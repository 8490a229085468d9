/* verify.c — the allowance chain's VerifyImage: runs once per gossiped event
 * on a copy of the chain's state; slot[0] = {0: blob, 1: AA}. It checks the
 * blob against the state, has its signer attest it and hands back the event
 * instance in slot[0]: a Transact for open, transfer, approve and spend, a
 * DispatchInstance for a drip. A grant is process's alone: refused here
 * (users cannot send one; process's emits do not pass through verify,
 * docs/chain-design.md "Emit routing"). It refuses only what can never
 * become valid — a node remembers a refusal (docs/events-format.md) — so a
 * nonce a little ahead of the account's, or a balance or allowance that a
 * block may still bring, are admitted and left to apply. */
#include "common.h"

static uint8_t blob[MAX_BLOB];

/* The signer's record, its nonce inside the window. */
static void signer_check(const uint8_t *b, uint8_t rec[RECORD_SIZE])
{
    REFUSE_UNLESS(load_account(signer_id(b), rec), WHY_NO_ACCOUNT, "no such account (signer)");
    uint64_t nonce = get_u64(b + 9), next = get_u64(rec + R_NONCE);
    REFUSE_UNLESS(nonce >= next, WHY_NONCE, "nonce already used");
    REFUSE_UNLESS(nonce - next < NONCE_WINDOW, WHY_NONCE, "nonce too far ahead");
}

uint64_t verify(void)
{
    jk_move(JK_PATH2(0, 1), JK_PATH(SLOT_AA));
    jk_move(JK_PATH2(0, 0), JK_PATH(SLOT_INPUT));
    jk_drop(JK_SLOT0);
    uint64_t len = jk_data_len(JK_PATH(SLOT_INPUT));
    REFUSE_UNLESS(len >= 1 && len <= MAX_BLOB, WHY_MALFORMED, "malformed event (size)");
    read_blob(JK_PATH(SLOT_INPUT), blob, sizeof blob);
    REFUSE_UNLESS(blob[0] != 'G', WHY_PROCESS_ONLY, "grants are made by the faucet's process only");
    REFUSE_UNLESS(blob_ok(blob, len), WHY_MALFORMED, "malformed event");
    uint8_t rec[RECORD_SIZE], other[RECORD_SIZE];
    uint64_t image = PIN_TRANSACT;
    switch (blob[0]) {
    case 'O':
        REFUSE_UNLESS(!load_account(get_u64(blob + 1), rec), WHY_ID_TAKEN, "account id taken");
        attest(blob + 9, blob, len);
        break;
    case 'T':
    case 'A':
        signer_check(blob, rec);
        REFUSE_UNLESS(load_account(get_u64(blob + 17), other), WHY_NO_ACCOUNT,
                      blob[0] == 'T' ? "no such account (to)" : "no such account (spender)");
        attest(rec + R_KEY, blob, len);
        break;
    case 'S':
        signer_check(blob, rec);
        REFUSE_UNLESS(load_account(get_u64(blob + 17), other), WHY_NO_ACCOUNT, "no such account (owner)");
        REFUSE_UNLESS(load_account(get_u64(blob + 25), other), WHY_NO_ACCOUNT, "no such account (to)");
        attest(rec + R_KEY, blob, len);
        break;
    case 'D':
        REFUSE_UNLESS(load_account(get_u64(blob + 1), rec), WHY_NO_ACCOUNT, "no such account (drip)");
        REFUSE_UNLESS(get_u64(blob + 9) >= get_u64(rec + R_NEXT_EPOCH), WHY_EPOCH,
                      "this account has had its drip for that epoch");
        REFUSE_UNLESS(load_u64(JK_PATH(SLOT_FAUCET)) >= DRIP_AMOUNT, WHY_FAUCET_EMPTY, "the faucet is empty");
        attest(rec + R_KEY, blob, len);
        image = PIN_DISPATCH_INSTANCE;
        break;
    }
    /* The event instance: a fresh cnode holding the blob in slot 20. */
    jk_cnode_mint(JK_PATH(SLOT_WORK), 8);
    jk_move(JK_PATH(SLOT_INPUT), JK_PATH2(SLOT_WORK, EVENT_BLOB_SLOT));
    jk_derive_spawn(JK_PATH(image), JK_PATH(SLOT_WORK), JK_SLOT0);
    jk_drop(JK_PATH(SLOT_AA));
    return 0;
}
JK_ENDPOINT(0, verify);
