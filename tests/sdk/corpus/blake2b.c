/* blake2b.c — BLAKE2b-256 (RFC 7693) written out in C (the benchmark's,
 * bench/c/blake2b.h), over generated data. The test harness checks every
 * digest printed here against libsodium. */
#include "corpus.h"
#include "../../../bench/c/blake2b.h"

static void blake2b_256(const uint8_t *data, unsigned long len, uint8_t out[32])
{
    b2_state s;
    b2_init(&s, 32);
    b2_update(&s, data, len);
    b2_final(&s, out, 32);
}

static uint8_t buffer[20000];

long blake2b_main(void)
{
    static const unsigned long lengths[] = {0, 1, 3, 127, 128, 129, 255, 256, 1000, 20000};
    uint8_t digest[32];
    for (unsigned i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
        corpus_fill(buffer, lengths[i], 1000 + i);
        blake2b_256(buffer, lengths[i], digest);
        jk_print_str("blake2b-256 ");
        jk_print_u64(lengths[i]);
        jk_print_str(" ");
        jk_print_u64(1000 + i);
        jk_print_str(" ");
        jk_print_bytes_hex(digest, 32);
        jk_print_str("\n");
    }
    return digest[0];
}
JK_PROGRAM_MAIN(blake2b_main);
