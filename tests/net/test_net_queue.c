/*
 * test_net_queue.c — session 9: the transport's event queue hands out every
 * other event before its EVENTS frames (a vote read behind a burst of
 * gossiped events is taken first), each class in the order it happened,
 * and jk_net_queued counts what is left.
 */
#include "../test.h"
#include "net_util.h"

#include "../../src/net/internal.h"

#include <string.h>

static void frame(jk_net *net, uint32_t peer, jk_net_kind kind, uint8_t tag)
{
    jk_net_emit(net, JK_NET_EV_FRAME, peer, JK_NET_REASON_NONE, kind, &tag, 1);
}

JK_TEST(test_net_queue_events_frames_last)
{
    tnode b;
    JK_REQUIRE(tnode_start(&b, 2, 0x11, 0, NULL));
    uint8_t sk[64], pk[32];
    tnode_key(7, sk, pk);
    jk_net_peer_config pc = {.host = NULL};
    memcpy(pc.key, pk, 32);
    uint32_t p;
    JK_REQUIRE(jk_net_add_peer(b.net, &pc, &p) == JK_OK);
    /* enough EVENTS frames to make the ring grow (and, taken in part,
     * move), with the others among them */
    jk_net_event ev;
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 100; i++) {
            frame(b.net, p, JK_NET_EVENTS, (uint8_t)i);
            if (i == 10)
                frame(b.net, p, JK_NET_CONSENSUS, 0xC1);
            if (i == 50)
                jk_net_emit(b.net, JK_NET_EV_PEER_DOWN, p, JK_NET_REASON_IO, 0, NULL, 0);
            if (i == 70)
                frame(b.net, p, JK_NET_SYNC, 0x51);
            if (i == 99)
                frame(b.net, p, JK_NET_CONSENSUS, 0xC2);
        }
        JK_CHECK_EQ(jk_net_queued(b.net), 104u);
        JK_REQUIRE(jk_net_next_event(b.net, &ev));
        JK_CHECK(ev.type == JK_NET_EV_FRAME && ev.kind == JK_NET_CONSENSUS && ev.data[0] == 0xC1);
        JK_REQUIRE(jk_net_next_event(b.net, &ev));
        JK_CHECK(ev.type == JK_NET_EV_PEER_DOWN && ev.reason == JK_NET_REASON_IO);
        JK_REQUIRE(jk_net_next_event(b.net, &ev));
        JK_CHECK(ev.type == JK_NET_EV_FRAME && ev.kind == JK_NET_SYNC && ev.data[0] == 0x51);
        /* a vote that comes while the events are taken goes before the rest */
        JK_REQUIRE(jk_net_next_event(b.net, &ev));
        JK_CHECK(ev.kind == JK_NET_CONSENSUS && ev.data[0] == 0xC2);
        for (int i = 0; i < 40; i++) {
            JK_REQUIRE(jk_net_next_event(b.net, &ev));
            JK_CHECK(ev.kind == JK_NET_EVENTS && ev.len == 1 && ev.data[0] == (uint8_t)i);
        }
        frame(b.net, p, JK_NET_CONSENSUS, 0xC3);
        JK_REQUIRE(jk_net_next_event(b.net, &ev));
        JK_CHECK(ev.kind == JK_NET_CONSENSUS && ev.data[0] == 0xC3);
        for (int i = 40; i < 100; i++) {
            JK_REQUIRE(jk_net_next_event(b.net, &ev));
            JK_CHECK(ev.kind == JK_NET_EVENTS && ev.data[0] == (uint8_t)i);
        }
        JK_CHECK_EQ(jk_net_queued(b.net), 0u);
        JK_CHECK(!jk_net_next_event(b.net, &ev));
    }
    /* left queued at destroy: freed (ASan) */
    frame(b.net, p, JK_NET_EVENTS, 1);
    frame(b.net, p, JK_NET_CONSENSUS, 2);
    tnode_stop(&b);
}
