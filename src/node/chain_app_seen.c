/*
 * chain_app_seen.c — the chain app's memory of the events it has seen
 * (gossip dedup by event hash, each with why it was refused when it was)
 * and the verdicts add_event gives (jk_node_chain_app_verdict; issue 13:
 * the RPC's submit_event answers each event with its own). Split from
 * chain_app.c by concern.
 */
#include "chain_app_internal.h"

#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Gossip dedup remembers this many event hashes, then starts over (the pool
 * and the chain keep their own duplicate checks; this only stops echoes).
 * The refusal reasons kept with them are one line each (jk_diag's 192
 * bytes at most): under 13 MiB when all of them were refused. */
#define JK_APP_SEEN_MAX 65536u

/* The seen set is an open-addressing hash table (linear probing, at most
 * half full): seen[i] the id in slot i, all-zero when the slot is empty (no
 * event hashes to zero: BLAKE2b-256 has no known preimage of it, and an id
 * that did would only never count as seen), seen_why[i] its reason. It was
 * a sorted array: each insert moved half of it, ~0.5 MB at 12,000 ids, which
 * cost a node more per event than the event's decode, hashing and pool
 * admission together (docs/bench.md "Admission, session 6"). Nothing
 * iterates the table in slot order to decide anything (only to free or to
 * keep the admitted ones), so its layout decides nothing a block or an
 * answer holds.
 *
 * The slot of an id is a keyed hash of it under a key drawn once per
 * process: the ids are hashes of what peers send, and a peer that could aim
 * them at one slot would make every lookup walk its run. Session 16: a
 * multilinear hash of the id's four words (S = k0 + k1·w0 + … + k4·w3 mod
 * 2^64, the multipliers odd), finished by a fixed bijective mix, places it,
 * where a SipHash of the id's first half did (~255 instructions a call
 * through libsodium, two calls an event at every node: prepare and commit;
 * now ~25). Two ids that differ in one word never meet in S (an odd
 * multiplier keeps a nonzero difference nonzero), nor then after the mix;
 * for others, whether they meet depends on the key, which no peer sees.
 * And a peer cannot choose an id's words, only grind a few dozen of its
 * 256 bits by hashing many blobs, which leaves the slot as unpredictable as
 * the key. Every byte of the id counts (the SipHash read half of it:
 * test_chain_app_seen_hash_reads_the_whole_id).
 *
 * The table is aligned to a cache line (session 12): calloc's 16-byte
 * alignment put every other id across two lines, and a lookup read up to a
 * line more than its probes need. Tags beside the ids (a probe reading ids
 * only on a tag match) were tried and measured worse for a node's mix: a
 * new id's lookup read 1.0 line instead of ~1.6, but a repeat's 2.5 instead
 * of ~1.7, and each event comes once and twice more as echoes (docs/bench.md
 * "Node bookkeeping per event, session 12"). */
static pthread_once_t jk_seen_once = PTHREAD_ONCE_INIT;
static uint64_t jk_seen_key[5];

static void jk_seen_key_init(void)
{
    randombytes_buf(jk_seen_key, sizeof jk_seen_key);
    for (int i = 1; i < 5; i++)
        jk_seen_key[i] |= 1; /* odd multipliers */
}

uint64_t jk_node_app_seen_hash(const jk_hash *id)
{
    pthread_once(&jk_seen_once, jk_seen_key_init);
    uint64_t w[4];
    memcpy(w, id->bytes, sizeof w);
    uint64_t h = jk_seen_key[0] + jk_seen_key[1] * w[0] + jk_seen_key[2] * w[1] +
                 jk_seen_key[3] * w[2] + jk_seen_key[4] * w[3];
    /* a product's low bits see only its factors' low bits, and the tables
     * take the low bits of this: a bijective finish (MurmurHash3's fmix64
     * steps) spreads every bit of the sum over all of them */
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

static size_t jk_seen_home(const jk_hash *id, size_t cap)
{
    return (size_t)jk_node_app_seen_hash(id) & (cap - 1);
}

static bool jk_seen_empty(const jk_hash *h)
{
    uint64_t w0, w1, w2, w3;
    memcpy(&w0, h->bytes, 8);
    memcpy(&w1, h->bytes + 8, 8);
    memcpy(&w2, h->bytes + 16, 8);
    memcpy(&w3, h->bytes + 24, 8);
    return (w0 | w1 | w2 | w3) == 0;
}

/* Slot where id is (*found) or would go. */
size_t jk_node_app_seen_find(const jk_node_chain_app *a, const jk_hash *id, bool *found)
{
    *found = false;
    if (a->capseen == 0 || jk_seen_empty(id))
        return 0;
    return jk_node_app_seen_find_h(a, id, jk_node_app_seen_hash(id), found);
}

size_t jk_node_app_seen_find_h(const jk_node_chain_app *a, const jk_hash *id, uint64_t h, bool *found)
{
    *found = false;
    if (a->capseen == 0 || jk_seen_empty(id))
        return 0;
    size_t mask = a->capseen - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        if (jk_seen_empty(&a->seen[i]))
            return i;
        if (memcmp(a->seen[i].bytes, id->bytes, JK_HASH_SIZE) == 0) {
            *found = true;
            return i;
        }
    }
}

void jk_node_app_seen_clear(jk_node_chain_app *a)
{
    for (size_t i = 0; i < a->capseen; i++) {
        free(a->seen_why[i]);
        a->seen_why[i] = NULL;
    }
    if (a->capseen)
        memset(a->seen, 0, a->capseen * sizeof *a->seen);
    a->nseen = 0;
    a->seen_refusals = 0;
    a->nrefused = 0;
    a->refused_lost = false;
}

void jk_node_app_refusal_id(const uint8_t *bytes, size_t len, jk_hash *out)
{
    static const char tag[] = "jark/node/refused";
    jk_crypto_hasher h;
    jk_crypto_hasher_init(&h);
    jk_crypto_hasher_update(&h, tag, sizeof tag - 1);
    jk_crypto_hasher_update(&h, bytes, len);
    (void)jk_crypto_hasher_final(&h, out);
}

/* Empty slot at and close the gap (backward-shift deletion: every id after
 * it in the run that may move closer to its home moves up). */
static void jk_seen_remove_at(jk_node_chain_app *a, size_t at)
{
    size_t mask = a->capseen - 1, i = at;
    free(a->seen_why[i]);
    for (size_t j = (i + 1) & mask; !jk_seen_empty(&a->seen[j]); j = (j + 1) & mask) {
        size_t k = jk_seen_home(&a->seen[j], a->capseen);
        /* j's id may fill i when its home k is not cyclically in (i, j] */
        bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (stays)
            continue;
        a->seen[i] = a->seen[j];
        a->seen_why[i] = a->seen_why[j];
        i = j;
    }
    memset(&a->seen[i], 0, sizeof a->seen[i]);
    a->seen_why[i] = NULL;
    a->nseen--;
}

void jk_node_app_seen_forget(jk_node_chain_app *a, const jk_hash *id)
{
    bool found;
    size_t at = jk_node_app_seen_find(a, id, &found);
    if (found)
        jk_seen_remove_at(a, at);
}

/* Place id (not in the table, a free slot exists; h its
 * jk_node_app_seen_hash) with its reason. */
static void jk_seen_place_h(jk_hash *seen, char **why, size_t cap, const jk_hash *id, uint64_t h,
                            char *reason)
{
    size_t i = (size_t)h & (cap - 1);
    while (!jk_seen_empty(&seen[i]))
        i = (i + 1) & (cap - 1);
    seen[i] = *id;
    why[i] = reason;
}

static void jk_seen_place(jk_hash *seen, char **why, size_t cap, const jk_hash *id, char *reason)
{
    jk_seen_place_h(seen, why, cap, id, jk_node_app_seen_hash(id), reason);
}

/* Move the table's ids into a table of cap slots, keeping the refused ones
 * only when keep_refused (their reasons are freed otherwise).
 * @return JK_OK; JK_ERR_NOMEM (the table unchanged). */
static jk_err jk_seen_rehash(jk_node_chain_app *a, size_t cap, bool keep_refused)
{
    jk_hash *s = aligned_alloc(64, cap * sizeof *s); /* cap ≥ 256: a multiple of 64 bytes */
    char **w = calloc(cap, sizeof *w);
    if (!s || !w) {
        free(s);
        free(w);
        return JK_ERR_NOMEM;
    }
    memset(s, 0, cap * sizeof *s);
    size_t n = 0;
    for (size_t i = 0; i < a->capseen; i++) {
        if (jk_seen_empty(&a->seen[i]))
            continue;
        if (a->seen_why[i] && !keep_refused) {
            free(a->seen_why[i]);
            continue;
        }
        jk_seen_place(s, w, cap, &a->seen[i], a->seen_why[i]);
        n++;
    }
    free(a->seen);
    free(a->seen_why);
    a->seen = s;
    a->seen_why = w;
    a->capseen = cap;
    a->nseen = n;
    return JK_OK;
}

/* A refusal is verify's answer on one chain state: once the head moves, a
 * later copy of the event is judged afresh (an early nonce may have become
 * valid; outsider5 found a chain whose users could never resend one). The
 * admitted ones stay, to stop echoes. This costs a peer nothing it could not
 * have by sending fresh invalid events, which are verified once each too.
 * Without the memory for a fresh table every id is forgotten (the pool and
 * the chain still refuse a repeat of an admitted one). */
void jk_node_app_seen_forget_refused(jk_node_chain_app *a)
{
    /* Each refused id removed alone: the commit's cost follows the height's
     * refusals, not the table (up to JK_APP_SEEN_MAX ids, all rehashed at
     * every commit before session 8: ~1 % of a loaded node). */
    if (!a->seen_refusals) {
        /* nothing refused since the last commit */
    } else if (!a->refused_lost) {
        for (size_t k = 0; k < a->nrefused; k++) {
            bool found;
            size_t at = jk_node_app_seen_find(a, &a->refused[k], &found);
            if (found && a->seen_why[at]) /* still a refusal (not admitted since) */
                jk_seen_remove_at(a, at);
        }
    } else {
        a->stats.seen_rebuilds++;
        if (a->capseen && jk_seen_rehash(a, a->capseen, false) != JK_OK)
            jk_node_app_seen_clear(a);
    }
    a->seen_refusals = 0;
    a->nrefused = 0;
    a->refused_lost = false;
}

/* A refusal stored under id: counted, and its id kept for the commit that
 * forgets it (refused_lost when the list cannot grow). */
static void jk_seen_note_refusal(jk_node_chain_app *a, const jk_hash *id)
{
    a->seen_refusals++;
    if (a->nrefused == a->caprefused) {
        size_t cap = a->caprefused ? 2 * a->caprefused : 64;
        jk_hash *p = realloc(a->refused, cap * sizeof *p);
        if (!p) {
            a->refused_lost = true;
            return;
        }
        a->refused = p;
        a->caprefused = cap;
    }
    a->refused[a->nrefused++] = *id;
}

/* Remember id (h: its jk_node_app_seen_hash) as seen: admitted (why NULL)
 * or refused for this reason (copied), replacing what was remembered for
 * it. The hash is the caller's when it has it (a commit's block ids: one
 * hash an id for the pending drop and this, where the find and the place
 * each computed one). */
static jk_err jk_seen_add_h(jk_node_chain_app *a, const jk_hash *id, uint64_t h, const char *why)
{
    if (jk_seen_empty(id))
        return JK_OK; /* cannot be stored (the empty mark): never seen */
    char *copy = NULL;
    if (why) {
        size_t n = strlen(why) + 1;
        copy = malloc(n);
        if (!copy)
            return JK_ERR_NOMEM;
        memcpy(copy, why, n);
    }
    bool found;
    size_t at = jk_node_app_seen_find_h(a, id, h, &found);
    if (found) {
        free(a->seen_why[at]);
        a->seen_why[at] = copy;
        if (copy)
            jk_seen_note_refusal(a, id);
        return JK_OK;
    }
    if (a->nseen >= JK_APP_SEEN_MAX)
        jk_node_app_seen_clear(a);
    if (2 * (a->nseen + 1) > a->capseen) {
        jk_err err = jk_seen_rehash(a, a->capseen ? 2 * a->capseen : 256, true);
        if (err != JK_OK) {
            free(copy);
            return err;
        }
    }
    jk_seen_place_h(a->seen, a->seen_why, a->capseen, id, h, copy);
    a->nseen++;
    if (copy)
        jk_seen_note_refusal(a, id);
    return JK_OK;
}

jk_err jk_node_app_seen_add(jk_node_chain_app *a, const jk_hash *id, const char *why)
{
    return jk_seen_add_h(a, id, jk_node_app_seen_hash(id), why);
}

jk_err jk_node_app_seen_add_h(jk_node_chain_app *a, const jk_hash *id, uint64_t h)
{
    return jk_seen_add_h(a, id, h, NULL);
}

/* verify's own FAULT (JK_FAULT_GUEST) reaches the chain layer's reason as
 * "verify did not HALT: program fault, reason N: TEXT" (src/kernel's FAULT
 * host call, src/chain's verify): its code N, when why is that. */
void jk_node_app_verdict_code(jk_node_event_verdict *v, const char *why)
{
    static const char pre[] = "verify did not HALT: program fault, reason ";
    v->has_code = false;
    v->code = 0;
    if (strncmp(why, pre, sizeof pre - 1) != 0)
        return;
    const char *p = why + sizeof pre - 1;
    uint64_t code = 0;
    size_t digits = 0;
    for (; *p >= '0' && *p <= '9' && digits < 20; p++, digits++) {
        uint64_t d = (uint64_t)(*p - '0');
        if (code > (UINT64_MAX - d) / 10)
            return;
        code = code * 10 + d;
    }
    if (digits == 0 || *p != ':')
        return;
    v->has_code = true;
    v->code = code;
}

void jk_node_app_text_copy(char *out, size_t cap, const char *text)
{
    size_t n = strnlen(text, cap - 1);
    memcpy(out, text, n);
    out[n] = '\0';
}

/* Every echo (a copy of a pooled event another peer relays: ~2 a node an
 * event) is answered "already in the pool": vsnprintf of the fixed text,
 * and the chain app's note of it, cost ~1,000 instructions a copy
 * (docs/bench.md "CPU per event, session 13"). */
void jk_node_app_verdict_text(jk_node_event_verdict *v, jk_node_verdict_kind kind, const char *text)
{
    v->kind = kind;
    jk_node_app_text_copy(v->reason, sizeof v->reason, text);
}

void jk_node_app_verdict_set(jk_node_event_verdict *v, jk_node_verdict_kind kind,
                             const char *fmt, ...)
{
    v->kind = kind;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->reason, sizeof v->reason, fmt, ap);
    va_end(ap);
}

/* Why an event seen before is not admitted again: still pooled, refused
 * when first seen (with that refusal's reason and code), or admitted and
 * since gone from the pool into a committed block (a dispatch event leaves
 * the pool at the next commit: it was for that height). */
void jk_node_app_repeat_verdict(const jk_node_chain_app *a, const jk_hash *id, size_t at,
                                jk_node_event_verdict *v)
{
    /* What the Kernel's pool or dispatch buffer holds was admitted here and
     * waits for a block: pending, found in O(1). That is nearly every echo
     * (a copy of an event another peer relays), which scanned the whole
     * pending list: 10,700 instructions a copy with 2,048 pending, more than
     * the event's decode, hashing and admission together (docs/bench.md
     * "Admission, session 7"). Only the rest (in a proposed block,
     * committed, refused) is looked for in the list. */
    if (!a->seen_why[at] && jk_chain_holds_event(a->v->ck, id)) {
        jk_node_app_verdict_text(v, JK_NODE_VERDICT_IN_POOL, "already in the pool");
        return;
    }
    for (size_t i = 0; i < a->npending; i++)
        if (memcmp(a->pending[i].id.bytes, id->bytes, JK_HASH_SIZE) == 0) {
            jk_node_app_verdict_text(v, JK_NODE_VERDICT_IN_POOL, "already in the pool");
            return;
        }
    if (a->seen_why[at]) {
        jk_node_app_verdict_set(v, JK_NODE_VERDICT_REFUSED_BEFORE,
                                "already refused when first seen: %s", a->seen_why[at]);
        jk_node_app_verdict_code(v, a->seen_why[at]);
    } else {
        jk_node_app_verdict_text(v, JK_NODE_VERDICT_COMMITTED,
                                 "already committed: a block of this chain holds it (or, a "
                                 "dispatch event, processed at the height it arrived in)");
    }
}

bool jk_node_chain_app_verdict(const jk_node_chain_app *a, const jk_hash *id,
                               jk_node_event_verdict *out)
{
    if (!a->has_last || a->last.kind == JK_NODE_VERDICT_MALFORMED ||
        memcmp(a->last.id.bytes, id->bytes, JK_HASH_SIZE) != 0)
        return false;
    *out = a->last;
    return true;
}

void jk_node_chain_app_verdict_clear(jk_node_chain_app *a)
{
    a->has_last = false;
}

bool jk_node_chain_app_verdict_take(const jk_node_chain_app *a, jk_node_event_verdict *out)
{
    if (!a->has_last || a->last.kind == JK_NODE_VERDICT_MALFORMED)
        return false;
    *out = a->last;
    return true;
}

/* The admitted id's slot is where the find before it stopped, unless the
 * table must start over or grow first (then the whole add). */
jk_err jk_node_app_seen_add_at(jk_node_chain_app *a, const jk_hash *id, size_t at)
{
    if (a->capseen == 0 || jk_seen_empty(id) || a->nseen >= JK_APP_SEEN_MAX ||
        2 * (a->nseen + 1) > a->capseen || at >= a->capseen || !jk_seen_empty(&a->seen[at]))
        return jk_node_app_seen_add(a, id, NULL);
    a->seen[at] = *id;
    a->seen_why[at] = NULL;
    a->nseen++;
    return JK_OK;
}
