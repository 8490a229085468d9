/*
 * workload.c — the demo workload as a standalone generator (devnet.h,
 * "The demo workload outside the devnet"): `jark node --demo-seed` gives a
 * chain the demo's genesis state, `jark testnet` signs transfers for it and
 * submits them through RPC. The same keys and state as `jark devnet`'s demo
 * workload for one seed (jk_devnet_demo_init); with more accounts
 * (jk_devnet_demo_new_accounts) the first 64 keys are still those, so the
 * default count gives the devnet's genesis state exactly.
 */
#include "internal.h"

#include "jark/bytes.h"

#include <stdlib.h>
#include <string.h>

struct jk_devnet_demo {
    jk_demo d;              /* the reporters, the state slots' table */
    uint32_t n;             /* accounts */
    jk_keypair *acc;        /* n keys, derived as jk_devnet_demo_init's */
    uint64_t *nonces;       /* each account's next nonce */
    uint8_t *ledger;        /* the genesis ledger: n records sorted by key */
};

static int jk_wl_key_cmp(const void *a, const void *b) { return memcmp(a, b, 32); }

jk_err jk_devnet_demo_new_accounts(uint64_t seed, uint32_t accounts, jk_devnet_demo **out)
{
    *out = NULL;
    if (accounts < 2 || accounts > JK_DEVNET_DEMO_MAX_ACCOUNTS)
        return JK_ERR_INVALID_ARG;
    jk_devnet_demo *d = calloc(1, sizeof *d);
    if (!d)
        return JK_ERR_NOMEM;
    d->n = accounts;
    d->acc = calloc(accounts, sizeof *d->acc);
    d->nonces = calloc(accounts, sizeof *d->nonces);
    d->ledger = calloc(accounts, 48);
    if (!d->acc || !d->nonces || !d->ledger) {
        jk_devnet_demo_free(d);
        return JK_ERR_NOMEM;
    }
    jk_chain_spec scratch;
    memset(&scratch, 0, sizeof scratch);
    jk_devnet_demo_init(&d->d, seed, &scratch);
    for (uint32_t i = 0; i < accounts; i++) {
        if (i < JK_DEMO_ACCOUNTS)
            d->acc[i] = d->d.accounts[i];
        else
            jk_devnet_derive_key("account", seed, i, &d->acc[i]);
        memcpy(d->ledger + 48 * (size_t)i, d->acc[i].pk, 32);
    }
    /* The record layout of jk_devnet_demo_init: key, balance (its genesis
     * balance, read from its ledger), nonce 0; sorted by key. */
    uint64_t balance = jk_get_u64le(d->d.ledger + 32);
    qsort(d->ledger, accounts, 48, jk_wl_key_cmp);
    for (uint32_t i = 0; i < accounts; i++) {
        jk_put_u64le(d->ledger + 48 * (size_t)i + 32, balance);
        jk_put_u64le(d->ledger + 48 * (size_t)i + 40, 0);
    }
    *out = d;
    return JK_OK;
}

jk_err jk_devnet_demo_new(uint64_t seed, jk_devnet_demo **out)
{
    return jk_devnet_demo_new_accounts(seed, JK_DEMO_ACCOUNTS, out);
}

void jk_devnet_demo_free(jk_devnet_demo *d)
{
    if (!d)
        return;
    if (d->acc)
        jk_crypto_wipe(d->acc, (size_t)d->n * sizeof *d->acc);
    free(d->acc);
    free(d->nonces);
    free(d->ledger);
    jk_crypto_wipe(d, sizeof *d);
    free(d);
}

void jk_devnet_demo_state(jk_devnet_demo *d, jk_chain_spec *spec)
{
    d->d.data[0] = d->ledger;
    d->d.lens[0] = (size_t)d->n * 48;
    spec->state_slots = d->d.slots;
    spec->state_data = d->d.data;
    spec->state_len = d->d.lens;
    spec->state_count = 2;
}

uint32_t jk_devnet_demo_accounts(void)
{
    return JK_DEMO_ACCOUNTS;
}

uint32_t jk_devnet_demo_account_count(const jk_devnet_demo *d)
{
    return d->n;
}

void jk_devnet_demo_transfer(jk_devnet_demo *d, const jk_hash *genesis, uint32_t account,
                             uint8_t blob[JK_DEVNET_TRANSFER_LEN], jk_chain_trace *trace)
{
    uint32_t from = account % d->n, to = (from + 1) % d->n;
    jk_devnet_transfer_blob(d->acc[from].pk, d->acc[to].pk, 1, d->nonces[from]++, blob);
    jk_chain_trace_sign(d->acc[from].sk, genesis, blob, JK_DEVNET_TRANSFER_LEN, trace);
}

void jk_devnet_demo_unsend(jk_devnet_demo *d, uint32_t account)
{
    uint32_t from = account % d->n;
    if (d->nonces[from])
        d->nonces[from]--;
}
