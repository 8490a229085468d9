/*
 * jit_range.c — what the recompiler can prove about a guest register's value
 * at one instruction, from the instructions before it in its basic block
 * (docs/pvm.md, "Divisions with a known divisor").
 *
 * A division needs one compare-and-branch per Graypaper special case
 * (divisor 0; −1 for the signed forms). Code usually makes its divisor
 * nonzero on purpose right before dividing — `(x >> 32) | 1`,
 * `(x & 0xFFFF) + 3` — so a short forward pass over unsigned ranges, from the
 * block's start to the division, often proves the special cases impossible
 * and the division is emitted bare.
 *
 * The proof holds only for a run that executed the instructions it rests on.
 * A run may also *start* anywhere (a resumption after `ecalli` enters right
 * after it, and jk_pvm_run accepts any pc), so every instruction from the one
 * after the pass's last reset up to the division is marked: a run that starts
 * at a marked instruction runs on the interpreter (jit_run.c), which gives
 * the same results. Entering after an `ecalli` is never marked: a host call
 * may change every register, so the pass forgets everything there.
 */
#include "jit_cc.h"

#if JK_PVM_HAVE_JIT

/* The pass looks at most this many instructions back (compilation stays
 * linear: each division costs O(window)). */
#define JK_RANGE_WINDOW 32

typedef struct jk_range {
    uint64_t lo, hi; /* unsigned: lo <= value <= hi */
} jk_range;

static const jk_range jk_range_any = {0, UINT64_MAX};

/* r + x (mod 2^64), precise when both ends wrap alike. */
static jk_range jk_range_add(jk_range r, uint64_t x)
{
    uint64_t lo = r.lo + x, hi = r.hi + x;
    if ((lo < r.lo) != (hi < r.hi) || lo > hi)
        return jk_range_any;
    return (jk_range){lo, hi};
}

/* Apply one instruction to the ranges. Returns false when the instruction is
 * not understood: then it may have written any register (a load, a host
 * call, ...) and the caller forgets everything. */
static bool jk_range_step(jk_range r[JK_PVM_REGS], const jk_pvm_insn *in)
{
    const unsigned A = in->ra, B = in->rb, D = in->rd;
    const uint64_t X = in->imm_x;
    switch (in->opcode) {
    case OP_load_imm:
    case OP_load_imm_64:
        r[A] = (jk_range){X, X};
        return true;
    case OP_move_reg:
        r[D] = r[A];
        return true;
    case OP_and_imm: /* unsigned a & x <= both */
        r[A] = (jk_range){0, r[B].hi < X ? r[B].hi : X};
        return true;
    case OP_or_imm: /* unsigned a | x >= both */
        r[A] = (jk_range){r[B].lo > X ? r[B].lo : X, UINT64_MAX};
        return true;
    case OP_add_imm_64:
        r[A] = jk_range_add(r[B], X);
        return true;
    case OP_shlo_r_imm_64: {
        unsigned s = (unsigned)(X & 63);
        r[A] = (jk_range){r[B].lo >> s, r[B].hi >> s};
        return true;
    }
    case OP_and: { /* unsigned a & b <= both */
        uint64_t hi = r[A].hi < r[B].hi ? r[A].hi : r[B].hi;
        r[D] = (jk_range){0, hi};
        return true;
    }
    case OP_store_imm_u8: case OP_store_imm_u16: case OP_store_imm_u32: case OP_store_imm_u64:
    case OP_store_u8: case OP_store_u16: case OP_store_u32: case OP_store_u64:
    case OP_store_imm_ind_u8: case OP_store_imm_ind_u16:
    case OP_store_imm_ind_u32: case OP_store_imm_ind_u64:
    case OP_store_ind_u8: case OP_store_ind_u16: case OP_store_ind_u32: case OP_store_ind_u64:
        return true; /* writes no register (a fault ends the run) */
    default:
        break;
    }
    /* Other forms that write one register and nothing else: that register
     * is unknown from here. */
    const jk_pvm_opinfo *info = jk_pvm_opinfo_get(in->opcode);
    if (!info || info->is_terminator)
        return false;
    switch (info->format) {
    case JK_PVM_ARGS_REG_REG:     /* ω_D = f(ω_A): move, sbrk, bit counts, extensions */
    case JK_PVM_ARGS_REG_REG_REG: /* ω_D = f(ω_A, ω_B) */
        r[D] = jk_range_any;
        return true;
    case JK_PVM_ARGS_REG_REG_IMM: /* ω_A = f(ω_B, ν_X), a load into ω_A, or a store */
        r[A] = jk_range_any;
        return true;
    default:
        return false; /* ecalli (a host call may write any register), ... */
    }
}

/* The registers' ranges just before instruction i, from the start of its
 * block; *from is where the facts they rest on start (the block's start, or
 * the instruction after the last one that forgets everything). false when
 * the block starts more than JK_RANGE_WINDOW instructions back. */
static bool jk_range_before(const jk_cc *c, uint32_t i, jk_range r[JK_PVM_REGS], uint32_t *from)
{
    const jk_pvm_program *prog = c->prog;
    uint32_t s = i;
    while (!prog->block_start[s]) {
        if (i - s >= JK_RANGE_WINDOW || s == 0)
            return false; /* (index 0 is a block start: the second is a guard) */
        s--;
    }
    for (unsigned g = 0; g < JK_PVM_REGS; g++)
        r[g] = jk_range_any;
    *from = s;
    for (uint32_t k = s; k < i; k++) {
        if (!jk_range_step(r, &prog->insns[k])) {
            for (unsigned g = 0; g < JK_PVM_REGS; g++)
                r[g] = jk_range_any;
            *from = k + 1;
        }
    }
    return true;
}

bool jk_pvm_jit_value_known(const jk_cc *c, uint32_t i, unsigned reg, uint64_t *value, uint32_t *from)
{
    jk_range r[JK_PVM_REGS];
    if (!jk_range_before(c, i, r, from) || r[reg].lo != r[reg].hi)
        return false;
    *value = r[reg].lo;
    return true;
}

/* The register an instruction that jk_range_step understands writes: its
 * ω_A or ω_D by format (the same split as there), or -1 for none. */
static int jk_range_dest(const jk_pvm_insn *in)
{
    const jk_pvm_opinfo *info = jk_pvm_opinfo_get(in->opcode);
    switch (info ? info->format : -1) {
    case JK_PVM_ARGS_REG_IMM64: case JK_PVM_ARGS_REG_IMM: /* load_imm(_64); store_u* writes none */
        return in->opcode == OP_load_imm || in->opcode == OP_load_imm_64 ? (int)in->ra : -1;
    case JK_PVM_ARGS_REG_REG: case JK_PVM_ARGS_REG_REG_REG:
        return (int)in->rd;
    case JK_PVM_ARGS_REG_REG_IMM: { /* ω_A = f(ω_B, ν_X), a load into ω_A, or a store */
        jk_memop m;
        return jk_pvm_group_memop(in, &m) && m.write ? -1 : (int)in->ra;
    }
    default:
        return -1; /* store_imm*: none */
    }
}

bool jk_pvm_jit_divisor_high(const jk_cc *c, uint32_t i, unsigned x, unsigned reg, uint32_t *from)
{
    const jk_pvm_program *prog = c->prog;
    uint32_t s = i;
    while (!prog->block_start[s]) {
        if (i - s >= JK_RANGE_WINDOW || s == 0)
            return false;
        s--;
    }
    /* per register: -1, or the register r whose high half it holds
     * (stage 1: exactly ω_r >> 32; stage 2: (ω_r >> 32) | m, 1 <= m < 2^32) */
    int src[JK_PVM_REGS], stage[JK_PVM_REGS];
    for (unsigned g = 0; g < JK_PVM_REGS; g++)
        src[g] = -1, stage[g] = 0;
    *from = s;
    jk_range r[JK_PVM_REGS]; /* only to learn which instructions forget everything */
    for (unsigned g = 0; g < JK_PVM_REGS; g++)
        r[g] = jk_range_any;
    for (uint32_t k = s; k < i; k++) {
        const jk_pvm_insn *in = &prog->insns[k];
        if (!jk_range_step(r, in)) {
            for (unsigned g = 0; g < JK_PVM_REGS; g++)
                src[g] = -1, stage[g] = 0;
            *from = k + 1;
            continue;
        }
        int w = jk_range_dest(in);
        if (w < 0)
            continue;
        int ns = -1, nst = 0;
        if (in->opcode == OP_shlo_r_imm_64 && (in->imm_x & 63) == 32) {
            ns = (int)in->rb;
            nst = 1;
        } else if (in->opcode == OP_or_imm && stage[in->rb] && in->imm_x != 0 && in->imm_x <= UINT32_MAX) {
            ns = src[in->rb];
            nst = 2;
        }
        src[w] = ns;
        stage[w] = nst;
        for (unsigned g = 0; g < JK_PVM_REGS; g++)
            if (src[g] == w) /* its source changed (also `shlo_r_imm_64 w, w, 32`) */
                src[g] = -1, stage[g] = 0;
    }
    return stage[reg] == 2 && src[reg] == (int)x;
}

bool jk_pvm_jit_divisor_safe(const jk_cc *c, uint32_t i, unsigned reg, bool w, bool sgn, uint32_t *from)
{
    jk_range r[JK_PVM_REGS];
    uint32_t known_from;
    if (!jk_range_before(c, i, r, &known_from))
        return false;
    jk_range d = r[reg];
    if (!w) { /* the divisor is the low 32 bits: known only if they are the value */
        if (d.hi > UINT32_MAX)
            return false;
        if (sgn && d.hi == UINT32_MAX)
            return false; /* (u32)−1 */
    } else if (sgn && d.hi == UINT64_MAX) {
        return false; /* −1 */
    }
    if (d.lo == 0)
        return false;
    *from = known_from;
    return true;
}

#endif
