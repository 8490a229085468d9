/*
 * cnode_path.c — writes through nested CNodes (jk_cap_cnode_update_path):
 * in place where every CNode and node on the path is held once, a path copy
 * from the innermost CNode outwards where a part is shared. Split from
 * cnode.c (session 14, past 800 lines); the in-place helpers it shares
 * with jk_cap_cnode_update are in internal.h.
 */
#include "internal.h"

/* ---- writes through nested CNodes ---- */

/* Slot i of c as a place to write, when c's body and every node on the path
 * to the slot are held once (the caller's reference is the only one: nobody
 * else sees a write there); NULL otherwise. path[h - 1]: the node of height
 * h on the way (for jk_cnode_slot_rewritten, so the path is walked once). */
static jk_cap *jk_cnode_unique_slot(jk_cnode_body *c, uint32_t i, jk_cnode_node **path)
{
    if (!jk_obj_unique(&c->o))
        return NULL;
    if (c->log2 == 0)
        return &c->slot0;
    jk_cnode_node *n = c->root;
    for (unsigned h = c->log2; n && jk_obj_unique(&n->o); h--) {
        unsigned bit = (i >> (h - 1)) & 1;
        path[h - 1] = n;
        if (h == 1)
            return &n->u.slot[bit];
        n = n->u.kid[bit];
    }
    return NULL;
}

/* Slot i of c (reached through jk_cnode_unique_slot, which filled path) was
 * rewritten in place with a non-null cap, so no subtree emptied: recompute
 * the cached depths and drop the cached hashes on its path, up to the body,
 * or up to the first node whose hash was stale already and whose depth did
 * not move (nothing above it changes: jk_obj_stale). */
static void jk_cnode_slot_rewritten(jk_cnode_body *c, uint32_t i, jk_cnode_node *const *path)
{
    if (c->log2 == 0) {
        c->o.depth = (uint8_t)(jk_cap_depth_in(c->slot0) + 1);
        jk_obj_changed(&c->o);
        return;
    }
    for (unsigned h = 1; h <= c->log2; h++) {
        jk_cnode_node *n = path[h - 1];
        unsigned depth = jk_cnode_depth_after(n, h, i);
        bool quiet = jk_obj_stale(&n->o) && depth == n->o.depth;
        n->o.depth = (uint8_t)depth;
        jk_obj_changed(&n->o);
        if (quiet)
            return;
    }
    c->o.depth = (uint8_t)(c->root->o.depth + 1);
    jk_obj_changed(&c->o);
}

/* jk_cap_cnode_update_path once the path is checked: chain[l] is the CNode
 * (borrowed from its parent) whose slot idx[l] the path goes through. */
static jk_err jk_cnode_update_path_rec(jk_cap *cnode, const jk_cap *chain, const uint32_t *idx,
                                       unsigned count, jk_cap value)
{
    if (count == 1)
        return jk_cap_cnode_update(cnode, idx[0], value);
    /* In place, the nested CNode in slot idx[0] is updated where it lies.
     * Not when the depth bound could be crossed (the copies below give the
     * exact error first), nor when value is a CNode on the path: written
     * into itself in place it would contain itself. */
    bool on_path = false;
    for (unsigned l = 0; l < count; l++)
        on_path |= value.body && value.body == chain[l].body;
    if (!on_path && jk_cap_depth_in(value) + count <= JK_CAP_MAX_DEPTH) {
        jk_cnode_body *c = jk_cnode_of(*cnode);
        jk_cnode_node *path[JK_CAP_CNODE_MAX_LOG2];
        jk_cap *slot = jk_cnode_unique_slot(c, idx[0], path);
        if (slot) {
            jk_err err = jk_cnode_update_path_rec(slot, chain + 1, idx + 1, count - 1, value);
            if (err == JK_OK)
                jk_cnode_slot_rewritten(c, idx[0], path);
            return err;
        }
    }
    /* A shared part: copy from the innermost CNode outwards. */
    jk_cap child = jk_cap_retain_in(value);
    for (unsigned l = count; l-- > 1;) {
        jk_cap updated;
        jk_err err = jk_cap_cnode_set(chain[l], idx[l], child, &updated);
        jk_cap_release(child);
        if (err != JK_OK)
            return err;
        child = updated;
    }
    jk_err err = jk_cap_cnode_update(cnode, idx[0], child);
    jk_cap_release(child);
    return err;
}

jk_err jk_cap_cnode_update_path(jk_cap *cnode, const uint32_t *idx, unsigned count, jk_cap value)
{
    jk_cap chain[JK_CAP_CNODE_MAX_LOG2];
    if (count == 0 || count > JK_CAP_CNODE_MAX_LOG2)
        return JK_ERR_INVALID_ARG;
    chain[0] = *cnode;
    for (unsigned l = 0; l < count; l++) {
        if (chain[l].kind != JK_CAP_CNODE)
            return JK_ERR_CAP_KIND;
        if (idx[l] >= 1u << jk_cnode_of(chain[l])->log2)
            return JK_ERR_CAP_RANGE;
        if (l + 1 < count)
            chain[l + 1] = jk_cap_cnode_get(chain[l], idx[l]);
    }
    return jk_cnode_update_path_rec(cnode, chain, idx, count, value);
}
