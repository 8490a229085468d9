/*
 * node_app.c — the application as the node hands it to the consensus
 * machine: each callback wrapped to time its phase (`-v`: the height's
 * timeline, docs/bench.md "BENCH testnet") and feed the metrics, and commit
 * as the place a height ends (finality, the commit log line). Split from
 * node.c (session 8), which drives the loop.
 */
#include "node_internal.h"

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

jk_node_phase_t0 jk_node_phase_start(const jk_node *n)
{
    jk_node_phase_t0 t0 = {jk_node_secs(), 0.0};
    if (n->cfg.log && n->cfg.verbose >= 1)
        t0.cpu = jk_thread_cpu_secs();
    return t0;
}

void jk_node_phase(jk_node *n, const char *what, uint64_t h, jk_node_phase_t0 t0, size_t bytes)
{
    if (!n->cfg.log || n->cfg.verbose < 1)
        return;
    jk_node_logf(n, 1, "phase %s height=%llu bytes=%zu ms=%.1f cpu_ms=%.1f", what,
                 (unsigned long long)h, bytes, (jk_node_secs() - t0.wall) * 1000.0,
                 (jk_thread_cpu_secs() - t0.cpu) * 1000.0);
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
    /* An event's admission (decode, dedup, the verify program): verify time. */
    double t0 = jk_node_secs();
    bool fresh = n->app.add_event(n->app.ctx, ev, len);
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
