/*
 * cap_hash.c — what every cap kind shares for content addressing: the
 * per-type walk of an object's children, its encoding, the lazily cached
 * hash (CNode inner nodes and one-page Data hashed directly, session 9) and
 * the encoding writer. Split from cap.c, which keeps the objects'
 * allocation, retain and release.
 */
#include "internal.h"

#include <stdio.h>
/* ---- children ---- */

static jk_err jk_child_cap(jk_cap c, jk_child_fn fn, void *ctx)
{
    return c.body ? fn(ctx, jk_cap_obj(c)) : JK_OK;
}

jk_err jk_cap_obj_each_child(jk_obj *o, jk_child_fn fn, void *ctx)
{
    jk_err err = JK_OK;
    switch ((enum jk_obj_type)o->type) {
    case JK_OBJ_DATA: {
        jk_data_body *d = (jk_data_body *)o;
        return d->root ? fn(ctx, &d->root->o) : JK_OK;
    }
    case JK_OBJ_DPAGE:
        return JK_OK;
    case JK_OBJ_DNODE: {
        jk_dnode *n = (jk_dnode *)o;
        if ((err = fn(ctx, &n->u.in.left->o)) != JK_OK)
            return err;
        return fn(ctx, &n->u.in.right->o);
    }
    case JK_OBJ_CNODE: {
        jk_cnode_body *c = (jk_cnode_body *)o;
        if (c->log2 == 0)
            return jk_child_cap(c->slot0, fn, ctx);
        return c->root ? fn(ctx, &c->root->o) : JK_OK;
    }
    case JK_OBJ_CNODE_NODE: {
        jk_cnode_node *n = (jk_cnode_node *)o;
        for (int i = 0; i < 2 && err == JK_OK; i++) {
            if (n->o.height == 1)
                err = jk_child_cap(n->u.slot[i], fn, ctx);
            else if (n->u.kid[i])
                err = fn(ctx, &n->u.kid[i]->o);
        }
        return err;
    }
    case JK_OBJ_IMAGE: {
        jk_image_body *im = (jk_image_body *)o;
        err = jk_child_cap(im->code, fn, ctx);
        for (uint32_t i = 0; i < im->npins && err == JK_OK; i++)
            err = jk_child_cap(im->pins[i].cap, fn, ctx);
        return err;
    }
    case JK_OBJ_INSTANCE: {
        jk_instance_body *in = (jk_instance_body *)o;
        err = jk_child_cap(in->image, fn, ctx);
        if (err == JK_OK)
            err = jk_child_cap(in->cnode, fn, ctx);
        for (uint32_t f = 0; f < in->nframes && err == JK_OK; f++) {
            const jk_cap_frame *fr = &in->frames[f];
            err = jk_child_cap(fr->instance, fn, ctx);
            for (uint32_t r = 0; r < fr->region_count && err == JK_OK; r++)
                err = jk_child_cap(fr->regions[r].data, fn, ctx);
        }
        return err;
    }
    }
    return JK_OK;
}

/* ---- hashing ---- */

void jk_cap_obj_encode(jk_obj *o, jk_wr *w)
{
    switch ((enum jk_obj_type)o->type) {
    case JK_OBJ_DATA: jk_cap_data_encode((jk_data_body *)o, w); break;
    case JK_OBJ_DPAGE:
    case JK_OBJ_DNODE: jk_cap_dnode_encode((jk_dnode *)o, w); break;
    case JK_OBJ_CNODE: jk_cap_cnode_encode((jk_cnode_body *)o, w); break;
    case JK_OBJ_CNODE_NODE: jk_cap_cnode_node_encode((jk_cnode_node *)o, w); break;
    case JK_OBJ_IMAGE: jk_cap_image_encode((jk_image_body *)o, w); break;
    case JK_OBJ_INSTANCE: jk_cap_instance_encode((jk_instance_body *)o, w); break;
    }
}

static jk_err jk_hash_child(void *ctx, jk_obj *child)
{
    jk_hash ignored;
    (void)ctx;
    jk_cap_obj_hash(child, &ignored);
    return JK_OK;
}

/* The hasher state (~400 bytes) lives only in this leaf call, so the
 * recursion over children (jk_cap_obj_hash → jk_hash_child → jk_cap_obj_hash) keeps
 * small frames: children are hashed first, then o is encoded from their
 * cached hashes. An encoding that fits JK_WR_STAGE bytes (a CNode node's 65,
 * a body's few dozen: most of what a block hashes) is gathered and hashed in
 * one call; only a longer one (a Data page) starts the incremental hasher
 * (issue 16: three updates and their wrappers a node, ~17 k nodes a block).
 * The digest is the same either way (BLAKE2b of the same bytes). */
#define JK_WR_STAGE 160
__attribute__((noinline)) static void jk_obj_hash_compute(jk_obj *o, jk_hash *out)
{
    jk_crypto_hasher h;
    uint8_t stage[JK_WR_STAGE];
    jk_wr w = {.hasher = &h, .buf = stage, .cap = sizeof stage};
    jk_cap_obj_encode(o, &w);
    if (w.buf)
        jk_crypto_blake2b256(stage, w.len, out);
    else
        jk_crypto_hasher_final(&h, out);
}

/* Publish o's freshly computed hash (the protocol in internal.h): the
 * thread that wins NONE → BUSY writes it; one that finds BUSY or READY
 * keeps its own copy uncached. */
static inline void jk_obj_publish(jk_obj *o, const jk_hash *h)
{
    unsigned char expect = JK_HASH_NONE;
    if (atomic_compare_exchange_strong_explicit(&o->hstate, &expect, JK_HASH_BUSY,
                                                memory_order_acquire,
                                                memory_order_relaxed)) {
        o->hash = *h;
        atomic_store_explicit(&o->hstate, JK_HASH_READY, memory_order_release);
    }
}

static inline bool jk_obj_hash_ready(jk_obj *o, jk_hash *out)
{
    if (atomic_load_explicit(&o->hstate, memory_order_acquire) != JK_HASH_READY)
        return false;
    *out = o->hash;
    return true;
}

/* A CNode inner node's hash, H(0x05 ‖ left ‖ right) (docs/cap.md), with
 * its unhashed descendants first: the state root of a block hashes ~8
 * fresh nodes an event, nearly all of them CNode nodes, and the generic
 * walk (the per-type child visitor through a function pointer, the
 * encoder's switch and three staged writes, a second switch for the
 * count) cost ~360 instructions a node around BLAKE2b's ~1,050 (session
 * 9). The same bytes, so the same digest: the 65-byte encoding is written
 * here directly (test_cap_cnode_set_get_and_reference_hash and
 * test_cap_cnode_filled_equals_the_sets check it against a reference
 * written from docs/cap.md). Recursion depth: the node's height (at most
 * 16), then jk_cap_obj_hash for a slot's value. */
static void jk_cnode_node_hash(jk_cnode_node *n, jk_hash *out)
{
    uint8_t buf[1 + 2 * JK_HASH_SIZE];
    buf[0] = JK_CAP_TAG_CNODE_NODE;
    for (int i = 0; i < 2; i++) {
        jk_hash h;
        jk_obj *kid = n->o.height == 1 ? jk_cap_obj(n->u.slot[i]) : n->u.kid[i] ? &n->u.kid[i]->o : NULL;
        if (!kid)
            memset(h.bytes, 0, JK_HASH_SIZE);
        else if (!jk_obj_hash_ready(kid, &h)) {
            if (kid->type == JK_OBJ_CNODE_NODE)
                jk_cnode_node_hash((jk_cnode_node *)kid, &h);
            else
                jk_cap_obj_hash(kid, &h);
        }
        memcpy(buf + 1 + (size_t)i * JK_HASH_SIZE, h.bytes, JK_HASH_SIZE);
    }
    jk_crypto_blake2b256(buf, sizeof buf, out);
    jk_cap_hash_count(1);
    jk_obj_publish(&n->o, out);
}

/* A Data of at most one small page (the demo's account buckets, an
 * event's blob: ~2 a transfer in a block's state root): the page record
 * 0x02 ‖ n u32 ‖ bytes and the root record 0x01 ‖ length u64 ‖ page hash
 * written here directly, as jk_cnode_node_hash does for CNode nodes (the
 * encodings of docs/cap.md; test_cap_data's reference hashes and
 * test_cap_hash_staged_and_incremental_agree_with_the_encoding check
 * them). false: not such a Data, nothing done. */
#define JK_FAST_PAGE 128u
static bool jk_small_data_hash(jk_data_body *d, jk_hash *out)
{
    jk_dnode *page = d->root;
    if (page && (page->o.type != JK_OBJ_DPAGE || page->u.page.len > JK_FAST_PAGE))
        return false;
    uint8_t rec[1 + 8 + JK_HASH_SIZE];
    rec[0] = JK_CAP_TAG_DATA;
    for (int b = 0; b < 8; b++)
        rec[1 + b] = (uint8_t)(d->len >> (8 * b));
    jk_hash h;
    if (!page) {
        memset(h.bytes, 0, JK_HASH_SIZE);
    } else if (!jk_obj_hash_ready(&page->o, &h)) {
        uint8_t buf[5 + JK_FAST_PAGE];
        uint32_t n = page->u.page.len;
        buf[0] = JK_CAP_TAG_DATA_PAGE;
        for (int b = 0; b < 4; b++)
            buf[1 + b] = (uint8_t)(n >> (8 * b));
        memcpy(buf + 5, page->u.page.bytes, n);
        jk_crypto_blake2b256(buf, 5 + (size_t)n, &h);
        jk_cap_hash_count(0);
        jk_obj_publish(&page->o, &h);
    }
    memcpy(rec + 9, h.bytes, JK_HASH_SIZE);
    jk_crypto_blake2b256(rec, sizeof rec, out);
    jk_cap_hash_count(2);
    jk_obj_publish(&d->o, out);
    return true;
}

void jk_cap_obj_hash(jk_obj *o, jk_hash *out)
{
    if (jk_obj_hash_ready(o, out))
        return;
    if (o->type == JK_OBJ_CNODE_NODE) {
        jk_cnode_node_hash((jk_cnode_node *)o, out);
        return;
    }
    if (o->type == JK_OBJ_DATA && jk_small_data_hash((jk_data_body *)o, out))
        return;
    jk_cap_obj_each_child(o, jk_hash_child, NULL);
    jk_obj_hash_compute(o, out);
    switch ((enum jk_obj_type)o->type) {
    case JK_OBJ_DPAGE:
        jk_cap_hash_count(0);
        break;
    case JK_OBJ_DNODE:
    case JK_OBJ_CNODE_NODE:
        jk_cap_hash_count(1);
        break;
    default:
        jk_cap_hash_count(2);
        break;
    }
    jk_obj_publish(o, out);
}

void jk_cap_obj_set_hash(jk_obj *o, const jk_hash *h)
{
    o->hash = *h;
    atomic_store_explicit(&o->hstate, JK_HASH_READY, memory_order_release);
}

/* ---- the writer ---- */

void jk_cap_wr_bytes(jk_wr *w, const void *p, size_t n)
{
    if (w->hasher) {
        if (w->buf) { /* staging (jk_obj_hash_compute) */
            if (w->cap - w->len >= n) {
                if (n)
                    memcpy(w->buf + w->len, p, n);
                w->len += n;
                return;
            }
            jk_crypto_hasher_init(w->hasher);
            jk_crypto_hasher_update(w->hasher, w->buf, w->len);
            w->buf = NULL;
        }
        jk_crypto_hasher_update(w->hasher, p, n);
        return;
    }
    if (w->oom || n == 0)
        return;
    if (w->cap - w->len < n) {
        size_t cap = w->cap ? w->cap : 128;
        while (cap - w->len < n)
            cap *= 2;
        uint8_t *buf = realloc(w->buf, cap);
        if (!buf) {
            w->oom = true;
            return;
        }
        w->buf = buf;
        w->cap = cap;
    }
    memcpy(w->buf + w->len, p, n);
    w->len += n;
}

void jk_cap_wr_u8(jk_wr *w, uint8_t v) { jk_cap_wr_bytes(w, &v, 1); }

void jk_cap_wr_u32(jk_wr *w, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    jk_cap_wr_bytes(w, b, 4);
}

void jk_cap_wr_u64(jk_wr *w, uint64_t v)
{
    jk_cap_wr_u32(w, (uint32_t)v);
    jk_cap_wr_u32(w, (uint32_t)(v >> 32));
}

void jk_cap_hash_short(const jk_hash *h, char out[17])
{
    for (int i = 0; i < 8; i++)
        snprintf(out + 2 * i, 3, "%02x", h->bytes[i]);
}
