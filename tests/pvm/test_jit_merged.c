/*
 * test_jit_merged.c — session 13 (docs/pvm.md, "Calls in compiled code,
 * session 13"): blocks whose gas another block pays (precharged jumps and
 * calls, precharged branches, precharged fallthroughs), calls via a
 * pointer, direct returns and guarded bases, combined. fib12's fuzz
 * finding was a combination: a precharged branch landing past the
 * prologue of a block that a later plan made pay for its fallthrough's
 * successor too, so nothing paid for that successor. Each case runs on
 * both engines and compares status, pc, gas, registers, fault address
 * and memory.
 */
#include "jit_test_util.h"
#include "../../src/pvm/jit.h"
#include "../../src/pvm/jit_plan.h"

#include <stdint.h>

/* b0 ends in a branch to d that its prologue pays for (a precharged
 * branch: b0 is no branch's target and f only its fallthrough); d falls
 * through into e, which nothing else enters. A run through b0's taken
 * branch lands past d's prologue: d must not pay for e as well (fib12
 * charged cost(e) nowhere on that path). j's jump to d2, which falls
 * into e2, pays for d2 and e2 (the jumps' plan counts d2's precharge). */
static const char jk_merged_src[] =
    "    branch_ne_imm r10, 0, j\n"
    "b0:\n"
    "    add_imm_64 r8, r8, 1\n"
    "    branch_ne_imm r7, 0, d\n"
    "f:\n"
    "    add_imm_64 r8, r8, 2\n"
    "    load_imm r2, 0xFFFF0000\n"
    "    jump_ind r2, 0\n"
    "d:\n"
    "    add_imm_64 r9, r9, 1\n"
    "    store_ind_u64 r9, r1, 0\n"
    "    fallthrough\n"
    "e:\n"
    "    add_imm_64 r9, r9, 2\n"
    "    add_imm_64 r9, r9, 3\n"
    "    trap\n"
    "j:\n"
    "    add_imm_64 r8, r8, 5\n"
    "    jump d2\n"
    "d2:\n"
    "    add_imm_64 r9, r9, 7\n"
    "    store_ind_u64 r9, r1, 0\n"
    "    fallthrough\n"
    "e2:\n"
    "    add_imm_64 r9, r9, 11\n"
    "    load_imm r2, 0xFFFF0000\n"
    "    jump_ind r2, 0\n";

static void jk_merged_both(const jk_pvm_program *prog, uint32_t pc, const uint64_t *regs, int64_t gas, int64_t step)
{
    jk_test_both_pages(prog, pc, regs, gas, step, 0x1000, 200);
}

/* Fails on fib12's build (f1d37a1 reverted by 3fee2a6): the recompiler
 * leaves 3 more gas (e's cost) on every run through b0's taken branch,
 * and pre[] shows d paying for e. */
JK_TEST(test_jit_fallthrough_into_a_precharged_branch_target_is_the_interpreters)
{
    jk_pvm_program *prog = jk_test_asm_program(jk_merged_src, true);
    JK_REQUIRE(prog != NULL);
#if JK_PVM_HAVE_JIT
    /* b0 (instructions 1–2) pays for d (3 instructions); d (6–8) pays
     * for nothing; j (12–13) pays for d2 and e2, d2 (14–16) for e2 */
    const uint32_t *pre = prog->jit->pre;
    JK_REQUIRE(pre != NULL);
    JK_CHECK_EQ(pre[1], 3);
    JK_CHECK_EQ(pre[6], 0);
    JK_CHECK_EQ(pre[8], 0);
    JK_CHECK_EQ(pre[12], 6);
    JK_CHECK_EQ(pre[14], 3);
    JK_CHECK_EQ(pre[16], 3);
#endif
    /* the store in d: writable, read-only, unmapped, below 64 KiB */
    static const uint64_t sps[] = {0x20800, 0x30800, 0x40800, 0x800};
    uint64_t regs[JK_PVM_REGS];
    for (size_t s = 0; s < sizeof sps / sizeof sps[0]; s++)
        for (uint64_t r10 = 0; r10 < 2; r10++)
            for (uint64_t r7 = 0; r7 < 2; r7++) {
                memset(regs, 0, sizeof regs);
                regs[1] = sps[s];
                regs[7] = r7;
                regs[10] = r10;
                for (int64_t gas = -1; gas < 20; gas++) {
                    jk_merged_both(prog, 0, regs, gas, 0);
                    jk_merged_both(prog, 0, regs, gas, 1);
                    jk_merged_both(prog, 0, regs, gas, 2);
                }
                for (uint32_t pc = 0; pc < 64; pc++)
                    for (int64_t gas = 0; gas < 12; gas++) {
                        jk_merged_both(prog, pc, regs, gas, 0);
                        jk_merged_both(prog, pc, regs, gas, 1);
                    }
            }
    jk_pvm_program_free(prog);
}

/* A strided loop of two blocks (jit_loop.c) whose second block, the back
 * edge, is the branch alone: b1 stores through r1 and counts r7 down, its
 * branch stays in the loop by going to b2, and b2's branch goes back to
 * b1. The first block's branch enters b2 from outside, where b2's
 * prologue must charge it. The loop's compiler set label[] of the back
 * edge past that prologue, which for a one-instruction block is the
 * block's own label: every branch to b2 ran it for free. Fails on main
 * before session 13 (1c240ac) and on fib12: the recompiler leaves 1 more
 * gas (b2's cost) from pc 0, or stops at b1 where the interpreter stops
 * at b2; found by test_jit_call_and_precharge_forms_mixed (seed 516). */
JK_TEST(test_jit_two_block_loop_whose_back_edge_is_alone_is_the_interpreters)
{
    jk_pvm_program *prog = jk_test_asm_program("    branch_lt_u_imm r8, 40, b2\n"
                                               "    trap\n"
                                               "b1:\n"
                                               "    store_ind_u64 r8, r1, 16\n"
                                               "    add_imm_64 r7, r7, -1\n"
                                               "    branch_lt_u_imm r8, 40, b2\n"
                                               "    trap\n"
                                               "b2:\n"
                                               "    branch_ne_imm r7, 0, b1\n"
                                               "    load_imm r2, 0xFFFF0000\n"
                                               "    jump_ind r2, 0\n",
                                               true);
    JK_REQUIRE(prog != NULL);
    static const uint64_t sps[] = {0x20800, 0x30800, 0x40800};
    uint64_t regs[JK_PVM_REGS] = {0};
    for (size_t s = 0; s < sizeof sps / sizeof sps[0]; s++)
        for (uint64_t r7 = 1; r7 < 6; r7 += 2) {
            regs[1] = sps[s];
            regs[7] = r7;
            for (int64_t gas = 0; gas < 30; gas++) {
                jk_merged_both(prog, 0, regs, gas, 0);
                jk_merged_both(prog, 0, regs, gas, 1);
                jk_merged_both(prog, 0, regs, gas, 3);
            }
            for (uint32_t pc = 0; pc < 24; pc++)
                for (int64_t gas = 0; gas < 10; gas++)
                    jk_merged_both(prog, pc, regs, gas, 2);
        }
    jk_pvm_program_free(prog);
}

/* ---- random programs of the call and precharge forms ---- */

typedef struct jk_mix {
    uint64_t x;
    char *src;
    size_t len, cap;
    bool more; /* the second flavour's forms too (below) */
} jk_mix;

static uint32_t jk_mix_next(jk_mix *m, uint32_t bound)
{
    m->x ^= m->x << 13, m->x ^= m->x >> 7, m->x ^= m->x << 17;
    return (uint32_t)(m->x % bound);
}

static void jk_mix_put(jk_mix *m, const char *fmt, unsigned a, unsigned b)
{
    int w = snprintf(m->src + m->len, m->cap - m->len, fmt, a, b);
    if (w > 0 && (size_t)w < m->cap - m->len)
        m->len += (size_t)w;
}

/* `line` with %s replaced by block t's label (bt, or h for t = n); a
 * %%u before it takes a (for a call's return label). */
static void jk_mix_to(jk_mix *m, const char *line, uint32_t t, uint32_t n, unsigned a)
{
    char fmt[96];
    snprintf(fmt, sizeof fmt, line, t < n ? "b%u" : "h");
    if (a == UINT32_MAX)
        jk_mix_put(m, fmt, t, 0);
    else
        jk_mix_put(m, fmt, a, t);
}

#define JK_MIX_MAX_BLOCKS 8

static void jk_mix_body(jk_mix *m, uint32_t n, const uint8_t *in_table)
{
    switch (jk_mix_next(m, m->more ? 14 : 10)) {
    case 0: jk_mix_put(m, "    add_imm_64 r7, r7, -1\n", 0, 0); break;
    case 1: jk_mix_put(m, "    store_ind_u64 r8, r1, %u\n", 8 * jk_mix_next(m, 3), 0); break;
    case 2: jk_mix_put(m, "    load_ind_u64 r9, r1, %u\n", 8 * jk_mix_next(m, 3), 0); break;
    case 3: jk_mix_put(m, "    ecalli %u\n", jk_mix_next(m, 4), 0); break;
    case 4: jk_mix_put(m, "    load_imm r5, %u\n", 0x20100 + 0xF80 * jk_mix_next(m, 2), 0); break;
    case 5: jk_mix_put(m, "    load_ind_u64 r10, r5, %u\n    add_64 r8, r8, r10\n", 8 * jk_mix_next(m, 3), 0); break;
    case 6: jk_mix_put(m, "    add_imm_64 r5, r5, %u\n", 0x1000 * jk_mix_next(m, 2) + 8, 0); break;
    case 7:
    case 12: { /* a table address into r3 (the calls' pointer), or into r0 (calls with A = B) */
        uint32_t t = jk_mix_next(m, n + 1);
        bool r0 = m->more && jk_mix_next(m, 2);
        if (in_table[t])
            jk_mix_to(m, r0 ? "    load_imm r0, jt(%s)\n" : "    load_imm r3, jt(%s)\n", t, n, UINT32_MAX);
        break;
    }
    case 8: jk_mix_put(m, "    add_imm_64 r0, r0, %u\n", 1 + jk_mix_next(m, 4), 0); break;
    case 10: jk_mix_put(m, jk_mix_next(m, 2) ? "    add_imm_64 r1, r1, 8\n" : "    add_imm_64 r1, r1, -8\n", 0, 0); break;
    case 11: jk_mix_put(m, "    store_ind_u64 r8, r4, 0\n    add_imm_64 r4, r4, 8\n", 0, 0); break;
    case 13: jk_mix_put(m, "    sbrk r11, r12\n", 0, 0); break;
    default: jk_mix_put(m, "    add_imm_64 r8, r8, %u\n", 1 + jk_mix_next(m, 7), 0); break;
    }
}

/* A program of 3–8 blocks b0.. and a halting block h. Every block after
 * a call is in the jump table (a call's return address), and so are up
 * to two others, any of them, so djumps, calls via a pointer and a run's
 * start land on any block, merged or not. Bodies: counting (r7 steers the
 * branches), a store or a load through r1 (the run's r1 may fault), a
 * host call, `load_imm r5, K` and loads through r5 (guarded bases after
 * a call when K's block calls), r5 moved, r3 set to a table address (the
 * calls via a pointer go through r3), r0 moved (a return elsewhere than
 * its call site: another landing, an odd address, a block). Terminators:
 * fallthrough, three kinds of conditional branch, jump, static call, call
 * via a pointer, return through r0, trap. The second flavour (`more`)
 * adds r1 moved (the stack pointer: the frame copy, jit_stack.c), a
 * cursor r4 stored through and stepped, bounded by r6 (strided loops,
 * jit_loop.c, one-block ones among them), r0 set to a table address,
 * sbrk, calls through r0 itself (A = B) and with an immediate, and a
 * djump through r3. */
static void jk_mix_program(jk_mix *m)
{
    uint32_t n = 3 + jk_mix_next(m, JK_MIX_MAX_BLOCKS - 2);
    uint32_t term[JK_MIX_MAX_BLOCKS], target[JK_MIX_MAX_BLOCKS];
    uint8_t in_table[JK_MIX_MAX_BLOCKS + 1] = {0};
    for (uint32_t i = 0; i < n; i++) {
        term[i] = jk_mix_next(m, m->more ? 13 : 9);
        target[i] = jk_mix_next(m, n + 1); /* n: the halting block */
        bool call = term[i] == 5 || term[i] == 6 || term[i] == 10 || term[i] == 11;
        if (call && i + 1 < n)
            in_table[i + 1] = 1; /* a call's return address */
        else if (call)
            term[i] = 0;
    }
    for (uint32_t k = jk_mix_next(m, 3); k-- > 0;)
        in_table[jk_mix_next(m, n + 1)] = 1;
    in_table[0] = 1; /* r3's default (below) and the guard's table address */
    m->len = 0;
    jk_mix_put(m, ".jump_table b0", 0, 0);
    for (uint32_t i = 1; i <= n; i++)
        if (in_table[i])
            jk_mix_put(m, i < n ? ", b%u" : ", h", i, 0);
    jk_mix_put(m, "\n", 0, 0);
    for (uint32_t i = 0; i < n; i++) {
        jk_mix_put(m, "b%u:\n", i, 0);
        for (uint32_t k = jk_mix_next(m, 4); k-- > 0;)
            jk_mix_body(m, n, in_table);
        uint32_t t = target[i];
        switch (term[i]) {
        case 0: jk_mix_put(m, "    fallthrough\n", 0, 0); break;
        case 1: jk_mix_to(m, "    branch_ne_imm r7, 0, %s\n", t, n, UINT32_MAX); break;
        case 2: jk_mix_to(m, "    branch_eq_imm r7, 2, %s\n", t, n, UINT32_MAX); break;
        case 3: jk_mix_to(m, "    branch_lt_u_imm r8, 40, %s\n", t, n, UINT32_MAX); break;
        case 4: jk_mix_to(m, "    jump %s\n", t, n, UINT32_MAX); break;
        case 5: jk_mix_to(m, "    load_imm_jump r0, jt(b%%u), %s\n", t, n, i + 1); break;
        case 6: jk_mix_put(m, "    load_imm_jump_ind r0, r3, jt(b%u), 0\n", i + 1, 0); break;
        case 7: jk_mix_put(m, "    jump_ind r0, 0\n", 0, 0); break;
        case 9: /* a strided loop: to itself or elsewhere */
            jk_mix_put(m, "    store_ind_u64 r8, r4, 0\n    add_imm_64 r4, r4, 8\n", 0, 0);
            jk_mix_to(m, "    branch_lt_u r4, r6, %s\n", jk_mix_next(m, 2) ? i : t, n, UINT32_MAX);
            break;
        case 10: jk_mix_put(m, "    load_imm_jump_ind r0, r0, jt(b%u), 0\n", i + 1, 0); break;
        case 11: jk_mix_put(m, "    load_imm_jump_ind r0, r3, jt(b%u), 16\n", i + 1, 0); break;
        case 12: jk_mix_put(m, "    jump_ind r3, 0\n", 0, 0); break;
        default: jk_mix_put(m, "    trap\n", 0, 0); break;
        }
    }
    jk_mix_put(m, "h:\n    load_imm r2, 0xFFFF0000\n    jump_ind r2, 0\n", 0, 0);
}

/* The programs of seeds from..to, each with direct returns and with
 * predicted ones, from every pc (most are no instruction start), every
 * small budget, stopped and resumed. r1: a writable stack, the read-only
 * page or unmapped; r3: b0's table address, or an odd one (with `more`
 * also with bit 32 set); r0: the halt address; r4: a cursor on the
 * writable page whose bound r6 lies in it, at its end or past it (no heap
 * is set up: sbrk returns 0). A program that the assembler refuses is
 * skipped. */
static void jk_mix_runs(uint64_t from, uint64_t to, bool more)
{
    char src[4096];
    jk_mix m = {0, src, 0, sizeof src, more};
    unsigned keep = jk_pvm_jit_direct_max;
    unsigned compiled = 0;
    for (uint64_t seed = from; seed < to; seed++) {
        m.x = seed * 0x9E3779B97F4A7C15u | 1;
        jk_mix_program(&m);
        uint64_t regs[JK_PVM_REGS] = {0};
        static const uint64_t sps[] = {0x20800, 0x30800, 0x40800};
        static const uint64_t bounds[] = {0x20180, 0x21000, 0x21100};
        regs[0] = 0xFFFF0000u;
        regs[1] = sps[seed % 3];
        regs[3] = (seed & 4 ? 3 : 2) + (more && (seed & 8) ? UINT64_C(1) << 32 : 0);
        regs[4] = 0x20100;
        regs[6] = bounds[seed / 3 % 3];
        regs[7] = 1 + seed % 4;
        regs[12] = 4096;
        for (int pass = 0; pass < 2; pass++) {
            jk_pvm_jit_direct_max = pass ? 0 : keep;
            uint8_t *blob = NULL;
            size_t len = 0;
            jk_diag diag = {{0}};
            jk_pvm_program *prog = NULL;
            if (jk_pvm_asm(src, m.len, &blob, &len, &diag) == JK_OK)
                (void)jk_pvm_program_load(blob, len, &prog, &diag);
            free(blob);
            if (!prog)
                continue;
            compiled += jk_pvm_program_jitted(prog);
            int failed = jk_test_failures();
            for (int64_t gas = 0; gas < 40; gas++) {
                jk_test_both_pages(prog, 0, regs, gas, 0, 0x1000, 1);
                jk_test_both_pages(prog, 0, regs, gas, 1 + gas % 3, 0x1000, 60);
            }
            for (uint32_t pc = 0; pc < 80; pc++) {
                jk_test_both_pages(prog, pc, regs, 60, 0, 0x1000, 4);
                jk_test_both_pages(prog, pc, regs, pc % 9, 2, 0x1000, 40);
            }
            jk_pvm_program_free(prog);
            if (jk_test_failures() > failed) { /* the first program that differs, to read */
                printf("seed %" PRIu64 ", %s returns, r1 %#" PRIx64 " r3 %#" PRIx64 " r6 %#" PRIx64 " r7 %" PRIu64
                       ":\n%s",
                       seed, pass ? "predicted" : "direct", regs[1], regs[3], regs[6], regs[7], src);
                jk_pvm_jit_direct_max = keep;
                return;
            }
        }
    }
    jk_pvm_jit_direct_max = keep;
#if JK_PVM_HAVE_JIT
    JK_CHECK(compiled > (to - from)); /* most programs load and compile */
#endif
}

/* Fails on fib12's build: several of these programs have the fuzz
 * finding's shape (a precharged branch to a block falling through). */
JK_TEST(test_jit_call_and_precharge_forms_mixed_are_the_interpreters)
{
    unsigned long refused = jk_pvm_jit_plan_refused;
    jk_mix_runs(1, 1001, false);
    JK_CHECK_EQ(jk_pvm_jit_plan_refused, refused); /* every plan passed its check (jit_plan.c) */
}

/* The second flavour: the frame copy, strided loops, calls through r0
 * and with an immediate, addresses with bit 32 set. */
JK_TEST(test_jit_call_loop_and_frame_forms_mixed_are_the_interpreters)
{
    unsigned long refused = jk_pvm_jit_plan_refused;
    jk_mix_runs(1, 1001, true);
    JK_CHECK_EQ(jk_pvm_jit_plan_refused, refused);
}

/* ---- guarded known bases (jit_group.c): the guard failing at one round ---- */

/* Four rounds of: r5 = K, a static call of g, then at the landing a group
 * through r5 (a load and a store 8 bytes on: the TLB for writing). g
 * moves r5 by r6 only in round r11 (r7 counts 4, 3, 2, 1), its host
 * call, in round r12, changes K's page to `access`, and it reads through
 * r5 after that (the page is in the TLB for reading at the landing). Both engines serve the
 * host call alike; an out-of-gas stop gets `step` more. */
static void jk_guard_round_run(const jk_pvm_program *prog, uint64_t r6, uint64_t r11, uint64_t r12,
                               jk_pvm_access access, int64_t gas, int64_t step)
{
    jk_pvm_state st[2];
    jk_pvm_exit ex[2];
    jk_pvm_memory *mem[2] = {NULL, NULL};
    for (int e = 0; e < 2; e++) {
        memset(&st[e], 0, sizeof st[e]);
        st[e].regs[6] = r6;
        st[e].regs[11] = r11;
        st[e].regs[12] = r12;
        st[e].gas = gas;
        JK_REQUIRE(jk_pvm_memory_new(&mem[e]) == JK_OK);
        JK_REQUIRE(jk_pvm_memory_map(mem[e], 0x20000, 0x2000, JK_PVM_ACCESS_WRITE) == JK_OK);
        for (int hop = 0; hop < 200; hop++) {
            JK_REQUIRE(jk_pvm_run_engine(prog, mem[e], &st[e], &ex[e], e ? JK_PVM_ENGINE_JIT : JK_PVM_ENGINE_INTERP) ==
                       JK_OK);
            if (ex[e].status == JK_PVM_HOST_CALL) {
                if (st[e].regs[7] == r12)
                    JK_REQUIRE(jk_pvm_memory_map(mem[e], 0x20000, 0x1000, access) == JK_OK);
            } else if (ex[e].status == JK_PVM_OUT_OF_GAS && step > 0) {
                st[e].gas += step;
            } else {
                break;
            }
        }
    }
    JK_CHECK_SAME_STATE(st, ex);
    jk_test_check_same_memory(mem[0], mem[1], 0x20000, 0x22000);
    jk_pvm_memory_free(mem[0]);
    jk_pvm_memory_free(mem[1]);
}

/* Passes on fib12 too (its guard was right); fails with the guard's
 * register compare left out (round r11's landing reads K, not K + r6),
 * and with the group's TLB check made for reading (a store after the
 * page became read-only succeeds). */
JK_TEST(test_jit_guarded_base_failing_at_one_round_is_the_interpreters)
{
    jk_pvm_program *prog = jk_test_asm_program(".jump_table ret1, g\n"
                                               "    load_imm r7, 4\n"
                                               "    fallthrough\n"
                                               "top:\n"
                                               "    load_imm r5, 0x20100\n"
                                               "    load_imm_jump r0, jt(ret1), g\n"
                                               "ret1:\n"
                                               "    load_ind_u64 r8, r5, 0\n"
                                               "    add_imm_64 r8, r8, 1\n"
                                               "    store_ind_u64 r8, r5, 8\n"
                                               "    add_imm_64 r7, r7, -1\n"
                                               "    branch_ne_imm r7, 0, top\n"
                                               "    load_imm r0, 0xFFFF0000\n"
                                               "    jump_ind r0, 0\n"
                                               "g:\n"
                                               "    branch_ne r7, r11, keep\n"
                                               "    add_64 r5, r5, r6\n"
                                               "    fallthrough\n"
                                               "keep:\n"
                                               "    ecalli 1\n"
                                               "    load_ind_u64 r10, r5, 16\n"
                                               "    jump_ind r0, 0\n",
                                               true);
    JK_REQUIRE(prog != NULL);
    /* r5 moved within the page, to the next (writable), to an unmapped
     * one, by 2^32 (the same 32-bit address: still not K); in the first
     * round, a later one, never; K's page made read-only, unmapped or
     * writable again in the first round, a later one, never */
    static const uint64_t moves[] = {8, 0x1000, 0x10000, UINT64_C(1) << 32};
    static const uint64_t rounds[] = {4, 2, 0};
    static const jk_pvm_access accesses[] = {JK_PVM_ACCESS_READ, JK_PVM_ACCESS_NONE, JK_PVM_ACCESS_WRITE};
    for (size_t m = 0; m < sizeof moves / sizeof moves[0]; m++)
        for (size_t r = 0; r < 3; r++)
            for (size_t h = 0; h < 3; h++)
                for (size_t a = 0; a < 3; a++) {
                    jk_guard_round_run(prog, moves[m], rounds[r], rounds[h], accesses[a], INT64_C(1) << 20, 0);
                    for (int64_t gas = 0; gas < 50; gas += 3)
                        jk_guard_round_run(prog, moves[m], rounds[r], rounds[h], accesses[a], gas, 1 + gas % 4);
                }
    jk_pvm_program_free(prog);
}
