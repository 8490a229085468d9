/* tally.c — dispatch endpoint 0 ("tally"): runs once per cycle over the
 * votes admitted to endpoint 0. slot[0] = {0: CNode of the event instances,
 * in admission order, 1: AA}. A voter's first vote on a poll in the cycle
 * counts, a later one is left out; each vote kept is attested (the
 * seen-rule: its voter took part in this cycle) and the votes are batched
 * per poll, MAX_BATCH at most, in admission order. Each batch is emitted
 *
 * - as a record, a transact (target 0): the proposer's pool takes it now,
 *   with the traces attested here, and apply counts it in this very block;
 * - built with -DPOLL_VIA_CERTIFY, as a batch to dispatch endpoint 1
 *   (target 2 = 1 + k): the kernel queues it for the next cycle, verifies it
 *   again there like gossip and hands it to certify.c (README.md says where
 *   that route works today).
 *
 * Returns the number of votes batched. */
#include "poll.h"

#define MAX_CYCLE_VOTES 1024 /* beyond it a vote is left out: its voter sends it again */

static uint8_t vote[VOTE_SIZE];
static uint8_t ids[MAX_CYCLE_VOTES], voters[MAX_CYCLE_VOTES][32], choices[MAX_CYCLE_VOTES];
static uint8_t seen[MAX_POLLS][MAX_VOTERS / 8];
static uint8_t batch[BATCH_HEAD + BATCH_ENTRY * MAX_BATCH];
static uint64_t emits;

#ifdef POLL_VIA_CERTIFY
#define ROUTE_TARGET 2 /* dispatch endpoint 1: certify, next cycle */
#define ROUTE_TAG 'B'
#else
#define ROUTE_TARGET 0 /* transact: apply, this block */
#define ROUTE_TAG 'R'
#endif

static void emit_batch(uint64_t id, uint64_t n)
{
    uint8_t target[4] = {ROUTE_TARGET, 0, 0, 0};
    batch[0] = ROUTE_TAG;
    put_u64(batch + 1, id);
    batch[9] = (uint8_t)n;
    jk_cnode_mint(JK_PATH2(SLOT_EMITS, emits), 1);
    jk_data_mint(target, 4, JK_PATH3(SLOT_EMITS, emits, 0));
    jk_data_mint(batch, BATCH_HEAD + BATCH_ENTRY * n, JK_PATH3(SLOT_EMITS, emits, 1));
    emits++;
}

uint64_t process(void)
{
    jk_move(JK_PATH2(0, 1), JK_PATH(SLOT_AA));
    jk_move(JK_PATH2(0, 0), JK_PATH(SLOT_INPUT));
    jk_drop(JK_SLOT0);
    uint64_t kept = 0;
    for (uint64_t i = 0; kept < MAX_CYCLE_VOTES && jk_cap_kind(JK_PATH2(SLOT_INPUT, i)) == JK_KIND_INSTANCE; i++) {
        /* the instance's endpoint 0 hands its blob back in slot[0] */
        if (jk_call(JK_PATH2(SLOT_INPUT, i), 0, jk_gas(), 0, 0, 0).outcome != JK_OUTCOME_HALT)
            continue;
        int ok = jk_cap_kind(JK_SLOT0) == JK_KIND_DATA && jk_data_len(JK_SLOT0) == VOTE_SIZE;
        if (ok)
            jk_data_read(JK_SLOT0, 0, VOTE_SIZE, vote);
        jk_drop(JK_SLOT0);
        if (!ok || vote[0] != 'V') /* a batch sent to endpoint 0 by hand: not ours */
            continue;
        uint64_t id = get_u64(vote + 1);
        int who = roll_index(vote + 9);
        if (id >= MAX_POLLS || who < 0 || (seen[id][who / 8] >> (who % 8)) & 1)
            continue; /* a voter's second vote on a poll this cycle */
        if (has_voted(id, who))
            continue; /* recorded since its verify (a cycle that made no block) */
        seen[id][who / 8] |= (uint8_t)(1u << (who % 8));
        attest(vote + 9, vote, VOTE_SIZE);
        ids[kept] = (uint8_t)id;
        memcpy(voters[kept], vote + 9, 32);
        choices[kept] = vote[41];
        kept++;
    }
    /* At most one emit per MAX_BATCH votes plus one per poll: 2^11 slots hold them. */
    jk_cnode_mint(JK_PATH(SLOT_EMITS), 11);
    for (uint64_t id = 0; id < MAX_POLLS; id++) {
        uint64_t n = 0;
        for (uint64_t i = 0; i < kept; i++) {
            if (ids[i] != id)
                continue;
            memcpy(batch + BATCH_HEAD + BATCH_ENTRY * n, voters[i], 32);
            batch[BATCH_HEAD + BATCH_ENTRY * n + 32] = choices[i];
            if (++n == MAX_BATCH) {
                emit_batch(id, n);
                n = 0;
            }
        }
        if (n)
            emit_batch(id, n);
    }
    jk_move(JK_PATH(SLOT_EMITS), JK_SLOT0);
    jk_drop(JK_PATH(SLOT_AA));
    jk_drop(JK_PATH(SLOT_INPUT));
    return kept;
}
JK_ENDPOINT(0, process);
