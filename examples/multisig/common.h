/*
 * common.h — what the multisig chain's programs share: slots, blob formats,
 * helpers. Started from `jark chain new multisig` (a guestbook), made into a
 * wallet chain: wallets owned by up to 8 Ed25519 keys, spent by a threshold
 * of them. README.md has the tables.
 *
 *   create  'C' ‖ id u64 ‖ threshold u8 ‖ count u8 ‖ balance u64 ‖ owners[count][32]
 *           (19 + 32·count bytes, transact, signed by EVERY owner: count
 *           traces in one event).
 *   spend   'S' ‖ id u64 ‖ nonce u64 ‖ to u64 ‖ amount u64 ‖ signers u8
 *           (34 bytes, transact, signed by each owner i whose bit i is set in
 *           signers; at least `threshold` of them).
 *   approve 'A' ‖ id u64 ‖ nonce u64 ‖ to u64 ‖ amount u64 ‖ index u8 ‖ key[32]
 *           (66 bytes, dispatch endpoint 0, signed by key = owner `index`):
 *           one owner's vote for a proposal, sent alone. process gathers a
 *           cycle's approvals; a proposal with `threshold` of them is emitted
 *           as an execute, and the approvals' signatures travel with it.
 *   execute 'X' ‖ id u64 ‖ nonce u64 ‖ to u64 ‖ amount u64 ‖ approvers u8
 *           (34 bytes, emitted by process only: verify refuses it). apply
 *           attests (owner i, the approve blob of owner i) for each bit.
 *
 * Rejecting is faulting (REQUIRE traps, REFUSE_UNLESS faults with a reason):
 * a verify that faults drops the event, a process that faults has its emits
 * dropped, an apply that faults makes the block invalid. What a valid block
 * may hold but comes too late (a spent nonce, a balance already gone, an id
 * already taken earlier in the block) is skipped.
 */
#ifndef COMMON_H
#define COMMON_H

#include "jark_chain.h" /* REQUIRE, REFUSE_UNLESS, PIN_*, get/put/load/store_u64, read_blob, attest (sdk/) */

enum {
    /* chain state */
    SLOT_WALLETS = 20, /* CNode of 2^8 (absent until the first create): slot id = wallet id's record */
    SLOT_SPENDS = 21,  /* Data u64: spends and executes applied so far (absent: 0) */
    /* working slots: empty them before you HALT, or they reach the state */
    SLOT_AA = JK_CHAIN_SLOT_AA, /* 30: where attest() CALLs the AA (sdk/jark_chain.h) */
    SLOT_INPUT = 31,
    SLOT_WORK = 32,
    /* in an event instance: its blob */
    EVENT_BLOB_SLOT = 20,
};

#define MAX_BLOB 320
#define MAX_OWNERS 8
#define MAX_WALLETS 256
#define CREATE_HEAD 19
#define SPEND_SIZE 34 /* spend and execute */
#define APPROVE_SIZE 66
#define MAX_PROPOSALS 32 /* executes process emits per cycle */
#define MAX_BALANCE 1000000000000000ull /* per wallet at create: 256 of them cannot overflow a u64 */

/* A wallet's record: threshold u64 ‖ count u64 ‖ balance u64 ‖ nonce u64 ‖
 * owners[8][32] (unused owners zero): 288 bytes. */
#define RECORD_SIZE 288
enum { R_THRESHOLD = 0, R_COUNT = 8, R_BALANCE = 16, R_NONCE = 24, R_OWNERS = 32 };

/* The owners bits set in `bits` (at most count of them may be set). */
static inline unsigned bit_count(unsigned bits)
{
    unsigned n = 0;
    for (; bits; bits &= bits - 1)
        n++;
    return n;
}

static inline int create_ok(const uint8_t *b, uint64_t len)
{
    if (len < CREATE_HEAD + 32 || b[0] != 'C' || get_u64(b + 1) >= MAX_WALLETS)
        return 0;
    unsigned threshold = b[9], count = b[10];
    if (count < 1 || count > MAX_OWNERS || threshold < 1 || threshold > count ||
        len != CREATE_HEAD + 32u * count || get_u64(b + 11) > MAX_BALANCE)
        return 0;
    for (unsigned i = 0; i < count; i++)
        for (unsigned j = 0; j < i; j++)
            if (memcmp(b + CREATE_HEAD + 32 * i, b + CREATE_HEAD + 32 * j, 32) == 0)
                return 0; /* a repeated owner would count twice toward the threshold */
    return 1;
}

/* spend ('S') and execute ('X') share the layout. */
static inline int spend_ok(const uint8_t *b, uint64_t len, uint8_t tag)
{
    return len == SPEND_SIZE && b[0] == tag && get_u64(b + 1) < MAX_WALLETS && get_u64(b + 17) < MAX_WALLETS &&
           get_u64(b + 17) != get_u64(b + 1) && get_u64(b + 25) > 0 && b[33] != 0;
}

static inline int approve_ok(const uint8_t *b, uint64_t len)
{
    return len == APPROVE_SIZE && b[0] == 'A' && get_u64(b + 1) < MAX_WALLETS && get_u64(b + 17) < MAX_WALLETS &&
           get_u64(b + 17) != get_u64(b + 1) && get_u64(b + 25) > 0 && b[33] < MAX_OWNERS;
}

/* Wallet id's record into rec; 0 when there is none. */
static inline int load_wallet(uint64_t id, uint8_t rec[RECORD_SIZE])
{
    uint64_t path = JK_PATH2(SLOT_WALLETS, id);
    if (id >= MAX_WALLETS || jk_cap_kind(path) != JK_KIND_DATA)
        return 0;
    REQUIRE(jk_data_len(path) == RECORD_SIZE);
    jk_data_read(path, 0, RECORD_SIZE, rec);
    return 1;
}

static inline void store_wallet(uint64_t id, const uint8_t rec[RECORD_SIZE])
{
    if (jk_cap_kind(JK_PATH(SLOT_WALLETS)) == JK_KIND_NONE)
        jk_cnode_mint(JK_PATH(SLOT_WALLETS), 8);
    jk_drop(JK_PATH2(SLOT_WALLETS, id));
    jk_data_mint(rec, RECORD_SIZE, JK_PATH2(SLOT_WALLETS, id));
}

/* Does a spend or execute `b` apply to the state as it is now: the wallet's
 * current nonce, enough balance, an existing destination, the bits naming
 * owners and at least `threshold` of them? */
static inline int spend_applies(const uint8_t rec[RECORD_SIZE], const uint8_t *b)
{
    uint8_t to[RECORD_SIZE];
    unsigned bits = b[33], count = (unsigned)get_u64(rec + R_COUNT);
    return get_u64(b + 9) == get_u64(rec + R_NONCE) && get_u64(b + 25) <= get_u64(rec + R_BALANCE) &&
           (bits >> count) == 0 && bit_count(bits) >= get_u64(rec + R_THRESHOLD) && load_wallet(get_u64(b + 17), to);
}

/* Owner i's approve blob for the proposal of spend/execute `b`. */
static inline void approve_blob(const uint8_t *b, const uint8_t rec[RECORD_SIZE], unsigned i, uint8_t out[APPROVE_SIZE])
{
    out[0] = 'A';
    memcpy(out + 1, b + 1, 32);
    out[33] = (uint8_t)i;
    memcpy(out + 34, rec + R_OWNERS + 32 * i, 32);
}

/* Move amount from wallet `b`'s id to its destination and advance the nonce. */
static inline void spend_do(uint8_t rec[RECORD_SIZE], const uint8_t *b)
{
    uint8_t to[RECORD_SIZE];
    uint64_t amount = get_u64(b + 25), id = get_u64(b + 1), dest = get_u64(b + 17);
    REQUIRE(load_wallet(dest, to));
    put_u64(rec + R_BALANCE, get_u64(rec + R_BALANCE) - amount);
    put_u64(rec + R_NONCE, get_u64(rec + R_NONCE) + 1);
    store_wallet(id, rec);
    put_u64(to + R_BALANCE, get_u64(to + R_BALANCE) + amount);
    store_wallet(dest, to);
}

#endif
