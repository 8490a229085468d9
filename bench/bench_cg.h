/*
 * bench_cg.h — callgrind's profile parts for the benchmarks: under
 * `valgrind --tool=callgrind`, JK_BENCH_CG_START() zeroes the counts and
 * JK_BENCH_CG_DUMP(name) dumps what ran since as a part named so (its
 * `summary:` is that part's instruction count). Without valgrind's header
 * the markers compile to nothing; outside valgrind they cost a few
 * instructions each.
 */
#ifndef JK_BENCH_CG_H
#define JK_BENCH_CG_H

#if defined(__has_include)
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define JK_BENCH_CG_START() CALLGRIND_ZERO_STATS
#define JK_BENCH_CG_DUMP(name) CALLGRIND_DUMP_STATS_AT(name)
#endif
#endif
#ifndef JK_BENCH_CG_START
#define JK_BENCH_CG_START() ((void)0)
#define JK_BENCH_CG_DUMP(name) ((void)(name))
#endif

#endif
