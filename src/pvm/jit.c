/*
 * jit.c — the PVM recompiler's driver: pre-decoded program -> x86-64 machine
 * code (register allocation, the pass over the instructions with their block
 * prologues, fixups, the W^X mapping). Instruction selection is jit_insn.c,
 * control flow and out-of-line code jit_ctl.c, memory accesses jit_mem.c and
 * jit_group.c, running jit_run.c; shared compile state jit_cc.h.
 *
 * One pass over the instructions, in pc order, emits each one's code into a
 * growing buffer; a second pass patches branch displacements. Each guest
 * instruction emits a bounded number of bytes and nothing loops over the
 * program twice, so compilation is linear in the program's size whatever it
 * contains (no "JIT bomb").
 *
 * Register map: the 10 guest registers a program names most stay in host
 * registers for the whole run (jk_allocate); the other three live in
 * ctx->regs[]. r11 holds the gas counter, rbx the context; rax, rcx, rdx are
 * scratch.
 *
 * Gas (architecture §4): every instruction that starts a basic block gets a
 * prologue `sub r11, cost; jl oog`, whose out-of-gas exit (out of line, after
 * all instructions: jk_pvm_jit_emit_late) first gives the cost back, so a block
 * that cannot be paid is not entered and the state is untouched. Branches jump to a target block's prologue; a resumed
 * run enters at entry[i], after the prologue (the runtime charges or skips
 * the charge exactly as the interpreter's prologue does).
 *
 * Memory (jit_mem.c): TLBs, then an inline walk of the interpreter's page
 * table, then the interpreter's own slow path, so the memory model is the
 * interpreter's by construction; a run of accesses through one base register
 * is checked once (access groups, jit_group.c).
 *
 * Control: static targets are resolved at load to block starts; dynamic jumps
 * go through a table of code addresses indexed by the bounds-checked jump
 * table entry, so guest code can only reach block starts of its own program
 * (jit_ctl.c).
 */
#include "jit_cc.h"

#if JK_PVM_HAVE_JIT

#include <sys/mman.h>

/* Host registers that hold guest registers, in the order they are handed
 * out: callee-saved first (no spill around calls into C), then the rest. */
static const uint8_t jk_pool[] = {X_RBP, X_R12, X_R13, X_R14, X_R15, X_RSI, X_RDI, X_R8, X_R9, X_R10};

#define JK_POOL_SIZE (sizeof jk_pool / sizeof jk_pool[0])

/* Register allocation, once per program: the 10 guest registers the code
 * names most often (count of operand fields, each weighted by how many
 * backward branches span it — 1, 8, 64, 512 for loop depth 0, 1, 2, 3+ —
 * so loops' registers win; ties to the lower number) get host registers; the
 * other three live in ctx->regs. Linear (a difference array over the
 * backward branches), and the same map for the whole program, so any
 * instruction can be entered with the registers where the map says. */
static void jk_allocate(jk_cc *c)
{
    uint64_t uses[JK_PVM_REGS] = {0};
    const jk_pvm_program *prog = c->prog;
    int32_t *depth = calloc((size_t)prog->insn_count + 1, sizeof *depth); /* NULL: no weights */
    for (uint32_t i = 0; depth && i < prog->insn_count; i++) {
        const jk_pvm_insn *in = &prog->insns[i];
        const jk_pvm_opinfo *info = jk_pvm_opinfo_get(in->opcode);
        if (info && info->is_terminator && in->target != JK_PVM_NO_TARGET && in->target <= i) {
            depth[in->target]++;
            depth[i + 1]--;
        }
    }
    int32_t d = 0;
    for (uint32_t i = 0; i < prog->insn_count; i++) {
        const jk_pvm_insn *in = &prog->insns[i];
        const jk_pvm_opinfo *info = jk_pvm_opinfo_get(in->opcode);
        d += depth ? depth[i] : 0;
        uint64_t w = UINT64_C(1) << (3 * (d < 0 ? 0 : d > 3 ? 3 : d));
        if (!info)
            continue;
        switch (info->format) {
        case JK_PVM_ARGS_REG_IMM64:
        case JK_PVM_ARGS_REG_IMM:
        case JK_PVM_ARGS_REG_IMM_IMM:
        case JK_PVM_ARGS_REG_IMM_OFFSET:
            uses[in->ra] += w;
            break;
        case JK_PVM_ARGS_REG_REG:
            uses[in->ra] += w;
            uses[in->rd] += w;
            break;
        case JK_PVM_ARGS_REG_REG_IMM:
        case JK_PVM_ARGS_REG_REG_OFFSET:
        case JK_PVM_ARGS_REG_REG_IMM_IMM:
            uses[in->ra] += w;
            uses[in->rb] += w;
            break;
        case JK_PVM_ARGS_REG_REG_REG:
            uses[in->ra] += w;
            uses[in->rb] += w;
            uses[in->rd] += w;
            break;
        default:
            break;
        }
    }
    free(depth);
    memcpy(c->uses, uses, sizeof c->uses);
    bool taken[JK_PVM_REGS] = {false};
    for (unsigned g = 0; g < JK_PVM_REGS; g++)
        c->map[g] = X_NOREG;
    for (size_t k = 0; k < JK_POOL_SIZE; k++) {
        int best = -1;
        for (unsigned g = 0; g < JK_PVM_REGS; g++)
            if (!taken[g] && (best < 0 || uses[g] > uses[best]))
                best = (int)g;
        taken[best] = true;
        c->map[best] = jk_pool[k];
    }
}

void jk_pvm_jit_free(jk_pvm_jit *jit)
{
    if (!jit)
        return;
    if (jit->code)
        munmap(jit->code, jit->code_map_size);
    free(jit->entry);
    free(jit->entry_frame);
    free(jit->jump_code);
    jk_pvm_jit_call_table_free(jit->call_code); /* the frame copy's with it (jit_ctl.c) */
    free(jit->jump_code_frame);
    free(jit->pre);
    free(jit);
}

void jk_pvm_jit_compile(jk_pvm_program *prog)
{
    uint32_t n = prog->insn_count;
    jk_cc cc;
    memset(&cc, 0, sizeof cc);
    cc.prog = prog;
    cc.label = malloc((size_t)n * sizeof *cc.label);
    cc.entry = malloc((size_t)n * sizeof *cc.entry);
    cc.no_entry = calloc(n ? n : 1, 1);
    jk_pvm_jit *jit = calloc(1, sizeof *jit);
    if (!cc.label || !cc.entry || !cc.no_entry || !jit)
        goto fail;
    jit->jump_code = malloc((prog->blob.jump_count ? prog->blob.jump_count : 1) * sizeof(void *));
    if (!jit->jump_code || !x_reserve(&cc.b, 1024))
        goto fail;
    cc.jump_code = jit->jump_code;
    if (!jk_pvm_jit_call_table(&cc))
        goto fail;
    jit->call_code = cc.call_code;
    if (!jk_pvm_jit_precharge_plan(&cc))
        goto fail;
    jk_pvm_jit_site_plan(&cc);
    jit->pre = cc.pre;
    jk_allocate(&cc);
    jk_pvm_jit_stack_choose(&cc);
    jk_pvm_jit_frame_plan(&cc);
    cc.label_o = cc.label;
    cc.entry_o = cc.entry;
    cc.jump_code_o = cc.jump_code;
    cc.call_code_o = cc.call_code;
    if (cc.frame_h) { /* the frame copy's arrays (jit_stack.c) */
        size_t tables = prog->blob.jump_count ? prog->blob.jump_count : 1;
        cc.label_f = malloc((size_t)(n ? n : 1) * sizeof *cc.label_f);
        cc.entry_f = malloc((size_t)(n ? n : 1) * sizeof *cc.entry_f);
        jit->jump_code_frame = cc.jump_code_f = malloc(tables * sizeof(void *));
        if (cc.call_code_o)
            jit->call_code_frame = cc.call_code_f = jk_pvm_jit_call_table_frame(&cc);
        if (!cc.label_f || !cc.entry_f || !cc.jump_code_f || (cc.call_code_o && !cc.call_code_f))
            goto fail;
        for (uint32_t i = 0; i < n; i++) /* a target the copy never set refuses the code */
            cc.label_f[i] = cc.entry_f[i] = UINT32_MAX;
    }
    jk_pvm_jit_emit_routines(&cc);
    jk_pvm_jit_frame_routine(&cc);
    jit->trampoline = 16;

    for (int copy = 0; copy < (cc.frame_h ? 2 : 1); copy++) {
        jk_pvm_jit_frame_select(&cc, copy == 1);
        for (uint32_t i = 0; i < n; i++) {
            if (!x_reserve(&cc.b, JK_JIT_INSN_BOUND + 16))
                goto fail;
            jk_pvm_jit_align(&cc, i); /* where calls land (jit_ctl.c) */
            size_t start = cc.b.len;
            cc.label[i] = (uint32_t)cc.b.len;
            if (prog->block_start[i]) {
                /* Pay the block's whole cost on entry, or leave untouched
                 * (and its successor's, when it is precharged; less what a
                 * precharged branch falling through here already paid:
                 * jit_ctl.c). The exit gives back what the interpreter
                 * would not have charged yet. */
                uint32_t cost = prog->insns[i].cost + (cc.pre ? cc.pre[i] : 0);
                int32_t less = cc.less ? (int32_t)cc.less[i] : 0;
                if ((int32_t)cost != less) { /* else all paid before: no prologue (jit_ctl.c) */
                    x_alu_rm_imm(&cc.b, ALU_SUB, true, X_REG(X_GAS), (int32_t)cost - less);
                    jk_late oog = {0};
                    oog.at = (uint32_t)x_jcc32(&cc.b, CC_L); /* the exit is out of line */
                    oog.first = i;
                    oog.cost = cost;
                    oog.kind = JK_LATE_OOG;
                    jk_pvm_jit_add_late(&cc, &oog);
                }
            }
            cc.entry[i] = (uint32_t)cc.b.len;
            if (jk_pvm_jit_frame_leave(&cc, i))
                continue; /* to the ordinary copy (jit_stack.c) */
            uint32_t last;
            if (jk_pvm_jit_group(&cc, i, &last)) {
                /* a run of accesses through one base register (jit_group.c) */
                if (cc.oom || cc.b.oom)
                    goto fail;
                i = last;
                continue;
            }
            cc.insn = i;
            if (!jk_pvm_jit_frame_access(&cc, i))
                jk_pvm_jit_compile_insn(&cc, i);
            jk_pvm_jit_frame_after(&cc, i);
            if (cc.b.len - start > JK_JIT_INSN_BOUND)
                cc.b.oom = true; /* a bound is wrong: refuse rather than overrun */
            if (cc.oom || cc.b.oom)
                goto fail;
        }
    }
    jk_pvm_jit_emit_late(&cc);
    jk_pvm_jit_frame_select(&cc, false);
    jk_pvm_jit_emit_mem_stubs(&cc);
    if (cc.oom || cc.b.oom)
        goto fail;
    for (size_t k = 0; k < cc.fix_count; k++) {
        const jk_fixup *f = &cc.fix[k];
        const uint32_t *to = f->framed ? (f->to_entry ? cc.entry_f : cc.label_f)
                                       : (f->to_entry ? cc.entry_o : cc.label_o);
        if (!to || to[f->target] == UINT32_MAX)
            goto fail; /* a jump into code the frame copy never emitted: refuse */
        x_patch32(&cc.b, f->at, to[f->target]);
    }
    if (cc.b.oom)
        goto fail;

    /* Map read-write, copy, then flip to read-execute: never W and X. */
    size_t map = (cc.b.len + 4095) & ~(size_t)4095;
    void *code = mmap(NULL, map, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (code == MAP_FAILED)
        goto fail;
    memcpy(code, cc.b.p, cc.b.len);
    if (mprotect(code, map, PROT_READ | PROT_EXEC) != 0) {
        munmap(code, map);
        goto fail;
    }
    jit->code = code;
    jit->code_map_size = map;
    jit->code_len = cc.b.len;
    jk_pvm_jit_call_table_fill(&cc, jit->code); /* the jump tables too */
    for (uint32_t i = 0; i < n; i++)
        if (cc.no_entry[i])
            cc.entry[i] = JK_JIT_NO_ENTRY;
    jit->entry = cc.entry;
    cc.entry = cc.entry_o = NULL;
    if (cc.frame_h) {
        /* where a run may start in the frame copy (jit_run.c): block starts
         * and the resumptions after ecalli, where nothing earlier in the
         * block has set up state the code relies on (an access group's
         * rdx, a loop's deltas); all others start in the ordinary copy */
        for (uint32_t i = 0; i < n; i++)
            if (jit->entry[i] == JK_JIT_NO_ENTRY ||
                !(prog->block_start[i] || (i > 0 && prog->insns[i - 1].opcode == OP_ecalli)))
                cc.entry_f[i] = JK_JIT_NO_ENTRY;
        jit->entry_frame = cc.entry_f;
        jit->frame_h = cc.frame_h;
        jit->frame_sp = (unsigned)cc.stack_reg;
        cc.entry_f = NULL;
    }
    prog->jit = jit;
    jit = NULL;

fail:
    if (cc.label_o) { /* the ordinary copy's arrays, whichever was selected */
        cc.label = cc.label_o;
        cc.entry = cc.entry_o;
    }
    jk_pvm_jit_free(jit);
    free(cc.b.p);
    free(cc.label);
    free(cc.entry);
    free(cc.no_entry);
    free(cc.label_f);
    free(cc.entry_f);
    free(cc.fix);
    free(cc.stubs);
    free(cc.late);
    free(cc.align);
    free(cc.less);
}

#else /* no recompiler on this host */

void jk_pvm_jit_compile(jk_pvm_program *prog)
{
    (void)prog;
}

void jk_pvm_jit_free(jk_pvm_jit *jit)
{
    (void)jit;
}

#endif
