/* test_multisig.c — the multisig wallet chain (examples/multisig,
 * examples/multisig/README.md) through the chain layer, loaded from its spec
 * as any author's chain is. What it covers that the other examples do not:
 * an event carrying as many traces as the wallet has owners (a create signed
 * by every owner), a spend signed by a threshold of owners named by a bit
 * set, and approvals gathered by a dispatch endpoint whose process attests
 * several keys for one emit — the seen-rule in use — before apply attests
 * them again. Producer and importer must agree on every block.
 *
 * The blob encoders and the record reader here are written from the README. */
#include "../test.h"
#include "example_chain.h"
#include "example_cli.h"
#include "../files.h"
#include "../progs.h"
#include "../../tools/commands.h"

#include "jark/bytes.h"

enum { SPEND = 34, APPROVE = 66, RECORD = 288 };

static size_t create_blob(uint8_t *b, uint64_t id, uint8_t threshold, uint64_t balance,
                          const jk_ex_key *const *owners, uint8_t count)
{
    b[0] = 'C';
    jk_put_u64le(b + 1, id);
    b[9] = threshold;
    b[10] = count;
    jk_put_u64le(b + 11, balance);
    for (uint8_t i = 0; i < count; i++)
        memcpy(b + 19 + 32 * i, owners[i]->pk, 32);
    return 19 + 32u * count;
}

static size_t spend_blob(uint8_t *b, uint64_t id, uint64_t nonce, uint64_t to, uint64_t amount, uint8_t bits)
{
    b[0] = 'S';
    jk_put_u64le(b + 1, id);
    jk_put_u64le(b + 9, nonce);
    jk_put_u64le(b + 17, to);
    jk_put_u64le(b + 25, amount);
    b[33] = bits;
    return SPEND;
}

static size_t approve_blob(uint8_t *b, uint64_t id, uint64_t nonce, uint64_t to, uint64_t amount, uint8_t index,
                           const jk_ex_key *owner)
{
    spend_blob(b, id, nonce, to, amount, index);
    b[0] = 'A';
    memcpy(b + 34, owner->pk, 32);
    return APPROVE;
}

/* Wallet id's balance and nonce; false when there is no record. */
static bool wallet(jk_cap chain, uint64_t id, uint64_t *balance, uint64_t *nonce)
{
    uint8_t rec[RECORD];
    jk_cap tree = jk_cap_cnode_get(jk_cap_instance_cnode(chain), 20);
    jk_cap r = jk_cap_cnode_get(tree, (uint32_t)id);
    if (jk_cap_data_len(r) != RECORD || jk_cap_data_read(r, 0, rec, RECORD) != JK_OK)
        return false;
    *balance = jk_get_u64le(rec + 16);
    *nonce = jk_get_u64le(rec + 24);
    return true;
}

#define CHECK_WALLET(chain, id, bal, non)                                      \
    do {                                                                       \
        uint64_t b_ = 0, n_ = 0;                                               \
        JK_CHECK(wallet((chain), (id), &b_, &n_));                             \
        JK_CHECK_EQ(b_, (bal));                                                \
        JK_CHECK_EQ(n_, (non));                                                \
    } while (0)

#define CHECK_WHY(text) JK_CHECK(strstr(why.msg, (text)) != NULL)

JK_TEST(test_multisig_chain)
{
    jk_ex_chain c;
    JK_REQUIRE(jk_ex_open(&c, "examples/multisig/spec.json", NULL, NULL, NULL, 0));
    const jk_ex_key alice = jk_ex_key_of(1), bob = jk_ex_key_of(2), carol = jk_ex_key_of(3), dave = jk_ex_key_of(4);
    const jk_chain_endpoint T = JK_CHAIN_ENDPOINT_TRANSACT, D0 = jk_chain_endpoint_dispatch(0);
    const jk_ex_key *abc[3] = {&alice, &bob, &carol}, *aab[3] = {&alice, &alice, &bob}, *d[1] = {&dave};
    uint8_t b[320];
    size_t len, events = 0, traces = 0;
    uint64_t processed = 0;
    jk_diag why = {{0}};

    /* Block 1: wallet 1 (alice, bob, carol; 2 of 3; 1000) signed by all three
     * owners: three traces in one event. With two traces it is dropped; a
     * threshold above the owner count and a repeated owner are malformed.
     * Wallet 2 (dave alone, 1 of 1, 0). */
    JK_REQUIRE(jk_chain_setup_cycle(c.producer, NULL) == JK_OK);
    len = create_blob(b, 1, 2, 1000, abc, 3);
    JK_CHECK(!jk_ex_submit_signed(&c, T, b, len, abc, 2, &why));
    JK_CHECK(jk_ex_submit_signed(&c, T, b, len, abc, 3, &why));
    len = create_blob(b, 3, 3, 5, abc, 2);
    JK_CHECK(!jk_ex_submit_signed(&c, T, b, len, abc, 2, &why));
    CHECK_WHY("reason 1: malformed create");
    len = create_blob(b, 3, 2, 5, aab, 3);
    JK_CHECK(!jk_ex_submit_signed(&c, T, b, len, aab, 3, &why));
    CHECK_WHY("reason 1: malformed create");
    len = create_blob(b, 2, 1, 0, d, 1);
    JK_CHECK(jk_ex_submit_signed(&c, T, b, len, d, 1, &why));
    JK_REQUIRE(jk_ex_block(&c, NULL, &events, &traces));
    JK_CHECK_EQ(events, 2);
    JK_CHECK_EQ(traces, 4);
    CHECK_WALLET(c.importer->chain, 1, 1000, 0);
    CHECK_WALLET(c.importer->chain, 2, 0, 0);

    /* Block 2: alice and bob spend 100 from 1 to 2 (bits 0 and 1, two
     * traces). One signer is below the threshold; bits naming two signers
     * with one trace fail the attest; bob and carol's spend of the same
     * nonce passes verify (same state) and apply skips it. */
    JK_REQUIRE(jk_chain_setup_cycle(c.producer, NULL) == JK_OK);
    spend_blob(b, 1, 0, 2, 100, 0x1);
    JK_CHECK(!jk_ex_submit_signed(&c, T, b, SPEND, abc, 1, &why));
    CHECK_WHY("reason 5:");
    spend_blob(b, 1, 0, 2, 100, 0x3);
    JK_CHECK(!jk_ex_submit_signed(&c, T, b, SPEND, abc, 1, &why));
    JK_CHECK(jk_ex_submit_signed(&c, T, b, SPEND, abc, 2, &why));
    spend_blob(b, 1, 0, 2, 50, 0x6);
    JK_CHECK(jk_ex_submit_signed(&c, T, b, SPEND, abc + 1, 2, &why));
    spend_blob(b, 1, 0, 2, 1001, 0x3);
    JK_CHECK(!jk_ex_submit_signed(&c, T, b, SPEND, abc, 2, &why));
    CHECK_WHY("reason 5:");
    JK_REQUIRE(jk_ex_block(&c, NULL, &events, &traces));
    JK_CHECK_EQ(events, 2);
    JK_CHECK_EQ(traces, 4);
    CHECK_WALLET(c.importer->chain, 1, 900, 1);
    CHECK_WALLET(c.importer->chain, 2, 100, 0);
    JK_CHECK_EQ(jk_ex_slot_u64(c.importer->chain, 21), 1);

    /* Block 3: approvals through dispatch 0. alice (owner 0) and carol
     * (owner 2) approve 300 to wallet 2: process emits one execute carrying
     * their two approvals. bob alone approves another amount (500): not enough; 999 is more than the balance.
     * dave claims to be owner 1: refused. An execute sent by a user: refused. */
    JK_REQUIRE(jk_chain_setup_cycle(c.producer, NULL) == JK_OK);
    JK_CHECK(jk_ex_submit(&c, D0, b, approve_blob(b, 1, 1, 2, 300, 0, &alice), &alice));
    JK_CHECK(jk_ex_submit(&c, D0, b, approve_blob(b, 1, 1, 2, 500, 1, &bob), &bob));
    JK_CHECK(!jk_ex_submit_why(&c, D0, b, approve_blob(b, 1, 1, 2, 999, 1, &bob), &bob, &why));
    CHECK_WHY("reason 8:");
    JK_CHECK(!jk_ex_submit_why(&c, D0, b, approve_blob(b, 1, 1, 2, 300, 1, &dave), &dave, &why));
    CHECK_WHY("reason 7: not that owner");
    JK_CHECK(jk_ex_submit(&c, D0, b, approve_blob(b, 1, 1, 2, 300, 2, &carol), &carol));
    spend_blob(b, 1, 1, 2, 300, 0x5);
    b[0] = 'X';
    JK_CHECK(!jk_ex_submit_signed(&c, T, b, SPEND, abc, 3, &why));
    CHECK_WHY("reason 9:");
    JK_REQUIRE(jk_ex_block(&c, &processed, &events, &traces));
    JK_CHECK_EQ(processed, 1);
    JK_CHECK_EQ(events, 1);
    JK_CHECK_EQ(traces, 2);
    CHECK_WALLET(c.importer->chain, 1, 600, 2);
    CHECK_WALLET(c.importer->chain, 2, 400, 0);
    JK_CHECK_EQ(jk_ex_slot_u64(c.importer->chain, 21), 2);

    /* Block 4: approvals do not carry over: bob's approval of the next nonce
     * alone emits nothing; block 2's spend sent again is refused (nonce). */
    JK_REQUIRE(jk_chain_setup_cycle(c.producer, NULL) == JK_OK);
    JK_CHECK(jk_ex_submit(&c, D0, b, approve_blob(b, 1, 2, 2, 10, 1, &bob), &bob));
    spend_blob(b, 1, 0, 2, 100, 0x3);
    JK_CHECK(!jk_ex_submit_signed(&c, T, b, SPEND, abc, 2, &why));
    CHECK_WHY("reason 5:");
    JK_REQUIRE(jk_ex_block(&c, &processed, &events, NULL));
    JK_CHECK_EQ(processed, 0);
    JK_CHECK_EQ(events, 0);
    CHECK_WALLET(c.importer->chain, 1, 600, 2);
    jk_ex_close(&c);
}

/* The README's run: keys, blobs, `jark event sign` (a create signed by three
 * owners with --attest, a spend by two, two approvals), `jark devnet` on the
 * interpreter and on the recompiler: the same root, and wallet 1 as the
 * README says (`jark chain show --slot 20.1 --hex`). */
JK_TEST(test_multisig_devnet_both_engines)
{
    char dir[512], out[16384], err[2048], g[65], pk[5][65];
    JK_REQUIRE(jk_test_tmpdir("multisig-devnet", dir, sizeof dir));
    const char *files[] = {"common.h", "chain.c", "verify.c", "transact.c", "dispatch_instance.c", "process.c",
                           "aa.c", "spec.json"};
    JK_REQUIRE(jk_ex_copy_example(dir, "multisig", files, sizeof files / sizeof files[0], "spec.json", 0x42));
    const char *who[4] = {"alice.key", "bob.key", "carol.key", "dave.key"};
    const jk_ex_key *k[4];
    jk_ex_key keys[4];
    for (int i = 0; i < 4; i++) {
        JK_REQUIRE(jk_ex_write_key(dir, who[i], (uint8_t)(1 + i), pk[i]));
        keys[i] = jk_ex_key_of((uint8_t)(1 + i));
        k[i] = &keys[i];
    }
    JK_REQUIRE(jk_ex_genesis_hex(dir, "spec.json", g));

    /* Two events a block, in file order: the creates; the spend (it needs
     * wallet 1) and a create to fill the block; the approvals (they need
     * nonce 1): process emits one execute in block 3. */
    uint8_t b[320];
    jk_test_write_file(dir, "create1.bin", b, create_blob(b, 1, 2, 1000, k, 3));
    jk_test_write_file(dir, "create2.bin", b, create_blob(b, 2, 1, 0, k + 3, 1));
    jk_test_write_file(dir, "spend.bin", b, spend_blob(b, 1, 0, 2, 100, 0x3));
    jk_test_write_file(dir, "create3.bin", b, create_blob(b, 3, 1, 7, k + 1, 1));
    jk_test_write_file(dir, "approve-a.bin", b, approve_blob(b, 1, 1, 2, 300, 0, k[0]));
    jk_test_write_file(dir, "approve-c.bin", b, approve_blob(b, 1, 1, 2, 300, 2, k[2]));
    JK_REQUIRE(jk_ex_sign(dir, g, who, 3, "transact", "create1.bin"));
    JK_REQUIRE(jk_ex_sign(dir, g, who + 3, 1, "transact", "create2.bin"));
    JK_REQUIRE(jk_ex_sign(dir, g, who, 2, "transact", "spend.bin"));
    JK_REQUIRE(jk_ex_sign(dir, g, who + 1, 1, "transact", "create3.bin"));
    JK_REQUIRE(jk_ex_sign(dir, g, who, 1, "dispatch:0", "approve-a.bin"));
    JK_REQUIRE(jk_ex_sign(dir, g, who + 2, 1, "dispatch:0", "approve-c.bin"));
    char root_interp[65], root_jit[65];
    JK_CHECK_EQ(jk_ex_devnet_root(dir, "spec.json", "interp", "4", root_interp, out, sizeof out), 0);
    JK_CHECK(strstr(out, "block 1 proposer 0 round 0 events 2 traces 4 ") != NULL);
    JK_CHECK(strstr(out, "block 2 proposer 0 round 0 events 2 traces 3 ") != NULL);
    JK_CHECK(strstr(out, "block 3 proposer 0 round 0 events 1 traces 2 ") != NULL); /* the execute */
    JK_CHECK_EQ(jk_ex_devnet_root(dir, "spec.json", "jit", "4", root_jit, out, sizeof out), 0);
    JK_CHECK(strcmp(root_interp, root_jit) == 0);

    char store[700];
    snprintf(store, sizeof store, "%s/net-jit", dir);
    char *show[] = {"--store", store, "--slot", "20.1", "--hex"};
    JK_REQUIRE(jk_test_tool(jk_tool_chain_show, 5, show, out, sizeof out, err, sizeof err) == 0);
    /* threshold 2, 3 owners, balance 600 (0x258), nonce 2; then alice's key */
    JK_CHECK(strstr(out, "0200000000000000030000000000000058020000000000000200000000000000") != NULL);
    JK_CHECK(strstr(out, pk[0]) != NULL);
    jk_test_rm_tree(dir);
}

/* Blocks made by hand around an execute (a proposer that runs no process,
 * or tampers with what it made): its approvals' traces swapped, one left
 * out, made for another chain, or an approver added without a trace — each
 * refused on import, the importer's chain as it was. The execute with its
 * two traces in order is a valid block even without the dispatch part (the
 * approvals are the owners' own signatures), and replayed at the next
 * height it changes nothing: apply skips a spent nonce. */
JK_TEST(test_multisig_hostile_blocks)
{
    jk_ex_chain c;
    JK_REQUIRE(jk_ex_open(&c, "examples/multisig/spec.json", NULL, NULL, NULL, 0));
    const jk_ex_key alice = jk_ex_key_of(1), bob = jk_ex_key_of(2), carol = jk_ex_key_of(3), dave = jk_ex_key_of(4);
    const jk_ex_key *abc[3] = {&alice, &bob, &carol}, *d[1] = {&dave};
    const jk_chain_endpoint T = JK_CHAIN_ENDPOINT_TRANSACT, D0 = jk_chain_endpoint_dispatch(0);
    uint8_t b[320];
    jk_diag why = {{0}};
    JK_REQUIRE(jk_chain_setup_cycle(c.producer, NULL) == JK_OK);
    JK_REQUIRE(jk_ex_submit_signed(&c, T, b, create_blob(b, 1, 2, 1000, abc, 3), abc, 3, &why));
    JK_REQUIRE(jk_ex_submit_signed(&c, T, b, create_blob(b, 2, 1, 0, d, 1), d, 1, &why));
    JK_REQUIRE(jk_ex_block(&c, NULL, NULL, NULL));

    /* the producer makes the execute from alice's and carol's approvals */
    JK_REQUIRE(jk_chain_setup_cycle(c.producer, NULL) == JK_OK);
    JK_REQUIRE(jk_ex_submit(&c, D0, b, approve_blob(b, 1, 0, 2, 300, 0, &alice), &alice));
    JK_REQUIRE(jk_ex_submit(&c, D0, b, approve_blob(b, 1, 0, 2, 300, 2, &carol), &carol));
    uint64_t processed[JK_CHAIN_MAX_DISPATCH_ENDPOINTS] = {0};
    JK_REQUIRE(jk_chain_run_cycle_process(c.producer, processed) == JK_OK && processed[0] == 1);
    jk_chain_block made;
    JK_REQUIRE(jk_ex_produce(&c, &made));
    JK_REQUIRE(made.event_count == 1 && made.trace_count == 2);
    const jk_hash root = made.header.state_root;
    jk_chain_event x = made.events[0];
    jk_chain_trace t[2] = {made.traces[0], made.traces[1]}, swapped[2] = {made.traces[1], made.traces[0]};
    jk_hash other = c.g.genesis_hash;
    other.bytes[0] ^= 1;
    jk_chain_trace foreign[2];
    uint8_t a[APPROVE];
    jk_chain_trace_sign(alice.sk, &other, a, approve_blob(a, 1, 0, 2, 300, 0, &alice), &foreign[0]);
    jk_chain_trace_sign(carol.sk, &other, a, approve_blob(a, 1, 0, 2, 300, 2, &carol), &foreign[1]);
    uint8_t with_bob[SPEND];
    memcpy(with_bob, x.blob, SPEND);
    with_bob[33] = 0x7;
    jk_chain_event xb = {T, with_bob, SPEND};

    jk_cap before = jk_cap_retain(c.importer->chain);
    JK_CHECK(jk_ex_import_made(&c, &x, 1, swapped, 2, &root) != JK_OK);
    JK_CHECK(jk_ex_import_made(&c, &x, 1, t, 1, &root) != JK_OK);
    JK_CHECK(jk_ex_import_made(&c, &x, 1, foreign, 2, &root) != JK_OK);
    JK_CHECK(jk_ex_import_made(&c, &xb, 1, t, 2, &root) != JK_OK);
    JK_CHECK(jk_cap_same(c.importer->chain, before));
    jk_cap_release(before);
    CHECK_WALLET(c.importer->chain, 1, 1000, 0);

    JK_CHECK_EQ(jk_ex_import_made(&c, &x, 1, t, 2, &root), JK_OK);
    CHECK_WALLET(c.importer->chain, 1, 700, 1);
    CHECK_WALLET(c.importer->chain, 2, 300, 0);
    jk_hash other_root = root;
    other_root.bytes[5] ^= 4;
    JK_CHECK(jk_ex_import_made(&c, &x, 1, t, 2, &other_root) != JK_OK);
    JK_CHECK_EQ(jk_ex_import_made(&c, &x, 1, t, 2, &root), JK_OK); /* the replay: skipped, same root */
    CHECK_WALLET(c.importer->chain, 1, 700, 1);
    jk_chain_block_free(&made);
    jk_ex_close(&c);
}
