/*
 * internal.h — what the files of src/cap share: the layout of bodies and tree
 * nodes, the counted-object header with its lazily cached hash, the encoding
 * writer, and the object decoder's views.
 *
 * Every body (Data, CNode, Image, Instance) and every tree node (Data page,
 * Data inner node, CNode inner node) starts with a jk_obj: an atomic
 * reference count, the cached hash and its publication state, the object
 * type, and the nesting depth. An object is immutable once its constructor
 * returns; only `refs` and the hash cache ever change afterwards.
 *
 * Hash cache protocol: hstate goes NONE → BUSY → READY once. A thread that
 * wins the NONE → BUSY exchange writes `hash` and then stores READY (release);
 * readers load hstate (acquire) and read `hash` only when READY. A thread that
 * finds BUSY computes the hash itself and does not cache it, so no thread ever
 * waits and no byte of `hash` is written twice.
 */
#ifndef JK_CAP_INTERNAL_H
#define JK_CAP_INTERNAL_H

#include "jark/cap.h"

#include <assert.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* ---- counted objects ---- */

enum jk_obj_type {
    JK_OBJ_DATA = 1,        /* jk_data_body */
    JK_OBJ_CNODE = 2,       /* jk_cnode_body */
    JK_OBJ_IMAGE = 3,       /* jk_image_body */
    JK_OBJ_INSTANCE = 4,    /* jk_instance_body */
    JK_OBJ_DPAGE = 5,       /* jk_dnode, a page (merkle leaf) */
    JK_OBJ_DNODE = 6,       /* jk_dnode, an inner node */
    JK_OBJ_CNODE_NODE = 7,  /* jk_cnode_node */
};

enum { JK_HASH_NONE = 0, JK_HASH_BUSY = 1, JK_HASH_READY = 2 };

typedef struct jk_obj {
    atomic_uint refs;
    atomic_uchar hstate;   /* JK_HASH_*; see the protocol above */
    uint8_t type;          /* enum jk_obj_type */
    uint8_t height;        /* CNode inner nodes: 1..16 (1 = children are slots) */
    uint8_t depth;         /* bodies: jk_cap_depth; CNode nodes: deepest slot */
    jk_hash hash;          /* valid when hstate == READY */
} jk_obj;

/* The public opaque body type is the header every body starts with. */
struct jk_cap_body {
    jk_obj o;
};

/* Allocate a zeroed object of `size` bytes with one reference. NULL on OOM. */
void *jk_cap_obj_alloc(size_t size, uint8_t type);
/* Data page buffers through the thread's cache (cap.c): jk_cap_page_zeroed
 * returns JK_CAP_PAGE_SIZE zero bytes, page-aligned (NULL: out of memory);
 * jk_cap_page_drop takes one back whose bytes from `used` on are still zero. */
uint8_t *jk_cap_page_zeroed(void);
void jk_cap_page_drop(uint8_t *p, size_t used);
/* A small page's buffer, at least len bytes (1..JK_CAP_SMALL_PAGE), contents
 * undefined, through the thread's cache (NULL: out of memory); drop it with
 * the same len. */
uint8_t *jk_cap_small_alloc(size_t len);
void jk_cap_small_drop(uint8_t *p, size_t len);
void jk_cap_obj_retain(jk_obj *o);
/* Drop a reference; the last one frees o and releases what it holds. */
void jk_cap_obj_release(jk_obj *o);
/* The bytes a thread's free lists (cap.c) may hold together: dead objects,
 * page buffers and small page buffers. */
#define JK_CACHE_BYTES ((size_t)6 << 20)
/* This thread's free lists: how many blocks and bytes they hold (tests). */
void jk_cap_cache_usage(size_t *blocks, size_t *bytes);
/* Dead objects whose own references are still to be dropped (cap.c's free
 * loop); the per-type frees hand it what they held. */
#define JK_DEAD_STACK 64
typedef struct jk_dead {
    jk_obj *stack[JK_DEAD_STACK];
    unsigned n;
} jk_dead;
/* Drop one reference to o (NULL: nothing); if it was the last, o is dead and
 * goes on d, to be freed by the loop that owns d. */
void jk_cap_dead_drop(jk_dead *d, jk_obj *o);
/* o's hash, computing and caching it on first use. */
void jk_cap_obj_hash(jk_obj *o, jk_hash *out);
/* Count one hash of kind k (0 page, 1 node, 2 root) on this thread: the
 * test counters of jk_cap_stats (cap.c keeps the per-thread sums). */
void jk_cap_hash_count(int k);
/* Calls fn on every object o names in its encoding (children, in encoding
 * order; the null cap and empty subtrees are skipped); stops at the first
 * error and returns it. */
typedef jk_err (*jk_child_fn)(void *ctx, jk_obj *child);
jk_err jk_cap_obj_each_child(jk_obj *o, jk_child_fn fn, void *ctx);
/* Record a hash known to be right (the loader's verified names). Only for an
 * object no other thread can see yet. */
void jk_cap_obj_set_hash(jk_obj *o, const jk_hash *h);

static inline jk_obj *jk_cap_obj(jk_cap c) { return (jk_obj *)(void *)c.body; }
static inline jk_cap jk_cap_of(jk_cap_kind kind, void *body)
{
    jk_cap c = {kind, (struct jk_cap_body *)body};
    return c;
}

/* jk_cap_depth, jk_cap_same and jk_cap_retain inline, for the cap layer's
 * own hot paths (the slot writes call them per level: a call each from
 * another file otherwise; session 10). */
static inline unsigned jk_cap_depth_in(jk_cap c) { return c.body ? jk_cap_obj(c)->depth : 0; }
static inline bool jk_cap_same_in(jk_cap a, jk_cap b) { return a.kind == b.kind && a.body == b.body; }
static inline jk_cap jk_cap_retain_in(jk_cap c)
{
    if (c.body)
        atomic_fetch_add_explicit(&jk_cap_obj(c)->refs, 1, memory_order_relaxed);
    return c;
}

static inline bool jk_hash_is_zero(const jk_hash *h)
{
    static const jk_hash zero;
    return memcmp(h->bytes, zero.bytes, JK_HASH_SIZE) == 0;
}

/* Counters behind jk_cap_stats (cap.c). */
extern atomic_uint_fast64_t jk_cap_stat_page, jk_cap_stat_node, jk_cap_stat_root,
    jk_cap_stat_verify;

/* ---- bodies and tree nodes ---- */

typedef struct jk_dnode {
    jk_obj o;                       /* type DPAGE or DNODE */
    union {
        struct {
            struct jk_dnode *left, *right;
        } in;
        struct {
            /* len > JK_CAP_SMALL_PAGE: 4096 bytes, 4096-aligned, zero past len.
             * len <= JK_CAP_SMALL_PAGE (a Data's short last page): a buffer of
             * len bytes, so that a small Data costs its bytes, not 4 KiB
             * of fresh memory (issue 16); `view`, made on first demand
             * (jk_cap_data_page), is its 4 KiB form: set once, never
             * changed, freed with the page. */
            uint8_t *bytes;
            uint32_t len;           /* 1..4096 */
            _Atomic(uint8_t *) view;
        } page;
    } u;
} jk_dnode;

typedef struct jk_data_body {
    jk_obj o;
    uint64_t len;
    jk_dnode *root;                 /* NULL iff len == 0 */
    /* The page index (session 12, data.c "the page index"): page i's
     * bytes (its node's u.page.bytes) at index[i], a cache of the tree's
     * shape like the hash is of its bytes — made once, by the read that
     * finds `reads` past its bound, published with release/acquire, never
     * changed, freed with the body (jk_cap_data_index_free). NULL: not made
     * (a small or rarely read Data). Read only by the page lookups; nothing
     * hashed or stored. */
    _Atomic(uint8_t **) index;
    atomic_uint reads;              /* page lookups so far, until index is made */
} jk_data_body;

typedef struct jk_cnode_node {
    jk_obj o;                       /* o.height: 1 → slot[], else kid[] */
    union {
        struct jk_cnode_node *kid[2];   /* NULL = all-empty subtree */
        jk_cap slot[2];
    } u;
} jk_cnode_node;

/* The CNode read index (issue 16, session 7). A node whose height h is a
 * multiple of 4 (4, 8, 12, 16) also keeps skip[]: its descendants four
 * levels down (height h − 4), or for h = 4 the leaf nodes three levels down
 * (height 1, over the slots), skip[j] the one the index bits j just below h
 * lead to (NULL: an empty subtree). A slot read walks at most three single
 * levels down to such a node and then four levels a load: 2 loads for a
 * 256-slot CNode instead of 8, 4 for 2^16 slots instead of 16 (the kernel's
 * slot paths, jk_cap_cnode_get_path). The entries are borrowed views (the
 * binary kid[] links own the nodes, and the hashes, encodings and the
 * store's walk read only those); a node's entries are written when it is
 * made and, for a node changed in place, on the path the change took
 * (cnode.c), so they always equal the binary walk. Heights are absolute
 * (1 = over slots), so whether a node has skip[] depends on its height
 * alone, whichever CNode shares it. */
#define JK_CNODE_SKIP_LEVELS 4u
#define JK_CNODE_SKIP_FAN (1u << JK_CNODE_SKIP_LEVELS)
static inline bool jk_cnode_has_skip(unsigned height)
{
    return height % JK_CNODE_SKIP_LEVELS == 0;
}
/* The levels skip[] spans at a height that has one: 2^that entries. */
static inline unsigned jk_cnode_skip_levels(unsigned height)
{
    return height == JK_CNODE_SKIP_LEVELS ? JK_CNODE_SKIP_LEVELS - 1 : JK_CNODE_SKIP_LEVELS;
}

typedef struct jk_cnode_skip_node {
    jk_cnode_node n;                /* n.o.height: jk_cnode_has_skip */
    jk_cnode_node *skip[JK_CNODE_SKIP_FAN];
} jk_cnode_skip_node;

static inline jk_cnode_node **jk_cnode_skips(const jk_cnode_node *n)
{
    return ((jk_cnode_skip_node *)(void *)n)->skip;
}

typedef struct jk_cnode_body {
    jk_obj o;
    uint8_t log2;
    jk_cap slot0;                   /* log2 == 0: the only slot */
    jk_cnode_node *root;            /* log2 >= 1: NULL when all empty */
} jk_cnode_body;

typedef struct jk_image_body {
    jk_obj o;
    jk_cap code;                    /* Data holding the blob */
    jk_pvm_program *prog;
    uint32_t nmaps, neps, npins;
    uint8_t catcher;
    jk_cap_mapping *maps;           /* sorted by base */
    jk_cap_endpoint *eps;
    jk_cap_pin *pins;               /* sorted by slot; caps owned */
    /* pin_at[s]: 1 + the index in pins of slot s's pin, 0 when s is not
     * pinned (session 12: jk_cap_image_pinned, ~10 lookups a verified
     * event, was a scan of pins) */
    uint8_t pin_at[JK_CAP_ROOT_SLOTS];
} jk_image_body;

typedef struct jk_instance_body {
    jk_obj o;
    jk_cap image;
    jk_hash image_hash;
    jk_cap cnode;
    uint8_t status;
    uint32_t nframes;
    jk_cap_frame *frames;           /* regions arrays owned, caps owned */
} jk_instance_body;

static inline jk_data_body *jk_data_of(jk_cap c) { return (jk_data_body *)(void *)c.body; }
static inline jk_cnode_body *jk_cnode_of(jk_cap c) { return (jk_cnode_body *)(void *)c.body; }
static inline jk_image_body *jk_image_of(jk_cap c) { return (jk_image_body *)(void *)c.body; }
static inline jk_instance_body *jk_instance_of(jk_cap c) { return (jk_instance_body *)(void *)c.body; }

/* Per-type free: drop the references it holds onto d (jk_cap_dead_drop) and
 * free its own storage, not the object itself. Data bodies and inner nodes
 * and CNode nodes are freed inline by cap.c's loop. */
void jk_cap_dpage_free(jk_dnode *n);
/* A dead Data body's page index (data.c), if it has one. */
void jk_cap_data_index_free(jk_data_body *d);
/* Whether data has its page index made (tests). */
bool jk_cap_data_indexed(jk_cap data);
void jk_cap_cnode_body_free(jk_cnode_body *c, jk_dead *d);
void jk_cap_image_body_free(jk_image_body *im, jk_dead *d);
void jk_cap_instance_body_free(jk_instance_body *in, jk_dead *d);

/* Data internals (data.c). Node constructors BORROW their children. */
uint32_t jk_cap_data_split(uint32_t pages); /* largest power of two < pages (pages >= 2) */
jk_dnode *jk_cap_dnode_new_page(const uint8_t *bytes, uint32_t len);
jk_dnode *jk_cap_dnode_new_inner(jk_dnode *left, jk_dnode *right);
jk_err jk_cap_data_from_root(uint64_t len, jk_dnode *root, jk_cap *out);

/* In-place CNode writes (cnode.c, cnode_path.c): shared by the writes of
 * one CNode and those through nested ones. */
/* The depth of n (height hn, held once, changed in place) after the child
 * on slot i's path changed, its other child not: max(that child's depth,
 * the other's). n's depth before the write bounds the other child's, so
 * the other child is read only when the changed one was the deepest and is
 * now shallower (session 12): it is off the written path, a line no write
 * of the event touched, and in a large tree (8,192 accounts) most often not
 * in the cache. Nodes' depths are exact maxima (every maker and every
 * in-place write keeps them so), which is all this relies on. */
static inline unsigned jk_cnode_depth_after(const jk_cnode_node *n, unsigned hn, uint32_t i)
{
    unsigned bit = (i >> (hn - 1)) & 1;
    if (hn == 1) {
        unsigned d = jk_cap_depth_in(n->u.slot[bit]);
        if (d >= n->o.depth)
            return d;
        unsigned o = jk_cap_depth_in(n->u.slot[!bit]);
        return d > o ? d : o;
    }
    const jk_cnode_node *a = n->u.kid[bit], *b;
    unsigned d = a ? a->o.depth : 0;
    if (d >= n->o.depth)
        return d;
    b = n->u.kid[!bit];
    unsigned o = b ? b->o.depth : 0;
    return d > o ? d : o;
}

/* Whether the caller's reference is the only one to o: then no other holder,
 * on any thread, can see o, and it may change in place. */
static inline bool jk_obj_unique(jk_obj *o)
{
    return atomic_load_explicit(&o->refs, memory_order_acquire) == 1;
}

/* A node or body changed in place: its cached hash (if any) is stale. Only
 * for an object jk_obj_unique says is ours alone. */
static inline void jk_obj_changed(jk_obj *o) { atomic_store_explicit(&o->hstate, JK_HASH_NONE, memory_order_relaxed); }

/* Whether o (held once, as above) has no cached hash. What lets a write in
 * place stop on its way up (session 9): in a uniquely held tree, a node
 * without a cached hash has no ancestor with one. The hash of a node is
 * computed from its children's, which are computed and cached first
 * (jk_cap_obj_hash; a child another thread is hashing at that moment is
 * shared, so not on a path written in place), so a READY node never sits
 * above a NONE one; every write in place marks the whole path up to the
 * body NONE (each up-walk here, jk_cap_cnode_update's body), until the
 * first node that was NONE already; a node a path copy makes starts
 * NONE. So an up-walk that meets a node already stale, whose depth did
 * not move, has nothing left to do above it. */
static inline bool jk_obj_stale(jk_obj *o)
{
    return atomic_load_explicit(&o->hstate, memory_order_relaxed) == JK_HASH_NONE;
}

/* CNode internals (cnode.c). */
/* Inner nodes, BORROWING their children: over two slots (height 1), or over
 * two subtrees of height − 1 (NULL = empty; not both). NULL on OOM. */
jk_cnode_node *jk_cap_cnode_node_new_slots(jk_cap a, jk_cap b);
jk_cnode_node *jk_cap_cnode_node_new_kids(uint8_t height, jk_cnode_node *a, jk_cnode_node *b);

/* The store's layout 2 (load.c, docs/cap.md "Store: CNode groups"): CNode
 * inner nodes stored JK_CAP_GROUP_LEVELS levels per record under the top
 * node's hash. A node is a group top when it is a CNode's root or its
 * height is a multiple of JK_CAP_GROUP_LEVELS; the group of a top of
 * height t holds heights t .. jk_cap_group_bottom(t) + 1. */
#define JK_CAP_GROUP_LEVELS 4u
#define JK_CAP_GROUP_TAG 0x08   /* a group record's first byte (not an object tag) */
/* Layout 3 (session 9, docs/cap.md "Store: small Data in groups"): the
 * group record of tag 0x09 follows each height-1 node with a form byte per
 * non-empty slot: a record of its own, or a Data held in the group (len
 * u16 LE ‖ bytes; 1..JK_CAP_INLINE_MAX bytes, JK_CAP_INLINE_BUDGET in all
 * per group, counting each length's two bytes). */
#define JK_CAP_GROUP3_TAG 0x09
#define JK_CAP_FORM_RECORD 0x00
#define JK_CAP_FORM_DATA 0x01
#define JK_CAP_INLINE_MAX 512u
#define JK_CAP_INLINE_BUDGET 960u
/* The store's head-commit sink (store.c; docs/cap.md "Store: a put is the
 * lookup"): known(h) is a cheap "present" that is never wrong (it may
 * miss); put_new(h, bytes) puts the record unless the store holds h, and
 * says which. */
typedef struct jk_cap_put_sink {
    void *ctx;
    bool (*known)(void *ctx, const jk_hash *h);
    jk_err (*put_new)(void *ctx, const jk_hash *h, const uint8_t *bytes, size_t len, bool *present);
} jk_cap_put_sink;
/* jk_cap_export_grouped for a sink that takes a record before its
 * children: each new object's record is put first (one B-tree descent
 * that is also the lookup), its children only when it was absent. Inside
 * one transaction the order of puts is invisible, so the store's
 * invariant (a record only with its children) holds at every commit.
 * @return JK_OK; the sink's error; JK_ERR_NOMEM; JK_ERR_CAP_KIND (null);
 *         JK_ERR_INVALID_ARG (a sink without both callbacks). */
jk_err jk_cap_export_put_first(jk_cap cap, const jk_cap_put_sink *sink, jk_diag *diag);
static inline unsigned jk_cap_group_bottom(unsigned top)
{
    return JK_CAP_GROUP_LEVELS * ((top - 1) / JK_CAP_GROUP_LEVELS);
}
/* A group record's shape and its top node's hash against its key (the
 * nodes under the top are checked when loaded).
 * @return JK_OK; JK_ERR_CAP_DECODE; JK_ERR_CAP_CORRUPT. */
jk_err jk_cap_group_check(const jk_hash *key, const uint8_t *bytes, size_t len, jk_diag *diag);
jk_err jk_cap_cnode_from_root(uint8_t log2, jk_cap slot0, jk_cnode_node *root, jk_cap *out);

/* The thread's pruned-chain stash (cap.c, session 9; a few chains since
 * session 14). jk_cap_chain_stash takes a detached chain of h CNode nodes
 * (top at height h, each holding the next on the path `bits` and nothing
 * else, the leaf's slots empty, every node held once), dropping the one it
 * replaces; jk_cap_chain_unstash hands one back (refs 1, contents as
 * stashed) when h and bits match, else NULL. */
void jk_cap_chain_stash(jk_cnode_node *top, unsigned h, uint32_t bits);
/* jk_cap_chain_stash, but only into a free way and when no chain of that
 * key is kept: false (nothing done) otherwise. The chain's leaf may still
 * hold its values: the caller empties it before anything else runs. */
bool jk_cap_chain_keep(jk_cnode_node *top, unsigned h, uint32_t bits);
jk_cnode_node *jk_cap_chain_unstash(unsigned h, uint32_t bits);

/* Image internals (image.c): build from a code Data (borrowed). */
jk_err jk_cap_image_build(jk_cap code, const jk_cap_mapping *maps, uint32_t nmaps,
                      const jk_cap_endpoint *eps, uint32_t neps,
                      const jk_cap_pin *pins, uint32_t npins, uint32_t catcher,
                      jk_cap *out, jk_diag *diag);

/* ---- encoding ---- */

/* Writes an encoding either into a hasher or into a growing buffer. */
typedef struct jk_wr {
    jk_crypto_hasher *hasher;   /* non-NULL: absorb, don't store (with buf:
                                   gather into buf[cap] first, and init and
                                   absorb only when it would overflow) */
    uint8_t *buf;
    size_t len, cap;
    bool oom;                   /* a buffer growth failed; contents invalid */
} jk_wr;

void jk_cap_wr_bytes(jk_wr *w, const void *p, size_t n);
void jk_cap_wr_u8(jk_wr *w, uint8_t v);
void jk_cap_wr_u32(jk_wr *w, uint32_t v);
void jk_cap_wr_u64(jk_wr *w, uint64_t v);

/* The canonical encoding of one object (children by hash, hashing them as
 * needed). Per-type encoders live beside their types. */
void jk_cap_obj_encode(jk_obj *o, jk_wr *w);
void jk_cap_data_encode(jk_data_body *d, jk_wr *w);
void jk_cap_dnode_encode(jk_dnode *n, jk_wr *w);
void jk_cap_cnode_encode(jk_cnode_body *c, jk_wr *w);
void jk_cap_cnode_node_encode(jk_cnode_node *n, jk_wr *w);
void jk_cap_image_encode(jk_image_body *im, jk_wr *w);
void jk_cap_instance_encode(jk_instance_body *in, jk_wr *w);

static inline uint32_t jk_rd_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}
static inline uint64_t jk_rd_u64(const uint8_t *p)
{
    return (uint64_t)jk_rd_u32(p) | (uint64_t)jk_rd_u32(p + 4) << 32;
}

/* ---- decoding (decode.c): syntax of one object, no children followed ---- */

#define JK_ENC_MAPPING_SIZE 11u      /* u32 base, u32 size, u8 kind, access, slot */
#define JK_ENC_ENDPOINT_SIZE 108u    /* u32 pc, 13 × u64 */
#define JK_ENC_PIN_SIZE 33u          /* u8 slot, hash */
#define JK_ENC_REGION_SIZE 36u       /* u32 base, hash */
#define JK_ENC_FRAME_FIXED 158u      /* a frame without its regions */

typedef struct jk_obj_view {
    uint8_t tag;
    uint64_t len;            /* DATA: byte length; DATA_PAGE: page length */
    const uint8_t *bytes;    /* DATA_PAGE: the page's bytes */
    uint8_t log2;            /* CNODE */
    jk_hash a;               /* DATA, CNODE: root; *_NODE: left; IMAGE: code;
                                INSTANCE: image */
    jk_hash b;               /* *_NODE: right; INSTANCE: image_hash */
    jk_hash c;               /* INSTANCE: cnode */
    /* IMAGE: arrays of fixed-size entries inside the object's bytes */
    uint32_t nmaps, neps, npins;
    const uint8_t *maps, *eps, *pins;
    uint8_t catcher;
    /* INSTANCE */
    uint8_t status;
    uint32_t nframes;
    const uint8_t *frames;   /* first frame; walk with jk_cap_view_frame */
} jk_obj_view;

typedef struct jk_frame_view {
    jk_hash instance;
    uint8_t endpoint;
    uint32_t pc;
    uint64_t regs[JK_PVM_REGS];
    int64_t gas;
    uint8_t flags;
    uint32_t spawned;
    uint32_t nregions;
    const uint8_t *regions;  /* nregions × (u32 base, hash) */
} jk_frame_view;

/* Parse and syntax-check one object. */
jk_err jk_cap_obj_parse(const uint8_t *bytes, size_t len, jk_obj_view *v, jk_diag *diag);
void jk_cap_view_mapping(const jk_obj_view *v, uint32_t i, jk_cap_mapping *out);
void jk_cap_view_endpoint(const jk_obj_view *v, uint32_t i, jk_cap_endpoint *out);
void jk_cap_view_pin(const jk_obj_view *v, uint32_t i, uint8_t *slot, jk_hash *h);
/* Read the frame at p (already checked by jk_cap_obj_parse); returns the next. */
const uint8_t *jk_cap_view_frame(const uint8_t *p, jk_frame_view *out);
void jk_cap_view_region(const jk_frame_view *f, uint32_t i, uint32_t *base, jk_hash *h);
/* Calls fn on every non-zero hash the object names (its children). */
jk_err jk_cap_view_children(const jk_obj_view *v,
                        jk_err (*fn)(void *ctx, const jk_hash *h), void *ctx);

/* Hex of the first 8 bytes of h, for diagnostics. */
void jk_cap_hash_short(const jk_hash *h, char out[17]);

#endif
