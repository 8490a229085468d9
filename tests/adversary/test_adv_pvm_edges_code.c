/*
 * test_adv_pvm_edges_code.c — held-out PVM cases in how code is read, on the
 * interpreter and the recompiler against each other and against the
 * Graypaper (test_adv_pvm_edges.c says what the family covers):
 * non-canonical encodings built byte by byte, operands past the end of the
 * code, gas at every point of a chain of basic blocks, and
 * load_imm_jump_ind with ra = rb.
 */
#include "../test.h"
#include "../pvm/jit_test_util.h"
#include "adv_pvm_model.h"

#include "jark/pvm.h"

#include <stdlib.h>

/* ---- non-canonical encodings, built byte by byte ---- */

/* A program blob under construction: code bytes and the opcode bitmask. */
typedef struct rawprog {
    uint8_t code[65536];
    uint8_t starts[65536]; /* 1 where an instruction starts */
    uint32_t len;
} rawprog;

static void raw_insn(rawprog *p, const uint8_t *bytes, uint32_t n)
{
    if (p->len + n > sizeof p->code)
        abort();
    memcpy(p->code + p->len, bytes, n);
    memset(p->starts + p->len, 0, n);
    p->starts[p->len] = 1;
    p->len += n;
}

/* E(|j|)=0 ‖ z=0 ‖ E(|c|) ‖ c ‖ k, with the JAM natural for |c|. */
static jk_pvm_program *raw_load(const rawprog *p)
{
    size_t klen = (p->len + 7) / 8, cap = 16 + p->len + klen, n = 0;
    uint8_t *blob = calloc(1, cap);
    if (!blob)
        return NULL;
    blob[n++] = 0; /* |j| */
    blob[n++] = 0; /* z */
    uint32_t c = p->len;
    if (c < 0x80) {
        blob[n++] = (uint8_t)c;
    } else if (c < 0x4000) {
        blob[n++] = (uint8_t)(0x80 | (c >> 8));
        blob[n++] = (uint8_t)c;
    } else {
        blob[n++] = (uint8_t)(0xC0 | (c >> 16));
        blob[n++] = (uint8_t)c;
        blob[n++] = (uint8_t)(c >> 8);
    }
    memcpy(blob + n, p->code, p->len);
    n += p->len;
    for (uint32_t i = 0; i < p->len; i++)
        if (p->starts[i])
            blob[n + i / 8] |= (uint8_t)(1u << (i % 8));
    n += klen;
    jk_pvm_program *prog = NULL;
    jk_diag diag = {{0}};
    if (jk_pvm_program_load(blob, n, &prog, &diag) != JK_OK)
        printf("load: %s\n", diag.msg);
    free(blob);
    return prog;
}

/* Run on both engines from adv_init_regs with `gas`; compare them; leave the
 * interpreter's run in st[0] / ex[0] and both memories for the caller. */
static void raw_run(const rawprog *p, int64_t gas, jk_pvm_memory *mem[2], jk_pvm_state st[2], jk_pvm_exit ex[2])
{
    jk_pvm_program *prog = raw_load(p);
    JK_REQUIRE(prog != NULL);
    for (int e = 0; e < 2; e++) {
        JK_REQUIRE(adv_start(&mem[e], &st[e], gas));
        JK_REQUIRE(jk_pvm_run_engine(prog, mem[e], &st[e], &ex[e], adv_engine_of(e)) ==
                   JK_OK);
    }
    JK_CHECK_SAME_STATE(st, ex);
    jk_test_check_same_memory(mem[0], mem[1], OUT_LO, OUT_LO + (OUT_PAGES - 1) * JK_PVM_PAGE_SIZE);
    jk_pvm_program_free(prog);
}

static unsigned clamp12(unsigned r) { return r > 12 ? 12 : r; }

/* Three-register instructions with every first byte and third bytes past
 * the canonical 0..12. Graypaper 0.7.1 (A.5.13) writes r_D = min(12,
 * ζ_{ı+2}), the whole byte; PolkaVM (read_args_regs3), whose output the
 * public vectors are, takes its low nibble, min(12, ζ_{ı+2} mod 16), and no
 * public vector has a third byte above 12. jark follows PolkaVM (the vectors
 * are the conformance bar, as for the gas rule); docs/outsider.md records the
 * difference. The jarchain/jar Lean spec (spec/Jar/JAVM/Decode.lean at
 * 4f0890c, `regD`: ⟨min 12 (b % 16)⟩, used by every three-register opcode of
 * Instructions.lean) takes the low nibble too, so jark agrees with the
 * reference; only that repository's Rust interpreter (grey/crates/javm
 * args.rs, ThreeReg: `zeta(code, pc + 2).min(12)`) reads the whole byte, as
 * Graypaper 0.7.1 writes it. This pins it, on both engines. */
JK_TEST(test_adv_pvm_edges_register_bytes)
{
    static const char *ops[] = {"add_64", "sub_64", "xor", "rot_l_64", "mul_64", "shar_r_64", "div_s_64", "cmov_nz"};
    static const uint8_t thirds[] = {0, 1, 7, 11, 12, 13, 14, 15, 0x10, 0x17, 0x1C, 0x1D, 0x2B, 0x80, 0xC7, 0xFF};
    static rawprog p;
    p.len = 0;
    uint64_t r[JK_PVM_REGS];
    memcpy(r, adv_init_regs, sizeof r);
    unsigned n = 0;
    for (unsigned b1 = 0; b1 < 256; b1++)
        for (size_t t = 0; t < N(thirds); t++, n++) {
            const jk_pvm_opinfo *info = jk_pvm_opinfo_find(ops[n % N(ops)]);
            JK_REQUIRE(info != NULL);
            uint8_t insn[3] = {info->opcode, (uint8_t)b1, thirds[t]};
            raw_insn(&p, insn, 3);
            unsigned ra = clamp12(b1 & 15), rb = clamp12(b1 >> 4), rd = clamp12(thirds[t] & 15);
            uint64_t v = 0;
            JK_REQUIRE(adv_model3(info->name, r[ra], r[rb], r[rd], &v));
            r[rd] = v;
        }
    uint8_t trap = 0;
    raw_insn(&p, &trap, 1);
    jk_pvm_memory *mem[2];
    jk_pvm_state st[2];
    jk_pvm_exit ex[2];
    raw_run(&p, (int64_t)n + 1, mem, st, ex);
    JK_CHECK_EQ(ex[0].status, JK_PVM_PANIC);
    JK_CHECK_EQ(st[0].gas, 0);
    for (int e = 0; e < 2; e++)
        for (int i = 0; i < JK_PVM_REGS; i++)
            JK_CHECK_EQ(st[e].regs[i], r[i]);
    jk_pvm_memory_free(mem[0]);
    jk_pvm_memory_free(mem[1]);
}

/* X_n(little-endian bytes): the Graypaper's sign extension of n bytes. */
static uint64_t sext_bytes(const uint8_t *b, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)b[i] << (8 * i);
    if (n && n < 8 && (v >> (8 * n - 1)) & 1)
        v |= ~0ull << (8 * n);
    return v;
}

/* Immediates of every length, 0 to past 4 (the extra bytes are skipped,
 * not read), with garbage in the bits the format does not use: load_imm
 * and add_imm_64 (l_X = min(4, ℓ − 1)), store_imm_u64 (l_X = min(4, ζ_{ı+1}
 * mod 8), l_Y = min(4, ℓ − l_X − 1)), store_imm_ind_u64 (l_X from bits 4..6
 * of the register byte). One basic block, checked against the model. */
JK_TEST(test_adv_pvm_edges_immediate_lengths)
{
    static rawprog p;
    p.len = 0;
    uint64_t r[JK_PVM_REGS];
    memcpy(r, adv_init_regs, sizeof r);
    uint64_t mem_model[256] = {0}; /* the 256 slots at OUT_LO */
    bool written[256] = {false};
    unsigned n = 0, slot = 0;
    uint8_t insn[32];
    /* r12 = OUT_LO, the base of the indirect stores (register nibbles 12..15) */
    insn[0] = 20;
    insn[1] = 0xF0 | 12; /* high nibble: not read */
    for (int i = 0; i < 8; i++)
        insn[2 + i] = (uint8_t)((uint64_t)OUT_LO >> (8 * i));
    raw_insn(&p, insn, 10);
    r[12] = OUT_LO;
    n++;
    for (unsigned ell = 0; ell <= 9; ell++)
        for (unsigned v = 0; v < 6; v++) {
            uint8_t imm[8];
            for (int i = 0; i < 8; i++)
                imm[i] = (uint8_t)(0x81 + 0x36 * v + 0x11 * (unsigned)i);
            unsigned lx = ell == 0 ? 0 : (ell - 1 < 4 ? ell - 1 : 4);
            /* load_imm ra, imm: ra from the low nibble, 0..11 here */
            unsigned ra = (ell + v) % 12;
            insn[0] = 51;
            insn[1] = (uint8_t)(ra | (v << 4));
            memcpy(insn + 2, imm, 8);
            if (ell >= 1) {
                raw_insn(&p, insn, 1 + ell);
                r[ra] = sext_bytes(imm, lx);
                n++;
            }
            /* add_imm_64 ra, rb, imm */
            unsigned rb = (ra + 5) % 13;
            insn[0] = 149;
            insn[1] = (uint8_t)(ra | rb << 4);
            if (ell >= 1) {
                raw_insn(&p, insn, 1 + ell);
                r[ra] = r[rb] + sext_bytes(imm, lx);
                n++;
            }
            r[12] = OUT_LO; /* keep the base */
            insn[0] = 20;
            insn[1] = 12;
            for (int i = 0; i < 8; i++)
                insn[2 + i] = (uint8_t)((uint64_t)OUT_LO >> (8 * i));
            raw_insn(&p, insn, 10);
            n++;
            /* store_imm_u64 addr, value: l_X = 3 (OUT_LO + slot fits in 3 positive bytes) */
            for (unsigned lxs = 3; lxs <= 7; lxs += 2) {
                uint32_t addr = OUT_LO + slot * 8;
                unsigned lxe = lxs > 4 ? 4 : lxs;
                insn[0] = 33;
                insn[1] = (uint8_t)(lxs | (v << 3)); /* bits 3..7: not read */
                for (unsigned i = 0; i < lxe; i++)
                    insn[2 + i] = (uint8_t)(addr >> (8 * i));
                unsigned avail = ell > lxe + 1 ? ell - lxe - 1 : 0, ly = avail < 4 ? avail : 4;
                memcpy(insn + 2 + lxe, imm, 8);
                uint32_t len = 2 + lxe + avail;
                raw_insn(&p, insn, len);
                mem_model[slot] = sext_bytes(imm, ly);
                written[slot++] = true;
                n++;
            }
            /* store_imm_ind_u64 r12 (nibble 12..15), offset, value */
            {
                uint32_t off = slot * 8;
                unsigned lxs = 2 + v % 3; /* 2..4 offset bytes: the offset (< 2048) stays positive */
                insn[0] = 73;
                insn[1] = (uint8_t)((12 + v % 4) | (lxs << 4) | (v & 1) << 7); /* bit 7: not read */
                for (unsigned i = 0; i < lxs; i++)
                    insn[2 + i] = (uint8_t)(off >> (8 * i));
                unsigned avail = ell > lxs + 1 ? ell - lxs - 1 : 0, ly = avail < 4 ? avail : 4;
                memcpy(insn + 2 + lxs, imm, 8);
                raw_insn(&p, insn, 2 + lxs + avail);
                mem_model[slot] = sext_bytes(imm, ly);
                written[slot++] = true;
                n++;
            }
        }
    JK_REQUIRE(slot <= 256);
    uint8_t trap = 0;
    raw_insn(&p, &trap, 1);
    n++;
    jk_pvm_memory *mem[2];
    jk_pvm_state st[2];
    jk_pvm_exit ex[2];
    raw_run(&p, (int64_t)n, mem, st, ex);
    if (ex[0].status != JK_PVM_PANIC)
        printf("immediate lengths: status %d at pc %u (fault %#x), gas %lld\n", ex[0].status, st[0].pc,
               ex[0].fault_address, (long long)st[0].gas);
    JK_CHECK_EQ(ex[0].status, JK_PVM_PANIC);
    JK_CHECK_EQ(st[0].gas, 0);
    for (int e = 0; e < 2; e++) {
        for (int i = 0; i < JK_PVM_REGS; i++)
            JK_CHECK_EQ(st[e].regs[i], r[i]);
        const uint8_t *page = jk_pvm_memory_page(mem[e], OUT_LO);
        JK_REQUIRE(page != NULL);
        for (unsigned s = 0; s < 256; s++) {
            uint64_t got;
            memcpy(&got, page + s * 8, 8);
            JK_CHECK_EQ(got, written[s] ? mem_model[s] : 0);
        }
    }
    jk_pvm_memory_free(mem[0]);
    jk_pvm_memory_free(mem[1]);
}

/* Operands past the end of the code read as zeros, and the pc past the
 * last instruction reads a trap: a load_imm_64 with three of its eight
 * bytes, a load_imm whose one immediate byte is the last of the code. */
JK_TEST(test_adv_pvm_edges_operands_past_the_end)
{
    static rawprog p;
    jk_pvm_memory *mem[2];
    jk_pvm_state st[2];
    jk_pvm_exit ex[2];
    static const uint8_t cut64[] = {20, 0x07, 0x11, 0x22, 0x83};
    p.len = 0;
    raw_insn(&p, cut64, sizeof cut64);
    raw_run(&p, 10, mem, st, ex);
    JK_CHECK_EQ(ex[0].status, JK_PVM_PANIC);
    JK_CHECK_EQ(st[0].regs[7], 0x832211u); /* zero-padded, not sign-extended */
    JK_CHECK_EQ(st[1].regs[7], 0x832211u);
    jk_pvm_memory_free(mem[0]);
    jk_pvm_memory_free(mem[1]);
    static const uint8_t cut[] = {51, 0x09, 0x80};
    p.len = 0;
    raw_insn(&p, cut, sizeof cut);
    raw_run(&p, 10, mem, st, ex);
    JK_CHECK_EQ(ex[0].status, JK_PVM_PANIC);
    JK_CHECK_EQ(st[0].regs[9], 0xFFFFFFFFFFFFFF80ull);
    JK_CHECK_EQ(st[1].regs[9], 0xFFFFFFFFFFFFFF80ull);
    jk_pvm_memory_free(mem[0]);
    jk_pvm_memory_free(mem[1]);
}

/* ---- gas at block boundaries, against the rule of architecture §4 ---- */

/* Straight-line basic blocks of 1, 2, 5, 1, 3, 4 and 1 instructions (each
 * ended by fallthrough, the last by trap), run with every gas from 0 to
 * one past their total: a block is entered only when all of it can be paid,
 * so the run stops out of gas at the start of the first block whose cost
 * passes what is left, with that much gas left and nothing of the block
 * done; with enough it reaches the trap with the rest. Registers record how
 * far it got (r7 counts blocks entered). */
JK_TEST(test_adv_pvm_edges_gas_at_block_boundaries)
{
    static const unsigned sizes[] = {1, 2, 5, 1, 3, 4, 1};
    char src[2048];
    size_t len = 0;
    unsigned total = 0;
    for (size_t b = 0; b < N(sizes); b++) {
        len += (size_t)snprintf(src + len, sizeof src - len, "b%zu:\n", b);
        /* sizes[b] − 1 instructions, then the terminator */
        for (unsigned i = 0; i + 1 < sizes[b]; i++)
            len += (size_t)snprintf(src + len, sizeof src - len, "    add_imm_64 r%u, r%u, 1\n", i == 0 ? 7u : 8u,
                                    i == 0 ? 7u : 8u);
        len += (size_t)snprintf(src + len, sizeof src - len, "    %s\n", b + 1 < N(sizes) ? "fallthrough" : "trap");
        total += sizes[b];
    }
    jk_pvm_program *prog = jk_test_asm_program(src, true);
    JK_REQUIRE(prog != NULL);
    for (unsigned gas = 0; gas <= total + 1; gas++) {
        /* the model: the first block that cannot be paid */
        unsigned paid = 0, stop = (unsigned)N(sizes);
        for (size_t b = 0; b < N(sizes); b++) {
            if (paid + sizes[b] > gas) {
                stop = (unsigned)b;
                break;
            }
            paid += sizes[b];
        }
        uint64_t r7 = adv_init_regs[7], r8 = adv_init_regs[8];
        for (unsigned b = 0; b < stop; b++) {
            r7 += sizes[b] > 1;
            r8 += sizes[b] > 2 ? sizes[b] - 2 : 0;
        }
        jk_pvm_memory *mem[2];
        jk_pvm_state st[2];
        jk_pvm_exit ex[2];
        for (int e = 0; e < 2; e++) {
            JK_REQUIRE(adv_start(&mem[e], &st[e], gas));
            JK_REQUIRE(jk_pvm_run_engine(prog, mem[e], &st[e], &ex[e], adv_engine_of(e)) ==
                       JK_OK);
        }
        int before = jk_test_failures();
        JK_CHECK_SAME_STATE(st, ex);
        for (int e = 0; e < 2; e++) {
            JK_CHECK_EQ(ex[e].status, stop < N(sizes) ? JK_PVM_OUT_OF_GAS : JK_PVM_PANIC);
            JK_CHECK_EQ(st[e].gas, (int64_t)(gas - paid));
            JK_CHECK_EQ(st[e].regs[7], r7);
            JK_CHECK_EQ(st[e].regs[8], r8);
            if (stop < N(sizes)) {
                /* pc: the block's first instruction, as bytes: add_imm_64 is
                 * 3 bytes (op, regs, imm 1), fallthrough and trap 1 */
                uint32_t pc = 0;
                for (unsigned b = 0; b < stop; b++)
                    pc += 3 * (sizes[b] - 1) + 1;
                JK_CHECK_EQ(st[e].pc, pc);
            }
        }
        if (jk_test_failures() != before)
            printf("gas %u: model stops at block %u (of %zu) with %u paid\n", gas, stop, N(sizes), paid);
        jk_pvm_memory_free(mem[0]);
        jk_pvm_memory_free(mem[1]);
    }
    jk_pvm_program_free(prog);
}

/* load_imm_jump_ind with ra = rb: the jump uses ω_B as it was before ω_A
 * is written (Graypaper A.5.12: both read the pre-state), on each entry of
 * the jump table and around it. */
JK_TEST(test_adv_pvm_edges_load_imm_jump_ind_same_register)
{
    static const char src[] =
        "    .jump_table t1, t2, t3\n"
        "    load_imm_jump_ind r7, r7, 1000, 0\n"
        "t1: load_imm r8, 1\n"
        "    trap\n"
        "t2: load_imm r8, 2\n"
        "    trap\n"
        "t3: load_imm r8, 3\n"
        "    trap\n";
    jk_pvm_program *prog = jk_test_asm_program(src, true);
    JK_REQUIRE(prog != NULL);
    for (uint64_t a = 0; a <= 8; a++) {
        jk_pvm_memory *mem[2];
        jk_pvm_state st[2];
        jk_pvm_exit ex[2];
        for (int e = 0; e < 2; e++) {
            JK_REQUIRE(adv_start(&mem[e], &st[e], 100));
            st[e].regs[7] = a;
            JK_REQUIRE(jk_pvm_run_engine(prog, mem[e], &st[e], &ex[e], adv_engine_of(e)) ==
                       JK_OK);
        }
        JK_CHECK_SAME_STATE(st, ex);
        bool valid = a == 2 || a == 4 || a == 6; /* table index a / 2 − 1 */
        for (int e = 0; e < 2; e++) {
            JK_CHECK_EQ(ex[e].status, JK_PVM_PANIC); /* the trap, or the bad jump */
            /* ra is written even when the jump then panics (docs/pvm.md) */
            JK_CHECK_EQ(st[e].regs[7], 1000u);
            JK_CHECK_EQ(st[e].regs[8], valid ? a / 2 : adv_init_regs[8]);
        }
        jk_pvm_memory_free(mem[0]);
        jk_pvm_memory_free(mem[1]);
    }
    jk_pvm_program_free(prog);
}
