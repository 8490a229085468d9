/* test_kernel_runs.c — a verify's entries into compiled code (session 15,
 * docs/kernel.md "The event's program, session 15"): DERIVE_SPAWN and a
 * YIELD the embedder answers in place are served at the `ecalli`, without
 * the run's exit and re-entry, and nothing else may tell. The entries are
 * counted (jk_kernel_runs); what a guest sees is compared with the
 * interpreter's, which never serves a host call in the code, under gas
 * sweeps that put out-of-gas at every price and page touch. */
#include "kfix.h"
#include "../test.h"

#include <string.h>

#if defined(__x86_64__) && defined(__linux__)
#define KR_JIT 1 /* the recompiler runs here: entries are counted exactly */
#else
#define KR_JIT 0
#endif

static bool kr_same_cap(jk_cap a, jk_cap b)
{
    return jk_cap_is_null(a) ? jk_cap_is_null(b) : !jk_cap_is_null(b) && jk_cap_equal(a, b);
}

/* A script on an instance with an Image in IMAGE_SLOT and a Data in slot 30,
 * on both kernels at `gas`: every observable alike. Returns the outcome. */
static int kr_both(jk_kernel *ki, jk_kernel *kj, jk_cap image, jk_cap data, const kt_op *ops, size_t nops,
                   int64_t gas)
{
    uint32_t slots[2] = {IMAGE_SLOT, 30};
    jk_cap caps[2] = {image, data};
    jk_kernel_result ri, rj;
    jk_err ei = kt_script_with(ki, image, 2, slots, caps, ops, nops, jk_cap_null(), gas, &ri);
    jk_err ej = kt_script_with(kj, image, 2, slots, caps, ops, nops, jk_cap_null(), gas, &rj);
    JK_CHECK(ei == JK_OK && ej == JK_OK);
    if (ei != JK_OK || ej != JK_OK)
        return -1;
    JK_CHECK_EQ(ri.outcome, rj.outcome);
    JK_CHECK_EQ(ri.value, rj.value);
    JK_CHECK_EQ(ri.gas_used, rj.gas_used);
    JK_CHECK_EQ(ri.fault, rj.fault);
    JK_CHECK(!strcmp(ri.fault_msg, rj.fault_msg));
    JK_CHECK(kr_same_cap(ri.instance, rj.instance));
    JK_CHECK(kr_same_cap(ri.slot0, rj.slot0));
    if (ri.gas_used != rj.gas_used || !kr_same_cap(ri.instance, rj.instance))
        printf("  differs at gas %lld: outcome %d/%d used %lld/%lld (%s | %s)\n", (long long)gas, ri.outcome,
               rj.outcome, (long long)ri.gas_used, (long long)rj.gas_used, ri.fault_msg, rj.fault_msg);
    int outcome = (int)ri.outcome;
    jk_kernel_result_clear(&ri);
    jk_kernel_result_clear(&rj);
    return outcome;
}

/* The script at plenty of gas (it must end in `want`), then at every gas
 * value over its last few thousand units and a stride below. */
static void kr_sweep(jk_kernel *ki, jk_kernel *kj, jk_cap image, jk_cap data, const kt_op *ops, size_t nops,
                     int want)
{
    JK_CHECK_EQ(kr_both(ki, kj, image, data, ops, nops, 10000000), want);
    jk_kernel_result r;
    uint32_t slots[2] = {IMAGE_SLOT, 30};
    jk_cap caps[2] = {image, data};
    JK_REQUIRE(kt_script_with(ki, image, 2, slots, caps, ops, nops, jk_cap_null(), 10000000, &r) == JK_OK);
    int64_t full = r.gas_used;
    jk_kernel_result_clear(&r);
    int64_t fine = full > 3000 ? full - 3000 : 0;
    for (int64_t gas = 0; gas <= full + 2; gas += gas < fine ? 89 : 1)
        kr_both(ki, kj, image, data, ops, nops, gas);
}

/* DERIVE_SPAWN is served in compiled code (loop.c, jk_local_hostcall):
 * one entry for a script that spawns, where the loop's way took two; its
 * refusals — no Image, a CNode of the wrong size, a taken or malformed
 * destination, the CNode onto itself — and its price decided alike. */
JK_TEST(test_kernel_runs_spawn_in_code)
{
    kt_env e;
    JK_REQUIRE(kt_begin(&e));
    jk_kernel *ki, *kj;
    JK_REQUIRE(kt_kernel_pair(&ki, &kj));
    jk_cap data;
    JK_REQUIRE(jk_cap_data_new("0123456789abcdef", 16, &data) == JK_OK);
    const kt_op spawn[] = {
        {JK_HOST_CNODE_MINT, 34, 8, 0, 0},
        {JK_HOST_MOVE, 30, P2(34, 20), 0, 0},
        {JK_HOST_DERIVE_SPAWN, IMAGE_SLOT, 34, 35, 0},
        {JK_HOST_CAP_KIND, 35, 0, 0, 0},
        {JK_HOST_CNODE_MINT, 36, 8, 0, 0},
        {JK_HOST_DERIVE_SPAWN, IMAGE_SLOT, 36, P2(34, 1), 0}, /* through slot 34, emptied by the first */
    };
    /* the first four alone: served in the code, one entry */
    uint32_t slots[2] = {IMAGE_SLOT, 30};
    jk_cap caps[2] = {e.image, data};
    jk_kernel_result r;
    uint64_t runs = jk_kernel_runs(kj);
    JK_REQUIRE(kt_script_with(kj, e.image, 2, slots, caps, spawn, 4, jk_cap_null(), 10000000, &r) == JK_OK);
    JK_CHECK_EQ(r.outcome, JK_KERNEL_HALT);
    JK_CHECK_EQ(r.value, JK_CAP_INSTANCE); /* CAP_KIND of the spawned instance */
    jk_kernel_result_clear(&r);
    if (KR_JIT)
        JK_CHECK_EQ(jk_kernel_runs(kj) - runs, 1);
    runs = jk_kernel_runs(ki);
    JK_REQUIRE(kt_script_with(ki, e.image, 2, slots, caps, spawn, 4, jk_cap_null(), 10000000, &r) == JK_OK);
    jk_kernel_result_clear(&r);
    /* the interpreter leaves at every host call: the script's read of
     * itself (2) and its 4 calls */
    JK_CHECK_EQ(jk_kernel_runs(ki) - runs, 7);
    kr_sweep(ki, kj, e.image, data, spawn, 4, JK_KERNEL_HALT);
    /* the sixth spawns through slot 34, which the first spawn emptied
     * (its CNode consumed): refused, a fault */
    kr_sweep(ki, kj, e.image, data, spawn, 6, JK_KERNEL_FAULT);
    const kt_op refused[][2] = {
        {{JK_HOST_CNODE_MINT, 34, 8, 0, 0}, {JK_HOST_DERIVE_SPAWN, 30, 34, 35, 0}},         /* no Image */
        {{JK_HOST_CNODE_MINT, 34, 7, 0, 0}, {JK_HOST_DERIVE_SPAWN, IMAGE_SLOT, 34, 35, 0}}, /* 128 slots */
        {{JK_HOST_CNODE_MINT, 34, 8, 0, 0}, {JK_HOST_DERIVE_SPAWN, IMAGE_SLOT, 34, 30, 0}}, /* taken */
        {{JK_HOST_CNODE_MINT, 34, 8, 0, 0}, {JK_HOST_DERIVE_SPAWN, IMAGE_SLOT, 34, 34, 0}}, /* onto itself */
        {{JK_HOST_CNODE_MINT, 34, 8, 0, 0}, {JK_HOST_DERIVE_SPAWN, IMAGE_SLOT, 34, (1ull << 59) | 35, 0}},
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        kr_sweep(ki, kj, e.image, data, refused[i], 2, JK_KERNEL_FAULT);
    jk_cap_release(data);
    jk_kernel_free(ki);
    jk_kernel_free(kj);
    KT_END(&e);
}

static jk_err kr_answer(void *ctx, jk_cap marker, jk_cap request, bool *resume, jk_cap *answer)
{
    (void)ctx;
    (void)marker;
    (void)request;
    *resume = true;
    return jk_cap_data_new("ok", 2, answer);
}

/* A YIELD to the kernel's marker that the embedder answers in place (the
 * AA's attest) is served at the `ecalli` (loop.c, jk_serve_yield): the
 * asker called directly runs in one entry, a relay that calls it in three
 * (the relay, the asker, the relay again after the asker's HALT), where
 * the loop's way took one more each; the interpreter, which leaves its
 * run at every host call, two more each (the YIELD and the answer's
 * DATA_READ). What the guest sees is test_kernel_serve.c's to compare (both
 * ways, every gas). */
JK_TEST(test_kernel_runs_yield_in_code)
{
    kt_env e;
    JK_REQUIRE(kt_begin(&e));
    jk_kernel *ki, *kj;
    JK_REQUIRE(kt_kernel_pair(&ki, &kj));
    jk_kernel *ks[2] = {ki, kj};
    for (int w = 0; w < 2; w++) {
        jk_kernel *k = ks[w];
        jk_cap marker;
        JK_REQUIRE(jk_kernel_mint_marker(k, 1, &marker) == JK_OK);
        uint32_t s22[1] = {MARKER_SLOT}, s21[1] = {CALLEE_SLOT};
        jk_cap asker = kt_inst(e.image, 1, s22, &marker);
        jk_cap relay = kt_inst(e.image, 1, s21, &asker);
        jk_kernel_result r;
        uint64_t runs = jk_kernel_runs(k), served = jk_kernel_served_in_place(k);
        JK_CHECK(jk_kernel_call_served(k, asker, EP_ASK, 1000000, NULL, jk_cap_null(), kr_answer, NULL, &r) ==
                 JK_OK);
        JK_CHECK_EQ(r.outcome, JK_KERNEL_HALT);
        jk_kernel_result_clear(&r);
        JK_CHECK_EQ(jk_kernel_served_in_place(k) - served, 1);
        bool jit = w == 1 && KR_JIT;
        JK_CHECK_EQ(jk_kernel_runs(k) - runs, jit ? 1 : 3); /* the interpreter: + its YIELD and DATA_READ */
        uint64_t args[3] = {EP_ASK, 500000, 0};
        runs = jk_kernel_runs(k);
        JK_CHECK(jk_kernel_call_served(k, relay, EP_RELAY, 2000000, args, jk_cap_null(), kr_answer, NULL, &r) ==
                 JK_OK);
        JK_CHECK_EQ(r.outcome, JK_KERNEL_HALT);
        jk_kernel_result_clear(&r);
        JK_CHECK_EQ(jk_kernel_runs(k) - runs, jit ? 3 : 5);
        jk_cap_release(relay);
        jk_cap_release(asker);
        jk_cap_release(marker);
    }
    jk_kernel_free(ki);
    jk_kernel_free(kj);
    KT_END(&e);
}
