/*
 * test_jit.c — the recompiler's own properties: every program is compiled on
 * x86-64; its code pages are never writable and executable at once; code size
 * is linear in the program (no JIT bomb); copy-on-write and dirty tracking are
 * the interpreter's; a dynamic jump reaches only block starts; the engine
 * choice API. (Behaviour against the interpreter: test_interp.c runs every
 * test on all engines, test_vectors.c the vectors, fuzz_jit.c random
 * programs.)
 */
#include "../test.h"
#include "jit_test_util.h"
#include "../../src/pvm/jit.h"

#include <stdarg.h>
#include <stdlib.h>

/* The permissions of the mapping holding addr, from /proc/self/maps ("" if none). */
static void jk_perms_of(const void *addr, char perms[5])
{
    strcpy(perms, "");
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        return;
    char line[512];
    uintptr_t a = (uintptr_t)addr;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        char p[5];
        if (sscanf(line, "%lx-%lx %4s", &lo, &hi, p) == 3 && a >= lo && a < hi) {
            memcpy(perms, p, 5);
            break;
        }
    }
    fclose(f);
}

JK_TEST(test_jit_code_is_never_writable_and_executable)
{
#if JK_PVM_HAVE_JIT && defined(__linux__)
    jk_pvm_program *prog = jk_test_asm_program("start:\n  load_imm r7, 1\n  trap\n", false);
    JK_REQUIRE(prog != NULL);
    JK_REQUIRE(jk_pvm_program_jitted(prog));
    char perms[5];
    jk_perms_of(prog->jit->code, perms);
    JK_CHECK(strncmp(perms, "r-x", 3) == 0);
    jk_pvm_program_free(prog);
#endif
}

#if JK_PVM_HAVE_JIT
/* Assembly text built by appending; it grows as needed (abort on no memory:
 * a test helper). */
typedef struct jk_src {
    char *text;
    size_t len, cap;
} jk_src;

static void jk_src_add(jk_src *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void jk_src_add(jk_src *s, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = s->text ? vsnprintf(s->text + s->len, s->cap - s->len, fmt, ap) : -1;
        va_end(ap);
        if (n >= 0 && s->len + (size_t)n < s->cap) {
            s->len += (size_t)n;
            return;
        }
        s->cap = s->cap ? s->cap * 2 : 1u << 20;
        s->text = realloc(s->text, s->cap);
        if (!s->text)
            abort();
    }
}

/* The JIT-bomb shapes: each is a program the compiler's passes (access
 * groups, strided loops, 16-byte moves, folded bases) read more than once;
 * its code must stay under the compiler's per-instruction bound. */

/* 20,000 rounds of the largest instructions (64-bit constants, stores at
 * computed addresses, branches). */
static void jk_bomb_large_insns(jk_src *s)
{
    jk_src_add(s, "start:\n");
    for (int i = 0; i < 20000; i++)
        jk_src_add(s, "  load_imm_64 r%d, 0x123456789abcdef\n  store_imm_ind_u64 r%d, 0x%x, -7\n  branch_eq r1, r2, start\n",
                   i % 13, (i + 1) % 13, 0x10000 + i);
}

/* One basic block of 60,000 instructions made only of access groups (stores
 * and loads through one base register with ALU between, which jit_group.c
 * compiles twice each). */
static void jk_bomb_access_groups(jk_src *s)
{
    jk_src_add(s, "start:\n");
    for (int i = 0; i < 20000; i++)
        jk_src_add(s, "  store_imm_ind_u64 r1, %d, 0x12345678\n  add_64 r3, r3, r4\n  load_ind_u64 r%d, r1, %d\n",
                   8 * (i % 24), 2 + i % 11, 8 * (i % 23));
    jk_src_add(s, "  trap\n");
}

/* 10,000 strided loops (jit_loop.c: ordinary code, the check, the
 * checked-once copy), each with a two-access group and four cursors, the
 * most the check probes. */
static void jk_bomb_strided_loops(jk_src *s)
{
    for (int i = 0; i < 10000; i++)
        jk_src_add(s,
                   "l%d:\n  load_ind_u64 r5, r1, 0\n  load_ind_u64 r6, r1, 8\n"
                   "  store_ind_u64 r5, r2, %d\n  store_ind_u8 r6, r3, 1\n  load_ind_u16 r7, r4, -2\n"
                   "  add_imm_64 r1, r1, 16\n  add_imm_64 r2, r2, -8\n  add_imm_64 r4, r4, 3\n"
                   "  branch_ne r1, r9, l%d\n",
                   i, 8 * (i % 7), i);
    jk_src_add(s, "  trap\n");
}

/* 5,000 two-block strided loops (B1 is compiled once more, in the loop's
 * copy), then one head of 40 accesses that 3,000 blocks branch back to
 * (each scans the head once; only the block right after it is a two-block
 * loop). */
static void jk_bomb_two_block_loops(jk_src *s)
{
    for (int i = 0; i < 5000; i++)
        jk_src_add(s,
                   "h%d:\n  add_64 r11, r10, r8\n  load_ind_u8 r3, r11, 0\n  load_ind_u64 r5, r1, %d\n"
                   "  branch_lt_u_imm r3, 200, n%d\n  add_imm_64 r7, r7, 1\n  fallthrough\n"
                   "n%d:\n  store_ind_u64 r5, r2, 8\n  add_imm_64 r8, r8, 1\n  add_imm_64 r1, r1, 8\n"
                   "  add_imm_64 r2, r2, -16\n  branch_lt_u r8, r9, h%d\n",
                   i, 8 * (i % 5), i, i, i);
    jk_src_add(s, "head:\n");
    for (int i = 0; i < 40; i++)
        jk_src_add(s, "  load_ind_u32 r%d, r1, %d\n", 3 + i % 8, 4 * i);
    jk_src_add(s, "  branch_eq_imm r3, 0, tail\n");
    for (int i = 0; i < 3000; i++)
        jk_src_add(s, "  store_ind_u8 r4, r1, 0\n  add_imm_64 r1, r1, 1\n  branch_lt_u r1, r9, head\n");
    jk_src_add(s, "tail:\n  trap\n");
}

/* 2,000 copy loops of 47 instructions for the 16-byte moves (jit_loop.c,
 * jk_loop_vec): four load pairs and 36 stores, all pairs of them, so each
 * pair's check reads the whole block; every other loop has a pair's
 * register read by its branch (that pair dropped). */
static void jk_bomb_vector_moves(jk_src *s)
{
    for (int i = 0; i < 2000; i++) {
        jk_src_add(s, "v%d:\n", i);
        for (int p = 0; p < 4; p++)
            jk_src_add(s, "  load_ind_u64 r%d, r1, %d\n  load_ind_u64 r%d, r1, %d\n", 3 + 2 * p, 16 * p, 4 + 2 * p,
                       16 * p + 8);
        for (int k = 0; k < 18; k++)
            jk_src_add(s, "  store_ind_u64 r%d, r2, %d\n  store_ind_u64 r%d, r2, %d\n", 3 + 2 * (k % 4), 16 * k,
                       4 + 2 * (k % 4), 16 * k + 8);
        jk_src_add(s, "  add_imm_64 r1, r1, 64\n  add_imm_64 r2, r2, 288\n  branch_ne r1, r%d, v%d\n", i % 2 ? 3 : 12, i);
    }
    jk_src_add(s, "  trap\n");
}

/* 2,000 loops of 47 instructions with four derived bases b = x + p
 * (jit_loop.c, jk_loop_fold reads the block once per base) and 41 accesses
 * through them. */
static void jk_bomb_folded_bases(jk_src *s)
{
    for (int i = 0; i < 2000; i++) {
        jk_src_add(s, "f%d:\n", i);
        for (int j = 0; j < 4; j++)
            jk_src_add(s, "  add_64 r%d, r%d, r5\n", 6 + j, 1 + j);
        for (int k = 0; k < 41; k++)
            jk_src_add(s, "  store_ind_u8 r10, r%d, %d\n", 6 + k % 4, k);
        jk_src_add(s, "  add_imm_64 r5, r5, 64\n  branch_ne r5, r11, f%d\n", i);
    }
    jk_src_add(s, "  trap\n");
}
#endif

JK_TEST(test_jit_code_size_is_linear)
{
#if JK_PVM_HAVE_JIT
    /* dense: no instruction compiles to nothing, so the code is also above
     * 8 bytes an instruction (the program really was compiled) */
    static const struct {
        const char *what;
        void (*gen)(jk_src *);
        bool dense;
    } bombs[] = {
        {"large instructions", jk_bomb_large_insns, true},
        {"access groups", jk_bomb_access_groups, true},
        {"strided loops", jk_bomb_strided_loops, false},
        {"two-block loops", jk_bomb_two_block_loops, false},
        {"16-byte moves", jk_bomb_vector_moves, false},
        {"folded bases", jk_bomb_folded_bases, false},
    };
    for (size_t b = 0; b < sizeof bombs / sizeof bombs[0]; b++) {
        jk_src s = {0};
        bombs[b].gen(&s);
        jk_pvm_program *prog = jk_test_asm_program(s.text, false);
        free(s.text);
        if (!prog || !jk_pvm_program_jitted(prog))
            printf("JIT bomb '%s': not assembled or not compiled\n", bombs[b].what);
        JK_REQUIRE(prog != NULL);
        JK_REQUIRE(jk_pvm_program_jitted(prog));
        size_t code = prog->jit->code_len, insns = (size_t)prog->insn_count;
        if (code > 4096 + insns * 512 || (bombs[b].dense && code < insns * 8))
            printf("JIT bomb '%s': %zu bytes of code for %zu instructions\n", bombs[b].what, code, insns);
        JK_CHECK(code <= 4096 + insns * 512);
        if (bombs[b].dense)
            JK_CHECK(code >= insns * 8);
        jk_pvm_program_free(prog);
    }
#endif
}

JK_TEST(test_jit_copy_on_write_and_dirty_pages)
{
    static _Alignas(4096) uint8_t shared[4096];
    shared[8] = 0x5A;
    jk_pvm_program *prog = jk_test_asm_program(
        "start:\n"
        "  load_imm r1, 0x20000\n"
        "  load_u8 r2, 0x20008\n"        /* read through the shared page */
        "  store_imm_ind_u8 r1, 9, 0x77\n" /* first write: private copy */
        "  store_imm_ind_u8 r1, 10, 0x78\n" /* second write: no second copy */
        "  load_imm r0, 0xffff0000\n"
        "  jump_ind r0, 0\n", false);
    JK_REQUIRE(prog != NULL);
    for (int backend = 1; backend < 3; backend++) {
        jk_pvm_memory *mem;
        JK_REQUIRE(jk_pvm_memory_new(&mem) == JK_OK);
        JK_REQUIRE(jk_pvm_memory_map_shared(mem, 0x20000, shared, JK_PVM_ACCESS_WRITE) == JK_OK);
        jk_pvm_state st;
        jk_pvm_exit ex;
        memset(&st, 0, sizeof st);
        st.gas = 100;
        JK_CHECK_EQ(jk_pvm_run_backend(prog, mem, &st, &ex, backend), JK_OK);
        JK_CHECK_EQ(ex.status, JK_PVM_HALT);
        JK_CHECK_EQ(st.regs[2], 0x5A);
        JK_CHECK_EQ(shared[9], 0); /* the Data cap's page is never written */
        const uint8_t *page = jk_pvm_memory_page(mem, 0x20000);
        JK_REQUIRE(page != NULL && page != shared);
        JK_CHECK_EQ(page[9], 0x77);
        JK_CHECK_EQ(page[10], 0x78);
        JK_CHECK_EQ(page[8], 0x5A);
        const uint32_t *dirty;
        size_t n;
        jk_pvm_memory_dirty_pages(mem, &dirty, &n);
        JK_CHECK_EQ(n, 1);
        JK_CHECK_EQ(n ? dirty[0] : 0, 0x20);
        jk_pvm_memory_free(mem);
    }
    jk_pvm_program_free(prog);
}

JK_TEST(test_jit_dynamic_jumps_reach_only_block_starts)
{
    /* Jump table entry 1 points into the middle of a block: a djump through
     * it panics at the jump, on both engines, and a djump past the table
     * panics too; entry 0 is fine. */
    jk_pvm_program *prog = jk_test_asm_program(
        ".jump_table good, middle\n"
        "start:\n"
        "  fallthrough\n"
        "jump:\n"
        "  jump_ind r1, 0\n"
        "good:\n"
        "  load_imm r7, 1\n"
        "middle:\n"
        "  load_imm r8, 2\n"
        "  trap\n", false);
    if (!prog) {
        JK_CHECK(prog != NULL);
        return;
    }
    static const uint64_t addrs[] = {2, 4, 6, 0, 3};
    static const jk_pvm_status want[] = {JK_PVM_PANIC, JK_PVM_PANIC, JK_PVM_PANIC, JK_PVM_PANIC, JK_PVM_PANIC};
    static const uint64_t want_r7[] = {1, 0, 0, 0, 0};
    for (int backend = 1; backend < 3; backend++)
        for (size_t k = 0; k < sizeof addrs / sizeof addrs[0]; k++) {
            jk_pvm_memory *mem;
            JK_REQUIRE(jk_pvm_memory_new(&mem) == JK_OK);
            jk_pvm_state st;
            jk_pvm_exit ex;
            memset(&st, 0, sizeof st);
            st.gas = 100;
            st.regs[1] = addrs[k];
            JK_CHECK_EQ(jk_pvm_run_backend(prog, mem, &st, &ex, backend), JK_OK);
            JK_CHECK_EQ(ex.status, want[k]);
            JK_CHECK_EQ(st.regs[7], want_r7[k]);
            /* the bad jumps panic at the jump itself (pc 1, not the run's
             * first instruction: regression for an exit that kept the
             * entry's index) */
            JK_CHECK_EQ(st.pc == 1, k != 0);
            jk_pvm_memory_free(mem);
        }
    jk_pvm_program_free(prog);
}

JK_TEST(test_jit_engine_names_and_choice)
{
    jk_pvm_engine e = JK_PVM_ENGINE_AUTO;
    JK_CHECK_EQ(jk_pvm_engine_parse("jit", &e), JK_OK);
    JK_CHECK_EQ(e, JK_PVM_ENGINE_JIT);
    JK_CHECK_EQ(jk_pvm_engine_parse("interp", &e), JK_OK);
    JK_CHECK_EQ(e, JK_PVM_ENGINE_INTERP);
    JK_CHECK_EQ(jk_pvm_engine_parse("auto", &e), JK_OK);
    JK_CHECK_EQ(e, JK_PVM_ENGINE_AUTO);
    JK_CHECK_EQ(jk_pvm_engine_parse("fast", &e), JK_ERR_INVALID_ARG);
    JK_CHECK(strcmp(jk_pvm_engine_name(JK_PVM_ENGINE_JIT), "jit") == 0);
    JK_CHECK_EQ(jk_pvm_auto_engine(), JK_PVM_ENGINE_JIT);
    /* An interpreter run and a recompiled run of the same loop agree, and a
     * run split by out-of-gas across engines ends where a whole one does. */
    jk_pvm_program *prog = jk_test_asm_program(
        "start:\n"
        "  load_imm r1, 100\n"
        "  fallthrough\n"
        "loop:\n"
        "  add_imm_64 r2, r2, 3\n"
        "  add_imm_64 r1, r1, -1\n"
        "  branch_ne_imm r1, 0, loop\n"
        "  trap\n", false);
    JK_REQUIRE(prog != NULL);
#if JK_PVM_HAVE_JIT
    JK_CHECK(jk_pvm_program_jitted(prog));
#endif
    jk_pvm_state whole, split;
    jk_pvm_exit ex;
    jk_pvm_memory *mem;
    JK_REQUIRE(jk_pvm_memory_new(&mem) == JK_OK);
    memset(&whole, 0, sizeof whole);
    whole.gas = 1000;
    JK_CHECK_EQ(jk_pvm_run_engine(prog, mem, &whole, &ex, JK_PVM_ENGINE_INTERP), JK_OK);
    JK_CHECK_EQ(ex.status, JK_PVM_PANIC);
    JK_CHECK_EQ(whole.regs[2], 300);
    memset(&split, 0, sizeof split);
    split.gas = 50;
    int hops = 0;
    for (;;) {
        jk_pvm_engine engine = hops % 2 ? JK_PVM_ENGINE_INTERP : JK_PVM_ENGINE_JIT;
        JK_REQUIRE(jk_pvm_run_engine(prog, mem, &split, &ex, engine) == JK_OK);
        if (ex.status != JK_PVM_OUT_OF_GAS)
            break;
        hops++;
        split.gas += 37;
    }
    JK_CHECK(hops >= 5);
    JK_CHECK_EQ(ex.status, JK_PVM_PANIC);
    JK_CHECK_EQ(split.pc, whole.pc);
    JK_CHECK_EQ(split.regs[2], 300);
    JK_CHECK_EQ(split.gas, whole.gas - 1000 + 50 + 37 * hops);
    jk_pvm_memory_free(mem);
    jk_pvm_program_free(prog);
}

/* Runs prog on the interpreter and on the recompiler from the same start,
 * serving host calls (r7 += 1000) and out-of-gas stops (more gas), and checks
 * that everything observable agrees. Returns the recompiler's final state. */
static void jk_jit_both(const jk_pvm_program *prog, const uint64_t regs[JK_PVM_REGS], int64_t gas,
                        jk_pvm_state *out_state, jk_pvm_exit *out_exit)
{
    jk_pvm_state st[2];
    jk_pvm_exit ex[2];
    uint8_t stack[2][256];
    for (int e = 0; e < 2; e++) {
        jk_pvm_memory *mem;
        JK_REQUIRE(jk_pvm_memory_new(&mem) == JK_OK);
        JK_REQUIRE(jk_pvm_memory_map(mem, 0x20000, 0x10000, JK_PVM_ACCESS_WRITE) == JK_OK);
        memset(&st[e], 0, sizeof st[e]);
        memcpy(st[e].regs, regs, sizeof st[e].regs);
        st[e].gas = gas;
        JK_REQUIRE(jk_test_run_served(prog, mem, &st[e], &ex[e],
                                      e ? JK_PVM_ENGINE_JIT : JK_PVM_ENGINE_INTERP, 2000));
        JK_CHECK_EQ(jk_pvm_memory_read(mem, 0x2ff00, stack[e], sizeof stack[e]), JK_OK);
        jk_pvm_memory_free(mem);
    }
    JK_CHECK_SAME_RUNS(st, ex, stack);
    *out_state = st[1];
    *out_exit = ex[1];
}

JK_TEST(test_jit_calls_and_returns_are_the_interpreters)
{
    /* Recursive sum with real calls (return address in r0, a 16-byte frame on
     * the stack r1). Unwinding, level 7 returns to the *other* return site
     * while predicted returns are still stacked (a mismatched return must take
     * the ordinary djump: checked through r11), then level 9 makes a host call
     * (the resumed run has none left); 1500 levels go past the predicted
     * depth; small gas stops it anywhere. */
    jk_pvm_program *prog = jk_test_asm_program(
        ".jump_table ret_main, ret_rec, ret_odd\n"
        "  load_imm_jump r0, jt(ret_main), sum\n"
        "ret_main:\n"
        "  load_imm r0, 0xffff0000\n"
        "  jump_ind r0, 0\n"
        "sum:\n"
        "  branch_eq_imm r8, 0, leaf\n"
        "  add_imm_64 r1, r1, -16\n"
        "  store_ind_u64 r0, r1, 0\n"
        "  store_ind_u64 r8, r1, 8\n"
        "  add_imm_64 r8, r8, -1\n"
        "  load_imm_jump r0, jt(ret_rec), sum\n"
        "ret_rec:\n"
        "  load_ind_u64 r9, r1, 8\n"
        "  add_64 r7, r7, r9\n"
        "  load_ind_u64 r0, r1, 0\n"
        "  add_imm_64 r1, r1, 16\n"
        "  branch_ne_imm r9, 9, cont\n"
        "  ecalli 1\n"
        "  fallthrough\n"
        "cont:\n"
        "  branch_eq_imm r9, 7, odd\n"
        "  jump_ind r0, 0\n"
        "odd:\n"
        "  load_imm r10, 1\n"
        "  load_imm r0, jt(ret_odd)\n"
        "  jump_ind r0, 0\n"
        "ret_odd:\n"
        "  add_imm_64 r11, r11, 1\n"
        "  jump ret_rec\n"
        "leaf:\n"
        "  jump_ind r0, 0\n", false);
    if (!prog) {
        JK_CHECK(prog != NULL);
        return;
    }
#if JK_PVM_HAVE_JIT
    JK_CHECK(jk_pvm_program_jitted(prog));
#endif
    uint64_t regs[JK_PVM_REGS] = {0};
    regs[1] = 0x30000;
    jk_pvm_state st;
    jk_pvm_exit ex;
    static const uint64_t depths[] = {0, 5, 12, 1500};
    for (size_t k = 0; k < sizeof depths / sizeof depths[0]; k++) {
        regs[8] = depths[k];
        jk_jit_both(prog, regs, 1000000, &st, &ex);
        JK_CHECK_EQ(ex.status, JK_PVM_HALT);
        JK_CHECK_EQ(st.regs[11], depths[k] > 7 ? 1 : 0); /* the odd return happened once */
        regs[8] = depths[k];
        jk_jit_both(prog, regs, 50, &st, &ex); /* resumed every 97 gas */
        JK_CHECK_EQ(ex.status, JK_PVM_HALT);
    }
    jk_pvm_program_free(prog);
}

/* The cases above again with the host's call/ret predicting the returns:
 * programs with few call sites return directly by default (session 10,
 * jit_ctl.c), and both ways must give the interpreter's results. */
JK_TEST(test_jit_calls_with_predicted_returns)
{
    unsigned keep = jk_pvm_jit_direct_max;
    jk_pvm_jit_direct_max = 0;
    test_jit_calls_and_returns_are_the_interpreters();
    jk_pvm_jit_direct_max = keep;
}
