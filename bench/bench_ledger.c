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
#include "bench_util.h"

#include "jark/bytes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JK_LB_SENDERS 1000u
#define JK_LB_RECORD JK_BU_RECORD
#define JK_LB_TRANSFER JK_BU_TRANSFER
#define JK_LB_BALANCE 1000000u

typedef struct jk_lb {
    jk_spec_file spec;
    jk_bu_key validator;
    jk_bu_key *senders;
    uint8_t (*blobs)[JK_LB_TRANSFER];
} jk_lb;

/* Genesis with `accounts` records: the senders, then filler keys
 * 0xA5 ‖ BE(i) ‖ 0x5A… (distinct from the senders' with overwhelming odds). */
static void jk_lb_genesis(jk_lb *b, uint32_t accounts, jk_chain_genesis *out)
{
    size_t len = (size_t)accounts * JK_LB_RECORD;
    uint8_t *ledger = jk_bu_alloc(len);
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
    qsort(ledger, accounts, JK_LB_RECORD, jk_bu_key_cmp);
    jk_bu_genesis(&b->spec, b->validator.pk, ledger, len, out);
    free(ledger);
}

/* Produce block 1 (every transfer gossiped, all admitted). */
static void jk_lb_produce(jk_lb *b, const jk_chain_genesis *g, jk_chain_block *block)
{
    jk_chain_kernel *ck = jk_bu_kernel(g);
    jk_chain_set_own_key(ck, b->validator.sk);
    jk_diag diag = {{0}};
    if (jk_chain_setup_cycle(ck, &diag) != JK_OK)
        jk_bu_fail("setup_cycle: %s", diag.msg);
    for (uint32_t i = 0; i < JK_LB_SENDERS; i++) {
        jk_chain_trace t;
        jk_chain_trace_sign(b->senders[i].sk, &g->genesis_hash, b->blobs[i], JK_LB_TRANSFER, &t);
        jk_chain_event ev = {JK_CHAIN_ENDPOINT_TRANSACT, b->blobs[i], JK_LB_TRANSFER};
        bool admitted = false;
        if (jk_chain_handle_incoming_event(ck, &ev, &t, 1, &admitted, &diag) != JK_OK || !admitted)
            jk_bu_fail("transfer %u was not admitted", i);
    }
    if (jk_chain_run_cycle_process(ck, NULL) != JK_OK)
        jk_bu_fail("run_cycle_process");
    if (jk_chain_apply_block_produce(ck, &g->genesis_hash, 1, 0, NULL, block, &diag) != JK_OK)
        jk_bu_fail("produce: %s", diag.msg);
    jk_chain_teardown(ck);
    if (block->event_count != JK_LB_SENDERS)
        jk_bu_fail("produced %zu events, not %u", block->event_count, JK_LB_SENDERS);
    jk_chain_kernel_free(ck);
}

static double jk_lb_import(const jk_chain_genesis *g, const jk_chain_block *block)
{
    jk_chain_kernel *ck = jk_bu_kernel(g);
    jk_diag diag = {{0}};
    double t0 = jk_bu_now();
    jk_err e = jk_chain_apply_block_import(ck, block, &g->genesis_hash, 1, &diag);
    double t = jk_bu_now() - t0;
    if (e != JK_OK)
        jk_bu_fail("import: %s", diag.msg[0] ? diag.msg : jk_strerror(e));
    jk_hash root;
    jk_cap_hash(ck->chain, &root);
    if (memcmp(root.bytes, block->header.state_root.bytes, 32) != 0)
        jk_bu_fail("import ended on another state root");
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
    jk_bu_set_name("bench_ledger");
    bool big = argc == 2 && !strcmp(argv[1], "--big");
    if (argc > 2 || (argc == 2 && !big)) {
        fprintf(stderr, "usage: bench_ledger [--big]\n");
        return 2;
    }
    if (jk_crypto_init() != JK_OK)
        jk_bu_fail("crypto init");
    static jk_lb b;
    jk_bu_load_demo(&b.spec);
    jk_bu_derive("ledger", "validator", 0, &b.validator);
    b.senders = jk_bu_alloc(JK_LB_SENDERS * sizeof *b.senders);
    b.blobs = jk_bu_alloc(JK_LB_SENDERS * sizeof *b.blobs);
    for (uint32_t i = 0; i < JK_LB_SENDERS; i++)
        jk_bu_derive("ledger", "account", i, &b.senders[i]);
    /* sender i pays 1 + i % 7 to sender i + 1, nonce 0 */
    for (uint32_t i = 0; i < JK_LB_SENDERS; i++) {
        jk_bu_transfer(b.blobs[i], b.senders[i].pk, b.senders[(i + 1) % JK_LB_SENDERS].pk, 1 + i % 7, 0);
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
