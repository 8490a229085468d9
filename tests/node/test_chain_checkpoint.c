/*
 * test_chain_checkpoint.c — state checkpoints (docs/node.md "Checkpoints"):
 * through the archive a validator writes its head record (the state) only
 * every K heights and the block's rows every height; a restart loads the
 * last checkpoint and re-applies the archived blocks above it.
 *
 * A reference validator (never killed) takes N decided heights of demo
 * transfers and notes each height's block hash and state root. Then, for
 * every height h and two points of its commit — inside its transaction (a
 * fault hook on the writer thread, nothing of h in the store: a rows-only
 * transaction, or a checkpoint's at a multiple of K) and after it is
 * durable — a child validator with K = 3 takes the same decisions and kills
 * itself (SIGKILL) there. The reopened store must be at the last whole
 * height (h − 1 or h), its checkpoint the last multiple of K at or below
 * it, the blocks above replayed, and its head and root exactly the
 * reference's at that height; it then takes the rest and ends at the
 * reference's root, and a clean close leaves a checkpoint at the top with
 * nothing to replay.
 */
#include "chain_app_fx.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#define CK_N 10      /* heights */
#define CK_K 3       /* the child's checkpoint_every */
#define CK_EVENTS 8  /* transfers a height */

typedef struct ck_fx {
    fx base; /* genesis, keys, the demo's events (chain_app_fx.h) */
    uint8_t *values[CK_N + 1];
    size_t lens[CK_N + 1];
    jk_hash ids[CK_N + 1], roots[CK_N + 1];
} ck_fx;

static uint32_t ck_round(uint64_t h)
{
    uint32_t round = 0;
    while (jk_chain_proposer_index(V, h, round) != 0)
        round++;
    return round;
}

/* The reference: app 0 proposes N heights of demo transfers alone (each
 * certified by 0..2); values, block hashes and roots noted. The fixture's
 * apps are closed after (the children fork without them). */
static bool ck_make(ck_fx *f)
{
    memset(f, 0, sizeof *f);
    if (!fx_make(&f->base))
        return false;
    fx *b = &f->base;
    jk_node_chain_app *a = b->apps[0];
    jk_node_chain_app_set_sync_commit(a, true);
    f->ids[0] = b->genesis.genesis_hash;
    jk_node_chain_app_root(a, &f->roots[0]);
    bool ok = true;
    for (uint64_t h = 1; h <= CK_N && ok; h++) {
        ok = fx_gossip(b, h, CK_EVENTS) > 0 &&
             b->cb[0].get_value(a, h, ck_round(h), &f->values[h], &f->lens[h]) == JK_OK;
        if (!ok)
            break;
        b->cb[0].hash(a, f->values[h], f->lens[h], &f->ids[h]);
        jk_cons_cert c;
        fx_cert(b, h, ck_round(h), &f->ids[h], &c);
        ok = b->cb[0].commit(a, h, f->values[h], f->lens[h], &c) == JK_OK;
        jk_node_chain_app_root(a, &f->roots[h]);
        ok = ok && memcmp(f->roots[h].bytes, f->roots[h - 1].bytes, 32) != 0; /* a real change */
    }
    for (uint32_t i = 0; i < V; i++) {
        jk_node_chain_app_close(b->apps[i]);
        b->apps[i] = NULL;
    }
    return ok;
}

static void ck_free(ck_fx *f)
{
    for (uint64_t h = 1; h <= CK_N; h++)
        free(f->values[h]);
    fx_free(&f->base);
}

/* Take decided heights from..to on a (validator 1, as a peer's sync or its
 * machine hands them over); false on the first refusal. */
static bool ck_take(const ck_fx *f, jk_node_chain_app *a, uint64_t from, uint64_t to)
{
    jk_cons_app cb;
    jk_node_chain_app_bind(a, &cb);
    for (uint64_t h = from; h <= to; h++) {
        jk_cons_cert c;
        fx_cert(&f->base, h, ck_round(h), &f->ids[h], &c);
        if (!cb.valid(a, h, f->values[h], f->lens[h]) ||
            cb.commit(a, h, f->values[h], f->lens[h], &c) != JK_OK ||
            jk_node_chain_app_durable(a, NULL) != JK_OK)
            return false;
    }
    return true;
}

enum { CK_IN_TXN, CK_DURABLE };

typedef struct ck_kill {
    uint64_t h;
    int step;
} ck_kill;

/* On the writer thread, inside height h's transaction: die there. */
static void ck_hook(void *ctx, uint64_t h)
{
    const ck_kill *k = ctx;
    if (k->step == CK_IN_TXN && h == k->h)
        kill(getpid(), SIGKILL);
}

static void ck_child(const ck_fx *f, const char *store, const ck_kill *k)
{
    jk_node_chain_app *a;
    if (jk_node_chain_app_open(store, f->base.keys[1].sk, &f->base.genesis, &a, NULL) != JK_OK)
        _exit(3);
    jk_node_chain_app_validator(a)->checkpoint_every = CK_K;
    jk_node_archive_set_write_hook(jk_node_chain_app_archive(a), ck_hook, (void *)k);
    for (uint64_t h = 1; h <= CK_N; h++) {
        if (!ck_take(f, a, h, h))
            _exit(4);
        if (k->step == CK_DURABLE && h == k->h)
            kill(getpid(), SIGKILL);
    }
    _exit(5); /* never reached: the kill came first */
}

/* The reopened validator at height e: the reference's head and root. */
static void ck_check_at(const ck_fx *f, jk_node_chain_app *a, uint64_t e)
{
    jk_node_validator *v = jk_node_chain_app_validator(a);
    jk_hash root;
    JK_CHECK_EQ(v->height, e);
    JK_CHECK_EQ(jk_node_archive_top(jk_node_chain_app_archive(a)), e);
    JK_CHECK_MEM(v->head_hash.bytes, f->ids[e].bytes, 32);
    jk_node_chain_app_root(a, &root);
    JK_CHECK_MEM(root.bytes, f->roots[e].bytes, 32);
}

JK_TEST(test_chain_checkpoint_kill_at_every_step)
{
    static ck_fx f;
    JK_REQUIRE(ck_make(&f));
    for (uint64_t h = 1; h <= CK_N; h++)
        for (int step = CK_IN_TXN; step <= CK_DURABLE; step++) {
            char store[300];
            snprintf(store, sizeof store, "%s/k%llu-%d", f.base.dir, (unsigned long long)h, step);
            ck_kill k = {h, step};
            fflush(stdout);
            fflush(stderr);
            pid_t pid = fork();
            JK_REQUIRE(pid >= 0);
            if (pid == 0)
                ck_child(&f, store, &k);
            int st;
            waitpid(pid, &st, 0);
            JK_CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
            uint64_t e = step == CK_IN_TXN ? h - 1 : h;
            uint64_t ckpt = e / CK_K * CK_K;
            jk_node_chain_app *a = NULL;
            jk_diag diag = {{0}};
            JK_REQUIRE(jk_node_chain_app_open(store, f.base.keys[1].sk, &f.base.genesis, &a, &diag) == JK_OK);
            jk_node_validator *v = jk_node_chain_app_validator(a);
            JK_CHECK_EQ(v->checkpoint_height, ckpt);
            JK_CHECK_EQ(v->replayed, e - ckpt);
            ck_check_at(&f, a, e);
            /* and on from there, as if it had never stopped */
            JK_CHECK(ck_take(&f, a, e + 1, CK_N));
            ck_check_at(&f, a, CK_N);
            jk_node_chain_app_close(a); /* a clean close: a checkpoint at the top */
            JK_REQUIRE(jk_node_chain_app_open(store, f.base.keys[1].sk, &f.base.genesis, &a, &diag) == JK_OK);
            v = jk_node_chain_app_validator(a);
            JK_CHECK_EQ(v->checkpoint_height, (uint64_t)CK_N);
            JK_CHECK_EQ(v->replayed, 0);
            ck_check_at(&f, a, CK_N);
            jk_node_chain_app_close(a);
            jk_test_rm_tree(store);
        }
    ck_free(&f);
}

/* Validator 1's app on a fresh store f->base.dir/name (its path in store),
 * writing the state every k heights; NULL when it does not open. */
static jk_node_chain_app *ck_open_new(const ck_fx *f, const char *name, uint32_t k, char *store,
                                      size_t size)
{
    snprintf(store, size, "%s/%s", f->base.dir, name);
    jk_node_chain_app *a = NULL;
    if (jk_node_chain_app_open(store, f->base.keys[1].sk, &f->base.genesis, &a, NULL) != JK_OK)
        return NULL;
    jk_node_chain_app_validator(a)->checkpoint_every = k;
    return a;
}

/* The store's writes: between checkpoints a height's transaction holds the
 * block's rows alone (no object written), a checkpoint's the state too; the
 * head record in the store stays at the last checkpoint. */
JK_TEST(test_chain_checkpoint_writes_rows_between_checkpoints)
{
    static ck_fx f;
    JK_REQUIRE(ck_make(&f));
    char store[300];
    jk_diag diag = {{0}};
    jk_node_chain_app *a = ck_open_new(&f, "rows", CK_K, store, sizeof store);
    JK_REQUIRE(a);
    jk_node_validator *v = jk_node_chain_app_validator(a);
    jk_cap_store *s = v->store.store;
    for (uint64_t h = 1; h <= CK_N; h++) {
        jk_cap_store_stats s0, s1;
        jk_cap_store_stats_get(s, &s0);
        JK_REQUIRE(ck_take(&f, a, h, h));
        jk_cap_store_stats_get(s, &s1);
        uint64_t put = 0;
        for (int i = 0; i < JK_CAP_STORE_TAGS; i++)
            put += s1.objects[i] - s0.objects[i];
        bool due = h % CK_K == 0;
        JK_CHECK_EQ(put > 0, due);
        JK_CHECK_EQ(v->checkpoint_height, h / CK_K * CK_K);
        JK_CHECK_EQ(jk_cap_is_null(v->pending), due);
        jk_hash head;
        JK_REQUIRE(jk_cap_store_head(s, "head", &head, &diag) == (h >= CK_K ? JK_OK : JK_ERR_CAP_MISSING));
    }
    /* an explicit checkpoint writes the head record now; a second is a no-op */
    JK_CHECK_EQ(jk_node_validator_checkpoint(v, &diag), JK_OK);
    JK_CHECK_EQ(v->checkpoint_height, (uint64_t)CK_N);
    jk_cap_store_stats s0, s1;
    jk_cap_store_stats_get(s, &s0);
    JK_CHECK_EQ(jk_node_validator_checkpoint(v, &diag), JK_OK);
    jk_cap_store_stats_get(s, &s1);
    JK_CHECK_EQ(s1.commits, s0.commits);
    jk_node_chain_app_close(a);
    ck_free(&f);
}

/* Flip byte `at` (from the row's end when negative) of the archived row of
 * height h in the store at dir, by hand. */
typedef struct ck_flip {
    jk_cap_table t;
    uint64_t h;
    long at;
} ck_flip;

static jk_err ck_flip_txn(void *ctx, jk_cap_store_txn *t, jk_diag *diag)
{
    ck_flip *x = ctx;
    uint8_t key[8]; /* height u64 big-endian */
    for (int i = 0; i < 8; i++)
        key[i] = (uint8_t)(x->h >> (56 - 8 * i));
    const uint8_t *p;
    size_t n;
    jk_err err = jk_cap_txn_get(t, x->t, key, 8, &p, &n, diag);
    if (err != JK_OK)
        return err;
    uint8_t *copy = malloc(n);
    if (!copy)
        return JK_ERR_NOMEM;
    memcpy(copy, p, n);
    copy[x->at < 0 ? (long)n + x->at : x->at] ^= 0x01;
    err = jk_cap_txn_put(t, x->t, key, 8, copy, n, diag);
    free(copy);
    return err;
}

static void ck_flip_row(const char *dir, uint64_t h, long at)
{
    jk_cap_store *s;
    jk_cap_store_options opt = {.map_size = (size_t)1 << 32};
    JK_REQUIRE(jk_cap_store_open(dir, &opt, &s, NULL) == JK_OK);
    ck_flip x = {0, h, at};
    JK_REQUIRE(jk_cap_store_table(s, "height", &x.t, NULL) == JK_OK);
    JK_REQUIRE(jk_cap_store_write(s, ck_flip_txn, &x, NULL) == JK_OK);
    jk_cap_store_close(s);
}

/* A damaged archived block above the checkpoint is refused at open with
 * its height named, never taken as the state: a changed header byte (its
 * hash is not the archived one), a changed body byte (the header's body
 * hash, checked by the import). */
JK_TEST(test_chain_checkpoint_replay_refuses_a_damaged_block)
{
    static ck_fx f;
    JK_REQUIRE(ck_make(&f));
    static const long at[2] = {36 + 8, -1}; /* in the header; the body's last byte */
    static const char *const why[2] = {"does not hash to its archived hash", "replay of archived block 5"};
    for (int i = 0; i < 2; i++) {
        char store[300];
        snprintf(store, sizeof store, "%s/bad%d", f.base.dir, i);
        pid_t pid = fork();
        JK_REQUIRE(pid >= 0);
        if (pid == 0) {
            static ck_kill k = {5, CK_DURABLE};
            ck_child(&f, store, &k);
        }
        int st;
        waitpid(pid, &st, 0);
        JK_CHECK(WIFSIGNALED(st));
        /* checkpoint 3; rows 4 and 5 above it */
        ck_flip_row(store, 5, at[i]);
        jk_node_chain_app *a = NULL;
        jk_diag diag = {{0}};
        JK_CHECK(jk_node_chain_app_open(store, f.base.keys[1].sk, &f.base.genesis, &a, &diag) != JK_OK);
        JK_CHECK(a == NULL);
        JK_CHECK(strstr(diag.msg, why[i]) != NULL);
        JK_CHECK(strstr(diag.msg, "block 5") != NULL);
        /* the row put back, it opens at 5 with two blocks replayed */
        ck_flip_row(store, 5, at[i]);
        JK_REQUIRE(jk_node_chain_app_open(store, f.base.keys[1].sk, &f.base.genesis, &a, &diag) == JK_OK);
        JK_CHECK_EQ(jk_node_chain_app_validator(a)->replayed, 2);
        ck_check_at(&f, a, 5);
        jk_node_chain_app_close(a);
    }
    ck_free(&f);
}

/* K = 1 writes the head record at every height, as session 9's jark did
 * (a layout 3 store of main): nothing is ever pending, a close writes
 * nothing more, and the store reopens at its head with nothing replayed. */
JK_TEST(test_chain_checkpoint_every_height_is_the_old_store)
{
    static ck_fx f;
    JK_REQUIRE(ck_make(&f));
    char store[300];
    jk_diag diag = {{0}};
    jk_node_chain_app *a = ck_open_new(&f, "k1", 1, store, sizeof store);
    JK_REQUIRE(a);
    jk_node_validator *v = jk_node_chain_app_validator(a);
    for (uint64_t h = 1; h <= 4; h++) {
        JK_REQUIRE(ck_take(&f, a, h, h));
        JK_CHECK_EQ(v->checkpoint_height, h);
        JK_CHECK(jk_cap_is_null(v->pending));
    }
    jk_cap_store_stats s0, s1;
    jk_cap_store_stats_get(v->store.store, &s0);
    JK_CHECK_EQ(jk_node_validator_checkpoint(v, &diag), JK_OK);
    jk_cap_store_stats_get(v->store.store, &s1);
    JK_CHECK_EQ(s1.commits, s0.commits);
    jk_node_chain_app_close(a);
    JK_REQUIRE(jk_node_chain_app_open(store, f.base.keys[1].sk, &f.base.genesis, &a, &diag) == JK_OK);
    JK_CHECK_EQ(jk_node_chain_app_validator(a)->replayed, 0);
    JK_CHECK_EQ(jk_node_chain_app_validator(a)->checkpoint_height, 4);
    ck_check_at(&f, a, 4);
    jk_node_chain_app_close(a);
    ck_free(&f);
}
