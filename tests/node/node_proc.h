/*
 * node_proc.h — `jark` processes for the tests that run the real binary
 * (the one beside the test binary) and talk to it over RPC on loopback
 * (test_node_full.c, test_node_pacing.c).
 */
#ifndef JK_TEST_NODE_PROC_H
#define JK_TEST_NODE_PROC_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "jark/crypto.h"

/* Run `jark` with argv (argv[0] "jark", NULL-terminated), its stdout and
 * stderr appended to log. @return its pid; -1 when it could not start. */
pid_t np_spawn(const char *const *argv, const char *log);
/* SIGTERM *pid (0: nothing) and reap it; *pid becomes 0.
 * @return true when it exited 0 (a clean stop). */
bool np_stop(pid_t *pid);
/* SIGKILL *pid (0: nothing) and reap it; *pid becomes 0. */
void np_kill(pid_t *pid);
/* One JSON-RPC call to 127.0.0.1:rpc: the result, parsed (the caller puts
 * it), or NULL when the node does not answer. */
json_object *np_rpc(uint16_t rpc, const char *method, const char *params);
/* o's integer member `key`, or -1. */
int64_t np_i64(json_object *o, const char *key);
/* status.height at 127.0.0.1:rpc, or -1. */
int64_t np_height(uint16_t rpc);
/* Poll status until the height is at least h; false after limit_ms. */
bool np_wait_height(uint16_t rpc, int64_t h, uint64_t limit_ms);
/* submit_event params (JSON, into params of cap bytes) for the demo's
 * (seed 1) first transfer of `account` under genesis. false when it does
 * not fit or out of memory. */
bool np_transfer_params(const jk_hash *genesis, uint32_t account, char *params, size_t cap);
/* The demo chain's spec (examples/demo/devnet-spec.json) with its programs
 * built once by this process (the SDK, through the test binary's memo) and
 * named as program files, in a scratch folder: a `jark node` started on it
 * reads them instead of running clang and ld.lld on six programs at every
 * start (~3 s of CPU). The same programs, so the same chain and genesis.
 * The demo spec itself when they cannot be built or written. */
const char *np_demo_spec(void);

#endif
