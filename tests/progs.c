/* progs.c — see progs.h. */
#include "progs.h"

#include "../tools/sdk_exec.h"

#include <stdio.h>
#include <stdlib.h>

jk_cap jk_test_image(const char *source, const jk_kernel_image_opts *opts)
{
    static const jk_kernel_image_opts no_opts;
    uint8_t *program = NULL;
    size_t len = 0;
    jk_cap image = jk_cap_null();
    if (jk_cc_build_bytes(source, "-O2", &program, &len) != 0) {
        printf("%s: does not build\n", source);
        return image;
    }
    jk_diag diag = {{0}};
    if (jk_kernel_image_from_program(program, len, opts ? opts : &no_opts, &image, &diag) != JK_OK)
        printf("%s: %s\n", source, diag.msg);
    free(program);
    return image;
}
