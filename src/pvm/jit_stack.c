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

/* ---- the frame copy (session 9) ----
 *
 * The stack TLB still checks the frame in every block that touches it (five
 * host instructions), because after a call or a write of sp nothing is
 * known. The frame copy moves the check to where sp is written. The program
 * is compiled twice: the ordinary copy (everything above, entered by every
 * run, every resumption and every djump of the ordinary copy) and the frame
 * copy, which runs only while this invariant holds:
 *
 *     frame_lo <= sp <= frame_hi, i.e. [sp, sp + H) lies in the private
 *     writable page P = frame_lo (frame_hi = P + 4096 − H), and P's host
 *     buffer is at P + frame_delta
 *
 * (H: the window, the largest extent above sp of the program's accesses
 * through it, up to JK_FRAME_MAX). There, an access at [sp + off, + n) with
 * off + n <= H is one host instruction at [sp + delta + off] with no
 * check: the delta in a callee-saved host register when the program never
 * names some guest register (frame_reg), else loaded into rdx once per
 * access or group (`mov rdx, [ctx.frame_delta]`).
 * What can break the invariant, and what the copy does about each:
 * - a write of sp: after it, the check. `add_imm_64 sp, sp, k` with 0 < |k|
 *   < 2^16 needs one side only (sp was in [lo, hi], and sp >= 64 KiB so sp
 *   + k cannot wrap): `cmp sp, [ctx.frame_lo]; jb` when k < 0, `cmp sp,
 *   [ctx.frame_hi]; ja` when k > 0 — two host instructions, one fused
 *   µop; a miss goes out of line to the routine (frame_try), which checks
 *   the window of the new sp in the page table and either sets the three
 *   words for its page and comes back, or leaves for the ordinary copy's
 *   next instruction. Any other write of sp calls the routine inline;
 * - a change of P's page-table entry: only C code changes entries, and the
 *   C code compiled code calls cannot change a private writable page's
 *   entry (copy-on-write replaces a copy-on-write page, the resolver maps an
 *   unmapped one), except a host call (the embedder's server may map or
 *   unmap anything) and sbrk, which the frame copy never runs: it leaves
 *   for the ordinary copy before `ecalli` and `sbrk` (and before a
 *   terminator that writes sp, which has no "after"). A run starts, and a
 *   resumption enters, in the ordinary copy, so whatever the embedder did
 *   between runs does not matter; the words are never trusted there;
 * - control flow: the frame copy's static jumps, branches, calls and
 *   fallthroughs stay in it, its djumps and calls via a pointer go through
 *   tables of its own copy's code (still only block starts of the program);
 *   a predicted return (`ret`) lands where the call that pushed it was made,
 *   in either copy — the ordinary one is correct in every state, the frame
 *   one is entered only by a return executed in the frame copy, i.e. with
 *   the invariant holding. So the ordinary copy's returns check the window
 *   before their `ret` (frame_try) and, when it does not hold, drop the
 *   prediction and take the djump, which lands in the ordinary copy.
 * The ordinary copy moves to the frame copy after an `add_imm_64 sp, sp,
 * k` (a frame's push or pop) whose window passes the routine, and by a
 * return whose window passes. A program gets a frame copy only when every
 * such step of its stack pointer is a multiple of 8 (a register stepped by
 * 1 is a counter, and checking its "window" at every step costs a loop
 * ~25 host instructions an iteration: c_muldiv), sp lives in a host
 * register and some access is inside the window. Nothing in either copy changes what the
 * interpreter computes: the accesses are the same accesses at the same host
 * bytes (a private writable page, as a tlb_w hit allows), and the gas,
 * exits and fault addresses are the ordinary code's, since an access that
 * could fault is never in the window. */

/* The window's largest size: a larger H leaves a frame copy for fewer sp
 * (those within H of a page end have no window). */
#define JK_FRAME_MAX 256u

/* The register an instruction may write, by format (jk_range_dest's split,
 * plus loads and jumps with a register): −2 for "any" (a host call), −1 for
 * none. */
static int jk_frame_dest(const jk_pvm_insn *in)
{
    const jk_pvm_opinfo *info = jk_pvm_opinfo_get(in->opcode);
    switch (info ? info->format : -1) {
    case JK_PVM_ARGS_IMM:
        return in->opcode == OP_ecalli ? -2 : -1;
    case JK_PVM_ARGS_REG_IMM64:
        return (int)in->ra;
    case JK_PVM_ARGS_REG_IMM: /* load_imm, load_*; jump_ind and store_* write none */
        return in->opcode == OP_load_imm || (in->opcode >= OP_load_u8 && in->opcode <= OP_load_u64) ? (int)in->ra
                                                                                                   : -1;
    case JK_PVM_ARGS_REG_IMM_OFFSET: /* load_imm_jump; the branches write none */
        return in->opcode == OP_load_imm_jump ? (int)in->ra : -1;
    case JK_PVM_ARGS_REG_REG_IMM_IMM: /* load_imm_jump_ind */
        return (int)in->ra;
    case JK_PVM_ARGS_REG_REG:
    case JK_PVM_ARGS_REG_REG_REG:
        return (int)in->rd;
    case JK_PVM_ARGS_REG_REG_IMM: {
        jk_memop m;
        return jk_pvm_group_memop(in, &m) && m.write ? -1 : (int)in->ra;
    }
    default:
        return -1;
    }
}

bool jk_pvm_jit_frame_writes_sp(const jk_cc *c, uint32_t i)
{
    int d = jk_frame_dest(&c->prog->insns[i]);
    return c->stack_reg >= 0 && (d == -2 || d == c->stack_reg);
}

void jk_pvm_jit_frame_plan(jk_cc *c)
{
    const jk_pvm_program *prog = c->prog;
    c->frame_h = 0;
    if (c->stack_reg < 0 || c->map[c->stack_reg] == X_NOREG)
        return; /* the accesses are [sp + rdx + off]: sp in a host register */
    uint32_t h = 0;
    for (uint32_t i = 0; i < prog->insn_count; i++) {
        const jk_pvm_insn *in = &prog->insns[i];
        jk_memop m;
        if (in->opcode == OP_add_imm_64 && in->ra == in->rb && (int)in->ra == c->stack_reg && (in->imm_x & 7))
            return; /* a counter, not a stack pointer: frames move by words */
        if (jk_pvm_group_memop(in, &m) && (int)m.base == c->stack_reg && m.off < JK_FRAME_MAX &&
            m.n <= JK_FRAME_MAX - m.off && m.off + m.n > h)
            h = m.off + m.n;
    }
    c->frame_h = h ? (h + 7) & ~7u : 0;
    c->frame_host = c->map[c->stack_reg];
    /* A guest register the program never names needs no host register
     * (it stays in ctx->regs, where the entry and every exit find it):
     * a callee-saved one then holds frame_delta, so the copy's accesses
     * need no load of it (asm fib names 4 of the 13). */
    c->frame_reg = X_NOREG;
    for (unsigned g = 0; c->frame_h && g < JK_PVM_REGS && c->frame_reg == X_NOREG; g++)
        if (!c->uses[g] && c->map[g] != X_NOREG && !jk_host_caller_saved(c->map[g])) {
            c->frame_reg = c->map[g];
            c->map[g] = X_NOREG;
        }
}

void jk_pvm_jit_frame_select(jk_cc *c, bool framed)
{
    c->framed = framed;
    c->label = framed ? c->label_f : c->label_o;
    c->entry = framed ? c->entry_f : c->entry_o;
    c->jump_code = framed ? c->jump_code_f : c->jump_code_o;
    c->call_code = framed ? c->call_code_f : c->call_code_o;
}

/* frame_try: rax, rcx, rdx and the flags clobbered; eax = 1 when the
 * window of sp holds (the three words set for its page), else 0 (the words
 * untouched). The page-table walk is tier 2's (jit_mem.c) for a store: R
 * and W set, i.e. a private writable page; like an access's miss path it
 * refills that page's tlb_w entry, which only ever holds what the walk
 * allows. */
void jk_pvm_jit_frame_routine(jk_cc *c)
{
    jk_x64_buf *b = &c->b;
    if (!c->frame_h)
        return;
    size_t fail = b->len;
    x_alu_r_rm(b, ALU_XOR, false, X_RAX, X_REG(X_RAX));
    x_b(b, 0xC3); /* ret */
    c->frame_try = b->len;
    x_mov_r_rm(b, true, X_RAX, X_REG(c->frame_host));
    x_mov_r_rm(b, true, X_RCX, X_REG(X_RAX));
    x_shift_imm(b, SH_SHR, true, X_RCX, 32);
    x_patch32(b, x_jcc32(b, CC_NE), fail); /* sp >= 2^32: no window */
    /* the page of the last walk, while it is valid (frame_lo is emptied
     * with the TLBs, to 2^32: then sp − lo wraps above any bound): a run
     * of a kernel that reuses its memory finds its stack page there */
    int32_t room = (int32_t)(JK_PVM_PAGE_SIZE - c->frame_h);
    x_mov_r_rm(b, true, X_RCX, X_REG(X_RAX));
    x_alu_r_rm(b, ALU_SUB, true, X_RCX, X_MEM(X_RBX, CTX_FRAME_LO));
    x_alu_rm_imm(b, ALU_CMP, true, X_REG(X_RCX), room);
    size_t walk = x_jcc8(b, CC_A);
    x_mov_r_rm(b, true, X_RDX, X_MEM(X_RBX, CTX_FRAME_LO));
    if (c->frame_reg != X_NOREG)
        x_mov_r_rm(b, true, c->frame_reg, X_MEM(X_RBX, CTX_FRAME_DELTA));
    x_alu_rm_imm(b, ALU_ADD, true, X_REG(X_RDX), room);
    x_mov_rm_r(b, true, X_MEM(X_RBX, CTX_FRAME_HI), X_RDX); /* this program's H */
    x_mov_r_imm(b, X_RAX, 1);
    x_b(b, 0xC3);
    x_here8(b, walk);
    x_mov_r_rm(b, false, X_RCX, X_REG(X_RAX));
    x_alu_rm_imm(b, ALU_AND, false, X_REG(X_RCX), JK_PVM_PAGE_SIZE - 1);
    x_alu_rm_imm(b, ALU_CMP, false, X_REG(X_RCX), room);
    x_patch32(b, x_jcc32(b, CC_A), fail); /* [sp, sp + H) crosses the page's end */
    x_mov_r_rm(b, false, X_RCX, X_REG(X_RAX));
    size_t denied = jk_pvm_jit_tlb_walk(c, true, false); /* rdx = P, rcx = its tlb_w entry */
    x_mov_r_rm(b, true, X_RAX, X_MEMI(X_RBX, X_RCX, 0, CTX_TLB_W_BASE));
    x_alu_r_rm(b, ALU_SUB, true, X_RAX, X_REG(X_RDX));
    x_mov_rm_r(b, true, X_MEM(X_RBX, CTX_FRAME_DELTA), X_RAX);
    if (c->frame_reg != X_NOREG)
        x_mov_r_rm(b, true, c->frame_reg, X_REG(X_RAX));
    x_mov_rm_r(b, true, X_MEM(X_RBX, CTX_FRAME_LO), X_RDX);
    x_alu_rm_imm(b, ALU_ADD, true, X_REG(X_RDX), room);
    x_mov_rm_r(b, true, X_MEM(X_RBX, CTX_FRAME_HI), X_RDX);
    x_mov_r_imm(b, X_RAX, 1);
    x_b(b, 0xC3);
    x_here8(b, denied);
    x_patch32(b, x_jmp32(b), fail);
}

/* `call frame_try; test eax, eax` */
static void jk_frame_call(jk_cc *c)
{
    x_patch32(&c->b, x_call32(&c->b), c->frame_try);
    x_op(&c->b, 0, false, 0x85, 1, X_RAX, X_REG(X_RAX), false);
}

bool jk_pvm_jit_frame_leave(jk_cc *c, uint32_t i)
{
    const jk_pvm_insn *in = &c->prog->insns[i];
    const jk_pvm_opinfo *info = jk_pvm_opinfo_get(in->opcode);
    if (!c->framed)
        return false;
    bool leave = in->opcode == OP_ecalli || in->opcode == OP_sbrk;
    if (!leave && jk_pvm_jit_frame_writes_sp(c, i))
        leave = (info && info->is_terminator) || i + 1 >= c->prog->insn_count || c->prog->block_start[i + 1];
    if (!leave)
        return false;
    jk_jump_to_copy(c, x_jmp32(&c->b), i, true, false); /* the ordinary copy's i */
    return true;
}

bool jk_pvm_jit_frame_near(const jk_cc *c, unsigned base, uint32_t off, uint32_t span)
{
    return c->framed && (int)base == c->stack_reg && off < c->frame_h && span <= c->frame_h - off;
}

jk_x64_rm jk_pvm_jit_frame_at(jk_cc *c, uint32_t off)
{
    if (c->frame_reg != X_NOREG)
        return X_MEMI(c->frame_host, c->frame_reg, 0, (int32_t)off);
    return X_MEMI(c->frame_host, X_RDX, 0, (int32_t)off);
}

void jk_pvm_jit_frame_delta(jk_cc *c)
{
    if (c->frame_reg == X_NOREG)
        x_mov_r_rm(&c->b, true, X_RDX, X_MEM(X_RBX, CTX_FRAME_DELTA));
}

bool jk_pvm_jit_frame_access(jk_cc *c, uint32_t i)
{
    jk_memop m;
    if (!c->framed || !jk_pvm_group_memop(&c->prog->insns[i], &m) || !jk_pvm_jit_frame_near(c, m.base, m.off, m.n))
        return false;
    jk_pvm_jit_frame_delta(c);
    jk_pvm_group_access(c, &m, jk_pvm_jit_frame_at(c, m.off));
    return true;
}

void jk_pvm_jit_frame_after(jk_cc *c, uint32_t i)
{
    jk_x64_buf *b = &c->b;
    const jk_pvm_insn *in = &c->prog->insns[i];
    const jk_pvm_opinfo *info = jk_pvm_opinfo_get(in->opcode);
    if (!c->frame_h || !jk_pvm_jit_frame_writes_sp(c, i) || in->opcode == OP_ecalli || in->opcode == OP_sbrk ||
        (info && info->is_terminator) || i + 1 >= c->prog->insn_count || c->prog->block_start[i + 1])
        return; /* (the frame copy left before such an instruction) */
    int64_t k = (int64_t)in->imm_x;
    bool step = in->opcode == OP_add_imm_64 && in->ra == in->rb;
    if (!c->framed) {
        /* to the frame copy when the window holds, at a frame's push or
         * pop only: any other write (a move, a load) stays here, where
         * nothing is assumed, until the next frame */
        if (!step || k == 0)
            return;
        jk_frame_call(c);
        jk_jump_to_copy(c, x_jcc32(b, CC_NE), i + 1, true, true);
        return;
    }
    if (step && k > -65536 && k < 65536) {
        if (k == 0)
            return;
        x_alu_r_rm(b, ALU_CMP, true, c->frame_host, X_MEM(X_RBX, k < 0 ? CTX_FRAME_LO : CTX_FRAME_HI));
        jk_late l = {0};
        l.kind = JK_LATE_FRAME;
        l.at = (uint32_t)x_jcc32(b, k < 0 ? CC_B : CC_A);
        l.back = (uint32_t)b->len;
        l.first = i;
        jk_pvm_jit_add_late(c, &l);
        return;
    }
    jk_frame_call(c);
    jk_jump_to_copy(c, x_jcc32(b, CC_E), i + 1, true, false); /* no window: the ordinary copy */
}

void jk_pvm_jit_frame_late(jk_cc *c, const jk_late *l)
{
    jk_x64_buf *b = &c->b;
    jk_frame_call(c);
    x_patch32(b, x_jcc32(b, CC_NE), l->back);
    jk_jump_to_copy(c, x_jmp32(b), l->first + 1, true, false);
}

#endif
