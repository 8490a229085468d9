/*
 * test_cap_crash.c — the store survives being killed mid-commit.
 *
 * Each trial forks a writer that opens the store, loads the head, and then
 * commits state after state in a loop, reporting each sequence number on a
 * pipe once its commit has returned. The parent kills it with SIGKILL after a
 * delay drawn from a fixed-seed PRNG (0..20 ms: before it opened the store,
 * while loading, or — mostly — in the middle of a commit), then reopens the
 * store and checks:
 *   - the head names a state the writer built: state(s) is a pure function
 *     of its sequence number s, so the parent rebuilds it and compares
 *     hashes;
 *   - durability: s is at least the last number the writer reported (a
 *     commit that returned survives), and at most one more (the commit in
 *     flight may or may not have landed);
 *   - the value loads, i.e. every reachable object is present and its bytes
 *     hash to its name;
 *   - every 25 trials, every object in the store hashes to its key and
 *     parses.
 * The store starts afresh every 50 trials so it stays small, and after a
 * trial whose writer filled the map (it exits 3 on JK_ERR_CAP_STORE_FULL: on
 * a fast disk, tmpfs say, 20 ms of commits per trial can fill it; the
 * trial's store is still checked). `make test` runs 200 trials; `make
 * crash-test` runs JK_CAP_CRASH_TRIALS (5000). The store lives under
 * jk_test_tmpdir (TMPDIR).
 *
 * The batched variant (test_cap_crash_kill_during_batches) commits the same
 * states in store batches of BATCH (jk_cap_store_batch_begin/_end), checks
 * inside the writer that each commit is visible to reads at once, and
 * reports s only when the batch ending at s has ended; after the kill the
 * head must be a batch boundary (s % BATCH == 0: never part of a batch), at
 * least the last reported one and at most one batch more.
 *
 * State s is a CNode of 16 slots: slot 0 a Data holding s; slot 1 a Data of 8
 * pages whose page p holds bytes derived from the last t <= s with t % 8 == p;
 * slot 2 a CNode of 8 slots whose slot j holds a Data derived from the last
 * t <= s with t % 8 == j. Each commit changes one page and two slots.
 */
#include "../progs.h"
#include "../test.h"

#include "jark/cap.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAGES 8
#define MAP_SIZE (32u << 20)

static void page_bytes(uint64_t t, uint8_t out[4096])
{
    uint64_t x = t * 0x9E3779B97F4A7C15ull + 1;
    for (int i = 0; i < 4096; i += 8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        memcpy(out + i, &x, 8);
    }
}

/* The last t in 1..s with t % 8 == p, or 0 (the initial value). */
static uint64_t last_touch(uint64_t s, uint64_t p)
{
    uint64_t back = (s % PAGES + PAGES - p) % PAGES; /* s − back ≡ p (mod 8) */
    return s > back ? s - back : 0;
}

static jk_cap u64_data(uint64_t v)
{
    jk_cap d = jk_cap_null();
    jk_cap_data_new(&v, sizeof v, &d);
    return d;
}

static jk_err set_in(jk_cap *c, uint32_t i, jk_cap v)
{
    jk_cap next;
    jk_err err = jk_cap_cnode_set(*c, i, v, &next);
    jk_cap_release(v);
    if (err == JK_OK) {
        jk_cap_release(*c);
        *c = next;
    }
    return err;
}

/* state(s), built from scratch. */
static jk_cap state(uint64_t s)
{
    static uint8_t pages[PAGES][4096];
    for (int p = 0; p < PAGES; p++)
        page_bytes(last_touch(s, (uint64_t)p), pages[p]);
    jk_cap root, sub, big;
    jk_cap_cnode_new(4, &root);
    jk_cap_cnode_new(3, &sub);
    jk_cap_data_new(pages, sizeof pages, &big);
    for (uint32_t j = 0; j < 8; j++)
        set_in(&sub, j, u64_data(last_touch(s, j) * 1000 + j));
    set_in(&root, 0, u64_data(s));
    set_in(&root, 1, big);
    set_in(&root, 2, sub);
    return root;
}

/* state(s) from state(s − 1), the way the writer gets there: path copies. */
static jk_cap step(jk_cap prev, uint64_t s)
{
    static uint8_t page[4096];
    uint32_t p = (uint32_t)(s % PAGES);
    page_bytes(s, page);
    const uint8_t *pp = page;
    jk_cap big, sub, root = jk_cap_retain(prev);
    jk_cap_data_replace_pages(jk_cap_cnode_get(prev, 1), &p, &pp, 1, &big);
    jk_cap_cnode_set(jk_cap_cnode_get(prev, 2), p, jk_cap_null(), &sub);
    set_in(&sub, p, u64_data(s * 1000 + p));
    set_in(&root, 0, u64_data(s));
    set_in(&root, 1, big);
    set_in(&root, 2, sub);
    return root;
}

static uint64_t seq_of(jk_cap st)
{
    uint64_t s = 0;
    jk_cap_data_read(jk_cap_cnode_get(st, 0), 0, &s, sizeof s);
    return s;
}

#define BATCH 5

/* The child: never returns. Exit 0 is impossible (it is killed); 2 = error;
 * 3 = the store's map is full (nothing more can land: the parent checks the
 * store and starts afresh). batch 0: one commit per state; else commits in
 * store batches of batch. */
static void writer(const char *dir, int fd, uint64_t batch)
{
    jk_cap_store_options opt = {.map_size = MAP_SIZE};
    jk_cap_store *st;
    jk_diag diag = {{0}};
    jk_hash head;
    jk_cap cur;
    jk_err why = JK_OK; /* the failing call's code */
    if (jk_cap_store_open(dir, &opt, &st, &diag) != JK_OK)
        goto fail;
    jk_err err = jk_cap_store_head(st, "main", &head, &diag);
    if (err == JK_ERR_CAP_MISSING)
        cur = state(0);
    else if (err != JK_OK || jk_cap_store_load(st, &head, &cur, &diag) != JK_OK)
        goto fail;
    for (;;) {
        uint64_t s = seq_of(cur) + 1;
        jk_cap next = step(cur, s);
        if (batch && s % batch == 1 && (why = jk_cap_store_batch_begin(st, &diag)) != JK_OK)
            goto fail;
        if ((why = jk_cap_store_commit(st, "main", next, NULL, &diag)) != JK_OK)
            goto fail;
        jk_hash want;
        jk_cap_hash(next, &want);
        if (batch && (jk_cap_store_head(st, "main", &head, &diag) != JK_OK ||
                      memcmp(head.bytes, want.bytes, 32) != 0)) {
            snprintf(diag.msg, sizeof diag.msg, "a batched commit is not visible to reads");
            goto fail;
        }
        jk_cap_release(cur);
        cur = next;
        if (batch && s % batch != 0)
            continue;
        if (batch && (why = jk_cap_store_batch_end(st, &diag)) != JK_OK)
            goto fail;
        if (write(fd, &s, sizeof s) != sizeof s)
            goto fail;
    }
fail:
    if (why == JK_ERR_CAP_STORE_FULL)
        _exit(3);
    fprintf(stderr, "crash writer: %s\n", diag.msg);
    _exit(2);
}

static void rmstore(const char *dir)
{
    char p[512];
    snprintf(p, sizeof p, "%s/data.mdb", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/lock.mdb", dir);
    unlink(p);
}

/* Every record in the store is sound (an object that hashes to its key and
 * parses, or a CNode group whose top does); returns the count (or -1 after
 * reporting a failure). */
static long scan_store(const char *dir)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_cursor *cur;
    MDB_val k, v;
    long n = 0;
    if (mdb_env_create(&env) || mdb_env_set_maxdbs(env, 2) ||
        mdb_env_set_mapsize(env, MAP_SIZE) || mdb_env_open(env, dir, MDB_RDONLY, 0644))
        return -1;
    if (mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) || mdb_dbi_open(txn, "objects", 0, &dbi) ||
        mdb_cursor_open(txn, dbi, &cur)) {
        mdb_env_close(env);
        return -1;
    }
    int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    while (rc == 0 && n >= 0) {
        jk_hash h;
        if (k.mv_size == 32)
            memcpy(h.bytes, k.mv_data, 32);
        if (k.mv_size != 32 || jk_cap_store_record_check(&h, v.mv_data, v.mv_size, NULL) != JK_OK)
            n = -1;
        else
            n++;
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return n;
}

static void crash_trials(long trials, uint64_t batch)
{
    uint64_t step_by = batch ? batch : 1; /* what one landed commit adds */
    char dir[128];
    JK_REQUIRE(jk_test_tmpdir("cap-crash", dir, sizeof dir) != NULL);
    uint64_t rng = 0x5EED5EED12345678ull; /* fixed: the same kill times every run */
    uint64_t durable = 0;                 /* highest sequence a commit returned */
    long mid_commit = 0, empty = 0, failures = 0, full = 0;
    bool afresh = false; /* the last writer filled the map */
    jk_cap_store_options opt = {.map_size = MAP_SIZE};
    fflush(stdout);
    fflush(stderr);
    for (long t = 0; t < trials && failures < 5; t++) {
        if (t % 50 == 0 || afresh) {
            rmstore(dir);
            durable = 0;
            afresh = false;
        }
        int fds[2];
        JK_REQUIRE(pipe(fds) == 0);
        pid_t pid = fork();
        JK_REQUIRE(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            writer(dir, fds[1], batch);
        }
        close(fds[1]);
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        struct timespec delay = {0, (long)(rng % 20000) * 1000};
        nanosleep(&delay, NULL);
        kill(pid, SIGKILL);
        int status;
        waitpid(pid, &status, 0);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 3) {
            full++;
            afresh = true;
        } else if (!WIFSIGNALED(status)) {
            jk_test_fail(__FILE__, __LINE__, "trial %ld: the writer exited (%d) before the kill",
                         t, WEXITSTATUS(status));
            failures++;
        }
        uint64_t reported = 0, s;
        while (read(fds[0], &s, sizeof s) == sizeof s)
            reported = s;
        close(fds[0]);
        if (reported > durable)
            durable = reported;

        jk_cap_store *st;
        jk_diag diag = {{0}};
        jk_hash head;
        if (jk_cap_store_open(dir, &opt, &st, &diag) != JK_OK) {
            jk_test_fail(__FILE__, __LINE__, "trial %ld: reopen: %s", t, diag.msg);
            failures++;
            continue;
        }
        jk_err err = jk_cap_store_head(st, "main", &head, &diag);
        if (err == JK_ERR_CAP_MISSING) {
            empty++;
            if (durable != 0) {
                jk_test_fail(__FILE__, __LINE__, "trial %ld: head lost (durable %llu)", t,
                             (unsigned long long)durable);
                failures++;
            }
            jk_cap_store_close(st);
            continue;
        }
        jk_cap got;
        if (err != JK_OK || jk_cap_store_load(st, &head, &got, &diag) != JK_OK) {
            jk_test_fail(__FILE__, __LINE__, "trial %ld: load: %s", t, diag.msg);
            failures++;
            jk_cap_store_close(st);
            continue;
        }
        jk_cap_store_close(st);
        uint64_t seq = seq_of(got);
        if (seq < durable || seq > durable + step_by || seq % step_by != 0) {
            jk_test_fail(__FILE__, __LINE__, "trial %ld: head at %llu, commits returned up to %llu (steps of %llu)",
                         t, (unsigned long long)seq, (unsigned long long)durable,
                         (unsigned long long)step_by);
            failures++;
        }
        mid_commit += seq == durable + step_by; /* killed after the commit, before the report */
        durable = seq;
        jk_cap want = state(seq);
        if (!jk_cap_equal(got, want)) {
            jk_test_fail(__FILE__, __LINE__, "trial %ld: state %llu differs", t,
                         (unsigned long long)seq);
            failures++;
        }
        jk_cap_release(want);
        jk_cap_release(got);
        if (t % 25 == 24 && scan_store(dir) < 0) {
            jk_test_fail(__FILE__, __LINE__, "trial %ld: a stored object is damaged", t);
            failures++;
        }
    }
    if (getenv("JK_CAP_CRASH_VERBOSE"))
        printf("crash test: %ld trials, %ld before the first commit, %ld with a commit "
               "landed but unreported, %ld filled the map, last state %llu\n",
               trials, empty, mid_commit, full, (unsigned long long)durable);
    rmstore(dir);
    rmdir(dir);
}

JK_TEST(test_cap_crash_kill_during_commits)
{
    const char *env_trials = getenv("JK_CAP_CRASH_TRIALS");
    crash_trials(env_trials ? atol(env_trials) : 200, 0);
}

JK_TEST(test_cap_crash_kill_during_batches)
{
    const char *env_trials = getenv("JK_CAP_CRASH_TRIALS");
    crash_trials(env_trials ? atol(env_trials) : 100, BATCH);
}

/* The parent's model of the states agrees with the writer's path copies. */
JK_TEST(test_cap_crash_state_model)
{
    jk_cap cur = state(0);
    for (uint64_t s = 1; s <= 40; s++) {
        jk_cap next = step(cur, s), want = state(s);
        JK_CHECK(jk_cap_equal(next, want));
        jk_cap_release(cur);
        jk_cap_release(want);
        cur = next;
    }
    JK_CHECK_EQ(seq_of(cur), 40);
    jk_cap_release(cur);
}
