/*
 * block.c — blocks: headers, bodies, their canonical encoding, hashes and the
 * proposer's signature (architecture §6; every byte in docs/block-format.md).
 *
 *   block  = header[208] ‖ body
 *   header = parent[32] ‖ number u64le ‖ round u32le ‖ proposer u32le ‖
 *            state_root[32] ‖ body_hash[32] ‖ last_commit[32] ‖ signature[64]
 *   body   = E(n) ‖ n × (E(endpoint) ‖ E(|blob|) ‖ blob) ‖ E(m) ‖ m × trace[128]
 *
 * Invariants:
 *   - A jk_chain_block made here (build or decode) is within every bound of
 *     chain.h section 1, owns events/traces/blob_store, and each
 *     events[i].blob points into blob_store (never NULL, even for an empty
 *     blob). So encode(decode(x)) == x for every x that decodes, and every
 *     built block decodes.
 *   - The body is written by one function (jk_body_write) into either a
 *     buffer or a hasher, so the encoding and body_hash cannot disagree.
 *   - Decode walks the whole input (checking everything) before it allocates
 *     anything, and then allocates exactly what the input describes.
 */
#include "internal.h"

#include "jark/pvm.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JK_BLOCK_TAG_LEN (sizeof JK_CHAIN_BLOCK_TAG - 1)

_Static_assert(JK_BLOCK_TAG_LEN == 13, "the block tag is 13 bytes, no NUL");
_Static_assert(JK_CHAIN_HEADER_UNSIGNED_SIZE == 32 + 8 + 4 + 4 + 32 + 32 + 32, "header layout");
_Static_assert(JK_CHAIN_HEADER_SIZE == JK_CHAIN_HEADER_UNSIGNED_SIZE + JK_ED25519_SIG_SIZE,
               "header layout");

/* Header field offsets (docs/block-format.md, "Header"). */
enum {
    JK_HDR_PARENT = 0,
    JK_HDR_NUMBER = 32,
    JK_HDR_ROUND = 40,
    JK_HDR_PROPOSER = 44,
    JK_HDR_STATE_ROOT = 48,
    JK_HDR_BODY_HASH = 80,
    JK_HDR_LAST_COMMIT = 112,
    JK_HDR_SIGNATURE = 144,
};

/* ===========================================================================
 * Headers
 * ======================================================================== */

void jk_chain_header_encode(const jk_chain_header *h, uint8_t out[JK_CHAIN_HEADER_SIZE])
{
    memcpy(out + JK_HDR_PARENT, h->parent.bytes, JK_HASH_SIZE);
    jk_put_u64le(out + JK_HDR_NUMBER, h->number);
    jk_put_u32le(out + JK_HDR_ROUND, h->round);
    jk_put_u32le(out + JK_HDR_PROPOSER, h->proposer);
    memcpy(out + JK_HDR_STATE_ROOT, h->state_root.bytes, JK_HASH_SIZE);
    memcpy(out + JK_HDR_BODY_HASH, h->body_hash.bytes, JK_HASH_SIZE);
    memcpy(out + JK_HDR_LAST_COMMIT, h->last_commit.bytes, JK_HASH_SIZE);
    memcpy(out + JK_HDR_SIGNATURE, h->signature, JK_ED25519_SIG_SIZE);
}

/* The fields from 208 bytes known to be there. */
static void jk_header_read(const uint8_t *in, jk_chain_header *h)
{
    memcpy(h->parent.bytes, in + JK_HDR_PARENT, JK_HASH_SIZE);
    h->number = jk_get_u64le(in + JK_HDR_NUMBER);
    h->round = jk_get_u32le(in + JK_HDR_ROUND);
    h->proposer = jk_get_u32le(in + JK_HDR_PROPOSER);
    memcpy(h->state_root.bytes, in + JK_HDR_STATE_ROOT, JK_HASH_SIZE);
    memcpy(h->body_hash.bytes, in + JK_HDR_BODY_HASH, JK_HASH_SIZE);
    memcpy(h->last_commit.bytes, in + JK_HDR_LAST_COMMIT, JK_HASH_SIZE);
    memcpy(h->signature, in + JK_HDR_SIGNATURE, JK_ED25519_SIG_SIZE);
}

jk_err jk_chain_header_decode(const uint8_t *bytes, size_t len, jk_chain_header *out,
                              jk_diag *diag)
{
    memset(out, 0, sizeof *out);
    if (len < JK_CHAIN_HEADER_SIZE)
        return jk_diag_set(diag, JK_ERR_CHAIN_DECODE,
                           "header truncated: %zu of %u bytes", len, JK_CHAIN_HEADER_SIZE);
    if (len > JK_CHAIN_HEADER_SIZE)
        return jk_diag_set(diag, JK_ERR_CHAIN_DECODE,
                           "%zu trailing bytes after the %u-byte header",
                           len - JK_CHAIN_HEADER_SIZE, JK_CHAIN_HEADER_SIZE);
    jk_header_read(bytes, out);
    return JK_OK;
}

uint32_t jk_chain_proposer_index(uint32_t validator_count, uint64_t height, uint32_t round)
{
    if (validator_count == 0)
        return 0;
    /* both terms < V ≤ 2^32: their sum fits in 64 bits */
    return (uint32_t)((height % validator_count + round % validator_count) % validator_count);
}

void jk_chain_header_hash(const jk_chain_header *h, jk_hash *out)
{
    uint8_t enc[JK_CHAIN_HEADER_SIZE];
    jk_chain_header_encode(h, enc);
    jk_crypto_blake2b256(enc, sizeof enc, out);
}

void jk_chain_header_signing_hash(const jk_chain_header *h, const jk_hash *genesis,
                                  jk_hash *out)
{
    uint8_t enc[JK_CHAIN_HEADER_SIZE];
    jk_crypto_hasher hs;
    jk_chain_header_encode(h, enc);
    jk_crypto_hasher_init(&hs);
    jk_crypto_hasher_update(&hs, JK_CHAIN_BLOCK_TAG, JK_BLOCK_TAG_LEN);
    jk_crypto_hasher_update(&hs, genesis->bytes, JK_HASH_SIZE);
    jk_crypto_hasher_update(&hs, enc, JK_CHAIN_HEADER_UNSIGNED_SIZE);
    (void)jk_crypto_hasher_final(&hs, out); /* fresh hasher: cannot fail */
}

/* ===========================================================================
 * Body size and bounds (shared by build and encode)
 * ======================================================================== */

static size_t jk_nat_len(uint64_t v)
{
    uint8_t tmp[9];
    return jk_pvm_encode_natural(v, tmp);
}

/* Check parts against the bounds and compute the body's encoded size.
 * Stops at the first bound exceeded, so no sum can overflow. */
static jk_err jk_body_size(const jk_chain_event *events, size_t n, size_t m,
                           const jk_chain_dispatch_part *d, size_t *out, jk_diag *diag)
{
    const size_t budget = JK_CHAIN_MAX_BLOCK_SIZE - JK_CHAIN_HEADER_SIZE;
    size_t part;
    jk_err err = jk_chain_dispatch_size(d, &part, diag);
    if (err != JK_OK)
        return err;
    if (n > JK_CHAIN_MAX_EVENTS)
        return jk_diag_set(diag, JK_ERR_CHAIN_TOO_LARGE, "%zu events, over the bound of %u",
                           n, JK_CHAIN_MAX_EVENTS);
    if (m > JK_CHAIN_MAX_TRACES)
        return jk_diag_set(diag, JK_ERR_CHAIN_TOO_LARGE, "%zu traces, over the bound of %u",
                           m, JK_CHAIN_MAX_TRACES);
    size_t size = jk_nat_len(n) + jk_nat_len(m) + m * JK_CHAIN_TRACE_SIZE + part;
    for (size_t i = 0; i < n; i++) {
        const jk_chain_event *e = &events[i];
        if (e->endpoint > JK_CHAIN_MAX_DISPATCH)
            return jk_diag_set(diag, JK_ERR_CHAIN_TOO_LARGE,
                               "event %zu: endpoint %" PRIu32 " (dispatch %" PRIu32
                               ") over the bound of %u dispatch endpoints",
                               i, e->endpoint, e->endpoint - 1u, JK_CHAIN_MAX_DISPATCH);
        if (e->blob_len > JK_CHAIN_MAX_BLOB)
            return jk_diag_set(diag, JK_ERR_CHAIN_TOO_LARGE,
                               "event %zu: blob of %zu bytes, over the bound of %u",
                               i, e->blob_len, JK_CHAIN_MAX_BLOB);
        size += jk_nat_len(e->endpoint) + jk_nat_len(e->blob_len) + e->blob_len;
        if (size > budget)
            break;
    }
    if (size > budget)
        return jk_diag_set(diag, JK_ERR_CHAIN_TOO_LARGE,
                           "block over the bound of %u bytes", JK_CHAIN_MAX_BLOCK_SIZE);
    *out = size;
    return JK_OK;
}

/* ===========================================================================
 * Writing the body (to a buffer or to a hasher)
 * ======================================================================== */

/* Hashing, the body's many small pieces (a natural, a blob, a trace) are
 * gathered into chunk and handed to the hasher JK_SINK_CHUNK bytes at a
 * time: an update a piece cost ~1,550 instructions an event for a block of
 * transfers, ~1,300 with the chunk (docs/bench.md "The chain layer, session
 * 11"). The bytes hashed are the same. */
#define JK_SINK_CHUNK 4096
typedef struct jk_body_sink {
    uint8_t *buf;            /* write here when hasher is NULL */
    size_t pos;
    jk_crypto_hasher *hasher;
    uint8_t *chunk;          /* with hasher: JK_SINK_CHUNK bytes, fill of them gathered */
    size_t fill;
} jk_body_sink;

static void jk_sink_flush(jk_body_sink *s)
{
    jk_crypto_hasher_update(s->hasher, s->chunk, s->fill);
    s->fill = 0;
}

static void jk_sink_put(jk_body_sink *s, const void *p, size_t n)
{
    if (s->hasher) {
        if (n > JK_SINK_CHUNK - s->fill)
            jk_sink_flush(s);
        if (n >= JK_SINK_CHUNK) {
            jk_crypto_hasher_update(s->hasher, p, n);
        } else if (n) {
            memcpy(s->chunk + s->fill, p, n);
            s->fill += n;
        }
    } else if (n) {
        memcpy(s->buf + s->pos, p, n);
    }
    s->pos += n;
}

static void jk_sink_nat(jk_body_sink *s, uint64_t v)
{
    uint8_t tmp[9];
    jk_sink_put(s, tmp, jk_pvm_encode_natural(v, tmp));
}

static void jk_sink_put_cb(void *ctx, const void *p, size_t n)
{
    jk_sink_put(ctx, p, n);
}

static void jk_body_write(const jk_chain_block *b, jk_body_sink *s)
{
    jk_sink_nat(s, b->event_count);
    for (size_t i = 0; i < b->event_count; i++) {
        const jk_chain_event *e = &b->events[i];
        jk_sink_nat(s, e->endpoint);
        jk_sink_nat(s, e->blob_len);
        jk_sink_put(s, e->blob, e->blob_len);
    }
    jk_sink_nat(s, b->trace_count);
    for (size_t i = 0; i < b->trace_count; i++) {
        uint8_t enc[JK_CHAIN_TRACE_SIZE];
        jk_chain_trace_encode(&b->traces[i], enc);
        jk_sink_put(s, enc, sizeof enc);
    }
    jk_chain_dispatch_write(&b->dispatch, jk_sink_put_cb, s);
}

void jk_chain_block_body_hash(const jk_chain_block *b, jk_hash *out)
{
    jk_crypto_hasher h;
    uint8_t chunk[JK_SINK_CHUNK];
    jk_body_sink s = {NULL, 0, &h, chunk, 0};
    jk_crypto_hasher_init(&h);
    jk_body_write(b, &s);
    jk_sink_flush(&s);
    (void)jk_crypto_hasher_final(&h, out); /* fresh hasher: cannot fail */
}

/* ===========================================================================
 * Building and freeing
 * ======================================================================== */

/* Allocate the three arrays of a block (each at least 1 element, so that
 * pointers are never NULL). */
static jk_err jk_block_alloc(jk_chain_block *b, size_t n, size_t m, size_t blob_total)
{
    b->events = calloc(n ? n : 1, sizeof *b->events);
    b->traces = calloc(m ? m : 1, sizeof *b->traces);
    b->blob_store = malloc(blob_total ? blob_total : 1);
    if (!b->events || !b->traces || !b->blob_store) {
        jk_chain_block_free(b);
        return JK_ERR_NOMEM;
    }
    b->event_count = n;
    b->trace_count = m;
    return JK_OK;
}

/* jk_chain_block_build without the body hash: for produce, whose block
 * gets its dispatch part next (jk_chain_block_set_dispatch hashes the body
 * then), so that a produced block's body is hashed once, not twice
 * (session 9: ~1.3 M instructions a 1,000-event block). */
jk_err jk_chain_block_build_unhashed(const jk_hash *parent, uint64_t number, uint32_t proposer,
                            const jk_hash *state_root,
                            const jk_chain_event *events, size_t event_count,
                            const jk_chain_trace *traces, size_t trace_count,
                            jk_chain_block *out, jk_diag *diag)
{
    memset(out, 0, sizeof *out);
    if ((event_count && !events) || (trace_count && !traces))
        return jk_diag_set(diag, JK_ERR_INVALID_ARG, "NULL events or traces with a count");
    for (size_t i = 0; i < event_count; i++)
        if (events[i].blob_len && !events[i].blob)
            return jk_diag_set(diag, JK_ERR_INVALID_ARG, "event %zu: NULL blob of %zu bytes",
                               i, events[i].blob_len);
    size_t body_size;
    static const jk_chain_dispatch_part none = {0};
    jk_err err = jk_body_size(events, event_count, trace_count, &none, &body_size, diag);
    if (err != JK_OK)
        return err;
    size_t blob_total = 0;
    for (size_t i = 0; i < event_count; i++)
        blob_total += events[i].blob_len; /* ≤ body_size: no overflow */
    jk_chain_block b = {0};
    if (jk_block_alloc(&b, event_count, trace_count, blob_total) != JK_OK)
        return jk_diag_set(diag, JK_ERR_NOMEM, "out of memory building a block");

    size_t off = 0;
    for (size_t i = 0; i < event_count; i++) {
        b.events[i].endpoint = events[i].endpoint;
        b.events[i].blob = b.blob_store + off;
        b.events[i].blob_len = events[i].blob_len;
        if (events[i].blob_len)
            memcpy(b.blob_store + off, events[i].blob, events[i].blob_len);
        off += events[i].blob_len;
    }
    if (trace_count)
        memcpy(b.traces, traces, trace_count * sizeof *traces);
    b.header.parent = *parent;
    b.header.number = number;
    b.header.proposer = proposer;
    b.header.state_root = *state_root;
    /* body_hash and signature stay all zero until the caller's */
    *out = b;
    return JK_OK;
}

jk_err jk_chain_block_build(const jk_hash *parent, uint64_t number, uint32_t proposer,
                            const jk_hash *state_root,
                            const jk_chain_event *events, size_t event_count,
                            const jk_chain_trace *traces, size_t trace_count,
                            jk_chain_block *out, jk_diag *diag)
{
    jk_err err = jk_chain_block_build_unhashed(parent, number, proposer, state_root, events, event_count, traces,
                                               trace_count, out, diag);
    if (err == JK_OK)
        jk_chain_block_body_hash(out, &out->header.body_hash);
    /* signature stays all zero until jk_chain_block_sign */
    return err;
}

void jk_chain_block_free(jk_chain_block *b)
{
    if (!b)
        return;
    free(b->events);
    free(b->traces);
    free(b->blob_store);
    jk_chain_dispatch_part_free(&b->dispatch);
    memset(b, 0, sizeof *b);
}

jk_err jk_chain_block_set_dispatch(jk_chain_block *b, const jk_chain_dispatch_part *d, jk_diag *diag)
{
    size_t body;
    jk_err err = jk_body_size(b->events, b->event_count, b->trace_count, d, &body, diag);
    if (err != JK_OK)
        return err;
    jk_chain_dispatch_part copy;
    if (jk_chain_dispatch_copy(d, &copy) != JK_OK)
        return jk_diag_set(diag, JK_ERR_NOMEM, "out of memory copying a dispatch part");
    jk_chain_dispatch_part_free(&b->dispatch);
    b->dispatch = copy;
    jk_chain_block_body_hash(b, &b->header.body_hash);
    return JK_OK;
}

/* ===========================================================================
 * Encoding
 * ======================================================================== */

size_t jk_chain_block_encoded_size(const jk_chain_block *b)
{
    size_t body;
    if (jk_body_size(b->events, b->event_count, b->trace_count, &b->dispatch, &body, NULL) != JK_OK)
        return 0;
    return JK_CHAIN_HEADER_SIZE + body;
}

jk_err jk_chain_block_encode(const jk_chain_block *b, uint8_t **out, size_t *out_len)
{
    size_t size = jk_chain_block_encoded_size(b);
    if (size == 0)
        return JK_ERR_CHAIN_TOO_LARGE;
    uint8_t *buf = malloc(size);
    if (!buf)
        return JK_ERR_NOMEM;
    jk_chain_header_encode(&b->header, buf);
    jk_body_sink s = {buf, JK_CHAIN_HEADER_SIZE, NULL};
    jk_body_write(b, &s);
    *out = buf;
    *out_len = size;
    return JK_OK;
}

/* ===========================================================================
 * Decoding
 * ======================================================================== */

/* What a natural being read is, for messages: "<what>" or "event <i> <what>". */
typedef struct jk_where {
    const char *what;
    size_t event;            /* SIZE_MAX: not inside an event */
} jk_where;

/* Read one canonical natural at *pos. */
static jk_err jk_read_nat(const uint8_t *bytes, size_t len, size_t *pos, uint64_t *v,
                          jk_where w, jk_diag *diag)
{
    size_t used = jk_pvm_decode_natural(bytes + *pos, len - *pos, v);
    char ev[40] = "";
    if (used == 0 || jk_nat_len(*v) != used) {
        if (w.event != SIZE_MAX)
            snprintf(ev, sizeof ev, "event %zu ", w.event);
        if (used == 0)
            return jk_diag_set(diag, JK_ERR_CHAIN_DECODE,
                               "%s%s at offset %zu: truncated natural", ev, w.what, *pos);
        return jk_diag_set(diag, JK_ERR_CHAIN_DECODE,
                           "%s%s at offset %zu: natural not in canonical form "
                           "(%zu bytes for a %zu-byte value)",
                           ev, w.what, *pos, used, jk_nat_len(*v));
    }
    *pos += used;
    return JK_OK;
}

/* Walk and check the body at bytes[JK_CHAIN_HEADER_SIZE..len) without
 * allocating; report the counts and the total blob bytes. */
static jk_err jk_body_scan(const uint8_t *bytes, size_t len, size_t *n_out, size_t *m_out,
                           size_t *blob_total, size_t *part_at, jk_chain_dispatch_counts *part, jk_diag *diag)
{
    size_t pos = JK_CHAIN_HEADER_SIZE, total = 0;
    uint64_t n, m, ep, blen;
    jk_err err;

    if ((err = jk_read_nat(bytes, len, &pos, &n, (jk_where){"event count", SIZE_MAX},
                           diag)) != JK_OK)
        return err;
    if (n > JK_CHAIN_MAX_EVENTS)
        return jk_diag_set(diag, JK_ERR_CHAIN_TOO_LARGE,
                           "event count %" PRIu64 " at offset %u over the bound of %u",
                           n, JK_CHAIN_HEADER_SIZE, JK_CHAIN_MAX_EVENTS);
    for (size_t i = 0; i < n; i++) {
        size_t at = pos;
        if ((err = jk_read_nat(bytes, len, &pos, &ep, (jk_where){"endpoint", i}, diag)) != JK_OK)
            return err;
        if (ep > JK_CHAIN_MAX_DISPATCH)
            return jk_diag_set(diag, JK_ERR_CHAIN_TOO_LARGE,
                               "event %zu endpoint at offset %zu: %" PRIu64 " (dispatch %" PRIu64
                               ") over the bound of %u dispatch endpoints",
                               i, at, ep, ep - 1, JK_CHAIN_MAX_DISPATCH);
        at = pos;
        if ((err = jk_read_nat(bytes, len, &pos, &blen, (jk_where){"blob length", i}, diag)) !=
            JK_OK)
            return err;
        if (blen > JK_CHAIN_MAX_BLOB)
            return jk_diag_set(diag, JK_ERR_CHAIN_TOO_LARGE,
                               "event %zu blob length at offset %zu: %" PRIu64
                               " bytes, over the bound of %u",
                               i, at, blen, JK_CHAIN_MAX_BLOB);
        if (blen > len - pos)
            return jk_diag_set(diag, JK_ERR_CHAIN_DECODE,
                               "event %zu blob at offset %zu truncated: %" PRIu64
                               " bytes declared, %zu left",
                               i, pos, blen, len - pos);
        pos += (size_t)blen;
        total += (size_t)blen;
    }
    size_t at = pos;
    if ((err = jk_read_nat(bytes, len, &pos, &m, (jk_where){"trace count", SIZE_MAX}, diag)) !=
        JK_OK)
        return err;
    if (m > JK_CHAIN_MAX_TRACES)
        return jk_diag_set(diag, JK_ERR_CHAIN_TOO_LARGE,
                           "trace count %" PRIu64 " at offset %zu over the bound of %u",
                           m, at, JK_CHAIN_MAX_TRACES);
    size_t left = len - pos;
    if (m * JK_CHAIN_TRACE_SIZE > left)
        return jk_diag_set(diag, JK_ERR_CHAIN_DECODE,
                           "trace %zu at offset %zu truncated: %zu of %u bytes",
                           left / JK_CHAIN_TRACE_SIZE,
                           pos + left / JK_CHAIN_TRACE_SIZE * JK_CHAIN_TRACE_SIZE,
                           left % JK_CHAIN_TRACE_SIZE, JK_CHAIN_TRACE_SIZE);
    pos += (size_t)m * JK_CHAIN_TRACE_SIZE;
    *part_at = pos;
    if ((err = jk_chain_dispatch_scan(bytes, len, &pos, part, diag)) != JK_OK)
        return err;
    if (pos != len)
        return jk_diag_set(diag, JK_ERR_CHAIN_DECODE,
                           "%zu trailing bytes at offset %zu after the block", len - pos, pos);
    *n_out = (size_t)n;
    *m_out = (size_t)m;
    *blob_total = total;
    return JK_OK;
}

jk_err jk_chain_block_decode(const uint8_t *bytes, size_t len, jk_chain_block *out,
                             jk_diag *diag)
{
    memset(out, 0, sizeof *out);
    if (len > JK_CHAIN_MAX_BLOCK_SIZE)
        return jk_diag_set(diag, JK_ERR_CHAIN_TOO_LARGE,
                           "block of %zu bytes, over the bound of %u", len,
                           JK_CHAIN_MAX_BLOCK_SIZE);
    if (len < JK_CHAIN_HEADER_SIZE)
        return jk_diag_set(diag, JK_ERR_CHAIN_DECODE,
                           "header truncated: %zu of %u bytes", len, JK_CHAIN_HEADER_SIZE);

    size_t n = 0, m = 0, blob_total = 0, part_at = 0;
    jk_chain_dispatch_counts part;
    jk_err err = jk_body_scan(bytes, len, &n, &m, &blob_total, &part_at, &part, diag);
    if (err != JK_OK)
        return err;

    /* Everything checked; now fill, trusting what the scan established. */
    jk_chain_block b = {0};
    if (jk_block_alloc(&b, n, m, blob_total) != JK_OK)
        return jk_diag_set(diag, JK_ERR_NOMEM, "out of memory decoding a block of %zu bytes",
                           len);
    jk_header_read(bytes, &b.header);
    size_t pos = JK_CHAIN_HEADER_SIZE, off = 0;
    uint64_t v;
    pos += jk_pvm_decode_natural(bytes + pos, len - pos, &v); /* n */
    for (size_t i = 0; i < n; i++) {
        pos += jk_pvm_decode_natural(bytes + pos, len - pos, &v);
        b.events[i].endpoint = (jk_chain_endpoint)v;
        pos += jk_pvm_decode_natural(bytes + pos, len - pos, &v);
        b.events[i].blob_len = (size_t)v;
        b.events[i].blob = b.blob_store + off;
        if (v)
            memcpy(b.blob_store + off, bytes + pos, (size_t)v);
        off += (size_t)v;
        pos += (size_t)v;
    }
    pos += jk_pvm_decode_natural(bytes + pos, len - pos, &v); /* m */
    for (size_t i = 0; i < m; i++, pos += JK_CHAIN_TRACE_SIZE)
        jk_chain_trace_decode(bytes + pos, &b.traces[i]);
    if (jk_chain_dispatch_fill(bytes, len, part_at, &part, &b.dispatch) != JK_OK) {
        jk_chain_block_free(&b);
        return jk_diag_set(diag, JK_ERR_NOMEM, "out of memory decoding a block of %zu bytes", len);
    }
    *out = b;
    return JK_OK;
}

/* ===========================================================================
 * Hashes and signatures
 * ======================================================================== */

void jk_chain_block_hash(const jk_chain_block *b, jk_hash *out)
{
    jk_chain_header_hash(&b->header, out);
}

jk_err jk_chain_block_check_body(const jk_chain_block *b)
{
    jk_hash h;
    jk_chain_block_body_hash(b, &h);
    if (memcmp(h.bytes, b->header.body_hash.bytes, JK_HASH_SIZE) != 0)
        return JK_ERR_CHAIN_BODY_HASH;
    return JK_OK;
}

void jk_chain_block_sign(jk_chain_block *b, const uint8_t secret_key[JK_ED25519_SECRET_SIZE],
                         const jk_hash *genesis)
{
    jk_hash h;
    jk_chain_header_signing_hash(&b->header, genesis, &h);
    jk_crypto_ed25519_sign(secret_key, h.bytes, JK_HASH_SIZE, b->header.signature);
}

jk_err jk_chain_block_verify_sig(const jk_chain_block *b,
                                 const uint8_t public_key[JK_ED25519_PUBLIC_SIZE],
                                 const jk_hash *genesis)
{
    jk_hash h;
    jk_chain_header_signing_hash(&b->header, genesis, &h);
    if (jk_crypto_ed25519_verify(public_key, h.bytes, JK_HASH_SIZE, b->header.signature) !=
        JK_OK)
        return JK_ERR_CHAIN_BLOCK_SIG;
    return JK_OK;
}
