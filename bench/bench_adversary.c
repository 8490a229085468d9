/*
 * bench_adversary.c — `make bench-adversary` (adv15): what a hostile chain
 * program can make the host pay per unit of gas it is charged.
 *
 * Three parts, every figure on this thread's CPU clock
 * (CLOCK_THREAD_CPUTIME_ID: other processes on the machine do not count):
 *
 *   typical    the demo chain's transfer (verify of 1,000 transfers and the
 *              apply of their block, attests accepted without a signature
 *              check: bench_work_demo.c) on each engine: host ns per gas.
 *   per gas    for each host call (worst-case arguments: deepest paths,
 *              widest CNodes, longest lengths, most pins and mappings,
 *              calls nested to the depth bound) and each class of PVM
 *              instruction (accesses across a page boundary, accesses that
 *              miss the recompiler's page cache, divisions, jumps through
 *              the table, one-instruction blocks, the instructions the
 *              recompiler leaves to C, long straight runs, first touches
 *              and copy-on-write of pages), one guest runs the case R times
 *              and halts, on the interpreter and on the recompiler:
 *
 *     BENCH adversary_op op=<name> engine=<interp|jit> gas_per_call=<g> ns_per_gas=<x>
 *           bytes_per_gas=<b> ratio=<x / typical of that engine>
 *
 *   compile    jk_pvm_program_load (pre-decode and recompile) of generated
 *              programs at two sizes, N and 4N: microseconds and bytes of
 *              compiled code per KB of program, and the growth of µs/KB
 *              from N to 4N (1.0 is linear; a "JIT bomb" shows as ≫ 1):
 *
 *     BENCH adversary_compile prog=<name> kb=<blob KB at 4N> us_per_kb=<t> code_per_byte=<c>
 *           heap_per_byte=<h> growth=<us/KB at 4N ÷ at N>
 *
 *   BENCH adversary worst=<op/engine> ratio=<r> typical_interp=<x> typical_jit=<y>
 *         max_bytes_per_gas=<b> compile_worst=<prog> compile_growth=<g> code_per_byte_max=<c>
 *
 * Bytes are what the host allocates (malloc, calloc, realloc and
 * aligned_alloc, counted by tests/adversary/adv_alloc.c's link-time
 * wrappers) during one call. Each time is the best of 3 rounds of at least
 * 10 ms. Every call's outcome is checked (HALT), the engines must charge the
 * same gas, and no cap value may leak; any failure exits 1.
 * Usage: bench_adversary [--quick] (--quick: one round of 1 ms, no demo);
 * JK_ADV_ONLY=TEXT runs only the cases whose name holds TEXT (no demo).
 * docs/bench.md "Host cost per gas, session 15 (adv15)" holds the figures.
 */
#include "jark/kernel.h"

#include "../src/pvm/jit.h"
#include "../tests/adversary/adv_alloc.h"
#include "bench_guest.h"
#include "bench_work.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ZERO_BASE 0x20000000u
#define ZERO_SIZE (64u << 20)
#define STATE_BASE 0x40000000u

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* bench_work_demo.c's two needs: its clock is this thread's CPU time here. */
double jk_work_now(void)
{
    return cpu_now();
}

void jk_work_fail(const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    jk_bg_fail("%s", msg);
}

/* ---- measuring ---- */

enum { ENG_INTERP, ENG_JIT, ENGINES };
static const char *const eng_name[ENGINES] = {"interp", "jit"};
static jk_kernel *kern[ENGINES];
static double typical[ENGINES] = {1, 1}; /* ns per gas of the demo's transfer */
static int rounds = 3;
static double round_s = 0.01;

static double worst_ratio, worst_bytes;
static char worst_op[96] = "none", bytes_op[96] = "none";

/* Whether a case's time includes hashing the instance the call leaves, as
 * a commit's state root would (cap hashes are taken lazily: a Data minted
 * or a page minted back at HALT is hashed only then). */
static bool with_hash;

static int64_t run_once(int e, jk_cap inst)
{
    jk_kernel_result r;
    jk_bg_check(jk_kernel_call(kern[e], inst, 0, 4000000000ll, NULL, jk_cap_null(), &r), "call");
    if (r.outcome != JK_KERNEL_HALT)
        jk_bg_fail("outcome %d (fault %d: %s)", r.outcome, r.fault, r.fault_msg);
    if (with_hash) {
        jk_hash h;
        jk_cap_hash(r.instance, &h);
    }
    int64_t g = r.gas_used;
    jk_kernel_result_clear(&r);
    return g;
}

static const char *only; /* JK_ADV_ONLY: run only the cases whose name holds it */

/* One case on both engines; the instance is released. */
static void report(const char *op, jk_cap inst)
{
    if (only && !strstr(op, only)) {
        jk_cap_release(inst);
        return;
    }
    int64_t gas[ENGINES];
    for (int e = 0; e < ENGINES; e++) {
        unsigned long long b0 = adv_allocated();
        gas[e] = run_once(e, inst);
        double bytes = (double)(adv_allocated() - b0);
        double best = 1e30;
        for (int r = 0; r < rounds; r++) {
            int calls = 0;
            double t0 = cpu_now(), t;
            do {
                run_once(e, inst);
                calls++;
                t = cpu_now() - t0;
            } while (t < round_s);
            best = t / calls < best ? t / calls : best;
        }
        double ns_gas = best * 1e9 / (double)gas[e], b_gas = bytes / (double)gas[e];
        double ratio = ns_gas / typical[e];
        printf("BENCH adversary_op op=%s engine=%s gas_per_call=%lld ns_per_gas=%.3f bytes_per_gas=%.2f ratio=%.2f\n",
               op, eng_name[e], (long long)gas[e], ns_gas, b_gas, ratio);
        fflush(stdout);
        if (ratio > worst_ratio) {
            worst_ratio = ratio;
            snprintf(worst_op, sizeof worst_op, "%s/%s", op, eng_name[e]);
        }
        if (b_gas > worst_bytes) {
            worst_bytes = b_gas;
            snprintf(bytes_op, sizeof bytes_op, "%s/%s", op, eng_name[e]);
        }
    }
    if (gas[ENG_INTERP] != gas[ENG_JIT])
        jk_bg_fail("%s: the engines charged %lld and %lld gas", op, (long long)gas[0], (long long)gas[1]);
    jk_cap_release(inst);
}

static const jk_cap_mapping zero_map = {ZERO_BASE, ZERO_SIZE, JK_CAP_MAP_EPHEMERAL_ZERO, JK_PVM_ACCESS_WRITE, 0};

/* An instance running `ops` as endpoint 0 (then halting) over cnode. */
static jk_cap guest(jk_bg_text *ops, jk_cap cnode, const jk_cap_mapping *maps, uint32_t nmaps, uint32_t catcher)
{
    jk_bg_text t = {0};
    jk_bg_put(&t, ".jump_table ep0\nep0: fallthrough\n%s", ops->s ? ops->s : "");
    jk_bg_put(&t, "jump_ind r0, 0\n");
    free(ops->s);
    memset(ops, 0, sizeof *ops);
    jk_cap image = jk_bg_image(&t, maps, nmaps, NULL, 0, catcher);
    jk_cap inst = jk_bg_instance(image, cnode);
    jk_cap_release(image);
    return inst;
}

/* A loop of `iters` iterations of `body` (r3 counts down; r2 = base). */
static jk_cap loop_guest(const char *body, uint32_t base, uint32_t iters)
{
    jk_bg_text t = {0};
    jk_bg_put(&t, "load_imm_64 r2, 0x%x\nload_imm_64 r3, %u\nload_imm_64 r5, 7\nload_imm_64 r6, 3\nfallthrough\n",
              base, iters);
    jk_bg_put(&t, "loop: %sadd_imm_64 r3, r3, -1\nbranch_ne_imm r3, 0, loop\n", body);
    return guest(&t, jk_bg_root(), &zero_map, 1, 0);
}

/* ---- host calls ---- */

#define LEAF JK_BG_P4(40, 65535, 65535, 65535)
#define OTHER JK_BG_P4(40, 65535, 65535, 65534)

static void host_cheap(void)
{
    jk_bg_text t = {0};
    for (int i = 0; i < 512; i++)
        jk_bg_hc(&t, JK_HOST_GAS, 0, 0, 0, 0);
    report("GAS", guest(&t, jk_bg_root(), NULL, 0, 0));
    for (int i = 0; i < 512; i++)
        jk_bg_hc(&t, JK_HOST_DATA_LEN, LEAF, 0, 0, 0);
    report("DATA_LEN_depth4", guest(&t, jk_bg_deep(jk_bg_root()), NULL, 0, 0));
    for (int i = 0; i < 512; i++)
        jk_bg_hc(&t, JK_HOST_CAP_KIND, LEAF, 0, 0, 0);
    report("CAP_KIND_depth4", guest(&t, jk_bg_deep(jk_bg_root()), NULL, 0, 0));
    for (int i = 0; i < 256; i++) {
        jk_bg_hc(&t, JK_HOST_COPY, LEAF, OTHER, 0, 0);
        jk_bg_hc(&t, JK_HOST_DROP, OTHER, 0, 0, 0);
    }
    report("COPY+DROP_depth4", guest(&t, jk_bg_deep(jk_bg_root()), NULL, 0, 0));
    for (int i = 0; i < 256; i++) {
        jk_bg_hc(&t, JK_HOST_MOVE, LEAF, OTHER, 0, 0);
        jk_bg_hc(&t, JK_HOST_MOVE, OTHER, LEAF, 0, 0);
    }
    report("MOVE_depth4", guest(&t, jk_bg_deep(jk_bg_root()), NULL, 0, 0));
    for (int i = 0; i < 512; i++)
        jk_bg_hc(&t, JK_HOST_SWAP, LEAF, OTHER, 0, 0);
    report("SWAP_depth4", guest(&t, jk_bg_deep(jk_bg_root()), NULL, 0, 0));
    for (int i = 0; i < 128; i++) {
        jk_bg_hc(&t, JK_HOST_CNODE_MINT, JK_BG_P4(40, 65535, 65535, 65534), 16, 0, 0);
        jk_bg_hc(&t, JK_HOST_DROP, OTHER, 0, 0, 0);
    }
    report("CNODE_MINT_2^16_depth4", guest(&t, jk_bg_deep(jk_bg_root()), NULL, 0, 0));
}

static void host_data(void)
{
    jk_cap big;
    jk_bg_check(jk_cap_data_new_zeroed(64u << 20, &big), "data");
    jk_bg_text t = {0};
    jk_bg_hc(&t, JK_HOST_DATA_READ, 41, 0, 64u << 20, ZERO_BASE);
    report("DATA_READ_64MiB", guest(&t, jk_bg_set(jk_bg_root(), 41, big), &zero_map, 1, 0));
    /* 2 bytes across a page of the Data, into memory across a page */
    for (int i = 0; i < 512; i++)
        jk_bg_hc(&t, JK_HOST_DATA_READ, 41, 4095 + 4096u * (unsigned)i, 2, ZERO_BASE + 4095);
    report("DATA_READ_2B_across_pages", guest(&t, jk_bg_set(jk_bg_root(), 41, big), &zero_map, 1, 0));
    jk_bg_hc(&t, JK_HOST_DATA_MINT, ZERO_BASE, 64u << 20, 42, 0);
    report("DATA_MINT_64MiB", guest(&t, jk_bg_root(), &zero_map, 1, 0));
    for (int i = 0; i < 256; i++) {
        jk_bg_hc(&t, JK_HOST_DATA_MINT, ZERO_BASE + 4095, 2, OTHER, 0);
        jk_bg_hc(&t, JK_HOST_DROP, OTHER, 0, 0, 0);
    }
    report("DATA_MINT_2B_depth4", guest(&t, jk_bg_deep(jk_bg_root()), &zero_map, 1, 0));
    for (int i = 0; i < 8; i++)
        jk_bg_hc(&t, JK_HOST_DEBUG_WRITE_NUM, ZERO_BASE, 1u << 20, 0, 0);
    report("DEBUG_WRITE_1MiB", guest(&t, jk_bg_root(), &zero_map, 1, 0));
    jk_cap_release(big);
}

/* A relay: endpoint 0 CALLs slot 21 (endpoint 0, all its gas) and halts. */
static jk_cap relay_image(void)
{
    jk_bg_text t = {0};
    jk_bg_put(&t, ".jump_table ep0\nep0: fallthrough\n");
    jk_bg_hc(&t, JK_HOST_CALL, 21, 0, 1000000000, 0);
    jk_bg_put(&t, "jump_ind r0, 0\n");
    return jk_bg_image(&t, NULL, 0, NULL, 0, 0);
}

static void host_calls(void)
{
    const int R = 32;
    jk_cap cal = jk_bg_callee_image(R + 1);
    jk_cap marker = jk_bg_instance(cal, jk_bg_root());
    jk_cap callee = jk_bg_instance(cal, jk_bg_set(jk_bg_root(), 22, marker));
    jk_bg_text t = {0};
    for (int i = 0; i < R; i++)
        jk_bg_hc(&t, JK_HOST_CALL, 21, 0, 1000000, 0);
    report("CALL_256_mappings", guest(&t, jk_bg_set(jk_bg_root(), 21, callee), NULL, 0, 0));

    /* CALLs nested to the depth bound: 23 relays over the callee */
    jk_cap relay = relay_image(), chain = jk_cap_retain(callee);
    for (int d = 0; d < JK_KERNEL_MAX_DEPTH - 2; d++) {
        jk_cap next = jk_bg_instance(relay, jk_bg_set(jk_bg_root(), 21, chain));
        jk_cap_release(chain);
        chain = next;
    }
    for (int i = 0; i < 8; i++)
        jk_bg_hc(&t, JK_HOST_CALL, 21, 0, 1000000000, 0);
    report("CALL_nested_24_deep", guest(&t, jk_bg_set(jk_bg_root(), 21, chain), NULL, 0, 0));
    jk_cap_release(chain);
    jk_cap_release(relay);

    /* the catcher lists the marker last of 4,096 */
    jk_cap list = jk_bg_catchers(cal, marker);
    jk_bg_hc(&t, JK_HOST_CALL, 21, 1, 100000000, 0);
    for (int i = 0; i < R; i++)
        jk_bg_hc(&t, JK_HOST_CALL_RESUME, 21, 100000000, 0, 0);
    report("YIELD+CALL_RESUME_4096_catchers",
           guest(&t, jk_bg_set(jk_bg_set(jk_bg_root(), 21, callee), 23, list), NULL, 0, 23));
    for (int i = 0; i < R; i++) {
        jk_bg_hc(&t, JK_HOST_CALL, 21, 1, 100000000, 0);
        jk_bg_hc(&t, JK_HOST_DROP_PAUSED, 21, 0, 0, 0);
    }
    report("YIELD+DROP_PAUSED_256_mappings",
           guest(&t, jk_bg_set(jk_bg_set(jk_bg_root(), 21, callee), 23, list), NULL, 0, 23));
    jk_cap_release(list);
    /* FAULT and an unknown host call in a callee: a copy each time (a
     * Faulted instance cannot be CALLed again) */
    for (int ep = 2; ep <= 3; ep++) {
        for (int i = 0; i < R; i++) {
            jk_bg_hc(&t, JK_HOST_COPY, 21, 24, 0, 0);
            jk_bg_hc(&t, JK_HOST_CALL, 24, (uint64_t)ep, 1000000, 0);
            jk_bg_hc(&t, JK_HOST_DROP, 24, 0, 0, 0);
        }
        report(ep == 2 ? "FAULT_120B_in_callee" : "unknown_hostcall_in_callee",
               guest(&t, jk_bg_set(jk_bg_root(), 21, callee), NULL, 0, 0));
    }

    jk_cap image = jk_bg_pins_image();
    for (int i = 0; i < 32; i++)
        jk_bg_hc(&t, JK_HOST_SET_IMAGE, 43, 0, 0, 0);
    report("SET_IMAGE_200_pins", guest(&t, jk_bg_set(jk_bg_root(), 43, image), NULL, 0, 0));
    for (int i = 0; i < 64; i++) {
        jk_bg_hc(&t, JK_HOST_CNODE_MINT, 50, 8, 0, 0);
        jk_bg_hc(&t, JK_HOST_DERIVE_SPAWN, 43, 50, 51, 0);
        jk_bg_hc(&t, JK_HOST_DROP, 51, 0, 0, 0);
    }
    report("DERIVE_SPAWN_200_pins", guest(&t, jk_bg_set(jk_bg_root(), 43, image), NULL, 0, 0));
    jk_cap images = jk_bg_image_list(image);
    for (int i = 0; i < 4; i++)
        jk_bg_hc(&t, JK_HOST_SAME_TYPE_AS, 21, 21, 44, 0);
    report("SAME_TYPE_AS_65536_images",
           guest(&t, jk_bg_set(jk_bg_set(jk_bg_root(), 21, callee), 44, images), NULL, 0, 0));
    for (int i = 0; i < 512; i++)
        jk_bg_hc(&t, JK_HOST_SAME_TYPE, 21, 21, 0, 0);
    report("SAME_TYPE", guest(&t, jk_bg_set(jk_bg_root(), 21, callee), NULL, 0, 0));
    jk_cap_release(images);
    jk_cap_release(image);
    jk_cap_release(callee);
    jk_cap_release(marker);
    jk_cap_release(cal);
}

/* ---- PVM instruction classes ---- */

static void pvm_classes(void)
{
    const uint32_t N = 100000;
    report("pvm_alu_loop", loop_guest("add_64 r5, r5, r6\nmul_64 r6, r5, r6\nxor r5, r5, r6\n", ZERO_BASE, N));
    report("pvm_load_store_same_page",
           loop_guest("load_ind_u64 r4, r2, 64\nstore_ind_u64 r4, r2, 128\nload_ind_u32 r4, r2, 8\n", ZERO_BASE, N));
    report("pvm_load_across_page",
           loop_guest("load_ind_u64 r4, r2, 4093\nload_ind_u32 r4, r2, 4094\nload_ind_u16 r4, r2, 4095\n",
                      ZERO_BASE, N));
    report("pvm_store_across_page",
           loop_guest("store_ind_u64 r3, r2, 4093\nstore_ind_u32 r3, r2, 4094\nstore_ind_u16 r3, r2, 4095\n",
                      ZERO_BASE, N));
    /* 64 pages in turn: more than the recompiler's page cache holds */
    report("pvm_load_64_pages_in_turn",
           loop_guest("and_imm r7, r3, 63\nshlo_l_imm_64 r7, r7, 12\nadd_64 r7, r7, r2\nload_ind_u64 r4, r7, 0\n",
                      ZERO_BASE, N));
    report("pvm_store_64_pages_in_turn",
           loop_guest("and_imm r7, r3, 63\nshlo_l_imm_64 r7, r7, 12\nadd_64 r7, r7, r2\nstore_ind_u64 r3, r7, 0\n",
                      ZERO_BASE, N));
    report("pvm_div_rem_64",
           loop_guest("load_imm_64 r5, -1\ndiv_u_64 r4, r5, r6\nrem_s_64 r4, r5, r6\ndiv_s_64 r4, r5, r3\n"
                      "rem_u_64 r4, r5, r3\n",
                      ZERO_BASE, N));
    report("pvm_div_by_zero_and_overflow",
           loop_guest("load_imm_64 r8, 0\nload_imm_64 r9, -1\ndiv_u_64 r4, r5, r8\ndiv_s_64 r4, r5, r9\n"
                      "rem_s_64 r4, r5, r8\n",
                      ZERO_BASE, N));
    report("pvm_bit_counts", loop_guest("count_set_bits_64 r4, r3\nleading_zero_bits_64 r4, r3\n"
                                        "trailing_zero_bits_32 r4, r3\ncount_set_bits_32 r4, r3\n",
                                        ZERO_BASE, N));
    report("pvm_sbrk_no_heap", loop_guest("sbrk r4, r6\nsbrk r4, r3\n", ZERO_BASE, N));

    /* one-instruction blocks: each a branch to the next */
    jk_bg_text t = {0};
    jk_bg_put(&t, "load_imm_64 r3, %u\nfallthrough\nloop: ", N);
    for (int i = 0; i < 16; i++)
        jk_bg_put(&t, "branch_eq_imm r3, 0, b%d\nb%d: ", i, i);
    jk_bg_put(&t, "add_imm_64 r3, r3, -1\nbranch_ne_imm r3, 0, loop\n");
    report("pvm_one_instruction_blocks", guest(&t, jk_bg_root(), NULL, 0, 0));

    /* jumps through a 64-entry table, each to another entry */
    jk_bg_put(&t, "load_imm_64 r3, %u\nfallthrough\nloop: and_imm r5, r3, 63\nshlo_l_imm_64 r5, r5, 1\n"
                  "add_imm_64 r5, r5, jt(k0)\njump_ind r5, 0\n",
              N);
    for (int i = 0; i < 64; i++)
        jk_bg_put(&t, "k%d: add_imm_64 r3, r3, -1\nbranch_ne_imm r3, 0, loop\njump ep0end\n", i);
    jk_bg_put(&t, "ep0end: fallthrough\n");
    {
        jk_bg_text all = {0};
        jk_bg_put(&all, ".jump_table ep0");
        for (int i = 0; i < 64; i++)
            jk_bg_put(&all, ", k%d", i);
        jk_bg_put(&all, "\nep0: fallthrough\n%sjump_ind r0, 0\n", t.s);
        free(t.s);
        memset(&t, 0, sizeof t);
        jk_cap image = jk_bg_image(&all, NULL, 0, NULL, 0, 0);
        report("pvm_jump_table_64", jk_bg_instance(image, jk_bg_root()));
        jk_cap_release(image);
    }

    /* a long straight run: 40,000 ALU instructions in one block */
    for (int i = 0; i < 40000; i++)
        jk_bg_put(&t, "add_imm_64 r%d, r%d, %d\n", 2 + i % 8, 2 + (i + 3) % 8, i);
    report("pvm_straight_40000", guest(&t, jk_bg_root(), NULL, 0, 0));

    /* memory growth: first touches of zero pages; copy-on-write of a
     * persistent Data's pages, minted back at HALT */
    const char *touch = "load_imm_64 r3, 16384\nfallthrough\ntouch: store_ind_u8 r3, r2, 0\n"
                        "add_imm_64 r2, r2, 4096\nadd_imm_64 r3, r3, -1\nbranch_ne_imm r3, 0, touch\n";
    jk_bg_put(&t, "load_imm_64 r2, 0x%x\n%s", ZERO_BASE, touch);
    report("pvm_first_touch_16384_zero_pages", guest(&t, jk_bg_root(), &zero_map, 1, 0));
    jk_cap state;
    jk_bg_check(jk_cap_data_new_zeroed(64u << 20, &state), "data");
    const jk_cap_mapping pmap = {STATE_BASE, 64u << 20, JK_CAP_MAP_PERSISTENT, JK_PVM_ACCESS_WRITE, 20};
    jk_bg_put(&t, "load_imm_64 r2, 0x%x\n%s", STATE_BASE, touch);
    report("pvm_cow_16384_persistent_pages", guest(&t, jk_bg_set(jk_bg_root(), 20, state), &pmap, 1, 0));
    /* the same with the hash a commit takes of what the call left: the
     * 16,384 pages minted back; and 16,384 written pages DATA_MINTed into
     * a slot (each page's hash is new work: its bytes are) */
    with_hash = true;
    jk_bg_put(&t, "load_imm_64 r2, 0x%x\n%s", STATE_BASE, touch);
    report("pvm_cow_16384_persistent_pages+hash", guest(&t, jk_bg_set(jk_bg_root(), 20, state), &pmap, 1, 0));
    jk_bg_put(&t, "load_imm_64 r2, 0x%x\n%s", ZERO_BASE, touch);
    jk_bg_hc(&t, JK_HOST_DATA_MINT, ZERO_BASE, 64u << 20, 42, 0);
    report("DATA_MINT_64MiB_written+hash", guest(&t, jk_bg_root(), &zero_map, 1, 0));
    with_hash = false;
    jk_cap_release(state);
}

/* ---- compile time ---- */

static double compile_worst_growth, code_per_byte_max;
static char compile_worst[64] = "none";

typedef void (*gen_fn)(jk_bg_text *t, uint32_t n);

static void gen_typical(jk_bg_text *t, uint32_t n)
{
    /* a mix as compilers emit it: loads, stores, ALU, compares, branches */
    jk_bg_put(t, ".jump_table ep0\nep0: fallthrough\n");
    for (uint32_t i = 0; i < n; i++)
        jk_bg_put(t, "l%u: load_ind_u64 r4, r1, %u\nadd_64 r5, r5, r4\nset_lt_u r6, r5, r4\nstore_ind_u32 r5, r1, %u\n"
                     "branch_eq_imm r6, 1, l%u\n",
                  i, (i * 8) & 255, (i * 4) & 255, i);
    jk_bg_put(t, "jump_ind r0, 0\n");
}

/* ".jump_table ep0, <label>0, …, <label>n-1" and the entry ep0. */
static void table_of(jk_bg_text *t, const char *label, uint32_t n)
{
    jk_bg_put(t, ".jump_table ep0");
    for (uint32_t i = 0; i < n; i++)
        jk_bg_put(t, ", %s%u", label, i);
    jk_bg_put(t, "\nep0: fallthrough\n");
}

static void gen_jump_table(jk_bg_text *t, uint32_t n)
{
    table_of(t, "j", n);
    for (uint32_t i = 0; i < n; i++)
        jk_bg_put(t, "j%u: jump_ind r%u, %u\n", i, i % 13, 2 * (i + 1));
}

static void gen_every_block(jk_bg_text *t, uint32_t n)
{
    jk_bg_put(t, ".jump_table ep0\nep0: fallthrough\n");
    for (uint32_t i = 0; i < n; i++)
        jk_bg_put(t, "fallthrough\n");
    jk_bg_put(t, "jump_ind r0, 0\n");
}

static void gen_branch_web(jk_bg_text *t, uint32_t n)
{
    /* every block branches back to the first and forward past the next:
     * merged blocks with many predecessors */
    jk_bg_put(t, ".jump_table ep0\nep0: fallthrough\nb0: fallthrough\n");
    for (uint32_t i = 1; i <= n; i++)
        jk_bg_put(t, "b%u: add_imm_64 r3, r3, -1\nbranch_lt_u_imm r3, %u, b0\nbranch_eq_imm r4, %u, b%u\n", i, i, i,
                  i + 1 <= n ? i + 1 : n);
    jk_bg_put(t, "jump_ind r0, 0\n");
}

static void gen_nested_loops(jk_bg_text *t, uint32_t n)
{
    /* n loops, each a strided copy the loop analysis looks at, one after
     * another, and the value ranges of their counters */
    jk_bg_put(t, ".jump_table ep0\nep0: fallthrough\n");
    for (uint32_t i = 0; i < n; i++)
        jk_bg_put(t, "load_imm r3, %u\nload_imm r2, 0x20000\nfallthrough\n"
                     "L%u: load_ind_u64 r4, r2, 0\nstore_ind_u64 r4, r2, 4096\nadd_imm_64 r2, r2, 8\n"
                     "add_imm_64 r3, r3, -1\nbranch_ne_imm r3, 0, L%u\n",
                  1 + i % 64, i, i);
    jk_bg_put(t, "jump_ind r0, 0\n");
}

static void gen_imm_chain(jk_bg_text *t, uint32_t n)
{
    /* one block of dependent constants and compares: the range analysis */
    jk_bg_put(t, ".jump_table ep0\nep0: fallthrough\n");
    for (uint32_t i = 0; i < n; i++)
        jk_bg_put(t, "load_imm_64 r%u, 0x%llx\nand_imm r%u, r%u, %u\nset_lt_u_imm r%u, r%u, %u\n", i % 12,
                  (unsigned long long)(0x123456789abull * (i + 1)), (i + 1) % 12, i % 12, i & 0xfff, (i + 2) % 12,
                  (i + 1) % 12, i);
    jk_bg_put(t, "jump_ind r0, 0\n");
}

static void gen_calls(jk_bg_text *t, uint32_t n)
{
    /* n call sites (load_imm_jump to one function, returning through r0):
     * the direct-return analysis and the frame copy */
    table_of(t, "c", n);
    for (uint32_t i = 0; i < n; i++)
        jk_bg_put(t, "load_imm_jump r0, jt(c%u), fn\nc%u: fallthrough\n", i, i);
    jk_bg_put(t, "trap\nfn: add_imm_64 r1, r1, -16\nstore_ind_u64 r0, r1, 0\nload_ind_u64 r0, r1, 0\n"
                 "add_imm_64 r1, r1, 16\njump_ind r0, 0\n");
}

typedef struct compiled {
    double us, kb, code_per_byte, heap_per_byte;
} compiled;

static compiled compile_one(gen_fn gen, uint32_t n)
{
    jk_bg_text t = {0};
    gen(&t, n);
    uint8_t *code;
    size_t len;
    jk_diag diag = {{0}};
    if (jk_pvm_asm(t.s, t.n, &code, &len, &diag) != JK_OK)
        jk_bg_fail("asm: %s", diag.msg);
    free(t.s);
    compiled c = {.us = 1e30, .kb = (double)len / 1024.0};
    for (int r = 0; r < rounds + 2; r++) {
        jk_pvm_program *prog;
        unsigned long long b0 = adv_allocated();
        double t0 = cpu_now();
        jk_bg_check(jk_pvm_program_load(code, len, &prog, &diag), "program_load");
        double us = (cpu_now() - t0) * 1e6;
        c.heap_per_byte = (double)(adv_allocated() - b0) / (double)len;
        if (!prog->jit)
            jk_bg_fail("the recompiler did not take a %zu-byte program", len);
        c.code_per_byte = (double)prog->jit->code_len / (double)len;
        c.us = us < c.us ? us : c.us;
        jk_pvm_program_free(prog);
    }
    free(code);
    return c;
}

static void compile_case(const char *name, gen_fn gen, uint32_t n)
{
    if (only && !strstr(name, only))
        return;
    compiled small = compile_one(gen, n), big = compile_one(gen, 4 * n);
    double growth = (big.us / big.kb) / (small.us / small.kb);
    printf("BENCH adversary_compile prog=%s kb=%.1f us_per_kb=%.1f code_per_byte=%.2f heap_per_byte=%.2f "
           "growth=%.2f\n",
           name, big.kb, big.us / big.kb, big.code_per_byte, big.heap_per_byte, growth);
    fflush(stdout);
    if (growth > compile_worst_growth) {
        compile_worst_growth = growth;
        snprintf(compile_worst, sizeof compile_worst, "%s", name);
    }
    if (big.code_per_byte > code_per_byte_max)
        code_per_byte_max = big.code_per_byte;
}

static void compile_all(uint32_t scale)
{
    compile_case("typical_mix", gen_typical, 2000 * scale);
    compile_case("jump_table", gen_jump_table, 4000 * scale);
    compile_case("every_insn_a_block", gen_every_block, 16000 * scale);
    compile_case("branch_web", gen_branch_web, 3000 * scale);
    compile_case("loops", gen_nested_loops, 1000 * scale);
    compile_case("imm_range_chain", gen_imm_chain, 2000 * scale);
    compile_case("call_sites", gen_calls, 2000 * scale);
}

int main(int argc, char **argv)
{
    jk_bg_set_name("bench_adversary");
    only = getenv("JK_ADV_ONLY");
    bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    if (quick) {
        rounds = 1;
        round_s = 0.001;
    }
    jk_cap_stats s0, s1;
    jk_cap_stats_get(&s0);
    if (!quick && !only) {
        jk_work_demo_fig f;
        jk_work_demo_measure(rounds, &f);
        for (int e = 0; e < ENGINES; e++) {
            typical[e] = (f.seconds[0][e] + f.seconds[1][e]) * 1e9 / (double)(f.gas[0] + f.gas[1]);
            printf("BENCH adversary_typical engine=%s verify_gas=%lld apply_gas_per_transfer=%lld ns_per_gas=%.3f\n",
                   eng_name[e], (long long)(f.gas[0] / f.invocations[0]), (long long)(f.gas[1] / f.invocations[0]),
                   typical[e]);
        }
    }
    for (int e = 0; e < ENGINES; e++) {
        jk_kernel_config cfg = {.engine = e == ENG_JIT ? JK_PVM_ENGINE_JIT : JK_PVM_ENGINE_INTERP};
        jk_bg_check(jk_kernel_new(&cfg, &kern[e]), "kernel");
    }
    host_cheap();
    host_data();
    host_calls();
    pvm_classes();
    compile_all(quick ? 1 : 2);
    for (int e = 0; e < ENGINES; e++)
        jk_kernel_free(kern[e]);
    jk_cap_stats_get(&s1);
    if (s1.live_objects != s0.live_objects)
        jk_bg_fail("%lld cap objects leaked", (long long)(s1.live_objects - s0.live_objects));
    printf("BENCH adversary worst=%s ratio=%.2f typical_interp=%.3f typical_jit=%.3f max_bytes_per_gas=%.2f "
           "bytes_worst=%s compile_worst=%s compile_growth=%.2f code_per_byte_max=%.2f\n",
           worst_op, worst_ratio, typical[0], typical[1], worst_bytes, bytes_op, compile_worst,
           compile_worst_growth, code_per_byte_max);
    return 0;
}
