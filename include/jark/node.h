/*
 * jark/node.h — a validator: its chain Kernel, its persistent store, and its
 * head (height, block hash). Blocks and gossip reach it from the embedder
 * (today `jark devnet`, in one process; networking comes later).
 *
 * Persistence: after every block the validator commits, in one LMDB
 * transaction, a head CNode {0: the chain instance, 1: a Data of height u64
 * LE ‖ block hash[32] ‖ genesis hash[32], 2: the block's encoding, 3: the
 * dispatch-queue record (jk_node_store_queue_put)} under the
 * head record "head" (jk_cap_store_commit: only the objects the store lacks
 * are written). Reopening a store resumes at its last committed head (a store
 * of another chain is refused); a fresh store starts at genesis. The last
 * block is kept so that a peer one block behind can catch up from it
 * (docs/node.md).
 */
#ifndef JARK_NODE_H
#define JARK_NODE_H

#include "jark/chain.h"
#include "jark/consensus.h"
#include "jark/net.h"
#include "jark/rpc.h"

/* A validator's store, opened safely (src/node/store.c; docs/node.md, "The
 * store"): the LMDB store and the lock that keeps other processes out. */
typedef struct jk_node_store {
    jk_cap_store *store;
    int lock_fd;            /* holds an exclusive flock on DIR/jark.lock */
} jk_node_store;

/* Open (creating if needed) the store in dir for this process alone: take an
 * exclusive, non-blocking flock on DIR/jark.lock (held until close), check
 * data.mdb against its own meta pages (jk_node_store_check_file), then open
 * it with LMDB map size map_size.
 * @param[out] out  close with jk_node_store_close (also after a failure).
 * @return JK_OK; JK_ERR_NODE_STORE_BUSY (another process, or another open in
 *         this one, holds the lock); JK_ERR_NODE_STORE_CORRUPT; a store
 *         error of jk_cap_store_open (reason in diag). */
jk_err jk_node_store_open(const char *dir, size_t map_size, jk_node_store *out, jk_diag *diag);
void jk_node_store_close(jk_node_store *s);

/* Is the LMDB file at path safe to map? A missing or empty file is (LMDB
 * makes a new one). Otherwise both meta pages must carry LMDB's magic, the
 * page size must be sane, and the file must be at least (last_pg + 1) pages
 * of the newest meta long: a shorter file would SIGBUS inside LMDB.
 * @return JK_OK; JK_ERR_NODE_STORE_CORRUPT (what is wrong, with the sizes, in
 *         diag); JK_ERR_CAP_STORE (the file cannot be read). */
jk_err jk_node_store_check_file(const char *path, jk_diag *diag);

/* The same check over a whole file held in memory (file[0..len)): what the
 * fuzz target drives. */
jk_err jk_node_store_check_bytes(const uint8_t *file, size_t len, jk_diag *diag);

/* The dispatch-queue record (src/node/store.c; docs/node.md "The store"):
 * slot 3 of the head record, the committed head's queue
 * (jk_chain_queue_encode), so that a restarted node proposes on the queue
 * every other node holds. The slot of a loaded head record (BORROWED;
 * null: a store before it). */
jk_cap jk_node_store_queue_get(jk_cap record);

typedef struct jk_node_validator {
    uint32_t index;                 /* in the genesis validator list; UINT32_MAX
                                       when the key is not a validator's (the
                                       node then only imports) */
    uint8_t public_key[JK_ED25519_PUBLIC_SIZE];
    jk_chain_kernel *ck;
    jk_node_store store;
    uint64_t height;                /* 0 = genesis */
    jk_hash head_hash;              /* the last block's hash (genesis hash at 0) */
    jk_hash genesis_hash;
    jk_cap last_block;              /* Data: the last block's encoding (null at genesis) */
    bool queue_restored;            /* open took the queue from the head record */
    /* State checkpoints (docs/node.md "Checkpoints"): a commit through the
     * archive writes the head record (the state) only every checkpoint_every
     * heights; between them only the block's rows. */
    uint32_t checkpoint_every;      /* K: 1 = every height (0 reads as 1) */
    uint64_t checkpoint_height;     /* the height of the head record in the store */
    jk_cap pending;                 /* the head record of `height` while not in
                                       the store (null when it is) */
    uint64_t replayed;              /* archived blocks re-applied at open */
} jk_node_validator;

/* The default K of jk_node_validator.checkpoint_every (`jark node
 * --checkpoint-every K`): a restart re-applies at most K - 1 archived blocks. */
#define JK_NODE_CHECKPOINT_EVERY 32

/* Open the validator of secret_key (copied; wiped on close) over the store in
 * dir: resume at its committed head, or start at `genesis`; then re-apply
 * the archived blocks above that head's height, if any (the head record is
 * a checkpoint: docs/node.md "Checkpoints"), each through
 * jk_chain_apply_block_import (its state root checked against its header)
 * and its hash against the archive's, so v ends at the archive's top. Its index is its
 * key's place in the genesis validator set (UINT32_MAX for another key, or
 * for secret_key NULL: a full node's store, whose Kernel has no own key and
 * only imports); every chain setting (budgets,
 * dispatch count, validator set) comes from the genesis record, checked
 * against its hash (jk_chain_kernel_new).
 * @return JK_OK; a store or chain error (reason in diag); JK_ERR_INVALID_ARG
 *         when the store's head belongs to another genesis or the record
 *         does not match its hash; JK_ERR_NODE_STORE_BUSY (another process
 *         has the store open); JK_ERR_NODE_STORE_CORRUPT (a truncated or
 *         damaged data.mdb); JK_ERR_NOMEM.
 * @param[out] out  the caller closes it with jk_node_validator_close. */
jk_err jk_node_validator_open(const char *dir, const uint8_t secret_key[JK_ED25519_SECRET_SIZE],
                              const jk_chain_genesis *genesis, jk_node_validator **out, jk_diag *diag);
/* Close; a validator whose head is newer than its checkpoint writes it first
 * (jk_node_validator_checkpoint; an error there is ignored: the archived
 * blocks are replayed at the next open instead). */
void jk_node_validator_close(jk_node_validator *v);

/* Write the head record of v's head (the state) durably now, if the store's
 * checkpoint is older (a clean shutdown; no-op otherwise).
 * @return JK_OK; a store error (the store keeps its older checkpoint). */
jk_err jk_node_validator_checkpoint(jk_node_validator *v, jk_diag *diag);

/* Commit the current head (after block `height` was produced or imported)
 * durably, in one transaction.
 * @param block_hash        the block that made it.
 * @param block, block_len  its encoding (copied into the store).
 * Sets v->height, v->head_hash and v->last_block once the commit landed (a
 * head commit: docs/cap.md "Store: syncs");
 * on failure nothing changes (the store keeps its previous head). */
jk_err jk_node_validator_commit(jk_node_validator *v, uint64_t height, const jk_hash *block_hash,
                                const uint8_t *block, size_t block_len, jk_diag *diag);

/* A store's committed head, read without a chain kernel (`jark chain show`). */
typedef struct jk_node_head {
    uint64_t height;
    jk_hash block_hash, genesis_hash;
    jk_cap chain;       /* the chain instance (NEW reference) */
    jk_cap last_block;  /* Data: the block's encoding (NEW reference) */
    jk_cap queue;       /* Data: the dispatch-queue record (NEW; null: none) */
} jk_node_head;

/* Read the head committed in the store at dir (opened and closed here).
 * @return JK_OK; JK_ERR_CAP_MISSING when the store has no head yet; a store
 *         error (reason in diag).
 * @param[out] out  release with jk_node_head_release. */
jk_err jk_node_head_read(const char *dir, jk_node_head *out, jk_diag *diag);
void jk_node_head_release(jk_node_head *head);

/* Import block `height` (its encoding, untrusted) on top of v's head — its
 * proposer is checked against the genesis validator set by the chain layer
 * (jk_chain_apply_block_import) — then commit it.
 * @return JK_OK; a decode error or JK_ERR_CHAIN_BLOCK_INVALID (reason in
 *         diag: the head, the proposer index or signature, a trace, apply
 *         faulting);
 *         a store error. A refused block changes nothing; after a store
 *         error the chain is one block ahead of the store (reopening resumes
 *         at the store's head). */
jk_err jk_node_validator_import(jk_node_validator *v, const uint8_t *block, size_t block_len,
                                uint64_t height, jk_diag *diag);

/* ---------------------------------------------------------------------------
 * Block archive and sync (src/node/archive.c, docs/consensus.md)
 * ------------------------------------------------------------------------- */

/* Every committed block with its commit certificate, by height (contiguous
 * from 1) and by hash, the consensus machine's durable state and the
 * equivocation evidence, in tables of a chain store (jk_cap_store_table):
 * a validator's archive shares its store's LMDB environment, so a block and
 * the head that adopts it commit in one transaction (jk_node_archive_commit).
 * Durability (docs/cap.md "Store: syncs"): vote records, the proof of lock,
 * evidence and jk_node_archive_put are on disk when the call returns, and so
 * is every commit before them; jk_node_archive_commit is a head commit (all
 * or nothing, one sync; a machine crash may undo the latest one). */
typedef struct jk_node_archive jk_node_archive;

/* The archive in the tables of an open store (borrowed: it must outlive the
 * archive; the archive's writes are transactions of that store).
 * @return JK_OK; JK_ERR_NODE_ARCHIVE (the store's reason in diag);
 *         JK_ERR_NOMEM. */
jk_err jk_node_archive_attach(jk_cap_store *store, jk_node_archive **out, jk_diag *diag);
/* Open (or create) the store in dir and the archive in it (the store is
 * closed with the archive): a node's directory, read without a validator
 * (tools, tests; not while the node runs: LMDB's one-open-per-process rule).
 * @return JK_OK; JK_ERR_IO (the directory); JK_ERR_NODE_ARCHIVE; JK_ERR_NOMEM. */
jk_err jk_node_archive_open(const char *dir, jk_node_archive **out, jk_diag *diag);
void jk_node_archive_close(jk_node_archive *a);
/* Commit block `height` (top + 1) in ONE transaction of the archive's store:
 * the validator's head (jk_node_validator_commit_with: v's store must be the
 * archive's), the block by height and hash with its certificate `cert`, and,
 * when prev_cert is not NULL, prev_cert as block height-1's certificate (the
 * LastCommit that block `height` carried: the canonical one).
 * @return JK_OK; JK_ERR_NODE_CONFLICT (not top + 1; prev_cert not for the
 *         archived block height-1); JK_ERR_NODE_MISSING (no block height-1);
 *         a store error; JK_ERR_NOMEM. On failure nothing is written. */
jk_err jk_node_archive_commit(jk_node_archive *a, jk_node_validator *v, uint64_t height,
                              const jk_hash *block_hash, const uint8_t *block, size_t len,
                              const jk_cons_cert *cert, const jk_cons_cert *prev_cert,
                              jk_diag *diag);
/* A fault-injection hook for tests: called on the writer thread by every
 * async commit inside its transaction, before anything of it is written
 * (a process killed there keeps the store at the previous height). NULL
 * removes it. */
void jk_node_archive_set_write_hook(jk_node_archive *a, void (*hook)(void *ctx, uint64_t height),
                                    void *ctx);
/* The highest archived height (0 when empty). */
uint64_t jk_node_archive_top(const jk_node_archive *a);
/* Archive block `height` (top + 1) with its hash, encoding and certificate,
 * in one transaction. The same block again is accepted and changes nothing.
 * @return JK_OK; JK_ERR_NODE_CONFLICT (a gap, or another block at that
 *         height); JK_ERR_NODE_ARCHIVE; JK_ERR_NOMEM. */
jk_err jk_node_archive_put(jk_node_archive *a, uint64_t height, const jk_hash *block_hash,
                           const uint8_t *block, size_t len, const jk_cons_cert *cert,
                           jk_diag *diag);
/* Read block `height`: any of block_hash, block (malloc'd, the caller frees;
 * len then required) and cert may be NULL. The top of an async commit, and
 * the certificate alone of the height below it, come from the archive's
 * copy of that commit without waiting for its write (the same answers).
 * @return JK_OK; JK_ERR_NODE_MISSING; JK_ERR_NODE_ARCHIVE (corrupt or LMDB);
 *         JK_ERR_NOMEM. */
jk_err jk_node_archive_get(jk_node_archive *a, uint64_t height, jk_hash *block_hash,
                           uint8_t **block, size_t *len, jk_cons_cert *cert, jk_diag *diag);
/* The height of an archived block. @return JK_OK; JK_ERR_NODE_MISSING;
 * JK_ERR_NODE_ARCHIVE. */
jk_err jk_node_archive_find(jk_node_archive *a, const jk_hash *block_hash, uint64_t *height,
                            jk_diag *diag);
/* The consensus machine's PERSIST outputs, in the signed-vote log
 * (DIR/votes.log beside the store, opened at the first of these calls):
 * append a record (a record of a new height starts a new list); read the
 * list back for jk_cons_machine_new (malloc'd array, the caller frees).
 * PERSIST_POL: replace / read (malloc'd, NULL/0 when none).
 * @return JK_OK; JK_ERR_NODE_VOTE_LOG (the log is corrupt or cannot be
 *         written, a record not above the last); JK_ERR_NODE_ARCHIVE;
 *         JK_ERR_NOMEM. */
jk_err jk_node_archive_put_record(jk_node_archive *a, const jk_cons_record *rec, jk_diag *diag);
jk_err jk_node_archive_records(jk_node_archive *a, jk_cons_record **recs, size_t *count,
                               jk_diag *diag);
jk_err jk_node_archive_put_pol(jk_node_archive *a, const uint8_t *pol, size_t len, jk_diag *diag);
jk_err jk_node_archive_pol(jk_node_archive *a, uint8_t **pol, size_t *len, jk_diag *diag);
/* One loop turn's durable outputs in ONE append and one sync: up to
 * JK_NODE_VOTELOG_GROUP PERSIST records (in order) and the turn's last
 * PERSIST_POL (NULL/0: none); on disk when it returns, and so is every head
 * commit before it except an async one still on the store's writer thread
 * (the top: not waited for, docs/node.md "The proposal before the write";
 * a synchronous or batched commit is flushed first). They live in the
 * signed-vote log beside the store (jk_node_votelog).
 * @return JK_OK; JK_ERR_NODE_VOTE_LOG (a record not above the last, the
 *         log cannot be written or read back); JK_ERR_NODE_ARCHIVE (the
 *         store's flush); JK_ERR_INVALID_ARG (too many, too large);
 *         JK_ERR_NOMEM. */
jk_err jk_node_archive_put_turn(jk_node_archive *a, const jk_cons_record *recs, size_t n,
                                const uint8_t *pol, size_t pol_len, jk_diag *diag);

/* ---------------------------------------------------------------------------
 * The signed-vote log (src/node/votelog.c; docs/cap.md "Store: syncs")
 * ------------------------------------------------------------------------- */

/* DIR/votes.log: the consensus machine's PERSIST records, appended with one
 * fdatasync per append (one append per loop turn, at most
 * JK_NODE_VOTELOG_GROUP records), read back strictly at open. Bounded: an
 * append that starts a new height rewrites the log with only that height's
 * records once it holds JK_NODE_VOTELOG_ROTATE records. One thread at a
 * time. */
#define JK_NODE_VOTELOG_GROUP 16
#define JK_NODE_VOTELOG_ROTATE 256
#define JK_NODE_VOTELOG_POL_MAX (JK_CONS_MAX_VALUE + (64u << 10)) /* bytes */
typedef struct jk_node_votelog jk_node_votelog;

/* Open (creating) dir's vote log and read it back; a torn last append is
 * ignored (jk_node_votelog_note says so) and cut off.
 * @return JK_OK; JK_ERR_NODE_VOTE_LOG (corrupt, what and where in diag; or
 *         the file cannot be read, created or written); JK_ERR_NOMEM. */
jk_err jk_node_votelog_open(const char *dir, jk_node_votelog **out, jk_diag *diag);
void jk_node_votelog_close(jk_node_votelog *l);
/* Append recs[0..n) (1..JK_NODE_VOTELOG_GROUP, each strictly above the last
 * in (height, round, step)) with one write and one fdatasync. After a write
 * error the log refuses appends until reopened.
 * @return JK_OK; JK_ERR_NODE_VOTE_LOG; JK_ERR_INVALID_ARG (n too large);
 *         JK_ERR_NOMEM. */
jk_err jk_node_votelog_append(jk_node_votelog *l, const jk_cons_record *recs, size_t n,
                              jk_diag *diag);
/* Append recs[0..n) (as jk_node_votelog_append) and a proof of lock
 * (NULL/0: none) as one write and one fdatasync: a loop turn's outputs.
 * @return as jk_node_votelog_append and jk_node_votelog_put_pol. */
jk_err jk_node_votelog_append_turn(jk_node_votelog *l, const jk_cons_record *recs, size_t n,
                                   const uint8_t *pol, size_t pol_len, jk_diag *diag);
/* Append a proof of lock (a PERSIST_POL, 1..JK_NODE_VOTELOG_POL_MAX
 * bytes), which replaces the last one of its height (jk_cons_pol_next; 0
 * for bytes that are not a proof) and drops those two heights below it,
 * with one write and one fdatasync.
 * @return JK_OK; JK_ERR_NODE_VOTE_LOG; JK_ERR_INVALID_ARG (the size);
 *         JK_ERR_NOMEM. */
jk_err jk_node_votelog_put_pol(jk_node_votelog *l, const uint8_t *pol, size_t len, jk_diag *diag);
/* The proofs of lock kept — the last one of each of the latest two
 * heights — back to back, as jk_cons_machine_new takes them (borrowed
 * until the next append or close; NULL/0 when none). */
const uint8_t *jk_node_votelog_pol(const jk_node_votelog *l, size_t *len);
/* The records of the latest two heights (the latest and the one below it),
 * in order (borrowed until the next append or close; NULL/0 when the log
 * is empty). The one below is kept for a store that may lose its last
 * height after the validator signed at the next (jk_cons_machine_new). */
const jk_cons_record *jk_node_votelog_latest(const jk_node_votelog *l, size_t *count);
uint64_t jk_node_votelog_records(const jk_node_votelog *l); /* in the file */
uint64_t jk_node_votelog_syncs(const jk_node_votelog *l);   /* since open */
const char *jk_node_votelog_note(const jk_node_votelog *l);  /* "" or why */

/* A proof of lock in the log: its height (jk_cons_pol_next; 0 for bytes
 * that are not one) and where its bytes are. */
#define JK_NODE_VOTELOG_POLS 2
typedef struct jk_node_votelog_polref {
    uint64_t height;
    size_t off, len;
} jk_node_votelog_polref;

/* The log's bytes decoded strictly (what open does; the fuzz target).
 * latest is malloc'd (jk_node_votelog_view_free), also on error nothing
 * to free. */
typedef struct jk_node_votelog_view {
    size_t valid_len;         /* header and whole appends: what is kept */
    uint64_t records;         /* records in those appends */
    bool torn;                /* a torn last append was ignored */
    jk_cons_record *latest;   /* the latest two heights' records, in order */
    size_t nlatest;
    /* the proofs of lock kept: the last one of each of the latest two
     * heights, in the order appended (offsets into the decoded bytes) */
    jk_node_votelog_polref pols[JK_NODE_VOTELOG_POLS];
    size_t npols;
} jk_node_votelog_view;
/* @return JK_OK; JK_ERR_NODE_VOTE_LOG (not a vote log, another format
 *         version, a corrupt append before the last, a bad count, a
 *         record malformed or not above the one before); JK_ERR_NOMEM. */
jk_err jk_node_votelog_decode(const uint8_t *bytes, size_t len, jk_node_votelog_view *out,
                              jk_diag *diag);
void jk_node_votelog_view_free(jk_node_votelog_view *v);

/* Equivocation evidence: two signed votes of one validator at one (height,
 * round, type) for different values (the machine's EVIDENCE output, both
 * signatures verified by the machine before it emits one). */
#define JK_NODE_EVIDENCE_MAX 1024u   /* entries kept; then the oldest go */
typedef struct jk_node_evidence {
    jk_cons_vote first, second;
} jk_node_evidence;
/* Keep an EVIDENCE output (2 × JK_CONS_VOTE_SIZE bytes), keyed by (height,
 * round, type, validator): one equivocation is kept once (the first pair);
 * past JK_NODE_EVIDENCE_MAX entries the lowest key makes room for a higher
 * one, and one lower than all kept is dropped. *stored (may be NULL): a new
 * entry was written.
 * @return JK_OK (also when deduplicated or dropped); JK_ERR_NODE_EVIDENCE
 *         (not two conflicting votes of one validator, step and round);
 *         JK_ERR_NODE_ARCHIVE. */
jk_err jk_node_archive_put_evidence(jk_node_archive *a, const uint8_t *bytes, size_t len,
                                    bool *stored, jk_diag *diag);
/* Entries kept. */
uint64_t jk_node_archive_evidence_count(const jk_node_archive *a);
/* Another bound than JK_NODE_EVIDENCE_MAX for this handle (0: the default);
 * entries above it already kept stay until room is made. */
void jk_node_archive_set_evidence_max(jk_node_archive *a, uint64_t max);
/* Up to max entries from the offset-th on, in key order (height, round,
 * type, validator); *count set.
 * @return JK_OK; JK_ERR_NODE_ARCHIVE (corrupt or LMDB). */
jk_err jk_node_archive_evidence(jk_node_archive *a, uint64_t offset, jk_node_evidence *out,
                                size_t max, size_t *count, jk_diag *diag);

/* A block fetched from a peer with its certificate (untrusted). */
typedef struct jk_node_sync_item {
    uint64_t height;
    const uint8_t *block;
    size_t len;
    jk_cons_cert cert;
} jk_node_sync_item;

/* Import block `height` on the current head (the chain layer's import, then
 * the head's commit). */
typedef jk_err (*jk_node_import_fn)(void *ctx, uint64_t height, const uint8_t *block,
                                    size_t len, jk_diag *diag);

/* Sync: for each item in order, it must be the archive's top + 1, its
 * certificate must prove its header hash final at that height under vs
 * (2f+1 valid precommits of distinct validators), then it is imported and
 * archived. Stops at the first refusal: the peer that sent it is to be
 * dropped. *imported counts the blocks taken.
 * @return JK_OK; JK_ERR_NODE_CONFLICT (out of order); a header decode error;
 *         JK_ERR_CONS_CERT; an error of import; an archive error. */
jk_err jk_node_sync(jk_node_archive *a, const jk_cons_valset *vs, const jk_hash *genesis,
                    const jk_node_sync_item *items, size_t count, jk_node_import_fn import,
                    void *ctx, size_t *imported, jk_diag *diag);

/* ---------------------------------------------------------------------------
 * The node driver (src/node/node.c, docs/node.md "The node on a network")
 *
 * One event-loop thread: the transport (jk_net_step and its epoll), the RPC
 * server in external-loop mode, and the consensus machine's timers on
 * CLOCK_MONOTONIC (the only clock read in a node; the machine never sees
 * it). Every input goes to the machine; its outputs are carried out in order:
 * PERSIST and PERSIST_POL are written to the archive (synchronous LMDB)
 * before the SEND that follows them leaves. A peer whose message fails to
 * decode or verify is disconnected (JK_NET_REASON_BAD_SIG).
 * ------------------------------------------------------------------------- */

typedef struct jk_node jk_node;
typedef struct jk_node_chain_app jk_node_chain_app;

#define JK_NODE_FULL UINT32_MAX   /* jk_node_config.self of a full node */

/* One log line (no newline). level 0: one line per committed block and
 * peer changes; 1 (-v): every peer event, timers, refusals. */
typedef void (*jk_node_log_fn)(void *ctx, int level, const char *line);

/* `jark node`'s default empty-blocks interval (jk_node_config.timeouts.
 * empty_blocks_ms; docs/node.md "Block pacing"): an idle chain makes one
 * empty block a second, as CometBFT's defaults do (timeout_commit 1 s);
 * an event ends the wait at once. */
#define JK_NODE_EMPTY_BLOCKS_MS 1000u

/* jk_node_config.peer_verify_gas_per_s's and peer_fault_gas's defaults, and
 * the least a refusal that is the relayer's fault is charged (docs/network.md
 * "Peer costs"): 10^9 gas a second is ~20,000 of the demo's transfers
 * (50,897 gas each), over 3 times what this 2-core machine verifies; 32 M is
 * 32 bad signatures, or 3 verifies of the demo's whole 10 M budget. */
#define JK_NODE_PEER_VERIFY_GAS_PER_S 1000000000u
#define JK_NODE_PEER_FAULT_GAS 32000000u
#define JK_NODE_PEER_FAULT_MIN_GAS 1000000u

typedef struct jk_node_config {
    /* transport: listen address, peers, transport kind, limits (filled by
     * the caller; secret_key and genesis_hash are taken from below) */
    jk_net_config net;
    const uint8_t *secret_key;       /* JK_ED25519_SECRET_SIZE; copied. A full
                                        node's may be any key (made for the
                                        run): it only names the node on the
                                        transport */
    jk_hash genesis;
    const jk_cons_valset *valset;    /* borrowed for the node's life */
    uint32_t self;                   /* index in valset (a validator), or
                                        JK_NODE_FULL: a full node (no machine;
                                        follows by certified decisions, relays
                                        events, answers sync; docs/node.md
                                        "Full nodes") */
    jk_cons_timeouts timeouts;       /* empty_blocks_ms: the empty-blocks
                                        interval (0: none) */
    jk_cons_app app;                 /* the application (the chain app) */
    jk_node_archive *archive;        /* borrowed: blocks, vote records, POL */
    uint64_t height;                 /* the first undecided height */
    /* RPC: rpc_port 0 with rpc_host NULL means no server; the server runs
     * in external-loop mode on the node's thread, so the provider needs no
     * lock. provider NULL: the node's own (status, block; node_rpc.c). */
    const char *rpc_host;
    uint16_t rpc_port;
    bool rpc;
    const jk_rpc_provider *provider;
    /* The RPC server's bounds (jk_rpc_server_config): a request body's
     * bytes (0: JK_RPC_MAX_BODY) and the ms a request has to arrive whole
     * (0: JK_RPC_REQUEST_MS); `jark node --rpc-max-body`, `--rpc-request-ms`. */
    size_t rpc_max_body;
    uint32_t rpc_request_ms;
    /* The chain app behind cfg->app, when it is one (NULL otherwise): the
     * RPC's submit_event reads its admission verdict, and commit lines
     * carry its event counts. Borrowed. */
    jk_node_chain_app *chain;
    /* What a peer's relayed events may cost (docs/network.md "Peer costs";
     * 0: the defaults below): the verify gas per second its events may
     * spend (a token bucket holding one second's worth; past it its events
     * are refused unverified until it refills), and the gas its events may
     * waste on refusals that are its own fault (a bad signature, verify out
     * of gas, an undecodable event; each counted as at least
     * JK_NODE_PEER_FAULT_MIN_GAS; refilled at 1/64 of it a second) before
     * it is disconnected and counted. */
    uint64_t peer_verify_gas_per_s;
    uint64_t peer_fault_gas;
    jk_node_log_fn log;
    void *log_ctx;
    int verbose;
} jk_node_config;

/* Create a node: the transport (bound, not yet dialling), the RPC server,
 * the metrics, the machine at cfg->height from the archive's vote records
 * and proof of lock (jk_cons_start is called here).
 * @return JK_OK; JK_ERR_INVALID_ARG (self out of range, no archive);
 *         what jk_net_create, jk_rpc_server_start, jk_cons_machine_new,
 *         jk_cons_start or the archive return (reason in diag); JK_ERR_NOMEM.
 * @param[out] out  free with jk_node_free (after a failure: NULL). */
jk_err jk_node_new(const jk_node_config *cfg, jk_node **out, jk_diag *diag);
/* Close the RPC server and the transport, free the machine. What was
 * committed is in the archive already (every write is synchronous). */
void jk_node_free(jk_node *n);

/* Run the loop until *stop becomes non-zero (a signal handler sets it) or
 * the node commits height stop_height (0: no such bound).
 * @return JK_OK; JK_ERR_IO (epoll); an error of the application's commit or
 *         the archive (the machine cannot go on: reason in diag). */
jk_err jk_node_run(jk_node *n, volatile int *stop, uint64_t stop_height, jk_diag *diag);

/* Ports bound (for a listener or server asked for port 0). */
uint16_t jk_node_listen_port(const jk_node *n);
uint16_t jk_node_rpc_port(const jk_node *n);

/* What the RPC status reports. */
typedef struct jk_node_info {
    uint64_t height;         /* committed height */
    uint32_t round;          /* round at height + 1 */
    uint32_t peers;          /* connected */
    uint64_t commits;        /* heights committed by this process */
    uint64_t bad_peers;      /* disconnects for bad messages */
    uint64_t max_peer_height;/* the highest height a connected peer is known
                                to have committed (signed votes; 0: none) */
    bool syncing;            /* max_peer_height > height + 1 */
    uint64_t events_relayed; /* a full node: events passed on to its peers */
    uint64_t loop_turns;     /* jk_node_run's loop turns */
    uint64_t rpc_runs;       /* the turns that ran the RPC server: only those
                                whose step found its descriptor readable or
                                whose server deadline was due */
} jk_node_info;
void jk_node_info_get(const jk_node *n, jk_node_info *out);

/* The node's RPC provider (src/node/node_rpc.c): status from the machine
 * and the transport (syncing and max_peer_height from the peers' signed
 * votes), block by height or hash from the archive with its certificate,
 * submit_event into the machine (gossiped on) or, on a full node, through
 * the chain app's admission and relayed to every peer, state_slot (a
 * non-Data cap's value is its root record) and pool from the chain app. */
void jk_node_rpc_provider(jk_node *n, jk_rpc_provider *out);

/* ---------------------------------------------------------------------------
 * The chain-backed consensus application (src/node/chain_app.c,
 * docs/consensus.md "The chain application")
 * ------------------------------------------------------------------------- */

/* A gossiped event (the consensus EVENT payload): endpoint u32 LE ‖
 * blob_len u32 LE ‖ blob ‖ trace_count u32 LE ‖ trace_count ×
 * JK_CHAIN_TRACE_SIZE traces (jk_chain_trace_encode). */
#define JK_NODE_EVENT_MAX_TRACES 64u

/* Encode into a malloc'd buffer (the caller frees).
 * @return JK_OK; JK_ERR_INVALID_ARG (over JK_CONS_MAX_EVENT or
 *         JK_NODE_EVENT_MAX_TRACES traces); JK_ERR_NOMEM. */
jk_err jk_node_event_encode(const jk_chain_event *ev, const jk_chain_trace *traces,
                            size_t trace_count, uint8_t **out, size_t *out_len);
/* Strict decoder of exactly len bytes (untrusted). ev->blob points into
 * bytes; traces (malloc'd, the caller frees; NULL when none) are decoded.
 * @return JK_OK; JK_ERR_NODE_EVENT (truncated, trailing bytes, empty blob,
 *         too many traces) with diag; JK_ERR_NOMEM. */
jk_err jk_node_event_decode(const uint8_t *bytes, size_t len, jk_chain_event *ev,
                            jk_chain_trace **traces, size_t *trace_count, jk_diag *diag);

/* The chain app's consensus value (src/node/value.c, docs/consensus.md "The
 * value"): block ‖ certificate ‖ cert_len u32 LE, where the certificate is
 * the parent's commit certificate (the LastCommit the header's last_commit
 * names), absent (cert_len 0) in block 1. The header is at offset 0. */
typedef struct jk_node_value {
    const uint8_t *block;   /* into the decoded bytes */
    size_t block_len;
    bool has_cert;
    jk_cons_cert cert;      /* the parent's certificate when has_cert */
} jk_node_value;
/* Encode (malloc'd, the caller frees); cert NULL: none.
 * @return JK_OK; JK_ERR_INVALID_ARG (a block shorter than a header, a
 *         certificate without signatures, over JK_CONS_MAX_VALUE);
 *         JK_ERR_NOMEM. */
jk_err jk_node_value_encode(const uint8_t *block, size_t block_len, const jk_cons_cert *cert,
                            uint8_t **out, size_t *out_len);
/* Strict decoder of exactly len bytes (untrusted): the length in range, the
 * certificate canonical (jk_cons_cert_decode). The block is not decoded.
 * @return JK_OK; JK_ERR_NODE_VALUE with diag (then *out is zeroed). */
jk_err jk_node_value_decode(const uint8_t *bytes, size_t len, jk_node_value *out, jk_diag *diag);

/* A validator's consensus application over its chain Kernel, its store (the
 * head) and its archive (blocks, certificates, signed-vote records,
 * evidence), in the directory dir: the validator store is dir itself
 * (jk_node_validator_open) and the archive is tables of that store
 * (jk_node_archive_attach), committed with the head in one transaction. */
typedef struct jk_node_chain_app jk_node_chain_app;

/* Open (or create) the validator of secret_key in dir, resuming from what is
 * stored: the head, the archive (whose top is the head's height: they were
 * committed together), the head's certificate (the next proposal's
 * LastCommit), the signed-vote records.
 * A secret_key NULL, or one that is not a genesis validator's, opens a FULL
 * NODE's app (docs/node.md "Full nodes"): valid, hash, commit, get_decision
 * and add_event work as for a validator; get_value fails (producing needs a
 * validator's own key) and no machine is to be made for it
 * (jk_node_chain_app_is_validator is false).
 * @return JK_OK; any error of jk_node_validator_open or
 *         jk_node_archive_attach; JK_ERR_NODE_CONFLICT (the head and the
 *         archive's top differ: a store not made by the chain app);
 *         JK_ERR_NODE_OLD_LAYOUT (dir/archive/data.mdb exists: a store of
 *         the layout before one-transaction commits; move dir away and sync
 *         again); JK_ERR_NOMEM.
 * @param[out] out  close with jk_node_chain_app_close. */
jk_err jk_node_chain_app_open(const char *dir, const uint8_t secret_key[JK_ED25519_SECRET_SIZE],
                              const jk_chain_genesis *genesis, jk_node_chain_app **out,
                              jk_diag *diag);
void jk_node_chain_app_close(jk_node_chain_app *a);

/* The jk_cons_app whose ctx is a (valid while a is open):
 *   proposer     jk_chain_proposer_index;
 *   get_value    the spec's cycle in produce mode: setup_cycle (verifies the
 *                pool), run_cycle_process, apply_block_produce with the round
 *                and last_commit = jk_cons_cert_hash of the parent's
 *                certificate; the value: the encoded block with that
 *                certificate (jk_node_value_encode; none in block 1);
 *   valid        the value decodes, the carried certificate is the one the
 *                header's last_commit names and a valid commit certificate
 *                of the committed head (2f+1 distinct validators' precommits
 *                at height-1, any round; the LastCommit rule), then
 *                jk_chain_check_block on the committed head (nothing moves);
 *   hash         the header hash of a value whose carried certificate the
 *                header names; of any other bytes their BLAKE2b-256 (such a
 *                value is never valid);
 *   commit       in ONE transaction of the store: the head with the chain
 *                state the check kept (jk_chain_check_block's adoption: apply
 *                runs once), the block and its certificate in the archive,
 *                and the carried certificate as the parent's;
 *   get_decision the archive: block h with h-1's archived certificate (the
 *                one h carried) as the value, h's certificate;
 *   add_event    decode, deduplicate by event hash, verify into the pool. */
void jk_node_chain_app_bind(jk_node_chain_app *a, jk_cons_app *out);

/* Sync a validator or full node from genesis or its head: for each item in
 * order (its block field is the consensus value: block ‖ the parent's
 * certificate), the height must be the head's next, its certificate must
 * prove id(value) final under the genesis validator set, the value must be
 * valid (the carried LastCommit, then jk_chain_check_block), and it is
 * committed (head and archive in one transaction). Stops at the first
 * refusal: the peer that sent it is to be dropped.
 * @return JK_OK; JK_ERR_NODE_CONFLICT (out of order); JK_ERR_CONS_CERT;
 *         JK_ERR_CONS_VALUE (invalid: the reason in diag); an error of the
 *         commit; JK_ERR_NOMEM. */
jk_err jk_node_chain_app_sync(jk_node_chain_app *a, const jk_node_sync_item *items, size_t count,
                              size_t *imported, jk_diag *diag);

/* The genesis validator set as the consensus layer's. */
void jk_node_chain_app_valset(const jk_node_chain_app *a, jk_cons_valset *out);

/* jk_cons_cert_check under the app's genesis and validator set, for
 * height and value id, remembering the precommits it verified: a
 * certificate whose every precommit was verified before (the same height,
 * round and value) passes without a signature check, and only the others
 * are verified in one that shares some. Block h + 1's
 * LastCommit repeats the precommits of height h's certificate, which a
 * node following the chain (follow.c, the sync) checked a moment before.
 * @return JK_OK; JK_ERR_CONS_CERT (the reason in diag); JK_ERR_NOMEM. */
jk_err jk_node_chain_app_cert_check(jk_node_chain_app *a, const jk_cons_cert *cert,
                                    uint64_t height, const jk_hash *id, jk_diag *diag);

/* A machine for this validator at the first undecided height, resumed from
 * the archive's signed-vote records and proof of lock (not started:
 * jk_cons_start next). cfg supplies genesis-independent settings (timeouts);
 * its valset, self, secret key, genesis and app are filled here. vs must
 * outlive the machine.
 * @return what jk_node_archive_records / _pol and jk_cons_machine_new return. */
jk_err jk_node_chain_app_machine(jk_node_chain_app *a, const jk_cons_timeouts *timeouts,
                                 const jk_cons_valset *vs, jk_cons_machine **out, jk_diag *diag);

/* Carry out a machine output that touches the store: PERSIST (append the
 * record) and PERSIST_POL (replace the proof of lock), durably; EVIDENCE is
 * counted and kept (jk_node_archive_put_evidence). Other kinds: JK_OK,
 * nothing done.
 * @return JK_OK; an archive error; JK_ERR_NODE_EVIDENCE. */
jk_err jk_node_chain_app_persist(jk_node_chain_app *a, const jk_cons_out *out, jk_diag *diag);

/* A hook called at the start of every get_value(height), before the pool
 * is read: an embedder that feeds the pool from elsewhere (a client
 * workload, a mempool) hands its events over here with
 * jk_node_chain_app_add_event. It must not call into the machine. NULL
 * removes it. */
void jk_node_chain_app_set_produce_hook(jk_node_chain_app *a,
                                        void (*hook)(void *ctx, uint64_t height), void *ctx);
/* get_value refuses heights above max (0: no limit), so that an embedder
 * that wants N blocks gets no more: with one validator the machine would
 * otherwise decide height after height inside a single input. */
void jk_node_chain_app_set_height_limit(jk_node_chain_app *a, uint64_t max);

/* The longest value get_value proposes: a consensus PROPOSAL carrying it must
 * fit one JK_NET_CONSENSUS frame (2 MiB by default, src/net/frame.c) and
 * JK_CONS_MAX_VALUE. A produced block whose value is longer is produced again
 * with fewer events (jk_chain_set_produce_event_bytes), so a pool of large
 * events never makes proposals undeliverable. */
#define JK_NODE_MAX_VALUE ((2u << 20) - 4096u)

/* Lower get_value's bound below JK_NODE_MAX_VALUE (0 or more: back to it;
 * for tests and smaller transports). */
void jk_node_chain_app_set_max_value(jk_node_chain_app *a, size_t bytes);

/* Commit's store write (docs/node.md "Commit on a writer thread"): by
 * default the head moves at once and the store's transaction and sync run
 * on its writer thread, overlapping the next height's produce or check;
 * no vote or proposal of the next height leaves before they are done (the
 * vote log waits for them). sync true: commit returns with the write done,
 * as before (tools, tests that kill a process right after a commit). */
void jk_node_chain_app_set_sync_commit(jk_node_chain_app *a, bool sync);
/* Wait until every committed height is on disk.
 * @return JK_OK; JK_ERR_NODE_ARCHIVE (a commit's write failed: its reason). */
jk_err jk_node_chain_app_durable(jk_node_chain_app *a, jk_diag *diag);

/* get_value's proposer-side cap on a block's events (docs/node.md "Block
 * size"): at most this many pooled transacts go into one block (the rest
 * wait for the next). A block that takes longer to produce, send and check
 * than the propose timeout costs a round: its bytes are wasted and the
 * height takes timeoutPropose longer. 0: no cap but the chain's own. */
#define JK_NODE_MAX_BLOCK_EVENTS 1024u
void jk_node_chain_app_set_max_block_events(jk_node_chain_app *a, size_t events);

/* The propose timeout grows with the proposal's expected size (docs/node.md
 * "Block size"): the chain app's jk_cons_app.propose_extra_ms is this many
 * µs per transact in its pool (at most the block cap) — 1,000 by default,
 * so a full 1,024-event block gets about a second more than an empty one:
 * on this machine, loaded, a block of 1,300-2,000 transfers took over a
 * second to produce, send and check. 0: no extra time. */
#define JK_NODE_PROPOSE_US_PER_EVENT 1000u
void jk_node_chain_app_set_propose_cost(jk_node_chain_app *a, uint32_t us_per_event);

/* Show the chain programs' debug stream (DEBUG_WRITE) on `debug` (NULL: the
 * default, discarded), for this app's kernels now and after every rebuild
 * (jk_chain_set_debug). Output only; `debug` stays the caller's. */
void jk_node_chain_app_set_debug(jk_node_chain_app *a, FILE *debug);

/* Verify a loop turn's events together (docs/node.md "Admission in
 * batches"): decodes events[0..n) (gossip encodings; borrowed for the call),
 * leaves out the malformed, those seen before and repeats within the batch,
 * and runs their verifies at once on the verify pool's threads
 * (jk_node_chain_app_set_verify_threads; jk_chain_prepare_events). The
 * verdicts wait for the add_event of each event, which then admits through
 * its verdict instead of verifying — with the same outcome and reason as
 * without prepare, for any thread count (a verdict made on another chain
 * state than the one add_event meets is not used). Any earlier batch is
 * dropped; jk_node_chain_app_prepare_end drops this one.
 * @return JK_OK; JK_ERR_INVALID_ARG (no cycle could open: reason in diag);
 *         JK_ERR_NOMEM (nothing prepared: add_event verifies as before). */
jk_err jk_node_chain_app_prepare(jk_node_chain_app *a, const uint8_t *const *events,
                                 const size_t *lens, size_t n, jk_diag *diag);
void jk_node_chain_app_prepare_end(jk_node_chain_app *a);
/* Threads for jk_node_chain_app_prepare's verifies (0 or 1, the default:
 * the calling thread alone). */
void jk_node_chain_app_set_verify_threads(jk_node_chain_app *a, unsigned threads);

/* The add_event callback: decode, dedup, verify into the pool; true when
 * the event is new and admitted. Its verdict: jk_node_chain_app_verdict. */
bool jk_node_chain_app_add_event(jk_node_chain_app *a, const uint8_t *event, size_t len);

/* What admission made of one event (issue 13: the RPC's submit_event
 * answer). A repeat is judged by its jk_chain_event_hash, so the same
 * endpoint and blob with other traces is a repeat. */
typedef enum jk_node_verdict_kind {
    JK_NODE_VERDICT_ADMITTED = 0,  /* verified into the pool */
    JK_NODE_VERDICT_REFUSED,       /* verify refused it (did not HALT, handed
                                      back no or the wrong instance, could
                                      not run): the chain layer's "verify …" */
    JK_NODE_VERDICT_IN_POOL,       /* a repeat of an event still pooled */
    JK_NODE_VERDICT_REFUSED_BEFORE,/* a repeat of a refused event: its first
                                      refusal's reason and code */
    JK_NODE_VERDICT_COMMITTED,     /* a repeat of an event a committed block
                                      holds (a dispatch event: processed at
                                      the height it arrived in) */
    JK_NODE_VERDICT_MALFORMED,     /* the gossip encoding does not decode */
    JK_NODE_VERDICT_FAILED,        /* no verdict: the node failed (no
                                      memory, no cycle could open) */
    JK_NODE_VERDICT_OVER_BOUNDS,   /* handle_incoming_event dropped it by the
                                      chain's bounds, verify not refusing it:
                                      blob size, trace count, an unknown
                                      dispatch endpoint, a full pool or
                                      dispatch buffer, the pool's per-key
                                      limits (remembered as refused, as the
                                      others: a repeat is REFUSED_BEFORE) */
} jk_node_verdict_kind;

typedef struct jk_node_event_verdict {
    jk_node_verdict_kind kind;
    jk_hash id;          /* jk_chain_event_hash (zero when MALFORMED) */
    /* verify ended itself with the FAULT host call (JK_FAULT_GUEST): its
     * reason code (REFUSED, REFUSED_BEFORE) */
    bool has_code;
    uint64_t code;
    /* why not admitted, one line: the chain layer's words for REFUSED
     * ("verify did not HALT: program fault, reason 2: voter not on the
     * roll"); "already in the pool", "already refused when first seen:
     * <that first reason>", "already committed: ..."; empty when ADMITTED */
    char reason[192];
    /* the gas of the verify run behind this verdict (0: none ran here: a
     * repeat, malformed, a bound checked first); the node charges it to
     * the relaying peer (docs/network.md "Peer costs") */
    int64_t gas;
} jk_node_event_verdict;

/* Admit an event as add_event does and say what became of it.
 * @return true when admitted (out->kind ADMITTED).
 * @param[out] out  the verdict (always filled). */
bool jk_node_chain_app_submit(jk_node_chain_app *a, const uint8_t *event, size_t len,
                              jk_node_event_verdict *out);

/* The verdict of the LAST add_event (or submit) call, when that call was
 * for the event whose jk_chain_event_hash is id: a caller that hands an
 * event to the machine (jk_cons_on_event, whose add_event answers only
 * admitted or not) reads its own event's verdict here, never an earlier
 * event's. Every call replaces it.
 * @return true and *out filled; false when the last call was for another
 *         event (or there was none: the machine did not call add_event). */
bool jk_node_chain_app_verdict(const jk_node_chain_app *a, const jk_hash *id,
                               jk_node_event_verdict *out);

/* The same without the event's hash (session 8: the RPC's submit hashed the
 * event only to find its verdict): jk_node_chain_app_verdict_clear before
 * handing ONE event to the machine (which calls add_event at most once for
 * it, on this thread), jk_node_chain_app_verdict_take after: the verdict of
 * that add_event, if there was one.
 * @return true and *out filled; false when no add_event ran since the clear
 *         (or it found the event malformed, as jk_node_chain_app_verdict). */
void jk_node_chain_app_verdict_clear(jk_node_chain_app *a);
bool jk_node_chain_app_verdict_take(const jk_node_chain_app *a, jk_node_event_verdict *out);

/* The committed chain instance's hash (the head's state root). The
 * validator's Kernel may be past it: a proposal not yet decided. */
void jk_node_chain_app_root(const jk_node_chain_app *a, jk_hash *out);

/* What the app has: the validator (head, kernel), the archive. Borrowed. */
jk_node_validator *jk_node_chain_app_validator(jk_node_chain_app *a);
jk_node_archive *jk_node_chain_app_archive(jk_node_chain_app *a);

/* The committed head, for a read: the chain instance (borrowed: valid until
 * the app's next commit or close; retain it to keep it), its height (0 =
 * genesis) and its block's hash (the genesis hash at 0). */
void jk_node_chain_app_head(const jk_node_chain_app *a, jk_cap *chain, uint64_t *height,
                            jk_hash *head_hash);
/* The pool: admitted events not yet in a committed block, in admission
 * order. pending(i) is the i-th event's gossip encoding (borrowed until the
 * app's next callback), or NULL (*len 0) when i >= pending_count. */
size_t jk_node_chain_app_pending_count(const jk_node_chain_app *a);
const uint8_t *jk_node_chain_app_pending(const jk_node_chain_app *a, size_t i, size_t *len);
/* The RPC provider's state_slot and pool (include/jark/rpc.h) over the app:
 * ctx is the jk_node_chain_app. state_slot returns JK_ERR_RPC_NOT_FOUND when
 * the path leads nowhere (a slot past a CNode's end, or a step into a cap
 * that is not a CNode); pool returns JK_ERR_NOMEM or a pending event's
 * decode error. */
jk_err jk_node_chain_app_rpc_state_slot(void *ctx, const uint32_t *path, size_t depth,
                                        jk_rpc_slot_value *out, jk_diag *diag);
jk_err jk_node_chain_app_rpc_pool(void *ctx, uint32_t offset, jk_rpc_pool_sink *sink,
                                  uint64_t *total, jk_diag *diag);

/* Counters, and the last committed block's shape (for progress lines). */
/* Dispatch events on a network (docs/node.md, "Dispatch events on a
 * network"): a node keeps an admitted dispatch event until a committed
 * block's dispatch part consumes it, for at most this many heights, and at
 * most this many at once (a further one is refused, "over bounds"). */
#define JK_NODE_DISPATCH_MAX_AGE 8u
#define JK_NODE_MAX_PENDING_DISPATCH 4096u

typedef struct jk_node_chain_app_stats {
    uint64_t produced;       /* blocks get_value made */
    uint64_t produce_retries; /* produced again with fewer events: value too long */
    uint64_t checked;        /* valid() calls that ran check_block */
    uint64_t invalid;        /* values valid() refused */
    uint64_t rewinds;        /* kernels rebuilt after an undecided proposal */
    uint64_t events_admitted, events_refused, events_duplicate;
    uint64_t evidence;
    uint64_t last_events;    /* events in the last committed block */
    uint32_t last_round;     /* its round */
    uint32_t last_proposer;  /* its proposer */
    char last_error[192];    /* why the last failing callback failed */
    uint64_t events_dropped; /* admitted, then dropped by a produce whose
                                verify refused them (a block made them
                                invalid: docs/chain-design.md "No recheck") */
    uint64_t verify_runs;    /* runs of the chain's verify program (all
                                kernels of this app: admission, produce) */
    uint64_t dispatch_consumed; /* pending dispatch events a committed block consumed */
    uint64_t dispatch_expired;  /* … dropped unconsumed after JK_NODE_DISPATCH_MAX_AGE heights */
    uint64_t cert_sigs_checked; /* precommit signatures jk_node_chain_app_cert_check
                                   verified (not those it had verified before) */
    uint64_t seen_rebuilds;  /* commits that rebuilt the whole seen set to drop its
                                refusals (only when more were refused in a height
                                than it keeps track of; otherwise each refused id
                                is removed alone) */
    uint64_t commit_decodes; /* commits that decoded their block: neither a
                                valid() nor a get_value of this app had it
                                decoded under that id (session 9: the commit
                                takes theirs) */
    uint64_t commit_ids_hashed; /* committed block events whose id the commit
                                   hashed: not found pending (session 16: a
                                   pending one's id is its entry's) */
} jk_node_chain_app_stats;
void jk_node_chain_app_stats_get(const jk_node_chain_app *a, jk_node_chain_app_stats *out);

/* Full nodes (the fnode block). Is the app a validator's? *index (optional)
 * receives its place in the genesis validator set, UINT32_MAX when not. */
bool jk_node_chain_app_is_validator(const jk_node_chain_app *a, uint32_t *index);

#endif
