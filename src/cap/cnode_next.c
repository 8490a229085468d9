/*
 * cnode_next.c — the next occupied slot of a CNode (jk_cap_cnode_next), in
 * slot order: a walk down the tree that skips empty (NULL) subtrees and
 * every subtree wholly below `from`. Split from cnode.c (reads and writes).
 */
#include "internal.h"

static bool jk_cnode_next_rec(const jk_cnode_node *n, unsigned h, uint32_t base,
                              uint32_t from, uint32_t *index)
{
    if (!n)
        return false;
    uint32_t half = 1u << (h - 1);
    for (unsigned b = 0; b < 2; b++) {
        uint32_t lo = base + b * half;
        if (lo + half <= from)
            continue;
        if (h == 1) {
            if (n->u.slot[b].body) {
                *index = lo;
                return true;
            }
        } else if (jk_cnode_next_rec(n->u.kid[b], h - 1, lo, from, index)) {
            return true;
        }
    }
    return false;
}

bool jk_cap_cnode_next(jk_cap cnode, uint32_t from, uint32_t *index)
{
    if (cnode.kind != JK_CAP_CNODE)
        return false;
    const jk_cnode_body *c = jk_cnode_of(cnode);
    if (from >= 1u << c->log2)
        return false;
    if (c->log2 == 0) {
        if (!c->slot0.body)
            return false;
        *index = 0;
        return true;
    }
    return jk_cnode_next_rec(c->root, c->log2, 0, from, index);
}
