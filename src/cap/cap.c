/*
 * cap.c — what every cap kind shares: counted objects (allocation, retain,
 * release, the per-thread free lists), the per-type free, the public cap
 * calls, the kernel ABI identity, and the test counters. Children, encoding,
 * the lazily cached hash and the writer are in cap_hash.c.
 *
 * The switch on an object's type lives here, once per operation; each type's
 * file implements the cases.
 */
#include "internal.h"

#include <pthread.h>
#include <stdio.h>

atomic_uint_fast64_t jk_cap_stat_page, jk_cap_stat_node, jk_cap_stat_root,
    jk_cap_stat_verify;
/* Where an exited thread's hash counts go, by kind (0 page, 1 node, 2 root). */
static atomic_uint_fast64_t *const jk_hash_retired[3] = {&jk_cap_stat_page, &jk_cap_stat_node,
                                                         &jk_cap_stat_root};

/* ---- the per-thread free lists ----
 * Cap objects are small, of one size per type (two for CNode nodes), and made
 * and dropped by the hundred per verified event (issue 16): a path copy is
 * eight CNode nodes, and a dropped tree frees dozens at once, more than
 * glibc's per-thread cache holds (7 a size), so most went through malloc's
 * slower bins. A freed object goes on its list in the freeing thread's cache
 * instead, and an allocation of that type takes it back. Data page buffers
 * (4 KiB) and small page buffers (size classes of 64..1024 bytes) go the same
 * way. One mechanism for all of them (session 8; three before): a list per
 * kind of block, linked through each dead block's first word, a count bound
 * per list where one kind must not crowd out the others (pages, small
 * buffers), and one byte budget for the thread's lists together. The budget,
 * not a count per type, bounds the objects (session 8): a batch of 1,000
 * verified events frees ~12 k objects at its end, most of them CNode nodes
 * of one size, and a bound of 4,096 a type sent thousands of them back to
 * malloc, to be malloc'd again by the next batch (docs/cap.md "Allocation").
 * Which thread made a block does not matter: memory is memory, and a block
 * on a list is dead (its last reference dropped, nothing else names it). A
 * thread's lists are freed when it exits (a pthread key's destructor). Under
 * AddressSanitizer the lists are off, so a use after free is still caught. */
#if defined(__SANITIZE_ADDRESS__)
#define JK_OBJ_CACHE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define JK_OBJ_CACHE 0
#endif
#endif
#ifndef JK_OBJ_CACHE
#define JK_OBJ_CACHE 1
#endif

#define JK_OBJ_TYPES 9          /* object lists: enum jk_obj_type (0 unused) and
                                   JK_OBJ_LIST_SKIP */
#define JK_OBJ_LIST_SKIP 8      /* CNode nodes with a read index (jk_cnode_skip_node):
                                   another size than their type's others */
#define JK_LIST_PAGE JK_OBJ_TYPES           /* Data page buffers, zero but the link word */
#define JK_LIST_SMALL (JK_OBJ_TYPES + 1)    /* + k: small page buffers of 64 << k bytes */
#define JK_SMALL_CLASSES 5      /* 64, 128, 256, 512, 1024 bytes */
#define JK_LISTS (JK_LIST_SMALL + JK_SMALL_CLASSES)
#define JK_PAGE_CACHE_MAX 64u   /* page buffers per thread (256 KiB) */
#define JK_SMALL_CACHE_MAX 512u /* buffers per class and thread (under 1 MiB in all) */

typedef struct jk_flist {
    void *head;                 /* each dead block's first word links the next */
    uint32_t count;
} jk_flist;

/* The chains of the thread's stash (below). */
#define JK_STASH_WAYS 4

typedef struct jk_obj_cache {
    jk_flist list[JK_LISTS];
    size_t bytes;               /* on all lists together: at most JK_CACHE_BYTES */
    bool registered;            /* the exit destructor knows this thread's cache */
    /* live objects: this thread's allocations minus its frees (negative when
     * it frees what others made). Only this thread writes it, with a plain
     * load and store (no locked read-modify-write: issue 16, two per object
     * made and dropped); jk_cap_stats_get reads it from another thread, hence
     * atomic. `live_on`: the thread is on jk_live_threads. */
    atomic_int_fast64_t live;
    /* hashes computed on this thread, per jk_cap_stats field (page, node,
     * root): counted like `live`, for the same reason (one locked add per
     * hash, ~17 k a block) */
    atomic_uint_fast64_t hashes[3];
    bool live_on;
    struct jk_obj_cache *live_prev, *live_next;
    /* pruned CNode chains kept for the writes that refill them
     * (jk_cap_chain_stash): a few, each its top, height and path bits;
     * stash_next: the way the next new chain replaces when all are taken */
    uint32_t stash_key[JK_STASH_WAYS]; /* jk_stash_key(h, bits); 0: an empty way */
    jk_cnode_node *stash_top[JK_STASH_WAYS];
    unsigned stash_next;
    /* dead objects whose own references are still to be dropped
     * (jk_cap_release_later, session 10): linked through their hash
     * fields, which a dead object no longer needs; each allocation on this
     * thread frees a few of them (jk_later_step) */
    jk_obj *later;
    size_t nlater;
} jk_obj_cache;

/* The bytes of one block on each list (what the budget counts). */
static const uint32_t jk_list_block[JK_LISTS] = {
    [JK_OBJ_DATA] = sizeof(jk_data_body),
    [JK_OBJ_CNODE] = sizeof(jk_cnode_body),
    [JK_OBJ_IMAGE] = sizeof(jk_image_body),
    [JK_OBJ_INSTANCE] = sizeof(jk_instance_body),
    [JK_OBJ_DPAGE] = sizeof(jk_dnode),
    [JK_OBJ_DNODE] = sizeof(jk_dnode),
    [JK_OBJ_CNODE_NODE] = sizeof(jk_cnode_node),
    [JK_OBJ_LIST_SKIP] = sizeof(jk_cnode_skip_node),
    [JK_LIST_PAGE] = JK_CAP_PAGE_SIZE,
    [JK_LIST_SMALL] = 64, [JK_LIST_SMALL + 1] = 128, [JK_LIST_SMALL + 2] = 256,
    [JK_LIST_SMALL + 3] = 512, [JK_LIST_SMALL + 4] = 1024,
};
_Static_assert(JK_LIST_SMALL + 4 == JK_LISTS - 1 && 64u << 4 == JK_CAP_SMALL_PAGE,
               "the small classes end at JK_CAP_SMALL_PAGE");
/* Whether list l is full by its own bound: only the buffer lists have one
 * (objects: the budget alone). */
static inline bool jk_list_full(const jk_flist *list, unsigned l)
{
    return l >= JK_LIST_PAGE && list->count >= (l == JK_LIST_PAGE ? JK_PAGE_CACHE_MAX : JK_SMALL_CACHE_MAX);
}

static _Thread_local jk_obj_cache jk_cache;
static pthread_key_t jk_cache_key;
static pthread_once_t jk_cache_once = PTHREAD_ONCE_INIT;
static bool jk_cache_key_ok;

/* ---- the live-object count (jk_cap_stats.live_objects) ----
 * Per thread, summed on read: the sum over the threads on jk_live_threads
 * plus jk_live_retired, what threads that exited left (their allocations
 * minus their frees). A thread joins the list on its first allocation or
 * free (jk_live_join) and leaves it in its exit destructor (jk_cache_flush),
 * both under jk_live_lock; if it cannot join (no pthread key), it counts
 * straight into jk_live_retired with an atomic add, as every thread used to.
 * The count only feeds tests and benches (leak checks); no result reads it. */
static pthread_mutex_t jk_live_lock = PTHREAD_MUTEX_INITIALIZER;
static jk_obj_cache *jk_live_threads;
static atomic_int_fast64_t jk_live_retired;

static void jk_live_leave(jk_obj_cache *c)
{
    if (!c->live_on)
        return;
    pthread_mutex_lock(&jk_live_lock);
    atomic_fetch_add_explicit(&jk_live_retired, atomic_load_explicit(&c->live, memory_order_relaxed),
                              memory_order_relaxed);
    atomic_store_explicit(&c->live, 0, memory_order_relaxed);
    for (int i = 0; i < 3; i++) {
        atomic_fetch_add_explicit(jk_hash_retired[i], atomic_load_explicit(&c->hashes[i], memory_order_relaxed),
                                  memory_order_relaxed);
        atomic_store_explicit(&c->hashes[i], 0, memory_order_relaxed);
    }
    if (c->live_prev)
        c->live_prev->live_next = c->live_next;
    else
        jk_live_threads = c->live_next;
    if (c->live_next)
        c->live_next->live_prev = c->live_prev;
    c->live_prev = c->live_next = NULL;
    c->live_on = false;
    pthread_mutex_unlock(&jk_live_lock);
}

static void jk_stash_drop(jk_obj_cache *c);
static void jk_later_drain(jk_obj_cache *c);
static void jk_later_step(jk_obj_cache *c, size_t max);
/* objects a cap allocation frees from the thread's later list (below) */
#define JK_LATER_STEP 2

static void jk_cache_flush(void *arg)
{
    jk_obj_cache *c = arg;
    jk_later_drain(c); /* onto the lists, freed below */
    jk_live_leave(c);
    jk_stash_drop(c); /* onto the lists, freed below */
    for (unsigned l = 0; l < JK_LISTS; l++) {
        while (c->list[l].head) {
            void *o = c->list[l].head;
            memcpy(&c->list[l].head, o, sizeof(void *));
            free(o);
        }
        c->list[l].count = 0;
    }
    c->bytes = 0;
    c->registered = false;
}

static void jk_cache_key_make(void)
{
    jk_cache_key_ok = pthread_key_create(&jk_cache_key, jk_cache_flush) == 0;
}

/* The exit destructor knows this thread's cache; false: it cannot. */
static bool jk_cache_register(jk_obj_cache *c)
{
    if (!c->registered) {
        pthread_once(&jk_cache_once, jk_cache_key_make);
        if (!jk_cache_key_ok || pthread_setspecific(jk_cache_key, c) != 0)
            return false;
        c->registered = true;
    }
    return true;
}

/* Put this thread on jk_live_threads; false: it cannot have an exit
 * destructor, so it must not (its count would outlive it). */
static __attribute__((noinline)) bool jk_live_join(jk_obj_cache *c)
{
    if (!jk_cache_register(c))
        return false;
    pthread_mutex_lock(&jk_live_lock);
    c->live_prev = NULL;
    c->live_next = jk_live_threads;
    if (jk_live_threads)
        jk_live_threads->live_prev = c;
    jk_live_threads = c;
    c->live_on = true;
    pthread_mutex_unlock(&jk_live_lock);
    return true;
}

/* Count `d` (+1 or -1) live objects on this thread. */
static inline void jk_live_add(jk_obj_cache *c, int d)
{
    if (__builtin_expect(!c->live_on, 0) && !jk_live_join(c)) {
        atomic_fetch_add_explicit(&jk_live_retired, d, memory_order_relaxed);
        return;
    }
    atomic_store_explicit(&c->live, atomic_load_explicit(&c->live, memory_order_relaxed) + d,
                          memory_order_relaxed);
}

/* Count a hash of kind k (0 page, 1 node, 2 root) on this thread. */
void jk_cap_hash_count(int k)
{
    jk_obj_cache *c = &jk_cache;
    if (__builtin_expect(!c->live_on, 0) && !jk_live_join(c)) {
        atomic_fetch_add_explicit(jk_hash_retired[k], 1, memory_order_relaxed);
        return;
    }
    atomic_store_explicit(&c->hashes[k], atomic_load_explicit(&c->hashes[k], memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

/* The hash counts: what exited threads left plus every live thread's. */
static void jk_hash_sums(uint64_t out[3])
{
    pthread_mutex_lock(&jk_live_lock);
    for (int i = 0; i < 3; i++) {
        out[i] = atomic_load_explicit(jk_hash_retired[i], memory_order_relaxed);
        for (jk_obj_cache *c = jk_live_threads; c; c = c->live_next)
            out[i] += atomic_load_explicit(&c->hashes[i], memory_order_relaxed);
    }
    pthread_mutex_unlock(&jk_live_lock);
}

static int64_t jk_live_sum(void)
{
    pthread_mutex_lock(&jk_live_lock);
    int64_t n = atomic_load_explicit(&jk_live_retired, memory_order_relaxed);
    for (jk_obj_cache *c = jk_live_threads; c; c = c->live_next)
        n += atomic_load_explicit(&c->live, memory_order_relaxed);
    pthread_mutex_unlock(&jk_live_lock);
    return n;
}

/* A dead block from list l of this thread's cache; NULL: the list is empty. */
static inline void *jk_list_pop(jk_obj_cache *c, unsigned l)
{
    void *p = c->list[l].head;
    if (JK_OBJ_CACHE && p) {
        memcpy(&c->list[l].head, p, sizeof(void *));
        c->list[l].count--;
        c->bytes -= jk_list_block[l];
        return p;
    }
    return NULL;
}

/* Whether list l of this thread's cache takes one more block: false when
 * the list or the budget is full (or the cache is off). */
static inline bool jk_list_room(jk_obj_cache *c, unsigned l)
{
    return JK_OBJ_CACHE && !jk_list_full(&c->list[l], l) && c->bytes + jk_list_block[l] <= JK_CACHE_BYTES &&
           jk_cache_register(c);
}

/* Put dead block p on list l of this thread's cache; false: no room
 * (jk_list_room), so the caller frees it. */
static inline bool jk_list_push(jk_obj_cache *c, unsigned l, void *p)
{
    if (!jk_list_room(c, l))
        return false;
    memcpy(p, &c->list[l].head, sizeof(void *));
    c->list[l].head = p;
    c->list[l].count++;
    c->bytes += jk_list_block[l];
    return true;
}

/* ---- a pruned CNode chain, kept for the write that refills it ----
 * (cnode.c, session 9). A write of the null cap that empties a slot frees
 * the chain of nodes above it that held nothing else (the canonical form);
 * the demo's DROP then DATA_MINT of a bucket writes the same slot again at
 * once, and made the same chain anew. The emptied chain, detached from its
 * tree (no holder but this thread, no reference to anything: its leaf's
 * slots are empty), waits here (a few per thread), and the next write into
 * an empty subtree of the same height along the same path takes it back. Its
 * nodes count as dead while they wait (jk_cap_stats.live_objects), as on
 * the free lists. */
/* A chain's key: its height (1..16) and path bits (below 2^16), never 0. */
static inline uint32_t jk_stash_key(unsigned h, uint32_t bits) { return (uint32_t)h << 17 | bits; }

/* The way holding key (0: an empty way), or -1. */
static inline int jk_stash_find(const jk_obj_cache *c, uint32_t key)
{
    for (int k = 0; k < JK_STASH_WAYS; k++)
        if (c->stash_key[k] == key)
            return k;
    return -1;
}

static void jk_stash_drop_way(jk_obj_cache *c, int k)
{
    uint32_t key = c->stash_key[k], bits = key & ((1u << 17) - 1);
    jk_cnode_node *n = c->stash_top[k];
    for (unsigned l = key >> 17; n && l >= 1; l--) {
        jk_cnode_node *below = l > 1 ? n->u.kid[(bits >> (l - 1)) & 1] : NULL;
        if (!jk_list_push(c, jk_cnode_has_skip(l) ? JK_OBJ_LIST_SKIP : JK_OBJ_CNODE_NODE, n))
            free(n);
        n = below;
    }
    c->stash_key[k] = 0;
    c->stash_top[k] = NULL;
}

static void jk_stash_drop(jk_obj_cache *c)
{
    for (int k = 0; k < JK_STASH_WAYS; k++)
        if (c->stash_key[k])
            jk_stash_drop_way(c, k);
}

static void jk_stash_put(jk_obj_cache *c, int k, jk_cnode_node *top, unsigned h, uint32_t key)
{
    c->stash_key[k] = key;
    c->stash_top[k] = top;
    jk_live_add(c, -(int)h);
}

/* Session 14: a few chains, not one. A verify run empties its scratchpad's
 * path (height 2), and its attest request (height 1) and event cnode
 * (height 8, one slot of 256) die with one path each
 * (jk_cap_cnode_body_free keeps such a tree here: jk_cap_chain_keep); the
 * next run writes each again, in the same order. One way kept only the
 * last of them, which the next run's first write replaced before its match
 * came. */
void jk_cap_chain_stash(jk_cnode_node *top, unsigned h, uint32_t bits)
{
    jk_obj_cache *c = &jk_cache;
    if (!jk_cache_register(c)) { /* no exit destructor to free it: freed now */
        jk_cap_obj_release(&top->o);
        return;
    }
    uint32_t key = jk_stash_key(h, bits);
    int k = jk_stash_find(c, key); /* the same chain: one kept */
    if (k < 0)
        k = jk_stash_find(c, 0);
    if (k < 0) {
        k = (int)c->stash_next;
        c->stash_next = (c->stash_next + 1) % JK_STASH_WAYS;
    }
    if (c->stash_key[k])
        jk_stash_drop_way(c, k);
    jk_stash_put(c, k, top, h, key);
}

bool jk_cap_chain_keep(jk_cnode_node *top, unsigned h, uint32_t bits)
{
    jk_obj_cache *c = &jk_cache;
    uint32_t key = jk_stash_key(h, bits);
    int k;
    if (jk_stash_find(c, key) >= 0 || (k = jk_stash_find(c, 0)) < 0 || !jk_cache_register(c))
        return false;
    jk_stash_put(c, k, top, h, key);
    return true;
}

jk_cnode_node *jk_cap_chain_unstash(unsigned h, uint32_t bits)
{
    jk_obj_cache *c = &jk_cache;
    int k = jk_stash_find(c, jk_stash_key(h, bits));
    if (k < 0)
        return NULL;
    jk_cnode_node *top = c->stash_top[k];
    c->stash_key[k] = 0;
    c->stash_top[k] = NULL;
    jk_live_add(c, (int)h);
    return top;
}

void jk_cap_cache_usage(size_t *blocks, size_t *bytes)
{
    jk_obj_cache *c = &jk_cache;
    size_t n = 0;
    for (unsigned l = 0; l < JK_LISTS; l++)
        n += c->list[l].count;
    *blocks = n;
    *bytes = c->bytes;
}

/* The list an object of `type` and `size` bytes goes on: its type's, but CNode
 * nodes come in two sizes (with and without the read index). */
static inline unsigned jk_obj_list(uint8_t type, size_t size)
{
    return type == JK_OBJ_CNODE_NODE && size == sizeof(jk_cnode_skip_node) ? JK_OBJ_LIST_SKIP : type;
}

/* ---- counted objects ---- */

/* A Data page buffer (JK_CAP_PAGE_SIZE bytes, page-aligned), all zero. One
 * from the thread's cache is zero but for its link word (jk_cap_page_drop keeps
 * it so), so a small Data pays for its bytes, not for 4 KiB of memset and an
 * aligned_alloc (issue 16: three a gossiped event). */
uint8_t *jk_cap_page_zeroed(void)
{
    uint8_t *p = jk_list_pop(&jk_cache, JK_LIST_PAGE);
    if (p) {
        memset(p, 0, sizeof(void *));
        return p;
    }
    p = aligned_alloc(JK_CAP_PAGE_SIZE, JK_CAP_PAGE_SIZE);
    if (p)
        memset(p, 0, JK_CAP_PAGE_SIZE);
    return p;
}

/* Give back a page buffer whose bytes past `used` are all zero. */
void jk_cap_page_drop(uint8_t *p, size_t used)
{
    jk_obj_cache *c = &jk_cache;
    if (!p)
        return;
    if (!jk_list_room(c, JK_LIST_PAGE)) {
        free(p);
        return;
    }
    memset(p, 0, used); /* a listed page is zero but its link word */
    jk_list_push(c, JK_LIST_PAGE, p);
}

/* Small page buffers (a Data's last page of at most JK_CAP_SMALL_PAGE bytes,
 * docs/cap.md "Small pages"): every ledger record a block writes is one, so
 * a gossiped import made and dropped ~5,000 of them through malloc and free
 * (issue 16, session 7). A buffer of n bytes comes from size class
 * 64 · 2^k ≥ n on this thread's list, the way objects do; which thread
 * frees it does not matter. Without the cache (AddressSanitizer) it is
 * exactly n bytes, so an overrun is still caught. */
static unsigned jk_small_class(size_t len)
{
    return len <= 64 ? 0 : (unsigned)(64 - __builtin_clzll((unsigned long long)len - 1)) - 6;
}

uint8_t *jk_cap_small_alloc(size_t len)
{
    assert(len >= 1 && len <= JK_CAP_SMALL_PAGE);
    if (!JK_OBJ_CACHE)
        return malloc(len);
    unsigned k = jk_small_class(len);
    uint8_t *p = jk_list_pop(&jk_cache, JK_LIST_SMALL + k);
    return p ? p : malloc((size_t)64 << k);
}

void jk_cap_small_drop(uint8_t *p, size_t len)
{
    if (p && !jk_list_push(&jk_cache, JK_LIST_SMALL + jk_small_class(len), p))
        free(p);
}

/* Zero a new object of `size` bytes (all but a skip node's index, which its
 * maker writes: cnode.c) and give it its one reference. The tree nodes'
 * sizes as constants, so that the zeroing is a few stores inline rather
 * than a call into memset (every path copy makes several, issue 16); keyed
 * on the size, so always the right count. */
static inline __attribute__((always_inline)) jk_obj *jk_obj_init(jk_obj *o, size_t size, uint8_t type)
{
    if (size == sizeof(jk_cnode_node) || size == sizeof(jk_cnode_skip_node))
        memset(o, 0, sizeof(jk_cnode_node));
    else if (size == sizeof(jk_dnode))
        memset(o, 0, sizeof(jk_dnode));
    else if (size == sizeof(jk_cnode_body))
        memset(o, 0, sizeof(jk_cnode_body));
    else if (size == sizeof(jk_data_body))
        memset(o, 0, sizeof(jk_data_body));
    else
        memset(o, 0, size);
    atomic_init(&o->refs, 1);
    atomic_init(&o->hstate, JK_HASH_NONE);
    o->type = type;
    return o;
}

/* jk_cap_obj_alloc when its fast path cannot serve: the later list to step
 * first, the type's list empty (malloc), or the thread not yet counted. */
static __attribute__((noinline)) void *jk_obj_alloc_slow(jk_obj_cache *c, size_t size, uint8_t type)
{
    /* malloc + memset rather than calloc: glibc's calloc bypasses the
     * per-thread cache (tcache) that malloc and free use. The empty asm
     * hides where o came from, or the compiler folds the pair back into
     * calloc. */
    if (c->later != NULL)
        jk_later_step(c, JK_LATER_STEP); /* before the pop: it may feed the list */
    jk_obj *o = jk_list_pop(c, jk_obj_list(type, size));
    if (!o) {
        o = malloc(size);
        if (!o)
            return NULL;
    }
    __asm__("" : "+r"(o));
    jk_obj_init(o, size, type);
    jk_live_add(c, 1);
    return o;
}

void *jk_cap_obj_alloc(size_t size, uint8_t type)
{
    /* A dead object of this type from the thread's cache. Every caller
     * passes its type's one size (CNode nodes one of two: jk_obj_list keeps
     * them apart), so a cached object fits. The common case — a block on
     * the list, no later list to step, the thread counted — is a leaf with
     * no call and no saved register (session 12: ~45 instructions an
     * object before, ~23 objects a transfer). */
    jk_obj_cache *c = &jk_cache;
    unsigned list = jk_obj_list(type, size);
    jk_obj *o = c->list[list].head;
    if (__builtin_expect(!o || c->later != NULL || !c->live_on, 0))
        return jk_obj_alloc_slow(c, size, type);
    memcpy(&c->list[list].head, o, sizeof(void *));
    c->list[list].count--;
    c->bytes -= jk_list_block[list];
    jk_obj_init(o, size, type);
    atomic_store_explicit(&c->live, atomic_load_explicit(&c->live, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    return o;
}

void jk_cap_obj_retain(jk_obj *o)
{
    if (o)
        atomic_fetch_add_explicit(&o->refs, 1, memory_order_relaxed);
}

/* Drop one reference to o; true: it was the last, o is dead.
 * Release ordering on the decrement and an acquire fence before the free:
 * every other holder's reads of the body happen before it is freed.
 * When refs is 1 the caller's reference is the only one on any thread
 * (a borrowed view needs some holder's reference), so nobody else can
 * change refs: the free needs no locked decrement, only the acquire
 * load, which pairs with the release decrements of the holders that
 * dropped theirs before, as the fence does (issue 16: most releases of a
 * verified event are last ones, of objects only it made). */
static inline bool jk_obj_last(jk_obj *o)
{
    if (atomic_load_explicit(&o->refs, memory_order_acquire) != 1) {
        if (atomic_fetch_sub_explicit(&o->refs, 1, memory_order_release) != 1)
            return false;
        atomic_thread_fence(memory_order_acquire);
    }
    return true;
}

static __attribute__((noinline)) void jk_obj_free_dead(jk_obj *o);

static inline void jk_dead_drop(jk_dead *d, jk_obj *o)
{
    if (!o || !jk_obj_last(o))
        return;
    if (__builtin_expect(d->n < JK_DEAD_STACK, 1))
        d->stack[d->n++] = o;
    else
        jk_obj_free_dead(o); /* a stack of its own: depth is bounded by the nesting */
}

void jk_cap_dead_drop(jk_dead *d, jk_obj *o) { jk_dead_drop(d, o); }

/* Drop the references dead object o holds (the children whose last
 * reference goes join d) and return the list o itself goes on. The most
 * common kinds, CNode and Data inner nodes, inline. */
static inline __attribute__((always_inline)) unsigned jk_obj_drop_kids(jk_obj *o, jk_dead *d)
{
    unsigned list = o->type;
    switch ((enum jk_obj_type)o->type) {
    case JK_OBJ_CNODE_NODE: {
        jk_cnode_node *n = (jk_cnode_node *)o;
        if (n->o.height == 1) {
            jk_dead_drop(d, jk_cap_obj(n->u.slot[0]));
            jk_dead_drop(d, jk_cap_obj(n->u.slot[1]));
        } else {
            if (n->u.kid[1])
                __builtin_prefetch(n->u.kid[1]);
            if (n->u.kid[0])
                jk_dead_drop(d, &n->u.kid[0]->o);
            if (n->u.kid[1])
                jk_dead_drop(d, &n->u.kid[1]->o);
        }
        if (jk_cnode_has_skip(n->o.height))
            list = JK_OBJ_LIST_SKIP;
        break;
    }
    case JK_OBJ_DNODE: {
        jk_dnode *n = (jk_dnode *)o;
        __builtin_prefetch(n->u.in.right);
        jk_dead_drop(d, &n->u.in.left->o);
        jk_dead_drop(d, &n->u.in.right->o);
        break;
    }
    case JK_OBJ_DPAGE: jk_cap_dpage_free((jk_dnode *)o); break;
    case JK_OBJ_DATA: {
        jk_data_body *data = (jk_data_body *)o;
        if (data->root)
            jk_dead_drop(d, &data->root->o);
        jk_cap_data_index_free(data);
        break;
    }
    case JK_OBJ_CNODE: jk_cap_cnode_body_free((jk_cnode_body *)o, d); break;
    case JK_OBJ_IMAGE: jk_cap_image_body_free((jk_image_body *)o, d); break;
    case JK_OBJ_INSTANCE: jk_cap_instance_body_free((jk_instance_body *)o, d); break;
    }
    return list;
}

/* Free dead object o and everything only it held: a loop over a stack of dead
 * objects rather than a recursion through the per-type frees (session 8:
 * a dropped tree is dozens of objects, each a call chain of release → type
 * free → release before); the objects go on the thread's lists, and the live
 * count is written once for the whole tree. The order objects are freed in
 * decides nothing: no result reads a dead object or its address. */
static void jk_obj_free_dead(jk_obj *o)
{
    jk_obj_cache *c = &jk_cache;
    jk_dead d;
    d.n = 0;
    int freed = 0;
    /* jk_list_push's room test, its per-call parts once for the loop: an
     * object list has no count bound of its own, only the byte budget */
    bool listed = JK_OBJ_CACHE && jk_cache_register(c);
    for (;;) {
        unsigned list = jk_obj_drop_kids(o, &d);
        if (listed && c->bytes + jk_list_block[list] <= JK_CACHE_BYTES) {
            memcpy(o, &c->list[list].head, sizeof(void *));
            c->list[list].head = o;
            c->list[list].count++;
            c->bytes += jk_list_block[list];
        } else {
            free(o);
        }
        freed++;
        if (!d.n)
            break;
        o = d.stack[--d.n];
    }
    jk_live_add(c, -freed);
}

/* ---- release later (session 10) ----
 * A commit drops the old state's last reference: the objects a block
 * replaced, thousands of them, cold in the cache (made a height ago, read
 * since by the store's writer on the other core), freed at once on the
 * node's loop thread between the decision and the next height. Released
 * "later", the dead root goes on this thread's `later` list as it is; each
 * allocation on the thread then frees up to JK_LATER_STEP of them (dropping
 * their children's references: the children that die join the list), so
 * the work is spread over the next height's allocations, and an object
 * freed there is reused while its lines are still in the cache. What is on
 * the list is dead: no holder, no reader, on any thread; its children are
 * still counted live until it is freed. Nothing reads the order or the
 * addresses (no result depends on when an object is freed). */
static inline void jk_later_push(jk_obj_cache *c, jk_obj *o)
{
    memcpy(o->hash.bytes, &c->later, sizeof c->later);
    c->later = o;
    c->nlater++;
}

/* Free at most `max` objects from the thread's later list. */
static __attribute__((noinline)) void jk_later_step(jk_obj_cache *c, size_t max)
{
    int freed = 0;
    while (c->later && max--) {
        jk_obj *o = c->later;
        memcpy(&c->later, o->hash.bytes, sizeof c->later);
        c->nlater--;
        jk_dead d;
        d.n = 0;
        unsigned list = jk_obj_drop_kids(o, &d);
        while (d.n)
            jk_later_push(c, d.stack[--d.n]);
        if (!jk_list_push(c, list, o))
            free(o);
        freed++;
    }
    jk_live_add(c, -freed);
}

static void jk_later_drain(jk_obj_cache *c) { jk_later_step(c, SIZE_MAX); }

void jk_cap_release_later(jk_cap cap)
{
    jk_obj *o = jk_cap_obj(cap);
    if (!o)
        return;
    jk_obj_cache *c = &jk_cache;
    /* without an exit destructor to drain the list: at once. (Under
     * AddressSanitizer the list works as here, and a freed object goes to
     * free() rather than onto a free list, so a use after it is caught.) */
    if (!jk_cache_register(c)) {
        jk_cap_obj_release(o);
        return;
    }
    if (jk_obj_last(o))
        jk_later_push(c, o);
}

void jk_cap_release_later_drain(void) { jk_later_drain(&jk_cache); }

size_t jk_cap_release_later_count(void) { return jk_cache.nlater; }

void jk_cap_obj_release(jk_obj *o)
{
    if (o && jk_obj_last(o))
        jk_obj_free_dead(o);
}

/* ---- public: caps ---- */

jk_cap jk_cap_retain(jk_cap cap)
{
    jk_cap_obj_retain(jk_cap_obj(cap));
    return cap;
}

/* jk_cap_obj_release written out: the compiler split that one in two, and
 * a release was a call into its out-of-line part (~40 releases a verify
 * run; session 14). */
void jk_cap_release(jk_cap cap)
{
    jk_obj *o = jk_cap_obj(cap);
    if (o && jk_obj_last(o))
        jk_obj_free_dead(o);
}

void jk_cap_stats_get(jk_cap_stats *out)
{
    uint64_t h[3];
    jk_hash_sums(h);
    out->page_hashes = h[0];
    out->node_hashes = h[1];
    out->root_hashes = h[2];
    out->verify_hashes = atomic_load_explicit(&jk_cap_stat_verify, memory_order_relaxed);
    out->live_objects = jk_live_sum();
}
