/*
 * decode.c — the syntax of one stored object (docs/cap.md, "Encodings").
 *
 * jk_cap_obj_parse checks an object's bytes without following its children: the
 * tag, the exact length (truncated and trailing bytes are both refused), the
 * bounds on counts and lengths, the ranges of fields, and the canonical
 * orderings and zero/non-zero rules. It never reads outside [bytes, bytes +
 * len), never allocates, and leaves views into the bytes in *v. What needs the
 * children (tree shapes, kinds, Image and Instance rules) is checked by the
 * loader and the constructors it calls.
 */
#include "internal.h"

typedef struct jk_rd {
    const uint8_t *p, *end;
} jk_rd;

static size_t jk_rd_left(const jk_rd *r) { return (size_t)(r->end - r->p); }

static uint8_t jk_rd_u8(jk_rd *r) { return *r->p++; }

static uint32_t jk_rd_u32v(jk_rd *r)
{
    uint32_t v = jk_rd_u32(r->p);
    r->p += 4;
    return v;
}

static uint64_t jk_rd_u64v(jk_rd *r)
{
    uint64_t v = jk_rd_u64(r->p);
    r->p += 8;
    return v;
}

static void jk_rd_hash(jk_rd *r, jk_hash *h)
{
    memcpy(h->bytes, r->p, JK_HASH_SIZE);
    r->p += JK_HASH_SIZE;
}

static jk_err jk_need(const jk_rd *r, size_t n, const char *what, jk_diag *diag)
{
    if (jk_rd_left(r) < n)
        return jk_diag_set(diag, JK_ERR_CAP_DECODE, "%s: truncated (%zu bytes left, need %zu)",
                           what, jk_rd_left(r), n);
    return JK_OK;
}

static jk_err jk_exact(size_t len, size_t want, const char *what, jk_diag *diag)
{
    if (len < want)
        return jk_diag_set(diag, JK_ERR_CAP_DECODE, "%s: truncated (%zu bytes, need %zu)",
                           what, len, want);
    if (len > want)
        return jk_diag_set(diag, JK_ERR_CAP_DECODE, "%s: %zu trailing bytes", what,
                           len - want);
    return JK_OK;
}

#define JK_TRY(expr)                                                           \
    do {                                                                       \
        jk_err jk_try_ = (expr);                                               \
        if (jk_try_ != JK_OK)                                                  \
            return jk_try_;                                                    \
    } while (0)

static jk_err jk_parse_image(jk_rd *r, jk_obj_view *v, jk_diag *diag)
{
    static const char what[] = "image record";
    JK_TRY(jk_need(r, JK_HASH_SIZE + 4, what, diag));
    jk_rd_hash(r, &v->a);
    if (jk_hash_is_zero(&v->a))
        return jk_diag_set(diag, JK_ERR_CAP_DECODE, "image record: code hash is zero");
    v->nmaps = jk_rd_u32v(r);
    if (v->nmaps > JK_CAP_IMAGE_MAX_MAPPINGS)
        return jk_diag_set(diag, JK_ERR_CAP_TOO_LARGE, "image record: %u mappings (at most %u)",
                           v->nmaps, JK_CAP_IMAGE_MAX_MAPPINGS);
    JK_TRY(jk_need(r, (size_t)v->nmaps * JK_ENC_MAPPING_SIZE + 4, what, diag));
    v->maps = r->p;
    for (uint32_t i = 1; i < v->nmaps; i++)
        if (jk_rd_u32(v->maps + i * JK_ENC_MAPPING_SIZE) <=
            jk_rd_u32(v->maps + (i - 1) * JK_ENC_MAPPING_SIZE))
            return jk_diag_set(diag, JK_ERR_CAP_DECODE,
                               "image record: mapping %u not in increasing base order", i);
    r->p += (size_t)v->nmaps * JK_ENC_MAPPING_SIZE;
    v->neps = jk_rd_u32v(r);
    if (v->neps > JK_CAP_IMAGE_MAX_ENDPOINTS)
        return jk_diag_set(diag, JK_ERR_CAP_TOO_LARGE, "image record: %u endpoints (at most %u)",
                           v->neps, JK_CAP_IMAGE_MAX_ENDPOINTS);
    JK_TRY(jk_need(r, (size_t)v->neps * JK_ENC_ENDPOINT_SIZE + 4, what, diag));
    v->eps = r->p;
    r->p += (size_t)v->neps * JK_ENC_ENDPOINT_SIZE;
    v->npins = jk_rd_u32v(r);
    if (v->npins > 255)
        return jk_diag_set(diag, JK_ERR_CAP_TOO_LARGE, "image record: %u pins (at most 255)",
                           v->npins);
    JK_TRY(jk_need(r, (size_t)v->npins * JK_ENC_PIN_SIZE + 1, what, diag));
    v->pins = r->p;
    for (uint32_t i = 0; i < v->npins; i++) {
        uint8_t slot;
        jk_hash h;
        jk_cap_view_pin(v, i, &slot, &h);
        if (slot == 0 || (i > 0 && slot <= v->pins[(i - 1) * JK_ENC_PIN_SIZE]))
            return jk_diag_set(diag, JK_ERR_CAP_DECODE,
                               "image record: pin %u: slot %u (0, or not increasing)", i, slot);
        if (jk_hash_is_zero(&h))
            return jk_diag_set(diag, JK_ERR_CAP_DECODE, "image record: pin %u is zero", i);
    }
    r->p += (size_t)v->npins * JK_ENC_PIN_SIZE;
    v->catcher = jk_rd_u8(r);
    if (jk_rd_left(r))
        return jk_diag_set(diag, JK_ERR_CAP_DECODE, "image record: %zu trailing bytes",
                           jk_rd_left(r));
    return JK_OK;
}

static jk_err jk_parse_frames(jk_rd *r, jk_obj_view *v, jk_diag *diag)
{
    for (uint32_t f = 0; f < v->nframes; f++) {
        if (jk_rd_left(r) < JK_ENC_FRAME_FIXED)
            return jk_diag_set(diag, JK_ERR_CAP_DECODE, "instance record: frame %u truncated",
                               f);
        jk_frame_view fr;
        jk_cap_view_frame(r->p, &fr);
        if (jk_hash_is_zero(&fr.instance))
            return jk_diag_set(diag, JK_ERR_CAP_DECODE,
                               "instance record: frame %u: instance hash is zero", f);
        if (fr.flags & ~JK_CAP_FRAME_BLOCK_PAID)
            return jk_diag_set(diag, JK_ERR_CAP_DECODE,
                               "instance record: frame %u: unknown flags 0x%02x", f, fr.flags);
        if (fr.nregions > JK_CAP_FRAME_MAX_REGIONS)
            return jk_diag_set(diag, JK_ERR_CAP_TOO_LARGE,
                               "instance record: frame %u: %u regions (at most %u)", f,
                               fr.nregions, JK_CAP_FRAME_MAX_REGIONS);
        r->p += JK_ENC_FRAME_FIXED;
        if (jk_rd_left(r) < (size_t)fr.nregions * JK_ENC_REGION_SIZE)
            return jk_diag_set(diag, JK_ERR_CAP_DECODE,
                               "instance record: frame %u: regions truncated", f);
        uint32_t prev = 0;
        for (uint32_t i = 0; i < fr.nregions; i++) {
            uint32_t base;
            jk_hash h;
            jk_cap_view_region(&fr, i, &base, &h);
            if (i > 0 && base <= prev)
                return jk_diag_set(diag, JK_ERR_CAP_DECODE,
                                   "instance record: frame %u: region %u not in increasing "
                                   "base order", f, i);
            if (jk_hash_is_zero(&h))
                return jk_diag_set(diag, JK_ERR_CAP_DECODE,
                                   "instance record: frame %u: region %u is zero", f, i);
            prev = base;
        }
        r->p += (size_t)fr.nregions * JK_ENC_REGION_SIZE;
    }
    return JK_OK;
}

static jk_err jk_parse_instance(jk_rd *r, jk_obj_view *v, jk_diag *diag)
{
    JK_TRY(jk_need(r, 3 * JK_HASH_SIZE + 1, "instance record", diag));
    jk_rd_hash(r, &v->a);
    jk_rd_hash(r, &v->b);
    jk_rd_hash(r, &v->c);
    if (jk_hash_is_zero(&v->a) || jk_hash_is_zero(&v->c))
        return jk_diag_set(diag, JK_ERR_CAP_DECODE,
                           "instance record: image or cnode hash is zero");
    v->status = jk_rd_u8(r);
    if (v->status > JK_CAP_FAULTED)
        return jk_diag_set(diag, JK_ERR_CAP_DECODE, "instance record: unknown status %u",
                           v->status);
    if (v->status == JK_CAP_PAUSED) {
        JK_TRY(jk_need(r, 4, "instance record", diag));
        v->nframes = jk_rd_u32v(r);
        if (v->nframes == 0)
            return jk_diag_set(diag, JK_ERR_CAP_DECODE, "instance record: paused, no frames");
        if (v->nframes > JK_CAP_MAX_FRAMES)
            return jk_diag_set(diag, JK_ERR_CAP_TOO_LARGE,
                               "instance record: %u frames (at most %u)", v->nframes,
                               JK_CAP_MAX_FRAMES);
        v->frames = r->p;
        JK_TRY(jk_parse_frames(r, v, diag));
    }
    if (jk_rd_left(r))
        return jk_diag_set(diag, JK_ERR_CAP_DECODE, "instance record: %zu trailing bytes",
                           jk_rd_left(r));
    return JK_OK;
}

jk_err jk_cap_obj_parse(const uint8_t *bytes, size_t len, jk_obj_view *v, jk_diag *diag)
{
    memset(v, 0, sizeof *v);
    if (len == 0 || !bytes)
        return jk_diag_set(diag, JK_ERR_CAP_DECODE, "empty object");
    jk_rd r = {bytes + 1, bytes + len};
    v->tag = bytes[0];
    switch (v->tag) {
    case JK_CAP_TAG_DATA:
        JK_TRY(jk_exact(len, 41, "data record", diag));
        v->len = jk_rd_u64v(&r);
        jk_rd_hash(&r, &v->a);
        if (v->len > JK_CAP_DATA_MAX_LEN)
            return jk_diag_set(diag, JK_ERR_CAP_TOO_LARGE,
                               "data record: length %llu over the bound",
                               (unsigned long long)v->len);
        if ((v->len == 0) != jk_hash_is_zero(&v->a))
            return jk_diag_set(diag, JK_ERR_CAP_DECODE,
                               "data record: root must be zero exactly when empty");
        return JK_OK;
    case JK_CAP_TAG_DATA_PAGE:
        if (len < 5)
            return jk_diag_set(diag, JK_ERR_CAP_DECODE, "data page: truncated header");
        v->len = jk_rd_u32v(&r);
        if (v->len == 0)
            return jk_diag_set(diag, JK_ERR_CAP_DECODE, "data page: empty");
        if (v->len > JK_CAP_PAGE_SIZE)
            return jk_diag_set(diag, JK_ERR_CAP_TOO_LARGE, "data page: %llu bytes (at most 4096)",
                               (unsigned long long)v->len);
        JK_TRY(jk_exact(len, 5 + v->len, "data page", diag));
        v->bytes = r.p;
        return JK_OK;
    case JK_CAP_TAG_DATA_NODE:
    case JK_CAP_TAG_CNODE_NODE:
        JK_TRY(jk_exact(len, 65, v->tag == JK_CAP_TAG_DATA_NODE ? "data node" : "cnode node",
                        diag));
        jk_rd_hash(&r, &v->a);
        jk_rd_hash(&r, &v->b);
        if (v->tag == JK_CAP_TAG_DATA_NODE && (jk_hash_is_zero(&v->a) || jk_hash_is_zero(&v->b)))
            return jk_diag_set(diag, JK_ERR_CAP_DECODE, "data node: a child is zero");
        if (v->tag == JK_CAP_TAG_CNODE_NODE && jk_hash_is_zero(&v->a) && jk_hash_is_zero(&v->b))
            return jk_diag_set(diag, JK_ERR_CAP_DECODE,
                               "cnode node: both children empty (non-canonical)");
        return JK_OK;
    case JK_CAP_TAG_CNODE:
        JK_TRY(jk_exact(len, 34, "cnode record", diag));
        v->log2 = jk_rd_u8(&r);
        jk_rd_hash(&r, &v->a);
        if (v->log2 > JK_CAP_CNODE_MAX_LOG2)
            return jk_diag_set(diag, JK_ERR_CAP_TOO_LARGE, "cnode record: 2^%u slots (at most 2^16)",
                               v->log2);
        return JK_OK;
    case JK_CAP_TAG_IMAGE:
        return jk_parse_image(&r, v, diag);
    case JK_CAP_TAG_INSTANCE:
        return jk_parse_instance(&r, v, diag);
    }
    return jk_diag_set(diag, JK_ERR_CAP_DECODE, "unknown object tag 0x%02x", v->tag);
}

jk_err jk_cap_object_check(const uint8_t *bytes, size_t len, jk_diag *diag)
{
    jk_obj_view v;
    return jk_cap_obj_parse(bytes, len, &v, diag);
}

/* ---- entry readers ---- */

void jk_cap_view_mapping(const jk_obj_view *v, uint32_t i, jk_cap_mapping *out)
{
    const uint8_t *p = v->maps + (size_t)i * JK_ENC_MAPPING_SIZE;
    out->base = jk_rd_u32(p);
    out->size = jk_rd_u32(p + 4);
    out->kind = p[8];
    out->access = p[9];
    out->slot = p[10];
}

void jk_cap_view_endpoint(const jk_obj_view *v, uint32_t i, jk_cap_endpoint *out)
{
    const uint8_t *p = v->eps + (size_t)i * JK_ENC_ENDPOINT_SIZE;
    out->pc = jk_rd_u32(p);
    for (int r = 0; r < JK_PVM_REGS; r++)
        out->regs[r] = jk_rd_u64(p + 4 + 8 * r);
}

void jk_cap_view_pin(const jk_obj_view *v, uint32_t i, uint8_t *slot, jk_hash *h)
{
    const uint8_t *p = v->pins + (size_t)i * JK_ENC_PIN_SIZE;
    *slot = p[0];
    memcpy(h->bytes, p + 1, JK_HASH_SIZE);
}

const uint8_t *jk_cap_view_frame(const uint8_t *p, jk_frame_view *out)
{
    memcpy(out->instance.bytes, p, JK_HASH_SIZE);
    p += JK_HASH_SIZE;
    out->endpoint = p[0];
    out->pc = jk_rd_u32(p + 1);
    p += 5;
    for (int r = 0; r < JK_PVM_REGS; r++, p += 8)
        out->regs[r] = jk_rd_u64(p);
    out->gas = (int64_t)jk_rd_u64(p);
    out->flags = p[8];
    out->spawned = jk_rd_u32(p + 9);
    out->nregions = jk_rd_u32(p + 13);
    out->regions = p + 17;
    return out->regions + (size_t)out->nregions * JK_ENC_REGION_SIZE;
}

void jk_cap_view_region(const jk_frame_view *f, uint32_t i, uint32_t *base, jk_hash *h)
{
    const uint8_t *p = f->regions + (size_t)i * JK_ENC_REGION_SIZE;
    *base = jk_rd_u32(p);
    memcpy(h->bytes, p + 4, JK_HASH_SIZE);
}

static jk_err jk_child(const jk_hash *h, jk_err (*fn)(void *, const jk_hash *), void *ctx)
{
    return jk_hash_is_zero(h) ? JK_OK : fn(ctx, h);
}

jk_err jk_cap_view_children(const jk_obj_view *v,
                        jk_err (*fn)(void *ctx, const jk_hash *h), void *ctx)
{
    jk_err err = JK_OK;
    switch (v->tag) {
    case JK_CAP_TAG_DATA:
    case JK_CAP_TAG_CNODE:
        return jk_child(&v->a, fn, ctx);
    case JK_CAP_TAG_DATA_NODE:
    case JK_CAP_TAG_CNODE_NODE:
        if ((err = jk_child(&v->a, fn, ctx)) != JK_OK)
            return err;
        return jk_child(&v->b, fn, ctx);
    case JK_CAP_TAG_IMAGE:
        err = jk_child(&v->a, fn, ctx);
        for (uint32_t i = 0; i < v->npins && err == JK_OK; i++) {
            uint8_t slot;
            jk_hash h;
            jk_cap_view_pin(v, i, &slot, &h);
            err = jk_child(&h, fn, ctx);
        }
        return err;
    case JK_CAP_TAG_INSTANCE: {
        err = jk_child(&v->a, fn, ctx);
        if (err == JK_OK)
            err = jk_child(&v->c, fn, ctx);
        const uint8_t *p = v->frames;
        for (uint32_t f = 0; f < v->nframes && err == JK_OK; f++) {
            jk_frame_view fr;
            p = jk_cap_view_frame(p, &fr);
            err = jk_child(&fr.instance, fn, ctx);
            for (uint32_t i = 0; i < fr.nregions && err == JK_OK; i++) {
                uint32_t base;
                jk_hash h;
                jk_cap_view_region(&fr, i, &base, &h);
                err = jk_child(&h, fn, ctx);
            }
        }
        return err;
    }
    }
    return JK_OK;
}
