/* test_chain_refusals.c — a chain that says no, as its author meets it:
 * `jark chain new`'s template with one line changed. A chain whose apply
 * faults on every block: `jark devnet` (consensus and --round-robin) fails
 * with exit 1 and says why (the FAULT host call's reason and text), not only
 * "liveness VIOLATED". A chain whose genesis probe fails (transform_to_verify
 * faults): exit 1 from `jark chain genesis` and `jark devnet` alike, the
 * chain said no (README, "Exit codes"); a malformed spec is 2 for both. */
#include "../test.h"
#include "../progs.h"
#include "../../tools/commands.h"

#include "jark/devnet.h"

#include <stdlib.h>
#include <string.h>

/* `jark chain new DIR/NAME`, then `line` inserted at the start of the body
 * of `fn` in its chain.c. Returns the spec's path in spec. */
static bool jk_make_chain(const char *dir, const char *name, const char *fn, const char *line, char *spec,
                          size_t size)
{
    char path[256], out[512], err[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *argv[] = {path};
    if (jk_test_tool(jk_tool_chain_new, 1, argv, out, sizeof out, err, sizeof err) != 0)
        return false;
    char file[300];
    snprintf(file, sizeof file, "%s/chain.c", path);
    unsigned char *text = NULL;
    size_t len = 0;
    if (jk_tool_read_file(file, &text, &len) != 0)
        return false;
    char head[96];
    snprintf(head, sizeof head, "uint64_t %s(void)\n{\n", fn);
    char *at = strstr((char *)text, head);
    size_t cut = at ? (size_t)(at - (char *)text) + strlen(head) : 0;
    char *patched = at ? malloc(len + strlen(line) + 1) : NULL;
    bool ok = patched != NULL;
    if (ok) {
        memcpy(patched, text, cut);
        memcpy(patched + cut, line, strlen(line));
        memcpy(patched + cut + strlen(line), text + cut, len - cut);
        ok = jk_tool_write_file(file, patched, len + strlen(line)) == 0;
    }
    free(patched);
    free(text);
    snprintf(spec, size, "%s/spec.json", path);
    return ok;
}

JK_TEST(test_devnet_says_why_apply_faults_on_every_block)
{
    char dir[96], spec[300], net[160];
    JK_REQUIRE(jk_test_tmpdir("apply-faults", dir, sizeof dir));
    JK_REQUIRE(jk_make_chain(dir, "stubborn", "apply", "    jk_fault(7, \"apply refuses every block\", 25);\n",
                             spec, sizeof spec));
    /* the library: the result carries the chain layer's reason */
    snprintf(net, sizeof net, "%s/net1", dir);
    jk_devnet_options o = {.validators = 1, .blocks = 2, .seed = 1, .dir = net, .quiet = true,
                           .spec_path = spec, .workload = JK_DEVNET_WORKLOAD_NONE};
    jk_devnet_cons_result r;
    JK_CHECK_EQ(jk_devnet_consensus_run(&o, NULL, &r), 1);
    JK_CHECK(!r.liveness_ok && r.safety_ok);
    JK_CHECK(strstr(r.chain_error, "validator 0: ") != NULL);
    JK_CHECK(strstr(r.chain_error, "reason 7: apply refuses every block") != NULL);
    if (!strstr(r.chain_error, "apply refuses every block"))
        printf("chain_error: \"%s\"\n", r.chain_error);
    /* the tool prints it, on either devnet */
    char out[4096], err[1024];
    snprintf(net, sizeof net, "%s/net2", dir);
    char *cons[] = {"--spec", spec, "--validators", "1", "--blocks", "2", "--workload", "none", "--dir", net};
    JK_CHECK_EQ(jk_test_tool(jk_tool_devnet, 10, cons, out, sizeof out, err, sizeof err), 1);
    JK_CHECK(strstr(out, "liveness VIOLATED") != NULL);
    JK_CHECK(strstr(out, "the chain refused its blocks: validator 0: ") != NULL);
    JK_CHECK(strstr(out, "apply refuses every block") != NULL);
    snprintf(net, sizeof net, "%s/net3", dir);
    char *rr[] = {"--spec", spec, "--validators", "1", "--blocks", "2", "--workload", "none", "--dir", net,
                  "--round-robin"};
    JK_CHECK_EQ(jk_test_tool(jk_tool_devnet, 11, rr, out, sizeof out, err, sizeof err), 1);
    JK_CHECK(strstr(err, "apply refuses every block") != NULL);
    jk_test_rm_tree(dir);
}

JK_TEST(test_genesis_probe_failure_exits_1_from_every_command)
{
    char dir[96], spec[300], net[160], out[4096], err[1024];
    JK_REQUIRE(jk_test_tmpdir("probe-fails", dir, sizeof dir));
    JK_REQUIRE(jk_make_chain(dir, "noverify", "transform_to_verify", "    jk_fault(7, \"no verify\", 9);\n", spec,
                             sizeof spec));
    char *genesis[] = {"genesis", spec};
    JK_CHECK_EQ(jk_test_tool(jk_tool_chain, 2, genesis, out, sizeof out, err, sizeof err), 1);
    JK_CHECK(strstr(err, "transform_to_verify") != NULL && strstr(err, "no verify") != NULL);
    snprintf(net, sizeof net, "%s/net1", dir);
    char *cons[] = {"--spec", spec, "--validators", "1", "--blocks", "1", "--dir", net};
    JK_CHECK_EQ(jk_test_tool(jk_tool_devnet, 8, cons, out, sizeof out, err, sizeof err), 1);
    JK_CHECK(strstr(err, "no verify") != NULL);
    JK_CHECK(strstr(out, "state root") == NULL); /* no run to report */
    snprintf(net, sizeof net, "%s/net2", dir);
    char *rr[] = {"--spec", spec, "--validators", "1", "--blocks", "1", "--dir", net, "--round-robin"};
    JK_CHECK_EQ(jk_test_tool(jk_tool_devnet, 9, rr, out, sizeof out, err, sizeof err), 1);
    JK_CHECK(strstr(err, "no verify") != NULL);
    snprintf(net, sizeof net, "%s/node", dir);
    char *node[] = {"--spec", spec, "--dir", net, "--listen", "127.0.0.1:1"};
    JK_CHECK_EQ(jk_test_tool(jk_tool_node, 6, node, out, sizeof out, err, sizeof err), 1);
    JK_CHECK(strstr(err, "no verify") != NULL);
    /* a malformed spec is an input error: 2 from both */
    char bad[160];
    snprintf(bad, sizeof bad, "%s/bad.json", dir);
    JK_REQUIRE(jk_tool_write_file(bad, "{\"programs\": {}, \"programs\": {}}", 32) == 0);
    char *genesis_bad[] = {"genesis", bad};
    JK_CHECK_EQ(jk_test_tool(jk_tool_chain, 2, genesis_bad, out, sizeof out, err, sizeof err), 2);
    JK_CHECK(strstr(err, "key 'programs' given twice") != NULL);
    snprintf(net, sizeof net, "%s/net3", dir);
    char *cons_bad[] = {"--spec", bad, "--validators", "1", "--blocks", "1", "--dir", net};
    JK_CHECK_EQ(jk_test_tool(jk_tool_devnet, 8, cons_bad, out, sizeof out, err, sizeof err), 2);
    jk_test_rm_tree(dir);
}
