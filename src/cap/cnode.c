/*
 * cnode.c — CNode: 2^k slots as a persistent, perfect binary tree of height k.
 *
 * An inner node of height h covers 2^h slots; at height 1 its two children are
 * the slots themselves (caps), above that two subtrees. A subtree whose slots
 * are all empty is not stored (NULL) and hashes to 32 zero bytes, so a fresh
 * CNode of 65536 slots costs one body, and the canonical tree of a CNode is
 * unique: a stored inner node always has a non-empty child. A k = 0 CNode
 * keeps its one slot in the body.
 *
 * Setting a slot copies the k nodes on the path to it and shares the rest;
 * each node caches the deepest nesting below it, so a set keeps the body's
 * depth in O(k).
 *
 * Nodes at heights 4, 8, 12, 16 also carry the read index skip[] (internal.h):
 * reads go four levels a load through it; every function here that makes a
 * node or changes one in place keeps it equal to the binary links.
 */
#include "internal.h"

static unsigned jk_max(unsigned a, unsigned b) { return a > b ? a : b; }


/* ---- nodes ---- */

/* A zeroed node of `height`, with room for the read index when its height
 * has one. */
static jk_cnode_node *jk_cnode_node_alloc(unsigned height)
{
    jk_cnode_node *n = jk_cnode_has_skip(height)
                           ? jk_cap_obj_alloc(sizeof(jk_cnode_skip_node), JK_OBJ_CNODE_NODE)
                           : jk_cap_obj_alloc(sizeof(jk_cnode_node), JK_OBJ_CNODE_NODE);
    if (n)
        n->o.height = (uint8_t)height;
    return n;
}

/* skip[0 .. 2^levels): the descendants `levels` below n (NULL = empty; n
 * itself NULL: all of them empty). */
static void jk_skip_fill(jk_cnode_node **skip, const jk_cnode_node *n, unsigned levels)
{
    if (levels == 0) {
        *skip = (jk_cnode_node *)n;
        return;
    }
    unsigned half = 1u << (levels - 1);
    jk_skip_fill(skip, n ? n->u.kid[0] : NULL, levels - 1);
    jk_skip_fill(skip + half, n ? n->u.kid[1] : NULL, levels - 1);
}

/* n's read index, all of it, from its binary links (a node just made). */
static void jk_skip_build(jk_cnode_node *n)
{
    jk_cnode_node **s = jk_cnode_skips(n);
    unsigned levels = jk_cnode_skip_levels(n->o.height);
    jk_skip_fill(s, n->u.kid[0], levels - 1);
    jk_skip_fill(s + (1u << (levels - 1)), n->u.kid[1], levels - 1);
}

/* The first `count` entries of n's index into s (zeros when n is NULL). */
static inline __attribute__((always_inline)) void jk_skip_copy(jk_cnode_node **s, const jk_cnode_node *n,
                                                               unsigned count)
{
    if (n)
        memcpy(s, jk_cnode_skips(n), count * sizeof *s);
    else
        memset(s, 0, count * sizeof *s);
}

/* n (height h, with a read index) changed in place below it on slot i's
 * path only: that one entry again. */
static void jk_skip_refill(jk_cnode_node *n, unsigned h, uint32_t i)
{
    unsigned levels = jk_cnode_skip_levels(h);
    const jk_cnode_node *d = n;
    for (unsigned l = 1; d && l <= levels; l++)
        d = d->u.kid[(i >> (h - l)) & 1];
    jk_cnode_skips(n)[(i >> (h - levels)) & ((1u << levels) - 1)] = (jk_cnode_node *)d;
}

jk_cnode_node *jk_cap_cnode_node_new_slots(jk_cap a, jk_cap b)
{
    jk_cnode_node *n = jk_cnode_node_alloc(1);
    if (!n)
        return NULL;
    n->o.depth = (uint8_t)jk_max(jk_cap_depth_in(a), jk_cap_depth_in(b));
    n->u.slot[0] = jk_cap_retain_in(a);
    n->u.slot[1] = jk_cap_retain_in(b);
    return n;
}

/* jk_cap_cnode_node_new_kids taking over the caller's references to a and
 * b (jk_cap_cnode_new_filled's bottom-up build: no retain and release a
 * child). */
static jk_cnode_node *jk_cnode_node_join(unsigned height, jk_cnode_node *a, jk_cnode_node *b)
{
    jk_cnode_node *n = jk_cnode_node_alloc(height);
    if (!n)
        return NULL;
    n->o.depth = (uint8_t)jk_max(a ? a->o.depth : 0, b ? b->o.depth : 0);
    n->u.kid[0] = a;
    n->u.kid[1] = b;
    if (jk_cnode_has_skip(height))
        jk_skip_build(n);
    return n;
}

jk_cnode_node *jk_cap_cnode_node_new_kids(uint8_t height, jk_cnode_node *a, jk_cnode_node *b)
{
    assert(height >= 2 && (a || b));
    jk_cnode_node *n = jk_cnode_node_join(height, a, b);
    if (!n)
        return NULL;
    if (a)
        jk_cap_obj_retain(&a->o);
    if (b)
        jk_cap_obj_retain(&b->o);
    return n;
}

void jk_cap_cnode_node_encode(jk_cnode_node *n, jk_wr *w)
{
    jk_hash h[2] = {{{0}}, {{0}}};
    for (int i = 0; i < 2; i++) {
        if (n->o.height == 1)
            jk_cap_hash(n->u.slot[i], &h[i]);
        else if (n->u.kid[i])
            jk_cap_obj_hash(&n->u.kid[i]->o, &h[i]);
    }
    jk_cap_wr_u8(w, JK_CAP_TAG_CNODE_NODE);
    jk_cap_wr_bytes(w, h[0].bytes, JK_HASH_SIZE);
    jk_cap_wr_bytes(w, h[1].bytes, JK_HASH_SIZE);
}

/* ---- bodies ---- */

jk_err jk_cap_cnode_from_root(uint8_t log2, jk_cap slot0, jk_cnode_node *root, jk_cap *out)
{
    assert(log2 <= JK_CAP_CNODE_MAX_LOG2 && (log2 == 0 || !slot0.body));
    unsigned inner = log2 == 0 ? jk_cap_depth_in(slot0) : root ? root->o.depth : 0;
    if (inner + 1 > JK_CAP_MAX_DEPTH)
        return JK_ERR_CAP_TOO_DEEP;
    jk_cnode_body *c = jk_cap_obj_alloc(sizeof *c, JK_OBJ_CNODE);
    if (!c)
        return JK_ERR_NOMEM;
    c->o.depth = (uint8_t)(inner + 1);
    c->log2 = log2;
    c->slot0 = jk_cap_retain_in(slot0);
    c->root = root;
    if (root)
        jk_cap_obj_retain(&root->o);
    *out = jk_cap_of(JK_CAP_CNODE, c);
    return JK_OK;
}

/* A dead body's tree (height h) when it is one path held by the body
 * alone — a CNode with one slot written (or two beside each other), as a
 * verify run's event cnode and attest request (session 14): its slots'
 * values are dropped onto d and the emptied chain goes to the thread's
 * stash (jk_cap_chain_stash), for the next write along the same path,
 * instead of its nodes to the free lists one by one and new ones made for
 * that write. False: not such a tree, or no free way in the stash for it
 * (jk_cap_chain_keep); nothing done. Which nodes carry a
 * value is not observable: a refilled chain's depths and hashes are
 * redone (jk_cnode_chain). */
static bool jk_cnode_stash_tree(jk_cnode_node *root, unsigned h, jk_dead *d)
{
    uint32_t bits = 0;
    jk_cnode_node *n = root;
    for (unsigned l = h;; l--) {
        if (atomic_load_explicit(&n->o.refs, memory_order_acquire) != 1)
            return false; /* held elsewhere too: it lives on */
        if (l == 1)
            break;
        jk_cnode_node *a = n->u.kid[0], *b = n->u.kid[1];
        if (a && b)
            return false;
        bits |= (uint32_t)(b != NULL) << (l - 1);
        n = b ? b : a;
    }
    bits |= !n->u.slot[0].body; /* the leaf's written slot (slot 0 when both are) */
    /* only into a free way: a chain of the same key kept already, or the
     * chains a run writes again, are worth more than this one (a block's
     * apply drops hundreds of like pairs at once) */
    if (!jk_cap_chain_keep(root, h, bits))
        return false;
    jk_cap_dead_drop(d, jk_cap_obj(n->u.slot[0]));
    jk_cap_dead_drop(d, jk_cap_obj(n->u.slot[1]));
    n->u.slot[0] = n->u.slot[1] = jk_cap_null();
    return true;
}

void jk_cap_cnode_body_free(jk_cnode_body *c, jk_dead *d)
{
    jk_cap_dead_drop(d, jk_cap_obj(c->slot0));
    if (c->root && !jk_cnode_stash_tree(c->root, c->log2, d))
        jk_cap_dead_drop(d, &c->root->o);
}

void jk_cap_cnode_encode(jk_cnode_body *c, jk_wr *w)
{
    jk_hash root = {{0}};
    if (c->log2 == 0)
        jk_cap_hash(c->slot0, &root);
    else if (c->root)
        jk_cap_obj_hash(&c->root->o, &root);
    jk_cap_wr_u8(w, JK_CAP_TAG_CNODE);
    jk_cap_wr_u8(w, c->log2);
    jk_cap_wr_bytes(w, root.bytes, JK_HASH_SIZE);
}

/* ---- public ---- */

jk_err jk_cap_cnode_new(unsigned log2_slots, jk_cap *out)
{
    if (log2_slots > JK_CAP_CNODE_MAX_LOG2)
        return JK_ERR_CAP_RANGE;
    return jk_cap_cnode_from_root((uint8_t)log2_slots, jk_cap_null(), NULL, out);
}

/* Level by level from the slots up: level[j] is the subtree of height h
 * over slots j·2^h ..; an all-empty pair of subtrees stays NULL, so the
 * tree is the canonical one the sets would build (same nodes, same
 * hashes, same read index). */
/* jk_cap_cnode_new_filled of slots 0 and 1 alone (a scratchpad: the chain's
 * verify makes one a run) from a chain in the thread's stash, the path to
 * slot 0 or 1 of a tree of this height (the last run's scratchpad, emptied
 * by its program's MOVEs: session 14): its nodes refilled, as jk_cnode_chain
 * refills one. False: no such chain, nothing done. */
static bool jk_cnode_filled_pair(unsigned log2, jk_cap a, jk_cap b, jk_err *err, jk_cap *out)
{
    jk_cnode_node *top = jk_cap_chain_unstash(log2, 0);
    if (!top && !(top = jk_cap_chain_unstash(log2, 1)))
        return false;
    uint8_t depth = (uint8_t)jk_max(jk_cap_depth_in(a), jk_cap_depth_in(b));
    for (jk_cnode_node *n = top;; n = n->u.kid[0]) {
        n->o.depth = depth;
        atomic_store_explicit(&n->o.hstate, JK_HASH_NONE, memory_order_relaxed);
        if (n->o.height == 1) {
            n->u.slot[0] = jk_cap_retain_in(a);
            n->u.slot[1] = jk_cap_retain_in(b);
            break;
        }
    }
    *err = jk_cap_cnode_from_root((uint8_t)log2, jk_cap_null(), top, out);
    jk_cap_obj_release(&top->o); /* the body holds it (or, on error, nobody) */
    return true;
}

jk_err jk_cap_cnode_new_filled(unsigned log2_slots, const jk_cap *slots, size_t n, jk_cap *out)
{
    if (log2_slots > JK_CAP_CNODE_MAX_LOG2 || n > (size_t)1 << log2_slots)
        return JK_ERR_CAP_RANGE;
    bool pair = log2_slots >= 1 && n >= 1;
    for (size_t i = 0; i < n; i++) {
        if (jk_cap_depth_in(slots[i]) + 1 > JK_CAP_MAX_DEPTH)
            return JK_ERR_CAP_TOO_DEEP;
        pair &= i < 2 || !slots[i].body;
    }
    if (log2_slots == 0)
        return jk_cap_cnode_from_root(0, n ? slots[0] : jk_cap_null(), NULL, out);
    jk_cap second = n >= 2 ? slots[1] : jk_cap_null();
    jk_err refilled;
    if (pair && (slots[0].body || second.body) &&
        jk_cnode_filled_pair(log2_slots, slots[0], second, &refilled, out))
        return refilled;
    size_t count = (n + 1) / 2;
    jk_cnode_node *small[64];
    jk_cnode_node **level = count <= 64 ? small : malloc(count * sizeof *level);
    if (!level)
        return JK_ERR_NOMEM;
    jk_err err = JK_OK;
    size_t made = 0;
    for (; made < count; made++) {
        jk_cap a = slots[2 * made], b = 2 * made + 1 < n ? slots[2 * made + 1] : jk_cap_null();
        level[made] = NULL;
        if (!a.body && !b.body)
            continue;
        if (!(level[made] = jk_cap_cnode_node_new_slots(a, b))) {
            err = JK_ERR_NOMEM;
            break;
        }
    }
    for (unsigned h = 2; err == JK_OK && h <= log2_slots; h++) {
        size_t up = (count + 1) / 2;
        for (size_t j = 0; j < up; j++) {
            jk_cnode_node *a = level[2 * j], *b = 2 * j + 1 < count ? level[2 * j + 1] : NULL;
            jk_cnode_node *joined = NULL;
            if ((a || b) && !(joined = jk_cnode_node_join(h, a, b))) {
                /* what is not joined yet is still in level[2j ..), except
                 * the entries j' < j already moved up: keep the array whole */
                for (size_t k = 0; k < j; k++)
                    if (level[k])
                        jk_cap_obj_release(&level[k]->o);
                for (size_t k = 2 * j; k < count; k++)
                    if (level[k])
                        jk_cap_obj_release(&level[k]->o);
                count = made = 0;
                err = JK_ERR_NOMEM;
                break;
            }
            level[j] = joined;
        }
        count = made = up;
    }
    jk_cnode_node *root = err == JK_OK && count ? level[0] : NULL;
    if (err != JK_OK)
        for (size_t k = 0; k < made; k++)
            if (level[k])
                jk_cap_obj_release(&level[k]->o);
    if (level != small)
        free(level);
    if (err != JK_OK)
        return err;
    err = jk_cap_cnode_from_root((uint8_t)log2_slots, jk_cap_null(), root, out);
    if (root)
        jk_cap_obj_release(&root->o);
    return err;
}

unsigned jk_cap_cnode_log2(jk_cap cnode)
{
    return cnode.kind == JK_CAP_CNODE ? jk_cnode_of(cnode)->log2 : 0;
}

uint32_t jk_cap_cnode_slot_count(jk_cap cnode)
{
    return cnode.kind == JK_CAP_CNODE ? 1u << jk_cnode_of(cnode)->log2 : 0;
}

/* Slot i under root (height h >= 1): the hot loop of every slot path (the
 * kernel's path walks). Single levels down to a height with a read index
 * (at most three), then four levels a load, and three from height 4 to the
 * leaf. */
static inline __attribute__((always_inline)) jk_cap jk_cnode_walk(const jk_cnode_node *n, unsigned h, uint32_t i)
{
    if (h < JK_CNODE_SKIP_LEVELS) { /* 2..8 slots: no index */
        while (n && --h)
            n = n->u.kid[(i >> h) & 1];
        return n ? n->u.slot[i & 1] : jk_cap_null();
    }
    for (unsigned s = h % JK_CNODE_SKIP_LEVELS; n && s; s--) {
        h--;
        n = n->u.kid[(i >> h) & 1];
    }
    for (; n && h > JK_CNODE_SKIP_LEVELS; h -= JK_CNODE_SKIP_LEVELS)
        n = jk_cnode_skips(n)[(i >> (h - JK_CNODE_SKIP_LEVELS)) & (JK_CNODE_SKIP_FAN - 1)];
    if (n) /* height 4: the leaf three levels down */
        n = jk_cnode_skips(n)[(i >> 1) & (JK_CNODE_SKIP_FAN / 2 - 1)];
    return n ? n->u.slot[i & 1] : jk_cap_null();
}

/* jk_cnode_walk with the two heights the kernel's slot paths meet nearly
 * always — an instance's 256-slot root cnode and a 2^16-slot CNode (the
 * demo's account tree) — as constants, so that their loops unroll into two
 * and four loads (session 9: a path read of a ledger record was ~116
 * instructions, most of them loop control). */
static inline __attribute__((always_inline)) jk_cap jk_cnode_walk_at(const jk_cnode_node *n, unsigned h,
                                                                     uint32_t i)
{
    if (h == 8)
        return jk_cnode_walk(n, 8, i);
    if (h == 16)
        return jk_cnode_walk(n, 16, i);
    return jk_cnode_walk(n, h, i);
}

jk_cap jk_cap_cnode_get(jk_cap cnode, uint32_t i)
{
    if (cnode.kind != JK_CAP_CNODE)
        return jk_cap_null();
    const jk_cnode_body *c = jk_cnode_of(cnode);
    unsigned h = c->log2;
    if (i >= 1u << h)
        return jk_cap_null();
    if (h == 0)
        return c->slot0;
    return jk_cnode_walk_at(c->root, h, i);
}

/* jk_cnode_walk at a height other than the two of jk_cnode_walk_at, out of
 * line: its loops need registers that the path walk's common case would
 * otherwise save and restore on every call (session 12). */
static __attribute__((noinline)) jk_cap jk_cnode_walk_other(const jk_cnode_node *n, unsigned h, uint32_t i)
{
    return jk_cnode_walk(n, h, i);
}

bool jk_cap_cnode_get_path(jk_cap cnode, const uint32_t *idx, unsigned count, jk_cap *out)
{
    /* jk_cap_cnode_get at each level, its checks done once and inlined: a
     * DATA_LEN or DATA_READ of a ledger record walks 2-3 levels (issue 16),
     * nearly always through 2^16- and 256-slot CNodes: those walks inline,
     * any other height out of line (session 12: ~94 instructions a call
     * before, a fifth of them saving registers). */
    for (; count; count--, idx++) {
        if (cnode.kind != JK_CAP_CNODE)
            return false;
        const jk_cnode_body *c = jk_cnode_of(cnode);
        unsigned h = c->log2;
        uint32_t i = *idx;
        if (i >> h)
            return false;
        if (h == 16)
            cnode = jk_cnode_walk(c->root, 16, i);
        else if (h == 8)
            cnode = jk_cnode_walk(c->root, 8, i);
        else if (h == 0)
            cnode = c->slot0;
        else
            cnode = jk_cnode_walk_other(c->root, h, i);
    }
    *out = cnode;
    return true;
}

/* The subtree n (height h, NULL = empty) with slot i (relative) set to v:
 * *out is a new reference, or NULL when the result is all empty; n itself
 * when nothing changed. `out` points at element h of an array indexed by
 * height: the call for height h − 1 writes out[-1], and so on down, so a
 * new node with a read index finds its entry on the path, the result four
 * (or three) levels down, without walking to it. */
/* jk_cnode_set_rec into an empty subtree (n NULL) with a non-null v: the
 * chain of h new nodes down to slot i, made bottom-up in a loop (the
 * demo's DROP then DATA_MINT of a bucket empties its path and writes it
 * again: ~6 levels a bucket, twice a transfer). out as jk_cnode_set_rec's:
 * element h, the levels below at out[-1] ... */
static jk_err jk_cnode_chain(unsigned h, uint32_t i, jk_cap v, jk_cnode_node **out)
{
    /* the chain a write of the null cap just emptied here, if it is this
     * one (same height, same path): refilled in place. Its read index
     * entries name its own nodes, which stay; depths and hashes are redone */
    jk_cnode_node *top = jk_cap_chain_unstash(h, i & (uint32_t)((1u << h) - 1));
    if (top) {
        uint8_t depth = (uint8_t)jk_cap_depth_in(v);
        jk_cnode_node *n = top;
        for (unsigned l = h;; l--) {
            out[(int)l - (int)h] = n;
            n->o.depth = depth;
            atomic_store_explicit(&n->o.hstate, JK_HASH_NONE, memory_order_relaxed);
            if (l == 1) {
                n->u.slot[i & 1] = jk_cap_retain_in(v);
                return JK_OK;
            }
            n = n->u.kid[(i >> (l - 1)) & 1];
        }
    }
    jk_cnode_node *below = (i & 1) ? jk_cap_cnode_node_new_slots(jk_cap_null(), v)
                                   : jk_cap_cnode_node_new_slots(v, jk_cap_null());
    if (!below)
        return JK_ERR_NOMEM;
    out[1 - (int)h] = below;
    for (unsigned l = 2; l <= h; l++) {
        jk_cnode_node *n = jk_cnode_node_alloc(l);
        if (!n) {
            jk_cap_obj_release(&below->o); /* and the chain under it */
            return JK_ERR_NOMEM;
        }
        unsigned bit = (i >> (l - 1)) & 1;
        n->o.depth = below->o.depth;
        n->u.kid[bit] = below; /* takes our reference */
        n->u.kid[!bit] = NULL;
        if (jk_cnode_has_skip(l)) {
            unsigned levels = jk_cnode_skip_levels(l);
            jk_cnode_node **sk = jk_cnode_skips(n);
            if (levels == JK_CNODE_SKIP_LEVELS)
                memset(sk, 0, JK_CNODE_SKIP_FAN * sizeof *sk);
            else
                memset(sk, 0, JK_CNODE_SKIP_FAN / 2 * sizeof *sk);
            sk[(i >> (l - levels)) & ((1u << levels) - 1)] = out[(int)l - (int)levels - (int)h];
        }
        out[(int)l - (int)h] = n;
        below = n;
    }
    return JK_OK;
}

static jk_err jk_cnode_set_rec(jk_cnode_node *n, unsigned h, uint32_t i, jk_cap v,
                               jk_cnode_node **out)
{
    /* A loop down to the leaf (or to the empty subtree the path enters)
     * and one back up making the copies (session 10; it was a recursion,
     * a call and its frame a level: 16 levels for a ledger record's path
     * in the 2^16-slot account tree). path[l]: the old node of height l. */
    jk_cnode_node *path[JK_CAP_CNODE_MAX_LOG2 + 1];
    unsigned l = h;
    for (jk_cnode_node *cur = n;; l--) {
        path[l] = cur;
        if (!cur || l == 1)
            break;
        cur = cur->u.kid[(i >> (l - 1)) & 1];
    }
    jk_cnode_node *fresh;
    if (!path[l]) {
        if (!v.body) { /* the null cap into an empty subtree: nothing changes */
            if (n)
                jk_cap_obj_retain(&n->o);
            *out = n;
            return JK_OK;
        }
        jk_err err = jk_cnode_chain(l, i, v, out - (h - l));
        if (err != JK_OK)
            return err;
        fresh = out[-(int)(h - l)];
    } else {
        jk_cnode_node *leaf = path[1];
        unsigned bit = i & 1;
        if (jk_cap_same_in(leaf->u.slot[bit], v)) { /* the same value: nothing changes */
            jk_cap_obj_retain(&n->o);
            *out = n;
            return JK_OK;
        }
        jk_cap s0 = bit ? leaf->u.slot[0] : v, s1 = bit ? v : leaf->u.slot[1];
        fresh = NULL;
        if (s0.body || s1.body) {
            fresh = jk_cap_cnode_node_new_slots(s0, s1);
            if (!fresh)
                return JK_ERR_NOMEM;
        }
        out[1 - (int)h] = fresh;
    }
    /* up: a copy of each old node with the changed link; an emptied
     * subtree (fresh NULL beside an empty sibling) stays empty */
    for (unsigned u = l + 1; u <= h; u++) {
        jk_cnode_node *old = path[u];
        unsigned bit = (i >> (u - 1)) & 1;
        jk_cnode_node *other = old->u.kid[!bit];
        if (!fresh && !other) {
            out[(int)u - (int)h] = NULL;
            continue;
        }
        /* jk_cap_cnode_node_new_kids, but the new node takes over our
         * reference to `fresh` instead of a retain and a release of it: two
         * atomic read-modify-writes a level of every path copy (issue 16) */
        jk_cnode_node *joined = jk_cnode_node_alloc(u);
        if (!joined) {
            if (fresh)
                jk_cap_obj_release(&fresh->o);
            return JK_ERR_NOMEM;
        }
        joined->o.depth = (uint8_t)jk_max(fresh ? fresh->o.depth : 0, other ? other->o.depth : 0);
        joined->u.kid[bit] = fresh;
        joined->u.kid[!bit] = other;
        if (jk_cnode_has_skip(u)) {
            /* old's index, which differs only on slot i's path: there, what
             * was made `levels` below (joined's links lead to it through
             * the new nodes) */
            unsigned levels = jk_cnode_skip_levels(u);
            jk_cnode_node **sk = jk_cnode_skips(joined);
            /* constant sizes, so that the copy is a few moves inline, not a
             * call (two such nodes on every path copy of a 256-slot cnode) */
            if (levels == JK_CNODE_SKIP_LEVELS)
                jk_skip_copy(sk, old, JK_CNODE_SKIP_FAN);
            else
                jk_skip_copy(sk, old, JK_CNODE_SKIP_FAN / 2);
            sk[(i >> (u - levels)) & ((1u << levels) - 1)] = out[(int)u - (int)levels - (int)h];
        }
        if (other)
            jk_cap_obj_retain(&other->o);
        out[(int)u - (int)h] = joined;
        fresh = joined;
    }
    return JK_OK;
}

jk_err jk_cap_cnode_set(jk_cap cnode, uint32_t i, jk_cap value, jk_cap *out)
{
    if (cnode.kind != JK_CAP_CNODE)
        return JK_ERR_CAP_KIND;
    jk_cnode_body *c = jk_cnode_of(cnode);
    if (i >= 1u << c->log2)
        return JK_ERR_CAP_RANGE;
    if (jk_cap_depth_in(value) + 1 > JK_CAP_MAX_DEPTH)
        return JK_ERR_CAP_TOO_DEEP;
    if (c->log2 == 0) {
        if (jk_cap_same_in(c->slot0, value)) {
            *out = jk_cap_retain_in(cnode);
            return JK_OK;
        }
        return jk_cap_cnode_from_root(0, value, NULL, out);
    }
    jk_cnode_node *made[JK_CAP_CNODE_MAX_LOG2 + 1];
    jk_err err = jk_cnode_set_rec(c->root, c->log2, i, value, &made[c->log2]);
    if (err != JK_OK)
        return err;
    jk_cnode_node *root = made[c->log2];
    if (root == c->root) {
        if (root)
            jk_cap_obj_release(&root->o);
        *out = jk_cap_retain_in(cnode);
        return JK_OK;
    }
    err = jk_cap_cnode_from_root(c->log2, jk_cap_null(), root, out);
    if (root)
        jk_cap_obj_release(&root->o);
    return err;
}

/* jk_cnode_set_rec on the subtree *link (height h), which the caller owns:
 * nodes that are uniquely held are updated in place, the first shared one is
 * path-copied below it. *changed tells whether *link's content moved. Nothing
 * changes on error (the only error comes from the copy, before any write).
 * A loop down the unique nodes and one back up (it was a recursion: ~60
 * instructions a level, and a ledger write goes through 24 levels). */
/* inlined into its one caller, as before it had a read index to keep: a call
 * and its frame cost ~10 instructions an update (issue 16) */
static inline __attribute__((always_inline)) jk_err
jk_cnode_update_rec(jk_cnode_node **link, unsigned h, uint32_t i, jk_cap v, bool *changed)
{
    jk_cnode_node **down[JK_CAP_CNODE_MAX_LOG2]; /* down[k]: the unique node at height h - k */
    unsigned k = 0;
    unsigned relinked = 0; /* the height of the highest link on the path that
                              now names another node (0: none; then no read
                              index above changes) */
    bool moved;
    for (;;) {
        jk_cnode_node *n = *link;
        if (!n || !jk_obj_unique(&n->o)) {
            jk_cnode_node *made[JK_CAP_CNODE_MAX_LOG2 + 1];
            jk_err err = jk_cnode_set_rec(n, h - k, i, v, &made[h - k]);
            if (err != JK_OK)
                return err;
            jk_cnode_node *fresh = made[h - k];
            moved = fresh != n;
            relinked = moved ? h - k : 0;
            if (n)
                jk_cap_obj_release(&n->o);
            *link = fresh;
            break;
        }
        down[k++] = link;
        if (h - k == 0) { /* n is a leaf node: its slot changes in place */
            unsigned bit = i & 1;
            moved = !jk_cap_same_in(n->u.slot[bit], v);
            if (moved) {
                /* retain the new value before the old one may go */
                jk_cap old = n->u.slot[bit];
                n->u.slot[bit] = jk_cap_retain_in(v);
                jk_cap_release(old);
            }
            break;
        }
        link = &n->u.kid[(i >> (h - k)) & 1];
    }
    /* back up the unique nodes: depths, the canonical form (no all-empty
     * subtree is stored), stale cached hashes. Nodes emptied from the leaf
     * up are detached as one chain (`chain`, its top at chain_h) and kept
     * for the write that refills the slot (jk_cap_chain_stash) */
    jk_cnode_node *chain = NULL;
    unsigned chain_h = 0;
    while (moved && k > 0) {
        jk_cnode_node **at = down[--k];
        jk_cnode_node *n = *at;
        unsigned hn = h - k;
        bool empty = hn == 1 ? !n->u.slot[0].body && !n->u.slot[1].body : !n->u.kid[0] && !n->u.kid[1];
        if (empty) {
            *at = NULL;
            relinked = hn;
            if (hn == 1 || (chain && chain_h == hn - 1)) {
                if (hn > 1)
                    n->u.kid[(i >> (hn - 1)) & 1] = chain; /* the detached child, privately */
                chain = n;
                chain_h = hn;
            } else {
                jk_cap_obj_release(&n->o); /* emptied by a copy below: no whole chain */
            }
            continue;
        }
        unsigned depth = jk_cnode_depth_after(n, hn, i);
        bool quiet = jk_obj_stale(&n->o) && depth == n->o.depth;
        n->o.depth = (uint8_t)depth;
        jk_obj_changed(&n->o);
        /* a node its index names on the path was replaced or freed */
        if (relinked && jk_cnode_has_skip(hn) && relinked + jk_cnode_skip_levels(hn) >= hn)
            jk_skip_refill(n, hn, i);
        /* n's hash was stale already and its depth did not move: every node
         * above it is stale too (jk_obj_stale) with its depth right, and no
         * read index above reaches a replaced link (relinked + 4 ≤ hn),
         * so nothing above changes (session 9: a block's writes meet paths
         * an earlier write of the block made stale, and stop there) */
        if (quiet && (!relinked || hn >= relinked + JK_CNODE_SKIP_LEVELS))
            break;
    }
    if (chain)
        jk_cap_chain_stash(chain, chain_h, i & (uint32_t)((1u << chain_h) - 1));
    *changed = moved;
    return JK_OK;
}

jk_err jk_cap_cnode_update(jk_cap *cnode, uint32_t i, jk_cap value)
{
    jk_cap old = *cnode;
    if (old.kind != JK_CAP_CNODE)
        return JK_ERR_CAP_KIND;
    jk_cnode_body *c = jk_cnode_of(old);
    if (c->log2 == 0 || !jk_obj_unique(&c->o)) {
        jk_cap fresh;
        jk_err err = jk_cap_cnode_set(old, i, value, &fresh);
        if (err != JK_OK)
            return err;
        jk_cap_release(old);
        *cnode = fresh;
        return JK_OK;
    }
    if (i >= 1u << c->log2)
        return JK_ERR_CAP_RANGE;
    if (jk_cap_depth_in(value) + 1 > JK_CAP_MAX_DEPTH)
        return JK_ERR_CAP_TOO_DEEP;
    bool changed = false;
    jk_err err = jk_cnode_update_rec(&c->root, c->log2, i, value, &changed);
    if (err != JK_OK || !changed)
        return err;
    c->o.depth = (uint8_t)((c->root ? c->root->o.depth : 0) + 1);
    jk_obj_changed(&c->o);
    return JK_OK;
}
