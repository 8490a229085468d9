/*
 * bench_ledger.c — `make bench-ledger`: what one block of the demo chain
 * costs as its ledger grows (issue 14). A block of 1,000 transfers between
 * 1,000 funded accounts is produced once, then imported on a fresh kernel at
 * genesis (best of 3) with the ledger holding 1,000, 100,000 and (with
 * `--big`) 1,000,000 accounts; the accounts beyond the 1,000 that transfer
 * are filler records that no transfer touches. A block's cost should follow
 * the accounts it touches, not the ledger's size: the `per_account_ns` column
 * is (import time − the 1,000-account import time) ÷ (accounts − 1,000).
 *
 * The genesis is built as `jark devnet` builds it: examples/demo/devnet-spec.json
 * (programs compiled with the SDK), its state replaced by this bench's
 * ledger. Checked: every event admitted, the block holds all 1,000, import
 * ends on the produced state root (else exit 1). See docs/bench.md.
 */
#include "jark/bytes.h"
#include "jark/sdk.h"
#include "jark/spec.h"
#include "jark/chain.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define JK_LB_SENDERS 1000u
#define JK_LB_RECORD 48u
#define JK_LB_TRANSFER 81u
#define JK_LB_BALANCE 1000000u

typedef struct jk_lb_key {
    uint8_t pk[32], sk[64];
} jk_lb_key;

static void jk_lb_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "bench_ledger: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

static double jk_lb_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void *jk_lb_alloc(size_t n)
{
    void *p = calloc(1, n ? n : 1);
    if (!p)
        jk_lb_fail("out of memory (%zu bytes)", n);
    return p;
}

static int jk_lb_cmp(const void *a, const void *b) { return memcmp(a, b, 32); }

typedef struct jk_lb {
    jk_spec_file spec;
    jk_lb_key validator;
    jk_lb_key *senders;
    uint8_t (*blobs)[JK_LB_TRANSFER];
} jk_lb;

static void jk_lb_derive(const char *purpose, uint32_t i, jk_lb_key *out)
{
    char buf[64];
    int n = snprintf(buf, sizeof buf, "jark/bench/ledger/%s/%u", purpose, i);
    jk_hash seed;
    jk_crypto_blake2b256(buf, (size_t)n, &seed);
    if (jk_crypto_ed25519_keypair_from_seed(seed.bytes, out->pk, out->sk) != JK_OK)
        jk_lb_fail("cannot derive a key");
}

/* Genesis with `accounts` records: the senders, then filler keys
 * 0xA5 ‖ BE(i) ‖ 0x5A… (distinct from the senders' with overwhelming odds). */
static void jk_lb_genesis(jk_lb *b, uint32_t accounts, jk_chain_genesis *out)
{
    size_t len = (size_t)accounts * JK_LB_RECORD;
    uint8_t *ledger = jk_lb_alloc(len);
    for (uint32_t i = 0; i < accounts; i++) {
        uint8_t *r = ledger + (size_t)i * JK_LB_RECORD;
        if (i < JK_LB_SENDERS) {
            memcpy(r, b->senders[i].pk, 32);
        } else {
            memset(r, 0x5A, 32);
            r[0] = 0xA5;
            for (int k = 0; k < 4; k++)
                r[1 + k] = (uint8_t)(i >> (24 - 8 * k));
        }
        jk_put_u64le(r + 32, JK_LB_BALANCE);
        jk_put_u64le(r + 40, 0);
    }
    qsort(ledger, accounts, JK_LB_RECORD, jk_lb_cmp);
    uint8_t reporter[32];
    memset(reporter, 0x5A, sizeof reporter);
    uint32_t slots[2] = {20, 21};
    const uint8_t *data[2] = {ledger, reporter};
    size_t lens[2] = {len, sizeof reporter};
    jk_chain_spec spec = b->spec.spec;
    spec.state_slots = slots;
    spec.state_data = data;
    spec.state_len = lens;
    spec.state_count = 2;
    spec.validators = (const uint8_t(*)[32])b->validator.pk;
    spec.validator_count = 1;
    jk_diag diag = {{0}};
    jk_err e = jk_chain_genesis_build(&spec, out, &diag);
    free(ledger);
    if (e != JK_OK)
        jk_lb_fail("genesis: %s", diag.msg[0] ? diag.msg : jk_strerror(e));
}

static jk_chain_kernel *jk_lb_kernel(const jk_chain_genesis *g)
{
    jk_chain_kernel *ck = NULL;
    jk_diag diag = {{0}};
    jk_err e = jk_chain_kernel_new(g, jk_cap_null(), &ck, &diag);
    if (e != JK_OK)
        jk_lb_fail("kernel: %s", diag.msg[0] ? diag.msg : jk_strerror(e));
    return ck;
}

/* Produce block 1 (every transfer gossiped, all admitted). */
static void jk_lb_produce(jk_lb *b, const jk_chain_genesis *g, jk_chain_block *block)
{
    jk_chain_kernel *ck = jk_lb_kernel(g);
    jk_chain_set_own_key(ck, b->validator.sk);
    jk_diag diag = {{0}};
    if (jk_chain_setup_cycle(ck, &diag) != JK_OK)
        jk_lb_fail("setup_cycle: %s", diag.msg);
    for (uint32_t i = 0; i < JK_LB_SENDERS; i++) {
        jk_chain_trace t;
        jk_chain_trace_sign(b->senders[i].sk, &g->genesis_hash, b->blobs[i], JK_LB_TRANSFER, &t);
        jk_chain_event ev = {JK_CHAIN_ENDPOINT_TRANSACT, b->blobs[i], JK_LB_TRANSFER};
        bool admitted = false;
        if (jk_chain_handle_incoming_event(ck, &ev, &t, 1, &admitted, &diag) != JK_OK || !admitted)
            jk_lb_fail("transfer %u was not admitted", i);
    }
    if (jk_chain_run_cycle_process(ck, NULL) != JK_OK)
        jk_lb_fail("run_cycle_process");
    if (jk_chain_apply_block_produce(ck, &g->genesis_hash, 1, 0, NULL, block, &diag) != JK_OK)
        jk_lb_fail("produce: %s", diag.msg);
    jk_chain_teardown(ck);
    if (block->event_count != JK_LB_SENDERS)
        jk_lb_fail("produced %zu events, not %u", block->event_count, JK_LB_SENDERS);
    jk_chain_kernel_free(ck);
}

static double jk_lb_import(const jk_chain_genesis *g, const jk_chain_block *block)
{
    jk_chain_kernel *ck = jk_lb_kernel(g);
    jk_diag diag = {{0}};
    double t0 = jk_lb_now();
    jk_err e = jk_chain_apply_block_import(ck, block, &g->genesis_hash, 1, &diag);
    double t = jk_lb_now() - t0;
    if (e != JK_OK)
        jk_lb_fail("import: %s", diag.msg[0] ? diag.msg : jk_strerror(e));
    jk_hash root;
    jk_cap_hash(ck->chain, &root);
    if (memcmp(root.bytes, block->header.state_root.bytes, 32) != 0)
        jk_lb_fail("import ended on another state root");
    jk_chain_kernel_free(ck);
    return t;
}

static double jk_lb_run(jk_lb *b, uint32_t accounts)
{
    jk_chain_genesis g;
    jk_lb_genesis(b, accounts, &g);
    jk_chain_block block;
    memset(&block, 0, sizeof block);
    jk_lb_produce(b, &g, &block);
    double best = 1e9;
    for (int r = 0; r < 3; r++) {
        double t = jk_lb_import(&g, &block);
        best = t < best ? t : best;
    }
    jk_chain_block_free(&block);
    jk_cap_release(g.chain);
    return best;
}

int main(int argc, char **argv)
{
    bool big = argc == 2 && !strcmp(argv[1], "--big");
    if (argc > 2 || (argc == 2 && !big)) {
        fprintf(stderr, "usage: bench_ledger [--big]\n");
        return 2;
    }
    if (jk_crypto_init() != JK_OK)
        jk_lb_fail("crypto init");
    static jk_lb b;
    char spec_path[PATH_MAX + 64];
    jk_diag diag = {{0}};
    const char *sdk = jk_sdk_dir();
    if (!sdk)
        jk_lb_fail("cannot find the SDK (set JARK_SDK_DIR)");
    snprintf(spec_path, sizeof spec_path, "%.*s/../examples/demo/devnet-spec.json", PATH_MAX, sdk);
    if (jk_spec_file_load(spec_path, NULL, &b.spec, &diag) != JK_OK)
        jk_lb_fail("the demo chain: %s", diag.msg);
    jk_lb_derive("validator", 0, &b.validator);
    b.senders = jk_lb_alloc(JK_LB_SENDERS * sizeof *b.senders);
    b.blobs = jk_lb_alloc(JK_LB_SENDERS * sizeof *b.blobs);
    for (uint32_t i = 0; i < JK_LB_SENDERS; i++)
        jk_lb_derive("account", i, &b.senders[i]);
    /* sender i pays 1 + i % 7 to sender i + 1, nonce 0 */
    for (uint32_t i = 0; i < JK_LB_SENDERS; i++) {
        uint8_t *t = b.blobs[i];
        t[0] = 'T';
        memcpy(t + 1, b.senders[i].pk, 32);
        memcpy(t + 33, b.senders[(i + 1) % JK_LB_SENDERS].pk, 32);
        jk_put_u64le(t + 65, 1 + i % 7);
        jk_put_u64le(t + 73, 0);
    }
    const uint32_t sizes[3] = {1000, 100000, 1000000};
    double base = 0;
    for (int s = 0; s < (big ? 3 : 2); s++) {
        double t = jk_lb_run(&b, sizes[s]);
        if (s == 0)
            base = t;
        double per = s == 0 ? 0 : (t - base) / (double)(sizes[s] - sizes[0]) * 1e9;
        printf("BENCH ledger_import accounts=%u transfers=%u import_ns_per_block=%.0f per_account_ns=%.2f\n",
               sizes[s], JK_LB_SENDERS, t * 1e9, per);
        fflush(stdout);
    }
    jk_spec_file_free(&b.spec);
    free(b.senders);
    free(b.blobs);
    return 0;
}
