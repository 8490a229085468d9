/*
 * test_net_loopback.c — nodes on 127.0.0.1 connect, authenticate and exchange
 * frames of every kind; nodes of another chain and peers with unexpected keys
 * fail at the handshake; a restarted peer is reconnected after backoff.
 * Misbehaving peers are in test_net_rogue.c.
 */
#include "../test.h"
#include "net_util.h"

#include "../../src/net/internal.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#define ROUNDS 3000 /* × ≤ 2 ms of epoll wait: a bound only a failing test meets */

typedef struct {
    tnode **n;
    size_t count;
    uint64_t ups;        /* each node needs at least this many PEER_UP */
} ups_ctx;

static bool all_up(void *p)
{
    ups_ctx *c = p;
    for (size_t i = 0; i < c->count; i++)
        if (c->n[i]->ups < c->ups)
            return false;
    return true;
}

typedef struct {
    tnode *t;
    jk_net_kind kind;
    uint64_t frames;
} frames_ctx;

static bool got_frames(void *p)
{
    frames_ctx *c = p;
    return c->t->frames[c->kind] >= c->frames;
}

static bool node_has_frames(tnode *t, const uint64_t want[JK_NET_KINDS])
{
    for (int k = 0; k < JK_NET_KINDS; k++)
        if (t->frames[k] < want[k])
            return false;
    return true;
}

typedef struct {
    tnode **n;
    size_t count;
    uint64_t want[JK_NET_KINDS];
} all_frames_ctx;

static bool all_frames(void *p)
{
    all_frames_ctx *c = p;
    for (size_t i = 0; i < c->count; i++)
        if (!node_has_frames(c->n[i], c->want))
            return false;
    return true;
}

static void run_two_nodes_every_kind(void)
{
    tnode a, b;
    uint32_t ab, ba;
    uint64_t now = 1000;
    JK_REQUIRE(tnode_pair(&a, &b, 1, 2, NULL, NULL, &ab, &ba, &now));
    tnode *ns[] = {&a, &b};
    JK_CHECK_EQ(a.ups, 1);
    JK_CHECK_EQ(b.ups, 1);
    JK_CHECK(a.last_known && b.last_known);

    /* Every kind, both ways, payloads checked byte for byte. */
    uint8_t msg[3][100];
    for (int k = 0; k < JK_NET_KINDS; k++) {
        memset(msg[k], 0xA0 + k, sizeof msg[k]);
        msg[k][0] = (uint8_t)k;
        JK_CHECK_EQ(jk_net_send(a.net, ab, (jk_net_kind)k, msg[k], 50 + (size_t)k), JK_OK);
        JK_CHECK_EQ(jk_net_send(b.net, ba, (jk_net_kind)k, msg[k], 60 + (size_t)k), JK_OK);
    }
    all_frames_ctx fc = {ns, 2, {1, 1, 1}};
    JK_REQUIRE(tnode_pump(ns, 2, NULL, &now, 0, ROUNDS, all_frames, &fc));
    for (int k = 0; k < JK_NET_KINDS; k++) {
        JK_CHECK_EQ(b.last_len[k], 50 + (size_t)k);
        JK_CHECK_MEM(b.last[k], msg[k], 50 + (size_t)k);
        JK_CHECK_EQ(a.last_len[k], 60 + (size_t)k);
        JK_CHECK_MEM(a.last[k], msg[k], 60 + (size_t)k);
    }
    /* An empty frame and a frame at exactly its kind's bound pass. */
    jk_net_limits lim;
    tnode_limits(&lim);
    size_t big = lim.max_frame[JK_NET_CONSENSUS];
    uint8_t *buf = calloc(1, big + 1);
    JK_REQUIRE(buf);
    buf[big - 1] = 0x5A;
    JK_CHECK_EQ(jk_net_send(a.net, ab, JK_NET_EVENTS, NULL, 0), JK_OK);
    JK_CHECK_EQ(jk_net_send(a.net, ab, JK_NET_CONSENSUS, buf, big), JK_OK);
    JK_CHECK_EQ(jk_net_send(a.net, ab, JK_NET_CONSENSUS, buf, big + 1), JK_ERR_NET_TOO_LARGE);
    frames_ctx big_ctx = {&b, JK_NET_CONSENSUS, 2};
    JK_REQUIRE(tnode_pump(ns, 2, NULL, &now, 0, ROUNDS, got_frames, &big_ctx));
    JK_CHECK_EQ(b.last_len[JK_NET_CONSENSUS], big);
    frames_ctx empty_ctx = {&b, JK_NET_EVENTS, 2};
    JK_REQUIRE(tnode_pump(ns, 2, NULL, &now, 0, ROUNDS, got_frames, &empty_ctx));
    JK_CHECK_EQ(b.last_len[JK_NET_EVENTS], 0);
    free(buf);

    jk_net_peer_stats st;
    JK_CHECK_EQ(jk_net_peer_stats_get(b.net, ba, &st), JK_OK);
    JK_CHECK(st.connected && st.known);
    JK_CHECK_EQ(st.frames_in, 5);
    JK_CHECK_EQ(st.frames_out, 3);
    JK_CHECK_EQ(st.bytes_in, 5 * JK_NET_FRAME_HEADER + 50 + 51 + 52 + big);
    JK_CHECK_EQ(st.connects, 1);
    tnode_stop(&a);
    tnode_stop(&b);
}

static void run_three_nodes_broadcast(void)
{
    tnode t[3];
    tnode *ns[3] = {&t[0], &t[1], &t[2]};
    for (int i = 0; i < 3; i++)
        JK_REQUIRE(tnode_start(&t[i], (uint8_t)(10 + i), 0x11, 0, NULL));
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            if (i != j)
                tnode_add(&t[i], &t[j]);
    uint64_t now = 5000;
    ups_ctx uc = {ns, 3, 2};
    /* The clock moves so that the non-preferred dialler's grace passes too:
     * whichever side dials, every pair ends with one connection. */
    JK_REQUIRE(tnode_pump(ns, 3, NULL, &now, 5, ROUNDS, all_up, &uc));
    for (int i = 0; i < 3; i++) {
        for (int k = 0; k < JK_NET_KINDS; k++) {
            uint8_t m[8] = {(uint8_t)i, (uint8_t)k, 1, 2, 3, 4, 5, 6};
            size_t sent = 0;
            JK_CHECK_EQ(jk_net_broadcast(t[i].net, (jk_net_kind)k, m, sizeof m, &sent), JK_OK);
            JK_CHECK_EQ(sent, 2);
        }
    }
    all_frames_ctx fc = {ns, 3, {2, 2, 2}};
    JK_REQUIRE(tnode_pump(ns, 3, NULL, &now, 5, ROUNDS, all_frames, &fc));
    tnode_pump_rounds(ns, 3, NULL, &now, 5, 20);
    for (int i = 0; i < 3; i++) {
        for (int k = 0; k < JK_NET_KINDS; k++)
            JK_CHECK_EQ(t[i].frames[k], 2); /* no duplicate connection delivered twice */
        JK_CHECK_EQ(t[i].ups, 2);
        JK_CHECK_EQ(t[i].downs, 0);
    }
    for (int i = 0; i < 3; i++)
        tnode_stop(&t[i]);
}

/* A relayed event skips the peer it came from (the node's gossip): t0
 * broadcasts to all but t1, so t2 gets the frame and t1 never does, though
 * t1 gets the plain broadcast that follows on the same stream. */
static void run_broadcast_except_skips_one(void)
{
    tnode t[3];
    tnode *ns[3] = {&t[0], &t[1], &t[2]};
    for (int i = 0; i < 3; i++)
        JK_REQUIRE(tnode_start(&t[i], (uint8_t)(20 + i), 0x11, 0, NULL));
    uint32_t idx[3][3] = {{0}};
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            if (i != j)
                idx[i][j] = tnode_add(&t[i], &t[j]);
    uint64_t now = 5000;
    ups_ctx uc = {ns, 3, 2};
    JK_REQUIRE(tnode_pump(ns, 3, NULL, &now, 5, ROUNDS, all_up, &uc));
    const uint8_t m[6] = {'r', 'e', 'l', 'a', 'y', 1};
    size_t sent = 0;
    JK_CHECK_EQ(jk_net_broadcast_except(t[0].net, JK_NET_EVENTS, m, sizeof m, idx[0][1], &sent),
                JK_OK);
    JK_CHECK_EQ(sent, 1);
    frames_ctx fc = {&t[2], JK_NET_EVENTS, 1};
    JK_REQUIRE(tnode_pump(ns, 3, NULL, &now, 5, ROUNDS, got_frames, &fc));
    JK_CHECK_EQ(t[2].last_len[JK_NET_EVENTS], sizeof m);
    JK_CHECK(memcmp(t[2].last[JK_NET_EVENTS], m, sizeof m) == 0);
    /* A later broadcast to every peer reaches t1: the first one, had it been
     * sent to t1, would be there by then (one stream, in order). */
    const uint8_t m2[6] = {'r', 'e', 'l', 'a', 'y', 2};
    JK_CHECK_EQ(jk_net_broadcast_except(t[0].net, JK_NET_EVENTS, m2, sizeof m2, UINT32_MAX, &sent),
                JK_OK);
    JK_CHECK_EQ(sent, 2);
    frames_ctx fc1 = {&t[1], JK_NET_EVENTS, 1};
    JK_REQUIRE(tnode_pump(ns, 3, NULL, &now, 5, ROUNDS, got_frames, &fc1));
    tnode_pump_rounds(ns, 3, NULL, &now, 5, 20);
    JK_CHECK_EQ(t[1].frames[JK_NET_EVENTS], 1);
    JK_CHECK(memcmp(t[1].last[JK_NET_EVENTS], m2, sizeof m2) == 0);
    JK_CHECK_EQ(t[2].frames[JK_NET_EVENTS], 2);
    for (int i = 0; i < 3; i++)
        tnode_stop(&t[i]);
}

typedef struct {
    tnode *a, *b;
    jk_net_reason ra, rb;
} refused_ctx;

static bool both_refused(void *p)
{
    refused_ctx *c = p;
    jk_net_stats sa, sb;
    jk_net_stats_get(c->a->net, &sa);
    jk_net_stats_get(c->b->net, &sb);
    return sa.refused[c->ra] >= 1 && sb.refused[c->rb] >= 1;
}

/* a dials b: both refuse the connection in the handshake (a for reason ra,
 * b for rb), and neither ever sees the other up. */
static void expect_refused(tnode *a, tnode *b, jk_net_reason ra, jk_net_reason rb)
{
    tnode *ns[] = {a, b};
    uint64_t now = 1000;
    refused_ctx rc = {a, b, ra, rb};
    JK_CHECK(tnode_pump(ns, 2, NULL, &now, 0, ROUNDS, both_refused, &rc));
    tnode_pump_rounds(ns, 2, NULL, &now, 0, 20);
    JK_CHECK_EQ(a->ups, 0);
    JK_CHECK_EQ(b->ups, 0);
}

static void run_other_genesis_fails_handshake(void)
{
    tnode a, c;
    JK_REQUIRE(tnode_start(&a, 1, 0x11, 0, NULL));
    JK_REQUIRE(tnode_start(&c, 2, 0x22, 0, NULL)); /* another chain */
    tnode_add(&a, &c);
    tnode_add(&c, &a);
    expect_refused(&a, &c, JK_NET_REASON_HANDSHAKE, JK_NET_REASON_HANDSHAKE);
    tnode_stop(&a);
    tnode_stop(&c);
}

static void run_unexpected_key_refused(void)
{
    tnode a, b, x;
    JK_REQUIRE(tnode_start(&a, 1, 0x11, 0, NULL));
    JK_REQUIRE(tnode_start(&b, 2, 0x11, 0, NULL));
    tnode_key(3, x.sk, x.pk);
    x.port = b.port; /* a expects key x at b's address */
    tnode_add(&a, &x);
    expect_refused(&a, &b, JK_NET_REASON_BAD_KEY, JK_NET_REASON_HANDSHAKE);
    jk_net_peer_stats st;
    JK_CHECK_EQ(jk_net_peer_stats_get(a.net, 0, &st), JK_OK);
    JK_CHECK_EQ(st.connects, 0);
    tnode_stop(&a);
    tnode_stop(&b);
}


static void run_reconnect_after_restart(void)
{
    tnode a, b;
    uint32_t ab, ba;
    uint64_t now = 1000;
    JK_REQUIRE(tnode_pair(&a, &b, 1, 2, NULL, NULL, &ab, &ba, &now));
    tnode *ns[] = {&a, &b};

    uint16_t port = b.port;
    tnode_stop(&b);
    tnode_want dc = {&a, 1, 1};
    JK_REQUIRE(tnode_pump(ns, 1, NULL, &now, 0, ROUNDS, tnode_has, &dc));
    JK_CHECK_EQ(a.last_down, JK_NET_REASON_CLOSED);
    JK_CHECK_EQ(jk_net_send(a.net, ab, JK_NET_SYNC, (const uint8_t *)"x", 1),
                JK_ERR_NET_NOT_CONNECTED);
    /* While b is away, a's redials fail and back off. */
    tnode_pump_rounds(ns, 1, NULL, &now, 7, 50);

    JK_REQUIRE(tnode_start(&b, 2, 0x11, port, NULL));
    tnode_add(&b, &a);
    tnode_want rc = {&a, 2, 1};
    JK_REQUIRE(tnode_pump(ns, 2, NULL, &now, 7, ROUNDS, tnode_has, &rc));
    JK_CHECK_EQ(jk_net_send(a.net, ab, JK_NET_SYNC, (const uint8_t *)"again", 5), JK_OK);
    frames_ctx fc = {&b, JK_NET_SYNC, 1};
    JK_REQUIRE(tnode_pump(ns, 2, NULL, &now, 7, ROUNDS, got_frames, &fc));
    JK_CHECK_MEM(b.last[JK_NET_SYNC], "again", 5);
    jk_net_peer_stats st;
    JK_CHECK_EQ(jk_net_peer_stats_get(a.net, ab, &st), JK_OK);
    JK_CHECK_EQ(st.connects, 2);
    JK_CHECK_EQ(st.down[JK_NET_REASON_CLOSED], 1);
    tnode_stop(&a);
    tnode_stop(&b);
}






static void run_killed_peer_returns(void)
{
    /* The lower key dials; the other end is killed (no goodbye of any kind
     * over QUIC) long after the connection opened, and restarts on the same
     * port. It dials back after the grace, and its new connection replaces
     * the stale one at once: well before QUIC's 30 s idle timeout would have
     * cleared it. */
    uint8_t s1 = 1, s2 = 2, sk[64], p1[32], p2[32];
    tnode_key(s1, sk, p1);
    tnode_key(s2, sk, p2);
    uint8_t lo = memcmp(p1, p2, 32) < 0 ? s1 : s2, hi = lo == s1 ? s2 : s1;
    tnode a, b; /* a survives and dials; b is killed */
    JK_REQUIRE(tnode_start(&a, lo, 0x11, 0, NULL));
    JK_REQUIRE(tnode_start(&b, hi, 0x11, 0, NULL));
    uint32_t ab = tnode_add(&a, &b);
    tnode_add(&b, &a);
    tnode *ns[] = {&a, &b};
    uint64_t now = 1000;
    ups_ctx uc = {ns, 2, 1};
    JK_REQUIRE(tnode_pump(ns, 2, NULL, &now, 0, ROUNDS, all_up, &uc));
    for (int i = 0; i < 4; i++) { /* 12 s: past a handshake's time */
        now += 3000;
        tnode_pump_rounds(ns, 2, NULL, &now, 0, 5);
    }
    uint16_t port = b.port;
    jk_net_abandon(b.net);
    b.net = NULL;
    uint64_t killed = now;
    JK_REQUIRE(tnode_start(&b, hi, 0x11, port, NULL));
    tnode_add(&b, &a);
    /* a counts a second PEER_UP (after a PEER_DOWN: replaced or closed); the
     * restarted b its first. */
    tnode_want back_a = {&a, 2, 1}, back_b = {&b, 1, 0};
    JK_REQUIRE(tnode_pump(ns, 2, NULL, &now, 10, ROUNDS, tnode_has, &back_a));
    JK_REQUIRE(tnode_pump(ns, 2, NULL, &now, 10, ROUNDS, tnode_has, &back_b));
    JK_CHECK(now - killed < 20000);
    JK_CHECK_EQ(jk_net_send(a.net, ab, JK_NET_EVENTS, (const uint8_t *)"back", 4), JK_OK);
    frames_ctx fc = {&b, JK_NET_EVENTS, 1};
    JK_CHECK(tnode_pump(ns, 2, NULL, &now, 0, ROUNDS, got_frames, &fc));
    tnode_stop(&a);
    tnode_stop(&b);
}

static void run_local_disconnect_and_redial(void)
{
    /* The upper layer drops a peer: the other end hears a clean close
     * (CLOSED, not an I/O error), we count LOCAL, and the peer is redialled
     * after backoff. */
    tnode a, b;
    uint32_t ab, ba;
    uint64_t now = 1000;
    JK_REQUIRE(tnode_pair(&a, &b, 1, 2, NULL, NULL, &ab, &ba, &now));
    tnode *ns[] = {&a, &b};
    JK_CHECK_EQ(jk_net_disconnect(a.net, ab, JK_NET_REASON_LOCAL), JK_OK);
    JK_CHECK_EQ(a.downs, 0); /* queued: seen at the next event drain */
    tnode_want wa = {&a, 1, 1}, wb = {&b, 1, 1};
    JK_REQUIRE(tnode_pump(ns, 2, NULL, &now, 0, ROUNDS, tnode_has, &wa));
    JK_REQUIRE(tnode_pump(ns, 2, NULL, &now, 0, ROUNDS, tnode_has, &wb));
    JK_CHECK_EQ(a.last_down, JK_NET_REASON_LOCAL);
    JK_CHECK_EQ(b.last_down, JK_NET_REASON_CLOSED);
    jk_net_peer_stats st;
    JK_CHECK_EQ(jk_net_peer_stats_get(a.net, ab, &st), JK_OK);
    JK_CHECK_EQ(st.down[JK_NET_REASON_LOCAL], 1);
    tnode_want back_a = {&a, 2, 1}, back_b = {&b, 2, 1};
    JK_CHECK(tnode_pump(ns, 2, NULL, &now, 5, ROUNDS, tnode_has, &back_a));
    JK_CHECK(tnode_pump(ns, 2, NULL, &now, 5, ROUNDS, tnode_has, &back_b));
    tnode_stop(&a);
    tnode_stop(&b);
}

TNODE_BOTH(local_disconnect_and_redial)
TNODE_BOTH(two_nodes_every_kind)
TNODE_BOTH(three_nodes_broadcast)
TNODE_BOTH(broadcast_except_skips_one)
TNODE_BOTH(other_genesis_fails_handshake)
TNODE_BOTH(unexpected_key_refused)
TNODE_BOTH(reconnect_after_restart)
TNODE_BOTH(killed_peer_returns)

/* jk_net_wake_on: a readable descriptor the caller serves ends the step's
 * wait and is counted, left unread (the caller reads it); not readable, it
 * counts nothing; a second one, or -1, is refused. The node hands it its RPC
 * server's descriptor so a request needs no poll timeout to be seen. */
JK_TEST(test_net_wake_on_descriptor)
{
    tnode a;
    JK_REQUIRE(tnode_start(&a, 1, 0x11, 0, NULL));
    int p[2];
    JK_REQUIRE(pipe(p) == 0);
    JK_CHECK_EQ(jk_net_wake_on(a.net, -1), JK_ERR_INVALID_ARG);
    JK_CHECK_EQ(jk_net_wake_on(a.net, p[0]), JK_OK);
    JK_CHECK_EQ(jk_net_wake_on(a.net, p[0]), JK_ERR_INVALID_ARG);
    JK_CHECK_EQ(jk_net_step(a.net, 0, 0), JK_OK);
    JK_CHECK_EQ(jk_net_wakes(a.net), 0);
    JK_REQUIRE(write(p[1], "x", 1) == 1);
    JK_CHECK_EQ(jk_net_step(a.net, 0, 0), JK_OK);
    JK_CHECK_EQ(jk_net_wakes(a.net), 1);
    /* level-triggered: still unread, the next step sees it again */
    JK_CHECK_EQ(jk_net_step(a.net, 0, 0), JK_OK);
    JK_CHECK_EQ(jk_net_wakes(a.net), 2);
    char c;
    JK_REQUIRE(read(p[0], &c, 1) == 1);
    JK_CHECK_EQ(jk_net_step(a.net, 0, 0), JK_OK);
    JK_CHECK_EQ(jk_net_wakes(a.net), 2);
    /* no frame, peer or event came of it */
    jk_net_event ev;
    JK_CHECK(!jk_net_next_event(a.net, &ev));
    tnode_stop(&a);
    close(p[0]);
    close(p[1]);
}

/* jk_net_loopback_free_port picks below the kernel's ephemeral range, where
 * no connect() hands out ports (a port picked inside it could be taken by a
 * client's connection before a `jark testnet` node bound it), and the port
 * it gives can be bound, for both socket types. */
JK_TEST(test_net_free_port_is_below_the_ephemeral_range)
{
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    unsigned lo = 0, hi = 0;
    JK_REQUIRE(f);
    JK_REQUIRE(fscanf(f, "%u %u", &lo, &hi) == 2);
    fclose(f);
    const int types[2] = {SOCK_STREAM, SOCK_DGRAM};
    for (int t = 0; t < 2; t++)
        for (int i = 0; i < 16; i++) {
            uint16_t p = jk_net_loopback_free_port(types[t]);
            JK_CHECK(p != 0);
            if (lo > 16384 + 1024)
                JK_CHECK(p >= 16384 && p < lo);
            int fd = socket(AF_INET, types[t], 0);
            struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(p),
                                    .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
            JK_CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
            if (fd >= 0)
                close(fd);
        }
}
