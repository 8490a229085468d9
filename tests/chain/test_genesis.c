/* test_genesis.c — a chain from its spec (src/chain/genesis.c): the role
 * images pinned as docs/chain-design.md says, the genesis hash, and every
 * refusal of jk_chain_genesis_build. Uses the small test chain's programs. */
#include "../test.h"
#include "jark/sdk.h"

#include "jark/chain.h"

#include <stdlib.h>

typedef struct jk_program_bytes {
    uint8_t *bytes;
    size_t len;
} jk_program_bytes;

static jk_program_bytes jk_program(const char *name)
{
    jk_program_bytes p = {NULL, 0};
    char source[128];
    snprintf(source, sizeof source, "tests/chain/progs/%s.c", name);
    if (jk_sdk_build_one(source, &p.bytes, &p.len, NULL) != JK_OK)
        p.len = 0;
    return p;
}

JK_TEST(test_chain_genesis_from_spec)
{
    jk_cap_stats before;
    jk_cap_stats_get(&before);
    static const char *const names[6] = {"chain", "verify", "transact", "dinst", "aa", "process"};
    jk_program_bytes progs[6];
    for (int i = 0; i < 6; i++) {
        progs[i] = jk_program(names[i]);
        JK_REQUIRE(progs[i].len > 0);
    }
    uint8_t validators[2][32];
    for (int v = 0; v < 2; v++) {
        uint8_t seed[32] = {(uint8_t)(v + 50)}, sk[64];
        JK_REQUIRE(jk_crypto_ed25519_keypair_from_seed(seed, validators[v], sk) == JK_OK);
    }
    static const uint8_t balances[16] = {1, 2, 3};
    const uint32_t slots[1] = {20};
    const uint8_t *const data[1] = {balances};
    const size_t lens[1] = {sizeof balances};
    jk_chain_spec spec = {
        .chain = progs[0].bytes, .chain_len = progs[0].len, .verify = progs[1].bytes, .verify_len = progs[1].len,
        .transact = progs[2].bytes, .transact_len = progs[2].len, .dispatch_instance = progs[3].bytes,
        .dispatch_instance_len = progs[3].len, .aa = progs[4].bytes, .aa_len = progs[4].len,
        .dispatch = {progs[5].bytes}, .dispatch_len = {progs[5].len}, .dispatch_count = 1,
        .state_slots = slots, .state_data = data, .state_len = lens, .state_count = 1,
        .validators = (const uint8_t(*)[32])validators, .validator_count = 2,
        .gas = {1000000, 1000000, 1000000, 10000000},
    };
    static jk_chain_genesis g1, g2; /* static: a record holds up to 1,024 keys */
    jk_diag diag = {{0}};
    JK_REQUIRE(jk_chain_genesis_build(&spec, &g1, &diag) == JK_OK);
    JK_REQUIRE(jk_chain_genesis_build(&spec, &g2, &diag) == JK_OK);
    JK_CHECK(jk_cap_equal(g1.chain, g2.chain));
    JK_CHECK_MEM(g1.genesis_hash.bytes, g2.genesis_hash.bytes, 32); /* deterministic */
    /* Lineage bound to the kernel: H(kernel_id ‖ image_id(ChainImage)). */
    jk_hash kid, iid, want, got;
    uint8_t buf[64];
    jk_cap_kernel_id(&kid);
    jk_cap_hash(jk_cap_instance_image(g1.chain), &iid);
    memcpy(buf, kid.bytes, 32);
    memcpy(buf + 32, iid.bytes, 32);
    jk_crypto_blake2b256(buf, 64, &want);
    jk_cap_instance_image_hash(g1.chain, &got);
    JK_CHECK_MEM(got.bytes, want.bytes, 32);
    /* The pins and the state, where the design puts them. */
    jk_cap image = jk_cap_instance_image(g1.chain);
    for (uint32_t slot = 1; slot <= 5; slot++)
        JK_CHECK_EQ(jk_cap_kind_of(jk_cap_image_pinned(image, slot)), JK_CAP_IMAGE);
    JK_CHECK_EQ(jk_cap_data_len(jk_cap_cnode_get(jk_cap_instance_cnode(g1.chain), 20)), sizeof balances);
    /* It runs: a Kernel over it opens a cycle. */
    jk_chain_kernel *ck;
    JK_REQUIRE(jk_chain_kernel_new(&g1, jk_cap_null(), &ck, &diag) == JK_OK);
    JK_CHECK_EQ(jk_chain_setup_cycle(ck, &diag), JK_OK);
    JK_CHECK_EQ(ck->max_event_traces, JK_CHAIN_DEFAULT_EVENT_TRACES);
    JK_CHECK_EQ(ck->validator_count, 2);
    jk_chain_kernel_free(ck);
    /* The kernel takes its settings only from what the genesis hash binds: a
     * record with any setting changed beside its hash is refused. */
    static jk_chain_genesis forged;
    for (int f = 0; f < 4; f++) {
        forged = g1;
        switch (f) {
        case 0: forged.gas.block += 1; break;
        case 1: forged.dispatch_count = 0; break;
        case 2: forged.max_event_traces = 100; break;
        case 3: forged.validators[1][0] ^= 1; break;
        }
        diag.msg[0] = 0;
        JK_CHECK_EQ(jk_chain_kernel_new(&forged, jk_cap_null(), &ck, &diag), JK_ERR_INVALID_ARG);
        JK_CHECK(strstr(diag.msg, "do not match its genesis hash") != NULL);
    }
    /* The trace bound is a chain-spec setting, bound into the hash. */
    spec.max_event_traces = 3;
    static jk_chain_genesis g4;
    JK_REQUIRE(jk_chain_genesis_build(&spec, &g4, &diag) == JK_OK);
    JK_CHECK_EQ(g4.max_event_traces, 3);
    JK_CHECK(memcmp(g4.genesis_hash.bytes, g1.genesis_hash.bytes, 32) != 0);
    jk_cap_release(g4.chain);
    spec.max_event_traces = 0;
    /* Another validator set is another chain. */
    spec.validator_count = 1;
    static jk_chain_genesis g3;
    JK_REQUIRE(jk_chain_genesis_build(&spec, &g3, &diag) == JK_OK);
    JK_CHECK(memcmp(g3.genesis_hash.bytes, g1.genesis_hash.bytes, 32) != 0);
    jk_cap_release(g3.chain);
    spec.validator_count = 2;

    /* Refusals, each with its reason. */
    jk_chain_spec bad;
    static jk_chain_genesis g;
    jk_program_bytes swapped = jk_program("chain_swapped");
    jk_program_bytes no_yield = jk_program("aa_no_yield");
    JK_REQUIRE(swapped.len > 0 && no_yield.len > 0);
    const uint32_t pinned_slot[1] = {5}, dup_slots[2] = {20, 20};
    const uint8_t *const data2[2] = {balances, balances};
    const size_t lens2[2] = {1, 1};
    struct {
        const char *what, *needle;
    } expect[] = {{"state in a pinned slot", "outside 20..255"},
                  {"state twice", "twice"},
                  {"no validators", "validators"},
                  {"no verify program", "no verify program"},
                  {"a missing dispatch transform", "needs 4"},
                  {"a role program that is not a program", "the aa program"},
                  {"negative gas", "negative"},
                  {"apply and transform_to_verify swapped", "endpoint 1 (transform_to_verify)"},
                  {"one image for Transact and DispatchInstance", "make the same image"},
                  {"an AA that never yields", "without yielding to the kernel"},
                  {"a trace bound over the maximum", "traces per event"}};
    for (int c = 0; c < 11; c++) {
        bad = spec;
        switch (c) {
        case 0: bad.state_slots = pinned_slot; break;
        case 1: bad.state_slots = dup_slots; bad.state_data = data2; bad.state_len = lens2; bad.state_count = 2; break;
        case 2: bad.validator_count = 0; break;
        case 3: bad.verify = NULL; break;
        case 4: bad.dispatch[1] = progs[5].bytes; bad.dispatch_len[1] = progs[5].len; bad.dispatch_count = 2; break;
        case 5: bad.aa = balances; bad.aa_len = sizeof balances; break;
        case 6: bad.gas.verify = -1; break;
        case 7: bad.chain = swapped.bytes; bad.chain_len = swapped.len; break;
        case 8: bad.dispatch_instance = bad.transact; bad.dispatch_instance_len = bad.transact_len; break;
        case 9: bad.aa = no_yield.bytes; bad.aa_len = no_yield.len; break;
        case 10: bad.max_event_traces = JK_CHAIN_MAX_EVENT_TRACES + 1; break;
        }
        diag.msg[0] = 0;
        jk_err err = jk_chain_genesis_build(&bad, &g, &diag);
        if (err != JK_ERR_INVALID_ARG || !strstr(diag.msg, expect[c].needle))
            jk_test_fail(__FILE__, __LINE__, "%s: err %d, '%s'", expect[c].what, err, diag.msg);
        JK_CHECK(jk_cap_is_null(g.chain));
    }
    free(swapped.bytes);
    free(no_yield.bytes);
    jk_cap_release(g1.chain);
    jk_cap_release(g2.chain);
    for (int i = 0; i < 6; i++)
        free(progs[i].bytes);
    jk_cap_stats after;
    jk_cap_stats_get(&after);
    JK_CHECK_EQ(after.live_objects, before.live_objects);
}

#include "chain_test_util.h"

/* The test chain with a chain of one-slot CNodes in state slot 30 making
 * the instance exactly `want` deep (the null cap when none does). NEW. */
static jk_cap deep_chain(jk_cap chain, unsigned want)
{
    jk_cap inner;
    if (jk_cap_data_new("d", 1, &inner) != JK_OK)
        return jk_cap_null();
    for (unsigned levels = 0; levels < JK_CAP_MAX_DEPTH; levels++) {
        jk_cap cnode = jk_cap_null(), inst = jk_cap_null();
        if (jk_cap_cnode_set(jk_cap_instance_cnode(chain), 30, inner, &cnode) == JK_OK &&
            jk_cap_instance_with_cnode(chain, cnode, &inst, NULL) == JK_OK &&
            jk_cap_depth(inst) == want) {
            jk_cap_release(cnode);
            jk_cap_release(inner);
            return inst;
        }
        jk_cap_release(cnode);
        jk_cap_release(inst);
        jk_cap node = jk_cap_null(), next = jk_cap_null();
        if (jk_cap_cnode_new(0, &node) != JK_OK || jk_cap_cnode_set(node, 0, inner, &next) != JK_OK)
            next = jk_cap_null();
        jk_cap_release(node);
        jk_cap_release(inner);
        inner = next;
        if (jk_cap_is_null(inner))
            break;
    }
    jk_cap_release(inner);
    return jk_cap_null();
}

/* A genesis chain deeper than a HALT may leave a state (the kernel's
 * nesting reserve, docs/abi.md) could never pause, so no verify could
 * attest on it: sealing and verifying it are refused with the reason; at
 * the bound it seals, and a kernel starts on it. */
JK_TEST(test_chain_genesis_refuses_a_state_past_the_reserve)
{
    jk_test_chain tc;
    JK_REQUIRE(jk_test_chain_make(&tc, NULL));
    jk_cap at = deep_chain(tc.chain, JK_KERNEL_MAX_HALT_DEPTH);
    jk_cap over = deep_chain(tc.chain, JK_KERNEL_MAX_HALT_DEPTH + 1);
    JK_REQUIRE(!jk_cap_is_null(at) && !jk_cap_is_null(over));
    static jk_chain_genesis g;
    uint8_t sk[64];
    memset(&g, 0, sizeof g);
    jk_test_key(9, g.validators[0], sk);
    g.validator_count = 1;
    g.gas = (jk_chain_budgets){1000000, 1000000, 1000000, 10000000};
    g.dispatch_count = 1;
    g.max_event_traces = JK_CHAIN_DEFAULT_EVENT_TRACES;
    g.chain = at;
    JK_CHECK_EQ(jk_chain_genesis_seal(&g, NULL), JK_OK);
    jk_chain_kernel *k = NULL;
    JK_CHECK_EQ(jk_chain_kernel_new(&g, jk_cap_null(), &k, NULL), JK_OK);
    jk_chain_kernel_free(k);
    jk_diag why = {{0}};
    g.chain = over;
    JK_CHECK_EQ(jk_chain_genesis_seal(&g, &why), JK_ERR_CAP_TOO_DEEP);
    JK_CHECK(strstr(why.msg, "nesting reserve") != NULL);
    JK_CHECK_EQ(jk_chain_genesis_verify(&g, NULL), JK_ERR_CAP_TOO_DEEP);
    jk_cap_release(at);
    jk_cap_release(over);
    jk_test_chain_free(&tc);
}
