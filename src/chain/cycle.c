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

jk_err jk_chain_kernel_new(jk_cap chain, const jk_hash *genesis_hash,
                           const jk_chain_budgets *gas, uint32_t dispatch_count,
                           jk_chain_kernel **out, jk_diag *diag)
{
    if (jk_cap_kind_of(chain) != JK_CAP_INSTANCE || jk_cap_instance_status(chain) != JK_CAP_IDLE)
        return jk_diag_set(diag, JK_ERR_INVALID_ARG, "the chain is not an Idle Instance");
    if (dispatch_count > JK_CHAIN_MAX_DISPATCH_ENDPOINTS)
        return jk_diag_set(diag, JK_ERR_INVALID_ARG, "%u dispatch endpoints (at most %d)", dispatch_count,
                           JK_CHAIN_MAX_DISPATCH_ENDPOINTS);
    for (uint32_t slot = 1; slot < JK_CHAIN_SLOT_DISPATCH_0 + dispatch_count; slot++)
        if (jk_cap_is_null(jk_pinned_image(chain, slot)))
            return jk_diag_set(diag, JK_ERR_INVALID_ARG, "the chain image does not pin an Image in slot %u", slot);
    if (jk_cap_image_endpoint_count(jk_cap_instance_image(chain)) < JK_CHAIN_EP_TRANSFORM_TO_DISPATCH_0 + dispatch_count)
        return jk_diag_set(diag, JK_ERR_INVALID_ARG, "the chain image lacks apply / transform endpoints");
    jk_chain_kernel *ck = calloc(1, sizeof *ck);
    if (!ck)
        return JK_ERR_NOMEM;
    jk_err err = jk_kernel_new(NULL, &ck->kernel);
    if (err == JK_OK)
        err = jk_kernel_mint_marker(ck->kernel, 0, &ck->attest_marker);
    if (err != JK_OK) {
        jk_chain_kernel_free(ck);
        return err;
    }
    ck->genesis_hash = *genesis_hash;
    ck->gas = *gas;
    ck->dispatch_count = dispatch_count;
    ck->chain = jk_cap_retain(chain);
    ck->aa_image = jk_cap_retain(jk_pinned_image(chain, JK_CHAIN_SLOT_AA));
    jk_chain_keyset_init(&ck->pool_seen_keys);
    for (uint32_t k = 0; k < JK_CHAIN_MAX_DISPATCH_ENDPOINTS; k++)
        jk_chain_keyset_init(&ck->cycle_seen_keys[k]);
    *out = ck;
    return JK_OK;
}

static void jk_pool_clear(jk_chain_kernel *ck)
{
    for (size_t i = 0; i < ck->pool_count; i++) {
        free(ck->pool[i].blob);
        free(ck->pool[i].traces);
    }
    free(ck->pool);
    ck->pool = NULL;
    ck->pool_count = 0;
}

void jk_chain_cycle_reset(jk_chain_kernel *ck)
{
    for (uint32_t k = 0; k < JK_CHAIN_MAX_DISPATCH_ENDPOINTS; k++) {
        for (size_t i = 0; i < ck->dispatch_buffered[k]; i++)
            jk_cap_release(ck->dispatch_buffer[k][i]);
        free(ck->dispatch_buffer[k]);
        ck->dispatch_buffer[k] = NULL;
        ck->dispatch_buffered[k] = 0;
        jk_chain_keyset_clear(&ck->cycle_seen_keys[k]);
    }
    jk_pool_clear(ck);
    jk_chain_keyset_clear(&ck->pool_seen_keys);
    free(ck->cycle_traces);
    ck->cycle_traces = NULL;
    ck->cycle_trace_count = 0;
}

void jk_chain_kernel_free(jk_chain_kernel *ck)
{
    if (!ck)
        return;
    jk_chain_teardown(ck);
    jk_chain_cycle_reset(ck);
    for (uint32_t k = 0; k < JK_CHAIN_MAX_DISPATCH_ENDPOINTS; k++)
        jk_chain_keyset_free(&ck->cycle_seen_keys[k]);
    jk_chain_keyset_free(&ck->pool_seen_keys);
    jk_crypto_wipe(ck->own_secret, sizeof ck->own_secret);
    for (size_t i = 0; i < ck->queued_count; i++) {
        free(ck->queued[i].blob);
        free(ck->queued[i].traces);
    }
    free(ck->queued);
    free(ck->queued_endpoint);
    jk_cap_release(ck->chain);
    jk_cap_release(ck->aa_image);
    jk_cap_release(ck->attest_marker);
    jk_kernel_free(ck->kernel);
    free(ck);
}

/* MGMT_COPY(chain, proto) + CALL(proto, transform endpoint): *out NEW. */
static jk_err jk_derive_role(jk_chain_kernel *ck, uint32_t endpoint, jk_cap *out, jk_diag *diag)
{
    jk_kernel_result res;
    jk_cap proto = jk_cap_retain(ck->chain); /* MGMT_COPY: O(1), content-shared */
    jk_err err = jk_kernel_call(ck->kernel, proto, endpoint, ck->gas.transform, NULL, jk_cap_null(), &res);
    jk_cap_release(proto);
    if (err != JK_OK)
        return err;
    if (res.outcome != JK_KERNEL_HALT) {
        jk_diag_set(diag, JK_ERR_INVALID_ARG, "transform endpoint %u did not HALT (outcome %d: %s)", endpoint,
                    res.outcome, res.fault_msg);
        jk_kernel_result_clear(&res);
        return JK_ERR_INVALID_ARG;
    }
    *out = jk_cap_retain(res.instance);
    jk_kernel_result_clear(&res);
    return JK_OK;
}

jk_err jk_chain_setup_cycle(jk_chain_kernel *ck, jk_diag *diag)
{
    jk_chain_teardown(ck);
    jk_err err = jk_derive_role(ck, JK_CHAIN_EP_TRANSFORM_TO_VERIFY, &ck->verify_proto, diag);
    for (uint32_t k = 0; err == JK_OK && k < ck->dispatch_count; k++)
        err = jk_derive_role(ck, JK_CHAIN_EP_TRANSFORM_TO_DISPATCH_0 + k, &ck->dispatch_protos[k], diag);
    if (err != JK_OK) {
        jk_chain_teardown(ck);
        return err;
    }
    /* The lineages of what a verify may hand back (architecture §6). */
    jk_hash verify_lineage, transact_id, dispatch_id;
    jk_cap_instance_image_hash(ck->verify_proto, &verify_lineage);
    jk_cap_hash(jk_pinned_image(ck->chain, JK_CHAIN_SLOT_TRANSACT), &transact_id);
    jk_cap_hash(jk_pinned_image(ck->chain, JK_CHAIN_SLOT_DISPATCH_INSTANCE), &dispatch_id);
    jk_concat_hash(&verify_lineage, &transact_id, &ck->transact_lineage);
    jk_concat_hash(&verify_lineage, &dispatch_id, &ck->dispatch_lineage);
    ck->cycle_open = true;
    return JK_OK;
}

void jk_chain_teardown(jk_chain_kernel *ck)
{
    jk_cap_release(ck->verify_proto);
    ck->verify_proto = jk_cap_null();
    for (uint32_t k = 0; k < JK_CHAIN_MAX_DISPATCH_ENDPOINTS; k++) {
        jk_cap_release(ck->dispatch_protos[k]);
        ck->dispatch_protos[k] = jk_cap_null();
    }
    ck->cycle_open = false;
}

/* "AA_event = inject Cap::Instance[AAImage]": a fresh AA holding the marker. */
jk_err jk_chain_inject_aa(jk_chain_kernel *ck, jk_cap *out)
{
    jk_cap cnode, with_marker;
    jk_err err = jk_cap_cnode_new(JK_CAP_ROOT_LOG2, &cnode);
    if (err != JK_OK)
        return err;
    err = jk_cap_cnode_set(cnode, JK_CHAIN_AA_MARKER_SLOT, ck->attest_marker, &with_marker);
    jk_cap_release(cnode);
    if (err != JK_OK)
        return err;
    err = jk_cap_instance_genesis(ck->aa_image, with_marker, out, NULL);
    jk_cap_release(with_marker);
    return err;
}

/* A CNode of 4 slots holding a and b in slots 0 and 1: *out NEW. */
jk_err jk_chain_pair(jk_cap a, jk_cap b, jk_cap *out)
{
    jk_cap c0, c1;
    jk_err err = jk_cap_cnode_new(2, &c0);
    if (err != JK_OK)
        return err;
    err = jk_cap_cnode_set(c0, 0, a, &c1);
    jk_cap_release(c0);
    if (err != JK_OK)
        return err;
    err = jk_cap_cnode_set(c1, 1, b, out);
    jk_cap_release(c1);
    return err;
}

/* Verify mode: the event's own traces must hold a valid signature by the key
 * over the blob; the key becomes seen for this event. */
typedef struct jk_verify_mode {
    const jk_hash *genesis;
    const jk_chain_trace *traces;
    size_t trace_count;
    jk_chain_keyset seen;
} jk_verify_mode;

static jk_err jk_decide_verify(void *ctx, const uint8_t key[32], const uint8_t *blob, size_t len, bool *accept)
{
    jk_verify_mode *m = ctx;
    jk_hash msg;
    jk_chain_attest_msg_hash(m->genesis, blob, len, &msg);
    *accept = jk_chain_trace_find_valid(m->traces, m->trace_count, key, &msg, NULL);
    return *accept ? jk_chain_keyset_add(&m->seen, key, NULL) : JK_OK;
}

/* Whether the pool already holds this blob (gossip repeats it). */
static bool jk_pool_has(const jk_chain_kernel *ck, const jk_chain_event *ev)
{
    for (size_t i = 0; i < ck->pool_count; i++)
        if (ck->pool[i].blob_len == ev->blob_len && !memcmp(ck->pool[i].blob, ev->blob, ev->blob_len))
            return true;
    return false;
}

static jk_err jk_admit_transact(jk_chain_kernel *ck, const jk_chain_event *ev, const jk_chain_trace *traces,
                                size_t trace_count, const jk_chain_keyset *seen)
{
    jk_chain_pooled *grown = realloc(ck->pool, (ck->pool_count + 1) * sizeof *grown);
    if (!grown)
        return JK_ERR_NOMEM;
    ck->pool = grown;
    jk_chain_pooled *p = &ck->pool[ck->pool_count];
    p->blob = malloc(ev->blob_len ? ev->blob_len : 1);
    p->traces = malloc((trace_count ? trace_count : 1) * sizeof *traces);
    if (!p->blob || !p->traces) {
        free(p->blob);
        free(p->traces);
        return JK_ERR_NOMEM;
    }
    memcpy(p->blob, ev->blob, ev->blob_len);
    p->blob_len = ev->blob_len;
    if (trace_count)
        memcpy(p->traces, traces, trace_count * sizeof *traces);
    p->trace_count = trace_count;
    ck->pool_count++;
    return jk_chain_keyset_merge(&ck->pool_seen_keys, seen);
}

static jk_err jk_admit_dispatch(jk_chain_kernel *ck, uint32_t k, jk_cap event, const jk_chain_keyset *seen,
                                const jk_chain_trace *traces, size_t trace_count)
{
    jk_cap *grown = realloc(ck->dispatch_buffer[k], (ck->dispatch_buffered[k] + 1) * sizeof *grown);
    if (!grown)
        return JK_ERR_NOMEM;
    ck->dispatch_buffer[k] = grown;
    grown[ck->dispatch_buffered[k]++] = jk_cap_retain(event);
    /* The event's traces join the cycle's: process and apply find them there. */
    if (trace_count) {
        jk_chain_trace *all = realloc(ck->cycle_traces, (ck->cycle_trace_count + trace_count) * sizeof *all);
        if (!all)
            return JK_ERR_NOMEM;
        memcpy(all + ck->cycle_trace_count, traces, trace_count * sizeof *traces);
        ck->cycle_traces = all;
        ck->cycle_trace_count += trace_count;
    }
    return jk_chain_keyset_merge(&ck->cycle_seen_keys[k], seen);
}

/* The verify half of handle_incoming_event: reads ck (verify_proto, the AA
 * image, the marker, the lineages) and runs on `kernel`, so that several may
 * run at once on separate kernels. Fills *out (release with
 * jk_verdict_free); out->admit says whether the event may be admitted. */
jk_err jk_chain_verify_event(const jk_chain_kernel *ck, jk_kernel *kernel, const jk_chain_event *ev,
                             const jk_chain_trace *traces, size_t trace_count, jk_chain_verdict *out)
{
    memset(out, 0, sizeof *out);
    jk_chain_keyset_init(&out->seen);
    bool dispatch = jk_chain_endpoint_is_dispatch(ev->endpoint);
    if (dispatch && jk_chain_endpoint_dispatch_index(ev->endpoint) >= ck->dispatch_count) {
        snprintf(out->why, sizeof out->why, "dispatch endpoint %u does not exist",
                 jk_chain_endpoint_dispatch_index(ev->endpoint));
        return JK_OK;
    }
    /* MGMT_COPY(verify_proto, event_verify): a fresh copy per event. */
    jk_cap event_verify = jk_cap_retain(ck->verify_proto), blob = jk_cap_null(), aa = jk_cap_null();
    jk_cap scratchpad = jk_cap_null();
    jk_verify_mode mode = {&ck->genesis_hash, traces, trace_count, {0}};
    jk_chain_keyset_init(&mode.seen);
    jk_kernel_result res;
    memset(&res, 0, sizeof res);
    jk_err err = jk_cap_data_new(ev->blob, ev->blob_len, &blob);
    if (err == JK_OK)
        err = jk_chain_inject_aa((jk_chain_kernel *)ck, &aa);
    if (err == JK_OK)
        err = jk_chain_pair(blob, aa, &scratchpad);
    if (err == JK_OK)
        err = jk_chain_invoke(kernel, ck->attest_marker, event_verify, 0, ck->gas.verify, NULL, scratchpad,
                              jk_decide_verify, &mode, NULL, &res);
    if (err == JK_OK) {
        jk_hash lineage;
        jk_cap event = res.slot0;
        bool is_instance = res.outcome == JK_KERNEL_HALT && jk_cap_kind_of(event) == JK_CAP_INSTANCE;
        if (is_instance)
            jk_cap_instance_image_hash(event, &lineage);
        if (res.outcome != JK_KERNEL_HALT)
            snprintf(out->why, sizeof out->why, "verify did not HALT: %.120s",
                     res.fault_msg[0] ? res.fault_msg : "out of gas or yield");
        else if (!is_instance)
            snprintf(out->why, sizeof out->why, "verify did not hand back an event instance in slot[0]");
        else if (!memcmp(lineage.bytes, (dispatch ? ck->dispatch_lineage : ck->transact_lineage).bytes, JK_HASH_SIZE)) {
            out->admit = true;
            out->event = jk_cap_retain(event);
            err = jk_chain_keyset_merge(&out->seen, &mode.seen);
        } else {
            snprintf(out->why, sizeof out->why, "verify handed back an instance of the wrong lineage for this endpoint");
        }
    }
    /* MGMT_DROP(event_verify); AA_event goes with it. */
    jk_kernel_result_clear(&res);
    jk_chain_keyset_free(&mode.seen);
    jk_cap_release(scratchpad);
    jk_cap_release(aa);
    jk_cap_release(blob);
    jk_cap_release(event_verify);
    return err;
}

void jk_chain_verdict_free(jk_chain_verdict *v)
{
    jk_cap_release(v->event);
    jk_chain_keyset_free(&v->seen);
    memset(v, 0, sizeof *v);
}

/* The admit half: the pool or endpoint k's buffer, and the seen keys. */
jk_err jk_chain_admit(jk_chain_kernel *ck, const jk_chain_event *ev, const jk_chain_trace *traces,
                      size_t trace_count, const jk_chain_verdict *v)
{
    if (!jk_chain_endpoint_is_dispatch(ev->endpoint))
        return jk_pool_has(ck, ev) ? JK_ERR_CHAIN_DUPLICATE : jk_admit_transact(ck, ev, traces, trace_count, &v->seen);
    return jk_admit_dispatch(ck, jk_chain_endpoint_dispatch_index(ev->endpoint), v->event, &v->seen, traces,
                             trace_count);
}

jk_err jk_chain_handle_incoming_event(jk_chain_kernel *ck, const jk_chain_event *ev,
                                      const jk_chain_trace *traces, size_t trace_count,
                                      bool *admitted, jk_diag *why)
{
    *admitted = false;
    if (!ck->cycle_open)
        return jk_diag_set(why, JK_ERR_INVALID_ARG, "no open cycle (setup_cycle first)");
    jk_chain_verdict v;
    jk_err err = jk_chain_verify_event(ck, ck->kernel, ev, traces, trace_count, &v);
    if (err == JK_OK && v.admit) {
        err = jk_chain_admit(ck, ev, traces, trace_count, &v);
        *admitted = err == JK_OK;
        if (err == JK_ERR_CHAIN_DUPLICATE) {
            jk_diag_set(why, JK_OK, "the pool already holds this transact");
            err = JK_OK;
        }
    } else if (err == JK_OK) {
        jk_diag_set(why, JK_OK, "%s", v.why);
    }
    jk_chain_verdict_free(&v);
    return err;
}
