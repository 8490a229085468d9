/*
 * names.h — what the name registry's programs share: slots, blob formats and
 * the checks verify, process and apply all run (docs: examples/names/README.md).
 *
 * The registry maps names (1..32 of [a-z0-9-]) to owners (Ed25519 keys) for a
 * number of blocks (the TTL). A name is claimed through dispatch endpoint 0:
 * the cycle's claims are collected by process, which awards each free name to
 * its first admitted claimant by emitting an award transact. Owners renew and
 * transfer with transacts; apply counts blocks, and when a name runs out it
 * emits a delete transact that removes the record in a later block.
 *
 * Rejecting is faulting (NAMES_REQUIRE traps): in verify the event is
 * dropped, in process its emits are dropped, in apply the block is invalid.
 */
#ifndef NAMES_H
#define NAMES_H

#include "jark.h"

#include <stdint.h>
#include <string.h>

#define NAMES_REQUIRE(cond)                                                    \
    do {                                                                       \
        if (!(cond))                                                           \
            __builtin_trap();                                                  \
    } while (0)

/* Refuse with a reason: the FAULT host call (docs/abi.md) carries a code and
 * a short text to the embedder ("verify refused: name taken"), where a trap
 * says only that the program faulted. verify uses it for what users get
 * wrong; the other checks trap. */
enum {
    NAMES_WHY_MALFORMED = 1,
    NAMES_WHY_TAKEN = 2,
    NAMES_WHY_BUCKET_FULL = 3,
    NAMES_WHY_STALE = 4,
    NAMES_WHY_NOT_EXPIRED = 5,
};
#define NAMES_REFUSE_UNLESS(cond, code, text)                                  \
    do {                                                                       \
        if (!(cond))                                                           \
            jk_fault((code), (text), sizeof(text) - 1);                        \
    } while (0)

enum {
    /* pinned by the chain image (docs/chain-spec.md) */
    NAMES_PIN_VERIFY = 1,
    NAMES_PIN_TRANSACT = 2,
    NAMES_PIN_DISPATCH_INSTANCE = 3,
    NAMES_PIN_AA = 4,
    NAMES_PIN_DISPATCH_0 = 5,
    /* chain state */
    NAMES_SLOT_RECORDS = 20, /* CNode of 2^16 buckets: Data of sorted records */
    NAMES_SLOT_HEIGHT = 21,  /* Data u64: blocks applied (absent: 0) */
    NAMES_SLOT_EXPIRY = 22,  /* CNode of 2^16: slot e mod 2^16 = Data of names whose expiry was set to e */
    NAMES_SLOT_TTL = 23,     /* Data u64: blocks a name lasts (genesis; 1..65535) */
    /* working slots: emptied before every HALT */
    NAMES_SLOT_AA = 30,
    NAMES_SLOT_INPUT = 31,
    NAMES_SLOT_WORK = 32,
    NAMES_SLOT_OUT = 33,
    /* in an event instance: its blob */
    NAMES_EVENT_BLOB_SLOT = 20,
};

/* What an event instance's endpoint 0 returns (and what keeps the two event
 * images distinct: the kernel tells events apart by lineage). */
enum { NAMES_EVENT_TRANSACT = 1, NAMES_EVENT_DISPATCH = 2 };

#define NAMES_NAME 32            /* a name field: the name, zero-padded */
#define NAMES_RECORD 80          /* name[32] ‖ owner[32] ‖ expires u64 ‖ version u64 */
#define NAMES_BUCKET_MAX 256     /* records per bucket */
#define NAMES_CLAIM 65           /* 'C' ‖ claimant[32] ‖ name[32] (dispatch 0) */
#define NAMES_AWARD 66           /* 'A' ‖ claim[65] (transact) */
#define NAMES_RENEW 49           /* 'R' ‖ name[32] ‖ expires u64 ‖ version u64 */
#define NAMES_TRANSFER 81        /* 'X' ‖ name[32] ‖ to[32] ‖ expires u64 ‖ version u64 */
#define NAMES_DELETE 33          /* 'D' ‖ name[32] */
#define NAMES_MAX_BLOB 128
#define NAMES_MAX_EMITS 256      /* delete emits per block */

static inline uint64_t names_get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static inline void names_put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* A Data at `path` as a u64, or `absent` when the slot is empty. */
static inline uint64_t names_load_u64(uint64_t path, uint64_t absent)
{
    if (jk_cap_kind(path) != JK_KIND_DATA)
        return absent;
    uint8_t b[8];
    NAMES_REQUIRE(jk_data_len(path) == 8);
    jk_data_read(path, 0, 8, b);
    return names_get_u64(b);
}

static inline void names_store_u64(uint64_t path, uint64_t v)
{
    uint8_t b[8];
    names_put_u64(b, v);
    jk_drop(path);
    jk_data_mint(b, 8, path);
}

/* The height the next apply runs at: blocks applied so far + 1. apply runs
 * once per block, empty blocks included, so it is the block's number. */
static inline uint64_t names_next_height(void) { return names_load_u64(JK_PATH(NAMES_SLOT_HEIGHT), 0) + 1; }

static inline uint64_t names_ttl(void)
{
    uint64_t ttl = names_load_u64(JK_PATH(NAMES_SLOT_TTL), 100);
    NAMES_REQUIRE(ttl >= 1 && ttl <= 65535); /* the expiry queue wraps at 2^16 */
    return ttl;
}

/* A well-formed name field: 1..32 of [a-z0-9-], then zeros. */
static inline int names_valid(const uint8_t name[NAMES_NAME])
{
    int i = 0;
    while (i < NAMES_NAME && name[i]) {
        uint8_t c = name[i++];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return 0;
    }
    if (i == 0)
        return 0;
    for (; i < NAMES_NAME; i++)
        if (name[i])
            return 0;
    return 1;
}

/* The name's bucket: FNV-1a over the 32 bytes, folded to 16 bits. Not a
 * cryptographic hash: a bucket filled on purpose only refuses new names in it. */
static inline uint64_t names_bucket_of(const uint8_t name[NAMES_NAME])
{
    uint32_t h = 2166136261u;
    for (int i = 0; i < NAMES_NAME; i++)
        h = (h ^ name[i]) * 16777619u;
    return (h ^ (h >> 16)) & 0xffff;
}

/* Read the Data at `path` (whole `unit`-byte entries, at most `cap` bytes)
 * into buf; returns the number of entries (0 when the slot holds no Data). */
static inline uint64_t names_read_units(uint64_t path, void *buf, uint64_t cap, uint64_t unit)
{
    if (jk_cap_kind(path) != JK_KIND_DATA)
        return 0;
    uint64_t len = jk_data_len(path);
    NAMES_REQUIRE(len % unit == 0 && len <= cap);
    if (len)
        jk_data_read(path, 0, len, buf);
    return len / unit;
}

/* "key attests blob[0..len)" through the AA; only success returns. */
static inline void names_attest(const uint8_t key[32], const uint8_t *blob, uint64_t len)
{
    jk_drop(JK_SLOT0);
    jk_cnode_mint(JK_SLOT0, 2);
    jk_data_mint(key, 32, JK_PATH2(0, 0));
    jk_data_mint(blob, len, JK_PATH2(0, 1));
    NAMES_REQUIRE(jk_call(JK_PATH(NAMES_SLOT_AA), 0, jk_gas(), 0, 0, 0).outcome == JK_OUTCOME_HALT);
    jk_drop(JK_SLOT0);
}

/* ---- records: name[32] ‖ owner[32] ‖ expires u64 ‖ version u64 ----
 * A name is taken at height h while h < expires, free from h = expires on (its
 * record may linger until a delete removes it). (expires, version) never
 * repeats for a name: version counts the changes since the award, and a new
 * award's expires is above every earlier one. A renew or transfer names the
 * pair it was signed against, so it applies once. */

typedef struct names_record {
    uint8_t rec[NAMES_RECORD];
    int exists;
} names_record;

static inline const uint8_t *names_owner(const names_record *r) { return r->rec + 32; }
static inline uint64_t names_expires(const names_record *r) { return names_get_u64(r->rec + 64); }
static inline uint64_t names_version(const names_record *r) { return names_get_u64(r->rec + 72); }
static inline int names_taken(const names_record *r, uint64_t height)
{
    return r->exists && height < names_expires(r);
}

static inline uint64_t names_bucket_path(const uint8_t name[NAMES_NAME])
{
    return JK_PATH2(NAMES_SLOT_RECORDS, names_bucket_of(name));
}

/* Find name's record (a binary search reading one record per step). */
static inline void names_get(const uint8_t name[NAMES_NAME], names_record *r)
{
    uint64_t path = names_bucket_path(name), lo = 0, hi = 0;
    r->exists = 0;
    if (jk_cap_kind(path) == JK_KIND_DATA) {
        uint64_t len = jk_data_len(path);
        NAMES_REQUIRE(len % NAMES_RECORD == 0 && len / NAMES_RECORD <= NAMES_BUCKET_MAX);
        hi = len / NAMES_RECORD;
    }
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        jk_data_read(path, mid * NAMES_RECORD, NAMES_RECORD, r->rec);
        int c = memcmp(r->rec, name, NAMES_NAME);
        if (c == 0) {
            r->exists = 1;
            return;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    memset(r->rec, 0, NAMES_RECORD);
    memcpy(r->rec, name, NAMES_NAME);
}

/* Room for one more record in name's bucket? */
static inline int names_room(const uint8_t name[NAMES_NAME])
{
    uint64_t path = names_bucket_path(name);
    return jk_cap_kind(path) != JK_KIND_DATA || jk_data_len(path) / NAMES_RECORD < NAMES_BUCKET_MAX;
}

/* Write (remove = 0) or remove (remove = 1) a record in its bucket. */
static inline void names_put(const uint8_t rec[NAMES_RECORD], int remove)
{
    static uint8_t bucket[NAMES_BUCKET_MAX][NAMES_RECORD];
    if (jk_cap_kind(JK_PATH(NAMES_SLOT_RECORDS)) == JK_KIND_NONE)
        jk_cnode_mint(JK_PATH(NAMES_SLOT_RECORDS), 16);
    uint64_t path = names_bucket_path(rec), n = names_read_units(path, bucket, sizeof bucket, NAMES_RECORD);
    uint64_t i = 0;
    while (i < n && memcmp(bucket[i], rec, NAMES_NAME) < 0)
        i++;
    int found = i < n && memcmp(bucket[i], rec, NAMES_NAME) == 0;
    if (remove) {
        NAMES_REQUIRE(found);
        memmove(bucket[i], bucket[i + 1], (n - i - 1) * NAMES_RECORD);
        n--;
    } else {
        if (!found) {
            NAMES_REQUIRE(n < NAMES_BUCKET_MAX);
            memmove(bucket[i + 1], bucket[i], (n - i) * NAMES_RECORD);
            n++;
        }
        memcpy(bucket[i], rec, NAMES_RECORD);
    }
    jk_drop(path);
    if (n) /* an empty bucket leaves its slot empty, as if never used */
        jk_data_mint(bucket, n * NAMES_RECORD, path);
}

/* ---- blobs ---- */

/* A claim: 'C' ‖ claimant[32] ‖ name[32], signed by the claimant. */
static inline int names_claim_parse(const uint8_t *blob, uint64_t len)
{
    return len == NAMES_CLAIM && blob[0] == 'C' && names_valid(blob + 33);
}

/* A renew or transfer: does it name the record's current (expires, version)
 * while the name is taken at `height`? */
static inline int names_change_fits(const names_record *r, uint64_t height, const uint8_t *guard)
{
    return names_taken(r, height) && names_get_u64(guard) == names_expires(r) &&
           names_get_u64(guard + 8) == names_version(r);
}

#endif
