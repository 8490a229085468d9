/*
 * jit_x64.h — a small x86-64 instruction encoder for the PVM recompiler
 * (internal; included by jit.c only).
 *
 * Why our own and not libzydis: the recompiler needs about forty instruction
 * forms, all of them "opcode + ModRM (+ SIB) + displacement + immediate".
 * Encoding one here is a handful of byte stores with no request structure to
 * fill and validate, which keeps compilation a single linear pass (see
 * docs/pvm.md for the measured MB/s). Tests check the bytes through the
 * vectors and the differential fuzz target rather than a disassembler.
 *
 * Operands: a jk_x64_rm is either a host register or a memory operand
 * [base + index*scale + disp]. Register numbers are the hardware ones
 * (rax = 0 … r15 = 15).
 */
#ifndef JK_PVM_JIT_X64_H
#define JK_PVM_JIT_X64_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum {
    X_RAX = 0, X_RCX = 1, X_RDX = 2, X_RBX = 3, X_RSP = 4, X_RBP = 5, X_RSI = 6, X_RDI = 7,
    X_R8 = 8, X_R9, X_R10, X_R11, X_R12, X_R13, X_R14, X_R15,
    X_NOREG = 0xFF,
};

/* Condition codes (the low nibble of Jcc / SETcc / CMOVcc). */
enum {
    CC_O = 0, CC_NO = 1, CC_B = 2, CC_AE = 3, CC_E = 4, CC_NE = 5, CC_BE = 6, CC_A = 7,
    CC_S = 8, CC_NS = 9, CC_L = 12, CC_GE = 13, CC_LE = 14, CC_G = 15,
};

typedef struct jk_x64_buf {
    uint8_t *p;
    size_t len, cap;
    bool oom;
} jk_x64_buf;

typedef struct jk_x64_rm {
    bool is_mem;
    uint8_t reg;          /* register operand, or the base of a memory operand */
    uint8_t index;        /* X_NOREG for none */
    uint8_t scale;        /* 0..3 (×1, ×2, ×4, ×8) */
    int32_t disp;
} jk_x64_rm;

static inline jk_x64_rm X_REG(uint8_t r)
{
    jk_x64_rm o = {false, r, X_NOREG, 0, 0};
    return o;
}

static inline jk_x64_rm X_MEM(uint8_t base, int32_t disp)
{
    jk_x64_rm o = {true, base, X_NOREG, 0, disp};
    return o;
}

static inline jk_x64_rm X_MEMI(uint8_t base, uint8_t index, uint8_t scale, int32_t disp)
{
    jk_x64_rm o = {true, base, index, scale, disp};
    return o;
}

/* Make room for at least n more bytes (the caller checks oom at the end). */
static inline bool x_reserve(jk_x64_buf *b, size_t n)
{
    if (b->oom)
        return false;
    if (b->len + n <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n)
        cap *= 2;
    uint8_t *p = realloc(b->p, cap);
    if (!p) {
        b->oom = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

/* Every emitter below writes at most 16 bytes: callers reserve per
 * instruction (jit.c reserves a generous bound before each guest
 * instruction), so the byte writers only check the flag. */
static inline void x_b(jk_x64_buf *b, uint8_t v)
{
    if (b->len < b->cap)
        b->p[b->len++] = v;
    else
        b->oom = true;
}

static inline void x_d(jk_x64_buf *b, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        x_b(b, (uint8_t)(v >> (8 * i)));
}

static inline void x_q(jk_x64_buf *b, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        x_b(b, (uint8_t)(v >> (8 * i)));
}

static inline bool x_fits8(int64_t v) { return v >= -128 && v <= 127; }
static inline bool x_fits32(uint64_t v) { return (uint64_t)(int64_t)(int32_t)v == v; }

/* Prefix, REX, opcode (1..3 bytes, given MSB-first in op with oplen), ModRM,
 * SIB, displacement. `byte_regs` forces a REX so that registers 4..7 used as
 * byte registers mean spl..dil. */
static inline void x_op(jk_x64_buf *b, uint8_t prefix, bool w, uint32_t op, int oplen, uint8_t reg,
                        jk_x64_rm rm, bool byte_regs)
{
    if (prefix)
        x_b(b, prefix);
    uint8_t rex = 0x40 | (w ? 8 : 0) | ((reg & 8) ? 4 : 0);
    if (rm.is_mem && rm.index != X_NOREG && (rm.index & 8))
        rex |= 2;
    if (rm.reg & 8)
        rex |= 1;
    if (rex != 0x40 || (byte_regs && ((!rm.is_mem && rm.reg >= 4) || reg >= 4)))
        x_b(b, rex);
    for (int i = oplen - 1; i >= 0; i--)
        x_b(b, (uint8_t)(op >> (8 * i)));
    uint8_t r = reg & 7;
    if (!rm.is_mem) {
        x_b(b, (uint8_t)(0xC0 | r << 3 | (rm.reg & 7)));
        return;
    }
    uint8_t base = rm.reg & 7;
    uint8_t mod = (rm.disp == 0 && base != 5) ? 0 : x_fits8(rm.disp) ? 1 : 2;
    if (rm.index != X_NOREG || base == 4) {
        uint8_t idx = rm.index != X_NOREG ? (rm.index & 7) : 4;
        x_b(b, (uint8_t)(mod << 6 | r << 3 | 4));
        x_b(b, (uint8_t)(rm.scale << 6 | idx << 3 | base));
    } else {
        x_b(b, (uint8_t)(mod << 6 | r << 3 | base));
    }
    if (mod == 1)
        x_b(b, (uint8_t)(int8_t)rm.disp);
    else if (mod == 2)
        x_d(b, (uint32_t)rm.disp);
}

/* ALU group numbers (/n of 81 and 83) and their "r, r/m" opcodes. */
enum { ALU_ADD = 0, ALU_OR = 1, ALU_AND = 4, ALU_SUB = 5, ALU_XOR = 6, ALU_CMP = 7 };

/* op reg, r/m (w: 64-bit) */
static inline void x_alu_r_rm(jk_x64_buf *b, int alu, bool w, uint8_t reg, jk_x64_rm rm)
{
    x_op(b, 0, w, (uint32_t)(alu * 8 + 3), 1, reg, rm, false);
}

/* op r/m, reg */
static inline void x_alu_rm_r(jk_x64_buf *b, int alu, bool w, jk_x64_rm rm, uint8_t reg)
{
    x_op(b, 0, w, (uint32_t)(alu * 8 + 1), 1, reg, rm, false);
}

/* op r/m, imm (sign-extended 8 or 32 bits) */
static inline void x_alu_rm_imm(jk_x64_buf *b, int alu, bool w, jk_x64_rm rm, int32_t imm)
{
    if (x_fits8(imm)) {
        x_op(b, 0, w, 0x83, 1, (uint8_t)alu, rm, false);
        x_b(b, (uint8_t)(int8_t)imm);
    } else {
        x_op(b, 0, w, 0x81, 1, (uint8_t)alu, rm, false);
        x_d(b, (uint32_t)imm);
    }
}

static inline void x_mov_r_rm(jk_x64_buf *b, bool w, uint8_t reg, jk_x64_rm rm)
{
    if (!rm.is_mem && rm.reg == reg && w)
        return;
    x_op(b, 0, w, 0x8B, 1, reg, rm, false);
}

static inline void x_mov_rm_r(jk_x64_buf *b, bool w, jk_x64_rm rm, uint8_t reg)
{
    if (!rm.is_mem && rm.reg == reg && w)
        return;
    x_op(b, 0, w, 0x89, 1, reg, rm, false);
}

/* Load a 64-bit constant into reg with the shortest form (never touches
 * flags, so it may sit between a compare and its use). */
static inline void x_mov_r_imm(jk_x64_buf *b, uint8_t reg, uint64_t v)
{
    if (v <= UINT32_MAX) {
        if (reg & 8)
            x_b(b, 0x41);
        x_b(b, (uint8_t)(0xB8 + (reg & 7)));
        x_d(b, (uint32_t)v);
    } else if (x_fits32(v)) {
        x_op(b, 0, true, 0xC7, 1, 0, X_REG(reg), false);
        x_d(b, (uint32_t)v);
    } else {
        x_b(b, (uint8_t)(0x48 | ((reg & 8) ? 1 : 0)));
        x_b(b, (uint8_t)(0xB8 + (reg & 7)));
        x_q(b, v);
    }
}

/* Shift/rotate group (/n): rol 0, ror 1, shl 4, shr 5, sar 7. */
enum { SH_ROL = 0, SH_ROR = 1, SH_SHL = 4, SH_SHR = 5, SH_SAR = 7 };

static inline void x_shift_imm(jk_x64_buf *b, int sh, bool w, uint8_t reg, uint8_t count)
{
    x_op(b, 0, w, 0xC1, 1, (uint8_t)sh, X_REG(reg), false);
    x_b(b, count);
}

static inline void x_shift_cl(jk_x64_buf *b, int sh, bool w, uint8_t reg)
{
    x_op(b, 0, w, 0xD3, 1, (uint8_t)sh, X_REG(reg), false);
}

/* Unary group F7: not 2, neg 3, mul 4, imul 5, div 6, idiv 7. */
static inline void x_f7(jk_x64_buf *b, int n, bool w, jk_x64_rm rm)
{
    x_op(b, 0, w, 0xF7, 1, (uint8_t)n, rm, false);
}

static inline void x_movsxd(jk_x64_buf *b, uint8_t reg, jk_x64_rm rm)
{
    x_op(b, 0, true, 0x63, 1, reg, rm, false);
}

static inline void x_setcc(jk_x64_buf *b, int cc, uint8_t reg)
{
    x_op(b, 0, false, (uint32_t)(0x0F90 + cc), 2, 0, X_REG(reg), true);
}

static inline void x_cmov(jk_x64_buf *b, int cc, bool w, uint8_t reg, jk_x64_rm rm)
{
    x_op(b, 0, w, (uint32_t)(0x0F40 + cc), 2, reg, rm, false);
}

/* jcc rel32 / jmp rel32 / call rel32: return the offset of the rel32 field. */
static inline size_t x_jcc32(jk_x64_buf *b, int cc)
{
    x_b(b, 0x0F);
    x_b(b, (uint8_t)(0x80 + cc));
    size_t at = b->len;
    x_d(b, 0);
    return at;
}

static inline size_t x_jmp32(jk_x64_buf *b)
{
    x_b(b, 0xE9);
    size_t at = b->len;
    x_d(b, 0);
    return at;
}

static inline size_t x_call32(jk_x64_buf *b)
{
    x_b(b, 0xE8);
    size_t at = b->len;
    x_d(b, 0);
    return at;
}

/* Short forward jumps: emit with a placeholder, then x_here8 at the target. */
static inline size_t x_jcc8(jk_x64_buf *b, int cc)
{
    x_b(b, (uint8_t)(0x70 + cc));
    x_b(b, 0);
    return b->len - 1;
}

static inline size_t x_jmp8(jk_x64_buf *b)
{
    x_b(b, 0xEB);
    x_b(b, 0);
    return b->len - 1;
}

static inline void x_here8(jk_x64_buf *b, size_t at)
{
    size_t rel = b->len - (at + 1);
    if (b->oom || at >= b->len)
        return;
    if (rel > 127)
        b->oom = true; /* a bug in a bound: refuse the code, never mis-jump */
    else
        b->p[at] = (uint8_t)rel;
}

/* Patch a rel32 field at `at` to jump to `target` (offsets in the buffer). */
static inline void x_patch32(jk_x64_buf *b, size_t at, size_t target)
{
    if (b->oom || at + 4 > b->len)
        return;
    uint32_t rel = (uint32_t)((int64_t)target - (int64_t)(at + 4));
    memcpy(b->p + at, &rel, 4);
}

static inline void x_push(jk_x64_buf *b, uint8_t reg)
{
    if (reg & 8)
        x_b(b, 0x41);
    x_b(b, (uint8_t)(0x50 + (reg & 7)));
}

static inline void x_pop(jk_x64_buf *b, uint8_t reg)
{
    if (reg & 8)
        x_b(b, 0x41);
    x_b(b, (uint8_t)(0x58 + (reg & 7)));
}

/* SSE2 (the x86-64 baseline: no CPU check needed), for the loops' 16-byte
 * moves (jit_loop.c). x is an xmm register number 0..15. */
/* movdqu xmm, m128 */
static inline void x_movdqu_load(jk_x64_buf *b, uint8_t x, jk_x64_rm m) { x_op(b, 0xF3, false, 0x0F6F, 2, x, m, false); }
/* movdqu m128, xmm */
static inline void x_movdqu_store(jk_x64_buf *b, jk_x64_rm m, uint8_t x) { x_op(b, 0xF3, false, 0x0F7F, 2, x, m, false); }
/* movq xmm, r/m64 (the upper half zeroed) */
static inline void x_movq_to_xmm(jk_x64_buf *b, uint8_t x, jk_x64_rm rm) { x_op(b, 0x66, true, 0x0F6E, 2, x, rm, false); }
/* movq r/m64, xmm (its low half) */
static inline void x_movq_from_xmm(jk_x64_buf *b, jk_x64_rm rm, uint8_t x) { x_op(b, 0x66, true, 0x0F7E, 2, x, rm, false); }
/* punpcklqdq xd, xs: xd = (xd's low half, xs's low half) */
static inline void x_punpcklqdq(jk_x64_buf *b, uint8_t xd, uint8_t xs) { x_op(b, 0x66, false, 0x0F6C, 2, xd, X_REG(xs), false); }
/* pshufd xd, xs, 0xEE: xd's low half = xs's high half */
static inline void x_pshufd_hi(jk_x64_buf *b, uint8_t xd, uint8_t xs)
{
    x_op(b, 0x66, false, 0x0F70, 2, xd, X_REG(xs), false);
    x_b(b, 0xEE);
}

#endif
