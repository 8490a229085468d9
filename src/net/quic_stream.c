/*
 * quic_stream.c — QUIC stream data, both ways: the three receive streams
 * (kind byte, frames, credit returned only as frames are delivered) and the
 * three send streams (chunks that never move until acknowledged, written
 * round robin over the kinds). See quic.c for the transport as a whole.
 */
#include "quic_internal.h"

#include <stdlib.h>
#include <string.h>

int jk_net_quic_recv_stream(ngtcp2_conn *qc, uint32_t flags, int64_t id, uint64_t offset,
                            const uint8_t *data, size_t len, void *user_data, void *sud)
{
    (void)qc;
    (void)flags;
    (void)offset;
    (void)sud;
    jk_net_conn *c = user_data;
    struct jk_quic *q = c->q;
    if (q->bad != JK_NET_REASON_NONE || len == 0)
        return 0;
    if (ngtcp2_is_bidi_stream(id) || !q->hs_done) {
        q->bad = JK_NET_REASON_GARBAGE; /* we allow no bidi streams; none before the handshake */
        return 0;
    }
    jk_quic_in *in = NULL;
    for (int i = 0; i < JK_NET_KINDS && !in; i++)
        if (q->in[i].id == id)
            in = &q->in[i];
    for (int i = 0; i < JK_NET_KINDS && !in; i++)
        if (q->in[i].id < 0) {
            in = &q->in[i];
            in->id = id;
        }
    if (!in) {
        q->bad = JK_NET_REASON_GARBAGE;
        return 0;
    }
    if (in->kind < 0) {
        /* The stream's first byte is its kind; one stream per kind. */
        int kind = data[0];
        for (int i = 0; i < JK_NET_KINDS; i++)
            if (q->in[i].kind == kind)
                kind = JK_NET_KINDS;
        if (kind >= JK_NET_KINDS) {
            q->bad = JK_NET_REASON_GARBAGE;
            return 0;
        }
        in->kind = kind;
        data++;
        len--;
        ngtcp2_conn_extend_max_stream_offset(q->qc, id, 1);
        ngtcp2_conn_extend_max_offset(q->qc, 1);
    }
    if (jk_net_buf_append(&in->buf, data, len) != JK_OK)
        q->bad = JK_NET_REASON_IO;
    return 0;
}

int jk_net_quic_acked(ngtcp2_conn *qc, int64_t id, uint64_t offset, uint64_t len,
                      void *user_data, void *sud)
{
    (void)qc;
    (void)sud;
    jk_net_conn *c = user_data;
    struct jk_quic *q = c->q;
    for (int k = 0; k < JK_NET_KINDS; k++) {
        jk_quic_out *o = &q->out[k];
        if (o->id != id)
            continue;
        uint64_t upto = offset + len;
        while (o->head && o->head_off + o->head->len <= upto) {
            jk_quic_chunk *ch = o->head;
            o->head = ch->next;
            if (!o->head)
                o->tail = NULL;
            o->head_off += ch->len;
            q->queued -= ch->len;
            if (o->cur == ch) {
                /* only bytes handed over are acknowledged; kept consistent anyway */
                o->cur = ch->next;
                o->cur_off = o->head_off;
            }
            free(ch);
        }
    }
    return 0;
}


/* ---- writing ---- */

/* The unsent bytes as iovecs, from the cursor: a send queue of many small
 * frames (gossiped events) is not walked from its head for every packet
 * (that walk was quadratic in the frames queued and not yet acknowledged). */
static size_t quic_iov(const jk_quic_out *o, ngtcp2_vec *iov, size_t max)
{
    size_t n = 0;
    uint64_t off = o->cur_off;
    for (const jk_quic_chunk *ch = o->cur; ch && n < max; ch = ch->next) {
        if (o->sent < off + ch->len) {
            size_t skip = o->sent > off ? (size_t)(o->sent - off) : 0;
            iov[n].base = (uint8_t *)ch->data + skip;
            iov[n].len = ch->len - skip;
            n++;
        }
        off += ch->len;
    }
    return n;
}

/* ngtcp2 took n more bytes of the stream: move sent and the cursor. Chunks
 * behind the cursor wait only for their acknowledgement (jk_net_quic_acked frees
 * them; it never frees the cursor's chunk, which is not wholly sent). */
static void quic_advance(jk_quic_out *o, uint64_t n)
{
    o->sent += n;
    while (o->cur && o->cur_off + o->cur->len <= o->sent) {
        o->cur_off += o->cur->len;
        o->cur = o->cur->next;
    }
}

/* The datagrams of a write pass waiting to go out together (GSO): len bytes
 * of datagrams of seg bytes each, the last possibly shorter (which closes
 * the batch: the kernel takes only a shorter last segment). */
typedef struct quic_batch {
    uint8_t *buf;
    size_t len, seg, count;
    ngtcp2_path path;               /* where the batch goes: remote is ... */
    struct sockaddr_in remote;      /* ... a copy of the first packet's */
} quic_batch;

static void quic_batch_flush(jk_net_conn *c, quic_batch *b)
{
    if (b->len)
        jk_net_quic_send_segs(c, &b->path, b->buf, b->len, b->seg);
    b->len = b->seg = b->count = 0;
}

/* Whether a packet for path may join the batch's segments (same remote). */
static bool quic_batch_same_path(const quic_batch *b, const ngtcp2_path *path)
{
    return path->remote.addrlen == b->path.remote.addrlen &&
           (path->remote.addrlen != sizeof b->remote ||
            memcmp(path->remote.addr, &b->remote, sizeof b->remote) == 0);
}

static void quic_batch_start(quic_batch *b, const ngtcp2_path *path, size_t seg)
{
    b->seg = seg;
    b->path = *path;
    if (path->remote.addrlen == sizeof b->remote) {
        memcpy(&b->remote, path->remote.addr, sizeof b->remote);
        b->path.remote.addr = (ngtcp2_sockaddr *)&b->remote;
    }
}

/* Write every packet ngtcp2 has for us (stream data round robin over the
 * kinds, acks, retransmissions) until it has none or congestion says stop.
 * ngtcp2 writes each packet straight into the batch; packets of one size
 * are sent in one system call (jk_net_quic_send_segs). */
void jk_net_quic_write(jk_net_conn *c)
{
    struct jk_quic *q = c->q;
    jk_net *net = c->net;
    uint8_t one[JK_QUIC_PKT];
    if (!net->gso_buf)
        net->gso_buf = malloc((size_t)JK_QUIC_GSO_SEGS * JK_QUIC_PKT);
    quic_batch b = {.buf = net->gso_buf};
    /* Invariant: a whole packet's room is left after b.len (else it flushes). */
    size_t cap = (size_t)JK_QUIC_GSO_SEGS * JK_QUIC_PKT;
    ngtcp2_path_storage ps;
    ngtcp2_path_storage_zero(&ps);
    ngtcp2_pkt_info pi;
    uint64_t ts = jk_quic_ts(net);
    for (int k = 0; k < JK_NET_KINDS; k++)
        q->out[k].blocked = false;
    int next = 0;
    for (int guard = 0; guard < 4096; guard++) {
        int s = -1;
        for (int i = 0; i < JK_NET_KINDS && s < 0; i++) {
            int k = (next + i) % JK_NET_KINDS;
            if (q->out[k].id >= 0 && q->out[k].sent < q->out[k].end && !q->out[k].blocked)
                s = k;
        }
        ngtcp2_vec iov[16];
        size_t niov = 0;
        int64_t sid = -1;
        uint32_t flags = NGTCP2_WRITE_STREAM_FLAG_NONE;
        if (s >= 0) {
            sid = q->out[s].id;
            niov = quic_iov(&q->out[s], iov, 16);
            flags = NGTCP2_WRITE_STREAM_FLAG_MORE;
        }
        uint8_t *pkt = b.buf ? b.buf + b.len : one;
        ngtcp2_ssize ndata = -1;
        ngtcp2_ssize n = ngtcp2_conn_writev_stream(q->qc, &ps.path, &pi, pkt, JK_QUIC_PKT, &ndata,
                                                   flags, sid, niov ? iov : NULL, niov, ts);
        if (n == NGTCP2_ERR_WRITE_MORE) {
            quic_advance(&q->out[s], (uint64_t)ndata);
            next = (s + 1) % JK_NET_KINDS;
            continue;
        }
        if (n == NGTCP2_ERR_STREAM_DATA_BLOCKED || n == NGTCP2_ERR_STREAM_SHUT_WR ||
            n == NGTCP2_ERR_STREAM_NOT_FOUND) {
            q->out[s].blocked = true;
            continue;
        }
        if (n < 0) {
            quic_batch_flush(c, &b);
            ngtcp2_connection_close_error_set_transport_error_liberr(&q->ccerr, (int)n, NULL, 0);
            jk_net_conn_kill(c, JK_NET_REASON_IO);
            return;
        }
        if (s >= 0 && ndata > 0) {
            quic_advance(&q->out[s], (uint64_t)ndata);
            next = (s + 1) % JK_NET_KINDS;
        }
        if (n == 0) {
            /* Nothing more to write although a stream has bytes flow
             * control allows: the congestion window (or pacing) stops it. */
            if (s >= 0 && c->state == JK_NET_C_OPEN && c->peer < net->npeers)
                net->peers[c->peer].st.cwnd_stops++;
            break;
        }
        if (!b.buf) {
            jk_net_quic_send(c, &ps.path, pkt, (size_t)n);
            continue;
        }
        if (b.count && ((size_t)n > b.seg || !quic_batch_same_path(&b, &ps.path))) {
            /* It cannot be one of the batch's segments: the batch (the
             * bytes before it) goes first, and it starts the next one. */
            quic_batch_flush(c, &b);
            memmove(b.buf, pkt, (size_t)n);
        }
        if (!b.count)
            quic_batch_start(&b, &ps.path, (size_t)n);
        b.len += (size_t)n;
        b.count++;
        if ((size_t)n < b.seg || b.count == JK_QUIC_GSO_SEGS || cap - b.len < JK_QUIC_PKT)
            quic_batch_flush(c, &b);
    }
    quic_batch_flush(c, &b);
}

static void quic_append(struct jk_quic *q, unsigned stream, jk_quic_chunk *ch)
{
    jk_quic_out *o = &q->out[stream];
    ch->next = NULL;
    if (o->tail)
        o->tail->next = ch;
    else
        o->head = ch;
    o->tail = ch;
    if (!o->cur) {
        /* everything before was handed over: the new chunk is the first unsent */
        o->cur = ch;
        o->cur_off = o->end;
    }
    o->end += ch->len;
    q->queued += ch->len;
}

jk_err jk_net_quic_queue(jk_net_conn *c, jk_net_kind kind, const uint8_t *data, size_t len)
{
    jk_quic_chunk *ch = malloc(sizeof *ch + JK_NET_FRAME_HEADER + len);
    if (!ch)
        return JK_ERR_NOMEM;
    ch->len = JK_NET_FRAME_HEADER + len;
    jk_net_frame_header(kind, (uint32_t)len, ch->data);
    if (len)
        memcpy(ch->data + JK_NET_FRAME_HEADER, data, len);
    quic_append(c->q, kind, ch);
    return JK_OK;
}

jk_err jk_net_quic_queue_raw(jk_net_conn *c, unsigned stream, const uint8_t *data, size_t len)
{
    jk_quic_chunk *ch = malloc(sizeof *ch + (len ? len : 1));
    if (!ch)
        return JK_ERR_NOMEM;
    ch->len = len;
    if (len)
        memcpy(ch->data, data, len);
    quic_append(c->q, stream, ch);
    return JK_OK;
}

uint64_t jk_net_quic_unsent(const jk_net_conn *c)
{
    uint64_t n = 0;
    for (int k = 0; k < JK_NET_KINDS; k++)
        n += c->q->out[k].end - c->q->out[k].sent;
    return n;
}

uint64_t jk_net_quic_queued(const jk_net_conn *c)
{
    return c->q->queued;
}

void jk_net_quic_deliver(jk_net_conn *c)
{
    struct jk_quic *q = c->q;
    for (int i = 0; i < JK_NET_KINDS; i++) {
        if (c->state != JK_NET_C_OPEN || c->throttled)
            return;
        jk_quic_in *in = &q->in[i];
        if (in->kind < 0)
            continue;
        int64_t id = in->id;
        size_t used = jk_net_conn_deliver(c, &in->buf, in->kind);
        if (c->state != JK_NET_C_OPEN)
            return; /* killed: q is gone */
        if (used) {
            /* Credit back only what was delivered: flow control is the
             * back-pressure on a throttled peer. */
            ngtcp2_conn_extend_max_stream_offset(q->qc, id, used);
            ngtcp2_conn_extend_max_offset(q->qc, used);
        }
    }
}

void jk_net_quic_open_streams(jk_net_conn *c)
{
    struct jk_quic *q = c->q;
    for (int k = 0; k < JK_NET_KINDS; k++) {
        if (ngtcp2_conn_open_uni_stream(q->qc, &q->out[k].id, NULL) != 0) {
            jk_net_conn_kill(c, JK_NET_REASON_IO);
            return;
        }
        jk_quic_chunk *ch = malloc(sizeof *ch + 1);
        if (!ch) {
            jk_net_conn_kill(c, JK_NET_REASON_IO);
            return;
        }
        ch->len = 1;
        ch->data[0] = (uint8_t)k; /* the stream's kind */
        quic_append(q, (unsigned)k, ch);
    }
}


void jk_net_quic_flush(jk_net_conn *c)
{
    if (c->state != JK_NET_C_DEAD)
        jk_net_quic_write(c);
}


void jk_net_quic_resume(jk_net_conn *c)
{
    c->throttled = false;
    c->resuming = true;
    jk_net_quic_deliver(c);
    if (c->state == JK_NET_C_DEAD)
        return;
    c->resuming = false;
    jk_net_quic_write(c); /* the new credit */
}
