/*
 * test_node_peers.c — what the node learns of its peers' heights from their
 * votes (src/node/node_peers.c), without a process: a vote of the machine's
 * height or the next is left to the machine's own verify (no second Ed25519
 * check of the same vote, session 8), any other height is verified here.
 */
#include "../test.h"
#include "../../src/node/node_internal.h"
#include "node_util.h"

#include <stdlib.h>
#include <string.h>

/* A prevote frame of validator `who` at height h, signed with sk. */
static void peers_vote(uint64_t h, uint32_t who, const uint8_t sk[64], const jk_hash *g,
                       uint8_t out[JK_CONS_VOTE_SIZE])
{
    jk_cons_vote v = {.type = JK_CONS_MSG_PREVOTE, .height = h, .round = 0, .has_value = false,
                      .validator = who};
    jk_cons_vote_sign(&v, g, sk);
    jk_cons_vote_encode(&v, out);
}

JK_TEST(test_node_note_height_leaves_the_machines_votes_to_it)
{
    jk_cons_valset *vs = calloc(1, sizeof *vs);
    jk_node *n = calloc(1, sizeof *n);
    JK_REQUIRE(vs && n);
    uint8_t sk[4][64];
    vs->count = 4;
    for (uint32_t i = 0; i < 4; i++)
        tn_key(i, sk[i], vs->keys[i]);
    tn_genesis(0, &n->cfg.genesis);
    n->cfg.valset = vs;
    uint8_t good[JK_CONS_VOTE_SIZE], bad[JK_CONS_VOTE_SIZE];
    peers_vote(5, 1, sk[1], &n->cfg.genesis, good);
    peers_vote(9, 1, sk[2], &n->cfg.genesis, bad); /* validator 1's, signed by 2 */
    jk_net_event ev = {.type = JK_NET_EV_FRAME, .peer = 2, .kind = JK_NET_CONSENSUS,
                       .data = good, .len = sizeof good};
    uint64_t after = 99;

    /* the machine's own height and the next: not verified here, noted
     * after the machine took it */
    JK_CHECK(jk_node_note_height(n, &ev, 5, &after));
    JK_CHECK_EQ(after, 4);
    JK_CHECK(jk_node_note_height(n, &ev, 4, &after));
    JK_CHECK_EQ(after, 4);
    JK_CHECK_EQ(n->vote_checks, 0);
    JK_CHECK_EQ(jk_node_max_peer_height(n, NULL), 0);
    ev.data = bad;
    JK_CHECK(jk_node_note_height(n, &ev, 9, &after)); /* the machine refuses it */
    JK_CHECK_EQ(after, 8);
    JK_CHECK_EQ(n->vote_checks, 0);
    JK_CHECK_EQ(n->bad_peers, 0);

    /* far ahead of the machine: verified here, the height noted at once */
    ev.data = good;
    JK_CHECK(jk_node_note_height(n, &ev, 2, &after));
    JK_CHECK_EQ(after, 0);
    JK_CHECK_EQ(n->vote_checks, 1);
    JK_CHECK_EQ(jk_node_max_peer_height(n, NULL), 4);
    /* not a raise any more: nothing verified */
    JK_CHECK(jk_node_note_height(n, &ev, 2, &after));
    JK_CHECK_EQ(n->vote_checks, 1);
    /* a bad signature far ahead, or on a node without a machine: dropped */
    ev.data = bad;
    JK_CHECK(!jk_node_note_height(n, &ev, 2, &after));
    JK_CHECK(!jk_node_note_height(n, &ev, 0, &after));
    JK_CHECK_EQ(n->vote_checks, 3);
    JK_CHECK_EQ(n->bad_peers, 2);
    JK_CHECK_EQ(jk_node_max_peer_height(n, NULL), 4);

    free(n->peer_height);
    free(n);
    free(vs);
}

/* A loop turn's order (node.c, "Consensus first"): every entry that is not
 * an EVENTS frame — votes and proposals, decisions, peers up and down — in
 * arrival order, then the EVENTS frames in theirs; each entry once. */
JK_TEST(test_node_turn_order_consensus_first)
{
    jk_net_event turn[9];
    memset(turn, 0, sizeof turn);
    static const int kinds[9] = {'E', 'E', 'C', 'E', 'U', 'S', 'E', 'C', 'D'};
    for (size_t i = 0; i < 9; i++) {
        turn[i].type = kinds[i] == 'U' ? JK_NET_EV_PEER_UP
                       : kinds[i] == 'D' ? JK_NET_EV_PEER_DOWN
                                         : JK_NET_EV_FRAME;
        turn[i].kind = kinds[i] == 'E' ? JK_NET_EVENTS
                       : kinds[i] == 'S' ? JK_NET_SYNC
                                         : JK_NET_CONSENSUS;
        turn[i].peer = (uint32_t)i;
    }
    size_t order[9];
    size_t k = jk_node_turn_order(turn, 9, order);
    static const size_t want[9] = {2, 4, 5, 7, 8, 0, 1, 3, 6};
    JK_CHECK_EQ(k, 5);
    for (size_t i = 0; i < 9; i++)
        JK_CHECK_EQ(order[i], want[i]);
    /* only events, or none: arrival order */
    for (size_t i = 0; i < 9; i++)
        turn[i] = (jk_net_event){.type = JK_NET_EV_FRAME, .kind = JK_NET_EVENTS};
    JK_CHECK_EQ(jk_node_turn_order(turn, 9, order), 0);
    for (size_t i = 0; i < 9; i++)
        JK_CHECK_EQ(order[i], i);
    JK_CHECK_EQ(jk_node_turn_order(turn, 0, order), 0);
}
