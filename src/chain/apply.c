/*
 * apply.c — the block boundary: run_cycle_process with emit routing, the
 * one chain.apply invocation both modes share, the end of apply_block, and
 * produce mode (the proposer builds and signs the block; import mode is in
 * import.c). The AttestationAuthority's rule per phase is attestation.md's
 * table.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

void jk_chain_set_debug(jk_chain_kernel *ck, FILE *debug)
{
    ck->debug = debug;
    jk_kernel_set_debug(ck->kernel, debug);
}

void jk_chain_set_own_key(jk_chain_kernel *ck, const uint8_t secret_key[JK_ED25519_SECRET_SIZE])
{
    memcpy(ck->own_secret, secret_key, JK_ED25519_SECRET_SIZE);
    memcpy(ck->own_public, secret_key + 32, JK_ED25519_PUBLIC_SIZE); /* libsodium layout: seed ‖ pk */
    ck->has_own_key = true;
}

/* A CNode holding caps[0..n) in its first slots (2^k ≥ n slots), built
 * bottom-up (jk_cap_cnode_new_filled: the value the slot writes gave, one
 * node made a pair of slots instead of a walk a slot). */
static jk_err jk_list(const jk_cap *caps, size_t n, jk_cap *out)
{
    unsigned log2 = 0;
    while (((size_t)1 << log2) < n)
        log2++;
    if (log2 > JK_CAP_CNODE_MAX_LOG2)
        return JK_ERR_INVALID_ARG;
    return jk_cap_cnode_new_filled(log2, caps, n, out);
}

/* The body as chain.apply sees it: slot i = {0: endpoint (u32 LE Data), 1: blob Data}.
 * Events with the endpoint of the one before share its endpoint Data, and
 * an event with datas[i] (its pool entry's, made by its verify) takes that
 * Data: a cap is a value, and one Data or two equal ones hash and read the
 * same. */
static jk_err jk_body_cnode(const jk_chain_event *events, const jk_cap *datas, size_t n, uint64_t *kept,
                            jk_cap *out)
{
    jk_cap *pairs = calloc(n ? n : 1, sizeof *pairs);
    jk_err err = pairs ? JK_OK : JK_ERR_NOMEM;
    jk_cap e = jk_cap_null();
    size_t made = 0;
    for (; err == JK_OK && made < n; made++) {
        jk_chain_endpoint ep = events[made].endpoint;
        if (jk_cap_is_null(e) || ep != events[made - 1].endpoint) {
            uint8_t bytes[4] = {(uint8_t)ep, (uint8_t)(ep >> 8), (uint8_t)(ep >> 16), (uint8_t)(ep >> 24)};
            jk_cap_release(e);
            e = jk_cap_null();
            err = jk_cap_data_new(bytes, 4, &e);
            if (err != JK_OK)
                break;
        }
        jk_cap b = datas ? jk_cap_retain(datas[made]) : jk_cap_null();
        if (jk_cap_is_null(b))
            err = jk_cap_data_new(events[made].blob, events[made].blob_len, &b);
        else
            (*kept)++;
        /* jk_chain_pair's value (4 slots, e and b in 0 and 1), built in one go */
        if (err == JK_OK)
            err = jk_cap_cnode_new_filled(2, (jk_cap[2]){e, b}, 2, &pairs[made]);
        jk_cap_release(b);
        if (err != JK_OK)
            break;
    }
    jk_cap_release(e);
    if (err == JK_OK)
        err = jk_list(pairs, n, out);
    for (size_t i = 0; i < made && pairs; i++)
        jk_cap_release(pairs[i]);
    free(pairs);
    return err;
}

static jk_err jk_push_trace(jk_chain_trace **list, size_t *count, size_t *cap, const jk_chain_trace *t)
{
    jk_chain_trace *grown = jk_chain_grow(*list, cap, *count + 1, sizeof *grown);
    if (!grown)
        return JK_ERR_NOMEM;
    grown[(*count)++] = *t;
    *list = grown;
    return JK_OK;
}

/* ---- produce mode (process, and the proposer's apply) ---- */

/* The traces a produce-mode attest may use, in the order it must prefer them
 * (this cycle's traces, then each pooled transact's, in pool order), sorted
 * by (key, msg_hash, that order): a lookup is a binary search, and the first
 * valid one among equals is the one a front-to-back scan would pick — so
 * the block is the same as with a scan, without the scan's O(pool) per
 * attest (O(pool²) per block). Built on an invocation's first attest: the
 * cycle's traces and the pool do not change while it runs. */
typedef struct jk_trace_ref {
    const jk_chain_trace *t;
    const jk_chain_pooled *entry; /* the pooled transact it is of (NULL: a cycle trace) */
    size_t order;
} jk_trace_ref;

typedef struct jk_produce_mode {
    jk_chain_kernel *ck;
    int dispatch;               /* process of Dispatch_k: k; apply: -1 */
    jk_chain_trace *made;       /* the traces this invocation's attests used */
    size_t made_count, made_cap;
    jk_trace_ref *refs;         /* the index above, or NULL before the first attest */
    size_t ref_count;
} jk_produce_mode;

static int jk_ref_key_cmp(const jk_chain_trace *t, const uint8_t key[32], const jk_hash *msg)
{
    int c = jk_chain_cmp32(t->key, key);
    return c ? c : jk_chain_cmp32(t->msg_hash.bytes, msg->bytes);
}

/* refs[a] against refs[b] past their keys' heads (jk_chain_ord_sort's
 * tie; the sort is stable, so equal ones stay in `order`). */
static int jk_ref_tail_cmp(const void *ctx, size_t a, size_t b)
{
    const jk_trace_ref *refs = ctx;
    const jk_chain_trace *x = refs[a].t, *y = refs[b].t;
    int c = memcmp(x->key + 8, y->key + 8, 24);
    return c ? c : jk_chain_cmp32(x->msg_hash.bytes, y->msg_hash.bytes);
}

static jk_err jk_refs_build(jk_produce_mode *m)
{
    const jk_chain_kernel *ck = m->ck;
    size_t n = ck->cycle_trace_count;
    for (size_t i = 0; i < ck->pool_count; i++)
        n += ck->pool[i].trace_count;
    /* in (key, msg_hash, order) order: built in `order`, sorted stably by
     * (key, msg_hash) */
    jk_trace_ref *built = malloc((n ? n : 1) * sizeof *built);
    jk_chain_ord *ord = malloc((n ? 2 * n : 1) * sizeof *ord);
    m->refs = malloc((n ? n : 1) * sizeof *m->refs);
    if (!built || !ord || !m->refs) {
        free(built);
        free(ord);
        free(m->refs);
        m->refs = NULL;
        return JK_ERR_NOMEM;
    }
    size_t k = 0;
    for (size_t i = 0; i < ck->cycle_trace_count; i++, k++)
        built[k] = (jk_trace_ref){&ck->cycle_traces[i], NULL, k};
    for (size_t i = 0; i < ck->pool_count; i++)
        for (size_t j = 0; j < ck->pool[i].trace_count; j++, k++)
            built[k] = (jk_trace_ref){&ck->pool[i].traces[j], &ck->pool[i], k};
    for (size_t i = 0; i < n; i++)
        ord[i] = (jk_chain_ord){jk_chain_head64(built[i].t->key), i};
    const jk_chain_ord *by = jk_chain_ord_sort(ord, ord + n, n, jk_ref_tail_cmp, built);
    for (size_t i = 0; i < n; i++)
        m->refs[i] = built[by[i].at];
    free(built);
    free(ord);
    m->ref_count = n;
    return JK_OK;
}

/* The attest message of blob when a pooled transact whose traces hold key
 * has exactly this blob and its admission hashed it (jk_chain_pooled's
 * blob_msg): the same bytes jk_chain_attest_msg_hash would give, without
 * hashing the blob a second time. At most JK_KNOWN_SCAN of key's traces
 * are looked at (a key many traces share costs no more): else false. */
#define JK_KNOWN_SCAN 8
static bool jk_refs_known_msg(const jk_produce_mode *m, const uint8_t key[32], const uint8_t *blob, size_t len,
                              jk_hash *msg)
{
    size_t lo = 0, hi = m->ref_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (jk_chain_cmp32(m->refs[mid].t->key, key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t n = 0; n < JK_KNOWN_SCAN && lo < m->ref_count &&
                       jk_chain_cmp32(m->refs[lo].t->key, key) == 0; n++, lo++) {
        const jk_chain_pooled *e = m->refs[lo].entry;
        if (e && e->has_blob_msg && e->blob_len == len && (len == 0 || memcmp(e->blob, blob, len) == 0)) {
            *msg = e->blob_msg;
            return true;
        }
    }
    return false;
}

/* The first valid trace for (key, msg) in preference order, or NULL. */
static const jk_chain_trace *jk_refs_find(const jk_produce_mode *m, const uint8_t key[32], const jk_hash *msg)
{
    size_t lo = 0, hi = m->ref_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (jk_ref_key_cmp(m->refs[mid].t, key, msg) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < m->ref_count && jk_ref_key_cmp(m->refs[lo].t, key, msg) == 0; lo++)
        if (jk_chain_sig_ok(m->ck, m->refs[lo].t))
            return m->refs[lo].t;
    return NULL;
}

static bool jk_seen(const jk_chain_kernel *ck, int dispatch, const uint8_t key[32])
{
    if (dispatch >= 0)
        return jk_chain_keyset_contains(&ck->cycle_seen_keys[dispatch], key);
    if (jk_chain_keyset_contains(&ck->pool_seen_keys, key))
        return true;
    for (uint32_t k = 0; k < ck->dispatch_count; k++)
        if (jk_chain_keyset_contains(&ck->cycle_seen_keys[k], key))
            return true;
    return false;
}

static jk_err jk_decide_produce(void *ctx, const uint8_t key[32], const uint8_t *blob, size_t len, bool *accept)
{
    jk_produce_mode *m = ctx;
    jk_chain_kernel *ck = m->ck;
    jk_hash msg;
    jk_chain_trace t;
    *accept = false;
    if (ck->pool_seen_later_count && jk_chain_pool_seen_settle(ck) != JK_OK)
        return JK_ERR_NOMEM;
    if (!jk_seen(ck, m->dispatch, key))
        return JK_OK; /* the seen-rule */
    if (m->dispatch >= 0 && ck->process_trace_count + m->made_count >= JK_CHAIN_MAX_PROCESS_TRACES)
        return JK_OK; /* a block carries at most this many process traces: refused on every validator */
    if (!m->refs && jk_refs_build(m) != JK_OK)
        return JK_ERR_NOMEM;
    if (!jk_refs_known_msg(m, key, blob, len, &msg))
        jk_chain_attest_msg_hash(&ck->genesis_hash, blob, len, &msg);
    const jk_chain_trace *found = jk_refs_find(m, key, &msg);
    if (found) {
        t = *found;
    } else {
        if (!ck->has_own_key || memcmp(ck->own_public, key, 32) != 0)
            return JK_OK; /* no signature to be had */
        jk_chain_trace_sign_hash(ck->own_secret, &msg, &t);
    }
    *accept = true;
    return jk_push_trace(&m->made, &m->made_count, &m->made_cap, &t);
}

void jk_chain_process_outputs_clear(jk_chain_kernel *ck)
{
    free(ck->process_traces);
    ck->process_traces = NULL;
    ck->process_trace_count = ck->process_trace_cap = 0;
    jk_chain_pooled_free(ck->cycle_transacts, ck->cycle_transact_count);
    ck->cycle_transacts = NULL;
    ck->cycle_transact_count = ck->cycle_transact_cap = ck->cycle_transact_bytes = 0;
    jk_chain_pooled_free(ck->cycle_queued, ck->cycle_queued_count);
    ck->cycle_queued = NULL;
    ck->cycle_queued_count = ck->cycle_queued_cap = ck->cycle_queued_bytes = 0;
    ck->process_ran = false;
}

/* Import mode for process: the i-th attest of the block's process runs is
 * the block's i-th process trace (same key and message, a valid
 * signature), and its key passes the seen-rule as at the proposer. */
typedef struct jk_process_import {
    jk_chain_kernel *ck;
    int dispatch;
    const jk_chain_trace *carried;
    size_t count, next;
} jk_process_import;

static jk_err jk_decide_process_import(void *ctx, const uint8_t key[32], const uint8_t *blob, size_t len,
                                       bool *accept)
{
    jk_process_import *m = ctx;
    *accept = false;
    if (!jk_chain_keyset_contains(&m->ck->cycle_seen_keys[m->dispatch], key) || m->next >= m->count)
        return JK_OK;
    const jk_chain_trace *t = &m->carried[m->next];
    jk_hash msg;
    jk_chain_attest_msg_hash(&m->ck->genesis_hash, blob, len, &msg);
    if (memcmp(t->key, key, JK_ED25519_PUBLIC_SIZE) != 0 || memcmp(t->msg_hash.bytes, msg.bytes, JK_HASH_SIZE) != 0 ||
        !jk_chain_sig_ok(m->ck, t))
        return JK_OK;
    jk_chain_sig_remember(m->ck, t);
    *accept = true;
    m->next++;
    return JK_OK;
}

jk_err jk_chain_process_run(jk_chain_kernel *ck, const jk_chain_trace *carried, size_t carried_count,
                            size_t *used, uint64_t processed[JK_CHAIN_MAX_DISPATCH_ENDPOINTS])
{
    if (!ck->cycle_open)
        return JK_ERR_INVALID_ARG;
    jk_chain_process_outputs_clear(ck); /* one process per cycle: a second run replaces the first */
    ck->process_ran = true;
    for (uint32_t k = 0; k < JK_CHAIN_MAX_DISPATCH_ENDPOINTS; k++)
        ck->process_consumed[k] = ck->dispatch_buffered[k];
    size_t next = 0;
    for (uint32_t k = 0; k < ck->dispatch_count; k++) {
        jk_cap events = jk_cap_null(), aa = jk_cap_null(), scratchpad = jk_cap_null();
        jk_produce_mode mode = {ck, (int)k, NULL, 0, 0, NULL, 0};
        jk_process_import imp = {ck, (int)k, carried, carried_count, next};
        jk_kernel_result res;
        memset(&res, 0, sizeof res);
        jk_err err = jk_list(ck->dispatch_buffer[k], ck->dispatch_buffered[k], &events);
        if (err == JK_OK)
            err = jk_chain_inject_aa(ck, &aa); /* AA_cycle: fresh per cycle per dispatch */
        if (err == JK_ERR_INVALID_ARG) { /* the chain pins no AA: this process cannot run */
            err = JK_OK;
            if (processed)
                processed[k] = UINT64_MAX;
            jk_cap_release(events);
            continue;
        }
        if (err == JK_OK)
            err = jk_chain_pair(events, aa, &scratchpad);
        if (err == JK_OK) {
            err = jk_chain_invoke(ck->kernel, ck->attest_marker, ck->dispatch_protos[k], 0, ck->gas.process, NULL,
                                  scratchpad, carried ? jk_decide_process_import : jk_decide_produce,
                                  carried ? (void *)&imp : (void *)&mode, NULL, &res);
            if (err != JK_OK && err != JK_ERR_NOMEM) {
                /* the kernel refused to run or finish it (a bound the guest
                 * hit): as a process that did not HALT, its emits dropped */
                jk_kernel_result_clear(&res);
                res.outcome = JK_KERNEL_FAULT;
                err = JK_OK;
            }
        }
        bool halted = err == JK_OK && res.outcome == JK_KERNEL_HALT;
        if (processed)
            processed[k] = halted ? res.value : UINT64_MAX;
        const jk_chain_trace *made = carried ? carried + next : mode.made;
        size_t made_count = carried ? imp.next - next : mode.made_count;
        if (halted)
            next = imp.next; /* a run that did not HALT gives its traces back */
        /* The traces process used become the cycle's, for apply to find, and
         * the block's process traces. */
        for (size_t i = 0; halted && err == JK_OK && i < made_count; i++) {
            err = jk_push_trace(&ck->cycle_traces, &ck->cycle_trace_count, &ck->cycle_trace_cap, &made[i]);
            if (err == JK_OK)
                err = jk_push_trace(&ck->process_traces, &ck->process_trace_count, &ck->process_trace_cap,
                                    &made[i]);
        }
        if (halted && err == JK_OK) {
            jk_chain_pooled *list;
            size_t count;
            err = jk_chain_read_emits(ck, res.slot0, made, made_count, ck->gas.process, &list, &count);
            if (err == JK_OK)
                err = jk_chain_route_process_emits(ck, list, count);
        }
        free(mode.made);
        free(mode.refs);
        jk_kernel_result_clear(&res);
        jk_cap_release(scratchpad);
        jk_cap_release(aa);
        jk_cap_release(events);
        if (err != JK_OK)
            return err;
    }
    if (used)
        *used = next;
    return JK_OK;
}

jk_err jk_chain_run_cycle_process(jk_chain_kernel *ck, uint64_t processed[JK_CHAIN_MAX_DISPATCH_ENDPOINTS])
{
    return jk_chain_process_run(ck, NULL, 0, NULL, processed);
}

void jk_chain_applied_clear(jk_applied *a)
{
    jk_cap_release(a->chain);
    jk_chain_pooled_free(a->emits, a->emit_count);
    jk_chain_pooled_free(a->queued, a->queued_count);
    *a = (jk_applied){jk_cap_null(), NULL, 0, false, NULL, 0};
}

/* Run chain.apply over events with `decide`; on HALT fills *out. Anything
 * that stops apply short of HALT — a fault, out of gas, a refused attest, a
 * chain pinning no AA, an invocation the kernel refuses to run — is
 * JK_ERR_CHAIN_APPLY with the reason: it is the block's problem, never the
 * host's. Only JK_ERR_NOMEM is passed on. */
jk_err jk_chain_run_apply(jk_chain_kernel *ck, const jk_chain_event *events, const jk_cap *datas, size_t n,
                           const jk_block_context *ctx_block, jk_chain_attest_fn decide, void *ctx,
                           jk_applied *out, jk_diag *why)
{
    jk_cap body = jk_cap_null(), aa = jk_cap_null(), scratchpad = jk_cap_null(), context = jk_cap_null();
    jk_kernel_result res;
    memset(&res, 0, sizeof res);
    *out = (jk_applied){jk_cap_null(), NULL, 0};
    uint8_t ctx_bytes[16];
    jk_put_u64le(ctx_bytes, ctx_block->number);
    jk_put_u32le(ctx_bytes + 8, ctx_block->proposer);
    jk_put_u32le(ctx_bytes + 12, ctx_block->round);
    jk_err err = jk_body_cnode(events, datas, n, &ck->stats.body_datas_kept, &body);
    if (err == JK_OK)
        err = jk_cap_data_new(ctx_bytes, sizeof ctx_bytes, &context);
    if (err == JK_OK) {
        err = jk_chain_inject_aa(ck, &aa); /* AA_block */
        if (err == JK_ERR_INVALID_ARG)
            err = jk_diag_set(why, JK_ERR_CHAIN_APPLY, "the chain pins no AA image");
    }
    if (err == JK_OK)
        err = jk_chain_triple(body, aa, context, &scratchpad);
    if (err == JK_OK) {
        err = jk_chain_invoke(ck->kernel, ck->attest_marker, ck->chain, JK_CHAIN_EP_APPLY, ck->gas.block, NULL,
                              scratchpad, decide, ctx, NULL, &res);
        if (err != JK_OK && err != JK_ERR_NOMEM)
            err = jk_diag_set(why, JK_ERR_CHAIN_APPLY, "chain.apply could not run: %s", jk_strerror(err));
    }
    if (err == JK_OK && res.outcome != JK_KERNEL_HALT)
        err = jk_diag_set(why, JK_ERR_CHAIN_APPLY, "chain.apply did not HALT (outcome %d: %s)", res.outcome,
                          res.fault_msg[0] ? res.fault_msg : "out of gas or yield");
    if (err == JK_OK)
        err = jk_chain_read_emits(ck, res.slot0, NULL, 0, ck->gas.block, &out->emits, &out->emit_count);
    if (err == JK_OK)
        out->chain = jk_cap_retain(res.instance);
    jk_kernel_result_clear(&res);
    jk_cap_release(scratchpad);
    jk_cap_release(context);
    jk_cap_release(aa);
    jk_cap_release(body);
    return err;
}

/* apply_block's end, in both modes: the chain advances, the cycle ends (its
 * transient instances dropped, its buffers, seen keys and traces emptied),
 * the pool keeps only `keep` (events still waiting: verified again by the
 * produce that takes them, "No recheck"), and apply's outgoing emits are kept for the embedder
 * (jk_chain_emits) and routed as process emits are. Cannot fail: the block
 * is applied whatever happens here; out of memory, the emits are not routed
 * (they stay readable through jk_chain_emits) or are lost with the rest. */
void jk_chain_advance(jk_chain_kernel *ck, jk_applied *applied, jk_chain_pooled *keep, size_t keep_count)
{
    jk_cap_release(ck->chain);
    ck->chain = applied->chain;
    applied->chain = jk_cap_null();
    jk_chain_teardown(ck);
    jk_chain_cycle_reset(ck, true);
    /* Raw entries: the index, byte and key counts are rebuilt by the next
     * setup_cycle (jk_chain_pool_rebuild; no admission happens before). */
    ck->pool = keep;
    ck->pool_count = ck->pool_cap = keep_count;
    if (applied->ran) {
        /* the block's process ran: it consumed the queue, and its dispatch
         * emits are the next cycle's (apply's follow) */
        jk_chain_pooled_free(ck->queued, ck->queued_count);
        ck->queued = applied->queued;
        ck->queued_count = ck->queued_cap = applied->queued_count;
        applied->queued = NULL;
        applied->queued_count = 0;
    }
    jk_chain_pooled_free(ck->emits, ck->emit_count);
    ck->emits = applied->emits;
    ck->emit_count = applied->emit_count;
    applied->emits = NULL;
    applied->emit_count = 0;
    jk_chain_pooled *copy = calloc(ck->emit_count ? ck->emit_count : 1, sizeof *copy);
    size_t made = 0;
    while (copy && made < ck->emit_count &&
           jk_chain_pooled_make(ck->emits[made].blob, ck->emits[made].blob_len, NULL, 0, ck->emits[made].endpoint,
                                &ck->emits[made].hash, &copy[made]) == JK_OK)
        made++;
    (void)jk_chain_route_emits(ck, copy, made); /* frees copy; out of memory drops the rest */
}

/* One produce-mode apply over events[0..n): on HALT, what it made replaces
 * *best. */
typedef struct jk_produce_try {
    jk_applied applied;        /* the best apply so far */
    jk_chain_trace *made;
    size_t made_count;
    bool ok;
} jk_produce_try;

/* events[0..n) then, with `tail`, the transacts process made this cycle
 * (the body's tail: every validator re-derives them from the block's
 * dispatch part). A fresh array (caller frees) or NULL out of memory. */
static jk_chain_event *jk_with_tail(const jk_chain_kernel *ck, const jk_chain_event *events, size_t n, bool tail,
                                    size_t *total)
{
    size_t t = tail ? ck->cycle_transact_count : 0;
    jk_chain_event *all = calloc(n + t ? n + t : 1, sizeof *all);
    if (!all)
        return NULL;
    if (n)
        memcpy(all, events, n * sizeof *all);
    for (size_t i = 0; i < t; i++)
        all[n + i] = (jk_chain_event){JK_CHAIN_ENDPOINT_TRANSACT, ck->cycle_transacts[i].blob,
                                      ck->cycle_transacts[i].blob_len};
    *total = n + t;
    return all;
}

/* datas: NULL, or events[i]'s pool entry's Data (jk_chain_run_apply); the
 * tail's are made. */
static jk_err jk_try_apply(jk_chain_kernel *ck, const jk_chain_event *events, const jk_cap *datas, size_t n,
                           const jk_block_context *bc, jk_produce_try *best, jk_diag *why)
{
    jk_produce_mode mode = {ck, -1, NULL, 0, 0, NULL, 0};
    jk_applied applied = {jk_cap_null(), NULL, 0, false, NULL, 0};
    size_t total;
    jk_chain_event *all = jk_with_tail(ck, events, n, ck->process_ran, &total);
    jk_cap *alld = datas && all ? calloc(total ? total : 1, sizeof *alld) : NULL;
    if (alld && n)
        memcpy(alld, datas, n * sizeof *alld); /* borrowed: the pool holds them */
    jk_err err = all ? jk_chain_run_apply(ck, all, alld, total, bc, jk_decide_produce, &mode, &applied, why)
                     : JK_ERR_NOMEM;
    free(alld);
    free(all);
    free(mode.refs);
    if (err == JK_OK && mode.made_count > JK_CHAIN_MAX_TRACES)
        err = jk_diag_set(why, JK_ERR_CHAIN_APPLY, "apply made %zu attests (a block carries at most %u traces)",
                          mode.made_count, JK_CHAIN_MAX_TRACES);
    if (err == JK_OK) {
        jk_chain_applied_clear(&best->applied);
        free(best->made);
        *best = (jk_produce_try){applied, mode.made, mode.made_count, true};
        return JK_OK;
    }
    jk_chain_applied_clear(&applied);
    free(mode.made);
    return err;
}

/* When chain.apply does not HALT over the whole selection, some transacts
 * poison it (a chain whose apply faults where it should skip). Keep the
 * order and find the largest prefix-greedy body that applies: try each range
 * after the kept events; a range that fails is halved, a single event that
 * fails is dropped. k poisoned events cost O(k log n) applies. */
static jk_err jk_produce_without_poison(jk_chain_kernel *ck, const jk_chain_event *pool, size_t n,
                                        const jk_block_context *bc, jk_chain_event *body, size_t *body_count,
                                        jk_produce_try *best, jk_diag *why)
{
    size_t kept = 0;
    size_t *stack = malloc(2 * (n + 1) * sizeof *stack), top = 0;
    jk_chain_event *trial = calloc(n ? n : 1, sizeof *trial);
    jk_err err = stack && trial ? JK_OK : JK_ERR_NOMEM;
    if (err == JK_OK) {
        /* the empty body first: if even that fails, nothing can be produced */
        err = jk_try_apply(ck, NULL, NULL, 0, bc, best, why);
        stack[top++] = 0;
        stack[top++] = n;
    }
    while (err == JK_OK && top > 0) {
        size_t end = stack[--top], start = stack[--top];
        if (start == end)
            continue;
        memcpy(trial, body, kept * sizeof *trial);
        memcpy(trial + kept, pool + start, (end - start) * sizeof *trial);
        jk_err tried = jk_try_apply(ck, trial, NULL, kept + end - start, bc, best, NULL);
        if (tried == JK_OK) {
            memcpy(body + kept, pool + start, (end - start) * sizeof *body);
            kept += end - start;
        } else if (tried != JK_ERR_CHAIN_APPLY) {
            err = tried;
        } else if (end - start > 1) {
            size_t mid = start + (end - start) / 2; /* first half first: pushed last */
            stack[top++] = mid;
            stack[top++] = end;
            stack[top++] = start;
            stack[top++] = mid;
        }
    }
    /* best holds the apply of exactly body[0..kept): every success extended it */
    *body_count = kept;
    free(stack);
    free(trial);
    return err;
}

/* The body's bound that produce's selection (jk_chain_pool_select) keeps:
 * at most JK_CHAIN_MAX_EVENTS events whose encoding takes at most
 * JK_CHAIN_PRODUCE_EVENT_BYTES, which leaves room for JK_CHAIN_MAX_TRACES
 * traces within JK_CHAIN_MAX_BLOCK_SIZE (docs/chain-design.md, "Produce"). */
void jk_chain_set_produce_event_bytes(jk_chain_kernel *ck, size_t bytes)
{
    ck->produce_event_bytes = bytes;
}

/* Move the pool's entries past the first n into a fresh list (*rest) and
 * free the first n: the pool is then empty. JK_ERR_NOMEM changes nothing. */
static jk_err jk_pool_take_rest(jk_chain_kernel *ck, size_t n, jk_chain_pooled **rest, size_t *rest_count)
{
    size_t count = ck->pool_count - n;
    jk_chain_pooled *list = calloc(count ? count : 1, sizeof *list);
    if (!list)
        return JK_ERR_NOMEM;
    if (count)
        memcpy(list, ck->pool + n, count * sizeof *list);
    for (size_t i = 0; i < n; i++)
        jk_chain_pooled_drop(&ck->pool[i]);
    free(ck->pool);
    ck->pool = NULL;
    ck->pool_count = ck->pool_cap = 0;
    *rest = list;
    *rest_count = count;
    return JK_OK;
}

jk_err jk_chain_apply_block_produce(jk_chain_kernel *ck, const jk_hash *parent, uint64_t number, uint32_t round,
                                    const jk_hash *last_commit, jk_chain_block *out, jk_diag *why)
{
    memset(out, 0, sizeof *out);
    uint32_t proposer = jk_chain_proposer_index(ck->validator_count, number, round);
    if (!ck->has_own_key)
        return jk_diag_set(why, JK_ERR_INVALID_ARG, "producing needs the validator's own key");
    if (memcmp(ck->validators[proposer], ck->own_public, JK_ED25519_PUBLIC_SIZE) != 0)
        return jk_diag_set(why, JK_ERR_INVALID_ARG, "this validator is not the proposer of block %llu round %u "
                           "(validator %u is)", (unsigned long long)number, round, proposer);
    if (!ck->cycle_open)
        return jk_diag_set(why, JK_ERR_INVALID_ARG, "no open cycle (setup_cycle first)");
    jk_block_context bc = {number, proposer, round};
    /* the selection, each of its transacts verified in this cycle (pool.c) */
    size_t n;
    if (jk_chain_pool_select(ck, &n) != JK_OK)
        return JK_ERR_NOMEM;
    size_t body_count = n;
    jk_chain_event *pool = calloc(n ? n : 1, sizeof *pool), *body = calloc(n ? n : 1, sizeof *body);
    jk_cap *datas = calloc(n ? n : 1, sizeof *datas); /* borrowed from the pool's entries */
    if (!pool || !body || !datas) {
        free(pool);
        free(body);
        free(datas);
        return JK_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        pool[i] = (jk_chain_event){JK_CHAIN_ENDPOINT_TRANSACT, ck->pool[i].blob, ck->pool[i].blob_len};
        datas[i] = ck->pool[i].data;
    }
    memcpy(body, pool, n * sizeof *body);
    jk_produce_try best = {{jk_cap_null(), NULL, 0, false, NULL, 0}, NULL, 0, false};
    jk_err err = jk_try_apply(ck, body, datas, n, &bc, &best, why);
    if (err == JK_ERR_CHAIN_APPLY && n > 0)
        err = jk_produce_without_poison(ck, pool, n, &bc, body, &body_count, &best, why);
    if (err == JK_ERR_CHAIN_APPLY && ck->process_ran) {
        /* apply fails over process's transacts alone: the block goes without
         * a dispatch part (process did not run: nothing consumed, the queue
         * carries over), never wedged on them */
        jk_chain_process_outputs_clear(ck);
        memcpy(body, pool, n * sizeof *body);
        body_count = n;
        err = jk_try_apply(ck, body, datas, n, &bc, &best, why);
        if (err == JK_ERR_CHAIN_APPLY && n > 0)
            err = jk_produce_without_poison(ck, pool, n, &bc, body, &body_count, &best, why);
    }
    size_t full_count = 0;
    jk_chain_event *full = err == JK_OK ? jk_with_tail(ck, body, body_count, ck->process_ran, &full_count) : NULL;
    if (err == JK_OK && !full)
        err = JK_ERR_NOMEM;
    if (err == JK_OK) {
        jk_hash root;
        jk_cap_hash(best.applied.chain, &root);
        /* the body is hashed once: by the dispatch part's setter when
         * process ran, else here */
        err = jk_chain_block_build_unhashed(parent, number, proposer, &root, full, full_count, best.made,
                                            best.made_count, out, why);
        if (err == JK_OK && ck->process_ran)
            err = jk_chain_produced_dispatch(ck, out, why);
        else if (err == JK_OK)
            jk_chain_block_body_hash(out, &out->header.body_hash);
        if (err == JK_ERR_CHAIN_TOO_LARGE || err == JK_ERR_INVALID_ARG) /* not within the produce bounds: a bug of ours */
            err = jk_diag_set(why, JK_ERR_CHAIN_APPLY, "the produced block is over a bound");
    }
    free(full);
    if (err == JK_OK && ck->process_ran) {
        /* the next cycle's queue: what this block's process queued */
        best.applied.ran = true;
        best.applied.queued = ck->cycle_queued;
        best.applied.queued_count = ck->cycle_queued_count;
        ck->cycle_queued = NULL;
        ck->cycle_queued_count = ck->cycle_queued_cap = 0;
    }
    jk_chain_pooled *keep = NULL;
    size_t keep_count = 0;
    if (err == JK_OK) {
        out->header.round = round;
        if (last_commit)
            out->header.last_commit = *last_commit;
        jk_chain_block_sign(out, ck->own_secret, &ck->genesis_hash);
        /* The pool past the selection waits for the next block; the selection
         * is in the block or was poison (dropped). */
        err = jk_pool_take_rest(ck, n, &keep, &keep_count);
        if (err == JK_OK)
            jk_chain_advance(ck, &best.applied, keep, keep_count);
    } else if (err != JK_ERR_NOMEM && jk_pool_take_rest(ck, n, &keep, &keep_count) == JK_OK) {
        /* Whatever went wrong, the next produce must not meet it again: the
         * selection is dropped (it holds what broke apply), the rest waits,
         * and the cycle ends. */
        jk_chain_teardown(ck);
        jk_chain_cycle_reset(ck, true);
        ck->pool = keep;
        ck->pool_count = ck->pool_cap = keep_count;
    }
    if (err != JK_OK)
        jk_chain_block_free(out);
    jk_chain_applied_clear(&best.applied);
    free(best.made);
    free(pool);
    free(body);
    free(datas);
    return err;
}

