/*
 * test_node_full.c — `jark node` as a full node (issue 13), real processes
 * on loopback over the demo chain: two validators (V0, V1; two, because a
 * lone validator decides height after height inside one input and starves
 * its loop) and one full node (F) started with no --key from an empty
 * store, dialling both.
 *
 *   1. The validators stop at height 6 (--max-height). F syncs from
 *      genesis; while it does, every status sample is consistent (syncing
 *      exactly when a peer is known more than one height ahead); at the end
 *      F is at 6, not syncing, and knows a peer at 6. Every block F serves
 *      is V0's, and its certificate verifies (checked here, independently,
 *      under the genesis validator set); the Image in slot 1 reads the same
 *      on both, with its root record (H(value) = hash).
 *   2. A transfer submitted to F is admitted there and relayed: it shows up
 *      in V0's pool.
 *   3. The validators restart with no limit (their pools are gone; F hands
 *      its pool to a peer that comes up): the transfer reaches a block,
 *      which F follows.
 *   4. They restart with --max-height 1 (they stay where they are, H); F
 *      reaches H; the CNode in slot 23 (the ledger's buckets, made by the
 *      transfer) and the Image in slot 1 read the same on V0 and F at H.
 *   5. F stops; the validators go on to H + 40 and hold; F restarts on its
 *      store and catches up in store batches (follow.c); it is killed
 *      (SIGKILL) as soon as it is seen between H and H + 40 (or at the end,
 *      if it got there first): restarted, it opens its store at a whole
 *      height in [H, H + 40], reaches H + 40, and serves V0's blocks.
 *
 * Every wait polls RPC with a generous bound; nothing asserts on time.
 */
#define _GNU_SOURCE
#include "../test.h"
#include "node_proc.h"
#include "node_util.h"

#include "jark/devnet.h"
#include "jark/node.h"
#include "jark/rpc.h"
#include "jark/spec.h"

#include <fcntl.h>
#include <json-c/json.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FN_LIMIT_MS 300000 /* only reached when a test fails (generous: a starved machine) */

typedef struct fn_node {
    uint16_t port, rpc;
    char dir[PATH_MAX], log[PATH_MAX];
    pid_t pid;
} fn_node;

/* Start `jark node` (the binary beside the test binary) with the demo
 * chain of the validators vkeys[0..2); key NULL: no --key (a full node);
 * peers[0..npeers): dial them; max_height 0: no limit. */
static bool fn_start(fn_node *nd, const char *key, char vkeys[2][65], char (*peers)[160],
                     int npeers, uint64_t max_height)
{
    char listen[32], rpc[32], maxh[24];
    snprintf(listen, sizeof listen, "127.0.0.1:%u", nd->port);
    snprintf(rpc, sizeof rpc, "127.0.0.1:%u", nd->rpc);
    snprintf(maxh, sizeof maxh, "%llu", (unsigned long long)max_height);
    const char *argv[32];
    int argc = 0;
    argv[argc++] = "jark";
    argv[argc++] = "node";
    argv[argc++] = "--spec";
    argv[argc++] = np_demo_spec(); /* the demo's programs built once, not at every start */
    argv[argc++] = "--dir";
    argv[argc++] = nd->dir;
    argv[argc++] = "--listen";
    argv[argc++] = listen;
    argv[argc++] = "--rpc";
    argv[argc++] = rpc;
    argv[argc++] = "--demo-seed";
    argv[argc++] = "1";
    for (int i = 0; i < 2; i++) {
        argv[argc++] = "--validator";
        argv[argc++] = vkeys[i];
    }
    if (key) {
        argv[argc++] = "--key";
        argv[argc++] = key;
    }
    for (int i = 0; i < npeers; i++) {
        argv[argc++] = "--peer";
        argv[argc++] = peers[i];
    }
    /* quick empty heights: these tests wait for heights, not events */
    argv[argc++] = "--empty-blocks-interval";
    argv[argc++] = "20";
    if (max_height) {
        argv[argc++] = "--max-height";
        argv[argc++] = maxh;
    }
    argv[argc] = NULL;
    nd->pid = np_spawn(argv, nd->log);
    return nd->pid > 0;
}

static bool fn_stop(fn_node *nd)
{
    return np_stop(&nd->pid);
}

/* A failed requirement after the nodes started: stop them all (out:). */
#define FN_REQUIRE(cond)                                                       \
    do {                                                                       \
        if (!(cond)) {                                                         \
            jk_test_fail(__FILE__, __LINE__, "requirement failed: %s", #cond); \
            goto out;                                                          \
        }                                                                      \
    } while (0)

static void fn_kill(fn_node *nd)
{
    np_kill(&nd->pid);
}

/* The result of one call, parsed (NULL when the node does not answer). */
static json_object *fn_call(const fn_node *nd, const char *method, const char *params)
{
    return np_rpc(nd->rpc, method, params);
}

static int64_t fn_get_i64(json_object *o, const char *key)
{
    return np_i64(o, key);
}

static const char *fn_get_str(json_object *o, const char *key)
{
    json_object *x;
    return o && json_object_object_get_ex(o, key, &x) && json_object_is_type(x, json_type_string)
               ? json_object_get_string(x)
               : "";
}

static bool fn_get_bool(json_object *o, const char *key)
{
    json_object *x;
    return o && json_object_object_get_ex(o, key, &x) && json_object_get_boolean(x);
}

static int64_t fn_height(const fn_node *nd)
{
    return np_height(nd->rpc);
}

static bool fn_wait_height(const fn_node *nd, int64_t h)
{
    return np_wait_height(nd->rpc, h, FN_LIMIT_MS);
}

static size_t fn_unhex(const char *s, uint8_t *out, size_t cap)
{
    size_t n = strlen(s) / 2;
    if (n > cap)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned b;
        if (sscanf(s + 2 * i, "%2x", &b) != 1)
            return 0;
        out[i] = (uint8_t)b;
    }
    return n;
}

/* Block h on nd: its hash (hex) into hash[65]; whether its certificate
 * proves it final under vs (decoded and checked here). */
static bool fn_block_certified(const fn_node *nd, uint64_t h, const jk_hash *genesis,
                               const jk_cons_valset *vs, char hash[65], int64_t *events)
{
    char params[32];
    snprintf(params, sizeof params, "[%llu]", (unsigned long long)h);
    json_object *o = fn_call(nd, "block", params);
    snprintf(hash, 65, "%s", fn_get_str(o, "hash"));
    *events = fn_get_i64(o, "event_count");
    static uint8_t cbytes[1 << 14];
    static jk_cons_cert cert;
    size_t clen = fn_unhex(fn_get_str(o, "certificate"), cbytes, sizeof cbytes);
    jk_hash id;
    bool ok = strlen(hash) == 64 && fn_unhex(hash, id.bytes, 32) == 32 && clen > 0 &&
              jk_cons_cert_decode(cbytes, clen, &cert, NULL) == JK_OK &&
              jk_cons_cert_check(&cert, genesis, vs, h, &id, NULL) == JK_OK;
    json_object_put(o);
    return ok;
}

/* state_slot [slot] on a and b, at one height: same kind, hash and value;
 * the value is the root record (H(value) = hash, first byte `tag`). */
static void fn_same_slot(const fn_node *a, const fn_node *b, uint32_t slot, const char *kind,
                         uint8_t tag)
{
    char params[32];
    snprintf(params, sizeof params, "[[%u]]", slot);
    /* The two reads are two requests: a block may commit on one node between
     * them (a follower one height behind its peer). Read again until both
     * answer at one height, so the comparison is of one state. */
    json_object *x = NULL, *y = NULL;
    for (uint64_t t0 = tn_ms(); tn_ms() - t0 < FN_LIMIT_MS; usleep(50 * 1000)) {
        json_object_put(x);
        json_object_put(y);
        x = fn_call(a, "state_slot", params);
        y = fn_call(b, "state_slot", params);
        if (x && y && fn_get_i64(x, "height") == fn_get_i64(y, "height"))
            break;
    }
    JK_REQUIRE(x && y);
    JK_CHECK(strcmp(fn_get_str(x, "kind"), kind) == 0);
    JK_CHECK(strcmp(fn_get_str(y, "kind"), kind) == 0);
    JK_CHECK_EQ(fn_get_i64(x, "height"), fn_get_i64(y, "height"));
    JK_CHECK(strcmp(fn_get_str(x, "hash"), fn_get_str(y, "hash")) == 0);
    JK_CHECK(strcmp(fn_get_str(x, "value"), fn_get_str(y, "value")) == 0);
    static uint8_t value[1 << 16];
    size_t len = fn_unhex(fn_get_str(x, "value"), value, sizeof value);
    JK_CHECK(len > 0 && value[0] == tag);
    jk_hash h;
    char hex[65];
    jk_crypto_blake2b256(value, len, &h);
    jk_hex_encode(h.bytes, 32, hex);
    JK_CHECK(strcmp(hex, fn_get_str(x, "hash")) == 0);
    json_object_put(x);
    json_object_put(y);
}

/* Start both validators (their limit max_height). */
static bool fn_start_validators(fn_node v[2], char keys[2][PATH_MAX], char vkeys[2][65],
                                char peers[2][160], uint64_t max_height)
{
    return fn_start(&v[0], keys[0], vkeys, &peers[1], 1, max_height) &&
           fn_start(&v[1], keys[1], vkeys, &peers[0], 1, max_height);
}

JK_TEST(test_node_full_syncs_relays_and_serves)
{
    char dir[] = "/tmp/jark-fnode-test-XXXXXX";
    JK_REQUIRE(mkdtemp(dir));
    char keys[2][PATH_MAX], vkeys[2][65], peers[2][160];
    jk_cons_valset *vs = calloc(1, sizeof *vs);
    JK_REQUIRE(vs);
    vs->count = 2;
    fn_node v[2], f = {.port = tn_free_port(SOCK_DGRAM), .rpc = tn_free_port(SOCK_STREAM)};
    for (int i = 0; i < 2; i++) {
        jk_spec_key k;
        jk_diag diag = {{0}};
        snprintf(keys[i], sizeof keys[i], "%s/key-%d", dir, i);
        JK_REQUIRE(jk_spec_key_generate(&k) == JK_OK &&
                   jk_spec_key_save(keys[i], &k, &diag) == JK_OK);
        jk_hex_encode(k.public_key, 32, vkeys[i]);
        memcpy(vs->keys[i], k.public_key, 32);
        jk_crypto_wipe(&k, sizeof k);
        v[i] = (fn_node){.port = tn_free_port(SOCK_DGRAM), .rpc = tn_free_port(SOCK_STREAM)};
        snprintf(v[i].dir, sizeof v[i].dir, "%s/v%d", dir, i);
        snprintf(v[i].log, sizeof v[i].log, "%s/v%d.log", dir, i);
        snprintf(peers[i], sizeof peers[i], "127.0.0.1:%u@%s", v[i].port, vkeys[i]);
    }
    snprintf(f.dir, sizeof f.dir, "%s/f", dir);
    snprintf(f.log, sizeof f.log, "%s/f.log", dir);

    /* 1. The validators at 6; F from an empty store. */
    FN_REQUIRE(fn_start_validators(v, keys, vkeys, peers, 6));
    FN_REQUIRE(fn_wait_height(&v[0], 6) && fn_wait_height(&v[1], 6));
    FN_REQUIRE(fn_start(&f, NULL, vkeys, peers, 2, 0));
    bool settled = false;
    uint64_t samples = 0;
    for (uint64_t t0 = tn_ms(); !settled && tn_ms() - t0 < FN_LIMIT_MS; usleep(20 * 1000)) {
        json_object *o = fn_call(&f, "status", NULL);
        if (!o)
            continue;
        int64_t h = fn_get_i64(o, "height"), top = fn_get_i64(o, "max_peer_height");
        bool syncing = fn_get_bool(o, "syncing");
        JK_CHECK_EQ(syncing, top > h + 1);
        JK_CHECK(h <= 6 && top <= 6);
        json_object *vi = NULL;
        JK_CHECK(json_object_object_get_ex(o, "validator_index", &vi) && vi == NULL);
        settled = h == 6 && top == 6 && !syncing;
        samples++;
        json_object_put(o);
    }
    JK_CHECK(settled);
    JK_CHECK(samples > 0);
    /* the genesis hash: block 1's parent, as V0 serves it */
    jk_hash genesis;
    json_object *b1 = fn_call(&v[0], "block", "[1]"), *hdr;
    FN_REQUIRE(b1 && json_object_object_get_ex(b1, "header", &hdr));
    FN_REQUIRE(fn_unhex(fn_get_str(hdr, "parent"), genesis.bytes, 32) == 32);
    json_object_put(b1);
    for (uint64_t h = 1; h <= 6; h++) {
        char hv[65], hf[65];
        int64_t ev, ef;
        JK_CHECK(fn_block_certified(&v[0], h, &genesis, vs, hv, &ev));
        JK_CHECK(fn_block_certified(&f, h, &genesis, vs, hf, &ef));
        JK_CHECK(strcmp(hv, hf) == 0);
    }
    fn_same_slot(&v[0], &f, 1, "image", 0x06);

    /* 2. A transfer submitted to F reaches V0's pool (relay). */
    static char params[4096];
    FN_REQUIRE(np_transfer_params(&genesis, 0, params, sizeof params));
    json_object *sub = fn_call(&f, "submit_event", params);
    JK_CHECK(fn_get_bool(sub, "admitted"));
    json_object_put(sub);
    bool relayed = false;
    for (uint64_t t0 = tn_ms(); !relayed && tn_ms() - t0 < FN_LIMIT_MS; usleep(20 * 1000)) {
        json_object *o = fn_call(&v[0], "status", NULL);
        relayed = fn_get_i64(o, "pool_size") == 1;
        json_object_put(o);
    }
    JK_CHECK(relayed);

    /* 3. No limit: F hands its pool over when the validators come up
     * again; the transfer reaches a block, and F follows. */
    JK_CHECK(fn_stop(&v[0]) && fn_stop(&v[1]));
    FN_REQUIRE(fn_start_validators(v, keys, vkeys, peers, 0));
    int64_t with_event = -1;
    for (uint64_t t0 = tn_ms(), next = 7; with_event < 0 && tn_ms() - t0 < FN_LIMIT_MS;) {
        if (fn_height(&f) < (int64_t)next) {
            usleep(20 * 1000);
            continue;
        }
        char hf[65];
        int64_t events;
        JK_CHECK(fn_block_certified(&f, next, &genesis, vs, hf, &events));
        if (events > 0)
            with_event = (int64_t)next;
        next++;
    }
    JK_CHECK(with_event > 6);

    /* 4. The validators held where they are (the one behind catches up
     * by sync): F reaches them; the ledger's CNode and the Image read the
     * same on V0 and F. */
    JK_CHECK(fn_stop(&v[0]) && fn_stop(&v[1]));
    FN_REQUIRE(fn_start_validators(v, keys, vkeys, peers, 1));
    bool level = false;
    int64_t hv = -1;
    for (uint64_t t0 = tn_ms(); !level && tn_ms() - t0 < FN_LIMIT_MS; usleep(50 * 1000)) {
        hv = fn_height(&v[0]);
        level = hv >= with_event && fn_height(&v[1]) == hv && fn_height(&f) == hv;
    }
    FN_REQUIRE(level);
    fn_same_slot(&v[0], &f, 23, "cnode", 0x04);
    fn_same_slot(&v[0], &f, 1, "image", 0x06);
    json_object *fs = fn_call(&f, "status", NULL);
    JK_CHECK(fs && !fn_get_bool(fs, "syncing") && fn_get_i64(fs, "pool_size") == 0);
    json_object_put(fs);

    /* 5. A kill in the middle of a batched catch-up. */
    JK_CHECK(fn_stop(&f));
    JK_CHECK(fn_stop(&v[0]) && fn_stop(&v[1]));
    int64_t top = hv + 40;
    FN_REQUIRE(fn_start_validators(v, keys, vkeys, peers, (uint64_t)top));
    FN_REQUIRE(fn_wait_height(&v[0], top) && fn_wait_height(&v[1], top));
    FN_REQUIRE(fn_start(&f, NULL, vkeys, peers, 2, 0));
    int64_t seen = -1;
    for (uint64_t t0 = tn_ms(); tn_ms() - t0 < FN_LIMIT_MS && seen <= hv; usleep(1000))
        seen = fn_height(&f);
    fn_kill(&f);
    JK_CHECK(seen > hv);
    FN_REQUIRE(fn_start(&f, NULL, vkeys, peers, 2, 0));
    int64_t reopened = -1;
    for (uint64_t t0 = tn_ms(); tn_ms() - t0 < FN_LIMIT_MS && reopened < 0; usleep(5000))
        reopened = fn_height(&f);
    JK_CHECK(reopened >= hv && reopened <= top);
    FN_REQUIRE(fn_wait_height(&f, top));
    for (int64_t h = hv + 1; h <= top; h++) {
        char h0[65], h1[65];
        int64_t e0, e1;
        JK_CHECK(fn_block_certified(&v[0], (uint64_t)h, &genesis, vs, h0, &e0));
        JK_CHECK(fn_block_certified(&f, (uint64_t)h, &genesis, vs, h1, &e1));
        JK_CHECK(strcmp(h0, h1) == 0);
    }
    fn_same_slot(&v[0], &f, 23, "cnode", 0x04);

    JK_CHECK(fn_stop(&f));
    JK_CHECK(fn_stop(&v[0]) && fn_stop(&v[1]));
out:
    /* after a failed requirement: nothing left running (SIGKILL) */
    fn_kill(&f);
    fn_kill(&v[0]);
    fn_kill(&v[1]);
    /* F said which mode it ran in. */
    FILE *lf = fopen(f.log, "r");
    static char text[1 << 16];
    size_t n = lf ? fread(text, 1, sizeof text - 1, lf) : 0;
    if (lf)
        fclose(lf);
    text[n] = 0;
    JK_CHECK(strstr(text, "node: full node (no --key") != NULL);
    free(vs);
    if (jk_test_failures()) { /* what the nodes said, to tell why */
        char show[PATH_MAX + 64];
        snprintf(show, sizeof show, "tail -n 40 '%s'/*.log", dir);
        if (system(show) != 0)
            printf("(no logs in %s)\n", dir);
    }
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    JK_CHECK(system(cmd) == 0);
}
