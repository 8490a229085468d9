/*
 * bench_gas.c — `BENCH gas_fairness` (make bench-gas): does gas pay for work?
 *
 * For the costliest case of every host call that does more than O(1) work,
 * and for memory growth, a PVM program (written here in PVM assembly, so the
 * numbers do not depend on a compiler) runs the operation R times and halts.
 * Each line gives host nanoseconds and bytes allocated (malloc, calloc,
 * realloc, aligned_alloc, counted by link-time wrappers) per unit of gas
 * charged, and the ratio of its ns/gas to the interpreter's average ns/gas,
 * measured in the same run on a loop of loads, stores, ALU ops and branches:
 *
 *   BENCH gas_fairness_op op=<name> ns_per_call=<t> gas_per_call=<g> ns_per_gas=<x> bytes_per_gas=<b> ratio=<r>
 *   BENCH gas_fairness worst=<op> ratio=<r> interp_ns_per_gas=<x> max_bytes_per_gas=<b> bytes_worst=<op> goal=10
 *         jit_ns_per_gas=<y> ratio_to_jit=<r'>
 *
 * Every case runs on the interpreter (the reference); the baseline loop also
 * runs once on the recompiler, for jit_ns_per_gas.
 *
 * Host calls that are O(1) whatever their arguments (GAS, DROP, DATA_LEN,
 * SAME_TYPE, CAP_KIND, DROP_PAUSED, FAULT's 120 bytes) are represented by GAS
 * and CAP_KIND through four 65,536-slot CNodes. Times: CLOCK_MONOTONIC, best
 * of 5 rounds of at least 20 ms. Every call's outcome is checked (HALT);
 * any failure exits 1. Usage: bench_gas (no arguments).
 */
#include "jark/kernel.h"

#include "../tests/adversary/adv_alloc.h"
#include "bench_guest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Allocation counting: the link-time wrappers of malloc, calloc, realloc and
 * aligned_alloc that the hostile-guest tests use too
 * (tests/adversary/adv_alloc.c, linked in by bench/gas.mk). */

/* ---- helpers ---- */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

#define ZERO_BASE 0x20000000u
#define ZERO_SIZE (64u << 20)
#define STATE_BASE 0x40000000u

/* ---- measuring ---- */

typedef struct measured {
    double ns_per_call;
    int64_t gas;
    unsigned long long bytes;
} measured;

static jk_kernel *kern;

static void run_once(jk_cap inst, uint32_t ep, int64_t *gas)
{
    jk_kernel_result r;
    jk_bg_check(jk_kernel_call(kern, inst, ep, 4000000000ll, NULL, jk_cap_null(), &r), "call");
    if (r.outcome != JK_KERNEL_HALT)
        jk_bg_fail("outcome %d (fault %d: %s)", r.outcome, r.fault, r.fault_msg);
    *gas = r.gas_used;
    jk_kernel_result_clear(&r);
}

static measured measure(jk_cap inst, uint32_t ep)
{
    measured m = {0};
    unsigned long long b0 = adv_allocated();
    run_once(inst, ep, &m.gas);
    m.bytes = adv_allocated() - b0;
    double best = 1e30;
    for (int round = 0; round < 5; round++) {
        int calls = 0;
        double t0 = now(), t;
        do {
            int64_t g;
            run_once(inst, ep, &g);
            calls++;
            t = now() - t0;
        } while (t < 0.02);
        if (t / calls < best)
            best = t / calls;
    }
    m.ns_per_call = best * 1e9;
    return m;
}

static double interp_ns_per_gas;
static const char *worst_op = "none", *bytes_op = "none";
static double worst_ratio, worst_bytes;

static void report(const char *op, jk_cap inst, uint32_t ep)
{
    measured m = measure(inst, ep);
    double ns_gas = m.ns_per_call / (double)m.gas, b_gas = (double)m.bytes / (double)m.gas;
    double ratio = ns_gas / interp_ns_per_gas;
    printf("BENCH gas_fairness_op op=%s ns_per_call=%.0f gas_per_call=%lld ns_per_gas=%.3f bytes_per_gas=%.2f "
           "ratio=%.2f\n",
           op, m.ns_per_call, (long long)m.gas, ns_gas, b_gas, ratio);
    fflush(stdout);
    if (ratio > worst_ratio) {
        worst_ratio = ratio;
        worst_op = op;
    }
    if (b_gas > worst_bytes) {
        worst_bytes = b_gas;
        bytes_op = op;
    }
}

/* ---- the cases ---- */

static const jk_cap_mapping zero_map = {ZERO_BASE, ZERO_SIZE, JK_CAP_MAP_EPHEMERAL_ZERO, JK_PVM_ACCESS_WRITE, 0};

/* The interpreter's average: a loop of loads, stores, ALU ops and branches. */
static double bench_interp(const char *engine)
{
    jk_bg_text t = {0};
    jk_bg_put(&t, ".jump_table ep0\nep0: load_imm_64 r2, 0x%x\nload_imm_64 r3, 400000\nload_imm_64 r5, 1\nfallthrough\n",
        ZERO_BASE);
    jk_bg_put(&t, "loop: load_ind_u64 r4, r2, 0\nadd_64 r5, r5, r4\nmul_64 r6, r5, r3\nsub_64 r5, r6, r4\n");
    jk_bg_put(&t, "shlo_l_imm_64 r6, r5, 3\nstore_ind_u64 r6, r2, 8\nadd_imm_64 r3, r3, -1\nbranch_ne_imm r3, 0, loop\n");
    jk_bg_put(&t, "jump_ind r0, 0\n");
    jk_cap image = jk_bg_image(&t, &zero_map, 1, NULL, 0, 0);
    jk_cap inst = jk_bg_instance(image, jk_bg_root());
    measured m = measure(inst, 0);
    double ns = m.ns_per_call / (double)m.gas;
    printf("BENCH gas_fairness_%s ns_per_call=%.0f gas_per_call=%lld ns_per_gas=%.3f\n", engine, m.ns_per_call,
           (long long)m.gas, ns);
    jk_cap_release(inst);
    jk_cap_release(image);
    return ns;
}

/* One instance running `ops` (endpoint 0) over a prepared root cnode. */
static void host_case(const char *op, jk_bg_text *ops, jk_cap cnode, const jk_cap_mapping *maps, uint32_t nmaps,
                      uint32_t catcher)
{
    jk_bg_text t = {0};
    jk_bg_put(&t, ".jump_table ep0\nep0: fallthrough\n");
    jk_bg_put(&t, "%s", ops->s);
    jk_bg_put(&t, "jump_ind r0, 0\n");
    free(ops->s);
    memset(ops, 0, sizeof *ops);
    jk_cap image = jk_bg_image(&t, maps, nmaps, NULL, 0, catcher);
    jk_cap inst = jk_bg_instance(image, cnode);
    report(op, inst, 0);
    jk_cap_release(inst);
    jk_cap_release(image);
}

static void bench_cheap_and_table(void)
{
    jk_bg_text t = {0};
    for (int i = 0; i < 256; i++)
        jk_bg_hc(&t, JK_HOST_GAS, 0, 0, 0, 0);
    host_case("GAS", &t, jk_bg_root(), NULL, 0, 0);
    const uint64_t leaf = JK_BG_P4(40, 65535, 65535, 65535), other = JK_BG_P4(40, 65535, 65535, 65534);
    for (int i = 0; i < 256; i++)
        jk_bg_hc(&t, JK_HOST_CAP_KIND, leaf, 0, 0, 0);
    host_case("CAP_KIND_depth4", &t, jk_bg_deep(jk_bg_root()), NULL, 0, 0);
    for (int i = 0; i < 128; i++) {
        jk_bg_hc(&t, JK_HOST_COPY, leaf, other, 0, 0);
        jk_bg_hc(&t, JK_HOST_DROP, other, 0, 0, 0);
    }
    host_case("COPY+DROP_depth4", &t, jk_bg_deep(jk_bg_root()), NULL, 0, 0);
    for (int i = 0; i < 128; i++) {
        jk_bg_hc(&t, JK_HOST_MOVE, leaf, other, 0, 0);
        jk_bg_hc(&t, JK_HOST_MOVE, other, leaf, 0, 0);
    }
    host_case("MOVE_depth4", &t, jk_bg_deep(jk_bg_root()), NULL, 0, 0);
    for (int i = 0; i < 256; i++)
        jk_bg_hc(&t, JK_HOST_SWAP, leaf, other, 0, 0);
    host_case("SWAP_depth4", &t, jk_bg_deep(jk_bg_root()), NULL, 0, 0);
    for (int i = 0; i < 128; i++) {
        jk_bg_hc(&t, JK_HOST_CNODE_MINT, 41, 16, 0, 0);
        jk_bg_hc(&t, JK_HOST_DROP, 41, 0, 0, 0);
    }
    host_case("CNODE_MINT_2^16", &t, jk_bg_root(), NULL, 0, 0);
}

static void bench_data(void)
{
    jk_cap big;
    jk_bg_check(jk_cap_data_new_zeroed(64u << 20, &big), "data");
    jk_bg_text t = {0};
    jk_bg_hc(&t, JK_HOST_DATA_READ, 41, 0, 64u << 20, ZERO_BASE);
    host_case("DATA_READ_64MiB", &t, jk_bg_set(jk_bg_root(), 41, big), &zero_map, 1, 0);
    jk_bg_hc(&t, JK_HOST_DATA_MINT, ZERO_BASE, 64u << 20, 42, 0);
    host_case("DATA_MINT_64MiB", &t, jk_bg_root(), &zero_map, 1, 0);
    for (int i = 0; i < 8; i++)
        jk_bg_hc(&t, JK_HOST_DEBUG_WRITE_NUM, ZERO_BASE, 1u << 20, 0, 0);
    host_case("DEBUG_WRITE_1MiB", &t, jk_bg_root(), &zero_map, 1, 0);
    jk_cap_release(big);
}

static void bench_instances(void)
{
    const int R = 32;
    jk_cap cal = jk_bg_callee_image(R + 1), marker, image;
    /* The marker: any instance; listed last in the caller's 4,096-slot catcher list. */
    marker = jk_bg_instance(cal, jk_bg_root());
    jk_cap callee = jk_bg_instance(cal, jk_bg_set(jk_bg_root(), 22, marker));
    jk_bg_text t = {0};
    for (int i = 0; i < R; i++)
        jk_bg_hc(&t, JK_HOST_CALL, 21, 0, 1000000, 0);
    host_case("CALL_256_mappings", &t, jk_bg_set(jk_bg_root(), 21, callee), NULL, 0, 0);

    jk_cap list = jk_bg_catchers(cal, marker);
    jk_bg_hc(&t, JK_HOST_CALL, 21, 1, 100000000, 0);
    for (int i = 0; i < R; i++)
        jk_bg_hc(&t, JK_HOST_CALL_RESUME, 21, 100000000, 0, 0);
    host_case("YIELD+CALL_RESUME_4096_catchers", &t, jk_bg_set(jk_bg_set(jk_bg_root(), 21, callee), 23, list), NULL, 0, 23);
    jk_cap_release(list);

    /* SET_IMAGE / DERIVE_SPAWN of an image pinning 200 Data (slots 55..254). */
    image = jk_bg_pins_image();
    for (int i = 0; i < 32; i++)
        jk_bg_hc(&t, JK_HOST_SET_IMAGE, 43, 0, 0, 0);
    host_case("SET_IMAGE_200_pins", &t, jk_bg_set(jk_bg_root(), 43, image), NULL, 0, 0);
    for (int i = 0; i < 64; i++) {
        jk_bg_hc(&t, JK_HOST_CNODE_MINT, 50, 8, 0, 0);
        jk_bg_hc(&t, JK_HOST_DERIVE_SPAWN, 43, 50, 51, 0);
        jk_bg_hc(&t, JK_HOST_DROP, 51, 0, 0, 0);
    }
    host_case("DERIVE_SPAWN_200_pins", &t, jk_bg_set(jk_bg_root(), 43, image), NULL, 0, 0);

    /* SAME_TYPE_AS over 65,536 images; SAME_TYPE. */
    jk_cap images = jk_bg_image_list(image);
    for (int i = 0; i < 4; i++)
        jk_bg_hc(&t, JK_HOST_SAME_TYPE_AS, 21, 21, 44, 0);
    host_case("SAME_TYPE_AS_65536_images", &t, jk_bg_set(jk_bg_set(jk_bg_root(), 21, callee), 44, images), NULL, 0, 0);
    for (int i = 0; i < 256; i++)
        jk_bg_hc(&t, JK_HOST_SAME_TYPE, 21, 21, 0, 0);
    host_case("SAME_TYPE", &t, jk_bg_set(jk_bg_root(), 21, callee), NULL, 0, 0);
    jk_cap_release(images);
    jk_cap_release(image);
    jk_cap_release(callee);
    jk_cap_release(marker);
    jk_cap_release(cal);
}

/* Memory growth: one byte written into each of 16,384 pages; in a zero
 * region, and in a persistent 64 MiB Data that HALT mints back. */
static void bench_growth(void)
{
    jk_bg_text t = {0};
    jk_bg_put(&t, "load_imm_64 r2, 0x%x\nload_imm_64 r3, 16384\nfallthrough\n", ZERO_BASE);
    jk_bg_put(&t, "touch: store_ind_u8 r3, r2, 0\nadd_imm_64 r2, r2, 4096\nadd_imm_64 r3, r3, -1\n");
    jk_bg_put(&t, "branch_ne_imm r3, 0, touch\n");
    host_case("memory_growth_zero_16384_pages", &t, jk_bg_root(), &zero_map, 1, 0);
    jk_cap state;
    jk_bg_check(jk_cap_data_new_zeroed(64u << 20, &state), "data");
    const jk_cap_mapping pmap = {STATE_BASE, 64u << 20, JK_CAP_MAP_PERSISTENT, JK_PVM_ACCESS_WRITE, 20};
    jk_bg_put(&t, "load_imm_64 r2, 0x%x\nload_imm_64 r3, 16384\nfallthrough\n", STATE_BASE);
    jk_bg_put(&t, "touch: store_ind_u8 r3, r2, 0\nadd_imm_64 r2, r2, 4096\nadd_imm_64 r3, r3, -1\n");
    jk_bg_put(&t, "branch_ne_imm r3, 0, touch\n");
    host_case("memory_growth_persistent_minted_16384_pages", &t, jk_bg_set(jk_bg_root(), 20, state), &pmap, 1, 0);
    jk_cap_release(state);
}

int main(void)
{
    jk_bg_set_name("bench_gas");
    jk_cap_stats s0, s1;
    jk_cap_stats_get(&s0);
    /* The baseline is the interpreter (the reference engine the gas table
     * was priced against, issue 11's goal), whatever the kernel's default;
     * the recompiler's own ns/gas is printed beside it: its instructions
     * are ~4x cheaper, so host calls weigh more against it. */
    jk_kernel_config jit_cfg = {.engine = JK_PVM_ENGINE_JIT}, interp_cfg = {.engine = JK_PVM_ENGINE_INTERP};
    jk_bg_check(jk_kernel_new(&jit_cfg, &kern), "kernel");
    double jit_ns_per_gas = bench_interp("jit");
    jk_kernel_free(kern);
    jk_bg_check(jk_kernel_new(&interp_cfg, &kern), "kernel");
    interp_ns_per_gas = bench_interp("interp");
    bench_cheap_and_table();
    bench_data();
    bench_instances();
    bench_growth();
    jk_kernel_free(kern);
    jk_cap_stats_get(&s1);
    if (s1.live_objects != s0.live_objects)
        jk_bg_fail("%lld cap objects leaked", (long long)(s1.live_objects - s0.live_objects));
    printf("BENCH gas_fairness worst=%s ratio=%.2f interp_ns_per_gas=%.3f max_bytes_per_gas=%.2f bytes_worst=%s "
           "goal=10 jit_ns_per_gas=%.3f ratio_to_jit=%.2f\n",
           worst_op, worst_ratio, interp_ns_per_gas, worst_bytes, bytes_op, jit_ns_per_gas,
           worst_ratio * interp_ns_per_gas / jit_ns_per_gas);
    return 0;
}
