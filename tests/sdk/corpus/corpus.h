/* corpus.h — shared by the SDK test programs: a deterministic generator and
 * small printing helpers. Each program is built twice (natively with
 * -DJARK_NATIVE, and for the PVM with `jark cc`) and the outputs must match
 * byte for byte. */
#ifndef JK_CORPUS_H
#define JK_CORPUS_H

#include "jark.h"

static inline uint64_t corpus_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Fills buf with the generator's bytes; the test harness does the same on the
 * host to check the hashes against libsodium. */
static inline void corpus_fill(uint8_t *buf, unsigned long len, uint64_t seed)
{
    uint64_t state = seed;
    for (unsigned long i = 0; i < len; i += 8) {
        uint64_t v = corpus_next(&state);
        for (unsigned k = 0; k < 8 && i + k < len; k++)
            buf[i + k] = (uint8_t)(v >> (8 * k));
    }
}

static inline void say(const char *label, int64_t v)
{
    jk_print_str(label);
    jk_print_str(" ");
    jk_print_i64(v);
    jk_print_str("\n");
}

static inline void say_u(const char *label, uint64_t v)
{
    jk_print_str(label);
    jk_print_str(" ");
    jk_print_u64(v);
    jk_print_str("\n");
}

static inline void say_hex(const char *label, uint64_t v)
{
    jk_print_str(label);
    jk_print_str(" 0x");
    jk_print_hex(v, 16);
    jk_print_str("\n");
}

#endif
