/*
 * cons_harness.h — one consensus machine under test, driven by hand: the
 * other validators' messages are made and signed here, the outputs are
 * inspected. Validators 0..n-1 have keys from fixed seeds; proposer(h, r) is
 * (h + r) mod n; a value is valid unless its first byte is 'X'.
 */
#ifndef JK_TEST_CONS_HARNESS_H
#define JK_TEST_CONS_HARNESS_H

#include "jark/consensus.h"

#define TH_MAX 8

typedef struct th_decision {
    uint8_t value[16];
    size_t len;
    jk_cons_cert cert;
} th_decision;

typedef struct th {
    uint32_t n, self;
    jk_cons_valset vs;
    uint8_t sk[TH_MAX][JK_ED25519_SECRET_SIZE];
    jk_hash genesis;
    jk_cons_timeouts timeouts;
    jk_cons_machine *m;
    /* the durable store the outputs write */
    jk_cons_record records[64];
    size_t nrecords;
    uint8_t pol[1024];
    size_t pol_len;
    th_decision decided[8];     /* heights 1.. */
    size_t ndecided;
    size_t evidence;
    /* outputs since the last th_clear, copied */
    jk_cons_out outs[256];
    uint8_t *bytes[256];
    size_t nouts;
    jk_err last;                /* the last input's result */
    jk_err commit_fails;        /* when not JK_OK: what app->commit returns */
    bool idle;                  /* what app->idle answers (add_event clears it) */
    size_t events_added;        /* app->add_event calls */
    uint32_t extra_ms;          /* what app->propose_extra_ms answers */
} th;

/* A machine for validator `self` of n at the first undecided height. */
void th_init(th *t, uint32_t n, uint32_t self);
/* th_init, then th_start: validator `self` of n has started height 1. */
void th_begin(th *t, uint32_t n, uint32_t self);
/* A fresh machine from the durable store (a restart); outputs cleared. */
void th_restart(th *t);
void th_free(th *t);
void th_clear(th *t);

/* Values: 8 bytes "value:" + c + height byte. */
size_t th_value(uint8_t c, uint8_t out[16]);
void th_id(uint8_t c, jk_hash *out);

/* Inputs (outputs are collected). */
void th_start(th *t);
void th_deliver(th *t, uint32_t peer, const uint8_t *bytes, size_t len);
void th_proposal(th *t, uint32_t from, uint64_t h, uint32_t r, uint32_t vr, uint8_t c);
/* The proposal of (h, r) by `from`, as relayed by peer `via`. */
void th_proposal_via(th *t, uint32_t via, uint32_t from, uint64_t h, uint32_t r, uint32_t vr,
                     uint8_t c);
/* c == 0: a nil vote. */
void th_vote(th *t, uint32_t from, uint8_t type, uint64_t h, uint32_t r, uint8_t c);
/* The same vote from each validator named in `from`, a string of digits in
 * delivery order: th_votes(t, "123", PC, 1, 0, 'a') is 2f+1 precommits of 4. */
void th_votes(th *t, const char *from, uint8_t type, uint64_t h, uint32_t r, uint8_t c);
/* Fire the timer of this kind the machine asked for last; false if none. */
bool th_fire(th *t, jk_cons_timer_kind kind);

/* The stall timer of the current height fires. */
void th_tick(th *t);
/* A new connection to validator `peer` is up (jk_cons_on_peer_up). */
void th_peer_up(th *t, uint32_t peer);

/* Outputs. */
/* Proposal SENDs since the last clear (any proposer): how many, and the
 * first `max` of their peers (a validator or JK_CONS_ALL) in order. */
size_t th_sent_proposals(const th *t, uint32_t *peers, size_t max);
const jk_cons_out *th_timer(const th *t, jk_cons_timer_kind kind);
/* Our own vote of this kind and round sent since the last clear: 1 for a
 * value (its id in *value), 0 for nil, -1 for none. */
int th_sent_vote(const th *t, uint8_t type, uint32_t round, jk_hash *value);
/* Our proposal sent since the last clear (decoded into *p, value borrowed
 * from the output): true if one was sent. */
bool th_sent_proposal(const th *t, jk_cons_proposal *p);
size_t th_count(const th *t, jk_cons_out_kind kind);
jk_cons_status th_status(const th *t);

#endif
