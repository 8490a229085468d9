/*
 * test_node_testnet.c — `jark testnet` end to end: four `jark node`
 * processes on the demo chain (compiled by the SDK), node 3 killed with
 * SIGKILL and restarted, node 1 wiped (restarted with an empty store: it
 * syncs from genesis, every certificate checked), the demo workload submitted through RPC; the run
 * must commit events and end with every node agreeing, exit 0.
 * The jark binary is the one beside the test binary ($(BUILD)/jark).
 */
#include "../test.h"
#include "node_proc.h"

#include <limits.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static int run_testnet(const char *dir, const char *log, const char *perturb)
{
    const char *argv[] = {"jark", "testnet", "--validators", "4", "--blocks", "16", "--dir", dir,
                          "--empty-blocks-interval", "50", "--perturb", perturb, NULL};
    pid_t pid = np_spawn(argv, log);
    int st;
    if (pid < 0 || waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

JK_TEST(test_node_testnet_kill_restart_agree)
{
    char dir[] = "/tmp/jark-testnet-test-XXXXXX";
    JK_REQUIRE(mkdtemp(dir));
    char log[64];
    snprintf(log, sizeof log, "%s.log", dir);
    int rc = run_testnet(dir, log, "kill:3@3,restart:3@7,wipe:1@10");
    JK_CHECK_EQ(rc, 0);
    char out[16384] = {0};
    FILE *f = fopen(log, "r");
    JK_REQUIRE(f);
    size_t n = fread(out, 1, sizeof out - 1, f);
    fclose(f);
    out[n] = 0;
    JK_CHECK(strstr(out, "height   16") != NULL);
    JK_CHECK(strstr(out, "perturb: wipe node 1") != NULL);
    JK_CHECK(strstr(out, "perturb: kill -9 node 3") != NULL);
    JK_CHECK(strstr(out, "perturb: restart node 3") != NULL);
    JK_CHECK(strstr(out, "nodes agree on every block") != NULL);
    /* The signed workload went through RPC into blocks. */
    const char *sum = strstr(out, "summary: ");
    unsigned long long heights = 0, events = 0;
    double secs = 0;
    JK_CHECK(sum && sscanf(sum, "summary: %llu heights in %lf s, %llu events", &heights, &secs, &events) == 3);
    JK_CHECK(events > 0);
    /* Every node, the wiped one too, holds the 16 heights at the end. */
    const char *common = strstr(out, "common height ");
    unsigned long long lo = 0;
    JK_CHECK(common && sscanf(common, "common height %llu", &lo) == 1 && lo >= 16);
    if (rc != 0)
        printf("%s\n", out);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", dir, log);
    JK_CHECK(system(cmd) == 0);
}
