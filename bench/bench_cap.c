/*
 * bench_cap.c — the cap layer's benchmarks (`make bench-cap`).
 *
 *   BENCH cap_copy_data_64mib ns_per_copy=<t> small_ns_per_copy=<t> ratio=<big/small> cow_write_us=<t>
 *   BENCH cap_copy_cnode_100k ns_per_copy=<t> small_ns_per_copy=<t> ratio=<big/small> cow_set_us=<t>
 *   BENCH cap_rehash_one_page full_s=<t> incremental_s=<t> ratio=<full/incremental> full_mib_per_s=<r>
 *   BENCH cap_lmdb_commit objects_per_s=<n> objects=<n> one_page_commits_per_s=<n> objects_per_commit=<n>
 *
 * A copy is jk_cap_retain (and the matching release): O(1) whatever the size,
 * so the ratio between a 64 MiB Data and a 4 KiB one (or a CNode tree holding
 * 100,000 caps and a 16-slot CNode) stays near 1. cow_* is the cost of the
 * first change to a shared value (path copy of one page / one slot path).
 * Re-hashing after a one-page write hashes one page and one node per level;
 * the full hash hashes all 16,384 pages. Commits use the store's durable mode
 * (fsync per commit), in the directory given as argv[1].
 */
#include "jark/cap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what, jk_err err)
{
    fprintf(stderr, "bench_cap: %s: %s\n", what, jk_strerror(err));
    exit(1);
}

static void fill(uint8_t *p, size_t n, uint64_t seed)
{
    uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i + 8 <= n; i += 8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        memcpy(p + i, &x, 8);
    }
}

static jk_cap random_data(size_t n, uint64_t seed)
{
    uint8_t *b = malloc(n);
    fill(b, n, seed);
    jk_cap d;
    jk_err err = jk_cap_data_new(b, n, &d);
    if (err != JK_OK)
        die("data_new", err);
    free(b);
    return d;
}

/* Nanoseconds per copy (retain, then release the copy), best of 5 runs. */
static double copy_ns(jk_cap c)
{
    const long n = 2000000;
    double best = 1e9;
    for (int r = 0; r < 5; r++) {
        double t0 = now();
        for (long i = 0; i < n; i++) {
            jk_cap copy = jk_cap_retain(c);
            __asm__ volatile("" : : "r"(copy.body) : "memory");
            jk_cap_release(copy);
        }
        double ns = (now() - t0) * 1e9 / (double)n;
        if (ns < best)
            best = ns;
    }
    return best;
}

static void bench_copy_data(void)
{
    jk_cap big = random_data((size_t)64 << 20, 1), small = random_data(4096, 2), changed;
    double b = copy_ns(big), s = copy_ns(small);
    uint8_t byte = 7;
    double t0 = now();
    jk_err err = jk_cap_data_write(big, (size_t)33 << 20, &byte, 1, &changed);
    double cow = now() - t0;
    if (err != JK_OK)
        die("data_write", err);
    printf("BENCH cap_copy_data_64mib ns_per_copy=%.2f small_ns_per_copy=%.2f ratio=%.2f "
           "cow_write_us=%.2f\n", b, s, b / s, cow * 1e6);
    jk_cap_release(changed);
    jk_cap_release(big);
    jk_cap_release(small);
}

static jk_cap set_or_die(jk_cap c, uint32_t i, jk_cap v)
{
    jk_cap out;
    jk_err err = jk_cap_cnode_set(c, i, v, &out);
    if (err != JK_OK)
        die("cnode_set", err);
    jk_cap_release(c);
    return out;
}

static void bench_copy_cnode(void)
{
    /* 98 CNodes of 1024 slots (and one partial) under a 128-slot root:
     * 100,000 Data caps in all. */
    const uint32_t total = 100000;
    jk_cap root, small;
    jk_cap_cnode_new(7, &root);
    for (uint32_t base = 0; base < total; base += 1024) {
        jk_cap leaf;
        jk_cap_cnode_new(10, &leaf);
        for (uint32_t i = 0; i < 1024 && base + i < total; i++) {
            uint32_t v = base + i;
            jk_cap d;
            jk_cap_data_new(&v, sizeof v, &d);
            leaf = set_or_die(leaf, i, d);
            jk_cap_release(d);
        }
        root = set_or_die(root, base / 1024, leaf);
        jk_cap_release(leaf);
    }
    jk_cap_cnode_new(4, &small);
    double b = copy_ns(root), s = copy_ns(small);
    jk_cap d, changed;
    jk_cap_data_new("x", 1, &d);
    double t0 = now();
    jk_cap inner;
    jk_cap_cnode_set(jk_cap_cnode_get(root, 50), 500, d, &inner);
    jk_cap_cnode_set(root, 50, inner, &changed);
    double cow = now() - t0;
    printf("BENCH cap_copy_cnode_100k ns_per_copy=%.2f small_ns_per_copy=%.2f ratio=%.2f "
           "cow_set_us=%.2f\n", b, s, b / s, cow * 1e6);
    jk_cap caps[] = {root, small, d, inner, changed};
    for (size_t i = 0; i < 5; i++)
        jk_cap_release(caps[i]);
}

static void bench_rehash(void)
{
    size_t n = (size_t)64 << 20;
    jk_cap d = random_data(n, 3);
    jk_hash h;
    double t0 = now();
    jk_cap_hash(d, &h);
    double full = now() - t0;
    /* many one-page writes, each hashed: the average is the incremental cost */
    const int rounds = 2000;
    double inc = 0;
    jk_cap_stats s0, s1;
    jk_cap_stats_get(&s0);
    for (int r = 0; r < rounds; r++) {
        jk_cap next;
        uint8_t b = (uint8_t)r;
        jk_err err = jk_cap_data_write(d, ((size_t)r * 7919 % 16384) * 4096 + 100, &b, 1, &next);
        if (err != JK_OK)
            die("data_write", err);
        double t1 = now();
        jk_cap_hash(next, &h);
        inc += now() - t1;
        jk_cap_release(d);
        d = next;
    }
    jk_cap_stats_get(&s1);
    inc /= rounds;
    printf("BENCH cap_rehash_one_page full_s=%.6f incremental_s=%.9f ratio=%.0f "
           "full_mib_per_s=%.0f pages_per_rehash=%.2f nodes_per_rehash=%.2f\n",
           full, inc, full / inc, 64.0 / full,
           (double)(s1.page_hashes - s0.page_hashes) / rounds,
           (double)(s1.node_hashes - s0.node_hashes) / rounds);
    jk_cap_release(d);
}

static void rmstore(const char *dir)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/data.mdb", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/lock.mdb", dir);
    unlink(p);
    rmdir(dir);
}

static void bench_commit(const char *dir)
{
    rmstore(dir);
    jk_cap_store *st;
    jk_diag diag = {{0}};
    jk_cap_store_options opt = {.map_size = (size_t)1 << 30};
    jk_err err = jk_cap_store_open(dir, &opt, &st, &diag);
    if (err != JK_OK)
        die(diag.msg, err);
    /* a fresh 16 MiB Data: 4096 pages + 4095 nodes + its root */
    jk_cap d = random_data((size_t)16 << 20, 4);
    jk_hash h;
    jk_cap_hash(d, &h); /* measure the store, not the hashing */
    uint64_t written = 0;
    double t0 = now();
    if ((err = jk_cap_store_commit(st, "bench", d, &written, &diag)) != JK_OK)
        die(diag.msg, err);
    double t = now() - t0;
    /* then one-page changes, one durable commit each */
    const int commits = 100;
    uint64_t small_written = 0;
    double t1 = now();
    for (int c = 0; c < commits; c++) {
        jk_cap next;
        uint8_t b = (uint8_t)c;
        jk_cap_data_write(d, (size_t)c * 40 * 4096, &b, 1, &next);
        jk_cap_release(d);
        d = next;
        uint64_t w = 0;
        if ((err = jk_cap_store_commit(st, "bench", d, &w, &diag)) != JK_OK)
            die(diag.msg, err);
        small_written += w;
    }
    double tc = now() - t1;
    printf("BENCH cap_lmdb_commit objects_per_s=%.0f objects=%llu one_page_commits_per_s=%.0f "
           "objects_per_commit=%.1f\n", (double)written / t, (unsigned long long)written,
           commits / tc, (double)small_written / commits);
    jk_cap_release(d);
    jk_cap_store_close(st);
    rmstore(dir);
}

int main(int argc, char **argv)
{
    if (jk_crypto_init() != JK_OK)
        die("crypto init", JK_ERR_CRYPTO_INIT);
    const char *dir = argc > 1 ? argv[1] : "/tmp/jk_bench_cap_store";
    bench_copy_data();
    bench_copy_cnode();
    bench_rehash();
    bench_commit(dir);
    return 0;
}
