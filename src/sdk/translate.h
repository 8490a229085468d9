/*
 * translate.h — the RV64EM → PVM translator's state, shared by translate.c
 * (instruction selection) and link.c (analysis, layout, output).
 */
#ifndef JK_SDK_TRANSLATE_H
#define JK_SDK_TRANSLATE_H

#include "linker.h"

/* Per-instruction flags. */
enum {
    JK_TR_TARGET = 1 << 0,   /* reached by a jump: must start a PVM basic block */
    JK_TR_JT = 1 << 1,       /* its address is used as a value: jump-table entry */
    JK_TR_CALL_HI = 1 << 2,  /* auipc of an auipc+jalr call pair */
    JK_TR_CALL_LO = 1 << 3,  /* the jalr of that pair (emitted with the auipc) */
    JK_TR_CODE_HI = 1 << 4,  /* lui/auipc materialising a code address */
    JK_TR_CODE_LO = 1 << 5,  /* the low half of a code address: already whole */
    JK_TR_HAS_HI = 1 << 6,   /* lui/auipc with a HI20/PCREL_HI20 relocation */
};

typedef struct jk_tr {
    const jk_elf *elf;
    int text_section;
    uint64_t text_addr;
    size_t count;           /* instructions in the text section */
    jk_rv_insn *insns;
    uint8_t *flags;
    uint64_t *hi_target;    /* for JK_TR_HAS_HI: the relocation's S + A */
    uint32_t *jt_index;     /* for JK_TR_JT: index in the PVM jump table */
    uint32_t jt_count;
    char *text;             /* generated assembly */
    size_t text_len, text_cap;
    uint32_t pvm_insns;     /* instructions emitted */
    bool last_terminates;   /* the last emitted instruction ends a block */
    bool oom;
    jk_diag *diag;
    /* For the pc → source line map: the RISC-V address each emitted PVM
     * instruction came from, in emission order (NULL: not recorded). */
    uint64_t cur_addr;
    uint64_t *insn_addr;
    size_t insn_cap;
    bool record_addrs;
} jk_tr;

/* Index of the instruction at address addr in the text, or -1 when addr is
 * not an instruction address of the text. */
long jk_sdk_tr_index(const jk_tr *tr, uint64_t addr);

/* Emit the whole program's assembly into tr->text (analysis already done:
 * flags, hi_target, jt_index). @return JK_OK, JK_ERR_PARSE (with the address
 * and instruction that cannot be translated) or JK_ERR_NOMEM. */
jk_err jk_sdk_tr_emit(jk_tr *tr);

#endif
