/*
 * load.c — rebuild a value from its objects (jk_cap_load, and the store's
 * grouped layouts 2 and 3: jk_cap_load_grouped). Sending a value's objects
 * somewhere is export.c.
 *
 * Loading is eager and strict. Each object is fetched once, re-hashed (its
 * bytes must hash to its name), parsed (decode.c), and its children are
 * loaded with the shape its position requires: the tree of a Data of P pages
 * has exactly the shape data.c builds, every page full except the last, which
 * holds len − 4096·(P−1) bytes; a CNode's tree has height k. Values are then
 * built with the ordinary constructors, so everything a constructor checks
 * (Image validation, Instance invariants, the nesting bound) holds for a
 * loaded value too. Each root record must re-encode to exactly its bytes,
 * which rules out any non-canonical encoding the parser let through. Hashes
 * are taken from the verified names, so a loaded value is never re-hashed.
 *
 * A memo keyed by (hash, expected shape) builds each shared subtree once: a
 * 1 GiB Data of identical pages stored as 19 objects loads as 19 nodes.
 * Recursion is bounded by the tree heights (≤ 18 for Data, ≤ 16 for CNodes)
 * times the nesting bound JK_CAP_MAX_DEPTH, which is checked before
 * descending.
 */
#include "internal.h"

typedef struct jk_memo_ent {
    jk_hash h;
    uint64_t ctx;
    jk_obj *o;      /* a reference the memo owns */
} jk_memo_ent;

typedef struct jk_loader {
    const jk_cap_source *src;
    bool grouped;               /* CNode nodes come in group records (store) */
    jk_diag *diag;
    jk_memo_ent *tab;
    size_t cap, count;
} jk_loader;

#define JK_CTX_ROOT 0ull
#define JK_CTX_DATA(pages, last) (1ull << 40 | (uint64_t)(pages) << 13 | (last))
#define JK_CTX_CNODE(height) (2ull << 40 | (height))

static size_t jk_memo_slot(const jk_loader *L, const jk_hash *h, uint64_t ctx)
{
    uint64_t k = jk_rd_u64(h->bytes) ^ (ctx * 0x9E3779B97F4A7C15ull);
    return (size_t)(k ^ k >> 29) & (L->cap - 1);
}

static jk_obj *jk_memo_find(const jk_loader *L, const jk_hash *h, uint64_t ctx)
{
    if (!L->cap)
        return NULL;
    for (size_t i = jk_memo_slot(L, h, ctx);; i = (i + 1) & (L->cap - 1)) {
        const jk_memo_ent *e = &L->tab[i];
        if (!e->o)
            return NULL;
        if (e->ctx == ctx && memcmp(e->h.bytes, h->bytes, JK_HASH_SIZE) == 0)
            return e->o;
    }
}

static void jk_memo_insert(jk_loader *L, const jk_hash *h, uint64_t ctx, jk_obj *o)
{
    size_t i = jk_memo_slot(L, h, ctx);
    while (L->tab[i].o)
        i = (i + 1) & (L->cap - 1);
    L->tab[i].h = *h;
    L->tab[i].ctx = ctx;
    L->tab[i].o = o;
    L->count++;
}

/* Remember o, just built for h, under (h, ctx): the memo takes a reference
 * of its own. On failure the caller's reference is released, so every
 * builder ends the same way: keep the node, or lose it and fail. */
static jk_err jk_memo_add(jk_loader *L, const jk_hash *h, uint64_t ctx, jk_obj *o)
{
    if (2 * (L->count + 1) > L->cap) {
        jk_loader bigger = *L;
        bigger.cap = L->cap ? 2 * L->cap : 64;
        bigger.count = 0;
        bigger.tab = calloc(bigger.cap, sizeof *bigger.tab);
        if (!bigger.tab) {
            jk_cap_obj_release(o);
            return JK_ERR_NOMEM;
        }
        for (size_t i = 0; i < L->cap; i++)
            if (L->tab[i].o)
                jk_memo_insert(&bigger, &L->tab[i].h, L->tab[i].ctx, L->tab[i].o);
        free(L->tab);
        *L = bigger;
    }
    jk_cap_obj_retain(o);
    jk_memo_insert(L, h, ctx, o);
    return JK_OK;
}

/* The memo's object for (h, ctx) with a new reference for the caller, or
 * NULL when it has none. */
static jk_obj *jk_memo_take(const jk_loader *L, const jk_hash *h, uint64_t ctx)
{
    jk_obj *hit = jk_memo_find(L, h, ctx);
    if (hit)
        jk_cap_obj_retain(hit);
    return hit;
}

static jk_cap_kind jk_kind_of_type(uint8_t type)
{
    switch (type) {
    case JK_OBJ_DATA: return JK_CAP_DATA;
    case JK_OBJ_CNODE: return JK_CAP_CNODE;
    case JK_OBJ_IMAGE: return JK_CAP_IMAGE;
    case JK_OBJ_INSTANCE: return JK_CAP_INSTANCE;
    }
    return JK_CAP_NONE;
}

/* Fetch, verify and parse the object named h; its whole record in *bytes,
 * *len. */
static jk_err jk_fetch(jk_loader *L, const jk_hash *h, jk_obj_view *v, const uint8_t **bytes,
                       size_t *len)
{
    char name[17], got_name[17];
    jk_hash got;
    jk_cap_hash_short(h, name);
    jk_err err = L->src->get(L->src->ctx, h, bytes, len);
    if (err != JK_OK)
        return jk_diag_set(L->diag, err, "object %s: %s", name, jk_strerror(err));
    jk_crypto_blake2b256(*bytes, *len, &got);
    atomic_fetch_add_explicit(&jk_cap_stat_verify, 1, memory_order_relaxed);
    if (memcmp(got.bytes, h->bytes, JK_HASH_SIZE) != 0) {
        jk_cap_hash_short(&got, got_name);
        return jk_diag_set(L->diag, JK_ERR_CAP_CORRUPT, "object %s: its bytes hash to %s",
                           name, got_name);
    }
    return jk_cap_obj_parse(*bytes, *len, v, L->diag);
}

/* The start of loading the tree node h in the shape ctx: the memo's node
 * when it has one (*hit, a new reference; nothing is fetched), else NULL in
 * *hit and the object fetched, verified and parsed into *v. */
static jk_err jk_fetch_node(jk_loader *L, const jk_hash *h, uint64_t ctx, jk_obj **hit, jk_obj_view *v)
{
    const uint8_t *bytes;
    size_t len;
    if ((*hit = jk_memo_take(L, h, ctx)))
        return JK_OK;
    return jk_fetch(L, h, v, &bytes, &len);
}

static jk_err jk_wrong(jk_loader *L, const jk_hash *h, uint8_t tag, const char *want)
{
    char name[17];
    jk_cap_hash_short(h, name);
    return jk_diag_set(L->diag, JK_ERR_CAP_DECODE,
                       "object %s: tag 0x%02x where %s is expected", name, tag, want);
}

static jk_err jk_load_cap(jk_loader *L, const jk_hash *h, unsigned nest, jk_cap *out);

/* The Data subtree of `pages` pages, the last of `last` bytes. */
static jk_err jk_load_dtree(jk_loader *L, const jk_hash *h, uint32_t pages, uint32_t last,
                           jk_dnode **out)
{
    uint64_t ctx = JK_CTX_DATA(pages, last);
    jk_obj *hit;
    jk_obj_view v;
    jk_err err = jk_fetch_node(L, h, ctx, &hit, &v);
    if (hit)
        *out = (jk_dnode *)hit;
    if (err != JK_OK || hit)
        return err;
    jk_dnode *n;
    if (pages == 1) {
        if (v.tag != JK_CAP_TAG_DATA_PAGE || v.len != last) {
            char name[17];
            jk_cap_hash_short(h, name);
            return jk_diag_set(L->diag, JK_ERR_CAP_DECODE,
                               "object %s: expected a data page of %u bytes", name, last);
        }
        if (!(n = jk_cap_dnode_new_page(v.bytes, last)))
            return JK_ERR_NOMEM;
    } else {
        if (v.tag != JK_CAP_TAG_DATA_NODE)
            return jk_wrong(L, h, v.tag, "a data node");
        uint32_t k = jk_cap_data_split(pages);
        jk_dnode *left, *right;
        jk_hash rh = v.b;
        if ((err = jk_load_dtree(L, &v.a, k, JK_CAP_PAGE_SIZE, &left)) != JK_OK)
            return err;
        if ((err = jk_load_dtree(L, &rh, pages - k, last, &right)) != JK_OK) {
            jk_cap_obj_release(&left->o);
            return err;
        }
        n = jk_cap_dnode_new_inner(left, right);
        jk_cap_obj_release(&left->o);
        jk_cap_obj_release(&right->o);
        if (!n)
            return JK_ERR_NOMEM;
    }
    jk_cap_obj_set_hash(&n->o, h);
    if ((err = jk_memo_add(L, h, ctx, &n->o)) == JK_OK)
        *out = n;
    return err;
}

static jk_err jk_load_group(jk_loader *L, const jk_hash *h, unsigned height, unsigned nest,
                            jk_cnode_node **out);

/* A height-1 node over the two slots named (zero: empty). */
static jk_err jk_node_of_slots(jk_loader *L, const jk_hash kid_hash[2], unsigned nest, jk_cnode_node **n)
{
    jk_err err = JK_OK;
    jk_cap s[2] = {jk_cap_null(), jk_cap_null()};
    for (int i = 0; i < 2 && err == JK_OK; i++)
        if (!jk_hash_is_zero(&kid_hash[i]))
            err = jk_load_cap(L, &kid_hash[i], nest, &s[i]);
    if (err == JK_OK && !(*n = jk_cap_cnode_node_new_slots(s[0], s[1])))
        err = JK_ERR_NOMEM;
    jk_cap_release(s[0]);
    jk_cap_release(s[1]);
    return err;
}

/* A node of `height` over the kids loaded (err: how their loading went);
 * the kids' references are given up either way. */
static jk_err jk_node_of_kids(jk_err err, unsigned height, jk_cnode_node *k[2], jk_cnode_node **n)
{
    if (err == JK_OK && !(*n = jk_cap_cnode_node_new_kids((uint8_t)height, k[0], k[1])))
        err = JK_ERR_NOMEM;
    for (int i = 0; i < 2; i++)
        if (k[i])
            jk_cap_obj_release(&k[i]->o);
    return err;
}

/* A CNode subtree of height `height` whose slots sit at nesting `nest`. */
static jk_err jk_load_ctree(jk_loader *L, const jk_hash *h, unsigned height, unsigned nest,
                            jk_cnode_node **out)
{
    if (L->grouped)
        return jk_load_group(L, h, height, nest, out);
    uint64_t ctx = JK_CTX_CNODE(height);
    jk_obj *hit;
    jk_obj_view v;
    jk_err err = jk_fetch_node(L, h, ctx, &hit, &v);
    if (hit)
        *out = (jk_cnode_node *)hit;
    if (err != JK_OK || hit)
        return err;
    if (v.tag != JK_CAP_TAG_CNODE_NODE)
        return jk_wrong(L, h, v.tag, "a cnode node");
    jk_hash kid_hash[2] = {v.a, v.b};
    jk_cnode_node *n = NULL;
    if (height == 1) {
        err = jk_node_of_slots(L, kid_hash, nest, &n);
    } else {
        jk_cnode_node *k[2] = {NULL, NULL};
        for (int i = 0; i < 2 && err == JK_OK; i++)
            if (!jk_hash_is_zero(&kid_hash[i]))
                err = jk_load_ctree(L, &kid_hash[i], height - 1, nest, &k[i]);
        err = jk_node_of_kids(err, height, k, &n);
    }
    if (err != JK_OK)
        return err;
    jk_cap_obj_set_hash(&n->o, h);
    if ((err = jk_memo_add(L, h, ctx, &n->o)) == JK_OK)
        *out = n;
    return err;
}

/* ---- CNode groups (the store's layout 2; docs/cap.md "Store: CNode groups") ----
 *
 * A group record holds the CNode inner nodes of JK_CAP_GROUP_LEVELS levels
 * under one top node, keyed by the top's hash: a node is a top when it is
 * a CNode's root or its height is a multiple of JK_CAP_GROUP_LEVELS, and
 * its group holds the nodes from its height down to jk_cap_group_bottom +
 * 1. Value: JK_CAP_GROUP_TAG ‖ top height u8 ‖ the nodes in pre-order,
 * each its children's hashes a ‖ b (64 bytes; a zero hash: an empty
 * subtree, no node follows for it). A node just above the bottom names
 * tops of the next groups (or, at height 1, slots: root records). Each
 * node's hash is its object's, BLAKE2b-256(0x05 ‖ a ‖ b): the hashes, and
 * so every root, are those of the one-record-per-node layout. */

typedef struct jk_group_rd {
    const uint8_t *p;
    size_t len, pos;
    const jk_hash *top;         /* the record's key, for messages */
    bool forms;                 /* layout 3 (JK_CAP_GROUP3_TAG): a form byte
                                   per slot a height-1 node names */
} jk_group_rd;

static jk_err jk_group_bad(jk_loader *L, const jk_group_rd *r, jk_err err, const char *why)
{
    char name[17];
    jk_cap_hash_short(r->top, name);
    return jk_diag_set(L->diag, err, "cnode group %s: %s", name, why);
}

/* A Data held inside a group record (layout 3), at r's position after its
 * form byte: len u16 LE (1..JK_CAP_INLINE_MAX) ‖ its bytes. Its page and
 * root record are hashed here, and the root must be the name the node
 * gives the slot (*expect), as for a record of its own. */
static jk_err jk_group_inline(jk_loader *L, jk_group_rd *r, const jk_hash *expect, unsigned nest, jk_cap *out)
{
    if (nest > JK_CAP_MAX_DEPTH)
        return jk_diag_set(L->diag, JK_ERR_CAP_TOO_DEEP, "caps nested deeper than %u", JK_CAP_MAX_DEPTH);
    if (r->len - r->pos < 2)
        return jk_group_bad(L, r, JK_ERR_CAP_DECODE, "cut short in a held Data");
    uint32_t n = (uint32_t)r->p[r->pos] | (uint32_t)r->p[r->pos + 1] << 8;
    r->pos += 2;
    if (n == 0 || n > JK_CAP_INLINE_MAX)
        return jk_group_bad(L, r, JK_ERR_CAP_DECODE, "a held Data's length is out of range");
    if (r->len - r->pos < n)
        return jk_group_bad(L, r, JK_ERR_CAP_DECODE, "cut short in a held Data");
    jk_dnode *page = jk_cap_dnode_new_page(r->p + r->pos, n);
    r->pos += n;
    if (!page)
        return JK_ERR_NOMEM;
    jk_err err = jk_cap_data_from_root(n, page, out);
    jk_cap_obj_release(&page->o);
    if (err != JK_OK)
        return err;
    jk_hash got;
    jk_cap_hash(*out, &got); /* the page, then the root record */
    atomic_fetch_add_explicit(&jk_cap_stat_verify, 1, memory_order_relaxed);
    if (memcmp(got.bytes, expect->bytes, JK_HASH_SIZE) != 0) {
        jk_cap_release(*out);
        *out = jk_cap_null();
        return jk_group_bad(L, r, JK_ERR_CAP_CORRUPT, "a held Data does not hash to the name its node gives it");
    }
    return JK_OK;
}

/* The two slots a height-1 node names (zero: empty); in layout 3 each
 * non-empty one is preceded by its form: JK_CAP_FORM_RECORD (a record of
 * its own) or JK_CAP_FORM_DATA (a Data held here). */
static jk_err jk_group_slots(jk_loader *L, jk_group_rd *r, const jk_hash kid_hash[2], unsigned nest,
                             jk_cnode_node **n)
{
    if (!r->forms)
        return jk_node_of_slots(L, kid_hash, nest, n);
    jk_err err = JK_OK;
    jk_cap s[2] = {jk_cap_null(), jk_cap_null()};
    for (int i = 0; i < 2 && err == JK_OK; i++) {
        if (jk_hash_is_zero(&kid_hash[i]))
            continue;
        if (r->pos == r->len) {
            err = jk_group_bad(L, r, JK_ERR_CAP_DECODE, "cut short before a slot's form");
            break;
        }
        uint8_t form = r->p[r->pos++];
        if (form == JK_CAP_FORM_RECORD)
            err = jk_load_cap(L, &kid_hash[i], nest, &s[i]);
        else if (form == JK_CAP_FORM_DATA)
            err = jk_group_inline(L, r, &kid_hash[i], nest, &s[i]);
        else
            err = jk_group_bad(L, r, JK_ERR_CAP_DECODE, "a slot's form is unknown");
    }
    if (err == JK_OK && !(*n = jk_cap_cnode_node_new_slots(s[0], s[1])))
        err = JK_ERR_NOMEM;
    jk_cap_release(s[0]);
    jk_cap_release(s[1]);
    return err;
}

/* The node at r's position, of `height`, in the group whose bottom is
 * `bottom`, which must hash to *expect (checked before anything it names
 * is followed). */
static jk_err jk_group_node(jk_loader *L, jk_group_rd *r, unsigned height, unsigned bottom,
                            unsigned nest, const jk_hash *expect, jk_cnode_node **out)
{
    if (r->len - r->pos < 2 * JK_HASH_SIZE)
        return jk_group_bad(L, r, JK_ERR_CAP_DECODE, "cut short");
    uint8_t enc[1 + 2 * JK_HASH_SIZE] = {JK_CAP_TAG_CNODE_NODE};
    memcpy(enc + 1, r->p + r->pos, 2 * JK_HASH_SIZE);
    r->pos += 2 * JK_HASH_SIZE;
    jk_hash kid_hash[2];
    memcpy(kid_hash[0].bytes, enc + 1, JK_HASH_SIZE);
    memcpy(kid_hash[1].bytes, enc + 1 + JK_HASH_SIZE, JK_HASH_SIZE);
    if (jk_hash_is_zero(&kid_hash[0]) && jk_hash_is_zero(&kid_hash[1]))
        return jk_group_bad(L, r, JK_ERR_CAP_DECODE, "a node with two empty children");
    jk_hash hash;
    jk_crypto_blake2b256(enc, sizeof enc, &hash);
    atomic_fetch_add_explicit(&jk_cap_stat_verify, 1, memory_order_relaxed);
    if (memcmp(hash.bytes, expect->bytes, JK_HASH_SIZE) != 0)
        return jk_group_bad(L, r, JK_ERR_CAP_CORRUPT,
                            r->pos == 2 * JK_HASH_SIZE ? "its top node's bytes hash to another name"
                                                       : "a node does not hash to the name its parent gives it");
    jk_err err = JK_OK;
    jk_cnode_node *n = NULL;
    if (height == 1) {
        err = jk_group_slots(L, r, kid_hash, nest, &n);
    } else {
        jk_cnode_node *k[2] = {NULL, NULL};
        for (int i = 0; i < 2 && err == JK_OK; i++) {
            if (jk_hash_is_zero(&kid_hash[i]))
                continue;
            if (height - 1 == bottom) {
                err = jk_load_group(L, &kid_hash[i], height - 1, nest, &k[i]);
                continue;
            }
            err = jk_group_node(L, r, height - 1, bottom, nest, &kid_hash[i], &k[i]);
        }
        err = jk_node_of_kids(err, height, k, &n);
    }
    if (err != JK_OK)
        return err;
    jk_cap_obj_set_hash(&n->o, &hash);
    *out = n;
    return JK_OK;
}

static jk_err jk_load_group(jk_loader *L, const jk_hash *h, unsigned height, unsigned nest,
                            jk_cnode_node **out)
{
    uint64_t ctx = JK_CTX_CNODE(height);
    jk_obj *hit = jk_memo_take(L, h, ctx);
    if (hit) {
        *out = (jk_cnode_node *)hit;
        return JK_OK;
    }
    char name[17];
    jk_cap_hash_short(h, name);
    const uint8_t *bytes;
    size_t len;
    jk_err err = L->src->get(L->src->ctx, h, &bytes, &len);
    if (err != JK_OK)
        return jk_diag_set(L->diag, err, "cnode group %s: %s", name, jk_strerror(err));
    if (len < 2 || (bytes[0] != JK_CAP_GROUP_TAG && bytes[0] != JK_CAP_GROUP3_TAG) || bytes[1] != height)
        return jk_diag_set(L->diag, JK_ERR_CAP_DECODE, "object %s: not a cnode group of height %u", name,
                           height);
    jk_group_rd r = {bytes + 2, len - 2, 0, h, bytes[0] == JK_CAP_GROUP3_TAG};
    jk_cnode_node *n;
    if ((err = jk_group_node(L, &r, height, jk_cap_group_bottom(height), nest, h, &n)) != JK_OK)
        return err;
    if (r.pos != r.len) {
        jk_cap_obj_release(&n->o);
        return jk_group_bad(L, &r, JK_ERR_CAP_DECODE, "bytes after its last node");
    }
    if ((err = jk_memo_add(L, h, ctx, &n->o)) == JK_OK)
        *out = n;
    return err;
}

jk_err jk_cap_group_check(const jk_hash *key, const uint8_t *bytes, size_t len, jk_diag *diag)
{
    /* the structure and the top's hash; the children (other records, root
     * records) are not followed */
    if (len < 2 + 2 * JK_HASH_SIZE || (bytes[0] != JK_CAP_GROUP_TAG && bytes[0] != JK_CAP_GROUP3_TAG) ||
        bytes[1] == 0 || bytes[1] > 64)
        return jk_diag_set(diag, JK_ERR_CAP_DECODE, "not a cnode group record");
    uint8_t enc[1 + 2 * JK_HASH_SIZE] = {JK_CAP_TAG_CNODE_NODE};
    memcpy(enc + 1, bytes + 2, 2 * JK_HASH_SIZE);
    jk_hash got;
    jk_crypto_blake2b256(enc, sizeof enc, &got);
    if (memcmp(got.bytes, key->bytes, JK_HASH_SIZE) != 0)
        return jk_diag_set(diag, JK_ERR_CAP_CORRUPT, "cnode group: its top node does not hash to its key");
    return JK_OK;
}

static jk_err jk_load_data(jk_loader *L, const jk_obj_view *v, jk_cap *out)
{
    if (v->len == 0)
        return jk_cap_data_from_root(0, NULL, out);
    uint32_t pages = (uint32_t)((v->len + JK_CAP_PAGE_SIZE - 1) / JK_CAP_PAGE_SIZE);
    uint32_t last = (uint32_t)(v->len - (uint64_t)(pages - 1) * JK_CAP_PAGE_SIZE);
    jk_dnode *root;
    jk_err err = jk_load_dtree(L, &v->a, pages, last, &root);
    if (err != JK_OK)
        return err;
    err = jk_cap_data_from_root(v->len, root, out);
    jk_cap_obj_release(&root->o);
    return err;
}

static jk_err jk_load_cnode(jk_loader *L, const jk_obj_view *v, unsigned nest, jk_cap *out)
{
    jk_err err = JK_OK;
    if (v->log2 == 0) {
        jk_cap slot = jk_cap_null();
        if (!jk_hash_is_zero(&v->a))
            err = jk_load_cap(L, &v->a, nest + 1, &slot);
        if (err == JK_OK)
            err = jk_cap_cnode_from_root(0, slot, NULL, out);
        jk_cap_release(slot);
        return err;
    }
    jk_cnode_node *root = NULL;
    if (!jk_hash_is_zero(&v->a))
        err = jk_load_ctree(L, &v->a, v->log2, nest + 1, &root);
    if (err == JK_OK)
        err = jk_cap_cnode_from_root(v->log2, jk_cap_null(), root, out);
    if (root)
        jk_cap_obj_release(&root->o);
    return err;
}

static jk_err jk_load_image(jk_loader *L, const jk_obj_view *v, unsigned nest, jk_cap *out)
{
    jk_cap code = jk_cap_null();
    jk_cap_mapping *maps = calloc(v->nmaps + 1, sizeof *maps);
    jk_cap_endpoint *eps = calloc(v->neps + 1, sizeof *eps);
    jk_cap_pin *pins = calloc(v->npins + 1, sizeof *pins);
    jk_err err = maps && eps && pins ? JK_OK : JK_ERR_NOMEM;
    if (err == JK_OK)
        err = jk_load_cap(L, &v->a, nest + 1, &code);
    for (uint32_t i = 0; i < v->npins && err == JK_OK; i++) {
        uint8_t slot;
        jk_hash h;
        jk_cap_view_pin(v, i, &slot, &h);
        pins[i].slot = slot;
        err = jk_load_cap(L, &h, nest + 1, &pins[i].cap);
    }
    for (uint32_t i = 0; i < v->nmaps && err == JK_OK; i++)
        jk_cap_view_mapping(v, i, &maps[i]);
    for (uint32_t i = 0; i < v->neps && err == JK_OK; i++)
        jk_cap_view_endpoint(v, i, &eps[i]);
    if (err == JK_OK)
        err = jk_cap_image_build(code, maps, v->nmaps, eps, v->neps, pins, v->npins, v->catcher,
                             out, L->diag);
    jk_cap_release(code);
    for (uint32_t i = 0; pins && i < v->npins; i++)
        jk_cap_release(pins[i].cap);
    free(maps);
    free(eps);
    free(pins);
    return err;
}

static jk_err jk_load_instance(jk_loader *L, const jk_obj_view *v, unsigned nest, jk_cap *out)
{
    jk_cap image = jk_cap_null(), cnode = jk_cap_null();
    jk_cap_frame *frames = calloc(v->nframes + 1, sizeof *frames);
    jk_err err = frames ? JK_OK : JK_ERR_NOMEM;
    if (err == JK_OK)
        err = jk_load_cap(L, &v->a, nest + 1, &image);
    if (err == JK_OK)
        err = jk_load_cap(L, &v->c, nest + 1, &cnode);
    const uint8_t *p = v->frames;
    for (uint32_t f = 0; f < v->nframes && err == JK_OK; f++) {
        jk_frame_view fv;
        p = jk_cap_view_frame(p, &fv);
        jk_cap_frame *fr = &frames[f];
        fr->endpoint = fv.endpoint;
        fr->pc = fv.pc;
        memcpy(fr->regs, fv.regs, sizeof fr->regs);
        fr->gas = fv.gas;
        fr->flags = fv.flags;
        fr->spawned = fv.spawned;
        jk_cap_region *rg = calloc(fv.nregions + 1, sizeof *rg);
        if (!rg) {
            err = JK_ERR_NOMEM;
            break;
        }
        fr->regions = rg;
        fr->region_count = fv.nregions;
        err = jk_load_cap(L, &fv.instance, nest + 1, &fr->instance);
        for (uint32_t r = 0; r < fv.nregions && err == JK_OK; r++) {
            jk_hash h;
            jk_cap_view_region(&fv, r, &rg[r].base, &h);
            err = jk_load_cap(L, &h, nest + 1, &rg[r].data);
        }
    }
    if (err == JK_OK)
        err = jk_cap_instance_make(image, &v->b, cnode, (jk_cap_status)v->status, frames,
                                   v->nframes, out, L->diag);
    jk_cap_release(image);
    jk_cap_release(cnode);
    for (uint32_t f = 0; frames && f < v->nframes; f++) {
        jk_cap_release(frames[f].instance);
        for (uint32_t r = 0; frames[f].regions && r < frames[f].region_count; r++)
            jk_cap_release(frames[f].regions[r].data);
        free((void *)frames[f].regions);
    }
    free(frames);
    return err;
}

/* Check that the built root re-encodes to exactly the stored bytes. */
static jk_err jk_check_canonical(jk_loader *L, const jk_hash *h, jk_cap c,
                                 const uint8_t *bytes, size_t len)
{
    jk_wr w = {0};
    jk_cap_obj_encode(jk_cap_obj(c), &w);
    jk_err err = JK_OK;
    if (w.oom) {
        err = JK_ERR_NOMEM;
    } else if (w.len != len || memcmp(w.buf, bytes, len) != 0) {
        char name[17];
        jk_cap_hash_short(h, name);
        err = jk_diag_set(L->diag, JK_ERR_CAP_DECODE, "object %s: not in canonical form", name);
    }
    free(w.buf);
    return err;
}

static jk_err jk_load_cap(jk_loader *L, const jk_hash *h, unsigned nest, jk_cap *out)
{
    if (nest > JK_CAP_MAX_DEPTH)
        return jk_diag_set(L->diag, JK_ERR_CAP_TOO_DEEP, "caps nested deeper than %u",
                           JK_CAP_MAX_DEPTH);
    jk_obj *hit = jk_memo_take(L, h, JK_CTX_ROOT);
    if (hit) {
        *out = jk_cap_of(jk_kind_of_type(hit->type), hit);
        return JK_OK;
    }
    jk_obj_view v;
    const uint8_t *bytes;
    size_t len;
    jk_err err = jk_fetch(L, h, &v, &bytes, &len);
    if (err != JK_OK)
        return err;
    jk_cap c;
    switch (v.tag) {
    case JK_CAP_TAG_DATA: err = jk_load_data(L, &v, &c); break;
    case JK_CAP_TAG_CNODE: err = jk_load_cnode(L, &v, nest, &c); break;
    case JK_CAP_TAG_IMAGE: err = jk_load_image(L, &v, nest, &c); break;
    case JK_CAP_TAG_INSTANCE: err = jk_load_instance(L, &v, nest, &c); break;
    default: return jk_wrong(L, h, v.tag, "a data, cnode, image or instance record");
    }
    if (err != JK_OK)
        return err;
    /* The source's bytes stay valid for the whole load (jk_cap_source). */
    if ((err = jk_check_canonical(L, h, c, bytes, len)) != JK_OK) {
        jk_cap_release(c);
        return err;
    }
    jk_cap_obj_set_hash(jk_cap_obj(c), h);
    if ((err = jk_memo_add(L, h, JK_CTX_ROOT, jk_cap_obj(c))) == JK_OK)
        *out = c;
    return err;
}

static jk_err jk_cap_load_as(const jk_cap_source *src, bool grouped, const jk_hash *hash, jk_cap *out,
                             jk_diag *diag)
{
    if (!src || !src->get || !hash || !out)
        return jk_diag_set(diag, JK_ERR_INVALID_ARG, "load: bad arguments");
    jk_loader L = {.src = src, .grouped = grouped, .diag = diag};
    if (diag)
        diag->msg[0] = '\0';
    jk_err err = jk_load_cap(&L, hash, 1, out);
    if (err != JK_OK && diag && !diag->msg[0]) /* e.g. out of memory */
        jk_diag_set(diag, err, "load: %s", jk_strerror(err));
    for (size_t i = 0; i < L.cap; i++)
        if (L.tab[i].o)
            jk_cap_obj_release(L.tab[i].o);
    free(L.tab);
    return err;
}

jk_err jk_cap_load(const jk_cap_source *src, const jk_hash *hash, jk_cap *out, jk_diag *diag)
{
    return jk_cap_load_as(src, false, hash, out, diag);
}

jk_err jk_cap_load_grouped(const jk_cap_source *src, const jk_hash *hash, jk_cap *out, jk_diag *diag)
{
    return jk_cap_load_as(src, true, hash, out, diag);
}
