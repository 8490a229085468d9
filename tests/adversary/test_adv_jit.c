/*
 * test_adv_jit.c — hostile guest programs on both engines: what held-out PVM
 * cases may try against the recompiler. Each program runs on the interpreter
 * (the reference) and on the recompiler from the same state, with gas from 0
 * up past what it needs (so out-of-gas lands before every block it enters),
 * several initial registers that steer it down different paths, host calls
 * served (φ7 += 1000) and out-of-gas stops resumed with a little more gas.
 * Afterwards everything observable must be equal: status, fault address,
 * pc, gas, the 13 registers, every page of the map (access and bytes), the
 * heap and the dirty list.
 *
 * The programs: jump-table abuse (addresses 0, odd, one past the table, the
 * halt address with high bits, entries into the middle of instructions and
 * past the code), branches into operand bytes, a basic block of 20,000
 * instructions, recursion down the stack into the guard and into a
 * read-only page, sbrk at and across page boundaries with stores at the
 * heap's last byte and first byte past it, host calls as the last
 * instruction, before a branch target and in a loop, and invalid encodings
 * at the end of the code (an instruction cut short, an undefined opcode, a
 * load_imm_64 missing bytes, a code with no terminator).
 */
#include "../test.h"
#include "../pvm/jit_test_util.h"

#include "jark/pvm.h"

#include <stdlib.h>

#define STACK_LO 0x10000u
#define STACK_HI 0x14000u /* [0x10000, 0x14000) read-write */
#define RO_PAGE 0x14000u  /* read-only, just above the stack */
#define HEAP_LO 0x20000u
#define HEAP_LIMIT 0x23000u

typedef struct side {
    jk_pvm_memory *mem;
    jk_pvm_state st;
    jk_pvm_exit ex;
} side;

static bool start(side *s, uint64_t r7, uint64_t gas)
{
    if (jk_pvm_memory_new(&s->mem) != JK_OK)
        return false;
    if (jk_pvm_memory_map(s->mem, STACK_LO, STACK_HI - STACK_LO, JK_PVM_ACCESS_WRITE) != JK_OK ||
        jk_pvm_memory_map(s->mem, RO_PAGE, 0x1000, JK_PVM_ACCESS_READ) != JK_OK)
        return false;
    jk_pvm_memory_set_heap(s->mem, HEAP_LO, HEAP_LIMIT);
    memset(&s->st, 0, sizeof s->st);
    s->st.regs[0] = 0xFFFF0000u; /* the halt address */
    s->st.regs[1] = STACK_HI;     /* sp */
    s->st.regs[7] = r7;
    s->st.regs[8] = 0x1234567890abcdefull;
    s->st.gas = (int64_t)gas;
    return true;
}

/* Run src on both engines for each r7 in r7s and each gas in 0..gas_hi
 * (step gas_step); compare everything. Returns how many runs ended in each
 * status (for the caller to check the program went where it meant). */
static void diff_runs(const char *name, const char *src, const uint64_t *r7s, size_t nr7, uint64_t gas_lo,
                      uint64_t gas_hi, uint64_t gas_step, int hops, unsigned seen[8])
{
    jk_pvm_program *prog = jk_test_asm_program(src, true);
    if (!prog)
        printf("%s: did not assemble, load or compile\n", name);
    JK_REQUIRE(prog != NULL);
    for (size_t i = 0; i < nr7; i++)
        for (uint64_t gas = gas_lo; gas <= gas_hi; gas += gas_step) {
            side s[2];
            JK_REQUIRE(start(&s[0], r7s[i], gas) && start(&s[1], r7s[i], gas));
            JK_REQUIRE(jk_test_run_served(prog, s[0].mem, &s[0].st, &s[0].ex, JK_PVM_ENGINE_INTERP, hops));
            JK_REQUIRE(jk_test_run_served(prog, s[1].mem, &s[1].st, &s[1].ex, JK_PVM_ENGINE_JIT, hops));
            jk_pvm_state st[2] = {s[0].st, s[1].st};
            jk_pvm_exit ex[2] = {s[0].ex, s[1].ex};
            int before = jk_test_failures();
            JK_CHECK_SAME_STATE(st, ex);
            jk_test_check_same_memory(s[0].mem, s[1].mem, STACK_LO, HEAP_LIMIT);
            if (jk_test_failures() != before)
                printf("%s: r7=%llu gas=%llu: interp status %d pc %u, jit status %d pc %u\n", name,
                       (unsigned long long)r7s[i], (unsigned long long)gas, ex[0].status, st[0].pc, ex[1].status,
                       st[1].pc);
            if (seen && ex[0].status < 8)
                seen[ex[0].status]++;
            jk_pvm_memory_free(s[0].mem);
            jk_pvm_memory_free(s[1].mem);
        }
    jk_pvm_program_free(prog);
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Dynamic jumps to every kind of address: 0, odd, each entry (labels,
 * numbers inside operand bytes, 0, |c|, far past the code), one past the
 * table, the halt address with high bits and its neighbours. */
JK_TEST(test_adv_jit_jump_table_abuse)
{
    static const char src[] =
        "    .jump_table a, b, 1, 3, 5, 7, 9, 0, end, 0x7FFFFFFF, b\n"
        "    branch_eq_imm r8, 7, viaimm\n"
        "    jump_ind r7, 0\n"
        "viaimm: load_imm_jump_ind r2, r7, 99, -2\n"
        "a:  load_imm r2, 1\n"
        "    jump_ind r0, 0\n"
        "b:  load_imm_64 r3, 0x1122334455667788\n"
        "    add_imm_64 r3, r3, 0x7FFF\n"
        "    jump_ind r0, 0\n"
        "end:\n";
    uint64_t r7s[] = {0, 1, 2, 3, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 0xFFFF0000u, 0x1FFFF0000ull,
                      0xFFFEFFFEu, 0xFFFF0002u, 0xFFFFFFFFFFFF0000ull, UINT64_MAX, 0x100000002ull};
    unsigned seen[8] = {0};
    diff_runs("jump table", src, r7s, N(r7s), 0, 12, 1, 6, seen);
    JK_CHECK(seen[JK_PVM_HALT] > 0 && seen[JK_PVM_PANIC] > 0 && seen[JK_PVM_OUT_OF_GAS] > 0);
    /* the same through load_imm_jump_ind (r8 = 7 takes that path) */
    static const char src2[] =
        "    .jump_table a, b, 1, 3, 5, 7, 9, 0, end, 0x7FFFFFFF, b\n"
        "    load_imm r8, 7\n"
        "    load_imm_jump_ind r2, r7, 99, 2\n"
        "a:  load_imm r2, 1\n"
        "    jump_ind r0, 0\n"
        "b:  load_imm_64 r3, 0x1122334455667788\n"
        "    jump_ind r0, 0\n"
        "end:\n";
    diff_runs("jump table (load_imm_jump_ind)", src2, r7s, N(r7s), 0, 8, 1, 6, NULL);
}

/* Static branches and jumps into operand bytes, to |c| and past it. */
JK_TEST(test_adv_jit_branch_into_operands)
{
    static const char src[] =
        "    branch_eq_imm r7, 0, 1\n"
        "    branch_eq_imm r7, 1, 7\n"
        "    branch_eq_imm r7, 2, 100000\n"
        "    branch_eq_imm r7, 3, -5\n"
        "    branch_eq_imm r7, 4, end\n"
        "    load_imm_64 r3, 0x0101010101010101\n"
        "    jump 13\n"
        "end:\n";
    uint64_t r7s[] = {0, 1, 2, 3, 4, 5};
    unsigned seen[8] = {0};
    diff_runs("branch into operands", src, r7s, N(r7s), 0, 10, 1, 6, seen);
    JK_CHECK(seen[JK_PVM_PANIC] > 0);
}

/* One basic block of 20,000 instructions: out of gas before it unless all
 * of it can be paid, then the halt. */
JK_TEST(test_adv_jit_huge_block)
{
    size_t cap = 20000 * 32 + 64, n = 0;
    char *src = malloc(cap);
    JK_REQUIRE(src != NULL);
    for (int i = 0; i < 20000; i++)
        n += (size_t)snprintf(src + n, cap - n, "add_imm_64 r%d, r%d, %d\n", 2 + i % 5, 2 + (i + 1) % 5, i);
    snprintf(src + n, cap - n, "jump_ind r0, 0\n");
    uint64_t r7s[] = {0};
    unsigned seen[8] = {0};
    diff_runs("huge block", src, r7s, 1, 19990, 20010, 1, 1, seen);
    diff_runs("huge block (resumed)", src, r7s, 1, 0, 20001, 2500, 300, seen);
    JK_CHECK(seen[JK_PVM_HALT] > 0 && seen[JK_PVM_OUT_OF_GAS] > 0);
    free(src);
}

/* Recursion to depth r7 (16 bytes a frame): down the stack into the guard
 * below 64 KiB (a panic), and, from sp at the top of the read-only page, a
 * page fault at once. */
JK_TEST(test_adv_jit_deep_recursion)
{
    static const char src[] =
        "    .jump_table ret\n"
        "    branch_ne_imm r9, 1, go\n"
        "    load_imm r1, 0x15000\n"
        "    fallthrough\n"
        "go: load_imm r2, 0\n"
        "    fallthrough\n"
        "rec:\n"
        "    add_imm_64 r1, r1, -16\n"
        "    store_ind_u64 r0, r1, 8\n"
        "    store_ind_u64 r2, r1, 0\n"
        "    add_imm_64 r2, r2, 1\n"
        "    branch_eq r2, r7, ret\n"
        "    load_imm_jump r0, jt(ret), rec\n"
        "ret:\n"
        "    load_ind_u64 r0, r1, 8\n"
        "    add_imm_64 r1, r1, 16\n"
        "    jump_ind r0, 0\n";
    uint64_t r7s[] = {1, 10, 1023, 1024, 1025, 3000};
    unsigned seen[8] = {0};
    diff_runs("recursion", src, r7s, N(r7s), 0, 40000, 1601, 8, seen);
    diff_runs("recursion (full gas)", src, r7s, N(r7s), 1000000, 1000000, 1, 1, seen);
    JK_CHECK(seen[JK_PVM_HALT] > 0 && seen[JK_PVM_PANIC] > 0);
    static const char ro[] = "    load_imm r9, 1\n    load_imm r1, 0x15000\n    store_ind_u64 r0, r1, -8\n    trap\n";
    diff_runs("recursion (read-only stack)", ro, r7s, 1, 0, 5, 1, 2, seen);
    JK_CHECK(seen[JK_PVM_PAGE_FAULT] > 0);
}

/* sbrk of sizes at and across page boundaries and past the limit, a store
 * at the last byte it gave and at the first byte past it, a second sbrk. */
JK_TEST(test_adv_jit_sbrk_boundaries)
{
    static const char src[] =
        "    sbrk r2, r7\n"
        "    add_64 r3, r2, r7\n"
        "    store_ind_u8 r7, r3, -1\n"
        "    sbrk r4, r9\n"
        "    load_imm r5, 1\n"
        "    sbrk r6, r5\n"
        "    store_ind_u8 r6, r6, 0\n"
        "    store_ind_u16 r6, r3, -1\n"
        "    store_ind_u8 r7, r3, 0\n"
        "    jump_ind r0, 0\n";
    uint64_t r7s[] = {0, 1, 4095, 4096, 4097, 8191, 0x2FFF, 0x3000, 0x3001, 0x100000001ull, UINT64_MAX};
    unsigned seen[8] = {0};
    diff_runs("sbrk", src, r7s, N(r7s), 0, 12, 1, 2, seen);
    JK_CHECK(seen[JK_PVM_HALT] > 0 && seen[JK_PVM_PAGE_FAULT] > 0);
}

/* A loop with a store and a host call: every gas from 0 to past its need,
 * so the run stops out of gas before each block of each iteration, and is
 * resumed. */
JK_TEST(test_adv_jit_out_of_gas_everywhere)
{
    static const char src[] =
        "    load_imm r2, 0\n"
        "    fallthrough\n"
        "loop:\n"
        "    add_imm_64 r2, r2, 1\n"
        "    store_ind_u64 r2, r1, -8\n"
        "    ecalli 3\n"
        "    add_64 r10, r10, r7\n"
        "    branch_ne_imm r2, 5, loop\n"
        "    jump_ind r0, 0\n";
    uint64_t r7s[] = {0};
    unsigned seen[8] = {0};
    for (int hops = 1; hops <= 12; hops += 11)
        diff_runs("loop", src, r7s, 1, 0, 60, 1, hops, seen);
    JK_CHECK(seen[JK_PVM_HALT] > 0 && seen[JK_PVM_OUT_OF_GAS] > 0 && seen[JK_PVM_HOST_CALL] > 0);
}

/* Host calls first, before a branch target, as the last instruction (its
 * resume falls off the code), with the largest immediate. */
JK_TEST(test_adv_jit_host_calls_odd_places)
{
    static const char src[] =
        "    ecalli 0xFFFFFFFF\n"
        "    branch_eq_imm r7, 1001, tail\n" /* r7 = 1, plus the 1000 of the first call's service */
        "    ecalli 7\n"
        "    fallthrough\n"
        "tail:\n"
        "    ecalli 0\n";
    uint64_t r7s[] = {0, 1};
    unsigned seen[8] = {0};
    for (int hops = 1; hops <= 6; hops++)
        diff_runs("host calls", src, r7s, N(r7s), 0, 8, 1, hops, seen);
    JK_CHECK(seen[JK_PVM_HOST_CALL] > 0 && seen[JK_PVM_PANIC] > 0);
}

/* Invalid encodings at the end of the code: an instruction cut short (its
 * operands read as the zero-extended code), an undefined opcode, a
 * load_imm_64 missing bytes, a branch whose offset is cut, bitmask bits
 * past the end, no terminator at all. */
JK_TEST(test_adv_jit_invalid_end_of_code)
{
    static const char *const srcs[] = {
        "    load_imm r2, 5\n    .insn 20, 2, 1, 2\n",
        "    load_imm r2, 5\n    .insn 255\n",
        "    load_imm r2, 5\n    .insn 255, 1, 2, 3\n",
        "    load_imm r2, 5\n    .insn 149, 0x22\n",
        "    load_imm r2, 5\n    .insn 82, 0x07\n",
        "    load_imm r2, 5\n    .insn 80, 0x07, 0x01\n",
        "    load_imm r2, 5\n    add_imm_64 r2, r2, 1\n",
        "    load_imm r2, 5\n    add_imm_64 r2, r2, 1\n    .bitmask_tail 0xC0\n",
        "    load_imm r2, 5\n    .byte 1, 2, 3\n",
        "    .insn 50, 0x00\n",
        "    ecalli 1\n    .insn 20, 7\n",
    };
    uint64_t r7s[] = {0, 3};
    for (size_t i = 0; i < N(srcs); i++) {
        char name[64];
        snprintf(name, sizeof name, "invalid end %zu", i);
        diff_runs(name, srcs[i], r7s, N(r7s), 0, 4, 1, 3, NULL);
    }
}
