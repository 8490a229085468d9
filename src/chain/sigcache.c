/*
 * sigcache.c — a bounded cache of signature checks that succeeded, so that a
 * validator does not verify one (key, msg_hash, sig) twice: once when the
 * event arrives by gossip and again when the block carrying it is imported
 * (issue 16). It never changes a result, only skips recomputing one:
 *
 *   - an entry is the whole 128-byte trace (key, msg_hash, sig), written
 *     only after jk_chain_trace_check accepted exactly those bytes, and a hit
 *     compares all of them: a hit is "this very triple verified here
 *     before", with no hash to trust. (It held H(key ‖ msg_hash ‖ sig), 32
 *     bytes: a BLAKE2b of 128 bytes, ~1,000 instructions, at every lookup
 *     and every insert — three times for each gossiped event, ~3,400
 *     instructions of its admission; docs/bench.md "Admission, session 7".
 *     The price is memory: 2 MiB per kernel instead of 512 KiB.)
 *   - a miss just verifies; the cache is bounded (JK_CHAIN_SIG_CACHE_SLOTS
 *     entries, allocated on first use) and set-associative: JK_SIG_WAYS
 *     entries per set, the set chosen by a SipHash of the key's and the
 *     signature's first bytes under a key drawn once per process (so that nobody can aim traces at one set;
 *     all it would cost is checks again). An insert takes the set's first
 *     empty entry, and only a full set overwrites one (the way named by the
 *     signature's first byte), which only costs a later check. (It was
 *     direct-mapped: 1,000 gossiped traces in 16,384 slots collided dozens
 *     of times, and each collision cost import a full verify again — ~13%
 *     of a gossiped block's import.) An all-zero entry is empty; an all-zero
 *     trace is never stored (its key is no valid point, it never verifies);
 *   - what it holds depends on arrival order, but no decision does: every
 *     decision is "does the signature verify", answered identically on a hit.
 *
 * Threads: lookups only read (the verify workers of verify_pool.c run while
 * nothing is inserted); inserts happen on the kernel's own thread (admission,
 * produce, import).
 */
#include "internal.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define JK_SIG_WAYS 8u
#define JK_SIG_SETS (JK_CHAIN_SIG_CACHE_SLOTS / JK_SIG_WAYS)

static pthread_once_t jk_sig_once = PTHREAD_ONCE_INIT;
static uint8_t jk_sig_sip[crypto_shorthash_KEYBYTES];

static void jk_sig_sip_init(void)
{
    randombytes_buf(jk_sig_sip, sizeof jk_sig_sip);
}

static bool jk_sig_empty(const jk_chain_trace *t)
{
    static const jk_chain_trace zero;
    return memcmp(t, &zero, sizeof zero) == 0;
}

static bool jk_sig_same(const jk_chain_trace *a, const jk_chain_trace *b)
{
    /* The signature's first word tells nearly every other trace of the set
     * apart (and every empty way): three calls of memcmp for each of the 8
     * ways were ~450 instructions a lookup that misses (session 10). */
    uint64_t x, y;
    memcpy(&x, a->sig, sizeof x);
    memcpy(&y, b->sig, sizeof y);
    return x == y && !memcmp(a->sig, b->sig, JK_ED25519_SIG_SIZE) && !memcmp(a->key, b->key, 32) &&
           !memcmp(a->msg_hash.bytes, b->msg_hash.bytes, JK_HASH_SIZE);
}

/* The first entry of t's set. */
static jk_chain_trace *jk_sig_set(jk_chain_trace *cache, const jk_chain_trace *t)
{
    pthread_once(&jk_sig_once, jk_sig_sip_init);
    /* 16 bytes are enough to spread traces (the whole trace cost ~750
     * instructions a lookup): the key's first 8 and the signature's */
    uint8_t in[16], h[crypto_shorthash_BYTES];
    memcpy(in, t->key, 8);
    memcpy(in + 8, t->sig, 8);
    crypto_shorthash(h, in, sizeof in, jk_sig_sip);
    return cache + (size_t)(jk_get_u64le(h) % JK_SIG_SETS) * JK_SIG_WAYS;
}

bool jk_chain_sig_cached(const jk_chain_kernel *ck, const jk_chain_trace *t)
{
    if (!ck->sig_cache || jk_sig_empty(t))
        return false;
    const jk_chain_trace *set = jk_sig_set(ck->sig_cache, t);
    for (unsigned w = 0; w < JK_SIG_WAYS; w++)
        if (jk_sig_same(&set[w], t))
            return true;
    return false;
}

bool jk_chain_sig_ok(const jk_chain_kernel *ck, const jk_chain_trace *t)
{
    return jk_chain_sig_cached(ck, t) || jk_chain_trace_check(t) == JK_OK;
}

void jk_chain_sig_remember(jk_chain_kernel *ck, const jk_chain_trace *t)
{
    if (jk_sig_empty(t))
        return;
    if (!ck->sig_cache) {
        ck->sig_cache = calloc(JK_CHAIN_SIG_CACHE_SLOTS, sizeof *ck->sig_cache);
        if (!ck->sig_cache)
            return; /* no cache: every check verifies */
    }
    /* One pass: a set fills from its first entry and no entry is ever
     * emptied again, so the first empty entry ends the set's traces — t is
     * not among them and takes it. */
    jk_chain_trace *set = jk_sig_set(ck->sig_cache, t);
    for (unsigned w = 0; w < JK_SIG_WAYS; w++) {
        if (jk_sig_empty(&set[w])) {
            set[w] = *t;
            return;
        }
        if (jk_sig_same(&set[w], t))
            return;
    }
    set[t->sig[0] % JK_SIG_WAYS] = *t;
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
