/*
 * native_algos.c — native C twins of the PVM benchmark programs (see
 * native_algos.h). Keep each function in step with its bench/pvm/NAME.s file:
 * the harness checks that both give the same result.
 */
#include "native_algos.h"

uint64_t jk_bench_sieve_native(uint8_t *a, uint64_t n)
{
    uint64_t count = 0;
    for (uint64_t i = 2; i < n; i++) {
        if (a[i] != 0)
            continue;
        count++;
        for (uint64_t j = i * i; j < n; j += i)
            a[j] = 1;
    }
    return count;
}

uint64_t jk_bench_muldiv_native(uint64_t seed, uint64_t n)
{
    uint64_t x = seed, acc = 0;
    for (uint64_t k = 0; k < n; k++) {
        x = x * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
        acc += x / ((x >> 32) | 1);
        acc ^= x % ((x & 0xFFFF) + 3);
    }
    return acc;
}

uint64_t jk_bench_copy_native(uint64_t *a, uint64_t *b, uint64_t bytes,
                              uint64_t passes)
{
    const uint64_t k = UINT64_C(0x9E3779B97F4A7C15);
    uint64_t words = bytes / 8, v = k;
    for (uint64_t i = 0; i < words; i++, v += k)
        a[i] = v;
    uint64_t *src = a, *dst = b;
    for (uint64_t p = 0; p < passes; p++) {
        for (uint64_t i = 0; i < words; i += 4) {
            uint64_t w0 = src[i], w1 = src[i + 1], w2 = src[i + 2], w3 = src[i + 3];
            dst[i] = w0;
            dst[i + 1] = w1;
            dst[i + 2] = w2;
            dst[i + 3] = w3;
        }
        uint64_t *t = src;
        src = dst;
        dst = t;
    }
    uint64_t acc = 0;
    for (uint64_t i = 0; i < words; i++)
        acc = ((acc << 5) | (acc >> 59)) ^ src[i];
    return acc;
}

/* Calls go through a volatile function pointer: otherwise GCC turns one of
 * the two recursive calls into a loop (accumulator tail recursion), and the
 * native side would make half the calls the PVM program makes. */
static uint64_t jk_fib_rec(uint64_t n);
static uint64_t (*volatile jk_fib_call)(uint64_t) = jk_fib_rec;

static uint64_t jk_fib_rec(uint64_t n)
{
    if (n < 2)
        return n;
    return jk_fib_call(n - 1) + jk_fib_call(n - 2);
}

uint64_t jk_bench_fib_native(uint64_t n)
{
    return jk_fib_rec(n);
}
