/*
 * node_util.h — real node processes on loopback for the node tests.
 *
 * A cluster is V validators, each a process of its own: the test binary
 * re-executed (/proc/self/exe) with JK_TEST_NODE set, which runs one
 * jk_node (QUIC on 127.0.0.1, RPC on 127.0.0.1) over a fixed test
 * application instead of the tests: the value of height h is
 * "JKT1" ‖ h ‖ round ‖ proposer ‖ the parent's hash, valid when it extends
 * the archive's top, committed into the archive (jk_node_archive_put). The
 * chain app proper lives in src/node (the capp branch); this one keeps the
 * driver's tests independent of the chain's cost.
 *
 * The parent only watches through RPC (status) and, once a node is
 * stopped, by reading its archive.
 */
#ifndef JK_TEST_NODE_UTIL_H
#define JK_TEST_NODE_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "jark/node.h"

#define TN_MAX 8

typedef struct tn_cluster {
    uint32_t n;
    uint32_t validators;            /* nodes 0..validators-1 validate; the
                                       others are full nodes (tn_init: n) */
    char dir[128];
    uint8_t genesis_tag[TN_MAX];    /* another tag: another genesis */
    uint16_t port[TN_MAX], rpc[TN_MAX];
    pid_t pid[TN_MAX];              /* 0: not running */
    /* Per node, read at tn_start (0: the defaults): the node's tick; the
     * highest height it proposes (a validator proposes nothing above it:
     * the chain stops there); idle: every timeout an hour, so that a
     * validator of a chain that stopped sends no vote at all. */
    uint32_t tick_ms[TN_MAX];
    uint64_t max_height[TN_MAX];
    bool idle[TN_MAX];
} tn_cluster;

/* Pick free ports and a fresh directory; start nothing. */
bool tn_init(tn_cluster *c, uint32_t n);
/* Start node i (its store in DIR/node-i, kept across restarts). */
bool tn_start(tn_cluster *c, uint32_t i);
/* Start nodes 0..count-1; false at the first that does not start. */
bool tn_start_first(tn_cluster *c, uint32_t count);
/* Stop node i with sig (SIGTERM: clean; SIGKILL: a crash) and reap it.
 * For SIGTERM, *exit_ok tells whether it exited 0. */
void tn_stop(tn_cluster *c, uint32_t i, int sig, bool *exit_ok);
/* Stop every node cleanly (SIGTERM), as tn_agree wants them. */
void tn_stop_all(tn_cluster *c);
/* The committed height node i reports over RPC; -1 when it does not answer. */
int64_t tn_height(const tn_cluster *c, uint32_t i);
/* Wait until every running node in mask has committed at least h (polling
 * RPC; bounded by limit_ms, generous: no assertion on timing).
 * @return true when reached. */
bool tn_wait(const tn_cluster *c, uint32_t mask, uint64_t h, uint64_t limit_ms);
/* After every node is stopped: do the archives agree at every height they
 * share? *min_top receives the lowest top. */
bool tn_agree(const tn_cluster *c, uint64_t *min_top);
/* The top of a STOPPED node's archive (its committed height), or -1. */
int64_t tn_stored_height(const tn_cluster *c, uint32_t i);
/* Stop everything (SIGKILL) and remove the directory. */
void tn_destroy(tn_cluster *c);

/* A free loopback port (SOCK_DGRAM for QUIC, SOCK_STREAM for RPC), 0 when
 * none; CLOCK_MONOTONIC in ms (for bounds on waiting only). Shared with the
 * full-node test and bench/bench_sync.c. */
/* An in-process lone validator (V = 1) over the test application, its
 * archive in dir/node-0, its transport on port and RPC on rpc_port: for
 * tests of the node's loop itself (jk_node_run on the test's thread). */
typedef struct tn_lone tn_lone;
tn_lone *tn_lone_new(const char *dir, uint16_t port, uint16_t rpc_port);
jk_node *tn_lone_node(tn_lone *l);
void tn_lone_free(tn_lone *l);

uint16_t tn_free_port(int type);
uint64_t tn_ms(void);

/* The test keys and genesis (shared by the rogue test). */
void tn_key(uint32_t i, uint8_t sk[64], uint8_t pk[32]);
void tn_genesis(uint8_t tag, jk_hash *out);

#endif
