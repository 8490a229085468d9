/*
 * dispatch.c — the dispatch side of a block on a network of validators
 * (docs/chain-design.md, "Dispatch on a network"). The proposer writes what
 * its cycle's Dispatch_k.process consumed and made into the block's dispatch
 * part; every importer replays it — the spec's "Kernel post-processes
 * AA_cycle records (sign or verify per mode)" in verify mode — on a shadow
 * of its kernel: the same queue fed, the block's consumed events verified
 * with their own traces, process run against the block's process traces,
 * and checks that it derives the block's queued emits and the transacts at
 * the end of its body. Nothing of the part is trusted from the proposer.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

jk_err jk_chain_produced_dispatch(jk_chain_kernel *ck, jk_chain_block *b, jk_diag *why)
{
    /* what process saw: the buffers as they were when it ran */
    jk_chain_traced_event *consumed = calloc(ck->dispatch_total ? ck->dispatch_total : 1, sizeof *consumed);
    jk_chain_traced_event *queued = calloc(ck->cycle_queued_count ? ck->cycle_queued_count : 1, sizeof *queued);
    jk_err err = consumed && queued ? JK_OK : JK_ERR_NOMEM;
    size_t n = 0;
    for (uint32_t k = 0; err == JK_OK && k < ck->dispatch_count; k++)
        for (size_t i = 0; i < ck->process_consumed[k]; i++) {
            const jk_chain_pooled *e = &ck->dispatch_src[k][i];
            consumed[n++] = (jk_chain_traced_event){{e->endpoint, e->blob, e->blob_len}, e->traces, e->trace_count};
        }
    for (size_t i = 0; err == JK_OK && i < ck->cycle_queued_count; i++) {
        const jk_chain_pooled *e = &ck->cycle_queued[i];
        queued[i] = (jk_chain_traced_event){{e->endpoint, e->blob, e->blob_len}, e->traces, e->trace_count};
    }
    if (err == JK_OK) {
        jk_chain_dispatch_part part = {true, consumed, n, ck->process_traces, ck->process_trace_count, queued,
                                       ck->cycle_queued_count, NULL, NULL};
        err = jk_chain_block_set_dispatch(b, &part, why);
    }
    free(consumed);
    free(queued);
    return err;
}

/* A shadow of ck for the replay: ck's settings, chain, kernel, marker,
 * signature cache and queue, borrowed; its own cycle. */
static jk_chain_kernel *jk_shadow_new(jk_chain_kernel *ck)
{
    jk_chain_kernel *sh = calloc(1, sizeof *sh);
    if (!sh)
        return NULL;
    sh->kernel = ck->kernel;
    sh->genesis_hash = ck->genesis_hash;
    sh->gas = ck->gas;
    sh->dispatch_count = ck->dispatch_count;
    sh->max_event_traces = ck->max_event_traces;
    sh->validator_count = ck->validator_count;
    sh->validators = ck->validators;
    sh->chain = jk_cap_retain(ck->chain);
    sh->attest_marker = ck->attest_marker;
    sh->sig_cache = ck->sig_cache;
    sh->debug = ck->debug;
    sh->pool_limits = ck->pool_limits;
    sh->queued = ck->queued;
    sh->queued_count = ck->queued_count;
    sh->verify_proto = jk_cap_null();
    for (uint32_t k = 0; k < JK_CHAIN_MAX_DISPATCH_ENDPOINTS; k++) {
        sh->dispatch_protos[k] = jk_cap_null();
        jk_chain_keyset_init(&sh->cycle_seen_keys[k]);
    }
    jk_chain_keyset_init(&sh->pool_seen_keys);
    return sh;
}

static void jk_shadow_free(jk_chain_kernel *ck, jk_chain_kernel *sh)
{
    if (!ck->sig_cache)
        ck->sig_cache = sh->sig_cache; /* made by the replay's checks: ck's now */
    ck->stats.verify_runs += sh->stats.verify_runs;
    jk_chain_teardown(sh);
    jk_chain_cycle_reset(sh, true);
    for (uint32_t k = 0; k < JK_CHAIN_MAX_DISPATCH_ENDPOINTS; k++)
        jk_chain_keyset_free(&sh->cycle_seen_keys[k]);
    jk_chain_keyset_free(&sh->pool_seen_keys);
    jk_chain_hashset_free(&sh->pool_index);
    jk_chain_hashset_free(&sh->dispatch_index);
    jk_chain_pooled_free(sh->emits, sh->emit_count);
    jk_cap_release(sh->chain);
    free(sh);
}

static bool jk_traces_equal(const jk_chain_trace *a, size_t n, const jk_chain_trace *b, size_t m)
{
    if (n != m)
        return false;
    for (size_t i = 0; i < n; i++)
        if (memcmp(a[i].key, b[i].key, JK_ED25519_PUBLIC_SIZE) != 0 ||
            memcmp(a[i].msg_hash.bytes, b[i].msg_hash.bytes, JK_HASH_SIZE) != 0 ||
            memcmp(a[i].sig, b[i].sig, JK_ED25519_SIG_SIZE) != 0)
            return false;
    return true;
}

/* Is the carried event e the kernel's entry p (endpoint, blob, traces)? */
static bool jk_same(const jk_chain_traced_event *e, const jk_chain_pooled *p)
{
    return e->event.endpoint == p->endpoint && e->event.blob_len == p->blob_len &&
           (p->blob_len == 0 || memcmp(e->event.blob, p->blob, p->blob_len) == 0) &&
           jk_traces_equal(e->traces, e->trace_count, p->traces, p->trace_count);
}

/* The consumed list against the shadow's cycle: endpoint by endpoint (k
 * ascending), each endpoint's list starting with exactly the queued events
 * its cycle was fed and admitted, then gossiped events that the shadow
 * admits now with exactly the traces carried (their verify uses every one:
 * a canonical part). */
static jk_err jk_replay_consumed(jk_chain_kernel *sh, const jk_chain_dispatch_part *d, const size_t *fed,
                                 jk_diag *why)
{
    uint32_t k = 0;   /* the endpoint being read */
    size_t pos = 0;   /* events of it read so far */
    for (size_t i = 0; i <= d->consumed_count; i++) {
        uint32_t ek = i < d->consumed_count ? jk_chain_endpoint_dispatch_index(d->consumed[i].event.endpoint)
                                            : JK_CHAIN_MAX_DISPATCH_ENDPOINTS;
        if (i < d->consumed_count && ek >= sh->dispatch_count)
            return jk_diag_set(why, JK_ERR_CHAIN_BLOCK_INVALID, "dispatch part: consumed event %zu: dispatch "
                               "endpoint %u does not exist", i, ek);
        if (ek < k)
            return jk_diag_set(why, JK_ERR_CHAIN_BLOCK_INVALID, "dispatch part: consumed event %zu: endpoints "
                               "out of order", i);
        for (; k < ek && k < JK_CHAIN_MAX_DISPATCH_ENDPOINTS; k++, pos = 0)
            if (pos < fed[k]) /* the endpoint ends before its queue does */
                return jk_diag_set(why, JK_ERR_CHAIN_BLOCK_INVALID, "dispatch part: the events queued for "
                                   "dispatch %u are not all consumed", k);
        if (i == d->consumed_count)
            break;
        const jk_chain_traced_event *e = &d->consumed[i];
        if (pos < fed[k]) {
            if (!jk_same(e, &sh->dispatch_src[k][pos]))
                return jk_diag_set(why, JK_ERR_CHAIN_BLOCK_INVALID, "dispatch part: consumed event %zu is not "
                                   "the event queued for this cycle in its place", i);
            pos++;
            continue;
        }
        bool admitted = false;
        jk_diag reason = {{0}};
        jk_err err = jk_chain_handle_incoming_event(sh, &e->event, e->traces, e->trace_count, &admitted, &reason);
        if (err != JK_OK)
            return err == JK_ERR_NOMEM ? err : jk_diag_set(why, JK_ERR_CHAIN_BLOCK_INVALID, "%s", reason.msg);
        if (!admitted)
            return jk_diag_set(why, JK_ERR_CHAIN_BLOCK_INVALID, "dispatch part: consumed event %zu is not "
                               "admissible: %.120s", i, reason.msg);
        if (sh->dispatch_buffered[k] != pos + 1 || !jk_same(e, &sh->dispatch_src[k][pos]))
            return jk_diag_set(why, JK_ERR_CHAIN_BLOCK_INVALID, "dispatch part: consumed event %zu carries "
                               "traces its verify does not use", i);
        pos++;
    }
    return JK_OK;
}

jk_err jk_chain_dispatch_replay(jk_chain_kernel *ck, const jk_chain_block *block, jk_chain_pooled **queued,
                                size_t *queued_count, jk_diag *why)
{
    *queued = NULL;
    *queued_count = 0;
    const jk_chain_dispatch_part *d = &block->dispatch;
    if (!d->ran)
        return JK_OK;
    jk_chain_kernel *sh = jk_shadow_new(ck);
    if (!sh)
        return JK_ERR_NOMEM;
    jk_diag setup = {{0}};
    jk_err err = jk_chain_setup_cycle(sh, &setup);
    sh->queued = NULL; /* ck's: borrowed */
    sh->queued_count = 0;
    if (err == JK_ERR_INVALID_ARG)
        err = jk_diag_set(why, JK_ERR_CHAIN_BLOCK_INVALID, "dispatch part: the cycle cannot be set up: %s",
                          setup.msg);
    /* the events queued for this cycle that it admitted: each endpoint's
     * consumed list starts with them */
    size_t fed[JK_CHAIN_MAX_DISPATCH_ENDPOINTS];
    for (uint32_t k = 0; k < JK_CHAIN_MAX_DISPATCH_ENDPOINTS; k++)
        fed[k] = sh->dispatch_buffered[k];
    if (err == JK_OK)
        err = jk_replay_consumed(sh, d, fed, why);
    size_t used = 0;
    if (err == JK_OK)
        err = jk_chain_process_run(sh, d->process_traces, d->process_trace_count, &used, NULL);
    if (err == JK_OK && used != d->process_trace_count)
        err = jk_diag_set(why, JK_ERR_CHAIN_BLOCK_INVALID, "dispatch part: process used %zu of its %zu traces",
                          used, d->process_trace_count);
    /* what process made: the body's last transacts, and the queued list */
    size_t t = sh->cycle_transact_count;
    if (err == JK_OK && t > block->event_count)
        err = jk_diag_set(why, JK_ERR_CHAIN_BLOCK_INVALID, "dispatch part: process made %zu transacts, the body "
                          "has %zu events", t, block->event_count);
    for (size_t i = 0; err == JK_OK && i < t; i++) {
        const jk_chain_event *e = &block->events[block->event_count - t + i];
        const jk_chain_pooled *p = &sh->cycle_transacts[i];
        if (e->endpoint != JK_CHAIN_ENDPOINT_TRANSACT || e->blob_len != p->blob_len ||
            (p->blob_len && memcmp(e->blob, p->blob, p->blob_len) != 0))
            err = jk_diag_set(why, JK_ERR_CHAIN_BLOCK_INVALID, "dispatch part: the body does not end with the "
                              "transacts process made (transact %zu of %zu)", i, t);
    }
    if (err == JK_OK && sh->cycle_queued_count != d->queued_count)
        err = jk_diag_set(why, JK_ERR_CHAIN_BLOCK_INVALID, "dispatch part: process queued %zu emits, the block "
                          "says %zu", sh->cycle_queued_count, d->queued_count);
    for (size_t i = 0; err == JK_OK && i < d->queued_count; i++)
        if (!jk_same(&d->queued[i], &sh->cycle_queued[i]))
            err = jk_diag_set(why, JK_ERR_CHAIN_BLOCK_INVALID, "dispatch part: queued emit %zu is not the one "
                              "process made", i);
    if (err == JK_OK) {
        *queued = sh->cycle_queued;
        *queued_count = sh->cycle_queued_count;
        sh->cycle_queued = NULL;
        sh->cycle_queued_count = sh->cycle_queued_cap = 0;
    }
    jk_shadow_free(ck, sh);
    return err;
}
