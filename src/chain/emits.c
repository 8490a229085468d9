/*
 * emits.c — what chain.apply and a process emit (slot[0] at HALT): read
 * and priced against the invocation's gas, then routed — transacts to the
 * pool or the cycle's transacts, dispatches to the next cycle's queue —
 * within the bounds every validator applies alike (split from apply.c,
 * which calls these at the block boundary).
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* Read the emits CNode (slot[0] at HALT): each slot a CNode {0: target
 * (u32 LE Data: 0 transact, k + 1 dispatch k), 1: blob Data}. Malformed
 * entries and unknown endpoints are dropped (chain code's mistake, not the
 * host's). *out: a fresh list of copies, each carrying `traces`.
 * One entry COPYed into every slot costs the program a few hundred gas a
 * slot whatever its blob, while each emit here is a copy of its blob: so
 * the emits' blob bytes are priced as a copy (JK_GAS_PER_PAGE_COPIED per
 * 4 KiB, by the byte) against the invocation's gas, and the emits past it
 * are dropped (300 emits of one 1 MiB blob cost 600 MB for 1 M gas). */
jk_err jk_chain_read_emits(const jk_chain_kernel *ck, jk_cap emits, const jk_chain_trace *traces, size_t n,
                           int64_t gas, jk_chain_pooled **out, size_t *count)
{
    *out = NULL;
    *count = 0;
    size_t cap = 0;
    uint64_t priced = 0;
    uint32_t i = 0;
    jk_err err = JK_OK;
    while (err == JK_OK && jk_cap_kind_of(emits) == JK_CAP_CNODE && jk_cap_cnode_next(emits, i, &i)) {
        jk_cap e = jk_cap_cnode_get(emits, i++);
        jk_cap target = jk_cap_cnode_get(e, 0), blob = jk_cap_cnode_get(e, 1);
        uint8_t t[4];
        if (jk_cap_kind_of(e) != JK_CAP_CNODE || jk_cap_kind_of(target) != JK_CAP_DATA ||
            jk_cap_kind_of(blob) != JK_CAP_DATA || jk_cap_data_len(target) != 4 ||
            jk_cap_data_len(blob) > JK_CHAIN_MAX_BLOB || jk_cap_data_read(target, 0, t, 4) != JK_OK)
            continue; /* malformed: dropped */
        jk_chain_endpoint endpoint = jk_get_u32le(t);
        if (jk_chain_endpoint_is_dispatch(endpoint) &&
            jk_chain_endpoint_dispatch_index(endpoint) >= ck->dispatch_count)
            continue; /* no such endpoint: dropped */
        size_t len = (size_t)jk_cap_data_len(blob);
        priced += ((uint64_t)len * JK_GAS_PER_PAGE_COPIED + JK_CAP_PAGE_SIZE - 1) / JK_CAP_PAGE_SIZE;
        if (priced > (uint64_t)(gas > 0 ? gas : 0))
            break; /* past what the invocation's gas pays for: the rest dropped */
        uint8_t *bytes = malloc(len ? len : 1);
        jk_chain_pooled *grown = jk_chain_grow(*out, &cap, *count + 1, sizeof *grown);
        if (grown)
            *out = grown;
        err = bytes && grown ? jk_cap_data_read(blob, 0, bytes, len) : JK_ERR_NOMEM;
        if (err == JK_OK)
            err = jk_chain_pooled_make(bytes, len, traces, n, endpoint, NULL, &(*out)[*count]);
        if (err == JK_OK)
            (*count)++;
        free(bytes);
    }
    if (err != JK_OK) {
        jk_chain_pooled_free(*out, *count);
        *out = NULL;
        *count = 0;
    }
    return err;
}

/* "route emits": transacts to the pool (kernel-made: under the pool's count
 * and byte bounds, charged to no key), dispatches queued for the next cycle
 * (bounded by JK_CHAIN_MAX_QUEUED). What does not fit is dropped. The list's
 * entries are consumed; the list itself freed. */
jk_err jk_chain_route_emits(jk_chain_kernel *ck, jk_chain_pooled *list, size_t n)
{
    jk_err err = JK_OK;
    for (size_t i = 0; i < n; i++) {
        bool kept = false;
        if (err == JK_OK && list[i].endpoint == JK_CHAIN_ENDPOINT_TRANSACT) {
            jk_chain_event ev = {list[i].endpoint, list[i].blob, list[i].blob_len};
            const char *refused;
            err = jk_chain_pool_admit(ck, &ev, &list[i].hash, list[i].traces, list[i].trace_count, NULL, NULL, NULL,
                                      &refused);
        } else if (err == JK_OK) {
            err = jk_chain_queue_push(ck, &list[i], &kept);
        }
        if (!kept) {
            free(list[i].blob);
            free(list[i].traces);
        }
    }
    free(list);
    return err;
}

size_t jk_chain_emits(const jk_chain_kernel *ck, const jk_chain_pooled **emits)
{
    *emits = ck->emits;
    return ck->emit_count;
}

/* Append *e (moved in) to list when it fits the bounds, else free it. */
static jk_err jk_output_push(jk_chain_pooled **list, size_t *count, size_t *cap, size_t *bytes, size_t max_count,
                             size_t max_bytes, jk_chain_pooled *e, size_t e_bytes)
{
    if (*count >= max_count || e_bytes > max_bytes - *bytes) {
        free(e->blob); /* over the block's bound: dropped, on every validator */
        free(e->traces);
        return JK_OK;
    }
    jk_chain_pooled *grown = jk_chain_grow(*list, cap, *count + 1, sizeof *grown);
    if (!grown) {
        free(e->blob);
        free(e->traces);
        return JK_ERR_NOMEM;
    }
    *list = grown;
    grown[(*count)++] = *e;
    *bytes += e_bytes;
    return JK_OK;
}

/* process's emits: transacts to the cycle's transacts (the produced body's
 * tail), dispatches to the cycle's queue (the block's queued list); both
 * bounded, in emit order, the same on every validator. The list is freed. */
jk_err jk_chain_route_process_emits(jk_chain_kernel *ck, jk_chain_pooled *list, size_t n)
{
    jk_err err = JK_OK;
    for (size_t i = 0; i < n; i++) {
        if (err != JK_OK) {
            free(list[i].blob);
            free(list[i].traces);
            continue;
        }
        jk_chain_event ev = {list[i].endpoint, list[i].blob, list[i].blob_len};
        if (list[i].endpoint == JK_CHAIN_ENDPOINT_TRANSACT) {
            list[i].kernel_made = true;
            size_t bytes = jk_chain_traced_size(&(jk_chain_traced_event){ev, NULL, 0}) - 1; /* no trace count */
            err = jk_output_push(&ck->cycle_transacts, &ck->cycle_transact_count, &ck->cycle_transact_cap,
                                 &ck->cycle_transact_bytes, JK_CHAIN_MAX_PROCESS_TRANSACTS,
                                 JK_CHAIN_PROCESS_TRANSACT_BYTES, &list[i], bytes);
        } else {
            size_t bytes = jk_chain_traced_size(&(jk_chain_traced_event){ev, NULL, list[i].trace_count});
            err = jk_output_push(&ck->cycle_queued, &ck->cycle_queued_count, &ck->cycle_queued_cap,
                                 &ck->cycle_queued_bytes, JK_CHAIN_MAX_QUEUED, JK_CHAIN_QUEUED_BYTES, &list[i],
                                 bytes);
        }
    }
    free(list);
    return err;
}
