/*
 * test_adv_blocks.c — hostile blocks against import (jk_chain_block_decode,
 * jk_chain_apply_block_import) on the test chain of tests/chain/progs: each
 * one signed by the designated proposer, so only the property under attack
 * is wrong. Every one must be refused with a reason and leave the
 * importer's chain as it was (the very object: nothing was committed).
 */
#include "../chain/chain_test_util.h"

#include <stdlib.h>

typedef struct adv_blocks {
    jk_test_chain tc;
    jk_hash genesis;
    uint8_t pk[32], sk[64], ppk[32], psk[64], opk[32], osk[64];
    jk_chain_kernel *producer, *importer;
    jk_chain_block block1; /* the producer's valid block 1 */
    uint8_t blob[64];
    size_t blob_len;
    jk_chain_trace trace;
} adv_blocks;

/* Block (parent, number) over events/traces with root, signed with sk for
 * the chain of genesis `signed_for`, then imported at (parent_at,
 * number_at): must be refused with a reason, the chain untouched. */
static void adv_refused_by(adv_blocks *a, const char *what, int line, const uint8_t *sk, const jk_hash *signed_for,
                           const jk_hash *parent, uint64_t number, const jk_hash *root, const jk_chain_event *events,
                           size_t n, const jk_chain_trace *traces, size_t nt, const jk_hash *parent_at,
                           uint64_t number_at)
{
    jk_chain_block b;
    memset(&b, 0, sizeof b);
    jk_diag why = {{0}};
    if (jk_chain_block_build(parent, number, 0, root, events, n, traces, nt, &b, &why) != JK_OK) {
        jk_test_fail(__FILE__, line, "%s: cannot build: %s", what, why.msg);
        return;
    }
    jk_chain_block_sign(&b, sk, signed_for);
    jk_cap before = jk_cap_retain(a->importer->chain);
    jk_err err = jk_chain_apply_block_import(a->importer, &b, parent_at, number_at, &why);
    if (err == JK_OK || !why.msg[0])
        jk_test_fail(__FILE__, line, "%s: import gave %s (%s)", what, jk_strerror(err), why.msg);
    if (!jk_cap_same(a->importer->chain, before))
        jk_test_fail(__FILE__, line, "%s: the importer's chain changed", what);
    if (getenv("JK_ADV_REPORT"))
        printf("ADV block %-40s refused: %s\n", what, why.msg);
    jk_cap_release(before);
    jk_chain_block_free(&b);
}

/* adv_refused_by signed by the designated proposer (validator 0, seed 9)
 * for this chain: only what the arguments get wrong is wrong. */
static void adv_refused(adv_blocks *a, const char *what, int line, const jk_hash *parent, uint64_t number,
                        const jk_hash *root, const jk_chain_event *events, size_t n, const jk_chain_trace *traces,
                        size_t nt, const jk_hash *parent_at, uint64_t number_at)
{
    adv_refused_by(a, what, line, a->psk, &a->genesis, parent, number, root, events, n, traces, nt, parent_at,
                   number_at);
}

JK_TEST(test_adv_blocks_refused_and_nothing_kept)
{
    static adv_blocks a;
    memset(&a, 0, sizeof a);
    JK_REQUIRE(jk_test_chain_make(&a.tc, NULL));
    const jk_chain_genesis *tg = jk_test_genesis(&a.tc, 1, 3000000, &a.genesis);
    JK_REQUIRE(tg != NULL);
    jk_test_key(1, a.pk, a.sk);
    jk_test_key(9, a.ppk, a.psk);
    jk_test_key(2, a.opk, a.osk);
    JK_REQUIRE(jk_chain_kernel_new(tg, jk_cap_null(), &a.producer, NULL) == JK_OK);
    JK_REQUIRE(jk_chain_kernel_new(tg, jk_cap_null(), &a.importer, NULL) == JK_OK);
    jk_chain_set_own_key(a.producer, a.psk);
    a.blob_len = jk_blob(a.blob, a.pk, 'T', "one");
    jk_chain_trace_sign(a.sk, &a.genesis, a.blob, a.blob_len, &a.trace);
    jk_chain_event ev = {JK_CHAIN_ENDPOINT_TRANSACT, a.blob, a.blob_len};
    bool admitted = false;
    JK_REQUIRE(jk_chain_setup_cycle(a.producer, NULL) == JK_OK);
    JK_REQUIRE(jk_chain_handle_incoming_event(a.producer, &ev, &a.trace, 1, &admitted, NULL) == JK_OK && admitted);
    JK_REQUIRE(jk_chain_run_cycle_process(a.producer, NULL) == JK_OK);
    jk_diag why = {{0}};
    JK_REQUIRE(jk_chain_apply_block_produce(a.producer, &a.genesis, 1, 0, NULL, &a.block1, &why) == JK_OK);
    JK_REQUIRE(a.block1.event_count == 1 && a.block1.trace_count == 1);
    const jk_hash *root = &a.block1.header.state_root;

    /* Wrong roots, duplicates, traces that do not fit, other heights. */
    jk_hash bad_root = *root;
    bad_root.bytes[0] ^= 1;
    adv_refused(&a, "with a wrong state root", __LINE__, &a.genesis, 1, &bad_root, &ev, 1, &a.trace, 1, &a.genesis,
                1);
    jk_chain_event twice[2] = {ev, ev};
    jk_chain_trace two[2] = {a.trace, a.trace};
    adv_refused(&a, "with its event twice, the root of once", __LINE__, &a.genesis, 1, root, twice, 2, two, 2,
                &a.genesis, 1);
    adv_refused(&a, "with its event twice and one trace", __LINE__, &a.genesis, 1, root, twice, 2, &a.trace, 1,
                &a.genesis, 1);
    adv_refused(&a, "with a trace too many", __LINE__, &a.genesis, 1, root, &ev, 1, two, 2, &a.genesis, 1);
    adv_refused(&a, "without its trace", __LINE__, &a.genesis, 1, root, &ev, 1, NULL, 0, &a.genesis, 1);
    jk_chain_trace other_key;
    jk_chain_trace_sign(a.osk, &a.genesis, a.blob, a.blob_len, &other_key);
    adv_refused(&a, "with a trace by another key", __LINE__, &a.genesis, 1, root, &ev, 1, &other_key, 1,
                &a.genesis, 1);
    jk_chain_trace bad_sig = a.trace;
    bad_sig.sig[5] ^= 0x20;
    adv_refused(&a, "with a trace whose signature is wrong", __LINE__, &a.genesis, 1, root, &ev, 1, &bad_sig, 1,
                &a.genesis, 1);
    jk_chain_trace other_msg;
    jk_chain_trace_sign(a.sk, &a.genesis, a.blob, a.blob_len - 1, &other_msg);
    adv_refused(&a, "with a trace of another message", __LINE__, &a.genesis, 1, root, &ev, 1, &other_msg, 1,
                &a.genesis, 1);
    adv_refused(&a, "for height 2 offered at 1", __LINE__, &a.genesis, 2, root, &ev, 1, &a.trace, 1, &a.genesis, 1);
    /* (A dispatch target in the body is the chain's apply to judge: the
     * test chain's apply ignores targets, the demo's refuses them,
     * test_demo_invalid_blocks.) */

    /* Valid signatures for another chain: the same key over the same blob
     * bound to another genesis hash (attestation.md: the message binds the
     * genesis), and the whole block signed for another genesis. */
    jk_hash other_genesis = a.genesis;
    other_genesis.bytes[31] ^= 0x80;
    jk_chain_trace foreign;
    jk_chain_trace_sign(a.sk, &other_genesis, a.blob, a.blob_len, &foreign);
    adv_refused(&a, "with a trace made for another chain", __LINE__, &a.genesis, 1, root, &ev, 1, &foreign, 1,
                &a.genesis, 1);
    adv_refused_by(&a, "signed for another chain", __LINE__, a.psk, &other_genesis, &a.genesis, 1, root, &ev, 1,
                   &a.trace, 1, &a.genesis, 1);
    /* ... and gossiped: the event with the foreign trace is not admitted,
     * with a reason, and its own trace still admits it afterwards (the
     * refusal left nothing behind: no "already seen"). */
    {
        jk_chain_kernel *g = NULL;
        JK_REQUIRE(jk_chain_kernel_new(tg, jk_cap_null(), &g, NULL) == JK_OK);
        JK_REQUIRE(jk_chain_setup_cycle(g, NULL) == JK_OK);
        bool in = true;
        why.msg[0] = 0;
        JK_CHECK(jk_chain_handle_incoming_event(g, &ev, &foreign, 1, &in, &why) == JK_OK);
        JK_CHECK(!in && why.msg[0]);
        JK_CHECK(jk_chain_handle_incoming_event(g, &ev, &a.trace, 1, &in, &why) == JK_OK && in);
        jk_chain_kernel_free(g);
    }

    /* Two events whose traces are in the wrong order, under the root of the
     * right order (made by a third kernel): every signature is valid, only
     * the order is wrong, and import must refuse it. */
    {
        uint8_t blob2[64];
        size_t len2 = jk_blob(blob2, a.opk, 'T', "two");
        jk_chain_trace t2;
        jk_chain_trace_sign(a.osk, &a.genesis, blob2, len2, &t2);
        jk_chain_event ev2 = {JK_CHAIN_ENDPOINT_TRANSACT, blob2, len2};
        jk_chain_kernel *p = NULL;
        JK_REQUIRE(jk_chain_kernel_new(tg, jk_cap_null(), &p, NULL) == JK_OK);
        jk_chain_set_own_key(p, a.psk);
        bool in = false;
        JK_REQUIRE(jk_chain_setup_cycle(p, NULL) == JK_OK);
        JK_REQUIRE(jk_chain_handle_incoming_event(p, &ev, &a.trace, 1, &in, NULL) == JK_OK && in);
        JK_REQUIRE(jk_chain_handle_incoming_event(p, &ev2, &t2, 1, &in, NULL) == JK_OK && in);
        JK_REQUIRE(jk_chain_run_cycle_process(p, NULL) == JK_OK);
        jk_chain_block two_events;
        JK_REQUIRE(jk_chain_apply_block_produce(p, &a.genesis, 1, 0, NULL, &two_events, &why) == JK_OK);
        JK_REQUIRE(two_events.event_count == 2 && two_events.trace_count == 2);
        jk_chain_event evs[2];
        jk_chain_trace trs[2], swapped[2];
        for (int i = 0; i < 2; i++) {
            evs[i] = two_events.events[i];
            trs[i] = two_events.traces[i];
        }
        swapped[0] = trs[1];
        swapped[1] = trs[0];
        const jk_hash *root2 = &two_events.header.state_root;
        adv_refused(&a, "with its two traces swapped", __LINE__, &a.genesis, 1, root2, evs, 2, swapped, 2, &a.genesis,
                    1);
        jk_chain_event revs[2] = {evs[1], evs[0]};
        adv_refused(&a, "with its two events swapped", __LINE__, &a.genesis, 1, root2, revs, 2, trs, 2, &a.genesis, 1);
        jk_chain_block_free(&two_events);
        jk_chain_kernel_free(p);
    }

    /* Signed by a validator that is not the proposer of the round. */
    adv_refused_by(&a, "signed by another validator", __LINE__, a.osk, &a.genesis, &a.genesis, 1, root, &ev, 1,
                   &a.trace, 1, &a.genesis, 1);

    /* Truncated and oversized encodings: decode refuses, with a reason. */
    uint8_t *enc = NULL;
    size_t len = 0;
    JK_REQUIRE(jk_chain_block_encode(&a.block1, &enc, &len) == JK_OK);
    uint8_t *longer = malloc(len + 1);
    JK_REQUIRE(longer);
    memcpy(longer, enc, len);
    longer[len] = 0;
    for (size_t cut = 0; cut <= len; cut += cut < JK_CHAIN_HEADER_SIZE + 8 ? 1 : 7) {
        jk_chain_block d;
        why.msg[0] = 0;
        size_t n = cut < len ? cut : len + 1; /* the last round: one trailing byte */
        if (jk_chain_block_decode(cut < len ? enc : longer, n, &d, &why) == JK_OK) {
            jk_test_fail(__FILE__, __LINE__, "a %zu-byte encoding of a %zu-byte block decoded", n, len);
            jk_chain_block_free(&d);
        } else if (!why.msg[0]) {
            jk_test_fail(__FILE__, __LINE__, "a %zu-byte encoding refused without a reason", n);
        }
        if (cut == len)
            break;
    }
    free(longer);

    /* Every field wrong, one at a time, down to the byte: each byte of the
     * valid block's encoding flipped (three masks) is refused by decode or
     * by import, with a reason, and the importer's chain is the very object
     * it was. (Every byte is covered: the proposer's signature binds the
     * header, the header the body's hash, the body every event and trace.) */
    {
        static const uint8_t masks[3] = {0x01, 0x80, 0xff};
        size_t tried = 0, by_decode = 0, by_import = 0;
        for (size_t i = 0; i < len; i++)
            for (int m = 0; m < 3; m++) {
                enc[i] ^= masks[m];
                jk_chain_block d;
                why.msg[0] = 0;
                tried++;
                if (jk_chain_block_decode(enc, len, &d, &why) != JK_OK) {
                    by_decode++;
                    if (!why.msg[0])
                        jk_test_fail(__FILE__, __LINE__, "byte %zu ^ 0x%02x: decode refused without a reason", i,
                                     masks[m]);
                } else {
                    jk_cap before = jk_cap_retain(a.importer->chain);
                    why.msg[0] = 0;
                    jk_err err = jk_chain_apply_block_import(a.importer, &d, &a.genesis, 1, &why);
                    by_import++;
                    if (err == JK_OK || !why.msg[0])
                        jk_test_fail(__FILE__, __LINE__, "byte %zu ^ 0x%02x: import gave %s (%s)", i, masks[m],
                                     jk_strerror(err), why.msg);
                    if (!jk_cap_same(a.importer->chain, before))
                        jk_test_fail(__FILE__, __LINE__, "byte %zu ^ 0x%02x: the importer's chain changed", i,
                                     masks[m]);
                    jk_cap_release(before);
                    jk_chain_block_free(&d);
                }
                enc[i] ^= masks[m];
            }
        JK_CHECK_EQ(tried, 3 * len);
        JK_CHECK(by_decode > 0 && by_import > 0); /* both layers were reached */
        if (getenv("JK_ADV_REPORT"))
            printf("ADV block bytes: %zu flips of a %zu-byte block: %zu refused by decode, %zu by import\n", tried,
                   len, by_decode, by_import);
    }
    free(enc);

    /* The valid block, then the same block replayed at height 2, and its
     * body again in a well-formed block 2 (the test chain's apply counts
     * the transact once more: another root than the replayed one). */
    JK_REQUIRE(jk_chain_apply_block_import(a.importer, &a.block1, &a.genesis, 1, &why) == JK_OK);
    JK_CHECK(jk_cap_equal(a.importer->chain, a.producer->chain));
    jk_hash h1;
    jk_chain_block_hash(&a.block1, &h1);
    {
        jk_cap before = jk_cap_retain(a.importer->chain);
        why.msg[0] = 0;
        JK_CHECK(jk_chain_apply_block_import(a.importer, &a.block1, &h1, 2, &why) == JK_ERR_CHAIN_BLOCK_INVALID);
        JK_CHECK(why.msg[0] != 0);
        JK_CHECK(jk_cap_same(a.importer->chain, before));
        jk_cap_release(before);
    }
    adv_refused(&a, "1's body replayed as block 2", __LINE__, &h1, 2, root, &ev, 1, &a.trace, 1, &h1, 2);

    jk_chain_block_free(&a.block1);
    jk_chain_kernel_free(a.producer);
    jk_chain_kernel_free(a.importer);
    jk_test_chain_free(&a.tc);
}
