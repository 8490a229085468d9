/* bench_work.h — what the two halves of bench_work share: the real workloads
 * of issue 15 (bench_work.c: Ed25519 and BLAKE2b in C; bench_work_demo.c:
 * the demo chain's verify and apply through the kernel). See docs/bench.md. */
#ifndef JK_BENCH_WORK_H
#define JK_BENCH_WORK_H

#include <stdint.h>

/* Print a reason on stderr and exit 1 (every failed check of the bench). */
void jk_work_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* CLOCK_MONOTONIC in seconds. */
double jk_work_now(void);

/* The demo chain's verify and apply on the interpreter and the recompiler:
 * one BENCH line each; their interp/jit speedups in speedup[0] (verify) and
 * speedup[1] (apply). `rounds` runs of each, the best kept. */
void jk_work_demo(int rounds, double speedup[2]);

/* The same runs without the BENCH lines: per workload w (0 verify of every
 * transfer, 1 apply of their block), the invocations, the gas they were
 * charged in all and their time in all (jk_work_now's clock) on the
 * interpreter (e = 0) and the recompiler (e = 1). bench_adversary.c takes
 * its "typical" host time per gas from them. */
typedef struct jk_work_demo_fig {
    uint32_t invocations[2];
    int64_t gas[2];
    double seconds[2][2];
} jk_work_demo_fig;
void jk_work_demo_measure(int rounds, jk_work_demo_fig *fig);

#endif
