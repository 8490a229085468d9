/* verify.c — VerifyImage (pinned in slot 1; it pins TransactImage in slot 2
 * and DispatchInstanceImage in slot 3, to spawn from).
 *
 * slot[0] = {0: blob, 1: AA}. Runs on a copy of the chain's state, per event.
 * Checks the blob against that state and has its signer attest it, then
 * hands back the event instance in slot[0]:
 *   'T' transfer     → Transact         (well formed, attested by `from`,
 *                                        nonce = the account's, balance ≥ amount)
 *   'P' price update → Transact         (demo_update_check, and a round newer
 *                                        than the state's)
 *   'R' report       → DispatchInstance (registered reporter, attested by it,
 *                                        round newer than the state's)
 * Anything else faults: the event is dropped. */
#include "demo.h"

static demo_reporters reporters;
static uint8_t blob[DEMO_MAX_BLOB];

uint64_t verify(void)
{
    jk_move(JK_PATH2(0, 1), JK_PATH(DEMO_SLOT_AA));
    jk_move(JK_PATH2(0, 0), JK_PATH(DEMO_SLOT_INPUT));
    jk_drop(JK_SLOT0);
    uint64_t len = demo_read(JK_PATH(DEMO_SLOT_INPUT), blob, sizeof blob);
    DEMO_REQUIRE(len > 0);
    uint64_t image;
    if (blob[0] == 'T') {
        demo_transfer t;
        demo_account from, to;
        demo_transfer_check(blob, len, &t);
        DEMO_REQUIRE(demo_transfer_valid(&t, &from, &to));
        image = DEMO_PIN_TRANSACT;
    } else if (blob[0] == 'P') {
        demo_update u;
        demo_reporters_load(&reporters);
        DEMO_REQUIRE(demo_update_check(blob, len, &reporters, demo_price_load().round, &u));
        image = DEMO_PIN_TRANSACT;
    } else {
        demo_report r;
        demo_reporters_load(&reporters);
        DEMO_REQUIRE(demo_report_parse(blob, len, &r) && demo_is_reporter(&reporters, r.reporter));
        DEMO_REQUIRE(r.round > demo_price_load().round);
        demo_attest(r.reporter, blob, len);
        image = DEMO_PIN_DISPATCH_INSTANCE;
    }
    /* The event instance: a fresh cnode with the blob in slot 20. */
    jk_cnode_mint(JK_PATH(DEMO_SLOT_WORK), 8);
    jk_move(JK_PATH(DEMO_SLOT_INPUT), JK_PATH2(DEMO_SLOT_WORK, DEMO_EVENT_BLOB_SLOT));
    jk_derive_spawn(JK_PATH(image), JK_PATH(DEMO_SLOT_WORK), JK_SLOT0);
    jk_drop(JK_PATH(DEMO_SLOT_AA));
    return 0;
}
JK_ENDPOINT(0, verify);
