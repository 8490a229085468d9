/*
 * demo.c — the demo chain's workload (docs/demo-chain.md): 64 accounts and 5
 * reporters derived from the seed, funded and registered at genesis; each
 * block signs transfers (every account at most once per block, with its
 * next nonce), every fifth block a round of price reports.
 */
#include "internal.h"

#include "jark/bytes.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JK_DEMO_BALANCE 1000000u

void jk_devnet_transfer_blob(const uint8_t from[32], const uint8_t to[32], uint64_t amount, uint64_t nonce,
                             uint8_t out[JK_DEVNET_TRANSFER_LEN])
{
    out[0] = 'T';
    memcpy(out + 1, from, 32);
    memcpy(out + 33, to, 32);
    jk_put_u64le(out + 65, amount);
    jk_put_u64le(out + 73, nonce);
}

void jk_devnet_report_blob(const uint8_t reporter[32], uint64_t round, uint64_t price,
                           uint8_t out[JK_DEVNET_REPORT_LEN])
{
    out[0] = 'R';
    memcpy(out + 1, reporter, 32);
    jk_put_u64le(out + 33, round);
    jk_put_u64le(out + 41, price);
}

static int jk_key_cmp(const void *a, const void *b) { return memcmp(a, b, 32); }

void jk_devnet_demo_init(jk_demo *d, uint64_t seed, jk_chain_spec *spec)
{
    memset(d, 0, sizeof *d);
    d->rng = seed;
    for (uint32_t i = 0; i < JK_DEMO_ACCOUNTS; i++)
        jk_devnet_derive_key("account", seed, i, &d->accounts[i]);
    for (uint32_t i = 0; i < JK_DEMO_REPORTERS; i++)
        jk_devnet_derive_key("reporter", seed, i, &d->reporters[i]);
    /* Genesis state: every account funded, the reporters registered (both sorted). */
    uint8_t keys[JK_DEMO_ACCOUNTS][32];
    for (int i = 0; i < JK_DEMO_ACCOUNTS; i++)
        memcpy(keys[i], d->accounts[i].pk, 32);
    qsort(keys, JK_DEMO_ACCOUNTS, 32, jk_key_cmp);
    for (int i = 0; i < JK_DEMO_ACCOUNTS; i++) {
        memcpy(d->ledger + 48 * i, keys[i], 32);
        jk_put_u64le(d->ledger + 48 * i + 32, JK_DEMO_BALANCE);
        jk_put_u64le(d->ledger + 48 * i + 40, 0);
    }
    for (int i = 0; i < JK_DEMO_REPORTERS; i++)
        memcpy(d->reporter_keys + 32 * i, d->reporters[i].pk, 32);
    qsort(d->reporter_keys, JK_DEMO_REPORTERS, 32, jk_key_cmp);
    d->slots[0] = 20;
    d->slots[1] = 21;
    d->data[0] = d->ledger;
    d->data[1] = d->reporter_keys;
    d->lens[0] = sizeof d->ledger;
    d->lens[1] = sizeof d->reporter_keys;
    spec->state_slots = d->slots;
    spec->state_data = d->data;
    spec->state_len = d->lens;
    spec->state_count = 2;
}

void jk_devnet_demo_block(jk_demo *d, const jk_hash *genesis, uint64_t height, uint32_t transfers, jk_gossip *g)
{
    g->n = 0;
    uint32_t first = (uint32_t)(jk_devnet_next(&d->rng) % JK_DEMO_ACCOUNTS);
    for (uint32_t t = 0; t < transfers && t < JK_DEMO_ACCOUNTS; t++) {
        uint32_t from = (first + t) % JK_DEMO_ACCOUNTS;
        uint32_t to = (from + 1 + (uint32_t)(jk_devnet_next(&d->rng) % (JK_DEMO_ACCOUNTS - 1))) % JK_DEMO_ACCOUNTS;
        uint8_t *b = g->blobs[g->n];
        uint64_t amount = 1 + jk_devnet_next(&d->rng) % 100;
        jk_devnet_transfer_blob(d->accounts[from].pk, d->accounts[to].pk, amount, d->nonces[from]++, b);
        g->events[g->n] = (jk_chain_event){JK_CHAIN_ENDPOINT_TRANSACT, b, JK_DEVNET_TRANSFER_LEN};
        jk_chain_trace_sign(d->accounts[from].sk, genesis, b, JK_DEVNET_TRANSFER_LEN, &g->traces[g->n]);
        g->n++;
    }
    if (height % 5 == 0) {
        for (int r = 0; r < JK_DEMO_REPORTERS; r++) {
            uint8_t *b = g->blobs[g->n];
            jk_devnet_report_blob(d->reporters[r].pk, height / 5, 1000 + jk_devnet_next(&d->rng) % 50, b);
            g->events[g->n] = (jk_chain_event){jk_chain_endpoint_dispatch(0), b, JK_DEVNET_REPORT_LEN};
            jk_chain_trace_sign(d->reporters[r].sk, genesis, b, JK_DEVNET_REPORT_LEN, &g->traces[g->n]);
            g->n++;
        }
    }
    for (size_t i = 0; i < g->n; i++) {
        g->trace_ptrs[i] = &g->traces[i];
        g->counts[i] = 1;
    }
}
