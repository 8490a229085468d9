/* verify.c — the poll chain's VerifyImage: runs once per gossiped event (and
 * once per queued emit) on a copy of the state. slot[0] = {0: blob, 1: AA}.
 * Verify does not learn the endpoint an event came in on: it decides by the
 * blob which instance it makes, and tally / certify skip blobs that are not
 * theirs. Every refusal a user can cause carries a reason (poll.h). */
#include "poll.h"

static uint8_t blob[MAX_BLOB];

/* A batch or a record: every vote's voter on the roll and its signature. */
static void verify_batch(uint64_t len, uint8_t tag)
{
    uint64_t n = 0;
    uint8_t rec[RECORD_SIZE], vote[VOTE_SIZE];
    REFUSE_UNLESS(batch_ok(blob, len, tag, &n), WHY_MALFORMED, "malformed batch");
    REFUSE_UNLESS(poll_record(get_u64(blob + 1), rec), WHY_NO_POLL, "no such poll");
    for (uint64_t i = 0; i < n; i++) {
        batch_vote(blob, i, vote);
        REFUSE_UNLESS(roll_index(vote + 9) >= 0, WHY_NOT_ON_ROLL, "voter not on the roll");
        attest(vote + 9, vote, VOTE_SIZE);
    }
}

uint64_t verify(void)
{
    jk_move(JK_PATH2(0, 1), JK_PATH(SLOT_AA));
    jk_move(JK_PATH2(0, 0), JK_PATH(SLOT_INPUT));
    jk_drop(JK_SLOT0);
    uint64_t len = jk_data_len(JK_PATH(SLOT_INPUT)), image;
    REFUSE_UNLESS(len >= 1 && len <= MAX_BLOB, WHY_MALFORMED, "blob too long or empty");
    jk_data_read(JK_PATH(SLOT_INPUT), 0, len, blob);
    uint8_t rec[RECORD_SIZE];
    switch (blob[0]) {
    case 'O': {
        REFUSE_UNLESS(len == OPEN_SIZE && get_u64(blob + 1) < MAX_POLLS && get_u64(blob + 41) >= 1 &&
                          get_u64(blob + 41) <= 1000,
                      WHY_MALFORMED, "malformed open");
        REFUSE_UNLESS(roll_index(blob + 9) >= 0, WHY_NOT_ON_ROLL, "opener not on the roll");
        REFUSE_UNLESS(!poll_record(get_u64(blob + 1), rec), WHY_POLL_EXISTS, "poll exists");
        attest(blob + 9, blob, len);
        image = PIN_TRANSACT;
        break;
    }
    case 'V': {
        REFUSE_UNLESS(len == VOTE_SIZE && (blob[41] == CHOICE_YES || blob[41] == CHOICE_NO), WHY_MALFORMED,
                      "malformed vote");
        uint64_t id = get_u64(blob + 1);
        int who = roll_index(blob + 9);
        REFUSE_UNLESS(who >= 0, WHY_NOT_ON_ROLL, "voter not on the roll");
        REFUSE_UNLESS(poll_record(id, rec), WHY_NO_POLL, "no such poll");
        /* open while no block past its deadline has been applied */
        REFUSE_UNLESS(load_u64(JK_PATH(SLOT_BLOCK)) < get_u64(rec), WHY_CLOSED, "poll closed");
        REFUSE_UNLESS(!has_voted(id, who), WHY_VOTED, "already voted");
        attest(blob + 9, blob, len);
        image = PIN_DISPATCH_INSTANCE;
        break;
    }
    case 'B':
        verify_batch(len, 'B');
        image = PIN_DISPATCH_INSTANCE;
        break;
    case 'R':
        verify_batch(len, 'R');
        image = PIN_TRANSACT;
        break;
    default:
        REFUSE_UNLESS(0, WHY_MALFORMED, "not an open, vote, batch or record");
    }
    jk_cnode_mint(JK_PATH(SLOT_WORK), 8);
    jk_move(JK_PATH(SLOT_INPUT), JK_PATH2(SLOT_WORK, EVENT_BLOB_SLOT));
    jk_derive_spawn(JK_PATH(image), JK_PATH(SLOT_WORK), JK_SLOT0);
    jk_drop(JK_PATH(SLOT_AA));
    return 0;
}
JK_ENDPOINT(0, verify);
