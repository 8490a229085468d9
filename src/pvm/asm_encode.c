/*
 * asm_encode.c — encode one instruction from its operands: the inverse of
 * jk_pvm_decode_operands() (blob.c) for canonical encodings.
 *
 * Layouts written here (Graypaper A.5; l_X, l_Y are immediate lengths, lo/hi
 * the low and high nibble of a byte):
 *   NONE             op
 *   IMM              op  x[l_X]
 *   REG_IMM64        op  ra  x[8]
 *   IMM_IMM          op  l_X  x[l_X]  y[l_Y]
 *   OFFSET           op  off[l]
 *   REG_IMM          op  ra  x[l_X]
 *   REG_IMM_IMM      op  ra|l_X<<4  x[l_X]  y[l_Y]
 *   REG_IMM_OFFSET   op  ra|l_X<<4  x[l_X]  off[l]
 *   REG_REG          op  rd|ra<<4
 *   REG_REG_IMM      op  ra|rb<<4  x[l_X]
 *   REG_REG_OFFSET   op  ra|rb<<4  off[l]
 *   REG_REG_IMM_IMM  op  ra|rb<<4  l_X  x[l_X]  y[l_Y]
 *   REG_REG_REG      op  ra|rb<<4  rd
 * The last field's length is implied by skip (the distance to the next
 * instruction start), which is why an instruction decodes back to these
 * operands only when the next byte starts an instruction or ends the code.
 */
#include "asm_internal.h"

unsigned jk_pvm_asm_imm_len(uint64_t v)
{
    for (unsigned n = 0; n <= 4; n++) {
        uint64_t low = n == 0 ? 0 : v & ((UINT64_C(1) << (8 * n)) - 1);
        if (jk_pvm_sign_extend(low, n) == v)
            return n;
    }
    return 5;
}

bool jk_pvm_asm_target_of(const jk_pvm_operands *ops, uint64_t *target)
{
    switch (ops->format) {
    case JK_PVM_ARGS_OFFSET:
    case JK_PVM_ARGS_REG_REG_OFFSET:
        *target = ops->imm_x;
        return true;
    case JK_PVM_ARGS_REG_IMM_OFFSET:
        *target = ops->imm_y;
        return true;
    default:
        return false;
    }
}

const char *jk_pvm_asm_signature(jk_pvm_argfmt fmt)
{
    switch (fmt) {
    case JK_PVM_ARGS_NONE: return "";
    case JK_PVM_ARGS_IMM: return "I";
    case JK_PVM_ARGS_REG_IMM64: return "RW";
    case JK_PVM_ARGS_IMM_IMM: return "II";
    case JK_PVM_ARGS_OFFSET: return "T";
    case JK_PVM_ARGS_REG_IMM: return "RI";
    case JK_PVM_ARGS_REG_IMM_IMM: return "RII";
    case JK_PVM_ARGS_REG_IMM_OFFSET: return "RIT";
    case JK_PVM_ARGS_REG_REG: return "RR";
    case JK_PVM_ARGS_REG_REG_IMM: return "RRI";
    case JK_PVM_ARGS_REG_REG_OFFSET: return "RRT";
    case JK_PVM_ARGS_REG_REG_IMM_IMM: return "RRII";
    case JK_PVM_ARGS_REG_REG_REG: return "RRR";
    }
    return "";
}

static size_t jk_put_le(uint8_t *out, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        out[i] = (uint8_t)(v >> (8 * i));
    return n;
}

static uint8_t jk_regs(uint8_t lo, uint8_t hi)
{
    return (uint8_t)((lo & 15) | (hi & 15) << 4);
}

size_t jk_pvm_asm_encode(const jk_pvm_asm_insn *in, uint32_t pc,
                         unsigned min_offset_len,
                         uint8_t out[JK_PVM_ASM_MAX_INSN])
{
    const jk_pvm_opinfo *info = jk_pvm_opinfo_get(in->opcode);
    if (!info)
        return 0;
    unsigned lx = jk_pvm_asm_imm_len(in->imm_x);
    unsigned ly = jk_pvm_asm_imm_len(in->imm_y);
    unsigned lo = jk_pvm_asm_imm_len(in->target - pc);
    if (lo < min_offset_len)
        lo = min_offset_len;
    size_t n = 0;
    out[n++] = in->opcode;
    switch ((jk_pvm_argfmt)info->format) {
    case JK_PVM_ARGS_NONE:
        break;
    case JK_PVM_ARGS_IMM:
        if (lx > 4)
            return 0;
        n += jk_put_le(out + n, in->imm_x, lx);
        break;
    case JK_PVM_ARGS_REG_IMM64:
        out[n++] = jk_regs(in->ra, 0);
        n += jk_put_le(out + n, in->imm_x, 8);
        break;
    case JK_PVM_ARGS_IMM_IMM:
        if (lx > 4 || ly > 4)
            return 0;
        out[n++] = (uint8_t)lx;
        n += jk_put_le(out + n, in->imm_x, lx);
        n += jk_put_le(out + n, in->imm_y, ly);
        break;
    case JK_PVM_ARGS_OFFSET:
        if (lo > 4)
            return 0;
        n += jk_put_le(out + n, in->target - pc, lo);
        break;
    case JK_PVM_ARGS_REG_IMM:
        if (lx > 4)
            return 0;
        out[n++] = jk_regs(in->ra, 0);
        n += jk_put_le(out + n, in->imm_x, lx);
        break;
    case JK_PVM_ARGS_REG_IMM_IMM:
        if (lx > 4 || ly > 4)
            return 0;
        out[n++] = jk_regs(in->ra, (uint8_t)lx);
        n += jk_put_le(out + n, in->imm_x, lx);
        n += jk_put_le(out + n, in->imm_y, ly);
        break;
    case JK_PVM_ARGS_REG_IMM_OFFSET:
        if (lx > 4 || lo > 4)
            return 0;
        out[n++] = jk_regs(in->ra, (uint8_t)lx);
        n += jk_put_le(out + n, in->imm_x, lx);
        n += jk_put_le(out + n, in->target - pc, lo);
        break;
    case JK_PVM_ARGS_REG_REG:
        out[n++] = jk_regs(in->rd, in->ra);
        break;
    case JK_PVM_ARGS_REG_REG_IMM:
        if (lx > 4)
            return 0;
        out[n++] = jk_regs(in->ra, in->rb);
        n += jk_put_le(out + n, in->imm_x, lx);
        break;
    case JK_PVM_ARGS_REG_REG_OFFSET:
        if (lo > 4)
            return 0;
        out[n++] = jk_regs(in->ra, in->rb);
        n += jk_put_le(out + n, in->target - pc, lo);
        break;
    case JK_PVM_ARGS_REG_REG_IMM_IMM:
        if (lx > 4 || ly > 4)
            return 0;
        out[n++] = jk_regs(in->ra, in->rb);
        out[n++] = (uint8_t)lx;
        n += jk_put_le(out + n, in->imm_x, lx);
        n += jk_put_le(out + n, in->imm_y, ly);
        break;
    case JK_PVM_ARGS_REG_REG_REG:
        out[n++] = jk_regs(in->ra, in->rb);
        out[n++] = jk_regs(in->rd, 0);
        break;
    }
    return n;
}
