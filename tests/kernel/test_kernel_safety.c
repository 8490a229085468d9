/*
 * test_kernel_safety.c — issue 11's kernel rules, each with the case that
 * broke it: no decision by cap-object identity, gas caps kept across a pause,
 * every bound ending in a clean fault (never an error from jk_kernel_call),
 * and the FAULT host call's reason reaching the embedder.
 */
#include "../progs.h"
#include "../test.h"
#include "kfix.h"

#include <stdlib.h>

#define EP_REFUSE 19
#define EP_SPAWN_YIELD_SPAWN 20
#define EP_TOUCH_PAGES 21

/* With x in slot 21 and slot[0] holding x itself or an equal but separately
 * built y, CALL of slot 21 decides the same: slot[0] is a path, not an object. */
JK_TEST(test_kernel_call_target_in_slot0_is_decided_by_path)
{
    kt_env e;
    JK_REQUIRE(kt_begin(&e));
    jk_kernel *k = e.k;
    jk_cap image = e.image;
    jk_cap x = kt_inst(image, 0, NULL, NULL), y = kt_inst(image, 0, NULL, NULL);
    JK_REQUIRE(jk_cap_equal(x, y) && !jk_cap_same(x, y));
    uint32_t s[1] = {CALLEE_SLOT};
    const kt_op call21[] = {{JK_HOST_CALL, CALLEE_SLOT, EP_BUMP, 100000, 1}};
    jk_kernel_result rx, ry;
    JK_REQUIRE(kt_script_with(k, image, 1, s, &x, call21, 1, x, 1000000, &rx) == JK_OK);
    JK_REQUIRE(kt_script_with(k, image, 1, s, &x, call21, 1, y, 1000000, &ry) == JK_OK);
    JK_CHECK_EQ(rx.outcome, JK_KERNEL_HALT);
    JK_CHECK_EQ(ry.outcome, JK_KERNEL_HALT);
    JK_CHECK_EQ(rx.value, JK_KERNEL_HALT); /* the script's CALL halted */
    JK_CHECK_EQ(rx.gas_used, ry.gas_used);
    JK_CHECK(jk_cap_equal(rx.instance, ry.instance));
    jk_kernel_result_clear(&rx);
    jk_kernel_result_clear(&ry);
    /* A target at slot[0], or under it, is refused whatever it holds. */
    jk_cap list, list1;
    JK_REQUIRE(jk_cap_cnode_new(2, &list) == JK_OK && jk_cap_cnode_set(list, 1, x, &list1) == JK_OK);
    const kt_op call0[] = {{JK_HOST_CALL, 0, EP_BUMP, 100000, 1}};
    const kt_op call_under0[] = {{JK_HOST_CALL, P2(0, 1), EP_BUMP, 100000, 1}};
    JK_REQUIRE(kt_script_with(k, image, 0, NULL, NULL, call0, 1, x, 1000000, &rx) == JK_OK);
    JK_CHECK_EQ(rx.outcome, JK_KERNEL_FAULT);
    JK_CHECK_EQ(rx.fault, JK_FAULT_HOSTCALL);
    jk_kernel_result_clear(&rx);
    JK_REQUIRE(kt_script_with(k, image, 0, NULL, NULL, call_under0, 1, list1, 1000000, &rx) == JK_OK);
    JK_CHECK_EQ(rx.outcome, JK_KERNEL_FAULT);
    JK_CHECK_EQ(rx.fault, JK_FAULT_HOSTCALL);
    jk_kernel_result_clear(&rx);
    jk_cap_release(list);
    jk_cap_release(list1);
    jk_cap_release(x);
    jk_cap_release(y);
    KT_END(&e);
}

/* The frame writes its mapped state, then replaces the state slot with a Data
 * that is the very state object, or an equal copy: neither is minted over. */
JK_TEST(test_kernel_mint_back_is_decided_by_a_write_flag)
{
    kt_env e;
    JK_REQUIRE(kt_begin(&e));
    jk_kernel *k = e.k;
    jk_cap image = e.image;
    jk_cap state, state2, word;
    JK_REQUIRE(jk_cap_data_new_zeroed(4096, &state) == JK_OK && jk_cap_data_new_zeroed(4096, &state2) == JK_OK);
    JK_REQUIRE(jk_cap_data_new("xxxxxxxx", 8, &word) == JK_OK);
    const kt_op ops[] = {
        {JK_HOST_DATA_READ, 31, 0, 8, 0x40000000}, /* dirty the mapped state */
        {JK_HOST_DROP, STATE_SLOT, 0, 0, 0},
        {JK_HOST_COPY, 30, STATE_SLOT, 0, 0},
    };
    jk_kernel_result r[2];
    for (int i = 0; i < 2; i++) {
        uint32_t s[3] = {STATE_SLOT, 30, 31};
        jk_cap c[3] = {state, i == 0 ? state : state2, word};
        JK_REQUIRE(kt_script_with(k, image, 3, s, c, ops, 3, jk_cap_null(), 1000000, &r[i]) == JK_OK);
        JK_CHECK_EQ(r[i].outcome, JK_KERNEL_HALT);
        JK_CHECK(jk_cap_equal(kt_slot_of(r[i].instance, STATE_SLOT), state)); /* not minted over */
    }
    JK_CHECK(jk_cap_equal(r[0].instance, r[1].instance));
    JK_CHECK_EQ(r[0].gas_used, r[1].gas_used);
    jk_kernel_result_clear(&r[0]);
    jk_kernel_result_clear(&r[1]);
    jk_cap_release(state);
    jk_cap_release(state2);
    jk_cap_release(word);
    KT_END(&e);
}

/* SET_IMAGE to the running image itself or to an equal copy, then a yield:
 * both cannot pause (a flag, not a comparison of image objects). */
JK_TEST(test_kernel_set_image_then_pause_is_decided_by_a_flag)
{
    kt_env e;
    JK_REQUIRE(kt_begin(&e));
    jk_kernel *k = e.k;
    jk_cap image = e.image, twin = kt_image(), marker;
    JK_REQUIRE(jk_cap_equal(image, twin) && !jk_cap_same(image, twin));
    JK_REQUIRE(jk_kernel_mint_marker(k, 3, &marker) == JK_OK);
    const kt_op ops[] = {{JK_HOST_SET_IMAGE, IMAGE_SLOT, 0, 0, 0}, {JK_HOST_YIELD, MARKER_SLOT, 0, 0, 0}};
    for (int i = 0; i < 2; i++) {
        uint32_t s[2] = {IMAGE_SLOT, MARKER_SLOT};
        jk_cap c[2] = {i == 0 ? image : twin, marker};
        jk_kernel_result r;
        JK_REQUIRE(kt_script_with(k, image, 2, s, c, ops, 2, jk_cap_null(), 1000000, &r) == JK_OK);
        JK_CHECK_EQ(r.outcome, JK_KERNEL_FAULT);
        JK_CHECK_EQ(r.fault, JK_FAULT_LIMIT);
        jk_kernel_result_clear(&r);
    }
    jk_cap_release(marker);
    jk_cap_release(twin);
    KT_END(&e);
}

/* SET_IMAGE moves the pins: a write at a slot the new image pins (and the
 * old one did not) is refused after it, on both engines (the kernel keeps
 * the pinned slots as a bit set per frame since session 16, recomputed at
 * SET_IMAGE: this fails when it is not). */
JK_TEST(test_kernel_set_image_moves_the_pinned_slots)
{
    kt_env e;
    JK_REQUIRE(kt_begin(&e));
    jk_kernel *kk[2];
    JK_REQUIRE(kt_kernel_pair(&kk[0], &kk[1]));
    jk_cap image = e.image, q, pinning;
    JK_REQUIRE(jk_cap_data_new("q", 1, &q) == JK_OK);
    JK_REQUIRE(jk_cap_is_null(jk_cap_image_pinned(image, 30)));
    jk_cap_pin pin = {30, q};
    static const jk_cap_mapping state = {0x40000000, 4096, JK_CAP_MAP_PERSISTENT, JK_PVM_ACCESS_WRITE, STATE_SLOT};
    jk_kernel_image_opts opts = {.mappings = &state, .mapping_count = 1, .pins = &pin, .pin_count = 1};
    JK_REQUIRE(jk_kernel_image_from_program(kt_program, kt_program_len, &opts, &pinning, NULL) == JK_OK);
    const kt_op ops[] = {{JK_HOST_SET_IMAGE, IMAGE_SLOT, 0, 0, 0}, {JK_HOST_DROP, 30, 0, 0, 0}};
    for (int i = 0; i < 2; i++) {
        uint32_t s[1] = {IMAGE_SLOT};
        jk_cap c[1] = {pinning};
        jk_kernel_result r;
        JK_REQUIRE(kt_script_with(kk[i], image, 1, s, c, ops, 1, jk_cap_null(), 1000000, &r) == JK_OK);
        JK_CHECK_EQ(r.outcome, JK_KERNEL_HALT); /* SET_IMAGE alone: fine */
        jk_kernel_result_clear(&r);
        JK_REQUIRE(kt_script_with(kk[i], image, 1, s, c, ops, 2, jk_cap_null(), 1000000, &r) == JK_OK);
        JK_CHECK_EQ(r.outcome, JK_KERNEL_FAULT); /* slot 30 is pinned now */
        JK_CHECK_EQ(r.fault, JK_FAULT_HOSTCALL);
        jk_kernel_result_clear(&r);
    }
    jk_kernel_free(kk[0]);
    jk_kernel_free(kk[1]);
    jk_cap_release(q);
    jk_cap_release(pinning);
    KT_END(&e);
}

/* A callee CALLed with a 5,000 gas cap yields to an attest marker and then
 * spins: resumed with 100,000, it still stops at its cap. */
JK_TEST(test_kernel_pause_keeps_each_frames_gas_cap)
{
    kt_env e;
    JK_REQUIRE(kt_begin(&e));
    jk_kernel *k = e.k;
    jk_cap image = e.image, marker;
    JK_REQUIRE(jk_kernel_mint_marker(k, 1, &marker) == JK_OK);
    uint32_t s22[1] = {MARKER_SLOT}, s21[1] = {CALLEE_SLOT};
    jk_cap b = kt_inst(image, 1, s22, &marker);
    jk_cap a = kt_inst(image, 1, s21, &b);
    uint64_t args[3] = {EP_ASK_THEN_SPIN, 5000, 0};
    jk_kernel_result y, r;
    JK_REQUIRE(jk_kernel_call(k, a, EP_RELAY, 1000000, args, jk_cap_null(), &y) == JK_OK);
    JK_CHECK_EQ(y.outcome, JK_KERNEL_YIELDED);
    JK_REQUIRE(jk_cap_instance_frame_count(y.instance) == 2);
    int64_t before = y.gas_used;
    JK_REQUIRE(jk_kernel_resume(k, y.instance, 100000, jk_cap_null(), &r) == JK_OK);
    JK_CHECK_EQ(r.outcome, JK_KERNEL_HALT);          /* A saw B run out of gas */
    JK_CHECK_EQ(r.value >> 32, JK_KERNEL_OUT_OF_GAS);
    JK_CHECK(before + r.gas_used <= 5000 + 2000);    /* B never passed its cap */
    /* A resume with less than the cap gives the callee what there is. */
    jk_kernel_result_clear(&r);
    JK_REQUIRE(jk_kernel_resume(k, y.instance, 1000, jk_cap_null(), &r) == JK_OK);
    JK_CHECK(r.gas_used <= 1000);
    jk_kernel_result_clear(&r);
    jk_kernel_result_clear(&y);
    jk_cap_release(a);
    jk_cap_release(b);
    jk_cap_release(marker);
    KT_END(&e);
}

/* CNodes nested to the bound, then HALT: the frame's new value would nest too
 * deep. The outcome is a FAULT, never an error from jk_kernel_call. */
JK_TEST(test_kernel_nesting_bound_at_halt_faults)
{
    kt_env e;
    JK_REQUIRE(kt_begin(&e));
    jk_kernel *k = e.k;
    jk_cap image = e.image;
    /* Each round wraps slot 30 in one more CNode. */
    const kt_op wrap[] = {
        {JK_HOST_CNODE_MINT, 31, 0, 0, 0}, {JK_HOST_MOVE, 30, P2(31, 0), 0, 0}, {JK_HOST_MOVE, 31, 30, 0, 0},
        {JK_HOST_CNODE_MINT, 31, 0, 0, 0}, {JK_HOST_MOVE, 30, P2(31, 0), 0, 0}, {JK_HOST_MOVE, 31, 30, 0, 0},
    };
    int limit_faults = 0, runs = 0;
    for (int depth = 50; depth < JK_CAP_MAX_DEPTH; depth++) {
        jk_cap chain = kt_chain((unsigned)depth);
        uint32_t s[1] = {30};
        jk_kernel_result r;
        if (!jk_cap_is_null(chain)) {
            jk_err err = kt_script_with(k, image, 1, s, &chain, wrap, 6, jk_cap_null(), 1000000, &r);
            if (err == JK_OK || err == JK_ERR_INVALID_ARG) /* INVALID_ARG: the instance itself is too deep */
                runs += err == JK_OK;
            else
                jk_test_fail(__FILE__, __LINE__, "depth %d: jk_kernel_call returned %d", depth, err);
            if (err == JK_OK && r.outcome == JK_KERNEL_FAULT && r.fault == JK_FAULT_LIMIT)
                limit_faults++;
            if (err == JK_OK)
                jk_kernel_result_clear(&r);
        }
        jk_cap_release(chain);
    }
    JK_CHECK(runs > 0);
    JK_CHECK(limit_faults > 0); /* the HALT (or a pause) that would nest too deep */
    KT_END(&e);
}

/* Mappings are bounded by the longest Data, so a region can always be paused:
 * a frame with a 1 GiB mapping that runs out of gas is OUT_OF_GAS. */
JK_TEST(test_kernel_big_mapping_pauses_out_of_gas)
{
    kt_env e;
    JK_REQUIRE(kt_begin(&e));
    jk_kernel *k = e.k;
    jk_cap image = e.image;
    JK_REQUIRE(!jk_cap_is_null(image));
    jk_cap_mapping maps[2] = {
        {0x40000000, 4096, JK_CAP_MAP_PERSISTENT, JK_PVM_ACCESS_WRITE, STATE_SLOT},
        {0x80000000, 1u << 30, JK_CAP_MAP_EPHEMERAL_ZERO, JK_PVM_ACCESS_WRITE, 0},
    };
    jk_kernel_image_opts opts = {.mappings = maps, .mapping_count = 2};
    jk_cap big = jk_cap_null(), too_big = jk_cap_null();
    JK_REQUIRE(jk_kernel_image_from_program(kt_program, kt_program_len, &opts, &big, NULL) == JK_OK);
    maps[1].size = (1u << 30) + 4096;
    JK_CHECK_EQ(jk_kernel_image_from_program(kt_program, kt_program_len, &opts, &too_big, NULL), JK_ERR_CAP_IMAGE);
    jk_cap_release(too_big);
    jk_cap a = kt_inst(big, 0, NULL, NULL);
    jk_kernel_result r, r2;
    JK_REQUIRE(jk_kernel_call(k, a, EP_SPIN, 20000, NULL, jk_cap_null(), &r) == JK_OK);
    JK_CHECK_EQ(r.outcome, JK_KERNEL_OUT_OF_GAS);
    JK_REQUIRE(jk_kernel_resume(k, r.instance, 20000, jk_cap_null(), &r2) == JK_OK);
    JK_CHECK_EQ(r2.outcome, JK_KERNEL_OUT_OF_GAS);
    jk_kernel_result_clear(&r);
    jk_kernel_result_clear(&r2);
    jk_cap_release(a);
    jk_cap_release(big);
    KT_END(&e);
}

/* A program's own refusal reaches the embedder with its reason. */
JK_TEST(test_kernel_fault_host_call_reports_a_reason)
{
    kt_env e;
    JK_REQUIRE(kt_begin(&e));
    jk_kernel *k = e.k;
    jk_cap image = e.image;
    jk_cap a = kt_inst(image, 0, NULL, NULL);
    uint64_t args[3] = {3, 4, 0};
    jk_kernel_result r;
    JK_REQUIRE(jk_kernel_call(k, a, EP_REFUSE, 100000, args, jk_cap_null(), &r) == JK_OK);
    JK_CHECK_EQ(r.outcome, JK_KERNEL_FAULT);
    JK_CHECK_EQ(r.fault, JK_FAULT_GUEST);
    JK_CHECK_EQ(r.reason, 7);
    JK_CHECK(strcmp(r.reason_text, "verify refused: nonce 3, expected 4") == 0);
    JK_CHECK(strstr(r.fault_msg, "nonce 3") != NULL);
    jk_kernel_result_clear(&r);
    /* Through a relay: the caller sees fault code 10; the embedder no reason. */
    uint32_t s21[1] = {CALLEE_SLOT};
    jk_cap b = kt_inst(image, 1, s21, &a);
    uint64_t rargs[3] = {EP_REFUSE, 100000, 3};
    JK_REQUIRE(jk_kernel_call(k, b, EP_RELAY, 1000000, rargs, jk_cap_null(), &r) == JK_OK);
    JK_CHECK_EQ(r.outcome, JK_KERNEL_HALT);
    JK_CHECK_EQ(r.value, ((uint64_t)JK_KERNEL_FAULT << 32) | JK_FAULT_GUEST);
    JK_CHECK_EQ(r.reason, 0);
    jk_kernel_result_clear(&r);
    /* Unprintable bytes are masked; the text is capped. */
    jk_cap msg;
    uint8_t raw[200];
    for (int i = 0; i < 200; i++)
        raw[i] = (uint8_t)(i % 2 ? 'a' : 0x1b);
    JK_REQUIRE(jk_cap_data_new(raw, sizeof raw, &msg) == JK_OK);
    const kt_op ops[] = {{JK_HOST_DATA_READ, 30, 0, 200, 0x40000000}, {JK_HOST_FAULT, 9, 0x40000000, 200, 0}};
    uint32_t s30[1] = {30};
    JK_REQUIRE(kt_script_with(k, image, 1, s30, &msg, ops, 2, jk_cap_null(), 1000000, &r) == JK_OK);
    JK_CHECK_EQ(r.fault, JK_FAULT_GUEST);
    JK_CHECK_EQ(r.reason, 9);
    JK_CHECK_EQ(strlen(r.reason_text), JK_KERNEL_REASON_MAX);
    JK_CHECK(strncmp(r.reason_text, "?a?a", 4) == 0);
    jk_kernel_result_clear(&r);
    jk_cap_release(msg);
    jk_cap_release(b);
    jk_cap_release(a);
    KT_END(&e);
}

/* The instance bound counts per top-level invocation: a resume after an
 * attest continues the count (700 + 700 faults as 1,400 in one go would). */
JK_TEST(test_kernel_instance_bound_survives_a_resume)
{
    kt_env e;
    JK_REQUIRE(kt_begin(&e));
    jk_kernel *k = e.k;
    jk_cap image = e.image, marker;
    JK_REQUIRE(jk_kernel_mint_marker(k, 1, &marker) == JK_OK);
    uint32_t s[2] = {IMAGE_SLOT, MARKER_SLOT};
    jk_cap c[2] = {image, marker};
    jk_cap a = kt_inst(image, 2, s, c);
    const struct {
        uint64_t n;
        jk_kernel_outcome want;
    } cases[] = {{700, JK_KERNEL_FAULT}, {500, JK_KERNEL_HALT}};
    for (int i = 0; i < 2; i++) {
        uint64_t args[3] = {cases[i].n, 0, 0};
        jk_kernel_result y, r;
        JK_REQUIRE(jk_kernel_call(k, a, EP_SPAWN_YIELD_SPAWN, 100000000, args, jk_cap_null(), &y) == JK_OK);
        JK_REQUIRE(y.outcome == JK_KERNEL_YIELDED);
        JK_CHECK_EQ(jk_cap_instance_frame(y.instance, 0)->spawned, cases[i].n);
        JK_REQUIRE(jk_kernel_resume(k, y.instance, 100000000, jk_cap_null(), &r) == JK_OK);
        JK_CHECK_EQ(r.outcome, cases[i].want);
        if (r.outcome == JK_KERNEL_FAULT)
            JK_CHECK_EQ(r.fault, JK_FAULT_LIMIT);
        else
            JK_CHECK_EQ(r.value, 2 * cases[i].n);
        jk_kernel_result_clear(&y);
        jk_kernel_result_clear(&r);
    }
    jk_cap_release(a);
    jk_cap_release(marker);
    KT_END(&e);
}

/* Host calls pay for the bytes they copy, and memory growth for its pages:
 * two 64 MiB DATA_MINTs cost millions of gas, not 20; touching 20,000 pages
 * costs JK_GAS_PER_PAGE_TOUCHED each, and 80,000 gas buys at most
 * 80,000 / JK_GAS_PER_PAGE_TOUCHED of them. */
JK_TEST(test_kernel_gas_pays_for_bytes_and_pages)
{
    kt_env e;
    JK_REQUIRE(kt_begin(&e));
    jk_kernel *k = e.k;
    jk_cap_mapping maps[2] = {
        {0x40000000, 4096, JK_CAP_MAP_PERSISTENT, JK_PVM_ACCESS_WRITE, STATE_SLOT},
        {0x80000000, 256u << 20, JK_CAP_MAP_EPHEMERAL_ZERO, JK_PVM_ACCESS_WRITE, 0},
    };
    jk_kernel_image_opts opts = {.mappings = maps, .mapping_count = 2};
    jk_cap big;
    JK_REQUIRE(jk_kernel_image_from_program(kt_program, kt_program_len, &opts, &big, NULL) == JK_OK);
    const int64_t pages64 = (64 << 20) / 4096;
    const kt_op mint2[] = {{JK_HOST_DATA_MINT, 0x80000000u, 64u << 20, 30, 0},
                           {JK_HOST_DATA_MINT, 0x80000000u, 64u << 20, 31, 0}};
    jk_cap code, inst;
    JK_REQUIRE(jk_cap_data_new(mint2, sizeof mint2, &code) == JK_OK);
    uint32_t s28[1] = {SCRIPT_SLOT};
    inst = kt_inst(big, 1, s28, &code);
    jk_kernel_result r;
    JK_REQUIRE(jk_kernel_call(k, inst, EP_SCRIPT, 1000000, NULL, jk_cap_null(), &r) == JK_OK);
    JK_CHECK_EQ(r.outcome, JK_KERNEL_OUT_OF_GAS); /* cannot pay the first mint */
    jk_kernel_result_clear(&r);
    JK_REQUIRE(jk_kernel_call(k, inst, EP_SCRIPT, 100000000, NULL, jk_cap_null(), &r) == JK_OK);
    JK_CHECK_EQ(r.outcome, JK_KERNEL_HALT);
    JK_CHECK(r.gas_used >= 2 * pages64 * JK_GAS_PER_PAGE_COPIED);
    jk_kernel_result_clear(&r);
    jk_cap_release(inst);
    jk_cap_release(code);
    /* Memory growth. */
    jk_cap a = kt_inst(big, 0, NULL, NULL);
    uint64_t args[3] = {20000, 0, 0};
    JK_REQUIRE(jk_kernel_call(k, a, EP_TOUCH_PAGES, 80000, args, jk_cap_null(), &r) == JK_OK);
    JK_CHECK_EQ(r.outcome, JK_KERNEL_OUT_OF_GAS);
    const jk_cap_frame *fr = jk_cap_instance_frame(r.instance, 0);
    JK_REQUIRE(fr != NULL);
    /* The region holding the touched pages: at most 80,000 / 100 of them. */
    uint32_t most = 0;
    for (uint32_t i = 0; i < fr->region_count; i++)
        if (fr->regions[i].base == 0x80000000u) {
            jk_cap d = fr->regions[i].data;
            for (uint32_t p = 0; p < jk_cap_data_page_count(d); p++) {
                uint8_t b = 0;
                jk_cap_data_read(d, (uint64_t)p * 4096, &b, 1);
                most += b;
            }
        }
    JK_CHECK(most > 0 && most <= 80000 / JK_GAS_PER_PAGE_TOUCHED);
    jk_kernel_result_clear(&r);
    JK_REQUIRE(jk_kernel_call(k, a, EP_TOUCH_PAGES, 100000000, args, jk_cap_null(), &r) == JK_OK);
    JK_CHECK_EQ(r.outcome, JK_KERNEL_HALT);
    JK_CHECK(r.gas_used >= 20000 * JK_GAS_PER_PAGE_TOUCHED);
    jk_kernel_result_clear(&r);
    jk_cap_release(a);
    jk_cap_release(big);
    KT_END(&e);
}

/* A slot[0] as deep as the nesting bound allows cannot go into the callee's
 * cnode (one level deeper): the call faults, it does not fail. */
JK_TEST(test_kernel_too_deep_slot0_faults_the_callee)
{
    kt_env e;
    JK_REQUIRE(kt_begin(&e));
    jk_kernel *k = e.k;
    jk_cap image = e.image;
    jk_cap a = kt_inst(image, 0, NULL, NULL), deep = kt_chain(JK_CAP_MAX_DEPTH - 1);
    JK_REQUIRE(jk_cap_depth(deep) == JK_CAP_MAX_DEPTH);
    uint64_t args[3] = {1, 0, 0};
    jk_kernel_result r;
    JK_CHECK_EQ(jk_kernel_call(k, a, EP_BUMP, 100000, args, deep, &r), JK_OK);
    JK_CHECK_EQ(r.outcome, JK_KERNEL_FAULT);
    JK_CHECK_EQ(r.fault, JK_FAULT_LIMIT);
    JK_CHECK(jk_cap_equal(r.slot0, deep)); /* the embedder gets back what it sent */
    jk_kernel_result_clear(&r);
    jk_cap_release(deep);
    jk_cap_release(a);
    KT_END(&e);
}

/* The same programs on a state built in memory (equal values as separate
 * objects) and on that state committed to the LMDB store and loaded back
 * (equal values merged into one object): identical outcomes, values, gas,
 * faults and roots. */
JK_TEST(test_kernel_reloaded_state_decides_alike)
{
    kt_env e;
    JK_REQUIRE(kt_begin(&e));
    jk_kernel *k = e.k;
    jk_cap image = e.image;
    char dir[128];
    JK_REQUIRE(jk_test_tmpdir("kernel-store", dir, sizeof dir) != NULL);
    jk_cap_store *store;
    JK_REQUIRE(jk_cap_store_open(dir, NULL, &store, NULL) == JK_OK);
    jk_cap twin_image = kt_image(), marker, code_word, state, state2;
    JK_REQUIRE(jk_kernel_mint_marker(k, 5, &marker) == JK_OK);
    JK_REQUIRE(jk_cap_data_new("xxxxxxxx", 8, &code_word) == JK_OK);
    JK_REQUIRE(jk_cap_data_new_zeroed(4096, &state) == JK_OK && jk_cap_data_new_zeroed(4096, &state2) == JK_OK);
    jk_cap x = kt_inst(image, 0, NULL, NULL), y = kt_inst(image, 0, NULL, NULL);
    const kt_op progs[][4] = {
        {{JK_HOST_MOVE, 31, 0, 0, 0}, {JK_HOST_CALL, CALLEE_SLOT, EP_BUMP, 100000, 1}}, /* y in slot[0] */
        {{JK_HOST_DATA_READ, 32, 0, 8, 0x40000000}, {JK_HOST_DROP, STATE_SLOT, 0, 0, 0},
         {JK_HOST_COPY, 30, STATE_SLOT, 0, 0}},                                       /* mint-back */
        {{JK_HOST_SET_IMAGE, IMAGE_SLOT, 0, 0, 0}, {JK_HOST_YIELD, MARKER_SLOT, 0, 0, 0}}, /* pause */
        {{JK_HOST_SAME_TYPE, CALLEE_SLOT, 31, 0, 0}},
        {{JK_HOST_COPY, 31, P2(33, 1), 0, 0}, {JK_HOST_CALL, P2(33, 1), EP_BUMP, 100000, 2},
         {JK_HOST_CAP_KIND, P2(33, 1), 0, 0, 0}},
    };
    const size_t lens[] = {2, 3, 2, 1, 3};
    jk_cap small;
    JK_REQUIRE(jk_cap_cnode_new(2, &small) == JK_OK);
    for (size_t p = 0; p < sizeof lens / sizeof lens[0]; p++) {
        jk_cap code;
        JK_REQUIRE(jk_cap_data_new(progs[p], lens[p] * sizeof(kt_op), &code) == JK_OK);
        uint32_t s[9] = {STATE_SLOT, CALLEE_SLOT, 31, 30, 32, IMAGE_SLOT, MARKER_SLOT, 33, SCRIPT_SLOT};
        jk_cap c[9] = {state, x, y, state2, code_word, twin_image, marker, small, code};
        jk_cap mem = kt_inst(image, 9, s, c), loaded;
        jk_hash h;
        JK_REQUIRE(jk_cap_store_commit(store, "t", mem, NULL, NULL) == JK_OK);
        jk_cap_hash(mem, &h);
        JK_REQUIRE(jk_cap_store_load(store, &h, &loaded, NULL) == JK_OK);
        jk_kernel_result r1, r2;
        JK_REQUIRE(jk_kernel_call(k, mem, EP_SCRIPT, 1000000, NULL, jk_cap_null(), &r1) == JK_OK);
        JK_REQUIRE(jk_kernel_call(k, loaded, EP_SCRIPT, 1000000, NULL, jk_cap_null(), &r2) == JK_OK);
        if (r1.outcome != r2.outcome || r1.value != r2.value || r1.gas_used != r2.gas_used || r1.fault != r2.fault ||
            !jk_cap_equal(r1.instance, r2.instance))
            jk_test_fail(__FILE__, __LINE__, "program %zu: outcome %d/%d value %llu/%llu gas %lld/%lld", p,
                         r1.outcome, r2.outcome, (unsigned long long)r1.value, (unsigned long long)r2.value,
                         (long long)r1.gas_used, (long long)r2.gas_used);
        jk_kernel_result_clear(&r1);
        jk_kernel_result_clear(&r2);
        jk_cap_release(loaded);
        jk_cap_release(mem);
        jk_cap_release(code);
    }
    jk_cap_release(small);
    jk_cap_release(x);
    jk_cap_release(y);
    jk_cap_release(state);
    jk_cap_release(state2);
    jk_cap_release(code_word);
    jk_cap_release(marker);
    jk_cap_release(twin_image);
    jk_cap_store_close(store);
    jk_test_rm_tree(dir);
    KT_END(&e);
}

/* Slot paths are canonical (docs/abi.md "Slot paths"): a level past the
 * path's depth, or the four bits under the depth, must be zero; anything else
 * is refused (the frame faults), whatever level the stray bit is in. */
JK_TEST(test_kernel_path_levels_past_depth_refused)
{
    kt_env e;
    JK_REQUIRE(kt_begin(&e));
    const uint64_t good[] = {20, P2(20, 0) & ~(2ull << 60), (2ull << 60) | 31, (3ull << 60) | 31,
                             (4ull << 60) | 31};
    const uint64_t bad[] = {20 | (1ull << 8),  20 | (1ull << 39), 20 | (1ull << 55), 20 | (1ull << 56),
                            (2ull << 60) | 31 | (1ull << 24), (2ull << 60) | 31 | (1ull << 55),
                            (3ull << 60) | 31 | (1ull << 40), (4ull << 60) | 31 | (1ull << 59),
                            5ull << 60};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        kt_op op = {JK_HOST_CAP_KIND, good[i], 0, 0, 0};
        jk_kernel_result r;
        JK_REQUIRE(kt_script(e.k, e.image, 0, NULL, NULL, &op, 1, &r) == JK_OK);
        if (r.outcome != JK_KERNEL_HALT)
            printf("  good path %zu: %s\n", i, r.fault_msg);
        JK_CHECK_EQ(r.outcome, JK_KERNEL_HALT);
        jk_kernel_result_clear(&r);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        kt_op op = {JK_HOST_CAP_KIND, bad[i], 0, 0, 0};
        jk_kernel_result r;
        JK_REQUIRE(kt_script(e.k, e.image, 0, NULL, NULL, &op, 1, &r) == JK_OK);
        if (r.outcome != JK_KERNEL_FAULT)
            printf("  bad path %zu was taken\n", i);
        JK_CHECK_EQ(r.outcome, JK_KERNEL_FAULT);
        JK_CHECK_EQ(r.fault, JK_FAULT_HOSTCALL);
        jk_kernel_result_clear(&r);
    }
    KT_END(&e);
}
