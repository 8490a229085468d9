/*
 * jark/kernel.h — instances that run PVM code: CALL / HALT / yield / resume,
 * slot[0] payloads, memory mapped from Data caps, and every host call of
 * architecture §5 (numbered in docs/abi.md).
 *
 * The embedder (the chain layer) holds Instance caps and calls them:
 *
 *   jk_kernel_call(k, target, endpoint, gas, args, slot0, &res)
 *
 * runs `target` from `endpoint` with its own working copy of the instance;
 * every CALL the program makes to instances in its cnode runs the same way,
 * in a loop (no C recursion), up to a documented depth. The result says how
 * it ended — HALT, FAULT, OUT_OF_GAS or YIELDED — and gives the target's new
 * value and what came back in slot[0]. Values are immutable caps: the
 * embedder's `target` is never changed; it decides what to keep.
 *
 *   HALT        res.instance = the new instance (Idle), res.slot0 = the
 *               callee's slot[0], res.value = φ7.
 *   FAULT       res.instance = target as it was, marked Faulted; res.slot0 =
 *               what the embedder sent; res.fault says why.
 *   OUT_OF_GAS  res.instance = target Paused where it stopped (resumable with
 *               jk_kernel_resume); res.slot0 null.
 *   YIELDED     a yield to a marker the kernel minted (jk_kernel_mint_marker)
 *               reached the root: res.instance = target Paused with the whole
 *               stack, res.slot0 = the yielder's slot[0], res.marker = the
 *               marker. Answer with jk_kernel_resume (the new slot0 goes to
 *               the yielder) or drop with jk_kernel_drop_paused.
 *
 * Sub-tree atomicity: a frame's changes, including to the instances it
 * CALLed, reach its caller only at its HALT; a fault discards all of them.
 *
 * Threads: a jk_kernel runs one call at a time; separate kernels may run on
 * separate threads over shared (immutable) caps. Determinism: outcomes, gas
 * and every value produced depend only on the inputs.
 */
#ifndef JARK_KERNEL_H
#define JARK_KERNEL_H

#include <stdint.h>
#include <stdio.h>

#include "jark/cap.h"
#include "jark/err.h"
#include "jark/pvm.h"

/* ---- bounds (docs/abi.md "Bounds"); exceeding one faults the frame ---- */
#define JK_KERNEL_MAX_DEPTH 24        /* frames on the call stack (cap nesting,
                                         64, allows ~31 nested instances) */
#define JK_KERNEL_MAX_PATH_DEPTH 4    /* root slot + 3 nested CNodes */
#define JK_KERNEL_MAX_INSTANCES 1024  /* instances created in one top-level call */
/* The kernel's reserve of cap nesting (docs/abi.md "Bounds"): a HALT may
 * leave an instance at most JK_KERNEL_MAX_HALT_DEPTH deep, so that the one
 * level a pause wraps around it (the continuation: a Paused instance over
 * the frame's instance) always fits under JK_CAP_MAX_DEPTH. */
#define JK_KERNEL_DEPTH_RESERVE 1
#define JK_KERNEL_MAX_HALT_DEPTH (JK_CAP_MAX_DEPTH - JK_KERNEL_DEPTH_RESERVE)

/* ---- the gas schedule (docs/abi.md "Gas schedule") ----
 * A host call costs JK_KERNEL_HOSTCALL_GAS plus what it reads, writes, hashes
 * or allocates, all computed from its arguments before it runs; a frame that
 * cannot pay stops out of gas at the ecalli. Memory growth is paid per page a
 * frame's memory maps on first touch. */
#define JK_KERNEL_HOSTCALL_GAS 10     /* charged for every host call */
#define JK_GAS_PER_PAGE_COPIED 2000   /* per 4 KiB page (or part) a host call copies
                                         (DATA_READ, DATA_MINT, DEBUG_WRITE) */
#define JK_GAS_PER_PAGE_TOUCHED 1000  /* per page a frame's memory maps on first
                                         touch (by its code or a host call) */
#define JK_GAS_PER_MAPPING 20         /* per mapping a CALL, CALL_RESUME or YIELD
                                         sets up or pauses */
#define JK_GAS_PER_FRAME 50           /* per frame a CALL / CALL_RESUME pushes or a
                                         YIELD pauses */
#define JK_GAS_PER_PIN 100            /* per pinned slot SET_IMAGE / DERIVE_SPAWN
                                         removes or installs */
#define JK_GAS_PER_LIST_SLOT 60       /* per slot of a CNode a call walks (the
                                         images of SAME_TYPE_AS, the yield-catcher
                                         lists a YIELD searches) */
#define JK_GAS_PER_LEVEL_WRITTEN 150  /* per CNode level a slot write rebuilds (a
                                         depth-d destination path: d levels) */
#define JK_GAS_PER_LEVEL_READ 10      /* per level of every slot-path argument */

/* ---- host-call numbers (ecalli N); semantics in docs/abi.md ---- */
#define JK_HOST_GAS 0
#define JK_HOST_CALL 1
#define JK_HOST_CALL_RESUME 2
#define JK_HOST_DROP_PAUSED 3
#define JK_HOST_YIELD 4
#define JK_HOST_COPY 5
#define JK_HOST_MOVE 6
#define JK_HOST_DROP 7
#define JK_HOST_SWAP 8
#define JK_HOST_SET_IMAGE 9
#define JK_HOST_DERIVE_SPAWN 10
#define JK_HOST_SAME_TYPE 11
#define JK_HOST_SAME_TYPE_AS 12
#define JK_HOST_DATA_LEN 13
#define JK_HOST_DATA_READ 14
#define JK_HOST_DATA_MINT 15
#define JK_HOST_CNODE_MINT 16
#define JK_HOST_CAP_KIND 17
#define JK_HOST_FAULT 18
#define JK_HOST_DEBUG_WRITE_NUM 100

#define JK_KERNEL_REASON_MAX 120  /* FAULT: bytes of reason text kept */

typedef enum jk_kernel_outcome {
    JK_KERNEL_HALT = 0,
    JK_KERNEL_FAULT = 1,
    JK_KERNEL_OUT_OF_GAS = 2,
    JK_KERNEL_YIELDED = 3,
} jk_kernel_outcome;

/* Why a frame faulted (res.fault; the same codes a CALL reports to a program
 * in φ8 when its callee faults). */
typedef enum jk_kernel_fault {
    JK_FAULT_NONE = 0,
    JK_FAULT_PANIC = 1,         /* trap, invalid jump, access below 64 KiB */
    JK_FAULT_PAGE = 2,          /* page fault */
    JK_FAULT_HOSTCALL = 3,      /* a host call failed (bad path, kind, range…) */
    JK_FAULT_UNKNOWN_CALL = 4,  /* ecalli with a number the kernel does not know */
    JK_FAULT_DEPTH = 5,         /* call depth bound */
    JK_FAULT_NO_CATCHER = 6,    /* a yield nobody catches */
    JK_FAULT_MAPPING = 7,       /* the image's memory could not be set up */
    JK_FAULT_LIMIT = 8,         /* another documented bound */
    JK_FAULT_ABORTED = 9,       /* the embedder aborted the invocation (e.g. a
                                   refused attest); reported to embedders only */
    JK_FAULT_GUEST = 10,        /* the program faulted itself with the FAULT host
                                   call: reason code and text in the result */
} jk_kernel_fault;

typedef struct jk_kernel jk_kernel;

typedef struct jk_kernel_config {
    FILE *debug;  /* where DEBUG_WRITE goes; NULL discards it */
    /* Which PVM engine runs programs: JK_PVM_ENGINE_AUTO (0, the default)
     * is the recompiler on x86-64 and the interpreter elsewhere. Results,
     * and so every state root, are the same whichever is chosen. */
    jk_pvm_engine engine;
} jk_kernel_config;

/* A kernel. cfg may be NULL. The caller owns *out (jk_kernel_free).
 * @return JK_OK or JK_ERR_NOMEM. */
jk_err jk_kernel_new(const jk_kernel_config *cfg, jk_kernel **out);
void jk_kernel_free(jk_kernel *k);

/* Send DEBUG_WRITE (host call 100) output to `debug` from now on (NULL
 * discards it). Output only: it never changes an outcome, gas or a value.
 * The stream stays the caller's; it must outlive the kernel's use of it. */
void jk_kernel_set_debug(jk_kernel *k, FILE *debug);

/* Mint a marker: a fresh Instance that only this kernel hands out (a
 * distinct `tag` gives a distinct marker). A YIELD to it that no frame
 * catches is caught at the root and reported to the embedder as YIELDED.
 * @param[out] out  NEW reference; give it to programs (e.g. pinned in an
 *                  image or placed in a cnode) so they can yield to it.
 * @return JK_OK, JK_ERR_NOMEM. */
jk_err jk_kernel_mint_marker(jk_kernel *k, uint64_t tag, jk_cap *out);

typedef struct jk_kernel_result {
    jk_kernel_outcome outcome;
    uint64_t value;          /* HALT: φ7 */
    int64_t gas_used;        /* gas burned by the whole sub-tree */
    jk_cap instance;         /* NEW reference: the target's new value */
    jk_cap slot0;            /* NEW reference or null: see the header comment */
    jk_cap marker;           /* YIELDED: NEW reference to the marker */
    jk_kernel_fault fault;   /* FAULT: why */
    char fault_msg[160];     /* FAULT: a sentence naming the frame and cause */
    /* FAULT with JK_FAULT_GUEST (the target itself ran the FAULT host call):
     * the program's reason code and its text (at most JK_KERNEL_REASON_MAX
     * bytes, bytes outside printable ASCII shown as '?', NUL-terminated), so
     * an embedder can report "verify refused: nonce 3, expected 4". A deeper
     * frame's FAULT reaches its caller as fault code 10 only. */
    uint64_t reason;
    char reason_text[JK_KERNEL_REASON_MAX + 1];
} jk_kernel_result;

/* Release the caps a result holds and reset it. Safe on a zeroed result. */
void jk_kernel_result_clear(jk_kernel_result *res);

/* CALL target's endpoint with `gas` (≥ 0), three arguments (callee φ7..φ9,
 * overlaid on the endpoint's initial registers; NULL = zeros) and `slot0`
 * (moved into the callee's slot[0]; null for nothing). target, slot0 BORROWED.
 * Nothing a program does can make this fail: every bound a guest reaches (the
 * nesting bound at HALT or pause, a slot[0] too deep for the callee, memory
 * that cannot be set up…) is a FAULT outcome (docs/abi.md).
 * @param[out] res  filled (clear it with jk_kernel_result_clear).
 * @return JK_OK whenever the call ran (whatever its outcome);
 *         JK_ERR_INVALID_ARG (target not an Instance, endpoint out of range,
 *         target not Idle, gas < 0); JK_ERR_NOMEM; rarely, the failing
 *         step's own code (a JK_ERR_CAP_* bound) when no frame is left to
 *         fault with it or the fault itself cannot be delivered (jk_contain,
 *         src/kernel/loop.c): res is then cleared. */
jk_err jk_kernel_call(jk_kernel *k, jk_cap target, uint32_t endpoint, int64_t gas,
                      const uint64_t args[3], jk_cap slot0, jk_kernel_result *res);

/* CALL_RESUME a Paused instance with `gas` and `slot0` (moved into the paused
 * top frame's slot[0]: the answer to its yield, or nothing after out-of-gas).
 * `gas` is the paused instance's own frame's; a frame deeper in the paused
 * stack gets at most the gas it had left when paused (its CALL's cap), and
 * the instance bound counts on from where the paused invocation was. A
 * frame that can no longer be rebuilt (its mapped slot emptied before the
 * pause) faults.
 * @return as jk_kernel_call (JK_ERR_INVALID_ARG if `paused` is not Paused or
 *         has more frames than the call-depth bound). */
jk_err jk_kernel_resume(jk_kernel *k, jk_cap paused, int64_t gas, jk_cap slot0,
                        jk_kernel_result *res);

/* ---- serving yields at the root (issue 16; docs/abi.md "Serving a yield at
 * the root") ----
 * An embedder that answers its markers' yields at once (the chain's attests)
 * hands the kernel a serve function instead of taking YIELDED results back:
 *
 *   serve(ctx, marker, request, &resume, &answer)
 *
 * marker and request (the yielder's slot[0]) are BORROWED; *answer is a NEW
 * reference or null (the yielder's new slot[0]), which the kernel owns from
 * then on. Set *resume to continue the invocation, or leave it false to stop:
 * the call then returns the YIELDED result. A serve error ends the call with
 * that error. serve runs inside the call: it must not use kernel k (another
 * kernel is fine). */
typedef jk_err (*jk_kernel_serve_fn)(void *ctx, jk_cap marker, jk_cap request, bool *resume,
                                     jk_cap *answer);

/* Exactly (every outcome, value, gas_used, fault and result field):
 *
 *   err = jk_kernel_call(k, target, endpoint, gas, args, slot0, res);
 *   used = res->gas_used;
 *   while (err == JK_OK && res->outcome == JK_KERNEL_YIELDED) {
 *       err = serve(ctx, res->marker, res->slot0, &resume, &answer);
 *       if (err != JK_OK || !resume) break;
 *       paused = res->instance (retained); clear res;
 *       err = jk_kernel_resume(k, paused, gas - used, answer, res);
 *       used += res->gas_used; res->gas_used = used;
 *   }
 *
 * but, where the pause and the resume would both succeed, without making the
 * continuation at all: the kernel answers at the yield and its frames go on
 * where they are, charged as a rebuilt stack would be (docs/abi.md). The
 * continuation is never observable on that path (a stop gives the YIELDED
 * result, built then). serve NULL: jk_kernel_call.
 * @return as jk_kernel_call, or serve's error (res then cleared). */
jk_err jk_kernel_call_served(jk_kernel *k, jk_cap target, uint32_t endpoint, int64_t gas,
                             const uint64_t args[3], jk_cap slot0, jk_kernel_serve_fn serve, void *ctx,
                             jk_kernel_result *res);

/* Flags of jk_kernel_call_served_flags. */
#define JK_KERNEL_CALL_NO_INSTANCE 1u /* the embedder drops the target's new value */
/* the call takes over the embedder's reference to slot0, so that the
 * target may change it in place (held once, a scratchpad is not copied at
 * its first write: session 14); a result that gives the sent slot0 back
 * (a fault's) gives the null cap instead */
#define JK_KERNEL_CALL_TAKE_SLOT0 2u

/* jk_kernel_call_served with flags. JK_KERNEL_CALL_NO_INSTANCE: a HALT of
 * the target (the root frame) leaves res->instance null rather than
 * building the new value the embedder would drop at once (the chain's
 * verify keeps only slot[0]: the new verify_proto copy of every event was
 * made and freed for nothing — ~2,500 instructions, issue 13). Every other
 * outcome and field is exactly jk_kernel_call_served's, the HALT's
 * nesting bound (JK_KERNEL_MAX_HALT_DEPTH) and its other refusals
 * included: where the kernel cannot tell without building the value that
 * it would be accepted, it builds it and drops it.
 * @return as jk_kernel_call_served. */
jk_err jk_kernel_call_served_flags(jk_kernel *k, jk_cap target, uint32_t endpoint, int64_t gas,
                                   const uint64_t args[3], jk_cap slot0, jk_kernel_serve_fn serve,
                                   void *ctx, unsigned flags, jk_kernel_result *res);

/* How many yields this kernel answered in place so far (for tests and
 * benchmarks: which path ran is otherwise unobservable, as it should be). */
uint64_t jk_kernel_served_in_place(const jk_kernel *k);
/* Pages this kernel's frames looked at again after mapping them: entries of
 * the dirty list scanned (at HALT, pause, in-place resume) and pages parked
 * by in-place resumes. Each page mapped is paid for (JK_GAS_PER_PAGE_TOUCHED)
 * and looked at a bounded number of times, so this stays within a small
 * multiple of the pages mapped however often a frame yields (for tests). */
uint64_t jk_kernel_page_scans(const jk_kernel *k);
/* How many host calls this kernel served inside compiled code so far, without
 * the run's exit and re-entry (docs/abi.md "Host calls served in compiled
 * code"; for tests and benchmarks, as jk_kernel_served_in_place). */
uint64_t jk_kernel_hostcalls_in_code(const jk_kernel *k);
/* How many host calls reached from compiled code the kernel handed to its
 * general way (every check and refusal in one place) rather than a short
 * one (docs/kernel.md "The event's program, session 14"; for tests). */
uint64_t jk_kernel_hostcalls_handed_on(const jk_kernel *k);
/* How many times this kernel entered a frame's program (a run of the PVM,
 * compiled or interpreted): one per frame pushed, plus one after every host
 * call or yield the loop served outside the code (docs/kernel.md "The
 * event's program, session 15"; for tests and benchmarks). */
uint64_t jk_kernel_runs(const jk_kernel *k);

/* DROP_PAUSED: the instance as it was before the CALL that paused it, Idle.
 * paused BORROWED. Needs no kernel.
 * @param[out] out  NEW reference.
 * @return JK_OK; JK_ERR_INVALID_ARG (paused is not a Paused Instance);
 *         JK_ERR_NOMEM. */
jk_err jk_kernel_drop_paused(jk_cap paused, jk_cap *out);

/* ---------------------------------------------------------------------------
 * Images from SDK programs
 * ------------------------------------------------------------------------- */

#define JK_KERNEL_DEFAULT_RO_SLOT 19  /* pinned: the program's read-only data */
#define JK_KERNEL_DEFAULT_RW_SLOT 18  /* pinned: its initial read-write data */

typedef struct jk_kernel_image_opts {
    uint32_t ro_slot, rw_slot;        /* 0: the defaults above */
    const jk_cap_mapping *mappings;   /* more mappings (persistent state) */
    uint32_t mapping_count;
    const jk_cap_pin *pins;           /* more pinned caps (borrowed) */
    uint32_t pin_count;
    uint32_t yield_catcher_slot;      /* 0: none */
} jk_kernel_image_opts;

/* Build an Image from a jark program file (docs/program-format.md), laid out
 * as the standard program format says: read-only data at 0x10000 initialised
 * per call from a pinned Data (slot ro_slot, read-only), read-write data and
 * heap initialised per call from a pinned Data (slot rw_slot), a zeroed stack
 * below 0xFEFE0000; every endpoint of the program, in order, entered with
 * φ0 = the halt address and φ1 = the stack top. A program with no read-only
 * or read-write data pins nothing for it. opts may be NULL.
 * @param[out] out  NEW reference.
 * opts's pins and mappings are BORROWED (the Image retains the pinned caps).
 * @return JK_OK; JK_ERR_PVM_BLOB (a bad program file); JK_ERR_CAP_IMAGE (the
 *         image does not validate: overlapping extra mappings, pins out of
 *         range, more than 258 pins or 256 extra mappings…; reason in diag);
 *         JK_ERR_CAP_TOO_DEEP (a pinned cap nests too deep);
 *         JK_ERR_INVALID_ARG (opts->pins or opts->mappings NULL with its
 *         count above 0); JK_ERR_NOMEM. */
jk_err jk_kernel_image_from_program(const uint8_t *file, size_t len,
                                    const jk_kernel_image_opts *opts, jk_cap *out,
                                    jk_diag *diag);

#endif
