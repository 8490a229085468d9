/*
 * fuzz_examples.c — fuzz target over the example chains' event decoders:
 * the verify, process and apply programs of the name registry
 * (examples/names), of the chain `jark chain new` writes (sdk/template) and
 * of the batch exchange (examples/exchange), of the allowance token
 * (examples/allowance) and of the crowdfund chain (examples/crowdfund, no
 * dispatch endpoint), run through the chain layer on untrusted blobs.
 *
 * Input: byte 0 picks the chain ('a': the allowance token; 'c': the
 * crowdfund chain; any other byte mod 3: 0 names, 1 the template, 2 the
 * exchange); then
 * records [sel][len][len bytes of blob] until the input ends. sel bit 0: the
 * endpoint (0 transact, 1 dispatch 0); bits 1-2: which of four keys signs;
 * bit 3: also sign the blob past its first byte (an award's claim); bit 7:
 * end the cycle after this event (process, produce, import). Every run of 32
 * 'K' bytes in a blob becomes the signing key's public key, so that seeds
 * can name a signer. The rules (any break aborts):
 *   - an admitted event has the shape the chain's README gives its kind and
 *     endpoint (an independent check, written from the READMEs);
 *   - every block the producer makes from what was admitted imports, and
 *     producer and importer end on its state root: the producer on the
 *     recompiler, the importer on the interpreter;
 *   - the exchange makes and loses nothing: after every block its accounts
 *     hold the base and the quote genesis gave them, in total;
 *   - the allowance token makes and loses nothing: after every block the
 *     accounts' balances and what the faucet has left add up to the
 *     faucet's genesis 1000;
 *   - the crowdfund chain makes and loses nothing: after every block the
 *     balances, and what the unclaimed campaigns hold, add up to the 4000
 *     its four accounts had at genesis; and no event reaches a dispatch
 *     endpoint it does not have.
 * The chains are compiled once with the SDK (the sources, from the project
 * root). `make test` replays tests/fuzz/corpus/examples/.
 */
#include "fuzz_targets.h"

#include "jark/chain.h"
#include "jark/sdk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void jk_fuzz_ex_fail(const char *what)
{
    fprintf(stderr, "fuzz_examples: %s\n", what);
    abort();
}

typedef struct jk_fuzz_ex_chain {
    jk_chain_genesis g;
    jk_chain_budgets gas;
    bool built;
} jk_fuzz_ex_chain;

typedef struct jk_fuzz_ex_key {
    uint8_t pk[32], sk[64];
} jk_fuzz_ex_key;

static jk_fuzz_ex_key jk_fuzz_ex_key_of(uint8_t b)
{
    uint8_t seed[32];
    jk_fuzz_ex_key k;
    memset(seed, b, sizeof seed);
    if (jk_crypto_ed25519_keypair_from_seed(seed, k.pk, k.sk) != JK_OK)
        jk_fuzz_ex_fail("key");
    return k;
}

/* Compile dir/<role>.c for each role and build the genesis, with `state`
 * (state_len bytes, NULL: none) in slot `slot`. A chain without process.c
 * has no dispatch endpoint. */
static void jk_fuzz_ex_build(jk_fuzz_ex_chain *c, const char *dir, uint32_t slot, const uint8_t *state,
                             size_t state_len)
{
    static const char *const roles[6] = {"chain", "verify", "transact", "dispatch_instance", "aa", "process"};
    uint8_t *prog[6] = {NULL};
    size_t len[6] = {0};
    char path[256];
    snprintf(path, sizeof path, "%s/process.c", dir);
    int nroles = access(path, R_OK) == 0 ? 6 : 5;
    for (int i = 0; i < nroles; i++) {
        snprintf(path, sizeof path, "%s/%s.c", dir, roles[i]);
        if (i == 4 && access(path, R_OK) != 0)
            snprintf(path, sizeof path, "sdk/aa.c"); /* a spec without programs.aa: the SDK's */
        jk_diag diag = {{0}};
        if (jk_sdk_build_one(path, &prog[i], &len[i], &diag) != JK_OK)
            jk_fuzz_ex_fail(diag.msg[0] ? diag.msg : "a program does not build");
    }
    static jk_fuzz_ex_key validator;
    validator = jk_fuzz_ex_key_of(0x99);
    const uint8_t *data[1] = {state};
    size_t dlen[1] = {state_len};
    jk_chain_spec spec = {
        .chain = prog[0], .chain_len = len[0], .verify = prog[1], .verify_len = len[1],
        .transact = prog[2], .transact_len = len[2], .dispatch_instance = prog[3],
        .dispatch_instance_len = len[3], .aa = prog[4], .aa_len = len[4],
        .dispatch = {prog[5]}, .dispatch_len = {len[5]}, .dispatch_count = nroles == 6 ? 1 : 0,
        .state_slots = &slot, .state_data = data, .state_len = dlen, .state_count = state ? 1 : 0,
        .validators = (const uint8_t(*)[32])validator.pk, .validator_count = 1,
        .gas = {1000000, 10000000, 50000000, 200000000},
    };
    jk_diag diag = {{0}};
    if (jk_chain_genesis_build(&spec, &c->g, &diag) != JK_OK)
        jk_fuzz_ex_fail(diag.msg);
    c->gas = spec.gas;
    c->built = true;
    for (int i = 0; i < nroles; i++)
        free(prog[i]);
}

/* ---- the shapes of admitted events (examples/names/README.md, sdk/template/README.md) ---- */

static bool jk_fuzz_ex_name_ok(const uint8_t *n)
{
    int i = 0;
    while (i < 32 && n[i] && ((n[i] >= 'a' && n[i] <= 'z') || (n[i] >= '0' && n[i] <= '9') || n[i] == '-'))
        i++;
    if (i == 0 || (i < 32 && n[i]))
        return false;
    while (i < 32)
        if (n[i++])
            return false;
    return true;
}

static uint64_t jk_fuzz_ex_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* examples/allowance/README.md: ids < 256, amounts 1..10^12 (an approve's
 * may be 0), drips to dispatch 0 only, grants never from a user. */
static bool jk_fuzz_ex_allowance_ok(bool dispatch, const uint8_t *b, size_t len)
{
    const uint64_t max = 1000000000000ull;
    if (dispatch)
        return len == 17 && b[0] == 'D' && jk_fuzz_ex_u64(b + 1) < 256;
    switch (len ? b[0] : 0) {
    case 'O': return len == 41 && jk_fuzz_ex_u64(b + 1) < 256;
    case 'T':
    case 'A':
        return len == 33 && jk_fuzz_ex_u64(b + 1) < 256 && jk_fuzz_ex_u64(b + 17) < 256 &&
               jk_fuzz_ex_u64(b + 1) != jk_fuzz_ex_u64(b + 17) && jk_fuzz_ex_u64(b + 25) <= max &&
               (b[0] == 'A' || jk_fuzz_ex_u64(b + 25) >= 1);
    case 'S':
        return len == 41 && jk_fuzz_ex_u64(b + 1) < 256 && jk_fuzz_ex_u64(b + 17) < 256 &&
               jk_fuzz_ex_u64(b + 25) < 256 && jk_fuzz_ex_u64(b + 1) != jk_fuzz_ex_u64(b + 17) &&
               jk_fuzz_ex_u64(b + 33) >= 1 && jk_fuzz_ex_u64(b + 33) <= max;
    default: return false;
    }
}

/* examples/crowdfund/README.md: transacts only; account < 64, campaign <
 * 256; create 41 bytes (goal 1..10^12, deadline < 2^32), pledge 33 (amount
 * 1..10^12), claim and refund 25. */
static bool jk_fuzz_ex_crowdfund_ok(bool dispatch, const uint8_t *b, size_t len)
{
    const uint64_t max = 1000000000000ull;
    if (dispatch || len < 25 || jk_fuzz_ex_u64(b + 1) >= 64 || jk_fuzz_ex_u64(b + 17) >= 256)
        return false;
    switch (b[0]) {
    case 'C':
        return len == 41 && jk_fuzz_ex_u64(b + 25) >= 1 && jk_fuzz_ex_u64(b + 25) <= max &&
               jk_fuzz_ex_u64(b + 33) <= 0xffffffffull;
    case 'P': return len == 33 && jk_fuzz_ex_u64(b + 25) >= 1 && jk_fuzz_ex_u64(b + 25) <= max;
    case 'W':
    case 'R': return len == 25;
    default: return false;
    }
}

static bool jk_fuzz_ex_admissible(int chain, bool dispatch, const uint8_t *b, size_t len)
{
    if (chain == 4)
        return jk_fuzz_ex_crowdfund_ok(dispatch, b, len);
    if (chain == 3)
        return jk_fuzz_ex_allowance_ok(dispatch, b, len);
    if (chain == 2) { /* an order: 'O' owner side amount limit nonce, to dispatch 0 only */
        if (!dispatch || len != 58 || b[0] != 'O' || (b[33] != 1 && b[33] != 2))
            return false;
        uint64_t amount = jk_fuzz_ex_u64(b + 34), limit = jk_fuzz_ex_u64(b + 42);
        return amount >= 1 && amount < (1ull << 32) && limit >= 1 && limit < (1ull << 32);
    }
    if (chain == 1)
        return dispatch ? (len == 33 && b[0] == 'P') : (len >= 34 && len <= 233 && b[0] == 'M');
    if (dispatch)
        return len == 65 && b[0] == 'C' && jk_fuzz_ex_name_ok(b + 33);
    switch (len ? b[0] : 0) {
    case 'A': return len == 66 && b[1] == 'C' && jk_fuzz_ex_name_ok(b + 34);
    case 'R': return len == 49 && jk_fuzz_ex_name_ok(b + 1);
    case 'X': return len == 81 && jk_fuzz_ex_name_ok(b + 1);
    case 'D': return len == 33 && jk_fuzz_ex_name_ok(b + 1);
    default: return false;
    }
}

/* The exchange's accounts at genesis: the four keys, base 1000, quote
 * 100000 each (examples/exchange/accounts.bin's shape). */
#define JK_FUZZ_EX_BASE 1000u
#define JK_FUZZ_EX_QUOTE 100000u

/* The exchange's totals of base and quote over the accounts in slot 20. */
static void jk_fuzz_ex_totals(jk_cap chain, uint64_t *base, uint64_t *quote)
{
    jk_cap d = jk_cap_cnode_get(jk_cap_instance_cnode(chain), 20);
    uint64_t len = jk_cap_data_len(d);
    uint8_t rec[56];
    *base = *quote = 0;
    for (uint64_t off = 0; off + 56 <= len; off += 56) {
        if (jk_cap_data_read(d, off, rec, 56) != JK_OK)
            jk_fuzz_ex_fail("accounts unreadable");
        *base += jk_fuzz_ex_u64(rec + 32);
        *quote += jk_fuzz_ex_u64(rec + 40);
    }
}

/* Process, produce, import: both kernels must end on the block's root. The
 * producer runs every program on the recompiler and the importer on the
 * interpreter (the process-wide engine, switched around each step and put
 * back after), so a block whose apply the two engines run differently
 * fails its import. */
static void jk_fuzz_ex_block(jk_chain_kernel *prod, jk_chain_kernel *imp, jk_hash *parent, uint64_t *number,
                             const uint8_t validator_pk[32])
{
    (void)validator_pk; /* the chain layer takes the proposer's key from genesis */
    jk_pvm_engine was = jk_pvm_auto_engine();
    jk_pvm_set_auto_engine(JK_PVM_ENGINE_JIT);
    if (jk_chain_run_cycle_process(prod, NULL) != JK_OK)
        jk_fuzz_ex_fail("run_cycle_process");
    jk_chain_block b;
    jk_diag why = {{0}};
    if (jk_chain_apply_block_produce(prod, parent, *number, 0, NULL, &b, &why) != JK_OK)
        jk_fuzz_ex_fail(why.msg);
    jk_pvm_set_auto_engine(JK_PVM_ENGINE_INTERP);
    jk_err imported = jk_chain_apply_block_import(imp, &b, parent, *number, &why);
    jk_pvm_set_auto_engine(was);
    if (imported != JK_OK)
        jk_fuzz_ex_fail(why.msg);
    jk_hash p, i;
    jk_cap_hash(prod->chain, &p);
    jk_cap_hash(imp->chain, &i);
    if (memcmp(p.bytes, b.header.state_root.bytes, 32) || memcmp(i.bytes, b.header.state_root.bytes, 32))
        jk_fuzz_ex_fail("producer and importer disagree");
    jk_chain_block_hash(&b, parent);
    (*number)++;
    jk_fuzz_examples_blocks++;
    jk_chain_block_free(&b);
}

/* The allowance token: the accounts' balances (slot 20.id, 56-byte records,
 * balance at 32) and the faucet (slot 22). */
static uint64_t jk_fuzz_ex_allowance_total(jk_cap chain)
{
    jk_cap root = jk_cap_instance_cnode(chain), accounts = jk_cap_cnode_get(root, 20);
    uint8_t rec[56];
    uint64_t total = 0;
    if (jk_cap_data_len(jk_cap_cnode_get(root, 22)) != 8 ||
        jk_cap_data_read(jk_cap_cnode_get(root, 22), 0, rec, 8) != JK_OK)
        jk_fuzz_ex_fail("the faucet is gone");
    total = jk_fuzz_ex_u64(rec);
    for (uint32_t id = 0; id < jk_cap_cnode_slot_count(accounts); id++) {
        jk_cap r = jk_cap_cnode_get(accounts, id);
        if (jk_cap_is_null(r))
            continue;
        if (jk_cap_data_len(r) != 56 || jk_cap_data_read(r, 0, rec, 56) != JK_OK)
            jk_fuzz_ex_fail("an account record of another size");
        total += jk_fuzz_ex_u64(rec + 32);
    }
    return total;
}

/* The crowdfund chain: the balances (slot 20, 48-byte records, balance at
 * 32) and what each unclaimed campaign holds (slot 21.id, raised at 24,
 * claimed at 32). */
static uint64_t jk_fuzz_ex_crowdfund_total(jk_cap chain)
{
    jk_cap root = jk_cap_instance_cnode(chain), accounts = jk_cap_cnode_get(root, 20),
           campaigns = jk_cap_cnode_get(root, 21);
    uint8_t rec[48];
    uint64_t total = 0;
    if (jk_cap_data_len(accounts) != 4 * 48)
        jk_fuzz_ex_fail("the crowdfund accounts changed size");
    for (uint64_t off = 0; off < 4 * 48; off += 48) {
        if (jk_cap_data_read(accounts, off, rec, 48) != JK_OK)
            jk_fuzz_ex_fail("accounts unreadable");
        total += jk_fuzz_ex_u64(rec + 32);
    }
    for (uint32_t id = 0; !jk_cap_is_null(campaigns) && id < jk_cap_cnode_slot_count(campaigns); id++) {
        jk_cap r = jk_cap_cnode_get(campaigns, id);
        if (jk_cap_is_null(r))
            continue;
        if (jk_cap_data_len(r) != 40 || jk_cap_data_read(r, 0, rec, 40) != JK_OK)
            jk_fuzz_ex_fail("a campaign record of another size");
        if (!jk_fuzz_ex_u64(rec + 32))
            total += jk_fuzz_ex_u64(rec + 24);
    }
    return total;
}

/* The exchange, the allowance token and the crowdfund chain make and lose
 * nothing. */
static void jk_fuzz_ex_conserved(int which, jk_chain_kernel *imp)
{
    if (which == 4 && jk_fuzz_ex_crowdfund_total(imp->chain) != 4000)
        jk_fuzz_ex_fail("the crowdfund chain made or lost tokens");
    if (which == 3 && jk_fuzz_ex_allowance_total(imp->chain) != 1000)
        jk_fuzz_ex_fail("the allowance token made or lost tokens");
    if (which != 2)
        return;
    uint64_t base, quote;
    jk_fuzz_ex_totals(imp->chain, &base, &quote);
    if (base != 4 * JK_FUZZ_EX_BASE || quote != 4 * JK_FUZZ_EX_QUOTE)
        jk_fuzz_ex_fail("the exchange made or lost base or quote");
}

/* The chains, built once per process (compiling each chain's programs with
 * the SDK: clang-19 and ld.lld-19 five times, then the genesis), and the
 * four signing keys. */
static jk_fuzz_ex_chain jk_fuzz_ex_chains[5];
static jk_fuzz_ex_key jk_fuzz_ex_keys[4];
uint64_t jk_fuzz_examples_builds, jk_fuzz_examples_events, jk_fuzz_examples_blocks;

static jk_fuzz_ex_chain *jk_fuzz_ex_chain_of(int which)
{
    jk_fuzz_ex_chain *c = &jk_fuzz_ex_chains[which];
    if (c->built)
        return c;
    jk_fuzz_ex_key *keys = jk_fuzz_ex_keys;
    if (jk_crypto_init() != JK_OK)
        jk_fuzz_ex_fail("crypto init");
    for (int i = 0; i < 4; i++)
        keys[i] = jk_fuzz_ex_key_of((uint8_t)(1 + i));
    static const uint8_t ttl[8] = {2}; /* names run out after 2 blocks */
    static uint8_t accounts[4 * 56];
    for (int i = 0; i < 4; i++) {
        memset(accounts + 56 * i, 0, 56);
        memcpy(accounts + 56 * i, keys[i].pk, 32);
        for (int b = 0; b < 8; b++) {
            accounts[56 * i + 32 + b] = (uint8_t)((uint64_t)JK_FUZZ_EX_BASE >> (8 * b));
            accounts[56 * i + 40 + b] = (uint8_t)((uint64_t)JK_FUZZ_EX_QUOTE >> (8 * b));
        }
    }
    static const uint8_t faucet[8] = {0xe8, 0x03}; /* 1000, as examples/allowance/spec.json */
    static uint8_t funds[4 * 48]; /* the crowdfund accounts: the four keys, 1000 each, nonce 0 */
    for (int i = 0; i < 4; i++) {
        memset(funds + 48 * i, 0, 48);
        memcpy(funds + 48 * i, keys[i].pk, 32);
        funds[48 * i + 32] = 0xe8;
        funds[48 * i + 33] = 0x03;
    }
    if (which == 4)
        jk_fuzz_ex_build(c, "examples/crowdfund", 20, funds, sizeof funds);
    else if (which == 3)
        jk_fuzz_ex_build(c, "examples/allowance", 22, faucet, sizeof faucet);
    else if (which == 2)
        jk_fuzz_ex_build(c, "examples/exchange", 20, accounts, sizeof accounts);
    else if (which == 1)
        jk_fuzz_ex_build(c, "sdk/template", 0, NULL, 0);
    else
        jk_fuzz_ex_build(c, "examples/names", 23, ttl, sizeof ttl);
    jk_fuzz_examples_builds++;
    return c;
}

void jk_fuzz_examples_init(void)
{
    for (int which = 0; which < 5; which++)
        jk_fuzz_ex_chain_of(which);
}

int jk_fuzz_examples(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int which = data[0] == 'a' ? 3 : data[0] == 'c' ? 4 : data[0] % 3;
    /* Built already when jk_fuzz_examples_init ran (libFuzzer: before the
     * first input); otherwise here, once, by the first input of the chain. */
    jk_fuzz_ex_chain *c = jk_fuzz_ex_chain_of(which);
    const jk_fuzz_ex_key *keys = jk_fuzz_ex_keys;
    jk_fuzz_ex_key validator = jk_fuzz_ex_key_of(0x99);
    jk_chain_kernel *prod = NULL, *imp = NULL;
    if (jk_chain_kernel_new(&c->g, jk_cap_null(), &prod, NULL) != JK_OK ||
        jk_chain_kernel_new(&c->g, jk_cap_null(), &imp, NULL) != JK_OK)
        jk_fuzz_ex_fail("kernel");
    jk_chain_set_own_key(prod, validator.sk);
    jk_hash parent = c->g.genesis_hash;
    uint64_t number = 1;
    if (jk_chain_setup_cycle(prod, NULL) != JK_OK)
        jk_fuzz_ex_fail("setup_cycle");
    size_t at = 1;
    int events = 0;
    while (at + 2 <= size && events < 64) {
        uint8_t sel = data[at], len = data[at + 1];
        at += 2;
        if (len > size - at)
            len = (uint8_t)(size - at);
        uint8_t blob[256];
        memcpy(blob, data + at, len);
        at += len;
        const jk_fuzz_ex_key *k = &keys[(sel >> 1) & 3];
        for (size_t i = 0; i + 32 <= len; i++) {
            size_t run = 0;
            while (run < 32 && blob[i + run] == 'K')
                run++;
            if (run == 32)
                memcpy(blob + i, k->pk, 32);
        }
        jk_chain_trace t[2];
        size_t nt = 1;
        jk_chain_trace_sign(k->sk, &c->g.genesis_hash, blob, len, &t[0]);
        if ((sel & 8) && len > 1)
            jk_chain_trace_sign(k->sk, &c->g.genesis_hash, blob + 1, len - 1u, &t[nt++]);
        bool dispatch = sel & 1, admitted = false;
        jk_chain_event ev = {dispatch ? jk_chain_endpoint_dispatch(0) : JK_CHAIN_ENDPOINT_TRANSACT, blob, len};
        if (jk_chain_handle_incoming_event(prod, &ev, t, nt, &admitted, NULL) != JK_OK)
            jk_fuzz_ex_fail("handle_incoming_event");
        if (admitted && !jk_fuzz_ex_admissible(which, dispatch, blob, len))
            jk_fuzz_ex_fail("verify admitted an event of the wrong shape");
        events++;
        jk_fuzz_examples_events++;
        if (sel & 0x80) {
            jk_fuzz_ex_block(prod, imp, &parent, &number, validator.pk);
            jk_fuzz_ex_conserved(which, imp);
            if (jk_chain_setup_cycle(prod, NULL) != JK_OK)
                jk_fuzz_ex_fail("setup_cycle");
        }
    }
    jk_fuzz_ex_block(prod, imp, &parent, &number, validator.pk);
    jk_fuzz_ex_conserved(which, imp);
    jk_chain_kernel_free(prod);
    jk_chain_kernel_free(imp);
    return 0;
}

#ifdef JK_FUZZ_LIBFUZZER
/* The chains are built before the first input: libFuzzer's -timeout counts
 * only the time inside LLVMFuzzerTestOneInput, and building one chain (five
 * SDK compiles under ASan) took longer than -timeout=10 on the loaded
 * machine, so the first input of each chain timed out for work it did not
 * cause (tests/fuzz/corpus/examples/exchange-first-input-built-the-chain). */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    jk_fuzz_examples_init();
    return 0;
}
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return jk_fuzz_examples(data, size); }
#endif
