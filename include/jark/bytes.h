/*
 * jark/bytes.h — little-endian integers in byte buffers, the one encoding
 * every jark format uses for fixed-width numbers (docs/block-format.md,
 * docs/node.md, the demo chain), and hex digits. Base layer: no dependencies.
 */
#ifndef JARK_BYTES_H
#define JARK_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* On a little-endian host each of these is one load or store (gcc 12 at -O2
 * keeps the byte loops as loops: 8 iterations a call, ~4x the instructions of
 * a lookup that reads ids by words); elsewhere the byte loops, which give the
 * same values on every host. */
#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define JK_BYTES_LE_HOST 1
#else
#define JK_BYTES_LE_HOST 0
#endif

static inline void jk_put_u32le(uint8_t *p, uint32_t v)
{
#if JK_BYTES_LE_HOST
    memcpy(p, &v, 4);
#else
    for (unsigned i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
#endif
}

static inline void jk_put_u64le(uint8_t *p, uint64_t v)
{
#if JK_BYTES_LE_HOST
    memcpy(p, &v, 8);
#else
    for (unsigned i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
#endif
}

static inline uint32_t jk_get_u32le(const uint8_t *p)
{
    uint32_t v = 0;
#if JK_BYTES_LE_HOST
    memcpy(&v, p, 4);
#else
    for (unsigned i = 0; i < 4; i++)
        v |= (uint32_t)p[i] << (8 * i);
#endif
    return v;
}

static inline uint64_t jk_get_u64le(const uint8_t *p)
{
    uint64_t v = 0;
#if JK_BYTES_LE_HOST
    memcpy(&v, p, 8);
#else
    for (unsigned i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
#endif
    return v;
}

/* Lower-case hex of b[0..n) into out: 2n digits and a NUL (out holds 2n + 1). */
static inline void jk_hex_encode(const uint8_t *b, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = 0;
}

/* The value of one hex digit (0-9, a-f, A-F), or -1 for any other char. */
static inline int jk_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

#endif
