/*
 * rpc_fake.h — a fake node behind the RPC provider interface, for the rpc
 * tests: three real blocks (heights 1..3, built and signed with the chain
 * layer), a certificate for each, a few state slots, and a pool that
 * submit_event fills. Everything is fixed, so answers can be checked byte
 * for byte. The fuzz target (tests/fuzz/fuzz_rpc.c) answers from it too.
 */
#ifndef JK_TEST_RPC_FAKE_H
#define JK_TEST_RPC_FAKE_H

#include "jark/rpc.h"

#define FAKE_BLOCKS 3
#define FAKE_POOL_MAX 8

typedef struct fake_pooled {
    jk_chain_endpoint endpoint;
    uint8_t blob[64];
    size_t blob_len;
    jk_chain_trace traces[2];
    size_t trace_count;
} fake_pooled;

typedef struct fake_node {
    uint8_t *blocks[FAKE_BLOCKS];   /* encodings of heights 1..3 */
    size_t block_lens[FAKE_BLOCKS];
    jk_hash hashes[FAKE_BLOCKS];
    fake_pooled pool[FAKE_POOL_MAX];
    size_t pool_count;
    bool is_validator;
    bool syncing;              /* status answers JK_ERR_RPC_UNAVAILABLE while set */
    unsigned calls;            /* provider calls made */
    unsigned submits;          /* submit_event calls (also notifications) */
} fake_node;

/* Build the fake node's blocks; false on failure. Free with fake_node_free. */
bool fake_node_init(fake_node *f);
void fake_node_free(fake_node *f);

/* Its provider (ctx = f). */
jk_rpc_provider fake_provider(fake_node *f);

/* The bytes of fake state slot [20, i] (Data "slot-i") — for checks. */
#define FAKE_SLOT_ROOT 20u

#endif
