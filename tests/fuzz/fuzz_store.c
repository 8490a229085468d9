/* fuzz_store.c — the LMDB meta-page check that guards a validator store
 * (src/node/store.c, jk_node_store_check_bytes) over arbitrary file
 * contents: it must answer JK_OK or JK_ERR_NODE_STORE_CORRUPT with a
 * message, never crash or read out of bounds; and a file it accepts must
 * hold every page its newest meta names. */
#include "fuzz_targets.h"

#include "jark/bytes.h"
#include "jark/node.h"

#include <stdio.h>
#include <stdlib.h>

static void jk_fuzz_store_fail(const char *what)
{
    fprintf(stderr, "fuzz_store: %s\n", what);
    abort();
}

int jk_fuzz_store(const uint8_t *data, size_t size)
{
    jk_diag diag = {{0}};
    jk_err err = jk_node_store_check_bytes(data, size, &diag);
    if (err != JK_OK && err != JK_ERR_NODE_STORE_CORRUPT)
        jk_fuzz_store_fail("an undocumented code");
    if (err != JK_OK && !diag.msg[0])
        jk_fuzz_store_fail("a refusal without a reason");
    if (err == JK_OK && size > 0) {
        /* accepted: both metas are there and the file covers last_pg */
        uint32_t psize = jk_get_u32le(data + 16 + 24);
        if (size < 2ull * psize)
            jk_fuzz_store_fail("accepted a file shorter than two pages");
        for (int m = 0; m < 2; m++) {
            const uint8_t *meta = data + (size_t)m * psize;
            uint64_t last_pg = jk_get_u64le(meta + 16 + 24 + 96);
            uint64_t txnid = jk_get_u64le(meta + 16 + 24 + 104);
            uint64_t other = jk_get_u64le(data + (size_t)(1 - m) * psize + 16 + 24 + 104);
            if ((txnid > other || (m == 0 && txnid == other)) && (last_pg + 1) > size / psize)
                jk_fuzz_store_fail("accepted a file shorter than its newest meta's last page");
        }
    }
    return 0;
}

#ifdef JK_FUZZ_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return jk_fuzz_store(data, size);
}
#endif
