/*
 * demo.h — what the demo chain's programs share: its slots, its blob
 * formats, and the checks verify, process and apply all run.
 *
 * The demo chain is a ledger (Ed25519 accounts with balances and nonces) and
 * a price oracle fed by registered reporters through dispatch endpoint 0.
 * docs/demo-chain.md gives every byte; this header is the code of it. Every
 * helper is static inline, so each program includes this header and nothing
 * else (besides jark.h), and the programs stay single files.
 *
 * Rejecting means faulting: DEMO_REQUIRE traps, which faults the whole
 * invocation — in verify the event is dropped, in process the emits are
 * dropped, in apply the block is invalid.
 */
#ifndef DEMO_H
#define DEMO_H

#include "jark.h"

#include <stdint.h>
#include <string.h>

#define DEMO_REQUIRE(cond)                                                     \
    do {                                                                       \
        if (!(cond))                                                           \
            __builtin_trap();                                                  \
    } while (0)

/* ---- slots (docs/chain-design.md: 0 scratchpad, 1..19 pins, 20.. state) ---- */

enum {
    /* pinned by the chain image */
    DEMO_PIN_VERIFY = 1,
    DEMO_PIN_TRANSACT = 2,          /* also pinned by VerifyImage, to spawn with */
    DEMO_PIN_DISPATCH_INSTANCE = 3, /* likewise */
    DEMO_PIN_AA = 4,
    DEMO_PIN_DISPATCH_0 = 5,
    /* chain state */
    DEMO_SLOT_LEDGER = 20,    /* Data: the genesis ledger, sorted account records (read-only) */
    DEMO_SLOT_REPORTERS = 21, /* Data: sorted reporter keys */
    DEMO_SLOT_PRICE = 22,     /* Data: round u64 ‖ price u64 (absent: round 0) */
    DEMO_SLOT_ACCOUNTS = 23,  /* CNode of 2^16 buckets: accounts touched since genesis */
    /* working slots: every program empties them before it HALTs */
    DEMO_SLOT_AA = 30,    /* the AA instance that came in slot[0] */
    DEMO_SLOT_INPUT = 31, /* the blob / the events / the body */
    DEMO_SLOT_WORK = 32,
    DEMO_SLOT_OUT = 33,
    /* in an event instance (Transact or DispatchInstance): its blob */
    DEMO_EVENT_BLOB_SLOT = 20,
};

/* What an event instance's endpoint 0 returns: its kind. It also makes the two
 * event images differ, which they must: the kernel tells them apart by lineage. */
enum { DEMO_EVENT_TRANSACT = 1, DEMO_EVENT_DISPATCH = 2 };

/* ---- formats (docs/demo-chain.md); integers are little-endian ---- */

#define DEMO_MAX_BLOB 4096        /* longest blob any program reads */
#define DEMO_RECORD_SIZE 48       /* key[32] ‖ balance u64 ‖ nonce u64 */
#define DEMO_MAX_REPORTERS 64
#define DEMO_TRANSFER_SIZE 81     /* 'T' ‖ from[32] ‖ to[32] ‖ amount u64 ‖ nonce u64 */
#define DEMO_REPORT_SIZE 49       /* 'R' ‖ reporter[32] ‖ round u64 ‖ price u64 */
#define DEMO_UPDATE_HEAD 25       /* 'P' ‖ round u64 ‖ median u64 ‖ n u64, then n reports */
#define DEMO_QUORUM 3             /* distinct registered reporters a price needs */

static inline uint64_t demo_get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static inline void demo_put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Read the Data at `path` into buf (at most cap bytes: a longer one faults). */
static inline uint64_t demo_read(uint64_t path, uint8_t *buf, uint64_t cap)
{
    uint64_t len = jk_data_len(path);
    DEMO_REQUIRE(len <= cap);
    if (len)
        jk_data_read(path, 0, len, buf);
    return len;
}

/* Replace the Data at `path` (in the root cnode) with buf[0..len). */
static inline void demo_write(uint64_t path, const void *buf, uint64_t len)
{
    jk_drop(path);
    jk_data_mint(buf, len, path);
}

/* "key attests blob[0..len)", through the AA in DEMO_SLOT_AA. Only success
 * returns: a refused attest aborts the whole invocation (attestation.md). */
static inline void demo_attest(const uint8_t key[32], const uint8_t *blob, uint64_t len)
{
    jk_drop(JK_SLOT0);
    jk_cnode_mint(JK_SLOT0, 2);
    jk_data_mint(key, 32, JK_PATH2(0, 0));
    jk_data_mint(blob, len, JK_PATH2(0, 1));
    DEMO_REQUIRE(jk_call(JK_PATH(DEMO_SLOT_AA), 0, jk_gas(), 0, 0, 0).outcome == JK_OUTCOME_HALT);
    jk_drop(JK_SLOT0);
}

/* ---- the ledger: the genesis ledger (slot 20) under the account tree (slot 23) ----
 *
 * A record is key[32] ‖ balance u64 ‖ nonce u64; a key without a record has
 * balance 0 and nonce 0. The genesis ledger (slot 20, from the chain spec) is
 * one Data of records sorted by key, never written after genesis. Every
 * account a transfer has touched since genesis has its current record in the
 * account tree: slot 23 holds a CNode of 2^16 buckets indexed by the key's
 * first two bytes. A bucket is a Data of sorted records (at most
 * DEMO_BUCKET_MAX); a bucket that would grow past that is split into a CNode
 * of 2^8 buckets indexed by the key's next byte, down to the 4th byte (the
 * deepest slot path: 23, key[0..1], key[2], key[3]). A key's record is the
 * tree's if it has one, else the genesis ledger's.
 *
 * Why: apply used to load the whole ledger and mint it back each block, so a
 * block cost ~0.2 µs per account in the ledger (docs/bench.md). Now a
 * transfer reads O(log n) genesis records and rewrites two small buckets
 * (a CNode set copies at most 16 + 8 + 8 nodes): a block's cost follows the
 * accounts it touches. The genesis ledger stays one Data because a chain
 * spec's state is a Data per slot. Splitting keeps anyone from closing a
 * bucket to new accounts by grinding keys with one prefix: a full bucket at
 * the 4th byte takes ~2^32 key pairs per record. */

#define DEMO_BUCKET_BITS 16
#ifndef DEMO_BUCKET_MAX /* a test builds with a small one to reach the splits */
#define DEMO_BUCKET_MAX 1024 /* records per bucket (48 KiB) */
#endif
#define DEMO_TREE_DEPTH 4 /* a bucket at this slot-path depth is never split */

static inline uint64_t demo_bucket_of(const uint8_t key[32]) { return (uint64_t)key[0] << 8 | key[1]; }

/* The path of key's bucket (a Data, or empty) and its slot-path depth 2..4. */
static inline uint64_t demo_bucket_path(const uint8_t key[32], int *depth)
{
    uint64_t path = JK_PATH2(DEMO_SLOT_ACCOUNTS, demo_bucket_of(key));
    *depth = 2;
    if (jk_cap_kind(path) != JK_KIND_CNODE)
        return path;
    path = JK_PATH3(DEMO_SLOT_ACCOUNTS, demo_bucket_of(key), key[2]);
    *depth = 3;
    if (jk_cap_kind(path) != JK_KIND_CNODE)
        return path;
    *depth = 4;
    return JK_PATH4(DEMO_SLOT_ACCOUNTS, demo_bucket_of(key), key[2], key[3]);
}

/* Binary search of the Data at `path` (sorted records, at most `max` of them)
 * for key, reading one record per step. Returns 1 with its record in rec, or
 * 0; *count = the Data's records (0 when the slot holds no Data). */
static inline int demo_search(uint64_t path, uint64_t max, const uint8_t key[32], uint8_t rec[DEMO_RECORD_SIZE],
                              uint64_t *count)
{
    *count = 0;
    if (jk_cap_kind(path) != JK_KIND_DATA)
        return 0;
    uint64_t len = jk_data_len(path);
    DEMO_REQUIRE(len % DEMO_RECORD_SIZE == 0 && len / DEMO_RECORD_SIZE <= max);
    *count = len / DEMO_RECORD_SIZE;
    uint64_t lo = 0, hi = *count;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        jk_data_read(path, mid * DEMO_RECORD_SIZE, DEMO_RECORD_SIZE, rec);
        int c = memcmp(rec, key, 32);
        if (c == 0)
            return 1;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

/* An account as verify and apply see it. */
typedef struct demo_account {
    uint8_t rec[DEMO_RECORD_SIZE]; /* key ‖ balance ‖ nonce; zeros past the key when it has no record */
    int exists;                    /* it has a record (in the tree or at genesis) */
    int in_tree;                   /* its record is in the account tree */
    uint64_t bucket;               /* the path of its bucket */
} demo_account;

static inline void demo_account_get(const uint8_t key[32], demo_account *a)
{
    uint64_t count;
    int depth;
    a->bucket = demo_bucket_path(key, &depth);
    a->in_tree = demo_search(a->bucket, DEMO_BUCKET_MAX, key, a->rec, &count);
    a->exists = a->in_tree ||
                demo_search(JK_PATH(DEMO_SLOT_LEDGER), UINT64_MAX / DEMO_RECORD_SIZE, key, a->rec, &count);
    if (!a->exists) {
        memset(a->rec, 0, DEMO_RECORD_SIZE);
        memcpy(a->rec, key, 32);
    }
}

static inline uint64_t demo_balance(const uint8_t *rec) { return demo_get_u64(rec + 32); }
static inline uint64_t demo_nonce(const uint8_t *rec) { return demo_get_u64(rec + 40); }

/* One bucket's records, read whole (apply's and verify's scratch). */
static uint8_t demo_bucket_buf[DEMO_BUCKET_MAX][DEMO_RECORD_SIZE];

static inline uint64_t demo_bucket_read(uint64_t path)
{
    if (jk_cap_kind(path) != JK_KIND_DATA)
        return 0;
    uint64_t len = demo_read(path, &demo_bucket_buf[0][0], sizeof demo_bucket_buf);
    DEMO_REQUIRE(len % DEMO_RECORD_SIZE == 0);
    return len / DEMO_RECORD_SIZE;
}

/* Do `need` new records fit where key's record goes? Its bucket has room,
 * or splitting full buckets (by the next key byte, down to depth 4) leaves
 * key's part with room. */
static inline int demo_bucket_room(const uint8_t key[32], uint64_t need)
{
    int depth;
    uint64_t path = demo_bucket_path(key, &depth), n = demo_bucket_read(path), same = n;
    for (int d = depth; same + need > DEMO_BUCKET_MAX; d++) {
        if (d == DEMO_TREE_DEPTH)
            return 0;
        /* a split at depth d sorts the records by key byte d (key[2] at 2, key[3] at 3) */
        same = 0;
        for (uint64_t i = 0; i < n; i++)
            same += memcmp(demo_bucket_buf[i], key, (size_t)d + 1) == 0;
    }
    return 1;
}

/* Write an account's record into its bucket (inserted in key order if the
 * bucket lacks it), splitting a full bucket first; makes the account tree on
 * first use. The callers checked for room (demo_bucket_room). */
static inline void demo_account_put(const uint8_t rec[DEMO_RECORD_SIZE])
{
    if (jk_cap_kind(JK_PATH(DEMO_SLOT_ACCOUNTS)) == JK_KIND_NONE)
        jk_cnode_mint(JK_PATH(DEMO_SLOT_ACCOUNTS), DEMO_BUCKET_BITS);
    for (;;) {
        int depth;
        uint64_t path = demo_bucket_path(rec, &depth), n = demo_bucket_read(path), i = 0;
        while (i < n && memcmp(demo_bucket_buf[i], rec, 32) < 0)
            i++;
        int found = i < n && memcmp(demo_bucket_buf[i], rec, 32) == 0;
        if (found || n < DEMO_BUCKET_MAX) {
            if (!found) {
                memmove(demo_bucket_buf[i + 1], demo_bucket_buf[i], (n - i) * DEMO_RECORD_SIZE);
                n++;
            }
            memcpy(demo_bucket_buf[i], rec, DEMO_RECORD_SIZE);
            demo_write(path, demo_bucket_buf, n * DEMO_RECORD_SIZE);
            return;
        }
        /* Split: a CNode of 2^8 buckets by key byte `depth`; the records are
         * sorted, so each group is a run. Then look again. */
        DEMO_REQUIRE(depth < DEMO_TREE_DEPTH);
        jk_cnode_mint(JK_PATH(DEMO_SLOT_WORK), 8);
        for (uint64_t a = 0, b; a < n; a = b) {
            uint8_t byte = demo_bucket_buf[a][depth];
            for (b = a; b < n && demo_bucket_buf[b][depth] == byte; b++)
                ;
            jk_data_mint(demo_bucket_buf[a], (b - a) * DEMO_RECORD_SIZE, JK_PATH2(DEMO_SLOT_WORK, byte));
        }
        jk_drop(path);
        jk_move(JK_PATH(DEMO_SLOT_WORK), path);
    }
}

/* ---- transfers: 'T' ‖ from[32] ‖ to[32] ‖ amount u64 ‖ nonce u64 ---- */

typedef struct demo_transfer {
    const uint8_t *from, *to; /* point into the blob */
    uint64_t amount, nonce;
} demo_transfer;

/* Parse a transfer and have `from` attest it. Faults when the blob is not a
 * well-formed transfer (size, tag, amount 0, from = to, nonce 2^64-1). */
static inline void demo_transfer_check(const uint8_t *blob, uint64_t len, demo_transfer *t)
{
    DEMO_REQUIRE(len == DEMO_TRANSFER_SIZE && blob[0] == 'T');
    t->from = blob + 1;
    t->to = blob + 33;
    t->amount = demo_get_u64(blob + 65);
    t->nonce = demo_get_u64(blob + 73);
    DEMO_REQUIRE(t->amount > 0 && t->nonce != UINT64_MAX && memcmp(t->from, t->to, 32) != 0);
    demo_attest(t->from, blob, len);
}

/* Can t be applied to the state now? The sender has a record whose nonce is
 * t's (not a replay) and that holds the amount (not an overspend); the
 * receiver's balance does not overflow; and each of the two that is not yet
 * in the account tree fits in its bucket (demo_bucket_room). verify (once per event, on the
 * state before the block) and apply (on the state as the block has made it
 * so far) run this same check, so they agree on every transfer. */
static inline int demo_transfer_valid(const demo_transfer *t, demo_account *from, demo_account *to)
{
    demo_account_get(t->from, from);
    if (!from->exists || demo_nonce(from->rec) != t->nonce || demo_balance(from->rec) < t->amount)
        return 0;
    demo_account_get(t->to, to);
    if (demo_balance(to->rec) + t->amount < t->amount)
        return 0;
    uint64_t need_from = !from->in_tree, need_to = !to->in_tree;
    if (from->bucket == to->bucket) /* one bucket: both must fit on either side of any split */
        return need_from + need_to == 0 ||
               (demo_bucket_room(t->from, need_from + need_to) && demo_bucket_room(t->to, need_from + need_to));
    return (!need_from || demo_bucket_room(t->from, 1)) && (!need_to || demo_bucket_room(t->to, 1));
}

/* Apply a valid transfer: move the amount, bump the sender's nonce; both
 * records go to the account tree. */
static inline void demo_transfer_apply(const demo_transfer *t, demo_account *from, demo_account *to)
{
    demo_put_u64(from->rec + 32, demo_balance(from->rec) - t->amount);
    demo_put_u64(from->rec + 40, demo_nonce(from->rec) + 1);
    demo_put_u64(to->rec + 32, demo_balance(to->rec) + t->amount);
    demo_account_put(from->rec);
    demo_account_put(to->rec);
}

/* ---- the oracle's state: registered reporters (slot 21), price (slot 22) ---- */

typedef struct demo_reporters {
    uint64_t count;
    uint8_t key[DEMO_MAX_REPORTERS][32];
} demo_reporters;

static inline void demo_reporters_load(demo_reporters *r)
{
    r->count = 0;
    if (jk_cap_kind(JK_PATH(DEMO_SLOT_REPORTERS)) != JK_KIND_DATA)
        return;
    uint64_t len = demo_read(JK_PATH(DEMO_SLOT_REPORTERS), &r->key[0][0], sizeof r->key);
    DEMO_REQUIRE(len % 32 == 0);
    r->count = len / 32;
}

static inline int demo_is_reporter(const demo_reporters *r, const uint8_t key[32])
{
    for (uint64_t i = 0; i < r->count; i++)
        if (memcmp(r->key[i], key, 32) == 0)
            return 1;
    return 0;
}

typedef struct demo_price {
    uint64_t round, price; /* round 0: no price yet */
} demo_price;

static inline demo_price demo_price_load(void)
{
    demo_price p = {0, 0};
    if (jk_cap_kind(JK_PATH(DEMO_SLOT_PRICE)) == JK_KIND_DATA) {
        uint8_t b[16];
        DEMO_REQUIRE(demo_read(JK_PATH(DEMO_SLOT_PRICE), b, sizeof b) == 16);
        p.round = demo_get_u64(b);
        p.price = demo_get_u64(b + 8);
    }
    return p;
}

static inline void demo_price_store(demo_price p)
{
    uint8_t b[16];
    demo_put_u64(b, p.round);
    demo_put_u64(b + 8, p.price);
    demo_write(JK_PATH(DEMO_SLOT_PRICE), b, sizeof b);
}

/* ---- reports: 'R' ‖ reporter[32] ‖ round u64 ‖ price u64 ---- */

typedef struct demo_report {
    const uint8_t *reporter; /* points into the blob */
    uint64_t round, price;
} demo_report;

static inline int demo_report_parse(const uint8_t *blob, uint64_t len, demo_report *r)
{
    if (len != DEMO_REPORT_SIZE || blob[0] != 'R')
        return 0;
    r->reporter = blob + 1;
    r->round = demo_get_u64(blob + 33);
    r->price = demo_get_u64(blob + 41);
    return 1;
}

/* ---- price updates: 'P' ‖ round u64 ‖ median u64 ‖ n u64 ‖ n reports ---- */

/* The lower median: sorts prices[0..n) (n ≥ 1) and returns prices[(n-1)/2]. */
static inline uint64_t demo_median(uint64_t *prices, uint64_t n)
{
    for (uint64_t i = 1; i < n; i++)
        for (uint64_t j = i; j > 0 && prices[j - 1] > prices[j]; j--) {
            uint64_t t = prices[j];
            prices[j] = prices[j - 1];
            prices[j - 1] = t;
        }
    return prices[(n - 1) / 2];
}

typedef struct demo_update {
    uint64_t round, median, n;
} demo_update;

/* Check a price update and attest each of its reports by its reporter. Faults
 * unless: n ≥ DEMO_QUORUM; the reports are well formed, by registered
 * reporters in strictly ascending key order (so distinct), all for the
 * update's round; and the median is theirs. Returns whether the update is
 * fresh (its round is above `current_round`, the state's). */
static inline int demo_update_check(const uint8_t *blob, uint64_t len, const demo_reporters *reg,
                                    uint64_t current_round, demo_update *u)
{
    uint64_t prices[DEMO_MAX_REPORTERS];
    DEMO_REQUIRE(len >= DEMO_UPDATE_HEAD && blob[0] == 'P');
    u->round = demo_get_u64(blob + 1);
    u->median = demo_get_u64(blob + 9);
    u->n = demo_get_u64(blob + 17);
    DEMO_REQUIRE(u->n >= DEMO_QUORUM && u->n <= DEMO_MAX_REPORTERS &&
                 len == DEMO_UPDATE_HEAD + u->n * DEMO_REPORT_SIZE);
    const uint8_t *reports = blob + DEMO_UPDATE_HEAD;
    for (uint64_t k = 0; k < u->n; k++) {
        const uint8_t *rb = reports + k * DEMO_REPORT_SIZE;
        demo_report r;
        DEMO_REQUIRE(demo_report_parse(rb, DEMO_REPORT_SIZE, &r) && r.round == u->round &&
                     demo_is_reporter(reg, r.reporter));
        DEMO_REQUIRE(k == 0 || memcmp(rb - DEMO_REPORT_SIZE + 1, r.reporter, 32) < 0);
        prices[k] = r.price;
    }
    DEMO_REQUIRE(demo_median(prices, u->n) == u->median);
    for (uint64_t k = 0; k < u->n; k++) {
        const uint8_t *rb = reports + k * DEMO_REPORT_SIZE;
        demo_attest(rb + 1, rb, DEMO_REPORT_SIZE);
    }
    return u->round > current_round;
}

#endif
