/*
 * events.c — events files (docs/events-format.md): a chain's events with
 * their traces, as `jark event sign` writes them and `jark devnet --events`
 * gossips them. The decoder accepts exactly what the encoder writes.
 */
#include "jark/bytes.h"
#include "jark/spec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JK_EVENTS_HEADER (6 + 1 + JK_HASH_SIZE + 4)

static bool jk_event_fits(jk_chain_endpoint endpoint, size_t blob_len, size_t trace_count)
{
    return endpoint <= JK_CHAIN_MAX_DISPATCH_ENDPOINTS && blob_len <= JK_CHAIN_MAX_BLOB &&
           trace_count <= JK_SPEC_EVENT_MAX_TRACES;
}

jk_err jk_spec_events_add(jk_spec_events *list, jk_chain_endpoint endpoint, const uint8_t *blob, size_t blob_len,
                          const jk_chain_trace *traces, size_t trace_count)
{
    if (!jk_event_fits(endpoint, blob_len, trace_count) || list->count >= JK_SPEC_EVENTS_MAX)
        return JK_ERR_INVALID_ARG;
    if (list->count == list->cap) {
        size_t cap = list->cap ? 2 * list->cap : 16;
        jk_spec_event *bigger = realloc(list->events, cap * sizeof *bigger);
        if (!bigger)
            return JK_ERR_NOMEM;
        list->events = bigger;
        list->cap = cap;
    }
    jk_spec_event *e = &list->events[list->count];
    e->endpoint = endpoint;
    e->blob_len = blob_len;
    e->trace_count = trace_count;
    e->blob = malloc(blob_len ? blob_len : 1);
    e->traces = malloc(trace_count ? trace_count * sizeof *traces : 1);
    if (!e->blob || !e->traces) {
        free(e->blob);
        free(e->traces);
        return JK_ERR_NOMEM;
    }
    if (blob_len)
        memcpy(e->blob, blob, blob_len);
    if (trace_count)
        memcpy(e->traces, traces, trace_count * sizeof *traces);
    list->count++;
    return JK_OK;
}

jk_err jk_spec_events_sign(jk_spec_events *list, jk_chain_endpoint endpoint, const uint8_t *blob, size_t blob_len,
                           const jk_spec_attest *attests, size_t attest_count)
{
    if (attest_count > JK_SPEC_EVENT_MAX_TRACES)
        return JK_ERR_INVALID_ARG;
    jk_chain_trace *traces = malloc(attest_count ? attest_count * sizeof *traces : 1);
    if (!traces)
        return JK_ERR_NOMEM;
    for (size_t i = 0; i < attest_count; i++)
        jk_chain_trace_sign(attests[i].secret_key, &list->genesis, attests[i].msg, attests[i].msg_len, &traces[i]);
    jk_err err = jk_spec_events_add(list, endpoint, blob, blob_len, traces, attest_count);
    free(traces);
    return err;
}

void jk_spec_events_free(jk_spec_events *list)
{
    for (size_t i = 0; i < list->count; i++) {
        free(list->events[i].blob);
        free(list->events[i].traces);
    }
    free(list->events);
    memset(list, 0, sizeof *list);
}

jk_err jk_spec_events_encode(const jk_spec_events *list, uint8_t **out, size_t *out_len)
{
    if (list->count > JK_SPEC_EVENTS_MAX)
        return JK_ERR_INVALID_ARG;
    size_t len = JK_EVENTS_HEADER;
    for (size_t i = 0; i < list->count; i++) {
        const jk_spec_event *e = &list->events[i];
        if (!jk_event_fits(e->endpoint, e->blob_len, e->trace_count))
            return JK_ERR_INVALID_ARG;
        len += 12 + e->blob_len + e->trace_count * JK_CHAIN_TRACE_SIZE; /* bounded: no overflow */
    }
    uint8_t *buf = malloc(len), *p = buf;
    if (!buf)
        return JK_ERR_NOMEM;
    memcpy(p, JK_SPEC_EVENTS_MAGIC, 6);
    p[6] = JK_SPEC_EVENTS_VERSION;
    memcpy(p + 7, list->genesis.bytes, JK_HASH_SIZE);
    jk_put_u32le(p + 7 + JK_HASH_SIZE, (uint32_t)list->count);
    p += JK_EVENTS_HEADER;
    for (size_t i = 0; i < list->count; i++) {
        const jk_spec_event *e = &list->events[i];
        jk_put_u32le(p, e->endpoint);
        jk_put_u32le(p + 4, (uint32_t)e->blob_len);
        if (e->blob_len)
            memcpy(p + 8, e->blob, e->blob_len);
        p += 8 + e->blob_len;
        jk_put_u32le(p, (uint32_t)e->trace_count);
        p += 4;
        for (size_t t = 0; t < e->trace_count; t++, p += JK_CHAIN_TRACE_SIZE)
            jk_chain_trace_encode(&e->traces[t], p);
    }
    *out = buf;
    *out_len = len;
    return JK_OK;
}

/* A cursor over untrusted bytes: every read checks what is left. */
typedef struct jk_cursor {
    const uint8_t *p;
    size_t left;
} jk_cursor;

static bool jk_take(jk_cursor *c, size_t n, const uint8_t **at)
{
    if (c->left < n)
        return false;
    *at = c->p;
    c->p += n;
    c->left -= n;
    return true;
}

static bool jk_take_u32(jk_cursor *c, uint32_t *v)
{
    const uint8_t *at;
    if (!jk_take(c, 4, &at))
        return false;
    *v = jk_get_u32le(at);
    return true;
}

jk_err jk_spec_events_decode(const uint8_t *bytes, size_t len, jk_spec_events *out, jk_diag *diag)
{
    memset(out, 0, sizeof *out);
    jk_cursor c = {bytes, len};
    const uint8_t *at;
    uint32_t count;
    if (!jk_take(&c, 7, &at) || memcmp(at, JK_SPEC_EVENTS_MAGIC, 6) != 0)
        return jk_diag_set(diag, JK_ERR_PARSE, "not an events file (no JKEVT magic)");
    if (at[6] != JK_SPEC_EVENTS_VERSION)
        return jk_diag_set(diag, JK_ERR_PARSE, "events file version %u (this jark reads %u)", at[6],
                           JK_SPEC_EVENTS_VERSION);
    if (!jk_take(&c, JK_HASH_SIZE, &at) || !jk_take_u32(&c, &count))
        return jk_diag_set(diag, JK_ERR_PARSE, "events file truncated in its header");
    memcpy(out->genesis.bytes, at, JK_HASH_SIZE);
    if (count > JK_SPEC_EVENTS_MAX)
        return jk_diag_set(diag, JK_ERR_PARSE, "%u events (at most %u)", count, JK_SPEC_EVENTS_MAX);
    jk_err err = JK_OK;
    jk_chain_trace *traces = NULL;
    for (uint32_t i = 0; i < count && err == JK_OK; i++) {
        uint32_t endpoint, blob_len, trace_count;
        const uint8_t *blob, *raw;
        if (!jk_take_u32(&c, &endpoint) || !jk_take_u32(&c, &blob_len)) {
            err = jk_diag_set(diag, JK_ERR_PARSE, "event %u: truncated", i);
        } else if (endpoint > JK_CHAIN_MAX_DISPATCH_ENDPOINTS) {
            err = jk_diag_set(diag, JK_ERR_PARSE, "event %u: endpoint %u (0 transact, 1..%u dispatch)", i, endpoint,
                              JK_CHAIN_MAX_DISPATCH_ENDPOINTS);
        } else if (blob_len > JK_CHAIN_MAX_BLOB) {
            err = jk_diag_set(diag, JK_ERR_PARSE, "event %u: blob of %u bytes (at most %u)", i, blob_len,
                              JK_CHAIN_MAX_BLOB);
        } else if (!jk_take(&c, blob_len, &blob) || !jk_take_u32(&c, &trace_count)) {
            err = jk_diag_set(diag, JK_ERR_PARSE, "event %u: truncated in its blob", i);
        } else if (trace_count > JK_SPEC_EVENT_MAX_TRACES) {
            err = jk_diag_set(diag, JK_ERR_PARSE, "event %u: %u traces (at most %u)", i, trace_count,
                              JK_SPEC_EVENT_MAX_TRACES);
        } else if (!jk_take(&c, (size_t)trace_count * JK_CHAIN_TRACE_SIZE, &raw)) {
            err = jk_diag_set(diag, JK_ERR_PARSE, "event %u: truncated in its traces", i);
        } else if (!(traces = malloc(trace_count ? trace_count * sizeof *traces : 1))) {
            err = jk_diag_set(diag, JK_ERR_NOMEM, "out of memory");
        } else {
            for (uint32_t t = 0; t < trace_count; t++)
                jk_chain_trace_decode(raw + (size_t)t * JK_CHAIN_TRACE_SIZE, &traces[t]);
            if (jk_spec_events_add(out, endpoint, blob, blob_len, traces, trace_count) != JK_OK)
                err = jk_diag_set(diag, JK_ERR_NOMEM, "out of memory");
            free(traces);
            traces = NULL;
        }
    }
    if (err == JK_OK && c.left)
        err = jk_diag_set(diag, JK_ERR_PARSE, "%zu bytes after the last event", c.left);
    if (err != JK_OK)
        jk_spec_events_free(out);
    return err;
}

jk_err jk_spec_events_save(const char *path, const jk_spec_events *list, jk_diag *diag)
{
    uint8_t *bytes;
    size_t len;
    jk_err err = jk_spec_events_encode(list, &bytes, &len);
    if (err != JK_OK)
        return jk_diag_set(diag, err, "%s: %s", path, jk_strerror(err));
    FILE *f = fopen(path, "wb");
    bool ok = f && fwrite(bytes, 1, len, f) == len;
    if (f && fclose(f) != 0)
        ok = false;
    free(bytes);
    return ok ? JK_OK : jk_diag_set(diag, JK_ERR_IO, "cannot write %s: %s", path, strerror(errno));
}

jk_err jk_spec_events_load(const char *path, jk_spec_events *out, jk_diag *diag)
{
    memset(out, 0, sizeof *out);
    uint8_t *bytes;
    size_t len;
    jk_err err = jk_read_file(path, &bytes, &len, diag);
    if (err != JK_OK)
        return err;
    jk_diag d = {{0}};
    err = jk_spec_events_decode(bytes, len, out, &d);
    free(bytes);
    if (err != JK_OK)
        jk_diag_set(diag, err, "%s: %s", path, d.msg);
    return err;
}
