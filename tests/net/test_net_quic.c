/*
 * test_net_quic.c — what only the QUIC transport has: streams bound to a
 * kind, and a UDP listener that anyone can send datagrams to.
 */
#include "../test.h"
#include "net_util.h"

#include "../../src/net/quic_internal.h"

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

/* A UDP relay between a client and b that loses and repeats datagrams on a
 * fixed pattern (no randomness: the same datagrams in every run). */
typedef struct {
    int fd;
    struct sockaddr_in server, client;
    bool have_client;
    uint64_t seen, dropped, doubled;
} lossy;

static bool lossy_open(lossy *l, uint16_t server_port, uint16_t *port)
{
    memset(l, 0, sizeof *l);
    l->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    if (l->fd < 0 || bind(l->fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        getsockname(l->fd, (struct sockaddr *)&sa, &sl) != 0)
        return false;
    *port = ntohs(sa.sin_port);
    l->server = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons(server_port),
                                     .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    return true;
}

static void lossy_pump(lossy *l)
{
    uint8_t buf[2048];
    for (;;) {
        struct sockaddr_in from;
        socklen_t fl = sizeof from;
        ssize_t n = recvfrom(l->fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
        if (n < 0)
            return;
        bool from_server = from.sin_port == l->server.sin_port;
        if (!from_server && !l->have_client) {
            l->client = from;
            l->have_client = true;
        }
        const struct sockaddr_in *to = from_server ? &l->client : &l->server;
        if (from_server && !l->have_client)
            continue;
        l->seen++;
        if (l->seen % 5 == 3) { /* one in five lost, both ways */
            l->dropped++;
            continue;
        }
        (void)sendto(l->fd, buf, (size_t)n, 0, (const struct sockaddr *)to, sizeof *to);
        if (l->seen % 7 == 0) { /* one in seven arrives twice */
            (void)sendto(l->fd, buf, (size_t)n, 0, (const struct sockaddr *)to, sizeof *to);
            l->doubled++;
        }
    }
}

JK_TEST(test_net_quic_lossy_path_delivers_everything_once_in_order)
{
    tnode_transport = JK_NET_QUIC;
    tnode a, b;
    lossy l;
    uint16_t relay;
    JK_REQUIRE(tnode_start(&b, 2, 0x11, 0, NULL));
    JK_REQUIRE(lossy_open(&l, b.port, &relay));
    JK_REQUIRE(tnode_start(&a, 1, 0x11, 0, NULL));
    tnode via = b;
    via.port = relay; /* a reaches b only through the relay */
    uint32_t ab = tnode_add(&a, &via);
    jk_net_peer_config known_a = {.host = NULL}; /* b knows a's key, not its address */
    memcpy(known_a.key, a.pk, 32);
    JK_REQUIRE(jk_net_add_peer(b.net, &known_a, NULL) == JK_OK);
    tnode *ns[] = {&a, &b};
    uint64_t now = 1000;
    int left = ROUNDS;
    while ((a.ups < 1 || b.ups < 1) && left-- > 0) {
        tnode_pump_rounds(ns, 2, NULL, &now, 5, 1);
        lossy_pump(&l);
    }
    JK_REQUIRE(a.ups == 1 && b.ups == 1);
    /* 3 kinds × 100 frames, sizes up to 20 KB (many packets each), each
     * carrying its kind and sequence number. */
    static uint8_t m[20000];
    for (uint32_t i = 0; i < 100; i++)
        for (int k = 0; k < JK_NET_KINDS; k++) {
            size_t len = 8 + (i * 997 + (uint32_t)k * 131) % (sizeof m - 8);
            memset(m, (int)(i ^ (uint32_t)k), len);
            memcpy(m, &i, 4);
            m[4] = (uint8_t)k;
            JK_CHECK_EQ(jk_net_send(a.net, ab, (jk_net_kind)k, m, len), JK_OK);
        }
    /* b checks order on the fly through its last payload per kind: frames
     * of a kind arrive with sequence numbers 0, 1, 2, ... */
    uint64_t expect[JK_NET_KINDS] = {0};
    bool in_order = true;
    left = 20000;
    while ((b.frames[0] < 100 || b.frames[1] < 100 || b.frames[2] < 100) && left-- > 0) {
        now += 5;
        JK_REQUIRE(jk_net_step(a.net, now, 1) == JK_OK);
        jk_net_event ev;
        while (jk_net_next_event(a.net, &ev)) {
        }
        lossy_pump(&l);
        JK_REQUIRE(jk_net_step(b.net, now, 1) == JK_OK);
        while (jk_net_next_event(b.net, &ev)) {
            if (ev.type != JK_NET_EV_FRAME)
                continue;
            uint32_t seq;
            memcpy(&seq, ev.data, 4);
            if (seq != expect[ev.kind] || ev.data[4] != ev.kind)
                in_order = false;
            expect[ev.kind]++;
            b.frames[ev.kind]++;
        }
        lossy_pump(&l);
    }
    for (int k = 0; k < JK_NET_KINDS; k++)
        JK_CHECK_EQ(b.frames[k], 100);
    JK_CHECK(in_order);
    JK_CHECK(l.dropped > 50 && l.doubled > 50); /* the path really was lossy */
    jk_net_peer_stats st;
    JK_CHECK_EQ(jk_net_peer_stats_get(a.net, ab, &st), JK_OK);
    JK_CHECK_EQ(st.down[JK_NET_REASON_IO], 0);
    JK_CHECK(st.connected);
    /* the losses were seen as losses: the window was cut (session 13's
     * counters, docs/network.md "Loss recovery and the window") */
    JK_CHECK(st.recoveries > 0);
    JK_CHECK(st.cwnd > 0 && st.srtt_us > 0);
    tnode_stop(&a);
    tnode_stop(&b);
    close(l.fd);
    tnode_transport = JK_NET_TLS_TCP;
}

JK_TEST(test_net_quic_restarted_server_resets_stale_connection)
{
    /* A full node f dials validator v, which does not list it. v is killed
     * without a word and restarts on the same port. f's connection looks
     * alive, and v will never dial f; but f's next packet reaches the new v,
     * which answers with a stateless reset (its tokens derive from its key,
     * so the new process can make them), and f reconnects at once, long
     * before QUIC's 30 s idle timeout. */
    tnode_transport = JK_NET_QUIC;
    tnode f, v;
    JK_REQUIRE(tnode_start(&v, 2, 0x11, 0, NULL));
    JK_REQUIRE(tnode_start(&f, 9, 0x11, 0, NULL));
    uint32_t fv = tnode_add(&f, &v);
    tnode *ns[] = {&f, &v};
    uint64_t now = 1000;
    tnode_want wf = {&f, 1, 0}, wv = {&v, 1, 0};
    JK_REQUIRE(tnode_pump(ns, 2, NULL, &now, 5, ROUNDS, tnode_has, &wf));
    JK_REQUIRE(tnode_pump(ns, 2, NULL, &now, 5, ROUNDS, tnode_has, &wv));
    uint16_t port = v.port;
    jk_net_abandon(v.net);
    v.net = NULL;
    JK_REQUIRE(tnode_start(&v, 2, 0x11, port, NULL));
    uint64_t restarted = now;
    JK_CHECK_EQ(jk_net_send(f.net, fv, JK_NET_EVENTS, (const uint8_t *)"hello?", 6), JK_OK);
    tnode_want down = {&f, 1, 1};
    JK_REQUIRE(tnode_pump(ns, 2, NULL, &now, 5, ROUNDS, tnode_has, &down));
    JK_CHECK(now - restarted < 2000);
    JK_CHECK_EQ(f.last_down, JK_NET_REASON_CLOSED);
    tnode_want back = {&f, 2, 1};
    JK_REQUIRE(tnode_pump(ns, 2, NULL, &now, 5, ROUNDS, tnode_has, &back));
    JK_CHECK(now - restarted < 3000);
    tnode_stop(&f);
    tnode_stop(&v);
    tnode_transport = JK_NET_TLS_TCP;
}

/* The burst tests' set-up: a and b connected over QUIC, a frame gone each
 * way (so the connection is past its handshake's own ACKs), then `frames`
 * 1,000-byte frames of fill (a dozen, unless a test says) queued at a for
 * b, not yet sent. */
static bool burst_pair_of(tnode *a, tnode *b, uint64_t *now, uint8_t fill, uint8_t payload[1000],
                          int frames)
{
    tnode_transport = JK_NET_QUIC;
    uint32_t ab, ba;
    if (!tnode_pair(a, b, 1, 2, NULL, NULL, &ab, &ba, now))
        return false;
    tnode *ns[] = {a, b};
    memset(payload, fill, 1000);
    if (jk_net_send(a->net, ab, JK_NET_EVENTS, payload, 10) != JK_OK ||
        jk_net_send(b->net, ba, JK_NET_EVENTS, payload, 10) != JK_OK)
        return false;
    tnode_pump_rounds(ns, 2, NULL, now, 0, 20);
    if (a->frames[JK_NET_EVENTS] != 1 || b->frames[JK_NET_EVENTS] != 1)
        return false;
    for (int i = 0; i < frames; i++)
        if (jk_net_send(a->net, ab, JK_NET_EVENTS, payload, 1000) != JK_OK)
            return false;
    return true;
}

static bool burst_pair(tnode *a, tnode *b, uint64_t *now, uint8_t fill, uint8_t payload[1000])
{
    return burst_pair_of(a, b, now, fill, payload, 12);
}

/* Every frame of the burst (`frames` of them) arrived, the last one whole;
 * then both stop. */
static void burst_end_of(tnode *a, tnode *b, uint64_t *now, const uint8_t payload[1000], int frames)
{
    tnode *ns[] = {a, b};
    tnode_pump_rounds(ns, 2, NULL, now, 0, 20);
    JK_CHECK_EQ(b->frames[JK_NET_EVENTS], 1 + frames);
    JK_CHECK_EQ(memcmp(b->last[JK_NET_EVENTS], payload, TNODE_KEEP), 0);
    tnode_stop(a);
    tnode_stop(b);
    tnode_transport = JK_NET_TLS_TCP;
}

static void burst_end(tnode *a, tnode *b, uint64_t *now, const uint8_t payload[1000])
{
    burst_end_of(a, b, now, payload, 12);
}

/* A burst of datagrams read in one step is acknowledged in one write pass:
 * ngtcp2 acknowledges at once from two ack-eliciting packets on, so a pass
 * after every packet read sent an ACK-only datagram for every second one
 * (BENCH testnet: about a fifth of the nodes' datagrams). a sends the
 * burst, and b's one step reads it whole (loopback delivers before send
 * returns) and answers with at most two datagrams. */
JK_TEST(test_net_quic_burst_acknowledged_once)
{
    tnode a, b;
    uint64_t now = 1000;
    uint8_t payload[1000];
    JK_REQUIRE(burst_pair(&a, &b, &now, 0x5a, payload));
    jk_net_stats b0, b1;
    JK_REQUIRE(jk_net_step(a.net, now, 0) == JK_OK); /* its queue goes out */
    jk_net_stats_get(b.net, &b0);
    JK_REQUIRE(jk_net_step(b.net, now, 0) == JK_OK);
    jk_net_stats_get(b.net, &b1);
    JK_CHECK(b1.datagrams_in - b0.datagrams_in >= 8);
    JK_CHECK(b1.datagrams_out - b0.datagrams_out <= 2);
    JK_CHECK(b1.datagrams_out - b0.datagrams_out >= 1); /* it did acknowledge */
    burst_end(&a, &b, &now, payload);
}

/* A write pass's packets of one size leave in one sendmsg (UDP_SEGMENT):
 * a burst of a dozen frames is at least eight datagrams, and it takes at
 * most two system calls (the full-size packets and a shorter last one go
 * together; a packet after a shorter one starts a second call); the
 * receiver reads them in as few (UDP_GRO) and splits them again. Where the
 * kernel refuses GSO the net falls back to a call a datagram (no_gso), and
 * this test says so instead of failing. */
JK_TEST(test_net_quic_burst_sent_in_one_call)
{
    tnode a, b;
    uint64_t now = 1000;
    uint8_t payload[1000];
    JK_REQUIRE(burst_pair(&a, &b, &now, 0xa5, payload));
    jk_net_stats a0, a1;
    jk_net_stats_get(a.net, &a0);
    JK_REQUIRE(jk_net_step(a.net, now, 0) == JK_OK);
    jk_net_stats_get(a.net, &a1);
    JK_CHECK(a1.datagrams_out - a0.datagrams_out >= 8);
    if (a.net->no_gso)
        fprintf(stderr, "note: this kernel refuses UDP_SEGMENT; one call a datagram\n");
    else
        JK_CHECK(a1.send_calls - a0.send_calls <= 2);
    /* b's kernel hands the burst over coalesced (UDP GRO): every datagram
     * arrives, in a few receive calls. */
    jk_net_stats b0, b1;
    jk_net_stats_get(b.net, &b0);
    JK_REQUIRE(jk_net_step(b.net, now, 0) == JK_OK);
    jk_net_stats_get(b.net, &b1);
    JK_CHECK_EQ(b1.datagrams_in - b0.datagrams_in, a1.datagrams_out - a0.datagrams_out);
    if (!a.net->no_gso)
        JK_CHECK(b1.recv_calls - b0.recv_calls <= 2);
    burst_end(&a, &b, &now, payload);
}

/* A burst read in one receive call (session 16): recvmmsg takes every
 * message waiting, up to its vector (JK_QUIC_RX_MSGS), and fewer than that
 * says the socket was empty, so the read stops there. Reading one message
 * a call took a second call after every burst only to find EAGAIN (two
 * calls for a GRO-coalesced burst, one more than the datagrams without
 * GRO): ~40 % of the nodes' receive calls in BENCH testnet. Four frames
 * are a few datagrams (three), at most JK_QUIC_RX_MSGS, coalesced or not:
 * one call. */
JK_TEST(test_net_quic_burst_read_in_one_call)
{
    tnode a, b;
    uint64_t now = 1000;
    uint8_t payload[1000];
    JK_REQUIRE(burst_pair_of(&a, &b, &now, 0x3c, payload, 4));
    jk_net_stats a0, a1, b0, b1;
    jk_net_stats_get(a.net, &a0);
    JK_REQUIRE(jk_net_step(a.net, now, 0) == JK_OK); /* the burst goes out */
    jk_net_stats_get(a.net, &a1);
    uint64_t sent = a1.datagrams_out - a0.datagrams_out;
    JK_REQUIRE(sent >= 2 && sent <= JK_QUIC_RX_MSGS);
    jk_net_stats_get(b.net, &b0);
    JK_REQUIRE(jk_net_step(b.net, now, 0) == JK_OK);
    jk_net_stats_get(b.net, &b1);
    JK_CHECK_EQ(b1.datagrams_in - b0.datagrams_in, sent);
    JK_CHECK_EQ(b1.recv_calls - b0.recv_calls, 1);
    burst_end_of(&a, &b, &now, payload, 4);
}

/* An empty datagram is one datagram in jk_net_stats: the count of a
 * receive's datagrams, (bytes + segment - 1) / segment, wrapped to
 * 2^64 - 1 for zero bytes (session 16). Sent on a plain UDP socket to a
 * QUIC node's listener, which drops it. */
JK_TEST(test_net_quic_empty_datagram_counted_once)
{
    tnode_transport = JK_NET_QUIC;
    tnode b;
    JK_REQUIRE(tnode_start(&b, 2, 0x11, 0, NULL));
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    JK_REQUIRE(fd >= 0);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(b.port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    jk_net_stats b0, b1;
    jk_net_stats_get(b.net, &b0);
    JK_CHECK_EQ(sendto(fd, "", 0, 0, (struct sockaddr *)&to, sizeof to), 0);
    JK_CHECK_EQ(jk_net_step(b.net, 1000, 0), JK_OK);
    jk_net_stats_get(b.net, &b1);
    JK_CHECK_EQ(b1.datagrams_in - b0.datagrams_in, 1);
    JK_CHECK_EQ(b1.accepted, b0.accepted);
    close(fd);
    tnode_stop(&b);
    tnode_transport = JK_NET_TLS_TCP;
}

/* A frame larger than the congestion window: the write pass stops with
 * stream data left, and the sender counts the stop (jk_net_peer_stats
 * cwnd_stops; no loss, so no recovery); the receiver's acknowledgements
 * open the window and the frame arrives whole. On a fresh connection
 * ngtcp2's window is its initial 10 packets or so, far below 100 KB. */
JK_TEST(test_net_quic_window_stop_counted)
{
    tnode a, b;
    uint64_t now = 1000;
    uint8_t payload[1000];
    JK_REQUIRE(burst_pair(&a, &b, &now, 0x3c, payload));
    uint32_t ab;
    JK_REQUIRE(jk_net_peer_find(a.net, b.pk, &ab));
    static uint8_t big[100000];
    memset(big, 0x3c, sizeof big);
    JK_REQUIRE(jk_net_send(a.net, ab, JK_NET_CONSENSUS, big, sizeof big) == JK_OK);
    jk_net_peer_stats st;
    JK_REQUIRE(jk_net_peer_stats_get(a.net, ab, &st) == JK_OK);
    uint64_t stops = st.cwnd_stops;
    JK_CHECK(st.cwnd > 0 && st.cwnd < sizeof big);
    JK_REQUIRE(jk_net_step(a.net, now, 0) == JK_OK);
    JK_REQUIRE(jk_net_peer_stats_get(a.net, ab, &st) == JK_OK);
    JK_CHECK(st.cwnd_stops > stops);
    JK_CHECK(jk_net_unsent(a.net, ab) > 0);
    tnode *ns[] = {&a, &b};
    tnode_pump_rounds(ns, 2, NULL, &now, 0, 200);
    JK_CHECK_EQ(b.frames[JK_NET_CONSENSUS], 1);
    JK_CHECK_EQ(jk_net_unsent(a.net, ab), 0);
    JK_REQUIRE(jk_net_peer_stats_get(a.net, ab, &st) == JK_OK);
    JK_CHECK_EQ(st.recoveries, 0);
    burst_end(&a, &b, &now, payload);
}

/* The congestion control is the configuration's: every name parses to its
 * own value and nothing else parses; a value out of range is refused at
 * creation, and a valid one accepted. */
JK_TEST(test_net_quic_congestion_control_chosen)
{
    static const char *const names[] = {"cubic", "reno", "bbr", "bbr2"};
    for (unsigned i = 0; i < 4; i++) {
        jk_net_quic_cc cc = (jk_net_quic_cc)99;
        JK_CHECK_EQ(jk_net_quic_cc_parse(names[i], &cc), JK_OK);
        JK_CHECK_EQ((unsigned)cc, i == 0 ? JK_NET_CC_CUBIC : i == 1 ? JK_NET_CC_RENO
                                      : i == 2 ? JK_NET_CC_BBR : JK_NET_CC_BBR2);
    }
    jk_net_quic_cc cc;
    JK_CHECK_EQ(jk_net_quic_cc_parse("BBR", &cc), JK_ERR_PARSE);
    JK_CHECK_EQ(jk_net_quic_cc_parse("", &cc), JK_ERR_PARSE);
    JK_CHECK_EQ(jk_net_quic_cc_parse(NULL, &cc), JK_ERR_PARSE);
    uint8_t sk[JK_NET_SECRET_SIZE], pk[JK_NET_KEY_SIZE], g[32] = {0};
    tnode_key(7, sk, pk);
    jk_net_config cfg = {.listen_host = "127.0.0.1", .secret_key = sk, .genesis_hash = g,
                         .quic_cc = (jk_net_quic_cc)4};
    jk_net_limits_default(&cfg.limits);
    jk_net *net = NULL;
    jk_diag diag = {{0}};
    JK_CHECK_EQ(jk_net_create(&cfg, &net, &diag), JK_ERR_INVALID_ARG);
    JK_CHECK(net == NULL);
    cfg.quic_cc = JK_NET_CC_BBR;
    JK_CHECK_EQ(jk_net_create(&cfg, &net, &diag), JK_OK);
    jk_net_destroy(net);
}
