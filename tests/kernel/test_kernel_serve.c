/* test_kernel_serve.c — jk_kernel_call_served answers yields to the kernel's
 * markers in place (no continuation made) and must be indistinguishable from
 * its specification: jk_kernel_call, then jk_kernel_resume with the gas left
 * for every YIELDED result (kernel.h). Every scenario runs both ways and
 * compares every observable: outcome, value, gas_used, fault code, message
 * and reason, the result instance (its hash: state root, continuation
 * encoding), slot[0], the marker, and the requests the embedder was shown.
 * Gas sweeps move out-of-gas across every point of the run, so a page
 * re-touch charged differently after the in-place resume shows up. */
#include "kfix.h"
#include "../test.h"

#include <stdlib.h>

typedef struct ks_serve {
    jk_cap marker;      /* the kernel marker it accepts */
    int mode;           /* 0 answer, 1 stop at the first yield, 2 error at the second */
    jk_cap answer;      /* borrowed; null: answer a Data holding the call count */
    uint32_t calls;
    jk_hash requests;   /* chained hash of the requests seen */
} ks_serve;

static jk_err ks_fn(void *vctx, jk_cap marker, jk_cap request, bool *resume, jk_cap *answer)
{
    ks_serve *s = vctx;
    s->calls++;
    jk_hash h[2] = {s->requests, {{0}}};
    if (!jk_cap_is_null(request))
        jk_cap_hash(request, &h[1]);
    jk_crypto_blake2b256(h, sizeof h, &s->requests);
    if (!jk_cap_equal(marker, s->marker))
        return JK_OK; /* stop: not ours */
    if (s->mode == 1)
        return JK_OK;
    if (s->mode == 2 && s->calls == 2)
        return JK_ERR_IO;
    *resume = true;
    if (!jk_cap_is_null(s->answer)) {
        *answer = jk_cap_retain(s->answer);
        return JK_OK;
    }
    uint8_t n = (uint8_t)s->calls;
    return jk_cap_data_new(&n, 1, answer);
}

/* The specification of jk_kernel_call_served (kernel.h), written out. */
static jk_err ks_reference(jk_kernel *k, jk_cap target, uint32_t ep, int64_t gas, const uint64_t args[3],
                           jk_cap slot0, ks_serve *s, jk_kernel_result *res)
{
    jk_err err = jk_kernel_call(k, target, ep, gas, args, slot0, res);
    int64_t used = res->gas_used;
    while (err == JK_OK && res->outcome == JK_KERNEL_YIELDED) {
        bool resume = false;
        jk_cap answer = jk_cap_null();
        err = ks_fn(s, res->marker, res->slot0, &resume, &answer);
        if (err != JK_OK || !resume) {
            jk_cap_release(answer);
            break;
        }
        jk_cap paused = jk_cap_retain(res->instance);
        jk_kernel_result_clear(res);
        err = jk_kernel_resume(k, paused, gas - used, answer, res);
        jk_cap_release(paused);
        jk_cap_release(answer);
        used += res->gas_used;
        res->gas_used = used;
    }
    if (err != JK_OK)
        jk_kernel_result_clear(res);
    return err;
}

static bool ks_same_cap(jk_cap a, jk_cap b)
{
    return jk_cap_is_null(a) ? jk_cap_is_null(b) : !jk_cap_is_null(b) && jk_cap_equal(a, b);
}

/* Run target both ways; check they agree. Returns the outcome (or -1 on an
 * error return) and counts in-place answers in *fast. */
static int ks_both(jk_kernel *k, jk_cap marker, jk_cap target, uint32_t ep, int64_t gas, const uint64_t args[3],
                   jk_cap slot0, int mode, jk_cap answer, uint64_t *fast, int64_t *gas_used)
{
    ks_serve a = {marker, mode, answer, 0, {{0}}}, b = a;
    jk_kernel_result ra, rb;
    jk_err ea = ks_reference(k, target, ep, gas, args, slot0, &a, &ra);
    uint64_t before = jk_kernel_served_in_place(k);
    jk_err eb = jk_kernel_call_served(k, target, ep, gas, args, slot0, ks_fn, &b, &rb);
    *fast += jk_kernel_served_in_place(k) - before;
    JK_CHECK_EQ(ea, eb);
    JK_CHECK_EQ(a.calls, b.calls);
    JK_CHECK(!memcmp(a.requests.bytes, b.requests.bytes, JK_HASH_SIZE));
    JK_CHECK_EQ(ra.outcome, rb.outcome);
    JK_CHECK_EQ(ra.value, rb.value);
    JK_CHECK_EQ(ra.gas_used, rb.gas_used);
    JK_CHECK_EQ(ra.fault, rb.fault);
    JK_CHECK_EQ(ra.reason, rb.reason);
    JK_CHECK(!strcmp(ra.fault_msg, rb.fault_msg));
    JK_CHECK(!strcmp(ra.reason_text, rb.reason_text));
    JK_CHECK(ks_same_cap(ra.instance, rb.instance));
    JK_CHECK(ks_same_cap(ra.slot0, rb.slot0));
    JK_CHECK(ks_same_cap(ra.marker, rb.marker));
    if (!ks_same_cap(ra.instance, rb.instance) || ra.gas_used != rb.gas_used)
        printf("  differs at gas %lld: outcome %d/%d used %lld/%lld (%s | %s)\n", (long long)gas, ra.outcome,
               rb.outcome, (long long)ra.gas_used, (long long)rb.gas_used, ra.fault_msg, rb.fault_msg);
    int outcome = ea == JK_OK ? (int)ra.outcome : -1;
    if (gas_used)
        *gas_used = ra.gas_used;
    jk_kernel_result_clear(&ra);
    jk_kernel_result_clear(&rb);
    return outcome;
}

/* A frame that relays to one that asks (the shape of a verify calling the
 * AttestationAuthority): the callee writes its persistent state before the
 * yield and its stack and data after; swept over the gas from nothing to
 * plenty, on both engines. */
JK_TEST(test_kernel_serve_in_place_equals_pause_and_resume)
{
    kt_env e;
    JK_REQUIRE(kt_begin(&e));
    jk_kernel_config icfg = {.engine = JK_PVM_ENGINE_INTERP};
    jk_kernel *interp;
    JK_REQUIRE(jk_kernel_new(&icfg, &interp) == JK_OK);
    jk_cap marker, imarker;
    JK_REQUIRE(jk_kernel_mint_marker(e.k, 1, &marker) == JK_OK);
    JK_REQUIRE(jk_kernel_mint_marker(interp, 1, &imarker) == JK_OK);
    JK_CHECK(jk_cap_equal(marker, imarker)); /* same tag, same marker */
    uint32_t s22[1] = {MARKER_SLOT}, s21[1] = {CALLEE_SLOT};
    jk_cap asker = kt_inst(e.image, 1, s22, &marker);
    jk_cap relay = kt_inst(e.image, 1, s21, &asker);
    uint64_t args[3] = {EP_ASK, 500000, 0}, fast = 0;
    int64_t full = 0;
    JK_CHECK_EQ(ks_both(e.k, marker, relay, EP_RELAY, 2000000, args, jk_cap_null(), 0, jk_cap_null(), &fast, &full),
                JK_KERNEL_HALT);
    JK_CHECK_EQ(fast, 1);
    JK_REQUIRE(full > 0);
    /* Every gas from 0 to past the need: out of gas before, at and after
     * the yield, at each page touched again after the resume. */
    int done = 0, short_of_gas = 0;
    for (int64_t g = 0; g <= full + 200; g += 1) {
        int64_t used = 0;
        ks_both(e.k, marker, relay, EP_RELAY, g, args, jk_cap_null(), 0, jk_cap_null(), &fast, &used);
        done += used == full;
        short_of_gas += used < full;
    }
    JK_CHECK(done > 100 && short_of_gas > 1000);
    /* The interpreter, coarser. */
    uint64_t ifast = 0;
    for (int64_t g = 0; g <= full + 200; g += 331)
        ks_both(interp, marker, relay, EP_RELAY, g, args, jk_cap_null(), 0, jk_cap_null(), &ifast, NULL);
    JK_CHECK(ifast > 10);
    JK_CHECK(fast > 1000); /* the fast path did run: the comparisons count */
    /* The asker called directly: one frame. */
    for (int64_t g = 0; g <= full; g += 211)
        ks_both(e.k, marker, asker, EP_ASK, g, NULL, jk_cap_null(), 0, jk_cap_null(), &fast, NULL);
    jk_cap_release(relay);
    jk_cap_release(asker);
    jk_cap_release(marker);
    jk_cap_release(imarker);
    jk_kernel_free(interp);
    KT_END(&e);
}

/* After the in-place resume: out of gas (the Paused result's continuation,
 * captured from the resumed frames, must encode as after a real resume), a
 * stop (the YIELDED result made then), an embedder error, an answer too deep
 * for the yielder's slot[0], the instance bound counted across the yield,
 * two yields in one invocation. */
JK_TEST(test_kernel_serve_in_place_edges)
{
    kt_env e;
    JK_REQUIRE(kt_begin(&e));
    jk_cap marker;
    JK_REQUIRE(jk_kernel_mint_marker(e.k, 1, &marker) == JK_OK);
    uint32_t s22[1] = {MARKER_SLOT}, s21[1] = {CALLEE_SLOT};
    jk_cap asker = kt_inst(e.image, 1, s22, &marker);
    jk_cap relay = kt_inst(e.image, 1, s21, &asker);
    uint64_t fast = 0;
    /* ask, then spin until the callee's cap runs out: the relay gets its
     * callee back Paused (a continuation made from in-place frames). */
    uint64_t spin_args[3] = {EP_ASK_THEN_SPIN, 300000, 0};
    for (int64_t g = 250000; g <= 400000; g += 25013)
        ks_both(e.k, marker, relay, EP_RELAY, g, spin_args, jk_cap_null(), 0, jk_cap_null(), &fast, NULL);
    /* The root spinning out of gas after the resume. */
    ks_both(e.k, marker, asker, EP_ASK_THEN_SPIN, 100000, NULL, jk_cap_null(), 0, jk_cap_null(), &fast, NULL);
    uint64_t args[3] = {EP_ASK, 500000, 0};
    /* Stop at the first yield: the YIELDED result, continuation and all. */
    uint64_t before = fast;
    JK_CHECK_EQ(ks_both(e.k, marker, relay, EP_RELAY, 1000000, args, jk_cap_null(), 1, jk_cap_null(), &fast, NULL),
                JK_KERNEL_YIELDED);
    JK_CHECK_EQ(fast, before);
    /* Answers nested deeper and deeper: past some depth the yielder's
     * slot[0] cannot take them, or its HALT cannot. */
    for (unsigned levels = 56; levels <= 63; levels++) {
        jk_cap deep = kt_chain(levels);
        if (jk_cap_is_null(deep))
            continue;
        ks_both(e.k, marker, relay, EP_RELAY, 1000000, args, jk_cap_null(), 0, deep, &fast, NULL);
        ks_both(e.k, marker, asker, EP_ASK, 1000000, NULL, jk_cap_null(), 0, deep, &fast, NULL);
        jk_cap_release(deep);
    }
    /* The instance bound counts on across the yield (600 + 600 > 1024). */
    uint32_t sy[2] = {MARKER_SLOT, IMAGE_SLOT};
    jk_cap sc[2] = {marker, e.image};
    jk_cap spawner = kt_inst(e.image, 2, sy, sc);
    uint64_t n600[3] = {600, 0, 0}, n10[3] = {10, 0, 0};
    JK_CHECK_EQ(ks_both(e.k, marker, spawner, 20, 50000000, n600, jk_cap_null(), 0, jk_cap_null(), &fast, NULL),
                JK_KERNEL_FAULT);
    JK_CHECK_EQ(ks_both(e.k, marker, spawner, 20, 50000000, n10, jk_cap_null(), 0, jk_cap_null(), &fast, NULL),
                JK_KERNEL_HALT);
    /* Two yields, answered 1 and 2; then an embedder error at the second. */
    kt_op ops[3] = {{JK_HOST_YIELD, MARKER_SLOT, 0, 0, 0}, {JK_HOST_YIELD, MARKER_SLOT, 0, 0, 0},
                    {JK_HOST_DATA_LEN, 0, 0, 0, 0}};
    jk_cap code;
    JK_REQUIRE(jk_cap_data_new(ops, sizeof ops, &code) == JK_OK);
    uint32_t ss[2] = {MARKER_SLOT, SCRIPT_SLOT};
    jk_cap sv[2] = {marker, code};
    jk_cap twice = kt_inst(e.image, 2, ss, sv);
    jk_cap sent;
    JK_REQUIRE(jk_cap_data_new("sent", 4, &sent) == JK_OK);
    before = fast;
    JK_CHECK_EQ(ks_both(e.k, marker, twice, EP_SCRIPT, 1000000, NULL, sent, 0, jk_cap_null(), &fast, NULL),
                JK_KERNEL_HALT);
    JK_CHECK_EQ(fast, before + 2);
    JK_CHECK_EQ(ks_both(e.k, marker, twice, EP_SCRIPT, 1000000, NULL, sent, 2, jk_cap_null(), &fast, NULL), -1);
    for (int64_t g = 0; g <= 40000; g += 157)
        ks_both(e.k, marker, twice, EP_SCRIPT, g, NULL, sent, 0, jk_cap_null(), &fast, NULL);
    /* The yielder replaced its mapped state slot before the yield (a resume
     * mints its memory over it again at HALT), or emptied it (a resume
     * cannot rebuild the mapping: the frame faults; no in-place path). */
    for (int emptied = 0; emptied < 2; emptied++) {
        kt_op rep[4] = {{JK_HOST_DROP, STATE_SLOT, 0, 0, 0}, {JK_HOST_COPY, SCRIPT_SLOT, STATE_SLOT, 0, 0},
                        {JK_HOST_YIELD, MARKER_SLOT, 0, 0, 0}, {JK_HOST_DATA_LEN, STATE_SLOT, 0, 0, 0}};
        if (emptied)
            rep[1] = (kt_op){JK_HOST_GAS, 0, 0, 0, 0};
        jk_cap rcode, replacer;
        JK_REQUIRE(jk_cap_data_new(rep, sizeof rep, &rcode) == JK_OK);
        sv[1] = rcode;
        replacer = kt_inst(e.image, 2, ss, sv);
        before = fast;
        int o = ks_both(e.k, marker, replacer, EP_SCRIPT, 1000000, NULL, jk_cap_null(), 0, jk_cap_null(), &fast, NULL);
        JK_CHECK_EQ(o, emptied ? JK_KERNEL_FAULT : JK_KERNEL_HALT);
        JK_CHECK_EQ(fast, before + (emptied ? 0 : 1));
        jk_cap relayer = kt_inst(e.image, 1, s21, &replacer);
        uint64_t sargs[3] = {EP_SCRIPT, 500000, 0};
        ks_both(e.k, marker, relayer, EP_RELAY, 1000000, sargs, jk_cap_null(), 0, jk_cap_null(), &fast, NULL);
        jk_cap_release(relayer);
        jk_cap_release(replacer);
        jk_cap_release(rcode);
    }
    jk_cap_release(sent);
    jk_cap_release(twice);
    jk_cap_release(code);
    jk_cap_release(spawner);
    jk_cap_release(relay);
    jk_cap_release(asker);
    jk_cap_release(marker);
    KT_END(&e);
}
