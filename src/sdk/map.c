/*
 * map.c — the pc → source line map (`jark cc --map`): made from the linker's
 * (pc, RISC-V address) pairs and the ELF's DWARF line rows; read back by
 * `jark pvm exec --map` and `jark image run --map` to name the line of a
 * faulting pc.
 */
#include "linker.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JK_MAP_NAME_MAX 255

struct jk_sdk_map {
    size_t count;
    uint32_t *pcs, *lines;
    char **files;
};

void jk_sdk_map_free(jk_sdk_map *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->count; i++)
        free(m->files[i]);
    free(m->pcs);
    free(m->lines);
    free(m->files);
    free(m);
}

/* The row covering address addr (greatest address <= addr), or NULL when
 * addr is before every row or in a gap after an end_sequence. */
static const jk_line_row *jk_row_at(const jk_line_row *rows, size_t n, uint64_t addr)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (rows[mid].addr <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return NULL;
    const jk_line_row *r = &rows[lo - 1];
    return r->end ? NULL : r;
}

jk_err jk_sdk_map_write(const uint8_t *elf_bytes, size_t elf_len, const jk_link_pc *pcs, size_t npcs,
                        const char *path, jk_diag *diag)
{
    jk_elf elf;
    jk_line_row *rows = NULL;
    size_t nrows = 0;
    jk_err err = jk_sdk_elf_parse(elf_bytes, elf_len, &elf, diag);
    if (err != JK_OK)
        return err;
    err = jk_sdk_dwarf_lines(&elf, &rows, &nrows, diag);
    FILE *f = err == JK_OK ? fopen(path, "w") : NULL;
    if (err == JK_OK && !f)
        err = jk_diag_set(diag, JK_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    const jk_line_row *last = NULL;
    for (size_t i = 0; f && i < npcs; i++) {
        const jk_line_row *r = jk_row_at(rows, nrows, pcs[i].rv_addr);
        if (!r || r->line == 0)
            continue;
        if (last && last->line == r->line && !strcmp(last->file, r->file) &&
            !strcmp(last->dir ? last->dir : "", r->dir ? r->dir : ""))
            continue;
        fprintf(f, "%u %s%s%s:%u\n", pcs[i].pc, r->dir ? r->dir : "", r->dir ? "/" : "", r->file, r->line);
        last = r;
    }
    if (f && (ferror(f) | fclose(f)))
        err = jk_diag_set(diag, JK_ERR_IO, "cannot write %s", path);
    free(rows);
    jk_sdk_elf_free(&elf);
    return err;
}

jk_err jk_sdk_map_parse(const char *text, size_t len, jk_sdk_map **out, jk_diag *diag)
{
    *out = NULL;
    jk_sdk_map *m = calloc(1, sizeof *m);
    size_t lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += text[i] == '\n';
    if (!m || !(m->pcs = malloc((lines + 1) * sizeof *m->pcs)) || !(m->lines = malloc((lines + 1) * sizeof *m->lines)) ||
        !(m->files = calloc(lines + 1, sizeof *m->files))) {
        jk_sdk_map_free(m);
        return jk_diag_set(diag, JK_ERR_NOMEM, "out of memory");
    }
    size_t at = 0, lineno = 0;
    while (at < len) {
        lineno++;
        const char *start = text + at, *nl = memchr(start, '\n', len - at);
        if (!nl) {
            jk_sdk_map_free(m);
            return jk_diag_set(diag, JK_ERR_PARSE, "map line %zu: no newline at the end", lineno);
        }
        size_t n = (size_t)(nl - start);
        at += n + 1;
        /* "<pc> <file>:<line>": the pc up to the first space, the line after the last ':' */
        const char *space = memchr(start, ' ', n), *colon = NULL;
        for (const char *p = nl; p > start; p--)
            if (p[-1] == ':') {
                colon = p - 1;
                break;
            }
        uint64_t pc = 0, line = 0;
        bool ok = space && space > start && colon && colon > space + 1 && colon + 1 < nl &&
                  (size_t)(colon - space - 1) <= JK_MAP_NAME_MAX;
        if (ok) { /* space and colon are set: the pointers below stay inside the line */
            for (const char *p = start; ok && p < space; p++)
                ok = *p >= '0' && *p <= '9' && (pc = pc * 10 + (uint64_t)(*p - '0')) <= UINT32_MAX &&
                     !(p == start && *p == '0' && space - start > 1);
            for (const char *p = colon + 1; ok && p < nl; p++)
                ok = *p >= '0' && *p <= '9' && (line = line * 10 + (uint64_t)(*p - '0')) <= UINT32_MAX;
            for (const char *p = space + 1; ok && p < colon; p++)
                ok = *p != 0;
        }
        if (ok && m->count && pc <= m->pcs[m->count - 1]) {
            jk_sdk_map_free(m);
            return jk_diag_set(diag, JK_ERR_PARSE, "map line %zu: pc %llu not after the line before", lineno,
                               (unsigned long long)pc);
        }
        if (!ok) {
            jk_sdk_map_free(m);
            return jk_diag_set(diag, JK_ERR_PARSE, "map line %zu: not '<pc> <file>:<line>'", lineno);
        }
        size_t name_len = (size_t)(colon - space - 1);
        char *name = malloc(name_len + 1);
        if (!name) {
            jk_sdk_map_free(m);
            return jk_diag_set(diag, JK_ERR_NOMEM, "out of memory");
        }
        memcpy(name, space + 1, name_len);
        name[name_len] = 0;
        m->pcs[m->count] = (uint32_t)pc;
        m->lines[m->count] = (uint32_t)line;
        m->files[m->count++] = name;
    }
    *out = m;
    return JK_OK;
}

bool jk_sdk_map_find(const jk_sdk_map *m, uint32_t pc, const char **file, uint32_t *line)
{
    size_t lo = 0, hi = m->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->pcs[mid] <= pc)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return false;
    *file = m->files[lo - 1];
    *line = m->lines[lo - 1];
    return true;
}
