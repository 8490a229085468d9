/*
 * internal.h — what the files of src/chain share: little-endian integer
 * access for the fixed-width fields of headers (docs/block-format.md), and
 * the Kernel's helpers used by both cycle.c and apply.c.
 */
#ifndef JK_CHAIN_INTERNAL_H
#define JK_CHAIN_INTERNAL_H

#include "jark/chain.h"

#include "jark/bytes.h"
#include "jark/pvm.h"

#include <stdint.h>
#include <string.h>

/* memcmp(a, b, 32) < 0, == 0, > 0 alike (the sign is all callers read), for
 * the 32-byte keys and hashes the chain's sorted runs compare (session 14):
 * their first eight bytes, as one big-endian word, decide nearly every
 * comparison of random keys, without a call into memcmp. */
static inline int jk_chain_cmp32(const uint8_t *a, const uint8_t *b)
{
    uint64_t x, y;
    memcpy(&x, a, 8);
    memcpy(&y, b, 8);
    if (x != y) {
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_BIG_ENDIAN__
        x = __builtin_bswap64(x); /* byte order = memcmp's order */
        y = __builtin_bswap64(y);
#endif
        return x < y ? -1 : 1;
    }
    return memcmp(a + 8, b + 8, 24);
}

/* "inject Cap::Instance[AAImage]": a fresh AA instance holding the attest
 * marker in slot JK_CHAIN_AA_MARKER_SLOT. *out NEW. */
jk_err jk_chain_inject_aa(const jk_chain_kernel *ck, jk_cap *out);

/* A 4-slot CNode holding a in slot 0 and b in slot 1 (a scratchpad). *out NEW. */
jk_err jk_chain_pair(jk_cap a, jk_cap b, jk_cap *out);

/* Empty the cycle's state: the dispatch buffers, the seen keys, the cycle's
 * traces; with `pool`, the pool too. setup_cycle and the end of apply_block
 * call it, so no cycle sees another's state. */
void jk_chain_cycle_reset(jk_chain_kernel *ck, bool pool);

/* A 4-slot CNode holding a, b, c in slots 0..2 (c may be null). *out NEW. */
jk_err jk_chain_triple(jk_cap a, jk_cap b, jk_cap c, jk_cap *out);

/* ---- block_dispatch.c: the dispatch part of a body ---- */
typedef void (*jk_chain_put_fn)(void *ctx, const void *p, size_t n);
/* Check d's bounds; *out: its encoded size. */
jk_err jk_chain_dispatch_size(const jk_chain_dispatch_part *d, size_t *out, jk_diag *diag);
void jk_chain_dispatch_write(const jk_chain_dispatch_part *d, jk_chain_put_fn put, void *ctx);
/* What a scan of an encoded part found (counts and totals to allocate). */
typedef struct jk_chain_dispatch_counts {
    bool ran;
    size_t consumed, queued, process_traces, blob_total, trace_total;
} jk_chain_dispatch_counts;
/* Walk and check the part at bytes[*pos..len) without allocating; *pos
 * moves past it. */
jk_err jk_chain_dispatch_scan(const uint8_t *bytes, size_t len, size_t *pos, jk_chain_dispatch_counts *out,
                              jk_diag *diag);
/* Fill *out from the part at bytes[pos..) that scan accepted. Only NOMEM. */
jk_err jk_chain_dispatch_fill(const uint8_t *bytes, size_t len, size_t pos, const jk_chain_dispatch_counts *sc,
                              jk_chain_dispatch_part *out);
/* A deep copy of src into *dst (fresh). Only NOMEM. */
jk_err jk_chain_dispatch_copy(const jk_chain_dispatch_part *src, jk_chain_dispatch_part *dst);
/* The encoded size of one traced event. */
size_t jk_chain_traced_size(const jk_chain_traced_event *e);

/* ---- pool.c ---- */
/* Room for `need` elements of `size` bytes in arr, which has room for *cap:
 * grows geometrically (doubling, from 8), so n appends cost O(n) copies in
 * all, not O(n²). Returns the array (moved, *cap updated, when it grew), or
 * NULL out of memory (arr and *cap unchanged). */
void *jk_chain_grow(void *arr, size_t *cap, size_t need, size_t size);
/* An item of a sort (hashset.c): its place `at` in the caller's array and
 * the first eight bytes of its 32-byte key as a big-endian word (memcmp's
 * order), which the sort compares inline. */
typedef struct jk_chain_ord {
    uint64_t head;
    size_t at;
} jk_chain_ord;
/* The big-endian word of p's first eight bytes (a jk_chain_ord's head). */
static inline uint64_t jk_chain_head64(const uint8_t *p)
{
    uint64_t w;
    memcpy(&w, p, 8);
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_BIG_ENDIAN__
    w = __builtin_bswap64(w);
#endif
    return w;
}
/* Sort ord[0..n) by head, equal heads by tie(ctx, a.at, b.at) < 0 (a
 * first), stably (equal items keep their order): a bottom-up merge sort
 * through tmp (n long). Returns the sorted array: ord or tmp. qsort's call
 * of a comparator for every comparison cost ~430 Ir a key (session 15);
 * here tie is called only when two heads are equal. */
typedef int (*jk_chain_ord_tie)(const void *ctx, size_t a, size_t b);
jk_chain_ord *jk_chain_ord_sort(jk_chain_ord *ord, jk_chain_ord *tmp, size_t n, jk_chain_ord_tie tie,
                                const void *ctx);
bool jk_chain_hashset_contains(const jk_chain_hashset *s, const jk_hash *h);
jk_err jk_chain_hashset_add(jk_chain_hashset *s, const jk_hash *h);
void jk_chain_hashset_clear(jk_chain_hashset *s);
void jk_chain_hashset_free(jk_chain_hashset *s);
void jk_chain_pooled_free(jk_chain_pooled *list, size_t n);
/* Free what one entry owns (blob, traces, its Data). */
void jk_chain_pooled_drop(jk_chain_pooled *e);
/* Empty the pool (entries, index, per-key counts, seen keys). */
void jk_chain_pool_clear(jk_chain_kernel *ck);
/* The refusals that need no verify (duplicate, count, bytes): a reason, or
 * NULL when the transact may go on to its verify. */
const char *jk_chain_pool_precheck(const jk_chain_kernel *ck, const jk_hash *hash, size_t blob_len,
                                   size_t trace_count);
/* Copy blob and traces into *out, whose hash is *hash (the event hash of
 * (endpoint, blob), when the caller has it) or computed (hash NULL). */
jk_err jk_chain_pooled_make(const uint8_t *blob, size_t len, const jk_chain_trace *traces, size_t n,
                            jk_chain_endpoint endpoint, const jk_hash *hash, jk_chain_pooled *out);
/* Admit a verified transact under the pool's rules: *refused says why not
 * (then nothing changed). hash: ev's event hash, or NULL to compute it.
 * take: NULL (traces are copied), or the address of the caller's heap
 * array `traces` (malloc'd; its room may exceed trace_count): an admitted
 * entry keeps that array and sets *take to NULL; otherwise *take is left
 * as it was and stays the caller's to free. data: NULL, or the address of
 * the caller's Data of the blob (its verify's): an admitted entry takes
 * that reference (jk_chain_pooled.data; its blob is the Data's bytes when
 * one page) and sets *data to null; otherwise it stays the caller's. */
jk_err jk_chain_pool_admit(jk_chain_kernel *ck, const jk_chain_event *ev, const jk_hash *hash,
                           const jk_chain_trace *traces, size_t trace_count, jk_chain_trace **take, jk_cap *data,
                           const jk_chain_keyset *seen, const char **refused);
/* No recheck (docs/chain-design.md): whether e needs no verify before a
 * block of this cycle takes it (its stamp is this chain state's, or this
 * cycle's for a kernel-made one). */
bool jk_chain_pooled_current(const jk_chain_kernel *ck, const jk_chain_pooled *e);
/* Make the pool list[0..n) (moved in, list freed): entries in order under
 * the pool's rules as at admission (duplicates, count, bytes, per key), no
 * verify run; what they refuse is freed. pool_seen_keys: the keys of the
 * current entries. Only JK_ERR_NOMEM (what was not put back is lost). */
jk_err jk_chain_pool_rebuild(jk_chain_kernel *ck, jk_chain_pooled *list, size_t n);
/* Produce's selection: the longest prefix of the pool within the body's
 * bounds, after verifying in pool order every entry of it that is not
 * current (and dropping those verify now refuses, ck->stats.pool_dropped),
 * so a produced body holds only transacts verified in its cycle. Needs an
 * open cycle. *n: the prefix's length. Only JK_ERR_NOMEM. */
jk_err jk_chain_pool_select(jk_chain_kernel *ck, size_t *n);
/* Queue *entry (moved in when *kept) for the next cycle; bounded by
 * JK_CHAIN_MAX_QUEUED (over it, *kept is false and the caller frees it). */
jk_err jk_chain_queue_push(jk_chain_kernel *ck, jk_chain_pooled *entry, bool *kept);

/* handle_incoming_event in two halves (verify_pool.c runs the first on
 * worker threads). */
typedef struct jk_chain_verdict {
    bool admit;
    jk_cap event;          /* the event instance verify handed back (NEW);
                              kept for a dispatch endpoint only (null for
                              a transact: nothing reads it) */
    jk_hash hash;          /* the event's hash (jk_chain_event_hash), computed once */
    jk_chain_keyset seen;  /* the keys its attests used */
    jk_chain_trace *used;  /* the traces its attests used, in first-use order */
    size_t used_count;
    char why[160];         /* why it was dropped */
    bool ran;              /* the verify program ran (ck->stats.verify_runs) */
    int64_t gas;           /* the gas that run used (the replay verify budget;
                              only an admitted verdict's is read) */
    uint32_t deferred;     /* attests whose signature check waited for the
                              end of the run (jk_chain_verify_start, defer) */
    bool remembered;       /* its used traces are in the signature cache
                              already (jk_chain_prepare_events): admission
                              need not insert them again */
    bool has_blob_msg;     /* blob_msg = jk_chain_attest_msg_hash of the
                              event's blob (an attest of it ran): the pool
                              entry keeps it (jk_chain_pooled) */
    jk_hash blob_msg;
    jk_cap data;           /* the blob's Data the verify ran on (a transact's;
                              the pool entry keeps it: jk_chain_pooled.data) */
} jk_chain_verdict;

/* The fault text of an invocation stopped by a refused attest. */
#define JK_CHAIN_ATTEST_REFUSED "attest refused"

/* One attest of a deferred verify run: the key and message it asked for. */
#define JK_PENDING_INLINE 2
typedef struct jk_chain_pending_attest {
    uint8_t key[JK_ED25519_PUBLIC_SIZE];
    jk_hash msg;
} jk_chain_pending_attest;

/* The AttestationAuthority in verify mode (cycle.c): the event's own traces
 * must hold a valid signature by the key over the blob. With defer, an
 * attest that has a trace to check is answered "yes" at once and queued in
 * pending; jk_chain_verify_settle checks them after the run, in order. */
typedef struct jk_verify_mode {
    const jk_chain_kernel *ck;
    const jk_hash *genesis;
    const jk_chain_trace *traces;
    size_t trace_count;
    jk_chain_keyset seen;
    jk_chain_trace *used;
    size_t used_count, used_cap;
    bool defer;
    jk_chain_pending_attest *pending;
    size_t pending_count, pending_cap;
    const uint8_t *ev_blob; /* the event's blob: an attest of exactly it */
    size_t ev_len;          /* hashes to blob_msg, once known */
    bool has_blob_msg;
    jk_hash blob_msg;
    /* the first JK_PENDING_INLINE pending attests, while pending is NULL (a
     * transfer has one: a realloc and a free each verify before, ~250
     * instructions; session 14) */
    jk_chain_pending_attest pending_in[JK_PENDING_INLINE];
} jk_verify_mode;

/* A verify between its run and its verdict (jk_chain_verify_start, then
 * jk_chain_verify_settle). Everything in it is owned by it. */
typedef struct jk_chain_verify_run {
    bool started;          /* the program ran: settle has a result to judge */
    bool dispatch;
    jk_err run_err;        /* the kernel refused to run or finish it (not NOMEM) */
    jk_cap event_verify, blob, aa, scratchpad;
    jk_verify_mode mode;
    jk_kernel_result res;
} jk_chain_verify_run;

/* The replay verify budget of one block (docs/chain-design.md, "Dispatch on
 * a network"): the gas of the verify runs of the events a block's dispatch
 * part consumes — the queue's first, never refused; then the gossiped ones,
 * each admitted only if the sum stays within it. The chain's apply budget:
 * replaying a block's dispatch part costs an importer at most about what
 * its apply may. */
#define JK_CHAIN_REPLAY_VERIFY_GAS(ck) ((ck)->gas.block)

jk_err jk_chain_verify_event(const jk_chain_kernel *ck, jk_kernel *kernel, const jk_chain_event *ev,
                             const jk_chain_trace *traces, size_t trace_count, jk_chain_verdict *out);
/* pooled: the event is a pooled transact verified again (produce), so the
 * pool's duplicate and fullness checks, which it would fail against itself,
 * are skipped. known: jk_chain_event_hash(ev) when the caller has it (NULL:
 * hashed here). known_msg: jk_chain_attest_msg_hash of ev's blob when the
 * caller has it (a pooled entry's blob_msg; NULL: hashed at its attest). */
jk_err jk_chain_verify_event_ex(const jk_chain_kernel *ck, jk_kernel *kernel, const jk_chain_event *ev,
                                const jk_chain_trace *traces, size_t trace_count, bool pooled,
                                const jk_hash *known, const jk_hash *known_msg, jk_chain_verdict *out);
void jk_chain_verdict_free(jk_chain_verdict *v);
/* The attest message of each event's own blob, jk_chain_attest_msg_hash's
 * H(tag ‖ G ‖ blob), four at a time (attest.c): have[i] says whether out[i]
 * was hashed — only blobs that fit one BLAKE2b block with the tag and G
 * (82 bytes: a demo transfer's blob exactly); the others are left to their
 * attest's streaming hash. */
void jk_chain_attest_msg_hashes(const jk_hash *genesis, const jk_chain_event *evs, size_t n, jk_hash *out,
                                bool *have);

/* jk_chain_verify_event_ex in two halves, so that a batch of events can run
 * their verify programs back to back and then their signature checks back
 * to back (verify_pool.c): the kernel's code and libsodium's then each stay
 * in the instruction cache instead of evicting each other at every attest
 * (docs/bench.md, "verify_events wall gap, session 8"). start fills *out
 * where no run is needed and runs the program otherwise; with defer, an
 * attest with a trace to check is accepted at once and its check waits.
 * settle checks the waiting attests in the order they were made: the first
 * that fails is where a run that checked at the attest would have aborted,
 * so the verdict is that abort's ("attest refused"); else it is the run's.
 * Every verdict equals jk_chain_verify_event_ex's (the gas of a refused
 * one aside, which nobody reads). Call settle after every start, whatever
 * start returned; *run is then empty.
 * @return JK_OK or JK_ERR_NOMEM (either half). */
jk_err jk_chain_verify_start(const jk_chain_kernel *ck, jk_kernel *kernel, const jk_chain_event *ev,
                             const jk_chain_trace *traces, size_t trace_count, bool pooled,
                             const jk_hash *known, const jk_hash *known_msg, bool defer,
                             jk_chain_verify_run *run, jk_chain_verdict *out);
jk_err jk_chain_verify_settle(jk_chain_verify_run *run, jk_chain_verdict *out);
/* v->used may move into the pool (then v->used is NULL; verdict_free as
 * before). */
jk_err jk_chain_admit(jk_chain_kernel *ck, const jk_chain_event *ev, jk_chain_verdict *v, const char **refused);

/* The block's context as apply sees it in slot[0][2] (docs/chain-design.md,
 * "apply's scratchpad"): number u64 LE ‖ proposer u32 LE ‖ round u32 LE. */
typedef struct jk_block_context {
    uint64_t number;
    uint32_t proposer, round;
} jk_block_context;

/* What one chain.apply made: the chain after it and its outgoing emits;
 * with ran, the block's process ran and `queued` (its dispatch emits) is the
 * next cycle's queue before apply's own dispatch emits. */
typedef struct jk_applied {
    jk_cap chain;               /* NEW */
    jk_chain_pooled *emits;     /* slot[0] at HALT, read (no traces) */
    size_t emit_count;
    bool ran;
    jk_chain_pooled *queued;
    size_t queued_count;
} jk_applied;

/* Empty what run_cycle_process made in the open cycle (apply.c). */
void jk_chain_process_outputs_clear(jk_chain_kernel *ck);

/* Dispatch_k.process for every k over the open cycle's buffers (apply.c).
 * carried NULL: produce mode (run_cycle_process). Otherwise import mode: the
 * i-th attest of all the runs must match carried[i] (key, message, valid
 * signature) and pass the seen-rule; a run that does not HALT gives back
 * the traces it matched (the proposer's block has none of it); *used: how
 * many were matched. Both modes: the outputs in ck->process_* /
 * cycle_transacts / cycle_queued, within their bounds. */
jk_err jk_chain_process_run(jk_chain_kernel *ck, const jk_chain_trace *carried, size_t carried_count,
                            size_t *used, uint64_t processed[JK_CHAIN_MAX_DISPATCH_ENDPOINTS]);

/* Give produce's block b its dispatch part: the open cycle's consumed
 * events (dispatch_src, k ascending), process traces and queued emits
 * (dispatch.c). */
jk_err jk_chain_produced_dispatch(jk_chain_kernel *ck, jk_chain_block *b, jk_diag *why);
/* jk_chain_block_build, body_hash left zero (block.c): the caller sets the
 * dispatch part (which hashes the body) or hashes it itself. */
jk_err jk_chain_block_build_unhashed(const jk_hash *parent, uint64_t number, uint32_t proposer,
                                     const jk_hash *state_root, const jk_chain_event *events, size_t event_count,
                                     const jk_chain_trace *traces, size_t trace_count, jk_chain_block *out,
                                     jk_diag *diag);

/* Import's replay of a block's dispatch part on the current head
 * (import_dispatch.c): JK_OK when it re-derives (*queued, *queued_count:
 * the next cycle's queue from process, fresh), JK_ERR_CHAIN_BLOCK_INVALID
 * with the reason otherwise. Leaves ck's cycle, pool and queue unchanged. */
jk_err jk_chain_dispatch_replay(jk_chain_kernel *ck, const jk_chain_block *block, jk_chain_pooled **queued,
                                size_t *queued_count, jk_diag *why);


void jk_chain_applied_clear(jk_applied *a);

/* Run chain.apply (apply.c) over events with `decide` and the block context;
 * on HALT fills *out. Anything that stops apply short of HALT is
 * JK_ERR_CHAIN_APPLY with the reason; only JK_ERR_NOMEM is passed on.
 * datas: NULL, or for each event a Data of exactly its blob (a pool
 * entry's) or null — the body's Data for it, made when null. */
jk_err jk_chain_run_apply(jk_chain_kernel *ck, const jk_chain_event *events, const jk_cap *datas, size_t n,
                          const jk_block_context *ctx_block, jk_chain_attest_fn decide, void *ctx,
                          jk_applied *out, jk_diag *why);

/* apply_block's end in both modes (apply.c): the chain becomes applied->chain
 * (moved out), the cycle ends, the pool becomes keep[0..keep_count) (moved
 * in), apply's emits are kept and routed. Cannot fail. */
void jk_chain_advance(jk_chain_kernel *ck, jk_applied *applied, jk_chain_pooled *keep, size_t keep_count);

/* emits.c: slot[0]'s emits CNode at HALT read into a fresh list (each
 * entry carrying traces[0..n); malformed ones dropped; blob bytes priced
 * against gas, the rest dropped); apply's emits routed (transacts to the
 * pool, dispatches queued); a process's routed to the cycle's transacts
 * and queue. The routing consumes the list's entries and frees it. */
jk_err jk_chain_read_emits(const jk_chain_kernel *ck, jk_cap emits, const jk_chain_trace *traces, size_t n,
                           int64_t gas, jk_chain_pooled **out, size_t *count);
jk_err jk_chain_route_emits(jk_chain_kernel *ck, jk_chain_pooled *list, size_t n);
jk_err jk_chain_route_process_emits(jk_chain_kernel *ck, jk_chain_pooled *list, size_t n);

/* Release what jk_chain_check_block kept (import.c). */
void jk_chain_checked_free(jk_chain_kernel *ck);

/* ---- sigcache.c ---- */
/* Does t's signature verify? A hit in the cache of earlier successes, or a
 * check now. Only reads ck. */
bool jk_chain_sig_ok(const jk_chain_kernel *ck, const jk_chain_trace *t);
/* Is t in the cache of earlier successes? (No check on a miss.) */
bool jk_chain_sig_cached(const jk_chain_kernel *ck, const jk_chain_trace *t);
/* Record that t verified (call only after it did); one already there is
 * made the youngest. */
void jk_chain_sig_remember(jk_chain_kernel *ck, const jk_chain_trace *t);
/* t leaves the cache (its event was committed). */
void jk_chain_sig_forget(jk_chain_kernel *ck, const jk_chain_trace *t);
/* For tests: t's first candidate set (in the cache ck has or would make),
 * and the entries the cache holds. */
size_t jk_chain_sig_home(const jk_chain_kernel *ck, const jk_chain_trace *t);
size_t jk_chain_sig_entries(const jk_chain_kernel *ck);
/* For tests: set the cache's insert clock (making the cache first). */
void jk_chain_sig_clock_set(jk_chain_kernel *ck, uint32_t clock);
/* jk_chain_trace_find_valid, answering signature checks through the cache. */
bool jk_chain_find_valid(const jk_chain_kernel *ck, const jk_chain_trace *traces, size_t n,
                         const uint8_t key[JK_ED25519_PUBLIC_SIZE], const jk_hash *msg_hash, size_t *index);

/* ---- import_sigs.c ---- */
/* The signature checks of a block's traces[0..n), run ahead of apply on
 * `threads` − 1 workers (0 or 1: none; each trace then checked when asked),
 * after marking the cache's hits valid. traces must stay unchanged until
 * finish. JK_ERR_NOMEM: nothing started. */
typedef struct jk_chain_sigjobs jk_chain_sigjobs;
jk_err jk_chain_sigjobs_start(const jk_chain_kernel *ck, const jk_chain_trace *traces, size_t n, unsigned threads,
                              jk_chain_sigjobs **out);
/* Does traces[i]'s signature verify? A worker's finished result, or a
 * check now on the calling thread (never a wait), with the unclaimed traces
 * after it in the same batch. Call from the thread that started j. */
bool jk_chain_sigjobs_valid(jk_chain_sigjobs *j, size_t i);
/* Was traces[i] valid by a cache hit (so already in the cache)? */
bool jk_chain_sigjobs_cached(jk_chain_sigjobs *j, size_t i);
/* How many signature checks the calling thread has made (a figure for
 * tests and benchmarks; the workers' are not counted). */
size_t jk_chain_sigjobs_checked(const jk_chain_sigjobs *j);
/* Stop the workers (each finishes the check it holds), join them, free j.
 * NULL is a no-op. */
void jk_chain_sigjobs_finish(jk_chain_sigjobs *j);

/* ---- moved from jark/chain.h (session 15): used by src/chain alone ---- */

/* Release a dispatch part's memory and zero it (block_free calls it). */
void jk_chain_dispatch_part_free(jk_chain_dispatch_part *d);

/* jk_chain_invoke with jk_kernel_call_served_flags's flags (a verify's
 * JK_KERNEL_CALL_NO_INSTANCE: res->instance null after a HALT;
 * JK_KERNEL_CALL_TAKE_SLOT0: the call consumes the caller's reference to
 * slot0, and an abort's res->slot0 is the null cap). */
jk_err jk_chain_invoke_flags(jk_kernel *k, jk_cap marker, jk_cap target, uint32_t endpoint,
                             int64_t gas, const uint64_t args[3], jk_cap slot0,
                             jk_chain_attest_fn decide, void *ctx, unsigned flags,
                             uint32_t *attests, jk_kernel_result *res);

/* The signature cache (src/chain/sigcache.c): 2 x the pool's event bound
 * entries of 128 bytes (4 MiB at the default bound), on first use. */
typedef struct jk_chain_sigcache jk_chain_sigcache;

#endif
