/* blake2b.c — BLAKE2b (RFC 7693), unkeyed, 1..64-byte digests, freestanding
 * C for the SDK's PVM build and for the native twin (-DJARK_NATIVE); the
 * function itself is blake2b.h. Written for the benchmark (issue 15); checked
 * against libsodium's crypto_generichash, which is the same function.
 *
 * Endpoint 0 c_blake2b(args, len): args = outlen (1 byte, 1..64; 0 or more
 * than 64 mean 32) ‖ the message; hashes the message and returns the address
 * of the digest (a static buffer of outlen bytes). */
#include "blake2b.h"

static uint8_t b2_digest[64];

uint64_t c_blake2b(const uint8_t *args, uint64_t len)
{
    size_t outlen = len > 0 && args[0] >= 1 && args[0] <= 64 ? args[0] : 32;
    b2_state s;
    b2_init(&s, outlen);
    if (len > 1)
        b2_update(&s, args + 1, (size_t)(len - 1));
    b2_final(&s, b2_digest, outlen);
    return (uint64_t)(uintptr_t)b2_digest;
}
JK_ENDPOINT(0, c_blake2b);
