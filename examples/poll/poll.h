/*
 * poll.h — what the poll chain's programs share: slots, blob formats,
 * helpers. README.md says how the chain works.
 *
 * A roll of voters (slot 20, from the file voters.bin) opens polls and votes
 * yes or no. Votes go to dispatch endpoint 0 ("tally"), which batches the
 * cycle's votes per poll and routes each batch to dispatch endpoint 1
 * ("certify") for the next cycle; certify drops the votes the state already
 * holds and sends the rest on as a transact that apply records.
 *
 * Rejecting is faulting (REQUIRE traps, REFUSE_UNLESS faults with a reason):
 * a verify that faults drops the event, a process that faults has its emits
 * dropped, an apply that faults makes the block invalid.
 */
#ifndef POLL_H
#define POLL_H

#include "jark_chain.h" /* REQUIRE, REFUSE_UNLESS, PIN_*, get/put/load/store_u64, read_blob, attest (sdk/) */

enum {
    /* pinned images beyond the SDK's PIN_* (docs/chain-spec.md) */
    PIN_DISPATCH_TALLY = PIN_DISPATCH(0),   /* 5: dispatch endpoint 0 */
    PIN_DISPATCH_CERTIFY = PIN_DISPATCH(1), /* 6: dispatch endpoint 1 */
    /* chain state */
    SLOT_ROLL = 20,  /* Data: the voters' keys, 32 bytes each, 1..256 of them */
    SLOT_POLLS = 21, /* CNode 2^8 (absent until the first open): slot id = a poll */
    SLOT_BLOCK = 22, /* Data u64: the number of the last block applied */
    /* in a poll's CNode (2 slots) */
    POLL_RECORD = 0,  /* Data, RECORD_SIZE bytes */
    POLL_BALLOTS = 1, /* CNode 2^8: slot = voter's index in the roll, Data 1 byte: the choice */
    /* working slots: emptied before HALT */
    SLOT_AA = JK_CHAIN_SLOT_AA, /* 30: where attest() CALLs the AA (sdk/jark_chain.h) */
    SLOT_INPUT = 31,
    SLOT_WORK = 32,
    SLOT_EMITS = 33,
    /* in an event instance: its blob */
    EVENT_BLOB_SLOT = 20,
};

#define MAX_POLLS 256
#define MAX_VOTERS 256
#define MAX_BATCH 32 /* votes per batch: each carries one trace (spec: max_event_traces) */
#define MAX_BLOB 2048
#define GRACE 2 /* blocks after its deadline in which a poll's last batches still count */

/* open:   'O' ‖ id u64 (< 256) ‖ opener[32] ‖ duration u64 (1..1000)   signed by the opener
 * vote:   'V' ‖ id u64 ‖ voter[32] ‖ choice u8 (1 yes, 2 no)            signed by the voter
 * batch:  'B' ‖ id u64 ‖ n u8 (1..32) ‖ n × (voter[32] ‖ choice u8)     one trace per vote
 * record: 'R' ‖ (as a batch)                                             one trace per vote */
#define OPEN_SIZE 49
#define VOTE_SIZE 42
#define BATCH_HEAD 10
#define BATCH_ENTRY 33
#define RECORD_SIZE 32 /* deadline u64 ‖ yes u64 ‖ no u64 ‖ opener's index u64 */

enum { CHOICE_YES = 1, CHOICE_NO = 2 };

/* Reasons verify gives (REFUSE_UNLESS); README.md lists them. */
enum {
    WHY_MALFORMED = 1,
    WHY_NOT_ON_ROLL = 2,
    WHY_POLL_EXISTS = 3,
    WHY_NO_POLL = 4,
    WHY_CLOSED = 5,
    WHY_VOTED = 6,
};

/* poll.c: shared by every program that reads the state or a blob. */

/* The voter's index in the roll (slot 20), or -1. The roll is read once per call of the program. */
int roll_index(const uint8_t key[32]);
/* Is blob a well-formed batch or record (tag 'B' or 'R')? Its vote count in *n. */
int batch_ok(const uint8_t *blob, uint64_t len, uint8_t tag, uint64_t *n);
/* The vote blob of entry i of a batch: what its voter signed. */
void batch_vote(const uint8_t *batch, uint64_t i, uint8_t vote[VOTE_SIZE]);
/* Poll id's record; false when there is no such poll. */
int poll_record(uint64_t id, uint8_t rec[RECORD_SIZE]);
/* Has the roll's voter `index` a ballot in poll id? */
int has_voted(uint64_t id, int index);

#endif
