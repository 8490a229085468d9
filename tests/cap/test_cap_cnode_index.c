/*
 * test_cap_cnode_index.c — the CNode read index (docs/cap.md "The read
 * index"): nodes at heights 5, 9, 13 keep their descendants four levels down,
 * and slot reads go through them. Every read must give what the binary tree
 * holds after every kind of write: a set (path copy), an update in place
 * where the whole path is ours, an update that meets a node shared with a
 * snapshot partway down (replaced below a node changed in place), a slot
 * emptied so that a subtree under an index is freed, and writes through
 * nested CNodes. A model array says what each slot holds; snapshots keep a
 * copy of it and must read unchanged later. Last, threads that share one
 * CNode write their own copies (in place below the shared nodes) and read
 * both (run under ThreadSanitizer too: docs/bench.md names the run).
 */
#include "../test.h"
#include "cap_test_util.h"

#include "jark/cap.h"

#include <pthread.h>

#define HOT 48
#define NVALS 6
#define NSNAP 6

typedef struct {
    jk_cap c;
    uint8_t held[HOT];  /* value index per hot slot; 0 = empty */
} snapshot;

static uint64_t next_rand(uint64_t *x)
{
    *x ^= *x << 13, *x ^= *x >> 7, *x ^= *x << 17;
    return *x;
}

/* Hot slots clustered under shared prefixes (so writes meet in one index
 * entry and empty and refill subtrees), and a few spread over the CNode. */
static void pick_hot(uint64_t *x, unsigned log2, uint32_t hot[HOT])
{
    static const uint32_t masks[] = {0x3, 0x1f, 0x1ff, 0x3fff, 0xffffffffu};
    uint32_t n = 1u << log2;
    for (unsigned j = 0; j < HOT; j++) {
        uint64_t r = next_rand(x);
        uint32_t base = (uint32_t)(r >> 40) & (n - 1) & ~0xfffu;
        hot[j] = (base | ((uint32_t)(r >> 8) & masks[(r >> 60) % 5])) & (n - 1);
    }
}

/* Every hot slot of c against the model, through jk_cap_cnode_get and
 * jk_cap_cnode_get_path. */
static bool reads_match(jk_cap c, const uint32_t hot[HOT], const uint8_t held[HOT],
                        const jk_cap vals[NVALS])
{
    bool ok = true;
    for (unsigned j = 0; j < HOT; j++) {
        jk_cap want = vals[held[j]], got; /* a slot listed twice: write_model sets both */
        ok &= jk_cap_same(jk_cap_cnode_get(c, hot[j]), want);
        ok &= jk_cap_cnode_get_path(c, &hot[j], 1, &got) && jk_cap_same(got, want);
    }
    return ok;
}

/* vals[0] the null cap, vals[1..] one-byte Data (base + v). */
static bool make_vals(jk_cap vals[NVALS], uint8_t base)
{
    vals[0] = jk_cap_null();
    for (unsigned v = 1; v < NVALS; v++) {
        uint8_t b = (uint8_t)(base + v);
        if (jk_cap_data_new(&b, 1, &vals[v]) != JK_OK)
            return false;
    }
    return true;
}

static void drop_vals(jk_cap vals[NVALS])
{
    for (unsigned v = 0; v < NVALS; v++)
        jk_cap_release(vals[v]);
}

static void write_model(const uint32_t hot[HOT], uint8_t held[HOT], uint32_t slot, uint8_t v)
{
    for (unsigned j = 0; j < HOT; j++)
        if (hot[j] == slot)
            held[j] = v;
}

JK_TEST(test_cap_cnode_index_reads_follow_every_write)
{
    int64_t before = live();
    uint64_t x = 0x2545F4914F6CDD1Du;
    jk_cap vals[NVALS];
    JK_REQUIRE(make_vals(vals, 0));
    static const unsigned sizes[] = {5, 6, 8, 9, 12, 13, 16};
    unsigned mismatches = 0, snap_taken = 0;
    for (size_t z = 0; z < sizeof sizes / sizeof sizes[0]; z++) {
        uint32_t hot[HOT];
        uint8_t held[HOT] = {0};
        snapshot snap[NSNAP];
        unsigned nsnap = 0;
        pick_hot(&x, sizes[z], hot);
        jk_cap c;
        JK_REQUIRE(jk_cap_cnode_new(sizes[z], &c) == JK_OK);
        for (int step = 0; step < 3000; step++) {
            uint64_t r = next_rand(&x);
            unsigned j = (unsigned)(r >> 8) % HOT;
            /* empty often, so that subtrees under an index are freed */
            uint8_t v = (r >> 20) % 3 == 0 ? 0 : (uint8_t)(1 + (r >> 24) % (NVALS - 1));
            if ((r >> 32) % 61 == 0) {
                if (nsnap == NSNAP) { /* let the oldest go: its nodes are ours again */
                    jk_cap_release(snap[0].c);
                    memmove(snap, snap + 1, (NSNAP - 1) * sizeof snap[0]);
                    nsnap--;
                }
                snap[nsnap].c = jk_cap_retain(c);
                memcpy(snap[nsnap++].held, held, HOT);
                snap_taken++;
            }
            if ((r >> 40) % 4 == 0) { /* a set: copies the path */
                jk_cap next;
                JK_REQUIRE(jk_cap_cnode_set(c, hot[j], vals[v], &next) == JK_OK);
                jk_cap_release(c);
                c = next;
            } else { /* in place where the path is ours alone */
                JK_REQUIRE(jk_cap_cnode_update(&c, hot[j], vals[v]) == JK_OK);
            }
            write_model(hot, held, hot[j], v);
            mismatches += !reads_match(c, hot, held, vals);
        }
        for (unsigned s = 0; s < nsnap; s++) {
            mismatches += !reads_match(snap[s].c, hot, snap[s].held, vals);
            jk_cap_release(snap[s].c);
        }
        jk_cap_release(c);
    }
    JK_CHECK_EQ(mismatches, 0u);
    JK_CHECK(snap_taken > 20);
    drop_vals(vals);
    JK_CHECK_EQ(live(), before);
}

/* Writes through nested CNodes (jk_cap_cnode_update_path, in place when the
 * path is ours): a 2^13 CNode in slot 7 of a 2^9 one in slot 200 of a 2^8
 * root, read back through jk_cap_cnode_get_path. */
JK_TEST(test_cap_cnode_index_nested_writes_read_back)
{
    int64_t before = live();
    uint64_t x = 0x9E3779B97F4A7C15u;
    jk_cap vals[NVALS];
    JK_REQUIRE(make_vals(vals, 0x40));
    jk_cap root, mid, inner;
    JK_REQUIRE(jk_cap_cnode_new(8, &root) == JK_OK);
    JK_REQUIRE(jk_cap_cnode_new(9, &mid) == JK_OK);
    JK_REQUIRE(jk_cap_cnode_new(13, &inner) == JK_OK);
    JK_REQUIRE(jk_cap_cnode_update(&mid, 7, inner) == JK_OK);
    JK_REQUIRE(jk_cap_cnode_update(&root, 200, mid) == JK_OK);
    jk_cap_release(inner);
    jk_cap_release(mid);
    uint32_t hot[HOT];
    uint8_t held[HOT] = {0};
    pick_hot(&x, 13, hot);
    jk_cap snap = jk_cap_null();
    unsigned mismatches = 0;
    for (int step = 0; step < 2000; step++) {
        uint64_t r = next_rand(&x);
        unsigned j = (unsigned)(r >> 8) % HOT;
        uint8_t v = (r >> 20) % 3 == 0 ? 0 : (uint8_t)(1 + (r >> 24) % (NVALS - 1));
        if ((r >> 32) % 97 == 0) { /* someone else holds the state now */
            jk_cap_release(snap);
            snap = jk_cap_retain(root);
        }
        uint32_t idx[3] = {200, 7, hot[j]};
        JK_REQUIRE(jk_cap_cnode_update_path(&root, idx, 3, vals[v]) == JK_OK);
        write_model(hot, held, hot[j], v);
        jk_cap in;
        uint32_t at[2] = {200, 7};
        JK_REQUIRE(jk_cap_cnode_get_path(root, at, 2, &in));
        mismatches += !reads_match(in, hot, held, vals);
        for (unsigned k = 0; k < HOT; k++) {
            uint32_t p[3] = {200, 7, hot[k]};
            jk_cap got, want;
            JK_REQUIRE(jk_cap_cnode_get_path(root, p, 3, &got));
            want = jk_cap_cnode_get(in, hot[k]);
            mismatches += !jk_cap_same(got, want);
        }
    }
    JK_CHECK_EQ(mismatches, 0u);
    jk_cap_release(snap);
    jk_cap_release(root);
    drop_vals(vals);
    JK_CHECK_EQ(live(), before);
}

/* ---- threads ---- */

#define THREADS 4

typedef struct {
    jk_cap shared;           /* borrowed from the main thread */
    const uint32_t *hot;
    const uint8_t *held;     /* the shared CNode's contents */
    const jk_cap *vals;
    uint64_t seed;
    unsigned mismatches;
    bool ok;
} index_worker;

/* Copy the shared CNode, write the copy (its first write copies the path,
 * the next ones change the copy's own nodes in place and meet the shared
 * ones below), read the copy and the shared value back. */
static void *index_work(void *arg)
{
    index_worker *w = arg;
    w->ok = true;
    for (int round = 0; round < 20; round++) {
        jk_cap mine = jk_cap_retain(w->shared);
        uint8_t held[HOT];
        memcpy(held, w->held, HOT);
        for (int step = 0; step < 40; step++) {
            uint64_t r = next_rand(&w->seed);
            unsigned j = (unsigned)(r >> 8) % HOT;
            uint8_t v = (r >> 20) % 3 == 0 ? 0 : (uint8_t)(1 + (r >> 24) % (NVALS - 1));
            w->ok &= jk_cap_cnode_update(&mine, w->hot[j], w->vals[v]) == JK_OK;
            write_model(w->hot, held, w->hot[j], v);
            w->mismatches += !reads_match(mine, w->hot, held, w->vals);
        }
        w->mismatches += !reads_match(w->shared, w->hot, w->held, w->vals);
        jk_cap_release(mine);
    }
    return NULL;
}

JK_TEST(test_cap_cnode_index_threads_write_own_copies)
{
    int64_t before = live();
    uint64_t x = 0xD1B54A32D192ED03u;
    jk_cap vals[NVALS];
    JK_REQUIRE(make_vals(vals, 0x80));
    uint32_t hot[HOT];
    uint8_t held[HOT] = {0};
    pick_hot(&x, 16, hot);
    jk_cap shared;
    JK_REQUIRE(jk_cap_cnode_new(16, &shared) == JK_OK);
    for (unsigned j = 0; j < HOT; j++) {
        uint8_t v = (uint8_t)(1 + j % (NVALS - 1));
        JK_REQUIRE(jk_cap_cnode_update(&shared, hot[j], vals[v]) == JK_OK);
        write_model(hot, held, hot[j], v);
    }
    index_worker w[THREADS];
    pthread_t tid[THREADS];
    for (int t = 0; t < THREADS; t++) {
        w[t] = (index_worker){.shared = shared, .hot = hot, .held = held, .vals = vals,
                              .seed = 0x9E3779B97F4A7C15u * (uint64_t)(t + 1)};
        JK_REQUIRE(pthread_create(&tid[t], NULL, index_work, &w[t]) == 0);
    }
    for (int t = 0; t < THREADS; t++) {
        pthread_join(tid[t], NULL);
        JK_CHECK(w[t].ok);
        JK_CHECK_EQ(w[t].mismatches, 0u);
    }
    JK_CHECK(reads_match(shared, hot, held, vals));
    jk_cap_release(shared);
    drop_vals(vals);
    JK_CHECK_EQ(live(), before);
}
