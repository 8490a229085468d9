/*
 * blob.c — program-blob container parsing and Graypaper operand decoding.
 *
 * Everything here works on the raw blob and follows Appendix A literally: it is
 * the reference the pre-decoder (program.c), the disassembler and the tests
 * share. Bytes past the end of the code read as zero, bitmask positions past
 * the end of the code read as set.
 */
#include "internal.h"

#include <string.h>

static const jk_pvm_opinfo jk_pvm_opinfo_table[] = {
#define JK_OPINFO(op, nm, fmt, term) {#nm, op, JK_PVM_ARGS_##fmt, term},
    JK_PVM_OPCODE_TABLE(JK_OPINFO)
#undef JK_OPINFO
};

static const jk_pvm_opinfo *jk_pvm_opinfo_by_opcode[256];

static void jk_pvm_opinfo_index(void)
{
    /* Idempotent and race-benign: every thread writes the same pointers. */
    if (jk_pvm_opinfo_by_opcode[0])
        return;
    for (size_t i = 1; i < sizeof jk_pvm_opinfo_table / sizeof jk_pvm_opinfo_table[0]; i++)
        jk_pvm_opinfo_by_opcode[jk_pvm_opinfo_table[i].opcode] = &jk_pvm_opinfo_table[i];
    jk_pvm_opinfo_by_opcode[0] = &jk_pvm_opinfo_table[0];
}

const jk_pvm_opinfo *jk_pvm_opinfo_get(uint8_t opcode)
{
    jk_pvm_opinfo_index();
    return jk_pvm_opinfo_by_opcode[opcode];
}

const jk_pvm_opinfo *jk_pvm_opinfo_find(const char *name)
{
    for (size_t i = 0; i < sizeof jk_pvm_opinfo_table / sizeof jk_pvm_opinfo_table[0]; i++)
        if (strcmp(jk_pvm_opinfo_table[i].name, name) == 0)
            return &jk_pvm_opinfo_table[i];
    return NULL;
}

/* ---- JAM variable-length naturals (Graypaper C.6) ---- */

size_t jk_pvm_encode_natural(uint64_t value, uint8_t out[9])
{
    for (unsigned l = 0; l < 8; l++) {
        if (value < (UINT64_C(1) << (7 * (l + 1)))) {
            out[0] = (uint8_t)(256u - (256u >> l) + (value >> (8 * l)));
            for (unsigned i = 0; i < l; i++)
                out[1 + i] = (uint8_t)(value >> (8 * i));
            return l + 1;
        }
    }
    out[0] = 0xFF;
    for (unsigned i = 0; i < 8; i++)
        out[1 + i] = (uint8_t)(value >> (8 * i));
    return 9;
}

size_t jk_pvm_decode_natural(const uint8_t *bytes, size_t len, uint64_t *value)
{
    if (len == 0)
        return 0;
    uint8_t first = bytes[0];
    unsigned l = 0;
    while (l < 8 && (first & (0x80u >> l)))
        l++;
    if (len < 1 + (size_t)l)
        return 0;
    uint64_t rest = 0;
    for (unsigned i = 0; i < l; i++)
        rest |= (uint64_t)bytes[1 + i] << (8 * i);
    if (l == 8) {
        *value = rest;
    } else {
        uint64_t high = first & ((0xFFu >> l) >> 1);
        *value = (high << (8 * l)) | rest;
    }
    return 1 + l;
}

/* ---- container ---- */

jk_err jk_pvm_blob_parse(const uint8_t *bytes, size_t len, jk_pvm_blob *out,
                         jk_diag *diag)
{
    size_t pos = 0, used;
    uint64_t jump_count, code_len;
    uint8_t enc[9];

    memset(out, 0, sizeof *out);
    used = jk_pvm_decode_natural(bytes, len, &jump_count);
    if (used == 0)
        return jk_diag_set(diag, JK_ERR_PVM_BLOB, "blob truncated in jump-table length");
    if (jk_pvm_encode_natural(jump_count, enc) != used)
        return jk_diag_set(diag, JK_ERR_PVM_BLOB, "jump-table length is not canonically encoded");
    pos += used;
    if (pos >= len)
        return jk_diag_set(diag, JK_ERR_PVM_BLOB, "blob truncated before jump-table entry size");
    uint8_t z = bytes[pos++];
    if (z > 4)
        return jk_diag_set(diag, JK_ERR_PVM_BLOB, "jump-table entry size %u is above 4", z);
    used = jk_pvm_decode_natural(bytes + pos, len - pos, &code_len);
    if (used == 0)
        return jk_diag_set(diag, JK_ERR_PVM_BLOB, "blob truncated in code length");
    if (jk_pvm_encode_natural(code_len, enc) != used)
        return jk_diag_set(diag, JK_ERR_PVM_BLOB, "code length is not canonically encoded");
    pos += used;
    if (jump_count > JK_PVM_MAX_JUMP_TABLE)
        return jk_diag_set(diag, JK_ERR_PVM_TOO_LARGE, "jump table has %llu entries (limit %u)",
                           (unsigned long long)jump_count, JK_PVM_MAX_JUMP_TABLE);
    if (code_len > JK_PVM_MAX_CODE_LEN)
        return jk_diag_set(diag, JK_ERR_PVM_TOO_LARGE, "code is %llu bytes (limit %u)",
                           (unsigned long long)code_len, JK_PVM_MAX_CODE_LEN);
    size_t table_bytes = (size_t)jump_count * z;
    size_t mask_bytes = ((size_t)code_len + 7) / 8;
    size_t remaining = len - pos;
    if (remaining < table_bytes)
        return jk_diag_set(diag, JK_ERR_PVM_BLOB, "blob truncated in jump table (%zu of %zu bytes)",
                           remaining, table_bytes);
    remaining -= table_bytes;
    if (remaining < code_len)
        return jk_diag_set(diag, JK_ERR_PVM_BLOB, "blob truncated in code (%zu of %llu bytes)",
                           remaining, (unsigned long long)code_len);
    remaining -= code_len;
    if (remaining < mask_bytes)
        return jk_diag_set(diag, JK_ERR_PVM_BLOB, "blob truncated in opcode bitmask (%zu of %zu bytes)",
                           remaining, mask_bytes);
    if (remaining > mask_bytes)
        return jk_diag_set(diag, JK_ERR_PVM_BLOB, "%zu unexpected bytes after the opcode bitmask",
                           remaining - mask_bytes);
    out->jump_table = bytes + pos;
    out->code = bytes + pos + table_bytes;
    out->bitmask = out->code + code_len;
    out->code_len = (uint32_t)code_len;
    out->jump_count = (uint32_t)jump_count;
    out->jump_entry_size = z;
    return JK_OK;
}

uint32_t jk_pvm_blob_jump_entry(const jk_pvm_blob *blob, uint32_t i)
{
    const uint8_t *p = blob->jump_table + (size_t)i * blob->jump_entry_size;
    uint32_t v = 0;
    for (unsigned b = 0; b < blob->jump_entry_size; b++)
        v |= (uint32_t)p[b] << (8 * b);
    return v;
}

bool jk_pvm_blob_is_insn_start(const jk_pvm_blob *blob, uint32_t pc)
{
    if (pc >= blob->code_len)
        return true;
    return (blob->bitmask[pc >> 3] >> (pc & 7)) & 1;
}

uint32_t jk_pvm_blob_skip(const jk_pvm_blob *blob, uint32_t pc)
{
    uint32_t j = 0;
    while (j < JK_PVM_MAX_SKIP && !jk_pvm_blob_is_insn_start(blob, pc + 1 + j))
        j++;
    return j;
}

/* ---- operands (Graypaper A.5) ---- */

static uint8_t jk_code_at(const jk_pvm_blob *blob, uint64_t i)
{
    return i < blob->code_len ? blob->code[i] : 0;
}

/* X_n(E_n^-1(code[at..at+n))): n little-endian bytes, sign-extended. */
static uint64_t jk_read_signed(const jk_pvm_blob *blob, uint64_t at, unsigned n)
{
    uint64_t v = 0;
    if (n == 0)
        return 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)jk_code_at(blob, at + i) << (8 * i);
    return jk_pvm_sign_extend(v, n);
}

static unsigned jk_min4(uint64_t n) { return n < 4 ? (unsigned)n : 4; }
static uint8_t jk_reg(unsigned nibble) { return (uint8_t)(nibble > 12 ? 12 : nibble); }

void jk_pvm_decode_operands(const jk_pvm_blob *blob, uint32_t pc,
                            jk_pvm_operands *out)
{
    const jk_pvm_opinfo *info = jk_pvm_opinfo_get(jk_code_at(blob, pc));
    uint32_t skip = jk_pvm_blob_skip(blob, pc);
    uint8_t b1 = jk_code_at(blob, (uint64_t)pc + 1);
    uint8_t b2 = jk_code_at(blob, (uint64_t)pc + 2);
    unsigned lx, ly;

    memset(out, 0, sizeof *out);
    out->opcode = jk_code_at(blob, pc);
    out->skip = skip;
    out->format = info ? info->format : JK_PVM_ARGS_NONE;
    switch (out->format) {
    case JK_PVM_ARGS_NONE:
        break;
    case JK_PVM_ARGS_IMM:
        out->imm_x = jk_read_signed(blob, (uint64_t)pc + 1, jk_min4(skip));
        break;
    case JK_PVM_ARGS_REG_IMM64:
        out->ra = jk_reg(b1 & 15);
        for (unsigned i = 0; i < 8; i++)
            out->imm_x |= (uint64_t)jk_code_at(blob, (uint64_t)pc + 2 + i) << (8 * i);
        break;
    case JK_PVM_ARGS_IMM_IMM:
        lx = jk_min4(b1 & 7);
        ly = skip > lx + 1 ? jk_min4(skip - lx - 1) : 0;
        out->imm_x = jk_read_signed(blob, (uint64_t)pc + 2, lx);
        out->imm_y = jk_read_signed(blob, (uint64_t)pc + 2 + lx, ly);
        break;
    case JK_PVM_ARGS_OFFSET:
        out->imm_x = pc + jk_read_signed(blob, (uint64_t)pc + 1, jk_min4(skip));
        break;
    case JK_PVM_ARGS_REG_IMM:
        out->ra = jk_reg(b1 & 15);
        out->imm_x = jk_read_signed(blob, (uint64_t)pc + 2, skip > 1 ? jk_min4(skip - 1) : 0);
        break;
    case JK_PVM_ARGS_REG_IMM_IMM:
    case JK_PVM_ARGS_REG_IMM_OFFSET:
        out->ra = jk_reg(b1 & 15);
        lx = jk_min4((b1 >> 4) & 7);
        ly = skip > lx + 1 ? jk_min4(skip - lx - 1) : 0;
        out->imm_x = jk_read_signed(blob, (uint64_t)pc + 2, lx);
        out->imm_y = jk_read_signed(blob, (uint64_t)pc + 2 + lx, ly);
        if (out->format == JK_PVM_ARGS_REG_IMM_OFFSET)
            out->imm_y += pc;
        break;
    case JK_PVM_ARGS_REG_REG:
        out->rd = jk_reg(b1 & 15);
        out->ra = jk_reg(b1 >> 4);
        break;
    case JK_PVM_ARGS_REG_REG_IMM:
    case JK_PVM_ARGS_REG_REG_OFFSET:
        out->ra = jk_reg(b1 & 15);
        out->rb = jk_reg(b1 >> 4);
        out->imm_x = jk_read_signed(blob, (uint64_t)pc + 2, skip > 1 ? jk_min4(skip - 1) : 0);
        if (out->format == JK_PVM_ARGS_REG_REG_OFFSET)
            out->imm_x += pc;
        break;
    case JK_PVM_ARGS_REG_REG_IMM_IMM:
        out->ra = jk_reg(b1 & 15);
        out->rb = jk_reg(b1 >> 4);
        lx = jk_min4(b2 & 7);
        ly = skip > lx + 2 ? jk_min4(skip - lx - 2) : 0;
        out->imm_x = jk_read_signed(blob, (uint64_t)pc + 3, lx);
        out->imm_y = jk_read_signed(blob, (uint64_t)pc + 3 + lx, ly);
        break;
    case JK_PVM_ARGS_REG_REG_REG:
        out->ra = jk_reg(b1 & 15);
        out->rb = jk_reg(b1 >> 4);
        out->rd = jk_reg(b2 & 15);
        break;
    }
}
