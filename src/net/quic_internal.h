/*
 * src/net/quic_internal.h — what quic.c (connections, sockets, timers) and
 * quic_stream.c (stream data in and out) share: the per-connection QUIC
 * state and the functions each calls in the other.
 */
#ifndef JK_NET_QUIC_INTERNAL_H
#define JK_NET_QUIC_INTERNAL_H

#include "internal.h"

#include <netinet/in.h>

#define JK_QUIC_CIDLEN 16
#define JK_QUIC_PREFIX 8
#define JK_QUIC_PKT 1500
/* A write pass's datagrams of one size go to the kernel in one sendmsg with
 * UDP_SEGMENT (generic segmentation offload): at most this many, under the
 * 64 KiB of one UDP send. */
#define JK_QUIC_GSO_SEGS 40
/* Reads: one recvmmsg takes up to JK_QUIC_RX_MSGS messages (each a datagram,
 * or with UDP GRO a run of one flow's, at most 64 KiB), and a readable
 * socket gets at most JK_QUIC_RX_CALLS of them a step (1,024 messages). */
#define JK_QUIC_RX_MSGS 8
#define JK_QUIC_RX_BUF 65536
#define JK_QUIC_RX_CALLS 128
#define JK_QUIC_IDLE_MS 30000
#define JK_QUIC_KEEPALIVE_MS 10000 /* a PING well inside the idle timeout */

typedef struct jk_quic_chunk {
    struct jk_quic_chunk *next;
    size_t len;
    uint8_t data[];
} jk_quic_chunk;

typedef struct jk_quic_out {
    int64_t id;              /* -1 until opened */
    jk_quic_chunk *head, *tail;
    uint64_t head_off;       /* stream offset of head's first byte */
    uint64_t sent;           /* stream offset handed to ngtcp2 */
    jk_quic_chunk *cur;      /* the first chunk not wholly handed to ngtcp2, or NULL */
    uint64_t cur_off;        /* stream offset of cur's first byte */
    uint64_t end;            /* stream offset after tail */
    bool blocked;            /* flow control said no in this write pass */
} jk_quic_out;

typedef struct jk_quic_in {
    int64_t id;              /* -1: unused */
    int kind;                /* -1 until the first byte */
    jk_net_buf buf;
} jk_quic_in;

struct jk_quic {
    ngtcp2_conn *qc;
    struct sockaddr_in local, remote;
    uint8_t prefix[JK_QUIC_PREFIX];
    ngtcp2_cid orig_dcid;    /* inbound: the client's first destination ID */
    bool hs_done;
    bool draining;           /* the peer closed, or we may send nothing more */
    jk_net_reason bad;       /* a violation seen inside a callback */
    ngtcp2_connection_close_error ccerr;
    jk_quic_out out[JK_NET_KINDS];
    jk_quic_in in[JK_NET_KINDS];
    uint64_t queued;         /* bytes queued and not yet acknowledged */
    bool after;              /* read a packet in this batch: quic_after due */
    uint64_t recovery_ts;    /* ngtcp2's congestion_recovery_start_ts as last seen */
};

static inline uint64_t jk_quic_ts(const jk_net *net)
{
    return net->now * NGTCP2_MILLISECONDS;
}

/* ngtcp2 callbacks (quic_stream.c): stream bytes in, acknowledgements. Both
 * only record; see quic.c on reentrancy. */
int jk_net_quic_recv_stream(ngtcp2_conn *qc, uint32_t flags, int64_t id, uint64_t offset,
                        const uint8_t *data, size_t len, void *user_data, void *sud);
int jk_net_quic_acked(ngtcp2_conn *qc, int64_t id, uint64_t offset, uint64_t len,
                  void *user_data, void *sud);
/* Write every packet ngtcp2 has for us (quic_stream.c). May kill c. */
void jk_net_quic_write(jk_net_conn *c);
/* Deliver whole frames from the receive streams, returning credit. May kill c. */
void jk_net_quic_deliver(jk_net_conn *c);
/* Open our three streams, each starting with its kind byte. May kill c. */
void jk_net_quic_open_streams(jk_net_conn *c);
/* Send one datagram on the path ngtcp2 chose (quic.c). */
void jk_net_quic_send(jk_net_conn *c, const ngtcp2_path *path, const uint8_t *pkt, size_t n);
/* Send len bytes as datagrams of seg bytes each (the last may be shorter)
 * on that path: one system call with UDP_SEGMENT, or one a datagram where
 * the kernel refuses it. */
void jk_net_quic_send_segs(jk_net_conn *c, const ngtcp2_path *path, const uint8_t *buf, size_t len,
                           size_t seg);

#endif
