/*
 * test_adv_pvm_edges.c — held-out PVM cases of our own: programs generated
 * here at the instruction boundaries the public vectors barely touch, run on
 * the interpreter and the recompiler, each result checked against a model of
 * the Graypaper's definition (Appendix A.5, 64-bit PVM) written in this file
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
 */
#include "../test.h"
#include "../pvm/jit_test_util.h"

#include "jark/pvm.h"

#include <stdarg.h>
#include <stdlib.h>

#define OUT_LO 0x20000u   /* results are stored from here, 8 bytes a case */
#define OUT_PAGES 8u
#define N(a) (sizeof(a) / sizeof((a)[0]))

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

/* ---- the model: Graypaper A.5, written from the definitions ---- */

static uint64_t sx32(uint64_t v) { return (uint64_t)(int64_t)(int32_t)(uint32_t)v; }
static uint64_t rotr64(uint64_t v, unsigned n) { n &= 63; return n ? v >> n | v << (64 - n) : v; }
static uint32_t rotr32(uint32_t v, unsigned n) { n &= 31; return n ? v >> n | v << (32 - n) : v; }

static uint64_t mulhi_uu(uint64_t a, uint64_t b) { return (uint64_t)(((unsigned __int128)a * b) >> 64); }
static uint64_t mulhi_ss(uint64_t a, uint64_t b)
{
    return (uint64_t)(unsigned __int128)(((__int128)(int64_t)a * (__int128)(int64_t)b) >> 64);
}
static uint64_t mulhi_su(uint64_t a, uint64_t b)
{
    return (uint64_t)(unsigned __int128)(((__int128)(int64_t)a * (__int128)(unsigned __int128)b) >> 64);
}

static uint64_t div_u64(uint64_t a, uint64_t b) { return b == 0 ? UINT64_MAX : a / b; }
static uint64_t rem_u64(uint64_t a, uint64_t b) { return b == 0 ? a : a % b; }
static uint64_t div_s64(uint64_t a, uint64_t b)
{
    if (b == 0)
        return UINT64_MAX;
    if (a == 0x8000000000000000ull && b == UINT64_MAX)
        return a;
    return (uint64_t)((int64_t)a / (int64_t)b);
}
static uint64_t rem_s64(uint64_t a, uint64_t b)
{
    if (b == 0)
        return a;
    if (a == 0x8000000000000000ull && b == UINT64_MAX)
        return 0;
    return (uint64_t)((int64_t)a % (int64_t)b);
}
static uint64_t div_u32(uint64_t a, uint64_t b)
{
    uint32_t x = (uint32_t)a, y = (uint32_t)b;
    return y == 0 ? UINT64_MAX : sx32(x / y);
}
static uint64_t rem_u32(uint64_t a, uint64_t b)
{
    uint32_t x = (uint32_t)a, y = (uint32_t)b;
    return y == 0 ? sx32(x) : sx32(x % y);
}
static uint64_t div_s32(uint64_t a, uint64_t b)
{
    int32_t x = (int32_t)(uint32_t)a, y = (int32_t)(uint32_t)b;
    if (y == 0)
        return UINT64_MAX;
    if (x == INT32_MIN && y == -1)
        return sx32((uint32_t)x);
    return sx32((uint32_t)(x / y));
}
static uint64_t rem_s32(uint64_t a, uint64_t b)
{
    int32_t x = (int32_t)(uint32_t)a, y = (int32_t)(uint32_t)b;
    if (y == 0)
        return sx32((uint32_t)x);
    if (x == INT32_MIN && y == -1)
        return 0;
    return sx32((uint32_t)(x % y));
}

/* Three registers: ω_D = f(ω_A, ω_B), with ω_D's old value for the cmovs.
 * false when the name is not a three-register ALU op this model knows. */
static bool model3(const char *op, uint64_t a, uint64_t b, uint64_t d, uint64_t *out)
{
    uint32_t a32 = (uint32_t)a;
    uint64_t r;
#define IS(s) (strcmp(op, s) == 0)
    if (IS("add_32")) r = sx32(a + b);
    else if (IS("sub_32")) r = sx32(a - b);
    else if (IS("mul_32")) r = sx32(a * b);
    else if (IS("div_u_32")) r = div_u32(a, b);
    else if (IS("div_s_32")) r = div_s32(a, b);
    else if (IS("rem_u_32")) r = rem_u32(a, b);
    else if (IS("rem_s_32")) r = rem_s32(a, b);
    else if (IS("shlo_l_32")) r = sx32(a32 << (b & 31));
    else if (IS("shlo_r_32")) r = sx32(a32 >> (b & 31));
    else if (IS("shar_r_32")) r = sx32((uint32_t)((int32_t)a32 >> (b & 31)));
    else if (IS("add_64")) r = a + b;
    else if (IS("sub_64")) r = a - b;
    else if (IS("mul_64")) r = a * b;
    else if (IS("div_u_64")) r = div_u64(a, b);
    else if (IS("div_s_64")) r = div_s64(a, b);
    else if (IS("rem_u_64")) r = rem_u64(a, b);
    else if (IS("rem_s_64")) r = rem_s64(a, b);
    else if (IS("shlo_l_64")) r = a << (b & 63);
    else if (IS("shlo_r_64")) r = a >> (b & 63);
    else if (IS("shar_r_64")) r = (uint64_t)((int64_t)a >> (b & 63));
    else if (IS("and")) r = a & b;
    else if (IS("xor")) r = a ^ b;
    else if (IS("or")) r = a | b;
    else if (IS("mul_upper_s_s")) r = mulhi_ss(a, b);
    else if (IS("mul_upper_u_u")) r = mulhi_uu(a, b);
    else if (IS("mul_upper_s_u")) r = mulhi_su(a, b);
    else if (IS("set_lt_u")) r = a < b;
    else if (IS("set_lt_s")) r = (int64_t)a < (int64_t)b;
    else if (IS("cmov_iz")) r = b == 0 ? a : d;
    else if (IS("cmov_nz")) r = b != 0 ? a : d;
    else if (IS("rot_l_64")) r = rotr64(a, (unsigned)(64 - (b & 63)));
    else if (IS("rot_l_32")) r = sx32(rotr32(a32, (unsigned)(32 - (b & 31))));
    else if (IS("rot_r_64")) r = rotr64(a, (unsigned)b);
    else if (IS("rot_r_32")) r = sx32(rotr32(a32, (unsigned)b));
    else if (IS("and_inv")) r = a & ~b;
    else if (IS("or_inv")) r = a | ~b;
    else if (IS("xnor")) r = ~(a ^ b);
    else if (IS("max")) r = (int64_t)a > (int64_t)b ? a : b;
    else if (IS("max_u")) r = a > b ? a : b;
    else if (IS("min")) r = (int64_t)a < (int64_t)b ? a : b;
    else if (IS("min_u")) r = a < b ? a : b;
    else return false;
    *out = r;
    return true;
}

/* Two registers and an immediate: ω_A = f(ω_B, ν_X), ω_A's old value for
 * the cmovs. */
static bool model2i(const char *op, uint64_t b, uint64_t x, uint64_t a_old, uint64_t *out)
{
    uint32_t b32 = (uint32_t)b, x32 = (uint32_t)x;
    uint64_t r;
    if (IS("add_imm_32")) r = sx32(b + x);
    else if (IS("and_imm")) r = b & x;
    else if (IS("xor_imm")) r = b ^ x;
    else if (IS("or_imm")) r = b | x;
    else if (IS("mul_imm_32")) r = sx32(b * x);
    else if (IS("set_lt_u_imm")) r = b < x;
    else if (IS("set_lt_s_imm")) r = (int64_t)b < (int64_t)x;
    else if (IS("shlo_l_imm_32")) r = sx32(b32 << (x & 31));
    else if (IS("shlo_r_imm_32")) r = sx32(b32 >> (x & 31));
    else if (IS("shar_r_imm_32")) r = sx32((uint32_t)((int32_t)b32 >> (x & 31)));
    else if (IS("neg_add_imm_32")) r = sx32(x - b);
    else if (IS("set_gt_u_imm")) r = b > x;
    else if (IS("set_gt_s_imm")) r = (int64_t)b > (int64_t)x;
    else if (IS("shlo_l_imm_alt_32")) r = sx32(x32 << (b & 31));
    else if (IS("shlo_r_imm_alt_32")) r = sx32(x32 >> (b & 31));
    else if (IS("shar_r_imm_alt_32")) r = sx32((uint32_t)((int32_t)x32 >> (b & 31)));
    else if (IS("cmov_iz_imm")) r = b == 0 ? x : a_old;
    else if (IS("cmov_nz_imm")) r = b != 0 ? x : a_old;
    else if (IS("add_imm_64")) r = b + x;
    else if (IS("mul_imm_64")) r = b * x;
    else if (IS("shlo_l_imm_64")) r = b << (x & 63);
    else if (IS("shlo_r_imm_64")) r = b >> (x & 63);
    else if (IS("shar_r_imm_64")) r = (uint64_t)((int64_t)b >> (x & 63));
    else if (IS("neg_add_imm_64")) r = x - b;
    else if (IS("shlo_l_imm_alt_64")) r = x << (b & 63);
    else if (IS("shlo_r_imm_alt_64")) r = x >> (b & 63);
    else if (IS("shar_r_imm_alt_64")) r = (uint64_t)((int64_t)x >> (b & 63));
    else if (IS("rot_r_64_imm")) r = rotr64(b, (unsigned)x);
    else if (IS("rot_r_64_imm_alt")) r = rotr64(x, (unsigned)b);
    else if (IS("rot_r_32_imm")) r = sx32(rotr32(b32, (unsigned)x));
    else if (IS("rot_r_32_imm_alt")) r = sx32(rotr32(x32, (unsigned)b));
    else return false;
    *out = r;
    return true;
}

/* Two registers: ω_D = f(ω_A). */
static bool model2(const char *op, uint64_t a, uint64_t *out)
{
    uint32_t a32 = (uint32_t)a;
    uint64_t r;
    if (IS("move_reg")) r = a;
    else if (IS("count_set_bits_64")) r = (uint64_t)__builtin_popcountll(a);
    else if (IS("count_set_bits_32")) r = (uint64_t)__builtin_popcount(a32);
    else if (IS("leading_zero_bits_64")) r = a ? (uint64_t)__builtin_clzll(a) : 64;
    else if (IS("leading_zero_bits_32")) r = a32 ? (uint64_t)__builtin_clz(a32) : 32;
    else if (IS("trailing_zero_bits_64")) r = a ? (uint64_t)__builtin_ctzll(a) : 64;
    else if (IS("trailing_zero_bits_32")) r = a32 ? (uint64_t)__builtin_ctz(a32) : 32;
    else if (IS("sign_extend_8")) r = (uint64_t)(int64_t)(int8_t)(uint8_t)a;
    else if (IS("sign_extend_16")) r = (uint64_t)(int64_t)(int16_t)(uint16_t)a;
    else if (IS("zero_extend_16")) r = (uint16_t)a;
    else if (IS("reverse_bytes")) r = __builtin_bswap64(a);
    else return false;
    *out = r;
    return true;
}

/* Branches: taken when cmp(ω_A, ω_B or ν_X). */
static bool model_branch(const char *op, uint64_t a, uint64_t b, bool *taken)
{
    char base[32];
    size_t n = strlen(op);
    if (n >= sizeof base)
        return false;
    memcpy(base, op, n + 1);
    if (n > 4 && strcmp(base + n - 4, "_imm") == 0)
        base[n - 4] = 0;
    const char *c = base + strlen("branch_");
    if (strncmp(base, "branch_", 7) != 0)
        return false;
    if (strcmp(c, "eq") == 0) *taken = a == b;
    else if (strcmp(c, "ne") == 0) *taken = a != b;
    else if (strcmp(c, "lt_u") == 0) *taken = a < b;
    else if (strcmp(c, "le_u") == 0) *taken = a <= b;
    else if (strcmp(c, "ge_u") == 0) *taken = a >= b;
    else if (strcmp(c, "gt_u") == 0) *taken = a > b;
    else if (strcmp(c, "lt_s") == 0) *taken = (int64_t)a < (int64_t)b;
    else if (strcmp(c, "le_s") == 0) *taken = (int64_t)a <= (int64_t)b;
    else if (strcmp(c, "ge_s") == 0) *taken = (int64_t)a >= (int64_t)b;
    else if (strcmp(c, "gt_s") == 0) *taken = (int64_t)a > (int64_t)b;
    else return false;
    return true;
#undef IS
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

static const uint64_t INIT_REGS[JK_PVM_REGS] = {
    0x0101010101010101ull, 0x0202020202020202ull, 0x0303030303030303ull, 0x0404040404040404ull,
    0x0505050505050505ull, 0x0606060606060606ull, 0x0707070707070707ull, 0x0808080808080808ull,
    0x0909090909090909ull, 0x0A0A0A0A0A0A0A0Aull, 0x0B0B0B0B0B0B0B0Bull, 0x0C0C0C0C0C0C0C0Cull,
    0x0D0D0D0D0D0D0D0Dull,
};

/* Side e of a two-engine run: 0 the interpreter (the reference), 1 the
 * recompiler. */
static jk_pvm_engine engine_of(int e) { return e ? JK_PVM_ENGINE_JIT : JK_PVM_ENGINE_INTERP; }

static bool start(jk_pvm_memory **mem, jk_pvm_state *st, int64_t gas)
{
    if (jk_pvm_memory_new(mem) != JK_OK)
        return false;
    if (jk_pvm_memory_map(*mem, OUT_LO, OUT_PAGES * JK_PVM_PAGE_SIZE, JK_PVM_ACCESS_WRITE) != JK_OK)
        return false;
    memset(st, 0, sizeof *st);
    memcpy(st->regs, INIT_REGS, sizeof INIT_REGS);
    st->gas = gas;
    return true;
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
            JK_REQUIRE(start(&mem[e], &st[e], (int64_t)g->insns - short_by));
            JK_REQUIRE(jk_pvm_run_engine(prog, mem[e], &st[e], &ex[e],
                                         engine_of(e)) == JK_OK);
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
                JK_CHECK(memcmp(st[e].regs, INIT_REGS, sizeof INIT_REGS) == 0);
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
        JK_CHECK(model3(info->name, 0, 0, 0, &probe));
        ops++;
        for (size_t i = 0; i < N(VALS); i++)
            for (size_t j = 0; j < N(VALS); j++) {
                unsigned rd = pick_reg(), ra = pick_reg(), rb = pick_reg();
                uint64_t r[JK_PVM_REGS];
                memcpy(r, INIT_REGS, sizeof r);
                uint64_t d0 = VALS[(i + j + 7) % N(VALS)] ^ 0x5555;
                emit(&g, "; case %u\n", g.ncases);
                set_reg(&g, r, rd, d0);
                set_reg(&g, r, ra, VALS[i]);
                set_reg(&g, r, rb, VALS[j]);
                uint64_t want = 0;
                model3(info->name, r[ra], r[rb], r[rd], &want);
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
        JK_CHECK(model2i(info->name, 0, 0, 0, &probe));
        ops++;
        for (size_t i = 0; i < N(VALS); i++)
            for (size_t k = 0; k < N(IMMS); k++) {
                unsigned ra = pick_reg(), rb = pick_reg();
                uint64_t x = (uint64_t)(int64_t)IMMS[k];
                uint64_t a0 = VALS[(i + k + 3) % N(VALS)] ^ 0xAAAA;
                uint64_t r[JK_PVM_REGS];
                memcpy(r, INIT_REGS, sizeof r);
                emit(&g, "; case %u\n", g.ncases);
                set_reg(&g, r, ra, a0);
                set_reg(&g, r, rb, VALS[i]);
                uint64_t want = 0;
                model2i(info->name, r[rb], x, r[ra], &want);
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
        JK_CHECK(model2(info->name, 0, &probe));
        ops++;
        for (size_t i = 0; i < N(VALS); i++)
            for (int alias = 0; alias < 2; alias++) {
                unsigned rd = pick_reg(), ra = alias ? rd : pick_reg();
                uint64_t want = 0;
                emit(&g, "; case %u\n", g.ncases);
                load64(&g, rd, 0x5A5A5A5A5A5A5A5Aull);
                load64(&g, ra, VALS[i]);
                model2(info->name, VALS[i], &want);
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
        JK_CHECK(model_branch(info->name, 0, 0, &t));
        ops++;
        gen g = {0};
        unsigned label = 0;
        for (size_t i = 0; i < N(VALS); i++)
            for (size_t j = 0; j < (imm ? N(IMMS) : N(VALS)); j++) {
                unsigned ra = pick_reg(), rb = pick_reg();
                uint64_t b = imm ? (uint64_t)(int64_t)IMMS[j] : VALS[j];
                uint64_t r[JK_PVM_REGS];
                memcpy(r, INIT_REGS, sizeof r);
                emit(&g, "; case %u\n", g.ncases);
                load64(&g, ra, VALS[i]);
                r[ra] = VALS[i];
                bool taken = false;
                if (imm) {
                    model_branch(info->name, r[ra], b, &taken);
                    emit(&g, "    %s r%u, %d, t%u\n", info->name, ra, IMMS[j], label);
                } else {
                    load64(&g, rb, VALS[j]);
                    r[rb] = VALS[j];
                    model_branch(info->name, r[ra], r[rb], &taken);
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
            JK_REQUIRE(start(&mem[e], &st[e], 1000000));
            JK_REQUIRE(jk_pvm_run_engine(prog, mem[e], &st[e], &ex[e], engine_of(e)) ==
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

/* ---- loads and stores at page edges ---- */

#define SHARED_RW 0x11000u /* a copy-on-write page shared with the host */
#define SHARED_RO 0x12000u /* a read-only shared page right after it */
#define TOP_PAGE 0xFFFFF000u

static _Alignas(4096) uint8_t shared_pages[3][JK_PVM_PAGE_SIZE];

/* [0x10000] own rw, [0x11000] shared cow, [0x12000] shared ro, [0x13000]
 * unmapped, [0x14000] own rw, [0x15000] shared cow, [0x16000] unmapped,
 * [0xFFFFF000] own rw: the last page of the address space. */
static bool start_edges(jk_pvm_memory **mem, jk_pvm_state *st)
{
    if (jk_pvm_memory_new(mem) != JK_OK)
        return false;
    if (jk_pvm_memory_map(*mem, 0x10000, 0x1000, JK_PVM_ACCESS_WRITE) != JK_OK ||
        jk_pvm_memory_map_shared(*mem, SHARED_RW, shared_pages[0], JK_PVM_ACCESS_WRITE) != JK_OK ||
        jk_pvm_memory_map_shared(*mem, SHARED_RO, shared_pages[1], JK_PVM_ACCESS_READ) != JK_OK ||
        jk_pvm_memory_map(*mem, 0x14000, 0x1000, JK_PVM_ACCESS_WRITE) != JK_OK ||
        jk_pvm_memory_map_shared(*mem, 0x15000, shared_pages[2], JK_PVM_ACCESS_WRITE) != JK_OK ||
        jk_pvm_memory_map(*mem, TOP_PAGE, 0x1000, JK_PVM_ACCESS_WRITE) != JK_OK)
        return false;
    uint8_t fill[JK_PVM_PAGE_SIZE];
    for (size_t i = 0; i < sizeof fill; i++)
        fill[i] = (uint8_t)(i * 7 + 0x81);
    if (jk_pvm_memory_write(*mem, 0x10000, fill, sizeof fill) != JK_OK ||
        jk_pvm_memory_write(*mem, 0x14000, fill, sizeof fill) != JK_OK ||
        jk_pvm_memory_write(*mem, TOP_PAGE, fill, sizeof fill) != JK_OK)
        return false;
    memset(st, 0, sizeof *st);
    memcpy(st->regs, INIT_REGS, sizeof INIT_REGS);
    st->gas = 100;
    return true;
}

/* The layout of start_edges: may the guest read (or, `store`, write) a? */
static bool edge_accessible(uint32_t a, bool store)
{
    uint32_t page = a & ~(uint32_t)(JK_PVM_PAGE_SIZE - 1);
    switch (page) {
    case 0x10000: case SHARED_RW: case 0x14000: case 0x15000: case TOP_PAGE:
        return true;
    case SHARED_RO:
        return !store;
    default:
        return false;
    }
}

static unsigned op_width(const char *name)
{
    size_t n = strlen(name);
    if (n >= 2 && strcmp(name + n - 2, "64") == 0) return 8;
    if (n >= 2 && strcmp(name + n - 2, "32") == 0) return 4;
    if (n >= 2 && strcmp(name + n - 2, "16") == 0) return 2;
    return 1;
}

JK_TEST(test_adv_pvm_edges_page_crossing)
{
    for (int i = 0; i < 3; i++)
        for (size_t j = 0; j < JK_PVM_PAGE_SIZE; j++)
            shared_pages[i][j] = (uint8_t)(j * 13 + 0x40 + i);
    static const uint64_t bounds[] = {0x10000, 0x11000, 0x12000, 0x13000, 0x14000,
                                      0x15000, 0x16000, TOP_PAGE, 0x100000000ull};
    unsigned seen[8] = {0}, runs = 0;
    char src[512];
    for (int opc = 0; opc < 256; opc++) {
        const jk_pvm_opinfo *info = jk_pvm_opinfo_get((uint8_t)opc);
        if (!info || (strncmp(info->name, "load_", 5) != 0 && strncmp(info->name, "store_", 6) != 0) ||
            strncmp(info->name, "load_imm", 8) == 0)
            continue;
        unsigned w = op_width(info->name);
        for (size_t b = 0; b < N(bounds); b++) {
            uint64_t at[] = {bounds[b] - w, bounds[b] - w + 1, bounds[b] - 1, bounds[b]};
            for (size_t k = 0; k < N(at); k++)
                for (int split = 0; split < 4; split++) {
                    uint32_t addr = (uint32_t)at[k];
                    /* base + offset = addr mod 2^32, four ways */
                    uint64_t base;
                    int32_t off;
                    switch (split) {
                    case 0: base = addr; off = 0; break;
                    case 1: base = (uint32_t)(addr - 0x1000u); off = 0x1000; break;
                    case 2: base = 0xABCD000000000000ull | (uint32_t)(addr + 5u); off = -5; break;
                    default: base = (uint32_t)(addr + 0x80000000u); off = INT32_MIN; break; /* wraps */
                    }
                    bool direct = info->format == JK_PVM_ARGS_REG_IMM || info->format == JK_PVM_ARGS_IMM_IMM;
                    if (direct && split)
                        continue;
                    switch (info->format) {
                    case JK_PVM_ARGS_REG_IMM: /* load_u8 ra, addr / store_u8 ra, addr */
                        snprintf(src, sizeof src, "    load_imm_64 r7, 0xF1E2D3C4B5A69788\n    %s r7, %#x\n    trap\n",
                                 info->name, addr);
                        break;
                    case JK_PVM_ARGS_IMM_IMM: /* store_imm_u8 addr, value */
                        snprintf(src, sizeof src, "    %s %#x, -2\n    trap\n", info->name, addr);
                        break;
                    case JK_PVM_ARGS_REG_IMM_IMM: /* store_imm_ind_u8 ra, off, value */
                        snprintf(src, sizeof src, "    load_imm_64 r8, %#llx\n    %s r8, %d, -3\n    trap\n",
                                 (unsigned long long)base, info->name, off);
                        break;
                    case JK_PVM_ARGS_REG_REG_IMM: /* load_ind_u8 ra, rb, off / store_ind_u8 ra, rb, off */
                        snprintf(src, sizeof src,
                                 "    load_imm_64 r8, %#llx\n    load_imm_64 r7, 0x8877665544332211\n"
                                 "    %s r7, r8, %d\n    trap\n",
                                 (unsigned long long)base, info->name, off);
                        break;
                    default:
                        continue;
                    }
                    jk_pvm_program *prog = jk_test_asm_program(src, true);
                    if (!prog)
                        printf("%s", src);
                    JK_REQUIRE(prog != NULL);
                    jk_pvm_memory *mem[2];
                    jk_pvm_state st[2];
                    jk_pvm_exit ex[2];
                    for (int e = 0; e < 2; e++) {
                        JK_REQUIRE(start_edges(&mem[e], &st[e]));
                        JK_REQUIRE(jk_pvm_run_engine(prog, mem[e], &st[e], &ex[e],
                                                     engine_of(e)) == JK_OK);
                    }
                    int before = jk_test_failures();
                    JK_CHECK_SAME_STATE(st, ex);
                    jk_test_check_same_memory(mem[0], mem[1], 0x10000, 0x17000);
                    jk_test_check_same_memory(mem[0], mem[1], TOP_PAGE, TOP_PAGE);
                    /* the Graypaper's statuses (docs/pvm.md): below 64 KiB
                     * anywhere in the range (a wrap past 2^32 included) is a
                     * panic; else the lowest inaccessible byte's page faults
                     * (for stores read-only pages are inaccessible); a fault
                     * or panic changes no memory */
                    uint64_t lo = addr, hi = (uint64_t)addr + w; /* [lo, hi) before wrapping */
                    bool guard = lo < 0x10000 || hi > 0x100000000ull;
                    bool store = strncmp(info->name, "store", 5) == 0;
                    uint64_t bad = UINT64_MAX; /* the lowest inaccessible byte */
                    for (uint64_t a = lo; !guard && a < hi && bad == UINT64_MAX; a++)
                        if (!edge_accessible((uint32_t)a, store))
                            bad = a;
                    for (int e = 0; e < 2; e++) {
                        if (guard || bad == UINT64_MAX) {
                            JK_CHECK_EQ(ex[e].status, JK_PVM_PANIC); /* the guard, or the closing trap */
                        } else {
                            JK_CHECK_EQ(ex[e].status, JK_PVM_PAGE_FAULT);
                            JK_CHECK_EQ(ex[e].fault_address, (uint32_t)bad & ~(uint32_t)(JK_PVM_PAGE_SIZE - 1));
                        }
                    }
                    if (jk_test_failures() != before)
                        printf("%s", src);
                    if (ex[0].status < 8)
                        seen[ex[0].status]++;
                    runs++;
                    for (int e = 0; e < 2; e++) {
                        if (ex[e].status == JK_PVM_PAGE_FAULT || (ex[e].status == JK_PVM_PANIC && guard)) {
                            const uint32_t *d;
                            size_t nd;
                            jk_pvm_memory_dirty_pages(mem[e], &d, &nd);
                            JK_CHECK_EQ(nd, 0u);
                        }
                        jk_pvm_memory_free(mem[e]);
                    }
                    jk_pvm_program_free(prog);
                }
        }
    }
    /* every outcome was met: done (the trap), panic at the guard, fault */
    JK_CHECK(seen[JK_PVM_PANIC] > 100 && seen[JK_PVM_PAGE_FAULT] > 100);
    JK_CHECK(runs > 2000);
}

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

/* Run on both engines from INIT_REGS with `gas`; compare them; leave the
 * interpreter's run in st[0] / ex[0] and both memories for the caller. */
static void raw_run(const rawprog *p, int64_t gas, jk_pvm_memory *mem[2], jk_pvm_state st[2], jk_pvm_exit ex[2])
{
    jk_pvm_program *prog = raw_load(p);
    JK_REQUIRE(prog != NULL);
    for (int e = 0; e < 2; e++) {
        JK_REQUIRE(start(&mem[e], &st[e], gas));
        JK_REQUIRE(jk_pvm_run_engine(prog, mem[e], &st[e], &ex[e], engine_of(e)) ==
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
    memcpy(r, INIT_REGS, sizeof r);
    unsigned n = 0;
    for (unsigned b1 = 0; b1 < 256; b1++)
        for (size_t t = 0; t < N(thirds); t++, n++) {
            const jk_pvm_opinfo *info = jk_pvm_opinfo_find(ops[n % N(ops)]);
            JK_REQUIRE(info != NULL);
            uint8_t insn[3] = {info->opcode, (uint8_t)b1, thirds[t]};
            raw_insn(&p, insn, 3);
            unsigned ra = clamp12(b1 & 15), rb = clamp12(b1 >> 4), rd = clamp12(thirds[t] & 15);
            uint64_t v = 0;
            JK_REQUIRE(model3(info->name, r[ra], r[rb], r[rd], &v));
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
    memcpy(r, INIT_REGS, sizeof r);
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
        uint64_t r7 = INIT_REGS[7], r8 = INIT_REGS[8];
        for (unsigned b = 0; b < stop; b++) {
            r7 += sizes[b] > 1;
            r8 += sizes[b] > 2 ? sizes[b] - 2 : 0;
        }
        jk_pvm_memory *mem[2];
        jk_pvm_state st[2];
        jk_pvm_exit ex[2];
        for (int e = 0; e < 2; e++) {
            JK_REQUIRE(start(&mem[e], &st[e], gas));
            JK_REQUIRE(jk_pvm_run_engine(prog, mem[e], &st[e], &ex[e], engine_of(e)) ==
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
            JK_REQUIRE(start(&mem[e], &st[e], 100));
            st[e].regs[7] = a;
            JK_REQUIRE(jk_pvm_run_engine(prog, mem[e], &st[e], &ex[e], engine_of(e)) ==
                       JK_OK);
        }
        JK_CHECK_SAME_STATE(st, ex);
        bool valid = a == 2 || a == 4 || a == 6; /* table index a / 2 − 1 */
        for (int e = 0; e < 2; e++) {
            JK_CHECK_EQ(ex[e].status, JK_PVM_PANIC); /* the trap, or the bad jump */
            /* ra is written even when the jump then panics (docs/pvm.md) */
            JK_CHECK_EQ(st[e].regs[7], 1000u);
            JK_CHECK_EQ(st[e].regs[8], valid ? a / 2 : INIT_REGS[8]);
        }
        jk_pvm_memory_free(mem[0]);
        jk_pvm_memory_free(mem[1]);
    }
    jk_pvm_program_free(prog);
}

/* ---- sbrk against its model (docs/pvm.md: ω_D ← the heap top, the top
 * moves up by ω_A and the pages it crosses become read-write; past the
 * limit, or with no heap, 0 and nothing changes) ---- */

#define HEAP_TOP0 0x40010u  /* not page-aligned: the first sbrk maps 0x40000 */
#define HEAP_LIMIT 0x46000u

JK_TEST(test_adv_pvm_edges_sbrk_model)
{
    static const uint64_t sizes[] = {0, 1, 4095, 1, 4096, 0, 8191, 1ull << 32, 1ull << 63, UINT64_MAX,
                                     UINT64_MAX - 0x40000, 0x2000, 0x1000, 0, 0x1000 - 0x12, 1, 1, 1, 0};
    char src[4096];
    size_t len = 0;
    uint64_t top = HEAP_TOP0, want[N(sizes)]; /* ends exactly at the limit, then one past it */
    bool mapped[(HEAP_LIMIT - 0x40000) / JK_PVM_PAGE_SIZE + 1] = {false};
    for (size_t i = 0; i < N(sizes); i++) {
        /* sbrk r9, r8; store r9 at OUT_LO + 8i */
        len += (size_t)snprintf(src + len, sizeof src - len,
                                "    load_imm_64 r8, %#llx\n    sbrk r9, r8\n    store_u64 r9, %u\n",
                                (unsigned long long)sizes[i], OUT_LO + (unsigned)i * 8);
        uint64_t n = sizes[i];
        if (n > HEAP_LIMIT - top) {
            want[i] = 0;
        } else {
            want[i] = top;
            for (uint64_t a = top & ~(uint64_t)(JK_PVM_PAGE_SIZE - 1); a < top + n; a += JK_PVM_PAGE_SIZE)
                mapped[(a - 0x40000) / JK_PVM_PAGE_SIZE] = true;
            top += n;
        }
    }
    len += (size_t)snprintf(src + len, sizeof src - len, "    trap\n");
    jk_pvm_program *prog = jk_test_asm_program(src, true);
    JK_REQUIRE(prog != NULL);
    jk_pvm_memory *mem[2];
    jk_pvm_state st[2];
    jk_pvm_exit ex[2];
    for (int e = 0; e < 2; e++) {
        JK_REQUIRE(start(&mem[e], &st[e], 1000));
        jk_pvm_memory_set_heap(mem[e], HEAP_TOP0, HEAP_LIMIT);
        JK_REQUIRE(jk_pvm_run_engine(prog, mem[e], &st[e], &ex[e], engine_of(e)) ==
                   JK_OK);
    }
    JK_CHECK_SAME_STATE(st, ex);
    jk_test_check_same_memory(mem[0], mem[1], 0x40000, HEAP_LIMIT);
    for (int e = 0; e < 2; e++) {
        JK_CHECK_EQ(ex[e].status, JK_PVM_PANIC);
        const uint8_t *page = jk_pvm_memory_page(mem[e], OUT_LO);
        JK_REQUIRE(page != NULL);
        for (size_t i = 0; i < N(sizes); i++) {
            uint64_t got;
            memcpy(&got, page + i * 8, 8);
            if (got != want[i])
                printf("sbrk %zu (%#llx) on %s: %#llx, the model %#llx\n", i, (unsigned long long)sizes[i],
                       e ? "jit" : "interp", (unsigned long long)got, (unsigned long long)want[i]);
            JK_CHECK_EQ(got, want[i]);
        }
        for (uint32_t a = 0x40000; a <= HEAP_LIMIT; a += JK_PVM_PAGE_SIZE)
            JK_CHECK_EQ(jk_pvm_memory_access_at(mem[e], a) == JK_PVM_ACCESS_WRITE,
                        mapped[(a - 0x40000) / JK_PVM_PAGE_SIZE]);
    }
    jk_pvm_memory_free(mem[0]);
    jk_pvm_memory_free(mem[1]);
    jk_pvm_program_free(prog);
}
