/*
 * cmd_asm.c — `jark asm FILE.s -o FILE.pvm` and `jark disasm FILE.pvm [-o FILE.s]`.
 *
 * Exit codes: 0 success, 1 the input was rejected or a file failed, 2 usage.
 * "-o -" writes to standard output (the default for disasm).
 */
#include "commands.h"

#include "jark/pvm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parse "IN [-o OUT]" in any order. Returns false on a usage error. */
static bool jk_in_out_args(int argc, char **argv, const char **in, const char **out)
{
    *in = NULL;
    *out = NULL;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "-o")) {
            if (i + 1 >= argc || *out)
                return false;
            *out = argv[++i];
        } else if (!*in && argv[i][0] != '-') {
            *in = argv[i];
        } else {
            return false;
        }
    }
    return *in != NULL;
}

static int jk_write_output(const char *path, const void *data, size_t len)
{
    bool to_stdout = !path || !strcmp(path, "-");
    FILE *f = to_stdout ? stdout : fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "jark: %s: %s\n", path, strerror(errno));
        return JK_EXIT_USAGE;
    }
    bool ok = fwrite(data, 1, len, f) == len;
    ok = (to_stdout ? fflush(f) : fclose(f)) == 0 && ok;
    if (!ok) {
        fprintf(stderr, "jark: %s: write error\n", to_stdout ? "<stdout>" : path);
        return JK_EXIT_USAGE;
    }
    return 0;
}

int jk_tool_asm(int argc, char **argv)
{
    const char *in, *out;
    if (!jk_in_out_args(argc, argv, &in, &out) || !out) {
        fputs("usage: jark asm FILE.s -o FILE.pvm\n", stderr);
        return 2;
    }
    unsigned char *src;
    size_t src_len;
    if (jk_tool_read_file(in, &src, &src_len))
        return JK_EXIT_USAGE;
    uint8_t *blob = NULL;
    size_t blob_len = 0;
    jk_diag diag = {{0}};
    jk_err err = jk_pvm_asm((const char *)src, src_len, &blob, &blob_len, &diag);
    free(src);
    if (err != JK_OK) {
        fprintf(stderr, "jark: %s: %s\n", in, diag.msg[0] ? diag.msg : jk_strerror(err));
        return JK_EXIT_USAGE;
    }
    int rc = jk_write_output(out, blob, blob_len);
    free(blob);
    return rc;
}

int jk_tool_disasm(int argc, char **argv)
{
    const char *in, *out;
    if (!jk_in_out_args(argc, argv, &in, &out)) {
        fputs("usage: jark disasm FILE.pvm [-o FILE.s]\n", stderr);
        return 2;
    }
    unsigned char *blob;
    size_t blob_len;
    if (jk_tool_read_file(in, &blob, &blob_len))
        return JK_EXIT_USAGE;
    char *text = NULL;
    jk_diag diag = {{0}};
    jk_err err = jk_pvm_disasm(blob, blob_len, &text, &diag);
    free(blob);
    if (err != JK_OK) {
        fprintf(stderr, "jark: %s: %s\n", in, diag.msg[0] ? diag.msg : jk_strerror(err));
        return JK_EXIT_USAGE;
    }
    int rc = jk_write_output(out, text, strlen(text));
    free(text);
    return rc;
}
