/*
 * test_cap_data_spans.c — a one-page span is found by a loop down the Data's
 * tree (data.c, jk_cap_data_spans), a longer one by the recursion over
 * ranges: both must give the same page, holding the Data's bytes there
 * (the loop walks a complete left part by the index's bits).
 */
#include "../test.h"
#include "jark/cap.h"

#include <stdlib.h>
#include <string.h>

JK_TEST(test_cap_data_one_page_span_is_the_range_walks_page)
{
    enum { PAGE = 4096, MAX_PAGES = 70 }; /* left parts of up to 64 pages: six levels of bits */
    uint8_t *bytes = malloc((size_t)MAX_PAGES * PAGE);
    JK_REQUIRE(bytes != NULL);
    for (size_t i = 0; i < (size_t)MAX_PAGES * PAGE; i++)
        bytes[i] = (uint8_t)(i / PAGE * 37 + i % 251);
    for (uint32_t pages = 1; pages <= MAX_PAGES; pages++) {
        /* a full last page and a short one */
        for (int short_last = 0; short_last < 2; short_last++) {
            uint64_t len = (uint64_t)pages * PAGE - (short_last ? 100 : 0);
            jk_cap d;
            JK_REQUIRE(jk_cap_data_new(bytes, len, &d) == JK_OK);
            const uint8_t *all[MAX_PAGES], *one[1];
            JK_REQUIRE(jk_cap_data_spans(d, 0, pages, all) == JK_OK);
            for (uint32_t i = 0; i < pages; i++) {
                JK_REQUIRE(jk_cap_data_spans(d, i, 1, one) == JK_OK);
                JK_CHECK(one[0] == all[i]);
                size_t in_page = i + 1 < pages ? PAGE : (size_t)(len - (uint64_t)i * PAGE);
                JK_CHECK(memcmp(one[0], bytes + (size_t)i * PAGE, in_page) == 0);
            }
            JK_CHECK(jk_cap_data_spans(d, pages, 1, one) == JK_ERR_CAP_RANGE);
            jk_cap_release(d);
        }
    }
    free(bytes);
}
