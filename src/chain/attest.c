/*
 * attest.c — attestation traces and key sets (attestation.md; the bytes in
 * docs/block-format.md, "Attestation").
 *
 * Owns the attested message hash H("jark/attest/v1" ‖ genesis ‖ blob), trace
 * signing / verification / encoding / lookup, and jk_chain_keyset, the
 * deterministic set of 32-byte keys behind the seen-rule.
 *
 * Invariants of a jk_chain_keyset:
 *   - main[0..main_count) and side[0..side_count) are each strictly
 *     ascending (memcmp) and share no key;
 *   - side_count < jk_side_limit(main_count) between calls (an add that
 *     reaches the limit folds side into main before returning);
 *   - every allocation an operation needs is made before the set is touched
 *     (jk_keyset_reserve), so a JK_ERR_NOMEM leaves the contents unchanged;
 *   - while main is NULL, a main_count of 1 means the key is in `one`: the
 *     one-key set an event's attest makes costs no allocation (issue 16).
 *     jk_main_run names main's keys either way; reserve moves `one` into a
 *     real main when the set grows. The set may be copied by value: nothing
 *     points into it.
 * Observable behaviour (contains, count, iteration order, equality) depends
 * on the contents alone; how keys are split between the runs never shows.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* ===========================================================================
 * The attested message and traces
 * ======================================================================== */

#define JK_ATTEST_TAG_LEN (sizeof JK_CHAIN_ATTEST_TAG - 1)

_Static_assert(JK_ATTEST_TAG_LEN == 14, "the attest tag is 14 bytes, no NUL");
_Static_assert(sizeof(jk_chain_trace) == JK_CHAIN_TRACE_SIZE,
               "a trace has no padding (the encoding is still written field by field)");

void jk_chain_attest_msg_hash(const jk_hash *genesis, const void *blob, size_t len,
                              jk_hash *out)
{
    jk_crypto_hasher h;
    jk_crypto_hasher_init(&h);
    jk_crypto_hasher_update(&h, JK_CHAIN_ATTEST_TAG, JK_ATTEST_TAG_LEN);
    jk_crypto_hasher_update(&h, genesis->bytes, JK_HASH_SIZE);
    jk_crypto_hasher_update(&h, blob, len);
    (void)jk_crypto_hasher_final(&h, out); /* fresh hasher: cannot fail */
}

void jk_chain_attest_msg_hashes(const jk_hash *genesis, const jk_chain_event *evs, size_t n, jk_hash *out,
                                bool *have)
{
    uint8_t block[4][JK_BLAKE2B_BLOCK];
    size_t len[4], lane[4], k = 0;
    jk_hash four[4];
    for (size_t i = 0; i <= n; i++) {
        bool last = i == n;
        if (!last) {
            const jk_chain_event *ev = &evs[i];
            have[i] = ev->blob_len <= JK_BLAKE2B_BLOCK - JK_ATTEST_TAG_LEN - JK_HASH_SIZE;
            if (!have[i])
                continue; /* hashed by streaming at its attest, if one asks */
            uint8_t *b = block[k];
            memcpy(b, JK_CHAIN_ATTEST_TAG, JK_ATTEST_TAG_LEN);
            memcpy(b + JK_ATTEST_TAG_LEN, genesis->bytes, JK_HASH_SIZE);
            size_t at = JK_ATTEST_TAG_LEN + JK_HASH_SIZE;
            if (ev->blob_len)
                memcpy(b + at, ev->blob, ev->blob_len);
            memset(b + at + ev->blob_len, 0, JK_BLAKE2B_BLOCK - at - ev->blob_len);
            len[k] = at + ev->blob_len;
            lane[k++] = i;
        }
        if (k == 4 || (last && k > 0)) {
            for (size_t j = k; j < 4; j++) { /* the idle lanes repeat the first */
                memcpy(block[j], block[0], JK_BLAKE2B_BLOCK);
                len[j] = len[0];
            }
            jk_crypto_blake2b256_x4_short((const uint8_t(*)[JK_BLAKE2B_BLOCK])block, len, four);
            for (size_t j = 0; j < k; j++)
                out[lane[j]] = four[j];
            k = 0;
        }
    }
}

void jk_chain_trace_sign_hash(const uint8_t secret_key[JK_ED25519_SECRET_SIZE],
                              const jk_hash *msg_hash, jk_chain_trace *out)
{
    jk_chain_trace t;
    /* libsodium's secret key is seed ‖ public key: the key is its 2nd half. */
    memcpy(t.key, secret_key + JK_ED25519_SEED_SIZE, JK_ED25519_PUBLIC_SIZE);
    t.msg_hash = *msg_hash;
    jk_crypto_ed25519_sign(secret_key, t.msg_hash.bytes, JK_HASH_SIZE, t.sig);
    *out = t;
}

void jk_chain_trace_sign(const uint8_t secret_key[JK_ED25519_SECRET_SIZE],
                         const jk_hash *genesis, const void *blob, size_t len,
                         jk_chain_trace *out)
{
    jk_hash m;
    jk_chain_attest_msg_hash(genesis, blob, len, &m);
    jk_chain_trace_sign_hash(secret_key, &m, out);
}

jk_err jk_chain_trace_verify_hash(const jk_chain_trace *t,
                                  const uint8_t key[JK_ED25519_PUBLIC_SIZE],
                                  const jk_hash *msg_hash)
{
    /* Keys and message hashes are public: memcmp is fine. */
    if (memcmp(t->key, key, JK_ED25519_PUBLIC_SIZE) != 0)
        return JK_ERR_CHAIN_TRACE_KEY;
    if (memcmp(t->msg_hash.bytes, msg_hash->bytes, JK_HASH_SIZE) != 0)
        return JK_ERR_CHAIN_TRACE_MSG;
    return jk_chain_trace_check(t);
}

jk_err jk_chain_trace_verify(const jk_chain_trace *t,
                             const uint8_t key[JK_ED25519_PUBLIC_SIZE],
                             const jk_hash *genesis, const void *blob, size_t len)
{
    jk_hash m;
    /* The key check first, so a wrong key costs no hashing of a large blob. */
    if (memcmp(t->key, key, JK_ED25519_PUBLIC_SIZE) != 0)
        return JK_ERR_CHAIN_TRACE_KEY;
    jk_chain_attest_msg_hash(genesis, blob, len, &m);
    return jk_chain_trace_verify_hash(t, key, &m);
}

jk_err jk_chain_trace_check(const jk_chain_trace *t)
{
    if (jk_crypto_ed25519_verify(t->key, t->msg_hash.bytes, JK_HASH_SIZE, t->sig) != JK_OK)
        return JK_ERR_CHAIN_TRACE_SIG;
    return JK_OK;
}

void jk_chain_trace_encode(const jk_chain_trace *t, uint8_t out[JK_CHAIN_TRACE_SIZE])
{
    memcpy(out, t->key, 32);
    memcpy(out + 32, t->msg_hash.bytes, 32);
    memcpy(out + 64, t->sig, 64);
}

void jk_chain_trace_decode(const uint8_t in[JK_CHAIN_TRACE_SIZE], jk_chain_trace *out)
{
    memcpy(out->key, in, 32);
    memcpy(out->msg_hash.bytes, in + 32, 32);
    memcpy(out->sig, in + 64, 64);
}

static bool jk_trace_matches(const jk_chain_trace *t, const uint8_t *key, const jk_hash *m)
{
    return memcmp(t->key, key, JK_ED25519_PUBLIC_SIZE) == 0 &&
           memcmp(t->msg_hash.bytes, m->bytes, JK_HASH_SIZE) == 0;
}

bool jk_chain_trace_find(const jk_chain_trace *traces, size_t n,
                         const uint8_t key[JK_ED25519_PUBLIC_SIZE],
                         const jk_hash *msg_hash, size_t *index)
{
    for (size_t i = 0; i < n; i++)
        if (jk_trace_matches(&traces[i], key, msg_hash)) {
            if (index)
                *index = i;
            return true;
        }
    return false;
}

bool jk_chain_trace_find_valid(const jk_chain_trace *traces, size_t n,
                               const uint8_t key[JK_ED25519_PUBLIC_SIZE],
                               const jk_hash *msg_hash, size_t *index)
{
    for (size_t i = 0; i < n; i++)
        if (jk_trace_matches(&traces[i], key, msg_hash) &&
            jk_chain_trace_check(&traces[i]) == JK_OK) {
            if (index)
                *index = i;
            return true;
        }
    return false;
}

/* ===========================================================================
 * Key sets
 * ======================================================================== */

#define JK_KEY 32u
#define JK_SIDE_MIN 64u

/* Most keys side may hold beside a main run of n keys: about sqrt(n), at
 * least 64. Monotone in n, which jk_keyset_reserve relies on. An add costs
 * O(limit) moves in side plus, amortised, O(n / limit) for the folds. */
static size_t jk_side_limit(size_t n)
{
    size_t lim = JK_SIDE_MIN;
    while (lim < n / lim)
        lim *= 2;
    return lim;
}

/* Index of the first key in run[0..n) that is >= key; *found when equal. */
static size_t jk_lower_bound(const uint8_t (*run)[32], size_t n, const uint8_t *key,
                             bool *found)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (jk_chain_cmp32(run[mid], key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < n && jk_chain_cmp32(run[lo], key) == 0;
    return lo;
}

/* The main run: main, or `one` for a one-key set without main. */
static uint8_t (*jk_main_run(const jk_chain_keyset *s))[32]
{
    return s->main ? s->main : (uint8_t (*)[32])(uintptr_t)s->one;
}

/* Grow *buf to hold at least need keys (doubling, from 16). */
static jk_err jk_grow(uint8_t (**buf)[32], size_t *cap, size_t need)
{
    if (*cap >= need)
        return JK_OK;
    size_t c = *cap ? *cap : 16;
    while (c < need) {
        if (c > SIZE_MAX / 2 / JK_KEY)
            return JK_ERR_NOMEM;
        c *= 2;
    }
    void *p = realloc(*buf, c * JK_KEY);
    if (!p)
        return JK_ERR_NOMEM;
    *buf = p;
    *cap = c;
    return JK_OK;
}

/* Room for the set to reach `total` keys by adds alone, without another
 * allocation: main for all of them (a fold moves side into main), side up
 * to its limit at that size. Contents never change here. */
static jk_err jk_keyset_reserve(jk_chain_keyset *s, size_t total)
{
    bool inline_key = !s->main && s->main_count == 1;
    jk_err err = jk_grow(&s->main, &s->main_cap, total);
    if (err == JK_OK && inline_key)
        memcpy(s->main[0], s->one, JK_KEY);
    if (err == JK_OK)
        err = jk_grow(&s->side, &s->side_cap, jk_side_limit(total));
    return err;
}

/* Fold side into main, merging from the back (main has room: reserve). */
static void jk_keyset_fold(jk_chain_keyset *s)
{
    size_t i = s->main_count, j = s->side_count, k = i + j;
    while (j > 0) {
        if (i > 0 && memcmp(s->main[i - 1], s->side[j - 1], JK_KEY) > 0)
            memcpy(s->main[--k], s->main[--i], JK_KEY);
        else
            memcpy(s->main[--k], s->side[--j], JK_KEY);
    }
    s->main_count += s->side_count;
    s->side_count = 0;
}

void jk_chain_keyset_init(jk_chain_keyset *s)
{
    memset(s, 0, sizeof *s);
}

void jk_chain_keyset_free(jk_chain_keyset *s)
{
    if (!s)
        return;
    free(s->main);
    free(s->side);
    memset(s, 0, sizeof *s);
}

void jk_chain_keyset_clear(jk_chain_keyset *s)
{
    s->main_count = 0;
    s->side_count = 0;
}

size_t jk_chain_keyset_count(const jk_chain_keyset *s)
{
    return s->main_count + s->side_count;
}

bool jk_chain_keyset_contains(const jk_chain_keyset *s, const uint8_t key[32])
{
    bool found;
    jk_lower_bound((const uint8_t (*)[32])jk_main_run(s), s->main_count, key, &found);
    if (!found)
        jk_lower_bound((const uint8_t (*)[32])s->side, s->side_count, key, &found);
    return found;
}

jk_err jk_chain_keyset_add(jk_chain_keyset *s, const uint8_t key[32], bool *added)
{
    bool found;
    if (added)
        *added = false;
    jk_lower_bound((const uint8_t (*)[32])jk_main_run(s), s->main_count, key, &found);
    if (found)
        return JK_OK;
    if (!s->main && s->main_count == 0 && s->side_count == 0) {
        memcpy(s->one, key, JK_KEY); /* the first key: no allocation */
        s->main_count = 1;
        if (added)
            *added = true;
        return JK_OK;
    }
    size_t pos = jk_lower_bound((const uint8_t (*)[32])s->side, s->side_count, key, &found);
    if (found)
        return JK_OK;
    jk_err err = jk_keyset_reserve(s, jk_chain_keyset_count(s) + 1);
    if (err != JK_OK)
        return err;
    memmove(s->side[pos + 1], s->side[pos], (s->side_count - pos) * JK_KEY);
    memcpy(s->side[pos], key, JK_KEY);
    s->side_count++;
    if (s->side_count >= jk_side_limit(s->main_count))
        jk_keyset_fold(s);
    if (added)
        *added = true;
    return JK_OK;
}

const uint8_t *jk_chain_keyset_next(const jk_chain_keyset *s, jk_chain_keyset_iter *it)
{
    bool in_main = it->main_pos < s->main_count;
    bool in_side = it->side_pos < s->side_count;
    if (!in_main && !in_side)
        return NULL;
    const uint8_t (*run)[32] = (const uint8_t (*)[32])jk_main_run(s);
    if (in_main && (!in_side || memcmp(run[it->main_pos], s->side[it->side_pos], JK_KEY) < 0))
        return run[it->main_pos++];
    return s->side[it->side_pos++];
}

jk_err jk_chain_keyset_merge(jk_chain_keyset *dst, const jk_chain_keyset *src)
{
    size_t n = jk_chain_keyset_count(dst), m = jk_chain_keyset_count(src);
    if (dst == src || m == 0)
        return JK_OK;
    if (n > SIZE_MAX / 2 || m > SIZE_MAX / 2)
        return JK_ERR_NOMEM;

    /* A few keys into a large set (an event's seen keys into the cycle's):
     * add them one by one, at O(sqrt n) each instead of O(n) for a rebuild. */
    if (m * 4 <= jk_side_limit(n)) {
        jk_err err = jk_keyset_reserve(dst, n + m);
        if (err != JK_OK)
            return err;
        jk_chain_keyset_iter it = JK_CHAIN_KEYSET_ITER_INIT;
        const uint8_t *k;
        while ((k = jk_chain_keyset_next(src, &it)) != NULL)
            (void)jk_chain_keyset_add(dst, k, NULL); /* reserved: cannot fail */
        return JK_OK;
    }

    /* Otherwise one linear merge of the two ordered streams into a new main. */
    if (n + m > SIZE_MAX / JK_KEY)
        return JK_ERR_NOMEM;
    uint8_t (*out)[32] = malloc((n + m) * JK_KEY);
    if (!out)
        return JK_ERR_NOMEM;
    jk_chain_keyset_iter ia = JK_CHAIN_KEYSET_ITER_INIT, ib = JK_CHAIN_KEYSET_ITER_INIT;
    const uint8_t *a = jk_chain_keyset_next(dst, &ia), *b = jk_chain_keyset_next(src, &ib);
    size_t k = 0;
    while (a || b) {
        int c = !a ? 1 : !b ? -1 : memcmp(a, b, JK_KEY);
        if (c <= 0) {
            memcpy(out[k++], a, JK_KEY);
            a = jk_chain_keyset_next(dst, &ia);
            if (c == 0)
                b = jk_chain_keyset_next(src, &ib);
        } else {
            memcpy(out[k++], b, JK_KEY);
            b = jk_chain_keyset_next(src, &ib);
        }
    }
    free(dst->main);
    dst->main = out;
    dst->main_cap = n + m;
    dst->main_count = k;
    dst->side_count = 0;
    return JK_OK;
}

bool jk_chain_keyset_equal(const jk_chain_keyset *a, const jk_chain_keyset *b)
{
    if (jk_chain_keyset_count(a) != jk_chain_keyset_count(b))
        return false;
    jk_chain_keyset_iter ia = JK_CHAIN_KEYSET_ITER_INIT, ib = JK_CHAIN_KEYSET_ITER_INIT;
    const uint8_t *x, *y;
    while ((x = jk_chain_keyset_next(a, &ia)) != NULL) {
        y = jk_chain_keyset_next(b, &ib);
        if (memcmp(x, y, JK_KEY) != 0)
            return false;
    }
    return true;
}
