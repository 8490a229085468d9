/*
 * quic.c — the QUIC transport (ngtcp2 0.12 with its GnuTLS glue): the same
 * certificates, key check, ALPN and frames as the TCP transport, carried on
 * QUIC v1 with one unidirectional stream per message kind.
 *
 * Layout. A node has one UDP socket for the connections peers open to it
 * (the listener: packets are routed to a connection by destination
 * connection ID) and one connected UDP socket per connection it dials (the
 * kernel routes those). Every connection ID we issue starts with the
 * connection's 8-byte prefix, so the listener routes by prefix; a client's
 * first Initial packets carry the ID the client chose, kept as orig_dcid.
 *
 * Streams. After the handshake each side opens three unidirectional streams;
 * a stream's first byte is its kind, then frames exactly as on TCP, whose
 * kind must match the stream's (jk_net_conn_deliver checks it). Received
 * bytes are credited back to the peer (MAX_STREAM_DATA, MAX_DATA) only as
 * frames are delivered, so a throttled peer is stopped by flow control with
 * at most one window (≥ the largest frame) buffered.
 *
 * Sending. ngtcp2 keeps pointers into the data it was given until the peer
 * acknowledges it, so each queued frame is its own chunk that never moves,
 * freed when acked_stream_data_offset passes its end.
 *
 * Reentrancy. ngtcp2 callbacks only record (data into buffers, handshake
 * done, a protocol violation); everything that may close the connection runs
 * after ngtcp2_conn_read_pkt returns (quic_after), because closing frees the
 * ngtcp2_conn.
 *
 * Stream data in and out lives in quic_stream.c.
 *
 * Time. ngtcp2's timestamps are the input clock (now_ms) in nanoseconds;
 * loss recovery and the idle timeout run on it like everything else.
 */
#define _GNU_SOURCE
#include "quic_internal.h"

#include "jark/crypto.h"

#include <gnutls/crypto.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>


/* ---- callbacks ---- */

static ngtcp2_conn *quic_get_conn(ngtcp2_crypto_conn_ref *ref)
{
    jk_net_conn *c = ref->user_data;
    return c->q->qc;
}

static void quic_rand(uint8_t *dest, size_t len, const ngtcp2_rand_ctx *ctx)
{
    (void)ctx;
    (void)gnutls_rnd(GNUTLS_RND_RANDOM, dest, len);
}

/* The stateless reset token for one of our connection IDs: a keyed hash, so
 * that only we (now or after a restart) can make it. */
static void quic_reset_token(const jk_net *net, const uint8_t *cid, size_t cidlen,
                             uint8_t token[NGTCP2_STATELESS_RESET_TOKENLEN])
{
    uint8_t in[32 + NGTCP2_MAX_CIDLEN];
    memcpy(in, net->reset_key, 32);
    memcpy(in + 32, cid, cidlen);
    (void)jk_crypto_blake2b(in, 32 + cidlen, token, NGTCP2_STATELESS_RESET_TOKENLEN);
}

static int quic_new_cid(ngtcp2_conn *qc, ngtcp2_cid *cid, uint8_t *token, size_t cidlen,
                        void *user_data)
{
    (void)qc;
    jk_net_conn *c = user_data;
    if (cidlen != JK_QUIC_CIDLEN)
        return NGTCP2_ERR_CALLBACK_FAILURE;
    memcpy(cid->data, c->q->prefix, JK_QUIC_PREFIX);
    if (gnutls_rnd(GNUTLS_RND_NONCE, cid->data + JK_QUIC_PREFIX, cidlen - JK_QUIC_PREFIX) != 0)
        return NGTCP2_ERR_CALLBACK_FAILURE;
    cid->datalen = cidlen;
    quic_reset_token(c->net, cid->data, cidlen, token);
    return 0;
}

static int quic_handshake_done(ngtcp2_conn *qc, void *user_data)
{
    (void)qc;
    jk_net_conn *c = user_data;
    c->q->hs_done = true;
    return 0;
}

static void quic_callbacks(ngtcp2_callbacks *cb, bool server)
{
    memset(cb, 0, sizeof *cb);
    if (server)
        cb->recv_client_initial = ngtcp2_crypto_recv_client_initial_cb;
    else {
        cb->client_initial = ngtcp2_crypto_client_initial_cb;
        cb->recv_retry = ngtcp2_crypto_recv_retry_cb;
    }
    cb->recv_crypto_data = ngtcp2_crypto_recv_crypto_data_cb;
    cb->encrypt = ngtcp2_crypto_encrypt_cb;
    cb->decrypt = ngtcp2_crypto_decrypt_cb;
    cb->hp_mask = ngtcp2_crypto_hp_mask_cb;
    cb->update_key = ngtcp2_crypto_update_key_cb;
    cb->delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb;
    cb->delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb;
    cb->get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb;
    cb->version_negotiation = ngtcp2_crypto_version_negotiation_cb;
    cb->rand = quic_rand;
    cb->get_new_connection_id = quic_new_cid;
    cb->handshake_completed = quic_handshake_done;
    cb->recv_stream_data = jk_net_quic_recv_stream;
    cb->acked_stream_data_offset = jk_net_quic_acked;
}

/* Transport parameters: no bidirectional streams, three unidirectional ones,
 * a stream window that holds the largest frame. */
static void quic_params(const jk_net *net, ngtcp2_transport_params *p)
{
    ngtcp2_transport_params_default(p);
    uint64_t biggest = 0;
    for (int k = 0; k < JK_NET_KINDS; k++)
        if (net->lim.max_frame[k] > biggest)
            biggest = net->lim.max_frame[k];
    uint64_t window = biggest + JK_NET_FRAME_HEADER + 1 + 65536;
    p->initial_max_streams_bidi = 0;
    p->initial_max_streams_uni = JK_NET_KINDS;
    p->initial_max_stream_data_uni = window;
    p->initial_max_data = window * JK_NET_KINDS;
    p->max_idle_timeout = JK_QUIC_IDLE_MS * NGTCP2_MILLISECONDS;
    p->disable_active_migration = 1; /* peers have fixed addresses */
}

static void quic_settings(const jk_net *net, ngtcp2_settings *s)
{
    ngtcp2_settings_default(s);
    s->initial_ts = jk_quic_ts(net);
    static const ngtcp2_cc_algo algo[] = {
        [JK_NET_CC_CUBIC] = NGTCP2_CC_ALGO_CUBIC, [JK_NET_CC_RENO] = NGTCP2_CC_ALGO_RENO,
        [JK_NET_CC_BBR] = NGTCP2_CC_ALGO_BBR, [JK_NET_CC_BBR2] = NGTCP2_CC_ALGO_BBR2};
    s->cc_algo = algo[net->quic_cc];
}

jk_err jk_net_quic_cc_parse(const char *name, jk_net_quic_cc *out)
{
    static const char *const names[] = {[JK_NET_CC_CUBIC] = "cubic", [JK_NET_CC_RENO] = "reno",
                                        [JK_NET_CC_BBR] = "bbr", [JK_NET_CC_BBR2] = "bbr2"};
    for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++)
        if (name && strcmp(name, names[i]) == 0) {
            *out = (jk_net_quic_cc)i;
            return JK_OK;
        }
    return JK_ERR_PARSE;
}

/* ---- state ---- */

static struct jk_quic *quic_state(void)
{
    struct jk_quic *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->recovery_ts = UINT64_MAX; /* ngtcp2's value before any recovery */
    for (int k = 0; k < JK_NET_KINDS; k++) {
        q->out[k].id = -1;
        q->in[k].id = -1;
        q->in[k].kind = -1;
    }
    ngtcp2_connection_close_error_default(&q->ccerr);
    if (gnutls_rnd(GNUTLS_RND_NONCE, q->prefix, sizeof q->prefix) != 0) {
        free(q);
        return NULL;
    }
    return q;
}

static void quic_free(struct jk_quic *q)
{
    for (int k = 0; k < JK_NET_KINDS; k++) {
        jk_quic_chunk *ch = q->out[k].head;
        while (ch) {
            jk_quic_chunk *next = ch->next;
            free(ch);
            ch = next;
        }
        jk_net_buf_free(&q->in[k].buf);
    }
    if (q->qc)
        ngtcp2_conn_del(q->qc);
    free(q);
}

/* Ask the kernel to coalesce a flow's datagrams (UDP GRO: one receive call
 * for a sender's GSO burst). Where it cannot, datagrams come one a call. */
static void quic_gro(int fd)
{
    int one = 1;
    (void)setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof one);
}

/* One datagram on the path ngtcp2 chose (on the listener, to the address it
 * names: after a NAT rebinding that is the new one). */
static bool quic_send_one(jk_net_conn *c, const ngtcp2_path *path, const uint8_t *pkt, size_t n)
{
    /* A datagram the socket refuses is a lost packet: QUIC resends it. */
    if (c->fd >= 0)
        (void)send(c->fd, pkt, n, 0);
    else if (path->remote.addrlen == sizeof(struct sockaddr_in))
        (void)sendto(c->net->lfd, pkt, n, 0, (const struct sockaddr *)path->remote.addr,
                     path->remote.addrlen);
    else
        return false;
    c->net->st.datagrams_out++;
    c->net->st.send_calls++;
    return true;
}

void jk_net_quic_send(jk_net_conn *c, const ngtcp2_path *path, const uint8_t *pkt, size_t n)
{
    (void)quic_send_one(c, path, pkt, n);
}

void jk_net_quic_send_segs(jk_net_conn *c, const ngtcp2_path *path, const uint8_t *buf, size_t len,
                           size_t seg)
{
    jk_net *net = c->net;
    size_t count = seg ? (len + seg - 1) / seg : 0;
    if (count > 1 && !net->no_gso && (c->fd >= 0 || path->remote.addrlen == sizeof(struct sockaddr_in))) {
        struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
        union {
            char bytes[CMSG_SPACE(sizeof(uint16_t))];
            struct cmsghdr align;
        } ctl;
        memset(&ctl, 0, sizeof ctl);
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.bytes,
                            .msg_controllen = sizeof ctl.bytes};
        if (c->fd < 0) {
            mh.msg_name = (void *)path->remote.addr;
            mh.msg_namelen = path->remote.addrlen;
        }
        struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
        cm->cmsg_level = SOL_UDP;
        cm->cmsg_type = UDP_SEGMENT;
        cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
        uint16_t gso = (uint16_t)seg;
        memcpy(CMSG_DATA(cm), &gso, sizeof gso);
        ssize_t rc = sendmsg(c->fd >= 0 ? c->fd : net->lfd, &mh, 0);
        if (rc >= 0 || (errno != EIO && errno != EINVAL && errno != ENOPROTOOPT &&
                        errno != EOPNOTSUPP && errno != EMSGSIZE)) {
            /* Sent, or refused as a whole for a reason that is not GSO's
             * (a full buffer): lost packets, which QUIC resends. */
            net->st.datagrams_out += count;
            net->st.send_calls++;
            return;
        }
        /* This kernel or device cannot segment: one call a datagram from now on. */
        net->no_gso = true;
    }
    for (size_t off = 0; off < len; off += seg)
        if (!quic_send_one(c, path, buf + off, len - off < seg ? len - off : seg))
            return;
}

static void quic_path(struct jk_quic *q, ngtcp2_path *path)
{
    memset(path, 0, sizeof *path);
    path->local.addr = (ngtcp2_sockaddr *)&q->local;
    path->local.addrlen = sizeof q->local;
    path->remote.addr = (ngtcp2_sockaddr *)&q->remote;
    path->remote.addrlen = sizeof q->remote;
}

/* ---- after ngtcp2 has read or timed ---- */

/* Count a congestion event (ngtcp2 starts a recovery period when it
 * declares a loss, or sees ECN-CE) on the peer's statistics. */
static void quic_note_recovery(jk_net_conn *c)
{
    struct jk_quic *q = c->q;
    ngtcp2_conn_stat cs;
    ngtcp2_conn_get_conn_stat(q->qc, &cs);
    if (cs.congestion_recovery_start_ts != q->recovery_ts) {
        q->recovery_ts = cs.congestion_recovery_start_ts;
        if (c->state == JK_NET_C_OPEN && c->peer < c->net->npeers)
            c->net->peers[c->peer].st.recoveries++;
    }
}

static void quic_after(jk_net_conn *c)
{
    struct jk_quic *q = c->q;
    quic_note_recovery(c);
    if (q->bad != JK_NET_REASON_NONE) {
        jk_net_conn_kill(c, q->bad);
        return;
    }
    if (q->hs_done && c->state == JK_NET_C_HANDSHAKE) {
        jk_net_quic_open_streams(c);
        if (c->state == JK_NET_C_DEAD)
            return;
        jk_net_conn_authenticated(c);
        if (c->state != JK_NET_C_OPEN)
            return;
    }
    if (c->state == JK_NET_C_OPEN)
        jk_net_quic_deliver(c);
    if (c->state != JK_NET_C_DEAD)
        jk_net_quic_write(c);
}

/* quic_after for c if a packet of the batch just read was for it. */
static void quic_after_batch(jk_net_conn *c)
{
    if (c->q && c->q->after && c->state != JK_NET_C_DEAD) {
        c->q->after = false;
        quic_after(c);
    }
}

static void quic_read(jk_net_conn *c, const uint8_t *pkt, size_t n, const struct sockaddr_in *from)
{
    struct jk_quic *q = c->q;
    ngtcp2_path path;
    quic_path(q, &path);
    struct sockaddr_in remote = *from;
    path.remote.addr = (ngtcp2_sockaddr *)&remote;
    ngtcp2_pkt_info pi = {0};
    int rv = ngtcp2_conn_read_pkt(q->qc, &path, &pi, pkt, n, jk_quic_ts(c->net));
    if (rv == 0) {
        /* Delivery and the write pass wait for the end of the read batch
         * (quic_after_batch): one pass then acknowledges every packet of the
         * batch in one ACK, where a pass per packet sent an ACK-only
         * datagram for every second packet read (ngtcp2 acknowledges at
         * once from two ack-eliciting packets on). */
        q->after = true;
        return;
    }
    jk_net_reason why = c->state == JK_NET_C_OPEN ? JK_NET_REASON_IO : JK_NET_REASON_HANDSHAKE;
    if (c->fail != JK_NET_REASON_NONE)
        why = c->fail; /* our certificate check refused */
    if (rv == NGTCP2_ERR_DRAINING || rv == NGTCP2_ERR_DROP_CONN) {
        q->draining = true; /* the peer closed: answer nothing */
        if (c->state == JK_NET_C_OPEN && rv == NGTCP2_ERR_DRAINING)
            why = JK_NET_REASON_CLOSED;
    } else if (rv == NGTCP2_ERR_CRYPTO) {
        ngtcp2_connection_close_error_set_transport_error_tls_alert(
            &q->ccerr, ngtcp2_conn_get_tls_alert(q->qc), NULL, 0);
    } else {
        ngtcp2_connection_close_error_set_transport_error_liberr(&q->ccerr, rv, NULL, 0);
    }
    jk_net_conn_kill(c, why);
}

/* ---- connections ---- */

static jk_err quic_tls(jk_net_conn *c, bool server)
{
    /* Quiet peers (a full node between blocks) must not idle out. */
    ngtcp2_conn_set_keep_alive_timeout(c->q->qc, JK_QUIC_KEEPALIVE_MS * NGTCP2_MILLISECONDS);
    c->ref.get_conn = quic_get_conn;
    c->ref.user_data = c;
    if (jk_net_tls_quic_session(&c->net->tls, server, &c->ref, &c->tls) != JK_OK) {
        c->tls = NULL;
        return JK_ERR_NET_TLS;
    }
    ngtcp2_conn_set_tls_native_handle(c->q->qc, c->tls);
    return JK_OK;
}

/* The ngtcp2 connection and its TLS session. dcid: the peer's ID (the
 * client picks one at random; the server answers the client's source ID);
 * original: the ID the client's first Initial was sent to (server only). */
static jk_err quic_start(jk_net_conn *c, bool server, const ngtcp2_cid *dcid, uint32_t version,
                         const ngtcp2_cid *original)
{
    struct jk_quic *q = c->q;
    ngtcp2_cid scid;
    scid.datalen = JK_QUIC_CIDLEN;
    memcpy(scid.data, q->prefix, JK_QUIC_PREFIX);
    if (gnutls_rnd(GNUTLS_RND_NONCE, scid.data + JK_QUIC_PREFIX, JK_QUIC_CIDLEN - JK_QUIC_PREFIX) != 0)
        return JK_ERR_NET_TLS;
    ngtcp2_callbacks cb;
    ngtcp2_settings settings;
    ngtcp2_transport_params params;
    ngtcp2_path path;
    quic_callbacks(&cb, server);
    quic_settings(c->net, &settings);
    quic_params(c->net, &params);
    if (server) {
        params.original_dcid = *original;
        params.stateless_reset_token_present = 1;
        quic_reset_token(c->net, scid.data, scid.datalen, params.stateless_reset_token);
    }
    quic_path(q, &path);
    int rv = server ? ngtcp2_conn_server_new(&q->qc, dcid, &scid, &path, version, &cb, &settings,
                                             &params, NULL, c)
                    : ngtcp2_conn_client_new(&q->qc, dcid, &scid, &path, version, &cb, &settings,
                                             &params, NULL, c);
    if (rv != 0) {
        q->qc = NULL;
        return JK_ERR_NET_TLS;
    }
    return quic_tls(c, server);
}

jk_err jk_net_quic_dial(jk_net *net, uint32_t peer)
{
    jk_net_peer *p = &net->peers[peer];
    net->st.dialled++;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(p->port),
                             .sin_addr.s_addr = p->addr_be};
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in local;
    socklen_t ll = sizeof local;
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        getsockname(fd, (struct sockaddr *)&local, &ll) != 0) {
        if (fd >= 0)
            close(fd);
        net->st.refused[JK_NET_REASON_IO]++;
        jk_net_peer_backoff(net, p);
        return JK_OK;
    }
    quic_gro(fd);
    struct jk_quic *q = quic_state();
    jk_net_conn *c = q ? jk_net_conn_new(net, fd, true, peer, EPOLLIN) : NULL;
    if (!c) {
        free(q);
        close(fd);
        return JK_ERR_NOMEM;
    }
    c->q = q;
    p->dialing = c;
    q->local = local;
    q->remote = sa;
    ngtcp2_cid dcid;
    dcid.datalen = JK_QUIC_CIDLEN;
    if (gnutls_rnd(GNUTLS_RND_NONCE, dcid.data, JK_QUIC_CIDLEN) != 0 ||
        quic_start(c, false, &dcid, NGTCP2_PROTO_VER_V1, NULL) != JK_OK) {
        q->draining = true;
        jk_net_conn_kill(c, JK_NET_REASON_IO);
        return JK_OK;
    }
    jk_net_quic_write(c); /* the client's first Initial */
    return JK_OK;
}

/* A short-header packet for a connection we do not have: if it is for one
 * of our connection IDs (our length), a connection from before a restart
 * most likely; answer with a stateless reset, smaller than the packet (so
 * two nodes can never loop, nor anyone use us to amplify), a few per step. */
static void quic_reset(jk_net *net, const uint8_t *pkt, size_t n, const struct sockaddr_in *from)
{
    size_t min = 1 + NGTCP2_MIN_STATELESS_RESET_RANDLEN + NGTCP2_STATELESS_RESET_TOKENLEN;
    if ((pkt[0] & 0x80) != 0 || n < 1 + JK_QUIC_CIDLEN || n <= min + 1 || net->resets >= 16)
        return;
    uint8_t token[NGTCP2_STATELESS_RESET_TOKENLEN], rnd[64], out[1 + 64 + NGTCP2_STATELESS_RESET_TOKENLEN];
    quic_reset_token(net, pkt + 1, JK_QUIC_CIDLEN, token);
    size_t randlen = n - 1 - 1 - NGTCP2_STATELESS_RESET_TOKENLEN; /* one byte short of n */
    if (randlen > sizeof rnd)
        randlen = sizeof rnd;
    if (gnutls_rnd(GNUTLS_RND_NONCE, rnd, randlen) != 0)
        return;
    ngtcp2_ssize w = ngtcp2_pkt_write_stateless_reset(out, sizeof out, token, rnd, randlen);
    if (w > 0) {
        net->resets++;
        net->st.datagrams_out++;
        net->st.send_calls++;
        (void)sendto(net->lfd, out, (size_t)w, 0, (const struct sockaddr *)from, sizeof *from);
    }
}

/* A connection the listener has not seen: a client's first Initial. */
static void quic_accept(jk_net *net, const uint8_t *pkt, size_t n, const struct sockaddr_in *from)
{
    ngtcp2_pkt_hd hd;
    if (ngtcp2_accept(&hd, pkt, n) != 0) {
        quic_reset(net, pkt, n, from); /* not an Initial we can take */
        return;
    }
    net->st.accepted++;
    if (net->pending >= net->lim.max_pending) {
        net->st.refused[JK_NET_REASON_TOO_MANY]++;
        return;
    }
    struct jk_quic *q = quic_state();
    jk_net_conn *c = q ? jk_net_conn_new(net, -1, false, JK_NET_NO_PEER, 0) : NULL;
    if (!c) {
        free(q);
        return;
    }
    c->q = q;
    q->remote = *from;
    q->local.sin_family = AF_INET;
    q->local.sin_port = htons(net->port);
    q->local.sin_addr.s_addr = net->listen_addr_be;
    q->orig_dcid = hd.dcid;
    if (quic_start(c, true, &hd.scid, hd.version, &hd.dcid) != JK_OK) {
        q->draining = true;
        jk_net_conn_kill(c, JK_NET_REASON_IO);
        return;
    }
    quic_read(c, pkt, n, from);
}

static bool quic_same_addr(const struct sockaddr_in *a, const struct sockaddr_in *b)
{
    return a->sin_port == b->sin_port && a->sin_addr.s_addr == b->sin_addr.s_addr;
}

/* What one receive batch fills: up to JK_QUIC_RX_MSGS messages, each one
 * datagram or, with UDP GRO, several of one flow coalesced by the kernel,
 * seg[i] bytes each (the last may be shorter). */
typedef struct quic_rx {
    struct mmsghdr mm[JK_QUIC_RX_MSGS];
    struct iovec iov[JK_QUIC_RX_MSGS];
    struct sockaddr_in from[JK_QUIC_RX_MSGS];
    union {
        char bytes[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } ctl[JK_QUIC_RX_MSGS];
    size_t seg[JK_QUIC_RX_MSGS];
    unsigned cap;            /* messages the buffers hold */
    uint8_t *buf;            /* cap × JK_QUIC_RX_BUF */
} quic_rx;

/* One recvmmsg on fd: the messages waiting, up to rx->cap. Fewer than cap
 * means the socket was empty when the call returned, so the caller stops
 * there — where reading one message a call took one more call, to find
 * EAGAIN, after every burst (docs/network.md "Reads in batches").
 * @return the messages received, or -1 (errno set). */
static int quic_recv(jk_net *net, int fd, quic_rx *rx)
{
    for (unsigned i = 0; i < rx->cap; i++) {
        rx->iov[i] = (struct iovec){.iov_base = rx->buf + (size_t)i * JK_QUIC_RX_BUF,
                                    .iov_len = JK_QUIC_RX_BUF};
        rx->mm[i].msg_hdr = (struct msghdr){.msg_name = &rx->from[i], .msg_namelen = sizeof rx->from[i],
                                            .msg_iov = &rx->iov[i], .msg_iovlen = 1,
                                            .msg_control = rx->ctl[i].bytes,
                                            .msg_controllen = sizeof rx->ctl[i].bytes};
        rx->mm[i].msg_len = 0;
    }
    int got = recvmmsg(fd, rx->mm, rx->cap, 0, NULL);
    net->st.recv_calls++;
    if (got < 0)
        return -1;
    for (int i = 0; i < got; i++) {
        struct msghdr *mh = &rx->mm[i].msg_hdr;
        size_t n = rx->mm[i].msg_len;
        rx->seg[i] = n;
        for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm))
            if (cm->cmsg_level == SOL_UDP && cm->cmsg_type == UDP_GRO &&
                cm->cmsg_len >= CMSG_LEN(sizeof(int))) {
                int g;
                memcpy(&g, CMSG_DATA(cm), sizeof g);
                if (g > 0 && (size_t)g < n)
                    rx->seg[i] = (size_t)g;
            }
        /* an empty datagram is one too (a count of n - 1 + seg wrapped) */
        net->st.datagrams_in += n ? (n + rx->seg[i] - 1) / rx->seg[i] : 1;
    }
    return got;
}

/* The net's receive buffers (allocated at the first read, kept), or one
 * message's in fallback when there is no memory for them: then each call
 * takes one message, as before the batches. */
static quic_rx *quic_rx_get(jk_net *net, quic_rx *fallback, uint8_t *fallback_buf)
{
    if (!net->rx) {
        quic_rx *rx = malloc(sizeof *rx);
        uint8_t *buf = rx ? malloc((size_t)JK_QUIC_RX_MSGS * JK_QUIC_RX_BUF) : NULL;
        if (!buf) {
            free(rx);
            fallback->cap = 1;
            fallback->buf = fallback_buf;
            return fallback;
        }
        rx->cap = JK_QUIC_RX_MSGS;
        rx->buf = buf;
        net->rx = rx;
    }
    return net->rx;
}

void jk_net_quic_rx_free(jk_net *net)
{
    if (net->rx) {
        free(net->rx->buf);
        free(net->rx);
        net->rx = NULL;
    }
}

/* One datagram on the listener: to its connection, or to the accept path. */
static void quic_listener_datagram(jk_net *net, const uint8_t *buf, size_t n,
                                   const struct sockaddr_in *from)
{
    ngtcp2_version_cid vc;
    if (ngtcp2_pkt_decode_version_cid(&vc, buf, n, JK_QUIC_CIDLEN) != 0)
        return; /* malformed, or a version we do not speak: drop */
    jk_net_conn *hit = NULL;
    for (jk_net_conn *c = net->conns; c && !hit; c = c->next) {
        if (!c->q || c->outbound || c->state == JK_NET_C_DEAD)
            continue;
        struct jk_quic *q = c->q;
        if ((vc.dcidlen == JK_QUIC_CIDLEN && memcmp(vc.dcid, q->prefix, JK_QUIC_PREFIX) == 0) ||
            (vc.dcidlen == q->orig_dcid.datalen &&
             memcmp(vc.dcid, q->orig_dcid.data, vc.dcidlen) == 0 && quic_same_addr(from, &q->remote)))
            hit = c;
    }
    if (hit)
        quic_read(hit, buf, n, from);
    else
        quic_accept(net, buf, n, from);
}

void jk_net_quic_listener_read(jk_net *net)
{
    quic_rx one;
    uint8_t one_buf[JK_QUIC_RX_BUF];
    quic_rx *rx = quic_rx_get(net, &one, one_buf);
    for (int guard = 0; guard < JK_QUIC_RX_CALLS; guard++) {
        int got = quic_recv(net, net->lfd, rx);
        for (int i = 0; i < got; i++) {
            const struct sockaddr_in *from = &rx->from[i];
            size_t n = rx->mm[i].msg_len, seg = rx->seg[i];
            const uint8_t *buf = rx->buf + (size_t)i * JK_QUIC_RX_BUF;
            if (rx->mm[i].msg_hdr.msg_namelen != sizeof *from || from->sin_family != AF_INET)
                continue;
            /* Each segment of a coalesced receive is a datagram of its own. */
            for (size_t off = 0; off < n; off += seg)
                quic_listener_datagram(net, buf + off, n - off < seg ? n - off : seg, from);
        }
        if (got < (int)rx->cap)
            break; /* empty (or an error: the next readiness says) */
    }
    /* Connections killed in the batch have no q; those accepted in it are
     * on the list already. */
    for (jk_net_conn *c = net->conns; c; c = c->next)
        quic_after_batch(c);
}

void jk_net_quic_io(jk_net_conn *c)
{
    jk_net *net = c->net;
    quic_rx one;
    uint8_t one_buf[JK_QUIC_RX_BUF];
    quic_rx *rx = quic_rx_get(net, &one, one_buf);
    for (int guard = 0; guard < JK_QUIC_RX_CALLS && c->state != JK_NET_C_DEAD; guard++) {
        int got = quic_recv(net, c->fd, rx);
        if (got < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                break;
            /* ICMP port unreachable on a connected socket: nobody there. */
            c->q->draining = true;
            jk_net_conn_kill(c, JK_NET_REASON_IO);
            return;
        }
        for (int i = 0; i < got && c->state != JK_NET_C_DEAD; i++) {
            size_t n = rx->mm[i].msg_len, seg = rx->seg[i];
            const uint8_t *buf = rx->buf + (size_t)i * JK_QUIC_RX_BUF;
            for (size_t off = 0; off < n && c->state != JK_NET_C_DEAD; off += seg)
                quic_read(c, buf + off, n - off < seg ? n - off : seg, &c->q->remote);
        }
        if (got < (int)rx->cap)
            break;
    }
    quic_after_batch(c);
}

void jk_net_quic_timer(jk_net_conn *c)
{
    struct jk_quic *q = c->q;
    uint64_t ts = jk_quic_ts(c->net);
    if (ngtcp2_conn_get_expiry(q->qc) > ts)
        return;
    ngtcp2_conn_stat cs;
    ngtcp2_conn_get_conn_stat(q->qc, &cs);
    size_t ptos = cs.pto_count;
    int rv = ngtcp2_conn_handle_expiry(q->qc, ts);
    if (rv != 0) {
        q->draining = true; /* idle timeout: close silently, as RFC 9000 §10.1 says */
        jk_net_conn_kill(c, c->state == JK_NET_C_OPEN ? JK_NET_REASON_CLOSED
                                                      : JK_NET_REASON_TIMEOUT);
        return;
    }
    ngtcp2_conn_get_conn_stat(q->qc, &cs);
    if (cs.pto_count > ptos && c->state == JK_NET_C_OPEN && c->peer < c->net->npeers)
        c->net->peers[c->peer].st.ptos++;
    quic_note_recovery(c);
    jk_net_quic_write(c);
}

void jk_net_quic_peer_stat(const jk_net_conn *c, jk_net_peer_stats *st)
{
    ngtcp2_conn_stat cs;
    ngtcp2_conn_get_conn_stat(c->q->qc, &cs);
    st->cwnd = cs.cwnd;
    st->srtt_us = cs.smoothed_rtt / NGTCP2_MICROSECONDS;
}

uint64_t jk_net_quic_due_ms(const jk_net_conn *c)
{
    uint64_t exp = ngtcp2_conn_get_expiry(c->q->qc);
    if (exp == UINT64_MAX)
        return UINT64_MAX;
    return exp / NGTCP2_MILLISECONDS + (exp % NGTCP2_MILLISECONDS != 0);
}

void jk_net_quic_close(jk_net_conn *c, jk_net_reason why)
{
    struct jk_quic *q = c->q;
    if (q->qc && !q->draining && !c->net->silent && !ngtcp2_conn_is_in_closing_period(q->qc) &&
        !ngtcp2_conn_is_in_draining_period(q->qc)) {
        if (q->ccerr.error_code == 0 && q->ccerr.type ==
            NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_TRANSPORT && c->state == JK_NET_C_OPEN)
            ngtcp2_connection_close_error_set_application_error(&q->ccerr, (uint64_t)why, NULL, 0);
        uint8_t pkt[JK_QUIC_PKT];
        ngtcp2_path_storage ps;
        ngtcp2_path_storage_zero(&ps);
        ngtcp2_pkt_info pi;
        ngtcp2_ssize n = ngtcp2_conn_write_connection_close(q->qc, &ps.path, &pi, pkt, sizeof pkt,
                                                            &q->ccerr, jk_quic_ts(c->net));
        if (n > 0)
            jk_net_quic_send(c, &ps.path, pkt, (size_t)n);
    }
    quic_free(q);
    c->q = NULL;
    if (c->tls)
        gnutls_deinit(c->tls);
    c->tls = NULL;
}

jk_err jk_net_quic_listen(jk_net *net, uint32_t addr_be, uint16_t port, jk_diag *diag)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return jk_diag_set(diag, JK_ERR_NET_LISTEN, "net: socket: %s", strerror(errno));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = addr_be};
    socklen_t sl = sizeof sa;
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &sl) != 0) {
        int e = errno;
        close(fd);
        return jk_diag_set(diag, JK_ERR_NET_LISTEN, "net: bind UDP port %u: %s", port, strerror(e));
    }
    quic_gro(fd);
    return jk_net_listener_register(net, fd, &sa, diag);
}
