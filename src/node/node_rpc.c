/*
 * node_rpc.c — the node's RPC provider (include/jark/rpc.h, section 2).
 *
 * The server runs in external-loop mode on the node's thread (node.c steps
 * it between network waits), so these read the machine, the transport and
 * the archive without a lock. state_slot and pool read the chain app's
 * committed chain instance and pending events (jk_node_chain_app_head,
 * _pending); a node without a chain app answers them "unavailable".
 */
#include "node_internal.h"

#include "jark/bytes.h"
#include "jark/crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the top from memory (session 10) ------------------------------------
 *
 * A commit moves the head in memory and leaves the archive's write of the
 * height (block, certificate, head record, their syncs) to the store's
 * writer thread; every read of the store waits for that write
 * (jk_cap_store_drain). `status` read the top's block hash from the
 * archive and a client asks for the newest block right after it appears
 * (`jark testnet`'s watch polls every node's status every 20 ms and then
 * fetches the block), so the node's one thread slept through the write of
 * nearly every height — while it should have been producing or checking
 * the next one beside that write (docs/bench.md "Testnet, session 10": 3.5 %
 * of the loop threads' wall time under load, half their CPU time). The top
 * height's hash, block and certificate are the ones the commit was handed,
 * so they are answered from a copy kept at the commit; the archive answers
 * every other height, as before. What is answered is what the archive
 * returns once the write is done: the value's id (the archive's block
 * hash), the value's block part (what the chain app archives) and the
 * certificate the node decided on (the archive's own certificate at the
 * top, until the next height's carried one replaces it). A decided block is
 * final whether or not this node's copy is durable yet (2f+1 precommitted
 * it), so a client may see it before the disk does. */
void jk_node_top_set(jk_node *n, uint64_t h, const uint8_t *v, size_t len,
                     const jk_cons_cert *cert)
{
    n->top_height = 0;
    if (!n->top_cert && !(n->top_cert = malloc(sizeof *n->top_cert)))
        return;
    if (len > n->top_cap) {
        uint8_t *p = realloc(n->top_value, len);
        if (!p)
            return;
        n->top_value = p;
        n->top_cap = len;
    }
    memcpy(n->top_value, v, len);
    n->top_len = len;
    *n->top_cert = *cert;
    n->top_hash = cert->value;
    n->top_height = h;
}

/* The top's block and certificate when the query names it and the node's
 * values are the chain app's (block ‖ certificate ‖ length: value.c); false
 * otherwise (the archive answers). */
static bool jk_nrpc_top_block(const jk_node *n, const jk_rpc_block_query *q, const uint8_t **block,
                              size_t *len)
{
    if (!n->cfg.chain || !n->top_height ||
        (q->by_hash ? memcmp(q->hash.bytes, n->top_hash.bytes, JK_HASH_SIZE) != 0
                    : q->height != n->top_height))
        return false;
    jk_node_value *val = malloc(sizeof *val);
    bool ok = val && jk_node_value_decode(n->top_value, n->top_len, val, NULL) == JK_OK;
    if (ok) {
        *block = val->block;
        *len = val->block_len;
    }
    free(val);
    return ok;
}

static jk_err jk_nrpc_status(void *ctx, jk_rpc_status *out, jk_diag *diag)
{
    (void)diag;
    jk_node *n = ctx;
    jk_node_info info;
    jk_node_info_get(n, &info);
    memset(out, 0, sizeof *out);
    out->height = info.height;
    out->round = info.round;
    out->peers = info.peers;
    out->syncing = info.syncing;
    out->max_peer_height = info.max_peer_height;
    out->evidence = jk_node_archive_evidence_count(n->cfg.archive);
    if (n->cfg.chain)
        out->pool_size = jk_node_chain_app_pending_count(n->cfg.chain);
    out->is_validator = n->cfg.self != JK_NODE_FULL;
    out->validator_index = out->is_validator ? n->cfg.self : 0;
    if (info.height == 0)
        out->head_hash = n->cfg.genesis;
    else if (info.height == n->top_height)
        out->head_hash = n->top_hash; /* not the archive: it waits for the write */
    else
        (void)jk_node_archive_get(n->cfg.archive, info.height, &out->head_hash, NULL, NULL, NULL,
                                  NULL);
    return JK_OK;
}

static jk_err jk_nrpc_block(void *ctx, const jk_rpc_block_query *q, jk_rpc_buf *block,
                            jk_rpc_buf *certificate, jk_diag *diag)
{
    jk_node *n = ctx;
    uint64_t height = q->height;
    jk_err err = JK_OK;
    const uint8_t *top = NULL;
    size_t top_len = 0;
    bool from_top = jk_nrpc_top_block(n, q, &top, &top_len);
    if (q->by_hash && !from_top)
        err = jk_node_archive_find(n->cfg.archive, &q->hash, &height, diag);
    uint8_t *bytes = NULL;
    size_t len = 0;
    jk_cons_cert *cert = malloc(sizeof *cert);
    if (!cert)
        return JK_ERR_NOMEM;
    if (from_top)
        *cert = *n->top_cert;
    else if (err == JK_OK)
        err = jk_node_archive_get(n->cfg.archive, height, NULL, &bytes, &len, cert, diag);
    if (err == JK_ERR_NODE_MISSING)
        err = jk_diag_set(diag, JK_ERR_RPC_NOT_FOUND, "no block at that height or hash");
    if (err == JK_OK)
        err = from_top ? jk_rpc_buf_set(block, top, top_len) : jk_rpc_buf_set(block, bytes, len);
    if (err == JK_OK) {
        size_t cl = jk_cons_cert_size(cert);
        uint8_t *enc = malloc(cl);
        if (!enc)
            err = JK_ERR_NOMEM;
        else {
            jk_cons_cert_encode(cert, enc);
            err = jk_rpc_buf_set(certificate, enc, cl);
            free(enc);
        }
    }
    free(bytes);
    free(cert);
    return err;
}

/* ---- the batch hint's encodings (session 12) -----------------------------
 *
 * A batch's events were encoded for its hint (jk_nrpc_submit_batch, to be
 * verified together) and then each again by its submit, which also hashed
 * its encoding for the answer's event_hash: two encodes and a BLAKE2b of
 * ~220 bytes an event. The hint now keeps each encoding with its hash
 * (four at a time: jk_crypto_blake2b256_x4), and a submit takes the pair
 * only when the encoding is the one its own event gives, compared field by
 * field with the kept bytes (jk_nrpc_hint_is): a hash is only ever answered
 * for the bytes it was computed from, whatever the batch held
 * (test_node_rpc_hint_hash_is_the_events_own). Kept until the batch's end. */
typedef struct jk_nrpc_hint {
    size_t n, next;
    uint8_t *enc[JK_RPC_MAX_BATCH];
    size_t len[JK_RPC_MAX_BATCH];
    jk_hash hash[JK_RPC_MAX_BATCH]; /* BLAKE2b-256 of enc[i] */
    bool taken[JK_RPC_MAX_BATCH];
} jk_nrpc_hint;

static void jk_nrpc_hint_free(jk_node *n)
{
    jk_nrpc_hint *h = n->rpc_hint;
    for (size_t i = 0; h && i < h->n; i++)
        free(h->enc[i]);
    free(h);
    n->rpc_hint = NULL;
}

/* Whether bytes[0..len) is jk_node_event_encode's encoding of ev. */
static bool jk_nrpc_hint_is(const uint8_t *bytes, size_t len, const jk_rpc_event *ev)
{
    size_t bl = ev->blob_len, tc = ev->trace_count;
    if (bl == 0 || tc > JK_NODE_EVENT_MAX_TRACES || len < 12 + bl ||
        (len - 12 - bl) / JK_CHAIN_TRACE_SIZE != tc || (len - 12 - bl) % JK_CHAIN_TRACE_SIZE ||
        jk_get_u32le(bytes) != ev->endpoint || jk_get_u32le(bytes + 4) != bl ||
        memcmp(bytes + 8, ev->blob, bl) != 0 || jk_get_u32le(bytes + 8 + bl) != tc)
        return false;
    for (size_t i = 0; i < tc; i++) {
        uint8_t t[JK_CHAIN_TRACE_SIZE];
        jk_chain_trace_encode(&ev->traces[i], t);
        if (memcmp(bytes + 12 + bl + i * JK_CHAIN_TRACE_SIZE, t, sizeof t) != 0)
            return false;
    }
    return true;
}

/* The hint's encoding of ev, not taken before (taken now), or SIZE_MAX.
 * Submits come in the batch's order: the search starts after the last. */
static size_t jk_nrpc_hint_take(jk_nrpc_hint *h, const jk_rpc_event *ev)
{
    for (size_t j = 0; h && j < h->n; j++) {
        size_t i = (h->next + j) % h->n;
        if (!h->taken[i] && jk_nrpc_hint_is(h->enc[i], h->len[i], ev)) {
            h->taken[i] = true;
            h->next = i + 1;
            return i;
        }
    }
    return SIZE_MAX;
}

/* Hand the event to the machine as a locally submitted one (a full node:
 * to the driver's relay): the chain app's add_event decodes, deduplicates
 * and verifies it into the pool, and the machine (the relay) gossips it on
 * when it is new. The machine's add_event answers only admitted or not, so
 * the verdict with its reason is the chain app's for this very event: the
 * app's last verdict is cleared before the hand-over and taken after it
 * (jk_node_chain_app_verdict_take; the machine calls add_event at most once
 * for it, on this thread), never an earlier event's. The event is not
 * hashed here for that (session 8: it was, besides the app's own hash of
 * it and the answer's). event_hash: BLAKE2b-256 of the gossip encoding,
 * the batch hint's when it encoded this very event (then it is not encoded
 * again either), computed only for an admitted event. */
static jk_err jk_nrpc_submit(void *ctx, const jk_rpc_event *ev, jk_rpc_submit_result *out,
                             jk_diag *diag)
{
    jk_node *n = ctx;
    memset(out, 0, sizeof *out);
    if (!n->cfg.chain)
        return jk_diag_set(diag, JK_ERR_RPC_UNAVAILABLE,
                           "this node does not admit events (no chain application)");
    size_t hinted = jk_nrpc_hint_take(n->rpc_hint, ev);
    uint8_t *owned = NULL;
    const uint8_t *bytes;
    size_t len = 0;
    jk_err err = JK_OK;
    if (hinted != SIZE_MAX) {
        bytes = n->rpc_hint->enc[hinted];
        len = n->rpc_hint->len[hinted];
    } else {
        jk_chain_event ce = {.endpoint = ev->endpoint, .blob = ev->blob, .blob_len = ev->blob_len};
        err = jk_node_event_encode(&ce, ev->traces, ev->trace_count, &owned, &len);
        bytes = owned;
    }
    if (err == JK_ERR_INVALID_ARG) {
        snprintf(out->reason, sizeof out->reason, "event over the gossip bounds");
        n->events_refused++;
        jk_rpc_metric_add(n->metrics.events_refused, 1);
        return JK_OK;
    }
    if (err != JK_OK)
        return err;
    bool relayed;
    jk_node_chain_app_verdict_clear(n->cfg.chain);
    err = n->m ? jk_cons_on_event(n->m, bytes, len)
               : jk_node_relay_event(n, UINT32_MAX, bytes, len, &relayed);
    jk_node_event_verdict v;
    bool judged = err == JK_OK && jk_node_chain_app_verdict_take(n->cfg.chain, &v);
    if (judged && v.kind == JK_NODE_VERDICT_ADMITTED) {
        if (hinted != SIZE_MAX)
            out->event_hash = n->rpc_hint->hash[hinted];
        else
            jk_crypto_blake2b256(bytes, len, &out->event_hash);
    }
    free(owned);
    if (err != JK_OK)
        return jk_diag_set(diag, err, "submit: %s", jk_strerror(err));
    if (!judged)
        return jk_diag_set(diag, JK_ERR_RPC_UNAVAILABLE,
                           "submit: the node's application did not judge the event");
    if (v.kind == JK_NODE_VERDICT_ADMITTED) {
        out->admitted = true;
        n->events_admitted++;
        jk_rpc_metric_add(n->metrics.events_admitted, 1);
    } else {
        snprintf(out->reason, sizeof out->reason, "%s", v.reason);
        out->has_code = v.has_code;
        out->code = v.code;
        n->events_refused++;
        jk_rpc_metric_add(n->metrics.events_refused, 1);
    }
    return JK_OK;
}

/* The root record of a non-Data cap (docs/cap.md "Encodings"): export
 * with a sink that claims to hold every object but the root, so only the
 * root is encoded; H(its bytes) is the cap's hash, which a client can
 * check, and the hashes inside name its children (ask for them by path). */
typedef struct jk_root_sink {
    jk_hash root;
    jk_rpc_buf *out;
} jk_root_sink;

static jk_err jk_root_has(void *ctx, const jk_hash *h, bool *present)
{
    const jk_root_sink *rs = ctx;
    *present = memcmp(h->bytes, rs->root.bytes, JK_HASH_SIZE) != 0;
    return JK_OK;
}

static jk_err jk_root_put(void *ctx, const jk_hash *h, const uint8_t *bytes, size_t len)
{
    (void)h;
    jk_root_sink *rs = ctx;
    return jk_rpc_buf_set(rs->out, bytes, len);
}

static jk_err jk_root_record(jk_cap cap, jk_rpc_buf *out, jk_diag *diag)
{
    jk_root_sink rs = {.out = out};
    jk_cap_hash(cap, &rs.root);
    jk_cap_sink sink = {.ctx = &rs, .has = jk_root_has, .put = jk_root_put};
    return jk_cap_export(cap, &sink, diag);
}

jk_err jk_node_chain_app_rpc_state_slot(void *ctx, const uint32_t *path, size_t depth,
                                        jk_rpc_slot_value *out, jk_diag *diag)
{
    jk_node_chain_app *a = ctx;
    jk_cap chain;
    jk_node_chain_app_head(a, &chain, &out->height, &out->block_hash);
    /* path[0] is a slot of the chain instance's root cnode; each further
     * step descends a CNode only (never into an Instance's cnode). */
    jk_cap cur = jk_cap_instance_cnode(chain);
    for (size_t i = 0; i < depth; i++) {
        if (jk_cap_kind_of(cur) != JK_CAP_CNODE)
            return jk_diag_set(diag, JK_ERR_RPC_NOT_FOUND,
                               "path step %zu: the cap there is not a CNode", i);
        if (path[i] >= jk_cap_cnode_slot_count(cur))
            return jk_diag_set(diag, JK_ERR_RPC_NOT_FOUND,
                               "path step %zu: slot %u past the CNode's %u slots", i, path[i],
                               jk_cap_cnode_slot_count(cur));
        cur = jk_cap_cnode_get(cur, path[i]);
    }
    memset(&out->cap_hash, 0, sizeof out->cap_hash);
    switch (jk_cap_kind_of(cur)) {
    case JK_CAP_NONE:
        out->kind = JK_RPC_SLOT_EMPTY;
        return JK_OK;
    case JK_CAP_DATA: {
        out->kind = JK_RPC_SLOT_DATA;
        uint64_t len = jk_cap_data_len(cur);
        /* the server answers at most 64 MiB of value (-32003 past it):
         * refuse a larger Data here rather than copy up to 1 GiB */
        if (len > (64u << 20))
            return jk_diag_set(diag, JK_ERR_CAP_RANGE, "Data of %llu bytes: over the answer's bound",
                               (unsigned long long)len);
        uint8_t *bytes = malloc(len ? (size_t)len : 1);
        if (!bytes)
            return JK_ERR_NOMEM;
        jk_err err = jk_cap_data_read(cur, 0, bytes, (size_t)len);
        if (err == JK_OK)
            err = jk_rpc_buf_set(&out->value, bytes, (size_t)len);
        free(bytes);
        if (err != JK_OK)
            return err;
        break;
    }
    /* The other kinds answer their hash and their root record (the cap
     * layer's canonical encoding of the value's top object). */
    case JK_CAP_CNODE:
        out->kind = JK_RPC_SLOT_CNODE;
        break;
    case JK_CAP_IMAGE:
        out->kind = JK_RPC_SLOT_IMAGE;
        break;
    case JK_CAP_INSTANCE:
        out->kind = JK_RPC_SLOT_INSTANCE;
        break;
    }
    jk_cap_hash(cur, &out->cap_hash);
    if (out->kind != JK_RPC_SLOT_DATA)
        return jk_root_record(cur, &out->value, diag);
    return JK_OK;
}

jk_err jk_node_chain_app_rpc_pool(void *ctx, uint32_t offset, jk_rpc_pool_sink *sink,
                                  uint64_t *total, jk_diag *diag)
{
    jk_node_chain_app *a = ctx;
    size_t n = jk_node_chain_app_pending_count(a);
    *total = n;
    for (size_t i = offset; i < n; i++) {
        size_t len;
        const uint8_t *bytes = jk_node_chain_app_pending(a, i, &len);
        jk_chain_event ev;
        jk_chain_trace *traces = NULL;
        size_t count = 0;
        jk_err err = jk_node_event_decode(bytes, len, &ev, &traces, &count, diag);
        if (err != JK_OK)
            return err;
        jk_rpc_pool_entry e = {.endpoint = ev.endpoint, .blob = ev.blob, .blob_len = ev.blob_len,
                               .traces = traces, .trace_count = count};
        err = jk_rpc_pool_add(sink, &e);
        free(traces);
        if (err == JK_ERR_CAP_RANGE)
            break;   /* the answer's limit or byte bound: the client pages on */
        if (err != JK_OK)
            return err;
    }
    return JK_OK;
}

static jk_err jk_nrpc_state_slot(void *ctx, const uint32_t *path, size_t depth,
                                 jk_rpc_slot_value *out, jk_diag *diag)
{
    jk_node *n = ctx;
    if (!n->cfg.chain)
        return jk_diag_set(diag, JK_ERR_RPC_UNAVAILABLE, "this node has no chain application");
    return jk_node_chain_app_rpc_state_slot(n->cfg.chain, path, depth, out, diag);
}

static jk_err jk_nrpc_pool(void *ctx, uint32_t offset, jk_rpc_pool_sink *sink, uint64_t *total,
                           jk_diag *diag)
{
    jk_node *n = ctx;
    if (!n->cfg.chain)
        return jk_diag_set(diag, JK_ERR_RPC_UNAVAILABLE, "this node has no chain application");
    return jk_node_chain_app_rpc_pool(n->cfg.chain, offset, sink, total, diag);
}

/* A JSON-RPC batch's submitted events, verified together before each is
 * answered through jk_nrpc_submit (session 9): as a loop turn's gossiped
 * events are (jk_prepare_turn, docs/node.md "Admission in batches"), so
 * that the verifies run back to back (the verify program's runs, then the
 * signature checks: jk_chain_prepare_events_id), on the verify pool's
 * threads when the node has them, and each event is decoded and hashed
 * once. Each submit's add_event then finds its verdict by the event's
 * bytes and admits through it (the pool's rules applied then): the same
 * answers as one by one. An event over the gossip bounds is left out here
 * (its submit refuses it). */
static void jk_nrpc_submit_batch(void *ctx, const jk_rpc_event *const *evs, size_t n)
{
    jk_node *nd = ctx;
    jk_nrpc_hint_free(nd);
    if (!nd->cfg.chain || n < 2 || n > JK_RPC_MAX_BATCH)
        return;
    jk_nrpc_hint *h = calloc(1, sizeof *h);
    if (!h)
        return; /* one by one */
    for (size_t i = 0; i < n; i++) {
        jk_chain_event ce = {.endpoint = evs[i]->endpoint, .blob = evs[i]->blob,
                             .blob_len = evs[i]->blob_len};
        if (jk_node_event_encode(&ce, evs[i]->traces, evs[i]->trace_count, &h->enc[h->n],
                                 &h->len[h->n]) == JK_OK)
            h->n++;
    }
    for (size_t i = 0; i < h->n; i += 4) {
        const void *d[4];
        size_t l[4];
        jk_hash out[4];
        for (size_t j = 0; j < 4; j++) { /* a short last group repeats its first */
            d[j] = h->enc[i + j < h->n ? i + j : i];
            l[j] = h->len[i + j < h->n ? i + j : i];
        }
        jk_crypto_blake2b256_x4(d, l, out);
        for (size_t j = 0; j < 4 && i + j < h->n; j++)
            h->hash[i + j] = out[j];
    }
    nd->rpc_hint = h;
    if (h->n > 1)
        (void)jk_node_chain_app_prepare(nd->cfg.chain, (const uint8_t *const *)h->enc, h->len, h->n,
                                        NULL); /* else one by one */
}

static void jk_nrpc_submit_batch_end(void *ctx)
{
    jk_node *n = ctx;
    jk_nrpc_hint_free(n);
    if (n->cfg.chain)
        jk_node_chain_app_prepare_end(n->cfg.chain);
}

void jk_node_rpc_provider(jk_node *n, jk_rpc_provider *out)
{
    *out = (jk_rpc_provider){.ctx = n, .status = jk_nrpc_status, .block = jk_nrpc_block,
                             .submit_event = jk_nrpc_submit, .state_slot = jk_nrpc_state_slot,
                             .pool = jk_nrpc_pool, .submit_batch = jk_nrpc_submit_batch,
                             .submit_batch_end = jk_nrpc_submit_batch_end};
}
