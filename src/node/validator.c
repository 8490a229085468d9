/*
 * validator.c — a validator's chain Kernel over its own LMDB store: open at
 * the committed head or at genesis, commit a head after each block.
 */
#include "jark/node.h"
#include "jark/bytes.h"

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
    v->last_block = jk_cap_null();
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
            v->height = head.height;
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
    if (err != JK_OK) {
        jk_node_validator_close(v);
        return err;
    }
    /* Without a key the Kernel has no own key: it imports, never produces. */
    if (secret_key)
        jk_chain_set_own_key(v->ck, secret_key);
    *out = v;
    return JK_OK;
}

void jk_node_validator_close(jk_node_validator *v)
{
    if (!v)
        return;
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
    if (err == JK_OK)
        err = jk_cap_store_commit_with(v->store.store, JK_NODE_HEAD, record, fn, ctx, NULL, diag);
    jk_cap_release(record);
    if (err == JK_OK)
        jk_node_head_move(v, height, block_hash, block_data);
    else
        jk_cap_release(block_data);
    return err;
}

jk_err jk_node_validator_commit_async(jk_node_validator *v, uint64_t height,
                                      const jk_hash *block_hash, const uint8_t *block,
                                      size_t block_len, jk_cap_store_txn_fn fn, void *ctx,
                                      void (*ctx_free)(void *ctx), jk_diag *diag)
{
    jk_cap record, block_data;
    jk_err err = jk_node_head_record(v, height, block_hash, block, block_len, fn == NULL, &record, &block_data);
    if (err == JK_OK) {
        err = jk_cap_store_commit_async(v->store.store, JK_NODE_HEAD, record, fn, ctx, ctx_free,
                                        diag);
    } else if (ctx_free) {
        ctx_free(ctx);
    }
    jk_cap_release(record);
    if (err == JK_OK)
        jk_node_head_move(v, height, block_hash, block_data);
    else
        jk_cap_release(block_data);
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
    jk_chain_block_free(&decoded);
    if (err == JK_OK)
        err = jk_node_validator_commit(v, height, &block_hash, block, block_len, diag);
    return err;
}
