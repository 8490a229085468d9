/*
 * dwarf.c — the DWARF line tables of a linked ELF (.debug_line, versions 2
 * to 4: `jark cc` compiles with -gdwarf-4 when a map is asked for), run as
 * the standard's line-number state machine into (address, file, line) rows.
 * Only what the map needs is kept: no columns, no is_stmt. Every read is
 * bounds-checked: the section is treated as untrusted bytes.
 */
#include "linker.h"

#include <stdlib.h>
#include <string.h>

typedef struct jk_rd {
    const uint8_t *p, *end;
    bool bad;
} jk_rd;

static uint64_t jk_rd_fixed(jk_rd *r, unsigned n)
{
    if ((size_t)(r->end - r->p) < n) {
        r->bad = true;
        r->p = r->end;
        return 0;
    }
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)r->p[i] << (8 * i);
    r->p += n;
    return v;
}

static uint64_t jk_rd_uleb(jk_rd *r)
{
    uint64_t v = 0;
    for (unsigned shift = 0; r->p < r->end; shift += 7) {
        uint8_t b = *r->p++;
        if (shift < 64)
            v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
    r->bad = true;
    return 0;
}

static int64_t jk_rd_sleb(jk_rd *r)
{
    uint64_t v = 0;
    unsigned shift = 0;
    uint8_t b = 0x80;
    while (r->p < r->end && (b & 0x80)) {
        b = *r->p++;
        if (shift < 64)
            v |= (uint64_t)(b & 0x7f) << shift;
        shift += 7;
    }
    if (b & 0x80) {
        r->bad = true;
        return 0;
    }
    if (shift < 64 && (b & 0x40))
        v |= ~(uint64_t)0 << shift;
    return (int64_t)v;
}

/* A NUL-terminated string inside the reader's bytes (NULL when none). */
static const char *jk_rd_str(jk_rd *r)
{
    const uint8_t *nul = memchr(r->p, 0, (size_t)(r->end - r->p));
    if (!nul) {
        r->bad = true;
        r->p = r->end;
        return NULL;
    }
    const char *s = (const char *)r->p;
    r->p = nul + 1;
    return s;
}

typedef struct jk_rows {
    jk_line_row *v;
    size_t n, cap;
    bool oom;
} jk_rows;

static void jk_row(jk_rows *rows, uint64_t addr, const char *dir, const char *file, uint32_t line, bool end)
{
    if (rows->n == rows->cap) {
        size_t cap = rows->cap ? 2 * rows->cap : 256;
        jk_line_row *bigger = realloc(rows->v, cap * sizeof *bigger);
        if (!bigger) {
            rows->oom = true;
            return;
        }
        rows->v = bigger;
        rows->cap = cap;
    }
    rows->v[rows->n++] = (jk_line_row){addr, dir, file, line, end};
}

#define JK_MAX_FILES 4096
#define JK_MAX_DIRS 1024

/* One unit's line program: header, then the state machine. */
static jk_err jk_unit(jk_rd *r, jk_rows *rows, jk_diag *diag, size_t offset)
{
    const char *dirs[JK_MAX_DIRS], *files[JK_MAX_FILES];
    uint64_t file_dir[JK_MAX_FILES];
    size_t ndirs = 0, nfiles = 0;
    uint16_t version = (uint16_t)jk_rd_fixed(r, 2);
    if (version < 2 || version > 4)
        return jk_diag_set(diag, JK_ERR_PARSE, ".debug_line+%zu: version %u (2..4 read; compile with -gdwarf-4)",
                           offset, version);
    uint64_t header_len = jk_rd_fixed(r, 4);
    if (header_len > (uint64_t)(r->end - r->p))
        return jk_diag_set(diag, JK_ERR_PARSE, ".debug_line+%zu: header longer than its unit", offset);
    const uint8_t *program = r->p + header_len;
    uint8_t min_len = (uint8_t)jk_rd_fixed(r, 1);
    if (version >= 4)
        jk_rd_fixed(r, 1); /* maximum_operations_per_instruction: 1 outside VLIW */
    bool default_stmt = jk_rd_fixed(r, 1) != 0;
    (void)default_stmt;
    int8_t line_base = (int8_t)jk_rd_fixed(r, 1);
    uint8_t line_range = (uint8_t)jk_rd_fixed(r, 1), opcode_base = (uint8_t)jk_rd_fixed(r, 1);
    uint8_t arg_counts[256] = {0};
    for (unsigned i = 1; i < opcode_base; i++)
        arg_counts[i] = (uint8_t)jk_rd_fixed(r, 1);
    for (const char *d; (d = jk_rd_str(r)) && *d;)
        if (ndirs < JK_MAX_DIRS)
            dirs[ndirs++] = d;
    for (const char *f; (f = jk_rd_str(r)) && *f;) {
        uint64_t dir = jk_rd_uleb(r);
        jk_rd_uleb(r); /* mtime */
        jk_rd_uleb(r); /* length */
        if (nfiles < JK_MAX_FILES)
            file_dir[nfiles] = dir, files[nfiles++] = f;
    }
    if (r->bad || line_range == 0 || opcode_base == 0 || r->p > program)
        return jk_diag_set(diag, JK_ERR_PARSE, ".debug_line+%zu: malformed header", offset);
    r->p = program;
    uint64_t addr = 0, file = 1;
    int64_t line = 1;
    while (r->p < r->end && !r->bad) {
        uint8_t op = (uint8_t)jk_rd_fixed(r, 1);
        bool emit = false, end = false;
        if (op >= opcode_base) {
            unsigned adj = op - opcode_base;
            addr += (uint64_t)(adj / line_range) * min_len;
            line += line_base + (int)(adj % line_range);
            emit = true;
        } else if (op == 0) {
            uint64_t len = jk_rd_uleb(r);
            if (len == 0 || len > (uint64_t)(r->end - r->p)) {
                r->bad = true;
                break;
            }
            const uint8_t *next = r->p + len;
            uint8_t sub = (uint8_t)jk_rd_fixed(r, 1);
            if (sub == 1)
                emit = end = true;
            else if (sub == 2 && len - 1 <= 8)
                addr = jk_rd_fixed(r, (unsigned)(len - 1));
            r->p = next;
        } else if (op == 1) {
            emit = true;
        } else if (op == 2) {
            addr += jk_rd_uleb(r) * min_len;
        } else if (op == 3) {
            line += jk_rd_sleb(r);
        } else if (op == 4) {
            file = jk_rd_uleb(r);
        } else if (op == 8) {
            addr += (uint64_t)((255 - opcode_base) / line_range) * min_len;
        } else if (op == 9) {
            addr += jk_rd_fixed(r, 2);
        } else {
            for (unsigned i = 0; i < arg_counts[op]; i++)
                jk_rd_uleb(r);
        }
        if (emit && !r->bad) {
            const char *name = file >= 1 && file <= nfiles ? files[file - 1] : "?";
            uint64_t d = file >= 1 && file <= nfiles ? file_dir[file - 1] : 0;
            const char *dir = d >= 1 && d <= ndirs && name[0] != '/' ? dirs[d - 1] : NULL;
            jk_row(rows, addr, dir, name, line > 0 && line <= UINT32_MAX ? (uint32_t)line : 0, end);
        }
        if (end) {
            addr = 0;
            file = 1;
            line = 1;
        }
    }
    if (r->bad)
        return jk_diag_set(diag, JK_ERR_PARSE, ".debug_line+%zu: malformed line program", offset);
    return rows->oom ? jk_diag_set(diag, JK_ERR_NOMEM, "out of memory") : JK_OK;
}

static int jk_row_cmp(const void *a, const void *b)
{
    const jk_line_row *x = a, *y = b;
    if (x->addr != y->addr)
        return x->addr < y->addr ? -1 : 1;
    if (x->end != y->end)
        return x->end ? -1 : 1; /* at one address, a sequence's end before the next's start */
    if (x->line != y->line) /* the rest only makes the order total: deterministic maps */
        return x->line < y->line ? -1 : 1;
    int c = strcmp(x->file, y->file);
    return c ? c : strcmp(x->dir ? x->dir : "", y->dir ? y->dir : "");
}

jk_err jk_sdk_dwarf_lines(const jk_elf *elf, jk_line_row **out, size_t *count, jk_diag *diag)
{
    jk_rows rows = {0};
    *out = NULL;
    *count = 0;
    for (size_t s = 0; s < elf->section_count; s++) {
        const jk_elf_section *sec = &elf->sections[s];
        if (!sec->name || strcmp(sec->name, ".debug_line") != 0 || !sec->data)
            continue;
        jk_rd all = {sec->data, sec->data + sec->size, false};
        while (all.p < all.end) {
            size_t offset = (size_t)(all.p - sec->data);
            uint64_t len = jk_rd_fixed(&all, 4);
            if (all.bad || len >= 0xfffffff0u || len > (uint64_t)(all.end - all.p)) {
                free(rows.v);
                return jk_diag_set(diag, JK_ERR_PARSE, ".debug_line+%zu: bad unit length", offset);
            }
            jk_rd unit = {all.p, all.p + len, false};
            jk_err err = jk_unit(&unit, &rows, diag, offset);
            if (err != JK_OK) {
                free(rows.v);
                return err;
            }
            all.p += len;
        }
    }
    if (rows.n)
        qsort(rows.v, rows.n, sizeof *rows.v, jk_row_cmp);
    *out = rows.v;
    *count = rows.n;
    return JK_OK;
}
