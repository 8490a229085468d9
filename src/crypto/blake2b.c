/*
 * blake2b.c — BLAKE2b hashing (RFC 7693): the public wrappers.
 *
 * Owns jk_crypto_blake2b256, jk_crypto_blake2b256_x4(_short) and
 * jk_crypto_blake2b, jark's own code (blake2b_core.c, blake2b_x4.c) checked
 * against libsodium's crypto_generichash (tests/crypto/test_blake2b.c,
 * fuzz_blake2b), and the streaming jk_crypto_hasher: the own one-shot for a
 * short message, libsodium's crypto_generichash past it. Always unkeyed.
 *
 * Invariants:
 *   - Nothing here fails but on a caller's error: jk_crypto_blake2b checks
 *     the output length first, the hasher passes libsodium no key and the
 *     fixed 32 (the only failures crypto_generichash has), and a second
 *     final is refused.
 *   - A hasher's `finished` flag is set by final and cleared only by init; it
 *     is what lets final report a second call instead of handing back a digest
 *     of a state already padded and closed.
 */
#include "internal.h"
#include "jark/err.h"

#include <sodium.h>
#include <string.h>

_Static_assert(JK_HASH_SIZE == crypto_generichash_BYTES,
               "jark's hash is libsodium's default generichash length");
/* Not crypto_generichash_BYTES_MIN (16): that is libsodium's recommended
 * minimum for a collision-resistant digest, while crypto_generichash itself
 * accepts, and RFC 7693 defines, every length 1..64. The tests pin a 1-byte
 * digest. */
_Static_assert(JK_BLAKE2B_MIN_SIZE == 1, "BLAKE2b output bounds");
_Static_assert(JK_BLAKE2B_MAX_SIZE == crypto_generichash_BYTES_MAX,
               "BLAKE2b output bounds");
_Static_assert(sizeof(jk_hash) == JK_HASH_SIZE, "jk_hash has no padding");

void jk_crypto_blake2b256(const void *data, size_t len, jk_hash *out)
{
    if (jk_crypto_b2_have_avx2())
        jk_crypto_b2_oneshot_avx2(data, len, out->bytes, JK_HASH_SIZE);
    else
        jk_crypto_b2_oneshot(data, len, out->bytes, JK_HASH_SIZE);
}

void jk_crypto_blake2b256_x4(const void *const data[4], const size_t len[4], jk_hash out[4])
{
    const uint8_t *const *p = (const uint8_t *const *)data;
    if (jk_crypto_b2_have_avx2())
        jk_crypto_b2_x4_avx2(p, len, out);
    else
        jk_crypto_b2_x4_portable(p, len, out);
}

void jk_crypto_blake2b256_x4_short(const uint8_t block[4][JK_BLAKE2B_BLOCK], const size_t len[4], jk_hash out[4])
{
    if (jk_crypto_b2_have_avx2()) {
        jk_crypto_b2_x4_short_avx2(block, len, out);
        return;
    }
    for (int i = 0; i < 4; i++)
        jk_crypto_b2_oneshot(block[i], len[i], out[i].bytes, JK_HASH_SIZE);
}

jk_err jk_crypto_blake2b(const void *data, size_t len, uint8_t *out,
                         size_t out_len)
{
    if (out_len < JK_BLAKE2B_MIN_SIZE || out_len > JK_BLAKE2B_MAX_SIZE)
        return JK_ERR_INVALID_ARG;
    if (jk_crypto_b2_have_avx2())
        jk_crypto_b2_oneshot_avx2(data, len, out, out_len);
    else
        jk_crypto_b2_oneshot(data, len, out, out_len);
    return JK_OK;
}

/* The streaming hasher: a message of at most JK_CRYPTO_HASHER_BUF bytes
 * (event ids, attest messages, headers, votes: most of what is streamed)
 * is gathered and hashed by the own one-shot at final — no parameter block,
 * buffered update or padded final of libsodium's, ~30 % fewer instructions
 * (docs/crypto.md "The hasher, session 11"); a longer one is handed to
 * libsodium's crypto_generichash as soon as it outgrows the buffer (an own
 * streaming compression measured ~4 % dearer than libsodium's, session 10).
 * The same digest either way: the function is BLAKE2b-256 of the
 * concatenation. */
void jk_crypto_hasher_init(jk_crypto_hasher *h)
{
    h->len = 0;
    h->spilled = false;
    h->finished = false;
}

void jk_crypto_hasher_update(jk_crypto_hasher *h, const void *data, size_t len)
{
    if (h->finished || len == 0)
        return;
    if (!h->spilled) {
        if (len <= sizeof h->buf - h->len) {
            memcpy(h->buf + h->len, data, len);
            h->len += len;
            return;
        }
        (void)crypto_generichash_init(&h->state, NULL, 0, JK_HASH_SIZE);
        (void)crypto_generichash_update(&h->state, h->buf, (unsigned long long)h->len);
        h->spilled = true;
    }
    (void)crypto_generichash_update(&h->state, data, (unsigned long long)len);
}

jk_err jk_crypto_hasher_final(jk_crypto_hasher *h, jk_hash *out)
{
    if (h->finished)
        return JK_ERR_INVALID_ARG;
    h->finished = true;
    if (!h->spilled) {
        jk_crypto_blake2b256(h->buf, h->len, out);
        return JK_OK;
    }
    if (crypto_generichash_final(&h->state, out->bytes, JK_HASH_SIZE) != 0)
        return JK_ERR_INVALID_ARG;
    return JK_OK;
}
