/*
 * common.h — what the crowdfund chain's programs share: slots, blob formats,
 * helpers. Written from the docs alone, starting from `jark chain new
 * crowdfund`: accounts of a token given at genesis, campaigns with a goal
 * and a deadline in block numbers, pledges that leave the backer's balance
 * for the campaign until the deadline, then either the creator claims what
 * was raised (the goal was met) or each backer takes their pledge back (it
 * was not). README.md has the tables.
 *
 *   create  'C' ‖ acct u64 ‖ nonce u64 ‖ campaign u64 ‖ goal u64 ‖ deadline u64   41 bytes
 *   pledge  'P' ‖ acct u64 ‖ nonce u64 ‖ campaign u64 ‖ amount u64                 33 bytes
 *   claim   'W' ‖ acct u64 ‖ nonce u64 ‖ campaign u64                              25 bytes
 *   refund  'R' ‖ acct u64 ‖ nonce u64 ‖ campaign u64                              25 bytes
 *
 * All are transacts signed by acct's key (the key in acct's record). Pledges
 * count in blocks numbered up to the deadline; claims and refunds in blocks
 * after it. A valid block may hold an event the state no longer lets happen
 * (a spent nonce, a balance already pledged, a campaign id taken): apply
 * skips it. What no honest block holds (a malformed blob, a missing
 * signature) faults apply: the block is invalid.
 */
#ifndef COMMON_H
#define COMMON_H

#include "jark_chain.h" /* REQUIRE, REFUSE_UNLESS, PIN_*, get/put/load/store_u64, read_blob, attest (sdk/) */

enum {
    /* chain state */
    SLOT_ACCOUNTS = 20,  /* Data: ACCOUNT_SIZE-byte records, account i at i × ACCOUNT_SIZE (genesis state) */
    SLOT_CAMPAIGNS = 21, /* CNode 2^8 by campaign id: Data CAMPAIGN_SIZE */
    SLOT_PLEDGES = 22,   /* CNode 2^8 by campaign id, each a CNode 2^8 by account of Data u64 */
    SLOT_HEIGHT = 23,    /* Data u64: the number of the last block applied (absent: 0) */
    /* working slots: empty them before you HALT, or they reach the state */
    SLOT_AA = JK_CHAIN_SLOT_AA, /* 30: where attest() CALLs the AA (sdk/jark_chain.h) */
    SLOT_INPUT = 31,
    SLOT_WORK = 32,
    /* in an event instance: its blob */
    EVENT_BLOB_SLOT = 20,
};

#define MAX_BLOB 64
#define MAX_ACCOUNTS 64
#define MAX_CAMPAIGNS 256
#define CREATE_SIZE 41
#define PLEDGE_SIZE 33
#define SETTLE_SIZE 25 /* claim and refund */
#define NONCE_WINDOW 16
#define MAX_AMOUNT 1000000000000ull /* goals and pledges: sums stay far below 2^64 */
#define MAX_DEADLINE 0xffffffffull

/* An account: key[32] ‖ balance u64 ‖ nonce u64. */
#define ACCOUNT_SIZE 48
enum { A_KEY = 0, A_BALANCE = 32, A_NONCE = 40 };

/* A campaign: creator u64 ‖ goal u64 ‖ deadline u64 ‖ raised u64 ‖ claimed u64. */
#define CAMPAIGN_SIZE 40
enum { C_CREATOR = 0, C_GOAL = 8, C_DEADLINE = 16, C_RAISED = 24, C_CLAIMED = 32 };

/* Refusal codes (verify's FAULT reasons). */
enum {
    WHY_MALFORMED = 1,
    WHY_NO_ACCOUNT = 2,
    WHY_NONCE_USED = 3,
    WHY_NONCE_AHEAD = 4,
    WHY_TOO_LATE = 5,
    WHY_TOO_EARLY_NEVER = 6,
    WHY_NOT_CREATOR = 7,
    WHY_GOAL = 8,
};

/* Is the blob well formed (size, tag, ids in range, amounts 1..MAX_AMOUNT)? */
static inline int blob_ok(const uint8_t *b, uint64_t len)
{
    if (len < SETTLE_SIZE || get_u64(b + 1) >= MAX_ACCOUNTS || get_u64(b + 17) >= MAX_CAMPAIGNS)
        return 0;
    switch (b[0]) {
    case 'C':
        return len == CREATE_SIZE && get_u64(b + 25) >= 1 && get_u64(b + 25) <= MAX_AMOUNT &&
               get_u64(b + 33) <= MAX_DEADLINE;
    case 'P':
        return len == PLEDGE_SIZE && get_u64(b + 25) >= 1 && get_u64(b + 25) <= MAX_AMOUNT;
    case 'W':
    case 'R':
        return len == SETTLE_SIZE;
    default:
        return 0;
    }
}

/* How many accounts genesis gave (the accounts Data's length / ACCOUNT_SIZE). */
static inline uint64_t account_count(void)
{
    return jk_data_len(JK_PATH(SLOT_ACCOUNTS)) / ACCOUNT_SIZE;
}

/* Account id's record into rec; 0 when there is none. */
static inline int load_account(uint64_t id, uint8_t rec[ACCOUNT_SIZE])
{
    if (id >= account_count())
        return 0;
    jk_data_read(JK_PATH(SLOT_ACCOUNTS), id * ACCOUNT_SIZE, ACCOUNT_SIZE, rec);
    return 1;
}

/* Campaign id's record into rec; 0 when there is none. */
static inline int load_campaign(uint64_t id, uint8_t rec[CAMPAIGN_SIZE])
{
    return id < MAX_CAMPAIGNS && load_fixed(JK_PATH2(SLOT_CAMPAIGNS, id), rec, CAMPAIGN_SIZE);
}

static inline void store_campaign(uint64_t id, const uint8_t rec[CAMPAIGN_SIZE])
{
    if (jk_cap_kind(JK_PATH(SLOT_CAMPAIGNS)) == JK_KIND_NONE)
        jk_cnode_mint(JK_PATH(SLOT_CAMPAIGNS), 8);
    jk_drop(JK_PATH2(SLOT_CAMPAIGNS, id));
    jk_data_mint(rec, CAMPAIGN_SIZE, JK_PATH2(SLOT_CAMPAIGNS, id));
}

/* pledge[campaign][account] (absent: 0). CAP_KIND and DATA_LEN read a path
 * through an absent CNode as empty (docs/abi.md). */
static inline uint64_t load_pledge(uint64_t campaign, uint64_t acct)
{
    return load_u64(JK_PATH3(SLOT_PLEDGES, campaign, acct));
}

static inline void store_pledge(uint64_t campaign, uint64_t acct, uint64_t amount)
{
    if (jk_cap_kind(JK_PATH(SLOT_PLEDGES)) == JK_KIND_NONE)
        jk_cnode_mint(JK_PATH(SLOT_PLEDGES), 8);
    if (jk_cap_kind(JK_PATH2(SLOT_PLEDGES, campaign)) == JK_KIND_NONE)
        jk_cnode_mint(JK_PATH2(SLOT_PLEDGES, campaign), 8);
    if (amount == 0)
        jk_drop(JK_PATH3(SLOT_PLEDGES, campaign, acct)); /* zero is absent: one state per meaning */
    else
        store_u64(JK_PATH3(SLOT_PLEDGES, campaign, acct), amount);
}

#endif
