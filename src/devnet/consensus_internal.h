/* consensus_internal.h — what the devnet on consensus shares between its
 * driver (consensus.c: validators, workload, checks, the run) and its
 * network (consensus_net.c: faults over the shared schedule, Byzantine
 * corruption, the signed-message watch). */
#ifndef JK_DEVNET_CONSENSUS_INTERNAL_H
#define JK_DEVNET_CONSENSUS_INTERNAL_H

#include "internal.h"

#include <limits.h>

enum { JK_CS_DELIVER, JK_CS_TIMER, JK_CS_CRASH, JK_CS_RESTART };

typedef jk_cons_sim_item jk_cs_item;

typedef jk_cons_sim_signed jk_cs_signed;

typedef struct jk_cs jk_cs;

typedef struct jk_cs_event {
    uint8_t *bytes;
    size_t len;
} jk_cs_event;

typedef struct jk_cs_node {
    jk_cs *s;
    size_t fed;                  /* workload events handed to its pool */
    uint32_t index;
    bool byzantine;
    char dir[PATH_MAX];
    jk_node_chain_app *app;      /* NULL while crashed */
    jk_cons_machine *m;
    uint32_t inc;                /* incarnation: timers of an earlier one die */
    uint64_t checked;            /* heights the checker has seen committed */
    jk_cons_sim_signed_log sigs; /* what it signed (the watch's) */
    uint64_t bad;                /* Byzantine proposals corrupted */
} jk_cs_node;

struct jk_cs {
    const jk_devnet_options *o;
    jk_devnet_faults f;
    jk_devnet_cons_result *r;
    uint32_t v;
    jk_keypair keys[JK_DEVNET_MAX_VALIDATORS];
    jk_chain_genesis genesis;
    jk_cons_valset vs;
    jk_cons_timeouts timeouts;
    jk_cs_node nodes[JK_DEVNET_MAX_VALIDATORS];
    jk_cons_sim_queue queue;
    uint64_t now, rng;
    uint64_t fault_end, part_start, part_end;
    uint8_t side[JK_DEVNET_MAX_VALIDATORS];
    /* the first honest commit per height (index h-1): block id, round */
    jk_hash *dec;
    uint32_t *dec_round;
    uint64_t ndec, capdec;
    uint64_t target;
    /* the workload: every event generated, in order */
    jk_cs_event *wl;
    size_t nwl, capwl, delivered;
    size_t *wl_end;              /* wl_end[h]: events of heights 1..h */
    uint64_t generated;
    jk_demo demo;
    jk_gossip gossip;
    const jk_spec_events *events;
    size_t next_event;
    jk_devnet_workload workload;
    double t_last;
    bool stop;
};

uint64_t jk_devnet_cs_below(jk_cs *s, uint64_t n);
bool jk_devnet_cs_chance(jk_cs *s, uint32_t permille);
void jk_devnet_cs_violation(jk_cs *s, bool safety, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* One copy of bytes from `from` to `to`, subject to the faults. */
void jk_devnet_cs_transmit(jk_cs *s, uint32_t from, uint32_t to, const uint8_t *bytes, size_t len);
/* An honest validator's outgoing message: two different signed messages for
 * one (height, round, step) are a safety violation. */
void jk_devnet_cs_watch_signed(jk_cs *s, jk_cs_node *n, const uint8_t *bytes, size_t len);
/* A Byzantine validator's outgoing message, corrupted, to `to`. */
void jk_devnet_cs_byzantine_send(jk_cs *s, jk_cs_node *n, uint32_t to, const uint8_t *bytes, size_t len);

#endif
