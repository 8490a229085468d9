/*
 * adv_pvm_model.h — what the held-out PVM edge tests (test_adv_pvm_edges*.c)
 * share: the model of the Graypaper's instruction definitions (Appendix A.5,
 * 64-bit PVM; adv_pvm_model.c, written independently of src/pvm), the
 * registers every case starts from, and a fresh memory for each side of a
 * two-engine run.
 */
#ifndef JK_TESTS_ADV_PVM_MODEL_H
#define JK_TESTS_ADV_PVM_MODEL_H

#include "jark/pvm.h"

#include <stdbool.h>
#include <stdint.h>

#define OUT_LO 0x20000u   /* results are stored from here, 8 bytes a case */
#define OUT_PAGES 8u
#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Three registers: ω_D = f(ω_A, ω_B), with ω_D's old value for the cmovs.
 * false when the name is not a three-register ALU op this model knows. */
bool adv_model3(const char *op, uint64_t a, uint64_t b, uint64_t d, uint64_t *out);
/* Two registers and an immediate: ω_A = f(ω_B, ν_X), ω_A's old value for
 * the cmovs; false when the model does not know the op. */
bool adv_model2i(const char *op, uint64_t b, uint64_t x, uint64_t a_old, uint64_t *out);
/* Two registers: ω_D = f(ω_A). */
bool adv_model2(const char *op, uint64_t a, uint64_t *out);
/* Branches: taken when cmp(ω_A, ω_B or ν_X). */
bool adv_model_branch(const char *op, uint64_t a, uint64_t b, bool *taken);

/* The registers every generated program starts from. */
extern const uint64_t adv_init_regs[JK_PVM_REGS];

/* Side e of a two-engine run: 0 the interpreter (the reference), 1 the
 * recompiler. */
jk_pvm_engine adv_engine_of(int e);

/* A new memory with OUT_PAGES read-write pages at OUT_LO, and a state at pc
 * 0 with adv_init_regs and `gas`; false when the memory cannot be made. */
bool adv_start(jk_pvm_memory **mem, jk_pvm_state *st, int64_t gas);

#endif
