/*
 * cmd_testnet.c — `jark testnet`: V `jark node` processes on 127.0.0.1,
 * each with its own key, store and free ports; watched through their RPC;
 * perturbed (SIGKILL, restart) at given heights; stopped with SIGTERM; then
 * their archives compared height by height (docs/node.md, "jark testnet").
 * Exits 1 when two nodes committed different blocks at one height.
 */
#define _GNU_SOURCE
#include "commands.h"

#include "jark/devnet.h"
#include "jark/node.h"
#include "jark/sdk.h"
#include "jark/spec.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TNET_MAX 16
#define TNET_MAX_PERTURB 32
#define TNET_LIMIT_MS 120000 /* no progress for this long: give up */

typedef struct tnet_perturb {
    bool restart;
    bool wipe;               /* kill, remove the node's store, start it empty */
    uint32_t node;
    uint64_t height;
    bool done;
} tnet_perturb;

typedef struct tnet {
    uint32_t v;
    char dir[PATH_MAX];
    char spec[PATH_MAX];
    jk_spec_key keys[TNET_MAX];
    uint16_t port[TNET_MAX], rpc[TNET_MAX];
    pid_t pid[TNET_MAX];
    bool tcp;
    bool demo;               /* the demo spec: nodes get --demo-seed 1, a workload runs */
    int verbose;
} tnet;

static volatile int tnet_stop;

static void tnet_on_signal(int sig)
{
    (void)sig;
    tnet_stop = 1;
}

static uint64_t tnet_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint16_t tnet_free_port(int type)
{
    int fd = socket(AF_INET, type, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    uint16_t port = 0;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static void tnet_hex(const uint8_t *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
}

static bool tnet_start(tnet *t, uint32_t i)
{
    char key[PATH_MAX + 16], store[PATH_MAX + 16], log[PATH_MAX + 16], listen[32], rpc[32];
    snprintf(key, sizeof key, "%s/key-%u", t->dir, i);
    snprintf(store, sizeof store, "%s/node-%u", t->dir, i);
    snprintf(log, sizeof log, "%s/node-%u.log", t->dir, i);
    snprintf(listen, sizeof listen, "127.0.0.1:%u", t->port[i]);
    snprintf(rpc, sizeof rpc, "127.0.0.1:%u", t->rpc[i]);
    static char peers[TNET_MAX][128], vals[TNET_MAX][65];
    char *argv[16 + 4 * TNET_MAX];
    int argc = 0;
    argv[argc++] = "jark";
    argv[argc++] = "node";
    argv[argc++] = "--spec";
    argv[argc++] = t->spec;
    argv[argc++] = "--key";
    argv[argc++] = key;
    argv[argc++] = "--dir";
    argv[argc++] = store;
    argv[argc++] = "--listen";
    argv[argc++] = listen;
    argv[argc++] = "--rpc";
    argv[argc++] = rpc;
    if (t->tcp)
        argv[argc++] = "--tcp";
    if (t->demo) {
        argv[argc++] = "--demo-seed";
        argv[argc++] = "1";
    }
    if (t->verbose)
        argv[argc++] = "-v";
    for (uint32_t k = 0; k < t->v; k++) {
        tnet_hex(t->keys[k].public_key, 32, vals[k]);
        argv[argc++] = "--validator";
        argv[argc++] = vals[k];
        if (k == i)
            continue;
        snprintf(peers[k], sizeof peers[k], "127.0.0.1:%u@%s", t->port[k], vals[k]);
        argv[argc++] = "--peer";
        argv[argc++] = peers[k];
    }
    argv[argc] = NULL;
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return false;
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execv("/proc/self/exe", argv);
        _exit(127);
    }
    t->pid[i] = pid;
    return true;
}

/* Signal node i and reap it; true when it exited 0 (a clean stop). */
static bool tnet_kill(tnet *t, uint32_t i, int sig)
{
    if (!t->pid[i])
        return true;
    kill(t->pid[i], sig);
    int st = 0;
    while (waitpid(t->pid[i], &st, 0) < 0 && errno == EINTR)
        ;
    t->pid[i] = 0;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* status.height of node i, or -1. */
static int64_t tnet_height(const tnet *t, uint32_t i)
{
    char *res = NULL;
    jk_diag d;
    int64_t h = -1;
    if (t->pid[i] && jk_rpc_call("127.0.0.1", t->rpc[i], "status", NULL, &res, &d) == JK_OK) {
        json_object *o = json_tokener_parse(res), *x;
        if (o && json_object_object_get_ex(o, "height", &x))
            h = json_object_get_int64(x);
        json_object_put(o);
    }
    free(res);
    return h;
}

typedef struct tnet_block {
    uint32_t round;
    uint64_t events;
    char root[17];
} tnet_block;

static bool tnet_block_get(const tnet *t, uint32_t i, uint64_t h, tnet_block *b)
{
    char params[32], *res = NULL;
    jk_diag d;
    snprintf(params, sizeof params, "[%llu]", (unsigned long long)h);
    bool ok = false;
    if (jk_rpc_call("127.0.0.1", t->rpc[i], "block", params, &res, &d) == JK_OK) {
        json_object *o = json_tokener_parse(res), *hd, *x;
        if (o && json_object_object_get_ex(o, "header", &hd) &&
            json_object_object_get_ex(hd, "state_root", &x)) {
            snprintf(b->root, sizeof b->root, "%.16s", json_object_get_string(x));
            b->events = json_object_object_get_ex(o, "event_count", &x) ? (uint64_t)json_object_get_int64(x) : 0;
            /* The certificate's round: height u64 ‖ round u32 ‖ … (LE). */
            b->round = 0;
            if (json_object_object_get_ex(o, "certificate", &x) && json_object_is_type(x, json_type_string)) {
                const char *c = json_object_get_string(x);
                if (strlen(c) >= 24)
                    for (int k = 3; k >= 0; k--) {
                        unsigned byte;
                        sscanf(c + 16 + 2 * k, "%2x", &byte);
                        b->round = b->round << 8 | byte;
                    }
            }
            ok = true;
        }
        json_object_put(o);
    }
    free(res);
    return ok;
}


/* The genesis hash the nodes will build (the spec, the testnet's
 * validators, the demo state): what the workload's traces sign for. */
static bool tnet_genesis(const tnet *t, jk_devnet_demo *demo, jk_hash *out)
{
    jk_spec_file f;
    jk_diag d = {{0}};
    if (jk_spec_file_load(t->spec, NULL, &f, &d) != JK_OK) {
        fprintf(stderr, "jark testnet: %s\n", d.msg);
        return false;
    }
    static uint8_t keys[TNET_MAX][32];
    for (uint32_t i = 0; i < t->v; i++)
        memcpy(keys[i], t->keys[i].public_key, 32);
    f.spec.validators = (const uint8_t(*)[JK_ED25519_PUBLIC_SIZE])keys;
    f.spec.validator_count = t->v;
    jk_devnet_demo_state(demo, &f.spec);
    jk_chain_genesis g;
    jk_err err = jk_chain_genesis_build(&f.spec, &g, &d);
    jk_spec_file_free(&f);
    if (err != JK_OK) {
        fprintf(stderr, "jark testnet: genesis: %s\n", d.msg);
        return false;
    }
    *out = g.genesis_hash;
    jk_cap_release(g.chain);
    return true;
}

/* Submit count signed transfers (accounts first, first + 1, ...) to node i
 * in one JSON-RPC batch (one HTTP round trip); returns how many were
 * admitted. */
static uint64_t tnet_submit(const tnet *t, uint32_t i, jk_devnet_demo *demo, const jk_hash *genesis,
                            uint32_t first, uint32_t count)
{
    size_t cap = 64 + (size_t)count * 720, len = 0;
    char *body = malloc(cap);
    if (!body || !count) {
        free(body);
        return 0;
    }
    body[len++] = '[';
    for (uint32_t a = 0; a < count; a++) {
        uint8_t blob[JK_DEVNET_TRANSFER_LEN];
        jk_chain_trace tr;
        jk_devnet_demo_transfer(demo, genesis, (first + a) % jk_devnet_demo_accounts(), blob, &tr);
        char bh[2 * JK_DEVNET_TRANSFER_LEN + 1], k[65], m[65], sg[129];
        tnet_hex(blob, sizeof blob, bh);
        tnet_hex(tr.key, 32, k);
        tnet_hex(tr.msg_hash.bytes, 32, m);
        tnet_hex(tr.sig, 64, sg);
        len += (size_t)snprintf(body + len, cap - len,
                                "%s{\"jsonrpc\":\"2.0\",\"id\":%u,\"method\":\"submit_event\","
                                "\"params\":[\"transact\",\"%s\",[[\"%s\",\"%s\",\"%s\"]]]}",
                                a ? "," : "", a, bh, k, m, sg);
    }
    body[len++] = ']';
    int status = 0;
    char *reply = NULL;
    size_t rlen = 0;
    jk_diag d;
    uint64_t admitted = 0;
    if (jk_rpc_http("127.0.0.1", t->rpc[i], "POST", "/", body, len, &status, &reply, &rlen, &d) == JK_OK &&
        status == 200) {
        json_object *o = json_tokener_parse(reply);
        size_t n = o && json_object_is_type(o, json_type_array) ? json_object_array_length(o) : 0;
        for (size_t k = 0; k < n; k++) {
            json_object *r, *x;
            if (json_object_object_get_ex(json_object_array_get_idx(o, k), "result", &r) &&
                json_object_object_get_ex(r, "admitted", &x) && json_object_get_boolean(x))
                admitted++;
            else if (t->verbose)
                fprintf(stderr, "testnet: submit refused: %s\n",
                        json_object_to_json_string(json_object_array_get_idx(o, k)));
        }
        json_object_put(o);
    }
    free(reply);
    free(body);
    return admitted;
}

static int tnet_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Compare the archives of every node at every height they share. */
static bool tnet_agree(const tnet *t, uint64_t *common, uint64_t *top)
{
    jk_node_archive *a[TNET_MAX] = {0};
    bool ok = true;
    uint64_t lo = UINT64_MAX, hi = 0;
    for (uint32_t i = 0; i < t->v && ok; i++) {
        char d[PATH_MAX + 32];
        jk_diag diag;
        snprintf(d, sizeof d, "%s/node-%u", t->dir, i); /* the archive is in the store */
        ok = jk_node_archive_open(d, &a[i], &diag) == JK_OK;
        if (!ok)
            fprintf(stderr, "jark testnet: node %u: %s\n", i, diag.msg);
        uint64_t tp = ok ? jk_node_archive_top(a[i]) : 0;
        lo = tp < lo ? tp : lo;
        hi = tp > hi ? tp : hi;
    }
    for (uint64_t h = 1; ok && h <= lo; h++) {
        jk_hash first, x;
        for (uint32_t i = 0; i < t->v && ok; i++) {
            ok = jk_node_archive_get(a[i], h, &x, NULL, NULL, NULL, NULL) == JK_OK;
            if (ok && i == 0)
                first = x;
            else if (ok && memcmp(first.bytes, x.bytes, 32) != 0) {
                printf("DISAGREE at height %llu: node 0 and node %u committed different blocks\n",
                       (unsigned long long)h, i);
                ok = false;
            }
        }
    }
    for (uint32_t i = 0; i < t->v; i++)
        jk_node_archive_close(a[i]);
    *common = lo == UINT64_MAX ? 0 : lo;
    *top = hi;
    return ok;
}

static int tnet_parse_perturb(const char *s, tnet_perturb *p, size_t *n)
{
    *n = 0;
    while (*s) {
        if (*n == TNET_MAX_PERTURB)
            return -1;
        tnet_perturb *x = &p[(*n)++];
        unsigned node;
        unsigned long long h;
        int used = 0;
        x->wipe = false;
        if (sscanf(s, "kill:%u@%llu%n", &node, &h, &used) == 2 && used)
            x->restart = false;
        else if (sscanf(s, "wipe:%u@%llu%n", &node, &h, &used) == 2 && used)
            x->wipe = true;
        else if (sscanf(s, "restart:%u@%llu%n", &node, &h, &used) == 2 && used)
            x->restart = true;
        else
            return -1;
        x->node = node;
        x->height = h;
        x->done = false;
        s += used;
        if (*s == ',')
            s++;
        else if (*s)
            return -1;
    }
    return 0;
}

static const char tnet_usage[] =
    "usage: jark testnet [--validators V] [--blocks N] [--dir DIR] [--spec SPEC] [--events-per-block E]\n"
    "                    [--tcp] [--bench] [-v]\n"
    "                    [--perturb kill:I@H,restart:I@H,wipe:I@H,...]\n"
    "  wipe:I@H  kill node I, remove its store and start it empty: it syncs from genesis\n";

int jk_tool_testnet(int argc, char **argv)
{
    static tnet t;
    memset(&t, 0, sizeof t);
    uint64_t v = 4, blocks = 20, per_block = 16;
    bool bench = false;
    const char *dir = NULL, *spec = NULL, *perturb = NULL;
    tnet_perturb pt[TNET_MAX_PERTURB];
    size_t npt = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        if (!strcmp(a, "-v"))
            t.verbose = 1;
        else if (!strcmp(a, "--bench"))
            bench = true;
        else if (!strcmp(a, "--tcp"))
            t.tcp = true;
        else if (has && !strcmp(a, "--validators")) {
            if (jk_tool_parse_number(argv[++i], false, &v) != 0 || v < 1 || v > TNET_MAX)
                return fprintf(stderr, "jark testnet: --validators 1..%d\n", TNET_MAX), JK_EXIT_USAGE;
        } else if (has && !strcmp(a, "--blocks")) {
            if (jk_tool_parse_number(argv[++i], false, &blocks) != 0 || blocks < 1)
                return fprintf(stderr, "jark testnet: --blocks N (N >= 1)\n"), JK_EXIT_USAGE;
        } else if (has && !strcmp(a, "--events-per-block")) {
            if (jk_tool_parse_number(argv[++i], false, &per_block) != 0 || per_block > 64)
                return fprintf(stderr, "jark testnet: --events-per-block 0..64\n"), JK_EXIT_USAGE;
        } else if (has && !strcmp(a, "--dir"))
            dir = argv[++i];
        else if (has && !strcmp(a, "--spec"))
            spec = argv[++i];
        else if (has && !strcmp(a, "--perturb"))
            perturb = argv[++i];
        else
            return fprintf(stderr, "jark testnet: unknown option %s\n%s", a, tnet_usage), JK_EXIT_USAGE;
    }
    t.v = (uint32_t)v;
    if (perturb && (tnet_parse_perturb(perturb, pt, &npt) != 0)) {
        fprintf(stderr, "jark testnet: --perturb: kill:I@H, restart:I@H or wipe:I@H, comma-separated\n");
        return JK_EXIT_USAGE;
    }
    for (size_t k = 0; k < npt; k++)
        if (pt[k].node >= t.v)
            return fprintf(stderr, "jark testnet: --perturb names node %u of %u\n", pt[k].node, t.v),
                   JK_EXIT_USAGE;
    if (spec)
        snprintf(t.spec, sizeof t.spec, "%s", spec);
    else {
        const char *sdk = jk_sdk_dir();
        if (!sdk)
            return fprintf(stderr, "jark testnet: cannot find the SDK (set JARK_SDK_DIR) for the demo spec\n"),
                   JK_EXIT_USAGE;
        snprintf(t.spec, sizeof t.spec, "%.*s/../examples/demo/devnet-spec.json", PATH_MAX - 64, sdk);
        t.demo = true;
    }
    if (dir) {
        if (mkdir(dir, 0755) != 0 && errno != EEXIST)
            return fprintf(stderr, "jark testnet: cannot create %s\n", dir), JK_EXIT_USAGE;
        snprintf(t.dir, sizeof t.dir, "%s", dir);
    } else {
        snprintf(t.dir, sizeof t.dir, "/tmp/jark-testnet-XXXXXX");
        if (!mkdtemp(t.dir))
            return fprintf(stderr, "jark testnet: cannot create a directory in /tmp\n"), JK_EXIT_USAGE;
    }
    /* Keys: made once per directory, kept so that a rerun resumes. */
    for (uint32_t i = 0; i < t.v; i++) {
        char path[PATH_MAX + 16];
        jk_diag d;
        snprintf(path, sizeof path, "%s/key-%u", t.dir, i);
        if (jk_spec_key_load(path, &t.keys[i], &d) != JK_OK &&
            (jk_spec_key_generate(&t.keys[i]) != JK_OK || jk_spec_key_save(path, &t.keys[i], &d) != JK_OK))
            return fprintf(stderr, "jark testnet: %s\n", d.msg), JK_EXIT_USAGE;
        t.port[i] = tnet_free_port(t.tcp ? SOCK_STREAM : SOCK_DGRAM);
        t.rpc[i] = tnet_free_port(SOCK_STREAM);
    }
    /* The workload (the demo chain only): batches of E signed transfers
     * from distinct accounts, spread over the nodes' RPC; the next batch
     * goes once the last one is committed (so nonces stay in order). */
    jk_devnet_demo *demo = NULL;
    jk_hash genesis;
    if (t.demo && per_block &&
        (jk_devnet_demo_new(1, &demo) != JK_OK || !tnet_genesis(&t, demo, &genesis))) {
        jk_devnet_demo_free(demo);
        return JK_EXIT_USAGE;
    }
    if (!t.demo)
        per_block = 0;
    struct sigaction sa = {.sa_handler = tnet_on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    printf("testnet: %u validators in %s (logs: node-I.log; removed after a run that passes unless --dir), %llu blocks, %s\n", t.v, t.dir,
           (unsigned long long)blocks, t.tcp ? "TLS over TCP" : "QUIC");
    for (uint32_t i = 0; i < t.v; i++)
        if (!tnet_start(&t, i))
            return fprintf(stderr, "jark testnet: fork failed\n"), JK_EXIT_USAGE;

    /* Watch: one line per height as soon as some node has committed it. */
    uint64_t start = tnet_ms(), last_progress = start, printed = 0, prev_ms = start;
    uint64_t *fin = calloc(blocks + 1, sizeof *fin), *idle = calloc(blocks + 1, sizeof *idle);
    size_t nidle = 0;
    uint64_t rounds = 0, events = 0;
    bool up = false;
    uint64_t submitted = 0, batch_ms = 0, batches = 0, *lat = calloc(blocks + 1, sizeof *lat);
    size_t nlat = 0;
    bool outstanding = false;
    int rc = JK_EXIT_OK;
    while (!tnet_stop && printed < blocks) {
        int64_t hi = -1, lo = INT64_MAX;
        uint32_t best = 0;
        for (uint32_t i = 0; i < t.v; i++) {
            int64_t h = tnet_height(&t, i);
            if (!t.pid[i])
                continue;
            if (h > hi) {
                hi = h;
                best = i;
            }
            if (h >= 0 && h < lo)
                lo = h;
        }
        uint64_t now = tnet_ms();
        if (!up) {
            /* Time starts once every node answers (each compiles the spec's
             * programs first). */
            up = lo != INT64_MAX && hi >= 0;
            for (uint32_t i = 0; i < t.v && up; i++)
                up = !t.pid[i] || tnet_height(&t, i) >= 0;
            if (up)
                start = prev_ms = last_progress = now;
        }
        /* Heights seen in one poll share the interval since the last one:
         * finality here is as observed from outside, by polling. */
        uint64_t fresh = hi > 0 && (uint64_t)hi > printed ? (uint64_t)hi - printed : 1;
        uint64_t share = (now - prev_ms) / fresh;
        while (hi > 0 && printed < (uint64_t)hi && printed < blocks) {
            tnet_block b;
            uint64_t h = printed + 1;
            if (!tnet_block_get(&t, best, h, &b))
                break;
            uint64_t ms = share;
            prev_ms = now;
            fin[printed] = ms;
            if (b.events == 0 && h > 1)
                idle[nidle++] = ms;
            rounds += b.round + 1;
            events += b.events;
            printf("height %4llu  round %u  events %4llu  root %s  finality %5llu ms\n",
                   (unsigned long long)h, b.round, (unsigned long long)b.events, b.root,
                   (unsigned long long)ms);
            fflush(stdout);
            printed = h;
            last_progress = now;
        }
        if (up && demo) {
            if (outstanding && events >= submitted) {
                if (nlat < blocks + 1)
                    lat[nlat++] = now - batch_ms;
                outstanding = false;
            } else if (outstanding && now - batch_ms > 20000) {
                printf("testnet: a batch of events was not committed in 20 s; workload stopped\n");
                jk_devnet_demo_free(demo);
                demo = NULL;
            }
            if (demo && !outstanding && printed < blocks) {
                batch_ms = tnet_ms();
                /* The batch split over the running nodes, one JSON-RPC
                 * batch each. */
                uint32_t running = 0, part, done = 0, first = (uint32_t)(batches * per_block);
                for (uint32_t i = 0; i < t.v; i++)
                    running += t.pid[i] != 0;
                part = running ? (uint32_t)((per_block + running - 1) / running) : 0;
                for (uint32_t i = 0; i < t.v && done < per_block; i++) {
                    if (!t.pid[i])
                        continue;
                    uint32_t n = per_block - done < part ? (uint32_t)per_block - done : part;
                    submitted += tnet_submit(&t, i, demo, &genesis, first + done, n);
                    done += n;
                }
                batches++;
                outstanding = true;
            }
        }
        for (size_t k = 0; k < npt; k++) {
            if (pt[k].done || hi < 0 || (uint64_t)hi < pt[k].height)
                continue;
            pt[k].done = true;
            if (pt[k].wipe) {
                printf("perturb: wipe node %u at height %lld (kill -9, empty store, start)\n",
                       pt[k].node, (long long)hi);
                tnet_kill(&t, pt[k].node, SIGKILL);
                char cmd[PATH_MAX + 64];
                snprintf(cmd, sizeof cmd, "rm -rf '%s/node-%u'", t.dir, pt[k].node);
                if (system(cmd) != 0 || !tnet_start(&t, pt[k].node))
                    printf("testnet: could not wipe and restart node %u\n", pt[k].node);
            } else if (pt[k].restart) {
                printf("perturb: restart node %u at height %lld\n", pt[k].node, (long long)hi);
                if (!t.pid[pt[k].node])
                    tnet_start(&t, pt[k].node);
            } else {
                printf("perturb: kill -9 node %u at height %lld\n", pt[k].node, (long long)hi);
                tnet_kill(&t, pt[k].node, SIGKILL);
            }
        }
        if (now - last_progress > TNET_LIMIT_MS) {
            printf("testnet: no height committed in %d s; stopping\n", TNET_LIMIT_MS / 1000);
            rc = JK_EXIT_REFUSED;
            break;
        }
        (void)lo;
        usleep(20 * 1000);
    }
    double secs = (double)(tnet_ms() - start) / 1000.0;
    /* Before stopping: every running node (a restarted one too) catches up
     * to the heights printed, within a generous bound. */
    for (uint64_t end = tnet_ms() + 30000; !tnet_stop && rc == JK_EXIT_OK && tnet_ms() < end;) {
        bool all = true;
        for (uint32_t i = 0; i < t.v && all; i++)
            all = !t.pid[i] || tnet_height(&t, i) >= (int64_t)printed;
        if (all)
            break;
        usleep(20 * 1000);
    }
    uint32_t unclean = 0;
    for (uint32_t i = 0; i < t.v; i++)
        if (!tnet_kill(&t, i, SIGTERM)) {
            printf("testnet: node %u did not stop cleanly on SIGTERM (see node-%u.log)\n", i, i);
            unclean++;
        }
    if (unclean && rc == JK_EXIT_OK)
        rc = JK_EXIT_REFUSED;
    uint64_t common = 0, top = 0;
    bool agree = tnet_agree(&t, &common, &top);
    /* Finality: of the events (submit to commit, per batch) when a
     * workload ran, else of the heights (the interval between commits). */
    uint64_t *fl = nlat ? lat : fin;
    size_t nf = nlat ? nlat : printed;
    qsort(fl, nf, sizeof *fl, tnet_cmp_u64);
    uint64_t p50 = nf ? fl[(nf - 1) / 2] : 0;
    uint64_t p99 = nf ? fl[(nf * 99 + 99) / 100 - 1] : 0;
    printf("summary: %llu heights in %.1f s, %llu events (%.1f events/s), %s finality p50 %llu ms p99 %llu ms, "
           "rounds/height %.2f, nodes %s (common height %llu, highest %llu)\n",
           (unsigned long long)printed, secs, (unsigned long long)events,
           secs > 0 ? (double)events / secs : 0.0, nlat ? "event" : "block",
           (unsigned long long)p50, (unsigned long long)p99,
           printed ? (double)rounds / (double)printed : 0.0,
           agree ? "agree on every block" : "DISAGREE", (unsigned long long)common,
           (unsigned long long)top);
    if (bench) {
        /* The Ed25519 bound measured now, on this machine: cores x
         * verifies per second / signature checks per event across the
         * network (each of the V nodes verifies each event's one trace once
         * on admission; the block check finds it in the signature cache). */
        uint8_t sk[64], pk[32], seed[32] = {7}, msg[32] = {1}, sig[64];
        jk_crypto_ed25519_keypair_from_seed(seed, pk, sk);
        jk_crypto_ed25519_sign(sk, msg, sizeof msg, sig);
        uint64_t t0 = tnet_ms(), n = 0;
        while (tnet_ms() - t0 < 500 || n < 100) {
            for (int k = 0; k < 100; k++)
                (void)jk_crypto_ed25519_verify(pk, msg, sizeof msg, sig);
            n += 100;
        }
        double vps = (double)n * 1000.0 / (double)(tnet_ms() - t0);
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        double bound = (double)(cores > 0 ? cores : 1) * vps / (double)t.v;
        double eps = secs > 0 ? (double)events / secs : 0.0;
        qsort(idle, nidle, sizeof *idle, tnet_cmp_u64);
        printf("BENCH testnet validators=%u events=%llu events_per_s=%.1f ed25519_bound=%.0f "
               "(cores=%ld verifies_per_s=%.0f checks_per_event=%u) ratio=%.4f "
               "finality_load_p50_ms=%llu finality_load_p99_ms=%llu "
               "finality_idle_p50_ms=%llu finality_idle_p99_ms=%llu\n",
               t.v, (unsigned long long)events, eps, bound, cores, vps, t.v,
               bound > 0 ? eps / bound : 0.0, (unsigned long long)p50, (unsigned long long)p99,
               (unsigned long long)(nidle ? idle[(nidle - 1) / 2] : 0),
               (unsigned long long)(nidle ? idle[(nidle * 99 + 99) / 100 - 1] : 0));
    }
    free(fin);
    free(idle);
    free(lat);
    jk_devnet_demo_free(demo);
    if (!agree)
        rc = JK_EXIT_REFUSED;
    /* A directory of our own goes when the run passed (as the devnet's);
     * a failed run keeps it for its logs. */
    if (!dir && rc == JK_EXIT_OK) {
        char cmd[PATH_MAX + 16];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", t.dir);
        if (system(cmd) != 0)
            fprintf(stderr, "jark testnet: could not remove %s\n", t.dir);
    } else if (!dir)
        printf("testnet: logs and stores kept in %s\n", t.dir);
    return rc;
}
