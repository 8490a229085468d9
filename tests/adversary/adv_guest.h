/* adv_guest.h — hostile guests for the adversary tests: images assembled from
 * PVM text with jk_pvm_asm, instances of them, and one measured invocation
 * (outcome, gas, bytes the host allocated, CPU time for the report). */
#ifndef ADV_GUEST_H
#define ADV_GUEST_H

#include "jark/kernel.h"

#include <stdbool.h>
#include <stdint.h>

/* Every hostile image maps the same memory: 1 GiB of zero pages at ADV_ZERO,
 * and at ADV_STATE a 1 GiB writable persistent window on root slot
 * ADV_STATE_SLOT (only as much of it as that slot's Data is long). */
#define ADV_ZERO 0x10000000u
#define ADV_STATE 0x60000000u
#define ADV_MAP_SIZE 0x40000000u
#define ADV_STATE_SLOT 20
#define ADV_CALLEE_SLOT 21
#define ADV_MARKER_SLOT 22
#define ADV_CATCHER_SLOT 23
#define ADV_IMAGE_SLOT 25

/* Slot paths (docs/abi.md "Slot paths"). */
#define ADV_P1(s) ((1ull << 60) | (uint64_t)(s))
#define ADV_P2(s, a) ((2ull << 60) | (uint64_t)(s) | ((uint64_t)(a) << 8))
#define ADV_P3(s, a, b) ((3ull << 60) | (uint64_t)(s) | ((uint64_t)(a) << 8) | ((uint64_t)(b) << 24))
#define ADV_P4(s, a, b, c) \
    ((4ull << 60) | (uint64_t)(s) | ((uint64_t)(a) << 8) | ((uint64_t)(b) << 24) | ((uint64_t)(c) << 40))

/* One host call: ecalli n with φ7..φ10 = a, b, c, d. */
typedef struct adv_op {
    uint64_t n, a, b, c, d;
} adv_op;

/* An image whose endpoint 0 runs `setup` once, then `loop` forever (a guest
 * that only stops at a fault or out of gas); with loop_count 0 it halts with
 * φ7 = the last call's φ7. `extra_maps` more ephemeral zero mappings (one
 * page each, above 0xA0000000) make CALLs and yields of it dearer. NEW
 * reference; null if it cannot be built. */
jk_cap adv_loop_image(const adv_op *setup, size_t setup_count, const adv_op *loop, size_t loop_count,
                      unsigned extra_maps);
/* An image from assembly text whose endpoint 0 starts at its first
 * instruction with φ0 = the halt address (NEW reference; null on error). */
jk_cap adv_asm_image(const char *text, unsigned extra_maps);

/* An instance of image whose root slots hold caps[i] at slots[i] (borrowed),
 * and a zeroed page in ADV_STATE_SLOT unless slots name it.
 * NEW reference; null on error. */
jk_cap adv_inst(jk_cap image, int n, const uint32_t *slots, const jk_cap *caps);

/* One invocation, measured. */
typedef struct adv_run {
    jk_kernel_result res;
    jk_err err;
    uint64_t bytes;     /* bytes the host allocated during the call */
    double cpu_ns;      /* thread CPU time (report only: never asserted) */
} adv_run;

/* A kernel running the given engine (NULL when it cannot be made). */
jk_kernel *adv_kernel(jk_pvm_engine engine);
/* jk_kernel_call of endpoint 0; serve: jk_kernel_call_served answering
 * every yield that reaches the root with nothing. */
void adv_call(jk_kernel *k, jk_cap target, int64_t gas, const uint64_t args[3], bool serve, adv_run *run);
/* jk_kernel_resume of a Paused instance with nothing in slot[0], measured
 * the same way. */
void adv_resume(jk_kernel *k, jk_cap paused, int64_t gas, adv_run *run);

/* Assert the documented bound of one invocation: bytes ≤ 2 MiB + 32·gas and
 * gas_used ≤ gas; print the figures when JK_ADV_REPORT is set. */
void adv_check_bounds(const char *file, int line, const char *what, const adv_run *run, int64_t gas);
#define ADV_CHECK_BOUNDS(what, run, gas) adv_check_bounds(__FILE__, __LINE__, (what), (run), (gas))

#endif
