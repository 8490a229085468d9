/*
 * jit_mem.c — the recompiler's shared routines (entry trampoline, exits, the
 * calls into the interpreter's memory slow path) and its guest memory access:
 * the TLB, the inline page-table walk, loads and stores (docs/pvm.md,
 * "Guest memory access: three tiers").
 */
#include "jit_cc.h"

#if JK_PVM_HAVE_JIT

/* ---- shared routines, emitted once before the program's code ---- */

void jk_pvm_jit_emit_routines(jk_cc *c)
{
    jk_x64_buf *b = &c->b;
    for (int i = 0; i < 16; i++)
        x_b(b, 0xCC); /* nothing sits before the trampoline but traps */

    /* int trampoline(jk_jit_ctx *ctx /rdi/, const void *code /rsi/) */
    static const uint8_t saved[6] = {X_RBP, X_RBX, X_R12, X_R13, X_R14, X_R15};
    for (int i = 0; i < 6; i++)
        x_push(b, saved[i]);
    /* An all-ones word, then the bottom of the predicted returns (two
     * words, jit_ctl.c): the stack is 16-byte aligned for calls into C. */
    x_b(b, 0x6A);
    x_b(b, 0xFF); /* push -1 */
    jk_pvm_jit_push_bottom(c);
    x_mov_r_rm(b, true, X_RBX, X_REG(X_RDI));
    x_mov_rm_r(b, true, X_MEM(X_RBX, CTX_RSP), X_RSP);
    /* predicted returns may use 16 KiB of this thread's stack below here */
    x_op(b, 0, true, 0x8D, 1, X_RAX, X_MEM(X_RSP, -(int32_t)JK_JIT_RETURN_STACK), false);
    x_mov_rm_r(b, true, X_MEM(X_RBX, CTX_STACK_LIMIT), X_RAX);
    x_mov_r_rm(b, true, X_RAX, X_REG(X_RSI));
    jk_reload(c, true);
    /* a run may start in the frame copy (jit_run.c), whose accesses use
     * the delta in this register; the ordinary copy never reads it */
    if (c->frame_h && c->frame_reg != X_NOREG)
        x_mov_r_rm(b, true, c->frame_reg, X_MEM(X_RBX, CTX_FRAME_DELTA));
    x_op(b, 0, false, 0xFF, 1, 4, X_REG(X_RAX), false); /* jmp rax */

    /* exit_common: eax = exit code */
    c->exit_common = b->len;
    x_mov_r_rm(b, true, X_RSP, X_MEM(X_RBX, CTX_RSP));
    jk_spill(c, true);
    x_alu_rm_imm(b, ALU_ADD, true, X_REG(X_RSP), 24);
    for (int i = 5; i >= 0; i--)
        x_pop(b, saved[i]);
    x_b(b, 0xC3);

    c->panic_common = b->len;
    x_mov_r_imm(b, X_RAX, JK_JIT_EXIT_PANIC);
    jk_jmp_to_off(c, c->exit_common);
    c->halt_common = b->len;
    x_mov_r_imm(b, X_RAX, JK_JIT_EXIT_HALT);
    jk_jmp_to_off(c, c->exit_common);
    c->mem_fail = b->len;
    x_mov_r_imm(b, X_RAX, JK_JIT_EXIT_MEMORY);
    jk_jmp_to_off(c, c->exit_common);

    /* load_slow / store_slow: eax = address, ecx = instruction index,
     * edx = size; store value in ctx->scratch; loaded value returned in rax.
     * Called with `call`, so rsp is 8 off alignment on entry. */
    for (int store = 0; store < 2; store++) {
        if (store)
            c->store_slow = b->len;
        else
            c->load_slow = b->len;
        x_mov_rm_r(b, false, X_MEM(X_RBX, CTX_EXIT), X_RCX);
        jk_spill(c, false);
        x_alu_rm_imm(b, ALU_SUB, true, X_REG(X_RSP), 8);
        x_mov_r_rm(b, true, X_RDI, X_REG(X_RBX));
        x_mov_r_rm(b, false, X_RSI, X_REG(X_RAX));
        /* edx already holds n */
        jk_call_abs(c, store ? (const void *)jk_pvm_jit_store_slow : (const void *)jk_pvm_jit_load_slow);
        x_alu_rm_imm(b, ALU_ADD, true, X_REG(X_RSP), 8);
        jk_reload(c, false);
        x_op(b, 0, false, 0x85, 1, X_RAX, X_REG(X_RAX), false); /* test eax, eax */
        x_patch32(b, x_jcc32(b, CC_NE), c->mem_fail);
        if (!store)
            x_mov_r_rm(b, true, X_RAX, X_MEM(X_RBX, CTX_SCRATCH));
        x_b(b, 0xC3);
    }

}

/* ---- per-instruction code ---- */

/* r = (uint32)(reg + imm), or the constant when base < 0. */
void jk_pvm_jit_addr_to(jk_cc *c, uint8_t r, int base, uint64_t imm)
{
    if (base < 0) {
        x_mov_r_imm(&c->b, r, (uint32_t)imm);
        return;
    }
    uint8_t h = c->map[base];
    if (h != X_NOREG && (uint32_t)imm) {
        /* lea r32, [h + imm]: the 32-bit sum, wrapped as the Graypaper says */
        x_op(&c->b, 0, false, 0x8D, 1, r, X_MEM(h, (int32_t)(uint32_t)imm), false);
        return;
    }
    ld32(c, r, (unsigned)base);
    if ((uint32_t)imm)
        x_alu_rm_imm(&c->b, ALU_ADD, false, X_REG(r), (int32_t)(uint32_t)imm);
}

void jk_pvm_jit_addr(jk_cc *c, int base, uint64_t imm)
{
    jk_pvm_jit_addr_to(c, X_RAX, base, imm);
}

void jk_pvm_jit_maddr(jk_cc *c, int base, uint64_t imm)
{
    c->maddr_at = c->b.len;
    jk_pvm_jit_addr_to(c, X_RCX, base, imm);
    c->maddr_end = c->b.len;
}

/* Guest memory access, in three tiers:
 *  1. a 16-entry direct-mapped TLB per direction in ctx (page address, host
 *     page base), indexed by the page number's low 4 bits:
 *     `(addr ^ tlb_addr) <= 4096 - n` checks the page and that the access
 *     stays inside it with one compare (tlb_addr is a 64-bit field whose
 *     "empty" value 2^32 never matches a 32-bit address);
 *  2. on a miss, the inline walk of the two-level page table; a page with
 *     the needed bits (R for loads, R|W for stores: private writable pages)
 *     refills the TLB;
 *  3. everything else calls the interpreter's slow path (straddling
 *     accesses, copy-on-write, the resolver, the guard, faults). Every call
 *     into C empties the TLB (jit_run.c), since it may remap pages.
 * In: rcx = address (the miss path recovers it from the probe's xor and
 * moves it to rax for the walk and the slow path). The access itself is
 * emitted by the caller with rdx = host page base and rcx = offset in the
 * page. */
/* edx = (addr >> 12 mod 16) * 16, the TLB entry's offset, from the address
 * in ecx: bits 8..15 of it are ch, so two instructions. */
static void jk_tlb_index(jk_x64_buf *b)
{
    x_b(b, 0x0F);
    x_b(b, 0xB6);
    x_b(b, 0xD5); /* movzx edx, ch */
    x_alu_rm_imm(b, ALU_AND, false, X_REG(X_RDX), (JK_JIT_TLB_SIZE - 1) << 4);
}

/* The TLB probe for an access of n bytes at ecx (n <= 4096): on a hit,
 * rdx = host page, rcx = offset in it; a miss takes the returned rel32 jump
 * (the caller patches it) with rdx = the entry's offset and rcx = address ^
 * the entry's page, from which the miss path gets the address back. */
size_t jk_pvm_jit_tlb_probe(jk_cc *c, unsigned n, bool write)
{
    jk_x64_buf *b = &c->b;
    jk_tlb_index(b);
    x_alu_r_rm(b, ALU_XOR, true, X_RCX, X_MEMI(X_RBX, X_RDX, 0, write ? CTX_TLB_W_ADDR : CTX_TLB_R_ADDR));
    x_alu_rm_imm(b, ALU_CMP, true, X_REG(X_RCX), (int32_t)(JK_PVM_PAGE_SIZE - n));
    size_t miss = x_jcc32(b, CC_A);
    x_mov_r_rm(b, true, X_RDX, X_MEMI(X_RBX, X_RDX, 0, write ? CTX_TLB_W_BASE : CTX_TLB_R_BASE));
    return miss;
}

/* Tier 1, inline: on a hit, rdx = host page, rcx = offset, and the access
 * follows; a miss jumps (rel32, recorded in a stub) to the out-of-line walk
 * placed after all the program's code, so the hot path has no taken jump. */
static void jk_tlb_check(jk_cc *c, unsigned n, bool write, jk_mem_stub *stub)
{
    stub->miss_at = (uint32_t)jk_pvm_jit_tlb_probe(c, n, write);
    stub->hit = (uint32_t)c->b.len;
    stub->n = (uint8_t)n;
    stub->write = write;
}

static void jk_add_stub(jk_cc *c, const jk_mem_stub *stub)
{
    jk_mem_stub *g = jk_grow(c, c->stubs, &c->stub_cap, c->stub_count, sizeof *g);
    if (!g)
        return;
    c->stubs = g;
    c->stubs[c->stub_count++] = *stub;
}

/* Tier 2's walk for an access at the 32-bit address in rcx (upper half
 * zero): the page table's entry for its page, and when that page allows the
 * access (R for loads, R|W — a private writable page — for stores) a refill
 * of its TLB entry (and of the stack TLB when `stack`). Leaves eax = the
 * address and rcx = the entry's offset; returns the rel8 jump taken when
 * the page does not allow it. Also the strided loops' check (jit_loop.c),
 * which walks the page its next iterations need instead of leaving for the
 * ordinary code. */
size_t jk_pvm_jit_tlb_walk(jk_cc *c, bool write, bool stack)
{
    jk_x64_buf *b = &c->b;
    size_t slow;
    x_mov_r_rm(b, false, X_RAX, X_REG(X_RCX));
    x_shift_imm(b, SH_SHR, false, X_RCX, JK_PVM_PAGE_SHIFT + JK_LEAF_BITS);
    x_mov_r_rm(b, true, X_RDX, X_MEM(X_RBX, CTX_TOP));
    x_mov_r_rm(b, true, X_RDX, X_MEMI(X_RDX, X_RCX, 3, 0));
    x_alu_r_rm(b, ALU_ADD, true, X_RDX, X_MEM(X_RBX, CTX_EMPTY_LEAF)); /* offset -> leaf */
    x_mov_r_rm(b, false, X_RCX, X_REG(X_RAX));
    x_shift_imm(b, SH_SHR, false, X_RCX, JK_PVM_PAGE_SHIFT);
    x_alu_rm_imm(b, ALU_AND, false, X_REG(X_RCX), JK_LEAF_SIZE - 1);
    x_mov_r_rm(b, true, X_RDX, X_MEMI(X_RDX, X_RCX, 3, 0));
    /* (e & need) == need */
    if (write) {
        x_mov_r_rm(b, false, X_RCX, X_REG(X_RDX));
        x_f7(b, 2, false, X_REG(X_RCX)); /* not ecx */
        x_b(b, 0xF6);
        x_b(b, 0xC1);
        x_b(b, (uint8_t)(JK_PAGE_R | JK_PAGE_W)); /* test cl, 3 */
        slow = x_jcc8(b, CC_NE);
    } else {
        x_b(b, 0xF6);
        x_b(b, 0xC2);
        x_b(b, (uint8_t)JK_PAGE_R); /* test dl, 1 */
        slow = x_jcc8(b, CC_E);
    }
    /* refill this page's TLB entry */
    x_alu_rm_imm(b, ALU_AND, true, X_REG(X_RDX), -(int32_t)JK_PVM_PAGE_SIZE);
    x_mov_r_rm(b, false, X_RCX, X_REG(X_RAX));
    x_shift_imm(b, SH_SHR, false, X_RCX, JK_PVM_PAGE_SHIFT - 4);
    x_alu_rm_imm(b, ALU_AND, false, X_REG(X_RCX), (JK_JIT_TLB_SIZE - 1) << 4);
    x_mov_rm_r(b, true, X_MEMI(X_RBX, X_RCX, 0, write ? CTX_TLB_W_BASE : CTX_TLB_R_BASE), X_RDX);
    x_mov_r_rm(b, false, X_RDX, X_REG(X_RAX));
    x_alu_rm_imm(b, ALU_AND, false, X_REG(X_RDX), -(int32_t)JK_PVM_PAGE_SIZE);
    x_mov_rm_r(b, true, X_MEMI(X_RBX, X_RCX, 0, write ? CTX_TLB_W_ADDR : CTX_TLB_R_ADDR), X_RDX);
    if (stack) /* a stack access: the new tlb_w entry is the stack TLB's too */
        x_mov_rm_r(b, true, X_MEM(X_RBX, CTX_STACK_ADDR), X_RDX);
    return slow;
}

/* Tier 2 (the walk) and tier 3 (the slow path) for one access. */
static void jk_emit_stub(jk_cc *c, const jk_mem_stub *m)
{
    jk_x64_buf *b = &c->b;
    bool write = m->write;
    unsigned n = m->n;
    x_patch32(b, m->miss_at, b->len);
    /* the address: rcx ^ the entry's page (the xor of the probe, undone),
     * or rcx itself after a known address's compare */
    if (m->known)
        x_mov_r_imm(b, X_RCX, m->addr);
    else if (!m->konst)
        x_alu_r_rm(b, ALU_XOR, true, X_RCX, X_MEMI(X_RBX, X_RDX, 0, write ? CTX_TLB_W_ADDR : CTX_TLB_R_ADDR));
    size_t slow[2];
    slow[0] = jk_pvm_jit_tlb_walk(c, write, m->sum && write);
    x_mov_r_rm(b, true, X_RDX, X_MEMI(X_RBX, X_RCX, 0, write ? CTX_TLB_W_BASE : CTX_TLB_R_BASE));
    if (m->sum && write)
        x_mov_rm_r(b, true, X_MEM(X_RBX, CTX_STACK_BASE), X_RDX);
    x_mov_r_rm(b, false, X_RCX, X_REG(X_RAX));
    x_alu_rm_imm(b, ALU_AND, false, X_REG(X_RCX), JK_PVM_PAGE_SIZE - 1);
    slow[1] = SIZE_MAX;
    if (n > 1) {
        x_alu_rm_imm(b, ALU_CMP, false, X_REG(X_RCX), (int32_t)(JK_PVM_PAGE_SIZE - n));
        slow[1] = x_jcc8(b, CC_A);
    }
    if (m->sum)
        x_alu_r_rm(b, ALU_ADD, true, X_RCX, X_REG(X_RDX)); /* the access is at [rcx] */
    x_patch32(b, x_jmp32(b), m->hit);

    for (int k = 0; k < 2; k++)
        if (slow[k] != SIZE_MAX)
            x_here8(b, slow[k]);
    if (write) {
        if (m->vreg >= 0)
            ld(c, X_RCX, (unsigned)m->vreg);
        else
            x_mov_r_imm(b, X_RCX, m->vimm);
        x_mov_rm_r(b, true, X_MEM(X_RBX, CTX_SCRATCH), X_RCX);
    }
    x_mov_r_imm(b, X_RCX, m->index);
    x_mov_r_imm(b, X_RDX, n);
    x_patch32(b, x_call32(b), write ? c->store_slow : c->load_slow);
    if (!write) {
        if (m->sx) {
            if (n == 1)
                x_op(b, 0, true, 0x0FBE, 2, X_RAX, X_REG(X_RAX), false);
            else if (n == 2)
                x_op(b, 0, true, 0x0FBF, 2, X_RAX, X_REG(X_RAX), false);
            else if (n == 4)
                x_movsxd(b, X_RAX, X_REG(X_RAX));
        }
        st(c, m->ra, X_RAX);
    }
    x_patch32(b, x_jmp32(b), m->done);
}

void jk_pvm_jit_emit_mem_stubs(jk_cc *c)
{
    for (size_t k = 0; k < c->stub_count && !c->b.oom; k++) {
        if (!x_reserve(&c->b, JK_JIT_INSN_BOUND))
            return;
        size_t start = c->b.len;
        jk_emit_stub(c, &c->stubs[k]);
        if (c->b.len - start > JK_JIT_INSN_BOUND)
            c->b.oom = true; /* a bound is wrong: refuse rather than overrun */
    }
}

/* Accesses at addresses known at compile time (docs/pvm.md, "Known
 * addresses"): the absolute forms, and register-based ones whose base a
 * `load_imm` earlier in the block set (a C global's address: `load_imm r9,
 * &g; load_ind_u64 r12, r9, 0`). The TLB entry is known too, so the probe is
 * one compare of it with the page (`cmp qword [ctx + entry], page; jne
 * miss; mov rdx, [ctx + entry base]`, then the access at [rdx + offset]):
 * three host instructions instead of seven. The miss path is the ordinary
 * one (the address is in rcx). The proof holds only for runs that executed
 * the block from where the value is known, so runs that start after that
 * point use the interpreter (as for divisions, jit_range.c). Only for an
 * access inside one page below 2^31 (the compare's immediate is
 * sign-extended). */
static bool jk_known_addr(jk_cc *c, uint32_t i, unsigned n, uint32_t *addr)
{
    const jk_pvm_insn *in = &c->prog->insns[i];
    jk_memop m;
    uint32_t a, from = UINT32_MAX;
    if (jk_pvm_group_memop(in, &m)) {
        uint64_t v;
        if (!jk_pvm_jit_value_known(c, i, m.base, &v, &from))
            return false;
        a = (uint32_t)v + m.off;
    } else {
        a = (uint32_t)in->imm_x; /* load_u*, store_u*, store_imm_u*: ν_X */
    }
    if ((a & (JK_PVM_PAGE_SIZE - 1)) > JK_PVM_PAGE_SIZE - n || a >= UINT32_C(0x80000000))
        return false;
    for (uint32_t k = from + 1; from != UINT32_MAX && k <= i; k++)
        c->no_entry[k] = 1;
    *addr = a;
    return true;
}

/* The known address's probe: on a hit rdx = the host page; the access
 * follows at [rdx + a mod 4096]. The address in ecx is needed by the miss
 * path alone, which can form it from a: when the code emitted last is the
 * jk_pvm_jit_maddr that formed it (`mov ecx, r9d` before `c_fib`'s load of
 * fib_call), that code is taken back (session 15) — nothing after an
 * access reads rcx, which the miss path changes anyway. */
static void jk_known_check(jk_cc *c, uint32_t a, bool write, jk_mem_stub *stub)
{
    jk_x64_buf *b = &c->b;
    if (!b->oom && c->maddr_end == b->len && c->maddr_at < b->len) {
        b->len = c->maddr_at;
        stub->known = true;
        stub->addr = a;
    }
    int32_t entry = (int32_t)(((a >> JK_PVM_PAGE_SHIFT) % JK_JIT_TLB_SIZE) * 16);
    x_alu_rm_imm(b, ALU_CMP, true, X_MEM(X_RBX, (write ? CTX_TLB_W_ADDR : CTX_TLB_R_ADDR) + entry),
                 (int32_t)(a & ~(uint32_t)(JK_PVM_PAGE_SIZE - 1)));
    stub->miss_at = (uint32_t)x_jcc32(b, CC_NE);
    x_mov_r_rm(b, true, X_RDX, X_MEM(X_RBX, (write ? CTX_TLB_W_BASE : CTX_TLB_R_BASE) + entry));
    stub->hit = (uint32_t)b->len; /* the miss path comes back with rdx = the host page */
    stub->write = write;
    stub->konst = true;
}

/* The check of instruction i's access of n bytes at the address in rcx,
 * by what the compiler knows of it (its address, its base the stack
 * pointer, or nothing: the TLB); returns where the access goes. */
static jk_x64_rm jk_access_check(jk_cc *c, uint32_t i, unsigned n, bool write, jk_mem_stub *m)
{
    uint32_t a;
    jk_x64_rm at = X_MEMI(X_RDX, X_RCX, 0, 0);
    if (jk_known_addr(c, i, n, &a)) {
        jk_known_check(c, a, write, m);
        at = X_MEM(X_RDX, (int32_t)(a & (JK_PVM_PAGE_SIZE - 1)));
    } else if (jk_pvm_jit_stack_access(c, i)) {
        jk_pvm_jit_stack_check(c, n, write, m);
        at = X_MEM(X_RCX, 0);
    } else {
        jk_tlb_check(c, n, write, m);
    }
    m->n = (uint8_t)n;
    return at;
}

/* Load n bytes at the address in rcx into guest register ra, extended. */
void jk_pvm_jit_load(jk_cc *c, uint32_t i, unsigned ra, unsigned n, bool sx)
{
    jk_x64_buf *b = &c->b;
    jk_mem_stub m = {0};
    jk_x64_rm at = jk_access_check(c, i, n, false, &m);
    /* straight into the destination's host register when it has one */
    uint8_t h = c->map[ra] != X_NOREG ? c->map[ra] : X_RAX;
    switch (n) {
    case 1: x_op(b, 0, sx, sx ? 0x0FBE : 0x0FB6, 2, h, at, false); break;
    case 2: x_op(b, 0, sx, sx ? 0x0FBF : 0x0FB7, 2, h, at, false); break;
    case 4:
        if (sx)
            x_movsxd(b, h, at);
        else
            x_mov_r_rm(b, false, h, at);
        break;
    default: x_mov_r_rm(b, true, h, at); break;
    }
    if (h == X_RAX)
        st(c, ra, X_RAX);
    m.done = (uint32_t)b->len;
    m.index = i;
    m.sx = sx;
    m.ra = (uint8_t)ra;
    m.vreg = -1;
    jk_add_stub(c, &m);
}

/* Store n bytes of guest register `vreg` (or the constant vimm when vreg < 0)
 * at the memory operand `at` (clobbers rax only). */
void jk_pvm_jit_store_at(jk_cc *c, jk_x64_rm at, int vreg, uint64_t vimm, unsigned n)
{
    jk_x64_buf *b = &c->b;
    if (vreg >= 0) {
        uint8_t h = c->map[vreg];
        if (h == X_NOREG) {
            ld(c, X_RAX, (unsigned)vreg); /* the address is no longer needed */
            h = X_RAX;
        }
        switch (n) {
        case 1: x_op(b, 0, false, 0x88, 1, h, at, true); break;
        case 2: x_op(b, 0x66, false, 0x89, 1, h, at, false); break;
        case 4: x_mov_rm_r(b, false, at, h); break;
        default: x_mov_rm_r(b, true, at, h); break;
        }
    } else {
        switch (n) {
        case 1: x_op(b, 0, false, 0xC6, 1, 0, at, false); x_b(b, (uint8_t)vimm); break;
        case 2:
            x_op(b, 0x66, false, 0xC7, 1, 0, at, false);
            x_b(b, (uint8_t)vimm);
            x_b(b, (uint8_t)(vimm >> 8));
            break;
        case 4: x_op(b, 0, false, 0xC7, 1, 0, at, false); x_d(b, (uint32_t)vimm); break;
        default:
            if (x_fits32(vimm)) {
                x_op(b, 0, true, 0xC7, 1, 0, at, false);
                x_d(b, (uint32_t)vimm);
            } else {
                x_mov_r_imm(b, X_RAX, vimm);
                x_mov_rm_r(b, true, at, X_RAX);
            }
            break;
        }
    }
}

void jk_pvm_jit_store(jk_cc *c, uint32_t i, int vreg, uint64_t vimm, unsigned n)
{
    jk_x64_buf *b = &c->b;
    jk_mem_stub m = {0};
    jk_x64_rm at = jk_access_check(c, i, n, true, &m);
    jk_pvm_jit_store_at(c, at, vreg, vimm, n);
    m.done = (uint32_t)b->len;
    m.index = i;
    m.vreg = (int16_t)vreg;
    m.vimm = vimm;
    jk_add_stub(c, &m);
}

/* Fallback: run the instruction in C on the spilled state. */
void jk_pvm_jit_call_step(jk_cc *c, const jk_pvm_insn *in)
{
    jk_spill(c, true);
    x_mov_r_rm(&c->b, true, X_RDI, X_REG(X_RBX));
    uint64_t a;
    memcpy(&a, &in, sizeof a);
    x_mov_r_imm(&c->b, X_RSI, a);
    jk_call_abs(c, (const void *)jk_pvm_jit_step);
    jk_reload(c, true);
}

#endif
