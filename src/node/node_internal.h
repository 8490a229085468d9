/*
 * node_internal.h — the node driver's state, shared by node.c (the loop)
 * and node_rpc.c (its RPC provider). Both run on the node's one thread.
 */
#ifndef JK_NODE_INTERNAL_H
#define JK_NODE_INTERNAL_H

#include "internal.h"
#include "jark/node.h"

#include <sodium.h>

typedef struct jk_node_timer {
    uint64_t due, seq;
    jk_cons_timer timer;
} jk_node_timer;

/* Where the loop thread's off-CPU time went over a height, at -v (session
 * 10, docs/bench.md "Testnet, session 10"): asleep in the transport's wait
 * (nothing to do: waiting on peers or the workload), in the vote records'
 * syncs, in the commit (waiting for the store's last write), in the other
 * phases; and runnable but waiting for a core. Summed by jk_node_phase and
 * the step's own timing, logged and cleared at each commit. */
enum { JK_NODE_SLEEP_STEP, JK_NODE_SLEEP_PERSIST, JK_NODE_SLEEP_COMMIT, JK_NODE_SLEEP_RPC,
       JK_NODE_SLEEP_OTHER, JK_NODE_SLEEP_KINDS };
typedef struct jk_node_height_acct {
    double sleep_ms[JK_NODE_SLEEP_KINDS];
    double nested;               /* sleep of the inner phases so far: an outer
                                    phase (net, rpc) counts only the rest */
    double wall0, proc_cpu0, cpu0; /* at the last commit: wall, process and
                                      loop thread CPU seconds */
    uint64_t runq0_ns;
    bool started;
} jk_node_height_acct;

struct jk_node {
    jk_node_config cfg;
    jk_cons_app app;              /* the application under the wrapper */
    jk_cons_machine *m;
    jk_net *net;
    jk_rpc_server *rpc;
    bool rpc_wakes;          /* the RPC server's descriptor ends the loop's wait */
    uint64_t rpc_wakes_run;  /* jk_net_wakes() when the RPC server last ran */
    uint64_t loop_turns, rpc_runs; /* jk_node_run's turns; the RPC passes among them */
    bool unsent;             /* consensus messages queued in the transport since
                                its last write pass (jk_node_send_now) */
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
    bool was_waiting;               /* the machine was in the empty-blocks wait
                                       after the last input */
    uint64_t next_tick_ms;        /* a full node's next SYNC_REQUEST */
    uint64_t sync_until;          /* full node: the last height its request covers */
    /* full node: the last height of the whole batch (JK_CONS_SYNC_BATCH)
     * its last request could bring; once committed, the peer may hold more
     * and the next request goes out at once (follow.c) */
    uint64_t sync_more;
    bool sync_blind;              /* that request went out with no peer known ahead */
    /* Peers' committed heights, by transport peer index (0: not known),
     * learnt from signed votes (docs/node.md "Syncing"); cleared when the
     * peer goes down. */
    uint64_t *peer_height;
    size_t npeer_height;
    uint64_t events_relayed;      /* events this node passed on (full node) */
    /* node_gas.c: each peer's verify gas buckets, by transport peer index
     * (kept when it goes down: a reconnect does not refill them); the loop
     * turn's serial for the prepare's room per peer; peers dropped for the
     * gas their refusals wasted, events refused unverified past a peer's
     * rate (docs/network.md "Peer costs") */
    struct jk_node_peer_gas *peer_gas;
    size_t npeer_gas;
    uint64_t gas_turn, gas_now_ms;
    uint64_t peers_dropped_gas, events_over_rate;
    /* The transport peer whose frame the machine's outputs answer now
     * (UINT32_MAX: none, e.g. an RPC submit or a timer): an event gossiped
     * on goes neither back to it nor, when it is a validator, to the other
     * validators (node.c, jk_gossip_on). */
    uint32_t relay_from;
    jk_rpc_metric *m_max_peer_height, *m_syncing;
    /* The transport's frame counters summed over peers (docs/rpc.md
     * "Metrics"): frames and bytes out, frames and bytes in. */
    jk_rpc_metric *m_net[4];
    uint64_t event_frames_out;    /* EVENT frames the machine's gossip sent */
    jk_rpc_metric *m_event_frames_out;
    uint64_t verifies_noted;      /* jk_crypto_ed25519_verifies() as last added to the metric */
    jk_rpc_metric *m_peers_dropped, *m_connections_refused;
    /* Ed25519 verifies of peers' votes made by node_peers.c itself (those
     * the machine does not verify: heights other than its own and the
     * next; a full node's). */
    uint64_t vote_checks;
    uint64_t net_polls;           /* steps inside a slice (JK_NODE_POLL_EVERY) */
    /* Proposals this node sent (the machine's SEND of a proposal, to one
     * peer or all), and those of a (height, round) it had sent before: the
     * stall tick's re-sends (node.c, jk_note_proposal). */
    uint64_t proposals_out, proposals_again;
    uint64_t prop_height;
    uint32_t prop_round;
    /* A loop turn's frames, copied (node.c, jk_node_drain_net), and the gossiped
     * events among them for the chain app's prepare: allocated once, at
     * the first turn (a calloc of the whole turn per loop turn before). */
    jk_net_event *turn;
    const uint8_t **turn_events;
    size_t *turn_lens;
    size_t *turn_order;           /* jk_node_turn_order's answer */
    jk_node_height_acct acct;     /* -v: the height's off-CPU time */
    /* The last height this process committed, kept for the RPC (session
     * 10, node_rpc.c "The top from memory"): its value id, its value and the
     * certificate it was decided on. The archive's write of that height
     * may still be on the store's writer thread, and any read of the store
     * waits for it; status and a block request for the top answer from
     * here instead. top_height 0: none yet (answers come from the archive). */
    uint64_t top_height;
    jk_hash top_hash;
    uint8_t *top_value;
    size_t top_len, top_cap;
    jk_cons_cert *top_cert;
    /* node_rpc.c: a JSON-RPC batch's encoded events and their hashes, from
     * the batch hint to its end (NULL otherwise) */
    struct jk_nrpc_hint *rpc_hint;
};

uint64_t jk_node_now_ms(void);
/* Seconds on CLOCK_MONOTONIC, for the verify and apply histograms only. */
double jk_node_secs(void);
/* The phases of a height at -v (docs/bench.md "BENCH testnet", the
 * timeline): what ran, for how long; the log line's time is its end
 * (node_app.c). */
typedef struct jk_node_phase_t0 {
    double wall, cpu;
    uint64_t runq_ns;         /* the loop thread's run delay (-v only) */
    double nested0;           /* acct.nested at the start */
} jk_node_phase_t0;
jk_node_phase_t0 jk_node_phase_start(const jk_node *n);
void jk_node_phase(jk_node *n, const char *what, uint64_t h, jk_node_phase_t0 t0, size_t bytes);
/* The transport's wait (jk_net_step) ended: its sleep joins the height's
 * (-v only; no line). */
void jk_node_phase_step(jk_node *n, jk_node_phase_t0 t0);
/* The application wrapped for the machine (node_app.c): n->app's
 * callbacks, timed, with commit ending a height (jk_node_commit). */
void jk_node_wrap_app(jk_node *n, jk_cons_app *out);
/* The wrapped commit (logs, metrics) — what the machine calls, and what a
 * full node calls for a certified decision (follow.c). */
jk_err jk_node_commit(jk_node *n, uint64_t h, const uint8_t *v, size_t len,
                      const jk_cons_cert *cert);
/* Keep height h's value and certificate as the top the RPC answers from
 * (node_rpc.c); on no memory the top is forgotten (the archive answers). */
void jk_node_top_set(jk_node *n, uint64_t h, const uint8_t *v, size_t len,
                     const jk_cons_cert *cert);
/* follow.c: a validator answering a non-validator's SYNC_REQUEST (true when
 * the frame was one); a full node's tick (ask for decisions) and frames. */
bool jk_node_answer_sync(jk_node *n, const jk_net_event *ev);
jk_err jk_node_follow_frame(jk_node *n, const jk_net_event *ev, jk_diag *diag);
/* The highest committed height a connected peer is known at (0: none
 * known), and the peer holding it (UINT32_MAX when none). */
uint64_t jk_node_max_peer_height(const jk_node *n, uint32_t *peer);
/* syncing: a peer is known more than one height ahead of this node. */
bool jk_node_syncing(const jk_node *n);
/* Record that `peer` has committed `height` (a raise only). */
void jk_node_peer_height_set(jk_node *n, uint32_t peer, uint64_t height);
/* node_peers.c: the index of the validator holding `key` (valset->count:
 * none); a prevote's or precommit's height noted for its sender once its
 * signature checks (false: it does not, and the sender was dropped). A vote
 * of the machine's height machine_h or the next (machine_h 0: no machine)
 * is not verified here: *after is then the height to note for the sender
 * once the machine took the frame (the machine verifies those; 0: nothing
 * to note). */
uint32_t jk_node_validator_of(const jk_node *n, const uint8_t key[JK_NET_KEY_SIZE]);
bool jk_node_note_height(jk_node *n, const jk_net_event *ev, uint64_t machine_h, uint64_t *after);
/* node_peers.c: the order a loop turn's entries go to the machine in
 * (node.c, "Consensus first"): order[0..k) the indices of the entries that
 * are not EVENTS frames, then order[k..count) those of the EVENTS frames,
 * each part in arrival order. @return k. */
size_t jk_node_turn_order(const jk_net_event *turn, size_t count, size_t *order);
/* node_peers.c, -v: a proposal leaving (out: peer is the machine's
 * addressee) or reaching the machine (peer: the sender's validator index),
 * with each peer's window from the transport; counts the sends and the
 * sends of a (height, round) sent before (proposals_out, proposals_again). */
void jk_node_note_proposal(jk_node *n, bool out, uint32_t peer, const uint8_t *bytes, size_t len);
/* Sliced admission (session 9). A pass over the transport's events takes
 * at most this many gossiped events; the rest stay queued there, and the
 * loop goes round at once (timers, a step that sends what is queued and
 * reads what came, the RPC pass) before the next slice. The transport hands
 * out every other frame before its EVENTS frames (jk_net_next_event), so a
 * vote or proposal that arrives while a burst of events is admitted waits
 * for one slice at most (~7 ms of admission on this machine), not for the
 * whole burst (up to 1,024 events, ~60 ms, before). The events' order is
 * unchanged. */
#define JK_NODE_SLICE 128u
/* Acknowledgements inside a slice (session 13). A peer's QUIC window (~42
 * KB on loopback: docs/network.md) opens only when this node acknowledges
 * it, and the node reads and acknowledges only when it steps the
 * transport; a slice of admissions is ~11 ms of CPU quiet and much more
 * wall time on a loaded machine, and a ~250 KB proposal needs ~6 windows.
 * So the transport is stepped without waiting (jk_net_step with timeout
 * 0: reads, ACKs, writes what the windows now allow) after the slice's
 * prepare and after every JK_NODE_POLL_EVERY admissions. What it reads
 * only queues in the transport: the machine takes it in the next pass,
 * consensus first, exactly as if it had been read at the next step. */
#define JK_NODE_POLL_EVERY 32u
/* node_gas.c (docs/network.md "Peer costs"): an event relayed by transport
 * peer `from` (UINT32_MAX: none, an RPC submit) through n->app.add_event,
 * refused unverified when `from` is past its verify gas rate or its fault
 * budget; its verdict's gas charged to `from`, and `from` disconnected and
 * counted when the refusals that are its fault pass peer_fault_gas.
 * @return what add_event returned (false when refused here). */
bool jk_node_peer_add_event(jk_node *n, uint32_t from, const uint8_t *ev, size_t len);
/* node_gas.c: whether a loop turn's event from `peer` joins the turn's
 * prepared batch (node.c, jk_prepare_turn; n->gas_turn counts the turns):
 * not when the peer is past its rate or fault budget, and at most the
 * peer's room a turn — 1 for a new peer or one whose refusal was its
 * fault, one more for each of its events admitted, up to JK_NODE_SLICE —
 * since a batch verifies before any of its gas is charged. The rest go one
 * by one through jk_node_peer_add_event, each charged before the next. */
bool jk_node_peer_prepare(jk_node *n, uint32_t peer);
/* node.c: one pass over the transport's queued events: turns of consensus
 * first, then admission, ending after a slice of JK_NODE_SLICE gossiped
 * events (the rest stay queued for the next pass). Internal; public to the
 * tests. */
jk_err jk_node_drain_net(jk_node *n, uint64_t now, jk_diag *diag);
/* Admit an event through the application (decode, dedup by hash, verify;
 * the verify histogram) and, when it is new and admitted, pass it to every
 * connected peer but `from` (UINT32_MAX: none excluded). A full node's
 * relay; a validator's machine gossips for itself.
 * @return JK_OK (*admitted tells); JK_ERR_NOMEM. */
jk_err jk_node_relay_event(jk_node *n, uint32_t from, const uint8_t *ev, size_t len,
                           bool *admitted);
/* A full node: ask for decisions when a peer is known ahead and the last
 * request is used up (or always, when `force`). */
void jk_node_follow_want(jk_node *n, bool force);
/* A full node: hand its pool to a peer that just came up. */
void jk_node_follow_peer_up(jk_node *n, uint32_t peer);
void jk_node_logf(jk_node *n, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The transport's counters into the metrics (node_peers.c), once a turn. */
void jk_node_net_metrics(jk_node *n);

#endif
