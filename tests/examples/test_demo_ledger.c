/* test_demo_ledger.c — the demo ledger's account tree (examples/demo/demo.h,
 * docs/demo-chain.md "State"): full buckets split by the next key byte down
 * to the 4th, and a full bucket at the 4th byte refuses new accounts. The
 * demo is built with DEMO_BUCKET_MAX=2 so that a few transfers reach every
 * case; receivers are made-up keys (a transfer may go to any 32 bytes).
 * And `jark chain show` reads the ledger through the tree. */
#include "../test.h"
#include "../../tools/commands.h"
#include "example_chain.h"

#include "../../examples/demo/demo_view.h"
#include "jark/bytes.h"
#include "jark/devnet.h"
#include "jark/sdk.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

static size_t transfer(uint8_t *b, const jk_ex_key *from, const uint8_t to[32], uint64_t amount, uint64_t nonce)
{
    b[0] = 'T';
    memcpy(b + 1, from->pk, 32);
    memcpy(b + 33, to, 32);
    jk_put_u64le(b + 65, amount);
    jk_put_u64le(b + 73, nonce);
    return 81;
}

/* A made-up key: AB CD b2 b3, then `tail` repeated. */
static void key4(uint8_t k[32], uint8_t b2, uint8_t b3, uint8_t tail)
{
    memset(k, tail, 32);
    k[0] = 0xAB;
    k[1] = 0xCD;
    k[2] = b2;
    k[3] = b3;
}

static uint64_t balance_of(jk_cap chain, const uint8_t key[32])
{
    uint64_t n = 0, bal = UINT64_MAX;
    uint8_t *l = demo_view_ledger(chain, &n);
    for (uint64_t i = 0; l && i < n; i++)
        if (!memcmp(l + 48 * i, key, 32))
            bal = jk_get_u64le(l + 48 * i + 32);
    free(l);
    return bal;
}

JK_TEST(test_demo_ledger_buckets_split)
{
    jk_ex_key alice = jk_ex_key_of(1);
    uint8_t genesis[48];
    memcpy(genesis, alice.pk, 32);
    jk_put_u64le(genesis + 32, 1000);
    jk_put_u64le(genesis + 40, 0);
    uint32_t slot = 20;
    const uint8_t *data[1] = {genesis};
    size_t len[1] = {48};
    const char *defines[1] = {"DEMO_BUCKET_MAX=2"};
    jk_sdk_options build = {.defines = defines, .define_count = 1};
    jk_ex_chain c;
    JK_REQUIRE(jk_ex_open_built(&c, "examples/demo/devnet-spec.json", &build, &slot, data, len, 1));
    JK_REQUIRE(alice.pk[0] != 0xAB || alice.pk[1] != 0xCD);

    uint8_t r[7][32], b[81];
    key4(r[0], 1, 1, 0x11); /* r0..r2 share 3 bytes: AB CD 01 */
    key4(r[1], 1, 2, 0x11);
    key4(r[2], 1, 3, 0x11);
    key4(r[3], 2, 0, 0x11); /* AB CD 02 */
    key4(r[4], 1, 1, 0x22); /* shares 4 bytes with r0 */
    key4(r[5], 1, 1, 0x33); /* a third with those 4 bytes: no room */
    const jk_chain_endpoint T = JK_CHAIN_ENDPOINT_TRANSACT;
    uint64_t nonce = 0;
    for (int i = 0; i < 5; i++) {
        JK_REQUIRE(jk_chain_setup_cycle(c.producer, NULL) == JK_OK);
        JK_CHECK(jk_ex_submit(&c, T, b, transfer(b, &alice, r[i], 10 + (uint64_t)i, nonce), &alice));
        size_t events = 0;
        JK_REQUIRE(jk_ex_block(&c, NULL, &events, NULL));
        JK_CHECK_EQ(events, 1);
        nonce++;
    }
    /* The shape: AB CD split by key[2], its 01 part by key[3]; r0 and r4 share a bucket. */
    jk_cap tree = jk_cap_cnode_get(jk_cap_instance_cnode(c.importer->chain), 23);
    jk_cap l2 = jk_cap_cnode_get(tree, 0xABCD), l3 = jk_cap_cnode_get(l2, 1);
    JK_CHECK_EQ(jk_cap_kind_of(l2), JK_CAP_CNODE);
    JK_CHECK_EQ(jk_cap_kind_of(l3), JK_CAP_CNODE);
    JK_CHECK_EQ(jk_cap_data_len(jk_cap_cnode_get(l3, 1)), 2 * 48);
    JK_CHECK_EQ(jk_cap_data_len(jk_cap_cnode_get(l3, 2)), 48);
    JK_CHECK_EQ(jk_cap_data_len(jk_cap_cnode_get(l3, 3)), 48);
    JK_CHECK_EQ(jk_cap_data_len(jk_cap_cnode_get(l2, 2)), 48);

    /* A new account in the full 4-byte bucket: no room, dropped at verify;
     * a transfer to an account already there still goes through. */
    JK_REQUIRE(jk_chain_setup_cycle(c.producer, NULL) == JK_OK);
    JK_CHECK(!jk_ex_submit(&c, T, b, transfer(b, &alice, r[5], 1, nonce), &alice));
    JK_CHECK(jk_ex_submit(&c, T, b, transfer(b, &alice, r[4], 100, nonce), &alice));
    JK_REQUIRE(jk_ex_block(&c, NULL, NULL, NULL));
    nonce++;

    uint64_t n = 0;
    uint8_t *ledger = demo_view_ledger(c.importer->chain, &n);
    JK_REQUIRE(ledger != NULL);
    JK_CHECK_EQ(n, 6); /* alice and r0..r4, sorted */
    for (uint64_t i = 1; i < n; i++)
        JK_CHECK(memcmp(ledger + 48 * (i - 1), ledger + 48 * i, 32) < 0);
    free(ledger);
    JK_CHECK_EQ(balance_of(c.importer->chain, alice.pk), 1000 - (10 + 11 + 12 + 13 + 14) - 100);
    JK_CHECK_EQ(balance_of(c.importer->chain, r[0]), 10);
    JK_CHECK_EQ(balance_of(c.importer->chain, r[4]), 114);
    JK_CHECK_EQ(balance_of(c.importer->chain, r[5]), UINT64_MAX); /* no record */
    jk_ex_close(&c);
}

/* `jark chain show` on a demo devnet shows the ledger as it is now (the
 * account tree over the genesis ledger), not the genesis ledger: after two
 * blocks of 16 transfers, senders' nonces are 1 (a genesis-only view would
 * show every nonce 0). */
JK_TEST(test_demo_ledger_chain_show_reads_the_tree)
{
    char dir[64] = "/tmp/jark-demo-show-XXXXXX", out_path[96], rm[128];
    JK_REQUIRE(mkdtemp(dir) != NULL);
    jk_devnet_options o = {.validators = 1, .blocks = 2, .events_per_block = 16, .seed = 1, .dir = dir,
                           .quiet = true};
    jk_devnet_result res;
    JK_REQUIRE(jk_devnet_run(&o, &res) == 0);
    snprintf(out_path, sizeof out_path, "%s/show.txt", dir);
    fflush(stdout);
    int saved = dup(1), fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    JK_REQUIRE(saved >= 0 && fd >= 0);
    dup2(fd, 1);
    char *argv[4] = {"--store", dir, "--accounts", "100"};
    int rc = jk_tool_chain_show(4, argv);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    close(fd);
    JK_CHECK_EQ(rc, 0);
    uint8_t *text = NULL;
    size_t len = 0;
    JK_REQUIRE(jk_read_file(out_path, &text, &len, NULL) == JK_OK);
    JK_CHECK(strstr((char *)text, "chain the demo") != NULL);
    JK_CHECK(strstr((char *)text, " nonce 1\n") != NULL);
    free(text);
    snprintf(rm, sizeof rm, "rm -rf '%s'", dir);
    JK_CHECK(system(rm) == 0);
}
