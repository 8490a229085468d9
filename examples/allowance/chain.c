/* chain.c — the allowance chain's ChainImage: apply, and the transforms.
 *
 * apply: slot[0] = {0: body, 1: AA, 2: the block context (16 bytes: number
 * u64 ‖ proposer u32 ‖ round u32)}. Each event is attested again (so an
 * importer checks the block's signatures) and then applied, or skipped when
 * the state no longer lets it (a spent nonce, too little balance or
 * allowance, an id taken, a drip whose epoch was served or has not begun).
 * A grant comes from the faucet's process; its drips' signatures travel
 * with it (process attested them), and apply attests each again, in order.
 * The block number is kept in slot 23 for verify. Emits nothing. Returns
 * the number of events applied. */
#include "common.h"

static uint8_t blob[MAX_BLOB];

static int apply_open(const uint8_t *b)
{
    uint8_t rec[RECORD_SIZE];
    attest(b + 9, b, OPEN_SIZE);
    if (load_account(get_u64(b + 1), rec))
        return 0; /* taken earlier in this block */
    memset(rec, 0, sizeof rec);
    memcpy(rec + R_KEY, b + 9, 32);
    store_account(get_u64(b + 1), rec);
    return 1;
}

/* The signer's record after attesting it signed b; 0 when its nonce is not
 * the account's (the event is skipped). */
static int signer_ready(const uint8_t *b, uint64_t len, uint8_t rec[RECORD_SIZE])
{
    REQUIRE(load_account(signer_id(b), rec)); /* verify saw it; accounts are never removed */
    attest(rec + R_KEY, b, len);
    return get_u64(b + 9) == get_u64(rec + R_NONCE);
}

static void bump_nonce(uint64_t id, uint8_t rec[RECORD_SIZE])
{
    put_u64(rec + R_NONCE, get_u64(rec + R_NONCE) + 1);
    store_account(id, rec);
}

/* amount from account `from` to account `to` (both exist; from has it). */
static void move_balance(uint64_t from, uint64_t to, uint64_t amount)
{
    uint8_t rec[RECORD_SIZE];
    REQUIRE(load_account(from, rec));
    put_u64(rec + R_BALANCE, get_u64(rec + R_BALANCE) - amount);
    store_account(from, rec);
    REQUIRE(load_account(to, rec)); /* read again: `to` may be `from` */
    put_u64(rec + R_BALANCE, get_u64(rec + R_BALANCE) + amount);
    store_account(to, rec);
}

static int apply_transfer(const uint8_t *b)
{
    uint8_t rec[RECORD_SIZE], to[RECORD_SIZE];
    uint64_t from = signer_id(b), amount = get_u64(b + 25);
    if (!signer_ready(b, MOVE_SIZE, rec) || get_u64(rec + R_BALANCE) < amount || !load_account(get_u64(b + 17), to))
        return 0;
    bump_nonce(from, rec);
    move_balance(from, get_u64(b + 17), amount);
    return 1;
}

static int apply_approve(const uint8_t *b)
{
    uint8_t rec[RECORD_SIZE], spender[RECORD_SIZE];
    uint64_t owner = signer_id(b);
    if (!signer_ready(b, MOVE_SIZE, rec) || !load_account(get_u64(b + 17), spender))
        return 0;
    bump_nonce(owner, rec);
    store_allowance(owner, get_u64(b + 17), get_u64(b + 25));
    return 1;
}

static int apply_spend(const uint8_t *b)
{
    uint8_t rec[RECORD_SIZE], owner_rec[RECORD_SIZE], to[RECORD_SIZE];
    uint64_t spender = signer_id(b), owner = get_u64(b + 17), dest = get_u64(b + 25), amount = get_u64(b + 33);
    if (!signer_ready(b, SPEND_SIZE, rec) || !load_account(owner, owner_rec) || !load_account(dest, to))
        return 0;
    uint64_t allowed = load_allowance(owner, spender);
    if (allowed < amount || get_u64(owner_rec + R_BALANCE) < amount)
        return 0;
    bump_nonce(spender, rec);
    store_allowance(owner, spender, allowed - amount);
    move_balance(owner, dest, amount);
    return 1;
}

/* A grant: each drip attested again (process's traces), then paid when the
 * faucet has enough, the drip's epoch has begun and the account has not had
 * its drip in this epoch or a later one. */
static uint64_t apply_grant(const uint8_t *g, uint64_t number)
{
    uint64_t paid = 0, now = epoch_of(number), left = load_u64(JK_PATH(SLOT_FAUCET));
    for (unsigned i = 0; i < g[1]; i++) {
        uint8_t d[DRIP_SIZE], rec[RECORD_SIZE];
        uint64_t id = get_u64(g + GRANT_HEAD + 16 * i), epoch = get_u64(g + GRANT_HEAD + 16 * i + 8);
        grant_drip(g, i, d);
        REQUIRE(load_account(id, rec));
        attest(rec + R_KEY, d, DRIP_SIZE);
        if (left < DRIP_AMOUNT || epoch > now || epoch < get_u64(rec + R_NEXT_EPOCH))
            continue;
        put_u64(rec + R_BALANCE, get_u64(rec + R_BALANCE) + DRIP_AMOUNT);
        put_u64(rec + R_NEXT_EPOCH, now + 1);
        store_account(id, rec);
        left -= DRIP_AMOUNT;
        paid++;
    }
    if (paid)
        store_u64(JK_PATH(SLOT_FAUCET), left);
    return paid;
}

uint64_t apply(void)
{
    uint8_t ctx[16];
    REQUIRE(read_blob(JK_PATH2(0, 2), ctx, sizeof ctx) == 16);
    uint64_t number = get_u64(ctx);
    jk_move(JK_PATH2(0, 1), JK_PATH(SLOT_AA));
    jk_move(JK_PATH2(0, 0), JK_PATH(SLOT_INPUT));
    jk_drop(JK_SLOT0);
    uint64_t applied = 0;
    for (uint64_t i = 0; jk_cap_kind(JK_PATH2(SLOT_INPUT, i)) != JK_KIND_NONE; i++) {
        uint8_t target[4];
        REQUIRE(read_blob(JK_PATH3(SLOT_INPUT, i, 0), target, 4) == 4);
        REQUIRE(target[0] == 0 && target[1] == 0 && target[2] == 0 && target[3] == 0);
        uint64_t len = read_blob(JK_PATH3(SLOT_INPUT, i, 1), blob, sizeof blob);
        REQUIRE(blob_ok(blob, len) && blob[0] != 'D'); /* a drip goes to dispatch 0, never into a body */
        switch (blob[0]) {
        case 'O':
            applied += (uint64_t)apply_open(blob);
            break;
        case 'T':
            applied += (uint64_t)apply_transfer(blob);
            break;
        case 'A':
            applied += (uint64_t)apply_approve(blob);
            break;
        case 'S':
            applied += (uint64_t)apply_spend(blob);
            break;
        case 'G':
            applied += apply_grant(blob, number);
            break;
        }
    }
    store_u64(JK_PATH(SLOT_HEIGHT), number);
    jk_drop(JK_PATH(SLOT_AA));
    jk_drop(JK_PATH(SLOT_INPUT));
    return applied;
}

JK_CHAIN_ENDPOINTS_1(apply); /* 0 apply, 1 transform_to_verify, 2 transform_to_dispatch_0 (sdk/jark_chain.h) */
