/*
 * test_kernel.c — the kernel through real programs: tests/kernel/progs/kprog.c
 * built with the SDK, instances of it wired together through their cnodes
 * (docs/abi.md). Every test also checks that no cap value is leaked.
 */
#include "../test.h"


#include "jark/kernel.h"

#include <stdlib.h>

#include "kfix.h"

JK_TEST(test_kernel_halt_mints_state_and_keeps_values)
{
    kt_env e;
    JK_REQUIRE(kt_begin(&e));
    jk_kernel *k = e.k;
    jk_cap image = e.image;
    jk_cap a = kt_inst(image, 0, NULL, NULL);
    jk_kernel_result r1, r2;
    uint64_t args[3] = {5, 0, 0};
    JK_CHECK_EQ(jk_kernel_call(k, a, EP_BUMP, 100000, args, jk_cap_null(), &r1), JK_OK);
    JK_CHECK_EQ(r1.outcome, JK_KERNEL_HALT);
    JK_CHECK_EQ(r1.value, 5);
    JK_CHECK_EQ(kt_counter(r1.instance), 5);
    JK_CHECK_EQ(kt_counter(a), 0); /* values: the caller's copy never changes */
    JK_CHECK(r1.gas_used > 0 && r1.gas_used < 100000);
    args[0] = 3;
    JK_CHECK_EQ(jk_kernel_call(k, r1.instance, EP_BUMP, 100000, args, jk_cap_null(), &r2), JK_OK);
    JK_CHECK_EQ(r2.value, 8);
    JK_CHECK_EQ(jk_cap_instance_status(r2.instance), JK_CAP_IDLE);
    /* Revert: the earlier copy still runs from where it was. */
    jk_kernel_result r3;
    args[0] = 1;
    JK_CHECK_EQ(jk_kernel_call(k, a, EP_BUMP, 100000, args, jk_cap_null(), &r3), JK_OK);
    JK_CHECK_EQ(r3.value, 1);
    jk_kernel_result_clear(&r3);
    /* The minted state differs only in the touched page; a second word there too. */
    uint64_t word = 0;
    jk_cap_data_read(jk_cap_cnode_get(jk_cap_instance_cnode(r2.instance), STATE_SLOT), 400 * 8, &word, 8);
    JK_CHECK_EQ(word, 24);
    jk_kernel_result_clear(&r1);
    jk_kernel_result_clear(&r2);
    jk_cap_release(a);
    KT_END(&e);
}

JK_TEST(test_kernel_fault_discards_the_subtree)
{
    kt_env e;
    JK_REQUIRE(kt_begin(&e));
    jk_kernel *k = e.k;
    jk_cap image = e.image;
    jk_cap c = kt_inst(image, 0, NULL, NULL);
    uint32_t s21[1] = {CALLEE_SLOT};
    jk_cap b = kt_inst(image, 1, s21, &c);
    jk_cap a = kt_inst(image, 1, s21, &b);
    jk_cap sent;
    JK_REQUIRE(jk_cap_data_new("payload", 7, &sent) == JK_OK);
    jk_kernel_result r;
    uint64_t args[3] = {EP_RELAY_THEN_FAULT, 1000000, 0};
    /* A relays to B, B calls C (which halts) and then faults. */
    JK_CHECK_EQ(jk_kernel_call(k, a, EP_RELAY, 5000000, args, sent, &r), JK_OK);
    JK_CHECK_EQ(r.outcome, JK_KERNEL_HALT);
    JK_CHECK_EQ(r.value >> 32, JK_KERNEL_FAULT);          /* what A saw */
    JK_CHECK_EQ((uint32_t)r.value, JK_FAULT_PANIC);
    jk_cap b_after = jk_cap_cnode_get(jk_cap_instance_cnode(r.instance), CALLEE_SLOT);
    JK_CHECK_EQ(jk_cap_instance_status(b_after), JK_CAP_FAULTED);
    JK_CHECK_EQ(kt_counter(b_after), 0);                  /* B's own bump did not survive */
    jk_cap c_after = jk_cap_cnode_get(jk_cap_instance_cnode(b_after), CALLEE_SLOT);
    JK_CHECK(jk_cap_equal(c_after, c));                   /* C's halt did not survive either */
    JK_CHECK(jk_cap_equal(r.slot0, sent));                /* A got back what it sent */
    /* Calling a Faulted instance is refused by the embedder API. */
    jk_kernel_result refused;
    JK_CHECK_EQ(jk_kernel_call(k, b_after, EP_BUMP, 1000, NULL, jk_cap_null(), &refused), JK_ERR_INVALID_ARG);
    jk_kernel_result_clear(&r);
    jk_cap_release(sent);
    jk_cap_release(a);
    jk_cap_release(b);
    jk_cap_release(c);
    KT_END(&e);
}

/* A callee's return is written into its caller's cnode (in place where the
 * caller holds it alone, issue 16): the caller's own value, and every
 * earlier result, keep what they held; the same call again gives the same
 * value. */
JK_TEST(test_kernel_return_into_the_caller_keeps_values)
{
    kt_env e;
    JK_REQUIRE(kt_begin(&e));
    jk_kernel *k = e.k;
    uint32_t s21[1] = {CALLEE_SLOT};
    jk_cap b = kt_inst(e.image, 0, NULL, NULL), a = kt_inst(e.image, 1, s21, &b);
    jk_hash a_was, h1, h3, now;
    jk_cap_hash(a, &a_was);
    jk_kernel_result r1, r2, r3;
    uint64_t args[3] = {EP_BUMP, 1000000, 5};
    /* A relays to B's bump(5): B's new value lands in A's slot 21 */
    JK_REQUIRE(jk_kernel_call(k, a, EP_RELAY, 5000000, args, jk_cap_null(), &r1) == JK_OK);
    JK_CHECK_EQ(r1.outcome, JK_KERNEL_HALT);
    JK_CHECK_EQ(r1.value >> 32, JK_KERNEL_HALT);
    JK_CHECK_EQ((uint32_t)r1.value, 5);
    jk_cap b1 = jk_cap_cnode_get(jk_cap_instance_cnode(r1.instance), CALLEE_SLOT);
    JK_CHECK_EQ(kt_counter(b1), 5);
    JK_CHECK_EQ(kt_counter(jk_cap_cnode_get(jk_cap_instance_cnode(a), CALLEE_SLOT)), 0);
    jk_cap_hash(a, &now);
    JK_CHECK_MEM(now.bytes, a_was.bytes, 32);
    jk_cap_hash(r1.instance, &h1);
    /* from the result: its B moves on to 8, r1's B stays at 5 */
    args[2] = 3;
    JK_REQUIRE(jk_kernel_call(k, r1.instance, EP_RELAY, 5000000, args, jk_cap_null(), &r2) == JK_OK);
    JK_CHECK_EQ((uint32_t)r2.value, 8);
    JK_CHECK_EQ(kt_counter(jk_cap_cnode_get(jk_cap_instance_cnode(r2.instance), CALLEE_SLOT)), 8);
    JK_CHECK_EQ(kt_counter(b1), 5);
    jk_cap_hash(r1.instance, &now);
    JK_CHECK_MEM(now.bytes, h1.bytes, 32);
    /* the first call again, from A as it was: the same value */
    args[2] = 5;
    JK_REQUIRE(jk_kernel_call(k, a, EP_RELAY, 5000000, args, jk_cap_null(), &r3) == JK_OK);
    jk_cap_hash(r3.instance, &h3);
    JK_CHECK_MEM(h3.bytes, h1.bytes, 32);
    JK_CHECK_EQ(r3.gas_used, r1.gas_used);
    jk_kernel_result_clear(&r1);
    jk_kernel_result_clear(&r2);
    jk_kernel_result_clear(&r3);
    jk_cap_release(a);
    jk_cap_release(b);
    KT_END(&e);
}

JK_TEST(test_kernel_out_of_gas_then_resume_equals_one_run)
{
    kt_env e;
    JK_REQUIRE(kt_begin(&e));
    jk_kernel *k = e.k;
    jk_cap image = e.image;
    jk_cap a = kt_inst(image, 0, NULL, NULL);
    jk_kernel_result full;
    uint64_t args[3] = {40, 0, 0};
    JK_REQUIRE(jk_kernel_call(k, a, EP_MINTER, 1000000, args, jk_cap_null(), &full) == JK_OK);
    JK_CHECK_EQ(full.outcome, JK_KERNEL_HALT);
    uint64_t sum = 0;
    for (int i = 0; i < 40; i++)
        sum += (uint8_t)(i * 3);
    JK_CHECK_EQ(full.value, 40 * 100000 + sum);
    for (int64_t g = 20; g < full.gas_used; g += full.gas_used / 7) {
        jk_kernel_result part, rest;
        JK_REQUIRE(jk_kernel_call(k, a, EP_MINTER, g, args, jk_cap_null(), &part) == JK_OK);
        JK_CHECK_EQ(part.outcome, JK_KERNEL_OUT_OF_GAS);
        JK_CHECK_EQ(jk_cap_instance_status(part.instance), JK_CAP_PAUSED);
        /* What it could not spend comes back: less than one block, one host
         * call or one page touch. */
        JK_CHECK(part.gas_used <= g &&
                 part.gas_used > g - 30 - JK_GAS_PER_PAGE_TOUCHED - JK_GAS_PER_PAGE_COPIED - 4 * JK_GAS_PER_LEVEL_WRITTEN);
        JK_REQUIRE(jk_kernel_resume(k, part.instance, 1000000, jk_cap_null(), &rest) == JK_OK);
        JK_CHECK_EQ(rest.outcome, JK_KERNEL_HALT);
        JK_CHECK_EQ(rest.value, full.value);
        JK_CHECK(jk_cap_equal(rest.instance, full.instance)); /* the very same state */
        /* The resumed frame maps its pages afresh (each touch is paid again),
         * and page touches are paid when a run returns (what a run touched
         * past its gas is not charged): the total stays within a few pages. */
        int64_t total = part.gas_used + rest.gas_used;
        JK_CHECK(total >= full.gas_used - 8 * JK_GAS_PER_PAGE_TOUCHED);
        JK_CHECK(total <= full.gas_used + 8 * JK_GAS_PER_PAGE_TOUCHED);
        jk_kernel_result_clear(&part);
        jk_kernel_result_clear(&rest);
    }
    /* An endless loop ends out of gas, resumable, never a hang. */
    jk_kernel_result spin;
    JK_CHECK_EQ(jk_kernel_call(k, a, EP_SPIN, 50000, NULL, jk_cap_null(), &spin), JK_OK);
    JK_CHECK_EQ(spin.outcome, JK_KERNEL_OUT_OF_GAS);
    JK_CHECK(spin.gas_used <= 50000 && spin.gas_used > 49990);
    jk_kernel_result_clear(&spin);
    jk_kernel_result_clear(&full);
    jk_cap_release(a);
    KT_END(&e);
}

JK_TEST(test_kernel_yield_to_a_kernel_marker_and_copies_resume_apart)
{
    kt_env e;
    JK_REQUIRE(kt_begin(&e));
    jk_kernel *k = e.k;
    jk_cap image = e.image, marker;
    JK_REQUIRE(jk_kernel_mint_marker(k, 1, &marker) == JK_OK);
    uint32_t s22[1] = {MARKER_SLOT};
    jk_cap a = kt_inst(image, 1, s22, &marker);
    jk_kernel_result y;
    JK_REQUIRE(jk_kernel_call(k, a, EP_ASK, 1000000, NULL, jk_cap_null(), &y) == JK_OK);
    JK_CHECK_EQ(y.outcome, JK_KERNEL_YIELDED);
    JK_CHECK(jk_cap_equal(y.marker, marker));
    JK_CHECK_EQ(jk_cap_instance_status(y.instance), JK_CAP_PAUSED);
    jk_cap copy = jk_cap_retain(y.instance); /* MGMT_COPY of a Paused instance */
    jk_cap seven, nine;
    JK_REQUIRE(jk_cap_data_new("\x07", 1, &seven) == JK_OK && jk_cap_data_new("\x09", 1, &nine) == JK_OK);
    jk_kernel_result r1, r2;
    JK_REQUIRE(jk_kernel_resume(k, y.instance, 1000000, seven, &r1) == JK_OK);
    JK_REQUIRE(jk_kernel_resume(k, copy, 1000000, nine, &r2) == JK_OK);
    JK_CHECK_EQ(r1.outcome, JK_KERNEL_HALT);
    JK_CHECK_EQ(r1.value, 1007);
    JK_CHECK_EQ(r2.value, 1009);
    JK_CHECK_EQ(kt_counter(r1.instance), 1);
    /* DROP_PAUSED gives back the instance as before the call. */
    jk_cap idle;
    JK_REQUIRE(jk_kernel_drop_paused(copy, &idle) == JK_OK);
    JK_CHECK(jk_cap_equal(idle, a));
    /* A marker nobody lists and the kernel did not mint faults the yielder. */
    jk_cap stranger = kt_inst(image, 0, NULL, NULL);
    jk_cap b = kt_inst(image, 1, s22, &stranger);
    jk_kernel_result f;
    JK_REQUIRE(jk_kernel_call(k, b, EP_ASK, 1000000, NULL, jk_cap_null(), &f) == JK_OK);
    JK_CHECK_EQ(f.outcome, JK_KERNEL_FAULT);
    JK_CHECK_EQ(f.fault, JK_FAULT_NO_CATCHER);
    jk_kernel_result_clear(&f);
    jk_kernel_result_clear(&y);
    jk_kernel_result_clear(&r1);
    jk_kernel_result_clear(&r2);
    jk_cap_release(idle);
    jk_cap_release(copy);
    jk_cap_release(seven);
    jk_cap_release(nine);
    jk_cap_release(stranger);
    jk_cap_release(b);
    jk_cap_release(a);
    jk_cap_release(marker);
    KT_END(&e);
}

JK_TEST(test_kernel_yield_caught_two_frames_down)
{
    kt_env e;
    JK_REQUIRE(kt_begin(&e));
    jk_kernel *k = e.k;
    jk_cap image = e.image;
    jk_cap m = kt_inst(image, 0, NULL, NULL); /* any instance can be a marker */
    uint32_t s22[1] = {MARKER_SLOT}, s21[1] = {CALLEE_SLOT};
    jk_cap c = kt_inst(image, 1, s22, &m);
    jk_cap b = kt_inst(image, 1, s21, &c);
    jk_cap list, list2;
    JK_REQUIRE(jk_cap_cnode_new(2, &list) == JK_OK && jk_cap_cnode_set(list, 3, m, &list2) == JK_OK);
    uint32_t sa[2] = {CALLEE_SLOT, CATCHER_SLOT};
    jk_cap ca[2] = {b, list2};
    jk_cap a = kt_inst(image, 2, sa, ca);
    jk_kernel_result r;
    uint64_t args[3] = {EP_RELAY, EP_ASK, 0};
    JK_REQUIRE(jk_kernel_call(k, a, EP_CATCHER, 5000000, args, jk_cap_null(), &r) == JK_OK);
    JK_CHECK_EQ(r.outcome, JK_KERNEL_HALT);
    JK_CHECK_EQ(r.value, 1042); /* C got 42 through slot[0], after its bump */
    jk_cap b_after = jk_cap_cnode_get(jk_cap_instance_cnode(r.instance), CALLEE_SLOT);
    JK_CHECK_EQ(jk_cap_instance_status(b_after), JK_CAP_IDLE);
    jk_cap c_after = jk_cap_cnode_get(jk_cap_instance_cnode(b_after), CALLEE_SLOT);
    JK_CHECK_EQ(kt_counter(c_after), 1);
    jk_kernel_result_clear(&r);
    /* The same, dropping the paused sub-stack instead: B is as before. */
    JK_REQUIRE(jk_kernel_call(k, a, EP_DROPPER, 5000000, args, jk_cap_null(), &r) == JK_OK);
    JK_CHECK_EQ(r.outcome, JK_KERNEL_HALT);
    JK_CHECK_EQ(r.value, JK_CAP_INSTANCE * 10 + JK_KERNEL_HALT);
    b_after = jk_cap_cnode_get(jk_cap_instance_cnode(r.instance), CALLEE_SLOT);
    JK_CHECK_EQ(kt_counter(b_after), 5); /* the bump after the drop ran on B as before */
    JK_CHECK_EQ(kt_counter(jk_cap_cnode_get(jk_cap_instance_cnode(b_after), CALLEE_SLOT)), 0);
    jk_kernel_result_clear(&r);
    jk_cap_release(a);
    jk_cap_release(b);
    jk_cap_release(c);
    jk_cap_release(m);
    jk_cap_release(list);
    jk_cap_release(list2);
    KT_END(&e);
}

JK_TEST(test_kernel_hostile_programs_fault_cleanly)
{
    kt_env e;
    JK_REQUIRE(kt_begin(&e));
    jk_kernel *k = e.k;
    jk_cap image = e.image;
    jk_cap a = kt_inst(image, 0, NULL, NULL);
    static const struct {
        int ep;
        jk_kernel_fault fault;
    } cases[] = {{EP_WILD, JK_FAULT_PAGE}, {EP_BAD_CALL, JK_FAULT_UNKNOWN_CALL}, {EP_TOO_DEEP, JK_FAULT_HOSTCALL}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        jk_kernel_result r;
        JK_REQUIRE(jk_kernel_call(k, a, (uint32_t)cases[i].ep, 100000, NULL, jk_cap_null(), &r) == JK_OK);
        JK_CHECK_EQ(r.outcome, JK_KERNEL_FAULT);
        JK_CHECK_EQ(r.fault, cases[i].fault);
        JK_CHECK(r.fault_msg[0] != 0);
        JK_CHECK_EQ(jk_cap_instance_status(r.instance), JK_CAP_FAULTED);
        jk_kernel_result_clear(&r);
    }
    if (!jk_cap_is_null(jk_cap_image_pinned(image, JK_KERNEL_DEFAULT_RO_SLOT))) {
        jk_kernel_result r;
        JK_REQUIRE(jk_kernel_call(k, a, EP_TOUCH_PINNED, 100000, NULL, jk_cap_null(), &r) == JK_OK);
        JK_CHECK_EQ(r.outcome, JK_KERNEL_FAULT); /* pinned slots are untouchable */
        jk_kernel_result_clear(&r);
    }
    /* Recursion: 10 nested instances halt; 30 pass the depth bound. */
    for (int depth = 10; depth <= 30; depth += 20) {
        jk_cap inner = kt_inst(image, 0, NULL, NULL);
        uint32_t s21[1] = {CALLEE_SLOT};
        for (int i = 1; i < depth; i++) {
            jk_cap outer = kt_inst(image, 1, s21, &inner);
            JK_REQUIRE(!jk_cap_is_null(outer));
            jk_cap_release(inner);
            inner = outer;
        }
        jk_kernel_result r;
        JK_REQUIRE(jk_kernel_call(k, inner, EP_RECURSE, 100000000, NULL, jk_cap_null(), &r) == JK_OK);
        if (depth == 10) {
            JK_CHECK_EQ(r.outcome, JK_KERNEL_HALT);
            JK_CHECK_EQ(r.value, 10);
        } else {
            JK_CHECK_EQ(r.outcome, JK_KERNEL_FAULT);
            JK_CHECK(jk_cap_equal(jk_cap_cnode_get(jk_cap_instance_cnode(r.instance), CALLEE_SLOT),
                                  jk_cap_cnode_get(jk_cap_instance_cnode(inner), CALLEE_SLOT)));
        }
        jk_kernel_result_clear(&r);
        jk_cap_release(inner);
    }
    jk_cap_release(a);
    KT_END(&e);
}

JK_TEST(test_kernel_set_image_and_derive_spawn_lineage)
{
    kt_env e;
    JK_REQUIRE(kt_begin(&e));
    jk_kernel *k = e.k;
    jk_cap image = e.image;
    uint32_t s25[1] = {IMAGE_SLOT};
    jk_cap a = kt_inst(image, 1, s25, &image);
    jk_hash before, image_id, want, got;
    jk_cap_instance_image_hash(a, &before);
    jk_cap_hash(image, &image_id);
    uint8_t buf[64];
    memcpy(buf, before.bytes, 32);
    memcpy(buf + 32, image_id.bytes, 32);
    jk_crypto_blake2b256(buf, 64, &want);

    jk_kernel_result r;
    JK_REQUIRE(jk_kernel_call(k, a, EP_BECOME, 100000, NULL, jk_cap_null(), &r) == JK_OK);
    JK_CHECK_EQ(r.outcome, JK_KERNEL_HALT);
    jk_cap_instance_image_hash(r.instance, &got);
    JK_CHECK_MEM(got.bytes, want.bytes, 32); /* set_image: H(before ‖ image_id) */
    jk_kernel_result_clear(&r);

    JK_REQUIRE(jk_kernel_call(k, a, EP_SPAWNER, 100000, NULL, jk_cap_null(), &r) == JK_OK);
    JK_CHECK_EQ(r.outcome, JK_KERNEL_HALT);
    JK_CHECK_EQ(r.value, JK_CAP_INSTANCE * 10); /* spawned, and the cnode consumed */
    jk_cap spawned = jk_cap_cnode_get(jk_cap_instance_cnode(r.instance), 26);
    jk_cap_instance_image_hash(spawned, &got);
    JK_CHECK_MEM(got.bytes, want.bytes, 32); /* derive_spawn: H(spawner ‖ image_id) */
    jk_kernel_result_clear(&r);

    /* At most JK_KERNEL_MAX_INSTANCES instances per top-level call. */
    uint64_t n[3] = {JK_KERNEL_MAX_INSTANCES, 0, 0};
    JK_REQUIRE(jk_kernel_call(k, a, 17, 10000000, n, jk_cap_null(), &r) == JK_OK);
    JK_CHECK_EQ(r.outcome, JK_KERNEL_HALT);
    jk_kernel_result_clear(&r);
    n[0] = JK_KERNEL_MAX_INSTANCES + 1;
    JK_REQUIRE(jk_kernel_call(k, a, 17, 10000000, n, jk_cap_null(), &r) == JK_OK);
    JK_CHECK_EQ(r.outcome, JK_KERNEL_FAULT);
    JK_CHECK_EQ(r.fault, JK_FAULT_LIMIT);
    jk_kernel_result_clear(&r);
    jk_cap_release(a);
    KT_END(&e);
}

JK_TEST(test_kernel_cap_table_operations)
{
    kt_env e;
    JK_REQUIRE(kt_begin(&e));
    jk_kernel *k = e.k;
    jk_cap image = e.image, x;
    JK_REQUIRE(jk_cap_data_new("x", 1, &x) == JK_OK);
    uint32_t s[1] = {30};
    const kt_op ops[] = {
        {JK_HOST_COPY, 30, 31, 0, 0}, {JK_HOST_MOVE, 31, 32, 0, 0}, {JK_HOST_SWAP, 30, 33, 0, 0},
        {JK_HOST_DROP, 32, 0, 0, 0},  {JK_HOST_CNODE_MINT, 34, 2, 0, 0}, {JK_HOST_COPY, 33, P2(34, 3), 0, 0},
        {JK_HOST_CAP_KIND, P2(34, 3), 0, 0, 0},
    };
    jk_kernel_result r;
    JK_REQUIRE(kt_script(k, image, 1, s, &x, ops, sizeof ops / sizeof ops[0], &r) == JK_OK);
    JK_CHECK_EQ(r.outcome, JK_KERNEL_HALT);
    JK_CHECK_EQ(r.value, JK_CAP_DATA);
    JK_CHECK(jk_cap_is_null(kt_slot_of(r.instance, 30)));
    JK_CHECK(jk_cap_is_null(kt_slot_of(r.instance, 31)));
    JK_CHECK(jk_cap_is_null(kt_slot_of(r.instance, 32)));
    JK_CHECK(jk_cap_equal(kt_slot_of(r.instance, 33), x));
    JK_CHECK(jk_cap_equal(jk_cap_cnode_get(kt_slot_of(r.instance, 34), 3), x));
    JK_CHECK_EQ(jk_cap_cnode_slot_count(kt_slot_of(r.instance, 34)), 4);
    jk_kernel_result_clear(&r);
    jk_cap_release(x);
    KT_END(&e);
}

JK_TEST(test_kernel_host_call_refusals_fault_and_change_nothing)
{
    kt_env e;
    JK_REQUIRE(kt_begin(&e));
    jk_kernel *k = e.k;
    jk_cap image = e.image, x, small;
    JK_REQUIRE(jk_cap_data_new("x", 1, &x) == JK_OK && jk_cap_cnode_new(4, &small) == JK_OK);
    uint32_t pinned = !jk_cap_is_null(jk_cap_image_pinned(image, 18)) ? 18 : 19;
    JK_REQUIRE(!jk_cap_is_null(jk_cap_image_pinned(image, pinned)));
    uint32_t s[3] = {30, 31, 35};
    jk_cap c[3] = {x, x, small};
    const kt_op bad[][1] = {
        {{JK_HOST_COPY, 30, 31, 0, 0}},           /* destination not empty */
        {{JK_HOST_COPY, 40, 41, 0, 0}},           /* source empty */
        {{JK_HOST_COPY, 30, pinned, 0, 0}},       /* into a pinned slot */
        {{JK_HOST_MOVE, pinned, 41, 0, 0}},       /* out of a pinned slot */
        {{JK_HOST_DROP, pinned, 0, 0, 0}},        /* drop a pinned slot */
        {{JK_HOST_SWAP, 30, pinned, 0, 0}},       /* swap with a pinned slot */
        {{JK_HOST_COPY, 30, P2(30, 0), 0, 0}},    /* a path through a Data */
        {{JK_HOST_CAP_KIND, 5ull << 60, 0, 0, 0}}, /* a path past 4 levels */
        {{JK_HOST_CAP_KIND, 256, 0, 0, 0}},       /* a root slot past 255 */
        {{JK_HOST_DATA_READ, 30, 0, 2, 0x40000000}}, /* past the Data's end */
        {{JK_HOST_DATA_READ, 30, 0, 1, 0x10000}},   /* into read-only memory */
        {{JK_HOST_CNODE_MINT, 41, 17, 0, 0}},     /* too many slots */
        {{JK_HOST_SAME_TYPE, 30, 31, 0, 0}},      /* not Instances */
        {{JK_HOST_DERIVE_SPAWN, 25, 35, 41, 0}},  /* a 16-slot cnode, and no Image in 25 */
        {{JK_HOST_SET_IMAGE, 30, 0, 0, 0}},       /* not an Image */
        {{JK_HOST_DROP_PAUSED, 30, 0, 0, 0}},     /* not Paused */
        {{JK_HOST_DATA_MINT, 0xF000, 1, 41, 0}},  /* unreadable memory */
        {{JK_HOST_DATA_MINT, 0x40000000, 1, pinned, 0}}, /* into a pinned slot */
        {{JK_HOST_CNODE_MINT, pinned, 2, 0, 0}},  /* into a pinned slot */
        {{JK_HOST_DERIVE_SPAWN, 25, 35, pinned, 0}}, /* into a pinned slot */
        {{JK_HOST_DATA_LEN, 35, 0, 0, 0}},        /* not a Data */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        jk_kernel_result r;
        JK_REQUIRE(kt_script(k, image, 3, s, c, bad[i], 1, &r) == JK_OK);
        if (r.outcome != JK_KERNEL_FAULT || r.fault != JK_FAULT_HOSTCALL)
            jk_test_fail(__FILE__, __LINE__, "bad op %zu (host call %llu): outcome %d fault %d", i,
                         (unsigned long long)bad[i][0].n, r.outcome, r.fault);
        JK_CHECK_EQ(jk_cap_instance_status(r.instance), JK_CAP_FAULTED);
        JK_CHECK(jk_cap_equal(kt_slot_of(r.instance, 30), x)); /* as it was */
        jk_kernel_result_clear(&r);
    }
    jk_cap_release(x);
    jk_cap_release(small);
    KT_END(&e);
}

JK_TEST(test_kernel_type_queries)
{
    kt_env e;
    JK_REQUIRE(kt_begin(&e));
    jk_kernel *k = e.k;
    jk_cap image = e.image;
    jk_cap peer = kt_inst(image, 0, NULL, NULL); /* same genesis lineage as the runner */
    jk_cap list, list1;
    JK_REQUIRE(jk_cap_cnode_new(2, &list) == JK_OK && jk_cap_cnode_set(list, 1, image, &list1) == JK_OK);
    uint32_t s[3] = {40, 25, 47};
    jk_cap c[3] = {peer, image, list1};
    const kt_op ops[] = {
        {JK_HOST_CNODE_MINT, 45, 8, 0, 0}, {JK_HOST_DERIVE_SPAWN, 25, 45, 46, 0},
        {JK_HOST_SAME_TYPE_AS, 40, 46, 47, 0},
    };
    jk_kernel_result r;
    /* The script returns its last call's φ7: one query per run. */
    JK_REQUIRE(kt_script(k, image, 3, s, c, ops, 3, &r) == JK_OK);
    JK_CHECK_EQ(r.outcome, JK_KERNEL_HALT);
    JK_CHECK_EQ(r.value, 1);
    jk_kernel_result_clear(&r);
    const kt_op same[] = {{JK_HOST_CNODE_MINT, 45, 8, 0, 0}, {JK_HOST_DERIVE_SPAWN, 25, 45, 46, 0},
                          {JK_HOST_SAME_TYPE, 40, 46, 0, 0}};
    JK_REQUIRE(kt_script(k, image, 3, s, c, same, 3, &r) == JK_OK);
    JK_CHECK_EQ(r.value, 0); /* spawned: a different lineage */
    jk_kernel_result_clear(&r);
    const kt_op twins[] = {{JK_HOST_COPY, 40, 41, 0, 0}, {JK_HOST_SAME_TYPE, 40, 41, 0, 0}};
    JK_REQUIRE(kt_script(k, image, 3, s, c, twins, 2, &r) == JK_OK);
    JK_CHECK_EQ(r.value, 1); /* a copy keeps its lineage */
    jk_kernel_result_clear(&r);
    const kt_op wrong[] = {{JK_HOST_SAME_TYPE_AS, 40, 40, 47, 0}};
    JK_REQUIRE(kt_script(k, image, 3, s, c, wrong, 1, &r) == JK_OK);
    JK_CHECK_EQ(r.value, 0);
    jk_kernel_result_clear(&r);
    jk_cap_release(peer);
    jk_cap_release(list);
    jk_cap_release(list1);
    KT_END(&e);
}

JK_TEST(test_kernel_mappings_share_untouched_pages_and_enforce_bounds)
{
    kt_env e;
    JK_REQUIRE(kt_begin(&e));
    jk_kernel *k = e.k;
    jk_cap image = e.image;
    /* A 16-page state in a 4096-byte mapping is too large: the CALL faults. */
    jk_cap big, big_inst;
    JK_REQUIRE(jk_cap_data_new_zeroed(16 * 4096, &big) == JK_OK);
    uint32_t s20[1] = {STATE_SLOT};
    big_inst = kt_inst(image, 1, s20, &big);
    JK_REQUIRE(!jk_cap_is_null(big_inst));
    jk_kernel_result r;
    uint64_t args[3] = {1, 0, 0};
    JK_REQUIRE(jk_kernel_call(k, big_inst, EP_BUMP, 100000, args, jk_cap_null(), &r) == JK_OK);
    JK_CHECK_EQ(r.outcome, JK_KERNEL_FAULT);
    JK_CHECK_EQ(r.fault, JK_FAULT_MAPPING);
    jk_kernel_result_clear(&r);
    /* A write to the read-only data mapping is a page fault. */
    jk_cap a = kt_inst(image, 0, NULL, NULL);
    JK_REQUIRE(jk_kernel_call(k, a, EP_WRITE_RO, 100000, NULL, jk_cap_null(), &r) == JK_OK);
    JK_CHECK_EQ(r.outcome, JK_KERNEL_FAULT);
    JK_CHECK_EQ(r.fault, JK_FAULT_PAGE);
    jk_kernel_result_clear(&r);
    /* A 16-page mapping: one page written, fifteen left shared. */
    static const jk_cap_mapping wide = {0x40000000, 16 * 4096, JK_CAP_MAP_PERSISTENT, JK_PVM_ACCESS_WRITE, STATE_SLOT};
    jk_kernel_image_opts opts = {.mappings = &wide, .mapping_count = 1};
    jk_cap wide_image;
    JK_REQUIRE(jk_kernel_image_from_program(kt_program, kt_program_len, &opts, &wide_image, NULL) == JK_OK);
    jk_cap w = kt_inst(wide_image, 1, s20, &big);
    JK_REQUIRE(jk_kernel_call(k, w, EP_BUMP, 100000, args, jk_cap_null(), &r) == JK_OK);
    JK_CHECK_EQ(r.outcome, JK_KERNEL_HALT);
    jk_cap after = kt_slot_of(r.instance, STATE_SLOT);
    JK_CHECK(jk_cap_data_page(after, 0) != jk_cap_data_page(big, 0));
    for (uint32_t p = 1; p < 16; p++)
        JK_CHECK(jk_cap_data_page(after, p) == jk_cap_data_page(big, p));
    jk_kernel_result_clear(&r);
    jk_cap_release(w);
    jk_cap_release(wide_image);
    jk_cap_release(a);
    jk_cap_release(big_inst);
    jk_cap_release(big);
    KT_END(&e);
}

JK_TEST(test_kernel_set_image_collision_faults)
{
    kt_env e;
    JK_REQUIRE(kt_begin(&e));
    jk_kernel *k = e.k;
    jk_cap image = e.image, q, other, pinning;
    JK_REQUIRE(jk_cap_data_new("q", 1, &q) == JK_OK && jk_cap_data_new("o", 1, &other) == JK_OK);
    jk_cap_pin pin = {30, q};
    static const jk_cap_mapping state = {0x40000000, 4096, JK_CAP_MAP_PERSISTENT, JK_PVM_ACCESS_WRITE, STATE_SLOT};
    jk_kernel_image_opts opts = {.mappings = &state, .mapping_count = 1, .pins = &pin, .pin_count = 1};
    JK_REQUIRE(jk_kernel_image_from_program(kt_program, kt_program_len, &opts, &pinning, NULL) == JK_OK);
    uint32_t s[2] = {IMAGE_SLOT, 30};
    jk_cap c[2] = {pinning, other};
    jk_cap a = kt_inst(image, 2, s, c);
    jk_kernel_result r;
    JK_REQUIRE(jk_kernel_call(k, a, EP_BECOME, 100000, NULL, jk_cap_null(), &r) == JK_OK);
    JK_CHECK_EQ(r.outcome, JK_KERNEL_FAULT); /* slot 30 holds something else */
    JK_CHECK_EQ(r.fault, JK_FAULT_HOSTCALL);
    jk_kernel_result_clear(&r);
    jk_cap b = kt_inst(image, 1, s, c);      /* slot 30 empty: fine */
    JK_REQUIRE(jk_kernel_call(k, b, EP_BECOME, 100000, NULL, jk_cap_null(), &r) == JK_OK);
    JK_CHECK_EQ(r.outcome, JK_KERNEL_HALT);
    JK_CHECK(jk_cap_equal(kt_slot_of(r.instance, 30), q));
    JK_CHECK(jk_cap_equal(jk_cap_instance_image(r.instance), pinning));
    jk_kernel_result_clear(&r);
    jk_cap_release(a);
    jk_cap_release(b);
    jk_cap_release(q);
    jk_cap_release(other);
    jk_cap_release(pinning);
    KT_END(&e);
}
