/*
 * jit_insn.c — instruction selection: one pre-decoded PVM instruction to
 * x86-64 (not its block prologue, which the driver in jit.c emits).
 *
 * Each instruction emits at most JK_JIT_INSN_BOUND bytes (the driver checks),
 * reads its guest registers where the program's map keeps them (a host
 * register or ctx->regs, jk_allocate) and uses rax, rcx and rdx as scratch.
 * Arithmetic follows the Graypaper exactly: 32-bit forms sign-extend their
 * result, shift counts are masked, division by 0 and MIN / -1 give the
 * Graypaper's values. Memory accesses are jit_mem.c's, control flow
 * jit_ctl.c's.
 */
#include "jit_cc.h"

#if JK_PVM_HAVE_JIT

/* Guest register a = the constant v (leaves rax alone when a has a host
 * register; flags untouched). */
static void jk_load_const(jk_cc *c, unsigned a, uint64_t v)
{
    if (c->map[a] != X_NOREG) {
        x_mov_r_imm(&c->b, c->map[a], v);
    } else if (x_fits32(v)) {
        x_op(&c->b, 0, true, 0xC7, 1, 0, G(a), false); /* mov qword [rbx+8a], simm32 */
        x_d(&c->b, (uint32_t)v);
    } else {
        x_mov_r_imm(&c->b, X_RCX, v);
        st(c, a, X_RCX);
    }
}

/* Compare guest register a with the 64-bit constant v (a - v). */
static void jk_cmp_imm(jk_cc *c, unsigned a, uint64_t v)
{
    if (x_fits32(v)) {
        x_alu_rm_imm(&c->b, ALU_CMP, true, G(a), (int32_t)v);
    } else {
        x_mov_r_imm(&c->b, X_RCX, v);
        x_alu_rm_r(&c->b, ALU_CMP, true, G(a), X_RCX);
    }
}

/* Signed/unsigned division and remainder with the Graypaper's special cases.
 * w: 64-bit; sgn: signed; rem: remainder. The hot path is the host division
 * (quotient in rax, remainder in rdx) with one predictable compare-and-branch
 * per special case; the cases themselves — divisor 0, and −1 for the signed
 * forms (where the host would trap on MIN / −1) — sit out of line
 * (JK_LATE_DIV, jk_pvm_jit_div_special) and come back with their result in the
 * same register. When the block's own code rules the special cases out
 * (jit_range.c: `(x >> 32) | 1`, `(x & 0xFFFF) + 3`), the division is bare;
 * a run may then not start between the proof's first instruction and here
 * (no_entry: such a run goes to the interpreter, jit_run.c). */
static void jk_divrem(jk_cc *c, uint32_t i, unsigned d, unsigned a, unsigned bb, bool w, bool sgn,
                      bool rem)
{
    jk_x64_buf *b = &c->b;
    jk_late l = {0};
    l.kind = JK_LATE_DIV;
    l.first = a;
    l.cost = (w ? JK_DIV_W : 0) | (rem ? JK_DIV_REM : 0);
    size_t zero = SIZE_MAX, minus1 = SIZE_MAX;
    uint32_t from;
    if (w && !sgn && a != bb && jk_pvm_jit_divisor_high(c, i, a, bb, &from)) {
        /* ω_bb = (ω_a >> 32) | m: a 32-bit divisor at least ω_a's high half
         * hi, so hi / ω_bb is 1 (hi = ω_bb, remainder 0) or 0 (remainder
         * hi), and one `div r32` of (that remainder : ω_a's low half) gives
         * the rest: the quotient below 2^32, the remainder exact. A 32-bit
         * divide holds the divider for fewer cycles than a 64-bit one: the
         * muldiv loop in C, bound by its divides, took 0.81 of its time so
         * (docs/pvm.md "Memory and loops (session 8)"). */
        for (uint32_t k = from + 1; k <= i; k++)
            c->no_entry[k] = 1;
        x_mov_r_rm(b, true, X_RDX, G(a));
        x_mov_r_rm(b, false, X_RAX, X_REG(X_RDX));       /* eax = low half */
        x_shift_imm(b, SH_SHR, true, X_RDX, 32);          /* edx = hi */
        x_alu_r_rm(b, ALU_XOR, false, X_RCX, X_REG(X_RCX));
        x_alu_r_rm(b, ALU_CMP, false, X_RDX, G(bb));
        x_cmov(b, CC_E, false, X_RDX, X_REG(X_RCX));      /* hi = ω_bb: remainder 0 */
        if (!rem)
            x_setcc(b, CC_E, X_RCX);                      /* ... and quotient 1 */
        x_f7(b, 6, false, G(bb));                         /* div r/m32 */
        if (!rem) {
            x_shift_imm(b, SH_SHL, true, X_RCX, 32);
            x_alu_r_rm(b, ALU_OR, true, X_RAX, X_REG(X_RCX));
        }
        st(c, d, rem ? X_RDX : X_RAX);
        return;
    }
    if (jk_pvm_jit_divisor_safe(c, i, bb, w, sgn, &from)) {
        for (uint32_t k = from + 1; k <= i; k++)
            c->no_entry[k] = 1;
    } else {
        x_alu_rm_imm(b, ALU_CMP, w, G(bb), 0);
        zero = x_jcc32(b, CC_E);
        if (sgn) {
            x_alu_rm_imm(b, ALU_CMP, w, G(bb), -1);
            minus1 = x_jcc32(b, CC_E);
        }
    }
    x_mov_r_rm(b, w, X_RAX, G(a));
    if (sgn) {
        if (w)
            x_b(b, 0x48);
        x_b(b, 0x99); /* cqo / cdq */
        x_f7(b, 7, w, G(bb));
    } else {
        x_alu_r_rm(b, ALU_XOR, false, X_RDX, X_REG(X_RDX));
        x_f7(b, 6, w, G(bb));
    }
    l.done = (uint32_t)b->len;
    if (zero != SIZE_MAX) {
        l.at = (uint32_t)zero;
        jk_pvm_jit_add_late(c, &l);
    }
    if (minus1 != SIZE_MAX) {
        l.at = (uint32_t)minus1;
        l.cost |= JK_DIV_M1;
        jk_pvm_jit_add_late(c, &l);
    }
    uint8_t r = rem ? X_RDX : X_RAX;
    if (!w)
        x_movsxd(b, r, X_REG(r));
    st(c, d, r);
}

/* The out-of-line result of a division special case (JK_LATE_DIV, see
 * jk_divrem): by 0 the quotient is all ones and the remainder the dividend;
 * by −1 the quotient is −a (wrapping: MIN / −1 = MIN) and the remainder 0.
 * Only reads the dividend's guest register, which the hot path left as it
 * was. */
void jk_pvm_jit_div_special(jk_cc *c, const jk_late *l)
{
    jk_x64_buf *b = &c->b;
    bool w = l->cost & JK_DIV_W, rem = l->cost & JK_DIV_REM;
    uint8_t r = rem ? X_RDX : X_RAX;
    if (l->cost & JK_DIV_M1) {
        if (rem) {
            x_alu_r_rm(b, ALU_XOR, false, X_RDX, X_REG(X_RDX));
        } else {
            x_mov_r_rm(b, w, X_RAX, G(l->first));
            x_f7(b, 3, w, X_REG(X_RAX)); /* neg */
        }
    } else if (rem) {
        x_mov_r_rm(b, w, r, G(l->first));
    } else {
        x_mov_r_imm(b, X_RAX, UINT64_MAX);
    }
    jk_jmp_to_off(c, l->done);
}

/* rax = A op B for 3-register ALU forms (w: 64-bit, else sign-extended 32). */
static void jk_alu3(jk_cc *c, int alu, bool w, unsigned d, unsigned a, unsigned bb)
{
    uint8_t hd = c->map[d], ha = c->map[a], hb = c->map[bb];
    if (alu == ALU_ADD && hd != X_NOREG && ha != X_NOREG && hb != X_NOREG && d != a && d != bb) {
        /* d = a + b, three registers: lea */
        x_op(&c->b, 0, w, 0x8D, 1, hd, X_MEMI(ha, hb, 0, 0), false);
        if (!w)
            x_movsxd(&c->b, hd, X_REG(hd));
        return;
    }
    if (hd != X_NOREG && d == bb && d != a && alu != ALU_SUB) {
        /* d = a op d, op commutative: d op= a */
        x_alu_r_rm(&c->b, alu, w, hd, G(a));
        if (!w)
            x_movsxd(&c->b, hd, X_REG(hd));
        return;
    }
    if (hd != X_NOREG && (d == a || d != bb)) {
        /* straight into the destination's host register */
        if (d != a)
            x_mov_r_rm(&c->b, true, hd, G(a));
        x_alu_r_rm(&c->b, alu, w, hd, G(bb));
        if (!w)
            x_movsxd(&c->b, hd, X_REG(hd));
        return;
    }
    ld(c, X_RAX, a);
    x_alu_r_rm(&c->b, alu, w, X_RAX, G(bb));
    if (!w)
        jk_sx32_rax(c);
    st(c, d, X_RAX);
}

/* d = src op constant (w: 64-bit; else 32-bit, sign-extended). */
static void jk_alu_imm_to(jk_cc *c, int alu, bool w, unsigned d, unsigned src, uint64_t v)
{
    uint8_t hd = c->map[d];
    uint8_t r = hd != X_NOREG ? hd : X_RAX;
    if (alu == ALU_ADD && w && d != src && hd != X_NOREG && c->map[src] != X_NOREG && x_fits32(v)) {
        /* d = src + k: one lea instead of mov + add (the flags are not read) */
        x_op(&c->b, 0, true, 0x8D, 1, hd, X_MEM(c->map[src], (int32_t)v), false);
        return;
    }
    if (alu == ALU_AND && w && (v == 0xFF || v == 0xFFFF) && d != src) {
        /* movzx does the copy and the mask at once */
        x_op(&c->b, 0, false, v == 0xFF ? 0x0FB6 : 0x0FB7, 2, r, G(src), true);
        if (r != hd)
            st(c, d, X_RAX);
        return;
    }
    if (r != hd || d != src)
        x_mov_r_rm(&c->b, true, r, G(src));
    if (!w || x_fits32(v)) {
        if (!w || (uint64_t)v != 0 || alu == ALU_AND)
            x_alu_rm_imm(&c->b, alu, w, X_REG(r), (int32_t)(uint32_t)v);
    } else {
        x_mov_r_imm(&c->b, X_RCX, v);
        x_alu_r_rm(&c->b, alu, true, r, X_REG(X_RCX));
    }
    if (!w)
        x_movsxd(&c->b, r, X_REG(r));
    if (r != hd)
        st(c, d, X_RAX);
}

/* d = shift(x, B & mask) with the shift group sh, where x is guest register
 * a, or the constant v when a < 0 (the _alt forms). */
static void jk_shift_by_reg(jk_cc *c, int sh, bool w, unsigned d, int a, uint64_t v, unsigned bb)
{
    if (a >= 0)
        ld(c, X_RAX, (unsigned)a);
    else
        x_mov_r_imm(&c->b, X_RAX, w ? v : (uint32_t)v);
    ld(c, X_RCX, bb);
    x_shift_cl(&c->b, sh, w, X_RAX);
    if (!w)
        jk_sx32_rax(c);
    st(c, d, X_RAX);
}

static void jk_shift_imm(jk_cc *c, int sh, bool w, unsigned d, unsigned a, uint64_t v)
{
    uint8_t r = c->map[d] != X_NOREG ? c->map[d] : X_RAX; /* straight into d if it can */
    x_mov_r_rm(&c->b, true, r, G(a));
    uint8_t s = (uint8_t)(v & (w ? 63 : 31));
    if (s)
        x_shift_imm(&c->b, sh, w, r, s);
    if (!w)
        x_movsxd(&c->b, r, X_REG(r));
    if (r == X_RAX)
        st(c, d, X_RAX);
}

/* d = (A cmp B) ? 1 : 0 */
static void jk_set3(jk_cc *c, int cc, unsigned d, unsigned a, unsigned bb)
{
    x_alu_r_rm(&c->b, ALU_XOR, false, X_RAX, X_REG(X_RAX));
    ld(c, X_RCX, a);
    x_alu_r_rm(&c->b, ALU_CMP, true, X_RCX, G(bb));
    x_setcc(&c->b, cc, X_RAX);
    st(c, d, X_RAX);
}

static void jk_set_imm(jk_cc *c, int cc, unsigned d, unsigned a, uint64_t v)
{
    x_alu_r_rm(&c->b, ALU_XOR, false, X_RAX, X_REG(X_RAX));
    jk_cmp_imm(c, a, v);
    x_setcc(&c->b, cc, X_RAX);
    st(c, d, X_RAX);
}

/* d = cond(B) ? src : d, where src is a register (sreg >= 0) or constant. */
static void jk_cmov(jk_cc *c, bool if_zero, unsigned d, int sreg, uint64_t v, unsigned bb)
{
    ld(c, X_RAX, d);
    if (sreg >= 0)
        ld(c, X_RDX, (unsigned)sreg);
    else
        x_mov_r_imm(&c->b, X_RDX, v);
    x_alu_rm_imm(&c->b, ALU_CMP, true, G(bb), 0);
    x_cmov(&c->b, if_zero ? CC_E : CC_NE, true, X_RAX, X_REG(X_RDX));
    st(c, d, X_RAX);
}

/* d = pick(A, B): rax = A; if (A cc B) rax = B. */
static void jk_minmax(jk_cc *c, int cc, unsigned d, unsigned a, unsigned bb)
{
    ld(c, X_RAX, a);
    ld(c, X_RCX, bb);
    x_alu_r_rm(&c->b, ALU_CMP, true, X_RAX, X_REG(X_RCX));
    x_cmov(&c->b, cc, true, X_RAX, X_REG(X_RCX));
    st(c, d, X_RAX);
}

void jk_pvm_jit_compile_insn(jk_cc *c, uint32_t i)
{
    const jk_pvm_program *prog = c->prog;
    const jk_pvm_insn *in = &prog->insns[i];
    jk_x64_buf *b = &c->b;
    const unsigned A = in->ra, B = in->rb, D = in->rd;
    const uint64_t X = in->imm_x, Y = in->imm_y;

    switch (in->opcode) {
    case OP_trap: jk_panic(c, i); break;
    case OP_fallthrough: break; /* the next instruction starts a block */
    case OP_ecalli: jk_pvm_jit_ecalli(c, i); break; /* jit_host.c */

    case OP_load_imm_64:
    case OP_load_imm:
        jk_load_const(c, A, X);
        break;
    case OP_store_imm_u8: jk_pvm_jit_maddr(c, -1, X); jk_pvm_jit_store(c, i, -1, Y, 1); break;
    case OP_store_imm_u16: jk_pvm_jit_maddr(c, -1, X); jk_pvm_jit_store(c, i, -1, Y, 2); break;
    case OP_store_imm_u32: jk_pvm_jit_maddr(c, -1, X); jk_pvm_jit_store(c, i, -1, Y, 4); break;
    case OP_store_imm_u64: jk_pvm_jit_maddr(c, -1, X); jk_pvm_jit_store(c, i, -1, Y, 8); break;

    case OP_jump: jk_pvm_jit_branch(c, i, -1, in->target); break;
    case OP_jump_ind:
        jk_pvm_jit_return(c, A, X);
        jk_pvm_jit_djump(c, i, true, A, X);
        break;
    case OP_load_imm_jump:
        jk_load_const(c, A, X);
        if (in->target != JK_PVM_NO_TARGET && jk_pvm_jit_is_call(c, i, X))
            jk_pvm_jit_static_call(c, X, in->target);
        else
            jk_pvm_jit_branch(c, i, -1, in->target);
        break;
    case OP_load_imm_jump_ind:
        if (A == B) /* ω_B is read before ω_A is written */
            jk_pvm_jit_addr(c, (int)B, Y);
        jk_load_const(c, A, X);
        if (jk_pvm_jit_is_call(c, i, X) && c->call_code)
            jk_pvm_jit_call_ind(c, i, A == B, B, Y, (uint32_t)X); /* jit_ctl.c */
        else
            jk_pvm_jit_djump(c, i, A == B, B, Y);
        break;

    case OP_load_u8: jk_pvm_jit_maddr(c, -1, X); jk_pvm_jit_load(c, i, A, 1, false); break;
    case OP_load_i8: jk_pvm_jit_maddr(c, -1, X); jk_pvm_jit_load(c, i, A, 1, true); break;
    case OP_load_u16: jk_pvm_jit_maddr(c, -1, X); jk_pvm_jit_load(c, i, A, 2, false); break;
    case OP_load_i16: jk_pvm_jit_maddr(c, -1, X); jk_pvm_jit_load(c, i, A, 2, true); break;
    case OP_load_u32: jk_pvm_jit_maddr(c, -1, X); jk_pvm_jit_load(c, i, A, 4, false); break;
    case OP_load_i32: jk_pvm_jit_maddr(c, -1, X); jk_pvm_jit_load(c, i, A, 4, true); break;
    case OP_load_u64: jk_pvm_jit_maddr(c, -1, X); jk_pvm_jit_load(c, i, A, 8, false); break;
    case OP_store_u8: jk_pvm_jit_maddr(c, -1, X); jk_pvm_jit_store(c, i, (int)A, 0, 1); break;
    case OP_store_u16: jk_pvm_jit_maddr(c, -1, X); jk_pvm_jit_store(c, i, (int)A, 0, 2); break;
    case OP_store_u32: jk_pvm_jit_maddr(c, -1, X); jk_pvm_jit_store(c, i, (int)A, 0, 4); break;
    case OP_store_u64: jk_pvm_jit_maddr(c, -1, X); jk_pvm_jit_store(c, i, (int)A, 0, 8); break;

    case OP_store_imm_ind_u8: jk_pvm_jit_maddr(c, (int)A, X); jk_pvm_jit_store(c, i, -1, Y, 1); break;
    case OP_store_imm_ind_u16: jk_pvm_jit_maddr(c, (int)A, X); jk_pvm_jit_store(c, i, -1, Y, 2); break;
    case OP_store_imm_ind_u32: jk_pvm_jit_maddr(c, (int)A, X); jk_pvm_jit_store(c, i, -1, Y, 4); break;
    case OP_store_imm_ind_u64: jk_pvm_jit_maddr(c, (int)A, X); jk_pvm_jit_store(c, i, -1, Y, 8); break;

    case OP_branch_eq_imm: jk_cmp_imm(c, A, X); jk_pvm_jit_branch(c, i, CC_E, in->target); break;
    case OP_branch_ne_imm: jk_cmp_imm(c, A, X); jk_pvm_jit_branch(c, i, CC_NE, in->target); break;
    case OP_branch_lt_u_imm: jk_cmp_imm(c, A, X); jk_pvm_jit_branch(c, i, CC_B, in->target); break;
    case OP_branch_le_u_imm: jk_cmp_imm(c, A, X); jk_pvm_jit_branch(c, i, CC_BE, in->target); break;
    case OP_branch_ge_u_imm: jk_cmp_imm(c, A, X); jk_pvm_jit_branch(c, i, CC_AE, in->target); break;
    case OP_branch_gt_u_imm: jk_cmp_imm(c, A, X); jk_pvm_jit_branch(c, i, CC_A, in->target); break;
    case OP_branch_lt_s_imm: jk_cmp_imm(c, A, X); jk_pvm_jit_branch(c, i, CC_L, in->target); break;
    case OP_branch_le_s_imm: jk_cmp_imm(c, A, X); jk_pvm_jit_branch(c, i, CC_LE, in->target); break;
    case OP_branch_ge_s_imm: jk_cmp_imm(c, A, X); jk_pvm_jit_branch(c, i, CC_GE, in->target); break;
    case OP_branch_gt_s_imm: jk_cmp_imm(c, A, X); jk_pvm_jit_branch(c, i, CC_G, in->target); break;

    case OP_move_reg:
        if (c->map[D] != X_NOREG) {
            ld(c, c->map[D], A);
        } else {
            ld(c, X_RAX, A);
            st(c, D, X_RAX);
        }
        break;
    case OP_sbrk:
    case OP_count_set_bits_64:
    case OP_count_set_bits_32:
        jk_pvm_jit_call_step(c, in);
        break;
    case OP_leading_zero_bits_64:
    case OP_leading_zero_bits_32: {
        bool w = in->opcode == OP_leading_zero_bits_64;
        x_op(b, 0, w, 0x0FBD, 2, X_RAX, G(A), false); /* bsr */
        x_mov_r_imm(b, X_RCX, UINT32_MAX);
        x_cmov(b, CC_E, false, X_RAX, X_REG(X_RCX)); /* zero input: index −1 */
        x_f7(b, 3, false, X_REG(X_RAX));             /* neg eax */
        x_alu_rm_imm(b, ALU_ADD, false, X_REG(X_RAX), w ? 63 : 31);
        st(c, D, X_RAX);
        break;
    }
    case OP_trailing_zero_bits_64:
    case OP_trailing_zero_bits_32: {
        bool w = in->opcode == OP_trailing_zero_bits_64;
        x_op(b, 0, w, 0x0FBC, 2, X_RAX, G(A), false); /* bsf */
        x_mov_r_imm(b, X_RCX, w ? 64 : 32);
        x_cmov(b, CC_E, false, X_RAX, X_REG(X_RCX));
        x_mov_r_rm(b, false, X_RAX, X_REG(X_RAX)); /* zero-extend */
        st(c, D, X_RAX);
        break;
    }
    case OP_sign_extend_8: x_op(b, 0, true, 0x0FBE, 2, X_RAX, G(A), true); st(c, D, X_RAX); break;
    case OP_sign_extend_16: x_op(b, 0, true, 0x0FBF, 2, X_RAX, G(A), false); st(c, D, X_RAX); break;
    case OP_zero_extend_16: x_op(b, 0, false, 0x0FB7, 2, X_RAX, G(A), false); st(c, D, X_RAX); break;
    case OP_reverse_bytes:
        ld(c, X_RAX, A);
        x_b(b, 0x48);
        x_b(b, 0x0F);
        x_b(b, 0xC8); /* bswap rax */
        st(c, D, X_RAX);
        break;

    case OP_store_ind_u8: jk_pvm_jit_maddr(c, (int)B, X); jk_pvm_jit_store(c, i, (int)A, 0, 1); break;
    case OP_store_ind_u16: jk_pvm_jit_maddr(c, (int)B, X); jk_pvm_jit_store(c, i, (int)A, 0, 2); break;
    case OP_store_ind_u32: jk_pvm_jit_maddr(c, (int)B, X); jk_pvm_jit_store(c, i, (int)A, 0, 4); break;
    case OP_store_ind_u64: jk_pvm_jit_maddr(c, (int)B, X); jk_pvm_jit_store(c, i, (int)A, 0, 8); break;
    case OP_load_ind_u8: jk_pvm_jit_maddr(c, (int)B, X); jk_pvm_jit_load(c, i, A, 1, false); break;
    case OP_load_ind_i8: jk_pvm_jit_maddr(c, (int)B, X); jk_pvm_jit_load(c, i, A, 1, true); break;
    case OP_load_ind_u16: jk_pvm_jit_maddr(c, (int)B, X); jk_pvm_jit_load(c, i, A, 2, false); break;
    case OP_load_ind_i16: jk_pvm_jit_maddr(c, (int)B, X); jk_pvm_jit_load(c, i, A, 2, true); break;
    case OP_load_ind_u32: jk_pvm_jit_maddr(c, (int)B, X); jk_pvm_jit_load(c, i, A, 4, false); break;
    case OP_load_ind_i32: jk_pvm_jit_maddr(c, (int)B, X); jk_pvm_jit_load(c, i, A, 4, true); break;
    case OP_load_ind_u64: jk_pvm_jit_maddr(c, (int)B, X); jk_pvm_jit_load(c, i, A, 8, false); break;

    case OP_add_imm_32: jk_alu_imm_to(c, ALU_ADD, false, A, B, X); break;
    case OP_and_imm: jk_alu_imm_to(c, ALU_AND, true, A, B, X); break;
    case OP_xor_imm: jk_alu_imm_to(c, ALU_XOR, true, A, B, X); break;
    case OP_or_imm: jk_alu_imm_to(c, ALU_OR, true, A, B, X); break;
    case OP_add_imm_64: jk_alu_imm_to(c, ALU_ADD, true, A, B, X); break;
    case OP_mul_imm_32:
    case OP_mul_imm_64: {
        bool w = in->opcode == OP_mul_imm_64;
        if (!w || x_fits32(X)) {
            x_op(b, 0, w, 0x69, 1, X_RAX, G(B), false);
            x_d(b, (uint32_t)X);
        } else {
            x_mov_r_imm(b, X_RAX, X);
            x_op(b, 0, true, 0x0FAF, 2, X_RAX, G(B), false);
        }
        if (!w)
            jk_sx32_rax(c);
        st(c, A, X_RAX);
        break;
    }
    case OP_set_lt_u_imm: jk_set_imm(c, CC_B, A, B, X); break;
    case OP_set_lt_s_imm: jk_set_imm(c, CC_L, A, B, X); break;
    case OP_set_gt_u_imm: jk_set_imm(c, CC_A, A, B, X); break;
    case OP_set_gt_s_imm: jk_set_imm(c, CC_G, A, B, X); break;
    case OP_shlo_l_imm_32: jk_shift_imm(c, SH_SHL, false, A, B, X); break;
    case OP_shlo_r_imm_32: jk_shift_imm(c, SH_SHR, false, A, B, X); break;
    case OP_shar_r_imm_32: jk_shift_imm(c, SH_SAR, false, A, B, X); break;
    case OP_shlo_l_imm_64: jk_shift_imm(c, SH_SHL, true, A, B, X); break;
    case OP_shlo_r_imm_64: jk_shift_imm(c, SH_SHR, true, A, B, X); break;
    case OP_shar_r_imm_64: jk_shift_imm(c, SH_SAR, true, A, B, X); break;
    case OP_rot_r_64_imm: jk_shift_imm(c, SH_ROR, true, A, B, X); break;
    case OP_rot_r_32_imm: jk_shift_imm(c, SH_ROR, false, A, B, X); break;
    case OP_neg_add_imm_32:
    case OP_neg_add_imm_64: {
        bool w = in->opcode == OP_neg_add_imm_64;
        x_mov_r_imm(b, X_RAX, w ? X : (uint32_t)X);
        x_alu_r_rm(b, ALU_SUB, w, X_RAX, G(B));
        if (!w)
            jk_sx32_rax(c);
        st(c, A, X_RAX);
        break;
    }
    case OP_shlo_l_imm_alt_32: jk_shift_by_reg(c, SH_SHL, false, A, -1, X, B); break;
    case OP_shlo_r_imm_alt_32: jk_shift_by_reg(c, SH_SHR, false, A, -1, X, B); break;
    case OP_shar_r_imm_alt_32: jk_shift_by_reg(c, SH_SAR, false, A, -1, X, B); break;
    case OP_shlo_l_imm_alt_64: jk_shift_by_reg(c, SH_SHL, true, A, -1, X, B); break;
    case OP_shlo_r_imm_alt_64: jk_shift_by_reg(c, SH_SHR, true, A, -1, X, B); break;
    case OP_shar_r_imm_alt_64: jk_shift_by_reg(c, SH_SAR, true, A, -1, X, B); break;
    case OP_rot_r_64_imm_alt: jk_shift_by_reg(c, SH_ROR, true, A, -1, X, B); break;
    case OP_rot_r_32_imm_alt: jk_shift_by_reg(c, SH_ROR, false, A, -1, X, B); break;
    case OP_cmov_iz_imm: jk_cmov(c, true, A, -1, X, B); break;
    case OP_cmov_nz_imm: jk_cmov(c, false, A, -1, X, B); break;

    case OP_branch_eq:
    case OP_branch_ne:
    case OP_branch_lt_u:
    case OP_branch_lt_s:
    case OP_branch_ge_u:
    case OP_branch_ge_s: {
        static const int ccs[] = {CC_E, CC_NE, CC_B, CC_L, CC_AE, CC_GE};
        uint8_t ha = c->map[A];
        if (ha == X_NOREG) {
            ld(c, X_RAX, A);
            ha = X_RAX;
        }
        x_alu_r_rm(b, ALU_CMP, true, ha, G(B));
        jk_pvm_jit_branch(c, i, ccs[in->opcode - OP_branch_eq], in->target);
        break;
    }

    case OP_add_32: jk_alu3(c, ALU_ADD, false, D, A, B); break;
    case OP_sub_32: jk_alu3(c, ALU_SUB, false, D, A, B); break;
    case OP_add_64: jk_alu3(c, ALU_ADD, true, D, A, B); break;
    case OP_sub_64: jk_alu3(c, ALU_SUB, true, D, A, B); break;
    case OP_and: jk_alu3(c, ALU_AND, true, D, A, B); break;
    case OP_xor: jk_alu3(c, ALU_XOR, true, D, A, B); break;
    case OP_or: jk_alu3(c, ALU_OR, true, D, A, B); break;
    case OP_mul_32:
    case OP_mul_64: {
        bool w = in->opcode == OP_mul_64;
        /* straight into d's host register unless d is the second factor */
        uint8_t r = c->map[D] != X_NOREG && (D == A || D != B) ? c->map[D] : X_RAX;
        x_mov_r_rm(b, true, r, G(A));
        x_op(b, 0, w, 0x0FAF, 2, r, G(B), false);
        if (!w)
            x_movsxd(b, r, X_REG(r));
        if (r == X_RAX)
            st(c, D, X_RAX);
        break;
    }
    case OP_div_u_32: jk_divrem(c, i, D, A, B, false, false, false); break;
    case OP_div_s_32: jk_divrem(c, i, D, A, B, false, true, false); break;
    case OP_rem_u_32: jk_divrem(c, i, D, A, B, false, false, true); break;
    case OP_rem_s_32: jk_divrem(c, i, D, A, B, false, true, true); break;
    case OP_div_u_64: jk_divrem(c, i, D, A, B, true, false, false); break;
    case OP_div_s_64: jk_divrem(c, i, D, A, B, true, true, false); break;
    case OP_rem_u_64: jk_divrem(c, i, D, A, B, true, false, true); break;
    case OP_rem_s_64: jk_divrem(c, i, D, A, B, true, true, true); break;
    case OP_shlo_l_32: jk_shift_by_reg(c, SH_SHL, false, D, (int)A, 0, B); break;
    case OP_shlo_r_32: jk_shift_by_reg(c, SH_SHR, false, D, (int)A, 0, B); break;
    case OP_shar_r_32: jk_shift_by_reg(c, SH_SAR, false, D, (int)A, 0, B); break;
    case OP_shlo_l_64: jk_shift_by_reg(c, SH_SHL, true, D, (int)A, 0, B); break;
    case OP_shlo_r_64: jk_shift_by_reg(c, SH_SHR, true, D, (int)A, 0, B); break;
    case OP_shar_r_64: jk_shift_by_reg(c, SH_SAR, true, D, (int)A, 0, B); break;
    case OP_rot_l_64: jk_shift_by_reg(c, SH_ROL, true, D, (int)A, 0, B); break;
    case OP_rot_l_32: jk_shift_by_reg(c, SH_ROL, false, D, (int)A, 0, B); break;
    case OP_rot_r_64: jk_shift_by_reg(c, SH_ROR, true, D, (int)A, 0, B); break;
    case OP_rot_r_32: jk_shift_by_reg(c, SH_ROR, false, D, (int)A, 0, B); break;
    case OP_mul_upper_u_u:
    case OP_mul_upper_s_s:
        ld(c, X_RAX, A);
        x_f7(b, in->opcode == OP_mul_upper_u_u ? 4 : 5, true, G(B));
        st(c, D, X_RDX);
        break;
    case OP_mul_upper_s_u:
        /* high(a·b) signed × unsigned = high_uu(a, b) − (a < 0 ? b : 0) */
        ld(c, X_RAX, A);
        x_f7(b, 4, true, G(B));
        ld(c, X_RCX, A);
        x_shift_imm(b, SH_SAR, true, X_RCX, 63);
        x_alu_r_rm(b, ALU_AND, true, X_RCX, G(B));
        x_alu_r_rm(b, ALU_SUB, true, X_RDX, X_REG(X_RCX));
        st(c, D, X_RDX);
        break;
    case OP_set_lt_u: jk_set3(c, CC_B, D, A, B); break;
    case OP_set_lt_s: jk_set3(c, CC_L, D, A, B); break;
    case OP_cmov_iz: jk_cmov(c, true, D, (int)A, 0, B); break;
    case OP_cmov_nz: jk_cmov(c, false, D, (int)A, 0, B); break;
    case OP_and_inv:
    case OP_or_inv:
        ld(c, X_RAX, B);
        x_f7(b, 2, true, X_REG(X_RAX));
        x_alu_r_rm(b, in->opcode == OP_and_inv ? ALU_AND : ALU_OR, true, X_RAX, G(A));
        st(c, D, X_RAX);
        break;
    case OP_xnor:
        ld(c, X_RAX, A);
        x_alu_r_rm(b, ALU_XOR, true, X_RAX, G(B));
        x_f7(b, 2, true, X_REG(X_RAX));
        st(c, D, X_RAX);
        break;
    case OP_max: jk_minmax(c, CC_L, D, A, B); break;
    case OP_max_u: jk_minmax(c, CC_B, D, A, B); break;
    case OP_min: jk_minmax(c, CC_G, D, A, B); break;
    case OP_min_u: jk_minmax(c, CC_A, D, A, B); break;

    default: /* not an instruction: behaves as trap */
        jk_panic(c, i);
        break;
    }
}

#endif
