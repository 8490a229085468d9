/* test_tools.c — the `jark` commands as a user meets them: one exit-code rule
 * (0 ok, 1 the guest or chain said no, 2 usage or input), `jark cc` with -D,
 * -I and several files, plain char signed on the PVM as natively, keygen's
 * file mode and refusal to overwrite. */
#include "../test.h"
#include "../progs.h"
#include "../../tools/commands.h"
#include "jark/image.h"
#include "jark/sdk.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static void jk_put(const char *dir, const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static const char *jk_at(const char *dir, const char *name)
{
    static char paths[8][256];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, 256, "%s/%s", dir, name);
    return p;
}

JK_TEST(test_tools_cc_flags_files_and_exit_codes)
{
    char dir[96], out[1024], err[1024];
    JK_REQUIRE(jk_test_tmpdir("tools-test", dir, sizeof dir));
    char inc[128];
    snprintf(inc, sizeof inc, "%s/inc", dir);
    JK_REQUIRE(mkdir(inc, 0700) == 0);
    jk_put(inc, "base.h", "#define BASE 100\nlong helper(long);\n");
    jk_put(dir, "main.c",
           "#include \"jark.h\"\n#include \"base.h\"\n"
           "#ifndef EXTRA\n#error EXTRA not defined\n#endif\n"
           "long value(void) { return helper(BASE + EXTRA); }\n"
           "long sign(void) { volatile char c = (char)0xff; return c < 0; }\n"
           "long boom(void) { __builtin_trap(); }\n"
           "JK_ENDPOINT(0, value);\nJK_ENDPOINT(1, sign);\nJK_ENDPOINT(2, boom);\n");
    jk_put(dir, "helper.c", "long helper(long x) { return x * 2; }\n");
    char *cc[] = {"-O2", "-DEXTRA=5", "-I", inc, (char *)jk_at(dir, "main.c"), (char *)jk_at(dir, "helper.c"),
                  "-o", (char *)jk_at(dir, "p.jkp")};
    JK_REQUIRE(jk_test_tool(jk_tool_cc, 8, cc, out, sizeof out, err, sizeof err) == 0);

    char *value[] = {(char *)jk_at(dir, "p.jkp"), "--entry", "value"};
    JK_CHECK_EQ(jk_test_tool(jk_tool_pvm_exec, 3, value, out, sizeof out, err, sizeof err), 0);
    JK_CHECK(strstr(err, "status=halt r7=210 ") != NULL); /* (100 + 5) * 2: -D, -I and both files */
    /* plain char is signed on the PVM, as on x86 (-fsigned-char) */
    char *sign[] = {(char *)jk_at(dir, "p.jkp"), "--entry", "sign"};
    JK_CHECK_EQ(jk_test_tool(jk_tool_pvm_exec, 3, sign, out, sizeof out, err, sizeof err), 0);
    JK_CHECK(strstr(err, "r7=1 ") != NULL);
    /* the guest said no: 1; with the map from `jark cc --map`, the line */
    char *boom[] = {(char *)jk_at(dir, "p.jkp"), "--entry", "boom"};
    JK_CHECK_EQ(jk_test_tool(jk_tool_pvm_exec, 3, boom, out, sizeof out, err, sizeof err), 1);
    JK_CHECK(strstr(err, "status=panic") != NULL);
    char *cc_map[] = {"-DEXTRA=5", "-I", inc, (char *)jk_at(dir, "main.c"), (char *)jk_at(dir, "helper.c"),
                      "-o", (char *)jk_at(dir, "m.jkp"), "--map", (char *)jk_at(dir, "m.map")};
    JK_REQUIRE(jk_test_tool(jk_tool_cc, 9, cc_map, out, sizeof out, err, sizeof err) == 0);
    uint8_t *with = NULL, *without = NULL;
    size_t with_len = 0, without_len = 0;
    JK_REQUIRE(jk_read_file(jk_at(dir, "m.jkp"), &with, &with_len, NULL) == JK_OK);
    JK_REQUIRE(jk_read_file(jk_at(dir, "p.jkp"), &without, &without_len, NULL) == JK_OK);
    JK_CHECK(with_len == without_len && memcmp(with, without, with_len) == 0); /* -g changes no byte */
    free(with);
    free(without);
    char *boom_map[] = {(char *)jk_at(dir, "m.jkp"), "--entry", "boom", "--map", (char *)jk_at(dir, "m.map")};
    JK_CHECK_EQ(jk_test_tool(jk_tool_pvm_exec, 5, boom_map, out, sizeof out, err, sizeof err), 1);
    JK_CHECK(strstr(err, "main.c:8\n") != NULL); /* the __builtin_trap() line */
    /* the same through the kernel: an image of the program, the fault's pc */
    jk_put(dir, "m.json", "{\"program\": \"m.jkp\"}");
    char *build[] = {"build", (char *)jk_at(dir, "m.json"), "-o", (char *)jk_at(dir, "m.img")};
    JK_REQUIRE(jk_test_tool(jk_tool_image, 4, build, out, sizeof out, err, sizeof err) == 0);
    char *run_map[] = {"run", (char *)jk_at(dir, "m.img"), "--endpoint", "boom", "--gas", "100000",
                       "--map", (char *)jk_at(dir, "m.map")};
    JK_CHECK_EQ(jk_test_tool(jk_tool_image, 8, run_map, out, sizeof out, err, sizeof err), 1);
    JK_CHECK(strstr(err, "outcome=fault") != NULL && strstr(err, "main.c:8\n") != NULL);
    /* usage and input errors: 2 */
    char *no_entry[] = {(char *)jk_at(dir, "p.jkp"), "--entry", "nonesuch"};
    JK_CHECK_EQ(jk_test_tool(jk_tool_pvm_exec, 3, no_entry, out, sizeof out, err, sizeof err), 2);
    JK_CHECK(strstr(err, "no endpoint 'nonesuch'") != NULL);
    char *missing[] = {(char *)jk_at(dir, "none.jkp")};
    JK_CHECK_EQ(jk_test_tool(jk_tool_pvm_exec, 1, missing, out, sizeof out, err, sizeof err), 2);
    char *no_define[] = {(char *)jk_at(dir, "main.c"), (char *)jk_at(dir, "helper.c"), "-I", inc, "-o",
                         (char *)jk_at(dir, "q.jkp")};
    JK_CHECK_EQ(jk_test_tool(jk_tool_cc, 6, no_define, out, sizeof out, err, sizeof err), 2);
    JK_CHECK(strstr(err, "EXTRA not defined") != NULL); /* the compiler's own message reaches the user */
    char *bad_flag[] = {"-D", "-x", (char *)jk_at(dir, "main.c"), "-o", (char *)jk_at(dir, "q.jkp")};
    JK_CHECK_EQ(jk_test_tool(jk_tool_cc, 5, bad_flag, out, sizeof out, err, sizeof err), 2);
    char *usage[] = {"--bogus"};
    JK_CHECK_EQ(jk_test_tool(jk_tool_cc, 1, usage, out, sizeof out, err, sizeof err), 2);

    /* pvm run: a program that traps exits 1 (it used to exit 0), one that halts 0 */
    jk_put(dir, "trap.s", "    trap\n");
    jk_put(dir, "halt.s", "    load_imm r0, 0xFFFF0000\n    jump_ind r0, 0\n");
    char *asm_trap[] = {(char *)jk_at(dir, "trap.s"), "-o", (char *)jk_at(dir, "trap.pvm")};
    char *asm_halt[] = {(char *)jk_at(dir, "halt.s"), "-o", (char *)jk_at(dir, "halt.pvm")};
    JK_REQUIRE(jk_test_tool(jk_tool_asm, 3, asm_trap, out, sizeof out, err, sizeof err) == 0);
    JK_REQUIRE(jk_test_tool(jk_tool_asm, 3, asm_halt, out, sizeof out, err, sizeof err) == 0);
    char *run_trap[] = {"run", (char *)jk_at(dir, "trap.pvm")}, *run_halt[] = {"run", (char *)jk_at(dir, "halt.pvm")};
    JK_CHECK_EQ(jk_test_tool(jk_tool_pvm, 2, run_trap, out, sizeof out, err, sizeof err), 1);
    JK_CHECK(strstr(out, "status=panic") != NULL);
    JK_CHECK_EQ(jk_test_tool(jk_tool_pvm, 2, run_halt, out, sizeof out, err, sizeof err), 0);
    char *run_missing[] = {"run", (char *)jk_at(dir, "none.pvm")};
    JK_CHECK_EQ(jk_test_tool(jk_tool_pvm, 2, run_missing, out, sizeof out, err, sizeof err), 2);
    jk_test_rm_tree(dir);
}

JK_TEST(test_tools_keygen)
{
    char dir[96], out[256], err[256];
    JK_REQUIRE(jk_test_tmpdir("keygen-test", dir, sizeof dir));
    char *keygen[] = {"-o", (char *)jk_at(dir, "a.key")};
    JK_CHECK_EQ(jk_test_tool(jk_tool_keygen, 2, keygen, out, sizeof out, err, sizeof err), 0);
    JK_CHECK(strncmp(out, "public ", 7) == 0 && strlen(out) == 7 + 64 + 1);
    struct stat st;
    JK_REQUIRE(stat(jk_at(dir, "a.key"), &st) == 0);
    JK_CHECK_EQ(st.st_mode & 0777, 0600);
    /* the key file says the same public key */
    FILE *f = fopen(jk_at(dir, "a.key"), "r");
    char text[256] = "";
    JK_REQUIRE(f);
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    JK_CHECK(strstr(text, out) != NULL);
    JK_CHECK_EQ(jk_test_tool(jk_tool_keygen, 2, keygen, out, sizeof out, err, sizeof err), 2);
    JK_CHECK(strstr(err, "never overwritten") != NULL);
    char *usage[] = {"a.key"};
    JK_CHECK_EQ(jk_test_tool(jk_tool_keygen, 1, usage, out, sizeof out, err, sizeof err), 2);
    jk_test_rm_tree(dir);
}

JK_TEST(test_tools_map_parse_refusals)
{
    jk_sdk_map *m = NULL;
    jk_diag diag = {{0}};
    static const char good[] = "0 a.c:3\n14 dir/b c.c:2\n";
    JK_REQUIRE(jk_sdk_map_parse(good, sizeof good - 1, &m, &diag) == JK_OK);
    const char *file = NULL;
    uint32_t line = 0;
    JK_CHECK(jk_sdk_map_find(m, 13, &file, &line) && !strcmp(file, "a.c") && line == 3);
    JK_CHECK(jk_sdk_map_find(m, 99, &file, &line) && !strcmp(file, "dir/b c.c") && line == 2);
    jk_sdk_map_free(m);
    static const struct {
        const char *text, *needle;
    } bad[] = {{"0 a.c:3", "no newline"}, {"5 a.c:3\n5 a.c:4\n", "not after"}, {"x a.c:3\n", "line 1"},
               {"0 a.c\n", "line 1"}, {"0 :3\n", "line 1"}, {"0 a.c:3\n1 a.c:\n", "line 2"},
               {"01 a.c:1\n", "line 1"}, {"99999999999 a.c:1\n", "line 1"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        diag.msg[0] = 0;
        JK_CHECK_EQ(jk_sdk_map_parse(bad[i].text, strlen(bad[i].text), &m, &diag), JK_ERR_PARSE);
        JK_CHECK(m == NULL && strstr(diag.msg, bad[i].needle) != NULL);
    }
}

/* `jark devnet` without --dir leaves nothing behind; keygen + event sign +
 * show + append through the commands, and the devnet refusing events for
 * another chain with exit 2. */
JK_TEST(test_tools_devnet_and_events)
{
    char dir[96], out[4096], err[1024];
    JK_REQUIRE(jk_test_tmpdir("devnet-cli", dir, sizeof dir));
    const char *old = getenv("TMPDIR");
    char *saved = old ? strdup(old) : NULL;
    setenv("TMPDIR", dir, 1);
    char *devnet[] = {"--blocks", "2", "--events-per-block", "2", "--validators", "2"};
    int rc = jk_test_tool(jk_tool_devnet, 6, devnet, out, sizeof out, err, sizeof err);
    if (saved)
        setenv("TMPDIR", saved, 1);
    else
        unsetenv("TMPDIR");
    free(saved);
    JK_CHECK_EQ(rc, 0);
    JK_CHECK(strstr(out, "same state root at every height: yes") != NULL);
    JK_CHECK(strstr(out, "workload demo") != NULL);
    /* the stores lived under TMPDIR and are gone: the folder is empty */
    JK_CHECK(rmdir(dir) == 0);
    JK_REQUIRE(mkdir(dir, 0700) == 0);

    /* with --dir they stay, and chain show recognises the demo by its image id */
    char *kept[] = {"--blocks", "2", "--events-per-block", "2", "--validators", "2", "--dir",
                    (char *)jk_at(dir, "demo")};
    JK_CHECK_EQ(jk_test_tool(jk_tool_devnet, 8, kept, out, sizeof out, err, sizeof err), 0);
    char *show_demo[] = {"--store", (char *)jk_at(dir, "demo"), "--accounts", "1"};
    JK_CHECK_EQ(jk_test_tool(jk_tool_chain_show, 4, show_demo, out, sizeof out, err, sizeof err), 0);
    JK_CHECK(strstr(out, "chain the demo") != NULL);
    JK_CHECK(strstr(out, "ledger 64 accounts, total balance 64000000") != NULL);
    char *slot[] = {"--store", (char *)jk_at(dir, "demo"), "--slot", "21", "--hex"};
    JK_CHECK_EQ(jk_test_tool(jk_tool_chain_show, 5, slot, out, sizeof out, err, sizeof err), 0);
    JK_CHECK(strncmp(out, "slot 21 data 160 bytes hash ", 28) == 0); /* 5 reporter keys, then their bytes */
    char *bad_slot[] = {"--store", (char *)jk_at(dir, "demo"), "--slot", "21.0"};
    JK_CHECK_EQ(jk_test_tool(jk_tool_chain_show, 4, bad_slot, out, sizeof out, err, sizeof err), 2);
    JK_CHECK(strstr(err, "not a CNode") != NULL);

    char *keygen[] = {"-o", (char *)jk_at(dir, "k.key")};
    JK_REQUIRE(jk_test_tool(jk_tool_keygen, 2, keygen, out, sizeof out, err, sizeof err) == 0);
    jk_put(dir, "blob", "hello");
    jk_put(dir, "msg", "consent");
    static const char g1[] = "1111111111111111111111111111111111111111111111111111111111111111";
    static const char g2[] = "2222222222222222222222222222222222222222222222222222222222222222";
    char attest[300];
    snprintf(attest, sizeof attest, "%s:%s", jk_at(dir, "k.key"), jk_at(dir, "msg"));
    char *sign[] = {"sign", "--genesis", (char *)g1, "--key", (char *)jk_at(dir, "k.key"), "--endpoint", "dispatch:2",
                    "--blob", (char *)jk_at(dir, "blob"), "--attest", attest, "-o", (char *)jk_at(dir, "ev")};
    JK_CHECK_EQ(jk_test_tool(jk_tool_event, 13, sign, out, sizeof out, err, sizeof err), 0);
    char *append[] = {"sign", "--genesis", (char *)g1, "--endpoint", "transact", "--blob", (char *)jk_at(dir, "blob"),
                      "-o", (char *)jk_at(dir, "ev"), "--append"};
    JK_CHECK_EQ(jk_test_tool(jk_tool_event, 10, append, out, sizeof out, err, sizeof err), 0);
    JK_CHECK(strstr(out, ": 2 events") != NULL);
    char *show[] = {"show", (char *)jk_at(dir, "ev")};
    JK_CHECK_EQ(jk_test_tool(jk_tool_event, 2, show, out, sizeof out, err, sizeof err), 0);
    JK_CHECK(strstr(out, "genesis 1111") != NULL);
    JK_CHECK(strstr(out, "event 0 dispatch:2 blob 5 bytes traces 2") != NULL);
    JK_CHECK(strstr(out, "event 1 transact blob 5 bytes traces 0") != NULL);
    /* appending for another chain, a bad endpoint: input errors */
    append[2] = (char *)g2;
    JK_CHECK_EQ(jk_test_tool(jk_tool_event, 10, append, out, sizeof out, err, sizeof err), 2);
    JK_CHECK(strstr(err, "another chain") != NULL);
    append[2] = (char *)g1;
    append[4] = "dispatch:13";
    JK_CHECK_EQ(jk_test_tool(jk_tool_event, 10, append, out, sizeof out, err, sizeof err), 2);
    /* the demo devnet refuses events signed for another genesis */
    char *run[] = {"--events", (char *)jk_at(dir, "ev"), "--blocks", "1", "--dir", (char *)jk_at(dir, "stores")};
    JK_CHECK_EQ(jk_test_tool(jk_tool_devnet, 6, run, out, sizeof out, err, sizeof err), 2);
    JK_CHECK(strstr(err, "signed for genesis 1111111111111111") != NULL);
    jk_test_rm_tree(dir);
}

/* A truncated JSON file reads "unexpected end of input", not json-c's
 * "continue" (the manifest; the chain spec is tested in test_spec.c). */
JK_TEST(test_tools_truncated_json_message)
{
    char dir[96];
    JK_REQUIRE(jk_test_tmpdir("json-test", dir, sizeof dir));
    jk_put(dir, "m.json", "{\"program\": ");
    jk_image_file *f = calloc(1, sizeof *f);
    JK_REQUIRE(f);
    jk_diag diag = {{0}};
    JK_CHECK_EQ(jk_image_manifest_build(jk_at(dir, "m.json"), f, &diag), JK_ERR_PARSE);
    JK_CHECK(strstr(diag.msg, "unexpected end of input") != NULL);
    JK_CHECK(strstr(diag.msg, "continue") == NULL);
    jk_image_file_clear(f);
    free(f);
    jk_test_rm_tree(dir);
}

/* The final state root a devnet run printed ("state root <64 hex>"). */
static bool jk_devnet_root(const char *out, char root[65])
{
    const char *p = strstr(out, "state root ");
    if (!p || strlen(p + 11) < 64)
        return false;
    memcpy(root, p + 11, 64);
    root[64] = 0;
    return true;
}

/* --engine on the commands that run chains: both engines give the same roots;
 * a bad value is a usage error. */
JK_TEST(test_tools_devnet_engine_flag)
{
    static char out[1 << 16], err[4096];
    char roots[2][65];
    const char *names[2] = {"interp", "jit"};
    for (int e = 0; e < 2; e++) {
        char *argv[] = {"--blocks", "3", "--events-per-block", "4", "--validators", "4", "--engine", (char *)names[e]};
        JK_CHECK_EQ(jk_test_tool(jk_tool_devnet, 8, argv, out, sizeof out, err, sizeof err), 0);
        JK_CHECK_EQ(jk_pvm_auto_engine(), e ? JK_PVM_ENGINE_JIT : JK_PVM_ENGINE_INTERP);
        JK_CHECK(jk_devnet_root(out, roots[e]));
    }
    jk_pvm_set_auto_engine(JK_PVM_ENGINE_JIT); /* the process default, for the tests after this one */
    JK_CHECK(!strcmp(roots[0], roots[1]));
    char *bad[] = {"--blocks", "1", "--engine", "turbo"};
    JK_CHECK_EQ(jk_test_tool(jk_tool_devnet, 4, bad, out, sizeof out, err, sizeof err), 2);
    JK_CHECK(strstr(err, "--engine wants interp, jit or auto") != NULL);
}

/* A resumed devnet takes its events file as the whole run's and skips the
 * events blocks 1..h had: it now says so (outsider5 lost a new file's first
 * events without a word). The demo chain refuses these events (their blobs
 * are no transfers); only the count matters. */
JK_TEST(test_tools_devnet_resume_says_what_it_skips)
{
    char dir[96], out[4096], err[1024];
    JK_REQUIRE(jk_test_tmpdir("devnet-resume", dir, sizeof dir));
    char *first[] = {"--workload", "none", "--blocks", "1", "--validators", "1", "--dir",
                     (char *)jk_at(dir, "stores")};
    JK_REQUIRE(jk_test_tool(jk_tool_devnet, 8, first, out, sizeof out, err, sizeof err) == 0);
    const char *g = strstr(out, "genesis ");
    JK_REQUIRE(g != NULL && strlen(g) > 8 + 64);
    char genesis[65];
    memcpy(genesis, g + 8, 64);
    genesis[64] = 0;
    jk_put(dir, "blob", "not a transfer");
    for (int i = 0; i < 5; i++) {
        char *sign[] = {"sign", "--genesis", genesis, "--endpoint", "transact", "--blob",
                        (char *)jk_at(dir, "blob"), "-o", (char *)jk_at(dir, "ev"), "--append"};
        JK_REQUIRE(jk_test_tool(jk_tool_event, i ? 10 : 9, sign, out, sizeof out, err, sizeof err) == 0);
    }
    /* at height 1 with 2 events a block: the file's first 2 are block 1's */
    char *resume[] = {"--events", (char *)jk_at(dir, "ev"), "--events-per-block", "2", "--blocks", "1",
                      "--validators", "1", "--dir", (char *)jk_at(dir, "stores")};
    int rc = jk_test_tool(jk_tool_devnet, 10, resume, out, sizeof out, err, sizeof err);
    if (rc != 0)
        printf("devnet resume: %s\n", err);
    JK_CHECK_EQ(rc, 0);
    JK_CHECK(strstr(out, "resumed at height 1: the events file's first 2 events are taken as "
                         "blocks 1..1's and skipped") != NULL);
    /* the round-robin devnet (no consensus), now at height 2: 4 skipped */
    char *rr[] = {"--events", (char *)jk_at(dir, "ev"), "--events-per-block", "2", "--blocks", "1",
                  "--validators", "1", "--dir", (char *)jk_at(dir, "stores"), "--round-robin"};
    rc = jk_test_tool(jk_tool_devnet, 11, rr, out, sizeof out, err, sizeof err);
    if (rc != 0)
        printf("devnet resume --round-robin: %s\n", err);
    JK_CHECK_EQ(rc, 0);
    JK_CHECK(strstr(out, "resumed at height 2: the events file's first 4 events are taken as "
                         "blocks 1..2's and skipped") != NULL);
    jk_test_rm_tree(dir);
}
