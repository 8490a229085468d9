/*
 * test_kernel_bound.c — the kernel's reserve of cap nesting (docs/abi.md
 * "Bounds", found by outsider5): a state exactly at the bound a HALT may
 * leave (JK_KERNEL_MAX_HALT_DEPTH) must still run through every place the
 * kernel wraps it in a container of its own — the continuation of a pause
 * (a yield to a root marker, as verify's attest; from a callee with a
 * scratchpad in the root's slot[0], as a dispatch process's attest; out of
 * gas), its resume, the in-place serving of the yield, MGMT_COPY — and a
 * state one level deeper is refused at the HALT that would make it, with the
 * reason, never left to wedge its owner at its next pause.
 */
#include "../test.h"
#include "kfix.h"

#include <string.h>

#define DEEP_SLOT 30

/* An instance of image with the (slot, cap) extras and a chain of one-slot
 * CNodes in DEEP_SLOT long enough that the instance is exactly `want` deep;
 * the null cap if no chain gives that depth. NEW reference. */
static jk_cap kb_at(jk_cap image, unsigned want, int n, const uint32_t *slots, const jk_cap *caps)
{
    for (unsigned levels = 0; levels < JK_CAP_MAX_DEPTH; levels++) {
        uint32_t s[8];
        jk_cap c[8];
        for (int i = 0; i < n; i++) {
            s[i] = slots[i];
            c[i] = caps[i];
        }
        jk_cap chain = kt_chain(levels);
        if (jk_cap_is_null(chain))
            return jk_cap_null();
        s[n] = DEEP_SLOT;
        c[n] = chain;
        jk_cap inst = kt_inst(image, n + 1, s, c);
        jk_cap_release(chain);
        if (jk_cap_is_null(inst) || jk_cap_depth(inst) > want) {
            jk_cap_release(inst);
            return jk_cap_null();
        }
        if (jk_cap_depth(inst) == want)
            return inst;
        jk_cap_release(inst);
    }
    return jk_cap_null();
}

static jk_err kb_answer(void *ctx, jk_cap marker, jk_cap request, bool *resume, jk_cap *answer)
{
    (void)marker;
    (void)request;
    *resume = true;
    return jk_cap_data_new(ctx, 1, answer);
}

/* HALT keeps the reserve: at JK_KERNEL_MAX_HALT_DEPTH it halts; an instance
 * one level deeper (a cnode at the cap layer's own bound) faults at its HALT
 * with the reason, and so does a frame that would nest one more level. */
JK_TEST(test_kernel_bound_halt_keeps_the_reserve)
{
    kt_env e;
    JK_REQUIRE(kt_begin(&e));
    jk_kernel *k = e.k;
    jk_cap image = e.image;
    JK_CHECK_EQ(JK_KERNEL_MAX_HALT_DEPTH, JK_CAP_MAX_DEPTH - JK_KERNEL_DEPTH_RESERVE);
    jk_cap at = kb_at(image, JK_KERNEL_MAX_HALT_DEPTH, 0, NULL, NULL);
    jk_cap over = kb_at(image, JK_KERNEL_MAX_HALT_DEPTH + 1, 0, NULL, NULL);
    JK_REQUIRE(!jk_cap_is_null(at) && !jk_cap_is_null(over));
    uint64_t args[3] = {1, 0, 0};
    jk_kernel_result r;
    JK_REQUIRE(jk_kernel_call(k, at, EP_BUMP, 100000, args, jk_cap_null(), &r) == JK_OK);
    JK_CHECK_EQ(r.outcome, JK_KERNEL_HALT);
    JK_CHECK_EQ(jk_cap_depth(r.instance), JK_KERNEL_MAX_HALT_DEPTH);
    JK_CHECK_EQ(kt_counter(r.instance), 1);
    jk_kernel_result_clear(&r);

    JK_REQUIRE(jk_kernel_call(k, over, EP_BUMP, 100000, args, jk_cap_null(), &r) == JK_OK);
    JK_CHECK_EQ(r.outcome, JK_KERNEL_FAULT);
    JK_CHECK_EQ(r.fault, JK_FAULT_LIMIT);
    printf("HALT past the reserve: %s\n", r.fault_msg);
    JK_CHECK(strstr(r.fault_msg, "reserve") != NULL);
    JK_CHECK_EQ(kt_counter(r.instance), 0); /* the original, faulted: nothing kept */
    jk_kernel_result_clear(&r);

    /* A frame at the bound that wraps its deep slot once more, then HALTs. */
    const kt_op wrap[] = {{JK_HOST_CNODE_MINT, 31, 0, 0, 0},
                          {JK_HOST_MOVE, 30, P2(31, 0), 0, 0},
                          {JK_HOST_MOVE, 31, 30, 0, 0}};
    jk_cap chain = jk_cap_cnode_get(jk_cap_instance_cnode(at), DEEP_SLOT);
    uint32_t s[1] = {DEEP_SLOT};
    JK_REQUIRE(kt_script_with(k, image, 1, s, &chain, wrap, 3, jk_cap_null(), 1000000, &r) == JK_OK);
    JK_CHECK_EQ(r.outcome, JK_KERNEL_FAULT);
    JK_CHECK_EQ(r.fault, JK_FAULT_LIMIT);
    JK_CHECK(strstr(r.fault_msg, "reserve") != NULL);
    jk_kernel_result_clear(&r);
    jk_cap_release(at);
    jk_cap_release(over);
    KT_END(&e);
}

/* verify's attest: a state at the bound yields to a root marker. The
 * continuation is exactly JK_CAP_MAX_DEPTH deep; its resume, the in-place
 * serving and an MGMT_COPY of the state (and of the continuation) each run
 * to the HALT, alike. */
JK_TEST(test_kernel_bound_attest_pauses_resumes_and_is_served)
{
    kt_env e;
    JK_REQUIRE(kt_begin(&e));
    jk_kernel *k = e.k;
    jk_cap image = e.image, marker;
    JK_REQUIRE(jk_kernel_mint_marker(k, 1, &marker) == JK_OK);
    uint32_t s22[1] = {MARKER_SLOT};
    jk_cap a = kb_at(image, JK_KERNEL_MAX_HALT_DEPTH, 1, s22, &marker);
    JK_REQUIRE(!jk_cap_is_null(a));
    jk_cap copy = jk_cap_retain(a); /* MGMT_COPY: O(1), content-shared */
    jk_cap pad, seven;
    JK_REQUIRE(jk_cap_cnode_new(1, &pad) == JK_OK); /* a scratchpad in slot[0] */
    JK_REQUIRE(jk_cap_data_new("\x07", 1, &seven) == JK_OK);

    jk_kernel_result y, r, s;
    JK_REQUIRE(jk_kernel_call(k, a, EP_ASK, 1000000, NULL, pad, &y) == JK_OK);
    JK_CHECK_EQ(y.outcome, JK_KERNEL_YIELDED);
    JK_CHECK_EQ(jk_cap_instance_status(y.instance), JK_CAP_PAUSED);
    JK_CHECK_EQ(jk_cap_depth(y.instance), JK_CAP_MAX_DEPTH); /* the reserve, used */
    jk_cap paused_copy = jk_cap_retain(y.instance);
    JK_REQUIRE(jk_kernel_resume(k, y.instance, 1000000, seven, &r) == JK_OK);
    JK_CHECK_EQ(r.outcome, JK_KERNEL_HALT);
    JK_CHECK_EQ(r.value, 1007);
    JK_CHECK_EQ(jk_cap_depth(r.instance), JK_KERNEL_MAX_HALT_DEPTH);

    /* Served in place on the copy: the same outcome and the same state. */
    JK_REQUIRE(jk_kernel_call_served(k, copy, EP_ASK, 1000000, NULL, pad, kb_answer, "\x07", &s) == JK_OK);
    JK_CHECK_EQ(s.outcome, JK_KERNEL_HALT);
    JK_CHECK_EQ(s.value, 1007);
    JK_CHECK(jk_cap_equal(s.instance, r.instance));
    jk_kernel_result_clear(&s);

    /* The halted state (at the bound still) attests again; the copy of the
     * continuation resumes apart from the first. */
    JK_REQUIRE(jk_kernel_call_served(k, r.instance, EP_ASK, 1000000, NULL, pad, kb_answer, "\x09", &s) == JK_OK);
    JK_CHECK_EQ(s.outcome, JK_KERNEL_HALT);
    JK_CHECK_EQ(s.value, 2009);
    jk_kernel_result_clear(&s);
    JK_REQUIRE(jk_kernel_resume(k, paused_copy, 1000000, seven, &s) == JK_OK);
    JK_CHECK_EQ(s.outcome, JK_KERNEL_HALT);
    JK_CHECK(jk_cap_equal(s.instance, r.instance));
    jk_kernel_result_clear(&s);

    jk_kernel_result_clear(&y);
    jk_kernel_result_clear(&r);
    jk_cap_release(paused_copy);
    jk_cap_release(seven);
    jk_cap_release(pad);
    jk_cap_release(copy);
    jk_cap_release(a);
    jk_cap_release(marker);
    KT_END(&e);
}

/* A dispatch process's attest: the root at the bound, a scratchpad in its
 * slot[0], CALLs a callee that yields to a root marker. Both frames pause in
 * one continuation, resumed (and served in place) to the HALT. */
JK_TEST(test_kernel_bound_nested_attest_with_scratchpad)
{
    kt_env e;
    JK_REQUIRE(kt_begin(&e));
    jk_kernel *k = e.k;
    jk_cap image = e.image, marker;
    JK_REQUIRE(jk_kernel_mint_marker(k, 2, &marker) == JK_OK);
    uint32_t s22[1] = {MARKER_SLOT}, s21[1] = {CALLEE_SLOT};
    jk_cap b = kt_inst(image, 1, s22, &marker);
    jk_cap a = kb_at(image, JK_KERNEL_MAX_HALT_DEPTH, 1, s21, &b);
    JK_REQUIRE(!jk_cap_is_null(a));
    jk_cap pad, five;
    JK_REQUIRE(jk_cap_cnode_new(2, &pad) == JK_OK);
    JK_REQUIRE(jk_cap_data_new("\x05", 1, &five) == JK_OK);
    uint64_t args[3] = {EP_ASK, 500000, 0};
    jk_kernel_result y, r, s;
    JK_REQUIRE(jk_kernel_call(k, a, EP_RELAY, 1000000, args, pad, &y) == JK_OK);
    JK_CHECK_EQ(y.outcome, JK_KERNEL_YIELDED);
    JK_CHECK(jk_cap_depth(y.instance) <= JK_CAP_MAX_DEPTH);
    JK_REQUIRE(jk_kernel_resume(k, y.instance, 1000000, five, &r) == JK_OK);
    JK_CHECK_EQ(r.outcome, JK_KERNEL_HALT);
    JK_CHECK_EQ(r.value, ((uint64_t)JK_KERNEL_HALT << 32) | 1005);
    JK_CHECK_EQ(kt_counter(kt_slot_of(r.instance, CALLEE_SLOT)), 1);
    JK_REQUIRE(jk_kernel_call_served(k, a, EP_RELAY, 1000000, args, pad, kb_answer, "\x05", &s) == JK_OK);
    JK_CHECK_EQ(s.outcome, JK_KERNEL_HALT);
    JK_CHECK_EQ(s.value, r.value);
    JK_CHECK(jk_cap_equal(s.instance, r.instance));
    jk_kernel_result_clear(&s);
    jk_kernel_result_clear(&y);
    jk_kernel_result_clear(&r);
    jk_cap_release(five);
    jk_cap_release(pad);
    jk_cap_release(a);
    jk_cap_release(b);
    jk_cap_release(marker);
    KT_END(&e);
}

/* Out of gas at the bound: the frame pauses (the continuation exactly at
 * JK_CAP_MAX_DEPTH) and resumes. One level deeper (not made by a HALT: an
 * embedder's value) the pause cannot be made: a FAULT with the reason, not
 * an error and not a wedge. */
JK_TEST(test_kernel_bound_out_of_gas_pause_and_resume)
{
    kt_env e;
    JK_REQUIRE(kt_begin(&e));
    jk_kernel *k = e.k;
    jk_cap image = e.image;
    jk_cap a = kb_at(image, JK_KERNEL_MAX_HALT_DEPTH, 0, NULL, NULL);
    jk_cap over = kb_at(image, JK_KERNEL_MAX_HALT_DEPTH + 1, 0, NULL, NULL);
    JK_REQUIRE(!jk_cap_is_null(a) && !jk_cap_is_null(over));
    jk_kernel_result p, r;
    JK_REQUIRE(jk_kernel_call(k, a, EP_SPIN, 20000, NULL, jk_cap_null(), &p) == JK_OK);
    JK_CHECK_EQ(p.outcome, JK_KERNEL_OUT_OF_GAS);
    JK_CHECK_EQ(jk_cap_depth(p.instance), JK_CAP_MAX_DEPTH);
    JK_REQUIRE(jk_kernel_resume(k, p.instance, 20000, jk_cap_null(), &r) == JK_OK);
    JK_CHECK_EQ(r.outcome, JK_KERNEL_OUT_OF_GAS);
    JK_CHECK_EQ(jk_cap_depth(r.instance), JK_CAP_MAX_DEPTH);
    jk_kernel_result_clear(&r);
    jk_kernel_result_clear(&p);

    JK_REQUIRE(jk_kernel_call(k, over, EP_SPIN, 20000, NULL, jk_cap_null(), &p) == JK_OK);
    JK_CHECK_EQ(p.outcome, JK_KERNEL_FAULT);
    JK_CHECK_EQ(p.fault, JK_FAULT_LIMIT);
    jk_kernel_result_clear(&p);
    jk_cap_release(a);
    jk_cap_release(over);
    KT_END(&e);
}

/* tidy5: jk_kernel_image_from_program read opts->pins / opts->mappings
 * without looking, so NULL with a count above 0 crashed; it is refused. */
JK_TEST(test_kernel_image_opts_null_arrays_refused)
{
    kt_env e;
    JK_REQUIRE(kt_begin(&e));
    jk_cap image = jk_cap_null();
    jk_diag why = {{0}};
    jk_kernel_image_opts opts = {.mapping_count = 1};
    JK_CHECK_EQ(jk_kernel_image_from_program(kt_program, kt_program_len, &opts, &image, &why),
                JK_ERR_INVALID_ARG);
    JK_CHECK(strstr(why.msg, "opts->mappings") != NULL);
    jk_kernel_image_opts pins = {.pin_count = 2};
    JK_CHECK_EQ(jk_kernel_image_from_program(kt_program, kt_program_len, &pins, &image, &why),
                JK_ERR_INVALID_ARG);
    JK_CHECK(strstr(why.msg, "opts->pins") != NULL);
    JK_CHECK(jk_cap_is_null(image));
    KT_END(&e);
}

/* jk_kernel_call_served_flags(NO_INSTANCE) against jk_kernel_call: every
 * field alike, but a HALT's instance (null). */
static void kb_alike(jk_kernel *k, jk_cap target, uint32_t ep, const uint64_t args[3], jk_cap slot0,
                     int want_outcome)
{
    jk_kernel_result a, b;
    JK_REQUIRE(jk_kernel_call(k, target, ep, 1000000, args, slot0, &a) == JK_OK);
    JK_REQUIRE(jk_kernel_call_served_flags(k, target, ep, 1000000, args, slot0, NULL, NULL,
                                           JK_KERNEL_CALL_NO_INSTANCE, &b) == JK_OK);
    JK_CHECK_EQ(a.outcome, want_outcome);
    JK_CHECK_EQ(a.outcome, b.outcome);
    JK_CHECK_EQ(a.value, b.value);
    JK_CHECK_EQ(a.gas_used, b.gas_used);
    JK_CHECK_EQ(a.fault, b.fault);
    JK_CHECK(!strcmp(a.fault_msg, b.fault_msg));
    JK_CHECK(jk_cap_is_null(a.slot0) ? jk_cap_is_null(b.slot0) : jk_cap_equal(a.slot0, b.slot0));
    if (a.outcome == JK_KERNEL_HALT)
        JK_CHECK(jk_cap_is_null(b.instance) && !jk_cap_is_null(a.instance));
    else
        JK_CHECK(jk_cap_equal(a.instance, b.instance));
    jk_kernel_result_clear(&a);
    jk_kernel_result_clear(&b);
}

/* A verify's call does not build the new value it drops
 * (JK_KERNEL_CALL_NO_INSTANCE); the HALT it skips building must still be
 * refused where building it would be: past the reserve; and where the
 * kernel cannot tell without building it (a deep chain in slot[0], which
 * the value would not hold) the value is built and still not handed out. */
JK_TEST(test_kernel_call_no_instance_decides_alike)
{
    kt_env e;
    JK_REQUIRE(kt_begin(&e));
    jk_kernel *k = e.k;
    uint64_t args[3] = {1, 0, 0};
    jk_cap at = kb_at(e.image, JK_KERNEL_MAX_HALT_DEPTH, 0, NULL, NULL);
    jk_cap over = kb_at(e.image, JK_KERNEL_MAX_HALT_DEPTH + 1, 0, NULL, NULL);
    JK_REQUIRE(!jk_cap_is_null(at) && !jk_cap_is_null(over));
    kb_alike(k, at, EP_BUMP, args, jk_cap_null(), JK_KERNEL_HALT);
    kb_alike(k, over, EP_BUMP, args, jk_cap_null(), JK_KERNEL_FAULT);

    /* at the bound with the deep chain moved into slot[0]: the value left
     * is shallower, so it halts (the kernel cannot tell without building) */
    const kt_op to_slot0[] = {{JK_HOST_DROP, 0, 0, 0, 0}, {JK_HOST_MOVE, DEEP_SLOT, 0, 0, 0}};
    jk_cap code;
    JK_REQUIRE(jk_cap_data_new(to_slot0, sizeof to_slot0, &code) == JK_OK);
    jk_cap chain = jk_cap_cnode_get(jk_cap_instance_cnode(over), DEEP_SLOT);
    uint32_t s2[2] = {DEEP_SLOT, SCRIPT_SLOT};
    jk_cap c2[2] = {chain, code};
    jk_cap deep = kt_inst(e.image, 2, s2, c2);
    JK_REQUIRE(!jk_cap_is_null(deep));
    kb_alike(k, deep, EP_SCRIPT, NULL, jk_cap_null(), JK_KERNEL_HALT);
    jk_cap_release(deep);
    jk_cap_release(code);

    /* a script that hands back a CNode in slot[0], one that faults */
    const kt_op give[] = {{JK_HOST_CNODE_MINT, 31, 0, 0, 0}, {JK_HOST_MOVE, 31, 0, 0, 0}};
    const kt_op refused[] = {{JK_HOST_DATA_LEN, 35, 0, 0, 0}};
    for (int i = 0; i < 2; i++) {
        JK_REQUIRE(jk_cap_data_new(i ? (const void *)refused : (const void *)give,
                                   i ? sizeof refused : sizeof give, &code) == JK_OK);
        uint32_t s1[1] = {SCRIPT_SLOT};
        jk_cap inst = kt_inst(e.image, 1, s1, &code);
        JK_REQUIRE(!jk_cap_is_null(inst));
        kb_alike(k, inst, EP_SCRIPT, NULL, jk_cap_null(), i ? JK_KERNEL_FAULT : JK_KERNEL_HALT);
        jk_cap_release(inst);
        jk_cap_release(code);
    }
    jk_cap_release(at);
    jk_cap_release(over);
    KT_END(&e);
}

/* DERIVE_SPAWN refuses a spawner whose cnode (the working root's writes
 * included: docs/kernel.md "The working root") would nest past the bound,
 * as making the spawner's instance of it always refused: a frame that wraps
 * its deep slot twice (cnode 64 deep) faults at DERIVE_SPAWN with the cap
 * layer's reason; wrapped once (63 deep) it spawns. Either drops the deep
 * slot after the spawn, so its HALT is within the bound. The kernel decides
 * from a depth bound of the table and only near the bound writes the table
 * into the tree. */
JK_TEST(test_kernel_bound_spawn_sees_the_working_root)
{
    kt_env e;
    JK_REQUIRE(kt_begin(&e));
    jk_cap at = kb_at(e.image, JK_KERNEL_MAX_HALT_DEPTH, 0, NULL, NULL);
    JK_REQUIRE(!jk_cap_is_null(at));
    jk_cap chain = jk_cap_cnode_get(jk_cap_instance_cnode(at), DEEP_SLOT);
    const kt_op twice[] = {{JK_HOST_CNODE_MINT, 31, 0, 0, 0}, {JK_HOST_MOVE, DEEP_SLOT, P2(31, 0), 0, 0},
                           {JK_HOST_CNODE_MINT, 32, 0, 0, 0}, {JK_HOST_MOVE, 31, P2(32, 0), 0, 0},
                           {JK_HOST_CNODE_MINT, 33, 8, 0, 0}, {JK_HOST_DERIVE_SPAWN, IMAGE_SLOT, 33, 34, 0},
                           {JK_HOST_DROP, 32, 0, 0, 0},       {JK_HOST_CAP_KIND, 34, 0, 0, 0}};
    const kt_op once[] = {{JK_HOST_CNODE_MINT, 31, 0, 0, 0}, {JK_HOST_MOVE, DEEP_SLOT, P2(31, 0), 0, 0},
                          {JK_HOST_CNODE_MINT, 33, 8, 0, 0}, {JK_HOST_DERIVE_SPAWN, IMAGE_SLOT, 33, 34, 0},
                          {JK_HOST_DROP, 31, 0, 0, 0},       {JK_HOST_CAP_KIND, 34, 0, 0, 0}};
    uint32_t s[2] = {DEEP_SLOT, IMAGE_SLOT};
    jk_cap c[2] = {chain, e.image};
    jk_kernel_result r;
    JK_REQUIRE(kt_script_with(e.k, e.image, 2, s, c, twice, 8, jk_cap_null(), 1000000, &r) == JK_OK);
    JK_CHECK_EQ(r.outcome, JK_KERNEL_FAULT);
    JK_CHECK_EQ(r.fault, JK_FAULT_LIMIT);
    printf("spawner past the bound: %s\n", r.fault_msg);
    JK_CHECK(strstr(r.fault_msg, jk_strerror(JK_ERR_CAP_TOO_DEEP)) != NULL);
    jk_kernel_result_clear(&r);
    JK_REQUIRE(kt_script_with(e.k, e.image, 2, s, c, once, 6, jk_cap_null(), 1000000, &r) == JK_OK);
    JK_CHECK_EQ(r.outcome, JK_KERNEL_HALT);
    JK_CHECK_EQ(r.value, JK_CAP_INSTANCE);
    jk_kernel_result_clear(&r);
    jk_cap_release(at);
    KT_END(&e);
}
