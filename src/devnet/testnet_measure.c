/*
 * testnet_measure.c — what `jark testnet` measures besides the chain: the
 * Ed25519 bound's verify rate, the nodes' CPU time, run queue and sleep
 * (/proc/PID/stat, schedstat), the host's idle share (/proc/stat) and the
 * frames the nodes sent (their metrics). Split from testnet.c by concern;
 * docs/bench.md "BENCH testnet" defines each figure.
 */
#include "testnet_internal.h"

#include "jark/bytes.h"

#include <dirent.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double jk_tnet_cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The bound's triples: distinct keys, messages and signatures, made before
 * any timing. */
#define JK_TNET_BOUND_SIGS 4096u

typedef struct jk_tnet_sig {
    uint8_t pk[32], msg[32], sig[64];
} jk_tnet_sig;

/* Verifies of sigs[0..n) round-robin (n = 1: the one signature again and
 * again) for at least ms: per second of wall time, *per_cpu_s per second of
 * the thread's CPU. */
static double jk_tnet_verify_rate(const jk_tnet_sig *sigs, size_t n, uint32_t ms, double *per_cpu_s)
{
    uint64_t t0 = jk_devnet_tnet_ms(), count = 0;
    double c0 = jk_tnet_cpu_now();
    size_t at = 0;
    while (jk_devnet_tnet_ms() - t0 < ms || count < 100) {
        for (int k = 0; k < 100; k++) {
            (void)jk_crypto_ed25519_verify(sigs[at].pk, sigs[at].msg, sizeof sigs[at].msg, sigs[at].sig);
            at = at + 1 < n ? at + 1 : 0;
        }
        count += 100;
    }
    uint64_t dt = jk_devnet_tnet_ms() - t0;
    double dc = jk_tnet_cpu_now() - c0;
    *per_cpu_s = dc > 0 ? (double)count / dc : 0.0;
    return (double)count * 1000.0 / (double)(dt ? dt : 1);
}

double jk_devnet_ed25519_verifies_per_s(uint32_t ms, double *per_cpu_s, double *same_sig_per_s)
{
    /* What the nodes verify: distinct valid signatures under distinct keys
     * (session 11). libsodium's verify is variable-time, and one signature
     * verified over and over trains its branches perfectly: 23.2 k/s here
     * against 21.8 k/s over 4,096 distinct triples. The one-signature figure
     * is kept beside it (*same_sig_per_s) for continuity with earlier runs. */
    jk_tnet_sig *sigs = malloc(JK_TNET_BOUND_SIGS * sizeof *sigs);
    size_t n = sigs ? JK_TNET_BOUND_SIGS : 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t seed[32] = {7}, sk[64];
        jk_put_u32le(seed + 1, (uint32_t)i);
        jk_crypto_ed25519_keypair_from_seed(seed, sigs[i].pk, sk);
        memset(sigs[i].msg, 0, sizeof sigs[i].msg);
        jk_put_u32le(sigs[i].msg, (uint32_t)i);
        jk_crypto_ed25519_sign(sk, sigs[i].msg, sizeof sigs[i].msg, sigs[i].sig);
        jk_crypto_wipe(sk, sizeof sk);
    }
    double cpu = 0, same_cpu = 0, rate = 0;
    if (n)
        rate = jk_tnet_verify_rate(sigs, n, ms, &cpu);
    if (n && !same_sig_per_s) { /* the one-signature figure not asked for: not measured */
        free(sigs);
        if (per_cpu_s)
            *per_cpu_s = cpu;
        return rate;
    }
    jk_tnet_sig one;
    if (n)
        one = sigs[0];
    else { /* no memory for the triples: the one signature for both */
        uint8_t seed[32] = {7}, sk[64];
        jk_crypto_ed25519_keypair_from_seed(seed, one.pk, sk);
        memset(one.msg, 1, sizeof one.msg);
        jk_crypto_ed25519_sign(sk, one.msg, sizeof one.msg, one.sig);
        jk_crypto_wipe(sk, sizeof sk);
    }
    double same = jk_tnet_verify_rate(&one, 1, ms, &same_cpu);
    free(sigs);
    if (!n) {
        rate = same;
        cpu = same_cpu;
    }
    if (per_cpu_s)
        *per_cpu_s = cpu;
    if (same_sig_per_s)
        *same_sig_per_s = same;
    return rate;
}

double jk_devnet_ed25519_bound_rate(double before, double after)
{
    /* The higher: a sample taken while other work held the core reads low,
     * and a low rate would flatter the ratio against it. */
    return before > after ? before : after > 0 ? after : 0.0;
}

/* A process's own CPU time (user + system, not its children's: a node's
 * clang compiles at start are not the workload's) in clock ticks, from
 * /proc/PID/stat; 0 when it cannot be read. */
static uint64_t jk_tnet_cpu_ticks(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = 0;
    /* after the command's ')': state is field 3, utime 14, stime 15 */
    const char *p = strrchr(buf, ')');
    unsigned long long ut = 0, st = 0;
    if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return 0;
    return ut + st;
}

bool jk_devnet_tnet_host_cpu_parse(const char *text, uint64_t *total, uint64_t *idle)
{
    *total = *idle = 0;
    if (!text || strncmp(text, "cpu ", 4) != 0)
        return false;
    /* user nice system idle iowait irq softirq steal (guest guest_nice are
     * counted in user and nice already) */
    unsigned long long v[8] = {0};
    int n = sscanf(text + 4, "%llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                   &v[4], &v[5], &v[6], &v[7]);
    if (n < 4)
        return false;
    for (int k = 0; k < n; k++)
        *total += v[k];
    *idle = v[3] + (n > 4 ? v[4] : 0);
    return true;
}

/* The machine's CPU ticks now (every core, every process). */
static bool jk_tnet_host_cpu(uint64_t *total, uint64_t *idle)
{
    char buf[512];
    FILE *f = fopen("/proc/stat", "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = 0;
    return jk_devnet_tnet_host_cpu_parse(buf, total, idle);
}

bool jk_devnet_tnet_metric_parse(const char *text, const char *name, double *out)
{
    size_t n = strlen(name);
    for (const char *line = text; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
        if (strncmp(line, name, n) != 0 || line[n] != ' ')
            continue;
        char *end;
        double v = strtod(line + n + 1, &end);
        if (end == line + n + 1)
            return false;
        *out = v;
        return true;
    }
    return false;
}

/* Node i's jark_net_frames_out, jark_net_bytes_out,
 * jark_net_event_frames_out and jark_ed25519_verifies_total (its /metrics
 * page); false when it does not answer with all four. */
static bool jk_tnet_net_out(const jk_tnet *t, uint32_t i, double v[4])
{
    int status = 0;
    char *page = NULL;
    size_t len = 0;
    bool ok = t->pid[i] &&
              jk_rpc_http(t->rpc_host[i], t->rpc[i], "GET", "/metrics", NULL, 0, &status, &page,
                          &len, NULL) == JK_OK &&
              status == 200 && jk_devnet_tnet_metric_parse(page, "jark_net_frames_out", &v[0]) &&
              jk_devnet_tnet_metric_parse(page, "jark_net_bytes_out", &v[1]) &&
              jk_devnet_tnet_metric_parse(page, "jark_net_event_frames_out", &v[2]) &&
              jk_devnet_tnet_metric_parse(page, "jark_ed25519_verifies_total", &v[3]);
    free(page);
    return ok;
}

bool jk_devnet_tnet_schedstat_parse(const char *text, uint64_t *run_ns, uint64_t *wait_ns)
{
    unsigned long long r = 0, q = 0;
    *run_ns = *wait_ns = 0;
    if (!text || sscanf(text, "%llu %llu", &r, &q) != 2)
        return false;
    *run_ns = r;
    *wait_ns = q;
    return true;
}

/* A process's time on a core and waiting in a run queue, summed over its
 * threads (/proc/PID/task/TID/schedstat, ns), and its main thread's alone
 * (loop[0], loop[1]: a node's loop thread is the process's first); false
 * when unreadable. */
static bool jk_tnet_sched(pid_t pid, uint64_t *run_ns, uint64_t *wait_ns, uint64_t loop[2])
{
    char path[96];
    *run_ns = *wait_ns = loop[0] = loop[1] = 0;
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return false;
    bool any = false;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.')
            continue;
        char file[128], buf[128];
        snprintf(file, sizeof file, "/proc/%d/task/%.20s/schedstat", (int)pid, e->d_name);
        FILE *f = fopen(file, "r");
        size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
        if (f)
            fclose(f);
        buf[n] = 0;
        uint64_t r, q;
        if (jk_devnet_tnet_schedstat_parse(buf, &r, &q)) {
            *run_ns += r;
            *wait_ns += q;
            if (atol(e->d_name) == (long)pid) {
                loop[0] = r;
                loop[1] = q;
            }
            any = true;
        }
    }
    closedir(d);
    return any;
}

/* The shares of (nodes x wall) a run's nanoseconds on a core and in a run
 * queue make, and the rest (asleep), clamped at 0. */
static void jk_tnet_shares(uint64_t r, uint64_t q, uint64_t denom, double *run, double *runq,
                           double *sleep)
{
    *run = (double)r / (double)denom;
    *runq = (double)q / (double)denom;
    *sleep = 1.0 - *run - *runq;
    if (*sleep < 0)
        *sleep = 0;
}

void jk_devnet_tnet_snap_net(const jk_tnet *t, jk_tnet_snap *s)
{
    for (uint32_t i = 0; i < t->v; i++) {
        s->net_read[i] = jk_tnet_net_out(t, i, s->net[i]);
        if (!s->net_read[i])
            memset(s->net[i], 0, sizeof s->net[i]);
    }
    uint64_t refused;
    jk_devnet_tnet_wl_counts(t->wl, &s->admitted, &refused);
}

void jk_devnet_tnet_snap_take(const jk_tnet *t, jk_tnet_snap *s)
{
    memset(s, 0, sizeof *s);
    s->host_read = jk_tnet_host_cpu(&s->host_total, &s->host_idle);
    s->ms = jk_devnet_tnet_ms();
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        s->driver_cpu_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                          (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    for (uint32_t i = 0; i < t->v; i++) {
        s->pid[i] = t->pid[i];
        s->pool[i] = -1;
        if (!t->pid[i])
            continue;
        s->sched_read[i] = jk_tnet_sched(t->pid[i], &s->sched[i][0], &s->sched[i][1], s->loop[i]);
        s->cpu_ticks[i] = jk_tnet_cpu_ticks(t->pid[i]);
    }
    /* The pools after the CPU: reading them takes a round trip each */
    for (uint32_t i = 0; i < t->v; i++) {
        int64_t h, peers;
        if (t->pid[i] && !jk_devnet_tnet_status(t, i, &h, &peers, &s->pool[i]))
            s->pool[i] = -1;
    }
    jk_devnet_tnet_snap_net(t, s);
}

jk_devnet_height_phase jk_devnet_tnet_phase(uint64_t at, bool up, uint64_t up_hi, bool in_window,
                                            uint64_t win_hi)
{
    if (!up || at <= up_hi)
        return JK_DEVNET_HEIGHT_BEFORE;
    return !in_window || at <= win_hi ? JK_DEVNET_HEIGHT_WARMUP : JK_DEVNET_HEIGHT_WINDOW;
}

void jk_devnet_tnet_figures(const jk_tnet_snap *from, const jk_tnet_snap *to, uint32_t v, long hz,
                            jk_tnet_figs *f)
{
    memset(f, 0, sizeof *f);
    f->seconds = to->ms > from->ms ? (double)(to->ms - from->ms) / 1000.0 : 0.0;
    f->driver_cpu_s = to->driver_cpu_s > from->driver_cpu_s ? to->driver_cpu_s - from->driver_cpu_s : 0.0;
    f->admitted = to->admitted > from->admitted ? to->admitted - from->admitted : 0;

    /* The machine's idle share: with the nodes' CPU it tells nodes that
     * wait on each other (the machine idles too) from nodes that wait for
     * cores other work holds (it does not). */
    f->host_idle = -1.0;
    if (from->host_read && to->host_read && to->host_total > from->host_total &&
        to->host_idle >= from->host_idle)
        f->host_idle = (double)(to->host_idle - from->host_idle) /
                       (double)(to->host_total - from->host_total);
    uint64_t ticks = 0, r = 0, q = 0, lr = 0, lq = 0, nodes = 0;
    for (uint32_t i = 0; i < v; i++) {
        f->pool_from += from->pid[i] && from->pool[i] > 0 ? from->pool[i] : 0;
        f->pool_to += to->pid[i] && to->pool[i] > 0 ? to->pool[i] : 0;
        if (!to->pid[i])
            continue; /* not running at the end: a killed node's time is lost */
        bool same = to->pid[i] == from->pid[i]; /* else started since: from its start */
        uint64_t c0 = same ? from->cpu_ticks[i] : 0;
        ticks += to->cpu_ticks[i] > c0 ? to->cpu_ticks[i] - c0 : 0;
        double d[4] = {0, 0, 0, 0};
        for (int k = 0; k < 4 && to->net_read[i]; k++) {
            d[k] = to->net[i][k] - (same ? from->net[i][k] : 0);
            d[k] = d[k] > 0 ? d[k] : 0;
        }
        f->frames += d[0];
        f->bytes += d[1];
        f->event_frames += d[2];
        f->verifies += d[3];
        if (!same || !from->sched_read[i] || !to->sched_read[i])
            continue;
        const uint64_t *a = to->sched[i], *b = from->sched[i], *la = to->loop[i], *lb = from->loop[i];
        r += a[0] > b[0] ? a[0] - b[0] : 0;
        q += a[1] > b[1] ? a[1] - b[1] : 0;
        lr += la[0] > lb[0] ? la[0] - lb[0] : 0;
        lq += la[1] > lb[1] ? la[1] - lb[1] : 0;
        nodes++;
    }
    f->nodes_cpu_s = (double)ticks / (double)(hz > 0 ? hz : 100);
    /* Where the nodes' wall time went, as shares of (nodes x wall): on a
     * core, runnable but waiting for one (other work held the cores), and
     * the rest asleep (waiting on each other, the workload, the disk). */
    uint64_t wall = (to->ms > from->ms ? to->ms - from->ms : 0) * 1000000u;
    for (int k = 0; k < 7; k++)
        f->sched[k] = -1.0;
    if (!nodes || !wall)
        return;
    jk_tnet_shares(r, q, wall * nodes, &f->sched[0], &f->sched[1], &f->sched[2]);
    jk_tnet_shares(lr, lq, wall * nodes, &f->sched[3], &f->sched[4], &f->sched[5]);
    f->sched[6] = (double)(r > lr ? r - lr : 0) / (double)(wall * nodes);
}

uint32_t jk_devnet_tnet_block_source(const int64_t *heights, uint32_t v, uint64_t at, uint32_t best)
{
    for (uint32_t i = 0; i < v; i++)
        if (heights[i] >= 0 && (uint64_t)heights[i] == at)
            return i;
    return best;
}

/* The window's figures (and the whole run's beside them) into r. */
void jk_devnet_tnet_results(const jk_tnet *t, const jk_tnet_snap *up, const jk_tnet_snap *window,
                            const jk_tnet_snap *end, jk_devnet_testnet_result *r)
{
    long hz = sysconf(_SC_CLK_TCK);
    jk_tnet_figs f, whole;
    jk_devnet_tnet_figures(window, end, t->v, hz, &f);
    jk_devnet_tnet_figures(up, end, t->v, hz, &whole);
    r->seconds = f.seconds;
    r->nodes_cpu_seconds = f.nodes_cpu_s;
    r->host_idle = f.host_idle;
    r->nodes_run = f.sched[0];
    r->nodes_runq = f.sched[1];
    r->nodes_sleep = f.sched[2];
    r->loop_run = f.sched[3];
    r->loop_runq = f.sched[4];
    r->loop_sleep = f.sched[5];
    r->others_run = f.sched[6];
    r->net_frames_out = f.frames;
    r->net_bytes_out = f.bytes;
    r->net_event_frames_out = f.event_frames;
    r->ed25519_verifies = f.verifies;
    r->admitted_window = f.admitted;
    r->pool_start = f.pool_from;
    r->pool_end = f.pool_to;
    r->driver_cpu_seconds = f.driver_cpu_s;
    r->seconds_whole = whole.seconds;
    r->nodes_cpu_seconds_whole = whole.nodes_cpu_s;
    r->host_idle_whole = whole.host_idle;
    r->ed25519_verifies_whole = whole.verifies;
}
