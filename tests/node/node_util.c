/*
 * node_util.c — node processes on loopback for the tests (node_util.h).
 */
#define _GNU_SOURCE
#include "node_util.h"

#include "jark/bytes.h"
#include "jark/net.h"
#include "jark/rpc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TN_VALUE 52

void tn_key(uint32_t i, uint8_t sk[64], uint8_t pk[32])
{
    uint8_t seed[32];
    memset(seed, 0x60 + (int)i, sizeof seed);
    if (jk_crypto_init() != JK_OK || jk_crypto_ed25519_keypair_from_seed(seed, pk, sk) != JK_OK)
        abort();
}

void tn_genesis(uint8_t tag, jk_hash *out)
{
    uint8_t g[8] = {'t', 'n', 'g', 'e', 'n', 0, 0, tag};
    jk_crypto_blake2b256(g, sizeof g, out);
}

/* ---- the child: one node over the test application --------------------- */

typedef struct tn_app {
    jk_node_archive *a;
    uint32_t n;
    uint64_t max_height;    /* 0: no limit */
    jk_hash genesis;
    uint8_t *dec;           /* the decision lent to the machine */
    jk_cons_cert cert;
} tn_app;

static void tn_parent_hash(tn_app *app, uint64_t height, jk_hash *out)
{
    if (height <= 1 || jk_node_archive_get(app->a, height - 1, out, NULL, NULL, NULL, NULL) != JK_OK)
        *out = app->genesis;
}

static uint32_t tn_proposer(void *ctx, uint64_t h, uint32_t r)
{
    tn_app *app = ctx;
    return (uint32_t)((h + r) % app->n);
}

static jk_err tn_get_value(void *ctx, uint64_t h, uint32_t r, uint8_t **v, size_t *len)
{
    tn_app *app = ctx;
    if (app->max_height && h > app->max_height)
        return JK_ERR_NODE_HEIGHT; /* the chain stops here */
    uint8_t *b = malloc(TN_VALUE);
    if (!b)
        return JK_ERR_NOMEM;
    memcpy(b, "JKT1", 4);
    jk_put_u64le(b + 4, h);
    jk_put_u32le(b + 12, r);
    jk_put_u32le(b + 16, tn_proposer(ctx, h, r));
    jk_hash parent;
    tn_parent_hash(app, h, &parent);
    memcpy(b + 20, parent.bytes, 32);
    *v = b;
    *len = TN_VALUE;
    return JK_OK;
}

static bool tn_valid(void *ctx, uint64_t h, const uint8_t *v, size_t len)
{
    tn_app *app = ctx;
    jk_hash parent;
    tn_parent_hash(app, h, &parent);
    return len == TN_VALUE && memcmp(v, "JKT1", 4) == 0 && jk_get_u64le(v + 4) == h &&
           jk_node_archive_top(app->a) + 1 == h && memcmp(v + 20, parent.bytes, 32) == 0;
}

static void tn_hash(void *ctx, const uint8_t *v, size_t len, jk_hash *out)
{
    (void)ctx;
    jk_crypto_blake2b256(v, len, out);
}

static jk_err tn_commit(void *ctx, uint64_t h, const uint8_t *v, size_t len, const jk_cons_cert *cert)
{
    tn_app *app = ctx;
    jk_hash id;
    tn_hash(ctx, v, len, &id);
    return jk_node_archive_put(app->a, h, &id, v, len, cert, NULL);
}

static bool tn_get_decision(void *ctx, uint64_t h, const uint8_t **v, size_t *len,
                            const jk_cons_cert **cert)
{
    tn_app *app = ctx;
    free(app->dec);
    app->dec = NULL;
    if (jk_node_archive_get(app->a, h, NULL, &app->dec, len, &app->cert, NULL) != JK_OK)
        return false;
    *v = app->dec;
    *cert = &app->cert;
    return true;
}

static void tn_log(void *ctx, int level, const char *line)
{
    (void)ctx;
    (void)level;
    fprintf(stderr, "[node %d] %s\n", (int)getpid(), line);
}

static volatile int tn_stop_flag;

static void tn_on_signal(int sig)
{
    (void)sig;
    tn_stop_flag = 1;
}

/* JK_TEST_NODE="i n dir port0,port1,... rpc tag verbose validators tick
 * max_height idle" */
static int tn_child(const char *spec)
{
    unsigned i, n, rpc, tag, verbose, vals, tick, idle;
    unsigned long long max_height;
    char dir[256], ports[256];
    if (sscanf(spec, "%u %u %255s %255s %u %u %u %u %u %llu %u", &i, &n, dir, ports, &rpc, &tag,
               &verbose, &vals, &tick, &max_height, &idle) != 11 ||
        n > TN_MAX || i >= n || vals == 0 || vals > n)
        return 2;
    uint16_t port[TN_MAX];
    char *p = ports;
    for (unsigned k = 0; k < n; k++) {
        port[k] = (uint16_t)strtoul(p, &p, 10);
        if (*p == ',')
            p++;
    }
    struct sigaction sa = {.sa_handler = tn_on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    static jk_cons_valset vs;
    uint8_t sk[64], pk[32], keys[TN_MAX][32];
    vs.count = vals;
    for (unsigned k = 0; k < n; k++)
        tn_key(k, sk, keys[k]);
    memcpy(vs.keys, keys, (size_t)vals * 32);
    tn_key(i, sk, pk);
    tn_app app = {.n = vals, .max_height = max_height};
    tn_genesis((uint8_t)tag, &app.genesis);
    jk_diag diag = {{0}};
    char adir[300];
    snprintf(adir, sizeof adir, "%s/node-%u", dir, i);
    if (jk_node_archive_open(adir, &app.a, &diag) != JK_OK) {
        fprintf(stderr, "archive: %s\n", diag.msg);
        return 2;
    }
    jk_net_peer_config peers[TN_MAX];
    size_t np = 0;
    for (unsigned k = 0; k < n; k++) {
        if (k == i)
            continue;
        peers[np] = (jk_net_peer_config){.host = "127.0.0.1", .port = port[k]};
        memcpy(peers[np].key, keys[k], 32);
        np++;
    }
    jk_node_config cfg = {
        .net = {.listen_host = "127.0.0.1", .listen_port = port[i], .peers = peers, .peer_count = np},
        .secret_key = sk,
        .genesis = app.genesis,
        .valset = &vs,
        .self = i < vals ? i : JK_NODE_FULL,
        .timeouts = {.propose_ms = 400, .propose_delta_ms = 200, .prevote_ms = 200,
                     .prevote_delta_ms = 100, .precommit_ms = 200, .precommit_delta_ms = 100,
                     .tick_ms = 500},
        .app = {.ctx = &app, .proposer = tn_proposer, .get_value = tn_get_value, .valid = tn_valid,
                .hash = tn_hash, .commit = tn_commit, .get_decision = tn_get_decision},
        .archive = app.a,
        .height = jk_node_archive_top(app.a) + 1,
        .rpc = true,
        .rpc_host = "127.0.0.1",
        .rpc_port = (uint16_t)rpc,
        .log = tn_log,
        .verbose = (int)verbose,
    };
    if (tick)
        cfg.timeouts.tick_ms = tick;
    if (idle) {
        const uint32_t hour = 3600u * 1000u;
        cfg.timeouts = (jk_cons_timeouts){.propose_ms = hour, .prevote_ms = hour,
                                          .precommit_ms = hour, .tick_ms = hour};
    }
    jk_net_limits_default(&cfg.net.limits);
    cfg.net.limits.backoff_min_ms = 50;
    cfg.net.limits.backoff_max_ms = 500;
    jk_node *node;
    int rc = 0;
    if (jk_node_new(&cfg, &node, &diag) != JK_OK) {
        fprintf(stderr, "node: %s\n", diag.msg);
        rc = 2;
    } else {
        if (jk_node_run(node, &tn_stop_flag, 0, &diag) != JK_OK) {
            fprintf(stderr, "node: %s\n", diag.msg);
            rc = 1;
        }
        jk_node_free(node);
    }
    free(app.dec);
    jk_node_archive_close(app.a);
    return rc;
}

/* ---- in-process: a lone validator for tests of the loop itself ---------- */

struct tn_lone {
    tn_app app;
    jk_cons_valset vs;
    uint8_t sk[64];
    jk_node *node;
};

tn_lone *tn_lone_new(const char *dir, uint16_t port, uint16_t rpc_port)
{
    tn_lone *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    uint8_t pk[32];
    tn_key(0, l->sk, pk);
    l->vs.count = 1;
    memcpy(l->vs.keys, pk, 32);
    l->app.n = 1;
    tn_genesis(1, &l->app.genesis);
    jk_diag diag = {{0}};
    char adir[300];
    snprintf(adir, sizeof adir, "%s/node-0", dir);
    if (jk_node_archive_open(adir, &l->app.a, &diag) != JK_OK) {
        fprintf(stderr, "archive: %s\n", diag.msg);
        free(l);
        return NULL;
    }
    jk_node_config cfg = {
        .net = {.listen_host = "127.0.0.1", .listen_port = port},
        .secret_key = l->sk,
        .genesis = l->app.genesis,
        .valset = &l->vs,
        .self = 0,
        .timeouts = {.propose_ms = 400, .propose_delta_ms = 200, .prevote_ms = 200,
                     .prevote_delta_ms = 100, .precommit_ms = 200, .precommit_delta_ms = 100,
                     .tick_ms = 500},
        .app = {.ctx = &l->app, .proposer = tn_proposer, .get_value = tn_get_value, .valid = tn_valid,
                .hash = tn_hash, .commit = tn_commit, .get_decision = tn_get_decision},
        .archive = l->app.a,
        .height = jk_node_archive_top(l->app.a) + 1,
        .rpc = true,
        .rpc_host = "127.0.0.1",
        .rpc_port = rpc_port,
    };
    jk_net_limits_default(&cfg.net.limits);
    if (jk_node_new(&cfg, &l->node, &diag) != JK_OK) {
        fprintf(stderr, "node: %s\n", diag.msg);
        tn_lone_free(l);
        return NULL;
    }
    return l;
}

jk_node *tn_lone_node(tn_lone *l)
{
    return l->node;
}

void tn_lone_free(tn_lone *l)
{
    if (!l)
        return;
    jk_node_free(l->node);
    free(l->app.dec);
    jk_node_archive_close(l->app.a);
    free(l);
}

__attribute__((constructor)) static void tn_child_entry(void)
{
    const char *spec = getenv("JK_TEST_NODE");
    if (spec)
        _exit(tn_child(spec));
}

/* ---- the parent --------------------------------------------------------- */

uint16_t tn_free_port(int type)
{
    return jk_net_loopback_free_port(type);
}

bool tn_init(tn_cluster *c, uint32_t n)
{
    memset(c, 0, sizeof *c);
    c->n = n;
    c->validators = n;
    snprintf(c->dir, sizeof c->dir, "/tmp/jark-node-test-XXXXXX");
    if (n > TN_MAX || !mkdtemp(c->dir))
        return false;
    for (uint32_t i = 0; i < n; i++) {
        c->port[i] = tn_free_port(SOCK_DGRAM);
        c->rpc[i] = tn_free_port(SOCK_STREAM);
        if (!c->port[i] || !c->rpc[i])
            return false;
    }
    return true;
}

bool tn_start(tn_cluster *c, uint32_t i)
{
    char ports[256] = "", env[512];
    for (uint32_t k = 0; k < c->n; k++) {
        size_t l = strlen(ports);
        snprintf(ports + l, sizeof ports - l, "%s%u", k ? "," : "", c->port[k]);
    }
    const char *v = getenv("JK_TEST_NODE_VERBOSE");
    snprintf(env, sizeof env, "%u %u %s %s %u %u %d %u %u %llu %u", i, c->n, c->dir, ports,
             c->rpc[i], c->genesis_tag[i], v ? atoi(v) : -1, c->validators, c->tick_ms[i],
             (unsigned long long)c->max_height[i], c->idle[i] ? 1u : 0u);
    pid_t pid = fork();
    if (pid < 0)
        return false;
    if (pid == 0) {
        setenv("JK_TEST_NODE", env, 1);
        char *argv[] = {"jark-test-node", NULL};
        execv("/proc/self/exe", argv);
        _exit(127);
    }
    c->pid[i] = pid;
    return true;
}

void tn_stop(tn_cluster *c, uint32_t i, int sig, bool *exit_ok)
{
    if (exit_ok)
        *exit_ok = false;
    if (!c->pid[i])
        return;
    kill(c->pid[i], sig);
    int st;
    while (waitpid(c->pid[i], &st, 0) < 0 && errno == EINTR)
        ;
    if (exit_ok)
        *exit_ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
    c->pid[i] = 0;
}

bool tn_start_first(tn_cluster *c, uint32_t count)
{
    for (uint32_t i = 0; i < count; i++)
        if (!tn_start(c, i))
            return false;
    return true;
}

void tn_stop_all(tn_cluster *c)
{
    for (uint32_t i = 0; i < c->n; i++)
        tn_stop(c, i, SIGTERM, NULL);
}

int64_t tn_height(const tn_cluster *c, uint32_t i)
{
    jk_diag d;
    int64_t h = -1;
    if (jk_rpc_status_height("127.0.0.1", c->rpc[i], &h, &d) != JK_OK)
        h = -1;
    return h;
}

uint64_t tn_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

bool tn_wait(const tn_cluster *c, uint32_t mask, uint64_t h, uint64_t limit_ms)
{
    uint64_t end = tn_ms() + limit_ms;
    for (;;) {
        bool all = true;
        for (uint32_t i = 0; i < c->n && all; i++)
            if (mask >> i & 1)
                all = tn_height(c, i) >= (int64_t)h;
        if (all)
            return true;
        if (tn_ms() > end)
            return false;
        usleep(50 * 1000);
    }
}

bool tn_agree(const tn_cluster *c, uint64_t *min_top)
{
    jk_node_archive *a[TN_MAX] = {0};
    bool ok = true;
    uint64_t lo = UINT64_MAX;
    for (uint32_t i = 0; i < c->n && ok; i++) {
        char d[256];
        snprintf(d, sizeof d, "%s/node-%u", c->dir, i);
        ok = jk_node_archive_open(d, &a[i], NULL) == JK_OK;
        if (ok && jk_node_archive_top(a[i]) < lo)
            lo = jk_node_archive_top(a[i]);
    }
    for (uint64_t h = 1; ok && h <= lo; h++) {
        jk_hash first, x;
        for (uint32_t i = 0; i < c->n && ok; i++) {
            ok = jk_node_archive_get(a[i], h, &x, NULL, NULL, NULL, NULL) == JK_OK;
            if (ok && i == 0)
                first = x;
            else if (ok)
                ok = memcmp(first.bytes, x.bytes, 32) == 0;
        }
    }
    for (uint32_t i = 0; i < c->n; i++)
        jk_node_archive_close(a[i]);
    *min_top = lo == UINT64_MAX ? 0 : lo;
    return ok;
}

int64_t tn_stored_height(const tn_cluster *c, uint32_t i)
{
    char d[256];
    jk_node_archive *a = NULL;
    snprintf(d, sizeof d, "%s/node-%u", c->dir, i);
    if (jk_node_archive_open(d, &a, NULL) != JK_OK)
        return -1;
    int64_t top = (int64_t)jk_node_archive_top(a);
    jk_node_archive_close(a);
    return top;
}

void tn_destroy(tn_cluster *c)
{
    for (uint32_t i = 0; i < c->n; i++)
        tn_stop(c, i, SIGKILL, NULL);
    char cmd[300];
    if (c->dir[0] && strncmp(c->dir, "/tmp/jark-node-test-", 20) == 0) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", c->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", c->dir);
    }
}
