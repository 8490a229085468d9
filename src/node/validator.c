/*
 * validator.c — a validator's chain Kernel over its own LMDB store: open at
 * the committed head or at genesis, commit a head after each block.
 *
 * Checkpoints (docs/node.md "Checkpoints"): through the archive, the head
 * record — the state — is written every checkpoint_every heights only; the
 * blocks' rows every height. The state is a cache of the blocks: open
 * re-applies the archived blocks above the checkpoint (jk_node_replay).
 */
#include "internal.h"
#include "jark/node.h"
#include "jark/bytes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JK_NODE_HEAD "head"
/* the LMDB map size of a validator store: an upper bound on the file, which
 * holds the chain state and the whole block archive (sparse until used) */
#define JK_NODE_MAP_SIZE ((size_t)1 << 32)
/* the head record's info Data: height u64 LE ‖ block hash ‖ genesis hash */
#define JK_NODE_INFO_SIZE (8 + 2 * JK_HASH_SIZE)

/* Read the committed head record of an open store. JK_ERR_CAP_MISSING when the
 * store has none (a fresh store). */
static jk_err jk_node_head_load(jk_cap_store *store, jk_node_head *out, jk_diag *diag)
{
    memset(out, 0, sizeof *out);
    out->chain = out->last_block = out->queue = jk_cap_null();
    jk_hash head;
    if (jk_cap_store_head(store, JK_NODE_HEAD, &head, NULL) != JK_OK)
        return JK_ERR_CAP_MISSING;
    jk_cap record = jk_cap_null();
    jk_err err = jk_cap_store_load(store, &head, &record, diag);
    jk_cap inst = jk_cap_cnode_get(record, 0), info = jk_cap_cnode_get(record, 1);
    jk_cap block = jk_cap_cnode_get(record, 2);
    uint8_t bytes[JK_NODE_INFO_SIZE];
    if (err == JK_OK && (jk_cap_kind_of(inst) != JK_CAP_INSTANCE ||
                         (!jk_cap_is_null(block) && jk_cap_kind_of(block) != JK_CAP_DATA) ||
                         jk_cap_data_len(info) != JK_NODE_INFO_SIZE ||
                         jk_cap_data_read(info, 0, bytes, sizeof bytes) != JK_OK))
        err = jk_diag_set(diag, JK_ERR_CAP_DECODE, "the store's head record is not a validator head");
    if (err == JK_OK) {
        out->height = jk_get_u64le(bytes);
        memcpy(out->block_hash.bytes, bytes + 8, JK_HASH_SIZE);
        memcpy(out->genesis_hash.bytes, bytes + 8 + JK_HASH_SIZE, JK_HASH_SIZE);
        out->chain = jk_cap_retain(inst);
        out->last_block = jk_cap_retain(block);
        out->queue = jk_cap_retain(jk_node_store_queue_get(record));
        /* no slot 2: the block is in the archive's row (session 9) */
        if (jk_cap_is_null(block))
            err = jk_node_archive_head_block(store, out->height, &out->block_hash, &out->last_block, diag);
    }
    jk_cap_release(record);
    return err;
}

void jk_node_head_release(jk_node_head *head)
{
    jk_cap_release(head->chain);
    jk_cap_release(head->last_block);
    jk_cap_release(head->queue);
    head->chain = head->last_block = head->queue = jk_cap_null();
}

jk_err jk_node_head_read(const char *dir, jk_node_head *out, jk_diag *diag)
{
    jk_node_store store;
    memset(out, 0, sizeof *out);
    out->chain = out->last_block = out->queue = jk_cap_null();
    jk_err err = jk_node_store_open(dir, JK_NODE_MAP_SIZE, &store, diag);
    if (err == JK_OK) {
        err = jk_node_head_load(store.store, out, diag);
        if (err == JK_ERR_CAP_MISSING)
            jk_diag_set(diag, err, "the store has no committed head yet");
    }
    jk_node_store_close(&store);
    return err;
}

static jk_err jk_node_head_record(const jk_node_validator *v, uint64_t height,
                                  const jk_hash *block_hash, const uint8_t *block,
                                  size_t block_len, bool in_record, jk_cap *record, jk_cap *block_data);
static void jk_node_head_move(jk_node_validator *v, uint64_t height, const jk_hash *block_hash,
                              jk_cap block_data);

/* Bring v from its checkpoint to the archive's top: each archived block above
 * it is decoded, hashed (the archive's hash must be its own) and imported
 * (jk_chain_apply_block_import: parent, proposer, signatures, every trace,
 * and apply halting with the header's state root), as a sync imports a
 * peer's block; its head record is kept in memory (v->pending) for the
 * next checkpoint. No store write: the blocks are durable already. */
static jk_err jk_node_replay(jk_node_validator *v, jk_diag *diag)
{
    jk_node_archive *a;
    jk_err err = jk_node_archive_attach(v->store.store, &a, diag);
    if (err != JK_OK)
        return err;
    uint64_t top = jk_node_archive_top(a);
    for (uint64_t h = v->height + 1; err == JK_OK && h <= top; h++) {
        jk_hash id, got;
        uint8_t *block = NULL;
        size_t len = 0;
        jk_chain_block decoded;
        err = jk_node_archive_get(a, h, &id, &block, &len, NULL, diag);
        if (err == JK_OK && (err = jk_chain_block_decode(block, len, &decoded, diag)) == JK_OK) {
            jk_chain_block_hash(&decoded, &got);
            if (memcmp(got.bytes, id.bytes, JK_HASH_SIZE) != 0)
                err = jk_diag_set(diag, JK_ERR_NODE_ARCHIVE,
                                  "archive: the block at height %llu does not hash to its archived hash",
                                  (unsigned long long)h);
            if (err == JK_OK)
                err = jk_chain_apply_block_import(v->ck, &decoded, &v->head_hash, h, diag);
            jk_chain_block_free(&decoded);
        }
        jk_cap record = jk_cap_null(), data = jk_cap_null();
        if (err == JK_OK)
            err = jk_node_head_record(v, h, &id, block, len, false, &record, &data);
        free(block);
        if (err == JK_OK) {
            jk_cap_release(v->pending);
            v->pending = record;
            jk_node_head_move(v, h, &id, data);
            v->replayed++;
        } else if (diag && diag->msg[0]) {
            char why[sizeof diag->msg];
            snprintf(why, sizeof why, "%s", diag->msg);
            jk_diag_set(diag, err, "replay of archived block %llu above the checkpoint %llu: %s",
                        (unsigned long long)h, (unsigned long long)v->checkpoint_height, why);
        }
    }
    jk_node_archive_close(a);
    return err;
}

jk_err jk_node_validator_open(const char *dir, const uint8_t secret_key[JK_ED25519_SECRET_SIZE],
                              const jk_chain_genesis *genesis, jk_node_validator **out, jk_diag *diag)
{
    jk_node_validator *v = calloc(1, sizeof *v);
    if (!v)
        return JK_ERR_NOMEM;
    v->index = UINT32_MAX;
    v->store.lock_fd = -1;
    for (uint32_t i = 0; secret_key && i < genesis->validator_count && i < JK_CHAIN_MAX_VALIDATORS; i++)
        if (!memcmp(genesis->validators[i], secret_key + 32, JK_ED25519_PUBLIC_SIZE)) {
            v->index = i;
            break;
        }
    v->last_block = v->pending = jk_cap_null();
    v->checkpoint_every = JK_NODE_CHECKPOINT_EVERY;
    v->genesis_hash = genesis->genesis_hash;
    if (secret_key)
        memcpy(v->public_key, secret_key + 32, JK_ED25519_PUBLIC_SIZE);
    jk_err err = jk_node_store_open(dir, JK_NODE_MAP_SIZE, &v->store, diag);
    jk_cap chain = jk_cap_retain(genesis->chain), queue = jk_cap_null();
    v->head_hash = genesis->genesis_hash;
    jk_node_head head;
    jk_err found = err == JK_OK ? jk_node_head_load(v->store.store, &head, diag) : JK_ERR_CAP_MISSING;
    if (found != JK_ERR_CAP_MISSING) {
        /* Resume at the committed head. */
        err = found;
        if (err == JK_OK && memcmp(head.genesis_hash.bytes, genesis->genesis_hash.bytes, JK_HASH_SIZE) != 0)
            err = jk_diag_set(diag, JK_ERR_INVALID_ARG, "the store holds another chain (its genesis hash differs)");
        if (err == JK_OK) {
            jk_cap_release(chain);
            chain = jk_cap_retain(head.chain);
            v->height = v->checkpoint_height = head.height;
            v->head_hash = head.block_hash;
            v->last_block = jk_cap_retain(head.last_block);
            queue = jk_cap_retain(head.queue);
        }
        jk_node_head_release(&head);
    }
    if (err == JK_OK)
        err = jk_chain_kernel_new(genesis, chain, &v->ck, diag);
    jk_cap_release(chain);
    if (err == JK_OK) /* the head's dispatch queue (store.c) */
        err = jk_node_store_queue_restore(queue, v->ck, &v->queue_restored, diag);
    jk_cap_release(queue);
    if (err == JK_OK) /* the blocks archived after the checkpoint */
        err = jk_node_replay(v, diag);
    if (err == JK_OK && v->replayed)
        v->queue_restored = true; /* the kernel's queue is the last apply's */
    if (err != JK_OK) {
        /* a failed open writes nothing: no checkpoint of a half replay */
        jk_cap_release(v->pending);
        v->pending = jk_cap_null();
        jk_node_validator_close(v);
        return err;
    }
    /* Without a key the Kernel has no own key: it imports, never produces. */
    if (secret_key)
        jk_chain_set_own_key(v->ck, secret_key);
    *out = v;
    return JK_OK;
}

jk_err jk_node_validator_checkpoint(jk_node_validator *v, jk_diag *diag)
{
    if (jk_cap_is_null(v->pending))
        return JK_OK;
    jk_err err = jk_cap_store_commit_with(v->store.store, JK_NODE_HEAD, v->pending, NULL, NULL, NULL, diag);
    if (err == JK_OK)
        err = jk_cap_store_sync(v->store.store, diag);
    if (err == JK_OK) {
        jk_cap_release(v->pending);
        v->pending = jk_cap_null();
        v->checkpoint_height = v->height;
    }
    return err;
}

void jk_node_validator_close(jk_node_validator *v)
{
    if (!v)
        return;
    if (v->store.store)
        (void)jk_node_validator_checkpoint(v, NULL);
    jk_cap_release(v->pending);
    jk_chain_kernel_free(v->ck);
    jk_cap_release(v->last_block);
    jk_node_store_close(&v->store);
    free(v);
}

jk_err jk_node_validator_commit(jk_node_validator *v, uint64_t height, const jk_hash *block_hash,
                                const uint8_t *block, size_t block_len, jk_diag *diag)
{
    return jk_node_validator_commit_with(v, height, block_hash, block, block_len, NULL, NULL, diag);
}

/* The head record of block `height`: a CNode of the chain instance, the
 * info Data (height, block hash, genesis hash) and the block's Data — in
 * slot 2 only when no archive row commits with it (in_record): a commit
 * through the archive (fn set) leaves slot 2 empty and the block to its
 * row, in the same transaction (docs/node.md "What a validator stores").
 * *block_data is the block's Data either way (v->last_block). */
static jk_err jk_node_head_record(const jk_node_validator *v, uint64_t height,
                                  const jk_hash *block_hash, const uint8_t *block,
                                  size_t block_len, bool in_record, jk_cap *record, jk_cap *block_data)
{
    uint8_t bytes[JK_NODE_INFO_SIZE];
    jk_put_u64le(bytes, height);
    memcpy(bytes + 8, block_hash->bytes, JK_HASH_SIZE);
    memcpy(bytes + 8 + JK_HASH_SIZE, v->genesis_hash.bytes, JK_HASH_SIZE);
    jk_cap fields[3] = {jk_cap_retain(v->ck->chain), jk_cap_null(), jk_cap_null()};
    *record = jk_cap_null();
    jk_err err = jk_cap_data_new(bytes, sizeof bytes, &fields[1]);
    if (err == JK_OK)
        err = jk_cap_data_new(block, block_len, &fields[2]);
    if (err == JK_OK)
        err = jk_cap_cnode_new(2, record); /* 4 slots */
    for (uint32_t i = 0; i < 4 && err == JK_OK; i++) {
        jk_cap next;
        /* slot 3: the dispatch queue (store.c) */
        err = i < 3 ? jk_cap_cnode_set(*record, i, i == 2 && !in_record ? jk_cap_null() : fields[i], &next)
                    : jk_node_store_queue_put(*record, v->ck, &next);
        jk_cap_release(*record);
        *record = err == JK_OK ? next : jk_cap_null();
    }
    *block_data = err == JK_OK ? jk_cap_retain(fields[2]) : jk_cap_null();
    for (uint32_t i = 0; i < 3; i++)
        jk_cap_release(fields[i]);
    return err;
}

/* Is the head record of `height` written with this commit? Always without
 * rows (fn NULL: nothing else would hold the block); through the archive,
 * every checkpoint_every heights. */
static bool jk_node_checkpoint_due(const jk_node_validator *v, uint64_t height, jk_cap_store_txn_fn fn)
{
    uint32_t k = v->checkpoint_every ? v->checkpoint_every : 1;
    return !fn || height - v->checkpoint_height >= k;
}

/* After a commit of `record` (consumed here): the store's checkpoint moved
 * with it (write), or v keeps it for a later one. */
static void jk_node_checkpoint_note(jk_node_validator *v, jk_err err, bool write, jk_cap record)
{
    if (err == JK_OK && write) {
        v->checkpoint_height = v->height;
        jk_cap_release(v->pending);
        v->pending = jk_cap_null();
        jk_cap_release(record);
    } else if (err == JK_OK) {
        jk_cap_release(v->pending);
        v->pending = record;
    } else {
        jk_cap_release(record);
    }
}

/* The in-memory move: v is at block `height` from here on. */
static void jk_node_head_move(jk_node_validator *v, uint64_t height, const jk_hash *block_hash,
                              jk_cap block_data)
{
    v->height = height;
    v->head_hash = *block_hash;
    jk_cap_release(v->last_block);
    v->last_block = block_data;
}

jk_err jk_node_validator_commit_with(jk_node_validator *v, uint64_t height,
                                     const jk_hash *block_hash, const uint8_t *block,
                                     size_t block_len, jk_cap_store_txn_fn fn, void *ctx,
                                     jk_diag *diag)
{
    jk_cap record, block_data;
    jk_err err = jk_node_head_record(v, height, block_hash, block, block_len, fn == NULL, &record, &block_data);
    bool write = jk_node_checkpoint_due(v, height, fn);
    if (err == JK_OK)
        err = jk_cap_store_commit_with(v->store.store, write ? JK_NODE_HEAD : NULL,
                                       write ? record : jk_cap_null(), fn, ctx, NULL, diag);
    if (err == JK_OK)
        jk_node_head_move(v, height, block_hash, block_data);
    else
        jk_cap_release(block_data);
    jk_node_checkpoint_note(v, err, write, record);
    return err;
}

jk_err jk_node_validator_commit_async(jk_node_validator *v, uint64_t height,
                                      const jk_hash *block_hash, const uint8_t *block,
                                      size_t block_len, jk_cap_store_txn_fn fn, void *ctx,
                                      void (*ctx_free)(void *ctx), jk_diag *diag)
{
    jk_cap record, block_data;
    jk_err err = jk_node_head_record(v, height, block_hash, block, block_len, fn == NULL, &record, &block_data);
    bool write = jk_node_checkpoint_due(v, height, fn);
    if (err == JK_OK) {
        err = jk_cap_store_commit_async(v->store.store, write ? JK_NODE_HEAD : NULL,
                                        write ? record : jk_cap_null(), fn, ctx, ctx_free, diag);
    } else if (ctx_free) {
        ctx_free(ctx);
    }
    if (err == JK_OK)
        jk_node_head_move(v, height, block_hash, block_data);
    else
        jk_cap_release(block_data);
    jk_node_checkpoint_note(v, err, write, record);
    return err;
}

jk_err jk_node_validator_import(jk_node_validator *v, const uint8_t *block, size_t block_len,
                                uint64_t height, jk_diag *diag)
{
    jk_chain_block decoded;
    jk_err err = jk_chain_block_decode(block, block_len, &decoded, diag);
    if (err != JK_OK)
        return err;
    jk_hash block_hash;
    jk_chain_block_hash(&decoded, &block_hash);
    err = jk_chain_apply_block_import(v->ck, &decoded, &v->head_hash, height, diag);
    if (err == JK_OK)
        err = jk_node_validator_commit(v, height, &block_hash, block, block_len, diag);
    /* final: its traces leave the signature cache, as the chain app's
     * commit lets them go; kept, they took ways from pending events until
     * oldest-first replacement pushed them out (an event then checked
     * twice) */
    if (err == JK_OK)
        jk_chain_forget_committed_sigs(v->ck, &decoded);
    jk_chain_block_free(&decoded);
    return err;
}
