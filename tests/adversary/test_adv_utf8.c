/* test_adv_utf8.c — text that json-c's JSON_TOKENER_VALIDATE_UTF8 lets
 * through although it is not UTF-8: overlong forms (C0 AF is '/' in two
 * bytes), UTF-16 surrogates (ED A0 80), code points past U+10FFFF. A node
 * answered `{"method": "\xc0\xafstatus"}` with "no method '…'", echoing the
 * bytes into its JSON answer, where docs/rpc.md promises -32700 for a body
 * that is not valid UTF-8. Now jk_utf8_check (src/base/json.c) refuses them
 * for the RPC parser (-32700) and, through jk_json_check, for the spec and
 * manifest readers. */
#include "../test.h"

#include "jark/err.h"
#include "jark/rpc.h"

#include <string.h>

JK_TEST(test_adv_utf8_well_formed_only)
{
    static const struct {
        const char *s;
        size_t bad_at; /* SIZE_MAX: well formed */
    } cases[] = {
        {"plain ascii", SIZE_MAX},
        {"\xc2\x80 \xdf\xbf", SIZE_MAX},                 /* U+0080, U+07FF */
        {"\xe0\xa0\x80 \xed\x9f\xbf \xee\x80\x80", SIZE_MAX}, /* U+0800, U+D7FF, U+E000 */
        {"\xf0\x90\x80\x80 \xf4\x8f\xbf\xbf", SIZE_MAX}, /* U+10000, U+10FFFF */
        {"a\xc0\xaf", 1},                                /* overlong '/' */
        {"ab\xc1\xbf", 2},                               /* overlong, C1 */
        {"\xe0\x9f\xbf", 0},                             /* overlong 3-byte */
        {"\xf0\x8f\xbf\xbf", 0},                         /* overlong 4-byte */
        {"x\xed\xa0\x80", 1},                            /* a surrogate, U+D800 */
        {"\xed\xbf\xbf", 0},                             /* U+DFFF */
        {"\xf4\x90\x80\x80", 0},                         /* U+110000 */
        {"\xf5\x80\x80\x80", 0},
        {"\xff", 0},
        {"\x80", 0},                                     /* a lone continuation */
        {"ok\xe2\x82", 2},                               /* cut short */
        {"\xe2\x28\xa1", 0},                             /* a bad continuation */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t at = 12345;
        bool ok = jk_utf8_check(cases[i].s, strlen(cases[i].s), &at);
        JK_CHECK_EQ(ok, cases[i].bad_at == SIZE_MAX);
        if (!ok)
            JK_CHECK_EQ(at, cases[i].bad_at);
    }
}

JK_TEST(test_adv_utf8_rpc_and_json_readers_refuse)
{
    const char *bodies[] = {
        "{\"jsonrpc\":\"2.0\",\"method\":\"\xc0\xafstatus\",\"id\":1}",
        "{\"jsonrpc\":\"2.0\",\"method\":\"status\",\"id\":\"\xed\xa0\x80\"}",
        "[{\"jsonrpc\":\"2.0\",\"method\":\"pool\",\"params\":{\"\xf4\x90\x80\x80\":1},\"id\":1}]",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        jk_rpc_parsed p;
        JK_REQUIRE(jk_rpc_parse((const uint8_t *)bodies[i], strlen(bodies[i]), &p) == JK_OK);
        JK_CHECK_EQ(p.error_code, -32700);
        JK_CHECK(strstr(p.error_msg, "invalid utf-8 at byte") != NULL);
        jk_rpc_parsed_free(&p);
    }
    /* the same text well formed parses */
    const char *good = "{\"jsonrpc\":\"2.0\",\"method\":\"status\",\"id\":\"\xc3\xa9\"}";
    jk_rpc_parsed p;
    JK_REQUIRE(jk_rpc_parse((const uint8_t *)good, strlen(good), &p) == JK_OK);
    JK_CHECK_EQ(p.error_code, 0);
    JK_CHECK_EQ(p.count, 1);
    jk_rpc_parsed_free(&p);

    jk_diag d = {{0}};
    const char *spec = "{\"programs\": {\"chain\": \"\xc0\xae\xc0\xae/x.c\"}}";
    JK_CHECK_EQ(jk_json_check(spec, strlen(spec), true, &d), JK_ERR_PARSE);
    JK_CHECK(strstr(d.msg, "invalid UTF-8 at byte 24") != NULL);
}
