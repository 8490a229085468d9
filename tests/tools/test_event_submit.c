/*
 * test_event_submit.c — `jark event submit EVENTS --rpc ADDR` (tools/cmd_event.c)
 * against an RPC server in front of the fake node (tests/rpc/rpc_fake.h):
 * every event of a file reaches submit_event in order with its traces, one
 * line per event, and the exit codes of README.md ("Exit codes"). Before it
 * an events file from `jark event sign` could not reach a node at all.
 */
#include "../test.h"
#include "../progs.h"
#include "../../tools/commands.h"
#include "../rpc/rpc_fake.h"

#include "jark/spec.h"

#include <stdlib.h>

/* Run `jark event ARGS` with stdout captured into out (stderr discarded). */
static int run_event(int argc, char **argv, char *out, size_t cap)
{
    char err[1024];
    return jk_test_tool(jk_tool_event, argc, argv, out, cap, err, sizeof err);
}

JK_TEST(test_event_submit)
{
    char dir[512], good[600], mixed[600], junk[600], addr[32], out[4096];
    JK_REQUIRE(jk_test_tmpdir("event-submit", dir, sizeof dir));
    snprintf(good, sizeof good, "%s/good", dir);
    snprintf(mixed, sizeof mixed, "%s/mixed", dir);
    snprintf(junk, sizeof junk, "%s/junk", dir);

    uint8_t seed_a[32], seed_b[32], pk[32], sk_a[64], sk_b[64];
    memset(seed_a, 1, sizeof seed_a);
    memset(seed_b, 2, sizeof seed_b);
    JK_REQUIRE(jk_crypto_ed25519_keypair_from_seed(seed_a, pk, sk_a) == JK_OK);
    JK_REQUIRE(jk_crypto_ed25519_keypair_from_seed(seed_b, pk, sk_b) == JK_OK);
    const uint8_t blob[3] = {'S', 1, 2}, refused[2] = {0xFF, 0}; /* the fake refuses blobs starting 0xFF */
    jk_spec_events list = {0};
    memset(list.genesis.bytes, 7, 32);
    jk_spec_attest two[2] = {{sk_a, blob, sizeof blob}, {sk_b, blob, sizeof blob}};
    JK_REQUIRE(jk_spec_events_sign(&list, JK_CHAIN_ENDPOINT_TRANSACT, blob, sizeof blob, two, 2) == JK_OK);
    JK_REQUIRE(jk_spec_events_sign(&list, jk_chain_endpoint_dispatch(3), blob, 2, NULL, 0) == JK_OK);
    JK_REQUIRE(jk_spec_events_save(good, &list, NULL) == JK_OK);
    JK_REQUIRE(jk_spec_events_sign(&list, JK_CHAIN_ENDPOINT_TRANSACT, refused, 2, NULL, 0) == JK_OK);
    JK_REQUIRE(jk_spec_events_sign(&list, JK_CHAIN_ENDPOINT_TRANSACT, blob, 1, NULL, 0) == JK_OK);
    JK_REQUIRE(jk_spec_events_save(mixed, &list, NULL) == JK_OK);
    FILE *f = fopen(junk, "w");
    JK_REQUIRE(f && fputs("JKEVT\x01 not an events file", f) >= 0 && fclose(f) == 0);

    fake_node fake;
    JK_REQUIRE(fake_node_init(&fake));
    jk_rpc_provider p = fake_provider(&fake);
    jk_rpc_server_config cfg = {NULL, 0, 0, NULL, false};
    jk_rpc_server *s;
    JK_REQUIRE(jk_rpc_server_start(&cfg, &p, &s, NULL) == JK_OK);
    snprintf(addr, sizeof addr, "127.0.0.1:%u", (unsigned)jk_rpc_server_port(s));

    /* every event admitted: exit 0, each with its endpoint, blob and traces */
    char *ok[] = {"submit", good, "--rpc", addr};
    JK_CHECK_EQ(run_event(4, ok, out, sizeof out), 0);
    JK_CHECK(strstr(out, "event 0 admitted ") != NULL && strstr(out, "event 1 admitted ") != NULL);
    JK_REQUIRE(fake.pool_count == 2);
    JK_CHECK(fake.pool[0].endpoint == JK_CHAIN_ENDPOINT_TRANSACT && fake.pool[0].blob_len == 3);
    JK_CHECK_MEM(fake.pool[0].blob, blob, 3);
    JK_CHECK_EQ(fake.pool[0].trace_count, 2);
    JK_CHECK_MEM(&fake.pool[0].traces[1], &list.events[0].traces[1], sizeof(jk_chain_trace));
    JK_CHECK(fake.pool[1].endpoint == jk_chain_endpoint_dispatch(3) && fake.pool[1].trace_count == 0);

    /* one refused: exit 1, it says why, and the events after it are still sent */
    char *some[] = {"submit", "--rpc", addr, mixed};
    JK_CHECK_EQ(run_event(4, some, out, sizeof out), 1);
    JK_CHECK(strstr(out, "event 2 refused: verify refused the event") != NULL);
    JK_CHECK(strstr(out, "event 3 admitted ") != NULL);
    JK_CHECK_EQ(fake.pool_count, 5);

    /* exit 2: a file that is not an events file, a missing one, usage, no server */
    char *bad_file[] = {"submit", junk, "--rpc", addr};
    JK_CHECK_EQ(run_event(4, bad_file, out, sizeof out), 2);
    char *no_file[] = {"submit", "--rpc", addr};
    JK_CHECK_EQ(run_event(3, no_file, out, sizeof out), 2);
    char *bad_addr[] = {"submit", good, "--rpc", "nowhere"};
    JK_CHECK_EQ(run_event(4, bad_addr, out, sizeof out), 2);
    char *two_files[] = {"submit", good, good};
    JK_CHECK_EQ(run_event(3, two_files, out, sizeof out), 2);
    JK_CHECK_EQ(fake.pool_count, 5);
    uint16_t port = jk_rpc_server_port(s);
    jk_rpc_server_stop(s);
    snprintf(addr, sizeof addr, "127.0.0.1:%u", (unsigned)port);
    JK_CHECK_EQ(run_event(4, ok, out, sizeof out), 2);

    jk_spec_events_free(&list);
    fake_node_free(&fake);
}

/* `jark event sign` says what was wrong with a value (exit 2), where it once
 * printed only its usage (a dispatch index past 12, --attest without ':') or
 * "invalid argument" (a blob over 1 MiB). */
JK_TEST(test_event_sign_says_why)
{
    char dir[512], blob[600], big[600], key[600], ev[600], out[1024], err[1024];
    JK_REQUIRE(jk_test_tmpdir("event-sign-why", dir, sizeof dir));
    snprintf(blob, sizeof blob, "%s/blob", dir);
    snprintf(big, sizeof big, "%s/big", dir);
    snprintf(key, sizeof key, "%s/k.key", dir);
    snprintf(ev, sizeof ev, "%s/ev", dir);
    FILE *f = fopen(blob, "w");
    JK_REQUIRE(f && fputs("hello", f) >= 0 && fclose(f) == 0);
    f = fopen(big, "w");
    JK_REQUIRE(f && fseek(f, JK_CHAIN_MAX_BLOB, SEEK_SET) == 0 && fputc(1, f) == 1 && fclose(f) == 0);
    char *keygen[] = {"-o", key};
    JK_REQUIRE(jk_test_tool(jk_tool_keygen, 2, keygen, out, sizeof out, err, sizeof err) == 0);
    const char *g = "1111111111111111111111111111111111111111111111111111111111111111";
    struct {
        const char *opt, *val, *blob_path, *needle;
    } cases[] = {
        {"--endpoint", "dispatch:13", blob, "--endpoint dispatch:13: transact, dispatch:K with K 0..12"},
        {"--endpoint", "dispatch:99999999999", blob, "with K 0..12"},
        {"--attest", "k.key", blob, "--attest k.key: KEY:MSGFILE"},
        {"--endpoint", "transact", big, "1048577 bytes, more than an event's blob may have (1048576)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *argv[] = {"sign", "--genesis", (char *)g, "--key", key, "--blob", (char *)cases[i].blob_path,
                        (char *)cases[i].opt, (char *)cases[i].val, "--endpoint", "transact", "-o", ev};
        int argc = !strcmp(cases[i].opt, "--endpoint") ? 11 : 13;
        if (argc == 11)
            argv[9] = "-o", argv[10] = ev;
        JK_CHECK_EQ(jk_test_tool(jk_tool_event, argc, argv, out, sizeof out, err, sizeof err), 2);
        if (!strstr(err, cases[i].needle))
            JK_CHECK(!printf("case %zu: %s", i, err));
    }
    char *ok[] = {"sign", "--genesis", (char *)g, "--key", key, "--blob", blob, "--endpoint", "dispatch:12", "-o", ev};
    JK_CHECK_EQ(jk_test_tool(jk_tool_event, 11, ok, out, sizeof out, err, sizeof err), 0);
}
