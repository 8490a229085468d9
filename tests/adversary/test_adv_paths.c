/*
 * test_adv_paths.c — slot paths at and past their bounds (docs/abi.md "Slot
 * paths"), against every host call that takes one, on both engines. A
 * malformed path — a depth of 5..15, bits 56..59 set, a field past the
 * depth, all 64 bits set — faults the frame with code 3 (a failed host
 * call) whichever call it reaches and whichever argument it is, and never
 * more than the gas given or the documented bytes per gas. A well-formed
 * path that names nothing (an index past a CNode's end, a level through a
 * Data) reads as empty for CAP_KIND and faults every other call with code 3;
 * the deepest path there is (four levels through 65,536-slot CNodes, at
 * index 65,535 on each) works as any other.
 */
#include "../test.h"
#include "adv_alloc.h"
#include "adv_guest.h"

#include <stdio.h>

#define GAS 50000000

/* The caps every case starts from: slot 40 a CNode of 2^16 slots whose
 * last holds one of 2^16 whose last holds one of 2^16 (made by the guest),
 * slot ADV_STATE_SLOT a one-page Data (adv_inst), slot 41 a CNode of 2^8. */
#define DEEP 40
#define SMALL 41
static const adv_op adv_paths_setup[4] = {
    {JK_HOST_CNODE_MINT, ADV_P1(DEEP), 16, 0, 0},
    {JK_HOST_CNODE_MINT, ADV_P2(DEEP, 0xffff), 16, 0, 0},
    {JK_HOST_CNODE_MINT, ADV_P3(DEEP, 0xffff, 0xffff), 16, 0, 0},
    {JK_HOST_CNODE_MINT, ADV_P1(SMALL), 8, 0, 0},
};

/* Runs the setup then `op` on both engines: the outcome, fault and value
 * must be as expected and the same on both. */
static void adv_path_case(int line, const char *what, adv_op op, int outcome, int fault, uint64_t value)
{
    adv_op ops[5];
    for (int i = 0; i < 4; i++)
        ops[i] = adv_paths_setup[i];
    ops[4] = op;
    static const jk_pvm_engine engines[2] = {JK_PVM_ENGINE_INTERP, JK_PVM_ENGINE_JIT};
    for (int e = 0; e < 2; e++) {
        jk_cap image = adv_loop_image(ops, 5, NULL, 0, 0);
        jk_cap inst = jk_cap_is_null(image) ? jk_cap_null() : adv_inst(image, 0, NULL, NULL);
        jk_kernel *k = adv_kernel(engines[e]);
        if (jk_cap_is_null(inst) || !k) {
            jk_test_fail(__FILE__, line, "%s: no guest", what);
        } else {
            static const uint64_t args[3] = {0, 0, 0};
            adv_run run;
            char name[128];
            snprintf(name, sizeof name, "%s [%s]", what, e ? "jit" : "interp");
            adv_call(k, inst, GAS, args, false, &run);
            adv_check_bounds(__FILE__, line, name, &run, GAS);
            if (run.err != JK_OK || (int)run.res.outcome != outcome || (int)run.res.fault != fault ||
                (outcome == JK_KERNEL_HALT && run.res.value != value))
                jk_test_fail(__FILE__, line, "%s: err %d outcome %d fault %d value %llu (%s), expected outcome %d fault %d value %llu",
                             name, (int)run.err, (int)run.res.outcome, (int)run.res.fault,
                             (unsigned long long)run.res.value, run.res.fault_msg, outcome, fault,
                             (unsigned long long)value);
            jk_kernel_result_clear(&run.res);
        }
        if (k)
            jk_kernel_free(k);
        jk_cap_release(inst);
        jk_cap_release(image);
    }
}
#define FAULTS(what, op) adv_path_case(__LINE__, (what), (op), JK_KERNEL_FAULT, JK_FAULT_HOSTCALL, 0)
#define HALTS(what, op, v) adv_path_case(__LINE__, (what), (op), JK_KERNEL_HALT, JK_FAULT_NONE, (v))

JK_TEST(test_adv_paths_malformed_fault_every_call)
{
    const uint64_t bad[] = {
        (5ull << 60) | ADV_STATE_SLOT,  (15ull << 60) | ADV_STATE_SLOT, /* depth past 4 */
        ADV_P1(ADV_STATE_SLOT) | (1ull << 56), ADV_P4(DEEP, 1, 1, 1) | (1ull << 59), /* bits 56..59 */
        ADV_P1(ADV_STATE_SLOT) | (1ull << 8), ADV_P2(DEEP, 1) | (1ull << 24), ADV_P3(DEEP, 1, 1) | (1ull << 40),
        UINT64_MAX,
    };
    const uint64_t ok_empty = ADV_P1(50), ok_data = ADV_P1(ADV_STATE_SLOT);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char w[64];
        uint64_t p = bad[i];
#define CASE(name, op)                                                         \
    do {                                                                       \
        snprintf(w, sizeof w, "%s %016llx", name, (unsigned long long)p);      \
        FAULTS(w, op);                                                         \
    } while (0)
        CASE("CAP_KIND", ((adv_op){JK_HOST_CAP_KIND, p, 0, 0, 0}));
        CASE("DATA_LEN", ((adv_op){JK_HOST_DATA_LEN, p, 0, 0, 0}));
        CASE("DATA_READ", ((adv_op){JK_HOST_DATA_READ, p, 0, 8, ADV_ZERO}));
        CASE("DATA_MINT dst", ((adv_op){JK_HOST_DATA_MINT, ADV_ZERO, 8, p, 0}));
        CASE("CNODE_MINT", ((adv_op){JK_HOST_CNODE_MINT, p, 4, 0, 0}));
        CASE("COPY src", ((adv_op){JK_HOST_COPY, p, ok_empty, 0, 0}));
        CASE("COPY dst", ((adv_op){JK_HOST_COPY, ok_data, p, 0, 0}));
        CASE("MOVE src", ((adv_op){JK_HOST_MOVE, p, ok_empty, 0, 0}));
        CASE("MOVE dst", ((adv_op){JK_HOST_MOVE, ok_data, p, 0, 0}));
        CASE("SWAP", ((adv_op){JK_HOST_SWAP, ok_data, p, 0, 0}));
        CASE("DROP", ((adv_op){JK_HOST_DROP, p, 0, 0, 0}));
        CASE("CALL", ((adv_op){JK_HOST_CALL, p, 0, 1000, 0}));
        CASE("CALL_RESUME", ((adv_op){JK_HOST_CALL_RESUME, p, 1000, 0, 0}));
        CASE("DROP_PAUSED", ((adv_op){JK_HOST_DROP_PAUSED, p, 0, 0, 0}));
        CASE("SET_IMAGE", ((adv_op){JK_HOST_SET_IMAGE, p, 0, 0, 0}));
        CASE("SAME_TYPE", ((adv_op){JK_HOST_SAME_TYPE, p, p, 0, 0}));
        CASE("DERIVE_SPAWN dst", ((adv_op){JK_HOST_DERIVE_SPAWN, ok_data, ADV_P1(SMALL), p, 0}));
#undef CASE
    }
}

JK_TEST(test_adv_paths_well_formed_at_the_edges)
{
    /* The deepest path there is works, to the last index of each level. */
    const uint64_t deepest = ADV_P4(DEEP, 0xffff, 0xffff, 0xffff);
    HALTS("CAP_KIND of the last CNode", ((adv_op){JK_HOST_CAP_KIND, ADV_P3(DEEP, 0xffff, 0xffff), 0, 0, 0}), 2);
    HALTS("CAP_KIND at the deepest slot", ((adv_op){JK_HOST_CAP_KIND, deepest, 0, 0, 0}), 0);
    /* DATA_MINT returns nothing: φ7 still holds its address argument */
    HALTS("DATA_MINT at the deepest slot", ((adv_op){JK_HOST_DATA_MINT, ADV_ZERO, 8, deepest, 0}), ADV_ZERO);
    /* Past a CNode's end, through a Data, through an empty slot: empty for
     * CAP_KIND, a failed call for the rest. */
    const uint64_t nowhere[] = {
        ADV_P2(SMALL, 256), ADV_P2(SMALL, 0xffff), ADV_P2(ADV_STATE_SLOT, 0), ADV_P3(ADV_STATE_SLOT, 0, 0),
        ADV_P4(DEEP, 0, 0, 0), ADV_P2(50, 0),
    };
    for (size_t i = 0; i < sizeof nowhere / sizeof nowhere[0]; i++) {
        char w[64];
        uint64_t p = nowhere[i];
        snprintf(w, sizeof w, "CAP_KIND %016llx", (unsigned long long)p);
        HALTS(w, ((adv_op){JK_HOST_CAP_KIND, p, 0, 0, 0}), 0);
        snprintf(w, sizeof w, "DATA_LEN %016llx", (unsigned long long)p);
        FAULTS(w, ((adv_op){JK_HOST_DATA_LEN, p, 0, 0, 0}));
        snprintf(w, sizeof w, "DATA_MINT %016llx", (unsigned long long)p);
        FAULTS(w, ((adv_op){JK_HOST_DATA_MINT, ADV_ZERO, 8, p, 0}));
        snprintf(w, sizeof w, "DROP %016llx", (unsigned long long)p);
        FAULTS(w, ((adv_op){JK_HOST_DROP, p, 0, 0, 0}));
    }
}

/* sbrk in a kernel frame: the kernel gives its frames no heap (an image's
 * memory is its mappings, docs/abi.md), so sbrk of any size answers 0 and
 * maps nothing — a loop of 2 GiB sbrks cannot make the host allocate, and
 * ends out of gas like any loop, the same on both engines. */
JK_TEST(test_adv_sbrk_in_a_frame_maps_nothing)
{
    static const char text[] =
        "        load_imm_64 r8, 0x80000000\n"
        "        load_imm r9, 0\n"
        "        fallthrough\n"
        "loop:   sbrk r7, r8\n"
        "        or r9, r9, r7\n"
        "        branch_eq_imm r7, 0, loop\n"
        "        move_reg r7, r9\n"
        "        jump_ind r0, 0\n";
    static const jk_pvm_engine engines[2] = {JK_PVM_ENGINE_INTERP, JK_PVM_ENGINE_JIT};
    for (int e = 0; e < 2; e++) {
        jk_cap image = adv_asm_image(text, 0);
        jk_cap inst = jk_cap_is_null(image) ? jk_cap_null() : adv_inst(image, 0, NULL, NULL);
        jk_kernel *k = adv_kernel(engines[e]);
        JK_REQUIRE(!jk_cap_is_null(inst) && k);
        static const uint64_t args[3] = {0, 0, 0};
        adv_run run;
        adv_call(k, inst, 2000000, args, false, &run);
        ADV_CHECK_BOUNDS(e ? "sbrk loop [jit]" : "sbrk loop [interp]", &run, 2000000);
        JK_CHECK_EQ(run.res.outcome, JK_KERNEL_OUT_OF_GAS); /* never a non-zero answer */
        JK_CHECK(run.bytes < (1u << 20));
        jk_kernel_result_clear(&run.res);
        jk_kernel_free(k);
        jk_cap_release(inst);
        jk_cap_release(image);
    }
}

/* Numeric arguments one past their documented bounds (docs/abi.md, "Host
 * calls" and "Bounds"), each at the bound too: the bound works, one past it
 * faults with the code the Bounds table gives, on both engines. */
JK_TEST(test_adv_arguments_past_their_bounds)
{
    const uint64_t empty = ADV_P1(50), data = ADV_P1(ADV_STATE_SLOT);
    /* CNODE_MINT: k 0..16 */
    HALTS("CNODE_MINT k 16", ((adv_op){JK_HOST_CNODE_MINT, empty, 16, 0, 0}), empty);
    FAULTS("CNODE_MINT k 17", ((adv_op){JK_HOST_CNODE_MINT, empty, 17, 0, 0}));
    FAULTS("CNODE_MINT k 2^63", ((adv_op){JK_HOST_CNODE_MINT, empty, 1ull << 63, 0, 0}));
    /* DATA_MINT: at most 64 MiB (of readable memory: the 1 GiB zero region) */
    HALTS("DATA_MINT 64 MiB", ((adv_op){JK_HOST_DATA_MINT, ADV_ZERO, 64u << 20, empty, 0}), ADV_ZERO);
    FAULTS("DATA_MINT 64 MiB + 1", ((adv_op){JK_HOST_DATA_MINT, ADV_ZERO, (64u << 20) + 1, empty, 0}));
    FAULTS("DATA_MINT 2^64 - 1", ((adv_op){JK_HOST_DATA_MINT, ADV_ZERO, UINT64_MAX, empty, 0}));
    /* DATA_READ: the range inside the Data (one page here) */
    HALTS("DATA_READ the whole page", ((adv_op){JK_HOST_DATA_READ, data, 0, 4096, ADV_ZERO}), data);
    FAULTS("DATA_READ a byte past it", ((adv_op){JK_HOST_DATA_READ, data, 1, 4096, ADV_ZERO}));
    FAULTS("DATA_READ an offset that wraps", ((adv_op){JK_HOST_DATA_READ, data, UINT64_MAX, 2, ADV_ZERO}));
    /* DEBUG_WRITE: at most 1 MiB */
    HALTS("DEBUG_WRITE 1 MiB", ((adv_op){JK_HOST_DEBUG_WRITE_NUM, ADV_ZERO, 1u << 20, 0, 0}), 1u << 20);
    FAULTS("DEBUG_WRITE 1 MiB + 1", ((adv_op){JK_HOST_DEBUG_WRITE_NUM, ADV_ZERO, (1u << 20) + 1, 0, 0}));
    /* CALL: an endpoint past the image's (the guest's own image has one) */
    FAULTS("CALL of a Data", ((adv_op){JK_HOST_CALL, data, 0, 1000, 0}));
}
