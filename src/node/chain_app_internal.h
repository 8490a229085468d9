/*
 * chain_app_internal.h — the chain app's state, shared by chain_app.c (the
 * jk_cons_app callbacks, open/close, sync) and chain_app_get.c (setters and
 * getters). Private to src/node.
 */
#ifndef JK_NODE_CHAIN_APP_INTERNAL_H
#define JK_NODE_CHAIN_APP_INTERNAL_H

#include "internal.h"
#include "jark/node.h"

#include <stdio.h>

/* An event of a prepared loop turn (chain_app_batch.c), decoded and hashed
 * once for both prepare and its add_event. */
typedef struct jk_app_prep_ev {
    uint8_t *bytes;          /* a copy of its gossip encoding, with room for
                                its traces after it (owned; moves to the
                                pending list when admitted) */
    size_t len, room;        /* room: bytes allocated (jk_node_app_room) */
    jk_chain_event ev;       /* decoded: ev.blob points into bytes */
    const jk_chain_trace *traces; /* its traces where bytes holds them
                                     (jk_node_event_traces_at): not owned */
    size_t count;
    jk_hash id;              /* jk_chain_event_hash(&ev) */
    uint64_t seen_h;         /* jk_node_app_seen_hash(&id) */
    size_t at;               /* its verdict in prep, SIZE_MAX: none (seen
                                when prepared: add_event answers the repeat) */
    bool taken;              /* add_event has had it */
    bool shared;             /* seen when prepared (at == SIZE_MAX): bytes
                                is in the turn's shared buffer (not owned),
                                traces not decoded (add_event answers the
                                repeat from its id, or decodes it afresh) */
} jk_app_prep_ev;

typedef struct jk_app_pending {
    uint8_t *bytes;   /* the event's gossip encoding; with verified, the
                         traces its verify used follow it in the same
                         allocation (nused jk_chain_trace at bytes + len) */
    size_t len;
    jk_hash id;       /* jk_chain_event_hash */
    bool dispatch;    /* a dispatch event: lives until a committed block's
                         dispatch part consumes it, at most
                         JK_NODE_DISPATCH_MAX_AGE heights */
    uint64_t height;  /* the head's height when it was admitted */
    /* a transact's verdict: its verify admitted it on chain state `root`
     * using those traces, so a rewind onto that state re-admits it without
     * running verify (jk_chain_pool_admit_verified) */
    bool verified;
    jk_hash root;
    size_t nused;
    size_t room;      /* bytes allocated at bytes (≥ len) */
    uint64_t seen_h;  /* jk_node_app_seen_hash(&id), kept from its admission:
                         a commit's drop finds it among the block's ids
                         without hashing it again (session 16) */
} jk_app_pending;

struct jk_node_chain_app {
    jk_chain_genesis genesis;       /* a copy; chain retained */
    uint8_t secret_key[JK_ED25519_SECRET_SIZE];
    jk_node_validator *v;
    jk_node_archive *archive;
    jk_hash last_commit;            /* jk_cons_cert_hash of the head's certificate */
    jk_cons_cert head_cert;         /* that certificate (height >= 1): what the
                                       next block proposed here carries */
    jk_cap committed;               /* the committed chain instance */
    /* the block get_value produced, the Kernel advanced past the head */
    bool tentative;
    jk_hash tentative_id;
    /* the block the last valid() checked or get_value produced, decoded,
     * and its id (the header hash, the consensus value's id): the commit of
     * that value takes it instead of decoding the block again (session 9) */
    bool has_memo;
    jk_hash memo_id;
    jk_chain_block memo_block;
    /* admitted events not yet in a committed block, in admission order */
    jk_app_pending *pending;
    size_t npending, cappending;
    size_t npending_dispatch;       /* of them, dispatch events (≤ JK_NODE_MAX_PENDING_DISPATCH) */
    /* the committed head's queue (jk_chain_kernel.queued after its block):
     * a rewind's new kernel starts with it */
    jk_chain_pooled *queue;
    size_t nqueue;
    /* gossip dedup: a hash table of event hashes (chain_app_seen.c; capseen
     * slots, a power of two, nseen used, an all-zero id = empty); seen_why[i]: why seen[i] was
     * refused when first seen (owned), NULL when it was admitted (pooled,
     * then committed), so that a repeat is told its true reason */
    jk_hash *seen;
    char **seen_why;
    size_t nseen, capseen;
    /* refusals added since the table last dropped them (0: a new event's
     * bytes need no refusal lookup) */
    size_t seen_refusals;
    /* their ids (a commit removes exactly those: chain_app_seen.c); when
     * the list could not grow, refused_lost and the commit rebuilds */
    jk_hash *refused;
    size_t nrefused, caprefused;
    bool refused_lost;
    /* the last add_event's verdict (jk_node_chain_app_verdict) */
    jk_node_event_verdict last;
    bool has_last;
    /* get_decision's borrowed answer */
    uint8_t *dec_value;
    size_t dec_len;
    jk_cons_cert dec_cert;
    jk_node_chain_app_stats stats;
    void (*hook)(void *ctx, uint64_t height);
    void *hook_ctx;
    uint64_t height_limit;          /* 0: none */
    size_t max_value;               /* get_value's values at most this long */
    FILE *debug;                    /* chain programs' debug stream (NULL: discarded) */
    /* a loop turn's events verified ahead (jk_node_chain_app_prepare): the
     * verdicts, and the turn's well-formed events in arrival order, which
     * add_event finds by their bytes from prep_next on */
    jk_chain_prepared *prep;
    jk_app_prep_ev *prep_evs;
    size_t nprep_evs, prep_next;
    /* kept from turn to turn (jk_node_app_prep_free frees them): prep_evs'
     * room, the seen events' bytes, prepare's work arrays */
    size_t cap_prep_evs, cap_prep_shared, cap_prep_work;
    uint8_t *prep_shared, *prep_work;
    unsigned verify_threads;        /* the verify pool's threads for prepare */
    bool sync_commit;               /* commit's store write on the loop thread
                                       (jk_node_chain_app_set_sync_commit) */
    size_t max_block_events;        /* get_value's transacts per block (0: the
                                       chain's bounds only) */
    uint32_t propose_us_per_event;  /* propose_extra_ms's cost of one pooled
                                       transact (jk_node_chain_app_set_propose_cost) */
    /* precommits verified lately, by validator, for two (height, round,
     * value): a decision's certificate is checked (height h) before its
     * block's LastCommit (h - 1) (jk_node_chain_app_cert_check,
     * chain_app_sync.c) */
    struct jk_app_cert_memo {
        bool valid;
        uint64_t height;
        uint32_t round;
        jk_hash value;
        bool has[JK_CONS_MAX_VALIDATORS];
        uint8_t sig[JK_CONS_MAX_VALIDATORS][JK_ED25519_SIG_SIZE];
    } cert_memo[2];
};

/* What to allocate for a pending event's bytes: its encoding of len bytes,
 * and room for the traces its verdict keeps after it when it has at most 4
 * (the usual event: no realloc at admission; a copy never more than 512
 * bytes larger than the event). */
static inline size_t jk_node_app_room(size_t len, size_t traces)
{
    return len + (traces <= 4 ? traces * sizeof(jk_chain_trace) : 0);
}

/* chain_app_seen.c: the slot where id is (*found) or would go in the seen table. */
size_t jk_node_app_seen_find(const jk_node_chain_app *a, const jk_hash *id, bool *found);
/* The same with id's hash in the table given (jk_node_app_seen_hash: a
 * prepared event's, computed once for prepare and its add_event). */
size_t jk_node_app_seen_find_h(const jk_node_chain_app *a, const jk_hash *id, uint64_t h, bool *found);
uint64_t jk_node_app_seen_hash(const jk_hash *id);
/* Forget every seen event (the reasons are freed). */
void jk_node_app_seen_clear(jk_node_chain_app *a);
/* Remember id as seen: admitted (why NULL) or refused for this reason
 * (copied), replacing what was remembered for it.
 * @return JK_OK; JK_ERR_NOMEM (nothing changed). */
jk_err jk_node_app_seen_add(jk_node_chain_app *a, const jk_hash *id, const char *why);
/* jk_node_app_seen_add of an admitted id whose jk_node_app_seen_hash is h. */
jk_err jk_node_app_seen_add_h(jk_node_chain_app *a, const jk_hash *id, uint64_t h);
/* jk_node_app_seen_add of an admitted id that jk_node_app_seen_find just
 * placed at slot `at` (not found), with nothing changed since: one probe
 * fewer. */
jk_err jk_node_app_seen_add_at(jk_node_chain_app *a, const jk_hash *id, size_t at);
/* Forget id: a later copy of the event is judged afresh (a refusal by a
 * bound that may lift — the pool full, a key's share — must not stick). */
void jk_node_app_seen_forget(jk_node_chain_app *a, const jk_hash *id);
/* Forget every refusal (the head moved: a refused event is judged afresh);
 * the admitted hashes stay. */
void jk_node_app_seen_forget_refused(jk_node_chain_app *a);
/* The key a verify refusal is remembered under: a hash of the event's whole
 * gossip encoding, its traces included. Keyed by the event's id, a copy of
 * someone's blob with junk traces, sent first, made this node refuse the
 * genuine event as "already refused" until the next commit (adv7,
 * session 7): anyone could censor a blob they could predict. */
void jk_node_app_refusal_id(const uint8_t *bytes, size_t len, jk_hash *out);
/* chain_app_submit.c: add_event with its verdict (jk_node_chain_app_submit's
 * work); true when admitted. */
bool jk_node_app_submit(jk_node_chain_app *a, const uint8_t *bytes, size_t len, jk_node_event_verdict *v);
/* chain_app.c: remember an admitted transact's verdict in its pending entry
 * (a rewind onto the same state re-admits it without a verify run). */
void jk_node_app_keep_verdict(jk_node_chain_app *a, jk_app_pending *p);
/* v->kind and v->reason (printf-style). */
void jk_node_app_verdict_set(jk_node_event_verdict *v, jk_node_verdict_kind kind, const char *fmt,
                             ...) __attribute__((format(printf, 3, 4)));
/* v->kind and v->reason = text (truncated as vsnprintf would): for fixed
 * reasons, copied rather than formatted. */
void jk_node_app_verdict_text(jk_node_event_verdict *v, jk_node_verdict_kind kind, const char *text);
/* text into out[cap] (cap > 0), truncated and terminated as
 * snprintf(out, cap, "%s", text) would. */
void jk_node_app_text_copy(char *out, size_t cap, const char *text);
/* v->has_code / v->code from the chain layer's reason why. */
void jk_node_app_verdict_code(jk_node_event_verdict *v, const char *why);
/* The verdict of a repeat of id (seen[at]): in the pool, refused before,
 * or committed. */
void jk_node_app_repeat_verdict(const jk_node_chain_app *a, const jk_hash *id, size_t at,
                                jk_node_event_verdict *v);
/* chain_app_batch.c: the prepared event whose gossip encoding is
 * bytes[0..len), not handed to add_event before (marked taken now), or NULL
 * (never prepared: add_event decodes it itself). Found by its bytes, so the
 * caller's buffer may be any copy. */
/* chain_app_batch.c: prepare's buffers kept across turns, freed (with the
 * turn's batch). */
void jk_node_app_prep_free(jk_node_chain_app *a);
/* event.c: jk_node_event_decode's checks and header, without the traces
 * (ev->blob borrows bytes); the traces after ev's blob, decoded (NULL when
 * trace_count is 0). */
jk_err jk_node_event_view(const uint8_t *bytes, size_t len, jk_chain_event *ev, size_t *trace_count,
                          jk_diag *diag);
jk_err jk_node_event_traces(const jk_chain_event *ev, size_t trace_count, jk_chain_trace **traces);
/* The traces after ev's blob where the encoding holds them, not copied
 * (NULL when trace_count is 0): a trace's 128 encoded bytes are its
 * jk_chain_trace, byte for byte. Valid while those bytes are. */
const jk_chain_trace *jk_node_event_traces_at(const jk_chain_event *ev, size_t trace_count);
jk_app_prep_ev *jk_node_app_prep_take(jk_node_chain_app *a, const uint8_t *bytes, size_t len);
/* Admit prepared event e through its verdict (the open cycle's, or one
 * opened now). why: the chain layer's reason when it is not admitted (the
 * same words as without prepare). */
jk_err jk_node_app_admit_prepared(jk_node_chain_app *a, const jk_app_prep_ev *e, bool *admitted,
                                  jk_diag *why, jk_diag *diag);
/* chain_app_sync.c: remember the precommits of the certificate a commit
 * decided `height` on as verified (they were, before the commit), so that
 * the next block's LastCommit does not verify them again. */
void jk_node_app_cert_committed(jk_node_chain_app *a, const jk_cons_cert *cert, uint64_t height);
/* chain_app_sync.c: Tendermint's LastCommit rule for the block at height. */
jk_err jk_node_app_check_last_commit(jk_node_chain_app *a, uint64_t height,
                                     const jk_node_value *val, jk_diag *diag);

/* chain_app_pending.c: feed up to `limit` pending dispatch events into the
 * open cycle; after a commit of b, drop the pending events b carries or
 * consumed (and dispatch events past their age), keep the head's dispatch
 * queue, drop the pending transacts b's produce refused; on reopen, take the
 * head block's queued dispatch events back. */
jk_err jk_node_app_feed_dispatch(jk_node_chain_app *a, size_t limit);
/* A committed block's event ids and their seen hashes: a block event that
 * is a pending transact (same endpoint and blob), found in the pending
 * list's order from the last one found, takes that entry's id and hash
 * (the proposer's block is its pool's prefix, in the order the pending
 * list has it; an importer's mostly alike); the others are hashed.
 * @return how many were hashed. */
size_t jk_node_app_block_ids(const jk_node_chain_app *a, const jk_chain_block *b, jk_hash *ids,
                             uint64_t *seen_h);
void jk_node_app_drop_pending(jk_node_chain_app *a, const jk_chain_block *b,
                              const jk_hash *block_ids /* NULL: hashed here */,
                              const uint64_t *block_seen_h /* their jk_node_app_seen_hash, or NULL */);
void jk_node_app_keep_queue(jk_node_chain_app *a);
void jk_node_app_drop_refused(jk_node_chain_app *a, const jk_chain_block *b);
jk_err jk_node_app_restore_queue(jk_node_chain_app *a, const uint8_t *bytes, size_t len,
                                 jk_diag *diag);

#endif
