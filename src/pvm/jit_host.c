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
 * would have given and, when it served the call, the code reloads the
 * registers and runs on. What a fresh entry would redo is exactly what the
 * code redoes: the registers and gas come from the state the server left,
 * the TLBs are emptied when a page-table entry changed (the memory's `gen`,
 * as at an entry), and the block is already paid (the `ecalli` does not end
 * it, so the code after it is the same block's, as after a resume).
 */
#include "jit.h"

#if JK_PVM_HAVE_JIT

#include "jit_cc.h"

#include <stddef.h>

#define ST_GAS ((int32_t)offsetof(jk_pvm_state, gas))
#define ST_PC ((int32_t)offsetof(jk_pvm_state, pc))
#define ST_PAID ((int32_t)offsetof(jk_pvm_state, block_paid))
#define CTX_STATE ((int32_t)offsetof(jk_jit_ctx, state))
#define CTX_MEM ((int32_t)offsetof(jk_jit_ctx, mem))
#define MEM_GEN ((int32_t)offsetof(jk_pvm_memory, gen))
#define MEM_HOST_FN ((int32_t)offsetof(jk_pvm_memory, host_fn))
#define MEM_HOST_CTX ((int32_t)offsetof(jk_pvm_memory, host_ctx))
#define MEM_HOST_ARGS ((int32_t)offsetof(jk_pvm_memory, host_args))
_Static_assert(offsetof(jk_pvm_state, regs) == 0, "the code addresses state->regs[g] at 8 * g");
_Static_assert(sizeof(bool) == 1 && sizeof(((jk_pvm_state *)0)->pc) == 4, "a byte and a dword store");
_Static_assert(JK_PVM_HOST_SERVED == 1, "the code compares the answer with 1");

/* The guest registers and gas go straight into ctx->state (not ctx->regs
 * and then a copy), and come back from there. rax, rcx and rdx are never
 * guest registers (jit.c's pool). The server is called from the code itself
 * (session 11: a C function between them, jk_pvm_jit_host, cost ~33 host
 * instructions a host call in its prologue, epilogue and second call):
 *
 *       mov rcx, [ctx.mem]; cmp [rcx.host_fn], 0; je exit    no server: exit as is
 *       mov rax, [ctx.state]; store gas and the registers N in [rax]
 *       cmp byte [rcx.host_args], 0; jne stored              (session 14)
 *       store the other registers W
 *       mov [rax.pc], next_pc; mov [rax.block_paid], 1         the exit's state
 *   stored:
 *       mov rdx, [rcx.gen]; mov [ctx.scratch], rdx             the page table now
 *       call [rcx.host_fn](host_ctx, state, ν_X)
 *       mov rcx, [ctx.mem]; mov rdx, [rcx.gen]; cmp rdx, [ctx.scratch]; je same
 *       (an entry changed: the TLBs emptied, as an entry after it would)
 *   same: cmp byte [rcx.host_args], 0; mov rcx, [ctx.state]
 *       reload gas and N; jne loaded
 *       mov [rcx.block_paid], 0; reload W
 *   loaded: cmp eax, SERVED; je on
 *   exit: the host-call exit (JK_JIT_EXIT_HOST)
 *   on:
 *
 * N: φ7..φ12 (the server's arguments and results) and the registers held
 * in host registers a C call may change; W: the others, which only a
 * server of jk_pvm_memory_set_host (one that may read or change any) needs
 * in the state. With jk_pvm_memory_set_host_args W stays where it is (a
 * callee-saved host register, or ctx->regs) and an exit after the call
 * takes it from there, as every exit does. block_paid goes back to false
 * as during any run (jk_pvm_jit_run clears it); an exit sets it again. */
static bool jk_host_narrow(const jk_cc *c, unsigned g)
{
    return (g >= 7 && g <= 12) || (c->map[g] != X_NOREG && jk_host_caller_saved(c->map[g]));
}

/* Guest register g into [rax + 8g] (rdx: scratch). */
static void jk_host_store(jk_cc *c, unsigned g)
{
    jk_x64_buf *b = &c->b;
    if (c->map[g] != X_NOREG) {
        x_mov_rm_r(b, true, X_MEM(X_RAX, (int32_t)(8 * g)), c->map[g]);
    } else {
        x_mov_r_rm(b, true, X_RDX, X_MEM(X_RBX, (int32_t)(8 * g)));
        x_mov_rm_r(b, true, X_MEM(X_RAX, (int32_t)(8 * g)), X_RDX);
    }
}

/* Guest register g from [rcx + 8g] (rdx: scratch); flags kept. */
static void jk_host_load(jk_cc *c, unsigned g)
{
    jk_x64_buf *b = &c->b;
    if (c->map[g] != X_NOREG) {
        x_mov_r_rm(b, true, c->map[g], X_MEM(X_RCX, (int32_t)(8 * g)));
    } else {
        x_mov_r_rm(b, true, X_RDX, X_MEM(X_RCX, (int32_t)(8 * g)));
        x_mov_rm_r(b, true, X_MEM(X_RBX, (int32_t)(8 * g)), X_RDX);
    }
}

void jk_pvm_jit_ecalli(jk_cc *c, uint32_t i)
{
    jk_x64_buf *b = &c->b;
    const jk_pvm_insn *in = &c->prog->insns[i];
    x_mov_r_rm(b, true, X_RCX, X_MEM(X_RBX, CTX_MEM));
    x_alu_rm_imm(b, ALU_CMP, true, X_MEM(X_RCX, MEM_HOST_FN), 0);
    size_t no_server = x_jcc32(b, CC_E);
    x_mov_r_rm(b, true, X_RAX, X_MEM(X_RBX, CTX_STATE));
    x_mov_rm_r(b, true, X_MEM(X_RAX, ST_GAS), X_GAS);
    for (unsigned g = 0; g < JK_PVM_REGS; g++)
        if (jk_host_narrow(c, g))
            jk_host_store(c, g);
    x_op(b, 0, false, 0x80, 1, 7, X_MEM(X_RCX, MEM_HOST_ARGS), false); /* cmp byte [rcx.host_args], 0 */
    x_b(b, 0);
    size_t stored = x_jcc32(b, CC_NE);
    for (unsigned g = 0; g < JK_PVM_REGS; g++)
        if (!jk_host_narrow(c, g))
            jk_host_store(c, g);
    x_op(b, 0, false, 0xC7, 1, 0, X_MEM(X_RAX, ST_PC), false); /* mov dword [rax.pc], imm32 */
    x_d(b, in[1].pc);
    x_op(b, 0, false, 0xC6, 1, 0, X_MEM(X_RAX, ST_PAID), false); /* mov byte [rax.block_paid], 1 */
    x_b(b, 1);
    x_patch32(b, stored, b->len);
    x_mov_r_rm(b, true, X_RDX, X_MEM(X_RCX, MEM_GEN));
    x_mov_rm_r(b, true, X_MEM(X_RBX, CTX_SCRATCH), X_RDX);
    x_mov_r_rm(b, true, X_RDI, X_MEM(X_RCX, MEM_HOST_CTX));
    x_mov_r_rm(b, true, X_RSI, X_REG(X_RAX));
    x_mov_r_imm(b, X_RDX, in->imm_x);
    x_op(b, 0, false, 0xFF, 1, 2, X_MEM(X_RCX, MEM_HOST_FN), false); /* call [rcx.host_fn] */
    x_mov_r_rm(b, true, X_RCX, X_MEM(X_RBX, CTX_MEM));
    x_mov_r_rm(b, true, X_RDX, X_MEM(X_RCX, MEM_GEN));
    x_alu_r_rm(b, ALU_CMP, true, X_RDX, X_MEM(X_RBX, CTX_SCRATCH));
    size_t same = x_jcc8(b, CC_E);
    x_mov_rm_r(b, true, X_MEM(X_RBX, CTX_SCRATCH), X_RAX); /* the answer, across the call */
    x_mov_r_rm(b, true, X_RDI, X_REG(X_RBX));
    jk_call_abs(c, (const void *)jk_pvm_jit_tlb_flush);
    x_mov_r_rm(b, true, X_RAX, X_MEM(X_RBX, CTX_SCRATCH));
    x_mov_r_rm(b, true, X_RCX, X_MEM(X_RBX, CTX_MEM));
    x_here8(b, same);
    x_op(b, 0, false, 0x80, 1, 7, X_MEM(X_RCX, MEM_HOST_ARGS), false); /* cmp byte [rcx.host_args], 0 */
    x_b(b, 0);
    x_mov_r_rm(b, true, X_RCX, X_MEM(X_RBX, CTX_STATE)); /* movs keep the flags to the jne */
    x_mov_r_rm(b, true, X_GAS, X_MEM(X_RCX, ST_GAS));
    for (unsigned g = 0; g < JK_PVM_REGS; g++)
        if (jk_host_narrow(c, g))
            jk_host_load(c, g);
    size_t loaded = x_jcc32(b, CC_NE);
    x_op(b, 0, false, 0xC6, 1, 0, X_MEM(X_RCX, ST_PAID), false); /* mov byte [rcx.block_paid], 0 */
    x_b(b, 0);
    for (unsigned g = 0; g < JK_PVM_REGS; g++)
        if (!jk_host_narrow(c, g))
            jk_host_load(c, g);
    x_patch32(b, loaded, b->len);
    x_alu_rm_imm(b, ALU_CMP, false, X_REG(X_RAX), JK_PVM_HOST_SERVED);
    size_t served = x_jcc8(b, CC_E);
    x_patch32(b, no_server, b->len);
    jk_exit_with(c, i, JK_JIT_EXIT_HOST);
    x_here8(b, served);
}

#endif
