/*
 * cmd_devnet.c — `jark devnet`: V validators of the demo chain
 * (examples/demo, docs/demo-chain.md) in one process, each with its own
 * Kernel and LMDB store; gossip and blocks pass in memory. A workload
 * generator signs transfers (every account at most once per block, with its
 * next nonce) and, every fifth block, price reports from the registered
 * reporters. Each block's proposer (validators[n mod V]) runs the cycle and
 * produces the block; every other validator verifies the same gossip and
 * imports it. One progress line per block, then a summary; the exit status
 * says whether every validator reached the same state root at every height.
 *
 * Everything is derived from --seed, so a run is reproducible: same seed,
 * same blocks, same roots (tests/node pins the final root, and checks that a
 * run killed at any point and resumed ends where an uninterrupted one does).
 */
#include "chain_spec.h"
#include "commands.h"
#include "devnet.h"
#include "sdk_exec.h"

#include "jark/bytes.h"
#include "jark/node.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define JK_DEVNET_ACCOUNTS 64
#define JK_DEVNET_REPORTERS 5
#define JK_DEVNET_MAX_VALIDATORS 16
#define JK_DEVNET_BALANCE 1000000u

typedef struct jk_keypair {
    uint8_t pk[32], sk[64];
} jk_keypair;

/* A key pair derived from (purpose, seed, i). */
static void jk_derive_key(const char *purpose, uint64_t seed, uint32_t i, jk_keypair *out)
{
    uint8_t buf[64], s[32];
    int n = snprintf((char *)buf, sizeof buf, "jark/devnet/%s/%" PRIu64 "/%u", purpose, seed, i);
    jk_hash h;
    jk_crypto_blake2b256(buf, (size_t)n, &h);
    memcpy(s, h.bytes, 32);
    jk_crypto_ed25519_keypair_from_seed(s, out->pk, out->sk);
}

static int jk_key_cmp(const void *a, const void *b) { return memcmp(a, b, 32); }

static uint64_t jk_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
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
static int jk_load_demo(jk_spec_file *f, char *err, size_t err_len)
{
    static jk_spec_file loaded;
    static bool have;
    if (!have) {
        const char *sdk = jk_sdk_dir();
        if (!sdk)
            return snprintf(err, err_len, "cannot find the SDK (set JARK_SDK_DIR)"), -1;
        char dir[PATH_MAX], spec[PATH_MAX + 64];
        snprintf(dir, sizeof dir, "%s/../examples/demo", sdk);
        snprintf(spec, sizeof spec, "%s/devnet-spec.json", dir);
        if (jk_spec_file_load(spec, &loaded, err, err_len))
            return -1;
        have = true;
    }
    *f = loaded;
    return 0;
}

typedef struct jk_devnet {
    uint32_t v;
    jk_keypair validators[JK_DEVNET_MAX_VALIDATORS], accounts[JK_DEVNET_ACCOUNTS], reporters[JK_DEVNET_REPORTERS];
    uint64_t nonces[JK_DEVNET_ACCOUNTS];
    jk_node_validator *nodes[JK_DEVNET_MAX_VALIDATORS];
    jk_chain_genesis genesis;
    uint64_t rng;
} jk_devnet;

/* Genesis state: every account funded, the reporters registered (both sorted). */
static void jk_genesis_state(jk_devnet *d, uint8_t *ledger, uint8_t *reporters)
{
    uint8_t keys[JK_DEVNET_ACCOUNTS][32];
    for (int i = 0; i < JK_DEVNET_ACCOUNTS; i++)
        memcpy(keys[i], d->accounts[i].pk, 32);
    qsort(keys, JK_DEVNET_ACCOUNTS, 32, jk_key_cmp);
    for (int i = 0; i < JK_DEVNET_ACCOUNTS; i++) {
        memcpy(ledger + 48 * i, keys[i], 32);
        jk_put_u64le(ledger + 48 * i + 32, JK_DEVNET_BALANCE);
        jk_put_u64le(ledger + 48 * i + 40, 0);
    }
    uint8_t rkeys[JK_DEVNET_REPORTERS][32];
    for (int i = 0; i < JK_DEVNET_REPORTERS; i++)
        memcpy(rkeys[i], d->reporters[i].pk, 32);
    qsort(rkeys, JK_DEVNET_REPORTERS, 32, jk_key_cmp);
    memcpy(reporters, rkeys, sizeof rkeys);
}

typedef struct jk_gossip {
    jk_chain_event events[JK_DEVNET_ACCOUNTS + JK_DEVNET_REPORTERS];
    uint8_t blobs[JK_DEVNET_ACCOUNTS + JK_DEVNET_REPORTERS][96];
    jk_chain_trace traces[JK_DEVNET_ACCOUNTS + JK_DEVNET_REPORTERS];
    const jk_chain_trace *trace_ptrs[JK_DEVNET_ACCOUNTS + JK_DEVNET_REPORTERS];
    size_t counts[JK_DEVNET_ACCOUNTS + JK_DEVNET_REPORTERS];
    size_t n;
} jk_gossip;

/* The workload of block `height`: transfers from distinct accounts, and on
 * every fifth block a round of reports. */
static void jk_workload(jk_devnet *d, uint64_t height, uint32_t transfers, jk_gossip *g)
{
    g->n = 0;
    uint32_t first = (uint32_t)(jk_next(&d->rng) % JK_DEVNET_ACCOUNTS);
    for (uint32_t t = 0; t < transfers && t < JK_DEVNET_ACCOUNTS; t++) {
        uint32_t from = (first + t) % JK_DEVNET_ACCOUNTS;
        uint32_t to = (from + 1 + (uint32_t)(jk_next(&d->rng) % (JK_DEVNET_ACCOUNTS - 1))) % JK_DEVNET_ACCOUNTS;
        uint8_t *b = g->blobs[g->n];
        b[0] = 'T';
        memcpy(b + 1, d->accounts[from].pk, 32);
        memcpy(b + 33, d->accounts[to].pk, 32);
        jk_put_u64le(b + 65, 1 + jk_next(&d->rng) % 100);
        jk_put_u64le(b + 73, d->nonces[from]++);
        g->events[g->n] = (jk_chain_event){JK_CHAIN_ENDPOINT_TRANSACT, b, 81};
        jk_chain_trace_sign(d->accounts[from].sk, &d->genesis.genesis_hash, b, 81, &g->traces[g->n]);
        g->n++;
    }
    if (height % 5 == 0) {
        for (int r = 0; r < JK_DEVNET_REPORTERS; r++) {
            uint8_t *b = g->blobs[g->n];
            b[0] = 'R';
            memcpy(b + 1, d->reporters[r].pk, 32);
            jk_put_u64le(b + 33, height / 5);
            jk_put_u64le(b + 41, 1000 + jk_next(&d->rng) % 50);
            g->events[g->n] = (jk_chain_event){jk_chain_endpoint_dispatch(0), b, 49};
            jk_chain_trace_sign(d->reporters[r].sk, &d->genesis.genesis_hash, b, 49, &g->traces[g->n]);
            g->n++;
        }
    }
    for (size_t i = 0; i < g->n; i++) {
        g->trace_ptrs[i] = &g->traces[i];
        g->counts[i] = 1;
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
    bool admitted[JK_DEVNET_ACCOUNTS + JK_DEVNET_REPORTERS];
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
    if (e != JK_OK) {
        fprintf(stderr, "jark devnet: block %" PRIu64 ": validator %u cannot produce: %s\n", height, proposer,
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
            fprintf(stderr, "jark devnet: block %" PRIu64 ": validator %u disagrees: %s\n", height, i,
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
static int jk_devnet_catch_up(jk_devnet *d)
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
            fprintf(stderr, "jark devnet: validator %u cannot catch up: %s\n", i,
                    diag.msg[0] ? diag.msg : jk_strerror(e));
            return -1;
        }
    }
    return 0;
}

int jk_devnet_run(const jk_devnet_options *o, jk_devnet_result *r)
{
    memset(r, 0, sizeof *r);
    if (o->validators < 1 || o->validators > JK_DEVNET_MAX_VALIDATORS || o->events_per_block > JK_DEVNET_ACCOUNTS ||
        o->threads > 16 || !o->dir) {
        fprintf(stderr, "jark devnet: 1..%d validators, at most %d events per block, at most 16 threads, a directory\n",
                JK_DEVNET_MAX_VALIDATORS, JK_DEVNET_ACCOUNTS);
        return 2;
    }
    mkdir(o->dir, 0755);
    jk_devnet *d = calloc(1, sizeof *d);
    jk_gossip *g = calloc(1, sizeof *g);
    jk_spec_file spec;
    char err[256];
    int rc = 1;
    if (!d || !g || jk_crypto_init() != JK_OK) {
        fprintf(stderr, "jark devnet: out of memory\n");
        goto out;
    }
    d->v = o->validators;
    d->rng = o->seed;
    for (uint32_t i = 0; i < d->v; i++)
        jk_derive_key("validator", o->seed, i, &d->validators[i]);
    for (uint32_t i = 0; i < JK_DEVNET_ACCOUNTS; i++)
        jk_derive_key("account", o->seed, i, &d->accounts[i]);
    for (uint32_t i = 0; i < JK_DEVNET_REPORTERS; i++)
        jk_derive_key("reporter", o->seed, i, &d->reporters[i]);
    if (jk_load_demo(&spec, err, sizeof err)) {
        fprintf(stderr, "jark devnet: the demo chain: %s\n", err);
        goto out;
    }
    static uint8_t ledger[JK_DEVNET_ACCOUNTS * 48], reporters[JK_DEVNET_REPORTERS * 32];
    jk_genesis_state(d, ledger, reporters);
    uint32_t slots[2] = {20, 21};
    const uint8_t *data[2] = {ledger, reporters};
    size_t lens[2] = {sizeof ledger, sizeof reporters};
    uint8_t keys[JK_DEVNET_MAX_VALIDATORS][32];
    for (uint32_t i = 0; i < d->v; i++)
        memcpy(keys[i], d->validators[i].pk, 32);
    /* The spec file gives the programs and budgets; state and validators are
     * this run's (the copy's pointers only; the loaded file stays intact). */
    spec.spec.state_slots = slots;
    spec.spec.state_data = data;
    spec.spec.state_len = lens;
    spec.spec.state_count = 2;
    spec.spec.validators = (const uint8_t(*)[32])keys;
    spec.spec.validator_count = d->v;
    jk_diag diag = {{0}};
    jk_err e = jk_chain_genesis_build(&spec.spec, &d->genesis, &diag);
    if (e != JK_OK)
        fprintf(stderr, "jark devnet: genesis: %s\n", diag.msg[0] ? diag.msg : jk_strerror(e));
    for (uint32_t i = 0; e == JK_OK && i < d->v; i++) {
        char vdir[PATH_MAX];
        snprintf(vdir, sizeof vdir, "%.4000s/validator-%u", o->dir, i);
        e = jk_node_validator_open(vdir, d->validators[i].sk, &d->genesis, &d->nodes[i], &diag);
        if (e != JK_OK)
            fprintf(stderr, "jark devnet: validator %u: %s\n", i, diag.msg[0] ? diag.msg : jk_strerror(e));
    }
    if (e != JK_OK || jk_devnet_catch_up(d))
        goto out;

    jk_hash root;
    jk_cap_hash(d->nodes[0]->ck->chain, &root);
    char root_hex[17];
    jk_hex8(&root, root_hex);
    uint64_t start = d->nodes[0]->height;
    if (!o->quiet)
        printf("devnet: %u validators, state %s at height %" PRIu64 ", stores under %s\n", d->v, root_hex, start,
               o->dir);
    /* The generator replays the blocks already made: it must know the nonces. */
    for (uint64_t h = 1; h <= start; h++)
        jk_workload(d, h, o->events_per_block, g);
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
    free(d);
    free(g);
    return rc;
}

int jk_tool_devnet(int argc, char **argv)
{
    uint64_t v = 4, blocks = 100, per_block = 32, seed = 1, threads = 2;
    const char *dir = NULL;
    for (int i = 0; i < argc; i++) {
        uint64_t *target = !strcmp(argv[i], "--validators") ? &v : !strcmp(argv[i], "--blocks") ? &blocks
                           : !strcmp(argv[i], "--events-per-block") ? &per_block : !strcmp(argv[i], "--seed") ? &seed
                           : !strcmp(argv[i], "--threads") ? &threads : NULL;
        if (target && i + 1 < argc && !jk_tool_parse_number(argv[i + 1], false, target)) {
            i++;
        } else if (!strcmp(argv[i], "--dir") && i + 1 < argc) {
            dir = argv[++i];
        } else {
            fprintf(stderr, "usage: jark devnet [--validators V] [--blocks N] [--events-per-block E] [--seed S] "
                            "[--dir DIR] [--threads T]\n");
            return 2;
        }
    }
    char tmp[] = "/tmp/jark-devnet-XXXXXX";
    if (!dir && !(dir = mkdtemp(tmp))) {
        fprintf(stderr, "jark devnet: cannot make a directory: %s\n", strerror(errno));
        return 1;
    }
    if (v > UINT32_MAX || per_block > UINT32_MAX || threads > UINT32_MAX)
        v = 0; /* refused by jk_devnet_run */
    jk_devnet_options o = {(uint32_t)v, blocks, (uint32_t)per_block, seed, (unsigned)threads, dir, false, 0, 0};
    jk_devnet_result r;
    int rc = jk_devnet_run(&o, &r);
    if (rc == 2 || (rc != 0 && r.height == 0))
        return rc;
    printf("devnet: height %" PRIu64 ": %" PRIu64 " blocks, %" PRIu64 " events, %" PRIu64 " traces in %.2f s "
           "(%.0f events/s), state root ",
           r.height, blocks, r.events, r.traces, r.seconds, r.seconds > 0 ? (double)r.events / r.seconds : 0.0);
    for (int i = 0; i < 32; i++)
        printf("%02x", r.root.bytes[i]);
    printf("\ndevnet: every validator reached the same state root at every height: %s\n", r.agree ? "yes" : "NO");
    printf("devnet: `jark chain show --store %s` shows the state; `jark devnet --dir %s` goes on\n", dir, dir);
    return rc;
}
