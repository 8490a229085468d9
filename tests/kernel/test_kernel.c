/*
 * test_kernel.c — the kernel through real programs: tests/kernel/progs/kprog.c
 * built with the SDK, instances of it wired together through their cnodes
 * (docs/abi.md). Every test also checks that no cap value is leaked.
 */
#include "../test.h"
#include "../../tools/sdk_exec.h"

#include "jark/kernel.h"

#include <stdlib.h>
#include <unistd.h>

#define STATE_SLOT 20
#define CALLEE_SLOT 21
#define MARKER_SLOT 22
#define CATCHER_SLOT 23
#define IMAGE_SLOT 25

enum { EP_BUMP, EP_RELAY, EP_RELAY_THEN_FAULT, EP_SPIN, EP_WILD, EP_RECURSE, EP_ASK, EP_CATCHER,
       EP_DROPPER, EP_MINTER, EP_BAD_CALL, EP_TOUCH_PINNED, EP_SPAWNER, EP_BECOME, EP_TOO_DEEP };

static uint8_t *jk_program;
static size_t jk_program_len;

/* The kprog image (built once per test run; the program bytes are cached). */
static jk_cap jk_image(void)
{
    if (!jk_program) {
        char path[] = "/tmp/jark-kernel-test-XXXXXX";
        int fd = mkstemp(path);
        if (fd < 0)
            return jk_cap_null();
        close(fd);
        const char *src[1] = {"tests/kernel/progs/kprog.c"};
        if (jk_cc_build(src, 1, "-O2", path, NULL, NULL, NULL) == 0) {
            FILE *f = fopen(path, "rb");
            jk_program = malloc(1 << 20);
            if (f && jk_program)
                jk_program_len = fread(jk_program, 1, 1 << 20, f);
            if (f)
                fclose(f);
        }
        unlink(path);
    }
    static const jk_cap_mapping state = {0x40000000, 4096, JK_CAP_MAP_PERSISTENT, JK_PVM_ACCESS_WRITE, STATE_SLOT};
    jk_kernel_image_opts opts = {.mappings = &state, .mapping_count = 1, .yield_catcher_slot = CATCHER_SLOT};
    jk_cap image = jk_cap_null();
    jk_diag diag = {{0}};
    if (jk_program_len && jk_kernel_image_from_program(jk_program, jk_program_len, &opts, &image, &diag) != JK_OK)
        printf("image: %s\n", diag.msg);
    return image;
}

/* An instance of kprog with a zeroed state page and (slot, cap) extras. */
static jk_cap jk_inst(jk_cap image, int n, const uint32_t *slots, const jk_cap *caps)
{
    jk_cap cnode, next, state, inst = jk_cap_null();
    if (jk_cap_cnode_new(8, &cnode) != JK_OK)
        return inst;
    if (jk_cap_data_new_zeroed(4096, &state) == JK_OK && jk_cap_cnode_set(cnode, STATE_SLOT, state, &next) == JK_OK) {
        jk_cap_release(cnode);
        cnode = next;
    }
    jk_cap_release(state);
    for (int i = 0; i < n; i++)
        if (jk_cap_cnode_set(cnode, slots[i], caps[i], &next) == JK_OK) {
            jk_cap_release(cnode);
            cnode = next;
        }
    jk_cap_instance_genesis(image, cnode, &inst, NULL);
    jk_cap_release(cnode);
    return inst;
}

static uint64_t jk_counter(jk_cap inst)
{
    uint64_t v = ~0ull;
    jk_cap state = jk_cap_cnode_get(jk_cap_instance_cnode(inst), STATE_SLOT);
    jk_cap_data_read(state, 0, &v, 8);
    return v;
}

static int64_t jk_live(void)
{
    jk_cap_stats s;
    jk_cap_stats_get(&s);
    return s.live_objects;
}

JK_TEST(test_kernel_halt_mints_state_and_keeps_values)
{
    int64_t live = jk_live();
    jk_kernel *k;
    JK_REQUIRE(jk_kernel_new(NULL, &k) == JK_OK);
    jk_cap image = jk_image();
    JK_REQUIRE(!jk_cap_is_null(image));
    jk_cap a = jk_inst(image, 0, NULL, NULL);
    jk_kernel_result r1, r2;
    uint64_t args[3] = {5, 0, 0};
    JK_CHECK_EQ(jk_kernel_call(k, a, EP_BUMP, 100000, args, jk_cap_null(), &r1), JK_OK);
    JK_CHECK_EQ(r1.outcome, JK_KERNEL_HALT);
    JK_CHECK_EQ(r1.value, 5);
    JK_CHECK_EQ(jk_counter(r1.instance), 5);
    JK_CHECK_EQ(jk_counter(a), 0); /* values: the caller's copy never changes */
    JK_CHECK(r1.gas_used > 0 && r1.gas_used < 100000);
    args[0] = 3;
    JK_CHECK_EQ(jk_kernel_call(k, r1.instance, EP_BUMP, 100000, args, jk_cap_null(), &r2), JK_OK);
    JK_CHECK_EQ(r2.value, 8);
    JK_CHECK_EQ(jk_cap_instance_status(r2.instance), JK_CAP_IDLE);
    /* The minted state differs only in the touched page; a second word there too. */
    uint64_t word = 0;
    jk_cap_data_read(jk_cap_cnode_get(jk_cap_instance_cnode(r2.instance), STATE_SLOT), 400 * 8, &word, 8);
    JK_CHECK_EQ(word, 24);
    jk_kernel_result_clear(&r1);
    jk_kernel_result_clear(&r2);
    jk_cap_release(a);
    jk_cap_release(image);
    jk_kernel_free(k);
    JK_CHECK_EQ(jk_live(), live);
}

JK_TEST(test_kernel_fault_discards_the_subtree)
{
    int64_t live = jk_live();
    jk_kernel *k;
    JK_REQUIRE(jk_kernel_new(NULL, &k) == JK_OK);
    jk_cap image = jk_image();
    jk_cap c = jk_inst(image, 0, NULL, NULL);
    uint32_t s21[1] = {CALLEE_SLOT};
    jk_cap b = jk_inst(image, 1, s21, &c);
    jk_cap a = jk_inst(image, 1, s21, &b);
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
    JK_CHECK_EQ(jk_counter(b_after), 0);                  /* B's own bump did not survive */
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
    jk_cap_release(image);
    jk_kernel_free(k);
    JK_CHECK_EQ(jk_live(), live);
}

JK_TEST(test_kernel_out_of_gas_then_resume_equals_one_run)
{
    int64_t live = jk_live();
    jk_kernel *k;
    JK_REQUIRE(jk_kernel_new(NULL, &k) == JK_OK);
    jk_cap image = jk_image();
    jk_cap a = jk_inst(image, 0, NULL, NULL);
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
        JK_CHECK(part.gas_used <= g && part.gas_used > g - 30); /* what it could not spend comes back */
        JK_REQUIRE(jk_kernel_resume(k, part.instance, 1000000, jk_cap_null(), &rest) == JK_OK);
        JK_CHECK_EQ(rest.outcome, JK_KERNEL_HALT);
        JK_CHECK_EQ(rest.value, full.value);
        JK_CHECK(jk_cap_equal(rest.instance, full.instance)); /* the very same state */
        JK_CHECK_EQ(part.gas_used + rest.gas_used, full.gas_used);
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
    jk_cap_release(image);
    jk_kernel_free(k);
    JK_CHECK_EQ(jk_live(), live);
}

JK_TEST(test_kernel_yield_to_a_kernel_marker_and_copies_resume_apart)
{
    int64_t live = jk_live();
    jk_kernel *k;
    JK_REQUIRE(jk_kernel_new(NULL, &k) == JK_OK);
    jk_cap image = jk_image(), marker;
    JK_REQUIRE(jk_kernel_mint_marker(k, 1, &marker) == JK_OK);
    uint32_t s22[1] = {MARKER_SLOT};
    jk_cap a = jk_inst(image, 1, s22, &marker);
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
    JK_CHECK_EQ(jk_counter(r1.instance), 1);
    /* DROP_PAUSED gives back the instance as before the call. */
    jk_cap idle;
    JK_REQUIRE(jk_kernel_drop_paused(copy, &idle) == JK_OK);
    JK_CHECK(jk_cap_equal(idle, a));
    /* A marker nobody lists and the kernel did not mint faults the yielder. */
    jk_cap stranger = jk_inst(image, 0, NULL, NULL);
    jk_cap b = jk_inst(image, 1, s22, &stranger);
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
    jk_cap_release(image);
    jk_kernel_free(k);
    JK_CHECK_EQ(jk_live(), live);
}

JK_TEST(test_kernel_yield_caught_two_frames_down)
{
    int64_t live = jk_live();
    jk_kernel *k;
    JK_REQUIRE(jk_kernel_new(NULL, &k) == JK_OK);
    jk_cap image = jk_image();
    jk_cap m = jk_inst(image, 0, NULL, NULL); /* any instance can be a marker */
    uint32_t s22[1] = {MARKER_SLOT}, s21[1] = {CALLEE_SLOT};
    jk_cap c = jk_inst(image, 1, s22, &m);
    jk_cap b = jk_inst(image, 1, s21, &c);
    jk_cap list, list2;
    JK_REQUIRE(jk_cap_cnode_new(2, &list) == JK_OK && jk_cap_cnode_set(list, 3, m, &list2) == JK_OK);
    uint32_t sa[2] = {CALLEE_SLOT, CATCHER_SLOT};
    jk_cap ca[2] = {b, list2};
    jk_cap a = jk_inst(image, 2, sa, ca);
    jk_kernel_result r;
    uint64_t args[3] = {EP_RELAY, EP_ASK, 0};
    JK_REQUIRE(jk_kernel_call(k, a, EP_CATCHER, 5000000, args, jk_cap_null(), &r) == JK_OK);
    JK_CHECK_EQ(r.outcome, JK_KERNEL_HALT);
    JK_CHECK_EQ(r.value, 1042); /* C got 42 through slot[0], after its bump */
    jk_cap b_after = jk_cap_cnode_get(jk_cap_instance_cnode(r.instance), CALLEE_SLOT);
    JK_CHECK_EQ(jk_cap_instance_status(b_after), JK_CAP_IDLE);
    jk_cap c_after = jk_cap_cnode_get(jk_cap_instance_cnode(b_after), CALLEE_SLOT);
    JK_CHECK_EQ(jk_counter(c_after), 1);
    jk_kernel_result_clear(&r);
    /* The same, dropping the paused sub-stack instead: B is as before. */
    JK_REQUIRE(jk_kernel_call(k, a, EP_DROPPER, 5000000, args, jk_cap_null(), &r) == JK_OK);
    JK_CHECK_EQ(r.outcome, JK_KERNEL_HALT);
    JK_CHECK_EQ(r.value, JK_CAP_INSTANCE * 10 + JK_KERNEL_HALT);
    b_after = jk_cap_cnode_get(jk_cap_instance_cnode(r.instance), CALLEE_SLOT);
    JK_CHECK_EQ(jk_counter(b_after), 5); /* the bump after the drop ran on B as before */
    JK_CHECK_EQ(jk_counter(jk_cap_cnode_get(jk_cap_instance_cnode(b_after), CALLEE_SLOT)), 0);
    jk_kernel_result_clear(&r);
    jk_cap_release(a);
    jk_cap_release(b);
    jk_cap_release(c);
    jk_cap_release(m);
    jk_cap_release(list);
    jk_cap_release(list2);
    jk_cap_release(image);
    jk_kernel_free(k);
    JK_CHECK_EQ(jk_live(), live);
}

JK_TEST(test_kernel_hostile_programs_fault_cleanly)
{
    int64_t live = jk_live();
    jk_kernel *k;
    JK_REQUIRE(jk_kernel_new(NULL, &k) == JK_OK);
    jk_cap image = jk_image();
    jk_cap a = jk_inst(image, 0, NULL, NULL);
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
        jk_cap inner = jk_inst(image, 0, NULL, NULL);
        uint32_t s21[1] = {CALLEE_SLOT};
        for (int i = 1; i < depth; i++) {
            jk_cap outer = jk_inst(image, 1, s21, &inner);
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
    jk_cap_release(image);
    jk_kernel_free(k);
    JK_CHECK_EQ(jk_live(), live);
}

JK_TEST(test_kernel_set_image_and_derive_spawn_lineage)
{
    int64_t live = jk_live();
    jk_kernel *k;
    JK_REQUIRE(jk_kernel_new(NULL, &k) == JK_OK);
    jk_cap image = jk_image();
    uint32_t s25[1] = {IMAGE_SLOT};
    jk_cap a = jk_inst(image, 1, s25, &image);
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
    jk_cap_release(a);
    jk_cap_release(image);
    jk_kernel_free(k);
    JK_CHECK_EQ(jk_live(), live);
}
