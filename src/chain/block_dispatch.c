/*
 * block_dispatch.c — the dispatch part of a block body (docs/block-format.md,
 * "The dispatch part"): the dispatch events the block's cycle consumed, the
 * traces its Dispatch_k.process runs made, and the emits process queued for
 * the next cycle. Its size and bounds, its writing (to block.c's sink), its
 * strict decoding (walk and check first, then allocate exactly), copying.
 *
 *   part    = 00                                  process did not run
 *           | 01 ‖ E(d) ‖ tevent_1 … tevent_d     consumed
 *                ‖ E(p) ‖ trace_1 … trace_p       process's traces
 *                ‖ E(q) ‖ tevent_1 … tevent_q     queued
 *   tevent  = E(endpoint) ‖ E(|blob|) ‖ blob ‖ E(t) ‖ trace_1 … trace_t
 */
#include "internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static size_t jk_nlen(uint64_t v)
{
    uint8_t tmp[9];
    return jk_pvm_encode_natural(v, tmp);
}

static size_t jk_tevent_size(const jk_chain_traced_event *e)
{
    return jk_nlen(e->event.endpoint) + jk_nlen(e->event.blob_len) + e->event.blob_len +
           jk_nlen(e->trace_count) + e->trace_count * JK_CHAIN_TRACE_SIZE;
}

size_t jk_chain_traced_size(const jk_chain_traced_event *e)
{
    return jk_tevent_size(e);
}

/* The bounds of one list; adds its size to *size (stops at the part's bound,
 * so no sum overflows). */
static jk_err jk_list_size(const char *what, const jk_chain_traced_event *list, size_t n, size_t max,
                           size_t *size, jk_diag *diag)
{
    if (n > max)
        return jk_diag_set(diag, JK_ERR_CHAIN_TOO_LARGE, "%zu %s dispatch events, over the bound of %zu", n,
                           what, max);
    if (n && !list)
        return jk_diag_set(diag, JK_ERR_INVALID_ARG, "NULL %s list with a count", what);
    *size += jk_nlen(n);
    for (size_t i = 0; i < n; i++) {
        const jk_chain_traced_event *e = &list[i];
        if (!jk_chain_endpoint_is_dispatch(e->event.endpoint) || e->event.endpoint > JK_CHAIN_MAX_DISPATCH)
            return jk_diag_set(diag, JK_ERR_INVALID_ARG, "%s event %zu: endpoint %" PRIu32 " is not a dispatch "
                               "endpoint", what, i, e->event.endpoint);
        if (e->event.blob_len > JK_CHAIN_MAX_BLOB || e->trace_count > JK_CHAIN_MAX_EVENT_TRACES)
            return jk_diag_set(diag, JK_ERR_CHAIN_TOO_LARGE, "%s event %zu: over the blob or trace bound", what,
                               i);
        if ((e->event.blob_len && !e->event.blob) || (e->trace_count && !e->traces))
            return jk_diag_set(diag, JK_ERR_INVALID_ARG, "%s event %zu: NULL blob or traces", what, i);
        *size += jk_tevent_size(e);
        if (*size > JK_CHAIN_MAX_DISPATCH_PART)
            break;
    }
    return JK_OK;
}

jk_err jk_chain_dispatch_size(const jk_chain_dispatch_part *d, size_t *out, jk_diag *diag)
{
    size_t size = 1;
    if (!d->ran) {
        if (d->consumed_count || d->process_trace_count || d->queued_count)
            return jk_diag_set(diag, JK_ERR_INVALID_ARG, "a dispatch part whose process did not run has lists");
        *out = size;
        return JK_OK;
    }
    jk_err err = jk_list_size("consumed", d->consumed, d->consumed_count, JK_CHAIN_MAX_CONSUMED, &size, diag);
    if (err == JK_OK && d->process_trace_count > JK_CHAIN_MAX_PROCESS_TRACES)
        err = jk_diag_set(diag, JK_ERR_CHAIN_TOO_LARGE, "%zu process traces, over the bound of %u",
                          d->process_trace_count, JK_CHAIN_MAX_PROCESS_TRACES);
    if (err == JK_OK && d->process_trace_count && !d->process_traces)
        err = jk_diag_set(diag, JK_ERR_INVALID_ARG, "NULL process traces with a count");
    if (err == JK_OK && size <= JK_CHAIN_MAX_DISPATCH_PART) {
        size += jk_nlen(d->process_trace_count) + d->process_trace_count * JK_CHAIN_TRACE_SIZE;
        err = jk_list_size("queued", d->queued, d->queued_count, JK_CHAIN_MAX_QUEUED, &size, diag);
    }
    if (err == JK_OK && size > JK_CHAIN_MAX_DISPATCH_PART)
        err = jk_diag_set(diag, JK_ERR_CHAIN_TOO_LARGE, "the dispatch part over the bound of %u bytes",
                          JK_CHAIN_MAX_DISPATCH_PART);
    if (err == JK_OK)
        *out = size;
    return err;
}

static void jk_put_nat(jk_chain_put_fn put, void *ctx, uint64_t v)
{
    uint8_t tmp[9];
    put(ctx, tmp, jk_pvm_encode_natural(v, tmp));
}

static void jk_put_traces(jk_chain_put_fn put, void *ctx, const jk_chain_trace *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t enc[JK_CHAIN_TRACE_SIZE];
        jk_chain_trace_encode(&t[i], enc);
        put(ctx, enc, sizeof enc);
    }
}

static void jk_put_list(jk_chain_put_fn put, void *ctx, const jk_chain_traced_event *list, size_t n)
{
    jk_put_nat(put, ctx, n);
    for (size_t i = 0; i < n; i++) {
        jk_put_nat(put, ctx, list[i].event.endpoint);
        jk_put_nat(put, ctx, list[i].event.blob_len);
        if (list[i].event.blob_len)
            put(ctx, list[i].event.blob, list[i].event.blob_len);
        jk_put_nat(put, ctx, list[i].trace_count);
        jk_put_traces(put, ctx, list[i].traces, list[i].trace_count);
    }
}

void jk_chain_dispatch_write(const jk_chain_dispatch_part *d, jk_chain_put_fn put, void *ctx)
{
    uint8_t ran = d->ran ? 1 : 0;
    put(ctx, &ran, 1);
    if (!d->ran)
        return;
    jk_put_list(put, ctx, d->consumed, d->consumed_count);
    jk_put_nat(put, ctx, d->process_trace_count);
    jk_put_traces(put, ctx, d->process_traces, d->process_trace_count);
    jk_put_list(put, ctx, d->queued, d->queued_count);
}

/* ---- decoding ---- */

static jk_err jk_scan_nat(const uint8_t *bytes, size_t len, size_t *pos, uint64_t *v, const char *what,
                          size_t index, jk_diag *diag)
{
    size_t used = jk_pvm_decode_natural(bytes + *pos, len - *pos, v);
    if (used == 0)
        return jk_diag_set(diag, JK_ERR_CHAIN_DECODE, "dispatch part: %s %zu at offset %zu: truncated natural",
                           what, index, *pos);
    if (jk_nlen(*v) != used)
        return jk_diag_set(diag, JK_ERR_CHAIN_DECODE, "dispatch part: %s %zu at offset %zu: natural not in "
                           "canonical form", what, index, *pos);
    *pos += used;
    return JK_OK;
}

static jk_err jk_scan_traces(size_t len, size_t *pos, uint64_t n, const char *what, size_t index,
                             jk_diag *diag)
{
    if (n > (len - *pos) / JK_CHAIN_TRACE_SIZE)
        return jk_diag_set(diag, JK_ERR_CHAIN_DECODE, "dispatch part: %s %zu: %" PRIu64 " traces at offset %zu "
                           "run past the end", what, index, n, *pos);
    *pos += (size_t)n * JK_CHAIN_TRACE_SIZE;
    return JK_OK;
}

static jk_err jk_scan_list(const uint8_t *bytes, size_t len, size_t *pos, const char *what, uint64_t max,
                           size_t *count, size_t *blobs, size_t *traces, jk_diag *diag)
{
    uint64_t n, ep, blen, t;
    jk_err err = jk_scan_nat(bytes, len, pos, &n, what, 0, diag);
    if (err != JK_OK)
        return err;
    if (n > max)
        return jk_diag_set(diag, JK_ERR_CHAIN_TOO_LARGE, "dispatch part: %" PRIu64 " %s events, over the bound "
                           "of %" PRIu64, n, what, max);
    for (size_t i = 0; i < n; i++) {
        if ((err = jk_scan_nat(bytes, len, pos, &ep, what, i, diag)) != JK_OK)
            return err;
        if (ep == 0 || ep > JK_CHAIN_MAX_DISPATCH)
            return jk_diag_set(diag, JK_ERR_CHAIN_DECODE, "dispatch part: %s event %zu: endpoint %" PRIu64
                               " is not a dispatch endpoint", what, i, ep);
        if ((err = jk_scan_nat(bytes, len, pos, &blen, what, i, diag)) != JK_OK)
            return err;
        if (blen > JK_CHAIN_MAX_BLOB)
            return jk_diag_set(diag, JK_ERR_CHAIN_TOO_LARGE, "dispatch part: %s event %zu: blob of %" PRIu64
                               " bytes, over the bound of %u", what, i, blen, JK_CHAIN_MAX_BLOB);
        if (blen > len - *pos)
            return jk_diag_set(diag, JK_ERR_CHAIN_DECODE, "dispatch part: %s event %zu: blob at offset %zu "
                               "truncated", what, i, *pos);
        *pos += (size_t)blen;
        *blobs += (size_t)blen;
        if ((err = jk_scan_nat(bytes, len, pos, &t, what, i, diag)) != JK_OK)
            return err;
        if (t > JK_CHAIN_MAX_EVENT_TRACES)
            return jk_diag_set(diag, JK_ERR_CHAIN_TOO_LARGE, "dispatch part: %s event %zu: %" PRIu64 " traces, "
                               "over the bound of %u", what, i, t, JK_CHAIN_MAX_EVENT_TRACES);
        if ((err = jk_scan_traces(len, pos, t, what, i, diag)) != JK_OK)
            return err;
        *traces += (size_t)t;
    }
    *count = (size_t)n;
    return JK_OK;
}

jk_err jk_chain_dispatch_scan(const uint8_t *bytes, size_t len, size_t *pos, jk_chain_dispatch_counts *out,
                              jk_diag *diag)
{
    memset(out, 0, sizeof *out);
    size_t start = *pos;
    if (*pos >= len)
        return jk_diag_set(diag, JK_ERR_CHAIN_DECODE, "the dispatch part is missing at offset %zu (a block "
                           "of the format before jark/block/v2?)", *pos);
    uint8_t ran = bytes[(*pos)++];
    if (ran > 1)
        return jk_diag_set(diag, JK_ERR_CHAIN_DECODE, "dispatch part at offset %zu: flag %u (0 or 1)", start,
                           ran);
    out->ran = ran == 1;
    if (!out->ran)
        return JK_OK;
    jk_err err = jk_scan_list(bytes, len, pos, "consumed", JK_CHAIN_MAX_CONSUMED, &out->consumed,
                              &out->blob_total, &out->trace_total, diag);
    uint64_t p = 0;
    if (err == JK_OK)
        err = jk_scan_nat(bytes, len, pos, &p, "process trace count", 0, diag);
    if (err == JK_OK && p > JK_CHAIN_MAX_PROCESS_TRACES)
        err = jk_diag_set(diag, JK_ERR_CHAIN_TOO_LARGE, "dispatch part: %" PRIu64 " process traces, over the "
                          "bound of %u", p, JK_CHAIN_MAX_PROCESS_TRACES);
    if (err == JK_OK)
        err = jk_scan_traces(len, pos, p, "process traces", 0, diag);
    out->process_traces = (size_t)p;
    if (err == JK_OK)
        err = jk_scan_list(bytes, len, pos, "queued", JK_CHAIN_MAX_QUEUED, &out->queued, &out->blob_total,
                           &out->trace_total, diag);
    if (err == JK_OK && *pos - start > JK_CHAIN_MAX_DISPATCH_PART)
        err = jk_diag_set(diag, JK_ERR_CHAIN_TOO_LARGE, "the dispatch part at offset %zu: %zu bytes, over the "
                          "bound of %u", start, *pos - start, JK_CHAIN_MAX_DISPATCH_PART);
    return err;
}

static jk_err jk_part_alloc(jk_chain_dispatch_part *d, const jk_chain_dispatch_counts *sc)
{
    memset(d, 0, sizeof *d);
    d->ran = sc->ran;
    d->consumed = calloc(sc->consumed ? sc->consumed : 1, sizeof *d->consumed);
    d->queued = calloc(sc->queued ? sc->queued : 1, sizeof *d->queued);
    d->process_traces = calloc(sc->process_traces ? sc->process_traces : 1, sizeof *d->process_traces);
    d->store = malloc(sc->blob_total ? sc->blob_total : 1);
    d->trace_store = calloc(sc->trace_total ? sc->trace_total : 1, sizeof *d->trace_store);
    if (!d->consumed || !d->queued || !d->process_traces || !d->store || !d->trace_store) {
        jk_chain_dispatch_part_free(d);
        return JK_ERR_NOMEM;
    }
    d->consumed_count = sc->consumed;
    d->queued_count = sc->queued;
    d->process_trace_count = sc->process_traces;
    return JK_OK;
}

static size_t jk_nat_at(const uint8_t *bytes, size_t len, size_t *pos)
{
    uint64_t v;
    *pos += jk_pvm_decode_natural(bytes + *pos, len - *pos, &v);
    return (size_t)v;
}

static void jk_fill_list(const uint8_t *bytes, size_t len, size_t *pos, jk_chain_traced_event *list, size_t n,
                         jk_chain_dispatch_part *d, size_t *boff, size_t *toff)
{
    (void)jk_nat_at(bytes, len, pos); /* n, known */
    for (size_t i = 0; i < n; i++) {
        list[i].event.endpoint = (jk_chain_endpoint)jk_nat_at(bytes, len, pos);
        size_t blen = jk_nat_at(bytes, len, pos);
        list[i].event.blob = d->store + *boff;
        list[i].event.blob_len = blen;
        if (blen)
            memcpy(d->store + *boff, bytes + *pos, blen);
        *pos += blen;
        *boff += blen;
        size_t t = jk_nat_at(bytes, len, pos);
        list[i].traces = d->trace_store + *toff;
        list[i].trace_count = t;
        for (size_t j = 0; j < t; j++, *pos += JK_CHAIN_TRACE_SIZE)
            jk_chain_trace_decode(bytes + *pos, &d->trace_store[*toff + j]);
        *toff += t;
    }
}

jk_err jk_chain_dispatch_fill(const uint8_t *bytes, size_t len, size_t pos, const jk_chain_dispatch_counts *sc,
                              jk_chain_dispatch_part *out)
{
    jk_err err = jk_part_alloc(out, sc);
    if (err != JK_OK)
        return err;
    pos++; /* the flag */
    if (!sc->ran)
        return JK_OK;
    size_t boff = 0, toff = 0;
    jk_fill_list(bytes, len, &pos, out->consumed, out->consumed_count, out, &boff, &toff);
    (void)jk_nat_at(bytes, len, &pos);
    for (size_t i = 0; i < out->process_trace_count; i++, pos += JK_CHAIN_TRACE_SIZE)
        jk_chain_trace_decode(bytes + pos, &out->process_traces[i]);
    jk_fill_list(bytes, len, &pos, out->queued, out->queued_count, out, &boff, &toff);
    return JK_OK;
}

/* ---- copying ---- */

static void jk_copy_list(jk_chain_traced_event *dst, const jk_chain_traced_event *src, size_t n,
                         jk_chain_dispatch_part *d, size_t *boff, size_t *toff)
{
    for (size_t i = 0; i < n; i++) {
        dst[i].event.endpoint = src[i].event.endpoint;
        dst[i].event.blob_len = src[i].event.blob_len;
        dst[i].event.blob = d->store + *boff;
        if (src[i].event.blob_len)
            memcpy(d->store + *boff, src[i].event.blob, src[i].event.blob_len);
        *boff += src[i].event.blob_len;
        dst[i].traces = d->trace_store + *toff;
        dst[i].trace_count = src[i].trace_count;
        if (src[i].trace_count)
            memcpy(d->trace_store + *toff, src[i].traces, src[i].trace_count * sizeof *src[i].traces);
        *toff += src[i].trace_count;
    }
}

jk_err jk_chain_dispatch_copy(const jk_chain_dispatch_part *src, jk_chain_dispatch_part *dst)
{
    jk_chain_dispatch_counts sc = {0};
    sc.ran = src->ran;
    sc.consumed = src->consumed_count;
    sc.queued = src->queued_count;
    sc.process_traces = src->process_trace_count;
    for (size_t i = 0; i < src->consumed_count; i++) {
        sc.blob_total += src->consumed[i].event.blob_len;
        sc.trace_total += src->consumed[i].trace_count;
    }
    for (size_t i = 0; i < src->queued_count; i++) {
        sc.blob_total += src->queued[i].event.blob_len;
        sc.trace_total += src->queued[i].trace_count;
    }
    jk_err err = jk_part_alloc(dst, &sc);
    if (err != JK_OK)
        return err;
    size_t boff = 0, toff = 0;
    jk_copy_list(dst->consumed, src->consumed, src->consumed_count, dst, &boff, &toff);
    jk_copy_list(dst->queued, src->queued, src->queued_count, dst, &boff, &toff);
    if (src->process_trace_count)
        memcpy(dst->process_traces, src->process_traces, src->process_trace_count * sizeof *src->process_traces);
    return JK_OK;
}

void jk_chain_dispatch_part_free(jk_chain_dispatch_part *d)
{
    if (!d)
        return;
    free(d->consumed);
    free(d->queued);
    free(d->process_traces);
    free(d->store);
    free(d->trace_store);
    memset(d, 0, sizeof *d);
}

/* ---- the queue record: a kernel's queue as bytes, for an embedder that
 * persists it with its head (docs/block-format.md, "The queue record") ---- */

static size_t jk_pooled_size(const jk_chain_pooled *e)
{
    return jk_nlen(e->endpoint) + jk_nlen(e->blob_len) + e->blob_len + jk_nlen(e->trace_count) +
           e->trace_count * JK_CHAIN_TRACE_SIZE;
}

typedef struct jk_qbuf {
    uint8_t *p;
    size_t len;
} jk_qbuf;

static void jk_qbuf_put(void *ctx, const void *p, size_t n)
{
    jk_qbuf *b = ctx;
    if (n)
        memcpy(b->p + b->len, p, n);
    b->len += n;
}

jk_err jk_chain_queue_encode(const jk_chain_kernel *ck, uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    size_t size = jk_nlen(ck->queued_count);
    for (size_t i = 0; i < ck->queued_count; i++)
        size += jk_pooled_size(&ck->queued[i]);
    jk_qbuf b = {malloc(size), 0};
    if (!b.p)
        return JK_ERR_NOMEM;
    jk_put_nat(jk_qbuf_put, &b, ck->queued_count);
    for (size_t i = 0; i < ck->queued_count; i++) {
        const jk_chain_pooled *e = &ck->queued[i];
        jk_put_nat(jk_qbuf_put, &b, e->endpoint);
        jk_put_nat(jk_qbuf_put, &b, e->blob_len);
        jk_qbuf_put(&b, e->blob, e->blob_len);
        jk_put_nat(jk_qbuf_put, &b, e->trace_count);
        jk_put_traces(jk_qbuf_put, &b, e->traces, e->trace_count);
    }
    *out = b.p;
    *len = b.len;
    return JK_OK;
}

jk_err jk_chain_queue_decode(const uint8_t *bytes, size_t len, jk_chain_pooled **out, size_t *n, jk_diag *diag)
{
    *out = NULL;
    *n = 0;
    /* walk and check first (the dispatch part's own list rules), then
     * allocate exactly */
    size_t pos = 0, count = 0, blobs = 0, traces = 0;
    jk_diag why = {{0}};
    jk_err err = jk_scan_list(bytes, len, &pos, "queued", JK_CHAIN_MAX_QUEUED, &count, &blobs, &traces, &why);
    if (err != JK_OK) /* the list's messages, without the part's prefix */
        return jk_diag_set(diag, err, "queue record: %s",
                           strncmp(why.msg, "dispatch part: ", 15) == 0 ? why.msg + 15 : why.msg);
    if (pos != len)
        return jk_diag_set(diag, JK_ERR_CHAIN_DECODE, "queue record: %zu bytes after its %zu events", len - pos,
                           count);
    jk_chain_pooled *list = calloc(count ? count : 1, sizeof *list);
    jk_chain_trace *t = calloc(traces ? traces : 1, sizeof *t);
    err = list && t ? JK_OK : JK_ERR_NOMEM;
    pos = 0;
    (void)jk_nat_at(bytes, len, &pos); /* count, known */
    size_t made = 0;
    for (; err == JK_OK && made < count; made++) {
        jk_chain_event ev;
        ev.endpoint = (jk_chain_endpoint)jk_nat_at(bytes, len, &pos);
        ev.blob_len = jk_nat_at(bytes, len, &pos);
        ev.blob = bytes + pos;
        pos += ev.blob_len;
        size_t tc = jk_nat_at(bytes, len, &pos);
        for (size_t j = 0; j < tc; j++, pos += JK_CHAIN_TRACE_SIZE)
            jk_chain_trace_decode(bytes + pos, &t[j]);
        jk_hash hash;
        jk_chain_event_hash(&ev, &hash);
        err = jk_chain_pooled_make(ev.blob, ev.blob_len, t, tc, ev.endpoint, &hash, &list[made]);
        if (err != JK_OK)
            break;
    }
    free(t);
    if (err != JK_OK) {
        if (list)
            jk_chain_pooled_free(list, made);
        return err;
    }
    *out = list;
    *n = count;
    return JK_OK;
}
