/*
 * jit_stack.c — the stack TLB: a one-entry TLB for the access groups of the
 * program's stack pointer (docs/pvm.md, "The stack TLB").
 *
 * A call-heavy program touches its frame in every block: `fib` stores two
 * words before its first call, stores and loads after it, loads after the
 * second; each block is an access group (jit_group.c) with its own probe of
 * the direct-mapped TLB (eight host instructions: the address, the index
 * `movzx edx, ch; and edx, 0xF0`, the tag compare, the host page, the add).
 * The stack pointer's groups instead compare with one fixed entry in the
 * context, so the probe has no index arithmetic:
 *
 *     lea  edx, [sp + off]         ; the group's lowest byte
 *     xor  rdx, [ctx.stack_tlb.addr]
 *     cmp  rdx, 4096 − span        ; same page, and the span fits in it
 *     ja   miss                    ; (out of line)
 *     add  rdx, [ctx.stack_tlb.base]
 *
 * five instead of eight. The entry is only ever a copy of a tlb_w entry (a
 * private writable page: readable too, so groups that only load may use it),
 * made on a miss that found the page in tlb_w; like the TLBs it is emptied by
 * every call into C and every entry into compiled code (jit_run.c), the only
 * places a page can change (copy-on-write, the resolver, sbrk, host calls).
 * So a hit allows exactly what a tlb_w hit allows, and on a miss the group
 * takes the ordinary path: tlb_w (refilling the entry), tlb_r for a group
 * that only loads, then the group's one-by-one copy, whose accesses walk the
 * page table, refill the TLBs and take the interpreter's slow path — faults,
 * copy-on-write and dirty marks included. Nothing about results depends on
 * the entry: it only decides which of two identical copies of the group runs.
 */
#include "jit_cc.h"

#if JK_PVM_HAVE_JIT

/* The stack pointer: of the registers that `add_imm_64 rX, rX, k` moves
 * both down and up (frames pushed and popped; a cursor that only walks one
 * way would miss the entry on every new page and pay the miss path's extra
 * instructions), the one most used as a base of register-based accesses;
 * −1 when none is used as a base twice. Any choice is correct (the entry is
 * checked on every use); this one makes it hit. */
void jk_pvm_jit_stack_choose(jk_cc *c)
{
    const jk_pvm_program *prog = c->prog;
    bool down[JK_PVM_REGS] = {false}, up[JK_PVM_REGS] = {false};
    uint32_t uses[JK_PVM_REGS] = {0};
    for (uint32_t i = 0; i < prog->insn_count; i++) {
        const jk_pvm_insn *in = &prog->insns[i];
        jk_memop m;
        if (in->opcode == OP_add_imm_64 && in->ra == in->rb && in->ra < JK_PVM_REGS) {
            if ((int64_t)in->imm_x < 0)
                down[in->ra] = true;
            else if (in->imm_x)
                up[in->ra] = true;
        } else if (jk_pvm_group_memop(in, &m) && m.base < JK_PVM_REGS && uses[m.base] < UINT32_MAX) {
            uses[m.base]++;
        }
    }
    c->stack_reg = -1;
    uint32_t best = 1;
    for (unsigned g = 0; g < JK_PVM_REGS; g++)
        if (down[g] && up[g] && uses[g] > best) {
            best = uses[g];
            c->stack_reg = (int)g;
        }
}

size_t jk_pvm_jit_stack_probe(jk_cc *c, unsigned base, uint32_t off, uint32_t span, uint32_t *back)
{
    jk_x64_buf *b = &c->b;
    jk_pvm_jit_addr_to(c, X_RDX, (int)base, off);
    x_alu_r_rm(b, ALU_XOR, true, X_RDX, X_MEM(X_RBX, CTX_STACK_ADDR));
    x_alu_rm_imm(b, ALU_CMP, true, X_REG(X_RDX), (int32_t)(JK_PVM_PAGE_SIZE - span));
    size_t miss = x_jcc32(b, CC_A);
    x_alu_r_rm(b, ALU_ADD, true, X_RDX, X_MEM(X_RBX, CTX_STACK_BASE));
    *back = (uint32_t)b->len;
    return miss;
}

/* The miss paths' probe of tlb_w for the span at the address in rcx: on a
 * hit the entry is copied into the stack TLB and falls through with rdx =
 * the host page, rcx = the offset in it; a miss takes the returned rel8
 * jump with rdx = the entry's offset and rcx = address ^ its page. Uses
 * rax. */
static size_t jk_stack_refill(jk_cc *c, uint32_t span)
{
    jk_x64_buf *b = &c->b;
    x_b(b, 0x0F);
    x_b(b, 0xB6);
    x_b(b, 0xD5); /* movzx edx, ch */
    x_alu_rm_imm(b, ALU_AND, false, X_REG(X_RDX), (JK_JIT_TLB_SIZE - 1) << 4);
    x_alu_r_rm(b, ALU_XOR, true, X_RCX, X_MEMI(X_RBX, X_RDX, 0, CTX_TLB_W_ADDR));
    x_alu_rm_imm(b, ALU_CMP, true, X_REG(X_RCX), (int32_t)(JK_PVM_PAGE_SIZE - span));
    size_t wmiss = x_jcc8(b, CC_A);
    x_mov_r_rm(b, true, X_RAX, X_MEMI(X_RBX, X_RDX, 0, CTX_TLB_W_ADDR));
    x_mov_rm_r(b, true, X_MEM(X_RBX, CTX_STACK_ADDR), X_RAX);
    x_mov_r_rm(b, true, X_RDX, X_MEMI(X_RBX, X_RDX, 0, CTX_TLB_W_BASE));
    x_mov_rm_r(b, true, X_MEM(X_RBX, CTX_STACK_BASE), X_RDX);
    return wmiss;
}

/* rdx = stack_tlb.addr ^ address on entry. rax and rcx are free (a group
 * starts at an instruction boundary, and its check uses only rdx). */
size_t jk_pvm_jit_stack_miss(jk_cc *c, const jk_late *l)
{
    jk_x64_buf *b = &c->b;
    int32_t fit = (int32_t)(JK_PVM_PAGE_SIZE - l->span);
    x_patch32(b, l->at, b->len);
    x_alu_r_rm(b, ALU_XOR, true, X_RDX, X_MEM(X_RBX, CTX_STACK_ADDR)); /* the address */
    x_mov_r_rm(b, false, X_RCX, X_REG(X_RDX));
    size_t wmiss = jk_stack_refill(c, l->span);
    x_alu_r_rm(b, ALU_ADD, true, X_RDX, X_REG(X_RCX));
    jk_jmp_to_off(c, l->back);
    x_here8(b, wmiss);
    if (l->write)
        return x_jmp32(b); /* to the one-by-one copy */
    /* a group that only loads: tlb_r (the stack TLB stays as it is) */
    x_alu_r_rm(b, ALU_XOR, true, X_RCX, X_MEMI(X_RBX, X_RDX, 0, CTX_TLB_W_ADDR));
    x_alu_r_rm(b, ALU_XOR, true, X_RCX, X_MEMI(X_RBX, X_RDX, 0, CTX_TLB_R_ADDR));
    x_alu_rm_imm(b, ALU_CMP, true, X_REG(X_RCX), fit);
    size_t rmiss = x_jcc32(b, CC_A);
    x_mov_r_rm(b, true, X_RDX, X_MEMI(X_RBX, X_RDX, 0, CTX_TLB_R_BASE));
    x_alu_r_rm(b, ALU_ADD, true, X_RDX, X_REG(X_RCX));
    jk_jmp_to_off(c, l->back);
    return rmiss;
}

/* ---- single accesses ---- */

/* Only accesses near the stack pointer, [sp, sp + JK_STACK_NEAR), use the
 * entry: a frame's locals beyond it (a buffer of several pages on the stack)
 * would make the entry swap pages at every other access, and each miss
 * costs more than the TLB's probe (the demo chain's programs: +8% host
 * instructions before this limit). */
#define JK_STACK_NEAR 512u

bool jk_pvm_jit_stack_near(const jk_cc *c, unsigned base, uint32_t off, uint32_t span)
{
    return c->stack_reg >= 0 && (int)base == c->stack_reg && off < JK_STACK_NEAR && span <= JK_STACK_NEAR - off;
}

bool jk_pvm_jit_stack_access(const jk_cc *c, uint32_t i)
{
    jk_memop m;
    return jk_pvm_group_memop(&c->prog->insns[i], &m) && jk_pvm_jit_stack_near(c, m.base, m.off, m.n);
}

/* An access alone (not in a group) through the stack pointer: rcx holds
 * its address (jk_pvm_jit_maddr); on a hit it becomes the host address:
 * `xor rcx, [stack_tlb.addr]; cmp rcx, 4096 − n; ja miss; add rcx,
 * [stack_tlb.base]` and the access at [rcx] — four host instructions after
 * the address instead of seven. */
void jk_pvm_jit_stack_check(jk_cc *c, unsigned n, bool write, jk_mem_stub *stub)
{
    jk_x64_buf *b = &c->b;
    x_alu_r_rm(b, ALU_XOR, true, X_RCX, X_MEM(X_RBX, CTX_STACK_ADDR));
    x_alu_rm_imm(b, ALU_CMP, true, X_REG(X_RCX), (int32_t)(JK_PVM_PAGE_SIZE - n));
    jk_late l = {0};
    l.at = (uint32_t)x_jcc32(b, CC_A);
    x_alu_r_rm(b, ALU_ADD, true, X_RCX, X_MEM(X_RBX, CTX_STACK_BASE));
    l.back = (uint32_t)b->len;
    l.span = n;
    l.write = write;
    l.first = (uint32_t)c->stub_count; /* the caller's stub, added next */
    l.kind = JK_LATE_STACK;
    jk_pvm_jit_add_late(c, &l);
    stub->hit = l.back;
    stub->n = (uint8_t)n;
    stub->write = write;
    stub->konst = true; /* the miss path below enters the stub with rcx = address */
    stub->sum = true;
}

/* rcx = stack_tlb.addr ^ address on entry; rax and rdx are free (a store's
 * value is loaded into rax only at the access). tlb_w: on a hit, copy the
 * entry into the stack TLB and go back; a load then tries tlb_r; else the
 * access's own stub (the walk for its direction, the slow path), with rcx =
 * the address. */
void jk_pvm_jit_stack_check_miss(jk_cc *c, const jk_late *l)
{
    jk_x64_buf *b = &c->b;
    x_alu_r_rm(b, ALU_XOR, true, X_RCX, X_MEM(X_RBX, CTX_STACK_ADDR)); /* the address */
    size_t wmiss = jk_stack_refill(c, l->span);
    x_alu_r_rm(b, ALU_ADD, true, X_RCX, X_REG(X_RDX));
    jk_jmp_to_off(c, l->back);
    x_here8(b, wmiss);
    x_alu_r_rm(b, ALU_XOR, true, X_RCX, X_MEMI(X_RBX, X_RDX, 0, CTX_TLB_W_ADDR)); /* the address */
    if (!l->write) { /* a load: tlb_r (the stack TLB stays as it is), else the walk */
        x_alu_r_rm(b, ALU_XOR, true, X_RCX, X_MEMI(X_RBX, X_RDX, 0, CTX_TLB_R_ADDR));
        x_alu_rm_imm(b, ALU_CMP, true, X_REG(X_RCX), (int32_t)(JK_PVM_PAGE_SIZE - l->span));
        size_t rmiss = x_jcc8(b, CC_A);
        x_alu_r_rm(b, ALU_ADD, true, X_RCX, X_MEMI(X_RBX, X_RDX, 0, CTX_TLB_R_BASE));
        jk_jmp_to_off(c, l->back);
        x_here8(b, rmiss);
        x_alu_r_rm(b, ALU_XOR, true, X_RCX, X_MEMI(X_RBX, X_RDX, 0, CTX_TLB_R_ADDR)); /* the address */
    }
    if (l->first < c->stub_count)
        c->stubs[l->first].miss_at = (uint32_t)x_jmp32(b); /* patched when the stub is emitted */
    else
        b->oom = true; /* the stub was never added (out of memory): refuse */
}

#endif
