/*
 * disasm.c — program blob to assembler text that assembles back to the
 * identical bytes (syntax in docs/asm.md).
 *
 * Which positions are instructions mirrors program.c (and the Graypaper): pc 0,
 * every position whose bitmask bit is set, and every fall-through position
 * p + 1 + skip(p). These form one chain from pc 0 that covers the code exactly
 * (skip stops at the next set bit, after 24 bytes, or at |c|), so every code
 * byte belongs to exactly one instruction's extent [p, p + 1 + skip(p)).
 *
 * An instruction whose bitmask bit is set is printed as text when its bytes
 * are exactly the canonical encoding of what they decode to (asm_encode.c, at
 * the same pc); otherwise as `.insn` with the raw bytes and the decoded meaning
 * in a comment. An instruction start whose bit is clear (pc 0, or a
 * fall-through after a 24-byte skip) can only be written as `.byte`.
 *
 * Round trip is guaranteed by checking: the text is assembled and compared with
 * the input. Label targets can admit more than one consistent layout, and the
 * assembler picks the most compact one: a forward jump by exactly 128 in two
 * offset bytes would also fit in one (its own size shrinks the offset to 127),
 * and two branches can each need a long offset only because the other has one.
 * A numeric target pins the offset (the layout before it being the same), so
 * when the check fails the first instruction that came out different is
 * rendered with a numeric target and the check repeats; after
 * JK_DIS_MAX_NUMERIC_RETRIES of those, every target is numeric (then the
 * layout is unique), and as a last resort every instruction is raw bytes.
 */
#include "asm_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

enum {
    JK_DIS_INSN = 1,    /* an instruction starts here (the chain from pc 0) */
    JK_DIS_LABEL = 2,   /* print "L<pc>:" here */
    JK_DIS_NUMERIC = 4, /* the instruction here writes its target as a number */
    JK_DIS_BLOCK = 8,   /* a basic block starts here: branch targets may be labels */
};

/* Re-renderings that turn one more ambiguous branch numeric before giving up
 * on labels altogether. */
#define JK_DIS_MAX_NUMERIC_RETRIES 64

enum {
    JK_TIER_LABELS = 1,  /* branch targets as labels where possible */
    JK_TIER_NUMBERS = 2, /* branch targets as numbers */
    JK_TIER_RAW = 3,     /* every instruction as .insn bytes */
};

#define JK_DIS_COMMENT_COLUMN 40
#define JK_DIS_TABLE_PER_LINE 8

/* ---- string builder ---- */

typedef struct jk_sb {
    char *buf;
    size_t len, cap;
    bool oom;
} jk_sb;

static void jk_sb_printf(jk_sb *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void jk_sb_printf(jk_sb *sb, const char *fmt, ...)
{
    if (sb->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(sb->buf ? sb->buf + sb->len : NULL, sb->buf ? sb->cap - sb->len : 0, fmt,
                          ap);
        va_end(ap);
        if (n < 0) {
            sb->oom = true;
            return;
        }
        if (sb->buf && (size_t)n < sb->cap - sb->len) {
            sb->len += (size_t)n;
            return;
        }
        size_t cap = sb->cap ? sb->cap : 4096;
        while (cap - sb->len <= (size_t)n) {
            if (cap > SIZE_MAX / 2) {
                sb->oom = true;
                return;
            }
            cap *= 2;
        }
        char *p = realloc(sb->buf, cap);
        if (!p) {
            sb->oom = true;
            return;
        }
        sb->buf = p;
        sb->cap = cap;
    }
}

/* Pad the current line to the comment column (at least one space). */
static void jk_sb_pad(jk_sb *sb, size_t line_start)
{
    size_t col = sb->len - line_start;
    jk_sb_printf(sb, "%*s", (int)(col < JK_DIS_COMMENT_COLUMN ? JK_DIS_COMMENT_COLUMN - col : 1), "");
}

/* ---- operands as text ---- */

/* A sign-extended 32-bit immediate: small values in decimal, others in hex;
 * negative ones as their 32-bit pattern, which the assembler sign-extends. */
static void jk_put_imm(jk_sb *sb, uint64_t v)
{
    int64_t s = (int64_t)v;
    if (s > -65536 && s < 65536)
        jk_sb_printf(sb, "%lld", (long long)s);
    else if (s >= 0)
        jk_sb_printf(sb, "0x%llx", (unsigned long long)v);
    else
        jk_sb_printf(sb, "0x%08lx", (unsigned long)(v & 0xFFFFFFFFu));
}

static void jk_put_imm64(jk_sb *sb, uint64_t v)
{
    if (v < 65536)
        jk_sb_printf(sb, "%llu", (unsigned long long)v);
    else
        jk_sb_printf(sb, "0x%llx", (unsigned long long)v);
}

/* A branch target: its label when it has one (flags may be NULL), otherwise
 * the absolute pc, negative when the offset reaches below 0. */
static void jk_put_target(jk_sb *sb, uint64_t t, const uint8_t *flags, uint32_t code_len)
{
    if (flags && t <= code_len && (flags[t] & JK_DIS_LABEL))
        jk_sb_printf(sb, "L%u", (unsigned)t);
    else
        jk_sb_printf(sb, "%lld", (long long)t);
}

static void jk_put_insn(jk_sb *sb, const jk_pvm_operands *ops, const uint8_t *flags,
                        uint32_t code_len)
{
    const jk_pvm_opinfo *info = jk_pvm_opinfo_get(ops->opcode);
    if (!info) {
        jk_sb_printf(sb, "invalid opcode %u", (unsigned)ops->opcode);
        return;
    }
    jk_sb_printf(sb, "%s", info->name);
    switch ((jk_pvm_argfmt)info->format) {
    case JK_PVM_ARGS_NONE:
        break;
    case JK_PVM_ARGS_IMM:
        jk_sb_printf(sb, " ");
        jk_put_imm(sb, ops->imm_x);
        break;
    case JK_PVM_ARGS_REG_IMM64:
        jk_sb_printf(sb, " r%u, ", ops->ra);
        jk_put_imm64(sb, ops->imm_x);
        break;
    case JK_PVM_ARGS_IMM_IMM:
        jk_sb_printf(sb, " ");
        jk_put_imm(sb, ops->imm_x);
        jk_sb_printf(sb, ", ");
        jk_put_imm(sb, ops->imm_y);
        break;
    case JK_PVM_ARGS_OFFSET:
        jk_sb_printf(sb, " ");
        jk_put_target(sb, ops->imm_x, flags, code_len);
        break;
    case JK_PVM_ARGS_REG_IMM:
        jk_sb_printf(sb, " r%u, ", ops->ra);
        jk_put_imm(sb, ops->imm_x);
        break;
    case JK_PVM_ARGS_REG_IMM_IMM:
        jk_sb_printf(sb, " r%u, ", ops->ra);
        jk_put_imm(sb, ops->imm_x);
        jk_sb_printf(sb, ", ");
        jk_put_imm(sb, ops->imm_y);
        break;
    case JK_PVM_ARGS_REG_IMM_OFFSET:
        jk_sb_printf(sb, " r%u, ", ops->ra);
        jk_put_imm(sb, ops->imm_x);
        jk_sb_printf(sb, ", ");
        jk_put_target(sb, ops->imm_y, flags, code_len);
        break;
    case JK_PVM_ARGS_REG_REG:
        jk_sb_printf(sb, " r%u, r%u", ops->rd, ops->ra);
        break;
    case JK_PVM_ARGS_REG_REG_IMM:
        jk_sb_printf(sb, " r%u, r%u, ", ops->ra, ops->rb);
        jk_put_imm(sb, ops->imm_x);
        break;
    case JK_PVM_ARGS_REG_REG_OFFSET:
        jk_sb_printf(sb, " r%u, r%u, ", ops->ra, ops->rb);
        jk_put_target(sb, ops->imm_x, flags, code_len);
        break;
    case JK_PVM_ARGS_REG_REG_IMM_IMM:
        jk_sb_printf(sb, " r%u, r%u, ", ops->ra, ops->rb);
        jk_put_imm(sb, ops->imm_x);
        jk_sb_printf(sb, ", ");
        jk_put_imm(sb, ops->imm_y);
        break;
    case JK_PVM_ARGS_REG_REG_REG:
        jk_sb_printf(sb, " r%u, r%u, r%u", ops->rd, ops->ra, ops->rb);
        break;
    }
}

static void jk_put_bytes(jk_sb *sb, const char *directive, const uint8_t *p, uint32_t n)
{
    jk_sb_printf(sb, "%s ", directive);
    for (uint32_t i = 0; i < n; i++)
        jk_sb_printf(sb, i ? ", 0x%02x" : "0x%02x", p[i]);
}

/* ---- instructions ---- */

/* Decode the instruction at pc whose extent is n bytes; true when those bytes
 * are exactly its canonical encoding, so that its text assembles back. */
static bool jk_dis_canonical(const jk_pvm_blob *b, uint32_t pc, uint32_t n, jk_pvm_operands *ops)
{
    jk_pvm_decode_operands(b, pc, ops);
    if (!jk_pvm_opinfo_get(ops->opcode))
        return false;
    jk_pvm_asm_insn in;
    memset(&in, 0, sizeof in);
    in.opcode = ops->opcode;
    in.ra = ops->ra;
    in.rb = ops->rb;
    in.rd = ops->rd;
    if (jk_pvm_asm_target_of(ops, &in.target)) {
        if (ops->format == JK_PVM_ARGS_REG_IMM_OFFSET)
            in.imm_x = ops->imm_x;
    } else {
        in.imm_x = ops->imm_x;
        in.imm_y = ops->imm_y;
    }
    uint8_t buf[JK_PVM_ASM_MAX_INSN];
    size_t len = jk_pvm_asm_encode(&in, pc, 0, buf);
    return len == n && memcmp(buf, b->code + pc, n) == 0;
}

static unsigned jk_default_entry_size(const jk_pvm_blob *b)
{
    if (b->jump_count == 0)
        return 0;
    uint32_t max = 0;
    for (uint32_t i = 0; i < b->jump_count; i++) {
        uint32_t v = jk_pvm_blob_jump_entry(b, i);
        if (v > max)
            max = v;
    }
    unsigned z = 1;
    while (z < 4 && (max >> (8 * z)) != 0)
        z++;
    return z;
}

static void jk_render(const jk_pvm_blob *b, uint8_t *flags, int tier, jk_sb *sb,
                      bool *used_target_labels)
{
    uint32_t code_len = b->code_len;
    jk_pvm_operands ops;

    /* Which positions get labels: jump-table entries always, branch targets
     * of text instructions in the first tier. */
    *used_target_labels = false;
    for (uint32_t pc = 0; pc <= code_len; pc++)
        flags[pc] &= (uint8_t)~JK_DIS_LABEL;
    for (uint32_t i = 0; i < b->jump_count; i++) {
        uint32_t t = jk_pvm_blob_jump_entry(b, i);
        if (t <= code_len && (flags[t] & JK_DIS_INSN))
            flags[t] |= JK_DIS_LABEL;
    }
    if (tier == JK_TIER_LABELS) {
        for (uint32_t pc = 0; pc < code_len;) {
            uint32_t n = 1 + jk_pvm_blob_skip(b, pc);
            uint64_t t;
            if (!(flags[pc] & JK_DIS_NUMERIC) && jk_pvm_blob_is_insn_start(b, pc) &&
                jk_dis_canonical(b, pc, n, &ops) && jk_pvm_asm_target_of(&ops, &t) &&
                t <= code_len && (flags[t] & JK_DIS_INSN) && (flags[t] & JK_DIS_BLOCK)) {
                /* Only block starts: the assembler refuses a label target
                 * that follows a non-terminating instruction. */
                flags[t] |= JK_DIS_LABEL;
                *used_target_labels = true;
            }
            pc += n;
        }
    }

    jk_sb_printf(sb, "; jark disasm: |c| = %u, |j| = %u, z = %u\n", code_len,
                 b->jump_count, b->jump_entry_size);
    if (b->jump_entry_size != jk_default_entry_size(b))
        jk_sb_printf(sb, ".jump_entry_size %u\n", b->jump_entry_size);
    for (uint32_t i = 0; i < b->jump_count; i++) {
        uint32_t t = jk_pvm_blob_jump_entry(b, i);
        jk_sb_printf(sb, i % JK_DIS_TABLE_PER_LINE ? ", " : ".jump_table ");
        jk_put_target(sb, t, flags, code_len);
        if (i % JK_DIS_TABLE_PER_LINE == JK_DIS_TABLE_PER_LINE - 1 || i + 1 == b->jump_count)
            jk_sb_printf(sb, "\n");
    }
    if (b->jump_count)
        jk_sb_printf(sb, "\n");

    const uint8_t *label_flags = tier == JK_TIER_LABELS ? flags : NULL;
    for (uint32_t pc = 0; pc < code_len && !sb->oom;) {
        uint32_t n = 1 + jk_pvm_blob_skip(b, pc);
        if (flags[pc] & JK_DIS_LABEL)
            jk_sb_printf(sb, "L%u:\n", (unsigned)pc);
        size_t line_start = sb->len;
        jk_sb_printf(sb, "    ");
        if (!jk_pvm_blob_is_insn_start(b, pc)) {
            jk_pvm_decode_operands(b, pc, &ops);
            jk_put_bytes(sb, ".byte", b->code + pc, n);
            jk_sb_pad(sb, line_start);
            jk_sb_printf(sb, "; @%u unmarked instruction: ", (unsigned)pc);
            jk_put_insn(sb, &ops, flags, code_len);
        } else if (tier != JK_TIER_RAW && jk_dis_canonical(b, pc, n, &ops)) {
            jk_put_insn(sb, &ops, (flags[pc] & JK_DIS_NUMERIC) ? NULL : label_flags, code_len);
            jk_sb_pad(sb, line_start);
            jk_sb_printf(sb, "; @%u", (unsigned)pc);
        } else {
            jk_pvm_decode_operands(b, pc, &ops);
            jk_put_bytes(sb, ".insn", b->code + pc, n);
            jk_sb_pad(sb, line_start);
            jk_sb_printf(sb, "; @%u ", (unsigned)pc);
            jk_put_insn(sb, &ops, flags, code_len);
        }
        jk_sb_printf(sb, "\n");
        pc += n;
    }
    if (flags[code_len] & JK_DIS_LABEL)
        jk_sb_printf(sb, "L%u:\n", (unsigned)code_len);

    unsigned used = code_len % 8;
    if (used) {
        uint8_t tail = b->bitmask[code_len / 8] & (uint8_t)(0xFFu << used);
        if (tail)
            jk_sb_printf(sb, ".bitmask_tail 0x%02x\n", tail);
    }
}

#define JK_DIS_NO_PC UINT32_MAX

/* After the label rendering assembled to different bytes: the instruction of
 * the original whose encoding is the first to differ. Everything before it
 * came out identical, so it sits at its original pc; being a canonical
 * instruction, it can only differ in the length of a label offset, which a
 * numeric target pins. JK_DIS_NO_PC when no such instruction is found. */
static uint32_t jk_first_difference(const jk_pvm_blob *b, const uint8_t *flags,
                                    const uint8_t *bytes, size_t len)
{
    jk_pvm_blob other;
    if (jk_pvm_blob_parse(bytes, len, &other, NULL) != JK_OK)
        return JK_DIS_NO_PC;
    uint32_t n = b->code_len < other.code_len ? b->code_len : other.code_len;
    uint32_t d = 0;
    while (d < n && b->code[d] == other.code[d])
        d++;
    if (d == b->code_len)
        return JK_DIS_NO_PC;
    uint32_t pc = d;
    while (pc > 0 && !(flags[pc] & JK_DIS_INSN))
        pc--;
    jk_pvm_operands ops;
    uint64_t target;
    if ((flags[pc] & JK_DIS_NUMERIC) || !jk_pvm_blob_is_insn_start(b, pc) ||
        !jk_dis_canonical(b, pc, 1 + jk_pvm_blob_skip(b, pc), &ops) ||
        !jk_pvm_asm_target_of(&ops, &target))
        return JK_DIS_NO_PC;
    return pc;
}

jk_err jk_pvm_disasm(const uint8_t *blob, size_t blob_len, char **out,
                     jk_diag *diag)
{
    jk_pvm_blob b;
    jk_err err = jk_pvm_blob_parse(blob, blob_len, &b, diag);
    if (err != JK_OK)
        return err;

    uint8_t *flags = calloc((size_t)b.code_len + 1, 1);
    if (!flags)
        return jk_diag_set(diag, JK_ERR_NOMEM, "out of memory");
    flags[0] = JK_DIS_BLOCK;
    for (uint32_t pc = 0; pc < b.code_len; pc += 1 + jk_pvm_blob_skip(&b, pc)) {
        const jk_pvm_opinfo *info = jk_pvm_opinfo_get(b.code[pc]);
        flags[pc] |= JK_DIS_INSN;
        if (info && info->is_terminator)
            flags[pc + 1 + jk_pvm_blob_skip(&b, pc)] |= JK_DIS_BLOCK;
    }
    flags[b.code_len] |= JK_DIS_INSN; /* the implicit trap at |c| */

    jk_sb sb = {0};
    unsigned retries = 0;
    for (int tier = JK_TIER_LABELS; tier <= JK_TIER_RAW;) {
        bool used_target_labels;
        sb.len = 0;
        jk_render(&b, flags, tier, &sb, &used_target_labels);
        if (sb.oom)
            break;
        uint8_t *bytes = NULL;
        size_t len = 0;
        err = jk_pvm_asm(sb.buf, sb.len, &bytes, &len, NULL);
        if (err == JK_ERR_NOMEM)
            break;
        bool same = err == JK_OK && len == blob_len && memcmp(bytes, blob, len) == 0;
        uint32_t culprit = JK_DIS_NO_PC;
        if (!same && err == JK_OK && tier == JK_TIER_LABELS && used_target_labels &&
            retries < JK_DIS_MAX_NUMERIC_RETRIES)
            culprit = jk_first_difference(&b, flags, bytes, len);
        free(bytes);
        if (same) {
            free(flags);
            *out = sb.buf;
            return JK_OK;
        }
        if (culprit != JK_DIS_NO_PC) {
            flags[culprit] |= JK_DIS_NUMERIC;
            retries++;
            continue;
        }
        if (tier == JK_TIER_LABELS && !used_target_labels)
            tier++; /* the numeric rendering would be the same */
        tier++;
    }
    free(flags);
    free(sb.buf);
    if (sb.oom || err == JK_ERR_NOMEM)
        return jk_diag_set(diag, JK_ERR_NOMEM, "out of memory");
    return jk_diag_set(diag, JK_ERR_PVM_BLOB, "internal error: the disassembly does not round-trip");
}
