/* rogue.c — the misbehaving test peer (see rogue.h). It reuses the net
 * layer's TLS identity code so that its handshake is exactly a node's. */
#include "rogue.h"

#include "../../src/net/internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct jk_rogue {
    jk_net *net;            /* the QUIC rogue: a node writing raw stream bytes */
    uint64_t now;
    unsigned stream;        /* where raw bytes go (QUIC) */
    jk_net_buf pend[JK_NET_KINDS]; /* raw bytes waiting for the connection */
    int fd;
    bool connected; /* TCP connect finished */
    bool up;        /* TLS handshake finished */
    bool dead;
    jk_net_tls tls;
    gnutls_session_t s;
    jk_net_buf out;
    size_t retry_len;
};

static jk_rogue *jk_rogue_quic(uint16_t port, const uint8_t victim[JK_NET_KEY_SIZE],
                               const uint8_t sk[JK_NET_SECRET_SIZE], const uint8_t genesis[32])
{
    jk_rogue *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->fd = -1;
    r->now = 1;
    jk_net_config cfg = {0};
    cfg.secret_key = sk;
    cfg.genesis_hash = genesis;
    cfg.transport = JK_NET_QUIC;
    jk_net_limits_default(&cfg.limits);
    cfg.limits.backoff_min_ms = 1; /* dial after 4 pumps even when not preferred */
    cfg.limits.backoff_max_ms = 1000000;
    jk_net_peer_config pc = {.host = "127.0.0.1", .port = port};
    memcpy(pc.key, victim, sizeof pc.key);
    cfg.peers = &pc;
    cfg.peer_count = 1;
    if (jk_net_create(&cfg, &r->net, NULL) != JK_OK) {
        free(r);
        return NULL;
    }
    return r;
}

static int jk_rogue_pump_quic(jk_rogue *r)
{
    if (r->dead)
        return -1;
    (void)jk_net_step(r->net, r->now++, 0);
    jk_net_event ev;
    while (jk_net_next_event(r->net, &ev)) {
        if (ev.type == JK_NET_EV_PEER_UP)
            r->up = true;
        else if (ev.type == JK_NET_EV_PEER_DOWN)
            r->dead = true;
    }
    jk_net_stats st;
    jk_net_stats_get(r->net, &st);
    for (int i = 0; i < JK_NET_REASONS; i++)
        if (st.refused[i])
            r->dead = true; /* the handshake failed */
    if (r->dead)
        return -1;
    if (!r->up)
        return 0;
    for (unsigned k = 0; k < JK_NET_KINDS; k++)
        if (r->pend[k].len) {
            if (jk_net_inject(r->net, 0, k, r->pend[k].p + r->pend[k].head, r->pend[k].len) != JK_OK)
                abort();
            jk_net_buf_consume(&r->pend[k], r->pend[k].len);
        }
    return 1;
}

jk_rogue *jk_rogue_connect(jk_net_transport t, uint16_t port,
                           const uint8_t victim[JK_NET_KEY_SIZE],
                           const uint8_t sk[JK_NET_SECRET_SIZE], const uint8_t genesis[32])
{
    if (t == JK_NET_QUIC)
        return jk_rogue_quic(port, victim, sk, genesis);
    jk_rogue *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->fd = -1;
    if (jk_net_tls_init(&r->tls, sk, genesis, NULL, NULL) != JK_OK) {
        free(r);
        return NULL;
    }
    r->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (r->fd < 0 ||
        (connect(r->fd, (struct sockaddr *)&sa, sizeof sa) != 0 && errno != EINPROGRESS) ||
        jk_net_tls_session(&r->tls, r->fd, false, r, &r->s) != JK_OK) {
        r->s = NULL;
        jk_rogue_close(r);
        return NULL;
    }
    return r;
}

int jk_rogue_pump(jk_rogue *r)
{
    if (r->net)
        return jk_rogue_pump_quic(r);
    if (r->dead)
        return -1;
    if (!r->up) {
        int rc = gnutls_handshake(r->s);
        if (rc == GNUTLS_E_SUCCESS)
            r->up = true;
        else if (gnutls_error_is_fatal(rc))
            r->dead = true;
        if (!r->up)
            return r->dead ? -1 : 0;
    }
    while (r->out.len > 0) {
        size_t n = r->retry_len ? r->retry_len : (r->out.len < 16384 ? r->out.len : 16384);
        ssize_t rc = gnutls_record_send(r->s, r->out.p + r->out.head, n);
        if (rc > 0) {
            r->retry_len = 0;
            jk_net_buf_consume(&r->out, (size_t)rc);
        } else if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED) {
            r->retry_len = n;
            break;
        } else {
            r->dead = true;
            return -1;
        }
    }
    uint8_t buf[4096];
    for (;;) {
        ssize_t n = gnutls_record_recv(r->s, buf, sizeof buf);
        if (n > 0)
            continue;
        if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
            break;
        r->dead = true; /* closed, or an alert */
        return -1;
    }
    return 1;
}

bool jk_rogue_pump_for(jk_rogue *r, int n)
{
    for (int i = 0; i < n; i++) {
        if (jk_rogue_pump(r) < 0)
            return false;
        usleep(250);
    }
    return true;
}

void jk_rogue_send_raw(jk_rogue *r, const void *data, size_t n)
{
    if (jk_net_buf_append(r->net ? &r->pend[r->stream] : &r->out, data, n) != JK_OK)
        abort();
    if (r->net)
        (void)jk_rogue_pump(r); /* injects at once when up */
}

void jk_rogue_send_frame(jk_rogue *r, uint8_t kind, uint32_t claimed, size_t n, uint8_t fill)
{
    uint8_t hdr[JK_NET_FRAME_HEADER];
    jk_net_frame_header((jk_net_kind)0, claimed, hdr);
    hdr[0] = kind; /* any byte, also kinds that do not exist */
    if (kind < JK_NET_KINDS)
        r->stream = kind;
    jk_rogue_send_raw(r, hdr, sizeof hdr);
    uint8_t chunk[4096];
    memset(chunk, fill, sizeof chunk);
    while (n > 0) {
        size_t k = n < sizeof chunk ? n : sizeof chunk;
        jk_rogue_send_raw(r, chunk, k);
        n -= k;
    }
}

size_t jk_rogue_pending(const jk_rogue *r)
{
    if (!r->net)
        return r->out.len;
    size_t n = (size_t)jk_net_unsent(r->net, 0);
    for (int k = 0; k < JK_NET_KINDS; k++)
        n += r->pend[k].len;
    return n;
}

void jk_rogue_close(jk_rogue *r)
{
    if (!r)
        return;
    jk_net_destroy(r->net);
    for (int k = 0; k < JK_NET_KINDS; k++)
        jk_net_buf_free(&r->pend[k]);
    if (r->s)
        gnutls_deinit(r->s);
    if (r->fd >= 0)
        close(r->fd);
    jk_net_tls_free(&r->tls);
    jk_net_buf_free(&r->out);
    free(r);
}

jk_rogue *jk_rogue_open(uint16_t port, const uint8_t victim[JK_NET_KEY_SIZE],
                        const uint8_t sk[JK_NET_SECRET_SIZE], const uint8_t genesis[32])
{
    jk_rogue *r = jk_rogue_connect(JK_NET_QUIC, port, victim, sk, genesis);
    for (int i = 0; r && i < 20000; i++) {
        int st = jk_rogue_pump(r);
        if (st == 1)
            return r;
        if (st < 0)
            break;
        usleep(200);
    }
    if (r)
        jk_rogue_close(r);
    return NULL;
}
