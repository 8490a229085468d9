/*
 * test_node_full_cert.c — jk_node_chain_app_cert_check (chain_app_sync.c):
 * a certificate checked through the app's memo of verified precommits
 * passes or fails exactly as jk_cons_cert_check decides, and a precommit
 * already verified for the same validator, height, round and value is not
 * verified again (a full node checks height h's certificate when it takes
 * the decision, then block h + 1's LastCommit repeats those precommits).
 */
#include "chain_app_fx.h"

static uint64_t sigs_checked(jk_node_chain_app *a)
{
    jk_node_chain_app_stats st;
    jk_node_chain_app_stats_get(a, &st);
    return st.cert_sigs_checked;
}

JK_TEST(test_node_full_cert_memo_verifies_each_precommit_once)
{
    static fx f;
    JK_REQUIRE(fx_make(&f));
    jk_node_chain_app *a = f.apps[3];
    jk_hash id, other;
    memset(id.bytes, 0x5a, sizeof id.bytes);
    memset(other.bytes, 0xa5, sizeof other.bytes);
    static jk_cons_cert c012, c123, c;
    fx_cert_by(&f, 7, 2, &id, 0, 3, false, &c012);
    fx_cert_by(&f, 7, 2, &id, 1, 3, false, &c123);
    jk_diag d = {{0}};

    uint64_t n0 = sigs_checked(a);
    JK_CHECK_EQ(jk_node_chain_app_cert_check(a, &c012, 7, &id, &d), JK_OK);
    JK_CHECK_EQ(sigs_checked(a) - n0, 3);
    /* again: every precommit remembered, none verified */
    JK_CHECK_EQ(jk_node_chain_app_cert_check(a, &c012, 7, &id, &d), JK_OK);
    JK_CHECK_EQ(sigs_checked(a) - n0, 3);
    /* validators 1..3: only 3's precommit is new */
    JK_CHECK_EQ(jk_node_chain_app_cert_check(a, &c123, 7, &id, &d), JK_OK);
    JK_CHECK_EQ(sigs_checked(a) - n0, 4);

    /* A remembered validator with another signature: verified, refused. */
    c = c012;
    c.sigs[1].sig[5] ^= 1;
    JK_CHECK_EQ(jk_node_chain_app_cert_check(a, &c, 7, &id, &d), JK_ERR_CONS_CERT);
    /* Signed by keys that are not the validators'. */
    fx_cert_by(&f, 7, 2, &id, 0, 3, true, &c);
    JK_CHECK_EQ(jk_node_chain_app_cert_check(a, &c, 7, &id, &d), JK_ERR_CONS_CERT);
    /* Remembered precommits under another round, height or value: their
     * signatures do not cover it. */
    c = c012;
    c.round = 3;
    JK_CHECK_EQ(jk_node_chain_app_cert_check(a, &c, 7, &id, &d), JK_ERR_CONS_CERT);
    c = c012;
    c.height = 8;
    JK_CHECK_EQ(jk_node_chain_app_cert_check(a, &c, 8, &id, &d), JK_ERR_CONS_CERT);
    JK_CHECK_EQ(jk_node_chain_app_cert_check(a, &c012, 8, &id, &d), JK_ERR_CONS_CERT);
    JK_CHECK_EQ(jk_node_chain_app_cert_check(a, &c012, 7, &other, &d), JK_ERR_CONS_CERT);
    c = c012;
    c.value = other;
    JK_CHECK_EQ(jk_node_chain_app_cert_check(a, &c, 7, &other, &d), JK_ERR_CONS_CERT);
    /* Remembered precommits, but no quorum, or a member twice. */
    c = c012;
    c.count = 2;
    JK_CHECK_EQ(jk_node_chain_app_cert_check(a, &c, 7, &id, &d), JK_ERR_CONS_CERT);
    c = c012;
    c.sigs[1] = c.sigs[0];
    JK_CHECK_EQ(jk_node_chain_app_cert_check(a, &c, 7, &id, &d), JK_ERR_CONS_CERT);
    c = c123;
    c.sigs[0] = c.sigs[1];
    c.sigs[1] = c123.sigs[0];
    JK_CHECK_EQ(jk_node_chain_app_cert_check(a, &c, 7, &id, &d), JK_ERR_CONS_CERT);
    JK_CHECK(strstr(d.msg, "repeated or out of order") != NULL);

    /* The refusals left the memo as it was. */
    uint64_t n1 = sigs_checked(a);
    JK_CHECK_EQ(jk_node_chain_app_cert_check(a, &c123, 7, &id, &d), JK_OK);
    JK_CHECK_EQ(jk_node_chain_app_cert_check(a, &c012, 7, &id, &d), JK_OK);
    JK_CHECK_EQ(sigs_checked(a), n1);
    /* Two heights are remembered (a decision's certificate, then its
     * block's LastCommit of the height before); a third replaces the lower. */
    static jk_cons_cert c8, c9;
    fx_cert_by(&f, 8, 0, &other, 0, 3, false, &c8);
    fx_cert_by(&f, 9, 1, &id, 1, 3, false, &c9);
    JK_CHECK_EQ(jk_node_chain_app_cert_check(a, &c8, 8, &other, &d), JK_OK);
    JK_CHECK_EQ(sigs_checked(a) - n1, 3);
    JK_CHECK_EQ(jk_node_chain_app_cert_check(a, &c012, 7, &id, &d), JK_OK);
    JK_CHECK_EQ(sigs_checked(a) - n1, 3);
    JK_CHECK_EQ(jk_node_chain_app_cert_check(a, &c9, 9, &id, &d), JK_OK);
    JK_CHECK_EQ(sigs_checked(a) - n1, 6);
    JK_CHECK_EQ(jk_node_chain_app_cert_check(a, &c8, 8, &other, &d), JK_OK);
    JK_CHECK_EQ(sigs_checked(a) - n1, 6);
    JK_CHECK_EQ(jk_node_chain_app_cert_check(a, &c012, 7, &id, &d), JK_OK);
    JK_CHECK_EQ(sigs_checked(a) - n1, 9);
    fx_free(&f);
}

/* Heights decided one after another: the app of a node that checked each
 * decision's certificate through the memo (as follow.c does) verifies no
 * precommit twice when the next block's LastCommit repeats them. */
JK_TEST(test_node_full_cert_last_commit_not_verified_twice)
{
    static fx f;
    JK_REQUIRE(fx_make(&f));
    JK_CHECK(fx_gossip(&f, 1, 4) > 0);
    jk_cons_cert c1, c2;
    JK_REQUIRE(fx_decide(&f, 1, 0, &c1));
    jk_node_chain_app *a = f.apps[2];
    jk_diag d = {{0}};
    /* the decision of height 1, checked as a full node checks it; then,
     * before block 2 is checked, the decision of height 2 (follow.c's
     * order: a DECISION's certificate, then valid) */
    JK_CHECK_EQ(jk_node_chain_app_cert_check(a, &c1, 1, &c1.value, &d), JK_OK);
    jk_hash id2 = {{0}};
    static jk_cons_cert early;
    memset(id2.bytes, 0x33, sizeof id2.bytes);
    fx_cert_by(&f, 2, 5, &id2, 1, 3, false, &early);
    JK_CHECK_EQ(jk_node_chain_app_cert_check(a, &early, 2, &id2, &d), JK_OK);
    uint64_t n0 = sigs_checked(a), m0 = sigs_checked(f.apps[1]);
    /* height 2: every app checks block 2 (its LastCommit is c1); app 1
     * had not checked c1 but committed height 1 on it (session 8: a
     * commit's certificate is remembered as verified), app 2 had checked it */
    JK_REQUIRE(fx_decide(&f, 2, 0, &c2));
    JK_CHECK_EQ(sigs_checked(f.apps[1]) - m0, 0);
    JK_CHECK_EQ(sigs_checked(a), n0);
    fx_free(&f);
}

/* A validator's commit remembers the precommits of the certificate it
 * decided on (the machine verified each before counting it): the next
 * block's LastCommit is not verified again when it repeats them, and only
 * the precommits the commit did not hold are verified when it differs (the
 * proposer's own quorum: another subset of the same height's precommits). */
JK_TEST(test_node_full_cert_commit_remembers_its_certificate)
{
    static fx f;
    JK_REQUIRE(fx_make(&f));
    JK_CHECK(fx_gossip(&f, 1, 4) > 0);
    jk_cons_cert c1;
    JK_REQUIRE(fx_decide(&f, 1, 0, &c1));
    jk_node_chain_app *a = f.apps[1];
    jk_diag d = {{0}};
    uint64_t n0 = sigs_checked(a);
    JK_CHECK_EQ(jk_node_chain_app_cert_check(a, &c1, 1, &c1.value, &d), JK_OK);
    JK_CHECK_EQ(sigs_checked(a), n0);
    /* validators 1..3 of the same height, round and value (c1 is 0..2): 3 is new */
    static jk_cons_cert c123, c;
    fx_cert_by(&f, 1, 0, &c1.value, 1, 3, false, &c123);
    JK_CHECK_EQ(jk_node_chain_app_cert_check(a, &c123, 1, &c1.value, &d), JK_OK);
    JK_CHECK_EQ(sigs_checked(a) - n0, 1);
    /* a remembered validator with another signature is verified: refused */
    c = c1;
    c.sigs[0].sig[3] ^= 1;
    JK_CHECK_EQ(jk_node_chain_app_cert_check(a, &c, 1, &c1.value, &d), JK_ERR_CONS_CERT);
    fx_free(&f);
}
