/*
 * test_node_pacing.c — `jark node --empty-blocks-interval MS` (issue 13,
 * docs/node.md "Block pacing"): a real process over the demo chain, one
 * validator.
 *
 *   1. With an interval of ten minutes the validator commits height 1 (a
 *      start never waits) and then holds: before the wait it committed
 *      hundreds of empty heights a second. A transfer submitted over RPC
 *      ends the wait at once: height 2 carries it, and the chain holds
 *      again at 2.
 *   2. With 30 ms, empty heights follow one another (the interval ends
 *      each wait).
 *
 * Waits poll RPC with a generous bound. The "holds" checks look after a
 * short pause: they can only fail if heights are made without an event
 * (the interval is ten minutes), so they do not depend on timing.
 */
#define _GNU_SOURCE
#include "../test.h"
#include "node_proc.h"
#include "node_util.h"

#include "jark/devnet.h"
#include "jark/rpc.h"
#include "jark/spec.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define NP_LIMIT_MS 300000 /* only reached when a test fails */

typedef struct np_node {
    uint16_t port, rpc;
    char dir[PATH_MAX], key[PATH_MAX + 8], log[PATH_MAX + 8], vkey[65];
    pid_t pid;
} np_node;

/* `jark node` as the demo chain's only validator, with one more option
 * and its value (opt NULL: none). */
static bool np_start_with(np_node *nd, const char *interval_ms, const char *opt, const char *val)
{
    char listen[32], rpc[32];
    snprintf(listen, sizeof listen, "127.0.0.1:%u", nd->port);
    snprintf(rpc, sizeof rpc, "127.0.0.1:%u", nd->rpc);
    /* the demo's programs built once, not at every start */
    const char *argv[] = {"jark", "node", "--spec", np_demo_spec(),
                          "--dir", nd->dir, "--key", nd->key, "--listen", listen, "--rpc", rpc,
                          "--demo-seed", "1", "--validator", nd->vkey,
                          "--empty-blocks-interval", interval_ms, opt, val, NULL};
    nd->pid = np_spawn(argv, nd->log);
    return nd->pid > 0;
}

static bool np_start(np_node *nd, const char *interval_ms)
{
    return np_start_with(nd, interval_ms, NULL, NULL);
}

/* A fresh directory, key and ports. */
static bool np_init(np_node *nd, char *dir)
{
    if (!mkdtemp(dir))
        return false;
    *nd = (np_node){.port = tn_free_port(SOCK_DGRAM), .rpc = tn_free_port(SOCK_STREAM)};
    snprintf(nd->dir, sizeof nd->dir, "%s/v", dir);
    snprintf(nd->key, sizeof nd->key, "%s/key", dir);
    snprintf(nd->log, sizeof nd->log, "%s/v.log", dir);
    jk_spec_key k;
    jk_diag diag = {{0}};
    if (jk_spec_key_generate(&k) != JK_OK || jk_spec_key_save(nd->key, &k, &diag) != JK_OK)
        return false;
    jk_hex_encode(k.public_key, 32, nd->vkey);
    jk_crypto_wipe(&k, sizeof k);
    return true;
}

static void np_cleanup(np_node *nd, const char *dir)
{
    np_kill(&nd->pid);
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        printf("could not remove %s\n", dir);
}

/* Submit the demo's first account's transfer; true when admitted. */
static bool np_submit(const np_node *nd)
{
    jk_hash genesis;
    jk_diag diag = {{0}};
    size_t glen = 0;
    static char params[4096];
    json_object *b1 = np_rpc(nd->rpc, "block", "[1]"), *hdr, *parent;
    bool ok = b1 && json_object_object_get_ex(b1, "header", &hdr) &&
              json_object_object_get_ex(hdr, "parent", &parent) &&
              jk_rpc_hex_decode(json_object_get_string(parent),
                                (size_t)json_object_get_string_len(parent), genesis.bytes, 32,
                                &glen, &diag) == JK_OK &&
              glen == 32;
    json_object_put(b1);
    if (!ok || !np_transfer_params(&genesis, 0, params, sizeof params))
        return false;
    json_object *sub = np_rpc(nd->rpc, "submit_event", params), *x;
    ok = sub && json_object_object_get_ex(sub, "admitted", &x) && json_object_get_boolean(x);
    json_object_put(sub);
    return ok;
}

/* The ms= of the node's commit line for height h (its log), or -1. */
static int64_t np_commit_ms(const np_node *nd, uint64_t h)
{
    static char text[1 << 16];
    FILE *f = fopen(nd->log, "r");
    if (!f)
        return -1;
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    char key[48];
    snprintf(key, sizeof key, "commit height=%llu ", (unsigned long long)h);
    const char *line = strstr(text, key), *ms = line ? strstr(line, " ms=") : NULL;
    long long v = -1;
    if (!ms || sscanf(ms, " ms=%lld", &v) != 1)
        return -1;
    return v;
}

/* A fresh node (dir made from the template) with the interval, at height 1. */
static bool np_begin(np_node *nd, char *dir, const char *interval_ms)
{
    return np_init(nd, dir) && np_start(nd, interval_ms) && np_wait_height(nd->rpc, 1, NP_LIMIT_MS);
}

JK_TEST(test_node_pacing_idle_waits_event_ends_the_wait)
{
    char dir[] = "/tmp/jark-pacing-test-XXXXXX";
    np_node nd = {0};
    JK_CHECK(np_begin(&nd, dir, "600000"));
    usleep(500 * 1000);
    JK_CHECK_EQ(np_height(nd.rpc), 1); /* idle: waiting, not committing */
    uint64_t t0 = tn_ms();
    JK_CHECK(np_submit(&nd));
    JK_CHECK(np_wait_height(nd.rpc, 2, NP_LIMIT_MS));
    uint64_t seen_ms = tn_ms() - t0;
    json_object *b2 = np_rpc(nd.rpc, "block", "[2]");
    JK_CHECK_EQ(np_i64(b2, "event_count"), 1);
    json_object_put(b2);
    usleep(300 * 1000);
    JK_CHECK_EQ(np_height(nd.rpc), 2); /* idle again */
    JK_CHECK(np_stop(&nd.pid));
    /* The node's finality for height 2 (its commit line's ms=, what the
     * jark_finality_seconds histogram observes) counts from the wait's
     * end, within what the test saw from the submit to the commit: the
     * half second and more of waiting before it is no part of it. */
    int64_t ms = np_commit_ms(&nd, 2);
    JK_CHECK(ms >= 0);
    JK_CHECK((uint64_t)ms <= seen_ms + 1);
    np_cleanup(&nd, dir);
}

JK_TEST(test_node_pacing_short_interval_makes_empty_heights)
{
    char dir[] = "/tmp/jark-pacing-test-XXXXXX";
    np_node nd = {0};
    JK_CHECK(np_begin(&nd, dir, "30"));
    JK_CHECK(np_wait_height(nd.rpc, 6, NP_LIMIT_MS));
    JK_CHECK(np_stop(&nd.pid));
    np_cleanup(&nd, dir);
}

/* `jark node --rpc-max-body` (session 8): the node's RPC server answers a
 * body over the bound 413 before reading it, and the requests within it as
 * before. */
JK_TEST(test_node_rpc_max_body_flag)
{
    char dir[] = "/tmp/jark-rpcbody-test-XXXXXX";
    np_node nd = {0};
    JK_CHECK(np_init(&nd, dir) && np_start_with(&nd, "30", "--rpc-max-body", "2048") &&
             np_wait_height(nd.rpc, 1, NP_LIMIT_MS));
    static char body[4096];
    int len = snprintf(body, sizeof body, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"status\","
                                          "\"params\":[],\"pad\":\"");
    memset(body + len, 'x', 3000);
    memcpy(body + len + 3000, "\"}", 2);
    size_t blen = (size_t)len + 3002;
    int status = 0;
    char *reply = NULL;
    size_t rlen = 0;
    jk_diag d;
    JK_CHECK(jk_rpc_http("127.0.0.1", nd.rpc, "POST", "/", body, blen, &status, &reply, &rlen,
                         &d) == JK_OK);
    JK_CHECK_EQ(status, 413);
    free(reply);
    JK_CHECK(np_height(nd.rpc) >= 1); /* a request within the bound */
    JK_CHECK(np_stop(&nd.pid));
    np_cleanup(&nd, dir);
}
