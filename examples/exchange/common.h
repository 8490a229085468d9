/*
 * common.h — what the exchange's programs share: slots, blob formats, the
 * accounts table, helpers. README.md says how the chain works.
 *
 * A batch exchange of one pair (base, quote): limit orders go to dispatch
 * endpoint 0; once per cycle process matches the cycle's orders at one
 * clearing price and emits a settle transact that apply checks and books.
 *
 * Rejecting is faulting (REQUIRE traps, REFUSE_UNLESS faults with a reason):
 * a verify that faults drops the event, a process that faults has its emits
 * dropped, an apply that faults makes the block invalid.
 */
#ifndef COMMON_H
#define COMMON_H

#include "jark_chain.h" /* REQUIRE, REFUSE_UNLESS, PIN_*, get/put/load/store_u64, read_blob, attest (sdk/) */

enum {
    /* chain state */
    SLOT_ACCOUNTS = 20, /* Data: ACCOUNT_SIZE-byte records, in the order genesis gave them */
    SLOT_LAST = 21,     /* Data u64 ‖ u64: the last clearing price and the block it was made in */
    /* working slots: empty them before you HALT, or they reach the state */
    SLOT_AA = JK_CHAIN_SLOT_AA, /* 30: where attest() CALLs the AA (sdk/jark_chain.h) */
    SLOT_INPUT = 31,
    SLOT_WORK = 32,
    SLOT_CONTEXT = 33,
    /* in an event instance: its blob */
    EVENT_BLOB_SLOT = 20,
};

/* An account: key[32] ‖ base u64 ‖ quote u64 ‖ nonce u64. */
#define ACCOUNT_SIZE 56
#define MAX_ACCOUNTS 256

/* An order (dispatch 0, signed by its owner):
 *   'O' ‖ owner[32] ‖ side u8 (1 buy, 2 sell) ‖ amount u64 ‖ limit u64 ‖ nonce u64
 * amount: base units, 1..2^32 − 1; limit: quote units per base unit,
 * 1..2^32 − 1, so amount × limit stays below 2^64 (at 2^32 × 2^32 it would
 * wrap to 0 and a buy would look funded by nothing); a buy pays at most
 * limit, a sell takes at least limit; nonce: the owner's account nonce when
 * it is settled. */
#define ORDER_SIZE 58
#define SIDE_BUY 1
#define SIDE_SELL 2
#define MAX_AMOUNT ((1ull << 32) - 1)

/* A settle (a transact only process makes):
 *   'S' ‖ price u64 ‖ n u8 ‖ n × (order fields after 'O' ‖ filled u64)
 * every entry an order this cycle's process matched, filled 1..amount. */
#define SETTLE_HEAD 10
#define ENTRY_SIZE 65 /* owner[32] side amount limit nonce filled */
#define MAX_ENTRIES 32
#define MAX_BLOB (SETTLE_HEAD + MAX_ENTRIES * ENTRY_SIZE)

/* The accounts table, read whole (it is small) and written back whole. */
typedef struct accounts {
    uint64_t n;
    uint8_t rec[MAX_ACCOUNTS][ACCOUNT_SIZE];
} accounts;

static inline void accounts_load(accounts *a)
{
    a->n = 0;
    if (jk_cap_kind(JK_PATH(SLOT_ACCOUNTS)) != JK_KIND_DATA)
        return;
    uint64_t len = jk_data_len(JK_PATH(SLOT_ACCOUNTS));
    REQUIRE(len % ACCOUNT_SIZE == 0 && len / ACCOUNT_SIZE <= MAX_ACCOUNTS);
    a->n = len / ACCOUNT_SIZE;
    if (len)
        jk_data_read(JK_PATH(SLOT_ACCOUNTS), 0, len, a->rec);
}

static inline void accounts_store(const accounts *a)
{
    jk_drop(JK_PATH(SLOT_ACCOUNTS));
    jk_data_mint(a->rec, a->n * ACCOUNT_SIZE, JK_PATH(SLOT_ACCOUNTS));
}

/* The index of key's account, or -1. */
static inline int64_t account_find(const accounts *a, const uint8_t key[32])
{
    for (uint64_t i = 0; i < a->n; i++)
        if (memcmp(a->rec[i], key, 32) == 0)
            return (int64_t)i;
    return -1;
}

static inline uint64_t acc_base(const accounts *a, int64_t i) { return get_u64(a->rec[i] + 32); }
static inline uint64_t acc_quote(const accounts *a, int64_t i) { return get_u64(a->rec[i] + 40); }
static inline uint64_t acc_nonce(const accounts *a, int64_t i) { return get_u64(a->rec[i] + 48); }

/* An order, parsed. */
typedef struct order {
    const uint8_t *owner;
    uint8_t side;
    uint64_t amount, limit, nonce;
} order;

/* Well formed: length, tag, side, amount and limit in range. */
static inline int order_parse(const uint8_t *blob, uint64_t len, order *o)
{
    if (len != ORDER_SIZE || blob[0] != 'O')
        return 0;
    o->owner = blob + 1;
    o->side = blob[33];
    o->amount = get_u64(blob + 34);
    o->limit = get_u64(blob + 42);
    o->nonce = get_u64(blob + 50);
    return (o->side == SIDE_BUY || o->side == SIDE_SELL) && o->amount >= 1 && o->amount <= MAX_AMOUNT &&
           o->limit >= 1 && o->limit <= MAX_AMOUNT;
}

/* The order blob of a settle entry (what its owner signed). */
static inline void order_of_entry(const uint8_t *entry, uint8_t out[ORDER_SIZE])
{
    out[0] = 'O';
    memcpy(out + 1, entry, ORDER_SIZE - 1);
}

/* Can the account pay for the whole order now? (amount and limit < 2^32,
 * so amount × limit fits in a u64.) */
static inline int order_funded(const accounts *a, int64_t i, const order *o)
{
    if (o->side == SIDE_BUY)
        return o->amount * o->limit <= acc_quote(a, i);
    return o->amount <= acc_base(a, i);
}

#endif
