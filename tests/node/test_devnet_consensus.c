/* test_devnet_consensus.c — the devnet on real consensus
 * (src/devnet/consensus.c): without faults it makes the same blocks' state
 * as the round-robin devnet (the golden root of test_devnet.c); with drops,
 * a partition, crashes and a Byzantine validator every honest validator
 * still agrees and the run is live; the same seed gives the same run. */
#include "../test.h"
#include "../progs.h"

#include "jark/devnet.h"

#include <stdlib.h>

static const char jk_golden_root_10[] = "65051c1036546fa9e6269790ce7a536360f2079f3ebb2863e552d8bb54b0b103";

static void jk_hex(const jk_hash *h, char out[65])
{
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", h->bytes[i]);
}

static int jk_run(uint32_t v, uint64_t blocks, uint32_t per_block, const jk_devnet_faults *f,
                  jk_devnet_cons_result *r)
{
    char dir[256];
    jk_test_tmpdir("devnet-cons", dir, sizeof dir);
    jk_devnet_options o = {v, blocks, per_block, 1, 0, dir, true, 0, 0};
    int rc = jk_devnet_consensus_run(&o, f, r);
    jk_test_rm_tree(dir);
    if (rc != 0)
        fprintf(stderr, "devnet on consensus: %s\n", r->base.reason);
    return rc;
}

JK_TEST(test_devnet_consensus_without_faults_keeps_the_golden_root)
{
    jk_devnet_cons_result r;
    JK_REQUIRE(jk_run(4, 10, 16, NULL, &r) == 0);
    JK_CHECK(r.safety_ok && r.liveness_ok);
    JK_CHECK_EQ(r.base.height, 10);
    JK_CHECK_EQ(r.rounds, 10); /* every height in round 0 */
    char hex[65];
    jk_hex(&r.base.root, hex);
    JK_CHECK(strcmp(hex, jk_golden_root_10) == 0);
    if (strcmp(hex, jk_golden_root_10) != 0)
        fprintf(stderr, "root %s\n", hex);
}

JK_TEST(test_devnet_consensus_with_faults_agrees_and_is_live)
{
    jk_devnet_faults f = {.drop_permille = 200, .dup_permille = 50, .partition = true,
                          .crashes = 1, .byzantine = 1};
    jk_devnet_cons_result a, b;
    JK_REQUIRE(jk_run(4, 8, 4, &f, &a) == 0);
    JK_CHECK(a.safety_ok && a.liveness_ok);
    JK_CHECK(a.base.height >= 8);
    JK_CHECK_EQ(a.crashes, 1);
    /* the same seed, the same run */
    JK_REQUIRE(jk_run(4, 8, 4, &f, &b) == 0);
    JK_CHECK_MEM(a.base.root.bytes, b.base.root.bytes, 32);
    JK_CHECK_EQ(a.sent, b.sent);
    JK_CHECK_EQ(a.rounds, b.rounds);
}
