/*
 * internal.h — what the consensus layer's files share: sizes of the signed
 * and encoded layouts (docs/consensus.md) and the machine's message log.
 */
#ifndef JK_CONSENSUS_INTERNAL_H
#define JK_CONSENSUS_INTERNAL_H

#include "jark/consensus.h"

#define JK_CONS_VOTE_SIGN_SIZE 94   /* tag 16, genesis 32, h 8, r 4, step, flag, id 32 */
#define JK_CONS_CERT_HEAD 48        /* h 8, r 4, id 32, count 4 */
#define JK_CONS_CERT_ENTRY 68       /* validator 4, signature 64 */
#define JK_CONS_PROPOSAL_FIXED 89   /* kind, h, r, vr, proposer, len, signature */
#define JK_CONS_FUTURE_ROUNDS 2     /* rounds above round_p+1 one validator may open */

#define JK_CONS_SLOT_VOTES 3        /* distinct votes kept per validator, kind, round */
#define JK_CONS_RESEND_ALL_TICKS 4  /* every 4th stalled tick re-sends proposals to all */

/* A signed vote in the log (its validator, kind, height and round are where
 * it is kept). */
typedef struct jk_cons_entry {
    bool has_value;
    jk_hash value;
    uint8_t sig[JK_ED25519_SIG_SIZE];
} jk_cons_entry;

/* One validator's votes of one kind in one round. An honest validator has at
 * most one; an equivocator's distinct votes each count for their own value,
 * as the paper counts messages ("2f+1 ⟨PREVOTE, h, r, id(v)⟩" from distinct
 * senders): ignoring the second vote would let an equivocator hide a proof of
 * lock from half of the validators, which is a liveness attack. Bounded:
 * beyond JK_CONS_SLOT_VOTES, only a vote for the round's proposal replaces
 * the last one kept. */
typedef struct jk_cons_slot {
    uint8_t count;
    bool evidenced;               /* evidence emitted once */
    jk_cons_entry v[JK_CONS_SLOT_VOTES];
} jk_cons_slot;

/* The message log of one round of the current height. */
typedef struct jk_cons_round {
    uint32_t round;
    bool has_proposal;            /* the first validly signed proposal */
    uint8_t *value;               /* its value (owned copy) */
    size_t value_len;
    jk_hash value_hash;           /* id(v) */
    uint32_t valid_round;         /* its vr */
    uint8_t prop_sig[JK_ED25519_SIG_SIZE];
    int8_t validity;              /* valid(v) cached: -1 not asked, 0, 1 */
    jk_cons_slot *prevotes;       /* [n] */
    jk_cons_slot *precommits;     /* [n] */
    uint8_t *seen;                /* [n]: any message of validator i (line 55) */
    uint8_t *holds;               /* [n]: validator i holds the proposal, or
                                     was sent it since its last reconnect */
    uint8_t *up_sent;             /* [n]: our proposal of this round went to
                                     validator i on a PEER_UP (rule 13): the
                                     next PEER_UP of i in this round leaves it
                                     to the stall tick (a reconnect loop) */
    uint64_t got_tick;            /* m->ticks when the proposal entered the log */
    bool fired_34, fired_36, fired_47; /* "for the first time" */
} jk_cons_round;

/* A verified message for h_p + 1, kept until the height starts. */
typedef struct jk_cons_buffered {
    uint8_t *bytes;
    size_t len;
    uint32_t peer;
} jk_cons_buffered;

struct jk_cons_machine {
    jk_cons_config cfg;
    uint32_t n, quorum, skip;
    uint64_t h;                      /* h_p */
    uint32_t round;                  /* round_p */
    jk_cons_step step;               /* step_p */
    int64_t locked_round;            /* lockedRound_p, -1 */
    jk_hash locked_value;            /* id(lockedValue_p) */
    int64_t valid_round;             /* validRound_p, -1 */
    uint8_t *valid_value;            /* validValue_p (owned), NULL = nil */
    size_t valid_len;
    jk_cons_round **rounds;          /* ascending by round */
    size_t nrounds;
    uint32_t *future;                /* [n][FUTURE_ROUNDS] */
    uint8_t *future_count;           /* [n] */
    jk_cons_buffered *buf;           /* messages of h_p + 1 */
    size_t nbuf;
    jk_cons_record record;           /* the durable signed-vote record */
    jk_cons_record *history;         /* the records given at creation, of h_p
                                        and above: restored at start, or when
                                        h_p reaches theirs */
    size_t nhistory;
    uint8_t *pol;                    /* the proof of lock to restore at start */
    size_t pol_len;
    jk_cons_out *outs;
    size_t nouts, capouts;
    uint64_t height_at_tick;         /* h_p when the last tick fired */
    uint64_t ticks;                  /* stall ticks fired (all heights) */
    uint32_t stalled;                /* ticks in a row that found h_p unmoved */
    bool start_pending;              /* V = 1: StartRound(0) of h_p waits for
                                        the next input (JK_CONS_TIMER_START) */
    bool waiting;                    /* with start_pending: the empty-blocks
                                        wait (jk_cons_timeouts) */
    uint64_t waits;                  /* waits begun */
    uint32_t held;                   /* jk_cons_hold depth: a deferred round 0
                                        waits for the last jk_cons_release */
    uint64_t equivocations, refused;
    jk_err failed;                   /* sticky: app->commit or NOMEM */
};

/* The vote of the slot for value (NULL: nil), or NULL. */
const jk_cons_entry *jk_cons_slot_find(const jk_cons_slot *s, const jk_hash *value);
/* Add a vote; `prefer` is the round's proposal id (or NULL). Returns 0 for a
 * duplicate, 1 for the first vote, 2 for a conflicting one kept, 3 for one
 * dropped (slot full). */
int jk_cons_slot_add(jk_cons_slot *s, const jk_cons_entry *e, const jk_hash *prefer);

/* machine.c: outputs, the log, signing, StartRound, the decision, the rules. */
jk_cons_out *jk_cons_out_push(jk_cons_machine *m, jk_cons_out_kind kind);
void jk_cons_send_msg(jk_cons_machine *m, uint32_t peer, const jk_cons_msg *msg);
/* An EVENT message straight from its bytes: a jk_cons_msg holds a whole
 * certificate (~9 KB), and clearing one for every submitted event cost more
 * than the RPC request's parse (rpc11, session 11). */
void jk_cons_send_event(jk_cons_machine *m, uint32_t peer, const uint8_t *event, size_t len);
void jk_cons_schedule(jk_cons_machine *m, jk_cons_timer_kind kind);
jk_cons_round *jk_cons_round_find(const jk_cons_machine *m, uint32_t round);
jk_cons_round *jk_cons_round_get(jk_cons_machine *m, uint32_t round);
bool jk_cons_round_admit(jk_cons_machine *m, uint32_t validator, uint32_t round);
void jk_cons_broadcast_vote(jk_cons_machine *m, uint8_t type, const jk_hash *value);
void jk_cons_send_proposal(jk_cons_machine *m, const jk_cons_round *r, uint32_t proposer,
                           uint32_t peer);
void jk_cons_start_round(jk_cons_machine *m, uint32_t round);
void jk_cons_clear_height(jk_cons_machine *m);
void jk_cons_decide(jk_cons_machine *m, const uint8_t *value, size_t len,
                    const jk_cons_cert *cert);
jk_err jk_cons_progress(jk_cons_machine *m);
/* pol.c */
/* The proof of lock of round r (its proposal, whose signature and vr it
 * keeps) over the prevotes in `prevotes`, layout 2, malloc'd.
 * @return JK_OK; JK_ERR_NOMEM. */
jk_err jk_cons_pol_encode(const jk_cons_machine *m, const jk_cons_round *r, const jk_cons_cert *prevotes,
                          uint8_t **out, size_t *len);
/* The proof of lock kept for h_p back in the log (a later height's is kept
 * for later). @return JK_OK; JK_ERR_CONS_RECORD; JK_ERR_NOMEM. */
jk_err jk_cons_restore_pol(jk_cons_machine *m);
/* input.c */
/* Send one validator's votes of one kind in round r to `to` (a validator or
 * JK_CONS_ALL): all of them, or only its vote for `only` (may be absent). */
void jk_cons_send_slot(jk_cons_machine *m, const jk_cons_round *r, uint8_t type,
                       uint32_t validator, const jk_hash *only, uint32_t to);
/* Our last record of h_p among those given at creation, or NULL. */
const jk_cons_record *jk_cons_history_at(const jk_cons_machine *m);
/* Resume h_p from our last record of it (saved): its round, lock, votes. */
void jk_cons_resume(jk_cons_machine *m, jk_cons_record saved);
jk_err jk_cons_ingest(jk_cons_machine *m, uint32_t peer, const uint8_t *bytes, size_t len,
                      jk_diag *diag);

#endif
