/*
 * test_adv_chain.c — hostile chain programs against the host's bounds: the
 * test chain of tests/chain/progs with its verify replaced by one of
 * tests/adversary/progs. Whatever a role does, the host must not spend more
 * than the role's gas pays for (bytes allocated within 2 MiB + 32 bytes per
 * unit of the budget, docs/abi.md "Peak memory"), and the event must be
 * refused with a reason and the pool left as it was.
 */
#include "../chain/chain_test_util.h"
#include "adv_alloc.h"

#include <stdlib.h>

/* The test chain (chain_test_util.h), its programs as opts says, on one
 * validator with 3 M block gas; key (seed 1) signs the events; ck has run
 * setup_cycle. */
typedef struct adv_chain {
    jk_test_chain tc;
    jk_hash genesis;
    const jk_chain_genesis *tg;
    uint8_t pk[32], sk[64];
    jk_chain_kernel *ck;
} adv_chain;

static bool adv_chain_open(adv_chain *a, const jk_test_chain_opts *opts)
{
    memset(a, 0, sizeof *a);
    if (!jk_test_chain_make(&a->tc, opts))
        return false;
    a->tg = jk_test_genesis(&a->tc, 1, 3000000, &a->genesis);
    jk_test_key(1, a->pk, a->sk);
    return a->tg && jk_chain_kernel_new(a->tg, jk_cap_null(), &a->ck, NULL) == JK_OK &&
           jk_chain_setup_cycle(a->ck, NULL) == JK_OK;
}

static void adv_chain_close(adv_chain *a)
{
    if (a->ck) {
        jk_chain_teardown(a->ck);
        jk_chain_kernel_free(a->ck);
    }
    jk_test_chain_free(&a->tc);
}

/* An attest storm: verify attests the same 1 MiB blob until its 1 M gas runs
 * out — one CALL of the AA and one YIELD an attest, a few hundred gas, while
 * the host reads and hashes the whole blob for each (H(tag ‖ genesis ‖ blob)
 * to find the trace). The host's work must stay what the gas pays for. */
JK_TEST(test_adv_chain_verify_attest_storm)
{
    static const jk_test_chain_opts opts = {.verify = "tests/adversary/progs/verify_storm.c"};
    adv_chain a;
    JK_REQUIRE(adv_chain_open(&a, &opts));
    const jk_chain_genesis *tg = a.tg;
    jk_chain_kernel *ck = a.ck;
    static const size_t sizes[2] = {64, JK_CHAIN_MAX_BLOB};
    for (int s = 0; s < 2; s++) {
        size_t len = sizes[s];
        uint8_t *blob = calloc(1, len);
        JK_REQUIRE(blob);
        memcpy(blob, a.pk, 32);
        blob[32] = 'T';
        jk_chain_trace tr;
        jk_chain_trace_sign(a.sk, &a.genesis, blob, len, &tr);
        jk_chain_event ev = {JK_CHAIN_ENDPOINT_TRANSACT, blob, len};
        bool admitted = true;
        jk_diag why = {{0}};
        uint64_t b0 = adv_allocated();
        JK_CHECK(jk_chain_handle_incoming_event(ck, &ev, &tr, 1, &admitted, &why) == JK_OK);
        uint64_t bytes = adv_allocated() - b0;
        JK_CHECK(!admitted); /* it never halts */
        JK_CHECK(why.msg[0] != 0);
        JK_CHECK_EQ(ck->pool_count, 0);
        /* the blob itself is copied a few times (the event, its Data) */
        uint64_t bound = adv_bound(tg->gas.verify) + 8 * (uint64_t)len;
        if (bytes > bound)
            jk_test_fail(__FILE__, __LINE__, "a %zu-byte attest storm: the host allocated %llu bytes for %lld gas",
                         len, (unsigned long long)bytes, (long long)tg->gas.verify);
        if (getenv("JK_ADV_REPORT"))
            printf("ADV verify attest storm, %zu-byte blob: bytes=%llu (%.1f per gas) why=%s\n", len,
                   (unsigned long long)bytes, (double)bytes / (double)tg->gas.verify, why.msg);
        free(blob);
    }
    adv_chain_close(&a);
}

/* An emit flood: process takes a 1 MiB dispatch blob and emits it 300 times
 * (one entry COPYed into 300 slots: ~100 k gas), and the host read every
 * emit's blob out into a fresh copy before routing (the queue keeps up to
 * 1,024): 300 MiB and more for 1 M gas. */
JK_TEST(test_adv_chain_process_emit_flood)
{
    static const jk_test_chain_opts opts = {.process = "tests/adversary/progs/process_flood.c"};
    adv_chain a;
    JK_REQUIRE(adv_chain_open(&a, &opts));
    const jk_chain_genesis *tg = a.tg;
    jk_chain_kernel *ck = a.ck;
    size_t len = JK_CHAIN_MAX_BLOB;
    uint8_t *blob = calloc(1, len);
    JK_REQUIRE(blob);
    memcpy(blob, a.pk, 32);
    blob[32] = 'D';
    jk_chain_trace tr;
    jk_chain_trace_sign(a.sk, &a.genesis, blob, len, &tr);
    jk_chain_event ev = {jk_chain_endpoint_dispatch(0), blob, len};
    bool admitted = false;
    jk_diag why = {{0}};
    JK_REQUIRE(jk_chain_handle_incoming_event(ck, &ev, &tr, 1, &admitted, &why) == JK_OK);
    JK_REQUIRE(admitted);
    uint64_t processed[JK_CHAIN_MAX_DISPATCH_ENDPOINTS];
    uint64_t b0 = adv_allocated();
    JK_CHECK(jk_chain_run_cycle_process(ck, processed) == JK_OK);
    uint64_t bytes = adv_allocated() - b0;
    JK_CHECK_EQ(processed[0], 300); /* process halted: its emits were read */
    uint64_t bound = adv_bound(tg->gas.process) + 8 * (uint64_t)len;
    if (bytes > bound)
        jk_test_fail(__FILE__, __LINE__, "an emit flood: the host allocated %llu bytes for %lld gas",
                     (unsigned long long)bytes, (long long)tg->gas.process);
    if (getenv("JK_ADV_REPORT"))
        printf("ADV process emit flood, 300 x 1 MiB: bytes=%llu (%.1f per gas)\n", (unsigned long long)bytes,
               (double)bytes / (double)tg->gas.process);
    free(blob);
    adv_chain_close(&a);
}

/* Events at and past every admission bound (docs/chain-design.md
 * "Admission bounds"): past one, refused with a reason before any work —
 * no copy of the blob, no verify — and the pool unchanged. */
JK_TEST(test_adv_chain_events_at_the_bounds)
{
    adv_chain a;
    JK_REQUIRE(adv_chain_open(&a, NULL));
    const jk_chain_genesis *tg = a.tg;
    jk_chain_kernel *ck = a.ck;
    size_t max = JK_CHAIN_MAX_BLOB;
    uint8_t *blob = calloc(1, max + 1);
    JK_REQUIRE(blob);
    memcpy(blob, a.pk, 32);
    blob[32] = 'T';
    uint32_t ntr = tg->max_event_traces;
    jk_chain_trace *traces = calloc(ntr + 1, sizeof *traces);
    JK_REQUIRE(traces);
    for (uint32_t i = 0; i <= ntr; i++)
        jk_chain_trace_sign(a.sk, &a.genesis, blob, max, &traces[i]);
    static const struct {
        const char *what;
        int endpoint; /* -1: transact; else dispatch k */
        size_t len;
        uint32_t traces;
        bool admitted;
    } cases[] = {
        {"a blob of 1 MiB + 1", -1, JK_CHAIN_MAX_BLOB + 1, 1, false},
        {"one trace more than max_event_traces", -1, JK_CHAIN_MAX_BLOB, 0 /* max + 1 */, false},
        {"an unknown dispatch endpoint", 1, 64, 1, false},
        {"a blob of 1 MiB with max_event_traces traces", -1, JK_CHAIN_MAX_BLOB, UINT32_MAX /* max */, true},
        {"the same again (a duplicate)", -1, JK_CHAIN_MAX_BLOB, 1, false},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        uint32_t n = cases[c].traces == 0 ? ntr + 1 : cases[c].traces == UINT32_MAX ? ntr : cases[c].traces;
        jk_chain_event ev = {cases[c].endpoint < 0 ? JK_CHAIN_ENDPOINT_TRANSACT
                                                   : jk_chain_endpoint_dispatch((uint32_t)cases[c].endpoint),
                             blob, cases[c].len};
        size_t pooled = ck->pool_count;
        bool admitted = !cases[c].admitted;
        jk_diag why = {{0}};
        uint64_t b0 = adv_allocated();
        JK_CHECK(jk_chain_handle_incoming_event(ck, &ev, traces, n, &admitted, &why) == JK_OK);
        uint64_t bytes = adv_allocated() - b0;
        if (admitted != cases[c].admitted)
            jk_test_fail(__FILE__, __LINE__, "%s: admitted %d (%s)", cases[c].what, admitted, why.msg);
        if (!admitted) {
            JK_CHECK(why.msg[0] != 0);
            JK_CHECK_EQ(ck->pool_count, pooled);
            if (bytes > 64 * 1024) /* refused before any copy of the blob */
                jk_test_fail(__FILE__, __LINE__, "%s: refused after allocating %llu bytes", cases[c].what,
                             (unsigned long long)bytes);
        }
        if (getenv("JK_ADV_REPORT"))
            printf("ADV event %-48s admitted=%d bytes=%llu why=%s\n", cases[c].what, admitted,
                   (unsigned long long)bytes, why.msg);
    }
    free(traces);
    free(blob);
    adv_chain_close(&a);
}

/* process that never halts: run_cycle_process goes on (the endpoint reports
 * UINT64_MAX, nothing it did survives), within its budget. */
JK_TEST(test_adv_chain_process_spins)
{
    static const jk_test_chain_opts opts = {.process = "tests/adversary/progs/process_spin.c"};
    adv_chain a;
    JK_REQUIRE(adv_chain_open(&a, &opts));
    const jk_chain_genesis *tg = a.tg;
    jk_chain_kernel *ck = a.ck;
    uint8_t blob[64];
    size_t len = jk_blob(blob, a.pk, 'D', "spin");
    jk_chain_trace tr;
    jk_chain_trace_sign(a.sk, &a.genesis, blob, len, &tr);
    jk_chain_event ev = {jk_chain_endpoint_dispatch(0), blob, len};
    bool admitted = false;
    JK_REQUIRE(jk_chain_handle_incoming_event(ck, &ev, &tr, 1, &admitted, NULL) == JK_OK && admitted);
    jk_cap before = jk_cap_retain(ck->chain);
    uint64_t processed[JK_CHAIN_MAX_DISPATCH_ENDPOINTS];
    uint64_t b0 = adv_allocated();
    JK_CHECK(jk_chain_run_cycle_process(ck, processed) == JK_OK);
    uint64_t bytes = adv_allocated() - b0;
    JK_CHECK_EQ(processed[0], UINT64_MAX);
    JK_CHECK_EQ(ck->pool_count, 0);
    JK_CHECK(jk_cap_same(ck->chain, before));
    JK_CHECK(bytes <= adv_bound(tg->gas.process));
    jk_cap_release(before);
    adv_chain_close(&a);
}
