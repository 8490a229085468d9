/* fuzz_queue.c — the dispatch-queue record's decoder (src/chain/
 * block_dispatch.c, jk_chain_queue_decode; the record a node keeps with its
 * head, src/node/store.c) over arbitrary bytes: it must answer JK_OK,
 * JK_ERR_CHAIN_DECODE or JK_ERR_CHAIN_TOO_LARGE with a message, never crash
 * or read out of bounds; what it accepts is within the bounds, and encoding
 * it again (as a kernel's queue) gives back exactly the bytes read (the
 * decoder accepts only the canonical encoding). */
#include "fuzz_targets.h"

#include "jark/chain.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void jk_fuzz_queue_fail(const char *what)
{
    fprintf(stderr, "fuzz_queue: %s\n", what);
    abort();
}

int jk_fuzz_queue(const uint8_t *data, size_t size)
{
    jk_diag diag = {{0}};
    jk_chain_pooled *list = NULL;
    size_t n = 0;
    jk_err err = jk_chain_queue_decode(data, size, &list, &n, &diag);
    if (err != JK_OK && err != JK_ERR_CHAIN_DECODE && err != JK_ERR_CHAIN_TOO_LARGE)
        jk_fuzz_queue_fail("an undocumented code");
    if (err != JK_OK) {
        if (!diag.msg[0])
            jk_fuzz_queue_fail("a refusal without a reason");
        if (list || n)
            jk_fuzz_queue_fail("a list left behind by a refusal");
        return 0;
    }
    if (n > JK_CHAIN_MAX_QUEUED)
        jk_fuzz_queue_fail("past the bound");
    for (size_t i = 0; i < n; i++)
        if (!jk_chain_endpoint_is_dispatch(list[i].endpoint) || list[i].blob_len > JK_CHAIN_MAX_BLOB)
            jk_fuzz_queue_fail("an entry past its bounds");
    /* the same bytes back: a kernel's queue as the record holds it */
    jk_chain_kernel ck;
    memset(&ck, 0, sizeof ck);
    ck.queued = list;
    ck.queued_count = n;
    uint8_t *again = NULL;
    size_t len = 0;
    if (jk_chain_queue_encode(&ck, &again, &len) == JK_OK && (len != size || memcmp(again, data, size) != 0))
        jk_fuzz_queue_fail("not the canonical encoding");
    free(again);
    jk_chain_pooled_list_free(list, n);
    return 0;
}

#ifdef JK_FUZZ_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return jk_fuzz_queue(data, size);
}
#endif
