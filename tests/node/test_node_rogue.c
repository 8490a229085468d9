/*
 * test_node_rogue.c — a rogue peer (tests/net/rogue.c) against a running
 * four-node chain: a malformed consensus message, an oversize frame and
 * votes with bad signatures each get it disconnected; a flood of frames does not stop the chain.
 */
#include "../test.h"
#include "../net/rogue.h"
#include "node_util.h"

#include <signal.h>
#include <unistd.h>

#define TN_LIMIT 120000 /* ms: only reached when a test fails (generous: a starved machine under ASan) */

/* Connect as a non-validator (its key is in no genesis list) to node 0. */
static jk_rogue *rogue_up(const tn_cluster *c)
{
    uint8_t sk[64], pk[32], victim_sk[64], victim[32];
    tn_key(0x30, sk, pk);
    tn_key(0, victim_sk, victim);
    jk_hash g;
    tn_genesis(0, &g);
    return jk_rogue_open(c->port[0], victim, sk, g.bytes);
}

/* Pump until the node closes the connection (true) or the bound passes. */
static bool rogue_dropped(jk_rogue *r) { return !jk_rogue_pump_for(r, 40000); }

JK_TEST(test_node_rogue_dropped_while_the_chain_goes_on)
{
    tn_cluster c;
    JK_REQUIRE(tn_init(&c, 4));
    JK_REQUIRE(tn_start_first(&c, 4));
    JK_REQUIRE(tn_wait(&c, 0xF, 2, TN_LIMIT));

    /* A consensus frame whose payload is no message: disconnected. */
    jk_rogue *r = rogue_up(&c);
    JK_REQUIRE(r);
    jk_rogue_send_frame(r, JK_NET_CONSENSUS, 40, 40, 0x33);
    JK_CHECK(rogue_dropped(r));
    jk_rogue_close(r);

    /* A frame over its kind's bound (the header alone says so). */
    r = rogue_up(&c);
    JK_REQUIRE(r);
    jk_rogue_send_frame(r, JK_NET_CONSENSUS, 64u << 20, 16, 0x44);
    JK_CHECK(rogue_dropped(r));
    jk_rogue_close(r);

    /* Well-formed prevotes of validator 1 with a signature that does not
     * verify, for the heights from the committed one on (the node checks
     * those of its height and the next; the span covers the chain's
     * progress while they travel): disconnected (BAD_SIG). */
    r = rogue_up(&c);
    JK_REQUIRE(r);
    int64_t at = tn_height(&c, 0);
    JK_REQUIRE(at >= 0);
    for (uint64_t k = 0; k < 400; k++) {
        jk_cons_vote v = {.type = JK_CONS_MSG_PREVOTE, .height = (uint64_t)at + k, .round = 0,
                          .has_value = false, .validator = 1};
        memset(v.sig, 0x5A, sizeof v.sig);
        uint8_t enc[JK_CONS_VOTE_SIZE];
        jk_cons_vote_encode(&v, enc);
        uint8_t hdr[JK_NET_FRAME_HEADER];
        jk_net_frame_header(JK_NET_CONSENSUS, sizeof enc, hdr);
        jk_rogue_send_raw(r, hdr, sizeof hdr);
        jk_rogue_send_raw(r, enc, sizeof enc);
    }
    JK_CHECK(rogue_dropped(r));
    jk_rogue_close(r);

    /* A flood of event frames with garbage in them: the first one gets it
     * dropped; meanwhile, and after, the chain commits. */
    int64_t h = tn_height(&c, 0);
    r = rogue_up(&c);
    JK_REQUIRE(r);
    for (int i = 0; i < 2000; i++)
        jk_rogue_send_frame(r, JK_NET_EVENTS, 100, 100, (uint8_t)i);
    JK_CHECK(rogue_dropped(r));
    jk_rogue_close(r);
    JK_CHECK(tn_wait(&c, 0xF, (uint64_t)h + 3, TN_LIMIT));
    tn_stop_all(&c);
    uint64_t top;
    JK_CHECK(tn_agree(&c, &top));
    tn_destroy(&c);
}

/* status of node i: max_peer_height and syncing (-1 / false when it does
 * not answer). */
static int64_t rogue_status(const tn_cluster *c, uint32_t i, bool *syncing)
{
    char *res = NULL;
    jk_diag d;
    int64_t top = -1;
    *syncing = false;
    if (jk_rpc_call("127.0.0.1", c->rpc[i], "status", NULL, &res, &d) == JK_OK) {
        const char *p = strstr(res, "\"max_peer_height\"");
        if (p && (p = strchr(p, ':')))
            top = strtoll(p + 1, NULL, 10);
        *syncing = strstr(res, "\"syncing\":true") != NULL;
    }
    free(res);
    return top;
}

/* One prevote frame of validator `who` at height h, signed with `sk` (the
 * validator's own key, or another: a bad signature). */
static void rogue_vote(jk_rogue *r, uint64_t h, uint32_t who, const uint8_t sk[64])
{
    jk_hash g;
    tn_genesis(0, &g);
    jk_cons_vote v = {.type = JK_CONS_MSG_PREVOTE, .height = h, .round = 0, .has_value = false,
                      .validator = who};
    jk_cons_vote_sign(&v, &g, sk);
    uint8_t enc[JK_CONS_VOTE_SIZE], hdr[JK_NET_FRAME_HEADER];
    jk_cons_vote_encode(&v, enc);
    jk_net_frame_header(JK_NET_CONSENSUS, sizeof enc, hdr);
    jk_rogue_send_raw(r, hdr, sizeof hdr);
    jk_rogue_send_raw(r, enc, sizeof enc);
}

/* syncing, without timing: a peer that relays validator 1's genuinely
 * signed prevote for a height far ahead makes node 0 report that height
 * (minus one) as the highest peer height, and syncing, for as long as the
 * peer is connected — nobody can serve those heights, so it stays so; when
 * the peer goes, its height is forgotten and syncing ends. A far-ahead
 * vote with a bad signature moves nothing and gets its sender dropped. */
JK_TEST(test_node_rogue_far_vote_makes_syncing)
{
    tn_cluster c;
    JK_REQUIRE(tn_init(&c, 4));
    JK_REQUIRE(tn_start_first(&c, 4));
    JK_REQUIRE(tn_wait(&c, 0xF, 2, TN_LIMIT));
    int64_t at = tn_height(&c, 0);
    JK_REQUIRE(at >= 2);
    uint64_t far = (uint64_t)at + 1000;
    uint8_t sk1[64], pk1[32], sk2[64], pk2[32];
    tn_key(1, sk1, pk1);
    tn_key(2, sk2, pk2);

    jk_rogue *r = rogue_up(&c);
    JK_REQUIRE(r);
    rogue_vote(r, far, 1, sk1);
    bool syncing = false, seen = false;
    for (int i = 0; i < 40000 && !seen; i++) {
        JK_REQUIRE(jk_rogue_pump(r) >= 0);
        if (i % 200 == 0)
            seen = rogue_status(&c, 0, &syncing) == (int64_t)far - 1 && syncing;
        usleep(250);
    }
    JK_CHECK(seen);
    /* still so a while later: the chain goes on, the figure stays */
    JK_CHECK(tn_wait(&c, 0x1, (uint64_t)at + 2, TN_LIMIT));
    JK_CHECK_EQ(rogue_status(&c, 0, &syncing), (int64_t)far - 1);
    JK_CHECK(syncing);
    /* the same in /metrics */
    int status = 0;
    char *reply = NULL, want[64];
    size_t rlen = 0;
    jk_diag d;
    JK_CHECK(jk_rpc_http("127.0.0.1", c.rpc[0], "GET", "/metrics", NULL, 0, &status, &reply,
                         &rlen, &d) == JK_OK &&
             status == 200);
    snprintf(want, sizeof want, "\njark_max_peer_height %llu\n", (unsigned long long)far - 1);
    JK_CHECK(reply && strstr(reply, want) && strstr(reply, "\njark_syncing 1\n"));
    free(reply);
    jk_rogue_close(r);
    bool over = false;
    for (int i = 0; i < 400 && !over; i++) {
        over = rogue_status(&c, 0, &syncing) < (int64_t)far - 1 && !syncing;
        usleep(50 * 1000);
    }
    JK_CHECK(over);

    /* validator 1's vote signed with validator 2's key: dropped, no height */
    r = rogue_up(&c);
    JK_REQUIRE(r);
    rogue_vote(r, far + 1000, 1, sk2);
    JK_CHECK(rogue_dropped(r));
    jk_rogue_close(r);
    /* operators see the drop: jark_net_peers_dropped counts it (the metric
     * is refreshed at the node's next loop turn; the chain keeps turning) */
    bool counted = false;
    for (int i = 0; i < 400 && !counted; i++) {
        reply = NULL;
        if (jk_rpc_http("127.0.0.1", c.rpc[0], "GET", "/metrics", NULL, 0, &status, &reply, &rlen,
                        &d) == JK_OK &&
            status == 200 && reply) {
            const char *m = strstr(reply, "\njark_net_peers_dropped ");
            counted = m && strtod(m + strlen("\njark_net_peers_dropped "), NULL) >= 1.0;
        }
        free(reply);
        if (!counted)
            usleep(50 * 1000);
    }
    JK_CHECK(counted);
    JK_CHECK(rogue_status(&c, 0, &syncing) < (int64_t)far - 1 && !syncing);
    tn_stop_all(&c);
    tn_destroy(&c);
}

/* A prevote of validator `who` at (1, 0) for the value tag…tag, signed with
 * its own key: two tags make an equivocation. */
static void rogue_value_vote(jk_rogue *r, uint32_t who, uint8_t tag)
{
    uint8_t sk[64], pk[32], enc[JK_CONS_VOTE_SIZE], hdr[JK_NET_FRAME_HEADER];
    jk_hash g;
    tn_key(who, sk, pk);
    tn_genesis(0, &g);
    jk_cons_vote v = {.type = JK_CONS_MSG_PREVOTE, .height = 1, .round = 0, .has_value = true,
                      .validator = who};
    memset(v.value.bytes, tag, sizeof v.value.bytes);
    jk_cons_vote_sign(&v, &g, sk);
    jk_cons_vote_encode(&v, enc);
    jk_net_frame_header(JK_NET_CONSENSUS, sizeof enc, hdr);
    jk_rogue_send_raw(r, hdr, sizeof hdr);
    jk_rogue_send_raw(r, enc, sizeof enc);
}

/* status.evidence of node i (-1 when it does not answer). */
static int64_t rogue_evidence(const tn_cluster *c, uint32_t i)
{
    char *res = NULL;
    jk_diag d;
    int64_t count = -1;
    if (jk_rpc_call("127.0.0.1", c->rpc[i], "status", NULL, &res, &d) == JK_OK) {
        const char *p = strstr(res, "\"evidence\"");
        if (p && (p = strchr(p, ':')))
            count = strtoll(p + 1, NULL, 10);
    }
    free(res);
    return count;
}

/* Pump r until node i's status.evidence reaches want (its value returned;
 * frames on one connection arrive in order, so when a later pair is counted
 * the earlier ones were all handled). */
static int64_t rogue_await_evidence(jk_rogue *r, const tn_cluster *c, uint32_t i, int64_t want)
{
    int64_t got = -1;
    for (int k = 0; k < 40000 && got < want; k++) {
        if (jk_rogue_pump(r) < 0)
            return -2;
        if (k % 200 == 0)
            got = rogue_evidence(c, i);
        usleep(250);
    }
    return got;
}

/* Wait (bounded) until node i answers status; then connect a rogue to it. */
static jk_rogue *rogue_up_when_ready(const tn_cluster *c, uint32_t i)
{
    for (int k = 0; k < 600 && rogue_evidence(c, i) < 0; k++)
        usleep(50 * 1000);
    return rogue_up(c);
}

/* Evidence kept by the node (issue 12): node 0 alone (no quorum: it stays at
 * height 1, no timing involved) gets validator 1's two prevotes at (1, 0)
 * for different values, genuinely signed: status counts one entry. The same
 * pair again, then validator 2's pair: two (the repeat is no new entry).
 * After a restart the machine has forgotten the pair; validator 1's again
 * and validator 3's: three, and the stopped node's archive holds exactly
 * those three, in key order. */
JK_TEST(test_node_rogue_equivocation_stored_once)
{
    tn_cluster c;
    JK_REQUIRE(tn_init(&c, 4));
    JK_REQUIRE(tn_start(&c, 0));
    jk_rogue *r = rogue_up_when_ready(&c, 0);
    if (!r)
        tn_destroy(&c);
    JK_REQUIRE(r);
    JK_CHECK_EQ(rogue_evidence(&c, 0), 0);
    rogue_value_vote(r, 1, 0xA1);
    rogue_value_vote(r, 1, 0xB2);
    JK_CHECK_EQ(rogue_await_evidence(r, &c, 0, 1), 1);
    rogue_value_vote(r, 1, 0xA1);
    rogue_value_vote(r, 1, 0xB2);
    rogue_value_vote(r, 1, 0xC3);
    rogue_value_vote(r, 2, 0xA1);
    rogue_value_vote(r, 2, 0xB2);
    JK_CHECK_EQ(rogue_await_evidence(r, &c, 0, 2), 2);
    jk_rogue_close(r);

    bool ok = false;
    tn_stop(&c, 0, SIGTERM, &ok);
    JK_CHECK(ok);
    JK_REQUIRE(tn_start(&c, 0));
    r = rogue_up_when_ready(&c, 0);
    if (!r)
        tn_destroy(&c);
    JK_REQUIRE(r);
    JK_CHECK_EQ(rogue_evidence(&c, 0), 2);
    rogue_value_vote(r, 1, 0xA1);
    rogue_value_vote(r, 1, 0xB2);
    rogue_value_vote(r, 3, 0xA1);
    rogue_value_vote(r, 3, 0xB2);
    JK_CHECK_EQ(rogue_await_evidence(r, &c, 0, 3), 3);
    jk_rogue_close(r);
    tn_stop(&c, 0, SIGTERM, &ok);
    JK_CHECK(ok);

    char dir[192];
    snprintf(dir, sizeof dir, "%s/node-0", c.dir);
    jk_node_archive *a = NULL;
    jk_diag d;
    JK_REQUIRE(jk_node_archive_open(dir, &a, &d) == JK_OK);
    JK_CHECK_EQ(jk_node_archive_evidence_count(a), 3);
    jk_node_evidence ev[4];
    size_t n = 0;
    JK_CHECK(jk_node_archive_evidence(a, 0, ev, 4, &n, &d) == JK_OK);
    JK_CHECK_EQ(n, 3);
    for (size_t i = 0; i < n && i < 3; i++) {
        JK_CHECK_EQ(ev[i].first.validator, i + 1);
        JK_CHECK_EQ(ev[i].second.validator, i + 1);
        JK_CHECK(ev[i].first.height == 1 && ev[i].first.has_value && ev[i].second.has_value);
        JK_CHECK(memcmp(ev[i].first.value.bytes, ev[i].second.value.bytes, 32) != 0);
    }
    jk_node_archive_close(a);
    tn_destroy(&c);
}
