/*
 * slots.c — a frame's slots: slot paths read and written through the frame's
 * working root (jk_wroot, internal.h; docs/kernel.md "The working root").
 *
 * The frame's root cnode is `cnode` with the root slots in the table `w`
 * replaced. What every reader sees is that cnode, whichever part holds a
 * slot; only the cost differs. A write of a root slot is a retain and a
 * store; a write through a nested CNode updates that CNode (held in the
 * table) as jk_cap_cnode_update_path always did. The tree is written only
 * by jk_kernel_frame_flush, where a value of the whole cnode is made.
 */
#include "internal.h"

static bool jk_wroot_has(const jk_wroot *w, uint32_t s) { return w->bits[s >> 6] >> (s & 63) & 1; }

/* A new entry for root slot s (not in the table) holding v (owned). The
 * table has room. */
static void jk_wroot_add(jk_wroot *w, uint32_t s, jk_cap v)
{
    w->bits[s >> 6] |= UINT64_C(1) << (s & 63);
    w->pos[s] = w->count;
    w->slot[w->count] = (uint8_t)s;
    w->val[w->count++] = v;
}

static void jk_wroot_depth(jk_wroot *w, unsigned d)
{
    if (d > w->depth)
        w->depth = (uint8_t)d;
}

jk_err jk_kernel_frame_flush(jk_frame *f)
{
    jk_wroot *w = &f->w;
    jk_kernel_frame_forget(f);
    /* From the last entry down, so that pos[] stays right for the rest. */
    while (w->count) {
        uint32_t e = w->count - 1u, s = w->slot[e];
        jk_cap v = w->val[e];
        /* a slot written back to what the tree holds (slot[0] given and taken
         * back, a value moved out and in) costs nothing here */
        if (!jk_cap_same(v, jk_cap_cnode_get(f->cnode, s))) {
            jk_err err = jk_cap_cnode_update(&f->cnode, s, v);
            if (err != JK_OK)
                return err; /* only JK_ERR_NOMEM: the depth was checked at the write */
        }
        w->bits[s >> 6] &= ~(UINT64_C(1) << (s & 63));
        w->count = (uint8_t)e;
        jk_cap_release(v);
    }
    w->depth = 0;
    return JK_OK;
}

jk_err jk_kernel_slot_set(jk_frame *f, uint32_t s, jk_cap value)
{
    jk_wroot *w = &f->w;
    if (s >= JK_CAP_ROOT_SLOTS)
        return JK_ERR_CAP_RANGE;
    unsigned depth = jk_cap_depth(value); /* once: the check and the table's bound */
    if (depth + 1 > JK_CAP_MAX_DEPTH)
        return JK_ERR_CAP_TOO_DEEP; /* as jk_cap_cnode_update */
    jk_kernel_frame_forget(f);
    if (jk_kernel_slot_pinned(f, s))
        f->pins_moved = true;
    if (jk_wroot_has(w, s)) {
        jk_cap *at = &w->val[w->pos[s]];
        jk_cap old = *at;
        *at = jk_cap_retain(value); /* before the old value may go */
        jk_cap_release(old);
    } else {
        if (w->count == JK_WROOT_MAX) {
            jk_err err = jk_kernel_frame_flush(f);
            if (err != JK_OK)
                return err;
        }
        jk_wroot_add(w, s, jk_cap_retain(value));
    }
    jk_wroot_depth(w, depth);
    return JK_OK;
}

bool jk_kernel_path_get(const jk_frame *f, uint64_t path, jk_cap *out)
{
    /* Every level must be a CNode with the index in range; the slot at the
     * last one may be empty. */
    uint32_t idx[JK_KERNEL_MAX_PATH_DEPTH];
    unsigned d;
    return jk_path_decode(path, &d, idx) && jk_kernel_path_walk(f, idx, d, out);
}

jk_err jk_kernel_path_update(jk_frame *f, uint64_t path, jk_cap value)
{
    uint32_t idx[JK_KERNEL_MAX_PATH_DEPTH];
    unsigned d;
    if (!jk_path_decode(path, &d, idx))
        return JK_ERR_INVALID_ARG;
    return jk_kernel_path_update_at(f, idx, d, value);
}

jk_err jk_kernel_path_update_at(jk_frame *f, const uint32_t *idx, unsigned d, jk_cap value)
{
    if (d == 1)
        return jk_kernel_slot_set(f, idx[0], value);
    /* The path must name a slot (a CNode, the index in range, at each level)
     * before the bound is looked at: the order jk_cap_cnode_update_path of
     * the whole cnode checks them in, so each case fails with its error. */
    jk_cap c = jk_kernel_slot(f, idx[0]);
    for (unsigned l = 1; l < d; l++) {
        if (jk_cap_kind_of(c) != JK_CAP_CNODE || idx[l] >= jk_cap_cnode_slot_count(c))
            return JK_ERR_INVALID_ARG;
        if (l + 1 < d)
            c = jk_cap_cnode_get(c, idx[l]);
    }
    /* The value lands d levels under the root: every CNode on the way, the
     * root's slot included, stays within the bound exactly when this holds
     * (the rest of each is as deep as it was, and was within it). */
    if (jk_cap_depth(value) + d > JK_CAP_MAX_DEPTH)
        return JK_ERR_CAP_TOO_DEEP;
    jk_kernel_frame_forget(f);
    jk_wroot *w = &f->w;
    uint32_t s = idx[0];
    if (jk_kernel_slot_pinned(f, s))
        f->pins_moved = true; /* a CNode below a pinned slot changes */
    if (!jk_wroot_has(w, s)) {
        if (w->count == JK_WROOT_MAX) {
            jk_err err = jk_kernel_frame_flush(f);
            if (err != JK_OK)
                return err;
        }
        /* the tree's CNode, held twice now: the update copies its path (as
         * it did when the tree itself was shared) */
        jk_wroot_add(w, s, jk_cap_retain(jk_cap_cnode_get(f->cnode, s)));
    }
    jk_cap *at = &w->val[w->pos[s]];
    jk_err err = jk_cap_cnode_update_path(at, idx + 1, d - 1, value);
    if (err == JK_ERR_CAP_KIND || err == JK_ERR_CAP_RANGE)
        return JK_ERR_INVALID_ARG; /* checked above: cannot happen */
    if (err == JK_OK)
        jk_wroot_depth(w, jk_cap_depth(*at));
    return err; /* on error *at is as it was (an entry equal to the tree's slot is harmless) */
}

void jk_kernel_frame_pins(jk_frame *f)
{
    jk_cap image = jk_cap_instance_image(f->inst);
    memset(f->pin_slots, 0, sizeof f->pin_slots);
    for (uint32_t i = 0, n = jk_cap_image_pin_count(image); i < n; i++) {
        uint32_t s = jk_cap_image_pin(image, i)->slot; /* a root slot */
        f->pin_slots[s >> 6] |= UINT64_C(1) << (s & 63);
    }
}

bool jk_kernel_frame_pins_hold(const jk_frame *f)
{
    if (!f->pins_moved)
        return true;
    jk_cap image = jk_cap_instance_image(f->inst);
    for (uint32_t i = 0, n = jk_cap_image_pin_count(image); i < n; i++) {
        const jk_cap_pin *pin = jk_cap_image_pin(image, i);
        if (!jk_cap_equal(jk_kernel_slot(f, pin->slot), pin->cap))
            return false;
    }
    return true;
}
