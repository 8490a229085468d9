/*
 * test_image_reader.c — what the image-file reader (tools/image_file.c,
 * docs/image-format.md) refuses, and the replay of the image fuzz corpus
 * (tests/fuzz/corpus/image/).
 *
 * A file of the tiny program's image (image_test_util.h) is damaged every
 * way: truncated at every length, trailing bytes, every flipped bit, objects
 * duplicated, reordered, unreachable or missing, bad counts, magic, version
 * and names. Every test checks that no cap value is leaked.
 *
 * The fuzz seeds in tests/fuzz/corpus/image/ are written by this file: run
 * the tests with JK_IMAGE_WRITE_CORPUS=tests/fuzz/corpus/image to regenerate
 * them ("valid-*" must load, "bad-*" must be refused).
 */
#include "../files.h"
#include "../test.h"
#include "../fuzz/fuzz_targets.h"
#include "image_test_util.h"
#include "jark/image.h"

#include <stdlib.h>

/* ---- the reader's refusals ---- */

/* Where the objects start in a file with no names, and each one's offset. */
static size_t jk_objects(const uint8_t *b, size_t n, size_t *offs, size_t max)
{
    size_t pos = 6 + 1 + 64 + 1, count = 0; /* E(0) names */
    uint64_t v;
    pos += jk_pvm_decode_natural(b + pos, n - pos, &v);
    while (pos < n && count < max) {
        offs[count++] = pos;
        size_t used = jk_pvm_decode_natural(b + pos, n - pos, &v);
        pos += used + v;
    }
    return count;
}

/* A file of the given objects (by offset into b), in that order, with count
 * written as given. */
static size_t jk_refile(const uint8_t *b, size_t n, const size_t *offs, size_t nobj, const size_t *order,
                        size_t norder, uint64_t count, uint8_t *out)
{
    size_t pos = 6 + 1 + 64 + 1;
    memcpy(out, b, pos);
    uint8_t enc[9];
    size_t e = jk_pvm_encode_natural(count, enc);
    memcpy(out + pos, enc, e);
    pos += e;
    for (size_t i = 0; i < norder; i++) {
        size_t start = offs[order[i]], end = order[i] + 1 < nobj ? offs[order[i] + 1] : n;
        memcpy(out + pos, b + start, end - start);
        pos += end - start;
    }
    return pos;
}

JK_TEST(test_image_reader_refuses_damage)
{
    int64_t live = jk_live();
    jk_image_file *f = jk_file_new();
    JK_REQUIRE(f && jk_tiny_image(f, NULL) == JK_OK);
    f->name_count = 0; /* no names: every byte below is covered by a hash */
    uint8_t *b;
    size_t n;
    JK_REQUIRE(jk_image_file_write(f, &b, &n, NULL) == JK_OK);
    JK_CHECK(!jk_refused(b, n, NULL));
    jk_err err;

    /* truncation at every length, and one trailing byte */
    size_t bad = 0;
    for (size_t len = 0; len < n; len++)
        bad += !jk_refused(b, len, NULL);
    JK_CHECK_EQ(bad, 0);
    uint8_t *big = malloc(2 * n + 64);
    JK_REQUIRE(big != NULL);
    memcpy(big, b, n);
    big[n] = 0;
    JK_CHECK(jk_refused(big, n + 1, &err));
    JK_CHECK_EQ(err, JK_ERR_CAP_DECODE);

    /* every single flipped bit is refused */
    for (size_t i = 0; i < n; i++)
        for (int bit = 0; bit < 8; bit += 3) {
            b[i] ^= (uint8_t)(1u << bit);
            if (!jk_refused(b, n, NULL)) {
                bad++;
                if (bad < 4)
                    jk_test_fail(__FILE__, __LINE__, "flipping bit %d of byte %zu is accepted", bit, i);
            }
            b[i] ^= (uint8_t)(1u << bit);
        }
    JK_CHECK_EQ(bad, 0);
    /* a changed byte inside the last object (the state root): a hash mismatch */
    size_t offs[64], order[66];
    size_t nobj = jk_objects(b, n, offs, 64);
    JK_REQUIRE(nobj > 3 && nobj < 64);
    b[n - 1] ^= 0x40;
    JK_CHECK(jk_refused(b, n, &err));
    JK_CHECK_EQ(err, JK_ERR_CAP_MISSING);
    b[n - 1] ^= 0x40;

    /* a duplicate object */
    for (size_t i = 0; i < nobj; i++)
        order[i] = i;
    order[nobj] = 0;
    size_t m = jk_refile(b, n, offs, nobj, order, nobj + 1, nobj + 1, big);
    jk_diag diag = {{0}};
    jk_image_file *g = jk_file_new();
    JK_CHECK_EQ(jk_image_file_read(big, m, g, &diag), JK_ERR_CAP_DECODE);
    JK_CHECK(strstr(diag.msg, "duplicates") != NULL);
    /* two objects swapped: out of canonical order */
    order[0] = 1;
    order[1] = 0;
    m = jk_refile(b, n, offs, nobj, order, nobj, nobj, big);
    JK_CHECK_EQ(jk_image_file_read(big, m, g, &diag), JK_ERR_CAP_DECODE);
    JK_CHECK(strstr(diag.msg, "canonical order") != NULL);
    /* an object nothing reaches */
    order[0] = 0;
    order[1] = 1;
    m = jk_refile(b, n, offs, nobj, order, nobj, nobj + 1, big);
    static const uint8_t stray[] = {3, 0x01, 'x', 'y'};
    memcpy(big + m, stray, sizeof stray);
    JK_CHECK_EQ(jk_image_file_read(big, m + sizeof stray, g, &diag), JK_ERR_CAP_DECODE);
    JK_CHECK(strstr(diag.msg, "reachable") != NULL);
    /* an object missing */
    m = jk_refile(b, n, offs, nobj, order + 1, nobj - 1, nobj - 1, big);
    JK_CHECK_EQ(jk_image_file_read(big, m, g, &diag), JK_ERR_CAP_MISSING);
    /* counts over the bound, a non-canonical count, an empty object */
    m = jk_refile(b, n, offs, nobj, order, nobj, JK_IMAGE_FILE_MAX_OBJECTS + 1ull, big);
    JK_CHECK_EQ(jk_image_file_read(big, m, g, &diag), JK_ERR_CAP_TOO_LARGE);
    memcpy(big, b, n);
    big[72] = 0x80; /* E(count) as two bytes */
    big[73] = (uint8_t)nobj;
    memcpy(big + 74, b + 73, n - 73);
    JK_CHECK_EQ(jk_image_file_read(big, n + 1, g, &diag), JK_ERR_CAP_DECODE);
    JK_CHECK(strstr(diag.msg, "canonical natural") != NULL);
    /* bad magic, bad version */
    memcpy(big, b, n);
    big[0] = 'X';
    JK_CHECK_EQ(jk_image_file_read(big, n, g, &diag), JK_ERR_CAP_DECODE);
    big[0] = 'J';
    big[6] = 2;
    JK_CHECK_EQ(jk_image_file_read(big, n, g, &diag), JK_ERR_CAP_DECODE);
    JK_CHECK(strstr(diag.msg, "version") != NULL);
    /* the state hash naming the image: not a CNode */
    memcpy(big, b, n);
    memcpy(big + 39, b + 7, 32);
    JK_CHECK_EQ(jk_image_file_read(big, n, g, &diag), JK_ERR_CAP_DECODE);
    jk_file_free(g);

    /* names: a count that does not match, a bad name */
    f->name_count = 2;
    uint8_t *named;
    size_t named_len;
    JK_REQUIRE(jk_image_file_write(f, &named, &named_len, NULL) == JK_OK);
    JK_CHECK(!jk_refused(named, named_len, NULL));
    named[72 + 1] = '-'; /* "first" -> "-irst" */
    JK_CHECK(jk_refused(named, named_len, &err));
    JK_CHECK_EQ(err, JK_ERR_CAP_DECODE);
    free(named);

    free(big);
    free(b);
    jk_file_free(f);
    JK_CHECK_EQ(jk_live(), live);
}

/* ---- fuzz corpus ---- */

#define CORPUS_DIR "tests/fuzz/corpus/image"

static void jk_write_corpus(const char *dir)
{
    jk_image_file *f = jk_file_new(), *outer = jk_file_new();
    uint8_t *b, *big;
    size_t n, offs[64], order[64];
    jk_cap small, next;
    if (!f || !outer || jk_tiny_image(f, NULL) != JK_OK)
        return;
    /* a small state, so that every seed fits libFuzzer's -max_len=4096 */
    JK_REQUIRE(jk_cap_data_new_zeroed(64, &small) == JK_OK);
    JK_REQUIRE(jk_cap_cnode_set(f->state, 20, small, &next) == JK_OK);
    jk_cap_release(small);
    jk_cap_release(f->state);
    f->state = next;
    JK_REQUIRE(jk_image_file_write(f, &b, &n, NULL) == JK_OK);
    jk_test_write_file(dir, "valid-state-names", b, n);
    free(b);
    jk_cap keep = f->state;
    f->state = jk_cap_null();
    f->name_count = 0;
    JK_REQUIRE(jk_image_file_write(f, &b, &n, NULL) == JK_OK);
    jk_test_write_file(dir, "valid-image-only", b, n);
    f->state = keep;
    JK_REQUIRE(jk_image_file_write(f, &b, &n, NULL) == JK_OK);
    jk_test_write_file(dir, "valid-state", b, n);
    big = malloc(2 * n + 16);
    size_t nobj = jk_objects(b, n, offs, 64);
    for (size_t i = 0; i < nobj; i++)
        order[i] = i;
    order[nobj] = 0;
    jk_test_write_file(dir, "bad-duplicate", big, jk_refile(b, n, offs, nobj, order, nobj + 1, nobj + 1, big));
    order[0] = 1;
    order[1] = 0;
    jk_test_write_file(dir, "bad-order", big, jk_refile(b, n, offs, nobj, order, nobj, nobj, big));
    memcpy(big, b, n);
    big[n] = 0;
    jk_test_write_file(dir, "bad-trailing", big, n + 1);
    jk_test_write_file(dir, "bad-truncated", b, n - 1);
    free(big);
    free(b);
    jk_image_file_save(jk_path("inner.img"), f, NULL);
    jk_put_text("outer.json", "{\"program\": \"tiny.jkp\", \"pins\": [{\"slot\": 1, \"image\": \"inner.img\"}],"
                              " \"state\": [{\"slot\": 25, \"image\": \"inner.img\"}]}");
    if (jk_image_manifest_build(jk_path("outer.json"), outer, NULL) == JK_OK &&
        jk_image_file_write(outer, &b, &n, NULL) == JK_OK) {
        jk_test_write_file(dir, "valid-pinned-image", b, n);
        free(b);
    }
    jk_file_free(f);
    jk_file_free(outer);
}

JK_TEST(test_image_fuzz_corpus_replay)
{
    int64_t live = jk_live();
    const char *out = getenv("JK_IMAGE_WRITE_CORPUS");
    if (out)
        jk_write_corpus(out);
    jk_test_corpus c;
    JK_REQUIRE(jk_test_corpus_open(&c, CORPUS_DIR));
    size_t count = 0, valid = 0;
    while (jk_test_corpus_next(&c)) {
        jk_fuzz_image(c.bytes, c.len); /* aborts on a bug */
        bool refused = jk_refused(c.bytes, c.len, NULL);
        if (!strncmp(c.name, "valid-", 6)) {
            valid++;
            if (refused)
                jk_test_fail(__FILE__, __LINE__, "seed %s no longer loads", c.name);
        } else if (!strncmp(c.name, "bad-", 4) && !refused) {
            jk_test_fail(__FILE__, __LINE__, "seed %s is accepted", c.name);
        }
        count++;
    }
    jk_test_corpus_close(&c);
    JK_CHECK(count >= 8);
    JK_CHECK(valid >= 4);
    JK_CHECK_EQ(jk_live(), live);
}
