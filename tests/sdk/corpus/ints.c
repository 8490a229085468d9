/* ints.c — integer arithmetic as C defines it: unsigned wrap-around, signed
 * division and remainder (truncating), shifts, 32- and 64-bit forms,
 * conversions, comparisons, and the high half of 64x64 products. Operands
 * come from volatile storage so the compiler cannot fold them away. */
#include "corpus.h"

static volatile uint64_t vu[] = {0, 1, 2, 3, 7, 0x7FFFFFFF, 0x80000000u, 0xFFFFFFFFu, 0x100000000ull,
                                 0x7FFFFFFFFFFFFFFFull, 0x8000000000000000ull, 0xFFFFFFFFFFFFFFFFull,
                                 0x123456789ABCDEF0ull, 1000000007, 0xDEADBEEF};
#define N_VU (sizeof vu / sizeof vu[0])
static volatile int64_t vs[] = {0, 1, -1, 2, -2, 7, -7, 100, -100, 2147483647, -2147483647 - 1,
                                 9223372036854775807ll, -9223372036854775807ll - 1, 123456789, -987654321};
#define N_VS (sizeof vs / sizeof vs[0])

static uint64_t mix(uint64_t h, uint64_t v) { return (h ^ v) * 0x100000001B3ull; }

long ints_main(void)
{
    uint64_t h = 0xCBF29CE484222325ull;
    for (unsigned i = 0; i < N_VU; i++) {
        for (unsigned j = 0; j < N_VU; j++) {
            uint64_t a = vu[i], b = vu[j];
            uint32_t a32 = (uint32_t)a, b32 = (uint32_t)b;
            h = mix(h, a + b);
            h = mix(h, a - b);
            h = mix(h, a * b);
            h = mix(h, (uint64_t)((unsigned __int128)a * b >> 64));
            if (b) {
                h = mix(h, a / b);
                h = mix(h, a % b);
            }
            if (b32) {
                h = mix(h, a32 / b32);
                h = mix(h, a32 % b32);
            }
            h = mix(h, (uint32_t)(a32 + b32));
            h = mix(h, (uint32_t)(a32 * b32));
            h = mix(h, (uint32_t)(a32 - b32));
            h = mix(h, a << (b & 63));
            h = mix(h, a >> (b & 63));
            h = mix(h, (uint32_t)(a32 << (b & 31)));
            h = mix(h, a32 >> (b & 31));
            h = mix(h, a < b);
            h = mix(h, a32 < b32);
        }
    }
    say_hex("unsigned", h);
    h = 0xCBF29CE484222325ull;
    for (unsigned i = 0; i < N_VS; i++) {
        for (unsigned j = 0; j < N_VS; j++) {
            int64_t a = vs[i], b = vs[j];
            int32_t a32 = (int32_t)a, b32 = (int32_t)b;
            /* Only what C defines: no signed overflow, no division by zero,
             * no INT_MIN / -1. */
            if (b != 0 && !(a == INT64_MIN && b == -1)) {
                h = mix(h, (uint64_t)(a / b));
                h = mix(h, (uint64_t)(a % b));
            }
            if (b32 != 0 && !(a32 == INT32_MIN && b32 == -1)) {
                h = mix(h, (uint64_t)(int64_t)(a32 / b32));
                h = mix(h, (uint64_t)(int64_t)(a32 % b32));
            }
            h = mix(h, a < b);
            h = mix(h, a32 < b32);
            h = mix(h, (uint64_t)(a >> (b & 63)));    /* arithmetic shift (gcc and clang) */
            h = mix(h, (uint64_t)(int64_t)(a32 >> (b & 31)));
            h = mix(h, (uint64_t)(int64_t)a32);       /* sign extension */
            h = mix(h, (uint64_t)(uint32_t)a32);      /* zero extension */
            h = mix(h, (uint64_t)(int64_t)(int16_t)a);
            h = mix(h, (uint64_t)(int64_t)(int8_t)a);
            h = mix(h, (uint64_t)((__int128)a * b >> 64));
            h = mix(h, (uint64_t)((__int128)a * (unsigned __int128)(uint64_t)b >> 64));
        }
    }
    say_hex("signed", h);
    /* A few values printed directly, so a difference is easy to read. */
    volatile int64_t m7 = -7, p2 = 2;
    say("-7/2", m7 / p2);
    say("-7%2", m7 % p2);
    say(">>", m7 >> 1);
    volatile uint32_t big = 0xFFFFFFFFu;
    say_u("u32+1", (uint32_t)(big + 1));
    say_u("u64wrap", (uint64_t)0 - 1);
    volatile uint64_t x = 0xFFFFFFFFFFFFFFFFull;
    say_hex("mulhu", (uint64_t)((unsigned __int128)x * x >> 64));
    volatile int64_t y = -3;
    say_hex("mulh", (uint64_t)((__int128)y * 5 >> 64));
    return (long)(h & 0x7FFFFFFF);
}
JK_PROGRAM_MAIN(ints_main);
