/* test_allowance.c — the allowance chain (examples/allowance, its README),
 * written from the docs alone, through the chain layer and through the
 * `jark` commands on both engines. What it covers that the other examples
 * do not: spending by a delegate (the spender signs, not the owner) against
 * an allowance kept three levels deep in state; a faucet whose dispatch
 * process rate-limits by block number (apply reads the block context) and
 * folds a cycle's drips into one grant whose signatures apply attests
 * again; verify that refuses only what can never become valid.
 *
 * The blob encoders and the record reader are written from the README. */
#include "../test.h"
#include "example_chain.h"
#include "example_cli.h"
#include "../files.h"
#include "../progs.h"
#include "../../tools/commands.h"

#include "jark/bytes.h"

enum { OPEN = 41, MOVE = 33, SPEND = 41, DRIP = 17, RECORD = 56 };

static size_t open_blob(uint8_t *b, uint64_t id, const jk_ex_key *k)
{
    b[0] = 'O';
    jk_put_u64le(b + 1, id);
    memcpy(b + 9, k->pk, 32);
    return OPEN;
}

/* transfer ('T') and approve ('A') */
static size_t move_blob(uint8_t *b, char tag, uint64_t from, uint64_t nonce, uint64_t to, uint64_t amount)
{
    b[0] = (uint8_t)tag;
    jk_put_u64le(b + 1, from);
    jk_put_u64le(b + 9, nonce);
    jk_put_u64le(b + 17, to);
    jk_put_u64le(b + 25, amount);
    return MOVE;
}

static size_t spend_blob(uint8_t *b, uint64_t spender, uint64_t nonce, uint64_t owner, uint64_t to, uint64_t amount)
{
    move_blob(b, 'S', spender, nonce, owner, to);
    jk_put_u64le(b + 33, amount);
    return SPEND;
}

static size_t drip_blob(uint8_t *b, uint64_t id, uint64_t epoch)
{
    b[0] = 'D';
    jk_put_u64le(b + 1, id);
    jk_put_u64le(b + 9, epoch);
    return DRIP;
}

/* Account id: balance, nonce, next epoch; false when there is none. */
static bool account(jk_cap chain, uint64_t id, uint64_t *balance, uint64_t *nonce, uint64_t *next_epoch)
{
    uint8_t rec[RECORD];
    const uint32_t path[2] = {20, (uint32_t)id};
    if (!jk_ex_state_read(chain, path, 2, rec, RECORD))
        return false;
    *balance = jk_get_u64le(rec + 32);
    *nonce = jk_get_u64le(rec + 40);
    *next_epoch = jk_get_u64le(rec + 48);
    return true;
}

/* allowance[owner][spender] (0 when absent) */
static uint64_t allowance(jk_cap chain, uint64_t owner, uint64_t spender)
{
    uint8_t v[8];
    const uint32_t path[3] = {21, (uint32_t)owner, (uint32_t)spender};
    return jk_ex_state_read(chain, path, 3, v, 8) ? jk_get_u64le(v) : 0;
}

#define CHECK_ACCOUNT(chain, id, bal, non, next)                               \
    do {                                                                       \
        uint64_t b_ = 0, n_ = 0, e_ = 0;                                       \
        JK_CHECK(account((chain), (id), &b_, &n_, &e_));                       \
        JK_CHECK_EQ(b_, (bal));                                                \
        JK_CHECK_EQ(n_, (non));                                                \
        JK_CHECK_EQ(e_, (next));                                               \
    } while (0)

#define REFUSED(ep, blob, len, key, text)                                      \
    do {                                                                       \
        jk_diag why_ = {{0}};                                                  \
        JK_CHECK(!jk_ex_submit_why(&c, (ep), (blob), (len), (key), &why_));    \
        if (!strstr(why_.msg, (text)))                                         \
            jk_test_fail(__FILE__, __LINE__, "refused with \"%s\", expected \"%s\"", why_.msg, (text)); \
    } while (0)

JK_TEST(test_allowance_chain)
{
    jk_ex_chain c;
    JK_REQUIRE(jk_ex_open(&c, "examples/allowance/spec.json", NULL, NULL, NULL, 0));
    const jk_ex_key alice = jk_ex_key_of(1), bob = jk_ex_key_of(2), carol = jk_ex_key_of(3), dave = jk_ex_key_of(4);
    const jk_chain_endpoint T = JK_CHAIN_ENDPOINT_TRANSACT, D0 = jk_chain_endpoint_dispatch(0);
    uint8_t b[160];
    size_t events = 0, traces = 0;
    uint64_t processed = 0;

    /* Block 1: accounts 1 alice, 2 bob, 3 carol; dave's open of id 1 in the
     * same cycle passes verify (the state before the block) and is skipped
     * by apply (alice's came first). A transfer from an account that does
     * not exist yet is refused. */
    JK_REQUIRE(jk_chain_setup_cycle(c.producer, NULL) == JK_OK);
    JK_CHECK(jk_ex_submit(&c, T, b, open_blob(b, 1, &alice), &alice));
    JK_CHECK(jk_ex_submit(&c, T, b, open_blob(b, 2, &bob), &bob));
    JK_CHECK(jk_ex_submit(&c, T, b, open_blob(b, 3, &carol), &carol));
    JK_CHECK(jk_ex_submit(&c, T, b, open_blob(b, 1, &dave), &dave));
    REFUSED(T, b, open_blob(b, 4, &dave), &alice, "attest"); /* signed by another key */
    REFUSED(T, b, move_blob(b, 'T', 1, 0, 2, 5), &alice, "reason 2: no such account (signer)");
    JK_REQUIRE(jk_ex_block(&c, &processed, &events, &traces));
    JK_CHECK_EQ(events, 4);
    JK_CHECK_EQ(traces, 4);
    CHECK_ACCOUNT(c.importer->chain, 1, 0, 0, 0);
    {
        uint8_t rec[RECORD];
        const uint32_t path[2] = {20, 1};
        JK_REQUIRE(jk_ex_state_read(c.importer->chain, path, 2, rec, RECORD));
        JK_CHECK_MEM(rec, alice.pk, 32);
    }
    JK_CHECK_EQ(jk_ex_slot_u64(c.importer->chain, 22), 1000); /* the faucet, from the spec */
    JK_CHECK_EQ(jk_ex_slot_u64(c.importer->chain, 23), 1);    /* the block number, from the block context */

    /* Block 2 (epoch 0): alice and bob drip; alice's second drip of the
     * cycle (for epoch 1) is consumed but not granted: one grant of two,
     * with two traces. dave's open of a taken id is refused now. */
    JK_REQUIRE(jk_chain_setup_cycle(c.producer, NULL) == JK_OK);
    REFUSED(T, b, open_blob(b, 1, &dave), &dave, "reason 3: account id taken");
    JK_CHECK(jk_ex_submit(&c, D0, b, drip_blob(b, 1, 0), &alice));
    JK_CHECK(jk_ex_submit(&c, D0, b, drip_blob(b, 2, 0), &bob));
    JK_CHECK(jk_ex_submit(&c, D0, b, drip_blob(b, 1, 1), &alice));
    REFUSED(D0, b, drip_blob(b, 3, 0), &alice, "attest");        /* carol's account, alice's key */
    REFUSED(D0, b, drip_blob(b, 9, 0), &alice, "reason 2:");     /* no such account */
    REFUSED(T, b, drip_blob(b, 3, 0), &carol, "wrong lineage"); /* a drip is a dispatch event */
    JK_REQUIRE(jk_ex_block(&c, &processed, &events, &traces));
    JK_CHECK_EQ(processed, 2);
    JK_CHECK_EQ(events, 1); /* the grant */
    JK_CHECK_EQ(traces, 2);
    CHECK_ACCOUNT(c.importer->chain, 1, 100, 0, 1);
    CHECK_ACCOUNT(c.importer->chain, 2, 100, 0, 1);
    CHECK_ACCOUNT(c.importer->chain, 3, 0, 0, 0);
    JK_CHECK_EQ(jk_ex_slot_u64(c.importer->chain, 22), 800);

    /* Block 3 (epoch 0): alice sends carol 30 (nonce 0) and lets bob spend
     * 50 (nonce 1: one ahead, admitted, applied after the transfer); bob
     * spends 40 of alice's for carol. Alice's drip for epoch 0 again: served. */
    JK_REQUIRE(jk_chain_setup_cycle(c.producer, NULL) == JK_OK);
    REFUSED(D0, b, drip_blob(b, 1, 0), &alice, "reason 7: this account has had its drip for that epoch");
    JK_CHECK(jk_ex_submit(&c, T, b, move_blob(b, 'T', 1, 0, 3, 30), &alice));
    JK_CHECK(jk_ex_submit(&c, T, b, move_blob(b, 'A', 1, 1, 2, 50), &alice));
    JK_CHECK(jk_ex_submit(&c, T, b, spend_blob(b, 2, 0, 1, 3, 40), &bob));
    REFUSED(T, b, spend_blob(b, 2, 1, 1, 3, 5), &alice, "attest"); /* the owner cannot sign for the spender */
    JK_REQUIRE(jk_ex_block(&c, &processed, &events, &traces));
    JK_CHECK_EQ(events, 3);
    CHECK_ACCOUNT(c.importer->chain, 1, 30, 2, 1);
    CHECK_ACCOUNT(c.importer->chain, 2, 100, 1, 1);
    CHECK_ACCOUNT(c.importer->chain, 3, 70, 0, 0);
    JK_CHECK_EQ(allowance(c.importer->chain, 1, 2), 10);

    /* Block 4 (epoch 1): bob's spend of 20 passes verify (an allowance may
     * still come) and is skipped by apply (10 left): in the block, nothing
     * moves, bob's nonce stays. Alice drips for epoch 1 (granted), bob for
     * epoch 2 (not begun: consumed, not granted). Refusals with reasons. */
    JK_REQUIRE(jk_chain_setup_cycle(c.producer, NULL) == JK_OK);
    JK_CHECK(jk_ex_submit(&c, T, b, spend_blob(b, 2, 1, 1, 3, 20), &bob));
    JK_CHECK(jk_ex_submit(&c, D0, b, drip_blob(b, 1, 1), &alice));
    JK_CHECK(jk_ex_submit(&c, D0, b, drip_blob(b, 2, 2), &bob));
    REFUSED(T, b, move_blob(b, 'T', 1, 1, 3, 1), &alice, "reason 4: nonce already used");
    REFUSED(T, b, move_blob(b, 'T', 1, 2 + 16, 3, 1), &alice, "reason 4: nonce too far ahead");
    REFUSED(T, b, move_blob(b, 'T', 1, 2, 1, 1), &alice, "reason 1: malformed event"); /* to itself */
    REFUSED(T, b, move_blob(b, 'T', 1, 2, 3, 0), &alice, "reason 1: malformed event"); /* nothing */
    REFUSED(T, b, move_blob(b, 'A', 1, 2, 7, 1), &alice, "reason 2: no such account (spender)");
    b[0] = 'G';
    b[1] = 1;
    jk_put_u64le(b + 2, 1);
    jk_put_u64le(b + 10, 1);
    REFUSED(T, b, 18, &alice, "reason 9: grants are made by the faucet's process only");
    JK_REQUIRE(jk_ex_block(&c, &processed, &events, &traces));
    JK_CHECK_EQ(processed, 2);
    JK_CHECK_EQ(events, 2); /* the spend, the grant */
    CHECK_ACCOUNT(c.importer->chain, 1, 130, 2, 2);
    CHECK_ACCOUNT(c.importer->chain, 2, 100, 1, 1);
    CHECK_ACCOUNT(c.importer->chain, 3, 70, 0, 0);
    JK_CHECK_EQ(allowance(c.importer->chain, 1, 2), 10);
    JK_CHECK_EQ(jk_ex_slot_u64(c.importer->chain, 22), 700);
    JK_CHECK_EQ(jk_ex_slot_u64(c.importer->chain, 23), 4);

    /* Block 5: approve 0 revokes; the allowance slot is emptied, not 0. */
    JK_REQUIRE(jk_chain_setup_cycle(c.producer, NULL) == JK_OK);
    JK_CHECK(jk_ex_submit(&c, T, b, move_blob(b, 'A', 1, 2, 2, 0), &alice));
    JK_REQUIRE(jk_ex_block(&c, &processed, &events, &traces));
    JK_CHECK_EQ(events, 1);
    {
        jk_cap a;
        const uint32_t path[3] = {21, 1, 2};
        JK_CHECK(!jk_cap_cnode_get_path(jk_cap_instance_cnode(c.importer->chain), path, 3, &a) || jk_cap_is_null(a));
        JK_CHECK(jk_cap_cnode_get_path(jk_cap_instance_cnode(c.importer->chain), path, 2, &a)); /* the owner's CNode stays */
    }
    CHECK_ACCOUNT(c.importer->chain, 1, 130, 3, 2);
    jk_ex_close(&c);
}

/* Blocks made by hand around a grant (a proposer that runs no process,
 * or tampers with what it made): the grant process made for alice's and
 * bob's drips, under the root an honest apply gives it, with its traces
 * left out, swapped, one missing, or one made for another chain — each
 * refused on import, the importer's chain unchanged; with its two traces in
 * order it is a valid block even without the dispatch part (the drips are
 * the users' own signatures). */
JK_TEST(test_allowance_hostile_grants)
{
    jk_ex_chain c;
    JK_REQUIRE(jk_ex_open(&c, "examples/allowance/spec.json", NULL, NULL, NULL, 0));
    const jk_ex_key alice = jk_ex_key_of(1), bob = jk_ex_key_of(2);
    const jk_chain_endpoint T = JK_CHAIN_ENDPOINT_TRANSACT, D0 = jk_chain_endpoint_dispatch(0);
    uint8_t b[160];
    JK_REQUIRE(jk_chain_setup_cycle(c.producer, NULL) == JK_OK);
    JK_REQUIRE(jk_ex_submit(&c, T, b, open_blob(b, 1, &alice), &alice));
    JK_REQUIRE(jk_ex_submit(&c, T, b, open_blob(b, 2, &bob), &bob));
    JK_REQUIRE(jk_ex_block(&c, NULL, NULL, NULL));

    JK_REQUIRE(jk_chain_setup_cycle(c.producer, NULL) == JK_OK);
    JK_REQUIRE(jk_ex_submit(&c, D0, b, drip_blob(b, 1, 0), &alice));
    JK_REQUIRE(jk_ex_submit(&c, D0, b, drip_blob(b, 2, 0), &bob));
    uint64_t processed[JK_CHAIN_MAX_DISPATCH_ENDPOINTS] = {0};
    JK_REQUIRE(jk_chain_run_cycle_process(c.producer, processed) == JK_OK && processed[0] == 2);
    jk_chain_block made;
    JK_REQUIRE(jk_ex_produce(&c, &made));
    JK_REQUIRE(made.event_count == 1 && made.trace_count == 2);
    const jk_hash root = made.header.state_root;
    jk_chain_event grant = made.events[0];
    JK_REQUIRE(grant.blob_len == 34 && grant.blob[0] == 'G' && grant.blob[1] == 2);
    jk_chain_trace t[2] = {made.traces[0], made.traces[1]}, swapped[2] = {made.traces[1], made.traces[0]};
    jk_hash other = c.g.genesis_hash;
    other.bytes[0] ^= 1;
    uint8_t d[DRIP];
    jk_chain_trace foreign[2] = {made.traces[0]};
    jk_chain_trace_sign(bob.sk, &other, d, drip_blob(d, 2, 0), &foreign[1]);

    jk_cap before = jk_cap_retain(c.importer->chain);
    JK_CHECK(jk_ex_import_made(&c, &grant, 1, NULL, 0, &root) != JK_OK);
    JK_CHECK(jk_ex_import_made(&c, &grant, 1, swapped, 2, &root) != JK_OK);
    JK_CHECK(jk_ex_import_made(&c, &grant, 1, t, 1, &root) != JK_OK);
    JK_CHECK(jk_ex_import_made(&c, &grant, 1, foreign, 2, &root) != JK_OK);
    JK_CHECK(jk_cap_same(c.importer->chain, before));
    jk_cap_release(before);
    CHECK_ACCOUNT(c.importer->chain, 1, 0, 0, 0);

    JK_CHECK_EQ(jk_ex_import_made(&c, &grant, 1, t, 2, &root), JK_OK);
    CHECK_ACCOUNT(c.importer->chain, 1, 100, 0, 1);
    CHECK_ACCOUNT(c.importer->chain, 2, 100, 0, 1);
    jk_chain_block_free(&made);
    jk_ex_close(&c);
}

/* The README's run: keys, blobs, `jark event sign`, `jark devnet` on the
 * interpreter and on the recompiler: the same root, and account 1 as the
 * README says (`jark chain show --slot 20.1 --hex`). */
JK_TEST(test_allowance_devnet_both_engines)
{
    char dir[512], out[16384], err[2048], g[65], pk[3][65];
    JK_REQUIRE(jk_test_tmpdir("allowance-devnet", dir, sizeof dir));
    const char *files[] = {"common.h", "chain.c", "verify.c", "transact.c", "dispatch_instance.c", "process.c",
                           "spec.json"};
    JK_REQUIRE(jk_ex_copy_example(dir, "allowance", files, sizeof files / sizeof files[0], "spec.json", 0x42));
    const char *who[3] = {"alice.key", "bob.key", "carol.key"};
    jk_ex_key keys[3];
    for (int i = 0; i < 3; i++) {
        JK_REQUIRE(jk_ex_write_key(dir, who[i], (uint8_t)(1 + i), pk[i]));
        keys[i] = jk_ex_key_of((uint8_t)(1 + i));
    }
    JK_REQUIRE(jk_ex_genesis_hex(dir, "spec.json", g));

    /* Two events a block, in file order: opens (blocks 1, 2), drips (block
     * 3: one grant), alice's approve for bob and bob's spend (block 4). */
    uint8_t b[160];
    jk_test_write_file(dir, "open1.bin", b, open_blob(b, 1, &keys[0]));
    jk_test_write_file(dir, "open2.bin", b, open_blob(b, 2, &keys[1]));
    jk_test_write_file(dir, "open3.bin", b, open_blob(b, 3, &keys[2]));
    jk_test_write_file(dir, "drip1.bin", b, drip_blob(b, 1, 0));
    jk_test_write_file(dir, "drip2.bin", b, drip_blob(b, 2, 0));
    jk_test_write_file(dir, "approve.bin", b, move_blob(b, 'A', 1, 0, 2, 60));
    jk_test_write_file(dir, "spend.bin", b, spend_blob(b, 2, 0, 1, 3, 25));
    JK_REQUIRE(jk_ex_sign(dir, g, who, 1, "transact", "open1.bin"));
    JK_REQUIRE(jk_ex_sign(dir, g, who + 1, 1, "transact", "open2.bin"));
    JK_REQUIRE(jk_ex_sign(dir, g, who + 2, 1, "transact", "open3.bin"));
    JK_REQUIRE(jk_ex_sign(dir, g, who + 2, 1, "transact", "open3.bin")); /* a repeat: dropped */
    JK_REQUIRE(jk_ex_sign(dir, g, who, 1, "dispatch:0", "drip1.bin"));
    JK_REQUIRE(jk_ex_sign(dir, g, who + 1, 1, "dispatch:0", "drip2.bin"));
    JK_REQUIRE(jk_ex_sign(dir, g, who, 1, "transact", "approve.bin"));
    JK_REQUIRE(jk_ex_sign(dir, g, who + 1, 1, "transact", "spend.bin"));
    char root_interp[65], root_jit[65];
    JK_CHECK_EQ(jk_ex_devnet_root(dir, "spec.json", "interp", "5", root_interp, out, sizeof out), 0);
    JK_CHECK(strstr(out, "block 1 proposer 0 round 0 events 2 traces 2 ") != NULL);
    JK_CHECK(strstr(out, "block 2 proposer 0 round 0 events 1 traces 1 ") != NULL);
    JK_CHECK(strstr(out, "block 3 proposer 0 round 0 events 1 traces 2 ") != NULL); /* the grant */
    JK_CHECK(strstr(out, "block 4 proposer 0 round 0 events 2 traces 2 ") != NULL);
    JK_CHECK_EQ(jk_ex_devnet_root(dir, "spec.json", "jit", "5", root_jit, out, sizeof out), 0);
    JK_CHECK(strcmp(root_interp, root_jit) == 0);

    char store[700];
    snprintf(store, sizeof store, "%s/net-jit", dir);
    char *show[] = {"--store", store, "--slot", "20.1", "--hex"};
    JK_REQUIRE(jk_test_tool(jk_tool_chain_show, 5, show, out, sizeof out, err, sizeof err) == 0);
    /* alice: her key; balance 75 (100 − 25), nonce 1, next epoch 1 */
    JK_CHECK(strstr(out, pk[0]) != NULL);
    JK_CHECK(strstr(out, "4b0000000000000001000000000000000100000000000000") != NULL);
    char *show2[] = {"--store", store, "--slot", "21.1.2", "--hex"};
    JK_REQUIRE(jk_test_tool(jk_tool_chain_show, 5, show2, out, sizeof out, err, sizeof err) == 0);
    JK_CHECK(strstr(out, "2300000000000000") != NULL); /* 35 of bob's 60 left */
    if (jk_test_failures())
        printf("%s\n", out);
    jk_test_rm_tree(dir);
}
