/*
 * internal.h — the crypto layer's BLAKE2b core, shared by blake2b.c (the
 * public wrappers), blake2b_core.c (the portable compression and one-shot)
 * and blake2b_x4.c (four messages at once with AVX2). Not part of the
 * public API; the tests and the fuzz target include it to check each
 * implementation against libsodium separately.
 */
#ifndef JK_CRYPTO_INTERNAL_H
#define JK_CRYPTO_INTERNAL_H

#include "jark/crypto.h"

#include <stddef.h>
#include <stdint.h>

#define JK_B2_BLOCK JK_BLAKE2B_BLOCK /* BLAKE2b's block, RFC 7693 §2.1 (bb) */

/* The initialisation vector (RFC 7693 §2.6). */
extern const uint64_t jk_crypto_b2_iv[8];

/* The message schedule σ (RFC 7693 §2.7); rounds 10 and 11 reuse rows 0
 * and 1. Static in every file that includes this, so the unrolled rounds
 * index it with constants the compiler folds (an extern table is read from
 * memory at every step). */
static const uint8_t jk_crypto_b2_sigma[12][16] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
    {11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4},
    {7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
    {9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13},
    {2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
    {12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11},
    {13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
    {6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5},
    {10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3}};


/* The compression function F (RFC 7693 §3.2) on one 128-byte block: h is
 * the state, t the byte counter's low 64 bits (the high word is always 0:
 * jark hashes less than 2^64 bytes), last true for the final block (f0 set,
 * f1 zero: no tree hashing). Portable C, the same words on every machine. */
void jk_crypto_b2_compress(uint64_t h[8], const uint8_t block[JK_B2_BLOCK], uint64_t t,
                    bool last);

/* Unkeyed BLAKE2b of len bytes with an out_len-byte digest (1..64, not
 * checked here), in the portable code. */
void jk_crypto_b2_oneshot(const uint8_t *data, size_t len, uint8_t *out, size_t out_len);

/* The same as jk_crypto_b2_oneshot with the state's rows in AVX2 registers (only
 * when jk_crypto_b2_have_avx2(); the same bytes). */
void jk_crypto_b2_oneshot_avx2(const uint8_t *data, size_t len, uint8_t *out, size_t out_len);

/* BLAKE2b-256 of four independent messages (data[i], len[i]) into out[i]:
 * the portable code lane after lane, and the AVX2 code with the four lanes
 * in one register each word (only when jk_crypto_b2_have_avx2(); its output is
 * the same bytes). Lanes may have different lengths; out[i] may not overlap
 * any input. */
void jk_crypto_b2_x4_portable(const uint8_t *const data[4], const size_t len[4], jk_hash out[4]);
void jk_crypto_b2_x4_avx2(const uint8_t *const data[4], const size_t len[4], jk_hash out[4]);

/* jk_crypto_blake2b256_x4_short in AVX2 (only when jk_crypto_b2_have_avx2()). */
void jk_crypto_b2_x4_short_avx2(const uint8_t block[4][JK_B2_BLOCK], const size_t len[4], jk_hash out[4]);

/* Whether this CPU runs the AVX2 lanes (asked once, then cached; false on
 * non-x86 builds and under JK_B2_NO_AVX2 set in the environment, which the
 * tests use to exercise the fallback in a whole process). */
bool jk_crypto_b2_have_avx2(void);

#endif
