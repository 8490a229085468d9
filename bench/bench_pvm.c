/*
 * bench_pvm.c — the PVM benchmark harness behind `make bench` and
 * `make bench-peers` (docs/bench.md).
 *
 * For each program in bench/pvm/NAME.s: assemble it with jk_pvm_asm(), write the
 * blob to the output directory (so a peer PVM can run the very same bytes),
 * load it once, then run it three times, each on a fresh address space whose
 * pages are mapped (and zero-filled) before the clock starts. Only
 * jk_pvm_run() is timed. The native twin (native_algos.c) is timed the same
 * way, best of three, with its buffers allocated and touched beforehand.
 *
 *   bench:  BENCH <name> instructions=<n> pvm_s=<t> native_s=<t> ratio=<pvm/native>
 *   peers:  PEER <name> jark_s=<t> anan_s=<t> speedup=<anan/jark>
 *
 * Invariants the harness checks (exit status 1 otherwise): every PVM run
 * halts; its result register (r7) is the same in every run, equals the native
 * result, and equals the known answer where there is one (sieve, fib); in
 * peer mode the peer's r7 equals jark's. Inputs reach both sides through
 * volatiles, so the C compiler cannot fold the native work away, and native
 * results go to a volatile sink.
 */
#include "jark/pvm.h"
#include "native_algos.h"
#include "bench_jit.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define JK_BENCH_GAS INT64_C(1000000000000) /* far more than any run needs */
#define JK_BENCH_RESULT_REG 7
#define JK_BENCH_MAX_REGIONS 2

/* Workload sizes, read through volatiles by both the PVM and native side. */
static volatile uint64_t jk_in_sieve_n = 10000000;
static volatile uint64_t jk_in_muldiv_seed = UINT64_C(0x0123456789ABCDEF);
static volatile uint64_t jk_in_muldiv_iters = 5000000;
static volatile uint64_t jk_in_copy_bytes = 16u << 20;
static volatile uint64_t jk_in_copy_passes = 8;
static volatile uint64_t jk_in_fib_n = 30;
static volatile uint64_t jk_sink;
/* The byte native buffers are filled with before timing. Read through a
 * volatile so that GCC cannot turn malloc + memset(0) into calloc, whose
 * fresh pages would take their first-touch faults inside the timed region
 * (the PVM side maps, zero-fills and so touches its pages beforehand). */
static volatile int jk_fill_byte = 0;

/* Guest memory layout (all page-aligned, above the 64 KiB guard). */
#define JK_BENCH_HEAP 0x100000u   /* sieve array; copy buffer A */
#define JK_BENCH_STACK_LO 0x20000u /* fib stack: [0x20000, 0x30000) */
#define JK_BENCH_STACK_HI 0x30000u

typedef struct jk_bench_region {
    uint32_t addr, len;
} jk_bench_region;

/* One benchmark, with its guest set-up filled by a prepare function. */
typedef struct jk_bench {
    const char *name;
    void (*prepare)(struct jk_bench *b);
    double (*native)(uint64_t *result); /* runs once, returns seconds */
    uint64_t known;                     /* expected result, 0 = none known */
    uint64_t regs[JK_PVM_REGS];         /* registers at the start of a run */
    jk_bench_region regions[JK_BENCH_MAX_REGIONS];
    unsigned region_count;
} jk_bench;

static double jk_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Page faults taken inside the last timed region (jk_region_start/_end),
 * so the harness can show that neither side pays first-touch faults there. */
static long jk_region_faults;

static double jk_region_start(void)
{
    jk_region_faults = jk_bench_faults();
    return jk_now();
}

static double jk_region_end(double t0)
{
    double t = jk_now() - t0;
    jk_region_faults = jk_bench_faults() - jk_region_faults;
    return t;
}

static uint32_t jk_page_round(uint64_t n)
{
    return (uint32_t)((n + JK_PVM_PAGE_SIZE - 1) & ~(uint64_t)(JK_PVM_PAGE_SIZE - 1));
}

static void jk_die(const char *what)
{
    fprintf(stderr, "bench: %s\n", what);
    exit(1);
}

/* A native buffer of 2 MiB or more is 2 MiB-aligned and asks for huge
 * pages, as the recompiler's guest arenas of that size do (docs/pvm.md,
 * memory arenas; this machine's THP mode is "madvise"): with 4 KiB pages on
 * the native side only, copy's twin ran 12.2–13.7 ms against 10.8–11.4 ms
 * with huge pages, and the ratio measured the TLB, not the code. */
static void *jk_xmalloc(size_t n)
{
    const size_t huge = (size_t)2 << 20;
    void *p = NULL;
    if (n >= huge) {
        size_t r = (n + huge - 1) & ~(huge - 1);
        p = aligned_alloc(huge, r);
        if (p)
            (void)madvise(p, r, MADV_HUGEPAGE); /* a hint: without THP it is 4 KiB pages on both sides */
    } else {
        p = malloc(n);
    }
    if (!p)
        jk_die("out of memory");
    return p;
}

/* ---- per-benchmark set-up and native twins ---- */

static void jk_prepare_sieve(jk_bench *b)
{
    uint64_t n = jk_in_sieve_n;
    b->regs[9] = n;
    b->regs[10] = JK_BENCH_HEAP;
    b->regions[0] = (jk_bench_region){JK_BENCH_HEAP, jk_page_round(n)};
    b->region_count = 1;
}

static double jk_native_sieve(uint64_t *result)
{
    uint64_t n = jk_in_sieve_n;
    uint8_t *a = jk_xmalloc(n);
    memset(a, jk_fill_byte, n); /* zeroed and touched, like freshly mapped guest pages */
    double t0 = jk_region_start();
    *result = jk_bench_sieve_native(a, n);
    double t = jk_region_end(t0);
    free(a);
    return t;
}

static void jk_prepare_muldiv(jk_bench *b)
{
    b->regs[8] = jk_in_muldiv_seed;
    b->regs[9] = jk_in_muldiv_iters;
    b->region_count = 0;
}

static double jk_native_muldiv(uint64_t *result)
{
    uint64_t seed = jk_in_muldiv_seed, n = jk_in_muldiv_iters;
    double t0 = jk_region_start();
    *result = jk_bench_muldiv_native(seed, n);
    return jk_region_end(t0);
}

static void jk_prepare_copy(jk_bench *b)
{
    uint64_t bytes = jk_in_copy_bytes;
    if (bytes == 0 || bytes % 32 || bytes > (64u << 20))
        jk_die("copy: size must be a nonzero multiple of 32, at most 64 MiB");
    uint32_t len = jk_page_round(bytes);
    b->regs[9] = bytes;
    b->regs[10] = JK_BENCH_HEAP;
    b->regs[11] = JK_BENCH_HEAP + len;
    b->regs[12] = jk_in_copy_passes;
    b->regions[0] = (jk_bench_region){JK_BENCH_HEAP, len};
    b->regions[1] = (jk_bench_region){JK_BENCH_HEAP + len, len};
    b->region_count = 2;
}

static double jk_native_copy(uint64_t *result)
{
    uint64_t bytes = jk_in_copy_bytes, passes = jk_in_copy_passes;
    uint64_t *a = jk_xmalloc(bytes), *b = jk_xmalloc(bytes);
    memset(a, jk_fill_byte, bytes);
    memset(b, jk_fill_byte, bytes);
    double t0 = jk_region_start();
    *result = jk_bench_copy_native(a, b, bytes, passes);
    double t = jk_region_end(t0);
    free(a);
    free(b);
    return t;
}

static void jk_prepare_fib(jk_bench *b)
{
    b->regs[1] = JK_BENCH_STACK_HI;
    b->regs[7] = jk_in_fib_n;
    b->regions[0] = (jk_bench_region){JK_BENCH_STACK_LO,
                                      JK_BENCH_STACK_HI - JK_BENCH_STACK_LO};
    b->region_count = 1;
}

static double jk_native_fib(uint64_t *result)
{
    uint64_t n = jk_in_fib_n;
    double t0 = jk_region_start();
    *result = jk_bench_fib_native(n);
    return jk_region_end(t0);
}

static jk_bench jk_benches[] = {
    {"sieve", jk_prepare_sieve, jk_native_sieve, 664579},
    {"muldiv", jk_prepare_muldiv, jk_native_muldiv, 0},
    {"copy", jk_prepare_copy, jk_native_copy, 0},
    {"fib", jk_prepare_fib, jk_native_fib, 832040},
};
#define JK_BENCH_COUNT (sizeof jk_benches / sizeof jk_benches[0])

/* ---- files ---- */

static char *jk_bench_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = jk_xmalloc(cap + 1);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            cap *= 2;
            char *nb = realloc(buf, cap + 1);
            if (!nb)
                jk_die("out of memory");
            buf = nb;
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

static int jk_write_file(const char *path, const uint8_t *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t put = fwrite(data, 1, len, f);
    int rc = fclose(f);
    return (put == len && rc == 0) ? 0 : -1;
}

/* ---- the PVM side ---- */

typedef struct jk_pvm_result {
    double best_s;
    uint64_t result;
    uint64_t instructions;
    long faults; /* most page faults any timed run took */
} jk_pvm_result;

/* Run a loaded program `runs` times; 0 on success (halted, same r7 every
 * time), -1 with a message on stderr otherwise. */
static int jk_bench_pvm(const jk_bench *b, const jk_pvm_program *prog,
                        int runs, jk_pvm_engine engine, jk_pvm_result *out)
{
    out->best_s = 1e30;
    out->faults = 0;
    for (int run = 0; run < runs; run++) {
        jk_pvm_memory *mem = NULL;
        if (jk_pvm_memory_new(&mem) != JK_OK)
            jk_die("out of memory");
        for (unsigned i = 0; i < b->region_count; i++) {
            jk_err err = jk_pvm_memory_map(mem, b->regions[i].addr,
                                           b->regions[i].len, JK_PVM_ACCESS_WRITE);
            if (err != JK_OK) {
                fprintf(stderr, "bench %s: map 0x%" PRIx32 "+0x%" PRIx32 ": %s\n",
                        b->name, b->regions[i].addr, b->regions[i].len,
                        jk_strerror(err));
                jk_pvm_memory_free(mem);
                return -1;
            }
        }
        jk_pvm_state st;
        memset(&st, 0, sizeof st);
        memcpy(st.regs, b->regs, sizeof st.regs);
        st.gas = JK_BENCH_GAS;
        st.pc = 0;
        jk_pvm_exit ex;

        double t0 = jk_region_start();
        jk_err err = jk_pvm_run_engine(prog, mem, &st, &ex, engine);
        double t = jk_region_end(t0);

        jk_pvm_memory_free(mem);
        if (err != JK_OK) {
            fprintf(stderr, "bench %s: jk_pvm_run: %s\n", b->name, jk_strerror(err));
            return -1;
        }
        if (ex.status != JK_PVM_HALT) {
            fprintf(stderr, "bench %s: PVM exited with %s at pc %" PRIu32
                    " (fault address 0x%" PRIx32 ")\n", b->name,
                    jk_pvm_status_name(ex.status), st.pc, ex.fault_address);
            return -1;
        }
        uint64_t result = st.regs[JK_BENCH_RESULT_REG];
        uint64_t used = (uint64_t)(JK_BENCH_GAS - st.gas);
        if (run > 0 && (result != out->result || used != out->instructions)) {
            fprintf(stderr, "bench %s: run %d differs from run 0\n", b->name, run);
            return -1;
        }
        out->result = result;
        out->instructions = used;
        if (t < out->best_s)
            out->best_s = t;
        if (jk_region_faults > out->faults)
            out->faults = jk_region_faults;
    }
    return 0;
}

/* Append "name ratio speedup" to OUT/jit_ratios.txt (started afresh with the
 * first program), so that bench_c can close with the geometric mean over the
 * asm and the C programs together. */
static void jk_bench_note_jit(const char *out_dir, const char *name, double ratio, double speedup,
                              bool first)
{
    if (!out_dir)
        return;
    char path[1024];
    snprintf(path, sizeof path, "%s/jit_ratios.txt", out_dir);
    FILE *f = fopen(path, first ? "w" : "a");
    if (!f)
        return;
    fprintf(f, "%s %.6f %.6f\n", name, ratio, speedup);
    fclose(f);
}

/* ---- the peer PVM (anan-as, through node) ---- */

typedef struct jk_peer_result {
    int ok;          /* 1: ran and halted; 0: see msg */
    double best_s;
    uint64_t result;
    uint64_t gas_used;
    char msg[256];
} jk_peer_result;

static void jk_bench_peer(const jk_bench *b, const char *node, const char *script,
                          const char *blob_path, int runs, jk_peer_result *out)
{
    char cmd[2048], regs[512] = "", pages[256] = "";
    size_t rl = 0, pl = 0;
    for (unsigned i = 0; i < JK_PVM_REGS; i++)
        if (b->regs[i] && rl < sizeof regs)
            rl += (size_t)snprintf(regs + rl, sizeof regs - rl, "%s%u=%" PRIu64,
                                   rl ? "," : "", i, b->regs[i]);
    for (unsigned i = 0; i < b->region_count && pl < sizeof pages; i++)
        pl += (size_t)snprintf(pages + pl, sizeof pages - pl, "%s%" PRIu32 ":%" PRIu32,
                               pl ? "," : "", b->regions[i].addr, b->regions[i].len);
    snprintf(cmd, sizeof cmd,
             "'%s' '%s' --blob '%s' --gas %" PRId64 " --regs '%s' --pages '%s'"
             " --result-reg %d --runs %d 2>&1",
             node, script, blob_path, JK_BENCH_GAS, regs, pages,
             JK_BENCH_RESULT_REG, runs);

    out->ok = 0;
    snprintf(out->msg, sizeof out->msg, "no output from %s", script);
    fflush(stdout);
    FILE *p = popen(cmd, "r");
    if (!p) {
        snprintf(out->msg, sizeof out->msg, "cannot start node: %s", strerror(errno));
        return;
    }
    char line[1024];
    char last[256] = "";
    while (fgets(line, sizeof line, p)) {
        line[strcspn(line, "\r\n")] = '\0';
        double s;
        uint64_t r;
        uint64_t g = 0;
        if (sscanf(line, "ANAN ok result=%" SCNu64 " anan_s=%lf gas_used=%" SCNu64,
                   &r, &s, &g) >= 2) {
            out->ok = 1;
            out->result = r;
            out->best_s = s;
            out->gas_used = g;
        } else if (strncmp(line, "ANAN error ", 11) == 0) {
            snprintf(out->msg, sizeof out->msg, "%.200s", line + 11);
        } else if (line[0] && (!last[0] || (strstr(line, "Error") &&
                                             !strstr(last, "Error")))) {
            /* node's own failure: keep its first error line */
            snprintf(last, sizeof last, "%.200s", line);
        }
    }
    int rc = pclose(p);
    if (!out->ok && rc != 0 && last[0] &&
        strncmp(out->msg, "no output", 9) == 0)
        snprintf(out->msg, sizeof out->msg, "%s", last);
}

/* ---- main ---- */

static void jk_usage(void)
{
    fputs("usage: bench_pvm [--src DIR] [--out DIR] [--runs N] [--only NAME]\n"
          "                 [--peers SCRIPT [--node NODE]]\n"
          "  --src DIR      where the .s programs are (default bench/pvm)\n"
          "  --out DIR      write the assembled blobs there as NAME.pvm\n"
          "  --peers SCRIPT also run each blob on anan-as via SCRIPT\n"
          "                 (needs --out); prints PEER lines\n",
          stderr);
    exit(2);
}

int main(int argc, char **argv)
{
    const char *src_dir = "bench/pvm", *out_dir = NULL, *only = NULL;
    const char *peer_script = NULL, *node = "node";
    int runs = 3;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc)
            jk_usage();
        if (strcmp(a, "--src") == 0)
            src_dir = argv[++i];
        else if (strcmp(a, "--out") == 0)
            out_dir = argv[++i];
        else if (strcmp(a, "--only") == 0)
            only = argv[++i];
        else if (strcmp(a, "--peers") == 0)
            peer_script = argv[++i];
        else if (strcmp(a, "--node") == 0)
            node = argv[++i];
        else if (strcmp(a, "--runs") == 0)
            runs = atoi(argv[++i]);
        else
            jk_usage();
    }
    if (runs < 1 || (peer_script && !out_dir))
        jk_usage();

    int failed = 0, counted = 0, matched = 0;
    double log_sum = 0;
    for (size_t k = 0; k < JK_BENCH_COUNT; k++) {
        jk_bench *b = &jk_benches[k];
        if (only && strcmp(only, b->name) != 0)
            continue;
        matched++;
        b->prepare(b);

        char path[1024];
        snprintf(path, sizeof path, "%s/%s.s", src_dir, b->name);
        size_t src_len = 0;
        char *src = jk_bench_read_file(path, &src_len);
        if (!src) {
            fprintf(stderr, "bench %s: cannot read %s: %s\n", b->name, path,
                    strerror(errno));
            failed = 1;
            continue;
        }
        uint8_t *blob = NULL;
        size_t blob_len = 0;
        jk_diag diag = {{0}};
        jk_err err = jk_pvm_asm(src, src_len, &blob, &blob_len, &diag);
        free(src);
        if (err != JK_OK) {
            fprintf(stderr, "bench %s: %s: %s: %s\n", b->name, path,
                    jk_strerror(err), diag.msg);
            failed = 1;
            continue;
        }
        char blob_path[1024] = "";
        if (out_dir) {
            snprintf(blob_path, sizeof blob_path, "%s/%s.pvm", out_dir, b->name);
            if (jk_write_file(blob_path, blob, blob_len) != 0) {
                fprintf(stderr, "bench %s: cannot write %s\n", b->name, blob_path);
                failed = 1;
            }
        }
        jk_pvm_program *prog = NULL;
        err = jk_pvm_program_load(blob, blob_len, &prog, &diag);
        free(blob);
        if (err != JK_OK) {
            fprintf(stderr, "bench %s: load: %s: %s\n", b->name,
                    jk_strerror(err), diag.msg);
            failed = 1;
            continue;
        }

        jk_pvm_result pr, jr;
        int rc = jk_bench_pvm(b, prog, runs, JK_PVM_ENGINE_INTERP, &pr);
        if (rc == 0 && !peer_script)
            rc = jk_bench_pvm(b, prog, runs, JK_PVM_ENGINE_JIT, &jr);
        if (rc == 0 && !peer_script && (jr.result != pr.result || jr.instructions != pr.instructions)) {
            fprintf(stderr, "bench %s: the recompiler's result or gas differs from the interpreter's\n", b->name);
            rc = -1;
        }
        double compile_s = jk_bench_compile_seconds(prog);
        jk_pvm_program_free(prog);
        if (rc != 0) {
            failed = 1;
            continue;
        }
        if (b->known && pr.result != b->known) {
            fprintf(stderr, "bench %s: PVM result %" PRIu64 ", expected %" PRIu64 "\n",
                    b->name, pr.result, b->known);
            failed = 1;
        }

        if (peer_script) {
            jk_peer_result peer;
            jk_bench_peer(b, node, peer_script, blob_path, runs, &peer);
            if (!peer.ok) {
                printf("PEER %s jark_s=%.6f anan_s=n/a speedup=n/a"
                       " (anan-as could not run it: %s)\n",
                       b->name, pr.best_s, peer.msg);
                fflush(stdout);
                continue;
            }
            if (peer.result != pr.result) {
                fprintf(stderr, "bench %s: anan-as result %" PRIu64
                        " differs from jark's %" PRIu64 "\n",
                        b->name, peer.result, pr.result);
                failed = 1;
                continue;
            }
            /* Both charge 1 per instruction; for a normal halt the totals
             * agree even though anan-as charges per instruction and jark per
             * block. A difference is worth a note, not a failure. */
            if (peer.gas_used != pr.instructions)
                fprintf(stderr, "bench %s: note: anan-as used %" PRIu64
                        " gas, jark %" PRIu64 "\n", b->name, peer.gas_used,
                        pr.instructions);
            double speedup = peer.best_s / pr.best_s;
            printf("PEER %s jark_s=%.6f anan_s=%.6f speedup=%.2f\n", b->name,
                   pr.best_s, peer.best_s, speedup);
            fflush(stdout);
            log_sum += log(speedup);
            counted++;
            continue;
        }

        double native_best = 1e30;
        uint64_t native_result = 0;
        long native_faults = 0;
        for (int run = 0; run < runs; run++) {
            uint64_t r = 0;
            double t = b->native(&r);
            if (jk_region_faults > native_faults)
                native_faults = jk_region_faults;
            jk_sink = r;
            if (run > 0 && r != native_result) {
                fprintf(stderr, "bench %s: native runs disagree\n", b->name);
                failed = 1;
            }
            native_result = r;
            if (t < native_best)
                native_best = t;
        }
        if (native_result != pr.result) {
            fprintf(stderr, "bench %s: PVM result %" PRIu64 " != native %" PRIu64 "\n",
                    b->name, pr.result, native_result);
            failed = 1;
            continue;
        }
        double ratio = pr.best_s / native_best;
        printf("BENCH %s instructions=%" PRIu64 " pvm_s=%.6f native_s=%.6f ratio=%.2f\n",
               b->name, pr.instructions, pr.best_s, native_best, ratio);
        double jit_ratio = jr.best_s / native_best, speedup = pr.best_s / jr.best_s;
        printf("BENCH jit_%s instructions=%" PRIu64 " jit_s=%.6f interp_s=%.6f native_s=%.6f"
               " ratio=%.2f speedup=%.2f compile_us=%.1f compile_mb_s=%.1f\n",
               b->name, jr.instructions, jr.best_s, pr.best_s, native_best, jit_ratio, speedup,
               compile_s * 1e6, compile_s > 0 ? (double)blob_len / compile_s / 1e6 : 0.0);
        /* first-touch work inside the timed regions: 0 on every side when
         * both touch their memory before the clock starts (docs/bench.md) */
        printf("BENCH faults_%s native=%ld interp=%ld jit=%ld\n", b->name, native_faults, pr.faults,
               jr.faults);
        fflush(stdout);
        if (!only) /* a partial run must not leave a partial list */
            jk_bench_note_jit(out_dir, b->name, jit_ratio, speedup, k == 0);
        log_sum += log(ratio);
        counted++;
    }
    if (matched == 0) {
        fprintf(stderr, "bench: no benchmark named %s\n", only);
        return 1;
    }
    if (counted > 0) {
        if (peer_script)
            printf("PEER geomean speedup=%.2f\n", exp(log_sum / counted));
        else
            printf("BENCH geomean ratio=%.2f\n", exp(log_sum / counted));
    }
    return failed ? 1 : 0;
}
