/*
 * server.c — the HTTP server (libmicrohttpd 0.9.75, Debian 12): POST / for
 * JSON-RPC, GET /metrics for Prometheus.
 *
 * Threading (the provider's contract, jark/rpc.h): the daemon itself never
 * has a thread (MHD_USE_EPOLL): it is driven by jk_rpc_server_run. In
 * external-loop mode the caller drives it, and handlers run inside the
 * caller's jk_rpc_server_run. In threaded mode the server drives it from
 * ONE thread of its own (jk_rpc_loop: epoll on MHD's descriptor and a wake
 * descriptor, bounded by the same deadline the caller of the external loop
 * is given), so every access handler — and so every provider call — runs on
 * that thread, one at a time, and the request deadline (request_ms) holds
 * in both modes (session 8: the threaded mode used MHD's own polling thread,
 * whose only timeout is of inactivity, so a client dribbling a byte every
 * 29 s held a connection for ever).
 *
 * Bodies: a Content-Length over max_body is answered 413 before any byte of
 * the body is read; a chunked body that grows over max_body closes the
 * connection (there is no way to answer mid-upload in this MHD version).
 * Nothing is buffered past max_body.
 */
#include "internal.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* A connection's request clock (either mode): the request under way must
 * arrive whole by `due` (CLOCK_MONOTONIC ms); 0 while one is being answered
 * (the clock starts again when it completes). */
typedef struct jk_rpc_conn {
    struct jk_rpc_conn *next;
    int fd;
    uint64_t due;
} jk_rpc_conn;

struct jk_rpc_server {
    struct MHD_Daemon *daemon;
    jk_rpc_provider provider;
    jk_rpc_metrics *metrics;
    size_t max_body;
    bool external;         /* the caller drives the daemon (else: thread below) */
    uint16_t port;
    /* A connection closed during the last jk_rpc_server_run (external loop).
     * At its connection limit MHD takes the listening socket out of its
     * epoll set and puts it back only at the start of a later MHD_run; a
     * close frees a place but wakes nobody, so without another run a client
     * that connects next would wait for some unrelated wake-up (tens of
     * seconds on an idle node). jk_rpc_server_timeout_ms returns 0 while
     * this is set, which gives that run at once. */
    bool closed_in_run;
    unsigned connections;  /* open now (MHD_OPTION_NOTIFY_CONNECTION) */
    uint32_t request_ms;
    jk_rpc_conn *conns;    /* open connections' request clocks (the driving thread's) */
    uint64_t timed_out;    /* atomic: read from any thread */
    jk_rpc_metric *timed_out_metric;
    /* threaded mode: the driving thread, its epoll set and its wake-up */
    pthread_t thread;
    bool has_thread;
    int loop_fd, wake_fd;
    int stop;              /* atomic */
};

static uint64_t jk_rpc_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static jk_rpc_conn *jk_rpc_conn_of(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *i = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return i ? i->socket_context : NULL;
}

/* One POST's body as it arrives. */
typedef struct jk_rpc_upload {
    uint8_t *body;
    size_t len, cap;
} jk_rpc_upload;

jk_err jk_rpc_resolve(const char *host, uint16_t port, struct sockaddr_in *out, jk_diag *diag)
{
    memset(out, 0, sizeof *out);
    out->sin_family = AF_INET;
    out->sin_port = htons(port);
    if (!host || !strcmp(host, "localhost"))
        host = "127.0.0.1";
    if (inet_pton(AF_INET, host, &out->sin_addr) != 1)
        return jk_diag_set(diag, JK_ERR_INVALID_ARG, "'%.64s' is not a numeric IPv4 address or localhost", host);
    return JK_OK;
}

/* Queue a response owning text (malloc'd; freed by MHD). */
static enum MHD_Result jk_reply(struct MHD_Connection *c, unsigned status, char *text, size_t len,
                                const char *content_type)
{
    jk_rpc_conn *rc = jk_rpc_conn_of(c);
    if (rc)
        rc->due = 0; /* the request is whole: its answer is ours to send */
    struct MHD_Response *r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(text);
        return MHD_NO;
    }
    if (content_type)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "POST, GET");
    enum MHD_Result ok = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result jk_reply_text(struct MHD_Connection *c, unsigned status, const char *msg)
{
    char *text = strdup(msg);
    return text ? jk_reply(c, status, text, strlen(text), "text/plain; charset=utf-8") : MHD_NO;
}

static enum MHD_Result jk_reply_error(struct MHD_Connection *c, unsigned status, int code, const char *detail)
{
    size_t len;
    char *text = jk_rpc_error_json(code, detail, &len);
    return text ? jk_reply(c, status, text, len, "application/json") : MHD_NO;
}

static enum MHD_Result jk_serve_metrics(jk_rpc_server *s, struct MHD_Connection *c)
{
    if (!s->metrics)
        return jk_reply_text(c, MHD_HTTP_NOT_FOUND, "no metrics on this server\n");
    char *text;
    size_t len;
    if (jk_rpc_metrics_render(s->metrics, &text, &len) != JK_OK)
        return MHD_NO;
    return jk_reply(c, MHD_HTTP_OK, text, len, "text/plain; version=0.0.4; charset=utf-8");
}

static enum MHD_Result jk_serve_rpc(jk_rpc_server *s, struct MHD_Connection *c, jk_rpc_upload *up)
{
    jk_rpc_parsed parsed;
    if (jk_rpc_parse(up->body, up->len, &parsed) != JK_OK)
        return MHD_NO;
    char *text;
    size_t len;
    jk_err err = jk_rpc_answer(&s->provider, &parsed, &text, &len);
    jk_rpc_parsed_free(&parsed);
    if (err != JK_OK)
        return MHD_NO;
    if (!text) {   /* only notifications: nothing to say (JSON-RPC 2.0 §6) */
        char *empty = malloc(1);
        return empty ? jk_reply(c, MHD_HTTP_NO_CONTENT, empty, 0, NULL) : MHD_NO;
    }
    return jk_reply(c, MHD_HTTP_OK, text, len, "application/json");
}

static enum MHD_Result jk_handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    (void)version;
    jk_rpc_server *s = cls;
    jk_rpc_upload *up = *con_cls;
    if (!up) {   /* first call: headers only */
        if (!strcmp(method, MHD_HTTP_METHOD_GET) || !strcmp(method, MHD_HTTP_METHOD_HEAD)) {
            if (!strcmp(url, "/metrics"))
                return jk_serve_metrics(s, c);
            return jk_reply_text(c, MHD_HTTP_NOT_FOUND, "not found: JSON-RPC is POST /, metrics GET /metrics\n");
        }
        if (strcmp(method, MHD_HTTP_METHOD_POST))
            return jk_reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
        if (strcmp(url, "/"))
            return jk_reply_text(c, MHD_HTTP_NOT_FOUND, "not found: JSON-RPC is POST /\n");
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        unsigned long long declared = 0;
        if (cl) {
            char *end;
            unsigned long long n = strtoull(cl, &end, 10);
            if (end != cl && n > s->max_body) {
                char detail[96];
                snprintf(detail, sizeof detail, "body of %llu bytes, at most %zu", n, s->max_body);
                return jk_reply_error(c, MHD_HTTP_CONTENT_TOO_LARGE, JK_RPC_INVALID_REQUEST, detail);
            }
            if (end != cl)
                declared = n;
        }
        up = calloc(1, sizeof *up);
        if (!up)
            return MHD_NO;
        /* the body's whole size at once (≤ max_body): no growing copies
         * while it arrives (session 11: a 64-event batch, ~40 KB, was
         * copied again at 8, 16 and 32 KB); a wrong length only means a
         * realloc below */
        if (declared && (up->body = malloc((size_t)declared)) != NULL)
            up->cap = (size_t)declared;
        *con_cls = up;
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        if (n > s->max_body - up->len)
            return MHD_NO;   /* chunked and over the bound: close (see the file comment) */
        if (up->len + n > up->cap) {
            size_t cap = up->cap ? up->cap : 4096;
            while (cap < up->len + n)
                cap *= 2;
            uint8_t *grown = realloc(up->body, cap);
            if (!grown)
                return MHD_NO;
            up->body = grown;
            up->cap = cap;
        }
        memcpy(up->body + up->len, upload_data, n);
        up->len += n;
        *upload_data_size = 0;
        return MHD_YES;
    }
    return jk_serve_rpc(s, c, up);
}

static void jk_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    jk_rpc_server *s = cls;
    (void)toe;
    jk_rpc_conn *rc = jk_rpc_conn_of(c);
    if (rc) /* the next request on this connection (keep-alive) */
        rc->due = jk_rpc_now_ms() + s->request_ms;
    jk_rpc_upload *up = *con_cls;
    if (up) {
        free(up->body);
        free(up);
        *con_cls = NULL;
    }
}

static void jk_connection_note(void *cls, struct MHD_Connection *c, void **socket_context,
                               enum MHD_ConnectionNotificationCode toe)
{
    jk_rpc_server *s = cls;
    /* Atomic: in the threaded mode this runs on the server's thread while
     * jk_rpc_server_connections may be called from another. */
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        __atomic_add_fetch(&s->connections, 1, __ATOMIC_RELAXED);
        const union MHD_ConnectionInfo *i = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        jk_rpc_conn *rc = i ? calloc(1, sizeof *rc) : NULL;
        if (rc) { /* out of memory: this one has MHD's inactivity timeout only */
            rc->fd = i->connect_fd;
            rc->due = jk_rpc_now_ms() + s->request_ms;
            rc->next = s->conns;
            s->conns = rc;
            *socket_context = rc;
        }
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        jk_rpc_conn *rc = *socket_context;
        for (jk_rpc_conn **p = &s->conns; rc && *p; p = &(*p)->next)
            if (*p == rc) {
                *p = rc->next;
                free(rc);
                break;
            }
        *socket_context = NULL;
        __atomic_sub_fetch(&s->connections, 1, __ATOMIC_RELAXED);
        __atomic_store_n(&s->closed_in_run, true, __ATOMIC_RELAXED);
    }
}

static jk_err jk_rpc_thread_start(jk_rpc_server *s);
static void jk_rpc_server_free(jk_rpc_server *s);

jk_err jk_rpc_server_start(const jk_rpc_server_config *cfg, const jk_rpc_provider *provider, jk_rpc_server **out,
                           jk_diag *diag)
{
    struct sockaddr_in addr;
    jk_err err = jk_rpc_resolve(cfg->host, cfg->port, &addr, diag);
    if (err != JK_OK)
        return err;
    jk_rpc_server *s = calloc(1, sizeof *s);
    if (!s)
        return JK_ERR_NOMEM;
    s->provider = *provider;
    s->metrics = cfg->metrics;
    s->max_body = cfg->max_body ? cfg->max_body : JK_RPC_MAX_BODY;
    s->external = cfg->external_loop;
    s->request_ms = cfg->request_ms ? cfg->request_ms : JK_RPC_REQUEST_MS;
    s->loop_fd = s->wake_fd = -1;
    if (s->metrics &&
        jk_rpc_metrics_counter(s->metrics, "jark_rpc_requests_timed_out_total",
                               "HTTP connections closed because a request did not arrive whole in time",
                               &s->timed_out_metric) != JK_OK)
        s->timed_out_metric = NULL;
    s->daemon = MHD_start_daemon(MHD_USE_EPOLL, 0, NULL, NULL, jk_handler, s,
                                 MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                                 MHD_OPTION_CONNECTION_LIMIT, (unsigned)JK_RPC_MAX_CONNECTIONS,
                                 MHD_OPTION_PER_IP_CONNECTION_LIMIT,
                                 (unsigned)JK_RPC_MAX_CONNECTIONS_PER_ADDRESS,
                                 MHD_OPTION_NOTIFY_CONNECTION, jk_connection_note, s,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
                                 MHD_OPTION_NOTIFY_COMPLETED, jk_completed, s,
                                 MHD_OPTION_END);
    if (!s->daemon) {
        free(s);
        char text[INET_ADDRSTRLEN] = "?";
        inet_ntop(AF_INET, &addr.sin_addr, text, sizeof text);
        return jk_diag_set(diag, JK_ERR_IO, "cannot serve HTTP on %s:%u (address in use or not local?)", text,
                           (unsigned)cfg->port);
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : cfg->port;
    if (!s->external && (err = jk_rpc_thread_start(s)) != JK_OK) {
        MHD_stop_daemon(s->daemon);
        jk_rpc_server_free(s);
        return jk_diag_set(diag, err, "cannot start the RPC server's thread");
    }
    *out = s;
    return JK_OK;
}

uint16_t jk_rpc_server_port(const jk_rpc_server *s) { return s->port; }

static int jk_rpc_daemon_fd(const jk_rpc_server *s)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_EPOLL_FD);
    return info ? info->epoll_fd : -1;
}

int jk_rpc_server_fd(const jk_rpc_server *s)
{
    return s->external ? jk_rpc_daemon_fd(s) : -1;
}

unsigned jk_rpc_server_connections(const jk_rpc_server *s)
{
    return __atomic_load_n(&s->connections, __ATOMIC_RELAXED);
}

uint64_t jk_rpc_server_timed_out(const jk_rpc_server *s)
{
    return __atomic_load_n(&s->timed_out, __ATOMIC_ACQUIRE);
}

/* The longest the driver may wait before the next run (either mode). */
static int jk_rpc_deadline_ms(const jk_rpc_server *s)
{
    MHD_UNSIGNED_LONG_LONG ms;
    if (__atomic_load_n(&s->closed_in_run, __ATOMIC_RELAXED))
        return 0;
    int64_t wait = MHD_get_timeout(s->daemon, &ms) == MHD_YES ? (ms > 60000 ? 60000 : (int64_t)ms) : -1;
    uint64_t now = jk_rpc_now_ms();
    for (const jk_rpc_conn *rc = s->conns; rc; rc = rc->next)
        if (rc->due) {
            int64_t left = rc->due > now ? (int64_t)(rc->due - now) : 0;
            if (wait < 0 || left < wait)
                wait = left;
        }
    return (int)wait;
}

int jk_rpc_server_timeout_ms(const jk_rpc_server *s)
{
    return s->external ? jk_rpc_deadline_ms(s) : -1;
}

/* Slow clients: a connection whose request is not whole by its due time is
 * told so (408, written straight to the socket: nothing of an answer has
 * been written on it) and shut down; MHD sees the end of the stream in the
 * run that follows and closes it (MHD owns the descriptor: no close here,
 * so no descriptor can be reused under it). */
static void jk_rpc_sweep(jk_rpc_server *s)
{
    static const char msg[] = "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n"
                              "Content-Length: 0\r\n\r\n";
    uint64_t now = jk_rpc_now_ms();
    for (jk_rpc_conn *rc = s->conns; rc; rc = rc->next)
        if (rc->due && rc->due <= now) {
            rc->due = 0;
            /* counted before the client is told: a client that sees the
             * close may read the count at once (threaded mode) */
            __atomic_add_fetch(&s->timed_out, 1, __ATOMIC_RELEASE);
            jk_rpc_metric_add(s->timed_out_metric, 1);
            (void)!send(rc->fd, msg, sizeof msg - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
            shutdown(rc->fd, SHUT_RDWR);
        }
}

static jk_err jk_rpc_run(jk_rpc_server *s)
{
    __atomic_store_n(&s->closed_in_run, false, __ATOMIC_RELAXED);
    jk_rpc_sweep(s);
    return MHD_run(s->daemon) == MHD_YES ? JK_OK : JK_ERR_IO;
}

jk_err jk_rpc_server_run(jk_rpc_server *s)
{
    if (!s->external)
        return JK_ERR_INVALID_ARG;
    return jk_rpc_run(s);
}

/* Threaded mode: what a node's loop does for the external mode — wait for
 * MHD's descriptor or the deadline (a connection's request clock, MHD's own
 * timeouts), then run — until jk_rpc_server_stop wakes it. A run that fails
 * (MHD's internal error) is retried after the wait: the server stays up, as
 * MHD's own thread did. */
static void *jk_rpc_loop(void *arg)
{
    jk_rpc_server *s = arg;
    while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
        struct epoll_event ev[2];
        int wait = jk_rpc_deadline_ms(s);
        (void)epoll_wait(s->loop_fd, ev, 2, wait);
        if (__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE))
            break;
        (void)jk_rpc_run(s);
    }
    return NULL;
}

static jk_err jk_rpc_thread_start(jk_rpc_server *s)
{
    int mhd = jk_rpc_daemon_fd(s);
    s->loop_fd = epoll_create1(EPOLL_CLOEXEC);
    s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (mhd < 0 || s->loop_fd < 0 || s->wake_fd < 0)
        return JK_ERR_IO;
    struct epoll_event a = {.events = EPOLLIN, .data.fd = mhd};
    struct epoll_event b = {.events = EPOLLIN, .data.fd = s->wake_fd};
    if (epoll_ctl(s->loop_fd, EPOLL_CTL_ADD, mhd, &a) != 0 ||
        epoll_ctl(s->loop_fd, EPOLL_CTL_ADD, s->wake_fd, &b) != 0)
        return JK_ERR_IO;
    if (pthread_create(&s->thread, NULL, jk_rpc_loop, s) != 0)
        return JK_ERR_IO;
    s->has_thread = true;
    return JK_OK;
}

static void jk_rpc_server_free(jk_rpc_server *s)
{
    while (s->conns) { /* MHD_stop_daemon notified every close; none is left */
        jk_rpc_conn *next = s->conns->next;
        free(s->conns);
        s->conns = next;
    }
    if (s->loop_fd >= 0)
        close(s->loop_fd);
    if (s->wake_fd >= 0)
        close(s->wake_fd);
    free(s);
}

void jk_rpc_server_stop(jk_rpc_server *s)
{
    if (!s)
        return;
    if (s->has_thread) { /* no provider call runs or starts after the join */
        uint64_t one = 1;
        __atomic_store_n(&s->stop, 1, __ATOMIC_RELEASE);
        (void)!write(s->wake_fd, &one, sizeof one);
        pthread_join(s->thread, NULL);
    }
    MHD_stop_daemon(s->daemon);
    jk_rpc_server_free(s);
}
