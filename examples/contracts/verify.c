/* verify.c — the contracts chain's VerifyImage: runs once per gossiped event
 * on a copy of the chain's state. slot[0] = {0: blob, 1: AA}. It refuses,
 * with a reason, what apply would not apply (a malformed event, a stale
 * nonce or one too far ahead, a governance op by another key, a call with more gas than the
 * signer's credit), has the signer attest the blob, and hands back a
 * Transact instance holding it. This chain has no dispatch events: its
 * Dispatch_k images are its contract library (contracts.h). */
#include "contracts.h"

static uint8_t blob[MAX_BLOB];

uint64_t verify(void)
{
    jk_move(JK_PATH2(0, 1), JK_PATH(SLOT_AA));
    jk_move(JK_PATH2(0, 0), JK_PATH(SLOT_INPUT));
    jk_drop(JK_SLOT0);
    uint64_t len = jk_data_len(JK_PATH(SLOT_INPUT));
    REFUSE_UNLESS(len >= 1 && len <= MAX_BLOB, 1, "malformed event: length");
    jk_data_read(JK_PATH(SLOT_INPUT), 0, len, blob);
    REFUSE_UNLESS(event_ok(blob, len), 1, "malformed event: unknown op, wrong size or a field out of range");
    int64_t a = account_find(blob + 1);
    uint8_t meta[META_SIZE] = {0};
    if (a >= 0)
        meta_read((uint64_t)a, meta);
    /* A window of nonces, not just the next one: a node remembers what verify
     * refused (docs/events-format.md), so an event sent before its
     * predecessor's block must not be refused; apply skips an event whose
     * nonce is not the account's when it gets there. */
    uint64_t nonce = get_u64(blob + 33), next = get_u64(meta + META_NONCE);
    REFUSE_UNLESS(nonce >= next, 2, "stale nonce: an event of this key with it was applied");
    REFUSE_UNLESS(nonce - next < NONCE_WINDOW, 7, "nonce too far ahead of the account's");
    uint8_t gov[32];
    uint64_t initial;
    config_read(gov, &initial);
    if (blob[0] == 'U' || blob[0] == 'F')
        REFUSE_UNLESS(memcmp(blob + 1, gov, 32) == 0, 3, "only the governance key may upgrade or fund");
    if (blob[0] == 'C') {
        uint64_t credit = a >= 0 ? get_u64(meta + META_CREDIT) : initial;
        REFUSE_UNLESS(get_u64(blob + HEAD + 33) <= credit, 4, "the call's gas is more than the account's credit");
        /* Whether the contract exists is apply's to find (OUT_NO_CONTRACT):
         * an earlier event of this block may deploy it. */
    }
    if (blob[0] == 'D' && a >= 0)
        REFUSE_UNLESS(jk_cap_kind(contract_path(a, blob[HEAD + 1])) == JK_KIND_NONE, 6,
                      "that contract index is taken");
    attest(blob + 1, blob, len);
    jk_cnode_mint(JK_PATH(SLOT_WORK), 8);
    jk_move(JK_PATH(SLOT_INPUT), JK_PATH2(SLOT_WORK, EVENT_BLOB_SLOT));
    jk_derive_spawn(JK_PATH(PIN_TRANSACT), JK_PATH(SLOT_WORK), JK_SLOT0);
    jk_drop(JK_PATH(SLOT_AA));
    return 0;
}
JK_ENDPOINT(0, verify);
