/*
 * internal.h — what the files of src/node share across their modules: the
 * validator's and the block archive's commits on the store's writer thread,
 * the dispatch-queue record's writer, and what only the node's own loop
 * reads of the archive (moved out of jark/node.h, session 15: nothing
 * outside src/node calls them). A module's own state stays in its
 * <module>_internal.h, which includes this.
 */
#ifndef JK_NODE_LAYER_INTERNAL_H
#define JK_NODE_LAYER_INTERNAL_H

#include "jark/node.h"

/* The dispatch-queue record's slot (jark/node.h, jk_node_store_queue_get).
 * put: *out = record with the slot set to ck's queue (NEW reference).
 * @return JK_OK; JK_ERR_NOMEM; JK_ERR_CAP_TOO_LARGE. */
jk_err jk_node_store_queue_put(jk_cap record, const jk_chain_kernel *ck, jk_cap *out);
/* Make queue (the slot, or null) ck's queue; *restored: it was there.
 * @return JK_OK (also when null: nothing changed); JK_ERR_CAP_DECODE (not a
 *         Data); the decoder's JK_ERR_CHAIN_DECODE / JK_ERR_CHAIN_TOO_LARGE
 *         (reason in diag); JK_ERR_NOMEM. */
jk_err jk_node_store_queue_restore(jk_cap queue, jk_chain_kernel *ck, bool *restored, jk_diag *diag);

/* The same commit, with fn(ctx, txn) run inside its transaction after the
 * head is set (jk_cap_store_commit_with): what fn writes (the block archive)
 * commits with the head or not at all. fn NULL: jk_node_validator_commit.
 * With fn, the head record is written only at a checkpoint (height ≥ the
 * last checkpoint + v->checkpoint_every); at other heights the transaction
 * holds fn's rows alone and v keeps the record in memory (v->pending). The
 * checkpoint is never older than the archive's rows it would need: a later
 * transaction of the same environment (docs/node.md "Checkpoints").
 * @return what jk_node_validator_commit returns, or fn's error. */
jk_err jk_node_validator_commit_with(jk_node_validator *v, uint64_t height,
                                     const jk_hash *block_hash, const uint8_t *block,
                                     size_t block_len, jk_cap_store_txn_fn fn, void *ctx,
                                     jk_diag *diag);

/* jk_node_validator_commit_with, the store's part on its writer thread
 * (jk_cap_store_commit_async; docs/node.md "Commit on a writer thread"):
 * v moves to the block at once (the in-memory commit); the transaction and
 * its sync follow, and every later use of the store waits for them.
 * ctx_free(ctx) once fn is done with ctx (also when nothing was queued).
 * @return JK_OK (v moved; the store's write queued); the error of an
 *         earlier async commit (sticky); JK_ERR_NOMEM; v unchanged on
 *         failure. */
jk_err jk_node_validator_commit_async(jk_node_validator *v, uint64_t height,
                                      const jk_hash *block_hash, const uint8_t *block,
                                      size_t block_len, jk_cap_store_txn_fn fn, void *ctx,
                                      void (*ctx_free)(void *ctx), jk_diag *diag);

/* jk_node_archive_commit with the store's transaction and sync on its
 * writer thread (jk_node_validator_commit_async; docs/node.md "Commit on a
 * writer thread"): v and the archive's top move at once; every later use of
 * the store (reads, vote records, jk_node_archive_durable) waits for the
 * write. A failed write sticks: every later write of the store fails.
 * @return as jk_node_archive_commit, for what is checked before queuing. */
jk_err jk_node_archive_commit_async(jk_node_archive *a, jk_node_validator *v, uint64_t height,
                                    const jk_hash *block_hash, const uint8_t *block, size_t len,
                                    const jk_cons_cert *cert, const jk_cons_cert *prev_cert,
                                    jk_diag *diag);
/* The block a head record names by (height, block_hash) and leaves to the
 * archive (the head commits of jk_node_archive_commit / _async hold no copy
 * of the block: docs/node.md "What a validator stores"), read from the
 * archive's tables in store.
 * @return JK_OK (*out: a NEW Data of the block's encoding);
 *         JK_ERR_NODE_MISSING (no row at height); JK_ERR_NODE_ARCHIVE (the
 *         row names another block, or is corrupt); a store error; JK_ERR_NOMEM. */
jk_err jk_node_archive_head_block(jk_cap_store *store, uint64_t height, const jk_hash *block_hash,
                                  jk_cap *out, jk_diag *diag);
/* Wait for the async commit queued last: on disk when JK_OK.
 * @return JK_OK; JK_ERR_NODE_ARCHIVE (that commit failed: the reason). */
jk_err jk_node_archive_durable(jk_node_archive *a, jk_diag *diag);
/* What opening the vote log noticed and recovered from (a torn last
 * append ignored), for the node's log; "" when nothing. */
const char *jk_node_archive_vote_note(const jk_node_archive *a);

#endif
