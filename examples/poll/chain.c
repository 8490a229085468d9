/* chain.c — the poll chain's ChainImage: apply, and the transforms the
 * kernel calls to derive Verify, Dispatch_0 (tally) and Dispatch_1 (certify)
 * at each cycle.
 *
 * apply: slot[0] = {0: body, 1: AA, 2: the block context (number u64 ‖
 * proposer u32 ‖ round u32)}. It records the block number in slot 22, then
 * runs the body's transacts in order: an open makes a poll (deadline = this
 * block's number + duration; a second open of the same id is skipped), a
 * record counts each vote whose voter has no ballot yet in a poll still
 * within its deadline + GRACE (the others are skipped). Every signature is
 * attested again, so an importer checks the block's traces. What verify
 * never admits (a malformed blob, a dispatch target) faults: the block is
 * invalid. Returns the number of votes counted. */
#include "poll.h"

static uint8_t blob[MAX_BLOB];

static void apply_open(uint64_t number)
{
    uint64_t id = get_u64(blob + 1);
    int who = roll_index(blob + 9);
    REQUIRE(who >= 0);
    attest(blob + 9, blob, OPEN_SIZE);
    uint8_t rec[RECORD_SIZE];
    if (poll_record(id, rec))
        return; /* two opens of one id in a block: the first wins */
    if (jk_cap_kind(JK_PATH(SLOT_POLLS)) == JK_KIND_NONE)
        jk_cnode_mint(JK_PATH(SLOT_POLLS), 8);
    jk_cnode_mint(JK_PATH2(SLOT_POLLS, id), 1);
    memset(rec, 0, sizeof rec);
    put_u64(rec, number + get_u64(blob + 41));
    put_u64(rec + 24, (uint64_t)who);
    jk_data_mint(rec, RECORD_SIZE, JK_PATH3(SLOT_POLLS, id, POLL_RECORD));
    jk_cnode_mint(JK_PATH3(SLOT_POLLS, id, POLL_BALLOTS), 8);
}

static uint64_t apply_record(uint64_t len, uint64_t number)
{
    uint64_t n = 0, id = get_u64(blob + 1), counted = 0;
    uint8_t vote[VOTE_SIZE], rec[RECORD_SIZE];
    REQUIRE(batch_ok(blob, len, 'R', &n));
    for (uint64_t i = 0; i < n; i++) { /* every trace first: the block carries them all */
        batch_vote(blob, i, vote);
        attest(vote + 9, vote, VOTE_SIZE);
    }
    if (!poll_record(id, rec) || number > get_u64(rec) + GRACE)
        return 0; /* too late: skipped, the block stays valid */
    for (uint64_t i = 0; i < n; i++) {
        batch_vote(blob, i, vote);
        int who = roll_index(vote + 9);
        REQUIRE(who >= 0);
        if (has_voted(id, who))
            continue; /* voted in an earlier record: skipped */
        jk_data_mint(vote + 41, 1, JK_PATH4(SLOT_POLLS, id, POLL_BALLOTS, (uint64_t)who));
        uint64_t at = vote[41] == CHOICE_YES ? 8 : 16;
        put_u64(rec + at, get_u64(rec + at) + 1);
        counted++;
    }
    if (counted) {
        jk_drop(JK_PATH3(SLOT_POLLS, id, POLL_RECORD));
        jk_data_mint(rec, RECORD_SIZE, JK_PATH3(SLOT_POLLS, id, POLL_RECORD));
    }
    return counted;
}

uint64_t apply(void)
{
    uint8_t ctx[16];
    REQUIRE(read_blob(JK_PATH2(0, 2), ctx, sizeof ctx) == 16);
    uint64_t number = get_u64(ctx), counted = 0;
    jk_move(JK_PATH2(0, 1), JK_PATH(SLOT_AA));
    jk_move(JK_PATH2(0, 0), JK_PATH(SLOT_INPUT));
    jk_drop(JK_SLOT0);
    store_u64(JK_PATH(SLOT_BLOCK), number);
    for (uint64_t i = 0; jk_cap_kind(JK_PATH2(SLOT_INPUT, i)) != JK_KIND_NONE; i++) {
        uint8_t target[4];
        REQUIRE(read_blob(JK_PATH3(SLOT_INPUT, i, 0), target, 4) == 4);
        REQUIRE(target[0] == 0 && target[1] == 0 && target[2] == 0 && target[3] == 0);
        uint64_t len = read_blob(JK_PATH3(SLOT_INPUT, i, 1), blob, sizeof blob);
        if (blob[0] == 'O') {
            REQUIRE(len == OPEN_SIZE && get_u64(blob + 1) < MAX_POLLS);
            apply_open(number);
        } else {
            counted += apply_record(len, number);
        }
    }
    jk_drop(JK_PATH(SLOT_AA));
    jk_drop(JK_PATH(SLOT_INPUT));
    return counted;
}

uint64_t transform_to_verify(void)
{
    jk_set_image(JK_PATH(PIN_VERIFY));
    return 0;
}

uint64_t transform_to_dispatch_0(void)
{
    jk_set_image(JK_PATH(PIN_DISPATCH_TALLY));
    return 0;
}

uint64_t transform_to_dispatch_1(void)
{
    jk_set_image(JK_PATH(PIN_DISPATCH_CERTIFY));
    return 0;
}

JK_ENDPOINT(0, apply);
JK_ENDPOINT(1, transform_to_verify);
JK_ENDPOINT(2, transform_to_dispatch_0);
JK_ENDPOINT(3, transform_to_dispatch_1);
