/* test_template.c — `jark chain new` writes a chain that builds and runs as
 * it is: the template (sdk/template/) made into a new directory, loaded from
 * its spec, and run through the chain layer (a message applied, a ping
 * processed by dispatch 0, refusals dropped at verify) and on the devnet
 * (jark/devnet.h, what `jark devnet --spec` runs). Also: the command
 * refuses an existing directory and a bad name, and writes nothing then. */
#include "../test.h"
#include "../../tools/commands.h"
#include "example_chain.h"

#include "jark/devnet.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const template_files[] = {"README.md", "spec.json", "common.h", "chain.c", "verify.c",
                                             "transact.c", "dispatch_instance.c", "process.c", "aa.c"};
#define N_FILES (sizeof template_files / sizeof template_files[0])

/* jark chain new ARG with stdout and stderr silenced; its exit code. */
static int chain_new_quiet(const char *arg)
{
    fflush(stdout);
    fflush(stderr);
    int out = dup(1), err = dup(2), devnull = open("/dev/null", O_WRONLY);
    if (out < 0 || err < 0 || devnull < 0)
        return -1;
    dup2(devnull, 1);
    dup2(devnull, 2);
    char *argv[1] = {(char *)arg};
    int rc = jk_tool_chain_new(1, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(out, 1);
    dup2(err, 2);
    close(out);
    close(err);
    close(devnull);
    return rc;
}

static void remove_chain(const char *dir)
{
    char path[256];
    for (size_t i = 0; i < N_FILES; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, template_files[i]);
        unlink(path);
    }
    rmdir(dir);
}

JK_TEST(test_template_chain_new_runs)
{
    char tmp[64] = "/tmp/jark-template-test-XXXXXX", dir[96], path[160];
    JK_REQUIRE(mkdtemp(tmp) != NULL);
    snprintf(dir, sizeof dir, "%s/guestbook", tmp);
    JK_CHECK_EQ(chain_new_quiet(dir), 0);
    for (size_t i = 0; i < N_FILES; i++) {
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, template_files[i]);
        JK_CHECK(stat(path, &st) == 0 && st.st_size > 0);
    }
    /* the README names the chain */
    unsigned char *readme = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/README.md", dir);
    JK_REQUIRE(jk_tool_read_file(path, &readme, &len) == 0);
    JK_CHECK(strncmp((const char *)readme, "# guestbook\n", 12) == 0);
    JK_CHECK(strstr((const char *)readme, "@NAME@") == NULL);
    free(readme);
    /* refusals: the directory exists; a bad name (nothing is written) */
    JK_CHECK_EQ(chain_new_quiet(dir), 2); /* an input error (README, "Exit codes") */
    snprintf(path, sizeof path, "%s/a b", tmp);
    JK_CHECK_EQ(chain_new_quiet(path), 2);
    struct stat st;
    JK_CHECK(stat(path, &st) != 0);

    /* it runs */
    snprintf(path, sizeof path, "%s/spec.json", dir);
    jk_ex_chain c;
    JK_REQUIRE(jk_ex_open(&c, path, NULL, NULL, NULL, 0));
    jk_ex_key alice = jk_ex_key_of(1), bob = jk_ex_key_of(2);
    uint8_t msg[64] = {'M'}, ping[33] = {'P'};
    memcpy(msg + 1, alice.pk, 32);
    memcpy(msg + 33, "hello, chain", 12);
    memcpy(ping + 1, bob.pk, 32);
    const jk_chain_endpoint T = JK_CHAIN_ENDPOINT_TRANSACT, D0 = jk_chain_endpoint_dispatch(0);
    JK_REQUIRE(jk_chain_setup_cycle(c.producer, NULL) == JK_OK);
    JK_CHECK(jk_ex_submit(&c, T, msg, 45, &alice));
    JK_CHECK(jk_ex_submit(&c, D0, ping, sizeof ping, &bob));
    JK_CHECK(!jk_ex_submit(&c, T, msg, 45, &bob));          /* not the author's signature */
    jk_diag why = {{0}};
    JK_CHECK(!jk_ex_submit_why(&c, T, msg, 33, &alice, &why)); /* no text: refused, saying why */
    JK_CHECK(strstr(why.msg, "reason 1: malformed message") != NULL);
    JK_CHECK(!jk_ex_submit(&c, D0, msg, 45, &alice));       /* a message sent to dispatch 0 */
    JK_CHECK(!jk_ex_submit(&c, T, ping, sizeof ping, &bob)); /* a ping sent as a transact */
    msg[0] = 'X';
    JK_CHECK(!jk_ex_submit(&c, T, msg, 45, &alice));        /* unknown */
    msg[0] = 'M';
    uint64_t pings = 0;
    size_t events = 0, traces = 0;
    JK_REQUIRE(jk_ex_block(&c, &pings, &events, &traces));
    JK_CHECK_EQ(pings, 1);
    JK_CHECK_EQ(events, 1);
    JK_CHECK_EQ(traces, 1);
    JK_CHECK_EQ(jk_ex_slot_u64(c.importer->chain, 20), 1);
    jk_cap last = jk_cap_cnode_get(jk_cap_instance_cnode(c.importer->chain), 21);
    uint8_t got[45];
    JK_CHECK(jk_cap_data_len(last) == 45 && jk_cap_data_read(last, 0, got, 45) == JK_OK);
    JK_CHECK_MEM(got, msg, 45);
    /* an empty block keeps the count */
    JK_REQUIRE(jk_chain_setup_cycle(c.producer, NULL) == JK_OK);
    JK_REQUIRE(jk_ex_block(&c, &pings, &events, NULL));
    JK_CHECK_EQ(events, 0);
    JK_CHECK_EQ(jk_ex_slot_u64(c.importer->chain, 20), 1);
    jk_ex_close(&c);

    /* and it runs on the devnet as it is: two validators, empty blocks */
    char net[128];
    snprintf(net, sizeof net, "%s/net", tmp);
    jk_devnet_options o = {.validators = 2, .blocks = 2, .seed = 1, .dir = net, .quiet = true, .spec_path = path,
                           .workload = JK_DEVNET_WORKLOAD_NONE};
    jk_devnet_result res;
    JK_CHECK_EQ(jk_devnet_run(&o, &res), 0);
    JK_CHECK(res.agree);
    JK_CHECK_EQ(res.height, 2);
    char rm[160];
    snprintf(rm, sizeof rm, "rm -rf '%s'", net);
    JK_CHECK(system(rm) == 0);
    remove_chain(dir);
    JK_CHECK(rmdir(tmp) == 0);
}
