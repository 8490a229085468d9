/*
 * test_adv_pvm_edges.c — held-out PVM cases of our own: programs generated
 * here at the instruction boundaries the public vectors barely touch, run on
 * the interpreter and the recompiler, each result checked against a model of
 * the Graypaper's definition (Appendix A.5, 64-bit PVM) written in adv_pvm_model.c
 * independently of src/pvm, and the two engines against each other on
 * everything observable.
 *
 * What is generated (every register choice from a fixed-seed generator, so
 * the registers the recompiler keeps in rcx, rax or rdx, and every aliasing of
 * rd, ra and rb, are met):
 *   - every three-register ALU op on 26 edge values × 26 (shifts and
 *     rotations by 31, 32, 33, 63, 64, 65, 127 and by values with high bits,
 *     signed division INT_MIN / −1 at both widths, division by 0 and by a
 *     value whose low 32 bits are 0, the upper halves of products of extremes);
 *   - every two-register-and-immediate ALU op on those values × 17
 *     immediates, the "alt" forms (immediate shifted by a register) included;
 *   - every two-register op (bit counts, extends, byte reversal) on them;
 *   - every comparison branch, register and immediate forms, on the pairs;
 *   - each case program as one basic block run with exactly its cost (it
 *     completes) and one gas less (out of gas at pc 0, nothing changed);
 *   - loads and stores of every width at page-crossing addresses: the last
 *     bytes of a read-write page before a read-only page, before an unmapped
 *     page, the 64 KiB guard, addresses that wrap past 2^32 (base + offset
 *     taken mod 2^32) and bases with high bits set;
 *   - non-canonical encodings built byte by byte, and operands past the end;
 *   - gas at every point of a chain of basic blocks, against the block rule;
 *   - load_imm_jump_ind with ra = rb.
 *
 * This file holds the ALU ops and the branches; test_adv_pvm_edges_mem.c the
 * loads and stores and sbrk; test_adv_pvm_edges_code.c the encodings, gas and
 * load_imm_jump_ind; adv_pvm_model.c the model they all check against.
 */
#include "../test.h"
#include "../pvm/jit_test_util.h"
#include "adv_pvm_model.h"

#include "jark/pvm.h"

#include <stdarg.h>
#include <stdlib.h>

static const uint64_t VALS[] = {
    0, 1, 2, 31, 32, 33, 63, 64, 65, 127, 0x80, 0xFF,
    0x7FFFFFFFull, 0x80000000ull, 0xFFFFFFFFull, 0x100000000ull, 0x100000001ull, 0x100000040ull,
    0x7FFFFFFFFFFFFFFFull, 0x8000000000000000ull, 0xFFFFFFFFFFFFFFFFull, 0xFFFFFFFFFFFFFFFEull,
    0xFFFFFFFF80000000ull, 0xFFFFFFFF00000000ull, 0x123456789ABCDEF0ull, 0x00000000FFFFFFC0ull,
};
static const int32_t IMMS[] = {0, 1, -1, 2, 31, 32, 33, 63, 64, 65, 127, 0x7F, -0x80,
                               INT32_MAX, INT32_MIN, 0x12345678, -0x10000};

/* splitmix64: a fixed seed, so every run generates the same programs */
static uint64_t rng_state = 0x6a61726b2d616476ull;
static uint64_t rng(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* ---- running a generated program on both engines ---- */

typedef struct gen {
    char *src;
    size_t len, cap;
    unsigned insns;  /* instructions emitted, the straight-line cost */
    unsigned ncases;
    uint64_t want[OUT_PAGES * JK_PVM_PAGE_SIZE / 8];
} gen;

static void emit(gen *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void emit(gen *g, const char *fmt, ...)
{
    va_list ap;
    if (!g->src && !(g->src = calloc(1, g->cap = 4096)))
        abort();
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(g->src + g->len, g->cap - g->len, fmt, ap);
        va_end(ap);
        if (n >= 0 && g->len + (size_t)n < g->cap) {
            g->len += (size_t)n;
            return;
        }
        g->cap = g->cap * 2 + (size_t)(n > 0 ? n : 0) + 256;
        g->src = realloc(g->src, g->cap);
        if (!g->src)
            abort();
    }
}
/* Run the generated program on both engines with gas = its cost (it must
 * reach the closing trap: a panic with 0 gas left, and every case's stored
 * result equal to the model's) and with one gas less (out of gas at pc 0,
 * registers and memory untouched). The engines must agree on everything. */
static void run_gen(const char *what, gen *g)
{
    emit(g, "    trap\n");
    g->insns++;
    jk_pvm_program *prog = jk_test_asm_program(g->src, true);
    if (!prog)
        printf("%s: did not assemble, load or compile\n", what);
    JK_REQUIRE(prog != NULL);
    for (int short_by = 0; short_by <= 1; short_by++) {
        jk_pvm_memory *mem[2];
        jk_pvm_state st[2];
        jk_pvm_exit ex[2];
        for (int e = 0; e < 2; e++) {
            JK_REQUIRE(adv_start(&mem[e], &st[e], (int64_t)g->insns - short_by));
            JK_REQUIRE(jk_pvm_run_engine(prog, mem[e], &st[e], &ex[e],
                                         adv_engine_of(e)) == JK_OK);
        }
        int before = jk_test_failures();
        JK_CHECK_SAME_STATE(st, ex);
        jk_test_check_same_memory(mem[0], mem[1], OUT_LO, OUT_LO + (OUT_PAGES - 1) * JK_PVM_PAGE_SIZE);
        for (int e = 0; e < 2; e++) {
            const char *engine = e ? "jit" : "interp";
            if (short_by) {
                /* a block it cannot pay for is not entered */
                JK_CHECK_EQ(ex[e].status, JK_PVM_OUT_OF_GAS);
                JK_CHECK_EQ(st[e].pc, 0u);
                JK_CHECK_EQ(st[e].gas, (int64_t)g->insns - 1);
                JK_CHECK(memcmp(st[e].regs, adv_init_regs, sizeof adv_init_regs) == 0);
                for (uint32_t p = 0; p < OUT_PAGES; p++) {
                    const uint8_t *page = jk_pvm_memory_page(mem[e], OUT_LO + p * JK_PVM_PAGE_SIZE);
                    for (size_t i = 0; page && i < JK_PVM_PAGE_SIZE; i++)
                        if (page[i]) {
                            JK_CHECK(!"memory written by a block that was not entered");
                            break;
                        }
                }
                continue;
            }
            JK_CHECK_EQ(ex[e].status, JK_PVM_PANIC);
            JK_CHECK_EQ(st[e].gas, 0);
            for (unsigned c = 0; c < g->ncases; c++) {
                uint32_t addr = OUT_LO + c * 8;
                const uint8_t *page = jk_pvm_memory_page(mem[e], addr & ~(uint32_t)(JK_PVM_PAGE_SIZE - 1));
                uint64_t got = 0;
                if (page)
                    memcpy(&got, page + (addr & (JK_PVM_PAGE_SIZE - 1)), 8);
                if (got != g->want[c]) {
                    jk_test_fail(__FILE__, __LINE__, "%s on %s: case %u: got %#llx, the Graypaper gives %#llx", what,
                                 engine, c, (unsigned long long)got, (unsigned long long)g->want[c]);
                    /* the case's text, to reproduce it */
                    char tag[32];
                    snprintf(tag, sizeof tag, "; case %u\n", c);
                    const char *at = strstr(g->src, tag);
                    if (at) {
                        const char *end = strstr(at + strlen(tag), "; case ");
                        printf("%.*s", (int)(end ? end - at : 200), at);
                    }
                }
            }
        }
        if (jk_test_failures() != before)
            printf("%s: gas short by %d: interp status %d pc %u, jit status %d pc %u\n", what, short_by, ex[0].status,
                   st[0].pc, ex[1].status, st[1].pc);
        jk_pvm_memory_free(mem[0]);
        jk_pvm_memory_free(mem[1]);
    }
    jk_pvm_program_free(prog);
    g->len = 0;
    g->insns = 0;
    g->ncases = 0;
    if (g->src)
        g->src[0] = 0;
}

/* A register other than r0 would do, but r0..r12 all take part: r0 and r1
 * are the ABI's ra and sp, nothing in the PVM treats them apart. */
static unsigned pick_reg(void) { return (unsigned)(rng() % JK_PVM_REGS); }

static void store_result(gen *g, unsigned reg, uint64_t want)
{
    emit(g, "    store_u64 r%u, %u\n", reg, OUT_LO + g->ncases * 8);
    g->insns++;
    g->want[g->ncases++] = want;
}

static void load64(gen *g, unsigned reg, uint64_t v)
{
    emit(g, "    load_imm_64 r%u, %#llx\n", reg, (unsigned long long)v);
    g->insns++;
}

#define CASES_PER_PROG (OUT_PAGES * JK_PVM_PAGE_SIZE / 8)

/* Load v into register reg, in the program and in the model's r. */
static void set_reg(gen *g, uint64_t *r, unsigned reg, uint64_t v)
{
    load64(g, reg, v);
    r[reg] = v;
}

/* The case's instruction was emitted: store reg, whose value the model
 * gives as want; run the program when it holds as many cases as fit. */
static void end_case(gen *g, const char *name, unsigned reg, uint64_t want)
{
    g->insns++;
    store_result(g, reg, want);
    if (g->ncases == CASES_PER_PROG)
        run_gen(name, g);
}

/* Every three-register ALU op on VALS × VALS, registers drawn at random
 * (aliasing included) for each case. */
JK_TEST(test_adv_pvm_edges_three_registers)
{
    gen g = {0};
    unsigned ops = 0;
    for (int opc = 0; opc < 256; opc++) {
        const jk_pvm_opinfo *info = jk_pvm_opinfo_get((uint8_t)opc);
        if (!info || info->format != JK_PVM_ARGS_REG_REG_REG)
            continue;
        uint64_t probe;
        JK_CHECK(adv_model3(info->name, 0, 0, 0, &probe));
        ops++;
        for (size_t i = 0; i < N(VALS); i++)
            for (size_t j = 0; j < N(VALS); j++) {
                unsigned rd = pick_reg(), ra = pick_reg(), rb = pick_reg();
                uint64_t r[JK_PVM_REGS];
                memcpy(r, adv_init_regs, sizeof r);
                uint64_t d0 = VALS[(i + j + 7) % N(VALS)] ^ 0x5555;
                emit(&g, "; case %u\n", g.ncases);
                set_reg(&g, r, rd, d0);
                set_reg(&g, r, ra, VALS[i]);
                set_reg(&g, r, rb, VALS[j]);
                uint64_t want = 0;
                adv_model3(info->name, r[ra], r[rb], r[rd], &want);
                emit(&g, "    %s r%u, r%u, r%u\n", info->name, rd, ra, rb);
                end_case(&g, info->name, rd, want);
            }
        if (g.ncases)
            run_gen(info->name, &g);
    }
    JK_CHECK_EQ(ops, 41u);
    free(g.src);
}

JK_TEST(test_adv_pvm_edges_register_immediate)
{
    gen g = {0};
    unsigned ops = 0;
    for (int opc = 0; opc < 256; opc++) {
        const jk_pvm_opinfo *info = jk_pvm_opinfo_get((uint8_t)opc);
        if (!info || info->format != JK_PVM_ARGS_REG_REG_IMM || strncmp(info->name, "load_", 5) == 0 ||
            strncmp(info->name, "store_", 6) == 0)
            continue;
        uint64_t probe;
        JK_CHECK(adv_model2i(info->name, 0, 0, 0, &probe));
        ops++;
        for (size_t i = 0; i < N(VALS); i++)
            for (size_t k = 0; k < N(IMMS); k++) {
                unsigned ra = pick_reg(), rb = pick_reg();
                uint64_t x = (uint64_t)(int64_t)IMMS[k];
                uint64_t a0 = VALS[(i + k + 3) % N(VALS)] ^ 0xAAAA;
                uint64_t r[JK_PVM_REGS];
                memcpy(r, adv_init_regs, sizeof r);
                emit(&g, "; case %u\n", g.ncases);
                set_reg(&g, r, ra, a0);
                set_reg(&g, r, rb, VALS[i]);
                uint64_t want = 0;
                adv_model2i(info->name, r[rb], x, r[ra], &want);
                emit(&g, "    %s r%u, r%u, %d\n", info->name, ra, rb, IMMS[k]);
                end_case(&g, info->name, ra, want);
            }
        if (g.ncases)
            run_gen(info->name, &g);
    }
    JK_CHECK_EQ(ops, 31u);
    free(g.src);
}

JK_TEST(test_adv_pvm_edges_two_registers)
{
    gen g = {0};
    unsigned ops = 0;
    for (int opc = 0; opc < 256; opc++) {
        const jk_pvm_opinfo *info = jk_pvm_opinfo_get((uint8_t)opc);
        if (!info || info->format != JK_PVM_ARGS_REG_REG || strcmp(info->name, "sbrk") == 0)
            continue;
        uint64_t probe;
        JK_CHECK(adv_model2(info->name, 0, &probe));
        ops++;
        for (size_t i = 0; i < N(VALS); i++)
            for (int alias = 0; alias < 2; alias++) {
                unsigned rd = pick_reg(), ra = alias ? rd : pick_reg();
                uint64_t want = 0;
                emit(&g, "; case %u\n", g.ncases);
                load64(&g, rd, 0x5A5A5A5A5A5A5A5Aull);
                load64(&g, ra, VALS[i]);
                adv_model2(info->name, VALS[i], &want);
                emit(&g, "    %s r%u, r%u\n", info->name, rd, ra);
                end_case(&g, info->name, rd, want);
            }
        run_gen(info->name, &g);
    }
    JK_CHECK_EQ(ops, 11u);
    free(g.src);
}

/* Comparison branches on the value pairs: each case stores 1 when taken, 2
 * when not, through its own blocks (so gas is not one block here: the test
 * gives plenty and checks the results and the two engines). */
JK_TEST(test_adv_pvm_edges_branches)
{
    unsigned ops = 0;
    for (int opc = 0; opc < 256; opc++) {
        const jk_pvm_opinfo *info = jk_pvm_opinfo_get((uint8_t)opc);
        if (!info || (info->format != JK_PVM_ARGS_REG_REG_OFFSET && info->format != JK_PVM_ARGS_REG_IMM_OFFSET) ||
            strcmp(info->name, "load_imm_jump") == 0)
            continue;
        bool imm = info->format == JK_PVM_ARGS_REG_IMM_OFFSET, t;
        JK_CHECK(adv_model_branch(info->name, 0, 0, &t));
        ops++;
        gen g = {0};
        unsigned label = 0;
        for (size_t i = 0; i < N(VALS); i++)
            for (size_t j = 0; j < (imm ? N(IMMS) : N(VALS)); j++) {
                unsigned ra = pick_reg(), rb = pick_reg();
                uint64_t b = imm ? (uint64_t)(int64_t)IMMS[j] : VALS[j];
                uint64_t r[JK_PVM_REGS];
                memcpy(r, adv_init_regs, sizeof r);
                emit(&g, "; case %u\n", g.ncases);
                load64(&g, ra, VALS[i]);
                r[ra] = VALS[i];
                bool taken = false;
                if (imm) {
                    adv_model_branch(info->name, r[ra], b, &taken);
                    emit(&g, "    %s r%u, %d, t%u\n", info->name, ra, IMMS[j], label);
                } else {
                    load64(&g, rb, VALS[j]);
                    r[rb] = VALS[j];
                    adv_model_branch(info->name, r[ra], r[rb], &taken);
                    emit(&g, "    %s r%u, r%u, t%u\n", info->name, ra, rb, label);
                }
                /* r12 carries the marker; the case's registers are reloaded next case */
                emit(&g, "    store_imm_u64 %u, 2\n    jump n%u\nt%u: store_imm_u64 %u, 1\n    fallthrough\nn%u:\n",
                     OUT_LO + g.ncases * 8, label, label, OUT_LO + g.ncases * 8, label);
                g.want[g.ncases++] = taken ? 1 : 2;
                g.insns += 2;
                label++;
            }
        /* gas: not one block; give exactly what the taken paths cost, as
         * the interpreter counts it, by running a first pass with plenty */
        emit(&g, "    trap\n");
        jk_pvm_program *prog = jk_test_asm_program(g.src, true);
        JK_REQUIRE(prog != NULL);
        jk_pvm_memory *mem[2];
        jk_pvm_state st[2];
        jk_pvm_exit ex[2];
        for (int e = 0; e < 2; e++) {
            JK_REQUIRE(adv_start(&mem[e], &st[e], 1000000));
            JK_REQUIRE(jk_pvm_run_engine(prog, mem[e], &st[e], &ex[e], adv_engine_of(e)) ==
                       JK_OK);
        }
        JK_CHECK_SAME_STATE(st, ex);
        JK_CHECK_EQ(ex[0].status, JK_PVM_PANIC);
        for (int e = 0; e < 2; e++)
            for (unsigned c = 0; c < g.ncases; c++) {
                uint32_t addr = OUT_LO + c * 8;
                const uint8_t *page = jk_pvm_memory_page(mem[e], addr & ~(uint32_t)(JK_PVM_PAGE_SIZE - 1));
                uint64_t got = 0;
                if (page)
                    memcpy(&got, page + (addr & (JK_PVM_PAGE_SIZE - 1)), 8);
                if (got != g.want[c])
                    printf("%s on %s: case %u: got %llu, want %llu\n", info->name, e ? "jit" : "interp", c,
                           (unsigned long long)got, (unsigned long long)g.want[c]);
                JK_CHECK_EQ(got, g.want[c]);
            }
        jk_pvm_memory_free(mem[0]);
        jk_pvm_memory_free(mem[1]);
        jk_pvm_program_free(prog);
        free(g.src);
    }
    JK_CHECK_EQ(ops, 16u);
}
