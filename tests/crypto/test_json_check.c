/*
 * test_json_check.c — jk_json_check (src/base/json.c), the one check every
 * JSON reader runs on text json-c accepted: a key given twice in one object
 * and an integer json-c would clamp are refused, and nothing else is. Lives
 * with the crypto tests because base has no test folder of its own.
 */
#include "../test.h"

#include "jark/err.h"

#include <string.h>

static jk_err check(const char *text, bool numbers, jk_diag *diag)
{
    diag->msg[0] = 0;
    return jk_json_check(text, strlen(text), numbers, diag);
}

JK_TEST(test_json_check_keys_and_numbers)
{
    jk_diag d;
    static const char *const fine[] = {
        "{}", "[]", "{\"a\": 1, \"b\": 2}",
        "{\"a\": {\"k\": 1}, \"b\": {\"k\": 2}}",        /* equal keys in different objects */
        "[{\"k\": 1}, {\"k\": 1}]",
        "{\"a\": \"a\", \"b\": [\"a\", \"a\"]}",          /* equal strings that are values */
        "{\"a\\\"\": 1, \"a\": 2}",                       /* an escaped quote inside a key */
        "{\"a\": {\"b\": 1}, \"b\": 2}",                  /* a key of an inner object again outside */
        "{'a': 1, \"b\": 2}",
        "[18446744073709551615, -9223372036854775808, 0, -0]", /* json-c's own ends */
        "[1e400, 100000000000000000000000.5, -1e-400]",   /* not integers: doubles, refused per field */
    };
    for (size_t i = 0; i < sizeof fine / sizeof fine[0]; i++) {
        jk_err e = check(fine[i], true, &d);
        JK_CHECK_EQ(e, JK_OK);
        if (e != JK_OK)
            printf("fine[%zu] refused: %s\n", i, d.msg);
    }
    static const struct {
        const char *text, *needle;
    } bad[] = {
        {"{\"a\": 1, \"a\": 2}", "key 'a' given twice in one object"},
        {"{\"x\": [{\"b\": 1, \"c\": {}, \"b\": 2}]}", "key 'b' given twice"},
        {"{\"a\": 1, 'a': 2}", "key 'a' given twice"},
        {"{\"a\":1,\"z\":{\"q\":1},\"a\":3}", "key 'a' given twice"},
        {"[18446744073709551616]", "the number 18446744073709551616 is out of range"},
        {"{\"n\": -9223372036854775809}", "the number -9223372036854775809 is out of range"},
        {"[100000000000000000000000000000000000000000]", "the number 100000000000000000000000... is out of range"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        JK_CHECK_EQ(check(bad[i].text, true, &d), JK_ERR_PARSE);
        if (!strstr(d.msg, bad[i].needle))
            JK_CHECK(!printf("bad[%zu]: \"%s\" does not say \"%s\"\n", i, d.msg, bad[i].needle));
    }
    /* numbers = false (the RPC parser, which refuses them per field) */
    JK_CHECK_EQ(check("[18446744073709551616]", false, &d), JK_OK);
    JK_CHECK_EQ(check("{\"a\": 1, \"a\": 2}", false, &d), JK_ERR_PARSE);
}
