/*
 * test_store_format.c — the node's store format of session 9 (docs/node.md
 * "What a validator stores"): the block once a height (the head record
 * names the archived block, no copy in slot 2), certificates in a table of
 * their own (the carried certificate's swap is a small write, the block's
 * row is never rewritten), and rows of an earlier jark (the certificate
 * inside the row) still read.
 */
#include "chain_app_fx.h"

typedef struct raw_row {
    uint64_t height;
    bool cert_only;             /* read "cert" (else "height") */
    uint8_t *val;
    size_t len;
    bool found;
} raw_row;

static jk_err raw_get(void *ctx, jk_cap_store_txn *t, jk_diag *diag)
{
    raw_row *r = ctx;
    uint8_t k[8];
    for (int i = 0; i < 8; i++)
        k[i] = (uint8_t)(r->height >> (56 - 8 * i));
    return jk_cap_txn_get(t, r->cert_only ? 1 : 0, k, 8, (const uint8_t **)&r->val, &r->len, diag);
}

/* The raw value of table `name` at height (a copy; NULL when absent). */
static uint8_t *raw_read(jk_cap_store *st, const char *name, uint64_t height, size_t *len)
{
    jk_cap_table th = 0, tc = 0;
    if (jk_cap_store_table(st, "height", &th, NULL) != JK_OK || jk_cap_store_table(st, "cert", &tc, NULL) != JK_OK)
        return NULL;
    /* the tables are opened in this order on a fresh handle: height 0, cert 1 */
    if (th != 0 || tc != 1)
        return NULL;
    raw_row r = {.height = height, .cert_only = !strcmp(name, "cert")};
    if (jk_cap_store_read(st, raw_get, &r, NULL) != JK_OK)
        return NULL;
    uint8_t *copy = malloc(r.len ? r.len : 1);
    if (copy)
        memcpy(copy, r.val, r.len);
    *len = r.len;
    return copy;
}

/* Heights 1..3 decided by the apps: app 0's store holds each block once
 * (the archive's row, no head-record copy), its row with cert_len 0 and
 * the canonical certificate in "cert"; the row of height 2 is the same
 * bytes before and after height 3 replaced its certificate. */
JK_TEST(test_store_format_block_once_and_certificates_apart)
{
    static fx f;
    JK_REQUIRE(fx_make(&f));
    jk_cons_cert c[4];
    for (uint64_t h = 1; h <= 2; h++) {
        fx_gossip(&f, h, 3);
        JK_REQUIRE(fx_decide(&f, h, 0, &c[h]));
    }
    char d0[300];
    snprintf(d0, sizeof d0, "%s/v0", f.dir);
    jk_node_chain_app_close(f.apps[0]);
    f.apps[0] = NULL;
    /* the head record of height 2 has no slot 2; jk_node_head_read finds
     * the block in the archive */
    jk_node_head head;
    jk_diag diag = {{0}};
    JK_REQUIRE(jk_node_head_read(d0, &head, &diag) == JK_OK);
    JK_CHECK_EQ(head.height, 2);
    jk_node_archive *a;
    JK_REQUIRE(jk_node_archive_open(d0, &a, NULL) == JK_OK);
    jk_hash id;
    uint8_t *block = NULL;
    size_t blen = 0;
    JK_REQUIRE(jk_node_archive_get(a, 2, &id, &block, &blen, NULL, NULL) == JK_OK);
    JK_CHECK_MEM(id.bytes, head.block_hash.bytes, 32);
    JK_CHECK_EQ(jk_cap_data_len(head.last_block), blen);
    uint8_t *hb = malloc(blen ? blen : 1);
    JK_REQUIRE(hb && jk_cap_data_read(head.last_block, 0, hb, blen) == JK_OK);
    JK_CHECK_MEM(hb, block, blen);
    free(hb);
    jk_node_head_release(&head);
    jk_node_archive_close(a);
    /* the record's slot 2 is empty: read the record itself */
    {
        jk_cap_store *st;
        JK_REQUIRE(jk_cap_store_open(d0, NULL, &st, NULL) == JK_OK);
        jk_hash hh;
        jk_cap rec = jk_cap_null();
        JK_REQUIRE(jk_cap_store_head(st, "head", &hh, NULL) == JK_OK);
        JK_REQUIRE(jk_cap_store_load(st, &hh, &rec, NULL) == JK_OK);
        JK_CHECK(jk_cap_is_null(jk_cap_cnode_get(rec, 2)));
        jk_cap_release(rec);
        size_t rl = 0, cl = 0;
        uint8_t *row = raw_read(st, "height", 2, &rl), *cert = raw_read(st, "cert", 2, &cl);
        JK_REQUIRE(row != NULL && cert != NULL);
        JK_CHECK_EQ(rl, 36 + blen);
        JK_CHECK_EQ(jk_get_u32le(row + 32), 0); /* no certificate inside the row */
        JK_CHECK_MEM(row + 36, block, blen);
        jk_cons_cert got;
        JK_CHECK_EQ(jk_cons_cert_decode(cert, cl, &got, NULL), JK_OK);
        JK_CHECK_MEM(got.value.bytes, c[2].value.bytes, 32);
        free(cert);
        jk_cap_store_close(st);
        /* height 3 carries the certificate of 2: the row of 2 is the same
         * bytes afterwards, "cert" holds the carried one */
        JK_REQUIRE(fx_open_app(&f, 0));
        fx_gossip(&f, 3, 2);
        JK_REQUIRE(fx_decide(&f, 3, 0, &c[3]));
        jk_node_chain_app_close(f.apps[0]);
        f.apps[0] = NULL;
        JK_REQUIRE(jk_cap_store_open(d0, NULL, &st, NULL) == JK_OK);
        size_t rl2 = 0;
        uint8_t *row2 = raw_read(st, "height", 2, &rl2);
        cert = raw_read(st, "cert", 2, &cl);
        JK_REQUIRE(row2 != NULL && cert != NULL);
        JK_CHECK_EQ(rl2, rl);
        JK_CHECK_MEM(row2, row, rl);
        JK_CHECK_EQ(jk_cons_cert_decode(cert, cl, &got, NULL), JK_OK);
        JK_CHECK_MEM(got.value.bytes, c[2].value.bytes, 32);
        free(row);
        free(row2);
        free(cert);
        jk_cap_store_close(st);
    }
    free(block);
    /* and the app resumes from it */
    JK_REQUIRE(fx_open_app(&f, 0));
    JK_CHECK_EQ(jk_node_chain_app_validator(f.apps[0])->height, 3);
    fx_free(&f);
}

typedef struct old_row {
    uint64_t height;
    const uint8_t *val;
    size_t len;
} old_row;

static jk_err old_put(void *ctx, jk_cap_store_txn *t, jk_diag *diag)
{
    old_row *r = ctx;
    uint8_t k[8], hv[8];
    for (int i = 0; i < 8; i++)
        k[i] = (uint8_t)(r->height >> (56 - 8 * i));
    jk_put_u64le(hv, r->height);
    jk_err err = jk_cap_txn_put(t, 0, k, 8, r->val, r->len, diag);
    if (err == JK_OK)
        err = jk_cap_txn_put(t, 2, r->val, 32, hv, 8, diag);
    return err;
}

static jk_err cert_put(void *ctx, jk_cap_store_txn *t, jk_diag *diag)
{
    old_row *r = ctx;
    uint8_t k[8];
    for (int i = 0; i < 8; i++)
        k[i] = (uint8_t)(r->height >> (56 - 8 * i));
    return jk_cap_txn_put(t, 1, k, 8, r->val, r->len, diag);
}

/* A row as an earlier jark wrote it (hash ‖ cert_len ‖ certificate ‖
 * block, nothing in "cert") reads with its certificate; a certificate
 * later put in "cert" for it wins; a row with neither is refused. */
JK_TEST(test_store_format_reads_rows_of_an_earlier_jark)
{
    char dir[128];
    JK_REQUIRE(jk_test_tmpdir("store-format", dir, sizeof dir));
    jk_cap_store *st;
    JK_REQUIRE(jk_cap_store_open(dir, NULL, &st, NULL) == JK_OK);
    jk_cap_table t0, t1, t2;
    JK_REQUIRE(jk_cap_store_table(st, "height", &t0, NULL) == JK_OK && t0 == 0);
    JK_REQUIRE(jk_cap_store_table(st, "cert", &t1, NULL) == JK_OK && t1 == 1);
    JK_REQUIRE(jk_cap_store_table(st, "hash", &t2, NULL) == JK_OK && t2 == 2);
    jk_cons_cert c;
    memset(&c, 0, sizeof c);
    c.height = 1;
    memset(c.value.bytes, 0x5a, 32);
    c.count = 1;
    memset(c.sigs[0].sig, 3, 64);
    uint8_t row[36 + 48 + 68 + 5];
    memcpy(row, c.value.bytes, 32);
    jk_put_u32le(row + 32, (uint32_t)jk_cons_cert_size(&c));
    jk_cons_cert_encode(&c, row + 36);
    memcpy(row + 36 + jk_cons_cert_size(&c), "block", 5);
    old_row r = {1, row, sizeof row};
    JK_REQUIRE(jk_cap_store_write(st, old_put, &r, NULL) == JK_OK);
    /* a row with cert_len 0 and no "cert" entry: corrupt */
    uint8_t bare[36 + 5];
    memcpy(bare, c.value.bytes, 32);
    jk_put_u32le(bare + 32, 0);
    memcpy(bare + 36, "block", 5);
    old_row r2 = {2, bare, sizeof bare};
    bare[0] ^= 1; /* another block's hash for the hash table */
    JK_REQUIRE(jk_cap_store_write(st, old_put, &r2, NULL) == JK_OK);
    jk_node_archive *a;
    JK_REQUIRE(jk_node_archive_attach(st, &a, NULL) == JK_OK);
    JK_CHECK_EQ(jk_node_archive_top(a), 2);
    jk_hash id;
    uint8_t *b = NULL;
    size_t len = 0;
    jk_cons_cert got;
    JK_REQUIRE(jk_node_archive_get(a, 1, &id, &b, &len, &got, NULL) == JK_OK);
    JK_CHECK_MEM(id.bytes, c.value.bytes, 32);
    JK_CHECK_EQ(len, 5);
    JK_CHECK_MEM(b, "block", 5);
    free(b);
    JK_CHECK_EQ(got.count, 1);
    JK_CHECK_MEM(got.sigs[0].sig, c.sigs[0].sig, 64);
    /* a certificate put in "cert" for it wins over the row's own */
    memset(c.sigs[0].sig, 4, 64);
    old_row rc = {1, NULL, jk_cons_cert_size(&c)};
    uint8_t cb[48 + 68];
    jk_cons_cert_encode(&c, cb);
    rc.val = cb;
    JK_REQUIRE(jk_cap_store_write(st, cert_put, &rc, NULL) == JK_OK);
    JK_REQUIRE(jk_node_archive_get(a, 1, NULL, NULL, NULL, &got, NULL) == JK_OK);
    JK_CHECK_MEM(got.sigs[0].sig, c.sigs[0].sig, 64);
    jk_diag diag = {{0}};
    JK_CHECK_EQ(jk_node_archive_get(a, 2, NULL, NULL, NULL, &got, &diag), JK_ERR_NODE_ARCHIVE);
    JK_CHECK(strstr(diag.msg, "no certificate") != NULL);
    jk_node_archive_close(a);
    jk_cap_store_close(st);
    jk_test_rm_tree(dir);
}
