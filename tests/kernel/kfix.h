/* kfix.h — fixtures shared by the kernel tests: the kprog image
 * (tests/kernel/progs/kprog.c), instances of it, and scripts of host calls
 * run through its script endpoint. */
#ifndef KT_KFIX_H
#define KT_KFIX_H

#include "jark/kernel.h"

#define STATE_SLOT 20
#define CALLEE_SLOT 21
#define MARKER_SLOT 22
#define CATCHER_SLOT 23
#define IMAGE_SLOT 25

enum { EP_BUMP, EP_RELAY, EP_RELAY_THEN_FAULT, EP_SPIN, EP_WILD, EP_RECURSE, EP_ASK, EP_CATCHER,
       EP_DROPPER, EP_MINTER, EP_BAD_CALL, EP_TOUCH_PINNED, EP_SPAWNER, EP_BECOME, EP_TOO_DEEP };

#define EP_SCRIPT 15
#define EP_WRITE_RO 16
#define SCRIPT_SLOT 28
#define P2(s, a) ((2ull << 60) | (uint64_t)(s) | ((uint64_t)(a) << 8))

typedef struct kt_op {
    uint64_t n, a, b, c, d;
} kt_op;

#define EP_ASK_THEN_SPIN 18

extern uint8_t *kt_program;
extern size_t kt_program_len;

/* The kprog image (NEW reference; the program is built once per run). */
jk_cap kt_image(void);
/* An instance of image with a zeroed state page and (slot, cap) extras (NEW). */
jk_cap kt_inst(jk_cap image, int n, const uint32_t *slots, const jk_cap *caps);
/* The counter in an instance's state page. */
uint64_t kt_counter(jk_cap inst);
/* Live cap objects (to check that nothing leaks). */
int64_t kt_live(void);
/* Run a script of host calls on a fresh instance of image with extras. */
jk_err kt_script(jk_kernel *k, jk_cap image, int n, const uint32_t *slots, const jk_cap *caps,
                 const kt_op *ops, size_t nops, jk_kernel_result *res);
/* The same, sending slot0 (borrowed) with the given gas. */
jk_err kt_script_with(jk_kernel *k, jk_cap image, int n, const uint32_t *slots, const jk_cap *caps,
                      const kt_op *ops, size_t nops, jk_cap slot0, int64_t gas, jk_kernel_result *res);
/* A test's kernel and kprog image, and the count of live cap objects the
 * test must come back to. kt_begin: false if either cannot be made. */
typedef struct kt_env {
    jk_kernel *k;
    jk_cap image;
    int64_t live;
} kt_env;
bool kt_begin(kt_env *e);
/* Free the kernel and image; a test failure if any cap made since leaked. */
void kt_end(kt_env *e, const char *file, int line);
#define KT_END(e) kt_end((e), __FILE__, __LINE__)

/* A one-byte Data wrapped in `levels` one-slot CNodes (depth levels + 1); the
 * null cap where the nesting bound refuses. NEW reference. */
jk_cap kt_chain(unsigned levels);


/* The reference (an interpreter's kernel, which never serves a host call in
 * the code) and a recompiler's: false when either cannot be made. */
bool kt_kernel_pair(jk_kernel **interp, jk_kernel **jit);
/* The cap in root slot `slot` of inst's cnode (borrowed). */
jk_cap kt_slot_of(jk_cap inst, uint32_t slot);

#endif
