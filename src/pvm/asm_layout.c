/*
 * asm_layout.c — the assembler's layout and output: give each branch its
 * offset length, each item its pc, and write the program blob.
 *
 * An instruction's size depends on its branch offset, which depends on the
 * sizes between it and its target. Start from the shortest offsets and
 * re-measure in pc order until nothing changes. With label targets the sizes
 * only grow, so this reaches the least fixed point (the most compact layout,
 * every offset in its fewest bytes). Numeric targets can make a size shrink
 * again, so after JK_ASM_PLAIN_PASSES passes sizes are only allowed to grow,
 * which always terminates (an offset is at most 4 bytes) at the price of a
 * possibly longer-than-needed offset.
 */
#include "asm_internal.h"

#include <stdlib.h>

#define JK_ASM_PLAIN_PASSES 32

static uint64_t jk_item_size(const jk_asm_item *it)
{
    if (it->kind != JK_ITEM_INSN)
        return it->raw_len;
    return (uint64_t)it->base_size + it->olen;
}

static uint64_t jk_item_target(const jk_asm *a, const jk_asm_item *it)
{
    if (it->target_label == JK_ASM_NONE)
        return it->in.target;
    return a->addr[a->labels[it->target_label].item];
}

/* The offset of item i (at pc this pass, at prev_pc the pass before) during
 * layout. Items before i already have this pass's addresses, items after it
 * the previous pass's; so a forward label offset is measured entirely in the
 * previous pass (from prev_pc), never across the two, which would
 * underestimate it by however much the items before i grew this pass. */
static uint64_t jk_layout_offset(const jk_asm *a, const jk_asm_item *it, size_t i, uint64_t pc,
                                 uint64_t prev_pc)
{
    if (it->target_label == JK_ASM_NONE)
        return it->in.target - pc;
    uint32_t j = a->labels[it->target_label].item;
    return a->addr[j] - (j > i ? prev_pc : pc);
}

jk_err jk_pvm_asm_layout(jk_asm *a)
{
    size_t n = a->n_items;
    a->addr = malloc((n + 1) * sizeof *a->addr);
    if (!a->addr)
        return jk_diag_set(a->diag, JK_ERR_NOMEM, "out of memory");
    uint64_t pc = 0;
    for (size_t i = 0; i < n; i++) {
        a->addr[i] = pc;
        pc += jk_item_size(&a->items[i]);
    }
    a->addr[n] = pc;

    /* Each pass re-measures every offset in pc order: a backward one with
     * this pass's sizes, a forward one with the previous pass's. With label
     * targets every measured distance only grows from pass to pass, so sizes
     * only grow. A pass without a size change is a fixed point. */
    for (unsigned pass = 0;; pass++) {
        bool grow_only = pass >= JK_ASM_PLAIN_PASSES;
        bool changed = false;
        pc = 0;
        for (size_t i = 0; i < n; i++) {
            jk_asm_item *it = &a->items[i];
            uint64_t prev_pc = a->addr[i];
            a->addr[i] = pc;
            if (it->kind == JK_ITEM_INSN && it->has_offset) {
                unsigned lo = jk_pvm_asm_imm_len(jk_layout_offset(a, it, i, pc, prev_pc));
                if (lo > 4)
                    lo = 4; /* out of range: reported when encoding */
                if (grow_only && lo < it->olen)
                    lo = it->olen;
                if (lo != it->olen) {
                    it->olen = (uint8_t)lo;
                    changed = true;
                }
            }
            pc += jk_item_size(it);
        }
        a->addr[n] = pc;
        if (!changed)
            return JK_OK;
    }
}

/* ---- output ---- */

static unsigned jk_bytes_for(uint64_t v)
{
    unsigned n = 0;
    while (n < 8 && (v >> (8 * n)) != 0)
        n++;
    return n;
}

jk_err jk_pvm_asm_emit(jk_asm *a, uint8_t **out, size_t *out_len)
{
    uint64_t code_len = a->addr[a->n_items];
    if (code_len > JK_PVM_MAX_CODE_LEN)
        return jk_diag_set(a->diag, JK_ERR_PVM_ASM, "line %u: code is %llu bytes (limit %u)",
                           a->last_line, (unsigned long long)code_len, JK_PVM_MAX_CODE_LEN);

    /* Jump table: values and entry size. */
    uint64_t max_entry = 0;
    for (size_t i = 0; i < a->n_jt; i++) {
        jk_asm_jentry *e = &a->jt[i];
        if (e->label != JK_ASM_NONE)
            e->value = a->addr[a->labels[e->label].item];
        if (e->value > max_entry)
            max_entry = e->value;
    }
    unsigned z;
    if (a->z >= 0) {
        z = (unsigned)a->z;
        for (size_t i = 0; i < a->n_jt; i++)
            if (jk_bytes_for(a->jt[i].value) > z)
                return jk_diag_set(a->diag, JK_ERR_PVM_ASM,
                                   "line %u: jump-table entry %llu does not fit .jump_entry_size %u",
                                   a->jt[i].line, (unsigned long long)a->jt[i].value, z);
    } else {
        z = a->n_jt == 0 ? 0 : jk_bytes_for(max_entry);
        if (a->n_jt && z == 0)
            z = 1;
    }

    size_t mask_len = (size_t)(code_len + 7) / 8;
    uint8_t tail = a->tail >= 0 ? (uint8_t)a->tail : 0;
    if (tail) {
        unsigned used = (unsigned)(code_len % 8);
        if (used == 0 || (tail & ((1u << used) - 1)) != 0)
            return jk_diag_set(a->diag, JK_ERR_PVM_ASM,
                               "line %u: .bitmask_tail 0x%02x overlaps the bits of the %llu code "
                               "bytes (allowed: bits %u..7 of the last bitmask byte)",
                               a->tail_line, tail, (unsigned long long)code_len,
                               used ? used : 8);
    }

    uint8_t hdr[2 * 9 + 1];
    size_t hdr_len = jk_pvm_encode_natural(a->n_jt, hdr);
    hdr[hdr_len++] = (uint8_t)z;
    hdr_len += jk_pvm_encode_natural(code_len, hdr + hdr_len);
    size_t total = hdr_len + a->n_jt * z + (size_t)code_len + mask_len;
    uint8_t *blob = calloc(total ? total : 1, 1);
    if (!blob)
        return jk_diag_set(a->diag, JK_ERR_NOMEM, "out of memory");
    memcpy(blob, hdr, hdr_len);
    uint8_t *p = blob + hdr_len;
    for (size_t i = 0; i < a->n_jt; i++)
        for (unsigned b = 0; b < z; b++)
            *p++ = (uint8_t)(a->jt[i].value >> (8 * b));
    uint8_t *code = p, *mask = p + code_len;

    for (size_t i = 0; i < a->n_items; i++) {
        const jk_asm_item *it = &a->items[i];
        uint32_t pc = (uint32_t)a->addr[i];
        if (it->kind == JK_ITEM_BYTES || it->kind == JK_ITEM_RAW_INSN) {
            memcpy(code + pc, a->raw + it->raw_off, it->raw_len);
            if (it->kind == JK_ITEM_RAW_INSN)
                mask[pc >> 3] |= (uint8_t)(1u << (pc & 7));
            continue;
        }
        jk_pvm_asm_insn in = it->in;
        in.target = jk_item_target(a, it);
        uint8_t buf[JK_PVM_ASM_MAX_INSN];
        size_t n = jk_pvm_asm_encode(&in, pc, it->olen, buf);
        if (n == 0) {
            free(blob);
            return jk_diag_set(a->diag, JK_ERR_PVM_ASM,
                               "line %u: branch target %lld is out of reach from pc %u (the "
                               "offset must fit 32 bits)",
                               it->line, (long long)in.target, pc);
        }
        if (n != jk_item_size(it)) {
            free(blob);
            return jk_diag_set(a->diag, JK_ERR_PVM_ASM, "line %u: internal error: layout mismatch",
                               it->line);
        }
        memcpy(code + pc, buf, n);
        mask[pc >> 3] |= (uint8_t)(1u << (pc & 7));
    }
    if (mask_len)
        mask[mask_len - 1] |= tail;
    *out = blob;
    *out_len = total;
    return JK_OK;
}
