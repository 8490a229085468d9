/*
 * node_internal.h — the node driver's state, shared by node.c (the loop)
 * and node_rpc.c (its RPC provider). Both run on the node's one thread.
 */
#ifndef JK_NODE_INTERNAL_H
#define JK_NODE_INTERNAL_H

#include "jark/node.h"

#include <sodium.h>

typedef struct jk_node_timer {
    uint64_t due, seq;
    jk_cons_timer timer;
} jk_node_timer;

struct jk_node {
    jk_node_config cfg;
    jk_cons_app app;              /* the application under the wrapper */
    jk_cons_machine *m;
    jk_net *net;
    jk_rpc_server *rpc;
    jk_rpc_metrics *registry;
    jk_rpc_node_metrics metrics;
    jk_node_timer *timers;        /* unordered; the earliest is searched */
    size_t ntimers, captimers;
    uint64_t timer_seq;
    uint64_t committed;           /* the highest committed height */
    uint64_t commits, bad_peers, evidence;
    uint64_t events_admitted, events_refused;
    uint32_t peers_up;
    uint64_t height_start_ms;
    uint64_t next_tick_ms;        /* a full node's next SYNC_REQUEST */
};

uint64_t jk_node_now_ms(void);
/* The wrapped commit (logs, metrics) — what the machine calls, and what a
 * full node calls for a certified decision (follow.c). */
jk_err jk_node_commit(jk_node *n, uint64_t h, const uint8_t *v, size_t len,
                      const jk_cons_cert *cert);
/* follow.c: a validator answering a non-validator's SYNC_REQUEST (true when
 * the frame was one); a full node's tick (ask for decisions) and frames. */
bool jk_node_answer_sync(jk_node *n, const jk_net_event *ev);
void jk_node_follow_tick(jk_node *n);
jk_err jk_node_follow_frame(jk_node *n, const jk_net_event *ev, jk_diag *diag);
void jk_node_logf(jk_node *n, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
