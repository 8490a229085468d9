/* test_spec.c — chain-spec files (src/spec): loading, C programs
 * compiled on the way, and the refusals that name their field. */
#include "../test.h"
#include "../progs.h"
#include "jark/spec.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void jk_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

JK_TEST(test_chain_spec_file_loads_and_refuses)
{
    char dir[96], path[128], cwd[512], text[4096];
    JK_REQUIRE(jk_test_tmpdir("spec-test", dir, sizeof dir) && getcwd(cwd, sizeof cwd));
    snprintf(path, sizeof path, "%s/spec.json", dir);
    const char *progs_fmt =
        "{\"programs\": {\"chain\": \"%s/tests/chain/progs/chain.c\", \"verify\": \"%s/tests/chain/progs/verify.c\","
        " \"transact\": \"%s/tests/chain/progs/transact.c\", \"dispatch_instance\": \"%s/tests/chain/progs/dinst.c\","
        " \"aa\": \"%s/tests/chain/progs/aa.c\", \"dispatch\": [\"%s/tests/chain/progs/process.c\"]},"
        " \"state\": [{\"slot\": 20, \"data_hex\": \"0a0b\"}, {\"slot\": 21, \"data_zero\": 100}],"
        " \"validators\": [\"%064x\"], %s}";
    snprintf(text, sizeof text, progs_fmt, cwd, cwd, cwd, cwd, cwd, cwd, 5,
             "\"gas\": {\"transform\": 1000000, \"verify\": 1000000, \"process\": 1000000, \"block\": 9000000}");
    jk_write(path, text);
    jk_spec_file f;
    jk_diag diag = {{0}};
    JK_REQUIRE(jk_spec_file_load(path, NULL, &f, &diag) == JK_OK);
    JK_CHECK_EQ(f.spec.dispatch_count, 1);
    JK_CHECK_EQ(f.spec.state_count, 2);
    JK_CHECK_EQ(f.spec.state_len[1], 100);
    JK_CHECK_EQ(f.spec.validator_count, 1);
    JK_CHECK_EQ(f.spec.validators[0][31], 5);
    JK_CHECK_EQ(f.spec.gas.block, 9000000);
    jk_chain_genesis g;
    JK_CHECK_EQ(jk_chain_genesis_build(&f.spec, &g, NULL), JK_OK);
    jk_cap_release(g.chain);
    jk_spec_file_free(&f);

    struct {
        const char *gas_part, *needle;
    } bad[] = {{"\"gas\": {\"transform\": 1}", "gas.verify"},
               {"\"gas\": {\"transform\": 1, \"verify\": 1, \"process\": 1, \"block\": 1}, \"extra\": 0", "unknown key 'extra'"}};
    for (int i = 0; i < 2; i++) {
        snprintf(text, sizeof text, progs_fmt, cwd, cwd, cwd, cwd, cwd, cwd, 5, bad[i].gas_part);
        jk_write(path, text);
        diag.msg[0] = 0;
        JK_CHECK_EQ(jk_spec_file_load(path, NULL, &f, &diag), JK_ERR_PARSE);
        JK_CHECK(strstr(diag.msg, bad[i].needle) != NULL);
    }
    jk_write(path, "{\"programs\": {\"chain\": \"nope.jkp\"}}");
    JK_CHECK_EQ(jk_spec_file_load(path, NULL, &f, &diag), JK_ERR_IO);
    JK_CHECK(strstr(diag.msg, "nope.jkp") != NULL);
    jk_write(path, "{\"programs\": {}, \"validators\": [\"zz\"]}");
    JK_CHECK_EQ(jk_spec_file_load(path, NULL, &f, &diag), JK_ERR_PARSE);
    JK_CHECK(strstr(diag.msg, "programs.chain") != NULL);
    jk_write(path, "not json");
    JK_CHECK_EQ(jk_spec_file_load(path, NULL, &f, &diag), JK_ERR_PARSE);
    /* a truncated spec says so in words, not json-c's "continue" */
    jk_write(path, "{\"programs\": {\"chain\": ");
    JK_CHECK_EQ(jk_spec_file_load(path, NULL, &f, &diag), JK_ERR_PARSE);
    JK_CHECK(strstr(diag.msg, "unexpected end of input") != NULL);
    JK_CHECK(strstr(diag.msg, "continue") == NULL);
    unlink(path);
    rmdir(dir);
}

/* A spec without "programs.aa" gets the SDK's standard AA (sdk/aa.c), the
 * same program its source builds to; the chain's genesis works with it. */
JK_TEST(test_chain_spec_aa_defaults_to_the_sdk_standard_one)
{
    char dir[96], path[128], cwd[512], text[4096];
    JK_REQUIRE(jk_test_tmpdir("spec-aa", dir, sizeof dir) && getcwd(cwd, sizeof cwd));
    snprintf(path, sizeof path, "%s/spec.json", dir);
    snprintf(text, sizeof text,
             "{\"programs\": {\"chain\": \"%s/tests/chain/progs/chain.c\", \"verify\": \"%s/tests/chain/progs/verify.c\","
             " \"transact\": \"%s/tests/chain/progs/transact.c\", \"dispatch_instance\": \"%s/tests/chain/progs/dinst.c\","
             " \"dispatch\": [\"%s/tests/chain/progs/process.c\"]},"
             " \"validators\": [\"%064x\"],"
             " \"gas\": {\"transform\": 1000000, \"verify\": 1000000, \"process\": 1000000, \"block\": 9000000}}",
             cwd, cwd, cwd, cwd, cwd, 5);
    jk_write(path, text);
    jk_spec_file f;
    jk_diag diag = {{0}};
    JK_REQUIRE(jk_spec_file_load(path, NULL, &f, &diag) == JK_OK);
    uint8_t *want = NULL;
    size_t want_len = 0;
    JK_REQUIRE(jk_sdk_build_one("sdk/aa.c", &want, &want_len, NULL) == JK_OK);
    JK_CHECK_EQ(f.spec.aa_len, want_len);
    JK_CHECK(f.spec.aa_len == want_len && !memcmp(f.spec.aa, want, want_len));
    jk_chain_genesis g;
    JK_CHECK_EQ(jk_chain_genesis_build(&f.spec, &g, NULL), JK_OK);
    jk_cap_release(g.chain);
    free(want);
    jk_spec_file_free(&f);
}
