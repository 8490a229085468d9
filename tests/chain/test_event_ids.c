/*
 * test_event_ids.c — jk_chain_event_hashes (session 12): a list of events'
 * ids, the short ones four lanes at a time, must be exactly
 * jk_chain_event_hash of each, in its own place: lengths on both sides of
 * the one-block bound, endpoints whose natural encodings take 1 to 5
 * bytes, lists of every length 0..9 (the lanes left over), and events that
 * differ from their neighbours in one byte (a lane's hash is never
 * another's). And the chain's hash set (the pool's index of event ids),
 * whose probes compare a slot's hash only when its one-byte tag matches
 * (session 12).
 */
#include "../test.h"

#include "jark/chain.h"
#include "../../src/chain/internal.h"

#include <stdlib.h>
#include <string.h>

#define EI_N 41

JK_TEST(test_chain_event_hashes_are_event_hash)
{
    static const uint32_t endpoints[] = {JK_CHAIN_ENDPOINT_TRANSACT, 1, 127, 128, 300, 70000,
                                         0x7fffffffu, 0xffffffffu};
    static uint8_t blobs[EI_N][160];
    jk_chain_event evs[EI_N];
    for (size_t i = 0; i < EI_N; i++) {
        /* 118..134 bytes around the bound (128 less the endpoint's bytes),
         * and a few short and empty ones */
        size_t len = i % 7 == 3 ? i % 4 : 118 + (i * 5) % 17;
        memset(blobs[i], 0x33, sizeof blobs[i]);
        if (len)
            blobs[i][len - 1] = (uint8_t)i; /* neighbours differ in one byte */
        evs[i] = (jk_chain_event){endpoints[i % 8], blobs[i], len};
    }
    jk_hash got[EI_N], want[EI_N];
    for (size_t i = 0; i < EI_N; i++)
        jk_chain_event_hash(&evs[i], &want[i]);
    size_t wrong = 0;
    for (size_t start = 0; start + 9 <= EI_N; start += 4)
        for (size_t n = 0; n <= 9; n++) {
            memset(got, 0xee, sizeof got);
            jk_chain_event_hashes(evs + start, n, got);
            for (size_t i = 0; i < n; i++)
                wrong += memcmp(got[i].bytes, want[start + i].bytes, JK_HASH_SIZE) != 0;
            /* nothing written past n */
            wrong += n < EI_N && got[n].bytes[0] != 0xee;
        }
    JK_CHECK_EQ(wrong, 0);
    jk_chain_event_hashes(evs, EI_N, got);
    for (size_t i = 0; i < EI_N; i++)
        JK_CHECK_MEM(got[i].bytes, want[i].bytes, JK_HASH_SIZE);
    /* distinct events, distinct ids: no lane answered with another's */
    for (size_t i = 1; i < EI_N; i++)
        JK_CHECK(memcmp(got[i].bytes, got[i - 1].bytes, JK_HASH_SIZE) != 0);
}

/* Hashes that share their home (bytes 0..7) and their tag (byte 8), or only
 * their home: every added one is found, every other is not, across the
 * set's growth — a matching tag never answers for another hash. */
JK_TEST(test_chain_hashset_tags_never_answer_for_another)
{
    jk_chain_hashset s = {0};
    jk_hash h[300];
    for (size_t i = 0; i < 300; i++) {
        memset(h[i].bytes, 0x5c, JK_HASH_SIZE);
        h[i].bytes[8] = i % 3 ? 0x21 : (uint8_t)i; /* two in three share one tag */
        h[i].bytes[31] = (uint8_t)i;
        h[i].bytes[30] = (uint8_t)(i >> 8);
    }
    for (size_t i = 0; i < 300; i += 2)
        JK_REQUIRE(jk_chain_hashset_add(&s, &h[i]) == JK_OK);
    size_t wrong = 0;
    for (size_t i = 0; i < 300; i++)
        wrong += jk_chain_hashset_contains(&s, &h[i]) != (i % 2 == 0);
    JK_CHECK_EQ(wrong, 0);
    JK_CHECK_EQ(s.count, 150u);
    JK_CHECK(((uintptr_t)s.slots & 63) == 0); /* no hash across two cache lines */
    jk_chain_hashset_clear(&s);
    for (size_t i = 0; i < 300; i++)
        wrong += jk_chain_hashset_contains(&s, &h[i]);
    JK_CHECK_EQ(wrong, 0);
    jk_chain_hashset_free(&s);
}
