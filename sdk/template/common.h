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

#include "jark.h"

#include <stdint.h>
#include <string.h>

#define REQUIRE(cond)                                                          \
    do {                                                                       \
        if (!(cond))                                                           \
            __builtin_trap();                                                  \
    } while (0)

/* Refuse with a reason: the FAULT host call carries a code and a short text
 * to whoever runs the chain ("verify did not HALT: program fault, reason 1:
 * malformed message"), where REQUIRE only says the program faulted. Use it
 * for what users get wrong. */
#define REFUSE_UNLESS(cond, code, text)                                        \
    do {                                                                       \
        if (!(cond))                                                           \
            jk_fault((code), (text), sizeof(text) - 1);                        \
    } while (0)

enum {
    /* pinned images (docs/chain-spec.md): the kernel's layout */
    PIN_VERIFY = 1,
    PIN_TRANSACT = 2,
    PIN_DISPATCH_INSTANCE = 3,
    PIN_AA = 4,
    PIN_DISPATCH_0 = 5,
    /* chain state: slots 20..255 are yours */
    SLOT_COUNT = 20, /* Data u64: messages applied (absent: 0) */
    SLOT_LAST = 21,  /* Data: the last message applied */
    /* working slots: empty them before you HALT, or they reach the state */
    SLOT_AA = 30,
    SLOT_INPUT = 31,
    SLOT_WORK = 32,
    /* in an event instance: its blob */
    EVENT_BLOB_SLOT = 20,
};

#define MAX_BLOB 256
#define MESSAGE_HEAD 33 /* 'M' ‖ author[32] ‖ text (1..200 bytes) */
#define PING_SIZE 33    /* 'P' ‖ key[32] */

static inline uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static inline void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* The Data at `path` as a u64 (absent: 0). */
static inline uint64_t load_u64(uint64_t path)
{
    uint8_t b[8];
    if (jk_cap_kind(path) != JK_KIND_DATA)
        return 0;
    REQUIRE(jk_data_len(path) == 8);
    jk_data_read(path, 0, 8, b);
    return get_u64(b);
}

static inline void store_u64(uint64_t path, uint64_t v)
{
    uint8_t b[8];
    put_u64(b, v);
    jk_drop(path);
    jk_data_mint(b, 8, path);
}

/* Read the Data at `path` into buf (at most cap bytes, else fault). */
static inline uint64_t read_blob(uint64_t path, uint8_t *buf, uint64_t cap)
{
    uint64_t len = jk_data_len(path);
    REQUIRE(len > 0 && len <= cap);
    jk_data_read(path, 0, len, buf);
    return len;
}

/* "key attests blob": returns only when it does (the kernel checks the
 * event's signature; a refusal aborts the whole call). */
static inline void attest(const uint8_t key[32], const uint8_t *blob, uint64_t len)
{
    jk_drop(JK_SLOT0);
    jk_cnode_mint(JK_SLOT0, 2);
    jk_data_mint(key, 32, JK_PATH2(0, 0));
    jk_data_mint(blob, len, JK_PATH2(0, 1));
    REQUIRE(jk_call(JK_PATH(SLOT_AA), 0, jk_gas(), 0, 0, 0).outcome == JK_OUTCOME_HALT);
    jk_drop(JK_SLOT0);
}

/* A message: 'M' ‖ author[32] ‖ 1..200 bytes of text, signed by the author. */
static inline int message_ok(const uint8_t *blob, uint64_t len)
{
    return len > MESSAGE_HEAD && len <= MESSAGE_HEAD + 200 && blob[0] == 'M';
}

#endif
