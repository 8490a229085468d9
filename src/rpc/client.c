/*
 * client.c — a minimal HTTP/1.1 client for jark's RPC server: one request
 * per TCP connection (Connection: close), the reply read to EOF and bounded
 * by JK_RPC_MAX_REPLY, a Content-Length body (what the server sends; chunked
 * replies are refused). Blocking, with 30-second socket timeouts so a stuck
 * server cannot hang the command line forever.
 */
#include "internal.h"

#include <json-c/json.h>

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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

/* Split an HTTP reply into status and body. */
static jk_err jk_http_split(char *raw, size_t len, int *status, size_t *body_off, size_t *body_len, jk_diag *diag)
{
    char *end = NULL;
    for (size_t i = 0; i + 3 < len; i++) {
        if (!memcmp(raw + i, "\r\n\r\n", 4)) {
            end = raw + i;
            break;
        }
    }
    if (!end)
        return jk_diag_set(diag, JK_ERR_RPC_HTTP, "no complete HTTP header in %zu bytes", len);
    *end = '\0';   /* the header is now a C string */
    int code;
    if (strncmp(raw, "HTTP/1.", 7) || sscanf(raw + 7, "%*1[01] %3d", &code) != 1 || code < 100 || code > 599)
        return jk_diag_set(diag, JK_ERR_RPC_HTTP, "not an HTTP/1.x status line");
    size_t off = (size_t)(end - raw) + 4;
    size_t have = len - off, want = have;
    for (char *line = strstr(raw, "\r\n"); line; line = strstr(line + 2, "\r\n")) {
        const char *h = line + 2;
        if (!strncasecmp(h, "Transfer-Encoding:", 18))
            return jk_diag_set(diag, JK_ERR_RPC_HTTP, "chunked replies are not supported");
        if (!strncasecmp(h, "Content-Length:", 15)) {
            char *e;
            unsigned long long v = strtoull(h + 15, &e, 10);
            if (e == h + 15 || v > have)
                return jk_diag_set(diag, JK_ERR_RPC_HTTP, "reply shorter than its Content-Length");
            want = (size_t)v;
        }
    }
    *status = code;
    *body_off = off;
    *body_len = want;
    return JK_OK;
}

jk_err jk_rpc_http(const char *host, uint16_t port, const char *http_method, const char *path, const char *body,
                   size_t body_len, int *status, char **reply, size_t *reply_len, jk_diag *diag)
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
    size_t off = 0, blen = 0;
    err = jk_http_split(raw, len, status, &off, &blen, diag);
    if (err != JK_OK)
        goto out;
    memmove(raw, raw + off, blen);
    raw[blen] = '\0';
    *reply = raw;
    *reply_len = blen;
    raw = NULL;
out:
    free(raw);
    close(fd);
    return err;
}

jk_err jk_rpc_call(const char *host, uint16_t port, const char *method, const char *params_json, char **result_json,
                   jk_diag *diag)
{
    jk_err err = JK_OK;
    json_object *req = json_object_new_object(), *params = NULL, *resp = NULL;
    char *reply = NULL;
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
    size_t body_len;
    const char *body = json_object_to_json_string_length(req, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
                                                         &body_len);
    if (!body) {
        err = JK_ERR_NOMEM;
        goto out;
    }
    int status;
    size_t reply_len;
    err = jk_rpc_http(host, port, "POST", "/", body, body_len, &status, &reply, &reply_len, diag);
    if (err != JK_OK)
        goto out;
    resp = json_tokener_parse(reply);
    json_object *version, *id, *result, *error;
    if (!resp || !json_object_is_type(resp, json_type_object) ||
        !json_object_object_get_ex(resp, "jsonrpc", &version) ||
        strcmp(json_object_get_string(version) ? json_object_get_string(version) : "", "2.0")) {
        err = jk_diag_set(diag, JK_ERR_RPC_HTTP, "HTTP %d and not a JSON-RPC response: %.80s", status, reply);
        goto out;
    }
    if (json_object_object_get_ex(resp, "error", &error) && json_object_is_type(error, json_type_object)) {
        json_object *code = json_object_object_get(error, "code"), *msg = json_object_object_get(error, "message"),
                    *data = json_object_object_get(error, "data");
        err = jk_diag_set(diag, JK_ERR_RPC_REMOTE, "%d %s%s%.120s", json_object_get_int(code),
                          msg ? json_object_get_string(msg) : "", data ? ": " : "",
                          data ? json_object_get_string(data) : "");
        result = error;
    } else if (status != 200) {
        err = jk_diag_set(diag, JK_ERR_RPC_HTTP, "HTTP %d", status);
        goto out;
    } else if (!json_object_object_get_ex(resp, "result", &result) || !json_object_object_get_ex(resp, "id", &id) ||
               json_object_get_int(id) != 1) {
        err = jk_diag_set(diag, JK_ERR_RPC_HTTP, "a response without result or with another id");
        goto out;
    }
    const char *text = json_object_to_json_string_ext(result, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    *result_json = text ? strdup(text) : NULL;
    if (!*result_json)
        err = JK_ERR_NOMEM;
out:
    free(reply);
    json_object_put(params);
    json_object_put(resp);
    json_object_put(req);
    return err;
}
