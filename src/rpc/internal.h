/* internal.h — the rpc layer's shared internals (not part of jark/rpc.h). */
#ifndef JK_RPC_INTERNAL_H
#define JK_RPC_INTERNAL_H

#include "jark/rpc.h"

/* The standard message of a JSON-RPC error code ("Parse error", ...). */
const char *jk_rpc_code_message(int code);

/* The JSON text of a single error response with id null (body-level
 * refusals and HTTP-level answers). malloc'd; NULL on NOMEM. */
char *jk_rpc_error_json(int code, const char *detail, size_t *out_len);

/* Split a raw HTTP/1.x reply: status code, and where its body lies (the
 * Content-Length, or everything after the header). Pure; bounded by len.
 * @return JK_OK; JK_ERR_RPC_HTTP (no complete header, a bad status line, a
 *         chunked reply, a malformed, repeated or too large Content-Length). */
jk_err jk_rpc_http_split(const uint8_t *raw, size_t len, int *status, size_t *body_off, size_t *body_len,
                         jk_diag *diag);

/* Hex bytes the results of one answer (a whole batch) may carry: a block or
 * value that would go past it is answered -32003, a pool answer stops early.
 * So one request body (≤ 4 MiB) can never make the server build more than
 * this much hex, whatever the node holds. */
#define JK_RPC_MAX_ANSWER_HEX (64u << 20)

/* jk_rpc_answer with another hex budget than JK_RPC_MAX_ANSWER_HEX (tests). */
jk_err jk_rpc_answer_bounded(const jk_rpc_provider *p, const jk_rpc_parsed *req, size_t budget, char **out,
                             size_t *out_len);

/* jk_rpc_parse's two paths (request.c, request_fast.c): every body through
 * json-c, and the fast path, which takes only bodies of submit_event
 * requests in one compact shape (docs/rpc.md "The fast path") and then
 * fills out exactly as jk_rpc_parse_json would; false (out emptied) for
 * any other body, or when out of memory. */
jk_err jk_rpc_parse_json(const uint8_t *body, size_t len, jk_rpc_parsed *out);
bool jk_rpc_parse_fast(const uint8_t *body, size_t len, jk_rpc_parsed *out);

struct sockaddr_in;
/* host (numeric IPv4, "localhost", or NULL for 127.0.0.1) and port as an
 * address. @return JK_OK; JK_ERR_INVALID_ARG. */
jk_err jk_rpc_resolve(const char *host, uint16_t port, struct sockaddr_in *out, jk_diag *diag);

/* ---- answer.c's pieces that answer_text.c (the direct writers) uses ---- */

struct json_object;

typedef struct jk_call {
    const jk_rpc_provider *p;
    const jk_rpc_request *req;
    int code;            /* 0, or the JSON-RPC error to answer */
    char msg[256];
    bool nomem;
    size_t *budget;      /* hex bytes left for the whole answer */
    const struct jk_submit_done *done; /* submit_event: the provider's answer, got already */
} jk_call;

/* What the provider's submit_event answered (jk_rpc_answer_bounded asks it
 * first, to write an admitted answer without json-c). */
typedef struct jk_submit_done {
    jk_err err;
    jk_diag diag;
    jk_rpc_submit_result sr;
} jk_submit_done;

void jk_rpc_buf_free(jk_rpc_buf *b);
/* A block query's answer from the provider, checked (answer.c). */
bool jk_rpc_block_fetch(jk_call *c, jk_rpc_buf *block, jk_rpc_buf *cert, jk_chain_block *b, jk_hash *hash);
/* {"jsonrpc":"2.0","error":{"code","message","data"},"id"}; NULL on NOMEM. */
struct json_object *jk_rpc_error_obj(int code, const char *detail, const jk_rpc_id *id);
/* The response to one request as a json-c tree, or NULL with *nomem false
 * for a notification. */
struct json_object *jk_rpc_respond(const jk_rpc_provider *p, const jk_rpc_request *req, size_t *budget,
                                   const jk_submit_done *done, bool *nomem);
/* o's text (PLAIN), malloc'd; NULL on NOMEM. */
char *jk_rpc_serialize(struct json_object *o, size_t *out_len);

#endif
