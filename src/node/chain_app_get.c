/*
 * chain_app_get.c — the chain app's setters and getters (docs/node.md):
 * what embedders and the node's RPC read, and the knobs they turn.
 */
#include "chain_app_internal.h"

#include <string.h>

void jk_node_chain_app_set_produce_hook(jk_node_chain_app *a,
                                        void (*hook)(void *ctx, uint64_t height), void *ctx)
{
    a->hook = hook;
    a->hook_ctx = ctx;
}

void jk_node_chain_app_set_height_limit(jk_node_chain_app *a, uint64_t max)
{
    a->height_limit = max;
}

void jk_node_chain_app_set_max_value(jk_node_chain_app *a, size_t bytes)
{
    a->max_value = bytes && bytes < JK_NODE_MAX_VALUE ? bytes : JK_NODE_MAX_VALUE;
}

void jk_node_chain_app_root(const jk_node_chain_app *a, jk_hash *out)
{
    jk_cap_hash(a->committed, out);
}

jk_node_validator *jk_node_chain_app_validator(jk_node_chain_app *a) { return a->v; }
jk_node_archive *jk_node_chain_app_archive(jk_node_chain_app *a) { return a->archive; }

void jk_node_chain_app_stats_get(const jk_node_chain_app *a, jk_node_chain_app_stats *out)
{
    *out = a->stats;
    out->verify_runs = a->stats.verify_runs + a->v->ck->stats.verify_runs;
}

void jk_node_chain_app_set_debug(jk_node_chain_app *a, FILE *debug)
{
    a->debug = debug;
    jk_chain_set_debug(a->v->ck, debug);
}

void jk_node_chain_app_head(const jk_node_chain_app *a, jk_cap *chain, uint64_t *height,
                            jk_hash *head_hash)
{
    /* a->committed, not the validator's Kernel: that may hold a proposal
     * not yet decided; v->height/head_hash move only on a commit. */
    *chain = a->committed;
    *height = a->v->height;
    *head_hash = a->v->head_hash;
}

size_t jk_node_chain_app_pending_count(const jk_node_chain_app *a) { return a->npending; }

const uint8_t *jk_node_chain_app_pending(const jk_node_chain_app *a, size_t i, size_t *len)
{
    if (i >= a->npending) {
        *len = 0;
        return NULL;
    }
    *len = a->pending[i].len;
    return a->pending[i].bytes;
}
/* ---------------------------------------------------------------------------
 * Full nodes (the fnode block)
 * ------------------------------------------------------------------------- */

bool jk_node_chain_app_is_validator(const jk_node_chain_app *a, uint32_t *index)
{
    if (index)
        *index = a->v->index;
    return a->v->index != UINT32_MAX;
}

void jk_node_chain_app_set_verify_threads(jk_node_chain_app *a, unsigned threads)
{
    a->verify_threads = threads;
}

void jk_node_chain_app_set_sync_commit(jk_node_chain_app *a, bool sync)
{
    (void)jk_node_archive_durable(a->archive, NULL); /* whatever was queued, done first */
    a->sync_commit = sync;
}

jk_err jk_node_chain_app_durable(jk_node_chain_app *a, jk_diag *diag)
{
    return jk_node_archive_durable(a->archive, diag);
}

void jk_node_chain_app_set_max_block_events(jk_node_chain_app *a, size_t events)
{
    a->max_block_events = events;
}

void jk_node_chain_app_set_propose_cost(jk_node_chain_app *a, uint32_t us_per_event)
{
    a->propose_us_per_event = us_per_event;
}
