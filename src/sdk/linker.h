/*
 * linker.h — the SDK's ELF-to-PVM linker (RISC-V RV64EM → PVM), internal to
 * the sdk layer (its public face: jk_sdk_link in jark/sdk.h).
 *
 * Pipeline (docs/sdk-linker.md):
 *   elf.c        parse and check a linked ELF64 RISC-V executable
 *   rv.c         decode RV64EM instructions
 *   translate.c  RV64EM → PVM assembly text, one basic block structure for both
 *   link.c       layout checks, code-address → jump-table mapping, data
 *                patching, the standard program and the jark program file
 */
#ifndef JK_SDK_LINKER_H
#define JK_SDK_LINKER_H

#include "jark/err.h"
#include "jark/sdk.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- ELF ---- */

typedef struct jk_elf_section {
    const char *name;
    uint32_t type;
    uint64_t flags, addr, offset, size;
    uint32_t link, info;
    uint64_t entsize;
    const uint8_t *data; /* NULL for SHT_NOBITS */
} jk_elf_section;

typedef struct jk_elf_symbol {
    const char *name;
    uint64_t value, size;
    uint16_t shndx;
    uint8_t info;
} jk_elf_symbol;

typedef struct jk_elf_reloc {
    uint64_t offset;  /* address the relocation applies to */
    uint32_t type;    /* R_RISCV_* */
    uint32_t sym;
    int64_t addend;
    uint64_t target;  /* S + A: the final address referred to */
    uint32_t section; /* index of the section it applies to */
} jk_elf_reloc;

typedef struct jk_elf {
    const uint8_t *bytes;
    size_t len;
    jk_elf_section *sections;
    size_t section_count;
    jk_elf_symbol *symbols;
    size_t symbol_count;
    jk_elf_reloc *relocs; /* sorted by (section, offset) */
    size_t reloc_count;
} jk_elf;

/* Parse an ELF64 little-endian RISC-V executable. `bytes` is borrowed and
 * must outlive *out. Every offset, size and index is bounds-checked.
 * @return JK_OK, JK_ERR_PARSE with the reason, or JK_ERR_NOMEM. */
jk_err jk_sdk_elf_parse(const uint8_t *bytes, size_t len, jk_elf *out, jk_diag *diag);
void jk_sdk_elf_free(jk_elf *elf);

/* The section holding address addr with all of `flags`, or -1. */
int jk_sdk_elf_section_at(const jk_elf *elf, uint64_t addr, uint64_t flags);
/* The symbol named `name`, or NULL. */
const jk_elf_symbol *jk_sdk_elf_symbol_find(const jk_elf *elf, const char *name);

#define JK_SHF_WRITE 0x1
#define JK_SHF_ALLOC 0x2
#define JK_SHF_EXECINSTR 0x4
#define JK_SHT_PROGBITS 1
#define JK_SHT_SYMTAB 2
#define JK_SHT_STRTAB 3
#define JK_SHT_RELA 4
#define JK_SHT_NOBITS 8

#define JK_R_RISCV_32 1
#define JK_R_RISCV_64 2
#define JK_R_RISCV_BRANCH 16
#define JK_R_RISCV_JAL 17
#define JK_R_RISCV_CALL 18
#define JK_R_RISCV_CALL_PLT 19
#define JK_R_RISCV_PCREL_HI20 23
#define JK_R_RISCV_PCREL_LO12_I 24
#define JK_R_RISCV_PCREL_LO12_S 25
#define JK_R_RISCV_HI20 26
#define JK_R_RISCV_LO12_I 27
#define JK_R_RISCV_LO12_S 28
#define JK_R_RISCV_RELAX 51

/* ---- RV64EM ---- */

typedef enum jk_rv_op {
    JK_RV_INVALID = 0,
    JK_RV_LUI, JK_RV_AUIPC, JK_RV_JAL, JK_RV_JALR,
    JK_RV_BEQ, JK_RV_BNE, JK_RV_BLT, JK_RV_BGE, JK_RV_BLTU, JK_RV_BGEU,
    JK_RV_LB, JK_RV_LH, JK_RV_LW, JK_RV_LD, JK_RV_LBU, JK_RV_LHU, JK_RV_LWU,
    JK_RV_SB, JK_RV_SH, JK_RV_SW, JK_RV_SD,
    JK_RV_ADDI, JK_RV_SLTI, JK_RV_SLTIU, JK_RV_XORI, JK_RV_ORI, JK_RV_ANDI,
    JK_RV_SLLI, JK_RV_SRLI, JK_RV_SRAI,
    JK_RV_ADD, JK_RV_SUB, JK_RV_SLL, JK_RV_SLT, JK_RV_SLTU, JK_RV_XOR,
    JK_RV_SRL, JK_RV_SRA, JK_RV_OR, JK_RV_AND,
    JK_RV_ADDIW, JK_RV_SLLIW, JK_RV_SRLIW, JK_RV_SRAIW,
    JK_RV_ADDW, JK_RV_SUBW, JK_RV_SLLW, JK_RV_SRLW, JK_RV_SRAW,
    JK_RV_MUL, JK_RV_MULH, JK_RV_MULHSU, JK_RV_MULHU,
    JK_RV_DIV, JK_RV_DIVU, JK_RV_REM, JK_RV_REMU,
    JK_RV_MULW, JK_RV_DIVW, JK_RV_DIVUW, JK_RV_REMW, JK_RV_REMUW,
    JK_RV_FENCE, JK_RV_ECALL, JK_RV_EBREAK, JK_RV_UNIMP,
    JK_RV_HOSTCALL, /* custom-0, I-type, funct3 0: the SDK's host call */
    JK_RV_OP_COUNT
} jk_rv_op;

typedef struct jk_rv_insn {
    uint32_t raw;
    uint8_t op;           /* jk_rv_op */
    uint8_t rd, rs1, rs2; /* x0..x31 as encoded */
    int64_t imm;          /* sign-extended immediate (U-type: already << 12) */
} jk_rv_insn;

/* Decode one 32-bit instruction word; op is JK_RV_INVALID when it is not an
 * RV64IM instruction the linker knows. */
void jk_sdk_rv_decode(uint32_t raw, jk_rv_insn *out);
const char *jk_sdk_rv_op_name(jk_rv_op op);
/* Human-readable form for error messages, e.g. "addi a0, sp, 16". */
void jk_sdk_rv_format(const jk_rv_insn *insn, char *buf, size_t len);

/* ---- linking ---- */

/* The counts jark/sdk.h publishes as jk_sdk_link_stats. */
typedef jk_sdk_link_stats jk_link_stats;

/* Translate a linked ELF (laid out by sdk/link.ld) into a jark program file.
 * @param asm_out  optional: receives the generated PVM assembly (malloc'd).
 * @return JK_OK; JK_ERR_PARSE for an ELF that is malformed, laid out other
 *         than the standard program format needs, or holds an instruction
 *         the linker cannot translate (diag names its address and text). */
jk_err jk_sdk_link_elf(const uint8_t *elf_bytes, size_t elf_len, uint32_t stack_size,
                   uint32_t heap_pages, uint8_t **out, size_t *out_len,
                   char **asm_out, jk_link_stats *stats, jk_diag *diag);

/* jk_sdk_link_elf, and (pcs non-NULL) for the pc → source line map: each PVM
 * instruction's pc with the RISC-V address it was translated from, in pc
 * order (*pcs malloc'd, the caller frees it; only on JK_OK). */
typedef struct jk_link_pc {
    uint32_t pc;
    uint64_t rv_addr;
} jk_link_pc;
jk_err jk_sdk_link_elf_map(const uint8_t *elf_bytes, size_t elf_len, uint32_t stack_size, uint32_t heap_pages,
                       uint8_t **out, size_t *out_len, char **asm_out, jk_link_pc **pcs, size_t *pc_count,
                       jk_link_stats *stats, jk_diag *diag);

/* Write the pc → source line map (map.c) of a linked ELF built with
 * -gdwarf-4, given the linker's pcs. @return JK_OK; JK_ERR_IO; the ELF's
 * and the line tables' errors; JK_ERR_NOMEM. */
jk_err jk_sdk_map_write(const uint8_t *elf_bytes, size_t elf_len, const jk_link_pc *pcs, size_t npcs,
                        const char *path, jk_diag *diag);

/* ---- DWARF line tables (dwarf.c) ---- */

typedef struct jk_line_row {
    uint64_t addr;
    const char *dir;    /* NULL or the file's directory (points into the ELF) */
    const char *file;   /* the file's name (points into the ELF) */
    uint32_t line;
    bool end;           /* end_sequence: addresses from here on are not covered */
} jk_line_row;

/* The rows of every line program in the ELF's .debug_line (DWARF 2..4),
 * sorted by address (*rows malloc'd; 0 rows when there is no .debug_line).
 * @return JK_OK; JK_ERR_PARSE (a malformed table, with the offset);
 *         JK_ERR_NOMEM. */
jk_err jk_sdk_dwarf_lines(const jk_elf *elf, jk_line_row **rows, size_t *count, jk_diag *diag);

#endif
