/*
 * jit_run.c — running compiled code: the entry into it, the exits out of it,
 * the C helpers it calls, and the choice of engine.
 *
 * The driver mirrors the interpreter's prologue and epilogue line for line
 * (interp.c: JK_LOOP_PROLOGUE / JK_LOOP_EPILOGUE): the same resume rule, the
 * same charge of the first block, the same pc for every exit. Everything in
 * between is the compiled code's, which returns an exit code and the index of
 * the instruction that exited.
 */
#include "jit.h"

#include <stdlib.h>
#include <string.h>

/* Any call into C may change the page table (copy-on-write, the resolver,
 * sbrk): forget the cached pages. Only the page addresses: the code reads an
 * entry's `base` only after its `addr` matched (jit_mem.c, tier 1), and a
 * refill writes both, so a stale base behind an empty address is never used
 * (kern5: half the stores of every entry into compiled code). */
static void jk_tlb_flush(jk_jit_ctx *ctx)
{
    /* unrolled by hand: as a loop (which -O2 keeps) the counter and branch
     * cost twice the 32 stores, on every entry and every helper call */
    _Static_assert(JK_JIT_TLB_SIZE == 16, "the flush below names 16 entries");
#define JK_TLB_EMPTY_AT(k) (ctx->tlb_r[k].addr = ctx->tlb_w[k].addr = JK_JIT_TLB_EMPTY)
    JK_TLB_EMPTY_AT(0), JK_TLB_EMPTY_AT(1), JK_TLB_EMPTY_AT(2), JK_TLB_EMPTY_AT(3);
    JK_TLB_EMPTY_AT(4), JK_TLB_EMPTY_AT(5), JK_TLB_EMPTY_AT(6), JK_TLB_EMPTY_AT(7);
    JK_TLB_EMPTY_AT(8), JK_TLB_EMPTY_AT(9), JK_TLB_EMPTY_AT(10), JK_TLB_EMPTY_AT(11);
    JK_TLB_EMPTY_AT(12), JK_TLB_EMPTY_AT(13), JK_TLB_EMPTY_AT(14), JK_TLB_EMPTY_AT(15);
#undef JK_TLB_EMPTY_AT
    ctx->stack_tlb.addr = JK_JIT_TLB_EMPTY; /* a copy of a tlb_w entry (jit_stack.c) */
    /* the frame copy's cached walk (jit_stack.c); never what a run in the
     * frame copy relies on, which no C code called from it can change */
    ctx->frame_lo = JK_JIT_TLB_EMPTY;
}

void jk_pvm_jit_tlb_flush(jk_jit_ctx *ctx)
{
    jk_tlb_flush(ctx);
}

int jk_pvm_jit_load_slow(jk_jit_ctx *ctx, uint32_t addr, uint32_t n)
{
    uint64_t v = 0;
    /* a straddling access changes no entry: the TLBs stay */
    if (jk_pvm_mem_pair(ctx->mem, addr, n, &v, false)) {
        ctx->scratch = v;
        return 0;
    }
    jk_tlb_flush(ctx);
    int rc = jk_pvm_mem_load_slow(ctx->mem, addr, n, &v, &ctx->fault_address);
    if (rc != JK_MEM_OK) {
        ctx->mem_rc = rc;
        return 1;
    }
    ctx->scratch = v;
    return 0;
}

int jk_pvm_jit_store_slow(jk_jit_ctx *ctx, uint32_t addr, uint32_t n)
{
    if (jk_pvm_mem_pair(ctx->mem, addr, n, &ctx->scratch, true))
        return 0;
    jk_tlb_flush(ctx);
    int rc = jk_pvm_mem_store_slow(ctx->mem, addr, n, ctx->scratch, &ctx->fault_address);
    if (rc != JK_MEM_OK) {
        ctx->mem_rc = rc;
        return 1;
    }
    return 0;
}

void jk_pvm_jit_step(jk_jit_ctx *ctx, const jk_pvm_insn *in)
{
    uint64_t *r = ctx->regs;
    uint64_t a = r[in->ra];
    /* Only a page-table change empties the TLBs (adv15: a bit count, or an
     * sbrk where the memory has no heap, as under the kernel, emptied them
     * every time, and every later access paid a walk: 3-6 ns of host time
     * per gas, docs/bench.md "Host cost per gas, session 15"). */
    switch (in->opcode) {
    case 101: { /* sbrk */
        uint64_t gen = ctx->mem->gen;
        r[in->rd] = jk_pvm_mem_sbrk(ctx->mem, a);
        if (ctx->mem->gen != gen)
            jk_tlb_flush(ctx);
        break;
    }
    case 102: /* count_set_bits_64 */
        r[in->rd] = (uint64_t)__builtin_popcountll(a);
        break;
    case 103: /* count_set_bits_32 */
        r[in->rd] = (uint64_t)__builtin_popcount((uint32_t)a);
        break;
    default:
        break; /* the compiler only calls this for the opcodes above */
    }
}

#if JK_PVM_HAVE_JIT

typedef int (*jk_jit_entry_fn)(jk_jit_ctx *ctx, const void *code);

jk_err jk_pvm_jit_run(const jk_pvm_program *prog, jk_pvm_memory *mem, jk_pvm_state *state,
                      jk_pvm_exit *out)
{
    const jk_pvm_jit *jit = prog->jit;
    out->status = JK_PVM_PANIC;
    out->fault_address = 0;
    out->host_call = 0;
    out->host_call_pc = 0;
    uint32_t start = state->pc > prog->blob.code_len ? JK_PVM_NO_TARGET : prog->pc_to_index[state->pc];
    if (start == JK_PVM_NO_TARGET)
        return jk_pvm_run_not_insn(state, out);
    if (jit->entry[start] == JK_JIT_NO_ENTRY) /* inside a proof the code relies on */
        return jk_pvm_run_backend(prog, mem, state, out, JK_PVM_BACKEND_GOTO);
    /* The memory's own context: its TLBs are still good when no page-table
     * entry changed since the last exit (memory.c counts the changes in
     * `gen`): a host call that only read or wrote guest bytes, or a kernel
     * step that touched other memories, leaves them valid. */
    jk_jit_ctx *ctx = mem->jit_ctx;
    bool tlb_ok = ctx && mem->jit_gen == mem->gen;
    if (!ctx) {
        ctx = malloc(sizeof *ctx);
        if (!ctx)
            return JK_ERR_NOMEM; /* nothing ran, nothing changed */
        ctx->frame_delta = 0; /* read by the trampoline (flushed below) */
        mem->jit_ctx = ctx;
    }
    bool paid = state->block_paid;
    /* A precharged block (jit_ctl.c) also pays for the block it jumps to
     * on entry; when only its own cost is there, or it was half paid (it
     * has no ecalli, so never), the interpreter runs it. */
    uint32_t pre = jit->pre ? jit->pre[start] : 0;
    if (pre && (paid || (int64_t)prog->insns[start].cost + pre > state->gas) &&
        (paid || (int64_t)prog->insns[start].cost <= state->gas))
        return jk_pvm_run_backend(prog, mem, state, out, JK_PVM_BACKEND_GOTO);
    state->block_paid = false;
    if (!paid) {
        if ((int64_t)prog->insns[start].cost > state->gas) {
            out->status = JK_PVM_OUT_OF_GAS;
            return JK_OK; /* pc and gas exactly as they were */
        }
        state->gas -= prog->insns[start].cost + pre;
    }

    memcpy(ctx->regs, state->regs, sizeof ctx->regs);
    ctx->gas = state->gas;
    ctx->top = mem->top;
    ctx->empty_leaf = (uintptr_t)jk_pvm_empty_leaf;
    ctx->exit_index = start;
    ctx->jump_count = prog->blob.jump_count;
    ctx->stack_limit = 0;
    ctx->jump_code = (void *const *)jit->jump_code;
    ctx->scratch = 0;
    ctx->host_rsp = 0;
    ctx->mem = mem;
    ctx->mem_rc = JK_MEM_OK;
    ctx->fault_address = 0;
    ctx->prog = prog; /* for a host call served in the code (jit_host.c) */
    ctx->state = state;
    if (!tlb_ok)
        jk_tlb_flush(ctx);

    /* Start in the frame copy (session 10) when the window of the last
     * walk still holds for this run's sp: frame_lo is that page while no
     * page-table entry changed since (it is emptied with the TLBs, above
     * and by every helper), and the bound is this program's H (another
     * program, with another H, may have set frame_hi). Otherwise the
     * ordinary copy, whose first write of sp finds the window. */
    uint32_t at = jit->entry[start];
    if (jit->entry_frame && jit->entry_frame[start] != JK_JIT_NO_ENTRY) {
        uint64_t sp = ctx->regs[jit->frame_sp], lo = ctx->frame_lo;
        uint64_t hi = lo + JK_PVM_PAGE_SIZE - jit->frame_h;
        if (lo < JK_JIT_TLB_EMPTY && sp >= lo && sp <= hi) {
            ctx->frame_hi = hi;
            at = jit->entry_frame[start];
        }
    }
    jk_jit_entry_fn entry;
    const uint8_t *tramp = jit->code + jit->trampoline;
    memcpy(&entry, &tramp, sizeof entry);
    int code = entry(ctx, jit->code + at);

    /* Whatever changed entries during the run went through a helper that
     * flushed first (jk_pvm_jit_load_slow, _store_slow, _step): the TLBs
     * match the page table as it is now. */
    mem->jit_gen = mem->gen;
    memcpy(state->regs, ctx->regs, sizeof ctx->regs);
    state->gas = ctx->gas;
    const jk_pvm_insn *ip = &prog->insns[ctx->exit_index];
    pre = jit->pre ? jit->pre[ctx->exit_index] : 0;
    if (pre && code == JK_JIT_EXIT_OOG) {
        /* a precharged block's prologue could not pay for both blocks
         * (and gave both back): the interpreter pays this one, runs it and
         * stops where it stops (jit_ctl.c) */
        state->pc = ip->pc;
        return jk_pvm_run_backend(prog, mem, state, out, JK_PVM_BACKEND_GOTO);
    }
    if (pre && (code == JK_JIT_EXIT_MEMORY || code == JK_JIT_EXIT_PANIC))
        state->gas += pre; /* left inside the block: the next was never entered */
    switch (code) {
    case JK_JIT_EXIT_HALT:
        out->status = JK_PVM_HALT;
        break;
    case JK_JIT_EXIT_OOG:
        out->status = JK_PVM_OUT_OF_GAS;
        break;
    case JK_JIT_EXIT_MEMORY:
        if (ctx->mem_rc == JK_MEM_NOMEM) { /* the instruction did not happen */
            state->pc = ip->pc;
            return JK_ERR_NOMEM;
        }
        if (ctx->mem_rc == JK_MEM_PANIC) {
            out->status = JK_PVM_PANIC;
        } else {
            out->status = JK_PVM_PAGE_FAULT;
            out->fault_address = ctx->fault_address;
        }
        break;
    case JK_JIT_EXIT_HOST:
        out->status = JK_PVM_HOST_CALL;
        out->host_call = ip->imm_x;
        out->host_call_pc = ip->pc;
        state->block_paid = true;
        ip++;
        break;
    default:
        out->status = JK_PVM_PANIC;
        break;
    }
    state->pc = ip->pc;
    return JK_OK;
}

#else

jk_err jk_pvm_jit_run(const jk_pvm_program *prog, jk_pvm_memory *mem, jk_pvm_state *state,
                      jk_pvm_exit *out)
{
    return jk_pvm_run_backend(prog, mem, state, out, JK_PVM_BACKEND_GOTO);
}

#endif

void jk_pvm_memory_set_host_args(jk_pvm_memory *mem, jk_pvm_host_fn fn, void *ctx)
{
    jk_pvm_memory_set_host(mem, fn, ctx);
    mem->host_args = fn != NULL; /* read by the ecalli's code (jit_host.c) */
}

/* jit.h: the largest number of call sites with direct returns (jit_ctl.c). */
unsigned jk_pvm_jit_direct_max = 4;

bool jk_pvm_program_jitted(const jk_pvm_program *prog)
{
    return prog->jit != NULL;
}

/* What JK_PVM_ENGINE_AUTO means in this process (set before runs start). */
static jk_pvm_engine jk_auto_engine = JK_PVM_ENGINE_JIT;

void jk_pvm_set_auto_engine(jk_pvm_engine engine)
{
    jk_auto_engine = engine == JK_PVM_ENGINE_INTERP ? JK_PVM_ENGINE_INTERP : JK_PVM_ENGINE_JIT;
}

jk_pvm_engine jk_pvm_auto_engine(void)
{
    return jk_auto_engine;
}

jk_err jk_pvm_run_engine(const jk_pvm_program *prog, jk_pvm_memory *mem, jk_pvm_state *state,
                         jk_pvm_exit *out, jk_pvm_engine engine)
{
    if (engine == JK_PVM_ENGINE_AUTO)
        engine = jk_auto_engine;
    if (engine == JK_PVM_ENGINE_JIT && prog->jit)
        return jk_pvm_jit_run(prog, mem, state, out);
    return jk_pvm_run_backend(prog, mem, state, out, JK_PVM_BACKEND_GOTO);
}

jk_err jk_pvm_engine_parse(const char *name, jk_pvm_engine *out)
{
    if (!strcmp(name, "auto"))
        *out = JK_PVM_ENGINE_AUTO;
    else if (!strcmp(name, "interp"))
        *out = JK_PVM_ENGINE_INTERP;
    else if (!strcmp(name, "jit"))
        *out = JK_PVM_ENGINE_JIT;
    else
        return JK_ERR_INVALID_ARG;
    return JK_OK;
}

const char *jk_pvm_engine_name(jk_pvm_engine engine)
{
    switch (engine) {
    case JK_PVM_ENGINE_AUTO: return "auto";
    case JK_PVM_ENGINE_INTERP: return "interp";
    case JK_PVM_ENGINE_JIT: return "jit";
    }
    return "unknown";
}
