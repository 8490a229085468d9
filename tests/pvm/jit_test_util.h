/*
 * jit_test_util.h — what the recompiler's tests share: a program from
 * assembly source, loaded (and, where asked, required to be compiled).
 */
#ifndef JK_TEST_JIT_UTIL_H
#define JK_TEST_JIT_UTIL_H

#include "../test.h"
#include "jark/pvm.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Assemble src and load it; NULL (with the reason printed) when either
 * fails, or when compiled is true, the recompiler exists here and the
 * program was not compiled. The caller frees the program. */
static inline jk_pvm_program *jk_test_asm_program(const char *src, bool compiled)
{
    uint8_t *blob = NULL;
    size_t len = 0;
    jk_diag diag = {{0}};
    jk_pvm_program *prog = NULL;
    if (jk_pvm_asm(src, strlen(src), &blob, &len, &diag) != JK_OK) {
        printf("asm: %s\n", diag.msg);
        return NULL;
    }
    if (jk_pvm_program_load(blob, len, &prog, &diag) != JK_OK)
        printf("load: %s\n", diag.msg);
    free(blob);
#if JK_PVM_HAVE_JIT
    if (compiled && prog && !jk_pvm_program_jitted(prog)) {
        printf("not compiled\n");
        jk_pvm_program_free(prog);
        return NULL;
    }
#else
    (void)compiled;
#endif
    return prog;
}

/* Run prog on `engine` from *st until it ends: a host call is served
 * (r7 += 1000) and an out-of-gas stop given 97 more gas, at most `hops`
 * times. false when the run itself failed (the reason is reported). */
static inline bool jk_test_run_served(const jk_pvm_program *prog, jk_pvm_memory *mem,
                                      jk_pvm_state *st, jk_pvm_exit *ex, jk_pvm_engine engine,
                                      int hops)
{
    for (int hop = 0; hop < hops; hop++) {
        if (jk_pvm_run_engine(prog, mem, st, ex, engine) != JK_OK) {
            jk_test_fail(__FILE__, __LINE__, "jk_pvm_run_engine failed");
            return false;
        }
        if (ex->status == JK_PVM_HOST_CALL)
            st->regs[7] += 1000;
        else if (ex->status == JK_PVM_OUT_OF_GAS)
            st->gas += 97;
        else
            break;
    }
    return true;
}

/* The interpreter's run [0] and the recompiler's [1] agree on status,
 * fault address, pc, gas and registers. */
#define JK_CHECK_SAME_STATE(st, ex)                                            \
    do {                                                                       \
        JK_CHECK_EQ((ex)[0].status, (ex)[1].status);                           \
        JK_CHECK_EQ((ex)[0].fault_address, (ex)[1].fault_address);             \
        JK_CHECK_EQ((st)[0].pc, (st)[1].pc);                                   \
        JK_CHECK_EQ((st)[0].gas, (st)[1].gas);                                 \
        for (int jk_r_ = 0; jk_r_ < JK_PVM_REGS; jk_r_++)                      \
            JK_CHECK_EQ((st)[0].regs[jk_r_], (st)[1].regs[jk_r_]);             \
    } while (0)

/* ... and on the stack bytes each read back. */
#define JK_CHECK_SAME_RUNS(st, ex, stack)                                      \
    do {                                                                       \
        JK_CHECK_SAME_STATE(st, ex);                                           \
        JK_CHECK(memcmp((stack)[0], (stack)[1], sizeof(stack)[0]) == 0);       \
    } while (0)

/* Run prog on both engines in lockstep from st[0] (interpreter) and st[1]
 * (recompiler) until either stops other than out of gas (at most `hops`
 * runs), giving each `step` more gas at every out-of-gas stop and
 * comparing every stop whole (JK_CHECK_SAME_STATE). */
#define JK_TEST_LOCKSTEP(prog, mem, st, ex, step, hops)                                           \
    do {                                                                                          \
        for (int jk_hop_ = 0; jk_hop_ < (hops); jk_hop_++) {                                      \
            for (int jk_e_ = 0; jk_e_ < 2; jk_e_++)                                               \
                JK_REQUIRE(jk_pvm_run_engine((prog), (mem)[jk_e_], &(st)[jk_e_], &(ex)[jk_e_],    \
                                             jk_e_ ? JK_PVM_ENGINE_JIT : JK_PVM_ENGINE_INTERP) ==  \
                           JK_OK);                                                                \
            JK_CHECK_SAME_STATE(st, ex);                                                          \
            if ((ex)[0].status != JK_PVM_OUT_OF_GAS || (ex)[1].status != JK_PVM_OUT_OF_GAS)        \
                break;                                                                            \
            (st)[0].gas += (step);                                                                \
            (st)[1].gas += (step);                                                                \
        }                                                                                         \
    } while (0)

/* Two memories agree on every page from lo to hi (page addresses, both
 * included) — access, whether mapped, bytes — and on the dirty list. */
static inline void jk_test_check_same_memory(jk_pvm_memory *m0, jk_pvm_memory *m1, uint32_t lo, uint32_t hi)
{
    for (uint64_t a = lo; a <= hi; a += JK_PVM_PAGE_SIZE) {
        JK_CHECK_EQ(jk_pvm_memory_access_at(m0, (uint32_t)a), jk_pvm_memory_access_at(m1, (uint32_t)a));
        const uint8_t *p0 = jk_pvm_memory_page(m0, (uint32_t)a), *p1 = jk_pvm_memory_page(m1, (uint32_t)a);
        JK_CHECK_EQ(p0 == NULL, p1 == NULL);
        if (p0 && p1)
            JK_CHECK(memcmp(p0, p1, JK_PVM_PAGE_SIZE) == 0);
    }
    const uint32_t *d0, *d1;
    size_t n0, n1;
    jk_pvm_memory_dirty_pages(m0, &d0, &n0);
    jk_pvm_memory_dirty_pages(m1, &d1, &n1);
    JK_CHECK_EQ(n0, n1);
    if (n0 == n1 && n0)
        JK_CHECK(memcmp(d0, d1, n0 * sizeof *d0) == 0);
}

/* Registers a test does not set: (r + 1) · 0x0102030405060708, each
 * distinct, so a register read or written in the wrong place shows. */
static inline void jk_test_pattern_regs(uint64_t regs[JK_PVM_REGS])
{
    for (int r = 0; r < JK_PVM_REGS; r++)
        regs[r] = (uint64_t)(r + 1) * 0x0102030405060708u;
}

/* The start of a two-engine run, the same on both sides. */
typedef struct jk_test_lockstep {
    jk_pvm_memory *(*memory)(int layout); /* builds each side's memory (NULL: could not) */
    int layout;                           /* handed to memory: the test's choice of layout */
    uint64_t regs[JK_PVM_REGS];
    uint32_t pc;
    int64_t gas;  /* at first */
    int64_t step; /* more at each out-of-gas stop */
    int hops;     /* at most this many runs */
    uint32_t pages[2][2]; /* page ranges [lo, hi] compared at the end; hi 0: unused */
} jk_test_lockstep;

/* Run prog on both engines in lockstep from `run` (JK_TEST_LOCKSTEP: every
 * stop compared whole), then compare the two memories over run->pages and
 * free them. The interpreter's last exit in *last (NULL: not wanted; zeroed
 * first, in case the run cannot be set up — that failure is reported). */
static inline void jk_test_lockstep_run(const jk_pvm_program *prog, const jk_test_lockstep *run, jk_pvm_exit *last)
{
    jk_pvm_memory *mem[2];
    jk_pvm_state st[2];
    jk_pvm_exit ex[2];
    if (last)
        memset(last, 0, sizeof *last);
    for (int e = 0; e < 2; e++) {
        mem[e] = run->memory(run->layout);
        JK_REQUIRE(mem[e] != NULL);
        memset(&st[e], 0, sizeof st[e]);
        memcpy(st[e].regs, run->regs, sizeof st[e].regs);
        st[e].pc = run->pc;
        st[e].gas = run->gas;
    }
    JK_TEST_LOCKSTEP(prog, mem, st, ex, run->step, run->hops);
    if (last)
        *last = ex[0];
    for (int i = 0; i < 2; i++)
        if (run->pages[i][1])
            jk_test_check_same_memory(mem[0], mem[1], run->pages[i][0], run->pages[i][1]);
    jk_pvm_memory_free(mem[0]);
    jk_pvm_memory_free(mem[1]);
}

/* The marking loop of bench/pvm/sieve.s inside a pass over steps: r10 = the
 * array (x), r12 = j (p), r8 = the step, r9 = the end; each pass starts at
 * j = r1 and marks with its number, r4 (test_jit_loop_wide.c,
 * test_jit_loop_runs.c: what follows `next` picks the pass's step). */
#define JK_TEST_SIEVE_PASS_ASM                                                 \
    "pass:\n"                                                                  \
    "  move_reg r12, r1\n"                                                     \
    "  branch_ge_u r12, r9, next\n"                                            \
    "mark:\n"                                                                  \
    "  add_64 r11, r10, r12\n"                                                 \
    "  store_ind_u8 r4, r11, 0\n"                                              \
    "  add_64 r12, r12, r8\n"                                                  \
    "  branch_lt_u r12, r9, mark\n"                                            \
    "next:\n"                                                                  \
    "  add_imm_64 r4, r4, 1\n"
/* The asm `copy` loop, as bench/pvm/copy.s copies (32 bytes a step, two
 * load pairs then their two store pairs): r1 = the source cursor, r3 = the
 * destination cursor, r4 = the steps left; halts at the end. */
#define JK_TEST_COPY32_ASM                                                     \
    "start:\n"                                                                 \
    "  fallthrough\n"                                                          \
    "copy:\n"                                                                  \
    "  load_ind_u64 r5, r1, 0\n"                                               \
    "  load_ind_u64 r6, r1, 8\n"                                               \
    "  load_ind_u64 r7, r1, 16\n"                                              \
    "  load_ind_u64 r8, r1, 24\n"                                              \
    "  store_ind_u64 r5, r3, 0\n"                                              \
    "  store_ind_u64 r6, r3, 8\n"                                              \
    "  store_ind_u64 r7, r3, 16\n"                                             \
    "  store_ind_u64 r8, r3, 24\n"                                             \
    "  add_imm_64 r1, r1, 32\n"                                                \
    "  add_imm_64 r3, r3, 32\n"                                                \
    "  add_imm_64 r4, r4, -1\n"                                                \
    "  branch_ne_imm r4, 0, copy\n"                                            \
    "  load_imm r0, 0xffff0000\n"                                              \
    "  jump_ind r0, 0\n"

/* Run prog from pc and regs with `gas` on both engines over a memory with
 * `rw` bytes writable at 0x20000 and a read-only page at 0x30000; a host
 * call adds 100 to r8, an out-of-gas stop gets `step` more (0: the run
 * ends there), at most `hops` stops. Compares the state and the pages from
 * 0x20000 to 0x30000. */
static inline void jk_test_both_pages(const jk_pvm_program *prog, uint32_t pc, const uint64_t *regs, int64_t gas,
                                      int64_t step, uint32_t rw, int hops)
{
    jk_pvm_state st[2];
    jk_pvm_exit ex[2];
    jk_pvm_memory *mem[2] = {NULL, NULL};
    for (int e = 0; e < 2; e++) {
        memset(&st[e], 0, sizeof st[e]);
        memcpy(st[e].regs, regs, sizeof st[e].regs);
        st[e].gas = gas;
        st[e].pc = pc;
        JK_REQUIRE(jk_pvm_memory_new(&mem[e]) == JK_OK);
        JK_REQUIRE(jk_pvm_memory_map(mem[e], 0x20000, rw, JK_PVM_ACCESS_WRITE) == JK_OK);
        JK_REQUIRE(jk_pvm_memory_map(mem[e], 0x30000, 4096, JK_PVM_ACCESS_READ) == JK_OK);
        for (int hop = 0; hop < hops; hop++) {
            JK_REQUIRE(jk_pvm_run_engine(prog, mem[e], &st[e], &ex[e], e ? JK_PVM_ENGINE_JIT : JK_PVM_ENGINE_INTERP) ==
                       JK_OK);
            if (ex[e].status == JK_PVM_HOST_CALL)
                st[e].regs[8] += 100;
            else if (ex[e].status == JK_PVM_OUT_OF_GAS && step > 0)
                st[e].gas += step;
            else
                break;
        }
    }
    JK_CHECK_SAME_STATE(st, ex);
    jk_test_check_same_memory(mem[0], mem[1], 0x20000, 0x30000);
    jk_pvm_memory_free(mem[0]);
    jk_pvm_memory_free(mem[1]);
}

#endif
