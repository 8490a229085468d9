/*
 * event.c — the gossip encoding of an event (docs/node.md): what a node sends
 * and relays, and what the chain app decodes before admission. Split out of
 * chain_app.c; the format and its checks are unchanged.
 */
#include "jark/node.h"

#include "chain_app_internal.h"

#include "jark/bytes.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------
 * The gossip encoding of an event
 * ------------------------------------------------------------------------- */

jk_err jk_node_event_encode(const jk_chain_event *ev, const jk_chain_trace *traces,
                            size_t trace_count, uint8_t **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    if (trace_count > JK_NODE_EVENT_MAX_TRACES || ev->blob_len == 0 ||
        ev->blob_len > JK_CONS_MAX_EVENT)
        return JK_ERR_INVALID_ARG;
    size_t len = 12 + ev->blob_len + trace_count * JK_CHAIN_TRACE_SIZE;
    if (len > JK_CONS_MAX_EVENT)
        return JK_ERR_INVALID_ARG;
    uint8_t *b = malloc(len);
    if (!b)
        return JK_ERR_NOMEM;
    jk_put_u32le(b, ev->endpoint);
    jk_put_u32le(b + 4, (uint32_t)ev->blob_len);
    memcpy(b + 8, ev->blob, ev->blob_len);
    jk_put_u32le(b + 8 + ev->blob_len, (uint32_t)trace_count);
    for (size_t i = 0; i < trace_count; i++)
        jk_chain_trace_encode(&traces[i], b + 12 + ev->blob_len + i * JK_CHAIN_TRACE_SIZE);
    *out = b;
    *out_len = len;
    return JK_OK;
}

/* The checks and the header of jk_node_event_decode, without the traces
 * (chain_app_internal.h): ev->blob borrows bytes. */
jk_err jk_node_event_view(const uint8_t *bytes, size_t len, jk_chain_event *ev, size_t *trace_count,
                          jk_diag *diag)
{
    memset(ev, 0, sizeof *ev);
    *trace_count = 0;
    if (len < 12 || len > JK_CONS_MAX_EVENT)
        return jk_diag_set(diag, JK_ERR_NODE_EVENT, "event: %zu bytes, not within 12..%u", len,
                           JK_CONS_MAX_EVENT);
    uint32_t blob_len = jk_get_u32le(bytes + 4);
    if (blob_len == 0 || blob_len > len - 12)
        return jk_diag_set(diag, JK_ERR_NODE_EVENT, "event: blob length %u in %zu bytes", blob_len,
                           len);
    uint32_t n = jk_get_u32le(bytes + 8 + blob_len);
    if (n > JK_NODE_EVENT_MAX_TRACES)
        return jk_diag_set(diag, JK_ERR_NODE_EVENT, "event: %u traces, over the bound %u", n,
                           JK_NODE_EVENT_MAX_TRACES);
    if ((size_t)n * JK_CHAIN_TRACE_SIZE != len - 12 - blob_len)
        return jk_diag_set(diag, JK_ERR_NODE_EVENT,
                           "event: %u traces take %u bytes, %zu follow the blob", n,
                           n * JK_CHAIN_TRACE_SIZE, len - 12 - blob_len);
    ev->endpoint = jk_get_u32le(bytes);
    ev->blob = bytes + 8;
    ev->blob_len = blob_len;
    *trace_count = n;
    return JK_OK;
}

jk_err jk_node_event_traces(const jk_chain_event *ev, size_t trace_count, jk_chain_trace **traces)
{
    *traces = NULL;
    if (trace_count == 0)
        return JK_OK;
    jk_chain_trace *t = calloc(trace_count, sizeof *t);
    if (!t)
        return JK_ERR_NOMEM;
    const uint8_t *at = ev->blob + ev->blob_len + 4;
    for (size_t i = 0; i < trace_count; i++)
        jk_chain_trace_decode(at + i * JK_CHAIN_TRACE_SIZE, &t[i]);
    *traces = t;
    return JK_OK;
}

/* key ‖ msg_hash ‖ sig, as jk_chain_trace_encode writes them: the encoded
 * traces can be read in place (session 16: a prepared event's traces were
 * a calloc, a copy and a free each) */
_Static_assert(sizeof(jk_chain_trace) == JK_CHAIN_TRACE_SIZE && _Alignof(jk_chain_trace) == 1 &&
                   offsetof(jk_chain_trace, msg_hash) == 32 && offsetof(jk_chain_trace, sig) == 64,
               "a jk_chain_trace is its encoding");

const jk_chain_trace *jk_node_event_traces_at(const jk_chain_event *ev, size_t trace_count)
{
    return trace_count ? (const jk_chain_trace *)(const void *)(ev->blob + ev->blob_len + 4) : NULL;
}

jk_err jk_node_event_decode(const uint8_t *bytes, size_t len, jk_chain_event *ev,
                            jk_chain_trace **traces, size_t *trace_count, jk_diag *diag)
{
    *traces = NULL;
    jk_err err = jk_node_event_view(bytes, len, ev, trace_count, diag);
    if (err == JK_OK)
        err = jk_node_event_traces(ev, *trace_count, traces);
    if (err != JK_OK) {
        memset(ev, 0, sizeof *ev);
        *trace_count = 0;
    }
    return err;
}
