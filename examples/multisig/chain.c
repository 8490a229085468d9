/* chain.c — the multisig chain's ChainImage: apply, and the transforms the
 * kernel calls to derive Verify and Dispatch_0 from the chain at each cycle.
 *
 * apply: slot[0] = {0: body, 1: AA, 2: block context}; body slot i =
 * {0: target Data (u32 LE, 0 = transact: the only target here), 1: blob}.
 * Every blob is attested again by the same keys as where it was admitted
 * (a create by each owner, a spend by each signer, an execute by each
 * approver over that approver's approve blob): on import that checks the
 * block's traces, in order. Then it is applied, or skipped when the state
 * moved on (a spent nonce, the balance gone, the id taken). Emits nothing.
 * Returns the number of events that changed a wallet. */
#include "common.h"

static uint8_t blob[MAX_BLOB];

uint64_t apply(void)
{
    jk_move(JK_PATH2(0, 1), JK_PATH(SLOT_AA));
    jk_move(JK_PATH2(0, 0), JK_PATH(SLOT_INPUT));
    jk_drop(JK_SLOT0);
    uint64_t changed = 0, spends = 0;
    for (uint64_t i = 0; jk_cap_kind(JK_PATH2(SLOT_INPUT, i)) != JK_KIND_NONE; i++) {
        uint8_t target[4], rec[RECORD_SIZE];
        REQUIRE(read_blob(JK_PATH3(SLOT_INPUT, i, 0), target, 4) == 4);
        REQUIRE(target[0] == 0 && target[1] == 0 && target[2] == 0 && target[3] == 0);
        uint64_t len = read_blob(JK_PATH3(SLOT_INPUT, i, 1), blob, sizeof blob), id = get_u64(blob + 1);
        if (blob[0] == 'C') {
            REQUIRE(create_ok(blob, len));
            for (unsigned k = 0; k < blob[10]; k++)
                attest(blob + CREATE_HEAD + 32 * k, blob, len);
            if (load_wallet(id, rec))
                continue; /* an earlier create in this block took the id */
            memset(rec, 0, sizeof rec);
            put_u64(rec + R_THRESHOLD, blob[9]);
            put_u64(rec + R_COUNT, blob[10]);
            put_u64(rec + R_BALANCE, get_u64(blob + 11));
            memcpy(rec + R_OWNERS, blob + CREATE_HEAD, 32u * blob[10]);
            store_wallet(id, rec);
        } else {
            REQUIRE(spend_ok(blob, len, 'S') || spend_ok(blob, len, 'X'));
            /* the wallet existed when verify admitted the event, and wallets
             * are never removed: a block naming another is invalid */
            REQUIRE(load_wallet(id, rec));
            REQUIRE((blob[33] >> get_u64(rec + R_COUNT)) == 0);
            for (unsigned k = 0; k < MAX_OWNERS; k++) {
                if (!(blob[33] >> k & 1))
                    continue;
                if (blob[0] == 'S') {
                    attest(rec + R_OWNERS + 32 * k, blob, len);
                } else {
                    uint8_t a[APPROVE_SIZE];
                    approve_blob(blob, rec, k, a);
                    attest(a + 34, a, APPROVE_SIZE);
                }
            }
            if (!spend_applies(rec, blob))
                continue; /* another spend of this nonce came first, or the balance went */
            spend_do(rec, blob);
            spends++;
        }
        changed++;
    }
    if (spends)
        store_u64(JK_PATH(SLOT_SPENDS), load_u64(JK_PATH(SLOT_SPENDS)) + spends);
    jk_drop(JK_PATH(SLOT_AA));
    jk_drop(JK_PATH(SLOT_INPUT));
    return changed;
}

uint64_t transform_to_verify(void)
{
    jk_set_image(JK_PATH(PIN_VERIFY));
    return 0;
}

uint64_t transform_to_dispatch_0(void)
{
    jk_set_image(JK_PATH(PIN_DISPATCH_0));
    return 0;
}

JK_ENDPOINT(0, apply);
JK_ENDPOINT(1, transform_to_verify);
JK_ENDPOINT(2, transform_to_dispatch_0);
