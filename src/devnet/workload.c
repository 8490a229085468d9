/*
 * workload.c — the demo workload as a standalone generator (devnet.h,
 * "The demo workload outside the devnet"): `jark node --demo-seed` gives a
 * chain the demo's genesis state, `jark testnet` signs transfers for it and
 * submits them through RPC. The same keys and state as `jark devnet`'s demo
 * workload for one seed (jk_demo_init).
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

struct jk_devnet_demo {
    jk_demo d;
};

jk_err jk_devnet_demo_new(uint64_t seed, jk_devnet_demo **out)
{
    *out = calloc(1, sizeof **out);
    if (!*out)
        return JK_ERR_NOMEM;
    jk_chain_spec scratch;
    memset(&scratch, 0, sizeof scratch);
    jk_demo_init(&(*out)->d, seed, &scratch);
    return JK_OK;
}

void jk_devnet_demo_free(jk_devnet_demo *d)
{
    if (d)
        jk_crypto_wipe(d, sizeof *d);
    free(d);
}

void jk_devnet_demo_state(jk_devnet_demo *d, jk_chain_spec *spec)
{
    spec->state_slots = d->d.slots;
    spec->state_data = d->d.data;
    spec->state_len = d->d.lens;
    spec->state_count = 2;
}

uint32_t jk_devnet_demo_accounts(void)
{
    return JK_DEMO_ACCOUNTS;
}

void jk_devnet_demo_transfer(jk_devnet_demo *d, const jk_hash *genesis, uint32_t account,
                             uint8_t blob[JK_DEVNET_TRANSFER_LEN], jk_chain_trace *trace)
{
    uint32_t from = account % JK_DEMO_ACCOUNTS, to = (from + 1) % JK_DEMO_ACCOUNTS;
    jk_devnet_transfer_blob(d->d.accounts[from].pk, d->d.accounts[to].pk, 1, d->d.nonces[from]++, blob);
    jk_chain_trace_sign(d->d.accounts[from].sk, genesis, blob, JK_DEVNET_TRANSFER_LEN, trace);
}
