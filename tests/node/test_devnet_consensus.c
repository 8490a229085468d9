/* test_devnet_consensus.c — the devnet on real consensus
 * (src/devnet/consensus.c): without faults it makes the same blocks' state
 * as the round-robin devnet (the golden root of test_devnet.c); with drops,
 * a partition, crashes and a Byzantine validator every honest validator
 * still agrees and the run is live; the same seed gives the same run. */
#include "../test.h"
#include "../progs.h"
#include "devnet_golden.h"

#include "jark/devnet.h"

#include <stdlib.h>


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
    JK_CHECK_HEX(r.base.root.bytes, 32, JK_DEVNET_GOLDEN_ROOT_10);
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

/* Seeds over 4 and 7 validators with every fault at once: up to f
 * Byzantine, two crash-restarts, a partition, 20% loss. */
JK_TEST(test_devnet_consensus_seeds_with_faults_v4_v7)
{
    for (uint32_t v = 4; v <= 7; v += 3) {
        for (uint64_t seed = 1; seed <= (v == 4 ? 4u : 2u); seed++) {
            char dir[256];
            jk_test_tmpdir("devnet-cons", dir, sizeof dir);
            jk_devnet_options o = {v, 5, 2, seed, 0, dir, true, 0, 0};
            jk_devnet_faults f = {.drop_permille = 200, .dup_permille = 100, .partition = true,
                                  .crashes = 2, .byzantine = (v - 1) / 3};
            jk_devnet_cons_result r;
            int rc = jk_devnet_consensus_run(&o, &f, &r);
            jk_test_rm_tree(dir);
            if (rc != 0)
                fprintf(stderr, "V=%u seed %" PRIu64 ": %s\n", v, seed, r.base.reason);
            JK_CHECK_EQ(rc, 0);
            JK_CHECK(r.safety_ok && r.liveness_ok);
            JK_CHECK(r.base.height >= 5);
        }
    }
}

/* A second run on the same folder resumes from the stores (heads, archives,
 * signed-vote records) and ends where one uninterrupted run does. */
JK_TEST(test_devnet_consensus_resumes_from_the_stores)
{
    char dir[256];
    jk_devnet_cons_result whole, part;
    JK_REQUIRE(jk_run(4, 7, 4, NULL, &whole) == 0);
    jk_test_tmpdir("devnet-cons", dir, sizeof dir);
    jk_devnet_options o = {4, 4, 4, 1, 0, dir, true, 0, 0};
    JK_REQUIRE(jk_devnet_consensus_run(&o, NULL, &part) == 0);
    JK_CHECK_EQ(part.base.height, 4);
    o.blocks = 3;
    JK_REQUIRE(jk_devnet_consensus_run(&o, NULL, &part) == 0);
    jk_test_rm_tree(dir);
    JK_CHECK_EQ(part.start, 4);
    JK_CHECK_EQ(part.base.height, 7);
    JK_CHECK_MEM(part.base.root.bytes, whole.base.root.bytes, 32);
}

/* More Byzantine validators than f = (V-1)/3 cannot be promised safety: the
 * run is refused before anything starts. */
JK_TEST(test_devnet_consensus_refuses_more_than_f_byzantine)
{
    jk_devnet_faults f = {.byzantine = 2};
    jk_devnet_cons_result r;
    jk_devnet_options o = {4, 3, 2, 1, 0, "/nonexistent-jark-dir", true, 0, 0};
    JK_CHECK_EQ(jk_devnet_consensus_run(&o, &f, &r), 2);
    JK_CHECK(strstr(r.base.reason, "Byzantine") != NULL);
}
