/*
 * jit_plan.h — the gas plans' mechanical check (jit_plan.c, session 14),
 * seen by the tests and the fuzz target. Internal to src/pvm.
 */
#ifndef JK_PVM_JIT_PLAN_H
#define JK_PVM_JIT_PLAN_H

#include "internal.h"

#include <stdint.h>

/* Programs whose gas plan failed the check and were compiled with the
 * plain plan instead (every block pays at its own prologue): 0 unless a
 * plan is wrong. Tests and fuzz_jit require it to stay 0. */
extern unsigned long jk_pvm_jit_plan_refused;

/* Tests only: called with the plan (pre and less, either NULL when no
 * block has any; n entries) after the plans and before the check, so a
 * test can break a plan on purpose and see the check refuse it. */
extern void (*jk_pvm_jit_plan_hook)(const jk_pvm_program *prog, uint32_t *pre, uint32_t *less);

/* Tests only: false skips the check (to show what a broken plan does). */
extern bool jk_pvm_jit_plan_checked;

/* Tests only: false maps the calls' tables anywhere (jit_table.c), so the
 * calls load the table's address first, as where MAP_32BIT is missing. */
extern bool jk_pvm_jit_low_tables;

#endif
