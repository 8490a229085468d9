/*
 * test_net_rogue.c — misbehaving peers against one node: garbage, oversize
 * frames, floods, a reported bad signature, unknown keys over the
 * non-validator limit, a handshake that never finishes, plain-text bytes
 * instead of TLS. The node must drop (or throttle) the peer, count it, and
 * go on serving the honest peer.
 */
#include "../test.h"
#include "net_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#define ROUNDS 3000


/* b, the node under attack; the rogue uses key seed 7, which b knows. */
static bool victim(tnode *b, const jk_net_limits *lim, uint32_t *rogue_idx)
{
    if (!tnode_start(b, 2, 0x11, 0, lim))
        return false;
    tnode r;
    tnode_key(7, r.sk, r.pk);
    jk_net_peer_config pc = {.host = NULL};
    memcpy(pc.key, r.pk, sizeof pc.key);
    return jk_net_add_peer(b->net, &pc, rogue_idx) == JK_OK;
}

static jk_rogue *rogue_up(tnode *b, uint64_t *now)
{
    uint8_t sk[64], pk[32];
    tnode_key(7, sk, pk);
    jk_rogue *r = jk_rogue_connect(tnode_transport, b->port, b->pk, sk, b->genesis);
    if (!r)
        return NULL;
    tnode *ns[] = {b};
    tnode_want c = {b, b->ups + 1, 0};
    if (!tnode_pump(ns, 1, r, now, 0, ROUNDS, tnode_has, &c)) {
        jk_rogue_close(r);
        return NULL;
    }
    return r;
}

static void check_dropped(tnode *b, jk_rogue *r, uint32_t idx, jk_net_reason why, uint64_t *now)
{
    tnode *ns[] = {b};
    tnode_want c = {b, 1, 1};
    JK_CHECK(tnode_pump(ns, 1, r, now, 0, ROUNDS, tnode_has, &c));
    JK_CHECK_EQ(b->last_down, why);
    jk_net_peer_stats st;
    JK_CHECK_EQ(jk_net_peer_stats_get(b->net, idx, &st), JK_OK);
    JK_CHECK_EQ(st.down[why], 1);
    JK_CHECK(!st.connected);
    /* The rogue sees its connection end. */
    int left = ROUNDS;
    while (jk_rogue_pump(r) != -1 && left-- > 0)
        tnode_pump_rounds(ns, 1, NULL, now, 0, 1);
    JK_CHECK(left > 0);
}

static void run_rogue_garbage(void)
{
    tnode b;
    uint32_t idx;
    uint64_t now = 1000;
    JK_REQUIRE(victim(&b, NULL, &idx));
    jk_rogue *r = rogue_up(&b, &now);
    JK_REQUIRE(r);
    jk_rogue_send_frame(r, JK_NET_EVENTS, 3, 3, 0x42); /* one good frame first */
    jk_rogue_send_raw(r, "\x07garbage, not a frame", 21);
    check_dropped(&b, r, idx, JK_NET_REASON_GARBAGE, &now);
    JK_CHECK_EQ(b.frames[JK_NET_EVENTS], 1);
    jk_rogue_close(r);
    tnode_stop(&b);
}

static void run_rogue_oversize(void)
{
    tnode b;
    uint32_t idx;
    uint64_t now = 1000;
    jk_net_limits lim;
    tnode_limits(&lim);
    lim.max_frame[JK_NET_CONSENSUS] = 1000;
    JK_REQUIRE(victim(&b, &lim, &idx));
    jk_rogue *r = rogue_up(&b, &now);
    JK_REQUIRE(r);
    jk_rogue_send_frame(r, JK_NET_CONSENSUS, 1000, 1000, 1); /* at the bound: fine */
    jk_rogue_send_frame(r, JK_NET_CONSENSUS, 1001, 1001, 2); /* one over */
    check_dropped(&b, r, idx, JK_NET_REASON_OVERSIZE, &now);
    JK_CHECK_EQ(b.frames[JK_NET_CONSENSUS], 1);
    jk_rogue_close(r);

    /* A header claiming 4 GiB is refused from the header alone. */
    r = rogue_up(&b, &now);
    JK_REQUIRE(r);
    jk_rogue_send_frame(r, JK_NET_SYNC, 0xFFFFFFFFu, 0, 0);
    tnode *ns[] = {&b};
    tnode_want c = {&b, 2, 2};
    JK_CHECK(tnode_pump(ns, 1, r, &now, 0, ROUNDS, tnode_has, &c));
    jk_net_peer_stats st;
    JK_CHECK_EQ(jk_net_peer_stats_get(b.net, idx, &st), JK_OK);
    JK_CHECK_EQ(st.down[JK_NET_REASON_OVERSIZE], 2);
    jk_rogue_close(r);
    tnode_stop(&b);
}

static void run_rogue_bad_signature_reported(void)
{
    tnode b;
    uint32_t idx;
    uint64_t now = 1000;
    JK_REQUIRE(victim(&b, NULL, &idx));
    jk_rogue *r = rogue_up(&b, &now);
    JK_REQUIRE(r);
    JK_CHECK_EQ(jk_net_disconnect(b.net, idx, JK_NET_REASON_NONE), JK_ERR_INVALID_ARG);
    JK_CHECK_EQ(jk_net_disconnect(b.net, 999, JK_NET_REASON_BAD_SIG), JK_ERR_INVALID_ARG);
    /* The upper layer found a vote whose signature fails. */
    JK_CHECK_EQ(jk_net_disconnect(b.net, idx, JK_NET_REASON_BAD_SIG), JK_OK);
    check_dropped(&b, r, idx, JK_NET_REASON_BAD_SIG, &now);
    JK_CHECK_EQ(jk_net_disconnect(b.net, idx, JK_NET_REASON_BAD_SIG), JK_OK); /* no-op now */
    jk_net_peer_stats st;
    JK_CHECK_EQ(jk_net_peer_stats_get(b.net, idx, &st), JK_OK);
    JK_CHECK_EQ(st.down[JK_NET_REASON_BAD_SIG], 1);
    jk_rogue_close(r);
    tnode_stop(&b);
}

typedef struct {
    tnode *t;
    jk_rogue *r;
} flushed_ctx;

static bool rogue_flushed(void *p)
{
    flushed_ctx *c = p;
    return jk_rogue_pending(c->r) == 0;
}

/* Advance b's clock by dt, pump until b has delivered `want` events frames
 * (or the round bound), then 50 rounds more: returns how many it has. */
static uint64_t frames_after(tnode *b, jk_rogue *r, uint64_t *now, uint64_t dt, uint64_t want);

/* The rogue sends count events frames of len bytes (frame i filled with
 * byte i); pump until it has sent them all, then 50 rounds more. */
static bool flood(tnode *b, jk_rogue *r, int count, uint32_t len, uint64_t *now)
{
    for (int i = 0; i < count; i++)
        jk_rogue_send_frame(r, JK_NET_EVENTS, len, len, (uint8_t)i);
    tnode *ns[] = {b};
    flushed_ctx fc = {b, r};
    if (!tnode_pump(ns, 1, r, now, 0, ROUNDS, rogue_flushed, &fc))
        return false;
    tnode_pump_rounds(ns, 1, r, now, 0, 50);
    return true;
}

typedef struct {
    tnode *t;
    uint64_t frames;
} fr_ctx;

static bool fr(void *p)
{
    fr_ctx *c = p;
    return c->t->frames[JK_NET_EVENTS] >= c->frames;
}

static void run_rogue_flood_throttled(void)
{
    tnode b;
    uint32_t idx;
    uint64_t now = 1000;
    jk_net_limits lim;
    tnode_limits(&lim);
    lim.msgs_per_sec = 10;
    lim.msgs_burst = 10;
    JK_REQUIRE(victim(&b, &lim, &idx));
    jk_rogue *r = rogue_up(&b, &now);
    JK_REQUIRE(r);
    tnode *ns[] = {&b};
    /* The clock stands still: exactly the burst gets through. */
    JK_REQUIRE(flood(&b, r, 100, 16, &now));
    JK_CHECK_EQ(b.frames[JK_NET_EVENTS], 10);
    jk_net_peer_stats st;
    JK_CHECK_EQ(jk_net_peer_stats_get(b.net, idx, &st), JK_OK);
    JK_CHECK_EQ(st.throttled, 1);
    JK_CHECK(st.connected);
    /* One second later: ten more, and not one over. */
    JK_CHECK_EQ(frames_after(&b, r, &now, 1000, 20), 20);
    /* Half a second: five. */
    JK_CHECK_EQ(frames_after(&b, r, &now, 500, 25), 25);
    /* Twenty seconds: the bucket holds only its burst. (Not more: QUIC's
     * idle timeout, 30 s on the same clock, would close the connection.) */
    JK_CHECK_EQ(frames_after(&b, r, &now, 20000, 35), 35);
    JK_CHECK_EQ(jk_net_peer_stats_get(b.net, idx, &st), JK_OK);
    JK_CHECK_EQ(st.throttled, 4);
    JK_CHECK_EQ(st.frames_in, 35);
    /* Time flows: the rest arrives, in order (frame i carries byte i). */
    fr_ctx c100 = {&b, 100};
    JK_REQUIRE(tnode_pump(ns, 1, r, &now, 100, ROUNDS, fr, &c100));
    JK_CHECK_EQ(b.last[JK_NET_EVENTS][0], 99);
    jk_rogue_close(r);
    tnode_stop(&b);
}

static uint64_t frames_after(tnode *b, jk_rogue *r, uint64_t *now, uint64_t dt, uint64_t want)
{
    tnode *ns[] = {b};
    *now += dt;
    fr_ctx c = {b, want};
    (void)tnode_pump(ns, 1, r, now, 0, ROUNDS, fr, &c);
    tnode_pump_rounds(ns, 1, r, now, 0, 50);
    return b->frames[JK_NET_EVENTS];
}

static void run_rogue_byte_budget(void)
{
    tnode b;
    uint32_t idx;
    uint64_t now = 1000;
    jk_net_limits lim;
    tnode_limits(&lim);
    for (int k = 0; k < JK_NET_KINDS; k++)
        lim.max_frame[k] = 995; /* the byte burst must hold the largest frame */
    lim.bytes_per_sec = 1000;
    lim.bytes_burst = 1000;    /* exactly one maximal frame */
    JK_REQUIRE(victim(&b, &lim, &idx));
    jk_rogue *r = rogue_up(&b, &now);
    JK_REQUIRE(r);
    JK_REQUIRE(flood(&b, r, 3, 995, &now));
    JK_CHECK_EQ(b.frames[JK_NET_EVENTS], 1);
    JK_CHECK_EQ(frames_after(&b, r, &now, 999, 1), 1); /* 999 tokens: not yet */
    JK_CHECK_EQ(frames_after(&b, r, &now, 1, 2), 2);
    jk_rogue_close(r);
    tnode_stop(&b);
}

typedef struct {
    tnode *t;
    jk_net_reason why;
    uint64_t n;
} ref_ctx;

static bool refused(void *p)
{
    ref_ctx *c = p;
    jk_net_stats st;
    jk_net_stats_get(c->t->net, &st);
    return st.refused[c->why] >= c->n;
}

static void run_rogue_nonvalidator_limit(void)
{
    tnode b;
    uint64_t now = 1000;
    jk_net_limits lim;
    tnode_limits(&lim);
    lim.max_nonvalidators = 1;
    JK_REQUIRE(tnode_start(&b, 2, 0x11, 0, &lim));
    tnode *ns[] = {&b};
    uint8_t sk1[64], pk1[32], sk2[64], pk2[32];
    tnode_key(40, sk1, pk1);
    tnode_key(41, sk2, pk2);
    /* The first unknown key is admitted as a non-validator... */
    jk_rogue *r1 = jk_rogue_connect(tnode_transport, b.port, b.pk, sk1, b.genesis);
    JK_REQUIRE(r1);
    tnode_want c = {&b, 1, 0};
    JK_REQUIRE(tnode_pump(ns, 1, r1, &now, 0, ROUNDS, tnode_has, &c));
    JK_CHECK(!b.last_known);
    /* ...the second is over the limit and refused in the handshake. */
    jk_rogue *r2 = jk_rogue_connect(tnode_transport, b.port, b.pk, sk2, b.genesis);
    JK_REQUIRE(r2);
    ref_ctx rc = {&b, JK_NET_REASON_TOO_MANY, 1};
    int left = ROUNDS;
    while (!refused(&rc) && left-- > 0) {
        tnode_pump_rounds(ns, 1, r1, &now, 0, 1);
        (void)jk_rogue_pump(r2);
    }
    JK_CHECK(refused(&rc));
    JK_CHECK_EQ(b.ups, 1);
    uint32_t i2;
    JK_CHECK(!jk_net_peer_find(b.net, pk2, &i2));
    jk_rogue_close(r2);
    jk_rogue_close(r1);
    tnode_stop(&b);
}

static int raw_connect(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

JK_TEST(test_net_rogue_plaintext_and_silence)
{
    tnode b;
    uint64_t now = 1000;
    JK_REQUIRE(tnode_start(&b, 2, 0x11, 0, NULL));
    tnode *ns[] = {&b};
    /* Bytes that are not TLS at all. */
    int fd = raw_connect(b.port);
    JK_REQUIRE(fd >= 0);
    JK_CHECK_EQ(write(fd, "GET / HTTP/1.0\r\n\r\n", 18), 18);
    ref_ctx rc = {&b, JK_NET_REASON_HANDSHAKE, 1};
    JK_CHECK(tnode_pump(ns, 1, NULL, &now, 0, ROUNDS, refused, &rc));
    close(fd);
    /* A connection that never says a word: dropped once the handshake time
     * (by the node's input clock) runs out, not before. */
    fd = raw_connect(b.port);
    JK_REQUIRE(fd >= 0);
    jk_net_stats st;
    tnode_pump_rounds(ns, 1, NULL, &now, 0, 30);
    now += 10000; /* handshake_ms exactly: still waiting */
    tnode_pump_rounds(ns, 1, NULL, &now, 0, 5);
    jk_net_stats_get(b.net, &st);
    JK_CHECK_EQ(st.refused[JK_NET_REASON_TIMEOUT], 0);
    now += 1;
    ref_ctx tc = {&b, JK_NET_REASON_TIMEOUT, 1};
    JK_CHECK(tnode_pump(ns, 1, NULL, &now, 0, ROUNDS, refused, &tc));
    jk_net_stats_get(b.net, &st);
    JK_CHECK_EQ(st.accepted, 2);
    JK_CHECK_EQ(b.ups, 0);
    close(fd);
    tnode_stop(&b);
}

static void run_rogue_honest_peer_unaffected(void)
{
    /* While a rogue is dropped, an honest peer's frames keep flowing. */
    tnode a, b;
    uint32_t idx;
    uint64_t now = 1000;
    JK_REQUIRE(victim(&b, NULL, &idx));
    JK_REQUIRE(tnode_start(&a, 1, 0x11, 0, NULL));
    uint32_t ab = tnode_add(&a, &b);
    tnode_add(&b, &a);
    tnode *ns[] = {&a, &b};
    tnode_want c = {&b, 1, 0}, ca = {&a, 1, 0};
    JK_REQUIRE(tnode_pump(ns, 2, NULL, &now, 5, ROUNDS, tnode_has, &c));
    JK_REQUIRE(tnode_pump(ns, 2, NULL, &now, 5, ROUNDS, tnode_has, &ca));
    jk_rogue *r = rogue_up(&b, &now);
    JK_REQUIRE(r);
    jk_rogue_send_frame(r, JK_NET_CONSENSUS, 0x7FFFFFFF, 10, 0);
    JK_CHECK_EQ(jk_net_send(a.net, ab, JK_NET_CONSENSUS, (const uint8_t *)"vote", 4), JK_OK);
    tnode_want d = {&b, 2, 1};
    JK_REQUIRE(tnode_pump(ns, 2, r, &now, 0, ROUNDS, tnode_has, &d));
    int left = ROUNDS;
    while (b.frames[JK_NET_CONSENSUS] < 1 && left-- > 0)
        tnode_pump_rounds(ns, 2, r, &now, 0, 1);
    JK_CHECK_EQ(b.frames[JK_NET_CONSENSUS], 1);
    JK_CHECK_MEM(b.last[JK_NET_CONSENSUS], "vote", 4);
    JK_CHECK_EQ(b.last_down, JK_NET_REASON_OVERSIZE);
    jk_rogue_close(r);
    tnode_stop(&a);
    tnode_stop(&b);
}

TNODE_BOTH(rogue_garbage)
TNODE_BOTH(rogue_oversize)
TNODE_BOTH(rogue_bad_signature_reported)
TNODE_BOTH(rogue_flood_throttled)
TNODE_BOTH(rogue_byte_budget)
TNODE_BOTH(rogue_nonvalidator_limit)
TNODE_BOTH(rogue_honest_peer_unaffected)
