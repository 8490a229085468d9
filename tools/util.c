/* util.c — small helpers shared by the jark subcommands. */
#include "commands.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int jk_tool_read_file(const char *path, unsigned char **out, size_t *out_len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "jark: %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t cap = 4096, len = 0;
    unsigned char *buf = malloc(cap + 1);
    while (buf) {
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (len < cap)
            break;
        unsigned char *bigger = realloc(buf, cap * 2 + 1);
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
        fprintf(stderr, "jark: %s: %s\n", path, buf ? "read error" : "out of memory");
        free(buf);
        return -1;
    }
    buf[len] = 0;
    *out = buf;
    *out_len = len;
    return 0;
}

int jk_tool_parse_number(const char *text, bool allow_negative, uint64_t *out)
{
    char *end;
    if (!*text || (*text == '-' && !allow_negative))
        return -1;
    errno = 0;
    if (*text == '-') {
        long long v = strtoll(text, &end, 0);
        if (errno || *end)
            return -1;
        *out = (uint64_t)v;
        return 0;
    }
    unsigned long long v = strtoull(text, &end, 0);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}
