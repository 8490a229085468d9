/* progs.c — see progs.h. */
#include "progs.h"

#include "jark/sdk.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

jk_cap jk_test_image(const char *source, const jk_kernel_image_opts *opts)
{
    static const jk_kernel_image_opts no_opts;
    uint8_t *program = NULL;
    size_t len = 0;
    jk_cap image = jk_cap_null();
    jk_diag diag = {{0}};
    if (jk_sdk_build_one(source, &program, &len, &diag) != JK_OK) {
        printf("%s: does not build: %s\n", source, diag.msg);
        return image;
    }
    if (jk_kernel_image_from_program(program, len, opts ? opts : &no_opts, &image, &diag) != JK_OK)
        printf("%s: %s\n", source, diag.msg);
    free(program);
    return image;
}

jk_err jk_test_build(const char *const *sources, size_t n, const char *opt, const char *path, jk_diag *diag)
{
    jk_sdk_options o = {.opt = opt};
    uint8_t *program = NULL;
    size_t len = 0;
    jk_err err = jk_sdk_build(sources, n, &o, &program, &len, NULL, diag);
    if (err != JK_OK)
        return err;
    FILE *f = fopen(path, "wb");
    bool ok = f && fwrite(program, 1, len, f) == len;
    if (f && fclose(f) != 0)
        ok = false;
    free(program);
    return ok ? JK_OK : jk_diag_set(diag, JK_ERR_IO, "cannot write %s", path);
}
