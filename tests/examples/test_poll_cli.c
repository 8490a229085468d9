/*
 * test_poll_cli.c — what an outsider writing the poll chain (examples/poll)
 * tried on the command line and found wrong, each a regression test:
 *
 * - `jark rpc state_slot` split its path with strtok, so "20//1" and "20/"
 *   silently sent another path than written, and "21.7.0" (how
 *   `jark chain show --slot` writes a path) was "not a number": now '/' or
 *   '.' separate decimal slots and an empty part is a usage error (exit 2);
 * - `jark rpc submit_event` sent bad blob hex to the server (exit 1, the
 *   chain's answer) instead of refusing its own input (exit 2);
 * - `jark rpc METHOD --params JSON` let json-c drop a duplicate key or clamp
 *   a huge integer, so the server saw other params than written;
 * - `jark rpc --rpc A --rpc B` said "unknown method '--rpc'";
 * - `jark event sign --endpoint dispatch:010` read K in octal (8), "+1" and
 *   "0x1" were taken; now K is decimal as submit_event writes it;
 * - `jark event sign --genesis A --genesis B` (and --key, --spec, -o,
 *   --endpoint, --blob) silently took the last one; so did
 *   `jark image run --gas`, `--endpoint`, `--slot0` and `--map`, and
 *   `jark chain show --store` / `--slot`;
 * - `jark chain show --slot 99999999999999999999` named slot
 *   18446744073709551615 (strtoul's clamp), not the one typed;
 * - every numeric option ("decimal or 0x hex") read "010" as octal 8;
 * - a chain spec's state file past 1 GiB was read whole before genesis
 *   refused it (exit 1), a folder given as a file was "read error".
 *
 * Every refusal here is made before any connection: the --rpc address has
 * no server, so a check that was missing would fail with "connection
 * refused" instead of the message the test looks for.
 */
#include "../test.h"
#include "../progs.h"
#include "../../tools/commands.h"
#include "../rpc/rpc_fake.h"

#include "jark/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Run `jark rpc ARGS` or `jark event ARGS`; exit code, stderr into err. */
static int run(int (*fn)(int, char **), int argc, char **argv, char *err, size_t cap)
{
    char out[8192];
    return jk_test_tool(fn, argc, argv, out, sizeof out, err, cap);
}

#define NO_SERVER "127.0.0.1:1"

JK_TEST(test_poll_cli_rpc_refuses_its_own_bad_input)
{
    char err[1024];
    struct {
        const char *args[6];
        int argc;
        const char *says;
    } cases[] = {
        {{"--rpc", NO_SERVER, "state_slot", "20//1"}, 4, "decimal slots separated by '/' or '.'"},
        {{"--rpc", NO_SERVER, "state_slot", "20/"}, 4, "decimal slots separated by '/' or '.'"},
        {{"--rpc", NO_SERVER, "state_slot", "/20"}, 4, "decimal slots separated by '/' or '.'"},
        {{"--rpc", NO_SERVER, "state_slot", "0x14"}, 4, "decimal slots separated by '/' or '.'"},
        {{"--rpc", NO_SERVER, "state_slot", ""}, 4, "an empty slot path"},
        {{"--rpc", NO_SERVER, "submit_event", "transact", "zz"}, 5, "blob 'zz': an even number of hex digits"},
        {{"--rpc", NO_SERVER, "submit_event", "transact", "abc"}, 5, "blob 'abc': an even number of hex digits"},
        {{"--rpc", NO_SERVER, "block", "--params", "{\"height\": 1, \"height\": 2}"}, 5, "'height' given twice"},
        {{"--rpc", NO_SERVER, "block", "--params", "[99999999999999999999999]"}, 5, "out of range"},
        {{"--rpc", NO_SERVER, "--rpc", NO_SERVER, "status"}, 5, "--rpc given twice"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *argv[6];
        for (int j = 0; j < cases[i].argc; j++)
            argv[j] = (char *)cases[i].args[j];
        err[0] = '\0';
        JK_CHECK_EQ(run(jk_tool_rpc, cases[i].argc, argv, err, sizeof err), 2);
        if (!strstr(err, cases[i].says))
            printf("case %zu: %s\n", i, err);
        JK_CHECK(strstr(err, cases[i].says) != NULL);
    }
}

JK_TEST(test_poll_cli_rpc_slot_path_with_dots)
{
    fake_node f;
    JK_REQUIRE(fake_node_init(&f));
    jk_rpc_provider p = fake_provider(&f);
    jk_rpc_server_config cfg = {NULL, 0, 0, NULL, false};
    jk_rpc_server *s;
    JK_REQUIRE(jk_rpc_server_start(&cfg, &p, &s, NULL) == JK_OK);
    char addr[32], out[8192], err[1024];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", (unsigned)jk_rpc_server_port(s));
    /* "20.2" is "20/2": the same path, the same answer */
    char *dots[] = {"--rpc", addr, "state_slot", "20.2"};
    JK_CHECK_EQ(jk_test_tool(jk_tool_rpc, 4, dots, out, sizeof out, err, sizeof err), 0);
    JK_CHECK(strstr(out, "\"value\": \"736c6f742d32\"") != NULL);
    /* a bad path never reaches the server */
    unsigned calls = f.calls;
    char *bad[] = {"--rpc", addr, "state_slot", "20..2"};
    JK_CHECK_EQ(jk_test_tool(jk_tool_rpc, 4, bad, out, sizeof out, err, sizeof err), 2);
    JK_CHECK_EQ(f.calls, calls);
    jk_rpc_server_stop(s);
    fake_node_free(&f);
}

JK_TEST(test_poll_cli_event_sign_strict_options)
{
    char dir[512], blob[600], key[600], ev[600], err[1024];
    JK_REQUIRE(jk_test_tmpdir("poll-cli", dir, sizeof dir));
    snprintf(blob, sizeof blob, "%s/blob.bin", dir);
    snprintf(key, sizeof key, "%s/a.key", dir);
    snprintf(ev, sizeof ev, "%s/events", dir);
    FILE *f = fopen(blob, "wb");
    JK_REQUIRE(f && fputs("V", f) >= 0 && fclose(f) == 0);
    char *keygen[] = {"-o", key};
    JK_REQUIRE(jk_test_tool(jk_tool_keygen, 2, keygen, NULL, 0, NULL, 0) == 0);
    char g[] = "b8a01d4fbe260c70079d9cdeb8d63b07610668e7258cc6dbd74cf0392e3bf55f";

    const char *bad_endpoints[] = {"dispatch:010", "dispatch:+1", "dispatch:0x1", "dispatch: 1", "+1", "01", "0x1",
                                   "dispatch:13", "14", "dispatch:"};
    for (size_t i = 0; i < sizeof bad_endpoints / sizeof bad_endpoints[0]; i++) {
        char *argv[] = {"sign", "--genesis", g, "--key", key, "--endpoint", (char *)bad_endpoints[i],
                        "--blob", blob, "-o", ev};
        err[0] = '\0';
        JK_CHECK_EQ(run(jk_tool_event, 11, argv, err, sizeof err), 2);
        JK_CHECK(strstr(err, "dispatch:K with K 0..12") != NULL);
    }
    const char *good_endpoints[] = {"dispatch:0", "dispatch:12", "0", "13", "transact"};
    for (size_t i = 0; i < sizeof good_endpoints / sizeof good_endpoints[0]; i++) {
        char *argv[] = {"sign", "--genesis", g, "--key", key, "--endpoint", (char *)good_endpoints[i],
                        "--blob", blob, "-o", ev};
        JK_CHECK_EQ(run(jk_tool_event, 11, argv, err, sizeof err), 0);
    }

    struct {
        const char *opt, *again;
    } twice[] = {
        {"--genesis", g}, {"--key", key}, {"-o", ev}, {"--endpoint", "dispatch:0"}, {"--blob", blob},
    };
    for (size_t i = 0; i < sizeof twice / sizeof twice[0]; i++) {
        /* the full option set, then the option once more */
        char *argv[16] = {"sign", "--genesis", g, "--key", key, "--endpoint", "transact", "--blob", blob, "-o", ev};
        argv[11] = (char *)twice[i].opt;
        argv[12] = (char *)twice[i].again;
        err[0] = '\0';
        JK_CHECK_EQ(run(jk_tool_event, 13, argv, err, sizeof err), 2);
        JK_CHECK(strstr(err, "given twice") != NULL);
    }
    jk_test_rm_tree(dir);
}

/* `jark image run IMAGE --gas 100 --gas 5` ran with 5 gas: the last of two
 * values silently won. Refused before the image is read (so the missing
 * file here is never reached). */
JK_TEST(test_poll_cli_image_run_option_twice)
{
    char err[1024];
    const char *twice[][3] = {{"--gas", "100", "5"}, {"--endpoint", "0", "1"}, {"--slot0", "a", "b"},
                              {"--map", "a", "b"}};
    for (size_t i = 0; i < sizeof twice / sizeof twice[0]; i++) {
        char *argv[12] = {"run", "no-such.img", "--endpoint", "0", "--gas", "100"};
        int argc = 6;
        if (strcmp(twice[i][0], "--endpoint") && strcmp(twice[i][0], "--gas")) {
            argv[argc++] = (char *)twice[i][0];
            argv[argc++] = (char *)twice[i][1];
        }
        argv[argc++] = (char *)twice[i][0];
        argv[argc++] = (char *)twice[i][2];
        err[0] = '\0';
        JK_CHECK_EQ(run(jk_tool_image, argc, argv, err, sizeof err), 2);
        JK_CHECK(strstr(err, "given twice") != NULL);
    }
}

/* `jark chain show --slot 99999999999999999999` said "slot
 * 18446744073709551615 is past …" (strtoul's clamp, not what was typed);
 * `--store A --store B` silently showed B. */
JK_TEST(test_poll_cli_chain_show_says_what_was_typed)
{
    char dir[512], store[600], out[8192], err[1024];
    JK_REQUIRE(jk_test_tmpdir("poll-cli-show", dir, sizeof dir));
    snprintf(store, sizeof store, "%s/net", dir);
    char *devnet[] = {"--blocks", "1", "--validators", "1", "--events-per-block", "1", "--dir", store};
    JK_REQUIRE(jk_test_tool(jk_tool_devnet, 8, devnet, out, sizeof out, err, sizeof err) == 0);
    char *huge[] = {"--store", store, "--slot", "99999999999999999999"};
    JK_CHECK_EQ(jk_test_tool(jk_tool_chain_show, 4, huge, out, sizeof out, err, sizeof err), 2);
    JK_CHECK(strstr(err, "slot 99999999999999999999 is past the 256 slots") != NULL);
    char *deep[] = {"--store", store, "--slot", "20.99999999999999999999"};
    JK_CHECK_EQ(jk_test_tool(jk_tool_chain_show, 4, deep, out, sizeof out, err, sizeof err), 2);
    JK_CHECK(strstr(err, "99999999999999999999") != NULL && strstr(err, "18446744073709551615") == NULL);
    char *twice[] = {"--store", store, "--store", "elsewhere"};
    JK_CHECK_EQ(jk_test_tool(jk_tool_chain_show, 4, twice, out, sizeof out, err, sizeof err), 2);
    JK_CHECK(strstr(err, "--store given twice") != NULL);
    jk_test_rm_tree(dir);
}

/* Every numeric option goes through jk_tool_parse_number, documented as
 * "decimal or 0x hex"; it used strtoull's base 0, so `--gas 010` ran with 8
 * gas (octal), and " 10" and "+10" were taken. */
JK_TEST(test_poll_cli_numbers_are_decimal_or_hex)
{
    uint64_t v = 0;
    JK_CHECK(jk_tool_parse_number("010", false, &v) == 0 && v == 10);
    JK_CHECK(jk_tool_parse_number("0x10", false, &v) == 0 && v == 16);
    JK_CHECK(jk_tool_parse_number("0X1f", false, &v) == 0 && v == 31);
    JK_CHECK(jk_tool_parse_number("0", false, &v) == 0 && v == 0);
    JK_CHECK(jk_tool_parse_number("18446744073709551615", false, &v) == 0 && v == UINT64_MAX);
    JK_CHECK(jk_tool_parse_number("-1", true, &v) == 0 && v == UINT64_MAX);
    JK_CHECK(jk_tool_parse_number("-010", true, &v) == 0 && v == (uint64_t)-10);
    JK_CHECK(jk_tool_parse_number("-9223372036854775808", true, &v) == 0 && v == (uint64_t)1 << 63);
    const char *bad[] = {"", " 10", "+10", "10 ", "0x", "-", "1e3", "0b1", "0x1g", "-9223372036854775809",
                         "18446744073709551616", "99999999999999999999999", "--1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        JK_CHECK(jk_tool_parse_number(bad[i], true, &v) == -1);
    JK_CHECK(jk_tool_parse_number("-1", false, &v) == -1);
}

/* A chain spec's files (docs/chain-spec.md): a state file past the longest
 * Data (1 GiB) was read whole — 1.1 GB of memory for a 1.1 GB file — and
 * then refused by genesis as "cap value exceeds a size bound", exit 1 as if
 * the chain had said no; a folder given as a file was "read error". Both are
 * now input errors (exit 2) that say what is wrong, before reading. */
JK_TEST(test_poll_cli_spec_files_refused_before_reading)
{
    char dir[512], path[700], err[1024], out[4096];
    JK_REQUIRE(jk_test_tmpdir("poll-cli-spec", dir, sizeof dir));
    const char *files[] = {"chain.c", "poll.c", "poll.h", "verify.c", "transact.c", "dispatch_instance.c",
                           "tally.c", "certify.c", "poll-spec.json"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char from[256];
        uint8_t *bytes = NULL;
        size_t len = 0;
        snprintf(from, sizeof from, "examples/poll/%s", files[i]);
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        JK_REQUIRE(jk_read_file(from, &bytes, &len, NULL) == JK_OK);
        FILE *f = fopen(path, "wb");
        JK_REQUIRE(f && fwrite(bytes, 1, len, f) == len && fclose(f) == 0);
        free(bytes);
    }
    /* voters.bin: sparse, one byte past 1 GiB (no disk blocks are written) */
    snprintf(path, sizeof path, "%s/voters.bin", dir);
    FILE *f = fopen(path, "wb");
    JK_REQUIRE(f && ftruncate(fileno(f), (off_t)(1ull << 30) + 1) == 0 && fclose(f) == 0);
    snprintf(path, sizeof path, "%s/poll-spec.json", dir);
    char *genesis[] = {"genesis", path};
    JK_CHECK_EQ(jk_test_tool(jk_tool_chain, 2, genesis, out, sizeof out, err, sizeof err), 2);
    JK_CHECK(strstr(err, "state data voters.bin: 1073741825 bytes, more than a Data holds (1073741824)") != NULL);

    /* a folder where a program file should be */
    snprintf(path, sizeof path, "%s/dir-spec.json", dir);
    f = fopen(path, "w");
    JK_REQUIRE(f && fputs("{\"programs\": {\"chain\": \".\", \"verify\": \"verify.c\", \"transact\": \"transact.c\","
                          " \"dispatch_instance\": \"dispatch_instance.c\"}, \"state\": [],"
                          " \"validators\": [\"" "0000000000000000000000000000000000000000000000000000000000000000"
                          "\"], \"gas\": {\"transform\": 1, \"verify\": 1, \"process\": 1, \"block\": 1}}",
                          f) >= 0 && fclose(f) == 0);
    JK_CHECK_EQ(jk_test_tool(jk_tool_chain, 2, genesis, out, sizeof out, err, sizeof err), 2);
    JK_CHECK(strstr(err, "program .: ") != NULL && strstr(err, "is a directory") != NULL);
    jk_test_rm_tree(dir);
}
