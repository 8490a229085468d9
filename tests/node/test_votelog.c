/*
 * test_votelog.c — the signed-vote log (src/node/votelog.c): records back
 * after a reopen, the latest height's only; appends not above the last
 * refused; a torn last append ignored with a note and cut off; a corrupt
 * middle, garbage, another version refused clearly; rotation keeps it
 * bounded; a head commit reaches the disk before a vote; an old store's
 * records carried over; and 100 seeded kills while voting: the reopened log
 * holds every record whose vote left and refuses a conflicting one.
 */
#include "../test.h"

#include "jark/crypto.h"
#include "jark/node.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void vl_tmpdir(char *dir, size_t n)
{
    snprintf(dir, n, "/tmp/jark-votelog-XXXXXX");
    if (!mkdtemp(dir))
        abort();
}

static void vl_rmdir(const char *dir)
{
    const char *names[] = {"data.mdb", "lock.mdb", "votes.log", "votes.log.tmp"};
    char path[512];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        remove(path);
    }
    remove(dir);
}

static jk_cons_record vl_rec(uint64_t h, uint32_t r, uint8_t s, uint8_t v)
{
    jk_cons_record rec = {.present = true, .height = h, .round = r, .step = s, .has_value = true,
                          .valid_round = JK_CONS_NIL_ROUND, .locked_round = JK_CONS_NIL_ROUND};
    memset(rec.value.bytes, v, sizeof rec.value.bytes);
    return rec;
}

static long vl_size(const char *dir)
{
    char path[512];
    struct stat st;
    snprintf(path, sizeof path, "%s/votes.log", dir);
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static size_t vl_read(const char *dir, uint8_t *buf, size_t cap)
{
    char path[512];
    snprintf(path, sizeof path, "%s/votes.log", dir);
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

static void vl_write(const char *dir, const uint8_t *buf, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/votes.log", dir);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(buf, 1, n, f) != n)
        abort();
    fclose(f);
}

/* A log of three appends: height 4 (two records, one append), height 5
 * round 0 prevote, then precommit. */
static void vl_three_appends(const char *dir)
{
    jk_node_votelog *l;
    if (jk_node_votelog_open(dir, &l, NULL) != JK_OK)
        abort();
    jk_cons_record two[2] = {vl_rec(4, 0, 1, 7), vl_rec(4, 0, 2, 7)};
    jk_cons_record a = vl_rec(5, 0, 1, 8), b = vl_rec(5, 0, 2, 8);
    if (jk_node_votelog_append(l, two, 2, NULL) != JK_OK || jk_node_votelog_append(l, &a, 1, NULL) != JK_OK ||
        jk_node_votelog_append(l, &b, 1, NULL) != JK_OK)
        abort();
    jk_node_votelog_close(l);
}

JK_TEST(test_votelog_reopens_with_the_latest_two_heights)
{
    char dir[64];
    vl_tmpdir(dir, sizeof dir);
    vl_three_appends(dir);
    /* header 8 + (21 + 2·87 + 8) + 2 × (21 + 87 + 8) */
    JK_CHECK_EQ(vl_size(dir), 8 + 203 + 2 * 116);
    jk_node_votelog *l;
    jk_diag diag = {{0}};
    JK_REQUIRE(jk_node_votelog_open(dir, &l, &diag) == JK_OK);
    size_t n;
    const jk_cons_record *r = jk_node_votelog_latest(l, &n);
    JK_CHECK_EQ(n, 4); /* heights 4 and 5, two records each */
    JK_CHECK_EQ(jk_node_votelog_records(l), 4);
    JK_CHECK_EQ(jk_node_votelog_note(l)[0], 0);
    if (n == 4) {
        JK_CHECK_EQ(r[0].height, 4);
        JK_CHECK_EQ(r[1].value.bytes[0], 7);
        JK_CHECK_EQ(r[2].height, 5);
        JK_CHECK_EQ(r[3].step, 2);
        JK_CHECK_EQ(r[3].value.bytes[0], 8);
    }
    /* the same (h, r, s) again, or anything below, is refused */
    jk_cons_record same = vl_rec(5, 0, 2, 9), below = vl_rec(5, 0, 1, 8);
    JK_CHECK_EQ(jk_node_votelog_append(l, &same, 1, &diag), JK_ERR_NODE_VOTE_LOG);
    JK_CHECK(strstr(diag.msg, "not above") != NULL);
    JK_CHECK_EQ(jk_node_votelog_append(l, &below, 1, NULL), JK_ERR_NODE_VOTE_LOG);
    jk_cons_record order[2] = {vl_rec(6, 0, 2, 1), vl_rec(6, 0, 1, 1)};
    JK_CHECK_EQ(jk_node_votelog_append(l, order, 2, NULL), JK_ERR_NODE_VOTE_LOG);
    JK_CHECK_EQ(jk_node_votelog_append(l, order, JK_NODE_VOTELOG_GROUP + 1, NULL), JK_ERR_INVALID_ARG);
    /* a new height drops the records two below it (4's); one sync per append */
    uint64_t syncs = jk_node_votelog_syncs(l);
    jk_cons_record next = vl_rec(6, 0, 0, 3);
    JK_CHECK_EQ(jk_node_votelog_append(l, &next, 1, NULL), JK_OK);
    JK_CHECK_EQ(jk_node_votelog_syncs(l), syncs + 1);
    r = jk_node_votelog_latest(l, &n);
    JK_CHECK_EQ(n, 3);
    if (n == 3)
        JK_CHECK(r[0].height == 5 && r[1].height == 5 && r[2].height == 6);
    JK_CHECK_EQ(vl_size(dir), 8 + 203 + 3 * 116);
    jk_node_votelog_close(l);
    vl_rmdir(dir);
}

JK_TEST(test_votelog_ignores_a_torn_last_append)
{
    char dir[64];
    uint8_t buf[4096], again[4096];
    vl_tmpdir(dir, sizeof dir);
    vl_three_appends(dir);
    size_t len = vl_read(dir, buf, sizeof buf);
    /* (a) a partial last append: the log is cut back to the second one;
     * (b) a whole-length last append with a bad byte: the same. */
    for (int kind = 0; kind < 2; kind++) {
        if (kind == 0)
            vl_write(dir, buf, len - 40);
        else {
            memcpy(again, buf, len);
            again[len - 50] ^= 0x10;
            vl_write(dir, again, len);
        }
        jk_node_votelog *l;
        jk_diag diag = {{0}};
        JK_REQUIRE(jk_node_votelog_open(dir, &l, &diag) == JK_OK);
        JK_CHECK(strstr(jk_node_votelog_note(l), "torn") != NULL);
        size_t n;
        const jk_cons_record *r = jk_node_votelog_latest(l, &n);
        JK_CHECK_EQ(n, 3); /* height 4's two, height 5's prevote */
        if (n == 3)
            JK_CHECK(r[0].height == 4 && r[2].height == 5 && r[2].step == 1); /* the precommit's append was torn */
        /* cut off: rewritten with the latest two heights' whole records, one unit */
        JK_CHECK_EQ(vl_size(dir), 8 + 21 + 3 * 87 + 8);
        /* appends go on after the cut, and read back */
        jk_cons_record pc = vl_rec(5, 0, 2, 4);
        JK_CHECK_EQ(jk_node_votelog_append(l, &pc, 1, NULL), JK_OK);
        jk_node_votelog_close(l);
        JK_REQUIRE(jk_node_votelog_open(dir, &l, NULL) == JK_OK);
        r = jk_node_votelog_latest(l, &n);
        JK_CHECK_EQ(n, 4);
        if (n == 4)
            JK_CHECK_EQ(r[3].value.bytes[0], 4);
        JK_CHECK_EQ(jk_node_votelog_note(l)[0], 0);
        jk_node_votelog_close(l);
    }
    vl_rmdir(dir);
}

JK_TEST(test_votelog_refuses_a_corrupt_middle_and_garbage)
{
    char dir[64];
    uint8_t buf[4096], bad[4096];
    vl_tmpdir(dir, sizeof dir);
    vl_three_appends(dir);
    size_t len = vl_read(dir, buf, sizeof buf);
    struct {
        size_t at;       /* the byte changed */
        uint8_t to;
        const char *why; /* in the message */
    } cases[] = {
        {8 + 30, 0x55, "(offset 8) is corrupt"},                /* inside the first append */
        {8 + 203 + 30, 0x01, "(offset 211) is corrupt"},        /* inside the second */
        {8 + 203 + 10, 0x01, "(offset 211) has a corrupt header"}, /* the second's header (the proof's height) */
        {8 + 203 + 16, 0x01, "(offset 211) has a corrupt header"}, /* the second's header checksum */
        {8 + 203, 0, "(offset 211) has a corrupt header"},      /* the second's count */
        {8 + 203, 200, "(offset 211) has a corrupt header"},
        {0, 'J', "not a vote log"},     /* magic */
        {7, '9', "format version"},     /* another version */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memcpy(bad, buf, len);
        bad[cases[i].at] = cases[i].to;
        vl_write(dir, bad, len);
        jk_node_votelog *l = NULL;
        jk_diag diag = {{0}};
        JK_CHECK_EQ(jk_node_votelog_open(dir, &l, &diag), JK_ERR_NODE_VOTE_LOG);
        JK_CHECK(l == NULL);
        if (!strstr(diag.msg, cases[i].why))
            jk_test_fail(__FILE__, __LINE__, "case %zu: '%s' lacks '%s'", i, diag.msg, cases[i].why);
        /* refused, not repaired: the file is as it was */
        JK_CHECK_EQ(vl_size(dir), (long)len);
    }
    /* records out of order, each append whole: refused */
    jk_node_votelog_view v;
    jk_diag diag = {{0}};
    memcpy(bad, buf, 8);
    memcpy(bad + 8, buf + 8 + 203, 116);    /* height 5 prevote */
    memcpy(bad + 8 + 116, buf + 8, 203);    /* then height 4 */
    JK_CHECK_EQ(jk_node_votelog_decode(bad, 8 + 116 + 203, &v, &diag), JK_ERR_NODE_VOTE_LOG);
    JK_CHECK(strstr(diag.msg, "not above") != NULL);
    JK_CHECK(v.latest == NULL);
    /* random garbage of every length up to 400 bytes: an answer, never a crash */
    uint32_t x = 12345;
    for (size_t n = 0; n <= 400; n++) {
        for (size_t k = 0; k < n; k++) {
            x = x * 1103515245u + 12345u;
            bad[k] = (uint8_t)(x >> 16);
        }
        if (n >= 8 && (n & 1))
            memcpy(bad, n & 2 ? "jkvlog01" : n & 4 ? "jkvlog02" : "jkvlog03", 8);
        jk_err err = jk_node_votelog_decode(bad, n, &v, NULL);
        JK_CHECK(err == JK_OK || err == JK_ERR_NODE_VOTE_LOG);
        if (err == JK_OK)
            JK_CHECK(v.valid_len <= n);
        jk_node_votelog_view_free(&v);
    }
    vl_rmdir(dir);
}

JK_TEST(test_votelog_rotates_at_its_bound)
{
    char dir[64];
    vl_tmpdir(dir, sizeof dir);
    jk_node_votelog *l;
    JK_REQUIRE(jk_node_votelog_open(dir, &l, NULL) == JK_OK);
    uint64_t most = 0;
    for (uint64_t h = 1; h <= 3 * JK_NODE_VOTELOG_ROTATE; h++) {
        jk_cons_record two[2] = {vl_rec(h, 0, 1, (uint8_t)h), vl_rec(h, 0, 2, (uint8_t)h)};
        JK_REQUIRE(jk_node_votelog_append(l, two, 1, NULL) == JK_OK);
        JK_REQUIRE(jk_node_votelog_append(l, two + 1, 1, NULL) == JK_OK);
        if (jk_node_votelog_records(l) > most)
            most = jk_node_votelog_records(l);
    }
    /* at most ROTATE - 1 records of older heights and the current height's */
    JK_CHECK(most <= JK_NODE_VOTELOG_ROTATE + 1);
    JK_CHECK(vl_size(dir) <= 8 + (long)(JK_NODE_VOTELOG_ROTATE + 1) * 116);
    jk_node_votelog_close(l);
    JK_REQUIRE(jk_node_votelog_open(dir, &l, NULL) == JK_OK);
    size_t n;
    const jk_cons_record *r = jk_node_votelog_latest(l, &n);
    JK_CHECK_EQ(n, 4);
    if (n == 4)
        JK_CHECK(r[1].height == 3 * JK_NODE_VOTELOG_ROTATE - 1 && r[3].height == 3 * JK_NODE_VOTELOG_ROTATE);
    jk_node_votelog_close(l);
    vl_rmdir(dir);
}

/* A vote written after a head commit makes that commit durable first (the
 * store's meta page flushed): one sync more, once per commit. */
JK_TEST(test_votelog_flushes_the_head_commit_before_a_vote)
{
    char dir[64];
    vl_tmpdir(dir, sizeof dir);
    jk_cap_store *st;
    JK_REQUIRE(jk_cap_store_open(dir, NULL, &st, NULL) == JK_OK);
    jk_node_archive *a;
    JK_REQUIRE(jk_node_archive_attach(st, &a, NULL) == JK_OK);
    jk_cap d;
    JK_REQUIRE(jk_cap_data_new((const uint8_t *)"head", 4, &d) == JK_OK);
    jk_cap_store_stats s0, s1, s2, s3;
    jk_cap_store_stats_get(st, &s0);
    JK_REQUIRE(jk_cap_store_commit(st, "main", d, NULL, NULL) == JK_OK);
    jk_cap_store_stats_get(st, &s1);
    JK_CHECK_EQ(s1.syncs, s0.syncs + 1); /* the commit: data only */
    jk_cons_record r1 = vl_rec(1, 0, 1, 1), r2 = vl_rec(1, 0, 2, 1);
    JK_CHECK_EQ(jk_node_archive_put_record(a, &r1, NULL), JK_OK);
    jk_cap_store_stats_get(st, &s2);
    JK_CHECK_EQ(s2.syncs, s1.syncs + 1); /* the flush of its meta page */
    JK_CHECK_EQ(jk_node_archive_put_record(a, &r2, NULL), JK_OK);
    jk_cap_store_stats_get(st, &s3);
    JK_CHECK_EQ(s3.syncs, s2.syncs); /* nothing left to flush */
    JK_CHECK_EQ(s3.commits, s1.commits); /* no LMDB transaction per vote */
    jk_cap_release(d);
    jk_node_archive_close(a);
    jk_cap_store_close(st);
    vl_rmdir(dir);
}

/* A store of an earlier jark: the records in the "vote" table. */
static jk_err vl_old_put(void *ctx, jk_cap_store_txn *t, jk_diag *diag)
{
    const jk_cap_table *table = ctx;
    uint8_t b[2 * JK_CONS_RECORD_SIZE];
    jk_cons_record r1 = vl_rec(9, 1, 1, 5), r2 = vl_rec(9, 1, 2, 5);
    jk_cons_record_encode(&r1, b);
    jk_cons_record_encode(&r2, b + JK_CONS_RECORD_SIZE);
    jk_err err = jk_cap_txn_put(t, *table, "records", 7, b, sizeof b, diag);
    return err == JK_OK ? jk_cap_txn_put(t, *table, "pol", 3, "lock", 4, diag) : err;
}

/* How many of the old keys the "vote" table still holds. */
static jk_err vl_old_count(void *ctx, jk_cap_store_txn *t, jk_diag *diag)
{
    int *left = ctx;
    const char *keys[] = {"records", "pol"};
    jk_cap_table vote = 0; /* the first table this store opened */
    for (int i = 0; i < 2; i++) {
        const uint8_t *v;
        size_t n;
        jk_err err = jk_cap_txn_get(t, vote, keys[i], strlen(keys[i]), &v, &n, diag);
        if (err == JK_OK)
            ++*left;
        else if (err != JK_ERR_CAP_MISSING)
            return err;
    }
    return JK_OK;
}

JK_TEST(test_votelog_takes_over_an_old_stores_records)
{
    char dir[64];
    vl_tmpdir(dir, sizeof dir);
    jk_cap_store *st;
    JK_REQUIRE(jk_cap_store_open(dir, NULL, &st, NULL) == JK_OK);
    jk_cap_table vote;
    JK_REQUIRE(jk_cap_store_table(st, "vote", &vote, NULL) == JK_OK);
    JK_REQUIRE(jk_cap_store_write(st, vl_old_put, &vote, NULL) == JK_OK);
    jk_cap_store_close(st);
    for (int round = 0; round < 2; round++) {
        jk_node_archive *a;
        JK_REQUIRE(jk_node_archive_open(dir, &a, NULL) == JK_OK);
        jk_cons_record *recs;
        size_t n;
        JK_REQUIRE(jk_node_archive_records(a, &recs, &n, NULL) == JK_OK);
        JK_CHECK_EQ(n, 2);
        if (n == 2)
            JK_CHECK(recs[0].height == 9 && recs[1].step == 2 && recs[1].round == 1);
        free(recs);
        uint8_t *pol;
        size_t plen;
        JK_REQUIRE(jk_node_archive_pol(a, &pol, &plen, NULL) == JK_OK);
        JK_CHECK(plen == 4 && pol && !memcmp(pol, "lock", 4));
        free(pol);
        jk_node_archive_close(a);
    }
    JK_CHECK_EQ(vl_size(dir), 8 + (21 + 2 * 87 + 8) + (21 + 4 + 8));
    /* and gone from the table */
    JK_REQUIRE(jk_cap_store_open(dir, NULL, &st, NULL) == JK_OK);
    JK_REQUIRE(jk_cap_store_table(st, "vote", &vote, NULL) == JK_OK);
    int left = 0;
    JK_CHECK_EQ(jk_cap_store_read(st, vl_old_count, &left, NULL), JK_OK);
    JK_CHECK_EQ(left, 0);
    jk_cap_store_close(st);
    vl_rmdir(dir);
}

/* ---- kills while voting ---- */

static uint64_t vl_next(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* The seed's sequence of records: (h, r, s) strictly increasing, values
 * from the seed. */
static void vl_sequence(uint64_t seed, jk_cons_record *out, size_t n)
{
    uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1, h = 1;
    uint32_t r = 0;
    uint8_t s = 0;
    for (size_t i = 0; i < n; i++) {
        out[i] = vl_rec(h, r, s, (uint8_t)vl_next(&x));
        if (vl_next(&x) % 4 == 0)
            out[i].has_value = false, memset(out[i].value.bytes, 0, 32);
        if (++s > 2) {
            s = vl_next(&x) % 2;
            if (vl_next(&x) % 3 == 0)
                r++;
            else
                h++, r = 0;
        }
    }
}

#define VL_RECORDS 40

/* The child: vote through the archive in appends of 1..3 records, and
 * report (the vote "leaves") after each; it kills itself after append k,
 * before or after reporting it. */
static void vl_child(const char *dir, uint64_t seed, int fd)
{
    jk_cons_record recs[VL_RECORDS];
    vl_sequence(seed, recs, VL_RECORDS);
    uint64_t x = seed + 77;
    size_t kill_after = 1 + vl_next(&x) % 14;
    bool report_first = vl_next(&x) % 2;
    jk_node_archive *a;
    if (jk_node_archive_open(dir, &a, NULL) != JK_OK)
        _exit(3);
    size_t done = 0;
    for (size_t k = 1; done < VL_RECORDS; k++) {
        size_t n = 1 + vl_next(&x) % 3;
        if (done + n > VL_RECORDS)
            n = VL_RECORDS - done;
        if (jk_node_archive_put_turn(a, recs + done, n, NULL, 0, NULL) != JK_OK)
            _exit(4);
        done += n;
        if (k == kill_after && !report_first)
            raise(SIGKILL);
        uint32_t sent = (uint32_t)done;
        if (write(fd, &sent, sizeof sent) != sizeof sent)
            _exit(5);
        if (k == kill_after)
            raise(SIGKILL);
    }
    _exit(0);
}

JK_TEST(test_votelog_kill_while_voting_never_equivocates)
{
    for (uint64_t seed = 1; seed <= 100; seed++) {
        char dir[64];
        vl_tmpdir(dir, sizeof dir);
        int p[2];
        JK_REQUIRE(pipe(p) == 0);
        pid_t pid = fork();
        JK_REQUIRE(pid >= 0);
        if (pid == 0) {
            close(p[0]);
            vl_child(dir, seed, p[1]);
        }
        close(p[1]);
        uint32_t sent = 0, got;
        while (read(p[0], &got, sizeof got) == sizeof got)
            sent = got;
        close(p[0]);
        int status;
        waitpid(pid, &status, 0);
        JK_CHECK(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) == 0));
        jk_cons_record recs[VL_RECORDS];
        vl_sequence(seed, recs, VL_RECORDS);
        /* A machine crash may also lose or tear what was written after the
         * last sync that returned: cut the log, or zero it, anywhere past
         * what the last report proves synced (the appends of `sent`
         * records). */
        uint8_t buf[1 << 14];
        size_t len = vl_read(dir, buf, sizeof buf), synced = len;
        jk_node_votelog_view v;
        uint64_t x = seed * 31 + 5;
        for (size_t cut = 8; cut <= len; cut++) { /* the end of record `sent` */
            if (jk_node_votelog_decode(buf, cut, &v, NULL) == JK_OK && v.records == sent && !v.torn) {
                synced = cut;
                jk_node_votelog_view_free(&v);
                break;
            }
            jk_node_votelog_view_free(&v);
        }
        if (len > synced) {
            size_t keep = synced + vl_next(&x) % (len - synced + 1);
            if (vl_next(&x) % 2)
                memset(buf + keep, 0, len - keep); /* the size grew, the data did not land */
            else
                len = keep;
            vl_write(dir, buf, len);
        }
        /* reopen: it holds every record whose vote left */
        jk_node_archive *a;
        jk_diag diag = {{0}};
        JK_REQUIRE(jk_node_archive_open(dir, &a, &diag) == JK_OK);
        jk_cons_record *back = NULL;
        size_t n = 0;
        jk_err err = jk_node_archive_records(a, &back, &n, &diag);
        if (err != JK_OK)
            jk_test_fail(__FILE__, __LINE__, "seed %llu: %s", (unsigned long long)seed, diag.msg);
        if (sent > 0 && err == JK_OK) {
            const jk_cons_record *last = &recs[sent - 1];
            JK_REQUIRE(n > 0);
            const jk_cons_record *top = &back[n - 1];
            bool above = top->height > last->height ||
                         (top->height == last->height && (top->round > last->round ||
                                                          (top->round == last->round && top->step >= last->step)));
            if (!above)
                jk_test_fail(__FILE__, __LINE__, "seed %llu: recovered below the last vote sent",
                             (unsigned long long)seed);
            /* every record of the last sent height that left is back */
            for (size_t i = 0; i < sent; i++) {
                if (recs[i].height != top->height)
                    continue;
                bool found = false;
                for (size_t j = 0; j < n; j++)
                    found |= !memcmp(&back[j].value, &recs[i].value, sizeof recs[i].value) &&
                             back[j].round == recs[i].round && back[j].step == recs[i].step;
                JK_CHECK(found);
            }
            /* try to equivocate: the last vote sent, another value */
            jk_cons_record evil = *last;
            evil.has_value = true;
            memset(evil.value.bytes, 0xEE, 32);
            JK_CHECK_EQ(jk_node_archive_put_record(a, &evil, NULL), JK_ERR_NODE_VOTE_LOG);
        }
        free(back);
        jk_node_archive_close(a);
        vl_rmdir(dir);
    }
}

/* The proof of lock: in the same append as the turn's records (one sync),
 * replaced by the next, back after a reopen; a torn one leaves the one
 * before; large ones keep the file within twice its size after a
 * rewrite. */
JK_TEST(test_votelog_keeps_the_last_proof_of_lock)
{
    char dir[64];
    vl_tmpdir(dir, sizeof dir);
    jk_node_votelog *l;
    JK_REQUIRE(jk_node_votelog_open(dir, &l, NULL) == JK_OK);
    uint64_t syncs = jk_node_votelog_syncs(l);
    jk_cons_record pc = vl_rec(3, 0, 2, 1);
    JK_CHECK_EQ(jk_node_votelog_append_turn(l, &pc, 1, (const uint8_t *)"first", 5, NULL), JK_OK);
    JK_CHECK_EQ(jk_node_votelog_syncs(l), syncs + 1);
    JK_CHECK_EQ(jk_node_votelog_put_pol(l, (const uint8_t *)"second!", 7, NULL), JK_OK);
    JK_CHECK_EQ(jk_node_votelog_put_pol(l, NULL, 0, NULL), JK_ERR_INVALID_ARG);
    jk_node_votelog_close(l);
    uint8_t buf[4096];
    size_t len = vl_read(dir, buf, sizeof buf);
    JK_CHECK_EQ(len, 8 + (21 + 5 + 87 + 8) + (21 + 7 + 8)); /* an append is one unit */
    JK_REQUIRE(jk_node_votelog_open(dir, &l, NULL) == JK_OK);
    size_t plen, n;
    const uint8_t *pol = jk_node_votelog_pol(l, &plen);
    JK_CHECK(plen == 7 && !memcmp(pol, "second!", 7));
    jk_node_votelog_latest(l, &n);
    JK_CHECK_EQ(n, 1);
    jk_node_votelog_close(l);
    /* the second one torn: the first is the proof of lock again */
    vl_write(dir, buf, len - 3);
    JK_REQUIRE(jk_node_votelog_open(dir, &l, NULL) == JK_OK);
    pol = jk_node_votelog_pol(l, &plen);
    JK_CHECK(plen == 5 && !memcmp(pol, "first", 5));
    JK_CHECK(strstr(jk_node_votelog_note(l), "torn") != NULL);
    jk_node_votelog_close(l);
    /* a length past the bound, with bytes after it: refused */
    uint8_t bad[4096];
    memcpy(bad, buf, len);
    bad[8 + 1 + 3] = 0x7F;
    jk_node_votelog_view v;
    jk_diag diag = {{0}};
    JK_CHECK_EQ(jk_node_votelog_decode(bad, len, &v, &diag), JK_ERR_NODE_VOTE_LOG);
    JK_CHECK(strstr(diag.msg, "(offset 8) has a corrupt header") != NULL);
    /* 40 proofs of lock of 200 KB: the file stays within 2 MiB-ish */
    JK_REQUIRE(jk_node_votelog_open(dir, &l, NULL) == JK_OK);
    uint8_t *big = calloc(1, 200 << 10);
    JK_REQUIRE(big);
    long most = 0;
    for (int i = 0; i < 40; i++) {
        big[0] = (uint8_t)i;
        JK_REQUIRE(jk_node_votelog_put_pol(l, big, 200 << 10, NULL) == JK_OK);
        if (vl_size(dir) > most)
            most = vl_size(dir);
    }
    JK_CHECK(most <= (1 << 20) + (200 << 10));
    jk_node_votelog_close(l);
    JK_REQUIRE(jk_node_votelog_open(dir, &l, NULL) == JK_OK);
    pol = jk_node_votelog_pol(l, &plen);
    JK_CHECK(plen == (200 << 10) && pol[0] == 39);
    jk_node_votelog_close(l);
    free(big);
    vl_rmdir(dir);
}

/* A log of format 01 (an earlier jark's: no unit header checksum) is read
 * with its own rules and rewritten in format 02 at open, nothing lost. */
JK_TEST(test_votelog_migrates_format_01)
{
    char dir[64];
    vl_tmpdir(dir, sizeof dir);
    uint8_t buf[1024];
    memcpy(buf, "jkvlog01", 8);
    size_t off = 8;
    /* two records at height 7 (count ‖ records ‖ BLAKE2b-64) */
    jk_cons_record two[2] = {vl_rec(7, 0, 1, 3), vl_rec(7, 0, 2, 3)};
    buf[off] = 2;
    jk_cons_record_encode(&two[0], buf + off + 1);
    jk_cons_record_encode(&two[1], buf + off + 1 + JK_CONS_RECORD_SIZE);
    JK_REQUIRE(jk_crypto_blake2b(buf + off, 1 + 2 * JK_CONS_RECORD_SIZE, buf + off + 1 + 2 * JK_CONS_RECORD_SIZE,
                                 8) == JK_OK);
    off += 1 + 2 * JK_CONS_RECORD_SIZE + 8;
    /* a proof of lock (0xFF ‖ len u32 ‖ bytes ‖ BLAKE2b-64) */
    buf[off] = 0xFF;
    buf[off + 1] = 4, buf[off + 2] = buf[off + 3] = buf[off + 4] = 0;
    memcpy(buf + off + 5, "lock", 4);
    JK_REQUIRE(jk_crypto_blake2b(buf + off, 9, buf + off + 9, 8) == JK_OK);
    off += 17;
    vl_write(dir, buf, off);
    jk_node_votelog *l;
    jk_diag diag = {{0}};
    JK_REQUIRE(jk_node_votelog_open(dir, &l, &diag) == JK_OK);
    JK_CHECK(strstr(jk_node_votelog_note(l), "migrated from format 01") != NULL);
    size_t n, plen;
    const jk_cons_record *r = jk_node_votelog_latest(l, &n);
    JK_CHECK(n == 2 && r[1].height == 7 && r[1].step == 2);
    const uint8_t *pol = jk_node_votelog_pol(l, &plen);
    JK_CHECK(plen == 4 && !memcmp(pol, "lock", 4));
    jk_cons_record next = vl_rec(8, 0, 0, 4);
    JK_CHECK_EQ(jk_node_votelog_append(l, &next, 1, NULL), JK_OK);
    jk_node_votelog_close(l);
    /* format 03 now: a unit for the lock, one for the two records, then the append */
    size_t len = vl_read(dir, buf, sizeof buf);
    JK_CHECK_EQ(len, 8 + (21 + 4 + 8) + (21 + 2 * 87 + 8) + 116);
    JK_CHECK(!memcmp(buf, "jkvlog03", 8));
    JK_REQUIRE(jk_node_votelog_open(dir, &l, &diag) == JK_OK);
    JK_CHECK_EQ(jk_node_votelog_note(l)[0], 0);
    r = jk_node_votelog_latest(l, &n);
    JK_CHECK(n == 3 && r[0].height == 7 && r[2].height == 8);
    jk_node_votelog_close(l);
    /* a torn format 01 log: migrated, the torn append dropped */
    vl_write(dir, buf, 0);
    memcpy(buf, "jkvlog01", 8);
    buf[8] = 1;
    jk_cons_record_encode(&two[0], buf + 9);
    vl_write(dir, buf, 8 + 40);
    JK_REQUIRE(jk_node_votelog_open(dir, &l, &diag) == JK_OK);
    JK_CHECK(strstr(jk_node_votelog_note(l), "torn") != NULL);
    JK_CHECK(strstr(jk_node_votelog_note(l), "migrated") != NULL);
    jk_node_votelog_close(l);
    JK_CHECK_EQ(vl_size(dir), 8);
    vl_rmdir(dir);
}
