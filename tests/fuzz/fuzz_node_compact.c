/* fuzz_node_compact.c — compact proposals' messages (src/node/compact.c,
 * compact_fill.c) over arbitrary bytes: a COMPACT, WANT or FILL refused
 * must be JK_ERR_NODE_COMPACT with a reason and no result; an accepted
 * compact is rebuilt against an empty pool and against a pool claiming its
 * first reference with an unrelated event, neither of which may crash, and
 * a rebuild that completes must be a PROPOSAL the consensus decoder takes;
 * an accepted WANT encodes back to its bytes. */
#include "jark/node.h"

#include "jark/bytes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int jk_fuzz_node_compact(const uint8_t *data, size_t size);

static void jk_fuzz_compact_fail(const char *what)
{
    fprintf(stderr, "fuzz_node_compact: %s\n", what);
    abort();
}

/* A rebuild's answer must be one of its states, and DONE a PROPOSAL. */
static void jk_fuzz_compact_rebuild(const jk_node_compact *c, const jk_node_pool_ref *pool,
                                    size_t n)
{
    jk_node_compact_state state;
    uint8_t *full = NULL;
    size_t full_len = 0, nmissing = 0;
    uint32_t *missing = NULL;
    jk_diag why = {{0}};
    if (jk_node_compact_rebuild(c, pool, n, &state, &full, &full_len, &missing, &nmissing,
                                &why) != JK_OK)
        return; /* no memory */
    if (state == JK_NODE_COMPACT_DONE) {
        jk_cons_msg *m = malloc(sizeof *m);
        if (m && jk_cons_msg_decode(full, full_len, m, NULL) != JK_OK)
            jk_fuzz_compact_fail("a rebuilt proposal the consensus decoder refuses");
        if (m && m->kind != JK_CONS_MSG_PROPOSAL)
            jk_fuzz_compact_fail("a rebuild that is not a PROPOSAL");
        free(m);
    } else if (state == JK_NODE_COMPACT_MISSING) {
        if (!nmissing || !missing)
            jk_fuzz_compact_fail("missing, but no event named");
    } else if (state != JK_NODE_COMPACT_MISMATCH || !why.msg[0]) {
        jk_fuzz_compact_fail("a mismatch without a reason");
    }
    free(full);
    free(missing);
}

int jk_fuzz_node_compact(const uint8_t *data, size_t size)
{
    jk_diag diag = {{0}};
    jk_node_compact *c = NULL;
    jk_err err = jk_node_compact_decode(data, size, &c, &diag);
    if (err == JK_OK) {
        jk_fuzz_compact_rebuild(c, NULL, 0);
        /* one pool event, claiming every prefix the input's first bytes
         * could hold: an unrelated event resolved for a reference */
        static const uint8_t gossip[12 + 3] = {0, 0, 0, 0, 3, 0, 0, 0, 'a', 'b', 'c', 0, 0, 0, 0};
        jk_node_pool_ref ref = {.bytes = gossip, .len = sizeof gossip};
        size_t events;
        jk_node_compact_info(c, NULL, NULL, NULL, &events);
        if (size >= 2 + 8 + 4 + 4 + 4 + 64 + JK_CHAIN_HEADER_SIZE + 4)
            memcpy(ref.id.bytes, data + size / 2, size - size / 2 < 32 ? size - size / 2 : 32);
        jk_fuzz_compact_rebuild(c, &ref, 1);
        size_t taken;
        (void)jk_node_compact_fill(c, data, size, &taken, NULL);
        jk_node_compact_free(c);
    } else if (err != JK_ERR_NOMEM) {
        if (err != JK_ERR_NODE_COMPACT)
            jk_fuzz_compact_fail("an undocumented code");
        if (!diag.msg[0])
            jk_fuzz_compact_fail("a refusal without a reason");
        if (c)
            jk_fuzz_compact_fail("a refusal left a result");
    }
    jk_node_want w;
    diag.msg[0] = 0;
    err = jk_node_want_decode(data, size, &w, &diag);
    if (err == JK_OK) {
        uint32_t *idx = malloc((w.count + 1) * sizeof *idx);
        uint8_t *again = NULL;
        size_t len = 0;
        for (size_t i = 0; idx && i < w.count; i++)
            idx[i] = jk_get_u32le(w.idx + 4 * i);
        if (idx && jk_node_want_encode(w.height, w.round, idx, w.count, &again, &len) == JK_OK &&
            (len != size || memcmp(again, data, size) != 0))
            jk_fuzz_compact_fail("an accepted WANT does not encode back to its bytes");
        free(again);
        free(idx);
    } else if (err != JK_ERR_NODE_COMPACT || !diag.msg[0]) {
        jk_fuzz_compact_fail("a WANT refused without JK_ERR_NODE_COMPACT and a reason");
    }
    size_t taken = 0;
    diag.msg[0] = 0;
    err = jk_node_compact_fill(NULL, data, size, &taken, &diag);
    if (taken)
        jk_fuzz_compact_fail("a FILL with no proposal kept events");
    if (err != JK_OK && err != JK_ERR_NOMEM && (err != JK_ERR_NODE_COMPACT || !diag.msg[0]))
        jk_fuzz_compact_fail("a FILL refused without JK_ERR_NODE_COMPACT and a reason");
    return 0;
}

#ifdef JK_FUZZ_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return jk_fuzz_node_compact(data, size);
}
#endif
