/*
 * test_adv_kernel.c — hostile guests against the kernel's bounds
 * (docs/abi.md "Bounds", "Gas schedule", "Peak memory"). Each guest tries to
 * make the host do more than its gas pays for: touch every page it can map,
 * copy-on-write a 64 MiB Data page by page, nest CALLs to the depth bound
 * with 256 mappings a frame, yield from the bottom of that stack, loop on
 * every costly host call at minimal gas, mint huge CNodes, nest caps past
 * JK_CAP_MAX_DEPTH, spawn past the instance bound. Each must end in its
 * documented outcome, with gas_used within the gas given and the bytes the
 * host allocated within 2 MiB + 32 bytes per unit of gas, the same on the
 * interpreter and the recompiler. JK_ADV_REPORT=1 prints the figures.
 */
#include "../test.h"
#include "adv_alloc.h"
#include "adv_guest.h"

#include <stdio.h>
#include <stdlib.h>

#define MIB (1ull << 20)

static const jk_pvm_engine adv_engines[2] = {JK_PVM_ENGINE_INTERP, JK_PVM_ENGINE_JIT};

static int64_t adv_live(void)
{
    jk_cap_stats s;
    jk_cap_stats_get(&s);
    return s.live_objects;
}

/* Run target on both engines; both must agree and stay within the bounds.
 * Keeps the interpreter's result in *keep (cleared by the caller). */
static void adv_attack(const char *file, int line, const char *what, jk_cap target, int64_t gas,
                       const uint64_t args[3], bool serve, int outcome, int fault, jk_kernel_result *keep)
{
    jk_kernel_result first = {0};
    for (int e = 0; e < 2; e++) {
        jk_kernel *k = adv_kernel(adv_engines[e]);
        if (!k) {
            jk_test_fail(file, line, "%s: no kernel", what);
            return;
        }
        jk_cap marker = jk_cap_null();
        jk_cap t = target;
        if (serve) { /* the marker is this kernel's: give it to the guest in its slot */
            jk_cap cnode;
            if (jk_kernel_mint_marker(k, 7, &marker) != JK_OK ||
                jk_cap_cnode_set(jk_cap_instance_cnode(target), ADV_MARKER_SLOT, marker, &cnode) != JK_OK) {
                jk_test_fail(file, line, "%s: no marker", what);
                jk_kernel_free(k);
                return;
            }
            jk_cap_instance_genesis(jk_cap_instance_image(target), cnode, &t, NULL);
            jk_cap_release(cnode);
        }
        char name[96];
        snprintf(name, sizeof name, "%s [%s]", what, e ? "jit" : "interp");
        adv_run run;
        adv_call(k, t, gas, args, serve, &run);
        adv_check_bounds(file, line, name, &run, gas);
        if ((int)run.res.outcome != outcome || (fault >= 0 && (int)run.res.fault != fault))
            jk_test_fail(file, line, "%s: outcome %d fault %d (%s), expected outcome %d fault %d", name,
                         (int)run.res.outcome, (int)run.res.fault, run.res.fault_msg, outcome, fault);
        if (e == 0) {
            first = run.res;
        } else {
            if (run.res.outcome != first.outcome || run.res.gas_used != first.gas_used ||
                run.res.fault != first.fault || run.res.value != first.value)
                jk_test_fail(file, line, "%s: the engines disagree (gas %lld / %lld)", what,
                             (long long)first.gas_used, (long long)run.res.gas_used);
            jk_kernel_result_clear(&run.res);
        }
        if (serve)
            jk_cap_release(t);
        jk_cap_release(marker);
        jk_kernel_free(k);
    }
    if (keep)
        *keep = first;
    else
        jk_kernel_result_clear(&first);
}
#define ADV_ATTACK(what, target, gas, args, serve, outcome, fault, keep) \
    adv_attack(__FILE__, __LINE__, (what), (target), (gas), (args), (serve), (outcome), (fault), (keep))

/* Touch r8 pages from address r7, one byte each (the page's counter byte),
 * then halt. With r9 ≠ 0 it first COPYs the state slot to slot 30, so the
 * writes are copy-on-write of a Data that two slots share. */
static const char adv_touch_text[] =
    "        branch_eq_imm r9, 0, go\n"
    "        move_reg r2, r7\n"
    "        move_reg r3, r8\n"
    "        load_imm_64 r7, 0x1000000000000014\n" /* ADV_P1(20) */
    "        load_imm_64 r8, 0x100000000000001e\n" /* ADV_P1(30) */
    "        ecalli 5\n"
    "        move_reg r7, r2\n"
    "        move_reg r8, r3\n"
    "        fallthrough\n"
    "go:     move_reg r2, r7\n"
    "        move_reg r3, r8\n"
    "        fallthrough\n"
    "loop:   store_ind_u8 r3, r2, 0\n"
    "        add_imm_64 r2, r2, 4096\n"
    "        add_imm_64 r3, r3, -1\n"
    "        branch_ne_imm r3, 0, loop\n"
    "        load_imm r7, 0\n"
    "        jump_ind r0, 0\n";

/* Every zero page a guest can map: out of gas at the page 20 M gas cannot
 * pay, paused; resumed with 60 M, out of gas again; dropped. */
JK_TEST(test_adv_page_touch_storm)
{
    int64_t live = adv_live();
    jk_cap image = adv_asm_image(adv_touch_text, 0);
    JK_REQUIRE(!jk_cap_is_null(image));
    jk_cap inst = adv_inst(image, 0, NULL, NULL);
    JK_REQUIRE(!jk_cap_is_null(inst));
    const int64_t gas = 20000000;
    const uint64_t args[3] = {ADV_ZERO, ADV_MAP_SIZE / 4096, 0};
    jk_kernel_result r = {0};
    ADV_ATTACK("touch 262144 zero pages", inst, gas, args, false, JK_KERNEL_OUT_OF_GAS, -1, &r);
    JK_CHECK_EQ(r.gas_used, gas);
    for (int e = 0; e < 2 && r.outcome == JK_KERNEL_OUT_OF_GAS; e++) {
        jk_kernel *k = adv_kernel(adv_engines[e]);
        JK_REQUIRE(k);
        adv_run run;
        /* The first touch past the ~20,000 captured pages pays 2,000 gas
         * each for the copy the next pause makes: 40 M, then pages again. */
        adv_resume(k, r.instance, 3 * gas, &run);
        ADV_CHECK_BOUNDS(e ? "touch storm, resumed [jit]" : "touch storm, resumed [interp]", &run, 3 * gas);
        JK_CHECK_EQ(run.res.outcome, JK_KERNEL_OUT_OF_GAS);
        JK_CHECK(run.res.gas_used > 2 * gas); /* it went on past the copy's price */
        jk_cap dropped;
        JK_CHECK(jk_kernel_drop_paused(run.res.instance, &dropped) == JK_OK);
        JK_CHECK(jk_cap_equal(dropped, inst)); /* back to the instance before the CALL */
        jk_cap_release(dropped);
        jk_kernel_result_clear(&run.res);
        jk_kernel_free(k);
    }
    jk_kernel_result_clear(&r);
    jk_cap_release(inst);
    jk_cap_release(image);
    JK_CHECK_EQ(adv_live(), live);
}

/* A 64 MiB state Data, shared with a second slot, written page by page: at
 * HALT every page is minted back (64 MiB of copies, paid by the touches);
 * with too little gas, paused mid-way with the dirty pages captured. */
JK_TEST(test_adv_copy_on_write_storm)
{
    int64_t live = adv_live();
    jk_cap image = adv_asm_image(adv_touch_text, 0);
    jk_cap big;
    JK_REQUIRE(!jk_cap_is_null(image) && jk_cap_data_new_zeroed(64 * MIB, &big) == JK_OK);
    uint32_t slots[1] = {ADV_STATE_SLOT};
    jk_cap inst = adv_inst(image, 1, slots, &big);
    JK_REQUIRE(!jk_cap_is_null(inst));
    const uint64_t args[3] = {ADV_STATE, 64 * MIB / 4096, 1};
    jk_kernel_result r = {0};
    ADV_ATTACK("copy-on-write 16384 pages of a shared Data", inst, 20000000, args, false, JK_KERNEL_HALT, -1, &r);
    if (r.outcome == JK_KERNEL_HALT) {
        jk_cap state = jk_cap_cnode_get(jk_cap_instance_cnode(r.instance), ADV_STATE_SLOT);
        jk_cap copy = jk_cap_cnode_get(jk_cap_instance_cnode(r.instance), 30);
        uint8_t b = 0;
        JK_CHECK(jk_cap_data_read(state, 100 * 4096, &b, 1) == JK_OK);
        JK_CHECK_EQ(b, (16384 - 100) & 0xff);
        JK_CHECK(jk_cap_equal(copy, big)); /* the copy kept the old pages */
    }
    jk_kernel_result_clear(&r);
    ADV_ATTACK("copy-on-write storm, out of gas", inst, 8000000, args, false, JK_KERNEL_OUT_OF_GAS, -1, &r);
    for (int e = 0; e < 2 && r.outcome == JK_KERNEL_OUT_OF_GAS; e++) {
        jk_kernel *k = adv_kernel(adv_engines[e]);
        JK_REQUIRE(k);
        adv_run run;
        adv_resume(k, r.instance, 20000000, &run);
        ADV_CHECK_BOUNDS(e ? "copy-on-write storm, resumed [jit]" : "copy-on-write storm, resumed [interp]", &run,
                         20000000);
        JK_CHECK_EQ(run.res.outcome, JK_KERNEL_HALT);
        jk_kernel_result_clear(&run.res);
        jk_kernel_free(k);
    }
    jk_kernel_result_clear(&r);
    jk_cap_release(inst);
    jk_cap_release(big);
    jk_cap_release(image);
    JK_CHECK_EQ(adv_live(), live);
}

/* ---- host calls in tight loops ---- */

typedef struct adv_loop_case {
    const char *what;
    adv_op setup[6];
    size_t setup_count;
    adv_op loop[3];
    size_t loop_count;
    int64_t gas;
    int outcome, fault;
    bool serve;
    unsigned extra_maps;
} adv_loop_case;

#define D4(a) ADV_P4(30, 65535, 65535, a)
#define DEEP_SETUP                                                                                  \
    {{JK_HOST_CNODE_MINT, ADV_P1(30), 16, 0, 0}, {JK_HOST_CNODE_MINT, ADV_P2(30, 65535), 16, 0, 0}, \
     {JK_HOST_CNODE_MINT, ADV_P3(30, 65535, 65535), 16, 0, 0},                                     \
     {JK_HOST_DATA_MINT, ADV_ZERO, 8, D4(65535), 0}},                                               \
        4

static const adv_loop_case adv_loops[] = {
    {"GAS at the base price", {{0}}, 0, {{JK_HOST_GAS, 0, 0, 0, 0}}, 1, 1000000, JK_KERNEL_OUT_OF_GAS, -1},
    {"CAP_KIND depth 4 through 2^16-slot CNodes", DEEP_SETUP, {{JK_HOST_CAP_KIND, D4(65535), 0, 0, 0}}, 1,
     3000000, JK_KERNEL_OUT_OF_GAS, -1},
    {"MOVE depth 4 through 2^16-slot CNodes", DEEP_SETUP,
     {{JK_HOST_MOVE, D4(65535), D4(65534), 0, 0}, {JK_HOST_MOVE, D4(65534), D4(65535), 0, 0}}, 2, 5000000,
     JK_KERNEL_OUT_OF_GAS, -1},
    {"SWAP depth 4 through 2^16-slot CNodes", DEEP_SETUP, {{JK_HOST_SWAP, D4(65535), D4(0), 0, 0}}, 1, 5000000,
     JK_KERNEL_OUT_OF_GAS, -1},
    {"COPY + DROP depth 4", DEEP_SETUP,
     {{JK_HOST_COPY, D4(65535), D4(1), 0, 0}, {JK_HOST_DROP, D4(1), 0, 0, 0}}, 2, 5000000, JK_KERNEL_OUT_OF_GAS,
     -1},
    {"CNODE_MINT 2^16 + DROP", {{0}}, 0,
     {{JK_HOST_CNODE_MINT, ADV_P1(30), 16, 0, 0}, {JK_HOST_DROP, ADV_P1(30), 0, 0, 0}}, 2, 3000000,
     JK_KERNEL_OUT_OF_GAS, -1},
    {"DATA_MINT 64 MiB + DROP", {{0}}, 0,
     {{JK_HOST_DATA_MINT, ADV_ZERO, 64 * MIB, ADV_P1(30), 0}, {JK_HOST_DROP, ADV_P1(30), 0, 0, 0}}, 2, 100000000,
     JK_KERNEL_OUT_OF_GAS, -1},
    {"DATA_MINT 64 MiB then DATA_READ it", {{JK_HOST_DATA_MINT, ADV_ZERO, 64 * MIB, ADV_P1(30), 0}}, 1,
     {{JK_HOST_DATA_READ, ADV_P1(30), 0, 64 * MIB, ADV_ZERO}}, 1, 150000000, JK_KERNEL_OUT_OF_GAS, -1},
    {"DEBUG_WRITE 1 MiB", {{0}}, 0, {{JK_HOST_DEBUG_WRITE_NUM, ADV_ZERO, MIB, 0, 0}}, 1, 20000000,
     JK_KERNEL_OUT_OF_GAS, -1},
    {"SAME_TYPE_AS over a 2^16-slot CNode", {{JK_HOST_CNODE_MINT, ADV_P1(30), 16, 0, 0}}, 1,
     {{JK_HOST_SAME_TYPE_AS, ADV_P1(ADV_CALLEE_SLOT), ADV_P1(ADV_CALLEE_SLOT), ADV_P1(30), 0}}, 1, 20000000,
     JK_KERNEL_OUT_OF_GAS, -1},
    {"SAME_TYPE", {{0}}, 0, {{JK_HOST_SAME_TYPE, ADV_P1(ADV_CALLEE_SLOT), ADV_P1(ADV_CALLEE_SLOT), 0, 0}}, 1,
     1000000, JK_KERNEL_OUT_OF_GAS, -1},
    {"CALL of a 256-mapping image", {{0}}, 0, {{JK_HOST_CALL, ADV_P1(ADV_CALLEE_SLOT), 0, 100000, 0}}, 1, 5000000,
     JK_KERNEL_OUT_OF_GAS, -1},
    {"YIELD to a root marker, served in place, 256 mappings", {{0}}, 0, {{JK_HOST_YIELD, ADV_P1(ADV_MARKER_SLOT)}},
     1, 5000000, JK_KERNEL_OUT_OF_GAS, -1, true, 254},
    {"CNODE_MINT 2^8 + DERIVE_SPAWN past 1024 instances", {{0}}, 0,
     {{JK_HOST_CNODE_MINT, ADV_P1(30), 8, 0, 0},
      {JK_HOST_DERIVE_SPAWN, ADV_P1(ADV_IMAGE_SLOT), ADV_P1(30), ADV_P1(31), 0},
      {JK_HOST_DROP, ADV_P1(31), 0, 0, 0}},
     3, 100000000, JK_KERNEL_FAULT, JK_FAULT_LIMIT},
    {"cap nesting past JK_CAP_MAX_DEPTH", {{JK_HOST_DATA_MINT, ADV_ZERO, 1, ADV_P1(30), 0}}, 1,
     {{JK_HOST_CNODE_MINT, ADV_P1(31), 0, 0, 0},
      {JK_HOST_MOVE, ADV_P1(30), ADV_P2(31, 0), 0, 0},
      {JK_HOST_MOVE, ADV_P1(31), ADV_P1(30), 0, 0}},
     3, 10000000, JK_KERNEL_FAULT, JK_FAULT_HOSTCALL},
    {"an unknown host call", {{77, 0, 0, 0, 0}}, 1, {{0}}, 0, 1000, JK_KERNEL_FAULT, JK_FAULT_UNKNOWN_CALL},
    {"FAULT with a 2^40-byte reason", {{JK_HOST_FAULT, 7, ADV_ZERO, 1ull << 40, 0}}, 1, {{0}}, 0, 1000,
     JK_KERNEL_FAULT, JK_FAULT_GUEST},
    {"DATA_MINT past 64 MiB", {{JK_HOST_DATA_MINT, ADV_ZERO, 64 * MIB + 1, ADV_P1(30), 0}}, 1, {{0}}, 0,
     1000000000, JK_KERNEL_FAULT, JK_FAULT_HOSTCALL},
    {"DEBUG_WRITE past 1 MiB", {{JK_HOST_DEBUG_WRITE_NUM, ADV_ZERO, MIB + 1, 0, 0}}, 1, {{0}}, 0, 100000000,
     JK_KERNEL_FAULT, JK_FAULT_HOSTCALL},
};

JK_TEST(test_adv_hostcall_loops)
{
    int64_t live = adv_live();
    /* The callee (slot 21) and the spawnable image (slot 25): halts at once,
     * 256 mappings, so a CALL of it pays its mappings and maps none. */
    const adv_op halt[1] = {{JK_HOST_GAS, 0, 0, 0, 0}};
    jk_cap callee_image = adv_loop_image(halt, 1, NULL, 0, 254);
    JK_REQUIRE(!jk_cap_is_null(callee_image));
    jk_cap callee = adv_inst(callee_image, 0, NULL, NULL);
    JK_REQUIRE(!jk_cap_is_null(callee));
    for (size_t i = 0; i < sizeof adv_loops / sizeof *adv_loops; i++) {
        const adv_loop_case *c = &adv_loops[i];
        jk_cap image = adv_loop_image(c->setup, c->setup_count, c->loop, c->loop_count, c->extra_maps);
        if (jk_cap_is_null(image)) {
            jk_test_fail(__FILE__, __LINE__, "%s: no image", c->what);
            continue;
        }
        uint32_t slots[2] = {ADV_CALLEE_SLOT, ADV_IMAGE_SLOT};
        jk_cap caps[2] = {callee, callee_image};
        jk_cap inst = adv_inst(image, 2, slots, caps);
        jk_kernel_result r = {0};
        ADV_ATTACK(c->what, inst, c->gas, NULL, c->serve, c->outcome, c->fault, &r);
        if (r.fault == JK_FAULT_GUEST)
            JK_CHECK(strlen(r.reason_text) <= JK_KERNEL_REASON_MAX);
        jk_kernel_result_clear(&r);
        jk_cap_release(inst);
        jk_cap_release(image);
    }
    jk_cap_release(callee);
    jk_cap_release(callee_image);
    JK_CHECK_EQ(adv_live(), live);
}

/* 226 root slots each given a fresh 2^16-slot CNode with one Data in its
 * last slot: ~330 gas a CNode, so the host must not build 65,536 slots. */
JK_TEST(test_adv_huge_cnodes_kept)
{
    int64_t live = adv_live();
    adv_op ops[2 * 226];
    size_t n = 0;
    for (uint32_t s = 30; s < 256; s++) {
        ops[n++] = (adv_op){JK_HOST_CNODE_MINT, ADV_P1(s), 16, 0, 0};
        ops[n++] = (adv_op){JK_HOST_DATA_MINT, ADV_ZERO, 8, ADV_P2(s, 65535), 0};
    }
    jk_cap image = adv_loop_image(ops, n, NULL, 0, 0);
    JK_REQUIRE(!jk_cap_is_null(image));
    jk_cap inst = adv_inst(image, 0, NULL, NULL);
    jk_kernel_result r = {0};
    const int64_t gas = 2000000;
    ADV_ATTACK("226 CNodes of 2^16 slots kept", inst, gas, NULL, false, JK_KERNEL_HALT, -1, &r);
    if (r.outcome == JK_KERNEL_HALT)
        JK_CHECK_EQ(jk_cap_kind_of(jk_cap_cnode_get(jk_cap_cnode_get(jk_cap_instance_cnode(r.instance), 255), 65535)),
                    JK_CAP_DATA);
    jk_kernel_result_clear(&r);
    jk_cap_release(inst);
    jk_cap_release(image);
    JK_CHECK_EQ(adv_live(), live);
}

/* ---- the call-depth bound, 256 mappings a frame ---- */

/* Touch 16 zero pages, then CALL slot 21 with all the gas left and halt
 * with the CALL's outcome; with slot 21 empty (the innermost), YIELD to the
 * marker in slot 22 instead and halt with 42. */
static const char adv_relay_text[] =
    "        load_imm_64 r2, 0x10000000\n"
    "        load_imm r3, 16\n"
    "        fallthrough\n"
    "touch:  store_ind_u8 r3, r2, 0\n"
    "        add_imm_64 r2, r2, 4096\n"
    "        add_imm_64 r3, r3, -1\n"
    "        branch_ne_imm r3, 0, touch\n"
    "        load_imm_64 r7, 0x1000000000000015\n" /* CAP_KIND(ADV_P1(21)) */
    "        ecalli 17\n"
    "        branch_eq_imm r7, 0, ask\n"
    "        ecalli 0\n"
    "        move_reg r9, r7\n"
    "        load_imm_64 r7, 0x1000000000000015\n"
    "        load_imm r8, 0\n"
    "        ecalli 1\n"
    "        jump_ind r0, 0\n"
    "ask:    load_imm_64 r7, 0x1000000000000016\n" /* YIELD(ADV_P1(22)) */
    "        ecalli 4\n"
    "        load_imm r7, 42\n"
    "        jump_ind r0, 0\n";

/* `levels` instances of image, each in slot 21 of the next; the innermost
 * holds `inner` (borrowed) in slot 22. NEW reference. */
static jk_cap adv_nest(jk_cap image, unsigned levels, jk_cap inner)
{
    uint32_t s22 = ADV_MARKER_SLOT, s21 = ADV_CALLEE_SLOT;
    jk_cap inst = jk_cap_is_null(inner) ? adv_inst(image, 0, NULL, NULL) : adv_inst(image, 1, &s22, &inner);
    for (unsigned i = 1; i < levels && !jk_cap_is_null(inst); i++) {
        jk_cap outer = adv_inst(image, 1, &s21, &inst);
        jk_cap_release(inst);
        inst = outer;
    }
    return inst;
}

JK_TEST(test_adv_deep_call_nesting)
{
    int64_t live = adv_live();
    jk_cap image = adv_asm_image(adv_relay_text, 254);
    JK_REQUIRE(!jk_cap_is_null(image));
    /* 26 nested relays: the 24th frame's CALL passes the depth bound and
     * faults it (code 5); the 23rd halts with that FAULT outcome; so on up. */
    jk_cap top = adv_nest(image, 26, jk_cap_null());
    JK_REQUIRE(!jk_cap_is_null(top));
    jk_kernel_result r = {0};
    ADV_ATTACK("CALL nesting past the depth bound, 256 mappings", top, 50000000, NULL, false, JK_KERNEL_HALT, -1, &r);
    jk_kernel_result_clear(&r);
    jk_cap_release(top);

    /* 24 frames, the innermost yielding to a root marker: the whole stack
     * (24 × 256 regions, 16 dirty pages each) pauses, then resumes. */
    for (int e = 0; e < 2; e++) {
        jk_kernel *k = adv_kernel(adv_engines[e]);
        jk_cap marker;
        JK_REQUIRE(k && jk_kernel_mint_marker(k, 3, &marker) == JK_OK);
        jk_cap deep = adv_nest(image, JK_KERNEL_MAX_DEPTH, marker);
        JK_REQUIRE(!jk_cap_is_null(deep));
        adv_run run;
        adv_call(k, deep, 50000000, NULL, false, &run);
        ADV_CHECK_BOUNDS(e ? "yield from depth 24 [jit]" : "yield from depth 24 [interp]", &run, 50000000);
        JK_CHECK_EQ(run.res.outcome, JK_KERNEL_YIELDED);
        if (run.res.outcome == JK_KERNEL_YIELDED) {
            adv_run again;
            adv_resume(k, run.res.instance, 50000000, &again);
            ADV_CHECK_BOUNDS(e ? "resume at depth 24 [jit]" : "resume at depth 24 [interp]", &again, 50000000);
            JK_CHECK_EQ(again.res.outcome, JK_KERNEL_HALT);
            jk_kernel_result_clear(&again.res);
        }
        jk_kernel_result_clear(&run.res);
        adv_call(k, deep, 50000000, NULL, true, &run);
        ADV_CHECK_BOUNDS(e ? "yield from depth 24, served [jit]" : "yield from depth 24, served [interp]", &run,
                         50000000);
        JK_CHECK_EQ(run.res.outcome, JK_KERNEL_HALT);
        jk_kernel_result_clear(&run.res);
        jk_cap_release(deep);
        jk_cap_release(marker);
        jk_kernel_free(k);
    }
    jk_cap_release(image);
    JK_CHECK_EQ(adv_live(), live);
}

/* Regression: a zero region resumed from a pause starts from the Data the
 * pause captured; a touch past it made the next pause copy that whole Data
 * (jk_kernel_frame_capture), unpaid. Paused and resumed in 2 M-gas slices, each
 * slice copied all the pages of the slices before it: 16 MB more at every
 * resume, past the bound at the 4th (98 bytes/gas at the 11th). The touch
 * past a captured zero region now pays for the copy, as an initialised
 * region's does (src/kernel/frame.c jk_resolve). */
JK_TEST(test_adv_resume_chain_in_small_slices)
{
    int64_t live = adv_live();
    jk_cap image = adv_asm_image(adv_touch_text, 0);
    JK_REQUIRE(!jk_cap_is_null(image));
    jk_cap inst = adv_inst(image, 0, NULL, NULL);
    const uint64_t args[3] = {ADV_ZERO, ADV_MAP_SIZE / 4096, 0};
    const int64_t slice = 2000000;
    for (int e = 0; e < 2; e++) {
        jk_kernel *k = adv_kernel(adv_engines[e]);
        JK_REQUIRE(k);
        adv_run run;
        adv_call(k, inst, slice, args, false, &run);
        ADV_CHECK_BOUNDS("resume chain, slice 0", &run, slice);
        for (int i = 1; i < 12 && run.res.outcome == JK_KERNEL_OUT_OF_GAS; i++) {
            adv_run next;
            adv_resume(k, run.res.instance, slice, &next);
            char name[64];
            snprintf(name, sizeof name, "resume chain, slice %d [%s]", i, e ? "jit" : "interp");
            ADV_CHECK_BOUNDS(name, &next, slice);
            JK_CHECK_EQ(next.res.outcome, JK_KERNEL_OUT_OF_GAS);
            jk_kernel_result_clear(&run.res);
            run = next;
        }
        jk_kernel_result_clear(&run.res);
        jk_kernel_free(k);
    }
    jk_cap_release(inst);
    jk_cap_release(image);
    JK_CHECK_EQ(adv_live(), live);
}

/* Regression: 16,384 pages touched, then YIELD to a root marker in a loop,
 * each served in place (as the chain serves attests). Every in-place resume
 * parked every page the frame had mapped and scanned the whole dirty list
 * once per mapping, for a YIELD of ~110 gas: 170 ns of host time a unit of
 * gas (~2 on the interpreter alone). Now it parks the pages mapped since the
 * last resume and scans each dirty entry once: the pages looked at stay
 * within twice the pages the gas paid to map. */
JK_TEST(test_adv_yield_loop_after_many_pages)
{
    static const char text[] =
        "        load_imm_64 r2, 0x10000000\n"
        "        load_imm r3, 16384\n"
        "        fallthrough\n"
        "touch:  store_ind_u8 r3, r2, 0\n"
        "        add_imm_64 r2, r2, 4096\n"
        "        add_imm_64 r3, r3, -1\n"
        "        branch_ne_imm r3, 0, touch\n"
        "        fallthrough\n"
        "ask:    load_imm_64 r7, 0x1000000000000016\n" /* YIELD(ADV_P1(22)) */
        "        ecalli 4\n"
        "        jump ask\n";
    int64_t live = adv_live();
    jk_cap image = adv_asm_image(text, 0);
    JK_REQUIRE(!jk_cap_is_null(image));
    const int64_t gas = 20000000;
    for (int e = 0; e < 2; e++) {
        jk_kernel *k = adv_kernel(adv_engines[e]);
        jk_cap marker, inst;
        uint32_t s22 = ADV_MARKER_SLOT;
        JK_REQUIRE(k && jk_kernel_mint_marker(k, 5, &marker) == JK_OK);
        inst = adv_inst(image, 1, &s22, &marker);
        adv_run run;
        adv_call(k, inst, gas, NULL, true, &run);
        ADV_CHECK_BOUNDS(e ? "yield loop after 16384 pages, served [jit]" : "yield loop after 16384 pages, served [interp]",
                         &run, gas);
        JK_CHECK_EQ(run.res.outcome, JK_KERNEL_OUT_OF_GAS);
        uint64_t yields = jk_kernel_served_in_place(k), scans = jk_kernel_page_scans(k);
        JK_CHECK(yields > 10000);
        uint64_t paid_pages = (uint64_t)run.res.gas_used / JK_GAS_PER_PAGE_TOUCHED;
        if (scans > 2 * paid_pages + 2)
            jk_test_fail(__FILE__, __LINE__, "%llu yields looked at %llu pages, %llu paid for",
                         (unsigned long long)yields, (unsigned long long)scans, (unsigned long long)paid_pages);
        jk_kernel_result_clear(&run.res);
        jk_cap_release(inst);
        jk_cap_release(marker);
        jk_kernel_free(k);
    }
    jk_cap_release(image);
    JK_CHECK_EQ(adv_live(), live);
}
