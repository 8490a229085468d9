/* chain.c — the the escrow's ChainImage: apply, and the transforms the kernel
 * calls to derive Verify and Dispatch_0 at each cycle.
 *
 * apply: slot[0] = {0: body, 1: AA, 2: block context (number u64 ‖
 * proposer u32 ‖ round u32)}; body slot i = {0: target Data (u32 LE, 0 =
 * transact), 1: blob Data}. Every blob is attested again by the same keys as
 * in verify (on import, that checks the block's traces), then applied, or
 * skipped when it comes too late. Deadlines are block numbers from the
 * context, so every validator computes the same ones. Emits nothing.
 * Returns the number of events that changed an escrow. */
#include "escrow.h"

static uint8_t blob[MAX_BLOB];

uint64_t apply(void)
{
    jk_move(JK_PATH2(0, 1), JK_PATH(SLOT_AA));
    jk_move(JK_PATH2(0, 0), JK_PATH(SLOT_INPUT));
    jk_move(JK_PATH2(0, 2), JK_PATH(SLOT_CTX));
    jk_drop(JK_SLOT0);
    uint8_t ctx[16];
    REQUIRE(read_blob(JK_PATH(SLOT_CTX), ctx, sizeof ctx) == 16);
    jk_drop(JK_PATH(SLOT_CTX));
    uint64_t number = get_u64(ctx), changed = 0;
    for (uint64_t i = 0; jk_cap_kind(JK_PATH2(SLOT_INPUT, i)) != JK_KIND_NONE; i++) {
        uint8_t target[4], rec[RECORD_SIZE];
        REQUIRE(read_blob(JK_PATH3(SLOT_INPUT, i, 0), target, 4) == 4);
        REQUIRE(target[0] == 0 && target[1] == 0 && target[2] == 0 && target[3] == 0);
        uint64_t len = read_blob(JK_PATH3(SLOT_INPUT, i, 1), blob, sizeof blob), id = blob_id(blob);
        if (blob[0] == 'O') {
            REQUIRE(open_ok(blob, len));
            attest(blob + 9, blob, len);
            if (load_record(id, rec))
                continue; /* an earlier open in this block took the id */
            memcpy(rec, blob + 9, 96);
            put_u64(rec + R_AMOUNT, get_u64(blob + 105));
            put_u64(rec + R_DEADLINE, number + get_u64(blob + 113));
            put_u64(rec + R_STATUS, OPEN);
            put_u64(rec + R_SETTLED, 0);
        } else if (blob[0] == 'S') {
            REQUIRE(settle_ok(blob, len));
            attest(blob + 10, blob, len);
            attest(blob + 42, blob, len);
            if (!load_record(id, rec) || !settle_applies(rec, blob))
                continue; /* opened later in this block's order, or settled already */
            put_u64(rec + R_STATUS, blob[9]);
            put_u64(rec + R_SETTLED, number);
        } else {
            REQUIRE(timeout_ok(blob, len));
            attest(blob + 9, blob, len);
            if (!load_record(id, rec) || get_u64(rec + R_STATUS) != OPEN ||
                memcmp(rec + R_PAYER, blob + 9, 32) != 0 || number < get_u64(rec + R_DEADLINE))
                continue;
            put_u64(rec + R_STATUS, REFUNDED);
            put_u64(rec + R_SETTLED, number);
        }
        store_record(id, rec);
        changed++;
    }
    store_u64(JK_PATH(SLOT_HEIGHT), number);
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
