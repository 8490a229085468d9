/* chain.c — the demo chain's ChainImage: apply and the transforms.
 *
 * Pins: 1 VerifyImage, 2 TransactImage, 3 DispatchInstanceImage, 4 AAImage,
 * 5 Dispatch_0_Image. State: 20 genesis ledger, 21 reporters, 22 price, 23
 * account tree (demo.h). A transfer rewrites only its two accounts' buckets
 * in the tree, so a block costs what it touches, not the ledger's size.
 *
 * apply: slot[0] = {0: body, 1: AA}; body slot i = {0: target Data (u32),
 * 1: blob Data}, in block order. Every event must be a transact (target 0)
 * holding a well-formed transfer or price update, attested again here —
 * else apply faults and the block is invalid. An event that is well formed
 * but no longer fits the state (a stale nonce, an overspend, an old round:
 * two events verified against the same state can collide in one block) is
 * skipped. Returns the number of events that changed the state; emits
 * nothing (slot[0] empty at HALT). */
#include "demo.h"

static demo_reporters reporters;
static uint8_t blob[DEMO_MAX_BLOB];

uint64_t apply(void)
{
    jk_move(JK_PATH2(0, 1), JK_PATH(DEMO_SLOT_AA));
    jk_move(JK_PATH2(0, 0), JK_PATH(DEMO_SLOT_INPUT));
    jk_drop(JK_SLOT0);
    demo_reporters_load(&reporters);
    demo_price price = demo_price_load();
    uint64_t transfers = 0, updates = 0;

    for (uint64_t i = 0; i < 65536; i++) {
        if (jk_cap_kind(JK_PATH2(DEMO_SLOT_INPUT, i)) == JK_KIND_NONE)
            break;
        uint8_t target[4];
        DEMO_REQUIRE(demo_read(JK_PATH3(DEMO_SLOT_INPUT, i, 0), target, 4) == 4);
        DEMO_REQUIRE(target[0] == 0 && target[1] == 0 && target[2] == 0 && target[3] == 0);
        uint64_t len = demo_read(JK_PATH3(DEMO_SLOT_INPUT, i, 1), blob, sizeof blob);
        DEMO_REQUIRE(len > 0);
        if (blob[0] == 'T') {
            demo_transfer t;
            demo_account from, to;
            demo_transfer_check(blob, len, &t);
            if (demo_transfer_valid(&t, &from, &to)) {
                demo_transfer_apply(&t, &from, &to);
                transfers++;
            }
        } else {
            demo_update u;
            if (demo_update_check(blob, len, &reporters, price.round, &u)) {
                price.round = u.round;
                price.price = u.median;
                updates++;
            }
        }
    }
    if (updates)
        demo_price_store(price);
    jk_drop(JK_PATH(DEMO_SLOT_AA));
    jk_drop(JK_PATH(DEMO_SLOT_INPUT));
    return transfers + updates;
}

uint64_t transform_to_verify(void)
{
    jk_set_image(JK_PATH(DEMO_PIN_VERIFY));
    return 0;
}

uint64_t transform_to_dispatch_0(void)
{
    jk_set_image(JK_PATH(DEMO_PIN_DISPATCH_0));
    return 0;
}

JK_ENDPOINT(0, apply);
JK_ENDPOINT(1, transform_to_verify);
JK_ENDPOINT(2, transform_to_dispatch_0);
