/* test_spec_refusals.c — what an outsider tried against a chain spec
 * (docs/chain-spec.md) and the parser once took without a word: a key given
 * twice (json-c keeps the last), a number past int64 (json-c clamps it), a
 * negative budget, unknown keys below the top level, a state entry with two
 * kinds of data, `state` or `validators` of the wrong type, a repeated
 * validator key, comments and trailing commas. Each must be JK_ERR_PARSE (so
 * `jark chain genesis` exits 2) with a message naming the field. */
#include "../test.h"
#include "jark/spec.h"

#include <stdlib.h>
#include <string.h>

/* Every name reads as one byte: the parser never compiles or runs it. */
static jk_err fake_reader(void *ctx, const char *const *names, size_t count, bool program, uint8_t **out,
                          size_t *len, jk_diag *diag)
{
    (void)ctx, (void)names, (void)count, (void)program, (void)diag;
    *out = malloc(1);
    if (!*out)
        return JK_ERR_NOMEM;
    **out = 0;
    *len = 1;
    return JK_OK;
}

#define PROGS "\"programs\": {\"chain\": \"c.c\", \"verify\": \"v.c\", \"transact\": \"t.c\", \"dispatch_instance\": \"d.c\", \"aa\": \"a.c\", \"dispatch\": [\"p.c\"]}"
#define KEY0 "\"0000000000000000000000000000000000000000000000000000000000000000\""
#define KEY1 "\"1111111111111111111111111111111111111111111111111111111111111111\""
#define VALS "\"validators\": [" KEY0 "]"
#define GAS "\"gas\": {\"transform\": 1, \"verify\": 2, \"process\": 3, \"block\": 4}"

static jk_err parse(const char *text, jk_diag *diag)
{
    jk_spec_file f;
    diag->msg[0] = 0;
    jk_err err = jk_spec_file_parse(text, strlen(text), fake_reader, NULL, &f, diag);
    if (err == JK_OK)
        jk_spec_file_free(&f);
    return err;
}

JK_TEST(test_spec_refusals)
{
    jk_diag diag;
    /* the base spec parses, with its state and a single-quoted key (json-c allows it) */
    JK_REQUIRE(parse("{" PROGS ", \"state\": [{\"slot\": 20, \"data_hex\": \"00\"}, {'slot': 21, \"data_zero\": 8}], "
                     VALS ", " GAS "}", &diag) == JK_OK);
    JK_CHECK(parse("{" PROGS ", " VALS ", \"gas\": {\"transform\": 0, \"verify\": 0, \"process\": 0, \"block\": "
                   "9223372036854775806}}", &diag) == JK_OK);
    struct {
        const char *text, *needle;
    } bad[] = {
        {"{" PROGS ", " VALS ", " GAS ", " GAS "}", "key 'gas' given twice"},
        {"{" PROGS ", " VALS ", 'gas': {}, " GAS "}", "key 'gas' given twice"},
        {"{" PROGS ", \"state\": [{\"slot\": 20, \"slot\": 21, \"data_hex\": \"00\"}], " VALS ", " GAS "}",
         "key 'slot' given twice"},
        {"{" PROGS ", " VALS ", \"gas\": {\"transform\": 1, \"verify\": 2, \"process\": 3, \"block\": "
         "99999999999999999999999}}", "the number 99999999999999999999999 is out of range"},
        {"{" PROGS ", " VALS ", \"gas\": {\"transform\": 1, \"verify\": 2, \"process\": 3, \"block\": "
         "9223372036854775807}}", "gas.block: a whole number"},
        {"{" PROGS ", " VALS ", \"gas\": {\"transform\": -1, \"verify\": 2, \"process\": 3, \"block\": 4}}",
         "gas.transform: a whole number"},
        {"{" PROGS ", " VALS ", \"gas\": {\"transform\": 1, \"verify\": 2, \"process\": 3, \"block\": 4, \"blok\": 5}}",
         "gas: unknown key 'blok'"},
        {"{" PROGS ", " VALS ", \"gas\": 5}", "gas: missing"},
        {"{\"programs\": {\"chain\": \"c.c\", \"verify\": \"v.c\", \"transact\": \"t.c\", \"dispatch_instance\": "
         "\"d.c\", \"dispatchh\": []}, " VALS ", " GAS "}", "programs: unknown key 'dispatchh'"},
        {"{" PROGS ", \"state\": [{\"slot\": 20, \"data_hex\": \"00\", \"dta\": 1}], " VALS ", " GAS "}",
         "state[0]: unknown key 'dta'"},
        {"{" PROGS ", \"state\": [{\"slot\": 20, \"data_hex\": \"00\", \"data_zero\": 4}], " VALS ", " GAS "}",
         "state[0]: one of data_hex, data_zero and data"},
        {"{" PROGS ", \"state\": {\"slot\": 20}, " VALS ", " GAS "}", "state: an array"},
        {"{" PROGS ", \"state\": [20], " VALS ", " GAS "}", "state[0]: an object"},
        {"{" PROGS ", \"state\": [{\"slot\": 5, \"data_hex\": \"00\"}], " VALS ", " GAS "}",
         "state slot 5 is outside 20..255"},
        {"{" PROGS ", \"state\": [{\"slot\": 20, \"data_hex\": \"00\"}, {\"slot\": 20, \"data_zero\": 1}], " VALS
         ", " GAS "}", "state[1].slot: slot 20 given twice (state[0])"},
        {"{" PROGS ", \"validators\": {}, " GAS "}", "validators: an array of 1..1024 keys"},
        {"{" PROGS ", \"validators\": [], " GAS "}", "validators: an array of 1..1024 keys"},
        {"{" PROGS ", \"validators\": [" KEY1 ", " KEY0 ", " KEY1 "], " GAS "}",
         "validators[2]: the same key as validators[0]"},
        {"{" PROGS ", " VALS ", " GAS " /* a comment */}", "not JSON"},
        {"{" PROGS ", " VALS ", " GAS ",}", "not JSON"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        jk_err err = parse(bad[i].text, &diag);
        JK_CHECK_EQ(err, JK_ERR_PARSE);
        if (!strstr(diag.msg, bad[i].needle))
            JK_CHECK(!printf("case %zu: \"%s\" does not say \"%s\"\n", i, diag.msg, bad[i].needle));
    }
}
