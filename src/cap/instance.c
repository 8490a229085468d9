/*
 * instance.c — Instance: image, lineage, root cnode, status and continuation.
 *
 * Invariants every constructor checks (so a loaded Instance satisfies them
 * too): the root cnode has 256 slots; each slot the image pins holds exactly
 * the pinned cap; Paused ⇔ a non-empty continuation; each frame's instance is
 * Idle, its endpoint exists in that instance's image, its flags are known,
 * and its memory regions are page-aligned, above the guard, sorted and
 * disjoint (each region's Data rounded up to whole pages) inside 2^32.
 *
 * Lineage (architecture §2): genesis H(kernel_id ‖ image_id), set_image
 * H(image_hash ‖ image_id(new)), derive_spawn H(spawner.image_hash ‖
 * image_id(new)); a copy is jk_cap_retain and keeps everything.
 */
#include "internal.h"

static unsigned jk_umax(unsigned a, unsigned b) { return a > b ? a : b; }

/* H(prefix ‖ image_id(image)). */
static void jk_lineage(const jk_hash *prefix, jk_cap image, jk_hash *out)
{
    uint8_t buf[2 * JK_HASH_SIZE];
    jk_hash id;
    jk_cap_hash(image, &id);
    memcpy(buf, prefix->bytes, JK_HASH_SIZE);
    memcpy(buf + JK_HASH_SIZE, id.bytes, JK_HASH_SIZE);
    jk_crypto_blake2b256(buf, sizeof buf, out);
}

static jk_err jk_check_frames(const jk_cap_frame *frames, uint32_t n, unsigned *depth,
                              jk_diag *diag)
{
    for (uint32_t f = 0; f < n; f++) {
        const jk_cap_frame *fr = &frames[f];
        if (fr->instance.kind != JK_CAP_INSTANCE)
            return jk_diag_set(diag, JK_ERR_CAP_KIND, "instance: frame %u holds a %s", f,
                               jk_cap_kind_name(fr->instance.kind));
        const jk_instance_body *fi = jk_instance_of(fr->instance);
        if (fi->status != JK_CAP_IDLE)
            return jk_diag_set(diag, JK_ERR_CAP_INSTANCE,
                               "instance: frame %u's instance is not idle", f);
        if (fr->endpoint >= jk_cap_image_endpoint_count(fi->image))
            return jk_diag_set(diag, JK_ERR_CAP_INSTANCE,
                               "instance: frame %u: endpoint %u not in its image", f,
                               fr->endpoint);
        if (fr->flags & ~JK_CAP_FRAME_BLOCK_PAID)
            return jk_diag_set(diag, JK_ERR_CAP_INSTANCE,
                               "instance: frame %u: unknown flags 0x%x", f, fr->flags);
        if (fr->region_count > JK_CAP_FRAME_MAX_REGIONS)
            return jk_diag_set(diag, JK_ERR_CAP_INSTANCE,
                               "instance: frame %u: %u regions (at most %u)", f,
                               fr->region_count, JK_CAP_FRAME_MAX_REGIONS);
        if (fr->region_count && !fr->regions)
            return jk_diag_set(diag, JK_ERR_INVALID_ARG, "instance: frame %u: no regions", f);
        *depth = jk_umax(*depth, jk_cap_depth(fr->instance));
        uint64_t end = JK_PVM_GUARD_SIZE;
        for (uint32_t r = 0; r < fr->region_count; r++) {
            const jk_cap_region *rg = &fr->regions[r];
            if (rg->data.kind != JK_CAP_DATA)
                return jk_diag_set(diag, JK_ERR_CAP_KIND,
                                   "instance: frame %u region %u holds a %s", f, r,
                                   jk_cap_kind_name(rg->data.kind));
            uint64_t len = jk_cap_data_len(rg->data);
            len = (len + JK_PVM_PAGE_SIZE - 1) / JK_PVM_PAGE_SIZE * JK_PVM_PAGE_SIZE;
            if (rg->base % JK_PVM_PAGE_SIZE || rg->base < end ||
                (uint64_t)rg->base + len > (1ull << 32))
                return jk_diag_set(diag, JK_ERR_CAP_INSTANCE,
                                   "instance: frame %u region %u at 0x%x misplaced (unaligned, "
                                   "below the guard, overlapping or past 2^32)",
                                   f, r, rg->base);
            end = (uint64_t)rg->base + len;
            *depth = jk_umax(*depth, jk_cap_depth(rg->data));
        }
    }
    return JK_OK;
}

/* Deep copy of the frames, retaining their caps. NULL on OOM. */
static jk_cap_frame *jk_copy_frames(const jk_cap_frame *frames, uint32_t n)
{
    jk_cap_frame *out = calloc(n, sizeof *out);
    if (!out)
        return NULL;
    for (uint32_t f = 0; f < n; f++) {
        jk_cap_region *rg = NULL;
        if (frames[f].region_count) {
            rg = malloc(frames[f].region_count * sizeof *rg);
            if (!rg) {
                for (uint32_t g = 0; g < f; g++)
                    free((void *)out[g].regions);
                free(out);
                return NULL;
            }
            memcpy(rg, frames[f].regions, frames[f].region_count * sizeof *rg);
        }
        out[f] = frames[f];
        out[f].regions = rg;
    }
    for (uint32_t f = 0; f < n; f++) {
        jk_cap_retain(out[f].instance);
        for (uint32_t r = 0; r < out[f].region_count; r++)
            jk_cap_retain(out[f].regions[r].data);
    }
    return out;
}

jk_err jk_cap_instance_make(jk_cap image, const jk_hash *image_hash, jk_cap cnode,
                            jk_cap_status status, const jk_cap_frame *frames,
                            uint32_t frame_count, jk_cap *out, jk_diag *diag)
{
    if (image.kind != JK_CAP_IMAGE)
        return jk_diag_set(diag, JK_ERR_CAP_KIND, "instance: image is a %s",
                           jk_cap_kind_name(image.kind));
    if (cnode.kind != JK_CAP_CNODE)
        return jk_diag_set(diag, JK_ERR_CAP_KIND, "instance: root cnode is a %s",
                           jk_cap_kind_name(cnode.kind));
    if (jk_cap_cnode_log2(cnode) != JK_CAP_ROOT_LOG2)
        return jk_diag_set(diag, JK_ERR_CAP_INSTANCE,
                           "instance: root cnode has %u slots, not 256",
                           jk_cap_cnode_slot_count(cnode));
    if ((unsigned)status > JK_CAP_FAULTED)
        return jk_diag_set(diag, JK_ERR_CAP_INSTANCE, "instance: unknown status %u",
                           (unsigned)status);
    if ((status == JK_CAP_PAUSED) != (frame_count > 0))
        return jk_diag_set(diag, JK_ERR_CAP_INSTANCE,
                           "instance: %u frames with status %u (paused needs 1..%u)",
                           frame_count, (unsigned)status, JK_CAP_MAX_FRAMES);
    if (frame_count > JK_CAP_MAX_FRAMES)
        return jk_diag_set(diag, JK_ERR_CAP_INSTANCE, "instance: %u frames (at most %u)",
                           frame_count, JK_CAP_MAX_FRAMES);
    if (frame_count && !frames)
        return jk_diag_set(diag, JK_ERR_INVALID_ARG, "instance: no frames");
    const jk_image_body *im = jk_image_of(image);
    for (uint32_t i = 0; i < im->npins; i++)
        if (!jk_cap_equal(jk_cap_cnode_get(cnode, im->pins[i].slot), im->pins[i].cap))
            return jk_diag_set(diag, JK_ERR_CAP_INSTANCE,
                               "instance: pinned slot %u does not hold the image's cap",
                               im->pins[i].slot);
    unsigned depth = jk_umax(jk_cap_depth(image), jk_cap_depth(cnode));
    jk_err err = jk_check_frames(frames, frame_count, &depth, diag);
    if (err != JK_OK)
        return err;
    if (depth + 1 > JK_CAP_MAX_DEPTH)
        return jk_diag_set(diag, JK_ERR_CAP_TOO_DEEP, "instance: nesting deeper than %u",
                           JK_CAP_MAX_DEPTH);

    jk_instance_body *in = jk_cap_obj_alloc(sizeof *in, JK_OBJ_INSTANCE);
    jk_cap_frame *copy = frame_count ? jk_copy_frames(frames, frame_count) : NULL;
    if (!in || (frame_count && !copy)) {
        if (in)
            jk_cap_obj_release(&in->o);
        return JK_ERR_NOMEM; /* copy is NULL here: nothing retained */
    }
    in->o.depth = (uint8_t)(depth + 1);
    in->image = jk_cap_retain(image);
    in->image_hash = *image_hash;
    in->cnode = jk_cap_retain(cnode);
    in->status = (uint8_t)status;
    in->nframes = frame_count;
    in->frames = copy;
    *out = jk_cap_of(JK_CAP_INSTANCE, in);
    return JK_OK;
}

void jk_cap_instance_body_free(jk_instance_body *in, jk_dead *d)
{
    jk_cap_dead_drop(d, jk_cap_obj(in->image));
    jk_cap_dead_drop(d, jk_cap_obj(in->cnode));
    for (uint32_t f = 0; f < in->nframes; f++) {
        jk_cap_dead_drop(d, jk_cap_obj(in->frames[f].instance));
        for (uint32_t r = 0; r < in->frames[f].region_count; r++)
            jk_cap_dead_drop(d, jk_cap_obj(in->frames[f].regions[r].data));
        free((void *)in->frames[f].regions);
    }
    free(in->frames);
}

void jk_cap_instance_encode(jk_instance_body *in, jk_wr *w)
{
    jk_hash h;
    jk_cap_wr_u8(w, JK_CAP_TAG_INSTANCE);
    jk_cap_hash(in->image, &h);
    jk_cap_wr_bytes(w, h.bytes, JK_HASH_SIZE);
    jk_cap_wr_bytes(w, in->image_hash.bytes, JK_HASH_SIZE);
    jk_cap_hash(in->cnode, &h);
    jk_cap_wr_bytes(w, h.bytes, JK_HASH_SIZE);
    jk_cap_wr_u8(w, in->status);
    if (in->status != JK_CAP_PAUSED)
        return;
    jk_cap_wr_u32(w, in->nframes);
    for (uint32_t f = 0; f < in->nframes; f++) {
        const jk_cap_frame *fr = &in->frames[f];
        jk_cap_hash(fr->instance, &h);
        jk_cap_wr_bytes(w, h.bytes, JK_HASH_SIZE);
        jk_cap_wr_u8(w, fr->endpoint);
        jk_cap_wr_u32(w, fr->pc);
        for (int r = 0; r < JK_PVM_REGS; r++)
            jk_cap_wr_u64(w, fr->regs[r]);
        jk_cap_wr_u64(w, (uint64_t)fr->gas);
        jk_cap_wr_u8(w, fr->flags);
        jk_cap_wr_u32(w, fr->spawned);
        jk_cap_wr_u32(w, fr->region_count);
        for (uint32_t r = 0; r < fr->region_count; r++) {
            jk_cap_wr_u32(w, fr->regions[r].base);
            jk_cap_hash(fr->regions[r].data, &h);
            jk_cap_wr_bytes(w, h.bytes, JK_HASH_SIZE);
        }
    }
}

/* ---- lineage operations ---- */

/* cnode with old_image's pinned slots emptied (old_image may be the null cap)
 * and new_image's pinned caps installed. A new pinned slot that then holds a
 * different cap is a collision. *out is a new reference. */
static jk_err jk_install_pins(jk_cap cnode, jk_cap old_image, jk_cap new_image,
                              jk_cap *out, jk_diag *diag)
{
    jk_cap cur = jk_cap_retain(cnode), next;
    jk_err err = JK_OK;
    if (old_image.kind == JK_CAP_IMAGE) {
        const jk_image_body *old = jk_image_of(old_image);
        for (uint32_t i = 0; i < old->npins && err == JK_OK; i++) {
            if ((err = jk_cap_cnode_set(cur, old->pins[i].slot, jk_cap_null(), &next)) == JK_OK) {
                jk_cap_release(cur);
                cur = next;
            }
        }
    }
    const jk_image_body *im = jk_image_of(new_image);
    for (uint32_t i = 0; i < im->npins && err == JK_OK; i++) {
        jk_cap there = jk_cap_cnode_get(cur, im->pins[i].slot);
        if (!jk_cap_is_null(there)) {
            if (!jk_cap_equal(there, im->pins[i].cap))
                err = jk_diag_set(diag, JK_ERR_CAP_PINNED,
                                  "instance: pinned slot %u already holds a %s",
                                  im->pins[i].slot, jk_cap_kind_name(there.kind));
            continue;
        }
        if ((err = jk_cap_cnode_set(cur, im->pins[i].slot, im->pins[i].cap, &next)) == JK_OK) {
            jk_cap_release(cur);
            cur = next;
        }
    }
    if (err != JK_OK) {
        jk_cap_release(cur);
        return err;
    }
    *out = cur;
    return JK_OK;
}

/* A fresh Idle instance of image from cnode with lineage H(prefix ‖ id). */
static jk_err jk_instance_fresh(const jk_hash *prefix, jk_cap old_image, jk_cap image,
                                jk_cap cnode, jk_cap *out, jk_diag *diag)
{
    if (image.kind != JK_CAP_IMAGE)
        return jk_diag_set(diag, JK_ERR_CAP_KIND, "instance: image is a %s",
                           jk_cap_kind_name(image.kind));
    if (cnode.kind != JK_CAP_CNODE)
        return jk_diag_set(diag, JK_ERR_CAP_KIND, "instance: root cnode is a %s",
                           jk_cap_kind_name(cnode.kind));
    if (jk_cap_cnode_log2(cnode) != JK_CAP_ROOT_LOG2)
        return jk_diag_set(diag, JK_ERR_CAP_INSTANCE,
                           "instance: root cnode has %u slots, not 256",
                           jk_cap_cnode_slot_count(cnode));
    jk_hash lineage;
    jk_cap root;
    jk_lineage(prefix, image, &lineage);
    jk_err err = jk_install_pins(cnode, old_image, image, &root, diag);
    if (err != JK_OK)
        return err;
    err = jk_cap_instance_make(image, &lineage, root, JK_CAP_IDLE, NULL, 0, out, diag);
    jk_cap_release(root);
    return err;
}

jk_err jk_cap_instance_genesis(jk_cap image, jk_cap cnode, jk_cap *out, jk_diag *diag)
{
    jk_hash kernel_id;
    jk_cap_kernel_id(&kernel_id);
    return jk_instance_fresh(&kernel_id, jk_cap_null(), image, cnode, out, diag);
}

jk_err jk_cap_instance_derive_spawn(jk_cap spawner, jk_cap image, jk_cap cnode,
                                    jk_cap *out, jk_diag *diag)
{
    if (spawner.kind != JK_CAP_INSTANCE)
        return jk_diag_set(diag, JK_ERR_CAP_KIND, "derive_spawn: spawner is a %s",
                           jk_cap_kind_name(spawner.kind));
    return jk_instance_fresh(&jk_instance_of(spawner)->image_hash, jk_cap_null(), image,
                             cnode, out, diag);
}

jk_err jk_cap_instance_set_image(jk_cap inst, jk_cap image, jk_cap *out, jk_diag *diag)
{
    if (inst.kind != JK_CAP_INSTANCE)
        return jk_diag_set(diag, JK_ERR_CAP_KIND, "set_image: target is a %s",
                           jk_cap_kind_name(inst.kind));
    const jk_instance_body *in = jk_instance_of(inst);
    if (in->status != JK_CAP_IDLE)
        return jk_diag_set(diag, JK_ERR_CAP_INSTANCE, "set_image: instance is not idle");
    return jk_instance_fresh(&in->image_hash, in->image, image, in->cnode, out, diag);
}

jk_err jk_cap_instance_with_cnode(jk_cap inst, jk_cap cnode, jk_cap *out, jk_diag *diag)
{
    if (inst.kind != JK_CAP_INSTANCE)
        return jk_diag_set(diag, JK_ERR_CAP_KIND, "instance: not an instance");
    const jk_instance_body *in = jk_instance_of(inst);
    return jk_cap_instance_make(in->image, &in->image_hash, cnode, JK_CAP_IDLE, NULL, 0,
                                out, diag);
}

jk_err jk_cap_instance_with_status(jk_cap inst, jk_cap_status status, jk_cap *out)
{
    if (inst.kind != JK_CAP_INSTANCE)
        return JK_ERR_CAP_KIND;
    if (status != JK_CAP_IDLE && status != JK_CAP_FAULTED)
        return JK_ERR_CAP_INSTANCE;
    const jk_instance_body *in = jk_instance_of(inst);
    return jk_cap_instance_make(in->image, &in->image_hash, in->cnode, status, NULL, 0,
                                out, NULL);
}

jk_err jk_cap_instance_pause(jk_cap inst, const jk_cap_frame *frames,
                             uint32_t frame_count, jk_cap *out, jk_diag *diag)
{
    if (inst.kind != JK_CAP_INSTANCE)
        return jk_diag_set(diag, JK_ERR_CAP_KIND, "instance: not an instance");
    if (frame_count == 0)
        return jk_diag_set(diag, JK_ERR_CAP_INSTANCE, "instance: pause needs a frame");
    const jk_instance_body *in = jk_instance_of(inst);
    return jk_cap_instance_make(in->image, &in->image_hash, in->cnode, JK_CAP_PAUSED,
                                frames, frame_count, out, diag);
}

/* ---- accessors ---- */

static const jk_instance_body *jk_instance_get(jk_cap inst)
{
    assert(inst.kind == JK_CAP_INSTANCE);
    return jk_instance_of(inst);
}

jk_cap jk_cap_instance_image(jk_cap inst) { return jk_instance_get(inst)->image; }

void jk_cap_instance_image_hash(jk_cap inst, jk_hash *out)
{
    *out = jk_instance_get(inst)->image_hash;
}

jk_cap jk_cap_instance_cnode(jk_cap inst) { return jk_instance_get(inst)->cnode; }

jk_cap_status jk_cap_instance_status(jk_cap inst)
{
    return (jk_cap_status)jk_instance_get(inst)->status;
}

uint32_t jk_cap_instance_frame_count(jk_cap inst) { return jk_instance_get(inst)->nframes; }

const jk_cap_frame *jk_cap_instance_frame(jk_cap inst, uint32_t i)
{
    const jk_instance_body *in = jk_instance_get(inst);
    return i < in->nframes ? &in->frames[i] : NULL;
}
