/*
 * test_chain_app.c — the chain-backed consensus application
 * (src/node/chain_app.c) on the demo chain, driven through its jk_cons_app
 * callbacks as the machine drives them: produce, check, commit with a
 * certificate, last_commit, a proposal that is not decided (rewind), resume
 * from the store (head and archive in one transaction), the LastCommit each
 * block carries, sync, the value's frame bound. Events and RPC:
 * test_chain_app_events.c; the fixture: chain_app_fx.c.
 */
#include "chain_app_fx.h"
#include "../../src/chain/internal.h"

JK_TEST(test_chain_app_produce_check_commit_with_last_commit)
{
    static fx f;
    JK_REQUIRE(fx_make(&f));
    JK_CHECK(fx_gossip(&f, 1, 8) > 0);
    jk_cons_cert c1, c2;
    JK_REQUIRE(fx_decide(&f, 1, 0, &c1));
    jk_hash r0, ri;
    fx_root(&f, 0, &r0);
    for (uint32_t i = 0; i < V; i++) {
        jk_node_validator *v = jk_node_chain_app_validator(f.apps[i]);
        JK_CHECK_EQ(v->height, 1);
        JK_CHECK_MEM(v->head_hash.bytes, c1.value.bytes, 32);
        fx_root(&f, i, &ri);
        JK_CHECK_MEM(ri.bytes, r0.bytes, 32);
        JK_CHECK_EQ(jk_node_archive_top(jk_node_chain_app_archive(f.apps[i])), 1);
    }
    jk_node_chain_app_stats st;
    jk_node_chain_app_stats_get(f.apps[1], &st);
    JK_CHECK_EQ(st.last_events, 8);
    /* the checkers adopted check_block's state: apply ran once per block */
    jk_node_chain_app_stats_get(f.apps[0], &st);
    JK_CHECK_EQ(st.checked, 1);

    /* height 2's header commits to height 1's certificate */
    fx_gossip(&f, 2, 4);
    uint32_t p = jk_chain_proposer_index(V, 2, 0);
    uint8_t *value;
    size_t len;
    JK_REQUIRE(f.cb[p].get_value(f.apps[p], 2, 0, &value, &len) == JK_OK);
    jk_chain_header h;
    JK_REQUIRE(jk_chain_header_decode(value, JK_CHAIN_HEADER_SIZE, &h, NULL) == JK_OK);
    jk_hash want;
    jk_cons_cert_hash(&c1, &want);
    JK_CHECK_MEM(h.last_commit.bytes, want.bytes, 32);
    JK_CHECK_EQ(h.round, 0);
    /* a value for another height, a mangled one, and garbage are not valid */
    JK_CHECK(!f.cb[0].valid(f.apps[0], 3, value, len));
    value[len - 1] ^= 1;
    JK_CHECK(!f.cb[0].valid(f.apps[0], 2, value, len));
    value[len - 1] ^= 1;
    uint8_t junk[5] = {1, 2, 3, 4, 5};
    JK_CHECK(!f.cb[0].valid(f.apps[0], 2, junk, sizeof junk));
    JK_CHECK(f.cb[0].valid(f.apps[0], 2, value, len));
    free(value);
    JK_CHECK(fx_decide(&f, 2, 1, &c2)); /* round 1's proposer this time */
    fx_root(&f, 0, &r0);
    for (uint32_t i = 1; i < V; i++) {
        fx_root(&f, i, &ri);
        JK_CHECK_MEM(ri.bytes, r0.bytes, 32);
    }
    /* get_decision answers from the archive */
    const uint8_t *dv;
    size_t dl;
    const jk_cons_cert *dc;
    JK_REQUIRE(f.cb[3].get_decision(f.apps[3], 1, &dv, &dl, &dc));
    JK_CHECK_MEM(dc->value.bytes, c1.value.bytes, 32);
    JK_CHECK(!f.cb[3].get_decision(f.apps[3], 3, &dv, &dl, &dc));
    fx_free(&f);
}

/* The round-0 proposer produced (its Kernel moved past the head), but round
 * 1's block was decided: it must rewind and end at everyone's root, and the
 * events it had put in its own block stay in its pool. */
JK_TEST(test_chain_app_undecided_proposal_rewinds)
{
    static fx f;
    JK_REQUIRE(fx_make(&f));
    fx_gossip(&f, 1, 6);
    uint32_t p0 = jk_chain_proposer_index(V, 1, 0);
    uint8_t *value;
    size_t len;
    JK_REQUIRE(f.cb[p0].get_value(f.apps[p0], 1, 0, &value, &len) == JK_OK);
    free(value);
    jk_cons_cert c;
    /* round 1: another proposer, a block with the same events */
    JK_REQUIRE(fx_decide(&f, 1, 1, &c));
    jk_node_chain_app_stats st;
    jk_node_chain_app_stats_get(f.apps[p0], &st);
    JK_CHECK(st.rewinds >= 1);
    JK_CHECK_EQ(st.last_round, 1);
    JK_CHECK_EQ(st.last_proposer, jk_chain_proposer_index(V, 1, 1));
    JK_CHECK_EQ(st.last_events, 6);
    jk_hash r0, ri;
    fx_root(&f, p0 == 0 ? 1 : 0, &r0);
    fx_root(&f, p0, &ri);
    JK_CHECK_MEM(ri.bytes, r0.bytes, 32);
    /* a proposal that is not decided and whose events are not in the
     * decided block: p0 keeps them and proposes them next */
    fx_gossip(&f, 2, 5);
    uint32_t q = jk_chain_proposer_index(V, 2, 0);
    JK_REQUIRE(f.cb[q].get_value(f.apps[q], 2, 0, &value, &len) == JK_OK);
    free(value);
    /* an empty block from another validator is decided instead: q must
     * rewind and re-admit its 5 events */
    uint32_t r = jk_chain_proposer_index(V, 2, 1);
    jk_node_chain_app *app_r = f.apps[r];
    jk_node_chain_app_close(app_r);
    /* r reopened from its store: its pool is empty, so its block is too */
    JK_REQUIRE(fx_open_app(&f, r));
    JK_REQUIRE(f.cb[r].get_value(f.apps[r], 2, 1, &value, &len) == JK_OK);
    jk_hash id;
    f.cb[0].hash(f.apps[0], value, len, &id);
    fx_cert(&f, 2, 1, &id, &c);
    for (uint32_t i = 0; i < V; i++) {
        JK_CHECK(f.cb[i].valid(f.apps[i], 2, value, len));
        JK_CHECK(f.cb[i].commit(f.apps[i], 2, value, len, &c) == JK_OK);
    }
    free(value);
    jk_node_chain_app_stats_get(f.apps[q], &st);
    JK_CHECK_EQ(st.last_events, 0);
    /* height 3 proposed by q carries the 5 events again */
    uint32_t p3 = jk_chain_proposer_index(V, 3, 0);
    if (p3 == q) {
        JK_REQUIRE(fx_decide(&f, 3, 0, &c));
        jk_node_chain_app_stats_get(f.apps[q], &st);
        JK_CHECK_EQ(st.last_events, 5);
    } else {
        JK_REQUIRE(f.cb[q].get_value(f.apps[q], 3, (q + V - p3) % V, &value, &len) == JK_OK);
        jk_chain_block b;
        jk_node_value *val = malloc(sizeof *val);
        JK_REQUIRE(val && jk_node_value_decode(value, len, val, NULL) == JK_OK);
        JK_REQUIRE(jk_chain_block_decode(val->block, val->block_len, &b, NULL) == JK_OK);
        free(val);
        JK_CHECK_EQ(b.event_count, 5);
        jk_chain_block_free(&b);
        free(value);
    }
    fx_free(&f);
}

/* Reopening resumes exactly at the last commit: the head and the archive
 * are one transaction, so height, block hash, state root, the archive's
 * top, the head's certificate (what the next proposal carries) and the
 * signed-vote record all come back together. */
JK_TEST(test_chain_app_resumes_exactly_from_one_transaction)
{
    static fx f;
    JK_REQUIRE(fx_make(&f));
    fx_gossip(&f, 1, 4);
    jk_cons_cert c1, c2;
    JK_REQUIRE(fx_decide(&f, 1, 0, &c1));
    fx_gossip(&f, 2, 3);
    JK_REQUIRE(fx_decide(&f, 2, 0, &c2));
    /* validator 0 signed something at height 3 before the crash */
    jk_cons_out out = {.kind = JK_CONS_OUT_PERSIST};
    out.record = (jk_cons_record){.present = true, .height = 3, .round = 0,
                                  .step = JK_CONS_STEP_PREVOTE, .valid_round = JK_CONS_NIL_ROUND,
                                  .locked_round = JK_CONS_NIL_ROUND};
    JK_CHECK(jk_node_chain_app_persist(f.apps[0], &out, NULL) == JK_OK);
    /* a commit whose archive half fails writes nothing, the head included:
     * height 3 with a "carried" certificate for another block than 2 */
    jk_node_validator *v3 = jk_node_chain_app_validator(f.apps[3]);
    jk_cons_cert bogus;
    fx_cert(&f, 2, 0, &c1.value, &bogus);
    jk_diag diag = {{0}};
    jk_hash fake;
    memset(fake.bytes, 7, 32);
    uint8_t blk[JK_CHAIN_HEADER_SIZE] = {0};
    JK_CHECK_EQ(jk_node_archive_commit(jk_node_chain_app_archive(f.apps[3]), v3, 3, &fake, blk,
                                       sizeof blk, &c2, &bogus, &diag),
                JK_ERR_NODE_CONFLICT);
    JK_CHECK_EQ(v3->height, 2);
    jk_hash r0;
    fx_root(&f, 0, &r0);
    for (uint32_t i = 0; i < V; i++) {
        jk_node_chain_app_close(f.apps[i]);
        f.apps[i] = NULL;
    }
    for (uint32_t i = 0; i < V; i++) {
        JK_REQUIRE(fx_open_app(&f, i));
        jk_node_validator *v = jk_node_chain_app_validator(f.apps[i]);
        JK_CHECK_EQ(v->height, 2);
        JK_CHECK_MEM(v->head_hash.bytes, c2.value.bytes, 32);
        JK_CHECK_EQ(jk_node_archive_top(jk_node_chain_app_archive(f.apps[i])), 2);
        jk_hash ri;
        fx_root(&f, i, &ri);
        JK_CHECK_MEM(ri.bytes, r0.bytes, 32);
    }
    /* validator 0's machine resumes at height 3 with its record: it will
     * not sign another prevote in round 0 */
    jk_cons_valset vs;
    jk_node_chain_app_valset(f.apps[0], &vs);
    JK_CHECK_EQ(vs.count, V);
    jk_cons_record *recs = NULL;
    size_t nrecs = 0;
    JK_REQUIRE(jk_node_archive_records(jk_node_chain_app_archive(f.apps[0]), &recs, &nrecs,
                                       NULL) == JK_OK);
    JK_CHECK_EQ(nrecs, 1);
    JK_CHECK(nrecs == 1 && recs[0].height == 3 && recs[0].step == JK_CONS_STEP_PREVOTE);
    free(recs);
    jk_cons_timeouts t = {100, 50, 100, 50, 100, 50, 200};
    jk_cons_machine *m = NULL;
    JK_REQUIRE(jk_node_chain_app_machine(f.apps[0], &t, &vs, &m, NULL) == JK_OK);
    jk_cons_status st;
    jk_cons_status_get(m, &st);
    JK_CHECK_EQ(st.height, 3);
    jk_cons_machine_free(m);
    /* the next block carries c2 and its header names it */
    uint32_t p3 = jk_chain_proposer_index(V, 3, 0);
    uint8_t *value;
    size_t len;
    JK_REQUIRE(f.cb[p3].get_value(f.apps[p3], 3, 0, &value, &len) == JK_OK);
    jk_node_value *val = malloc(sizeof *val);
    JK_REQUIRE(val && jk_node_value_decode(value, len, val, NULL) == JK_OK);
    JK_CHECK(val->has_cert);
    JK_CHECK_MEM(val->cert.value.bytes, c2.value.bytes, 32);
    jk_chain_header h;
    JK_REQUIRE(jk_chain_header_decode(value, JK_CHAIN_HEADER_SIZE, &h, NULL) == JK_OK);
    jk_hash want;
    jk_cons_cert_hash(&c2, &want);
    JK_CHECK_MEM(h.last_commit.bytes, want.bytes, 32);
    free(val);
    free(value);
    fx_free(&f);
}

/* A store of the old layout (the archive in DIR/archive, its own LMDB
 * environment) is refused with the fix named. */
JK_TEST(test_chain_app_refuses_the_old_archive_layout)
{
    static fx f;
    JK_REQUIRE(fx_make(&f));
    jk_node_chain_app_close(f.apps[1]);
    f.apps[1] = NULL;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/v1/archive", f.dir);
    JK_REQUIRE(mkdir(path, 0755) == 0);
    snprintf(path, sizeof path, "%s/v1/archive/data.mdb", f.dir);
    FILE *fp = fopen(path, "w");
    JK_REQUIRE(fp != NULL);
    fclose(fp);
    snprintf(path, sizeof path, "%s/v1", f.dir);
    jk_diag diag = {{0}};
    JK_CHECK_EQ(jk_node_chain_app_open(path, f.keys[1].sk, &f.genesis, &f.apps[1], &diag),
                JK_ERR_NODE_OLD_LAYOUT);
    JK_CHECK(strstr(diag.msg, "old layout") != NULL);
    JK_CHECK(f.apps[1] == NULL);
    fx_free(&f);
}

/* Tendermint's LastCommit: block 2 carries a certificate of block 1 that
 * its header names, and every validator checks it before it prevotes. The
 * proposers of rounds 0..2 committed block 1 with a bad certificate (short
 * of 2f+1, signed by keys that are no validator's, for another block), so
 * the values they propose carry it; round 3's proposer has a good one. */
JK_TEST(test_chain_app_refuses_a_bad_last_commit)
{
    static fx f;
    JK_REQUIRE(fx_make(&f));
    fx_gossip(&f, 1, 2);
    uint32_t p1 = jk_chain_proposer_index(V, 1, 0);
    uint8_t *value;
    size_t len;
    JK_REQUIRE(f.cb[p1].get_value(f.apps[p1], 1, 0, &value, &len) == JK_OK);
    jk_hash id1, other;
    f.cb[0].hash(f.apps[0], value, len, &id1);
    memset(other.bytes, 9, 32);
    jk_cons_cert bad[3], good;
    fx_cert_by(&f, 1, 0, &id1, 0, 2, false, &bad[0]);  /* 2 < 2f+1 = 3 */
    fx_cert_by(&f, 1, 0, &id1, 1, 3, true, &bad[1]);   /* not the validators' keys */
    fx_cert_by(&f, 1, 0, &other, 0, 3, false, &bad[2]); /* for another block */
    fx_cert_by(&f, 1, 2, &id1, 1, 3, false, &good);     /* any round, any 2f+1 */
    for (uint32_t i = 0; i < V; i++) {
        const jk_cons_cert *c = &good;
        for (uint32_t r = 0; r < 3; r++)
            if (i == jk_chain_proposer_index(V, 2, r))
                c = &bad[r];
        JK_CHECK(f.cb[i].valid(f.apps[i], 1, value, len));
        JK_REQUIRE(f.cb[i].commit(f.apps[i], 1, value, len, c) == JK_OK);
    }
    free(value);
    for (uint32_t r = 0; r < 4; r++) {
        uint32_t p = jk_chain_proposer_index(V, 2, r);
        JK_REQUIRE(f.cb[p].get_value(f.apps[p], 2, r, &value, &len) == JK_OK);
        for (uint32_t i = 0; i < V; i++) {
            if (i == p)
                continue;
            bool ok = f.cb[i].valid(f.apps[i], 2, value, len);
            JK_CHECK_EQ(ok, r == 3);
            if (r < 3) {
                jk_node_chain_app_stats st;
                jk_node_chain_app_stats_get(f.apps[i], &st);
                JK_CHECK(strstr(st.last_error, "LastCommit") != NULL);
            }
        }
        if (r == 3) {
            /* the good value with another valid certificate swapped in: the
             * header no longer names it */
            jk_node_value *val = malloc(sizeof *val);
            JK_REQUIRE(val && jk_node_value_decode(value, len, val, NULL) == JK_OK);
            uint8_t *swapped;
            size_t slen;
            jk_cons_cert c2;
            fx_cert_by(&f, 1, 0, &id1, 0, 3, false, &c2);
            JK_REQUIRE(jk_node_value_encode(val->block, val->block_len, &c2, &swapped, &slen) ==
                       JK_OK);
            JK_CHECK(!f.cb[0].valid(f.apps[0], 2, swapped, slen));
            jk_hash a, b;
            f.cb[0].hash(f.apps[0], swapped, slen, &a);
            f.cb[0].hash(f.apps[0], value, len, &b);
            JK_CHECK(memcmp(a.bytes, b.bytes, 32) != 0); /* two values, two ids */
            free(swapped);
            /* and without any certificate */
            JK_REQUIRE(jk_node_value_encode(val->block, val->block_len, NULL, &swapped, &slen) ==
                       JK_OK);
            JK_CHECK(!f.cb[0].valid(f.apps[0], 2, swapped, slen));
            free(swapped);
            free(val);
            /* decided: everyone archives the carried certificate as block
             * 1's, so the archives agree below the top */
            jk_hash id2;
            f.cb[0].hash(f.apps[0], value, len, &id2);
            jk_cons_cert c;
            fx_cert(&f, 2, 3, &id2, &c);
            for (uint32_t i = 0; i < V; i++) {
                JK_CHECK(i == p || f.cb[i].valid(f.apps[i], 2, value, len));
                JK_CHECK(f.cb[i].commit(f.apps[i], 2, value, len, &c) == JK_OK);
                jk_cons_cert got;
                JK_REQUIRE(jk_node_archive_get(jk_node_chain_app_archive(f.apps[i]), 1, NULL,
                                               NULL, NULL, &got, NULL) == JK_OK);
                JK_CHECK_EQ(got.round, 2);
                JK_CHECK_EQ(got.sigs[0].validator, 1);
            }
        }
        free(value);
    }
    fx_free(&f);
}

/* Sync through the app from genesis: each value's certificate and its
 * carried LastCommit are checked before the block is committed, in order;
 * a refused item stops the batch with nothing of it committed. */
JK_TEST(test_chain_app_sync_checks_every_certificate)
{
    static fx f;
    JK_REQUIRE(fx_make(&f));
    enum { H = 3 };
    jk_cons_cert c;
    for (uint64_t h = 1; h <= H; h++) {
        fx_gossip(&f, h, 3);
        JK_REQUIRE(fx_decide(&f, h, 0, &c));
    }
    /* what app 0 serves */
    static jk_node_sync_item items[H];
    uint8_t *values[H];
    for (uint64_t h = 1; h <= H; h++) {
        const uint8_t *v;
        size_t len;
        const jk_cons_cert *cert;
        JK_REQUIRE(f.cb[0].get_decision(f.apps[0], h, &v, &len, &cert));
        values[h - 1] = malloc(len);
        JK_REQUIRE(values[h - 1] != NULL);
        memcpy(values[h - 1], v, len);
        items[h - 1] = (jk_node_sync_item){.height = h, .block = values[h - 1], .len = len,
                                           .cert = *cert};
    }
    char d[PATH_MAX];
    snprintf(d, sizeof d, "%s/synced", f.dir);
    jk_node_chain_app *s = NULL;
    jk_diag diag = {{0}};
    JK_REQUIRE(jk_node_chain_app_open(d, f.keys[3].sk, &f.genesis, &s, &diag) == JK_OK);
    size_t done = 99;
    /* out of order */
    JK_CHECK_EQ(jk_node_chain_app_sync(s, items + 1, 1, &done, &diag), JK_ERR_NODE_CONFLICT);
    JK_CHECK_EQ(done, 0);
    /* a certificate short of 2f+1 */
    static jk_node_sync_item bad;
    bad = items[0];
    bad.cert.count = 2;
    JK_CHECK_EQ(jk_node_chain_app_sync(s, &bad, 1, &done, &diag), JK_ERR_CONS_CERT);
    /* block 2 with another (valid) certificate of block 1 swapped in, and a
     * certificate for the resulting value: its LastCommit is refused */
    JK_REQUIRE(jk_node_chain_app_sync(s, items, 1, &done, &diag) == JK_OK);
    JK_CHECK_EQ(done, 1);
    jk_node_value *val = malloc(sizeof *val);
    JK_REQUIRE(val && jk_node_value_decode(items[1].block, items[1].len, val, NULL) == JK_OK);
    uint8_t *swapped;
    size_t slen;
    jk_cons_cert other;
    fx_cert_by(&f, 1, 1, &items[0].cert.value, 1, 3, false, &other);
    JK_REQUIRE(jk_node_value_encode(val->block, val->block_len, &other, &swapped, &slen) ==
               JK_OK);
    free(val);
    bad = (jk_node_sync_item){.height = 2, .block = swapped, .len = slen};
    jk_hash id;
    f.cb[0].hash(f.apps[0], swapped, slen, &id);
    fx_cert(&f, 2, 0, &id, &bad.cert);
    diag.msg[0] = 0;
    JK_CHECK_EQ(jk_node_chain_app_sync(s, &bad, 1, &done, &diag), JK_ERR_CONS_VALUE);
    JK_CHECK(diag.msg[0] != 0);
    free(swapped);
    JK_CHECK_EQ(jk_node_chain_app_validator(s)->height, 1);
    /* the rest */
    JK_CHECK_EQ(jk_node_chain_app_sync(s, items + 1, H - 1, &done, &diag), JK_OK);
    JK_CHECK_EQ(done, H - 1);
    jk_hash r0, rs;
    jk_node_chain_app_root(f.apps[0], &r0);
    jk_node_chain_app_root(s, &rs);
    JK_CHECK_MEM(rs.bytes, r0.bytes, 32);
    /* below the top, the synced archive holds the certificates the chain
     * carried, as every archive does */
    for (uint64_t h = 1; h < H; h++) {
        jk_cons_cert a, b;
        JK_REQUIRE(jk_node_archive_get(jk_node_chain_app_archive(s), h, NULL, NULL, NULL, &a,
                                       NULL) == JK_OK);
        JK_REQUIRE(jk_node_archive_get(jk_node_chain_app_archive(f.apps[0]), h, NULL, NULL, NULL,
                                       &b, NULL) == JK_OK);
        jk_hash ha, hb;
        jk_cons_cert_hash(&a, &ha);
        jk_cons_cert_hash(&b, &hb);
        JK_CHECK_MEM(ha.bytes, hb.bytes, 32);
    }
    jk_node_chain_app_close(s);
    for (uint64_t h = 0; h < H; h++)
        free(values[h]);
    fx_free(&f);
}

static size_t fx_sig_entries(const fx *f, uint32_t i)
{
    return jk_chain_sig_entries(jk_node_chain_app_validator(f->apps[i])->ck);
}

/* A rewind (the proposal was not decided) builds a new Kernel on the
 * committed chain; the signature checks that succeeded go with it, so the
 * re-admitted pool and the decided block's import do not verify every
 * trace's Ed25519 signature again. A commit lets the block's traces go
 * (the cache holds what is pending: session 11). */
JK_TEST(test_chain_app_rewind_keeps_signature_checks)
{
    static fx f;
    JK_REQUIRE(fx_make(&f));
    JK_CHECK_EQ(fx_gossip(&f, 1, 6), 6);
    jk_cons_cert c;
    JK_REQUIRE(fx_decide(&f, 1, 0, &c));
    JK_CHECK_EQ(fx_gossip(&f, 2, 5), 5);
    uint32_t q = jk_chain_proposer_index(V, 2, 0);
    uint8_t *value;
    size_t len;
    JK_REQUIRE(f.cb[q].get_value(f.apps[q], 2, 0, &value, &len) == JK_OK);
    free(value);
    /* block 1's six committed traces are gone, the five pending are there */
    JK_CHECK_EQ(fx_sig_entries(&f, q), 5);
    /* round 1's block (the same 5 events) is decided: q rewinds when it
     * checks it, and keeps the five */
    jk_node_chain_app_stats st0, st1;
    jk_node_chain_app_stats_get(f.apps[q], &st0);
    uint32_t p = jk_chain_proposer_index(V, 2, 1);
    JK_REQUIRE(p != q);
    uint64_t checks = jk_crypto_ed25519_verifies();
    JK_REQUIRE(f.cb[p].get_value(f.apps[p], 2, 1, &value, &len) == JK_OK);
    jk_hash id;
    f.cb[0].hash(f.apps[0], value, len, &id);
    for (uint32_t i = 0; i < V; i++)
        JK_CHECK(f.cb[i].valid(f.apps[i], 2, value, len));
    jk_node_chain_app_stats_get(f.apps[q], &st1);
    JK_CHECK_EQ(st1.rewinds, st0.rewinds + 1);
    JK_CHECK_EQ(fx_sig_entries(&f, q), 5);
    /* no event's signature was checked again: only the block's, by the
     * three validators that did not produce it */
    JK_CHECK_EQ(jk_crypto_ed25519_verifies() - checks, V - 1);
    fx_cert(&f, 2, 1, &id, &c);
    checks = jk_crypto_ed25519_verifies();
    for (uint32_t i = 0; i < V; i++)
        JK_CHECK_EQ(f.cb[i].commit(f.apps[i], 2, value, len, &c), JK_OK);
    free(value);
    /* the commits adopt what valid() checked: no signature again */
    JK_CHECK_EQ(jk_crypto_ed25519_verifies() - checks, 0);
    jk_node_chain_app_stats_get(f.apps[q], &st1);
    JK_CHECK_EQ(st1.last_events, 5);
    JK_CHECK_EQ(fx_sig_entries(&f, q), 0);
    fx_free(&f);
}

/* A rewind re-admits a pending transact through the verdict its verify
 * gave on the committed head it rebuilds on (jk_chain_pool_admit_verified),
 * with no verify run; one admitted after the proposal, on the proposed
 * state, is verified again on the committed one. (Before: every pending
 * event verified again at each rewind.) */
JK_TEST(test_chain_app_rewind_keeps_verdicts)
{
    static fx f;
    JK_REQUIRE(fx_make(&f));
    JK_CHECK_EQ(fx_gossip(&f, 1, 6), 6);
    jk_cons_cert c;
    JK_REQUIRE(fx_decide(&f, 1, 0, &c));
    JK_CHECK_EQ(fx_gossip(&f, 2, 5), 5);
    uint32_t q = jk_chain_proposer_index(V, 2, 0);
    JK_REQUIRE(q != jk_chain_proposer_index(V, 2, 1));
    uint8_t *value;
    size_t len;
    JK_REQUIRE(f.cb[q].get_value(f.apps[q], 2, 0, &value, &len) == JK_OK);
    free(value);
    /* one more transfer reaches q alone, after its proposal */
    jk_devnet_demo_block(&f.demo, &f.genesis.genesis_hash, 3, 1, &f.gossip);
    uint8_t *late;
    size_t late_len;
    JK_REQUIRE(fx_encode(&f, 0, &late, &late_len) == JK_OK);
    jk_node_chain_app_stats st0, st1;
    jk_node_chain_app_stats_get(f.apps[q], &st0);
    JK_CHECK(f.cb[q].add_event(f.apps[q], late, late_len));
    free(late);
    JK_REQUIRE(fx_decide(&f, 2, 1, &c)); /* round 1's block: q rewinds */
    jk_node_chain_app_stats_get(f.apps[q], &st1);
    JK_CHECK_EQ(st1.rewinds, st0.rewinds + 1);
    JK_CHECK_EQ(st1.last_events, 5);
    /* the late one at its admission and again at the rewind; the 5 never */
    JK_CHECK_EQ(st1.verify_runs, st0.verify_runs + 2);
    jk_hash r0, rq;
    fx_root(&f, 0, &r0);
    fx_root(&f, q, &rq);
    JK_CHECK_MEM(r0.bytes, rq.bytes, 32);
    fx_free(&f);
}

/* A value must fit one consensus frame: a pool whose block would be longer
 * than the app's bound is produced again with fewer events, so every value
 * stays within the bound, the chain keeps committing, and every event gets
 * in over the following heights (a pool of large events must not make every
 * proposal undeliverable). */
JK_TEST(test_chain_app_value_fits_the_frame_bound)
{
    static fx f;
    JK_REQUIRE(fx_make(&f));
    enum { MAXV = 3000, N = 40 };
    for (uint32_t i = 0; i < V; i++)
        jk_node_chain_app_set_max_value(f.apps[i], MAXV);
    JK_REQUIRE(fx_gossip(&f, 1, N) == N);
    size_t committed = 0;
    jk_node_chain_app_stats st;
    for (uint64_t h = 1; h <= 30 && committed < N; h++) {
        uint32_t p = jk_chain_proposer_index(V, h, 0);
        uint8_t *value = NULL;
        size_t len = 0;
        JK_REQUIRE(f.cb[p].get_value(f.apps[p], h, 0, &value, &len) == JK_OK);
        JK_CHECK(len <= MAXV);
        jk_hash id;
        f.cb[0].hash(f.apps[0], value, len, &id);
        jk_cons_cert c;
        fx_cert(&f, h, 0, &id, &c);
        for (uint32_t i = 0; i < V; i++) {
            JK_CHECK(f.cb[i].valid(f.apps[i], h, value, len));
            JK_CHECK(f.cb[i].commit(f.apps[i], h, value, len, &c) == JK_OK);
        }
        free(value);
        jk_node_chain_app_stats_get(f.apps[p], &st);
        committed += st.last_events;
        JK_CHECK(st.last_events < N); /* never the whole pool in one block */
    }
    JK_CHECK_EQ(committed, N);
    uint64_t retries = 0;
    for (uint32_t i = 0; i < V; i++) {
        jk_node_chain_app_stats_get(f.apps[i], &st);
        retries += st.produce_retries;
        JK_CHECK_EQ(jk_node_chain_app_pending_count(f.apps[i]), 0);
    }
    JK_CHECK(retries > 0);
    fx_free(&f);
}

/* The proposer-side cap on a block's events (docs/node.md "Block size"):
 * a pool of 20 transfers goes out as 7 + 7 + 6 with a cap of 7, in one
 * block without it, and a produce never runs twice for the cap. */
JK_TEST(test_chain_app_block_event_cap)
{
    static fx f;
    JK_REQUIRE(fx_make(&f));
    enum { CAP = 7, N = 20 };
    for (uint32_t i = 0; i < V; i++)
        jk_node_chain_app_set_max_block_events(f.apps[i], CAP);
    JK_REQUIRE(fx_gossip(&f, 1, N) == N);
    const uint64_t want[] = {CAP, CAP, N - 2 * CAP};
    jk_node_chain_app_stats st;
    jk_cons_cert c;
    for (uint64_t h = 1; h <= 3; h++) {
        JK_REQUIRE(fx_decide(&f, h, 0, &c));
        jk_node_chain_app_stats_get(f.apps[0], &st);
        JK_CHECK_EQ(st.last_events, want[h - 1]);
    }
    for (uint32_t i = 0; i < V; i++) {
        jk_node_chain_app_stats_get(f.apps[i], &st);
        JK_CHECK_EQ(st.produce_retries, 0);
        JK_CHECK_EQ(jk_node_chain_app_pending_count(f.apps[i]), 0);
        jk_node_chain_app_set_max_block_events(f.apps[i], 0); /* no cap */
    }
    JK_REQUIRE(fx_gossip(&f, 4, N) == N);
    JK_REQUIRE(fx_decide(&f, 4, 0, &c));
    jk_node_chain_app_stats_get(f.apps[0], &st);
    JK_CHECK_EQ(st.last_events, N);
    fx_free(&f);
}
