/*
 * test_rpc_server_slow.c — a slow-loris client (issue 13, docs/rpc.md
 * "Slow clients"): a real socket that starts a request and then dribbles
 * one header byte at a time. MHD's own timeout is of inactivity, so each
 * byte kept the connection open for ever; now the request must arrive
 * whole within request_ms (here 300 ms), after which the server answers
 * 408, closes the connection and counts it in /metrics.
 *
 * No timing decides the outcome: the client dribbles until the server
 * closes the connection, with a generous cap (30 s of dribbling) that only
 * a server without the bound reaches.
 */
#include "../test.h"

#include "jark/rpc.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct slow_client {
    uint16_t port;
    bool closed;            /* the server closed the connection */
    char reply[256];        /* what it wrote before closing */
    size_t reply_len;
    int done;
} slow_client;

static void *slow_client_run(void *arg)
{
    slow_client *c = arg;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(c->port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0) {
        static const char head[] = "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
        bool ok = send(fd, head, sizeof head - 1, MSG_NOSIGNAL) == (ssize_t)(sizeof head - 1);
        /* one byte per 50 ms, at most 600 of them (30 s) */
        for (int k = 0; ok && k < 600 && !c->closed; k++) {
            struct pollfd p = {fd, POLLIN, 0};
            if (poll(&p, 1, 50) > 0) {
                ssize_t n = recv(fd, c->reply + c->reply_len, sizeof c->reply - 1 - c->reply_len, 0);
                if (n <= 0)
                    c->closed = true;
                else
                    c->reply_len += (size_t)n;
                continue;
            }
            if (send(fd, "a", 1, MSG_NOSIGNAL) != 1)
                c->closed = true;
        }
    }
    if (fd >= 0)
        close(fd);
    __atomic_store_n(&c->done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

/* The client was answered 408 and closed, and the server counted it (its
 * own figure and /metrics). */
static void slow_client_was_timed_out(slow_client *c, jk_rpc_server *s, jk_rpc_metrics *m)
{
    JK_CHECK(c->closed);
    c->reply[c->reply_len] = 0;
    JK_CHECK(strncmp(c->reply, "HTTP/1.1 408", 12) == 0);
    JK_CHECK_EQ(jk_rpc_server_timed_out(s), 1);
    char *text = NULL;
    size_t len = 0;
    if (jk_rpc_metrics_render(m, &text, &len) == JK_OK)
        JK_CHECK(strstr(text, "\njark_rpc_requests_timed_out_total 1\n") != NULL);
    else
        JK_CHECK(false);
    free(text);
}

JK_TEST(test_rpc_server_slow_client_closed)
{
    jk_rpc_metrics *m = NULL;
    JK_REQUIRE(jk_rpc_metrics_new(&m) == JK_OK);
    jk_rpc_provider p = {0};
    jk_rpc_server_config cfg = {.metrics = m, .external_loop = true, .request_ms = 300};
    jk_rpc_server *s;
    JK_REQUIRE(jk_rpc_server_start(&cfg, &p, &s, NULL) == JK_OK);
    int fd = jk_rpc_server_fd(s);
    JK_REQUIRE(fd >= 0);
    slow_client c = {.port = jk_rpc_server_port(s)};
    pthread_t th;
    JK_REQUIRE(pthread_create(&th, NULL, slow_client_run, &c) == 0);
    while (!__atomic_load_n(&c.done, __ATOMIC_SEQ_CST)) {
        /* the node's loop: wait for the descriptor or the server's deadline */
        int wait = jk_rpc_server_timeout_ms(s);
        struct pollfd pfd = {fd, POLLIN, 0};
        poll(&pfd, 1, wait < 0 || wait > 100 ? 100 : wait);
        if (jk_rpc_server_run(s) != JK_OK)
            break;
    }
    pthread_join(th, NULL);
    slow_client_was_timed_out(&c, s, m);
    /* the connection is gone from the server's count too */
    for (int k = 0; k < 200 && jk_rpc_server_connections(s) > 0; k++) {
        struct pollfd pfd = {fd, POLLIN, 0};
        poll(&pfd, 1, 50);
        JK_CHECK_EQ(jk_rpc_server_run(s), JK_OK);
    }
    JK_CHECK_EQ(jk_rpc_server_connections(s), 0);
    jk_rpc_server_stop(s);
    jk_rpc_metrics_free(m);
}

/* The same client against a server in threaded mode (session 8): the
 * server's own thread keeps the request clock too (it used to run MHD's
 * polling thread, whose only timeout is of inactivity). */
JK_TEST(test_rpc_server_slow_client_closed_threaded)
{
    jk_rpc_metrics *m = NULL;
    JK_REQUIRE(jk_rpc_metrics_new(&m) == JK_OK);
    jk_rpc_provider p = {0};
    jk_rpc_server_config cfg = {.metrics = m, .external_loop = false, .request_ms = 300};
    jk_rpc_server *s;
    JK_REQUIRE(jk_rpc_server_start(&cfg, &p, &s, NULL) == JK_OK);
    JK_CHECK_EQ(jk_rpc_server_fd(s), -1);
    JK_CHECK_EQ(jk_rpc_server_run(s), JK_ERR_INVALID_ARG);
    slow_client c = {.port = jk_rpc_server_port(s)};
    pthread_t th;
    JK_REQUIRE(pthread_create(&th, NULL, slow_client_run, &c) == 0);
    pthread_join(th, NULL);
    slow_client_was_timed_out(&c, s, m);
    for (int k = 0; k < 200 && jk_rpc_server_connections(s) > 0; k++)
        usleep(50 * 1000);
    JK_CHECK_EQ(jk_rpc_server_connections(s), 0);
    /* a whole request is still answered */
    char *res = NULL;
    jk_diag d;
    JK_CHECK_EQ(jk_rpc_call("127.0.0.1", jk_rpc_server_port(s), "status", NULL, &res, &d),
                JK_ERR_RPC_REMOTE); /* no provider function: a JSON-RPC error, answered */
    free(res);
    jk_rpc_server_stop(s);
    jk_rpc_metrics_free(m);
}
