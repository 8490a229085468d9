/*
 * fuzz_rpc.c — fuzz target over the JSON-RPC request parser (jk_rpc_parse)
 * and the answers built from it (jk_rpc_answer) by the fake node of
 * tests/rpc/rpc_fake.c. Any crash, leak or sanitizer report is a bug; so is
 * a refusal without a reason or with a code the parser may not give, a
 * valid request whose params break their documented bounds, an answer that
 * is not JSON, or two answers to the same body that differ; and a body the
 * fast path (src/rpc/request_fast.c) takes that json-c would read
 * otherwise: every body goes through both paths, the results compared.
 */
#include "fuzz_targets.h"

#include "../../src/rpc/internal.h"
#include "../rpc/rpc_fake.h"

#include <json-c/json.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void jk_fuzz_rpc_fail(const char *what)
{
    fprintf(stderr, "fuzz_rpc: %s\n", what);
    abort();
}

static void jk_fuzz_rpc_check(const jk_rpc_parsed *p)
{
    if (p->error_code) {
        if (p->error_code != JK_RPC_PARSE_ERROR && p->error_code != JK_RPC_INVALID_REQUEST)
            jk_fuzz_rpc_fail("body refused with an unexpected code");
        if (p->count || !p->error_msg[0])
            jk_fuzz_rpc_fail("body refused without a reason, or with requests");
        return;
    }
    if (p->count == 0 || p->count > JK_RPC_MAX_BATCH || (!p->batch && p->count != 1))
        jk_fuzz_rpc_fail("request count out of bounds");
    for (size_t i = 0; i < p->count; i++) {
        const jk_rpc_request *r = &p->requests[i];
        if (r->id.kind == JK_RPC_ID_STRING && (!r->id.str || r->id.str_len > JK_RPC_MAX_ID))
            jk_fuzz_rpc_fail("string id out of bounds");
        if (r->error_code) {
            if (r->error_code != JK_RPC_INVALID_REQUEST && r->error_code != JK_RPC_METHOD_NOT_FOUND &&
                r->error_code != JK_RPC_INVALID_PARAMS && r->error_code != JK_RPC_INTERNAL_ERROR)
                jk_fuzz_rpc_fail("request refused with an unexpected code");
            if (!r->error_msg[0] || r->method != JK_RPC_M_NONE)
                jk_fuzz_rpc_fail("request refused without a reason, or with a method");
            continue;
        }
        switch (r->method) {
        case JK_RPC_M_SUBMIT_EVENT:
            if (!r->params.submit.blob || r->params.submit.blob_len > JK_CHAIN_MAX_BLOB ||
                r->params.submit.trace_count > JK_RPC_MAX_TRACES ||
                (r->params.submit.trace_count && !r->params.submit.traces))
                jk_fuzz_rpc_fail("submit_event params out of bounds");
            break;
        case JK_RPC_M_STATE_SLOT:
            if (r->params.slot.depth == 0 || r->params.slot.depth > JK_RPC_MAX_PATH)
                jk_fuzz_rpc_fail("state_slot path out of bounds");
            for (size_t k = 0; k < r->params.slot.depth; k++)
                if (r->params.slot.path[k] > 65535)
                    jk_fuzz_rpc_fail("state_slot index out of bounds");
            break;
        case JK_RPC_M_POOL:
            if (r->params.pool.limit == 0 || r->params.pool.limit > JK_RPC_MAX_POOL)
                jk_fuzz_rpc_fail("pool limit out of bounds");
            break;
        case JK_RPC_M_STATUS:
        case JK_RPC_M_BLOCK:
            break;
        case JK_RPC_M_NONE:
            jk_fuzz_rpc_fail("a valid request without a method");
        }
    }
}

static bool jk_fuzz_rpc_id_eq(const jk_rpc_id *a, const jk_rpc_id *b)
{
    if (a->kind != b->kind)
        return false;
    if (a->kind == JK_RPC_ID_INT)
        return a->num == b->num;
    if (a->kind == JK_RPC_ID_STRING)
        return a->str_len == b->str_len && !memcmp(a->str, b->str, a->str_len);
    return true;
}

/* The fast path's result against json-c's for the same body. */
static void jk_fuzz_rpc_same(const jk_rpc_parsed *f, const jk_rpc_parsed *j)
{
    if (f->batch != j->batch || f->count != j->count || f->error_code != j->error_code)
        jk_fuzz_rpc_fail("fast path: not the body json-c reads");
    for (size_t i = 0; i < f->count; i++) {
        const jk_rpc_request *a = &f->requests[i], *b = &j->requests[i];
        if (!jk_fuzz_rpc_id_eq(&a->id, &b->id) || a->method != b->method ||
            a->error_code != b->error_code || a->method != JK_RPC_M_SUBMIT_EVENT)
            jk_fuzz_rpc_fail("fast path: a request json-c reads otherwise");
        const jk_rpc_event *x = &a->params.submit, *y = &b->params.submit;
        if (x->endpoint != y->endpoint || x->blob_len != y->blob_len ||
            memcmp(x->blob, y->blob, x->blob_len) || x->trace_count != y->trace_count ||
            (x->trace_count && memcmp(x->traces, y->traces, x->trace_count * sizeof *x->traces)))
            jk_fuzz_rpc_fail("fast path: submit_event params json-c reads otherwise");
    }
}

int jk_fuzz_rpc(const uint8_t *data, size_t size)
{
    jk_rpc_parsed fast, slow;
    if (jk_rpc_parse_fast(data, size, &fast)) {
        if (jk_rpc_parse_json(data, size, &slow) == JK_OK) {
            jk_fuzz_rpc_same(&fast, &slow);
            jk_rpc_parsed_free(&slow);
        }
        jk_rpc_parsed_free(&fast);
    }
    static fake_node node;
    static bool ready;
    if (!ready) {
        if (!fake_node_init(&node))
            jk_fuzz_rpc_fail("fake node");
        ready = true;
    }
    jk_rpc_parsed p;
    if (jk_rpc_parse(data, size, &p) != JK_OK)
        return 0;   /* out of memory */
    jk_fuzz_rpc_check(&p);
    jk_rpc_provider provider = fake_provider(&node);
    char *answers[2] = {NULL, NULL};
    size_t lens[2] = {0, 0};
    for (int round = 0; round < 2; round++) {
        node.pool_count = 0;   /* the same node state both times */
        if (jk_rpc_answer(&provider, &p, &answers[round], &lens[round]) != JK_OK)
            goto out;
    }
    if (lens[0] != lens[1] || (answers[0] && memcmp(answers[0], answers[1], lens[0])) || !answers[0] != !answers[1])
        jk_fuzz_rpc_fail("two answers to the same body differ");
    if (answers[0]) {
        json_object *o = json_tokener_parse(answers[0]);
        if (!o || strlen(answers[0]) != lens[0])
            jk_fuzz_rpc_fail("the answer is not JSON");
        if (p.batch && !p.error_code && json_object_array_length(o) > p.count)
            jk_fuzz_rpc_fail("more answers than requests");
        json_object_put(o);
    } else if (p.error_code) {
        jk_fuzz_rpc_fail("a refused body without an answer");
    }
out:
    free(answers[0]);
    free(answers[1]);
    jk_rpc_parsed_free(&p);
    return 0;
}

#ifdef JK_FUZZ_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return jk_fuzz_rpc(data, size);
}
#endif
