/*
 * jark/consensus.h — Tendermint consensus as a deterministic state machine.
 *
 * The algorithm is Algorithm 1 of Buchman, Kwon, Milosevic, "The latest
 * gossip on BFT consensus" (arXiv:1807.04938); src/consensus/machine.c cites
 * its line numbers where each rule is implemented. docs/consensus.md maps it
 * onto jark, gives the message formats and says what is persisted when.
 *
 * The machine never waits, reads a clock, touches a socket or draws a random
 * number. A driver (the simulator below, the node, the devnet) feeds it inputs:
 *   - a message from a peer (bytes, decoded strictly here),
 *   - a timer it asked for firing,
 *   - an event submitted by a client (gossiped on),
 * and carries out its outputs, IN ORDER:
 *   - PERSIST: write the signed-vote record durably (it always comes before
 *     the message it protects, so a crash between the two is safe),
 *   - SEND: bytes to one peer or to every validator,
 *   - TIMER: call jk_cons_on_timer with this timer after delay_ms,
 *   - EVIDENCE: two conflicting signed votes of one validator, to be kept,
 *   - PERSIST_POL: the proof of lock (validValue_p, validRound_p and the
 *     2f+1 prevotes for it) to keep beside the record, replacing the last.
 * The application (the chain layer, or the simulator's mock) answers
 * questions through jk_cons_app: who proposes (height, round), a value to
 * propose, whether a value is valid, a value's hash, and it commits decided
 * values with their commit certificate. Values are opaque bytes to this layer.
 *
 * Validators have equal voting power. With n validators the machine tolerates
 * f = floor((n-1)/3) Byzantine ones; a quorum ("2f+1") is floor(2n/3)+1 and
 * the round-skip threshold ("f+1") is floor(n/3)+1, which are the paper's
 * 2f+1 and f+1 when n = 3f+1 and stay safe for other n.
 *
 * Failure sticks (as in LMDB): when an allocation fails or app->commit
 * returns an error, the machine stops. That input returns the code (its
 * outputs so far are still to be carried out); every later jk_cons_start /
 * jk_cons_on_* call returns the same code at once, changing nothing and
 * adding no output. Free the machine and make a new one from the store.
 * Refusing one peer message (a JK_ERR_CONS_* code) does not stop it.
 *
 * Determinism: every output is a function of the configuration and the
 * sequence of inputs. Thread rules: a machine is used by one thread at a time.
 * Layering: depends on jark/crypto.h and jark/err.h only.
 */
#ifndef JARK_CONSENSUS_H
#define JARK_CONSENSUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jark/crypto.h"
#include "jark/err.h"

#define JK_CONS_MAX_VALIDATORS 128
#define JK_CONS_MAX_VALUE (4u << 20)   /* bytes in a proposed value */
#define JK_CONS_MAX_EVENT (64u << 10)  /* bytes in a gossiped event */
#define JK_CONS_MAX_ROUND (1u << 30)   /* rounds above this are malformed */
#define JK_CONS_NIL_ROUND 0xFFFFFFFFu  /* encoding of validRound -1 */
#define JK_CONS_ALL 0xFFFFFFFFu        /* SEND to every other validator */
#define JK_CONS_SYNC_BATCH 16          /* decisions answered per request */
#define JK_CONS_VOTE_SIZE 114          /* encoded vote message */
#define JK_CONS_RECORD_SIZE 87         /* encoded signed-vote record */

/* Steps of a round (step_p), in their order within a round. */
typedef enum jk_cons_step {
    JK_CONS_STEP_PROPOSE = 0,
    JK_CONS_STEP_PREVOTE = 1,
    JK_CONS_STEP_PRECOMMIT = 2,
} jk_cons_step;

/* Message kinds: the first byte of every encoded message. */
typedef enum jk_cons_msg_kind {
    JK_CONS_MSG_PROPOSAL = 1,
    JK_CONS_MSG_PREVOTE = 2,
    JK_CONS_MSG_PRECOMMIT = 3,
    JK_CONS_MSG_SYNC_REQUEST = 4,
    JK_CONS_MSG_DECISION = 5,
    JK_CONS_MSG_EVENT = 6,
} jk_cons_msg_kind;

/* ---------------------------------------------------------------------------
 * Validator set, votes, commit certificates
 * ------------------------------------------------------------------------- */

typedef struct jk_cons_valset {
    uint32_t count;                                   /* 1..MAX_VALIDATORS */
    uint8_t keys[JK_CONS_MAX_VALIDATORS][JK_ED25519_PUBLIC_SIZE];
} jk_cons_valset;

/* 2f+1 and f+1 for n validators (see the file comment). */
uint32_t jk_cons_quorum(uint32_t n);
uint32_t jk_cons_skip_threshold(uint32_t n);

/* A prevote or precommit: ⟨PREVOTE|PRECOMMIT, h, r, id(v) or nil⟩ signed by
 * validator `validator`. */
typedef struct jk_cons_vote {
    uint8_t type;          /* JK_CONS_MSG_PREVOTE or JK_CONS_MSG_PRECOMMIT */
    uint64_t height;
    uint32_t round;
    bool has_value;        /* false: a nil vote, value all zero */
    jk_hash value;         /* id(v) */
    uint32_t validator;    /* index into the validator set */
    uint8_t sig[JK_ED25519_SIG_SIZE];
} jk_cons_vote;

/* Sign a vote in place (fills vote->sig) with the validator's secret key,
 * over the domain-separated message of docs/consensus.md (genesis hash,
 * height, round, step, value or nil). Cannot fail. */
void jk_cons_vote_sign(jk_cons_vote *vote, const jk_hash *genesis,
                       const uint8_t secret_key[JK_ED25519_SECRET_SIZE]);

/* Check a vote's signature against the validator set.
 * @return JK_OK; JK_ERR_CONS_MEMBER when vote->validator is not in vs;
 *         JK_ERR_CONS_SIG when the signature does not verify. */
jk_err jk_cons_vote_verify(const jk_cons_vote *vote, const jk_hash *genesis,
                           const jk_cons_valset *vs);

/* A commit certificate: 2f+1 precommits of one round for one value, from
 * distinct validators, stored in ascending validator order. */
typedef struct jk_cons_cert {
    uint64_t height;
    uint32_t round;
    jk_hash value;
    uint32_t count;
    struct {
        uint32_t validator;
        uint8_t sig[JK_ED25519_SIG_SIZE];
    } sigs[JK_CONS_MAX_VALIDATORS];
} jk_cons_cert;

/* Encoded size of a certificate: 48 + 68 * count bytes. */
size_t jk_cons_cert_size(const jk_cons_cert *cert);
/* Write the canonical encoding (docs/consensus.md) into out, which holds
 * jk_cons_cert_size(cert) bytes. cert->count must be <= MAX_VALIDATORS. */
void jk_cons_cert_encode(const jk_cons_cert *cert, uint8_t *out);
/* Strict decoder: the len bytes must be exactly one certificate (no
 * signature is checked here: jk_cons_cert_check does that).
 * @return JK_OK; JK_ERR_CONS_DECODE (truncated, trailing bytes, count 0 or
 *         over the bound, round over JK_CONS_MAX_ROUND, validators not
 *         strictly ascending or not below the bound). On failure *cert is
 *         zeroed and diag says why. */
jk_err jk_cons_cert_decode(const uint8_t *bytes, size_t len, jk_cons_cert *cert,
                           jk_diag *diag);
/* BLAKE2b-256 of the canonical encoding: what the next block's header
 * commits to as last_commit. */
void jk_cons_cert_hash(const jk_cons_cert *cert, jk_hash *out);
/* Does cert prove that `value` was decided at `height`? Checks the height and
 * value, membership, distinct validators (ascending order), quorum, and every
 * signature as a precommit of (height, cert->round, value).
 * @return JK_OK; JK_ERR_CONS_CERT with diag naming the first failure. */
jk_err jk_cons_cert_check(const jk_cons_cert *cert, const jk_hash *genesis,
                          const jk_cons_valset *vs, uint64_t height,
                          const jk_hash *value, jk_diag *diag);

/* ---------------------------------------------------------------------------
 * Messages
 * ------------------------------------------------------------------------- */

/* ⟨PROPOSAL, h, r, v, vr⟩ signed by the proposer of (h, r). The signature
 * covers (genesis, h, r, vr, id(v)). */
typedef struct jk_cons_proposal {
    uint64_t height;
    uint32_t round;
    uint32_t valid_round;  /* vr, JK_CONS_NIL_ROUND for -1; else < round */
    uint32_t proposer;
    const uint8_t *value;  /* borrowed (see jk_cons_msg_decode) */
    size_t value_len;      /* 1..JK_CONS_MAX_VALUE */
    uint8_t sig[JK_ED25519_SIG_SIZE];
} jk_cons_proposal;

/* A decoded message. Pointers (proposal.value, decision.value, event) point
 * into the decoded bytes: they stay valid as long as those bytes do. */
typedef struct jk_cons_msg {
    jk_cons_msg_kind kind;
    jk_cons_proposal proposal;        /* PROPOSAL */
    jk_cons_vote vote;                /* PREVOTE, PRECOMMIT */
    uint64_t sync_height;             /* SYNC_REQUEST: first height wanted */
    struct {
        const uint8_t *value;
        size_t value_len;
        jk_cons_cert cert;            /* cert.height is the decided height */
    } decision;                       /* DECISION */
    const uint8_t *event;             /* EVENT */
    size_t event_len;
} jk_cons_msg;

/* Strict decoder of one message (every format in docs/consensus.md):
 * exact length, known kind, bounded sizes, nil votes all zero, vr < r,
 * rounds <= JK_CONS_MAX_ROUND, canonical certificate. No allocation.
 * Every field the message's kind does not use is zero, except the entries
 * of decision.cert.sigs, which are written only for a DECISION (its
 * cert.count says how many hold; elsewhere count is 0 and none does).
 * @return JK_OK; JK_ERR_CONS_DECODE with diag on any malformation (then
 *         *msg is zeroed in the same sense: kind 0). */
jk_err jk_cons_msg_decode(const uint8_t *bytes, size_t len, jk_cons_msg *msg,
                          jk_diag *diag);
/* Canonical encoding of msg into a malloc'd buffer the caller frees.
 * @return JK_OK; JK_ERR_NOMEM; JK_ERR_INVALID_ARG when msg breaks a bound
 *         the decoder enforces (so every encoding decodes). */
jk_err jk_cons_msg_encode(const jk_cons_msg *msg, uint8_t **out, size_t *out_len);
/* The EVENT message of `event` (1..JK_CONS_MAX_EVENT bytes), the same bytes
 * jk_cons_msg_encode gives, without a jk_cons_msg. *out is malloc'd: the
 * caller frees it. JK_ERR_INVALID_ARG (and *out NULL, *out_len 0) when the
 * event is NULL, empty or too long. */
jk_err jk_cons_event_encode(const uint8_t *event, size_t len, uint8_t **out, size_t *out_len);
/* The vote message alone, into JK_CONS_VOTE_SIZE bytes. */
void jk_cons_vote_encode(const jk_cons_vote *vote, uint8_t out[JK_CONS_VOTE_SIZE]);

/* Sign/verify a proposal (value_hash = the application's id(v)). */
void jk_cons_proposal_sign(jk_cons_proposal *p, const jk_hash *genesis,
                           const jk_hash *value_hash,
                           const uint8_t secret_key[JK_ED25519_SECRET_SIZE]);
/* @return JK_OK; JK_ERR_CONS_MEMBER (proposer not in vs); JK_ERR_CONS_SIG. */
jk_err jk_cons_proposal_verify(const jk_cons_proposal *p, const jk_hash *genesis,
                               const jk_hash *value_hash, const jk_cons_valset *vs);

/* ---------------------------------------------------------------------------
 * The signed-vote record (durable; docs/consensus.md "What is persisted")
 * ------------------------------------------------------------------------- */

/* The last (height, round, step) this validator signed, what it signed there,
 * and its lock at that moment. Written (PERSIST output) before any proposal
 * or vote leaves the machine; a machine restarted from it never signs a
 * conflicting message and keeps its lock. */
typedef struct jk_cons_record {
    bool present;          /* false: nothing signed yet */
    uint64_t height;
    uint32_t round;
    uint8_t step;          /* jk_cons_step of the signed message */
    bool has_value;        /* for a vote: not nil; for a proposal: true */
    jk_hash value;         /* id(v) voted or proposed */
    uint32_t valid_round;  /* for a proposal: its vr; else NIL_ROUND */
    uint32_t locked_round; /* lockedRound_p, NIL_ROUND for -1 */
    jk_hash locked_value;  /* id(lockedValue_p) */
} jk_cons_record;

/* The record's canonical encoding (docs/consensus.md), what PERSIST writes.
 * Cannot fail. */
void jk_cons_record_encode(const jk_cons_record *rec, uint8_t out[JK_CONS_RECORD_SIZE]);
/* Strict decoder of a stored record (a store is trusted less than memory).
 * @return JK_OK; JK_ERR_CONS_RECORD (wrong length, bad flag or step) with diag. */
jk_err jk_cons_record_decode(const uint8_t *bytes, size_t len, jk_cons_record *rec,
                             jk_diag *diag);

/* ---------------------------------------------------------------------------
 * The machine
 * ------------------------------------------------------------------------- */

/* The application behind the machine. Every callback is a pure query except
 * commit and add_event; none may call back into the machine. */
typedef struct jk_cons_app {
    void *ctx;
    /* proposer(h, r): the validator index that proposes; < valset count.
     * The chain layer's jk_chain_proposer_index is meant to sit here. */
    uint32_t (*proposer)(void *ctx, uint64_t height, uint32_t round);
    /* getValue(): a fresh value to propose at (height, round), malloc'd; the
     * machine frees it. Return non-JK_OK when none can be made (the machine
     * then proposes nothing and the round times out). */
    jk_err (*get_value)(void *ctx, uint64_t height, uint32_t round,
                        uint8_t **value, size_t *len);
    /* valid(v) on the committed head (the chain layer's import). */
    bool (*valid)(void *ctx, uint64_t height, const uint8_t *value, size_t len);
    /* id(v). */
    void (*hash)(void *ctx, const uint8_t *value, size_t len, jk_hash *out);
    /* decision_p[h] := v: store v with its certificate durably, then adopt
     * its state. A failure stops the machine (jk_cons_* returns it). */
    jk_err (*commit)(void *ctx, uint64_t height, const uint8_t *value, size_t len,
                     const jk_cons_cert *cert);
    /* A decided value and certificate for sync answers; false when not held.
     * Pointers are borrowed until the next callback. May be NULL. */
    bool (*get_decision)(void *ctx, uint64_t height, const uint8_t **value,
                         size_t *len, const jk_cons_cert **cert);
    /* An event for the pool; true when it is new (it is then gossiped on,
     * and it ends the empty-blocks wait). May be NULL (events are then
     * ignored). */
    bool (*add_event)(void *ctx, const uint8_t *event, size_t len);
    /* Nothing to put in a block at `height`: the pool is empty and no
     * dispatch work is due. Asked once per height, right after the commit
     * of height - 1, when timeouts.empty_blocks_ms > 0; true makes the
     * machine wait (see jk_cons_timeouts). May be NULL (never idle). */
    bool (*idle)(void *ctx, uint64_t height);
    /* How much longer than timeoutPropose(round) the proposal of (height,
     * round) may need to be produced, sent and checked, from the
     * application's guess of its size (the chain app: the events in its own
     * pool, which gossip makes about the proposer's). Added to every
     * JK_CONS_TIMER_PROPOSE delay (clamped like the timeouts), so that a
     * big block that arrives late is not a needless round. May be NULL (0). */
    uint32_t (*propose_extra_ms)(void *ctx, uint64_t height, uint32_t round);
} jk_cons_app;

/* Timeouts in milliseconds: timeoutX(r) = X_ms + r * X_delta_ms (they grow
 * with the round, so that after GST a round becomes long enough).
 * tick_ms is the stall check: when nothing moved during one tick, the
 * machine re-sends its own messages of the height and asks for decisions
 * (the gossip that the paper assumes delivers every message eventually). */
typedef struct jk_cons_timeouts {
    uint32_t propose_ms, propose_delta_ms;
    uint32_t prevote_ms, prevote_delta_ms;
    uint32_t precommit_ms, precommit_delta_ms;
    uint32_t tick_ms;
    /* The empty-blocks interval (CometBFT's create_empty_blocks_interval).
     * 0: every height starts at once, as in the paper (line 54). Otherwise,
     * after a decision, when app->idle says there is nothing to propose,
     * StartRound(0) of the next height waits until the first of: this many
     * ms (a JK_CONS_TIMER_START timer), an event app->add_event calls new,
     * or a proposal or vote of the height from a peer (a validator that
     * stopped waiting). No proposal is made and no timeoutPropose runs
     * meanwhile, on the proposer and the others alike, so nobody times
     * the waiting proposer out. jk_cons_start never waits (a restart
     * rejoins at once). */
    uint32_t empty_blocks_ms;
} jk_cons_timeouts;

typedef struct jk_cons_config {
    jk_hash genesis;                 /* domain of every signature */
    const jk_cons_valset *valset;    /* borrowed for the machine's life */
    uint32_t self;                   /* this validator's index */
    uint8_t secret_key[JK_ED25519_SECRET_SIZE]; /* copied, wiped on free */
    jk_cons_timeouts timeouts;
    jk_cons_app app;
} jk_cons_config;

typedef enum jk_cons_timer_kind {
    JK_CONS_TIMER_PROPOSE = 0,    /* OnTimeoutPropose(h, r) */
    JK_CONS_TIMER_PREVOTE = 1,    /* OnTimeoutPrevote(h, r) */
    JK_CONS_TIMER_PRECOMMIT = 2,  /* OnTimeoutPrecommit(h, r) */
    JK_CONS_TIMER_TICK = 3,       /* stall check */
    JK_CONS_TIMER_START = 4,      /* delay 0: a lone validator (V = 1) starts
                                     the next height (line 54) on this timer,
                                     so its driver regains control between
                                     heights; delay empty_blocks_ms: the end
                                     of the empty-blocks wait */
} jk_cons_timer_kind;

typedef struct jk_cons_timer {
    jk_cons_timer_kind kind;
    uint64_t height;
    uint32_t round;
    uint32_t delay_ms;
} jk_cons_timer;

typedef enum jk_cons_out_kind {
    JK_CONS_OUT_PERSIST = 1,
    JK_CONS_OUT_SEND = 2,
    JK_CONS_OUT_TIMER = 3,
    JK_CONS_OUT_EVIDENCE = 4,
    JK_CONS_OUT_PERSIST_POL = 5,
} jk_cons_out_kind;

typedef struct jk_cons_out {
    jk_cons_out_kind kind;
    uint32_t peer;                 /* SEND: a validator index or JK_CONS_ALL */
    uint8_t *bytes;                /* SEND: the message; EVIDENCE: two votes;
                                      PERSIST_POL: the proof of lock (see
                                      jk_cons_machine_new); owned by the machine */
    size_t len;
    jk_cons_record record;         /* PERSIST */
    jk_cons_timer timer;           /* TIMER */
} jk_cons_out;

typedef struct jk_cons_machine jk_cons_machine;

/* The first proof of lock in pol[0..len) (one PERSIST_POL output; see
 * jk_cons_machine_new): its size in bytes and its height, without checking
 * a signature — for a driver that keeps the last one of each height.
 * @return JK_OK; JK_ERR_CONS_RECORD (malformed) with diag. */
jk_err jk_cons_pol_next(const uint8_t *pol, size_t len, size_t *size, uint64_t *height, jk_diag *diag);

/* Create a machine at `height` (the first undecided height).
 * records/nrecords: every record PERSISTed at the latest height it signed
 * in, in order (the last is the signed-vote record; NULL/0 when none). They
 * let a restarted validator re-send every vote it signed at the height, not
 * only the last: a vote sent just before a crash and lost in the network
 * would otherwise be lost for good, and the others may wait for it forever
 * (the paper assumes every message of a correct process arrives).
 * Records of a height above `height` are allowed: a store that lost its
 * last decided height (its write still in flight at a crash) after the
 * validator signed at the next. The machine then signs nothing at the
 * heights below the records' (they were decided: peers hand them over) and
 * resumes the records' height when it gets there, as a restart inside it.
 * pol/pol_len: PERSIST_POL outputs back to back (NULL/0 when none): the
 * last one of each height the driver kept, ascending (docs/consensus.md:
 * the proposal's vr and signature ‖ value ‖ a certificate encoding whose
 * signatures are PREVOTES of (height, round) for the value; the layout an
 * earlier jark wrote, without the proposal, is read too). Those of a lower
 * height are ignored, the last of `height` restored (with its proposal:
 * its round can be decided again from re-sent precommits, the block's
 * only copy when every validator crashed inside its write), those of a
 * higher height kept for it. It keeps
 * a locked validator live across a crash: it re-proposes its valid value
 * and re-gossips the prevotes that justify it (line 28 needs them at every
 * other validator). Both are read by jk_cons_start.
 * @return JK_OK; JK_ERR_INVALID_ARG (empty or oversized valset, self out of
 *         range, a NULL mandatory callback); JK_ERR_NOMEM. */
jk_err jk_cons_machine_new(const jk_cons_config *cfg, uint64_t height,
                           const jk_cons_record *records, size_t nrecords,
                           const uint8_t *pol, size_t pol_len, jk_cons_machine **out);
/* Free m, its outputs and its log, and wipe its copy of the secret key.
 * NULL is a no-op. */
void jk_cons_machine_free(jk_cons_machine *m);

/* "upon start do StartRound(0)" (line 10), or resume from the record: the
 * lock, the recorded round and step, the votes of the height, the proof of
 * lock. @return JK_OK; JK_ERR_CONS_RECORD (a proof of lock that does not
 * decode or whose prevotes do not verify: the height was not started, so
 * free the machine; the store is not to be trusted); JK_ERR_NOMEM or an
 * error of app->commit (the machine stopped: see the file comment). */
jk_err jk_cons_start(jk_cons_machine *m);
/* A message from peer `peer` (the transport's authenticated sender).
 * Stale, duplicate and far-future messages are ignored (JK_OK).
 * @return JK_OK; JK_ERR_CONS_DECODE (malformed: drop the peer);
 *         JK_ERR_CONS_SIG / JK_ERR_CONS_MEMBER (forged: drop the peer);
 *         JK_ERR_CONS_CERT (a decision without a valid certificate: drop it);
 *         JK_ERR_CONS_VALUE (a decision certified for a value that is not
 *         valid here); JK_ERR_NOMEM or an error of app->commit (the machine
 *         stopped, now or at an earlier input: see the file comment). The
 *         JK_ERR_CONS_* refusals leave the machine running. */
jk_err jk_cons_on_message(jk_cons_machine *m, uint32_t peer, const uint8_t *bytes,
                          size_t len, jk_diag *diag);
/* A timer this machine asked for has fired; one of an earlier height or
 * round is ignored (JK_OK). @return JK_OK; JK_ERR_NOMEM or an error of
 * app->commit (the machine stopped, now or earlier). */
jk_err jk_cons_on_timer(jk_cons_machine *m, const jk_cons_timer *timer);
/* An event submitted locally: handed to app->add_event, and gossiped when
 * that says it is new. The bytes are copied into the SEND output.
 * @return JK_OK; JK_ERR_INVALID_ARG (event NULL, empty or over
 *         JK_CONS_MAX_EVENT; the machine keeps running); JK_ERR_NOMEM or an
 *         earlier input's error of app->commit (the machine stopped). */
jk_err jk_cons_on_event(jk_cons_machine *m, const uint8_t *event, size_t len);
/* A new connection to validator `validator` is up (the node's PEER_UP: it
 * started, restarted, or its link broke and came back): what was sent to
 * it before may be lost. Rule 13 (docs/consensus.md): send it at once, and
 * to it alone, what one stall tick would re-send of h_p — the proposals a
 * rule can still use (round_p's, those with 2f+1 prevotes or precommits
 * for them, our own), our votes of every round of h_p, the others' votes
 * of round_p and the votes an older round's proof of lock or decision
 * needs, less its own votes — and a SYNC_REQUEST from h_p (it may be
 * ahead). At most one tick's worth for one peer. Our own proposal of a
 * round goes to a validator this way once per (h, r): a later PEER_UP of
 * it in the same round (a reconnect loop) leaves it to the stall tick
 * (session 16). It also does what
 * jk_cons_peer_reset does. Liveness does not depend on the call: the
 * stall tick and its every-fourth-tick fallback stay.
 * @return JK_OK (validators out of range and self are ignored: no output);
 *         JK_ERR_NOMEM (the machine stopped, now or earlier). */
jk_err jk_cons_on_peer_up(jk_cons_machine *m, uint32_t validator);
/* Forget who holds what for validator `validator` (a new connection),
 * without sending anything: the next stall tick re-sends it the height's
 * proposals, which the tick otherwise sends only to validators not known
 * to hold them (docs/consensus.md "Re-sent proposals"). jk_cons_on_peer_up
 * does this and sends at once; this is for a driver that sends nothing on
 * a connection. No output; validators out of range and self are ignored. */
void jk_cons_peer_reset(jk_cons_machine *m, uint32_t validator);
/* Hold the start of round 0 while a batch of inputs is handed over (the
 * events of one RPC batch, one network read): an event that ends the
 * empty-blocks wait (or V = 1's deferred start) then lets the proposer take
 * its value only at jk_cons_release, with every event of the batch in the
 * application's pool, instead of proposing inside the first one's input and
 * leaving the rest to the next height. Nothing else waits: votes,
 * proposals, decisions and timers are taken as always, and a peer's
 * proposal or vote of h_p still ends the wait at once. Holds nest; each
 * jk_cons_hold needs one jk_cons_release on the same thread.
 * jk_cons_release runs the deferred start when the last hold ends.
 * @return (release) JK_OK; JK_ERR_NOMEM or an error of app->commit (the
 *         machine stopped, now or earlier). */
void jk_cons_hold(jk_cons_machine *m);
jk_err jk_cons_release(jk_cons_machine *m);

/* Outputs accumulated since the last clear, in the order to carry out.
 * The array is valid until the next call into the machine. */
const jk_cons_out *jk_cons_outputs(const jk_cons_machine *m, size_t *count);
/* Drop the outputs (and their bytes) once carried out; call it before the
 * next input, or the next input's outputs are appended to these. */
void jk_cons_outputs_clear(jk_cons_machine *m);

/* Status. */
typedef struct jk_cons_status {
    uint64_t height;        /* h_p */
    uint32_t round;         /* round_p */
    jk_cons_step step;      /* step_p */
    uint32_t locked_round;  /* NIL_ROUND for -1 */
    jk_hash locked_value;
    uint32_t valid_round;   /* NIL_ROUND for -1 */
    uint64_t equivocations; /* conflicting votes seen from others (total) */
    uint64_t refused_signs; /* signs the record refused (after a restart) */
    bool waiting;           /* in the empty-blocks wait: round 0 not started */
    uint64_t waits;         /* empty-blocks waits begun (total) */
} jk_cons_status;
/* Copy m's state into *st (a snapshot: nothing in it points into m). */
void jk_cons_status_get(const jk_cons_machine *m, jk_cons_status *st);

/* ---------------------------------------------------------------------------
 * The deterministic simulator (src/consensus/sim*.c)
 * ------------------------------------------------------------------------- */

/* Byzantine behaviours (a mask per Byzantine validator). */
#define JK_CONS_BYZ_EQUIVOCATE 1u  /* conflicting votes to the two halves */
#define JK_CONS_BYZ_BAD_VALUE 2u   /* proposes invalid values / wrong roots */
#define JK_CONS_BYZ_WITHHOLD 4u    /* sends no votes */
#define JK_CONS_BYZ_GARBAGE 8u     /* sends random and mangled bytes */

/* One run: N validators over a seeded network. A fault phase of fault_ms
 * (drops, duplicates, a partition, crashes and restarts, Byzantine
 * validators throughout), then the network heals and every honest
 * validator must commit `heights` heights in all, and 2 beyond the highest
 * height at the heal, each new height within liveness_rounds rounds. */
typedef struct jk_cons_sim_config {
    uint64_t seed;
    uint32_t validators;
    uint32_t byzantine;            /* <= f; validators 0..byzantine-1 */
    uint32_t byz_mask;             /* behaviours of every Byzantine one */
    uint32_t crashes;              /* crash-restarts in the fault phase */
    uint32_t midcrash_permille;    /* crash right after a PERSIST */
    uint32_t crash_all;            /* correlated crashes in the fault phase:
                                      every honest validator down at once,
                                      each losing its last decided height
                                      (all inside that height's write) */
    uint32_t drop_permille;        /* message loss in the fault phase */
    uint32_t dup_permille;         /* duplicated messages */
    uint32_t delay_min_ms, delay_max_ms; /* jitter reorders */
    bool partition;                /* one partition inside the fault phase */
    uint32_t fault_ms;
    uint64_t heights;
    uint32_t liveness_rounds;
    uint32_t events;               /* events gossiped after the heal */
    bool no_reconnect;             /* never call jk_cons_on_peer_up (on a
                                      restart, at the heal): what was lost
                                      reaches who lost it by the stall
                                      tick and its fallback alone */
    jk_cons_timeouts timeouts;
    /* Called with one line per commit and, at the end, per validator's
     * status (no newline); NULL for none. The library never prints. */
    void (*trace)(void *ctx, const char *line);
    void *trace_ctx;
    /* With trace: also a line per proposal or vote a validator signs and
     * sends (a Byzantine one's before its faults), per crash, restart and
     * the heal — the round-by-round story of a seed. */
    bool trace_steps;
} jk_cons_sim_config;

typedef struct jk_cons_sim_result {
    bool ok;                       /* safety and liveness held */
    bool safety_ok, liveness_ok;
    char violation[256];           /* the first violation, or "" */
    jk_hash digest;                /* over every step: same seed, same digest */
    uint64_t heights;              /* lowest height every honest one decided */
    uint64_t rounds;               /* sum over decided heights of (round+1) */
    uint32_t max_round;            /* highest decision round */
    uint64_t round_hist[8];        /* decided heights by decision round
                                      (0..6; 7 and above in the last) */
    uint32_t max_bound_round;      /* highest decision round of the heights
                                      held to liveness_rounds (those begun
                                      after the heal); 0 when none */
    uint64_t sent;                 /* messages put on the network */
    uint64_t proposals;            /* ... of which proposals (copies) */
    uint64_t proposal_bytes;       /* the bytes of those proposals */
    uint64_t delivered;
    uint64_t steps;                /* inputs processed */
    uint64_t equivocations;        /* conflicting votes honest ones saw */
    uint64_t evidence;             /* EVIDENCE outputs */
    uint64_t crashes, midcrashes;
    uint64_t lost_heights;         /* crashes that lost the store's last
                                      decided height (every second one) */
    uint64_t restarts_below;       /* restarts at a height below the records' */
    uint64_t crashed_all;          /* correlated crashes that ran */
    uint64_t lost_everywhere;      /* ... after which no honest store held a
                                      height some honest one had decided */
    uint64_t rejected;             /* peer messages refused with an error */
    uint64_t sim_ms;               /* simulated time at the end */
} jk_cons_sim_result;

/* The simulated network's schedule, shared by every simulating driver (the
 * simulator here, devnet's consensus run): a min-heap of timed items ordered
 * by (time, seq), where seq is the push order, so items due at the same
 * simulated millisecond come out in the order they were pushed — no pointer
 * value or allocation order decides what happens first. The meaning of kind,
 * node, from, inc, timer and bytes is the driver's. */
typedef struct jk_cons_sim_item {
    uint64_t time, seq;
    uint8_t kind;
    uint32_t node, from, inc;
    jk_cons_timer timer;
    uint8_t *bytes;                /* owned by the item (free(3)), or NULL */
    size_t len;
} jk_cons_sim_item;

/* Zero-initialise ({0}) before the first push. */
typedef struct jk_cons_sim_queue {
    jk_cons_sim_item *items;       /* the heap, items[0] the earliest */
    size_t n, cap;
    uint64_t seq;                  /* the next push's sequence number */
} jk_cons_sim_queue;

/* Schedule an item of `kind` for `node` at simulated `time`; every other
 * field is zero for the caller to fill.
 * @return the item, valid until the next push or pop on q; NULL when out of
 *         memory (q is then unchanged). */
jk_cons_sim_item *jk_cons_sim_queue_push(jk_cons_sim_queue *q, uint64_t time, uint8_t kind,
                                         uint32_t node);
/* Remove and return the earliest item (q->n must be > 0); the caller owns
 * its bytes. */
jk_cons_sim_item jk_cons_sim_queue_pop(jk_cons_sim_queue *q);
/* Free every pending item's bytes and the heap; q is left empty. */
void jk_cons_sim_queue_free(jk_cons_sim_queue *q);

/* What one honest validator has signed, as a simulating driver's safety
 * check sees it leave: per (height, round, type) the first message, by its
 * value (id(v), or nil). Zero-initialise ({0}) before the first note. */
typedef struct jk_cons_sim_signed {
    uint64_t height;
    uint32_t round;
    uint8_t type;                  /* JK_CONS_MSG_PROPOSAL, _PREVOTE or _PRECOMMIT */
    bool has_value;
    jk_hash value;
} jk_cons_sim_signed;

typedef struct jk_cons_sim_signed_log {
    jk_cons_sim_signed *items;     /* in the order noted */
    size_t n, cap;
} jk_cons_sim_signed_log;

/* Note sg in log: the first message of its (height, round, type) is kept; a
 * later one changes nothing.
 * @param[out] conflict  true when log already holds a message of sg's
 *                       (height, round, type) with another value: the
 *                       validator equivocated.
 * @return JK_OK; JK_ERR_NOMEM (sg was new and is not kept; *conflict false). */
jk_err jk_cons_sim_signed_note(jk_cons_sim_signed_log *log, const jk_cons_sim_signed *sg,
                               bool *conflict);
/* Free the log's storage; log is left empty. */
void jk_cons_sim_signed_free(jk_cons_sim_signed_log *log);

/* The fault mix for a seed (how `make sim` and the tests pick runs).
 * with_faults false: no drop, no partition, no crash, no Byzantine. */
void jk_cons_sim_config_for_seed(uint64_t seed, uint32_t validators, bool with_faults,
                                 jk_cons_sim_config *cfg);
/* Run one simulation. Deterministic: the same config gives the same result
 * and digest, bit for bit.
 * @return JK_OK (look at res->ok); JK_ERR_INVALID_ARG (validators 0 or over
 *         the bound, byzantine > f); JK_ERR_NOMEM. */
jk_err jk_cons_sim_run(const jk_cons_sim_config *cfg, jk_cons_sim_result *res);

#endif
