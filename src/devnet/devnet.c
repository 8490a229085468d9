/*
 * devnet.c — a devnet (`jark devnet`, jark/devnet.h): V validators of a chain
 * in one process, each with its own Kernel and LMDB store; gossip and blocks
 * pass in memory. Each block's proposer (validators[n mod V]) runs the cycle
 * on the block's gossip and produces the block; every other validator
 * verifies the same gossip and imports it. One progress line per block, then
 * a summary; the result says whether every validator reached the same state
 * root at every height.
 *
 * Everything is derived from the seed (and the events file), so a run is
 * reproducible: same seed, same blocks, same roots (tests/node pins the final
 * root, and checks that a run killed at any point and resumed ends where an
 * uninterrupted one does).
 */
#include "internal.h"

#include "jark/bytes.h"
#include "jark/spec.h"

#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void jk_devnet_derive_key(const char *purpose, uint64_t seed, uint32_t i, jk_keypair *out)
{
    uint8_t buf[64], s[32];
    int n = snprintf((char *)buf, sizeof buf, "jark/devnet/%s/%" PRIu64 "/%u", purpose, seed, i);
    jk_hash h;
    jk_crypto_blake2b256(buf, (size_t)n, &h);
    memcpy(s, h.bytes, 32);
    jk_crypto_ed25519_keypair_from_seed(s, out->pk, out->sk);
}

uint64_t jk_devnet_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Keep the first reason a run fails for (the tool prints it). */
__attribute__((format(printf, 2, 3)))
static void jk_say(jk_devnet_result *r, const char *fmt, ...)
{
    if (r->reason[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->reason, sizeof r->reason, fmt, ap);
    va_end(ap);
}

static double jk_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* The demo chain's programs, compiled once per process (tests and resumed
 * runs call jk_devnet_run many times): the loaded spec file is kept for the
 * process's life, and each run gets a shallow copy whose state and
 * validators it may point elsewhere. Not thread-safe; devnets run one at a
 * time. */
jk_err jk_devnet_load_demo(jk_spec_file *f, jk_diag *diag)
{
    static jk_spec_file loaded;
    static bool have;
    if (!have) {
        const char *sdk = jk_sdk_dir();
        if (!sdk)
            return jk_diag_set(diag, JK_ERR_IO, "cannot find the SDK (set JARK_SDK_DIR)");
        char spec[PATH_MAX + 64];
        snprintf(spec, sizeof spec, "%.*s/../examples/demo/devnet-spec.json", PATH_MAX, sdk);
        jk_err err = jk_spec_file_load(spec, NULL, &loaded, diag);
        if (err != JK_OK)
            return err;
        have = true;
    }
    *f = loaded;
    return JK_OK;
}

jk_err jk_devnet_demo_image_id(jk_hash *out, jk_diag *diag)
{
    jk_spec_file f;
    jk_chain_genesis g;
    jk_err err = jk_devnet_load_demo(&f, diag);
    if (err == JK_OK)
        err = jk_chain_genesis_build(&f.spec, &g, diag);
    if (err != JK_OK)
        return err;
    jk_cap_hash(jk_cap_instance_image(g.chain), out);
    jk_cap_release(g.chain);
    return JK_OK;
}

typedef struct jk_devnet {
    uint32_t v;
    jk_devnet_workload workload;
    jk_keypair validators[JK_DEVNET_MAX_VALIDATORS];
    jk_node_validator *nodes[JK_DEVNET_MAX_VALIDATORS];
    jk_chain_genesis genesis;
    jk_demo demo;
    const jk_spec_events *events;
    size_t next_event;      /* the events workload's cursor */
} jk_devnet;

/* The gossip of block `height` from the workload. */
static void jk_workload(jk_devnet *d, uint64_t height, uint32_t per_block, jk_gossip *g)
{
    g->n = 0;
    if (d->workload == JK_DEVNET_WORKLOAD_DEMO) {
        jk_devnet_demo_block(&d->demo, &d->genesis.genesis_hash, height, per_block, g);
    } else if (d->workload == JK_DEVNET_WORKLOAD_EVENTS) {
        for (; g->n < per_block && d->next_event < d->events->count; g->n++, d->next_event++) {
            const jk_spec_event *e = &d->events->events[d->next_event];
            g->events[g->n] = (jk_chain_event){e->endpoint, e->blob, e->blob_len};
            g->trace_ptrs[g->n] = e->traces;
            g->counts[g->n] = e->trace_count;
        }
    }
}

static void jk_hex8(const jk_hash *h, char out[17])
{
    for (int i = 0; i < 8; i++)
        snprintf(out + 2 * i, 3, "%02x", h->bytes[i]);
}

/* Produce block `height` on its proposer, then gossip + import on the others.
 * Returns 0, 1 when a validator disagreed, -1 when the proposer failed, 3 at
 * o->stop_after_proposer. */
static int jk_devnet_block(jk_devnet *d, const jk_devnet_options *o, uint64_t height, jk_gossip *g,
                           jk_devnet_result *r)
{
    jk_diag diag = {{0}};
    double tb = jk_ms();
    jk_workload(d, height, o->events_per_block, g);
    uint32_t proposer = (uint32_t)(height % d->v);
    jk_node_validator *p = d->nodes[proposer];
    bool admitted[JK_DEVNET_GOSSIP_MAX];
    jk_chain_block block;
    memset(&block, 0, sizeof block);
    uint8_t *bytes = NULL;
    size_t len = 0;
    jk_hash block_hash;
    jk_err e = jk_chain_setup_cycle(p->ck, &diag);
    if (e == JK_OK)
        e = jk_chain_handle_incoming_events(p->ck, g->events, g->trace_ptrs, g->counts, g->n, o->threads, admitted);
    if (e == JK_OK)
        e = jk_chain_run_cycle_process(p->ck, NULL);
    if (e == JK_OK)
        e = jk_chain_apply_block_produce(p->ck, &p->head_hash, height, 0, NULL, &block, &diag);
    jk_chain_teardown(p->ck);
    if (e == JK_OK)
        e = jk_chain_block_encode(&block, &bytes, &len);
    if (e == JK_OK) {
        jk_chain_block_hash(&block, &block_hash);
        e = jk_node_validator_commit(p, height, &block_hash, bytes, len, &diag);
    }
    if (e == JK_OK) /* final (no rounds here): its traces leave the signature cache */
        jk_chain_forget_committed_sigs(p->ck, &block);
    if (e != JK_OK) {
        jk_say(r, "block %" PRIu64 ": validator %u cannot produce: %s", height, proposer,
                diag.msg[0] ? diag.msg : jk_strerror(e));
        jk_chain_block_free(&block);
        free(bytes);
        return -1;
    }
    if (height == o->stop_after_proposer) {
        jk_chain_block_free(&block);
        free(bytes);
        return 3;
    }
    jk_hash want;
    jk_cap_hash(p->ck->chain, &want);
    int rc = 0;
    for (uint32_t i = 0; i < d->v; i++) {
        if (i == proposer)
            continue;
        jk_node_validator *n = d->nodes[i];
        /* the gossip first: each validator verifies the events itself */
        e = jk_chain_setup_cycle(n->ck, &diag);
        if (e == JK_OK)
            e = jk_chain_handle_incoming_events(n->ck, g->events, g->trace_ptrs, g->counts, g->n, o->threads,
                                                admitted);
        jk_chain_teardown(n->ck);
        if (e == JK_OK)
            e = jk_node_validator_import(n, bytes, len, height, &diag);
        jk_hash got;
        jk_cap_hash(n->ck->chain, &got);
        if (e != JK_OK || memcmp(got.bytes, want.bytes, 32) != 0) {
            rc = 1;
            jk_say(r, "block %" PRIu64 ": validator %u disagrees: %s", height, i,
                    e != JK_OK ? (diag.msg[0] ? diag.msg : jk_strerror(e)) : "another state root");
        }
    }
    r->events += block.event_count;
    r->traces += block.trace_count;
    if (!o->quiet) {
        char root_hex[17];
        jk_hex8(&want, root_hex);
        printf("block %" PRIu64 " proposer %u events %zu traces %zu root %s %.1f ms\n", height, proposer,
               block.event_count, block.trace_count, root_hex, jk_ms() - tb);
        fflush(stdout);
    }
    jk_chain_block_free(&block);
    free(bytes);
    return rc;
}

/* A validator one block behind (the run stopped between the proposer's commit
 * and its own) imports that block from a peer's store. */
static int jk_devnet_catch_up(jk_devnet *d, jk_devnet_result *r)
{
    uint64_t top = 0;
    uint32_t ahead = 0;
    for (uint32_t i = 0; i < d->v; i++)
        if (d->nodes[i]->height > top)
            top = d->nodes[i]->height, ahead = i;
    for (uint32_t i = 0; i < d->v; i++) {
        jk_node_validator *n = d->nodes[i];
        if (n->height == top)
            continue;
        jk_diag diag = {{0}};
        jk_err e = JK_ERR_INVALID_ARG;
        if (n->height + 1 == top) {
            const jk_node_validator *peer = d->nodes[ahead];
            size_t len = jk_cap_data_len(peer->last_block);
            uint8_t *bytes = malloc(len ? len : 1);
            e = !bytes ? JK_ERR_NOMEM : jk_cap_data_read(peer->last_block, 0, bytes, len);
            if (e == JK_OK)
                e = jk_node_validator_import(n, bytes, len, top, &diag);
            free(bytes);
        } else {
            snprintf(diag.msg, sizeof diag.msg, "at height %" PRIu64 ", more than one block behind %" PRIu64, n->height,
                     top);
        }
        if (e != JK_OK) {
            jk_say(r, "validator %u cannot catch up: %s", i,
                    diag.msg[0] ? diag.msg : jk_strerror(e));
            return -1;
        }
    }
    return 0;
}

/* The run's validators: the spec's own when their keys are given (all, in
 * the spec's order), else V derived from the seed in place of the spec's
 * list (the demo spec names a placeholder). spec->validators then points at
 * `keys`. Returns 0 or 2 (said why). */
static int jk_devnet_validators(jk_devnet *d, const jk_devnet_options *o, jk_chain_spec *spec,
                                uint8_t keys[JK_DEVNET_MAX_VALIDATORS][32], jk_devnet_result *r)
{
    if (o->validator_key_count == 0) {
        d->v = o->validators;
        for (uint32_t i = 0; i < d->v; i++)
            jk_devnet_derive_key("validator", o->seed, i, &d->validators[i]);
    } else {
        if (spec->validator_count > JK_DEVNET_MAX_VALIDATORS || o->validator_key_count != spec->validator_count) {
            jk_say(r,
                    "the spec names %u validators: give each one's key file, in order "
                    "(--validator-key FILE; at most %d)",
                    spec->validator_count, JK_DEVNET_MAX_VALIDATORS);
            return 2;
        }
        d->v = spec->validator_count;
        for (uint32_t i = 0; i < d->v; i++) {
            if (memcmp(o->validator_keys[i].public_key, spec->validators[i], 32) != 0) {
                jk_say(r, "validator key %u is not the spec's validators[%u]", i, i);
                return 2;
            }
            memcpy(d->validators[i].pk, o->validator_keys[i].public_key, 32);
            memcpy(d->validators[i].sk, o->validator_keys[i].secret, 64);
        }
    }
    for (uint32_t i = 0; i < d->v; i++)
        memcpy(keys[i], d->validators[i].pk, 32);
    spec->validators = (const uint8_t(*)[32])keys;
    spec->validator_count = d->v;
    return 0;
}

int jk_devnet_run(const jk_devnet_options *o, jk_devnet_result *r)
{
    memset(r, 0, sizeof *r);
    jk_devnet_workload workload = o->workload;
    if (workload == JK_DEVNET_WORKLOAD_DEFAULT)
        workload = o->events ? JK_DEVNET_WORKLOAD_EVENTS : !o->spec_path ? JK_DEVNET_WORKLOAD_DEMO
                                                                          : JK_DEVNET_WORKLOAD_NONE;
    if (o->validators < 1 || o->validators > JK_DEVNET_MAX_VALIDATORS ||
        o->events_per_block > JK_DEVNET_MAX_EVENTS_PER_BLOCK || o->threads > 16 || !o->dir ||
        (workload == JK_DEVNET_WORKLOAD_EVENTS) != (o->events != NULL)) {
        jk_say(r,
                "1..%d validators, at most %d events per block, at most 16 threads, a directory, "
                "and an events list exactly with the events workload",
                JK_DEVNET_MAX_VALIDATORS, JK_DEVNET_MAX_EVENTS_PER_BLOCK);
        return 2;
    }
    mkdir(o->dir, 0755);
    jk_devnet *d = calloc(1, sizeof *d);
    jk_gossip *g = calloc(1, sizeof *g);
    jk_spec_file own, spec;
    memset(&own, 0, sizeof own);
    int rc = 1;
    jk_diag diag = {{0}};
    jk_err e = JK_OK;
    if (!d || !g || jk_crypto_init() != JK_OK) {
        jk_say(r, "out of memory");
        goto out;
    }
    d->workload = workload;
    d->events = o->events;
    /* The spec file gives the programs and budgets; the demo workload's
     * state and the run's validators are this run's (pointers in the copy
     * only: a cached spec stays intact). */
    e = o->spec_path ? jk_spec_file_load(o->spec_path, o->build, &own, &diag) : jk_devnet_load_demo(&own, &diag);
    if (e != JK_OK) {
        jk_say(r, "%s: %s", o->spec_path ? o->spec_path : "the demo chain",
                diag.msg[0] ? diag.msg : jk_strerror(e));
        rc = 2;
        goto out;
    }
    spec = own;
    if (!o->spec_path)
        memset(&own, 0, sizeof own); /* the demo's stays cached */
    if (workload == JK_DEVNET_WORKLOAD_DEMO)
        jk_devnet_demo_init(&d->demo, o->seed, &spec.spec);
    uint8_t keys[JK_DEVNET_MAX_VALIDATORS][32];
    if ((rc = jk_devnet_validators(d, o, &spec.spec, keys, r)) != 0)
        goto out;
    rc = 1;
    e = jk_chain_genesis_build(&spec.spec, &d->genesis, &diag);
    if (e != JK_OK) {
        jk_say(r, "genesis: %s", diag.msg[0] ? diag.msg : jk_strerror(e));
        rc = 1; /* the chain said no (its genesis probe): 1, as `jark chain genesis` */
        goto out;
    }
    r->genesis = d->genesis.genesis_hash;
    if (d->events && memcmp(d->events->genesis.bytes, d->genesis.genesis_hash.bytes, JK_HASH_SIZE) != 0) {
        char want[17], got[17];
        jk_hex8(&d->genesis.genesis_hash, want);
        jk_hex8(&d->events->genesis, got);
        jk_say(r, "the events were signed for genesis %s..., this chain's is %s...", got, want);
        rc = 2;
        goto out;
    }
    for (uint32_t i = 0; e == JK_OK && i < d->v; i++) {
        char vdir[PATH_MAX];
        snprintf(vdir, sizeof vdir, "%.4000s/validator-%u", o->dir, i);
        e = jk_node_validator_open(vdir, d->validators[i].sk, &d->genesis, &d->nodes[i], &diag);
        if (e == JK_OK)
            jk_chain_set_debug(d->nodes[i]->ck, o->debug);
        if (e != JK_OK)
            jk_say(r, "validator %u: %s", i, diag.msg[0] ? diag.msg : jk_strerror(e));
    }
    if (e != JK_OK || jk_devnet_catch_up(d, r))
        goto out;

    jk_hash root;
    jk_cap_hash(d->nodes[0]->ck->chain, &root);
    char root_hex[17];
    jk_hex8(&root, root_hex);
    uint64_t start = d->nodes[0]->height;
    if (!o->quiet) {
        char genesis_hex[2 * JK_HASH_SIZE + 1]; /* whole: events are signed for it (jark event sign --genesis) */
        jk_hex_encode(d->genesis.genesis_hash.bytes, JK_HASH_SIZE, genesis_hex);
        static const char *const names[] = {"", "demo", "events", "none"};
        printf("devnet: %u validators, genesis %s, state %s at height %" PRIu64 ", workload %s, stores under %s\n",
               d->v, genesis_hex, root_hex, start, names[d->workload], o->dir);
    }
    /* The generator replays the blocks already made: it must know the nonces. */
    for (uint64_t h = 1; h <= start; h++)
        jk_workload(d, h, o->events_per_block, g);
    if (!o->quiet && d->workload == JK_DEVNET_WORKLOAD_EVENTS && d->next_event > 0)
        /* outsider5: a new file given to a resumed devnet lost events without a word */
        printf("devnet: resumed at height %" PRIu64 ": the events file's first %zu events are taken "
               "as blocks 1..%" PRIu64 "'s and skipped (docs/events-format.md)\n",
               start, d->next_event, start);
    bool agree = true;
    double t0 = jk_ms();
    uint64_t end = o->to_height ? o->to_height : start + o->blocks;
    for (uint64_t height = start + 1; height <= end; height++) {
        int b = jk_devnet_block(d, o, height, g, r);
        if (b < 0 || b == 3) {
            rc = b < 0 ? 1 : 3;
            goto out;
        }
        agree = agree && b == 0;
    }
    r->seconds = (jk_ms() - t0) / 1e3;
    r->height = end > start ? end : start;
    r->agree = agree;
    jk_cap_hash(d->nodes[0]->ck->chain, &r->root);
    rc = agree ? 0 : 1;
out:
    for (uint32_t i = 0; d && i < d->v; i++)
        jk_node_validator_close(d->nodes[i]);
    if (d)
        jk_cap_release(d->genesis.chain);
    if (d)
        jk_crypto_wipe(d->validators, sizeof d->validators);
    jk_spec_file_free(&own);
    free(d);
    free(g);
    return rc;
}
