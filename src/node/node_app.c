/*
 * node_app.c — the application as the node hands it to the consensus
 * machine: each callback wrapped to time its phase (`-v`: the height's
 * timeline, docs/bench.md "BENCH testnet") and feed the metrics, and commit
 * as the place a height ends (finality, the commit log line). Split from
 * node.c (session 8), which drives the loop.
 */
#include "node_internal.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static uint32_t jk_w_proposer(void *ctx, uint64_t h, uint32_t r)
{
    jk_node *n = ctx;
    /* The machine asks first thing in StartRound (line 14): after the
     * empty-blocks wait, the height is entered now, and finality counts
     * from here (an idle chain's wait for an event is no part of it). */
    if (n->was_waiting) {
        n->was_waiting = false;
        n->height_start_ms = jk_node_now_ms();
    }
    return n->app.proposer(n->app.ctx, h, r);
}

/* This thread's CPU seconds: with the wall time, a phase's waits (the
 * disk's syncs, a core other work holds) show as the difference. */
static double jk_thread_cpu_secs(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The calling thread's time on a core and waiting for one (ns), from
 * /proc/thread-self/schedstat; false when it cannot be read. */
static bool jk_node_thread_sched(uint64_t *run_ns, uint64_t *runq_ns)
{
    char buf[128];
    FILE *f = fopen("/proc/thread-self/schedstat", "r");
    size_t len = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[len] = 0;
    unsigned long long r = 0, q = 0;
    *run_ns = *runq_ns = 0;
    if (sscanf(buf, "%llu %llu", &r, &q) != 2)
        return false;
    *run_ns = r;
    *runq_ns = q;
    return true;
}

static double jk_process_cpu_secs(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

jk_node_phase_t0 jk_node_phase_start(const jk_node *n)
{
    jk_node_phase_t0 t0 = {jk_node_secs(), 0.0, 0, n->acct.nested};
    if (n->cfg.log && n->cfg.verbose >= 1) {
        uint64_t run;
        t0.cpu = jk_thread_cpu_secs();
        (void)jk_node_thread_sched(&run, &t0.runq_ns);
    }
    return t0;
}

/* The phase's wall time split: on a core (the thread's CPU clock: the
 * schedstat run figure moves only at a switch or a tick), runnable waiting
 * for one (schedstat's run delay, brought up to date when the thread was
 * last switched in, so exact while it runs), asleep (the rest: a sync, a
 * wait for the store's writer, the transport's wait), in ms. */
static void jk_phase_split(const jk_node_phase_t0 *t0, double wall_ms, double *runq_ms,
                           double *sleep_ms)
{
    uint64_t r, q;
    *runq_ms = *sleep_ms = 0;
    if (!jk_node_thread_sched(&r, &q))
        return;
    double run = (jk_thread_cpu_secs() - t0->cpu) * 1000.0;
    *runq_ms = q > t0->runq_ns ? (double)(q - t0->runq_ns) / 1e6 : 0;
    *sleep_ms = wall_ms - run - *runq_ms;
    if (*sleep_ms < 0)
        *sleep_ms = 0;
}

static int jk_sleep_kind(const char *what)
{
    if (strncmp(what, "persist", 7) == 0)
        return JK_NODE_SLEEP_PERSIST;
    if (strcmp(what, "store-commit") == 0)
        return JK_NODE_SLEEP_COMMIT;
    if (strcmp(what, "rpc") == 0)
        return JK_NODE_SLEEP_RPC;
    return JK_NODE_SLEEP_OTHER;
}

void jk_node_phase(jk_node *n, const char *what, uint64_t h, jk_node_phase_t0 t0, size_t bytes)
{
    if (!n->cfg.log || n->cfg.verbose < 1)
        return;
    double wall = (jk_node_secs() - t0.wall) * 1000.0, runq, sleep;
    jk_phase_split(&t0, wall, &runq, &sleep);
    /* An outer phase (net, rpc) holds the inner ones it caused: only its
     * own sleep joins the height's account. */
    double inner = n->acct.nested - t0.nested0, own = sleep - inner;
    if (own < 0)
        own = 0;
    n->acct.sleep_ms[jk_sleep_kind(what)] += own;
    n->acct.nested += own;
    jk_node_logf(n, 1, "phase %s height=%llu bytes=%zu ms=%.1f cpu_ms=%.1f runq_ms=%.1f sleep_ms=%.1f",
                 what, (unsigned long long)h, bytes, wall,
                 (jk_thread_cpu_secs() - t0.cpu) * 1000.0, runq, sleep);
}

void jk_node_phase_step(jk_node *n, jk_node_phase_t0 t0)
{
    if (!n->cfg.log || n->cfg.verbose < 1)
        return;
    double runq, sleep;
    jk_phase_split(&t0, (jk_node_secs() - t0.wall) * 1000.0, &runq, &sleep);
    n->acct.sleep_ms[JK_NODE_SLEEP_STEP] += sleep;
    n->acct.nested += sleep;
}

/* -v: one line per height with where the loop thread's time went since the
 * last commit (docs/bench.md "Testnet, session 10"), then the account
 * starts again. The other threads' CPU (the store's writer) is the
 * process's minus this thread's. */
static void jk_node_height_account(jk_node *n, uint64_t h)
{
    if (!n->cfg.log || n->cfg.verbose < 1)
        return;
    jk_node_height_acct *a = &n->acct;
    double wall = jk_node_secs(), proc = jk_process_cpu_secs(), cpu = jk_thread_cpu_secs();
    uint64_t r, q;
    if (!jk_node_thread_sched(&r, &q))
        return;
    if (a->started) {
        const double *s = a->sleep_ms;
        double run = (cpu - a->cpu0) * 1000.0;
        jk_node_logf(n, 1,
                     "height-account height=%llu ms=%.1f run_ms=%.1f runq_ms=%.1f sleep_ms=%.1f "
                     "sleep_step_ms=%.1f sleep_persist_ms=%.1f sleep_commit_ms=%.1f sleep_rpc_ms=%.1f "
                     "sleep_other_ms=%.1f others_cpu_ms=%.1f",
                     (unsigned long long)h, (wall - a->wall0) * 1000.0, run,
                     (double)(q - a->runq0_ns) / 1e6,
                     s[0] + s[1] + s[2] + s[3] + s[4], s[JK_NODE_SLEEP_STEP],
                     s[JK_NODE_SLEEP_PERSIST], s[JK_NODE_SLEEP_COMMIT], s[JK_NODE_SLEEP_RPC],
                     s[JK_NODE_SLEEP_OTHER], (proc - a->proc_cpu0) * 1000.0 - run);
    }
    /* nested runs on: an outer phase open across this commit (the net or
     * rpc pass that decided it) compares against its value at its start */
    *a = (jk_node_height_acct){.nested = a->nested, .wall0 = wall, .proc_cpu0 = proc, .cpu0 = cpu,
                               .runq0_ns = q, .started = true};
}

static jk_err jk_w_get_value(void *ctx, uint64_t h, uint32_t r, uint8_t **v, size_t *len)
{
    jk_node *n = ctx;
    jk_node_phase_t0 t0 = jk_node_phase_start(n);
    jk_err err = n->app.get_value(n->app.ctx, h, r, v, len);
    jk_node_phase(n, "produce", h, t0, err == JK_OK ? *len : 0);
    return err;
}

static bool jk_w_valid(void *ctx, uint64_t h, const uint8_t *v, size_t len)
{
    jk_node *n = ctx;
    /* valid() checks the block by applying it on the head: apply time. */
    jk_node_phase_t0 t0 = jk_node_phase_start(n);
    bool ok = n->app.valid(n->app.ctx, h, v, len);
    jk_rpc_metric_observe(n->metrics.apply_seconds, jk_node_secs() - t0.wall);
    jk_node_phase(n, ok ? "check" : "check-refused", h, t0, len);
    return ok;
}

static void jk_w_hash(void *ctx, const uint8_t *v, size_t len, jk_hash *out)
{
    jk_node *n = ctx;
    n->app.hash(n->app.ctx, v, len, out);
}

jk_err jk_node_commit(jk_node *n, uint64_t h, const uint8_t *v, size_t len,
                      const jk_cons_cert *cert)
{
    jk_node_phase_t0 t0 = jk_node_phase_start(n);
    jk_err err = n->app.commit(n->app.ctx, h, v, len, cert);
    if (err != JK_OK)
        return err;
    jk_node_phase(n, "store-commit", h, t0, len);
    jk_node_top_set(n, h, v, len, cert);
    uint64_t now = jk_node_now_ms();
    /* Finality as a node sees it: from the moment it entered the height
     * (the previous commit, or start; after the empty-blocks wait, its
     * end: jk_w_proposer) to this commit. */
    uint64_t ms = now - n->height_start_ms;
    n->height_start_ms = now;
    n->committed = h;
    n->commits++;
    jk_rpc_metric_observe(n->metrics.finality_seconds, (double)ms / 1000.0);
    jk_rpc_metric_observe(n->metrics.rounds_per_height, (double)cert->round + 1.0);
    jk_rpc_metric_set(n->metrics.height, (double)h);
    char hex[17];
    jk_rpc_hex_encode(cert->value.bytes, 8, hex);
    uint64_t events = 0;
    if (n->cfg.chain) {
        jk_node_chain_app_stats st;
        jk_node_chain_app_stats_get(n->cfg.chain, &st);
        events = st.last_events;
    }
    jk_node_logf(n, 0, "commit height=%llu round=%u events=%llu hash=%s ms=%llu sigs=%u",
                 (unsigned long long)h, cert->round, (unsigned long long)events, hex,
                 (unsigned long long)ms, cert->count);
    jk_node_height_account(n, h);
    return JK_OK;
}

static jk_err jk_w_commit(void *ctx, uint64_t h, const uint8_t *v, size_t len,
                          const jk_cons_cert *cert)
{
    return jk_node_commit(ctx, h, v, len, cert);
}

static bool jk_w_get_decision(void *ctx, uint64_t h, const uint8_t **v, size_t *len,
                              const jk_cons_cert **cert)
{
    jk_node *n = ctx;
    return n->app.get_decision && n->app.get_decision(n->app.ctx, h, v, len, cert);
}

static bool jk_w_add_event(void *ctx, const uint8_t *ev, size_t len)
{
    jk_node *n = ctx;
    if (!n->app.add_event)
        return false;
    /* An event's admission (decode, dedup, the verify program): verify time;
     * its verify gas charged to the peer that relayed it (node_gas.c). */
    double t0 = jk_node_secs();
    bool fresh = jk_node_peer_add_event(n, n->relay_from, ev, len);
    jk_rpc_metric_observe(n->metrics.verify_seconds, jk_node_secs() - t0);
    return fresh;
}

static bool jk_w_idle(void *ctx, uint64_t h)
{
    jk_node *n = ctx;
    return n->app.idle && n->app.idle(n->app.ctx, h);
}

static uint32_t jk_w_propose_extra(void *ctx, uint64_t h, uint32_t r)
{
    jk_node *n = ctx;
    return n->app.propose_extra_ms ? n->app.propose_extra_ms(n->app.ctx, h, r) : 0;
}

void jk_node_wrap_app(jk_node *n, jk_cons_app *out)
{
    *out = (jk_cons_app){.ctx = n, .proposer = jk_w_proposer, .get_value = jk_w_get_value,
                         .valid = jk_w_valid, .hash = jk_w_hash, .commit = jk_w_commit,
                         .get_decision = jk_w_get_decision, .add_event = jk_w_add_event,
                         .idle = jk_w_idle, .propose_extra_ms = jk_w_propose_extra};
}
