/* fuzz_votelog.c — the signed-vote log's decoder (src/node/votelog.c,
 * jk_node_votelog_decode; formats 02 and 01) over arbitrary file contents:
 * it must answer JK_OK or JK_ERR_NODE_VOTE_LOG with a message, never crash
 * or read out of bounds; what it accepts must be strictly increasing (height, round, step)
 * within the bytes it keeps, its proof of lock inside them, and keeping
 * those bytes alone must decode to the same records and proof of lock with
 * nothing torn. */
#include "fuzz_targets.h"

#include "jark/node.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void jk_fuzz_votelog_fail(const char *what)
{
    fprintf(stderr, "fuzz_votelog: %s\n", what);
    abort();
}

int jk_fuzz_votelog(const uint8_t *data, size_t size)
{
    jk_diag diag = {{0}};
    jk_node_votelog_view v;
    jk_err err = jk_node_votelog_decode(data, size, &v, &diag);
    if (err != JK_OK && err != JK_ERR_NODE_VOTE_LOG)
        jk_fuzz_votelog_fail("an undocumented code");
    if (err != JK_OK) {
        if (!diag.msg[0])
            jk_fuzz_votelog_fail("a refusal without a reason");
        if (v.latest)
            jk_fuzz_votelog_fail("records left behind by a refusal");
        return 0;
    }
    if (v.valid_len > size || (v.nlatest > 0 && v.records < v.nlatest) || v.npols > JK_NODE_VOTELOG_POLS)
        jk_fuzz_votelog_fail("kept more than it read");
    for (size_t i = 0; i < v.npols; i++) {
        const jk_node_votelog_polref *q = &v.pols[i];
        if (q->len == 0 || q->off + q->len > v.valid_len || q->len > JK_NODE_VOTELOG_POL_MAX)
            jk_fuzz_votelog_fail("a proof of lock outside what it read");
        for (size_t k = 0; k < i; k++)
            if (v.pols[k].height == q->height || v.pols[k].height + 1 < q->height)
                jk_fuzz_votelog_fail("a proof of lock kept beside a later one of its height, or two heights below");
    }
    for (size_t i = 1; i < v.nlatest; i++) {
        const jk_cons_record *a = &v.latest[i - 1], *b = &v.latest[i];
        if (a->height > b->height ||
            (a->height == b->height && (a->round > b->round || (a->round == b->round && a->step >= b->step))))
            jk_fuzz_votelog_fail("the latest heights' records are not increasing");
    }
    if (v.nlatest && v.latest[v.nlatest - 1].height - v.latest[0].height > 1)
        jk_fuzz_votelog_fail("records kept of more than the latest two heights");
    if (v.valid_len >= 8) {
        jk_node_votelog_view w;
        if (jk_node_votelog_decode(data, v.valid_len, &w, NULL) != JK_OK || w.torn || w.records != v.records ||
            w.nlatest != v.nlatest || w.npols != v.npols || memcmp(w.pols, v.pols, v.npols * sizeof *v.pols))
            jk_fuzz_votelog_fail("the kept bytes alone decode differently");
        jk_node_votelog_view_free(&w);
    }
    jk_node_votelog_view_free(&v);
    return 0;
}

#ifdef JK_FUZZ_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return jk_fuzz_votelog(data, size);
}
#endif
