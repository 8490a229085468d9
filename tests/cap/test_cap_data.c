/*
 * test_cap_data.c — Data: contents, merkle hash against an independent
 * reference written from docs/cap.md, copy-on-write isolation, page access,
 * bulk page replacement, and the cost of re-hashing (counted, not timed).
 * Every test checks that it leaves no body or node alive.
 */
#include "../test.h"
#include "cap_test_util.h"

#include "jark/cap.h"

#include <pthread.h>
#include <stdlib.h>

static jk_cap_stats stats(void)
{
    jk_cap_stats s;
    jk_cap_stats_get(&s);
    return s;
}

/* Deterministic bytes. */
static void fill(uint8_t *p, size_t n, uint32_t seed)
{
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (uint8_t)x;
    }
}

/* ---- reference hash, straight from docs/cap.md ---- */

static void ref_page(const uint8_t *b, uint32_t n, jk_hash *out)
{
    uint8_t *buf = malloc(5 + n);
    buf[0] = 0x02;
    buf[1] = (uint8_t)n;
    buf[2] = (uint8_t)(n >> 8);
    buf[3] = (uint8_t)(n >> 16);
    buf[4] = (uint8_t)(n >> 24);
    memcpy(buf + 5, b, n);
    jk_crypto_blake2b256(buf, 5 + n, out);
    free(buf);
}

static void ref_tree(const uint8_t *b, uint64_t len, uint32_t pages, jk_hash *out)
{
    if (pages == 1) {
        ref_page(b, (uint32_t)len, out);
        return;
    }
    uint32_t k = 1;
    while (k * 2 < pages)
        k *= 2;
    uint8_t buf[65];
    jk_hash l, r;
    ref_tree(b, (uint64_t)k * 4096, k, &l);
    ref_tree(b + (size_t)k * 4096, len - (uint64_t)k * 4096, pages - k, &r);
    buf[0] = 0x03;
    memcpy(buf + 1, l.bytes, 32);
    memcpy(buf + 33, r.bytes, 32);
    jk_crypto_blake2b256(buf, sizeof buf, out);
}

static void ref_data(const uint8_t *b, uint64_t len, jk_hash *out)
{
    uint8_t buf[41] = {0x01};
    for (int i = 0; i < 8; i++)
        buf[1 + i] = (uint8_t)(len >> (8 * i));
    if (len) {
        jk_hash root;
        ref_tree(b, len, (uint32_t)((len + 4095) / 4096), &root);
        memcpy(buf + 9, root.bytes, 32);
    }
    jk_crypto_blake2b256(buf, sizeof buf, out);
}

static const size_t lengths[] = {0,    1,    100,  4095,      4096,        4097,
                                 8192, 8193, 12288 + 5, 5 * 4096, 7 * 4096 - 1, 13 * 4096 + 77,
                                 64 * 4096, 65 * 4096 + 1};

JK_TEST(test_cap_data_roundtrip_and_reference_hash)
{
    int64_t before = live();
    for (size_t t = 0; t < sizeof lengths / sizeof lengths[0]; t++) {
        size_t n = lengths[t];
        uint8_t *src = malloc(n + 1), *back = malloc(n + 1);
        fill(src, n, (uint32_t)t);
        jk_cap d;
        JK_REQUIRE(jk_cap_data_new(src, n, &d) == JK_OK);
        JK_CHECK_EQ(jk_cap_kind_of(d), JK_CAP_DATA);
        JK_CHECK_EQ(jk_cap_data_len(d), n);
        JK_CHECK_EQ(jk_cap_data_page_count(d), (n + 4095) / 4096);
        JK_CHECK_EQ(jk_cap_depth(d), 1);
        JK_CHECK(jk_cap_data_read(d, 0, back, n) == JK_OK);
        JK_CHECK(n == 0 || memcmp(src, back, n) == 0);
        /* a read across a page boundary */
        if (n > 4100) {
            JK_CHECK(jk_cap_data_read(d, 4090, back, 10) == JK_OK);
            JK_CHECK_MEM(back, src + 4090, 10);
        }
        jk_hash got, want;
        jk_cap_hash(d, &got);
        ref_data(src, n, &want);
        JK_CHECK_MEM(got.bytes, want.bytes, 32);
        jk_cap_release(d);
        free(src);
        free(back);
    }
    JK_CHECK_EQ(live(), before);
}

JK_TEST(test_cap_data_range_errors)
{
    int64_t before = live();
    uint8_t buf[16] = {0}, src[8] = {1, 2, 3};
    jk_cap d, out = jk_cap_null();
    JK_REQUIRE(jk_cap_data_new(src, 8, &d) == JK_OK);
    JK_CHECK(jk_cap_data_read(d, 0, buf, 9) == JK_ERR_CAP_RANGE);
    JK_CHECK(jk_cap_data_read(d, 9, buf, 0) == JK_ERR_CAP_RANGE);
    JK_CHECK(jk_cap_data_read(d, 8, buf, 0) == JK_OK);
    JK_CHECK(jk_cap_data_read(d, UINT64_MAX, buf, 2) == JK_ERR_CAP_RANGE);
    JK_CHECK(jk_cap_data_write(d, 7, src, 2, &out) == JK_ERR_CAP_RANGE);
    JK_CHECK(jk_cap_is_null(out));
    JK_CHECK(jk_cap_data_read(jk_cap_null(), 0, buf, 0) == JK_ERR_CAP_KIND);
    JK_CHECK(jk_cap_data_new(NULL, (size_t)JK_CAP_DATA_MAX_LEN + 1, &out) == JK_ERR_CAP_TOO_LARGE);
    JK_CHECK(jk_cap_data_new_zeroed((size_t)JK_CAP_DATA_MAX_LEN + 1, &out) == JK_ERR_CAP_TOO_LARGE);
    JK_CHECK(jk_cap_data_page(d, 1) == NULL);
    JK_CHECK(jk_cap_data_page(jk_cap_null(), 0) == NULL);
    jk_cap_release(d);
    JK_CHECK_EQ(live(), before);
}

JK_TEST(test_cap_data_zeroed_equals_explicit_zeros)
{
    int64_t before = live();
    for (size_t t = 0; t < sizeof lengths / sizeof lengths[0]; t++) {
        size_t n = lengths[t];
        uint8_t *z = calloc(1, n + 1);
        jk_cap a, b;
        JK_REQUIRE(jk_cap_data_new(z, n, &a) == JK_OK);
        JK_REQUIRE(jk_cap_data_new_zeroed(n, &b) == JK_OK);
        JK_CHECK(jk_cap_equal(a, b));
        uint8_t *back = malloc(n + 1);
        memset(back, 0xAA, n + 1);
        JK_CHECK(jk_cap_data_read(b, 0, back, n) == JK_OK);
        JK_CHECK(n == 0 || memcmp(back, z, n) == 0);
        jk_cap_release(a);
        jk_cap_release(b);
        free(z);
        free(back);
    }
    JK_CHECK_EQ(live(), before);
}

/* 64 MiB of zeros shares its equal subtrees: building and hashing it costs
 * O(log pages) objects and hash calls. */
JK_TEST(test_cap_data_zeroed_large_is_logarithmic)
{
    int64_t before = live();
    jk_cap_stats s0 = stats();
    jk_cap d;
    JK_REQUIRE(jk_cap_data_new_zeroed((size_t)64 << 20, &d) == JK_OK);
    JK_CHECK(live() - before <= 2 * 15 + 2);
    jk_hash h;
    jk_cap_hash(d, &h);
    jk_cap_stats s1 = stats();
    JK_CHECK_EQ(s1.page_hashes - s0.page_hashes, 1);
    JK_CHECK(s1.node_hashes - s0.node_hashes <= 14);
    JK_CHECK_EQ(jk_cap_data_page_count(d), 16384);
    const uint8_t *p = jk_cap_data_page(d, 16383);
    JK_REQUIRE(p != NULL);
    JK_CHECK_EQ(p[0], 0);
    JK_CHECK_EQ(p[4095], 0);
    jk_cap_release(d);
    JK_CHECK_EQ(live(), before);
}

JK_TEST(test_cap_data_copy_on_write_isolation)
{
    int64_t before = live();
    size_t n = 10 * 4096 + 123;
    uint8_t *src = malloc(n), *back = malloc(n);
    fill(src, n, 7);
    jk_cap orig, copy, changed;
    JK_REQUIRE(jk_cap_data_new(src, n, &orig) == JK_OK);
    jk_hash h_orig, h_again, h_changed, want;
    jk_cap_hash(orig, &h_orig);
    copy = jk_cap_retain(orig); /* the O(1) copy */
    JK_CHECK(jk_cap_equal(copy, orig));
    uint8_t patch[5000];
    fill(patch, sizeof patch, 99);
    JK_REQUIRE(jk_cap_data_write(copy, 3 * 4096 - 7, patch, sizeof patch, &changed) == JK_OK);
    /* the original (and its copy) see nothing; its cached hash is still right */
    JK_CHECK(jk_cap_data_read(orig, 0, back, n) == JK_OK);
    JK_CHECK_MEM(back, src, n);
    jk_cap_hash(orig, &h_again);
    JK_CHECK_MEM(h_again.bytes, h_orig.bytes, 32);
    ref_data(src, n, &want);
    JK_CHECK_MEM(h_again.bytes, want.bytes, 32);
    /* the changed value has the new bytes and the right hash */
    memcpy(src + 3 * 4096 - 7, patch, sizeof patch);
    JK_CHECK(jk_cap_data_read(changed, 0, back, n) == JK_OK);
    JK_CHECK_MEM(back, src, n);
    jk_cap_hash(changed, &h_changed);
    ref_data(src, n, &want);
    JK_CHECK_MEM(h_changed.bytes, want.bytes, 32);
    JK_CHECK(!jk_cap_equal(changed, orig));
    /* writing the bytes already there gives the same value back */
    jk_cap same;
    JK_REQUIRE(jk_cap_data_write(changed, 3 * 4096 - 7, patch, sizeof patch, &same) == JK_OK);
    JK_CHECK(same.body == changed.body);
    jk_cap_release(same);
    jk_cap_release(orig);
    jk_cap_release(copy);
    jk_cap_release(changed);
    free(src);
    free(back);
    JK_CHECK_EQ(live(), before);
}

/* Re-hashing after a one-page write costs one page hash and one node hash
 * per level, never the whole tree. */
JK_TEST(test_cap_data_rehash_cost_is_logarithmic)
{
    int64_t before = live();
    uint32_t pages = 1000; /* depth ceil(log2 1000) = 10 */
    size_t n = (size_t)pages * 4096 - 1;
    uint8_t *src = malloc(n);
    fill(src, n, 3);
    jk_cap d, d2;
    JK_REQUIRE(jk_cap_data_new(src, n, &d) == JK_OK);
    jk_cap_stats s0 = stats();
    jk_hash h;
    jk_cap_hash(d, &h);
    jk_cap_stats s1 = stats();
    JK_CHECK_EQ(s1.page_hashes - s0.page_hashes, pages);
    JK_CHECK_EQ(s1.node_hashes - s0.node_hashes, pages - 1);
    JK_CHECK_EQ(s1.root_hashes - s0.root_hashes, 1);
    jk_cap_hash(d, &h); /* cached: no work */
    jk_cap_stats s2 = stats();
    JK_CHECK_EQ(s2.page_hashes + s2.node_hashes + s2.root_hashes,
                s1.page_hashes + s1.node_hashes + s1.root_hashes);
    uint8_t b = 0x5A;
    for (uint32_t page = 0; page < pages; page += 111) {
        JK_REQUIRE(jk_cap_data_write(d, (uint64_t)page * 4096 + 17, &b, 1, &d2) == JK_OK);
        jk_cap_stats t0 = stats();
        jk_cap_hash(d2, &h);
        jk_cap_stats t1 = stats();
        JK_CHECK_EQ(t1.page_hashes - t0.page_hashes, 1);
        JK_CHECK(t1.node_hashes - t0.node_hashes <= 10);
        JK_CHECK(t1.node_hashes - t0.node_hashes >= 1);
        JK_CHECK_EQ(t1.root_hashes - t0.root_hashes, 1);
        jk_cap_release(d2);
    }
    jk_cap_release(d);
    free(src);
    JK_CHECK_EQ(live(), before);
}

JK_TEST(test_cap_data_pages_access)
{
    int64_t before = live();
    size_t n = 5 * 4096 + 10;
    uint8_t *src = malloc(n);
    fill(src, n, 11);
    jk_cap d;
    JK_REQUIRE(jk_cap_data_new(src, n, &d) == JK_OK);
    const uint8_t *pg[6];
    JK_REQUIRE(jk_cap_data_pages(d, 0, 6, pg) == JK_OK);
    for (uint32_t i = 0; i < 6; i++) {
        JK_CHECK(((uintptr_t)pg[i] & 4095) == 0);
        JK_CHECK(pg[i] == jk_cap_data_page(d, i));
        JK_CHECK_MEM(pg[i], src + i * 4096, i < 5 ? 4096 : 10);
    }
    for (int i = 10; i < 4096; i++) /* tail of the short last page */
        if (pg[5][i] != 0)
            jk_test_fail(__FILE__, __LINE__, "byte %d of the last page not zero", i);
    const uint8_t *mid[2];
    JK_CHECK(jk_cap_data_pages(d, 2, 2, mid) == JK_OK);
    JK_CHECK(mid[0] == pg[2] && mid[1] == pg[3]);
    JK_CHECK(jk_cap_data_pages(d, 5, 2, mid) == JK_ERR_CAP_RANGE);
    JK_CHECK(jk_cap_data_pages(d, 6, 0, mid) == JK_OK);
    jk_cap_release(d);
    free(src);
    JK_CHECK_EQ(live(), before);
}

JK_TEST(test_cap_data_replace_pages)
{
    int64_t before = live();
    uint32_t pages = 37;
    size_t n = (size_t)pages * 4096 - 100; /* short last page: 3996 bytes */
    uint8_t *src = malloc(n), *back = malloc(n);
    fill(src, n, 5);
    jk_cap d, d2;
    JK_REQUIRE(jk_cap_data_new(src, n, &d) == JK_OK);
    jk_hash h0;
    jk_cap_hash(d, &h0);

    static uint8_t p1[4096], p2[4096], p3[4096];
    fill(p1, 4096, 100);
    fill(p2, 4096, 200);
    fill(p3, 4096, 300);
    uint32_t idx[3] = {0, 17, 36};
    const uint8_t *pp[3] = {p1, p2, p3};
    jk_cap_stats s0 = stats();
    JK_REQUIRE(jk_cap_data_replace_pages(d, idx, pp, 3, &d2) == JK_OK);
    JK_CHECK_EQ(jk_cap_data_len(d2), n);
    memcpy(src, p1, 4096);
    memcpy(src + 17 * 4096, p2, 4096);
    memcpy(src + 36 * 4096, p3, 3996);
    JK_CHECK(jk_cap_data_read(d2, 0, back, n) == JK_OK);
    JK_CHECK_MEM(back, src, n);
    jk_hash h2, want;
    jk_cap_hash(d2, &h2);
    ref_data(src, n, &want);
    JK_CHECK_MEM(h2.bytes, want.bytes, 32);
    jk_cap_stats s1 = stats();
    JK_CHECK_EQ(s1.page_hashes - s0.page_hashes, 3);
    JK_CHECK(s1.node_hashes - s0.node_hashes <= 3 * 6);
    /* the original is untouched, hash included */
    jk_hash h0b;
    jk_cap_hash(d, &h0b);
    JK_CHECK_MEM(h0b.bytes, h0.bytes, 32);

    /* replacing pages with their own bytes keeps the value (and its hash) */
    jk_cap d3;
    const uint8_t *same[2] = {jk_cap_data_page(d2, 17), jk_cap_data_page(d2, 36)};
    uint32_t idx2[2] = {17, 36};
    JK_REQUIRE(jk_cap_data_replace_pages(d2, idx2, same, 2, &d3) == JK_OK);
    JK_CHECK(d3.body == d2.body);
    jk_cap_release(d3);

    /* refusals */
    jk_cap none = jk_cap_null();
    uint32_t bad1[2] = {5, 5}, bad2[2] = {6, 2}, bad3[1] = {37};
    JK_CHECK(jk_cap_data_replace_pages(d, bad1, pp, 2, &none) == JK_ERR_CAP_RANGE);
    JK_CHECK(jk_cap_data_replace_pages(d, bad2, pp, 2, &none) == JK_ERR_CAP_RANGE);
    JK_CHECK(jk_cap_data_replace_pages(d, bad3, pp, 1, &none) == JK_ERR_CAP_RANGE);
    JK_CHECK(jk_cap_is_null(none));
    jk_cap_release(d);
    jk_cap_release(d2);
    free(src);
    free(back);
    JK_CHECK_EQ(live(), before);
}

/* Many random writes against a flat reference buffer. */
JK_TEST(test_cap_data_random_writes_match_reference)
{
    int64_t before = live();
    size_t n = 23 * 4096 + 999;
    uint8_t *ref = calloc(1, n), *back = malloc(n);
    jk_cap d;
    JK_REQUIRE(jk_cap_data_new_zeroed(n, &d) == JK_OK);
    uint32_t x = 12345;
    for (int step = 0; step < 300; step++) {
        x = x * 1103515245u + 12345u;
        size_t off = x % n;
        x = x * 1103515245u + 12345u;
        size_t len = x % 9000;
        if (len > n - off)
            len = n - off;
        uint8_t patch[9000];
        fill(patch, len, (uint32_t)step);
        jk_cap next;
        JK_REQUIRE(jk_cap_data_write(d, off, patch, len, &next) == JK_OK);
        memcpy(ref + off, patch, len);
        jk_cap_release(d);
        d = next;
    }
    JK_CHECK(jk_cap_data_read(d, 0, back, n) == JK_OK);
    JK_CHECK_MEM(back, ref, n);
    jk_hash h, want;
    jk_cap_hash(d, &h);
    ref_data(ref, n, &want);
    JK_CHECK_MEM(h.bytes, want.bytes, 32);
    jk_cap_release(d);
    free(ref);
    free(back);
    JK_CHECK_EQ(live(), before);
}

/* Page buffers come back through the thread's cache (issue 16): a short Data
 * made right after full pages of 0xFF and a 9-byte page were dropped still
 * reads as zero past its length, and a page of zeros made from NULL is all
 * zero (the cache zeroes what a dropped page used, and the link word). */
JK_TEST(test_cap_data_reused_pages_read_zero_past_the_end)
{
    int64_t before = live();
    uint8_t ff[3 * 4096];
    memset(ff, 0xFF, sizeof ff);
    for (int round = 0; round < 3; round++) {
        jk_cap full, short9;
        JK_REQUIRE(jk_cap_data_new(ff, sizeof ff, &full) == JK_OK);
        JK_REQUIRE(jk_cap_data_new(ff, 9, &short9) == JK_OK);
        jk_cap_release(full);
        jk_cap_release(short9);
        for (uint32_t len = 1; len <= 12; len += 11) {
            jk_cap d, z;
            uint8_t src[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
            JK_REQUIRE(jk_cap_data_new(src, len, &d) == JK_OK);
            JK_REQUIRE(jk_cap_data_new_zeroed(4096, &z) == JK_OK);
            const uint8_t *pg = jk_cap_data_page(d, 0), *zp = jk_cap_data_page(z, 0);
            JK_REQUIRE(pg != NULL && zp != NULL);
            JK_CHECK_MEM(pg, src, len);
            for (uint32_t i = len; i < 4096; i++)
                if (pg[i] != 0)
                    jk_test_fail(__FILE__, __LINE__, "byte %u past a %u-byte Data is %u", i, len, pg[i]);
            for (uint32_t i = 0; i < 4096; i++)
                if (zp[i] != 0)
                    jk_test_fail(__FILE__, __LINE__, "byte %u of a zero page is %u", i, zp[i]);
            jk_cap_release(d);
            jk_cap_release(z);
        }
    }
    JK_CHECK_EQ(live(), before);
}

/* Small pages (issue 16): a short last page of at most 1 KiB is stored in a
 * buffer of its own size (a small Data costs its bytes, not 4 KiB), read as
 * stored through jk_cap_data_spans; jk_cap_data_page and jk_cap_data_pages
 * give its 4 KiB form, zero past the end, made once and the same pointer
 * after; a write copies the bytes only; the hash is the reference's. */
JK_TEST(test_cap_data_small_last_page)
{
    int64_t before = live();
    uint32_t lens[] = {1, 48, 1024, 1025, 4096 + 48, 2 * 4096 + 1024};
    for (size_t t = 0; t < sizeof lens / sizeof lens[0]; t++) {
        uint32_t len = lens[t], pages = (len + 4095) / 4096, last = len - (pages - 1) * 4096;
        uint8_t *src = malloc(len);
        fill(src, len, len);
        jk_cap d;
        JK_REQUIRE(jk_cap_data_new(src, len, &d) == JK_OK);
        jk_hash h, want;
        jk_cap_hash(d, &h);
        ref_data(src, len, &want);
        JK_CHECK_MEM(h.bytes, want.bytes, 32);
        const uint8_t *raw[3], *view[3];
        JK_REQUIRE(jk_cap_data_spans(d, 0, pages, raw) == JK_OK);
        JK_CHECK_MEM(raw[pages - 1], src + (pages - 1) * 4096, last);
        const uint8_t *pg = jk_cap_data_page(d, pages - 1);
        JK_REQUIRE(pg != NULL);
        JK_CHECK(((uintptr_t)pg & 4095) == 0);
        JK_CHECK_MEM(pg, src + (pages - 1) * 4096, last);
        for (uint32_t i = last; i < 4096; i++)
            if (pg[i] != 0)
                jk_test_fail(__FILE__, __LINE__, "byte %u past a %u-byte page is %u", i, last, pg[i]);
        JK_CHECK(jk_cap_data_page(d, pages - 1) == pg); /* made once */
        JK_REQUIRE(jk_cap_data_pages(d, 0, pages, view) == JK_OK);
        JK_CHECK(view[pages - 1] == pg);
        for (uint32_t i = 0; i + 1 < pages; i++) /* full pages: one buffer for both */
            JK_CHECK(raw[i] == view[i]);
        if (last <= 1024)
            JK_CHECK(raw[pages - 1] != pg); /* stored small, its 4 KiB form apart */
        else
            JK_CHECK(raw[pages - 1] == pg);
        /* a write into the small page: the new value has the bytes, the old
         * one and its view are unchanged */
        uint8_t b = (uint8_t)(src[len - 1] ^ 0xFF);
        jk_cap w;
        JK_REQUIRE(jk_cap_data_write(d, len - 1, &b, 1, &w) == JK_OK);
        uint8_t got;
        JK_REQUIRE(jk_cap_data_read(w, len - 1, &got, 1) == JK_OK);
        JK_CHECK_EQ(got, b);
        JK_CHECK_EQ(pg[last - 1], src[len - 1]);
        src[len - 1] = b;
        jk_cap_hash(w, &h);
        ref_data(src, len, &want);
        JK_CHECK_MEM(h.bytes, want.bytes, 32);
        JK_CHECK(jk_cap_data_spans(d, pages, 1, raw) == JK_ERR_CAP_RANGE);
        JK_CHECK(jk_cap_data_spans(jk_cap_null(), 0, 1, raw) == JK_ERR_CAP_KIND);
        jk_cap_release(w);
        jk_cap_release(d);
        free(src);
    }
    JK_CHECK_EQ(live(), before);
}

typedef struct view_job {
    jk_cap d;
    const uint8_t *got[64];
} view_job;

static void *view_take(void *arg)
{
    view_job *j = arg;
    for (int i = 0; i < 64; i++)
        j->got[i] = jk_cap_data_page(j->d, 0);
    return NULL;
}

/* Threads asking for a small page's 4 KiB form at once all get one pointer
 * (the first published; the losers' copies go back, which LeakSanitizer
 * checks). */
JK_TEST(test_cap_data_small_page_view_threads)
{
    int64_t before = live();
    for (int round = 0; round < 20; round++) {
        uint8_t b[40];
        fill(b, sizeof b, (uint32_t)round);
        view_job j[2];
        JK_REQUIRE(jk_cap_data_new(b, sizeof b, &j[0].d) == JK_OK);
        j[1].d = j[0].d;
        pthread_t t;
        JK_REQUIRE(pthread_create(&t, NULL, view_take, &j[1]) == 0);
        view_take(&j[0]);
        pthread_join(t, NULL);
        for (int i = 0; i < 64; i++)
            JK_CHECK(j[0].got[i] == j[0].got[0] && j[1].got[i] == j[0].got[0]);
        JK_CHECK_MEM(j[0].got[0], b, sizeof b);
        jk_cap_release(j[0].d);
    }
    JK_CHECK_EQ(live(), before);
}
