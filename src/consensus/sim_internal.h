/*
 * sim_internal.h — the simulator's shared state (sim.c: the driver, network
 * and checks; sim_app.c: the mock application and node life cycle).
 *
 * Everything is a function of the seed: one xoshiro256** stream drawn in
 * event order, a heap ordered by (time, sequence number), arrays scanned in
 * index order. No pointer value, clock or hash-table order reaches a result.
 */
#ifndef JK_CONSENSUS_SIM_INTERNAL_H
#define JK_CONSENSUS_SIM_INTERNAL_H

#include "jark/consensus.h"

#define JK_SIM_VALUE_SIZE 81   /* the mock value, see sim_app.c */
#define JK_SIM_BAD_TAG 0xBA    /* a value carrying it is invalid */

typedef struct jk_sim_rng {
    uint64_t s[4];
} jk_sim_rng;

/* A decision held in a node's durable store. */
typedef struct jk_sim_decided {
    uint8_t *value;
    size_t len;
    jk_cons_cert *cert;
} jk_sim_decided;

typedef jk_cons_sim_signed jk_sim_signed;

typedef struct jk_sim jk_sim;

typedef struct jk_sim_node {
    jk_sim *sim;
    uint32_t index;
    bool byzantine;
    uint8_t pk[JK_ED25519_PUBLIC_SIZE];
    uint8_t sk[JK_ED25519_SECRET_SIZE];
    jk_cons_machine *m;               /* NULL while crashed */
    uint32_t incarnation;
    uint32_t crashes;                 /* every second one loses a height */
    /* durable: survives a crash */
    uint8_t record[JK_CONS_RECORD_SIZE];  /* the last signed-vote record */
    uint8_t (*records)[JK_CONS_RECORD_SIZE]; /* every record of its latest two heights */
    size_t nrecords, caprecords;
    uint8_t *pol;                     /* the last PERSIST_POL of each of the
                                         latest two heights, back to back */
    size_t pol_len;
    jk_sim_decided *decided;          /* heights 1..ndecided */
    size_t durable;                   /* heights a restart read back: never lost */
    size_t ndecided, capdecided;
    jk_hash root;                     /* state root after ndecided heights */
    /* volatile */
    jk_hash *pool;
    size_t npool, cappool;
    uint32_t fresh;                   /* events new since the last idle ask */
    /* the checker's view */
    jk_cons_sim_signed_log sigs;      /* what it signed, seen on the wire
                                         (survives crashes) */
    uint64_t bad_values;
} jk_sim_node;

enum { JK_SIM_DELIVER, JK_SIM_TIMER, JK_SIM_CRASH, JK_SIM_RESTART, JK_SIM_HEAL, JK_SIM_EVENT, JK_SIM_CRASH_ALL };

typedef jk_cons_sim_item jk_sim_item;

struct jk_sim {
    const jk_cons_sim_config *cfg;
    jk_cons_sim_result *res;
    jk_sim_rng rng;
    jk_cons_valset vs;
    jk_hash genesis;
    jk_sim_node *nodes;
    jk_cons_sim_queue queue;
    uint64_t now;
    jk_crypto_hasher digest;
    uint8_t side[JK_CONS_MAX_VALIDATORS];
    uint64_t part_start, part_end;
    /* the first honest decision per height (index h-1) */
    jk_hash *dec_value, *dec_root;
    uint32_t *dec_round;
    size_t ndec, capdec;
    bool healed, stop;
    uint64_t heal_height, target, deadline;
    jk_hash *events;
    size_t nevents;
    jk_err failed;
};

uint64_t jk_cons_sim_rand(jk_sim_rng *r);
uint64_t jk_cons_sim_below(jk_sim_rng *r, uint64_t n);
bool jk_cons_sim_chance(jk_sim_rng *r, uint32_t permille);
void jk_cons_sim_violation(jk_sim *s, bool safety, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A trace_steps line ("t=<now> " first), when the run traces steps. */
void jk_cons_sim_trace(jk_sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool jk_cons_sim_mock_valid(const jk_sim_node *node, uint64_t height, const uint8_t *v, size_t len);
jk_err jk_cons_sim_node_restart(jk_sim_node *node);
/* lose: the store loses its last decided height whatever the crash count
 * (a correlated crash: every validator inside that height's write). */
void jk_cons_sim_node_crash(jk_sim_node *node, bool lose);
void jk_cons_sim_node_free(jk_sim_node *node);
jk_err jk_cons_sim_drain(jk_sim_node *node);
/* Validator `at` (when up) sees a new connection to `peer`, as a node's
 * PEER_UP: jk_cons_on_peer_up, then its outputs drained. */
jk_err jk_cons_sim_peer_up(jk_sim *s, uint32_t at, uint32_t peer);
/* jk_cons_sim_queue_push on s->queue; out of memory sets s->failed. */
jk_sim_item *jk_cons_sim_push(jk_sim *s, uint64_t time, uint8_t kind, uint32_t node);

#endif
