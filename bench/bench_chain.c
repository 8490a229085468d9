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
#include "bench_cg.h"

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

/* One scheme for how often each timed part runs and which (docs/bench.md
 * "Apply, session 9"; it replaces BENCH_REPEAT, BENCH_PART's two meanings,
 * BENCH_WINDOWS and BENCH_ROUNDS, which had grown one per profiling task):
 *
 *   --once             one round of each part and no warm-up (callgrind)
 *   BENCH_ROUNDS=N     N rounds of each part (default 5)
 *   BENCH_PART=LIST    only the parts named (comma-separated): kernel, pool,
 *                      sodium (verify_events); produce, import, gossiped,
 *                      threaded, native (apply_transfers). Each then prints
 *                      `BENCH part name=P runs=N per=1000 best_ns=..
 *                      mean_ns=.. cpu_best_ns=.. cpu_mean_ns=..` instead of
 *                      the measurement's BENCH line, whose ratios need every
 *                      part. For `perf record`: most samples are the parts
 *                      named, not the SDK build before them.
 *   BENCH_WINDOWS=FILE each timed run's CLOCK_MONOTONIC window, a line
 *                      `part t0 t1`, to split a `perf record -k
 *                      CLOCK_MONOTONIC` profile by part.
 *
 * A part runs once a round (the cold import and the native ledger three
 * times a round in the full measurement, so both terms of its ratio are a
 * best of as many runs). The untimed work a part needs runs anyway (the
 * produce that makes the block the imports apply). */
enum { JK_PART_KERNEL, JK_PART_POOL, JK_PART_SODIUM, JK_PART_PRODUCE, JK_PART_IMPORT, JK_PART_GOSSIPED,
       JK_PART_THREADED, JK_PART_NATIVE, JK_PART_COUNT };
static const char *const jk_part_names[JK_PART_COUNT] = {"kernel",  "pool",   "sodium",   "produce",
                                                         "import",  "gossiped", "threaded", "native"};
static struct {
    int rounds;                         /* BENCH_ROUNDS, --once: 1 */
    bool once;                          /* --once: no warm-up */
    bool only;                          /* BENCH_PART given */
    bool want[JK_PART_COUNT];
    FILE *windows;                      /* BENCH_WINDOWS */
    long runs[JK_PART_COUNT];
    double best[JK_PART_COUNT], sum[JK_PART_COUNT], cpu_best[JK_PART_COUNT], cpu_sum[JK_PART_COUNT];
} jk_bench_cfg = {.rounds = 5};

static void jk_bench_config(void)
{
    const char *rounds = getenv("BENCH_ROUNDS"), *part = getenv("BENCH_PART"), *w = getenv("BENCH_WINDOWS");
    if (rounds && atoi(rounds) > 0)
        jk_bench_cfg.rounds = atoi(rounds);
    for (int p = 0; p < JK_PART_COUNT; p++) {
        jk_bench_cfg.want[p] = true;
        jk_bench_cfg.best[p] = jk_bench_cfg.cpu_best[p] = 1e9;
    }
    if (part && *part) {
        jk_bench_cfg.only = true;
        for (int p = 0; p < JK_PART_COUNT; p++)
            jk_bench_cfg.want[p] = false;
        for (const char *at = part; *at;) {
            size_t len = strcspn(at, ",");
            int p = 0;
            while (p < JK_PART_COUNT && (strlen(jk_part_names[p]) != len || strncmp(at, jk_part_names[p], len)))
                p++;
            if (p == JK_PART_COUNT)
                jk_bu_fail("BENCH_PART: no part %.*s (kernel, pool, sodium, produce, import, gossiped, threaded, "
                           "native)", (int)len, at);
            jk_bench_cfg.want[p] = true;
            at += len + (at[len] == ',');
        }
    }
    if (w && !(jk_bench_cfg.windows = fopen(w, "w")))
        jk_bu_fail("BENCH_WINDOWS: cannot write %s", w);
}

static bool jk_bench_want(int part) { return jk_bench_cfg.want[part]; }

/* Whether any of parts first..last is asked for. */
static bool jk_bench_any(int first, int last)
{
    for (int p = first; p <= last; p++)
        if (jk_bench_cfg.want[p])
            return true;
    return false;
}

/* Record one timed run of part: its wall and CPU seconds, and its window. */
static void jk_bench_note(int part, double t0, double wall, double cpu)
{
    jk_bench_cfg.runs[part]++;
    jk_bench_cfg.sum[part] += wall;
    jk_bench_cfg.cpu_sum[part] += cpu;
    if (wall < jk_bench_cfg.best[part])
        jk_bench_cfg.best[part] = wall;
    if (cpu < jk_bench_cfg.cpu_best[part])
        jk_bench_cfg.cpu_best[part] = cpu;
    if (jk_bench_cfg.windows)
        fprintf(jk_bench_cfg.windows, "%s %.9f %.9f\n", jk_part_names[part], t0, t0 + wall);
}

/* With BENCH_PART: a line for each part named that ran. */
static void jk_bench_print_parts(int first, int last)
{
    for (int p = first; p <= last; p++) {
        long n = jk_bench_cfg.runs[p];
        if (!jk_bench_cfg.want[p] || !n)
            continue;
        printf("BENCH part name=%s runs=%ld per=%u best_ns=%.0f mean_ns=%.0f cpu_best_ns=%.0f cpu_mean_ns=%.0f\n",
               jk_part_names[p], n, JK_BENCH_ACCOUNTS, jk_bench_cfg.best[p] * 1e9,
               jk_bench_cfg.sum[p] / (double)n * 1e9, jk_bench_cfg.cpu_best[p] * 1e9,
               jk_bench_cfg.cpu_sum[p] / (double)n * 1e9);
    }
    fflush(stdout);
}

/* Gossip every event to ck in an open cycle; all must be admitted. Returns
 * the seconds handle_incoming_events took. */
static double jk_bench_gossip(jk_bench_ctx *c, jk_chain_kernel *ck, unsigned threads, int part)
{
    size_t n = JK_BENCH_ACCOUNTS;
    memset(c->admitted, 0, n * sizeof *c->admitted);
    double c0 = jk_bu_cpu_now(), t0 = jk_bu_now();
    jk_err e = jk_chain_handle_incoming_events(ck, c->events, c->trace_ptrs, c->trace_counts, n, threads,
                                               c->admitted);
    double t = jk_bu_now() - t0;
    if (part >= 0)
        jk_bench_note(part, t0, t, jk_bu_cpu_now() - c0);
    if (e != JK_OK)
        jk_bu_fail("handle_incoming_events: %s", jk_strerror(e));
    for (size_t i = 0; i < n; i++)
        if (!c->admitted[i])
            jk_bu_fail("event %zu was not admitted (threads=%u)", i, threads);
    return t;
}

/* One verify run on a fresh kernel (the pool would drop repeats), timed
 * as `part` (-1: the warm-up, not recorded). */
static double jk_bench_verify_run(jk_bench_ctx *c, unsigned threads, int part)
{
    jk_chain_kernel *ck = jk_bu_kernel(&c->genesis);
    jk_diag diag = {{0}};
    jk_err e = jk_chain_setup_cycle(ck, &diag);
    if (e != JK_OK)
        jk_bu_fail("setup_cycle: %s", diag.msg[0] ? diag.msg : jk_strerror(e));
    double t = jk_bench_gossip(c, ck, threads, part);
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
    jk_bench_note(JK_PART_SODIUM, t0, t, jk_bu_cpu_now() - c0);
    return t;
}

static double jk_bench_min(double a, double b) { return a < b ? a : b; }

static void jk_bench_verify_events(jk_bench_ctx *c)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned threads = cpus < 1 ? 1u : cpus > 8 ? 8u : (unsigned)cpus;
    double kernel = 1e9, pooled = 1e9, sodium = 1e9;
    if (!jk_bench_cfg.once && (jk_bench_want(JK_PART_KERNEL) || jk_bench_want(JK_PART_POOL)))
        jk_bench_verify_run(c, 0, -1); /* warm-up */
    for (int r = 0; r < jk_bench_cfg.rounds; r++) {
        if (jk_bench_want(JK_PART_KERNEL))
            kernel = jk_bench_min(kernel, jk_bench_verify_run(c, 0, JK_PART_KERNEL));
        if (jk_bench_want(JK_PART_POOL))
            pooled = jk_bench_min(pooled, jk_bench_verify_run(c, threads, JK_PART_POOL));
        if (jk_bench_want(JK_PART_SODIUM))
            sodium = jk_bench_min(sodium, jk_bench_sodium_run(c));
    }
    if (jk_bench_cfg.only) {
        jk_bench_print_parts(JK_PART_KERNEL, JK_PART_SODIUM);
        return;
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
static double jk_bench_produce(jk_bench_ctx *c, jk_chain_block *block, jk_cap *chain_after, int part)
{
    jk_chain_kernel *ck = jk_bu_kernel(&c->genesis);
    jk_chain_set_own_key(ck, c->validator.sk);
    jk_diag diag = {{0}};
    jk_err e = jk_chain_setup_cycle(ck, &diag);
    if (e != JK_OK)
        jk_bu_fail("setup_cycle: %s", diag.msg[0] ? diag.msg : jk_strerror(e));
    jk_bench_gossip(c, ck, 0, -1);
    if (jk_chain_run_cycle_process(ck, NULL) != JK_OK)
        jk_bu_fail("run_cycle_process");
    double t0 = jk_bu_now(), c0 = jk_bu_cpu_now();
    JK_BENCH_CG_START();
    e = jk_chain_apply_block_produce(ck, &c->genesis.genesis_hash, 1, 0, NULL, block, &diag);
    JK_BENCH_CG_DUMP("produce");
    double t = jk_bu_now() - t0;
    if (part >= 0)
        jk_bench_note(part, t0, t, jk_bu_cpu_now() - c0);
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
                              bool gossiped, unsigned threads, int part)
{
    jk_chain_kernel *ck = jk_bu_kernel(&c->genesis);
    jk_chain_set_import_threads(ck, threads);
    jk_diag diag = {{0}};
    if (gossiped) {
        if (jk_chain_setup_cycle(ck, &diag) != JK_OK)
            jk_bu_fail("setup_cycle: %s", diag.msg);
        jk_bench_gossip(c, ck, 0, -1);
        jk_chain_teardown(ck);
    }
    double t0 = jk_bu_now(), c0 = jk_bu_cpu_now();
    JK_BENCH_CG_START();
    jk_err e = jk_chain_apply_block_import(ck, block, &c->genesis.genesis_hash, 1, &diag);
    JK_BENCH_CG_DUMP(gossiped ? "import_gossiped" : threads > 1 ? "import_threaded" : "import");
    double t = jk_bu_now() - t0;
    jk_bench_note(part, t0, t, jk_bu_cpu_now() - c0);
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

static double jk_bench_native_run(jk_bench_ctx *c, const jk_chain_block *block, jk_bench_ledger *l, long *applied,
                                  int part)
{
    l->count = JK_BENCH_ACCOUNTS;
    memcpy(l->rec, c->ledger, JK_BENCH_ACCOUNTS * JK_BENCH_RECORD);
    double t0 = jk_bu_now(), c0 = jk_bu_cpu_now();
    JK_BENCH_CG_START();
    *applied = jk_bench_native_apply(l, &c->genesis.genesis_hash, block->events, block->traces, block->event_count);
    JK_BENCH_CG_DUMP("native");
    double t = jk_bu_now() - t0;
    if (part >= 0)
        jk_bench_note(part, t0, t, jk_bu_cpu_now() - c0);
    return t;
}

static void jk_bench_apply_transfers(jk_bench_ctx *c)
{
    jk_bench_ledger *native = jk_bu_alloc(sizeof *native), *scratch = jk_bu_alloc(sizeof *scratch);
    jk_chain_block block;
    memset(&block, 0, sizeof block);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned threads = cpus < 1 ? 1u : cpus > 8 ? 8u : (unsigned)cpus;
    bool full = !jk_bench_cfg.only;
    int rounds = jk_bench_cfg.rounds, thrice = full && !jk_bench_cfg.once ? 3 : 1;
    long applied = 0;
    /* produce: three runs in the full measurement, a round's worth with
     * BENCH_PART; the first one's block is what the imports apply (made
     * untimed, once, when produce is not a part asked for) */
    int produces = !jk_bench_want(JK_PART_PRODUCE) ? 1 : full ? thrice : rounds;
    for (int r = 0; r < produces; r++) {
        jk_chain_block b;
        jk_cap after;
        memset(&b, 0, sizeof b);
        jk_bench_produce(c, &b, &after, jk_bench_want(JK_PART_PRODUCE) ? JK_PART_PRODUCE : -1);
        if (r == 0) {
            block = b;
            /* the block's events are the gossip, in order */
            for (size_t i = 0; i < block.event_count; i++)
                if (block.events[i].blob_len != JK_BENCH_TRANSFER ||
                    memcmp(block.events[i].blob, c->blobs[i], JK_BENCH_TRANSFER) != 0)
                    jk_bu_fail("block event %zu is not transfer %zu", i, i);
            jk_bench_native_run(c, &block, native, &applied, -1);
            if (applied != (long)JK_BENCH_ACCOUNTS)
                jk_bu_fail("the native ledger applied %ld of %u transfers", applied, JK_BENCH_ACCOUNTS);
            jk_bench_check_ledger(after, native, "produce");
        } else {
            jk_chain_block_free(&b);
        }
        jk_cap_release(after);
    }
    for (int r = 0; r < rounds; r++) {
        /* the cold import as often as the native ledger (three a round in
         * the full measurement): both ratios' terms are a best of the same
         * number of runs, so the noise of a shared machine favours neither */
        for (int k = 0; jk_bench_want(JK_PART_IMPORT) && k < thrice; k++)
            jk_bench_import(c, &block, native, false, 0, JK_PART_IMPORT);
        if (jk_bench_want(JK_PART_GOSSIPED))
            jk_bench_import(c, &block, native, true, 0, JK_PART_GOSSIPED);
        if (jk_bench_want(JK_PART_THREADED))
            jk_bench_import(c, &block, native, false, threads, JK_PART_THREADED);
        for (int k = 0; jk_bench_want(JK_PART_NATIVE) && k < thrice; k++) {
            jk_bench_native_run(c, &block, scratch, &applied, JK_PART_NATIVE);
            if (applied != (long)JK_BENCH_ACCOUNTS ||
                memcmp(scratch->rec, native->rec, JK_BENCH_ACCOUNTS * JK_BENCH_RECORD) != 0)
                jk_bu_fail("the native ledger is not deterministic");
        }
    }
    if (full) {
        const double *b = jk_bench_cfg.best, *cb = jk_bench_cfg.cpu_best;
        double nat = b[JK_PART_NATIVE];
        printf("BENCH apply_transfers transfers=%u import_ns_per_block=%.0f produce_ns_per_block=%.0f "
               "native_ns_per_block=%.0f ratio=%.2f produce_ratio=%.2f import_gossiped_ns_per_block=%.0f "
               "gossiped_ratio=%.2f threads=%u import_threaded_ns_per_block=%.0f threaded_ratio=%.2f engine=%s "
               "cpu_ratio=%.2f cpu_produce_ratio=%.2f cpu_gossiped_ratio=%.2f\n",
               JK_BENCH_ACCOUNTS, b[JK_PART_IMPORT] * 1e9, b[JK_PART_PRODUCE] * 1e9, nat * 1e9,
               b[JK_PART_IMPORT] / nat, b[JK_PART_PRODUCE] / nat, b[JK_PART_GOSSIPED] * 1e9,
               b[JK_PART_GOSSIPED] / nat, threads, b[JK_PART_THREADED] * 1e9, b[JK_PART_THREADED] / nat,
               jk_pvm_auto_engine() == JK_PVM_ENGINE_INTERP ? "interp" : "jit",
               cb[JK_PART_IMPORT] / cb[JK_PART_NATIVE], cb[JK_PART_PRODUCE] / cb[JK_PART_NATIVE],
               cb[JK_PART_GOSSIPED] / cb[JK_PART_NATIVE]);
        fflush(stdout);
    } else {
        jk_bench_print_parts(JK_PART_PRODUCE, JK_PART_NATIVE);
    }
    jk_chain_block_free(&block);
    free(native);
    free(scratch);
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
        jk_bench_cfg.rounds = 1;
        jk_bench_cfg.once = true;
        a++;
    }
    if (a + 1 < argc && !strcmp(argv[a], "--only")) {
        only = argv[a + 1];
        a += 2;
    }
    if (a != argc) {
        fprintf(stderr, "usage: bench_chain [--once] [--only verify_events|apply_transfers|setup_cycle]\n"
                        "  env: BENCH_ROUNDS=N BENCH_PART=kernel,pool,sodium,produce,import,gossiped,threaded,"
                        "native BENCH_WINDOWS=FILE\n");
        return 2;
    }
    jk_bench_config(); /* BENCH_ROUNDS after --once: it wins */
    if (jk_crypto_init() != JK_OK)
        jk_bu_fail("crypto init");
    static jk_bench_ctx c;
    jk_bench_setup(&c);
    if ((!only || !strcmp(only, "verify_events")) && jk_bench_any(JK_PART_KERNEL, JK_PART_SODIUM))
        jk_bench_verify_events(&c);
    if ((!only || !strcmp(only, "apply_transfers")) && jk_bench_any(JK_PART_PRODUCE, JK_PART_NATIVE))
        jk_bench_apply_transfers(&c);
    if ((!only || !strcmp(only, "setup_cycle")) && !jk_bench_cfg.only) /* no part of it is timed apart */
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
    if (jk_bench_cfg.windows)
        fclose(jk_bench_cfg.windows);
    return 0;
}
