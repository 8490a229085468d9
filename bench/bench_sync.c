/*
 * bench_sync.c — BENCH sync (issue 13): blocks per second when a fresh
 * `jark node` (a full node, empty store) syncs a chain from a peer over
 * loopback, next to importing the same blocks through the library without
 * a network (ratio).
 *
 * 1. `jark testnet --validators 4 --blocks N --events-per-block E --dir D`
 *    makes a demo chain of N+ blocks of signed transfers (D/node-I, D/key-I).
 * 2. The network run: validator 0 restarts on its store with --max-height 1
 *    (it makes no block; it answers sync requests from its archive), and a
 *    full node with an empty store dials it. Timed from the full node's
 *    first RPC answer (its genesis is built, its loop runs) to its status
 *    reaching the source's height, polled every 5 ms; the blocks it had
 *    before that first answer are not counted.
 * 3. The local run, in this process: the source's chain app (validator 0's
 *    store, opened once the process is gone) hands each block and its
 *    certificate to a fresh full node's chain app, which does what a full
 *    node does with a DECISION (follow.c): the certificate checked under the
 *    genesis validator set (jk_node_chain_app_cert_check, as follow.c
 *    checks it), valid (check_block on the head), commit
 *    (archive + head), in store batches of 64 heights as follow.c commits
 *    while a peer is ahead. Timed around the loop and the last batch's end.
 *
 * ratio = network / local: the part of local import speed the network
 * path keeps (requests, frames, QUIC, decoding, RPC polling granularity).
 *
 * What the store costs (docs/bench.md "The store's cost per height"):
 * BENCH sync_io (bytes written per block, /proc/PID/io; disk syncs per block
 * of the local import), sync_objects (objects written per block by kind),
 * sync_cpu (the local import's CPU per block). BENCH_SYNC_BATCH=N: the
 * local import's batch (64; 0 = one commit per block, as a validator);
 * BENCH_SYNC_STRACE=FILE: the full node under `strace -f -c -o FILE`.
 * BENCH_SYNC_CHAIN=DIR: take the chain from DIR (a `jark testnet --dir`
 * of an earlier run, kept) instead of making one; with
 * BENCH_SYNC_LOCAL_ONLY=1 only the local import runs (for callgrind: the
 * import's instruction counts without the testnet's).
 *
 *   bench_sync JARK [N [E]]
 */
#define _GNU_SOURCE
#include "jark/devnet.h"
#include "jark/node.h"
#include "jark/rpc.h"
#include "jark/sdk.h"
#include "jark/spec.h"
#include "../tests/node/node_util.h"

#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BS_VALIDATORS 4
#define BS_LIMIT_MS 600000

/* write_bytes of /proc/PID/io ("self" for this process): the bytes a
 * process caused to be sent to the block device; -1 when unreadable. */
static long long bs_write_bytes(const char *pid)
{
    char path[64], line[128];
    snprintf(path, sizeof path, "/proc/%s/io", pid);
    FILE *f = fopen(path, "r");
    long long v = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "write_bytes: %lld", &v) == 1)
            break;
    if (f)
        fclose(f);
    return v;
}

/* CPU seconds process pid has run so far (its threads' time on a CPU,
 * the first field of /proc/PID/schedstat, in ns); -1 when unreadable. */
static double bs_proc_cpu(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/schedstat", (int)pid);
    FILE *f = fopen(path, "r");
    unsigned long long ns = 0;
    bool ok = f && fscanf(f, "%llu", &ns) == 1;
    if (f)
        fclose(f);
    return ok ? (double)ns / 1e9 : -1.0;
}

/* this process's CPU seconds, user + system */
static double bs_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static double bs_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static pid_t bs_spawn(const char *const *argv, const char *log)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

static int bs_wait(pid_t pid)
{
    int st = 0;
    if (pid <= 0 || waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void bs_stop(pid_t pid)
{
    if (pid > 0) {
        kill(pid, SIGTERM);
        bs_wait(pid);
    }
}

static int64_t bs_height(uint16_t rpc)
{
    jk_diag d;
    int64_t h = -1;
    if (jk_rpc_status_height("127.0.0.1", rpc, &h, &d) != JK_OK)
        h = -1;
    return h;
}

static void bs_hex(const uint8_t *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
}

/* The local run: blocks 1..top of src into a fresh full node's app. */
static int bs_local(const char *src_dir, const char *dst_dir, const jk_spec_key *key0,
                    const jk_chain_genesis *g, uint64_t top, double *secs, long long *wbytes,
                    uint64_t *syncs, double *cpu_secs)
{
    jk_node_chain_app *src = NULL, *dst = NULL;
    jk_diag diag = {{0}};
    if (jk_node_chain_app_open(src_dir, key0->secret, g, &src, &diag) != JK_OK ||
        jk_node_chain_app_open(dst_dir, NULL, g, &dst, &diag) != JK_OK) {
        fprintf(stderr, "bench_sync: %s\n", diag.msg);
        jk_node_chain_app_close(src);
        return 1;
    }
    jk_cons_app s, d;
    jk_node_chain_app_bind(src, &s);
    jk_node_chain_app_bind(dst, &d);
    int rc = 0;
    jk_cap_store *st = jk_node_chain_app_validator(dst)->store.store;
    /* BENCH_SYNC_BATCH=0: one commit per block (as a validator commits) */
    const char *env_batch = getenv("BENCH_SYNC_BATCH");
    uint64_t batch = env_batch ? strtoull(env_batch, NULL, 10) : 64;
    jk_cap_store_stats s0;
    jk_cap_store_stats_get(st, &s0);
    long long w0 = bs_write_bytes("self");
    double t0 = bs_now(), c0 = bs_cpu();
    for (uint64_t h = 1; h <= top && rc == 0; h++) {
        const uint8_t *v;
        size_t len;
        const jk_cons_cert *cert;
        jk_hash id;
        if (!s.get_decision(s.ctx, h, &v, &len, &cert)) {
            rc = 1;
            break;
        }
        if (batch && (h - 1) % batch == 0 &&
            (jk_cap_store_batch_end(st, &diag) != JK_OK ||
             jk_cap_store_batch_begin(st, &diag) != JK_OK)) {
            rc = 1;
            break;
        }
        d.hash(d.ctx, v, len, &id);
        if (jk_node_chain_app_cert_check(dst, cert, h, &id, &diag) != JK_OK ||
            !d.valid(d.ctx, h, v, len) || d.commit(d.ctx, h, v, len, cert) != JK_OK)
            rc = 1;
    }
    if (rc == 0 && jk_cap_store_batch_end(st, &diag) != JK_OK)
        rc = 1;
    *secs = bs_now() - t0;
    double cpu = bs_cpu() - c0;
    *cpu_secs = cpu;
    jk_cap_store_stats stats;
    jk_cap_store_stats_get(st, &stats);
    *syncs = stats.syncs - s0.syncs;
    static const char *tags[JK_CAP_STORE_TAGS] = {"other", "data", "data_page", "data_node",
                                                  "cnode", "cnode_node", "image", "instance"};
    printf("BENCH sync_objects: local import, batch %llu, objects written per block by kind:",
           (unsigned long long)batch);
    for (int i = 0; i < JK_CAP_STORE_TAGS; i++)
        if (stats.objects[i] > s0.objects[i])
            printf(" %s %.1f (%.0f bytes)", tags[i],
                   (double)(stats.objects[i] - s0.objects[i]) / (double)top,
                   (double)(stats.object_bytes[i] - s0.object_bytes[i]) / (double)top);
    printf("\nBENCH sync_cpu: local import, batch %llu: %.0f us CPU per block (user + system), "
           "%.0f us wall\n",
           (unsigned long long)batch, cpu * 1e6 / (double)top, *secs * 1e6 / (double)top);
    jk_node_chain_app_close(dst);
    dst = NULL;
    *wbytes = bs_write_bytes("self") - w0;
    if (rc)
        fprintf(stderr, "bench_sync: local import failed: %s\n", diag.msg);
    jk_node_chain_app_close(src);
    jk_node_chain_app_close(dst);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_sync JARK [BLOCKS [EVENTS_PER_BLOCK]]\n");
        return 2;
    }
    char jark[PATH_MAX];
    if (!realpath(argv[1], jark)) {
        fprintf(stderr, "bench_sync: %s: not found\n", argv[1]);
        return 2;
    }
    const char *blocks = argc > 2 ? argv[2] : "300", *events = argc > 3 ? argv[3] : "16";
    char dir[] = "/tmp/jark-bench-sync-XXXXXX";
    if (!mkdtemp(dir))
        return 2;
    char chain_dir[PATH_MAX], log[PATH_MAX];
    snprintf(chain_dir, sizeof chain_dir, "%s/chain", dir);
    const char *given = getenv("BENCH_SYNC_CHAIN");
    bool local_only = given && getenv("BENCH_SYNC_LOCAL_ONLY");
    if (given)
        snprintf(chain_dir, sizeof chain_dir, "%s", given);

    /* 1. The chain. */
    snprintf(log, sizeof log, "%s/testnet.log", dir);
    const char *tn[] = {jark, "testnet", "--validators", "4", "--blocks", blocks,
                        "--events-per-block", events, "--dir", chain_dir, NULL};
    if (!given && bs_wait(bs_spawn(tn, log)) != 0) {
        fprintf(stderr, "bench_sync: jark testnet failed (see %s)\n", log);
        return 1;
    }

    /* The keys and the genesis the testnet's nodes used. */
    jk_spec_key keys[BS_VALIDATORS];
    static uint8_t pks[BS_VALIDATORS][32];
    char vhex[BS_VALIDATORS][65];
    jk_diag diag = {{0}};
    for (int i = 0; i < BS_VALIDATORS; i++) {
        char path[PATH_MAX + 16];
        snprintf(path, sizeof path, "%s/key-%d", chain_dir, i);
        if (jk_spec_key_load(path, &keys[i], &diag) != JK_OK) {
            fprintf(stderr, "bench_sync: %s\n", diag.msg);
            return 1;
        }
        memcpy(pks[i], keys[i].public_key, 32);
        bs_hex(keys[i].public_key, 32, vhex[i]);
    }
    const char *sdk = jk_sdk_dir();
    char spec_path[PATH_MAX + 64];
    snprintf(spec_path, sizeof spec_path, "%.*s/../examples/demo/devnet-spec.json", PATH_MAX,
             sdk ? sdk : ".");
    jk_spec_file spec;
    jk_devnet_demo *demo = NULL;
    jk_chain_genesis g;
    if (jk_spec_file_load(spec_path, NULL, &spec, &diag) != JK_OK ||
        jk_devnet_demo_new(1, &demo) != JK_OK) {
        fprintf(stderr, "bench_sync: %s\n", diag.msg);
        return 1;
    }
    spec.spec.validators = (const uint8_t(*)[32])pks;
    spec.spec.validator_count = BS_VALIDATORS;
    jk_devnet_demo_state(demo, &spec.spec);
    jk_err err = jk_chain_genesis_build(&spec.spec, &g, &diag);
    jk_spec_file_free(&spec);
    jk_devnet_demo_free(demo);
    if (err != JK_OK) {
        fprintf(stderr, "bench_sync: genesis: %s\n", diag.msg);
        return 1;
    }

    if (local_only) {
        /* the source's height: its archive's top, read through the library */
        char store[PATH_MAX + 16], ldir[PATH_MAX + 16];
        snprintf(store, sizeof store, "%s/node-0", chain_dir);
        snprintf(ldir, sizeof ldir, "%s/local", dir);
        jk_node_chain_app *a = NULL;
        if (jk_node_chain_app_open(store, keys[0].secret, &g, &a, &diag) != JK_OK) {
            fprintf(stderr, "bench_sync: %s\n", diag.msg);
            return 1;
        }
        uint64_t top = jk_node_chain_app_validator(a)->height;
        jk_node_chain_app_close(a);
        double secs = 0;
        long long wb = -1;
        uint64_t syncs = 0;
        double cpu = 0;
        if (bs_local(store, ldir, &keys[0], &g, top, &secs, &wb, &syncs, &cpu) != 0)
            return 1;
        printf("BENCH sync local: %llu blocks, local import %.0f blocks/s\n",
               (unsigned long long)top, (double)top / secs);
        char cmd[PATH_MAX + 16];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        return system(cmd) == 0 ? 0 : 1;
    }

    /* 2. The network run. */
    uint16_t sport = tn_free_port(SOCK_DGRAM), srpc = tn_free_port(SOCK_STREAM);
    uint16_t fport = tn_free_port(SOCK_DGRAM), frpc = tn_free_port(SOCK_STREAM);
    char key0[PATH_MAX + 16], store0[PATH_MAX + 16], fdir[PATH_MAX + 16], slisten[32], srpcs[32],
        flisten[32], frpcs[32], peer[128];
    snprintf(key0, sizeof key0, "%s/key-0", chain_dir);
    snprintf(store0, sizeof store0, "%s/node-0", chain_dir);
    snprintf(fdir, sizeof fdir, "%s/full", dir);
    snprintf(slisten, sizeof slisten, "127.0.0.1:%u", sport);
    snprintf(srpcs, sizeof srpcs, "127.0.0.1:%u", srpc);
    snprintf(flisten, sizeof flisten, "127.0.0.1:%u", fport);
    snprintf(frpcs, sizeof frpcs, "127.0.0.1:%u", frpc);
    snprintf(peer, sizeof peer, "127.0.0.1:%u@%s", sport, vhex[0]);
    const char *src_argv[] = {jark, "node", "--spec", spec_path, "--key", key0, "--dir", store0,
                              "--listen", slisten, "--rpc", srpcs, "--demo-seed", "1",
                              "--max-height", "1", "--validator", vhex[0], "--validator", vhex[1],
                              "--validator", vhex[2], "--validator", vhex[3], NULL};
    const char *full_argv[] = {jark, "node", "--spec", spec_path, "--dir", fdir, "--listen",
                               flisten, "--rpc", frpcs, "--demo-seed", "1", "--peer", peer,
                               "--validator", vhex[0], "--validator", vhex[1], "--validator",
                               vhex[2], "--validator", vhex[3], NULL};
    snprintf(log, sizeof log, "%s/source.log", dir);
    pid_t src = bs_spawn(src_argv, log);
    int64_t top = -1;
    for (double t0 = bs_now(); top < 0 && bs_now() - t0 < BS_LIMIT_MS / 1000.0; usleep(20000))
        top = bs_height(srpc);
    snprintf(log, sizeof log, "%s/full.log", dir);
    /* BENCH_SYNC_STRACE=FILE: the full node under `strace -f -c` (its
     * fdatasync / fsync / pwrite counts in FILE; the timing is then off). */
    const char *trace = getenv("BENCH_SYNC_STRACE");
    const char *traced[64] = {"/usr/bin/strace", "-f", "-c", "-o", trace};
    for (size_t i = 0; trace && full_argv[i]; i++)
        traced[5 + i] = full_argv[i];
    pid_t full = top > 0 ? bs_spawn(trace ? traced : full_argv, log) : -1;
    double start = 0, end = 0, cpu_start = -1, cpu_end = -1;
    int64_t h = -1, h0 = -1;
    for (double t0 = bs_now(); full > 0 && h < top && bs_now() - t0 < BS_LIMIT_MS / 1000.0;
         usleep(5000)) {
        h = bs_height(frpc);
        if (h >= 0 && h0 < 0) {
            start = bs_now();
            cpu_start = bs_proc_cpu(full);
            h0 = h; /* blocks taken before the first answer are not counted */
        }
    }
    end = bs_now();
    cpu_end = bs_proc_cpu(full);
    char fpid[24];
    snprintf(fpid, sizeof fpid, "%d", (int)full);
    long long net_bytes = trace ? -1 : bs_write_bytes(fpid);
    bs_stop(full);
    bs_stop(src);
    if (top <= 0 || h < top) {
        fprintf(stderr, "bench_sync: the full node reached %lld of %lld (see %s)\n", (long long)h,
                (long long)top, dir);
        return 1;
    }
    double net = (double)(top - h0) / (end - start);

    /* 3. The local run. */
    double secs = 0;
    long long local_bytes = -1;
    uint64_t local_syncs = 0;
    char ldir[PATH_MAX + 16];
    snprintf(ldir, sizeof ldir, "%s/local", dir);
    double local_cpu = 0;
    if (bs_local(store0, ldir, &keys[0], &g, (uint64_t)top, &secs, &local_bytes, &local_syncs,
                 &local_cpu) != 0)
        return 1;
    double local = (double)top / secs;
    printf("BENCH sync: %lld blocks (%s transfers each, 4 validators): a fresh jark node syncs "
           "%.0f blocks/s over loopback QUIC (timed from height %lld), local import through the "
           "library %.0f blocks/s, ratio %.2f\n",
           (long long)top, events, net, (long long)h0, local, net / local);
    printf("BENCH sync_io: bytes written per block: full node %.0f (the whole process), local "
           "import %.0f; local import disk syncs per block %.3f\n",
           net_bytes < 0 ? -1.0 : (double)net_bytes / (double)top,
           local_bytes < 0 ? -1.0 : (double)local_bytes / (double)top,
           (double)local_syncs / (double)top);
    /* CPU per block: what the machine's load does not change much (the
     * full node's whole process over the timed heights, against the local
     * import's) */
    if (cpu_start >= 0 && cpu_end >= cpu_start && top > h0)
        printf("BENCH sync_cpu_ratio: full node %.0f us CPU per block, local import %.0f, "
               "ratio (local / full node) %.2f\n",
               (cpu_end - cpu_start) * 1e6 / (double)(top - h0), local_cpu * 1e6 / (double)top,
               local_cpu / ((cpu_end - cpu_start) / (double)(top - h0) * (double)top));
    for (int i = 0; i < BS_VALIDATORS; i++)
        jk_crypto_wipe(&keys[i], sizeof keys[i]);
    jk_cap_release(g.chain);
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : 1;
}
