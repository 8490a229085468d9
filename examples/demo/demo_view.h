/*
 * demo_view.h — the demo chain's ledger read from outside the chain (tests,
 * benchmarks, tools): the genesis ledger (slot 20) merged with the account
 * tree (slot 23, CNode of 2^16 bucket Data), as one array of 48-byte records
 * sorted by key — the form the whole ledger had when it was one Data.
 * docs/demo-chain.md gives the layout. Host code (jark/cap.h), not a chain
 * program: a header of static functions so that each user includes it alone.
 */
#ifndef DEMO_VIEW_H
#define DEMO_VIEW_H

#include "jark/cap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define DEMO_VIEW_RECORD 48u
#define DEMO_VIEW_SLOT_LEDGER 20u
#define DEMO_VIEW_SLOT_ACCOUNTS 23u

/* Append the Data `d` (whole records) to buf at *len (capacity *cap). */
static inline int demo_view_append(jk_cap d, uint8_t **buf, size_t *len, size_t *cap)
{
    uint64_t n = jk_cap_data_len(d);
    if (n % DEMO_VIEW_RECORD)
        return -1;
    if (*len + n > *cap) {
        size_t want = (*len + n) * 2 + DEMO_VIEW_RECORD;
        uint8_t *p = realloc(*buf, want);
        if (!p)
            return -1;
        *buf = p;
        *cap = want;
    }
    if (n && jk_cap_data_read(d, 0, *buf + *len, (size_t)n) != JK_OK)
        return -1;
    *len += (size_t)n;
    return 0;
}

/* Append the records under `node` (a bucket Data, or a CNode of buckets
 * at slot-path depth 1..3: slot 23 is depth 1), in slot order. */
static inline int demo_view_tree(jk_cap node, int depth, uint8_t **buf, size_t *len, size_t *cap)
{
    if (jk_cap_kind_of(node) == JK_CAP_DATA)
        return demo_view_append(node, buf, len, cap);
    if (jk_cap_kind_of(node) != JK_CAP_CNODE || depth >= 4 || jk_cap_cnode_log2(node) != (depth == 1 ? 16u : 8u))
        return -1;
    uint32_t i = 0, n = jk_cap_cnode_slot_count(node);
    while (i < n && jk_cap_cnode_next(node, i, &i)) {
        if (demo_view_tree(jk_cap_cnode_get(node, i), depth + 1, buf, len, cap))
            return -1;
        i++;
    }
    return 0;
}

/* The ledger of the chain instance `chain`: a malloc'd array of *count sorted
 * records (free it), or NULL when the state is not the demo's layout (or out
 * of memory). An empty ledger returns a non-NULL array with *count = 0. */
static inline uint8_t *demo_view_ledger(jk_cap chain, uint64_t *count)
{
    jk_cap cnode = jk_cap_instance_cnode(chain);
    jk_cap genesis = jk_cap_cnode_get(cnode, DEMO_VIEW_SLOT_LEDGER);
    jk_cap tree = jk_cap_cnode_get(cnode, DEMO_VIEW_SLOT_ACCOUNTS);
    uint8_t *g = NULL, *t = NULL, *out = NULL;
    size_t glen = 0, gcap = 0, tlen = 0, tcap = 0;
    *count = 0;
    if ((!jk_cap_is_null(genesis) && jk_cap_kind_of(genesis) != JK_CAP_DATA) ||
        (!jk_cap_is_null(tree) && jk_cap_cnode_log2(tree) != 16))
        return NULL;
    if (!jk_cap_is_null(genesis) && demo_view_append(genesis, &g, &glen, &gcap))
        goto fail;
    /* Buckets in index order hold keys in key order (the index is the key's
     * first two bytes; a split bucket's CNode is indexed by the next byte),
     * so the tree's records come out sorted. */
    if (!jk_cap_is_null(tree) && demo_view_tree(tree, 1, &t, &tlen, &tcap))
        goto fail;
    out = malloc(glen + tlen + 1);
    if (!out)
        goto fail;
    /* Merge; on equal keys the tree's record wins. */
    size_t a = 0, c = 0, n = 0;
    while (a < glen || c < tlen) {
        int cmp = a == glen ? 1 : c == tlen ? -1 : memcmp(g + a, t + c, 32);
        const uint8_t *src = cmp < 0 ? g + a : t + c;
        memcpy(out + n, src, DEMO_VIEW_RECORD);
        n += DEMO_VIEW_RECORD;
        if (cmp <= 0)
            a += DEMO_VIEW_RECORD;
        if (cmp >= 0)
            c += DEMO_VIEW_RECORD;
    }
    free(g);
    free(t);
    *count = n / DEMO_VIEW_RECORD;
    return out;
fail:
    free(g);
    free(t);
    free(out);
    return NULL;
}

#endif
