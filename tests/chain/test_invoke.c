/* test_invoke.c — invocations with attests (src/chain/invoke.c) through real
 * SDK programs: an AA that yields the attest marker, and chain code that
 * attests through it. */
#include "../test.h"
#include "../progs.h"

#include "jark/chain.h"

#include <stdlib.h>

static jk_cap jk_build_image(const char *source, const jk_cap_mapping *maps, uint32_t nmaps)
{
    jk_kernel_image_opts opts = {.mappings = maps, .mapping_count = nmaps};
    return jk_test_image(source, &opts);
}

typedef struct jk_decider {
    int seen, refuse_at;
    uint8_t keys[8];
    char blobs[8][8];
} jk_decider;

static jk_err jk_decide(void *ctx, const uint8_t key[32], const uint8_t *blob, size_t len, bool *accept)
{
    jk_decider *d = ctx;
    if (d->seen < 8) {
        d->keys[d->seen] = key[0];
        snprintf(d->blobs[d->seen], sizeof d->blobs[d->seen], "%.*s", (int)len, (const char *)blob);
    }
    *accept = d->seen != d->refuse_at;
    d->seen++;
    return JK_OK;
}

JK_TEST(test_chain_invoke_serves_attests_and_aborts_whole)
{
    jk_cap_stats before;
    jk_cap_stats_get(&before);
    jk_kernel *k;
    JK_REQUIRE(jk_kernel_new(NULL, &k) == JK_OK);
    static const jk_cap_mapping state = {0x40000000, 4096, JK_CAP_MAP_PERSISTENT, JK_PVM_ACCESS_WRITE, 22};
    jk_cap aa_image = jk_build_image("tests/chain/progs/aa.c", NULL, 0);
    jk_cap att_image = jk_build_image("tests/chain/progs/attester.c", &state, 1);
    JK_REQUIRE(!jk_cap_is_null(aa_image) && !jk_cap_is_null(att_image));
    jk_cap marker, other, zero;
    JK_REQUIRE(jk_kernel_mint_marker(k, 1, &marker) == JK_OK && jk_kernel_mint_marker(k, 2, &other) == JK_OK);
    JK_REQUIRE(jk_cap_data_new_zeroed(4096, &zero) == JK_OK);
    uint32_t s20[1] = {20};
    jk_cap aa = jk_test_instance(aa_image, 1, s20, &marker);
    jk_cap rogue_aa = jk_test_instance(aa_image, 1, s20, &other);
    uint32_t s[2] = {21, 22};
    jk_cap c[2] = {aa, zero};
    jk_cap chain = jk_test_instance(att_image, 2, s, c);
    c[0] = rogue_aa;
    jk_cap rogue = jk_test_instance(att_image, 2, s, c);

    /* Every attest accepted: the invocation HALTs, in order. */
    jk_decider d = {.refuse_at = -1};
    jk_kernel_result r;
    uint32_t attests = 0;
    uint64_t args[3] = {3, 0, 0};
    JK_REQUIRE(jk_chain_invoke(k, marker, chain, 0, 1000000, args, jk_cap_null(), jk_decide, &d, &attests, &r) == JK_OK);
    JK_CHECK_EQ(r.outcome, JK_KERNEL_HALT);
    JK_CHECK_EQ(r.value, 3);
    JK_CHECK_EQ(attests, 3);
    JK_CHECK_EQ(d.seen, 3);
    JK_CHECK_EQ(d.keys[0], 1);
    JK_CHECK_EQ(d.keys[2], 3);
    JK_CHECK(!strcmp(d.blobs[1], "blob-1"));
    JK_CHECK(r.gas_used > 0 && r.gas_used < 1000000);
    jk_kernel_result_clear(&r);

    /* The second refused: everything is discarded, the chain as it was. */
    jk_decider refuse = {.refuse_at = 1};
    JK_REQUIRE(jk_chain_invoke(k, marker, chain, 0, 1000000, args, jk_cap_null(), jk_decide, &refuse, &attests, &r) == JK_OK);
    JK_CHECK_EQ(r.outcome, JK_KERNEL_FAULT);
    JK_CHECK_EQ(r.fault, JK_FAULT_ABORTED);
    JK_CHECK(jk_cap_same(r.instance, chain));
    JK_CHECK_EQ(attests, 1);
    JK_CHECK_EQ(refuse.seen, 2);
    jk_kernel_result_clear(&r);

    /* A yield to another kernel marker aborts too. */
    jk_decider any = {.refuse_at = -1};
    JK_REQUIRE(jk_chain_invoke(k, marker, rogue, 0, 1000000, args, jk_cap_null(), jk_decide, &any, &attests, &r) == JK_OK);
    JK_CHECK_EQ(r.outcome, JK_KERNEL_FAULT);
    JK_CHECK_EQ(r.fault, JK_FAULT_ABORTED);
    JK_CHECK_EQ(any.seen, 0);
    jk_kernel_result_clear(&r);

    jk_cap_release(rogue);
    jk_cap_release(chain);
    jk_cap_release(rogue_aa);
    jk_cap_release(aa);
    jk_cap_release(zero);
    jk_cap_release(marker);
    jk_cap_release(other);
    jk_cap_release(aa_image);
    jk_cap_release(att_image);
    jk_kernel_free(k);
    jk_cap_stats after;
    jk_cap_stats_get(&after);
    JK_CHECK_EQ(after.live_objects, before.live_objects);
}
