/*
 * test_jit_stack_entry.c — runs that start in the recompiler's frame copy
 * (src/pvm/jit_run.c, docs/pvm.md "Session 10"): a run, or a resumption
 * after a host call, enters the frame copy directly when the page of the
 * last window walk (ctx->frame_lo, kept between runs on one memory while
 * no page-table entry changes) still holds [sp, sp + H) for this program's
 * H. Each case runs a sequence of runs on one memory per engine, with what
 * an embedder does between runs (sp moved, the page remapped, another
 * program with a smaller window run on the same memory), and compares
 * status, pc, gas, registers, fault address, every page and the dirty list
 * after every run.
 */
#include "jit_test_util.h"

/* H = 16: the first accesses, at sp + 8 and sp, come before any write of
 * sp (a start in the frame copy makes them with no check at all); an
 * ecalli in the middle (a resumption may start there too); then a frame
 * pushed and popped. */
static const char jk_entry16_src[] =
    "    store_ind_u64 r7, r1, 8\n"
    "    load_ind_u64 r9, r1, 0\n"
    "    add_64 r9, r9, r7\n"
    "    store_ind_u64 r9, r1, 0\n"
    "    ecalli 1\n"
    "    load_ind_u64 r8, r1, 8\n"
    "    add_imm_64 r1, r1, -16\n"
    "    store_ind_u64 r8, r1, 0\n"
    "    store_ind_u64 r9, r1, 8\n"
    "    add_imm_64 r1, r1, 16\n"
    "    add_imm_64 r7, r7, 3\n"
    "    load_imm r0, 0xFFFF0000\n"
    "    jump_ind r0, 0\n";

/* H = 8: the same memory then holds a window walked for a smaller H. */
static const char jk_entry8_src[] =
    "    store_ind_u64 r7, r1, 0\n"
    "    add_imm_64 r1, r1, -8\n"
    "    store_ind_u64 r7, r1, 0\n"
    "    add_imm_64 r1, r1, 8\n"
    "    load_imm r0, 0xFFFF0000\n"
    "    jump_ind r0, 0\n";

/* Writable pages 0x20000–0x23000, each mapped alone (separate host
 * buffers, so an access past a page's end through its delta lands outside
 * it), and a read-only page at 0x24000. */
static jk_pvm_memory *jk_entry_memory(void)
{
    jk_pvm_memory *mem = NULL;
    if (jk_pvm_memory_new(&mem) != JK_OK)
        return NULL;
    for (uint32_t a = 0x23000; a >= 0x20000; a -= JK_PVM_PAGE_SIZE)
        jk_pvm_memory_map(mem, a, JK_PVM_PAGE_SIZE, JK_PVM_ACCESS_WRITE);
    jk_pvm_memory_map(mem, 0x24000, JK_PVM_PAGE_SIZE, JK_PVM_ACCESS_READ);
    return mem;
}

typedef struct jk_entry_pair {
    jk_pvm_memory *mem[2];
    jk_pvm_state st[2];
    jk_pvm_exit ex[2];
} jk_entry_pair;

/* One run of prog on each engine's memory from sp, r7 = a value new in
 * each run (so a store to the wrong place leaves an old value; or, when
 * `resume`, from where the last run stopped), out-of-gas stops resumed
 * with `step` more gas, a host call left to the caller; then everything
 * compared. */
static void jk_entry_run(jk_entry_pair *p, const jk_pvm_program *prog, uint64_t sp, int64_t gas, int64_t step,
                         bool resume)
{
    static uint64_t fresh = 5;
    fresh += 0x101;
    for (int e = 0; e < 2; e++) {
        jk_pvm_state *st = &p->st[e];
        if (!resume) {
            memset(st, 0, sizeof *st);
            st->regs[1] = sp;
            st->regs[7] = fresh;
            st->gas = gas;
        }
        for (int hop = 0; hop < 1000; hop++) {
            JK_REQUIRE(jk_pvm_run_engine(prog, p->mem[e], st, &p->ex[e],
                                         e ? JK_PVM_ENGINE_JIT : JK_PVM_ENGINE_INTERP) == JK_OK);
            if (p->ex[e].status != JK_PVM_OUT_OF_GAS || step <= 0)
                break;
            st->gas += step;
        }
    }
    JK_CHECK_SAME_STATE(p->st, p->ex);
    jk_test_check_same_memory(p->mem[0], p->mem[1], 0x20000, 0x24000);
}

static void jk_entry_map(jk_entry_pair *p, uint32_t page, jk_pvm_access access)
{
    for (int e = 0; e < 2; e++)
        JK_REQUIRE(jk_pvm_memory_map(p->mem[e], page, JK_PVM_PAGE_SIZE, access) == JK_OK);
}

JK_TEST(test_jit_runs_start_in_the_frame_copy_only_where_the_window_holds)
{
    jk_pvm_program *p16 = jk_test_asm_program(jk_entry16_src, true);
    jk_pvm_program *p8 = jk_test_asm_program(jk_entry8_src, true);
    JK_REQUIRE(p16 != NULL && p8 != NULL);
    const int64_t gas = 1000;
    jk_entry_pair p;
    for (int e = 0; e < 2; e++)
        JK_REQUIRE((p.mem[e] = jk_entry_memory()) != NULL);

    /* the first run finds the window at its push; the next starts in it */
    jk_entry_run(&p, p16, 0x20800, gas, 0, false);
    JK_CHECK_EQ(p.ex[1].status, JK_PVM_HOST_CALL);
    jk_entry_run(&p, p16, 0, gas, 0, true);
    JK_CHECK_EQ(p.ex[1].status, JK_PVM_HALT);
    jk_entry_run(&p, p16, 0x20800, gas, 0, false);
    jk_entry_run(&p, p16, 0, gas, 0, true); /* resumed after ecalli, in the window */
    /* sp on another page than the cached window's: not entered there */
    jk_entry_run(&p, p16, 0x20800, gas, 0, false);
    jk_entry_run(&p, p16, 0, gas, 0, true);
    jk_entry_run(&p, p16, 0x21800, gas, 0, false);
    jk_entry_run(&p, p16, 0, gas, 0, true);
    /* sp at the cached page's end, where [sp, sp + 16) crosses it, and
     * just below the page */
    jk_entry_run(&p, p16, 0x21800, gas, 0, false);
    jk_entry_run(&p, p16, 0, gas, 0, true);
    for (uint64_t sp = 0x21fe8; sp < 0x22000; sp += 8) {
        jk_entry_run(&p, p16, 0x21800, gas, 0, false);
        jk_entry_run(&p, p16, 0, gas, 0, true);
        jk_entry_run(&p, p16, sp, gas, 0, false);
        jk_entry_run(&p, p16, 0, gas, 0, true);
    }
    jk_entry_run(&p, p16, 0x21800, gas, 0, false);
    jk_entry_run(&p, p16, 0, gas, 0, true);
    jk_entry_run(&p, p16, 0x20ff8, gas, 0, false);
    jk_entry_run(&p, p16, 0, gas, 0, true);
    /* a program with H = 8 leaves a window whose bound fits it, not H = 16
     * (it walks the page, from the ordinary copy, at its push) */
    for (uint64_t sp = 0x21fe8; sp < 0x22000; sp += 8) {
        jk_entry_run(&p, p16, 0x22800, gas, 0, false);
        jk_entry_run(&p, p16, 0, gas, 0, true);
        jk_entry_run(&p, p8, 0x21800, gas, 0, false);
        jk_entry_run(&p, p16, sp, gas, 0, false);
        jk_entry_run(&p, p16, 0, gas, 0, true);
    }
    /* the host call's caller moves sp to another page before resuming */
    jk_entry_run(&p, p16, 0x22800, gas, 0, false);
    jk_entry_run(&p, p16, 0, gas, 0, true);
    jk_entry_run(&p, p16, 0x22800, gas, 0, false);
    p.st[0].regs[1] = p.st[1].regs[1] = 0x23ff8;
    jk_entry_run(&p, p16, 0, gas, 0, true);
    /* the window's page made read-only, copy-on-write-free and unmapped
     * between runs (and during a host call), with sp still in it */
    jk_entry_run(&p, p16, 0x22800, gas, 0, false);
    jk_entry_run(&p, p16, 0, gas, 0, true);
    jk_entry_map(&p, 0x22000, JK_PVM_ACCESS_READ);
    jk_entry_run(&p, p16, 0x22800, gas, 0, false);
    JK_CHECK_EQ(p.ex[1].status, JK_PVM_PAGE_FAULT);
    jk_entry_map(&p, 0x22000, JK_PVM_ACCESS_WRITE);
    jk_entry_run(&p, p16, 0x22800, gas, 0, false);
    jk_entry_map(&p, 0x22000, JK_PVM_ACCESS_NONE);
    jk_entry_run(&p, p16, 0, gas, 0, true);
    JK_CHECK_EQ(p.ex[1].status, JK_PVM_PAGE_FAULT);
    /* small gas: out-of-gas stops resumed at block starts in the window */
    for (int64_t g = 0; g < 16; g++) {
        jk_entry_run(&p, p16, 0x23800, 1000, 0, false);
        jk_entry_run(&p, p16, 0, 0, 0, true);
        jk_entry_run(&p, p16, 0x23800, g, 1, false);
        jk_entry_run(&p, p16, 0, 0, 1, true);
    }
    for (int e = 0; e < 2; e++)
        jk_pvm_memory_free(p.mem[e]);
    jk_pvm_program_free(p16);
    jk_pvm_program_free(p8);
}
