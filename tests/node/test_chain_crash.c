/*
 * test_chain_crash.c — a validator killed at any moment resumes exactly at
 * a whole commit: the head, the block archive and the certificate the next
 * proposal carries were written in one LMDB transaction
 * (jk_node_archive_commit), so there is nothing to repair.
 *
 * Each trial forks a writer that opens validator 0's chain app on the demo
 * chain (4 validators) and decides height after height alone (each block
 * proposed at the round validator 0 proposes in, certified by validators
 * 0..2), writing each height to a pipe once its commit returned. The parent
 * kills it with SIGKILL after its first commit and a delay from a
 * fixed-seed PRNG (0..40 ms: mid-produce, mostly mid-commit), reopens the app and
 * checks: the head's height is the archive's top, the archived block at the
 * top is the head's block and its certificate is what the next proposal
 * carries; the height is at least the last one reported and at most one
 * more. The outcome never depends on when the kill lands.
 */
#include "../test.h"
#include "../progs.h"

#include "../../src/devnet/internal.h"
#include "jark/node.h"

#include <limits.h>
#include <signal.h>
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
        memset(&c, 0, sizeof c);
        c.height = h;
        c.round = round;
        c.value = id;
        for (uint32_t i = 0; i < 3; i++) {
            jk_cons_vote v = {.type = JK_CONS_MSG_PRECOMMIT, .height = h, .round = round,
                              .has_value = true, .value = id, .validator = i};
            jk_cons_vote_sign(&v, &f->genesis.genesis_hash, f->keys[i].sk);
            c.sigs[i].validator = i;
            memcpy(c.sigs[i].sig, v.sig, 64);
        }
        c.count = 3;
        if (cb.commit(a, h, value, len, &c) != JK_OK)
            _exit(5);
        free(value);
        if (write(fd, &h, sizeof h) != sizeof h)
            _exit(6);
    }
}

JK_TEST(test_chain_crash_resumes_at_a_whole_commit)
{
    static cc_fx f;
    JK_REQUIRE(cc_make(&f));
    uint64_t rng = 0x9E3779B97F4A7C15ull, reported = 0;
    int trials = 8;
    for (int t = 0; t < trials; t++) {
        int p[2];
        JK_REQUIRE(pipe(p) == 0);
        fflush(stdout);
        fflush(stderr);
        pid_t pid = fork();
        JK_REQUIRE(pid >= 0);
        if (pid == 0) {
            close(p[0]);
            cc_writer(&f, p[1]);
        }
        close(p[1]);
        /* every trial commits one height at least, then dies at a random
         * point of the ones after */
        uint64_t h;
        JK_CHECK(read(p[0], &h, sizeof h) == sizeof h);
        usleep((useconds_t)(jk_devnet_next(&rng) % 40000));
        kill(pid, SIGKILL);
        int st;
        waitpid(pid, &st, 0);
        JK_CHECK(WIFSIGNALED(st)); /* the writer never stopped on an error */
        uint64_t first = h;
        JK_CHECK_EQ(first, reported + 1);
        reported = first;
        while (read(p[0], &h, sizeof h) == sizeof h)
            reported = h;
        close(p[0]);
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
        }
        reported = v->height;
        jk_node_chain_app_close(a);
    }
    JK_CHECK(reported >= (uint64_t)trials);
    jk_test_rm_tree(f.dir);
    jk_cap_release(f.genesis.chain);
}
