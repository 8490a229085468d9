/*
 * client.c — a minimal HTTP/1.1 client for jark's RPC server: one request
 * per TCP connection (Connection: close), the reply read to EOF and bounded
 * by JK_RPC_MAX_REPLY, then judged by the pure decoders of reply.c.
 * Blocking, with 30-second socket timeouts so a stuck server cannot hang the
 * command line forever.
 */
#include "internal.h"

#include <json-c/json.h>

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

jk_err jk_rpc_addr_parse(const char *addr, char *host, size_t cap, uint16_t *port, jk_diag *diag)
{
    const char *colon = strrchr(addr, ':');
    if (!colon || colon == addr)
        return jk_diag_set(diag, JK_ERR_PARSE, "'%.64s': expected HOST:PORT", addr);
    size_t hlen = (size_t)(colon - addr);
    if (hlen >= cap)
        return jk_diag_set(diag, JK_ERR_PARSE, "'%.64s': host too long", addr);
    const char *p = colon + 1;
    unsigned long v = 0;
    size_t digits = 0;
    for (; *p >= '0' && *p <= '9' && digits < 6; p++, digits++)
        v = v * 10 + (unsigned long)(*p - '0');
    if (!digits || *p || v > 65535)
        return jk_diag_set(diag, JK_ERR_PARSE, "'%.64s': port must be 0..65535", addr);
    memcpy(host, addr, hlen);
    host[hlen] = '\0';
    *port = (uint16_t)v;
    return JK_OK;
}

static jk_err jk_send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return JK_ERR_IO;
        p += w;
        n -= (size_t)w;
    }
    return JK_OK;
}

/* Send one request and read the whole reply (to EOF, bounded), raw. */
static jk_err jk_rpc_exchange(const char *host, uint16_t port, const char *http_method, const char *path,
                              const char *body, size_t body_len, char **raw_out, size_t *raw_len, jk_diag *diag)
{
    struct sockaddr_in addr;
    jk_err err = jk_rpc_resolve(host, port, &addr, diag);
    if (err != JK_OK)
        return err;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return jk_diag_set(diag, JK_ERR_IO, "socket: %s", strerror(errno));
    struct timeval tv = {30, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    char *raw = NULL;
    size_t len = 0, cap = 0;
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        err = jk_diag_set(diag, JK_ERR_IO, "connect to %s:%u: %s", host ? host : "127.0.0.1", (unsigned)port,
                          strerror(errno));
        goto out;
    }
    char head[512];
    int hn = snprintf(head, sizeof head,
                      "%s %s HTTP/1.1\r\nHost: %s:%u\r\nContent-Type: application/json\r\n"
                      "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                      http_method, path, host ? host : "127.0.0.1", (unsigned)port, body_len);
    if (hn < 0 || (size_t)hn >= sizeof head) {
        err = jk_diag_set(diag, JK_ERR_INVALID_ARG, "request line too long");
        goto out;
    }
    /* A server that refuses the body (413) may close before reading it all:
     * a failed send is not the end, its answer may still be waiting. */
    bool sent = jk_send_all(fd, head, (size_t)hn) == JK_OK && (!body_len || jk_send_all(fd, body, body_len) == JK_OK);
    for (;;) {
        if (len + 1 >= cap) {
            if (cap > JK_RPC_MAX_REPLY) {
                err = jk_diag_set(diag, JK_ERR_RPC_HTTP, "reply over %u bytes", JK_RPC_MAX_REPLY);
                goto out;
            }
            size_t ncap = cap ? cap * 2 : 16384;
            char *grown = realloc(raw, ncap + 1);
            if (!grown) {
                err = JK_ERR_NOMEM;
                goto out;
            }
            raw = grown;
            cap = ncap;
        }
        ssize_t r = recv(fd, raw + len, cap - len, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            if (len == 0) {
                err = jk_diag_set(diag, JK_ERR_IO, "%s: %s", sent ? "receive" : "send", strerror(errno));
                goto out;
            }
            break;   /* a reset after a complete reply: judge what arrived */
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    if (len == 0) {
        err = jk_diag_set(diag, JK_ERR_IO, "the server closed the connection without a reply");
        goto out;
    }
    raw[len] = '\0';
    *raw_out = raw;
    *raw_len = len;
    raw = NULL;
out:
    free(raw);
    close(fd);
    return err;
}

jk_err jk_rpc_http(const char *host, uint16_t port, const char *http_method, const char *path, const char *body,
                   size_t body_len, int *status, char **reply, size_t *reply_len, jk_diag *diag)
{
    char *raw = NULL;
    size_t len = 0, off = 0, blen = 0;
    jk_err err = jk_rpc_exchange(host, port, http_method, path, body, body_len, &raw, &len, diag);
    if (err == JK_OK)
        err = jk_rpc_http_split((const uint8_t *)raw, len, status, &off, &blen, diag);
    if (err == JK_OK) {
        memmove(raw, raw + off, blen);
        raw[blen] = '\0';
        *reply = raw;
        *reply_len = blen;
        return JK_OK;
    }
    free(raw);
    return err;
}

jk_err jk_rpc_call(const char *host, uint16_t port, const char *method, const char *params_json, char **result_json,
                   jk_diag *diag)
{
    jk_err err = JK_OK;
    json_object *req = json_object_new_object(), *params = NULL;
    char *raw = NULL;
    if (!req)
        return JK_ERR_NOMEM;
    if (params_json) {
        enum json_tokener_error terr;
        params = json_tokener_parse_verbose(params_json, &terr);
        if (!params || (!json_object_is_type(params, json_type_array) && !json_object_is_type(params, json_type_object))) {
            err = jk_diag_set(diag, JK_ERR_INVALID_ARG, "params must be a JSON array or object");
            goto out;
        }
    }
    json_object_object_add(req, "jsonrpc", json_object_new_string("2.0"));
    json_object_object_add(req, "method", json_object_new_string(method));
    if (params) {
        json_object_object_add(req, "params", params);
        params = NULL;
    }
    json_object_object_add(req, "id", json_object_new_int(1));
    size_t body_len, raw_len;
    const char *body = json_object_to_json_string_length(req, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
                                                         &body_len);
    if (!body) {
        err = JK_ERR_NOMEM;
        goto out;
    }
    err = jk_rpc_exchange(host, port, "POST", "/", body, body_len, &raw, &raw_len, diag);
    if (err == JK_OK)
        err = jk_rpc_reply_decode((const uint8_t *)raw, raw_len, 1, result_json, diag);
out:
    free(raw);
    json_object_put(params);
    json_object_put(req);
    return err;
}

jk_err jk_rpc_call_batch(const char *host, uint16_t port, const char *method, const char *const *params_json,
                         size_t n, char **results, jk_err *errs, jk_diag *diag)
{
    for (size_t i = 0; i < n; i++) {
        results[i] = NULL;
        errs[i] = JK_ERR_RPC_HTTP;
    }
    if (n == 0 || n > JK_RPC_MAX_BATCH)
        return jk_diag_set(diag, JK_ERR_INVALID_ARG, "a batch of %zu calls (1..%u)", n, JK_RPC_MAX_BATCH);
    json_object *batch = json_object_new_array();
    jk_err err = batch ? JK_OK : JK_ERR_NOMEM;
    for (size_t i = 0; i < n && err == JK_OK; i++) {
        json_object *req = json_object_new_object(), *params = NULL;
        if (!req || json_object_array_add(batch, req)) {
            json_object_put(req);
            err = JK_ERR_NOMEM;
            break;
        }
        if (params_json[i]) {
            params = json_tokener_parse(params_json[i]);
            if (!params || (!json_object_is_type(params, json_type_array) &&
                            !json_object_is_type(params, json_type_object))) {
                json_object_put(params);
                err = jk_diag_set(diag, JK_ERR_INVALID_ARG, "call %zu: params must be a JSON array or object", i);
                break;
            }
        }
        json_object_object_add(req, "jsonrpc", json_object_new_string("2.0"));
        json_object_object_add(req, "method", json_object_new_string(method));
        if (params)
            json_object_object_add(req, "params", params);
        json_object_object_add(req, "id", json_object_new_int64((int64_t)i + 1));
    }
    size_t body_len = 0, raw_len = 0;
    const char *body = err == JK_OK ? json_object_to_json_string_length(
                                          batch, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &body_len)
                                    : NULL;
    if (err == JK_OK && !body)
        err = JK_ERR_NOMEM;
    char *raw = NULL;
    if (err == JK_OK)
        err = jk_rpc_exchange(host, port, "POST", "/", body, body_len, &raw, &raw_len, diag);
    if (err == JK_OK)
        err = jk_rpc_batch_reply_decode((const uint8_t *)raw, raw_len, n, results, errs, diag);
    free(raw);
    json_object_put(batch);
    return err;
}

jk_err jk_rpc_status_height(const char *host, uint16_t port, int64_t *height, jk_diag *diag)
{
    char *res = NULL;
    jk_err err = jk_rpc_call(host, port, "status", NULL, &res, diag);
    if (err == JK_OK) {
        json_object *o = json_tokener_parse(res), *x;
        if (o && json_object_object_get_ex(o, "height", &x) && json_object_is_type(x, json_type_int))
            *height = json_object_get_int64(x);
        else
            err = jk_diag_set(diag, JK_ERR_RPC_HTTP, "status: no integer \"height\" in the result");
        json_object_put(o);
    }
    free(res);
    return err;
}
