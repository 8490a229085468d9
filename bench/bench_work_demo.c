/*
 * bench_work_demo.c — the demo chain's own programs (examples/demo,
 * docs/demo-chain.md) on the interpreter and on the recompiler, through the
 * kernel (jk_chain_invoke on the chain kernel's jk_kernel), as a validator
 * runs them:
 *
 *   demo_verify  verify (VerifyImage, endpoint 0) of one 81-byte transfer,
 *                on a fresh copy of verify_proto with the scratchpad
 *                {0: blob, 1: a fresh AA}: 1,000 invocations, one per
 *                transfer, each from a distinct funded account;
 *   demo_apply   chain.apply (endpoint 0) of one block of those 1,000
 *                transfers, with {0: body, 1: AA, 2: block context}.
 *
 * The genesis ledger holds the 1,000 accounts (built as `jark devnet` does,
 * from examples/demo/devnet-spec.json, through bench_util.h as bench_chain
 * and bench_ledger build theirs). Attests are accepted without a
 * signature check: the signatures are libsodium's work, the same on both
 * engines, and this measures the PVM. The engine is chosen with
 * jk_pvm_set_auto_engine (the chain's kernels ask for AUTO). Checked: every
 * invocation HALTs; verify hands back an event instance; both engines use the
 * same gas and apply ends on the same chain (its cap hash).
 *
 *   BENCH jit_demo_<verify|apply> invocations=<n> gas=<per invocation>
 *         jit_us=<per invocation> interp_us=<per invocation> speedup=<interp/jit>
 *
 * gas is what the kernel charged (res.gas_used): one per PVM instruction plus
 * the host calls' charges (docs/abi.md), so it bounds the instructions from
 * above; the kernel has no separate instruction count.
 */
#include "jark/bytes.h"
#include "jark/chain.h"
#include "jark/spec.h"

#include "../src/chain/internal.h"
#include "bench_util.h"
#include "bench_work.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JK_DEMO_ACCOUNTS 1000u
#define JK_DEMO_RECORD 48u
#define JK_DEMO_TRANSFER 81u

static jk_err jk_demo_accept(void *ctx, const uint8_t key[32], const uint8_t *blob, size_t len, bool *accept)
{
    (void)ctx;
    (void)key;
    (void)blob;
    (void)len;
    *accept = true;
    return JK_OK;
}

typedef struct jk_demo {
    jk_spec_file spec;
    uint8_t (*keys)[32];
    uint8_t (*blobs)[JK_DEMO_TRANSFER];
    jk_chain_genesis genesis;
    jk_chain_kernel *ck;
} jk_demo;

static void jk_demo_setup(jk_demo *d)
{
    jk_bu_load_demo(&d->spec);
    d->keys = calloc(JK_DEMO_ACCOUNTS, sizeof *d->keys);
    d->blobs = calloc(JK_DEMO_ACCOUNTS, sizeof *d->blobs);
    uint8_t *ledger = calloc(JK_DEMO_ACCOUNTS, JK_DEMO_RECORD);
    if (!d->keys || !d->blobs || !ledger)
        jk_work_fail("out of memory");
    uint8_t validator[32], secret[64];
    for (uint32_t i = 0; i <= JK_DEMO_ACCOUNTS; i++) {
        char what[64];
        int n = snprintf(what, sizeof what, "jark/bench/work/demo/%u", i);
        jk_hash seed;
        jk_crypto_blake2b256(what, (size_t)n, &seed);
        if (jk_crypto_ed25519_keypair_from_seed(seed.bytes, i < JK_DEMO_ACCOUNTS ? d->keys[i] : validator,
                                                secret) != JK_OK)
            jk_work_fail("cannot derive a key");
    }
    for (uint32_t i = 0; i < JK_DEMO_ACCOUNTS; i++) {
        uint8_t *r = ledger + (size_t)i * JK_DEMO_RECORD;
        memcpy(r, d->keys[i], 32);
        jk_put_u64le(r + 32, 1000000);
        jk_put_u64le(r + 40, 0);
        /* account i pays 1 + i % 7 to account i + 1, nonce 0 */
        uint8_t *t = d->blobs[i];
        t[0] = 'T';
        memcpy(t + 1, d->keys[i], 32);
        memcpy(t + 33, d->keys[(i + 1) % JK_DEMO_ACCOUNTS], 32);
        jk_put_u64le(t + 65, 1 + i % 7);
        jk_put_u64le(t + 73, 0);
    }
    qsort(ledger, JK_DEMO_ACCOUNTS, JK_DEMO_RECORD, jk_bu_key_cmp);
    jk_bu_genesis(&d->spec, validator, ledger, (size_t)JK_DEMO_ACCOUNTS * JK_DEMO_RECORD, &d->genesis);
    free(ledger);
    d->ck = jk_bu_kernel(&d->genesis);
    jk_diag diag = {{0}};
    if (jk_chain_setup_cycle(d->ck, &diag) != JK_OK) /* makes verify_proto */
        jk_work_fail("setup_cycle: %s", diag.msg);
}

/* Every transfer's verify once, as handle_incoming_event runs it. Returns the
 * time of all of them; the gas of all out. */
static double jk_demo_verify_all(jk_demo *d, int64_t *gas)
{
    jk_chain_kernel *ck = d->ck;
    *gas = 0;
    double t0 = jk_work_now();
    for (uint32_t i = 0; i < JK_DEMO_ACCOUNTS; i++) {
        jk_cap blob = jk_cap_null(), aa = jk_cap_null(), pad = jk_cap_null();
        jk_kernel_result res;
        memset(&res, 0, sizeof res);
        if (jk_cap_data_new(d->blobs[i], JK_DEMO_TRANSFER, &blob) != JK_OK || jk_chain_inject_aa(ck, &aa) != JK_OK ||
            jk_chain_pair(blob, aa, &pad) != JK_OK ||
            jk_chain_invoke(ck->kernel, ck->attest_marker, ck->verify_proto, 0, ck->gas.verify, NULL, pad,
                            jk_demo_accept, NULL, NULL, &res) != JK_OK)
            jk_work_fail("verify %u could not run", i);
        if (res.outcome != JK_KERNEL_HALT || jk_cap_kind_of(res.slot0) != JK_CAP_INSTANCE)
            jk_work_fail("verify %u did not admit its transfer: %s", i, res.fault_msg);
        *gas += res.gas_used;
        jk_kernel_result_clear(&res);
        jk_cap_release(pad);
        jk_cap_release(aa);
        jk_cap_release(blob);
    }
    return jk_work_now() - t0;
}

/* The body as chain.apply sees it: slot i = {0: endpoint u32 LE, 1: blob}. */
static jk_cap jk_demo_body(const jk_demo *d)
{
    jk_cap body;
    unsigned log2 = 0;
    while ((1u << log2) < JK_DEMO_ACCOUNTS)
        log2++;
    if (jk_cap_cnode_new(log2, &body) != JK_OK)
        jk_work_fail("out of memory");
    static const uint8_t ep[4] = {(uint8_t)JK_CHAIN_ENDPOINT_TRANSACT, 0, 0, 0};
    for (uint32_t i = 0; i < JK_DEMO_ACCOUNTS; i++) {
        jk_cap e, b, pair, next;
        if (jk_cap_data_new(ep, sizeof ep, &e) != JK_OK || jk_cap_data_new(d->blobs[i], JK_DEMO_TRANSFER, &b) != JK_OK ||
            jk_chain_pair(e, b, &pair) != JK_OK || jk_cap_cnode_set(body, i, pair, &next) != JK_OK)
            jk_work_fail("out of memory");
        jk_cap_release(e);
        jk_cap_release(b);
        jk_cap_release(pair);
        jk_cap_release(body);
        body = next;
    }
    return body;
}

/* chain.apply of the block once. Returns its time; gas and the chain's hash out. */
static double jk_demo_apply_once(jk_demo *d, jk_cap body, int64_t *gas, jk_hash *after)
{
    jk_chain_kernel *ck = d->ck;
    uint8_t ctx[16];
    jk_put_u64le(ctx, 1);
    jk_put_u32le(ctx + 8, 0);
    jk_put_u32le(ctx + 12, 0);
    jk_cap context = jk_cap_null(), aa = jk_cap_null(), pad = jk_cap_null();
    jk_kernel_result res;
    memset(&res, 0, sizeof res);
    if (jk_cap_data_new(ctx, sizeof ctx, &context) != JK_OK || jk_chain_inject_aa(ck, &aa) != JK_OK ||
        jk_chain_triple(body, aa, context, &pad) != JK_OK)
        jk_work_fail("out of memory");
    double t0 = jk_work_now();
    jk_err e = jk_chain_invoke(ck->kernel, ck->attest_marker, ck->chain, JK_CHAIN_EP_APPLY, ck->gas.block, NULL, pad,
                               jk_demo_accept, NULL, NULL, &res);
    double t = jk_work_now() - t0;
    if (e != JK_OK || res.outcome != JK_KERNEL_HALT)
        jk_work_fail("apply did not HALT: %s", e ? jk_strerror(e) : res.fault_msg);
    *gas = res.gas_used;
    jk_cap_hash(res.instance, after);
    jk_kernel_result_clear(&res);
    jk_cap_release(pad);
    jk_cap_release(aa);
    jk_cap_release(context);
    return t;
}

static void jk_demo_print(const char *name, uint32_t n, int64_t gas, double jit, double interp)
{
    printf("BENCH jit_demo_%s invocations=%u gas=%lld jit_us=%.2f interp_us=%.2f speedup=%.2f\n", name, n,
           (long long)(gas / n), jit / n * 1e6, interp / n * 1e6, interp / jit);
    fflush(stdout);
}

void jk_work_demo_measure(int rounds, jk_work_demo_fig *fig)
{
    if (jk_crypto_init() != JK_OK)
        jk_work_fail("crypto init");
    static jk_demo d;
    jk_bu_set_name("bench_work"); /* the name jk_work_fail reports under */
    jk_demo_setup(&d);
    jk_pvm_engine saved = jk_pvm_auto_engine();
    static const jk_pvm_engine engines[2] = {JK_PVM_ENGINE_INTERP, JK_PVM_ENGINE_JIT};
    double best[2][2] = {{1e30, 1e30}, {1e30, 1e30}}; /* [verify, apply][interp, jit] */
    int64_t gas[2][2] = {{0, 0}, {0, 0}};
    jk_hash chain[2];
    jk_cap body = jk_demo_body(&d);
    for (int r = 0; r < rounds; r++) {
        for (int e = 0; e < 2; e++) {
            jk_pvm_set_auto_engine(engines[e]);
            double t = jk_demo_verify_all(&d, &gas[0][e]);
            best[0][e] = t < best[0][e] ? t : best[0][e];
            t = jk_demo_apply_once(&d, body, &gas[1][e], &chain[e]);
            best[1][e] = t < best[1][e] ? t : best[1][e];
        }
        if (gas[0][0] != gas[0][1] || gas[1][0] != gas[1][1] || memcmp(chain[0].bytes, chain[1].bytes, 32) != 0)
            jk_work_fail("the engines differ: verify gas %lld / %lld, apply gas %lld / %lld, or apply's chain",
                         (long long)gas[0][0], (long long)gas[0][1], (long long)gas[1][0], (long long)gas[1][1]);
    }
    jk_pvm_set_auto_engine(saved);
    fig->invocations[0] = JK_DEMO_ACCOUNTS;
    fig->invocations[1] = 1;
    for (int w = 0; w < 2; w++) {
        fig->gas[w] = gas[w][1];
        for (int e = 0; e < 2; e++)
            fig->seconds[w][e] = best[w][e];
    }
    jk_cap_release(body);
    jk_chain_teardown(d.ck);
    jk_chain_kernel_free(d.ck);
    jk_cap_release(d.genesis.chain);
    jk_spec_file_free(&d.spec);
    free(d.keys);
    free(d.blobs);
}

void jk_work_demo(int rounds, double speedup[2])
{
    jk_work_demo_fig f;
    jk_work_demo_measure(rounds, &f);
    jk_demo_print("verify", f.invocations[0], f.gas[0], f.seconds[0][1], f.seconds[0][0]);
    jk_demo_print("apply", f.invocations[1], f.gas[1], f.seconds[1][1], f.seconds[1][0]);
    speedup[0] = f.seconds[0][0] / f.seconds[0][1];
    speedup[1] = f.seconds[1][0] / f.seconds[1][1];
}
