/*
 * jit_host.c — host calls served without leaving compiled code (issue 16).
 *
 * An `ecalli` used to end the run: the exit stub spilled the registers and
 * unwound the host stack, jk_pvm_jit_run copied the state out, the embedder
 * served the call and ran the program again, which copied the state in and
 * re-entered through the trampoline — ~270 host instructions of exit and
 * entry around a host call that often does less (DATA_LEN, a 48-byte
 * DATA_READ). With a server on the memory (jk_pvm_memory_set_host), the
 * `ecalli` calls it like any other C helper instead: the guest registers and
 * gas are stored into the run's state, the server sees the state the exit
 * would have given (jk_pvm_jit_host) and, when it served the call, the code
 * reloads the registers and runs on. What a fresh entry would redo is exactly what the
 * helper redoes: the registers and gas come from the state the server left,
 * the TLBs are emptied when a page-table entry changed (the memory's `gen`,
 * as at an entry), and the block is already paid (the `ecalli` does not end
 * it, so the code after it is the same block's, as after a resume).
 */
#include "jit.h"

#include <string.h>

int jk_pvm_jit_host(jk_jit_ctx *ctx, uint64_t host_call, uint32_t next_pc)
{
    /* The code stored the registers and gas in ctx->state already (the
     * state jk_pvm_jit_run gives at this host-call exit) and reloads them
     * from there, whatever the answer. */
    jk_pvm_memory *mem = ctx->mem;
    if (!mem->host_fn)
        return 1;
    jk_pvm_state *st = ctx->state;
    st->pc = next_pc;
    st->block_paid = true;
    uint64_t gen = mem->gen;
    jk_pvm_host_answer a = mem->host_fn(mem->host_ctx, st, host_call);
    if (a == JK_PVM_HOST_EXIT)
        return 1; /* nothing changed: the exit writes the same state */
    if (mem->gen != gen)
        jk_pvm_jit_tlb_flush(ctx); /* as an entry after that change would */
    if (a == JK_PVM_HOST_DONE)
        return 1;
    st->block_paid = false; /* as during any run (jk_pvm_jit_run clears it) */
    return 0;
}

#if JK_PVM_HAVE_JIT

#include "jit_cc.h"

#include <stddef.h>

#define ST_GAS ((int32_t)offsetof(jk_pvm_state, gas))
_Static_assert(offsetof(jk_pvm_state, regs) == 0, "the code addresses state->regs[g] at 8 * g");

/* The guest registers and gas go straight into ctx->state (not ctx->regs
 * and then a copy: ~30 host instructions a host call), and come back from
 * there. rax, rcx and rdx are never guest registers (jit.c's pool). */
void jk_pvm_jit_ecalli(jk_cc *c, uint32_t i)
{
    jk_x64_buf *b = &c->b;
    const jk_pvm_insn *in = &c->prog->insns[i];
    const int32_t state = (int32_t)offsetof(jk_jit_ctx, state);
    x_mov_r_rm(b, true, X_RAX, X_MEM(X_RBX, state));
    x_mov_rm_r(b, true, X_MEM(X_RAX, ST_GAS), X_GAS);
    for (unsigned g = 0; g < JK_PVM_REGS; g++) {
        if (c->map[g] != X_NOREG) {
            x_mov_rm_r(b, true, X_MEM(X_RAX, (int32_t)(8 * g)), c->map[g]);
        } else {
            x_mov_r_rm(b, true, X_RCX, X_MEM(X_RBX, (int32_t)(8 * g)));
            x_mov_rm_r(b, true, X_MEM(X_RAX, (int32_t)(8 * g)), X_RCX);
        }
    }
    x_mov_r_rm(b, true, X_RDI, X_REG(X_RBX));
    x_mov_r_imm(b, X_RSI, in->imm_x);
    x_mov_r_imm(b, X_RDX, in[1].pc);
    jk_call_abs(c, (const void *)jk_pvm_jit_host);
    x_op(b, 0, false, 0x85, 1, X_RAX, X_REG(X_RAX), false); /* test eax, eax */
    /* movs only from here to the jump: the flags stay */
    x_mov_r_rm(b, true, X_RCX, X_MEM(X_RBX, state));
    x_mov_r_rm(b, true, X_GAS, X_MEM(X_RCX, ST_GAS));
    for (unsigned g = 0; g < JK_PVM_REGS; g++) {
        if (c->map[g] != X_NOREG) {
            x_mov_r_rm(b, true, c->map[g], X_MEM(X_RCX, (int32_t)(8 * g)));
        } else {
            x_mov_r_rm(b, true, X_RDX, X_MEM(X_RCX, (int32_t)(8 * g)));
            x_mov_rm_r(b, true, X_MEM(X_RBX, (int32_t)(8 * g)), X_RDX);
        }
    }
    size_t served = x_jcc8(b, CC_E);
    jk_exit_with(c, i, JK_JIT_EXIT_HOST);
    x_here8(b, served);
}

#endif
