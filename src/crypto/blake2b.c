/*
 * blake2b.c — BLAKE2b hashing (RFC 7693) over libsodium's crypto_generichash.
 *
 * Owns jk_crypto_blake2b256, jk_crypto_blake2b and the streaming
 * jk_crypto_hasher. Always unkeyed (key NULL, length 0).
 *
 * Invariants:
 *   - libsodium's crypto_generichash only fails for an output length outside
 *     1..64 or a key longer than 64 bytes. Every call below passes no key and
 *     either the fixed 32 or a length checked first, so their results are
 *     ignored where the API says "cannot fail".
 *   - A hasher's `finished` flag is set by final and cleared only by init; it
 *     is what lets final report a second call instead of handing back a digest
 *     of a state libsodium has already padded and closed.
 */
#include "jark/crypto.h"
#include "jark/err.h"

#include <sodium.h>

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
    (void)crypto_generichash(out->bytes, JK_HASH_SIZE, data,
                             (unsigned long long)len, NULL, 0);
}

jk_err jk_crypto_blake2b(const void *data, size_t len, uint8_t *out,
                         size_t out_len)
{
    if (out_len < JK_BLAKE2B_MIN_SIZE || out_len > JK_BLAKE2B_MAX_SIZE)
        return JK_ERR_INVALID_ARG;
    if (crypto_generichash(out, out_len, data, (unsigned long long)len, NULL,
                           0) != 0)
        return JK_ERR_INVALID_ARG;
    return JK_OK;
}

void jk_crypto_hasher_init(jk_crypto_hasher *h)
{
    (void)crypto_generichash_init(&h->state, NULL, 0, JK_HASH_SIZE);
    h->finished = false;
}

void jk_crypto_hasher_update(jk_crypto_hasher *h, const void *data, size_t len)
{
    if (h->finished)
        return;
    (void)crypto_generichash_update(&h->state, data, (unsigned long long)len);
}

jk_err jk_crypto_hasher_final(jk_crypto_hasher *h, jk_hash *out)
{
    if (h->finished)
        return JK_ERR_INVALID_ARG;
    h->finished = true;
    if (crypto_generichash_final(&h->state, out->bytes, JK_HASH_SIZE) != 0)
        return JK_ERR_INVALID_ARG;
    return JK_OK;
}
