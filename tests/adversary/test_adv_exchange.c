/*
 * test_adv_exchange.c — examples/exchange, a batch exchange written from
 * the docs alone (session 8's outsider chain): limit orders gathered by a
 * dispatch endpoint, matched once per cycle at one clearing price, booked
 * by apply after it attests every matched order again.
 *
 * Through the chain layer: what verify refuses and why; a cycle of four
 * orders matched as the README works it out (price 117, the balances and
 * nonces after); a replayed order refused; hand-made blocks from a
 * proposer holding the owners' real signatures: a settle at a price past a
 * buyer's limit, one that makes base out of nothing, one whose traces are
 * missing — the first two booked as nothing (the block valid, the state as
 * it was), the last refused. Through the CLI: the README's run on `jark
 * devnet` on the interpreter and on the recompiler, the same roots.
 */
#include "../test.h"
#include "../progs.h"
#include "../files.h"
#include "../examples/example_chain.h"
#include "../examples/example_cli.h"
#include "../../tools/commands.h"

#include "jark/bytes.h"
#include "jark/cap.h"
#include "jark/consensus.h"
#include "jark/node.h"
#include "jark/spec.h"

#include <stdlib.h>

#include <stdio.h>
#include <string.h>

#define ORDER 58
#define SPEC "examples/exchange/spec.json"

#define put64 jk_put_u64le
#define get64 jk_get_u64le

/* The users: the keys of seeds 1..n (alice, bob, carol, dave, and one
 * without an account). */
static void users(jk_ex_key *k, int n)
{
    for (int i = 0; i < n; i++)
        k[i] = jk_ex_key_of((uint8_t)(1 + i));
}

/* 'O' ‖ owner ‖ side ‖ amount ‖ limit ‖ nonce */
static size_t order_blob(uint8_t *b, const jk_ex_key *owner, uint8_t side, uint64_t amount, uint64_t limit,
                         uint64_t nonce)
{
    b[0] = 'O';
    memcpy(b + 1, owner->pk, 32);
    b[33] = side;
    put64(b + 34, amount);
    put64(b + 42, limit);
    put64(b + 50, nonce);
    return ORDER;
}

/* The account of `key` in the chain's slot 20: base, quote, nonce. */
static bool account_of(jk_cap chain, const jk_ex_key *key, uint64_t out[3])
{
    jk_cap cnode = jk_cap_instance_cnode(chain), data = jk_cap_cnode_get(cnode, 20);
    size_t len = jk_cap_data_len(data);
    uint8_t rec[56];
    for (size_t off = 0; off + 56 <= len; off += 56) {
        if (jk_cap_data_read(data, off, rec, 56) != JK_OK)
            return false;
        if (memcmp(rec, key->pk, 32) == 0) {
            out[0] = get64(rec + 32);
            out[1] = get64(rec + 40);
            out[2] = get64(rec + 48);
            return true;
        }
    }
    return false;
}

#define CHECK_ACCOUNT(chain, key, base, quote, nonce)                                                  \
    do {                                                                                               \
        uint64_t a_[3] = {0, 0, 0};                                                                    \
        JK_CHECK(account_of((chain), (key), a_));                                                      \
        JK_CHECK_EQ(a_[0], (uint64_t)(base));                                                          \
        JK_CHECK_EQ(a_[1], (uint64_t)(quote));                                                         \
        JK_CHECK_EQ(a_[2], (uint64_t)(nonce));                                                         \
    } while (0)

/* The README's cycle: alice buys 10 at ≤ 120, bob sells 6 at ≥ 100, carol
 * sells 10 at ≥ 115, dave buys 5 at ≤ 90. */
static void submit_cycle(jk_ex_chain *c, const jk_ex_key *k)
{
    const jk_chain_endpoint D0 = jk_chain_endpoint_dispatch(0);
    uint8_t b[ORDER];
    JK_CHECK(jk_ex_submit(c, D0, b, order_blob(b, &k[0], 1, 10, 120, 0), &k[0]));
    JK_CHECK(jk_ex_submit(c, D0, b, order_blob(b, &k[1], 2, 6, 100, 0), &k[1]));
    JK_CHECK(jk_ex_submit(c, D0, b, order_blob(b, &k[2], 2, 10, 115, 0), &k[2]));
    JK_CHECK(jk_ex_submit(c, D0, b, order_blob(b, &k[3], 1, 5, 90, 0), &k[3]));
}

JK_TEST(test_adv_exchange_orders_and_settle)
{
    jk_ex_chain c;
    JK_REQUIRE(jk_ex_open(&c, SPEC, NULL, NULL, NULL, 0));
    jk_ex_key k[5];
    users(k, 5);
    const jk_chain_endpoint T = JK_CHAIN_ENDPOINT_TRANSACT, D0 = jk_chain_endpoint_dispatch(0);
    uint8_t b[700];
    jk_diag why = {{0}};
    JK_REQUIRE(jk_chain_setup_cycle(c.producer, NULL) == JK_OK);

    /* refusals, each with its reason */
    JK_CHECK(!jk_ex_submit_why(&c, D0, b, order_blob(b, &k[4], 1, 1, 1, 0), &k[4], &why));
    JK_CHECK(strstr(why.msg, "reason 2: no such account") != NULL);
    JK_CHECK(!jk_ex_submit_why(&c, D0, b, order_blob(b, &k[0], 1, 1, 1, 1), &k[0], &why));
    JK_CHECK(strstr(why.msg, "reason 3: stale or future nonce") != NULL);
    JK_CHECK(!jk_ex_submit_why(&c, D0, b, order_blob(b, &k[0], 1, 1001, 100, 0), &k[0], &why));
    JK_CHECK(strstr(why.msg, "reason 4: not enough funds") != NULL);
    JK_CHECK(!jk_ex_submit_why(&c, D0, b, order_blob(b, &k[1], 2, 1001, 1, 0), &k[1], &why));
    JK_CHECK(strstr(why.msg, "reason 4: not enough funds") != NULL);
    JK_CHECK(!jk_ex_submit_why(&c, D0, b, order_blob(b, &k[0], 3, 1, 1, 0), &k[0], &why));
    JK_CHECK(strstr(why.msg, "reason 1: not a well-formed order") != NULL);
    JK_CHECK(!jk_ex_submit_why(&c, D0, b, order_blob(b, &k[0], 1, 0x100000001ull, 1, 0), &k[0], &why));
    JK_CHECK(strstr(why.msg, "reason 1") != NULL);
    /* 2^32 at 2^32: amount × limit would wrap to 0 and look funded */
    JK_CHECK(!jk_ex_submit_why(&c, D0, b, order_blob(b, &k[0], 1, 1ull << 32, 1ull << 32, 0), &k[0], &why));
    JK_CHECK(strstr(why.msg, "reason 1") != NULL);
    /* signed by someone else than the owner: the attest fails */
    JK_CHECK(!jk_ex_submit_why(&c, D0, b, order_blob(b, &k[0], 1, 1, 1, 0), &k[1], &why));
    /* a settle gossiped by a user: refused, only process makes them */
    memset(b, 0, 75);
    b[0] = 'S';
    put64(b + 1, 1);
    b[9] = 1;
    JK_CHECK(!jk_ex_submit_why(&c, T, b, 75, &k[0], &why));
    JK_CHECK(strstr(why.msg, "reason 1") != NULL);

    /* a good order sent to the transact endpoint: verify makes a dispatch
     * instance, which is not a transact: dropped (apply would fault on it) */
    JK_CHECK(!jk_ex_submit_why(&c, T, b, order_blob(b, &k[0], 1, 1, 1, 0), &k[0], &why));
    submit_cycle(&c, k);
    /* a second order of alice's in the same cycle: admitted (same nonce),
     * but process takes the first of each owner */
    JK_CHECK(jk_ex_submit(&c, D0, b, order_blob(b, &k[0], 1, 3, 200, 0), &k[0]));
    uint64_t matched = 0;
    size_t events = 0, traces = 0;
    JK_REQUIRE(jk_ex_block(&c, &matched, &events, &traces));
    JK_CHECK_EQ(matched, 3u);
    JK_CHECK_EQ(events, 1u); /* the settle */
    JK_CHECK_EQ(traces, 3u); /* one per matched order, attested again by apply */
    /* alice buys 6 from bob and 4 from carol, all at (120 + 115) / 2 = 117 */
    CHECK_ACCOUNT(c.importer->chain, &k[0], 1010, 100000 - 1170, 1);
    CHECK_ACCOUNT(c.importer->chain, &k[1], 994, 100000 + 702, 1);
    CHECK_ACCOUNT(c.importer->chain, &k[2], 996, 100000 + 468, 1);
    CHECK_ACCOUNT(c.importer->chain, &k[3], 1000, 100000, 0);
    JK_CHECK_EQ(jk_ex_slot_u64(c.importer->chain, 21), 0u); /* 16 bytes: not a u64 */
    jk_cap last = jk_cap_cnode_get(jk_cap_instance_cnode(c.importer->chain), 21);
    uint8_t lb[16] = {0};
    JK_CHECK_EQ(jk_cap_data_len(last), 16u);
    JK_CHECK(jk_cap_data_read(last, 0, lb, 16) == JK_OK);
    JK_CHECK_EQ(get64(lb), 117u);
    JK_CHECK_EQ(get64(lb + 8), 1u);

    /* the replay of alice's filled order: its nonce is spent */
    JK_REQUIRE(jk_chain_setup_cycle(c.producer, NULL) == JK_OK);
    JK_CHECK(!jk_ex_submit_why(&c, D0, b, order_blob(b, &k[0], 1, 10, 120, 0), &k[0], &why));
    JK_CHECK(strstr(why.msg, "reason 3") != NULL);
    /* dave's order, sent again: nothing to match, an empty settle is never made */
    JK_CHECK(jk_ex_submit(&c, D0, b, order_blob(b, &k[3], 1, 5, 90, 0), &k[3]));
    JK_REQUIRE(jk_ex_block(&c, &matched, &events, &traces));
    JK_CHECK_EQ(matched, 0u);
    JK_CHECK_EQ(events, 0u);
    jk_ex_close(&c);
}

/* A proposer that holds the owners' real signatures (gossip carries them)
 * and writes its own settle. */
static size_t settle_blob(uint8_t *b, uint64_t price, const uint8_t (*orders)[ORDER], const uint64_t *filled,
                          size_t n)
{
    b[0] = 'S';
    put64(b + 1, price);
    b[9] = (uint8_t)n;
    for (size_t i = 0; i < n; i++) {
        memcpy(b + 10 + i * 65, orders[i] + 1, ORDER - 1);
        put64(b + 10 + i * 65 + ORDER - 1, filled[i]);
    }
    return 10 + n * 65;
}

JK_TEST(test_adv_exchange_hostile_settles)
{
    jk_ex_chain c;
    JK_REQUIRE(jk_ex_open(&c, SPEC, NULL, NULL, NULL, 0));
    jk_ex_key k[4];
    users(k, 4);
    uint8_t o[2][ORDER], s[200];
    order_blob(o[0], &k[0], 1, 10, 120, 0); /* alice buys 10 at ≤ 120 */
    order_blob(o[1], &k[1], 2, 6, 100, 0);  /* bob sells 6 at ≥ 100 */
    jk_chain_trace t[2];
    jk_chain_trace_sign(k[0].sk, &c.g.genesis_hash, o[0], ORDER, &t[0]);
    jk_chain_trace_sign(k[1].sk, &c.g.genesis_hash, o[1], ORDER, &t[1]);
    jk_hash root;
    jk_cap_hash(c.importer->chain, &root);

    /* price 200: past alice's limit. Valid traces, so a valid block; apply
     * books nothing (slot 21 untouched: the root is the one before) */
    uint64_t six[2] = {6, 6};
    jk_chain_event e = {JK_CHAIN_ENDPOINT_TRANSACT, s, settle_blob(s, 200, o, six, 2)};
    JK_CHECK_EQ(jk_ex_import_made(&c, &e, 1, t, 2, &root), JK_OK);
    CHECK_ACCOUNT(c.importer->chain, &k[0], 1000, 100000, 0);
    CHECK_ACCOUNT(c.importer->chain, &k[1], 1000, 100000, 0);
    /* alice buys 10, bob sells 6: 4 base out of nothing */
    uint64_t uneven[2] = {10, 6};
    e.blob_len = settle_blob(s, 110, o, uneven, 2);
    JK_CHECK_EQ(jk_ex_import_made(&c, &e, 1, t, 2, &root), JK_OK);
    CHECK_ACCOUNT(c.importer->chain, &k[0], 1000, 100000, 0);
    /* filled past the order's amount */
    uint64_t past[2] = {7, 7};
    e.blob_len = settle_blob(s, 110, o, past, 2);
    JK_CHECK_EQ(jk_ex_import_made(&c, &e, 1, t, 2, &root), JK_OK);
    CHECK_ACCOUNT(c.importer->chain, &k[1], 1000, 100000, 0);
    jk_hash now;
    jk_cap_hash(c.importer->chain, &now);
    JK_CHECK(memcmp(now.bytes, root.bytes, sizeof root.bytes) == 0);
    /* no traces, or one: refused (apply's attest finds none), nothing changes */
    e.blob_len = settle_blob(s, 110, o, six, 2);
    JK_CHECK(jk_ex_import_made(&c, &e, 1, NULL, 0, &root) != JK_OK);
    JK_CHECK(jk_ex_import_made(&c, &e, 1, t, 1, &root) != JK_OK);
    jk_chain_trace swapped[2] = {t[1], t[0]};
    JK_CHECK(jk_ex_import_made(&c, &e, 1, swapped, 2, &root) != JK_OK);
    jk_ex_close(&c);
}

/* The README's run: keys, order blobs, `jark event sign --endpoint
 * dispatch:0`, `jark devnet` on the interpreter and on the recompiler: the
 * same roots, and the accounts as the README says (`jark chain show`). */
JK_TEST(test_adv_exchange_devnet_both_engines)
{
    char dir[512], out[16384], err[2048], g[65], pk[4][65];
    JK_REQUIRE(jk_test_tmpdir("exchange-devnet", dir, sizeof dir));
    const char *files[] = {"common.h", "chain.c", "verify.c", "transact.c", "dispatch_instance.c", "process.c",
                           "aa.c", "spec.json", "accounts.bin"};
    JK_REQUIRE(jk_ex_copy_example(dir, "exchange", files, sizeof files / sizeof files[0], "spec.json", 0x42));
    const char *who[4] = {"alice.key", "bob.key", "carol.key", "dave.key"};
    jk_ex_key k[4];
    for (int i = 0; i < 4; i++) {
        JK_REQUIRE(jk_ex_write_key(dir, who[i], (uint8_t)(1 + i), pk[i]));
        k[i] = jk_ex_key_of((uint8_t)(1 + i));
    }
    JK_REQUIRE(jk_ex_genesis_hex(dir, "spec.json", g));
    uint8_t b[ORDER];
    static const char *names[4] = {"alice.bin", "bob.bin", "carol.bin", "dave.bin"};
    static const uint8_t side[4] = {1, 2, 2, 1};
    static const uint64_t amount[4] = {10, 6, 10, 5}, limit[4] = {120, 100, 115, 90};
    for (int i = 0; i < 4; i++) {
        jk_test_write_file(dir, names[i], b, order_blob(b, &k[i], side[i], amount[i], limit[i], 0));
        JK_REQUIRE(jk_ex_sign(dir, g, who + i, 1, "dispatch:0", names[i]));
    }
    /* two events a block: alice and bob in block 1's cycle (6 at 110),
     * carol and dave in block 2's (no match: 90 < 115) */
    char root_interp[65], root_jit[65];
    JK_CHECK_EQ(jk_ex_devnet_root(dir, "spec.json", "interp", "4", root_interp, out, sizeof out), 0);
    JK_CHECK(strstr(out, "events 1 traces 2 ") != NULL); /* the settle */
    JK_CHECK_EQ(jk_ex_devnet_root(dir, "spec.json", "jit", "4", root_jit, out, sizeof out), 0);
    JK_CHECK(strcmp(root_interp, root_jit) == 0);
    char store[700];
    snprintf(store, sizeof store, "%s/net-jit", dir);
    char *show[] = {"--store", store, "--slot", "21", "--hex"};
    JK_REQUIRE(jk_test_tool(jk_tool_chain_show, 5, show, out, sizeof out, err, sizeof err) == 0);
    JK_CHECK(strstr(out, "6e00000000000000") != NULL); /* price 110 */
    jk_test_rm_tree(dir);
}

/* The exchange on one validator's chain app (src/node/chain_app.c), as a
 * `jark node` runs it: orders given to add_event as its RPC does, between
 * heights. A lone validator proposes as soon as it holds an event, so the
 * first order of a file is alone in its block and consumed without effect
 * (docs/chain-design.md, "Events gathered across cycles"); the three that
 * come after that block wait for the next one, all consumed there, none
 * lost or expired. */
static bool app_give_order(jk_cons_app *cb, jk_node_chain_app *app, const jk_chain_genesis *g, const jk_ex_key *k,
                           uint8_t side, uint64_t amount, uint64_t limit)
{
    uint8_t b[ORDER];
    size_t len = order_blob(b, k, side, amount, limit, 0);
    jk_chain_trace t;
    jk_chain_trace_sign(k->sk, &g->genesis_hash, b, len, &t);
    jk_chain_event ev = {jk_chain_endpoint_dispatch(0), b, len};
    uint8_t *bytes;
    size_t blen;
    if (jk_node_event_encode(&ev, &t, 1, &bytes, &blen) != JK_OK)
        return false;
    bool ok = cb->add_event(app, bytes, blen);
    free(bytes);
    return ok;
}

/* Propose height h (the value into *value), then decide it. */
static bool app_decide(jk_cons_app *cb, jk_node_chain_app *app, const jk_chain_genesis *g, const jk_ex_key *val,
                       uint64_t h, uint8_t *value, size_t vlen)
{
    if (!cb->valid(app, h, value, vlen))
        return false;
    jk_hash id;
    cb->hash(app, value, vlen, &id);
    jk_cons_cert c;
    memset(&c, 0, sizeof c);
    c.height = h;
    c.value = id;
    jk_cons_vote v = {.type = JK_CONS_MSG_PRECOMMIT, .height = h, .round = 0, .has_value = true, .value = id};
    jk_cons_vote_sign(&v, &g->genesis_hash, val->sk);
    memcpy(c.sigs[0].sig, v.sig, 64);
    c.count = 1;
    return cb->commit(app, h, value, vlen, &c) == JK_OK;
}

JK_TEST(test_adv_exchange_chain_app_lone_validator)
{
    jk_spec_file f;
    jk_diag diag = {{0}};
    JK_REQUIRE(jk_spec_file_load(SPEC, NULL, &f, &diag) == JK_OK);
    jk_ex_key val = jk_ex_key_of(0x90), k[4];
    users(k, 4);
    jk_chain_spec spec = f.spec;
    spec.validators = (const uint8_t(*)[32])val.pk;
    spec.validator_count = 1;
    jk_chain_genesis g;
    JK_REQUIRE(jk_chain_genesis_build(&spec, &g, &diag) == JK_OK);
    jk_spec_file_free(&f);
    char dir[256];
    JK_REQUIRE(jk_test_tmpdir("exchange-app", dir, sizeof dir));
    jk_node_chain_app *app = NULL;
    JK_REQUIRE(jk_node_chain_app_open(dir, val.sk, &g, &app, &diag) == JK_OK);
    jk_cons_app cb;
    jk_node_chain_app_bind(app, &cb);

    /* height 1: alice's buy alone is proposed and committed; then bob's,
     * carol's and dave's orders come in */
    JK_CHECK(app_give_order(&cb, app, &g, &k[0], 1, 10, 120));
    uint8_t *value = NULL;
    size_t vlen = 0;
    JK_REQUIRE(cb.get_value(app, 1, 0, &value, &vlen) == JK_OK);
    JK_REQUIRE(app_decide(&cb, app, &g, &val, 1, value, vlen));
    free(value);
    JK_CHECK(app_give_order(&cb, app, &g, &k[1], 2, 6, 100));
    JK_CHECK(app_give_order(&cb, app, &g, &k[2], 2, 10, 115));
    JK_CHECK(app_give_order(&cb, app, &g, &k[3], 1, 5, 90));
    jk_node_chain_app_stats st;
    jk_node_chain_app_stats_get(app, &st);
    JK_CHECK_EQ(st.dispatch_consumed, 1u); /* alice's, unmatched */
    /* height 2: the three that waited */
    JK_REQUIRE(cb.get_value(app, 2, 0, &value, &vlen) == JK_OK);
    JK_REQUIRE(app_decide(&cb, app, &g, &val, 2, value, vlen));
    free(value);
    jk_node_chain_app_stats_get(app, &st);
    JK_CHECK_EQ(st.dispatch_consumed, 4u);
    JK_CHECK_EQ(st.dispatch_expired, 0u);
    /* no buy left that reaches a sell (dave's 90 < bob's 100): nothing
     * settles, alice's 120 was a block too early */
    jk_cap chain = jk_node_chain_app_validator(app)->ck->chain;
    CHECK_ACCOUNT(chain, &k[1], 1000, 100000, 0);
    jk_node_chain_app_close(app);
    jk_cap_release(g.chain);
    jk_test_rm_tree(dir);
}
