/* util.c — small helpers shared by the jark subcommands. */
#include "commands.h"

#include "jark/err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int jk_tool_read_file(const char *path, unsigned char **out, size_t *out_len)
{
    jk_diag diag = {{0}};
    if (jk_read_file(path, out, out_len, &diag) != JK_OK) {
        fprintf(stderr, "jark: %s\n", diag.msg);
        return -1;
    }
    return 0;
}

int jk_tool_parse_number(const char *text, bool allow_negative, uint64_t *out)
{
    /* Decimal or 0x hex, as the usages say. Not strtoull's base 0, which
     * read "010" as 8 (octal: `--gas 010` ran with 8 gas); and no leading
     * space or '+', which strto* skip silently. */
    bool negative = *text == '-';
    const char *digits = text + negative;
    int base = 10;
    if (negative && !allow_negative)
        return -1;
    if (digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X'))
        digits += 2, base = 16;
    size_t n = strspn(digits, base == 16 ? "0123456789abcdefABCDEF" : "0123456789");
    if (n == 0 || digits[n])
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(digits, &end, base);
    if (errno || *end)
        return -1;
    if (negative) {
        if (v > (unsigned long long)INT64_MAX + 1)
            return -1;
        *out = (uint64_t)0 - (uint64_t)v;
        return 0;
    }
    *out = v;
    return 0;
}

int jk_tool_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    bool ok = f && fwrite(data, 1, len, f) == len;
    if (f && fclose(f) != 0)
        ok = false;
    if (!ok)
        fprintf(stderr, "jark: cannot write %s: %s\n", path, strerror(errno));
    return ok ? 0 : -1;
}

void jk_tool_build_init(jk_tool_build *b)
{
    memset(b, 0, sizeof *b);
    b->o.opt = "-O2";
    b->o.defines = b->defines;
    b->o.include_dirs = b->includes;
}

int jk_tool_build_flag(int argc, char **argv, int *i, jk_tool_build *b)
{
    const char *a = argv[*i];
    if (!strcmp(a, "-O0") || !strcmp(a, "-O2") || !strcmp(a, "-Os")) {
        b->o.opt = a;
        return 1;
    }
    if (strncmp(a, "-D", 2) && strncmp(a, "-I", 2))
        return 0;
    const char *value = a + 2;
    if (!*value) {
        if (*i + 1 >= argc)
            return -1;
        value = argv[++*i];
    }
    size_t *count = a[1] == 'D' ? &b->o.define_count : &b->o.include_count;
    const char **list = a[1] == 'D' ? b->defines : b->includes;
    if (*count == JK_SDK_MAX_FLAGS)
        return -1;
    list[(*count)++] = value;
    return 1;
}

int jk_tool_print_source(const char *map_path, uint32_t pc)
{
    uint8_t *text;
    size_t len;
    jk_diag diag = {{0}};
    jk_sdk_map *m = NULL;
    jk_err err = jk_read_file(map_path, &text, &len, &diag);
    if (err == JK_OK) {
        err = jk_sdk_map_parse((const char *)text, len, &m, &diag);
        free(text);
    }
    if (err != JK_OK) {
        fprintf(stderr, "jark: --map %s: %s\n", map_path, diag.msg);
        return -1;
    }
    const char *file;
    uint32_t line;
    if (jk_sdk_map_find(m, pc, &file, &line))
        fprintf(stderr, "at pc %u: %s:%u\n", pc, file, line);
    else
        fprintf(stderr, "at pc %u: not in the map\n", pc);
    jk_sdk_map_free(m);
    return 0;
}

int jk_tool_engine_flag(int argc, char **argv, int *i)
{
    if (strcmp(argv[*i], "--engine") || *i + 1 >= argc)
        return 0;
    jk_pvm_engine engine;
    if (jk_pvm_engine_parse(argv[*i + 1], &engine) != JK_OK) {
        fprintf(stderr, "jark: --engine wants interp, jit or auto, got '%s'\n", argv[*i + 1]);
        return -1;
    }
    jk_pvm_set_auto_engine(engine);
    (*i)++;
    return 1;
}

int jk_tool_once(const char *cmd, const char *opt, const char **slot, const char *value)
{
    if (*slot) {
        fprintf(stderr, "jark %s: %s given twice\n", cmd, opt);
        return -1;
    }
    *slot = value;
    return 0;
}
