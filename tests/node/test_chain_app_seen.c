/*
 * test_chain_app_seen.c — the chain app's seen set (src/node/chain_app_seen.c,
 * a hash table since session 6) against a plain model: the same adds,
 * refusals, forgets, forget-refused passes and the clear at
 * JK_APP_SEEN_MAX leave the same ids with the same reasons.
 */
#include "../test.h"

#include "../../src/node/chain_app_internal.h"

#include <stdio.h>
#include <stdlib.h>

#define MODEL_IDS 3000u

typedef struct model {
    bool in[MODEL_IDS];
    int why[MODEL_IDS]; /* 0: admitted, k > 0: refused for reason k */
} model;

static void id_of(uint32_t k, jk_hash *h)
{
    /* ids sharing most of their bytes, so that slots collide in runs */
    memset(h, 0, sizeof *h);
    h->bytes[0] = (uint8_t)(k & 7);
    h->bytes[31] = (uint8_t)(k >> 3);
    h->bytes[30] = (uint8_t)(k >> 11);
    h->bytes[5] = 0x5a;
}

static uint64_t rng(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Every model id found with its reason, every other id absent. */
static void same_as_model(const jk_node_chain_app *a, const model *m)
{
    size_t count = 0;
    for (uint32_t k = 0; k < MODEL_IDS; k++) {
        jk_hash id;
        id_of(k, &id);
        bool found;
        size_t at = jk_node_app_seen_find(a, &id, &found);
        JK_CHECK_EQ(found, m->in[k]);
        if (!found || !m->in[k])
            continue;
        count++;
        char want[16];
        snprintf(want, sizeof want, "r%d", m->why[k]);
        if (m->why[k])
            JK_CHECK(a->seen_why[at] && !strcmp(a->seen_why[at], want));
        else
            JK_CHECK(a->seen_why[at] == NULL);
    }
    JK_CHECK_EQ(a->nseen, count);
    /* a cache line's alignment (session 12): no id across two lines */
    JK_CHECK(a->capseen == 0 || ((uintptr_t)a->seen & 63) == 0);
}

JK_TEST(test_chain_app_seen_table_matches_a_model)
{
    jk_node_chain_app *a = calloc(1, sizeof *a);
    model *m = calloc(1, sizeof *m);
    JK_REQUIRE(a && m);
    uint64_t s = 0x9e3779b97f4a7c15u;
    for (int step = 0; step < 40000; step++) {
        uint32_t k = (uint32_t)(rng(&s) % MODEL_IDS);
        jk_hash id;
        id_of(k, &id);
        unsigned op = (unsigned)(rng(&s) % 16);
        if (op < 9) { /* admitted, or refused with reason r1..r5 */
            int why = op < 5 ? 0 : (int)(op - 4);
            char text[16];
            snprintf(text, sizeof text, "r%d", why);
            JK_REQUIRE(jk_node_app_seen_add(a, &id, why ? text : NULL) == JK_OK);
            m->in[k] = true;
            m->why[k] = why;
        } else if (op < 15) {
            jk_node_app_seen_forget(a, &id);
            m->in[k] = false;
        } else if (rng(&s) % 8 == 0) {
            jk_node_app_seen_forget_refused(a);
            for (uint32_t j = 0; j < MODEL_IDS; j++)
                if (m->why[j])
                    m->in[j] = false;
        }
        if (step % 2000 == 0)
            same_as_model(a, m);
    }
    same_as_model(a, m);
    /* each pass removed the refused ids it kept track of, one by one: the
     * whole table was never rebuilt (session 8) */
    JK_CHECK_EQ(a->stats.seen_rebuilds, 0u);
    /* with the list lost (it could not grow), a pass rebuilds the table:
     * the same ids go */
    for (uint32_t k = 0; k < 40; k++) {
        jk_hash id;
        id_of(k, &id);
        JK_REQUIRE(jk_node_app_seen_add(a, &id, k % 2 ? "r1" : NULL) == JK_OK);
        m->in[k] = true;
        m->why[k] = k % 2;
    }
    a->refused_lost = true;
    jk_node_app_seen_forget_refused(a);
    for (uint32_t j = 0; j < MODEL_IDS; j++)
        if (m->why[j])
            m->in[j] = false;
    same_as_model(a, m);
    JK_CHECK_EQ(a->stats.seen_rebuilds, 1u);
    JK_CHECK_EQ(a->nrefused, 0u);
    /* the zero id is never stored (it marks an empty slot) */
    jk_hash zero = {{0}};
    bool found;
    JK_CHECK_EQ(jk_node_app_seen_add(a, &zero, NULL), JK_OK);
    (void)jk_node_app_seen_find(a, &zero, &found);
    JK_CHECK(!found);
    jk_node_app_seen_clear(a);
    memset(m, 0, sizeof *m);
    same_as_model(a, m);
    free(a->seen);
    free(a->seen_why);
    free(a->refused);
    free(a);
    free(m);
}

JK_TEST(test_chain_app_seen_starts_over_past_its_bound)
{
    jk_node_chain_app *a = calloc(1, sizeof *a);
    JK_REQUIRE(a);
    jk_hash id;
    for (uint32_t k = 0; k < 65536u; k++) {
        memset(&id, 0, sizeof id);
        memcpy(id.bytes, &k, sizeof k);
        id.bytes[31] = 1;
        JK_REQUIRE(jk_node_app_seen_add(a, &id, k % 2 ? "no" : NULL) == JK_OK);
    }
    JK_CHECK_EQ(a->nseen, 65536u);
    bool found;
    (void)jk_node_app_seen_find(a, &id, &found);
    JK_CHECK(found);
    /* the 65,537th: everything before is forgotten */
    id.bytes[30] = 9;
    JK_REQUIRE(jk_node_app_seen_add(a, &id, NULL) == JK_OK);
    JK_CHECK_EQ(a->nseen, 1u);
    (void)jk_node_app_seen_find(a, &id, &found);
    JK_CHECK(found);
    id.bytes[30] = 0;
    (void)jk_node_app_seen_find(a, &id, &found);
    JK_CHECK(!found);
    jk_node_app_seen_clear(a);
    free(a->seen);
    free(a->seen_why);
    free(a->refused);
    free(a);
}

/* Session 16: the seen set's hash reads every byte of the id (the SipHash
 * it replaced read the first half: ids that differ past it all had one
 * home). Ids that differ in one byte anywhere get distinct hashes, and
 * their homes in a table of 2^17 slots (the largest the seen set grows to)
 * spread: for 32 × 255 such ids, far fewer than a quarter share a home. */
JK_TEST(test_chain_app_seen_hash_reads_the_whole_id)
{
    enum { N = 32 * 255 };
    uint64_t *h = malloc(N * sizeof *h);
    JK_REQUIRE(h != NULL);
    jk_hash base;
    for (int i = 0; i < 32; i++)
        base.bytes[i] = (uint8_t)(0x3c + 7 * i);
    uint64_t h0 = jk_node_app_seen_hash(&base);
    size_t n = 0;
    for (int byte = 0; byte < 32; byte++)
        for (int v = 1; v < 256; v++) {
            jk_hash id = base;
            id.bytes[byte] ^= (uint8_t)v;
            h[n] = jk_node_app_seen_hash(&id);
            JK_CHECK(h[n] != h0);
            n++;
        }
    JK_CHECK_EQ(jk_node_app_seen_hash(&base), h0); /* a function of the id */
    /* homes in 2^17 slots: count the ids whose home an earlier one took */
    uint8_t *taken = calloc(1u << 17, 1);
    JK_REQUIRE(taken != NULL);
    size_t shared = 0;
    for (size_t i = 0; i < n; i++) {
        size_t home = (size_t)h[i] & ((1u << 17) - 1);
        shared += taken[home];
        taken[home] = 1;
    }
    JK_CHECK(shared < n / 4);
    free(taken);
    free(h);
}
