/*
 * chain_app_fx.h — the fixture the chain app's tests share
 * (test_chain_app*.c): the demo chain with V validators, one chain app each,
 * driven through its jk_cons_app callbacks as the consensus machine drives
 * them.
 */
#ifndef JK_TEST_CHAIN_APP_FX_H
#define JK_TEST_CHAIN_APP_FX_H

#include "../test.h"
#include "../progs.h"

#include "../../src/devnet/internal.h"
#include "jark/bytes.h"
#include "jark/node.h"

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>

#define V 4

typedef struct fx {
    jk_spec_file spec;
    jk_chain_genesis genesis;
    jk_keypair keys[V];
    uint8_t pks[V][32];
    jk_demo demo;
    char dir[256];
    jk_node_chain_app *apps[V];
    jk_cons_app cb[V];
    jk_gossip gossip;
} fx;

/* Open app i on f->dir/v<i> and bind its callbacks. */
bool fx_open_app(fx *f, uint32_t i);
/* The demo chain with V validators derived from seed 1, one app each. */
bool fx_make(fx *f);
void fx_free(fx *f);
/* Gossip block `height`'s demo events to every app; returns how many were
 * new at app 0. */
size_t fx_gossip(fx *f, uint64_t height, uint32_t transfers);
/* Gossip event e (f->gossip.events[e] with its traces) in its wire form:
 * jk_node_event_encode's result; the caller frees *bytes. */
jk_err fx_encode(const fx *f, size_t e, uint8_t **bytes, size_t *len);
/* Append a copy of batch[k] at batch[*nb] (with byte 9, inside the blob,
 * flipped when `forge`: a transfer whose signature fails) and count it;
 * false when out of memory. The caller frees the copy. */
bool fx_copy_event(uint8_t **batch, size_t *lens, size_t *nb, size_t k, bool forge);
/* Block `height`'s demo events (`transfers` of them) made into f->gossip,
 * not delivered, and the first `max` encoded into batch[0..] (the caller
 * frees each); returns how many. An event that does not encode fails the
 * test and ends the batch there. */
size_t fx_batch(fx *f, uint64_t height, uint32_t transfers, uint8_t **batch, size_t *lens, size_t max);
/* A certificate of validators 0..2 for value id at (height, round). */
void fx_cert(const fx *f, uint64_t height, uint32_t round, const jk_hash *id, jk_cons_cert *c);
/* A certificate of validators `first`..`first`+count-1 (forged: signed by
 * keys that are no validator's under those indices). */
void fx_cert_by(const fx *f, uint64_t height, uint32_t round, const jk_hash *id, uint32_t first,
                uint32_t count, bool forged, jk_cons_cert *c);
/* App i's stats. */
jk_node_chain_app_stats fx_stats(const fx *f, uint32_t i);
/* The state root of app i's chain. */
void fx_root(const fx *f, uint32_t i, jk_hash *out);
/* One height decided in round `round` with the value its proposer made:
 * every other app checks it, everyone commits it. */
bool fx_decide(fx *f, uint64_t height, uint32_t round, jk_cons_cert *cert);

#endif
