/*
 * test_jit_loop_wide.c — a strided loop whose step register holds a step
 * the check does not take (above 256, session 8, src/pvm/jit_loop.c
 * jk_loop_wide): the check's failing step test enters a second ordinary
 * copy of the block that loops on itself. The asm sieve's marking loop
 * (a derived base, folded in the checked copy) runs with steps that
 * alternate between the checked copy and the wide one, over writable,
 * copy-on-write, read-only and unmapped pages, with gas given out in
 * small steps, on both engines; every stop and every page is compared.
 */
#include "../test.h"
#include "jit_test_util.h"
#include "../../src/pvm/jit.h"

/* A Data cap's page, mapped copy-on-write at 0x20000 and read-only at 0x21000. */
static _Alignas(4096) uint8_t jk_wide_shared[4096];

static jk_pvm_memory *jk_wide_memory(int layout)
{
    (void)layout;
    jk_pvm_memory *mem = NULL;
    if (jk_pvm_memory_new(&mem) != JK_OK)
        return NULL;
    jk_pvm_memory_map(mem, 0x10000, 0x10000, JK_PVM_ACCESS_WRITE);
    jk_pvm_memory_map_shared(mem, 0x20000, jk_wide_shared, JK_PVM_ACCESS_WRITE);
    jk_pvm_memory_map_shared(mem, 0x21000, jk_wide_shared, JK_PVM_ACCESS_READ);
    jk_pvm_memory_map(mem, 0x22000, 0x1000, JK_PVM_ACCESS_WRITE);
    return mem; /* 0x23000 unmapped */
}

/* The marking loop of bench/pvm/sieve.s, run once per step of a list:
 * r10 = the array (x), r12 = j (p), r8 = the step, r9 = the end; each
 * pass starts at j = r1 and marks with the pass's number. */
static const char jk_wide_src[] =
    "  load_imm r4, 1\n"
    "  load_imm r8, 3\n"
    "  fallthrough\n"
    JK_TEST_SIEVE_PASS_ASM
    "  load_imm r7, 300\n"
    "  branch_eq_imm r8, 3, step\n"
    "  load_imm r7, 1\n"
    "  branch_eq_imm r8, 300, step\n"
    "  load_imm r7, 4096\n"
    "  branch_eq_imm r8, 1, step\n"
    "  load_imm r7, 256\n"
    "  branch_eq_imm r8, 4096, step\n"
    "  load_imm r7, 257\n"
    "  branch_eq_imm r8, 256, step\n"
    "  load_imm r7, 5000\n"
    "  branch_eq_imm r8, 257, step\n"
    "  load_imm r7, 2\n"
    "  branch_eq_imm r8, 5000, step\n"
    "  load_imm r0, 0xffff0000\n"
    "  jump_ind r0, 0\n"
    "step:\n"
    "  move_reg r8, r7\n"
    "  jump pass\n";

/* Run with three registers set (r[k] = v[k]), `gas` and then `more` at each
 * out-of-gas stop, on both engines; compare every stop and every page. */
static void jk_wide_run(const jk_pvm_program *prog, const unsigned r[3], const uint64_t v[3], int64_t gas,
                        int64_t more)
{
    jk_test_lockstep run = {.memory = jk_wide_memory, .gas = gas, .step = more, .hops = 100000,
                            .pages = {{0x10000, 0x23000}}};
    for (int k = 0; k < 3; k++)
        run.regs[r[k]] = v[k];
    jk_test_lockstep_run(prog, &run, NULL);
    JK_CHECK(jk_wide_shared[7] == 0); /* the Data cap's page is never written */
}

/* The sieve's marking loop: r10 = x, r1 = the first j, r9 = the end. */
static void jk_wide_both(const jk_pvm_program *prog, uint64_t x, uint64_t j, uint64_t end, int64_t gas,
                         int64_t more)
{
    static const unsigned r[3] = {10, 1, 9};
    jk_wide_run(prog, r, (const uint64_t[3]){x, j, end}, gas, more);
}

JK_TEST(test_jit_loop_wide_steps_are_the_interpreters)
{
    jk_pvm_program *prog = jk_test_asm_program(jk_wide_src, true);
    JK_REQUIRE(prog != NULL);
    /* inside the writable pages; up to the copy-on-write, the read-only and
     * the unmapped page; x past 2^32 (every address wraps) */
    static const uint64_t xs[] = {0x10000, 0x10ffd, 0x1c000, 0x100010000ull};
    static const uint64_t ends[] = {0xe000, 0x12000, 0x13800};
    for (size_t a = 0; a < sizeof xs / sizeof xs[0]; a++)
        for (size_t z = 0; z < sizeof ends / sizeof ends[0]; z++) {
            jk_wide_both(prog, xs[a], 5, ends[z], INT64_C(1) << 40, 1);
            jk_wide_both(prog, xs[a], 4093, ends[z], 7, 97);
            jk_wide_both(prog, xs[a], 0, ends[z], 300, 1013);
        }
    jk_pvm_program_free(prog);
}

/* Two blocks (session 6's form) whose cursor steps by a register: B1 reads
 * and writes through r3 and steps it by r0, B2 counts and branches back to
 * B1. A step the check does not take (above 256) must run the iteration in
 * the ordinary code from B1: it used to enter at B2's start, so B1 never
 * ran again — a fault the interpreter takes in B1 was skipped, r3 stood
 * still and B2 looped until out of gas (found by fuzz_jit, session 9;
 * tests/fuzz/corpus/jit/wide-two-block-fault). B1's own branch goes back
 * to itself in the first source, on to B2 either way in the second. */
static const char jk_wide_two_self[] =
    "  load_imm r8, 0\n"
    "  fallthrough\n"
    "b1:\n"
    "  store_ind_u8 r8, r3, 0\n"
    "  load_ind_u8 r7, r3, 2\n"
    "  add_64 r4, r4, r7\n"
    "  add_64 r3, r3, r0\n"
    "  branch_lt_u r3, r6, b1\n"
    "  add_imm_64 r8, r8, 1\n"
    "  branch_lt_u_imm r8, 40, b1\n"
    "  load_imm r0, 0xffff0000\n"
    "  jump_ind r0, 0\n";

static const char jk_wide_two_on[] =
    "  load_imm r8, 0\n"
    "  fallthrough\n"
    "b1:\n"
    "  store_ind_u8 r8, r3, 0\n"
    "  load_ind_u8 r7, r3, 2\n"
    "  add_64 r4, r4, r7\n"
    "  add_64 r3, r3, r0\n"
    "  branch_lt_u r3, r6, b2\n"
    "b2:\n"
    "  add_imm_64 r8, r8, 1\n"
    "  branch_lt_u_imm r8, 40, b1\n"
    "  load_imm r0, 0xffff0000\n"
    "  jump_ind r0, 0\n";

/* The two-block loop: r3 = the cursor, r0 = its step, r6 = B1's bound. */
static void jk_wide_two_both(const jk_pvm_program *prog, uint64_t cursor, uint64_t step, uint64_t bound,
                             int64_t gas, int64_t more)
{
    static const unsigned r[3] = {3, 0, 6};
    jk_wide_run(prog, r, (const uint64_t[3]){cursor, step, bound}, gas, more);
}

JK_TEST(test_jit_loop_wide_two_blocks_are_the_interpreters)
{
    const char *srcs[] = {jk_wide_two_self, jk_wide_two_on};
    /* steps inside and outside the check's 1..256; cursors whose steps reach
     * the copy-on-write, read-only and unmapped pages, or stay in the
     * writable ones; bounds below and above the cursor (B1 once, or many
     * times, per pass of B2) */
    static const uint64_t steps[] = {8, 256, 257, 0x800, 0x10060};
    static const uint64_t cursors[] = {0x10a0c, 0x1fff0, 0x1e000};
    static const uint64_t bounds[] = {0x10141, 0x1f800, 0x24000};
    for (size_t s = 0; s < 2; s++) {
        jk_pvm_program *prog = jk_test_asm_program(srcs[s], true);
        JK_REQUIRE(prog != NULL);
        for (size_t a = 0; a < sizeof steps / sizeof steps[0]; a++)
            for (size_t k = 0; k < sizeof cursors / sizeof cursors[0]; k++)
                for (size_t z = 0; z < sizeof bounds / sizeof bounds[0]; z++) {
                    jk_wide_two_both(prog, cursors[k], steps[a], bounds[z], INT64_C(1) << 40, 1);
                    jk_wide_two_both(prog, cursors[k], steps[a], bounds[z], 481, 33);
                }
        jk_pvm_program_free(prog);
    }
}
