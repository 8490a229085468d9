/* test_names.c — the name registry (examples/names, examples/names/README.md)
 * end to end through the chain layer, loaded from its chain spec as any
 * author's chain is: a producer and an importer run blocks of claims (through
 * dispatch endpoint 0 and its process), renewals, transfers and deletes, and
 * must agree on every state root; apply's expiry emits are read by calling
 * apply directly; hand-made blocks that the importer must refuse.
 *
 * The blob encoders and the state reader here are written from the README,
 * independently of examples/names/names.h. */
#include "../test.h"
#include "example_chain.h"

#include "jark/bytes.h"

#include <stdlib.h>

enum { CLAIM = 65, AWARD = 66, RENEW = 49, TRANSFER = 81, DELETE = 33, RECORD = 80 };
#define TTL 3

static void name_field(uint8_t out[32], const char *name)
{
    memset(out, 0, 32);
    memcpy(out, name, strlen(name) < 32 ? strlen(name) : 32);
}

static size_t claim_blob(uint8_t *out, const jk_ex_key *who, const char *name)
{
    out[0] = 'C';
    memcpy(out + 1, who->pk, 32);
    name_field(out + 33, name);
    return CLAIM;
}

static size_t renew_blob(uint8_t *out, const char *name, uint64_t expires, uint64_t version)
{
    out[0] = 'R';
    name_field(out + 1, name);
    jk_put_u64le(out + 33, expires);
    jk_put_u64le(out + 41, version);
    return RENEW;
}

static size_t transfer_blob(uint8_t *out, const char *name, const jk_ex_key *to, uint64_t expires, uint64_t version)
{
    out[0] = 'X';
    name_field(out + 1, name);
    memcpy(out + 33, to->pk, 32);
    jk_put_u64le(out + 65, expires);
    jk_put_u64le(out + 73, version);
    return TRANSFER;
}

static size_t delete_blob(uint8_t *out, const char *name)
{
    out[0] = 'D';
    name_field(out + 1, name);
    return DELETE;
}

/* ---- the fixture: the spec's chain with a TTL of 3 blocks ---- */

typedef struct reg {
    jk_ex_chain c;
    jk_ex_key alice, bob, carol, dave;
} reg;

static bool reg_open(reg *r)
{
    r->alice = jk_ex_key_of(1);
    r->bob = jk_ex_key_of(2);
    r->carol = jk_ex_key_of(3);
    r->dave = jk_ex_key_of(4);
    uint8_t ttl[8];
    jk_put_u64le(ttl, TTL);
    uint32_t slot = 23;
    const uint8_t *data[1] = {ttl};
    size_t len[1] = {8};
    return jk_ex_open(&r->c, "examples/names/names-spec.json", &slot, data, len, 1);
}

/* ---- reading the state (README: slot 20 buckets by FNV-1a, 80-byte records) ---- */

static uint32_t bucket_of(const uint8_t name[32])
{
    uint32_t h = 2166136261u;
    for (int i = 0; i < 32; i++)
        h = (h ^ name[i]) * 16777619u;
    return (h ^ (h >> 16)) & 0xffff;
}

/* The record of `name`: owner, expires, version; false when none. */
static bool record(jk_cap chain, const char *name, uint8_t owner[32], uint64_t *expires, uint64_t *version)
{
    uint8_t f[32], rec[RECORD];
    name_field(f, name);
    jk_cap tree = jk_cap_cnode_get(jk_cap_instance_cnode(chain), 20);
    jk_cap bucket = jk_cap_cnode_get(tree, bucket_of(f));
    for (uint64_t off = 0; off < jk_cap_data_len(bucket); off += RECORD) {
        if (jk_cap_data_read(bucket, off, rec, RECORD) != JK_OK)
            return false;
        if (!memcmp(rec, f, 32)) {
            memcpy(owner, rec + 32, 32);
            *expires = jk_get_u64le(rec + 64);
            *version = jk_get_u64le(rec + 72);
            return true;
        }
    }
    return false;
}

#define CHECK_RECORD(chain, name, who, exp, ver)                               \
    do {                                                                       \
        uint8_t o_[32];                                                        \
        uint64_t e_ = 0, v_ = 0;                                               \
        JK_CHECK(record((chain), (name), o_, &e_, &v_));                       \
        JK_CHECK_MEM(o_, (who)->pk, 32);                                       \
        JK_CHECK_EQ(e_, (exp));                                                \
        JK_CHECK_EQ(v_, (ver));                                                \
    } while (0)

static uint64_t height_of(jk_cap chain) { return jk_ex_slot_u64(chain, 21); }

JK_TEST(test_names_registry)
{
    jk_cap_stats before;
    jk_cap_stats_get(&before);
    reg r;
    JK_REQUIRE(reg_open(&r));
    const jk_chain_endpoint T = JK_CHAIN_ENDPOINT_TRANSACT, D0 = jk_chain_endpoint_dispatch(0);
    uint8_t b[128], b2[128];
    uint64_t awards = 0;
    size_t events = 0, traces = 0;
    uint8_t owner[32];
    uint64_t e, v;

    /* Block 1: claims. alice and then bob claim "alice" (the first admitted
     * wins), bob claims "bob". Dropped at verify: a forged claim, a bad name,
     * a claim sent as a transact, an unsigned claim. */
    JK_REQUIRE(jk_chain_setup_cycle(r.c.producer, NULL) == JK_OK);
    JK_CHECK(jk_ex_submit(&r.c, D0, b, claim_blob(b, &r.alice, "alice"), &r.alice));
    JK_CHECK(jk_ex_submit(&r.c, D0, b, claim_blob(b, &r.bob, "alice"), &r.bob));
    JK_CHECK(jk_ex_submit(&r.c, D0, b, claim_blob(b, &r.bob, "bob"), &r.bob));
    JK_CHECK(!jk_ex_submit(&r.c, D0, b, claim_blob(b, &r.carol, "carol"), &r.dave));
    JK_CHECK(!jk_ex_submit(&r.c, D0, b, claim_blob(b, &r.carol, "Carol!"), &r.carol));
    JK_CHECK(!jk_ex_submit(&r.c, D0, b, claim_blob(b, &r.carol, ""), &r.carol));
    JK_CHECK(!jk_ex_submit(&r.c, T, b, claim_blob(b, &r.carol, "carol"), &r.carol));
    JK_CHECK(!jk_ex_submit(&r.c, D0, b, claim_blob(b, &r.carol, "carol"), NULL));
    JK_CHECK(!jk_ex_submit(&r.c, D0, b, CLAIM - 1, &r.carol)); /* truncated */
    JK_CHECK(!jk_ex_submit(&r.c, D0, b, delete_blob(b, "alice"), NULL)); /* nothing to delete */
    JK_REQUIRE(jk_ex_block(&r.c, &awards, &events, &traces));
    JK_CHECK_EQ(awards, 2);
    JK_CHECK_EQ(events, 2); /* the two awards process emitted */
    JK_CHECK_EQ(traces, 2); /* apply attested each claim again */
    CHECK_RECORD(r.c.importer->chain, "alice", &r.alice, 1 + TTL, 0);
    CHECK_RECORD(r.c.importer->chain, "bob", &r.bob, 1 + TTL, 0);
    JK_CHECK(!record(r.c.importer->chain, "carol", owner, &e, &v));
    JK_CHECK_EQ(height_of(r.c.importer->chain), 1);

    /* Block 2: "alice" is taken (a claim and an award for it are dropped);
     * bob gives "bob" to carol; a transfer of "alice" not signed by its
     * owner is dropped; alice renews "alice" and, signed against the same
     * record, also transfers it to dave: verify admits both (same state),
     * apply renews and skips the transfer (its (expires, version) is gone). */
    JK_REQUIRE(jk_chain_setup_cycle(r.c.producer, NULL) == JK_OK);
    JK_CHECK(!jk_ex_submit(&r.c, D0, b, claim_blob(b, &r.carol, "alice"), &r.carol));
    b2[0] = 'A';
    claim_blob(b2 + 1, &r.carol, "alice");
    JK_CHECK(!jk_ex_submit(&r.c, T, b2, AWARD, NULL));
    JK_CHECK(jk_ex_submit(&r.c, T, b, transfer_blob(b, "bob", &r.carol, 1 + TTL, 0), &r.bob));
    JK_CHECK(!jk_ex_submit(&r.c, T, b, transfer_blob(b, "alice", &r.carol, 1 + TTL, 0), &r.carol));
    JK_CHECK(!jk_ex_submit(&r.c, T, b, renew_blob(b, "alice", 1 + TTL, 7), &r.alice)); /* wrong version */
    JK_CHECK(jk_ex_submit(&r.c, T, b, renew_blob(b, "alice", 1 + TTL, 0), &r.alice));
    JK_CHECK(jk_ex_submit(&r.c, T, b2, transfer_blob(b2, "alice", &r.dave, 1 + TTL, 0), &r.alice));
    JK_REQUIRE(jk_ex_block(&r.c, &awards, &events, &traces));
    JK_CHECK_EQ(awards, 0);
    JK_CHECK_EQ(events, 3);
    JK_CHECK_EQ(traces, 2); /* the skipped transfer is not attested */
    CHECK_RECORD(r.c.importer->chain, "alice", &r.alice, 1 + 2 * TTL, 1);
    CHECK_RECORD(r.c.importer->chain, "bob", &r.carol, 1 + TTL, 1);

    /* Block 3: replays of the renew and of bob's transfer are dropped. An
     * award gossiped as a transact (not through dispatch) is applied too:
     * the claimant's signature is its authority. */
    JK_REQUIRE(jk_chain_setup_cycle(r.c.producer, NULL) == JK_OK);
    JK_CHECK(!jk_ex_submit(&r.c, T, b, renew_blob(b, "alice", 1 + TTL, 0), &r.alice));
    JK_CHECK(!jk_ex_submit(&r.c, T, b, transfer_blob(b, "bob", &r.carol, 1 + TTL, 0), &r.bob));
    claim_blob(b2 + 1, &r.dave, "dave");
    b2[0] = 'A';
    JK_CHECK(jk_ex_submit(&r.c, T, b2, AWARD, NULL) == false); /* unsigned: dropped */
    {
        jk_chain_trace t;
        jk_chain_trace_sign(r.dave.sk, &r.c.g.genesis_hash, b2 + 1, CLAIM, &t);
        jk_chain_event ev = {T, b2, AWARD};
        bool admitted = false;
        JK_CHECK(jk_chain_handle_incoming_event(r.c.producer, &ev, &t, 1, &admitted, NULL) == JK_OK && admitted);
    }
    JK_REQUIRE(jk_ex_block(&r.c, NULL, &events, NULL));
    JK_CHECK_EQ(events, 1);
    CHECK_RECORD(r.c.importer->chain, "dave", &r.dave, 3 + TTL, 0);

    /* "bob" runs out at height 4. Calling apply directly (an empty body at
     * height 4) shows its emit: one delete transact {0: u32 0, 1: 'D' ‖ "bob"}. */
    {
        jk_cap body = jk_cap_null(), aa = jk_cap_null(), pad = jk_cap_null(), tmp;
        uint8_t zero = 0;
        JK_REQUIRE(jk_cap_cnode_new(0, &body) == JK_OK && jk_cap_data_new(&zero, 1, &aa) == JK_OK &&
                   jk_cap_cnode_new(1, &tmp) == JK_OK);
        JK_REQUIRE(jk_cap_cnode_set(tmp, 0, body, &pad) == JK_OK);
        jk_cap_release(tmp);
        tmp = pad;
        JK_REQUIRE(jk_cap_cnode_set(tmp, 1, aa, &pad) == JK_OK);
        jk_cap_release(tmp);
        jk_kernel_result res;
        memset(&res, 0, sizeof res);
        JK_REQUIRE(jk_kernel_call(r.c.producer->kernel, r.c.producer->chain, JK_CHAIN_EP_APPLY, 10000000, NULL, pad,
                                  &res) == JK_OK);
        JK_CHECK_EQ(res.outcome, JK_KERNEL_HALT);
        jk_cap emit = jk_cap_cnode_get(res.slot0, 0);
        jk_cap target = jk_cap_cnode_get(emit, 0), del = jk_cap_cnode_get(emit, 1);
        uint8_t t[4] = {9, 9, 9, 9}, d[DELETE];
        JK_CHECK(jk_cap_data_len(target) == 4 && jk_cap_data_read(target, 0, t, 4) == JK_OK);
        JK_CHECK(t[0] == 0 && t[1] == 0 && t[2] == 0 && t[3] == 0);
        JK_CHECK(jk_cap_data_len(del) == DELETE && jk_cap_data_read(del, 0, d, DELETE) == JK_OK);
        delete_blob(b, "bob");
        JK_CHECK_MEM(d, b, DELETE);
        uint32_t next;
        JK_CHECK(!jk_cap_cnode_next(res.slot0, 1, &next)); /* only "bob" runs out */
        jk_kernel_result_clear(&res);
        jk_cap_release(pad);
        jk_cap_release(body);
        jk_cap_release(aa);
    }

    /* Block 4: from height 4 on "bob" is free: the delete (sent by anyone,
     * unsigned) is admitted and applied; a delete of "alice" (taken until 7)
     * is dropped; and dave claims "bob" in the same block — verify admits it
     * (free at 4), process awards it. */
    JK_REQUIRE(jk_chain_setup_cycle(r.c.producer, NULL) == JK_OK);
    JK_CHECK(jk_ex_submit(&r.c, T, b, delete_blob(b, "bob"), NULL));
    JK_CHECK(!jk_ex_submit(&r.c, T, b, delete_blob(b, "alice"), NULL));
    JK_CHECK(!jk_ex_submit(&r.c, T, b, renew_blob(b, "bob", 1 + TTL, 1), &r.carol)); /* ran out: no renewal */
    JK_CHECK(jk_ex_submit(&r.c, D0, b, claim_blob(b, &r.dave, "bob"), &r.dave));
    JK_REQUIRE(jk_ex_block(&r.c, &awards, &events, NULL));
    JK_CHECK_EQ(awards, 1);
    JK_CHECK_EQ(events, 2); /* the delete, then the award */
    CHECK_RECORD(r.c.importer->chain, "bob", &r.dave, 4 + TTL, 0);
    JK_CHECK_EQ(height_of(r.c.importer->chain), 4);

    /* Blocks 5, 6 are empty and keep counting; "dave" runs out at 6, so
     * apply emits its delete there and the chain layer routes it to the pool:
     * block 7 carries it. At 7 "alice" is free again. */
    for (int i = 0; i < 3; i++) {
        JK_REQUIRE(jk_chain_setup_cycle(r.c.producer, NULL) == JK_OK);
        JK_REQUIRE(jk_ex_block(&r.c, NULL, &events, NULL));
        JK_CHECK_EQ(events, i == 2 ? 1u : 0u);
    }
    {
        uint8_t o_[32];
        uint64_t e_, v_;
        JK_CHECK(!record(r.c.importer->chain, "dave", o_, &e_, &v_)); /* the emitted delete applied */
    }
    JK_CHECK_EQ(height_of(r.c.importer->chain), 7);
    JK_REQUIRE(jk_chain_setup_cycle(r.c.producer, NULL) == JK_OK);
    JK_CHECK(jk_ex_submit(&r.c, D0, b, claim_blob(b, &r.carol, "alice"), &r.carol));
    JK_REQUIRE(jk_ex_block(&r.c, &awards, NULL, NULL));
    JK_CHECK_EQ(awards, 1);
    CHECK_RECORD(r.c.importer->chain, "alice", &r.carol, 8 + TTL, 0);

    jk_ex_close(&r.c);
    jk_cap_stats after;
    jk_cap_stats_get(&after);
    JK_CHECK_EQ(after.live_objects, before.live_objects);
}

/* Blocks made by hand that the importer must refuse, and one it must take. */
JK_TEST(test_names_invalid_blocks)
{
    reg r;
    JK_REQUIRE(reg_open(&r));
    uint8_t claim[CLAIM], award[AWARD], junk[5] = {'Z', 1, 2, 3, 4};
    claim_blob(claim, &r.alice, "alice");
    award[0] = 'A';
    memcpy(award + 1, claim, CLAIM);
    jk_chain_trace t;
    jk_chain_trace_sign(r.alice.sk, &r.c.g.genesis_hash, claim, CLAIM, &t);
    jk_hash root;
    jk_cap_hash(r.c.g.chain, &root);
    struct {
        jk_chain_event ev;
        size_t ntraces;
    } bad[] = {
        {{JK_CHAIN_ENDPOINT_TRANSACT, award, AWARD}, 0},      /* the award without its trace */
        {{JK_CHAIN_ENDPOINT_TRANSACT, junk, sizeof junk}, 0}, /* an unknown blob */
        {{JK_CHAIN_ENDPOINT_TRANSACT, award, AWARD - 1}, 1},  /* truncated */
        {{jk_chain_endpoint_dispatch(0), claim, CLAIM}, 1},   /* a dispatch event in a body */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        JK_CHECK(jk_ex_import_made(&r.c, &bad[i].ev, 1, &t, bad[i].ntraces, &root) != JK_OK);
    JK_CHECK(jk_cap_equal(r.c.importer->chain, r.c.g.chain));

    /* The award with its trace, and the same award again (skipped: taken). */
    JK_REQUIRE(jk_chain_setup_cycle(r.c.producer, NULL) == JK_OK);
    jk_chain_event ev = {JK_CHAIN_ENDPOINT_TRANSACT, award, AWARD};
    JK_REQUIRE(jk_ex_submit(&r.c, ev.endpoint, award, AWARD, NULL) == false); /* unsigned */
    bool admitted = false;
    JK_REQUIRE(jk_chain_handle_incoming_event(r.c.producer, &ev, &t, 1, &admitted, NULL) == JK_OK && admitted);
    jk_chain_block produced;
    JK_REQUIRE(jk_ex_produce(&r.c, &produced));
    jk_chain_event twice[2] = {ev, ev};
    jk_chain_trace tt[2] = {t, t};
    JK_CHECK_EQ(jk_ex_import_made(&r.c, twice, 2, tt, 2, &produced.header.state_root), JK_OK);
    JK_CHECK(jk_cap_equal(r.c.importer->chain, r.c.producer->chain));
    jk_chain_block_free(&produced);
    jk_ex_close(&r.c);
}

/* A renewal can push an expiry 2^16 or more blocks ahead, into an
 * expiry-queue slot that an earlier height visits: that visit must keep the
 * name queued. Genesis at height 100 with a TTL of 32769: awarded at 101
 * (runs out at 32870), renewed at 102 (runs out at 65639 = 103 + 2^16), so
 * height 103 visits its slot. */
JK_TEST(test_names_expiry_queue_keeps_later_heights)
{
    reg r;
    r.alice = jk_ex_key_of(1);
    uint8_t height[8], ttl[8];
    jk_put_u64le(height, 100);
    jk_put_u64le(ttl, 32769);
    uint32_t slots[2] = {21, 23};
    const uint8_t *data[2] = {height, ttl};
    size_t lens[2] = {8, 8};
    JK_REQUIRE(jk_ex_open(&r.c, "examples/names/names-spec.json", slots, data, lens, 2));
    const jk_chain_endpoint T = JK_CHAIN_ENDPOINT_TRANSACT, D0 = jk_chain_endpoint_dispatch(0);
    uint8_t b[128], owner[32];
    uint64_t e = 0, v = 0;
    JK_REQUIRE(jk_chain_setup_cycle(r.c.producer, NULL) == JK_OK);
    JK_CHECK(jk_ex_submit(&r.c, D0, b, claim_blob(b, &r.alice, "alice"), &r.alice));
    JK_REQUIRE(jk_ex_block(&r.c, NULL, NULL, NULL));
    JK_CHECK(record(r.c.importer->chain, "alice", owner, &e, &v) && e == 32870);
    JK_REQUIRE(jk_chain_setup_cycle(r.c.producer, NULL) == JK_OK);
    JK_CHECK(jk_ex_submit(&r.c, T, b, renew_blob(b, "alice", 32870, 0), &r.alice));
    JK_REQUIRE(jk_ex_block(&r.c, NULL, NULL, NULL));
    CHECK_RECORD(r.c.importer->chain, "alice", &r.alice, 65639, 1);
    JK_REQUIRE(jk_chain_setup_cycle(r.c.producer, NULL) == JK_OK);
    JK_REQUIRE(jk_ex_block(&r.c, NULL, NULL, NULL)); /* height 103 */
    JK_CHECK_EQ(height_of(r.c.importer->chain), 103);
    jk_cap queue = jk_cap_cnode_get(jk_cap_instance_cnode(r.c.importer->chain), 22);
    jk_cap slot = jk_cap_cnode_get(queue, 103);
    uint8_t name[32], want[32];
    name_field(want, "alice");
    JK_CHECK(jk_cap_data_len(slot) == 32 && jk_cap_data_read(slot, 0, name, 32) == JK_OK);
    JK_CHECK_MEM(name, want, 32);
    jk_ex_close(&r.c);
}
