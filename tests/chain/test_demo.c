/* test_demo.c — the demo chain (examples/demo, docs/demo-chain.md) end to end
 * through the chain layer: a producer and an importer run blocks of ledger
 * transfers and oracle reports, and must agree on every state root.
 *
 * The blob encoders and state readers here are written from
 * docs/demo-chain.md, independently of examples/demo/demo.h. */
#include "../test.h"
#include "../progs.h"

#include "jark/chain.h"

#include "../../examples/demo/demo_view.h"

#include <stdlib.h>

/* ---- the chain's images ---- */

enum { IMG_TRANSACT, IMG_DINST, IMG_AA, IMG_PROCESS, IMG_VERIFY, IMG_CHAIN, IMG_COUNT };

static jk_cap demo_image(const char *name, const jk_cap_pin *pins, uint32_t npins)
{
    char source[128];
    snprintf(source, sizeof source, "examples/demo/%s.c", name);
    jk_kernel_image_opts opts = {.pins = pins, .pin_count = npins};
    return jk_test_image(source, &opts);
}

/* ---- keys ---- */

typedef struct demo_key {
    uint8_t pk[32], sk[64];
} demo_key;

static demo_key demo_key_of(uint8_t seed_byte)
{
    uint8_t seed[32];
    demo_key k;
    memset(seed, seed_byte, sizeof seed);
    if (jk_crypto_ed25519_keypair_from_seed(seed, k.pk, k.sk) != JK_OK)
        memset(&k, 0, sizeof k);
    return k;
}

static int demo_key_cmp(const void *a, const void *b) { return memcmp(a, b, 32); }

/* ---- blobs (docs/demo-chain.md) ---- */

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

enum { TRANSFER_SIZE = 81, REPORT_SIZE = 49, UPDATE_HEAD = 25, RECORD_SIZE = 48 };

static size_t transfer_blob(uint8_t *out, const demo_key *from, const demo_key *to, uint64_t amount,
                            uint64_t nonce)
{
    out[0] = 'T';
    memcpy(out + 1, from->pk, 32);
    memcpy(out + 33, to->pk, 32);
    put_u64(out + 65, amount);
    put_u64(out + 73, nonce);
    return TRANSFER_SIZE;
}

static size_t report_blob(uint8_t *out, const demo_key *reporter, uint64_t round, uint64_t price)
{
    out[0] = 'R';
    memcpy(out + 1, reporter->pk, 32);
    put_u64(out + 33, round);
    put_u64(out + 41, price);
    return REPORT_SIZE;
}

/* 'P' ‖ round ‖ median ‖ n ‖ reports (the caller orders them). */
static size_t update_blob(uint8_t *out, uint64_t round, uint64_t median, const uint8_t (*reports)[REPORT_SIZE],
                          size_t n)
{
    out[0] = 'P';
    put_u64(out + 1, round);
    put_u64(out + 9, median);
    put_u64(out + 17, n);
    for (size_t i = 0; i < n; i++)
        memcpy(out + UPDATE_HEAD + i * REPORT_SIZE, reports[i], REPORT_SIZE);
    return UPDATE_HEAD + n * REPORT_SIZE;
}

/* ---- the fixture: images, genesis, a producer and an importer ---- */

#define N_REPORTERS 5

typedef struct demo {
    jk_cap images[IMG_COUNT];
    jk_cap genesis_chain;
    jk_hash genesis;
    demo_key validator, alice, bob, carol, dave, rogue;
    demo_key reporters[N_REPORTERS];
    jk_chain_kernel *producer, *importer;
    const jk_chain_genesis *record; /* demo_open's genesis record */
    jk_hash parent;
    uint64_t number;
} demo;

static bool demo_open(demo *d)
{
    memset(d, 0, sizeof *d);
    d->validator = demo_key_of(0x99);
    d->alice = demo_key_of(1);
    d->bob = demo_key_of(2);
    d->carol = demo_key_of(3);
    d->dave = demo_key_of(4);
    d->rogue = demo_key_of(0x66);
    for (int i = 0; i < N_REPORTERS; i++)
        d->reporters[i] = demo_key_of((uint8_t)(0x11 + i));

    d->images[IMG_TRANSACT] = demo_image("transact", NULL, 0);
    d->images[IMG_DINST] = demo_image("dispatch_instance", NULL, 0);
    d->images[IMG_AA] = demo_image("aa", NULL, 0);
    d->images[IMG_PROCESS] = demo_image("process", NULL, 0);
    jk_cap_pin vpins[2] = {{JK_CHAIN_SLOT_TRANSACT, d->images[IMG_TRANSACT]},
                           {JK_CHAIN_SLOT_DISPATCH_INSTANCE, d->images[IMG_DINST]}};
    d->images[IMG_VERIFY] = demo_image("verify", vpins, 2);
    jk_cap_pin cpins[5] = {{JK_CHAIN_SLOT_VERIFY, d->images[IMG_VERIFY]},
                           {JK_CHAIN_SLOT_TRANSACT, d->images[IMG_TRANSACT]},
                           {JK_CHAIN_SLOT_DISPATCH_INSTANCE, d->images[IMG_DINST]},
                           {JK_CHAIN_SLOT_AA, d->images[IMG_AA]},
                           {JK_CHAIN_SLOT_DISPATCH_0, d->images[IMG_PROCESS]}};
    d->images[IMG_CHAIN] = demo_image("chain", cpins, 5);
    for (int i = 0; i < IMG_COUNT; i++)
        if (jk_cap_is_null(d->images[i]))
            return false;

    /* Genesis state: alice 1000, bob 500, carol 250 (sorted by key); five
     * registered reporters (sorted). */
    uint8_t ledger[3][RECORD_SIZE], reporters[N_REPORTERS][32];
    const demo_key *funded[3] = {&d->alice, &d->bob, &d->carol};
    const uint64_t balances[3] = {1000, 500, 250};
    for (int i = 0; i < 3; i++) {
        memcpy(ledger[i], funded[i]->pk, 32);
        put_u64(ledger[i] + 32, balances[i]);
        put_u64(ledger[i] + 40, 0);
    }
    qsort(ledger, 3, RECORD_SIZE, demo_key_cmp);
    for (int i = 0; i < N_REPORTERS; i++)
        memcpy(reporters[i], d->reporters[i].pk, 32);
    qsort(reporters, N_REPORTERS, 32, demo_key_cmp);
    jk_cap root = jk_cap_null(), next, ledger_data = jk_cap_null(), reporters_data = jk_cap_null();
    bool ok = jk_cap_cnode_new(8, &root) == JK_OK && jk_cap_data_new(ledger, sizeof ledger, &ledger_data) == JK_OK &&
              jk_cap_data_new(reporters, sizeof reporters, &reporters_data) == JK_OK;
    if (ok && (ok = jk_cap_cnode_set(root, 20, ledger_data, &next) == JK_OK)) {
        jk_cap_release(root);
        root = next;
    }
    if (ok && (ok = jk_cap_cnode_set(root, 21, reporters_data, &next) == JK_OK)) {
        jk_cap_release(root);
        root = next;
    }
    ok = ok && jk_cap_instance_genesis(d->images[IMG_CHAIN], root, &d->genesis_chain, NULL) == JK_OK;
    jk_cap_release(root);
    jk_cap_release(ledger_data);
    jk_cap_release(reporters_data);
    if (!ok)
        return false;

    /* the genesis record: one validator, the demo's budgets, one dispatch */
    static jk_chain_genesis g;
    memset(&g, 0, sizeof g);
    g.chain = d->genesis_chain; /* borrowed */
    g.validator_count = 1;
    memcpy(g.validators[0], d->validator.pk, 32);
    g.gas = (jk_chain_budgets){1000000, 10000000, 50000000, 200000000};
    g.dispatch_count = 1;
    g.max_event_traces = JK_CHAIN_DEFAULT_EVENT_TRACES;
    if (jk_chain_genesis_seal(&g, NULL) != JK_OK)
        return false;
    d->genesis = g.genesis_hash;
    if (jk_chain_kernel_new(&g, jk_cap_null(), &d->producer, NULL) != JK_OK ||
        jk_chain_kernel_new(&g, jk_cap_null(), &d->importer, NULL) != JK_OK)
        return false;
    jk_chain_set_own_key(d->producer, d->validator.sk);
    d->record = &g;
    d->parent = d->genesis;
    d->number = 1;
    return true;
}

static void demo_close(demo *d)
{
    jk_chain_kernel_free(d->producer);
    jk_chain_kernel_free(d->importer);
    jk_cap_release(d->genesis_chain);
    for (int i = 0; i < IMG_COUNT; i++)
        jk_cap_release(d->images[i]);
}

/* Gossip one event to the producer with the traces given; was it admitted? */
static bool demo_submit(demo *d, jk_chain_endpoint endpoint, const uint8_t *blob, size_t len,
                        const jk_chain_trace *traces, size_t ntraces)
{
    jk_chain_event ev = {endpoint, blob, len};
    bool admitted = false;
    jk_diag why = {{0}};
    if (jk_chain_handle_incoming_event(d->producer, &ev, traces, ntraces, &admitted, &why) != JK_OK)
        return false;
    return admitted;
}

/* The same, signed by `signer` (one trace). */
static bool demo_submit_signed(demo *d, jk_chain_endpoint endpoint, const uint8_t *blob, size_t len,
                               const demo_key *signer)
{
    jk_chain_trace t;
    jk_chain_trace_sign(signer->sk, &d->genesis, blob, len, &t);
    return demo_submit(d, endpoint, blob, len, &t, 1);
}

/* Produce the next block on the producer, import it on the importer; both
 * must end on the block's state root. *events / *traces: the block's counts. */
static bool demo_block(demo *d, size_t *events, size_t *traces)
{
    jk_chain_block block;
    jk_diag why = {{0}};
    if (jk_chain_apply_block_produce(d->producer, &d->parent, d->number, 0, NULL, &block, &why) != JK_OK) {
        printf("produce block %llu: %s\n", (unsigned long long)d->number, why.msg);
        return false;
    }
    jk_err err = jk_chain_apply_block_import(d->importer, &block, &d->parent, d->number, &why);
    if (err != JK_OK)
        printf("import block %llu: %s\n", (unsigned long long)d->number, why.msg);
    jk_hash produced, imported;
    jk_cap_hash(d->producer->chain, &produced);
    jk_cap_hash(d->importer->chain, &imported);
    bool ok = err == JK_OK && !memcmp(produced.bytes, block.header.state_root.bytes, 32) &&
              !memcmp(imported.bytes, block.header.state_root.bytes, 32);
    if (events)
        *events = block.event_count;
    if (traces)
        *traces = block.trace_count;
    jk_chain_block_hash(&block, &d->parent);
    d->number++;
    jk_chain_block_free(&block);
    return ok;
}

/* ---- reading chain state (slots 20 and 23 ledger, 22 price) ---- */

static jk_cap state_slot(jk_cap chain, uint32_t slot)
{
    return jk_cap_cnode_get(jk_cap_instance_cnode(chain), slot);
}

/* balance and nonce of key; false when it has no record. The ledger is the
 * genesis ledger (slot 20) under the account tree (slot 23), merged by
 * demo_view.h. */
static bool account(jk_cap chain, const demo_key *key, uint64_t *balance, uint64_t *nonce)
{
    uint64_t n;
    uint8_t *ledger = demo_view_ledger(chain, &n);
    bool found = false;
    for (uint64_t i = 0; ledger && i < n && !found; i++) {
        const uint8_t *rec = ledger + i * RECORD_SIZE;
        if (!memcmp(rec, key->pk, 32)) {
            *balance = get_u64(rec + 32);
            *nonce = get_u64(rec + 40);
            found = true;
        }
    }
    free(ledger);
    return found;
}

#define CHECK_ACCOUNT(chain, key, bal, non)                                    \
    do {                                                                       \
        uint64_t b_ = 0, n_ = 0;                                               \
        JK_CHECK(account((chain), (key), &b_, &n_));                           \
        JK_CHECK_EQ(b_, (bal));                                                \
        JK_CHECK_EQ(n_, (non));                                                \
    } while (0)

static bool price(jk_cap chain, uint64_t *round, uint64_t *value)
{
    uint8_t b[16];
    jk_cap p = state_slot(chain, 22);
    if (jk_cap_data_len(p) != 16 || jk_cap_data_read(p, 0, b, 16) != JK_OK)
        return false;
    *round = get_u64(b);
    *value = get_u64(b + 8);
    return true;
}

/* ---- the ledger ---- */

JK_TEST(test_demo_ledger_transfers)
{
    jk_cap_stats before;
    jk_cap_stats_get(&before);
    demo d;
    JK_REQUIRE(demo_open(&d));
    /* The two event images differ (the kernel tells events apart by lineage). */
    JK_CHECK(!jk_cap_equal(d.images[IMG_TRANSACT], d.images[IMG_DINST]));
    uint8_t blob[TRANSFER_SIZE], other[TRANSFER_SIZE];
    size_t n_events = 0, n_traces = 0;
    const jk_chain_endpoint T = JK_CHAIN_ENDPOINT_TRANSACT;

    /* Block 1. */
    JK_REQUIRE(jk_chain_setup_cycle(d.producer, NULL) == JK_OK);
    transfer_blob(blob, &d.alice, &d.bob, 100, 0);
    JK_CHECK(demo_submit_signed(&d, T, blob, TRANSFER_SIZE, &d.alice));
    transfer_blob(blob, &d.bob, &d.dave, 50, 0); /* dave has no account yet */
    JK_CHECK(demo_submit_signed(&d, T, blob, TRANSFER_SIZE, &d.bob));
    /* Forged: carol's transfer signed by bob, or with bob's signature under carol's key. */
    transfer_blob(blob, &d.carol, &d.alice, 50, 0);
    JK_CHECK(!demo_submit_signed(&d, T, blob, TRANSFER_SIZE, &d.bob));
    jk_chain_trace forged;
    jk_chain_trace_sign(d.bob.sk, &d.genesis, blob, TRANSFER_SIZE, &forged);
    memcpy(forged.key, d.carol.pk, 32);
    JK_CHECK(!demo_submit(&d, T, blob, TRANSFER_SIZE, &forged, 1));
    JK_CHECK(!demo_submit(&d, T, blob, TRANSFER_SIZE, NULL, 0));
    /* Overspend, a future nonce, a sender without an account, amount 0, to oneself. */
    transfer_blob(blob, &d.carol, &d.alice, 251, 0);
    JK_CHECK(!demo_submit_signed(&d, T, blob, TRANSFER_SIZE, &d.carol));
    transfer_blob(blob, &d.carol, &d.alice, 10, 5);
    JK_CHECK(!demo_submit_signed(&d, T, blob, TRANSFER_SIZE, &d.carol));
    transfer_blob(blob, &d.rogue, &d.alice, 1, 0);
    JK_CHECK(!demo_submit_signed(&d, T, blob, TRANSFER_SIZE, &d.rogue));
    transfer_blob(blob, &d.carol, &d.alice, 0, 0);
    JK_CHECK(!demo_submit_signed(&d, T, blob, TRANSFER_SIZE, &d.carol));
    transfer_blob(blob, &d.carol, &d.carol, 10, 0);
    JK_CHECK(!demo_submit_signed(&d, T, blob, TRANSFER_SIZE, &d.carol));
    /* Truncated, and a transfer sent to the dispatch endpoint. */
    transfer_blob(blob, &d.carol, &d.alice, 10, 0);
    JK_CHECK(!demo_submit_signed(&d, T, blob, TRANSFER_SIZE - 1, &d.carol));
    JK_CHECK(!demo_submit_signed(&d, jk_chain_endpoint_dispatch(0), blob, TRANSFER_SIZE, &d.carol));
    JK_CHECK_EQ(d.producer->pool_count, 2);
    JK_REQUIRE(jk_chain_run_cycle_process(d.producer, NULL) == JK_OK);
    JK_REQUIRE(demo_block(&d, &n_events, &n_traces));
    JK_CHECK_EQ(n_events, 2);
    JK_CHECK_EQ(n_traces, 2); /* apply attested each transfer again */
    CHECK_ACCOUNT(d.producer->chain, &d.alice, 900, 1);
    CHECK_ACCOUNT(d.producer->chain, &d.bob, 550, 1);
    CHECK_ACCOUNT(d.producer->chain, &d.carol, 250, 0);
    CHECK_ACCOUNT(d.producer->chain, &d.dave, 50, 0);
    JK_CHECK(jk_cap_equal(d.producer->chain, d.importer->chain));
    /* apply no longer rewrites the ledger: the genesis ledger (slot 20) is the
     * genesis's, and the account tree (slot 23, 2^16 buckets) holds the three
     * accounts block 1 touched, each in the bucket of its key's first two bytes. */
    JK_CHECK(jk_cap_equal(state_slot(d.producer->chain, 20), state_slot(d.genesis_chain, 20)));
    jk_cap tree = state_slot(d.producer->chain, 23);
    JK_CHECK_EQ(jk_cap_cnode_log2(tree), 16);
    uint64_t in_tree = 0;
    for (uint32_t i = 0; jk_cap_cnode_next(tree, i, &i); i++)
        in_tree += jk_cap_data_len(jk_cap_cnode_get(tree, i)) / RECORD_SIZE;
    JK_CHECK_EQ(in_tree, 3);
    JK_CHECK(jk_cap_data_len(jk_cap_cnode_get(tree, (uint32_t)d.dave.pk[0] << 8 | d.dave.pk[1])) >= RECORD_SIZE);

    /* Block 2: the same transfer again is a replay (stale nonce): dropped. */
    JK_REQUIRE(jk_chain_setup_cycle(d.producer, NULL) == JK_OK);
    transfer_blob(blob, &d.alice, &d.bob, 100, 0);
    JK_CHECK(!demo_submit_signed(&d, T, blob, TRANSFER_SIZE, &d.alice));
    /* Two transfers with alice's next nonce are both admitted (each verify
     * sees the same state), and apply skips the second: the block stays valid. */
    transfer_blob(blob, &d.alice, &d.carol, 10, 1);
    JK_CHECK(demo_submit_signed(&d, T, blob, TRANSFER_SIZE, &d.alice));
    transfer_blob(other, &d.alice, &d.dave, 20, 1);
    JK_CHECK(demo_submit_signed(&d, T, other, TRANSFER_SIZE, &d.alice));
    /* dave spends what he received. */
    transfer_blob(blob, &d.dave, &d.carol, 50, 0);
    JK_CHECK(demo_submit_signed(&d, T, blob, TRANSFER_SIZE, &d.dave));
    JK_CHECK_EQ(d.producer->pool_count, 3);
    JK_REQUIRE(jk_chain_run_cycle_process(d.producer, NULL) == JK_OK);
    JK_REQUIRE(demo_block(&d, &n_events, &n_traces));
    JK_CHECK_EQ(n_events, 3);
    JK_CHECK_EQ(n_traces, 3);
    CHECK_ACCOUNT(d.importer->chain, &d.alice, 890, 2);
    CHECK_ACCOUNT(d.importer->chain, &d.bob, 550, 1);
    CHECK_ACCOUNT(d.importer->chain, &d.carol, 310, 0);
    CHECK_ACCOUNT(d.importer->chain, &d.dave, 0, 1);
    JK_CHECK(jk_cap_equal(d.producer->chain, d.importer->chain));

    /* Block 3: an empty block leaves the state as it was. */
    jk_hash root_before, root_after;
    jk_cap_hash(d.producer->chain, &root_before);
    JK_REQUIRE(jk_chain_setup_cycle(d.producer, NULL) == JK_OK);
    JK_REQUIRE(jk_chain_run_cycle_process(d.producer, NULL) == JK_OK);
    JK_REQUIRE(demo_block(&d, &n_events, &n_traces));
    JK_CHECK_EQ(n_events, 0);
    jk_cap_hash(d.importer->chain, &root_after);
    JK_CHECK_MEM(root_before.bytes, root_after.bytes, 32);

    demo_close(&d);
    jk_cap_stats after;
    jk_cap_stats_get(&after);
    JK_CHECK_EQ(after.live_objects, before.live_objects);
}

/* ---- the oracle ---- */

/* The sorted-by-reporter update a process must emit for reports[0..n). */
static size_t expected_update(uint8_t *out, uint64_t round, uint64_t median, uint8_t (*reports)[REPORT_SIZE],
                              size_t n)
{
    /* sort by reporter key (bytes 1..33) */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && memcmp(reports[j - 1] + 1, reports[j] + 1, 32) > 0; j--) {
            uint8_t t[REPORT_SIZE];
            memcpy(t, reports[j], REPORT_SIZE);
            memcpy(reports[j], reports[j - 1], REPORT_SIZE);
            memcpy(reports[j - 1], t, REPORT_SIZE);
        }
    return update_blob(out, round, median, (const uint8_t(*)[REPORT_SIZE])reports, n);
}

JK_TEST(test_demo_oracle_median)
{
    jk_cap_stats before;
    jk_cap_stats_get(&before);
    demo d;
    JK_REQUIRE(demo_open(&d));
    const jk_chain_endpoint D0 = jk_chain_endpoint_dispatch(0), T = JK_CHAIN_ENDPOINT_TRANSACT;
    uint8_t reports[N_REPORTERS][REPORT_SIZE], blob[REPORT_SIZE];
    jk_chain_trace traces[N_REPORTERS];
    const uint64_t prices[N_REPORTERS] = {100, 105, 98, 110, 102}; /* median 102 */
    static uint8_t expected[4096], bad[4096];
    uint64_t processed[JK_CHAIN_MAX_DISPATCH_ENDPOINTS], round = 0, value = 0;
    size_t n_events = 0, n_traces = 0;

    /* Block 1: five registered reporters report round 1. */
    JK_REQUIRE(jk_chain_setup_cycle(d.producer, NULL) == JK_OK);
    for (int i = 0; i < N_REPORTERS; i++) {
        report_blob(reports[i], &d.reporters[i], 1, prices[i]);
        jk_chain_trace_sign(d.reporters[i].sk, &d.genesis, reports[i], REPORT_SIZE, &traces[i]);
        JK_CHECK(demo_submit(&d, D0, reports[i], REPORT_SIZE, &traces[i], 1));
    }
    /* An unregistered reporter, a stale round, a forged report, a report sent
     * as a transact: dropped. */
    report_blob(blob, &d.rogue, 1, 1);
    JK_CHECK(!demo_submit_signed(&d, D0, blob, REPORT_SIZE, &d.rogue));
    report_blob(blob, &d.reporters[0], 0, 1);
    JK_CHECK(!demo_submit_signed(&d, D0, blob, REPORT_SIZE, &d.reporters[0]));
    report_blob(blob, &d.reporters[0], 1, 1);
    JK_CHECK(!demo_submit_signed(&d, D0, blob, REPORT_SIZE, &d.reporters[1]));
    JK_CHECK(!demo_submit(&d, T, reports[0], REPORT_SIZE, &traces[0], 1));
    JK_CHECK_EQ(d.producer->dispatch_buffered[0], N_REPORTERS);
    JK_CHECK_EQ(d.producer->pool_count, 0);

    /* Process attests the five reports (seen-rule) and emits the median. */
    JK_REQUIRE(jk_chain_run_cycle_process(d.producer, processed) == JK_OK);
    JK_CHECK_EQ(processed[0], N_REPORTERS);
    uint8_t sorted[N_REPORTERS][REPORT_SIZE];
    memcpy(sorted, reports, sizeof sorted);
    size_t expected_len = expected_update(expected, 1, 102, sorted, N_REPORTERS);
    /* run_cycle_process kept the emit for the body's end (with the traces
     * process used), not in the pool: every importer re-derives it */
    JK_CHECK_EQ(d.producer->pool_count, 0);
    JK_REQUIRE(d.producer->cycle_transact_count == 1);
    JK_CHECK_EQ(d.producer->cycle_transacts[0].blob_len, expected_len);
    JK_CHECK_MEM(d.producer->cycle_transacts[0].blob, expected, expected_len);
    JK_REQUIRE(demo_block(&d, &n_events, &n_traces));
    JK_CHECK_EQ(n_events, 1);
    JK_CHECK_EQ(n_traces, N_REPORTERS); /* apply re-attested every report */
    JK_CHECK(price(d.importer->chain, &round, &value));
    JK_CHECK_EQ(round, 1);
    JK_CHECK_EQ(value, 102);
    JK_CHECK(jk_cap_equal(d.producer->chain, d.importer->chain));

    /* Block 2: updates that do not hold are dropped at verify. */
    JK_REQUIRE(jk_chain_setup_cycle(d.producer, NULL) == JK_OK);
    JK_CHECK(!demo_submit(&d, T, expected, expected_len, traces, N_REPORTERS)); /* round 1 again */
    uint8_t r2[N_REPORTERS][REPORT_SIZE];
    jk_chain_trace t2[N_REPORTERS];
    const uint64_t prices2[N_REPORTERS] = {200, 201, 202, 203, 204};
    for (int i = 0; i < N_REPORTERS; i++) {
        report_blob(r2[i], &d.reporters[i], 2, prices2[i]);
        jk_chain_trace_sign(d.reporters[i].sk, &d.genesis, r2[i], REPORT_SIZE, &t2[i]);
    }
    uint8_t s2[N_REPORTERS][REPORT_SIZE];
    memcpy(s2, r2, sizeof s2);
    size_t len = expected_update(bad, 2, 203, s2, N_REPORTERS); /* wrong median (202) */
    JK_CHECK(!demo_submit(&d, T, bad, len, t2, N_REPORTERS));
    len = expected_update(bad, 2, 202, s2, 2); /* below quorum */
    JK_CHECK(!demo_submit(&d, T, bad, len, t2, N_REPORTERS));
    len = expected_update(bad, 2, 202, s2, N_REPORTERS);
    memcpy(bad + UPDATE_HEAD, s2[1], REPORT_SIZE); /* reporters out of order */
    memcpy(bad + UPDATE_HEAD + REPORT_SIZE, s2[0], REPORT_SIZE);
    JK_CHECK(!demo_submit(&d, T, bad, len, t2, N_REPORTERS));
    len = expected_update(bad, 2, 202, s2, N_REPORTERS);
    JK_CHECK(!demo_submit(&d, T, bad, len, t2, N_REPORTERS - 1)); /* a signature missing */
    /* Only two reporters report round 2, one of them twice: no quorum. */
    JK_CHECK(demo_submit(&d, D0, r2[0], REPORT_SIZE, &t2[0], 1));
    JK_CHECK(demo_submit(&d, D0, r2[1], REPORT_SIZE, &t2[1], 1));
    report_blob(blob, &d.reporters[1], 2, 999);
    JK_CHECK(demo_submit_signed(&d, D0, blob, REPORT_SIZE, &d.reporters[1]));
    JK_REQUIRE(jk_chain_run_cycle_process(d.producer, processed) == JK_OK);
    JK_CHECK_EQ(processed[0], 0);
    JK_CHECK_EQ(d.producer->pool_count, 0); /* process emitted nothing */
    JK_REQUIRE(demo_block(&d, &n_events, &n_traces));
    JK_CHECK_EQ(n_events, 0);
    JK_CHECK(price(d.importer->chain, &round, &value));
    JK_CHECK_EQ(round, 1);
    JK_CHECK_EQ(value, 102);

    /* Block 3: round 2 from three reporters, round 3 from four: the newest
     * round with a quorum wins; an even count takes the lower median. */
    JK_REQUIRE(jk_chain_setup_cycle(d.producer, NULL) == JK_OK);
    uint8_t r3[N_REPORTERS][REPORT_SIZE];
    jk_chain_trace t3[N_REPORTERS];
    const uint64_t prices3[4] = {310, 300, 330, 320}; /* lower median 310 */
    for (int i = 0; i < 3; i++)
        JK_CHECK(demo_submit(&d, D0, r2[i], REPORT_SIZE, &t2[i], 1));
    for (int i = 0; i < 4; i++) {
        report_blob(r3[i], &d.reporters[i + 1], 3, prices3[i]);
        jk_chain_trace_sign(d.reporters[i + 1].sk, &d.genesis, r3[i], REPORT_SIZE, &t3[i]);
        JK_CHECK(demo_submit(&d, D0, r3[i], REPORT_SIZE, &t3[i], 1));
    }
    JK_REQUIRE(jk_chain_run_cycle_process(d.producer, processed) == JK_OK);
    JK_CHECK_EQ(processed[0], 4);
    uint8_t s3[4][REPORT_SIZE];
    memcpy(s3, r3, sizeof s3);
    expected_len = expected_update(expected, 3, 310, s3, 4);
    JK_REQUIRE(d.producer->cycle_transact_count == 1);
    JK_CHECK_EQ(d.producer->cycle_transacts[0].blob_len, expected_len);
    JK_CHECK_MEM(d.producer->cycle_transacts[0].blob, expected, expected_len);
    JK_REQUIRE(demo_block(&d, &n_events, &n_traces));
    JK_CHECK_EQ(n_traces, 4);
    JK_CHECK(price(d.importer->chain, &round, &value));
    JK_CHECK_EQ(round, 3);
    JK_CHECK_EQ(value, 310);
    JK_CHECK(jk_cap_equal(d.producer->chain, d.importer->chain));

    /* Block 4: an update can also arrive as a gossiped transact, carrying its
     * reports' traces; verify and apply check it the same way. */
    JK_REQUIRE(jk_chain_setup_cycle(d.producer, NULL) == JK_OK);
    uint8_t r4[3][REPORT_SIZE];
    jk_chain_trace t4[3];
    for (int i = 0; i < 3; i++) {
        report_blob(r4[i], &d.reporters[i], 7, 400 + (uint64_t)i);
        jk_chain_trace_sign(d.reporters[i].sk, &d.genesis, r4[i], REPORT_SIZE, &t4[i]);
    }
    expected_len = expected_update(expected, 7, 401, r4, 3);
    JK_CHECK(demo_submit(&d, T, expected, expected_len, t4, 3));
    JK_REQUIRE(jk_chain_run_cycle_process(d.producer, processed) == JK_OK);
    JK_CHECK_EQ(processed[0], 0);
    JK_REQUIRE(demo_block(&d, &n_events, &n_traces));
    JK_CHECK_EQ(n_events, 1);
    JK_CHECK_EQ(n_traces, 3);
    JK_CHECK(price(d.importer->chain, &round, &value));
    JK_CHECK_EQ(round, 7);
    JK_CHECK_EQ(value, 401);
    JK_CHECK(jk_cap_equal(d.producer->chain, d.importer->chain));

    demo_close(&d);
    jk_cap_stats after;
    jk_cap_stats_get(&after);
    JK_CHECK_EQ(after.live_objects, before.live_objects);
}

/* ---- blocks that break the rules ---- */

/* Import a block made by hand on the importer (proposer: the validator). */
static jk_err import_made(demo *d, const jk_chain_event *events, size_t n, const jk_chain_trace *traces,
                          size_t ntraces, const jk_hash *root, jk_diag *why)
{
    jk_chain_block b;
    jk_err err = jk_chain_block_build(&d->parent, d->number, 0, root, events, n, traces, ntraces, &b, why);
    if (err != JK_OK)
        return err;
    jk_chain_block_sign(&b, d->validator.sk, &d->genesis);
    err = jk_chain_apply_block_import(d->importer, &b, &d->parent, d->number, why);
    if (err == JK_OK) {
        jk_chain_block_hash(&b, &d->parent);
        d->number++;
    }
    jk_chain_block_free(&b);
    return err;
}

JK_TEST(test_demo_invalid_blocks)
{
    jk_cap_stats before;
    jk_cap_stats_get(&before);
    demo d;
    JK_REQUIRE(demo_open(&d));
    jk_diag why = {{0}};
    jk_hash root;
    jk_cap_hash(d.genesis_chain, &root);
    uint8_t blob[TRANSFER_SIZE], over[TRANSFER_SIZE];
    transfer_blob(blob, &d.alice, &d.bob, 100, 0);
    jk_chain_trace tr, otr;
    jk_chain_trace_sign(d.alice.sk, &d.genesis, blob, TRANSFER_SIZE, &tr);
    jk_chain_event ev = {JK_CHAIN_ENDPOINT_TRANSACT, blob, TRANSFER_SIZE};

    /* Without its trace, malformed, or on a dispatch endpoint: invalid. */
    JK_CHECK_EQ(import_made(&d, &ev, 1, NULL, 0, &root, &why), JK_ERR_CHAIN_BLOCK_INVALID);
    jk_chain_event shorter = {JK_CHAIN_ENDPOINT_TRANSACT, blob, TRANSFER_SIZE - 1};
    jk_chain_trace str;
    jk_chain_trace_sign(d.alice.sk, &d.genesis, blob, TRANSFER_SIZE - 1, &str);
    JK_CHECK_EQ(import_made(&d, &shorter, 1, &str, 1, &root, &why), JK_ERR_CHAIN_BLOCK_INVALID);
    jk_chain_event dispatched = {jk_chain_endpoint_dispatch(0), blob, TRANSFER_SIZE};
    JK_CHECK_EQ(import_made(&d, &dispatched, 1, &tr, 1, &root, &why), JK_ERR_CHAIN_BLOCK_INVALID);
    JK_CHECK(jk_cap_equal(d.importer->chain, d.genesis_chain));

    /* The transfer and an overspend by bob in one block, made by hand: the
     * overspend is skipped, so the block's root is the producer's for the
     * transfer alone. */
    JK_REQUIRE(jk_chain_setup_cycle(d.producer, NULL) == JK_OK);
    JK_REQUIRE(demo_submit(&d, JK_CHAIN_ENDPOINT_TRANSACT, blob, TRANSFER_SIZE, &tr, 1));
    jk_chain_block produced;
    JK_REQUIRE(jk_chain_apply_block_produce(d.producer, &d.parent, d.number, 0, NULL, &produced, &why) == JK_OK);
    transfer_blob(over, &d.bob, &d.carol, 601, 0);
    jk_chain_trace_sign(d.bob.sk, &d.genesis, over, TRANSFER_SIZE, &otr);
    jk_chain_event both[2] = {ev, {JK_CHAIN_ENDPOINT_TRANSACT, over, TRANSFER_SIZE}};
    jk_chain_trace both_tr[2] = {tr, otr};
    JK_CHECK_EQ(import_made(&d, both, 2, both_tr, 2, &produced.header.state_root, &why), JK_OK);
    JK_CHECK(jk_cap_equal(d.importer->chain, d.producer->chain));
    CHECK_ACCOUNT(d.importer->chain, &d.bob, 600, 0);
    jk_chain_block_free(&produced);

    /* The same transfer again in the next block: a replay, skipped; the
     * state root does not move. */
    jk_cap_hash(d.importer->chain, &root);
    JK_CHECK_EQ(import_made(&d, &ev, 1, &tr, 1, &root, &why), JK_OK);
    CHECK_ACCOUNT(d.importer->chain, &d.alice, 900, 1);

    demo_close(&d);
    jk_cap_stats after;
    jk_cap_stats_get(&after);
    JK_CHECK_EQ(after.live_objects, before.live_objects);
}

/* ---- no recheck (docs/chain-design.md) ---- */

/* A pooled transact is verified at admission and again only when a produce
 * on another chain state takes it: setup_cycle verifies none (before: every
 * pooled event at every setup_cycle, 1.6–1.9 verify runs an event in the
 * testnet). A transfer a block made invalid (the same nonce spent) is
 * dropped by the produce that would have taken it, not included, and the
 * block is byte for byte the one a kernel that verified the whole pool at
 * setup_cycle (the old rule: a fresh kernel admitting the same pool) makes. */
JK_TEST(test_demo_no_recheck)
{
    jk_cap_stats before;
    jk_cap_stats_get(&before);
    demo d;
    JK_REQUIRE(demo_open(&d));
    const jk_chain_endpoint T = JK_CHAIN_ENDPOINT_TRANSACT;
    uint8_t a1[TRANSFER_SIZE], a2[TRANSFER_SIZE], b1[TRANSFER_SIZE], c1[TRANSFER_SIZE];
    transfer_blob(a1, &d.alice, &d.bob, 100, 0);
    transfer_blob(a2, &d.alice, &d.carol, 10, 0); /* the same nonce: invalid once a1 is in */
    transfer_blob(b1, &d.bob, &d.dave, 50, 0);
    transfer_blob(c1, &d.carol, &d.alice, 5, 0);
    jk_chain_kernel *p = d.producer;
    JK_REQUIRE(jk_chain_setup_cycle(p, NULL) == JK_OK);
    JK_CHECK(demo_submit_signed(&d, T, a1, TRANSFER_SIZE, &d.alice));
    JK_CHECK(demo_submit_signed(&d, T, a2, TRANSFER_SIZE, &d.alice));
    JK_CHECK(demo_submit_signed(&d, T, b1, TRANSFER_SIZE, &d.bob));
    JK_CHECK(demo_submit_signed(&d, T, c1, TRANSFER_SIZE, &d.carol));
    JK_CHECK_EQ(p->stats.verify_runs, 4); /* one per admission */
    /* new cycles on the same chain state (the node opens one per admission
     * batch and per produce): nothing verified again */
    JK_REQUIRE(jk_chain_setup_cycle(p, NULL) == JK_OK);
    JK_REQUIRE(jk_chain_setup_cycle(p, NULL) == JK_OK);
    JK_CHECK_EQ(p->pool_count, 4);
    JK_CHECK_EQ(p->stats.verify_runs, 4);
    /* block 1 takes one transfer (a body bound of one transfer's bytes):
     * verified at admission on this very state, so produce verifies none */
    jk_chain_set_produce_event_bytes(p, 2 + TRANSFER_SIZE);
    size_t events = 0;
    JK_REQUIRE(jk_chain_run_cycle_process(p, NULL) == JK_OK);
    JK_REQUIRE(demo_block(&d, &events, NULL));
    JK_CHECK_EQ(events, 1);
    JK_CHECK_EQ(p->stats.verify_runs, 4);
    JK_CHECK_EQ(p->pool_count, 3);
    jk_chain_set_produce_event_bytes(p, 0);

    /* What the old rule made of block 2: a fresh kernel at block 1's state
     * verifying the pool (a2, b1, c1) in its order. */
    jk_chain_kernel *old = NULL;
    JK_REQUIRE(jk_chain_kernel_new(d.record, p->chain, &old, NULL) == JK_OK);
    jk_chain_set_own_key(old, d.validator.sk);
    JK_REQUIRE(jk_chain_setup_cycle(old, NULL) == JK_OK);
    for (size_t i = 0; i < p->pool_count; i++) {
        jk_chain_event ev = {T, p->pool[i].blob, p->pool[i].blob_len};
        bool admitted;
        JK_REQUIRE(jk_chain_handle_incoming_event(old, &ev, p->pool[i].traces, p->pool[i].trace_count,
                                                  &admitted, NULL) == JK_OK);
        JK_CHECK_EQ(admitted, i > 0); /* a2 is a replay of alice's nonce 0 now */
    }
    jk_chain_block want, got;
    jk_diag why = {{0}};
    JK_REQUIRE(jk_chain_run_cycle_process(old, NULL) == JK_OK);
    JK_REQUIRE(jk_chain_apply_block_produce(old, &d.parent, d.number, 0, NULL, &want, &why) == JK_OK);

    /* block 2 here: setup_cycles verify nothing; produce verifies the three
     * (their state moved), drops a2 and takes b1 and c1 */
    JK_REQUIRE(jk_chain_setup_cycle(p, NULL) == JK_OK);
    JK_REQUIRE(jk_chain_setup_cycle(p, NULL) == JK_OK);
    JK_CHECK_EQ(p->stats.verify_runs, 4);
    JK_CHECK_EQ(p->pool_count, 3);
    JK_REQUIRE(jk_chain_run_cycle_process(p, NULL) == JK_OK);
    JK_REQUIRE(jk_chain_apply_block_produce(p, &d.parent, d.number, 0, NULL, &got, &why) == JK_OK);
    JK_CHECK_EQ(p->stats.verify_runs, 7);
    JK_CHECK_EQ(p->stats.produce_verifies, 3);
    JK_CHECK_EQ(p->stats.pool_dropped, 1);
    JK_CHECK_EQ(p->pool_count, 0);
    JK_CHECK_EQ(got.event_count, 2);
    JK_CHECK(got.event_count == 2 && !memcmp(got.events[0].blob, b1, TRANSFER_SIZE) &&
             !memcmp(got.events[1].blob, c1, TRANSFER_SIZE));
    uint8_t *wb = NULL, *gb = NULL;
    size_t wl = 0, gl = 0;
    JK_REQUIRE(jk_chain_block_encode(&want, &wb, &wl) == JK_OK && jk_chain_block_encode(&got, &gb, &gl) == JK_OK);
    JK_CHECK_EQ(gl, wl);
    JK_CHECK(gl == wl && !memcmp(gb, wb, wl));
    /* and the importer takes it */
    JK_CHECK_EQ(jk_chain_apply_block_import(d.importer, &got, &d.parent, d.number, &why), JK_OK);
    JK_CHECK(jk_cap_equal(d.importer->chain, p->chain));
    CHECK_ACCOUNT(d.importer->chain, &d.alice, 905, 1);
    free(wb);
    free(gb);
    jk_chain_block_free(&want);
    jk_chain_block_free(&got);
    jk_chain_kernel_free(old);
    demo_close(&d);
    jk_cap_stats after;
    jk_cap_stats_get(&after);
    JK_CHECK_EQ(after.live_objects, before.live_objects);
}
