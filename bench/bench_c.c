/*
 * bench_c.c — the four PVM benchmarks written in C (bench/c/NAME.c), built with
 * the SDK (`jark cc -O2`: clang-19 for RV64EM, then the SDK linker) and run on
 * jark's PVM, next to the very same C compiled natively at -O2.
 *
 * For each:  BENCH c_<name> instructions=<n> pvm_s=<t> native_s=<t>
 *            ratio=<pvm/native> pvm_per_rv=<PVM instructions per RISC-V one>
 * then       BENCH c_geomean ratio=<geometric mean>
 * and for the recompiler, per program
 *            BENCH jit_c_<name> instructions=<n> jit_s=<t> interp_s=<t> native_s=<t>
 *            ratio=<jit/native> speedup=<interp/jit> compile_us=<t> compile_mb_s=<x>
 * closing    BENCH jit_geomean ratio=<r> speedup=<s> programs=<8 with bench_pvm's>
 * instructions = PVM instructions executed (= gas used: each costs 1);
 * pvm_per_rv = static count of the translation (linker statistics).
 * Times: best of 3 (or of RUNS, the optional third argument: more runs are
 * steadier on a loaded machine), only the run (not the build, load or memory
 * set-up).
 * Each PVM result must equal the native one, or the bench fails.
 */
#include "jark/sdk.h"
#include "../src/sdk/linker.h"

#include "jark/pvm.h"
#include "bench_jit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

uint64_t c_sieve(uint64_t n);
uint64_t c_muldiv(uint64_t seed, uint64_t n);
uint64_t c_copy(uint64_t words, uint64_t passes);
uint64_t c_fib(uint64_t n);

static volatile uint64_t jk_arg[4][2] = {
    {10000000, 0}, {0x0123456789ABCDEFull, 5000000}, {(16u << 20) / 8, 8}, {30, 0}};

static volatile uint64_t jk_sink; /* keeps the untimed warm-up run */

typedef struct jk_cbench {
    const char *name;
    int nargs;
} jk_cbench;

static const jk_cbench jk_cbenches[4] = {{"sieve", 1}, {"muldiv", 2}, {"copy", 2}, {"fib", 1}};

static double jk_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The native twins' large arrays (bench/c/place.h: 2 MiB-aligned) get huge
 * pages, as the recompiler's guest arenas of 2 MiB or more do (docs/pvm.md,
 * "Memory (session 9)"; this machine's THP mode is "madvise"), so that a
 * ratio compares code, not page sizes: c_copy's twin ran 4 KiB pages before
 * session 11. The hint covers the executable's zero-initialised data from
 * its first 2 MiB boundary (the linker's __bss_start and _end); the
 * untimed warm-up run then faults them in. */
extern char __bss_start[], _end[];

static void jk_native_huge(void)
{
    const uintptr_t huge = (uintptr_t)2 << 20, page = 4096;
    uintptr_t lo = ((uintptr_t)__bss_start + huge - 1) & ~(huge - 1);
    uintptr_t hi = ((uintptr_t)_end + page - 1) & ~(page - 1);
    if (hi > lo)
        (void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE); /* a hint: without THP, 4 KiB pages on both sides */
}

static uint64_t jk_native(int which)
{
    uint64_t a = jk_arg[which][0], b = jk_arg[which][1];
    switch (which) {
    case 0: return c_sieve(a);
    case 1: return c_muldiv(a, b);
    case 2: return c_copy(a, b);
    default: return c_fib(a);
    }
}

/* One timed PVM run of endpoint 0. Returns the time; result and gas out. */
/* Page faults inside the last timed region (jk_pvm_once or a native run). */
static long jk_region_faults;

static double jk_pvm_once(const jk_pvm_progfile *pf, const jk_pvm_program *prog, int which,
                          jk_pvm_engine engine, uint64_t *result, int64_t *used)
{
    jk_pvm_memory *mem;
    jk_pvm_state st;
    jk_pvm_exit ex;
    memset(&st, 0, sizeof st);
    if (jk_pvm_memory_new(&mem) != JK_OK || jk_pvm_stdprog_init(&pf->core, NULL, 0, mem, st.regs) != JK_OK) {
        fprintf(stderr, "bench_c: cannot set up memory\n");
        exit(1);
    }
    for (int i = 0; i < jk_cbenches[which].nargs; i++)
        st.regs[7 + i] = jk_arg[which][i];
    st.pc = pf->endpoints[0].pc;
    st.gas = INT64_C(1000000000000);
    int64_t start_gas = st.gas;
    long f0 = jk_bench_faults();
    double t0 = jk_now();
    jk_err err = jk_pvm_run_engine(prog, mem, &st, &ex, engine);
    double t = jk_now() - t0;
    jk_region_faults = jk_bench_faults() - f0;
    if (err != JK_OK || ex.status != JK_PVM_HALT) {
        fprintf(stderr, "bench_c: %s ended %s at pc %u\n", jk_cbenches[which].name,
                err ? jk_strerror(err) : jk_pvm_status_name(ex.status), st.pc);
        exit(1);
    }
    *result = st.regs[7];
    *used = start_gas - st.gas;
    jk_pvm_memory_free(mem);
    return t;
}

int main(int argc, char **argv)
{
    const char *src_dir = argc > 1 ? argv[1] : "bench/c";
    const char *out_dir = argc > 2 ? argv[2] : "build/bench";
    int runs = argc > 3 && atoi(argv[3]) > 0 ? atoi(argv[3]) : 3;
    jk_native_huge();
    double log_sum = 0, jit_log_ratio = 0, jit_log_speedup = 0;
    for (int which = 0; which < 4; which++) {
        const char *name = jk_cbenches[which].name;
        char source[512], program[512];
        snprintf(source, sizeof source, "%s/%s.c", src_dir, name);
        snprintf(program, sizeof program, "%s/c_%s.jkp", out_dir, name);
        const char *sources[1] = {source};
        jk_sdk_link_stats stats;
        uint8_t *bytes = NULL;
        size_t len = 0;
        jk_diag build_diag = {{0}};
        if (jk_sdk_build(sources, 1, NULL, &bytes, &len, &stats, &build_diag) != JK_OK) {
            fprintf(stderr, "bench_c: %s: %s\n", source, build_diag.msg);
            return 1;
        }
        jk_pvm_progfile *pf = malloc(sizeof *pf);
        jk_pvm_program *prog = NULL;
        jk_diag diag = {{0}};
        if (!bytes || !pf || jk_pvm_progfile_parse(bytes, len, pf, &diag) != JK_OK ||
            jk_pvm_program_load(pf->core.code, pf->core.code_len, &prog, &diag) != JK_OK) {
            fprintf(stderr, "bench_c: %s: cannot load: %s\n", program, diag.msg);
            return 1;
        }
        double best_pvm = 1e30, best_native = 1e30, best_jit = 1e30;
        uint64_t pvm_result = 0, native_result = 0, jit_result = 0;
        int64_t used = 0, jit_used = 0;
        long faults[3] = {0, 0, 0}; /* interp, jit, native: most in one timed run */
        /* The native arrays are static (bss, on huge pages: jk_native_huge):
         * one untimed run pays their first-touch faults, as the PVM side's
         * set-up (jk_pvm_stdprog_init maps and zeroes its pages, an arena's
         * on huge pages) does before its clock starts. */
        jk_sink = jk_native(which);
        for (int run = 0; run < runs; run++) {
            double t = jk_pvm_once(pf, prog, which, JK_PVM_ENGINE_INTERP, &pvm_result, &used);
            if (t < best_pvm)
                best_pvm = t;
            faults[0] = jk_region_faults > faults[0] ? jk_region_faults : faults[0];
            t = jk_pvm_once(pf, prog, which, JK_PVM_ENGINE_JIT, &jit_result, &jit_used);
            if (t < best_jit)
                best_jit = t;
            faults[1] = jk_region_faults > faults[1] ? jk_region_faults : faults[1];
            long f0 = jk_bench_faults();
            double t0 = jk_now();
            native_result = jk_native(which);
            t = jk_now() - t0;
            jk_region_faults = jk_bench_faults() - f0;
            faults[2] = jk_region_faults > faults[2] ? jk_region_faults : faults[2];
            if (t < best_native)
                best_native = t;
        }
        if (pvm_result != native_result || jit_result != pvm_result || jit_used != used) {
            fprintf(stderr, "bench_c: %s: PVM result %llu, native %llu\n", name, (unsigned long long)pvm_result,
                    (unsigned long long)native_result);
            return 1;
        }
        double ratio = best_pvm / best_native;
        log_sum += log(ratio);
        printf("BENCH c_%s instructions=%lld pvm_s=%.6f native_s=%.6f ratio=%.2f pvm_per_rv=%.3f\n", name,
               (long long)used, best_pvm, best_native, ratio,
               stats.rv_insns ? (double)stats.pvm_insns / stats.rv_insns : 0.0);
        double compile_s = jk_bench_compile_seconds(prog);
        double jit_ratio = best_jit / best_native, speedup = best_pvm / best_jit;
        printf("BENCH jit_c_%s instructions=%lld jit_s=%.6f interp_s=%.6f native_s=%.6f ratio=%.2f speedup=%.2f"
               " compile_us=%.1f compile_mb_s=%.1f\n",
               name, (long long)jit_used, best_jit, best_pvm, best_native, jit_ratio, speedup, compile_s * 1e6,
               compile_s > 0 ? (double)pf->core.code_len / compile_s / 1e6 : 0.0);
        printf("BENCH faults_c_%s native=%ld interp=%ld jit=%ld\n", name, faults[2], faults[0], faults[1]);
        jit_log_ratio += log(jit_ratio);
        jit_log_speedup += log(speedup);
        fflush(stdout);
        jk_pvm_program_free(prog);
        free(pf);
        free(bytes);
    }
    printf("BENCH c_geomean ratio=%.2f\n", exp(log_sum / 4));
    /* The recompiler over all 8 programs: these 4 and the asm ones that
     * bench_pvm noted in jit_ratios.txt (when it ran first, as in make bench). */
    int n = 4;
    char path[600];
    snprintf(path, sizeof path, "%s/jit_ratios.txt", out_dir);
    FILE *f = fopen(path, "r");
    if (f) {
        char nm[64];
        double r, sp;
        while (fscanf(f, "%63s %lf %lf", nm, &r, &sp) == 3 && r > 0 && sp > 0) {
            jit_log_ratio += log(r);
            jit_log_speedup += log(sp);
            n++;
        }
        fclose(f);
    }
    printf("BENCH jit_geomean ratio=%.2f speedup=%.2f programs=%d\n", exp(jit_log_ratio / n),
           exp(jit_log_speedup / n), n);
    return 0;
}
