/* test_chain_show_slot.c — `jark chain show --slot PATH` refuses what is not
 * a slot path by saying so (exit 2): "20.x", "20..3", "20.", "", "+5" once
 * read as a path (some as the root cnode, some as "goes through a cap that
 * is not a CNode"); a path through a Data or past a CNode's end names where
 * it stopped. */
#include "../test.h"
#include "../progs.h"
#include "../../tools/commands.h"

#include <stdlib.h>

JK_TEST(test_chain_show_slot_paths)
{
    char dir[96], store[160], out[4096], err[1024];
    JK_REQUIRE(jk_test_tmpdir("chain-show-slot", dir, sizeof dir));
    snprintf(store, sizeof store, "%s/net", dir);
    char *devnet[] = {"--blocks", "1", "--validators", "1", "--events-per-block", "1", "--dir", store};
    JK_REQUIRE(jk_test_tool(jk_tool_devnet, 8, devnet, out, sizeof out, err, sizeof err) == 0);

    char *ok[] = {"--store", store, "--slot", "21"};
    JK_CHECK_EQ(jk_test_tool(jk_tool_chain_show, 4, ok, out, sizeof out, err, sizeof err), 0);
    JK_CHECK(strncmp(out, "slot 21 data ", 13) == 0);
    static const char *const not_paths[] = {"20.x", "20..3", "20.", ".20", "", "+5", " 5", "-1", "1e2"};
    for (size_t i = 0; i < sizeof not_paths / sizeof not_paths[0]; i++) {
        char *bad[] = {"--store", store, "--slot", (char *)not_paths[i]};
        JK_CHECK_EQ(jk_test_tool(jk_tool_chain_show, 4, bad, out, sizeof out, err, sizeof err), 2);
        if (!strstr(err, "not a slot path"))
            JK_CHECK(!printf("--slot '%s': %s", not_paths[i], err));
    }
    char *through_data[] = {"--store", store, "--slot", "21.0.4"};
    JK_CHECK_EQ(jk_test_tool(jk_tool_chain_show, 4, through_data, out, sizeof out, err, sizeof err), 2);
    JK_CHECK(strstr(err, "21 is not a CNode, so it has no slot 0") != NULL);
    char *past[] = {"--store", store, "--slot", "256"};
    JK_CHECK_EQ(jk_test_tool(jk_tool_chain_show, 4, past, out, sizeof out, err, sizeof err), 2);
    JK_CHECK(strstr(err, "slot 256 is past the 256 slots") != NULL);
}
