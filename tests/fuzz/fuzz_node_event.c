/* fuzz_node_event.c — the gossip encoding of an event (src/node/chain_app.c,
 * jk_node_event_decode) over arbitrary bytes: a refusal must be
 * JK_ERR_NODE_EVENT with a reason and leave nothing allocated; an accepted
 * input must encode back to exactly the same bytes, and its traces read in
 * place (jk_node_event_traces_at, session 16: a prepared event's) must be
 * the decoded ones. */
#include "jark/node.h"

#include "../../src/node/chain_app_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int jk_fuzz_node_event(const uint8_t *data, size_t size);

static void jk_fuzz_node_event_fail(const char *what)
{
    fprintf(stderr, "fuzz_node_event: %s\n", what);
    abort();
}

int jk_fuzz_node_event(const uint8_t *data, size_t size)
{
    jk_diag diag = {{0}};
    jk_chain_event ev;
    jk_chain_trace *traces = NULL;
    size_t count = 0;
    jk_err err = jk_node_event_decode(data, size, &ev, &traces, &count, &diag);
    if (err != JK_OK) {
        if (err != JK_ERR_NODE_EVENT && err != JK_ERR_NOMEM)
            jk_fuzz_node_event_fail("an undocumented code");
        if (err == JK_ERR_NODE_EVENT && !diag.msg[0])
            jk_fuzz_node_event_fail("a refusal without a reason");
        if (traces || count)
            jk_fuzz_node_event_fail("a refusal left traces");
        return 0;
    }
    uint8_t *again = NULL;
    size_t len = 0;
    err = jk_node_event_encode(&ev, traces, count, &again, &len);
    if (err == JK_OK && (len != size || memcmp(again, data, size) != 0))
        jk_fuzz_node_event_fail("an accepted event does not encode back to its bytes");
    if (err != JK_OK && err != JK_ERR_NOMEM)
        jk_fuzz_node_event_fail("an accepted event does not encode");
    const jk_chain_trace *at = jk_node_event_traces_at(&ev, count);
    if ((count == 0) != (at == NULL) ||
        (count && (memcmp(at, traces, count * sizeof *traces) != 0 ||
                   (const uint8_t *)at != data + 12 + ev.blob_len)))
        jk_fuzz_node_event_fail("the traces read in place are not the decoded ones");
    free(again);
    free(traces);
    return 0;
}

#ifdef JK_FUZZ_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return jk_fuzz_node_event(data, size);
}
#endif
