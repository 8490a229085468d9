/*
 * escrow.h — what the escrow chain's programs share: slots, blob formats,
 * helpers. The chain keeps escrow agreements; it moves no money itself, it
 * records who an escrow was settled for, signed by the parties.
 *
 *   open    'O' ‖ id u64 ‖ payer[32] ‖ payee[32] ‖ arbiter[32] ‖ amount u64 ‖ timeout u64
 *           (121 bytes, transact, signed by payer): escrow `id` (< 65536) opens
 *           with a deadline of timeout (1..10000) blocks after the block that
 *           applies it.
 *   settle  'S' ‖ id u64 ‖ outcome u8 ‖ signer_a[32] ‖ signer_b[32]
 *           (74 bytes, transact, signed by BOTH signers: two traces in one
 *           event): two distinct parties of the escrow (payer, payee, arbiter)
 *           settle it, outcome 1 for the payee, 2 back to the payer.
 *   timeout 'T' ‖ id u64 ‖ payer[32]
 *           (41 bytes, dispatch endpoint 0, signed by the payer): the payer
 *           claims an escrow back once its deadline has come. process
 *           gathers a cycle's claims, one per escrow, and emits each as a
 *           transact; apply refunds it if the block's number reached the deadline.
 *
 * Rejecting is faulting: a verify that faults drops the event, an apply
 * that faults makes the block invalid. What a valid block may contain but
 * comes too late (an escrow already settled, an id already taken) is skipped.
 */
#ifndef ESCROW_H
#define ESCROW_H

#include "jark_chain.h" /* REQUIRE, REFUSE_UNLESS, PIN_*, get/put/load/store_u64, read_blob, attest (sdk/) */

enum {
    /* working slots: every program empties them before it HALTs */
    SLOT_AA = JK_CHAIN_SLOT_AA, /* 30: where attest() CALLs the AA (sdk/jark_chain.h) */
    SLOT_INPUT = 31,
    SLOT_WORK = 32,
    /* in an event instance: its blob */
    EVENT_BLOB_SLOT = 20,
};

#define MAX_BLOB 256

enum {
    SLOT_ESCROWS = 20, /* CNode of 2^16: slot id = the escrow's record (absent until the first open) */
    SLOT_HEIGHT = 21,  /* Data u64: the number of the last block applied (absent: 0) */
    SLOT_CTX = 33,     /* working: apply's block context */
};

#define OPEN_SIZE 121
#define SETTLE_SIZE 74
#define TIMEOUT_SIZE 41
#define MAX_TIMEOUT 10000
#define MAX_CLAIMS 64 /* timeout claims process emits per cycle */

/* A record: payer[32] ‖ payee[32] ‖ arbiter[32] ‖ amount u64 ‖ deadline u64 ‖
 * status u64 (0 open, 1 paid to the payee, 2 refunded) ‖ settled_at u64. */
#define RECORD_SIZE 128
enum { R_PAYER = 0, R_PAYEE = 32, R_ARBITER = 64, R_AMOUNT = 96, R_DEADLINE = 104, R_STATUS = 112, R_SETTLED = 120 };
enum { OPEN = 0, PAID = 1, REFUNDED = 2 };

static inline uint64_t blob_id(const uint8_t *blob) { return get_u64(blob + 1); }

static inline int open_ok(const uint8_t *b, uint64_t len)
{
    if (len != OPEN_SIZE || b[0] != 'O' || blob_id(b) >= 65536)
        return 0;
    uint64_t amount = get_u64(b + 105), timeout = get_u64(b + 113);
    return amount > 0 && timeout >= 1 && timeout <= MAX_TIMEOUT;
}

static inline int settle_ok(const uint8_t *b, uint64_t len)
{
    return len == SETTLE_SIZE && b[0] == 'S' && blob_id(b) < 65536 && (b[9] == PAID || b[9] == REFUNDED) &&
           memcmp(b + 10, b + 42, 32) != 0;
}

static inline int timeout_ok(const uint8_t *b, uint64_t len)
{
    return len == TIMEOUT_SIZE && b[0] == 'T' && blob_id(b) < 65536;
}

/* Escrow id's record into rec; 0 when there is none. */
static inline int load_record(uint64_t id, uint8_t rec[RECORD_SIZE])
{
    uint64_t path = JK_PATH2(SLOT_ESCROWS, id);
    if (jk_cap_kind(path) != JK_KIND_DATA)
        return 0;
    REQUIRE(jk_data_len(path) == RECORD_SIZE);
    jk_data_read(path, 0, RECORD_SIZE, rec);
    return 1;
}

static inline void store_record(uint64_t id, const uint8_t rec[RECORD_SIZE])
{
    if (jk_cap_kind(JK_PATH(SLOT_ESCROWS)) == JK_KIND_NONE)
        jk_cnode_mint(JK_PATH(SLOT_ESCROWS), 16);
    jk_drop(JK_PATH2(SLOT_ESCROWS, id));
    jk_data_mint(rec, RECORD_SIZE, JK_PATH2(SLOT_ESCROWS, id));
}

static inline int is_party(const uint8_t rec[RECORD_SIZE], const uint8_t *key)
{
    return memcmp(rec + R_PAYER, key, 32) == 0 || memcmp(rec + R_PAYEE, key, 32) == 0 ||
           memcmp(rec + R_ARBITER, key, 32) == 0;
}

/* A settle for an open escrow by two of its parties. */
static inline int settle_applies(const uint8_t rec[RECORD_SIZE], const uint8_t *b)
{
    return get_u64(rec + R_STATUS) == OPEN && is_party(rec, b + 10) && is_party(rec, b + 42);
}

#endif
