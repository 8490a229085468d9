/*
 * apply.c — the block boundary: run_cycle_process, and apply_block in its
 * two modes (produce: the proposer builds and signs the block; import: every
 * other validator checks it and reproduces its state root). The
 * AttestationAuthority's rule per phase is attestation.md's table.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

void jk_chain_set_own_key(jk_chain_kernel *ck, const uint8_t secret_key[JK_ED25519_SECRET_SIZE])
{
    memcpy(ck->own_secret, secret_key, JK_ED25519_SECRET_SIZE);
    memcpy(ck->own_public, secret_key + 32, JK_ED25519_PUBLIC_SIZE); /* libsodium layout: seed ‖ pk */
    ck->has_own_key = true;
}

/* A CNode holding caps[0..n) in its first slots (2^k ≥ n slots). */
static jk_err jk_list(const jk_cap *caps, size_t n, jk_cap *out)
{
    unsigned log2 = 0;
    while (((size_t)1 << log2) < n)
        log2++;
    if (log2 > JK_CAP_CNODE_MAX_LOG2)
        return JK_ERR_INVALID_ARG;
    jk_cap list;
    jk_err err = jk_cap_cnode_new(log2, &list);
    for (size_t i = 0; err == JK_OK && i < n; i++) {
        jk_cap next;
        err = jk_cap_cnode_set(list, (uint32_t)i, caps[i], &next);
        jk_cap_release(list);
        list = next;
    }
    if (err == JK_OK)
        *out = list;
    return err;
}

/* The body as chain.apply sees it: slot i = {0: endpoint (u32 LE Data), 1: blob Data}. */
static jk_err jk_body_cnode(const jk_chain_event *events, size_t n, jk_cap *out)
{
    jk_cap *pairs = calloc(n ? n : 1, sizeof *pairs);
    jk_err err = pairs ? JK_OK : JK_ERR_NOMEM;
    size_t made = 0;
    for (; err == JK_OK && made < n; made++) {
        uint8_t ep[4] = {(uint8_t)events[made].endpoint, (uint8_t)(events[made].endpoint >> 8),
                         (uint8_t)(events[made].endpoint >> 16), (uint8_t)(events[made].endpoint >> 24)};
        jk_cap e, b;
        err = jk_cap_data_new(ep, 4, &e);
        if (err != JK_OK)
            break;
        err = jk_cap_data_new(events[made].blob, events[made].blob_len, &b);
        if (err == JK_OK)
            err = jk_chain_pair(e, b, &pairs[made]);
        jk_cap_release(e);
        jk_cap_release(b);
        if (err != JK_OK)
            break;
    }
    if (err == JK_OK)
        err = jk_list(pairs, n, out);
    for (size_t i = 0; i < made && pairs; i++)
        jk_cap_release(pairs[i]);
    free(pairs);
    return err;
}

static jk_err jk_push_trace(jk_chain_trace **list, size_t *count, const jk_chain_trace *t)
{
    jk_chain_trace *grown = realloc(*list, (*count + 1) * sizeof *grown);
    if (!grown)
        return JK_ERR_NOMEM;
    grown[(*count)++] = *t;
    *list = grown;
    return JK_OK;
}

/* ---- produce mode (process, and the proposer's apply) ---- */

typedef struct jk_produce_mode {
    jk_chain_kernel *ck;
    int dispatch;               /* process of Dispatch_k: k; apply: -1 */
    jk_chain_trace *made;       /* the traces this invocation's attests used */
    size_t made_count;
} jk_produce_mode;

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
    size_t at;
    jk_chain_trace t;
    *accept = false;
    if (!jk_seen(ck, m->dispatch, key))
        return JK_OK; /* the seen-rule */
    jk_chain_attest_msg_hash(&ck->genesis_hash, blob, len, &msg);
    if (jk_chain_trace_find_valid(ck->cycle_traces, ck->cycle_trace_count, key, &msg, &at)) {
        t = ck->cycle_traces[at];
    } else {
        bool found = false;
        for (size_t i = 0; i < ck->pool_count && !found; i++)
            if (jk_chain_trace_find_valid(ck->pool[i].traces, ck->pool[i].trace_count, key, &msg, &at)) {
                t = ck->pool[i].traces[at];
                found = true;
            }
        if (!found) {
            if (!ck->has_own_key || memcmp(ck->own_public, key, 32) != 0)
                return JK_OK; /* no signature to be had */
            jk_chain_trace_sign_hash(ck->own_secret, &msg, &t);
        }
    }
    *accept = true;
    return jk_push_trace(&m->made, &m->made_count, &t);
}

/* A copy of blob + traces as a pooled entry. */
static jk_err jk_pooled_make(const uint8_t *blob, size_t len, const jk_chain_trace *traces, size_t n,
                             jk_chain_pooled *out)
{
    out->blob = malloc(len ? len : 1);
    out->traces = malloc((n ? n : 1) * sizeof *traces);
    if (!out->blob || !out->traces) {
        free(out->blob);
        free(out->traces);
        return JK_ERR_NOMEM;
    }
    memcpy(out->blob, blob, len);
    if (n)
        memcpy(out->traces, traces, n * sizeof *traces);
    out->blob_len = len;
    out->trace_count = n;
    return JK_OK;
}

/* "route emits": transacts to the pool, dispatches queued for the next cycle. */
static jk_err jk_route_emits(jk_chain_kernel *ck, jk_cap emits, const jk_chain_trace *traces, size_t n)
{
    uint32_t i = 0;
    while (jk_cap_kind_of(emits) == JK_CAP_CNODE && jk_cap_cnode_next(emits, i, &i)) {
        jk_cap e = jk_cap_cnode_get(emits, i++);
        jk_cap target = jk_cap_cnode_get(e, 0), blob = jk_cap_cnode_get(e, 1);
        uint8_t t[4];
        if (jk_cap_kind_of(e) != JK_CAP_CNODE || jk_cap_kind_of(target) != JK_CAP_DATA ||
            jk_cap_kind_of(blob) != JK_CAP_DATA || jk_cap_data_len(target) != 4 ||
            jk_cap_data_len(blob) > JK_CHAIN_MAX_BLOB || jk_cap_data_read(target, 0, t, 4) != JK_OK)
            continue; /* malformed: dropped */
        jk_chain_endpoint endpoint = (jk_chain_endpoint)(t[0] | t[1] << 8 | t[2] << 16 | (uint32_t)t[3] << 24);
        if (jk_chain_endpoint_is_dispatch(endpoint) &&
            jk_chain_endpoint_dispatch_index(endpoint) >= ck->dispatch_count)
            continue; /* no such endpoint: dropped */
        size_t len = (size_t)jk_cap_data_len(blob);
        uint8_t *bytes = malloc(len ? len : 1);
        if (!bytes)
            return JK_ERR_NOMEM;
        jk_err err = jk_cap_data_read(blob, 0, bytes, len);
        jk_chain_pooled entry;
        if (err == JK_OK)
            err = jk_pooled_make(bytes, len, traces, n, &entry);
        free(bytes);
        if (err != JK_OK)
            return err;
        jk_chain_pooled **list = endpoint == JK_CHAIN_ENDPOINT_TRANSACT ? &ck->pool : &ck->queued;
        size_t *count = endpoint == JK_CHAIN_ENDPOINT_TRANSACT ? &ck->pool_count : &ck->queued_count;
        jk_chain_pooled *grown = realloc(*list, (*count + 1) * sizeof *grown);
        if (grown && endpoint != JK_CHAIN_ENDPOINT_TRANSACT) {
            jk_chain_endpoint *eps = realloc(ck->queued_endpoint, (*count + 1) * sizeof *eps);
            if (!eps) {
                *list = grown;
                grown = NULL;
            } else {
                ck->queued_endpoint = eps;
                eps[*count] = endpoint;
            }
        }
        if (!grown) {
            free(entry.blob);
            free(entry.traces);
            return JK_ERR_NOMEM;
        }
        *list = grown;
        grown[(*count)++] = entry;
    }
    return JK_OK;
}

size_t jk_chain_take_queued(jk_chain_kernel *ck, jk_chain_pooled **events, jk_chain_endpoint **endpoints)
{
    size_t n = ck->queued_count;
    *events = ck->queued;
    *endpoints = ck->queued_endpoint;
    ck->queued = NULL;
    ck->queued_endpoint = NULL;
    ck->queued_count = 0;
    return n;
}

jk_err jk_chain_run_cycle_process(jk_chain_kernel *ck, uint64_t processed[JK_CHAIN_MAX_DISPATCH_ENDPOINTS])
{
    if (!ck->cycle_open)
        return JK_ERR_INVALID_ARG;
    for (uint32_t k = 0; k < ck->dispatch_count; k++) {
        jk_cap events = jk_cap_null(), aa = jk_cap_null(), scratchpad = jk_cap_null();
        jk_produce_mode mode = {ck, (int)k, NULL, 0};
        jk_kernel_result res;
        memset(&res, 0, sizeof res);
        jk_err err = jk_list(ck->dispatch_buffer[k], ck->dispatch_buffered[k], &events);
        if (err == JK_OK)
            err = jk_chain_inject_aa(ck, &aa); /* AA_cycle: fresh per cycle per dispatch */
        if (err == JK_OK)
            err = jk_chain_pair(events, aa, &scratchpad);
        if (err == JK_OK)
            err = jk_chain_invoke(ck->kernel, ck->attest_marker, ck->dispatch_protos[k], 0, ck->gas.process, NULL,
                                  scratchpad, jk_decide_produce, &mode, NULL, &res);
        bool halted = err == JK_OK && res.outcome == JK_KERNEL_HALT;
        if (processed)
            processed[k] = halted ? res.value : UINT64_MAX;
        /* The traces process used become the cycle's, for apply to find. */
        for (size_t i = 0; halted && err == JK_OK && i < mode.made_count; i++)
            err = jk_push_trace(&ck->cycle_traces, &ck->cycle_trace_count, &mode.made[i]);
        if (halted && err == JK_OK)
            err = jk_route_emits(ck, res.slot0, mode.made, mode.made_count);
        free(mode.made);
        jk_kernel_result_clear(&res);
        jk_cap_release(scratchpad);
        jk_cap_release(aa);
        jk_cap_release(events);
        if (err != JK_OK)
            return err;
    }
    return JK_OK;
}

/* Run chain.apply over events with `decide`; on HALT *new_chain (NEW). */
static jk_err jk_run_apply(jk_chain_kernel *ck, const jk_chain_event *events, size_t n, jk_chain_attest_fn decide,
                           void *ctx, jk_cap *new_chain, jk_diag *why)
{
    jk_cap body = jk_cap_null(), aa = jk_cap_null(), scratchpad = jk_cap_null();
    jk_kernel_result res;
    memset(&res, 0, sizeof res);
    jk_err err = jk_body_cnode(events, n, &body);
    if (err == JK_OK)
        err = jk_chain_inject_aa(ck, &aa); /* AA_block */
    if (err == JK_OK)
        err = jk_chain_pair(body, aa, &scratchpad);
    if (err == JK_OK)
        err = jk_chain_invoke(ck->kernel, ck->attest_marker, ck->chain, JK_CHAIN_EP_APPLY, ck->gas.block, NULL,
                              scratchpad, decide, ctx, NULL, &res);
    if (err == JK_OK && res.outcome != JK_KERNEL_HALT)
        err = jk_diag_set(why, JK_ERR_CHAIN_APPLY, "chain.apply did not HALT (outcome %d: %s)", res.outcome,
                          res.fault_msg[0] ? res.fault_msg : "out of gas or yield");
    if (err == JK_OK)
        *new_chain = jk_cap_retain(res.instance);
    jk_kernel_result_clear(&res);
    jk_cap_release(scratchpad);
    jk_cap_release(aa);
    jk_cap_release(body);
    return err;
}

/* The chain advances to new_chain; the cycle's buffers empty. */
static void jk_advance(jk_chain_kernel *ck, jk_cap new_chain)
{
    jk_cap_release(ck->chain);
    ck->chain = new_chain;
    jk_chain_cycle_reset(ck);
}

/* One produce-mode apply over events[0..n): on HALT, *new_chain and the
 * traces it made replace those in *best. */
typedef struct jk_produce_try {
    jk_cap chain;              /* the chain after the best apply so far */
    jk_chain_trace *made;
    size_t made_count;
    bool ok;
} jk_produce_try;

static jk_err jk_try_apply(jk_chain_kernel *ck, const jk_chain_event *events, size_t n, jk_produce_try *best,
                           jk_diag *why)
{
    jk_produce_mode mode = {ck, -1, NULL, 0};
    jk_cap new_chain = jk_cap_null();
    jk_err err = jk_run_apply(ck, events, n, jk_decide_produce, &mode, &new_chain, why);
    if (err == JK_OK) {
        jk_cap_release(best->chain);
        free(best->made);
        *best = (jk_produce_try){new_chain, mode.made, mode.made_count, true};
        return JK_OK;
    }
    free(mode.made);
    return err;
}

/* When chain.apply does not HALT over the whole pool, some transacts poison
 * it (a chain whose apply faults where it should skip). Keep the pool's order
 * and find the largest prefix-greedy body that applies: try each range after
 * the kept events; a range that fails is halved, a single event that fails is
 * dropped. k poisoned events cost O(k log n) applies. */
static jk_err jk_produce_without_poison(jk_chain_kernel *ck, const jk_chain_event *pool, size_t n,
                                        jk_chain_event *body, size_t *body_count, jk_produce_try *best,
                                        jk_diag *why)
{
    size_t kept = 0;
    size_t *stack = malloc(2 * (n + 1) * sizeof *stack), top = 0;
    jk_chain_event *trial = calloc(n ? n : 1, sizeof *trial);
    jk_err err = stack && trial ? JK_OK : JK_ERR_NOMEM;
    if (err == JK_OK) {
        /* the empty body first: if even that fails, nothing can be produced */
        err = jk_try_apply(ck, NULL, 0, best, why);
        stack[top++] = 0;
        stack[top++] = n;
    }
    while (err == JK_OK && top > 0) {
        size_t end = stack[--top], start = stack[--top];
        if (start == end)
            continue;
        memcpy(trial, body, kept * sizeof *trial);
        memcpy(trial + kept, pool + start, (end - start) * sizeof *trial);
        jk_err tried = jk_try_apply(ck, trial, kept + end - start, best, NULL);
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

jk_err jk_chain_apply_block_produce(jk_chain_kernel *ck, const jk_hash *parent, uint64_t number,
                                    uint32_t proposer, jk_chain_block *out, jk_diag *why)
{
    if (!ck->has_own_key)
        return jk_diag_set(why, JK_ERR_INVALID_ARG, "producing needs the validator's own key");
    size_t n = ck->pool_count, body_count = n;
    jk_chain_event *pool = calloc(n ? n : 1, sizeof *pool), *body = calloc(n ? n : 1, sizeof *body);
    if (!pool || !body) {
        free(pool);
        free(body);
        return JK_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++)
        pool[i] = (jk_chain_event){JK_CHAIN_ENDPOINT_TRANSACT, ck->pool[i].blob, ck->pool[i].blob_len};
    memcpy(body, pool, n * sizeof *body);
    jk_produce_try best = {jk_cap_null(), NULL, 0, false};
    jk_err err = jk_try_apply(ck, body, n, &best, why);
    if (err == JK_ERR_CHAIN_APPLY && n > 0)
        err = jk_produce_without_poison(ck, pool, n, body, &body_count, &best, why);
    if (err == JK_OK) {
        jk_hash root;
        jk_cap_hash(best.chain, &root);
        err = jk_chain_block_build(parent, number, proposer, &root, body, body_count, best.made, best.made_count,
                                   out, why);
        if (err == JK_OK) {
            jk_chain_block_sign(out, ck->own_secret, &ck->genesis_hash);
            jk_advance(ck, best.chain); /* the pool empties: poisoned transacts are dropped */
            best.chain = jk_cap_null();
        }
    }
    jk_cap_release(best.chain);
    free(best.made);
    free(pool);
    free(body);
    return err;
}

/* ---- import mode ---- */

typedef struct jk_import_mode {
    const jk_chain_kernel *ck;
    const jk_chain_block *block;
    size_t next;      /* the next trace to match */
} jk_import_mode;

static jk_err jk_decide_import(void *ctx, const uint8_t key[32], const uint8_t *blob, size_t len, bool *accept)
{
    jk_import_mode *m = ctx;
    *accept = m->next < m->block->trace_count &&
              jk_chain_trace_verify(&m->block->traces[m->next], key, &m->ck->genesis_hash, blob, len) == JK_OK;
    if (*accept)
        m->next++;
    return JK_OK;
}

jk_err jk_chain_apply_block_import(jk_chain_kernel *ck, const jk_chain_block *block,
                                   const jk_hash *parent, uint64_t number,
                                   const uint8_t proposer_key[JK_ED25519_PUBLIC_SIZE],
                                   jk_diag *why)
{
    const jk_chain_header *h = &block->header;
    if (memcmp(h->parent.bytes, parent->bytes, JK_HASH_SIZE) != 0)
        return jk_diag_set(why, JK_ERR_CHAIN_BLOCK_INVALID, "block %llu: parent is not the head",
                           (unsigned long long)h->number);
    if (h->number != number)
        return jk_diag_set(why, JK_ERR_CHAIN_BLOCK_INVALID, "block number %llu, expected %llu",
                           (unsigned long long)h->number, (unsigned long long)number);
    jk_err err = jk_chain_block_verify_sig(block, proposer_key, &ck->genesis_hash);
    if (err != JK_OK)
        return jk_diag_set(why, err, "block %llu: the proposer's signature does not verify",
                           (unsigned long long)h->number);
    err = jk_chain_block_check_body(block);
    if (err != JK_OK)
        return jk_diag_set(why, err, "block %llu: the body does not match its hash", (unsigned long long)h->number);
    jk_import_mode mode = {ck, block, 0};
    jk_cap new_chain = jk_cap_null();
    err = jk_run_apply(ck, block->events, block->event_count, jk_decide_import, &mode, &new_chain, why);
    if (err == JK_ERR_CHAIN_APPLY)
        err = JK_ERR_CHAIN_BLOCK_INVALID; /* an import that cannot be applied is an invalid block */
    if (err == JK_OK && mode.next != block->trace_count)
        err = jk_diag_set(why, JK_ERR_CHAIN_BLOCK_INVALID, "block %llu: %zu of %zu traces used",
                          (unsigned long long)h->number, mode.next, block->trace_count);
    if (err == JK_OK) {
        jk_hash root;
        jk_cap_hash(new_chain, &root);
        if (memcmp(root.bytes, h->state_root.bytes, JK_HASH_SIZE) != 0)
            err = jk_diag_set(why, JK_ERR_CHAIN_BLOCK_INVALID, "block %llu: apply gives another state root",
                              (unsigned long long)h->number);
    }
    if (err == JK_OK) {
        jk_advance(ck, new_chain);
        return JK_OK;
    }
    jk_cap_release(new_chain);
    return err;
}
