/*
 * link.c — from a linked RV64EM ELF to a jark program file.
 *
 *   1. find the code (one executable section) and decode it;
 *   2. read relocations (the ELF must be linked with --emit-relocs): which
 *      lui/auipc + addi pairs and which data words hold code addresses, and
 *      which auipc + jalr pairs are calls;
 *   3. find every jump target (labels) and every code address used as a value
 *      (jump-table entries: return addresses, function pointers, switch tables);
 *   4. emit PVM assembly (translate.c) and assemble it (jk_pvm_asm);
 *   5. lay out data as the Graypaper's standard program needs it (read-only at
 *      64 KiB, read-write at 2·Z_Z + Z(|o|)), with code addresses in data
 *      replaced by jump-table addresses;
 *   6. read the endpoint table (section .jark.endpoints) and write the file.
 */
#include "translate.h"

#include "jark/pvm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JK_ENDPOINT_RECORD 64 /* sdk/jark.h: u64 address, u32 index, char name[52] */

static uint64_t jk_le_read(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static bool jk_in_text(const jk_tr *tr, uint64_t addr) { return jk_sdk_tr_index(tr, addr) >= 0; }

/* Mark the instruction at addr as a jump target (and optionally a jump-table
 * entry). The address must be an instruction of the code. */
static jk_err jk_mark(jk_tr *tr, uint64_t addr, uint8_t flag, uint64_t from, const char *what)
{
    long i = jk_sdk_tr_index(tr, addr);
    if (i < 0)
        return jk_diag_set(tr->diag, JK_ERR_PARSE, "0x%llx: %s 0x%llx is not an instruction of the code",
                           (unsigned long long)from, what, (unsigned long long)addr);
    tr->flags[i] |= flag;
    return JK_OK;
}

/* Steps 1–3. */
static jk_err jk_analyse(jk_tr *tr)
{
    const jk_elf *elf = tr->elf;
    jk_err err;
    tr->text_section = -1;
    for (size_t s = 0; s < elf->section_count; s++) {
        const jk_elf_section *sec = &elf->sections[s];
        if ((sec->flags & (JK_SHF_ALLOC | JK_SHF_EXECINSTR)) != (JK_SHF_ALLOC | JK_SHF_EXECINSTR) || !sec->size)
            continue;
        if (tr->text_section >= 0)
            return jk_diag_set(tr->diag, JK_ERR_PARSE, "more than one code section ('%s' and '%s'): link with sdk/link.ld",
                               elf->sections[tr->text_section].name, sec->name);
        tr->text_section = (int)s;
    }
    if (tr->text_section < 0)
        return jk_diag_set(tr->diag, JK_ERR_PARSE, "the ELF has no code section");
    const jk_elf_section *text = &elf->sections[tr->text_section];
    if (!text->data || text->size % 4 || text->addr % 4)
        return jk_diag_set(tr->diag, JK_ERR_PARSE, "code section '%s' is not whole 4-byte instructions "
                           "(compressed instructions are not supported: use -march=rv64em)", text->name);
    tr->text_addr = text->addr;
    tr->count = (size_t)(text->size / 4);
    tr->insns = calloc(tr->count, sizeof *tr->insns);
    tr->flags = calloc(tr->count, 1);
    tr->hi_target = calloc(tr->count, sizeof *tr->hi_target);
    tr->jt_index = calloc(tr->count, sizeof *tr->jt_index);
    if (!tr->insns || !tr->flags || !tr->hi_target || !tr->jt_index)
        return JK_ERR_NOMEM;
    for (size_t i = 0; i < tr->count; i++)
        jk_sdk_rv_decode((uint32_t)jk_le_read(text->data + 4 * i, 4), &tr->insns[i]);

    /* Relocations in the code: first the high halves, then the rest. */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t k = 0; k < elf->reloc_count; k++) {
            const jk_elf_reloc *r = &elf->relocs[k];
            if (r->section != (uint32_t)tr->text_section)
                continue;
            long i = jk_sdk_tr_index(tr, r->offset);
            if (i < 0)
                return jk_diag_set(tr->diag, JK_ERR_PARSE, "relocation at 0x%llx is not on an instruction",
                                   (unsigned long long)r->offset);
            const jk_rv_insn *in = &tr->insns[i];
            bool hi = r->type == JK_R_RISCV_HI20 || r->type == JK_R_RISCV_PCREL_HI20;
            if (pass == 0 && hi) {
                tr->flags[i] |= JK_TR_HAS_HI;
                tr->hi_target[i] = r->target;
                if (jk_in_text(tr, r->target)) {
                    tr->flags[i] |= JK_TR_CODE_HI;
                    if ((err = jk_mark(tr, r->target, JK_TR_JT, r->offset, "code address")))
                        return err;
                }
            } else if (pass == 0 && (r->type == JK_R_RISCV_CALL || r->type == JK_R_RISCV_CALL_PLT)) {
                const jk_rv_insn *jr = (size_t)i + 1 < tr->count ? &tr->insns[i + 1] : NULL;
                if (in->op != JK_RV_AUIPC || !jr || jr->op != JK_RV_JALR || jr->rs1 != in->rd || in->rd == 0)
                    return jk_diag_set(tr->diag, JK_ERR_PARSE, "0x%llx: call relocation not on an auipc + jalr pair",
                                       (unsigned long long)r->offset);
                tr->flags[i] |= JK_TR_CALL_HI;
                tr->flags[i + 1] |= JK_TR_CALL_LO;
            } else if (pass == 1 && (r->type == JK_R_RISCV_LO12_I || r->type == JK_R_RISCV_LO12_S)) {
                if (jk_in_text(tr, r->target))
                    tr->flags[i] |= JK_TR_CODE_LO;
            } else if (pass == 1 && (r->type == JK_R_RISCV_PCREL_LO12_I || r->type == JK_R_RISCV_PCREL_LO12_S)) {
                long h = jk_sdk_tr_index(tr, r->target); /* the target is the auipc it pairs with */
                if (h < 0 || !(tr->flags[h] & JK_TR_HAS_HI))
                    return jk_diag_set(tr->diag, JK_ERR_PARSE, "0x%llx: pc-relative low half without its auipc",
                                       (unsigned long long)r->offset);
                if (tr->flags[h] & JK_TR_CODE_HI)
                    tr->flags[i] |= JK_TR_CODE_LO;
            } else if (pass == 0 && (r->type == JK_R_RISCV_32 || r->type == JK_R_RISCV_64)) {
                return jk_diag_set(tr->diag, JK_ERR_PARSE, "0x%llx: data word inside the code section",
                                   (unsigned long long)r->offset);
            }
        }
    }

    /* Calls and tail calls within one section carry no relocation once the
     * assembler has resolved them: recognise the auipc + jalr pair itself. */
    for (size_t i = 0; i + 1 < tr->count; i++) {
        const jk_rv_insn *in = &tr->insns[i], *jr = &tr->insns[i + 1];
        if (in->op == JK_RV_AUIPC && !(tr->flags[i] & (JK_TR_HAS_HI | JK_TR_CALL_HI)) && in->rd != 0 &&
            jr->op == JK_RV_JALR && jr->rs1 == in->rd) {
            tr->flags[i] |= JK_TR_CALL_HI;
            tr->flags[i + 1] |= JK_TR_CALL_LO;
        }
    }

    /* Control flow. */
    for (size_t i = 0; i < tr->count; i++) {
        const jk_rv_insn *in = &tr->insns[i];
        uint64_t addr = tr->text_addr + 4 * (uint64_t)i;
        if (tr->flags[i] & JK_TR_CALL_HI) {
            const jk_rv_insn *jr = &tr->insns[i + 1];
            uint64_t target = addr + (uint64_t)in->imm + (uint64_t)jr->imm;
            uint8_t f = JK_TR_TARGET | (in->rd != jr->rd ? JK_TR_JT : 0);
            if ((err = jk_mark(tr, target, f, addr, "call target")))
                return err;
            if (jr->rd != 0 && i + 2 < tr->count)
                tr->flags[i + 2] |= JK_TR_JT;
            else if (jr->rd != 0)
                return jk_diag_set(tr->diag, JK_ERR_PARSE, "0x%llx: call at the end of the code has nowhere to return",
                                   (unsigned long long)addr);
            i++;
            continue;
        }
        switch (in->op) {
        case JK_RV_JAL:
            if ((err = jk_mark(tr, addr + (uint64_t)in->imm, JK_TR_TARGET, addr, "jump target")))
                return err;
            __attribute__((fallthrough)); /* a linking jal returns to the next instruction */
        case JK_RV_JALR:
            if (in->rd != 0) {
                if (i + 1 >= tr->count)
                    return jk_diag_set(tr->diag, JK_ERR_PARSE, "0x%llx: call at the end of the code has nowhere to return",
                                       (unsigned long long)addr);
                tr->flags[i + 1] |= JK_TR_JT;
            }
            break;
        case JK_RV_BEQ: case JK_RV_BNE: case JK_RV_BLT: case JK_RV_BGE: case JK_RV_BLTU: case JK_RV_BGEU:
            if ((err = jk_mark(tr, addr + (uint64_t)in->imm, JK_TR_TARGET, addr, "branch target")))
                return err;
            break;
        default:
            break;
        }
    }
    return JK_OK;
}

/* A code address stored in data: where, how wide, and which instruction. */
typedef struct jk_patch {
    int section;
    uint64_t offset;
    unsigned size;
    size_t insn;
} jk_patch;

/* Data relocations that point into the code become jump-table entries. */
static jk_err jk_collect_patches(jk_tr *tr, jk_patch **out, size_t *count)
{
    const jk_elf *elf = tr->elf;
    size_t n = 0;
    jk_patch *patches = calloc(elf->reloc_count ? elf->reloc_count : 1, sizeof *patches);
    if (!patches)
        return JK_ERR_NOMEM;
    for (size_t k = 0; k < elf->reloc_count; k++) {
        const jk_elf_reloc *r = &elf->relocs[k];
        const jk_elf_section *sec = &elf->sections[r->section];
        if ((int)r->section == tr->text_section || !(sec->flags & JK_SHF_ALLOC) || !jk_in_text(tr, r->target))
            continue;
        if (r->type != JK_R_RISCV_32 && r->type != JK_R_RISCV_64) {
            free(patches);
            return jk_diag_set(tr->diag, JK_ERR_PARSE, "0x%llx in '%s': code address in data with relocation type %u "
                               "(only absolute 32/64-bit ones are supported)", (unsigned long long)r->offset,
                               sec->name, r->type);
        }
        long i = jk_sdk_tr_index(tr, r->target);
        tr->flags[i] |= JK_TR_JT;
        patches[n].section = (int)r->section;
        patches[n].offset = r->offset;
        patches[n].size = r->type == JK_R_RISCV_32 ? 4 : 8;
        patches[n].insn = (size_t)i;
        n++;
    }
    *out = patches;
    *count = n;
    return JK_OK;
}

/* Step 5: the read-only and read-write images. */
typedef struct jk_images {
    uint8_t *ro, *rw;
    uint32_t ro_len, rw_len;  /* initialised bytes */
    uint64_t rw_total;        /* including zero-initialised (.bss) */
} jk_images;

static jk_err jk_build_images(jk_tr *tr, const jk_patch *patches, size_t npatches, jk_images *img)
{
    const jk_elf *elf = tr->elf;
    uint64_t ro_end = JK_PVM_ZONE_SIZE, rw_init_end = 0, rw_end = 0;
    memset(img, 0, sizeof *img);
    /* Extents. */
    for (size_t s = 0; s < elf->section_count; s++) {
        const jk_elf_section *sec = &elf->sections[s];
        if (!(sec->flags & JK_SHF_ALLOC) || (int)s == tr->text_section || !sec->size)
            continue;
        if (sec->flags & JK_SHF_EXECINSTR)
            continue; /* empty code sections */
        if (!(sec->flags & JK_SHF_WRITE)) {
            if (sec->addr < JK_PVM_ZONE_SIZE || sec->type == JK_SHT_NOBITS)
                return jk_diag_set(tr->diag, JK_ERR_PARSE, "read-only section '%s' at 0x%llx: the standard program "
                                   "format puts read-only data at 0x10000 (link with sdk/link.ld)", sec->name,
                                   (unsigned long long)sec->addr);
            if (sec->addr + sec->size > ro_end)
                ro_end = sec->addr + sec->size;
        }
    }
    uint64_t ro_len = ro_end - JK_PVM_ZONE_SIZE;
    uint64_t rw_base = 2 * (uint64_t)JK_PVM_ZONE_SIZE + (ro_len + JK_PVM_ZONE_SIZE - 1) / JK_PVM_ZONE_SIZE * JK_PVM_ZONE_SIZE;
    if (ro_len >= (1u << 24))
        return jk_diag_set(tr->diag, JK_ERR_PARSE, "read-only data is %llu bytes (limit 16 MiB)", (unsigned long long)ro_len);
    rw_end = rw_init_end = rw_base;
    for (size_t s = 0; s < elf->section_count; s++) {
        const jk_elf_section *sec = &elf->sections[s];
        if (!(sec->flags & JK_SHF_ALLOC) || !(sec->flags & JK_SHF_WRITE) || !sec->size || (sec->flags & JK_SHF_EXECINSTR))
            continue;
        if (sec->addr < rw_base)
            return jk_diag_set(tr->diag, JK_ERR_PARSE, "read-write section '%s' at 0x%llx, but with %llu bytes of read-only "
                               "data the standard program format places read-write data at 0x%llx (link with jark cc)",
                               sec->name, (unsigned long long)sec->addr, (unsigned long long)ro_len,
                               (unsigned long long)rw_base);
        if (sec->addr + sec->size > rw_end)
            rw_end = sec->addr + sec->size;
        if (sec->type != JK_SHT_NOBITS && sec->addr + sec->size > rw_init_end)
            rw_init_end = sec->addr + sec->size;
    }
    if (rw_init_end - rw_base >= (1u << 24) || rw_end - rw_base > (UINT64_C(1) << 31))
        return jk_diag_set(tr->diag, JK_ERR_PARSE, "read-write data too large");
    img->ro_len = (uint32_t)ro_len;
    img->rw_len = (uint32_t)(rw_init_end - rw_base);
    img->rw_total = rw_end - rw_base;
    img->ro = calloc(img->ro_len ? img->ro_len : 1, 1);
    img->rw = calloc(img->rw_len ? img->rw_len : 1, 1);
    if (!img->ro || !img->rw)
        return JK_ERR_NOMEM;
    for (size_t s = 0; s < elf->section_count; s++) {
        const jk_elf_section *sec = &elf->sections[s];
        if (!(sec->flags & JK_SHF_ALLOC) || (sec->flags & JK_SHF_EXECINSTR) || sec->type == JK_SHT_NOBITS || !sec->size)
            continue;
        if (sec->flags & JK_SHF_WRITE)
            memcpy(img->rw + (sec->addr - rw_base), sec->data, (size_t)sec->size);
        else
            memcpy(img->ro + (sec->addr - JK_PVM_ZONE_SIZE), sec->data, (size_t)sec->size);
    }
    /* Code addresses in data → jump-table addresses. */
    for (size_t k = 0; k < npatches; k++) {
        const jk_elf_section *sec = &elf->sections[patches[k].section];
        uint64_t value = 2 * ((uint64_t)tr->jt_index[patches[k].insn] + 1);
        uint8_t *base;
        uint64_t at = patches[k].offset;
        if (sec->type == JK_SHT_NOBITS)
            return jk_diag_set(tr->diag, JK_ERR_PARSE, "code address in zero-initialised section '%s'", sec->name);
        if (sec->flags & JK_SHF_WRITE) {
            base = img->rw;
            at -= rw_base;
            if (at + patches[k].size > img->rw_len)
                return jk_diag_set(tr->diag, JK_ERR_PARSE, "relocation outside read-write data");
        } else {
            base = img->ro;
            at -= JK_PVM_ZONE_SIZE;
            if (at + patches[k].size > img->ro_len)
                return jk_diag_set(tr->diag, JK_ERR_PARSE, "relocation outside read-only data");
        }
        for (unsigned b = 0; b < patches[k].size; b++)
            base[at + b] = (uint8_t)(value >> (8 * b));
    }
    return JK_OK;
}

/* Step 6: endpoints from the .jark.endpoints section, in index order. */
/* eps[i].pc holds the instruction index until the code is assembled. */
static jk_err jk_read_endpoints(jk_tr *tr, jk_pvm_endpoint *eps, uint32_t *count)
{
    const jk_elf *elf = tr->elf;
    const jk_elf_section *sec = NULL;
    for (size_t s = 0; s < elf->section_count; s++)
        if (!strcmp(elf->sections[s].name, ".jark.endpoints"))
            sec = &elf->sections[s];
    *count = 0;
    if (!sec)
        return JK_OK;
    if (!sec->data || sec->size % JK_ENDPOINT_RECORD || sec->size / JK_ENDPOINT_RECORD > JK_PVM_MAX_ENDPOINTS)
        return jk_diag_set(tr->diag, JK_ERR_PARSE, "section .jark.endpoints is malformed");
    uint32_t n = (uint32_t)(sec->size / JK_ENDPOINT_RECORD);
    bool seen[JK_PVM_MAX_ENDPOINTS] = {false};
    for (uint32_t k = 0; k < n; k++) {
        const uint8_t *rec = sec->data + (size_t)k * JK_ENDPOINT_RECORD;
        uint64_t address = jk_le_read(rec, 8);
        uint64_t index = jk_le_read(rec + 8, 4);
        const char *name = (const char *)rec + 12;
        if (index >= n || seen[index])
            return jk_diag_set(tr->diag, JK_ERR_PARSE, "endpoint indices must be 0..%u, each once (JK_ENDPOINT)", n - 1);
        seen[index] = true;
        if (!memchr(name, 0, JK_ENDPOINT_RECORD - 12))
            return jk_diag_set(tr->diag, JK_ERR_PARSE, "endpoint %llu's name is not terminated", (unsigned long long)index);
        long i = jk_sdk_tr_index(tr, address);
        if (i < 0)
            return jk_diag_set(tr->diag, JK_ERR_PARSE, "endpoint '%s' is not a function of the code", name);
        snprintf(eps[index].name, sizeof eps[index].name, "%s", name);
        eps[index].pc = (uint32_t)i;
    }
    *count = n;
    return JK_OK;
}

static void jk_tr_free(jk_tr *tr)
{
    free(tr->insns);
    free(tr->flags);
    free(tr->hi_target);
    free(tr->jt_index);
    free(tr->text);
    free(tr->insn_addr);
}

/* The k-th instruction of the assembled code is the k-th the translator
 * emitted (the assembler makes one instruction per instruction line, in
 * order): pair each instruction's pc with its RISC-V address. */
static jk_err jk_line_pcs(const jk_tr *tr, const jk_pvm_blob *pb, jk_link_pc **out, size_t *count, jk_diag *diag)
{
    jk_link_pc *pcs = malloc((tr->pvm_insns ? tr->pvm_insns : 1) * sizeof *pcs);
    size_t k = 0;
    if (!pcs)
        return jk_diag_set(diag, JK_ERR_NOMEM, "out of memory");
    for (uint32_t pc = 0; pc < pb->code_len; pc++) {
        if (!jk_pvm_blob_is_insn_start(pb, pc))
            continue;
        if (k == tr->pvm_insns)
            break;
        pcs[k].pc = pc;
        pcs[k].rv_addr = tr->insn_addr[k];
        k++;
    }
    if (k != tr->pvm_insns) {
        free(pcs);
        return jk_diag_set(diag, JK_ERR_PARSE, "internal: %zu instructions assembled, %u emitted", k, tr->pvm_insns);
    }
    *out = pcs;
    *count = k;
    return JK_OK;
}

jk_err jk_sdk_link_elf(const uint8_t *elf_bytes, size_t elf_len, uint32_t stack_size,
                   uint32_t heap_pages, uint8_t **out, size_t *out_len,
                   char **asm_out, jk_link_stats *stats, jk_diag *diag)
{
    return jk_sdk_link_elf_map(elf_bytes, elf_len, stack_size, heap_pages, out, out_len, asm_out, NULL, NULL, stats,
                           diag);
}

jk_err jk_sdk_link_elf_map(const uint8_t *elf_bytes, size_t elf_len, uint32_t stack_size, uint32_t heap_pages,
                       uint8_t **out, size_t *out_len, char **asm_out, jk_link_pc **pcs, size_t *pc_count,
                       jk_link_stats *stats, jk_diag *diag)
{
    jk_elf elf;
    jk_tr tr;
    jk_images img;
    jk_patch *patches = NULL;
    size_t npatches = 0;
    uint8_t *blob = NULL, *core = NULL;
    size_t blob_len = 0, core_len = 0;
    jk_pvm_program *prog = NULL;
    jk_pvm_endpoint *eps = NULL;
    uint32_t neps = 0;
    jk_err err;

    memset(&tr, 0, sizeof tr);
    memset(&img, 0, sizeof img);
    tr.diag = diag;
    tr.record_addrs = pcs != NULL;
    err = jk_sdk_elf_parse(elf_bytes, elf_len, &elf, diag);
    if (err != JK_OK)
        return err;
    tr.elf = &elf;
    eps = calloc(JK_PVM_MAX_ENDPOINTS, sizeof *eps);
    if (!eps) {
        err = JK_ERR_NOMEM;
        goto done;
    }
    if ((err = jk_analyse(&tr)) || (err = jk_collect_patches(&tr, &patches, &npatches)) ||
        (err = jk_read_endpoints(&tr, eps, &neps)))
        goto done;
    for (uint32_t k = 0; k < neps; k++)
        tr.flags[eps[k].pc] |= JK_TR_TARGET | JK_TR_JT; /* block start; the jump table tells its pc */
    for (size_t i = 0; i < tr.count; i++) {
        if (tr.flags[i] & JK_TR_JT)
            tr.jt_index[i] = tr.jt_count++;
        if ((tr.flags[i] & JK_TR_JT) && (tr.flags[i] & JK_TR_CALL_LO)) {
            err = jk_diag_set(diag, JK_ERR_PARSE, "0x%llx: the jalr of a call pair is used as a jump target",
                              (unsigned long long)(tr.text_addr + 4 * i));
            goto done;
        }
    }
    if ((err = jk_sdk_tr_emit(&tr)) || (err = jk_build_images(&tr, patches, npatches, &img)))
        goto done;
    err = jk_pvm_asm(tr.text, tr.text_len, &blob, &blob_len, diag);
    if (err != JK_OK)
        goto done;
    err = jk_pvm_program_load(blob, blob_len, &prog, diag);
    if (err != JK_OK)
        goto done;
    /* Endpoint pcs: every endpoint has a jump-table entry, which the
     * assembler resolved to the endpoint's pc. */
    if (neps) {
        const jk_pvm_blob *pb = jk_pvm_program_blob(prog);
        for (uint32_t k = 0; k < neps; k++) {
            size_t i = eps[k].pc;
            if (!(tr.flags[i] & JK_TR_JT)) {
                err = jk_diag_set(diag, JK_ERR_PARSE, "internal: endpoint '%s' has no jump-table entry", eps[k].name);
                goto done;
            }
            eps[k].pc = jk_pvm_blob_jump_entry(pb, tr.jt_index[i]);
        }
    }
    uint64_t rw_pages = ((img.rw_total + JK_PVM_PAGE_SIZE - 1) / JK_PVM_PAGE_SIZE) -
                        ((img.rw_len + JK_PVM_PAGE_SIZE - 1) / JK_PVM_PAGE_SIZE);
    if (rw_pages + heap_pages >= (1u << 16)) {
        err = jk_diag_set(diag, JK_ERR_PARSE, "zero-initialised data plus heap exceed 65535 pages");
        goto done;
    }
    jk_pvm_stdprog sp = {
        .ro_data = img.ro, .rw_data = img.rw, .code = blob, .ro_len = img.ro_len, .rw_len = img.rw_len,
        .code_len = (uint32_t)blob_len, .heap_pages = (uint32_t)rw_pages + heap_pages, .stack_size = stack_size,
    };
    if ((err = jk_pvm_stdprog_encode(&sp, &core, &core_len)) != JK_OK) {
        jk_diag_set(diag, err, "program does not fit the standard program format");
        goto done;
    }
    if (pcs && (err = jk_line_pcs(&tr, jk_pvm_program_blob(prog), pcs, pc_count, diag)) != JK_OK)
        goto done;
    if ((err = jk_pvm_progfile_encode(eps, neps, core, core_len, out, out_len)) != JK_OK) {
        jk_diag_set(diag, err, "bad endpoint table (names must be [A-Za-z0-9_], unique)");
        if (pcs) {
            free(*pcs);
            *pcs = NULL;
        }
        goto done;
    }
    if (stats) {
        stats->rv_insns = (uint32_t)tr.count;
        stats->pvm_insns = tr.pvm_insns;
        stats->jump_table = tr.jt_count;
        stats->code_bytes = jk_pvm_program_blob(prog)->code_len;
    }
    if (asm_out) {
        *asm_out = tr.text;
        tr.text = NULL;
    }
done:
    jk_pvm_program_free(prog);
    free(blob);
    free(core);
    free(img.ro);
    free(img.rw);
    free(patches);
    free(eps);
    jk_tr_free(&tr);
    jk_sdk_elf_free(&elf);
    return err;
}
