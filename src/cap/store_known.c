/*
 * store_known.c — the written-keys filter (docs/cap.md "Store: the
 * written-keys filter"): a bounded set of object keys the store is known
 * to hold, which answers a head commit's has() without an LMDB lookup.
 *
 * Why: a validator's commit asks has() of every object the export reaches
 * (~6 an event on the testnet's workload) and ~40 % of the answers are
 * "present": the unchanged neighbours of the changed paths, most of them
 * written or found a few commits before. Each answer was an mdb_get inside
 * the write transaction (a B-tree descent, and at every page a search of
 * the transaction's dirty list): ~2,000 instructions, against a few dozen
 * here.
 *
 * Never a wrong "present": a false one would skip a subtree the store lacks
 * and lose it. So a key enters the set only after the transaction that put
 * it, or found it present, COMMITTED (jk_cap_known_merge after mdb_txn_commit
 * returned 0; a nested commit inside a batch merges nothing: the batch may
 * still fail), and nothing is ever deleted from the objects table (no
 * garbage collection: one that deletes must empty this set). A key the set
 * lacks is looked up as before; a miss only costs the lookup. The set is in
 * memory: a reopened store starts empty. The all-zero key stands for an
 * empty slot and is never inserted or answered.
 *
 * Shape: two generations of 2^JK_KNOWN_BITS slots, open addressing indexed
 * by the key's first 8 bytes (keys are BLAKE2b outputs). Inserts go to the
 * current generation; when it is half full it becomes the old one and the
 * old one is emptied for reuse, so the set holds the keys of the last few
 * commits (~3,000 a commit of 512 events) in 2 MiB. Probes stop after
 * JK_KNOWN_PROBES slots both ways, so keys ground to collide (an attacker's
 * event bytes in a block's Data) cost at most that many tag compares and
 * only make the set miss: a lookup then takes the old path.
 */
#include "store_internal.h"

#define JK_KNOWN_SLOTS (1u << JK_KNOWN_BITS)
#define JK_KNOWN_PROBES 8u

static bool jk_known_zero(const jk_hash *h)
{
    static const uint8_t zero[JK_HASH_SIZE];
    return memcmp(h->bytes, zero, JK_HASH_SIZE) == 0;
}

static size_t jk_known_slot(const jk_hash *h) { return (size_t)(jk_rd_u64(h->bytes) & (JK_KNOWN_SLOTS - 1)); }

/* A slot's tag: 16 bits of the key other than the index's, never 0 (0
 * marks an empty slot). The tags of a generation (64 KiB) stay in cache, so
 * a key the set lacks — most questions of a commit — is answered from
 * them alone. */
static uint16_t jk_known_tag(const jk_hash *h) { return (uint16_t)(h->bytes[8] | h->bytes[9] << 8 | 1); }

bool jk_cap_known_has(const jk_known *k, const jk_hash *h)
{
    if (!k->keys[0] || jk_known_zero(h))
        return false;
    uint16_t tag = jk_known_tag(h);
    for (unsigned g = 0; g < 2; g++) {
        const uint16_t *tags = k->tags[g];
        size_t i = jk_known_slot(h);
        for (unsigned p = 0; p < JK_KNOWN_PROBES && tags[i]; p++, i = (i + 1) & (JK_KNOWN_SLOTS - 1))
            if (tags[i] == tag && memcmp(k->keys[g][i].bytes, h->bytes, JK_HASH_SIZE) == 0)
                return true;
    }
    return false;
}

/* Insert h into the current generation (rotating first when it is half
 * full); dropped when its probe run is full. */
static void jk_known_insert(jk_known *k, const jk_hash *h)
{
    if (k->count >= JK_KNOWN_SLOTS / 2) {
        k->cur ^= 1;
        memset(k->tags[k->cur], 0, JK_KNOWN_SLOTS * sizeof(uint16_t));
        k->count = 0;
    }
    uint16_t *tags = k->tags[k->cur], tag = jk_known_tag(h);
    jk_hash *keys = k->keys[k->cur];
    size_t i = jk_known_slot(h);
    for (unsigned p = 0; p < JK_KNOWN_PROBES; p++, i = (i + 1) & (JK_KNOWN_SLOTS - 1)) {
        if (!tags[i]) {
            tags[i] = tag;
            keys[i] = *h;
            k->count++;
            return;
        }
        if (tags[i] == tag && memcmp(keys[i].bytes, h->bytes, JK_HASH_SIZE) == 0)
            return;
    }
}

void jk_cap_known_note(jk_known *k, const jk_hash *h)
{
    if (k->npending == k->room) {
        if (k->room >= JK_KNOWN_SLOTS / 2)
            return; /* more than a generation holds: the rest is not kept */
        size_t room = k->room ? 2 * k->room : 1024;
        jk_hash *p = realloc(k->pending, room * sizeof *p);
        if (!p)
            return; /* the set is an optimisation: a key not kept is looked up */
        k->pending = p;
        k->room = room;
    }
    k->pending[k->npending++] = *h;
}

void jk_cap_known_merge(jk_known *k)
{
    if (!k->keys[0] && k->npending) {
        for (unsigned g = 0; g < 2; g++) {
            k->tags[g] = calloc(JK_KNOWN_SLOTS, sizeof(uint16_t));
            k->keys[g] = malloc(JK_KNOWN_SLOTS * sizeof(jk_hash));
        }
        if (!k->tags[0] || !k->tags[1] || !k->keys[0] || !k->keys[1]) {
            jk_cap_known_free(k);
            return;
        }
    }
    for (size_t i = 0; k->keys[0] && i < k->npending; i++)
        if (!jk_known_zero(&k->pending[i]))
            jk_known_insert(k, &k->pending[i]);
    k->npending = 0;
}

void jk_cap_known_drop(jk_known *k) { k->npending = 0; }

void jk_cap_known_free(jk_known *k)
{
    for (unsigned g = 0; g < 2; g++) {
        free(k->tags[g]);
        free(k->keys[g]);
    }
    free(k->pending);
    memset(k, 0, sizeof *k);
}
