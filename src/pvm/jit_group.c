/*
 * jit_group.c — one page check for a run of guest memory accesses through the
 * same base register (docs/pvm.md, "Access groups").
 *
 * Code that walks memory through a pointer (a stack frame, a copy loop's
 * cursors) makes several accesses at base + small offsets in one basic block.
 * Checked one by one, each pays the TLB lookup (ten host instructions). A
 * group pays it once: if the whole span the accesses touch lies in one page
 * the TLB says is usable (readable for loads only, private writable when any
 * access stores), the accesses run as plain host loads and stores at
 * [rdx + constant]; otherwise the very same instructions run in their
 * ordinary, one-by-one form, slow paths and faults included. So the fast copy
 * is taken only when no access of the group can fault, exit or call into C,
 * and the result is the ordinary code's in every case.
 *
 * What may sit between the accesses: only instructions that neither write the
 * base register, nor exit, nor call into C, nor use rdx (which holds the
 * page's host address during the group): the plain ALU forms listed in
 * jk_pvm_group_alu. A group lies inside one basic block, so nothing enters it in
 * the middle except a resumption, and resumptions enter at the one-by-one
 * copy (entry[] points there). Each instruction is compiled at most twice
 * (fast and ordinary copy), so compilation stays linear.
 */
#include "jit_cc.h"

#if JK_PVM_HAVE_JIT

/* At most this many instructions in a group, and this span in bytes: a small
 * span keeps the chance that it crosses a page boundary small. */
#define JK_GROUP_MAX_INSNS 24
#define JK_GROUP_MAX_SPAN 256

bool jk_pvm_group_memop(const jk_pvm_insn *in, jk_memop *m)
{
    static const struct {
        uint8_t op, n;
        bool write, sx, imm;
    } forms[] = {
        {OP_store_imm_ind_u8, 1, true, false, true},  {OP_store_imm_ind_u16, 2, true, false, true},
        {OP_store_imm_ind_u32, 4, true, false, true}, {OP_store_imm_ind_u64, 8, true, false, true},
        {OP_store_ind_u8, 1, true, false, false},     {OP_store_ind_u16, 2, true, false, false},
        {OP_store_ind_u32, 4, true, false, false},    {OP_store_ind_u64, 8, true, false, false},
        {OP_load_ind_u8, 1, false, false, false},     {OP_load_ind_i8, 1, false, true, false},
        {OP_load_ind_u16, 2, false, false, false},    {OP_load_ind_i16, 2, false, true, false},
        {OP_load_ind_u32, 4, false, false, false},    {OP_load_ind_i32, 4, false, true, false},
        {OP_load_ind_u64, 8, false, false, false},
    };
    for (size_t k = 0; k < sizeof forms / sizeof forms[0]; k++) {
        if (forms[k].op != in->opcode)
            continue;
        m->n = forms[k].n;
        m->write = forms[k].write;
        m->sx = forms[k].sx;
        m->off = (uint32_t)in->imm_x;
        m->vimm = 0;
        if (forms[k].imm) { /* store_imm_ind: base ω_A, value ν_Y */
            m->base = in->ra;
            m->reg = -1;
            m->vimm = in->imm_y;
        } else { /* store_ind / load_ind: base ω_B, value or destination ω_A */
            m->base = in->rb;
            m->reg = in->ra;
        }
        return true;
    }
    return false;
}

int jk_pvm_group_alu(const jk_pvm_insn *in)
{
    switch (in->opcode) {
    case OP_load_imm:
    case OP_load_imm_64:
    case OP_add_imm_32: case OP_and_imm: case OP_xor_imm: case OP_or_imm: case OP_add_imm_64:
    case OP_mul_imm_32: case OP_mul_imm_64:
    case OP_set_lt_u_imm: case OP_set_lt_s_imm: case OP_set_gt_u_imm: case OP_set_gt_s_imm:
    case OP_shlo_l_imm_32: case OP_shlo_r_imm_32: case OP_shar_r_imm_32:
    case OP_shlo_l_imm_64: case OP_shlo_r_imm_64: case OP_shar_r_imm_64:
    case OP_rot_r_64_imm: case OP_rot_r_32_imm:
    case OP_neg_add_imm_32: case OP_neg_add_imm_64:
    case OP_shlo_l_imm_alt_32: case OP_shlo_r_imm_alt_32: case OP_shar_r_imm_alt_32:
    case OP_shlo_l_imm_alt_64: case OP_shlo_r_imm_alt_64: case OP_shar_r_imm_alt_64:
    case OP_rot_r_64_imm_alt: case OP_rot_r_32_imm_alt:
        return in->ra; /* ω_A = f(ω_B, ν_X) (or ν_X for load_imm) */
    case OP_move_reg:
    case OP_sign_extend_8: case OP_sign_extend_16: case OP_zero_extend_16: case OP_reverse_bytes:
    case OP_add_32: case OP_sub_32: case OP_add_64: case OP_sub_64:
    case OP_and: case OP_xor: case OP_or:
    case OP_mul_32: case OP_mul_64:
    case OP_shlo_l_32: case OP_shlo_r_32: case OP_shar_r_32:
    case OP_shlo_l_64: case OP_shlo_r_64: case OP_shar_r_64:
    case OP_rot_l_64: case OP_rot_l_32: case OP_rot_r_64: case OP_rot_r_32:
    case OP_set_lt_u: case OP_set_lt_s:
    case OP_and_inv: case OP_or_inv: case OP_xnor:
    case OP_max: case OP_max_u: case OP_min: case OP_min_u:
        return in->rd; /* ω_D = f(ω_A[, ω_B]) */
    default:
        return -1;
    }
}

/* The group's shape, from jk_group_scan. */
typedef struct jk_group {
    uint32_t first, last; /* instruction indices */
    unsigned base;
    uint32_t addr_off;    /* base + addr_off: the lowest byte touched */
    uint32_t span;        /* bytes from there to the end of the highest access */
    int32_t dmin;         /* lowest offset relative to the first access's */
    bool write;
} jk_group;

/* Offset of access m relative to the group's first (o0), if small. */
static bool jk_group_delta(uint32_t off, uint32_t o0, int32_t *d)
{
    int32_t v = (int32_t)(off - o0);
    if (v < -JK_GROUP_MAX_SPAN || v > JK_GROUP_MAX_SPAN)
        return false;
    *d = v;
    return true;
}

/* Does a group start at instruction i (a block start or not)? Bounded look
 * ahead (JK_GROUP_MAX_INSNS), so compilation stays linear. */
static bool jk_group_scan(const jk_cc *c, uint32_t i, jk_group *g, unsigned min_accesses)
{
    const jk_pvm_program *prog = c->prog;
    jk_memop m;
    if (!jk_pvm_group_memop(&prog->insns[i], &m))
        return false;
    if (!m.write && m.reg == (int)m.base)
        return false; /* the load replaces the base: nothing can follow */
    if (c->framed && jk_pvm_jit_frame_writes_sp(c, i))
        return false; /* the frame copy checks after each write of sp (jit_stack.c) */
    uint32_t o0 = m.off;
    int32_t lo = 0, hi = (int32_t)m.n;
    unsigned accesses = 1;
    g->first = g->last = i;
    g->base = m.base;
    g->write = m.write;
    for (uint32_t k = i + 1; k < prog->insn_count && k - i < JK_GROUP_MAX_INSNS; k++) {
        const jk_pvm_insn *in = &prog->insns[k];
        if (prog->block_start[k])
            break;
        jk_memop mk;
        if (c->framed && jk_pvm_jit_frame_writes_sp(c, k))
            break; /* (as above) */
        if (jk_pvm_group_memop(in, &mk)) {
            int32_t d;
            if (mk.base != g->base || !jk_group_delta(mk.off, o0, &d))
                break;
            int32_t nlo = d < lo ? d : lo, nhi = d + (int32_t)mk.n > hi ? d + (int32_t)mk.n : hi;
            if (nhi - nlo > JK_GROUP_MAX_SPAN)
                break;
            lo = nlo;
            hi = nhi;
            g->last = k;
            g->write |= mk.write;
            accesses++;
            if (!mk.write && mk.reg == (int)g->base)
                break; /* the base changes after this load */
            continue;
        }
        int dst = jk_pvm_group_alu(in);
        if (dst < 0 || dst == (int)g->base)
            break;
    }
    if (accesses < min_accesses)
        return false;
    g->dmin = lo;
    g->addr_off = o0 + (uint32_t)lo;
    g->span = (uint32_t)(hi - lo);
    return true;
}

void jk_pvm_group_access(jk_cc *c, const jk_memop *m, jk_x64_rm at)
{
    jk_x64_buf *b = &c->b;
    if (!m->write) {
        uint8_t h = c->map[m->reg] != X_NOREG ? c->map[m->reg] : X_RAX;
        switch (m->n) {
        case 1: x_op(b, 0, m->sx, m->sx ? 0x0FBE : 0x0FB6, 2, h, at, false); break;
        case 2: x_op(b, 0, m->sx, m->sx ? 0x0FBF : 0x0FB7, 2, h, at, false); break;
        case 4:
            if (m->sx)
                x_movsxd(b, h, at);
            else
                x_mov_r_rm(b, false, h, at);
            break;
        default: x_mov_r_rm(b, true, h, at); break;
        }
        if (h == X_RAX)
            st(c, (unsigned)m->reg, X_RAX);
        return;
    }
    jk_pvm_jit_store_at(c, at, m->reg, m->vimm, m->n);
}

/* In the frame copy, a block that writes sp (or leaves the copy) is never
 * a strided loop: the loop's code would not check after the write
 * (jit_stack.c). A block is scanned once per copy: linear. */
static bool jk_frame_loop_ok(const jk_cc *c, uint32_t i)
{
    if (!c->framed)
        return true;
    for (uint32_t k = i; k < c->prog->insn_count && (k == i || !c->prog->block_start[k]); k++) {
        uint8_t op = c->prog->insns[k].opcode;
        if (op == OP_ecalli || op == OP_sbrk || jk_pvm_jit_frame_writes_sp(c, k))
            return false;
    }
    return true;
}

bool jk_pvm_jit_group(jk_cc *c, uint32_t i, uint32_t *last)
{
    if (c->prog->block_start[i] && jk_frame_loop_ok(c, i) && jk_pvm_jit_loop(c, i, last))
        return true; /* a strided loop (jit_loop.c) */
    return jk_pvm_jit_group_only(c, i, last);
}

/* Guarded known bases (session 12). A block that a call returns to often
 * reads through a register that the calling block set with `load_imm r,
 * K` before the call and that the callee preserved (C code: `c_fib`
 * reloads its volatile function pointer through the global's address in a
 * callee-saved register after each call). The value is not known there
 * (the callee may have changed it), but it can be checked: when the
 * block's first instructions form a group (one access is enough) through
 * such a register, the group's check is `cmp r, K; jne` and the known
 * address's TLB probe, `cmp qword [ctx + entry], page; jne; mov rdx, [ctx
 * + entry base]`, with the accesses at [rdx + their page offsets] — six
 * host instructions for one access against the eight of a TLB probe, and
 * the loads no longer wait for r: the callee's restore of r only feeds a
 * predicted compare. Either jne goes to the group's one-by-one copy, the
 * ordinary code, so the guess never changes a result. K comes from a
 * bounded look back over the calling block (at most JK_GUESS_BACK
 * instructions, stopping at any instruction that may write r other than a
 * `load_imm`), so compilation stays linear. */
#define JK_GUESS_BACK 32u

static bool jk_guess_base(const jk_cc *c, uint32_t i, unsigned base, uint32_t *k)
{
    const jk_pvm_program *prog = c->prog;
    if (i == 0 || !prog->block_start[i])
        return false;
    const jk_pvm_insn *call = &prog->insns[i - 1];
    if ((call->opcode != OP_load_imm_jump && call->opcode != OP_load_imm_jump_ind) || call->ra == base ||
        !jk_pvm_jit_is_call(c, i - 1, call->imm_x))
        return false;
    for (uint32_t j = i - 1; j-- > 0 && i - 1 - j <= JK_GUESS_BACK;) {
        const jk_pvm_insn *in = &prog->insns[j];
        jk_memop m;
        if (in->opcode == OP_load_imm && in->ra == base) {
            *k = (uint32_t)in->imm_x; /* load_imm's value is a zero-extended 32-bit one */
            return true;
        }
        if (jk_pvm_group_memop(in, &m)) {
            if (!m.write && m.reg == (int)base)
                return false;
        } else if (jk_pvm_group_alu(in) < 0 || jk_pvm_group_alu(in) == (int)base) {
            return false; /* another kind of instruction, or a write of base */
        }
        if (prog->block_start[j])
            return false;
    }
    return false;
}

/* The guarded group (above) when it applies: false, having emitted
 * nothing, when it does not. */
static bool jk_group_guarded(jk_cc *c, uint32_t i, const jk_group *g)
{
    uint32_t k;
    if (!jk_guess_base(c, i, g->base, &k))
        return false;
    uint32_t a = k + g->addr_off; /* the lowest byte, when base = k */
    if (a >= (UINT32_C(1) << 31) - JK_GROUP_MAX_SPAN || (a & 0xFFF) + g->span > 4096 || k >= (UINT32_C(1) << 31))
        return false; /* a page past 2^31 (the compares' immediates are sign-extended), or two pages */
    jk_x64_buf *b = &c->b;
    jk_late l = {0};
    x_alu_rm_imm(b, ALU_CMP, true, G(g->base), (int32_t)k);
    l.at = (uint32_t)x_jcc32(b, CC_NE);
    int32_t entry = (int32_t)(16 * ((a >> 12) & 0xF));
    int32_t tag = (g->write ? CTX_TLB_W_ADDR : CTX_TLB_R_ADDR) + entry;
    int32_t host = (g->write ? CTX_TLB_W_BASE : CTX_TLB_R_BASE) + entry;
    x_alu_rm_imm(b, ALU_CMP, true, X_MEM(X_RBX, tag), (int32_t)(a & ~UINT32_C(0xFFF)));
    l.at2 = (uint32_t)x_jcc32(b, CC_NE);
    x_mov_r_rm(b, true, X_RDX, X_MEM(X_RBX, host));
    for (uint32_t j = g->first; j <= g->last; j++) {
        if (!x_reserve(b, JK_JIT_INSN_BOUND))
            return true;
        size_t start = b->len;
        const jk_pvm_insn *in = &c->prog->insns[j];
        jk_memop m;
        if (jk_pvm_group_memop(in, &m))
            jk_pvm_group_access(c, &m, X_MEM(X_RDX, (int32_t)((k + m.off) & 0xFFF)));
        else
            jk_pvm_jit_compile_insn(c, j);
        if (b->len - start > JK_JIT_INSN_BOUND)
            b->oom = true;
    }
    l.first = g->first;
    l.last = g->last;
    l.done = (uint32_t)b->len;
    l.kind = JK_LATE_GROUP;
    jk_pvm_jit_add_late(c, &l);
    return true;
}

bool jk_pvm_jit_group_only(jk_cc *c, uint32_t i, uint32_t *last)
{
    jk_group g;
    if (!jk_group_scan(c, i, &g, 1))
        return false;
    bool near = jk_pvm_jit_frame_near(c, g.base, g.addr_off, g.span) ||
                jk_pvm_jit_stack_near(c, g.base, g.addr_off, g.span);
    if (!near && jk_group_guarded(c, i, &g)) {
        *last = g.last;
        return true;
    }
    if (g.first == g.last) /* one access: the ordinary probe (jit_mem.c) */
        return false;
    *last = g.last;
    jk_x64_buf *b = &c->b;
    if (jk_pvm_jit_frame_near(c, g.base, g.addr_off, g.span)) {
        /* the frame copy, inside the window (jit_stack.c): no check, each
         * access at [sp + delta + off]. Its other instructions have no
         * entry in this copy (rdx is loaded at the start), so nothing can
         * jump into the middle (jit.c refuses the code if anything did). */
        jk_pvm_jit_frame_delta(c);
        for (uint32_t k = g.first; k <= g.last; k++) {
            if (!x_reserve(b, JK_JIT_INSN_BOUND))
                return true;
            size_t start = b->len;
            jk_memop m;
            if (jk_pvm_group_memop(&c->prog->insns[k], &m))
                jk_pvm_group_access(c, &m, jk_pvm_jit_frame_at(c, m.off));
            else
                jk_pvm_jit_compile_insn(c, k);
            if (b->len - start > JK_JIT_INSN_BOUND)
                b->oom = true;
        }
        return true;
    }
    /* the check: [base + addr_off, + span) inside one page the TLB holds */
    jk_late l = {0};
    size_t miss;
    if (jk_pvm_jit_stack_near(c, g.base, g.addr_off, g.span)) { /* the stack TLB (jit_stack.c) */
        miss = jk_pvm_jit_stack_probe(c, g.base, g.addr_off, g.span, &l.back);
        l.stack = true;
        l.span = g.span;
        l.write = g.write;
    } else {
        jk_pvm_jit_maddr(c, (int)g.base, g.addr_off);
        miss = jk_pvm_jit_tlb_probe(c, g.span, g.write);
        x_alu_r_rm(b, ALU_ADD, true, X_RDX, X_REG(X_RCX));
    }
    /* fast copy */
    for (uint32_t k = g.first; k <= g.last; k++) {
        if (!x_reserve(b, JK_JIT_INSN_BOUND))
            return true;
        size_t start = b->len;
        const jk_pvm_insn *in = &c->prog->insns[k];
        jk_memop m;
        int32_t d;
        if (jk_pvm_group_memop(in, &m) && jk_group_delta(m.off, (uint32_t)(g.addr_off - (uint32_t)g.dmin), &d))
            jk_pvm_group_access(c, &m, X_MEM(X_RDX, d - g.dmin));
        else
            jk_pvm_jit_compile_insn(c, k);
        if (b->len - start > JK_JIT_INSN_BOUND)
            b->oom = true;
    }
    l.at = (uint32_t)miss;
    l.first = g.first;
    l.last = g.last;
    l.done = (uint32_t)b->len;
    l.kind = JK_LATE_GROUP;
    jk_pvm_jit_add_late(c, &l);
    return true;
}

/* A group's one-by-one copy: entered on a miss of the group's check and by
 * resumptions (entry[] of every instruction but the first points here). */
void jk_pvm_jit_group_slow(jk_cc *c, const jk_late *l)
{
    jk_x64_buf *b = &c->b;
    x_patch32(b, l->at, b->len);
    if (l->at2) /* a guarded group's second check (above) */
        x_patch32(b, l->at2, b->len);
    for (uint32_t k = l->first; k <= l->last; k++) {
        if (!x_reserve(b, JK_JIT_INSN_BOUND))
            return;
        size_t start = b->len;
        if (k != l->first)
            c->label[k] = c->entry[k] = (uint32_t)b->len;
        jk_pvm_jit_compile_insn(c, k);
        if (b->len - start > JK_JIT_INSN_BOUND)
            b->oom = true;
        if (c->oom || b->oom)
            return;
    }
    jk_jmp_to_off(c, l->done);
}

#endif
