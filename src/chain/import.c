/*
 * import.c — apply_block in import mode: every validator but the proposer
 * checks a block against its head (parent, number, the proposer rule, the
 * proposer's signature, the body hash) and reproduces its state root with
 * apply in verify mode; and the same without advancing (jk_chain_check_block)
 * for a consensus prevote, whose result a later import of that block adopts.
 */
#include "internal.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* ---- the pool's known attest messages ----
 *
 * An importer has most of a block's transacts in its pool, each with the
 * attest message of its blob its admission hashed (jk_chain_pooled's
 * blob_msg). A block trace claims a message; when a pooled blob_msg equals
 * it and that entry's blob is the attested blob byte for byte, the message
 * is the blob's without hashing it again. An open-addressing table of pool
 * indexes by blob_msg, built at an import's first attest (the pool does not
 * change while it runs). Only "which entries have this message?" is asked,
 * so its layout decides nothing. The slot is a multiply-shift hash of the
 * message's first word under an odd multiplier drawn once per process:
 * messages are hashes of what submitters choose, who could otherwise grind
 * many onto one run of slots. */
typedef struct jk_msg_memo {
    uint32_t *slot;   /* pool index + 1; 0 empty */
    unsigned log2;
    bool built;
} jk_msg_memo;

static pthread_once_t jk_memo_once = PTHREAD_ONCE_INIT;
static uint64_t jk_memo_mul;

static void jk_memo_mul_init(void)
{
    randombytes_buf(&jk_memo_mul, sizeof jk_memo_mul);
    jk_memo_mul |= 1;
}

static size_t jk_memo_home(const jk_msg_memo *mm, const jk_hash *msg)
{
    return (size_t)((jk_get_u64le(msg->bytes) * jk_memo_mul) >> (64 - mm->log2));
}

/* Out of memory (or no pool) the table stays empty: every attest hashes. */
static void jk_memo_build(jk_msg_memo *mm, const jk_chain_kernel *ck)
{
    mm->built = true;
    size_t n = 0;
    for (size_t i = 0; i < ck->pool_count; i++)
        n += ck->pool[i].has_blob_msg;
    if (n == 0 || ck->pool_count >= UINT32_MAX)
        return;
    pthread_once(&jk_memo_once, jk_memo_mul_init);
    unsigned log2 = 4;
    while (((size_t)1 << log2) < 2 * n)
        log2++;
    mm->slot = calloc((size_t)1 << log2, sizeof *mm->slot);
    if (!mm->slot)
        return;
    mm->log2 = log2;
    size_t mask = ((size_t)1 << log2) - 1;
    for (size_t i = 0; i < ck->pool_count; i++) {
        if (!ck->pool[i].has_blob_msg)
            continue;
        size_t at = jk_memo_home(mm, &ck->pool[i].blob_msg);
        while (mm->slot[at])
            at = (at + 1) & mask;
        mm->slot[at] = (uint32_t)i + 1;
    }
}

/* The pooled entry that vouches that blob's attest message is msg (its
 * blob_msg is msg and its blob is blob byte for byte), or NULL. */
static const jk_chain_pooled *jk_memo_find(const jk_msg_memo *mm, const jk_chain_kernel *ck, const jk_hash *msg,
                                           const uint8_t *blob, size_t len)
{
    if (!mm->slot)
        return NULL;
    size_t mask = ((size_t)1 << mm->log2) - 1;
    for (size_t at = jk_memo_home(mm, msg); mm->slot[at]; at = (at + 1) & mask) {
        const jk_chain_pooled *e = &ck->pool[mm->slot[at] - 1];
        if (!memcmp(e->blob_msg.bytes, msg->bytes, JK_HASH_SIZE) && e->blob_len == len &&
            (len == 0 || !memcmp(e->blob, blob, len)))
            return e;
    }
    return NULL;
}

/* How many traces past the last one matched an event's Data is looked for
 * under (jk_block_datas): an event with a few attests of other blobs
 * before its own still finds it; past that, it is made. */
#define JK_DATA_LOOKAHEAD 4u

/* The block's events' Data from the pool (jk_chain_pooled.data, made by
 * their verify at admission), for the body (jk_chain_run_apply's datas):
 * an event that attests its own blob has a block trace for that attest,
 * whose claimed message finds the pooled entry (jk_memo_find: the blob
 * compared byte for byte, never the message alone). Traces come in attest
 * order, which for the usual transact (one attest, of its own blob) is
 * event order: a cursor over them, looking a few ahead. An event not found
 * (not pooled, pooled without a Data, attesting otherwise) gets its Data
 * made by the apply as before. Which object holds the bytes depends on
 * this, never a value. NULL: none found, or out of memory (all made). */
static jk_cap *jk_block_datas(jk_msg_memo *mm, const jk_chain_kernel *ck, const jk_chain_block *b)
{
    if (!b->event_count || !b->trace_count || !ck->pool_count)
        return NULL;
    if (!mm->built)
        jk_memo_build(mm, ck); /* the import's attests use it next */
    jk_cap *d = mm->slot ? calloc(b->event_count, sizeof *d) : NULL;
    size_t t = 0, found = 0;
    for (size_t i = 0; d && i < b->event_count && t < b->trace_count; i++) {
        const jk_chain_event *ev = &b->events[i];
        if (ev->endpoint != JK_CHAIN_ENDPOINT_TRANSACT)
            continue;
        for (size_t k = t; k < b->trace_count && k - t < JK_DATA_LOOKAHEAD; k++) {
            const jk_chain_pooled *e = jk_memo_find(mm, ck, &b->traces[k].msg_hash, ev->blob, ev->blob_len);
            if (e && !jk_cap_is_null(e->data)) {
                d[i] = e->data; /* borrowed: the pool holds it until the block is applied */
                t = k + 1;
                found++;
                break;
            }
        }
    }
    if (d && !found) {
        free(d);
        d = NULL;
    }
    return d;
}

typedef struct jk_import_mode {
    jk_chain_kernel *ck;
    const jk_chain_block *block;
    size_t next;      /* the next trace to match */
    jk_chain_sigjobs *sigs; /* the traces' signature checks (import_sigs.c) */
    jk_msg_memo memo;
} jk_import_mode;

/* jk_chain_trace_verify's checks in its order (key, message, signature), the
 * signature answered by the cache of earlier successes or a check made
 * ahead on a worker or now (import_sigs.c): the same answer either way. */
static jk_err jk_decide_import(void *ctx, const uint8_t key[32], const uint8_t *blob, size_t len, bool *accept)
{
    jk_import_mode *m = ctx;
    *accept = false;
    if (m->next >= m->block->trace_count)
        return JK_OK;
    const jk_chain_trace *t = &m->block->traces[m->next];
    if (memcmp(t->key, key, JK_ED25519_PUBLIC_SIZE) != 0)
        return JK_OK;
    if (!m->memo.built)
        jk_memo_build(&m->memo, m->ck);
    bool same = jk_memo_find(&m->memo, m->ck, &t->msg_hash, blob, len) != NULL;
    if (!same) {
        jk_hash msg;
        jk_chain_attest_msg_hash(&m->ck->genesis_hash, blob, len, &msg);
        same = !memcmp(t->msg_hash.bytes, msg.bytes, JK_HASH_SIZE);
    }
    if (!same || !jk_chain_sigjobs_valid(m->sigs, m->next))
        return JK_OK;
    if (!jk_chain_sigjobs_cached(m->sigs, m->next))
        jk_chain_sig_remember(m->ck, t); /* hash each thing once: a hit is there already */
    *accept = true;
    m->next++;
    return JK_OK;
}

/* The pool without the block's events (an importer's pool: what the block
 * took is spent). A fresh list of the entries kept; the others are freed. */
static jk_err jk_pool_minus_block(jk_chain_kernel *ck, const jk_chain_block *block, const jk_hash *ids,
                                  jk_chain_pooled **keep, size_t *keep_count)
{
    jk_chain_hashset in_block = {0};
    jk_err err = JK_OK;
    /* an empty pool keeps nothing whatever the block holds: no hashing */
    for (size_t i = 0; err == JK_OK && ck->pool_count && i < block->event_count; i++) {
        jk_hash h;
        if (ids)
            h = ids[i]; /* the caller's (jk_chain_apply_block_import_ids) */
        else
            jk_chain_event_hash(&block->events[i], &h);
        if (!jk_chain_hashset_contains(&in_block, &h))
            err = jk_chain_hashset_add(&in_block, &h);
    }
    *keep = err == JK_OK ? calloc(ck->pool_count ? ck->pool_count : 1, sizeof **keep) : NULL;
    if (err == JK_OK && !*keep)
        err = JK_ERR_NOMEM;
    if (err == JK_OK) {
        size_t n = 0;
        for (size_t i = 0; i < ck->pool_count; i++) {
            if (jk_chain_hashset_contains(&in_block, &ck->pool[i].hash)) {
                jk_chain_pooled_drop(&ck->pool[i]);
            } else {
                (*keep)[n++] = ck->pool[i];
            }
        }
        free(ck->pool);
        ck->pool = NULL;
        ck->pool_count = ck->pool_cap = 0;
        *keep_count = n;
    }
    jk_chain_hashset_free(&in_block);
    return err;
}

/* Every check of import mode and the apply: on JK_OK *out is what the block
 * makes of the current chain; ck's chain, cycle and pool are untouched. */
static jk_err jk_import_run(jk_chain_kernel *ck, const jk_chain_block *block, const jk_hash *parent, uint64_t number,
                            jk_applied *out, jk_diag *why)
{
    *out = (jk_applied){jk_cap_null(), NULL, 0};
    const jk_chain_header *h = &block->header;
    if (memcmp(h->parent.bytes, parent->bytes, JK_HASH_SIZE) != 0)
        return jk_diag_set(why, JK_ERR_CHAIN_BLOCK_INVALID, "block %llu: parent is not the head",
                           (unsigned long long)h->number);
    if (h->number != number)
        return jk_diag_set(why, JK_ERR_CHAIN_BLOCK_INVALID, "block number %llu, expected %llu",
                           (unsigned long long)h->number, (unsigned long long)number);
    uint32_t designated = jk_chain_proposer_index(ck->validator_count, number, h->round);
    if (h->proposer != designated)
        return jk_diag_set(why, JK_ERR_CHAIN_BLOCK_INVALID, "block %llu round %u: proposer index %u, but the "
                           "proposer of that round is validator %u", (unsigned long long)number, h->round,
                           h->proposer, designated);
    static const uint8_t zero[JK_HASH_SIZE];
    if (number == 1 && memcmp(h->last_commit.bytes, zero, JK_HASH_SIZE) != 0)
        return jk_diag_set(why, JK_ERR_CHAIN_BLOCK_INVALID, "block 1: last_commit is not zero (genesis has no "
                           "commit certificate)");
    jk_err err = jk_chain_block_verify_sig(block, ck->validators[designated], &ck->genesis_hash);
    if (err != JK_OK)
        return jk_diag_set(why, err, "block %llu: the signature is not validator %u's",
                           (unsigned long long)h->number, designated);
    err = jk_chain_block_check_body(block);
    if (err != JK_OK)
        return jk_diag_set(why, err, "block %llu: the body does not match its hash", (unsigned long long)h->number);
    /* the dispatch part first: every validator re-derives it (dispatch.c) */
    jk_chain_pooled *queued = NULL;
    size_t queued_count = 0;
    err = jk_chain_dispatch_replay(ck, block, &queued, &queued_count, why);
    if (err != JK_OK)
        return err;
    jk_import_mode mode = {ck, block, 0, NULL, {NULL, 0, false}};
    jk_block_context bc = {number, designated, h->round};
    err = jk_chain_sigjobs_start(ck, block->traces, block->trace_count, ck->import_threads, &mode.sigs);
    jk_cap *datas = err == JK_OK ? jk_block_datas(&mode.memo, ck, block) : NULL;
    if (err == JK_OK)
        err = jk_chain_run_apply(ck, block->events, datas, block->event_count, &bc, jk_decide_import, &mode, out,
                                 why);
    free(datas);
    jk_chain_sigjobs_finish(mode.sigs);
    free(mode.memo.slot);
    if (err == JK_ERR_CHAIN_APPLY)
        err = JK_ERR_CHAIN_BLOCK_INVALID; /* an import that cannot be applied is an invalid block */
    if (err == JK_OK && mode.next != block->trace_count)
        err = jk_diag_set(why, JK_ERR_CHAIN_BLOCK_INVALID, "block %llu: %zu of %zu traces used",
                          (unsigned long long)h->number, mode.next, block->trace_count);
    if (err == JK_OK) {
        jk_hash root;
        jk_cap_hash(out->chain, &root);
        if (memcmp(root.bytes, h->state_root.bytes, JK_HASH_SIZE) != 0)
            err = jk_diag_set(why, JK_ERR_CHAIN_BLOCK_INVALID, "block %llu: apply gives another state root",
                              (unsigned long long)h->number);
    }
    if (err == JK_OK) {
        out->ran = block->dispatch.ran;
        out->queued = queued;
        out->queued_count = queued_count;
        queued = NULL;
        queued_count = 0;
    }
    jk_chain_pooled_free(queued, queued_count);
    if (err != JK_OK)
        jk_chain_applied_clear(out);
    return err;
}

static void jk_checked_clear(jk_chain_kernel *ck)
{
    jk_cap_release(ck->checked_from);
    jk_cap_release(ck->checked_chain);
    jk_chain_pooled_free(ck->checked_emits, ck->checked_emit_count);
    jk_chain_pooled_free(ck->checked_queued, ck->checked_queued_count);
    ck->checked_from = ck->checked_chain = jk_cap_null();
    ck->checked_emits = NULL;
    ck->checked_emit_count = 0;
    ck->checked_ran = false;
    ck->checked_queued = NULL;
    ck->checked_queued_count = 0;
    ck->has_checked = false;
}

void jk_chain_checked_free(jk_chain_kernel *ck)
{
    jk_checked_clear(ck);
}

jk_err jk_chain_check_block(jk_chain_kernel *ck, const jk_chain_block *block, const jk_hash *parent,
                            uint64_t number, jk_diag *why)
{
    jk_applied applied;
    jk_err err = jk_import_run(ck, block, parent, number, &applied, why);
    if (err != JK_OK)
        return err;
    jk_checked_clear(ck);
    jk_chain_block_hash(block, &ck->checked_block);
    ck->checked_from = jk_cap_retain(ck->chain);
    ck->checked_chain = applied.chain;
    ck->checked_emits = applied.emits;
    ck->checked_emit_count = applied.emit_count;
    ck->checked_ran = applied.ran;
    ck->checked_queued = applied.queued;
    ck->checked_queued_count = applied.queued_count;
    ck->has_checked = true;
    return JK_OK;
}

jk_err jk_chain_apply_block_import(jk_chain_kernel *ck, const jk_chain_block *block,
                                   const jk_hash *parent, uint64_t number, jk_diag *why)
{
    return jk_chain_apply_block_import_ids(ck, block, NULL, parent, number, why);
}

jk_err jk_chain_apply_block_import_ids(jk_chain_kernel *ck, const jk_chain_block *block,
                                       const jk_hash *ids, const jk_hash *parent, uint64_t number,
                                       jk_diag *why)
{
    jk_applied applied = {jk_cap_null(), NULL, 0};
    jk_hash hash;
    jk_chain_block_hash(block, &hash);
    jk_err err;
    if (ck->has_checked && jk_crypto_equal32(hash.bytes, ck->checked_block.bytes) &&
        jk_cap_equal(ck->checked_from, ck->chain) && block->header.number == number &&
        !memcmp(block->header.parent.bytes, parent->bytes, JK_HASH_SIZE)) {
        /* checked on this very head: apply is a pure function of (chain,
         * block), so its result is adopted rather than computed again */
        applied = (jk_applied){ck->checked_chain, ck->checked_emits, ck->checked_emit_count, ck->checked_ran,
                               ck->checked_queued, ck->checked_queued_count};
        ck->checked_chain = jk_cap_null();
        ck->checked_emits = NULL;
        ck->checked_emit_count = 0;
        ck->checked_queued = NULL;
        ck->checked_queued_count = 0;
        err = JK_OK;
    } else {
        err = jk_import_run(ck, block, parent, number, &applied, why);
    }
    jk_chain_pooled *keep = NULL;
    size_t keep_count = 0;
    if (err == JK_OK)
        err = jk_pool_minus_block(ck, block, ids, &keep, &keep_count);
    if (err == JK_OK) {
        jk_checked_clear(ck);
        jk_chain_advance(ck, &applied, keep, keep_count);
    }
    jk_chain_applied_clear(&applied);
    return err;
}
