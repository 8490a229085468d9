/*
 * asm.c — the PVM text assembler: source text in, program blob out (syntax in
 * docs/asm.md). Operands are lexed by asm_lex.c, the program is laid out and
 * written by asm_layout.c, instructions are encoded by asm_encode.c.
 *
 * Three phases:
 *   1. Parse (here), line by line, into items (instructions, `.byte` runs,
 *      `.insn` runs), labels and jump-table entries. Labels may be used
 *      before they are defined; a label is bound to the index of the next
 *      item.
 *   2. Resolve (here): every referenced label must be defined, every
 *      jt(label) must name a label in the jump table. Immediates are final
 *      after this.
 *   3. Layout and output (asm_layout.c).
 *
 * Invariants: nothing is written to *out until the whole blob is built; all
 * memory is owned by the jk_asm context and released in one place.
 */
#include "asm_internal.h"

#include <stdlib.h>

#define JK_ASM_NAME_MAX 32    /* longest mnemonic/directive we look up */
#define JK_ASM_MAX_OPERANDS 5 /* instructions take at most 4 */

/* ---- small utilities ---- */

static int jk_qlen(size_t len)
{
    return (int)(len < 40 ? len : 40);
}

static bool jk_grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return true;
    size_t n = *cap ? *cap : 16;
    while (n < need) {
        if (n > SIZE_MAX / 2 / elem)
            return false;
        n *= 2;
    }
    void *q = realloc(*p, n * elem);
    if (!q)
        return false;
    *p = q;
    *cap = n;
    return true;
}

static uint32_t jk_hash(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

static bool jk_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static char jk_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static jk_err jk_nomem(jk_asm *a)
{
    return jk_diag_set(a->diag, JK_ERR_NOMEM, "out of memory");
}

static jk_err jk_bad_char(jk_asm *a, unsigned line, char c)
{
    if (c > ' ' && c < 127)
        return jk_diag_set(a->diag, JK_ERR_PVM_ASM, "line %u: unexpected character '%c'", line, c);
    return jk_diag_set(a->diag, JK_ERR_PVM_ASM, "line %u: unexpected byte 0x%02x", line,
                       (unsigned)(uint8_t)c);
}

/* ---- mnemonics ---- */

static void jk_mnemonics_init(jk_asm *a)
{
    for (unsigned op = 0; op < 256; op++) {
        const jk_pvm_opinfo *info = jk_pvm_opinfo_get((uint8_t)op);
        if (!info)
            continue;
        size_t slot = jk_hash(info->name, strlen(info->name)) & (JK_ASM_MNEMONIC_SLOTS - 1);
        while (a->mnemonics[slot])
            slot = (slot + 1) & (JK_ASM_MNEMONIC_SLOTS - 1);
        a->mnemonics[slot] = info;
    }
}

/* name is already lower case and shorter than JK_ASM_NAME_MAX. */
static const jk_pvm_opinfo *jk_mnemonic_find(const jk_asm *a, const char *name, size_t len)
{
    size_t slot = jk_hash(name, len) & (JK_ASM_MNEMONIC_SLOTS - 1);
    while (a->mnemonics[slot]) {
        const jk_pvm_opinfo *info = a->mnemonics[slot];
        if (strlen(info->name) == len && memcmp(info->name, name, len) == 0)
            return info;
        slot = (slot + 1) & (JK_ASM_MNEMONIC_SLOTS - 1);
    }
    return NULL;
}

/* ---- labels ---- */

static bool jk_label_rehash(jk_asm *a, size_t cap)
{
    uint32_t *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return false;
    for (size_t i = 0; i < a->n_labels; i++) {
        size_t s = a->labels[i].hash & (cap - 1);
        while (slots[s])
            s = (s + 1) & (cap - 1);
        slots[s] = (uint32_t)i + 1;
    }
    free(a->label_slots);
    a->label_slots = slots;
    a->cap_slots = cap;
    return true;
}

/* Find or create the label `name`; *idx gets its index. */
static jk_err jk_label_get(jk_asm *a, const char *name, size_t len, uint32_t *idx)
{
    uint32_t h = jk_hash(name, len);
    if (a->cap_slots) {
        size_t s = h & (a->cap_slots - 1);
        while (a->label_slots[s]) {
            jk_asm_label *l = &a->labels[a->label_slots[s] - 1];
            if (l->hash == h && l->len == len && memcmp(l->name, name, len) == 0) {
                *idx = a->label_slots[s] - 1;
                return JK_OK;
            }
            s = (s + 1) & (a->cap_slots - 1);
        }
    }
    if ((a->n_labels + 1) * 2 > a->cap_slots &&
        !jk_label_rehash(a, a->cap_slots ? a->cap_slots * 2 : 64))
        return jk_nomem(a);
    if (!jk_grow((void **)&a->labels, &a->cap_labels, a->n_labels + 1, sizeof *a->labels))
        return jk_nomem(a);
    jk_asm_label *l = &a->labels[a->n_labels];
    memset(l, 0, sizeof *l);
    l->name = name;
    l->len = (uint32_t)len;
    l->hash = h;
    l->item = JK_ASM_NONE;
    l->jt_index = JK_ASM_NONE;
    size_t s = h & (a->cap_slots - 1);
    while (a->label_slots[s])
        s = (s + 1) & (a->cap_slots - 1);
    a->label_slots[s] = (uint32_t)a->n_labels + 1;
    *idx = (uint32_t)a->n_labels++;
    return JK_OK;
}

static jk_err jk_label_use(jk_asm *a, const char *name, size_t len, unsigned line, uint32_t *idx)
{
    jk_err err = jk_label_get(a, name, len, idx);
    if (err == JK_OK && a->labels[*idx].use_line == 0)
        a->labels[*idx].use_line = line;
    return err;
}

static jk_err jk_label_define(jk_asm *a, const char *name, size_t len, unsigned line)
{
    if (jk_pvm_asm_is_register_name(name, len))
        return jk_diag_set(a->diag, JK_ERR_PVM_ASM,
                           "line %u: '%.*s' is a register name and cannot be a label", line,
                           jk_qlen(len), name);
    if (len > UINT32_MAX)
        return jk_diag_set(a->diag, JK_ERR_PVM_ASM, "line %u: label name too long", line);
    uint32_t idx;
    jk_err err = jk_label_get(a, name, len, &idx);
    if (err != JK_OK)
        return err;
    jk_asm_label *l = &a->labels[idx];
    if (l->def_line)
        return jk_diag_set(a->diag, JK_ERR_PVM_ASM,
                           "line %u: duplicate label '%.*s' (first defined on line %u)", line,
                           jk_qlen(len), name, l->def_line);
    l->def_line = line;
    l->item = (uint32_t)a->n_items;
    return JK_OK;
}

/* ---- items ---- */

static jk_err jk_item_add(jk_asm *a, unsigned line, uint64_t min_size, jk_asm_item **out)
{
    a->min_code += min_size;
    if (a->min_code > JK_PVM_MAX_CODE_LEN)
        return jk_diag_set(a->diag, JK_ERR_PVM_ASM, "line %u: code exceeds the limit of %u bytes",
                           line, JK_PVM_MAX_CODE_LEN);
    if (!jk_grow((void **)&a->items, &a->cap_items, a->n_items + 1, sizeof *a->items))
        return jk_nomem(a);
    jk_asm_item *it = &a->items[a->n_items++];
    memset(it, 0, sizeof *it);
    it->line = line;
    it->target_label = JK_ASM_NONE;
    it->jt_label[0] = it->jt_label[1] = JK_ASM_NONE;
    *out = it;
    return JK_OK;
}

/* ---- operand lists ---- */

/* Iterates over the comma-separated operands of [p, end). */
typedef struct jk_operand_iter {
    const char *p, *end;
    bool done;
} jk_operand_iter;

static void jk_operands_begin(jk_operand_iter *it, const char *p, const char *end)
{
    while (p < end && jk_is_space(*p))
        p++;
    it->p = p;
    it->end = end;
    it->done = p == end;
}

/* 1 with *op filled, 0 at the end, -1 on error (diag set). */
static int jk_operands_next(jk_asm *a, jk_operand_iter *it, unsigned line, jk_asm_operand *op,
                            jk_err *err)
{
    if (it->done)
        return 0;
    const char *s = it->p, *e = s;
    while (e < it->end && *e != ',')
        e++;
    it->done = e == it->end;
    it->p = e < it->end ? e + 1 : e;
    const char *te = e;
    while (s < te && jk_is_space(*s))
        s++;
    while (te > s && jk_is_space(te[-1]))
        te--;
    *err = jk_pvm_asm_parse_operand(s, (size_t)(te - s), line, op, a->diag);
    return *err == JK_OK ? 1 : -1;
}

/* ---- instructions ---- */

static const char *jk_usage_of(jk_pvm_argfmt fmt)
{
    switch (fmt) {
    case JK_PVM_ARGS_NONE: return "no operands";
    case JK_PVM_ARGS_IMM: return "imm";
    case JK_PVM_ARGS_REG_IMM64: return "ra, imm64";
    case JK_PVM_ARGS_IMM_IMM: return "imm_x, imm_y";
    case JK_PVM_ARGS_OFFSET: return "target";
    case JK_PVM_ARGS_REG_IMM: return "ra, imm";
    case JK_PVM_ARGS_REG_IMM_IMM: return "ra, imm_x, imm_y";
    case JK_PVM_ARGS_REG_IMM_OFFSET: return "ra, imm, target";
    case JK_PVM_ARGS_REG_REG: return "rd, ra";
    case JK_PVM_ARGS_REG_REG_IMM: return "ra, rb, imm";
    case JK_PVM_ARGS_REG_REG_OFFSET: return "ra, rb, target";
    case JK_PVM_ARGS_REG_REG_IMM_IMM: return "ra, rb, imm_x, imm_y";
    case JK_PVM_ARGS_REG_REG_REG: return "rd, ra, rb";
    }
    return "";
}

static jk_err jk_parse_insn(jk_asm *a, const char *name, size_t name_len, const char *rest,
                            const char *end, unsigned line)
{
    char lower[JK_ASM_NAME_MAX];
    const jk_pvm_opinfo *info = NULL;
    if (name_len < JK_ASM_NAME_MAX) {
        for (size_t i = 0; i < name_len; i++)
            lower[i] = jk_lower(name[i]);
        lower[name_len] = 0;
        info = jk_mnemonic_find(a, lower, name_len);
    }
    if (!info)
        return jk_diag_set(a->diag, JK_ERR_PVM_ASM, "line %u: unknown mnemonic '%.*s'", line,
                           jk_qlen(name_len), name);

    jk_asm_operand ops[JK_ASM_MAX_OPERANDS];
    size_t count = 0;
    jk_operand_iter iter;
    jk_err err = JK_OK;
    jk_operands_begin(&iter, rest, end);
    for (;;) {
        jk_asm_operand op;
        int r = jk_operands_next(a, &iter, line, &op, &err);
        if (r < 0)
            return err;
        if (r == 0)
            break;
        if (count < JK_ASM_MAX_OPERANDS)
            ops[count] = op;
        count++;
    }
    const char *sig = jk_pvm_asm_signature((jk_pvm_argfmt)info->format);
    size_t want = strlen(sig);
    if (count != want)
        return jk_diag_set(a->diag, JK_ERR_PVM_ASM,
                           "line %u: %s takes %zu operand%s (%s), got %zu", line, info->name, want,
                           want == 1 ? "" : "s", jk_usage_of((jk_pvm_argfmt)info->format), count);

    jk_asm_item *it;
    err = jk_item_add(a, line, 1, &it);
    if (err != JK_OK)
        return err;
    it->kind = JK_ITEM_INSN;
    it->format = info->format;
    it->in.opcode = info->opcode;
    it->has_offset = strchr(sig, 'T') != NULL;

    uint8_t regs[3] = {0, 0, 0};
    unsigned n_regs = 0, n_imms = 0;
    for (size_t k = 0; k < count; k++) {
        const jk_asm_operand *op = &ops[k];
        switch (sig[k]) {
        case 'R':
            if (op->kind != JK_ASM_OP_REG)
                return jk_diag_set(a->diag, JK_ERR_PVM_ASM,
                                   "line %u: operand %zu of %s must be a register, got '%.*s'",
                                   line, k + 1, info->name, jk_qlen(op->text_len), op->text);
            regs[n_regs++] = (uint8_t)op->value;
            break;
        case 'I':
        case 'W': {
            uint64_t v = 0;
            if (op->kind == JK_ASM_OP_JT) {
                err = jk_label_use(a, op->name, op->name_len, line, &it->jt_label[n_imms]);
                if (err != JK_OK)
                    return err;
            } else if (op->kind != JK_ASM_OP_NUM) {
                return jk_diag_set(a->diag, JK_ERR_PVM_ASM,
                                   "line %u: operand %zu of %s must be an immediate, got '%.*s'",
                                   line, k + 1, info->name, jk_qlen(op->text_len), op->text);
            } else if (sig[k] == 'W') {
                v = op->value;
            } else if (!jk_pvm_asm_imm32_value(op, &v)) {
                return jk_diag_set(a->diag, JK_ERR_PVM_ASM,
                                   "line %u: immediate '%.*s' out of range (must be a "
                                   "sign-extended 32-bit value)",
                                   line, jk_qlen(op->text_len), op->text);
            }
            if (n_imms++ == 0)
                it->in.imm_x = v;
            else
                it->in.imm_y = v;
            break;
        }
        case 'T':
            if (op->kind == JK_ASM_OP_LABEL) {
                err = jk_label_use(a, op->name, op->name_len, line, &it->target_label);
                if (err != JK_OK)
                    return err;
            } else if (op->kind == JK_ASM_OP_NUM) {
                it->in.target = op->value;
            } else {
                return jk_diag_set(a->diag, JK_ERR_PVM_ASM,
                                   "line %u: operand %zu of %s must be a label or a pc, got '%.*s'",
                                   line, k + 1, info->name, jk_qlen(op->text_len), op->text);
            }
            break;
        }
    }
    if (info->format == JK_PVM_ARGS_REG_REG || info->format == JK_PVM_ARGS_REG_REG_REG) {
        it->in.rd = regs[0];
        it->in.ra = regs[1];
        it->in.rb = regs[2];
    } else {
        it->in.ra = regs[0];
        it->in.rb = regs[1];
    }
    return JK_OK;
}

/* ---- directives ---- */

/* Parse exactly one small number operand of a directive into [0, max]. */
static jk_err jk_directive_value(jk_asm *a, const char *dname, const char *rest, const char *end,
                                 unsigned line, uint64_t max, uint64_t *value)
{
    jk_operand_iter iter;
    jk_asm_operand op;
    jk_err err = JK_OK;
    size_t count = 0;
    jk_operands_begin(&iter, rest, end);
    for (;;) {
        int r = jk_operands_next(a, &iter, line, &op, &err);
        if (r < 0)
            return err;
        if (r == 0)
            break;
        if (count++ == 0) {
            if (op.kind != JK_ASM_OP_NUM || op.neg || op.value > max)
                return jk_diag_set(a->diag, JK_ERR_PVM_ASM,
                                   "line %u: %s needs a number from 0 to %llu, got '%.*s'", line,
                                   dname, (unsigned long long)max, jk_qlen(op.text_len), op.text);
            *value = op.value;
        }
    }
    if (count != 1)
        return jk_diag_set(a->diag, JK_ERR_PVM_ASM, "line %u: %s takes 1 operand, got %zu", line,
                           dname, count);
    return JK_OK;
}

static jk_err jk_directive_bytes(jk_asm *a, bool insn, const char *rest, const char *end,
                                 unsigned line)
{
    jk_operand_iter iter;
    jk_asm_operand op;
    jk_err err = JK_OK;
    size_t start = a->n_raw;
    jk_operands_begin(&iter, rest, end);
    for (;;) {
        int r = jk_operands_next(a, &iter, line, &op, &err);
        if (r < 0)
            return err;
        if (r == 0)
            break;
        if (op.kind != JK_ASM_OP_NUM || op.neg || op.value > 255)
            return jk_diag_set(a->diag, JK_ERR_PVM_ASM,
                               "line %u: %s needs byte values from 0 to 255, got '%.*s'", line,
                               insn ? ".insn" : ".byte", jk_qlen(op.text_len), op.text);
        if (!jk_grow((void **)&a->raw, &a->cap_raw, a->n_raw + 1, 1))
            return jk_nomem(a);
        a->raw[a->n_raw++] = (uint8_t)op.value;
    }
    size_t n = a->n_raw - start;
    if (n == 0)
        return jk_diag_set(a->diag, JK_ERR_PVM_ASM, "line %u: %s needs at least one byte", line,
                           insn ? ".insn" : ".byte");
    jk_asm_item *it;
    err = jk_item_add(a, line, n, &it);
    if (err != JK_OK)
        return err;
    it->kind = insn ? JK_ITEM_RAW_INSN : JK_ITEM_BYTES;
    it->raw_off = (uint32_t)start;
    it->raw_len = (uint32_t)n;
    return JK_OK;
}

static jk_err jk_directive_jump_table(jk_asm *a, const char *rest, const char *end, unsigned line)
{
    jk_operand_iter iter;
    jk_asm_operand op;
    jk_err err = JK_OK;
    size_t before = a->n_jt;
    jk_operands_begin(&iter, rest, end);
    for (;;) {
        int r = jk_operands_next(a, &iter, line, &op, &err);
        if (r < 0)
            return err;
        if (r == 0)
            break;
        if (a->n_jt >= JK_PVM_MAX_JUMP_TABLE)
            return jk_diag_set(a->diag, JK_ERR_PVM_ASM,
                               "line %u: jump table exceeds the limit of %u entries", line,
                               JK_PVM_MAX_JUMP_TABLE);
        if (!jk_grow((void **)&a->jt, &a->cap_jt, a->n_jt + 1, sizeof *a->jt))
            return jk_nomem(a);
        jk_asm_jentry *e = &a->jt[a->n_jt];
        e->line = line;
        e->label = JK_ASM_NONE;
        e->value = 0;
        if (op.kind == JK_ASM_OP_LABEL) {
            err = jk_label_use(a, op.name, op.name_len, line, &e->label);
            if (err != JK_OK)
                return err;
            if (a->labels[e->label].jt_index == JK_ASM_NONE)
                a->labels[e->label].jt_index = (uint32_t)a->n_jt;
        } else if (op.kind == JK_ASM_OP_NUM && !op.neg && op.value <= UINT32_MAX) {
            e->value = op.value;
        } else {
            return jk_diag_set(a->diag, JK_ERR_PVM_ASM,
                               "line %u: jump-table entry must be a label or a number from 0 to "
                               "0xFFFFFFFF, got '%.*s'",
                               line, jk_qlen(op.text_len), op.text);
        }
        a->n_jt++;
    }
    if (a->n_jt == before)
        return jk_diag_set(a->diag, JK_ERR_PVM_ASM, "line %u: .jump_table needs at least one entry",
                           line);
    return JK_OK;
}

static jk_err jk_parse_directive(jk_asm *a, const char *name, size_t len, const char *rest,
                                 const char *end, unsigned line)
{
    char lower[JK_ASM_NAME_MAX];
    if (len >= JK_ASM_NAME_MAX)
        goto unknown;
    for (size_t i = 0; i < len; i++)
        lower[i] = jk_lower(name[i]);
    lower[len] = 0;

    if (!strcmp(lower, ".byte") || !strcmp(lower, ".insn"))
        return jk_directive_bytes(a, lower[1] == 'i', rest, end, line);
    if (!strcmp(lower, ".jump_table"))
        return jk_directive_jump_table(a, rest, end, line);
    if (!strcmp(lower, ".jump_entry_size") || !strcmp(lower, ".bitmask_tail")) {
        bool is_z = lower[1] == 'j';
        int *slot = is_z ? &a->z : &a->tail;
        unsigned *slot_line = is_z ? &a->z_line : &a->tail_line;
        uint64_t v = 0;
        if (*slot >= 0)
            return jk_diag_set(a->diag, JK_ERR_PVM_ASM, "line %u: %s given twice (also on line %u)",
                               line, lower, *slot_line);
        jk_err err = jk_directive_value(a, lower, rest, end, line, is_z ? 4 : 255, &v);
        if (err != JK_OK)
            return err;
        *slot = (int)v;
        *slot_line = line;
        return JK_OK;
    }
unknown:
    return jk_diag_set(a->diag, JK_ERR_PVM_ASM, "line %u: unknown directive '%.*s'", line,
                       jk_qlen(len), name);
}

/* ---- lines ---- */

static jk_err jk_parse_line(jk_asm *a, const char *p, const char *end, unsigned line)
{
    for (const char *q = p; q < end; q++) {
        if (*q == ';' || *q == '#') {
            end = q;
            break;
        }
    }
    for (;;) {
        while (p < end && jk_is_space(*p))
            p++;
        if (p == end)
            return JK_OK;
        const char *tok = p;
        if (*p == '.') {
            p++;
            while (p < end && jk_pvm_asm_is_ident_char(*p))
                p++;
            return jk_parse_directive(a, tok, (size_t)(p - tok), p, end, line);
        }
        if (!jk_pvm_asm_is_ident_start(*p))
            return jk_bad_char(a, line, *p);
        while (p < end && jk_pvm_asm_is_ident_char(*p))
            p++;
        const char *tok_end = p;
        while (p < end && jk_is_space(*p))
            p++;
        if (p < end && *p == ':') {
            jk_err err = jk_label_define(a, tok, (size_t)(tok_end - tok), line);
            if (err != JK_OK)
                return err;
            p++;
            continue;
        }
        if (tok_end < end && !jk_is_space(*tok_end))
            return jk_bad_char(a, line, *tok_end);
        return jk_parse_insn(a, tok, (size_t)(tok_end - tok), tok_end, end, line);
    }
}

static jk_err jk_parse(jk_asm *a, const char *src, size_t len)
{
    unsigned line = 1;
    size_t pos = 0;
    while (pos < len) {
        const char *nl = memchr(src + pos, '\n', len - pos);
        size_t stop = nl ? (size_t)(nl - src) : len;
        jk_err err = jk_parse_line(a, src + pos, src + stop, line);
        if (err != JK_OK)
            return err;
        a->last_line = line;
        pos = stop + 1;
        line++;
    }
    return JK_OK;
}

/* ---- resolution ---- */

static jk_err jk_resolve(jk_asm *a)
{
    const jk_asm_label *undefined = NULL;
    for (size_t i = 0; i < a->n_labels; i++) {
        const jk_asm_label *l = &a->labels[i];
        if (!l->def_line && (!undefined || l->use_line < undefined->use_line))
            undefined = l;
    }
    if (undefined)
        return jk_diag_set(a->diag, JK_ERR_PVM_ASM, "line %u: undefined label '%.*s'",
                           undefined->use_line, jk_qlen(undefined->len), undefined->name);

    uint8_t buf[JK_PVM_ASM_MAX_INSN];
    for (size_t i = 0; i < a->n_items; i++) {
        jk_asm_item *it = &a->items[i];
        if (it->kind != JK_ITEM_INSN)
            continue;
        for (int k = 0; k < 2; k++) {
            if (it->jt_label[k] == JK_ASM_NONE)
                continue;
            const jk_asm_label *l = &a->labels[it->jt_label[k]];
            if (l->jt_index == JK_ASM_NONE)
                return jk_diag_set(a->diag, JK_ERR_PVM_ASM,
                                   "line %u: jt(%.*s): the label is not in the jump table",
                                   it->line, jk_qlen(l->len), l->name);
            uint64_t v = 2 * ((uint64_t)l->jt_index + 1);
            if (k == 0)
                it->in.imm_x = v;
            else
                it->in.imm_y = v;
        }
        /* A jump may only land on a basic-block start: catch the classic
         * mistake (a loop label right after an ordinary instruction) here
         * rather than as a panic at run time. Raw bytes before the label
         * are the author's business. */
        if (it->target_label != JK_ASM_NONE) {
            const jk_asm_label *l = &a->labels[it->target_label];
            const jk_asm_item *prev = l->item > 0 ? &a->items[l->item - 1] : NULL;
            const jk_pvm_opinfo *info = prev && prev->kind == JK_ITEM_INSN ? jk_pvm_opinfo_get(prev->in.opcode) : NULL;
            if (info && !info->is_terminator)
                return jk_diag_set(a->diag, JK_ERR_PVM_ASM,
                                   "line %u: target '%.*s' does not start a basic block (it follows '%s' "
                                   "on line %u, which does not end one: put 'fallthrough' before the label)",
                                   it->line, jk_qlen(l->len), l->name, info->name, prev->line);
        }
        /* Size with a 0-byte offset: encode with the target at pc. */
        jk_pvm_asm_insn probe = it->in;
        probe.target = 0;
        size_t n = jk_pvm_asm_encode(&probe, 0, 0, buf);
        if (n == 0)
            return jk_diag_set(a->diag, JK_ERR_PVM_ASM, "line %u: cannot encode instruction",
                               it->line);
        it->base_size = (uint8_t)n;
    }
    return JK_OK;
}

jk_err jk_pvm_asm(const char *source, size_t source_len, uint8_t **out,
                  size_t *out_len, jk_diag *diag)
{
    jk_asm *a = calloc(1, sizeof *a);
    if (!a)
        return jk_diag_set(diag, JK_ERR_NOMEM, "out of memory");
    a->diag = diag;
    a->z = -1;
    a->tail = -1;
    jk_mnemonics_init(a);

    jk_err err = jk_parse(a, source ? source : "", source ? source_len : 0);
    if (err == JK_OK)
        err = jk_resolve(a);
    if (err == JK_OK)
        err = jk_pvm_asm_layout(a);
    if (err == JK_OK)
        err = jk_pvm_asm_emit(a, out, out_len);

    free(a->items);
    free(a->raw);
    free(a->labels);
    free(a->label_slots);
    free(a->jt);
    free(a->addr);
    free(a);
    return err;
}
