/*
 * bench_util.c — the demo-chain benchmarks' shared setup (bench_util.h).
 */
#include "bench_util.h"

#include "jark/bytes.h"
#include "jark/sdk.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *jk_bu_name = "bench";

void jk_bu_set_name(const char *name) { jk_bu_name = name; }

void jk_bu_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", jk_bu_name);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

void jk_bu_check(jk_err err, const char *what)
{
    if (err != JK_OK)
        jk_bu_fail("%s: %s", what, jk_strerror(err));
}

static double jk_bu_clock(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double jk_bu_now(void) { return jk_bu_clock(CLOCK_MONOTONIC); }

/* On a machine shared with other work, a single-threaded run's CPU time
 * barely moves with the load, while its wall time does (preemption). */
double jk_bu_cpu_now(void) { return jk_bu_clock(CLOCK_PROCESS_CPUTIME_ID); }

void *jk_bu_alloc(size_t n)
{
    void *p = calloc(1, n ? n : 1);
    if (!p)
        jk_bu_fail("out of memory (%zu bytes)", n);
    return p;
}

int jk_bu_key_cmp(const void *a, const void *b) { return memcmp(a, b, 32); }

void jk_bu_derive(const char *bench, const char *purpose, uint32_t i, jk_bu_key *out)
{
    char buf[96];
    int n = snprintf(buf, sizeof buf, "jark/bench/%s/%s/%u", bench, purpose, i);
    jk_hash seed;
    jk_crypto_blake2b256(buf, (size_t)n, &seed);
    if (jk_crypto_ed25519_keypair_from_seed(seed.bytes, out->pk, out->sk) != JK_OK)
        jk_bu_fail("cannot derive a key");
}

void jk_bu_load_demo(jk_spec_file *out)
{
    const char *sdk = jk_sdk_dir();
    if (!sdk)
        jk_bu_fail("cannot find the SDK (set JARK_SDK_DIR)");
    char spec_path[PATH_MAX + 64];
    snprintf(spec_path, sizeof spec_path, "%.*s/../examples/demo/devnet-spec.json", PATH_MAX, sdk);
    jk_diag diag = {{0}};
    if (jk_spec_file_load(spec_path, NULL, out, &diag) != JK_OK)
        jk_bu_fail("the demo chain: %s", diag.msg);
}

void jk_bu_genesis(const jk_spec_file *spec, const uint8_t validator[32], const uint8_t *ledger,
                   size_t len, jk_chain_genesis *out)
{
    uint8_t reporter[32];
    memset(reporter, 0x5A, sizeof reporter);
    uint32_t slots[2] = {20, 21};
    const uint8_t *data[2] = {ledger, reporter};
    size_t lens[2] = {len, sizeof reporter};
    jk_chain_spec s = spec->spec;
    s.state_slots = slots;
    s.state_data = data;
    s.state_len = lens;
    s.state_count = 2;
    s.validators = (const uint8_t(*)[32])validator;
    s.validator_count = 1;
    jk_diag diag = {{0}};
    jk_err e = jk_chain_genesis_build(&s, out, &diag);
    if (e != JK_OK)
        jk_bu_fail("genesis: %s", diag.msg[0] ? diag.msg : jk_strerror(e));
}

jk_chain_kernel *jk_bu_kernel(const jk_chain_genesis *g)
{
    jk_chain_kernel *ck = NULL;
    jk_diag diag = {{0}};
    jk_err e = jk_chain_kernel_new(g, jk_cap_null(), &ck, &diag);
    if (e != JK_OK)
        jk_bu_fail("kernel: %s", diag.msg[0] ? diag.msg : jk_strerror(e));
    return ck;
}

void jk_bu_transfer(uint8_t blob[JK_BU_TRANSFER], const uint8_t from[32], const uint8_t to[32],
                    uint64_t amount, uint64_t nonce)
{
    blob[0] = 'T';
    memcpy(blob + 1, from, 32);
    memcpy(blob + 33, to, 32);
    jk_put_u64le(blob + 65, amount);
    jk_put_u64le(blob + 73, nonce);
}
