/*
 * test_net_peers.c — who dials whom: both ends dialling at once end with one
 * connection they agree on; a full node that validators do not list gets in
 * after the grace; failed dials back off by doubling on the input clock; a
 * peer that stops reading is dropped once our queue to it is full.
 */
#include "../test.h"
#include "net_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#define ROUNDS 3000

typedef struct {
    tnode *a, *b;
} pair_ctx;

static bool pair_frames(void *p)
{
    pair_ctx *c = p;
    return c->a->frames[JK_NET_CONSENSUS] >= 1 && c->b->frames[JK_NET_CONSENSUS] >= 1;
}

static bool pair_up(void *p)
{
    pair_ctx *c = p;
    jk_net_peer_stats sa, sb;
    jk_net_peer_stats_get(c->a->net, 0, &sa);
    jk_net_peer_stats_get(c->b->net, 0, &sb);
    return sa.connected && sb.connected;
}

/* Seeds for two nodes, lower key first. */
static void ordered_seeds(uint8_t s1, uint8_t s2, uint8_t *lo, uint8_t *hi)
{
    uint8_t sk[64], p1[32], p2[32];
    tnode_key(s1, sk, p1);
    tnode_key(s2, sk, p2);
    bool first = memcmp(p1, p2, 32) < 0;
    *lo = first ? s1 : s2;
    *hi = first ? s2 : s1;
}

static void run_both_dial_one_connection(void)
{
    uint8_t lo, hi;
    ordered_seeds(1, 2, &lo, &hi);
    tnode a, b;
    JK_REQUIRE(tnode_start(&a, lo, 0x11, 0, NULL));
    JK_REQUIRE(tnode_start(&b, hi, 0x11, 0, NULL));
    tnode_add(&a, &b);
    tnode_add(&b, &a);
    tnode *ns[] = {&a, &b};
    uint64_t now = 1000;
    /* Round one: only the lower key dials. Then the clock jumps past the
     * grace, so the higher key dials too while the first handshake runs. */
    tnode_pump_rounds(ns, 2, NULL, &now, 0, 1);
    now += 10000;
    jk_net_stats sa, sb;
    pair_ctx pc = {&a, &b};
    JK_REQUIRE(tnode_pump(ns, 2, NULL, &now, 0, ROUNDS, pair_up, &pc));
    tnode_pump_rounds(ns, 2, NULL, &now, 0, 50); /* let the duplicate settle */
    jk_net_stats_get(a.net, &sa);
    jk_net_stats_get(b.net, &sb);
    JK_CHECK_EQ(sa.dialled, 1);
    JK_CHECK_EQ(sb.dialled, 1);
    JK_CHECK(pair_up(&pc));
    /* Both ends kept the same connection: frames flow both ways. */
    uint8_t m[4] = {1, 2, 3, 4};
    JK_CHECK_EQ(jk_net_send(a.net, 0, JK_NET_CONSENSUS, m, 4), JK_OK);
    JK_CHECK_EQ(jk_net_send(b.net, 0, JK_NET_CONSENSUS, m, 4), JK_OK);
    JK_CHECK(tnode_pump(ns, 2, NULL, &now, 0, ROUNDS, pair_frames, &pc));
    /* Each side's PEER_UP / PEER_DOWN pairs leave exactly one up. */
    JK_CHECK_EQ(a.ups - a.downs, 1);
    JK_CHECK_EQ(b.ups - b.downs, 1);
    tnode_stop(&a);
    tnode_stop(&b);
}


static void run_unlisted_full_node_after_grace(void)
{
    uint8_t lo, hi;
    ordered_seeds(3, 4, &lo, &hi);
    tnode v, f; /* the validator has the lower key: it would be the dialler */
    JK_REQUIRE(tnode_start(&v, lo, 0x11, 0, NULL));
    JK_REQUIRE(tnode_start(&f, hi, 0x11, 0, NULL));
    tnode_add(&f, &v); /* v does not list f */
    tnode *ns[] = {&v, &f};
    uint64_t now = 1000;
    tnode_pump_rounds(ns, 2, NULL, &now, 0, 30);
    jk_net_stats st;
    jk_net_stats_get(f.net, &st);
    JK_CHECK_EQ(st.dialled, 0); /* within the grace: waits for v */
    now += 4 * 10;              /* four backoff_min */
    tnode_want uc = {&v, 1, 0};
    JK_REQUIRE(tnode_pump(ns, 2, NULL, &now, 0, ROUNDS, tnode_has, &uc));
    JK_CHECK(!v.last_known); /* a non-validator to v */
    tnode_want fc = {&f, 1, 0};
    JK_REQUIRE(tnode_pump(ns, 2, NULL, &now, 0, ROUNDS, tnode_has, &fc));
    JK_CHECK(f.last_known);
    tnode_stop(&v);
    tnode_stop(&f);
}

/* A full node (dial_at_once) does not wait the grace even when its key is
 * the higher one: no validator lists it, so none would dial it (BENCH sync
 * read ~0.1 instead of ~0.9 in half its runs: a second's wait). */
static void run_full_node_dials_at_once(void)
{
    uint8_t lo, hi;
    ordered_seeds(3, 4, &lo, &hi);
    tnode v, f;
    JK_REQUIRE(tnode_start(&v, lo, 0x11, 0, NULL));
    tnode_dial_at_once = true;
    bool started = tnode_start(&f, hi, 0x11, 0, NULL);
    tnode_dial_at_once = false;
    JK_REQUIRE(started);
    tnode_add(&f, &v); /* v does not list f */
    tnode *ns[] = {&v, &f};
    uint64_t now = 1000;
    /* The clock never moves: everything happens within the grace. */
    tnode_want fc = {&f, 1, 0};
    JK_CHECK(tnode_pump(ns, 2, NULL, &now, 0, ROUNDS, tnode_has, &fc));
    jk_net_stats st;
    jk_net_stats_get(f.net, &st);
    JK_CHECK_EQ(st.dialled, 1);
    JK_CHECK_EQ(now, 1000);
    tnode_stop(&v);
    tnode_stop(&f);
}

typedef struct {
    tnode *t;
    uint64_t n;
} fail_ctx;

typedef struct {
    tnode *t;
    jk_net_reason why;
} ref_ctx;

static bool refused_why(void *p)
{
    ref_ctx *c = p;
    jk_net_stats st;
    jk_net_stats_get(c->t->net, &st);
    return st.refused[c->why] >= 1;
}

static bool dial_failed(void *p)
{
    fail_ctx *c = p;
    jk_net_stats st;
    jk_net_stats_get(c->t->net, &st);
    return st.refused[JK_NET_REASON_IO] >= c->n;
}

static bool dialled(void *p)
{
    fail_ctx *c = p;
    jk_net_stats st;
    jk_net_stats_get(c->t->net, &st);
    return st.dialled >= c->n;
}

static void run_backoff_doubles(void)
{
    /* A port nobody listens on. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    JK_REQUIRE(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
               getsockname(fd, (struct sockaddr *)&sa, &sl) == 0);
    close(fd);
    uint8_t lo, hi;
    ordered_seeds(5, 6, &lo, &hi);
    tnode a, ghost;
    JK_REQUIRE(tnode_start(&a, lo, 0x11, 0, NULL));
    tnode_key(hi, ghost.sk, ghost.pk);
    ghost.port = ntohs(sa.sin_port);
    tnode_add(&a, &ghost);
    tnode *ns[] = {&a};
    uint64_t now = 1000;
    /* Backoff 10, 20, 40, 80, 160, then the 200 ms cap. */
    const uint64_t waits[] = {10, 20, 40, 80, 160, 200, 200};
    for (uint64_t i = 0; i < sizeof waits / sizeof waits[0]; i++) {
        fail_ctx fc = {&a, i + 1};
        JK_REQUIRE(tnode_pump(ns, 1, NULL, &now, 0, ROUNDS, dial_failed, &fc));
        now += waits[i] - 1;
        tnode_pump_rounds(ns, 1, NULL, &now, 0, 5);
        jk_net_stats st;
        jk_net_stats_get(a.net, &st);
        JK_CHECK_EQ(st.dialled, i + 1); /* one ms early: no dial */
        now += 1;
        fail_ctx dc = {&a, i + 2};
        JK_REQUIRE(tnode_pump(ns, 1, NULL, &now, 0, ROUNDS, dialled, &dc));
    }
    tnode_stop(&a);
}

typedef struct {
    tnode *t;
    uint32_t peer;
} slow_ctx;

static void run_slow_reader_dropped(void)
{
    tnode a, b;
    jk_net_limits la, lb;
    tnode_limits(&la);
    la.max_queue = 4u << 20;
    tnode_limits(&lb);
    lb.msgs_burst = 1; /* b reads one frame, then stops: its clock stands still */
    lb.msgs_per_sec = 1;
    uint32_t ab, ba;
    uint64_t now = 1000;
    JK_REQUIRE(tnode_pair(&a, &b, 1, 2, &la, &lb, &ab, &ba, &now));
    tnode *ns[] = {&a, &b};
    uint8_t *big = calloc(1, 1u << 20);
    JK_REQUIRE(big);
    jk_err err = JK_OK;
    int sends = 0;
    while (err == JK_OK && sends < 1000) {
        err = jk_net_send(a.net, ab, JK_NET_SYNC, big, 1u << 20);
        sends++;
        tnode_pump_rounds(ns, 2, NULL, &now, 0, 1);
    }
    free(big);
    JK_CHECK_EQ(err, JK_ERR_NET_NOT_CONNECTED);
    jk_net_peer_stats st;
    JK_CHECK_EQ(jk_net_peer_stats_get(a.net, ab, &st), JK_OK);
    JK_CHECK_EQ(st.down[JK_NET_REASON_SLOW], 1);
    JK_CHECK_EQ(a.last_down, JK_NET_REASON_SLOW);
    JK_CHECK(b.frames[JK_NET_SYNC] <= 1);
    tnode_stop(&a);
    tnode_stop(&b);
}

static uint32_t add_address(tnode *a, const tnode *b)
{
    jk_net_peer_config pc = {.host = "127.0.0.1", .port = b->port, .any_key = true};
    uint32_t idx = UINT32_MAX;
    if (jk_net_add_peer(a->net, &pc, &idx) != JK_OK)
        abort();
    return idx;
}

static void add_key(tnode *a, const tnode *b)
{
    jk_net_peer_config pc = {.host = NULL};
    memcpy(pc.key, b->pk, 32);
    if (jk_net_add_peer(a->net, &pc, NULL) != JK_OK)
        abort();
}

static void run_address_only_peer(void)
{
    /* `--peer HOST:PORT`: a knows b's key (the validator set) but not which
     * address is b's; it dials the address and learns the key there. */
    tnode a, b;
    JK_REQUIRE(tnode_start(&a, 1, 0x11, 0, NULL));
    JK_REQUIRE(tnode_start(&b, 2, 0x11, 0, NULL));
    add_key(&a, &b);
    uint32_t target = add_address(&a, &b);
    add_key(&b, &a);
    jk_net_peer_config bad = {.host = NULL, .any_key = true};
    JK_CHECK_EQ(jk_net_add_peer(a.net, &bad, NULL), JK_ERR_INVALID_ARG);
    tnode *ns[] = {&a, &b};
    uint64_t now = 1000;
    tnode_want wa = {&a, 1, 0};
    JK_REQUIRE(tnode_pump(ns, 2, NULL, &now, 0, ROUNDS, tnode_has, &wa));
    uint32_t ib = UINT32_MAX;
    JK_REQUIRE(jk_net_peer_find(a.net, b.pk, &ib));
    JK_CHECK(ib != target);
    JK_CHECK_EQ(a.last_peer, ib); /* up under the key's index, as a validator */
    JK_CHECK(a.last_known);
    /* The address now belongs to b's index: after b restarts, a redials it. */
    uint16_t port = b.port;
    tnode_stop(&b);
    JK_REQUIRE(tnode_start(&b, 2, 0x11, port, NULL));
    add_key(&b, &a);
    tnode_want again = {&a, 2, 1};
    JK_REQUIRE(tnode_pump(ns, 2, NULL, &now, 7, ROUNDS, tnode_has, &again));
    JK_CHECK_EQ(a.last_peer, ib);
    jk_net_peer_stats st;
    JK_CHECK_EQ(jk_net_peer_stats_get(a.net, ib, &st), JK_OK);
    JK_CHECK_EQ(st.connects, 2);
    JK_CHECK_EQ(jk_net_peer_stats_get(a.net, target, &st), JK_OK);
    JK_CHECK_EQ(st.connects, 0);
    tnode_stop(&a);
    tnode_stop(&b);
}

static void run_address_only_unknown_key(void)
{
    /* An address whose node has a key a does not know: a non-validator,
     * within the limit. */
    jk_net_limits none, one;
    tnode_limits(&none);
    none.max_nonvalidators = 0;
    tnode_limits(&one);
    one.max_nonvalidators = 1;
    tnode a, b, c;
    JK_REQUIRE(tnode_start(&a, 1, 0x11, 0, &none));
    JK_REQUIRE(tnode_start(&b, 2, 0x11, 0, NULL));
    add_address(&a, &b);
    tnode *ns[] = {&a, &b};
    uint64_t now = 1000;
    ref_ctx rc = {&a, JK_NET_REASON_TOO_MANY};
    JK_CHECK(tnode_pump(ns, 2, NULL, &now, 0, ROUNDS, refused_why, &rc));
    JK_CHECK_EQ(a.ups, 0);
    tnode_stop(&a);
    JK_REQUIRE(tnode_start(&c, 3, 0x11, 0, &one));
    add_address(&c, &b);
    tnode *ms[] = {&c, &b};
    tnode_want wc = {&c, 1, 0};
    JK_REQUIRE(tnode_pump(ms, 2, NULL, &now, 0, ROUNDS, tnode_has, &wc));
    JK_CHECK(!c.last_known);
    uint32_t ib;
    JK_CHECK(jk_net_peer_find(c.net, b.pk, &ib));
    JK_CHECK_EQ(c.last_peer, ib);
    tnode_stop(&c);
    tnode_stop(&b);
}

static void run_key_then_address(void)
{
    /* The validator set gives keys; `--peer HOST:PORT@KEY` later gives one
     * of them its address, and that is dialled. */
    tnode a, b;
    JK_REQUIRE(tnode_start(&a, 1, 0x11, 0, NULL));
    JK_REQUIRE(tnode_start(&b, 2, 0x11, 0, NULL));
    add_key(&a, &b);
    add_key(&b, &a);
    char text[120], host[16];
    int n = snprintf(text, sizeof text, "127.0.0.1:%u@", b.port);
    for (int i = 0; i < 32; i++)
        n += snprintf(text + n, sizeof text - (size_t)n, "%02x", b.pk[i]);
    jk_net_peer_config pc;
    JK_REQUIRE(jk_net_peer_parse(text, &pc, host, NULL) == JK_OK);
    uint32_t idx = UINT32_MAX;
    JK_REQUIRE(jk_net_add_peer(a.net, &pc, &idx) == JK_OK);
    uint32_t ib;
    JK_CHECK(jk_net_peer_find(a.net, b.pk, &ib) && ib == idx);
    tnode *ns[] = {&a, &b};
    uint64_t now = 1000;
    tnode_want wa = {&a, 1, 0}, wb = {&b, 1, 0};
    JK_CHECK(tnode_pump(ns, 2, NULL, &now, 5, ROUNDS, tnode_has, &wa));
    JK_CHECK(tnode_pump(ns, 2, NULL, &now, 5, ROUNDS, tnode_has, &wb));
    JK_CHECK(a.last_known && b.last_known);
    tnode_stop(&a);
    tnode_stop(&b);
}

TNODE_BOTH(key_then_address)
TNODE_BOTH(address_only_peer)
TNODE_BOTH(address_only_unknown_key)
TNODE_BOTH(both_dial_one_connection)
TNODE_BOTH(unlisted_full_node_after_grace)
TNODE_BOTH(full_node_dials_at_once)
TNODE_BOTH(backoff_doubles)
TNODE_BOTH(slow_reader_dropped)
