/*
 * program.c — load a program blob once into the interpreter's pre-decoded form.
 *
 * Which positions are instructions: pc 0, every position whose bitmask bit is
 * set, and every position the fall-through chain p → p + 1 + skip(p) reaches
 * from those (only different from the bitmask where a gap is longer than the
 * Graypaper's skip bound of 24). The chain from the last instruction always
 * lands exactly on pc = |c|, where the zero-extended code reads as trap: that
 * implicit trap is the final decoded instruction.
 *
 * Basic blocks (ϖ): pc 0 and the successor of every terminator. A block's cost
 * is its instruction count up to and including its terminator; each decoded
 * instruction stores the cost of the block that would start at it, so that
 * entry at any pc (a jump target, a resume point) charges one precomputed
 * number.
 */
#include "internal.h"
#include "jit.h"

#include <stdlib.h>

static void jk_pvm_program_release(jk_pvm_program *prog)
{
    free(prog->bytes);
    free(prog->insns);
    free(prog->pc_to_index);
    free(prog->block_start);
    free(prog->jump_targets);
    jk_pvm_jit_free(prog->jit);
    free(prog);
}

void jk_pvm_program_free(jk_pvm_program *prog)
{
    if (prog)
        jk_pvm_program_release(prog);
}

const jk_pvm_blob *jk_pvm_program_blob(const jk_pvm_program *prog)
{
    return &prog->blob;
}

bool jk_pvm_program_is_block_start(const jk_pvm_program *prog, uint32_t pc)
{
    if (pc > prog->blob.code_len)
        return false;
    uint32_t idx = prog->pc_to_index[pc];
    return idx != JK_PVM_NO_TARGET && prog->block_start[idx];
}

/* Index of a jump target, or NO_TARGET unless it starts a basic block. */
static uint32_t jk_pvm_resolve_target(const jk_pvm_program *prog, uint64_t pc)
{
    if (pc > prog->blob.code_len)
        return JK_PVM_NO_TARGET;
    uint32_t idx = prog->pc_to_index[pc];
    if (idx == JK_PVM_NO_TARGET || !prog->block_start[idx])
        return JK_PVM_NO_TARGET;
    return idx;
}

jk_err jk_pvm_program_load(const uint8_t *bytes, size_t len,
                           jk_pvm_program **out, jk_diag *diag)
{
    jk_pvm_blob probe;
    jk_err err = jk_pvm_blob_parse(bytes, len, &probe, diag);
    if (err != JK_OK)
        return err;

    jk_pvm_program *prog = calloc(1, sizeof *prog);
    if (!prog)
        return JK_ERR_NOMEM;
    prog->bytes = malloc(len ? len : 1);
    if (!prog->bytes)
        goto nomem;
    memcpy(prog->bytes, bytes, len);
    prog->len = len;
    err = jk_pvm_blob_parse(prog->bytes, len, &prog->blob, diag);
    if (err != JK_OK) {
        jk_pvm_program_release(prog);
        return err;
    }
    const jk_pvm_blob *blob = &prog->blob;
    uint32_t code_len = blob->code_len;

    /* Pass 1: which positions are instructions; pc_to_index doubles as the
     * "reached" mark (0 = not an instruction, 1 = instruction) until pass 2. */
    prog->pc_to_index = calloc((size_t)code_len + 1, sizeof *prog->pc_to_index);
    if (!prog->pc_to_index)
        goto nomem;
    uint32_t count = 1; /* the implicit trap at |c| */
    if (code_len > 0)
        prog->pc_to_index[0] = 1;
    for (uint32_t pc = 0; pc < code_len; pc++) {
        if (!prog->pc_to_index[pc] && !jk_pvm_blob_is_insn_start(blob, pc))
            continue;
        prog->pc_to_index[pc] = 1;
        count++;
        uint32_t next = pc + 1 + jk_pvm_blob_skip(blob, pc);
        if (next < code_len)
            prog->pc_to_index[next] = 1;
    }
    prog->pc_to_index[code_len] = 1;

    prog->insn_count = count;
    prog->insns = calloc(count, sizeof *prog->insns);
    prog->block_start = calloc(count, 1);
    prog->jump_targets = calloc(blob->jump_count ? blob->jump_count : 1, sizeof *prog->jump_targets);
    if (!prog->insns || !prog->block_start || !prog->jump_targets)
        goto nomem;

    /* Pass 2: decode operands, number the instructions, mark block starts. */
    uint32_t idx = 0;
    bool prev_terminates = true; /* pc 0 starts a block */
    for (uint32_t pc = 0; pc <= code_len; pc++) {
        if (!prog->pc_to_index[pc]) {
            prog->pc_to_index[pc] = JK_PVM_NO_TARGET;
            continue;
        }
        jk_pvm_insn *in = &prog->insns[idx];
        jk_pvm_operands ops;
        jk_pvm_decode_operands(blob, pc, &ops); /* at |c| this reads trap */
        /* Reached only by the fall-through chain, not marked in the bitmask:
         * its bytes are not an instruction (Lean executeStep panics on a clear
         * bitmask bit; PolkaVM decodes it as invalid). */
        in->opcode = jk_pvm_blob_is_insn_start(blob, pc) ? ops.opcode : JK_PVM_OPC_NOT_INSN;
        const jk_pvm_opinfo *info = jk_pvm_opinfo_get(in->opcode);
        in->ra = ops.ra;
        in->rb = ops.rb;
        in->rd = ops.rd;
        in->pc = pc;
        in->imm_x = ops.imm_x;
        in->imm_y = ops.imm_y;
        in->target = JK_PVM_NO_TARGET;
        prog->block_start[idx] = prev_terminates;
        /* A byte that is not an opcode (and a position that is not an
         * instruction) is trap, and ends its block as trap does: PolkaVM, whose
         * block gas the vectors follow, decodes it as `invalid`, an alias of
         * trap; per-instruction Graypaper gas charges the same. */
        prev_terminates = !info || info->is_terminator;
        prog->pc_to_index[pc] = idx++;
    }

    /* Pass 3: resolve static targets and jump-table entries to block starts,
     * and compute block costs backwards (a terminator's block ends with it). */
    for (uint32_t i = count; i-- > 0;) {
        jk_pvm_insn *in = &prog->insns[i];
        const jk_pvm_opinfo *info = jk_pvm_opinfo_get(in->opcode);
        bool terminates = i == count - 1 || !info || info->is_terminator;
        in->cost = terminates ? 1 : 1 + prog->insns[i + 1].cost;
        if (!info)
            continue;
        if (info->format == JK_PVM_ARGS_OFFSET || info->format == JK_PVM_ARGS_REG_REG_OFFSET)
            in->target = jk_pvm_resolve_target(prog, in->imm_x);
        else if (info->format == JK_PVM_ARGS_REG_IMM_OFFSET)
            in->target = jk_pvm_resolve_target(prog, in->imm_y);
    }
    for (uint32_t i = 0; i < blob->jump_count; i++)
        prog->jump_targets[i] = jk_pvm_resolve_target(prog, jk_pvm_blob_jump_entry(blob, i));

    /* Compile once, at load (where the recompiler exists); a program the
     * recompiler cannot take (no executable memory) runs interpreted. */
    jk_pvm_jit_compile(prog);
    *out = prog;
    return JK_OK;

nomem:
    jk_pvm_program_release(prog);
    return jk_diag_set(diag, JK_ERR_NOMEM, "out of memory decoding a %zu-byte program", len);
}
