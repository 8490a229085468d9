/* chain.c — the auction's ChainImage: apply, and the transforms the kernel
 * calls to derive Verify and Dispatch_0 at each cycle.
 *
 * apply: slot[0] = {0: body, 1: AA, 2: block context (number u64 ‖
 * proposer u32 ‖ round u32)}; body slot i = {0: target Data (u32 LE, 0 =
 * transact), 1: blob Data}. Every blob is attested again (on import, that
 * checks the block's traces), then applied, or skipped when it comes too
 * late. Windows are block numbers from the context, so every validator
 * computes the same ones. Returns the number of events that changed state. */
#include "auction.h"

static uint8_t blob[MAX_BLOB];

static int apply_one(uint64_t number, uint64_t len)
{
    uint64_t id = blob_id(blob);
    uint8_t h[HEADER_SIZE], rec[BID_REC_SIZE];
    if (blob[0] == 'O') {
        REQUIRE(open_ok(blob, len));
        attest(blob + 9, blob, len);
        if (load_header(id, h))
            return 0; /* an earlier open in this block took the id */
        memset(h, 0, sizeof h);
        memcpy(h + H_SELLER, blob + 9, 32);
        put_u64(h + H_BID_END, number + get_u64(blob + 41));
        put_u64(h + H_REVEAL_END, number + get_u64(blob + 41) + get_u64(blob + 49));
        store_header(id, h);
        return 1;
    }
    if (blob[0] == 'B') {
        REQUIRE(bid_ok(blob, len));
        attest(blob + 9, blob, len);
        if (!load_header(id, h) || number >= get_u64(h + H_BID_END) || find_bid(id, h, blob + 9, rec) ||
            get_u64(h + H_BIDS) >= MAX_BIDS)
            return 0;
        uint64_t k = get_u64(h + H_BIDS) + 1;
        jk_data_mint(blob + 9, BID_REC_SIZE, JK_PATH3(SLOT_AUCTIONS, id, k)); /* bidder ‖ commitment */
        put_u64(h + H_BIDS, k);
        store_header(id, h);
        return 1;
    }
    REQUIRE(reveal_ok(blob, len));
    attest(blob + 9, blob, len);
    if (!load_header(id, h) || number < get_u64(h + H_BID_END) || number >= get_u64(h + H_REVEAL_END) ||
        !find_bid(id, h, blob + 9, rec) || !reveal_opens(blob, rec))
        return 0;
    put_u64(h + H_REVEALED, get_u64(h + H_REVEALED) + 1);
    if (get_u64(blob + 41) > get_u64(h + H_BEST)) {
        put_u64(h + H_BEST, get_u64(blob + 41));
        memcpy(h + H_WINNER, blob + 9, 32);
    }
    store_header(id, h);
    return 1;
}

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
        uint8_t target[4];
        REQUIRE(read_blob(JK_PATH3(SLOT_INPUT, i, 0), target, 4) == 4);
        REQUIRE(target[0] == 0 && target[1] == 0 && target[2] == 0 && target[3] == 0);
        uint64_t len = read_blob(JK_PATH3(SLOT_INPUT, i, 1), blob, sizeof blob);
        changed += (uint64_t)apply_one(number, len);
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
