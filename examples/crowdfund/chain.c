/* chain.c — the crowdfund chain's ChainImage: apply, and the transform to
 * verify. The chain has no dispatch endpoint (spec "dispatch": []), so its
 * image has two endpoints: 0 apply, 1 transform_to_verify.
 *
 * apply: slot[0] = {0: body, 1: AA, 2: the block context (16 bytes: number
 * u64 ‖ proposer u32 ‖ round u32; docs/abi.md, "apply's scratchpad")}. Each
 * event is attested again by its account's key (so an importer checks the
 * block's signatures), then applied, or skipped when the state no longer
 * lets it: a nonce that is not the account's, a campaign id taken, a
 * deadline that passed, a balance too small, a claim or a refund whose time
 * has not come or whose campaign went the other way. The block number is
 * kept in slot 23 for verify. Emits nothing. Returns the number of events
 * applied. */
#include "common.h"

static uint8_t blob[MAX_BLOB];
static uint8_t table[MAX_ACCOUNTS * ACCOUNT_SIZE]; /* the accounts Data while apply changes it */
static uint64_t table_len;
static int table_dirty;

static uint8_t *account(uint64_t id)
{
    return table + id * ACCOUNT_SIZE;
}

/* The signer's record (attested), or NULL when its nonce is not the
 * account's: the event is skipped. */
static uint8_t *signer_ready(const uint8_t *b, uint64_t len)
{
    uint64_t id = get_u64(b + 1);
    REQUIRE(id * ACCOUNT_SIZE < table_len); /* verify saw it; accounts are never removed */
    uint8_t *rec = account(id);
    attest(rec + A_KEY, b, len);
    if (get_u64(b + 9) != get_u64(rec + A_NONCE))
        return 0;
    return rec;
}

static void spend_nonce(uint8_t *rec)
{
    put_u64(rec + A_NONCE, get_u64(rec + A_NONCE) + 1);
    table_dirty = 1;
}

static void credit(uint8_t *rec, uint64_t amount)
{
    put_u64(rec + A_BALANCE, get_u64(rec + A_BALANCE) + amount);
    table_dirty = 1;
}

static int apply_create(const uint8_t *b, uint64_t number)
{
    uint8_t c[CAMPAIGN_SIZE];
    uint8_t *rec = signer_ready(b, CREATE_SIZE);
    if (!rec || load_campaign(get_u64(b + 17), c) || get_u64(b + 33) <= number)
        return 0; /* a spent nonce, an id taken earlier, a deadline already past */
    spend_nonce(rec);
    memset(c, 0, sizeof c);
    put_u64(c + C_CREATOR, get_u64(b + 1));
    put_u64(c + C_GOAL, get_u64(b + 25));
    put_u64(c + C_DEADLINE, get_u64(b + 33));
    store_campaign(get_u64(b + 17), c);
    return 1;
}

static int apply_pledge(const uint8_t *b, uint64_t number)
{
    uint8_t c[CAMPAIGN_SIZE];
    uint64_t id = get_u64(b + 17), acct = get_u64(b + 1), amount = get_u64(b + 25);
    uint8_t *rec = signer_ready(b, PLEDGE_SIZE);
    if (!rec || !load_campaign(id, c) || number > get_u64(c + C_DEADLINE) || get_u64(rec + A_BALANCE) < amount)
        return 0;
    spend_nonce(rec);
    put_u64(rec + A_BALANCE, get_u64(rec + A_BALANCE) - amount);
    put_u64(c + C_RAISED, get_u64(c + C_RAISED) + amount);
    store_campaign(id, c);
    store_pledge(id, acct, load_pledge(id, acct) + amount);
    return 1;
}

/* The creator takes what was raised: after the deadline, the goal met, once. */
static int apply_claim(const uint8_t *b, uint64_t number)
{
    uint8_t c[CAMPAIGN_SIZE];
    uint64_t id = get_u64(b + 17);
    uint8_t *rec = signer_ready(b, SETTLE_SIZE);
    if (!rec || !load_campaign(id, c) || get_u64(c + C_CREATOR) != get_u64(b + 1) ||
        number <= get_u64(c + C_DEADLINE) || get_u64(c + C_RAISED) < get_u64(c + C_GOAL) || get_u64(c + C_CLAIMED))
        return 0;
    spend_nonce(rec);
    credit(rec, get_u64(c + C_RAISED));
    put_u64(c + C_CLAIMED, 1);
    store_campaign(id, c);
    jk_drop(JK_PATH2(SLOT_PLEDGES, id)); /* the pledges are spent: nothing to refund */
    return 1;
}

/* A backer takes their pledge back: after the deadline, the goal missed. */
static int apply_refund(const uint8_t *b, uint64_t number)
{
    uint8_t c[CAMPAIGN_SIZE];
    uint64_t id = get_u64(b + 17), acct = get_u64(b + 1);
    uint8_t *rec = signer_ready(b, SETTLE_SIZE);
    if (!rec || !load_campaign(id, c) || number <= get_u64(c + C_DEADLINE) ||
        get_u64(c + C_RAISED) >= get_u64(c + C_GOAL))
        return 0;
    uint64_t pledged = load_pledge(id, acct);
    if (pledged == 0)
        return 0;
    spend_nonce(rec);
    credit(rec, pledged);
    put_u64(c + C_RAISED, get_u64(c + C_RAISED) - pledged);
    store_campaign(id, c);
    store_pledge(id, acct, 0);
    return 1;
}

uint64_t apply(void)
{
    uint8_t ctx[16];
    REQUIRE(read_blob(JK_PATH2(0, 2), ctx, sizeof ctx) == 16);
    uint64_t number = get_u64(ctx);
    jk_move(JK_PATH2(0, 1), JK_PATH(SLOT_AA));
    jk_move(JK_PATH2(0, 0), JK_PATH(SLOT_INPUT));
    jk_drop(JK_SLOT0);
    table_len = account_count() * ACCOUNT_SIZE;
    REQUIRE(table_len <= sizeof table);
    jk_data_read(JK_PATH(SLOT_ACCOUNTS), 0, table_len, table);
    table_dirty = 0;
    uint64_t applied = 0;
    for (uint64_t i = 0; jk_cap_kind(JK_PATH2(SLOT_INPUT, i)) != JK_KIND_NONE; i++) {
        uint8_t target[4];
        REQUIRE(read_blob(JK_PATH3(SLOT_INPUT, i, 0), target, 4) == 4);
        REQUIRE(target[0] == 0 && target[1] == 0 && target[2] == 0 && target[3] == 0);
        uint64_t len = read_blob(JK_PATH3(SLOT_INPUT, i, 1), blob, sizeof blob);
        REQUIRE(blob_ok(blob, len)); /* malformed: the block is invalid */
        switch (blob[0]) {
        case 'C':
            applied += (uint64_t)apply_create(blob, number);
            break;
        case 'P':
            applied += (uint64_t)apply_pledge(blob, number);
            break;
        case 'W':
            applied += (uint64_t)apply_claim(blob, number);
            break;
        case 'R':
            applied += (uint64_t)apply_refund(blob, number);
            break;
        }
    }
    if (table_dirty) {
        jk_drop(JK_PATH(SLOT_ACCOUNTS));
        jk_data_mint(table, table_len, JK_PATH(SLOT_ACCOUNTS));
    }
    store_u64(JK_PATH(SLOT_HEIGHT), number);
    jk_drop(JK_PATH(SLOT_AA));
    jk_drop(JK_PATH(SLOT_INPUT));
    return applied;
}

JK_CHAIN_ENDPOINTS_0(apply); /* 0 apply, 1 transform_to_verify (sdk/jark_chain.h) */
