/* files.c — see files.h. */
#include "files.h"
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void jk_test_write_file(const char *dir, const char *name, const uint8_t *b, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b, 1, n, f) != n)
        jk_test_fail(__FILE__, __LINE__, "cannot write %s", path);
    if (f)
        fclose(f);
}

bool jk_test_corpus_open(jk_test_corpus *c, const char *dir)
{
    memset(c, 0, sizeof *c);
    snprintf(c->path, sizeof c->path, "%s", dir);
    c->dir = opendir(dir);
    return c->dir != NULL;
}

/* The whole of f into a buffer of exactly its size (at least 1 byte
 * allocated, so an empty file still has a pointer); NULL when out of memory. */
static uint8_t *jk_read_whole(FILE *f, size_t *len)
{
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 1 << 16;
            uint8_t *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                return NULL;
            }
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    uint8_t *exact = realloc(buf, n ? n : 1);
    *len = n;
    return exact ? exact : buf;
}

bool jk_test_corpus_next(jk_test_corpus *c)
{
    struct dirent *de;
    free(c->bytes);
    c->bytes = NULL;
    c->len = 0;
    c->name = NULL;
    while (c->dir && (de = readdir(c->dir)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", c->path, de->d_name);
        FILE *f = fopen(path, "rb");
        if (!f)
            continue;
        c->bytes = jk_read_whole(f, &c->len);
        fclose(f);
        if (!c->bytes)
            continue;
        c->name = de->d_name;
        return true;
    }
    return false;
}

void jk_test_corpus_close(jk_test_corpus *c)
{
    free(c->bytes);
    c->bytes = NULL;
    if (c->dir)
        closedir(c->dir);
    c->dir = NULL;
}

bool jk_test_process_gone(pid_t pid)
{
    char path[64], stat[256];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return true;
    size_t n = fread(stat, 1, sizeof stat - 1, f);
    fclose(f);
    stat[n] = 0;
    const char *rp = strrchr(stat, ')');
    return rp && rp[1] == ' ' && (rp[2] == 'Z' || rp[2] == 'X');
}
