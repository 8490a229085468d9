/* test_devnet.c — the devnet end to end (tools/cmd_devnet.c over
 * src/node): the final state root is pinned (the same bytes on every machine
 * and compiler), a run split in two, stopped at a crash point, or killed with
 * SIGKILL at any moment and then resumed ends exactly where an uninterrupted
 * run does, and a store of another chain is refused. */
#include "../test.h"
#include "../progs.h"
#include "devnet_golden.h"
#include "../../tools/commands.h"
#include "jark/devnet.h"
#include "jark/bytes.h"
#include "jark/node.h"

#include "../../examples/demo/demo_view.h"

#include <fcntl.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>


static char *jk_fresh_dir(char *buf, size_t len)
{
    return jk_test_tmpdir("devnet-test", buf, len);
}

static void jk_rm(const char *dir)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
}

static jk_devnet_options jk_opts(const char *dir, uint64_t blocks, unsigned threads)
{
    jk_devnet_options o = {4, blocks, 16, 1, threads, dir, true, 0, 0};
    return o;
}

JK_TEST(test_devnet_root_is_pinned_and_resumes_exactly)
{
    char a[64], b[64];
    JK_REQUIRE(jk_fresh_dir(a, sizeof a) && jk_fresh_dir(b, sizeof b));
    jk_devnet_result whole, part;
    jk_devnet_options o = jk_opts(a, 10, 2);
    JK_REQUIRE(jk_devnet_run(&o, &whole) == 0);
    JK_CHECK(whole.agree);
    JK_CHECK_EQ(whole.height, 10);
    JK_CHECK(whole.events >= 160); /* every transfer admitted and applied, plus oracle updates */
    JK_CHECK_HEX(whole.root.bytes, 32, JK_DEVNET_GOLDEN_ROOT_10);

    /* The store's head, read back without a kernel: the same height and
     * root, and the ledger conserved the money (64 accounts of 1,000,000). */
    char store[96];
    snprintf(store, sizeof store, "%s/validator-2", a);
    jk_node_head head;
    JK_REQUIRE(jk_node_head_read(store, &head, NULL) == JK_OK);
    JK_CHECK_EQ(head.height, 10);
    jk_hash root;
    jk_cap_hash(head.chain, &root);
    JK_CHECK(memcmp(root.bytes, whole.root.bytes, 32) == 0);
    uint64_t accounts = 0;
    uint8_t *records = demo_view_ledger(head.chain, &accounts);
    JK_REQUIRE(records && accounts == 64);
    uint64_t total = 0, nonces = 0;
    for (int i = 0; i < 64; i++) {
        total += jk_get_u64le(records + 48 * i + 32);
        nonces += jk_get_u64le(records + 48 * i + 40);
    }
    JK_CHECK_EQ(total, 64u * 1000000u);
    JK_CHECK_EQ(nonces, 160); /* 16 transfers a block, each bumping its sender's nonce */
    free(records);
    jk_node_head_release(&head);
    /* `jark chain show` on the devnet directory and on something else */
    fflush(stdout);
    int saved = dup(1), devnull = open("/dev/null", O_WRONLY);
    JK_REQUIRE(saved >= 0 && devnull >= 0);
    int saved_err = dup(2);
    JK_REQUIRE(saved_err >= 0);
    dup2(devnull, 1);
    dup2(devnull, 2); /* the refusal's message is expected: keep it out of the test output */
    char *show_ok[] = {"--store", a}, *show_bad[] = {"--store", "/nonexistent/jark"};
    int rc_ok = jk_tool_chain_show(2, show_ok), rc_bad = jk_tool_chain_show(2, show_bad);
    fflush(stdout);
    fflush(stderr);
    dup2(saved, 1);
    dup2(saved_err, 2);
    close(saved);
    close(saved_err);
    close(devnull);
    JK_CHECK_EQ(rc_ok, 0);
    JK_CHECK_EQ(rc_bad, 2); /* not a store: an input error (README, "Exit codes") */

    /* The same chain in two runs, the second reopening the stores, with no
     * verify threads: the same root. */
    o = jk_opts(b, 6, 0);
    JK_REQUIRE(jk_devnet_run(&o, &part) == 0);
    JK_CHECK_EQ(part.height, 6);
    JK_CHECK(memcmp(part.root.bytes, whole.root.bytes, 32) != 0);
    o = jk_opts(b, 4, 4);
    JK_REQUIRE(jk_devnet_run(&o, &part) == 0);
    JK_CHECK_EQ(part.height, 10);
    JK_CHECK(memcmp(part.root.bytes, whole.root.bytes, 32) == 0);

    /* A store of another chain (another seed: other keys, another genesis) is refused. */
    o = jk_opts(b, 1, 0);
    o.seed = 2;
    JK_CHECK_EQ(jk_devnet_run(&o, &part), 1);
    JK_CHECK_EQ(part.height, 0);
    jk_rm(a);
    jk_rm(b);
}

/* A crash after the proposer's durable commit and before the others imported:
 * on reopen the validators behind import that block from the proposer's store. */
JK_TEST(test_devnet_catches_up_after_a_crash_between_commits)
{
    char a[64], b[64];
    JK_REQUIRE(jk_fresh_dir(a, sizeof a) && jk_fresh_dir(b, sizeof b));
    jk_devnet_result whole, part;
    jk_devnet_options o = jk_opts(a, 8, 0);
    JK_REQUIRE(jk_devnet_run(&o, &whole) == 0);
    o = jk_opts(b, 8, 0);
    o.stop_after_proposer = 5;
    JK_CHECK_EQ(jk_devnet_run(&o, &part), 3);
    o.stop_after_proposer = 0;
    o.to_height = 8;
    JK_REQUIRE(jk_devnet_run(&o, &part) == 0);
    JK_CHECK_EQ(part.height, 8);
    JK_CHECK(memcmp(part.root.bytes, whole.root.bytes, 32) == 0);
    jk_rm(a);
    jk_rm(b);
}

/* SIGKILL at arbitrary moments once the child has opened its stores (it says
 * so on its first output line; the delays vary only what is covered, never
 * the outcome): every resume must end at the uninterrupted run's root. */
JK_TEST(test_devnet_survives_sigkill_at_any_point)
{
    enum { HEIGHT = 30 };
    char a[64], b[64];
    JK_REQUIRE(jk_fresh_dir(a, sizeof a) && jk_fresh_dir(b, sizeof b));
    jk_devnet_result whole, part;
    jk_devnet_options o = jk_opts(a, HEIGHT, 0);
    JK_REQUIRE(jk_devnet_run(&o, &whole) == 0);
    static const long delays_ms[] = {0, 25, 60, 110};
    for (size_t t = 0; t < sizeof delays_ms / sizeof delays_ms[0]; t++) {
        fflush(stdout);
        fflush(stderr);
        int out[2];
        JK_REQUIRE(pipe(out) == 0);
        pid_t child = fork();
        JK_REQUIRE(child >= 0);
        if (child == 0) {
            close(out[0]);
            dup2(out[1], 1);
            jk_devnet_options c = jk_opts(b, 0, 0);
            c.quiet = false;
            c.to_height = HEIGHT;
            jk_devnet_result r;
            _exit(jk_devnet_run(&c, &r) == 0 ? 0 : 1);
        }
        close(out[1]);
        char ch = 0;
        while (read(out[0], &ch, 1) == 1 && ch != '\n')
            ;
        struct timespec ts = {0, delays_ms[t] * 1000000L};
        nanosleep(&ts, NULL);
        kill(child, SIGKILL);
        int status = 0;
        JK_REQUIRE(waitpid(child, &status, 0) == child);
        close(out[0]);
        /* killed, or finished first: either way it must not have failed */
        JK_CHECK(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) == 0));
    }
    o = jk_opts(b, 0, 2);
    o.to_height = HEIGHT;
    JK_REQUIRE(jk_devnet_run(&o, &part) == 0);
    JK_CHECK_EQ(part.height, HEIGHT);
    JK_CHECK(memcmp(part.root.bytes, whole.root.bytes, 32) == 0);
    jk_rm(a);
    jk_rm(b);
}

/* Two runs on one folder: the second is refused while the first holds the
 * stores (a validator store is locked for as long as it is open), and goes
 * on once the first is done. (Before: both proceeded on the same stores.) */
JK_TEST(test_devnet_second_run_on_one_folder_refused)
{
    char a[64], vdir[96];
    JK_REQUIRE(jk_fresh_dir(a, sizeof a));
    jk_devnet_result r;
    jk_devnet_options o = jk_opts(a, 2, 1);
    JK_REQUIRE(jk_devnet_run(&o, &r) == 0);
    /* another holder of validator-2's store (as a running devnet would be) */
    snprintf(vdir, sizeof vdir, "%s/validator-2", a);
    jk_node_store held;
    jk_diag diag = {{0}};
    JK_REQUIRE(jk_node_store_open(vdir, 256u << 20, &held, &diag) == JK_OK);
    o.blocks = 3;
    JK_CHECK(jk_devnet_run(&o, &r) != 0);
    jk_node_store_close(&held);
    JK_CHECK_EQ(jk_devnet_run(&o, &r), 0);
    JK_CHECK_EQ(r.height, 5); /* the refused run changed nothing: 2 + 3 blocks */
    jk_rm(a);
}
