/*
 * test_rpc_server_limit.c — the RPC server at its connection limits, in the
 * external-loop mode the node uses (adv6's finding: after a flood of
 * JK_RPC_MAX_CONNECTIONS connections the server stayed deaf once they had
 * all closed, until something unrelated woke the node's loop — about a
 * minute on an idle node).
 *
 * The loop below is the node's: wait on jk_rpc_server_fd for at most
 * jk_rpc_server_timeout_ms (-1: no deadline), then jk_rpc_server_run. A wait
 * with no deadline that sees nothing while a client is still unanswered is
 * the stall; the 5 s cap on such a wait only turns the stall into a failure
 * instead of a hang. With the fix nothing waits on a clock.
 */
#include "../test.h"
#include "rpc_fake.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* A TCP connection to 127.0.0.1:port from the loopback address 127.0.0.src
 * (the per-address limit counts sources); -1 on failure. */
static int connect_from(uint8_t src, uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in from = {0}, to = {0};
    from.sin_family = AF_INET;
    from.sin_addr.s_addr = htonl(0x7f000000u | src);
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&from, sizeof from) != 0 ||
        connect(fd, (struct sockaddr *)&to, sizeof to) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static bool readable(int fd, int ms)
{
    struct pollfd p = {fd, POLLIN, 0};
    return poll(&p, 1, ms) > 0;
}

/* One turn of the node's loop. false: it would have waited forever. */
static bool loop_turn(jk_rpc_server *s)
{
    int wait = jk_rpc_server_timeout_ms(s);
    if (!readable(jk_rpc_server_fd(s), wait < 0 ? 5000 : wait) && wait < 0)
        return false;
    return jk_rpc_server_run(s) == JK_OK;
}

/* The fake node behind a server in the node's external-loop mode. */
static bool server_start(fake_node *f, jk_rpc_server **s)
{
    if (!fake_node_init(f))
        return false;
    jk_rpc_provider p = fake_provider(f);
    jk_rpc_server_config cfg = {NULL, 0, 0, NULL, true};
    if (jk_rpc_server_start(&cfg, &p, s, NULL) == JK_OK)
        return true;
    fake_node_free(f);
    return false;
}

JK_TEST(test_rpc_server_listens_again_after_a_connection_flood)
{
    fake_node f;
    jk_rpc_server *s;
    JK_REQUIRE(server_start(&f, &s));
    uint16_t port = jk_rpc_server_port(s);

    /* The flood: the whole limit, from two source addresses so that the
     * per-address limit is not what stops it. */
    enum { N = JK_RPC_MAX_CONNECTIONS };
    JK_REQUIRE(N <= 2 * JK_RPC_MAX_CONNECTIONS_PER_ADDRESS);
    int flood[N];
    for (int i = 0; i < N; i++) {
        flood[i] = connect_from((uint8_t)(1 + i % 2), port);
        JK_REQUIRE(flood[i] >= 0);
    }
    /* The server accepts all of them (each turn's wait ends on the listening
     * socket or a connection's deadline). */
    for (int turn = 0; turn < 10000 && jk_rpc_server_connections(s) < N; turn++)
        JK_REQUIRE(loop_turn(s));
    JK_REQUIRE(jk_rpc_server_connections(s) == (unsigned)N);

    /* At its limit MHD takes the listening socket out of its epoll set at
     * the start of its next run (two runs here, neither waits). */
    JK_REQUIRE(jk_rpc_server_run(s) == JK_OK);
    JK_REQUIRE(jk_rpc_server_run(s) == JK_OK);
    /* A client that comes while the server is full waits in the backlog;
     * then the flood leaves. */
    int late = connect_from(3, port);
    JK_REQUIRE(late >= 0);
    const char req[] = "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                       "Content-Length: 46\r\nConnection: close\r\n\r\n"
                       "{\"jsonrpc\":\"2.0\",\"method\":\"status\",\"id\":7}    ";
    JK_REQUIRE(send(late, req, strlen(req), 0) == (ssize_t)strlen(req));
    for (int i = 0; i < N; i++)
        close(flood[i]);

    /* The late client is answered, and no turn on the way waits forever. */
    bool stalled = false;
    for (int turn = 0; turn < 10000 && !readable(late, 0); turn++)
        if (!loop_turn(s)) {
            stalled = true;
            break;
        }
    JK_CHECK(!stalled);
    char answer[4096];
    ssize_t n = stalled ? 0 : recv(late, answer, sizeof answer - 1, 0);
    answer[n > 0 ? n : 0] = 0;
    if (!strstr(answer, "200 OK"))
        printf("late client read: %zd bytes: %s\n", n, answer);
    JK_CHECK(strstr(answer, "200 OK") != NULL);
    JK_CHECK(strstr(answer, "\"id\":7") != NULL);
    close(late);
    jk_rpc_server_stop(s);
    fake_node_free(&f);
}

/* The per-address limit: one source address cannot take every place. */
JK_TEST(test_rpc_server_per_address_limit_leaves_places_to_others)
{
    fake_node f;
    jk_rpc_server *s;
    JK_REQUIRE(server_start(&f, &s));
    uint16_t port = jk_rpc_server_port(s);
    enum { N = JK_RPC_MAX_CONNECTIONS_PER_ADDRESS + 8 };
    int conn[N];
    for (int i = 0; i < N; i++) {
        conn[i] = connect_from(1, port);
        JK_REQUIRE(conn[i] >= 0);
    }
    /* Every connection is accepted; those past the per-address limit are
     * closed at once (the client reads end of file). */
    int closed = 0;
    for (int turn = 0; turn < 10000 && (int)jk_rpc_server_connections(s) + closed < N; turn++) {
        JK_REQUIRE(loop_turn(s));
        closed = 0;
        for (int i = 0; i < N; i++) {
            char c;
            if (readable(conn[i], 0) && recv(conn[i], &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0)
                closed++;
        }
    }
    JK_CHECK_EQ(closed, N - JK_RPC_MAX_CONNECTIONS_PER_ADDRESS);
    JK_CHECK_EQ(jk_rpc_server_connections(s), (unsigned)JK_RPC_MAX_CONNECTIONS_PER_ADDRESS);
    /* Another address still gets in and is served. */
    int other = connect_from(2, port);
    JK_REQUIRE(other >= 0);
    for (int turn = 0; turn < 10000 && jk_rpc_server_connections(s) <= JK_RPC_MAX_CONNECTIONS_PER_ADDRESS;
         turn++)
        JK_REQUIRE(loop_turn(s));
    JK_CHECK_EQ(jk_rpc_server_connections(s), (unsigned)JK_RPC_MAX_CONNECTIONS_PER_ADDRESS + 1);
    for (int i = 0; i < N; i++)
        close(conn[i]);
    close(other);
    jk_rpc_server_stop(s);
    fake_node_free(&f);
}
