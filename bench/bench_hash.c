/*
 * bench_hash.c — BENCH blake2b_<size> (docs/bench.md "Hashing, session 10"):
 * jark's BLAKE2b-256 next to libsodium's crypto_generichash in the same run,
 * per message size: one message at a time (jk_crypto_blake2b256) and four
 * at once (jk_crypto_blake2b256_x4, per message), each as ns a hash and as
 * a ratio to libsodium's (below 1: jark is faster). Every digest is
 * compared with libsodium's first (exit 1 on a difference).
 *
 *   bench_hash [--once [SIZE]]
 *
 * --once: one short pass of each loop, for callgrind: each implementation
 * runs in its own function (bh_sodium, bh_own, bh_x4), so their inclusive
 * instruction counts divided by BH_ONCE are instructions a hash; SIZE: that
 * message size alone.
 */
#define _GNU_SOURCE
#include "jark/crypto.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BH_MAX 4096
#define BH_ONCE 1000

static uint8_t bh_msg[4][BH_MAX];

static double bh_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Each loop chains its digests into the next message's first bytes, so no
 * iteration can be skipped or overlapped away. */
__attribute__((noinline)) static void bh_sodium(size_t len, long n, jk_hash *out)
{
    for (long i = 0; i < n; i++) {
        crypto_generichash(out->bytes, JK_HASH_SIZE, bh_msg[0], len, NULL, 0);
        bh_msg[0][0] ^= out->bytes[0];
    }
}

__attribute__((noinline)) static void bh_own(size_t len, long n, jk_hash *out)
{
    for (long i = 0; i < n; i++) {
        jk_crypto_blake2b256(bh_msg[0], len, out);
        bh_msg[0][0] ^= out->bytes[0];
    }
}

__attribute__((noinline)) static void bh_x4(size_t len, long n, jk_hash out[4])
{
    const void *p[4] = {bh_msg[0], bh_msg[1], bh_msg[2], bh_msg[3]};
    size_t l[4] = {len, len, len, len};
    for (long i = 0; i < n; i += 4) {
        jk_crypto_blake2b256_x4(p, l, out);
        bh_msg[0][0] ^= out[0].bytes[0];
    }
}

int main(int argc, char **argv)
{
    bool once = argc > 1 && !strcmp(argv[1], "--once");
    size_t only = once && argc > 2 ? (size_t)strtoul(argv[2], NULL, 10) : 0;
    if (only > BH_MAX) {
        fprintf(stderr, "bench_hash: SIZE at most %d\n", BH_MAX);
        return 2;
    }
    if (jk_crypto_init() != JK_OK)
        return 1;
    for (int l = 0; l < 4; l++)
        for (int i = 0; i < BH_MAX; i++)
            bh_msg[l][i] = (uint8_t)(i * 131 + l * 7 + 1);
    static const size_t all[] = {32, 41, 65, 128, 133, 256, 1024, 4096};
    const size_t *sizes = only ? &only : all;
    size_t nsizes = only ? 1 : sizeof all / sizeof all[0];
    for (size_t s = 0; s < nsizes; s++) {
        size_t len = sizes[s];
        /* the same digests first */
        jk_hash a, b, x[4];
        crypto_generichash(a.bytes, JK_HASH_SIZE, bh_msg[0], len, NULL, 0);
        jk_crypto_blake2b256(bh_msg[0], len, &b);
        const void *p[4] = {bh_msg[0], bh_msg[1], bh_msg[2], bh_msg[3]};
        size_t l[4] = {len, len, len, len};
        jk_crypto_blake2b256_x4(p, l, x);
        if (memcmp(a.bytes, b.bytes, JK_HASH_SIZE) || memcmp(a.bytes, x[0].bytes, JK_HASH_SIZE)) {
            fprintf(stderr, "bench_hash: digests differ at %zu bytes\n", len);
            return 1;
        }
        long n = once ? BH_ONCE : (long)(4000000 / (len + 64)) * 4;
        double best[3] = {1e30, 1e30, 1e30};
        for (int r = 0; r < (once ? 1 : 5); r++) {
            double t0 = bh_now();
            bh_sodium(len, n, &a);
            double t1 = bh_now();
            bh_own(len, n, &b);
            double t2 = bh_now();
            bh_x4(len, n, x);
            double t3 = bh_now();
            double d[3] = {t1 - t0, t2 - t1, t3 - t2};
            for (int k = 0; k < 3; k++)
                if (d[k] < best[k])
                    best[k] = d[k];
        }
        printf("BENCH blake2b_%zu bytes=%zu sodium_ns=%.1f jark_ns=%.1f x4_ns=%.1f ratio=%.3f x4_ratio=%.3f%s\n",
               len, len, best[0] / n, best[1] / n, best[2] / n, best[1] / best[0], best[2] / best[0],
               once ? " (once)" : "");
    }
    return 0;
}
