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

#define TN_LIMIT 30000

/* Connect as a non-validator (its key is in no genesis list) to node 0. */
static jk_rogue *rogue_up(const tn_cluster *c)
{
    uint8_t sk[64], pk[32], victim_sk[64], victim[32];
    tn_key(0x30, sk, pk);
    tn_key(0, victim_sk, victim);
    jk_hash g;
    tn_genesis(0, &g);
    jk_rogue *r = jk_rogue_connect(JK_NET_QUIC, c->port[0], victim, sk, g.bytes);
    for (int i = 0; r && i < 20000; i++) {
        int st = jk_rogue_pump(r);
        if (st == 1)
            return r;
        if (st < 0)
            break;
        usleep(200);
    }
    if (r)
        jk_rogue_close(r);
    return NULL;
}

/* Pump until the node closes the connection (true) or the bound passes. */
static bool rogue_dropped(jk_rogue *r)
{
    for (int i = 0; i < 40000; i++) {
        if (jk_rogue_pump(r) < 0)
            return true;
        usleep(250);
    }
    return false;
}

JK_TEST(test_node_rogue_dropped_while_the_chain_goes_on)
{
    tn_cluster c;
    JK_REQUIRE(tn_init(&c, 4));
    for (uint32_t i = 0; i < 4; i++)
        JK_REQUIRE(tn_start(&c, i));
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
    for (uint32_t i = 0; i < 4; i++)
        tn_stop(&c, i, SIGTERM, NULL);
    uint64_t top;
    JK_CHECK(tn_agree(&c, &top));
    tn_destroy(&c);
}
