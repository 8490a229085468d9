/*
 * jark/net.h — the peer-to-peer transport: authenticated, framed, rate-limited
 * connections between nodes, driven by one event-loop thread.
 *
 * What runs underneath: QUIC v1 (ngtcp2 0.12 with GnuTLS) by default, or TLS
 * 1.3 over TCP (GnuTLS) — cfg->transport. Nothing else in this header depends
 * on that choice (docs/network.md).
 *
 * Identity. Each node's TLS certificate is self-signed with its Ed25519 node
 * key (a validator's node key is its validator key). After the handshake the
 * peer's certificate key is checked: a dialled peer must present the key its
 * configuration names (an address-only peer, any_key, may present any
 * configured key); a peer with a configured key is a known peer, any other
 * key is admitted as a non-validator up to limits.max_nonvalidators.
 * The ALPN protocol is "jark/1/" followed by the first 16 hex digits of the
 * genesis hash, so a node of another chain fails the handshake.
 *
 * Messages. A frame is one message of one kind (jk_net_kind): consensus
 * (votes and proposals), events, sync (block and certificate requests and
 * responses). On the wire: kind (1 byte) ‖ length (u32 little-endian) ‖
 * payload; each kind has its own size bound (limits.max_frame). Over QUIC
 * each kind has its own unidirectional stream (its first byte the kind, and
 * every frame on it of that kind); over TCP the kinds share the TLS stream. A
 * peer that sends an unknown kind or an oversize frame is disconnected and
 * counted; so is one the upper layer reports (jk_net_disconnect with
 * JK_NET_REASON_BAD_SIG). Payloads are opaque here.
 *
 * Rate limits. Each peer has two token buckets, bytes and messages per second.
 * A peer over its budget is throttled: the node stops taking its frames
 * (TCP's window, QUIC's flow-control credit push back on the sender) until
 * the buckets refill. Buckets refill from the time passed to jk_net_step,
 * never from a clock read here, so tests drive time and need no wall clock.
 * Reconnect backoff, handshake timeouts and QUIC's timers use the same time.
 *
 * Threads. A jk_net is not locked: create it, step it and call every other
 * function from one thread (the node's network thread). The library starts no
 * thread of its own.
 *
 * Determinism. Nothing here decides a consensus result; what arrives from the
 * network and when is not deterministic, but every decision this layer takes
 * from a given input (frame bytes, time) is.
 */
#ifndef JARK_NET_H
#define JARK_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jark/err.h"

#define JK_NET_KEY_SIZE 32          /* an Ed25519 public key */
#define JK_NET_SECRET_SIZE 64       /* libsodium layout: seed ‖ public key */
#define JK_NET_FRAME_HEADER 5       /* kind (1) ‖ length (u32 LE) */
#define JK_NET_MAX_FRAME (32u << 20) /* no kind's bound may exceed this */
#define JK_NET_ALPN_PREFIX "jark/1/"

/* Message families; one stream kind each. */
typedef enum jk_net_kind {
    JK_NET_CONSENSUS = 0, /* votes and proposals */
    JK_NET_EVENTS = 1,    /* events (transactions) relayed between nodes */
    JK_NET_SYNC = 2,      /* block and certificate requests and responses */
} jk_net_kind;
#define JK_NET_KINDS 3

/* Why a connection ended (PEER_DOWN events, statistics). */
typedef enum jk_net_reason {
    JK_NET_REASON_NONE = 0,
    JK_NET_REASON_CLOSED,     /* the peer closed the connection */
    JK_NET_REASON_IO,         /* a socket or TLS error */
    JK_NET_REASON_HANDSHAKE,  /* TLS handshake failed (includes another chain's ALPN) */
    JK_NET_REASON_BAD_KEY,    /* certificate key not the expected one */
    JK_NET_REASON_TOO_MANY,   /* non-validator limit reached */
    JK_NET_REASON_TIMEOUT,    /* handshake not done within limits.handshake_ms */
    JK_NET_REASON_GARBAGE,    /* malformed frame (unknown kind) */
    JK_NET_REASON_OVERSIZE,   /* frame over its kind's bound */
    JK_NET_REASON_BAD_SIG,    /* reported by the upper layer: invalid signature */
    JK_NET_REASON_SLOW,       /* our queue to the peer passed limits.max_queue */
    JK_NET_REASON_REPLACED,   /* a newer connection from the same key took over */
    JK_NET_REASON_LOCAL,      /* the upper layer asked for it */
    JK_NET_REASON_SHUTDOWN,   /* jk_net_destroy */
} jk_net_reason;
#define JK_NET_REASONS 14

/* Name of a reason ("garbage", "oversize", ...); never NULL. */
const char *jk_net_reason_name(jk_net_reason r);

typedef struct jk_net_limits {
    uint32_t max_frame[JK_NET_KINDS]; /* payload bytes per kind (≤ JK_NET_MAX_FRAME) */
    uint32_t bytes_per_sec;           /* token bucket refill, frame bytes incl. header */
    uint64_t bytes_burst;             /* bucket size; raised to fit the largest frame */
    uint32_t msgs_per_sec;
    uint32_t msgs_burst;              /* ≥ 1 */
    uint64_t max_queue;               /* bytes queued to one peer before it is dropped;
                                         raised to fit the largest frame */
    uint32_t max_nonvalidators;       /* inbound peers with unconfigured keys */
    uint32_t max_pending;             /* connections still in their handshake */
    uint64_t handshake_ms;            /* a handshake longer than this is dropped */
    uint64_t backoff_min_ms;          /* first redial delay, doubled per failure */
    uint64_t backoff_max_ms;
} jk_net_limits;

/* Defaults: consensus 2 MiB, events 2 MiB, sync 17 MiB (a whole block);
 * 64 MiB/s and 4096 frames/s per peer with one second of burst; 64 MiB queue;
 * 16 non-validators; 64 pending; 10 s handshake; backoff 250 ms .. 30 s. */
void jk_net_limits_default(jk_net_limits *out);

typedef struct jk_net_peer_config {
    const char *host;               /* dotted IPv4 address; NULL: never dialled */
    uint16_t port;
    uint8_t key[JK_NET_KEY_SIZE];   /* the key it must present (unless any_key) */
    bool any_key;                   /* an address only (`--peer HOST:PORT`): the key
                                       is learned in the handshake and must be a
                                       configured one, or a non-validator within
                                       the limit; key is ignored, host required */
} jk_net_peer_config;

/* What carries the frames. Both give the same API, identity, frames and
 * limits; nodes of one network must all use the same one. */
typedef enum jk_net_transport {
    JK_NET_QUIC = 0,    /* QUIC v1 (ngtcp2) over UDP, one stream per kind: the default */
    JK_NET_TLS_TCP = 1, /* TLS 1.3 over TCP, the kinds sharing one stream */
} jk_net_transport;

/* QUIC's congestion control (ngtcp2 0.12's four; docs/network.md "Loss
 * recovery and the window"). */
typedef enum jk_net_quic_cc {
    JK_NET_CC_CUBIC = 0, /* the default */
    JK_NET_CC_RENO = 1,
    JK_NET_CC_BBR = 2,
    JK_NET_CC_BBR2 = 3,
} jk_net_quic_cc;

/* The congestion control named `name` ("cubic", "reno", "bbr", "bbr2").
 * @return JK_OK; JK_ERR_PARSE for any other name. */
jk_err jk_net_quic_cc_parse(const char *name, jk_net_quic_cc *out);

typedef struct jk_net_config {
    const char *listen_host;        /* dotted IPv4; NULL: no listener */
    uint16_t listen_port;           /* 0: an ephemeral port (jk_net_listen_port) */
    const uint8_t *secret_key;      /* JK_NET_SECRET_SIZE bytes; copied, wiped on destroy */
    const uint8_t *genesis_hash;    /* 32 bytes; binds the ALPN */
    const jk_net_peer_config *peers;
    size_t peer_count;
    jk_net_limits limits;           /* fill with jk_net_limits_default first */
    jk_net_transport transport;     /* 0: QUIC */
    bool dial_at_once;              /* dial every peer at once, with no grace
                                       (docs/network.md "Who dials"): for a
                                       node no peer lists (a full node), whom
                                       nobody would dial back */
    jk_net_quic_cc quic_cc;         /* 0: CUBIC */
} jk_net_config;

typedef struct jk_net jk_net;

/* Create a node's transport: binds the listener (SO_REUSEADDR), builds the
 * certificate, adds cfg->peers as with jk_net_add_peer. Dials nothing yet:
 * the first jk_net_step does.
 * @param[in]  cfg  read during the call only.
 * @param[out] out  the new transport; free with jk_net_destroy.
 * @param[out] diag optional: what failed.
 * @return JK_OK; JK_ERR_INVALID_ARG (a NULL key or genesis, a bad address, a
 *         limit out of range, an unknown transport); JK_ERR_NET_LISTEN
 *         (bind/listen failed: TCP or UDP per the transport);
 *         JK_ERR_NET_TLS (GnuTLS refused the key or certificate); JK_ERR_NOMEM. */
jk_err jk_net_create(const jk_net_config *cfg, jk_net **out, jk_diag *diag);

/* Close every connection (queued output is flushed as far as the socket takes
 * it without blocking, then TLS close_notify or QUIC CONNECTION_CLOSE), free
 * everything, wipe the key.
 * NULL is allowed. */
void jk_net_destroy(jk_net *net);

/* The port the listener is bound to (0 if there is none). */
uint16_t jk_net_listen_port(const jk_net *net);

/* Add a known peer. With a host it is dialled (when this node is the preferred
 * dialler, see docs/network.md) and redialled with exponential backoff.
 * With any_key, an address to dial whose key is learned at its first
 * handshake: if that key has an index already, the address moves to it (and
 * this index stays unused); otherwise this index takes the key.
 * A key added before without a host may be added again with one: that gives
 * it its address.
 * @param[out] peer  optional: its index.
 * @return JK_OK; JK_ERR_INVALID_ARG (bad address, own key, a key already
 *         added with a host or added again without one, any_key without a
 *         host); JK_ERR_NOMEM. */
jk_err jk_net_add_peer(jk_net *net, const jk_net_peer_config *p, uint32_t *peer);

/* Run the event loop once: wait up to timeout_ms for socket activity (0: do
 * not wait), handle it, dial peers whose backoff expired, refill rate buckets,
 * run QUIC's timers (loss recovery, keep-alive, idle timeout). The wait is
 * cut short when a QUIC timer falls due first (reckoned as if now_ms moved
 * with the wall clock), so a node may pass a long timeout; QUIC retransmits
 * only when stepped.
 * @param[in] now_ms  the caller's monotonic clock in milliseconds; it decides
 *                    rate limits, handshake timeouts and backoff. A value
 *                    below an earlier one counts as no time passing.
 * @return JK_OK; JK_ERR_IO if epoll itself fails. Peer failures are events,
 *         never errors. */
jk_err jk_net_step(jk_net *net, uint64_t now_ms, int timeout_ms);

/* Let jk_net_step's wait also end when fd is readable: a descriptor the
 * caller owns and serves itself after the step (the node's RPC server's
 * epoll descriptor), so the caller need not poll it on a short timeout. The
 * step does not read it; the caller keeps it open while net uses it (a
 * closed one leaves the wait set by itself). At most one.
 * @return JK_OK; JK_ERR_INVALID_ARG (fd < 0, or one is set already);
 *         JK_ERR_IO (epoll_ctl refused it). */
jk_err jk_net_wake_on(jk_net *net, int fd);
/* How many steps fd (jk_net_wake_on) was found readable in. */
uint64_t jk_net_wakes(const jk_net *net);

typedef enum jk_net_event_type {
    JK_NET_EV_PEER_UP = 1,   /* an authenticated connection is open */
    JK_NET_EV_PEER_DOWN,     /* it closed; reason says why */
    JK_NET_EV_FRAME,         /* a frame arrived */
} jk_net_event_type;

typedef struct jk_net_event {
    jk_net_event_type type;
    uint32_t peer;                  /* index (jk_net_peer_key gives the key) */
    uint8_t key[JK_NET_KEY_SIZE];
    bool known;                     /* the key was configured (a validator) */
    jk_net_reason reason;           /* PEER_DOWN */
    jk_net_kind kind;               /* FRAME */
    const uint8_t *data;            /* FRAME payload; owned by net */
    size_t len;
} jk_net_event;

/* Take the oldest queued event. Events are queued by jk_net_step,
 * jk_net_send (a peer dropped as SLOW) and jk_net_disconnect, in the order
 * they happened, except that frames of kind JK_NET_EVENTS come after every
 * other event queued (session 9: gossiped events arrive in bursts that take
 * their receiver tens of ms to admit, and a vote or proposal read with or
 * after them must not wait for that; each kind travels on its own stream,
 * so the network could have delivered them in this order anyway). Events
 * of one kind stay in order, and so do all but EVENTS frames among
 * themselves. The queue is not bounded here (the rate limits bound what
 * peers can add per second): drain it, over one or more steps.
 * @param[out] ev  filled when true is returned; ev->data stays valid until
 *                 the next jk_net_next_event or jk_net_destroy.
 * @return true if there was an event. */
bool jk_net_next_event(jk_net *net, jk_net_event *ev);
/* Events queued and not yet taken. */
size_t jk_net_queued(const jk_net *net);

/* Send what jk_net_send queued, now: the write pass jk_net_step begins
 * with, without waiting or reading (session 9: the node sends its votes
 * before it admits a turn's events, instead of at its next step). */
void jk_net_flush(jk_net *net);

/* Take the payload of the event jk_net_next_event returned last: the
 * caller owns it from here (free() it), so it outlives the next
 * jk_net_next_event and jk_net_destroy. NULL when that event was not a
 * FRAME, or its payload was taken already. (The node keeps a loop turn's
 * frames this way instead of copying each: session 8.) */
uint8_t *jk_net_take_data(jk_net *net);

/* Queue one frame to a connected peer. The next jk_net_step writes it,
 * together with every frame queued since the last step (so a burst of small
 * frames shares TLS records or QUIC packets).
 * @return JK_OK; JK_ERR_INVALID_ARG (bad kind or peer index);
 *         JK_ERR_NET_TOO_LARGE (len over the kind's bound);
 *         JK_ERR_NET_NOT_CONNECTED; JK_ERR_NOMEM. When the queue passes
 *         limits.max_queue the peer is disconnected (SLOW) and
 *         JK_ERR_NET_NOT_CONNECTED returned. */
jk_err jk_net_send(jk_net *net, uint32_t peer, jk_net_kind kind,
                   const uint8_t *data, size_t len);

/* jk_net_send to every connected peer.
 * @param[out] sent  optional: how many peers it was queued to.
 * @return JK_OK; JK_ERR_INVALID_ARG; JK_ERR_NET_TOO_LARGE; JK_ERR_NOMEM. */
jk_err jk_net_broadcast(jk_net *net, jk_net_kind kind, const uint8_t *data,
                        size_t len, size_t *sent);

/* jk_net_broadcast to every connected peer but one: `except` (a peer index,
 * or UINT32_MAX for none), the peer a relayed message came from, which has
 * it already. Same results as jk_net_broadcast. */
jk_err jk_net_broadcast_except(jk_net *net, jk_net_kind kind, const uint8_t *data,
                               size_t len, uint32_t except, size_t *sent);

/* Drop the peer's connection and count the reason in its statistics (use
 * JK_NET_REASON_BAD_SIG when it sent a message whose signature fails).
 * A PEER_DOWN event follows. A known peer with a host is redialled after
 * backoff. No-op when it is not connected.
 * @return JK_OK; JK_ERR_INVALID_ARG (peer index, or reason NONE). */
jk_err jk_net_disconnect(jk_net *net, uint32_t peer, jk_net_reason reason);

typedef struct jk_net_peer_stats {
    bool connected;
    bool known;
    uint64_t frames_in, frames_out;
    uint64_t bytes_in, bytes_out;     /* frame bytes, headers included */
    uint64_t connects;                /* authenticated connections so far */
    uint64_t throttled;               /* times reading stopped for the rate limit */
    uint64_t down[JK_NET_REASONS];    /* disconnects by reason */
    /* QUIC only (docs/network.md "Loss recovery and the window"): probe
     * timeouts that fired, congestion events (a loss cut the window), write
     * passes that stopped with stream data queued because the congestion
     * window was full; and the live connection's window and smoothed RTT
     * now (0: none). */
    uint64_t ptos, recoveries, cwnd_stops;
    uint64_t cwnd, srtt_us;
} jk_net_peer_stats;

/* Network-wide counters, for connections that never authenticated. */
typedef struct jk_net_stats {
    uint64_t accepted, dialled;
    uint64_t refused[JK_NET_REASONS]; /* closed before PEER_UP, by reason */
    /* QUIC only: UDP datagrams sent and received (every connection, the
     * listener's stateless resets included), and the system calls that
     * carried them (fewer when several go in one call: GSO, GRO, recvmmsg;
     * recv_calls counts every receive call, one that found the socket
     * empty too). */
    uint64_t datagrams_out, datagrams_in, send_calls, recv_calls;
} jk_net_stats;

/* Number of peer indices in use: peers in the order added (address-only
 * ones included, which may end up unused when their key had an index), then
 * non-validators as they connect. */
uint32_t jk_net_peer_count(const jk_net *net);
/* @return JK_OK; JK_ERR_INVALID_ARG for an unused index. */
jk_err jk_net_peer_stats_get(const jk_net *net, uint32_t peer, jk_net_peer_stats *out);
jk_err jk_net_peer_key(const jk_net *net, uint32_t peer, uint8_t key[JK_NET_KEY_SIZE]);
/* The index of a key, if the net has one. */
bool jk_net_peer_find(const jk_net *net, const uint8_t key[JK_NET_KEY_SIZE], uint32_t *peer);
void jk_net_stats_get(const jk_net *net, jk_net_stats *out);

/* ---- frames (also used by tests and the fuzz target) ---- */

/* Write the 5-byte header of a frame. */
void jk_net_frame_header(jk_net_kind kind, uint32_t len, uint8_t out[JK_NET_FRAME_HEADER]);

/* Look at the start of a receive buffer.
 * @param[in]  max_frame  per-kind bounds.
 * @param[out] kind, len  the frame's kind and payload length, when JK_OK.
 * @return JK_OK when buf holds a whole frame (header + len bytes);
 *         JK_ERR_NET_INCOMPLETE when more bytes are needed (nothing is wrong
 *         yet); JK_ERR_NET_FRAME (unknown kind); JK_ERR_NET_TOO_LARGE (length
 *         over its kind's bound, found from the header alone). Errors fill
 *         diag. */
jk_err jk_net_frame_parse(const uint8_t *buf, size_t n,
                          const uint32_t max_frame[JK_NET_KINDS],
                          jk_net_kind *kind, uint32_t *len, jk_diag *diag);

/* Parse a peer as an operator writes it: "A.B.C.D:PORT" (an address only:
 * any_key) or "A.B.C.D:PORT@KEY" with KEY 64 hex digits. Strict: a dotted
 * IPv4 address as inet_pton takes it, a decimal port 1..65535 without sign or
 * leading zero, lowercase or uppercase hex, nothing else (no spaces).
 * @param[in]  text  NUL-terminated.
 * @param[out] out   filled on success; out->host points into host_buf.
 * @param[out] host_buf  16 bytes: receives the address text.
 * @return JK_OK; JK_ERR_PARSE (with diag saying what is wrong). */
jk_err jk_net_peer_parse(const char *text, jk_net_peer_config *out, char host_buf[16],
                         jk_diag *diag);

/* A free port on 127.0.0.1 for a socket of `type` (SOCK_STREAM or
 * SOCK_DGRAM): picked at random below the kernel's ephemeral range
 * (ip_local_port_range), where no connect() takes ports, and probed by a
 * bind (bound, read, released: another process may still take it before
 * the caller binds it); the kernel's own choice when that range leaves no
 * room. For tests, benchmarks and `jark testnet`. @return the port, or 0
 * on failure. */
uint16_t jk_net_loopback_free_port(int type);

/* The ALPN protocol for a genesis hash: "jark/1/" + 16 lowercase hex digits.
 * out must hold 24 bytes (23 characters and a NUL). */
void jk_net_alpn(const uint8_t genesis_hash[32], char out[24]);

#endif
