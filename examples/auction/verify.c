/* verify.c — the auction's VerifyImage: runs once per gossiped event on a
 * copy of the chain's state; slot[0] = {0: blob, 1: AA}. It checks the blob
 * against the state as of the last block (the event lands in the next block
 * at the earliest: number height + 1), has the signer attest it and hands
 * back the event instance in slot[0]: opens and bids become Transact
 * instances, reveals DispatchInstances for dispatch endpoint 0. */
#include "auction.h"

static uint8_t blob[MAX_BLOB];

uint64_t verify(void)
{
    jk_move(JK_PATH2(0, 1), JK_PATH(SLOT_AA));
    jk_move(JK_PATH2(0, 0), JK_PATH(SLOT_INPUT));
    jk_drop(JK_SLOT0);
    uint64_t len = read_blob(JK_PATH(SLOT_INPUT), blob, sizeof blob), image = PIN_TRANSACT;
    uint64_t next = load_u64(JK_PATH(SLOT_HEIGHT)) + 1, id = blob_id(blob);
    uint8_t h[HEADER_SIZE], rec[BID_REC_SIZE];
    if (blob[0] == 'O') {
        REFUSE_UNLESS(open_ok(blob, len), 1, "malformed open");
        REFUSE_UNLESS(!load_header(id, h), 2, "auction id taken");
    } else if (blob[0] == 'B') {
        REFUSE_UNLESS(bid_ok(blob, len), 3, "malformed bid");
        REFUSE_UNLESS(load_header(id, h), 4, "no such auction");
        REFUSE_UNLESS(next < get_u64(h + H_BID_END), 5, "bidding closed");
        REFUSE_UNLESS(!find_bid(id, h, blob + 9, rec), 6, "one bid per bidder");
        REFUSE_UNLESS(get_u64(h + H_BIDS) < MAX_BIDS, 7, "auction full");
    } else {
        REFUSE_UNLESS(reveal_ok(blob, len), 8, "neither an open, a bid nor a reveal");
        REFUSE_UNLESS(load_header(id, h), 4, "no such auction");
        REFUSE_UNLESS(next >= get_u64(h + H_BID_END) && next < get_u64(h + H_REVEAL_END), 9,
                      "not in the reveal window");
        REFUSE_UNLESS(find_bid(id, h, blob + 9, rec), 10, "no bid to reveal");
        REFUSE_UNLESS(reveal_opens(blob, rec), 11, "does not open the commitment");
        image = PIN_DISPATCH_INSTANCE;
    }
    attest(blob + 9, blob, len); /* seller or bidder: the key after the id */
    jk_cnode_mint(JK_PATH(SLOT_WORK), 8);
    jk_move(JK_PATH(SLOT_INPUT), JK_PATH2(SLOT_WORK, EVENT_BLOB_SLOT));
    jk_derive_spawn(JK_PATH(image), JK_PATH(SLOT_WORK), JK_SLOT0);
    jk_drop(JK_PATH(SLOT_AA));
    return 0;
}
JK_ENDPOINT(0, verify);
