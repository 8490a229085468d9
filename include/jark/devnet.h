/*
 * jark/devnet.h — V validators of a chain in one process, each with its own
 * kernel and LMDB store, blocks and gossip passed in memory (`jark devnet`,
 * tests/node). Layer: devnet sits on node and spec (… → chain → spec → node
 * → devnet).
 */
#ifndef JARK_DEVNET_H
#define JARK_DEVNET_H

#include "jark/node.h"

#include <stdbool.h>

typedef struct jk_devnet_options {
    uint32_t validators;       /* 1..16 */
    uint64_t blocks;           /* blocks to add to the stores' height */
    uint32_t events_per_block; /* transfers per block, at most 64 */
    uint64_t seed;             /* keys and workload derive from it */
    unsigned threads;          /* verify pool threads (0 = inline) */
    const char *dir;           /* validator-<i> stores below it; resumed when present */
    bool quiet;                /* no per-block lines */
    uint64_t to_height;        /* when nonzero: run until this height instead of `blocks` more */
    /* Fault injection for tests: stop (return 3) right after the proposer of
     * this height committed, before any other validator imported it — the
     * state a crash there leaves. 0 = never. */
    uint64_t stop_after_proposer;
} jk_devnet_options;

typedef struct jk_devnet_result {
    uint64_t height;     /* the height every validator reached */
    uint64_t events, traces;
    double seconds;      /* for the report only; nothing depends on it */
    jk_hash root;        /* validator 0's chain instance hash at `height` */
    bool agree;          /* every validator had the proposer's root at every height */
} jk_devnet_result;

/* Run (or resume) a devnet; the stores persist in o->dir.
 * @return 0 all agreed; 1 a validator disagreed or a step failed (told on
 *         stderr); 2 bad options; 3 stopped by stop_after_proposer. */
int jk_devnet_run(const jk_devnet_options *o, jk_devnet_result *r);

#endif
