/*
 * bench_commit.c — BENCH commit (docs/bench.md "The critical path, session
 * 6"): what a validator's commit of one height costs, for callgrind.
 *
 * Validator 0's chain app on the demo chain (4 validators) in a fresh
 * directory decides N heights alone, each carrying E signed transfers (the
 * demo's, gossiped to it first): get_value at the round it proposes, then
 * commit with a certificate of validators 0..2. The commit runs on the
 * calling thread (jk_node_chain_app_set_sync_commit), so that
 *
 *   valgrind --tool=callgrind --toggle-collect=jk_cap_store_commit_now \
 *       build/bench/bench_commit 8 512
 *
 * counts the store's part of a commit alone (hashing, encoding the new
 * objects, LMDB puts, the archive rows); BENCH commit prints its CPU per
 * height (thread CPU around commit).
 *
 *   bench_commit [N [E]]
 */
#define _GNU_SOURCE
#include "jark/devnet.h"
#include "jark/node.h"
#include "../src/devnet/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BC_V 4

static double bc_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 8;
    uint32_t e = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 512;
    jk_spec_file spec;
    jk_diag diag = {{0}};
    if (jk_crypto_init() != JK_OK || jk_devnet_load_demo(&spec, &diag) != JK_OK) {
        fprintf(stderr, "bench_commit: demo chain: %s\n", diag.msg);
        return 1;
    }
    static jk_demo demo;
    static jk_keypair keys[BC_V];
    static uint8_t pks[BC_V][32];
    jk_devnet_demo_init(&demo, 1, &spec.spec);
    for (uint32_t i = 0; i < BC_V; i++) {
        jk_devnet_derive_key("validator", 1, i, &keys[i]);
        memcpy(pks[i], keys[i].pk, 32);
    }
    spec.spec.validators = (const uint8_t(*)[32])pks;
    spec.spec.validator_count = BC_V;
    jk_chain_genesis g;
    if (jk_chain_genesis_build(&spec.spec, &g, &diag) != JK_OK) {
        fprintf(stderr, "bench_commit: genesis: %s\n", diag.msg);
        return 1;
    }
    char dir[] = "/tmp/bench-commit-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    jk_node_chain_app *a;
    if (jk_node_chain_app_open(dir, keys[0].sk, &g, &a, &diag) != JK_OK) {
        fprintf(stderr, "bench_commit: %s\n", diag.msg);
        return 1;
    }
    jk_node_chain_app_set_sync_commit(a, true);
    jk_node_chain_app_set_max_block_events(a, 0);
    jk_cons_app cb;
    jk_node_chain_app_bind(a, &cb);
    static jk_gossip gossip;
    double commit_cpu = 0;
    uint64_t demo_height = 0;
    uint64_t events = 0;
    int rc = 0;
    for (uint64_t h = 1; h <= n && rc == 0; h++) {
        /* the demo makes at most JK_DEVNET_MAX_EVENTS_PER_BLOCK transfers a
         * call: as many calls as E needs, each as its own demo block */
        for (uint32_t k = 0; k * JK_DEVNET_MAX_EVENTS_PER_BLOCK < e; k++) {
            uint32_t m = e - k * JK_DEVNET_MAX_EVENTS_PER_BLOCK;
            jk_devnet_demo_block(&demo, &g.genesis_hash, ++demo_height,
                                 m < JK_DEVNET_MAX_EVENTS_PER_BLOCK ? m
                                                                    : JK_DEVNET_MAX_EVENTS_PER_BLOCK,
                                 &gossip);
            for (size_t i = 0; i < gossip.n; i++) {
                uint8_t *bytes;
                size_t len;
                if (jk_node_event_encode(&gossip.events[i], gossip.trace_ptrs[i],
                                         gossip.counts[i], &bytes, &len) == JK_OK) {
                    cb.add_event(a, bytes, len);
                    free(bytes);
                }
            }
        }
        uint32_t round = 0;
        while (jk_chain_proposer_index(BC_V, h, round) != 0)
            round++;
        uint8_t *value;
        size_t len;
        if (cb.get_value(a, h, round, &value, &len) != JK_OK) {
            rc = 1;
            break;
        }
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
            jk_cons_vote_sign(&v, &g.genesis_hash, keys[i].sk);
            c.sigs[i].validator = i;
            memcpy(c.sigs[i].sig, v.sig, 64);
        }
        c.count = 3;
        double t0 = bc_cpu();
        rc = cb.commit(a, h, value, len, &c) != JK_OK;
        commit_cpu += bc_cpu() - t0;
        free(value);
        jk_node_chain_app_stats st;
        jk_node_chain_app_stats_get(a, &st);
        events += st.last_events;
    }
    if (rc == 0)
        printf("BENCH commit: %llu heights, %.0f events a height, %.0f us CPU per commit "
               "(the loop thread's, sync writes included)\n",
               (unsigned long long)n, (double)events / (double)n, commit_cpu * 1e6 / (double)n);
    else {
        jk_node_chain_app_stats st;
        jk_node_chain_app_stats_get(a, &st);
        fprintf(stderr, "bench_commit: failed: %s\n", st.last_error);
    }
    jk_node_chain_app_close(a);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        rc = 1;
    jk_cap_release(g.chain);
    return rc;
}
