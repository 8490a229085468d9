/*
 * asm_lex.c — the assembler's operand lexer: registers, numbers, jt(label)
 * and label references (syntax in docs/asm.md).
 *
 * Input is untrusted text that need not be NUL-terminated and may hold any
 * byte: everything here works on (pointer, length) and never reads past it.
 */
#include "asm_internal.h"

#define JK_ASM_QUOTE_MAX 40 /* operand text quoted in messages, at most */

static int jk_quote_len(size_t len)
{
    return (int)(len < JK_ASM_QUOTE_MAX ? len : JK_ASM_QUOTE_MAX);
}

bool jk_pvm_asm_is_ident_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

bool jk_pvm_asm_is_ident_char(char c)
{
    return jk_pvm_asm_is_ident_start(c) || (c >= '0' && c <= '9') || c == '.';
}

static bool jk_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool jk_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

bool jk_pvm_asm_is_register_name(const char *name, size_t len)
{
    if (len < 2 || (name[0] != 'r' && name[0] != 'R'))
        return false;
    for (size_t i = 1; i < len; i++)
        if (!jk_is_digit(name[i]))
            return false;
    return true;
}

static int jk_hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool jk_pvm_asm_parse_number(const char *text, size_t len, uint64_t *value,
                         bool *neg, bool *overflow)
{
    size_t i = 0;
    uint64_t v = 0;
    *neg = false;
    *overflow = false;
    if (i < len && (text[i] == '-' || text[i] == '+')) {
        *neg = text[i] == '-';
        i++;
    }
    if (i + 1 < len && text[i] == '0' && (text[i + 1] == 'x' || text[i + 1] == 'X')) {
        i += 2;
        if (i == len)
            return false;
        for (; i < len; i++) {
            int d = jk_hex_value(text[i]);
            if (d < 0)
                return false;
            if (v >> 60)
                *overflow = true;
            v = v << 4 | (uint64_t)d;
        }
    } else {
        if (i == len)
            return false;
        for (; i < len; i++) {
            if (!jk_is_digit(text[i]))
                return false;
            uint64_t d = (uint64_t)(text[i] - '0');
            if (v > (UINT64_MAX - d) / 10)
                *overflow = true;
            v = v * 10 + d;
        }
    }
    if (*neg) {
        /* -2^63 is the most negative 64-bit value. */
        if (v > (UINT64_C(1) << 63))
            *overflow = true;
        v = 0 - v;
    }
    *value = v;
    return true;
}

bool jk_pvm_asm_imm32_value(const jk_asm_operand *op, uint64_t *value)
{
    uint64_t v = op->value;
    uint64_t ext = jk_pvm_sign_extend(v & UINT64_C(0xFFFFFFFF), 4);
    if (ext == v || (!op->neg && v <= UINT64_C(0xFFFFFFFF))) {
        *value = ext;
        return true;
    }
    return false;
}

jk_err jk_pvm_asm_parse_operand(const char *text, size_t len, unsigned line,
                            jk_asm_operand *out, jk_diag *diag)
{
    memset(out, 0, sizeof *out);
    out->text = text;
    out->text_len = len;
    if (len == 0)
        return jk_diag_set(diag, JK_ERR_PVM_ASM, "line %u: missing operand", line);

    if (jk_is_digit(text[0]) || text[0] == '-' || text[0] == '+') {
        bool overflow;
        if (!jk_pvm_asm_parse_number(text, len, &out->value, &out->neg, &overflow))
            return jk_diag_set(diag, JK_ERR_PVM_ASM, "line %u: bad number '%.*s'", line,
                               jk_quote_len(len), text);
        if (overflow)
            return jk_diag_set(diag, JK_ERR_PVM_ASM,
                               "line %u: number '%.*s' does not fit 64 bits", line,
                               jk_quote_len(len), text);
        out->kind = JK_ASM_OP_NUM;
        return JK_OK;
    }
    if (!jk_pvm_asm_is_ident_start(text[0]))
        return jk_diag_set(diag, JK_ERR_PVM_ASM, "line %u: bad operand '%.*s'", line,
                           jk_quote_len(len), text);

    size_t n = 1;
    while (n < len && jk_pvm_asm_is_ident_char(text[n]))
        n++;
    if (n == len) {
        if (jk_pvm_asm_is_register_name(text, len)) {
            uint64_t r = 0;
            for (size_t i = 1; i < len && r <= 12; i++)
                r = r * 10 + (uint64_t)(text[i] - '0');
            if (r > 12)
                return jk_diag_set(diag, JK_ERR_PVM_ASM,
                                   "line %u: register '%.*s' out of range (r0..r12)", line,
                                   jk_quote_len(len), text);
            out->kind = JK_ASM_OP_REG;
            out->value = r;
            return JK_OK;
        }
        out->kind = JK_ASM_OP_LABEL;
        out->name = text;
        out->name_len = len;
        return JK_OK;
    }

    /* jt ( label ) */
    size_t i = n;
    while (i < len && jk_is_space(text[i]))
        i++;
    if (n == 2 && (text[0] == 'j' || text[0] == 'J') && (text[1] == 't' || text[1] == 'T') &&
        i < len && text[i] == '(') {
        i++;
        while (i < len && jk_is_space(text[i]))
            i++;
        size_t start = i;
        if (i < len && jk_pvm_asm_is_ident_start(text[i]))
            while (i < len && jk_pvm_asm_is_ident_char(text[i]))
                i++;
        size_t name_len = i - start;
        while (i < len && jk_is_space(text[i]))
            i++;
        if (name_len == 0 || i + 1 != len || text[i] != ')' ||
            jk_pvm_asm_is_register_name(text + start, name_len))
            return jk_diag_set(diag, JK_ERR_PVM_ASM,
                               "line %u: bad operand '%.*s' (expected jt(label))", line,
                               jk_quote_len(len), text);
        out->kind = JK_ASM_OP_JT;
        out->name = text + start;
        out->name_len = name_len;
        return JK_OK;
    }
    return jk_diag_set(diag, JK_ERR_PVM_ASM, "line %u: bad operand '%.*s'", line,
                       jk_quote_len(len), text);
}
