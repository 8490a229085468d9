/*
 * interp.c — the PVM interpreter loop over pre-decoded programs.
 *
 * The handlers live once in interp_ops.inc. This file builds the loop twice
 * from them: a portable `switch` back end (the reference, always built and
 * tested) and, where the compiler has labels-as-values, a computed-goto back
 * end, which is the default for speed. Both must agree on every vector; the
 * tests run both (jk_pvm_run_backend).
 *
 * Hot state lives in locals (ip, gas); registers are the caller's state array.
 * Gas is charged only where a basic block is entered (see interp_ops.inc).
 */
#include "internal.h"

/* ---- defined-arithmetic helpers (style rule 10: no signed overflow) ---- */

/* X4: sign-extend the low 32 bits. */
static inline uint64_t jk_sx32(uint64_t v)
{
    return ((v & 0xFFFFFFFFu) ^ 0x80000000u) - 0x80000000u;
}

/* Signed 64-bit less-than, by flipping the sign bit. */
static inline bool jk_lt_s(uint64_t a, uint64_t b)
{
    return (a ^ (UINT64_C(1) << 63)) < (b ^ (UINT64_C(1) << 63));
}

/* Arithmetic shift right, s in 0..63. */
static inline uint64_t jk_sar64(uint64_t v, uint64_t s)
{
    return (v >> 63) ? ~(~v >> s) : v >> s;
}

static inline uint64_t jk_rotr64(uint64_t v, uint64_t s)
{
    s &= 63;
    return s ? (v >> s) | (v << (64 - s)) : v;
}

static inline uint32_t jk_rotr32(uint32_t v, uint64_t s)
{
    s &= 31;
    return s ? (v >> s) | (v << (32 - s)) : v;
}

static inline int64_t jk_i64(uint64_t v)
{
    return v <= (uint64_t)INT64_MAX ? (int64_t)v : -(int64_t)(~v) - 1;
}

static inline uint64_t jk_u64(int64_t v)
{
    return (uint64_t)v; /* conversion to unsigned is modular: defined */
}

static inline uint64_t jk_div_u32(uint64_t a, uint64_t b)
{
    uint32_t x = (uint32_t)a, y = (uint32_t)b;
    return y ? jk_sx32(x / y) : UINT64_MAX;
}

static inline uint64_t jk_rem_u32(uint64_t a, uint64_t b)
{
    uint32_t x = (uint32_t)a, y = (uint32_t)b;
    return jk_sx32(y ? x % y : x);
}

static inline uint64_t jk_div_s32(uint64_t a, uint64_t b)
{
    int64_t x = jk_i64(jk_sx32(a)), y = jk_i64(jk_sx32(b));
    if (y == 0)
        return UINT64_MAX;
    if (x == INT32_MIN && y == -1)
        return jk_u64(x);
    return jk_u64(x / y);
}

static inline uint64_t jk_rem_s32(uint64_t a, uint64_t b)
{
    int64_t x = jk_i64(jk_sx32(a)), y = jk_i64(jk_sx32(b));
    if (y == 0)
        return jk_u64(x);
    if (x == INT32_MIN && y == -1)
        return 0;
    return jk_u64(x % y);
}

static inline uint64_t jk_div_s64(uint64_t a, uint64_t b)
{
    int64_t x = jk_i64(a), y = jk_i64(b);
    if (y == 0)
        return UINT64_MAX;
    if (x == INT64_MIN && y == -1)
        return a;
    return jk_u64(x / y);
}

static inline uint64_t jk_rem_s64(uint64_t a, uint64_t b)
{
    int64_t x = jk_i64(a), y = jk_i64(b);
    if (y == 0)
        return a;
    if (x == INT64_MIN && y == -1)
        return 0;
    return jk_u64(x % y);
}

__extension__ typedef unsigned __int128 jk_u128;
__extension__ typedef __int128 jk_i128;

static inline uint64_t jk_mulh_uu(uint64_t a, uint64_t b)
{
    return (uint64_t)(((jk_u128)a * b) >> 64);
}

/* Signed high halves from the unsigned one: subtract the operand that the
 * other's sign bit stands for (two's complement identity), all modular. */
static inline uint64_t jk_mulh_ss(uint64_t a, uint64_t b)
{
    uint64_t h = jk_mulh_uu(a, b);
    if (a >> 63)
        h -= b;
    if (b >> 63)
        h -= a;
    return h;
}

static inline uint64_t jk_mulh_su(uint64_t a, uint64_t b)
{
    uint64_t h = jk_mulh_uu(a, b);
    if (a >> 63)
        h -= b;
    return h;
}

/* ---- the loop, built per back end ---- */

enum {
#define JK_OPC(op, name, fmt, term) JK_OPC_##name = op,
    JK_PVM_OPCODE_TABLE(JK_OPC)
#undef JK_OPC
};

/* Shared prologue: find the resume point and charge its block if needed.
 * Returns the instruction index, or JK_PVM_NO_TARGET for a bad pc. */
static uint32_t jk_pvm_resume_index(const jk_pvm_program *prog, uint32_t pc)
{
    if (pc > prog->blob.code_len)
        return JK_PVM_NO_TARGET;
    return prog->pc_to_index[pc];
}

#define JK_LOOP_PROLOGUE                                                       \
    const jk_pvm_insn *const insns = prog->insns;                              \
    const uint32_t *const jump_targets = prog->jump_targets;                   \
    const uint32_t jump_count = prog->blob.jump_count;                         \
    uint64_t *const r = state->regs;                                           \
    const uintptr_t *const pages = mem->top;                                   \
    int64_t gas = state->gas;                                                  \
    uint32_t fault_address = 0;                                                \
    int mem_rc = JK_MEM_OK;                                                    \
    uint32_t start = jk_pvm_resume_index(prog, state->pc);                     \
    if (start == JK_PVM_NO_TARGET)                                             \
        return jk_pvm_run_not_insn(state, out);                                \
    const jk_pvm_insn *ip = insns + start;                                     \
    bool paid = state->block_paid;                                             \
    state->block_paid = false;                                                 \
    if (!paid) {                                                               \
        if ((int64_t)ip->cost > gas)                                           \
            goto jk_exit_out_of_gas;                                           \
        gas -= ip->cost;                                                       \
    }

#define JK_LOOP_EPILOGUE                                                       \
    jk_exit_panic:                                                             \
    out->status = JK_PVM_PANIC;                                                \
    goto jk_exit;                                                              \
    jk_exit_halt:                                                              \
    out->status = JK_PVM_HALT;                                                 \
    goto jk_exit;                                                              \
    jk_exit_out_of_gas:                                                        \
    out->status = JK_PVM_OUT_OF_GAS;                                           \
    goto jk_exit;                                                              \
    jk_exit_memory:                                                            \
    if (mem_rc == JK_MEM_PANIC)                                                \
        goto jk_exit_panic;                                                    \
    if (mem_rc == JK_MEM_NOMEM) { /* the instruction did not happen */        \
        state->pc = ip->pc;                                                    \
        state->gas = gas;                                                      \
        return JK_ERR_NOMEM;                                                   \
    }                                                                          \
    out->status = JK_PVM_PAGE_FAULT;                                           \
    out->fault_address = fault_address;                                        \
    goto jk_exit;                                                              \
    jk_exit_host_call:                                                         \
    out->status = JK_PVM_HOST_CALL;                                            \
    out->host_call = ip->imm_x;                                                \
    out->host_call_pc = ip->pc;                                                \
    state->block_paid = true;                                                  \
    ip++;                                                                      \
    jk_exit:                                                                   \
    state->pc = ip->pc;                                                        \
    state->gas = gas;                                                          \
    return JK_OK;

static jk_err jk_pvm_run_switch(const jk_pvm_program *prog, jk_pvm_memory *mem,
                                jk_pvm_state *state, jk_pvm_exit *out)
{
    JK_LOOP_PROLOGUE
#define JK_DISPATCH() goto jk_dispatch
#define JK_OP(name) case JK_OPC_##name:
jk_dispatch:
    switch (ip->opcode) {
#include "interp_ops.inc"
    default:
        goto jk_exit_panic; /* not an instruction: behaves as trap */
    }
#undef JK_DISPATCH
#undef JK_OP
    JK_LOOP_EPILOGUE
}

#if defined(__GNUC__)
#define JK_PVM_HAVE_GOTO 1
static jk_err jk_pvm_run_goto(const jk_pvm_program *prog, jk_pvm_memory *mem,
                              jk_pvm_state *state, jk_pvm_exit *out)
{
    /* 256 handler addresses: every byte that is not an instruction panics.
     * The range default is overridden on purpose, hence the pragmas. */
#pragma GCC diagnostic push
#ifdef __clang__
#pragma GCC diagnostic ignored "-Winitializer-overrides"
#else
#pragma GCC diagnostic ignored "-Woverride-init"
#endif
    static const void *const jk_handlers[256] = {
        [0 ... 255] = &&jk_op_invalid,
#define JK_LABEL(op, name, fmt, term) [op] = &&jk_op_##name,
        JK_PVM_OPCODE_TABLE(JK_LABEL)
#undef JK_LABEL
    };
#pragma GCC diagnostic pop
    JK_LOOP_PROLOGUE
#define JK_DISPATCH() goto *jk_handlers[ip->opcode]
#define JK_OP(name) jk_op_##name:
    JK_DISPATCH();
#include "interp_ops.inc"
jk_op_invalid:
    goto jk_exit_panic;
#undef JK_DISPATCH
#undef JK_OP
    JK_LOOP_EPILOGUE
}
#else
#define JK_PVM_HAVE_GOTO 0
#endif

jk_err jk_pvm_run_not_insn(jk_pvm_state *state, jk_pvm_exit *out)
{
    if (state->block_paid)
        return JK_ERR_PVM_BAD_PC;
    if (state->gas < 1) {
        out->status = JK_PVM_OUT_OF_GAS;
        return JK_OK;
    }
    state->gas -= 1;
    out->status = JK_PVM_PANIC;
    return JK_OK;
}

jk_err jk_pvm_run_backend(const jk_pvm_program *prog, jk_pvm_memory *mem,
                          jk_pvm_state *state, jk_pvm_exit *out, int backend)
{
    out->status = JK_PVM_PANIC;
    out->fault_address = 0;
    out->host_call = 0;
    out->host_call_pc = 0;
    if (backend == JK_PVM_BACKEND_JIT && prog->jit)
        return jk_pvm_jit_run(prog, mem, state, out);
#if JK_PVM_HAVE_GOTO
    if (backend == JK_PVM_BACKEND_GOTO)
        return jk_pvm_run_goto(prog, mem, state, out);
#endif
    (void)backend;
    return jk_pvm_run_switch(prog, mem, state, out);
}

jk_err jk_pvm_run(const jk_pvm_program *prog, jk_pvm_memory *mem,
                  jk_pvm_state *state, jk_pvm_exit *out)
{
    return jk_pvm_run_backend(prog, mem, state, out, JK_PVM_BACKEND_GOTO);
}

const char *jk_pvm_status_name(jk_pvm_status status)
{
    switch (status) {
    case JK_PVM_HALT: return "halt";
    case JK_PVM_PANIC: return "panic";
    case JK_PVM_PAGE_FAULT: return "page-fault";
    case JK_PVM_OUT_OF_GAS: return "out-of-gas";
    case JK_PVM_HOST_CALL: return "host-call";
    }
    return "unknown";
}
