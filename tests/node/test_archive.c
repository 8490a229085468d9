/*
 * test_archive.c — the block archive (by height and hash, across reopen,
 * gaps and conflicts refused, the consensus records) and sync (every
 * certificate checked before its block is imported, in order).
 */
#include "../progs.h"
#include "../test.h"

#include "jark/node.h"

#include <stdlib.h>

typedef struct fixture {
    jk_cons_valset vs;
    uint8_t sk[4][64];
    jk_hash genesis;
    uint8_t blocks[4][JK_CHAIN_HEADER_SIZE];
    jk_hash ids[4];
    jk_cons_cert certs[4];
} fixture;

/* Blocks 1..3 (headers only: the archive and sync read the header) chained
 * by parent hash, each with a certificate of validators 0, 1, 2 of 4. */
static void fixture_make(fixture *f)
{
    memset(f, 0, sizeof *f);
    if (jk_crypto_init() != JK_OK)
        abort();
    f->vs.count = 4;
    for (uint32_t i = 0; i < 4; i++) {
        uint8_t seed[32] = {(uint8_t)(40 + i)};
        if (jk_crypto_ed25519_keypair_from_seed(seed, f->vs.keys[i], f->sk[i]) != JK_OK)
            abort();
    }
    jk_crypto_blake2b256("archive genesis", 15, &f->genesis);
    jk_hash parent = f->genesis;
    for (uint64_t h = 1; h <= 3; h++) {
        jk_chain_header hd = {0};
        hd.parent = parent;
        hd.number = h;
        hd.proposer = (uint32_t)(h % 4);
        jk_chain_header_encode(&hd, f->blocks[h]);
        jk_chain_header_hash(&hd, &f->ids[h]);
        parent = f->ids[h];
        jk_cons_cert *c = &f->certs[h];
        c->height = h;
        c->value = f->ids[h];
        for (uint32_t i = 0; i < 3; i++) {
            jk_cons_vote v = {.type = JK_CONS_MSG_PRECOMMIT, .height = h, .has_value = true,
                              .value = f->ids[h], .validator = i};
            jk_cons_vote_sign(&v, &f->genesis, f->sk[i]);
            c->sigs[i].validator = i;
            memcpy(c->sigs[i].sig, v.sig, 64);
        }
        c->count = 3;
    }
}

/* An archive opened in a fresh folder (dir: 128 bytes; remove it with
 * jk_test_rm_tree), or NULL. */
static jk_node_archive *archive_fresh(char *dir)
{
    jk_node_archive *a = NULL;
    if (!jk_test_tmpdir("archive", dir, 128) || jk_node_archive_open(dir, &a, NULL) != JK_OK)
        return NULL;
    return a;
}

JK_TEST(test_archive_by_height_and_hash_across_reopen)
{
    static fixture f;
    fixture_make(&f);
    char dir[128];
    jk_node_archive *a = archive_fresh(dir);
    JK_REQUIRE(a != NULL);
    JK_CHECK_EQ(jk_node_archive_top(a), 0);
    for (uint64_t h = 1; h <= 3; h++)
        JK_CHECK_EQ(jk_node_archive_put(a, h, &f.ids[h], f.blocks[h], JK_CHAIN_HEADER_SIZE,
                                        &f.certs[h], NULL), JK_OK);
    jk_node_archive_close(a);
    JK_REQUIRE(jk_node_archive_open(dir, &a, NULL) == JK_OK);
    JK_CHECK_EQ(jk_node_archive_top(a), 3);
    for (uint64_t h = 1; h <= 3; h++) {
        jk_hash id;
        uint8_t *b = NULL;
        size_t len = 0;
        jk_cons_cert c;
        JK_REQUIRE(jk_node_archive_get(a, h, &id, &b, &len, &c, NULL) == JK_OK);
        JK_CHECK_MEM(id.bytes, f.ids[h].bytes, 32);
        JK_CHECK_EQ(len, JK_CHAIN_HEADER_SIZE);
        JK_CHECK_MEM(b, f.blocks[h], JK_CHAIN_HEADER_SIZE);
        JK_CHECK_EQ(jk_cons_cert_check(&c, &f.genesis, &f.vs, h, &f.ids[h], NULL), JK_OK);
        free(b);
        uint64_t at = 0;
        JK_CHECK_EQ(jk_node_archive_find(a, &f.ids[h], &at, NULL), JK_OK);
        JK_CHECK_EQ(at, h);
    }
    JK_CHECK_EQ(jk_node_archive_get(a, 4, NULL, NULL, NULL, NULL, NULL), JK_ERR_NODE_MISSING);
    JK_CHECK_EQ(jk_node_archive_find(a, &f.genesis, &(uint64_t){0}, NULL), JK_ERR_NODE_MISSING);
    jk_node_archive_close(a);
    jk_test_rm_tree(dir);
}

JK_TEST(test_archive_refuses_gaps_and_conflicts)
{
    static fixture f;
    fixture_make(&f);
    char dir[128];
    jk_node_archive *a = archive_fresh(dir);
    JK_REQUIRE(a != NULL);
    jk_diag diag = {{0}};
    JK_CHECK_EQ(jk_node_archive_put(a, 2, &f.ids[2], f.blocks[2], JK_CHAIN_HEADER_SIZE,
                                    &f.certs[2], &diag), JK_ERR_NODE_CONFLICT);
    JK_CHECK(diag.msg[0] != 0);
    JK_CHECK_EQ(jk_node_archive_put(a, 1, &f.ids[1], f.blocks[1], JK_CHAIN_HEADER_SIZE,
                                    &f.certs[1], NULL), JK_OK);
    JK_CHECK_EQ(jk_node_archive_put(a, 1, &f.ids[1], f.blocks[1], JK_CHAIN_HEADER_SIZE,
                                    &f.certs[1], NULL), JK_OK); /* again: fine */
    JK_CHECK_EQ(jk_node_archive_put(a, 1, &f.ids[2], f.blocks[2], JK_CHAIN_HEADER_SIZE,
                                    &f.certs[2], NULL), JK_ERR_NODE_CONFLICT);
    JK_CHECK_EQ(jk_node_archive_top(a), 1);
    jk_node_archive_close(a);
    jk_test_rm_tree(dir);
}

JK_TEST(test_archive_keeps_the_signed_vote_records)
{
    char dir[128];
    jk_node_archive *a = archive_fresh(dir);
    JK_REQUIRE(a != NULL);
    jk_cons_record r = {.present = true, .height = 5, .round = 0, .step = 1,
                        .valid_round = JK_CONS_NIL_ROUND, .locked_round = JK_CONS_NIL_ROUND};
    JK_CHECK_EQ(jk_node_archive_put_record(a, &r, NULL), JK_OK);
    r.step = 2;
    JK_CHECK_EQ(jk_node_archive_put_record(a, &r, NULL), JK_OK);
    const uint8_t pol[5] = {1, 2, 3, 4, 5};
    JK_CHECK_EQ(jk_node_archive_put_pol(a, pol, sizeof pol, NULL), JK_OK);
    jk_node_archive_close(a);
    JK_REQUIRE(jk_node_archive_open(dir, &a, NULL) == JK_OK);
    jk_cons_record *recs;
    size_t n;
    JK_REQUIRE(jk_node_archive_records(a, &recs, &n, NULL) == JK_OK);
    JK_CHECK_EQ(n, 2);
    if (n == 2)
        JK_CHECK_EQ(recs[1].step, 2);
    free(recs);
    r.height = 6;
    r.step = 0;
    JK_CHECK_EQ(jk_node_archive_put_record(a, &r, NULL), JK_OK);
    JK_REQUIRE(jk_node_archive_records(a, &recs, &n, NULL) == JK_OK);
    JK_CHECK_EQ(n, 3); /* a new height: the one below stays (the latest two) */
    if (n == 3)
        JK_CHECK(recs[0].height == 5 && recs[2].height == 6);
    free(recs);
    uint8_t *p;
    size_t plen;
    JK_REQUIRE(jk_node_archive_pol(a, &p, &plen, NULL) == JK_OK);
    JK_CHECK_EQ(plen, 5);
    if (plen == 5)
        JK_CHECK_MEM(p, pol, 5);
    free(p);
    jk_node_archive_close(a);
    jk_test_rm_tree(dir);
}

/* The two encoded votes of an equivocation by validator `who` at (h, r). */
static void equivocation(const fixture *f, uint32_t who, uint64_t h, uint32_t r, uint8_t type,
                         uint8_t out[2 * JK_CONS_VOTE_SIZE])
{
    for (int k = 0; k < 2; k++) {
        jk_cons_vote v = {.type = type, .height = h, .round = r, .has_value = true,
                          .validator = who};
        memset(v.value.bytes, 0x10 + k, 32);
        jk_cons_vote_sign(&v, &f->genesis, f->sk[who]);
        jk_cons_vote_encode(&v, out + k * JK_CONS_VOTE_SIZE);
    }
}

/* Evidence is kept once per (height, round, type, validator), listed in
 * that order, survives a reopen, and stays within its bound by dropping the
 * oldest; bytes that are not one equivocation are refused. */
JK_TEST(test_archive_keeps_evidence_bounded_and_deduplicated)
{
    static fixture f;
    fixture_make(&f);
    char dir[128];
    jk_node_archive *a = archive_fresh(dir);
    JK_REQUIRE(a != NULL);
    uint8_t ev[2 * JK_CONS_VOTE_SIZE];
    bool stored;
    equivocation(&f, 2, 7, 1, JK_CONS_MSG_PRECOMMIT, ev);
    JK_CHECK_EQ(jk_node_archive_put_evidence(a, ev, sizeof ev, &stored, NULL), JK_OK);
    JK_CHECK(stored);
    JK_CHECK_EQ(jk_node_archive_put_evidence(a, ev, sizeof ev, &stored, NULL), JK_OK);
    JK_CHECK(!stored); /* the same equivocation again */
    equivocation(&f, 1, 5, 0, JK_CONS_MSG_PREVOTE, ev);
    JK_CHECK_EQ(jk_node_archive_put_evidence(a, ev, sizeof ev, &stored, NULL), JK_OK);
    JK_CHECK(stored);
    JK_CHECK_EQ(jk_node_archive_evidence_count(a), 2);
    /* not evidence: a short buffer, two votes for one value, two validators */
    jk_diag diag = {{0}};
    JK_CHECK_EQ(jk_node_archive_put_evidence(a, ev, sizeof ev - 1, NULL, &diag),
                JK_ERR_NODE_EVIDENCE);
    uint8_t same[2 * JK_CONS_VOTE_SIZE];
    memcpy(same, ev, JK_CONS_VOTE_SIZE);
    memcpy(same + JK_CONS_VOTE_SIZE, ev, JK_CONS_VOTE_SIZE);
    JK_CHECK_EQ(jk_node_archive_put_evidence(a, same, sizeof same, NULL, &diag),
                JK_ERR_NODE_EVIDENCE);
    uint8_t two[2 * JK_CONS_VOTE_SIZE];
    equivocation(&f, 3, 5, 0, JK_CONS_MSG_PREVOTE, two);
    memcpy(same + JK_CONS_VOTE_SIZE, two + JK_CONS_VOTE_SIZE, JK_CONS_VOTE_SIZE);
    JK_CHECK_EQ(jk_node_archive_put_evidence(a, same, sizeof same, NULL, &diag),
                JK_ERR_NODE_EVIDENCE);
    jk_node_archive_close(a);
    JK_REQUIRE(jk_node_archive_open(dir, &a, NULL) == JK_OK);
    JK_CHECK_EQ(jk_node_archive_evidence_count(a), 2);
    jk_node_evidence list[4];
    size_t n;
    JK_REQUIRE(jk_node_archive_evidence(a, 0, list, 4, &n, NULL) == JK_OK);
    JK_CHECK_EQ(n, 2);
    JK_CHECK(n == 2 && list[0].first.height == 5 && list[1].first.height == 7);
    JK_CHECK(n == 2 && list[1].first.validator == 2 && list[1].second.validator == 2);
    JK_REQUIRE(jk_node_archive_evidence(a, 1, list, 4, &n, NULL) == JK_OK);
    JK_CHECK(n == 1 && list[0].first.height == 7);
    /* the bound: at 3, height 9 pushes out height 5; height 1 is dropped */
    jk_node_archive_set_evidence_max(a, 3);
    equivocation(&f, 0, 8, 0, JK_CONS_MSG_PREVOTE, ev);
    JK_CHECK_EQ(jk_node_archive_put_evidence(a, ev, sizeof ev, &stored, NULL), JK_OK);
    equivocation(&f, 0, 9, 0, JK_CONS_MSG_PREVOTE, ev);
    JK_CHECK_EQ(jk_node_archive_put_evidence(a, ev, sizeof ev, &stored, NULL), JK_OK);
    JK_CHECK(stored);
    equivocation(&f, 0, 1, 0, JK_CONS_MSG_PREVOTE, ev);
    JK_CHECK_EQ(jk_node_archive_put_evidence(a, ev, sizeof ev, &stored, NULL), JK_OK);
    JK_CHECK(!stored);
    JK_CHECK_EQ(jk_node_archive_evidence_count(a), 3);
    JK_REQUIRE(jk_node_archive_evidence(a, 0, list, 4, &n, NULL) == JK_OK);
    JK_CHECK(n == 3 && list[0].first.height == 7 && list[1].first.height == 8 &&
             list[2].first.height == 9);
    jk_node_archive_close(a);
    jk_test_rm_tree(dir);
}

typedef struct importer {
    uint64_t heights[8];
    size_t n;
} importer;

static jk_err import_ok(void *ctx, uint64_t height, const uint8_t *block, size_t len,
                        jk_diag *diag)
{
    (void)block;
    (void)len;
    (void)diag;
    importer *im = ctx;
    if (im->n < 8)
        im->heights[im->n++] = height;
    return JK_OK;
}

JK_TEST(test_sync_imports_in_order_only_with_valid_certificates)
{
    static fixture f;
    fixture_make(&f);
    char dir[128];
    jk_node_archive *a = archive_fresh(dir);
    JK_REQUIRE(a != NULL);
    jk_node_sync_item items[3];
    for (int i = 0; i < 3; i++)
        items[i] = (jk_node_sync_item){.height = (uint64_t)i + 1, .block = f.blocks[i + 1],
                                       .len = JK_CHAIN_HEADER_SIZE, .cert = f.certs[i + 1]};
    importer im = {{0}, 0};
    size_t done = 0;
    jk_diag diag = {{0}};
    /* Block 2's certificate is one precommit short: block 1 only. */
    items[1].cert.count = 2;
    JK_CHECK_EQ(jk_node_sync(a, &f.vs, &f.genesis, items, 3, import_ok, &im, &done, &diag),
                JK_ERR_CONS_CERT);
    JK_CHECK_EQ(done, 1);
    JK_CHECK_EQ(im.n, 1);
    JK_CHECK_EQ(jk_node_archive_top(a), 1);
    /* A certificate of another block. */
    items[1].cert = f.certs[3];
    items[1].cert.height = 2;
    JK_CHECK_EQ(jk_node_sync(a, &f.vs, &f.genesis, items + 1, 2, import_ok, &im, &done, &diag),
                JK_ERR_CONS_CERT);
    JK_CHECK_EQ(im.n, 1);
    /* Out of order. */
    JK_CHECK_EQ(jk_node_sync(a, &f.vs, &f.genesis, items + 2, 1, import_ok, &im, &done, &diag),
                JK_ERR_NODE_CONFLICT);
    /* The honest batch. */
    items[1].cert = f.certs[2];
    JK_CHECK_EQ(jk_node_sync(a, &f.vs, &f.genesis, items + 1, 2, import_ok, &im, &done, &diag),
                JK_OK);
    JK_CHECK_EQ(done, 2);
    JK_CHECK_EQ(im.n, 3);
    JK_CHECK_EQ(im.heights[2], 3);
    JK_CHECK_EQ(jk_node_archive_top(a), 3);
    jk_node_archive_close(a);
    jk_test_rm_tree(dir);
}
