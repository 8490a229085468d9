/*
 * test_value.c — the chain app's consensus value (src/node/value.c): block
 * ‖ the parent's certificate ‖ cert_len, its strict decoder, and the fuzz
 * target's corpus (tests/fuzz/corpus/node_value) replayed.
 */
#include "../test.h"

#include "jark/bytes.h"
#include "jark/node.h"

#include <stdlib.h>

int jk_fuzz_node_value(const uint8_t *data, size_t size);

JK_TEST(test_value_round_trip_and_refusals)
{
    uint8_t blk[JK_CHAIN_HEADER_SIZE + 3] = {1, 2, 3};
    jk_cons_cert c;
    memset(&c, 0, sizeof c);
    c.height = 4;
    c.count = 2;
    c.sigs[1].validator = 5;
    uint8_t *v;
    size_t n;
    JK_REQUIRE(jk_node_value_encode(blk, sizeof blk, &c, &v, &n) == JK_OK);
    JK_CHECK_EQ(n, sizeof blk + jk_cons_cert_size(&c) + 4);
    jk_node_value *d = malloc(sizeof *d);
    JK_REQUIRE(d != NULL);
    jk_diag diag = {{0}};
    JK_REQUIRE(jk_node_value_decode(v, n, d, &diag) == JK_OK);
    JK_CHECK(d->has_cert && d->block == v && d->block_len == sizeof blk);
    JK_CHECK_EQ(d->cert.height, 4);
    JK_CHECK_EQ(d->cert.sigs[1].validator, 5);
    /* too short for a header and the length: refused with a reason */
    for (size_t cut = 0; cut < JK_CHAIN_HEADER_SIZE + 4; cut++) {
        diag.msg[0] = 0;
        JK_CHECK_EQ(jk_node_value_decode(v, cut, d, &diag), JK_ERR_NODE_VALUE);
        JK_CHECK(diag.msg[0] != 0);
        JK_CHECK(d->block == NULL && !d->has_cert);
    }
    /* a certificate length that leaves less than a header */
    size_t clen = jk_cons_cert_size(&c);
    jk_put_u32le(v + n - 4, (uint32_t)(clen + 4));
    diag.msg[0] = 0;
    JK_CHECK_EQ(jk_node_value_decode(v, n, d, &diag), JK_ERR_NODE_VALUE);
    JK_CHECK(strstr(diag.msg, "no block header") != NULL);
    /* the certificate one byte short (its length says so): not canonical */
    memmove(v + n - 5, v + n - 4, 4);
    jk_put_u32le(v + n - 5, (uint32_t)(clen - 1));
    diag.msg[0] = 0;
    JK_CHECK_EQ(jk_node_value_decode(v, n - 1, d, &diag), JK_ERR_NODE_VALUE);
    JK_CHECK(strstr(diag.msg, "certificate") != NULL);
    JK_CHECK(d->block == NULL && !d->has_cert);
    free(v);
    /* no certificate: block 1 */
    JK_REQUIRE(jk_node_value_encode(blk, sizeof blk, NULL, &v, &n) == JK_OK);
    JK_CHECK_EQ(n, sizeof blk + 4);
    JK_REQUIRE(jk_node_value_decode(v, n, d, NULL) == JK_OK);
    JK_CHECK(!d->has_cert && d->block_len == sizeof blk);
    free(v);
    /* a block shorter than a header, a certificate without signatures */
    JK_CHECK_EQ(jk_node_value_encode(blk, JK_CHAIN_HEADER_SIZE - 1, NULL, &v, &n),
                JK_ERR_INVALID_ARG);
    c.count = 0;
    JK_CHECK_EQ(jk_node_value_encode(blk, sizeof blk, &c, &v, &n), JK_ERR_INVALID_ARG);
    free(d);
}

JK_TEST(test_value_fuzz_corpus_node_value)
{
    static const char *const names[] = {"block-1", "block-2", "cert-len-too-long", "cert-cut",
                                        "cert-unordered"};
    jk_node_value *d = malloc(sizeof *d);
    JK_REQUIRE(d != NULL);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[256];
        snprintf(path, sizeof path, "tests/fuzz/corpus/node_value/%s", names[i]);
        FILE *fp = fopen(path, "rb");
        JK_REQUIRE(fp != NULL);
        static uint8_t buf[1 << 14];
        size_t n = fread(buf, 1, sizeof buf, fp);
        fclose(fp);
        jk_fuzz_node_value(buf, n); /* aborts on a bug */
        jk_err want = i < 2 ? JK_OK : JK_ERR_NODE_VALUE;
        JK_CHECK_EQ(jk_node_value_decode(buf, n, d, NULL), want);
    }
    free(d);
}
