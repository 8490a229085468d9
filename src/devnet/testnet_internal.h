/* testnet_internal.h — what testnet.c (the processes, the watch loop) and
 * testnet_workload.c (the signed transfers through RPC) share. */
#ifndef JK_DEVNET_TESTNET_INTERNAL_H
#define JK_DEVNET_TESTNET_INTERNAL_H

#include "jark/devnet.h"

#include <limits.h>
#include <sys/types.h>

typedef struct jk_tnet_wl jk_tnet_wl;

typedef struct jk_tnet {
    const jk_devnet_testnet_options *o;
    uint32_t v;
    char dir[PATH_MAX];
    char spec[PATH_MAX];
    jk_spec_key keys[JK_DEVNET_TESTNET_MAX];
    char host[JK_DEVNET_TESTNET_MAX][64], rpc_host[JK_DEVNET_TESTNET_MAX][64];
    uint16_t port[JK_DEVNET_TESTNET_MAX], rpc[JK_DEVNET_TESTNET_MAX];
    pid_t pid[JK_DEVNET_TESTNET_MAX];
    pid_t cpu_pid[JK_DEVNET_TESTNET_MAX];     /* whose CPU time cpu_from is */
    uint64_t cpu_from[JK_DEVNET_TESTNET_MAX]; /* its CPU ticks when the watch began */
    uint64_t host_total, host_idle; /* the machine's CPU ticks when the watch began */
    bool host_read;                 /* those were read */
    uint64_t sched_ms;              /* when the schedstat marks were read */
    uint64_t sched_from[JK_DEVNET_TESTNET_MAX][2]; /* a node's ns on a core, in a run queue then */
    uint64_t loop_from[JK_DEVNET_TESTNET_MAX][2];  /* the same of its loop thread (its main thread) */
    bool sched_read[JK_DEVNET_TESTNET_MAX];
    double net_from[JK_DEVNET_TESTNET_MAX][4]; /* jark_net_frames_out, _bytes_out, _event_frames_out,
                                                  jark_ed25519_verifies_total then */
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

/* testnet_measure.c: since the watch's mark (jk_devnet_tnet_cpu_mark notes every
 * running node's CPU time and frame counters): the host's idle share (-1
 * when /proc/stat cannot be read), the nodes' shares of wall time on a core,
 * in a run queue and asleep (s[0..2]: all threads; s[3..5]: the loop
 * threads alone; s[6]: the other threads on a core), the frames / bytes /
 * event frames they sent and the Ed25519 checks they made, and their CPU
 * seconds. */
void jk_devnet_tnet_cpu_mark(jk_tnet *t);
double jk_devnet_tnet_host_idle_since(const jk_tnet *t);
void jk_devnet_tnet_sched_since(const jk_tnet *t, double s[7]);
void jk_devnet_tnet_net_since(const jk_tnet *t, double *frames, double *bytes, double *events,
                              double *verifies);
double jk_devnet_tnet_cpu_since(const jk_tnet *t);

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
/* The batches' finality samples (borrowed) and the counts. */
uint64_t *jk_devnet_tnet_wl_latencies(jk_tnet_wl *w, size_t *n);
void jk_devnet_tnet_wl_counts(const jk_tnet_wl *w, uint64_t *admitted, uint64_t *refused);
/* After jk_devnet_tnet_wl_stop: probe k's transfer for the idle-finality
 * measure — the k-th account that no open batch holds and none gave up,
 * with its committed nonce — as submit_event params (JSON, into params of
 * cap bytes) and its event id. false when no such account is left (or out
 * of memory). */
bool jk_devnet_tnet_wl_probe(jk_tnet_wl *w, uint32_t k, char *params, size_t cap, jk_hash *id);

#endif
