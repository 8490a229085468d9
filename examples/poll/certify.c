/* certify.c — dispatch endpoint 1 ("certify"): runs once per cycle over the
 * batches tally emitted in the cycle before (the kernel verified them again
 * at this cycle's start, like gossip, with the traces tally attested). It
 * sees the state one block later than tally did: it leaves out the votes the
 * state already holds (a voter who voted in two cycles), attests the others
 * and sends them on as a record, a transact of this block (target 0).
 * Returns the number of votes sent on. */
#include "poll.h"

static uint8_t batch[BATCH_HEAD + BATCH_ENTRY * MAX_BATCH], out[BATCH_HEAD + BATCH_ENTRY * MAX_BATCH];

uint64_t process(void)
{
    jk_move(JK_PATH2(0, 1), JK_PATH(SLOT_AA));
    jk_move(JK_PATH2(0, 0), JK_PATH(SLOT_INPUT));
    jk_drop(JK_SLOT0);
    jk_cnode_mint(JK_PATH(SLOT_EMITS), 12);
    uint64_t emits = 0, sent = 0;
    for (uint64_t i = 0; emits < 4096 && jk_cap_kind(JK_PATH2(SLOT_INPUT, i)) == JK_KIND_INSTANCE; i++) {
        if (jk_call(JK_PATH2(SLOT_INPUT, i), 0, jk_gas(), 0, 0, 0).outcome != JK_OUTCOME_HALT)
            continue;
        uint64_t len = jk_cap_kind(JK_SLOT0) == JK_KIND_DATA ? jk_data_len(JK_SLOT0) : 0, n = 0;
        int ok = len >= 1 && len <= sizeof batch;
        if (ok)
            jk_data_read(JK_SLOT0, 0, len, batch);
        jk_drop(JK_SLOT0);
        if (!ok || !batch_ok(batch, len, 'B', &n)) /* a vote sent to endpoint 1 by hand: not ours */
            continue;
        uint64_t id = get_u64(batch + 1), m = 0;
        uint8_t rec[RECORD_SIZE], vote[VOTE_SIZE];
        if (!poll_record(id, rec))
            continue;
        for (uint64_t j = 0; j < n; j++) {
            batch_vote(batch, j, vote);
            int who = roll_index(vote + 9);
            if (who < 0 || has_voted(id, who))
                continue;
            attest(vote + 9, vote, VOTE_SIZE);
            memcpy(out + BATCH_HEAD + BATCH_ENTRY * m, batch + BATCH_HEAD + BATCH_ENTRY * j, BATCH_ENTRY);
            m++;
        }
        if (!m)
            continue;
        uint8_t target[4] = {0, 0, 0, 0}; /* transact */
        out[0] = 'R';
        memcpy(out + 1, batch + 1, 8);
        out[9] = (uint8_t)m;
        jk_cnode_mint(JK_PATH2(SLOT_EMITS, emits), 1);
        jk_data_mint(target, 4, JK_PATH3(SLOT_EMITS, emits, 0));
        jk_data_mint(out, BATCH_HEAD + BATCH_ENTRY * m, JK_PATH3(SLOT_EMITS, emits, 1));
        emits++;
        sent += m;
    }
    jk_move(JK_PATH(SLOT_EMITS), JK_SLOT0);
    jk_drop(JK_PATH(SLOT_AA));
    jk_drop(JK_PATH(SLOT_INPUT));
    return sent;
}
JK_ENDPOINT(0, process);
