/*
 * bench_util.h — what the demo-chain benchmarks (bench_chain.c,
 * bench_ledger.c, bench_work_demo.c) share, and bench_gas.c and
 * bench_kernel.c the first two of: failing loudly, clocks, key pairs derived from fixed
 * seeds, the demo chain's spec, its genesis with a bench's ledger, a chain
 * kernel, and the transfer blob. Every helper exits the process (status 1,
 * message on stderr) on failure: a bench has no error path to report to.
 */
#ifndef JK_BENCH_UTIL_H
#define JK_BENCH_UTIL_H

#include "jark/chain.h"
#include "jark/spec.h"

#include <stddef.h>
#include <stdint.h>

#define JK_BU_RECORD 48u   /* a ledger record: key[32] ‖ balance u64 ‖ nonce u64 */
#define JK_BU_TRANSFER 81u /* 'T' ‖ from ‖ to ‖ amount u64 ‖ nonce u64 */

typedef struct jk_bu_key {
    uint8_t pk[32], sk[64];
} jk_bu_key;

/* The program name failures are reported under (default "bench"). */
void jk_bu_set_name(const char *name);
/* Print "name: message" on stderr and exit(1). */
void jk_bu_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* jk_bu_fail("what: <the error>") unless err is JK_OK. */
void jk_bu_check(jk_err err, const char *what);
/* Seconds on CLOCK_MONOTONIC, and the process's CPU seconds (all threads). */
double jk_bu_now(void);
double jk_bu_cpu_now(void);
/* Zeroed memory (at least one byte), or exit. */
void *jk_bu_alloc(size_t n);
/* memcmp of two 32-byte keys, for qsort of records or key pairs (key first). */
int jk_bu_key_cmp(const void *a, const void *b);
/* The key pair seeded by H("jark/bench/<bench>/<purpose>/<i>"). */
void jk_bu_derive(const char *bench, const char *purpose, uint32_t i, jk_bu_key *out);
/* jk_spec_file_load of examples/demo/devnet-spec.json, found from the SDK
 * (jk_sdk_dir, JARK_SDK_DIR). */
void jk_bu_load_demo(jk_spec_file *out);
/* The demo chain's genesis from spec with `ledger` (len bytes of sorted
 * records) in slot 20, one registered reporter in slot 21, and `validator` as
 * the only validator. */
void jk_bu_genesis(const jk_spec_file *spec, const uint8_t validator[32], const uint8_t *ledger,
                   size_t len, jk_chain_genesis *out);
/* A chain kernel at genesis g (no store). */
jk_chain_kernel *jk_bu_kernel(const jk_chain_genesis *g);
/* The demo's transfer blob: from pays amount to `to`, with nonce. */
void jk_bu_transfer(uint8_t blob[JK_BU_TRANSFER], const uint8_t from[32], const uint8_t to[32],
                    uint64_t amount, uint64_t nonce);

#endif
