/*
 * sigcache.c — a bounded cache of signature checks that succeeded, so that a
 * validator verifies each (key, msg_hash, sig) once: when the event arrives
 * (gossip or RPC), and not again when produce re-verifies it on a newer
 * chain state, when a rewind re-admits it, or when the block carrying it is
 * checked and imported (issues 16, 13). It never changes a result, only
 * skips recomputing one:
 *
 *   - an entry is the whole 128-byte trace (key, msg_hash, sig), written
 *     only after jk_chain_trace_check accepted exactly those bytes, and a hit
 *     compares all of them: a hit is "this very triple verified here
 *     before", with no hash to trust. A miss just verifies. What the cache
 *     holds depends on arrival order, but no decision does: every decision
 *     is "does the signature verify", answered identically on a hit.
 *   - bounded: 2 × the pool's event bound entries (JK_CHAIN_POOL_MAX_EVENTS
 *     by default: 32,768, 4 MiB), a power of two within [1,024, 131,072],
 *     allocated on first use. What it must hold is the pending events'
 *     traces, from admission to commit: the pool's bound, at half load.
 *   - placement (session 11): sets of JK_SIG_WAYS entries, and each trace
 *     has two candidate sets, both from one SipHash of the key's and the
 *     signature's first 8 bytes under a key drawn once per process (so
 *     nobody outside can aim traces at a set). An insert goes to the
 *     candidate with more empty ways; when both are full it replaces the
 *     oldest entry of the two (insertion stamps: a per-set FIFO, with the
 *     choice between two sets). Two choices keep every set's load near the
 *     mean — the max load of n traces over s sets grows as log log n, not
 *     log n / log log n — so a set overflows only when the cache is nearly
 *     full, and then the oldest goes, which is the likeliest to be
 *     committed already.
 *   - committed traces leave (jk_chain_forget_committed_sigs, called by the
 *     embedder when a block is final): only a replay asks for them again,
 *     and it verifies. So the cache holds what is pending, not the history,
 *     and the FIFO's oldest are pending too only when the pool is near its
 *     bound.
 *   (Before, session 10: one set of 8 per trace, never emptied, and a full
 *   set overwrote the way named by the signature's first byte — a random
 *   way. Once 16,384 committed traces filled every set, each insert evicted
 *   a random entry of its set, live or not: a testnet node verified ~12 %
 *   of its events' signatures twice or more, at import, produce and
 *   re-admission; docs/bench.md "Signatures once, session 11".)
 *
 * Each set's metadata is one tag per way (0: empty; else the signature's
 * first 4 bytes | 1, which tells nearly every other trace of the set apart
 * before any memcmp) and one insertion stamp per way, kept apart from the
 * traces: a lookup reads two sets' tags and a trace only when its tag
 * matches. Session 12: 32-bit tags and stamps, so that a set's metadata is
 * one cache line (64-bit ones took two: an insert read and wrote four lines
 * besides the trace, and the 4,096 sets' metadata was 512 KiB, now 256
 * KiB), and a forget clears the way's tag only (a way's trace is read only
 * after its tag matched, and a tag is never 0: the bytes left are dead),
 * so it writes one line, not three. A stamp is the insert clock's low 32
 * bits, compared by their wrapping difference: which of two entries is the
 * older is only ever asked of live entries, which are far fewer than 2^31
 * inserts apart unless one sat in a set no insert filled for two billion
 * inserts, and then the wrong one of the two is evicted — a later verify,
 * never another answer.
 *
 * Threads: lookups only read (the verify workers of verify_pool.c run while
 * nothing is inserted); inserts and forgets happen on the kernel's own
 * thread (admission, produce, import, commit).
 */
#include "internal.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define JK_SIG_WAYS 8u
#define JK_SIG_MIN_SLOTS 1024u
#define JK_SIG_MAX_SLOTS 131072u

typedef struct jk_sig_meta {
    uint32_t tag[JK_SIG_WAYS];   /* 0: empty way */
    uint32_t stamp[JK_SIG_WAYS]; /* when the way was filled (jk_chain_sigcache.clock's low bits) */
} __attribute__((aligned(64))) jk_sig_meta;

struct jk_chain_sigcache {
    size_t sets;           /* a power of two */
    uint32_t clock;        /* inserts so far, modulo 2^32 */
    jk_sig_meta *meta;     /* sets of them */
    jk_chain_trace *ways;  /* sets × JK_SIG_WAYS; one allocation with the header */
};

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

static uint32_t jk_sig_tag(const jk_chain_trace *t)
{
    uint32_t w;
    memcpy(&w, t->sig, sizeof w);
    return w | 1;
}

/* Whether stamp a was given before stamp b (wrapping: see above). */
static bool jk_sig_older(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) < 0;
}

static bool jk_sig_same(const jk_chain_trace *a, const jk_chain_trace *b)
{
    return !memcmp(a->sig, b->sig, JK_ED25519_SIG_SIZE) && !memcmp(a->key, b->key, 32) &&
           !memcmp(a->msg_hash.bytes, b->msg_hash.bytes, JK_HASH_SIZE);
}

/* t's two candidate sets (they may be the same set). 16 bytes are enough
 * to spread traces (the whole trace cost ~750 instructions a lookup): the
 * key's first 8 and the signature's. */
static void jk_sig_homes(size_t sets, const jk_chain_trace *t, size_t home[2])
{
    pthread_once(&jk_sig_once, jk_sig_sip_init);
    uint8_t in[16], h[crypto_shorthash_BYTES];
    memcpy(in, t->key, 8);
    memcpy(in + 8, t->sig, 8);
    crypto_shorthash(h, in, sizeof in, jk_sig_sip);
    uint64_t v = jk_get_u64le(h);
    home[0] = (size_t)v & (sets - 1);
    home[1] = (size_t)(v >> 32) & (sets - 1);
}

/* The way holding t (set * JK_SIG_WAYS + way), or SIZE_MAX. */
static size_t jk_sig_find(const jk_chain_sigcache *c, const jk_chain_trace *t, const size_t home[2])
{
    uint32_t tag = jk_sig_tag(t);
    for (int k = 0; k < 2; k++) {
        if (k == 1 && home[1] == home[0])
            break;
        const jk_sig_meta *m = &c->meta[home[k]];
        for (unsigned w = 0; w < JK_SIG_WAYS; w++)
            if (m->tag[w] == tag && jk_sig_same(&c->ways[home[k] * JK_SIG_WAYS + w], t))
                return home[k] * JK_SIG_WAYS + w;
    }
    return SIZE_MAX;
}

/* 2 × the pool's event bound, a power of two within the limits. */
static size_t jk_sig_slots(const jk_chain_kernel *ck)
{
    size_t want = (size_t)ck->pool_limits.max_events * 2, slots = JK_SIG_MIN_SLOTS;
    while (slots < want && slots < JK_SIG_MAX_SLOTS)
        slots *= 2;
    return slots;
}

static jk_chain_sigcache *jk_sig_new(size_t slots)
{
    size_t sets = slots / JK_SIG_WAYS;
    size_t head = (sizeof(jk_chain_sigcache) + 63) & ~(size_t)63;
    size_t size = head + sets * sizeof(jk_sig_meta) + slots * sizeof(jk_chain_trace);
    /* line-aligned, so that a set's metadata is one cache line; the ways
     * are read only once their tag says they were written */
    uint8_t *p = aligned_alloc(64, (size + 63) & ~(size_t)63);
    if (!p)
        return NULL;
    memset(p, 0, head + sets * sizeof(jk_sig_meta));
    jk_chain_sigcache *c = (jk_chain_sigcache *)p;
    c->sets = sets;
    c->meta = (jk_sig_meta *)(p + head);
    c->ways = (jk_chain_trace *)(p + head + sets * sizeof(jk_sig_meta));
    return c;
}

bool jk_chain_sig_cached(const jk_chain_kernel *ck, const jk_chain_trace *t)
{
    const jk_chain_sigcache *c = ck->sig_cache;
    if (!c)
        return false;
    size_t home[2];
    jk_sig_homes(c->sets, t, home);
    return jk_sig_find(c, t, home) != SIZE_MAX;
}

bool jk_chain_sig_ok(const jk_chain_kernel *ck, const jk_chain_trace *t)
{
    return jk_chain_sig_cached(ck, t) || jk_chain_trace_check(t) == JK_OK;
}

void jk_chain_sig_remember(jk_chain_kernel *ck, const jk_chain_trace *t)
{
    if (jk_sig_empty(t))
        return; /* never verifies; and an all-zero trace is no entry to compare */
    if (!ck->sig_cache) {
        ck->sig_cache = jk_sig_new(jk_sig_slots(ck));
        if (!ck->sig_cache)
            return; /* no cache: every check verifies */
    }
    jk_chain_sigcache *c = ck->sig_cache;
    size_t home[2];
    jk_sig_homes(c->sets, t, home);
    uint32_t now = ++c->clock;
    size_t at = jk_sig_find(c, t, home);
    if (at != SIZE_MAX) {
        /* asked again (a re-verify): it is still pending, so as young as now */
        c->meta[at / JK_SIG_WAYS].stamp[at % JK_SIG_WAYS] = now;
        return;
    }
    /* the candidate with more empty ways (the first on a tie), its first
     * empty way; both full: the older of the two sets' oldest entries */
    unsigned empty[2] = {0, 0}, first_empty[2] = {JK_SIG_WAYS, JK_SIG_WAYS}, oldest[2] = {0, 0};
    for (int k = 0; k < 2; k++) {
        const jk_sig_meta *m = &c->meta[home[k]];
        for (unsigned w = 0; w < JK_SIG_WAYS; w++) {
            if (m->tag[w] == 0) {
                if (!empty[k]++)
                    first_empty[k] = w;
            } else if (jk_sig_older(m->stamp[w], m->stamp[oldest[k]])) { /* read only when the set is full */
                oldest[k] = w;
            }
        }
    }
    int k = empty[1] > empty[0] ? 1 : 0;
    unsigned w = first_empty[k];
    if (w == JK_SIG_WAYS) { /* both full */
        k = jk_sig_older(c->meta[home[1]].stamp[oldest[1]], c->meta[home[0]].stamp[oldest[0]]) ? 1 : 0;
        w = oldest[k];
    }
    c->meta[home[k]].tag[w] = jk_sig_tag(t);
    c->meta[home[k]].stamp[w] = now;
    c->ways[home[k] * JK_SIG_WAYS + w] = *t;
}

void jk_chain_sig_forget(jk_chain_kernel *ck, const jk_chain_trace *t)
{
    jk_chain_sigcache *c = ck->sig_cache;
    if (!c)
        return;
    size_t home[2];
    jk_sig_homes(c->sets, t, home);
    size_t at = jk_sig_find(c, t, home);
    if (at == SIZE_MAX)
        return;
    c->meta[at / JK_SIG_WAYS].tag[at % JK_SIG_WAYS] = 0; /* the trace's bytes are dead */
}

void jk_chain_forget_committed_sigs(jk_chain_kernel *ck, const jk_chain_block *block)
{
    for (size_t i = 0; ck->sig_cache && i < block->trace_count; i++)
        jk_chain_sig_forget(ck, &block->traces[i]);
}

size_t jk_chain_sig_home(const jk_chain_kernel *ck, const jk_chain_trace *t)
{
    size_t home[2];
    jk_sig_homes(ck->sig_cache ? ck->sig_cache->sets : jk_sig_slots(ck) / JK_SIG_WAYS, t, home);
    return home[0];
}

size_t jk_chain_sig_entries(const jk_chain_kernel *ck)
{
    const jk_chain_sigcache *c = ck->sig_cache;
    size_t n = 0;
    for (size_t s = 0; c && s < c->sets; s++)
        for (unsigned w = 0; w < JK_SIG_WAYS; w++)
            n += c->meta[s].tag[w] != 0;
    return n;
}

void jk_chain_sig_clock_set(jk_chain_kernel *ck, uint32_t clock)
{
    if (!ck->sig_cache)
        ck->sig_cache = jk_sig_new(jk_sig_slots(ck));
    if (ck->sig_cache)
        ck->sig_cache->clock = clock;
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
