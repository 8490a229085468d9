/*
 * adv_pvm_model.c — the model the held-out PVM edge tests check both engines
 * against: Graypaper Appendix A.5 (64-bit PVM), written from the definitions
 * independently of src/pvm; and the start of each side of a two-engine run
 * (adv_pvm_model.h).
 */
#include "adv_pvm_model.h"

#include <string.h>

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
bool adv_model3(const char *op, uint64_t a, uint64_t b, uint64_t d, uint64_t *out)
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
bool adv_model2i(const char *op, uint64_t b, uint64_t x, uint64_t a_old, uint64_t *out)
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
bool adv_model2(const char *op, uint64_t a, uint64_t *out)
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
bool adv_model_branch(const char *op, uint64_t a, uint64_t b, bool *taken)
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

const uint64_t adv_init_regs[JK_PVM_REGS] = {
    0x0101010101010101ull, 0x0202020202020202ull, 0x0303030303030303ull, 0x0404040404040404ull,
    0x0505050505050505ull, 0x0606060606060606ull, 0x0707070707070707ull, 0x0808080808080808ull,
    0x0909090909090909ull, 0x0A0A0A0A0A0A0A0Aull, 0x0B0B0B0B0B0B0B0Bull, 0x0C0C0C0C0C0C0C0Cull,
    0x0D0D0D0D0D0D0D0Dull,
};

/* Side e of a two-engine run: 0 the interpreter (the reference), 1 the
 * recompiler. */
jk_pvm_engine adv_engine_of(int e) { return e ? JK_PVM_ENGINE_JIT : JK_PVM_ENGINE_INTERP; }

bool adv_start(jk_pvm_memory **mem, jk_pvm_state *st, int64_t gas)
{
    if (jk_pvm_memory_new(mem) != JK_OK)
        return false;
    if (jk_pvm_memory_map(*mem, OUT_LO, OUT_PAGES * JK_PVM_PAGE_SIZE, JK_PVM_ACCESS_WRITE) != JK_OK)
        return false;
    memset(st, 0, sizeof *st);
    memcpy(st->regs, adv_init_regs, sizeof adv_init_regs);
    st->gas = gas;
    return true;
}
