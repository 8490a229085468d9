/*
 * test_rpc_cli.c — `jark rpc` (tools/cmd_rpc.c) against a server in front
 * of the fake node: what it prints and its documented exit codes.
 */
#include "../test.h"
#include "../../tools/commands.h"
#include "rpc_fake.h"

#include <json-c/json.h>

#include <stdlib.h>
#include <unistd.h>

/* Run `jark rpc ARGS` with stdout and stderr captured into out (stderr
 * discarded); returns the exit code. */
static int run_cli(int argc, char **argv, char *out, size_t cap)
{
    fflush(stdout);
    fflush(stderr);
    FILE *tmp = tmpfile(), *null = fopen("/dev/null", "w");
    int saved_out = dup(1), saved_err = dup(2);
    if (!tmp || !null || saved_out < 0 || saved_err < 0)
        return -100;
    dup2(fileno(tmp), 1);
    dup2(fileno(null), 2);
    int rc = jk_tool_rpc(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(saved_out, 1);
    dup2(saved_err, 2);
    close(saved_out);
    close(saved_err);
    rewind(tmp);
    size_t n = fread(out, 1, cap - 1, tmp);
    out[n] = '\0';
    fclose(tmp);
    fclose(null);
    return rc;
}

JK_TEST(test_rpc_cli)
{
    fake_node f;
    JK_REQUIRE(fake_node_init(&f));
    jk_rpc_metrics *m;
    JK_REQUIRE(jk_rpc_metrics_new(&m) == JK_OK);
    jk_rpc_metric *g;
    JK_REQUIRE(jk_rpc_metrics_gauge(m, "jark_height", NULL, &g) == JK_OK);
    jk_rpc_metric_set(g, 3);
    jk_rpc_provider p = fake_provider(&f);
    jk_rpc_server_config cfg = {NULL, 0, 0, m, false};
    jk_rpc_server *s;
    JK_REQUIRE(jk_rpc_server_start(&cfg, &p, &s, NULL) == JK_OK);
    char addr[32], out[8192];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", (unsigned)jk_rpc_server_port(s));

    char *status[] = {"--rpc", addr, "status"};
    JK_CHECK_EQ(run_cli(3, status, out, sizeof out), 0);
    json_object *o = json_tokener_parse(out);
    JK_CHECK(o && json_object_get_int(json_object_object_get(o, "height")) == FAKE_BLOCKS);
    json_object_put(o);

    char *submit[] = {"--rpc", addr, "submit_event", "dispatch:1", "0a0b",
                      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:"
                      "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb:"
                      "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
                      "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"};
    JK_CHECK_EQ(run_cli(6, submit, out, sizeof out), 0);
    JK_CHECK(strstr(out, "\"admitted\": true") != NULL);
    JK_REQUIRE(f.pool_count == 1);
    JK_CHECK(f.pool[0].endpoint == jk_chain_endpoint_dispatch(1) && f.pool[0].blob_len == 2 &&
             f.pool[0].trace_count == 1 && f.pool[0].traces[0].key[0] == 0xaa && f.pool[0].traces[0].sig[63] == 0xcc);

    char *pool[] = {"--rpc", addr, "pool", "5", "0"};
    JK_CHECK_EQ(run_cli(5, pool, out, sizeof out), 0);
    JK_CHECK(strstr(out, "\"blob\": \"0a0b\"") != NULL);

    char *block[] = {"--rpc", addr, "block", "2"};
    JK_CHECK_EQ(run_cli(4, block, out, sizeof out), 0);
    JK_CHECK(strstr(out, "\"number\": 2") != NULL);
    char hash[65];
    jk_rpc_hex_encode(f.hashes[0].bytes, 32, hash);
    char *by_hash[] = {"--rpc", addr, "block", hash};
    JK_CHECK_EQ(run_cli(4, by_hash, out, sizeof out), 0);
    JK_CHECK(strstr(out, "\"number\": 1") != NULL);

    char *slot[] = {"--rpc", addr, "state_slot", "20/2"};
    JK_CHECK_EQ(run_cli(4, slot, out, sizeof out), 0);
    JK_CHECK(strstr(out, "\"value\": \"736c6f742d32\"") != NULL);

    char *raw[] = {"--rpc", addr, "state_slot", "--params", "{\"path\":[20,0]}"};
    JK_CHECK_EQ(run_cli(5, raw, out, sizeof out), 0);
    JK_CHECK(strstr(out, "\"value\": \"736c6f742d30\"") != NULL);

    char *metrics[] = {"--rpc", addr, "metrics"};
    JK_CHECK_EQ(run_cli(3, metrics, out, sizeof out), 0);
    /* the registry's gauge, and the server's own counter of slow requests
     * (threaded mode too since session 8) */
    JK_CHECK(!strncmp(out, "# TYPE jark_height gauge\njark_height 3\n", 39));
    JK_CHECK(strstr(out, "\njark_rpc_requests_timed_out_total 0\n") != NULL);

    /* exit 1: the server's JSON-RPC error */
    char *missing[] = {"--rpc", addr, "block", "99"};
    JK_CHECK_EQ(run_cli(4, missing, out, sizeof out), 1);
    JK_CHECK_EQ(out[0], '\0');
    char *unknown[] = {"--rpc", addr, "mint"};
    JK_CHECK_EQ(run_cli(3, unknown, out, sizeof out), 1);
    /* exit 2: usage */
    char *bad_hex[] = {"--rpc", addr, "submit_event", "transact", "xyz"}; /* input: refused before sending */
    JK_CHECK_EQ(run_cli(5, bad_hex, out, sizeof out), 2);
    char *no_method[] = {"--rpc", addr};
    JK_CHECK_EQ(run_cli(2, no_method, out, sizeof out), 2);
    char *bad_addr[] = {"--rpc", "nowhere", "status"};
    JK_CHECK_EQ(run_cli(3, bad_addr, out, sizeof out), 2);
    char *bad_num[] = {"--rpc", addr, "block", "two"};
    JK_CHECK_EQ(run_cli(4, bad_num, out, sizeof out), 2);
    char *bad_trace[] = {"--rpc", addr, "submit_event", "transact", "00", "aa:bb"};
    JK_CHECK_EQ(run_cli(6, bad_trace, out, sizeof out), 2);
    char *bad_json[] = {"--rpc", addr, "status", "--params", "{"};
    JK_CHECK_EQ(run_cli(5, bad_json, out, sizeof out), 2);
    char *extra[] = {"--rpc", addr, "mint", "1"};
    JK_CHECK_EQ(run_cli(4, extra, out, sizeof out), 2);
    JK_CHECK_EQ(f.pool_count, 1);   /* nothing refused reached the pool */

    /* exit 2: nobody there (an input error, as for every command) */
    uint16_t port = jk_rpc_server_port(s);
    jk_rpc_server_stop(s);
    snprintf(addr, sizeof addr, "127.0.0.1:%u", (unsigned)port);
    JK_CHECK_EQ(run_cli(3, status, out, sizeof out), 2);
    JK_CHECK_EQ(run_cli(3, metrics, out, sizeof out), 2);
    jk_rpc_metrics_free(m);
    fake_node_free(&f);
}
