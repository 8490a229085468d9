/*
 * net_util.h — loopback test nodes for the net layer: a jk_net on
 * 127.0.0.1 with an ephemeral port, its events tallied, and a pump that steps
 * a set of nodes (and optionally a rogue peer) until a condition holds.
 *
 * Time is the test's: every node is stepped with *now, which the pump
 * advances by `tick` ms per round (0 freezes it). The pump's only wall-clock
 * dependence is its bound (rounds × a few ms of epoll wait), which is only
 * ever reached when the condition is false, i.e. when the test fails.
 */
#ifndef JK_TEST_NET_UTIL_H
#define JK_TEST_NET_UTIL_H

#include "jark/net.h"
#include "rogue.h"

#define TNODE_KEEP 256 /* bytes of the last payload kept per kind */

typedef struct tnode {
    jk_net *net;
    uint8_t sk[JK_NET_SECRET_SIZE];
    uint8_t pk[JK_NET_KEY_SIZE];
    uint8_t genesis[32];
    uint16_t port;
    uint64_t ups, downs, frames[JK_NET_KINDS];
    jk_net_reason last_down;
    uint32_t last_peer;
    bool last_known;
    uint8_t last[JK_NET_KINDS][TNODE_KEEP];
    size_t last_len[JK_NET_KINDS];
} tnode;

/* The key pair for seed byte s (32 bytes of s). */
void tnode_key(uint8_t s, uint8_t sk[JK_NET_SECRET_SIZE], uint8_t pk[JK_NET_KEY_SIZE]);

/* The transport tnode_start uses (default TLS over TCP). */
extern jk_net_transport tnode_transport;
/* jk_net_config.dial_at_once for the nodes tnode_start makes (default false). */
extern bool tnode_dial_at_once;

/* Test limits: the defaults with fast backoff (10 ms .. 200 ms). */
void tnode_limits(jk_net_limits *l);

/* Start a node with key seed s on genesis g (32 bytes of g), listening on
 * port (0: ephemeral). lim NULL: tnode_limits. Returns false on failure. */
bool tnode_start(tnode *t, uint8_t s, uint8_t g, uint16_t port, const jk_net_limits *lim);
void tnode_stop(tnode *t);

/* Make a dial b (b's address and key). Returns a's index for b. */
uint32_t tnode_add(tnode *a, const tnode *b);

/* Step every node (and rogue r, may be NULL) until cond(ctx) or max_rounds.
 * Each round: every node steps with *now (then *now += tick). */
typedef bool (*tnode_cond)(void *ctx);
bool tnode_pump(tnode **nodes, size_t n, jk_rogue *r, uint64_t *now, uint64_t tick,
                int max_rounds, tnode_cond cond, void *ctx);

/* Start a (seed sa) and b (seed sb) on genesis 0x11 with limits la / lb
 * (NULL: tnode_limits), make each list the other, and pump until both are
 * up. ab, ba: each one's index for the other. Returns false on failure. */
bool tnode_pair(tnode *a, tnode *b, uint8_t sa, uint8_t sb, const jk_net_limits *la,
                const jk_net_limits *lb, uint32_t *ab, uint32_t *ba, uint64_t *now);

/* A condition: t has seen at least ups PEER_UP and downs PEER_DOWN events. */
typedef struct tnode_want {
    tnode *t;
    uint64_t ups, downs;
} tnode_want;
bool tnode_has(void *want);

/* Define test_net_NAME (TLS over TCP) and test_net_quic_NAME (QUIC), both
 * running the static function run_NAME. */
#define TNODE_BOTH(name)                                                       \
    JK_TEST(test_net_##name) { run_##name(); }                                 \
    JK_TEST(test_net_quic_##name)                                              \
    {                                                                          \
        tnode_transport = JK_NET_QUIC;                                         \
        run_##name();                                                          \
        tnode_transport = JK_NET_TLS_TCP;                                      \
    }

/* Pump a fixed number of rounds (no condition). */
void tnode_pump_rounds(tnode **nodes, size_t n, jk_rogue *r, uint64_t *now, uint64_t tick,
                       int rounds);

#endif
