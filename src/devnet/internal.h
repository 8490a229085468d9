/* internal.h — what devnet.c and the demo workload (demo.c) share. */
#ifndef JK_DEVNET_INTERNAL_H
#define JK_DEVNET_INTERNAL_H

#include "jark/devnet.h"

#define JK_DEMO_ACCOUNTS 64
#define JK_DEMO_REPORTERS 5
#define JK_DEVNET_GOSSIP_MAX (JK_DEVNET_MAX_EVENTS_PER_BLOCK + JK_DEMO_REPORTERS)

typedef struct jk_keypair {
    uint8_t pk[32], sk[64];
} jk_keypair;

/* One block's gossip: events with their traces (pointers into the demo's
 * buffers below or into an events list). */
typedef struct jk_gossip {
    jk_chain_event events[JK_DEVNET_GOSSIP_MAX];
    const jk_chain_trace *trace_ptrs[JK_DEVNET_GOSSIP_MAX];
    size_t counts[JK_DEVNET_GOSSIP_MAX];
    size_t n;
    uint8_t blobs[JK_DEVNET_GOSSIP_MAX][96]; /* the demo's blobs */
    jk_chain_trace traces[JK_DEVNET_GOSSIP_MAX];
} jk_gossip;

typedef struct jk_demo {
    jk_keypair accounts[JK_DEMO_ACCOUNTS], reporters[JK_DEMO_REPORTERS];
    uint64_t nonces[JK_DEMO_ACCOUNTS];
    uint8_t ledger[JK_DEMO_ACCOUNTS * 48], reporter_keys[JK_DEMO_REPORTERS * 32];
    uint32_t slots[2];
    const uint8_t *data[2];
    size_t lens[2];
    uint64_t rng;
} jk_demo;

/* A key pair derived from (purpose, seed, i). */
void jk_devnet_derive_key(const char *purpose, uint64_t seed, uint32_t i, jk_keypair *out);

/* splitmix64: the workload's deterministic randomness. */
uint64_t jk_devnet_next(uint64_t *state);

/* Derive the demo's accounts and reporters from seed and point spec's state
 * at its genesis ledger and reporter list (storage in d). */
void jk_devnet_demo_init(jk_demo *d, uint64_t seed, jk_chain_spec *spec);

/* The demo's events for block `height` (transfers from distinct accounts,
 * reports every fifth block), signed for genesis. */
void jk_devnet_demo_block(jk_demo *d, const jk_hash *genesis, uint64_t height, uint32_t transfers, jk_gossip *g);

/* The demo chain's spec (compiled once per process, kept): a shallow copy
 * in *f that the caller must not free. */
jk_err jk_devnet_load_demo(jk_spec_file *f, jk_diag *diag);

#endif
