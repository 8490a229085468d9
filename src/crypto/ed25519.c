/*
 * ed25519.c — Ed25519 signatures (RFC 8032) over libsodium's
 * crypto_sign_ed25519 detached API, plus the layer's start-up and secret
 * hygiene: jk_crypto_init, jk_crypto_wipe, jk_crypto_equal32.
 *
 * Invariants:
 *   - A jark secret key is libsodium's 64-byte layout, seed ‖ public key, and
 *     only jk_crypto_ed25519_keypair_from_seed produces one.
 *   - Verification follows libsodium's rules exactly (see crypto.h); nothing
 *     here adds or relaxes a check, so every node that links the same
 *     libsodium accepts the same signatures.
 *   - Secrets never leave the caller's buffers: nothing is copied to locals
 *     that would then need wiping.
 *   - Every verification is counted (jk_crypto_ed25519_verifies: an atomic,
 *     relaxed — a tally of work done, ordering nothing), so that a process
 *     can show how many checks it made (issue 13: each event's signature
 *     once per node, docs/chain-design.md "The signature cache").
 */
#include "jark/crypto.h"
#include "jark/err.h"

#include <sodium.h>
#include <stdatomic.h>

_Static_assert(JK_ED25519_SEED_SIZE == crypto_sign_ed25519_SEEDBYTES, "seed");
_Static_assert(JK_ED25519_PUBLIC_SIZE == crypto_sign_ed25519_PUBLICKEYBYTES,
               "public key");
_Static_assert(JK_ED25519_SECRET_SIZE == crypto_sign_ed25519_SECRETKEYBYTES,
               "secret key");
_Static_assert(JK_ED25519_SIG_SIZE == crypto_sign_ed25519_BYTES, "signature");

jk_err jk_crypto_init(void)
{
    /* sodium_init: 0 = initialised now, 1 = already initialised, -1 = failed. */
    return sodium_init() < 0 ? JK_ERR_CRYPTO_INIT : JK_OK;
}

jk_err jk_crypto_ed25519_keypair_from_seed(const uint8_t seed[JK_ED25519_SEED_SIZE],
                                           uint8_t public_key[JK_ED25519_PUBLIC_SIZE],
                                           uint8_t secret_key[JK_ED25519_SECRET_SIZE])
{
    if (crypto_sign_ed25519_seed_keypair(public_key, secret_key, seed) != 0) {
        sodium_memzero(secret_key, JK_ED25519_SECRET_SIZE);
        return JK_ERR_INVALID_ARG;
    }
    return JK_OK;
}

void jk_crypto_ed25519_sign(const uint8_t secret_key[JK_ED25519_SECRET_SIZE],
                            const void *msg, size_t len,
                            uint8_t sig[JK_ED25519_SIG_SIZE])
{
    /* libsodium's detached signing has no failure path (it always returns 0);
     * the signature length out-parameter is optional and not needed. */
    (void)crypto_sign_ed25519_detached(sig, NULL, msg, (unsigned long long)len,
                                       secret_key);
}

static atomic_uint_fast64_t jk_verifies;

uint64_t jk_crypto_ed25519_verifies(void)
{
    return (uint64_t)atomic_load_explicit(&jk_verifies, memory_order_relaxed);
}

jk_err jk_crypto_ed25519_verify(const uint8_t public_key[JK_ED25519_PUBLIC_SIZE],
                                const void *msg, size_t len,
                                const uint8_t sig[JK_ED25519_SIG_SIZE])
{
    atomic_fetch_add_explicit(&jk_verifies, 1, memory_order_relaxed);
    if (crypto_sign_ed25519_verify_detached(sig, msg, (unsigned long long)len,
                                            public_key) != 0)
        return JK_ERR_CRYPTO_BAD_SIG;
    return JK_OK;
}

void jk_crypto_wipe(void *p, size_t len)
{
    if (len != 0)
        sodium_memzero(p, len);
}

bool jk_crypto_equal32(const uint8_t a[32], const uint8_t b[32])
{
    return crypto_verify_32(a, b) == 0;
}
