/* test_escrow.c — the escrow chain (examples/escrow, examples/escrow/README.md)
 * through the chain layer, loaded from its spec as any author's chain is. What
 * it covers that the other examples do not: an event carrying two traces (a
 * settle signed by two parties: `jark event sign --key A --attest B:BLOB`),
 * apply reading the block context (slot 2 of its scratchpad: deadlines and
 * settlement heights are block numbers), and a spec without `programs.aa`
 * (the SDK's standard AA). Producer and importer must agree on every block.
 *
 * The blob encoders and the record reader here are written from the README. */
#include "../test.h"
#include "example_chain.h"

#include "jark/bytes.h"

enum { OPEN = 121, SETTLE = 74, TIMEOUT = 41, RECORD = 128 };
enum { ST_OPEN = 0, ST_PAID = 1, ST_REFUNDED = 2 };

static size_t open_blob(uint8_t *b, uint64_t id, const jk_ex_key *payer, const jk_ex_key *payee,
                        const jk_ex_key *arbiter, uint64_t amount, uint64_t timeout)
{
    b[0] = 'O';
    jk_put_u64le(b + 1, id);
    memcpy(b + 9, payer->pk, 32);
    memcpy(b + 41, payee->pk, 32);
    memcpy(b + 73, arbiter->pk, 32);
    jk_put_u64le(b + 105, amount);
    jk_put_u64le(b + 113, timeout);
    return OPEN;
}

static size_t settle_blob(uint8_t *b, uint64_t id, uint8_t outcome, const jk_ex_key *a, const jk_ex_key *c)
{
    b[0] = 'S';
    jk_put_u64le(b + 1, id);
    b[9] = outcome;
    memcpy(b + 10, a->pk, 32);
    memcpy(b + 42, c->pk, 32);
    return SETTLE;
}

static size_t timeout_blob(uint8_t *b, uint64_t id, const jk_ex_key *payer)
{
    b[0] = 'T';
    jk_put_u64le(b + 1, id);
    memcpy(b + 9, payer->pk, 32);
    return TIMEOUT;
}

/* Escrow id's status and settlement height; false when there is no record. */
static bool escrow(jk_cap chain, uint64_t id, uint64_t *deadline, uint64_t *status, uint64_t *settled)
{
    uint8_t rec[RECORD];
    jk_cap tree = jk_cap_cnode_get(jk_cap_instance_cnode(chain), 20);
    jk_cap r = jk_cap_cnode_get(tree, (uint32_t)id);
    if (jk_cap_data_len(r) != RECORD || jk_cap_data_read(r, 0, rec, RECORD) != JK_OK)
        return false;
    *deadline = jk_get_u64le(rec + 104);
    *status = jk_get_u64le(rec + 112);
    *settled = jk_get_u64le(rec + 120);
    return true;
}

#define CHECK_ESCROW(chain, id, dl, st, at)                                    \
    do {                                                                       \
        uint64_t d_ = 0, s_ = 0, a_ = 0;                                       \
        JK_CHECK(escrow((chain), (id), &d_, &s_, &a_));                        \
        JK_CHECK_EQ(d_, (dl));                                                 \
        JK_CHECK_EQ(s_, (st));                                                 \
        JK_CHECK_EQ(a_, (at));                                                 \
    } while (0)

JK_TEST(test_escrow_chain)
{
    jk_ex_chain c;
    JK_REQUIRE(jk_ex_open(&c, "examples/escrow/escrow-spec.json", NULL, NULL, NULL, 0));
    const jk_ex_key alice = jk_ex_key_of(1), bob = jk_ex_key_of(2), carol = jk_ex_key_of(3),
                    dave = jk_ex_key_of(4);
    const jk_chain_endpoint T = JK_CHAIN_ENDPOINT_TRANSACT, D0 = jk_chain_endpoint_dispatch(0);
    uint8_t b[256];
    size_t events = 0, traces = 0;
    uint64_t processed = 0;
    jk_diag why = {{0}};

    /* Block 1: alice opens escrow 1 (to bob, carol arbitrates, 3 blocks) and
     * escrow 2 (1 block). A second open of id 1 in the same block passes
     * verify (same state) and is skipped by apply. Unsigned: dropped. */
    JK_REQUIRE(jk_chain_setup_cycle(c.producer, NULL) == JK_OK);
    JK_CHECK(jk_ex_submit(&c, T, b, open_blob(b, 1, &alice, &bob, &carol, 500, 3), &alice));
    JK_CHECK(jk_ex_submit(&c, T, b, open_blob(b, 2, &alice, &bob, &carol, 700, 1), &alice));
    JK_CHECK(jk_ex_submit(&c, T, b, open_blob(b, 1, &dave, &bob, &carol, 9, 9), &dave));
    JK_CHECK(!jk_ex_submit(&c, T, b, open_blob(b, 3, &alice, &bob, &carol, 1, 1), NULL));
    JK_CHECK(!jk_ex_submit_why(&c, T, b, open_blob(b, 3, &alice, &bob, &carol, 1, 0), &alice, &why));
    JK_CHECK(strstr(why.msg, "reason 1: malformed open") != NULL);
    JK_REQUIRE(jk_ex_block(&c, NULL, &events, &traces));
    JK_CHECK_EQ(events, 3);
    JK_CHECK_EQ(traces, 3);
    CHECK_ESCROW(c.importer->chain, 1, 1 + 3, ST_OPEN, 0); /* deadline: block 1's number + 3 */
    CHECK_ESCROW(c.importer->chain, 2, 1 + 1, ST_OPEN, 0);
    JK_CHECK_EQ(jk_ex_slot_u64(c.importer->chain, 21), 1);

    /* Block 2: bob and carol settle escrow 1 for bob: one event, two traces.
     * With bob's trace alone, or with dave (no party) as second signer, it is
     * dropped. alice claims escrow 2 back through dispatch 0 (its deadline,
     * 2, is this block); an early claim of escrow 1 is refused. */
    JK_REQUIRE(jk_chain_setup_cycle(c.producer, NULL) == JK_OK);
    const jk_ex_key *bob_carol[2] = {&bob, &carol}, *bob_dave[2] = {&bob, &dave};
    settle_blob(b, 1, ST_PAID, &bob, &carol);
    JK_CHECK(!jk_ex_submit_signed(&c, T, b, SETTLE, bob_carol, 1, NULL));
    JK_CHECK(jk_ex_submit_signed(&c, T, b, SETTLE, bob_carol, 2, NULL));
    settle_blob(b, 1, ST_PAID, &bob, &dave);
    JK_CHECK(!jk_ex_submit_signed(&c, T, b, SETTLE, bob_dave, 2, &why));
    JK_CHECK(strstr(why.msg, "reason 5:") != NULL);
    JK_CHECK(!jk_ex_submit_why(&c, D0, b, timeout_blob(b, 1, &alice), &alice, &why));
    JK_CHECK(strstr(why.msg, "reason 9: deadline not reached") != NULL);
    JK_CHECK(!jk_ex_submit(&c, D0, b, timeout_blob(b, 2, &bob), &bob)); /* not the payer */
    JK_CHECK(jk_ex_submit(&c, D0, b, timeout_blob(b, 2, &alice), &alice));
    JK_REQUIRE(jk_ex_block(&c, &processed, &events, &traces));
    JK_CHECK_EQ(processed, 1); /* one claim emitted, as a transact of this block */
    JK_CHECK_EQ(events, 2);
    JK_CHECK_EQ(traces, 3); /* the settle's two signers and the claim's payer */
    CHECK_ESCROW(c.importer->chain, 1, 4, ST_PAID, 2);
    CHECK_ESCROW(c.importer->chain, 2, 2, ST_REFUNDED, 2);

    /* Block 3: settled escrows take nothing more; the chain still counts blocks. */
    JK_REQUIRE(jk_chain_setup_cycle(c.producer, NULL) == JK_OK);
    settle_blob(b, 1, ST_REFUNDED, &alice, &carol);
    const jk_ex_key *alice_carol[2] = {&alice, &carol};
    JK_CHECK(!jk_ex_submit_signed(&c, T, b, SETTLE, alice_carol, 2, NULL));
    JK_CHECK(!jk_ex_submit(&c, D0, b, timeout_blob(b, 2, &alice), &alice));
    JK_REQUIRE(jk_ex_block(&c, NULL, &events, NULL));
    JK_CHECK_EQ(events, 0);
    JK_CHECK_EQ(jk_ex_slot_u64(c.importer->chain, 21), 3);
    CHECK_ESCROW(c.importer->chain, 1, 4, ST_PAID, 2);
    jk_ex_close(&c);
}
