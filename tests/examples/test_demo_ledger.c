/* test_demo_ledger.c — the demo ledger's account tree (examples/demo/demo.h,
 * docs/demo-chain.md "State"): full buckets split by the next key byte down
 * to the 4th, and a full bucket at the 4th byte refuses new accounts. The
 * demo is built with DEMO_BUCKET_MAX=2 so that a few transfers reach every
 * case; receivers are made-up keys (a transfer may go to any 32 bytes). */
#include "../test.h"
#include "example_chain.h"

#include "../../examples/demo/demo_view.h"
#include "jark/bytes.h"
#include "jark/sdk.h"

#include <stdlib.h>

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
