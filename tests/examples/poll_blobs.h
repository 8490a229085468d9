/*
 * poll_blobs.h — the poll chain's event blobs (examples/poll/README.md), for
 * the tests that drive it through the chain layer (test_poll.c) and through
 * a node's submit_event (test_poll_submit.c).
 */
#ifndef JARK_TEST_POLL_BLOBS_H
#define JARK_TEST_POLL_BLOBS_H

#include "example_chain.h"

#include "jark/bytes.h"

#include <string.h>

enum { OPEN = 49, VOTE = 42, RECORD = 32 };

/* 'O' ‖ id ‖ opener's key ‖ duration in blocks */
static inline size_t open_blob(uint8_t *b, uint64_t id, const jk_ex_key *opener, uint64_t duration)
{
    b[0] = 'O';
    jk_put_u64le(b + 1, id);
    memcpy(b + 9, opener->pk, 32);
    jk_put_u64le(b + 41, duration);
    return OPEN;
}

/* 'V' ‖ id ‖ voter's key ‖ choice */
static inline size_t vote_blob(uint8_t *b, uint64_t id, const jk_ex_key *voter, uint8_t choice)
{
    b[0] = 'V';
    jk_put_u64le(b + 1, id);
    memcpy(b + 9, voter->pk, 32);
    b[41] = choice;
    return VOTE;
}

/* Poll id's record (deadline, yes, no) in the chain's state; false when
 * there is no such poll. */
static inline bool poll_record(jk_cap chain, uint64_t id, uint64_t *deadline, uint64_t *yes, uint64_t *no)
{
    uint8_t rec[RECORD];
    jk_cap polls = jk_cap_cnode_get(jk_cap_instance_cnode(chain), 21);
    jk_cap r = jk_cap_cnode_get(jk_cap_cnode_get(polls, (uint32_t)id), 0);
    if (jk_cap_data_len(r) != RECORD || jk_cap_data_read(r, 0, rec, RECORD) != JK_OK)
        return false;
    *deadline = jk_get_u64le(rec);
    *yes = jk_get_u64le(rec + 8);
    *no = jk_get_u64le(rec + 16);
    return true;
}

#endif
