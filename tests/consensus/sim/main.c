/*
 * main.c — the simulator's command line (`make sim`): runs seeds of
 * jk_cons_sim_run, prints one line per failing seed with the command that
 * replays it, a summary with the figures, and exits non-zero on any violation.
 *
 *   consensus-sim [--seeds N] [--first S] [--validators V[,V...]]
 *                 [--seed S] [--no-faults] [--no-byzantine] [--no-crash-all] [--no-reconnect]
 *                 [--show-round R] [--trace] [--trace-steps]
 *   consensus-sim --bench-cert   (certificate check vs raw Ed25519 verifies)
 *   consensus-sim --bench-sync   (jk_node_sync vs archiving alone, headers only)
 *   consensus-sim --bench-chain-sync [N]  (sync of N demo-chain blocks from
 *                 genesis through the chain app vs plain import, no certificates)
 */
#include "jark/consensus.h"
#include "jark/node.h"

#include "../../../src/devnet/internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* BENCH lines: checking a commit certificate of V validators (2f+1
 * precommits) next to the same number of raw Ed25519 verifies. */
static double cpu_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int bench_cert(void)
{
    static const uint32_t vs_n[] = {4, 7, 10, 31, 100};
    static jk_cons_valset vs;
    static uint8_t sk[JK_CONS_MAX_VALIDATORS][64];
    jk_hash genesis, value;
    jk_crypto_blake2b256("bench", 5, &genesis);
    jk_crypto_blake2b256("value", 5, &value);
    for (uint32_t i = 0; i < JK_CONS_MAX_VALIDATORS; i++) {
        uint8_t seed[32] = {(uint8_t)i, (uint8_t)(i >> 8), 7};
        if (jk_crypto_ed25519_keypair_from_seed(seed, vs.keys[i], sk[i]) != JK_OK)
            return 2;
    }
    for (size_t k = 0; k < sizeof vs_n / sizeof vs_n[0]; k++) {
        uint32_t n = vs_n[k], q = jk_cons_quorum(n);
        vs.count = n;
        static jk_cons_cert c;
        memset(&c, 0, sizeof c);
        c.height = 5;
        c.round = 1;
        c.value = value;
        uint8_t msgs[JK_CONS_MAX_VALIDATORS][94];
        for (uint32_t i = 0; i < q; i++) {
            jk_cons_vote v = {.type = JK_CONS_MSG_PRECOMMIT, .height = 5, .round = 1,
                              .has_value = true, .value = value, .validator = i};
            jk_cons_vote_sign(&v, &genesis, sk[i]);
            c.sigs[i].validator = i;
            memcpy(c.sigs[i].sig, v.sig, 64);
            memset(msgs[i], (int)i, sizeof msgs[i]);
        }
        c.count = q;
        uint8_t raw_sig[JK_CONS_MAX_VALIDATORS][64];
        for (uint32_t i = 0; i < q; i++)
            jk_crypto_ed25519_sign(sk[i], msgs[i], sizeof msgs[i], raw_sig[i]);
        int reps = n >= 100 ? 20 : 200;
        double t0 = now_us();
        for (int r = 0; r < reps; r++)
            if (jk_cons_cert_check(&c, &genesis, &vs, 5, &value, NULL) != JK_OK)
                return 2;
        double t1 = now_us();
        for (int r = 0; r < reps; r++)
            for (uint32_t i = 0; i < q; i++)
                if (jk_crypto_ed25519_verify(vs.keys[i], msgs[i], sizeof msgs[i], raw_sig[i]) != JK_OK)
                    return 2;
        double t2 = now_us();
        double cert = (t1 - t0) / reps, raw = (t2 - t1) / reps;
        printf("BENCH cert_check V=%u (%u precommits): %.1f us; %u raw Ed25519 verifies: %.1f us; "
               "ratio %.2f\n", n, q, cert, q, raw, cert / raw);
    }
    return 0;
}

static void print_line(void *ctx, const char *line)
{
    (void)ctx;
    printf("%s\n", line);
}

static void print_hash(const jk_hash *h)
{
    for (int i = 0; i < 8; i++)
        printf("%02x", h->bytes[i]);
}

static jk_err no_import(void *ctx, uint64_t h, const uint8_t *b, size_t len, jk_diag *diag)
{
    (void)ctx, (void)h, (void)b, (void)len, (void)diag;
    return JK_OK;
}

/* BENCH lines: syncing N header-only blocks (certificate check + archive
 * write) next to archiving the same blocks without the check. Without the
 * chain import, which a real sync adds per block; each archive write is a
 * synchronous LMDB commit. */
static int bench_sync(void)
{
    enum { N = 300 };
    static const uint32_t vs_n[] = {4, 10};
    static jk_cons_valset vs;
    static uint8_t sk[16][64];
    static uint8_t blocks[N + 1][JK_CHAIN_HEADER_SIZE];
    static jk_node_sync_item items[N];
    jk_hash genesis;
    jk_crypto_blake2b256("bench-sync", 10, &genesis);
    for (size_t k = 0; k < 2; k++) {
        uint32_t n = vs_n[k], q = jk_cons_quorum(n);
        vs.count = n;
        for (uint32_t i = 0; i < n; i++) {
            uint8_t seed[32] = {(uint8_t)i, 9};
            if (jk_crypto_ed25519_keypair_from_seed(seed, vs.keys[i], sk[i]) != JK_OK)
                return 2;
        }
        jk_hash parent = genesis;
        for (uint64_t h = 1; h <= N; h++) {
            jk_chain_header hd = {.parent = parent, .number = h,
                                  .proposer = jk_chain_proposer_index(n, h, 0)};
            jk_chain_header_encode(&hd, blocks[h]);
            jk_chain_header_hash(&hd, &parent);
            jk_node_sync_item *it = &items[h - 1];
            memset(it, 0, sizeof *it);
            it->height = h;
            it->block = blocks[h];
            it->len = JK_CHAIN_HEADER_SIZE;
            it->cert.height = h;
            it->cert.value = parent;
            for (uint32_t i = 0; i < q; i++) {
                jk_cons_vote v = {.type = JK_CONS_MSG_PRECOMMIT, .height = h,
                                  .has_value = true, .value = parent, .validator = i};
                jk_cons_vote_sign(&v, &genesis, sk[i]);
                it->cert.sigs[i].validator = i;
                memcpy(it->cert.sigs[i].sig, v.sig, 64);
            }
            it->cert.count = q;
        }
        double t[2];
        for (int mode = 0; mode < 2; mode++) {
            char dir[] = "/tmp/jark-bench-sync-XXXXXX";
            jk_node_archive *a;
            if (!mkdtemp(dir) || jk_node_archive_open(dir, &a, NULL) != JK_OK)
                return 2;
            size_t done;
            double t0 = now_us();
            if (mode == 0) {
                if (jk_node_sync(a, &vs, &genesis, items, N, no_import, NULL, &done, NULL) != JK_OK)
                    return 2;
            } else {
                for (size_t i = 0; i < N; i++)
                    if (jk_node_archive_put(a, items[i].height, &items[i].cert.value,
                                            items[i].block, items[i].len, &items[i].cert,
                                            NULL) != JK_OK)
                        return 2;
            }
            t[mode] = now_us() - t0;
            jk_node_archive_close(a);
            char path[96];
            snprintf(path, sizeof path, "%s/data.mdb", dir);
            remove(path);
            snprintf(path, sizeof path, "%s/lock.mdb", dir);
            remove(path);
            remove(dir);
        }
        printf("BENCH sync V=%u: %d blocks, %.0f blocks/s with certificates checked; %.0f "
               "blocks/s archived without; ratio %.2f\n", n, N, N / (t[0] / 1e6),
               N / (t[1] / 1e6), t[1] / t[0]);
    }
    return 0;
}

/* BENCH line: sync from genesis on the demo chain (V = 4, 8 transfers per
 * block): jk_node_chain_app_sync (each block's certificate checked, the
 * LastCommit it carries checked, jk_chain_check_block, the commit of head
 * and archive in one LMDB transaction) next to plain import of the same
 * blocks (jk_node_validator_import: the chain layer's import and the head
 * commit, no certificate, no archive). Blocks are made first by validator
 * 0, each at the round it proposes in, certified by validators 0..2. */
enum { CS_V = 4 };

static void cs_rm(const char *dir)
{
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

static int bench_chain_sync(uint64_t n)
{
    jk_spec_file spec;
    jk_diag diag = {{0}};
    if (jk_crypto_init() != JK_OK || jk_devnet_load_demo(&spec, &diag) != JK_OK) {
        fprintf(stderr, "demo chain: %s\n", diag.msg);
        return 2;
    }
    static jk_demo demo;
    jk_devnet_demo_init(&demo, 1, &spec.spec);
    static jk_keypair keys[CS_V];
    static uint8_t pks[CS_V][32];
    for (uint32_t i = 0; i < CS_V; i++) {
        jk_devnet_derive_key("validator", 1, i, &keys[i]);
        memcpy(pks[i], keys[i].pk, 32);
    }
    spec.spec.validators = (const uint8_t(*)[32])pks;
    spec.spec.validator_count = CS_V;
    jk_chain_genesis genesis;
    if (jk_chain_genesis_build(&spec.spec, &genesis, &diag) != JK_OK) {
        fprintf(stderr, "genesis: %s\n", diag.msg);
        return 2;
    }
    char root[] = "/tmp/jark-bench-chain-sync-XXXXXX", d[3][PATH_MAX];
    if (!mkdtemp(root))
        return 2;
    for (int k = 0; k < 3; k++)
        snprintf(d[k], sizeof d[k], "%s/%d", root, k);
    jk_node_sync_item *items = calloc(n, sizeof *items);
    jk_node_chain_app *prod = NULL;
    int rc = 2;
    if (!items || jk_node_chain_app_open(d[0], keys[0].sk, &genesis, &prod, &diag) != JK_OK)
        goto out;
    jk_cons_app cb;
    jk_node_chain_app_bind(prod, &cb);
    static jk_gossip g;
    size_t events = 0;
    for (uint64_t h = 1; h <= n; h++) {
        jk_devnet_demo_block(&demo, &genesis.genesis_hash, h, 8, &g);
        for (size_t e = 0; e < g.n; e++) {
            uint8_t *b;
            size_t len;
            if (jk_node_event_encode(&g.events[e], g.trace_ptrs[e], g.counts[e], &b, &len) ==
                JK_OK) {
                events += jk_node_chain_app_add_event(prod, b, len);
                free(b);
            }
        }
        uint32_t round = 0;
        while (jk_chain_proposer_index(CS_V, h, round) != 0)
            round++;
        jk_node_sync_item *it = &items[h - 1];
        uint8_t *value;
        if (cb.get_value(prod, h, round, &value, &it->len) != JK_OK)
            goto out;
        it->block = value;
        it->height = h;
        jk_hash id;
        cb.hash(prod, value, it->len, &id);
        it->cert.height = h;
        it->cert.round = round;
        it->cert.value = id;
        for (uint32_t i = 0; i < 3; i++) {
            jk_cons_vote v = {.type = JK_CONS_MSG_PRECOMMIT, .height = h, .round = round,
                              .has_value = true, .value = id, .validator = i};
            jk_cons_vote_sign(&v, &genesis.genesis_hash, keys[i].sk);
            it->cert.sigs[i].validator = i;
            memcpy(it->cert.sigs[i].sig, v.sig, 64);
        }
        it->cert.count = 3;
        if (cb.commit(prod, h, value, it->len, &it->cert) != JK_OK)
            goto out;
    }
    /* sync through the app, as validator 1 */
    jk_node_chain_app *app = NULL;
    size_t done = 0;
    double t0 = now_us(), c0 = cpu_us();
    if (jk_node_chain_app_open(d[1], keys[1].sk, &genesis, &app, &diag) != JK_OK ||
        jk_node_chain_app_sync(app, items, n, &done, &diag) != JK_OK) {
        fprintf(stderr, "sync: %s\n", diag.msg);
        jk_node_chain_app_close(app);
        goto out;
    }
    double t1 = now_us(), c1 = cpu_us();
    jk_hash r1, r2;
    jk_node_chain_app_root(app, &r1);
    jk_node_chain_app_close(app);
    /* plain import of the blocks, as validator 2 */
    jk_node_validator *v = NULL;
    double t2 = now_us(), c2 = cpu_us();
    if (jk_node_validator_open(d[2], keys[2].sk, &genesis, &v, &diag) != JK_OK)
        goto out;
    static jk_node_value val;
    for (uint64_t h = 1; h <= n; h++)
        if (jk_node_value_decode(items[h - 1].block, items[h - 1].len, &val, &diag) != JK_OK ||
            jk_node_validator_import(v, val.block, val.block_len, h, &diag) != JK_OK) {
            fprintf(stderr, "import: %s\n", diag.msg);
            jk_node_validator_close(v);
            goto out;
        }
    double t3 = now_us(), c3 = cpu_us();
    jk_cap_hash(v->ck->chain, &r2);
    jk_node_validator_close(v);
    if (memcmp(r1.bytes, r2.bytes, 32) != 0) {
        fprintf(stderr, "sync and import end at different roots\n");
        goto out;
    }
    double sync_s = (t1 - t0) / 1e6, plain_s = (t3 - t2) / 1e6;
    printf("BENCH chain_sync V=%u: %llu blocks (%zu events): %.0f blocks/s synced (2 "
           "certificates checked, check_block, head+archive in one transaction); %.0f blocks/s "
           "plain import; ratio %.2f; CPU %.0f vs %.0f us/block, ratio %.2f\n",
           CS_V, (unsigned long long)n, events, n / sync_s, n / plain_s, plain_s / sync_s,
           (c1 - c0) / (double)n, (c3 - c2) / (double)n, (c3 - c2) / (c1 - c0));
    rc = 0;
out:
    if (rc)
        fprintf(stderr, "bench-chain-sync failed: %s\n", diag.msg);
    jk_node_chain_app_close(prod);
    for (uint64_t h = 0; items && h < n; h++)
        free((void *)items[h].block);
    free(items);
    jk_cap_release(genesis.chain);
    cs_rm(root);
    return rc;
}

int main(int argc, char **argv)
{
    uint64_t seeds = 100, first = 1;
    uint32_t vals[8] = {4, 7};
    size_t nvals = 2;
    bool faults = true, trace = false, steps = false, one = false, no_byz = false, no_crash_all = false;
    bool no_reconnect = false;
    uint32_t show_round = 0; /* 0: off; else name seeds whose bounded heights reached it */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--seeds") && v) {
            seeds = strtoull(v, NULL, 10);
            i++;
        } else if (!strcmp(a, "--first") && v) {
            first = strtoull(v, NULL, 10);
            i++;
        } else if (!strcmp(a, "--seed") && v) {
            first = strtoull(v, NULL, 10);
            seeds = 1;
            one = true;
            i++;
        } else if (!strcmp(a, "--validators") && v) {
            nvals = 0;
            for (const char *p = v; *p && nvals < 8;) {
                vals[nvals++] = (uint32_t)strtoul(p, (char **)&p, 10);
                if (*p == ',')
                    p++;
                else
                    break;
            }
            i++;
        } else if (!strcmp(a, "--no-faults")) {
            faults = false;
        } else if (!strcmp(a, "--show-round") && v) {
            show_round = (uint32_t)strtoul(v, NULL, 10);
            i++;
        } else if (!strcmp(a, "--no-byzantine")) {
            no_byz = true;
        } else if (!strcmp(a, "--no-crash-all")) {
            no_crash_all = true;
        } else if (!strcmp(a, "--no-reconnect")) {
            no_reconnect = true;
        } else if (!strcmp(a, "--bench-cert")) {
            if (jk_crypto_init() != JK_OK)
                return 2;
            return bench_cert();
        } else if (!strcmp(a, "--bench-chain-sync")) {
            return bench_chain_sync(v ? strtoull(v, NULL, 10) : 100);
        } else if (!strcmp(a, "--bench-sync")) {
            if (jk_crypto_init() != JK_OK)
                return 2;
            return bench_sync();
        } else if (!strcmp(a, "--trace")) {
            trace = true;
        } else if (!strcmp(a, "--trace-steps")) {
            trace = steps = true;
        } else {
            fprintf(stderr, "usage: %s [--seeds N] [--first S] [--validators V[,V]] "
                            "[--seed S] [--no-faults] [--no-byzantine] [--no-crash-all] [--no-reconnect] [--show-round R] "
                            "[--trace] [--trace-steps]\n", argv[0]);
            return 2;
        }
    }
    if (jk_crypto_init() != JK_OK)
        return 2;
    uint64_t failed = 0;
    for (size_t vi = 0; vi < nvals; vi++) {
        uint64_t runs = 0, heights = 0, rounds = 0, msgs = 0, byz = 0, crashes = 0,
                 part = 0, drops = 0, evid = 0, all_down = 0, lost_all = 0, props = 0, prop_bytes = 0;
        uint32_t max_round = 0, max_bound = 0, bound = 0;
        uint64_t hist[8] = {0};
        jk_crypto_hasher all;
        jk_crypto_hasher_init(&all);
        for (uint64_t seed = first; seed < first + seeds; seed++) {
            jk_cons_sim_config cfg;
            jk_cons_sim_result res;
            jk_cons_sim_config_for_seed(seed, vals[vi], faults, &cfg);
            cfg.trace = trace ? print_line : NULL;
            cfg.trace_steps = steps;
            if (no_byz)
                cfg.byzantine = 0; /* the rest of the seed's faults as drawn */
            if (no_crash_all)
                cfg.crash_all = 0;
            cfg.no_reconnect = no_reconnect;
            jk_err err = jk_cons_sim_run(&cfg, &res);
            runs++;
            heights += res.heights;
            rounds += res.rounds;
            msgs += res.sent;
            props += res.proposals;
            prop_bytes += res.proposal_bytes;
            evid += res.evidence;
            byz += cfg.byzantine ? 1 : 0;
            crashes += res.crashes + res.midcrashes;
            all_down += res.crashed_all;
            lost_all += res.lost_everywhere;
            part += cfg.partition ? 1 : 0;
            drops += cfg.drop_permille ? 1 : 0;
            if (res.max_round > max_round)
                max_round = res.max_round;
            bound = cfg.liveness_rounds;
            if (res.max_bound_round > max_bound)
                max_bound = res.max_bound_round;
            for (int k = 0; k < 8; k++)
                hist[k] += res.round_hist[k];
            jk_crypto_hasher_update(&all, res.digest.bytes, 32);
            if (one || err != JK_OK || !res.ok) {
                printf("seed %" PRIu64 " V=%u: %s; byzantine %u (mask %u), crashes %u+%" PRIu64
                       ", drop %u/1000, partition %d; heights %" PRIu64 ", digest ",
                       seed, vals[vi], err != JK_OK ? jk_strerror(err)
                                       : res.ok ? "ok" : res.violation,
                       cfg.byzantine, cfg.byz_mask, cfg.crashes, res.midcrashes,
                       cfg.drop_permille, cfg.partition, res.heights);
                print_hash(&res.digest);
                printf("\n");
            }
            if (show_round && res.max_bound_round >= show_round)
                printf("seed %" PRIu64 " V=%u: a height begun after the heal decided in round %u\n", seed,
                       vals[vi], res.max_bound_round);
            if (err != JK_OK || !res.ok) {
                failed++;
                printf("  replay: %s --seed %" PRIu64 " --validators %u%s --trace\n", argv[0],
                       seed, vals[vi], faults ? "" : " --no-faults");
            }
        }
        jk_hash d;
        (void)jk_crypto_hasher_final(&all, &d);
        printf("sim V=%u: %" PRIu64 " seeds from %" PRIu64 " (%s): %" PRIu64 " with Byzantine, %"
               PRIu64 " crashes (%" PRIu64 " of every honest one at once, %" PRIu64 " losing a decided "
               "height from every honest store), %" PRIu64 " partitioned, %" PRIu64 " lossy; rounds/height %.2f "
               "(max round %u), messages/height %.1f, evidence %" PRIu64 "; digest ",
               vals[vi], runs, first, faults ? "faults" : "no faults", byz, crashes, all_down, lost_all, part, drops,
               heights ? (double)rounds / (double)heights : 0.0, max_round,
               heights ? (double)msgs / (double)heights : 0.0, evid);
        print_hash(&d);
        printf("\n");
        printf("sim V=%u: proposals/height %.2f (%.0f bytes/height)\n", vals[vi],
               heights ? (double)props / (double)heights : 0.0,
               heights ? (double)prop_bytes / (double)heights : 0.0);
        printf("sim V=%u: heights by decision round 0..6, 7+:", vals[vi]);
        for (int k = 0; k < 8; k++)
            printf(" %" PRIu64, hist[k]);
        printf("; highest round of a height begun after the heal %u (bound: %u rounds)\n", max_bound,
               bound);
    }
    printf("sim: %s\n", failed ? "VIOLATIONS" : "no violation");
    return failed ? 1 : 0;
}
