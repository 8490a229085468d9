/*
 * contracts.h — what the contracts chain's programs share: slots, event
 * formats, the contract ABI, helpers. README.md says how the chain works.
 *
 * A contract is an Instance kept in chain state, under its owner's account
 * CNode, made by DERIVE_SPAWN from one of the chain's library images (the
 * images the spec lists under programs.dispatch: jark has no host call that
 * makes an Image from bytes, so code reaches a chain only through its spec).
 * apply CALLs a *copy* of the contract with the gas the event names and puts
 * the copy back only when it HALTs cleanly: a contract that faults, runs out
 * of gas, yields or answers with something in slot[0] leaves the state as
 * if its call never happened, and the rest of the block applies.
 *
 * Rejecting is faulting: REFUSE_UNLESS in verify drops the event with a
 * reason; REQUIRE in apply makes the block invalid (only for what no honest
 * block can hold: a malformed blob). Anything a user can get wrong in a
 * well-formed event — a stale nonce, a contract that misbehaves, too little
 * credit — apply records and skips, so one user cannot stall the chain.
 */
#ifndef CONTRACTS_H
#define CONTRACTS_H

#include "jark_chain.h" /* REQUIRE, REFUSE_UNLESS, PIN_*, get/put/load/store_u64, read_blob, attest (sdk/) */

enum {
    PIN_LIBRARY_0 = 5, /* library image k = Dispatch_k_Image, pinned in 5 + k */
    /* chain state */
    SLOT_CONFIG = 20,   /* Data: governance key[32] ‖ initial credit u64 LE */
    SLOT_ACCOUNTS = 21, /* CNode 2^8: account i (registration order) */
    /* working slots of apply / verify: emptied before they HALT */
    SLOT_AA = JK_CHAIN_SLOT_AA, /* 30: where attest() CALLs the AA (sdk/jark_chain.h) */
    SLOT_INPUT = 31,
    SLOT_CALLEE = 32, /* the copy of the contract being CALLed */
    SLOT_WORK = 33,
    SLOT_CHILD = 34,
    /* in an event instance: its blob */
    EVENT_BLOB_SLOT = 20,
};

/* An account: a CNode of 2^5 slots under SLOT_ACCOUNTS. */
enum {
    ACCOUNTS_LOG2 = 8,
    MAX_ACCOUNTS = 1 << ACCOUNTS_LOG2,
    ACCOUNT_LOG2 = 5,
    ACCOUNT_KEY = 0,       /* Data: the account's Ed25519 public key */
    ACCOUNT_META = 1,      /* Data: META_SIZE bytes, below */
    ACCOUNT_CONTRACT0 = 8, /* contract j (0..15) in slot 8 + j */
    MAX_CONTRACTS = 16,
};

/* meta: six u64 LE: the nonce the account's next event carries; its gas
 * credit; and what its last event did (op, outcome, code, gas spent). */
enum { META_NONCE = 0, META_CREDIT = 8, META_OP = 16, META_OUTCOME = 24, META_CODE = 32, META_GAS = 40, META_SIZE = 48 };

/* What an event did, recorded in its signer's meta (META_OUTCOME); code
 * (META_CODE) is the call's value on OK, the fault code on FAULT. */
enum {
    OUT_OK = 0,          /* done (a call: the contract HALTed; code = its value) */
    OUT_FAULT = 1,       /* the contract faulted (code = the fault code, docs/abi.md) */
    OUT_OUT_OF_GAS = 2,  /* the contract ran out of the event's gas */
    OUT_YIELDED = 3,     /* the contract yielded (nobody here answers) */
    OUT_BAD_SLOT0 = 4,   /* the contract HALTed with something in slot[0] */
    OUT_NO_CREDIT = 5,   /* the event's gas is more than the account's credit */
    OUT_NO_CONTRACT = 6, /* no contract at that owner and index */
    OUT_BLOCK_GAS = 7,   /* the block's gas could not cover the event's */
    OUT_OCCUPIED = 8,    /* deploy: the index holds a contract already */
    OUT_BAD_EXPORT = 9,  /* upgrade: the old contract did not export its storage */
};

/* Events (transacts), each signed by `key`:
 *   head   op u8 ‖ key[32] ‖ nonce u64                               41 bytes
 *   'D'    head ‖ lib u8 ‖ index u8 ‖ init u64                        deploy
 *   'C'    head ‖ owner[32] ‖ index u8 ‖ gas u64 ‖ arg u64             call
 *   'U'    head ‖ owner[32] ‖ index u8 ‖ lib u8       upgrade (governance)
 *   'F'    head ‖ account[32] ‖ amount u64               fund (governance)
 * nonce: the signer's account's next nonce (0 for a key with no account):
 * an event applies at most once. verify takes up to NONCE_WINDOW - 1 past
 * it (so a key's events may be sent together, in order); apply skips one
 * whose nonce is not the account's when it gets there. */
#define HEAD 41
#define DEPLOY_SIZE (HEAD + 10)
#define CALL_SIZE (HEAD + 49)
#define UPGRADE_SIZE (HEAD + 34)
#define FUND_SIZE (HEAD + 40)
#define MAX_BLOB 128
#define NLIB 3 /* library images: programs.dispatch of the spec, in order */
#define NONCE_WINDOW 16          /* verify takes nonces next .. next + 15 */
#define MAX_CALL_GAS 50000000ull /* a call's gas: 1..this */
#define EXPORT_GAS 1000000ull    /* what an upgrade gives the old contract's export */
#define APPLY_RESERVE 2000000ull /* apply keeps this much for itself after a call */

/* The contract ABI: every library image has these endpoints. */
enum {
    EP_PROCESS = 0, /* the Dispatch_k role the kernel runs once per cycle: no-op */
    EP_CALL = 1,    /* call(arg) → value; slot[0] empty on entry, must be empty at HALT */
    EP_EXPORT = 2,  /* slot[0] := its storage Data (for an upgrade) */
    CONTRACT_STORAGE = 20, /* a contract's storage: a Data in slot 20 of its cnode */
    CONTRACT_CHILD = 21,   /* a hostile contract's own counter (an Instance) */
};

/* The library, in the spec's programs.dispatch order. */
enum { LIB_COUNTER = 0, LIB_COUNTER_V2 = 1, LIB_HOSTILE = 2 };

/* A well-formed event (what verify refuses and apply REQUIREs): the size of its op, and its fields in range. */
static inline int event_ok(const uint8_t *b, uint64_t len)
{
    switch (len ? b[0] : 0) {
    case 'D':
        return len == DEPLOY_SIZE && b[HEAD] < NLIB && b[HEAD + 1] < MAX_CONTRACTS;
    case 'C': {
        if (len != CALL_SIZE || b[HEAD + 32] >= MAX_CONTRACTS)
            return 0;
        uint64_t gas = get_u64(b + HEAD + 33);
        return gas >= 1 && gas <= MAX_CALL_GAS;
    }
    case 'U':
        return len == UPGRADE_SIZE && b[HEAD + 32] < MAX_CONTRACTS && b[HEAD + 33] < NLIB;
    case 'F':
        return len == FUND_SIZE;
    default:
        return 0;
    }
}

/* The account index of `key`, or -1. Accounts fill 0, 1, … in order. */
static inline int64_t account_find(const uint8_t key[32])
{
    uint8_t k[32];
    for (uint64_t i = 0; i < MAX_ACCOUNTS; i++) {
        if (jk_cap_kind(JK_PATH2(SLOT_ACCOUNTS, i)) != JK_KIND_CNODE)
            return -1;
        jk_data_read(JK_PATH3(SLOT_ACCOUNTS, i, ACCOUNT_KEY), 0, 32, k);
        if (memcmp(k, key, 32) == 0)
            return (int64_t)i;
    }
    return -1;
}

/* Where account a's contract j lives. */
static inline uint64_t contract_path(uint64_t a, uint64_t j)
{
    return JK_PATH3(SLOT_ACCOUNTS, a, ACCOUNT_CONTRACT0 + j);
}

static inline void meta_read(uint64_t account, uint8_t meta[META_SIZE])
{
    jk_data_read(JK_PATH3(SLOT_ACCOUNTS, account, ACCOUNT_META), 0, META_SIZE, meta);
}

static inline void config_read(uint8_t gov[32], uint64_t *initial_credit)
{
    uint8_t c[40];
    REQUIRE(jk_cap_kind(JK_PATH(SLOT_CONFIG)) == JK_KIND_DATA && jk_data_len(JK_PATH(SLOT_CONFIG)) == 40);
    jk_data_read(JK_PATH(SLOT_CONFIG), 0, 40, c);
    memcpy(gov, c, 32);
    *initial_credit = get_u64(c + 32);
}

#endif
