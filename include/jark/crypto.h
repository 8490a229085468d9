/*
 * jark/crypto.h — hashing and signatures: thin wrappers over libsodium.
 *
 * Provides
 *   - BLAKE2b (RFC 7693), unkeyed: BLAKE2b-256 as jark's hash (one-shot and
 *     streaming), four messages at once, and a one-shot BLAKE2b of any
 *     output length 1..64 bytes. The one-shots are jark's own code
 *     (portable C; AVX2 rows, and four lanes, where the CPU has it), checked
 *     against libsodium's crypto_generichash, which backs the streaming
 *     hasher once a message outgrows its 256-byte buffer.
 *   - Ed25519 (RFC 8032, pure Ed25519, no context, no prehash): key pair from
 *     a 32-byte seed, detached signing and verification. Backed by libsodium's
 *     crypto_sign_ed25519 detached API.
 *   - Secret hygiene: wiping memory, constant-time comparison of 32 bytes.
 *
 * Initialisation: call jk_crypto_init() once, before any other function here
 * (libsodium's rule for sodium_init). It may be called again at any time.
 *
 * Thread safety: after jk_crypto_init() has returned JK_OK, every function is
 * safe to call from any number of threads at once, as long as the buffers one
 * call writes are not read or written by another call at the same time. A
 * jk_crypto_hasher is not internally locked: use one per thread.
 *
 * Determinism: every function is a pure function of its inputs (Ed25519
 * signing is deterministic as RFC 8032 specifies; no randomness is used),
 * except jk_crypto_ed25519_verifies, a tally of the work done.
 *
 * Buffers: unless a comment says otherwise, output buffers must not overlap
 * input buffers. No function here allocates, keeps a pointer it was given, or
 * returns a pointer; the caller owns every buffer before and after the call.
 *
 * This layer sits at the bottom of jark: it depends only on jark/err.h and
 * libsodium.
 */
#ifndef JARK_CRYPTO_H
#define JARK_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include "jark/err.h"

/* ---------------------------------------------------------------------------
 * Initialisation
 * ------------------------------------------------------------------------- */

/* Initialise the crypto layer (wraps sodium_init, which picks the fastest
 * implementations for this CPU).
 * @return JK_OK, also when already initialised; JK_ERR_CRYPTO_INIT when
 *         libsodium could not initialise (then no other function here may be
 *         used).
 * @note Safe to call more than once and from several threads at once
 *       (sodium_init serialises itself). */
jk_err jk_crypto_init(void);

/* ---------------------------------------------------------------------------
 * BLAKE2b
 * ------------------------------------------------------------------------- */

#define JK_HASH_SIZE 32          /* bytes in a jark hash: BLAKE2b-256 */
#define JK_BLAKE2B_MIN_SIZE 1    /* shortest output jk_crypto_blake2b gives */
#define JK_BLAKE2B_MAX_SIZE 64   /* longest: BLAKE2b-512 */

/* A BLAKE2b-256 digest. A plain value: copy and compare it freely (it is not
 * secret, so memcmp is fine). */
typedef struct jk_hash {
    uint8_t bytes[JK_HASH_SIZE];
} jk_hash;

/* BLAKE2b-256 (unkeyed, 32-byte digest) of data.
 * @param[in]  data  the bytes to hash; may be NULL when len is 0.
 * @param[in]  len   number of bytes at data.
 * @param[out] out   receives the digest. May not overlap data.
 * Cannot fail. */
void jk_crypto_blake2b256(const void *data, size_t len, jk_hash *out);

/* BLAKE2b (unkeyed) with an out_len-byte digest. The output length is a
 * parameter of BLAKE2b, so a 32-byte result here equals jk_crypto_blake2b256
 * but a 64-byte result does not start with it. Digests shorter than 16 bytes
 * (libsodium's recommended minimum) are allowed but not collision-resistant:
 * use them only where the protocol says so.
 * @param[in]  data     the bytes to hash; may be NULL when len is 0.
 * @param[in]  len      number of bytes at data.
 * @param[out] out      receives out_len bytes. May not overlap data.
 * @param[in]  out_len  JK_BLAKE2B_MIN_SIZE..JK_BLAKE2B_MAX_SIZE.
 * @return JK_OK; JK_ERR_INVALID_ARG when out_len is outside 1..64 (out is
 *         then left unchanged). */
jk_err jk_crypto_blake2b(const void *data, size_t len, uint8_t *out,
                         size_t out_len);

/* BLAKE2b-256 of four independent messages at once: out[i] =
 * jk_crypto_blake2b256(data[i], len[i]) for i = 0..3, the same bytes. On a
 * CPU with AVX2 the four run in one pass of the compression function (the
 * lanes of one register); elsewhere one after the other. Fastest when the
 * four take the same number of 128-byte blocks (a lane whose message ends
 * early idles through the others' blocks). The lanes may repeat a message.
 * @param[in]  data  four messages; data[i] may be NULL when len[i] is 0.
 * @param[in]  len   their lengths.
 * @param[out] out   four digests. May not overlap any message.
 * Cannot fail. */
void jk_crypto_blake2b256_x4(const void *const data[4], const size_t len[4],
                             jk_hash out[4]);

/* Four short messages at once, already laid out in zero-padded blocks:
 * out[i] = jk_crypto_blake2b256(block[i], len[i]), where every len[i] is at
 * most JK_BLAKE2B_BLOCK and block[i]'s bytes from len[i] on are zero (the
 * caller writes its encodings straight into the blocks: no copy, no
 * padding here). What the cap layer uses for CNode inner nodes.
 * @param[in]  block  four 128-byte blocks, zero past each length (a
 *                    nonzero byte there gives a wrong digest, not an error).
 * @param[in]  len    0..JK_BLAKE2B_BLOCK each.
 * @param[out] out    four digests.
 * Cannot fail. */
#define JK_BLAKE2B_BLOCK 128
void jk_crypto_blake2b256_x4_short(const uint8_t block[4][JK_BLAKE2B_BLOCK],
                                   const size_t len[4], jk_hash out[4]);

/* Streaming BLAKE2b-256: init, any number of updates, final. Hashing the
 * concatenation of the updates gives the same digest as jk_crypto_blake2b256.
 * The struct is caller-owned storage (stack, heap or inside another struct;
 * libsodium needs it 64-byte aligned, which the type guarantees for static
 * and automatic storage; heap copies need aligned_alloc(64, ...)). Fields are
 * private. Not for concurrent use from several threads. */
#define JK_CRYPTO_HASHER_BUF 256 /* a message up to this long is hashed one-shot at final */
typedef struct jk_crypto_hasher {
    crypto_generichash_state state;  /* libsodium's BLAKE2b state, once the message outgrew buf */
    uint8_t buf[JK_CRYPTO_HASHER_BUF]; /* the message while it fits */
    size_t len;                      /* bytes in buf */
    bool spilled;                    /* state holds the message (buf no longer used) */
    bool finished;                   /* final has run; update/final refused */
} jk_crypto_hasher;

/* Start (or restart) a BLAKE2b-256 computation in *h. Any earlier state of
 * *h, finished or not, is discarded.
 * @param[out] h  the hasher to initialise.
 * Cannot fail. */
void jk_crypto_hasher_init(jk_crypto_hasher *h);

/* Absorb len bytes.
 * @param[in,out] h     a hasher set up by jk_crypto_hasher_init.
 * @param[in]     data  the bytes; may be NULL when len is 0. Not retained.
 * @param[in]     len   number of bytes at data.
 * Cannot fail. On a hasher that has already been finalised this does nothing
 * (the misuse is reported by the next jk_crypto_hasher_final). */
void jk_crypto_hasher_update(jk_crypto_hasher *h, const void *data, size_t len);

/* Finish the computation and write the digest. Afterwards *h is finished:
 * jk_crypto_hasher_init it again to reuse it.
 * @param[in,out] h    a hasher set up by jk_crypto_hasher_init.
 * @param[out]    out  receives the BLAKE2b-256 digest.
 * @return JK_OK; JK_ERR_INVALID_ARG when *h was already finalised (out is
 *         then left unchanged). */
jk_err jk_crypto_hasher_final(jk_crypto_hasher *h, jk_hash *out);

/* ---------------------------------------------------------------------------
 * Ed25519 (RFC 8032)
 * ------------------------------------------------------------------------- */

#define JK_ED25519_SEED_SIZE 32    /* RFC 8032's 32-byte private key */
#define JK_ED25519_PUBLIC_SIZE 32  /* encoded point A */
#define JK_ED25519_SECRET_SIZE 64  /* libsodium layout: seed ‖ public key */
#define JK_ED25519_SIG_SIZE 64     /* R ‖ S */

/* Derive the key pair for a seed (RFC 8032 §5.1.5; the seed is what RFC 8032
 * calls the private key).
 * @param[in]  seed        32 secret bytes.
 * @param[out] public_key  receives the 32-byte public key.
 * @param[out] secret_key  receives 64 bytes: seed ‖ public_key. Secret: wipe
 *                         it with jk_crypto_wipe when done.
 * @return JK_OK; JK_ERR_INVALID_ARG if libsodium reports a failure (current
 *         libsodium never does; on that path secret_key is wiped). */
jk_err jk_crypto_ed25519_keypair_from_seed(const uint8_t seed[JK_ED25519_SEED_SIZE],
                                           uint8_t public_key[JK_ED25519_PUBLIC_SIZE],
                                           uint8_t secret_key[JK_ED25519_SECRET_SIZE]);

/* Sign msg (detached signature; the message is not copied into it).
 * @param[in]  secret_key  64 bytes exactly as written by
 *                         jk_crypto_ed25519_keypair_from_seed. Its second half
 *                         (the public key) is trusted, not recomputed: a
 *                         secret key with a wrong public half yields signatures
 *                         that can leak the private scalar. Never assemble one
 *                         by hand.
 * @param[in]  msg         the message; may be NULL when len is 0.
 * @param[in]  len         number of bytes at msg.
 * @param[out] sig         receives the 64-byte signature.
 * Cannot fail. Deterministic: the same key and message always give the same
 * signature. */
void jk_crypto_ed25519_sign(const uint8_t secret_key[JK_ED25519_SECRET_SIZE],
                            const void *msg, size_t len,
                            uint8_t sig[JK_ED25519_SIG_SIZE]);

/* Check a detached signature.
 * The rules are libsodium's (stricter than the RFC 8032 minimum, and
 * deterministic): rejected are an S that is not fully reduced mod L, an R or
 * public key of small order, and a non-canonical public key encoding; the
 * check is the cofactorless equation [S]B = R + [k]A. Other Ed25519
 * implementations (e.g. ZIP-215 rules) may accept signatures this rejects.
 * @param[in] public_key  32 bytes; untrusted.
 * @param[in] msg         the message; may be NULL when len is 0.
 * @param[in] len         number of bytes at msg.
 * @param[in] sig         64 bytes; untrusted.
 * @return JK_OK when sig is a valid signature of msg under public_key;
 *         JK_ERR_CRYPTO_BAD_SIG otherwise (including a malformed key or
 *         signature). */
jk_err jk_crypto_ed25519_verify(const uint8_t public_key[JK_ED25519_PUBLIC_SIZE],
                                const void *msg, size_t len,
                                const uint8_t sig[JK_ED25519_SIG_SIZE]);

/* How many times jk_crypto_ed25519_verify ran in this process so far (every
 * thread, valid and invalid signatures alike): a relaxed atomic counter, so
 * a read sees every call that happened before it on its own thread, and
 * others' calls eventually. For measuring (a node's
 * jark_ed25519_verifies_total, docs/rpc.md); it decides nothing. */
uint64_t jk_crypto_ed25519_verifies(void);

/* ---------------------------------------------------------------------------
 * Secret hygiene
 * ------------------------------------------------------------------------- */

/* Overwrite len bytes at p with zeros, in a way the compiler may not remove
 * (sodium_memzero). Use on secret keys and seeds before releasing them.
 * @param[out] p    the bytes to wipe; may be NULL when len is 0.
 * @param[in]  len  number of bytes. */
void jk_crypto_wipe(void *p, size_t len);

/* Compare 32 bytes in time independent of their contents
 * (crypto_verify_32). Use whenever either side may be secret.
 * @param[in] a, b  32 bytes each; may be the same pointer.
 * @return true when all 32 bytes are equal. */
bool jk_crypto_equal32(const uint8_t a[32], const uint8_t b[32]);

#endif
