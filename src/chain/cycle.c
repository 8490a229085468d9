/*
 * cycle.c — the spec's Kernel, first steps: the struct, setup_cycle,
 * handle_incoming_event (verify with the AttestationAuthority in verify
 * mode), teardown. Names follow kernel-chain-interface.md so that the code
 * reads side by side with it; docs/chain-design.md has the slot layout and
 * scratchpad shapes.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static void jk_concat_hash(const jk_hash *a, const jk_hash *b, jk_hash *out)
{
    uint8_t buf[2 * JK_HASH_SIZE];
    memcpy(buf, a->bytes, JK_HASH_SIZE);
    memcpy(buf + JK_HASH_SIZE, b->bytes, JK_HASH_SIZE);
    jk_crypto_blake2b256(buf, sizeof buf, out);
}

static jk_cap jk_pinned_image(jk_cap chain, uint32_t slot)
{
    jk_cap c = jk_cap_image_pinned(jk_cap_instance_image(chain), slot);
    return jk_cap_kind_of(c) == JK_CAP_IMAGE ? c : jk_cap_null();
}

jk_err jk_chain_kernel_new(const jk_chain_genesis *genesis, jk_cap head, jk_chain_kernel **out, jk_diag *diag)
{
    jk_err err = jk_chain_genesis_verify(genesis, diag);
    if (err != JK_OK)
        return err;
    jk_cap chain = jk_cap_is_null(head) ? genesis->chain : head;
    uint32_t dispatch_count = genesis->dispatch_count;
    if (jk_cap_kind_of(chain) != JK_CAP_INSTANCE || jk_cap_instance_status(chain) != JK_CAP_IDLE)
        return jk_diag_set(diag, JK_ERR_INVALID_ARG, "the chain is not an Idle Instance");
    for (uint32_t slot = 1; slot < JK_CHAIN_SLOT_DISPATCH_0 + dispatch_count; slot++)
        if (jk_cap_is_null(jk_pinned_image(chain, slot)))
            return jk_diag_set(diag, JK_ERR_INVALID_ARG, "the chain image does not pin an Image in slot %u", slot);
    if (jk_cap_image_endpoint_count(jk_cap_instance_image(chain)) < JK_CHAIN_EP_TRANSFORM_TO_DISPATCH_0 + dispatch_count)
        return jk_diag_set(diag, JK_ERR_INVALID_ARG, "the chain image lacks apply / transform endpoints");
    jk_chain_kernel *ck = calloc(1, sizeof *ck);
    if (!ck)
        return JK_ERR_NOMEM;
    ck->validators = malloc((size_t)genesis->validator_count * sizeof *ck->validators);
    err = ck->validators ? jk_kernel_new(NULL, &ck->kernel) : JK_ERR_NOMEM;
    if (err == JK_OK)
        err = jk_kernel_mint_marker(ck->kernel, 0, &ck->attest_marker);
    if (err != JK_OK) {
        jk_chain_kernel_free(ck);
        return err;
    }
    ck->genesis_hash = genesis->genesis_hash;
    ck->gas = genesis->gas;
    ck->dispatch_count = dispatch_count;
    ck->max_event_traces = genesis->max_event_traces;
    ck->validator_count = genesis->validator_count;
    memcpy(ck->validators, genesis->validators, (size_t)genesis->validator_count * sizeof *ck->validators);
    ck->pool_limits = (jk_chain_pool_limits){JK_CHAIN_POOL_MAX_EVENTS, JK_CHAIN_POOL_MAX_BYTES,
                                             JK_CHAIN_POOL_MAX_PER_KEY};
    ck->chain = jk_cap_retain(chain);
    jk_chain_keyset_init(&ck->pool_seen_keys);
    for (uint32_t k = 0; k < JK_CHAIN_MAX_DISPATCH_ENDPOINTS; k++)
        jk_chain_keyset_init(&ck->cycle_seen_keys[k]);
    *out = ck;
    return JK_OK;
}

void jk_chain_cycle_reset(jk_chain_kernel *ck, bool pool)
{
    for (uint32_t k = 0; k < JK_CHAIN_MAX_DISPATCH_ENDPOINTS; k++) {
        for (size_t i = 0; i < ck->dispatch_buffered[k]; i++)
            jk_cap_release(ck->dispatch_buffer[k][i]);
        free(ck->dispatch_buffer[k]);
        ck->dispatch_buffer[k] = NULL;
        jk_chain_pooled_free(ck->dispatch_src[k], ck->dispatch_buffered[k]);
        ck->dispatch_src[k] = NULL;
        ck->dispatch_buffered[k] = ck->dispatch_cap[k] = ck->dispatch_src_cap[k] = 0;
        jk_chain_keyset_clear(&ck->cycle_seen_keys[k]);
    }
    ck->dispatch_bytes = ck->dispatch_total = 0;
    ck->dispatch_gas = 0;
    jk_chain_process_outputs_clear(ck);
    jk_chain_hashset_clear(&ck->dispatch_index);
    if (pool)
        jk_chain_pool_clear(ck);
    free(ck->cycle_traces);
    ck->cycle_traces = NULL;
    ck->cycle_trace_count = ck->cycle_trace_cap = 0;
}

void jk_chain_kernel_free(jk_chain_kernel *ck)
{
    if (!ck)
        return;
    jk_chain_teardown(ck);
    jk_chain_cycle_reset(ck, true);
    for (uint32_t k = 0; k < JK_CHAIN_MAX_DISPATCH_ENDPOINTS; k++)
        jk_chain_keyset_free(&ck->cycle_seen_keys[k]);
    jk_chain_keyset_free(&ck->pool_seen_keys);
    jk_chain_hashset_free(&ck->pool_index);
    jk_chain_hashset_free(&ck->dispatch_index);
    jk_crypto_wipe(ck->own_secret, sizeof ck->own_secret);
    jk_chain_pooled_free(ck->queued, ck->queued_count);
    jk_chain_pooled_free(ck->emits, ck->emit_count);
    free(ck->sig_cache);
    jk_chain_checked_free(ck);
    free(ck->validators);
    jk_cap_release(ck->chain);
    jk_cap_release(ck->attest_marker);
    jk_kernel_free(ck->kernel);
    free(ck);
}

/* MGMT_COPY(chain, proto) + CALL(proto, transform endpoint): *out NEW. The
 * instance the transform makes must be of the image the chain pins for the
 * role, with the lineage set_image gives it (H(chain.image_hash ‖
 * image_id(pinned))): a transform that spawned or built something else would
 * otherwise become verify_proto or Dispatch_k. */
static jk_err jk_derive_role(jk_chain_kernel *ck, uint32_t endpoint, uint32_t pinned_slot, jk_cap *out,
                             jk_diag *diag)
{
    jk_kernel_result res;
    jk_cap proto = jk_cap_retain(ck->chain); /* MGMT_COPY: O(1), content-shared */
    jk_err err = jk_kernel_call(ck->kernel, proto, endpoint, ck->gas.transform, NULL, jk_cap_null(), &res);
    jk_cap_release(proto);
    if (err != JK_OK && err != JK_ERR_NOMEM)
        return jk_diag_set(diag, JK_ERR_INVALID_ARG, "transform endpoint %u could not run: %s", endpoint,
                           jk_strerror(err));
    if (err != JK_OK)
        return err;
    if (res.outcome != JK_KERNEL_HALT) {
        jk_diag_set(diag, JK_ERR_INVALID_ARG, "transform endpoint %u did not HALT (outcome %d: %s)", endpoint,
                    res.outcome, res.fault_msg);
        jk_kernel_result_clear(&res);
        return JK_ERR_INVALID_ARG;
    }
    jk_cap pinned = jk_pinned_image(ck->chain, pinned_slot);
    jk_hash chain_lineage, pinned_id, want, got;
    jk_cap_instance_image_hash(ck->chain, &chain_lineage);
    jk_cap_hash(pinned, &pinned_id);
    jk_concat_hash(&chain_lineage, &pinned_id, &want);
    bool is_instance = jk_cap_kind_of(res.instance) == JK_CAP_INSTANCE;
    if (is_instance)
        jk_cap_instance_image_hash(res.instance, &got);
    if (!is_instance || jk_cap_is_null(pinned) || !jk_cap_equal(jk_cap_instance_image(res.instance), pinned) ||
        memcmp(got.bytes, want.bytes, JK_HASH_SIZE) != 0) {
        jk_diag_set(diag, JK_ERR_INVALID_ARG, "transform endpoint %u made an instance that is not the chain's "
                    "set_image onto the image pinned in slot %u", endpoint, pinned_slot);
        jk_kernel_result_clear(&res);
        return JK_ERR_INVALID_ARG;
    }
    *out = jk_cap_retain(res.instance);
    jk_kernel_result_clear(&res);
    return JK_OK;
}

/* Verify what waited for this cycle (the queued emits, and the transacts a
 * cycle that could not open left), as handle_incoming_event would. */
static jk_err jk_feed(jk_chain_kernel *ck, jk_chain_pooled *list, size_t n)
{
    jk_err err = JK_OK;
    /* the queue is not the proposer's choice: its verify gas counts against
     * the replay verify budget but never refuses it (every validator feeds
     * it the same, and the replay requires it consumed first) */
    ck->dispatch_feeding = true;
    for (size_t i = 0; err == JK_OK && i < n; i++) {
        jk_chain_event ev = {list[i].endpoint, list[i].blob, list[i].blob_len};
        bool admitted;
        err = jk_chain_handle_incoming_event(ck, &ev, list[i].traces, list[i].trace_count, &admitted, NULL);
    }
    ck->dispatch_feeding = false;
    return err;
}

/* The stamps of this cycle (see jk_chain_pooled): the chain state keeps its
 * stamp while its root stays the same (a transform and a verify are pure
 * functions of the chain, so a verify on the same root decides the same);
 * every cycle gets a fresh one. */
static void jk_stamp_cycle(jk_chain_kernel *ck)
{
    jk_hash root;
    jk_cap_hash(ck->chain, &root);
    if (ck->chain_stamp == 0 || memcmp(root.bytes, ck->stamped_root.bytes, JK_HASH_SIZE) != 0) {
        ck->chain_stamp = ++ck->stamp_next;
        ck->stamped_root = root;
    }
    ck->cycle_stamp = ++ck->stamp_next;
}

/* A copy of the queue (what this cycle's verifies are fed; the queue
 * itself stays until the next block replaces it). */
static jk_err jk_queue_copy(const jk_chain_pooled *q, size_t n, jk_chain_pooled **out)
{
    *out = calloc(n ? n : 1, sizeof **out);
    if (!*out)
        return JK_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        jk_err err = jk_chain_pooled_make(q[i].blob, q[i].blob_len, q[i].traces, q[i].trace_count, q[i].endpoint,
                                          &q[i].hash, &(*out)[i]);
        if (err != JK_OK) {
            jk_chain_pooled_free(*out, i);
            *out = NULL;
            return err;
        }
    }
    return JK_OK;
}

jk_err jk_chain_queue_get(const jk_chain_kernel *ck, jk_chain_pooled **out, size_t *n)
{
    jk_err err = jk_queue_copy(ck->queued, ck->queued_count, out);
    *n = err == JK_OK ? ck->queued_count : 0;
    return err;
}

void jk_chain_pooled_list_free(jk_chain_pooled *list, size_t n)
{
    jk_chain_pooled_free(list, n);
}

jk_err jk_chain_set_queue(jk_chain_kernel *ck, const jk_chain_pooled *list, size_t n)
{
    jk_chain_pooled *copy;
    if (n > JK_CHAIN_MAX_QUEUED)
        n = JK_CHAIN_MAX_QUEUED;
    jk_err err = jk_queue_copy(list, n, &copy);
    if (err != JK_OK)
        return err;
    jk_chain_pooled_free(ck->queued, ck->queued_count);
    ck->queued = copy;
    ck->queued_count = ck->queued_cap = n;
    return JK_OK;
}

jk_err jk_chain_setup_cycle(jk_chain_kernel *ck, jk_diag *diag)
{
    jk_chain_teardown(ck);
    /* Each cycle starts clean: nothing of an earlier cycle (a failed import,
     * an abandoned produce) survives but the events themselves. The queued
     * dispatch emits are verified below against the state this cycle
     * derives from (a copy: the queue is the head's, and only the next
     * block replaces it, so every cycle on this head is fed the same); the
     * pooled transacts are not (no recheck, docs/chain-design.md): produce
     * verifies the ones it takes. */
    jk_chain_pooled *pool = NULL, *queued = NULL;
    size_t pool_count = 0, queued_count = ck->queued_count;
    if (jk_queue_copy(ck->queued, ck->queued_count, &queued) != JK_OK)
        return jk_diag_set(diag, JK_ERR_NOMEM, "setup_cycle: out of memory");
    /* A pool built by an earlier setup_cycle stays in place (with its index
     * and counts) until the stamp below says whether its chain state is
     * still this one; any other is taken out to be rebuilt. */
    bool built = ck->pool_built;
    if (!built) {
        pool = ck->pool;
        pool_count = ck->pool_count;
        ck->pool = NULL;
        ck->pool_count = ck->pool_cap = 0;
    }
    jk_chain_cycle_reset(ck, !built);
    jk_err err = jk_derive_role(ck, JK_CHAIN_EP_TRANSFORM_TO_VERIFY, JK_CHAIN_SLOT_VERIFY, &ck->verify_proto, diag);
    /* AA_event once per cycle rather than once per event (~2,500
     * instructions an event): an injected AA is a value of the chain's
     * pinned AAImage and the marker alone, the same for every event of the
     * cycle, and nothing observable tells one object of a value from
     * another. None (no AA pinned, or no memory): injected per event. */
    if (err == JK_OK && jk_chain_inject_aa(ck, &ck->verify_aa) != JK_OK)
        ck->verify_aa = jk_cap_null();
    for (uint32_t k = 0; err == JK_OK && k < ck->dispatch_count; k++)
        err = jk_derive_role(ck, JK_CHAIN_EP_TRANSFORM_TO_DISPATCH_0 + k, JK_CHAIN_SLOT_DISPATCH_0 + k,
                             &ck->dispatch_protos[k], diag);
    if (err == JK_OK) {
        /* The lineages of what a verify may hand back (architecture §6). */
        jk_hash verify_lineage, transact_id, dispatch_id;
        jk_cap_instance_image_hash(ck->verify_proto, &verify_lineage);
        jk_cap_hash(jk_pinned_image(ck->chain, JK_CHAIN_SLOT_TRANSACT), &transact_id);
        jk_cap_hash(jk_pinned_image(ck->chain, JK_CHAIN_SLOT_DISPATCH_INSTANCE), &dispatch_id);
        jk_concat_hash(&verify_lineage, &transact_id, &ck->transact_lineage);
        jk_concat_hash(&verify_lineage, &dispatch_id, &ck->dispatch_lineage);
        ck->cycle_open = true;
        jk_stamp_cycle(ck);
        if (built && ck->chain_stamp != ck->pool_built_stamp) {
            /* another chain state: which entries are current (and so the
             * seen keys) changed, rebuild */
            built = false;
            pool = ck->pool;
            pool_count = ck->pool_count;
            ck->pool = NULL;
            ck->pool_count = ck->pool_cap = 0;
        }
        /* Kept, the pool is what the rebuild would make: admission applied
         * the same rules to the same entries in the same order, on this
         * chain state (every one current or not as then; a kernel-made one,
         * no longer current in this cycle, charges and sees no key either
         * way). */
        if (!built)
            err = jk_chain_pool_rebuild(ck, pool, pool_count);
        pool = NULL;
        pool_count = 0;
        ck->pool_built = err == JK_OK;
        ck->pool_built_stamp = ck->chain_stamp;
        if (err == JK_OK)
            err = jk_feed(ck, queued, queued_count);
    }
    if (err != JK_OK && !ck->cycle_open && pool_count) {
        /* no cycle: the pool keeps waiting, raw (the next setup_cycle
         * rebuilds it, as after a block) */
        ck->pool = pool;
        ck->pool_count = ck->pool_cap = pool_count;
        pool = NULL;
        pool_count = 0;
    }
    if (err != JK_OK) {
        jk_chain_teardown(ck);
        ck->pool_built = false;
    }
    jk_chain_pooled_free(pool, pool_count);
    jk_chain_pooled_free(queued, queued_count);
    return err;
}

void jk_chain_teardown(jk_chain_kernel *ck)
{
    jk_cap_release(ck->verify_proto);
    ck->verify_proto = jk_cap_null();
    jk_cap_release(ck->verify_aa);
    ck->verify_aa = jk_cap_null();
    for (uint32_t k = 0; k < JK_CHAIN_MAX_DISPATCH_ENDPOINTS; k++) {
        jk_cap_release(ck->dispatch_protos[k]);
        ck->dispatch_protos[k] = jk_cap_null();
    }
    ck->cycle_open = false;
}

/* "AA_event = inject Cap::Instance[AAImage]": a fresh AA holding the marker,
 * of the AAImage the current chain pins (read at each injection: a chain
 * that set_images onto an image pinning another AA gets that AA at once, as
 * a validator restarted from its store would). A chain pinning no AA image:
 * JK_ERR_INVALID_ARG. */
jk_err jk_chain_inject_aa(const jk_chain_kernel *ck, jk_cap *out)
{
    jk_cap image = jk_pinned_image(ck->chain, JK_CHAIN_SLOT_AA);
    if (jk_cap_is_null(image))
        return JK_ERR_INVALID_ARG;
    /* filled in place (jk_cap_cnode_update), as jk_chain_triple: the CNode
     * is fresh and nobody else holds it, so its path is not copied */
    jk_cap with_marker;
    jk_err err = jk_cap_cnode_new(JK_CAP_ROOT_LOG2, &with_marker);
    if (err != JK_OK)
        return err;
    err = jk_cap_cnode_update(&with_marker, JK_CHAIN_AA_MARKER_SLOT, ck->attest_marker);
    if (err == JK_OK)
        err = jk_cap_instance_genesis(image, with_marker, out, NULL);
    jk_cap_release(with_marker);
    return err;
}

/* Built bottom-up in one go (jk_cap_cnode_new_filled: the value the three
 * slot writes give, with no walk a slot; a null c is an empty slot). */
jk_err jk_chain_triple(jk_cap a, jk_cap b, jk_cap c, jk_cap *out)
{
    return jk_cap_cnode_new_filled(2, (jk_cap[3]){a, b, c}, 3, out);
}

/* A CNode of 4 slots holding a and b in slots 0 and 1: *out NEW. */
jk_err jk_chain_pair(jk_cap a, jk_cap b, jk_cap *out)
{
    return jk_chain_triple(a, b, jk_cap_null(), out);
}

/* Verify mode: the event's own traces must hold a valid signature by the key
 * over the blob; the key becomes seen for this event. Only the traces an
 * attest asks for are signature-checked, and only those are kept. */
/* A deferred run's pending attests: inline until the third (pending_in). */
static jk_chain_pending_attest *jk_pending_of(jk_verify_mode *m)
{
    return m->pending ? m->pending : m->pending_in;
}

static jk_err jk_attest_check(jk_verify_mode *m, const uint8_t key[32], const jk_hash *msg, bool *accept)
{
    size_t at;
    *accept = jk_chain_find_valid(m->ck, m->traces, m->trace_count, key, msg, &at);
    if (!*accept)
        return JK_OK;
    if (!jk_chain_trace_find(m->used, m->used_count, key, msg, NULL)) {
        /* sized from one trace up, not jk_chain_grow's eight: the pool keeps
         * this very array (jk_chain_pool_admit takes it), one per transact */
        if (m->used_count == m->used_cap) {
            size_t cap = m->used_cap ? 2 * m->used_cap : 1;
            jk_chain_trace *grown = cap <= SIZE_MAX / sizeof *grown ? realloc(m->used, cap * sizeof *grown) : NULL;
            if (!grown)
                return JK_ERR_NOMEM;
            m->used = grown;
            m->used_cap = cap;
        }
        m->used[m->used_count++] = m->traces[at];
    }
    return jk_chain_keyset_add(&m->seen, key, NULL);
}

static jk_err jk_decide_verify(void *ctx, const uint8_t key[32], const uint8_t *blob, size_t len, bool *accept)
{
    jk_verify_mode *m = ctx;
    jk_hash msg;
    /* the event's own blob is hashed once: at its first attest here, or
     * by an earlier verify of the same event (a pooled entry's blob_msg) */
    bool own = len == m->ev_len && (len == 0 || memcmp(blob, m->ev_blob, len) == 0);
    if (own && m->has_blob_msg) {
        msg = m->blob_msg;
    } else {
        jk_chain_attest_msg_hash(m->genesis, blob, len, &msg);
        if (own) {
            m->blob_msg = msg;
            m->has_blob_msg = true;
        }
    }
    if (!m->defer)
        return jk_attest_check(m, key, &msg, accept);
    /* Deferred: no trace of (key, msg) is a refusal the check would make
     * too, without a signature to look at; otherwise "yes" now and the
     * check after the run (jk_chain_verify_settle). */
    *accept = jk_chain_trace_find(m->traces, m->trace_count, key, &msg, NULL);
    if (!*accept)
        return JK_OK;
    if (!m->pending && m->pending_count == JK_PENDING_INLINE) { /* out of pending_in */
        jk_chain_pending_attest *moved = malloc(2 * JK_PENDING_INLINE * sizeof *moved);
        if (!moved)
            return JK_ERR_NOMEM;
        memcpy(moved, m->pending_in, sizeof m->pending_in);
        m->pending = moved;
        m->pending_cap = 2 * JK_PENDING_INLINE;
    } else if (m->pending && m->pending_count == m->pending_cap) {
        size_t cap = 2 * m->pending_cap;
        jk_chain_pending_attest *grown =
            cap <= SIZE_MAX / sizeof *grown ? realloc(m->pending, cap * sizeof *grown) : NULL;
        if (!grown)
            return JK_ERR_NOMEM;
        m->pending = grown;
        m->pending_cap = cap;
    }
    jk_chain_pending_attest *p = &jk_pending_of(m)[m->pending_count++];
    memcpy(p->key, key, sizeof p->key);
    p->msg = msg;
    return JK_OK;
}

/* The refusals of a dispatch event that need no verify: a reason or NULL.
 * bytes: its encoding in a block's dispatch part (with the traces it
 * carries: at admission, those its verify used) — the cycle's consumed
 * events must fit one block (JK_CHAIN_CONSUMED_BYTES, JK_CHAIN_MAX_CONSUMED).
 * gas: its verify run's (0 before it ran): a gossiped event must fit the
 * replay verify budget, so once the budget is spent none is verified. */
static const char *jk_dispatch_precheck(const jk_chain_kernel *ck, uint32_t k, const jk_hash *hash, size_t bytes,
                                        int64_t gas)
{
    if (jk_chain_hashset_contains(&ck->dispatch_index, hash))
        return "this dispatch event is already buffered this cycle";
    if (ck->dispatch_buffered[k] >= JK_CHAIN_MAX_BUFFERED || ck->dispatch_total >= JK_CHAIN_MAX_CONSUMED)
        return "the dispatch buffer is full this cycle (events)";
    if (bytes > JK_CHAIN_CONSUMED_BYTES - ck->dispatch_bytes)
        return "the dispatch buffer is full this cycle (bytes)";
    int64_t budget = JK_CHAIN_REPLAY_VERIFY_GAS(ck);
    if (!ck->dispatch_feeding && (ck->dispatch_gas >= budget || gas > budget - ck->dispatch_gas))
        return "the dispatch buffer is full this cycle (replay verify gas)";
    return NULL;
}

static size_t jk_dispatch_bytes(const jk_chain_event *ev, size_t trace_count)
{
    jk_chain_traced_event t = {*ev, NULL, trace_count};
    return jk_chain_traced_size(&t);
}

static jk_err jk_admit_dispatch(jk_chain_kernel *ck, const jk_chain_event *ev, const jk_chain_verdict *v,
                                const char **refused)
{
    uint32_t k = jk_chain_endpoint_dispatch_index(ev->endpoint);
    size_t bytes = jk_dispatch_bytes(ev, v->used_count);
    if ((*refused = jk_dispatch_precheck(ck, k, &v->hash, bytes, v->gas)) != NULL)
        return JK_OK;
    jk_cap *grown = jk_chain_grow(ck->dispatch_buffer[k], &ck->dispatch_cap[k], ck->dispatch_buffered[k] + 1,
                                  sizeof *grown);
    if (!grown)
        return JK_ERR_NOMEM;
    ck->dispatch_buffer[k] = grown;
    jk_chain_pooled *src = jk_chain_grow(ck->dispatch_src[k], &ck->dispatch_src_cap[k],
                                         ck->dispatch_buffered[k] + 1, sizeof *src);
    if (!src)
        return JK_ERR_NOMEM;
    ck->dispatch_src[k] = src;
    /* The event's traces join the cycle's: process and apply find them there. */
    if (v->used_count) {
        jk_chain_trace *all = jk_chain_grow(ck->cycle_traces, &ck->cycle_trace_cap,
                                            ck->cycle_trace_count + v->used_count, sizeof *all);
        if (!all)
            return JK_ERR_NOMEM;
        ck->cycle_traces = all;
    }
    /* the event as a block's dispatch part carries it: blob and the traces
     * its verify used */
    jk_chain_pooled made;
    jk_err err = jk_chain_pooled_make(ev->blob, ev->blob_len, v->used, v->used_count, ev->endpoint, &v->hash,
                                      &made);
    if (err != JK_OK)
        return err;
    err = jk_chain_hashset_add(&ck->dispatch_index, &v->hash);
    if (err == JK_OK)
        err = jk_chain_keyset_merge(&ck->cycle_seen_keys[k], &v->seen);
    if (err != JK_OK) {
        free(made.blob);
        free(made.traces);
        return err;
    }
    if (v->used_count)
        memcpy(ck->cycle_traces + ck->cycle_trace_count, v->used, v->used_count * sizeof *v->used);
    ck->cycle_trace_count += v->used_count;
    src[ck->dispatch_buffered[k]] = made;
    grown[ck->dispatch_buffered[k]++] = jk_cap_retain(v->event);
    ck->dispatch_bytes += bytes;
    ck->dispatch_total++;
    /* saturating: a queue's verifies are counted, never refused */
    ck->dispatch_gas = v->gas > INT64_MAX - ck->dispatch_gas ? INT64_MAX : ck->dispatch_gas + v->gas;
    return JK_OK;
}

/* The verify half of handle_incoming_event: reads ck (verify_proto, the
 * chain's AA image, the marker, the lineages, the pool for the checks that
 * need no verify) and runs on `kernel`, so that several may run at once on
 * separate kernels. Fills *out (release with jk_chain_verdict_free);
 * out->admit says whether the event may be admitted. Everything that can be
 * refused without running verify is refused first, before any copy. */
jk_err jk_chain_verify_event(const jk_chain_kernel *ck, jk_kernel *kernel, const jk_chain_event *ev,
                             const jk_chain_trace *traces, size_t trace_count, jk_chain_verdict *out)
{
    return jk_chain_verify_event_ex(ck, kernel, ev, traces, trace_count, false, NULL, NULL, out);
}

jk_err jk_chain_verify_event_ex(const jk_chain_kernel *ck, jk_kernel *kernel, const jk_chain_event *ev,
                                const jk_chain_trace *traces, size_t trace_count, bool pooled,
                                const jk_hash *known, const jk_hash *known_msg, jk_chain_verdict *out)
{
    jk_chain_verify_run run;
    jk_err err = jk_chain_verify_start(ck, kernel, ev, traces, trace_count, pooled, known, known_msg, false, &run,
                                       out);
    jk_err settled = jk_chain_verify_settle(&run, out);
    return err != JK_OK ? err : settled;
}

/* The verdict of a run that ended, its attests taken as accepted; an
 * admitted one's traces and keys (run->mode's) move into it at settle, when
 * the attests are checked. */
static void jk_judge(const jk_chain_kernel *ck, jk_chain_verify_run *run, jk_chain_verdict *out)
{
    jk_kernel_result *res = &run->res;
    jk_hash lineage;
    jk_cap event = res->slot0;
    bool is_instance = res->outcome == JK_KERNEL_HALT && jk_cap_kind_of(event) == JK_CAP_INSTANCE;
    if (run->run_err != JK_OK) {
        snprintf(out->why, sizeof out->why, "verify could not run: %s", jk_strerror(run->run_err));
        return;
    }
    if (is_instance)
        jk_cap_instance_image_hash(event, &lineage);
    if (res->outcome != JK_KERNEL_HALT)
        snprintf(out->why, sizeof out->why, "verify did not HALT: %.120s",
                 res->fault_msg[0] ? res->fault_msg : "out of gas or yield");
    else if (!is_instance)
        snprintf(out->why, sizeof out->why, "verify did not hand back an event instance in slot[0]");
    else if (!memcmp(lineage.bytes, (run->dispatch ? ck->dispatch_lineage : ck->transact_lineage).bytes,
                     JK_HASH_SIZE)) {
        out->admit = true;
        /* Only a dispatch admission keeps the instance (its endpoint's
         * buffer); a transact's pool keeps the event's bytes, so its
         * instance is freed here with the run, while its objects are still
         * in the cache, not when the whole batch is admitted (capmem8's
         * measure: data-cache read misses of verify_events -29 %). */
        out->event = run->dispatch ? jk_cap_retain(event) : jk_cap_null();
    } else {
        snprintf(out->why, sizeof out->why, "verify handed back an instance of the wrong lineage for this endpoint");
    }
}

jk_err jk_chain_verify_start(const jk_chain_kernel *ck, jk_kernel *kernel, const jk_chain_event *ev,
                             const jk_chain_trace *traces, size_t trace_count, bool pooled,
                             const jk_hash *known, const jk_hash *known_msg, bool defer,
                             jk_chain_verify_run *run, jk_chain_verdict *out)
{
    memset(out, 0, sizeof *out);
    memset(run, 0, sizeof *run);
    jk_chain_keyset_init(&out->seen);
    jk_chain_keyset_init(&run->mode.seen);
    bool dispatch = jk_chain_endpoint_is_dispatch(ev->endpoint);
    if (ev->blob_len > JK_CHAIN_MAX_BLOB) {
        snprintf(out->why, sizeof out->why, "a blob of %zu bytes (at most %u)", ev->blob_len, JK_CHAIN_MAX_BLOB);
        return JK_OK;
    }
    if (trace_count > ck->max_event_traces) {
        snprintf(out->why, sizeof out->why, "%zu traces (the chain allows %u per event)", trace_count,
                 ck->max_event_traces);
        return JK_OK;
    }
    if (dispatch && jk_chain_endpoint_dispatch_index(ev->endpoint) >= ck->dispatch_count) {
        snprintf(out->why, sizeof out->why, "dispatch endpoint %u does not exist",
                 jk_chain_endpoint_dispatch_index(ev->endpoint));
        return JK_OK;
    }
    jk_hash hash;
    if (known)
        hash = *known; /* the caller's (the node hashed it to deduplicate) */
    else
        jk_chain_event_hash(ev, &hash); /* once: the admission reuses it (out->hash) */
    out->hash = hash;
    const char *full = dispatch ? jk_dispatch_precheck(ck, jk_chain_endpoint_dispatch_index(ev->endpoint), &hash,
                                                       jk_dispatch_bytes(ev, trace_count), 0)
                       : pooled ? NULL
                                : jk_chain_pool_precheck(ck, &hash, ev->blob_len, trace_count);
    if (full) {
        snprintf(out->why, sizeof out->why, "%s", full);
        return JK_OK;
    }
    /* MGMT_COPY(verify_proto, event_verify): a fresh copy per event. */
    run->dispatch = dispatch;
    run->event_verify = jk_cap_retain(ck->verify_proto);
    /* the rest of run->mode is zero (the memset above): not written again
     * (its inline pending attests, 128 bytes; session 14) */
    jk_verify_mode *m = &run->mode;
    m->ck = ck;
    m->genesis = &ck->genesis_hash;
    m->traces = traces;
    m->trace_count = trace_count;
    m->defer = defer;
    m->ev_blob = ev->blob;
    m->ev_len = ev->blob_len;
    if (known_msg) {
        m->has_blob_msg = true;
        m->blob_msg = *known_msg;
    }
    jk_err err = jk_cap_data_new(ev->blob, ev->blob_len, &run->blob);
    /* the cycle's AA_event while the chain still pins its image (the
     * chain is read at each injection) */
    if (err == JK_OK && !jk_cap_is_null(ck->verify_aa) &&
        jk_cap_same(jk_cap_instance_image(ck->verify_aa), jk_pinned_image(ck->chain, JK_CHAIN_SLOT_AA)))
        run->aa = jk_cap_retain(ck->verify_aa);
    else if (err == JK_OK) {
        err = jk_chain_inject_aa(ck, &run->aa);
        if (err == JK_ERR_INVALID_ARG) {
            snprintf(out->why, sizeof out->why, "the chain pins no AA image");
            return JK_OK;
        }
    }
    if (err == JK_OK)
        err = jk_chain_pair(run->blob, run->aa, &run->scratchpad);
    if (err == JK_OK) {
        out->ran = true;
        /* the verdict reads slot[0] alone: event_verify's new value is
         * MGMT_DROPped, so the kernel does not build it; and the scratchpad
         * is handed over, held by the run's frame alone, so that the
         * program's first writes into it change it in place (held here
         * too, the first was a path copy of it: 3 objects and ~500
         * instructions a verify; session 14) */
        jk_cap scratchpad = run->scratchpad;
        run->scratchpad = jk_cap_null();
        err = jk_chain_invoke_flags(kernel, ck->attest_marker, run->event_verify, 0, ck->gas.verify, NULL,
                                    scratchpad, jk_decide_verify, &run->mode,
                                    JK_KERNEL_CALL_NO_INSTANCE | JK_KERNEL_CALL_TAKE_SLOT0, NULL, &run->res);
        out->gas = run->res.gas_used;
        /* the kernel refused to run or finish it (a bound the guest hit):
         * the event's problem, never the host's — dropped (settle says so,
         * unless an attest before it fails its check) */
        if (err != JK_OK && err != JK_ERR_NOMEM) {
            run->run_err = err;
            err = JK_OK;
        }
        run->started = err == JK_OK;
        if (run->started)
            jk_judge(ck, run, out);
    }
    /* MGMT_DROP(event_verify); AA_event goes with it. Now, not at settle:
     * a batch then holds only its verdicts' event instances, and the next
     * run reuses the objects this one freed while they are still cached. */
    jk_kernel_result_clear(&run->res);
    jk_cap_release(run->scratchpad);
    jk_cap_release(run->aa);
    if (err == JK_OK && out->admit && !dispatch) {
        out->data = run->blob; /* the pool entry's, for the body (jk_chain_pooled.data) */
        run->blob = jk_cap_null();
    }
    jk_cap_release(run->blob);
    jk_cap_release(run->event_verify);
    run->scratchpad = run->aa = run->blob = run->event_verify = jk_cap_null();
    return err;
}

jk_err jk_chain_verify_settle(jk_chain_verify_run *run, jk_chain_verdict *out)
{
    jk_err err = JK_OK;
    if (run->started) {
        /* The waiting checks in attest order: the first refusal is where
         * the run would have stopped had it checked at the attest. */
        jk_verify_mode *m = &run->mode;
        bool accept = true;
        const jk_chain_pending_attest *pending = jk_pending_of(m);
        for (size_t i = 0; err == JK_OK && accept && i < m->pending_count; i++)
            err = jk_attest_check(m, pending[i].key, &pending[i].msg, &accept);
        out->deferred = (uint32_t)m->pending_count;
        out->has_blob_msg = m->has_blob_msg;
        out->blob_msg = m->blob_msg;
        if (err == JK_OK && !accept) {
            out->admit = false;
            jk_cap_release(out->event);
            out->event = jk_cap_null();
            snprintf(out->why, sizeof out->why, "verify did not HALT: %s", JK_CHAIN_ATTEST_REFUSED);
        } else if (err == JK_OK && out->admit) {
            out->used = m->used;
            out->used_count = m->used_count;
            m->used = NULL;
            /* moved, not merged: out->seen is empty, and a merge into an
             * empty set reserves room (two mallocs) for keys never added */
            out->seen = m->seen;
            jk_chain_keyset_init(&m->seen);
        }
    }
    jk_kernel_result_clear(&run->res);
    jk_chain_keyset_free(&run->mode.seen);
    free(run->mode.used);
    free(run->mode.pending);
    jk_cap_release(run->scratchpad);
    jk_cap_release(run->aa);
    jk_cap_release(run->blob);
    jk_cap_release(run->event_verify);
    memset(run, 0, sizeof *run);
    return err;
}

void jk_chain_verdict_free(jk_chain_verdict *v)
{
    jk_cap_release(v->event);
    jk_cap_release(v->data);
    jk_chain_keyset_free(&v->seen);
    free(v->used);
    memset(v, 0, sizeof *v);
}

/* The admit half: the pool or endpoint k's buffer, and the seen keys. The
 * pool keeps only the traces the verify used. *refused: why not admitted. */
jk_err jk_chain_admit(jk_chain_kernel *ck, const jk_chain_event *ev, jk_chain_verdict *v, const char **refused)
{
    *refused = NULL;
    for (size_t i = 0; !v->remembered && i < v->used_count; i++)
        jk_chain_sig_remember(ck, &v->used[i]); /* verified by this event's verify */
    if (jk_chain_endpoint_is_dispatch(ev->endpoint))
        return jk_admit_dispatch(ck, ev, v, refused);
    size_t before = ck->pool_count;
    /* the entry takes the verify's Data of the blob (v->data becomes null) */
    jk_err err = jk_chain_pool_admit(ck, ev, &v->hash, v->used, v->used_count, &v->used, &v->data, &v->seen,
                                     refused);
    if (ck->pool_count == before + 1 && v->has_blob_msg) { /* appended: it keeps what its verify hashed */
        ck->pool[before].has_blob_msg = true;
        ck->pool[before].blob_msg = v->blob_msg;
    }
    return err;
}

jk_err jk_chain_handle_incoming_event(jk_chain_kernel *ck, const jk_chain_event *ev,
                                      const jk_chain_trace *traces, size_t trace_count,
                                      bool *admitted, jk_diag *why)
{
    return jk_chain_handle_incoming_event_id(ck, ev, NULL, traces, trace_count, admitted, why);
}

jk_err jk_chain_handle_incoming_event_id(jk_chain_kernel *ck, const jk_chain_event *ev,
                                         const jk_hash *id, const jk_chain_trace *traces,
                                         size_t trace_count, bool *admitted, jk_diag *why)
{
    *admitted = false;
    if (!ck->cycle_open)
        return jk_diag_set(why, JK_ERR_INVALID_ARG, "no open cycle (setup_cycle first)");
    jk_chain_verdict v;
    jk_err err = jk_chain_verify_event_ex(ck, ck->kernel, ev, traces, trace_count, false, id, NULL, &v);
    if (v.ran)
        ck->stats.verify_runs++;
    ck->last_verify_gas = v.ran ? v.gas : 0;
    if (err == JK_OK && v.admit) {
        const char *refused = NULL;
        err = jk_chain_admit(ck, ev, &v, &refused);
        *admitted = err == JK_OK && !refused;
        if (refused)
            jk_diag_set(why, JK_OK, "%s", refused);
    } else if (err == JK_OK) {
        jk_diag_set(why, JK_OK, "%s", v.why);
    }
    jk_chain_verdict_free(&v);
    return err;
}
