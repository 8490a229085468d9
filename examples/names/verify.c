/* verify.c — the registry's VerifyImage (pinned in slot 1; it pins
 * TransactImage in 2 and DispatchInstanceImage in 3, to spawn from).
 *
 * slot[0] = {0: blob, 1: AA}, on a copy of the chain's state, per event.
 * Checks the blob against the state as the next block will start from it
 * (height = blocks applied + 1) and has its signer attest it:
 *   'C' claim    → DispatchInstance (name free, claimant attests)
 *   'A' award    → Transact (its claim: name free, claimant attests)
 *   'R' renew    → Transact (names the record's (expires, version); owner attests)
 *   'X' transfer → Transact (likewise)
 *   'D' delete   → Transact (the name has run out; no signature: anyone may)
 * Anything else faults: the event is dropped. Refusals a user can cause say
 * why (NAMES_REFUSE_UNLESS: the FAULT host call's code and text). */
#include "names.h"

static uint8_t blob[NAMES_MAX_BLOB];

uint64_t verify(void)
{
    jk_move(JK_PATH2(0, 1), JK_PATH(NAMES_SLOT_AA));
    jk_move(JK_PATH2(0, 0), JK_PATH(NAMES_SLOT_INPUT));
    jk_drop(JK_SLOT0);
    uint64_t len = jk_data_len(JK_PATH(NAMES_SLOT_INPUT));
    NAMES_REFUSE_UNLESS(len > 0 && len <= sizeof blob, NAMES_WHY_MALFORMED, "empty or oversized blob");
    jk_data_read(JK_PATH(NAMES_SLOT_INPUT), 0, len, blob);
    uint64_t height = names_next_height(), image = NAMES_PIN_TRANSACT;
    names_record r;
    if (blob[0] == 'C' || blob[0] == 'A') {
        const uint8_t *claim = blob[0] == 'C' ? blob : blob + 1;
        NAMES_REFUSE_UNLESS(len == (blob[0] == 'C' ? NAMES_CLAIM : NAMES_AWARD) &&
                                names_claim_parse(claim, NAMES_CLAIM),
                            NAMES_WHY_MALFORMED, "malformed claim (or bad name)");
        names_get(claim + 33, &r);
        NAMES_REFUSE_UNLESS(!names_taken(&r, height), NAMES_WHY_TAKEN, "name taken");
        NAMES_REFUSE_UNLESS(r.exists || names_room(claim + 33), NAMES_WHY_BUCKET_FULL, "the name's bucket is full");
        names_attest(claim + 1, claim, NAMES_CLAIM);
        if (blob[0] == 'C')
            image = NAMES_PIN_DISPATCH_INSTANCE;
    } else if (blob[0] == 'R' || blob[0] == 'X') {
        NAMES_REFUSE_UNLESS(len == (blob[0] == 'R' ? NAMES_RENEW : NAMES_TRANSFER) && names_valid(blob + 1),
                            NAMES_WHY_MALFORMED, "malformed renew or transfer");
        names_get(blob + 1, &r);
        NAMES_REFUSE_UNLESS(names_change_fits(&r, height, blob + len - 16), NAMES_WHY_STALE,
                            "not the name's current (expires, version), or the name ran out");
        names_attest(names_owner(&r), blob, len);
    } else {
        NAMES_REFUSE_UNLESS(blob[0] == 'D' && len == NAMES_DELETE && names_valid(blob + 1), NAMES_WHY_MALFORMED,
                            "unknown or malformed event");
        names_get(blob + 1, &r);
        NAMES_REFUSE_UNLESS(r.exists && !names_taken(&r, height), NAMES_WHY_NOT_EXPIRED,
                            "nothing to delete: no record, or the name has not run out");
    }
    /* The event instance: a fresh cnode with the blob in slot 20. */
    jk_cnode_mint(JK_PATH(NAMES_SLOT_WORK), 8);
    jk_move(JK_PATH(NAMES_SLOT_INPUT), JK_PATH2(NAMES_SLOT_WORK, NAMES_EVENT_BLOB_SLOT));
    jk_derive_spawn(JK_PATH(image), JK_PATH(NAMES_SLOT_WORK), JK_SLOT0);
    jk_drop(JK_PATH(NAMES_SLOT_AA));
    return 0;
}
JK_ENDPOINT(0, verify);
