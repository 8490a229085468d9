/*
 * test_jit_known.c — the recompiler's accesses at addresses known at compile
 * time (src/pvm/jit_mem.c, "Known addresses") against the interpreter: the
 * absolute forms and register-based ones whose base a `load_imm` set, on
 * writable, read-only, copy-on-write and unmapped pages, two known pages
 * sharing a TLB entry, an access straddling a page and one above 2^31 (both
 * left to the ordinary path), a host call between the `load_imm` and the
 * access, and runs that start at every instruction (between the `load_imm`
 * and its access the proof does not hold).
 */
#include "../test.h"
#include "jit_test_util.h"
#include "../../src/pvm/jit.h"

#include <stdlib.h>

static _Alignas(4096) uint8_t jk_known_shared[4096];

/* 0x2c000 copy-on-write (or unmapped), 0x2d000 a read-only Data page,
 * 0x2e000 read-only (or unmapped), 0x2f000 and 0x3f000 writable (the same
 * TLB entry: page numbers ≡ 15 mod 16), 0x80001000 writable. */
static jk_pvm_memory *jk_known_memory(int holes)
{
    jk_pvm_memory *mem = NULL;
    if (jk_pvm_memory_new(&mem) != JK_OK)
        return NULL;
    uint8_t fill[256];
    for (unsigned i = 0; i < sizeof fill; i++)
        fill[i] = (uint8_t)(i * 37 + 11);
    jk_pvm_memory_map(mem, 0x2e000, 0x2000, JK_PVM_ACCESS_WRITE);
    jk_pvm_memory_map(mem, 0x3f000, 0x1000, JK_PVM_ACCESS_WRITE);
    jk_pvm_memory_map(mem, 0x80001000u, 0x1000, JK_PVM_ACCESS_WRITE);
    for (uint32_t a = 0x2e000; a < 0x30000; a += sizeof fill)
        jk_pvm_memory_write(mem, a, fill, sizeof fill);
    jk_pvm_memory_write(mem, 0x3f000, fill, sizeof fill);
    jk_pvm_memory_write(mem, 0x80001000u, fill, sizeof fill);
    jk_pvm_memory_map(mem, 0x2e000, 0x1000, holes ? JK_PVM_ACCESS_NONE : JK_PVM_ACCESS_READ);
    if (!holes)
        jk_pvm_memory_map_shared(mem, 0x2c000, jk_known_shared, JK_PVM_ACCESS_WRITE);
    jk_pvm_memory_map_shared(mem, 0x2d000, jk_known_shared, JK_PVM_ACCESS_READ);
    return mem;
}

/* Run prog from pc on both engines (host calls: r7 += 1000) and compare
 * everything observable; the recompiler's exit out. */
static void jk_known_both(const jk_pvm_program *prog, uint32_t pc, int holes, jk_pvm_exit *out)
{
    jk_pvm_memory *mem[2];
    jk_pvm_state st[2];
    jk_pvm_exit ex[2];
    for (int e = 0; e < 2; e++) {
        mem[e] = jk_known_memory(holes);
        JK_REQUIRE(mem[e] != NULL);
        memset(&st[e], 0, sizeof st[e]);
        for (int r = 0; r < JK_PVM_REGS; r++)
            st[e].regs[r] = 0x2f400 + (uint64_t)r * 0x10; /* readable, wrong addresses */
        st[e].regs[10] = 2;
        st[e].pc = pc;
        st[e].gas = 10000;
        JK_REQUIRE(jk_test_run_served(prog, mem[e], &st[e], &ex[e],
                                      e ? JK_PVM_ENGINE_JIT : JK_PVM_ENGINE_INTERP, 100));
    }
    JK_CHECK_SAME_STATE(st, ex);
    jk_test_check_same_memory(mem[0], mem[1], 0x2c000, 0x3f000);
    jk_test_check_same_memory(mem[0], mem[1], 0x80001000u, 0x80001000u);
    jk_pvm_memory_free(mem[0]);
    jk_pvm_memory_free(mem[1]);
    JK_CHECK(jk_known_shared[8] == 0);
    if (out)
        *out = ex[1];
}

JK_TEST(test_jit_known_addresses_are_the_interpreters)
{
    /* Twice round a loop (the first round misses the TLB, the second
     * hits), then a halt. */
    jk_pvm_program *prog = jk_test_asm_program(
        ".jump_table loop\n"
        "loop:\n"
        "    load_imm r9, 0x2f010\n"          /* writable */
        "    load_ind_u64 r8, r9, 8\n"
        "    add_64 r8, r8, r10\n"
        "    store_ind_u64 r8, r9, 16\n"
        "    move_reg r2, r8\n"
        "    store_imm_ind_u32 r9, 24, 0x12345678\n"
        "    load_imm r11, 0x2e000\n"         /* read-only, or unmapped */
        "    load_ind_u32 r12, r11, 0x20\n"
        "    load_imm r11, 0x2d000\n"         /* a read-only Data page */
        "    load_ind_i16 r3, r11, 6\n"
        "    load_u64 r2, 0x2f100\n"
        "    load_u32 r12, 0x2c00c\n"         /* copy-on-write (in tlb_r), or unmapped */
        "    store_u32 r2, 0x2c008\n"
        "    store_imm_u16 0x2f208, 0x4321\n"
        "    load_imm r7, 0x2f200\n"
        "    ecalli 0\n"                      /* r7 += 1000 */
        "    load_ind_u64 r3, r7, 0\n"
        "    store_ind_u64 r3, r7, 8\n"
        "    load_imm r9, 0x3f000\n"          /* the TLB entry of 0x2f000 */
        "    load_ind_u64 r4, r9, 0\n"
        "    store_ind_u64 r4, r9, 16\n"
        "    load_imm r9, 0x2fffc\n"          /* straddles into 0x30000 on a second round */
        "    load_ind_u32 r5, r9, 0\n"
        "    load_imm r6, 0x80001000\n"       /* above 2^31 */
        "    load_ind_u64 r6, r6, 8\n"
        "    add_imm_64 r10, r10, -1\n"
        "    branch_ne_imm r10, 0, loop\n"
        "    load_imm r9, 0x2fffc\n"
        "    load_ind_u64 r5, r9, 0\n"        /* straddles into 0x30000: a fault */
        "    trap\n",
        true);
    JK_REQUIRE(prog != NULL);
    jk_pvm_exit ex;
    jk_known_both(prog, 0, 0, &ex);
    JK_CHECK_EQ(ex.status, JK_PVM_PAGE_FAULT);
    JK_CHECK_EQ(ex.fault_address, 0x30000u);
    jk_known_both(prog, 0, 1, &ex);
    JK_CHECK_EQ(ex.status, JK_PVM_PAGE_FAULT);
    JK_CHECK_EQ(ex.fault_address, 0x2e000u);
    /* from every instruction: between a load_imm and its access the base
     * holds a wrong (readable) address, which the run must use */
    for (uint32_t i = 0; i < prog->insn_count; i++)
        for (int holes = 0; holes < 2; holes++)
            jk_known_both(prog, prog->insns[i].pc, holes, NULL);
#if JK_PVM_HAVE_JIT
    /* the known-address path was used: the access after load_imm is no entry */
    JK_CHECK_EQ(prog->jit->entry[2], JK_JIT_NO_ENTRY);
    JK_CHECK(prog->jit->entry[16] != JK_JIT_NO_ENTRY); /* after ecalli: r7 not known */
#endif
    jk_pvm_program_free(prog);
}
