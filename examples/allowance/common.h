/*
 * common.h — what the allowance chain's programs share: slots, blob formats,
 * helpers. Written from the docs alone, starting from `jark chain new
 * allowance`: a token with allowances (an owner lets a spender move up to
 * an amount of its balance; the spender signs the spend, not the owner) and
 * a faucet that a dispatch endpoint rate-limits: each account gets at most
 * one drip per epoch of EPOCH_BLOCKS blocks, and at most MAX_GRANTS accounts
 * per cycle. README.md has the tables.
 *
 *   open     'O' ‖ id u64 ‖ key[32]                       41 bytes, transact, signed by key
 *   transfer 'T' ‖ from u64 ‖ nonce u64 ‖ to u64 ‖ amount u64
 *                                                         33 bytes, transact, signed by from's key
 *   approve  'A' ‖ owner u64 ‖ nonce u64 ‖ spender u64 ‖ amount u64
 *                                                         33 bytes, transact, signed by owner's key:
 *                                                         allowance[owner][spender] := amount
 *   spend    'S' ‖ spender u64 ‖ nonce u64 ‖ owner u64 ‖ to u64 ‖ amount u64
 *                                                         41 bytes, transact, signed by spender's key
 *   drip     'D' ‖ id u64 ‖ epoch u64                     17 bytes, dispatch endpoint 0, signed by id's key
 *   grant    'G' ‖ n u8 ‖ n × (id u64 ‖ epoch u64)        2 + 16n bytes, emitted by process only
 *
 * Every signed transact but open carries the signer's account nonce: verify
 * takes a nonce in [nonce, nonce + NONCE_WINDOW) (docs/events-format.md: a
 * node remembers a refusal, so verify must not refuse a nonce that is only
 * early), apply applies it only when it equals the account's and skips it
 * otherwise. What a valid block may hold but comes too late (a spent
 * nonce, a balance or an allowance already used, an id already taken, a
 * drip in an epoch already served) is skipped; what no honest block holds
 * (a malformed blob, a missing signature) faults apply.
 */
#ifndef COMMON_H
#define COMMON_H

#include "jark_chain.h" /* REQUIRE, REFUSE_UNLESS, PIN_*, get/put/load/store_u64, read_blob, attest (sdk/) */

enum {
    /* chain state */
    SLOT_ACCOUNTS = 20,   /* CNode 2^8: slot id = account id's record (absent until the first open) */
    SLOT_ALLOWANCES = 21, /* CNode 2^8 by owner id, each a CNode 2^8 by spender id of Data u64 */
    SLOT_FAUCET = 22,     /* Data u64: what the faucet has left to give (genesis state) */
    SLOT_HEIGHT = 23,     /* Data u64: the number of the last block applied (absent: 0) */
    /* working slots: empty them before you HALT, or they reach the state */
    SLOT_AA = JK_CHAIN_SLOT_AA, /* 30: where attest() CALLs the AA (sdk/jark_chain.h) */
    SLOT_INPUT = 31,
    SLOT_WORK = 32,
    /* in an event instance: its blob */
    EVENT_BLOB_SLOT = 20,
};

#define MAX_BLOB 160
#define MAX_ACCOUNTS 256
#define OPEN_SIZE 41
#define MOVE_SIZE 33 /* transfer and approve */
#define SPEND_SIZE 41
#define DRIP_SIZE 17
#define MAX_GRANTS 8
#define GRANT_HEAD 2
#define NONCE_WINDOW 16
#define DRIP_AMOUNT 100
#define EPOCH_BLOCKS 4
#define MAX_AMOUNT 1000000000000ull /* per event: balances stay far below 2^64 */

/* An account: key[32] ‖ balance u64 ‖ nonce u64 ‖ next_epoch u64 (the
 * first epoch it may drip in) — 56 bytes. */
#define RECORD_SIZE 56
enum { R_KEY = 0, R_BALANCE = 32, R_NONCE = 40, R_NEXT_EPOCH = 48 };

/* Refusal codes (verify's FAULT reasons). */
enum {
    WHY_MALFORMED = 1,
    WHY_NO_ACCOUNT = 2,
    WHY_ID_TAKEN = 3,
    WHY_NONCE = 4,
    WHY_BALANCE = 5,
    WHY_ALLOWANCE = 6,
    WHY_EPOCH = 7,
    WHY_FAUCET_EMPTY = 8,
    WHY_PROCESS_ONLY = 9,
};

/* Is the blob well formed (sizes, tags, ids < 256, amounts 1..MAX_AMOUNT)? */
static inline int blob_ok(const uint8_t *b, uint64_t len)
{
    if (len == 0)
        return 0;
    switch (b[0]) {
    case 'O':
        return len == OPEN_SIZE && get_u64(b + 1) < MAX_ACCOUNTS;
    case 'T':
    case 'A':
        return len == MOVE_SIZE && get_u64(b + 1) < MAX_ACCOUNTS && get_u64(b + 17) < MAX_ACCOUNTS &&
               get_u64(b + 17) != get_u64(b + 1) && (b[0] == 'A' || get_u64(b + 25) > 0) &&
               get_u64(b + 25) <= MAX_AMOUNT;
    case 'S':
        return len == SPEND_SIZE && get_u64(b + 1) < MAX_ACCOUNTS && get_u64(b + 17) < MAX_ACCOUNTS &&
               get_u64(b + 25) < MAX_ACCOUNTS && get_u64(b + 17) != get_u64(b + 1) &&
               get_u64(b + 33) > 0 && get_u64(b + 33) <= MAX_AMOUNT;
    case 'D':
        return len == DRIP_SIZE && get_u64(b + 1) < MAX_ACCOUNTS;
    case 'G': {
        if (len < GRANT_HEAD + 16 || b[1] < 1 || b[1] > MAX_GRANTS || len != GRANT_HEAD + 16u * b[1])
            return 0;
        for (unsigned i = 0; i < b[1]; i++)
            if (get_u64(b + GRANT_HEAD + 16 * i) >= MAX_ACCOUNTS)
                return 0;
        return 1;
    }
    default:
        return 0;
    }
}

/* Account id's record into rec; 0 when there is none. */
static inline int load_account(uint64_t id, uint8_t rec[RECORD_SIZE])
{
    return id < MAX_ACCOUNTS && load_fixed(JK_PATH2(SLOT_ACCOUNTS, id), rec, RECORD_SIZE);
}

static inline void store_account(uint64_t id, const uint8_t rec[RECORD_SIZE])
{
    if (jk_cap_kind(JK_PATH(SLOT_ACCOUNTS)) == JK_KIND_NONE)
        jk_cnode_mint(JK_PATH(SLOT_ACCOUNTS), 8);
    jk_drop(JK_PATH2(SLOT_ACCOUNTS, id));
    jk_data_mint(rec, RECORD_SIZE, JK_PATH2(SLOT_ACCOUNTS, id));
}

/* allowance[owner][spender] (absent: 0). CAP_KIND reads a path through an
 * absent CNode as empty (docs/abi.md), so no level needs checking first. */
static inline uint64_t load_allowance(uint64_t owner, uint64_t spender)
{
    return load_u64(JK_PATH3(SLOT_ALLOWANCES, owner, spender));
}

static inline void store_allowance(uint64_t owner, uint64_t spender, uint64_t amount)
{
    if (jk_cap_kind(JK_PATH(SLOT_ALLOWANCES)) == JK_KIND_NONE)
        jk_cnode_mint(JK_PATH(SLOT_ALLOWANCES), 8);
    if (jk_cap_kind(JK_PATH2(SLOT_ALLOWANCES, owner)) == JK_KIND_NONE)
        jk_cnode_mint(JK_PATH2(SLOT_ALLOWANCES, owner), 8);
    if (amount == 0)
        jk_drop(JK_PATH3(SLOT_ALLOWANCES, owner, spender)); /* zero is absent: one state per meaning */
    else
        store_u64(JK_PATH3(SLOT_ALLOWANCES, owner, spender), amount);
}

/* The signer of a transact or drip: its account id (open has none). */
static inline uint64_t signer_id(const uint8_t *b) { return get_u64(b + 1); }

/* The epoch a block number is in. */
static inline uint64_t epoch_of(uint64_t number) { return number / EPOCH_BLOCKS; }

/* Drip blob of grant entry i. */
static inline void grant_drip(const uint8_t *g, unsigned i, uint8_t d[DRIP_SIZE])
{
    d[0] = 'D';
    memcpy(d + 1, g + GRANT_HEAD + 16 * i, 16);
}

#endif
