/* bench_jit.h — what bench_pvm.c and bench_c.c share to time the PVM
 * recompiler on its own (the compile_us / compile_mb_s fields). */
#ifndef JK_BENCH_JIT_H
#define JK_BENCH_JIT_H

#include "../src/pvm/jit.h"

#include <sys/resource.h>
#include <time.h>

/* Page faults this process has taken so far (minor + major): read around a
 * timed region, it tells whether the region paid first-touch faults. */
static inline long jk_bench_faults(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return ru.ru_minflt + ru.ru_majflt;
}

/* Seconds the recompiler alone takes on prog (best of 5): its code is
 * dropped and compiled again each time, so prog keeps working code. */
static inline double jk_bench_compile_seconds(jk_pvm_program *prog)
{
    double best = 1e30;
    for (int i = 0; i < 5; i++) {
        struct timespec t0, t1;
        jk_pvm_jit_free(prog->jit);
        prog->jit = NULL;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        jk_pvm_jit_compile(prog);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double t = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
        if (t < best)
            best = t;
    }
    return best;
}

#endif
