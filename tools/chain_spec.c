/*
 * chain_spec.c — chain-spec files (docs/chain-spec.md) on disk: the JSON is
 * parsed by chain_spec_parse.c; here files are read relative to the spec and
 * C programs compiled with the SDK; and `jark chain genesis|show`.
 */
#include "chain_spec.h"
#include "commands.h"
#include "sdk_exec.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A program: a program file, or C compiled with the SDK. *out malloc'd. */
/* name relative to dir (or absolute) into path. */
static void jk_resolve(const char *dir, const char *name, char *path, size_t len)
{
    if (name[0] == '/')
        snprintf(path, len, "%s", name);
    else
        snprintf(path, len, "%.*s/%s", (int)(len / 2), dir, name);
}

static int jk_program(const char *dir, const char *name, uint8_t **out, size_t *len, char *err, size_t err_len)
{
    char path[2 * PATH_MAX];
    jk_resolve(dir, name, path, sizeof path);
    size_t n = strlen(path);
    if (n > 2 && !strcmp(path + n - 2, ".c")) {
        if (jk_cc_build_bytes(path, "-O2", out, len) != 0)
            return jk_spec_fail(err, err_len, "program %s does not build", name);
        return 0;
    }
    unsigned char *bytes;
    if (jk_tool_read_file(path, &bytes, len))
        return jk_spec_fail(err, err_len, "program %s cannot be read", name);
    *out = bytes;
    return 0;
}

/* The reader of files named by a spec on disk: relative to the spec's
 * directory; programs in C are compiled. */
static int jk_spec_read_named(void *ctx, const char *name, bool program, uint8_t **out, size_t *len, char *err,
                              size_t err_len)
{
    const char *dir = ctx;
    if (program)
        return jk_program(dir, name, out, len, err, err_len);
    char file[2 * PATH_MAX];
    jk_resolve(dir, name, file, sizeof file);
    unsigned char *bytes;
    if (jk_tool_read_file(file, &bytes, len))
        return jk_spec_fail(err, err_len, "state data: cannot read %s", file);
    *out = bytes;
    return 0;
}

int jk_spec_file_load(const char *path, jk_spec_file *out, char *err, size_t err_len)
{
    memset(out, 0, sizeof *out);
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
    else
        snprintf(dir, sizeof dir, ".");
    unsigned char *text;
    size_t len;
    if (jk_tool_read_file(path, &text, &len))
        return jk_spec_fail(err, err_len, "%s: cannot be read", path);
    int rc = jk_spec_file_parse((const char *)text, len, jk_spec_read_named, dir, out, err, err_len);
    free(text);
    return rc;
}

int jk_tool_chain(int argc, char **argv)
{
    if (argc >= 1 && !strcmp(argv[0], "show"))
        return jk_tool_chain_show(argc - 1, argv + 1);
    if (argc == 2 && !strcmp(argv[0], "genesis")) {
        jk_spec_file f;
        char err[256];
        if (jk_spec_file_load(argv[1], &f, err, sizeof err)) {
            fprintf(stderr, "jark chain genesis: %s\n", err);
            return 1;
        }
        jk_chain_genesis g;
        jk_diag diag = {{0}};
        if (jk_chain_genesis_build(&f.spec, &g, &diag) != JK_OK) {
            fprintf(stderr, "jark chain genesis: %s\n", diag.msg);
            jk_spec_file_free(&f);
            return 1;
        }
        jk_hash root;
        jk_cap_hash(g.chain, &root);
        printf("genesis ");
        for (int i = 0; i < 32; i++)
            printf("%02x", g.genesis_hash.bytes[i]);
        printf("\nstate_root ");
        for (int i = 0; i < 32; i++)
            printf("%02x", root.bytes[i]);
        printf("\nvalidators %u dispatch_endpoints %u\n", f.spec.validator_count, f.spec.dispatch_count);
        jk_cap_release(g.chain);
        jk_spec_file_free(&f);
        return 0;
    }
    fprintf(stderr, "usage: jark chain genesis SPEC.json | jark chain show --store DIR [--accounts N]\n");
    return 2;
}
