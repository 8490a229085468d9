/*
 * test_cap_data_spans.c — a one-page span is found by a loop down the Data's
 * tree (data.c, jk_cap_data_spans), a longer one by the recursion over
 * ranges: both must give the same page, holding the Data's bytes there
 * (the loop walks a complete left part by the index's bits). A Data read
 * often enough has a page index (session 12): the same pages again.
 */
#include "../test.h"
#include "jark/cap.h"
#include "../../src/cap/internal.h" /* jk_cap_data_indexed */

#include <pthread.h>
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

/* ---- the page index (data.c, session 12) ---- */

enum { IX_PAGE = 4096, IX_MAX_PAGES = 300 };

/* The byte at offset o of the test Data. */
static uint8_t ix_byte(size_t o) { return (uint8_t)(o / IX_PAGE * 53 + o % 241 + 7); }

/* `reads` pages of d (len bytes) in a seeded order, each through each
 * lookup (one-page span, the 4 KiB page view, a read across a page
 * boundary): the test Data's bytes each time. */
static bool ix_read(jk_cap d, uint64_t len, unsigned reads, uint32_t seed)
{
    uint32_t pages = (uint32_t)((len + IX_PAGE - 1) / IX_PAGE);
    uint32_t x = seed * 2654435761u + 1;
    uint8_t buf[64];
    for (unsigned r = 0; r < reads; r++) {
        x = x * 1103515245u + 12345u;
        uint32_t i = (x >> 8) % pages;
        size_t in_page = i + 1 < pages ? IX_PAGE : (size_t)(len - (uint64_t)i * IX_PAGE);
        const uint8_t *one[1], *view = jk_cap_data_page(d, i); /* a small last page: its 4 KiB copy */
        if (jk_cap_data_spans(d, i, 1, one) != JK_OK || !view)
            return false;
        for (size_t k = 0; k < in_page; k += 509)
            if (one[0][k] != ix_byte((size_t)i * IX_PAGE + k) || view[k] != one[0][k])
                return false;
        uint64_t at = (uint64_t)i * IX_PAGE; /* across the boundary below page i */
        at -= at ? 32 : 0;
        size_t n = at + sizeof buf <= len ? sizeof buf : (size_t)(len - at);
        if (jk_cap_data_read(d, at, buf, n) != JK_OK)
            return false;
        for (size_t k = 0; k < n; k++)
            if (buf[k] != ix_byte((size_t)at + k))
                return false;
    }
    return true;
}

/* Below the index's bound (7 pages) a Data is walked however often it is
 * read; from 8 pages on, a Data read often is indexed, and every lookup
 * before and after gives the same page (odd page counts: the tree's right
 * parts are not perfect; short last pages: a small or a 4 KiB one). A
 * Data read only a few times is not indexed. */
JK_TEST(test_cap_data_page_index_gives_the_walks_pages)
{
    uint8_t *bytes = malloc((size_t)IX_MAX_PAGES * IX_PAGE);
    JK_REQUIRE(bytes != NULL);
    for (size_t o = 0; o < (size_t)IX_MAX_PAGES * IX_PAGE; o++)
        bytes[o] = ix_byte(o);
    static const uint32_t counts[] = {7, 8, 9, 31, 64, 96, 97, 300};
    for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
        for (int shrt = 0; shrt < 3; shrt++) {
            uint64_t len = (uint64_t)counts[c] * IX_PAGE - (shrt == 1 ? 100 : shrt == 2 ? 4000 : 0);
            jk_cap d;
            JK_REQUIRE(jk_cap_data_new(bytes, len, &d) == JK_OK);
            jk_hash before, after;
            jk_cap_hash(d, &before);
            JK_CHECK(ix_read(d, len, 4, (uint32_t)c)); /* 8 lookups: under the bound, walked */
            JK_CHECK(!jk_cap_data_indexed(d));
            JK_CHECK(ix_read(d, len, 4 * counts[c], (uint32_t)c + 100));
            JK_CHECK(jk_cap_data_indexed(d) == (counts[c] >= 8));
            JK_CHECK(ix_read(d, len, 2 * counts[c], (uint32_t)c + 200));
            /* the index is not part of the value: same hash, and a copy
             * written through (a new body) starts without one */
            jk_cap_hash(d, &after);
            JK_CHECK_MEM(before.bytes, after.bytes, JK_HASH_SIZE);
            uint8_t z = 0xA5;
            jk_cap w;
            JK_REQUIRE(jk_cap_data_write(d, len / 2, &z, 1, &w) == JK_OK);
            JK_CHECK(!jk_cap_data_indexed(w));
            const uint8_t *one[1];
            JK_REQUIRE(jk_cap_data_spans(w, (uint32_t)(len / 2 / IX_PAGE), 1, one) == JK_OK);
            JK_CHECK(one[0][len / 2 % IX_PAGE] == 0xA5);
            jk_cap_release(w);
            jk_cap_release(d);
        }
    }
    free(bytes);
}

typedef struct ix_job {
    jk_cap d;
    uint64_t len;
    uint32_t seed;
    bool ok;
} ix_job;

static void *ix_reader(void *arg)
{
    ix_job *j = arg;
    j->ok = ix_read(j->d, j->len, 6 * (unsigned)(j->len / IX_PAGE + 1), j->seed);
    return NULL;
}

/* Four threads read one shared Data at once: they cross the read bound
 * together and race to publish the index; all see the right pages, one
 * index stays (ASan's leak check would catch a loser's not freed). */
JK_TEST(test_cap_data_page_index_made_by_racing_readers)
{
    enum { PAGES = 97, THREADS = 4 };
    uint64_t len = (uint64_t)PAGES * IX_PAGE - 10;
    uint8_t *bytes = malloc((size_t)len);
    JK_REQUIRE(bytes != NULL);
    for (size_t o = 0; o < (size_t)len; o++)
        bytes[o] = ix_byte(o);
    for (int round = 0; round < 8; round++) {
        jk_cap d;
        JK_REQUIRE(jk_cap_data_new(bytes, len, &d) == JK_OK);
        pthread_t t[THREADS];
        ix_job jobs[THREADS];
        for (int i = 0; i < THREADS; i++) {
            jobs[i] = (ix_job){d, len, (uint32_t)(round * THREADS + i), false};
            JK_REQUIRE(pthread_create(&t[i], NULL, ix_reader, &jobs[i]) == 0);
        }
        for (int i = 0; i < THREADS; i++) {
            pthread_join(t[i], NULL);
            JK_CHECK(jobs[i].ok);
        }
        JK_CHECK(jk_cap_data_indexed(d));
        jk_cap_release(d);
    }
    free(bytes);
}

/* jk_cap_data_flat (session 16): a Data of one page, small or full, made
 * or written, gives its own buffer holding its bytes (a write's result its
 * own, the written Data's unchanged); an empty one, one of two pages and a
 * non-Data give NULL. */
JK_TEST(test_cap_data_flat_is_the_one_pages_bytes)
{
    enum { PAGE = 4096 };
    uint8_t *bytes = malloc(2 * PAGE);
    JK_REQUIRE(bytes != NULL);
    for (size_t i = 0; i < 2 * PAGE; i++)
        bytes[i] = (uint8_t)(i * 7 + 3);
    static const size_t lens[] = {1, 48, 1024, 1025, PAGE};
    for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
        jk_cap d;
        JK_REQUIRE(jk_cap_data_new(bytes, lens[k], &d) == JK_OK);
        const uint8_t *flat = jk_cap_data_flat(d);
        JK_CHECK(flat != NULL && memcmp(flat, bytes, lens[k]) == 0);
        JK_CHECK(flat == jk_cap_data_flat(d)); /* its own buffer, not a copy */
        jk_cap_release(d);
    }
    jk_cap two, one, written, empty, cn;
    JK_REQUIRE(jk_cap_data_new(bytes, PAGE + 1, &two) == JK_OK);
    JK_CHECK(jk_cap_data_flat(two) == NULL);
    JK_REQUIRE(jk_cap_data_new(bytes, 48, &one) == JK_OK);
    JK_REQUIRE(jk_cap_data_write(one, 8, "written", 7, &written) == JK_OK);
    JK_CHECK(jk_cap_data_flat(written) != NULL && memcmp(jk_cap_data_flat(written) + 8, "written", 7) == 0);
    JK_CHECK(memcmp(jk_cap_data_flat(one), bytes, 48) == 0);
    JK_REQUIRE(jk_cap_data_new(bytes, 0, &empty) == JK_OK);
    JK_CHECK(jk_cap_data_flat(empty) == NULL);
    JK_REQUIRE(jk_cap_cnode_new(2, &cn) == JK_OK);
    JK_CHECK(jk_cap_data_flat(cn) == NULL);
    JK_CHECK(jk_cap_data_flat(jk_cap_null()) == NULL);
    jk_cap_release(two);
    jk_cap_release(one);
    jk_cap_release(written);
    jk_cap_release(empty);
    jk_cap_release(cn);
    free(bytes);
}
