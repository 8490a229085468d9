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

/* Take o's hash for this thread to compute (NONE → BUSY): it then must
 * publish it (jk_obj_publish_claimed). */
static inline bool jk_obj_claim(jk_obj *o)
{
    unsigned char expect = JK_HASH_NONE;
    return atomic_compare_exchange_strong_explicit(&o->hstate, &expect, JK_HASH_BUSY,
                                                   memory_order_acquire, memory_order_relaxed);
}

static void jk_cnode_node_hash(jk_cnode_node *n, jk_hash *out);

/* Child i of n: the slot's value (height 1) or the inner node, NULL when
 * empty. */
static inline jk_obj *jk_cnode_kid(jk_cnode_node *n, int i)
{
    if (n->o.height == 1)
        return jk_cap_obj(n->u.slot[i]);
    return n->u.kid[i] ? &n->u.kid[i]->o : NULL;
}

/* The 65-byte encoding 0x05 ‖ left ‖ right of a node whose children are
 * hashed, or hashed here when another thread still holds one. */
static void jk_cnode_node_encode65(jk_cnode_node *n, uint8_t buf[1 + 2 * JK_HASH_SIZE])
{
    buf[0] = JK_CAP_TAG_CNODE_NODE;
    for (int i = 0; i < 2; i++) {
        jk_hash h;
        jk_obj *kid = jk_cnode_kid(n, i);
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
    jk_cnode_node_encode65(n, buf);
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
 * them). The batch below hashes the same records four at a time. */
#define JK_FAST_PAGE 128u
#define JK_PAGE_REC(n) (5 + (size_t)(n))
#define JK_DATA_REC (1 + 8 + JK_HASH_SIZE)

/* d's single page, NULL when d is empty; false: d is not such a Data. */
static inline bool jk_small_data_page(jk_data_body *d, jk_dnode **page)
{
    *page = d->root;
    return !d->root || (d->root->o.type == JK_OBJ_DPAGE && d->root->u.page.len <= JK_FAST_PAGE);
}

static void jk_page_rec(const jk_dnode *page, uint8_t *buf)
{
    uint32_t n = page->u.page.len;
    buf[0] = JK_CAP_TAG_DATA_PAGE;
    for (int b = 0; b < 4; b++)
        buf[1 + b] = (uint8_t)(n >> (8 * b));
    memcpy(buf + 5, page->u.page.bytes, n);
}

static void jk_data_rec(const jk_data_body *d, const jk_hash *page_hash, uint8_t rec[JK_DATA_REC])
{
    rec[0] = JK_CAP_TAG_DATA;
    for (int b = 0; b < 8; b++)
        rec[1 + b] = (uint8_t)(d->len >> (8 * b));
    memcpy(rec + 9, page_hash->bytes, JK_HASH_SIZE);
}

/* The page's hash: cached, or computed and published. */
static void jk_small_page_hash(jk_dnode *page, jk_hash *h)
{
    if (!page) {
        memset(h->bytes, 0, JK_HASH_SIZE);
    } else if (!jk_obj_hash_ready(&page->o, h)) {
        uint8_t buf[JK_PAGE_REC(JK_FAST_PAGE)];
        jk_page_rec(page, buf);
        jk_crypto_blake2b256(buf, JK_PAGE_REC(page->u.page.len), h);
        jk_cap_hash_count(0);
        jk_obj_publish(&page->o, h);
    }
}

/* false: not such a Data, nothing done. */
static bool jk_small_data_hash(jk_data_body *d, jk_hash *out)
{
    jk_dnode *page;
    if (!jk_small_data_page(d, &page))
        return false;
    jk_hash h;
    uint8_t rec[JK_DATA_REC];
    jk_small_page_hash(page, &h);
    jk_data_rec(d, &h, rec);
    jk_crypto_blake2b256(rec, sizeof rec, out);
    jk_cap_hash_count(2);
    jk_obj_publish(&d->o, out);
    return true;
}

/* ---- CNode inner nodes four at a time ----
 *
 * A block's state root hashes ~6 fresh CNode inner nodes an event (6,229
 * of the 8,223 hashes of a 1,000-transfer import, session 10), and the
 * fresh nodes of one height never depend on each other: the BLAKE2b of
 * four of them runs in one pass of the compression function
 * (jk_crypto_blake2b256_x4_short, four AVX2 lanes). jk_cnode_tree_hash gathers a
 * tree's unhashed nodes children first (post-order), claiming each (hstate
 * NONE → BUSY: the claim marks it gathered, so a node shared inside the
 * tree is taken once), then hashes them height by height, four at a time,
 * and publishes each. A node another thread holds BUSY is left to it: when
 * a parent needs its hash and it is not READY yet, the parent computes it
 * itself (jk_cnode_node_hash, uncached), as the protocol in internal.h
 * allows. The buffer is bounded (no allocation: hashing cannot fail); when
 * it fills, what it holds is hashed first, which post-order makes safe
 * (every gathered node's gathered children are before it). The buffers are
 * the thread's own, one per nesting level (a slot's value may be a CNode,
 * which gathers its own tree while its parent's batch is open), so the
 * stack bound of include/jark/cap.h holds; past JK_BATCH_LEVELS nested
 * trees hash node by node (jk_cnode_node_hash). */
#define JK_BATCH 256
#define JK_BATCH_LEVELS 4

typedef struct jk_nbatch {
    size_t n, nd;
    jk_cnode_node *v[JK_BATCH];
    jk_cnode_node *order[JK_BATCH]; /* v sorted by height (flush) */
    jk_data_body *d[JK_BATCH];      /* small Data in the slots, claimed */
    jk_dnode *pg[JK_BATCH];         /* their pages this thread claimed */
} jk_nbatch;

/* k (1..4) messages, each in its lane's zero-padded block: one call. */
static void jk_hash_lanes(uint8_t buf[4][JK_BLAKE2B_BLOCK], size_t len[4], size_t k, jk_hash out[4])
{
    if (k == 1) {
        jk_crypto_blake2b256(buf[0], len[0], &out[0]);
        return;
    }
    for (size_t i = k; i < 4; i++)
        len[i] = 0; /* unused lanes: an empty message, discarded */
    jk_crypto_blake2b256_x4_short(buf, len, out);
}

/* Publish a hash this thread claimed the object for. */
static inline void jk_obj_publish_claimed(jk_obj *o, const jk_hash *h)
{
    o->hash = *h;
    atomic_store_explicit(&o->hstate, JK_HASH_READY, memory_order_release);
}

/* The small Data the batch holds: their pages four at a time (a page
 * record longer than a block alone), then their root records, which need
 * the page hashes, four at a time. */
static void jk_nbatch_flush_data(jk_nbatch *b)
{
    size_t np = 0;
    for (size_t i = 0; i < b->nd; i++) {
        jk_dnode *page = b->d[i]->root;
        if (page && jk_obj_claim(&page->o))
            b->pg[np++] = page;
    }
    uint8_t buf[4][JK_BLAKE2B_BLOCK];
    size_t len[4];
    jk_hash out[4];
    for (size_t at = 0; at < np;) {
        size_t k = 0;
        memset(buf, 0, sizeof buf);
        while (k < 4 && at < np && JK_PAGE_REC(b->pg[at]->u.page.len) <= JK_BLAKE2B_BLOCK) {
            jk_page_rec(b->pg[at], buf[k]);
            len[k++] = JK_PAGE_REC(b->pg[at++]->u.page.len);
        }
        if (k == 0) { /* a page record of two blocks */
            uint8_t big[JK_PAGE_REC(JK_FAST_PAGE)];
            jk_page_rec(b->pg[at], big);
            jk_crypto_blake2b256(big, JK_PAGE_REC(b->pg[at]->u.page.len), &out[0]);
            k = 1;
            at++;
        } else {
            jk_hash_lanes(buf, len, k, out);
        }
        for (size_t i = 0; i < k; i++) {
            jk_obj_publish_claimed(&b->pg[at - k + i]->o, &out[i]);
            jk_cap_hash_count(0);
        }
    }
    for (size_t at = 0; at < b->nd; at += 4) {
        size_t k = b->nd - at < 4 ? b->nd - at : 4;
        memset(buf, 0, sizeof buf);
        for (size_t i = 0; i < k; i++) {
            jk_hash h;
            jk_small_page_hash(b->d[at + i]->root, &h); /* READY, or BUSY elsewhere */
            jk_data_rec(b->d[at + i], &h, buf[i]);
            len[i] = JK_DATA_REC;
        }
        jk_hash_lanes(buf, len, k, out);
        for (size_t i = 0; i < k; i++) {
            jk_obj_publish_claimed(&b->d[at + i]->o, &out[i]);
            jk_cap_hash_count(2);
        }
    }
    b->nd = 0;
}

static _Thread_local jk_nbatch jk_batches[JK_BATCH_LEVELS];
static _Thread_local int jk_batch_level;

/* Hash and publish every object the batch holds: the slots' small Data,
 * then the nodes, lowest height first. */
static void jk_nbatch_flush(jk_nbatch *b)
{
    jk_nbatch_flush_data(b);
    size_t count[18] = {0};
    for (size_t i = 0; i < b->n; i++)
        count[b->v[i]->o.height + 1]++;
    for (int h = 1; h <= 16; h++)
        count[h + 1] += count[h];
    jk_cnode_node **order = b->order;
    for (size_t i = 0; i < b->n; i++)
        order[count[b->v[i]->o.height]++] = b->v[i];
    /* count[h] is now where height h + 1 starts. */
    size_t at = 0;
    for (int h = 1; h <= 16; h++) {
        size_t end = count[h];
        while (at < end) {
            size_t k = end - at < 4 ? end - at : 4;
            /* each encoding written into its lane's zero-padded block */
            uint8_t buf[4][JK_BLAKE2B_BLOCK] = {{0}};
            size_t len[4];
            jk_hash out[4];
            for (size_t i = 0; i < k; i++) {
                jk_cnode_node_encode65(order[at + i], buf[i]);
                len[i] = 1 + 2 * JK_HASH_SIZE;
            }
            jk_hash_lanes(buf, len, k, out);
            for (size_t i = 0; i < k; i++) {
                jk_obj_publish_claimed(&order[at + i]->o, &out[i]);
                jk_cap_hash_count(1);
            }
            at += k;
        }
    }
    b->n = 0;
}

static void jk_nbatch_add(jk_nbatch *b, jk_cnode_node *n)
{
    if (b->n == JK_BATCH)
        jk_nbatch_flush(b);
    b->v[b->n++] = n;
}

/* Gather n's unhashed descendants, children first (n itself is the
 * caller's). The slots' values (height 1) are other objects: a small Data
 * is claimed and gathered too (the flush hashes those first), any other
 * is hashed here, one by one (a CNode among them gathers its own tree).
 * Recursion depth: n's height, at most 16. */
static void jk_nbatch_gather(jk_nbatch *b, jk_cnode_node *n)
{
    for (int i = 0; i < 2; i++) {
        jk_obj *kid = jk_cnode_kid(n, i);
        if (!kid || atomic_load_explicit(&kid->hstate, memory_order_acquire) != JK_HASH_NONE)
            continue;
        jk_dnode *page;
        if (n->o.height == 1 && kid->type == JK_OBJ_DATA && jk_small_data_page((jk_data_body *)kid, &page) &&
            jk_obj_claim(kid)) {
            if (b->nd == JK_BATCH)
                jk_nbatch_flush(b);
            b->d[b->nd++] = (jk_data_body *)kid;
        } else if (n->o.height == 1) {
            jk_hash ignored;
            jk_cap_obj_hash(kid, &ignored);
        } else if (jk_obj_claim(kid)) {
            jk_nbatch_gather(b, (jk_cnode_node *)kid);
            jk_nbatch_add(b, (jk_cnode_node *)kid);
        }
    }
}

/* n's hash with its unhashed descendants hashed four at a time (above);
 * n is not READY. */
static void jk_cnode_tree_hash(jk_cnode_node *n, jk_hash *out)
{
    if (jk_batch_level == JK_BATCH_LEVELS || !jk_obj_claim(&n->o)) {
        /* nested too deep, or BUSY elsewhere (or READY since) */
        if (!jk_obj_hash_ready(&n->o, out))
            jk_cnode_node_hash(n, out);
        return;
    }
    jk_nbatch *b = &jk_batches[jk_batch_level++];
    b->n = 0;
    b->nd = 0;
    jk_nbatch_gather(b, n);
    jk_nbatch_add(b, n);
    jk_nbatch_flush(b);
    jk_batch_level--;
    *out = n->o.hash;
}


void jk_cap_obj_hash(jk_obj *o, jk_hash *out)
{
    if (jk_obj_hash_ready(o, out))
        return;
    if (o->type == JK_OBJ_CNODE_NODE) {
        jk_cnode_tree_hash((jk_cnode_node *)o, out);
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
