/*
 * sigcache.c — a bounded cache of signature checks that succeeded, so that a
 * validator does not verify one (key, msg_hash, sig) twice: once when the
 * event arrives by gossip and again when the block carrying it is imported
 * (issue 16). It never changes a result, only skips recomputing one:
 *
 *   - an entry is H(key ‖ msg_hash ‖ sig), the whole 128-byte trace, and is
 *     written only after jk_chain_trace_check accepted exactly those bytes;
 *     a hit therefore means "this very triple verified here before" (to fake
 *     one, an attacker needs a BLAKE2b-256 collision);
 *   - a miss just verifies; the cache is bounded (JK_CHAIN_SIG_CACHE_SLOTS
 *     entries, 32 bytes each, allocated on first use) and set-associative:
 *     JK_SIG_WAYS entries per set, the set chosen by the key's first bytes.
 *     An insert takes the set's first empty entry, and only a full set
 *     overwrites one (the way named by the key's ninth byte), which only
 *     costs a later check. (It was direct-mapped: 1,000 gossiped traces in
 *     16,384 slots collided dozens of times, and each collision cost import a
 *     full verify again — ~13% of a gossiped block's import.) An all-zero
 *     entry is empty; an all-zero key never hits (no BLAKE2b preimage is
 *     known, but an empty entry must never read as "verified");
 *   - what it holds depends on arrival order, but no decision does: every
 *     decision is "does the signature verify", answered identically on a hit.
 *
 * Threads: lookups only read (the verify workers of verify_pool.c run while
 * nothing is inserted); inserts happen on the kernel's own thread (admission,
 * produce, import).
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static void jk_sig_key(const jk_chain_trace *t, jk_hash *out)
{
    uint8_t enc[JK_CHAIN_TRACE_SIZE];
    jk_chain_trace_encode(t, enc);
    jk_crypto_blake2b256(enc, sizeof enc, out);
}

#define JK_SIG_WAYS 8u
#define JK_SIG_SETS (JK_CHAIN_SIG_CACHE_SLOTS / JK_SIG_WAYS)

static bool jk_sig_empty(const jk_hash *k)
{
    static const jk_hash zero;
    return memcmp(k->bytes, zero.bytes, JK_HASH_SIZE) == 0;
}

/* The first entry of k's set. */
static jk_hash *jk_sig_set(jk_hash *cache, const jk_hash *k)
{
    return cache + (size_t)(jk_get_u64le(k->bytes) % JK_SIG_SETS) * JK_SIG_WAYS;
}

static bool jk_sig_cached(const jk_chain_kernel *ck, const jk_hash *k)
{
    if (!ck->sig_cache || jk_sig_empty(k))
        return false;
    const jk_hash *set = jk_sig_set(ck->sig_cache, k);
    for (unsigned w = 0; w < JK_SIG_WAYS; w++)
        if (jk_crypto_equal32(set[w].bytes, k->bytes))
            return true;
    return false;
}

bool jk_chain_sig_cached(const jk_chain_kernel *ck, const jk_chain_trace *t)
{
    if (!ck->sig_cache)
        return false;
    jk_hash k;
    jk_sig_key(t, &k);
    return jk_sig_cached(ck, &k);
}

bool jk_chain_sig_ok(const jk_chain_kernel *ck, const jk_chain_trace *t)
{
    if (ck->sig_cache) {
        jk_hash k;
        jk_sig_key(t, &k);
        if (jk_sig_cached(ck, &k))
            return true;
    }
    return jk_chain_trace_check(t) == JK_OK;
}

void jk_chain_sig_remember(jk_chain_kernel *ck, const jk_chain_trace *t)
{
    if (!ck->sig_cache) {
        ck->sig_cache = calloc(JK_CHAIN_SIG_CACHE_SLOTS, sizeof *ck->sig_cache);
        if (!ck->sig_cache)
            return; /* no cache: every check verifies */
    }
    jk_hash k;
    jk_sig_key(t, &k);
    if (jk_sig_empty(&k))
        return;
    /* One pass: a set fills from its first entry and no entry is ever
     * emptied again, so the first empty entry ends the set's keys — k is not
     * among them and takes it. */
    jk_hash *set = jk_sig_set(ck->sig_cache, &k);
    for (unsigned w = 0; w < JK_SIG_WAYS; w++) {
        if (jk_sig_empty(&set[w])) {
            set[w] = k;
            return;
        }
        if (!memcmp(set[w].bytes, k.bytes, JK_HASH_SIZE))
            return;
    }
    set[k.bytes[8] % JK_SIG_WAYS] = k;
}

bool jk_chain_find_valid(const jk_chain_kernel *ck, const jk_chain_trace *traces, size_t n,
                         const uint8_t key[JK_ED25519_PUBLIC_SIZE], const jk_hash *msg_hash, size_t *index)
{
    size_t from = 0, at;
    while (from < n && jk_chain_trace_find(traces + from, n - from, key, msg_hash, &at)) {
        if (jk_chain_sig_ok(ck, &traces[from + at])) {
            if (index)
                *index = from + at;
            return true;
        }
        from += at + 1;
    }
    return false;
}
