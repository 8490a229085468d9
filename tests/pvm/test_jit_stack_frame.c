/*
 * test_jit_stack_frame.c — the recompiler's frame copy (src/pvm/jit_stack.c,
 * session 9): accesses near the stack pointer with no check while the
 * window [sp, sp + H) is known to lie in one private writable page. What
 * can break the window, each against the interpreter (status, pc, gas,
 * registers, fault address, every page's access and bytes, the dirty list):
 * - a callee that moves sp elsewhere and returns without restoring it: the
 *   caller's landing block, compiled in the frame copy, must not be entered
 *   by a `ret` from code that lost the window;
 * - a host call served inside compiled code that remaps the stack's page;
 * - sp moved by pushes and pops onto every kind of page and across page
 *   ends at every offset (the one-sided checks after `add_imm_64 sp, sp, k`),
 *   and past 2^32.
 */
#include "jit_test_util.h"
#include "../../src/pvm/jit.h"

/* Writable pages [0x20000, 0x40000), with 0x2e000 read-only, 0x2d000 a
 * copy-on-write Data page and 0x2c000 unmapped (pages mapped from the top,
 * so neighbouring guest pages are not neighbouring host buffers). */
static _Alignas(4096) uint8_t jk_frame_shared[4096];

static jk_pvm_memory *jk_frame_memory(void)
{
    jk_pvm_memory *mem = NULL;
    if (jk_pvm_memory_new(&mem) != JK_OK)
        return NULL;
    for (uint32_t a = 0x3f000; a >= 0x20000; a -= JK_PVM_PAGE_SIZE)
        jk_pvm_memory_map(mem, a, JK_PVM_PAGE_SIZE, JK_PVM_ACCESS_WRITE);
    jk_pvm_memory_map(mem, 0x2e000, JK_PVM_PAGE_SIZE, JK_PVM_ACCESS_READ);
    jk_pvm_memory_map_shared(mem, 0x2d000, jk_frame_shared, JK_PVM_ACCESS_WRITE);
    jk_pvm_memory_map(mem, 0x2c000, JK_PVM_PAGE_SIZE, JK_PVM_ACCESS_NONE);
    return mem;
}

/* What the in-code host server does to the page of sp (r1) at ecalli 1. */
enum { JK_SERVE_NOTHING, JK_SERVE_READ_ONLY, JK_SERVE_SHARE, JK_SERVE_UNMAP, JK_SERVE_MOVE_SP };

typedef struct jk_frame_server {
    jk_pvm_memory *mem;
    int what;
} jk_frame_server;

static jk_pvm_host_answer jk_frame_serve(void *ctx, jk_pvm_state *st, uint64_t n)
{
    jk_frame_server *s = ctx;
    uint32_t page = (uint32_t)st->regs[1] & ~(uint32_t)(JK_PVM_PAGE_SIZE - 1);
    (void)n;
    switch (s->what) {
    case JK_SERVE_READ_ONLY:
        jk_pvm_memory_map(s->mem, page, JK_PVM_PAGE_SIZE, JK_PVM_ACCESS_READ);
        break;
    case JK_SERVE_SHARE:
        jk_pvm_memory_map_shared(s->mem, page, jk_frame_shared, JK_PVM_ACCESS_WRITE);
        break;
    case JK_SERVE_UNMAP:
        jk_pvm_memory_map(s->mem, page, JK_PVM_PAGE_SIZE, JK_PVM_ACCESS_NONE);
        break;
    case JK_SERVE_MOVE_SP: /* the host moves sp onto the read-only page */
        st->regs[1] = 0x2e100;
        break;
    default:
        break;
    }
    return JK_PVM_HOST_SERVED;
}

/* Both engines from the same start; out-of-gas stops resumed with `step`
 * more gas (0: the stop ends the run); everything compared. */
static void jk_frame_both(const jk_pvm_program *prog, const uint64_t regs[JK_PVM_REGS], int64_t gas, int64_t step,
                          int serve)
{
    jk_pvm_memory *mem[2];
    jk_pvm_state st[2];
    jk_pvm_exit ex[2];
    jk_frame_server server[2];
    for (int e = 0; e < 2; e++) {
        mem[e] = jk_frame_memory();
        JK_REQUIRE(mem[e] != NULL);
        server[e].mem = mem[e];
        server[e].what = serve;
        if (serve >= 0)
            jk_pvm_memory_set_host(mem[e], jk_frame_serve, &server[e]);
        memset(&st[e], 0, sizeof st[e]);
        memcpy(st[e].regs, regs, sizeof st[e].regs);
        st[e].gas = gas;
        for (int hop = 0; hop < 10000; hop++) {
            JK_REQUIRE(jk_pvm_run_engine(prog, mem[e], &st[e], &ex[e],
                                         e ? JK_PVM_ENGINE_JIT : JK_PVM_ENGINE_INTERP) == JK_OK);
            if (ex[e].status == JK_PVM_OUT_OF_GAS && step > 0)
                st[e].gas += step;
            else if (ex[e].status == JK_PVM_HOST_CALL) {
                /* the interpreter exits at every host call (and the
                 * recompiler when there is no server): the plain protocol,
                 * the server applied to the exit state */
                if (serve >= 0)
                    (void)jk_frame_serve(&server[e], &st[e], ex[e].host_call);
                continue;
            }
            else
                break;
        }
    }
    JK_CHECK_SAME_STATE(st, ex);
    jk_test_check_same_memory(mem[0], mem[1], 0x1f000, 0x41000);
    jk_pvm_memory_free(mem[0]);
    jk_pvm_memory_free(mem[1]);
    JK_CHECK(jk_frame_shared[0x10] == 0); /* the Data cap's page is never written */
}

JK_TEST(test_jit_frame_callee_moves_the_stack_pointer)
{
    /* f pushes a frame (the frame copy from there on) and calls g, which
     * moves sp to r2 with `move_reg` and returns without restoring it; f's
     * landing block then stores and loads through sp, wherever it is now:
     * another writable page (a new window), the read-only page (stores
     * fault), the copy-on-write page, the unmapped one, a few bytes before
     * a page end (no window: the accesses straddle), past 2^32. g's return
     * runs where g lost the window, so it must not `ret` into f's landing. */
    jk_pvm_program *prog = jk_test_asm_program(
        ".jump_table ret_main, ret_1\n"
        "    load_imm_jump r0, jt(ret_main), f\n"
        "ret_main:\n"
        "    load_imm r0, 0xFFFF0000\n"
        "    jump_ind r0, 0\n"
        "f:\n"
        "    add_imm_64 r1, r1, -16\n"
        "    store_ind_u64 r0, r1, 0\n"
        "    store_ind_u64 r7, r1, 8\n"
        "    load_imm_jump r0, jt(ret_1), g\n"
        "ret_1:\n"
        "    store_ind_u64 r7, r1, 8\n"
        "    load_ind_u64 r9, r1, 0\n"
        "    load_ind_u64 r10, r1, 8\n"
        "    add_imm_64 r1, r1, 16\n"
        "    store_ind_u64 r10, r1, 0\n"
        "    load_imm r0, 0xFFFF0000\n"
        "    jump_ind r0, 0\n"
        "g:\n"
        "    add_imm_64 r1, r1, -8\n"
        "    store_ind_u64 r7, r1, 0\n"
        "    add_imm_64 r1, r1, 8\n"
        "    move_reg r1, r2\n"
        "    jump_ind r0, 0\n",
        true);
    JK_REQUIRE(prog != NULL);
    static const uint64_t r2s[] = {
        0x3a100, 0x3aff0, 0x3aff8, 0x3affc, 0x2e100, 0x2eff0, 0x2d100, 0x2c100, 0x2bff8,
        0x2dff8, 0x2fff8, 0x100023100, 0xFFFFFFF8, 0x10, 0x31000,
    };
    static const uint64_t sps[] = {0x38000, 0x38010, 0x37ff8, 0x30000};
    for (size_t k = 0; k < sizeof r2s / sizeof r2s[0]; k++)
        for (size_t s = 0; s < sizeof sps / sizeof sps[0]; s++) {
            uint64_t regs[JK_PVM_REGS] = {0};
            regs[1] = sps[s];
            regs[2] = r2s[k];
            regs[7] = 0x1122334455667788u;
            jk_frame_both(prog, regs, 1000, 0, -1);
            for (int64_t gas = 0; gas < 30; gas += 3)
                jk_frame_both(prog, regs, gas, 2, -1);
        }
    jk_pvm_program_free(prog);
}

JK_TEST(test_jit_frame_host_calls_served_in_code)
{
    /* A host call served inside compiled code between a frame's stores and
     * its loads remaps the stack's page (read-only, a copy-on-write Data
     * page, unmapped) or moves sp onto the read-only page: the frame copy
     * must not keep the page it knew. Recursion, so the call happens at
     * several depths and page offsets. */
    jk_pvm_program *prog = jk_test_asm_program(
        ".jump_table ret_main, ret_1\n"
        "    load_imm_jump r0, jt(ret_main), f\n"
        "ret_main:\n"
        "    load_imm r0, 0xFFFF0000\n"
        "    jump_ind r0, 0\n"
        "f:\n"
        "    branch_eq_imm r7, 0, leaf\n"
        "    add_imm_64 r1, r1, -24\n"
        "    store_ind_u64 r0, r1, 0\n"
        "    store_ind_u64 r7, r1, 8\n"
        "    branch_ne_imm r7, 3, skip\n"
        "skip:\n"
        "    store_ind_u64 r7, r1, 16\n"
        "    ecalli 1\n"
        "    store_ind_u64 r7, r1, 16\n"
        "    add_imm_64 r7, r7, -1\n"
        "    load_imm_jump r0, jt(ret_1), f\n"
        "ret_1:\n"
        "    load_ind_u64 r8, r1, 8\n"
        "    add_64 r7, r7, r8\n"
        "    store_ind_u64 r7, r1, 16\n"
        "    load_ind_u64 r0, r1, 0\n"
        "    add_imm_64 r1, r1, 24\n"
        "    jump_ind r0, 0\n"
        "leaf:\n"
        "    jump_ind r0, 0\n",
        true);
    JK_REQUIRE(prog != NULL);
    static const int whats[] = {JK_SERVE_NOTHING, JK_SERVE_READ_ONLY, JK_SERVE_SHARE, JK_SERVE_UNMAP,
                                JK_SERVE_MOVE_SP};
    for (size_t w = 0; w < sizeof whats / sizeof whats[0]; w++)
        for (uint64_t sp = 0x30000 - 0x60; sp <= 0x30000 + 0x60; sp += 8) {
            uint64_t regs[JK_PVM_REGS] = {0};
            regs[1] = sp;
            regs[7] = 6;
            jk_frame_both(prog, regs, 100000, 0, whats[w]);
            jk_frame_both(prog, regs, 40, 7, whats[w]);
        }
    jk_pvm_program_free(prog);
}

JK_TEST(test_jit_frame_pushes_and_pops_across_pages)
{
    /* Frames of 8, 24 and 264 bytes pushed and popped with `add_imm_64 sp,
     * sp, ±k` (the one-sided checks: a push that leaves the window's page
     * below, a pop that leaves it above), accesses up to the window's top
     * (sp + 256) and one beyond it (not in the window: checked as before),
     * from every 8-byte offset around the ends of the writable, read-only,
     * copy-on-write and unmapped pages, and from just below 2^32. */
    jk_pvm_program *prog = jk_test_asm_program(
        "    add_imm_64 r1, r1, -8\n"
        "    store_ind_u64 r7, r1, 0\n"
        "    add_imm_64 r1, r1, -24\n"
        "    store_ind_u64 r7, r1, 0\n"
        "    store_ind_u64 r7, r1, 16\n"
        "    load_ind_u64 r8, r1, 24\n"
        "    add_imm_64 r1, r1, -264\n"
        "    store_ind_u64 r8, r1, 248\n"
        "    load_ind_u64 r9, r1, 256\n"
        "    load_ind_u64 r10, r1, 264\n"
        "    add_imm_64 r1, r1, 264\n"
        "    store_ind_u32 r9, r1, 4\n"
        "    add_imm_64 r1, r1, 24\n"
        "    load_ind_u64 r11, r1, 0\n"
        "    add_imm_64 r1, r1, 8\n"
        "    store_ind_u16 r11, r1, 0\n"
        "    add_imm_64 r1, r1, -16\n"
        "    load_ind_u64 r12, r1, 8\n"
        "    trap\n",
        true);
    JK_REQUIRE(prog != NULL);
    static const uint64_t pages[] = {0x3a000, 0x2f000, 0x2e000, 0x2d000, 0x2c000, 0x20000, 0x40000, 0x100000000};
    for (size_t p = 0; p < sizeof pages / sizeof pages[0]; p++)
        for (int64_t d = -0x140; d <= 0x140; d += 8) {
            uint64_t regs[JK_PVM_REGS] = {0};
            regs[1] = pages[p] + (uint64_t)d;
            regs[7] = 0x0102030405060708u;
            jk_frame_both(prog, regs, 1000, 0, -1);
            jk_frame_both(prog, regs, 3, 1, -1);
        }
    jk_pvm_program_free(prog);
}

/* The cases above again with the host's call/ret predicting the returns:
 * programs with few call sites return directly by default (session 10,
 * jit_ctl.c), and both ways must give the interpreter's results. */
JK_TEST(test_jit_frame_cases_with_predicted_returns)
{
    unsigned keep = jk_pvm_jit_direct_max;
    jk_pvm_jit_direct_max = 0;
    test_jit_frame_callee_moves_the_stack_pointer();
    test_jit_frame_host_calls_served_in_code();
    test_jit_frame_pushes_and_pops_across_pages();
    jk_pvm_jit_direct_max = keep;
}
