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
 *   - a miss just verifies; the cache is direct-mapped and bounded
 *     (JK_CHAIN_SIG_CACHE_SLOTS entries, 32 bytes each, allocated on first
 *     use); a colliding entry is overwritten, which only costs a later check;
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

static size_t jk_sig_slot(const jk_hash *k)
{
    return (size_t)(jk_get_u64le(k->bytes) % JK_CHAIN_SIG_CACHE_SLOTS);
}

bool jk_chain_sig_ok(const jk_chain_kernel *ck, const jk_chain_trace *t)
{
    if (ck->sig_cache) {
        jk_hash k;
        jk_sig_key(t, &k);
        if (jk_crypto_equal32(ck->sig_cache[jk_sig_slot(&k)].bytes, k.bytes))
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
    ck->sig_cache[jk_sig_slot(&k)] = k;
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
