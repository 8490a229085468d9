/*
 * jit_host.c — host calls served without leaving compiled code (issue 16).
 *
 * An `ecalli` used to end the run: the exit stub spilled the registers and
 * unwound the host stack, jk_pvm_jit_run copied the state out, the embedder
 * served the call and ran the program again, which copied the state in and
 * re-entered through the trampoline — ~270 host instructions of exit and
 * entry around a host call that often does less (DATA_LEN, a 48-byte
 * DATA_READ). With a server on the memory (jk_pvm_memory_set_host), the
 * `ecalli` calls it like any other C helper instead: the guest registers are
 * spilled to ctx->regs, the server sees the state the exit would have given
 * (jk_pvm_jit_host) and, when it served the call, the code reloads the
 * registers and runs on. What a fresh entry would redo is exactly what the
 * helper redoes: the registers and gas come from the state the server left,
 * the TLBs are emptied when a page-table entry changed (the memory's `gen`,
 * as at an entry), and the block is already paid (the `ecalli` does not end
 * it, so the code after it is the same block's, as after a resume).
 */
#include "jit.h"

#include <string.h>

int jk_pvm_jit_host(jk_jit_ctx *ctx, uint32_t i)
{
    jk_pvm_memory *mem = ctx->mem;
    if (!mem->host_fn)
        return 1;
    jk_pvm_state *st = ctx->state;
    const jk_pvm_insn *ip = &ctx->prog->insns[i];
    /* The state jk_pvm_jit_run gives at this host-call exit. */
    memcpy(st->regs, ctx->regs, sizeof st->regs);
    st->gas = ctx->gas;
    st->pc = ip[1].pc;
    st->block_paid = true;
    uint64_t gen = mem->gen;
    jk_pvm_host_answer a = mem->host_fn(mem->host_ctx, st, ip->imm_x);
    if (a == JK_PVM_HOST_EXIT)
        return 1; /* the exit writes the same state from ctx */
    memcpy(ctx->regs, st->regs, sizeof ctx->regs);
    ctx->gas = st->gas;
    if (mem->gen != gen)
        jk_pvm_jit_tlb_flush(ctx); /* as an entry after that change would */
    if (a == JK_PVM_HOST_DONE)
        return 1;
    st->block_paid = false; /* as during any run (jk_pvm_jit_run clears it) */
    return 0;
}

#if JK_PVM_HAVE_JIT

#include "jit_cc.h"

void jk_pvm_jit_ecalli(jk_cc *c, uint32_t i)
{
    jk_x64_buf *b = &c->b;
    jk_spill(c, true);
    x_mov_r_rm(b, true, X_RDI, X_REG(X_RBX));
    x_mov_r_imm(b, X_RSI, i);
    jk_call_abs(c, (const void *)jk_pvm_jit_host);
    x_op(b, 0, false, 0x85, 1, X_RAX, X_REG(X_RAX), false); /* test eax, eax */
    jk_reload(c, true);                                     /* movs: the flags stay */
    size_t served = x_jcc8(b, CC_E);
    jk_exit_with(c, i, JK_JIT_EXIT_HOST);
    x_here8(b, served);
}

#endif
