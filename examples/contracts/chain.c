/* chain.c — the contracts chain's ChainImage: apply, and the transforms the
 * kernel calls at each cycle (to Verify, and to each library image as the
 * Dispatch_k role, whose process is a no-op).
 *
 * apply: slot[0] = {0: body, 1: AA, 2: block context (unused)}. Each event
 * is attested again (an importer checks the block's signatures), its nonce
 * checked (a stale one is skipped, as verify checked it against the state
 * before the block), then done:
 *   deploy  DERIVE_SPAWN of library image `lib` over a fresh cnode holding
 *           the storage Data (init) — and for the hostile image a counter
 *           of its own in slot 21 — into the signer's contract `index`;
 *   call    COPY the contract to a working slot, CALL the copy's endpoint 1
 *           with the event's gas and arg; only a clean HALT (slot[0] empty)
 *           puts the copy back over the original. FAULT, OUT_OF_GAS (the copy
 *           is Paused), YIELDED: the copy is dropped and the state is as if
 *           the call never happened. The gas the CALL burnt is taken from
 *           the signer's credit whatever the outcome;
 *   upgrade CALL a copy's endpoint 2 (export) for its storage, DERIVE_SPAWN
 *           the new library image over it, replace the contract;
 *   fund    add to an account's credit.
 * What each event did goes to its signer's meta (contracts.h). Returns the
 * number of events applied. */
#include "contracts.h"

static uint8_t blob[MAX_BLOB];

/* Make account i for key, with `credit`. */
static void account_new(uint64_t i, const uint8_t *key, uint64_t credit)
{
    uint8_t meta[META_SIZE] = {0};
    put_u64(meta + META_CREDIT, credit);
    jk_cnode_mint(JK_PATH2(SLOT_ACCOUNTS, i), ACCOUNT_LOG2);
    jk_data_mint(key, 32, JK_PATH3(SLOT_ACCOUNTS, i, ACCOUNT_KEY));
    jk_data_mint(meta, META_SIZE, JK_PATH3(SLOT_ACCOUNTS, i, ACCOUNT_META));
}

/* The account of key, made when absent (-1 when the accounts are full). */
static int64_t account_get(const uint8_t *key, uint64_t credit)
{
    int64_t a = account_find(key);
    if (a >= 0)
        return a;
    for (uint64_t i = 0; i < MAX_ACCOUNTS; i++)
        if (jk_cap_kind(JK_PATH2(SLOT_ACCOUNTS, i)) == JK_KIND_NONE) {
            account_new(i, key, credit);
            return (int64_t)i;
        }
    return -1;
}

static void meta_write(uint64_t account, const uint8_t meta[META_SIZE])
{
    jk_drop(JK_PATH3(SLOT_ACCOUNTS, account, ACCOUNT_META));
    jk_data_mint(meta, META_SIZE, JK_PATH3(SLOT_ACCOUNTS, account, ACCOUNT_META));
}

/* A new contract of library image lib over a storage Data already in
 * SLOT_WORK's slot CONTRACT_STORAGE, into `dst` (empty). */
static void contract_spawn(uint64_t lib, uint64_t dst)
{
    jk_derive_spawn(JK_PATH(PIN_LIBRARY_0 + lib), JK_PATH(SLOT_WORK), dst);
}

/* CALL a copy of the contract at `path`; the copy replaces it only on a
 * clean HALT. Sets *outcome / *code; returns the gas the CALL burnt. */
static uint64_t contract_call(uint64_t path, uint64_t gas, uint64_t arg, uint64_t *outcome, uint64_t *code)
{
    jk_copy(path, JK_PATH(SLOT_CALLEE));
    uint64_t before = jk_gas();
    jk_call_result r = jk_call(JK_PATH(SLOT_CALLEE), EP_CALL, gas, arg, 0, 0);
    uint64_t used = before - jk_gas();
    *code = r.value;
    if (r.outcome == JK_OUTCOME_HALT && jk_cap_kind(JK_SLOT0) == JK_KIND_NONE) {
        *outcome = OUT_OK;
        jk_drop(path);
        jk_move(JK_PATH(SLOT_CALLEE), path);
        return used;
    }
    *outcome = r.outcome == JK_OUTCOME_HALT ? OUT_BAD_SLOT0 : r.outcome; /* FAULT 1, OUT_OF_GAS 2, YIELDED 3 */
    jk_drop(JK_SLOT0); /* whatever came back: untrusted, unused */
    jk_drop(JK_PATH(SLOT_CALLEE));
    return used;
}

static void apply_event(const uint8_t *b, uint64_t len)
{
    uint8_t gov[32], meta[META_SIZE];
    uint64_t initial;
    config_read(gov, &initial);
    int64_t found = account_find(b + 1);
    if (found >= 0)
        meta_read((uint64_t)found, meta);
    else
        memset(meta, 0, sizeof meta);
    if (get_u64(b + 33) != get_u64(meta + META_NONCE))
        return; /* another event of this key came first: skip */
    int64_t a = account_get(b + 1, initial);
    if (a < 0)
        return; /* no room for another account: skip */
    meta_read((uint64_t)a, meta);
    uint64_t outcome = OUT_OK, code = 0, gas_used = 0;
    switch (b[0]) {
    case 'D': {
        uint64_t dst = contract_path(a, b[HEAD + 1]);
        if (jk_cap_kind(dst) != JK_KIND_NONE) {
            outcome = OUT_OCCUPIED;
            break;
        }
        jk_cnode_mint(JK_PATH(SLOT_WORK), 8);
        jk_data_mint(b + HEAD + 2, 8, JK_PATH2(SLOT_WORK, CONTRACT_STORAGE));
        if (b[HEAD] == LIB_HOSTILE) { /* its own counter, for nested CALLs (hostile.c) */
            static const uint8_t zero[8];
            jk_cnode_mint(JK_PATH(SLOT_CHILD), 8);
            jk_data_mint(zero, 8, JK_PATH2(SLOT_CHILD, CONTRACT_STORAGE));
            jk_derive_spawn(JK_PATH(PIN_LIBRARY_0 + LIB_COUNTER), JK_PATH(SLOT_CHILD),
                            JK_PATH2(SLOT_WORK, CONTRACT_CHILD));
        }
        contract_spawn(b[HEAD], dst);
        break;
    }
    case 'C': {
        uint64_t gas = get_u64(b + HEAD + 33), credit = get_u64(meta + META_CREDIT);
        int64_t o = account_find(b + HEAD);
        uint64_t path = o >= 0 ? contract_path(o, b[HEAD + 32]) : 0;
        if (o < 0 || jk_cap_kind(path) != JK_KIND_INSTANCE) {
            outcome = OUT_NO_CONTRACT;
        } else if (gas > credit) {
            outcome = OUT_NO_CREDIT;
        } else if (jk_gas() < gas + APPLY_RESERVE) {
            outcome = OUT_BLOCK_GAS;
            return; /* not applied: the nonce stays, the signer sends it again */
        } else {
            gas_used = contract_call(path, gas, get_u64(b + HEAD + 41), &outcome, &code);
            put_u64(meta + META_CREDIT, credit > gas_used ? credit - gas_used : 0);
        }
        break;
    }
    case 'U': {
        REQUIRE(memcmp(b + 1, gov, 32) == 0); /* verify refuses it; no honest block holds it */
        int64_t o = account_find(b + HEAD);
        uint64_t path = o >= 0 ? contract_path(o, b[HEAD + 32]) : 0;
        if (o < 0 || jk_cap_kind(path) != JK_KIND_INSTANCE) {
            outcome = OUT_NO_CONTRACT;
            break;
        }
        jk_copy(path, JK_PATH(SLOT_CALLEE));
        jk_call_result r = jk_call(JK_PATH(SLOT_CALLEE), EP_EXPORT, EXPORT_GAS, 0, 0, 0);
        jk_drop(JK_PATH(SLOT_CALLEE));
        if (r.outcome != JK_OUTCOME_HALT || jk_cap_kind(JK_SLOT0) != JK_KIND_DATA) {
            jk_drop(JK_SLOT0);
            outcome = OUT_BAD_EXPORT;
            code = r.outcome;
            break;
        }
        jk_cnode_mint(JK_PATH(SLOT_WORK), 8);
        jk_move(JK_SLOT0, JK_PATH2(SLOT_WORK, CONTRACT_STORAGE));
        jk_drop(path);
        contract_spawn(b[HEAD + 33], path);
        break;
    }
    case 'F': {
        REQUIRE(memcmp(b + 1, gov, 32) == 0);
        int64_t t = account_get(b + HEAD, initial);
        if (t < 0)
            break;
        uint8_t tm[META_SIZE];
        if (t == a) {
            put_u64(meta + META_CREDIT, get_u64(meta + META_CREDIT) + get_u64(b + HEAD + 32));
        } else {
            meta_read((uint64_t)t, tm);
            put_u64(tm + META_CREDIT, get_u64(tm + META_CREDIT) + get_u64(b + HEAD + 32));
            meta_write((uint64_t)t, tm);
        }
        break;
    }
    }
    put_u64(meta + META_NONCE, get_u64(meta + META_NONCE) + 1);
    put_u64(meta + META_OP, b[0]);
    put_u64(meta + META_OUTCOME, outcome);
    put_u64(meta + META_CODE, code);
    put_u64(meta + META_GAS, gas_used);
    meta_write((uint64_t)a, meta);
    (void)len;
}

uint64_t apply(void)
{
    jk_move(JK_PATH2(0, 1), JK_PATH(SLOT_AA));
    jk_move(JK_PATH2(0, 0), JK_PATH(SLOT_INPUT));
    jk_drop(JK_SLOT0);
    if (jk_cap_kind(JK_PATH(SLOT_ACCOUNTS)) == JK_KIND_NONE)
        jk_cnode_mint(JK_PATH(SLOT_ACCOUNTS), ACCOUNTS_LOG2);

    uint64_t n = 0;
    for (uint64_t i = 0; jk_cap_kind(JK_PATH2(SLOT_INPUT, i)) != JK_KIND_NONE; i++) {
        uint8_t target[4];
        REQUIRE(read_blob(JK_PATH3(SLOT_INPUT, i, 0), target, 4) == 4);
        REQUIRE(target[0] == 0 && target[1] == 0 && target[2] == 0 && target[3] == 0);
        uint64_t len = read_blob(JK_PATH3(SLOT_INPUT, i, 1), blob, sizeof blob);
        REQUIRE(event_ok(blob, len)); /* malformed: no honest block holds it */
        attest(blob + 1, blob, len);
        apply_event(blob, len);
        jk_drop(JK_PATH(SLOT_WORK));
        n++;
    }
    jk_drop(JK_PATH(SLOT_AA));
    jk_drop(JK_PATH(SLOT_INPUT));
    return n;
}

uint64_t transform_to_verify(void)
{
    jk_set_image(JK_PATH(PIN_VERIFY));
    return 0;
}

/* The library images are the chain's Dispatch_k images (contracts.h). */
uint64_t transform_to_dispatch_0(void)
{
    jk_set_image(JK_PATH(PIN_LIBRARY_0 + 0));
    return 0;
}
uint64_t transform_to_dispatch_1(void)
{
    jk_set_image(JK_PATH(PIN_LIBRARY_0 + 1));
    return 0;
}
uint64_t transform_to_dispatch_2(void)
{
    jk_set_image(JK_PATH(PIN_LIBRARY_0 + 2));
    return 0;
}

JK_ENDPOINT(0, apply);
JK_ENDPOINT(1, transform_to_verify);
JK_ENDPOINT(2, transform_to_dispatch_0);
JK_ENDPOINT(3, transform_to_dispatch_1);
JK_ENDPOINT(4, transform_to_dispatch_2);
