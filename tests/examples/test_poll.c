/* test_poll.c — the poll chain (examples/poll, examples/poll/README.md)
 * through the chain layer, loaded from its spec as any author's chain is.
 * What it covers that the other examples do not: two dispatch endpoints and,
 * built with -DPOLL_VIA_CERTIFY, the first (tally) emitting to the second
 * (certify) — a dispatch-to-dispatch route, verified again at the next cycle
 * with the traces tally attested —, the second emitting the transacts apply
 * records; by default tally emits those transacts itself. State from a file
 * (`"data": "voters.bin"`), programs built from arrays of files, build
 * options, and `max_event_traces` above the default (a record carries a
 * trace per vote). Producer and importer must agree on every block.
 *
 * The blob encoders and the state reader are written from the README. */
#include "../test.h"
#include "example_chain.h"
#include "poll_blobs.h"

#include "jark/bytes.h"
#include "jark/sdk.h"

/* The choice recorded for the roll's voter `index` in poll id (0: none). */
static unsigned ballot(jk_cap chain, uint64_t id, uint32_t index)
{
    uint8_t c = 0;
    jk_cap polls = jk_cap_cnode_get(jk_cap_instance_cnode(chain), 21);
    jk_cap b = jk_cap_cnode_get(jk_cap_cnode_get(jk_cap_cnode_get(polls, (uint32_t)id), 1), index);
    if (jk_cap_data_len(b) != 1 || jk_cap_data_read(b, 0, &c, 1) != JK_OK)
        return 0;
    return c;
}

#define CHECK_POLL(chain, id, dl, y, n)                                        \
    do {                                                                       \
        uint64_t d_ = 0, y_ = 0, n_ = 0;                                       \
        JK_CHECK(poll_record((chain), (id), &d_, &y_, &n_));                          \
        JK_CHECK_EQ(d_, (dl));                                                 \
        JK_CHECK_EQ(y_, (y));                                                  \
        JK_CHECK_EQ(n_, (n));                                                  \
    } while (0)

/* Gossip an event and expect it refused with this reason text. */
#define CHECK_REFUSED(c, ep, b, len, signer, reason)                           \
    do {                                                                       \
        jk_diag w_ = {{0}};                                                    \
        JK_CHECK(!jk_ex_submit_why((c), (ep), (b), (len), (signer), &w_));     \
        JK_CHECK(strstr(w_.msg, (reason)) != NULL);                            \
    } while (0)

/* Block 1 of both routes: alice opens poll 7 for `duration` blocks; an open
 * by dave (not on the roll) and a malformed one are refused with their
 * reasons. */
static void open_poll_7(jk_ex_chain *c, uint64_t duration)
{
    const jk_ex_key alice = jk_ex_key_of(1), bob = jk_ex_key_of(2), dave = jk_ex_key_of(4);
    const jk_chain_endpoint T = JK_CHAIN_ENDPOINT_TRANSACT;
    uint8_t b[256];
    size_t events = 0;
    JK_REQUIRE(jk_chain_setup_cycle(c->producer, NULL) == JK_OK);
    JK_CHECK(jk_ex_submit(c, T, b, open_blob(b, 7, &alice, duration), &alice));
    CHECK_REFUSED(c, T, b, open_blob(b, 8, &dave, 5), &dave, "reason 2: opener not on the roll");
    CHECK_REFUSED(c, T, b, open_blob(b, 8, &bob, 1001), &bob, "reason 1: malformed open");
    CHECK_REFUSED(c, T, b, open_blob(b, 8, &bob, 0), &bob, "reason 1: malformed open");
    JK_REQUIRE(jk_ex_block(c, NULL, &events, NULL));
    JK_CHECK_EQ(events, 1);
    CHECK_POLL(c->importer->chain, 7, 1 + duration, 0, 0);
    JK_CHECK_EQ(jk_ex_slot_u64(c->importer->chain, 22), 1);
}

/* Block 2's votes on poll 7, to dispatch endpoint 0: alice and carol yes,
 * bob no then yes (one cycle: tally keeps his first); dave is refused. */
static void cast_votes(jk_ex_chain *c)
{
    const jk_ex_key alice = jk_ex_key_of(1), bob = jk_ex_key_of(2), carol = jk_ex_key_of(3), dave = jk_ex_key_of(4);
    const jk_chain_endpoint D0 = jk_chain_endpoint_dispatch(0);
    uint8_t b[256];
    JK_CHECK(jk_ex_submit(c, D0, b, vote_blob(b, 7, &alice, 1), &alice));
    JK_CHECK(jk_ex_submit(c, D0, b, vote_blob(b, 7, &bob, 2), &bob));
    JK_CHECK(jk_ex_submit(c, D0, b, vote_blob(b, 7, &carol, 1), &carol));
    JK_CHECK(jk_ex_submit(c, D0, b, vote_blob(b, 7, &bob, 1), &bob));
    CHECK_REFUSED(c, D0, b, vote_blob(b, 7, &dave, 1), &dave, "reason 2: voter not on the roll");
}

JK_TEST(test_poll_chain)
{
    jk_ex_chain c;
    /* The spec's roll (voters.bin) holds the keys of seeds 1, 2 and 3. */
    JK_REQUIRE(jk_ex_open(&c, "examples/poll/poll-spec.json", NULL, NULL, NULL, 0));
    const jk_ex_key alice = jk_ex_key_of(1), bob = jk_ex_key_of(2), carol = jk_ex_key_of(3);
    const jk_chain_endpoint T = JK_CHAIN_ENDPOINT_TRANSACT, D0 = jk_chain_endpoint_dispatch(0),
                            D1 = jk_chain_endpoint_dispatch(1);
    uint8_t b[256];
    size_t events = 0, traces = 0;
    uint64_t processed = 0;

    open_poll_7(&c, 2);

    /* Block 2: alice and carol vote yes, bob no then yes (his first counts).
     * Tally emits one record, a transact of this same block: three traces. */
    JK_REQUIRE(jk_chain_setup_cycle(c.producer, NULL) == JK_OK);
    /* Verify sees only the blob, not the endpoint: carol's "no" sent to
     * endpoint 1 is admitted there (a dispatch instance) and certify, whose
     * blobs are batches, skips it; an open sent to a dispatch endpoint makes
     * a Transact instance, which the kernel does not admit there. */
    JK_CHECK(jk_ex_submit(&c, D1, b, vote_blob(b, 7, &carol, 2), &carol));
    CHECK_REFUSED(&c, D0, b, open_blob(b, 9, &carol, 5), &carol, "wrong lineage for this endpoint");
    cast_votes(&c);
    CHECK_REFUSED(&c, D0, b, vote_blob(b, 7, &alice, 3), &alice, "reason 1: malformed vote");
    JK_REQUIRE(jk_ex_block(&c, &processed, &events, &traces));
    JK_CHECK_EQ(processed, 3);
    JK_CHECK_EQ(events, 1);
    JK_CHECK_EQ(traces, 3);
    CHECK_POLL(c.importer->chain, 7, 3, 2, 1);
    JK_CHECK_EQ(ballot(c.importer->chain, 7, 1), 2);
    JK_CHECK_EQ(ballot(c.importer->chain, 7, 2), 1); /* carol: her vote to endpoint 0 */

    /* Block 3 (the deadline): alice again is refused; so is a malformed
     * batch sent to dispatch endpoint 1 by hand. */
    JK_REQUIRE(jk_chain_setup_cycle(c.producer, NULL) == JK_OK);
    CHECK_REFUSED(&c, D0, b, vote_blob(b, 7, &alice, 2), &alice, "reason 6: already voted");
    JK_CHECK(!jk_ex_submit(&c, D1, b, 5, &alice)); /* a 5-byte blob: malformed */

    JK_REQUIRE(jk_ex_block(&c, NULL, &events, NULL));
    JK_CHECK_EQ(events, 0);

    /* Block 4: poll 7 is closed. */
    JK_REQUIRE(jk_chain_setup_cycle(c.producer, NULL) == JK_OK);
    CHECK_REFUSED(&c, D0, b, vote_blob(b, 7, &carol, 2), &carol, "reason 5: poll closed");
    CHECK_REFUSED(&c, T, b, open_blob(b, 7, &bob, 3), &bob, "reason 3: poll exists");
    JK_REQUIRE(jk_ex_block(&c, NULL, NULL, NULL));
    JK_CHECK_EQ(jk_ex_slot_u64(c.importer->chain, 22), 4);
    CHECK_POLL(c.importer->chain, 7, 3, 2, 1);
    jk_ex_close(&c);
}

/* Built with -DPOLL_VIA_CERTIFY: tally's batches go to dispatch endpoint 1
 * and reach the state a block later, through certify. */
JK_TEST(test_poll_chain_via_certify)
{
    jk_ex_chain c;
    const char *defines[] = {"POLL_VIA_CERTIFY"};
    jk_sdk_options build = {0};
    build.opt = "-O2";
    build.defines = defines;
    build.define_count = 1;
    JK_REQUIRE(jk_ex_open_built(&c, "examples/poll/poll-spec.json", &build, NULL, NULL, NULL, 0));
    const jk_ex_key alice = jk_ex_key_of(1), bob = jk_ex_key_of(2), carol = jk_ex_key_of(3);
    const jk_chain_endpoint T = JK_CHAIN_ENDPOINT_TRANSACT, D0 = jk_chain_endpoint_dispatch(0);
    uint8_t b[256];
    size_t events = 0, traces = 0;
    uint64_t processed = 0;

    open_poll_7(&c, 5);

    /* Block 2: alice and carol vote yes, bob no, then bob yes (in the same
     * cycle: tally keeps his first). Refused: dave, a poll that does not
     * exist, an unsigned vote. Tally batches the three to certify. */
    JK_REQUIRE(jk_chain_setup_cycle(c.producer, NULL) == JK_OK);
    cast_votes(&c);
    CHECK_REFUSED(&c, D0, b, vote_blob(b, 9, &alice, 1), &alice, "reason 4: no such poll");
    JK_CHECK(!jk_ex_submit(&c, D0, b, vote_blob(b, 7, &carol, 2), NULL));
    JK_REQUIRE(jk_ex_block(&c, &processed, &events, NULL));
    JK_CHECK_EQ(processed, 3);
    JK_CHECK_EQ(events, 0); /* the batch waits for the next cycle */

    /* Block 3: certify gets the batch and sends a record: three votes, three
     * traces in the block. alice votes again: not recorded yet, so admitted.
     * The cycle is set up twice, as a node does (one cycle to admit, produce
     * opens its own): the batch queued for it must survive the first. */
    JK_REQUIRE(jk_chain_setup_cycle(c.producer, NULL) == JK_OK);
    JK_REQUIRE(jk_chain_setup_cycle(c.producer, NULL) == JK_OK);
    JK_CHECK(jk_ex_submit(&c, D0, b, vote_blob(b, 7, &alice, 2), &alice));
    JK_REQUIRE(jk_ex_block(&c, &processed, &events, &traces));
    JK_CHECK_EQ(events, 1);
    JK_CHECK_EQ(traces, 3);
    CHECK_POLL(c.importer->chain, 7, 6, 2, 1);
    JK_CHECK_EQ(ballot(c.importer->chain, 7, 0), 1);
    JK_CHECK_EQ(ballot(c.importer->chain, 7, 1), 2);
    JK_CHECK_EQ(ballot(c.importer->chain, 7, 2), 1);

    /* Block 4: certify drops alice's second vote (she has a ballot); a vote
     * of hers now is refused outright. */
    JK_REQUIRE(jk_chain_setup_cycle(c.producer, NULL) == JK_OK);
    CHECK_REFUSED(&c, D0, b, vote_blob(b, 7, &alice, 2), &alice, "reason 6: already voted");
    JK_REQUIRE(jk_ex_block(&c, NULL, &events, NULL));
    JK_CHECK_EQ(events, 0);
    CHECK_POLL(c.importer->chain, 7, 6, 2, 1);

    /* Blocks 5, 6: empty. After block 6 (the deadline) poll 7 is closed. */
    for (int i = 0; i < 2; i++) {
        JK_REQUIRE(jk_chain_setup_cycle(c.producer, NULL) == JK_OK);
        JK_REQUIRE(jk_ex_block(&c, NULL, &events, NULL));
    }
    JK_REQUIRE(jk_chain_setup_cycle(c.producer, NULL) == JK_OK);
    CHECK_REFUSED(&c, D0, b, vote_blob(b, 7, &carol, 2), &carol, "reason 5: poll closed");
    CHECK_REFUSED(&c, T, b, open_blob(b, 7, &bob, 3), &bob, "reason 3: poll exists");
    JK_REQUIRE(jk_ex_block(&c, NULL, NULL, NULL));
    JK_CHECK_EQ(jk_ex_slot_u64(c.importer->chain, 22), 7);
    CHECK_POLL(c.importer->chain, 7, 6, 2, 1);
    jk_ex_close(&c);
}
