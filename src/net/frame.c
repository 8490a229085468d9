/*
 * frame.c — the wire frame (kind ‖ u32 LE length ‖ payload), the per-peer
 * token bucket, the byte buffer connections queue through, and the limits.
 *
 * The frame parser is the only decoder of untrusted bytes in this layer
 * (TLS records are GnuTLS's). It decides from the 5-byte header alone
 * whether a frame is acceptable, so an oversize frame is refused before its
 * payload is read or buffered.
 */
#include "internal.h"

#include <arpa/inet.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include <inttypes.h>

static const char *const jk_net_reason_names[JK_NET_REASONS] = {
    "none", "closed", "io", "handshake", "bad-key", "too-many", "timeout",
    "garbage", "oversize", "bad-signature", "slow", "replaced", "local", "shutdown",
};

const char *jk_net_reason_name(jk_net_reason r)
{
    if ((unsigned)r >= JK_NET_REASONS)
        return "unknown";
    return jk_net_reason_names[r];
}

void jk_net_limits_default(jk_net_limits *out)
{
    memset(out, 0, sizeof *out);
    out->max_frame[JK_NET_CONSENSUS] = 2u << 20;
    out->max_frame[JK_NET_EVENTS] = 2u << 20;
    out->max_frame[JK_NET_SYNC] = 17u << 20; /* a whole block (16 MiB) and its certificate */
    out->bytes_per_sec = 64u << 20;
    out->bytes_burst = 64u << 20;
    out->msgs_per_sec = 4096;
    out->msgs_burst = 4096;
    out->max_queue = 64u << 20;
    out->max_nonvalidators = 16;
    out->max_pending = 64;
    out->handshake_ms = 10000;
    out->backoff_min_ms = 250;
    out->backoff_max_ms = 30000;
}

void jk_net_frame_header(jk_net_kind kind, uint32_t len, uint8_t out[JK_NET_FRAME_HEADER])
{
    out[0] = (uint8_t)kind;
    out[1] = (uint8_t)len;
    out[2] = (uint8_t)(len >> 8);
    out[3] = (uint8_t)(len >> 16);
    out[4] = (uint8_t)(len >> 24);
}

jk_err jk_net_frame_parse(const uint8_t *buf, size_t n,
                          const uint32_t max_frame[JK_NET_KINDS],
                          jk_net_kind *kind, uint32_t *len, jk_diag *diag)
{
    if (n < 1)
        return JK_ERR_NET_INCOMPLETE;
    if (buf[0] >= JK_NET_KINDS)
        return jk_diag_set(diag, JK_ERR_NET_FRAME, "net: frame of unknown kind %u", buf[0]);
    if (n < JK_NET_FRAME_HEADER)
        return JK_ERR_NET_INCOMPLETE;
    uint32_t l = (uint32_t)buf[1] | (uint32_t)buf[2] << 8 | (uint32_t)buf[3] << 16 |
                 (uint32_t)buf[4] << 24;
    if (l > max_frame[buf[0]])
        return jk_diag_set(diag, JK_ERR_NET_TOO_LARGE,
                           "net: frame of kind %u has %" PRIu32 " bytes, over its bound %" PRIu32,
                           buf[0], l, max_frame[buf[0]]);
    if (n - JK_NET_FRAME_HEADER < l)
        return JK_ERR_NET_INCOMPLETE;
    *kind = (jk_net_kind)buf[0];
    *len = l;
    return JK_OK;
}

/* ---- token bucket ---- */

void jk_net_bucket_init(jk_net_bucket *b, uint64_t burst, uint64_t now_ms)
{
    b->milli = burst * 1000;
    b->last_ms = now_ms;
}

void jk_net_bucket_refill(jk_net_bucket *b, uint32_t rate, uint64_t burst, uint64_t now_ms)
{
    if (now_ms <= b->last_ms)
        return; /* time that goes backwards counts as none */
    uint64_t dt = now_ms - b->last_ms;
    b->last_ms = now_ms;
    uint64_t cap = burst * 1000;
    /* rate < 2^32 and dt clamped to an hour keep rate * dt below 2^64. */
    if (dt > 3600000)
        dt = 3600000;
    uint64_t add = (uint64_t)rate * dt; /* tokens × 1000 */
    b->milli = (cap - b->milli < add) ? cap : b->milli + add;
}

bool jk_net_bucket_has(const jk_net_bucket *b, uint64_t n)
{
    return b->milli / 1000 >= n;
}

bool jk_net_bucket_take(jk_net_bucket *b, uint64_t n)
{
    if (!jk_net_bucket_has(b, n))
        return false;
    b->milli -= n * 1000;
    return true;
}

/* ---- byte buffer ---- */

jk_err jk_net_buf_append(jk_net_buf *b, const void *data, size_t n)
{
    if (n == 0)
        return JK_OK;
    if (b->head + b->len + n > b->cap) {
        if (b->head > 0) { /* slide the live bytes down first */
            memmove(b->p, b->p + b->head, b->len);
            b->head = 0;
        }
        if (b->len + n > b->cap) {
            size_t cap = b->cap ? b->cap : 4096;
            while (cap < b->len + n)
                cap *= 2;
            uint8_t *p = realloc(b->p, cap);
            if (!p)
                return JK_ERR_NOMEM;
            b->p = p;
            b->cap = cap;
        }
    }
    memcpy(b->p + b->head + b->len, data, n);
    b->len += n;
    return JK_OK;
}

void jk_net_buf_consume(jk_net_buf *b, size_t n)
{
    b->head += n;
    b->len -= n;
    if (b->len == 0)
        b->head = 0;
}

void jk_net_buf_free(jk_net_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* ---- peers as operators write them ---- */

jk_err jk_net_peer_parse(const char *text, jk_net_peer_config *out, char host_buf[16],
                         jk_diag *diag)
{
    memset(out, 0, sizeof *out);
    const char *colon = strchr(text, ':');
    if (!colon)
        return jk_diag_set(diag, JK_ERR_PARSE, "net: peer \"%.40s\": expected HOST:PORT", text);
    size_t hl = (size_t)(colon - text);
    struct in_addr a;
    if (hl == 0 || hl > 15)
        return jk_diag_set(diag, JK_ERR_PARSE, "net: peer \"%.40s\": not an IPv4 address", text);
    memcpy(host_buf, text, hl);
    host_buf[hl] = '\0';
    if (inet_pton(AF_INET, host_buf, &a) != 1)
        return jk_diag_set(diag, JK_ERR_PARSE, "net: peer \"%.40s\": not an IPv4 address", text);
    const char *p = colon + 1;
    uint32_t port = 0;
    size_t digits = 0;
    for (; *p >= '0' && *p <= '9'; p++, digits++) {
        if (digits == 0 && *p == '0')
            return jk_diag_set(diag, JK_ERR_PARSE, "net: peer \"%.40s\": port 0 or a leading zero", text);
        port = port * 10 + (uint32_t)(*p - '0');
        if (port > 65535)
            return jk_diag_set(diag, JK_ERR_PARSE, "net: peer \"%.40s\": port over 65535", text);
    }
    if (digits == 0)
        return jk_diag_set(diag, JK_ERR_PARSE, "net: peer \"%.40s\": no port", text);
    out->host = host_buf;
    out->port = (uint16_t)port;
    if (*p == '\0') {
        out->any_key = true;
        return JK_OK;
    }
    if (*p != '@')
        return jk_diag_set(diag, JK_ERR_PARSE, "net: peer \"%.40s\": unexpected text after the port", text);
    p++;
    size_t got = 0;
    const char *end = NULL;
    if (sodium_hex2bin(out->key, JK_NET_KEY_SIZE, p, strlen(p), NULL, &got, &end) != 0 ||
        got != JK_NET_KEY_SIZE || end != p + 2 * JK_NET_KEY_SIZE) {
        memset(out, 0, sizeof *out);
        return jk_diag_set(diag, JK_ERR_PARSE, "net: peer \"%.40s\": the key is not 64 hex digits", text);
    }
    if (*end != '\0') {
        memset(out, 0, sizeof *out);
        return jk_diag_set(diag, JK_ERR_PARSE, "net: peer \"%.40s\": text after the key", text);
    }
    return JK_OK;
}
