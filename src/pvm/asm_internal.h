/*
 * asm_internal.h — what the assembler (asm.c, asm_lex.c) and the disassembler
 * (disasm.c) share: the encoder of one instruction, and the assembler's lexer.
 *
 * The encoder is the exact inverse of jk_pvm_decode_operands() for canonical
 * encodings: every immediate and offset in the fewest bytes whose sign
 * extension gives it back, register nibbles as given, unused bits zero. The
 * disassembler calls it to decide whether an instruction's bytes are canonical
 * (then it prints text) or not (then it prints the raw bytes).
 */
#ifndef JK_PVM_ASM_INTERNAL_H
#define JK_PVM_ASM_INTERNAL_H

#include "internal.h"

/* The longest canonical encoding is 11 bytes (REG_REG_IMM_IMM: opcode, regs,
 * length byte, 4 + 4 immediate bytes). */
#define JK_PVM_ASM_MAX_INSN 16

/* One instruction in operand form, independent of where it sits. */
typedef struct jk_pvm_asm_insn {
    uint8_t opcode;
    uint8_t ra, rb, rd;     /* register indices 0..12 */
    uint64_t imm_x, imm_y;  /* immediates as the decoder yields them (64-bit,
                               already sign-extended); imm_x of REG_IMM64 is
                               any 64-bit value */
    uint64_t target;        /* absolute branch/jump target of the OFFSET
                               formats (may be "negative", i.e. wrap) */
} jk_pvm_asm_insn;

/* Fewest bytes n in 0..4 such that sign-extending the low n bytes of v gives
 * v back (0 for v == 0); 5 when no n <= 4 does. */
unsigned jk_pvm_asm_imm_len(uint64_t v);

/* Encode `in` as it would sit at `pc`. Offsets (target - pc) take the fewest
 * bytes, but at least min_offset_len (0..4; the layout may force longer ones).
 * @return the encoded length (1..11), or 0 when the opcode is not an
 *         instruction, an immediate is not a sign-extended 32-bit value, or
 *         the offset does not fit 4 bytes. */
size_t jk_pvm_asm_encode(const jk_pvm_asm_insn *in, uint32_t pc,
                         unsigned min_offset_len,
                         uint8_t out[JK_PVM_ASM_MAX_INSN]);

/* The absolute target of a decoded instruction with an OFFSET format
 * (OFFSET, REG_IMM_OFFSET, REG_REG_OFFSET); false for other formats. */
bool jk_pvm_asm_target_of(const jk_pvm_operands *ops, uint64_t *target);

/* Operand letters of a format: R register, I 32-bit immediate, W 64-bit
 * immediate, T branch target. "" for NONE. */
const char *jk_pvm_asm_signature(jk_pvm_argfmt fmt);

/* ---- lexer (asm_lex.c) ---- */

typedef enum jk_asm_opkind {
    JK_ASM_OP_REG,    /* rN; value = N (0..12, checked by the lexer) */
    JK_ASM_OP_NUM,    /* a number; value = its 64-bit pattern, neg = had '-' */
    JK_ASM_OP_JT,     /* jt(label); name = the label */
    JK_ASM_OP_LABEL,  /* a bare identifier */
} jk_asm_opkind;

typedef struct jk_asm_operand {
    jk_asm_opkind kind;
    bool neg;
    uint64_t value;
    const char *name;  /* label name (JK_ASM_OP_JT, JK_ASM_OP_LABEL) */
    size_t name_len;
    const char *text;  /* the whole operand, for messages */
    size_t text_len;
} jk_asm_operand;

/* Identifier characters: names start with [A-Za-z_] and go on with
 * [A-Za-z0-9_.]; directives are '.' followed by identifier characters. */
bool jk_asm_is_ident_start(char c);
bool jk_asm_is_ident_char(char c);

/* True when name[0..len) spells a register, r or R followed by digits (any
 * number, so that r13 is reported as out of range rather than as a label). */
bool jk_asm_is_register_name(const char *name, size_t len);

/* Parse one operand from text[0..len) (already trimmed, non-empty).
 * On failure writes "line N: ..." into diag and returns JK_ERR_PVM_ASM. */
jk_err jk_asm_parse_operand(const char *text, size_t len, unsigned line,
                            jk_asm_operand *out, jk_diag *diag);

/* Parse a whole operand as a number; false when it is not one (no diag). */
bool jk_asm_parse_number(const char *text, size_t len, uint64_t *value,
                         bool *neg, bool *overflow);

/* The value of a number operand as a sign-extended 32-bit immediate, if it
 * is one (see docs/asm.md): [-2^31, 2^32) or a 64-bit pattern that is the
 * sign extension of its low 4 bytes. */
bool jk_asm_imm32_value(const jk_asm_operand *op, uint64_t *value);

#endif
