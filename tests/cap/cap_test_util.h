/*
 * cap_test_util.h — what the cap tests share: the count of live cap objects
 * (every test that makes caps checks it comes back to where it was, so a
 * leaked or doubly released reference fails), and little-endian writers
 * for the records the tests build by hand (docs/cap.md).
 *
 * Static inline, so each test file gets its own copy.
 */
#ifndef JK_TESTS_CAP_TEST_UTIL_H
#define JK_TESTS_CAP_TEST_UTIL_H

#include "jark/cap.h"

#include <string.h>

static inline int64_t live(void)
{
    jk_cap_stats s;
    jk_cap_stats_get(&s);
    return s.live_objects;
}

static inline void put32(uint8_t **p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        *(*p)++ = (uint8_t)(v >> (8 * i));
}

static inline void put64(uint8_t **p, uint64_t v)
{
    put32(p, (uint32_t)v);
    put32(p, (uint32_t)(v >> 32));
}

/* c's hash, 32 bytes. */
static inline void puth(uint8_t **p, jk_cap c)
{
    jk_hash h;
    jk_cap_hash(c, &h);
    memcpy(*p, h.bytes, 32);
    *p += 32;
}

/* The hash of a CNode inner node from its halves' hashes (docs/cap.md):
 * zero when both are, else H(0x05 ‖ left ‖ right). */
static inline void jk_test_node_hash(const jk_hash *l, const jk_hash *r, jk_hash *out)
{
    static const jk_hash zero;
    if (!memcmp(l->bytes, zero.bytes, 32) && !memcmp(r->bytes, zero.bytes, 32)) {
        *out = zero;
        return;
    }
    uint8_t buf[65] = {0x05};
    memcpy(buf + 1, l->bytes, 32);
    memcpy(buf + 33, r->bytes, 32);
    jk_crypto_blake2b256(buf, sizeof buf, out);
}

static inline bool jk_test_same_hash(jk_cap a, jk_cap b)
{
    jk_hash ha, hb;
    jk_cap_hash(a, &ha);
    jk_cap_hash(b, &hb);
    return memcmp(ha.bytes, hb.bytes, 32) == 0;
}

/* The reference for jk_cap_cnode_update_path: *c with slot path idx[0..n)
 * set to v by the chain of jk_cap_cnode_set from the innermost CNode
 * outwards (*c replaced, the old value released; unchanged on error). */
static inline jk_err jk_test_set_path(jk_cap *c, const uint32_t *idx, unsigned n, jk_cap v)
{
    jk_cap inner = n == 1 ? jk_cap_retain(v) : jk_cap_retain(jk_cap_cnode_get(*c, idx[0]));
    jk_err err = n == 1 ? JK_OK : jk_test_set_path(&inner, idx + 1, n - 1, v);
    jk_cap next;
    if (err == JK_OK)
        err = jk_cap_cnode_set(*c, idx[0], inner, &next);
    jk_cap_release(inner);
    if (err == JK_OK) {
        jk_cap_release(*c);
        *c = next;
    }
    return err;
}

#endif
