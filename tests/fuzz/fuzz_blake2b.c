/*
 * fuzz_blake2b.c — jark's BLAKE2b (src/crypto/blake2b_core.c, blake2b_x4.c)
 * against libsodium's crypto_generichash, which is the same function.
 *
 * Input: byte 0 picks the digest length (1..64), bytes 1..3 three cut
 * points; the rest is the message. Rules, each checked byte for byte
 * against libsodium:
 *   - the public one-shots (jk_crypto_blake2b at that length,
 *     jk_crypto_blake2b256) and both internal one-shots (portable, and AVX2
 *     where the CPU has it);
 *   - four lanes: the message cut into four parts of different lengths
 *     (the cut points), through jk_crypto_blake2b256_x4 and both internal
 *     four-lane paths, each lane equal to libsodium's hash of its part; and
 *     the same part in all four lanes; and the parts' first 128 bytes
 *     through jk_crypto_blake2b256_x4_short;
 *   - the streaming hasher over the message cut at the same points.
 * A difference aborts with the length that differed.
 */
#include "fuzz_targets.h"

#include "jark/crypto.h"
#include "../../src/crypto/internal.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void jk_fuzz_b2_fail(const char *what, size_t len)
{
    fprintf(stderr, "fuzz_blake2b: %s differs from libsodium (%zu bytes)\n", what, len);
    abort();
}

static void jk_fuzz_b2_lanes(const uint8_t *const p[4], const size_t l[4])
{
    jk_hash want[4], got[4];
    for (int i = 0; i < 4; i++)
        crypto_generichash(want[i].bytes, JK_HASH_SIZE, p[i], l[i], NULL, 0);
    jk_crypto_blake2b256_x4((const void *const *)p, l, got);
    for (int i = 0; i < 4; i++)
        if (memcmp(got[i].bytes, want[i].bytes, JK_HASH_SIZE))
            jk_fuzz_b2_fail("jk_crypto_blake2b256_x4", l[i]);
    jk_crypto_b2_x4_portable(p, l, got);
    for (int i = 0; i < 4; i++)
        if (memcmp(got[i].bytes, want[i].bytes, JK_HASH_SIZE))
            jk_fuzz_b2_fail("jk_crypto_b2_x4_portable", l[i]);
    if (jk_crypto_b2_have_avx2()) {
        jk_crypto_b2_x4_avx2(p, l, got);
        for (int i = 0; i < 4; i++)
            if (memcmp(got[i].bytes, want[i].bytes, JK_HASH_SIZE))
                jk_fuzz_b2_fail("jk_crypto_b2_x4_avx2", l[i]);
    }
    /* the short form: each lane's first 128 bytes at most, zero-padded */
    uint8_t blk[4][JK_BLAKE2B_BLOCK] = {{0}};
    size_t sl[4];
    for (int i = 0; i < 4; i++) {
        sl[i] = l[i] < JK_BLAKE2B_BLOCK ? l[i] : JK_BLAKE2B_BLOCK;
        if (sl[i])
            memcpy(blk[i], p[i], sl[i]);
        crypto_generichash(want[i].bytes, JK_HASH_SIZE, p[i], sl[i], NULL, 0);
    }
    jk_crypto_blake2b256_x4_short(blk, sl, got);
    for (int i = 0; i < 4; i++)
        if (memcmp(got[i].bytes, want[i].bytes, JK_HASH_SIZE))
            jk_fuzz_b2_fail("jk_crypto_blake2b256_x4_short", sl[i]);
}

int jk_fuzz_blake2b(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    if (jk_crypto_init() != JK_OK)
        abort();
    size_t out_len = 1 + data[0] % 64;
    const uint8_t *msg = data + 4;
    size_t len = size - 4;
    uint8_t want[64], got[64];
    crypto_generichash(want, out_len, msg, len, NULL, 0);
    if (jk_crypto_blake2b(msg, len, got, out_len) != JK_OK || memcmp(got, want, out_len))
        jk_fuzz_b2_fail("jk_crypto_blake2b", len);
    jk_crypto_b2_oneshot(msg, len, got, out_len);
    if (memcmp(got, want, out_len))
        jk_fuzz_b2_fail("jk_crypto_b2_oneshot", len);
    if (jk_crypto_b2_have_avx2()) {
        jk_crypto_b2_oneshot_avx2(msg, len, got, out_len);
        if (memcmp(got, want, out_len))
            jk_fuzz_b2_fail("jk_crypto_b2_oneshot_avx2", len);
    }
    jk_hash h, h256;
    crypto_generichash(h256.bytes, JK_HASH_SIZE, msg, len, NULL, 0);
    jk_crypto_blake2b256(msg, len, &h);
    if (memcmp(h.bytes, h256.bytes, JK_HASH_SIZE))
        jk_fuzz_b2_fail("jk_crypto_blake2b256", len);

    /* Three cuts, in order, give four parts of the message. */
    size_t cut[5] = {0, 0, 0, 0, len};
    for (int i = 1; i <= 3; i++)
        cut[i] = len ? (size_t)data[i] * len / 255 : 0;
    for (int i = 1; i <= 3; i++)
        for (int j = i + 1; j <= 3; j++)
            if (cut[j] < cut[i]) {
                size_t t = cut[i];
                cut[i] = cut[j];
                cut[j] = t;
            }
    const uint8_t *p[4];
    size_t l[4];
    for (int i = 0; i < 4; i++) {
        p[i] = msg + cut[i];
        l[i] = cut[i + 1] - cut[i];
    }
    jk_fuzz_b2_lanes(p, l);
    const uint8_t *same[4] = {msg, msg, msg, msg};
    size_t all[4] = {len, len, len, len};
    jk_fuzz_b2_lanes(same, all);

    jk_crypto_hasher st;
    jk_crypto_hasher_init(&st);
    for (int i = 0; i < 4; i++)
        jk_crypto_hasher_update(&st, p[i], l[i]);
    if (jk_crypto_hasher_final(&st, &h) != JK_OK || memcmp(h.bytes, h256.bytes, JK_HASH_SIZE))
        jk_fuzz_b2_fail("jk_crypto_hasher", len);
    return 0;
}

#ifdef JK_FUZZ_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return jk_fuzz_blake2b(data, size);
}
#endif
