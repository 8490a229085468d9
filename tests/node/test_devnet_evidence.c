/* test_devnet_evidence.c — what the devnet on consensus leaves in the
 * honest validators' stores (src/node/archive.c): the equivocations of the
 * Byzantine validator kept as evidence (its votes only, deduplicated), and
 * below the top the same certificate for every block in every archive (the
 * LastCommit the next block carried). */
#include "../test.h"
#include "../progs.h"

#include "jark/devnet.h"

#include <limits.h>
#include <stdlib.h>

JK_TEST(test_devnet_evidence_kept_and_certificates_agree)
{
    char dir[256];
    jk_test_tmpdir("devnet-evidence", dir, sizeof dir);
    jk_devnet_options o = {4, 8, 2, 1, 0, dir, true, 0, 0};
    jk_devnet_faults f = {.drop_permille = 200, .dup_permille = 50, .partition = true,
                          .byzantine = 1};
    jk_devnet_cons_result r;
    JK_REQUIRE(jk_devnet_consensus_run(&o, &f, &r) == 0);
    JK_CHECK(r.safety_ok && r.liveness_ok);
    JK_CHECK(r.evidence > 0);
    jk_node_archive *a[4] = {0};
    uint64_t kept = 0, lo = UINT64_MAX;
    for (uint32_t i = 1; i < 4; i++) {
        char d[PATH_MAX];
        snprintf(d, sizeof d, "%s/validator-%u", dir, i);
        JK_REQUIRE(jk_node_archive_open(d, &a[i], NULL) == JK_OK);
        uint64_t n = jk_node_archive_evidence_count(a[i]);
        kept += n;
        static jk_node_evidence ev[JK_NODE_EVIDENCE_MAX];
        size_t got;
        JK_REQUIRE(jk_node_archive_evidence(a[i], 0, ev, JK_NODE_EVIDENCE_MAX, &got, NULL) ==
                   JK_OK);
        JK_CHECK_EQ(got, n);
        for (size_t k = 0; k < got; k++) {
            JK_CHECK_EQ(ev[k].first.validator, 0); /* only the Byzantine one */
            JK_CHECK_EQ(ev[k].second.validator, 0);
            JK_CHECK_EQ(ev[k].first.height, ev[k].second.height);
            JK_CHECK(memcmp(ev[k].first.value.bytes, ev[k].second.value.bytes, 32) != 0 ||
                     ev[k].first.has_value != ev[k].second.has_value);
        }
        if (jk_node_archive_top(a[i]) < lo)
            lo = jk_node_archive_top(a[i]);
    }
    JK_CHECK(kept > 0);
    JK_CHECK(kept <= r.evidence); /* one entry per equivocation, however often seen */
    JK_CHECK(lo >= 8);
    for (uint64_t h = 1; h < lo; h++) {
        jk_hash first, x;
        for (uint32_t i = 1; i < 4; i++) {
            jk_cons_cert c;
            JK_REQUIRE(jk_node_archive_get(a[i], h, NULL, NULL, NULL, &c, NULL) == JK_OK);
            jk_cons_cert_hash(&c, &x);
            if (i == 1)
                first = x;
            JK_CHECK_MEM(x.bytes, first.bytes, 32);
        }
    }
    for (uint32_t i = 1; i < 4; i++)
        jk_node_archive_close(a[i]);
    jk_test_rm_tree(dir);
}
