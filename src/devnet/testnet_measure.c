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

/* The machine's idle share of CPU time since jk_devnet_tnet_cpu_mark, -1 when
 * /proc/stat could not be read: with the nodes' CPU it tells nodes that
 * wait on each other (the machine idles too) from nodes that wait for
 * cores other work holds (it does not). */
double jk_devnet_tnet_host_idle_since(const jk_tnet *t)
{
    uint64_t total, idle;
    if (!t->host_read || !jk_tnet_host_cpu(&total, &idle) || total <= t->host_total ||
        idle < t->host_idle)
        return -1.0;
    return (double)(idle - t->host_idle) / (double)(total - t->host_total);
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

/* Where the nodes' wall time went since jk_devnet_tnet_cpu_mark, as shares of
 * (nodes × wall): on a core, runnable but waiting for one (other work
 * held the cores), and the rest asleep (waiting on each other, the
 * workload, the disk); summed over every thread of a node (s[0..2]), and
 * of its loop thread alone (s[3..5]), and the other threads' time on a
 * core (s[6]). Only nodes running since the mark count; -1 unread. */
void jk_devnet_tnet_sched_since(const jk_tnet *t, double s[7])
{
    uint64_t wall = (jk_devnet_tnet_ms() - t->sched_ms) * 1000000u, r = 0, q = 0, lr = 0, lq = 0,
             nodes = 0;
    for (int k = 0; k < 7; k++)
        s[k] = -1.0;
    for (uint32_t i = 0; i < t->v; i++) {
        uint64_t a, b, loop[2];
        if (!t->pid[i] || t->pid[i] != t->cpu_pid[i] || !t->sched_read[i] ||
            !jk_tnet_sched(t->pid[i], &a, &b, loop))
            continue;
        r += a > t->sched_from[i][0] ? a - t->sched_from[i][0] : 0;
        q += b > t->sched_from[i][1] ? b - t->sched_from[i][1] : 0;
        lr += loop[0] > t->loop_from[i][0] ? loop[0] - t->loop_from[i][0] : 0;
        lq += loop[1] > t->loop_from[i][1] ? loop[1] - t->loop_from[i][1] : 0;
        nodes++;
    }
    if (!nodes || !wall)
        return;
    jk_tnet_shares(r, q, wall * nodes, &s[0], &s[1], &s[2]);
    jk_tnet_shares(lr, lq, wall * nodes, &s[3], &s[4], &s[5]);
    s[6] = (double)(r > lr ? r - lr : 0) / (double)(wall * nodes);
}

/* Note every running node's CPU time and frame counters now (the watch
 * begins). */
void jk_devnet_tnet_cpu_mark(jk_tnet *t)
{
    t->host_read = jk_tnet_host_cpu(&t->host_total, &t->host_idle);
    t->sched_ms = jk_devnet_tnet_ms();
    for (uint32_t i = 0; i < t->v; i++) {
        t->sched_read[i] = t->pid[i] && jk_tnet_sched(t->pid[i], &t->sched_from[i][0],
                                                      &t->sched_from[i][1], t->loop_from[i]);
        t->cpu_pid[i] = t->pid[i];
        t->cpu_from[i] = t->pid[i] ? jk_tnet_cpu_ticks(t->pid[i]) : 0;
        if (!jk_tnet_net_out(t, i, t->net_from[i]))
            memset(t->net_from[i], 0, sizeof t->net_from[i]);
    }
}

/* The frames and bytes the nodes queued to peers, and the Ed25519 checks
 * they made, since jk_devnet_tnet_cpu_mark (a node started since counts
 * from its start). */
void jk_devnet_tnet_net_since(const jk_tnet *t, double *frames, double *bytes, double *events,
                              double *verifies)
{
    *frames = *bytes = *events = *verifies = 0;
    for (uint32_t i = 0; i < t->v; i++) {
        double v[4];
        if (!jk_tnet_net_out(t, i, v))
            continue;
        bool same = t->pid[i] == t->cpu_pid[i];
        *frames += v[0] - (same ? t->net_from[i][0] : 0);
        *bytes += v[1] - (same ? t->net_from[i][1] : 0);
        *events += v[2] - (same ? t->net_from[i][2] : 0);
        *verifies += v[3] - (same ? t->net_from[i][3] : 0);
    }
}

/* The nodes' CPU seconds since jk_devnet_tnet_cpu_mark (a node started since
 * counts from its start: its compile included, a killed one's time lost). */
double jk_devnet_tnet_cpu_since(const jk_tnet *t)
{
    uint64_t ticks = 0;
    for (uint32_t i = 0; i < t->v; i++) {
        if (!t->pid[i])
            continue;
        uint64_t now = jk_tnet_cpu_ticks(t->pid[i]);
        uint64_t from = t->pid[i] == t->cpu_pid[i] ? t->cpu_from[i] : 0;
        ticks += now > from ? now - from : 0;
    }
    long hz = sysconf(_SC_CLK_TCK);
    return (double)ticks / (double)(hz > 0 ? hz : 100);
}

uint32_t jk_devnet_tnet_block_source(const int64_t *heights, uint32_t v, uint64_t at, uint32_t best)
{
    for (uint32_t i = 0; i < v; i++)
        if (heights[i] >= 0 && (uint64_t)heights[i] == at)
            return i;
    return best;
}
