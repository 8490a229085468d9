/*
 * jark/devnet.h — V validators of a chain in one process, each with its own
 * kernel and LMDB store, blocks and gossip passed in memory (`jark devnet`,
 * tests/node, examples/driver). Layer: devnet sits on node and spec
 * (… → chain → spec → node → devnet).
 *
 * The chain is any chain spec (docs/chain-spec.md); the events come from a
 * workload:
 *   - demo: the demo chain's generator (examples/demo, docs/demo-chain.md):
 *     funded accounts and reporters derived from the seed replace the spec's
 *     state; every block signs transfers, every fifth block price reports;
 *   - events: an events file (jark/spec.h, docs/events-format.md), gossiped
 *     in file order, events_per_block at a time, then empty blocks;
 *   - none: empty blocks.
 * Validators: the spec's own when their keys are given (every one, in the
 * spec's order: then the genesis is `jark chain genesis SPEC`'s), else V
 * derived from the seed in place of the spec's list (the genesis hash then
 * depends on the seed and V; the result and the first line give it). Everything else is
 * derived from the seed too, so a run is reproducible: same spec, seed and
 * events, same blocks, same roots.
 */
#ifndef JARK_DEVNET_H
#define JARK_DEVNET_H

#include "jark/node.h"
#include "jark/spec.h"

#include <stdbool.h>

#define JK_DEVNET_MAX_VALIDATORS 16
#define JK_DEVNET_MAX_EVENTS_PER_BLOCK 64

typedef enum jk_devnet_workload {
    JK_DEVNET_WORKLOAD_DEFAULT = 0, /* events with events, else demo without a spec_path, else none */
    JK_DEVNET_WORKLOAD_DEMO,
    JK_DEVNET_WORKLOAD_EVENTS,
    JK_DEVNET_WORKLOAD_NONE,
} jk_devnet_workload;

typedef struct jk_devnet_options {
    uint32_t validators;       /* 1..16 (ignored when validator_keys are given) */
    uint64_t blocks;           /* blocks to add to the stores' height */
    uint32_t events_per_block; /* at most JK_DEVNET_MAX_EVENTS_PER_BLOCK */
    uint64_t seed;             /* keys and workload derive from it */
    unsigned threads;          /* verify pool threads (0 = inline) */
    const char *dir;           /* validator-<i> stores below it; resumed when present */
    bool quiet;                /* no per-block lines */
    uint64_t to_height;        /* when nonzero: run until this height instead of `blocks` more */
    /* Fault injection for tests: stop (return 3) right after the proposer of
     * this height committed, before any other validator imported it — the
     * state a crash there leaves. 0 = never. */
    uint64_t stop_after_proposer;
    const char *spec_path;     /* the chain; NULL: the demo (examples/demo/devnet-spec.json beside the SDK) */
    jk_devnet_workload workload;
    const jk_spec_events *events;     /* the events workload's list (borrowed); its genesis must be the chain's */
    const jk_spec_key *validator_keys; /* optional: the spec's validators' keys, in its order (borrowed) */
    uint32_t validator_key_count;
    const jk_sdk_options *build;      /* compiling the spec's C programs (NULL: -O2) */
    FILE *debug;                      /* the chain programs' debug stream (NULL: discarded) */
} jk_devnet_options;

typedef struct jk_devnet_result {
    uint64_t height;     /* the height every validator reached */
    uint64_t events, traces;
    double seconds;      /* for the report only; nothing depends on it */
    jk_hash root;        /* validator 0's chain instance hash at `height` */
    jk_hash genesis;     /* the chain's genesis hash (what events are signed for) */
    bool agree;          /* every validator had the proposer's root at every height */
    char reason[192];    /* when the run did not return 0: the first thing that went wrong */
} jk_devnet_result;

/* Run (or resume) a devnet; the stores persist in o->dir. Progress lines on
 * stdout unless o->quiet; what failed in r->reason (nothing on stderr).
 * @return 0 all agreed; 1 a validator disagreed, a step failed or the chain
 *         refused its genesis (the probe run); 2 bad options or input (spec,
 *         keys, an events file for another chain);
 *         3 stopped by stop_after_proposer. */
int jk_devnet_run(const jk_devnet_options *o, jk_devnet_result *r);

/* ---------------------------------------------------------------------------
 * The demo chain's events (docs/demo-chain.md), for `jark event transfer` /
 * `jark event report` and the demo workload.
 * ------------------------------------------------------------------------- */

#define JK_DEVNET_TRANSFER_LEN 81 /* 'T' ‖ from[32] ‖ to[32] ‖ amount u64 ‖ nonce u64 */
#define JK_DEVNET_REPORT_LEN 49   /* 'R' ‖ reporter[32] ‖ round u64 ‖ price u64 */

/* The blobs of the demo's two event kinds, encoded into out (cannot fail). */
void jk_devnet_transfer_blob(const uint8_t from[32], const uint8_t to[32], uint64_t amount, uint64_t nonce,
                             uint8_t out[JK_DEVNET_TRANSFER_LEN]);
void jk_devnet_report_blob(const uint8_t reporter[32], uint64_t round, uint64_t price,
                           uint8_t out[JK_DEVNET_REPORT_LEN]);

/* The image id of the demo's Chain image (the demo spec beside the SDK,
 * compiled once per process and kept: not thread-safe): `jark chain show`
 * recognises the demo by it.
 * @return JK_OK; JK_ERR_IO (no SDK found: set JARK_SDK_DIR); what
 *         jk_spec_file_load and jk_chain_genesis_build return. */
jk_err jk_devnet_demo_image_id(jk_hash *out, jk_diag *diag);

/* ---------------------------------------------------------------------------
 * The demo workload outside the devnet (src/devnet/workload.c): what
 * `jark node --demo-seed S` and `jark testnet` use. Same keys and genesis
 * state as the devnet's demo workload for the seed.
 * ------------------------------------------------------------------------- */

typedef struct jk_devnet_demo jk_devnet_demo;

#define JK_DEVNET_DEMO_MAX_ACCOUNTS 65536u

/* @return JK_OK; JK_ERR_NOMEM. Free with jk_devnet_demo_free. */
jk_err jk_devnet_demo_new(uint64_t seed, jk_devnet_demo **out);
/* The same with `accounts` funded accounts (2..JK_DEVNET_DEMO_MAX_ACCOUNTS):
 * the first 64 keys are jk_devnet_demo_new's, and 64 gives its genesis state
 * exactly (`jark node --demo-accounts`, `jark testnet --accounts`).
 * @return JK_OK; JK_ERR_INVALID_ARG (the count); JK_ERR_NOMEM. */
jk_err jk_devnet_demo_new_accounts(uint64_t seed, uint32_t accounts, jk_devnet_demo **out);
/* d's account count. */
uint32_t jk_devnet_demo_account_count(const jk_devnet_demo *d);
/* Free d and wipe its secret keys. NULL is a no-op. */
void jk_devnet_demo_free(jk_devnet_demo *d);
/* Point spec's state at the demo's genesis state (every account funded,
 * the reporters registered); the storage is d's (keep d alive while spec
 * is used). */
void jk_devnet_demo_state(jk_devnet_demo *d, jk_chain_spec *spec);
/* How many accounts jk_devnet_demo_new makes (the devnet's demo: 64). */
uint32_t jk_devnet_demo_accounts(void);
/* A signed transfer of 1 from account (mod the count) to the next one, with
 * that account's next nonce (counted here: submit them in order). */
void jk_devnet_demo_transfer(jk_devnet_demo *d, const jk_hash *genesis, uint32_t account,
                             uint8_t blob[JK_DEVNET_TRANSFER_LEN], jk_chain_trace *trace);
/* Take back account's last counted nonce: its transfer was refused, so the
 * next one must reuse that nonce. */
void jk_devnet_demo_unsend(jk_devnet_demo *d, uint32_t account);

/* ---------------------------------------------------------------------------
 * The devnet on real consensus (src/devnet/consensus.c, docs/node.md): every
 * validator runs the Tendermint machine (jark/consensus.h) over its
 * chain-backed application (jk_node_chain_app: its own store and archive
 * under o->dir/validator-<i>) on a deterministic simulated network: seeded
 * delays and reordering, duplicates, loss, a partition that heals, crashes
 * and restarts from the stores, Byzantine validators. Simulated time; the
 * same options give the same blocks, bit for bit.
 * ------------------------------------------------------------------------- */

typedef struct jk_devnet_faults {
    uint32_t drop_permille;   /* message loss while faults last */
    uint32_t dup_permille;    /* duplicated messages while faults last */
    bool partition;           /* one partition into two halves, healed later */
    uint32_t crashes;         /* validators crashed and restarted from their stores */
    uint32_t byzantine;       /* validators 0..byzantine-1 (at most f): equivocating
                                 votes, invalid proposals, garbage messages */
    uint32_t fault_ms;        /* faults last this long (0: 4000 simulated ms) */
    uint64_t net_seed;        /* the network's randomness (0: o->seed) */
} jk_devnet_faults;

typedef struct jk_devnet_cons_result {
    jk_devnet_result base;    /* height, events, traces, seconds, root, genesis, agree */
    bool safety_ok, liveness_ok;
    char violation[192];      /* the first violation, or "" */
    char chain_error[192];    /* when the run was not live: the chain layer's last
                                 refusal on an honest validator (a produced or
                                 received block's apply fault: code, pc, the FAULT
                                 host call's text), or "" */
    uint64_t rounds;          /* Σ over decided heights of (round + 1) */
    uint32_t max_round;
    uint64_t sent, delivered; /* messages put on the network (a lost one is not
                                 sent; a duplicate counts twice) / taken off */
    uint64_t crashes, evidence;
    uint64_t sim_ms;          /* simulated time */
    uint64_t start;           /* the height the run started from */
} jk_devnet_cons_result;

/* Run V validators on consensus until every honest one has committed
 * o->blocks more heights than the lowest store started at (or o->to_height).
 * Options as jk_devnet_run (stop_after_proposer is not supported); faults
 * may be NULL (none). One progress line per height (the first honest
 * commit: proposer, round, events, root, wall ms) unless o->quiet.
 * @return 0 every honest validator agreed and the run was live; 1 a safety
 *         or liveness violation (when not live, r->chain_error says why the
 *         chain refused its blocks, if it did), a failed step or a genesis
 *         the chain refused (r->base.reason); 2 bad options or input. */
int jk_devnet_consensus_run(const jk_devnet_options *o, const jk_devnet_faults *faults,
                            jk_devnet_cons_result *r);

/* ---------------------------------------------------------------------------
 * The multi-process testnet (src/devnet/testnet.c, testnet_workload.c;
 * docs/node.md "jark testnet"): V `jark node` processes, each with its own
 * key, store and ports, watched through their RPC, perturbed (SIGKILL,
 * restart, wipe) at given heights, fed the demo's signed transfers through
 * RPC, stopped with SIGTERM; then their archives compared height by height.
 * It lives on devnet (not node) because its workload is the demo's.
 * ------------------------------------------------------------------------- */

#define JK_DEVNET_TESTNET_MAX 16
#define JK_DEVNET_TESTNET_MAX_PERTURB 32
#define JK_DEVNET_TESTNET_MAX_POSTS 8
#define JK_DEVNET_TESTNET_MAX_IN_FLIGHT 64
#define JK_DEVNET_TESTNET_MAX_BATCH 4096

typedef enum jk_devnet_perturb_kind {
    JK_DEVNET_PERTURB_KILL = 1,    /* SIGKILL */
    JK_DEVNET_PERTURB_RESTART,     /* start again on its store */
    JK_DEVNET_PERTURB_WIPE,        /* SIGKILL, remove the store, start empty (it syncs) */
} jk_devnet_perturb_kind;

typedef struct jk_devnet_perturb {
    jk_devnet_perturb_kind kind;
    uint32_t node;
    uint64_t height;     /* when some node has committed this height */
} jk_devnet_perturb;

/* Parse "kill:I@H,restart:I@H,wipe:I@H,..." into p[0..cap).
 * @return JK_OK; JK_ERR_INVALID_ARG (what is wrong in diag). */
jk_err jk_devnet_perturb_parse(const char *s, jk_devnet_perturb *p, size_t cap, size_t *count,
                               jk_diag *diag);

/* Where a height falls in the run (session 16, docs/node.md "jark testnet"). */
typedef enum jk_devnet_height_phase {
    JK_DEVNET_HEIGHT_WINDOW = 0, /* measured: heights warmup+1 .. warmup+blocks */
    JK_DEVNET_HEIGHT_WARMUP,     /* heights 1 .. warmup: the workload's pipeline filling */
    JK_DEVNET_HEIGHT_BEFORE,     /* committed before the watch began (at start-up):
                                    it has no finality to show */
} jk_devnet_height_phase;

/* One committed height as the testnet saw it (from the first node that had it). */
typedef struct jk_devnet_testnet_height {
    uint64_t height;
    uint32_t round;
    uint64_t events;
    char root[17];           /* the state root's first 16 hex digits */
    uint64_t finality_ms;    /* the interval since the last height seen, by polling
                                (0 for a height before the watch) */
    jk_devnet_height_phase phase;
} jk_devnet_testnet_height;

typedef struct jk_devnet_testnet_options {
    const char *node_exe;    /* the jark binary run as `jark node ...` (required) */
    uint32_t validators;     /* 1..JK_DEVNET_TESTNET_MAX */
    uint64_t blocks;         /* heights measured, after the warm-up ones */
    uint64_t warmup;         /* heights before the measured window (session 16):
                                the window's figures count heights warmup+1 ..
                                warmup+blocks, from the watch's sight of height
                                `warmup` committed; the run is warmup + blocks
                                heights. 0: the window starts with the watch */
    uint32_t bound_ms;       /* > 0: the Ed25519 rate is measured for this long
                                before the nodes start and again after they stop
                                (r->ed25519_*); 0: not measured */
    const char *dir;         /* keys and stores (kept); NULL: a fresh /tmp/jark-testnet-XXXXXX,
                                removed after a run that passed */
    const char *spec_path;   /* NULL: the demo spec beside the SDK, with the workload */
    /* The workload (the demo only): batches of events_per_batch transfers
     * from distinct accounts, in_flight batches outstanding at once, each
     * split over the running nodes; an account is used again only after its
     * last transfer was committed. 0 events: none. */
    uint32_t events_per_batch;   /* 0..JK_DEVNET_TESTNET_MAX_BATCH */
    uint32_t in_flight;          /* 0 = 1; at most JK_DEVNET_TESTNET_MAX_IN_FLIGHT */
    uint32_t accounts;           /* the demo's accounts (0 = 64); at least
                                    events_per_batch × in_flight */
    bool tcp;                    /* TLS over TCP instead of QUIC */
    int verbose;                 /* the nodes get -v; refusals are noted */
    uint32_t empty_blocks_ms;    /* every node's --empty-blocks-interval; 0: the
                                    node's default (JK_NODE_EMPTY_BLOCKS_MS) */
    uint32_t verify_threads;     /* every node's --verify-threads; 0: none passed
                                    (the node's default: its own thread) */
    uint32_t posts;              /* the workload's requests in flight at once per
                                    node, each on its own connection (session
                                    10); 0 = 1, at most JK_DEVNET_TESTNET_MAX_POSTS */
    const jk_devnet_perturb *perturb;
    size_t perturb_count;
    /* Network namespaces (make e2e): node i runs in the namespace named
     * netns_prefix followed by i (/var/run/netns), listens on hosts[i] and
     * serves RPC on rpc_hosts[i] (reachable from here). NULL: 127.0.0.1. */
    const char *netns_prefix;
    const char *const *hosts;
    const char *const *rpc_hosts;
    volatile int *stop;          /* set by a signal handler: stop early (may be NULL) */
    /* Progress (may be NULL): a committed height; a line of prose (the
     * start, perturbations, the workload giving up), no newline. */
    void (*on_height)(void *ctx, const jk_devnet_testnet_height *h);
    void (*on_note)(void *ctx, const char *line);
    void *ctx;
} jk_devnet_testnet_options;

/* The result's figures are of the measured window (heights warmup+1 ..
 * warmup+blocks, from the watch's sight of height `warmup` to the last
 * height), except where a field says "whole": from every node answering
 * (the mesh up) to the last height, the figure before session 16. With
 * warmup 0 the two are one. */
typedef struct jk_devnet_testnet_result {
    uint64_t heights;            /* measured heights seen (at most blocks) */
    double seconds;              /* the window: from the watch's sight of height
                                    `warmup` committed to the last height */
    uint64_t events;             /* in the measured heights */
    uint64_t submitted, refused; /* the workload's transfers admitted / refused
                                    (the whole run) */
    uint64_t admitted_window;    /* of those admitted, in the window */
    int64_t pool_start, pool_end; /* the events in the nodes' pools (verified,
                                    not yet committed; summed over the nodes)
                                    when the window began and ended: near in a
                                    balanced window (docs/node.md) */
    uint64_t window_from;        /* the highest committed height when the window
                                    began (warmup, or more when the watch saw
                                    several heights at once) */
    double seconds_whole;        /* from the mesh up to the last height */
    uint64_t heights_whole, events_whole; /* every height watched, its events */
    double nodes_cpu_seconds_whole, host_idle_whole, ed25519_verifies_whole;
    double driver_cpu_seconds;   /* this process's CPU (user + system, every
                                    thread: the watch, the lanes) in the window */
    double ed25519_before, ed25519_after; /* with bound_ms: Ed25519 verifies per
                                    second of wall time on one thread (distinct
                                    signatures), before the nodes start and
                                    after they stop; 0 unmeasured */
    double ed25519_before_cpu, ed25519_after_cpu; /* the same per CPU second */
    double ed25519_rate, ed25519_rate_cpu; /* the bound's: the higher sample of
                                    each (jk_devnet_ed25519_bound_rate) */
    double ed25519_same_sig;     /* after: one signature again and again */
    bool event_finality;         /* p50/p99 are of batches (submit to commit)
                                    queued in the window, else of the measured
                                    heights (commit intervals) */
    uint64_t p50_ms, p99_ms;
    uint64_t idle_p50_ms, idle_p99_ms; /* idle finality: single events submitted
                                    after the workload, one at a time, submit
                                    to seen committed (0 without a workload) */
    uint32_t idle_events;        /* how many of those were committed */
    double rounds_per_height;
    bool agree;                  /* every node's archive has the same block at
                                    every height they share */
    uint64_t common, top;        /* the lowest and highest archive tops */
    uint32_t unclean;            /* nodes that did not exit 0 on SIGTERM */
    double nodes_cpu_seconds;    /* the nodes' own CPU time (user + system) over
                                    `seconds`, from /proc/PID/stat */
    double host_idle;            /* the machine's idle share of CPU time (all
                                    cores, idle + iowait, from /proc/stat)
                                    over `seconds`; -1 unread. Near 0 with
                                    nodes_cpu_seconds well under cores x
                                    seconds: other work held the cores */
    double nodes_run, nodes_runq, nodes_sleep; /* the nodes' wall time over
                                    `seconds` (per node, averaged): on a core,
                                    runnable waiting for a core, asleep
                                    (waiting on peers, the workload, the
                                    disk), from /proc/PID/task/ * /schedstat;
                                    -1 unread. Summed over a node's threads
                                    (the loop, the store's writer): sleep
                                    understates the loop's */
    double loop_run, loop_runq, loop_sleep; /* the same of the nodes' loop
                                    threads alone (session 10): asleep is
                                    the loop waiting on peers, the workload,
                                    a sync or the store's writer; -1 unread */
    double batch_answered_ms, batch_committed_ms, batch_retired_ms; /* a
                                    retired batch's time on average (session
                                    10): queued to every send answered (the
                                    lanes' posts, the nodes' admission),
                                    answered to its last event seen
                                    committed, seen to retired; 0 without a
                                    workload */
    double batch_heights;        /* the heights a batch's events spanned, on
                                    average (1: one block took it whole) */
    double others_run;           /* the nodes' other threads' time on a core
                                    (the store's writer), per node, as a
                                    share of the wall time; -1 unread */
    double net_frames_out, net_bytes_out; /* frames and frame bytes the nodes
                                    queued to peers over `seconds` (their
                                    jark_net_*_out metrics); 0 unread */
    double net_event_frames_out; /* of those, EVENT frames (gossip) */
    double ed25519_verifies;     /* Ed25519 checks the nodes made over
                                    `seconds` (the increase of their
                                    jark_ed25519_verifies_total, summed:
                                    events' traces, votes, proposals,
                                    blocks); 0 unread */
    char dir[4096];              /* where the keys, stores and logs are */
    bool kept;                   /* dir was left for its logs */
    char reason[256];            /* what went wrong, when the run returned non-zero */
} jk_devnet_testnet_result;

/* The submit_event params of a signed demo transfer (jk_devnet_demo_transfer):
 * ["transact","<blob hex>",[["<key>","<msg_hash>","<sig>"]]], into out (cap
 * bytes, NUL-terminated). @return its length; 0 when it does not fit. */
size_t jk_devnet_transfer_params(const uint8_t blob[JK_DEVNET_TRANSFER_LEN],
                                 const jk_chain_trace *trace, char *out, size_t cap);

/* Run a testnet as the options say.
 * @return 0 every node agreed and stopped cleanly; 1 a disagreement, a
 *         stall (no height for 120 s), a node that did not stop cleanly;
 *         2 bad options or the start failed (r->reason). */
int jk_devnet_testnet_run(const jk_devnet_testnet_options *o, jk_devnet_testnet_result *r);

/* Ed25519 verifies per second of wall time on one thread, measured for at
 * least ms milliseconds over 4,096 distinct valid (key, message, signature)
 * triples made beforehand, round-robin: what the nodes verify (the bound
 * `BENCH testnet` prints beside its events/s). *per_cpu_s (may be NULL):
 * the same per second of the thread's CPU time, which other work on the
 * machine does not lower. *same_sig_per_s (may be NULL: then not
 * measured): one signature verified again and again for another ms, the
 * figure before session 11
 * (libsodium's variable-time verify then runs with perfectly trained
 * branches: ~6 % faster here). */
double jk_devnet_ed25519_verifies_per_s(uint32_t ms, double *per_cpu_s, double *same_sig_per_s);

/* The rate the Ed25519 bound uses of two samples (session 16: before the
 * nodes start, after they stop): the higher, so that the bound is never
 * flattered by a sample taken while other work held the core; the one
 * measured when the other is 0 (unmeasured); 0 when neither is. */
double jk_devnet_ed25519_bound_rate(double before, double after);

#endif
