/*
 * test_chain_crash.c — a validator killed at any moment resumes exactly at
 * a whole commit: the head, the block archive and the certificate the next
 * proposal carries were written in one LMDB transaction
 * (jk_node_archive_commit), so there is nothing to repair.
 *
 * Each trial forks a writer that opens validator 0's chain app on the demo
 * chain (4 validators) and decides height after height alone (each block
 * proposed at the round validator 0 proposes in, certified by validators
 * 0..2), writing each height to a pipe once its commit is durable (the
 * commit itself returns with the write still on the store's writer thread:
 * a kill then may land in that write too). The parent
 * kills it with SIGKILL after its first commit and a delay from a
 * fixed-seed PRNG (0..40 ms: mid-produce, mostly mid-commit), reopens the app and
 * checks: the head's height is the archive's top, the archived block at the
 * top is the head's block and its certificate is what the next proposal
 * carries; the height is at least the last one reported and at most one
 * more. The outcome never depends on when the kill lands.
 *
 * Both tests also check the block and the certificates of the reopened
 * store (cc_check_archive): the head's block comes from the archive's row
 * and the certificate of top-1 is the one block top commits to.
 *
 * test_chain_crash_between_move_and_write kills a validator at one chosen
 * point instead (a fault hook, not a delay): its commit of height K moved
 * the head and the produce of K+1 ran on it, and the proposal record of
 * K+1 reached the vote log while the store's write of K was held on the
 * writer thread (docs/node.md "The proposal before the write": the record
 * does not wait for that write). The restarted validator is at K-1 with its
 * records of K and K+1; its machine, started at K, signs nothing there; it
 * takes K again from its decided value and certificate, and agrees with a
 * validator that never crashed.
 */
#include "../test.h"
#include "../progs.h"

#include "../../src/devnet/internal.h"
#include "jark/node.h"

#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define CC_V 4

typedef struct cc_fx {
    jk_chain_genesis genesis;
    jk_keypair keys[CC_V];
    uint8_t pks[CC_V][32];
    char dir[256], store[300];
} cc_fx;

static bool cc_make(cc_fx *f)
{
    memset(f, 0, sizeof *f);
    jk_spec_file spec;
    jk_diag diag = {{0}};
    if (jk_crypto_init() != JK_OK || jk_devnet_load_demo(&spec, &diag) != JK_OK) {
        fprintf(stderr, "demo chain: %s\n", diag.msg);
        return false;
    }
    static jk_demo demo;
    jk_devnet_demo_init(&demo, 1, &spec.spec);
    for (uint32_t i = 0; i < CC_V; i++) {
        jk_devnet_derive_key("validator", 1, i, &f->keys[i]);
        memcpy(f->pks[i], f->keys[i].pk, 32);
    }
    spec.spec.validators = (const uint8_t(*)[32])f->pks;
    spec.spec.validator_count = CC_V;
    if (jk_chain_genesis_build(&spec.spec, &f->genesis, &diag) != JK_OK)
        return false;
    jk_test_tmpdir("chain-crash", f->dir, sizeof f->dir);
    snprintf(f->store, sizeof f->store, "%s/v0", f->dir);
    return true;
}

/* A certificate of validators 0..2 for id at (h, round). */
static void cc_cert(const cc_fx *f, uint64_t h, uint32_t round, const jk_hash *id,
                    jk_cons_cert *c)
{
    memset(c, 0, sizeof *c);
    c->height = h;
    c->round = round;
    c->value = *id;
    for (uint32_t i = 0; i < 3; i++) {
        jk_cons_vote v = {.type = JK_CONS_MSG_PRECOMMIT, .height = h, .round = round,
                          .has_value = true, .value = *id, .validator = i};
        jk_cons_vote_sign(&v, &f->genesis.genesis_hash, f->keys[i].sk);
        c->sigs[i].validator = i;
        memcpy(c->sigs[i].sig, v.sig, 64);
    }
    c->count = 3;
}

/* The writer: decide heights until killed. */
static void cc_writer(const cc_fx *f, int fd)
{
    jk_node_chain_app *a;
    if (jk_node_chain_app_open(f->store, f->keys[0].sk, &f->genesis, &a, NULL) != JK_OK)
        _exit(3);
    jk_cons_app cb;
    jk_node_chain_app_bind(a, &cb);
    for (;;) {
        uint64_t h = jk_node_chain_app_validator(a)->height + 1;
        uint32_t round = 0;
        while (jk_chain_proposer_index(CC_V, h, round) != 0)
            round++;
        uint8_t *value;
        size_t len;
        if (cb.get_value(a, h, round, &value, &len) != JK_OK)
            _exit(4);
        jk_hash id;
        cb.hash(a, value, len, &id);
        jk_cons_cert c;
        cc_cert(f, h, round, &id, &c);
        /* commit moves the head; its write runs on the store's writer
         * thread: h is reported once it is durable (what a vote of h+1
         * waits for, docs/node.md "Commit on a writer thread") */
        if (cb.commit(a, h, value, len, &c) != JK_OK || jk_node_chain_app_durable(a, NULL) != JK_OK)
            _exit(5);
        free(value);
        if (write(fd, &h, sizeof h) != sizeof h)
            _exit(6);
    }
}

/* Run child(f, write end) in a child process; *fd: the pipe's read end.
 * @return the child's pid, or -1. */
static pid_t cc_fork(const cc_fx *f, void (*child)(const cc_fx *f, int fd), int *fd)
{
    int p[2];
    if (pipe(p) != 0)
        return -1;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        child(f, p[1]);
        _exit(0);
    }
    close(p[1]);
    *fd = p[0];
    return pid;
}

/* The block and certificates of a reopened app (session 9's format: the
 * head record names its block, which only the archive's row holds, and the
 * certificates are rows of "cert"): the head's block (v->last_block, read
 * from the archive) is the archived top's, and the certificate archived
 * for top-1 is the one block top's header commits to (last_commit): the
 * carried certificate's swap landed with top, never without it. */
static void cc_check_archive(jk_node_chain_app *a)
{
    jk_node_validator *v = jk_node_chain_app_validator(a);
    jk_node_archive *ar = jk_node_chain_app_archive(a);
    uint64_t top = jk_node_archive_top(ar);
    if (top == 0)
        return;
    uint8_t *block = NULL;
    size_t len = 0;
    JK_REQUIRE(jk_node_archive_get(ar, top, NULL, &block, &len, NULL, NULL) == JK_OK);
    JK_CHECK_EQ(jk_cap_data_len(v->last_block), len);
    uint8_t *mine = malloc(len ? len : 1);
    JK_REQUIRE(mine && jk_cap_data_read(v->last_block, 0, mine, len) == JK_OK);
    JK_CHECK_MEM(mine, block, len);
    free(mine);
    jk_chain_header hd;
    JK_REQUIRE(len >= JK_CHAIN_HEADER_SIZE && jk_chain_header_decode(block, JK_CHAIN_HEADER_SIZE, &hd, NULL) == JK_OK);
    free(block);
    if (top < 2)
        return;
    jk_cons_cert c;
    jk_hash want;
    JK_REQUIRE(jk_node_archive_get(ar, top - 1, NULL, NULL, NULL, &c, NULL) == JK_OK);
    jk_cons_cert_hash(&c, &want);
    JK_CHECK_MEM(hd.last_commit.bytes, want.bytes, 32);
}

JK_TEST(test_chain_crash_resumes_at_a_whole_commit)
{
    static cc_fx f;
    JK_REQUIRE(cc_make(&f));
    uint64_t rng = 0x9E3779B97F4A7C15ull, reported = 0;
    int trials = 8;
    for (int t = 0; t < trials; t++) {
        int fd;
        pid_t pid = cc_fork(&f, cc_writer, &fd);
        JK_REQUIRE(pid >= 0);
        /* every trial commits one height at least, then dies at a random
         * point of the ones after */
        uint64_t h;
        JK_CHECK(read(fd, &h, sizeof h) == sizeof h);
        usleep((useconds_t)(jk_devnet_next(&rng) % 40000));
        kill(pid, SIGKILL);
        int st;
        waitpid(pid, &st, 0);
        JK_CHECK(WIFSIGNALED(st)); /* the writer never stopped on an error */
        uint64_t first = h;
        JK_CHECK_EQ(first, reported + 1);
        reported = first;
        while (read(fd, &h, sizeof h) == sizeof h)
            reported = h;
        close(fd);
        /* reopen: a whole commit, nothing to repair */
        jk_node_chain_app *a = NULL;
        jk_diag diag = {{0}};
        JK_REQUIRE(jk_node_chain_app_open(f.store, f.keys[0].sk, &f.genesis, &a, &diag) == JK_OK);
        jk_node_validator *v = jk_node_chain_app_validator(a);
        jk_node_archive *ar = jk_node_chain_app_archive(a);
        JK_CHECK_EQ(jk_node_archive_top(ar), v->height);
        JK_CHECK(v->height >= reported && v->height <= reported + 1);
        if (v->height > 0) {
            jk_hash id;
            jk_cons_cert c;
            JK_REQUIRE(jk_node_archive_get(ar, v->height, &id, NULL, NULL, &c, NULL) == JK_OK);
            JK_CHECK_MEM(id.bytes, v->head_hash.bytes, 32);
            /* the next proposal carries that certificate */
            jk_cons_app cb;
            jk_node_chain_app_bind(a, &cb);
            uint8_t *value;
            size_t len;
            uint32_t round = 0;
            while (jk_chain_proposer_index(CC_V, v->height + 1, round) != 0)
                round++;
            JK_REQUIRE(cb.get_value(a, v->height + 1, round, &value, &len) == JK_OK);
            jk_node_value *val = malloc(sizeof *val);
            JK_REQUIRE(val && jk_node_value_decode(value, len, val, NULL) == JK_OK);
            jk_hash x, y;
            jk_cons_cert_hash(&val->cert, &x);
            jk_cons_cert_hash(&c, &y);
            JK_CHECK_MEM(x.bytes, y.bytes, 32);
            free(val);
            free(value);
            cc_check_archive(a);
        }
        reported = v->height;
        jk_node_chain_app_close(a);
    }
    JK_CHECK(reported >= (uint64_t)trials);
    jk_test_rm_tree(f.dir);
    jk_cap_release(f.genesis.chain);
}

/* ---- a kill between the in-memory commit and the durable write ---- */

#define CP_K 4 /* the height whose write is held */

typedef struct cp_msg {
    uint8_t kind;  /* 'P' produced h, 'S' the proposal record of h is on
                      disk (it may leave), 'C' committed h (value follows),
                      'W' the writer holds h's write and the loop waits */
    uint64_t h;
    uint32_t len;
} cp_msg;

typedef struct cp_hook {
    jk_cap_store *store;
    int fd;
    atomic_uint_fast64_t sent;  /* the last height whose record is on disk */
} cp_hook;

static void cp_send(int fd, uint8_t kind, uint64_t h, const uint8_t *bytes, uint32_t len)
{
    cp_msg m = {kind, h, len};
    if (write(fd, &m, sizeof m) != sizeof m || (len && write(fd, bytes, len) != (ssize_t)len))
        _exit(6);
}

/* On the writer thread, inside height h's transaction (nothing of h is in
 * the store yet). At CP_K: hold until the loop thread either got past the
 * record of K+1 (the pipeline: it need not wait for this write) or is
 * waiting for this write (what this test fails on: the proposal of K+1
 * held back by the write of K), say so, and stay. */
static void cp_writer_hook(void *ctx, uint64_t h)
{
    cp_hook *k = ctx;
    if (h != CP_K)
        return;
    while (jk_cap_store_waiters(k->store) == 0 && atomic_load(&k->sent) <= CP_K)
        usleep(1000);
    cp_send(k->fd, 'W', h, NULL, 0);
    for (;;)
        pause();
}

static uint32_t cp_round(uint64_t h)
{
    uint32_t round = 0;
    while (jk_chain_proposer_index(CC_V, h, round) != 0)
        round++;
    return round;
}

/* Validator 0 as its machine drives it: produce, persist the proposal's
 * record (the vote-record rule: on disk before the proposal leaves), then
 * the decision's commit. */
static void cp_child(const cc_fx *f, int fd)
{
    jk_node_chain_app *a;
    if (jk_node_chain_app_open(f->store, f->keys[0].sk, &f->genesis, &a, NULL) != JK_OK)
        _exit(3);
    static cp_hook k;
    k.store = jk_node_chain_app_validator(a)->store.store;
    k.fd = fd;
    atomic_store(&k.sent, 0);
    jk_node_archive_set_write_hook(jk_node_chain_app_archive(a), cp_writer_hook, &k);
    jk_cons_app cb;
    jk_node_chain_app_bind(a, &cb);
    for (;;) {
        uint64_t h = jk_node_chain_app_validator(a)->height + 1;
        uint32_t round = cp_round(h);
        uint8_t *value;
        size_t len;
        if (cb.get_value(a, h, round, &value, &len) != JK_OK)
            _exit(4);
        cp_send(fd, 'P', h, NULL, 0);
        jk_hash id;
        cb.hash(a, value, len, &id);
        jk_cons_out out;
        memset(&out, 0, sizeof out);
        out.kind = JK_CONS_OUT_PERSIST;
        out.record = (jk_cons_record){.present = true, .height = h, .round = round,
                                      .step = JK_CONS_STEP_PROPOSE, .has_value = true,
                                      .value = id, .valid_round = JK_CONS_NIL_ROUND,
                                      .locked_round = JK_CONS_NIL_ROUND};
        if (jk_node_chain_app_persist(a, &out, NULL) != JK_OK)
            _exit(5);
        cp_send(fd, 'S', h, NULL, 0);
        atomic_store(&k.sent, h);
        jk_cons_cert c;
        cc_cert(f, h, round, &id, &c);
        if (cb.commit(a, h, value, len, &c) != JK_OK)
            _exit(7);
        cp_send(fd, 'C', h, value, (uint32_t)len);
        free(value);
    }
}

JK_TEST(test_chain_crash_between_move_and_write)
{
    static cc_fx f;
    JK_REQUIRE(cc_make(&f));
    int fd;
    pid_t pid = cc_fork(&f, cp_child, &fd);
    JK_REQUIRE(pid >= 0);
    /* the decided values, as peers would hand them over */
    uint8_t *values[CP_K + 1] = {0};
    size_t lens[CP_K + 1] = {0};
    uint64_t produced = 0, sent = 0, held = 0;
    cp_msg m;
    while (!held && read(fd, &m, sizeof m) == sizeof m) {
        uint8_t *bytes = m.len ? malloc(m.len) : NULL;
        JK_REQUIRE(!m.len || (bytes && read(fd, bytes, m.len) == (ssize_t)m.len));
        if (m.kind == 'C' && m.h <= CP_K && !values[m.h]) {
            values[m.h] = bytes;
            lens[m.h] = m.len;
            bytes = NULL;
        }
        produced = m.kind == 'P' ? m.h : produced;
        sent = m.kind == 'S' ? m.h : sent;
        held = m.kind == 'W' ? m.h : 0;
        free(bytes);
    }
    kill(pid, SIGKILL);
    int st;
    waitpid(pid, &st, 0);
    close(fd);
    JK_CHECK(WIFSIGNALED(st));
    JK_CHECK_EQ(held, (uint64_t)CP_K);
    /* K+1 was produced on the in-memory head of K while K's write was held
     * (the overlap), and its record reached the disk before K did */
    JK_CHECK_EQ(produced, (uint64_t)CP_K + 1);
    JK_CHECK_EQ(sent, (uint64_t)CP_K + 1);
    for (uint64_t h = 1; h <= CP_K; h++)
        JK_REQUIRE(values[h]);

    /* restart: the head and the archive are at K-1, whole */
    jk_node_chain_app *a = NULL;
    jk_diag diag = {{0}};
    JK_REQUIRE(jk_node_chain_app_open(f.store, f.keys[0].sk, &f.genesis, &a, &diag) == JK_OK);
    jk_node_validator *v = jk_node_chain_app_validator(a);
    JK_CHECK_EQ(v->height, (uint64_t)CP_K - 1);
    JK_CHECK_EQ(jk_node_archive_top(jk_node_chain_app_archive(a)), (uint64_t)CP_K - 1);
    cc_check_archive(a); /* K's row, head and certificate swap: none landed */
    /* what it signed is kept: the proposals of K and K+1, above the store */
    jk_cons_record *recs = NULL;
    size_t nrecs = 0;
    JK_REQUIRE(jk_node_archive_records(jk_node_chain_app_archive(a), &recs, &nrecs, &diag) ==
               JK_OK);
    JK_CHECK_EQ(nrecs, 2);
    if (nrecs == 2) {
        JK_CHECK(recs[0].height == CP_K && recs[0].step == JK_CONS_STEP_PROPOSE);
        JK_CHECK(recs[1].height == CP_K + 1 && recs[1].step == JK_CONS_STEP_PROPOSE);
        JK_CHECK_EQ(recs[1].round, cp_round(CP_K + 1));
    }
    free(recs);
    /* its machine starts at K, below its record: it signs nothing there
     * (its produce at K is refused), only re-sends and asks for K */
    jk_cons_valset vs = {.count = CC_V};
    memcpy(vs.keys, f.pks, sizeof f.pks);
    jk_cons_timeouts t = {100, 50, 100, 50, 100, 50, 200};
    jk_cons_machine *mach = NULL;
    JK_REQUIRE(jk_node_chain_app_machine(a, &t, &vs, &mach, &diag) == JK_OK);
    JK_CHECK_EQ(jk_cons_start(mach), JK_OK);
    jk_cons_status cst;
    jk_cons_status_get(mach, &cst);
    JK_CHECK_EQ(cst.height, (uint64_t)CP_K);
    JK_CHECK(cst.refused_signs >= 1);
    size_t nout;
    const jk_cons_out *outs = jk_cons_outputs(mach, &nout);
    for (size_t i = 0; i < nout; i++)
        JK_CHECK(outs[i].kind != JK_CONS_OUT_PERSIST);
    jk_cons_machine_free(mach);
    /* it takes K again from the decided value and certificate (a peer's
     * sync answer); at K+1 its records decide what it may sign */
    jk_cons_app cb;
    jk_node_chain_app_bind(a, &cb);
    jk_hash id;
    cb.hash(a, values[CP_K], lens[CP_K], &id);
    JK_CHECK(cb.valid(a, CP_K, values[CP_K], lens[CP_K]));
    jk_cons_cert c;
    cc_cert(&f, CP_K, cp_round(CP_K), &id, &c);
    JK_CHECK_EQ(cb.commit(a, CP_K, values[CP_K], lens[CP_K], &c), JK_OK);
    JK_CHECK_EQ(jk_node_chain_app_durable(a, &diag), JK_OK);
    JK_CHECK_MEM(v->head_hash.bytes, id.bytes, 32);
    cc_check_archive(a); /* and all three landed with K */

    /* agrees: validator 1, which never crashed, holds the same head */
    char d1[300];
    snprintf(d1, sizeof d1, "%s/v1", f.dir);
    jk_node_chain_app *b = NULL;
    JK_REQUIRE(jk_node_chain_app_open(d1, f.keys[1].sk, &f.genesis, &b, &diag) == JK_OK);
    jk_cons_app cb1;
    jk_node_chain_app_bind(b, &cb1);
    for (uint64_t h = 1; h <= CP_K; h++) {
        jk_hash hid;
        cb1.hash(b, values[h], lens[h], &hid);
        JK_CHECK(cb1.valid(b, h, values[h], lens[h]));
        cc_cert(&f, h, cp_round(h), &hid, &c);
        JK_CHECK_EQ(cb1.commit(b, h, values[h], lens[h], &c), JK_OK);
    }
    jk_hash r0, r1;
    jk_node_chain_app_root(a, &r0);
    jk_node_chain_app_root(b, &r1);
    JK_CHECK_MEM(r0.bytes, r1.bytes, 32);
    JK_CHECK_MEM(jk_node_chain_app_validator(b)->head_hash.bytes, id.bytes, 32);
    jk_node_chain_app_close(b);
    jk_node_chain_app_close(a);
    for (uint64_t h = 1; h <= CP_K; h++)
        free(values[h]);
    jk_test_rm_tree(f.dir);
    jk_cap_release(f.genesis.chain);
}
