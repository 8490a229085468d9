/*
 * data.c — Data: a byte string as a persistent merkle tree over 4 KiB pages.
 *
 * Shape: a Data of P = ceil(len / 4096) pages has no tree when P = 0, a single
 * page when P = 1, and otherwise an inner node whose left subtree holds the
 * first k pages, k the largest power of two below P, and whose right subtree
 * holds the other P − k (the shape of RFC 6962's Merkle tree hash, without
 * padding). The shape depends on P alone, so a page index maps to one path,
 * and every left subtree is a full, perfect tree. Only the last page may be
 * short; a page buffer is always 4096 bytes, 4096-aligned, zero past the
 * page's length (so the kernel can map it as is).
 *
 * Changes copy the path from the root to each changed page and share the
 * rest; a page whose new bytes equal the old is kept, hash and all. Nodes are
 * immutable, so sharing needs no copying and hashes cached in shared nodes
 * stay right.
 */
#include "internal.h"

#define PAGE ((uint64_t)JK_CAP_PAGE_SIZE)

uint32_t jk_cap_data_split(uint32_t pages)
{
    assert(pages >= 2);
    return 1u << (31 - __builtin_clz(pages - 1));
}

static uint32_t jk_pages_of(uint64_t len) { return (uint32_t)((len + PAGE - 1) / PAGE); }

/* ---- nodes ---- */

static bool jk_page_small(uint32_t len) { return len <= JK_CAP_SMALL_PAGE; }

jk_dnode *jk_cap_dnode_new_page(const uint8_t *bytes, uint32_t len)
{
    assert(len >= 1 && len <= PAGE);
    bool small = jk_page_small(len);
    /* a full-size buffer's tail past len stays zero */
    uint8_t *buf = small ? jk_cap_small_alloc(len) : jk_cap_page_zeroed();
    if (!buf)
        return NULL;
    jk_dnode *n = jk_cap_obj_alloc(sizeof *n, JK_OBJ_DPAGE);
    if (!n) {
        if (small)
            jk_cap_small_drop(buf, len);
        else
            jk_cap_page_drop(buf, 0);
        return NULL;
    }
    if (bytes)
        memcpy(buf, bytes, len);
    else if (small)
        memset(buf, 0, len);
    n->u.page.bytes = buf;
    n->u.page.len = len;
    atomic_init(&n->u.page.view, NULL);
    return n;
}

/* Page n as 4096 bytes, 4096-aligned, zero past its length: its own buffer,
 * or for a small page its view, made on first demand. Several threads may
 * ask at once: the first to publish its copy wins, the others drop theirs,
 * and every caller gets the published one. NULL when out of memory. */
static const uint8_t *jk_dnode_view(const jk_dnode *n)
{
    if (!jk_page_small(n->u.page.len))
        return n->u.page.bytes;
    _Atomic(uint8_t *) *slot = (_Atomic(uint8_t *) *)&n->u.page.view; /* a cache, as the hash is */
    uint8_t *v = atomic_load_explicit(slot, memory_order_acquire);
    if (v)
        return v;
    uint8_t *fresh = jk_cap_page_zeroed();
    if (!fresh)
        return NULL;
    memcpy(fresh, n->u.page.bytes, n->u.page.len);
    if (atomic_compare_exchange_strong_explicit(slot, &v, fresh, memory_order_acq_rel, memory_order_acquire))
        return fresh;
    jk_cap_page_drop(fresh, n->u.page.len);
    return v;
}

jk_dnode *jk_cap_dnode_new_inner(jk_dnode *left, jk_dnode *right)
{
    jk_dnode *n = jk_cap_obj_alloc(sizeof *n, JK_OBJ_DNODE);
    if (!n)
        return NULL;
    jk_cap_obj_retain(&left->o);
    jk_cap_obj_retain(&right->o);
    n->u.in.left = left;
    n->u.in.right = right;
    return n;
}

/* An inner node over left and right, CONSUMING both references (released
 * also when the allocation fails, which returns NULL). NULL children (a
 * failed sub-build) give NULL. */
static jk_dnode *jk_dnode_join(jk_dnode *left, jk_dnode *right)
{
    jk_dnode *n = left && right ? jk_cap_dnode_new_inner(left, right) : NULL;
    if (left)
        jk_cap_obj_release(&left->o);
    if (right)
        jk_cap_obj_release(&right->o);
    return n;
}

static jk_dnode *jk_dnode_ref(jk_dnode *n)
{
    jk_cap_obj_retain(&n->o);
    return n;
}

void jk_cap_dpage_free(jk_dnode *n)
{
    uint32_t len = n->u.page.len;
    if (jk_page_small(len)) {
        jk_cap_small_drop(n->u.page.bytes, len);
        jk_cap_page_drop(atomic_load_explicit(&n->u.page.view, memory_order_acquire), len);
    } else {
        jk_cap_page_drop(n->u.page.bytes, len); /* only [0, len) was written */
    }
}

void jk_cap_dnode_encode(jk_dnode *n, jk_wr *w)
{
    if (n->o.type == JK_OBJ_DPAGE) {
        jk_cap_wr_u8(w, JK_CAP_TAG_DATA_PAGE);
        jk_cap_wr_u32(w, n->u.page.len);
        jk_cap_wr_bytes(w, n->u.page.bytes, n->u.page.len);
    } else {
        jk_hash l, r;
        jk_cap_obj_hash(&n->u.in.left->o, &l);
        jk_cap_obj_hash(&n->u.in.right->o, &r);
        jk_cap_wr_u8(w, JK_CAP_TAG_DATA_NODE);
        jk_cap_wr_bytes(w, l.bytes, JK_HASH_SIZE);
        jk_cap_wr_bytes(w, r.bytes, JK_HASH_SIZE);
    }
}

/* ---- bodies ---- */

jk_err jk_cap_data_from_root(uint64_t len, jk_dnode *root, jk_cap *out)
{
    jk_data_body *d = jk_cap_obj_alloc(sizeof *d, JK_OBJ_DATA);
    if (!d)
        return JK_ERR_NOMEM;
    d->o.depth = 1;
    d->len = len;
    d->root = root;
    if (root)
        jk_cap_obj_retain(&root->o);
    *out = jk_cap_of(JK_CAP_DATA, d);
    return JK_OK;
}

/* Wrap a freshly built root (CONSUMED) into a Data. */
static jk_err jk_data_wrap(uint64_t len, jk_dnode *root, jk_cap *out)
{
    if (len > 0 && !root)
        return JK_ERR_NOMEM;
    jk_err err = jk_cap_data_from_root(len, root, out);
    if (root)
        jk_cap_obj_release(&root->o);
    return err;
}

void jk_cap_data_encode(jk_data_body *d, jk_wr *w)
{
    jk_hash root = {{0}};
    if (d->root)
        jk_cap_obj_hash(&d->root->o, &root);
    jk_cap_wr_u8(w, JK_CAP_TAG_DATA);
    jk_cap_wr_u64(w, d->len);
    jk_cap_wr_bytes(w, root.bytes, JK_HASH_SIZE);
}

/* ---- construction ---- */

/* The tree over `pages` pages of bytes[0..len) (len > 4096·(pages−1)). */
static jk_dnode *jk_data_build(const uint8_t *bytes, uint64_t len, uint32_t pages)
{
    if (pages == 1)
        return jk_cap_dnode_new_page(bytes, (uint32_t)len);
    uint32_t k = jk_cap_data_split(pages);
    jk_dnode *left = jk_data_build(bytes, k * PAGE, k);
    if (!left)
        return NULL;
    jk_dnode *right = jk_data_build(bytes + k * PAGE, len - k * PAGE, pages - k);
    return jk_dnode_join(left, right);
}

jk_err jk_cap_data_new(const void *bytes, size_t len, jk_cap *out)
{
    if (len > JK_CAP_DATA_MAX_LEN)
        return JK_ERR_CAP_TOO_LARGE;
    if (len - 1 < PAGE) {
        /* one page (most Data a block makes: ledger records, blobs,
         * endpoints; ~5,000 a 1,000-transfer block): the body takes the
         * page's reference, no retain and release of it (session 10) */
        jk_dnode *page = jk_cap_dnode_new_page(bytes, (uint32_t)len);
        jk_data_body *d = page ? jk_cap_obj_alloc(sizeof *d, JK_OBJ_DATA) : NULL;
        if (!d) {
            if (page)
                jk_cap_obj_release(&page->o);
            return JK_ERR_NOMEM;
        }
        d->o.depth = 1;
        d->len = len;
        d->root = page;
        *out = jk_cap_of(JK_CAP_DATA, d);
        return JK_OK;
    }
    jk_dnode *root = len ? jk_data_build(bytes, len, jk_pages_of(len)) : NULL;
    return jk_data_wrap(len, root, out);
}

/* Zero tree of `pages` pages whose last page holds `last` bytes; full[j] is
 * the perfect all-zero tree of 2^j full pages, shared by every use. */
static jk_dnode *jk_data_build_zero(uint32_t pages, uint32_t last, jk_dnode **full)
{
    if (last == PAGE && (pages & (pages - 1)) == 0)
        return jk_dnode_ref(full[__builtin_ctz(pages)]);
    if (pages == 1)
        return jk_cap_dnode_new_page(NULL, last);
    uint32_t k = jk_cap_data_split(pages);
    jk_dnode *right = jk_data_build_zero(pages - k, last, full);
    if (!right)
        return NULL;
    return jk_dnode_join(jk_dnode_ref(full[__builtin_ctz(k)]), right);
}

jk_err jk_cap_data_new_zeroed(size_t len, jk_cap *out)
{
    if (len > JK_CAP_DATA_MAX_LEN)
        return JK_ERR_CAP_TOO_LARGE;
    if (len == 0)
        return jk_cap_data_from_root(0, NULL, out);
    jk_dnode *full[32] = {NULL};
    uint32_t pages = jk_pages_of(len);
    uint32_t last = (uint32_t)(len - (uint64_t)(pages - 1) * PAGE);
    int levels = 32 - __builtin_clz(pages); /* full[0 .. floor(log2 pages)] */
    jk_dnode *root = NULL;
    full[0] = jk_cap_dnode_new_page(NULL, JK_CAP_PAGE_SIZE);
    for (int j = 1; j < levels && full[j - 1]; j++)
        full[j] = jk_cap_dnode_new_inner(full[j - 1], full[j - 1]);
    if (full[levels - 1])
        root = jk_data_build_zero(pages, last, full);
    for (int j = 0; j < levels; j++)
        if (full[j])
            jk_cap_obj_release(&full[j]->o);
    return jk_data_wrap(len, root, out);
}

/* ---- reading ---- */

uint64_t jk_cap_data_len(jk_cap data)
{
    return data.kind == JK_CAP_DATA ? jk_data_of(data)->len : 0;
}

const uint8_t *jk_cap_data_flat(jk_cap data)
{
    if (data.kind != JK_CAP_DATA)
        return NULL;
    const jk_data_body *d = jk_data_of(data);
    /* one page: the root is the page node itself */
    return d->len - 1 < PAGE && d->root->o.type == JK_OBJ_DPAGE ? d->root->u.page.bytes : NULL;
}

uint32_t jk_cap_data_page_count(jk_cap data) { return jk_pages_of(jk_cap_data_len(data)); }

static bool jk_data_range_ok(jk_cap data, uint64_t offset, uint64_t len)
{
    uint64_t dlen = jk_data_of(data)->len;
    return offset <= dlen && len <= dlen - offset;
}

/* Copy [off, end) ∩ subtree into dst (dst corresponds to off); the subtree
 * holds `pages` pages starting at byte `base`. */
static void jk_data_read_rec(const jk_dnode *n, uint32_t pages, uint64_t base,
                             uint64_t off, uint64_t end, uint8_t *dst)
{
    if (pages == 1) {
        uint64_t lo = off > base ? off : base;
        uint64_t hi = base + n->u.page.len < end ? base + n->u.page.len : end;
        memcpy(dst + (lo - off), n->u.page.bytes + (lo - base), hi - lo);
        return;
    }
    uint32_t k = jk_cap_data_split(pages);
    uint64_t mid = base + k * PAGE;
    if (off < mid)
        jk_data_read_rec(n->u.in.left, k, base, off, end, dst);
    if (end > mid)
        jk_data_read_rec(n->u.in.right, pages - k, mid, off, end, dst);
}

jk_err jk_cap_data_read(jk_cap data, uint64_t offset, void *dst, size_t len)
{
    if (data.kind != JK_CAP_DATA)
        return JK_ERR_CAP_KIND;
    if (!jk_data_range_ok(data, offset, len))
        return JK_ERR_CAP_RANGE;
    if (len) {
        const jk_data_body *d = jk_data_of(data);
        jk_data_read_rec(d->root, jk_pages_of(d->len), 0, offset, offset + len, dst);
    }
    return JK_OK;
}

/* The page node holding page i < pages of d: a loop down the tree. A
 * node's left part holds a power of two of pages, so it is a complete tree:
 * once i is in a left part, the way down is i's bits from the top, with no
 * split to compute a level (a DATA_READ of a large Data walks ~8 levels). */
static const jk_dnode *jk_data_page_node(const jk_data_body *d, uint32_t pages, uint32_t i)
{
    const jk_dnode *n = d->root;
    while (pages > 1) {
        uint32_t k = jk_cap_data_split(pages);
        if (i < k) {
            n = n->u.in.left;
            for (uint32_t bit = k >> 1; bit; bit >>= 1)
                n = (i & bit) ? n->u.in.right : n->u.in.left;
            return n;
        }
        n = n->u.in.right;
        i -= k;
        pages -= k;
    }
    return n;
}

/* ---- the page index (session 12) ----
 * A lookup of page i walks log2(pages) dependent loads down the tree, then
 * one more for the page's node: 8 for
 * the demo's genesis ledger at 8,192 accounts (96 pages), which the transfer
 * program binary-searches, ~13 page reads an account, ~26 an event, each a
 * walk through nodes no other work keeps in the cache. A Data read that
 * often gets an index: page i's bytes at index[i], one load. Made by the
 * lookup that finds the body's read count past JK_DATA_INDEX_READS(pages),
 * so its O(pages) making is paid for by as many reads over 16 (a Data made,
 * read once and dropped — a write's result — never gets one), and only for
 * JK_DATA_INDEX_PAGES pages or more (below, the walk is three loads or
 * fewer). The body is immutable, so the index never changes once made; two
 * threads that make one at once race on one compare-and-swap, the loser frees
 * its own. The count is a relaxed load and store, not an atomic add: a lost
 * count only delays the index (it decides nothing but speed), and a read
 * after the index exists writes nothing to the shared body. */
#define JK_DATA_INDEX_PAGES 8u
#define JK_DATA_INDEX_READS(pages) (16u + (pages) / 16u)

/* index[0 .. pages): the bytes of the pages of subtree n, in order. */
static void jk_data_index_fill(jk_dnode *n, uint32_t pages, uint8_t **index)
{
    while (pages > 1) {
        uint32_t k = jk_cap_data_split(pages);
        jk_data_index_fill(n->u.in.left, k, index);
        n = n->u.in.right;
        index += k;
        pages -= k;
    }
    *index = n->u.page.bytes;
}

/* d's lookup of page i once the index is not made (pages ≥
 * JK_DATA_INDEX_PAGES): count it, make the index when the count is past
 * the bound, else walk. */
static __attribute__((noinline)) const uint8_t *jk_data_page_counted(const jk_data_body *d, uint32_t pages,
                                                                    uint32_t i)
{
    jk_data_body *body = (jk_data_body *)d; /* the index is a cache, as the hash is */
    unsigned reads = atomic_load_explicit(&body->reads, memory_order_relaxed);
    if (reads < JK_DATA_INDEX_READS(pages)) {
        atomic_store_explicit(&body->reads, reads + 1, memory_order_relaxed);
        return jk_data_page_node(d, pages, i)->u.page.bytes;
    }
    uint8_t **index = malloc((size_t)pages * sizeof *index);
    if (!index) /* out of memory: the walk, as before */
        return jk_data_page_node(d, pages, i)->u.page.bytes;
    jk_data_index_fill(body->root, pages, index);
    uint8_t **none = NULL;
    if (!atomic_compare_exchange_strong_explicit(&body->index, &none, index, memory_order_acq_rel,
                                                 memory_order_acquire)) {
        free(index); /* another thread's is there: the same pages */
        index = none;
    }
    return index[i];
}

/* The bytes of page i (< pages) of d: through its index when it has one
 * (its entries are the pages' bytes, not their nodes: one dependent load
 * fewer, the node's line, a miss of its own in a large Data). */
static inline const uint8_t *jk_data_page_bytes(const jk_data_body *d, uint32_t pages, uint32_t i)
{
    if (pages < JK_DATA_INDEX_PAGES)
        return jk_data_page_node(d, pages, i)->u.page.bytes;
    uint8_t **index = atomic_load_explicit(&((jk_data_body *)d)->index, memory_order_acquire);
    return index ? index[i] : jk_data_page_counted(d, pages, i);
}

void jk_cap_data_index_free(jk_data_body *d)
{
    free(atomic_load_explicit(&d->index, memory_order_relaxed));
}

bool jk_cap_data_indexed(jk_cap data)
{
    return data.kind == JK_CAP_DATA && atomic_load_explicit(&jk_data_of(data)->index, memory_order_acquire);
}

const uint8_t *jk_cap_data_page(jk_cap data, uint32_t i)
{
    if (data.kind != JK_CAP_DATA)
        return NULL;
    const jk_data_body *d = jk_data_of(data);
    uint32_t pages = jk_pages_of(d->len);
    if (i >= pages)
        return NULL;
    if (i + 1 < pages) /* a page before the last is full: its bytes are its 4 KiB buffer */
        return jk_data_page_bytes(d, pages, i);
    return jk_dnode_view(jk_data_page_node(d, pages, i));
}

/* Pages [lo, hi) ∩ subtree (pages numbered from `first`) into out[p − lo]. */
static void jk_data_pages_rec(const jk_dnode *n, uint32_t pages, uint32_t first,
                              uint32_t lo, uint32_t hi, const uint8_t **out)
{
    if (pages == 1) {
        out[first - lo] = n->u.page.bytes;
        return;
    }
    uint32_t k = jk_cap_data_split(pages);
    if (lo < first + k)
        jk_data_pages_rec(n->u.in.left, k, first, lo, hi, out);
    if (hi > first + k)
        jk_data_pages_rec(n->u.in.right, pages - k, first + k, lo, hi, out);
}

jk_err jk_cap_data_spans(jk_cap data, uint32_t first, uint32_t count,
                         const uint8_t **out)
{
    if (data.kind != JK_CAP_DATA)
        return JK_ERR_CAP_KIND;
    const jk_data_body *d = jk_data_of(data);
    uint32_t pages = jk_pages_of(d->len);
    if (first > pages || count > pages - first)
        return JK_ERR_CAP_RANGE;
    if (count == 1) /* DATA_READ of a record, most reads: not the recursion over ranges (issue 16) */
        out[0] = jk_data_page_bytes(d, pages, first);
    else if (count)
        jk_data_pages_rec(d->root, pages, 0, first, first + count, out);
    return JK_OK;
}

jk_err jk_cap_data_pages(jk_cap data, uint32_t first, uint32_t count,
                         const uint8_t **out)
{
    jk_err err = jk_cap_data_spans(data, first, count, out);
    if (err != JK_OK || !count)
        return err;
    /* Only the last page can be small: give its 4 KiB view. */
    uint32_t pages = jk_pages_of(jk_data_of(data)->len);
    if (first + count == pages && !(out[count - 1] = jk_cap_data_page(data, pages - 1)))
        return JK_ERR_NOMEM;
    return JK_OK;
}

/* ---- changing (path copy) ---- */

/* A page like n with [off, end) ∩ page overwritten from src (src corresponds
 * to off); n itself (a new reference) when nothing changes. */
static jk_dnode *jk_data_write_page(jk_dnode *n, uint64_t base, uint64_t off,
                                    uint64_t end, const uint8_t *src)
{
    uint32_t len = n->u.page.len;
    uint64_t lo = off > base ? off : base;
    uint64_t hi = base + len < end ? base + len : end;
    if (memcmp(n->u.page.bytes + (lo - base), src + (lo - off), hi - lo) == 0)
        return jk_dnode_ref(n);
    jk_dnode *copy = jk_cap_dnode_new_page(n->u.page.bytes, len);
    if (copy) /* not yet shared: ours to fill */
        memcpy(copy->u.page.bytes + (lo - base), src + (lo - off), hi - lo);
    return copy;
}

/* Rebuild an inner node from new children (CONSUMED); the old node itself
 * when both are unchanged, so its cached hash survives. */
static jk_dnode *jk_data_rejoin(jk_dnode *n, jk_dnode *left, jk_dnode *right)
{
    if (left == n->u.in.left && right == n->u.in.right) {
        jk_cap_obj_release(&left->o);
        jk_cap_obj_release(&right->o);
        return jk_dnode_ref(n);
    }
    return jk_dnode_join(left, right);
}

static jk_dnode *jk_data_write_rec(jk_dnode *n, uint32_t pages, uint64_t base,
                                   uint64_t off, uint64_t end, const uint8_t *src)
{
    if (pages == 1)
        return jk_data_write_page(n, base, off, end, src);
    uint32_t k = jk_cap_data_split(pages);
    uint64_t mid = base + k * PAGE;
    jk_dnode *left = off < mid ? jk_data_write_rec(n->u.in.left, k, base, off, end, src)
                               : jk_dnode_ref(n->u.in.left);
    if (!left)
        return NULL;
    jk_dnode *right = end > mid
                          ? jk_data_write_rec(n->u.in.right, pages - k, mid, off, end, src)
                          : jk_dnode_ref(n->u.in.right);
    if (!right) {
        jk_cap_obj_release(&left->o);
        return NULL;
    }
    return jk_data_rejoin(n, left, right);
}

jk_err jk_cap_data_write(jk_cap data, uint64_t offset, const void *src,
                         size_t len, jk_cap *out)
{
    if (data.kind != JK_CAP_DATA)
        return JK_ERR_CAP_KIND;
    if (!jk_data_range_ok(data, offset, len))
        return JK_ERR_CAP_RANGE;
    const jk_data_body *d = jk_data_of(data);
    if (len == 0) {
        *out = jk_cap_retain(data);
        return JK_OK;
    }
    jk_dnode *root = jk_data_write_rec(d->root, jk_pages_of(d->len), 0, offset,
                                       offset + len, src);
    if (root == d->root) { /* nothing changed: the same value */
        jk_cap_obj_release(&root->o);
        *out = jk_cap_retain(data);
        return JK_OK;
    }
    return jk_data_wrap(d->len, root, out);
}

static jk_dnode *jk_data_replace_rec(jk_dnode *n, uint32_t pages, uint32_t first,
                                     const uint32_t *index,
                                     const uint8_t *const *src, size_t count)
{
    if (count == 0)
        return jk_dnode_ref(n);
    if (pages == 1) {
        if (memcmp(n->u.page.bytes, src[0], n->u.page.len) == 0)
            return jk_dnode_ref(n);
        return jk_cap_dnode_new_page(src[0], n->u.page.len);
    }
    uint32_t k = jk_cap_data_split(pages);
    size_t lo = 0, hi = count; /* first j with index[j] >= first + k */
    while (lo < hi) {
        size_t m = lo + (hi - lo) / 2;
        if (index[m] < first + k)
            lo = m + 1;
        else
            hi = m;
    }
    jk_dnode *left = jk_data_replace_rec(n->u.in.left, k, first, index, src, lo);
    if (!left)
        return NULL;
    jk_dnode *right = jk_data_replace_rec(n->u.in.right, pages - k, first + k,
                                          index + lo, src + lo, count - lo);
    if (!right) {
        jk_cap_obj_release(&left->o);
        return NULL;
    }
    return jk_data_rejoin(n, left, right);
}

jk_err jk_cap_data_replace_pages(jk_cap data, const uint32_t *index,
                                 const uint8_t *const *pages, size_t count,
                                 jk_cap *out)
{
    if (data.kind != JK_CAP_DATA)
        return JK_ERR_CAP_KIND;
    const jk_data_body *d = jk_data_of(data);
    uint32_t npages = jk_pages_of(d->len);
    for (size_t j = 0; j < count; j++)
        if (index[j] >= npages || (j > 0 && index[j] <= index[j - 1]))
            return JK_ERR_CAP_RANGE;
    if (count == 0) {
        *out = jk_cap_retain(data);
        return JK_OK;
    }
    jk_dnode *root = jk_data_replace_rec(d->root, npages, 0, index, pages, count);
    if (root == d->root) {
        jk_cap_obj_release(&root->o);
        *out = jk_cap_retain(data);
        return JK_OK;
    }
    return jk_data_wrap(d->len, root, out);
}
