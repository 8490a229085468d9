/*
 * conn.c — one connection's life. Shared by both transports: the peer key
 * check, attaching an authenticated connection to its peer (and resolving
 * two connections to one peer), framing with rate limits, closing's
 * accounting. The TLS-over-TCP transport itself: connect or accept, the TLS
 * 1.3 handshake, reading, writing the queue. (QUIC's own part is quic.c.)
 *
 * Every socket is non-blocking and registered level-triggered with epoll; the
 * mask always says what the connection waits for (conn_mask). A connection
 * that misbehaves is killed (jk_net_conn_kill): its socket closes at once, its
 * memory at the end of the step (jk_net_conn_reap), so an epoll event already
 * fetched for it finds state DEAD and is ignored.
 *
 * The key check runs inside the handshake (GnuTLS's certificate verify
 * callback), so a refused key fails the handshake for both ends, and again
 * when the handshake completes, where it decides.
 */
#define _GNU_SOURCE /* accept4 */
#include "internal.h"

#include "jark/crypto.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define JK_NET_READ_CHUNK 16384

static void conn_mask(jk_net_conn *c)
{
    if (c->state == JK_NET_C_DEAD || c->q)
        return; /* a QUIC socket always waits for datagrams */
    uint32_t want = 0;
    switch (c->state) {
    case JK_NET_C_CONNECTING:
        want = EPOLLOUT;
        break;
    case JK_NET_C_HANDSHAKE:
        want = gnutls_record_get_direction(c->tls) ? EPOLLOUT : EPOLLIN;
        break;
    case JK_NET_C_OPEN:
        want = (c->throttled ? 0 : EPOLLIN) | (c->out.len ? EPOLLOUT : 0);
        break;
    case JK_NET_C_DEAD:
        break;
    }
    if (want == c->events)
        return;
    struct epoll_event ev = {.events = want, .data.ptr = c};
    if (epoll_ctl(c->net->ep, EPOLL_CTL_MOD, c->fd, &ev) == 0)
        c->events = want;
    else
        jk_net_conn_kill(c, JK_NET_REASON_IO);
}

jk_net_conn *jk_net_conn_new(jk_net *net, int fd, bool outbound, uint32_t peer, uint32_t events)
{
    jk_net_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->ref.user_data = c;
    c->net = net;
    c->fd = fd;
    c->outbound = outbound;
    c->peer = peer;
    c->started_ms = net->now;
    c->events = events;
    c->state = outbound && events == EPOLLOUT ? JK_NET_C_CONNECTING : JK_NET_C_HANDSHAKE;
    struct epoll_event ev = {.events = events, .data.ptr = c};
    if (fd >= 0 && epoll_ctl(net->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
        free(c);
        return NULL;
    }
    c->next = net->conns;
    net->conns = c;
    net->pending++;
    return c;
}

void jk_net_conn_kill(jk_net_conn *c, jk_net_reason why)
{
    if (c->state == JK_NET_C_DEAD)
        return;
    jk_net *net = c->net;
    jk_net_peer *p = c->peer != JK_NET_NO_PEER ? &net->peers[c->peer] : NULL;
    if (c->state == JK_NET_C_OPEN) {
        p->live = NULL;
        p->st.connected = false;
        p->st.down[why]++;
        if (!p->known)
            net->nonval_live--;
        if (p->has_addr)
            jk_net_peer_backoff(net, p);
        jk_net_emit(net, JK_NET_EV_PEER_DOWN, c->peer, why, 0, NULL, 0);
    } else {
        net->pending--;
        net->st.refused[why]++;
        if (c->outbound && p && p->dialing == c) {
            p->dialing = NULL;
            jk_net_peer_backoff(net, p);
        }
    }
    if (c->q) {
        jk_net_quic_close(c, why);
    } else if (c->tls) {
        /* A polite close (close_notify) when we end it for our own reasons;
         * a misbehaving peer gets none. Never waits: the socket is
         * non-blocking and what does not fit is dropped. */
        if (c->state == JK_NET_C_OPEN && !net->silent &&
            (why == JK_NET_REASON_LOCAL || why == JK_NET_REASON_SHUTDOWN ||
             why == JK_NET_REASON_REPLACED))
            (void)gnutls_bye(c->tls, GNUTLS_SHUT_WR);
        gnutls_deinit(c->tls);
        c->tls = NULL;
    }
    if (c->fd >= 0) {
        epoll_ctl(net->ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    c->fd = -1;
    c->state = JK_NET_C_DEAD;
    jk_net_buf_free(&c->in);
    jk_net_buf_free(&c->out);
}

void jk_net_conn_reap(jk_net *net)
{
    jk_net_conn **pp = &net->conns;
    while (*pp) {
        jk_net_conn *c = *pp;
        if (c->state == JK_NET_C_DEAD) {
            *pp = c->next;
            free(c);
        } else {
            pp = &c->next;
        }
    }
}

/* ---- the key check ---- */

/* Whether conn may be authenticated as key; sets c->fail when not. */
static bool conn_key_ok(jk_net_conn *c, const uint8_t key[JK_NET_KEY_SIZE])
{
    jk_net *net = c->net;
    if (memcmp(key, net->tls.own_key, JK_NET_KEY_SIZE) == 0) {
        c->fail = JK_NET_REASON_BAD_KEY; /* ourselves, through a loop */
        return false;
    }
    if (c->outbound && !net->peers[c->peer].key_unknown) {
        if (memcmp(key, net->peers[c->peer].key, JK_NET_KEY_SIZE) != 0) {
            c->fail = JK_NET_REASON_BAD_KEY;
            return false;
        }
        return true;
    }
    uint32_t idx;
    if (jk_net_peer_find_const(net, key, &idx) && net->peers[idx].known)
        return true;
    if (net->nonval_live >= net->lim.max_nonvalidators) {
        c->fail = JK_NET_REASON_TOO_MANY;
        return false;
    }
    return true;
}

/* GnuTLS calls this when the peer's certificate arrives; nonzero fails the
 * handshake (and GnuTLS sends the peer an alert). */
int jk_net_verify_cb(gnutls_session_t s)
{
    jk_net_conn *c = gnutls_session_get_ptr(s);
    uint8_t key[JK_NET_KEY_SIZE];
    if (jk_net_tls_peer_key(s, key) != JK_OK) {
        c->fail = JK_NET_REASON_BAD_KEY;
        return -1;
    }
    return conn_key_ok(c, key) ? 0 : -1;
}

/* ---- handshake ---- */

static void conn_read(jk_net_conn *c);

/* An address-only peer told us its key: if the key has an index, the address
 * and this connection move there and the address-only index goes quiet;
 * otherwise the address-only index becomes that key's (a non-validator). */
static uint32_t conn_learn_key(jk_net_conn *c)
{
    jk_net *net = c->net;
    uint32_t from = c->peer, to;
    jk_net_peer *f = &net->peers[from];
    f->dialing = NULL;
    if (!jk_net_peer_find_const(net, c->key, &to)) {
        memcpy(f->key, c->key, JK_NET_KEY_SIZE);
        f->key_unknown = false;
        return from;
    }
    jk_net_peer *t = &net->peers[to];
    if (!t->has_addr) {
        t->has_addr = true;
        t->addr_be = f->addr_be;
        t->port = f->port;
        t->dial_set = false;
    }
    f->has_addr = false;
    c->peer = to;
    return to;
}

/* The initiator of a connection: us when outbound, the peer otherwise. */
static const uint8_t *conn_initiator(const jk_net_conn *c)
{
    return c->outbound ? c->net->tls.own_key : c->key;
}

void jk_net_conn_authenticated(jk_net_conn *c)
{
    jk_net *net = c->net;
    if (!jk_net_tls_alpn_ok(&net->tls, c->tls)) {
        jk_net_conn_kill(c, JK_NET_REASON_HANDSHAKE);
        return;
    }
    if (jk_net_tls_peer_key(c->tls, c->key) != JK_OK) {
        jk_net_conn_kill(c, JK_NET_REASON_BAD_KEY);
        return;
    }
    if (!conn_key_ok(c, c->key)) {
        jk_net_conn_kill(c, c->fail);
        return;
    }
    uint32_t idx = c->peer;
    if (!c->outbound && jk_net_peer_for_key(net, c->key, &idx) != JK_OK) {
        jk_net_conn_kill(c, JK_NET_REASON_TOO_MANY);
        return;
    }
    if (c->outbound && net->peers[idx].key_unknown)
        idx = conn_learn_key(c);
    jk_net_peer *p = &net->peers[idx];
    if (p->live) {
        /* Two connections to one peer. If the live one has been open longer
         * than a handshake may take, the peer has restarted (a QUIC peer
         * killed with SIGKILL sends no CONNECTION_CLOSE, so the old one looks
         * alive until its idle timeout): the new one replaces it. Otherwise
         * both ends dialled at once, and both keep the one the lower key
         * initiated (of two by the same initiator, the newer), so they agree
         * without talking. */
        bool restarted = net->now - p->live->opened_ms > net->lim.handshake_ms;
        if (!restarted &&
            memcmp(conn_initiator(c), conn_initiator(p->live), JK_NET_KEY_SIZE) > 0) {
            jk_net_conn_kill(c, JK_NET_REASON_REPLACED);
            return;
        }
        jk_net_conn_kill(p->live, JK_NET_REASON_REPLACED);
    }
    c->peer = idx;
    if (p->dialing == c)
        p->dialing = NULL;
    c->state = JK_NET_C_OPEN;
    c->opened_ms = net->now;
    net->pending--;
    p->live = c;
    p->backoff_ms = 0;
    p->st.connected = true;
    p->st.connects++;
    if (!p->known)
        net->nonval_live++;
    jk_net_emit(net, JK_NET_EV_PEER_UP, idx, JK_NET_REASON_NONE, 0, NULL, 0);
    if (c->q)
        return; /* quic.c delivers and flushes after its callbacks return */
    conn_read(c); /* frames may have come with the handshake's last flight */
    if (c->state == JK_NET_C_OPEN)
        jk_net_conn_flush(c);
}

static void conn_handshake(jk_net_conn *c)
{
    int rc = gnutls_handshake(c->tls);
    if (rc == GNUTLS_E_SUCCESS) {
        jk_net_conn_authenticated(c);
    } else if (gnutls_error_is_fatal(rc)) {
        jk_net_conn_kill(c, c->fail != JK_NET_REASON_NONE ? c->fail : JK_NET_REASON_HANDSHAKE);
    }
    conn_mask(c);
}

static void conn_start_tls(jk_net_conn *c)
{
    if (jk_net_tls_session(&c->net->tls, c->fd, !c->outbound, c, &c->tls) != JK_OK) {
        c->tls = NULL;
        jk_net_conn_kill(c, JK_NET_REASON_IO);
        return;
    }
    c->state = JK_NET_C_HANDSHAKE;
    conn_handshake(c);
}

static void sock_setup(int fd)
{
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

jk_err jk_net_conn_dial(jk_net *net, uint32_t peer)
{
    jk_net_peer *p = &net->peers[peer];
    net->st.dialled++;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return JK_ERR_IO;
    sock_setup(fd);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(p->port),
                             .sin_addr.s_addr = p->addr_be};
    int rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
    if (rc != 0 && errno != EINPROGRESS) {
        close(fd);
        net->st.refused[JK_NET_REASON_IO]++;
        jk_net_peer_backoff(net, p);
        return JK_OK;
    }
    jk_net_conn *c = jk_net_conn_new(net, fd, true, peer, EPOLLOUT);
    if (!c) {
        close(fd);
        return JK_ERR_NOMEM;
    }
    p->dialing = c;
    return JK_OK;
}

void jk_net_conn_accept(jk_net *net)
{
    for (;;) {
        int fd = accept4(net->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return; /* EAGAIN, or a connection that died in the queue */
        net->st.accepted++;
        if (net->pending >= net->lim.max_pending) {
            net->st.refused[JK_NET_REASON_TOO_MANY]++;
            close(fd);
            continue;
        }
        sock_setup(fd);
        jk_net_conn *c = jk_net_conn_new(net, fd, false, JK_NET_NO_PEER, EPOLLIN);
        if (!c) {
            close(fd);
            continue;
        }
        conn_start_tls(c);
    }
}

/* ---- reading ---- */

/* Hand every whole frame at the start of in upward, as far as the rate
 * limits allow. */
size_t jk_net_conn_deliver(jk_net_conn *c, jk_net_buf *in, int want)
{
    jk_net *net = c->net;
    jk_net_peer *p = &net->peers[c->peer];
    bool delivered = false;
    size_t consumed = 0;
    while (c->state == JK_NET_C_OPEN && in->len > 0) {
        jk_net_kind kind;
        uint32_t len;
        jk_err err = jk_net_frame_parse(in->p + in->head, in->len, net->lim.max_frame,
                                        &kind, &len, NULL);
        if (err == JK_ERR_NET_INCOMPLETE)
            break;
        if (err == JK_OK && want >= 0 && (int)kind != want)
            err = JK_ERR_NET_FRAME; /* a frame on another kind's stream */
        if (err != JK_OK) {
            jk_net_conn_kill(c, err == JK_ERR_NET_TOO_LARGE ? JK_NET_REASON_OVERSIZE
                                                            : JK_NET_REASON_GARBAGE);
            break;
        }
        uint64_t total = (uint64_t)JK_NET_FRAME_HEADER + len;
        jk_net_bucket_refill(&p->msgs, net->lim.msgs_per_sec, net->lim.msgs_burst, net->now);
        jk_net_bucket_refill(&p->bytes, net->lim.bytes_per_sec, net->lim.bytes_burst, net->now);
        if (!jk_net_bucket_has(&p->msgs, 1) || !jk_net_bucket_has(&p->bytes, total)) {
            if (!c->throttled && (!c->resuming || delivered))
                p->st.throttled++;
            c->throttled = true;
            break;
        }
        jk_net_bucket_take(&p->msgs, 1);
        jk_net_bucket_take(&p->bytes, total);
        p->st.frames_in++;
        p->st.bytes_in += total;
        jk_net_emit(net, JK_NET_EV_FRAME, c->peer, JK_NET_REASON_NONE, kind,
                    in->p + in->head + JK_NET_FRAME_HEADER, len);
        jk_net_buf_consume(in, (size_t)total);
        consumed += (size_t)total;
        delivered = true;
    }
    return consumed;
}

static void conn_deliver(jk_net_conn *c)
{
    (void)jk_net_conn_deliver(c, &c->in, -1);
}

static void conn_read(jk_net_conn *c)
{
    uint8_t buf[JK_NET_READ_CHUNK];
    conn_deliver(c);
    while (c->state == JK_NET_C_OPEN && !c->throttled) {
        ssize_t n = gnutls_record_recv(c->tls, buf, sizeof buf);
        if (n > 0) {
            if (jk_net_buf_append(&c->in, buf, (size_t)n) != JK_OK) {
                jk_net_conn_kill(c, JK_NET_REASON_IO);
                return;
            }
            conn_deliver(c);
        } else if (n == 0 || n == GNUTLS_E_PREMATURE_TERMINATION) {
            jk_net_conn_kill(c, JK_NET_REASON_CLOSED);
        } else if (n == GNUTLS_E_AGAIN) {
            return;
        } else if (n != GNUTLS_E_INTERRUPTED) {
            /* A TLS record that fails to decrypt is garbage too, but from a
             * peer that sends raw bytes inside TLS we only ever see this. */
            jk_net_conn_kill(c, gnutls_error_is_fatal((int)n) ? JK_NET_REASON_IO
                                                               : JK_NET_REASON_GARBAGE);
        }
    }
}

/* ---- writing ---- */

void jk_net_conn_flush(jk_net_conn *c)
{
    if (c->q) {
        jk_net_quic_flush(c);
        return;
    }
    while (c->state == JK_NET_C_OPEN && c->out.len > 0) {
        size_t n = c->retry_len ? c->retry_len
                                : (c->out.len < JK_NET_READ_CHUNK ? c->out.len : JK_NET_READ_CHUNK);
        ssize_t rc = gnutls_record_send(c->tls, c->out.p + c->out.head, n);
        if (rc > 0) {
            c->retry_len = 0;
            jk_net_buf_consume(&c->out, (size_t)rc);
        } else if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED) {
            /* GnuTLS holds the record; the next call must ask for the same
             * length (the bytes at the head are unchanged). */
            c->retry_len = n;
            if (rc == GNUTLS_E_AGAIN)
                break;
        } else {
            jk_net_conn_kill(c, JK_NET_REASON_IO);
        }
    }
    conn_mask(c);
}

void jk_net_conn_resume(jk_net_conn *c)
{
    if (c->state != JK_NET_C_OPEN || !c->throttled)
        return;
    if (c->q) {
        jk_net_quic_resume(c);
        return;
    }
    /* Retry the frame that stopped us; one throttling episode is counted
     * once, however many steps it lasts. */
    c->throttled = false;
    c->resuming = true;
    conn_deliver(c);
    c->resuming = false;
    if (!c->throttled)
        conn_read(c);
    conn_mask(c);
}

void jk_net_conn_io(jk_net_conn *c, uint32_t events)
{
    if (c->q) {
        jk_net_quic_io(c);
        return;
    }
    switch (c->state) {
    case JK_NET_C_CONNECTING: {
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0)
            jk_net_conn_kill(c, JK_NET_REASON_IO);
        else
            conn_start_tls(c);
        break;
    }
    case JK_NET_C_HANDSHAKE:
        conn_handshake(c);
        break;
    case JK_NET_C_OPEN:
        if (c->throttled && (events & (EPOLLHUP | EPOLLERR))) {
            jk_net_conn_kill(c, JK_NET_REASON_IO);
            break;
        }
        if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
            conn_read(c);
        jk_net_conn_flush(c);
        break;
    case JK_NET_C_DEAD:
        break;
    }
    conn_mask(c);
}
