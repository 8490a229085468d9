/* testnet_internal.h — what testnet.c (the processes, the watch loop) and
 * testnet_workload.c (the signed transfers through RPC) share. */
#ifndef JK_DEVNET_TESTNET_INTERNAL_H
#define JK_DEVNET_TESTNET_INTERNAL_H

#include "jark/devnet.h"

#include <limits.h>
#include <sys/types.h>

typedef struct jk_tnet_wl jk_tnet_wl;

/* What the testnet measures besides the chain, read at one moment
 * (testnet_measure.c): the window's figures are the difference of two
 * (session 16: at the watch's start, at the window's start, at the end). */
typedef struct jk_tnet_snap {
    uint64_t ms;                    /* monotonic */
    bool host_read;                 /* /proc/stat was read: */
    uint64_t host_total, host_idle; /* the machine's CPU ticks, all and idle */
    double driver_cpu_s;            /* this process's CPU seconds (every thread) */
    uint64_t admitted;              /* the workload's events admitted so far */
    pid_t pid[JK_DEVNET_TESTNET_MAX];       /* each node's process (0: not running) */
    uint64_t cpu_ticks[JK_DEVNET_TESTNET_MAX]; /* its CPU ticks (user + system) */
    bool sched_read[JK_DEVNET_TESTNET_MAX];
    uint64_t sched[JK_DEVNET_TESTNET_MAX][2]; /* ns on a core, in a run queue (all threads) */
    uint64_t loop[JK_DEVNET_TESTNET_MAX][2];  /* the same of its loop (main) thread */
    int64_t pool[JK_DEVNET_TESTNET_MAX];      /* its pool's events (status.pool_size; -1 unread):
                                                 verified, not yet committed */
    bool net_read[JK_DEVNET_TESTNET_MAX];
    double net[JK_DEVNET_TESTNET_MAX][4]; /* jark_net_frames_out, _bytes_out,
                                             _event_frames_out, jark_ed25519_verifies_total */
} jk_tnet_snap;

/* The figures between two snapshots (jk_devnet_tnet_figures). */
typedef struct jk_tnet_figs {
    double seconds;
    double nodes_cpu_s;     /* a node restarted since `from` counts from its start;
                               one not running at `to` counts nothing */
    double host_idle;       /* -1 when either /proc/stat read failed */
    double sched[7];        /* shares of nodes x wall: all threads on a core, in a
                               run queue, asleep; the loop threads the same; the
                               other threads on a core. Only nodes running at both
                               with both read; -1 when none */
    double frames, bytes, event_frames, verifies; /* summed over the nodes read at `to` */
    double driver_cpu_s;
    uint64_t admitted;
    int64_t pool_from, pool_to; /* the events in the nodes' pools at each (summed
                                   over the nodes read) */
} jk_tnet_figs;

typedef struct jk_tnet {
    const jk_devnet_testnet_options *o;
    uint32_t v;
    char dir[PATH_MAX];
    char spec[PATH_MAX];
    jk_spec_key keys[JK_DEVNET_TESTNET_MAX];
    char host[JK_DEVNET_TESTNET_MAX][64], rpc_host[JK_DEVNET_TESTNET_MAX][64];
    uint16_t port[JK_DEVNET_TESTNET_MAX], rpc[JK_DEVNET_TESTNET_MAX];
    pid_t pid[JK_DEVNET_TESTNET_MAX];
    bool demo;               /* the demo spec: nodes get --demo-seed 1, a workload runs */
    struct jk_tnet_wl *wl;   /* the workload, or NULL */
} jk_tnet;

/* A loopback port for node i's listen (other = 0) or RPC socket (other =
 * its listen port) that no node before i holds and that is not `other`:
 * draw(type) asks the kernel for a free one, and the kernel may hand the
 * same free port to two successive asks (session 8: two nodes got UDP port
 * 35590, one failed to bind and the run stalled). 0 when 64 draws found
 * none. */
uint16_t jk_devnet_tnet_distinct_port(const jk_tnet *t, uint32_t i, uint16_t other, int type,
                                      uint16_t (*draw)(int type));

/* testnet_rpc.c: node i's committed height (-1: not running or not
 * answering); its height, connected peers and pool size from one status
 * call (-1 for what it did not give; false when it does not answer); does
 * its block at height h carry the event `want`; its block at h for the
 * per-height line (false when it did not give it). Each block read hands
 * the block's event ids to the workload (t->wl). */
int64_t jk_devnet_tnet_height(const jk_tnet *t, uint32_t i);
bool jk_devnet_tnet_status(const jk_tnet *t, uint32_t i, int64_t *height, int64_t *peers,
                           int64_t *pool);
bool jk_devnet_tnet_block_has(const jk_tnet *t, uint32_t i, uint64_t h, const jk_hash *want);
bool jk_devnet_tnet_block_get(const jk_tnet *t, uint32_t i, uint64_t h, jk_devnet_testnet_height *b);

/* A `block` answer as the watch reads it: the result object, parsed, and
 * the block's hex (hex_len digits, not NUL-terminated; NULL when the result
 * has no "block" string), in place in the reply's body or the parsed tree.
 * jk_devnet_tnet_block_parse takes the body (malloc'd, NUL-terminated, len
 * bytes) and frees it when it fails: false when the text is no JSON-RPC
 * reply with a result object. */
typedef struct jk_tnet_block_reply {
    char *body;
    struct json_object *root, *result;
    const char *hex;
    size_t hex_len;
} jk_tnet_block_reply;
bool jk_devnet_tnet_block_parse(char *body, size_t len, jk_tnet_block_reply *r);
void jk_devnet_tnet_block_reply_free(jk_tnet_block_reply *r);

/* A line of prose to the embedder (printf-like). */
void jk_devnet_tnet_note(const jk_tnet *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
uint64_t jk_devnet_tnet_ms(void);

/* The machine's CPU time from /proc/stat's text: the first line,
 * "cpu  user nice system idle iowait irq softirq steal ...", summed over
 * every core in clock ticks. *total: all its fields (guest time, already
 * in user and nice, left out); *idle: idle + iowait. false (outputs 0)
 * when the text does not start with such a line of at least 4 numbers. */
bool jk_devnet_tnet_host_cpu_parse(const char *text, uint64_t *total, uint64_t *idle);

/* The node the watch reads block `at` from, given every node's committed
 * height (-1: not running or not answering): the first whose height is
 * `at`, since a node answers its top from memory, or `best` when none is
 * (session 12: a block below a node's top is read from its store, which
 * waits for the write in progress; the watch's reads from the highest node
 * put its loop thread to sleep for that write, 652 ms once at a checkpoint,
 * while it had votes to send). */
uint32_t jk_devnet_tnet_block_source(const int64_t *heights, uint32_t v, uint64_t at, uint32_t best);

/* A thread's /proc/.../schedstat text, "run_ns wait_ns slices": its time
 * on a core and runnable in a run queue. false (outputs 0) when the text
 * does not start with two numbers. */
bool jk_devnet_tnet_schedstat_parse(const char *text, uint64_t *run_ns, uint64_t *wait_ns);

/* The value of the unlabelled sample `name` in a Prometheus text page (a
 * line "name value"). false when there is no such line or its value is no
 * number. */
bool jk_devnet_tnet_metric_parse(const char *text, const char *name, double *out);

/* testnet_measure.c: every running node's CPU time, run queue, frame
 * counters, the host's and this process's CPU and the workload's admitted
 * count, now. */
void jk_devnet_tnet_snap_take(const jk_tnet *t, jk_tnet_snap *s);
/* Read the nodes' frame counters again into s (after the workload stopped:
 * every event it counts as admitted had its gossip counted too), and the
 * admitted count. */
void jk_devnet_tnet_snap_net(const jk_tnet *t, jk_tnet_snap *s);
/* Where height `at` falls: before the watch when the watch had not begun
 * when it was reported or it was committed by then (at <= up_hi, the
 * highest height at the watch's start); warm-up while the window has not
 * begun or up to win_hi (the highest height when it began); else the
 * window. */
jk_devnet_height_phase jk_devnet_tnet_phase(uint64_t at, bool up, uint64_t up_hi, bool in_window,
                                            uint64_t win_hi);
/* The figures from `from` to `to` over v nodes; hz: clock ticks a second. */
void jk_devnet_tnet_figures(const jk_tnet_snap *from, const jk_tnet_snap *to, uint32_t v, long hz,
                            jk_tnet_figs *f);
/* The window's figures (from `window` to `end`) and the whole run's (from
 * `up`) into r's measured fields. */
void jk_devnet_tnet_results(const jk_tnet *t, const jk_tnet_snap *up, const jk_tnet_snap *window,
                            const jk_tnet_snap *end, jk_devnet_testnet_result *r);

/* The workload: batches in flight over distinct accounts. */

/* Make the demo generator and the genesis the nodes will build.
 * @return JK_OK; JK_ERR_NOMEM; a spec or genesis error (diag). */
jk_err jk_devnet_tnet_wl_new(const jk_tnet *t, jk_tnet_wl **out, jk_diag *diag);
void jk_devnet_tnet_wl_free(jk_tnet_wl *w);
/* Stop sending: the lanes end (a post under way finishes first); steps
 * after it do nothing. The counts and latencies stay readable. */
void jk_devnet_tnet_wl_stop(jk_tnet_wl *w);
/* One step at time now (never waits for a node: the lanes post): take the
 * lanes' answers (a refused event is queued again, up to 8 sends), retire
 * the batches whose events were all seen committed (their finality: queued
 * to now), stop when one has waited 20 s, queue new batches while fewer
 * than in_flight are outstanding, their accounts' last batch is retired and
 * `more` is true. */
void jk_devnet_tnet_wl_step(jk_tnet_wl *w, jk_tnet *t, uint64_t now, bool more);
/* The event ids (jk_chain_event_hash) of the committed block at `height`,
 * as the watch sees it at time now: each admitted one counts off its
 * batch. w may be NULL. */
void jk_devnet_tnet_wl_committed(jk_tnet_wl *w, const jk_hash *ids, size_t n, uint64_t height,
                                 uint64_t now);
/* Where the retired batches' time went (session 10, docs/bench.md "Testnet,
 * session 10"), averaged over them, in ms: queued to every send answered
 * (the lanes' posts and the nodes' admission), answered to the last event
 * seen committed (the pools, the heights), seen to retired; and the
 * heights a batch's events spanned (1: all in one block). */
typedef struct jk_tnet_wl_breakdown {
    uint64_t batches;
    double answered_ms, committed_ms, retired_ms, heights;
    double one_height;       /* the share of batches whose events were all in one block */
} jk_tnet_wl_breakdown;
void jk_devnet_tnet_wl_breakdown(const jk_tnet_wl *w, jk_tnet_wl_breakdown *out);
/* The pipeline has filled: the first in_flight batches had every send
 * answered (true without a workload). */
bool jk_devnet_tnet_wl_filled(const jk_tnet_wl *w);
/* The finality samples (borrowed) of the retired batches queued at or
 * after from_ms (the window's start: a batch queued while the pipeline
 * filled met less in flight); the others are dropped. And the counts. */
uint64_t *jk_devnet_tnet_wl_latencies(jk_tnet_wl *w, uint64_t from_ms, size_t *n);
void jk_devnet_tnet_wl_counts(const jk_tnet_wl *w, uint64_t *admitted, uint64_t *refused);
/* After jk_devnet_tnet_wl_stop: probe k's transfer for the idle-finality
 * measure — the k-th account that no open batch holds and none gave up,
 * with its committed nonce — as submit_event params (JSON, into params of
 * cap bytes) and its event id. false when no such account is left (or out
 * of memory). */
bool jk_devnet_tnet_wl_probe(jk_tnet_wl *w, uint32_t k, char *params, size_t cap, jk_hash *id);

#endif
