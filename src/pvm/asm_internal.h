/*
 * asm_internal.h — what the assembler (asm.c, asm_lex.c, asm_layout.c) and the
 * disassembler (disasm.c) share: the encoder of one instruction, the
 * assembler's lexer, and the assembler's state.
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
bool jk_pvm_asm_is_ident_start(char c);
bool jk_pvm_asm_is_ident_char(char c);

/* True when name[0..len) spells a register, r or R followed by digits (any
 * number, so that r13 is reported as out of range rather than as a label). */
bool jk_pvm_asm_is_register_name(const char *name, size_t len);

/* Parse one operand from text[0..len) (already trimmed, non-empty).
 * On failure writes "line N: ..." into diag and returns JK_ERR_PVM_ASM. */
jk_err jk_pvm_asm_parse_operand(const char *text, size_t len, unsigned line,
                            jk_asm_operand *out, jk_diag *diag);

/* Parse a whole operand as a number; false when it is not one (no diag). */
bool jk_pvm_asm_parse_number(const char *text, size_t len, uint64_t *value,
                         bool *neg, bool *overflow);

/* The value of a number operand as a sign-extended 32-bit immediate, if it
 * is one (see docs/asm.md): [-2^31, 2^32) or a 64-bit pattern that is the
 * sign extension of its low 4 bytes. */
bool jk_pvm_asm_imm32_value(const jk_asm_operand *op, uint64_t *value);

/* ---- the assembler's state (asm.c parses into it, asm_layout.c lays it
 * out and writes the blob) ---- */

#define JK_ASM_NONE UINT32_MAX
#define JK_ASM_MNEMONIC_SLOTS 512 /* power of two, > 2 * opcode count */

enum { JK_ITEM_INSN, JK_ITEM_BYTES, JK_ITEM_RAW_INSN };

typedef struct jk_asm_label {
    const char *name;  /* points into the source */
    uint32_t len;
    uint32_t hash;
    uint32_t item;     /* index of the item the label precedes */
    uint32_t def_line; /* 0 while not defined */
    uint32_t use_line; /* first line that references it, 0 if none */
    uint32_t jt_index; /* first jump-table entry naming it, or JK_ASM_NONE */
} jk_asm_label;

typedef struct jk_asm_item {
    jk_pvm_asm_insn in;
    uint32_t line;
    uint32_t target_label; /* label index, or JK_ASM_NONE for a numeric target */
    uint32_t jt_label[2];  /* jt(label) for imm_x / imm_y, or JK_ASM_NONE */
    uint32_t raw_off;      /* .byte / .insn: bytes in jk_asm.raw */
    uint32_t raw_len;
    uint8_t kind;
    uint8_t format;
    uint8_t has_offset;    /* an OFFSET-format instruction */
    uint8_t base_size;     /* instruction size with a 0-byte offset */
    uint8_t olen;          /* offset bytes chosen by the layout */
} jk_asm_item;

typedef struct jk_asm_jentry {
    uint32_t line;
    uint32_t label; /* label index, or JK_ASM_NONE */
    uint64_t value; /* a number, or (after layout) the label's address */
} jk_asm_jentry;

typedef struct jk_asm {
    jk_diag *diag;
    const jk_pvm_opinfo *mnemonics[JK_ASM_MNEMONIC_SLOTS];

    jk_asm_item *items;
    size_t n_items, cap_items;
    uint8_t *raw;
    size_t n_raw, cap_raw;
    jk_asm_label *labels;
    size_t n_labels, cap_labels;
    uint32_t *label_slots; /* open addressing: label index + 1, 0 = empty */
    size_t cap_slots;
    jk_asm_jentry *jt;
    size_t n_jt, cap_jt;

    int z;                 /* .jump_entry_size, or -1 */
    unsigned z_line;
    int tail;              /* .bitmask_tail, or -1 */
    unsigned tail_line;
    uint64_t min_code;     /* lower bound on |c| so far */
    unsigned last_line;

    uint64_t *addr;        /* layout: n_items + 1 addresses */
} jk_asm;

/* Give every instruction its offset length and every item its address
 * (a->addr). */
jk_err jk_pvm_asm_layout(jk_asm *a);

/* Build the blob from a laid-out program; *out is malloc'd. */
jk_err jk_pvm_asm_emit(jk_asm *a, uint8_t **out, size_t *out_len);

#endif
