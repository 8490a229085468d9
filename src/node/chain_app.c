/*
 * chain_app.c — the chain-backed consensus application (jark/node.h,
 * docs/consensus.md "The chain application"): the jk_cons_app callbacks of a
 * validator over its chain Kernel, its store and its block archive.
 *
 * Produce advances the Kernel (jk_chain_apply_block_produce moves the chain
 * and takes the block's events out of the pool), but a proposal is only a
 * proposal: its round may fail and another block be decided. So the app
 * remembers the block it produced ("tentative") and, when anything but that
 * block is checked or committed, rewinds: it rebuilds the Kernel on the
 * committed chain and re-admits the events it still holds (every admitted
 * event is kept here, encoded, until a committed block carries it).
 *
 * The consensus value is block ‖ the parent's commit certificate (value.c):
 * valid(v) checks that carried certificate (the LastCommit) as well as the
 * block, and commit archives it as the parent's canonical certificate.
 *
 * Commit writes the head (chain state, block) and the archive (block,
 * certificate, the parent's carried certificate) in ONE transaction of the
 * validator's store (jk_node_archive_commit): a crash leaves both or
 * neither, so a restarted validator resumes exactly at its last commit.
 */
#include "jark/node.h"

#include "jark/bytes.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "chain_app_internal.h"


/* ---------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------- */

__attribute__((format(printf, 2, 3)))
static void jk_app_note(jk_node_chain_app *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->stats.last_error, sizeof a->stats.last_error, fmt, ap);
    va_end(ap);
}

/* The decoded block memo (chain_app_internal.h): one at a time. */
static void jk_app_memo_clear(jk_node_chain_app *a)
{
    if (a->has_memo)
        jk_chain_block_free(&a->memo_block);
    a->has_memo = false;
}

/* Keep *block (moved: the caller's struct is left empty) as the decoded
 * block of value id. */
static void jk_app_memo_keep(jk_node_chain_app *a, const jk_hash *id, jk_chain_block *block)
{
    jk_app_memo_clear(a);
    a->memo_block = *block;
    a->memo_id = *id;
    a->has_memo = true;
    memset(block, 0, sizeof *block);
}

/* Keep p's verdict when the Kernel's pool took it just now (the pool's
 * last entry): the chain state it was verified on and the traces it used,
 * after the encoding in p->bytes (one allocation: whoever drops p frees
 * it). Without memory for them p only loses its verdict. */
void jk_node_app_keep_verdict(jk_node_chain_app *a, jk_app_pending *p)
{
    const jk_chain_kernel *ck = a->v->ck;
    const jk_chain_pooled *last = ck->pool_count ? &ck->pool[ck->pool_count - 1] : NULL;
    p->verified = false;
    if (p->dispatch || !last || memcmp(last->hash.bytes, p->id.bytes, JK_HASH_SIZE) != 0)
        return;
    size_t need = p->len + last->trace_count * sizeof *last->traces;
    uint8_t *b = need <= p->room ? p->bytes : realloc(p->bytes, need);
    if (!b)
        return;
    p->bytes = b;
    p->room = need > p->room ? need : p->room;
    if (last->trace_count)
        memcpy(b + p->len, last->traces, last->trace_count * sizeof *last->traces);
    p->nused = last->trace_count;
    p->root = ck->stamped_root;
    p->verified = true;
}

/* Verify the pending events into the pool again: handle_incoming_event on
 * each, in the cycle left open by the last admission (a cycle per admission
 * once made n admissions cost n²/2 verifies; the cycle closes when the
 * Kernel moves or get_value opens its own). A transact whose verdict was
 * made on this very chain state is admitted through it without a verify
 * run (jk_chain_pool_admit_verified): what a rewind re-admits was nearly
 * all verified on the committed head it rebuilds on, and verifying it all
 * again was ~40 % of a testnet node's verify runs (docs/node.md "Admission
 * cost (session 7)"). A malformed event is skipped. */
static jk_err jk_app_readmit(jk_node_chain_app *a, jk_diag *diag)
{
    jk_chain_kernel *ck = a->v->ck;
    jk_err err = ck->cycle_open ? JK_OK : jk_chain_setup_cycle(ck, diag);
    for (size_t i = 0; i < a->npending && err == JK_OK; i++) {
        jk_app_pending *p = &a->pending[i];
        jk_chain_event ev;
        jk_chain_trace *traces;
        size_t count;
        bool admitted = false;
        err = jk_node_event_decode(p->bytes, p->len, &ev, &traces, &count, NULL);
        if (err == JK_ERR_NODE_EVENT) {
            err = JK_OK;
            continue;
        }
        if (err == JK_OK && p->verified &&
            memcmp(p->root.bytes, ck->stamped_root.bytes, JK_HASH_SIZE) == 0) {
            err = jk_chain_pool_admit_verified(ck, &ev, &p->id, (const jk_chain_trace *)(p->bytes + p->len),
                                               p->nused, &admitted, NULL);
        } else if (err == JK_OK) {
            err = jk_chain_handle_incoming_event_id(ck, &ev, &p->id, traces, count, &admitted, NULL);
            if (err == JK_OK && admitted)
                jk_node_app_keep_verdict(a, p);
        }
        free(traces);
    }
    if (err != JK_OK)
        jk_chain_teardown(ck);
    return err;
}

/* Rebuild the Kernel on the committed chain and re-admit the pending events:
 * what a proposal that was not decided left behind is gone. */
static jk_err jk_app_rewind(jk_node_chain_app *a, jk_diag *diag)
{
    if (!a->tentative)
        return JK_OK;
    jk_chain_kernel *ck = NULL;
    jk_err err = jk_chain_kernel_new(&a->genesis, a->committed, &ck, diag);
    if (err != JK_OK)
        return err;
    jk_chain_set_own_key(ck, a->secret_key);
    jk_chain_set_debug(ck, a->debug);
    /* the committed head's queue: what its block's process queued for the
     * next cycle (every validator holds it; docs/node.md) */
    if (jk_chain_set_queue(ck, a->queue, a->nqueue) != JK_OK) {
        jk_chain_kernel_free(ck);
        return JK_ERR_NOMEM;
    }
    /* The signature checks that succeeded hold on any head of this genesis
     * (sigcache.c: a hit is "these very bytes verified"): keep them, or the
     * re-admission below and the next import verify every pooled trace's
     * Ed25519 signature again. */
    ck->sig_cache = a->v->ck->sig_cache;
    a->v->ck->sig_cache = NULL;
    a->stats.verify_runs += a->v->ck->stats.verify_runs; /* the app's count goes on */
    jk_chain_kernel_free(a->v->ck);
    a->v->ck = ck;
    a->tentative = false;
    a->stats.rewinds++;
    if (a->npending == 0)
        return JK_OK;
    return jk_app_readmit(a, diag);
}

/* Commit the head and archive the block in one transaction (see the file
 * comment); the Kernel is already at the block's state. prev_cert: the
 * parent's certificate the block carried (NULL for block 1). */
static jk_err jk_app_store(jk_node_chain_app *a, uint64_t height, const jk_hash *id,
                           const uint8_t *block, size_t len, const jk_cons_cert *cert,
                           const jk_cons_cert *prev_cert, jk_diag *diag)
{
    /* async (the default): the head moves now and the transaction with its
     * sync runs on the store's writer thread while the next height is
     * produced or checked; no vote of the next height leaves before it is
     * durable (docs/node.md "Commit on a writer thread") */
    jk_err err = a->sync_commit ? jk_node_archive_commit(a->archive, a->v, height, id, block, len,
                                                         cert, prev_cert, diag)
                                : jk_node_archive_commit_async(a->archive, a->v, height, id, block,
                                                               len, cert, prev_cert, diag);
    if (err == JK_OK) {
        jk_node_app_seen_forget_refused(a); /* judged on the old head */
        jk_node_app_cert_committed(a, cert, height);
        a->head_cert = *cert;
        jk_cons_cert_hash(cert, &a->last_commit);
        /* the old head is mostly the new one; what the block replaced dies
         * here (thousands of objects a full block): freed by the next
         * allocations on this thread rather than now, between the decision
         * and the next height (docs/cap.md "Release later") */
        jk_cap_release_later(a->committed);
        a->committed = jk_cap_retain(a->v->ck->chain);
    }
    return err;
}

/* The block event cap (jk_node_chain_app_set_max_block_events) as produce's
 * event-byte bound: the bytes the pool's first max_block_events transacts
 * take in a body (0: no cap needed, the pool holds fewer). Produce takes a
 * prefix of the pool within that bound, so at most that many transacts
 * (fewer when one of them is refused on the new state and dropped). */
static size_t jk_app_events_cap(const jk_node_chain_app *a)
{
    const jk_chain_kernel *ck = a->v->ck;
    if (!a->max_block_events || ck->pool_count <= a->max_block_events)
        return 0;
    size_t bytes = 0;
    uint8_t tmp[9];
    for (size_t i = 0; i < a->max_block_events; i++)
        bytes += jk_pvm_encode_natural(JK_CHAIN_ENDPOINT_TRANSACT, tmp) +
                 jk_pvm_encode_natural(ck->pool[i].blob_len, tmp) + ck->pool[i].blob_len;
    return bytes ? bytes : 1;
}

/* ---------------------------------------------------------------------------
 * The callbacks
 * ------------------------------------------------------------------------- */

static uint32_t jk_app_proposer(void *ctx, uint64_t height, uint32_t round)
{
    const jk_node_chain_app *a = ctx;
    return jk_chain_proposer_index(a->genesis.validator_count, height, round);
}

static jk_err jk_app_get_value(void *ctx, uint64_t height, uint32_t round, uint8_t **value,
                               size_t *len)
{
    jk_node_chain_app *a = ctx;
    jk_diag diag = {{0}};
    *value = NULL;
    *len = 0;
    if (height != a->v->height + 1) {
        jk_app_note(a, "get_value at height %llu, the head is %llu", (unsigned long long)height,
                    (unsigned long long)a->v->height);
        return JK_ERR_NODE_HEIGHT;
    }
    if (a->height_limit && height > a->height_limit)
        return JK_ERR_NODE_HEIGHT; /* the embedder wants no more blocks */
    /* A value must fit one consensus frame (a->max_value): when the produced
     * block is too long, produce again from the head with half the event
     * bytes, until it fits (an empty body always does). Otherwise a pool of
     * large events would make every proposer's value undeliverable and
     * stall the chain. */
    size_t event_bytes = 0; /* 0: the chain's own bound */
    size_t cap_bytes = 0; /* the block event cap, as bytes (after the hook) */
    /* and when an empty body is still too long, the dispatch part is: feed
     * fewer pending dispatch events, then none, then skip process (the
     * block then consumes nothing and the queue waits) */
    size_t feed = SIZE_MAX; /* all (the hook below may add some) */
    bool skip_process = false;
    bool hooked = false;
    jk_err err;
again:
    err = jk_app_rewind(a, &diag);
    if (err == JK_OK && a->hook && !hooked)
        a->hook(a->hook_ctx, height);
    if (!hooked)
        cap_bytes = jk_app_events_cap(a); /* the hook may have fed the pool */
    hooked = true;
    jk_chain_set_produce_event_bytes(a->v->ck, event_bytes && (!cap_bytes || event_bytes < cap_bytes)
                                                   ? event_bytes
                                                   : cap_bytes);
    jk_chain_block block;
    memset(&block, 0, sizeof block);
    if (err == JK_OK)
        err = jk_chain_setup_cycle(a->v->ck, &diag);
    if (err == JK_OK && !skip_process)
        err = jk_node_app_feed_dispatch(a, feed);
    if (err == JK_OK && !skip_process)
        err = jk_chain_run_cycle_process(a->v->ck, NULL);
    if (err == JK_OK) {
        /* produce moves the Kernel past the head: tentative from here on,
         * also on failure (it may have dropped the selection) */
        a->tentative = true;
        memset(a->tentative_id.bytes, 0, JK_HASH_SIZE);
        uint64_t dropped = a->v->ck->stats.pool_dropped;
        err = jk_chain_apply_block_produce(a->v->ck, &a->v->head_hash, height, round,
                                           &a->last_commit, &block, &diag);
        if (err == JK_OK && a->v->ck->stats.pool_dropped != dropped)
            jk_node_app_drop_refused(a, &block);
    }
    jk_chain_teardown(a->v->ck);
    uint8_t *bytes = NULL;
    size_t blen = 0;
    if (err == JK_OK)
        err = jk_chain_block_encode(&block, &bytes, &blen);
    /* the value carries the parent's certificate: the LastCommit the header
     * names (none for block 1) */
    if (err == JK_OK)
        err = jk_node_value_encode(bytes, blen, height > 1 ? &a->head_cert : NULL, value, len);
    free(bytes);
    jk_chain_set_produce_event_bytes(a->v->ck, 0);
    if (err == JK_OK && *len > a->max_value && event_bytes != 1) {
        a->stats.produce_retries++;
        event_bytes = (event_bytes ? event_bytes : *len) / 2;
        if (event_bytes == 0)
            event_bytes = 1; /* no event fits: an empty body */
        free(*value);
        *value = NULL;
        *len = 0;
        jk_chain_block_free(&block);
        goto again;
    }
    if (err == JK_OK && *len > a->max_value && !skip_process) {
        a->stats.produce_retries++;
        if (feed > 0)
            feed = (feed < a->npending_dispatch ? feed : a->npending_dispatch) / 2;
        else
            skip_process = true;
        event_bytes = 0;
        free(*value);
        *value = NULL;
        *len = 0;
        jk_chain_block_free(&block);
        goto again;
    }
    if (err == JK_OK && *len > a->max_value) {
        free(*value);
        *value = NULL;
        *len = 0;
        err = jk_diag_set(&diag, JK_ERR_CONS_VALUE, "an empty block's value is %zu bytes, over %zu",
                          blen, a->max_value);
    }
    if (err == JK_OK) {
        jk_chain_block_hash(&block, &a->tentative_id);
        a->stats.produced++;
        jk_app_memo_keep(a, &a->tentative_id, &block); /* what its commit takes */
    } else {
        jk_app_note(a, "produce of height %llu round %u: %s", (unsigned long long)height, round,
                    diag.msg[0] ? diag.msg : jk_strerror(err));
    }
    jk_chain_block_free(&block);
    return err;
}

/* The carried certificate's hash is the header's last_commit (zero and no
 * certificate in block 1)? Then the header hash names the whole value. */
static jk_err jk_app_value_header(const uint8_t *value, size_t len, jk_node_value *val,
                                  jk_chain_header *h, jk_diag *diag)
{
    jk_err err = jk_node_value_decode(value, len, val, diag);
    if (err == JK_OK)
        err = jk_chain_header_decode(val->block, JK_CHAIN_HEADER_SIZE, h, diag);
    if (err != JK_OK)
        return err;
    jk_hash want;
    memset(want.bytes, 0, JK_HASH_SIZE);
    if (val->has_cert)
        jk_cons_cert_hash(&val->cert, &want);
    if (memcmp(want.bytes, h->last_commit.bytes, JK_HASH_SIZE) != 0)
        return jk_diag_set(diag, JK_ERR_NODE_LAST_COMMIT,
                           "the carried certificate is not the one the header's last_commit "
                           "names");
    return JK_OK;
}

static void jk_app_hash(void *ctx, const uint8_t *value, size_t len, jk_hash *out)
{
    (void)ctx;
    jk_node_value *val = malloc(sizeof *val);
    jk_chain_header h;
    /* A value whose carried certificate is not the header's LastCommit gets
     * another id than the well-formed value with the same header: the
     * certificate is bound to the id through the header, as the body is
     * (by its hash in the header). */
    if (val && jk_app_value_header(value, len, val, &h, NULL) == JK_OK)
        jk_chain_header_hash(&h, out);
    else
        jk_crypto_blake2b256(value, len, out);
    free(val);
}

static bool jk_app_valid(void *ctx, uint64_t height, const uint8_t *value, size_t len)
{
    jk_node_chain_app *a = ctx;
    jk_diag diag = {{0}};
    if (height != a->v->height + 1)
        return false;
    jk_node_value *val = malloc(sizeof *val);
    if (!val)
        return false;
    jk_chain_header h;
    jk_hash id;
    jk_err err = jk_app_value_header(value, len, val, &h, &diag);
    if (err == JK_OK) {
        jk_chain_header_hash(&h, &id);
        /* the block we produced on this head: valid by construction */
        if (a->tentative && memcmp(id.bytes, a->tentative_id.bytes, JK_HASH_SIZE) == 0) {
            free(val);
            return true;
        }
        err = jk_node_app_check_last_commit(a, height, val, &diag);
    }
    jk_chain_block block;
    if (err == JK_OK)
        err = jk_chain_block_decode(val->block, val->block_len, &block, &diag);
    free(val);
    if (err == JK_OK) {
        err = jk_app_rewind(a, &diag);
        if (err == JK_OK)
            err = jk_chain_check_block(a->v->ck, &block, &a->v->head_hash, height, &diag);
        if (err == JK_OK)
            jk_app_memo_keep(a, &id, &block); /* its commit takes it, decoded */
        else
            jk_chain_block_free(&block);
        a->stats.checked++;
    }
    if (err != JK_OK) {
        a->stats.invalid++;
        jk_app_note(a, "height %llu: invalid block: %s", (unsigned long long)height,
                    diag.msg[0] ? diag.msg : jk_strerror(err));
    }
    return err == JK_OK;
}

static jk_err jk_app_commit(void *ctx, uint64_t height, const uint8_t *value, size_t len,
                            const jk_cons_cert *cert)
{
    jk_node_chain_app *a = ctx;
    jk_diag diag = {{0}};
    if (height != a->v->height + 1) {
        jk_app_note(a, "commit of height %llu on head %llu", (unsigned long long)height,
                    (unsigned long long)a->v->height);
        return JK_ERR_NODE_HEIGHT;
    }
    /* valid(v) ran before every decision (Algorithm 1 line 50, the sync
     * paths): the carried LastCommit's signatures were checked there; here
     * the value is taken apart again and the header must still name it. */
    jk_node_value *val = malloc(sizeof *val);
    if (!val)
        return JK_ERR_NOMEM;
    jk_chain_header hd;
    jk_chain_block block;
    jk_hash id;
    memset(&block, 0, sizeof block);
    jk_err err = jk_app_value_header(value, len, val, &hd, &diag);
    if (err == JK_OK) {
        /* the id is the header's hash (jk_chain_block_hash), which names
         * the body too: the block valid() checked or get_value produced
         * under this id is this block, decoded already (session 9) */
        jk_chain_header_hash(&hd, &id);
        if (a->has_memo && memcmp(id.bytes, a->memo_id.bytes, JK_HASH_SIZE) == 0) {
            block = a->memo_block;
            a->has_memo = false; /* moved here */
        } else {
            err = jk_chain_block_decode(val->block, val->block_len, &block, &diag);
            a->stats.commit_decodes++;
        }
    }
    jk_app_memo_clear(a); /* another height's from here on */
    if (err != JK_OK) {
        jk_app_note(a, "commit of height %llu: %s", (unsigned long long)height, diag.msg);
        free(val);
        return err;
    }
    /* The block's event ids, hashed once for the chain's pool and the
     * pending list (each hashed them: two BLAKE2b an event at every node
     * but the proposer). Without memory each hashes them itself. */
    jk_hash *ids = malloc((block.event_count ? block.event_count : 1) * sizeof *ids);
    /* and their seen-set hashes, once for the pending drop and the seen
     * set's update (each hashed them: session 16); a block event this node
     * holds pending takes its entry's id and hash, found by content in the
     * pending list's order (session 16: BLAKE2b of each block event's id,
     * ~640 instructions, at every node) */
    uint64_t *seen_h = malloc((block.event_count ? block.event_count : 1) * sizeof *seen_h);
    if (ids && seen_h) {
        a->stats.commit_ids_hashed += jk_node_app_block_ids(a, &block, ids, seen_h);
    } else if (ids) {
        jk_chain_event_hashes(block.events, block.event_count, ids); /* four lanes at once */
    }
    bool ours = a->tentative && memcmp(id.bytes, a->tentative_id.bytes, JK_HASH_SIZE) == 0;
    if (!ours) {
        err = jk_app_rewind(a, &diag);
        /* adopts what jk_chain_check_block kept for this block: no second apply */
        if (err == JK_OK)
            err = jk_chain_apply_block_import_ids(a->v->ck, &block, ids, &a->v->head_hash, height,
                                                  &diag);
    }
    if (err == JK_OK)
        err = jk_app_store(a, height, &id, val->block, val->block_len, cert,
                           val->has_cert ? &val->cert : NULL, &diag);
    free(val);
    if (err == JK_OK) {
        a->tentative = false;
        jk_node_app_drop_pending(a, &block, ids, seen_h);
        jk_chain_forget_committed_sigs(a->v->ck, &block); /* the cache keeps what is pending */
        /* Seen from now on, also the events this node first met in the
         * block: their traces just left the cache, and a late gossip copy
         * would otherwise run verify again only to be refused (session 13:
         * "already committed", nothing run). Out of memory: that copy is
         * verified and refused, as before. */
        for (size_t i = 0; ids && i < block.event_count; i++)
            (void)(seen_h ? jk_node_app_seen_add_h(a, &ids[i], seen_h[i])
                          : jk_node_app_seen_add(a, &ids[i], NULL));
        jk_node_app_keep_queue(a);
        a->stats.last_events = block.event_count;
        a->stats.last_round = block.header.round;
        a->stats.last_proposer = block.header.proposer;
    } else {
        jk_app_note(a, "commit of height %llu: %s", (unsigned long long)height,
                    diag.msg[0] ? diag.msg : jk_strerror(err));
    }
    free(ids);
    free(seen_h);
    jk_chain_block_free(&block);
    return err;
}

static bool jk_app_get_decision(void *ctx, uint64_t height, const uint8_t **value, size_t *len,
                                const jk_cons_cert **cert)
{
    jk_node_chain_app *a = ctx;
    free(a->dec_value);
    a->dec_value = NULL;
    a->dec_len = 0;
    if (height == 0 || height > jk_node_archive_top(a->archive))
        return false;
    /* the value as it was decided: block h with the certificate of h-1 it
     * carried (archived as h-1's since h was committed) */
    uint8_t *block = NULL;
    size_t blen = 0;
    jk_cons_cert *prev = height > 1 ? malloc(sizeof *prev) : NULL;
    bool ok = (height == 1 || prev) &&
              jk_node_archive_get(a->archive, height, NULL, &block, &blen, &a->dec_cert, NULL) ==
                  JK_OK &&
              (height == 1 ||
               jk_node_archive_get(a->archive, height - 1, NULL, NULL, NULL, prev, NULL) == JK_OK) &&
              jk_node_value_encode(block, blen, prev, &a->dec_value, &a->dec_len) == JK_OK;
    free(block);
    free(prev);
    if (!ok)
        return false;
    *value = a->dec_value;
    *len = a->dec_len;
    *cert = &a->dec_cert;
    return true;
}

/* The callback: the verdict is kept for jk_node_chain_app_verdict, whose
 * caller (the RPC's submit) handed this very event to the machine. */
static bool jk_app_add_event(void *ctx, const uint8_t *bytes, size_t len)
{
    jk_node_chain_app *a = ctx;
    bool admitted = jk_node_app_submit(a, bytes, len, &a->last);
    a->has_last = true;
    if (!admitted) /* a copy: nearly every echo comes here */
        jk_node_app_text_copy(a->stats.last_error, sizeof a->stats.last_error, a->last.reason);
    return admitted;
}

/* ---------------------------------------------------------------------------
 * Life cycle
 * ------------------------------------------------------------------------- */

/* The empty-blocks wait's question (jk_cons_app.idle), asked right after a
 * commit: no admitted event waits for a block (transacts, dispatch events)
 * and the head's queue is empty (else the next block must consume it). A
 * produce hook feeds the pool from elsewhere when asked, so with one the
 * app cannot know: never idle. */
static bool jk_app_idle(void *ctx, uint64_t height)
{
    const jk_node_chain_app *a = ctx;
    (void)height;
    return !a->hook && a->npending == 0 && a->nqueue == 0;
}

/* The propose timeout's extra time (jk_cons_app.propose_extra_ms): the
 * proposal will carry about the transacts this node holds (gossip makes
 * pools alike), at most the block cap, and each costs the proposer's
 * produce, the bytes on the wire and this node's check. */
static uint32_t jk_app_propose_extra_ms(void *ctx, uint64_t height, uint32_t round)
{
    const jk_node_chain_app *a = ctx;
    (void)height;
    (void)round;
    uint64_t events = a->npending - a->npending_dispatch;
    if (a->max_block_events && events > a->max_block_events)
        events = a->max_block_events;
    uint64_t ms = events * a->propose_us_per_event / 1000u;
    return ms > 600000u ? 600000u : (uint32_t)ms;
}

void jk_node_chain_app_bind(jk_node_chain_app *a, jk_cons_app *out)
{
    memset(out, 0, sizeof *out);
    out->ctx = a;
    out->proposer = jk_app_proposer;
    out->get_value = jk_app_get_value;
    out->valid = jk_app_valid;
    out->hash = jk_app_hash;
    out->commit = jk_app_commit;
    out->get_decision = jk_app_get_decision;
    out->add_event = jk_app_add_event;
    out->idle = jk_app_idle;
    out->propose_extra_ms = jk_app_propose_extra_ms;
}

void jk_node_chain_app_valset(const jk_node_chain_app *a, jk_cons_valset *out)
{
    memset(out, 0, sizeof *out);
    out->count = a->genesis.validator_count;
    for (uint32_t i = 0; i < out->count && i < JK_CONS_MAX_VALIDATORS; i++)
        memcpy(out->keys[i], a->genesis.validators[i], JK_ED25519_PUBLIC_SIZE);
}

/* A store written before one-transaction commits (the archive in
 * DIR/archive, its own LMDB environment) is refused before anything is
 * opened or written: see docs/consensus.md "Stores of the old layout". */
static jk_err jk_app_check_layout(const char *dir, jk_diag *diag)
{
    char old[PATH_MAX];
    struct stat st;
    if (snprintf(old, sizeof old, "%s/archive/data.mdb", dir) < (int)sizeof old &&
        stat(old, &st) == 0)
        return jk_diag_set(diag, JK_ERR_NODE_OLD_LAYOUT,
                           "%s holds a store of the old layout (the block archive in "
                           "%s/archive, committed apart from the head); this jark commits both "
                           "in one transaction of the store: move %s away and start the "
                           "validator on an empty directory, to sync from its peers",
                           dir, dir, dir);
    return JK_OK;
}

/* Resume: the head and the archive's top were committed together, so they
 * are one height; the head's certificate is what the next proposal carries. */
static jk_err jk_app_recover(jk_node_chain_app *a, jk_diag *diag)
{
    uint64_t top = jk_node_archive_top(a->archive);
    if (top != a->v->height)
        return jk_diag_set(diag, JK_ERR_NODE_CONFLICT,
                           "the head (height %llu) and the archive (top %llu) disagree: a store "
                           "not written by the chain app",
                           (unsigned long long)a->v->height, (unsigned long long)top);
    if (top == 0)
        return JK_OK;
    uint8_t *bytes = NULL;
    size_t len = 0;
    jk_err err = jk_node_archive_get(a->archive, top, NULL, &bytes, &len, &a->head_cert, diag);
    if (err == JK_OK)
        jk_cons_cert_hash(&a->head_cert, &a->last_commit);
    if (err == JK_OK)
        err = jk_node_app_restore_queue(a, bytes, len, diag);
    free(bytes);
    return err;
}

jk_err jk_node_chain_app_open(const char *dir, const uint8_t secret_key[JK_ED25519_SECRET_SIZE],
                              const jk_chain_genesis *genesis, jk_node_chain_app **out,
                              jk_diag *diag)
{
    *out = NULL;
    jk_node_chain_app *a = calloc(1, sizeof *a);
    if (!a)
        return JK_ERR_NOMEM;
    a->max_value = JK_NODE_MAX_VALUE;
    a->max_block_events = JK_NODE_MAX_BLOCK_EVENTS;
    a->propose_us_per_event = JK_NODE_PROPOSE_US_PER_EVENT;
    a->genesis = *genesis;
    a->genesis.chain = jk_cap_retain(genesis->chain);
    a->committed = jk_cap_null();
    /* A full node may have no key (all zeros here: its Kernel never gets
     * one, and it never produces, so nothing signs with it). */
    if (secret_key)
        memcpy(a->secret_key, secret_key, JK_ED25519_SECRET_SIZE);
    jk_err err = jk_app_check_layout(dir, diag);
    /* the validator store is dir itself (what `jark chain show --store`
     * reads); the archive is tables of that store */
    if (err == JK_OK)
        err = jk_node_validator_open(dir, secret_key, genesis, &a->v, diag);
    /* A key outside the genesis validator set (or none) opens a full node:
     * valid, commit and get_decision work; get_value refuses (the chain
     * layer's produce needs a validator's own key). */
    if (err == JK_OK)
        err = jk_node_archive_attach(a->v->store.store, &a->archive, diag);
    if (err == JK_OK) {
        a->committed = jk_cap_retain(a->v->ck->chain);
        err = jk_app_recover(a, diag);
    }
    if (err != JK_OK) {
        jk_node_chain_app_close(a);
        return err;
    }
    *out = a;
    return JK_OK;
}

void jk_node_chain_app_close(jk_node_chain_app *a)
{
    if (!a)
        return;
    jk_node_validator_close(a->v);
    jk_node_archive_close(a->archive);
    jk_cap_release(a->committed);
    jk_cap_release(a->genesis.chain);
    for (size_t i = 0; i < a->npending; i++)
        free(a->pending[i].bytes);
    free(a->pending);
    jk_chain_pooled_list_free(a->queue, a->nqueue);
    jk_node_app_seen_clear(a);
    free(a->seen);
    free(a->seen_why);
    free(a->refused);
    free(a->dec_value);
    jk_node_app_prep_free(a);
    jk_app_memo_clear(a);
    jk_crypto_wipe(a->secret_key, sizeof a->secret_key);
    free(a);
    jk_cap_release_later_drain(); /* what this thread's commits left */
}

jk_err jk_node_chain_app_machine(jk_node_chain_app *a, const jk_cons_timeouts *timeouts,
                                 const jk_cons_valset *vs, jk_cons_machine **out, jk_diag *diag)
{
    *out = NULL;
    jk_cons_record *recs = NULL;
    size_t nrecs = 0;
    uint8_t *pol = NULL;
    size_t pol_len = 0;
    jk_err err = jk_node_archive_records(a->archive, &recs, &nrecs, diag);
    if (err == JK_OK)
        err = jk_node_archive_pol(a->archive, &pol, &pol_len, diag);
    if (err == JK_OK) {
        jk_cons_config cfg;
        memset(&cfg, 0, sizeof cfg);
        cfg.genesis = a->genesis.genesis_hash;
        cfg.valset = vs;
        cfg.self = a->v->index;
        memcpy(cfg.secret_key, a->secret_key, sizeof cfg.secret_key);
        cfg.timeouts = *timeouts;
        jk_node_chain_app_bind(a, &cfg.app);
        err = jk_cons_machine_new(&cfg, a->v->height + 1, recs, nrecs, pol, pol_len, out);
        jk_crypto_wipe(cfg.secret_key, sizeof cfg.secret_key);
    }
    free(recs);
    free(pol);
    return err;
}

jk_err jk_node_chain_app_persist(jk_node_chain_app *a, const jk_cons_out *out, jk_diag *diag)
{
    switch (out->kind) {
    case JK_CONS_OUT_PERSIST:
        return jk_node_archive_put_record(a->archive, &out->record, diag);
    case JK_CONS_OUT_PERSIST_POL:
        return jk_node_archive_put_pol(a->archive, out->bytes, out->len, diag);
    case JK_CONS_OUT_EVIDENCE:
        a->stats.evidence++;
        return jk_node_archive_put_evidence(a->archive, out->bytes, out->len, NULL, diag);
    default:
        return JK_OK;
    }
}


bool jk_node_chain_app_add_event(jk_node_chain_app *a, const uint8_t *event, size_t len)
{
    return jk_app_add_event(a, event, len);
}

bool jk_node_chain_app_submit(jk_node_chain_app *a, const uint8_t *event, size_t len,
                              jk_node_event_verdict *out)
{
    bool admitted = jk_app_add_event(a, event, len);
    *out = a->last;
    return admitted;
}
