/*
 * jit_table.c — the recompiler's jumps through tables: dynamic jumps
 * (`jump_ind`, through the jump table's code addresses), calls via a
 * pointer (through the calls' table, indexed by the address itself), the
 * tables' memory and filling, and the paid calls' stubs and slow path.
 * Moved out of jit_ctl.c (session 15) unchanged; the invariant is
 * jit_ctl.c's: guest code only reaches block starts of its own program.
 */
#include "jit_cc.h"
#include "jit_plan.h"

#include <string.h>
#include <sys/mman.h>

#if JK_PVM_HAVE_JIT

/* rdx = the address of a table of code addresses. */
static void jk_table_to_rdx(jk_cc *c, void *const *table)
{
    uint64_t a;
    memcpy(&a, &table, sizeof a);
    x_mov_r_imm(&c->b, X_RDX, a);
}

/* jmp (ext 4) or call (ext 2) through [index·8 + table]: one instruction
 * with the table's absolute address when it lies below 2 GiB, else the
 * address in rdx first. */
static void jk_table_op(jk_cc *c, void *const *table, uint8_t index, uint8_t ext)
{
    jk_x64_buf *b = &c->b;
    uint64_t a;
    memcpy(&a, &table, sizeof a);
    if (a < (UINT64_C(1) << 31)) {
        if (index & 8)
            x_b(b, 0x42); /* REX.X */
        x_b(b, 0xFF);
        x_b(b, (uint8_t)(ext << 3 | 4));                /* mod 00, SIB */
        x_b(b, (uint8_t)(3 << 6 | (index & 7) << 3 | 5)); /* ·8, no base: disp32 */
        x_d(b, (uint32_t)a);
        return;
    }
    jk_table_to_rdx(c, table);
    x_op(b, 0, false, 0xFF, 1, ext, X_MEMI(X_RDX, index, 3, 0), false);
}

/* djump (Graypaper) on the address (ω_base + imm) mod 2^32, inlined at each dynamic jump so
 * that every site has its own indirect branch to predict: halt on the halt
 * address; else a = 2(k+1) with k < |j| enters jump-table entry k, whose code
 * is a block start's prologue or, for an entry that is not a block start,
 * the djump_bad routine (jk_pvm_jit_emit_late), which panics at the index in eax.
 * With e = a − 2 (32-bit) rotated right by one bit, an even e
 * gives k and an odd one a value >= 2^31, so one unsigned compare with |j|
 * sends odd e, e >= 2|j| (which includes a = 0) and the halt address to the
 * out-of-line part (halt or panic). e is formed in ecx straight from the
 * register (`lea ecx, [reg + imm − 2]`), or from eax when the address is
 * already there (`in_eax`: after a return's compare); the out-of-line part
 * rebuilds the address from ecx. */
void jk_pvm_jit_djump(jk_cc *c, uint32_t i, bool in_eax, unsigned base, uint64_t imm)
{
    jk_x64_buf *b = &c->b;
    uint32_t count = c->prog->blob.jump_count;
    if (in_eax)
        x_op(b, 0, false, 0x8D, 1, X_RCX, X_MEM(X_RAX, -2), false); /* lea ecx, [rax-2] */
    else
        jk_pvm_jit_maddr(c, (int)base, imm - 2);
    x_shift_imm(b, SH_ROR, false, X_RCX, 1);
    x_alu_rm_imm(b, ALU_CMP, false, X_REG(X_RCX), (int32_t)count);
    jk_late out = {0};
    out.kind = JK_LATE_DJUMP_OUT;
    out.at = (uint32_t)x_jcc32(b, CC_AE);
    out.first = i;
    jk_pvm_jit_add_late(c, &out);
    jk_table_to_rdx(c, c->jump_code);
    x_mov_r_imm(b, X_RAX, i); /* an entry that is not a block start panics here */
    x_op(b, 0, false, 0xFF, 1, 4, X_MEMI(X_RDX, X_RCX, 3, 0), false); /* jmp [rdx+rcx*8] */
}

/* Calls via a pointer (`load_imm_jump_ind rA, rB, v, imm` that is a call,
 * jk_pvm_jit_is_call) go through a table of their own, indexed by the
 * address a itself (session 12): entry a is the code of jump-table entry
 * a/2 − 1's block when a is even, nonzero and that entry a block start,
 * and otherwise call_bad, which finds the call's index from the v the call
 * pushed (v = 2(k + 1) and jump-table entry k is the instruction after the
 * call, so the index is jump_targets[k] − 1) and panics there — as the
 * djump does for an odd address, 0, or an entry that is not a block start.
 * The table has 2|j| + 2 entries (jk_pvm_jit_call_slots), so its bound is
 * the one check: with imm = 0 and ω_B in a host register (every call the
 * SDK emits) the hot path is
 *     cmp rB, 2|j| + 2; jae slow; movabs rdx, table;
 *     cmp rsp, [limit]; jbe slow; push v; call [rdx + rB·8]
 * where the djump's index arithmetic was `lea; ror; cmp; jae`: the 64-bit
 * compare sends a register with any upper bit set, as well as the halt
 * address and everything beyond the table, to the slow path, which is the
 * plain djump on (ω_B + imm) mod 2^32 (JK_LATE_DEEP_JUMP): it halts,
 * panics or jumps exactly as the djump does, without a prediction; a
 * too-deep call goes there too. Otherwise (imm ≠ 0, ω_B in the context,
 * or A = B, whose ω_B was read into eax before ω_A was written) the
 * 32-bit address is formed in ecx (or is in eax) first. Two host
 * instructions less a call than the k-indexed table of session 8. With
 * direct returns (jk_pvm_jit_site_plan) the call is `mov eax, i; jmp
 * [rdx + rB·8]` after the bound check, and the table's bad entries are
 * djump_bad's: no host stack at all. */
uint32_t jk_pvm_jit_call_slots(const jk_pvm_program *prog)
{
    return 2 * prog->blob.jump_count + 2;
}

void jk_pvm_jit_call_ind(jk_cc *c, uint32_t i, bool in_eax, unsigned base, uint64_t imm, uint32_t v)
{
    jk_x64_buf *b = &c->b;
    uint8_t h = c->map[base], index = X_RAX;
    if (!in_eax) {
        if ((uint32_t)imm == 0 && h != X_NOREG) {
            index = h; /* the whole register: upper bits go to the slow path */
        } else {
            jk_pvm_jit_maddr(c, (int)base, imm);
            index = X_RCX;
        }
    }
    if (c->site_count && index == X_RAX) { /* the jump's index in eax is the call's (below) */
        x_mov_r_rm(b, false, X_RCX, X_REG(X_RAX));
        index = X_RCX;
    }
    x_alu_rm_imm(b, ALU_CMP, index == h, X_REG(index), (int32_t)jk_pvm_jit_call_slots(c->prog));
    jk_late slow = {0};
    slow.kind = JK_LATE_DEEP_JUMP; /* outside the table, or too deep: the plain djump */
    slow.at = (uint32_t)x_jcc32(b, CC_AE);
    slow.first = i;
    jk_pvm_jit_add_late(c, &slow);
    if (c->site_count) { /* direct returns: a plain jump */
        if (c->call_ra < 0)
            x_mov_r_imm(b, X_RAX, i); /* djump_bad's index; else call_bad_a finds it from ω_A */
        jk_table_op(c, c->call_code, index, 4); /* jmp [table + index*8] */
        return;
    }
    jk_pvm_jit_depth_cmp(c);
    slow.at = (uint32_t)x_jcc32(b, CC_BE);
    jk_pvm_jit_add_late(c, &slow);
    jk_pvm_jit_push_return(c, v);
    jk_table_op(c, c->call_code, index, 2); /* call [table + index*8] */
}

/* The calls' tables (the ordinary copy's, then the frame copy's: room for
 * both) in one mapping, below 2 GiB where the system gives one
 * (MAP_32BIT): a call then reads its entry at an absolute address, `jmp
 * [rB·8 + table]`, with no `movabs rdx, table` (session 14: two host
 * instructions a `c_fib` pair); elsewhere through rdx as before. A 16-byte
 * header keeps the mapping's size for jk_pvm_jit_call_table_free. */
bool jk_pvm_jit_low_tables = true;

static void **jk_call_map(size_t bytes)
{
    bytes += 16;
    void *map = MAP_FAILED;
#ifdef MAP_32BIT
    if (jk_pvm_jit_low_tables)
        map = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
#endif
    if (map == MAP_FAILED)
        map = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED)
        return NULL;
    memcpy(map, &bytes, sizeof bytes);
    return (void **)((uint8_t *)map + 16);
}

/* Allocate the calls' table (above) when the program makes a call via a
 * pointer; its bound must fit a sign-extended 32-bit compare (a program
 * whose jump table is that large makes its calls as plain djumps). */
bool jk_pvm_jit_call_table(jk_cc *c)
{
    const jk_pvm_program *prog = c->prog;
    c->call_code = NULL;
    c->call_ra = -1;
    if (prog->blob.jump_count >= (UINT32_C(1) << 28))
        return true;
    bool any = false, same = true;
    for (uint32_t i = 0; i < prog->insn_count; i++) {
        const jk_pvm_insn *in = &prog->insns[i];
        if (in->opcode != OP_load_imm_jump_ind || !jk_pvm_jit_is_call(c, i, in->imm_x))
            continue;
        same = same && (!any || (int)in->ra == c->call_ra);
        c->call_ra = (int)in->ra;
        any = true;
    }
    if (!same)
        c->call_ra = -1;
    if (!any)
        return true;
    c->call_code = jk_call_map(2 * (size_t)jk_pvm_jit_call_slots(prog) * sizeof(void *));
    return c->call_code != NULL;
}

void **jk_pvm_jit_call_table_frame(const jk_cc *c)
{
    return c->call_code_o + jk_pvm_jit_call_slots(c->prog);
}

void jk_pvm_jit_call_table_free(void **table)
{
    if (table) {
        uint8_t *map = (uint8_t *)table - 16;
        size_t bytes;
        memcpy(&bytes, map, sizeof bytes);
        munmap(map, bytes);
    }
}

/* table[k] = the code of jump-table entry k's block in the copy whose
 * labels are `label`, or `bad` when the entry is not a block start. */
static void jk_table_fill(const jk_cc *c, void **table, const uint32_t *label, uint8_t *code, size_t bad)
{
    for (uint32_t k = 0; table && k < c->prog->blob.jump_count; k++) {
        uint32_t t = c->prog->jump_targets[k];
        table[k] = code + (t == JK_PVM_NO_TARGET ? bad : label[t]);
    }
}

/* The calls' table, indexed by the address a: entry a is jump-table entry
 * a/2 − 1's code for an even a ≥ 2, call_bad otherwise, or djump_bad when
 * the calls are plain jumps (direct returns: jk_pvm_jit_call_ind). With
 * paid calls (below) a block start's entry is past its prologue, or the
 * stub that charges what the call's block did not pay. */
static void jk_call_fill(const jk_cc *c, void **table, const uint32_t *label, const uint32_t *entry, uint8_t *code,
                         bool framed)
{
    uint32_t slots = jk_pvm_jit_call_slots(c->prog);
    for (uint32_t a = 0; table && a < slots; a++) {
        uint32_t t = a >= 2 && !(a & 1) && a / 2 - 1 < c->prog->blob.jump_count ? c->prog->jump_targets[a / 2 - 1]
                                                                                  : JK_PVM_NO_TARGET;
        size_t bad = !c->site_count ? c->call_bad : c->call_ra >= 0 ? c->call_bad_a : c->djump_bad;
        table[a] = code + (t == JK_PVM_NO_TARGET ? bad : c->call_paid ? entry[t] : label[t]);
    }
    for (size_t k = 0; table && k < c->late_count; k++) {
        const jk_late *l = &c->late[k];
        if (l->kind == JK_LATE_PAID && l->framed == framed)
            table[2 * (l->first + 1)] = code + l->done;
    }
}

void jk_pvm_jit_call_table_fill(const jk_cc *c, uint8_t *code)
{
    jk_table_fill(c, c->jump_code_o, c->label_o, code, c->djump_bad);
    jk_call_fill(c, c->call_code_o, c->label_o, c->entry_o, code, false);
    if (c->frame_h) { /* the frame copy's own (jit_stack.c) */
        jk_table_fill(c, c->jump_code_f, c->label_f, code, c->djump_bad);
        jk_call_fill(c, c->call_code_f, c->label_f, c->entry_f, code, true);
    }
    if (c->call_code_o) { /* written for good: read-only from here on (a failure leaves it writable) */
        uint8_t *map = (uint8_t *)c->call_code_o - 16;
        size_t bytes;
        memcpy(&bytes, map, sizeof bytes);
        (void)mprotect(map, bytes, PROT_READ);
    }
}

/* Paid calls (session 14; the plan is jk_paid_plan in jit_plan.c). Where
 * every call via a pointer's block has paid P for its callee's entry, the
 * calls' table leads each block start t whose prologue charges exactly P
 * (cost(t) + pre(t) = P: `c_fib`'s fib_rec) past that prologue, and every
 * other block start to a stub, out of line, that charges the difference
 * `sub r11, C − P; jl` (whose exit is t's own out-of-gas exit, which
 * gives C back: the interpreter's gas at t) and jumps past t's prologue.
 * One stub per such jump-table entry and copy: linear. */
void jk_pvm_jit_paid_stubs(jk_cc *c)
{
    const jk_pvm_program *prog = c->prog;
    for (int copy = 0; c->call_paid && copy < (c->frame_h ? 2 : 1); copy++) {
        jk_pvm_jit_frame_select(c, copy == 1);
        for (uint32_t k = 0; k < prog->blob.jump_count; k++) {
            uint32_t t = prog->jump_targets[k];
            if (t == JK_PVM_NO_TARGET || prog->insns[t].cost + (c->pre ? c->pre[t] : 0) == c->call_paid)
                continue;
            jk_late stub = {0};
            stub.kind = JK_LATE_PAID;
            stub.first = k;
            stub.last = t;
            jk_pvm_jit_add_late(c, &stub);
        }
    }
    jk_pvm_jit_frame_select(c, false);
}

void jk_pvm_jit_paid_stub(jk_cc *c, jk_late *l)
{
    jk_x64_buf *b = &c->b;
    uint32_t t = l->last, cost = c->prog->insns[t].cost + (c->pre ? c->pre[t] : 0);
    l->done = (uint32_t)b->len;
    x_alu_rm_imm(b, ALU_SUB, true, X_REG(X_GAS), (int32_t)cost - (int32_t)c->call_paid);
    jk_late oog = {0};
    oog.at = (uint32_t)x_jcc32(b, CC_L);
    oog.first = t;
    oog.cost = cost;
    oog.kind = JK_LATE_OOG;
    jk_pvm_jit_add_late(c, &oog);
    jk_jump_to_at(c, x_jmp32(b), t, true);
}

/* A paid call's slow path (its register has upper bits set or is past the
 * table): on the 32-bit address a, in ecx, the table again when a is in
 * it (the callee's entry was paid), else a halt — which gives P back, the
 * callee never being entered — or a panic at the call, for which the
 * runtime gives back the block's pre (jit_run.c). */
void jk_pvm_jit_paid_slow(jk_cc *c, const jk_late *l)
{
    jk_x64_buf *b = &c->b;
    const jk_pvm_insn *in = &c->prog->insns[l->first];
    uint8_t h = c->map[in->rb];
    if (in->ra != in->rb && (uint32_t)in->imm_y == 0 && h != X_NOREG)
        x_mov_r_rm(b, false, X_RCX, X_REG(h)); /* else formed in ecx (jk_pvm_jit_call_ind) */
    x_alu_rm_imm(b, ALU_CMP, false, X_REG(X_RCX), (int32_t)jk_pvm_jit_call_slots(c->prog));
    size_t out = x_jcc8(b, CC_AE);
    if (c->call_ra < 0)
        x_mov_r_imm(b, X_RAX, l->first);
    jk_table_op(c, c->call_code, X_RCX, 4); /* jmp [table + rcx*8] */
    x_here8(b, out);
    jk_set_exit(c, l->first);
    x_alu_rm_imm(b, ALU_CMP, false, X_REG(X_RCX), (int32_t)JK_PVM_HALT_ADDRESS);
    size_t panic = x_jcc8(b, CC_NE);
    x_alu_rm_imm(b, ALU_ADD, true, X_REG(X_GAS), (int32_t)c->call_paid);
    jk_jmp_to_off(c, c->halt_common);
    x_here8(b, panic);
    jk_jmp_to_off(c, c->panic_common);
}

#endif
