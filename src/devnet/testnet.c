/*
 * testnet.c — the multi-process testnet (devnet.h, "The multi-process
 * testnet"; docs/node.md "jark testnet"): V `jark node` processes, each with
 * its own key, store and ports (on 127.0.0.1, or each in a network namespace
 * of its own for `make e2e`); watched through their RPC; perturbed (SIGKILL,
 * restart, wipe) at given heights; fed the workload (testnet_workload.c);
 * stopped with SIGTERM; then their archives compared height by height.
 */
#define _GNU_SOURCE
#include "testnet_internal.h"

#include "jark/sdk.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define JK_TNET_LIMIT_MS 120000u /* no progress for this long: give up */
#define JK_TNET_NETNS_PORT 7100u /* in a namespace of its own every port is free */
#define JK_TNET_IDLE_EVENTS 4u   /* single events submitted after a workload */
#define JK_TNET_IDLE_MS 10000u   /* the longest one is waited for */
#define JK_TNET_IDLE_POLL_MS 5u
#define JK_TNET_MESH_MS 10000u /* the longest the watch waits for a full mesh */
#define JK_TNET_FULL_POLL 10u  /* every node's height every this many polls */
#define JK_TNET_FILL_MAX 100u  /* the most heights past the warm-up the window waits to fill */

uint64_t jk_devnet_tnet_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void jk_devnet_tnet_note(const jk_tnet *t, const char *fmt, ...)
{
    if (!t->o->on_note)
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    t->o->on_note(t->o->ctx, line);
}

jk_err jk_devnet_perturb_parse(const char *s, jk_devnet_perturb *p, size_t cap, size_t *count,
                               jk_diag *diag)
{
    *count = 0;
    while (*s) {
        if (*count == cap)
            return jk_diag_set(diag, JK_ERR_INVALID_ARG, "at most %zu perturbations", cap);
        jk_devnet_perturb *x = &p[*count];
        unsigned node;
        unsigned long long h;
        int used = 0;
        if (sscanf(s, "kill:%u@%llu%n", &node, &h, &used) == 2 && used)
            x->kind = JK_DEVNET_PERTURB_KILL;
        else if (sscanf(s, "wipe:%u@%llu%n", &node, &h, &used) == 2 && used)
            x->kind = JK_DEVNET_PERTURB_WIPE;
        else if (sscanf(s, "restart:%u@%llu%n", &node, &h, &used) == 2 && used)
            x->kind = JK_DEVNET_PERTURB_RESTART;
        else
            return jk_diag_set(diag, JK_ERR_INVALID_ARG,
                               "kill:I@H, restart:I@H or wipe:I@H, comma-separated (at \"%.32s\")", s);
        x->node = node;
        x->height = h;
        (*count)++;
        s += used;
        if (*s == ',' && s[1])
            s++;
        else if (*s)
            return jk_diag_set(diag, JK_ERR_INVALID_ARG, "a comma expected at \"%.32s\"", s);
    }
    return JK_OK;
}

static void jk_tnet_hex(const uint8_t *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
}

static bool jk_tnet_start(jk_tnet *t, uint32_t i)
{
    const jk_devnet_testnet_options *o = t->o;
    char key[PATH_MAX + 16], store[PATH_MAX + 16], log[PATH_MAX + 16], listen[96], rpc[96];
    char netns[PATH_MAX];
    snprintf(key, sizeof key, "%s/key-%u", t->dir, i);
    snprintf(store, sizeof store, "%s/node-%u", t->dir, i);
    snprintf(log, sizeof log, "%s/node-%u.log", t->dir, i);
    snprintf(listen, sizeof listen, "%s:%u", t->host[i], t->port[i]);
    snprintf(rpc, sizeof rpc, "%s:%u", t->rpc_host[i], t->rpc[i]);
    snprintf(netns, sizeof netns, "/var/run/netns/%s%u", o->netns_prefix ? o->netns_prefix : "", i);
    static char peers[JK_DEVNET_TESTNET_MAX][128], vals[JK_DEVNET_TESTNET_MAX][65];
    char accounts[24], empty_ms[16], vthreads[16];
    snprintf(accounts, sizeof accounts, "%u", o->accounts ? o->accounts : jk_devnet_demo_accounts());
    snprintf(empty_ms, sizeof empty_ms, "%u",
             o->empty_blocks_ms ? o->empty_blocks_ms : JK_NODE_EMPTY_BLOCKS_MS);
    const char *argv[24 + 4 * JK_DEVNET_TESTNET_MAX];
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
    if (o->tcp)
        argv[argc++] = "--tcp";
    argv[argc++] = "--empty-blocks-interval";
    argv[argc++] = empty_ms;
    if (o->verify_threads) {
        snprintf(vthreads, sizeof vthreads, "%u", o->verify_threads);
        argv[argc++] = "--verify-threads";
        argv[argc++] = vthreads;
    }
    if (t->demo) {
        argv[argc++] = "--demo-seed";
        argv[argc++] = "1";
        if (o->accounts && o->accounts != jk_devnet_demo_accounts()) {
            argv[argc++] = "--demo-accounts";
            argv[argc++] = accounts;
        }
    }
    if (o->verbose)
        argv[argc++] = "-v";
    for (uint32_t k = 0; k < t->v; k++) {
        jk_tnet_hex(t->keys[k].public_key, 32, vals[k]);
        argv[argc++] = "--validator";
        argv[argc++] = vals[k];
        if (k == i)
            continue;
        snprintf(peers[k], sizeof peers[k], "%s:%u@%s", t->host[k], t->port[k], vals[k]);
        argv[argc++] = "--peer";
        argv[argc++] = peers[k];
    }
    argv[argc] = NULL;
    fflush(stdout);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        return false;
    if (pid == 0) {
        /* A node outlives no driver: if the testnet dies (SIGKILL, a SIGPIPE
         * on a closed stdout), its nodes get SIGTERM and stop cleanly, rather
         * than running on as orphans that hold their ports and CPU. The
         * getppid check closes the race with a parent that died before the
         * prctl. */
        if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent)
            _exit(125);
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        if (o->netns_prefix) {
            int ns = open(netns, O_RDONLY | O_CLOEXEC);
            if (ns < 0 || setns(ns, CLONE_NEWNET) != 0) {
                fprintf(stderr, "testnet: cannot enter the network namespace %s: %s\n", netns,
                        strerror(errno));
                _exit(126);
            }
            close(ns);
        }
        execv(o->node_exe, (char *const *)argv);
        fprintf(stderr, "testnet: cannot run %s: %s\n", o->node_exe, strerror(errno));
        _exit(127);
    }
    t->pid[i] = pid;
    return true;
}

uint16_t jk_devnet_tnet_distinct_port(const jk_tnet *t, uint32_t i, uint16_t other, int type,
                                      uint16_t (*draw)(int type))
{
    for (int tries = 0; tries < 64; tries++) {
        uint16_t p = draw(type);
        bool taken = p == 0 || p == other;
        for (uint32_t k = 0; k < i && !taken; k++)
            taken = p == t->port[k] || p == t->rpc[k];
        if (!taken)
            return p;
    }
    return 0;
}

/* Node i exited on its own (not by jk_tnet_kill: a perturbation reaps
 * what it kills): reap it and say so. A node that cannot start (its port
 * taken, its store refused) otherwise left the watch waiting for it until
 * JK_TNET_LIMIT_MS. */
static bool jk_tnet_exited(jk_tnet *t, uint32_t i, int *status)
{
    if (!t->pid[i] || waitpid(t->pid[i], status, WNOHANG) != t->pid[i])
        return false;
    t->pid[i] = 0;
    return true;
}

/* Signal node i and reap it; true when it exited 0 (a clean stop). */
static bool jk_tnet_kill(jk_tnet *t, uint32_t i, int sig)
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

static int jk_tnet_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Compare the archives of every node at every height they share. */
static bool jk_tnet_agree(const jk_tnet *t, jk_devnet_testnet_result *r)
{
    jk_node_archive *a[JK_DEVNET_TESTNET_MAX] = {0};
    bool ok = true;
    uint64_t lo = UINT64_MAX, hi = 0;
    for (uint32_t i = 0; i < t->v && ok; i++) {
        char d[PATH_MAX + 32];
        jk_diag diag;
        snprintf(d, sizeof d, "%s/node-%u", t->dir, i); /* the archive is in the store */
        ok = jk_node_archive_open(d, &a[i], &diag) == JK_OK;
        if (!ok)
            snprintf(r->reason, sizeof r->reason, "node %u: %s", i, diag.msg);
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
                jk_devnet_tnet_note(t, "DISAGREE at height %llu: node 0 and node %u committed different blocks",
                             (unsigned long long)h, i);
                snprintf(r->reason, sizeof r->reason, "nodes 0 and %u disagree at height %llu", i,
                         (unsigned long long)h);
                ok = false;
            }
        }
    }
    for (uint32_t i = 0; i < t->v; i++)
        jk_node_archive_close(a[i]);
    r->common = lo == UINT64_MAX ? 0 : lo;
    r->top = hi;
    return ok;
}

/* Carry out the perturbations due at height hi. */
static void jk_tnet_perturb(jk_tnet *t, bool *done, int64_t hi)
{
    const jk_devnet_testnet_options *o = t->o;
    for (size_t k = 0; k < o->perturb_count; k++) {
        const jk_devnet_perturb *p = &o->perturb[k];
        if (done[k] || hi < 0 || (uint64_t)hi < p->height)
            continue;
        done[k] = true;
        if (p->kind == JK_DEVNET_PERTURB_WIPE) {
            jk_devnet_tnet_note(t, "perturb: wipe node %u at height %lld (kill -9, empty store, start)", p->node,
                         (long long)hi);
            jk_tnet_kill(t, p->node, SIGKILL);
            char cmd[PATH_MAX + 64];
            snprintf(cmd, sizeof cmd, "rm -rf '%s/node-%u'", t->dir, p->node);
            if (system(cmd) != 0 || !jk_tnet_start(t, p->node))
                jk_devnet_tnet_note(t, "testnet: could not wipe and restart node %u", p->node);
        } else if (p->kind == JK_DEVNET_PERTURB_RESTART) {
            jk_devnet_tnet_note(t, "perturb: restart node %u at height %lld", p->node, (long long)hi);
            if (!t->pid[p->node])
                jk_tnet_start(t, p->node);
        } else {
            jk_devnet_tnet_note(t, "perturb: kill -9 node %u at height %lld", p->node, (long long)hi);
            jk_tnet_kill(t, p->node, SIGKILL);
        }
    }
}

/* Options, directory, keys, addresses. @return 0 or 2 (r->reason). */
static int jk_tnet_prepare(jk_tnet *t, const jk_devnet_testnet_options *o, jk_devnet_testnet_result *r)
{
    t->o = o;
    t->v = o->validators;
    uint32_t k = o->in_flight ? o->in_flight : 1, acc = o->accounts ? o->accounts : jk_devnet_demo_accounts();
    if (!o->node_exe || t->v < 1 || t->v > JK_DEVNET_TESTNET_MAX || o->blocks < 1)
        return snprintf(r->reason, sizeof r->reason, "validators 1..%d, blocks >= 1, a node binary",
                        JK_DEVNET_TESTNET_MAX), 2;
    if (o->events_per_batch > JK_DEVNET_TESTNET_MAX_BATCH || k > JK_DEVNET_TESTNET_MAX_IN_FLIGHT ||
        acc < 2 || acc > JK_DEVNET_DEMO_MAX_ACCOUNTS ||
        (uint64_t)acc < (uint64_t)o->events_per_batch * k)
        return snprintf(r->reason, sizeof r->reason,
                        "events per batch 0..%d, in flight 1..%d, accounts 2..%u and at least "
                        "events per batch x in flight = %llu",
                        JK_DEVNET_TESTNET_MAX_BATCH, JK_DEVNET_TESTNET_MAX_IN_FLIGHT,
                        JK_DEVNET_DEMO_MAX_ACCOUNTS, (unsigned long long)o->events_per_batch * k), 2;
    for (size_t p = 0; p < o->perturb_count; p++)
        if (o->perturb[p].node >= t->v)
            return snprintf(r->reason, sizeof r->reason, "a perturbation names node %u of %u",
                            o->perturb[p].node, t->v), 2;
    if (o->netns_prefix && (!o->hosts || !o->rpc_hosts))
        return snprintf(r->reason, sizeof r->reason, "network namespaces need every node's addresses"), 2;
    if (o->spec_path)
        snprintf(t->spec, sizeof t->spec, "%s", o->spec_path);
    else {
        const char *sdk = jk_sdk_dir();
        if (!sdk)
            return snprintf(r->reason, sizeof r->reason,
                            "cannot find the SDK (set JARK_SDK_DIR) for the demo spec"), 2;
        snprintf(t->spec, sizeof t->spec, "%.*s/../examples/demo/devnet-spec.json", PATH_MAX - 64, sdk);
        t->demo = true;
    }
    if (o->dir) {
        if (mkdir(o->dir, 0755) != 0 && errno != EEXIST)
            return snprintf(r->reason, sizeof r->reason, "cannot create %s", o->dir), 2;
        snprintf(t->dir, sizeof t->dir, "%s", o->dir);
    } else {
        snprintf(t->dir, sizeof t->dir, "/tmp/jark-testnet-XXXXXX");
        if (!mkdtemp(t->dir))
            return snprintf(r->reason, sizeof r->reason, "cannot create a directory in /tmp"), 2;
    }
    snprintf(r->dir, sizeof r->dir, "%s", t->dir);
    /* Keys: made once per directory, kept so that a rerun resumes. */
    for (uint32_t i = 0; i < t->v; i++) {
        char path[PATH_MAX + 16];
        jk_diag d = {{0}};
        snprintf(path, sizeof path, "%s/key-%u", t->dir, i);
        if (jk_spec_key_load(path, &t->keys[i], &d) != JK_OK &&
            (jk_spec_key_generate(&t->keys[i]) != JK_OK || jk_spec_key_save(path, &t->keys[i], &d) != JK_OK))
            return snprintf(r->reason, sizeof r->reason, "%s", d.msg), 2;
        if (o->netns_prefix) {
            snprintf(t->host[i], sizeof t->host[i], "%s", o->hosts[i]);
            snprintf(t->rpc_host[i], sizeof t->rpc_host[i], "%s", o->rpc_hosts[i]);
            t->port[i] = JK_TNET_NETNS_PORT;
            t->rpc[i] = JK_TNET_NETNS_PORT + 1;
        } else {
            snprintf(t->host[i], sizeof t->host[i], "127.0.0.1");
            snprintf(t->rpc_host[i], sizeof t->rpc_host[i], "127.0.0.1");
            t->port[i] = jk_devnet_tnet_distinct_port(t, i, 0, o->tcp ? SOCK_STREAM : SOCK_DGRAM,
                                                      jk_net_loopback_free_port);
            t->rpc[i] = jk_devnet_tnet_distinct_port(t, i, t->port[i], SOCK_STREAM, jk_net_loopback_free_port);
            if (!t->port[i] || !t->rpc[i])
                return snprintf(r->reason, sizeof r->reason, "no free loopback port"), 2;
        }
    }
    return 0;
}

/* The watch loop's state: heights seen, their intervals, rounds; the
 * snapshots the figures are the differences of (session 16): at the watch's
 * start (the mesh up: the whole run's figures, as before) and at the
 * window's (the watch's sight of height `warmup` committed). */
typedef struct jk_tnet_watch {
    uint64_t start, last_progress, prev_ms, printed, rounds, events;
    uint64_t answered; /* when every node first answered (0: not yet) */
    uint64_t up_hi;    /* the highest height committed when the watch began */
    uint64_t win_hi;   /* the same when the window began */
    uint64_t win_rounds, win_events, win_heights; /* of the measured heights */
    uint64_t *fin, *idle;
    size_t nfin, nidle;
    uint32_t lead, since_full; /* the node asked alone; polls since all were */
    int64_t lead_h;            /* its height then */
    bool up, in_window;
    jk_tnet_snap at_up, at_window, at_end;
} jk_tnet_watch;

/* The run's last height: the window's start and `blocks` more (UINT64_MAX
 * while the warm-up lasts); with no warm-up, `blocks`. */
static uint64_t jk_tnet_last(const jk_tnet_watch *w, const jk_devnet_testnet_options *o)
{
    if (o->warmup == 0)
        return o->blocks;
    return w->in_window ? w->win_hi + o->blocks : UINT64_MAX;
}

/* One poll: the nodes' heights (below), then the heights new since the
 * last poll, each read from a node at it or the highest, reported in
 * order. Returns the highest height seen. */
static int64_t jk_tnet_poll(jk_tnet *t, jk_tnet_watch *w, uint64_t now)
{
    const jk_devnet_testnet_options *o = t->o;
    int64_t hi = -1, h[JK_DEVNET_TESTNET_MAX];
    uint32_t best = 0;
    bool all = true, mesh = true, mark = false;
    /* Once watching, one status call a poll to the node that was highest
     * (session 16: four a poll, each a TCP connection, were most of the
     * driver's CPU and some of the nodes'): the others are asked only when
     * it moved by more than one height (the lower heights are read from
     * nodes at them, jk_devnet_tnet_block_source), every
     * JK_TNET_FULL_POLL-th poll, or when it is down. */
    bool full = !w->up || !t->pid[w->lead] || ++w->since_full >= JK_TNET_FULL_POLL;
    if (!full) {
        for (uint32_t i = 0; i < t->v; i++)
            h[i] = -1;
        h[w->lead] = jk_devnet_tnet_height(t, w->lead);
        full = h[w->lead] < 0 || h[w->lead] > w->lead_h + 1;
        hi = h[w->lead];
        best = w->lead;
    }
    for (uint32_t i = 0; i < t->v && full; i++) {
        int64_t peers = -1, pool;
        if (w->up)
            h[i] = jk_devnet_tnet_height(t, i);
        else if (!jk_devnet_tnet_status(t, i, &h[i], &peers, &pool))
            h[i] = -1;
        all = all && (!t->pid[i] || h[i] >= 0);
        mesh = mesh && (!t->pid[i] || peers >= (int64_t)t->v - 1);
        if (t->pid[i] && h[i] > hi) {
            hi = h[i];
            best = i;
        }
    }
    if (full) {
        w->since_full = 0;
        w->lead = best;
    }
    w->lead_h = hi;
    if (!w->up && all && hi >= 0 && !w->answered)
        w->answered = now;
    if (!w->up && all && hi >= 0 && (mesh || now - w->answered >= JK_TNET_MESH_MS)) {
        /* Time starts once every node answers (each compiles the spec's
         * programs first) and is connected to every other: an event
         * submitted before the mesh is up is gossiped to no one, which
         * skewed the frames-per-event figure both ways. A mesh that does
         * not form within JK_TNET_MESH_MS starts the watch anyway (the
         * run itself then shows the fault). */
        w->up = true;
        w->start = w->prev_ms = w->last_progress = now;
        w->up_hi = (uint64_t)hi;
        jk_devnet_tnet_snap_take(t, &w->at_up);
    }
    if (w->up && !w->in_window && o->warmup == 0) {
        /* No warm-up: the window is the whole watch, heights 1..blocks
         * (the measure before session 16). */
        w->in_window = true;
        w->at_window = w->at_up;
    } else if (w->up && !w->in_window && hi >= 0 && (uint64_t)hi >= o->warmup &&
               (jk_devnet_tnet_wl_filled(t->wl) || (uint64_t)hi >= o->warmup + JK_TNET_FILL_MAX)) {
        /* The window begins with the pipeline full (`warmup` heights and
         * the first in_flight batches answered): the events in flight now
         * (verified, not yet committed) balance those in flight at the end
         * (docs/bench.md "The sustained window, session 16"); a workload
         * that never fills (its sends refused) waits JK_TNET_FILL_MAX
         * heights at most, so that the run still ends. It counts
         * the heights above the highest committed now; its snapshot is
         * taken once their blocks were read (as the end's is), so that
         * the workload has seen their events committed. */
        w->in_window = mark = true;
        w->win_hi = (uint64_t)hi;
    }
    /* Heights seen in one poll share the interval since the last one:
     * finality here is as observed from outside, by polling. */
    uint64_t fresh = hi > 0 && (uint64_t)hi > w->printed ? (uint64_t)hi - w->printed : 1;
    uint64_t share = (now - w->prev_ms) / fresh;
    while (hi > 0 && w->printed < (uint64_t)hi && w->printed < jk_tnet_last(w, o)) {
        jk_devnet_testnet_height b;
        uint64_t at = w->printed + 1;
        if (!jk_devnet_tnet_block_get(t, jk_devnet_tnet_block_source(h, t->v, at, best), at, &b))
            break;
        /* A height committed before the watch began has no interval to
         * show (height 1 commits at start-up: the time since the fork was
         * printed as its finality); a warm-up height's is shown but, like
         * it, kept out of the percentiles. */
        b.phase = jk_devnet_tnet_phase(at, w->up, w->up_hi, w->in_window, w->win_hi);
        b.finality_ms = b.phase == JK_DEVNET_HEIGHT_BEFORE ? 0 : share;
        w->prev_ms = now;
        if ((w->in_window || o->warmup == 0) && at > w->win_hi) {
            if (b.phase == JK_DEVNET_HEIGHT_WINDOW)
                w->fin[w->nfin++] = share;
            w->win_rounds += b.round + 1;
            w->win_events += b.events;
            w->win_heights++;
        }
        w->rounds += b.round + 1;
        w->events += b.events;
        if (o->on_height)
            o->on_height(o->ctx, &b);
        w->printed = at;
        w->last_progress = now;
    }
    if (mark)
        jk_devnet_tnet_snap_take(t, &w->at_window);
    return hi;
}

/* Idle finality after a workload (it keeps the pool full, so the loaded
 * heights are seldom empty): the workload stopped and the watched heights
 * done (so outside `seconds` and the CPU figures), JK_TNET_IDLE_EVENTS
 * single transfers, one at a time, each to the next running node and each
 * waited for: the time from its submit to the first poll (every
 * JK_TNET_IDLE_POLL_MS) that finds it in a committed block. With the
 * empty-blocks wait the chain is idle when each is submitted, so this is
 * what an operator means by "finality when idle" (the interval between
 * empty heights is the wait itself). At most JK_TNET_IDLE_MS per event. */
/* The workload's last events still in the pools when the watched heights
 * are done (2–3 full heights at the bench's load point, pipe11 session 11)
 * would be committed before the first probe, which then measured that
 * backlog, not an idle chain: wait until every running node's pool is
 * empty (at most JK_TNET_IDLE_MS; a node that does not answer is not waited
 * for). Returns how long it waited. */
static uint64_t jk_tnet_pools_drain(jk_tnet *t)
{
    const jk_devnet_testnet_options *o = t->o;
    uint64_t start = jk_devnet_tnet_ms();
    while (!(o->stop && *o->stop) && jk_devnet_tnet_ms() - start < JK_TNET_IDLE_MS) {
        bool empty = true;
        for (uint32_t i = 0; i < t->v && empty; i++) {
            int64_t h, peers, pool;
            empty = !jk_devnet_tnet_status(t, i, &h, &peers, &pool) || pool <= 0;
        }
        if (empty)
            break;
        usleep(JK_TNET_IDLE_POLL_MS * 1000);
    }
    return jk_devnet_tnet_ms() - start;
}

static void jk_tnet_idle_events(jk_tnet *t, jk_tnet_watch *w)
{
    const jk_devnet_testnet_options *o = t->o;
    uint64_t drained = jk_tnet_pools_drain(t);
    if (o->verbose)
        jk_devnet_tnet_note(t, "testnet: the pools emptied %llu ms after the workload's last height",
                            (unsigned long long)drained);
    for (uint32_t k = 0; k < JK_TNET_IDLE_EVENTS && !(o->stop && *o->stop); k++) {
        static char params[4096];
        jk_hash id;
        if (!jk_devnet_tnet_wl_probe(t->wl, k, params, sizeof params, &id))
            return;
        uint32_t i = k % t->v;
        for (uint32_t n = 0; n < t->v && !t->pid[i]; n++)
            i = (i + 1) % t->v;
        int64_t seen = jk_devnet_tnet_height(t, i);
        if (seen < 0)
            return;
        char *res = NULL;
        jk_diag d;
        uint64_t start = jk_devnet_tnet_ms();
        bool admitted = false;
        if (jk_rpc_call(t->rpc_host[i], t->rpc[i], "submit_event", params, &res, &d) == JK_OK) {
            json_object *r = json_tokener_parse(res), *x;
            admitted = r && json_object_object_get_ex(r, "admitted", &x) && json_object_get_boolean(x);
            json_object_put(r);
        }
        free(res);
        if (!admitted) {
            jk_devnet_tnet_note(t, "testnet: idle probe %u was not admitted by node %u", k, i);
            continue;
        }
        bool found = false;
        while (!found && !(o->stop && *o->stop) && jk_devnet_tnet_ms() - start < JK_TNET_IDLE_MS) {
            usleep(JK_TNET_IDLE_POLL_MS * 1000);
            int64_t hi = jk_devnet_tnet_height(t, i);
            for (int64_t h = seen + 1; h <= hi && !found; h++)
                found = jk_devnet_tnet_block_has(t, i, (uint64_t)h, &id);
            if (hi > seen)
                seen = hi;
        }
        if (found)
            w->idle[w->nidle++] = jk_devnet_tnet_ms() - start;
        else
            jk_devnet_tnet_note(t, "testnet: idle probe %u not committed within %u s", k,
                                JK_TNET_IDLE_MS / 1000);
    }
}

static void jk_tnet_percentiles(uint64_t *v, size_t n, uint64_t *p50, uint64_t *p99)
{
    qsort(v, n, sizeof *v, jk_tnet_cmp_u64);
    *p50 = n ? v[(n - 1) / 2] : 0;
    *p99 = n ? v[(n * 99 + 99) / 100 - 1] : 0;
}

int jk_devnet_testnet_run(const jk_devnet_testnet_options *o, jk_devnet_testnet_result *r)
{
    memset(r, 0, sizeof *r);
    jk_tnet *t = calloc(1, sizeof *t);
    jk_tnet_watch w = {0};
    bool *done = calloc(o->perturb_count + 1, sizeof *done);
    if (!t || !done) {
        free(t);
        free(done);
        snprintf(r->reason, sizeof r->reason, "out of memory");
        return 2;
    }
    int rc = jk_tnet_prepare(t, o, r);
    jk_tnet_wl *wl = NULL;
    jk_diag d = {{0}};
    if (rc == 0 && t->demo && o->events_per_batch && jk_devnet_tnet_wl_new(t, &wl, &d) != JK_OK) {
        snprintf(r->reason, sizeof r->reason, "%s", d.msg);
        rc = 2;
    }
    t->wl = wl;
    w.fin = calloc(o->blocks + 1, sizeof *w.fin);
    w.idle = calloc(JK_TNET_IDLE_EVENTS, sizeof *w.idle);
    if (rc == 0 && (!w.fin || !w.idle)) {
        snprintf(r->reason, sizeof r->reason, "out of memory");
        rc = 2;
    }
    if (rc != 0) {
        jk_devnet_tnet_wl_free(wl);
        free(w.fin);
        free(w.idle);
        free(done);
        free(t);
        return rc;
    }
    jk_devnet_tnet_note(t, "testnet: %u validators in %s (logs: node-I.log; removed after a run that passes unless --dir), "
                    "%llu blocks measured after %llu warm-up, %s",
                 t->v, t->dir, (unsigned long long)o->blocks, (unsigned long long)o->warmup,
                 o->tcp ? "TLS over TCP" : "QUIC");
    /* The bound's first sample: before the nodes start (the workload's
     * signing done), on a core nothing of the run holds. */
    if (o->bound_ms)
        r->ed25519_before = jk_devnet_ed25519_verifies_per_s(o->bound_ms, &r->ed25519_before_cpu, NULL);
    for (uint32_t i = 0; i < t->v && rc == 0; i++)
        if (!jk_tnet_start(t, i)) {
            snprintf(r->reason, sizeof r->reason, "fork failed");
            rc = 2;
        }
    w.start = w.last_progress = w.prev_ms = jk_devnet_tnet_ms();
    while (rc == 0 && !(o->stop && *o->stop) && w.printed < jk_tnet_last(&w, o)) {
        uint64_t now = jk_devnet_tnet_ms();
        int64_t hi = jk_tnet_poll(t, &w, now);
        if (w.up)
            jk_devnet_tnet_wl_step(wl, t, jk_devnet_tnet_ms(), w.printed < jk_tnet_last(&w, o));
        jk_tnet_perturb(t, done, hi);
        for (uint32_t i = 0; i < t->v && rc == 0; i++) {
            int st = 0;
            if (jk_tnet_exited(t, i, &st)) {
                jk_devnet_tnet_note(t, "testnet: node %u exited (%s %d) before the end; see node-%u.log", i,
                                    WIFEXITED(st) ? "status" : "signal",
                                    WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st), i);
                snprintf(r->reason, sizeof r->reason, "node %u exited before the end (see node-%u.log)", i, i);
                rc = 1;
            }
        }
        if (rc != 0)
            break;
        if (now - w.last_progress > JK_TNET_LIMIT_MS) {
            jk_devnet_tnet_note(t, "testnet: no height committed in %u s; stopping", JK_TNET_LIMIT_MS / 1000);
            snprintf(r->reason, sizeof r->reason, "no height committed in %u s", JK_TNET_LIMIT_MS / 1000);
            rc = 1;
            break;
        }
        usleep(20 * 1000);
    }
    /* The end's snapshot; the workload stops before the frames are read
     * again, so that every event it counts as admitted had its gossip
     * counted too. */
    if (w.up)
        jk_devnet_tnet_snap_take(t, &w.at_end);
    jk_devnet_tnet_wl_stop(wl);
    if (w.up) {
        jk_devnet_tnet_snap_net(t, &w.at_end);
        if (!w.in_window) /* stopped before the warm-up ended: an empty window */
            w.at_window = w.at_end;
        jk_devnet_tnet_results(t, &w.at_up, &w.at_window, &w.at_end, r);
    } else /* never watched: nothing read */
        r->host_idle = r->host_idle_whole = r->nodes_run = r->nodes_runq = r->nodes_sleep =
            r->loop_run = r->loop_runq = r->loop_sleep = r->others_run = -1.0;
    if (wl && w.up && rc == 0 && w.printed >= jk_tnet_last(&w, o))
        jk_tnet_idle_events(t, &w);
    /* Before stopping: every running node (a restarted one too) catches up
     * to the heights seen. The bound is on progress, not on the whole wait
     * (a wiped node syncing on a starved machine takes long, and still
     * moves): it gives up once no lagging node's height grew for
     * JK_TNET_LIMIT_MS. */
    int64_t lag_sum = -1;
    for (uint64_t end = jk_devnet_tnet_ms() + JK_TNET_LIMIT_MS;
         !(o->stop && *o->stop) && rc == 0 && jk_devnet_tnet_ms() < end;) {
        bool all = true;
        int64_t sum = 0;
        for (uint32_t i = 0; i < t->v; i++) {
            int64_t h = t->pid[i] ? jk_devnet_tnet_height(t, i) : (int64_t)w.printed;
            all = all && h >= (int64_t)w.printed;
            sum += h > 0 ? h : 0;
        }
        if (all)
            break;
        if (sum > lag_sum) {
            lag_sum = sum;
            end = jk_devnet_tnet_ms() + JK_TNET_LIMIT_MS;
        }
        usleep(20 * 1000);
    }
    for (uint32_t i = 0; i < t->v; i++)
        if (!jk_tnet_kill(t, i, SIGTERM)) {
            jk_devnet_tnet_note(t, "testnet: node %u did not stop cleanly on SIGTERM (see node-%u.log)", i, i);
            r->unclean++;
        }
    /* The bound's second sample: the nodes stopped. */
    if (o->bound_ms)
        r->ed25519_after = jk_devnet_ed25519_verifies_per_s(o->bound_ms, &r->ed25519_after_cpu,
                                                            &r->ed25519_same_sig);
    r->ed25519_rate = jk_devnet_ed25519_bound_rate(r->ed25519_before, r->ed25519_after);
    r->ed25519_rate_cpu = jk_devnet_ed25519_bound_rate(r->ed25519_before_cpu, r->ed25519_after_cpu);
    if (r->unclean && rc == 0) {
        snprintf(r->reason, sizeof r->reason, "%u nodes did not stop cleanly", r->unclean);
        rc = 1;
    }
    r->agree = jk_tnet_agree(t, r);
    if (!r->agree)
        rc = 1;
    r->heights = w.win_heights;
    r->events = w.win_events;
    r->heights_whole = w.printed;
    r->events_whole = w.events;
    r->window_from = w.win_hi;
    r->rounds_per_height = w.win_heights ? (double)w.win_rounds / (double)w.win_heights : 0.0;
    jk_devnet_tnet_wl_counts(wl, &r->submitted, &r->refused);
    jk_tnet_wl_breakdown bd;
    jk_devnet_tnet_wl_breakdown(wl, &bd);
    r->batch_answered_ms = bd.answered_ms;
    r->batch_committed_ms = bd.committed_ms;
    r->batch_retired_ms = bd.retired_ms;
    r->batch_heights = bd.heights;
    /* Finality: of the events (submit to commit, per batch) when a
     * workload ran, else of the heights (the interval between commits). */
    size_t nlat;
    uint64_t *lat = jk_devnet_tnet_wl_latencies(wl, w.at_window.ms, &nlat);
    r->event_finality = nlat > 0;
    if (nlat)
        jk_tnet_percentiles(lat, nlat, &r->p50_ms, &r->p99_ms);
    else
        jk_tnet_percentiles(w.fin, w.nfin, &r->p50_ms, &r->p99_ms);
    jk_tnet_percentiles(w.idle, w.nidle, &r->idle_p50_ms, &r->idle_p99_ms);
    r->idle_events = (uint32_t)w.nidle;
    /* A directory of our own goes when the run passed (as the devnet's);
     * a failed run keeps it for its logs. */
    if (!o->dir && rc == 0) {
        char cmd[PATH_MAX + 16];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", t->dir);
        r->kept = system(cmd) != 0;
    } else
        r->kept = true;
    jk_devnet_tnet_wl_free(wl);
    free(w.fin);
    free(w.idle);
    free(done);
    jk_crypto_wipe(t->keys, sizeof t->keys);
    free(t);
    return rc;
}
