/*
 * test_kernel_debug.c — the debug stream (DEBUG_WRITE, host call 100) goes
 * where the embedder says, and where it goes changes no result.
 */
#include "../test.h"
#include "../progs.h"

#include "jark/kernel.h"

#include <stdio.h>
#include <string.h>

static jk_cap jk_debug_instance(void)
{
    jk_cap image = jk_test_image("tests/kernel/progs/debugprog.c", NULL), cnode, inst = jk_cap_null();
    if (jk_cap_is_null(image))
        return inst;
    if (jk_cap_cnode_new(8, &cnode) == JK_OK) {
        jk_cap_instance_genesis(image, cnode, &inst, NULL);
        jk_cap_release(cnode);
    }
    jk_cap_release(image);
    return inst;
}

JK_TEST(test_kernel_debug_stream_is_the_embedders_choice)
{
    jk_cap inst = jk_debug_instance();
    JK_REQUIRE(!jk_cap_is_null(inst));
    jk_kernel *k;
    JK_REQUIRE(jk_kernel_new(NULL, &k) == JK_OK);
    FILE *f = tmpfile();
    JK_REQUIRE(f != NULL);

    /* Discarded by default; shown once set; discarded again after NULL. */
    jk_kernel_result quiet, shown, again;
    JK_CHECK_EQ(jk_kernel_call(k, inst, 0, 100000, NULL, jk_cap_null(), &quiet), JK_OK);
    jk_kernel_set_debug(k, f);
    JK_CHECK_EQ(jk_kernel_call(k, inst, 0, 100000, NULL, jk_cap_null(), &shown), JK_OK);
    jk_kernel_set_debug(k, NULL);
    JK_CHECK_EQ(jk_kernel_call(k, inst, 0, 100000, NULL, jk_cap_null(), &again), JK_OK);

    char buf[128] = {0};
    rewind(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    JK_CHECK_EQ(n, strlen("hello from the guest\n"));
    JK_CHECK(!strcmp(buf, "hello from the guest\n"));

    /* The stream is output only: outcome, value and gas are the same. */
    JK_CHECK_EQ(quiet.outcome, JK_KERNEL_HALT);
    JK_CHECK_EQ(shown.outcome, JK_KERNEL_HALT);
    JK_CHECK_EQ(quiet.value, 21);
    JK_CHECK_EQ(shown.value, quiet.value);
    JK_CHECK_EQ(shown.gas_used, quiet.gas_used);
    JK_CHECK_EQ(again.gas_used, quiet.gas_used);

    fclose(f);
    jk_kernel_result_clear(&quiet);
    jk_kernel_result_clear(&shown);
    jk_kernel_result_clear(&again);
    jk_kernel_free(k);
    jk_cap_release(inst);
}
