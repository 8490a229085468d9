/*
 * translate.c — instruction selection: each RV64EM instruction becomes PVM
 * assembly (docs/asm.md), mostly one instruction for one.
 *
 * Registers map one-to-one (the PVM's calling convention is RISC-V's):
 *   ra→r0 sp→r1 t0→r2 t1→r3 t2→r4 s0→r5 s1→r6 a0→r7 … a5→r12.
 * The PVM has no zero register and no spare one, so every use of x0 is
 * folded into an immediate form or a constant. gp and tp are refused.
 *
 * Control flow: every RISC-V jump target becomes a label; when the PVM
 * instruction before a label does not end a basic block, a `fallthrough` is
 * inserted, because PVM jumps may only land on block starts. Return addresses
 * and every code address used as a value become jump-table entries: a call is
 * `load_imm_jump ra, jt(return), target`, a return `jump_ind ra, 0`.
 */
#include "translate.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

long jk_sdk_tr_index(const jk_tr *tr, uint64_t addr)
{
    if (addr < tr->text_addr || (addr - tr->text_addr) % 4 != 0)
        return -1;
    uint64_t i = (addr - tr->text_addr) / 4;
    return i < tr->count ? (long)i : -1;
}

static void jk_tr_append(jk_tr *tr, const char *fmt, va_list ap)
{
    char line[160];
    int n = vsnprintf(line, sizeof line, fmt, ap);
    if (n < 0 || (size_t)n >= sizeof line) {
        tr->oom = true;
        return;
    }
    if (tr->text_len + (size_t)n + 1 > tr->text_cap) {
        size_t cap = tr->text_cap ? tr->text_cap * 2 : 4096;
        while (cap < tr->text_len + (size_t)n + 1)
            cap *= 2;
        char *grown = realloc(tr->text, cap);
        if (!grown) {
            tr->oom = true;
            return;
        }
        tr->text = grown;
        tr->text_cap = cap;
    }
    memcpy(tr->text + tr->text_len, line, (size_t)n + 1);
    tr->text_len += (size_t)n;
}

/* One PVM instruction. `terminates`: it ends a basic block. */
__attribute__((format(printf, 3, 4)))
static void jk_emit(jk_tr *tr, bool terminates, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    jk_tr_append(tr, "    ", ap);
    va_end(ap);
    va_start(ap, fmt);
    jk_tr_append(tr, fmt, ap);
    va_end(ap);
    va_start(ap, fmt);
    jk_tr_append(tr, "\n", ap);
    va_end(ap);
    if (tr->record_addrs) {
        if (tr->pvm_insns == tr->insn_cap) {
            size_t cap = tr->insn_cap ? 2 * tr->insn_cap : 1024;
            uint64_t *bigger = realloc(tr->insn_addr, cap * sizeof *bigger);
            if (!bigger)
                tr->oom = true;
            else
                tr->insn_addr = bigger, tr->insn_cap = cap;
        }
        if (tr->pvm_insns < tr->insn_cap)
            tr->insn_addr[tr->pvm_insns] = tr->cur_addr;
    }
    tr->pvm_insns++;
    tr->last_terminates = terminates;
}

__attribute__((format(printf, 2, 3)))
static void jk_raw(jk_tr *tr, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    jk_tr_append(tr, fmt, ap);
    va_end(ap);
}

static uint64_t jk_tr_addr(const jk_tr *tr, size_t i) { return tr->text_addr + 4 * (uint64_t)i; }

/* PVM register number for RISC-V register x, -1 for x0, -2 if unsupported. */
static int jk_reg(unsigned x)
{
    static const int map[16] = {-1, 0, 1, -2, -2, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    return x < 16 ? map[x] : -2;
}

static jk_err jk_tr_fail(jk_tr *tr, size_t i, const char *why)
{
    char text[64];
    jk_sdk_rv_format(&tr->insns[i], text, sizeof text);
    return jk_diag_set(tr->diag, JK_ERR_PARSE, "0x%llx: cannot translate '%s': %s",
                       (unsigned long long)jk_tr_addr(tr, i), text, why);
}

/* Copy rs into rd unless they are the same register. */
static void jk_move(jk_tr *tr, int rd, int rs)
{
    if (rd != rs)
        jk_emit(tr, false, "move_reg r%d, r%d", rd, rs);
}

static void jk_const(jk_tr *tr, int rd, int64_t value)
{
    if (value >= INT32_MIN && value <= INT32_MAX)
        jk_emit(tr, false, "load_imm r%d, %lld", rd, (long long)value);
    else
        jk_emit(tr, false, "load_imm_64 r%d, 0x%llx", rd, (unsigned long long)value);
}

/* The PVM mnemonic for a three-register RISC-V ALU op. */
static const char *jk_alu_name(jk_rv_op op)
{
    switch (op) {
    case JK_RV_ADD: return "add_64";
    case JK_RV_SUB: return "sub_64";
    case JK_RV_SLL: return "shlo_l_64";
    case JK_RV_SLT: return "set_lt_s";
    case JK_RV_SLTU: return "set_lt_u";
    case JK_RV_XOR: return "xor";
    case JK_RV_SRL: return "shlo_r_64";
    case JK_RV_SRA: return "shar_r_64";
    case JK_RV_OR: return "or";
    case JK_RV_AND: return "and";
    case JK_RV_ADDW: return "add_32";
    case JK_RV_SUBW: return "sub_32";
    case JK_RV_SLLW: return "shlo_l_32";
    case JK_RV_SRLW: return "shlo_r_32";
    case JK_RV_SRAW: return "shar_r_32";
    case JK_RV_MUL: return "mul_64";
    case JK_RV_MULH: return "mul_upper_s_s";
    case JK_RV_MULHSU: return "mul_upper_s_u";
    case JK_RV_MULHU: return "mul_upper_u_u";
    case JK_RV_DIV: return "div_s_64";
    case JK_RV_DIVU: return "div_u_64";
    case JK_RV_REM: return "rem_s_64";
    case JK_RV_REMU: return "rem_u_64";
    case JK_RV_MULW: return "mul_32";
    case JK_RV_DIVW: return "div_s_32";
    case JK_RV_DIVUW: return "div_u_32";
    case JK_RV_REMW: return "rem_s_32";
    case JK_RV_REMUW: return "rem_u_32";
    default: return NULL;
    }
}

static bool jk_is_word_op(jk_rv_op op)
{
    return op == JK_RV_ADDW || op == JK_RV_SUBW || op == JK_RV_SLLW || op == JK_RV_SRLW || op == JK_RV_SRAW ||
           op == JK_RV_MULW || op == JK_RV_DIVW || op == JK_RV_DIVUW || op == JK_RV_REMW || op == JK_RV_REMUW;
}

/* rd = rs1 op rs2 where at least one source is x0 (value 0). */
static void jk_alu_with_zero(jk_tr *tr, jk_rv_op op, int rd, int rs1, int rs2)
{
    bool is_div = op == JK_RV_DIV || op == JK_RV_DIVU || op == JK_RV_DIVW || op == JK_RV_DIVUW;
    if (rs1 < 0 && rs2 < 0) {
        jk_const(tr, rd, is_div ? -1 : 0); /* 0 / 0 = all ones; every other op gives 0 */
        return;
    }
    if (rs2 < 0) { /* rs1 op 0 */
        switch (op) {
        case JK_RV_ADD: case JK_RV_SUB: case JK_RV_SLL: case JK_RV_SRL: case JK_RV_SRA:
        case JK_RV_XOR: case JK_RV_OR: case JK_RV_REM: case JK_RV_REMU:
            jk_move(tr, rd, rs1);
            return;
        case JK_RV_ADDW: case JK_RV_SUBW: case JK_RV_SLLW: case JK_RV_SRLW: case JK_RV_SRAW:
        case JK_RV_REMW: case JK_RV_REMUW:
            jk_emit(tr, false, "add_imm_32 r%d, r%d, 0", rd, rs1); /* sign-extend the low word */
            return;
        case JK_RV_SLT:
            jk_emit(tr, false, "set_lt_s_imm r%d, r%d, 0", rd, rs1);
            return;
        default: /* and, sltu, mul*, div by zero */
            jk_const(tr, rd, is_div ? -1 : 0);
            return;
        }
    }
    /* 0 op rs2 */
    switch (op) {
    case JK_RV_ADD: case JK_RV_XOR: case JK_RV_OR:
        jk_move(tr, rd, rs2);
        return;
    case JK_RV_SUB:
        jk_emit(tr, false, "neg_add_imm_64 r%d, r%d, 0", rd, rs2);
        return;
    case JK_RV_ADDW:
        jk_emit(tr, false, "add_imm_32 r%d, r%d, 0", rd, rs2);
        return;
    case JK_RV_SUBW:
        jk_emit(tr, false, "neg_add_imm_32 r%d, r%d, 0", rd, rs2);
        return;
    case JK_RV_SLT: /* 0 < rs2 */
        jk_emit(tr, false, "set_gt_s_imm r%d, r%d, 0", rd, rs2);
        return;
    case JK_RV_SLTU:
        jk_emit(tr, false, "set_gt_u_imm r%d, r%d, 0", rd, rs2);
        return;
    case JK_RV_DIV: case JK_RV_DIVU: /* 0 / d: all ones when d = 0, else 0 */
        jk_emit(tr, false, "set_lt_u_imm r%d, r%d, 1", rd, rs2);
        jk_emit(tr, false, "neg_add_imm_64 r%d, r%d, 0", rd, rd);
        return;
    case JK_RV_DIVW: case JK_RV_DIVUW: /* the same on the low word of d */
        jk_emit(tr, false, "shlo_l_imm_64 r%d, r%d, 32", rd, rs2);
        jk_emit(tr, false, "set_lt_u_imm r%d, r%d, 1", rd, rd);
        jk_emit(tr, false, "neg_add_imm_64 r%d, r%d, 0", rd, rd);
        return;
    default: /* shifts of 0, and, mul*, rem of 0 */
        jk_const(tr, rd, 0);
        return;
    }
}

/* Two-register branch with x0 folded into immediate forms. */
static void jk_branch(jk_tr *tr, jk_rv_op op, int a, int b, uint64_t target)
{
    unsigned long long t = (unsigned long long)target;
    static const struct {
        uint8_t op;
        const char *rr, *r0, *zr; /* a op b; a op 0; 0 op b (as b op' 0) */
        int always_00;            /* 0 op 0 */
    } forms[] = {
        {JK_RV_BEQ, "branch_eq", "branch_eq_imm", "branch_eq_imm", 1},
        {JK_RV_BNE, "branch_ne", "branch_ne_imm", "branch_ne_imm", 0},
        {JK_RV_BLT, "branch_lt_s", "branch_lt_s_imm", "branch_gt_s_imm", 0},
        {JK_RV_BGE, "branch_ge_s", "branch_ge_s_imm", "branch_le_s_imm", 1},
        {JK_RV_BLTU, "branch_lt_u", NULL, "branch_ne_imm", 0},
        {JK_RV_BGEU, "branch_ge_u", NULL, "branch_eq_imm", 1},
    };
    for (size_t k = 0; k < sizeof forms / sizeof forms[0]; k++) {
        if (forms[k].op != op)
            continue;
        if (a >= 0 && b >= 0)
            jk_emit(tr, true, "%s r%d, r%d, L%llx", forms[k].rr, a, b, t);
        else if (a >= 0 && forms[k].r0)
            jk_emit(tr, true, "%s r%d, 0, L%llx", forms[k].r0, a, t);
        else if (a >= 0) /* unsigned a < 0 never; a >= 0 always */
            jk_emit(tr, true, op == JK_RV_BLTU ? "fallthrough" : "jump L%llx", t);
        else if (b >= 0)
            jk_emit(tr, true, "%s r%d, 0, L%llx", forms[k].zr, b, t);
        else if (forms[k].always_00)
            jk_emit(tr, true, "jump L%llx", t);
        else
            jk_emit(tr, true, "fallthrough");
        return;
    }
}

static const char *jk_load_name(jk_rv_op op, bool indirect)
{
    static const char *const direct[] = {"load_i8", "load_i16", "load_i32", "load_u64", "load_u8", "load_u16", "load_u32"};
    static const char *const ind[] = {"load_ind_i8", "load_ind_i16", "load_ind_i32", "load_ind_u64",
                                      "load_ind_u8", "load_ind_u16", "load_ind_u32"};
    return (indirect ? ind : direct)[op - JK_RV_LB];
}

static const char *const jk_store_sizes[] = {"u8", "u16", "u32", "u64"};

/* Translate the instruction at i (and, for a call pair, i + 1). */
static jk_err jk_tr_one(jk_tr *tr, size_t i)
{
    const jk_rv_insn *in = &tr->insns[i];
    uint8_t fl = tr->flags[i];
    int rd = jk_reg(in->rd), rs1 = jk_reg(in->rs1), rs2 = jk_reg(in->rs2);
    uint64_t addr = jk_tr_addr(tr, i);
    jk_rv_op op = (jk_rv_op)in->op;

    if (op == JK_RV_INVALID) {
        if (in->raw == 0) { /* the all-zero word is RISC-V's defined illegal instruction */
            jk_emit(tr, true, "trap");
            return JK_OK;
        }
        return jk_tr_fail(tr, i, "not an RV64EM instruction");
    }
    /* Register checks: RV64E has x0..x15, and gp/tp are not available. */
    bool uses_rd = !(op >= JK_RV_BEQ && op <= JK_RV_BGEU) && !(op >= JK_RV_SB && op <= JK_RV_SD) &&
                   op != JK_RV_FENCE && op != JK_RV_ECALL && op != JK_RV_EBREAK && op != JK_RV_UNIMP &&
                   op != JK_RV_HOSTCALL;
    bool uses_rs1 = op != JK_RV_LUI && op != JK_RV_AUIPC && op != JK_RV_JAL && op != JK_RV_FENCE &&
                    op != JK_RV_ECALL && op != JK_RV_EBREAK && op != JK_RV_UNIMP && op != JK_RV_HOSTCALL;
    bool uses_rs2 = (op >= JK_RV_BEQ && op <= JK_RV_BGEU) || (op >= JK_RV_SB && op <= JK_RV_SD) ||
                    (op >= JK_RV_ADD && op <= JK_RV_AND) || (op >= JK_RV_ADDW && op <= JK_RV_REMUW);
    if ((uses_rd && rd == -2) || (uses_rs1 && rs1 == -2) || (uses_rs2 && rs2 == -2))
        return jk_tr_fail(tr, i, "uses a register outside RV64E's x0..x15 or the reserved gp/tp");

    if (fl & JK_TR_CALL_HI) {
        const jk_rv_insn *jr = &tr->insns[i + 1];
        uint64_t target = addr + (uint64_t)in->imm + (uint64_t)jr->imm;
        int link = jk_reg(jr->rd);
        if (link == -2)
            return jk_tr_fail(tr, i + 1, "links into an unsupported register");
        if (rd >= 0 && rd != link) /* the auipc's register holds the callee's address */
            jk_emit(tr, false, "load_imm r%d, jt(L%llx)", rd, (unsigned long long)target);
        if (link < 0)
            jk_emit(tr, true, "jump L%llx", (unsigned long long)target);
        else
            jk_emit(tr, true, "load_imm_jump r%d, jt(L%llx), L%llx", link, (unsigned long long)(addr + 8),
                    (unsigned long long)target);
        return JK_OK;
    }
    if (fl & JK_TR_CODE_LO) {
        /* The high half already loaded the whole jump-table address. */
        if (op != JK_RV_ADDI)
            return jk_tr_fail(tr, i, "loads or stores through a code address");
        if (rd >= 0)
            jk_move(tr, rd, rs1 < 0 ? rd : rs1);
        return JK_OK;
    }

    switch (op) {
    case JK_RV_LUI:
    case JK_RV_AUIPC:
        if (rd < 0)
            return JK_OK;
        if (fl & JK_TR_CODE_HI) {
            jk_emit(tr, false, "load_imm r%d, jt(L%llx)", rd, (unsigned long long)tr->hi_target[i]);
            return JK_OK;
        }
        if (op == JK_RV_AUIPC && !(fl & JK_TR_HAS_HI) && jk_sdk_tr_index(tr, addr + (uint64_t)in->imm) >= 0)
            return jk_tr_fail(tr, i, "computes a code address without a relocation");
        jk_const(tr, rd, op == JK_RV_LUI ? in->imm : (int64_t)(addr + (uint64_t)in->imm));
        return JK_OK;
    case JK_RV_JAL: {
        unsigned long long target = (unsigned long long)(addr + (uint64_t)in->imm);
        if (rd < 0)
            jk_emit(tr, true, "jump L%llx", target);
        else
            jk_emit(tr, true, "load_imm_jump r%d, jt(L%llx), L%llx", rd, (unsigned long long)(addr + 4), target);
        return JK_OK;
    }
    case JK_RV_JALR:
        if (rs1 < 0)
            return jk_tr_fail(tr, i, "jumps to an absolute address");
        if (rd < 0)
            jk_emit(tr, true, "jump_ind r%d, %lld", rs1, (long long)in->imm);
        else
            jk_emit(tr, true, "load_imm_jump_ind r%d, r%d, jt(L%llx), %lld", rd, rs1,
                    (unsigned long long)(addr + 4), (long long)in->imm);
        return JK_OK;
    case JK_RV_BEQ: case JK_RV_BNE: case JK_RV_BLT: case JK_RV_BGE: case JK_RV_BLTU: case JK_RV_BGEU:
        jk_branch(tr, op, rs1, rs2, addr + (uint64_t)in->imm);
        return JK_OK;
    case JK_RV_LB: case JK_RV_LH: case JK_RV_LW: case JK_RV_LD: case JK_RV_LBU: case JK_RV_LHU: case JK_RV_LWU:
        if (rd < 0) {
            /* A load into x0 (a volatile read whose value is unused) must
             * still happen, for its fault. There is no spare register, so
             * borrow t0 (t1 when t0 is the base): park it just below sp,
             * load into it, take it back. Memory below sp is dead in the
             * RISC-V psABI, which has no red zone. */
            int tmp = rs1 == 2 ? 3 : 2;
            if (rs1 < 0)
                return jk_tr_fail(tr, i, "loads into x0 from an absolute address");
            jk_emit(tr, false, "store_ind_u64 r%d, r1, -8", tmp);
            jk_emit(tr, false, "%s r%d, r%d, %lld", jk_load_name(op, true), tmp, rs1, (long long)in->imm);
            jk_emit(tr, false, "load_ind_u64 r%d, r1, -8", tmp);
            return JK_OK;
        }
        if (rs1 < 0)
            jk_emit(tr, false, "%s r%d, %lld", jk_load_name(op, false), rd, (long long)in->imm);
        else
            jk_emit(tr, false, "%s r%d, r%d, %lld", jk_load_name(op, true), rd, rs1, (long long)in->imm);
        return JK_OK;
    case JK_RV_SB: case JK_RV_SH: case JK_RV_SW: case JK_RV_SD: {
        const char *size = jk_store_sizes[op - JK_RV_SB];
        long long off = (long long)in->imm;
        if (rs1 >= 0 && rs2 >= 0)
            jk_emit(tr, false, "store_ind_%s r%d, r%d, %lld", size, rs2, rs1, off);
        else if (rs1 >= 0)
            jk_emit(tr, false, "store_imm_ind_%s r%d, %lld, 0", size, rs1, off);
        else if (rs2 >= 0)
            jk_emit(tr, false, "store_%s r%d, %lld", size, rs2, off);
        else
            jk_emit(tr, false, "store_imm_%s %lld, 0", size, off);
        return JK_OK;
    }
    case JK_RV_ADDI: case JK_RV_SLTI: case JK_RV_SLTIU: case JK_RV_XORI: case JK_RV_ORI: case JK_RV_ANDI:
    case JK_RV_SLLI: case JK_RV_SRLI: case JK_RV_SRAI: case JK_RV_ADDIW: case JK_RV_SLLIW:
    case JK_RV_SRLIW: case JK_RV_SRAIW: {
        static const struct {
            uint8_t op;
            const char *name;
        } imm_ops[] = {
            {JK_RV_ADDI, "add_imm_64"},   {JK_RV_SLTI, "set_lt_s_imm"},    {JK_RV_SLTIU, "set_lt_u_imm"},
            {JK_RV_XORI, "xor_imm"},      {JK_RV_ORI, "or_imm"},           {JK_RV_ANDI, "and_imm"},
            {JK_RV_SLLI, "shlo_l_imm_64"}, {JK_RV_SRLI, "shlo_r_imm_64"},  {JK_RV_SRAI, "shar_r_imm_64"},
            {JK_RV_ADDIW, "add_imm_32"},  {JK_RV_SLLIW, "shlo_l_imm_32"},  {JK_RV_SRLIW, "shlo_r_imm_32"},
            {JK_RV_SRAIW, "shar_r_imm_32"},
        };
        int64_t imm = in->imm;
        if (rd < 0)
            return JK_OK; /* nop */
        if (rs1 < 0) { /* 0 op imm */
            int64_t v = 0;
            if (op == JK_RV_ADDI || op == JK_RV_XORI || op == JK_RV_ORI || op == JK_RV_ADDIW)
                v = imm;
            else if (op == JK_RV_SLTI)
                v = 0 < imm;
            else if (op == JK_RV_SLTIU)
                v = imm != 0;
            jk_const(tr, rd, v);
            return JK_OK;
        }
        if (op == JK_RV_ADDI && imm == 0) {
            jk_move(tr, rd, rs1);
            return JK_OK;
        }
        for (size_t k = 0; k < sizeof imm_ops / sizeof imm_ops[0]; k++)
            if (imm_ops[k].op == op)
                jk_emit(tr, false, "%s r%d, r%d, %lld", imm_ops[k].name, rd, rs1, (long long)imm);
        return JK_OK;
    }
    case JK_RV_FENCE:
        return JK_OK; /* one hart, no caches to order: nothing to do */
    case JK_RV_EBREAK: case JK_RV_UNIMP:
        jk_emit(tr, true, "trap");
        return JK_OK;
    case JK_RV_ECALL:
        return jk_tr_fail(tr, i, "ecall is not a host call: use the SDK's jk_host_call (sdk/jark.h)");
    case JK_RV_HOSTCALL:
        if (in->rd != 0 || in->rs1 != 0 || in->imm < 0)
            return jk_tr_fail(tr, i, "malformed host call (want .insn i 0x0b, 0, x0, x0, N with N >= 0)");
        jk_emit(tr, false, "ecalli %lld", (long long)in->imm);
        return JK_OK;
    default: {
        const char *name = jk_alu_name(op);
        if (!name)
            return jk_tr_fail(tr, i, "unsupported instruction");
        if (rd < 0)
            return JK_OK;
        if (rs1 < 0 || rs2 < 0)
            jk_alu_with_zero(tr, op, rd, rs1, rs2);
        else
            jk_emit(tr, false, "%s r%d, r%d, r%d", name, rd, rs1, rs2);
        (void)jk_is_word_op;
        return JK_OK;
    }
    }
}

jk_err jk_sdk_tr_emit(jk_tr *tr)
{
    /* The jump table, in index order (jt_index is assigned in address order). */
    if (tr->jt_count) {
        jk_raw(tr, ".jump_table");
        uint32_t written = 0;
        for (size_t i = 0; i < tr->count; i++)
            if (tr->flags[i] & JK_TR_JT) {
                jk_raw(tr, "%s L%llx", written ? "," : "", (unsigned long long)jk_tr_addr(tr, i));
                written++;
            }
        jk_raw(tr, "\n");
    }
    tr->last_terminates = true; /* pc 0 starts a block */
    for (size_t i = 0; i < tr->count; i++) {
        if (tr->flags[i] & JK_TR_CALL_LO)
            continue; /* emitted with its auipc */
        if (tr->flags[i] & (JK_TR_TARGET | JK_TR_JT)) {
            if (!tr->last_terminates)
                jk_emit(tr, true, "fallthrough"); /* belongs to the instruction before */
            jk_raw(tr, "L%llx:\n", (unsigned long long)jk_tr_addr(tr, i));
        }
        tr->cur_addr = jk_tr_addr(tr, i);
        jk_err err = jk_tr_one(tr, i);
        if (err != JK_OK)
            return err;
        if (tr->oom)
            return jk_diag_set(tr->diag, JK_ERR_NOMEM, "out of memory translating the code");
    }
    return JK_OK;
}
