/* net_util.c — loopback test nodes (see net_util.h). */
#include "net_util.h"

#include "jark/crypto.h"

#include <stdlib.h>
#include <string.h>

jk_net_transport tnode_transport = JK_NET_TLS_TCP;
bool tnode_dial_at_once;

void tnode_key(uint8_t s, uint8_t sk[JK_NET_SECRET_SIZE], uint8_t pk[JK_NET_KEY_SIZE])
{
    uint8_t seed[32];
    memset(seed, s, sizeof seed);
    if (jk_crypto_init() != JK_OK || jk_crypto_ed25519_keypair_from_seed(seed, pk, sk) != JK_OK)
        abort();
}

void tnode_limits(jk_net_limits *l)
{
    jk_net_limits_default(l);
    l->backoff_min_ms = 10;
    l->backoff_max_ms = 200;
}

bool tnode_start(tnode *t, uint8_t s, uint8_t g, uint16_t port, const jk_net_limits *lim)
{
    memset(t, 0, sizeof *t);
    tnode_key(s, t->sk, t->pk);
    memset(t->genesis, g, sizeof t->genesis);
    jk_net_config cfg = {0};
    cfg.listen_host = "127.0.0.1";
    cfg.listen_port = port;
    cfg.secret_key = t->sk;
    cfg.genesis_hash = t->genesis;
    cfg.transport = tnode_transport;
    cfg.dial_at_once = tnode_dial_at_once;
    if (lim)
        cfg.limits = *lim;
    else
        tnode_limits(&cfg.limits);
    jk_diag diag = {{0}};
    if (jk_net_create(&cfg, &t->net, &diag) != JK_OK) {
        fprintf(stderr, "tnode_start: %s\n", diag.msg);
        return false;
    }
    t->port = jk_net_listen_port(t->net);
    return true;
}

void tnode_stop(tnode *t)
{
    jk_net_destroy(t->net);
    t->net = NULL;
}

uint32_t tnode_add(tnode *a, const tnode *b)
{
    jk_net_peer_config pc = {.host = "127.0.0.1", .port = b->port};
    memcpy(pc.key, b->pk, sizeof pc.key);
    uint32_t idx = UINT32_MAX;
    if (jk_net_add_peer(a->net, &pc, &idx) != JK_OK)
        abort();
    return idx;
}

static void tnode_drain(tnode *t)
{
    jk_net_event ev;
    while (t->net && jk_net_next_event(t->net, &ev)) {
        t->last_peer = ev.peer;
        t->last_known = ev.known;
        switch (ev.type) {
        case JK_NET_EV_PEER_UP:
            t->ups++;
            break;
        case JK_NET_EV_PEER_DOWN:
            t->downs++;
            t->last_down = ev.reason;
            break;
        case JK_NET_EV_FRAME:
            t->frames[ev.kind]++;
            t->last_len[ev.kind] = ev.len;
            memcpy(t->last[ev.kind], ev.data, ev.len < TNODE_KEEP ? ev.len : TNODE_KEEP);
            break;
        }
    }
}

static void tnode_round(tnode **nodes, size_t n, jk_rogue *r, uint64_t *now, uint64_t tick)
{
    for (size_t i = 0; i < n; i++) {
        if (!nodes[i]->net)
            continue;
        if (jk_net_step(nodes[i]->net, *now, 2) != JK_OK)
            abort();
        tnode_drain(nodes[i]);
    }
    if (r)
        (void)jk_rogue_pump(r);
    *now += tick;
}

bool tnode_has(void *want)
{
    tnode_want *w = want;
    return w->t->ups >= w->ups && w->t->downs >= w->downs;
}

bool tnode_pump(tnode **nodes, size_t n, jk_rogue *r, uint64_t *now, uint64_t tick,
                int max_rounds, tnode_cond cond, void *ctx)
{
    for (int i = 0; i < max_rounds; i++) {
        if (cond(ctx))
            return true;
        tnode_round(nodes, n, r, now, tick);
    }
    return cond(ctx);
}

void tnode_pump_rounds(tnode **nodes, size_t n, jk_rogue *r, uint64_t *now, uint64_t tick,
                       int rounds)
{
    for (int i = 0; i < rounds; i++)
        tnode_round(nodes, n, r, now, tick);
}

bool tnode_pair(tnode *a, tnode *b, uint8_t sa, uint8_t sb, const jk_net_limits *la,
                const jk_net_limits *lb, uint32_t *ab, uint32_t *ba, uint64_t *now)
{
    if (!tnode_start(a, sa, 0x11, 0, la))
        return false;
    if (!tnode_start(b, sb, 0x11, 0, lb)) {
        tnode_stop(a);
        return false;
    }
    *ab = tnode_add(a, b);
    *ba = tnode_add(b, a);
    tnode *ns[] = {a, b};
    tnode_want wa = {a, 1, 0}, wb = {b, 1, 0};
    return tnode_pump(ns, 2, NULL, now, 0, 3000, tnode_has, &wa) &&
           tnode_pump(ns, 2, NULL, now, 0, 3000, tnode_has, &wb);
}
