/*
 * bench_chain.c — the chain layer's BENCH lines (`make bench-chain`, issue 7),
 * on the demo chain (examples/demo, docs/demo-chain.md):
 *
 *   verify_events    events verified a second through the chain kernel
 *                    (jk_chain_handle_incoming_events, no threads), next to
 *                    raw libsodium verifies of the same signatures; and the
 *                    thread pool's speedup on this machine.
 *   apply_transfers  one block of transfers from distinct funded accounts:
 *                    jk_chain_apply_block_import and _produce, next to a
 *                    native C ledger doing the same checks on the same data.
 *   setup_cycle      jk_chain_setup_cycle + jk_chain_teardown with 1,000 and
 *                    with 1,000,000 accounts in the ledger.
 *
 * The genesis is built as `jark devnet` builds it (tools/cmd_devnet.c): the
 * spec file examples/demo/devnet-spec.json (programs compiled with the SDK,
 * budgets), its state replaced by this bench's ledger. Every result is
 * checked (events admitted, blocks applied, the kernel's ledger equal to the
 * native one byte for byte); any failed check exits 1. See docs/bench.md.
 */
#include "bench_util.h"

#include "../examples/demo/demo_view.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Under `valgrind --tool=callgrind`, each timed apply (produce, native,
 * import, import_gossiped, import_threaded) is dumped as its own profile
 * part, named so, with nothing else in it: its instruction count (the part's
 * `summary:`) is that apply's and nothing else's. Without valgrind's header
 * the markers compile to nothing; outside valgrind they cost a few
 * instructions each. */
#if defined(__has_include)
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define JK_BENCH_CG_START() CALLGRIND_ZERO_STATS
#define JK_BENCH_CG_DUMP(name) CALLGRIND_DUMP_STATS_AT(name)
#endif
#endif
#ifndef JK_BENCH_CG_START
#define JK_BENCH_CG_START() ((void)0)
#define JK_BENCH_CG_DUMP(name) ((void)(name))
#endif

#define JK_BENCH_ACCOUNTS 1000u        /* funded accounts; also events per run */
#define JK_BENCH_BIG_ACCOUNTS 1000000u /* the large ledger of setup_cycle */
#define JK_BENCH_RECORD JK_BU_RECORD
#define JK_BENCH_TRANSFER JK_BU_TRANSFER
#define JK_BENCH_BALANCE 1000000u
#define JK_BENCH_MAX_LEDGER 1024u      /* the native ledger's capacity */

/* Everything the benchmarks share. */
typedef struct jk_bench_ctx {
    jk_spec_file spec;
    jk_bu_key validator;
    jk_bu_key *accounts;               /* JK_BENCH_ACCOUNTS, in ledger (key) order */
    uint8_t *ledger;                   /* the genesis ledger, sorted */
    jk_chain_genesis genesis;          /* with JK_BENCH_ACCOUNTS accounts */
    /* the workload: account i sends 1 + i % 7 to account i + 1, nonce 0 */
    uint8_t (*blobs)[JK_BENCH_TRANSFER];
    jk_chain_event *events;
    jk_chain_trace *traces;
    const jk_chain_trace **trace_ptrs;
    size_t *trace_counts;
    bool *admitted;
} jk_bench_ctx;

/* CPU seconds of the last timed apply (produce, import or native). */
static double jk_bench_cpu_last;

static void jk_bench_put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t jk_bench_get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static void jk_bench_setup(jk_bench_ctx *c)
{
    jk_bu_load_demo(&c->spec);
    jk_bu_derive("chain", "validator", 0, &c->validator);
    c->accounts = jk_bu_alloc(JK_BENCH_ACCOUNTS * sizeof *c->accounts);
    for (uint32_t i = 0; i < JK_BENCH_ACCOUNTS; i++)
        jk_bu_derive("chain", "account", i, &c->accounts[i]);
    qsort(c->accounts, JK_BENCH_ACCOUNTS, sizeof *c->accounts, jk_bu_key_cmp); /* pk is first */
    c->ledger = jk_bu_alloc(JK_BENCH_ACCOUNTS * JK_BENCH_RECORD);
    for (uint32_t i = 0; i < JK_BENCH_ACCOUNTS; i++) {
        uint8_t *r = c->ledger + (size_t)i * JK_BENCH_RECORD;
        memcpy(r, c->accounts[i].pk, 32);
        jk_bench_put64(r + 32, JK_BENCH_BALANCE);
        jk_bench_put64(r + 40, 0);
    }
    jk_bu_genesis(&c->spec, c->validator.pk, c->ledger, JK_BENCH_ACCOUNTS * JK_BENCH_RECORD, &c->genesis);

    size_t n = JK_BENCH_ACCOUNTS;
    c->blobs = jk_bu_alloc(n * sizeof *c->blobs);
    c->events = jk_bu_alloc(n * sizeof *c->events);
    c->traces = jk_bu_alloc(n * sizeof *c->traces);
    c->trace_ptrs = jk_bu_alloc(n * sizeof *c->trace_ptrs);
    c->trace_counts = jk_bu_alloc(n * sizeof *c->trace_counts);
    c->admitted = jk_bu_alloc(n * sizeof *c->admitted);
    for (size_t i = 0; i < n; i++) {
        uint8_t *b = c->blobs[i];
        jk_bu_transfer(b, c->accounts[i].pk, c->accounts[(i + 1) % n].pk, 1 + i % 7, 0);
        c->events[i] = (jk_chain_event){JK_CHAIN_ENDPOINT_TRANSACT, b, JK_BENCH_TRANSFER};
        jk_chain_trace_sign(c->accounts[i].sk, &c->genesis.genesis_hash, b, JK_BENCH_TRANSFER, &c->traces[i]);
        c->trace_ptrs[i] = &c->traces[i];
        c->trace_counts[i] = 1;
    }
}

/* BENCH_REPEAT's record of the timed parts: the sums of wall and CPU time of
 * the one-thread kernel runs and of the raw loops, and with
 * BENCH_WINDOWS=FILE each part's CLOCK_MONOTONIC window, one line each, for
 * splitting a `perf record -k CLOCK_MONOTONIC` profile by part. */
static struct {
    bool on;
    FILE *windows;
    const char *part;                    /* "kernel", "pool" or "sodium" */
    double wall[3], cpu[3];              /* by part */
} jk_bench_rec;

static int jk_bench_part_index(const char *part)
{
    return !strcmp(part, "kernel") ? 0 : !strcmp(part, "pool") ? 1 : 2;
}

static void jk_bench_window(double t0, double wall, double cpu)
{
    if (!jk_bench_rec.on)
        return;
    int i = jk_bench_part_index(jk_bench_rec.part);
    jk_bench_rec.wall[i] += wall;
    jk_bench_rec.cpu[i] += cpu;
    if (jk_bench_rec.windows)
        fprintf(jk_bench_rec.windows, "%s %.9f %.9f\n", jk_bench_rec.part, t0, t0 + wall);
}

/* Gossip every event to ck in an open cycle; all must be admitted. Returns
 * the seconds handle_incoming_events took. */
static double jk_bench_gossip(jk_bench_ctx *c, jk_chain_kernel *ck, unsigned threads)
{
    size_t n = JK_BENCH_ACCOUNTS;
    memset(c->admitted, 0, n * sizeof *c->admitted);
    double c0 = jk_bu_cpu_now(), t0 = jk_bu_now();
    jk_err e = jk_chain_handle_incoming_events(ck, c->events, c->trace_ptrs, c->trace_counts, n, threads,
                                               c->admitted);
    double t = jk_bu_now() - t0;
    jk_bench_window(t0, t, jk_bu_cpu_now() - c0);
    if (e != JK_OK)
        jk_bu_fail("handle_incoming_events: %s", jk_strerror(e));
    for (size_t i = 0; i < n; i++)
        if (!c->admitted[i])
            jk_bu_fail("event %zu was not admitted (threads=%u)", i, threads);
    return t;
}

/* One verify run on a fresh kernel (the pool would drop repeats). */
static double jk_bench_verify_run(jk_bench_ctx *c, unsigned threads)
{
    jk_chain_kernel *ck = jk_bu_kernel(&c->genesis);
    jk_diag diag = {{0}};
    jk_err e = jk_chain_setup_cycle(ck, &diag);
    if (e != JK_OK)
        jk_bu_fail("setup_cycle: %s", diag.msg[0] ? diag.msg : jk_strerror(e));
    double t = jk_bench_gossip(c, ck, threads);
    jk_chain_teardown(ck);
    jk_chain_kernel_free(ck);
    return t;
}

/* Raw libsodium: verify the same n signatures over their message hashes. */
static double jk_bench_sodium_run(const jk_bench_ctx *c)
{
    double c0 = jk_bu_cpu_now(), t0 = jk_bu_now();
    for (size_t i = 0; i < JK_BENCH_ACCOUNTS; i++) {
        const jk_chain_trace *t = &c->traces[i];
        if (crypto_sign_verify_detached(t->sig, t->msg_hash.bytes, 32, t->key) != 0)
            jk_bu_fail("libsodium refused signature %zu", i);
    }
    double t = jk_bu_now() - t0;
    jk_bench_window(t0, t, jk_bu_cpu_now() - c0);
    return t;
}

static double jk_bench_min(double a, double b) { return a < b ? a : b; }

/* --once: one round of each measurement and no warm-up, so a run under
 * `valgrind --tool=callgrind` finishes in seconds and its instruction counts
 * divide by JK_BENCH_ACCOUNTS into a per-event cost (docs/bench.md). */
static int jk_bench_rounds = 5;

static void jk_bench_verify_events(jk_bench_ctx *c)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned threads = cpus < 1 ? 1u : cpus > 8 ? 8u : (unsigned)cpus;
    double kernel = 1e9, pooled = 1e9, sodium = 1e9;
    /* BENCH_REPEAT=N: N rounds of the one-thread kernel run and the raw
     * loop alone (the pool once), so that a profiler (`perf record`) sees
     * mostly the timed parts, not the setup's SDK builds. */
    const char *repeat = getenv("BENCH_REPEAT");
    int rounds = jk_bench_rounds, pool_rounds = jk_bench_rounds;
    if (repeat && atoi(repeat) > 0) {
        rounds = atoi(repeat);
        pool_rounds = 1;
        const char *w = getenv("BENCH_WINDOWS");
        jk_bench_rec.windows = w ? fopen(w, "w") : NULL;
    }
    if (jk_bench_rounds > 1)
        jk_bench_verify_run(c, 0); /* warm-up */
    jk_bench_rec.on = repeat && rounds > 0 && atoi(repeat) > 0;
    for (int r = 0; r < rounds; r++) {
        jk_bench_rec.part = "kernel";
        kernel = jk_bench_min(kernel, jk_bench_verify_run(c, 0));
        jk_bench_rec.part = "pool";
        if (r < pool_rounds)
            pooled = jk_bench_min(pooled, jk_bench_verify_run(c, threads));
        jk_bench_rec.part = "sodium";
        sodium = jk_bench_min(sodium, jk_bench_sodium_run(c));
    }
    if (jk_bench_rec.on) {
        double ev = (double)rounds * JK_BENCH_ACCOUNTS;
        printf("BENCH verify_events_repeat rounds=%d kernel_us_per_event=%.2f sodium_us_per_verify=%.2f "
               "ratio_wall_sum=%.3f kernel_cpu_us_per_event=%.2f sodium_cpu_us_per_verify=%.2f ratio_cpu_sum=%.3f\n",
               rounds, jk_bench_rec.wall[0] / ev * 1e6, jk_bench_rec.wall[2] / ev * 1e6,
               jk_bench_rec.wall[2] / jk_bench_rec.wall[0], jk_bench_rec.cpu[0] / ev * 1e6,
               jk_bench_rec.cpu[2] / ev * 1e6, jk_bench_rec.cpu[2] / jk_bench_rec.cpu[0]);
        jk_bench_rec.on = false;
        if (jk_bench_rec.windows)
            fclose(jk_bench_rec.windows);
    }
    double n = JK_BENCH_ACCOUNTS;
    printf("BENCH verify_events events=%u events_per_s=%.0f us_per_event=%.1f sodium_verifies_per_s=%.0f "
           "ratio=%.3f threads=%u threaded_events_per_s=%.0f speedup=%.2f\n",
           JK_BENCH_ACCOUNTS, n / kernel, kernel / n * 1e6, n / sodium, sodium / kernel, threads, n / pooled,
           kernel / pooled);
    fflush(stdout);
}

/* ---- the native ledger: the demo chain's apply, in plain C ---- */

typedef struct jk_bench_ledger {
    size_t count;
    uint8_t rec[JK_BENCH_MAX_LEDGER][JK_BENCH_RECORD];
} jk_bench_ledger;

static size_t jk_bench_find(const jk_bench_ledger *l, const uint8_t *key, bool *found)
{
    size_t lo = 0, hi = l->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = memcmp(l->rec[mid], key, 32);
        if (cmp == 0) {
            *found = true;
            return mid;
        }
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

/* Apply a block's transfers (event i attested by traces[i]) to l, with every
 * check the demo chain's apply makes: a malformed or unattested transfer
 * fails the block (returns -1); one that no longer fits is skipped. Returns
 * the number applied. */
static long jk_bench_native_apply(jk_bench_ledger *l, const jk_hash *genesis, const jk_chain_event *events,
                                  const jk_chain_trace *traces, size_t n)
{
    long applied = 0;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *b = events[i].blob;
        if (events[i].endpoint != JK_CHAIN_ENDPOINT_TRANSACT || events[i].blob_len != JK_BENCH_TRANSFER ||
            b[0] != 'T')
            return -1;
        const uint8_t *from = b + 1, *to = b + 33;
        uint64_t amount = jk_bench_get64(b + 65), nonce = jk_bench_get64(b + 73);
        if (amount == 0 || nonce == UINT64_MAX || memcmp(from, to, 32) == 0)
            return -1;
        /* the attest: from's signature over H(tag ‖ G ‖ blob) */
        jk_hash msg;
        jk_chain_attest_msg_hash(genesis, b, JK_BENCH_TRANSFER, &msg);
        const jk_chain_trace *t = &traces[i];
        if (memcmp(t->key, from, 32) != 0 || memcmp(t->msg_hash.bytes, msg.bytes, 32) != 0 ||
            crypto_sign_verify_detached(t->sig, msg.bytes, 32, from) != 0)
            return -1;
        bool found;
        size_t s = jk_bench_find(l, from, &found);
        if (!found || jk_bench_get64(l->rec[s] + 40) != nonce || jk_bench_get64(l->rec[s] + 32) < amount)
            continue;
        size_t d = jk_bench_find(l, to, &found);
        if (!found && l->count >= JK_BENCH_MAX_LEDGER)
            continue;
        if (found && jk_bench_get64(l->rec[d] + 32) + amount < amount)
            continue;
        jk_bench_put64(l->rec[s] + 32, jk_bench_get64(l->rec[s] + 32) - amount);
        jk_bench_put64(l->rec[s] + 40, nonce + 1);
        if (!found) {
            memmove(l->rec[d + 1], l->rec[d], (l->count - d) * JK_BENCH_RECORD);
            memset(l->rec[d], 0, JK_BENCH_RECORD);
            memcpy(l->rec[d], to, 32);
            l->count++;
        }
        jk_bench_put64(l->rec[d] + 32, jk_bench_get64(l->rec[d] + 32) + amount);
        applied++;
    }
    return applied;
}

/* The chain's ledger (the genesis ledger under the account tree, merged by
 * demo_view.h) must equal the native one. */
static void jk_bench_check_ledger(jk_cap chain, const jk_bench_ledger *l, const char *who)
{
    uint64_t count = 0;
    uint8_t *buf = demo_view_ledger(chain, &count);
    if (!buf || count != l->count || memcmp(buf, l->rec, l->count * JK_BENCH_RECORD) != 0)
        jk_bu_fail("%s: the chain's ledger differs from the native ledger's", who);
    free(buf);
}

/* Produce block 1 from all the events; returns the seconds produce took. */
static double jk_bench_produce(jk_bench_ctx *c, jk_chain_block *block, jk_cap *chain_after)
{
    jk_chain_kernel *ck = jk_bu_kernel(&c->genesis);
    jk_chain_set_own_key(ck, c->validator.sk);
    jk_diag diag = {{0}};
    jk_err e = jk_chain_setup_cycle(ck, &diag);
    if (e != JK_OK)
        jk_bu_fail("setup_cycle: %s", diag.msg[0] ? diag.msg : jk_strerror(e));
    jk_bench_gossip(c, ck, 0);
    if (jk_chain_run_cycle_process(ck, NULL) != JK_OK)
        jk_bu_fail("run_cycle_process");
    double t0 = jk_bu_now(), c0 = jk_bu_cpu_now();
    JK_BENCH_CG_START();
    e = jk_chain_apply_block_produce(ck, &c->genesis.genesis_hash, 1, 0, NULL, block, &diag);
    JK_BENCH_CG_DUMP("produce");
    double t = jk_bu_now() - t0;
    jk_bench_cpu_last = jk_bu_cpu_now() - c0;
    jk_chain_teardown(ck);
    if (e != JK_OK)
        jk_bu_fail("produce: %s", diag.msg[0] ? diag.msg : jk_strerror(e));
    if (block->event_count != JK_BENCH_ACCOUNTS || block->trace_count != JK_BENCH_ACCOUNTS)
        jk_bu_fail("produced %zu events and %zu traces, not %u", block->event_count, block->trace_count,
                      JK_BENCH_ACCOUNTS);
    *chain_after = ck->chain;
    jk_cap_retain(*chain_after);
    jk_chain_kernel_free(ck);
    return t;
}

/* Import block 1 on a fresh kernel; with `gossiped`, the kernel first saw
 * the block's events by gossip (so its signature cache holds their traces);
 * `threads`: jk_chain_set_import_threads. */
static double jk_bench_import(jk_bench_ctx *c, const jk_chain_block *block, const jk_bench_ledger *want,
                              bool gossiped, unsigned threads)
{
    jk_chain_kernel *ck = jk_bu_kernel(&c->genesis);
    jk_chain_set_import_threads(ck, threads);
    jk_diag diag = {{0}};
    if (gossiped) {
        if (jk_chain_setup_cycle(ck, &diag) != JK_OK)
            jk_bu_fail("setup_cycle: %s", diag.msg);
        jk_bench_gossip(c, ck, 0);
        jk_chain_teardown(ck);
    }
    double t0 = jk_bu_now(), c0 = jk_bu_cpu_now();
    JK_BENCH_CG_START();
    jk_err e = jk_chain_apply_block_import(ck, block, &c->genesis.genesis_hash, 1, &diag);
    JK_BENCH_CG_DUMP(gossiped ? "import_gossiped" : threads > 1 ? "import_threaded" : "import");
    double t = jk_bu_now() - t0;
    jk_bench_cpu_last = jk_bu_cpu_now() - c0;
    if (e != JK_OK)
        jk_bu_fail("import: %s", diag.msg[0] ? diag.msg : jk_strerror(e));
    jk_hash root;
    jk_cap_hash(ck->chain, &root);
    if (memcmp(root.bytes, block->header.state_root.bytes, 32) != 0)
        jk_bu_fail("import ended on another state root");
    jk_bench_check_ledger(ck->chain, want, "import");
    jk_chain_kernel_free(ck);
    return t;
}

static double jk_bench_native_run(jk_bench_ctx *c, const jk_chain_block *block, jk_bench_ledger *l, long *applied)
{
    l->count = JK_BENCH_ACCOUNTS;
    memcpy(l->rec, c->ledger, JK_BENCH_ACCOUNTS * JK_BENCH_RECORD);
    double t0 = jk_bu_now(), c0 = jk_bu_cpu_now();
    JK_BENCH_CG_START();
    *applied = jk_bench_native_apply(l, &c->genesis.genesis_hash, block->events, block->traces, block->event_count);
    JK_BENCH_CG_DUMP("native");
    double t = jk_bu_now() - t0;
    jk_bench_cpu_last = jk_bu_cpu_now() - c0;
    return t;
}

/* BENCH_REPEAT=N with BENCH_PART=import|native|gossiped: after the block is
 * produced (once), run only that part N times and print its best and mean,
 * so `perf record` samples one part and nothing else (docs/bench.md, "Import
 * wall gap, session 8"). */
static void jk_bench_repeat_part(jk_bench_ctx *c, const jk_chain_block *block, const jk_bench_ledger *want,
                                 const char *part, long times)
{
    jk_bench_ledger *scratch = jk_bu_alloc(sizeof *scratch);
    double best = 1e9, sum = 0, cpu_best = 1e9, cpu_sum = 0;
    long applied = 0;
    for (long r = 0; r < times; r++) {
        double t;
        if (!strcmp(part, "native")) {
            t = jk_bench_native_run(c, block, scratch, &applied);
            if (applied != (long)JK_BENCH_ACCOUNTS)
                jk_bu_fail("the native ledger applied %ld of %u transfers", applied, JK_BENCH_ACCOUNTS);
        } else if (!strcmp(part, "import") || !strcmp(part, "gossiped")) {
            t = jk_bench_import(c, block, want, !strcmp(part, "gossiped"), 0);
        } else {
            jk_bu_fail("BENCH_PART is import, native or gossiped, not %s", part);
        }
        best = jk_bench_min(best, t);
        sum += t;
        cpu_best = jk_bench_min(cpu_best, jk_bench_cpu_last);
        cpu_sum += jk_bench_cpu_last;
    }
    printf("BENCH apply_part part=%s repeat=%ld best_ns=%.0f mean_ns=%.0f cpu_best_ns=%.0f cpu_mean_ns=%.0f\n", part,
           times, best * 1e9, sum / (double)times * 1e9, cpu_best * 1e9, cpu_sum / (double)times * 1e9);
    fflush(stdout);
    free(scratch);
}

static void jk_bench_apply_transfers(jk_bench_ctx *c)
{
    jk_bench_ledger *native = jk_bu_alloc(sizeof *native);
    jk_chain_block block;
    memset(&block, 0, sizeof block);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned threads = cpus < 1 ? 1u : cpus > 8 ? 8u : (unsigned)cpus;
    double produce = 1e9, import = 1e9, import_gossiped = 1e9, import_threaded = 1e9, nat = 1e9;
    double cpu_produce = 1e9, cpu_import = 1e9, cpu_gossiped = 1e9, cpu_nat = 1e9;
    long applied = 0;
    for (int r = 0; r < (jk_bench_rounds > 1 ? 3 : 1); r++) {
        jk_chain_block b;
        jk_cap after;
        memset(&b, 0, sizeof b);
        produce = jk_bench_min(produce, jk_bench_produce(c, &b, &after));
        cpu_produce = jk_bench_min(cpu_produce, jk_bench_cpu_last);
        if (r == 0) {
            block = b;
            /* the block's events are the gossip, in order */
            for (size_t i = 0; i < block.event_count; i++)
                if (block.events[i].blob_len != JK_BENCH_TRANSFER ||
                    memcmp(block.events[i].blob, c->blobs[i], JK_BENCH_TRANSFER) != 0)
                    jk_bu_fail("block event %zu is not transfer %zu", i, i);
            jk_bench_native_run(c, &block, native, &applied);
            if (applied != (long)JK_BENCH_ACCOUNTS)
                jk_bu_fail("the native ledger applied %ld of %u transfers", applied, JK_BENCH_ACCOUNTS);
            jk_bench_check_ledger(after, native, "produce");
        } else {
            jk_chain_block_free(&b);
        }
        jk_cap_release(after);
    }
    const char *repeat = getenv("BENCH_REPEAT");
    if (repeat && atol(repeat) > 0) {
        jk_bench_repeat_part(c, &block, native, getenv("BENCH_PART") ? getenv("BENCH_PART") : "import",
                             atol(repeat));
        jk_chain_block_free(&block);
        free(native);
        return;
    }
    for (int r = 0; r < jk_bench_rounds; r++) {
        /* the cold import as often as the native ledger (three a round):
         * both ratios' terms are a best of the same number of runs, so the
         * noise of a shared machine does not favour either side */
        for (int k = 0; k < (jk_bench_rounds > 1 ? 3 : 1); k++) {
            import = jk_bench_min(import, jk_bench_import(c, &block, native, false, 0));
            cpu_import = jk_bench_min(cpu_import, jk_bench_cpu_last);
        }
        import_gossiped = jk_bench_min(import_gossiped, jk_bench_import(c, &block, native, true, 0));
        cpu_gossiped = jk_bench_min(cpu_gossiped, jk_bench_cpu_last);
        import_threaded = jk_bench_min(import_threaded, jk_bench_import(c, &block, native, false, threads));
        jk_bench_ledger *scratch = jk_bu_alloc(sizeof *scratch);
        for (int k = 0; k < 3; k++) {
            nat = jk_bench_min(nat, jk_bench_native_run(c, &block, scratch, &applied));
            cpu_nat = jk_bench_min(cpu_nat, jk_bench_cpu_last);
            if (applied != (long)JK_BENCH_ACCOUNTS ||
                memcmp(scratch->rec, native->rec, JK_BENCH_ACCOUNTS * JK_BENCH_RECORD) != 0)
                jk_bu_fail("the native ledger is not deterministic");
        }
        free(scratch);
    }
    printf("BENCH apply_transfers transfers=%u import_ns_per_block=%.0f produce_ns_per_block=%.0f "
           "native_ns_per_block=%.0f ratio=%.2f produce_ratio=%.2f import_gossiped_ns_per_block=%.0f "
           "gossiped_ratio=%.2f threads=%u import_threaded_ns_per_block=%.0f threaded_ratio=%.2f engine=%s "
           "cpu_ratio=%.2f cpu_produce_ratio=%.2f cpu_gossiped_ratio=%.2f\n",
           JK_BENCH_ACCOUNTS, import * 1e9, produce * 1e9, nat * 1e9, import / nat, produce / nat,
           import_gossiped * 1e9, import_gossiped / nat, threads, import_threaded * 1e9, import_threaded / nat,
           jk_pvm_auto_engine() == JK_PVM_ENGINE_INTERP ? "interp" : "jit", cpu_import / cpu_nat,
           cpu_produce / cpu_nat, cpu_gossiped / cpu_nat);
    fflush(stdout);
    jk_chain_block_free(&block);
    free(native);
}

/* ---- setup_cycle + teardown against the ledger's size ---- */

/* Mean seconds of one setup_cycle + teardown over `iters`. */
static double jk_bench_cycle_round(jk_chain_kernel *ck, long iters)
{
    jk_diag diag = {{0}};
    double t0 = jk_bu_now();
    for (long i = 0; i < iters; i++) {
        jk_err e = jk_chain_setup_cycle(ck, &diag);
        if (e != JK_OK)
            jk_bu_fail("setup_cycle: %s", diag.msg[0] ? diag.msg : jk_strerror(e));
        jk_chain_teardown(ck);
    }
    return (jk_bu_now() - t0) / (double)iters;
}

static void jk_bench_setup_cycle(jk_bench_ctx *c)
{
    /* The big ledger: keys BE(i) ‖ 0xA5..., so sorted by construction. */
    size_t big_len = (size_t)JK_BENCH_BIG_ACCOUNTS * JK_BENCH_RECORD;
    uint8_t *big = malloc(big_len);
    if (!big)
        jk_bu_fail("out of memory");
    for (uint32_t i = 0; i < JK_BENCH_BIG_ACCOUNTS; i++) {
        uint8_t *r = big + (size_t)i * JK_BENCH_RECORD;
        memset(r, 0xA5, 32);
        for (int k = 0; k < 8; k++)
            r[k] = (uint8_t)((uint64_t)i >> (56 - 8 * k));
        jk_bench_put64(r + 32, JK_BENCH_BALANCE);
        jk_bench_put64(r + 40, 0);
    }
    jk_chain_genesis big_genesis;
    jk_bu_genesis(&c->spec, c->validator.pk, big, big_len, &big_genesis);
    free(big);
    jk_cap ledger = jk_cap_cnode_get(jk_cap_instance_cnode(big_genesis.chain), 20);
    if (jk_cap_data_len(ledger) != big_len)
        jk_bu_fail("the big genesis has no %zu-byte ledger", big_len);

    jk_chain_kernel *small_k = jk_bu_kernel(&c->genesis), *big_k = jk_bu_kernel(&big_genesis);
    /* calibrate on the small one: a round of about 30 ms (also warms up) */
    long iters = 16;
    while (jk_bench_cycle_round(small_k, iters) * (double)iters < 0.03 && iters < (1L << 24))
        iters *= 2;
    jk_bench_cycle_round(big_k, iters);
    double small = 1e9, large = 1e9;
    for (int r = 0; r < 7; r++) {
        small = jk_bench_min(small, jk_bench_cycle_round(small_k, iters));
        large = jk_bench_min(large, jk_bench_cycle_round(big_k, iters));
    }
    printf("BENCH setup_cycle accounts=%u ns=%.0f big_accounts=%u big_ns=%.0f ratio=%.2f\n", JK_BENCH_ACCOUNTS,
           small * 1e9, JK_BENCH_BIG_ACCOUNTS, large * 1e9, large / small);
    fflush(stdout);
    jk_chain_kernel_free(small_k);
    jk_chain_kernel_free(big_k);
    jk_cap_release(big_genesis.chain);
}

int main(int argc, char **argv)
{
    const char *only = NULL;
    int a = 1;
    jk_bu_set_name("bench_chain");
    if (a < argc && !strcmp(argv[a], "--once")) {
        jk_bench_rounds = 1;
        a++;
    }
    if (a + 1 < argc && !strcmp(argv[a], "--only")) {
        only = argv[a + 1];
        a += 2;
    }
    /* BENCH_ROUNDS=N: N rounds of each measurement, so that a profiler
     * (perf record) sees mostly the timed parts, not the SDK build before. */
    const char *rounds = getenv("BENCH_ROUNDS");
    if (rounds && atoi(rounds) > 0)
        jk_bench_rounds = atoi(rounds);
    if (a != argc) {
        fprintf(stderr, "usage: bench_chain [--once] [--only verify_events|apply_transfers|setup_cycle]\n");
        return 2;
    }
    if (jk_crypto_init() != JK_OK)
        jk_bu_fail("crypto init");
    static jk_bench_ctx c;
    jk_bench_setup(&c);
    if (!only || !strcmp(only, "verify_events"))
        jk_bench_verify_events(&c);
    if (!only || !strcmp(only, "apply_transfers"))
        jk_bench_apply_transfers(&c);
    if (!only || !strcmp(only, "setup_cycle"))
        jk_bench_setup_cycle(&c);
    jk_cap_release(c.genesis.chain);
    jk_spec_file_free(&c.spec);
    free(c.accounts);
    free(c.ledger);
    free(c.blobs);
    free(c.events);
    free(c.traces);
    free(c.trace_ptrs);
    free(c.trace_counts);
    free(c.admitted);
    return 0;
}
