/*
 * sim_app.c — the simulator's mock application and a node's life cycle.
 *
 * A mock value is 81 bytes: height u64 ‖ proposer u32 ‖ round u32 ‖ parent
 * state root (32) ‖ tag u8 ‖ new state root (32), where the new root is
 * BLAKE2b-256 of the first 49 bytes. valid(v) at height h on a node: the
 * length, the height, the parent equal to the node's committed root, the tag
 * not JK_SIM_BAD_TAG and the new root recomputed — a small stand-in for the
 * chain layer's import (parent, proposer, traces, state root). Committing v
 * moves the node's root to v's new root, so the roots form a chain and equal
 * heights must have equal roots.
 */
#include "sim_internal.h"

#include "jark/bytes.h"
#include "jark/chain.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* xoshiro256** (Blackman, Vigna), seeded through splitmix64. */
uint64_t jk_cons_sim_rand(jk_sim_rng *r)
{
    uint64_t *s = r->s;
    uint64_t x = s[1] * 5;
    uint64_t result = ((x << 7) | (x >> 57)) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = (s[3] << 45) | (s[3] >> 19);
    return result;
}

uint64_t jk_cons_sim_below(jk_sim_rng *r, uint64_t n)
{
    return n ? jk_cons_sim_rand(r) % n : 0; /* the bias is irrelevant here */
}

bool jk_cons_sim_chance(jk_sim_rng *r, uint32_t permille)
{
    return jk_cons_sim_below(r, 1000) < permille;
}

static void jk_mock_root(const uint8_t *v, jk_hash *out)
{
    jk_crypto_blake2b256(v, 49, out);
}

static void jk_mock_value(const jk_sim_node *node, uint64_t h, uint32_t r, uint8_t tag,
                          uint8_t v[JK_SIM_VALUE_SIZE])
{
    jk_hash root;
    jk_put_u64le(v, h);
    jk_put_u32le(v + 8, node->index);
    jk_put_u32le(v + 12, r);
    memcpy(v + 16, node->root.bytes, 32);
    v[48] = tag;
    jk_mock_root(v, &root);
    memcpy(v + 49, root.bytes, 32);
}

bool jk_cons_sim_mock_valid(const jk_sim_node *node, uint64_t height, const uint8_t *v, size_t len)
{
    jk_hash root;
    if (len != JK_SIM_VALUE_SIZE || jk_get_u64le(v) != height ||
        height != node->ndecided + 1 || memcmp(v + 16, node->root.bytes, 32) != 0 ||
        v[48] == JK_SIM_BAD_TAG)
        return false;
    jk_mock_root(v, &root);
    return memcmp(v + 49, root.bytes, 32) == 0;
}

/* The chain layer's proposer rule, the one produce and import check. */
static uint32_t jk_app_proposer(void *ctx, uint64_t height, uint32_t round)
{
    const jk_sim_node *node = ctx;
    return jk_chain_proposer_index(node->sim->vs.count, height, round);
}

static jk_err jk_app_get_value(void *ctx, uint64_t height, uint32_t round, uint8_t **value,
                               size_t *len)
{
    jk_sim_node *node = ctx;
    uint8_t *v = malloc(JK_SIM_VALUE_SIZE);
    if (!v)
        return JK_ERR_NOMEM;
    bool bad = node->byzantine && (node->sim->cfg->byz_mask & JK_CONS_BYZ_BAD_VALUE);
    jk_mock_value(node, height, round, bad && node->bad_values % 2 == 0 ? JK_SIM_BAD_TAG : 1, v);
    if (bad && node->bad_values % 2 == 1)
        v[49] ^= 1; /* a wrong state root */
    if (bad)
        node->bad_values++;
    *value = v;
    *len = JK_SIM_VALUE_SIZE;
    return JK_OK;
}

static bool jk_app_valid(void *ctx, uint64_t height, const uint8_t *v, size_t len)
{
    return jk_cons_sim_mock_valid(ctx, height, v, len);
}

static void jk_app_hash(void *ctx, const uint8_t *v, size_t len, jk_hash *out)
{
    (void)ctx;
    jk_crypto_blake2b256(v, len, out);
}

/* The checks at a commit: a valid certificate, a valid value, and for an
 * honest node the same value and root as every other honest node. */
static jk_err jk_app_commit(void *ctx, uint64_t height, const uint8_t *v, size_t len,
                            const jk_cons_cert *cert)
{
    jk_sim_node *node = ctx;
    jk_sim *s = node->sim;
    jk_hash id;
    jk_diag diag = {{0}};
    jk_crypto_blake2b256(v, len, &id);
    if (jk_cons_cert_check(cert, &s->genesis, &s->vs, height, &id, &diag) != JK_OK)
        jk_cons_sim_violation(s, true, "validator %u committed height %llu without a valid "
                         "certificate: %s", node->index, (unsigned long long)height, diag.msg);
    if (!jk_cons_sim_mock_valid(node, height, v, len))
        jk_cons_sim_violation(s, true, "validator %u committed an invalid value at height %llu",
                         node->index, (unsigned long long)height);
    if (node->ndecided == node->capdecided) {
        size_t cap = node->capdecided ? 2 * node->capdecided : 16;
        jk_sim_decided *d = realloc(node->decided, cap * sizeof *d);
        if (!d)
            return JK_ERR_NOMEM;
        node->decided = d;
        node->capdecided = cap;
    }
    jk_sim_decided *d = &node->decided[node->ndecided];
    d->value = malloc(len);
    d->cert = malloc(sizeof *d->cert);
    if (!d->value || !d->cert) {
        free(d->value);
        free(d->cert);
        return JK_ERR_NOMEM;
    }
    memcpy(d->value, v, len);
    d->len = len;
    *d->cert = *cert;
    node->ndecided++;
    if (len == JK_SIM_VALUE_SIZE)
        memcpy(node->root.bytes, v + 49, 32);

    jk_crypto_hasher_update(&s->digest, "commit", 6);
    uint8_t who[4];
    jk_put_u32le(who, node->index);
    jk_crypto_hasher_update(&s->digest, who, 4);
    jk_crypto_hasher_update(&s->digest, id.bytes, 32);
    if (s->cfg->trace) {
        char line[160];
        snprintf(line, sizeof line, "t=%llu validator %u commits height %llu round %u "
                 "(%u precommits)", (unsigned long long)s->now, node->index,
                 (unsigned long long)height, cert->round, cert->count);
        s->cfg->trace(s->cfg->trace_ctx, line);
    }
    if (node->byzantine)
        return JK_OK;
    if (height > s->ndec) { /* the first honest decision of this height */
        if (height != s->ndec + 1) { /* only after an earlier violation */
            jk_cons_sim_violation(s, true, "validator %u decided height %llu before any honest "
                             "validator decided %zu", node->index,
                             (unsigned long long)height, s->ndec + 1);
            return JK_OK;
        }
        if (s->ndec == s->capdec) {
            size_t cap = s->capdec ? 2 * s->capdec : 32;
            jk_hash *a = realloc(s->dec_value, cap * sizeof *a);
            if (a)
                s->dec_value = a;
            jk_hash *b = realloc(s->dec_root, cap * sizeof *b);
            if (b)
                s->dec_root = b;
            uint32_t *c = realloc(s->dec_round, cap * sizeof *c);
            if (c)
                s->dec_round = c;
            if (!a || !b || !c)
                return JK_ERR_NOMEM;
            s->capdec = cap;
        }
        s->dec_value[s->ndec] = id;
        s->dec_root[s->ndec] = node->root;
        s->dec_round[s->ndec] = cert->round;
        s->ndec++;
        if (s->healed && height >= s->heal_height + 2 &&
            cert->round + 1 > s->cfg->liveness_rounds)
            jk_cons_sim_violation(s, false, "liveness: height %llu took %u rounds after the heal "
                             "(bound %u)", (unsigned long long)height, cert->round + 1,
                             s->cfg->liveness_rounds);
    } else if (memcmp(s->dec_value[height - 1].bytes, id.bytes, 32) != 0) {
        jk_cons_sim_violation(s, true, "agreement: validators decided different values at height "
                         "%llu (validator %u)", (unsigned long long)height, node->index);
    } else if (memcmp(s->dec_root[height - 1].bytes, node->root.bytes, 32) != 0) {
        jk_cons_sim_violation(s, true, "state roots differ at height %llu (validator %u)",
                         (unsigned long long)height, node->index);
    }
    return JK_OK;
}

static bool jk_app_get_decision(void *ctx, uint64_t height, const uint8_t **v, size_t *len,
                                const jk_cons_cert **cert)
{
    const jk_sim_node *node = ctx;
    if (height == 0 || height > node->ndecided)
        return false;
    const jk_sim_decided *d = &node->decided[height - 1];
    *v = d->value;
    *len = d->len;
    *cert = d->cert;
    return true;
}

static bool jk_app_add_event(void *ctx, const uint8_t *ev, size_t len)
{
    jk_sim_node *node = ctx;
    jk_hash id;
    jk_crypto_blake2b256(ev, len, &id);
    for (size_t i = 0; i < node->npool; i++)
        if (memcmp(node->pool[i].bytes, id.bytes, 32) == 0)
            return false;
    if (node->npool == node->cappool) {
        size_t cap = node->cappool ? 2 * node->cappool : 8;
        jk_hash *p = realloc(node->pool, cap * sizeof *p);
        if (!p)
            return false;
        node->pool = p;
        node->cappool = cap;
    }
    node->pool[node->npool++] = id;
    node->fresh++;
    return true;
}

/* The mock's pool, as a block would take it: idle when no event came since
 * the last height began (the block of that height took what had come). */
static bool jk_app_idle(void *ctx, uint64_t height)
{
    jk_sim_node *node = ctx;
    (void)height;
    bool idle = node->fresh == 0;
    node->fresh = 0;
    return idle;
}

/* Start (or restart) a node's machine from its durable store: the first
 * undecided height and the signed-vote record. The pool starts empty. */
jk_err jk_cons_sim_node_restart(jk_sim_node *node)
{
    jk_sim *s = node->sim;
    jk_err err = JK_OK;
    jk_cons_record *recs = calloc(node->nrecords + 1, sizeof *recs);
    if (!recs)
        return JK_ERR_NOMEM;
    for (size_t i = 0; i < node->nrecords && err == JK_OK; i++)
        err = jk_cons_record_decode(node->records[i], JK_CONS_RECORD_SIZE, &recs[i], NULL);
    if (err != JK_OK) {
        free(recs);
        return err;
    }
    if (node->nrecords && recs[node->nrecords - 1].height > node->ndecided + 1)
        s->res->restarts_below++;
    jk_cons_config cfg = {0};
    cfg.genesis = s->genesis;
    cfg.valset = &s->vs;
    cfg.self = node->index;
    memcpy(cfg.secret_key, node->sk, sizeof cfg.secret_key);
    cfg.timeouts = s->cfg->timeouts;
    cfg.app.ctx = node;
    cfg.app.proposer = jk_app_proposer;
    cfg.app.get_value = jk_app_get_value;
    cfg.app.valid = jk_app_valid;
    cfg.app.hash = jk_app_hash;
    cfg.app.commit = jk_app_commit;
    cfg.app.get_decision = jk_app_get_decision;
    cfg.app.add_event = jk_app_add_event;
    cfg.app.idle = jk_app_idle;
    node->incarnation++;
    node->npool = 0;
    node->fresh = 0;
    err = jk_cons_machine_new(&cfg, node->ndecided + 1, recs, node->nrecords, node->pol,
                              node->pol_len, &node->m);
    free(recs);
    jk_crypto_wipe(cfg.secret_key, sizeof cfg.secret_key);
    if (err != JK_OK)
        return err;
    jk_cons_sim_trace(s, "v%u restarts at height %zu (%zu records, %zu bytes of proofs)", node->index,
                      node->ndecided + 1, node->nrecords, node->pol_len);
    err = jk_cons_start(node->m);
    if (err != JK_OK)
        return err;
    err = jk_cons_sim_drain(node);
    /* its peers' transports see a new connection (as a node's PEER_UP), and
     * so does it, after its own restart re-send (rule 13) */
    for (uint32_t j = 0; j < s->vs.count && !s->cfg->no_reconnect && err == JK_OK; j++)
        if (j != node->index && s->nodes[j].m && node->m)
            err = jk_cons_sim_peer_up(s, j, node->index);
    for (uint32_t j = 0; j < s->vs.count && !s->cfg->no_reconnect && err == JK_OK; j++)
        if (j != node->index && s->nodes[j].m && node->m)
            err = jk_cons_sim_peer_up(s, node->index, j);
    return err;
}

/* A crash. Every other one, from a node's first (deterministic: no draw
 * from the seed's stream), also loses the store's last decided height, as a node's crash
 * does when that height's write was still on its writer thread while it
 * signed at the next (docs/node.md "The proposal before the write"): the
 * records survive, the block does not, and the restart begins below them. */
void jk_cons_sim_node_crash(jk_sim_node *node, bool lose)
{
    jk_cons_machine_free(node->m);
    node->m = NULL;
    node->incarnation++; /* its pending timers die with it */
    /* Only a height above what a restart read back can be in flight: the
     * commit of h + 1 waited for the write of h, and what survived a crash
     * is on disk (a second crash before the next decision loses nothing). */
    bool first = node->ndecided > node->durable;
    if ((node->crashes++ % 2 == 1 && !lose) || !first) {
        node->durable = node->ndecided;
        return;
    }
    jk_sim_decided *d = &node->decided[--node->ndecided];
    free(d->value);
    free(d->cert);
    d->value = NULL;
    d->cert = NULL;
    memset(node->root.bytes, 0, 32); /* the root after ndecided heights */
    if (node->ndecided)
        memcpy(node->root.bytes, node->decided[node->ndecided - 1].value + 49, 32);
    node->durable = node->ndecided;
    node->sim->res->lost_heights++;
}

void jk_cons_sim_node_free(jk_sim_node *node)
{
    jk_cons_machine_free(node->m);
    for (size_t i = 0; i < node->ndecided; i++) {
        free(node->decided[i].value);
        free(node->decided[i].cert);
    }
    free(node->decided);
    free(node->pool);
    jk_cons_sim_signed_free(&node->sigs);
    free(node->pol);
    free(node->records);
    jk_crypto_wipe(node->sk, sizeof node->sk);
}
