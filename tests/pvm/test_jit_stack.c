/*
 * test_jit_stack.c — the recompiler's stack TLB (src/pvm/jit_stack.c)
 * against the interpreter: frames pushed across page boundaries, onto
 * read-only, copy-on-write and unmapped pages, out of gas at every call and
 * return, deep recursion, a stack pointer moved by other instructions than
 * `add_imm_64`, and host calls in the middle that remap the stack's pages.
 * Frames are accessed in groups and one access at a time. Each case runs on
 * both engines and compares everything observable: status,
 * pc, gas, registers, fault address, every page's access and bytes, and the
 * dirty list.
 */
#include "../test.h"
#include "jit_test_util.h"
#include "../../src/pvm/jit.h"

#include <stdlib.h>

/* Recursion f(n) = n + f(n−1), f(0) = 0, with a 24-byte frame per level
 * (return address, n): PUSH stores the frame after `add_imm_64 r1, r1, −24`
 * (then a host call, or not), POP loads it back after the call, before
 * `add_imm_64 r1, r1, 24`. */
#define JK_STACK_PROGRAM(PUSH, POP)                                            \
    ".jump_table ret_main, ret_1\n"                                            \
    "    load_imm_jump r0, jt(ret_main), f\n"                                  \
    "ret_main:\n"                                                              \
    "    load_imm r0, 0xFFFF0000\n"                                            \
    "    jump_ind r0, 0\n"                                                     \
    "f:\n"                                                                     \
    "    branch_eq_imm r7, 0, leaf\n"                                          \
    "    add_imm_64 r1, r1, -24\n"                                             \
    PUSH                                                                       \
    "    add_imm_64 r7, r7, -1\n"                                              \
    "    load_imm_jump r0, jt(ret_1), f\n"                                     \
    "ret_1:\n"                                                                 \
    POP                                                                        \
    "    add_imm_64 r1, r1, 24\n"                                              \
    "    jump_ind r0, 0\n"                                                     \
    "leaf:\n"                                                                  \
    "    jump_ind r0, 0\n"

/* The frame in groups: the stores are one that stores, the loads one that
 * only loads. */
#define JK_GROUP_PUSH "    store_ind_u64 r0, r1, 0\n    store_ind_u64 r7, r1, 8\n"
#define JK_GROUP_POP                                                           \
    "    load_ind_u64 r8, r1, 8\n    add_64 r7, r7, r8\n    load_ind_u64 r0, r1, 0\n"
/* The frame one access at a time (`cmov_iz` may not sit inside a group), of
 * 2, 4 and 8 bytes. */
#define JK_SINGLE_PUSH                                                         \
    "    store_ind_u64 r0, r1, 0\n    cmov_iz r9, r10, r11\n"                   \
    "    store_ind_u32 r7, r1, 8\n    cmov_iz r9, r10, r11\n"                   \
    "    store_imm_ind_u16 r1, 12, 0x5a5a\n"
#define JK_SINGLE_POP                                                          \
    "    load_ind_u32 r8, r1, 8\n    cmov_iz r9, r10, r11\n"                    \
    "    add_64 r7, r7, r8\n    load_ind_i16 r9, r1, 12\n"                      \
    "    cmov_iz r9, r10, r11\n    load_ind_u64 r0, r1, 0\n"
#define JK_HOST_CALL "    store_ind_u64 r7, r1, 16\n    ecalli 1\n"

static const char jk_stack_rec[] = JK_STACK_PROGRAM(JK_GROUP_PUSH JK_HOST_CALL, JK_GROUP_POP);
static const char jk_stack_rec_quiet[] = JK_STACK_PROGRAM(JK_GROUP_PUSH, JK_GROUP_POP);
static const char jk_stack_single[] = JK_STACK_PROGRAM(JK_SINGLE_PUSH JK_HOST_CALL, JK_SINGLE_POP);
static const char jk_stack_single_quiet[] = JK_STACK_PROGRAM(JK_SINGLE_PUSH, JK_SINGLE_POP);

/* A Data cap's page: shared, never written through a mapping. */
static _Alignas(4096) uint8_t jk_stack_shared[4096];

/* The memory maps of the cases, [0x20000, 0x60000): */
enum {
    JK_MAP_RW,        /* all writable */
    JK_MAP_RO_BELOW,  /* writable, but 0x2e000 read-only */
    JK_MAP_COW,       /* 0x2f000 and 0x2e000 copy-on-write Data pages */
    JK_MAP_HOLE,      /* 0x2e000 unmapped */
};

static jk_pvm_memory *jk_stack_memory(int map)
{
    jk_pvm_memory *mem = NULL;
    if (jk_pvm_memory_new(&mem) != JK_OK)
        return NULL;
    /* page by page from the top, so that neighbouring guest pages are not
     * neighbouring host buffers (an access past a page's end would read
     * the wrong bytes, not by chance the right ones) */
    for (uint32_t a = 0x5f000; a >= 0x20000; a -= JK_PVM_PAGE_SIZE)
        jk_pvm_memory_map(mem, a, JK_PVM_PAGE_SIZE, JK_PVM_ACCESS_WRITE);
    if (map == JK_MAP_RO_BELOW)
        jk_pvm_memory_map(mem, 0x2e000, 0x1000, JK_PVM_ACCESS_READ);
    if (map == JK_MAP_COW) {
        jk_pvm_memory_map_shared(mem, 0x2f000, jk_stack_shared, JK_PVM_ACCESS_WRITE);
        jk_pvm_memory_map_shared(mem, 0x2e000, jk_stack_shared, JK_PVM_ACCESS_WRITE);
    }
    if (map == JK_MAP_HOLE)
        jk_pvm_memory_map(mem, 0x2e000, 0x1000, JK_PVM_ACCESS_NONE);
    return mem;
}

/* What a host call does to memory, by the number of host calls so far
 * (the same on both engines): nothing, or to the page of the stack pointer
 * (r1) at the k-th call: make it read-only, swap in a copy-on-write Data
 * page, or unmap it. */
enum { JK_HOST_NOTHING, JK_HOST_READ_ONLY, JK_HOST_SHARE, JK_HOST_UNMAP };

static void jk_stack_host(jk_pvm_memory *mem, const jk_pvm_state *st, int calls, int what, int at)
{
    if (what == JK_HOST_NOTHING || calls != at)
        return;
    uint32_t page = (uint32_t)st->regs[1] & ~(uint32_t)(JK_PVM_PAGE_SIZE - 1);
    if (what == JK_HOST_READ_ONLY)
        jk_pvm_memory_map(mem, page, JK_PVM_PAGE_SIZE, JK_PVM_ACCESS_READ);
    else if (what == JK_HOST_SHARE)
        jk_pvm_memory_map_shared(mem, page, jk_stack_shared, JK_PVM_ACCESS_WRITE);
    else
        jk_pvm_memory_map(mem, page, JK_PVM_PAGE_SIZE, JK_PVM_ACCESS_NONE);
}

typedef struct jk_stack_case {
    int map;
    uint64_t sp, n;
    int64_t gas, step; /* step: more gas on an out-of-gas stop (0: stop there) */
    int host, host_at;
} jk_stack_case;

/* Run prog on both engines and compare everything observable. */
static void jk_stack_both(const jk_pvm_program *prog, const jk_stack_case *k, jk_pvm_state *out, jk_pvm_exit *out_exit)
{
    jk_pvm_memory *mem[2];
    jk_pvm_state st[2];
    jk_pvm_exit ex[2];
    for (int e = 0; e < 2; e++) {
        mem[e] = jk_stack_memory(k->map);
        JK_REQUIRE(mem[e] != NULL);
        memset(&st[e], 0, sizeof st[e]);
        for (int r = 0; r < JK_PVM_REGS; r++)
            st[e].regs[r] = (uint64_t)r * 0x0101010101010101u;
        st[e].regs[1] = k->sp;
        st[e].regs[7] = k->n;
        st[e].gas = k->gas;
        int calls = 0;
        for (int hop = 0; hop < 100000; hop++) {
            JK_REQUIRE(jk_pvm_run_engine(prog, mem[e], &st[e], &ex[e],
                                         e ? JK_PVM_ENGINE_JIT : JK_PVM_ENGINE_INTERP) == JK_OK);
            if (ex[e].status == JK_PVM_HOST_CALL)
                jk_stack_host(mem[e], &st[e], ++calls, k->host, k->host_at);
            else if (ex[e].status == JK_PVM_OUT_OF_GAS && k->step > 0)
                st[e].gas += k->step;
            else
                break;
        }
    }
    JK_CHECK_SAME_STATE(st, ex);
    jk_test_check_same_memory(mem[0], mem[1], 0x1f000, 0x60000);
    jk_pvm_memory_free(mem[0]);
    jk_pvm_memory_free(mem[1]);
    JK_CHECK(jk_stack_shared[8] == 0); /* the Data cap's page is never written */
    if (out)
        *out = st[1];
    if (out_exit)
        *out_exit = ex[1];
}

JK_TEST(test_jit_stack_frames_across_pages_and_kinds)
{
    /* Starting sp at every offset around a page boundary, so that frames
     * (and each group's 16-byte span) straddle 0x2f000 and 0x2e000 at every
     * alignment, onto writable, read-only, copy-on-write and unmapped pages;
     * 200 levels take the stack 4,800 bytes down, across two boundaries. */
    static const int maps[] = {JK_MAP_RW, JK_MAP_RO_BELOW, JK_MAP_COW, JK_MAP_HOLE};
    static const char *const progs[] = {jk_stack_rec, jk_stack_rec_quiet, jk_stack_single,
                                        jk_stack_single_quiet};
    for (int q = 0; q < 4; q++) {
        jk_pvm_program *prog = jk_test_asm_program(progs[q], true);
        JK_REQUIRE(prog != NULL);
        for (size_t m = 0; m < sizeof maps / sizeof maps[0]; m++)
            for (uint64_t sp = 0x2f000 - 40; sp <= 0x2f000 + 40; sp++) {
                jk_stack_case k = {maps[m], sp, 200, 1000000, 0, JK_HOST_NOTHING, 0};
                jk_stack_both(prog, &k, NULL, NULL);
            }
        jk_pvm_program_free(prog);
    }
}

JK_TEST(test_jit_stack_out_of_gas_at_every_call_and_return)
{
    /* Every gas budget up to the whole run's cost: stops at each block of
     * each call and return, once as the end of the run and once resumed
     * with a little more gas (each resumption enters where the stop was,
     * with the stack TLB emptied by the entry). */
    for (int q = 0; q < 2; q++) {
        jk_pvm_program *prog = jk_test_asm_program(q ? jk_stack_single_quiet : jk_stack_rec_quiet, true);
        JK_REQUIRE(prog != NULL);
        for (int64_t gas = 0; gas <= 160; gas++) {
            jk_stack_case stop = {JK_MAP_RW, 0x2f010, 6, gas, 0, JK_HOST_NOTHING, 0};
            jk_stack_both(prog, &stop, NULL, NULL);
            jk_stack_case resumed = {JK_MAP_COW, 0x2f010, 6, gas, 3, JK_HOST_NOTHING, 0};
            jk_stack_both(prog, &resumed, NULL, NULL);
        }
        jk_pvm_program_free(prog);
    }
}

JK_TEST(test_jit_stack_deep_recursion)
{
    /* 5,000 levels: deeper than the predicted returns' host stack (1,024),
     * 120,000 bytes of frames over 30 pages, the last levels on a hole. */
    jk_pvm_program *prog = jk_test_asm_program(jk_stack_rec_quiet, true);
    JK_REQUIRE(prog != NULL);
    jk_stack_case k = {JK_MAP_RW, 0x5fff8, 5000, 10000000, 0, JK_HOST_NOTHING, 0};
    jk_pvm_state st;
    jk_pvm_exit ex;
    jk_stack_both(prog, &k, &st, &ex);
    JK_CHECK_EQ(ex.status, JK_PVM_HALT);
    JK_CHECK_EQ(st.regs[7], 5000u * 5001u / 2);
    jk_stack_case deep = {JK_MAP_RW, 0x3d000, 5000, 10000000, 0, JK_HOST_NOTHING, 0};
    jk_stack_both(prog, &deep, &st, &ex); /* runs below 0x20000: a page fault */
    JK_CHECK_EQ(ex.status, JK_PVM_PAGE_FAULT);
    jk_pvm_program_free(prog);
}

JK_TEST(test_jit_stack_host_calls_remap_the_stack)
{
    /* A host call between the frame's stores and its loads makes the stack
     * pointer's page read-only, swaps in a copy-on-write Data page, or
     * unmaps it: the compiled code must not keep using the page it knew. */
    for (int q = 0; q < 2; q++) {
        jk_pvm_program *prog = jk_test_asm_program(q ? jk_stack_single : jk_stack_rec, true);
        JK_REQUIRE(prog != NULL);
        static const int whats[] = {JK_HOST_READ_ONLY, JK_HOST_SHARE, JK_HOST_UNMAP};
        for (size_t w = 0; w < sizeof whats / sizeof whats[0]; w++)
            for (int at = 1; at <= 12; at++)
                for (uint64_t sp = 0x2f000 + 8; sp <= 0x2f000 + 0x58; sp += 16) {
                    jk_stack_case k = {JK_MAP_RW, sp, 12, 1000000, 0, whats[w], at};
                    jk_stack_both(prog, &k, NULL, NULL);
                }
        jk_pvm_program_free(prog);
    }
}

JK_TEST(test_jit_stack_pointer_moved_by_other_instructions)
{
    /* r1 is the stack pointer (add_imm_64 r1, r1, ±k; the most used base),
     * but also set by move_reg, and_imm, sub_64 and load_imm: each
     * group after such a move must check its own page — writable,
     * read-only (0x2e000: loads pass, stores fault), copy-on-write, and
     * unmapped (the run's end). */
    jk_pvm_program *prog = jk_test_asm_program(
        "    add_imm_64 r1, r1, -16\n"
        "    store_ind_u64 r7, r1, 0\n"
        "    store_ind_u64 r7, r1, 8\n"
        "    move_reg r1, r4\n"               /* r4: 0x2e100, read-only: loads only */
        "    load_ind_u64 r11, r1, 32\n"      /* alone: its walk fills tlb_r */
        "    add_imm_64 r1, r1, 0\n"
        "    load_ind_u64 r8, r1, 0\n"
        "    load_ind_u64 r9, r1, 8\n"
        "    move_reg r1, r2\n"               /* r2: writable (or not, per case) */
        "    store_ind_u64 r7, r1, 0\n"
        "    store_ind_u64 r8, r1, 8\n"
        "    and_imm r1, r1, 0xFFFFFF00\n"
        "    load_ind_u64 r10, r1, 0\n"
        "    store_ind_u64 r10, r1, 16\n"
        "    sub_64 r1, r1, r3\n"             /* r3: 0x100 */
        "    store_ind_u64 r7, r1, 0\n"
        "    store_ind_u64 r7, r1, 8\n"
        "    load_imm r1, 0x2e200\n"          /* read-only: loads, then a store */
        "    load_ind_u64 r8, r1, 0\n"
        "    load_ind_u64 r9, r1, 8\n"
        "    store_ind_u64 r9, r1, 0\n"
        "    trap\n"
        "    add_imm_64 r1, r1, 16\n"        /* never run: r1 moves both ways */
        "    trap\n",
        true);
    JK_REQUIRE(prog != NULL);
    static const int maps[] = {JK_MAP_RO_BELOW, JK_MAP_COW};
    static const uint64_t r2s[] = {0x30ff8, 0x2f100, 0x2e300, 0x2fff9, 0x2d100};
    for (size_t m = 0; m < sizeof maps / sizeof maps[0]; m++)
        for (size_t k = 0; k < sizeof r2s / sizeof r2s[0]; k++) {
            jk_pvm_memory *mem[2];
            jk_pvm_state st[2];
            jk_pvm_exit ex[2];
            for (int e = 0; e < 2; e++) {
                mem[e] = jk_stack_memory(maps[m]);
                JK_REQUIRE(mem[e] != NULL);
                memset(&st[e], 0, sizeof st[e]);
                st[e].regs[1] = 0x2f018;
                st[e].regs[2] = r2s[k];
                st[e].regs[3] = 0x100;
                st[e].regs[4] = 0x2e100; /* not known at compile time */
                st[e].regs[7] = 0x1122334455667788u;
                st[e].gas = 1000;
                JK_REQUIRE(jk_pvm_run_engine(prog, mem[e], &st[e], &ex[e],
                                             e ? JK_PVM_ENGINE_JIT : JK_PVM_ENGINE_INTERP) == JK_OK);
            }
            JK_CHECK_SAME_STATE(st, ex);
            jk_test_check_same_memory(mem[0], mem[1], 0x2c000, 0x31000);
            jk_pvm_memory_free(mem[0]);
            jk_pvm_memory_free(mem[1]);
        }
    jk_pvm_program_free(prog);
}

/* The cases above again with the host's call/ret predicting the returns:
 * programs with few call sites return directly by default (session 10,
 * jit_ctl.c), and both ways must give the interpreter's results. */
JK_TEST(test_jit_stack_cases_with_predicted_returns)
{
    unsigned keep = jk_pvm_jit_direct_max;
    jk_pvm_jit_direct_max = 0;
    test_jit_stack_frames_across_pages_and_kinds();
    test_jit_stack_out_of_gas_at_every_call_and_return();
    test_jit_stack_deep_recursion();
    test_jit_stack_host_calls_remap_the_stack();
    test_jit_stack_pointer_moved_by_other_instructions();
    jk_pvm_jit_direct_max = keep;
}
