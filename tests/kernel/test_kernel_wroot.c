/*
 * test_kernel_wroot.c — the working root (docs/kernel.md "The working
 * root", src/kernel/slots.c): a frame's root slot writes kept in a table
 * beside its cnode and written into the tree only where a value of the
 * whole cnode is made. Whatever is in the table or the tree, every read and
 * the value a HALT leaves must be the cnode the writes make one by one
 * (jk_cap_cnode_set), and every bound must be decided as on that cnode.
 */
#include "../test.h"
#include "kfix.h"

#include <string.h>

/* Run a script on inst (kprog's script endpoint, the script in SCRIPT_SLOT). */
static jk_err kw_run(jk_kernel *k, jk_cap inst, jk_kernel_result *r)
{
    return jk_kernel_call(k, inst, EP_SCRIPT, 1000000, NULL, jk_cap_null(), r);
}

static jk_cap kw_set(jk_cap cnode, uint32_t s, jk_cap v)
{
    jk_cap out = jk_cap_null();
    JK_CHECK(jk_cap_cnode_set(cnode, s, v, &out) == JK_OK);
    jk_cap_release(cnode);
    return out;
}

/* Past the table's 32 entries (a flush in the middle of the run), slots
 * written and read back from the table, from the tree after the flush,
 * nested writes into a CNode of the tree and into one the table holds, a
 * slot written back to the tree's own value: the HALT leaves exactly the
 * cnode the same writes make with jk_cap_cnode_set. */
JK_TEST(test_kernel_wroot_equals_the_writes_one_by_one)
{
    kt_env e;
    JK_REQUIRE(kt_begin(&e));
    jk_cap x, y, z, four;
    JK_REQUIRE(jk_cap_data_new("x", 1, &x) == JK_OK);
    JK_REQUIRE(jk_cap_data_new("y", 1, &y) == JK_OK);
    JK_REQUIRE(jk_cap_data_new("zz", 2, &z) == JK_OK);
    JK_REQUIRE(jk_cap_cnode_new(2, &four) == JK_OK);
    four = kw_set(four, 1, y);
    kt_op ops[32];
    size_t n = 0;
    ops[n++] = (kt_op){JK_HOST_MOVE, 40, 50, 0, 0};        /* 40 → 50 ... */
    ops[n++] = (kt_op){JK_HOST_MOVE, 50, 40, 0, 0};        /* ... and back: the tree's value */
    ops[n++] = (kt_op){JK_HOST_COPY, 42, P2(41, 2), 0, 0}; /* nested, a CNode of the tree */
    ops[n++] = (kt_op){JK_HOST_COPY, 42, P2(41, 3), 0, 0}; /* nested, the table's copy */
    ops[n++] = (kt_op){JK_HOST_CNODE_MINT, 43, 1, 0, 0};
    ops[n++] = (kt_op){JK_HOST_COPY, 40, P2(43, 0), 0, 0}; /* nested, a CNode minted here */
    for (uint32_t s = 60; s < 94; s += 2)                 /* 34 more slots: the table fills */
        ops[n++] = (kt_op){JK_HOST_SWAP, s, s + 1, 0, 0};
    ops[n++] = (kt_op){JK_HOST_COPY, 42, 94, 0, 0};        /* after the flush */
    ops[n++] = (kt_op){JK_HOST_COPY, 94, 95, 0, 0};        /* read from the table */
    ops[n++] = (kt_op){JK_HOST_COPY, P2(43, 0), 96, 0, 0}; /* read from the tree (flushed) */
    ops[n++] = (kt_op){JK_HOST_CAP_KIND, P2(41, 3), 0, 0, 0};
    JK_REQUIRE(n <= 32);
    jk_cap code;
    JK_REQUIRE(jk_cap_data_new(ops, n * sizeof *ops, &code) == JK_OK);
    uint32_t slots[] = {40, 41, 42, SCRIPT_SLOT};
    jk_cap caps[] = {x, four, z, code};
    jk_cap inst = kt_inst(e.image, 4, slots, caps);
    JK_REQUIRE(!jk_cap_is_null(inst));

    jk_kernel_result r;
    JK_REQUIRE(kw_run(e.k, inst, &r) == JK_OK);
    JK_CHECK_EQ(r.outcome, JK_KERNEL_HALT);
    JK_CHECK_EQ(r.value, JK_CAP_DATA);

    /* The same writes, one by one, on the instance's cnode. */
    jk_cap want = jk_cap_retain(jk_cap_instance_cnode(inst)), inner, two;
    JK_REQUIRE(jk_cap_cnode_set(four, 2, z, &inner) == JK_OK);
    inner = kw_set(inner, 3, z);
    want = kw_set(want, 41, inner);
    JK_REQUIRE(jk_cap_cnode_new(1, &two) == JK_OK);
    two = kw_set(two, 0, x);
    want = kw_set(want, 43, two);
    want = kw_set(want, 94, z);
    want = kw_set(want, 95, z);
    want = kw_set(want, 96, x);
    jk_hash got_h, want_h;
    jk_cap_hash(jk_cap_instance_cnode(r.instance), &got_h);
    jk_cap_hash(want, &want_h);
    JK_CHECK(!memcmp(got_h.bytes, want_h.bytes, sizeof got_h.bytes));
    JK_CHECK(jk_cap_equal(kt_slot_of(r.instance, 40), x));
    JK_CHECK(jk_cap_is_null(kt_slot_of(r.instance, 50)));
    JK_CHECK(jk_cap_is_null(kt_slot_of(r.instance, 61)));
    JK_CHECK(jk_cap_equal(kt_slot_of(r.instance, 96), x));
    /* the input's nested CNode is the caller's, unchanged */
    JK_CHECK(jk_cap_is_null(jk_cap_cnode_get(kt_slot_of(inst, 41), 2)));
    jk_kernel_result_clear(&r);
    jk_cap_release(inner);
    jk_cap_release(two);
    jk_cap_release(want);
    jk_cap_release(inst);
    jk_cap_release(code);
    jk_cap_release(four);
    jk_cap_release(x);
    jk_cap_release(y);
    jk_cap_release(z);
    KT_END(&e);
}
