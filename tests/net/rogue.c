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
    int fd;
    bool connected; /* TCP connect finished */
    bool up;        /* TLS handshake finished */
    bool dead;
    jk_net_tls tls;
    gnutls_session_t s;
    jk_net_buf out;
    size_t retry_len;
};

jk_rogue *jk_rogue_connect(uint16_t port, const uint8_t sk[JK_NET_SECRET_SIZE],
                           const uint8_t genesis[32])
{
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

void jk_rogue_send_raw(jk_rogue *r, const void *data, size_t n)
{
    if (jk_net_buf_append(&r->out, data, n) != JK_OK)
        abort();
}

void jk_rogue_send_frame(jk_rogue *r, uint8_t kind, uint32_t claimed, size_t n, uint8_t fill)
{
    uint8_t hdr[JK_NET_FRAME_HEADER];
    jk_net_frame_header((jk_net_kind)0, claimed, hdr);
    hdr[0] = kind; /* any byte, also kinds that do not exist */
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
    return r->out.len;
}

void jk_rogue_close(jk_rogue *r)
{
    if (!r)
        return;
    if (r->s)
        gnutls_deinit(r->s);
    if (r->fd >= 0)
        close(r->fd);
    jk_net_tls_free(&r->tls);
    jk_net_buf_free(&r->out);
    free(r);
}
