/*
 * rv.c — decoding RV64IM instruction words (the linker translates the RV64EM
 * subset; register checks happen in translate.c).
 */
#include "linker.h"

#include <stdio.h>

static const char *const jk_rv_names[JK_RV_OP_COUNT] = {
    [JK_RV_INVALID] = "(invalid)", [JK_RV_LUI] = "lui", [JK_RV_AUIPC] = "auipc",
    [JK_RV_JAL] = "jal", [JK_RV_JALR] = "jalr", [JK_RV_BEQ] = "beq", [JK_RV_BNE] = "bne",
    [JK_RV_BLT] = "blt", [JK_RV_BGE] = "bge", [JK_RV_BLTU] = "bltu", [JK_RV_BGEU] = "bgeu",
    [JK_RV_LB] = "lb", [JK_RV_LH] = "lh", [JK_RV_LW] = "lw", [JK_RV_LD] = "ld",
    [JK_RV_LBU] = "lbu", [JK_RV_LHU] = "lhu", [JK_RV_LWU] = "lwu", [JK_RV_SB] = "sb",
    [JK_RV_SH] = "sh", [JK_RV_SW] = "sw", [JK_RV_SD] = "sd", [JK_RV_ADDI] = "addi",
    [JK_RV_SLTI] = "slti", [JK_RV_SLTIU] = "sltiu", [JK_RV_XORI] = "xori", [JK_RV_ORI] = "ori",
    [JK_RV_ANDI] = "andi", [JK_RV_SLLI] = "slli", [JK_RV_SRLI] = "srli", [JK_RV_SRAI] = "srai",
    [JK_RV_ADD] = "add", [JK_RV_SUB] = "sub", [JK_RV_SLL] = "sll", [JK_RV_SLT] = "slt",
    [JK_RV_SLTU] = "sltu", [JK_RV_XOR] = "xor", [JK_RV_SRL] = "srl", [JK_RV_SRA] = "sra",
    [JK_RV_OR] = "or", [JK_RV_AND] = "and", [JK_RV_ADDIW] = "addiw", [JK_RV_SLLIW] = "slliw",
    [JK_RV_SRLIW] = "srliw", [JK_RV_SRAIW] = "sraiw", [JK_RV_ADDW] = "addw", [JK_RV_SUBW] = "subw",
    [JK_RV_SLLW] = "sllw", [JK_RV_SRLW] = "srlw", [JK_RV_SRAW] = "sraw", [JK_RV_MUL] = "mul",
    [JK_RV_MULH] = "mulh", [JK_RV_MULHSU] = "mulhsu", [JK_RV_MULHU] = "mulhu", [JK_RV_DIV] = "div",
    [JK_RV_DIVU] = "divu", [JK_RV_REM] = "rem", [JK_RV_REMU] = "remu", [JK_RV_MULW] = "mulw",
    [JK_RV_DIVW] = "divw", [JK_RV_DIVUW] = "divuw", [JK_RV_REMW] = "remw", [JK_RV_REMUW] = "remuw",
    [JK_RV_FENCE] = "fence", [JK_RV_ECALL] = "ecall", [JK_RV_EBREAK] = "ebreak",
    [JK_RV_UNIMP] = "unimp", [JK_RV_HOSTCALL] = "hostcall",
};

const char *jk_sdk_rv_op_name(jk_rv_op op)
{
    return (unsigned)op < JK_RV_OP_COUNT && jk_rv_names[op] ? jk_rv_names[op] : "(invalid)";
}

/* Sign-extend the low `bits` bits of v. */
static int64_t jk_sext(uint64_t v, unsigned bits)
{
    uint64_t m = UINT64_C(1) << (bits - 1);
    v &= (m << 1) - 1;
    return (int64_t)((v ^ m) - m);
}

void jk_sdk_rv_decode(uint32_t raw, jk_rv_insn *out)
{
    uint32_t opcode = raw & 0x7F, f3 = (raw >> 12) & 7, f7 = raw >> 25;
    out->raw = raw;
    out->op = JK_RV_INVALID;
    out->rd = (raw >> 7) & 31;
    out->rs1 = (raw >> 15) & 31;
    out->rs2 = (raw >> 20) & 31;
    int64_t imm_i = jk_sext(raw >> 20, 12);
    int64_t imm_s = jk_sext(((raw >> 25) << 5) | ((raw >> 7) & 31), 12);
    int64_t imm_b = jk_sext(((raw >> 31) << 12) | (((raw >> 7) & 1) << 11) | (((raw >> 25) & 0x3F) << 5) |
                                (((raw >> 8) & 0xF) << 1), 13);
    int64_t imm_u = jk_sext(raw & 0xFFFFF000u, 32);
    int64_t imm_j = jk_sext(((raw >> 31) << 20) | (((raw >> 12) & 0xFF) << 12) | (((raw >> 20) & 1) << 11) |
                                (((raw >> 21) & 0x3FF) << 1), 21);
    static const uint8_t branches[8] = {JK_RV_BEQ, JK_RV_BNE, 0, 0, JK_RV_BLT, JK_RV_BGE, JK_RV_BLTU, JK_RV_BGEU};
    static const uint8_t loads[8] = {JK_RV_LB, JK_RV_LH, JK_RV_LW, JK_RV_LD, JK_RV_LBU, JK_RV_LHU, JK_RV_LWU, 0};
    static const uint8_t stores[8] = {JK_RV_SB, JK_RV_SH, JK_RV_SW, JK_RV_SD, 0, 0, 0, 0};
    static const uint8_t op_imm[8] = {JK_RV_ADDI, 0, JK_RV_SLTI, JK_RV_SLTIU, JK_RV_XORI, 0, JK_RV_ORI, JK_RV_ANDI};
    static const uint8_t op_base[8] = {JK_RV_ADD, JK_RV_SLL, JK_RV_SLT, JK_RV_SLTU, JK_RV_XOR, JK_RV_SRL, JK_RV_OR, JK_RV_AND};
    static const uint8_t op_mul[8] = {JK_RV_MUL, JK_RV_MULH, JK_RV_MULHSU, JK_RV_MULHU, JK_RV_DIV, JK_RV_DIVU, JK_RV_REM, JK_RV_REMU};
    static const uint8_t op32_mul[8] = {JK_RV_MULW, 0, 0, 0, JK_RV_DIVW, JK_RV_DIVUW, JK_RV_REMW, JK_RV_REMUW};

    switch (opcode) {
    case 0x37: out->op = JK_RV_LUI; out->imm = imm_u; break;
    case 0x17: out->op = JK_RV_AUIPC; out->imm = imm_u; break;
    case 0x6F: out->op = JK_RV_JAL; out->imm = imm_j; break;
    case 0x67: if (f3 == 0) { out->op = JK_RV_JALR; out->imm = imm_i; } break;
    case 0x63: out->op = branches[f3]; out->imm = imm_b; break;
    case 0x03: out->op = loads[f3]; out->imm = imm_i; break;
    case 0x23: out->op = stores[f3]; out->imm = imm_s; break;
    case 0x13:
        out->imm = imm_i;
        if (f3 == 1) {
            if ((raw >> 26) == 0) { out->op = JK_RV_SLLI; out->imm = (raw >> 20) & 63; }
        } else if (f3 == 5) {
            if ((raw >> 26) == 0) { out->op = JK_RV_SRLI; out->imm = (raw >> 20) & 63; }
            else if ((raw >> 26) == 0x10) { out->op = JK_RV_SRAI; out->imm = (raw >> 20) & 63; }
        } else {
            out->op = op_imm[f3];
        }
        break;
    case 0x1B:
        out->imm = imm_i;
        if (f3 == 0) out->op = JK_RV_ADDIW;
        else if (f3 == 1 && f7 == 0) { out->op = JK_RV_SLLIW; out->imm = (raw >> 20) & 31; }
        else if (f3 == 5 && f7 == 0) { out->op = JK_RV_SRLIW; out->imm = (raw >> 20) & 31; }
        else if (f3 == 5 && f7 == 0x20) { out->op = JK_RV_SRAIW; out->imm = (raw >> 20) & 31; }
        break;
    case 0x33:
        if (f7 == 0) out->op = op_base[f3];
        else if (f7 == 0x20 && f3 == 0) out->op = JK_RV_SUB;
        else if (f7 == 0x20 && f3 == 5) out->op = JK_RV_SRA;
        else if (f7 == 1) out->op = op_mul[f3];
        break;
    case 0x3B:
        if (f7 == 0 && f3 == 0) out->op = JK_RV_ADDW;
        else if (f7 == 0 && f3 == 1) out->op = JK_RV_SLLW;
        else if (f7 == 0 && f3 == 5) out->op = JK_RV_SRLW;
        else if (f7 == 0x20 && f3 == 0) out->op = JK_RV_SUBW;
        else if (f7 == 0x20 && f3 == 5) out->op = JK_RV_SRAW;
        else if (f7 == 1) out->op = op32_mul[f3];
        break;
    case 0x0F: if (f3 == 0 || f3 == 1) out->op = JK_RV_FENCE; break;
    case 0x73:
        if (raw == 0x00000073) out->op = JK_RV_ECALL;
        else if (raw == 0x00100073) out->op = JK_RV_EBREAK;
        else if (raw == 0xC0001073) out->op = JK_RV_UNIMP;
        break;
    case 0x0B: if (f3 == 0) { out->op = JK_RV_HOSTCALL; out->imm = imm_i; } break;
    default: break;
    }
}

static const char *jk_rv_reg(unsigned r)
{
    static const char *const names[32] = {
        "zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3", "a4", "a5",
        "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6"};
    return names[r & 31];
}

void jk_sdk_rv_format(const jk_rv_insn *in, char *buf, size_t len)
{
    const char *name = jk_sdk_rv_op_name(in->op);
    long long imm = (long long)in->imm;
    switch (in->op) {
    case JK_RV_INVALID:
        snprintf(buf, len, ".word 0x%08x", in->raw);
        break;
    case JK_RV_LUI: case JK_RV_AUIPC:
        snprintf(buf, len, "%s %s, 0x%llx", name, jk_rv_reg(in->rd), (unsigned long long)((uint64_t)in->imm >> 12) & 0xFFFFF);
        break;
    case JK_RV_JAL:
        snprintf(buf, len, "%s %s, %lld", name, jk_rv_reg(in->rd), imm);
        break;
    case JK_RV_BEQ: case JK_RV_BNE: case JK_RV_BLT: case JK_RV_BGE: case JK_RV_BLTU: case JK_RV_BGEU:
        snprintf(buf, len, "%s %s, %s, %lld", name, jk_rv_reg(in->rs1), jk_rv_reg(in->rs2), imm);
        break;
    case JK_RV_JALR: case JK_RV_LB: case JK_RV_LH: case JK_RV_LW: case JK_RV_LD:
    case JK_RV_LBU: case JK_RV_LHU: case JK_RV_LWU:
        snprintf(buf, len, "%s %s, %lld(%s)", name, jk_rv_reg(in->rd), imm, jk_rv_reg(in->rs1));
        break;
    case JK_RV_SB: case JK_RV_SH: case JK_RV_SW: case JK_RV_SD:
        snprintf(buf, len, "%s %s, %lld(%s)", name, jk_rv_reg(in->rs2), imm, jk_rv_reg(in->rs1));
        break;
    case JK_RV_FENCE: case JK_RV_ECALL: case JK_RV_EBREAK: case JK_RV_UNIMP:
        snprintf(buf, len, "%s", name);
        break;
    case JK_RV_HOSTCALL:
        snprintf(buf, len, "%s %lld", name, imm);
        break;
    default:
        if (in->op >= JK_RV_ADDI && in->op <= JK_RV_SRAI)
            snprintf(buf, len, "%s %s, %s, %lld", name, jk_rv_reg(in->rd), jk_rv_reg(in->rs1), imm);
        else if (in->op >= JK_RV_ADDIW && in->op <= JK_RV_SRAIW)
            snprintf(buf, len, "%s %s, %s, %lld", name, jk_rv_reg(in->rd), jk_rv_reg(in->rs1), imm);
        else
            snprintf(buf, len, "%s %s, %s, %s", name, jk_rv_reg(in->rd), jk_rv_reg(in->rs1), jk_rv_reg(in->rs2));
        break;
    }
}
