/*
 * testnet_rpc.c — the testnet watch's reads of a node through its JSON-RPC
 * (docs/node.md "jark testnet"): its status, a committed block (its round,
 * events and state root for the per-height line, its event ids for the
 * workload's retirement). Split from testnet.c by concern.
 */
#include "testnet_internal.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* status.height of node i, or -1. */
int64_t jk_devnet_tnet_height(const jk_tnet *t, uint32_t i)
{
    jk_diag d;
    int64_t h = -1;
    if (t->pid[i] && jk_rpc_status_height(t->rpc_host[i], t->rpc[i], &h, &d) != JK_OK)
        h = -1;
    return h;
}

/* Node i's committed height, connected peers and pool size from one status
 * call (-1 for what it did not give); false when it does not answer. */
bool jk_devnet_tnet_status(const jk_tnet *t, uint32_t i, int64_t *height, int64_t *peers,
                           int64_t *pool)
{
    char *res = NULL;
    jk_diag d;
    bool ok = false;
    *height = *peers = *pool = -1;
    if (t->pid[i] && jk_rpc_call(t->rpc_host[i], t->rpc[i], "status", NULL, &res, &d) == JK_OK) {
        json_object *o = json_tokener_parse(res), *x;
        if (o && json_object_object_get_ex(o, "height", &x) && json_object_is_type(x, json_type_int)) {
            *height = json_object_get_int64(x);
            ok = true;
        }
        if (o && json_object_object_get_ex(o, "peers", &x) && json_object_is_type(x, json_type_int))
            *peers = json_object_get_int64(x);
        if (o && json_object_object_get_ex(o, "pool_size", &x) && json_object_is_type(x, json_type_int))
            *pool = json_object_get_int64(x);
        json_object_put(o);
    }
    free(res);
    return ok;
}

/* Decode a block's hex (as the node's RPC gave it) and hand its event ids
 * to the workload. A block that does not decode counts nothing. */
static bool jk_tnet_events_seen(const jk_tnet *t, const char *hex, size_t len, uint64_t height,
                                const jk_hash *want)
{
    bool found = false;
    uint8_t *bytes = malloc(len / 2 + 1);
    size_t n = 0;
    jk_chain_block blk;
    if (bytes && jk_rpc_hex_decode(hex, len, bytes, len / 2 + 1, &n, NULL) == JK_OK &&
        jk_chain_block_decode(bytes, n, &blk, NULL) == JK_OK) {
        jk_hash *ids = malloc((blk.event_count ? blk.event_count : 1) * sizeof *ids);
        for (size_t k = 0; ids && k < blk.event_count; k++) {
            jk_chain_event_hash(&blk.events[k], &ids[k]);
            found = found || (want && memcmp(ids[k].bytes, want->bytes, JK_HASH_SIZE) == 0);
        }
        if (ids)
            jk_devnet_tnet_wl_committed(t->wl, ids, blk.event_count, height, jk_devnet_tnet_ms());
        free(ids);
        jk_chain_block_free(&blk);
    }
    free(bytes);
    return found;
}

void jk_devnet_tnet_block_reply_free(jk_tnet_block_reply *r)
{
    json_object_put(r->root);
    free(r->body);
    *r = (jk_tnet_block_reply){0};
}

/* The result's "block" member: a string. */
static bool jk_tnet_block_member(json_object *result, json_object **x)
{
    return json_object_object_get_ex(result, "block", x) && json_object_is_type(*x, json_type_string);
}

/* The reply is parsed once, and its block hex (~0.4 MB at the bench's
 * load, most of the reply) not by json-c: the rest of the text, with that
 * string cut to "", is; the hex is read where it lies (session 16:
 * jk_rpc_call parsed the whole reply, printed its result and the watch
 * parsed that again, the driver's largest CPU cost per event). A reply
 * whose result's "block" is not the string cut out is parsed whole. */
bool jk_devnet_tnet_block_parse(char *body, size_t len, jk_tnet_block_reply *r)
{
    *r = (jk_tnet_block_reply){.body = body};
    static const char key[] = "\"block\":\"";
    char *at = body ? strstr(body, key) : NULL;
    char *end = at ? strchr(at + sizeof key - 1, '"') : NULL;
    json_object *x;
    if (end) {
        size_t head = (size_t)(at - body) + sizeof key - 1, tail = len - (size_t)(end - body);
        char *cut = malloc(head + tail + 1);
        if (cut) {
            memcpy(cut, body, head);
            memcpy(cut + head, end, tail + 1);
            r->root = json_tokener_parse(cut);
            free(cut);
        }
        if (r->root && json_object_object_get_ex(r->root, "result", &r->result) &&
            jk_tnet_block_member(r->result, &x) && json_object_get_string_len(x) == 0) {
            r->hex = at + sizeof key - 1;
            r->hex_len = (size_t)(end - r->hex);
            return true;
        }
        json_object_put(r->root);
        r->root = r->result = NULL;
    }
    r->root = body ? json_tokener_parse(body) : NULL;
    if (!r->root || !json_object_object_get_ex(r->root, "result", &r->result) ||
        !json_object_is_type(r->result, json_type_object)) {
        jk_devnet_tnet_block_reply_free(r);
        return false;
    }
    if (jk_tnet_block_member(r->result, &x)) {
        r->hex = json_object_get_string(x);
        r->hex_len = (size_t)json_object_get_string_len(x);
    }
    return true;
}

/* Node i's block at height h; false when the node did not answer with a
 * result. */
static bool jk_tnet_block_fetch(const jk_tnet *t, uint32_t i, uint64_t h, jk_tnet_block_reply *r)
{
    char req[128];
    int n = snprintf(req, sizeof req, "{\"jsonrpc\":\"2.0\",\"method\":\"block\",\"params\":[%llu],\"id\":1}",
                     (unsigned long long)h);
    int status = 0;
    size_t len = 0;
    char *body = NULL;
    *r = (jk_tnet_block_reply){0};
    if (jk_rpc_http(t->rpc_host[i], t->rpc[i], "POST", "/", req, (size_t)n, &status, &body, &len, NULL) !=
            JK_OK ||
        status != 200) {
        free(body);
        return false;
    }
    return jk_devnet_tnet_block_parse(body, len, r);
}

/* Does node i's block at height h carry the event `want`? */
bool jk_devnet_tnet_block_has(const jk_tnet *t, uint32_t i, uint64_t h, const jk_hash *want)
{
    jk_tnet_block_reply r;
    bool found = jk_tnet_block_fetch(t, i, h, &r) && r.hex &&
                 jk_tnet_events_seen(t, r.hex, r.hex_len, h, want);
    jk_devnet_tnet_block_reply_free(&r);
    return found;
}

bool jk_devnet_tnet_block_get(const jk_tnet *t, uint32_t i, uint64_t h, jk_devnet_testnet_height *b)
{
    jk_tnet_block_reply r;
    if (!jk_tnet_block_fetch(t, i, h, &r))
        return false;
    json_object *o = r.result, *hd, *x;
    bool ok = json_object_object_get_ex(o, "header", &hd) && json_object_object_get_ex(hd, "state_root", &x);
    if (ok) {
        snprintf(b->root, sizeof b->root, "%.16s", json_object_get_string(x));
        b->events = json_object_object_get_ex(o, "event_count", &x) ? (uint64_t)json_object_get_int64(x) : 0;
        /* The certificate's round: height u64 ‖ round u32 ‖ … (LE). */
        b->round = 0;
        if (json_object_object_get_ex(o, "certificate", &x) && json_object_is_type(x, json_type_string)) {
            const char *c = json_object_get_string(x);
            if (strlen(c) >= 24)
                for (int k = 3; k >= 0; k--) {
                    unsigned byte;
                    if (sscanf(c + 16 + 2 * k, "%2x", &byte) == 1)
                        b->round = b->round << 8 | byte;
                }
        }
        b->height = h;
        /* The block's events, for the workload's count of its batches. */
        if (t->wl && r.hex)
            (void)jk_tnet_events_seen(t, r.hex, r.hex_len, h, NULL);
    }
    jk_devnet_tnet_block_reply_free(&r);
    return ok;
}
