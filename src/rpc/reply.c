/*
 * reply.c — the client's decoders of what a server sends back: an HTTP/1.x
 * reply (status line, headers, a Content-Length body) and the JSON-RPC
 * response in it. Pure functions over untrusted bytes: every length is
 * bounded by the input, nothing is assumed NUL-terminated, and a refusal
 * says what was wrong. Fuzzed by tests/fuzz/fuzz_rpc_reply.c.
 */
#include "internal.h"

#include <json-c/json.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int jk_lower(int c) { return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c; }

/* Does the header line [p, p + n) carry the field `name` (lowercase)? Then
 * *value is what follows the colon. */
static bool jk_header_is(const uint8_t *p, size_t n, const char *name, const uint8_t **value, size_t *value_len)
{
    size_t k = strlen(name);
    if (n <= k || p[k] != ':')
        return false;
    for (size_t i = 0; i < k; i++)
        if (jk_lower(p[i]) != name[i])
            return false;
    *value = p + k + 1;
    *value_len = n - k - 1;
    return true;
}

jk_err jk_rpc_http_split(const uint8_t *raw, size_t len, int *status, size_t *body_off, size_t *body_len,
                         jk_diag *diag)
{
    size_t end = 0;
    while (end + 3 < len && memcmp(raw + end, "\r\n\r\n", 4))
        end++;
    if (end + 3 >= len)
        return jk_diag_set(diag, JK_ERR_RPC_HTTP, "no complete HTTP header in %zu bytes", len);
    /* "HTTP/1.x NNN" then a space or the end of the line */
    if (end < 12 || memcmp(raw, "HTTP/1.", 7) || (raw[7] != '0' && raw[7] != '1') || raw[8] != ' ' ||
        raw[9] < '1' || raw[9] > '5' || raw[10] < '0' || raw[10] > '9' || raw[11] < '0' || raw[11] > '9' ||
        (raw[12] != ' ' && raw[12] != '\r'))
        return jk_diag_set(diag, JK_ERR_RPC_HTTP, "not an HTTP/1.x status line");
    int code = (raw[9] - '0') * 100 + (raw[10] - '0') * 10 + (raw[11] - '0');
    size_t off = end + 4, have = len - off, want = have;
    bool seen_length = false;
    /* header lines: from after the status line's CRLF up to `end` */
    size_t line = 0;
    while (line < end && !(raw[line] == '\r' && raw[line + 1] == '\n'))
        line++;
    line += 2;
    while (line < end + 2) {
        size_t stop = line;
        while (stop < end && !(raw[stop] == '\r' && raw[stop + 1] == '\n'))
            stop++;
        const uint8_t *v;
        size_t vn;
        if (jk_header_is(raw + line, stop - line, "transfer-encoding", &v, &vn))
            return jk_diag_set(diag, JK_ERR_RPC_HTTP, "chunked replies are not supported");
        if (jk_header_is(raw + line, stop - line, "content-length", &v, &vn)) {
            if (seen_length)
                return jk_diag_set(diag, JK_ERR_RPC_HTTP, "two Content-Length headers");
            seen_length = true;
            size_t i = 0, digits = 0;
            uint64_t n = 0;
            while (i < vn && (v[i] == ' ' || v[i] == '\t'))
                i++;
            for (; i < vn && v[i] >= '0' && v[i] <= '9' && digits < 19; i++, digits++)
                n = n * 10 + (uint64_t)(v[i] - '0');
            while (i < vn && (v[i] == ' ' || v[i] == '\t'))
                i++;
            if (!digits || i != vn)
                return jk_diag_set(diag, JK_ERR_RPC_HTTP, "malformed Content-Length");
            if (n > have)
                return jk_diag_set(diag, JK_ERR_RPC_HTTP, "reply shorter than its Content-Length (%zu of %llu)",
                                   have, (unsigned long long)n);
            want = (size_t)n;
        }
        line = stop + 2;
    }
    *status = code;
    *body_off = off;
    *body_len = want;
    return JK_OK;
}

/* One JSON value exactly, strictly (as the server is held to). */
static json_object *jk_json_exact(const uint8_t *p, size_t n)
{
    if (n > (size_t)INT32_MAX)
        return NULL;
    json_tokener *tok = json_tokener_new_ex(64);
    if (!tok)
        return NULL;
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    json_object *o = json_tokener_parse_ex(tok, (const char *)p, (int)n);
    bool ok = json_tokener_get_error(tok) == json_tokener_success;
    size_t end = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    while (ok && end < n && (p[end] == ' ' || p[end] == '\t' || p[end] == '\r' || p[end] == '\n'))
        end++;
    if (!ok || end != n) {
        json_object_put(o);
        return NULL;
    }
    return o;
}

static char *jk_json_text(json_object *o)
{
    const char *t = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    return t ? strdup(t) : NULL;
}

/* One JSON-RPC response object (resp, not owned) to the request with
 * integer id `id`, in an HTTP reply of `status`: the result's or the error
 * object's text in *result_json (see jk_rpc_reply_decode). */
static jk_err jk_response_take(json_object *resp, int status, int64_t id, char **result_json, jk_diag *diag)
{
    jk_err err = JK_OK;
    json_object *version, *jid, *result = NULL, *error = NULL;
    if (!resp || !json_object_is_type(resp, json_type_object) || !json_object_object_get_ex(resp, "jsonrpc", &version) ||
        !json_object_is_type(version, json_type_string) || strcmp(json_object_get_string(version), "2.0") ||
        !json_object_object_get_ex(resp, "id", &jid)) {
        err = jk_diag_set(diag, JK_ERR_RPC_HTTP, "HTTP %d without a JSON-RPC response", status);
        goto out;
    }
    bool has_result = json_object_object_get_ex(resp, "result", &result);
    bool has_error = json_object_object_get_ex(resp, "error", &error);
    bool our_id = jid && json_object_is_type(jid, json_type_int) && json_object_get_int64(jid) == id;
    if (has_result == has_error) {
        err = jk_diag_set(diag, JK_ERR_RPC_HTTP, "a response needs exactly one of result, error");
        goto out;
    }
    if (has_error) {
        json_object *code, *msg, *data = NULL;
        if (!json_object_is_type(error, json_type_object) || !json_object_object_get_ex(error, "code", &code) ||
            !json_object_is_type(code, json_type_int) || !json_object_object_get_ex(error, "message", &msg) ||
            !json_object_is_type(msg, json_type_string) || (jid && !our_id)) {
            err = jk_diag_set(diag, JK_ERR_RPC_HTTP, "a malformed error object (HTTP %d)", status);
            goto out;
        }
        json_object_object_get_ex(error, "data", &data);
        const char *data_text = !data ? "" : json_object_is_type(data, json_type_string) ? json_object_get_string(data)
                                                                                       : json_object_to_json_string(data);
        err = jk_diag_set(diag, JK_ERR_RPC_REMOTE, "%lld %.60s%s%.100s", (long long)json_object_get_int64(code),
                          json_object_get_string(msg), data ? ": " : "", data_text ? data_text : "");
        *result_json = jk_json_text(error);
        if (!*result_json)
            err = JK_ERR_NOMEM;
        goto out;
    }
    if (status != 200 || !our_id) {
        err = jk_diag_set(diag, JK_ERR_RPC_HTTP, status != 200 ? "a result with HTTP %d" : "a result for another id (HTTP %d)",
                          status);
        goto out;
    }
    *result_json = jk_json_text(result);   /* a JSON null result (a NULL child) is the text "null" */
    if (!*result_json)
        err = JK_ERR_NOMEM;
out:
    return err;
}

jk_err jk_rpc_reply_decode(const uint8_t *raw, size_t len, int64_t id, char **result_json, jk_diag *diag)
{
    *result_json = NULL;
    int status;
    size_t off, blen;
    jk_err err = jk_rpc_http_split(raw, len, &status, &off, &blen, diag);
    if (err != JK_OK)
        return err;
    json_object *resp = blen ? jk_json_exact(raw + off, blen) : NULL;
    err = jk_response_take(resp, status, id, result_json, diag);
    json_object_put(resp);
    return err;
}

jk_err jk_rpc_batch_reply_decode(const uint8_t *raw, size_t len, size_t n, char **results, jk_err *errs,
                                 jk_diag *diag)
{
    for (size_t i = 0; i < n; i++) {
        results[i] = NULL;
        errs[i] = JK_ERR_RPC_HTTP;
    }
    int status;
    size_t off, blen;
    jk_err err = jk_rpc_http_split(raw, len, &status, &off, &blen, diag);
    if (err != JK_OK)
        return err;
    json_object *body = blen ? jk_json_exact(raw + off, blen) : NULL;
    if (body && json_object_is_type(body, json_type_object)) {
        /* the whole batch refused (a parse error, an oversize batch): one
         * error object, with a null id; a result here is malformed */
        char *text = NULL;
        err = jk_response_take(body, status, -1, &text, diag);
        if (err == JK_ERR_RPC_REMOTE)
            free(text);
        else if (err != JK_ERR_NOMEM) {
            free(text);
            err = jk_diag_set(diag, JK_ERR_RPC_HTTP, "a batch answered with one response that is not an error");
        }
        json_object_put(body);
        return err;
    }
    if (!body || !json_object_is_type(body, json_type_array) || json_object_array_length(body) != n) {
        json_object_put(body);
        return jk_diag_set(diag, JK_ERR_RPC_HTTP, "HTTP %d without a batch of %zu JSON-RPC responses", status, n);
    }
    /* Responses may come in any order (JSON-RPC 2.0 §6): each names its
     * call by id, 1..n, once. */
    for (size_t k = 0; k < n && err == JK_OK; k++) {
        json_object *resp = json_object_array_get_idx(body, k), *jid;
        int64_t id = 0;
        if (resp && json_object_is_type(resp, json_type_object) && json_object_object_get_ex(resp, "id", &jid) &&
            json_object_is_type(jid, json_type_int))
            id = json_object_get_int64(jid);
        if (id < 1 || (uint64_t)id > n || results[id - 1] || errs[id - 1] != JK_ERR_RPC_HTTP) {
            err = jk_diag_set(diag, JK_ERR_RPC_HTTP, "response %zu of the batch: no id of a call, or one seen twice", k);
            break;
        }
        jk_diag one = {{0}};
        jk_err e = jk_response_take(resp, status, id, &results[id - 1], &one);
        if (e == JK_OK || e == JK_ERR_RPC_REMOTE)
            errs[id - 1] = e;
        else
            err = jk_diag_set(diag, e, "response %zu of the batch: %s", k, one.msg);
    }
    json_object_put(body);
    if (err != JK_OK)
        for (size_t i = 0; i < n; i++) {
            free(results[i]);
            results[i] = NULL;
            errs[i] = JK_ERR_RPC_HTTP;
        }
    return err;
}
