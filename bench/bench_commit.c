/*
 * bench_commit.c — BENCH commit (docs/bench.md "The critical path, session
 * 6", "Store writer, session 8"): what a validator's commit of one height
 * costs, for callgrind.
 *
 * Validator 0's chain app on the demo chain (4 validators) with the
 * testnet's workload state (`jark testnet --accounts 4096`: 4,096 funded
 * accounts) in a fresh directory decides N heights alone, each carrying E
 * signed transfers from E distinct accounts (gossiped to it first):
 * get_value at the round it proposes, then commit with a certificate of
 * validators 0..2. The commit runs on the calling thread
 * (jk_node_chain_app_set_sync_commit), so that
 *
 *   valgrind --tool=callgrind --toggle-collect=jk_cap_store_commit_now \
 *       build/bench/bench_commit 8 512
 *
 * counts the store's part of a commit alone (hashing, encoding the new
 * objects, LMDB lookups and puts, the archive rows; the fdatasync is a
 * system call, outside the count); BENCH commit prints its CPU per height
 * (thread CPU around commit) and, per height, what the store did: objects
 * and bytes put, has() questions and their answers, objects hashed, the
 * bytes LMDB wrote.
 *
 *   bench_commit [N [E [import]]]      (E ≤ 4,096)
 *
 * With "import" validator 1's chain app beside it is gossiped the same
 * events, checks each value (valid) and commits it as an importer does:
 * under --toggle-collect=jk_app_commit the count is then both commits', the
 * importer's being that less the run without "import" (session 16).
 */
#define _GNU_SOURCE
#include "jark/devnet.h"
#include "jark/node.h"
#include "../src/devnet/internal.h"
#include "../src/node/chain_app_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BC_V 4
#define BC_ACCOUNTS 4096u

static double bc_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Bytes this process handed to write(2) and its kin so far (/proc/self/io
 * "wchar"): in the bench, the pages LMDB writes at commit. 0 when unknown. */
static uint64_t bc_wchar(void)
{
    FILE *f = fopen("/proc/self/io", "r");
    char line[128];
    unsigned long long v = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "wchar: %llu", &v) == 1)
            break;
    if (f)
        fclose(f);
    return v;
}

static uint64_t bc_sum(const uint64_t *v)
{
    uint64_t s = 0;
    for (int i = 0; i < JK_CAP_STORE_TAGS; i++)
        s += v[i];
    return s;
}

int main(int argc, char **argv)
{
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 8;
    uint32_t e = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 512;
    bool import = argc > 3 && strcmp(argv[3], "import") == 0;
    if (n == 0 || e == 0 || e > BC_ACCOUNTS) {
        fprintf(stderr, "usage: bench_commit [N [E]]  (N ≥ 1, 1 ≤ E ≤ %u)\n", BC_ACCOUNTS);
        return 2;
    }
    jk_spec_file spec;
    jk_diag diag = {{0}};
    jk_devnet_demo *demo = NULL;
    if (jk_crypto_init() != JK_OK || jk_devnet_load_demo(&spec, &diag) != JK_OK ||
        jk_devnet_demo_new_accounts(1, BC_ACCOUNTS, &demo) != JK_OK) {
        fprintf(stderr, "bench_commit: demo chain: %s\n", diag.msg);
        return 1;
    }
    jk_devnet_demo_state(demo, &spec.spec);
    static jk_keypair keys[BC_V];
    static uint8_t pks[BC_V][32];
    for (uint32_t i = 0; i < BC_V; i++) {
        jk_devnet_derive_key("validator", 1, i, &keys[i]);
        memcpy(pks[i], keys[i].pk, 32);
    }
    spec.spec.validators = (const uint8_t(*)[32])pks;
    spec.spec.validator_count = BC_V;
    jk_chain_genesis g;
    if (jk_chain_genesis_build(&spec.spec, &g, &diag) != JK_OK) {
        fprintf(stderr, "bench_commit: genesis: %s\n", diag.msg);
        return 1;
    }
    char dir[] = "/tmp/bench-commit-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    jk_node_chain_app *a, *b = NULL;
    char dir_b[sizeof dir + 8];
    snprintf(dir_b, sizeof dir_b, "%s/imp", dir);
    if (jk_node_chain_app_open(dir, keys[0].sk, &g, &a, &diag) != JK_OK ||
        (import && jk_node_chain_app_open(dir_b, keys[1].sk, &g, &b, &diag) != JK_OK)) {
        fprintf(stderr, "bench_commit: %s\n", diag.msg);
        return 1;
    }
    jk_node_chain_app_set_sync_commit(a, true);
    jk_node_chain_app_set_max_block_events(a, 0);
    if (b)
        jk_node_chain_app_set_sync_commit(b, true);
    jk_cons_app cb;
    jk_node_chain_app_bind(a, &cb);
    jk_cap_store *store = a->v->store.store;
    jk_cap_store_stats s0, s1;
    jk_cap_stats h0, h1;
    jk_cap_store_stats_get(store, &s0);
    double commit_cpu = 0;
    uint64_t events = 0, hashed = 0, wbytes = 0;
    int rc = 0;
    for (uint64_t h = 1; h <= n && rc == 0; h++) {
        for (uint32_t i = 0; i < e; i++) {
            uint8_t blob[JK_DEVNET_TRANSFER_LEN], *bytes;
            jk_chain_trace trace;
            size_t len;
            jk_devnet_demo_transfer(demo, &g.genesis_hash, (uint32_t)((h - 1) * e + i) % BC_ACCOUNTS,
                                    blob, &trace);
            jk_chain_event ev = {JK_CHAIN_ENDPOINT_TRANSACT, blob, sizeof blob};
            if (jk_node_event_encode(&ev, &trace, 1, &bytes, &len) == JK_OK) {
                cb.add_event(a, bytes, len);
                if (b)
                    cb.add_event(b, bytes, len);
                free(bytes);
            }
        }
        uint32_t round = 0;
        while (jk_chain_proposer_index(BC_V, h, round) != 0)
            round++;
        uint8_t *value;
        size_t len;
        if (cb.get_value(a, h, round, &value, &len) != JK_OK) {
            rc = 1;
            break;
        }
        jk_hash id;
        cb.hash(a, value, len, &id);
        jk_cons_cert c;
        memset(&c, 0, sizeof c);
        c.height = h;
        c.round = round;
        c.value = id;
        for (uint32_t i = 0; i < 3; i++) {
            jk_cons_vote v = {.type = JK_CONS_MSG_PRECOMMIT, .height = h, .round = round,
                              .has_value = true, .value = id, .validator = i};
            jk_cons_vote_sign(&v, &g.genesis_hash, keys[i].sk);
            c.sigs[i].validator = i;
            memcpy(c.sigs[i].sig, v.sig, 64);
        }
        c.count = 3;
        jk_cap_stats_get(&h0);
        uint64_t w0 = bc_wchar();
        double t0 = bc_cpu();
        rc = cb.commit(a, h, value, len, &c) != JK_OK;
        commit_cpu += bc_cpu() - t0;
        if (b && rc == 0)
            rc = !cb.valid(b, h, value, len) || cb.commit(b, h, value, len, &c) != JK_OK;
        wbytes += bc_wchar() - w0;
        jk_cap_stats_get(&h1);
        hashed += (h1.page_hashes - h0.page_hashes) + (h1.node_hashes - h0.node_hashes) +
                  (h1.root_hashes - h0.root_hashes);
        free(value);
        jk_node_chain_app_stats st;
        jk_node_chain_app_stats_get(a, &st);
        events += st.last_events;
    }
    jk_cap_store_stats_get(store, &s1);
    if (rc == 0) {
        double dn = (double)n;
        printf("BENCH commit: %llu heights, %.0f events a height, %.0f us CPU per commit "
               "(the loop thread's, sync writes included)\n",
               (unsigned long long)n, (double)events / dn, commit_cpu * 1e6 / dn);
        printf("BENCH commit_store: per height: %.1f objects put (%.0f bytes; %.1f CNode group "
               "records, %.1f Data pages), has() %.1f asked, %.1f present, %.1f without a lookup; "
               "%.1f objects hashed; %.2f syncs; %.0f KB written (LMDB pages)\n",
               (double)(bc_sum(s1.objects) - bc_sum(s0.objects)) / dn,
               (double)(bc_sum(s1.object_bytes) - bc_sum(s0.object_bytes)) / dn,
               (double)(s1.objects[JK_CAP_TAG_CNODE_NODE] - s0.objects[JK_CAP_TAG_CNODE_NODE]) / dn,
               (double)(s1.objects[JK_CAP_TAG_DATA_PAGE] - s0.objects[JK_CAP_TAG_DATA_PAGE]) / dn,
               (double)(s1.has_asked - s0.has_asked) / dn, (double)(s1.has_present - s0.has_present) / dn,
               (double)(s1.has_known - s0.has_known) / dn, (double)hashed / dn,
               (double)(s1.syncs - s0.syncs) / dn, (double)wbytes / 1024 / dn);
        static const char *const names[JK_CAP_STORE_TAGS] = {
            "other", "Data roots", "Data pages", "Data nodes", "CNode roots", "CNode groups", "Images",
            "Instances"};
        printf("BENCH commit_objects: per height:");
        for (int i = 0; i < JK_CAP_STORE_TAGS; i++)
            printf(" %s %.1f (%.0f B)%s", names[i], (double)(s1.objects[i] - s0.objects[i]) / dn,
                   (double)(s1.object_bytes[i] - s0.object_bytes[i]) / dn, i + 1 < JK_CAP_STORE_TAGS ? "," : "\n");
    } else {
        jk_node_chain_app_stats st;
        jk_node_chain_app_stats_get(a, &st);
        fprintf(stderr, "bench_commit: failed: %s\n", st.last_error);
    }
    jk_node_chain_app_close(a);
    if (b)
        jk_node_chain_app_close(b);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        rc = 1;
    jk_cap_release(g.chain);
    jk_devnet_demo_free(demo);
    return rc;
}
