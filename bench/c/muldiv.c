/* muldiv.c — a loop of 64-bit multiplies, divisions and remainders. */
#include "jark.h"

uint64_t c_muldiv(uint64_t seed, uint64_t n)
{
    uint64_t x = seed, acc = 0;
    for (uint64_t k = 0; k < n; k++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        acc += x / ((x >> 32) | 1);
        acc ^= x % ((x & 0xFFFF) + 3);
    }
    return acc;
}
JK_ENDPOINT(0, c_muldiv);
