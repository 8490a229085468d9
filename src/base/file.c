/* file.c — reading a whole file, for every layer that reads files (spec,
 * image, sdk) and the tools. */
#include "jark/err.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

jk_err jk_read_file(const char *path, uint8_t **out, size_t *out_len, jk_diag *diag)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return jk_diag_set(diag, JK_ERR_IO, "%s: %s", path, strerror(errno));
    size_t cap = 1 << 16, len = 0;
    uint8_t *buf = malloc(cap + 1);
    while (buf) {
        len += fread(buf + len, 1, cap - len, f);
        if (len < cap)
            break;
        uint8_t *bigger = cap <= SIZE_MAX / 4 ? realloc(buf, cap * 2 + 1) : NULL;
        if (!bigger) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = bigger;
        cap *= 2;
    }
    int failed = ferror(f);
    fclose(f);
    if (!buf || failed) {
        jk_err err = buf ? JK_ERR_IO : JK_ERR_NOMEM;
        free(buf);
        return jk_diag_set(diag, err, "%s: %s", path, err == JK_ERR_IO ? "read error" : "out of memory");
    }
    buf[len] = 0;
    *out = buf;
    *out_len = len;
    return JK_OK;
}
