/*
 * src/net/internal.h — what the net layer's files share: the TLS identity
 * (tls.c), the token bucket (frame.c), the connection and peer tables
 * (net.c, conn.c), the QUIC transport (quic.c), and two hooks for tests.
 *
 * Invariants:
 *   - A peer has at most one live (authenticated) connection: peer->live.
 *   - A connection's peer index is set once its key is checked; before that
 *     it is JK_NET_NO_PEER for inbound connections and the dialled peer for
 *     outbound ones (peer->dialing points back at it). An outbound connection
 *     to an address-only peer (key_unknown) moves to the index of the key it
 *     authenticates as.
 *   - A connection is freed only in jk_net_conn_reap at the end of a step or
 *     at destroy, so a pointer taken from epoll stays valid for the whole step.
 */
#ifndef JK_NET_INTERNAL_H
#define JK_NET_INTERNAL_H

#include "jark/net.h"

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>

#define JK_NET_NO_PEER UINT32_MAX

/* ---- TLS identity (tls.c) ---- */

/* A node's credentials: its self-signed Ed25519 certificate and key, and the
 * ALPN protocol. Shared by every session of one node. */
typedef struct jk_net_tls {
    gnutls_certificate_credentials_t cred;
    gnutls_priority_t prio;
    gnutls_priority_t prio_quic;   /* the same, without TLS 1.3 compatibility mode */
    char alpn[24];
    uint8_t own_key[JK_NET_KEY_SIZE];
} jk_net_tls;

/* Build credentials from a 64-byte secret key (seed ‖ public) and genesis.
 * verify is installed as the certificate verification callback (it reads the
 * session pointer); NULL accepts any certificate (the rogue test client).
 * @return JK_OK; JK_ERR_NET_TLS; JK_ERR_INVALID_ARG (public half does not
 *         match the seed). */
jk_err jk_net_tls_init(jk_net_tls *t, const uint8_t secret_key[JK_NET_SECRET_SIZE],
                       const uint8_t genesis_hash[32],
                       gnutls_certificate_verify_function *verify, jk_diag *diag);
void jk_net_tls_free(jk_net_tls *t);

/* A non-blocking session on fd, client or server, with our credentials,
 * TLS 1.3 only, the ALPN protocol (mandatory on the server) and, on the
 * server, a client certificate required. ptr is the session pointer. */
jk_err jk_net_tls_session(const jk_net_tls *t, int fd, bool server, void *ptr,
                          gnutls_session_t *out);

/* A session for QUIC (no socket: ngtcp2 carries the handshake), configured
 * by ngtcp2's GnuTLS glue. ptr must point at an ngtcp2_crypto_conn_ref. */
jk_err jk_net_tls_quic_session(const jk_net_tls *t, bool server, void *ptr,
                               gnutls_session_t *out);

/* The peer's Ed25519 key from its certificate.
 * @return JK_OK; JK_ERR_NET_TLS (no certificate, not exactly one, not
 *         Ed25519). */
jk_err jk_net_tls_peer_key(gnutls_session_t s, uint8_t key[JK_NET_KEY_SIZE]);

/* true if the negotiated ALPN protocol is ours. */
bool jk_net_tls_alpn_ok(const jk_net_tls *t, gnutls_session_t s);

/* ---- token bucket (frame.c) ---- */

/* Tokens are kept in thousandths so that a refill of rate × ms / 1000 loses
 * nothing to rounding. */
typedef struct jk_net_bucket {
    uint64_t milli;      /* tokens × 1000 */
    uint64_t last_ms;
} jk_net_bucket;

void jk_net_bucket_init(jk_net_bucket *b, uint64_t burst, uint64_t now_ms);
void jk_net_bucket_refill(jk_net_bucket *b, uint32_t rate, uint64_t burst, uint64_t now_ms);
/* Take n tokens if there are that many. */
bool jk_net_bucket_take(jk_net_bucket *b, uint64_t n);
bool jk_net_bucket_has(const jk_net_bucket *b, uint64_t n);

/* ---- growable byte buffer ---- */

typedef struct jk_net_buf {
    uint8_t *p;
    size_t head, len, cap; /* bytes live at p[head .. head+len) */
} jk_net_buf;

jk_err jk_net_buf_append(jk_net_buf *b, const void *data, size_t n);
void jk_net_buf_consume(jk_net_buf *b, size_t n);
void jk_net_buf_free(jk_net_buf *b);

/* ---- connections and peers (net.c, conn.c) ---- */

typedef enum jk_net_cstate {
    JK_NET_C_CONNECTING, /* outbound TCP connect in progress */
    JK_NET_C_HANDSHAKE,  /* TLS handshake in progress */
    JK_NET_C_OPEN,       /* authenticated: peer->live == this */
    JK_NET_C_DEAD,       /* closed; freed at the end of the step */
} jk_net_cstate;

struct jk_quic;

typedef struct jk_net_conn {
    /* First, so that the TLS session pointer (which ngtcp2's GnuTLS glue
     * reads as a conn_ref) is also the connection. */
    ngtcp2_crypto_conn_ref ref;
    struct jk_quic *q;         /* QUIC state; NULL on the TCP transport */
    struct jk_net_conn *next;  /* every connection, newest first */
    struct jk_net *net;
    int fd;
    gnutls_session_t tls;      /* NULL while CONNECTING and once DEAD */
    jk_net_cstate state;
    bool outbound;
    bool throttled;            /* reading stopped until the buckets refill */
    bool resuming;             /* jk_net_conn_resume is retrying: same episode */
    uint32_t peer;             /* see the invariants above */
    uint8_t key[JK_NET_KEY_SIZE]; /* the certificate key, once checked */
    jk_net_reason fail;        /* why the certificate check refused */
    uint64_t started_ms;
    uint64_t opened_ms;        /* when it authenticated */
    uint32_t events;           /* the epoll mask registered now */
    size_t retry_len;          /* a record_send that said EAGAIN: same length again */
    jk_net_buf in, out;        /* received bytes not yet framed; queued frames */
} jk_net_conn;

typedef struct jk_net_peer {
    uint8_t key[JK_NET_KEY_SIZE];
    bool known;                /* configured (a validator) */
    bool key_unknown;          /* an address only (any_key): key learned at connect */
    bool has_addr;
    bool dial_set;             /* next_dial_ms is set (the first step sets it) */
    uint32_t addr_be;          /* IPv4, network order */
    uint16_t port;
    jk_net_conn *live;
    jk_net_conn *dialing;
    uint64_t next_dial_ms;
    uint64_t backoff_ms;       /* 0 after a success */
    jk_net_bucket bytes, msgs;
    jk_net_peer_stats st;
} jk_net_peer;

typedef struct jk_net_qev {
    jk_net_event ev;
    uint8_t *data;             /* owned copy of a FRAME payload */
} jk_net_qev;

struct jk_net {
    int ep, lfd;               /* lfd: TCP listener, or the QUIC UDP socket */
    jk_net_transport transport;
    uint16_t port;
    uint32_t listen_addr_be;   /* the QUIC listener's address (network order) */
    jk_net_tls tls;
    jk_net_limits lim;
    bool dial_at_once;         /* jk_net_config.dial_at_once */
    jk_net_quic_cc quic_cc;    /* jk_net_config.quic_cc */
    jk_net_peer *peers;
    uint32_t npeers, cap_peers;
    jk_net_conn *conns;
    uint32_t pending;          /* connections not yet OPEN */
    uint32_t nonval_live;      /* OPEN connections of unknown keys */
    uint64_t now;
    bool silent;               /* jk_net_abandon: close without telling peers */
    uint8_t reset_key[32];     /* QUIC stateless reset tokens: from the node key */
    uint32_t resets;           /* stateless resets sent in this step */
    /* Queued events in two rings (jk_net_emit): [0] everything but EVENTS
     * frames, [1] EVENTS frames; jk_net_next_event empties [0] first
     * (session 9: a vote read behind a burst of gossiped events is taken
     * before them). */
    struct jk_net_ring {
        jk_net_qev *q;
        size_t head, len, cap;
    } ring[2];
    uint8_t *delivered;        /* the data of the event last handed out */
    jk_net_stats st;
    int wake_fd;               /* jk_net_wake_on's descriptor, -1 none */
    uint64_t wakes;            /* steps it ended (or found ready) */
    uint8_t *gso_buf;          /* QUIC: a write pass's datagrams, sent in one call */
    bool no_gso;               /* the kernel refused UDP_SEGMENT: one call a datagram */
    struct quic_rx *rx;        /* QUIC: the receive batch's buffers (quic.c) */
};

/* conn.c: one connection's life; what both transports share. */
jk_net_conn *jk_net_conn_new(jk_net *net, int fd, bool outbound, uint32_t peer, uint32_t events);
/* The handshake is done: check ALPN and key, attach to the peer. */
void jk_net_conn_authenticated(jk_net_conn *c);
/* Deliver the whole frames at the start of in (rate limits apply); want is
 * the stream's kind, or -1 when any kind may come. Returns bytes consumed. */
size_t jk_net_conn_deliver(jk_net_conn *c, jk_net_buf *in, int want);
jk_err jk_net_conn_dial(jk_net *net, uint32_t peer);
void jk_net_conn_accept(jk_net *net);
void jk_net_conn_io(jk_net_conn *c, uint32_t events);
void jk_net_conn_resume(jk_net_conn *c);
void jk_net_conn_flush(jk_net_conn *c);
void jk_net_conn_kill(jk_net_conn *c, jk_net_reason why);
void jk_net_conn_reap(jk_net *net);
int jk_net_verify_cb(gnutls_session_t s);

/* quic.c: the QUIC transport. */
jk_err jk_net_quic_listen(jk_net *net, uint32_t addr_be, uint16_t port, jk_diag *diag);
void jk_net_quic_listener_read(jk_net *net);
void jk_net_quic_rx_free(jk_net *net);
jk_err jk_net_quic_dial(jk_net *net, uint32_t peer);
void jk_net_quic_io(jk_net_conn *c);
void jk_net_quic_flush(jk_net_conn *c);
void jk_net_quic_timer(jk_net_conn *c);
/* When the connection's next QUIC timer is due, in input-clock ms (rounded up). */
uint64_t jk_net_quic_due_ms(const jk_net_conn *c);
/* The live connection's congestion window and smoothed RTT into st. */
void jk_net_quic_peer_stat(const jk_net_conn *c, jk_net_peer_stats *st);
void jk_net_quic_resume(jk_net_conn *c);
jk_err jk_net_quic_queue(jk_net_conn *c, jk_net_kind kind, const uint8_t *data, size_t len);
uint64_t jk_net_quic_queued(const jk_net_conn *c);
jk_err jk_net_quic_queue_raw(jk_net_conn *c, unsigned stream, const uint8_t *data, size_t len);
uint64_t jk_net_quic_unsent(const jk_net_conn *c);
/* Send CONNECTION_CLOSE (unless draining) and free the QUIC state. */
void jk_net_quic_close(jk_net_conn *c, jk_net_reason why);

/* net.c: register a bound listening socket (TCP or UDP) with epoll and
 * record its address; closes fd on failure. */
struct sockaddr_in;
jk_err jk_net_listener_register(jk_net *net, int fd, const struct sockaddr_in *bound,
                                jk_diag *diag);

/* net.c: what connections report upward. */
void jk_net_emit(jk_net *net, jk_net_event_type type, uint32_t peer,
                 jk_net_reason reason, jk_net_kind kind, const uint8_t *data, size_t len);
/* The peer index for an authenticated key; creates an unknown peer. */
jk_err jk_net_peer_for_key(jk_net *net, const uint8_t key[JK_NET_KEY_SIZE], uint32_t *peer);
bool jk_net_peer_find_const(const jk_net *net, const uint8_t key[JK_NET_KEY_SIZE], uint32_t *peer);
/* Schedule the next dial after a failure (doubling backoff). */
void jk_net_peer_backoff(jk_net *net, jk_net_peer *p);

/* Tests only (the rogue peer): queue raw bytes to a connected peer without
 * framing — into the TLS stream on TCP, into the stream of kind `stream` on
 * QUIC (after its kind byte). JK_ERR_NET_NOT_CONNECTED when it is not up. */
jk_err jk_net_inject(jk_net *net, uint32_t peer, unsigned stream, const void *data, size_t n);
/* Tests only: free the net as a SIGKILL would end the process: sockets close
 * (TCP still sends FIN), but no TLS close_notify and no QUIC
 * CONNECTION_CLOSE, so QUIC peers learn nothing. */
void jk_net_abandon(jk_net *net);
/* Bytes queued to the peer and not yet handed to the socket / to ngtcp2. */
uint64_t jk_net_unsent(const jk_net *net, uint32_t peer);

#endif
