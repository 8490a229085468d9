/*
 * answer.c — turns parsed requests into JSON-RPC responses by asking the
 * provider, and the pool sink the provider writes into.
 *
 * Responses are built as json-c trees, whose objects keep insertion order,
 * so the same answers give the same bytes (jsonrpc, result|error, id); an
 * admitted submit_event and a block with an integer id are written
 * directly, in the bytes their trees gave (answer_text.c, which also joins
 * a batch's responses: jk_rpc_answer_bounded). Bytes
 * are lowercase hex. Every provider answer is checked before it is shown: a
 * block must decode and be the block asked for; a failure there is the
 * node's bug and answers -32603, never a crash.
 */
#include "internal.h"

#include <json-c/json.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


const char *jk_rpc_code_message(int code)
{
    switch (code) {
    case JK_RPC_PARSE_ERROR: return "Parse error";
    case JK_RPC_INVALID_REQUEST: return "Invalid Request";
    case JK_RPC_METHOD_NOT_FOUND: return "Method not found";
    case JK_RPC_INVALID_PARAMS: return "Invalid params";
    case JK_RPC_INTERNAL_ERROR: return "Internal error";
    case JK_RPC_ERR_NOT_FOUND: return "Not found";
    case JK_RPC_ERR_UNAVAILABLE: return "Unavailable";
    case JK_RPC_ERR_TOO_LARGE: return "Too large";
    }
    return "Server error";
}

jk_err jk_rpc_buf_set(jk_rpc_buf *b, const void *bytes, size_t len)
{
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        return JK_ERR_NOMEM;
    if (len)
        memcpy(copy, bytes, len);
    free(b->data);
    b->data = copy;
    b->len = len;
    return JK_OK;
}

void jk_rpc_buf_free(jk_rpc_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
}

/* ---- JSON helpers: NULL propagates, so one check at the end finds NOMEM ---- */

static json_object *jk_hex(const uint8_t *bytes, size_t len)
{
    char *text = malloc(2 * len + 1);
    if (!text)
        return NULL;
    jk_rpc_hex_encode(bytes, len, text);
    json_object *s = json_object_new_string_len(text, (int)(2 * len));
    free(text);
    return s;
}

/* Adds val under key; false (and val released) when either is NULL or the add fails. */
static bool jk_put(json_object *obj, const char *key, json_object *val)
{
    if (!obj || !val) {
        json_object_put(val);
        return false;
    }
    if (json_object_object_add(obj, key, val) != 0) {
        json_object_put(val);
        return false;
    }
    return true;
}

static bool jk_append(json_object *arr, json_object *val)
{
    if (!arr || !val || json_object_array_add(arr, val) != 0) {
        json_object_put(val);
        return false;
    }
    return true;
}

/* Adds val under key when present, null otherwise (json-c serializes a NULL
 * child as null). */
static bool jk_put_opt(json_object *obj, const char *key, bool present, json_object *val)
{
    if (present)
        return jk_put(obj, key, val);
    json_object_put(val);
    return obj && json_object_object_add(obj, key, NULL) == 0;
}

static json_object *jk_endpoint_json(jk_chain_endpoint e)
{
    if (!jk_chain_endpoint_is_dispatch(e))
        return json_object_new_string("transact");
    char text[32];
    snprintf(text, sizeof text, "dispatch:%u", jk_chain_endpoint_dispatch_index(e));
    return json_object_new_string(text);
}

static json_object *jk_traces_json(const jk_chain_trace *t, size_t n)
{
    json_object *arr = json_object_new_array();
    bool ok = arr != NULL;
    for (size_t i = 0; i < n && ok; i++) {
        json_object *one = json_object_new_array();
        ok = jk_append(one, jk_hex(t[i].key, sizeof t[i].key)) &&
             jk_append(one, jk_hex(t[i].msg_hash.bytes, sizeof t[i].msg_hash.bytes)) &&
             jk_append(one, jk_hex(t[i].sig, sizeof t[i].sig));
        if (!ok)
            json_object_put(one);
        else
            ok = jk_append(arr, one);
    }
    if (!ok) {
        json_object_put(arr);
        return NULL;
    }
    return arr;
}

/* ---- the pool sink ---- */

struct jk_rpc_pool_sink {
    json_object *events;   /* the answer's array */
    uint32_t limit;
    size_t *budget;        /* hex bytes left for the whole answer */
    bool nomem;
};

/* Take n hex bytes from the answer's budget; false when they do not fit. */
static bool jk_budget_take(size_t *budget, size_t n)
{
    if (n > *budget)
        return false;
    *budget -= n;
    return true;
}

jk_err jk_rpc_pool_add(jk_rpc_pool_sink *sink, const jk_rpc_pool_entry *e)
{
    if (json_object_array_length(sink->events) >= sink->limit || e->blob_len > JK_CHAIN_MAX_BLOB ||
        e->trace_count > JK_CHAIN_MAX_TRACES ||
        !jk_budget_take(sink->budget, 2 * (e->blob_len + e->trace_count * JK_CHAIN_TRACE_SIZE)))
        return JK_ERR_CAP_RANGE;
    json_object *one = json_object_new_object();
    bool ok = jk_put(one, "endpoint", jk_endpoint_json(e->endpoint)) &&
              jk_put(one, "blob", jk_hex(e->blob, e->blob_len)) &&
              jk_put(one, "traces", jk_traces_json(e->traces, e->trace_count));
    if (!ok || !jk_append(sink->events, one)) {
        if (!ok)
            json_object_put(one);
        sink->nomem = true;
        return JK_ERR_NOMEM;
    }
    return JK_OK;
}

/* ---- one method each; *err_code/err_msg set on a refusal ---- */

/* Map a provider's error to the answer. */
static json_object *jk_provider_failed(jk_call *c, jk_err err, const jk_diag *diag)
{
    if (err == JK_ERR_NOMEM) {
        c->nomem = true;
        return NULL;
    }
    if (err == JK_ERR_RPC_NOT_FOUND || err == JK_ERR_CAP_MISSING)
        c->code = JK_RPC_ERR_NOT_FOUND;
    else if (err == JK_ERR_RPC_UNAVAILABLE)
        c->code = JK_RPC_ERR_UNAVAILABLE;
    else
        c->code = JK_RPC_INTERNAL_ERROR;
    snprintf(c->msg, sizeof c->msg, "%s", diag->msg[0] ? diag->msg : jk_strerror(err));
    return NULL;
}

static json_object *jk_refused(jk_call *c, int code, const char *msg)
{
    c->code = code;
    snprintf(c->msg, sizeof c->msg, "%s", msg);
    return NULL;
}

static json_object *jk_done(jk_call *c, json_object *res, bool ok)
{
    if (!ok) {
        json_object_put(res);
        c->nomem = true;
        return NULL;
    }
    return res;
}

static json_object *jk_do_status(jk_call *c)
{
    jk_rpc_status st;
    memset(&st, 0, sizeof st);
    jk_diag diag = {{0}};
    jk_err err = c->p->status(c->p->ctx, &st, &diag);
    if (err != JK_OK)
        return jk_provider_failed(c, err, &diag);
    json_object *res = json_object_new_object();
    bool ok = jk_put(res, "height", json_object_new_uint64(st.height)) &&
              jk_put(res, "head_hash", jk_hex(st.head_hash.bytes, sizeof st.head_hash.bytes)) &&
              jk_put(res, "round", json_object_new_uint64(st.round)) &&
              jk_put(res, "peers", json_object_new_uint64(st.peers)) &&
              jk_put(res, "syncing", json_object_new_boolean(st.syncing)) &&
              jk_put(res, "pool_size", json_object_new_uint64(st.pool_size)) &&
              jk_put(res, "max_peer_height", json_object_new_uint64(st.max_peer_height)) &&
              jk_put(res, "evidence", json_object_new_uint64(st.evidence));
    ok = ok && jk_put_opt(res, "validator_index", st.is_validator,
                          st.is_validator ? json_object_new_uint64(st.validator_index) : NULL);
    return jk_done(c, res, ok);
}

static json_object *jk_do_submit(jk_call *c)
{
    jk_submit_done d;
    if (!c->done) {
        memset(&d, 0, sizeof d);
        d.err = c->p->submit_event(c->p->ctx, &c->req->params.submit, &d.sr, &d.diag);
    }
    const jk_submit_done *got = c->done ? c->done : &d;
    if (got->err != JK_OK)
        return jk_provider_failed(c, got->err, &got->diag);
    const jk_rpc_submit_result sr = got->sr;
    json_object *res = json_object_new_object();
    bool ok = jk_put(res, "admitted", json_object_new_boolean(sr.admitted));
    if (sr.admitted)
        ok = ok && jk_put(res, "event_hash", jk_hex(sr.event_hash.bytes, sizeof sr.event_hash.bytes));
    else
        ok = ok && jk_put(res, "reason", json_object_new_string(sr.reason[0] ? sr.reason : "refused"));
    if (!sr.admitted && sr.has_code)
        ok = ok && jk_put(res, "code", json_object_new_uint64(sr.code));
    return jk_done(c, res, ok);
}

static json_object *jk_header_json(const jk_chain_header *h)
{
    json_object *o = json_object_new_object();
    bool ok = jk_put(o, "parent", jk_hex(h->parent.bytes, sizeof h->parent.bytes)) &&
              jk_put(o, "number", json_object_new_uint64(h->number)) &&
              jk_put(o, "proposer", json_object_new_uint64(h->proposer)) &&
              jk_put(o, "state_root", jk_hex(h->state_root.bytes, sizeof h->state_root.bytes)) &&
              jk_put(o, "body_hash", jk_hex(h->body_hash.bytes, sizeof h->body_hash.bytes)) &&
              jk_put(o, "signature", jk_hex(h->signature, sizeof h->signature));
    if (!ok) {
        json_object_put(o);
        return NULL;
    }
    return o;
}

/* A block query's answer from the provider, checked: the block (and its
 * certificate, len 0 when none) within the answer's budget, decoding, and
 * the block asked for. false with c->code or c->nomem set otherwise; the
 * caller frees block, cert and b either way. */
bool jk_rpc_block_fetch(jk_call *c, jk_rpc_buf *block, jk_rpc_buf *cert, jk_chain_block *b,
                        jk_hash *hash)
{
    const jk_rpc_block_query *q = &c->req->params.block;
    jk_diag diag = {{0}};
    jk_err err = c->p->block(c->p->ctx, q, block, cert, &diag);
    if (err != JK_OK) {
        jk_provider_failed(c, err, &diag);
        return false;
    }
    if (block->len > JK_CHAIN_MAX_BLOCK_SIZE || cert->len > JK_RPC_MAX_ANSWER_HEX ||
        !jk_budget_take(c->budget, 2 * (block->len + cert->len))) {
        jk_refused(c, JK_RPC_ERR_TOO_LARGE, "the block and its certificate are over the answer's bound");
        return false;
    }
    err = jk_chain_block_decode(block->data, block->len, b, &diag);
    if (err != JK_OK) {
        if (err == JK_ERR_NOMEM)
            c->nomem = true;
        else {
            c->code = JK_RPC_INTERNAL_ERROR;
            snprintf(c->msg, sizeof c->msg, "the node's block does not decode: %s", diag.msg);
        }
        return false;
    }
    jk_chain_block_hash(b, hash);
    if (q->by_hash ? memcmp(hash->bytes, q->hash.bytes, sizeof hash->bytes) != 0 : b->header.number != q->height) {
        jk_refused(c, JK_RPC_INTERNAL_ERROR, "the node answered with another block than the one asked for");
        return false;
    }
    return true;
}

static json_object *jk_do_block(jk_call *c)
{
    jk_rpc_buf block = {0}, cert = {0};
    jk_chain_block b;
    memset(&b, 0, sizeof b);
    jk_hash hash;
    json_object *res = NULL;
    if (jk_rpc_block_fetch(c, &block, &cert, &b, &hash)) {
        res = json_object_new_object();
        bool ok = jk_put(res, "height", json_object_new_uint64(b.header.number)) &&
                  jk_put(res, "hash", jk_hex(hash.bytes, sizeof hash.bytes)) &&
                  jk_put(res, "header", jk_header_json(&b.header)) &&
                  jk_put(res, "event_count", json_object_new_uint64(b.event_count)) &&
                  jk_put(res, "trace_count", json_object_new_uint64(b.trace_count)) &&
                  jk_put(res, "block", jk_hex(block.data, block.len));
        ok = ok && jk_put_opt(res, "certificate", cert.len != 0, cert.len ? jk_hex(cert.data, cert.len) : NULL);
        res = jk_done(c, res, ok);
    }
    jk_chain_block_free(&b);
    jk_rpc_buf_free(&block);
    jk_rpc_buf_free(&cert);
    return res;
}

static const char *jk_slot_kind_name(jk_rpc_slot_kind k)
{
    switch (k) {
    case JK_RPC_SLOT_EMPTY: return "empty";
    case JK_RPC_SLOT_DATA: return "data";
    case JK_RPC_SLOT_CNODE: return "cnode";
    case JK_RPC_SLOT_IMAGE: return "image";
    case JK_RPC_SLOT_INSTANCE: return "instance";
    }
    return NULL;
}

static json_object *jk_do_state_slot(jk_call *c)
{
    const jk_rpc_request *req = c->req;
    jk_rpc_slot_value v;
    memset(&v, 0, sizeof v);
    json_object *res = NULL;
    jk_diag diag = {{0}};
    jk_err err = c->p->state_slot(c->p->ctx, req->params.slot.path, req->params.slot.depth, &v, &diag);
    if (err != JK_OK) {
        jk_provider_failed(c, err, &diag);
        goto out;
    }
    const char *kind = jk_slot_kind_name(v.kind);
    if (!kind) {
        jk_refused(c, JK_RPC_INTERNAL_ERROR, "the node answered with an unknown cap kind");
        goto out;
    }
    if (v.value.len > JK_RPC_MAX_ANSWER_HEX || !jk_budget_take(c->budget, 2 * v.value.len)) {
        jk_refused(c, JK_RPC_ERR_TOO_LARGE, "the value is over the answer's bound");
        goto out;
    }
    res = json_object_new_object();
    json_object *path = json_object_new_array();
    bool ok = path != NULL;
    for (size_t i = 0; i < req->params.slot.depth && ok; i++)
        ok = jk_append(path, json_object_new_uint64(req->params.slot.path[i]));
    if (!ok)
        json_object_put(path);
    ok = ok && jk_put(res, "path", path) && jk_put(res, "kind", json_object_new_string(kind)) &&
         jk_put(res, "value", jk_hex(v.value.data, v.value.len));
    ok = ok && jk_put_opt(res, "hash", v.kind != JK_RPC_SLOT_EMPTY,
                          v.kind != JK_RPC_SLOT_EMPTY ? jk_hex(v.cap_hash.bytes, sizeof v.cap_hash.bytes) : NULL);
    ok = ok && jk_put(res, "height", json_object_new_uint64(v.height)) &&
         jk_put(res, "block_hash", jk_hex(v.block_hash.bytes, sizeof v.block_hash.bytes));
    res = jk_done(c, res, ok);
out:
    jk_rpc_buf_free(&v.value);
    return res;
}

static json_object *jk_do_pool(jk_call *c)
{
    jk_rpc_pool_sink sink = {json_object_new_array(), c->req->params.pool.limit, c->budget, false};
    if (!sink.events) {
        c->nomem = true;
        return NULL;
    }
    uint64_t total = 0;
    jk_diag diag = {{0}};
    jk_err err = c->p->pool(c->p->ctx, c->req->params.pool.offset, &sink, &total, &diag);
    if (err != JK_OK || sink.nomem) {
        json_object_put(sink.events);
        return jk_provider_failed(c, sink.nomem ? JK_ERR_NOMEM : err, &diag);
    }
    json_object *res = json_object_new_object();
    bool ok = jk_put(res, "total", json_object_new_uint64(total)) &&
              jk_put(res, "offset", json_object_new_uint64(c->req->params.pool.offset));
    if (!ok)
        json_object_put(sink.events);
    ok = ok && jk_put(res, "events", sink.events);
    return jk_done(c, res, ok);
}

/* ---- the envelope ---- */

static json_object *jk_id_json(const jk_rpc_id *id)
{
    switch (id->kind) {
    case JK_RPC_ID_INT: return json_object_new_int64(id->num);
    case JK_RPC_ID_STRING: return json_object_new_string_len(id->str, (int)id->str_len);
    default: return NULL;
    }
}

/* "id": the request's id (null when it had none or an invalid one). */
static bool jk_put_id(json_object *o, const jk_rpc_id *id)
{
    if (id && (id->kind == JK_RPC_ID_INT || id->kind == JK_RPC_ID_STRING))
        return jk_put(o, "id", jk_id_json(id));
    return jk_put_opt(o, "id", false, NULL);
}

/* {"jsonrpc":"2.0","error":{"code","message","data"},"id"}; NULL on NOMEM. */
json_object *jk_rpc_error_obj(int code, const char *detail, const jk_rpc_id *id)
{
    json_object *resp = json_object_new_object(), *err = json_object_new_object();
    bool ok = resp && jk_put(err, "code", json_object_new_int(code)) &&
              jk_put(err, "message", json_object_new_string(jk_rpc_code_message(code))) &&
              (!detail || !detail[0] || jk_put(err, "data", json_object_new_string(detail)));
    if (!ok) {
        json_object_put(err);
        json_object_put(resp);
        return NULL;
    }
    if (!jk_put(resp, "jsonrpc", json_object_new_string("2.0")))
        json_object_put(err);
    else if (jk_put(resp, "error", err) && jk_put_id(resp, id))   /* jk_put releases err on failure */
        return resp;
    json_object_put(resp);
    return NULL;
}

/* The response to one request, or NULL with *nomem false for a notification. */
json_object *jk_rpc_respond(const jk_rpc_provider *p, const jk_rpc_request *req, size_t *budget,
                            const jk_submit_done *done, bool *nomem)
{
    jk_call c = {p, req, req->error_code, "", false, budget, done};
    snprintf(c.msg, sizeof c.msg, "%s", req->error_msg);
    json_object *result = NULL;
    if (!c.code) {
        switch (req->method) {
        case JK_RPC_M_STATUS: result = p->status ? jk_do_status(&c) : NULL; break;
        case JK_RPC_M_SUBMIT_EVENT: result = p->submit_event ? jk_do_submit(&c) : NULL; break;
        case JK_RPC_M_BLOCK: result = p->block ? jk_do_block(&c) : NULL; break;
        case JK_RPC_M_STATE_SLOT: result = p->state_slot ? jk_do_state_slot(&c) : NULL; break;
        case JK_RPC_M_POOL: result = p->pool ? jk_do_pool(&c) : NULL; break;
        case JK_RPC_M_NONE: break;
        }
        if (!result && !c.code && !c.nomem)
            jk_refused(&c, JK_RPC_METHOD_NOT_FOUND, "this server does not serve this method");
    }
    if (req->id.kind == JK_RPC_ID_ABSENT) {   /* a notification: done, nothing to say */
        json_object_put(result);
        return NULL;
    }
    if (c.nomem) {
        *nomem = true;
        return NULL;
    }
    if (c.code) {
        json_object *e = jk_rpc_error_obj(c.code, c.msg, &req->id);
        *nomem = e == NULL;
        return e;
    }
    json_object *resp = json_object_new_object();
    bool ok = jk_put(resp, "jsonrpc", json_object_new_string("2.0"));
    if (!ok)
        json_object_put(result);
    if (ok && jk_put(resp, "result", result) && jk_put_id(resp, &req->id))
        return resp;
    json_object_put(resp);
    *nomem = true;
    return NULL;
}

char *jk_rpc_serialize(json_object *o, size_t *out_len)
{
    size_t len;
    const char *text = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
                                                         &len);
    char *copy = text ? malloc(len + 1) : NULL;
    if (copy) {
        memcpy(copy, text, len + 1);
        *out_len = len;
    }
    return copy;
}

char *jk_rpc_error_json(int code, const char *detail, size_t *out_len)
{
    jk_rpc_id null_id = {JK_RPC_ID_NULL, 0, NULL, 0};
    json_object *e = jk_rpc_error_obj(code, detail, &null_id);
    char *text = e ? jk_rpc_serialize(e, out_len) : NULL;
    json_object_put(e);
    return text;
}

jk_err jk_rpc_answer(const jk_rpc_provider *p, const jk_rpc_parsed *req, char **out, size_t *out_len)
{
    return jk_rpc_answer_bounded(p, req, JK_RPC_MAX_ANSWER_HEX, out, out_len);
}
