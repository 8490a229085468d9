/*
 * test_net_quic.c — what only the QUIC transport has: streams bound to a
 * kind, and a UDP listener that anyone can send datagrams to.
 */
#include "../test.h"
#include "net_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#define ROUNDS 3000


JK_TEST(test_net_quic_frame_on_another_kinds_stream)
{
    tnode_transport = JK_NET_QUIC;
    tnode b;
    uint8_t sk[64], pk[32];
    tnode_key(7, sk, pk);
    JK_REQUIRE(tnode_start(&b, 2, 0x11, 0, NULL));
    jk_net_peer_config pc = {.host = NULL};
    memcpy(pc.key, pk, 32);
    uint32_t idx;
    JK_REQUIRE(jk_net_add_peer(b.net, &pc, &idx) == JK_OK);
    jk_rogue *r = jk_rogue_connect(JK_NET_QUIC, b.port, b.pk, sk, b.genesis);
    JK_REQUIRE(r);
    tnode *ns[] = {&b};
    uint64_t now = 1000;
    tnode_want up = {&b, 1, 0};
    JK_REQUIRE(tnode_pump(ns, 1, r, &now, 0, ROUNDS, tnode_has, &up));
    /* A good consensus frame on the consensus stream, then an events frame
     * on the same stream: its header is well formed, its stream is wrong. */
    jk_rogue_send_frame(r, JK_NET_CONSENSUS, 2, 2, 0x33);
    const uint8_t wrong[] = {JK_NET_EVENTS, 1, 0, 0, 0, 'x'};
    jk_rogue_send_raw(r, wrong, sizeof wrong);
    tnode_want down = {&b, 1, 1};
    JK_CHECK(tnode_pump(ns, 1, r, &now, 0, ROUNDS, tnode_has, &down));
    JK_CHECK_EQ(b.frames[JK_NET_CONSENSUS], 1);
    JK_CHECK_EQ(b.frames[JK_NET_EVENTS], 0);
    JK_CHECK_EQ(b.last_down, JK_NET_REASON_GARBAGE);
    jk_rogue_close(r);
    tnode_stop(&b);
    tnode_transport = JK_NET_TLS_TCP;
}

/* A deterministic byte stream (xorshift), so the datagrams are the same in
 * every run. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint8_t rng_byte(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint8_t)rng_state;
}

typedef struct {
    tnode *t;
} settled_ctx;

static bool settled(void *p)
{
    settled_ctx *c = p;
    jk_net_stats st;
    jk_net_stats_get(c->t->net, &st);
    uint64_t refused = 0;
    for (int i = 0; i < JK_NET_REASONS; i++)
        refused += st.refused[i];
    return refused == st.accepted;
}

JK_TEST(test_net_quic_garbage_datagrams)
{
    tnode_transport = JK_NET_QUIC;
    tnode a, b;
    JK_REQUIRE(tnode_start(&b, 2, 0x11, 0, NULL));
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    JK_REQUIRE(fd >= 0);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(b.port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    tnode *ns[] = {&b};
    uint64_t now = 1000;
    uint8_t d[1300];
    for (int i = 0; i < 300; i++) {
        size_t n = i % 3 == 0 ? 1250 : 1 + (size_t)(rng_byte() % sizeof d);
        for (size_t k = 0; k < n; k++)
            d[k] = rng_byte();
        if (i % 3 == 0) {
            /* A long-header Initial for QUIC v1 with random contents: the
             * listener takes it as a new connection, which then fails. */
            d[0] = 0xC3;
            d[1] = d[2] = d[3] = 0;
            d[4] = 1;
            d[5] = 8;
            d[14] = 8;
            d[23] = 0; /* no token */
            d[24] = (uint8_t)(0x40 | (n - 26) >> 8); /* length: the rest */
            d[25] = (uint8_t)(n - 26);
        }
        (void)sendto(fd, d, n, 0, (struct sockaddr *)&to, sizeof to);
        if (i % 20 == 0)
            tnode_pump_rounds(ns, 1, NULL, &now, 0, 1);
    }
    close(fd);
    /* Every connection the garbage started ends (the clock passes the
     * handshake limit for any that wait), and none came up. */
    tnode_pump_rounds(ns, 1, NULL, &now, 0, 20);
    now += 10001;
    settled_ctx sc = {&b};
    JK_CHECK(tnode_pump(ns, 1, NULL, &now, 0, ROUNDS, settled, &sc));
    JK_CHECK_EQ(b.ups, 0);
    jk_net_stats st;
    jk_net_stats_get(b.net, &st);
    JK_CHECK(st.accepted > 0); /* the Initial-shaped ones reached the accept path */
    /* And an honest peer still gets through. */
    JK_REQUIRE(tnode_start(&a, 1, 0x11, 0, NULL));
    tnode_add(&a, &b);
    tnode_add(&b, &a);
    tnode *both[] = {&a, &b};
    tnode_want up = {&b, 1, 0};
    JK_CHECK(tnode_pump(both, 2, NULL, &now, 5, ROUNDS, tnode_has, &up));
    tnode_stop(&a);
    tnode_stop(&b);
    tnode_transport = JK_NET_TLS_TCP;
}

JK_TEST(test_net_quic_quiet_connection_kept_alive)
{
    /* A minute of silence, in 5 s steps of the input clock: keep-alive
     * PINGs keep the connection inside QUIC's 30 s idle timeout. */
    tnode_transport = JK_NET_QUIC;
    tnode a, b;
    uint32_t ab, ba;
    uint64_t now = 1000;
    JK_REQUIRE(tnode_pair(&a, &b, 1, 2, NULL, NULL, &ab, &ba, &now));
    tnode *ns[] = {&a, &b};
    for (int i = 0; i < 12; i++) {
        now += 5000;
        tnode_pump_rounds(ns, 2, NULL, &now, 0, 10);
    }
    JK_CHECK_EQ(a.downs, 0);
    JK_CHECK_EQ(b.downs, 0);
    JK_CHECK_EQ(jk_net_send(a.net, ab, JK_NET_EVENTS, (const uint8_t *)"still", 5), JK_OK);
    int left = ROUNDS;
    while (b.frames[JK_NET_EVENTS] < 1 && left-- > 0)
        tnode_pump_rounds(ns, 2, NULL, &now, 0, 1);
    JK_CHECK_EQ(b.frames[JK_NET_EVENTS], 1);
    tnode_stop(&a);
    tnode_stop(&b);
    tnode_transport = JK_NET_TLS_TCP;
}
