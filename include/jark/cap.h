/*
 * jark/cap.h — capability values, their canonical encodings and hashes, and
 * the content-addressed store.
 *
 * The four cap kinds of architecture §2 — Data, CNode, Image, Instance — as
 * immutable, reference-counted, content-addressed values. docs/cap.md is the
 * overview (value model, every encoding byte by byte, merkle shapes, limits,
 * store schema, crash test); this header is the manual for each function.
 *
 * Values
 *   A jk_cap is a small value {kind, body}: pass it by value, never look inside
 *   it. Bodies are immutable once built. "Changing" a value (jk_cap_data_write,
 *   jk_cap_cnode_set, ...) returns a new value that shares every unchanged part
 *   with the old one (Data and CNode are persistent binary trees: a change
 *   copies one root-to-leaf path). Copying a cap is jk_cap_retain: O(1),
 *   whatever the size behind it.
 *
 * Ownership (one rule, stated again per function where it matters)
 *   - A jk_cap you hold that is not the null cap owns one reference; give it
 *     back with jk_cap_release exactly once. The null cap needs no release.
 *   - Functions BORROW their cap arguments (they take their own references
 *     for whatever they keep) unless the comment says CONSUMES. Only
 *     jk_cap_release consumes.
 *   - A cap written through an out-parameter is a NEW reference the caller
 *     owns. On failure nothing is written to it and no input is changed.
 *   - An accessor that returns a jk_cap (or a pointer) by value returns a
 *     BORROWED view into its container, valid as long as the caller holds the
 *     container; retain it to keep it longer.
 *
 * Hashes
 *   Every value is named by H = BLAKE2b-256 of its canonical encoding (one
 *   root record whose children appear by hash). Hashes are computed lazily,
 *   only when asked for, and cached in the value: a body or tree node is
 *   hashed at most once, and an unchanged subtree is never re-hashed. Re-hashing
 *   a Data after changing c of its P pages costs O(c · log P) hash calls; a
 *   CNode after changing c slots O(c · k).
 *
 * Threads
 *   Reference counts are atomic and a lazily computed hash is published with
 *   release/acquire ordering, so caps whose bodies are shared may be retained,
 *   released, hashed and read from any number of threads at once (the chain
 *   layer runs per-event verifies on their own copies of one instance). A
 *   jk_cap variable itself is a plain value: do not write one from two
 *   threads. A jk_cap_store handle is used by one thread at a time.
 *   Hashing, export, load and the last release recurse at most
 *   JK_CAP_MAX_DEPTH × (tree height + 1) levels: under 192 KiB of stack in an
 *   -O2 build (tested on a 2 MiB thread stack).
 *
 * Unforgeability
 *   No operation turns bytes into a cap except the loaders (jk_cap_load,
 *   jk_cap_store_load), which only accept objects named by their hash. They
 *   exist for the store and the node's state sync; the kernel never exposes
 *   them to programs: caps reach a program only from the kernel (genesis,
 *   copy, mint, spawn), as architecture §2 requires.
 *
 * Determinism: every hash and encoding is a pure function of the value.
 * This layer depends on jark/err.h, jark/crypto.h and jark/pvm.h.
 */
#ifndef JARK_CAP_H
#define JARK_CAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jark/crypto.h"
#include "jark/err.h"
#include "jark/pvm.h"

/* ---------------------------------------------------------------------------
 * Limits (docs/cap.md, "Limits")
 * ------------------------------------------------------------------------- */

#define JK_CAP_PAGE_SIZE 4096u               /* Data merkle leaf size */
#define JK_CAP_SMALL_PAGE 1024u              /* a last page this short or shorter is stored small */
#define JK_CAP_DATA_MAX_LEN (1ull << 30)     /* longest Data: 1 GiB, 2^18 pages */
#define JK_CAP_CNODE_MAX_LOG2 16             /* a CNode has 2^k slots, k 0..16 */
#define JK_CAP_ROOT_LOG2 8                   /* an Instance's root cnode ... */
#define JK_CAP_ROOT_SLOTS 256                /* ... has 256 slots */
#define JK_CAP_SCRATCH_SLOT 0                /* slot[0]: never pinned */
#define JK_CAP_MAX_DEPTH 64                  /* cap nesting (jk_cap_depth) */
#define JK_CAP_IMAGE_MAX_CODE (64u << 20)    /* an Image's program blob */
#define JK_CAP_IMAGE_MAX_MAPPINGS 256
#define JK_CAP_IMAGE_MAX_ENDPOINTS 256
#define JK_CAP_MAX_FRAMES 1024               /* frames in a continuation */
#define JK_CAP_FRAME_MAX_REGIONS 256         /* memory regions in one frame */

/* ---------------------------------------------------------------------------
 * Kernel ABI identity (lineage root; docs/cap.md "Lineage", docs/abi.md)
 *
 * kernel_id = H(JK_KERNEL_ABI_ID), the 6 ASCII bytes "jark/1": the ABI name,
 * a '/', the ABI version in decimal; no terminating NUL. A chain's genesis
 * image_hash is H(kernel_id ‖ image_id(ChainImage)), so a chain's lineage is
 * bound to the kernel ABI that runs it. Changing the ABI version changes
 * every lineage.
 * ------------------------------------------------------------------------- */

#define JK_KERNEL_ABI_NAME "jark"
#define JK_KERNEL_ABI_VERSION 1
#define JK_KERNEL_ABI_ID "jark/1"

/* kernel_id = H("jark/1"). Cannot fail. */
void jk_cap_kernel_id(jk_hash *out);

/* ---------------------------------------------------------------------------
 * Object tags: the first byte of every stored object (domain separation).
 * ------------------------------------------------------------------------- */

#define JK_CAP_TAG_DATA 0x01        /* Data root record */
#define JK_CAP_TAG_DATA_PAGE 0x02   /* Data merkle leaf: one page */
#define JK_CAP_TAG_DATA_NODE 0x03   /* Data merkle inner node */
#define JK_CAP_TAG_CNODE 0x04       /* CNode root record */
#define JK_CAP_TAG_CNODE_NODE 0x05  /* CNode merkle inner node */
#define JK_CAP_TAG_IMAGE 0x06       /* Image record */
#define JK_CAP_TAG_INSTANCE 0x07    /* Instance record */

/* ---------------------------------------------------------------------------
 * Caps
 * ------------------------------------------------------------------------- */

typedef enum jk_cap_kind {
    JK_CAP_NONE = 0,      /* the null cap: an empty slot */
    JK_CAP_DATA = 1,
    JK_CAP_CNODE = 2,
    JK_CAP_IMAGE = 3,
    JK_CAP_INSTANCE = 4,
} jk_cap_kind;

struct jk_cap_body; /* private to src/cap */

/* A cap: the kind and a counted reference to the shared, immutable body.
 * Fields are private: use the jk_cap_* functions. */
typedef struct jk_cap {
    jk_cap_kind kind;
    struct jk_cap_body *body;  /* NULL exactly for the null cap */
} jk_cap;

/* The null cap (an empty slot). Owns nothing. */
static inline jk_cap jk_cap_null(void)
{
    jk_cap c = {JK_CAP_NONE, NULL};
    return c;
}

static inline jk_cap_kind jk_cap_kind_of(jk_cap cap) { return cap.kind; }
static inline bool jk_cap_is_null(jk_cap cap) { return cap.kind == JK_CAP_NONE; }

/* "none", "data", "cnode", "image", "instance"; "?" for anything else. */
const char *jk_cap_kind_name(jk_cap_kind kind);

/* Copy a cap: one more reference to the same body, O(1).
 * @param[in] cap  borrowed; may be the null cap.
 * @return cap itself, now carrying a NEW reference the caller must release.
 * Thread-safe (atomic). */
jk_cap jk_cap_retain(jk_cap cap);

/* Drop a reference. CONSUMES cap; the body (and whatever only it held) is
 * freed with the last reference. The null cap is a no-op. Thread-safe. */
void jk_cap_release(jk_cap cap);

/* jk_cap_release, with the freeing spread out (session 10): when this is the
 * last reference, the body is dead at once (no holder can reach it), but
 * what it held is freed a few objects at a time by this thread's next
 * allocations of cap objects, instead of all now. For a large value whose
 * last holder is on a latency-critical path (a node's commit dropping the
 * old state: thousands of objects). Not observable otherwise: the objects
 * still awaiting their free count in jk_cap_stats.live_objects until they
 * are freed; jk_cap_release_later_drain frees them all, and a thread's exit
 * does. CONSUMES cap; the null cap is a no-op. Thread-safe (each thread
 * frees what it released). */
void jk_cap_release_later(jk_cap cap);

/* Free now everything this thread released with jk_cap_release_later. */
void jk_cap_release_later_drain(void);

/* How many dead objects this thread's later list holds (tests): each still
 * holds its references to what it named. */
size_t jk_cap_release_later_count(void);

/* The value's hash: the cap's object hash H(root record); 32 zero bytes for
 * the null cap (an empty slot hashes to zeros). Computed on first use and
 * cached; later calls cost a load. Cannot fail (hashing does not allocate).
 * @param[in]  cap  borrowed.
 * @param[out] out  the hash. */
void jk_cap_hash(jk_cap cap, jk_hash *out);

/* True when a and b are the same value (same kind and hash); pointer-equal
 * bodies are equal without hashing. Both borrowed. */
bool jk_cap_equal(jk_cap a, jk_cap b);

/* True when a and b are the very same value object (O(1), never hashes):
 * same implies equal, not the other way round. Two null caps are the same. */
bool jk_cap_same(jk_cap a, jk_cap b);

/* Nesting depth: 0 for the null cap, 1 for a Data, 1 + the deepest cap inside
 * for the others (a CNode's slots; an Image's code and pinned caps; an
 * Instance's image, root cnode and continuation). Never more than
 * JK_CAP_MAX_DEPTH: operations that would build a deeper value refuse with
 * JK_ERR_CAP_TOO_DEEP. O(1). */
unsigned jk_cap_depth(jk_cap cap);

/* Test hook: counters over the whole process (relaxed atomics; live_objects
 * is kept per thread and summed here, exact for every thread whose work is
 * joined or handed back under a lock). Tests use the
 * hash counters to prove re-hashing costs O(changed × log), and live_objects
 * to prove every body and tree node was freed. */
typedef struct jk_cap_stats {
    uint64_t page_hashes;    /* Data page objects hashed */
    uint64_t node_hashes;    /* Data and CNode inner nodes hashed */
    uint64_t root_hashes;    /* root records hashed (all four kinds) */
    uint64_t verify_hashes;  /* objects hashed by the loaders (integrity) */
    int64_t live_objects;    /* bodies and tree nodes allocated, not yet freed */
} jk_cap_stats;

void jk_cap_stats_get(jk_cap_stats *out);

/* ---------------------------------------------------------------------------
 * Data: a byte string of 0..JK_CAP_DATA_MAX_LEN bytes, held as a persistent
 * merkle tree over 4 KiB pages. Page i covers bytes [4096·i, 4096·(i+1)); the
 * last page may be short.
 * ------------------------------------------------------------------------- */

/* A Data holding a copy of bytes[0..len).
 * @param[in]  bytes  may be NULL when len is 0; copied.
 * @param[out] out    NEW reference.
 * @return JK_OK; JK_ERR_CAP_TOO_LARGE (len > JK_CAP_DATA_MAX_LEN);
 *         JK_ERR_NOMEM. O(len). */
jk_err jk_cap_data_new(const void *bytes, size_t len, jk_cap *out);

/* A Data of len zero bytes. Equal subtrees are shared, so this costs
 * O(log pages) time and memory whatever len is (and hashing it, too).
 * @return JK_OK, JK_ERR_CAP_TOO_LARGE, JK_ERR_NOMEM. */
jk_err jk_cap_data_new_zeroed(size_t len, jk_cap *out);

/* Length in bytes; 0 for a cap that is not a Data. */
uint64_t jk_cap_data_len(jk_cap data);

/* The bytes of a Data of one page (1 to JK_CAP_PAGE_SIZE bytes): its own
 * buffer, jk_cap_data_len bytes, never written, alive as long as a
 * reference to the Data is held. NULL for any other cap (empty, several
 * pages, not a Data). Lets a holder of the Data read its bytes without a
 * copy of its own (the chain's pool entries, session 16). */
const uint8_t *jk_cap_data_flat(jk_cap data);

/* Number of pages, ceil(len / 4096). 0 for any other kind. */
uint32_t jk_cap_data_page_count(jk_cap data);

/* Copy bytes [offset, offset+len) into dst.
 * @return JK_OK; JK_ERR_CAP_KIND (not a Data); JK_ERR_CAP_RANGE (the range
 *         is not inside the Data; nothing copied). O(len + log pages). */
jk_err jk_cap_data_read(jk_cap data, uint64_t offset, void *dst, size_t len);

/* A new Data equal to `data` with bytes [offset, offset+len) replaced by src.
 * The length never changes. Path-copies the pages the range touches; `data`
 * (borrowed) and every other holder of it see no change.
 * @param[out] out  NEW reference.
 * @return JK_OK; JK_ERR_CAP_KIND; JK_ERR_CAP_RANGE (range outside the Data);
 *         JK_ERR_NOMEM. O(pages touched · log pages). */
jk_err jk_cap_data_write(jk_cap data, uint64_t offset, const void *src,
                         size_t len, jk_cap *out);

/* Read-only pointer to page i, for the kernel's memory mappings.
 * @return a BORROWED pointer to 4096 bytes, 4096-aligned, valid as long as the
 *         caller holds `data` (or any cap sharing the page); bytes past the
 *         Data's length (in a short last page) read as zero. NULL when data is
 *         not a Data or i >= page count, or out of memory (a short last
 *         page of at most JK_CAP_SMALL_PAGE bytes is stored in a buffer of
 *         its own size, and its 4 KiB form is made on the first call; later
 *         calls cannot fail and return the same pointer). O(log pages),
 *         O(1) once the Data has its page index (below).
 *         Never write through it.
 *         Thread-safe, as every read of a value.
 * @note Page index (session 12): a Data of 8 pages or more whose pages were
 *       looked up (here or by jk_cap_data_spans) 16 + pages/16 times gets
 *       an index of its pages, 8 bytes a page, made once by the lookup
 *       that crosses that count and freed with the Data; nothing else
 *       about the value changes. Making it is the only allocation of
 *       these lookups besides the 4 KiB form above, and a lookup whose
 *       index cannot be allocated walks the tree as before. */
const uint8_t *jk_cap_data_page(jk_cap data, uint32_t i);

/* The pointers of pages [first, first+count) (same rules as jk_cap_data_page)
 * in O(count + log pages).
 * @return JK_OK, JK_ERR_CAP_KIND, JK_ERR_CAP_RANGE, JK_ERR_NOMEM (the last
 *         page's 4 KiB form, as jk_cap_data_page). */
jk_err jk_cap_data_pages(jk_cap data, uint32_t first, uint32_t count,
                         const uint8_t **out);

/* jk_cap_data_pages for a reader that stays inside the Data's length (the
 * kernel's DATA_READ): the pages as stored, each readable for 4096 bytes
 * except a short last page, readable only up to the Data's length. Never
 * fails for lack of memory: it allocates nothing but, once, the Data's
 * page index (jk_cap_data_page's note), and without it walks the tree.
 * @return JK_OK, JK_ERR_CAP_KIND, JK_ERR_CAP_RANGE. */
jk_err jk_cap_data_spans(jk_cap data, uint32_t first, uint32_t count,
                         const uint8_t **out);

/* Bulk page replacement, for minting dirty pages back after a call: a new Data
 * equal to `data` except that page index[j] holds pages[j] (j < count).
 * @param[in] index  strictly increasing page numbers, each < page count.
 * @param[in] pages  pages[j] points to 4096 bytes (copied; for a short last
 *                   page only its first len % 4096 bytes are taken, the rest
 *                   ignored). A page equal to the current one is kept shared,
 *                   hash included.
 * @param[out] out   NEW reference.
 * @return JK_OK; JK_ERR_CAP_KIND; JK_ERR_CAP_RANGE (an index too large or not
 *         strictly increasing); JK_ERR_NOMEM. O(count · log pages). */
jk_err jk_cap_data_replace_pages(jk_cap data, const uint32_t *index,
                                 const uint8_t *const *pages, size_t count,
                                 jk_cap *out);

/* ---------------------------------------------------------------------------
 * CNode: 2^k slots (k 0..16), each empty (the null cap) or holding one cap;
 * a persistent binary tree whose empty subtrees take no memory.
 * ------------------------------------------------------------------------- */

/* A CNode of 2^log2_slots empty slots. O(1).
 * @return JK_OK; JK_ERR_CAP_RANGE (log2_slots > 16); JK_ERR_NOMEM. */
jk_err jk_cap_cnode_new(unsigned log2_slots, jk_cap *out);

/* A CNode of 2^log2_slots slots holding slots[0..n) in its first n slots
 * (null caps allowed: empty slots) and the rest empty: the value the sets
 * of each slot into jk_cap_cnode_new's CNode give, built bottom-up in O(n)
 * nodes without a walk a slot (the chain layer's block bodies). slots are
 * BORROWED; *out is NEW.
 * @return JK_OK; JK_ERR_CAP_RANGE (log2_slots > 16, or n > 2^log2_slots);
 *         JK_ERR_CAP_TOO_DEEP (a slot's cap is already at the nesting
 *         bound); JK_ERR_NOMEM. Nothing is written on error. */
jk_err jk_cap_cnode_new_filled(unsigned log2_slots, const jk_cap *slots, size_t n, jk_cap *out);

/* k, and 2^k. 0 / 0 for a cap that is not a CNode. */
unsigned jk_cap_cnode_log2(jk_cap cnode);
uint32_t jk_cap_cnode_slot_count(jk_cap cnode);

/* The cap in slot i: BORROWED (valid while `cnode` is held; retain it to keep
 * it); the null cap when the slot is empty, i is out of range, or cnode is
 * not a CNode. O(k). */
jk_cap jk_cap_cnode_get(jk_cap cnode, uint32_t i);

/* The cap at a path of nested CNodes: slot idx[0] of `cnode`, then slot
 * idx[1] of the CNode found there, and so on for `count` levels (the walk of
 * the kernel's slot paths, in one loop). BORROWED, as jk_cap_cnode_get.
 * @return false when a level is not a CNode or its index is out of range
 *         (*out untouched); true otherwise, *out possibly the null cap.
 *         O(sum of the levels' k). */
bool jk_cap_cnode_get_path(jk_cap cnode, const uint32_t *idx, unsigned count, jk_cap *out);

/* A new CNode equal to `cnode` except that slot i holds `value` (the null cap
 * empties it). Path-copies one root-to-slot path; `cnode` and every other
 * holder of it see no change. Both arguments BORROWED (the new CNode takes its
 * own reference to value).
 * @param[out] out  NEW reference.
 * @return JK_OK; JK_ERR_CAP_KIND (cnode not a CNode); JK_ERR_CAP_RANGE (i out
 *         of range); JK_ERR_CAP_TOO_DEEP (1 + depth(value) > JK_CAP_MAX_DEPTH);
 *         JK_ERR_NOMEM. O(k). */
jk_err jk_cap_cnode_set(jk_cap cnode, uint32_t i, jk_cap value, jk_cap *out);

/* jk_cap_cnode_set for a caller that gives up its reference to the old CNode:
 * *cnode (an OWNED reference) is replaced by the CNode with slot i holding
 * `value` (BORROWED; the CNode takes its own reference). Where the caller's
 * reference is the only one to the CNode and to a node on the path, that
 * part is updated in place instead of copied (nobody else can see it, so no
 * holder observes a change; hashes cached on the path are dropped). The
 * value is the same as jk_cap_cnode_set's; only object identity differs. A
 * cap read from *cnode without its own reference may be freed by this call.
 * On error *cnode is unchanged.
 * @return as jk_cap_cnode_set. O(k). */
jk_err jk_cap_cnode_update(jk_cap *cnode, uint32_t i, jk_cap value);

/* jk_cap_cnode_update through nested CNodes: idx[0] is a slot of *cnode
 * (OWNED), idx[1] a slot of the CNode held there, and so on; the slot
 * idx[count-1] of the innermost CNode becomes `value` (BORROWED), and every
 * CNode on the way is replaced by its updated copy — the value is the one
 * the chain of jk_cap_cnode_set calls from the innermost CNode outwards
 * gives. Where every holder on the way is the caller's alone (the body and
 * the nodes on each path hold one reference), the nested CNodes change in
 * place; from the first shared one in, they are copied. A cap read from
 * *cnode without its own reference may be freed by this call. On error
 * *cnode is unchanged.
 * @return JK_OK; JK_ERR_INVALID_ARG (count is 0 or over 16); JK_ERR_CAP_KIND
 *         (a slot on the way does not hold a CNode); JK_ERR_CAP_RANGE (an
 *         index out of range); JK_ERR_CAP_TOO_DEEP (the outer CNode would
 *         nest deeper than JK_CAP_MAX_DEPTH); JK_ERR_NOMEM. O(count · k). */
jk_err jk_cap_cnode_update_path(jk_cap *cnode, const uint32_t *idx, unsigned count, jk_cap value);

/* The first non-empty slot at index >= from, skipping empty subtrees.
 * @param[out] index  the slot found.
 * @return true when found; false when none (or not a CNode). */
bool jk_cap_cnode_next(jk_cap cnode, uint32_t from, uint32_t *index);

/* ---------------------------------------------------------------------------
 * Image: a program's spec, validated when built.
 * ------------------------------------------------------------------------- */

typedef enum jk_cap_map_kind {
    /* From the root cnode's slot `slot` (a Data). Read-only when the slot is
     * pinned (access must then be READ); otherwise copy-on-write, minted back
     * at HALT (architecture §5). */
    JK_CAP_MAP_PERSISTENT = 0,
    /* Zero-filled for each call; slot must be 0. */
    JK_CAP_MAP_EPHEMERAL_ZERO = 1,
    /* Initialised for each call from the pinned Data in `slot`, zero past its
     * end; the Data may not be longer than the mapping. */
    JK_CAP_MAP_EPHEMERAL_INIT = 2,
} jk_cap_map_kind;

/* One memory mapping. base and size page-aligned, size > 0,
 * 64 KiB <= base, base + size <= 2^32; an Image's mappings do not overlap
 * (the Image keeps them sorted by base). */
typedef struct jk_cap_mapping {
    uint32_t base;
    uint32_t size;
    uint8_t kind;    /* jk_cap_map_kind */
    uint8_t access;  /* JK_PVM_ACCESS_READ or JK_PVM_ACCESS_WRITE */
    uint8_t slot;    /* root cnode slot, see the kinds above */
} jk_cap_mapping;

/* An entry point: where a CALL starts and its registers before the caller's
 * arguments are overlaid. pc must start a basic block. */
typedef struct jk_cap_endpoint {
    uint32_t pc;
    uint64_t regs[JK_PVM_REGS];
} jk_cap_endpoint;

/* A pinned slot: slot 1..255 holding a Data or an Image. */
typedef struct jk_cap_pin {
    uint32_t slot;
    jk_cap cap;
} jk_cap_pin;

/* What jk_cap_image_new builds from. Every pointer is borrowed for the call.
 * mappings and pins may come in any order (the Image sorts them; their
 * canonical order is by base / by slot); endpoint i is endpoints[i]. */
typedef struct jk_cap_image_spec {
    const uint8_t *code;        /* a PVM program blob (pvm.h); copied */
    size_t code_len;
    const jk_cap_mapping *mappings;
    uint32_t mapping_count;     /* <= JK_CAP_IMAGE_MAX_MAPPINGS */
    const jk_cap_endpoint *endpoints;
    uint32_t endpoint_count;    /* <= JK_CAP_IMAGE_MAX_ENDPOINTS */
    const jk_cap_pin *pins;     /* caps borrowed; the Image retains them */
    uint32_t pin_count;
    uint32_t yield_catcher_slot; /* 1..255, not pinned; 0 = none */
} jk_cap_image_spec;

/* Validate and build an Image.
 * Refused (JK_ERR_CAP_IMAGE, with the reason in diag): the code does not load
 * (jk_pvm_program_load; its reason is quoted) or is longer than
 * JK_CAP_IMAGE_MAX_CODE; too many endpoints; an endpoint pc that does not start
 * a basic block; too many mappings; a mapping not page-aligned, empty, below
 * the 64 KiB guard or past 2^32, overlapping another, of an unknown kind or
 * access, or with a bad slot (persistent from slot 0; ephemeral-zero with a
 * slot; ephemeral-init from a slot that is not a pinned Data, or from a Data
 * longer than the mapping; a writable persistent mapping of a pinned slot);
 * a pinned slot 0 or > 255, pinned twice, or holding anything but a Data or
 * an Image; a yield-catcher slot > 255 or pinned. JK_ERR_CAP_TOO_DEEP when a
 * pinned cap is JK_CAP_MAX_DEPTH deep; JK_ERR_INVALID_ARG when spec is NULL
 * or one of its arrays is NULL with a count above 0; JK_ERR_NOMEM.
 * @param[out] out   NEW reference.
 * @param[out] diag  optional. */
jk_err jk_cap_image_new(const jk_cap_image_spec *spec, jk_cap *out, jk_diag *diag);

/* Accessors; `image` must be an Image (precondition; checked by assert).
 * Everything returned is BORROWED from the Image and valid while it is held. */
jk_cap jk_cap_image_code(jk_cap image);                    /* the blob, a Data */
const jk_pvm_program *jk_cap_image_program(jk_cap image);  /* loaded once, shareable across threads */
uint32_t jk_cap_image_mapping_count(jk_cap image);
const jk_cap_mapping *jk_cap_image_mapping(jk_cap image, uint32_t i); /* sorted by base; NULL if i out of range */
uint32_t jk_cap_image_endpoint_count(jk_cap image);
const jk_cap_endpoint *jk_cap_image_endpoint(jk_cap image, uint32_t i); /* NULL if out of range */
uint32_t jk_cap_image_pin_count(jk_cap image);
const jk_cap_pin *jk_cap_image_pin(jk_cap image, uint32_t i); /* sorted by slot; NULL if out of range */
jk_cap jk_cap_image_pinned(jk_cap image, uint32_t slot);   /* null cap if slot not pinned */
uint32_t jk_cap_image_yield_catcher_slot(jk_cap image);    /* 0 = none */

/* ---------------------------------------------------------------------------
 * Instance: image, lineage (image_hash), a 256-slot root cnode, a status.
 *
 * Invariant (checked by every constructor): every slot the image pins holds
 * exactly the image's pinned cap.
 * ------------------------------------------------------------------------- */

typedef enum jk_cap_status {
    JK_CAP_IDLE = 0,
    JK_CAP_PAUSED = 1,   /* carries a continuation */
    JK_CAP_FAULTED = 2,
} jk_cap_status;

#define JK_CAP_FRAME_BLOCK_PAID 0x01u  /* frame flag: jk_pvm_state.block_paid */

/* A frame's memory: the region at `base` currently holds the bytes of `data`
 * (page-aligned base >= 64 KiB; regions of a frame sorted by base, each ending
 * — rounded up to a page — at or before the next one's base, and before 2^32). */
typedef struct jk_cap_region {
    uint32_t base;
    jk_cap data;
} jk_cap_region;

/* One frame of a continuation. Frame 0 is the caller-most (the paused instance
 * itself, as it was running), the last is the top of the stack.
 * `instance` is that frame's working instance value (Idle: a continuation
 * never nests inside a frame); endpoint < its image's endpoint count; flags
 * only JK_CAP_FRAME_BLOCK_PAID. The kernel fills pc, regs and gas from its
 * jk_pvm_state (the cap layer does not check pc against the program). */
typedef struct jk_cap_frame {
    jk_cap instance;
    uint8_t endpoint;
    uint32_t pc;
    uint64_t regs[JK_PVM_REGS];
    int64_t gas;
    uint8_t flags;
    uint32_t region_count;             /* <= JK_CAP_FRAME_MAX_REGIONS */
    const jk_cap_region *regions;
    /* Kernel bookkeeping, any value: jark's kernel records how many instances
     * the top-level invocation had created when it paused (the per-call
     * instance bound counts across resumes). */
    uint32_t spawned;
} jk_cap_frame;

/* The general constructor (the loader and the kernel use it): an Instance of
 * the given parts. status PAUSED needs 1..JK_CAP_MAX_FRAMES frames, the others
 * none. Everything is BORROWED and copied/retained.
 * @param[in] image       an Image.
 * @param[in] image_hash  the lineage hash, taken as given.
 * @param[in] cnode       a CNode of 256 slots whose pinned slots match image.
 * @param[out] out        NEW reference.
 * @return JK_OK; JK_ERR_CAP_KIND (a part of the wrong kind); JK_ERR_CAP_INSTANCE
 *         (cnode not 256 slots, pinned slot mismatch, bad status, bad frame
 *         count, a frame breaking the rules of jk_cap_frame / jk_cap_region);
 *         JK_ERR_CAP_TOO_DEEP; JK_ERR_INVALID_ARG (frames NULL with a
 *         frame_count above 0, or a frame's regions NULL with a region_count
 *         above 0); JK_ERR_NOMEM. Reason in diag (optional). */
jk_err jk_cap_instance_make(jk_cap image, const jk_hash *image_hash, jk_cap cnode,
                            jk_cap_status status, const jk_cap_frame *frames,
                            uint32_t frame_count, jk_cap *out, jk_diag *diag);

/* Genesis: an Idle instance of `image` whose image_hash is
 * H(kernel_id ‖ image_id(image)), with the image's pinned caps installed into
 * `cnode` (256 slots). A pinned slot of cnode that already holds a different
 * cap is a collision. image and cnode are BORROWED (cnode is not changed: the
 * instance gets a new cnode sharing it); *out is a NEW reference.
 * @return JK_OK; JK_ERR_CAP_KIND; JK_ERR_CAP_INSTANCE (cnode not 256 slots);
 *         JK_ERR_CAP_PINNED (collision); JK_ERR_CAP_TOO_DEEP; JK_ERR_NOMEM. */
jk_err jk_cap_instance_genesis(jk_cap image, jk_cap cnode, jk_cap *out,
                               jk_diag *diag);

/* DERIVE_SPAWN: a fresh Idle instance of `image` from `cnode` (256 slots) with
 * the image's pinned caps installed (collision rule as for genesis), and
 * image_hash = H(spawner.image_hash ‖ image_id(image)). spawner: any Instance.
 * All three BORROWED (the kernel drops its own reference to the consumed
 * cnode after the call); *out is a NEW reference.
 * @return as jk_cap_instance_genesis. */
jk_err jk_cap_instance_derive_spawn(jk_cap spawner, jk_cap image, jk_cap cnode,
                                    jk_cap *out, jk_diag *diag);

/* set_image: a new Idle instance with `image` in place of inst's image:
 * image_hash = H(inst.image_hash ‖ image_id(image)); the old image's pinned
 * slots are emptied, then the new image's pinned caps installed; a new pinned
 * slot that still holds something else is a collision. inst must be Idle.
 * Both BORROWED (inst is unchanged); *out is a NEW reference.
 * @return JK_OK; JK_ERR_CAP_KIND; JK_ERR_CAP_INSTANCE (inst not Idle);
 *         JK_ERR_CAP_PINNED; JK_ERR_CAP_TOO_DEEP; JK_ERR_NOMEM. */
jk_err jk_cap_instance_set_image(jk_cap inst, jk_cap image, jk_cap *out,
                                 jk_diag *diag);

/* Copy (MGMT_COPY) is jk_cap_retain: the copy keeps image_hash and everything
 * else, continuation included. */

/* inst with another root cnode, same image and image_hash, Idle (the kernel
 * uses it at HALT). Both BORROWED; *out is a NEW reference.
 * @return as jk_cap_instance_make. */
jk_err jk_cap_instance_with_cnode(jk_cap inst, jk_cap cnode, jk_cap *out,
                                  jk_diag *diag);

/* inst with status IDLE or FAULTED and no continuation (DROP_PAUSED; a
 * fault). inst BORROWED; *out is a NEW reference.
 * @return JK_OK; JK_ERR_CAP_KIND; JK_ERR_CAP_INSTANCE (status PAUSED or
 *         unknown); JK_ERR_NOMEM. */
jk_err jk_cap_instance_with_status(jk_cap inst, jk_cap_status status, jk_cap *out);

/* inst Paused with the given continuation (1..JK_CAP_MAX_FRAMES frames; the
 * frames and their caps are BORROWED and copied/retained, so the caller keeps
 * and frees its array). inst BORROWED; *out is a NEW reference.
 * @return as jk_cap_instance_make. */
jk_err jk_cap_instance_pause(jk_cap inst, const jk_cap_frame *frames,
                             uint32_t frame_count, jk_cap *out, jk_diag *diag);

/* Accessors; `inst` must be an Instance (precondition; checked by assert).
 * Caps and pointers returned are BORROWED, valid while inst is held. */
jk_cap jk_cap_instance_image(jk_cap inst);
void jk_cap_instance_image_hash(jk_cap inst, jk_hash *out);
jk_cap jk_cap_instance_cnode(jk_cap inst);
jk_cap_status jk_cap_instance_status(jk_cap inst);
uint32_t jk_cap_instance_frame_count(jk_cap inst);  /* 0 unless Paused */
/* Frame i (caller-most first), or NULL when i >= frame count. */
const jk_cap_frame *jk_cap_instance_frame(jk_cap inst, uint32_t i);

/* ---------------------------------------------------------------------------
 * Objects: export (for committing) and load (from a store)
 *
 * A value is stored as objects, each one tree node or one root record
 * (docs/cap.md lists every layout), named by H(object bytes). Children
 * appear by hash; the null cap and an all-empty CNode subtree by 32 zeros.
 * ------------------------------------------------------------------------- */

/* Where jk_cap_export sends objects. */
typedef struct jk_cap_sink {
    void *ctx;
    /* Set *present when the destination already holds the object named h;
     * its whole subtree is then skipped (a sink must only hold objects whose
     * children it holds too: export puts children before their parent). */
    jk_err (*has)(void *ctx, const jk_hash *h, bool *present);
    /* Store bytes[0..len) under h (bytes valid only during the call). */
    jk_err (*put)(void *ctx, const jk_hash *h, const uint8_t *bytes, size_t len);
} jk_cap_sink;

/* Send every object reachable from cap that the sink lacks, children before
 * parents, each at most once per call if the sink's has() sees its own puts.
 * Committing after a change of c pages/slots sends O(c · log) objects.
 * @param[in] cap  borrowed; not the null cap.
 * @return JK_OK; JK_ERR_CAP_KIND (null cap); JK_ERR_INVALID_ARG (sink, or
 *         one of its functions, NULL); JK_ERR_NOMEM; or whatever the sink's
 *         functions return (export stops at the first error). */
jk_err jk_cap_export(jk_cap cap, const jk_cap_sink *sink, jk_diag *diag);

/* Where jk_cap_load reads objects from. */
typedef struct jk_cap_source {
    void *ctx;
    /* Find the object named h: *bytes, *len must stay valid until the load
     * returns. Return JK_ERR_CAP_MISSING when absent. */
    jk_err (*get)(void *ctx, const jk_hash *h, const uint8_t **bytes, size_t *len);
} jk_cap_source;

/* Rebuild the value named `hash`, eagerly: every object reachable from it is
 * read once (shared subtrees are built once and shared), re-hashed
 * (H(bytes) must equal its name), strictly decoded (canonical form only:
 * every object must re-encode to exactly its bytes), and built with the
 * ordinary constructors, so an Image is validated and its program loaded, and
 * every Instance invariant holds. Hashes are cached in the result.
 * @param[out] out  NEW reference.
 * @return JK_OK; JK_ERR_CAP_MISSING (an object absent); JK_ERR_CAP_CORRUPT
 *         (bytes that do not hash to their name); JK_ERR_CAP_DECODE
 *         (malformed, truncated, trailing bytes, unknown tag, non-canonical,
 *         an object of the wrong type where a child is expected);
 *         JK_ERR_CAP_TOO_LARGE (a length or count over its bound);
 *         JK_ERR_CAP_TOO_DEEP; JK_ERR_CAP_IMAGE / JK_ERR_CAP_INSTANCE /
 *         JK_ERR_CAP_KIND (a value its constructor refuses); JK_ERR_NOMEM;
 *         JK_ERR_INVALID_ARG (src, src->get, hash or out NULL); any other
 *         error src->get returns, as it is. Never crashes on any input.
 *         Reason in diag (optional). */
jk_err jk_cap_load(const jk_cap_source *src, const jk_hash *hash, jk_cap *out,
                   jk_diag *diag);

/* Syntax check of one object's bytes (what the loader checks before it looks
 * at children): tag, exact length, counts and bounds, field ranges, ordering.
 * @return JK_OK; JK_ERR_CAP_DECODE; JK_ERR_CAP_TOO_LARGE. */
jk_err jk_cap_object_check(const uint8_t *bytes, size_t len, jk_diag *diag);

/* ---------------------------------------------------------------------------
 * The store: LMDB, hash → object, plus named heads (docs/cap.md "Store").
 *
 * Durability (docs/cap.md "Store: syncs"): a crash at any point leaves the
 * store at a whole committed transaction (copy-on-write B-trees). A head
 * commit costs one disk sync, and a machine crash (power loss; not a process
 * crash) may undo the latest head commit only. jk_cap_store_write and
 * jk_cap_store_put are durable when they return, and make every earlier
 * commit durable too. A batch (jk_cap_store_batch_begin) groups head commits
 * into one transaction and one sync.
 * Invariant: an object is present only if every object it names is too.
 * ------------------------------------------------------------------------- */

typedef struct jk_cap_store jk_cap_store;

typedef struct jk_cap_store_options {
    size_t map_size;   /* LMDB map size in bytes (upper bound on the file);
                          0 = 1 GiB */
} jk_cap_store_options;

/* Open (creating if needed) the store in directory dir (created if missing).
 * @param[in]  opt   NULL for defaults.
 * @param[out] out   the store; close with jk_cap_store_close.
 * @return JK_OK; JK_ERR_INVALID_ARG (dir or out NULL); JK_ERR_IO (dir cannot
 *         be created); JK_ERR_CAP_STORE (LMDB refused; its message in diag);
 *         JK_ERR_CAP_STORE_FULL (a new store's two databases do not fit a
 *         map_size that small); JK_ERR_NOMEM.
 * @note The handle may be used by one thread at a time (its async commits
 *       run on a writer thread of its own, which the handle waits for). Do not open one
 *       directory twice in a process (LMDB's rule). Not fork-safe: a child
 *       must not use a handle opened by its parent. */
jk_err jk_cap_store_open(const char *dir, const jk_cap_store_options *opt,
                         jk_cap_store **out, jk_diag *diag);

/* Close; NULL is a no-op. */
void jk_cap_store_close(jk_cap_store *store);

/* Store one object (its own transaction), after checking it like
 * jk_cap_object_check and that every object it names is present.
 * @param[out] hash  optional: its name, H(bytes).
 * @return JK_OK (also when already present); JK_ERR_CAP_DECODE /
 *         JK_ERR_CAP_TOO_LARGE; JK_ERR_CAP_MISSING (a child absent);
 *         JK_ERR_CAP_STORE; JK_ERR_CAP_STORE_FULL. */
jk_err jk_cap_store_put(jk_cap_store *store, const uint8_t *bytes, size_t len,
                        jk_hash *hash, jk_diag *diag);

/* Fetch one object's bytes, checking H(bytes) == hash.
 * @param[out] bytes, len  a malloc'd copy the caller frees.
 * @return JK_OK; JK_ERR_CAP_MISSING; JK_ERR_CAP_CORRUPT; JK_ERR_CAP_STORE;
 *         JK_ERR_NOMEM. */
jk_err jk_cap_store_get(jk_cap_store *store, const jk_hash *hash, uint8_t **bytes,
                        size_t *len, jk_diag *diag);

/* Whether the object named hash is present. @return JK_OK, JK_ERR_CAP_STORE. */
jk_err jk_cap_store_has(jk_cap_store *store, const jk_hash *hash, bool *present,
                        jk_diag *diag);

/* Commit: in ONE LMDB transaction, write every object reachable from cap that
 * the store lacks (skipping any subtree whose root it has) and set the head
 * record `head` (1..255 bytes of any value) to cap's hash. All or nothing.
 * @param[in]  cap      borrowed; not the null cap.
 * @param[out] written  optional: number of objects written.
 * @return JK_OK; JK_ERR_INVALID_ARG (bad head name); JK_ERR_CAP_KIND (null
 *         cap); JK_ERR_CAP_STORE; JK_ERR_CAP_STORE_FULL; JK_ERR_NOMEM. On
 *         failure the store is as before. */
jk_err jk_cap_store_commit(jk_cap_store *store, const char *head, jk_cap cap,
                           uint64_t *written, jk_diag *diag);

/* The hash a head record names.
 * @return JK_OK; JK_ERR_INVALID_ARG; JK_ERR_CAP_MISSING (no such head);
 *         JK_ERR_CAP_CORRUPT (record not 32 bytes); JK_ERR_CAP_STORE. */
jk_err jk_cap_store_head(jk_cap_store *store, const char *head, jk_hash *out,
                         jk_diag *diag);

/* Load the value named hash from the store: jk_cap_load over one read
 * transaction (eager, integrity-checked; see jk_cap_load for the errors, plus
 * JK_ERR_CAP_STORE). *out is a NEW reference. */
jk_err jk_cap_store_load(jk_cap_store *store, const jk_hash *hash, jk_cap *out,
                         jk_diag *diag);

/* ---------------------------------------------------------------------------
 * Tables: an upper layer's records in the store's environment
 *
 * Beside the objects and heads, a store holds up to JK_CAP_STORE_MAX_TABLES
 * named tables: plain byte-string key → value maps, sorted by key (memcmp),
 * that this layer never reads. They exist so that an upper layer's records
 * (the node's block archive: block, certificate) commit in the SAME
 * transaction as a head (jk_cap_store_commit_with): a crash leaves both or
 * neither. The cap layer knows nothing of what they hold.
 *
 * A jk_cap_store_txn is only valid inside the callback it is handed to;
 * pointers read through it (get, seek) are valid until the callback returns.
 * ------------------------------------------------------------------------- */

#define JK_CAP_STORE_MAX_TABLES 8

typedef uint32_t jk_cap_table;                  /* a table of one open store */
typedef struct jk_cap_store_txn jk_cap_store_txn;
/* Runs inside a transaction; non-JK_OK aborts it (that error is returned). */
typedef jk_err (*jk_cap_store_txn_fn)(void *ctx, jk_cap_store_txn *txn, jk_diag *diag);

/* Open (creating if missing) the table `name` (1..64 bytes, not "objects" or
 * "heads") in its own write transaction; the same name again gives the same
 * table. Call it before any other transaction of the handle is open.
 * @return JK_OK; JK_ERR_INVALID_ARG (bad name); JK_ERR_CAP_STORE (LMDB, or
 *         over JK_CAP_STORE_MAX_TABLES). */
jk_err jk_cap_store_table(jk_cap_store *store, const char *name, jk_cap_table *out,
                          jk_diag *diag);

/* jk_cap_store_commit, and fn(ctx, txn) inside the same write transaction
 * after the head is set: the head, the objects and whatever fn writes commit
 * together, or nothing does (fn NULL: jk_cap_store_commit). head NULL with
 * cap null and fn set: fn's rows alone, in a transaction of the same kind
 * (one sync, no head moved, no object written: the node's block archive
 * between two state checkpoints, docs/node.md "Checkpoints").
 * @return what jk_cap_store_commit returns, or fn's error (the store is then
 *         as before). */
jk_err jk_cap_store_commit_with(jk_cap_store *store, const char *head, jk_cap cap,
                                jk_cap_store_txn_fn fn, void *ctx, uint64_t *written,
                                jk_diag *diag);

/* jk_cap_store_commit_with on the store's writer thread (docs/cap.md "Store:
 * commits on a writer thread"): returns once the commit is queued; the
 * writer then commits and syncs it, meta page included (durable when done).
 * One at a time: this call first waits for the previous one, and so does
 * every other function of the handle (reads see every commit asked for; a
 * flush or durable write follows it on disk). Inside a batch it runs here,
 * as jk_cap_store_commit_with. fn runs on the writer thread with ctx; then
 * ctx_free(ctx) (may be NULL) is called there, or here when nothing was
 * queued. A process killed before the writer's commit keeps the store as it
 * was before it. head NULL, cap null, fn set: fn's rows alone (as
 * jk_cap_store_commit_with).
 * @param[in] cap  retained by the job; the caller may release it at once.
 * @return JK_OK (queued, or done inside a batch); the error of the previous
 *         async commit, which sticks (every later write fails: "reopen the
 *         store"); what jk_cap_store_commit_with returns before queuing
 *         (bad head, null cap; inside a batch, all of them);
 *         JK_ERR_CAP_STORE (no writer thread). */
jk_err jk_cap_store_commit_async(jk_cap_store *store, const char *head, jk_cap cap,
                                 jk_cap_store_txn_fn fn, void *ctx, void (*ctx_free)(void *ctx),
                                 jk_diag *diag);
/* Wait until the async commit queued last is done (durable).
 * @return JK_OK; the error of an async commit that failed (sticky). */
jk_err jk_cap_store_wait(jk_cap_store *store, jk_diag *diag);

/* How many threads wait for the writer's commit now (0 when none runs):
 * for fault-injection tests, whose hook on the writer thread learns that
 * the handle's thread is held back by it. Does not wait. */
unsigned jk_cap_store_waiters(jk_cap_store *store);

/* fn inside one write transaction (committed, durable, when fn returns JK_OK)
 * or one read transaction.
 * @return JK_OK; fn's error; JK_ERR_CAP_STORE / JK_ERR_CAP_STORE_FULL. */
jk_err jk_cap_store_write(jk_cap_store *store, jk_cap_store_txn_fn fn, void *ctx, jk_diag *diag);
jk_err jk_cap_store_read(jk_cap_store *store, jk_cap_store_txn_fn fn, void *ctx, jk_diag *diag);

/* Inside a transaction. Keys are 1..511 bytes.
 * put (write transactions only): insert or replace.
 * get: *val points into the store (read only, valid in this callback).
 * del (write transactions only): remove.
 * @return JK_OK; JK_ERR_CAP_MISSING (get/del: no such key; no diag);
 *         JK_ERR_INVALID_ARG (bad table or key); JK_ERR_CAP_STORE;
 *         JK_ERR_CAP_STORE_FULL. */
/* put, with the value written by the caller in place: *val is vlen bytes
 * of the store's page, valid until the next write of this transaction
 * (session 9: the block archive's row, ~115 KB for 512 events, is then
 * copied once, not built in a buffer that LMDB copies again).
 * @return as put. */
jk_err jk_cap_txn_reserve(jk_cap_store_txn *t, jk_cap_table table, const void *key, size_t klen, size_t vlen,
                          uint8_t **val, jk_diag *diag);
jk_err jk_cap_txn_put(jk_cap_store_txn *t, jk_cap_table table, const void *key, size_t klen,
                      const void *val, size_t vlen, jk_diag *diag);
jk_err jk_cap_txn_get(jk_cap_store_txn *t, jk_cap_table table, const void *key, size_t klen,
                      const uint8_t **val, size_t *vlen, jk_diag *diag);
jk_err jk_cap_txn_del(jk_cap_store_txn *t, jk_cap_table table, const void *key, size_t klen,
                      jk_diag *diag);

typedef struct jk_cap_table_entry {
    const uint8_t *key, *val;   /* into the store, valid in this callback */
    size_t key_len, val_len;
} jk_cap_table_entry;
/* The first entry whose key is >= key (klen 0: the first entry), or with
 * last, the entry of the greatest key.
 * @return JK_OK; JK_ERR_CAP_MISSING (none; no diag); JK_ERR_INVALID_ARG;
 *         JK_ERR_CAP_STORE. */
jk_err jk_cap_txn_seek(jk_cap_store_txn *t, jk_cap_table table, const void *key, size_t klen,
                       bool last, jk_cap_table_entry *out, jk_diag *diag);
/* Entries in the table. @return JK_OK; JK_ERR_INVALID_ARG; JK_ERR_CAP_STORE. */
jk_err jk_cap_txn_count(jk_cap_store_txn *t, jk_cap_table table, uint64_t *count, jk_diag *diag);

/* ---------------------------------------------------------------------------
 * Batches and syncs (docs/cap.md "Store: syncs")
 *
 * Between jk_cap_store_batch_begin and jk_cap_store_batch_end, head commits
 * (jk_cap_store_commit, jk_cap_store_commit_with) are nested transactions of
 * ONE LMDB write transaction: each is still all or nothing (a failed one
 * leaves the batch as it was), every read of this handle sees them, and the
 * batch commits with one sync at its end. A crash before the end leaves the
 * store as it was before the batch: a whole earlier head. What must be
 * durable ends the batch first: jk_cap_store_write, jk_cap_store_put,
 * jk_cap_store_table, jk_cap_store_sync; jk_cap_store_close ends it too.
 * ------------------------------------------------------------------------- */

/* Open a batch (JK_OK when one is open already).
 * @return JK_OK; JK_ERR_CAP_STORE. */
jk_err jk_cap_store_batch_begin(jk_cap_store *store, jk_diag *diag);
/* Commit the open batch (JK_OK when none is open). On failure the batch's
 * commits are all lost: the store is as before the batch, and the handle
 * refuses every later write (JK_ERR_CAP_STORE, "reopen the store"): what its
 * user built on those commits is ahead of the store.
 * @return JK_OK; JK_ERR_CAP_STORE; JK_ERR_CAP_STORE_FULL. */
jk_err jk_cap_store_batch_end(jk_cap_store *store, jk_diag *diag);
bool jk_cap_store_in_batch(const jk_cap_store *store);
/* End an open batch, then make every commit durable (flush the meta page).
 * @return JK_OK; JK_ERR_CAP_STORE; JK_ERR_CAP_STORE_FULL. */
jk_err jk_cap_store_sync(jk_cap_store *store, jk_diag *diag);
/* jk_cap_store_sync, but no disk write when every commit is durable
 * already (none since the last durable write or sync): what a write kept
 * elsewhere (the node's vote log) calls first so that it never reaches the
 * disk ahead of a head commit made before it.
 * @return JK_OK; JK_ERR_CAP_STORE; JK_ERR_CAP_STORE_FULL. */
jk_err jk_cap_store_flush(jk_cap_store *store, jk_diag *diag);
/* jk_cap_export / jk_cap_load as the store runs them (its layout 2,
 * docs/cap.md "Store: CNode groups"): CNode inner nodes go out and come
 * back as group records — four levels of nodes under the top node's hash
 * (a CNode's root, or a node whose height is a multiple of 4); every other
 * object as jk_cap_export writes it. The hashes are the same. For the
 * store, tools that read its records, and the fuzz target.
 * @return as jk_cap_export / jk_cap_load (a damaged group: JK_ERR_CAP_CORRUPT
 *         or JK_ERR_CAP_DECODE, "cnode group ..." in diag). */
jk_err jk_cap_export_grouped(jk_cap cap, const jk_cap_sink *sink, jk_diag *diag);
jk_err jk_cap_load_grouped(const jk_cap_source *src, const jk_hash *hash, jk_cap *out, jk_diag *diag);
/* Is bytes a sound record of the store's "objects" table under key: an
 * object that hashes to key and parses (jk_cap_object_check), or a CNode
 * group whose top node hashes to key (docs/cap.md "Store: CNode groups")?
 * For tools and tests that read the table directly.
 * @return JK_OK; JK_ERR_CAP_CORRUPT; JK_ERR_CAP_DECODE. */
jk_err jk_cap_store_record_check(const jk_hash *key, const uint8_t *bytes, size_t len, jk_diag *diag);
/* The store's directory (as opened; valid until close). */
const char *jk_cap_store_path(const jk_cap_store *store);

/* What a handle has done since open (for measurements and tests). */
#define JK_CAP_STORE_TAGS 8
typedef struct jk_cap_store_stats {
    uint64_t commits;   /* LMDB write transactions committed to the file */
    uint64_t batched;   /* head commits merged into a batch (no disk write) */
    uint64_t in_batch;  /* of those, in the batch open now (0: none open) */
    uint64_t syncs;     /* disk syncs asked for (fdatasync/fsync): one per
                           commit, one more per durable write or sync */
    /* objects written (and their bytes) by tag (JK_CAP_TAG_*; 0: other),
       including those of commits that then failed */
    uint64_t objects[JK_CAP_STORE_TAGS], object_bytes[JK_CAP_STORE_TAGS];
    /* head commits' has() questions (one per object the export reached:
       a subtree skipped at its root is one), those answered present, and
       those of them answered without an LMDB lookup (docs/cap.md "Store:
       the written-keys filter") */
    uint64_t has_asked, has_present, has_known;
} jk_cap_store_stats;
void jk_cap_store_stats_get(const jk_cap_store *store, jk_cap_store_stats *out);

#endif
