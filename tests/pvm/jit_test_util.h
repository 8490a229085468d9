/*
 * jit_test_util.h — what the recompiler's tests share: a program from
 * assembly source, loaded (and, where asked, required to be compiled).
 */
#ifndef JK_TEST_JIT_UTIL_H
#define JK_TEST_JIT_UTIL_H

#include "../test.h"
#include "jark/pvm.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Assemble src and load it; NULL (with the reason printed) when either
 * fails, or when compiled is true, the recompiler exists here and the
 * program was not compiled. The caller frees the program. */
static inline jk_pvm_program *jk_test_asm_program(const char *src, bool compiled)
{
    uint8_t *blob = NULL;
    size_t len = 0;
    jk_diag diag = {{0}};
    jk_pvm_program *prog = NULL;
    if (jk_pvm_asm(src, strlen(src), &blob, &len, &diag) != JK_OK) {
        printf("asm: %s\n", diag.msg);
        return NULL;
    }
    if (jk_pvm_program_load(blob, len, &prog, &diag) != JK_OK)
        printf("load: %s\n", diag.msg);
    free(blob);
#if JK_PVM_HAVE_JIT
    if (compiled && prog && !jk_pvm_program_jitted(prog)) {
        printf("not compiled\n");
        jk_pvm_program_free(prog);
        return NULL;
    }
#else
    (void)compiled;
#endif
    return prog;
}

#endif
