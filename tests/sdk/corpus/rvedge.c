/* rvedge.c — RISC-V instructions the compiler rarely emits but the linker
 * must translate exactly: every arithmetic form with x0 as a source, the
 * RISC-V results of division by zero and of signed overflow, and branches
 * against x0. The PVM build runs the real instructions (inline assembly); the
 * native build computes what the RISC-V specification says they give. */
#include "corpus.h"

#ifdef JARK_NATIVE
#define RV(insn, native_expr, b) (native_expr)
#else
#define RV(insn, native_expr, b)                                               \
    __extension__({                                                            \
        uint64_t r_;                                                           \
        __asm__ volatile(insn : "=r"(r_) : "r"(b));                            \
        r_;                                                                    \
    })
#endif

#define SEXT32(v) ((uint64_t)(int64_t)(int32_t)(uint32_t)(v))

static volatile uint64_t inputs[] = {0, 1, 5, 0xFFFFFFFFull, 0x100000000ull, 0x80000000ull,
                                     0x8000000000000000ull, 0xFFFFFFFFFFFFFFFFull, 0x123456789ull};

static uint64_t zero_forms(uint64_t b, uint64_t h)
{
    h = h * 31 + RV("sub %0, zero, %1", 0 - b, b);
    h = h * 31 + RV("subw %0, zero, %1", SEXT32(0 - (uint32_t)b), b);
    h = h * 31 + RV("add %0, zero, %1", b, b);
    h = h * 31 + RV("addw %0, zero, %1", SEXT32(b), b);
    h = h * 31 + RV("addw %0, %1, zero", SEXT32(b), b);
    h = h * 31 + RV("sltu %0, zero, %1", b != 0, b);
    h = h * 31 + RV("slt %0, zero, %1", (int64_t)b > 0, b);
    h = h * 31 + RV("slt %0, %1, zero", (int64_t)b < 0, b);
    h = h * 31 + RV("sltu %0, %1, zero", 0, b);
    h = h * 31 + RV("div %0, zero, %1", b == 0 ? ~0ull : 0, b);
    h = h * 31 + RV("divu %0, zero, %1", b == 0 ? ~0ull : 0, b);
    h = h * 31 + RV("divw %0, zero, %1", (uint32_t)b == 0 ? ~0ull : 0, b);
    h = h * 31 + RV("divuw %0, zero, %1", (uint32_t)b == 0 ? ~0ull : 0, b);
    h = h * 31 + RV("div %0, %1, zero", ~0ull, b);
    h = h * 31 + RV("divuw %0, %1, zero", ~0ull, b);
    h = h * 31 + RV("rem %0, %1, zero", b, b);
    h = h * 31 + RV("remw %0, %1, zero", SEXT32(b), b);
    h = h * 31 + RV("remu %0, zero, %1", 0, b);
    h = h * 31 + RV("sll %0, zero, %1", 0, b);
    h = h * 31 + RV("sra %0, %1, zero", b, b);
    h = h * 31 + RV("srlw %0, %1, zero", SEXT32(b), b);
    h = h * 31 + RV("mul %0, %1, zero", 0, b);
    h = h * 31 + RV("mulh %0, zero, %1", 0, b);
    h = h * 31 + RV("and %0, zero, %1", 0, b);
    h = h * 31 + RV("or %0, %1, zero", b, b);
    h = h * 31 + RV("xor %0, zero, %1", b, b);
    return h;
}

static uint64_t division_semantics(uint64_t a, uint64_t b, uint64_t h)
{
    /* RISC-V: x/0 = all ones, x%0 = x; INT_MIN/-1 = INT_MIN, INT_MIN%-1 = 0. */
#ifdef JARK_NATIVE
    int64_t sa = (int64_t)a, sb = (int64_t)b;
    int32_t wa = (int32_t)(uint32_t)a, wb = (int32_t)(uint32_t)b;
    uint64_t div = sb == 0 ? ~0ull : (sa == INT64_MIN && sb == -1) ? a : (uint64_t)(sa / sb);
    uint64_t rem = sb == 0 ? a : (sa == INT64_MIN && sb == -1) ? 0 : (uint64_t)(sa % sb);
    uint64_t divw = wb == 0 ? ~0ull : (wa == INT32_MIN && wb == -1) ? SEXT32(wa) : (uint64_t)(int64_t)(wa / wb);
    uint64_t remw = wb == 0 ? SEXT32(wa) : (wa == INT32_MIN && wb == -1) ? 0 : (uint64_t)(int64_t)(wa % wb);
    uint64_t divu = b == 0 ? ~0ull : a / b;
    uint64_t remuw = (uint32_t)b == 0 ? SEXT32(a) : SEXT32((uint32_t)a % (uint32_t)b);
#else
    uint64_t div, rem, divw, remw, divu, remuw;
    __asm__ volatile("div %0, %1, %2" : "=r"(div) : "r"(a), "r"(b));
    __asm__ volatile("rem %0, %1, %2" : "=r"(rem) : "r"(a), "r"(b));
    __asm__ volatile("divw %0, %1, %2" : "=r"(divw) : "r"(a), "r"(b));
    __asm__ volatile("remw %0, %1, %2" : "=r"(remw) : "r"(a), "r"(b));
    __asm__ volatile("divu %0, %1, %2" : "=r"(divu) : "r"(a), "r"(b));
    __asm__ volatile("remuw %0, %1, %2" : "=r"(remuw) : "r"(a), "r"(b));
#endif
    return ((((h * 31 + div) * 31 + rem) * 31 + divw) * 31 + remw) * 31 + divu * 7 + remuw;
}

static int branch_forms(uint64_t b)
{
    int bits = 0;
#ifdef JARK_NATIVE
    bits |= (b == 0) << 0;
    bits |= ((int64_t)b > 0) << 1;   /* blt zero, b */
    bits |= ((int64_t)b >= 0) << 2;  /* bge b, zero */
    bits |= (b != 0) << 3;           /* bltu zero, b */
    bits |= ((int64_t)b <= 0) << 4;  /* bge zero, b */
#else
#define BR(insn, bit)                                                          \
    __asm__ volatile(insn " 1f\n li %0, 0\n j 2f\n1: li %0, 1\n2:" : "=&r"(t) : "r"(b)); \
    bits |= (int)t << (bit)
    uint64_t t;
    BR("beq %1, zero,", 0);
    BR("blt zero, %1,", 1);
    BR("bge %1, zero,", 2);
    BR("bltu zero, %1,", 3);
    BR("bge zero, %1,", 4);
#endif
    return bits;
}

static uint64_t stores_of_zero(void)
{
    static volatile uint64_t cell[2] = {~0ull, ~0ull};
#ifdef JARK_NATIVE
    ((volatile uint32_t *)cell)[1] = 0;
    ((volatile uint8_t *)cell)[9] = 0;
#else
    __asm__ volatile("sw zero, 4(%0)\n sb zero, 9(%0)" : : "r"(cell) : "memory");
#endif
    return cell[0] ^ (cell[1] << 1);
}

/* A load into x0 (a volatile read whose value is unused) still happens, and
 * the linker's borrowed register (t0, or t1 when t0 is the base) comes back. */
static uint64_t loads_into_zero(void)
{
#ifdef JARK_NATIVE
    return 0x1234 + 0x5678 * 3;
#else
    static volatile uint64_t cell = 77;
    register uint64_t t0 __asm__("t0") = 0x1234;
    register uint64_t t1 __asm__("t1") = 0x5678;
    __asm__ volatile("ld zero, 0(%2)" : "+r"(t0), "+r"(t1) : "r"(&cell) : "memory");
    uint64_t first = t0 + t1;
    register uint64_t base __asm__("t0") = (uint64_t)&cell;
    __asm__ volatile("lw zero, 0(%0)" : "+r"(base), "+r"(t1) : : "memory");
    return first + t1 * 2 + (base == (uint64_t)&cell ? 0 : 1000000);
#endif
}

long rvedge_main(void)
{
    uint64_t h = 0;
    for (unsigned i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
        h = zero_forms(inputs[i], h);
        for (unsigned j = 0; j < sizeof inputs / sizeof inputs[0]; j++)
            h = division_semantics(inputs[i], inputs[j], h);
        h = h * 131 + (uint64_t)branch_forms(inputs[i]);
    }
    say_hex("x0 forms", h);
    say_hex("division", division_semantics(0x8000000000000000ull, ~0ull, 0));
    say_hex("divw", division_semantics(0x80000000ull, 0xFFFFFFFFull, 0));
    say_hex("stores", stores_of_zero());
    say_hex("loads into zero", loads_into_zero());
    return (long)(h & 0xFFFFFF);
}
JK_PROGRAM_MAIN(rvedge_main);
