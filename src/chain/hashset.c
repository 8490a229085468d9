/*
 * hashset.c — what the pool and the chain's waiting lists are built on: an
 * event's hash (one at a time, or four lanes at once), the hash set that
 * answers "is h in it?" (the pool's index and the seen sets), a sort by a
 * key's head (the seen keys' settle, produce's trace index), and growing
 * arrays. Split out of pool.c (session 15); the pool's own rules stay there.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

void jk_chain_event_hash(const jk_chain_event *ev, jk_hash *out)
{
    jk_crypto_hasher h;
    uint8_t n[9];
    jk_crypto_hasher_init(&h);
    jk_crypto_hasher_update(&h, n, jk_pvm_encode_natural(ev->endpoint, n));
    jk_crypto_hasher_update(&h, ev->blob, ev->blob_len);
    jk_crypto_hasher_final(&h, out);
}

/* Short messages padded into one block each and hashed by four lanes at
 * once (session 11's turn ids, chain_app_batch.c, moved here in session 12
 * for the commit's block ids as well); a long one, and the last lanes of
 * the list, alone. test_chain_event_hashes_are_event_hash holds them to
 * jk_chain_event_hash. */
void jk_chain_event_hashes(const jk_chain_event *evs, size_t n, jk_hash *out)
{
    uint8_t block[4][JK_BLAKE2B_BLOCK];
    size_t len[4], lane[4], k = 0;
    jk_hash four[4];
    for (size_t i = 0; i < n; i++) {
        const jk_chain_event *ev = &evs[i];
        uint8_t nat[9];
        size_t m = jk_pvm_encode_natural(ev->endpoint, nat);
        if (ev->blob_len > JK_BLAKE2B_BLOCK - m) {
            jk_chain_event_hash(ev, &out[i]);
            continue;
        }
        memcpy(block[k], nat, m);
        if (ev->blob_len)
            memcpy(block[k] + m, ev->blob, ev->blob_len);
        memset(block[k] + m + ev->blob_len, 0, JK_BLAKE2B_BLOCK - m - ev->blob_len);
        len[k] = m + ev->blob_len;
        lane[k++] = i;
        if (k == 4) {
            jk_crypto_blake2b256_x4_short((const uint8_t(*)[JK_BLAKE2B_BLOCK])block, len, four);
            for (size_t j = 0; j < 4; j++)
                out[lane[j]] = four[j];
            k = 0;
        }
    }
    for (size_t j = 0; j < k; j++)
        jk_crypto_blake2b256(block[j], len[j], &out[lane[j]]);
}

/* ---- the hash set ----
 *
 * used[i] is 0 for an empty slot, else a tag of the hash in slots[i]: its
 * byte 8 | 1 (the home is from bytes 0..7). A probe compares the 32 bytes
 * of a slot only when the tag matches (session 12): a miss, the usual
 * question (a new event), reads the tag bytes of its run, 64 to a cache
 * line, instead of each slot's hash, half a line each; and the slots are
 * aligned to a cache line, so a hash is never split across two. */

static size_t jk_hashset_home(const jk_hash *h, size_t cap)
{
    return (size_t)jk_get_u64le(h->bytes) & (cap - 1);
}

static uint8_t jk_hashset_tag(const jk_hash *h)
{
    return h->bytes[8] | 1;
}

bool jk_chain_hashset_contains(const jk_chain_hashset *s, const jk_hash *h)
{
    if (s->cap == 0)
        return false;
    uint8_t tag = jk_hashset_tag(h);
    for (size_t i = jk_hashset_home(h, s->cap), probes = 0; probes < s->cap; i = (i + 1) & (s->cap - 1), probes++) {
        if (!s->used[i])
            return false;
        if (s->used[i] == tag && !memcmp(s->slots[i].bytes, h->bytes, JK_HASH_SIZE))
            return true;
    }
    return false;
}

static void jk_hashset_place(jk_hash *slots, uint8_t *used, size_t cap, const jk_hash *h, uint8_t tag)
{
    size_t i = jk_hashset_home(h, cap);
    while (used[i])
        i = (i + 1) & (cap - 1);
    slots[i] = *h;
    used[i] = tag;
}

/* Add h (not already there). Load kept ≤ 1/2. */
jk_err jk_chain_hashset_add(jk_chain_hashset *s, const jk_hash *h)
{
    if (2 * (s->count + 1) > s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        /* line-aligned (cap ≥ 64): no hash across two cache lines */
        jk_hash *slots = aligned_alloc(64, cap * sizeof *slots);
        uint8_t *used = calloc(cap, 1);
        if (!slots || !used) {
            free(slots);
            free(used);
            return JK_ERR_NOMEM;
        }
        for (size_t i = 0; i < s->cap; i++)
            if (s->used[i])
                jk_hashset_place(slots, used, cap, &s->slots[i], s->used[i]);
        free(s->slots);
        free(s->used);
        s->slots = slots;
        s->used = used;
        s->cap = cap;
    }
    jk_hashset_place(s->slots, s->used, s->cap, h, jk_hashset_tag(h));
    s->count++;
    return JK_OK;
}

void jk_chain_hashset_clear(jk_chain_hashset *s)
{
    if (s->used)
        memset(s->used, 0, s->cap);
    s->count = 0;
}

void jk_chain_hashset_free(jk_chain_hashset *s)
{
    free(s->slots);
    free(s->used);
    memset(s, 0, sizeof *s);
}

/* ---- sorting by a key's head ---- */

static bool jk_ord_less(const jk_chain_ord *a, const jk_chain_ord *b, jk_chain_ord_tie tie, const void *ctx)
{
    return a->head != b->head ? a->head < b->head : tie(ctx, a->at, b->at) < 0;
}

jk_chain_ord *jk_chain_ord_sort(jk_chain_ord *ord, jk_chain_ord *tmp, size_t n, jk_chain_ord_tie tie,
                                const void *ctx)
{
    for (size_t width = 1; width < n; width *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n, hi = lo + 2 * width < n ? lo + 2 * width : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi) /* the right one only when strictly less: stable */
                tmp[k++] = jk_ord_less(&ord[j], &ord[i], tie, ctx) ? ord[j++] : ord[i++];
            while (i < mid)
                tmp[k++] = ord[i++];
            while (j < hi)
                tmp[k++] = ord[j++];
        }
        jk_chain_ord *t = ord;
        ord = tmp;
        tmp = t;
    }
    return ord;
}

/* ---- growing arrays ---- */

void *jk_chain_grow(void *arr, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap && arr)
        return arr;
    size_t c = *cap >= 8 ? *cap : 8;
    while (c < need) {
        if (c > SIZE_MAX / 2 / size)
            return NULL;
        c *= 2;
    }
    void *grown = realloc(arr, c * size);
    if (grown)
        *cap = c;
    return grown;
}
