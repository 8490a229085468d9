/*
 * native_algos.h — the benchmark algorithms in plain C, the yardstick for the
 * PVM programs in bench/pvm/NAME.s. Each function does exactly what its .s file
 * does (same loop, same constants, same result) so that the PVM/native time
 * ratio measures the interpreter, not a different algorithm. Built -O2 in its
 * own translation unit; the harness feeds inputs through volatiles and sinks
 * results, so nothing is constant-folded away.
 */
#ifndef JK_BENCH_NATIVE_ALGOS_H
#define JK_BENCH_NATIVE_ALGOS_H

#include <stdint.h>

/* Primes below n, sieving the zeroed byte array a[0..n). */
uint64_t jk_bench_sieve_native(uint8_t *a, uint64_t n);

/* The LCG multiply/divide/remainder loop of muldiv.s, n iterations. */
uint64_t jk_bench_muldiv_native(uint64_t seed, uint64_t n);

/* copy.s: fill a, copy a->b->a... `passes` times (ping-pong, 4 words a turn),
 * checksum the last destination. bytes is a nonzero multiple of 32. */
uint64_t jk_bench_copy_native(uint64_t *a, uint64_t *b, uint64_t bytes,
                              uint64_t passes);

/* fib(n) by the doubly recursive definition. */
uint64_t jk_bench_fib_native(uint64_t n);

#endif
