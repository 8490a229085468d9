/*
 * fuzz_image.c — fuzz target over the image file reader (src/image/file.c):
 * framing, endpoint names, the object table, jk_cap_load of both roots, the
 * reachability and canonical-order checks, the genesis check. Any crash, leak
 * or sanitizer report is a bug; so is a refusal without a message, and so is
 * an accepted file that the writer does not reproduce byte for byte (the
 * reader must accept exactly the canonical files).
 */
#include "fuzz_targets.h"

#include "jark/image.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void jk_fuzz_fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_image: %s: %s\n", what, detail);
    abort();
}

int jk_fuzz_image(const uint8_t *data, size_t size)
{
    jk_image_file *f = calloc(1, sizeof *f);
    jk_diag diag;
    if (!f)
        abort();
    diag.msg[0] = 0;
    jk_err err = jk_image_file_read(data, size, f, &diag);
    if (err != JK_OK) {
        if (!diag.msg[0])
            jk_fuzz_fail("image file refused without a message", jk_strerror(err));
        if (!jk_cap_is_null(f->image) || !jk_cap_is_null(f->state) || f->name_count)
            jk_fuzz_fail("a refused file left something behind", diag.msg);
    } else {
        uint8_t *again = NULL;
        size_t again_len = 0;
        if (jk_image_file_write(f, &again, &again_len, &diag) != JK_OK)
            jk_fuzz_fail("an accepted file does not write back", diag.msg);
        if (again_len != size || memcmp(again, data, size) != 0)
            jk_fuzz_fail("an accepted file is not canonical", "the writer makes other bytes");
        free(again);
    }
    jk_image_file_clear(f);
    free(f);
    return 0;
}

#ifdef JK_FUZZ_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return jk_fuzz_image(data, size);
}
#endif
