/*
 * cmd_testnet.c — `jark testnet`: parses the options, runs the library's
 * testnet (jk_devnet_testnet_run: V `jark node` processes, the workload,
 * perturbations, the agreement check) and prints its lines and summary
 * (docs/node.md, "jark testnet"). Exits 1 when two nodes committed
 * different blocks at one height.
 */
#include "commands.h"

#include "jark/devnet.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile int tnet_stop;

static void tnet_on_signal(int sig)
{
    (void)sig;
    tnet_stop = 1;
}

static void tnet_on_height(void *ctx, const jk_devnet_testnet_height *b)
{
    (void)ctx;
    if (b->phase == JK_DEVNET_HEIGHT_BEFORE) /* committed at start-up: no interval */
        printf("height %4llu  round %u  events %4llu  root %s  finality     - (before the watch)\n",
               (unsigned long long)b->height, b->round, (unsigned long long)b->events, b->root);
    else
        printf("height %4llu  round %u  events %4llu  root %s  finality %5llu ms%s\n",
               (unsigned long long)b->height, b->round, (unsigned long long)b->events, b->root,
               (unsigned long long)b->finality_ms,
               b->phase == JK_DEVNET_HEIGHT_WARMUP ? " (warm-up)" : "");
    fflush(stdout);
}

static void tnet_on_note(void *ctx, const char *line)
{
    (void)ctx;
    printf("%s\n", line);
    fflush(stdout);
}

/* "a,b,c" into at most max strings (pointers into s, which is cut). */
static size_t tnet_split(char *s, const char **out, size_t max)
{
    size_t n = 0;
    for (char *save = NULL, *p = strtok_r(s, ",", &save); p && n < max; p = strtok_r(NULL, ",", &save))
        out[n++] = p;
    return n;
}

static const char tnet_usage[] =
    "usage: jark testnet [--validators V] [--blocks N] [--warmup W] [--dir DIR] [--spec SPEC] [--events-per-block E]\n"
    "                    [--in-flight K] [--accounts A] [--tcp] [--bench] [-v] [--empty-blocks-interval MS]\n"
    "                    [--verify-threads T] [--posts P] [--perturb kill:I@H,restart:I@H,wipe:I@H,...]\n"
    "                    [--netns PREFIX --hosts IP,IP,... --rpc-hosts IP,IP,...]\n"
    "  --blocks N            heights measured (default 20), after the warm-up ones\n"
    "  --warmup W            heights before the measured window: the workload's pipeline fills\n"
    "                        (default 10 with the demo workload, else 0); the run is W + N heights\n"
    "  --events-per-block E  transfers per workload batch (default 16, at most 4096)\n"
    "  --in-flight K         batches outstanding at once (default 1); needs A >= E x K\n"
    "  --accounts A          the demo's funded accounts (default 64)\n"
    "  --empty-blocks-interval MS  every node's (default 1000: see jark node; at least 1)\n"
    "  --verify-threads T    every node's (see jark node; default: none passed, the node's own thread)\n"
    "  --posts P             the workload's requests in flight to each node at once (default 1, at most 8)\n"
    "  wipe:I@H              kill node I, remove its store and start it empty: it syncs from genesis\n"
    "  --netns PREFIX        node I runs in the network namespace PREFIX<I>, listening on the\n"
    "                        I-th of --hosts, serving RPC on the I-th of --rpc-hosts (make e2e)\n";

static double tnet_div(double a, double b)
{
    return b > 0 ? a / b : 0.0;
}

/* The BENCH line (docs/node.md "The BENCH line"): the measured window's
 * figures (heights warmup+1 .. warmup+N), the whole run's beside the
 * ones that moved (`_whole`), against the Ed25519 bound: cores x verifies
 * per second / signature checks per event across the network (each of
 * the V nodes verifies each event's one trace once on admission; the
 * block check finds it in the signature cache). The rate is the higher of
 * two samples over distinct signatures, as the nodes' are: before the
 * nodes start and after they stop (jk_devnet_ed25519_bound_rate). On a
 * machine shared with other work, wall time understates both; the CPU
 * figures (the nodes' CPU per event against the verifies per CPU second)
 * do not depend on it. */
static void tnet_bench_line(const jk_devnet_testnet_options *o, const jk_devnet_testnet_result *r)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    cores = cores > 0 ? cores : 1;
    double v = (double)o->validators;
    double bound = (double)cores * r->ed25519_rate / v;
    double eps = tnet_div((double)r->events, r->seconds);
    double eps_whole = tnet_div((double)r->events_whole, r->seconds_whole);
    /* the share of the nodes' CPU the Ed25519 bound needs: what the ratio
     * would be if the nodes had the cores to themselves */
    double cpu_ratio = tnet_div(v * (double)r->events, r->ed25519_rate_cpu * r->nodes_cpu_seconds);
    printf("BENCH testnet validators=%u events=%llu events_per_s=%.1f ed25519_bound=%.0f "
           "(cores=%ld verifies_per_s=%.0f checks_per_event=%u) ratio=%.4f "
           "warmup=%llu window_from=%llu window_s=%.2f "
           "events_whole=%llu events_per_s_whole=%.1f ratio_whole=%.4f "
           "verifies_per_s_before=%.0f verifies_per_s_after=%.0f ed25519_bound_same_sig=%.0f "
           "finality_load_p50_ms=%llu finality_load_p99_ms=%llu "
           "finality_idle_p50_ms=%llu finality_idle_p99_ms=%llu "
           "nodes_cpu_s=%.1f cpu_us_per_event=%.0f cpu_us_per_event_whole=%.0f verifies_per_cpu_s=%.0f "
           "cpu_ratio=%.4f host_idle=%.3f host_idle_whole=%.3f "
           "nodes_run=%.3f nodes_runq=%.3f nodes_sleep=%.3f "
           "loop_run=%.3f loop_runq=%.3f loop_sleep=%.3f others_run=%.3f "
           "batch_answered_ms=%.0f batch_committed_ms=%.0f batch_retired_ms=%.0f batch_heights=%.2f "
           "wire_bytes_per_event=%.0f frames_per_event=%.1f verifies_per_event=%.3f "
           "verifies_per_admitted=%.3f verifies_per_event_net=%.3f verifies_per_event_whole=%.3f verifies_per_admitted_whole=%.3f "
           "pool_start=%lld pool_end=%lld driver_cpu_s=%.2f driver_cpu_share=%.4f\n",
           o->validators, (unsigned long long)r->events, eps, bound, cores, r->ed25519_rate,
           o->validators, tnet_div(eps, bound), (unsigned long long)o->warmup,
           (unsigned long long)r->window_from, r->seconds, (unsigned long long)r->events_whole,
           eps_whole, tnet_div(eps_whole, bound), r->ed25519_before, r->ed25519_after,
           (double)cores * r->ed25519_same_sig / v, (unsigned long long)r->p50_ms,
           (unsigned long long)r->p99_ms, (unsigned long long)r->idle_p50_ms,
           (unsigned long long)r->idle_p99_ms, r->nodes_cpu_seconds,
           tnet_div(r->nodes_cpu_seconds * 1e6, (double)r->events),
           tnet_div(r->nodes_cpu_seconds_whole * 1e6, (double)r->events_whole), r->ed25519_rate_cpu,
           cpu_ratio, r->host_idle, r->host_idle_whole, r->nodes_run, r->nodes_runq, r->nodes_sleep,
           r->loop_run, r->loop_runq, r->loop_sleep, r->others_run, r->batch_answered_ms,
           r->batch_committed_ms, r->batch_retired_ms, r->batch_heights,
           /* frames the nodes queued to peers (events, blocks, votes) */
           tnet_div(r->net_bytes_out, (double)r->events), tnet_div(r->net_frames_out, (double)r->events),
           /* the nodes' Ed25519 checks (summed) per event committed and per
            * event admitted: V, plus the votes' share, when every node checks
            * each event's signature once. In a balanced window the two agree;
            * over the whole run the events in flight at the end were checked
            * and not committed */
           tnet_div(r->ed25519_verifies, (double)r->events),
           tnet_div(r->ed25519_verifies, (double)r->admitted_window),
           /* less the checks of events the pools gained over the window
            * (each pooled event was checked once by its node) */
           tnet_div(r->ed25519_verifies - (double)(r->pool_end - r->pool_start), (double)r->events),
           tnet_div(r->ed25519_verifies_whole, (double)r->events_whole),
           tnet_div(r->ed25519_verifies_whole, (double)r->submitted), (long long)r->pool_start,
           (long long)r->pool_end, r->driver_cpu_seconds,
           /* the driver's share of the machine (every core) in the window */
           tnet_div(r->driver_cpu_seconds, (double)cores * r->seconds));
}

int jk_tool_testnet(int argc, char **argv)
{
    uint64_t v = 4, blocks = 20, warmup = UINT64_MAX, per_block = 16, in_flight = 1, accounts = 0, empty_ms = 0, vthreads = 0, posts = 0;
    bool bench = false;
    static char hosts_buf[1024], rpc_buf[1024];
    static const char *hosts[JK_DEVNET_TESTNET_MAX], *rpc_hosts[JK_DEVNET_TESTNET_MAX];
    size_t nhosts = 0, nrpc = 0;
    jk_devnet_testnet_options o = {0};
    jk_devnet_perturb pt[JK_DEVNET_TESTNET_MAX_PERTURB];
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        if (!strcmp(a, "-v"))
            o.verbose = 1;
        else if (!strcmp(a, "--bench"))
            bench = true;
        else if (!strcmp(a, "--tcp"))
            o.tcp = true;
        else if (has && !strcmp(a, "--validators")) {
            if (jk_tool_parse_number(argv[++i], false, &v) != 0 || v < 1 || v > JK_DEVNET_TESTNET_MAX)
                return fprintf(stderr, "jark testnet: --validators 1..%d\n", JK_DEVNET_TESTNET_MAX), JK_EXIT_USAGE;
        } else if (has && !strcmp(a, "--blocks")) {
            if (jk_tool_parse_number(argv[++i], false, &blocks) != 0 || blocks < 1)
                return fprintf(stderr, "jark testnet: --blocks N (N >= 1)\n"), JK_EXIT_USAGE;
        } else if (has && !strcmp(a, "--warmup")) {
            if (jk_tool_parse_number(argv[++i], false, &warmup) != 0 || warmup > 1000000)
                return fprintf(stderr, "jark testnet: --warmup 0..1000000\n"), JK_EXIT_USAGE;
        } else if (has && !strcmp(a, "--events-per-block")) {
            if (jk_tool_parse_number(argv[++i], false, &per_block) != 0 || per_block > JK_DEVNET_TESTNET_MAX_BATCH)
                return fprintf(stderr, "jark testnet: --events-per-block 0..%d\n", JK_DEVNET_TESTNET_MAX_BATCH),
                       JK_EXIT_USAGE;
        } else if (has && !strcmp(a, "--in-flight")) {
            if (jk_tool_parse_number(argv[++i], false, &in_flight) != 0 || in_flight < 1 ||
                in_flight > JK_DEVNET_TESTNET_MAX_IN_FLIGHT)
                return fprintf(stderr, "jark testnet: --in-flight 1..%d\n", JK_DEVNET_TESTNET_MAX_IN_FLIGHT),
                       JK_EXIT_USAGE;
        } else if (has && !strcmp(a, "--accounts")) {
            if (jk_tool_parse_number(argv[++i], false, &accounts) != 0 || accounts < 2 ||
                accounts > JK_DEVNET_DEMO_MAX_ACCOUNTS)
                return fprintf(stderr, "jark testnet: --accounts 2..%u\n", JK_DEVNET_DEMO_MAX_ACCOUNTS),
                       JK_EXIT_USAGE;
        } else if (has && !strcmp(a, "--empty-blocks-interval")) {
            if (jk_tool_parse_number(argv[++i], false, &empty_ms) != 0 || empty_ms < 1 ||
                empty_ms > 3600000)
                return fprintf(stderr, "jark testnet: --empty-blocks-interval 1..3600000 (ms)\n"),
                       JK_EXIT_USAGE;
            o.empty_blocks_ms = (uint32_t)empty_ms;
        } else if (has && !strcmp(a, "--verify-threads")) {
            if (jk_tool_parse_number(argv[++i], false, &vthreads) != 0 || vthreads > 64)
                return fprintf(stderr, "jark testnet: --verify-threads 0..64\n"), JK_EXIT_USAGE;
            o.verify_threads = (uint32_t)vthreads;
        } else if (has && !strcmp(a, "--posts")) {
            if (jk_tool_parse_number(argv[++i], false, &posts) != 0 || posts < 1 ||
                posts > JK_DEVNET_TESTNET_MAX_POSTS)
                return fprintf(stderr, "jark testnet: --posts 1..%d\n", JK_DEVNET_TESTNET_MAX_POSTS),
                       JK_EXIT_USAGE;
            o.posts = (uint32_t)posts;
        } else if (has && !strcmp(a, "--dir"))
            o.dir = argv[++i];
        else if (has && !strcmp(a, "--spec"))
            o.spec_path = argv[++i];
        else if (has && !strcmp(a, "--netns"))
            o.netns_prefix = argv[++i];
        else if (has && !strcmp(a, "--hosts")) {
            snprintf(hosts_buf, sizeof hosts_buf, "%s", argv[++i]);
            nhosts = tnet_split(hosts_buf, hosts, JK_DEVNET_TESTNET_MAX);
        } else if (has && !strcmp(a, "--rpc-hosts")) {
            snprintf(rpc_buf, sizeof rpc_buf, "%s", argv[++i]);
            nrpc = tnet_split(rpc_buf, rpc_hosts, JK_DEVNET_TESTNET_MAX);
        } else if (has && !strcmp(a, "--perturb")) {
            jk_diag d = {{0}};
            if (jk_devnet_perturb_parse(argv[++i], pt, JK_DEVNET_TESTNET_MAX_PERTURB, &o.perturb_count, &d) != JK_OK)
                return fprintf(stderr, "jark testnet: --perturb: %s\n", d.msg), JK_EXIT_USAGE;
            o.perturb = pt;
        } else
            return fprintf(stderr, "jark testnet: unknown option %s\n%s", a, tnet_usage), JK_EXIT_USAGE;
    }
    if (o.netns_prefix && (nhosts != v || nrpc != v))
        return fprintf(stderr, "jark testnet: --netns needs --hosts and --rpc-hosts with %llu addresses each\n",
                       (unsigned long long)v),
               JK_EXIT_USAGE;
    o.node_exe = "/proc/self/exe";
    o.validators = (uint32_t)v;
    o.blocks = blocks;
    /* The default warm-up: the bench's pipeline (16 batches of 256) holds
     * ~0.7 s of commits, 3–4 heights; 10 leaves room (docs/bench.md "The
     * sustained window, session 16"). Without a workload nothing fills. */
    o.warmup = warmup != UINT64_MAX ? warmup : !o.spec_path && per_block ? 10 : 0;
    o.bound_ms = bench ? 500 : 0;
    o.events_per_batch = (uint32_t)per_block;
    o.in_flight = (uint32_t)in_flight;
    o.accounts = (uint32_t)accounts;
    o.hosts = hosts;
    o.rpc_hosts = rpc_hosts;
    o.stop = &tnet_stop;
    o.on_height = tnet_on_height;
    o.on_note = tnet_on_note;
    struct sigaction sa = {.sa_handler = tnet_on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    jk_devnet_testnet_result r;
    int rc = jk_devnet_testnet_run(&o, &r);
    if (rc == 2)
        return fprintf(stderr, "jark testnet: %s\n%s", r.reason, tnet_usage), JK_EXIT_USAGE;
    printf("summary: %llu heights in %.1f s, %llu events (%.1f events/s), %s finality p50 %llu ms p99 %llu ms, "
           "rounds/height %.2f, nodes %s (common height %llu, highest %llu); measured heights %llu..%llu "
           "after %llu warm-up (whole run: %llu heights in %.1f s, %llu events, %.1f events/s)\n",
           (unsigned long long)r.heights, r.seconds, (unsigned long long)r.events,
           r.seconds > 0 ? (double)r.events / r.seconds : 0.0, r.event_finality ? "event" : "block",
           (unsigned long long)r.p50_ms, (unsigned long long)r.p99_ms, r.rounds_per_height,
           r.agree ? "agree on every block" : "DISAGREE", (unsigned long long)r.common,
           (unsigned long long)r.top, (unsigned long long)r.window_from + 1,
           (unsigned long long)(r.window_from + r.heights), (unsigned long long)o.warmup,
           (unsigned long long)r.heights_whole,
           r.seconds_whole, (unsigned long long)r.events_whole,
           r.seconds_whole > 0 ? (double)r.events_whole / r.seconds_whole : 0.0);
    if (r.idle_events)
        printf("idle finality: %u single events after the workload, submit to commit p50 %llu ms "
               "p99 %llu ms\n",
               r.idle_events, (unsigned long long)r.idle_p50_ms, (unsigned long long)r.idle_p99_ms);
    if (bench)
        tnet_bench_line(&o, &r);
    if (r.kept && !o.dir)
        printf("testnet: logs and stores kept in %s\n", r.dir);
    return rc == 0 ? JK_EXIT_OK : JK_EXIT_REFUSED;
}
