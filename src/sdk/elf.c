/*
 * elf.c — a strict reader for linked ELF64 little-endian RISC-V executables.
 *
 * The input is untrusted (a file named on the command line): every header,
 * offset, size, string and index is checked against the file before use, and
 * each refusal says what was wrong. Only what the linker needs is read:
 * section headers, the symbol table and SHT_RELA sections (kept by
 * `ld.lld --emit-relocs`).
 */
#include "linker.h"

#include <stdlib.h>
#include <string.h>

#define JK_EM_RISCV 243

static uint16_t jk_u16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t jk_u32(const uint8_t *p) { return (uint32_t)jk_u16(p) | (uint32_t)jk_u16(p + 2) << 16; }
static uint64_t jk_u64(const uint8_t *p) { return (uint64_t)jk_u32(p) | (uint64_t)jk_u32(p + 4) << 32; }

/* A NUL-terminated string at offset `at` inside [base, base+len), or NULL. */
static const char *jk_str_at(const uint8_t *base, uint64_t len, uint64_t at)
{
    if (at >= len)
        return NULL;
    const void *nul = memchr(base + at, 0, (size_t)(len - at));
    return nul ? (const char *)base + at : NULL;
}

static bool jk_range_ok(size_t file_len, uint64_t off, uint64_t size)
{
    return off <= file_len && size <= file_len - off;
}

void jk_sdk_elf_free(jk_elf *elf)
{
    free(elf->sections);
    free(elf->symbols);
    free(elf->relocs);
    memset(elf, 0, sizeof *elf);
}

static int jk_reloc_cmp(const void *a, const void *b)
{
    const jk_elf_reloc *x = a, *y = b;
    if (x->section != y->section)
        return x->section < y->section ? -1 : 1;
    if (x->offset != y->offset)
        return x->offset < y->offset ? -1 : 1;
    return x->type < y->type ? -1 : x->type > y->type;
}

jk_err jk_sdk_elf_parse(const uint8_t *bytes, size_t len, jk_elf *out, jk_diag *diag)
{
    memset(out, 0, sizeof *out);
    out->bytes = bytes;
    out->len = len;
    if (len < 64 || memcmp(bytes, "\177ELF", 4) != 0)
        return jk_diag_set(diag, JK_ERR_PARSE, "not an ELF file");
    if (bytes[4] != 2 || bytes[5] != 1)
        return jk_diag_set(diag, JK_ERR_PARSE, "not a 64-bit little-endian ELF");
    if (jk_u16(bytes + 18) != JK_EM_RISCV)
        return jk_diag_set(diag, JK_ERR_PARSE, "ELF machine %u is not RISC-V", jk_u16(bytes + 18));
    if (jk_u16(bytes + 16) != 2)
        return jk_diag_set(diag, JK_ERR_PARSE, "ELF is not a linked executable (ET_EXEC)");
    uint64_t shoff = jk_u64(bytes + 40);
    uint16_t shentsize = jk_u16(bytes + 58), shnum = jk_u16(bytes + 60), shstrndx = jk_u16(bytes + 62);
    if (shentsize != 64 || shnum == 0 || !jk_range_ok(len, shoff, (uint64_t)shnum * 64))
        return jk_diag_set(diag, JK_ERR_PARSE, "ELF section header table is malformed");
    if (shstrndx >= shnum)
        return jk_diag_set(diag, JK_ERR_PARSE, "ELF section-name table index out of range");

    out->sections = calloc(shnum, sizeof *out->sections);
    if (!out->sections)
        return JK_ERR_NOMEM;
    out->section_count = shnum;
    for (uint16_t i = 0; i < shnum; i++) {
        const uint8_t *h = bytes + shoff + (uint64_t)i * 64;
        jk_elf_section *s = &out->sections[i];
        s->type = jk_u32(h + 4);
        s->flags = jk_u64(h + 8);
        s->addr = jk_u64(h + 16);
        s->offset = jk_u64(h + 24);
        s->size = jk_u64(h + 32);
        s->link = jk_u32(h + 40);
        s->info = jk_u32(h + 44);
        s->entsize = jk_u64(h + 56);
        s->name = (const char *)(uintptr_t)jk_u32(h); /* resolved below */
        if (s->type == 0) {
            /* SHT_NULL: an inactive header whose other fields mean nothing
             * (ELF gABI); ignored, so no later stage lays it out. */
            s->flags = s->addr = s->offset = s->size = s->entsize = 0;
        } else if (s->type != JK_SHT_NOBITS) {
            if (!jk_range_ok(len, s->offset, s->size)) {
                jk_sdk_elf_free(out);
                return jk_diag_set(diag, JK_ERR_PARSE, "ELF section %u lies outside the file", i);
            }
            s->data = bytes + s->offset;
        }
    }
    const jk_elf_section *names = &out->sections[shstrndx];
    if (!names->data) {
        jk_sdk_elf_free(out);
        return jk_diag_set(diag, JK_ERR_PARSE, "ELF section-name table has no contents");
    }
    for (uint16_t i = 0; i < shnum; i++) {
        const char *n = jk_str_at(names->data, names->size, (uint32_t)(uintptr_t)out->sections[i].name);
        if (!n) {
            jk_sdk_elf_free(out);
            return jk_diag_set(diag, JK_ERR_PARSE, "ELF section %u has a bad name offset", i);
        }
        out->sections[i].name = n;
    }

    /* Symbol table (at most one). */
    for (uint16_t i = 0; i < shnum; i++) {
        const jk_elf_section *s = &out->sections[i];
        if (s->type != JK_SHT_SYMTAB)
            continue;
        if (out->symbols || s->entsize != 24 || s->size % 24 || s->link >= shnum ||
            out->sections[s->link].type != JK_SHT_STRTAB || !out->sections[s->link].data) {
            jk_sdk_elf_free(out);
            return jk_diag_set(diag, JK_ERR_PARSE, "ELF symbol table is malformed");
        }
        const jk_elf_section *strs = &out->sections[s->link];
        size_t n = (size_t)(s->size / 24);
        out->symbols = calloc(n ? n : 1, sizeof *out->symbols);
        if (!out->symbols) {
            jk_sdk_elf_free(out);
            return JK_ERR_NOMEM;
        }
        out->symbol_count = n;
        for (size_t k = 0; k < n; k++) {
            const uint8_t *e = s->data + k * 24;
            jk_elf_symbol *sym = &out->symbols[k];
            sym->name = jk_str_at(strs->data, strs->size, jk_u32(e));
            sym->info = e[4];
            sym->shndx = jk_u16(e + 6);
            sym->value = jk_u64(e + 8);
            sym->size = jk_u64(e + 16);
            if (!sym->name) {
                jk_sdk_elf_free(out);
                return jk_diag_set(diag, JK_ERR_PARSE, "ELF symbol %zu has a bad name offset", k);
            }
        }
    }

    /* Relocations, with S + A resolved. */
    size_t total = 0;
    for (uint16_t i = 0; i < shnum; i++) {
        const jk_elf_section *s = &out->sections[i];
        if (s->type != JK_SHT_RELA)
            continue;
        if (s->entsize != 24 || s->size % 24 || s->info >= shnum) {
            jk_diag_set(diag, JK_ERR_PARSE, "ELF relocation section '%s' is malformed", s->name);
            jk_sdk_elf_free(out);
            return JK_ERR_PARSE;
        }
        total += (size_t)(s->size / 24);
    }
    if (total) {
        if (!out->symbols) {
            jk_sdk_elf_free(out);
            return jk_diag_set(diag, JK_ERR_PARSE, "ELF has relocations but no symbol table");
        }
        out->relocs = calloc(total, sizeof *out->relocs);
        if (!out->relocs) {
            jk_sdk_elf_free(out);
            return JK_ERR_NOMEM;
        }
    }
    for (uint16_t i = 0; i < shnum; i++) {
        const jk_elf_section *s = &out->sections[i];
        if (s->type != JK_SHT_RELA)
            continue;
        for (size_t k = 0; k < s->size / 24; k++) {
            const uint8_t *e = s->data + k * 24;
            jk_elf_reloc *r = &out->relocs[out->reloc_count];
            uint64_t info = jk_u64(e + 8);
            r->section = s->info;
            r->offset = jk_u64(e);
            r->type = (uint32_t)info;
            r->sym = (uint32_t)(info >> 32);
            r->addend = (int64_t)jk_u64(e + 16);
            if (r->sym >= out->symbol_count) {
                jk_diag_set(diag, JK_ERR_PARSE, "relocation in '%s' names symbol %u of %zu", s->name, r->sym,
                            out->symbol_count);
                jk_sdk_elf_free(out);
                return JK_ERR_PARSE;
            }
            r->target = out->symbols[r->sym].value + (uint64_t)r->addend;
            out->reloc_count++;
        }
    }
    if (out->reloc_count)
        qsort(out->relocs, out->reloc_count, sizeof *out->relocs, jk_reloc_cmp);
    return JK_OK;
}

int jk_sdk_elf_section_at(const jk_elf *elf, uint64_t addr, uint64_t flags)
{
    for (size_t i = 0; i < elf->section_count; i++) {
        const jk_elf_section *s = &elf->sections[i];
        if ((s->flags & flags) == flags && (s->flags & JK_SHF_ALLOC) && addr >= s->addr &&
            addr - s->addr < s->size)
            return (int)i;
    }
    return -1;
}

const jk_elf_symbol *jk_sdk_elf_symbol_find(const jk_elf *elf, const char *name)
{
    for (size_t i = 0; i < elf->symbol_count; i++)
        if (!strcmp(elf->symbols[i].name, name))
            return &elf->symbols[i];
    return NULL;
}
