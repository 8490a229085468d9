/*
 * fuzz_rpc_reply.c — fuzz target over the client's decoder of server replies
 * (jk_rpc_reply_decode: an HTTP/1.x reply carrying a JSON-RPC response; and
 * jk_rpc_batch_reply_decode over the same bytes, a batch's answer). Any
 * crash, leak or sanitizer report is a bug; so is a refusal without a
 * reason, or an accepted reply whose text is not JSON.
 */
#include "fuzz_targets.h"

#include "jark/rpc.h"

#include <json-c/json.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void jk_fuzz_reply_fail(const char *what)
{
    fprintf(stderr, "fuzz_rpc_reply: %s\n", what);
    abort();
}

int jk_fuzz_rpc_reply(const uint8_t *data, size_t size)
{
    char *text = NULL;
    jk_diag diag = {{0}};
    jk_err err = jk_rpc_reply_decode(data, size, 1, &text, &diag);
    if (err == JK_OK || err == JK_ERR_RPC_REMOTE) {
        json_object *o = text ? json_tokener_parse(text) : NULL;
        if (!text || (!o && strcmp(text, "null")))
            jk_fuzz_reply_fail("an accepted reply whose text is not JSON");
        if (err == JK_ERR_RPC_REMOTE && (!diag.msg[0] || !json_object_is_type(o, json_type_object)))
            jk_fuzz_reply_fail("an error reply without a message or an object");
        json_object_put(o);
    } else if (err != JK_ERR_NOMEM) {
        if (text || !diag.msg[0] || err != JK_ERR_RPC_HTTP)
            jk_fuzz_reply_fail("a refusal without a reason, or with a result");
    }
    free(text);

    /* The batch decoder over the same bytes, as a reply to 1..3 calls: on
     * JK_OK every call has a JSON text; otherwise none, and a reason. */
    for (size_t n = 1; n <= 3; n++) {
        char *results[3];
        jk_err errs[3];
        jk_diag bd = {{0}};
        jk_err be = jk_rpc_batch_reply_decode(data, size, n, results, errs, &bd);
        for (size_t i = 0; i < n; i++) {
            if (be == JK_OK) {
                json_object *o = results[i] ? json_tokener_parse(results[i]) : NULL;
                if (!results[i] || (!o && strcmp(results[i], "null")) ||
                    (errs[i] != JK_OK && errs[i] != JK_ERR_RPC_REMOTE))
                    jk_fuzz_reply_fail("a batch answer whose call has no JSON text");
                json_object_put(o);
            } else if (results[i]) {
                jk_fuzz_reply_fail("a refused batch with a result");
            }
            free(results[i]);
        }
        if (be != JK_OK && be != JK_ERR_NOMEM && !bd.msg[0])
            jk_fuzz_reply_fail("a batch refusal without a reason");
    }
    return 0;
}

#ifdef JK_FUZZ_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return jk_fuzz_rpc_reply(data, size);
}
#endif
