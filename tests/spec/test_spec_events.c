/* test_spec_events.c — events files and key files (src/spec/events.c,
 * keys.c): round trips, the strict decoders' refusals, and a devnet of a
 * chain that is not the demo running on events from a file, with its
 * validator's key from a key file (src/devnet). */
#include "../test.h"
#include "jark/devnet.h"
#include "jark/spec.h"
#include "../progs.h"
#include "../../tools/commands.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static jk_spec_key jk_key_from(uint8_t fill)
{
    uint8_t seed[32];
    memset(seed, fill, sizeof seed);
    jk_spec_key k;
    jk_crypto_init();
    jk_crypto_ed25519_keypair_from_seed(seed, k.public_key, k.secret);
    return k;
}

JK_TEST(test_spec_events_round_trip_and_traces)
{
    jk_spec_key alice = jk_key_from(1), bob = jk_key_from(2);
    jk_spec_events list = {0};
    memset(list.genesis.bytes, 7, 32);
    const uint8_t blob[] = "transfer", msg[] = "bob agrees";
    jk_spec_attest attests[2] = {{alice.secret, blob, sizeof blob}, {bob.secret, msg, sizeof msg}};
    JK_REQUIRE(jk_spec_events_sign(&list, JK_CHAIN_ENDPOINT_TRANSACT, blob, sizeof blob, attests, 2) == JK_OK);
    JK_REQUIRE(jk_spec_events_sign(&list, jk_chain_endpoint_dispatch(2), NULL, 0, NULL, 0) == JK_OK);
    uint8_t *bytes = NULL;
    size_t len = 0;
    JK_REQUIRE(jk_spec_events_encode(&list, &bytes, &len) == JK_OK);
    JK_CHECK_EQ(len, 6 + 1 + 32 + 4 + (12 + sizeof blob + 2 * 128) + 12);
    jk_spec_events back;
    jk_diag diag = {{0}};
    JK_REQUIRE(jk_spec_events_decode(bytes, len, &back, &diag) == JK_OK);
    JK_CHECK_EQ(back.count, 2);
    JK_CHECK(memcmp(back.genesis.bytes, list.genesis.bytes, 32) == 0);
    JK_CHECK_EQ(back.events[1].endpoint, 3);
    JK_CHECK_EQ(back.events[1].blob_len, 0);
    /* the traces are what the AA's attests during verify look for: bound to
     * this genesis, each to its own message */
    const jk_spec_event *e = &back.events[0];
    JK_CHECK_EQ(e->trace_count, 2);
    JK_CHECK_EQ(jk_chain_trace_verify(&e->traces[0], alice.public_key, &list.genesis, blob, sizeof blob), JK_OK);
    JK_CHECK_EQ(jk_chain_trace_verify(&e->traces[1], bob.public_key, &list.genesis, msg, sizeof msg), JK_OK);
    jk_hash other;
    memset(other.bytes, 8, 32);
    JK_CHECK_EQ(jk_chain_trace_verify(&e->traces[0], alice.public_key, &other, blob, sizeof blob),
                JK_ERR_CHAIN_TRACE_MSG);

    /* Every strict prefix is refused with a reason; so is a byte more. */
    size_t refused = 0;
    for (size_t n = 0; n < len; n++) {
        jk_spec_events cut;
        diag.msg[0] = 0;
        if (jk_spec_events_decode(bytes, n, &cut, &diag) == JK_ERR_PARSE && diag.msg[0] && cut.count == 0)
            refused++;
    }
    JK_CHECK_EQ(refused, len);
    uint8_t *longer = malloc(len + 1);
    JK_REQUIRE(longer);
    memcpy(longer, bytes, len);
    longer[len] = 0;
    jk_spec_events extra;
    JK_CHECK_EQ(jk_spec_events_decode(longer, len + 1, &extra, &diag), JK_ERR_PARSE);
    JK_CHECK(strstr(diag.msg, "after the last event") != NULL);
    /* an endpoint past the last dispatch, a version from the future */
    memcpy(longer, bytes, len);
    longer[6 + 1 + 32 + 4] = JK_CHAIN_MAX_DISPATCH_ENDPOINTS + 1;
    jk_spec_events bad;
    JK_CHECK_EQ(jk_spec_events_decode(longer, len, &bad, &diag), JK_ERR_PARSE);
    JK_CHECK(strstr(diag.msg, "event 0: endpoint") != NULL);
    memcpy(longer, bytes, len);
    longer[6] = 2;
    JK_CHECK_EQ(jk_spec_events_decode(longer, len, &bad, &diag), JK_ERR_PARSE);
    JK_CHECK(strstr(diag.msg, "version 2") != NULL);
    free(longer);
    free(bytes);
    jk_spec_events_free(&back);
    jk_spec_events_free(&list);
    /* the bounds hold on the way in too */
    JK_CHECK_EQ(jk_spec_events_add(&list, JK_CHAIN_MAX_DISPATCH_ENDPOINTS + 1, NULL, 0, NULL, 0), JK_ERR_INVALID_ARG);
    JK_CHECK_EQ(list.count, 0);
}

JK_TEST(test_spec_key_files)
{
    char dir[96], path[128];
    JK_REQUIRE(jk_test_tmpdir("key-test", dir, sizeof dir));
    snprintf(path, sizeof path, "%s/k.key", dir);
    jk_spec_key k, back;
    jk_diag diag = {{0}};
    JK_REQUIRE(jk_spec_key_generate(&k) == JK_OK);
    JK_REQUIRE(jk_spec_key_save(path, &k, &diag) == JK_OK);
    struct stat st;
    JK_REQUIRE(stat(path, &st) == 0);
    JK_CHECK_EQ(st.st_mode & 0777, 0600);
    JK_CHECK_EQ(st.st_size, JK_SPEC_KEY_TEXT_LEN);
    JK_REQUIRE(jk_spec_key_load(path, &back, &diag) == JK_OK);
    JK_CHECK(memcmp(&k, &back, sizeof k) == 0);
    /* never overwritten */
    jk_spec_key other;
    JK_REQUIRE(jk_spec_key_generate(&other) == JK_OK);
    JK_CHECK_EQ(jk_spec_key_save(path, &other, &diag), JK_ERR_IO);
    JK_CHECK(strstr(diag.msg, "never overwritten") != NULL);
    JK_REQUIRE(jk_spec_key_load(path, &back, &diag) == JK_OK);
    JK_CHECK(memcmp(back.public_key, k.public_key, 32) == 0);
    /* two generated keys differ */
    JK_CHECK(memcmp(other.public_key, k.public_key, 32) != 0);

    char text[JK_SPEC_KEY_TEXT_LEN + 1];
    jk_spec_key_format(&k, text);
    struct {
        size_t at;
        char c;
        const char *needle;
    } bad[] = {{0, 'J', "line 1"}, {30, 'G', "line 2"}, {30, 'A', "line 2"}, {100, 'x', "line 3"},
               {JK_SPEC_KEY_TEXT_LEN - 1, ' ', "line 3"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char copy[sizeof text];
        memcpy(copy, text, sizeof text);
        copy[bad[i].at] = bad[i].c;
        JK_CHECK_EQ(jk_spec_key_parse((const uint8_t *)copy, JK_SPEC_KEY_TEXT_LEN, &back, &diag), JK_ERR_PARSE);
        JK_CHECK(strstr(diag.msg, bad[i].needle) != NULL);
    }
    /* a public key that is not the seed's: a valid hex digit changed */
    char copy[sizeof text];
    memcpy(copy, text, sizeof text);
    copy[97] = copy[97] == '0' ? '1' : '0';
    JK_CHECK_EQ(jk_spec_key_parse((const uint8_t *)copy, JK_SPEC_KEY_TEXT_LEN, &back, &diag), JK_ERR_PARSE);
    JK_CHECK(strstr(diag.msg, "not the seed's") != NULL);
    JK_CHECK_EQ(jk_spec_key_parse((const uint8_t *)text, JK_SPEC_KEY_TEXT_LEN - 1, &back, &diag), JK_ERR_PARSE);
    jk_test_rm_tree(dir);
}

/* A chain that is not the demo (tests/chain/progs: blob = key ‖ kind ‖
 * text, the key must attest the blob) run by the devnet on an events file,
 * its one validator's key given. */
JK_TEST(test_spec_devnet_runs_any_chain_on_events)
{
    char dir[96], spec_path[128], cwd[256], text[4096], stores[160];
    JK_REQUIRE(jk_test_tmpdir("events-test", dir, sizeof dir) && getcwd(cwd, sizeof cwd));
    jk_spec_key v0 = jk_key_from(9), alice = jk_key_from(10), mallory = jk_key_from(11);
    char v0_hex[65];
    for (int i = 0; i < 32; i++)
        snprintf(v0_hex + 2 * i, 3, "%02x", v0.public_key[i]);
    snprintf(spec_path, sizeof spec_path, "%s/spec.json", dir);
    snprintf(text, sizeof text,
             "{\"programs\": {\"chain\": \"%s/tests/chain/progs/chain.c\", \"verify\": \"%s/tests/chain/progs/verify.c\","
             " \"transact\": \"%s/tests/chain/progs/transact.c\", \"dispatch_instance\": \"%s/tests/chain/progs/dinst.c\","
             " \"aa\": \"%s/tests/chain/progs/aa.c\", \"dispatch\": [\"%s/tests/chain/progs/process.c\"]},"
             " \"validators\": [\"%s\"],"
             " \"gas\": {\"transform\": 1000000, \"verify\": 1000000, \"process\": 1000000, \"block\": 9000000}}",
             cwd, cwd, cwd, cwd, cwd, cwd, v0_hex);
    FILE *f = fopen(spec_path, "w");
    JK_REQUIRE(f);
    fputs(text, f);
    fclose(f);
    jk_spec_file spec;
    jk_chain_genesis g;
    jk_diag diag = {{0}};
    JK_REQUIRE(jk_spec_file_load(spec_path, NULL, &spec, &diag) == JK_OK);
    JK_REQUIRE(jk_chain_genesis_build(&spec.spec, &g, &diag) == JK_OK);
    jk_cap_release(g.chain);
    jk_spec_file_free(&spec);

    /* alice's event, signed by alice; mallory's claims alice's key */
    jk_spec_events list = {0};
    list.genesis = g.genesis_hash;
    uint8_t blob[38];
    memcpy(blob, alice.public_key, 32);
    memcpy(blob + 32, "Thello", 6);
    jk_spec_attest by_alice = {alice.secret, blob, sizeof blob}, by_mallory = {mallory.secret, blob, sizeof blob};
    JK_REQUIRE(jk_spec_events_sign(&list, JK_CHAIN_ENDPOINT_TRANSACT, blob, sizeof blob, &by_mallory, 1) == JK_OK);
    JK_REQUIRE(jk_spec_events_sign(&list, JK_CHAIN_ENDPOINT_TRANSACT, blob, sizeof blob, &by_alice, 1) == JK_OK);

    snprintf(stores, sizeof stores, "%s/stores", dir);
    jk_devnet_options o = {4, 2, 8, 1, 0, stores, true, 0, 0};
    o.spec_path = spec_path;
    o.events = &list;
    o.validator_keys = &v0;
    o.validator_key_count = 1;
    jk_devnet_result r;
    JK_CHECK_EQ(jk_devnet_run(&o, &r), 0);
    JK_CHECK(r.agree);
    JK_CHECK_EQ(r.height, 2);
    JK_CHECK_EQ(r.events, 1); /* mallory's forgery was not admitted */
    JK_CHECK_EQ(r.traces, 1);
    JK_CHECK(memcmp(r.genesis.bytes, g.genesis_hash.bytes, 32) == 0);

    /* `jark chain show` prints this chain's raw slots, and no demo view: the
     * chain is not the demo, whatever its slots hold */
    char out[4096], *show[] = {"--store", stores, "--hex"};
    JK_CHECK_EQ(jk_test_tool(jk_tool_chain_show, 3, show, out, sizeof out, NULL, 0), 0);
    JK_CHECK(strstr(out, "height 2\n") != NULL);
    JK_CHECK(strstr(out, "chain_image ") != NULL);
    JK_CHECK(strstr(out, "the demo") == NULL && strstr(out, "ledger") == NULL);

    /* events signed for another chain are refused before anything runs */
    memset(list.genesis.bytes, 0, 32);
    JK_CHECK_EQ(jk_devnet_run(&o, &r), 2);
    JK_CHECK(strstr(r.reason, "signed for genesis 0000000000000000") != NULL);
    /* the spec names a validator: its key must be the spec's */
    list.genesis = g.genesis_hash;
    o.validator_keys = &alice;
    JK_CHECK_EQ(jk_devnet_run(&o, &r), 2);
    JK_CHECK(strstr(r.reason, "not the spec's validators[0]") != NULL);
    jk_spec_events_free(&list);
    jk_test_rm_tree(dir);
}

/* Build `text` as spec.json in dir and load it with opts; stderr (the
 * compiler's messages for a program that must not build) is kept out of the
 * test output. */
static jk_err jk_load_text(const char *dir, const char *text, const jk_sdk_options *opts, jk_spec_file *f,
                           jk_diag *diag)
{
    char path[160];
    snprintf(path, sizeof path, "%s/spec.json", dir);
    FILE *out = fopen(path, "w");
    if (!out)
        return JK_ERR_IO;
    fputs(text, out);
    fclose(out);
    int saved = dup(2);
    FILE *null = fopen("/dev/null", "w");
    if (null)
        dup2(fileno(null), 2);
    jk_err err = jk_spec_file_load(path, opts, f, diag);
    fflush(stderr);
    if (saved >= 0) {
        dup2(saved, 2);
        close(saved);
    }
    if (null)
        fclose(null);
    return err;
}

/* A role may name several C files built together; build options (-D, -I)
 * reach every C program a spec names and change its genesis. */
JK_TEST(test_spec_programs_several_files_and_build_options)
{
    char dir[96], cwd[256], text[4096], extra[160], flagged[160];
    JK_REQUIRE(jk_test_tmpdir("spec-files", dir, sizeof dir) && getcwd(cwd, sizeof cwd));
    snprintf(extra, sizeof extra, "%s/extra.c", dir);
    snprintf(flagged, sizeof flagged, "%s/flagged.c", dir);
    FILE *f = fopen(extra, "w");
    JK_REQUIRE(f);
    fputs("long jk_extra_helper(long x) { return x + 1; }\n", f);
    fclose(f);
    f = fopen(flagged, "w");
    JK_REQUIRE(f);
    fprintf(f, "#ifndef FLAG\n#error FLAG is a build option\n#endif\n"
               "__attribute__((used)) static const long jk_flag = FLAG;\n#include \"%s/tests/chain/progs/process.c\"\n",
            cwd);
    fclose(f);
    const char *fmt =
        "{\"programs\": {\"chain\": \"%s/tests/chain/progs/chain.c\", \"verify\": [\"%s/tests/chain/progs/verify.c\", "
        "\"extra.c\"], \"transact\": %s, \"dispatch_instance\": \"%s/tests/chain/progs/dinst.c\","
        " \"aa\": \"%s/tests/chain/progs/aa.c\", \"dispatch\": [[\"flagged.c\"]]},"
        " \"validators\": [\"0101010101010101010101010101010101010101010101010101010101010101\"],"
        " \"gas\": {\"transform\": 1000000, \"verify\": 1000000, \"process\": 1000000, \"block\": 9000000}}";
    char transact[400];
    snprintf(transact, sizeof transact, "\"%s/tests/chain/progs/transact.c\"", cwd);
    snprintf(text, sizeof text, fmt, cwd, cwd, transact, cwd, cwd);
    jk_spec_file spec;
    jk_diag diag = {{0}};
    /* without -DFLAG the dispatch program does not build, and the refusal names it */
    JK_CHECK_EQ(jk_load_text(dir, text, NULL, &spec, &diag), JK_ERR_IO);
    JK_CHECK(strstr(diag.msg, "flagged.c does not build") != NULL);
    const char *one[] = {"FLAG=1"}, *two[] = {"FLAG=2"};
    jk_sdk_options o1 = {.defines = one, .define_count = 1}, o2 = {.defines = two, .define_count = 1};
    jk_chain_genesis g1, g2;
    JK_REQUIRE(jk_load_text(dir, text, &o1, &spec, &diag) == JK_OK);
    JK_REQUIRE(jk_chain_genesis_build(&spec.spec, &g1, &diag) == JK_OK);
    jk_spec_file_free(&spec);
    JK_REQUIRE(jk_load_text(dir, text, &o2, &spec, &diag) == JK_OK);
    JK_REQUIRE(jk_chain_genesis_build(&spec.spec, &g2, &diag) == JK_OK);
    jk_spec_file_free(&spec);
    JK_CHECK(memcmp(g1.genesis_hash.bytes, g2.genesis_hash.bytes, 32) != 0);
    jk_cap_release(g2.chain);
    /* max_event_traces: optional, 1..1024, part of the genesis */
    char *gas_at = strstr(text, " \"gas\"");
    JK_REQUIRE(gas_at);
    char with_max[4200];
    snprintf(with_max, sizeof with_max, "%.*s \"max_event_traces\": 2,%s", (int)(gas_at - text), text, gas_at);
    JK_REQUIRE(jk_load_text(dir, with_max, &o1, &spec, &diag) == JK_OK);
    JK_CHECK_EQ(spec.spec.max_event_traces, 2);
    JK_REQUIRE(jk_chain_genesis_build(&spec.spec, &g2, &diag) == JK_OK);
    jk_spec_file_free(&spec);
    JK_CHECK(memcmp(g1.genesis_hash.bytes, g2.genesis_hash.bytes, 32) != 0);
    jk_cap_release(g1.chain);
    jk_cap_release(g2.chain);
    snprintf(with_max, sizeof with_max, "%.*s \"max_event_traces\": 0,%s", (int)(gas_at - text), text, gas_at);
    JK_CHECK_EQ(jk_load_text(dir, with_max, &o1, &spec, &diag), JK_ERR_PARSE);
    JK_CHECK(strstr(diag.msg, "max_event_traces") != NULL);
    /* several files must all be C; an empty list is no program */
    snprintf(transact, sizeof transact, "[\"%s/tests/chain/progs/transact.c\", \"prog.jkp\"]", cwd);
    snprintf(text, sizeof text, fmt, cwd, cwd, transact, cwd, cwd);
    JK_CHECK_EQ(jk_load_text(dir, text, &o1, &spec, &diag), JK_ERR_PARSE);
    JK_CHECK(strstr(diag.msg, "prog.jkp: several files of one program must all be C") != NULL);
    snprintf(text, sizeof text, fmt, cwd, cwd, "[]", cwd, cwd);
    JK_CHECK_EQ(jk_load_text(dir, text, &o1, &spec, &diag), JK_ERR_PARSE);
    JK_CHECK(strstr(diag.msg, "programs.transact") != NULL);
    jk_test_rm_tree(dir);
}
