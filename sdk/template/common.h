/*
 * common.h — what @NAME@'s programs share: slots, blob formats, helpers.
 * Written by `jark chain new`; README.md says what each file does.
 *
 * The chain as it comes is a guestbook: anyone signs a message ('M') and
 * apply counts it and keeps the last one; pings ('P') go through dispatch
 * endpoint 0, whose process counts them once per cycle. Change it into your
 * own chain: docs/tutorial.md walks through one.
 *
 * Rejecting is faulting (REQUIRE traps, REFUSE_UNLESS faults with a reason):
 * a verify that faults drops the event, a process that faults has its emits
 * dropped, an apply that faults makes the block invalid.
 */
#ifndef COMMON_H
#define COMMON_H

#include "jark_chain.h" /* REQUIRE, REFUSE_UNLESS, PIN_*, get/put/load/store_u64, read_blob, attest (sdk/) */

enum {
    /* chain state: slots 20..255 are yours */
    SLOT_COUNT = 20, /* Data u64: messages applied (absent: 0) */
    SLOT_LAST = 21,  /* Data: the last message applied */
    /* working slots: empty them before you HALT, or they reach the state */
    SLOT_AA = JK_CHAIN_SLOT_AA, /* 30: where attest() CALLs the AA (sdk/jark_chain.h) */
    SLOT_INPUT = 31,
    SLOT_WORK = 32,
    /* in an event instance: its blob */
    EVENT_BLOB_SLOT = 20,
};

#define MAX_BLOB 256
#define MESSAGE_HEAD 33 /* 'M' ‖ author[32] ‖ text (1..200 bytes) */
#define PING_SIZE 33    /* 'P' ‖ key[32] */

/* A message: 'M' ‖ author[32] ‖ 1..200 bytes of text, signed by the author. */
static inline int message_ok(const uint8_t *blob, uint64_t len)
{
    return len > MESSAGE_HEAD && len <= MESSAGE_HEAD + 200 && blob[0] == 'M';
}

#endif
