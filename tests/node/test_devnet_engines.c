/* test_devnet_engines.c — the devnet on the interpreter and on the
 * recompiler: every block's state root is the same (issue 15: a chain's
 * roots do not depend on the engine a validator runs). The chain's kernels
 * ask for JK_PVM_ENGINE_AUTO, so the test switches what AUTO means. */
#include "../test.h"
#include "jark/devnet.h"
#include "jark/pvm.h"

#include <stdlib.h>
#include <string.h>

#define JK_ENGINE_BLOCKS 6

static void jk_engine_rm(const char *dir)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
}

/* Run the devnet one block at a time on `engine`, recording each root. */
static int jk_engine_roots(jk_pvm_engine engine, jk_hash roots[JK_ENGINE_BLOCKS])
{
    char dir[64];
    snprintf(dir, sizeof dir, "/tmp/jark-engines-test-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    jk_pvm_set_auto_engine(engine);
    int rc = 0;
    for (uint64_t h = 1; h <= JK_ENGINE_BLOCKS && rc == 0; h++) {
        jk_devnet_options o = {4, 0, 16, 1, 2, dir, true, h, 0};
        jk_devnet_result r;
        rc = jk_devnet_run(&o, &r);
        if (rc == 0 && (!r.agree || r.height != h))
            rc = -1;
        roots[h - 1] = r.root;
    }
    jk_pvm_set_auto_engine(JK_PVM_ENGINE_JIT);
    jk_engine_rm(dir);
    return rc;
}

JK_TEST(test_devnet_same_roots_on_both_engines)
{
    jk_hash interp[JK_ENGINE_BLOCKS], jit[JK_ENGINE_BLOCKS];
    JK_REQUIRE(jk_engine_roots(JK_PVM_ENGINE_INTERP, interp) == 0);
    JK_CHECK_EQ(jk_pvm_auto_engine(), JK_PVM_ENGINE_JIT);
    JK_REQUIRE(jk_engine_roots(JK_PVM_ENGINE_JIT, jit) == 0);
    for (int h = 0; h < JK_ENGINE_BLOCKS; h++)
        JK_CHECK(memcmp(interp[h].bytes, jit[h].bytes, 32) == 0);
    /* consecutive roots differ: each block changed the state */
    for (int h = 1; h < JK_ENGINE_BLOCKS; h++)
        JK_CHECK(memcmp(jit[h].bytes, jit[h - 1].bytes, 32) != 0);
}
