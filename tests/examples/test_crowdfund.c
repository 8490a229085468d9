/* test_crowdfund.c — the crowdfund chain (examples/crowdfund, its README),
 * written from the docs alone, through the chain layer and through the
 * `jark` commands on both engines. What it covers that the other examples
 * do not: a chain with no dispatch endpoint (spec "dispatch": [], a
 * ChainImage of two endpoints); balances held by a campaign between blocks
 * and paid out one way or the other by a deadline in block numbers (apply's
 * block context), so whether an event applies depends on the block it lands
 * in; verify refusing only what no later block could make valid, reading
 * the last block's number back from state.
 *
 * The blob encoders and the record readers are written from the README. */
#include "../test.h"
#include "example_chain.h"
#include "example_cli.h"
#include "../files.h"
#include "../progs.h"
#include "../../tools/commands.h"

#include "jark/bytes.h"

enum { CREATE = 41, PLEDGE = 33, SETTLE = 25, ACCOUNT = 48, CAMPAIGN = 40 };

static size_t head(uint8_t *b, char tag, uint64_t acct, uint64_t nonce, uint64_t campaign)
{
    b[0] = (uint8_t)tag;
    jk_put_u64le(b + 1, acct);
    jk_put_u64le(b + 9, nonce);
    jk_put_u64le(b + 17, campaign);
    return SETTLE;
}

static size_t create_blob(uint8_t *b, uint64_t acct, uint64_t nonce, uint64_t campaign, uint64_t goal,
                          uint64_t deadline)
{
    head(b, 'C', acct, nonce, campaign);
    jk_put_u64le(b + 25, goal);
    jk_put_u64le(b + 33, deadline);
    return CREATE;
}

static size_t pledge_blob(uint8_t *b, uint64_t acct, uint64_t nonce, uint64_t campaign, uint64_t amount)
{
    head(b, 'P', acct, nonce, campaign);
    jk_put_u64le(b + 25, amount);
    return PLEDGE;
}

/* Account id's balance and nonce (slot 20: 48-byte records). */
static bool account(jk_cap chain, uint64_t id, uint64_t *balance, uint64_t *nonce)
{
    jk_cap d = jk_cap_cnode_get(jk_cap_instance_cnode(chain), 20);
    uint8_t rec[ACCOUNT];
    if (jk_cap_data_len(d) < (id + 1) * ACCOUNT || jk_cap_data_read(d, id * ACCOUNT, rec, ACCOUNT) != JK_OK)
        return false;
    *balance = jk_get_u64le(rec + 32);
    *nonce = jk_get_u64le(rec + 40);
    return true;
}

/* Campaign id's raised and claimed fields (slot 21.id). */
static bool campaign(jk_cap chain, uint64_t id, uint64_t *raised, uint64_t *claimed)
{
    uint8_t rec[CAMPAIGN];
    const uint32_t path[2] = {21, (uint32_t)id};
    if (!jk_ex_state_read(chain, path, 2, rec, CAMPAIGN))
        return false;
    *raised = jk_get_u64le(rec + 24);
    *claimed = jk_get_u64le(rec + 32);
    return true;
}

static uint64_t pledge(jk_cap chain, uint64_t id, uint64_t acct)
{
    uint8_t v[8];
    const uint32_t path[3] = {22, (uint32_t)id, (uint32_t)acct};
    return jk_ex_state_read(chain, path, 3, v, 8) ? jk_get_u64le(v) : 0;
}

#define CHECK_ACCOUNT(chain, id, bal, non)                                     \
    do {                                                                       \
        uint64_t b_ = 0, n_ = 0;                                               \
        JK_CHECK(account((chain), (id), &b_, &n_));                            \
        JK_CHECK_EQ(b_, (bal));                                                \
        JK_CHECK_EQ(n_, (non));                                                \
    } while (0)

#define CHECK_CAMPAIGN(chain, id, raised_, claimed_)                           \
    do {                                                                       \
        uint64_t r_ = 0, c_ = 0;                                               \
        JK_CHECK(campaign((chain), (id), &r_, &c_));                           \
        JK_CHECK_EQ(r_, (raised_));                                            \
        JK_CHECK_EQ(c_, (claimed_));                                           \
    } while (0)

#define REFUSED(blob, len, key, text)                                          \
    do {                                                                       \
        jk_diag why_ = {{0}};                                                  \
        JK_CHECK(!jk_ex_submit_why(&c, T, (blob), (len), (key), &why_));       \
        if (!strstr(why_.msg, (text)))                                         \
            jk_test_fail(__FILE__, __LINE__, "refused with \"%s\", expected \"%s\"", why_.msg, (text)); \
    } while (0)

/* The README's story, block by block. Accounts 0 alice, 1 bob, 2 carol,
 * 1000 each at genesis (the keys of seeds 1, 2, 3). */
JK_TEST(test_crowdfund_chain)
{
    jk_ex_chain c;
    JK_REQUIRE(jk_ex_open(&c, "examples/crowdfund/spec.json", NULL, NULL, NULL, 0));
    JK_CHECK_EQ(c.g.dispatch_count, 0);
    const jk_ex_key alice = jk_ex_key_of(1), bob = jk_ex_key_of(2), carol = jk_ex_key_of(3);
    const jk_chain_endpoint T = JK_CHAIN_ENDPOINT_TRANSACT;
    uint8_t b[64];
    size_t events = 0, traces = 0;

    /* Block 1: alice opens campaign 7 (goal 500, deadline 3), carol
     * campaign 8 (goal 2000, deadline 3); bob's create of id 7 in the same
     * block passes verify and is skipped by apply (his nonce stays 0). */
    JK_REQUIRE(jk_chain_setup_cycle(c.producer, NULL) == JK_OK);
    JK_CHECK(jk_ex_submit(&c, T, b, create_blob(b, 0, 0, 7, 500, 3), &alice));
    JK_CHECK(jk_ex_submit(&c, T, b, create_blob(b, 2, 0, 8, 2000, 3), &carol));
    JK_CHECK(jk_ex_submit(&c, T, b, create_blob(b, 1, 0, 7, 10, 9), &bob));
    REFUSED(b, create_blob(b, 1, 1, 9, 10, 9), &alice, "attest");           /* bob's account, alice's key */
    REFUSED(b, create_blob(b, 3, 0, 9, 10, 9), &alice, "reason 2: no such account");
    REFUSED(b, create_blob(b, 64, 0, 9, 10, 9), &alice, "reason 1: malformed event");
    REFUSED(b, create_blob(b, 1, 0, 9, 0, 9), &bob, "reason 1: malformed event");   /* goal 0 */
    REFUSED(b, create_blob(b, 1, 0, 256, 10, 9), &bob, "reason 1: malformed event"); /* id past 255 */
    REFUSED(b, create_blob(b, 1, 0, 9, 10, 1), &bob, "reason 5: deadline already past");
    REFUSED(b, create_blob(b, 1, 0, 9, 10, 9) - 1, &bob, "reason 1: malformed event"); /* short */
    REFUSED(b, pledge_blob(b, 1, 0, 9, 0), &bob, "reason 1: malformed event");        /* nothing */
    b[0] = 'X';
    REFUSED(b, SETTLE, &bob, "reason 1: malformed event");
    { /* the chain has no dispatch endpoint: an event for dispatch 0 is refused before verify */
        jk_diag why = {{0}};
        JK_CHECK(!jk_ex_submit_why(&c, jk_chain_endpoint_dispatch(0), b, create_blob(b, 1, 0, 9, 10, 9), &bob, &why));
        JK_CHECK(strstr(why.msg, "dispatch endpoint 0 does not exist") != NULL);
    }
    JK_REQUIRE(jk_ex_block(&c, NULL, &events, &traces));
    JK_CHECK_EQ(events, 3);
    JK_CHECK_EQ(traces, 3);
    CHECK_ACCOUNT(c.importer->chain, 0, 1000, 1);
    CHECK_ACCOUNT(c.importer->chain, 1, 1000, 0);
    CHECK_ACCOUNT(c.importer->chain, 2, 1000, 1);
    CHECK_CAMPAIGN(c.importer->chain, 7, 0, 0);
    JK_CHECK_EQ(jk_ex_slot_u64(c.importer->chain, 23), 1);

    /* Block 2: bob pledges 300 to 7 and 100 to 8, carol 250 to 7; alice's
     * claim of 7 comes before its deadline: admitted (it may be in time
     * later, verify cannot know), skipped by apply. */
    JK_REQUIRE(jk_chain_setup_cycle(c.producer, NULL) == JK_OK);
    JK_CHECK(jk_ex_submit(&c, T, b, pledge_blob(b, 1, 0, 7, 300), &bob));
    JK_CHECK(jk_ex_submit(&c, T, b, pledge_blob(b, 1, 1, 8, 100), &bob));
    JK_CHECK(jk_ex_submit(&c, T, b, pledge_blob(b, 2, 1, 7, 250), &carol));
    JK_CHECK(jk_ex_submit(&c, T, b, head(b, 'W', 0, 1, 7), &alice));
    REFUSED(b, head(b, 'W', 1, 2, 7), &bob, "reason 7: only the creator claims");
    JK_REQUIRE(jk_ex_block(&c, NULL, &events, &traces));
    JK_CHECK_EQ(events, 4);
    CHECK_ACCOUNT(c.importer->chain, 0, 1000, 1);
    CHECK_ACCOUNT(c.importer->chain, 1, 600, 2);
    CHECK_ACCOUNT(c.importer->chain, 2, 750, 2);
    CHECK_CAMPAIGN(c.importer->chain, 7, 550, 0);
    CHECK_CAMPAIGN(c.importer->chain, 8, 100, 0);
    JK_CHECK_EQ(pledge(c.importer->chain, 7, 1), 300);
    JK_CHECK_EQ(pledge(c.importer->chain, 7, 2), 250);

    /* Block 3 (the deadline): bob pledges more than he has (admitted: a
     * refund could still come; skipped). Replays and far nonces refused. */
    JK_REQUIRE(jk_chain_setup_cycle(c.producer, NULL) == JK_OK);
    JK_CHECK(jk_ex_submit(&c, T, b, pledge_blob(b, 1, 2, 8, 2000), &bob));
    REFUSED(b, pledge_blob(b, 1, 0, 7, 300), &bob, "reason 3: nonce already used");
    REFUSED(b, pledge_blob(b, 1, 2 + 16, 7, 1), &bob, "reason 4: nonce too far ahead");
    JK_REQUIRE(jk_ex_block(&c, NULL, &events, &traces));
    JK_CHECK_EQ(events, 1);
    CHECK_ACCOUNT(c.importer->chain, 1, 600, 2);
    CHECK_CAMPAIGN(c.importer->chain, 8, 100, 0);

    /* Block 4, past the deadline: 7 met its goal, 8 did not. Alice claims 7
     * (550), bob takes his 100 back from 8; what can never apply now is
     * refused with its reason. */
    JK_REQUIRE(jk_chain_setup_cycle(c.producer, NULL) == JK_OK);
    JK_CHECK(jk_ex_submit(&c, T, b, head(b, 'W', 0, 1, 7), &alice));
    JK_CHECK(jk_ex_submit(&c, T, b, head(b, 'R', 1, 2, 8), &bob));
    REFUSED(b, pledge_blob(b, 2, 2, 7, 1), &carol, "reason 5: campaign closed");
    REFUSED(b, head(b, 'R', 2, 2, 7), &carol, "reason 8: goal met: nothing to refund");
    REFUSED(b, head(b, 'W', 2, 2, 8), &carol, "reason 8: goal missed: backers take refunds");
    JK_REQUIRE(jk_ex_block(&c, NULL, &events, &traces));
    JK_CHECK_EQ(events, 2);
    CHECK_ACCOUNT(c.importer->chain, 0, 1550, 2);
    CHECK_ACCOUNT(c.importer->chain, 1, 700, 3);
    CHECK_ACCOUNT(c.importer->chain, 2, 750, 2);
    CHECK_CAMPAIGN(c.importer->chain, 7, 550, 1);
    CHECK_CAMPAIGN(c.importer->chain, 8, 0, 0);
    JK_CHECK_EQ(pledge(c.importer->chain, 7, 1), 0); /* claimed: the pledges are gone */
    JK_CHECK_EQ(pledge(c.importer->chain, 8, 1), 0);

    /* Block 5: a second claim is refused; carol's refund of 8, where she
     * pledged nothing, is admitted and skipped (her nonce stays). */
    JK_REQUIRE(jk_chain_setup_cycle(c.producer, NULL) == JK_OK);
    REFUSED(b, head(b, 'W', 0, 2, 7), &alice, "reason 8: already claimed");
    JK_CHECK(jk_ex_submit(&c, T, b, head(b, 'R', 2, 2, 8), &carol));
    JK_REQUIRE(jk_ex_block(&c, NULL, &events, &traces));
    JK_CHECK_EQ(events, 1);
    CHECK_ACCOUNT(c.importer->chain, 2, 750, 2);
    jk_ex_close(&c);
}

/* A block made by hand at c's next number holding one event and its trace,
 * under root; imported: its error, and why into why. */
static jk_err import_made_why(jk_ex_chain *c, const jk_chain_event *ev, const jk_chain_trace *t, const jk_hash *root,
                              jk_diag *why)
{
    jk_chain_block blk;
    jk_err err = jk_chain_block_build(&c->parent, c->number, 0, root, ev, 1, t, 1, &blk, why);
    if (err != JK_OK)
        return err;
    jk_chain_block_sign(&blk, c->validator.sk, &c->g.genesis_hash);
    err = jk_chain_apply_block_import(c->importer, &blk, &c->parent, c->number, why);
    jk_chain_block_free(&blk);
    return err;
}

/* A proposer that puts in a block what verify would never admit: a pledge
 * from bob's account signed by alice, a malformed pledge. The importer
 * refuses the block because apply faults (attest, REQUIRE), and its chain
 * stays. The control, bob's own pledge under the same (wrong) root, is
 * refused only for its root. */
JK_TEST(test_crowdfund_hostile_blocks)
{
    jk_ex_chain c;
    JK_REQUIRE(jk_ex_open(&c, "examples/crowdfund/spec.json", NULL, NULL, NULL, 0));
    const jk_ex_key alice = jk_ex_key_of(1), bob = jk_ex_key_of(2);
    uint8_t b[64];
    jk_hash before;
    jk_cap_hash(c.importer->chain, &before);
    size_t len = pledge_blob(b, 1, 0, 7, 10);
    for (int k = 0; k < 3; k++) {
        jk_chain_trace t;
        size_t n = k == 1 ? len - 1 : len;
        jk_chain_trace_sign(k == 0 ? alice.sk : bob.sk, &c.g.genesis_hash, b, n, &t);
        jk_chain_event ev = {JK_CHAIN_ENDPOINT_TRANSACT, b, n};
        jk_diag why = {{0}};
        JK_CHECK(import_made_why(&c, &ev, &t, &before, &why) != JK_OK);
        const char *want = k == 2 ? "state root" : "apply";
        if (!strstr(why.msg, want))
            jk_test_fail(__FILE__, __LINE__, "case %d refused with \"%s\", expected \"%s\"", k, why.msg, want);
        jk_hash now;
        jk_cap_hash(c.importer->chain, &now);
        JK_CHECK_MEM(now.bytes, before.bytes, 32);
    }
    jk_ex_close(&c);
}

/* The README's run: keys, blobs, `jark event sign`, `jark devnet` on the
 * interpreter and on the recompiler: the same root, and the accounts as the
 * README says (`jark chain show --slot 20 --hex`). */
JK_TEST(test_crowdfund_devnet_both_engines)
{
    char dir[512], out[16384], err[2048], g[65], pk[3][65];
    JK_REQUIRE(jk_test_tmpdir("crowdfund-devnet", dir, sizeof dir));
    const char *files[] = {"common.h", "chain.c", "verify.c", "transact.c", "dispatch_instance.c", "spec.json"};
    JK_REQUIRE(jk_ex_copy_example(dir, "crowdfund", files, sizeof files / sizeof files[0], "spec.json", 0x42));
    const char *who[3] = {"alice.key", "bob.key", "carol.key"};
    for (int i = 0; i < 3; i++)
        JK_REQUIRE(jk_ex_write_key(dir, who[i], (uint8_t)(1 + i), pk[i]));
    JK_REQUIRE(jk_ex_genesis_hex(dir, "spec.json", g));

    /* Two events a block, in file order. */
    uint8_t b[64];
    jk_test_write_file(dir, "create7.bin", b, create_blob(b, 0, 0, 7, 500, 2));
    jk_test_write_file(dir, "pledge-bob.bin", b, pledge_blob(b, 1, 0, 7, 300));
    jk_test_write_file(dir, "pledge-carol.bin", b, pledge_blob(b, 2, 0, 7, 250));
    jk_test_write_file(dir, "create8.bin", b, create_blob(b, 2, 1, 8, 5000, 3));
    jk_test_write_file(dir, "claim7.bin", b, head(b, 'W', 0, 1, 7));
    jk_test_write_file(dir, "pledge-bob8.bin", b, pledge_blob(b, 1, 1, 8, 100));
    jk_test_write_file(dir, "refund8.bin", b, head(b, 'R', 1, 2, 8));
    JK_REQUIRE(jk_ex_sign(dir, g, who, 1, "transact", "create7.bin"));
    JK_REQUIRE(jk_ex_sign(dir, g, who + 1, 1, "transact", "pledge-bob.bin"));
    JK_REQUIRE(jk_ex_sign(dir, g, who + 2, 1, "transact", "pledge-carol.bin"));
    JK_REQUIRE(jk_ex_sign(dir, g, who + 2, 1, "transact", "create8.bin"));
    JK_REQUIRE(jk_ex_sign(dir, g, who, 1, "transact", "claim7.bin"));
    JK_REQUIRE(jk_ex_sign(dir, g, who + 1, 1, "transact", "pledge-bob8.bin"));
    JK_REQUIRE(jk_ex_sign(dir, g, who + 1, 1, "transact", "refund8.bin"));
    char root_interp[65], root_jit[65];
    JK_CHECK_EQ(jk_ex_devnet_root(dir, "spec.json", "interp", "5", root_interp, out, sizeof out), 0);
    JK_CHECK(strstr(out, "block 1 proposer 0 round 0 events 2 traces 2 ") != NULL);
    JK_CHECK(strstr(out, "block 2 proposer 0 round 0 events 2 traces 2 ") != NULL);
    JK_CHECK(strstr(out, "block 3 proposer 0 round 0 events 2 traces 2 ") != NULL);
    JK_CHECK(strstr(out, "block 4 proposer 0 round 0 events 1 traces 1 ") != NULL);
    if (jk_test_failures())
        printf("%s\n", out);
    JK_CHECK_EQ(jk_ex_devnet_root(dir, "spec.json", "jit", "5", root_jit, out, sizeof out), 0);
    JK_CHECK(strcmp(root_interp, root_jit) == 0);

    char store[700];
    snprintf(store, sizeof store, "%s/net-jit", dir);
    char *show[] = {"--store", store, "--slot", "20", "--hex"};
    JK_REQUIRE(jk_test_tool(jk_tool_chain_show, 5, show, out, sizeof out, err, sizeof err) == 0);
    /* alice 1550 (0x60e), nonce 2; bob 700 (0x2bc), nonce 3; carol 750 (0x2ee), nonce 2 */
    char want[3][200];
    const char *tail[3] = {"0e060000000000000200000000000000", "bc020000000000000300000000000000",
                           "ee020000000000000200000000000000"};
    for (int i = 0; i < 3; i++) {
        snprintf(want[i], sizeof want[i], "%s%s", pk[i], tail[i]);
        char flat[16384];
        size_t n = 0;
        for (const char *p = out; *p && n + 1 < sizeof flat; p++) /* the hex may be wrapped */
            if ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))
                flat[n++] = *p;
        flat[n] = 0;
        JK_CHECK(strstr(flat, want[i]) != NULL);
    }
    if (jk_test_failures())
        printf("%s\n", out);
    jk_test_rm_tree(dir);
}

/* Every field of a gossiped event wrong, one at a time, down to the byte:
 * bob's pledge and its trace, each byte of the blob and of the trace (key,
 * message hash, signature) flipped with three masks, is dropped with a
 * reason; and the refusals leave nothing behind: the genuine event is
 * admitted after them all (a node that remembered a forged copy's refusal
 * under the genuine event's id would censor it). */
JK_TEST(test_crowdfund_event_every_byte)
{
    jk_ex_chain c;
    JK_REQUIRE(jk_ex_open(&c, "examples/crowdfund/spec.json", NULL, NULL, NULL, 0));
    const jk_ex_key bob = jk_ex_key_of(2);
    uint8_t b[64];
    size_t len = pledge_blob(b, 1, 0, 7, 300);
    jk_chain_trace t;
    jk_chain_trace_sign(bob.sk, &c.g.genesis_hash, b, len, &t);
    JK_REQUIRE(jk_chain_setup_cycle(c.producer, NULL) == JK_OK);
    static const uint8_t masks[3] = {0x01, 0x80, 0xff};
    size_t tried = 0;
    for (size_t i = 0; i < len + sizeof t; i++)
        for (int m = 0; m < 3; m++) {
            uint8_t *at = i < len ? &b[i] : (uint8_t *)&t + (i - len);
            *at ^= masks[m];
            jk_chain_event ev = {JK_CHAIN_ENDPOINT_TRANSACT, b, len};
            bool admitted = true;
            jk_diag why = {{0}};
            JK_CHECK(jk_chain_handle_incoming_event(c.producer, &ev, &t, 1, &admitted, &why) == JK_OK);
            if (admitted || !why.msg[0])
                jk_test_fail(__FILE__, __LINE__, "%s byte %zu ^ 0x%02x: %s (%s)", i < len ? "blob" : "trace",
                             i < len ? i : i - len, masks[m], admitted ? "admitted" : "dropped without a reason",
                             why.msg);
            *at ^= masks[m];
            tried++;
        }
    JK_CHECK_EQ(tried, 3 * (len + sizeof t));
    jk_chain_event ev = {JK_CHAIN_ENDPOINT_TRANSACT, b, len};
    bool admitted = false;
    JK_CHECK(jk_chain_handle_incoming_event(c.producer, &ev, &t, 1, &admitted, NULL) == JK_OK && admitted);
    size_t events = 0;
    JK_REQUIRE(jk_ex_block(&c, NULL, &events, NULL));
    JK_CHECK_EQ(events, 1);
    jk_ex_close(&c);
}
