/* fuzz_node_value.c — the chain app's consensus value, block ‖ the parent's
 * certificate ‖ cert_len (src/node/value.c, jk_node_value_decode), over
 * arbitrary bytes: a refusal must be JK_ERR_NODE_VALUE with a reason and a
 * zeroed result; an accepted input must encode back to exactly its bytes. */
#include "jark/node.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int jk_fuzz_node_value(const uint8_t *data, size_t size);

static void jk_fuzz_node_value_fail(const char *what)
{
    fprintf(stderr, "fuzz_node_value: %s\n", what);
    abort();
}

int jk_fuzz_node_value(const uint8_t *data, size_t size)
{
    jk_diag diag = {{0}};
    jk_node_value *v = malloc(sizeof *v);
    if (!v)
        return 0;
    jk_err err = jk_node_value_decode(data, size, v, &diag);
    if (err != JK_OK) {
        if (err != JK_ERR_NODE_VALUE)
            jk_fuzz_node_value_fail("an undocumented code");
        if (!diag.msg[0])
            jk_fuzz_node_value_fail("a refusal without a reason");
        if (v->block || v->has_cert)
            jk_fuzz_node_value_fail("a refusal left a result");
        free(v);
        return 0;
    }
    if (v->block != data || v->block_len < JK_CHAIN_HEADER_SIZE || v->block_len > size)
        jk_fuzz_node_value_fail("the block is not a prefix holding a header");
    uint8_t *again = NULL;
    size_t len = 0;
    err = jk_node_value_encode(v->block, v->block_len, v->has_cert ? &v->cert : NULL, &again,
                               &len);
    if (err == JK_OK && (len != size || memcmp(again, data, size) != 0))
        jk_fuzz_node_value_fail("an accepted value does not encode back to its bytes");
    if (err != JK_OK && err != JK_ERR_NOMEM)
        jk_fuzz_node_value_fail("an accepted value does not encode");
    free(again);
    free(v);
    return 0;
}

#ifdef JK_FUZZ_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return jk_fuzz_node_value(data, size);
}
#endif
