/*
 * test_adv_votelog.c — hostile DIR/votes.log bytes against the strict
 * decoder (jk_node_votelog_decode, what jk_node_votelog_open reads back):
 * cut at every byte offset, every byte of a whole append flipped, length
 * fields at and past their bound. The decoder must never return a record
 * that is not one of the log's whole appends, must keep exactly the whole
 * appends before a cut, must refuse — naming the offset — any damage before
 * the last append (format 02: a unit header carries its own checksum), and
 * must allocate no more than a small multiple of the bytes it reads
 * (counting allocator, adv_alloc.h).
 */
#include "../test.h"
#include "adv_alloc.h"
#include "jark/crypto.h"
#include "jark/node.h"

#include <stdlib.h>

static jk_cons_record av_rec(uint64_t h, uint32_t r, uint8_t s, uint8_t v)
{
    jk_cons_record rec = {.present = true, .height = h, .round = r, .step = s, .has_value = true,
                          .valid_round = JK_CONS_NIL_ROUND, .locked_round = JK_CONS_NIL_ROUND};
    memset(rec.value.bytes, v, sizeof rec.value.bytes);
    return rec;
}

/* A unit (format 02, src/node/votelog.c) at out: a proof of lock of
 * pol_len bytes of value b (its length field `claim`: pol_len for a whole
 * one) and n records; count is the count field written (n for a whole
 * one). The unit header's checksum is right for what is written. */
static size_t av_unit_ex(const jk_cons_record *recs, size_t n, uint8_t count, size_t pol_len, uint32_t claim,
                         uint8_t b, uint8_t *out)
{
    out[0] = count;
    out[1] = (uint8_t)claim;
    out[2] = (uint8_t)(claim >> 8);
    out[3] = (uint8_t)(claim >> 16);
    out[4] = (uint8_t)(claim >> 24);
    JK_CHECK_EQ(jk_crypto_blake2b(out, 5, out + 5, 8), JK_OK);
    memset(out + 13, b, pol_len);
    for (size_t i = 0; i < n; i++)
        jk_cons_record_encode(&recs[i], out + 13 + pol_len + i * JK_CONS_RECORD_SIZE);
    size_t body = 13 + pol_len + n * JK_CONS_RECORD_SIZE;
    JK_CHECK_EQ(jk_crypto_blake2b(out, body, out + body, 8), JK_OK);
    return body + 8;
}

static size_t av_unit(const jk_cons_record *recs, size_t n, uint8_t *out)
{
    return av_unit_ex(recs, n, (uint8_t)n, 0, 0, 0, out);
}

static size_t av_pol(size_t len, uint32_t claim, uint8_t b, uint8_t *out)
{
    return av_unit_ex(NULL, 0, 0, len, claim, b, out);
}

/* The test log: header, 2 records at height 4, a proof of lock of 100
 * bytes, 1 record at height 5, 3 records at height 5. bounds[i]: the end of
 * the i-th unit; recs_before[i]: records in units 0..i. */
typedef struct av_log {
    uint8_t bytes[2048];
    size_t len, bounds[5], recs_before[5], nunits;
    jk_cons_record recs[6];
} av_log;

static void av_log_make(av_log *g)
{
    memset(g, 0, sizeof *g);
    g->recs[0] = av_rec(4, 0, 1, 1);
    g->recs[1] = av_rec(4, 0, 2, 1);
    g->recs[2] = av_rec(5, 0, 0, 2);
    g->recs[3] = av_rec(5, 0, 1, 2);
    g->recs[4] = av_rec(5, 0, 2, 2);
    g->recs[5] = av_rec(5, 1, 0, 3);
    memcpy(g->bytes, "jkvlog02", 8);
    size_t off = 8, r = 0;
    off += av_unit(&g->recs[0], 2, g->bytes + off);
    r += 2;
    g->bounds[0] = off, g->recs_before[0] = r;
    off += av_pol(100, 100, 0x5A, g->bytes + off);
    g->bounds[1] = off, g->recs_before[1] = r;
    off += av_unit(&g->recs[2], 1, g->bytes + off);
    r += 1;
    g->bounds[2] = off, g->recs_before[2] = r;
    off += av_unit(&g->recs[3], 3, g->bytes + off);
    r += 3;
    g->bounds[3] = off, g->recs_before[3] = r;
    g->nunits = 4;
    g->len = off;
}

/* Is r one of the log's records? */
static bool av_known(const av_log *g, const jk_cons_record *r)
{
    uint8_t a[JK_CONS_RECORD_SIZE], b[JK_CONS_RECORD_SIZE];
    jk_cons_record_encode(r, a);
    for (size_t i = 0; i < 6; i++) {
        jk_cons_record_encode(&g->recs[i], b);
        if (memcmp(a, b, sizeof a) == 0)
            return true;
    }
    return false;
}

JK_TEST(test_adv_votelog_every_cut_keeps_the_whole_appends)
{
    av_log g;
    av_log_make(&g);
    for (size_t cut = 0; cut <= g.len; cut++) {
        jk_node_votelog_view v;
        jk_diag diag = {{0}};
        uint64_t before = adv_allocated();
        jk_err err = jk_node_votelog_decode(g.bytes, cut, &v, &diag);
        uint64_t used = adv_allocated() - before;
        JK_CHECK_EQ(err, JK_OK);
        if (err != JK_OK)
            continue;
        /* the whole units before the cut, and nothing of a partial one */
        size_t keep = cut < 8 ? 0 : 8, recs = 0;
        bool pol = false;
        for (size_t i = 0; i < g.nunits; i++)
            if (g.bounds[i] <= cut) {
                keep = g.bounds[i];
                recs = g.recs_before[i];
                pol = pol || i == 1;
            }
        JK_CHECK_EQ(v.valid_len, keep);
        JK_CHECK_EQ(v.records, recs);
        JK_CHECK_EQ(v.torn, cut != keep);
        JK_CHECK_EQ(v.npols ? v.pols[v.npols - 1].len : 0, pol ? 100 : 0);
        for (size_t i = 0; i < v.nlatest; i++)
            JK_CHECK(av_known(&g, &v.latest[i]));
        JK_CHECK(used <= 4096 + 16 * (uint64_t)cut);
        jk_node_votelog_view_free(&v);
    }
}

/* Every bit flip before the last append is refused with the damaged
 * append's offset in the message; one inside the last append is the one
 * damage that reads as a torn tail (a torn write looks the same), and then
 * only that append is dropped. Format 01 read 7 of these flips (count
 * bytes, a length's high bits) as a torn tail and dropped the synced
 * appends after them. */
JK_TEST(test_adv_votelog_flipped_byte_never_invents_a_record)
{
    av_log g;
    av_log_make(&g);
    uint8_t bad[sizeof g.bytes];
    size_t refused = 0, torn = 0;
    for (size_t at = 0; at < g.len; at++)
        for (int bit = 0; bit < 8; bit++) {
            memcpy(bad, g.bytes, g.len);
            bad[at] ^= (uint8_t)(1u << bit);
            jk_node_votelog_view v;
            jk_diag diag = {{0}};
            jk_err err = jk_node_votelog_decode(bad, g.len, &v, &diag);
            size_t unit = 0; /* the append the flip is in (0: the file header) */
            for (size_t i = 0; i < g.nunits; i++)
                if (at >= (i ? g.bounds[i - 1] : 8))
                    unit = i + 1;
            if (at < 8)
                unit = 0;
            if (unit < g.nunits) {
                /* before the last append: refused, naming where */
                if (err != JK_ERR_NODE_VOTE_LOG)
                    jk_test_fail(__FILE__, __LINE__, "byte %zu bit %d: %s", at, bit,
                                 err == JK_OK ? "accepted" : "another code");
                if (unit > 0) {
                    char where[32];
                    snprintf(where, sizeof where, "(offset %zu)", unit > 1 ? g.bounds[unit - 2] : (size_t)8);
                    if (!strstr(diag.msg, where))
                        jk_test_fail(__FILE__, __LINE__, "byte %zu bit %d: '%s' lacks '%s'", at, bit, diag.msg,
                                     where);
                }
                refused++;
            } else {
                /* in the last append: a torn tail, the appends before it kept */
                JK_CHECK_EQ(err, JK_OK);
                JK_CHECK(v.torn);
                JK_CHECK_EQ(v.valid_len, g.bounds[g.nunits - 2]);
                JK_CHECK_EQ(v.records, g.recs_before[g.nunits - 2]);
                for (size_t i = 0; i < v.nlatest; i++)
                    JK_CHECK(av_known(&g, &v.latest[i]));
                torn++;
            }
            jk_node_votelog_view_free(&v);
        }
    JK_CHECK_EQ(refused, 8 * g.bounds[g.nunits - 2]);
    JK_CHECK_EQ(torn, 8 * (g.len - g.bounds[g.nunits - 2]));
}

/* A unit header damaged with more than one append's bytes after it (no
 * torn write leaves that) is refused without a scan; the same header
 * damaged with a valid append after it is refused naming the append
 * found; with nothing valid after it, it is a torn write. */
JK_TEST(test_adv_votelog_damaged_header_far_from_the_end)
{
    av_log g;
    av_log_make(&g);
    size_t big = 8 + 100 + (4u << 20) + (200u << 10);
    uint8_t *buf = calloc(1, big);
    JK_REQUIRE(buf);
    memcpy(buf, g.bytes, g.bounds[0]);
    buf[g.bounds[0] - 1] ^= 1; /* the body sum of the first: with the zeros after it, refused */
    jk_node_votelog_view v;
    jk_diag diag = {{0}};
    JK_CHECK_EQ(jk_node_votelog_decode(buf, big, &v, &diag), JK_ERR_NODE_VOTE_LOG);
    JK_CHECK(strstr(diag.msg, "(offset 8) is corrupt") != NULL);
    /* the first unit whole, then a zeroed header and 4.2 MB of zeros */
    buf[g.bounds[0] - 1] ^= 1;
    JK_CHECK_EQ(jk_node_votelog_decode(buf, big, &v, &diag), JK_ERR_NODE_VOTE_LOG);
    JK_CHECK(strstr(diag.msg, "more than one append") != NULL);
    /* a valid append 1000 bytes on, after zeros: refused, naming it */
    size_t at = g.bounds[0] + 1000;
    av_unit(&g.recs[2], 1, buf + at);
    JK_CHECK_EQ(jk_node_votelog_decode(buf, at + 108, &v, &diag), JK_ERR_NODE_VOTE_LOG);
    char want[64];
    snprintf(want, sizeof want, "an append's header follows at offset %zu", at);
    JK_CHECK(strstr(diag.msg, want) != NULL);
    /* without it: a torn write, what is before it kept */
    JK_CHECK_EQ(jk_node_votelog_decode(buf, g.bounds[0] + 1000, &v, &diag), JK_OK);
    JK_CHECK(v.torn);
    JK_CHECK_EQ(v.valid_len, g.bounds[0]);
    jk_node_votelog_view_free(&v);
    free(buf);
}

JK_TEST(test_adv_votelog_length_fields_at_their_bound)
{
    av_log g;
    av_log_make(&g);
    static uint8_t buf[4096];
    jk_node_votelog_view v;
    jk_diag diag = {{0}};
    /* a proof of lock claiming 4 GiB − 1, with bytes after it: refused */
    memcpy(buf, g.bytes, g.bounds[0]);
    size_t off = g.bounds[0];
    off += av_pol(100, 0xFFFFFFFFu, 1, buf + off);
    off += av_unit(&g.recs[2], 1, buf + off);
    uint64_t before = adv_allocated();
    JK_CHECK_EQ(jk_node_votelog_decode(buf, off, &v, &diag), JK_ERR_NODE_VOTE_LOG);
    JK_CHECK(strstr(diag.msg, "proof of lock") != NULL);
    /* one claiming just over the bound: refused */
    off = g.bounds[0] + av_pol(100, JK_NODE_VOTELOG_POL_MAX + 1, 1, buf + g.bounds[0]);
    JK_CHECK_EQ(jk_node_votelog_decode(buf, off, &v, &diag), JK_ERR_NODE_VOTE_LOG);
    /* one claiming exactly the bound with 100 bytes there: the torn last
     * append, and nothing of it kept; no allocation of its claimed size */
    off = g.bounds[0] + av_pol(100, JK_NODE_VOTELOG_POL_MAX, 1, buf + g.bounds[0]);
    JK_CHECK_EQ(jk_node_votelog_decode(buf, off, &v, &diag), JK_OK);
    JK_CHECK(v.torn);
    JK_CHECK_EQ(v.npols, 0);
    JK_CHECK_EQ(v.valid_len, g.bounds[0]);
    JK_CHECK_EQ(v.records, 2);
    jk_node_votelog_view_free(&v);
    JK_CHECK(adv_allocated() - before <= 3 * 4096);
    /* counts 0 (without a proof of lock) and 17, their header checksum
     * right: refused, naming the counts; flipped with the checksum not
     * redone: a corrupt header */
    for (int c = 0; c < 2; c++) {
        memcpy(buf, g.bytes, 8);
        off = 8 + av_unit_ex(g.recs, c ? 2 : 0, c ? JK_NODE_VOTELOG_GROUP + 1 : 0, 0, 0, 0, buf + 8);
        memcpy(buf + off, g.bytes + g.bounds[0], g.len - g.bounds[0]);
        JK_CHECK_EQ(jk_node_votelog_decode(buf, off + g.len - g.bounds[0], &v, &diag), JK_ERR_NODE_VOTE_LOG);
        JK_CHECK(strstr(diag.msg, c ? "counts 17 records" : "counts 0 records") != NULL);
        memcpy(buf, g.bytes, g.len);
        buf[8] = c ? JK_NODE_VOTELOG_GROUP + 1 : 0;
        JK_CHECK_EQ(jk_node_votelog_decode(buf, g.len, &v, &diag), JK_ERR_NODE_VOTE_LOG);
        JK_CHECK(strstr(diag.msg, "(offset 8) has a corrupt header") != NULL);
    }
    /* records out of order across appends: refused */
    memcpy(buf, g.bytes, 8);
    off = 8 + av_unit(&g.recs[3], 1, buf + 8);
    off += av_unit(&g.recs[2], 1, buf + off);
    JK_CHECK_EQ(jk_node_votelog_decode(buf, off, &v, &diag), JK_ERR_NODE_VOTE_LOG);
    JK_CHECK(strstr(diag.msg, "not above") != NULL);
    /* the same record twice: refused */
    off = 8 + av_unit(&g.recs[3], 1, buf + 8);
    off += av_unit(&g.recs[3], 1, buf + off);
    JK_CHECK_EQ(jk_node_votelog_decode(buf, off, &v, &diag), JK_ERR_NODE_VOTE_LOG);
}
