/*
 * test_adv_node_votes.c — a Byzantine validator's genuinely signed votes at
 * the edges of their fields, sent by a rogue peer to a running four-node
 * chain (real processes, tests/node/node_util.h): a vote signed for another
 * chain (the same validator key, another genesis) gets the peer dropped as
 * a bad signature and counts for nothing; votes at round 2^32-1 and at
 * height 2^64-1 (one validator: f = 1, no round skip, no decision) crash
 * nothing, `status` still answers with the heights in range, and the chain
 * goes on and agrees. Frames at each kind's bound (docs/network.md: 2, 2
 * and 17 MiB) and one byte over it, and a kind that does not exist, each
 * get the peer dropped while the chain goes on.
 */
#include "../test.h"
#include "../net/rogue.h"
#include "../node/node_util.h"
#include "jark/consensus.h"
#include "jark/rpc.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ADV_LIMIT 30000

static jk_rogue *adv_rogue(const tn_cluster *c)
{
    uint8_t sk[64], pk[32], victim_sk[64], victim[32];
    tn_key(0x31, sk, pk);
    tn_key(0, victim_sk, victim);
    jk_hash g;
    tn_genesis(0, &g);
    return jk_rogue_open(c->port[0], victim, sk, g.bytes);
}

/* A vote of validator 1 signed with its own key under genesis tag `tag`. */
static void adv_vote(jk_rogue *r, uint8_t type, uint64_t h, uint32_t round, uint8_t tag, bool has_value)
{
    uint8_t sk[64], pk[32];
    tn_key(1, sk, pk);
    jk_hash g;
    tn_genesis(tag, &g);
    jk_cons_vote v = {.type = type, .height = h, .round = round, .has_value = has_value, .validator = 1};
    memset(v.value.bytes, has_value ? 0xAB : 0, sizeof v.value.bytes);
    jk_cons_vote_sign(&v, &g, sk);
    uint8_t enc[JK_CONS_VOTE_SIZE], hdr[JK_NET_FRAME_HEADER];
    jk_cons_vote_encode(&v, enc);
    jk_net_frame_header(JK_NET_CONSENSUS, sizeof enc, hdr);
    jk_rogue_send_raw(r, hdr, sizeof hdr);
    jk_rogue_send_raw(r, enc, sizeof enc);
}


/* node i's status answer (NULL when it does not answer); caller frees. */
static char *adv_status(const tn_cluster *c, uint32_t i)
{
    char *res = NULL;
    jk_diag d;
    if (jk_rpc_call("127.0.0.1", c->rpc[i], "status", NULL, &res, &d) != JK_OK) {
        free(res);
        return NULL;
    }
    return res;
}

JK_TEST(test_adv_node_votes_at_the_edges)
{
    tn_cluster c;
    JK_REQUIRE(tn_init(&c, 4));
    JK_REQUIRE(tn_start_first(&c, 4));
    JK_REQUIRE(tn_wait(&c, 0xF, 2, ADV_LIMIT));

    /* validator 1's key, another chain's genesis: not a signature here */
    jk_rogue *r = adv_rogue(&c);
    JK_REQUIRE(r);
    int64_t at = tn_height(&c, 0);
    JK_REQUIRE(at >= 2);
    adv_vote(r, JK_CONS_MSG_PREVOTE, (uint64_t)at + 500, 0, 7, false);
    JK_CHECK(!jk_rogue_pump_for(r, 40000));
    jk_rogue_close(r);
    char *st = adv_status(&c, 0);
    JK_REQUIRE(st);
    JK_CHECK(strstr(st, "\"syncing\":false") != NULL); /* the far height did not count */
    free(st);

    /* genuine votes at round 2^32-1 of the next heights and at height
     * 2^64-1: the peer stays (they verify), nothing moves past its bounds */
    r = adv_rogue(&c);
    JK_REQUIRE(r);
    at = tn_height(&c, 0);
    for (uint64_t k = 0; k < 4; k++) {
        adv_vote(r, JK_CONS_MSG_PREVOTE, (uint64_t)at + k, UINT32_MAX, 0, true);
        adv_vote(r, JK_CONS_MSG_PRECOMMIT, (uint64_t)at + k, UINT32_MAX, 0, true);
        adv_vote(r, JK_CONS_MSG_PRECOMMIT, (uint64_t)at + k, UINT32_MAX - 1, 0, false);
    }
    adv_vote(r, JK_CONS_MSG_PREVOTE, UINT64_MAX, 0, 0, true);
    adv_vote(r, JK_CONS_MSG_PRECOMMIT, UINT64_MAX, UINT32_MAX, 0, true);
    (void)jk_rogue_pump_for(r, 4000);
    JK_CHECK(tn_wait(&c, 0xF, (uint64_t)at + 3, ADV_LIMIT));
    st = adv_status(&c, 0);
    JK_REQUIRE(st);
    /* no negative number anywhere in the answer (a u64 printed as int64) */
    JK_CHECK(strstr(st, ":-") == NULL);
    const char *round = strstr(st, "\"round\":");
    JK_CHECK(round && strtoull(round + 8, NULL, 10) < 1000);
    free(st);
    jk_rogue_close(r);

    tn_stop_all(&c);
    uint64_t top = 0;
    JK_CHECK(tn_agree(&c, &top));
    JK_CHECK(top >= (uint64_t)at + 3);
    tn_destroy(&c);
}

JK_TEST(test_adv_node_frames_at_their_bounds)
{
    tn_cluster c;
    JK_REQUIRE(tn_init(&c, 4));
    JK_REQUIRE(tn_start_first(&c, 4));
    JK_REQUIRE(tn_wait(&c, 0xF, 2, ADV_LIMIT));
    const uint32_t bound[3] = {2u << 20, 2u << 20, 17u << 20};
    for (uint8_t kind = 0; kind < 3; kind++) {
        /* one byte over: refused from the header, before any payload */
        jk_rogue *r = adv_rogue(&c);
        JK_REQUIRE(r);
        jk_rogue_send_frame(r, kind, bound[kind] + 1, 16, 0x5C);
        JK_CHECK(!jk_rogue_pump_for(r, 40000));
        jk_rogue_close(r);
        if (kind == 2)
            continue; /* a whole 17 MiB frame costs more time than it tells */
        /* exactly at the bound, garbage inside: malformed (or over the rate) */
        r = adv_rogue(&c);
        JK_REQUIRE(r);
        jk_rogue_send_frame(r, kind, bound[kind], bound[kind], (uint8_t)(0xA0 + kind));
        JK_CHECK(!jk_rogue_pump_for(r, 80000));
        jk_rogue_close(r);
    }
    /* a kind past the last */
    jk_rogue *r = adv_rogue(&c);
    JK_REQUIRE(r);
    jk_rogue_send_frame(r, 3, 8, 8, 0x01);
    JK_CHECK(!jk_rogue_pump_for(r, 40000));
    jk_rogue_close(r);

    int64_t h = tn_height(&c, 0);
    JK_REQUIRE(h >= 2);
    JK_CHECK(tn_wait(&c, 0xF, (uint64_t)h + 2, ADV_LIMIT));
    tn_stop_all(&c);
    uint64_t top = 0;
    JK_CHECK(tn_agree(&c, &top));
    tn_destroy(&c);
}

