/*
 * test_chain_app.c — the chain-backed consensus application
 * (src/node/chain_app.c) on the demo chain, driven through its jk_cons_app
 * callbacks as the machine drives them: produce, check, commit with a
 * certificate, last_commit, a proposal that is not decided (rewind), gossip
 * dedup, resume from the store (head and archive in one transaction), the
 * LastCommit each block carries, and the gossip event codec.
 */
#include "../test.h"
#include "../progs.h"

#include "../../src/devnet/internal.h"
#include "jark/bytes.h"
#include "jark/node.h"

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>

#define V 4

typedef struct fx {
    jk_spec_file spec;
    jk_chain_genesis genesis;
    jk_keypair keys[V];
    uint8_t pks[V][32];
    jk_demo demo;
    char dir[256];
    jk_node_chain_app *apps[V];
    jk_cons_app cb[V];
    jk_gossip gossip;
} fx;

static bool fx_open_app(fx *f, uint32_t i)
{
    char d[PATH_MAX];
    snprintf(d, sizeof d, "%s/v%u", f->dir, i);
    jk_diag diag = {{0}};
    jk_err e = jk_node_chain_app_open(d, f->keys[i].sk, &f->genesis, &f->apps[i], &diag);
    if (e != JK_OK) {
        fprintf(stderr, "open app %u: %s\n", i, diag.msg);
        return false;
    }
    jk_node_chain_app_bind(f->apps[i], &f->cb[i]);
    return true;
}

/* The demo chain with V validators derived from seed 1, one app each. */
static bool fx_make(fx *f)
{
    memset(f, 0, sizeof *f);
    const char *sdk = jk_sdk_dir();
    if (!sdk || jk_crypto_init() != JK_OK)
        return false;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%.3000s/../examples/demo/devnet-spec.json", sdk);
    jk_diag diag = {{0}};
    if (jk_spec_file_load(path, NULL, &f->spec, &diag) != JK_OK) {
        fprintf(stderr, "%s\n", diag.msg);
        return false;
    }
    jk_demo_init(&f->demo, 1, &f->spec.spec);
    for (uint32_t i = 0; i < V; i++) {
        jk_devnet_derive_key("validator", 1, i, &f->keys[i]);
        memcpy(f->pks[i], f->keys[i].pk, 32);
    }
    f->spec.spec.validators = (const uint8_t(*)[32])f->pks;
    f->spec.spec.validator_count = V;
    if (jk_chain_genesis_build(&f->spec.spec, &f->genesis, &diag) != JK_OK)
        return false;
    jk_test_tmpdir("chain-app", f->dir, sizeof f->dir);
    for (uint32_t i = 0; i < V; i++)
        if (!fx_open_app(f, i))
            return false;
    return true;
}

static void fx_free(fx *f)
{
    for (uint32_t i = 0; i < V; i++)
        jk_node_chain_app_close(f->apps[i]);
    jk_test_rm_tree(f->dir);
    jk_cap_release(f->genesis.chain);
    f->spec.spec.validators = NULL;
    jk_spec_file_free(&f->spec);
}

/* Gossip block `height`'s demo events to every app; returns how many were
 * new at app 0. */
static size_t fx_gossip(fx *f, uint64_t height, uint32_t transfers)
{
    jk_demo_block(&f->demo, &f->genesis.genesis_hash, height, transfers, &f->gossip);
    size_t fresh = 0;
    for (size_t e = 0; e < f->gossip.n; e++) {
        uint8_t *bytes;
        size_t len;
        if (jk_node_event_encode(&f->gossip.events[e], f->gossip.trace_ptrs[e], f->gossip.counts[e],
                                 &bytes, &len) != JK_OK)
            continue;
        for (uint32_t i = 0; i < V; i++) {
            bool added = f->cb[i].add_event(f->apps[i], bytes, len);
            if (i == 0 && added)
                fresh++;
            /* a second delivery is an echo */
            JK_CHECK(!f->cb[i].add_event(f->apps[i], bytes, len));
        }
        free(bytes);
    }
    return fresh;
}

/* A certificate of validators 0..2 for value id at (height, round). */
static void fx_cert(const fx *f, uint64_t height, uint32_t round, const jk_hash *id,
                    jk_cons_cert *c)
{
    memset(c, 0, sizeof *c);
    c->height = height;
    c->round = round;
    c->value = *id;
    for (uint32_t i = 0; i < 3; i++) {
        jk_cons_vote v = {.type = JK_CONS_MSG_PRECOMMIT, .height = height, .round = round,
                          .has_value = true, .value = *id, .validator = i};
        jk_cons_vote_sign(&v, &f->genesis.genesis_hash, f->keys[i].sk);
        c->sigs[i].validator = i;
        memcpy(c->sigs[i].sig, v.sig, 64);
    }
    c->count = 3;
}

static void fx_root(const fx *f, uint32_t i, jk_hash *out)
{
    jk_cap_hash(jk_node_chain_app_validator(f->apps[i])->ck->chain, out);
}

/* One height decided in round `round` with the value its proposer made:
 * every other app checks it, everyone commits it. */
static bool fx_decide(fx *f, uint64_t height, uint32_t round, jk_cons_cert *cert)
{
    uint32_t p = jk_chain_proposer_index(V, height, round);
    JK_CHECK_EQ(f->cb[0].proposer(f->apps[0], height, round), p);
    uint8_t *value = NULL;
    size_t len = 0;
    if (f->cb[p].get_value(f->apps[p], height, round, &value, &len) != JK_OK)
        return false;
    jk_hash id;
    f->cb[0].hash(f->apps[0], value, len, &id);
    bool ok = true;
    for (uint32_t i = 0; i < V; i++)
        ok = ok && f->cb[i].valid(f->apps[i], height, value, len);
    fx_cert(f, height, round, &id, cert);
    for (uint32_t i = 0; i < V && ok; i++)
        ok = f->cb[i].commit(f->apps[i], height, value, len, cert) == JK_OK;
    free(value);
    return ok;
}

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

/* A certificate of validators `first`..`first`+2 (or, with forged, signed
 * by keys that are no validator's under those indices; or `count` of them). */
static void fx_cert_by(const fx *f, uint64_t height, uint32_t round, const jk_hash *id,
                       uint32_t first, uint32_t count, bool forged, jk_cons_cert *c)
{
    memset(c, 0, sizeof *c);
    c->height = height;
    c->round = round;
    c->value = *id;
    for (uint32_t k = 0; k < count; k++) {
        uint32_t i = first + k;
        jk_cons_vote v = {.type = JK_CONS_MSG_PRECOMMIT, .height = height, .round = round,
                          .has_value = true, .value = *id, .validator = i};
        jk_keypair other;
        jk_devnet_derive_key("not a validator", 7, i, &other);
        jk_cons_vote_sign(&v, &f->genesis.genesis_hash, forged ? other.sk : f->keys[i].sk);
        c->sigs[k].validator = i;
        memcpy(c->sigs[k].sig, v.sig, 64);
    }
    c->count = count;
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

JK_TEST(test_chain_app_event_codec_is_strict)
{
    uint8_t blob[3] = {7, 8, 9};
    jk_chain_trace t[2];
    memset(t, 0x5a, sizeof t);
    jk_chain_event ev = {0, blob, sizeof blob};
    uint8_t *b;
    size_t len;
    JK_REQUIRE(jk_node_event_encode(&ev, t, 2, &b, &len) == JK_OK);
    JK_CHECK_EQ(len, 12 + 3 + 2 * JK_CHAIN_TRACE_SIZE);
    jk_chain_event got;
    jk_chain_trace *gt;
    size_t n;
    jk_diag diag = {{0}};
    JK_REQUIRE(jk_node_event_decode(b, len, &got, &gt, &n, &diag) == JK_OK);
    JK_CHECK_EQ(n, 2);
    JK_CHECK_EQ(got.blob_len, 3);
    JK_CHECK_MEM(got.blob, blob, 3);
    free(gt);
    /* every truncation and one trailing byte are refused with a reason */
    for (size_t cut = 0; cut < len; cut++) {
        diag.msg[0] = 0;
        JK_CHECK_EQ(jk_node_event_decode(b, cut, &got, &gt, &n, &diag), JK_ERR_NODE_EVENT);
        JK_CHECK(diag.msg[0] != 0);
        JK_CHECK(gt == NULL);
    }
    uint8_t *longer = malloc(len + 1);
    memcpy(longer, b, len);
    longer[len] = 0;
    JK_CHECK_EQ(jk_node_event_decode(longer, len + 1, &got, &gt, &n, &diag), JK_ERR_NODE_EVENT);
    /* an empty blob, too many traces */
    jk_put_u32le(longer + 4, 0);
    JK_CHECK_EQ(jk_node_event_decode(longer, len, &got, &gt, &n, &diag), JK_ERR_NODE_EVENT);
    free(longer);
    jk_put_u32le(b + 8 + 3, JK_NODE_EVENT_MAX_TRACES + 1);
    JK_CHECK_EQ(jk_node_event_decode(b, len, &got, &gt, &n, &diag), JK_ERR_NODE_EVENT);
    free(b);
    JK_CHECK_EQ(jk_node_event_encode(&ev, t, JK_NODE_EVENT_MAX_TRACES + 1, &b, &len),
                JK_ERR_INVALID_ARG);
}

/* The fuzz target's corpus (tests/fuzz/corpus/node_event), replayed. */
int jk_fuzz_node_event(const uint8_t *data, size_t size);

JK_TEST(test_chain_app_fuzz_corpus_node_event)
{
    static const char *const names[] = {"two-traces", "no-trace", "truncated", "trailing"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[256];
        snprintf(path, sizeof path, "tests/fuzz/corpus/node_event/%s", names[i]);
        FILE *fp = fopen(path, "rb");
        JK_REQUIRE(fp != NULL);
        static uint8_t buf[1 << 17];
        size_t n = fread(buf, 1, sizeof buf, fp);
        fclose(fp);
        jk_fuzz_node_event(buf, n); /* aborts on a bug */
        jk_chain_event ev;
        jk_chain_trace *t;
        size_t count;
        jk_err want = i < 2 ? JK_OK : JK_ERR_NODE_EVENT;
        JK_CHECK_EQ(jk_node_event_decode(buf, n, &ev, &t, &count, NULL), want);
        free(t);
    }
}

/* One JSON-RPC request answered by a provider over app 0 (state_slot, pool)
 * without HTTP; the answer's JSON text (caller frees). */
static char *fx_rpc(fx *f, const char *body)
{
    jk_rpc_provider p = {.ctx = f->apps[0], .state_slot = jk_node_chain_app_rpc_state_slot,
                         .pool = jk_node_chain_app_rpc_pool};
    jk_rpc_parsed req;
    if (jk_rpc_parse((const uint8_t *)body, strlen(body), &req) != JK_OK)
        return NULL;
    char *out = NULL;
    size_t len = 0;
    jk_err e = jk_rpc_answer(&p, &req, &out, &len);
    jk_rpc_parsed_free(&req);
    return e == JK_OK ? out : NULL;
}

/* state_slot reads the committed chain instance's root cnode (a Data's
 * bytes, its hash, the head it was read at); pool lists the pending events. */
JK_TEST(test_chain_app_rpc_state_slot_and_pool)
{
    static fx f;
    JK_REQUIRE(fx_make(&f));
    JK_CHECK(fx_gossip(&f, 1, 8) > 0);
    jk_cons_cert c1;
    JK_REQUIRE(fx_decide(&f, 1, 0, &c1));
    size_t fresh = fx_gossip(&f, 2, 3);
    JK_REQUIRE(fresh > 0);
    JK_CHECK_EQ(jk_node_chain_app_pending_count(f.apps[0]), fresh);

    jk_cap chain;
    uint64_t height;
    jk_hash head;
    jk_node_chain_app_head(f.apps[0], &chain, &height, &head);
    JK_CHECK_EQ(height, 1);
    JK_CHECK_MEM(head.bytes, c1.value.bytes, 32);
    /* the first Data slot of the root cnode, found here independently */
    jk_cap root = jk_cap_instance_cnode(chain);
    uint32_t slot = UINT32_MAX;
    for (uint32_t i = 0; i < jk_cap_cnode_slot_count(root) && slot == UINT32_MAX; i++)
        if (jk_cap_kind_of(jk_cap_cnode_get(root, i)) == JK_CAP_DATA &&
            jk_cap_data_len(jk_cap_cnode_get(root, i)) > 0)
            slot = i;
    JK_REQUIRE(slot != UINT32_MAX);
    jk_cap data = jk_cap_cnode_get(root, slot);
    size_t dlen = (size_t)jk_cap_data_len(data);
    uint8_t *bytes = malloc(dlen);
    char *hex = malloc(2 * dlen + 1), hhex[65], bhex[65];
    JK_REQUIRE(bytes && hex);
    JK_REQUIRE(jk_cap_data_read(data, 0, bytes, dlen) == JK_OK);
    jk_rpc_hex_encode(bytes, dlen, hex);
    jk_hash dh;
    jk_cap_hash(data, &dh);
    jk_rpc_hex_encode(dh.bytes, 32, hhex);
    jk_rpc_hex_encode(head.bytes, 32, bhex);

    char body[160];
    snprintf(body, sizeof body,
             "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"state_slot\",\"params\":[[%u]]}", slot);
    char *ans = fx_rpc(&f, body);
    JK_REQUIRE(ans);
    JK_CHECK(strstr(ans, "\"kind\":\"data\"") != NULL);
    JK_CHECK(strstr(ans, hex) != NULL);
    JK_CHECK(strstr(ans, hhex) != NULL);
    JK_CHECK(strstr(ans, bhex) != NULL);
    JK_CHECK(strstr(ans, "\"height\":1") != NULL);
    free(ans);
    /* a step into a Data leads nowhere; so does a slot past the root's end */
    snprintf(body, sizeof body,
             "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"state_slot\",\"params\":[[%u,0]]}", slot);
    ans = fx_rpc(&f, body);
    JK_REQUIRE(ans);
    JK_CHECK(strstr(ans, "-32001") != NULL);
    free(ans);
    snprintf(body, sizeof body,
             "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"state_slot\",\"params\":[[%u]]}",
             jk_cap_cnode_slot_count(root));
    ans = fx_rpc(&f, body);
    JK_REQUIRE(ans);
    JK_CHECK(strstr(ans, "-32001") != NULL);
    free(ans);

    /* the pool: every pending event, the first one's blob as gossiped */
    ans = fx_rpc(&f, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"pool\",\"params\":[100]}");
    JK_REQUIRE(ans);
    char want[64];
    snprintf(want, sizeof want, "\"total\":%zu", fresh);
    JK_CHECK(strstr(ans, want) != NULL);
    size_t plen;
    const uint8_t *p0 = jk_node_chain_app_pending(f.apps[0], 0, &plen);
    JK_REQUIRE(p0 && plen > 12);
    uint32_t blen = jk_get_u32le(p0 + 4);
    char *bh = malloc(2 * (size_t)blen + 1);
    JK_REQUIRE(bh);
    jk_rpc_hex_encode(p0 + 8, blen, bh);
    JK_CHECK(strstr(ans, bh) != NULL);
    free(bh);
    free(ans);
    /* limit 1: one event back, the total still whole */
    ans = fx_rpc(&f, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"pool\",\"params\":[1]}");
    JK_REQUIRE(ans);
    JK_CHECK(strstr(ans, want) != NULL);
    const char *e1 = strstr(ans, "\"endpoint\"");
    JK_CHECK(e1 != NULL && strstr(e1 + 1, "\"endpoint\"") == NULL);
    free(ans);
    JK_CHECK(jk_node_chain_app_pending(f.apps[0], fresh, &plen) == NULL && plen == 0);
    free(bytes);
    free(hex);
    fx_free(&f);
}

/* Admission keeps one cycle open: setup_cycle verifies the whole pool again,
 * so a cycle per admitted event made n admissions cost n²/2 verifies (the
 * testnet's 256-event batches took 11 s). The cycle stays open across
 * admissions, closes when a commit moves the Kernel, and the next admission
 * opens one on the new head; every admitted event still reaches the block. */
JK_TEST(test_chain_app_admission_keeps_one_cycle)
{
    static fx f;
    JK_REQUIRE(fx_make(&f));
    JK_CHECK_EQ(fx_gossip(&f, 1, 1), 1);
    for (uint32_t i = 0; i < V; i++)
        JK_CHECK(jk_node_chain_app_validator(f.apps[i])->ck->cycle_open);
    JK_CHECK_EQ(fx_gossip(&f, 2, 16), 16);
    for (uint32_t i = 0; i < V; i++) {
        JK_CHECK(jk_node_chain_app_validator(f.apps[i])->ck->cycle_open);
        JK_CHECK_EQ(jk_node_chain_app_pending_count(f.apps[i]), 17);
    }
    jk_cons_cert c1;
    JK_REQUIRE(fx_decide(&f, 1, 0, &c1));
    jk_node_chain_app_stats st;
    for (uint32_t i = 0; i < V; i++) {
        jk_node_chain_app_stats_get(f.apps[i], &st);
        JK_CHECK_EQ(st.last_events, 17);
        JK_CHECK_EQ(jk_node_chain_app_pending_count(f.apps[i]), 0);
        JK_CHECK(!jk_node_chain_app_validator(f.apps[i])->ck->cycle_open);
    }
    JK_CHECK_EQ(fx_gossip(&f, 3, 4), 4);
    JK_CHECK(jk_node_chain_app_validator(f.apps[0])->ck->cycle_open);
    jk_cons_cert c2;
    JK_REQUIRE(fx_decide(&f, 2, 0, &c2));
    jk_node_chain_app_stats_get(f.apps[0], &st);
    JK_CHECK_EQ(st.last_events, 4);
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
    const jk_chain_kernel *ck = jk_node_chain_app_validator(f->apps[i])->ck;
    static const uint8_t zero[JK_HASH_SIZE];
    size_t n = 0;
    for (size_t k = 0; ck->sig_cache && k < JK_CHAIN_SIG_CACHE_SLOTS; k++)
        n += memcmp(ck->sig_cache[k].bytes, zero, JK_HASH_SIZE) != 0;
    return n;
}

/* A rewind (the proposal was not decided) builds a new Kernel on the
 * committed chain; the signature checks that succeeded go with it, so the
 * re-admitted pool and the decided block's import do not verify every
 * trace's Ed25519 signature again. */
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
    size_t before = fx_sig_entries(&f, q);
    JK_CHECK(before >= 11);
    /* round 1's block (the same 5 events) is decided: q rewinds */
    jk_node_chain_app_stats st0, st1;
    jk_node_chain_app_stats_get(f.apps[q], &st0);
    JK_REQUIRE(fx_decide(&f, 2, 1, &c));
    jk_node_chain_app_stats_get(f.apps[q], &st1);
    JK_CHECK_EQ(st1.rewinds, st0.rewinds + 1);
    JK_CHECK_EQ(st1.last_events, 5);
    JK_CHECK(fx_sig_entries(&f, q) >= before);
    fx_free(&f);
}

/* The reason a repeated event is given (issue 13; the RPC submit answer
 * shows it): "already in the pool" while pooled; once its block is
 * committed, "already committed"; an event verify refused, "already
 * refused" (not "in the pool", which it never was). */
JK_TEST(test_chain_app_repeat_event_reason)
{
    static fx f;
    JK_REQUIRE(fx_make(&f));
    JK_CHECK_EQ(fx_gossip(&f, 1, 1), 1);
    uint8_t *bytes = NULL;
    size_t len = 0;
    JK_REQUIRE(jk_node_event_encode(&f.gossip.events[0], f.gossip.trace_ptrs[0],
                                    f.gossip.counts[0], &bytes, &len) == JK_OK);
    jk_node_chain_app_stats st;
    JK_CHECK(!jk_node_chain_app_add_event(f.apps[0], bytes, len));
    jk_node_chain_app_stats_get(f.apps[0], &st);
    JK_CHECK(strcmp(st.last_error, "already in the pool") == 0);
    jk_node_event_verdict v;
    JK_CHECK(!jk_node_chain_app_submit(f.apps[0], bytes, len, &v));
    JK_CHECK_EQ(v.kind, JK_NODE_VERDICT_IN_POOL);
    JK_CHECK(strcmp(v.reason, "already in the pool") == 0);
    jk_cons_cert c1;
    JK_REQUIRE(fx_decide(&f, 1, 0, &c1));
    JK_CHECK_EQ(jk_node_chain_app_pending_count(f.apps[0]), 0);
    JK_CHECK(!jk_node_chain_app_add_event(f.apps[0], bytes, len));
    jk_node_chain_app_stats_get(f.apps[0], &st);
    JK_CHECK(strncmp(st.last_error, "already committed", 17) == 0);
    JK_CHECK(!jk_node_chain_app_submit(f.apps[0], bytes, len, &v));
    JK_CHECK_EQ(v.kind, JK_NODE_VERDICT_COMMITTED);

    /* the same transfer with its blob changed: its signature fails */
    jk_chain_event bad = f.gossip.events[0];
    uint8_t blob[4096];
    JK_REQUIRE(bad.blob_len > 0 && bad.blob_len <= sizeof blob);
    memcpy(blob, bad.blob, bad.blob_len);
    blob[bad.blob_len - 1] ^= 1;
    bad.blob = blob;
    uint8_t *bb = NULL;
    size_t blen = 0;
    JK_REQUIRE(jk_node_event_encode(&bad, f.gossip.trace_ptrs[0], f.gossip.counts[0], &bb,
                                    &blen) == JK_OK);
    uint64_t refused = st.events_refused;
    JK_CHECK(!jk_node_chain_app_submit(f.apps[0], bb, blen, &v));
    jk_node_chain_app_stats_get(f.apps[0], &st);
    JK_CHECK_EQ(st.events_refused, refused + 1);
    JK_CHECK_EQ(v.kind, JK_NODE_VERDICT_REFUSED);
    char first[192];
    snprintf(first, sizeof first, "%s", v.reason);
    JK_CHECK(first[0] != 0); /* the chain layer's reason, not a stale repeat's */
    JK_CHECK(strncmp(first, "already", 7) != 0);
    JK_CHECK(!jk_node_chain_app_add_event(f.apps[0], bb, blen));
    jk_node_chain_app_stats_get(f.apps[0], &st);
    JK_CHECK(strncmp(st.last_error, "already refused", 15) == 0);
    /* the repeat carries the first refusal's reason */
    JK_CHECK(jk_node_chain_app_submit(f.apps[0], bb, blen, &v) == false);
    JK_CHECK_EQ(v.kind, JK_NODE_VERDICT_REFUSED_BEFORE);
    JK_CHECK(strstr(v.reason, first) != NULL);
    free(bb);
    free(bytes);
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

/* A loop turn's events verified together (jk_node_chain_app_prepare, on 0,
 * 2 and 4 threads) and then handed to add_event one by one answer exactly
 * as add_event alone does: the same admitted / refused sequence, the same
 * reasons, the same pool in the same order, one verify run per distinct
 * event (a repeat within the turn is verified once), and the same block. */
JK_TEST(test_chain_app_prepared_batch_same_outcome)
{
    static fx f;
    JK_REQUIRE(fx_make(&f));
    jk_demo_block(&f.demo, &f.genesis.genesis_hash, 1, 12, &f.gossip);
    enum { MAXB = 64 };
    uint8_t *batch[MAXB];
    size_t lens[MAXB], nb = 0;
    for (size_t e = 0; e < f.gossip.n && nb < MAXB - 3; e++)
        JK_REQUIRE(jk_node_event_encode(&f.gossip.events[e], f.gossip.trace_ptrs[e], f.gossip.counts[e],
                                        &batch[nb], &lens[nb]) == JK_OK && ++nb);
    JK_REQUIRE(nb >= 12);
    /* a repeat within the turn, a transfer whose signature fails, a malformed frame */
    batch[nb] = malloc(lens[3]);
    JK_REQUIRE(batch[nb] != NULL);
    memcpy(batch[nb], batch[3], lens[3]);
    lens[nb] = lens[3];
    nb++;
    batch[nb] = malloc(lens[5]);
    JK_REQUIRE(batch[nb] != NULL);
    memcpy(batch[nb], batch[5], lens[5]);
    batch[nb][9] ^= 1; /* inside the blob */
    lens[nb] = lens[5];
    nb++;
    batch[nb] = malloc(3);
    JK_REQUIRE(batch[nb] != NULL);
    memset(batch[nb], 0, 3);
    lens[nb] = 3;
    nb++;
    static bool answers[V][MAXB];
    static char reasons[V][MAXB][192];
    const unsigned threads[V] = {0, 2, 4, 0};
    for (uint32_t i = 0; i < V; i++) {
        jk_diag diag = {{0}};
        jk_node_chain_app_set_verify_threads(f.apps[i], threads[i]);
        if (i < 3) /* app 3 admits one by one, as before */
            JK_REQUIRE(jk_node_chain_app_prepare(f.apps[i], (const uint8_t *const *)batch, lens, nb, &diag) ==
                       JK_OK);
        for (size_t e = 0; e < nb; e++) {
            jk_node_chain_app_stats st;
            answers[i][e] = f.cb[i].add_event(f.apps[i], batch[e], lens[e]);
            jk_node_chain_app_stats_get(f.apps[i], &st);
            snprintf(reasons[i][e], sizeof reasons[i][e], "%s", answers[i][e] ? "" : st.last_error);
        }
        jk_node_chain_app_prepare_end(f.apps[i]);
    }
    jk_node_chain_app_stats s0, si;
    jk_node_chain_app_stats_get(f.apps[3], &s0);
    JK_CHECK_EQ(s0.events_admitted, nb - 3);
    JK_CHECK_EQ(s0.verify_runs, nb - 2); /* every distinct well-formed event once */
    const jk_chain_kernel *k0 = jk_node_chain_app_validator(f.apps[3])->ck;
    for (uint32_t i = 0; i < 3; i++) {
        jk_node_chain_app_stats_get(f.apps[i], &si);
        JK_CHECK_EQ(si.events_admitted, s0.events_admitted);
        JK_CHECK_EQ(si.events_refused, s0.events_refused);
        JK_CHECK_EQ(si.verify_runs, s0.verify_runs);
        for (size_t e = 0; e < nb; e++) {
            JK_CHECK_EQ(answers[i][e], answers[3][e]);
            JK_CHECK(strcmp(reasons[i][e], reasons[3][e]) == 0);
        }
        const jk_chain_kernel *ki = jk_node_chain_app_validator(f.apps[i])->ck;
        JK_CHECK_EQ(ki->pool_count, k0->pool_count);
        for (size_t j = 0; j < ki->pool_count && j < k0->pool_count; j++)
            JK_CHECK_MEM(ki->pool[j].hash.bytes, k0->pool[j].hash.bytes, 32);
    }
    JK_CHECK(!answers[3][nb - 3] && !answers[3][nb - 2] && !answers[3][nb - 1]);
    jk_cons_cert c1;
    JK_REQUIRE(fx_decide(&f, 1, 0, &c1));
    jk_node_chain_app_stats_get(f.apps[0], &s0);
    JK_CHECK_EQ(s0.last_events, nb - 3);
    for (size_t e = 0; e < nb; e++)
        free(batch[e]);
    fx_free(&f);
}

/* No recheck through the app: a validator that does not propose runs the
 * verify program once per admitted event, however many cycles the commits
 * and admissions open (before: every pooled event again at each). The
 * proposer verifies again only what waited across a commit. */
JK_TEST(test_chain_app_verify_runs_once_per_event)
{
    static fx f;
    JK_REQUIRE(fx_make(&f));
    JK_CHECK_EQ(fx_gossip(&f, 1, 16), 16);
    jk_cons_cert c;
    JK_REQUIRE(fx_decide(&f, 1, 0, &c)); /* proposer: app 1 */
    /* 4 transfers reach every app but app 2, which proposes height 2: they
     * wait across its commit at the others, and app 3, proposing height 3,
     * verifies them again on the new head (its produce), once. (A block that
     * leaves the state root as it was would not make them verify again: a
     * verify on the same root decides the same.) */
    jk_demo_block(&f.demo, &f.genesis.genesis_hash, 2, 4, &f.gossip);
    for (size_t e = 0; e < f.gossip.n; e++) {
        uint8_t *bytes;
        size_t len;
        JK_REQUIRE(jk_node_event_encode(&f.gossip.events[e], f.gossip.trace_ptrs[e], f.gossip.counts[e],
                                        &bytes, &len) == JK_OK);
        for (uint32_t i = 0; i < V; i++)
            JK_CHECK_EQ(i == 2 || f.cb[i].add_event(f.apps[i], bytes, len), true);
        free(bytes);
    }
    JK_CHECK_EQ(fx_gossip(&f, 12, 2), 2); /* to all: block 2 moves the state */
    JK_REQUIRE(fx_decide(&f, 2, 0, &c));
    jk_node_chain_app_stats st;
    jk_node_chain_app_stats_get(f.apps[2], &st);
    JK_CHECK_EQ(st.last_events, 2);
    JK_CHECK_EQ(fx_gossip(&f, 3, 4), 4);
    JK_REQUIRE(fx_decide(&f, 3, 0, &c)); /* proposer: app 3 */
    jk_node_chain_app_stats_get(f.apps[3], &st);
    JK_CHECK_EQ(st.last_events, 8);
    for (uint32_t i = 0; i < V; i++) {
        uint64_t admitted = i == 2 ? 22 : 26;
        jk_node_chain_app_stats_get(f.apps[i], &st);
        JK_CHECK_EQ(st.events_admitted, admitted);
        /* once at admission; app 3's produce verified again the 4 that
         * waited across a commit, and only those */
        JK_CHECK_EQ(st.verify_runs, admitted + (i == 3 ? 4 : 0));
    }
    fx_free(&f);
}
