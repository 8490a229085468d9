/*
 * net.c — the transport's public face: creation and shutdown, the peer table,
 * the event loop step (dialling with backoff, handshake timeouts, rate-limit
 * resumption), the event queue, sending, statistics.
 *
 * Peers are indexed in the order they were added: configured (known) peers
 * first, then non-validators as they authenticate. An index never changes
 * meaning while its peer is connected; an unknown peer's index may be reused
 * for another unknown key once it is disconnected and the table is full.
 *
 * Who dials: for two known peers that both have addresses, the one with the
 * lower key dials at once and the other only after a grace period (four
 * backoff_min), so that normally exactly one connection forms. A node no
 * peer lists (a full node: jk_net_config.dial_at_once) dials at once: no
 * one would dial it, and waiting the grace delayed a fresh full node's sync
 * by a second whenever its random key sorted above its peer's. If both
 * connections form anyway, conn.c keeps one by a rule both ends agree on.
 */
#include "internal.h"

#include "jark/crypto.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#define JK_NET_EPOLL_BATCH 64

static uint64_t jk_net_grace_ms(const jk_net *net)
{
    return 4 * net->lim.backoff_min_ms;
}

/* ---- events ---- */

void jk_net_emit(jk_net *net, jk_net_event_type type, uint32_t peer,
                 jk_net_reason reason, jk_net_kind kind, const uint8_t *data, size_t len)
{
    struct jk_net_ring *r = &net->ring[type == JK_NET_EV_FRAME && kind == JK_NET_EVENTS];
    if (r->head + r->len == r->cap) {
        if (r->head > 0) {
            memmove(r->q, r->q + r->head, r->len * sizeof *r->q);
            r->head = 0;
        } else {
            size_t cap = r->cap ? r->cap * 2 : 64;
            jk_net_qev *q = realloc(r->q, cap * sizeof *q);
            if (!q)
                return; /* out of memory: the event is lost, never the node */
            r->q = q;
            r->cap = cap;
        }
    }
    jk_net_qev *e = &r->q[r->head + r->len];
    memset(e, 0, sizeof *e);
    if (type == JK_NET_EV_FRAME) {
        e->data = malloc(len ? len : 1);
        if (!e->data)
            return;
        memcpy(e->data, data, len);
    }
    e->ev.type = type;
    e->ev.peer = peer;
    memcpy(e->ev.key, net->peers[peer].key, JK_NET_KEY_SIZE);
    e->ev.known = net->peers[peer].known;
    e->ev.reason = reason;
    e->ev.kind = kind;
    e->ev.data = e->data;
    e->ev.len = len;
    r->len++;
}

bool jk_net_next_event(jk_net *net, jk_net_event *ev)
{
    free(net->delivered);
    net->delivered = NULL;
    struct jk_net_ring *r = &net->ring[net->ring[0].len == 0];
    if (r->len == 0)
        return false;
    jk_net_qev *e = &r->q[r->head++];
    r->len--;
    if (r->len == 0)
        r->head = 0;
    *ev = e->ev;
    net->delivered = e->data;
    return true;
}

size_t jk_net_queued(const jk_net *net)
{
    return net->ring[0].len + net->ring[1].len;
}

uint8_t *jk_net_take_data(jk_net *net)
{
    uint8_t *d = net->delivered;
    net->delivered = NULL;
    return d;
}

/* ---- peers ---- */

bool jk_net_peer_find_const(const jk_net *net, const uint8_t key[JK_NET_KEY_SIZE], uint32_t *peer)
{
    for (uint32_t i = 0; i < net->npeers; i++)
        if (!net->peers[i].key_unknown && memcmp(net->peers[i].key, key, JK_NET_KEY_SIZE) == 0) {
            *peer = i;
            return true;
        }
    return false;
}

bool jk_net_peer_find(const jk_net *net, const uint8_t key[JK_NET_KEY_SIZE], uint32_t *peer)
{
    return jk_net_peer_find_const(net, key, peer);
}

static jk_err jk_net_peer_new(jk_net *net, const uint8_t key[JK_NET_KEY_SIZE], uint32_t *peer)
{
    uint32_t unknown = 0, reuse = JK_NET_NO_PEER;
    for (uint32_t i = 0; i < net->npeers; i++)
        if (!net->peers[i].known && !net->peers[i].has_addr) {
            unknown++;
            if (reuse == JK_NET_NO_PEER && !net->peers[i].live && !net->peers[i].dialing)
                reuse = i;
        }
    uint32_t idx;
    if (unknown >= 4 * net->lim.max_nonvalidators + 16 && reuse != JK_NET_NO_PEER) {
        idx = reuse; /* bound the table: forget a disconnected non-validator */
    } else {
        if (net->npeers == net->cap_peers) {
            uint32_t cap = net->cap_peers ? net->cap_peers * 2 : 16;
            jk_net_peer *p = realloc(net->peers, cap * sizeof *p);
            if (!p)
                return JK_ERR_NOMEM;
            net->peers = p;
            net->cap_peers = cap;
        }
        idx = net->npeers++;
    }
    jk_net_peer *p = &net->peers[idx];
    memset(p, 0, sizeof *p);
    memcpy(p->key, key, JK_NET_KEY_SIZE);
    jk_net_bucket_init(&p->bytes, net->lim.bytes_burst, net->now);
    jk_net_bucket_init(&p->msgs, net->lim.msgs_burst, net->now);
    *peer = idx;
    return JK_OK;
}

jk_err jk_net_peer_for_key(jk_net *net, const uint8_t key[JK_NET_KEY_SIZE], uint32_t *peer)
{
    if (jk_net_peer_find_const(net, key, peer))
        return JK_OK;
    return jk_net_peer_new(net, key, peer);
}

void jk_net_peer_backoff(jk_net *net, jk_net_peer *p)
{
    uint64_t b = p->backoff_ms ? p->backoff_ms * 2 : net->lim.backoff_min_ms;
    if (b > net->lim.backoff_max_ms)
        b = net->lim.backoff_max_ms;
    p->backoff_ms = b;
    p->next_dial_ms = net->now + b;
    p->dial_set = true;
}

static jk_err jk_net_parse_ipv4(const char *host, uint32_t *out)
{
    struct in_addr a;
    if (!host || inet_pton(AF_INET, host, &a) != 1)
        return JK_ERR_INVALID_ARG;
    *out = a.s_addr;
    return JK_OK;
}

jk_err jk_net_add_peer(jk_net *net, const jk_net_peer_config *pc, uint32_t *peer)
{
    uint32_t addr = 0;
    if (!net || !pc || (pc->host && (jk_net_parse_ipv4(pc->host, &addr) != JK_OK || pc->port == 0)))
        return JK_ERR_INVALID_ARG;
    uint32_t idx;
    if (pc->any_key) {
        static const uint8_t none[JK_NET_KEY_SIZE];
        if (!pc->host)
            return JK_ERR_INVALID_ARG;
        jk_err err = jk_net_peer_new(net, none, &idx);
        if (err != JK_OK)
            return err;
        jk_net_peer *p = &net->peers[idx];
        p->key_unknown = true;
        p->has_addr = true;
        p->addr_be = addr;
        p->port = pc->port;
        if (peer)
            *peer = idx;
        return JK_OK;
    }
    if (memcmp(pc->key, net->tls.own_key, JK_NET_KEY_SIZE) == 0)
        return JK_ERR_INVALID_ARG;
    if (jk_net_peer_find_const(net, pc->key, &idx)) {
        jk_net_peer *p = &net->peers[idx];
        if (p->known && (p->has_addr || !pc->host))
            return JK_ERR_INVALID_ARG;
        if (p->known) { /* a validator's key first, its address later */
            p->has_addr = true;
            p->addr_be = addr;
            p->port = pc->port;
            p->dial_set = false;
            if (peer)
                *peer = idx;
            return JK_OK;
        }
        /* A non-validator that turns out to be configured: promote it. */
        if (p->live)
            net->nonval_live--;
    } else {
        jk_err err = jk_net_peer_new(net, pc->key, &idx);
        if (err != JK_OK)
            return err;
    }
    jk_net_peer *p = &net->peers[idx];
    p->known = true;
    p->st.known = true;
    p->has_addr = pc->host != NULL;
    p->addr_be = addr;
    p->port = pc->port;
    p->dial_set = false;
    if (peer)
        *peer = idx;
    return JK_OK;
}

/* ---- creation ---- */

static jk_err jk_net_check_limits(jk_net_limits *l, jk_diag *diag)
{
    uint64_t biggest = 0;
    for (int k = 0; k < JK_NET_KINDS; k++) {
        if (l->max_frame[k] > JK_NET_MAX_FRAME)
            return jk_diag_set(diag, JK_ERR_INVALID_ARG,
                               "net: max_frame[%d] over JK_NET_MAX_FRAME", k);
        if (l->max_frame[k] > biggest)
            biggest = l->max_frame[k];
    }
    if (l->msgs_burst < 1 || l->max_pending < 1 || l->handshake_ms < 1 ||
        l->backoff_min_ms < 1 || l->backoff_max_ms < l->backoff_min_ms ||
        l->backoff_max_ms > 86400000)
        return jk_diag_set(diag, JK_ERR_INVALID_ARG,
                           "net: limits out of range (bursts, pending, handshake, backoff)");
    /* A frame the byte bucket could never hold would stall its peer forever. */
    if (l->bytes_burst < biggest + JK_NET_FRAME_HEADER)
        l->bytes_burst = biggest + JK_NET_FRAME_HEADER;
    /* Nor could a queue shorter than one frame ever take it. */
    if (l->max_queue < biggest + JK_NET_FRAME_HEADER)
        l->max_queue = biggest + JK_NET_FRAME_HEADER;
    if (l->bytes_burst > ((uint64_t)1 << 40))
        return jk_diag_set(diag, JK_ERR_INVALID_ARG, "net: bytes_burst over 2^40");
    return JK_OK;
}

jk_err jk_net_listener_register(jk_net *net, int fd, const struct sockaddr_in *bound,
                                jk_diag *diag)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    if (epoll_ctl(net->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
        close(fd);
        return jk_diag_set(diag, JK_ERR_NET_LISTEN, "net: epoll: %s", strerror(errno));
    }
    net->lfd = fd;
    net->port = ntohs(bound->sin_port);
    net->listen_addr_be = bound->sin_addr.s_addr;
    return JK_OK;
}

static jk_err jk_net_listen(jk_net *net, const jk_net_config *cfg, jk_diag *diag)
{
    uint32_t addr;
    if (jk_net_parse_ipv4(cfg->listen_host, &addr) != JK_OK)
        return jk_diag_set(diag, JK_ERR_INVALID_ARG, "net: listen address \"%s\" is not IPv4",
                           cfg->listen_host);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return jk_diag_set(diag, JK_ERR_NET_LISTEN, "net: socket: %s", strerror(errno));
    int one = 1;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(cfg->listen_port),
                             .sin_addr.s_addr = addr};
    socklen_t sl = sizeof sa;
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 128) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &sl) != 0) {
        int e = errno;
        close(fd);
        return jk_diag_set(diag, JK_ERR_NET_LISTEN, "net: listen on %s:%u: %s",
                           cfg->listen_host, cfg->listen_port, strerror(e));
    }
    return jk_net_listener_register(net, fd, &sa, diag);
}

static jk_err jk_net_listen_any(jk_net *net, const jk_net_config *cfg, jk_diag *diag)
{
    if (net->transport == JK_NET_TLS_TCP)
        return jk_net_listen(net, cfg, diag);
    uint32_t addr;
    if (jk_net_parse_ipv4(cfg->listen_host, &addr) != JK_OK)
        return jk_diag_set(diag, JK_ERR_INVALID_ARG, "net: listen address \"%s\" is not IPv4",
                           cfg->listen_host);
    return jk_net_quic_listen(net, addr, cfg->listen_port, diag);
}

jk_err jk_net_create(const jk_net_config *cfg, jk_net **out, jk_diag *diag)
{
    *out = NULL;
    if (!cfg || !cfg->secret_key || !cfg->genesis_hash || (cfg->peer_count && !cfg->peers))
        return jk_diag_set(diag, JK_ERR_INVALID_ARG, "net: config lacks key, genesis or peers");
    jk_net *net = calloc(1, sizeof *net);
    if (!net)
        return JK_ERR_NOMEM;
    net->lfd = -1;
    net->ep = -1;
    net->lim = cfg->limits;
    net->dial_at_once = cfg->dial_at_once;
    net->transport = cfg->transport;
    net->quic_cc = cfg->quic_cc;
    jk_err err = jk_net_check_limits(&net->lim, diag);
    if (err != JK_OK)
        goto fail;
    if (net->transport != JK_NET_TLS_TCP && net->transport != JK_NET_QUIC) {
        err = jk_diag_set(diag, JK_ERR_INVALID_ARG, "net: unknown transport %d", (int)net->transport);
        goto fail;
    }
    if ((unsigned)net->quic_cc > JK_NET_CC_BBR2) {
        err = jk_diag_set(diag, JK_ERR_INVALID_ARG, "net: unknown congestion control %d",
                          (int)net->quic_cc);
        goto fail;
    }
    net->wake_fd = -1;
    net->ep = epoll_create1(EPOLL_CLOEXEC);
    if (net->ep < 0) {
        err = jk_diag_set(diag, JK_ERR_IO, "net: epoll_create1: %s", strerror(errno));
        goto fail;
    }
    err = jk_net_tls_init(&net->tls, cfg->secret_key, cfg->genesis_hash, jk_net_verify_cb, diag);
    if (err != JK_OK)
        goto fail;
    /* QUIC stateless reset tokens come from this key, which comes from the
     * node key: a restarted node makes the same tokens for its old
     * connection IDs, and so can end connections its previous life left. */
    static const char label[] = "jark/1/quic-stateless-reset";
    uint8_t material[sizeof label - 1 + JK_ED25519_SEED_SIZE];
    memcpy(material, label, sizeof label - 1);
    memcpy(material + sizeof label - 1, cfg->secret_key, JK_ED25519_SEED_SIZE);
    err = jk_crypto_blake2b(material, sizeof material, net->reset_key, sizeof net->reset_key);
    jk_crypto_wipe(material, sizeof material);
    if (err != JK_OK)
        goto fail;
    if (cfg->listen_host && (err = jk_net_listen_any(net, cfg, diag)) != JK_OK)
        goto fail;
    for (size_t i = 0; i < cfg->peer_count; i++)
        if ((err = jk_net_add_peer(net, &cfg->peers[i], NULL)) != JK_OK) {
            jk_diag_set(diag, err, "net: peer %zu: bad address, own key or a repeated key", i);
            goto fail;
        }
    *out = net;
    return JK_OK;
fail:
    jk_net_destroy(net);
    return err;
}

void jk_net_destroy(jk_net *net)
{
    if (!net)
        return;
    for (jk_net_conn *c = net->conns; c; c = c->next) {
        if (c->state == JK_NET_C_OPEN && !net->silent)
            jk_net_conn_flush(c); /* what the socket takes now, no waiting */
        jk_net_conn_kill(c, JK_NET_REASON_SHUTDOWN);
    }
    jk_net_conn_reap(net);
    if (net->lfd >= 0)
        close(net->lfd);
    if (net->ep >= 0)
        close(net->ep);
    jk_net_tls_free(&net->tls);
    for (int k = 0; k < 2; k++) {
        for (size_t i = 0; i < net->ring[k].len; i++)
            free(net->ring[k].q[net->ring[k].head + i].data);
        free(net->ring[k].q);
    }
    free(net->delivered);
    free(net->gso_buf);
    jk_net_quic_rx_free(net);
    free(net->peers);
    jk_crypto_wipe(net, sizeof *net);
    free(net);
}

uint16_t jk_net_listen_port(const jk_net *net)
{
    return net->port;
}

/* ---- the loop ---- */

static void jk_net_timers(jk_net *net)
{
    for (jk_net_conn *c = net->conns; c; c = c->next) {
        if (c->q && c->state != JK_NET_C_DEAD)
            jk_net_quic_timer(c);
        if (c->state == JK_NET_C_OPEN && c->throttled)
            jk_net_conn_resume(c);
        else if ((c->state == JK_NET_C_CONNECTING || c->state == JK_NET_C_HANDSHAKE) &&
                 net->now - c->started_ms > net->lim.handshake_ms)
            jk_net_conn_kill(c, JK_NET_REASON_TIMEOUT);
    }
    for (uint32_t i = 0; i < net->npeers; i++) {
        jk_net_peer *p = &net->peers[i];
        if (!p->has_addr || p->live || p->dialing)
            continue;
        if (!p->dial_set) {
            /* An address whose key we do not know yet: no one to defer to. */
            bool preferred = net->dial_at_once || p->key_unknown ||
                             memcmp(net->tls.own_key, p->key, JK_NET_KEY_SIZE) < 0;
            p->next_dial_ms = net->now + (preferred ? 0 : jk_net_grace_ms(net));
            p->dial_set = true;
        }
        if (net->now >= p->next_dial_ms)
            (void)(net->transport == JK_NET_QUIC ? jk_net_quic_dial(net, i)
                                                 : jk_net_conn_dial(net, i));
                                                 /* failures schedule the next try */
    }
}

void jk_net_flush(jk_net *net)
{
    for (jk_net_conn *c = net->conns; c; c = c->next)
        if (c->state == JK_NET_C_OPEN)
            jk_net_conn_flush(c);
}

jk_err jk_net_step(jk_net *net, uint64_t now_ms, int timeout_ms)
{
    if (now_ms > net->now)
        net->now = now_ms;
    net->resets = 0;
    jk_net_timers(net);
    /* Frames queued since the last step go out together: many small frames
     * share a TLS record or a QUIC packet instead of one each. */
    jk_net_flush(net);
    /* Wake in time for the earliest QUIC timer (assuming now_ms advances at
     * the wall clock's pace, as a real node's does). */
    int wait = timeout_ms < 0 ? 0 : timeout_ms;
    for (jk_net_conn *c = net->conns; c; c = c->next)
        if (c->q && c->state != JK_NET_C_DEAD) {
            uint64_t due = jk_net_quic_due_ms(c);
            uint64_t left = due > net->now ? due - net->now : 0;
            if (left < (uint64_t)wait)
                wait = (int)left;
        }
    struct epoll_event evs[JK_NET_EPOLL_BATCH];
    int n = epoll_wait(net->ep, evs, JK_NET_EPOLL_BATCH, wait);
    if (n < 0 && errno != EINTR)
        return JK_ERR_IO;
    for (int i = 0; i < n; i++) {
        if (evs[i].data.ptr == &net->wake_fd) {
            net->wakes++; /* the caller serves it after the step */
            continue;
        }
        if (!evs[i].data.ptr && net->transport == JK_NET_QUIC)
            jk_net_quic_listener_read(net);
        else if (!evs[i].data.ptr)
            jk_net_conn_accept(net);
        else
            jk_net_conn_io(evs[i].data.ptr, evs[i].events);
    }
    jk_net_conn_reap(net);
    return JK_OK;
}

jk_err jk_net_wake_on(jk_net *net, int fd)
{
    if (!net || fd < 0 || net->wake_fd >= 0)
        return JK_ERR_INVALID_ARG;
    /* Level-triggered: while the caller leaves it readable every step's
     * wait ends at once, so nothing it has to serve waits for a timeout. */
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &net->wake_fd};
    if (epoll_ctl(net->ep, EPOLL_CTL_ADD, fd, &ev) != 0)
        return JK_ERR_IO;
    net->wake_fd = fd;
    return JK_OK;
}

uint64_t jk_net_wakes(const jk_net *net)
{
    return net ? net->wakes : 0;
}

/* ---- sending ---- */

jk_err jk_net_send(jk_net *net, uint32_t peer, jk_net_kind kind, const uint8_t *data, size_t len)
{
    if (!net || peer >= net->npeers || (unsigned)kind >= JK_NET_KINDS || (len && !data))
        return JK_ERR_INVALID_ARG;
    if (len > net->lim.max_frame[kind])
        return JK_ERR_NET_TOO_LARGE;
    jk_net_peer *p = &net->peers[peer];
    jk_net_conn *c = p->live;
    if (!c)
        return JK_ERR_NET_NOT_CONNECTED;
    uint64_t total = (uint64_t)JK_NET_FRAME_HEADER + len;
    uint64_t queued = c->q ? jk_net_quic_queued(c) : c->out.len;
    if (queued + total > net->lim.max_queue) {
        jk_net_conn_kill(c, JK_NET_REASON_SLOW);
        return JK_ERR_NET_NOT_CONNECTED;
    }
    if (c->q) {
        jk_err err = jk_net_quic_queue(c, kind, data, len);
        if (err != JK_OK)
            return err;
        p->st.frames_out++;
        p->st.bytes_out += total;
        return JK_OK;
    }
    uint8_t hdr[JK_NET_FRAME_HEADER];
    jk_net_frame_header(kind, (uint32_t)len, hdr);
    size_t before = c->out.len;
    if (jk_net_buf_append(&c->out, hdr, sizeof hdr) != JK_OK ||
        jk_net_buf_append(&c->out, data, len) != JK_OK) {
        c->out.len = before; /* never leave half a frame queued */
        return JK_ERR_NOMEM;
    }
    p->st.frames_out++;
    p->st.bytes_out += total;
    return JK_OK; /* jk_net_step writes it, with whatever else is queued by then */
}

jk_err jk_net_broadcast(jk_net *net, jk_net_kind kind, const uint8_t *data, size_t len, size_t *sent)
{
    return jk_net_broadcast_except(net, kind, data, len, UINT32_MAX, sent);
}

jk_err jk_net_broadcast_except(jk_net *net, jk_net_kind kind, const uint8_t *data, size_t len,
                               uint32_t except, size_t *sent)
{
    if (sent)
        *sent = 0;
    if (!net || (unsigned)kind >= JK_NET_KINDS || (len && !data))
        return JK_ERR_INVALID_ARG;
    if (len > net->lim.max_frame[kind])
        return JK_ERR_NET_TOO_LARGE;
    for (uint32_t i = 0; i < net->npeers; i++) {
        if (!net->peers[i].live || i == except)
            continue;
        jk_err err = jk_net_send(net, i, kind, data, len);
        if (err == JK_OK && sent)
            (*sent)++;
        else if (err == JK_ERR_NOMEM)
            return err;
    }
    return JK_OK;
}

jk_err jk_net_disconnect(jk_net *net, uint32_t peer, jk_net_reason reason)
{
    if (!net || peer >= net->npeers || reason == JK_NET_REASON_NONE ||
        (unsigned)reason >= JK_NET_REASONS)
        return JK_ERR_INVALID_ARG;
    if (net->peers[peer].live)
        jk_net_conn_kill(net->peers[peer].live, reason);
    return JK_OK;
}

/* ---- statistics ---- */

uint32_t jk_net_peer_count(const jk_net *net)
{
    return net->npeers;
}

jk_err jk_net_peer_stats_get(const jk_net *net, uint32_t peer, jk_net_peer_stats *out)
{
    if (!net || peer >= net->npeers)
        return JK_ERR_INVALID_ARG;
    *out = net->peers[peer].st;
    const jk_net_conn *c = net->peers[peer].live;
    if (c && c->q && c->state == JK_NET_C_OPEN)
        jk_net_quic_peer_stat(c, out);
    return JK_OK;
}

jk_err jk_net_peer_key(const jk_net *net, uint32_t peer, uint8_t key[JK_NET_KEY_SIZE])
{
    if (!net || peer >= net->npeers)
        return JK_ERR_INVALID_ARG;
    memcpy(key, net->peers[peer].key, JK_NET_KEY_SIZE);
    return JK_OK;
}

void jk_net_stats_get(const jk_net *net, jk_net_stats *out)
{
    *out = net->st;
}

/* ---- test hooks (internal.h) ---- */

jk_err jk_net_inject(jk_net *net, uint32_t peer, unsigned stream, const void *data, size_t n)
{
    if (peer >= net->npeers || stream >= JK_NET_KINDS)
        return JK_ERR_INVALID_ARG;
    jk_net_conn *c = net->peers[peer].live;
    if (!c)
        return JK_ERR_NET_NOT_CONNECTED;
    jk_err err = c->q ? jk_net_quic_queue_raw(c, stream, data, n) : jk_net_buf_append(&c->out, data, n);
    if (err == JK_OK)
        jk_net_conn_flush(c);
    return err;
}

uint64_t jk_net_unsent(const jk_net *net, uint32_t peer)
{
    if (peer >= net->npeers || !net->peers[peer].live)
        return 0;
    const jk_net_conn *c = net->peers[peer].live;
    return c->q ? jk_net_quic_unsent(c) : c->out.len;
}

void jk_net_abandon(jk_net *net)
{
    if (!net)
        return;
    net->silent = true;
    for (jk_net_conn *c = net->conns; c; c = c->next)
        c->out.len = 0; /* nothing more leaves */
    jk_net_destroy(net);
}

/* Bind `port` (0: the kernel's choice) on 127.0.0.1 for `type`, read it
 * back and release it; 0 when it is taken. */
static uint16_t jk_net_try_port(int type, uint16_t port)
{
    int fd = socket(AF_INET, type, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    uint16_t got = 0;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        got = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return got;
}

/* The low end of the kernel's ephemeral range (ports it hands to bind(0)
 * and to every outgoing connect), or 0 when it cannot be read. */
static uint16_t jk_net_ephemeral_low(void)
{
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    unsigned lo = 0, hi = 0;
    if (f) {
        if (fscanf(f, "%u %u", &lo, &hi) != 2)
            lo = 0;
        fclose(f);
    }
    return lo > 0 && lo <= 65535 ? (uint16_t)lo : 0;
}

/* jk_net_loopback_free_port's ports start here (above the well-known and
 * most registered services' ports, below the ephemeral range). */
#define JK_NET_PORT_LOW 16384u

uint16_t jk_net_loopback_free_port(int type)
{
    /* A port from the ephemeral range (bind(0)) may be handed to another
     * socket's connect() before the caller binds it: under load a node of
     * `jark testnet` then failed to start ("address in use"), and a node
     * restarted on its old port could find it taken by a client's
     * connection. Below that range only an explicit bind takes a port, so
     * pick at random in [JK_NET_PORT_LOW, low end) and probe it. */
    uint16_t lo = jk_net_ephemeral_low();
    if (lo > JK_NET_PORT_LOW + 1024) {
        uint32_t span = (uint32_t)(lo - JK_NET_PORT_LOW), r = 0;
        for (int tries = 0; tries < 64; tries++) {
            if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
                r = (uint32_t)getpid() * 2654435761u + (uint32_t)tries;
            uint16_t got = jk_net_try_port(type, (uint16_t)(JK_NET_PORT_LOW + r % span));
            if (got)
                return got;
        }
    }
    return jk_net_try_port(type, 0);
}
