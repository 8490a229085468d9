/*
 * internal.h — the kernel's call stack (shared by kernel.c, push.c, loop.c,
 * call.c, frame.c and hostcall.c).
 *
 * A frame is one running instance: its working instance value (image and
 * lineage), its working root cnode, a PVM memory built lazily from the
 * image's mappings, and the PVM state. Nothing a frame does is visible to its
 * caller before it HALTs: the caller's cnode still holds `original` at the
 * frame's path until then.
 *
 * slot[0] during a CALL: the caller's slot[0] moves to the callee; the
 * caller's own slot 0 keeps what it sent as a stash nobody can observe (the
 * caller is not running), so that a FAULT can give it back — also after a
 * pause and resume, since the stash is part of the caller's captured cnode.
 */
#ifndef JK_KERNEL_INTERNAL_H
#define JK_KERNEL_INTERNAL_H

#include "jark/kernel.h"

#include <stddef.h>
#include <string.h>

/* Out of the hot path's way: refusals, faults, pauses and the rare host
 * calls go to .text.unlikely, so that the code an admitted event's verify
 * runs (the loop, the common host calls) sits in fewer instruction-cache
 * lines (docs/bench.md "Admission, session 9"). Never changes what runs. */
#define JK_COLD __attribute__((cold, noinline))

/* What a host call asks of the call loop. */
typedef enum jk_hc_action {
    JK_HC_CONTINUE,  /* resume the frame */
    JK_HC_FAULT,     /* fault the frame (reason in the kernel's fault fields) */
    JK_HC_PUSH,      /* a CALL / CALL_RESUME pushed frames: run the new top */
    JK_HC_YIELD,     /* the frame yields the marker at φ7's path */
    /* Left by a YIELD begun in compiled code (loop.c, jk_serve_yield) for
     * the loop to finish: */
    JK_HC_YIELD_REST, /* the pause and delivery (k->yielding) */
    JK_HC_UNWIND,     /* the embedder's serve failed (root->serve_err) */
} jk_hc_action;

/* A YIELD whose marker was found and whose yielder's slot[0] was taken
 * (owned references), the frame at `catcher` catching it (-1: none, the
 * embedder's). */
typedef struct jk_yielding {
    jk_cap marker, slot0;
    int catcher;
    jk_err err; /* how taking slot[0] went */
} jk_yielding;

typedef struct jk_hc_result {
    jk_hc_action action;
    jk_kernel_fault fault;
    char msg[160];
    uint64_t reason;                           /* JK_FAULT_GUEST */
    char reason_text[JK_KERNEL_REASON_MAX + 1];
} jk_hc_result;

/* One mapping of a running frame. */
typedef struct jk_fmap {
    jk_cap_mapping m;
    jk_cap data;       /* the pages the region starts from (owned ref): the
                          slot's Data, the pinned init Data, a captured region;
                          null for a zero region */
    uint32_t data_pages;
    uint32_t price_pages; /* the pages a first touch past which also pays for
                             copying them (jk_resolve): data_pages, or after
                             an in-place resume the pages of the region a
                             pause would have captured */
    jk_cap slot_data;  /* persistent, unpinned: the slot's Data at CALL (or
                          resume) */
    bool mint;         /* minted back into slot m.slot at HALT */
    bool past_init_paid; /* a page past the region's Data (initialising or
                            captured at a pause) was touched and
                            the copy a pause makes of that Data paid */
    bool replaced;     /* the frame wrote slot m.slot itself (a host call whose
                          destination is that root slot, or a SET_IMAGE that
                          pins or unpins it): no mint-back. A flag, never a
                          comparison of cap objects, so that a state reloaded
                          from the store (equal values merged into one object)
                          decides exactly as one built in memory. */
    bool pinned;
    /* The dirty list scanned so far (jk_frame.dirty_seen): whether a page of
     * the region was written, and the pages up to the last one written. */
    bool dirtied;
    uint32_t written_pages;
} jk_fmap;

/* The root slots a frame wrote since its cnode was last brought up to date
 * (slots.c, docs/kernel.md "The working root"): the frame's root cnode is
 * `cnode` with these slots replaced. A slot write is a retain and a store
 * here, where in the tree it was a path copy or an in-place update of the
 * 256-slot root (~800 instructions); the tree is brought up to date
 * (jk_kernel_frame_flush) only where a value of the whole cnode is made —
 * a HALT to a new instance, a pause, SET_IMAGE — or when the table is full.
 * A verify's root frame, whose HALT value nobody keeps
 * (JK_KERNEL_CALL_NO_INSTANCE), never builds it. */
#define JK_WROOT_MAX 32
typedef struct jk_wroot {
    uint64_t bits[JK_CAP_ROOT_SLOTS / 64]; /* slot s is here: bit s */
    uint8_t count;
    uint8_t depth;                  /* >= jk_cap_depth of each val since the
                                       last flush (an upper bound of the
                                       cnode's depth, jk_kernel_cnode_depth_bound) */
    uint8_t pos[JK_CAP_ROOT_SLOTS]; /* val[pos[s]] (only where bit s is set) */
    uint8_t slot[JK_WROOT_MAX];
    jk_cap val[JK_WROOT_MAX];       /* owned */
} jk_wroot;

typedef struct jk_frame {
    jk_cap original;      /* the instance as the caller held it (owned) */
    jk_cap inst;          /* working instance: image and lineage (owned) */
    jk_cap cnode;         /* working root cnode (owned), under `w` (last) */
    jk_cap exec_image;    /* the image whose code runs (owned; SET_IMAGE
                             changes inst, not this) */
    const jk_pvm_program *prog;
    jk_pvm_memory *mem;
    jk_pvm_state st;
    uint32_t endpoint;
    uint64_t path;        /* where the caller holds this instance */
    bool set_image_ran;   /* SET_IMAGE ran in this frame: it cannot be paused */
    /* Memory growth (JK_GAS_PER_PAGE_TOUCHED): the cost of pages mapped on
     * first touch during the current jk_pvm_run, paid when it returns; the
     * resolver maps a page only while run_gas covers it all, else it sets
     * starved and the
     * access faults, which the loop turns into OUT_OF_GAS at that access.
     * Pages a host call touches are in the host call's price (in_host). */
    int64_t run_gas;
    int64_t run_cost;
    bool starved;
    bool in_host;
    /* In-place resumes cost what the run since the last one did, not the
     * whole memory (a yield loop after touching 16,384 pages cost the host
     * 170 ns a unit of gas): the pages the resolver mapped or unparked since
     * the last park (live_all: too many to keep, park everything), and how
     * much of the dirty list the mappings' dirtied / written_pages cover. */
    uint32_t *live;
    size_t live_count, live_cap;
    bool live_all;
    size_t dirty_seen;
    jk_fmap *maps;
    /* Root slots a persistent mapping comes from (bit s: slot s), so that a
     * write of any other slot skips jk_kernel_frame_slot_written's walk of
     * the mappings (session 14). Set with maps, which never change after. */
    uint64_t persist_slots[JK_CAP_ROOT_SLOTS / 64];
    uint32_t map_count;
    uint32_t map_cap;     /* entries maps has room for (reused, see jk_kernel) */
    /* The root slots inst's image pins (bit s: slot s), and whether one of
     * them, or a path below one, was written since the frame's cnode was its
     * instance's (session 16). Until then the pins hold: an Instance value
     * holds its image's pinned caps in their slots (every constructor checks
     * it, cap/instance.c), so the checks a pause, an in-place resume and
     * DERIVE_SPAWN make of them (jk_kernel_frame_pins_hold) are answered
     * without looking. */
    uint64_t pin_slots[JK_CAP_ROOT_SLOTS / 64];
    bool pins_moved;
    jk_kernel *kernel;
    /* The cap the last DATA_LEN / DATA_READ found at read_path (BORROWED
     * from cnode), while read_known: a binary search reads one slot ~10
     * times in a row. Every change of cnode forgets it
     * (jk_kernel_frame_forget), before the old value can be released. */
    bool read_known;
    uint64_t read_path;
    jk_cap read_cap;
    uint64_t read_size;   /* jk_cap_data_len(read_cap) */
    /* Page read_page_index of read_cap (jk_cap_data_spans), or NULL: a
     * binary search's reads of one record-sized Data land on one page. A
     * Data is a value, so the page stays while read_cap lives. */
    const uint8_t *read_page;
    uint32_t read_page_index;
    jk_wroot w;           /* root slots written since cnode was (slots.c);
                             last, so that jk_kernel_frame_zero stops
                             before its arrays */
} jk_frame;

/* Zero f as a fresh frame: all but the working root's arrays, which are
 * read only where its bits say (a frame is set up and released at every
 * CALL: 840 bytes less to clear). Done once, at release: every frame above
 * the stack's top is zero (jk_kernel_new's calloc, then each release), so
 * a push fills it without clearing it again. */
static inline void jk_kernel_frame_zero(jk_frame *f) { memset(f, 0, offsetof(jk_frame, w.pos)); }

/* f's cnode is about to change: what jk_kernel_hostcall_serve_read remembers of
 * it is no longer true. */
static inline void jk_kernel_frame_forget(jk_frame *f) { f->read_known = false; }

struct jk_kernel {
    FILE *debug;
    jk_pvm_engine engine; /* from jk_kernel_config */
    jk_frame frames[JK_KERNEL_MAX_DEPTH];
    uint32_t depth;
    uint32_t instances_made;  /* by the current top-level call */
    jk_hash *markers;         /* hashes of kernel-minted markers */
    size_t marker_count;
    jk_cap marker_image;      /* the (trap-only) image markers are made of */
    /* A released frame's mappings array and live-page list, kept for the
     * next frame pushed at the same depth (a frame's setup then allocates
     * nothing, nor does its first page touch). */
    struct {
        jk_fmap *maps;
        uint32_t cap;
        uint32_t *live;
        size_t live_cap;
    } spare_maps[JK_KERNEL_MAX_DEPTH];
    uint64_t served_in_place;  /* yields jk_kernel_call_served answered in place */
    uint64_t page_scans;       /* jk_kernel_page_scans */
    jk_pvm_mem_pool *mem_pool; /* frames' memories, reused (this kernel's
                                  thread only, as the kernel itself) */
    /* Host calls served in compiled code (loop.c, jk_serve_in_code): one
     * that ended otherwise than "continue" leaves its result here for the
     * loop (hc_done), which then only acts on it. */
    uint64_t hostcalls_in_code;
    uint64_t hostcalls_handed_on; /* of those, by jk_kernel_hostcall_paid */
    bool hc_done;
    jk_err hc_err;
    jk_hc_result hc;
    struct jk_root *root;   /* the running loop's (jk_kernel_loop) */
    jk_yielding yielding;   /* JK_HC_YIELD_REST's */
    uint64_t runs;          /* entries into a frame's program (jk_kernel_runs) */
};

/* ---- frame.c ---- */

/* Set up f's memory from its exec image's mappings and cnode (lazily: pages
 * are mapped on first touch). `regions` (optional, from a continuation)
 * replaces each mapping's starting pages.
 * @return JK_OK, JK_ERR_NOMEM, or JK_ERR_INVALID_ARG with the reason in msg
 *         (a persistent slot that holds no Data, a Data larger than its
 *         region, regions that do not match the mappings). */
jk_err jk_kernel_frame_memory(jk_frame *f, const jk_cap_region *regions, uint32_t region_count,
                       char *msg, size_t msg_len);

/* At HALT: mint each persistent mapping's dirty pages back into its slot of
 * f->cnode (unless the frame replaced that slot itself). */
jk_err jk_kernel_frame_mint(jk_frame *f);

/* The frame is about to write root slot `slot` of its cnode: a persistent
 * mapping of that slot is no longer minted back. */
void jk_kernel_frame_slot_mapped_written(jk_frame *f, uint32_t slot);
static inline void jk_kernel_frame_slot_written(jk_frame *f, uint32_t slot)
{
    if (slot < JK_CAP_ROOT_SLOTS && (f->persist_slots[slot >> 6] >> (slot & 63) & 1))
        jk_kernel_frame_slot_mapped_written(f, slot);
}

/* The frame as a continuation frame: its instance (inst with cnode), pc,
 * registers, flags and memory regions. Caps in *out are NEW references, the
 * regions array is malloc'd: free both with jk_kernel_frame_capture_free. */
jk_err jk_kernel_frame_capture(jk_frame *f, int64_t gas, jk_cap_frame *out);
void jk_kernel_frame_capture_free(jk_cap_frame *cf);

/* Whether a pause of f would capture it and a resume rebuild it without
 * failing (jk_kernel_frame_capture, jk_cap_instance_with_cnode, jk_kernel_frame_memory):
 * what the in-place resume needs to be indistinguishable from them. *depth
 * is raised to the nesting of the instance the capture would make. */
bool jk_kernel_frame_pausable(jk_frame *f, unsigned *depth);

/* Turn f into the frame a pause and resume would rebuild (the in-place
 * resume, docs/abi.md): every page it mapped is parked, so its next touch is
 * charged as on a fresh memory, a mapping's region is priced as the captured
 * one, and the per-resume flags start again. Contents stay. */
void jk_kernel_frame_resume_in_place(jk_frame *f);

/* Release everything a frame holds and zero it. */
void jk_kernel_frame_release(jk_frame *f);

/* ---- slots.c: a frame's slots ---- */

/* Slot paths: bits 60..63: depth d (0 is read as 1); bits 0..7: the root
 * slot; bits 8..23, 24..39, 40..55: the slots in the nested CNodes of levels
 * 1..3. Unused fields and bits 56..59 must be zero (docs/abi.md). */
static inline bool jk_path_decode(uint64_t path, unsigned *depth, uint32_t idx[JK_KERNEL_MAX_PATH_DEPTH])
{
    if (path < 256) { /* a root slot, the common case: what the rules below give */
        idx[0] = (uint32_t)path;
        idx[1] = idx[2] = idx[3] = 0;
        *depth = 1;
        return true;
    }
    unsigned d = (unsigned)(path >> 60);
    if (d == 0)
        d = 1;
    if (d > JK_KERNEL_MAX_PATH_DEPTH || (path >> 56 & 0xF))
        return false;
    /* Levels past the depth must be zero: bits 8 + 16·(d−1) .. 55. */
    _Static_assert(JK_KERNEL_MAX_PATH_DEPTH == 4, "three 16-bit levels below the root slot");
    if (d < 4 && (path & ((UINT64_C(1) << 56) - (UINT64_C(1) << (8 + 16 * (d - 1))))))
        return false;
    idx[0] = (uint32_t)(path & 0xFF);
    idx[1] = (uint32_t)(path >> 8 & 0xFFFF);
    idx[2] = (uint32_t)(path >> 24 & 0xFFFF);
    idx[3] = (uint32_t)(path >> 40 & 0xFFFF);
    *depth = d;
    return true;
}

/* Whether root slot s is one f's image pins (s < 256). */
static inline bool jk_kernel_slot_pinned(const jk_frame *f, uint32_t s)
{
    return f->pin_slots[s >> 6] >> (s & 63) & 1;
}

/* f->pin_slots from f->inst's image. */
void jk_kernel_frame_pins(jk_frame *f);

/* Whether each slot f->inst's image pins holds the pinned cap
 * (jk_cap_equal), as jk_cap_instance_with_cnode(f->inst, f's cnode) asks:
 * at once while no pinned slot was written (pins_moved), else looked at. */
bool jk_kernel_frame_pins_hold(const jk_frame *f);

/* Root slot s of f's cnode (BORROWED; null past the root's 256 slots). */
static inline jk_cap jk_kernel_slot(const jk_frame *f, uint32_t s)
{
    if (s < JK_CAP_ROOT_SLOTS && (f->w.bits[s >> 6] >> (s & 63) & 1))
        return f->w.val[f->w.pos[s]];
    return jk_cap_cnode_get(f->cnode, s);
}

/* The cap at the decoded slot path idx[0..d) of f's cnode (BORROWED):
 * false when a level is no CNode or its index is out of range. */
static inline bool jk_kernel_path_walk(const jk_frame *f, const uint32_t *idx, unsigned d, jk_cap *out)
{
    jk_cap root = jk_kernel_slot(f, idx[0]);
    if (d == 1) {
        *out = root;
        return true;
    }
    return jk_cap_cnode_get_path(root, idx + 1, d - 1, out);
}

/* Write root slot s of f's cnode. Errors as jk_cap_cnode_update's: a value
 * too deep to sit in a slot (JK_ERR_CAP_TOO_DEEP), s past the root
 * (JK_ERR_CAP_RANGE), JK_ERR_NOMEM (a full table brought into the tree);
 * on error the slot is unchanged. */
jk_err jk_kernel_slot_set(jk_frame *f, uint32_t s, jk_cap value);

/* Slot paths (docs/abi.md) of f's cnode: read the cap at path (BORROWED), or
 * write `value` there: JK_ERR_INVALID_ARG when the path names no slot,
 * JK_ERR_CAP_TOO_DEEP past the nesting bound, JK_ERR_NOMEM; on error
 * nothing changed. Nested CNodes change in place where held once, else are
 * path-copied (jk_cap_cnode_update_path). A cap read from f without its own
 * reference may be freed by any write of f. */
bool jk_kernel_path_get(const jk_frame *f, uint64_t path, jk_cap *out);
jk_err jk_kernel_path_update(jk_frame *f, uint64_t path, jk_cap value);
/* jk_kernel_path_update of a path already decoded (idx[0..d), jk_path_decode). */
jk_err jk_kernel_path_update_at(jk_frame *f, const uint32_t *idx, unsigned d, jk_cap value);

/* Bring f->cnode up to date with the slots f wrote (the working root
 * emptied): JK_ERR_NOMEM leaves what was not yet written in the table, so
 * f's slots are the same either way. */
jk_err jk_kernel_frame_flush(jk_frame *f);

/* At least the depth of f's cnode (jk_cap_depth of the tree a flush would
 * make); exact when nothing is in the table. */
static inline unsigned jk_kernel_cnode_depth_bound(const jk_frame *f)
{
    unsigned d = jk_cap_depth(f->cnode);
    return f->w.count && f->w.depth + 1u > d ? f->w.depth + 1u : d;
}

/* ---- hostcall.c ---- */


#define JK_MAX_COPY (64u << 20) /* DATA_READ / DATA_MINT: bytes per call */

/* Pages a copy of len bytes is priced for (0 past the bound: refused before
 * any work). */
static inline int64_t jk_pages_of(uint64_t len, uint64_t bound)
{
    if (len > bound)
        return 0;
    return (int64_t)((len + JK_PVM_PAGE_SIZE - 1) / JK_PVM_PAGE_SIZE);
}

/* Levels a write at path rebuilds, priced (0 for a malformed path: refused). */
static inline int64_t jk_levels(uint64_t path)
{
    unsigned d;
    uint32_t idx[JK_KERNEL_MAX_PATH_DEPTH];
    return jk_path_decode(path, &d, idx) ? (int64_t)d * JK_GAS_PER_LEVEL_WRITTEN : 0;
}

/* What host call `n` of the top frame costs beyond JK_KERNEL_HOSTCALL_GAS,
 * from its arguments (docs/abi.md "Gas schedule"); no side effects. */
int64_t jk_kernel_hostcall_price(jk_kernel *k, uint64_t n);

/* Decode and perform host call `n` for the top frame. */
jk_err jk_kernel_hostcall(jk_kernel *k, uint64_t n, jk_hc_result *out);

/* hostcall_code.c: host calls served in compiled code (jk_serve_in_code,
 * loop.c), for frame f, the top of k, whose run is at the `ecalli`: each
 * answers as jk_pvm_host_fn does (pvm.h) and leaves gas, registers, slots,
 * memory and k->hc / hc_done / hc_err as the loop's exit, price, call and
 * re-entry would. jk_kernel_hostcall_paid: host call n, its price paid
 * (gas: the frame's gas after the run's page touches and the price), by
 * jk_kernel_hostcall. jk_kernel_hostcall_serve_read: DATA_LEN, DATA_READ or
 * CAP_KIND, priced, paid (or JK_PVM_HOST_EXIT when it cannot be) and done. */
jk_pvm_host_answer jk_kernel_hostcall_paid(jk_kernel *k, jk_frame *f, uint64_t n, int64_t gas);
jk_pvm_host_answer jk_kernel_hostcall_serve_read(jk_kernel *k, jk_frame *f, uint64_t n);
/* The same for DROP and MOVE, and for DATA_MINT and CNODE_MINT (root slots
 * the short way). */
jk_pvm_host_answer jk_kernel_hostcall_serve_move(jk_kernel *k, jk_frame *f, uint64_t n);
jk_pvm_host_answer jk_kernel_hostcall_serve_mint(jk_kernel *k, jk_frame *f, uint64_t n);
/* GAS: its price is the host call's alone (no path). */
jk_pvm_host_answer jk_kernel_hostcall_serve_gas(jk_kernel *k, jk_frame *f);

/* ---- push.c ---- */

/* Push frames for a CALL of target (Idle) / a resume of a Paused instance,
 * made by the frame below (or by the embedder when depth is 0). On failure
 * nothing is pushed. */
jk_err jk_kernel_push_call(jk_kernel *k, jk_cap target, uint64_t path, uint32_t endpoint, int64_t gas,
                    const uint64_t args[3], jk_cap slot0, jk_hc_result *why);
jk_err jk_kernel_push_resume(jk_kernel *k, jk_cap paused, uint64_t path, int64_t gas, jk_cap slot0,
                      jk_hc_result *why);

/* Put slot0 into f's slot 0 (replacing what is there); JK_OK at once when
 * nothing changes. Errors as jk_cap_cnode_update. */
jk_err jk_kernel_give_slot0(jk_frame *f, jk_cap slot0);

/* ---- kernel.c ---- */

bool jk_kernel_is_marker(const jk_kernel *k, const jk_hash *h);

/* Release every frame on the stack (depth becomes 0). */
void jk_kernel_unwind(jk_kernel *k);

/* ---- loop.c ---- */

/* The embedder's side of a running call (set up by call.c). */
typedef struct jk_root jk_root;
struct jk_root {
    int64_t gas;             /* given by the embedder */
    jk_cap sent_slot0;       /* borrowed from the embedder's call (or held) */
    jk_kernel_result *res;
    /* jk_kernel_call_served: answers yields to this kernel's markers */
    jk_kernel_serve_fn serve;
    void *serve_ctx;
    bool answered;           /* serve said stop to the yield being delivered */
    jk_err serve_err;        /* serve failed: the call ends with this */
    jk_cap held;             /* owned: an in-place resume's slot0, which is
                                then what "the embedder sent" (sent_slot0) */
    bool no_instance;        /* JK_KERNEL_CALL_NO_INSTANCE */
    bool take_slot0;         /* JK_KERNEL_CALL_TAKE_SLOT0: sent_slot0 is owned
                                until the push, null after it */
};

/* Run until the stack is empty, starting with `pending` (the setup's
 * outcome: JK_HC_FAULT faults the top frame first). Returns an error only
 * when the kernel itself cannot go on (out of memory; the stack is then
 * unwound); every guest outcome lands in root->res. */
jk_err jk_kernel_loop(jk_kernel *k, jk_root *root, jk_hc_result *pending);

#endif
