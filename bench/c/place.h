/* place.h — where the benchmarks' large arrays live. Natively (bench_c's
 * twin) an array of 2 MiB or more is 2 MiB-aligned, and bench_c.c asks for
 * huge pages over the program's zero-initialised data, as the recompiler's
 * guest arenas of that size are placed (docs/bench.md, "Recompiler, session
 * 11"): with 4 KiB pages on the native side only, a ratio measures the TLB.
 * In the PVM build the guest's data is placed by the memory's arenas. */
#ifndef JK_BENCH_C_PLACE_H
#define JK_BENCH_C_PLACE_H
#ifdef JARK_NATIVE
#define JK_BENCH_LARGE __attribute__((aligned(2u << 20)))
#else
#define JK_BENCH_LARGE
#endif
#endif
