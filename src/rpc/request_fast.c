/*
 * request_fast.c — the request parser's fast path (docs/rpc.md "The fast
 * path"): bodies of submit_event requests in the one compact shape the
 * testnet workload and bulk clients write,
 *
 *   {"jsonrpc":"2.0","id":N,"method":"submit_event",
 *    "params":["transact","HEX",[["HEX","HEX","HEX"],...]]}
 *
 * alone or in a batch array (no whitespace inside; any around the whole
 * body), N a non-negative integer of at most 18 digits without leading
 * zeros, every hex string of the length its field takes (the blob's even,
 * 1..JK_CHAIN_MAX_BLOB bytes), at most JK_RPC_MAX_TRACES traces, at most
 * JK_RPC_MAX_BATCH requests.
 *
 * Why: json-c builds an object per value and frees them again; with the
 * checks around it that was ~47,000 instructions a submitted event, more
 * than all the node's own admission work outside the verify
 * (docs/bench.md "Admission, session 6"). This reads the bytes once.
 *
 * It only ever accepts: anything off the shape (a space, another member
 * order, an escape, a refusal of any kind) makes it give up, and the body
 * goes to the json-c parser whole, which then accepts or refuses it with
 * its own words. So what it accepts is exactly what the json-c path would
 * make of the same bytes; tests/fuzz/fuzz_rpc.c checks that on every input.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct jk_fast_cur {
    const uint8_t *p, *end;
} jk_fast_cur;

static bool jk_fast_lit(jk_fast_cur *c, const char *lit, size_t n)
{
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, lit, n) != 0)
        return false;
    c->p += n;
    return true;
}
#define JK_FAST_LIT(c, s) jk_fast_lit((c), (s), sizeof(s) - 1)

/* The bytes up to the closing quote (taken): where they start, how many.
 * Only hex digits are taken: the caller's jk_rpc_hex_decode refuses any
 * other byte (a backslash, a control byte, a non-ASCII one). */
static bool jk_fast_hex_run(jk_fast_cur *c, const char **start, size_t *len)
{
    const uint8_t *q = memchr(c->p, '"', (size_t)(c->end - c->p));
    if (!q)
        return false;
    *start = (const char *)c->p;
    *len = (size_t)(q - c->p);
    c->p = q + 1;
    return true;
}

/* "HEX" of exactly want bytes into out. */
static bool jk_fast_hex_fixed(jk_fast_cur *c, uint8_t *out, size_t want)
{
    const char *s;
    size_t len, n;
    return JK_FAST_LIT(c, "\"") && jk_fast_hex_run(c, &s, &len) && len == 2 * want &&
           jk_rpc_hex_decode(s, len, out, want, &n, NULL) == JK_OK;
}

static bool jk_fast_id(jk_fast_cur *c, jk_rpc_id *id)
{
    const uint8_t *q = c->p;
    int64_t n = 0;
    while (q < c->end && *q >= '0' && *q <= '9' && q - c->p < 18)
        n = n * 10 + (*q++ - '0');
    size_t digits = (size_t)(q - c->p);
    /* a 19th digit, a fraction, an exponent, a leading zero: json-c's */
    if (digits == 0 || q == c->end || *q != ',' || (digits > 1 && *c->p == '0'))
        return false;
    c->p = q;
    id->kind = JK_RPC_ID_INT;
    id->num = n;
    return true;
}

/* One request of the shape, into r (r's blob and traces owned by r). */
static bool jk_fast_request(jk_fast_cur *c, jk_rpc_request *r)
{
    if (!JK_FAST_LIT(c, "{\"jsonrpc\":\"2.0\",\"id\":") || !jk_fast_id(c, &r->id) ||
        !JK_FAST_LIT(c, ",\"method\":\"submit_event\",\"params\":[\"transact\",\""))
        return false;
    r->method = JK_RPC_M_SUBMIT_EVENT;
    jk_rpc_event *ev = &r->params.submit;
    ev->endpoint = JK_CHAIN_ENDPOINT_TRANSACT;
    const char *s;
    size_t len;
    if (!jk_fast_hex_run(c, &s, &len) || len == 0 || len % 2 || len / 2 > JK_CHAIN_MAX_BLOB)
        return false;
    ev->blob = malloc(len / 2);
    if (!ev->blob || jk_rpc_hex_decode(s, len, ev->blob, len / 2, &ev->blob_len, NULL) != JK_OK)
        return false;
    if (!JK_FAST_LIT(c, ",["))
        return false;
    if (!JK_FAST_LIT(c, "]")) {
        /* the traces into a stack array, then one allocation of their
         * number (session 11: they were counted first by a scan of every
         * byte up to the closing brace, ~1,200 instructions an event) */
        jk_chain_trace tmp[JK_RPC_MAX_TRACES];
        size_t n = 0;
        for (;;) {
            if (n == JK_RPC_MAX_TRACES)
                return false;
            jk_chain_trace *t = &tmp[n++];
            if (!JK_FAST_LIT(c, "[") || !jk_fast_hex_fixed(c, t->key, sizeof t->key) ||
                !JK_FAST_LIT(c, ",") ||
                !jk_fast_hex_fixed(c, t->msg_hash.bytes, sizeof t->msg_hash.bytes) ||
                !JK_FAST_LIT(c, ",") || !jk_fast_hex_fixed(c, t->sig, sizeof t->sig) ||
                !JK_FAST_LIT(c, "]"))
                return false;
            if (JK_FAST_LIT(c, "]"))
                break;
            if (!JK_FAST_LIT(c, ","))
                return false;
        }
        ev->traces = malloc(n * sizeof *ev->traces);
        if (!ev->traces)
            return false;
        memcpy(ev->traces, tmp, n * sizeof *ev->traces);
        ev->trace_count = n;
    }
    return JK_FAST_LIT(c, "]}");
}

static bool jk_fast_space(uint8_t b)
{
    return b == ' ' || b == '\t' || b == '\n' || b == '\r';
}

bool jk_rpc_parse_fast(const uint8_t *body, size_t len, jk_rpc_parsed *out)
{
    memset(out, 0, sizeof *out);
    if (!body || len == 0)
        return false; /* (body may be NULL when len is 0: no pointer arithmetic on it) */
    jk_fast_cur c = {body, body + len};
    while (c.p < c.end && jk_fast_space(*c.p))
        c.p++;
    while (c.end > c.p && jk_fast_space(c.end[-1]))
        c.end--;
    if (c.p == c.end)
        return false;
    out->batch = *c.p == '[';
    out->requests = calloc(out->batch ? JK_RPC_MAX_BATCH : 1, sizeof *out->requests);
    if (!out->requests)
        return false;
    bool ok;
    if (out->batch) {
        c.p++;
        do {
            ok = out->count < JK_RPC_MAX_BATCH && jk_fast_request(&c, &out->requests[out->count++]);
        } while (ok && JK_FAST_LIT(&c, ","));
        ok = ok && JK_FAST_LIT(&c, "]");
    } else {
        out->count = 1;
        ok = jk_fast_request(&c, &out->requests[0]);
    }
    if (ok && c.p == c.end)
        return true;
    jk_rpc_parsed_free(out);
    return false;
}
