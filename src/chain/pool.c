/*
 * pool.c — the transaction pool and the kernel's waiting lists: bounded in
 * events, bytes and per attested key, with an O(1) duplicate check by event
 * hash (docs/chain-design.md, "The pool").
 *
 * Invariants:
 *   - pool[0..pool_count) is in admission order; that order is the order a
 *     produced body keeps. pool_bytes = Σ (blob_len + 128 × trace_count).
 *   - pool_index holds exactly the event hashes of pool[]; it is only ever
 *     asked "is h in it?", so its layout never decides anything.
 *   - pool_keys / pool_key_uses is a hash table of pool_key_cap slots
 *     (pool_key_count used): for each key, how many pooled transacts
 *     charge it (each charges every key its verify attested, or the
 *     all-zero key when it attested none). See "per-key counting".
 *   - Admission refuses; nothing is evicted. A refused event costs nothing
 *     later: the checks that need no verify (duplicate, count, bytes) run
 *     before it.
 */
#include "internal.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* ---- per-key counting ----
 *
 * An open-addressing table (linear probing, at most half full): slot i
 * holds pool_keys[i] with pool_key_uses[i] pooled transacts charging it,
 * and uses 0 marks an empty slot (a key is in the table only once charged;
 * the all-zero key, "nobody", is a key like any other here). It was a
 * sorted array: each new key moved half of it (2,200 instructions an event
 * at 2,048 keys, growing with the pool). Only "how many for this key?" is
 * ever asked of it, so its layout decides nothing. The slot is a SipHash of
 * the key under a key drawn once per process: the keys are what event
 * submitters choose, and keys aimed at one run would make every lookup walk
 * it. */

static pthread_once_t jk_key_once = PTHREAD_ONCE_INIT;
static uint8_t jk_key_sip[crypto_shorthash_KEYBYTES];

static void jk_key_sip_init(void)
{
    randombytes_buf(jk_key_sip, sizeof jk_key_sip);
}

static size_t jk_key_home(const uint8_t key[32], size_t cap)
{
    uint8_t h[crypto_shorthash_BYTES];
    crypto_shorthash(h, key, 16, jk_key_sip); /* 16 bytes spread keys as well as 32, faster */
    return (size_t)jk_get_u64le(h) & (cap - 1);
}

/* The slot holding key, or the empty slot where it would go (cap > 0). */
static size_t jk_key_slot(jk_chain_kernel *ck, const uint8_t key[32], bool *found)
{
    size_t mask = ck->pool_key_cap - 1;
    ck->pool_key_hashes++;
    for (size_t i = jk_key_home(key, ck->pool_key_cap);; i = (i + 1) & mask) {
        if (ck->pool_key_uses[i] == 0) {
            *found = false;
            return i;
        }
        if (!memcmp(ck->pool_keys[i], key, 32)) {
            *found = true;
            return i;
        }
    }
}

static uint32_t jk_key_uses(jk_chain_kernel *ck, const uint8_t key[32])
{
    bool found;
    if (ck->pool_key_cap == 0)
        return 0;
    size_t at = jk_key_slot(ck, key, &found);
    return found ? ck->pool_key_uses[at] : 0;
}

/* Move the table into one of cap slots. @return JK_OK; JK_ERR_NOMEM (unchanged). */
static jk_err jk_key_rehash(jk_chain_kernel *ck, size_t cap)
{
    uint8_t(*keys)[32] = malloc(cap * sizeof *keys);
    uint32_t *uses = calloc(cap, sizeof *uses);
    if (!keys || !uses) {
        free(keys);
        free(uses);
        return JK_ERR_NOMEM;
    }
    for (size_t i = 0; i < ck->pool_key_cap; i++) {
        if (ck->pool_key_uses[i] == 0)
            continue;
        size_t j = jk_key_home(ck->pool_keys[i], cap);
        while (uses[j])
            j = (j + 1) & (cap - 1);
        memcpy(keys[j], ck->pool_keys[i], 32);
        uses[j] = ck->pool_key_uses[i];
    }
    free(ck->pool_keys);
    free(ck->pool_key_uses);
    ck->pool_keys = keys;
    ck->pool_key_uses = uses;
    ck->pool_key_cap = cap;
    return JK_OK;
}

/* Room in the table for `more` keys beyond those it holds: one rehash to
 * the size they need, not a doubling at a time. */
static jk_err jk_key_room(jk_chain_kernel *ck, size_t more)
{
    pthread_once(&jk_key_once, jk_key_sip_init);
    if (2 * (ck->pool_key_count + more) <= ck->pool_key_cap)
        return JK_OK;
    size_t cap = ck->pool_key_cap ? ck->pool_key_cap : 64;
    while (2 * (ck->pool_key_count + more) > cap) {
        if (cap > SIZE_MAX / 4 / sizeof *ck->pool_keys)
            return JK_ERR_NOMEM;
        cap *= 2;
    }
    return jk_key_rehash(ck, cap);
}

/* One more use of the key in slot `at` (jk_key_slot's, with room made). */
static void jk_key_charge_at(jk_chain_kernel *ck, size_t at, bool found, const uint8_t key[32])
{
    if (!found) {
        memcpy(ck->pool_keys[at], key, 32);
        ck->pool_key_count++;
    }
    ck->pool_key_uses[at]++;
}

static jk_err jk_key_charge(jk_chain_kernel *ck, const uint8_t key[32])
{
    jk_err err = jk_key_room(ck, 1);
    if (err != JK_OK)
        return err;
    bool found;
    size_t at = jk_key_slot(ck, key, &found);
    jk_key_charge_at(ck, at, found, key);
    return JK_OK;
}

/* The per-key bound for an entry that charges one key (the common case: a
 * transact that attested one key, or none): the key's slot found once, for
 * the check and then the charge, where jk_key_uses and jk_key_charge hashed
 * the key twice (SipHash, ~190 instructions: an admission and each
 * rebuild's re-insert; session 15). *at / *found for jk_key_charge_at; the
 * table is not changed in between (room is made here). false: at the bound. */
static jk_err jk_key_check_one(jk_chain_kernel *ck, const uint8_t key[32], size_t *at, bool *found, bool *ok)
{
    jk_err err = jk_key_room(ck, 1);
    if (err != JK_OK)
        return err;
    *at = jk_key_slot(ck, key, found);
    *ok = (*found ? ck->pool_key_uses[*at] : 0) < ck->pool_limits.max_per_key;
    return JK_OK;
}

/* ---- the pool ---- */

void jk_chain_set_pool_limits(jk_chain_kernel *ck, const jk_chain_pool_limits *limits)
{
    ck->pool_limits = *limits;
    ck->pool_built = false; /* the next setup_cycle puts the pool back under these */
}

void jk_chain_pooled_drop(jk_chain_pooled *e)
{
    if (e->blob != jk_cap_data_flat(e->data)) /* else the Data's own bytes */
        free(e->blob);
    free(e->traces);
    jk_cap_release(e->data);
}

void jk_chain_pooled_free(jk_chain_pooled *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        jk_chain_pooled_drop(&list[i]);
    free(list);
}

void jk_chain_pool_clear(jk_chain_kernel *ck)
{
    jk_chain_pooled_free(ck->pool, ck->pool_count);
    ck->pool = NULL;
    ck->pool_count = ck->pool_bytes = ck->pool_cap = 0;
    ck->pool_built = false;
    jk_chain_hashset_clear(&ck->pool_index);
    free(ck->pool_keys);
    free(ck->pool_key_uses);
    ck->pool_keys = NULL;
    ck->pool_key_uses = NULL;
    ck->pool_key_count = ck->pool_key_cap = 0;
    jk_chain_keyset_clear(&ck->pool_seen_keys);
    free(ck->pool_seen_later);
    ck->pool_seen_later = NULL;
    ck->pool_seen_later_count = ck->pool_seen_later_cap = 0;
}

/* A key for pool_seen_keys, kept for jk_chain_pool_seen_settle. */
static jk_err jk_seen_later(jk_chain_kernel *ck, const uint8_t key[32])
{
    uint8_t(*grown)[32] = jk_chain_grow(ck->pool_seen_later, &ck->pool_seen_later_cap,
                                        ck->pool_seen_later_count + 1, sizeof *grown);
    if (!grown)
        return JK_ERR_NOMEM;
    ck->pool_seen_later = grown;
    memcpy(grown[ck->pool_seen_later_count++], key, 32);
    return JK_OK;
}

/* keys[a] against keys[b] past their heads (jk_chain_ord_sort's tie). */
static int jk_key_tail_cmp(const void *ctx, size_t a, size_t b)
{
    const uint8_t(*keys)[32] = ctx;
    return memcmp(keys[a] + 8, keys[b] + 8, 24);
}

jk_err jk_chain_pool_seen_settle(jk_chain_kernel *ck)
{
    size_t n = ck->pool_seen_later_count;
    if (n == 0)
        return JK_OK;
    const uint8_t(*keys)[32] = (const uint8_t(*)[32])ck->pool_seen_later;
    jk_chain_ord *ord = malloc(2 * n * sizeof *ord);
    uint8_t(*sorted)[32] = malloc(n * sizeof *sorted);
    if (!ord || !sorted) {
        free(ord);
        free(sorted);
        return JK_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++)
        ord[i] = (jk_chain_ord){jk_chain_head64(keys[i]), i};
    const jk_chain_ord *by = jk_chain_ord_sort(ord, ord + n, n, jk_key_tail_cmp, keys);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (m == 0 || memcmp(sorted[m - 1], keys[by[i].at], 32) != 0)
            memcpy(sorted[m++], keys[by[i].at], 32);
    free(ord);
    /* the sorted run as a set of its own (main only), merged in one go */
    jk_chain_keyset run;
    jk_chain_keyset_init(&run);
    run.main = sorted;
    run.main_count = run.main_cap = m;
    jk_err err = jk_chain_keyset_merge(&ck->pool_seen_keys, &run);
    free(sorted);
    if (err == JK_OK)
        ck->pool_seen_later_count = 0;
    return err;
}

static size_t jk_entry_bytes(size_t blob_len, size_t trace_count)
{
    return blob_len + trace_count * JK_CHAIN_TRACE_SIZE;
}

const char *jk_chain_pool_precheck(const jk_chain_kernel *ck, const jk_hash *hash, size_t blob_len,
                                   size_t trace_count)
{
    if (jk_chain_hashset_contains(&ck->pool_index, hash))
        return "the pool already holds this transact";
    if (ck->pool_count >= ck->pool_limits.max_events)
        return "the pool is full (events)";
    if (jk_entry_bytes(blob_len, trace_count) > ck->pool_limits.max_bytes - ck->pool_bytes ||
        ck->pool_bytes > ck->pool_limits.max_bytes)
        return "the pool is full (bytes)";
    return NULL;
}

/* jk_chain_pooled_make; with *take non-NULL (the heap array `traces` is),
 * the entry keeps that array instead of a copy and *take becomes NULL.
 * data: the blob's Data (jk_chain_verdict.data) or null, borrowed: out->data
 * names it (the caller hands its reference over once the entry is kept),
 * and when it is one page the entry's blob is its bytes rather than a copy
 * of its own (jk_chain_pooled_drop frees the blob only when it is not). */
static jk_err jk_pooled_make(const uint8_t *blob, size_t len, const jk_chain_trace *traces, size_t n,
                             jk_chain_trace **take, jk_cap data, jk_chain_endpoint endpoint, const jk_hash *hash,
                             jk_chain_pooled *out)
{
    bool taken = take && *take && *take == traces;
    if (jk_cap_data_len(data) != len)
        data = jk_cap_null(); /* not this blob's (never: it is what verify ran on) */
    const uint8_t *flat = jk_cap_data_flat(data);
    out->blob = flat ? (uint8_t *)flat /* read only, as every entry's blob */ : malloc(len ? len : 1);
    out->traces = taken ? *take : malloc((n ? n : 1) * sizeof *traces);
    if (!out->blob || !out->traces) {
        if (!flat)
            free(out->blob);
        if (!taken)
            free(out->traces);
        return JK_ERR_NOMEM;
    }
    if (taken)
        *take = NULL;
    if (len && !flat)
        memcpy(out->blob, blob, len);
    if (n && !taken)
        memcpy(out->traces, traces, n * sizeof *traces);
    out->blob_len = len;
    out->trace_count = n;
    out->endpoint = endpoint;
    out->stamp = 0;
    out->kernel_made = false;
    out->has_blob_msg = false;
    out->data = data;
    jk_chain_event ev = {endpoint, out->blob, len};
    if (hash)
        out->hash = *hash;
    else
        jk_chain_event_hash(&ev, &out->hash);
    return JK_OK;
}

jk_err jk_chain_pooled_make(const uint8_t *blob, size_t len, const jk_chain_trace *traces, size_t n,
                            jk_chain_endpoint endpoint, const jk_hash *hash, jk_chain_pooled *out)
{
    return jk_pooled_make(blob, len, traces, n, NULL, jk_cap_null(), endpoint, hash, out);
}

jk_err jk_chain_pool_admit(jk_chain_kernel *ck, const jk_chain_event *ev, const jk_hash *known,
                           const jk_chain_trace *traces, size_t trace_count, jk_chain_trace **take, jk_cap *data,
                           const jk_chain_keyset *seen, const char **refused)
{
    static const uint8_t nobody[32];
    *refused = NULL;
    jk_hash hash;
    if (known)
        hash = *known;
    else
        jk_chain_event_hash(ev, &hash);
    if ((*refused = jk_chain_pool_precheck(ck, &hash, ev->blob_len, trace_count)) != NULL)
        return JK_OK;
    /* per key: every key the verify attested, or nobody; a kernel-made
     * transact (seen == NULL: a process emit) charges no key */
    jk_chain_keyset_iter it = JK_CHAIN_KEYSET_ITER_INIT;
    const uint8_t *key;
    bool any = seen == NULL;
    /* one key to charge (the usual transact attests one; or nobody): its
     * slot found once for the check and the charge (jk_key_check_one) */
    size_t nkeys = seen ? jk_chain_keyset_count(seen) : 0;
    const uint8_t *one = NULL;
    size_t one_at = 0;
    bool one_found = false;
    if (seen && nkeys <= 1) {
        one = nkeys ? jk_chain_keyset_next(seen, &it) : nobody;
        any = nkeys == 1;
        bool ok;
        jk_err err = jk_key_check_one(ck, one, &one_at, &one_found, &ok);
        if (err != JK_OK)
            return err;
        if (!ok) {
            *refused = any ? "the pool holds as many transacts for one of its keys as it takes"
                           : "the pool holds as many transacts without an attested key as it takes";
            return JK_OK;
        }
    }
    while (!one && seen && (key = jk_chain_keyset_next(seen, &it)) != NULL) {
        any = true;
        if (jk_key_uses(ck, key) >= ck->pool_limits.max_per_key) {
            *refused = "the pool holds as many transacts for one of its keys as it takes";
            return JK_OK;
        }
    }
    if (!one && !any && jk_key_uses(ck, nobody) >= ck->pool_limits.max_per_key) {
        *refused = "the pool holds as many transacts without an attested key as it takes";
        return JK_OK;
    }
    jk_chain_pooled *grown = jk_chain_grow(ck->pool, &ck->pool_cap, ck->pool_count + 1, sizeof *grown);
    if (!grown)
        return JK_ERR_NOMEM;
    ck->pool = grown;
    jk_chain_pooled entry;
    jk_err err = jk_pooled_make(ev->blob, ev->blob_len, traces, trace_count, take,
                                data ? *data : jk_cap_null(), ev->endpoint, &hash, &entry);
    if (err != JK_OK)
        return err;
    /* verified on this chain state, or made by this cycle's kernel */
    entry.kernel_made = seen == NULL;
    entry.stamp = seen ? ck->chain_stamp : ck->cycle_stamp;
    err = jk_chain_hashset_add(&ck->pool_index, &entry.hash);
    if (err != JK_OK) {
        if (entry.blob != jk_cap_data_flat(entry.data))
            free(entry.blob); /* the Data stays the caller's */
        if (take && !*take && entry.traces == traces)
            *take = entry.traces; /* handed back: the caller still frees it */
        else
            free(entry.traces);
        return err;
    }
    /* From here on a failure leaves the pool consistent but may undercount a
     * key: only on out-of-memory, when the validator is in trouble anyway. */
    ck->pool[ck->pool_count++] = entry;
    ck->pool_bytes += jk_entry_bytes(ev->blob_len, trace_count);
    if (data && !jk_cap_is_null(entry.data))
        *data = jk_cap_null(); /* the entry's reference now */
    if (!seen)
        return JK_OK;
    if (one) {
        jk_key_charge_at(ck, one_at, one_found, one); /* nothing entered the table since the check */
    } else {
        it = (jk_chain_keyset_iter)JK_CHAIN_KEYSET_ITER_INIT;
        while (err == JK_OK && (key = jk_chain_keyset_next(seen, &it)) != NULL)
            err = jk_key_charge(ck, key);
    }
    it = (jk_chain_keyset_iter)JK_CHAIN_KEYSET_ITER_INIT;
    while (err == JK_OK && (key = jk_chain_keyset_next(seen, &it)) != NULL)
        err = jk_seen_later(ck, key);
    return err;
}

bool jk_chain_holds_event(const jk_chain_kernel *ck, const jk_hash *id)
{
    return jk_chain_hashset_contains(&ck->pool_index, id) || jk_chain_hashset_contains(&ck->dispatch_index, id);
}

jk_err jk_chain_pool_admit_verified(jk_chain_kernel *ck, const jk_chain_event *ev, const jk_hash *id,
                                    const jk_chain_trace *used, size_t n, bool *admitted, jk_diag *why)
{
    *admitted = false;
    if (!ck->cycle_open || ev->endpoint != JK_CHAIN_ENDPOINT_TRANSACT)
        return jk_diag_set(why, JK_ERR_INVALID_ARG, "a transact into an open cycle only");
    /* the keys it attested: those of the traces it used (as jk_pool_reinsert) */
    jk_chain_keyset seen;
    jk_chain_keyset_init(&seen);
    jk_err err = JK_OK;
    for (size_t i = 0; err == JK_OK && i < n; i++)
        err = jk_chain_keyset_add(&seen, used[i].key, NULL);
    const char *refused = NULL;
    if (err == JK_OK)
        err = jk_chain_pool_admit(ck, ev, id, used, n, NULL, NULL, &seen, &refused);
    jk_chain_keyset_free(&seen);
    *admitted = err == JK_OK && !refused;
    if (refused)
        jk_diag_set(why, JK_OK, "%s", refused);
    return err;
}

/* ---- no recheck: the pool kept across cycles ---- */

bool jk_chain_pooled_current(const jk_chain_kernel *ck, const jk_chain_pooled *e)
{
    return e->stamp != 0 && (e->kernel_made ? e->stamp == ck->cycle_stamp : e->stamp == ck->chain_stamp);
}

/* Whether key is among traces[0..n) (an entry's keys without a set). */
static bool jk_key_among(const jk_chain_trace *traces, size_t n, const uint8_t key[32])
{
    for (size_t i = 0; i < n; i++)
        if (!memcmp(traces[i].key, key, 32))
            return true;
    return false;
}

/* Put *e back under the pool's rules, as its admission did: the checks that
 * need no verify, then the per-key bound with the keys it charges — those of
 * the traces its verify used (= the keys it attested), none for a
 * kernel-made one, the all-zero key for one that attested none. A current
 * entry's keys join pool_seen_keys (the seen-rule of this cycle's produce).
 * *kept false: refused, *e still the caller's. */
static jk_err jk_pool_reinsert(jk_chain_kernel *ck, jk_chain_pooled *e, bool *kept)
{
    static const uint8_t nobody[32];
    *kept = false;
    if (jk_chain_pool_precheck(ck, &e->hash, e->blob_len, e->trace_count))
        return JK_OK;
    const jk_chain_trace *t = e->traces;
    size_t n = e->kernel_made ? 0 : e->trace_count;
    /* one key to charge (n == 1, or nobody for n == 0): its slot found once */
    const uint8_t *one = e->kernel_made ? NULL : n == 1 ? t[0].key : n == 0 ? nobody : NULL;
    size_t one_at = 0;
    bool one_found = false;
    if (one) {
        bool ok;
        jk_err err = jk_key_check_one(ck, one, &one_at, &one_found, &ok);
        if (err != JK_OK || !ok)
            return err;
    }
    for (size_t i = 0; !one && i < n; i++)
        if (!jk_key_among(t, i, t[i].key) && jk_key_uses(ck, t[i].key) >= ck->pool_limits.max_per_key)
            return JK_OK;
    jk_chain_pooled *grown = jk_chain_grow(ck->pool, &ck->pool_cap, ck->pool_count + 1, sizeof *grown);
    if (!grown)
        return JK_ERR_NOMEM;
    ck->pool = grown;
    jk_err err = jk_chain_hashset_add(&ck->pool_index, &e->hash);
    if (err != JK_OK)
        return err;
    ck->pool[ck->pool_count++] = *e;
    ck->pool_bytes += jk_entry_bytes(e->blob_len, e->trace_count);
    ck->stats.pool_reinserted++;
    *kept = true;
    bool current = jk_chain_pooled_current(ck, e);
    if (one) {
        jk_key_charge_at(ck, one_at, one_found, one); /* nothing entered the table since the check */
        if (n == 1 && current)
            err = jk_seen_later(ck, one);
        return err;
    }
    for (size_t i = 0; err == JK_OK && i < n; i++) {
        if (jk_key_among(t, i, t[i].key))
            continue;
        err = jk_key_charge(ck, t[i].key);
        if (err == JK_OK && current)
            err = jk_seen_later(ck, t[i].key);
    }
    return err;
}

jk_err jk_chain_pool_rebuild(jk_chain_kernel *ck, jk_chain_pooled *list, size_t n)
{
    jk_chain_pool_clear(ck);
    /* the arrays at their size once, not grown an entry at a time: the key
     * table was rehashed 64 → 128 → ... slots, each time hashing every key
     * again (a rebuild runs at each setup_cycle over every pooled entry,
     * thousands on a loaded node; session 15). One key an entry is the
     * usual transact's; more grow as before. */
    size_t keys = 0;
    for (size_t j = 0; j < n; j++)
        keys += list[j].kernel_made ? 0 : list[j].trace_count ? list[j].trace_count : 1;
    jk_err err = n ? jk_key_room(ck, keys) : JK_OK;
    jk_chain_pooled *grown = err == JK_OK && n ? jk_chain_grow(ck->pool, &ck->pool_cap, n, sizeof *grown) : ck->pool;
    if (n && !grown)
        err = JK_ERR_NOMEM;
    ck->pool = grown;
    size_t i = 0;
    for (; err == JK_OK && i < n; i++) {
        bool kept;
        err = jk_pool_reinsert(ck, &list[i], &kept);
        if (!kept)
            jk_chain_pooled_drop(&list[i]);
    }
    for (; i < n; i++) /* out of memory: the rest is lost with it */
        jk_chain_pooled_drop(&list[i]);
    free(list);
    return err;
}

/* A produced body's bound (docs/chain-design.md, "Produce"): at most
 * JK_CHAIN_MAX_EVENTS events whose encoding takes at most
 * JK_CHAIN_PRODUCE_EVENT_BYTES (or the embedder's smaller bound). */
static size_t jk_produce_limit(const jk_chain_kernel *ck)
{
    size_t limit = ck->produce_event_bytes && ck->produce_event_bytes < JK_CHAIN_PRODUCE_EVENT_BYTES
                       ? ck->produce_event_bytes
                       : JK_CHAIN_PRODUCE_EVENT_BYTES;
    /* the transacts process made this cycle end the body: room for them */
    return limit > ck->cycle_transact_bytes ? limit - ck->cycle_transact_bytes : 0;
}

static size_t jk_produce_len(const jk_chain_pooled *e)
{
    uint8_t tmp[9];
    return jk_pvm_encode_natural(JK_CHAIN_ENDPOINT_TRANSACT, tmp) + jk_pvm_encode_natural(e->blob_len, tmp) +
           e->blob_len;
}

/* Verify pooled transact e again in this cycle (its chain state moved since
 * it was verified, or process made it): on success it carries the traces
 * this verify used and is current; *dropped when verify refuses it now. */
static jk_err jk_pool_reverify(jk_chain_kernel *ck, jk_chain_pooled *e, bool *dropped)
{
    jk_chain_event ev = {e->endpoint, e->blob, e->blob_len};
    jk_chain_verdict v;
    jk_err err = jk_chain_verify_event_ex(ck, ck->kernel, &ev, e->traces, e->trace_count, true, &e->hash,
                                          e->has_blob_msg ? &e->blob_msg : NULL, &v);
    if (v.ran) {
        ck->stats.verify_runs++;
        ck->stats.produce_verifies++;
    }
    *dropped = err == JK_OK && !v.admit;
    if (err == JK_OK && v.admit) {
        for (size_t i = 0; i < v.used_count; i++)
            jk_chain_sig_remember(ck, &v.used[i]);
        free(e->traces);
        e->traces = v.used;
        e->trace_count = v.used_count;
        v.used = NULL;
        if (!e->traces)
            e->traces = malloc(1); /* as jk_chain_pooled_make: never NULL */
        err = e->traces ? JK_OK : JK_ERR_NOMEM;
        e->stamp = ck->chain_stamp;
        e->kernel_made = false;
        if (v.has_blob_msg) {
            e->has_blob_msg = true;
            e->blob_msg = v.blob_msg;
        }
        if (jk_cap_is_null(e->data)) { /* the Data this verify ran on: the body's */
            e->data = v.data;
            v.data = jk_cap_null();
        }
    }
    jk_chain_verdict_free(&v);
    return err;
}

/* One pass over the pool's front: verify what is not current, drop what
 * verify refuses, until the body's bound. *changed: an entry was verified or
 * dropped (the pool must be rebuilt: its bytes, keys and seen keys moved). */
static jk_err jk_select_pass(jk_chain_kernel *ck, size_t *n, bool *changed)
{
    size_t limit = jk_produce_limit(ck), bytes = 0, keep = 0, i = 0;
    jk_err err = JK_OK;
    *n = 0;
    *changed = false;
    for (; err == JK_OK && i < ck->pool_count && *n < JK_CHAIN_MAX_EVENTS - ck->cycle_transact_count; i++) {
        jk_chain_pooled *e = &ck->pool[i];
        bool dropped = false;
        if (!jk_chain_pooled_current(ck, e)) {
            *changed = true;
            err = jk_pool_reverify(ck, e, &dropped);
        }
        if (err == JK_OK && dropped) {
            ck->stats.pool_dropped++;
            jk_chain_pooled_drop(e);
            continue;
        }
        ck->pool[keep++] = *e;
        if (err == JK_OK && jk_produce_len(e) > limit - bytes) {
            i++;
            break;
        }
        if (err == JK_OK) {
            bytes += jk_produce_len(e);
            (*n)++;
        }
    }
    /* close the gap the dropped entries left */
    if (i < ck->pool_count)
        memmove(ck->pool + keep, ck->pool + i, (ck->pool_count - i) * sizeof *ck->pool);
    ck->pool_count = keep + (ck->pool_count - i);
    return err;
}

jk_err jk_chain_pool_select(jk_chain_kernel *ck, size_t *n)
{
    *n = 0;
    for (;;) {
        bool changed;
        jk_err err = jk_select_pass(ck, n, &changed);
        if (err != JK_OK || !changed)
            return err;
        /* Rebuild the index, bytes and key counts from the entries as they
         * are now; a reinsertion may refuse one (a key over its bound once a
         * kernel-made transact charges it), so pass again: every pass either
         * changes nothing or makes an entry current or gone. */
        jk_chain_pooled *list = ck->pool;
        size_t count = ck->pool_count;
        ck->pool = NULL;
        ck->pool_count = ck->pool_cap = 0;
        err = jk_chain_pool_rebuild(ck, list, count);
        if (err != JK_OK)
            return err;
    }
}

/* ---- the waiting list for the next cycle ---- */

jk_err jk_chain_queue_push(jk_chain_kernel *ck, jk_chain_pooled *entry, bool *kept)
{
    *kept = false;
    if (ck->queued_count >= JK_CHAIN_MAX_QUEUED)
        return JK_OK; /* bounded: the rest are dropped */
    jk_chain_pooled *grown = jk_chain_grow(ck->queued, &ck->queued_cap, ck->queued_count + 1, sizeof *grown);
    if (!grown)
        return JK_ERR_NOMEM;
    ck->queued = grown;
    grown[ck->queued_count++] = *entry;
    *kept = true;
    return JK_OK;
}
