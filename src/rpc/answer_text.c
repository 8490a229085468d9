/*
 * answer_text.c — the answer's text: each response serialized on its own
 * and a batch's joined (jk_rpc_answer_bounded), and the responses written
 * directly, without a json-c tree, in the bytes that tree gives (an
 * admitted submit_event, a block: the hot answers, docs/rpc.md "The fast
 * path"). Every other response is answer.c's tree (jk_rpc_respond).
 */
#include "internal.h"

#include <json-c/json.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The answer's text, grown as responses are added. */
typedef struct jk_text {
    char *p;
    size_t len, cap;
    bool nomem;
} jk_text;

/* Room for n more bytes and a NUL at t's end (NULL: out of memory, nomem
 * set); jk_text_wrote counts what was written there. */
static char *jk_text_room(jk_text *t, size_t n)
{
    if (t->nomem)
        return NULL;
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 256;
        while (cap < t->len + n + 1)
            cap *= 2;
        char *p = realloc(t->p, cap);
        if (!p) {
            t->nomem = true;
            return NULL;
        }
        t->p = p;
        t->cap = cap;
    }
    return t->p + t->len;
}

static void jk_text_wrote(jk_text *t, size_t n)
{
    t->len += n;
    t->p[t->len] = '\0';
}

static void jk_text_add(jk_text *t, const char *s, size_t n)
{
    char *o = jk_text_room(t, n);
    if (!o)
        return;
    memcpy(o, s, n);
    jk_text_wrote(t, n);
}

/* u (v) in decimal at out, as json-c writes a uint64 (an int64): at most
 * 20 bytes, no NUL. @return the bytes written. */
static size_t jk_dec_u64(char *out, uint64_t u)
{
    char tmp[20];
    size_t n = 0, k = 0;
    do
        tmp[n++] = (char)('0' + u % 10);
    while (u /= 10);
    while (n)
        out[k++] = tmp[--n];
    return k;
}

static size_t jk_dec(char *out, int64_t v)
{
    if (v >= 0)
        return jk_dec_u64(out, (uint64_t)v);
    out[0] = '-';
    return 1 + jk_dec_u64(out + 1, 0 - (uint64_t)v);
}

/* Literal text, a number, bytes as a hex string (quoted) appended to t. */
#define JK_TEXT_LIT(t, s) jk_text_add((t), (s), sizeof(s) - 1)

static void jk_text_u64(jk_text *t, uint64_t u)
{
    char *o = jk_text_room(t, 20);
    if (o)
        jk_text_wrote(t, jk_dec_u64(o, u));
}

static void jk_text_hex(jk_text *t, const uint8_t *bytes, size_t len)
{
    char *o = jk_text_room(t, 2 * len + 2);
    if (!o)
        return;
    o[0] = '"';
    jk_rpc_hex_encode(bytes, len, o + 1);
    o[2 * len + 1] = '"';
    jk_text_wrote(t, 2 * len + 2);
}

/* An admitted submit_event with an integer id, written directly: the
 * bytes json-c writes for {"jsonrpc","result":{"admitted","event_hash"},
 * "id"} (PLAIN), without building the tree (session 6: the tree and its
 * serialization were ~12,000 instructions an event of a batch; docs/rpc.md
 * "The fast path"), and without printf (session 11: snprintf was ~1,100
 * of the ~2,300 left). tests/rpc/test_rpc_answer.c holds the bytes, next
 * to json-c's answers in one batch. */
static void jk_text_admitted(jk_text *t, const jk_hash *event_hash, int64_t id)
{
    static const char head[] = "{\"jsonrpc\":\"2.0\",\"result\":{\"admitted\":true,\"event_hash\":\"";
    static const char mid[] = "\"},\"id\":";
    char *o = jk_text_room(t, sizeof head - 1 + 2 * JK_HASH_SIZE + sizeof mid - 1 + 20 + 1);
    if (!o)
        return;
    char *p = o;
    memcpy(p, head, sizeof head - 1);
    p += sizeof head - 1;
    jk_rpc_hex_encode(event_hash->bytes, JK_HASH_SIZE, p); /* (its NUL is overwritten next) */
    p += 2 * JK_HASH_SIZE;
    memcpy(p, mid, sizeof mid - 1);
    p += sizeof mid - 1;
    p += jk_dec(p, id);
    *p++ = '}';
    jk_text_wrote(t, (size_t)(p - o));
}

/* o's text appended to t, o released (NULL: out of memory). */
static void jk_text_json(jk_text *t, json_object *o)
{
    size_t len = 0;
    char *text = o ? jk_rpc_serialize(o, &len) : NULL;
    json_object_put(o);
    if (text)
        jk_text_add(t, text, len);
    else
        t->nomem = true;
    free(text);
}

/* A block answer with an integer id, written directly (session 11): json-c's
 * bytes for jk_do_block's tree (PLAIN), the block's hex encoded once in
 * place, not copied into a json-c string, scanned for escapes and copied
 * three times more (9.99 M -> 2.41 M instructions a 1,000-transfer block;
 * test_rpc_answer_block_written_directly compares the bytes). */
static void jk_text_block(jk_text *t, const jk_rpc_provider *p, const jk_rpc_request *req, size_t *budget)
{
    jk_call c = {p, req, 0, "", false, budget, NULL};
    jk_rpc_buf block = {0}, cert = {0};
    jk_chain_block b;
    memset(&b, 0, sizeof b);
    jk_hash hash;
    if (jk_rpc_block_fetch(&c, &block, &cert, &b, &hash)) {
        const jk_chain_header *h = &b.header;
        JK_TEXT_LIT(t, "{\"jsonrpc\":\"2.0\",\"result\":{\"height\":");
        jk_text_u64(t, h->number);
        JK_TEXT_LIT(t, ",\"hash\":");
        jk_text_hex(t, hash.bytes, sizeof hash.bytes);
        JK_TEXT_LIT(t, ",\"header\":{\"parent\":");
        jk_text_hex(t, h->parent.bytes, sizeof h->parent.bytes);
        JK_TEXT_LIT(t, ",\"number\":");
        jk_text_u64(t, h->number);
        JK_TEXT_LIT(t, ",\"proposer\":");
        jk_text_u64(t, h->proposer);
        JK_TEXT_LIT(t, ",\"state_root\":");
        jk_text_hex(t, h->state_root.bytes, sizeof h->state_root.bytes);
        JK_TEXT_LIT(t, ",\"body_hash\":");
        jk_text_hex(t, h->body_hash.bytes, sizeof h->body_hash.bytes);
        JK_TEXT_LIT(t, ",\"signature\":");
        jk_text_hex(t, h->signature, sizeof h->signature);
        JK_TEXT_LIT(t, "},\"event_count\":");
        jk_text_u64(t, b.event_count);
        JK_TEXT_LIT(t, ",\"trace_count\":");
        jk_text_u64(t, b.trace_count);
        JK_TEXT_LIT(t, ",\"block\":");
        jk_text_hex(t, block.data, block.len);
        JK_TEXT_LIT(t, ",\"certificate\":");
        if (cert.len)
            jk_text_hex(t, cert.data, cert.len);
        else
            JK_TEXT_LIT(t, "null");
        JK_TEXT_LIT(t, "},\"id\":");
        char *o = jk_text_room(t, 21);
        if (o) {
            size_t n = jk_dec(o, req->id.num);
            o[n] = '}';
            jk_text_wrote(t, n + 1);
        }
    } else if (c.nomem) {
        t->nomem = true;
    } else {
        jk_text_json(t, jk_rpc_error_obj(c.code, c.msg, &req->id));
    }
    jk_chain_block_free(&b);
    jk_rpc_buf_free(&block);
    jk_rpc_buf_free(&cert);
}

/* One request's response appended to t (nothing for a notification). */
static void jk_text_respond(jk_text *t, const jk_rpc_provider *p, const jk_rpc_request *req,
                            size_t *budget, bool *any)
{
    jk_submit_done d, *done = NULL;
    if (!req->error_code && req->method == JK_RPC_M_SUBMIT_EVENT && p->submit_event) {
        memset(&d, 0, sizeof d);
        d.err = p->submit_event(p->ctx, &req->params.submit, &d.sr, &d.diag);
        done = &d;
        if (d.err == JK_OK && d.sr.admitted && req->id.kind == JK_RPC_ID_INT) {
            if (*any)
                jk_text_add(t, ",", 1);
            jk_text_admitted(t, &d.sr.event_hash, req->id.num);
            *any = true;
            return;
        }
    }
    if (!req->error_code && req->method == JK_RPC_M_BLOCK && p->block && req->id.kind == JK_RPC_ID_INT) {
        if (*any)
            jk_text_add(t, ",", 1);
        jk_text_block(t, p, req, budget);
        *any = true;
        return;
    }
    bool nomem = false;
    json_object *one = jk_rpc_respond(p, req, budget, done, &nomem);
    if (nomem)
        t->nomem = true;
    if (!one)
        return;
    if (*any)
        jk_text_add(t, ",", 1);
    jk_text_json(t, one);
    *any = true;
}

/* A batch's submit_event requests, handed to the provider together before
 * they are answered one by one (jk_rpc_provider.submit_batch: the node
 * verifies them at once). True when the provider was called. */
static bool jk_submit_batch_hint(const jk_rpc_provider *p, const jk_rpc_parsed *req)
{
    if (!p->submit_batch || !p->submit_event || !req->batch)
        return false;
    const jk_rpc_event *events[JK_RPC_MAX_BATCH];
    size_t n = 0;
    for (size_t i = 0; i < req->count && n < JK_RPC_MAX_BATCH; i++)
        if (!req->requests[i].error_code && req->requests[i].method == JK_RPC_M_SUBMIT_EVENT)
            events[n++] = &req->requests[i].params.submit;
    if (n < 2)
        return false;
    p->submit_batch(p->ctx, events, n);
    return true;
}

/* Each response is serialized on its own and a batch's joined as json-c
 * writes an array (PLAIN: "[" a "," b "]"), so the bytes are the ones the
 * whole tree gave. */
jk_err jk_rpc_answer_bounded(const jk_rpc_provider *p, const jk_rpc_parsed *req, size_t budget, char **out,
                             size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    if (req->error_code) {
        *out = jk_rpc_error_json(req->error_code, req->error_msg, out_len);
        return *out ? JK_OK : JK_ERR_NOMEM;
    }
    jk_text t = {0};
    bool any = false;
    if (req->batch)
        jk_text_add(&t, "[", 1);
    bool hinted = jk_submit_batch_hint(p, req);
    /* every request is run, even after a failure, so that effects (submitted
     * events) do not depend on whether an answer could be built */
    for (size_t i = 0; i < req->count; i++)
        jk_text_respond(&t, p, &req->requests[i], &budget, &any);
    if (hinted && p->submit_batch_end)
        p->submit_batch_end(p->ctx);
    if (req->batch)
        jk_text_add(&t, "]", 1);
    if (t.nomem) {
        free(t.p);
        return JK_ERR_NOMEM;
    }
    if (!any) { /* only notifications */
        free(t.p);
        return JK_OK;
    }
    *out = t.p;
    *out_len = t.len;
    return JK_OK;
}
