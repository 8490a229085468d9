/*
 * test_node_cli.c — `jark node` and `jark devnet` take each single-valued
 * option once (an outsider's second --dir, --spec or --key silently won:
 * a node could open another store than the operator read in the command
 * line), and `jark node --demo-accounts` needs the --demo-seed it sizes.
 * Every refusal comes before any file is read or socket opened (the paths
 * here do not exist).
 */
#include "../test.h"
#include "../progs.h"
#include "../../tools/commands.h"

#include <string.h>

static int run(int (*fn)(int, char **), int argc, char **argv, char *err, size_t cap)
{
    char out[8192];
    err[0] = '\0';
    return jk_test_tool(fn, argc, argv, out, sizeof out, err, cap);
}

JK_TEST(test_node_cli_single_options_once)
{
    char err[2048];
    const char *opts[] = {"--spec", "--key", "--dir", "--listen", "--rpc"};
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
        char *argv[] = {"--spec", "/nonexistent/spec.json", "--dir", "/nonexistent/d", "--listen",
                        "127.0.0.1:1", (char *)opts[i], "127.0.0.1:2", (char *)opts[i], "127.0.0.1:3"};
        JK_CHECK_EQ(run(jk_tool_node, 10, argv, err, sizeof err), 2);
        JK_CHECK(strstr(err, "given twice") != NULL);
        JK_CHECK(strstr(err, opts[i]) != NULL);
    }
}

JK_TEST(test_node_cli_demo_accounts_needs_seed)
{
    char err[2048];
    char *argv[] = {"--spec", "/nonexistent/spec.json", "--dir", "/nonexistent/d", "--listen",
                    "127.0.0.1:1", "--demo-accounts", "64"};
    JK_CHECK_EQ(run(jk_tool_node, 8, argv, err, sizeof err), 2);
    JK_CHECK(strstr(err, "--demo-accounts needs --demo-seed") != NULL);
}

JK_TEST(test_devnet_cli_single_options_once)
{
    char err[2048];
    const char *opts[] = {"--spec", "--dir", "--events"};
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
        char *argv[] = {(char *)opts[i], "/nonexistent/a", (char *)opts[i], "/nonexistent/b"};
        JK_CHECK_EQ(run(jk_tool_devnet, 4, argv, err, sizeof err), 2);
        JK_CHECK(strstr(err, "given twice") != NULL);
    }
}

/* `jark testnet --verify-threads T` (session 9: passed to every node) takes
 * 0..64, as `jark node` does, and is refused before anything starts. */
JK_TEST(test_testnet_cli_verify_threads_bounds)
{
    char err[2048];
    char *argv[] = {"--verify-threads", "65", "--dir", "/nonexistent/d"};
    JK_CHECK_EQ(run(jk_tool_testnet, 4, argv, err, sizeof err), 2);
    JK_CHECK(strstr(err, "--verify-threads 0..64") != NULL);
    char *argv2[] = {"--verify-threads", "x"};
    JK_CHECK_EQ(run(jk_tool_testnet, 2, argv2, err, sizeof err), 2);
}

/* `jark testnet --posts P` (session 10: the workload's requests in flight
 * to each node) takes 1..8 and is refused before anything starts. */
JK_TEST(test_testnet_cli_posts_bounds)
{
    char err[2048];
    char *argv[] = {"--posts", "9", "--dir", "/nonexistent/d"};
    JK_CHECK_EQ(run(jk_tool_testnet, 4, argv, err, sizeof err), 2);
    JK_CHECK(strstr(err, "--posts 1..8") != NULL);
    char *argv2[] = {"--posts", "0", "--dir", "/nonexistent/d"};
    JK_CHECK_EQ(run(jk_tool_testnet, 4, argv2, err, sizeof err), 2);
}
