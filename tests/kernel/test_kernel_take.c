/*
 * test_kernel_take.c — JK_KERNEL_CALL_TAKE_SLOT0 (call.c; session 14, the
 * chain's verify hands its scratchpad over): the call consumes the
 * embedder's reference to slot0, so the target's first write into it
 * changes it in place (held by the caller too, it was a path copy); the
 * value is the one a plain call gives; a fault gives the null cap back;
 * nothing leaks on any path (KT_END).
 */
#include "../test.h"
#include "kfix.h"

#include "jark/cap.h"

/* A 4-slot CNode holding "a" and "b" in slots 0 and 1 (a scratchpad). */
static jk_cap kk_pad(void)
{
    jk_cap a, b, pad = jk_cap_null();
    if (jk_cap_data_new("a", 1, &a) != JK_OK)
        return pad;
    if (jk_cap_data_new("b", 1, &b) == JK_OK) {
        if (jk_cap_cnode_new_filled(2, (jk_cap[2]){a, b}, 2, &pad) != JK_OK)
            pad = jk_cap_null();
        jk_cap_release(b);
    }
    jk_cap_release(a);
    return pad;
}

/* ops on a fresh kprog instance, called with slot0 and flags. */
static jk_err kk_call(kt_env *e, const kt_op *ops, size_t nops, jk_cap slot0, unsigned flags,
                      jk_kernel_result *res)
{
    jk_cap code;
    if (jk_cap_data_new(ops, nops * sizeof *ops, &code) != JK_OK)
        return JK_ERR_NOMEM;
    uint32_t slot = SCRIPT_SLOT;
    jk_cap inst = kt_inst(e->image, 1, &slot, &code);
    jk_err err = jk_kernel_call_served_flags(e->k, inst, EP_SCRIPT, 1000000, NULL, slot0, NULL, NULL, flags, res);
    jk_cap_release(inst);
    jk_cap_release(code);
    return err;
}

JK_TEST(test_kernel_call_take_slot0_writes_it_in_place)
{
    kt_env e;
    JK_REQUIRE(kt_begin(&e));
    /* slot[0]'s slot 1 moved out to slot 31: a write into slot[0] */
    const kt_op move[] = {{JK_HOST_MOVE, P2(0, 1), 31, 0, 0}};
    jk_kernel_result plain, took;
    jk_cap pad = kk_pad();
    JK_REQUIRE(!jk_cap_is_null(pad));
    JK_REQUIRE(kk_call(&e, move, 1, pad, 0, &plain) == JK_OK);
    JK_CHECK_EQ(plain.outcome, JK_KERNEL_HALT);
    JK_CHECK(!jk_cap_same(plain.slot0, pad)); /* held by us too: copied */
    jk_cap_release(pad);

    pad = kk_pad();
    JK_REQUIRE(!jk_cap_is_null(pad));
    const void *sent = pad.body; /* compared, never read: our reference is the call's now */
    JK_REQUIRE(kk_call(&e, move, 1, pad, JK_KERNEL_CALL_TAKE_SLOT0, &took) == JK_OK);
    JK_CHECK_EQ(took.outcome, JK_KERNEL_HALT);
    JK_CHECK(took.slot0.body == sent); /* the very CNode, written in place */
    JK_CHECK(jk_cap_equal(took.slot0, plain.slot0));
    JK_CHECK(jk_cap_equal(took.instance, plain.instance));
    JK_CHECK_EQ(took.gas_used, plain.gas_used);
    JK_CHECK(jk_cap_is_null(jk_cap_cnode_get(took.slot0, 1)));
    jk_kernel_result_clear(&plain);
    jk_kernel_result_clear(&took);
    KT_END(&e); /* fails when the call leaves the taken reference held */
}

JK_TEST(test_kernel_call_take_slot0_fault_and_refusal_give_it_up)
{
    kt_env e;
    JK_REQUIRE(kt_begin(&e));
    /* a refused host call faults the frame: the sent slot0 would come back */
    const kt_op refused[] = {{JK_HOST_DATA_LEN, 35, 0, 0, 0}};
    jk_kernel_result plain, took;
    jk_cap pad = kk_pad();
    JK_REQUIRE(kk_call(&e, refused, 1, pad, 0, &plain) == JK_OK);
    JK_CHECK_EQ(plain.outcome, JK_KERNEL_FAULT);
    JK_CHECK(jk_cap_same(plain.slot0, pad));
    jk_cap_release(pad);
    pad = kk_pad();
    JK_REQUIRE(kk_call(&e, refused, 1, pad, JK_KERNEL_CALL_TAKE_SLOT0, &took) == JK_OK);
    JK_CHECK_EQ(took.outcome, JK_KERNEL_FAULT);
    JK_CHECK(jk_cap_is_null(took.slot0));
    JK_CHECK_EQ(took.fault, plain.fault);
    JK_CHECK_EQ(took.gas_used, plain.gas_used);
    jk_kernel_result_clear(&plain);
    jk_kernel_result_clear(&took);
    /* a target the call refuses before any frame: the reference goes too */
    pad = kk_pad();
    JK_CHECK_EQ(jk_kernel_call_served_flags(e.k, e.image, 0, 1000, NULL, pad, NULL, NULL,
                                            JK_KERNEL_CALL_TAKE_SLOT0, &took),
                JK_ERR_INVALID_ARG);
    jk_kernel_result_clear(&took);
    KT_END(&e);
}
