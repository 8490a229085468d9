/* test_vectors.c — the 201 public PVM vectors and the audit's corner vectors,
 * on both interpreter back ends and the recompiler. */
#include "../test.h"
#include "../../tools/pvm_vectors.h"

#include <stdlib.h>

static void jk_run_vectors(int backend)
{
    char path[512];
    jk_vector_totals totals = {0, 0};
    snprintf(path, sizeof path, "%s/vectors/pvm/programs", jk_test_shared_dir());
    JK_REQUIRE(jk_vectors_run_path(path, backend, stdout, &totals) == 0);
    JK_CHECK_EQ(totals.failed, 0);
    JK_CHECK_EQ(totals.passed, 201);
}

JK_TEST(test_pvm_vectors_switch_backend) { jk_run_vectors(0); }
JK_TEST(test_pvm_vectors_goto_backend) { jk_run_vectors(1); }
JK_TEST(test_pvm_vectors_jit) { jk_run_vectors(2); }

/* The audit's corner vectors (tests/pvm/vectors-extra, written by
 * tests/pvm/gen_vectors_extra.py from the reference semantics), on every back
 * end: the switch back end is only reached from here. */
static void jk_run_extra_vectors(int backend)
{
    jk_vector_totals totals = {0, 0};
    JK_REQUIRE(jk_vectors_run_path("tests/pvm/vectors-extra", backend, stdout, &totals) == 0);
    JK_CHECK_EQ(totals.failed, 0);
    JK_CHECK(totals.passed >= 1400);
}

JK_TEST(test_pvm_extra_vectors_switch_backend) { jk_run_extra_vectors(0); }
JK_TEST(test_pvm_extra_vectors_goto_backend) { jk_run_extra_vectors(1); }
JK_TEST(test_pvm_extra_vectors_jit) { jk_run_extra_vectors(2); }
