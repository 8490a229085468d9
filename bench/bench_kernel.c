/*
 * bench_kernel.c — the kernel's benchmarks (`make bench-kernel`), run on
 * bench/kernel/kbench.c built with the SDK (jk_sdk_build_one, -O2).
 *
 *   BENCH kernel_call_halt ns_per_call=<t> pvm_instructions=<n> native_fn_ns=<t> ratio=<call/native>
 *   BENCH kernel_call_chain3 ns_per_call=<t> ratio_to_single=<x>
 *   BENCH kernel_copy_instance_64mib ns_per_copy=<t> small_ns_per_copy=<t> ratio=<big/small>
 *   BENCH kernel_halt_dirty_1_of_16384 ns_per_call=<t> small_ns_per_call=<t> ratio=<big/small> pages_minted=<n>
 *   BENCH kernel_attest served_ns=<t> resume_ns=<t> ratio=<served/resume> in_place=<n>
 *   BENCH kernel_hostcall kind=<k> ns_per_hostcall=<t> calls=<n>
 *
 * call_halt: jk_kernel_call of `ret` (returns its argument at once) on an
 *   instance of the 4 KiB-state image, next to a native C function called
 *   through a volatile function pointer.
 * call_chain3: the root calls A's `chain(2)`; A CALLs B, B CALLs C (host call
 *   CALL from the program), C returns at once and all three HALT. The ratio is
 *   to the call_halt round trip, measured again alongside.
 * copy_instance: MGMT_COPY is jk_cap_retain (plus the release of the copy) of
 *   an instance whose state slot holds a 64 MiB Data its image maps, next to
 *   one holding a 4 KiB Data.
 * halt_dirty: the full call of `touch` (one word written into one page of the
 *   state mapping, then HALT mints that page back) on an instance mapping a
 *   64 MiB Data (16,384 pages), next to one mapping 64 KiB (16 pages). Each
 *   call dirties another page (page = i·7919 mod pages).
 * attest: a verify's shape: the root's `relay_ask` CALLs `ask`, which writes
 *   its state, yields to a kernel marker, and after the answer writes again;
 *   both HALT. served: jk_kernel_call_served answering the yield in place;
 *   resume: jk_kernel_call, then jk_kernel_resume of the Paused result with
 *   the gas left (what the served call stands for). Both must end alike (value,
 *   gas, result root); in_place counts the yields answered in place.
 * hostcall: the round trip of one host call from compiled code, by kind
 *   (data_len, data_read of 48 bytes, cap_kind, data_mint of 32 bytes + drop,
 *   gas): `hostcalls(kind, 256)` next to `hostcalls(kind, 0)`, the
 *   difference over the 256 (512 for mint+drop) host calls. Under
 *   `valgrind --tool=callgrind` each kind's two calls are dumped as profile
 *   parts hostcall_<k> and hostcall_<k>_0 (instructions a host call: their
 *   difference over the calls). BENCH_KERNEL_ONLY=hostcall runs this line
 *   alone.
 *
 * Times: CLOCK_MONOTONIC; each number is the best of 7 rounds (the mean per
 * operation within a round), a round's iteration count calibrated to take
 * about 30 ms. The two numbers of a line are measured in alternating rounds,
 * so that load from elsewhere shifts both rather than their ratio. Every
 * call's outcome and value are checked inside the timed loops; afterwards
 * each line checks what it claims (a copy is usable and a call on it changes
 * only the copy; a touch changes exactly one page of the state, and that page
 * only in the written word), and at the end that every cap value was
 * released. Any failure exits 1.
 *
 * Usage: bench_kernel [SRC_DIR [OUT_DIR]] (defaults bench/kernel, build/bench).
 */
#include "jark/sdk.h"

#include "jark/kernel.h"

#include "bench_cg.h"
#include "bench_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STATE_SLOT 20
#define NEXT_SLOT 21
#define STATE_BASE 0x40000000u
#define CALL_GAS 1000000
#define ROUNDS 7
#define ROUND_S 0.03

enum { EP_RET, EP_CHAIN, EP_TOUCH, EP_ASK, EP_RELAY_ASK, EP_HOSTCALLS };
#define MARKER_SLOT 22

/* Seconds taken by n iterations of some operation. */
typedef double (*loop_fn)(void *ctx, uint64_t n);

/* Iterations that take about ROUND_S, found by doubling (which also warms up). */
static uint64_t calibrate(loop_fn fn, void *ctx)
{
    uint64_t n = 1;
    double t;
    while ((t = fn(ctx, n)) < ROUND_S / 4)
        n *= 2;
    return (uint64_t)((double)n * ROUND_S / t) + 1;
}

/* Nanoseconds per iteration of two operations measured side by side: the
 * best of ROUNDS rounds each, their rounds interleaved so that both see the
 * same machine (other load shifts both, not their ratio). */
static void best_ns2(loop_fn fa, void *ca, double *a, loop_fn fb, void *cb, double *b)
{
    uint64_t na = calibrate(fa, ca), nb = calibrate(fb, cb);
    double best_a = 1e30, best_b = 1e30;
    for (int r = 0; r < ROUNDS; r++) {
        double t = fa(ca, na) / (double)na;
        if (t < best_a)
            best_a = t;
        t = fb(cb, nb) / (double)nb;
        if (t < best_b)
            best_b = t;
    }
    *a = best_a * 1e9;
    *b = best_b * 1e9;
}

/* ---- the program, its images and instances ---- */

static uint8_t *program;
static size_t program_len;

static void build_program(const char *src_dir, const char *out_dir)
{
    char source[512], path[512];
    snprintf(source, sizeof source, "%s/kbench.c", src_dir);
    snprintf(path, sizeof path, "%s/kbench.jkp", out_dir);
    (void)path;
    jk_diag diag = {{0}};
    if (jk_sdk_build_one(source, &program, &program_len, &diag) != JK_OK)
        jk_bu_fail("cannot build %s: %s", source, diag.msg);
}

/* The program's image with a persistent read-write mapping of `size` bytes
 * at STATE_BASE from slot STATE_SLOT. */
static jk_cap image_with_state(uint32_t size)
{
    const jk_cap_mapping state = {STATE_BASE, size, JK_CAP_MAP_PERSISTENT, JK_PVM_ACCESS_WRITE, STATE_SLOT};
    jk_kernel_image_opts opts = {.mappings = &state, .mapping_count = 1};
    jk_cap image;
    jk_diag diag = {{0}};
    if (jk_kernel_image_from_program(program, program_len, &opts, &image, &diag) != JK_OK)
        jk_bu_fail("image: %s", diag.msg);
    return image;
}

/* A genesis instance of image holding state in STATE_SLOT and (unless null)
 * next in NEXT_SLOT. */
static jk_cap instance(jk_cap image, jk_cap state, jk_cap next)
{
    jk_cap cnode, with_state, inst;
    jk_bu_check(jk_cap_cnode_new(JK_CAP_ROOT_LOG2, &cnode), "cnode_new");
    jk_bu_check(jk_cap_cnode_set(cnode, STATE_SLOT, state, &with_state), "cnode_set");
    jk_cap_release(cnode);
    if (!jk_cap_is_null(next)) {
        jk_bu_check(jk_cap_cnode_set(with_state, NEXT_SLOT, next, &cnode), "cnode_set");
        jk_cap_release(with_state);
        with_state = cnode;
    }
    jk_diag diag = {{0}};
    if (jk_cap_instance_genesis(image, with_state, &inst, &diag) != JK_OK)
        jk_bu_fail("genesis: %s", diag.msg);
    jk_cap_release(with_state);
    return inst;
}

/* word w of the state: every word distinct, so every page is too. */
static uint64_t pattern(uint64_t w) { return w * 0x9E3779B97F4A7C15ull + 0x1234567; }

/* A Data of len bytes holding pattern(0), pattern(1), ... */
static jk_cap patterned_data(size_t len)
{
    uint64_t *words = malloc(len);
    if (!words)
        jk_bu_fail("out of memory");
    for (size_t w = 0; w < len / 8; w++)
        words[w] = pattern(w);
    jk_cap d;
    jk_bu_check(jk_cap_data_new(words, len, &d), "data_new");
    free(words);
    return d;
}

static jk_cap state_of(jk_cap inst)
{
    return jk_cap_cnode_get(jk_cap_instance_cnode(inst), STATE_SLOT);
}

static uint64_t read_word(jk_cap data, uint64_t page, uint64_t word)
{
    uint64_t v;
    jk_bu_check(jk_cap_data_read(data, page * JK_CAP_PAGE_SIZE + word * 8, &v, 8), "data_read");
    return v;
}

/* One call that must HALT with `value`; the result is left in *res. */
static void call_ok(jk_kernel *k, jk_cap inst, uint32_t ep, const uint64_t args[3], uint64_t value,
                    jk_kernel_result *res)
{
    jk_err err = jk_kernel_call(k, inst, ep, CALL_GAS, args, jk_cap_null(), res);
    if (err != JK_OK)
        jk_bu_fail("jk_kernel_call(endpoint %u): %s", ep, jk_strerror(err));
    if (res->outcome != JK_KERNEL_HALT)
        jk_bu_fail("endpoint %u ended with outcome %d: %s", ep, (int)res->outcome, res->fault_msg);
    if (res->value != value)
        jk_bu_fail("endpoint %u returned %llu, expected %llu", ep, (unsigned long long)res->value,
            (unsigned long long)value);
}

/* ---- kernel_call_halt ---- */

typedef struct call_ctx {
    jk_kernel *k;
    jk_cap inst;
    uint32_t ep;
    uint64_t arg;       /* chain: the depth */
    uint64_t pages;     /* touch: pages of the state mapping */
    uint64_t next;      /* iteration counter across rounds */
} call_ctx;

static double loop_ret(void *vctx, uint64_t n)
{
    call_ctx *c = vctx;
    double t0 = jk_bu_now();
    for (uint64_t i = 0; i < n; i++) {
        uint64_t args[3] = {c->next++, 0, 0};
        jk_kernel_result r;
        call_ok(c->k, c->inst, EP_RET, args, args[0], &r);
        jk_kernel_result_clear(&r);
    }
    return jk_bu_now() - t0;
}

__attribute__((noinline)) static uint64_t native_ret(uint64_t x) { return x; }
static uint64_t (*volatile native_fn)(uint64_t) = native_ret;

static double loop_native(void *vctx, uint64_t n)
{
    (void)vctx;
    uint64_t sum = 0;
    double t0 = jk_bu_now();
    for (uint64_t i = 0; i < n; i++)
        sum += native_fn(i);
    double t = jk_bu_now() - t0;
    if (sum != n * (n - 1) / 2)
        jk_bu_fail("native baseline summed %llu", (unsigned long long)sum);
    return t;
}

static void bench_call_halt(jk_kernel *k, jk_cap image, jk_cap state)
{
    jk_cap inst = instance(image, state, jk_cap_null());
    jk_kernel_result r;
    uint64_t args[3] = {42, 0, 0};
    call_ok(k, inst, EP_RET, args, 42, &r);
    int64_t instructions = r.gas_used; /* no host calls: 1 gas per instruction */
    if (!jk_cap_equal(state_of(r.instance), state))
        jk_bu_fail("ret changed the state");
    jk_kernel_result_clear(&r);
    call_ctx c = {k, inst, EP_RET, 0, 0, 0};
    double call, native;
    best_ns2(loop_ret, &c, &call, loop_native, NULL, &native);
    printf("BENCH kernel_call_halt ns_per_call=%.0f pvm_instructions=%lld native_fn_ns=%.2f ratio=%.0f\n", call,
           (long long)instructions, native, call / native);
    fflush(stdout);
    jk_cap_release(inst);
}

/* ---- kernel_call_chain3 ---- */

static double loop_chain(void *vctx, uint64_t n)
{
    call_ctx *c = vctx;
    double t0 = jk_bu_now();
    for (uint64_t i = 0; i < n; i++) {
        uint64_t args[3] = {c->arg, 0, 0};
        jk_kernel_result r;
        call_ok(c->k, c->inst, EP_CHAIN, args, c->arg, &r);
        jk_kernel_result_clear(&r);
    }
    return jk_bu_now() - t0;
}

static void bench_chain3(jk_kernel *k, jk_cap image, jk_cap state)
{
    jk_cap ic = instance(image, state, jk_cap_null());
    jk_cap ib = instance(image, state, ic);
    jk_cap ia = instance(image, state, ib);
    /* One call first: all three frames ran and HALTed (C's new value sits in
     * B's new cnode, B's in A's). */
    jk_kernel_result r;
    uint64_t args[3] = {2, 0, 0};
    call_ok(k, ia, EP_CHAIN, args, 2, &r);
    jk_cap b_after = jk_cap_cnode_get(jk_cap_instance_cnode(r.instance), NEXT_SLOT);
    jk_cap c_after = jk_cap_kind_of(b_after) == JK_CAP_INSTANCE
                         ? jk_cap_cnode_get(jk_cap_instance_cnode(b_after), NEXT_SLOT)
                         : jk_cap_null();
    if (jk_cap_kind_of(c_after) != JK_CAP_INSTANCE || jk_cap_instance_status(b_after) != JK_CAP_IDLE ||
        jk_cap_instance_status(c_after) != JK_CAP_IDLE)
        jk_bu_fail("chain: B and C are not Idle instances after the call");
    jk_kernel_result_clear(&r);
    /* The single call again, interleaved with the chain, for the ratio. */
    jk_cap single = instance(image, state, jk_cap_null());
    call_ctx c = {k, ia, EP_CHAIN, 2, 0, 0}, c1 = {k, single, EP_RET, 0, 0, 0};
    double ns, single_ns;
    best_ns2(loop_chain, &c, &ns, loop_ret, &c1, &single_ns);
    printf("BENCH kernel_call_chain3 ns_per_call=%.0f ratio_to_single=%.2f\n", ns, ns / single_ns);
    fflush(stdout);
    jk_cap_release(single);
    jk_cap_release(ia);
    jk_cap_release(ib);
    jk_cap_release(ic);
}

/* ---- kernel_copy_instance_64mib ---- */

static double loop_copy(void *vctx, uint64_t n)
{
    jk_cap inst = *(jk_cap *)vctx;
    double t0 = jk_bu_now();
    for (uint64_t i = 0; i < n; i++) {
        jk_cap copy = jk_cap_retain(inst);
        __asm__ volatile("" : : "r"(copy.body) : "memory");
        jk_cap_release(copy);
    }
    return jk_bu_now() - t0;
}

/* A copy of inst is the very same value, and a call on it (touch: one word of
 * page `page`) gives a new value while inst still holds the old state. */
static void check_copy(jk_kernel *k, jk_cap inst, uint64_t page)
{
    jk_cap copy = jk_cap_retain(inst);
    if (!jk_cap_same(copy, inst) || jk_cap_instance_status(copy) != JK_CAP_IDLE)
        jk_bu_fail("copy: not the same Idle instance");
    jk_cap old_state = state_of(inst);
    const uint8_t *old_page = jk_cap_data_page(old_state, (uint32_t)page);
    jk_kernel_result r;
    uint64_t args[3] = {page, 5, 0xC0DEC0DEull};
    call_ok(k, copy, EP_TOUCH, args, page, &r);
    if (read_word(state_of(r.instance), page, 5) != 0xC0DEC0DEull)
        jk_bu_fail("copy: the call on the copy did not write its state");
    if (!jk_cap_same(state_of(inst), old_state) || jk_cap_data_page(old_state, (uint32_t)page) != old_page ||
        read_word(old_state, page, 5) != pattern(page * 512 + 5) || !jk_cap_same(copy, inst))
        jk_bu_fail("copy: a call on the copy changed the original");
    jk_kernel_result_clear(&r);
    jk_cap_release(copy);
}

static void bench_copy(jk_kernel *k, jk_cap big_image, jk_cap big_state, jk_cap small_image, jk_cap small_state)
{
    jk_cap big = instance(big_image, big_state, jk_cap_null());
    jk_cap small = instance(small_image, small_state, jk_cap_null());
    double b, s;
    best_ns2(loop_copy, &big, &b, loop_copy, &small, &s);
    check_copy(k, big, 9999);
    check_copy(k, small, 0);
    printf("BENCH kernel_copy_instance_64mib ns_per_copy=%.2f small_ns_per_copy=%.2f ratio=%.2f\n", b, s, b / s);
    fflush(stdout);
    jk_cap_release(big);
    jk_cap_release(small);
}

/* ---- kernel_halt_dirty_1_of_16384 ---- */

static double loop_touch(void *vctx, uint64_t n)
{
    call_ctx *c = vctx;
    double t0 = jk_bu_now();
    for (uint64_t i = 0; i < n; i++) {
        uint64_t page = (c->next * 7919) % c->pages;
        uint64_t args[3] = {page, c->next & 511, c->next};
        c->next++;
        jk_kernel_result r;
        call_ok(c->k, c->inst, EP_TOUCH, args, page, &r);
        jk_kernel_result_clear(&r);
    }
    return jk_bu_now() - t0;
}

/* Touch one word of one page; the new state must differ from the old in that
 * page only (page pointers of every other page equal: shared, not copied),
 * and that page only in the written word. Returns the pages that differ. */
static uint32_t check_touch(jk_kernel *k, jk_cap inst, uint32_t page)
{
    jk_cap old_state = state_of(inst);
    uint32_t pages = jk_cap_data_page_count(old_state);
    jk_kernel_result r;
    uint64_t args[3] = {page, 77, 0xFEEDFACECAFEBEEFull};
    call_ok(k, inst, EP_TOUCH, args, page, &r);
    jk_cap new_state = state_of(r.instance);
    const uint8_t **a = malloc(pages * sizeof *a), **b = malloc(pages * sizeof *b);
    if (!a || !b)
        jk_bu_fail("out of memory");
    jk_bu_check(jk_cap_data_pages(old_state, 0, pages, a), "data_pages");
    jk_bu_check(jk_cap_data_pages(new_state, 0, pages, b), "data_pages");
    uint32_t changed = 0;
    for (uint32_t i = 0; i < pages; i++) {
        if (a[i] == b[i])
            continue;
        changed++;
        if (i != page)
            jk_bu_fail("touch of page %u also changed page %u", page, i);
    }
    if (jk_cap_data_len(new_state) != jk_cap_data_len(old_state))
        jk_bu_fail("touch changed the state's length");
    if (read_word(new_state, page, 77) != 0xFEEDFACECAFEBEEFull)
        jk_bu_fail("the written word is not in the minted state");
    for (uint64_t w = 0; w < 512; w++)
        if (w != 77 && read_word(new_state, page, w) != pattern(page * 512 + w))
            jk_bu_fail("word %llu of the touched page changed", (unsigned long long)w);
    if (read_word(old_state, page, 77) != pattern(page * 512 + 77))
        jk_bu_fail("the old state changed");
    free(a);
    free(b);
    jk_kernel_result_clear(&r);
    return changed;
}

static void bench_halt_dirty(jk_kernel *k, jk_cap big_image, jk_cap big_state, jk_cap small_image,
                             jk_cap small_state)
{
    jk_cap big = instance(big_image, big_state, jk_cap_null());
    jk_cap small = instance(small_image, small_state, jk_cap_null());
    call_ctx cb = {k, big, EP_TOUCH, 0, jk_cap_data_page_count(big_state), 0};
    call_ctx cs = {k, small, EP_TOUCH, 0, jk_cap_data_page_count(small_state), 0};
    double b, s;
    best_ns2(loop_touch, &cb, &b, loop_touch, &cs, &s);
    uint32_t minted = check_touch(k, big, 12345);
    if (minted != 1 || check_touch(k, small, 11) != 1)
        jk_bu_fail("a one-word touch minted %u pages", minted);
    printf("BENCH kernel_halt_dirty_1_of_%u ns_per_call=%.0f small_ns_per_call=%.0f ratio=%.2f pages_minted=%u\n",
           jk_cap_data_page_count(big_state), b, s, b / s, minted);
    fflush(stdout);
    jk_cap_release(big);
    jk_cap_release(small);
}

/* ---- kernel_attest ---- */

static jk_err serve_yes(void *ctx, jk_cap marker, jk_cap request, bool *resume, jk_cap *answer)
{
    (void)request;
    (void)answer;
    *resume = jk_cap_equal(marker, *(const jk_cap *)ctx);
    return JK_OK;
}

typedef struct attest_ctx {
    jk_kernel *k;
    jk_cap inst, marker;
    bool served;
    int64_t gas_used;
    jk_hash root;
} attest_ctx;

/* One attested invocation, served in place or paused and resumed. */
static void attest_once(attest_ctx *c, uint64_t x, bool record)
{
    uint64_t args[3] = {x, 0, 0};
    jk_kernel_result r;
    jk_err err;
    if (c->served) {
        err = jk_kernel_call_served(c->k, c->inst, EP_RELAY_ASK, CALL_GAS, args, jk_cap_null(), serve_yes,
                                    &c->marker, &r);
    } else {
        err = jk_kernel_call(c->k, c->inst, EP_RELAY_ASK, CALL_GAS, args, jk_cap_null(), &r);
        if (err == JK_OK && r.outcome == JK_KERNEL_YIELDED) {
            int64_t used = r.gas_used;
            jk_cap paused = jk_cap_retain(r.instance);
            jk_kernel_result_clear(&r);
            err = jk_kernel_resume(c->k, paused, CALL_GAS - used, jk_cap_null(), &r);
            jk_cap_release(paused);
            r.gas_used += used;
        }
    }
    if (err != JK_OK || r.outcome != JK_KERNEL_HALT || r.value != x + 2)
        jk_bu_fail("attest (%s) ended with %d, outcome %d: %s", c->served ? "served" : "resume", (int)err,
            (int)r.outcome, r.fault_msg);
    c->gas_used = r.gas_used;
    if (record) /* hashing the result is not part of the call */
        jk_cap_hash(r.instance, &c->root);
    jk_kernel_result_clear(&r);
}

static double loop_attest(void *vctx, uint64_t n)
{
    attest_ctx *c = vctx;
    double t0 = jk_bu_now();
    for (uint64_t i = 0; i < n; i++)
        attest_once(c, 5, false);
    return jk_bu_now() - t0;
}

static void bench_attest(jk_kernel *k, jk_cap image, jk_cap state)
{
    jk_cap marker, cnode, with_marker, asker;
    jk_bu_check(jk_kernel_mint_marker(k, 1, &marker), "mint_marker");
    jk_cap plain = instance(image, state, jk_cap_null());
    cnode = jk_cap_instance_cnode(plain);
    jk_bu_check(jk_cap_cnode_set(cnode, MARKER_SLOT, marker, &with_marker), "cnode_set");
    jk_bu_check(jk_cap_instance_with_cnode(plain, with_marker, &asker, NULL), "with_cnode");
    jk_cap relay = instance(image, state, asker);
    attest_ctx served = {k, relay, marker, true, 0, {{0}}}, resumed = served;
    resumed.served = false;
    uint64_t before = jk_kernel_served_in_place(k);
    attest_once(&served, 5, true);
    if (jk_kernel_served_in_place(k) != before + 1)
        jk_bu_fail("the attest was not served in place");
    attest_once(&resumed, 5, true);
    if (served.gas_used != resumed.gas_used || memcmp(served.root.bytes, resumed.root.bytes, JK_HASH_SIZE))
        jk_bu_fail("served and resumed attests differ (gas %lld / %lld)", (long long)served.gas_used,
            (long long)resumed.gas_used);
    double s, r;
    best_ns2(loop_attest, &served, &s, loop_attest, &resumed, &r);
    printf("BENCH kernel_attest served_ns=%.0f resume_ns=%.0f ratio=%.2f in_place=%llu\n", s, r, s / r,
           (unsigned long long)(jk_kernel_served_in_place(k) - before));
    fflush(stdout);
    jk_cap_release(relay);
    jk_cap_release(asker);
    jk_cap_release(with_marker);
    jk_cap_release(plain);
    jk_cap_release(marker);
}

/* ---- kernel_hostcall ---- */

#define HOSTCALLS 256

static double loop_hostcalls(void *vctx, uint64_t n)
{
    call_ctx *c = vctx;
    double t0 = jk_bu_now();
    for (uint64_t i = 0; i < n; i++) {
        uint64_t args[3] = {c->arg, c->pages, 0};
        jk_kernel_result r;
        call_ok(c->k, c->inst, EP_HOSTCALLS, args, c->pages, &r);
        jk_kernel_result_clear(&r);
    }
    return jk_bu_now() - t0;
}

static void bench_hostcall(jk_kernel *k, jk_cap image, jk_cap state)
{
    static const char *const kinds[] = {"data_len", "data_read", "cap_kind", "data_mint_drop", "gas"};
    jk_cap inst = instance(image, state, jk_cap_null());
    uint64_t served = jk_kernel_hostcalls_in_code(k);
    for (uint64_t kind = 0; kind < sizeof kinds / sizeof kinds[0]; kind++) {
        call_ctx many = {k, inst, EP_HOSTCALLS, kind, HOSTCALLS, 0}, none = {k, inst, EP_HOSTCALLS, kind, 0, 0};
        unsigned calls = kind == 3 ? 2 * HOSTCALLS : HOSTCALLS;
        char name[64];
        loop_hostcalls(&many, 1); /* warm: the parts count only the calls */
        for (int part = 0; part < 2; part++) { /* callgrind's parts (nothing outside valgrind) */
            snprintf(name, sizeof name, "hostcall_%s%s", kinds[kind], part ? "_0" : "");
            JK_BENCH_CG_START();
            loop_hostcalls(part ? &none : &many, 1);
            JK_BENCH_CG_DUMP(name);
        }
        double a, b;
        best_ns2(loop_hostcalls, &many, &a, loop_hostcalls, &none, &b);
        printf("BENCH kernel_hostcall kind=%s ns_per_hostcall=%.1f calls=%u\n", kinds[kind], (a - b) / calls,
               calls);
        fflush(stdout);
    }
    /* the compiled code served them (not an exit and an entry each) */
    if (jk_kernel_hostcalls_in_code(k) - served < 5 * HOSTCALLS)
        jk_bu_fail("the host calls were not served in compiled code");
    jk_cap_release(inst);
}

int main(int argc, char **argv)
{
    jk_bu_set_name("bench_kernel");
    const char *src_dir = argc > 1 ? argv[1] : "bench/kernel";
    const char *out_dir = argc > 2 ? argv[2] : "build/bench";
    jk_bu_check(jk_crypto_init(), "crypto init");
    build_program(src_dir, out_dir);

    jk_cap_stats s0;
    jk_cap_stats_get(&s0);
    jk_kernel *k;
    jk_bu_check(jk_kernel_new(NULL, &k), "kernel_new");
    const uint32_t big = 64u << 20, mid = 64u << 10, small = 4u << 10;
    jk_cap big_image = image_with_state(big), mid_image = image_with_state(mid), small_image = image_with_state(small);
    jk_cap big_state = patterned_data(big), mid_state = patterned_data(mid), small_state = patterned_data(small);

    const char *only = getenv("BENCH_KERNEL_ONLY");
    if (!only || strcmp(only, "hostcall")) {
        bench_call_halt(k, small_image, small_state);
        bench_chain3(k, small_image, small_state);
        bench_copy(k, big_image, big_state, small_image, small_state);
        bench_halt_dirty(k, big_image, big_state, mid_image, mid_state);
        bench_attest(k, small_image, small_state);
    }
    bench_hostcall(k, small_image, small_state);

    jk_cap caps[] = {big_image, mid_image, small_image, big_state, mid_state, small_state};
    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++)
        jk_cap_release(caps[i]);
    jk_kernel_free(k);
    jk_cap_stats s1;
    jk_cap_stats_get(&s1);
    if (s1.live_objects != s0.live_objects)
        jk_bu_fail("%lld cap objects leaked", (long long)(s1.live_objects - s0.live_objects));
    free(program);
    return 0;
}
