/*
 * request.c — the JSON-RPC 2.0 request parser and validator (jk_rpc_parse).
 *
 * A pure function from untrusted bytes to typed requests: it decodes the
 * JSON (json-c in strict mode, UTF-8 checked, nesting bounded), then checks
 * every request completely — envelope, id, method, every parameter's type,
 * range and length — before anything reaches a provider (decode, then
 * invoke). A refusal is data (an error code and a one-line reason), never
 * a crash; the fuzz target tests/fuzz/fuzz_rpc.c holds it to that.
 *
 * Notifications: a request without "id" that is otherwise well formed gets
 * no answer, whatever its method or params (JSON-RPC 2.0 §4.1); one that is
 * not well formed is answered -32600 with id null (§5).
 */
#include "internal.h"

#include "jark/bytes.h"

#include <json-c/json.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

static const struct {
    const char *name;
    jk_rpc_method method;
} jk_rpc_methods[] = {
    {"submit_event", JK_RPC_M_SUBMIT_EVENT},
    {"status", JK_RPC_M_STATUS},
    {"block", JK_RPC_M_BLOCK},
    {"state_slot", JK_RPC_M_STATE_SLOT},
    {"pool", JK_RPC_M_POOL},
};

const char *jk_rpc_method_name(jk_rpc_method m)
{
    for (size_t i = 0; i < sizeof jk_rpc_methods / sizeof jk_rpc_methods[0]; i++)
        if (jk_rpc_methods[i].method == m)
            return jk_rpc_methods[i].name;
    return NULL;
}

/* ---- hex ---- */

/* Eight hex digits (x: ASCII, the first digit in the low byte) into
 * their four bytes in *out; false when any of the eight is not a hex
 * digit. SWAR (session 11): per byte lane, b >= lo is the top bit of
 * b + (0x80 - lo) and b <= hi the top bit clear in b + (0x7f - hi), which
 * never carry into the next lane once every lane is below 0x80; a letter's
 * value is its low nibble + 9. ~35 operations for the eight digits, against
 * two table loads, tests, shifts and a store a byte one by one: the hex of
 * submitted events is most of the bytes the RPC parser reads (docs/bench.md
 * "Ingest, session 11": 4,051 -> 2,599 instructions an event). */
static bool jk_hex_word(uint64_t x, uint8_t out[4])
{
    const uint64_t ones = 0x0101010101010101u, top = 0x8080808080808080u;
    if (x & top)
        return false;
    uint64_t digit = (x + ones * (0x80 - '0')) & ~(x + ones * (0x7f - '9')) & top;
    uint64_t low = x | ones * 0x20; /* A-F as a-f (a digit stays out of the letters) */
    uint64_t alpha = (low + ones * (0x80 - 'a')) & ~(low + ones * (0x7f - 'f')) & top;
    if ((digit | alpha) != top)
        return false;
    uint64_t v = (x & ones * 0x0f) + (alpha >> 7) * 9; /* each lane 0..15 */
    /* lane pairs (hi, lo) into bytes, then the bytes packed together */
    v = ((v & 0x000f000f000f000fu) << 4) | ((v >> 8) & 0x000f000f000f000fu);
    v = (v | v >> 8) & 0x0000ffff0000ffffu;
    v = (v | v >> 16) & 0x00000000ffffffffu;
    uint32_t w = (uint32_t)v;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    w = __builtin_bswap32(w);
#endif
    memcpy(out, &w, 4);
    return true;
}

#ifdef __SSE2__
/* Sixteen hex digits into their eight bytes, as jk_hex_word does eight;
 * false (out untouched) when any is not a hex digit. Signed byte compares:
 * a byte of 0x80 or more is negative, below '0', so neither a digit nor
 * (its 0x20 bit set) a letter. */
static bool jk_hex_16(const char *hex, uint8_t out[8])
{
    __m128i x = _mm_loadu_si128((const __m128i *)(const void *)hex);
    __m128i digit = _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8('0' - 1)), _mm_cmplt_epi8(x, _mm_set1_epi8('9' + 1)));
    __m128i low = _mm_or_si128(x, _mm_set1_epi8(0x20)); /* A-F as a-f */
    __m128i alpha = _mm_and_si128(_mm_cmpgt_epi8(low, _mm_set1_epi8('a' - 1)), _mm_cmplt_epi8(low, _mm_set1_epi8('f' + 1)));
    if (_mm_movemask_epi8(_mm_or_si128(digit, alpha)) != 0xffff)
        return false;
    /* each lane 0..15: its low nibble, + 9 for a letter */
    __m128i v = _mm_add_epi8(_mm_and_si128(x, _mm_set1_epi8(0x0f)), _mm_and_si128(alpha, _mm_set1_epi8(9)));
    /* each 16-bit lane (first digit low) into the byte first << 4 | second */
    __m128i b = _mm_and_si128(_mm_or_si128(_mm_slli_epi16(v, 4), _mm_srli_epi16(v, 8)), _mm_set1_epi16(0xff));
    _mm_storel_epi64((__m128i *)(void *)out, _mm_packus_epi16(b, b));
    return true;
}
#endif

jk_err jk_rpc_hex_decode(const char *hex, size_t len, uint8_t *out, size_t cap, size_t *out_len,
                         jk_diag *diag)
{
    if (len % 2)
        return jk_diag_set(diag, JK_ERR_PARSE, "odd number of hex digits (%zu)", len);
    if (len / 2 > cap)
        return jk_diag_set(diag, JK_ERR_PARSE, "%zu bytes of hex, at most %zu allowed", len / 2, cap);
    size_t i = 0;
#ifdef __SSE2__
    /* sixteen digits at a time while they are all hex (session 13): ~15
     * instructions for the sixteen where the SWAR word below takes ~35 for
     * eight; what is left, or a run with a non-digit, goes on below */
    while (len - i >= 16 && jk_hex_16(hex + i, out + i / 2))
        i += 16;
#endif
    /* eight digits at a time while they are all hex; the first word that
     * is not (or the tail) goes one digit at a time below, which finds the
     * offset the refusal names */
    while (len - i >= 8) {
        uint64_t x;
        memcpy(&x, hex + i, 8); /* one load (jk_get_u64le assembles eight) */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        x = __builtin_bswap64(x);
#endif
        if (!jk_hex_word(x, out + i / 2))
            break;
        i += 8;
    }
    /* a digit's value + 1, 0 for any other byte */
    static const uint8_t val[256] = {
        ['0'] = 1,  ['1'] = 2,  ['2'] = 3,  ['3'] = 4,  ['4'] = 5,  ['5'] = 6,  ['6'] = 7,  ['7'] = 8,
        ['8'] = 9,  ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
        ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
    };
    for (; i < len; i += 2) {
        unsigned hi = val[(uint8_t)hex[i]], lo = val[(uint8_t)hex[i + 1]];
        if (!hi || !lo)
            return jk_diag_set(diag, JK_ERR_PARSE, "not a hex digit at offset %zu", !hi ? i : i + 1);
        out[i / 2] = (uint8_t)((hi - 1) << 4 | (lo - 1));
    }
    *out_len = len / 2;
    return JK_OK;
}

void jk_rpc_hex_encode(const uint8_t *bytes, size_t len, char *out)
{
    /* each byte's two digits, one copy a byte: the answers' hex is a block
     * at a time (~250 KB at a height of 1,000 transfers) */
    static const char pairs[513] =
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
        "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
        "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
        "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
        "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
        "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
        "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
        "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";
    for (size_t i = 0; i < len; i++)
        memcpy(out + 2 * i, pairs + 2 * bytes[i], 2);
    out[2 * len] = '\0';
}

/* ---- refusals ---- */

/* Record a refusal: the code and a one-line reason, into a request
 * (JK_REFUSE, which gives false so checks can `return JK_REFUSE(...)`) or
 * into the whole body (JK_BODY_REFUSE, which gives JK_OK: a refusal is an
 * answer, not a failure). */
static void jk_refusal(int *code_slot, char msg[192], int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void jk_refusal(int *code_slot, char msg[192], int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, 192, fmt, ap);
    va_end(ap);
    *code_slot = code;
}
#define JK_REFUSE(r, code, ...) (jk_refusal(&(r)->error_code, (r)->error_msg, (code), __VA_ARGS__), false)
#define JK_BODY_REFUSE(p, code, ...) (jk_refusal(&(p)->error_code, (p)->error_msg, (code), __VA_ARGS__), JK_OK)

/* ---- JSON values ---- */

/* An unsigned integer in [0, max]. json-c keeps integers beyond int64 as
 * uint64 but clamps anything larger to UINT64_MAX (and below INT64_MIN to
 * INT64_MIN), so those two values cannot be told from an overflow and are
 * refused; a fraction or exponent makes a double, refused too. */
static bool jk_json_u64(json_object *v, uint64_t max, uint64_t *out)
{
    if (!json_object_is_type(v, json_type_int))
        return false;
    if (json_object_get_int64(v) < 0)
        return false;
    uint64_t u = json_object_get_uint64(v);
    if (u > max || u == UINT64_MAX)
        return false;
    *out = u;
    return true;
}

/* A hex string decoding to exactly `want` bytes (want > 0), or to at most
 * cap bytes into a fresh buffer (want == 0: *heap receives it). */
static bool jk_json_hex(jk_rpc_request *r, const char *what, json_object *v, uint8_t *fixed, size_t want,
                        size_t cap, uint8_t **heap, size_t *out_len)
{
    if (!json_object_is_type(v, json_type_string))
        return JK_REFUSE(r, JK_RPC_INVALID_PARAMS, "%s: expected a hex string", what);
    const char *s = json_object_get_string(v);
    size_t len = (size_t)json_object_get_string_len(v);
    jk_diag diag = {{0}};
    if (want) {
        size_t n;
        if (len != 2 * want)
            return JK_REFUSE(r, JK_RPC_INVALID_PARAMS, "%s: expected %zu hex digits, got %zu", what, 2 * want, len);
        if (jk_rpc_hex_decode(s, len, fixed, want, &n, &diag) != JK_OK)
            return JK_REFUSE(r, JK_RPC_INVALID_PARAMS, "%s: %s", what, diag.msg);
        return true;
    }
    if (len / 2 > cap)
        return JK_REFUSE(r, JK_RPC_INVALID_PARAMS, "%s: %zu bytes, at most %zu allowed", what, len / 2, cap);
    uint8_t *buf = malloc(len / 2 ? len / 2 : 1);
    if (!buf)
        return JK_REFUSE(r, JK_RPC_INTERNAL_ERROR, "out of memory");
    if (jk_rpc_hex_decode(s, len, buf, cap, out_len, &diag) != JK_OK) {
        free(buf);
        return JK_REFUSE(r, JK_RPC_INVALID_PARAMS, "%s: %s", what, diag.msg);
    }
    *heap = buf;
    return true;
}

/* ---- params ---- */

/* A method's parameters, by position (array) or by name (object). names
 * lists them in positional order; any other name, or more positions, is
 * refused, so that a misspelt parameter is an error, not a silent default. */
typedef struct jk_params {
    json_object *obj;   /* NULL when absent */
    const char *const *names;
    size_t count;
} jk_params;

static bool jk_params_check(jk_rpc_request *r, jk_params *p)
{
    if (!p->obj)
        return true;
    if (json_object_is_type(p->obj, json_type_array)) {
        size_t n = json_object_array_length(p->obj);
        if (n > p->count)
            return JK_REFUSE(r, JK_RPC_INVALID_PARAMS, "%zu positional params, at most %zu", n, p->count);
        return true;
    }
    if (!json_object_is_type(p->obj, json_type_object))
        return JK_REFUSE(r, JK_RPC_INVALID_REQUEST, "params must be an array or an object");
    json_object_object_foreach(p->obj, key, val) {
        (void)val;
        bool known = false;
        for (size_t i = 0; i < p->count && !known; i++)
            known = !strcmp(key, p->names[i]);
        if (!known)
            return JK_REFUSE(r, JK_RPC_INVALID_PARAMS, "unknown param '%.64s'", key);
    }
    return true;
}

static json_object *jk_param(const jk_params *p, size_t index)
{
    if (!p->obj)
        return NULL;
    if (json_object_is_type(p->obj, json_type_array))
        return index < json_object_array_length(p->obj) ? json_object_array_get_idx(p->obj, index) : NULL;
    json_object *v = NULL;
    return json_object_object_get_ex(p->obj, p->names[index], &v) ? v : NULL;
}

/* endpoint: "transact" or "dispatch:K" with K decimal, 0 .. 255, no sign,
 * no leading zeros (one spelling per endpoint). */
static bool jk_parse_endpoint(jk_rpc_request *r, json_object *v, jk_chain_endpoint *out)
{
    if (!v || !json_object_is_type(v, json_type_string))
        return JK_REFUSE(r, JK_RPC_INVALID_PARAMS, "endpoint: expected \"transact\" or \"dispatch:K\"");
    const char *s = json_object_get_string(v);
    size_t len = (size_t)json_object_get_string_len(v);
    if (len == 8 && !memcmp(s, "transact", 8)) {
        *out = JK_CHAIN_ENDPOINT_TRANSACT;
        return true;
    }
    if (len > 9 && len <= 12 && !memcmp(s, "dispatch:", 9)) {
        uint32_t k = 0;
        size_t i = 9;
        for (; i < len && s[i] >= '0' && s[i] <= '9'; i++)
            k = k * 10 + (uint32_t)(s[i] - '0');
        if (i == len && !(s[9] == '0' && len > 10) && k < JK_CHAIN_MAX_DISPATCH) {
            *out = jk_chain_endpoint_dispatch(k);
            return true;
        }
    }
    return JK_REFUSE(r, JK_RPC_INVALID_PARAMS, "endpoint: expected \"transact\" or \"dispatch:K\" (K 0..%u)",
                     JK_CHAIN_MAX_DISPATCH - 1);
}

static bool jk_parse_trace(jk_rpc_request *r, size_t i, json_object *v, jk_chain_trace *t)
{
    char what[48];
    if (!json_object_is_type(v, json_type_array) || json_object_array_length(v) != 3)
        return JK_REFUSE(r, JK_RPC_INVALID_PARAMS, "traces[%zu]: expected [key, msg_hash, sig]", i);
    snprintf(what, sizeof what, "traces[%zu].key", i);
    if (!jk_json_hex(r, what, json_object_array_get_idx(v, 0), t->key, sizeof t->key, 0, NULL, NULL))
        return false;
    snprintf(what, sizeof what, "traces[%zu].msg_hash", i);
    if (!jk_json_hex(r, what, json_object_array_get_idx(v, 1), t->msg_hash.bytes, sizeof t->msg_hash.bytes, 0,
                     NULL, NULL))
        return false;
    snprintf(what, sizeof what, "traces[%zu].sig", i);
    return jk_json_hex(r, what, json_object_array_get_idx(v, 2), t->sig, sizeof t->sig, 0, NULL, NULL);
}

static bool jk_parse_submit(jk_rpc_request *r, json_object *params)
{
    static const char *const names[] = {"endpoint", "blob", "traces"};
    jk_params p = {params, names, 3};
    jk_rpc_event *ev = &r->params.submit;
    if (!jk_params_check(r, &p) || !jk_parse_endpoint(r, jk_param(&p, 0), &ev->endpoint))
        return false;
    json_object *blob = jk_param(&p, 1);
    if (!blob)
        return JK_REFUSE(r, JK_RPC_INVALID_PARAMS, "blob: missing");
    if (!jk_json_hex(r, "blob", blob, NULL, 0, JK_CHAIN_MAX_BLOB, &ev->blob, &ev->blob_len))
        return false;
    json_object *traces = jk_param(&p, 2);
    if (!traces)
        return true;
    if (!json_object_is_type(traces, json_type_array))
        return JK_REFUSE(r, JK_RPC_INVALID_PARAMS, "traces: expected an array");
    size_t n = json_object_array_length(traces);
    if (n > JK_RPC_MAX_TRACES)
        return JK_REFUSE(r, JK_RPC_INVALID_PARAMS, "traces: %zu, at most %u", n, JK_RPC_MAX_TRACES);
    if (n == 0)
        return true;
    ev->traces = calloc(n, sizeof *ev->traces);
    if (!ev->traces)
        return JK_REFUSE(r, JK_RPC_INTERNAL_ERROR, "out of memory");
    for (size_t i = 0; i < n; i++)
        if (!jk_parse_trace(r, i, json_object_array_get_idx(traces, i), &ev->traces[i]))
            return false;
    ev->trace_count = n;
    return true;
}

static bool jk_parse_block(jk_rpc_request *r, json_object *params)
{
    static const char *const names[] = {"height", "hash"};
    jk_params p = {params, names, 2};
    jk_rpc_block_query *q = &r->params.block;
    if (!jk_params_check(r, &p))
        return false;
    json_object *height = jk_param(&p, 0), *hash = jk_param(&p, 1);
    /* Positionally the one parameter is a height (a number) or a hash (a string). */
    if (json_object_is_type(params, json_type_array)) {
        if (json_object_array_length(params) != 1)
            return JK_REFUSE(r, JK_RPC_INVALID_PARAMS, "expected [height] or [hash]");
        if (json_object_is_type(height, json_type_string))
            hash = height, height = NULL;
        else
            hash = NULL;
    }
    if (!height == !hash)
        return JK_REFUSE(r, JK_RPC_INVALID_PARAMS, "expected exactly one of height, hash");
    if (hash) {
        q->by_hash = true;
        return jk_json_hex(r, "hash", hash, q->hash.bytes, sizeof q->hash.bytes, 0, NULL, NULL);
    }
    if (!jk_json_u64(height, UINT64_MAX, &q->height))
        return JK_REFUSE(r, JK_RPC_INVALID_PARAMS, "height: expected an unsigned integer");
    return true;
}

static bool jk_parse_state_slot(jk_rpc_request *r, json_object *params)
{
    static const char *const names[] = {"path"};
    jk_params p = {params, names, 1};
    if (!jk_params_check(r, &p))
        return false;
    json_object *path = jk_param(&p, 0);
    if (!path || !json_object_is_type(path, json_type_array))
        return JK_REFUSE(r, JK_RPC_INVALID_PARAMS, "path: expected an array of slot indexes");
    size_t n = json_object_array_length(path);
    if (n == 0 || n > JK_RPC_MAX_PATH)
        return JK_REFUSE(r, JK_RPC_INVALID_PARAMS, "path: %zu slots, expected 1..%u", n, JK_RPC_MAX_PATH);
    for (size_t i = 0; i < n; i++) {
        uint64_t slot;
        /* a CNode has at most 2^16 slots (architecture §2) */
        if (!jk_json_u64(json_object_array_get_idx(path, i), 65535, &slot))
            return JK_REFUSE(r, JK_RPC_INVALID_PARAMS, "path[%zu]: expected an integer 0..65535", i);
        r->params.slot.path[i] = (uint32_t)slot;
    }
    r->params.slot.depth = n;
    return true;
}

static bool jk_parse_pool(jk_rpc_request *r, json_object *params)
{
    static const char *const names[] = {"limit", "offset"};
    jk_params p = {params, names, 2};
    if (!jk_params_check(r, &p))
        return false;
    json_object *limit = jk_param(&p, 0), *offset = jk_param(&p, 1);
    uint64_t l = JK_RPC_DEFAULT_POOL, o = 0;
    if (limit && (!jk_json_u64(limit, JK_RPC_MAX_POOL, &l) || l == 0))
        return JK_REFUSE(r, JK_RPC_INVALID_PARAMS, "limit: expected an integer 1..%u", JK_RPC_MAX_POOL);
    if (offset && !jk_json_u64(offset, UINT32_MAX, &o))
        return JK_REFUSE(r, JK_RPC_INVALID_PARAMS, "offset: expected an integer 0..%u", UINT32_MAX);
    r->params.pool.limit = (uint32_t)l;
    r->params.pool.offset = (uint32_t)o;
    return true;
}

static bool jk_parse_no_params(jk_rpc_request *r, json_object *params)
{
    jk_params p = {params, NULL, 0};
    return jk_params_check(r, &p);
}

/* ---- the envelope ---- */

static bool jk_parse_id(jk_rpc_request *r, json_object *req)
{
    json_object *id;
    if (!json_object_object_get_ex(req, "id", &id)) {
        r->id.kind = JK_RPC_ID_ABSENT;
        return true;
    }
    r->id.kind = JK_RPC_ID_NULL;   /* what an invalid id is answered with */
    if (!id)
        return true;               /* "id": null */
    if (json_object_is_type(id, json_type_int)) {
        int64_t n = json_object_get_int64(id);
        /* json-c keeps integers above INT64_MAX as uint64 (get_int64 clamps
         * them) and clamps those below INT64_MIN: both ends are refused */
        if ((n == INT64_MAX && json_object_get_uint64(id) != (uint64_t)INT64_MAX) || n == INT64_MIN)
            return JK_REFUSE(r, JK_RPC_INVALID_REQUEST, "id: integer out of the int64 range");
        r->id.kind = JK_RPC_ID_INT;
        r->id.num = n;
        return true;
    }
    if (json_object_is_type(id, json_type_string)) {
        size_t len = (size_t)json_object_get_string_len(id);
        if (len > JK_RPC_MAX_ID)
            return JK_REFUSE(r, JK_RPC_INVALID_REQUEST, "id: %zu bytes, at most %u", len, JK_RPC_MAX_ID);
        r->id.str = malloc(len + 1);
        if (!r->id.str)
            return JK_REFUSE(r, JK_RPC_INTERNAL_ERROR, "out of memory");
        memcpy(r->id.str, json_object_get_string(id), len);
        r->id.str[len] = '\0';
        r->id.str_len = len;
        r->id.kind = JK_RPC_ID_STRING;
        return true;
    }
    return JK_REFUSE(r, JK_RPC_INVALID_REQUEST, "id: expected a string, an integer or null");
}

static void jk_parse_one(jk_rpc_request *r, json_object *req)
{
    if (!json_object_is_type(req, json_type_object)) {
        r->id.kind = JK_RPC_ID_NULL;
        (void)JK_REFUSE(r, JK_RPC_INVALID_REQUEST, "a request must be an object");
        return;
    }
    if (!jk_parse_id(r, req))
        return;
    json_object *version, *method, *params = NULL;
    json_object_object_foreach(req, key, val) {
        (void)val;
        if (strcmp(key, "jsonrpc") && strcmp(key, "method") && strcmp(key, "params") && strcmp(key, "id")) {
            (void)JK_REFUSE(r, JK_RPC_INVALID_REQUEST, "unknown member '%.64s'", key);
            goto invalid;
        }
    }
    if (!json_object_object_get_ex(req, "jsonrpc", &version) || !json_object_is_type(version, json_type_string) ||
        json_object_get_string_len(version) != 3 || memcmp(json_object_get_string(version), "2.0", 3)) {
        (void)JK_REFUSE(r, JK_RPC_INVALID_REQUEST, "\"jsonrpc\" must be \"2.0\"");
        goto invalid;
    }
    if (!json_object_object_get_ex(req, "method", &method) || !json_object_is_type(method, json_type_string)) {
        (void)JK_REFUSE(r, JK_RPC_INVALID_REQUEST, "\"method\" must be a string");
        goto invalid;
    }
    if (json_object_object_get_ex(req, "params", &params) && !json_object_is_type(params, json_type_array) &&
        !json_object_is_type(params, json_type_object)) {
        (void)JK_REFUSE(r, JK_RPC_INVALID_REQUEST, "\"params\" must be an array or an object");
        goto invalid;
    }
    const char *name = json_object_get_string(method);
    size_t name_len = (size_t)json_object_get_string_len(method);
    for (size_t i = 0; i < sizeof jk_rpc_methods / sizeof jk_rpc_methods[0]; i++)
        if (strlen(jk_rpc_methods[i].name) == name_len && !memcmp(jk_rpc_methods[i].name, name, name_len))
            r->method = jk_rpc_methods[i].method;
    switch (r->method) {
    case JK_RPC_M_SUBMIT_EVENT: jk_parse_submit(r, params); break;
    case JK_RPC_M_BLOCK: jk_parse_block(r, params); break;
    case JK_RPC_M_STATE_SLOT: jk_parse_state_slot(r, params); break;
    case JK_RPC_M_POOL: jk_parse_pool(r, params); break;
    case JK_RPC_M_STATUS: jk_parse_no_params(r, params); break;
    case JK_RPC_M_NONE:
        (void)JK_REFUSE(r, JK_RPC_METHOD_NOT_FOUND, "no method '%.64s'", name);
        break;
    }
    if (r->error_code) {
        /* of the union's arms only submit owns memory; a refusal drops it */
        if (r->method == JK_RPC_M_SUBMIT_EVENT) {
            free(r->params.submit.blob);
            free(r->params.submit.traces);
        }
        memset(&r->params, 0, sizeof r->params);
        r->method = JK_RPC_M_NONE;
    }
    return;
invalid:
    /* not a well-formed request, so not a notification either: answered with id null */
    if (r->id.kind == JK_RPC_ID_ABSENT)
        r->id.kind = JK_RPC_ID_NULL;
}

static void jk_request_free(jk_rpc_request *r)
{
    free(r->id.str);
    if (r->method == JK_RPC_M_SUBMIT_EVENT) {
        free(r->params.submit.blob);
        free(r->params.submit.traces);
    }
}

void jk_rpc_parsed_free(jk_rpc_parsed *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->count; i++)
        jk_request_free(&p->requests[i]);
    free(p->requests);
    memset(p, 0, sizeof *p);
}

static bool jk_is_space(uint8_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* The whole body through the fast path when it takes it (request_fast.c:
 * the bulk submit_event shape, the same result), else through json-c. */
jk_err jk_rpc_parse(const uint8_t *body, size_t len, jk_rpc_parsed *out)
{
    if (jk_rpc_parse_fast(body, len, out))
        return JK_OK;
    return jk_rpc_parse_json(body, len, out);
}

jk_err jk_rpc_parse_json(const uint8_t *body, size_t len, jk_rpc_parsed *out)
{
    memset(out, 0, sizeof *out);
    if (len > (size_t)INT32_MAX)
        return JK_BODY_REFUSE(out, JK_RPC_PARSE_ERROR, "body of %zu bytes", len);
    size_t start = 0;
    while (start < len && jk_is_space(body[start]))
        start++;
    if (start == len)
        return JK_BODY_REFUSE(out, JK_RPC_PARSE_ERROR, "empty body");
    /* json-c's UTF-8 check lets overlong forms and surrogates through */
    size_t bad_utf8 = 0;
    if (!jk_utf8_check(body, len, &bad_utf8))
        return JK_BODY_REFUSE(out, JK_RPC_PARSE_ERROR, "invalid utf-8 at byte %zu", bad_utf8);
    json_tokener *tok = json_tokener_new_ex(JK_RPC_MAX_DEPTH);
    if (!tok)
        return JK_ERR_NOMEM;
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    json_object *root = json_tokener_parse_ex(tok, (const char *)body + start, (int)(len - start));
    enum json_tokener_error terr = json_tokener_get_error(tok);
    size_t end = start + json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    if (terr != json_tokener_success && body[start] != '{' && body[start] != '[') {
        /* Strict mode takes only an object or an array at the top: tell a
         * valid JSON scalar (an invalid request) from garbage (a parse error). */
        json_object_put(root);
        tok = json_tokener_new_ex(JK_RPC_MAX_DEPTH);
        if (!tok)
            return JK_ERR_NOMEM;
        /* a copy with a space after it: json-c cannot end a number at the end of input */
        char *copy = malloc(len - start + 1);
        if (!copy) {
            json_tokener_free(tok);
            return JK_ERR_NOMEM;
        }
        memcpy(copy, body + start, len - start);
        copy[len - start] = ' ';
        json_tokener_set_flags(tok, JSON_TOKENER_VALIDATE_UTF8);
        root = json_tokener_parse_ex(tok, copy, (int)(len - start + 1));
        terr = json_tokener_get_error(tok);
        end = start + json_tokener_get_parse_end(tok);
        json_tokener_free(tok);
        free(copy);
        while (end < len && jk_is_space(body[end]))
            end++;
        json_object_put(root);
        if (terr == json_tokener_success && end >= len)
            return JK_BODY_REFUSE(out, JK_RPC_INVALID_REQUEST, "the body must be a request object or a batch array");
        return JK_BODY_REFUSE(out, JK_RPC_PARSE_ERROR, "not JSON");
    }
    if (terr != json_tokener_success) {
        json_object_put(root);
        if (terr == json_tokener_continue)
            return JK_BODY_REFUSE(out, JK_RPC_PARSE_ERROR, "truncated JSON");
        return JK_BODY_REFUSE(out, JK_RPC_PARSE_ERROR, "%s at byte %zu", json_tokener_error_desc(terr), end);
    }
    while (end < len && jk_is_space(body[end]))
        end++;
    if (end != len) {
        json_object_put(root);
        return JK_BODY_REFUSE(out, JK_RPC_PARSE_ERROR, "trailing bytes after the JSON value at byte %zu", end);
    }
    /* a key given twice (json-c keeps the last: a request would be answered
     * for a method or params the sender's own reading may not see): valid
     * JSON, not a valid request (src/base/json.c). Clamped numbers are
     * refused per field below (jk_json_u64), with that request's code. */
    jk_diag jd;
    jk_err jc = jk_json_check((const char *)body + start, len - start, false, &jd);
    if (jc != JK_OK) {
        json_object_put(root);
        return jc == JK_ERR_NOMEM ? jc : JK_BODY_REFUSE(out, JK_RPC_INVALID_REQUEST, "%s", jd.msg);
    }
    jk_err err = JK_OK;
    if (json_object_is_type(root, json_type_array)) {
        size_t n = json_object_array_length(root);
        out->batch = true;
        if (n == 0) {
            (void)JK_BODY_REFUSE(out, JK_RPC_INVALID_REQUEST, "empty batch");
            goto done;
        }
        if (n > JK_RPC_MAX_BATCH) {
            (void)JK_BODY_REFUSE(out, JK_RPC_INVALID_REQUEST, "batch of %zu requests, at most %u", n, JK_RPC_MAX_BATCH);
            goto done;
        }
        out->requests = calloc(n, sizeof *out->requests);
        if (!out->requests) {
            err = JK_ERR_NOMEM;
            goto done;
        }
        out->count = n;
        for (size_t i = 0; i < n; i++)
            jk_parse_one(&out->requests[i], json_object_array_get_idx(root, i));
    } else if (json_object_is_type(root, json_type_object)) {
        out->requests = calloc(1, sizeof *out->requests);
        if (!out->requests) {
            err = JK_ERR_NOMEM;
            goto done;
        }
        out->count = 1;
        jk_parse_one(&out->requests[0], root);
    } else {
        (void)JK_BODY_REFUSE(out, JK_RPC_INVALID_REQUEST, "the body must be a request object or a batch array");
    }
done:
    json_object_put(root);
    if (err != JK_OK)
        jk_rpc_parsed_free(out);
    return err;
}
