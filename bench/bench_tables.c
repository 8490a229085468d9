/*
 * bench_tables.c — `make bench-tables-callgrind` (docs/bench.md "Node
 * bookkeeping per event, session 12"): the node's per-event lookup tables at
 * a loaded node's sizes, each phase dumped on its own under callgrind's
 * cache simulation, for the cache lines a lookup reads (D1 read misses).
 *
 *   seen-new     20,000 lookups of ids not in a seen set of 60,000
 *   seen-repeat  20,000 lookups of ids in it (an echo's)
 *   pool-new     20,000 lookups of ids not in a pool index of 8,192
 *   sig-miss     20,000 lookups of traces not in a signature cache holding
 *                12,000 (of 32,768 entries: the default pool bound's)
 *   sig-insert   those 20,000 remembered
 *   sig-forget   and forgotten
 *
 * The queries are read in order from arrays of their own: a new id costs
 * half a line of D1 misses to read, a repeat's (read out of order) one, a
 * trace two; subtract those for the table's own. The traces are random
 * bytes (the cache compares bytes, it checks no signature).
 */
#include "../src/chain/internal.h"
#include "../src/node/chain_app_internal.h"

#include <stdlib.h>
#include <string.h>

#include "bench_cg.h"

static uint64_t bt_state = 0x243f6a8885a308d3u;

static void bt_fill(void *p, size_t n)
{
    for (size_t b = 0; b < n; b += 8) {
        bt_state ^= bt_state << 13;
        bt_state ^= bt_state >> 7;
        bt_state ^= bt_state << 17;
        memcpy((uint8_t *)p + b, &bt_state, n - b < 8 ? n - b : 8);
    }
}

int main(void)
{
    enum { SEEN = 60000, Q = 20000, POOL = 8192, SIGS = 12000 };
    jk_node_chain_app *a = calloc(1, sizeof *a);
    jk_chain_kernel *ck = calloc(1, sizeof *ck);
    jk_hash *ids = malloc((SEEN + Q) * sizeof *ids);
    jk_chain_trace *t = malloc((SIGS + Q) * sizeof *t);
    if (!a || !ck || !ids || !t)
        return 1;
    bt_fill(ids, (SEEN + Q) * sizeof *ids);
    bt_fill(t, (SIGS + Q) * sizeof *t);
    size_t hits = 0;
    for (size_t i = 0; i < SEEN; i++)
        if (jk_node_app_seen_add(a, &ids[i], NULL) != JK_OK)
            return 1;
    JK_BENCH_CG_START();
    for (size_t i = 0; i < Q; i++) {
        bool found;
        (void)jk_node_app_seen_find(a, &ids[SEEN + i], &found);
        hits += found;
    }
    JK_BENCH_CG_DUMP("seen-new");
    for (size_t i = 0; i < Q; i++) {
        bool found;
        (void)jk_node_app_seen_find(a, &ids[(i * 7919) % SEEN], &found);
        hits += found;
    }
    JK_BENCH_CG_DUMP("seen-repeat");
    jk_chain_hashset hs = {0};
    for (size_t i = 0; i < POOL; i++)
        if (jk_chain_hashset_add(&hs, &ids[i]) != JK_OK)
            return 1;
    JK_BENCH_CG_START();
    for (size_t i = 0; i < Q; i++)
        hits += jk_chain_hashset_contains(&hs, &ids[SEEN + i]);
    JK_BENCH_CG_DUMP("pool-new");
    ck->pool_limits.max_events = 16384;
    for (size_t i = 0; i < SIGS; i++)
        jk_chain_sig_remember(ck, &t[i]);
    JK_BENCH_CG_START();
    for (size_t i = 0; i < Q; i++)
        hits += jk_chain_sig_cached(ck, &t[SIGS + i]);
    JK_BENCH_CG_DUMP("sig-miss");
    for (size_t i = 0; i < Q; i++)
        jk_chain_sig_remember(ck, &t[SIGS + i]);
    JK_BENCH_CG_DUMP("sig-insert");
    for (size_t i = 0; i < Q; i++)
        jk_chain_sig_forget(ck, &t[SIGS + i]);
    JK_BENCH_CG_DUMP("sig-forget");
    /* every repeat found, nothing else */
    int rc = hits == Q ? 0 : 1;
    jk_node_app_seen_clear(a);
    free(a->seen);
    free(a->seen_why);
    free(a->refused);
    free(a);
    jk_chain_hashset_free(&hs);
    free(ck->sig_cache);
    free(ck);
    free(ids);
    free(t);
    return rc;
}
