/*
 * test_cap_hash_stage.c — an object's hash is gathered in a small buffer and
 * hashed in one call when its encoding fits, and hashed incrementally when
 * it does not (cap.c, jk_obj_hash_compute). Either way the digest is BLAKE2b
 * of the encoding, computed here from the spec's layout, byte by byte, for
 * every length around the buffer's size.
 */
#include "../test.h"
#include "jark/cap.h"
#include "jark/crypto.h"

#include <stdlib.h>
#include <string.h>

static void jk_put_le(uint8_t *p, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* H(DATA ‖ LE64(len) ‖ H(DATA_PAGE ‖ LE32(len) ‖ bytes)): a one-page Data
 * (an empty one has the zero root). */
static void jk_one_page_data_hash(const uint8_t *bytes, uint32_t len, jk_hash *out)
{
    jk_hash root = {{0}};
    if (len > 0) {
        uint8_t *page = malloc(5 + (size_t)len);
        JK_REQUIRE(page != NULL);
        page[0] = JK_CAP_TAG_DATA_PAGE;
        jk_put_le(page + 1, len, 4);
        memcpy(page + 5, bytes, len);
        jk_crypto_blake2b256(page, 5 + (size_t)len, &root);
        free(page);
    }
    uint8_t body[1 + 8 + JK_HASH_SIZE];
    body[0] = JK_CAP_TAG_DATA;
    jk_put_le(body + 1, len, 8);
    memcpy(body + 9, root.bytes, JK_HASH_SIZE);
    jk_crypto_blake2b256(body, sizeof body, out);
}

/* jk_cap_hash of a Data of len bytes equals the hash from the layout. */
static void jk_check_len(const uint8_t *bytes, uint32_t len)
{
    jk_cap data;
    JK_REQUIRE(jk_cap_data_new(bytes, len, &data) == JK_OK);
    jk_hash got, want;
    jk_cap_hash(data, &got);
    jk_one_page_data_hash(bytes, len, &want);
    if (memcmp(got.bytes, want.bytes, JK_HASH_SIZE) != 0)
        printf("Data of %u bytes\n", len);
    JK_CHECK(memcmp(got.bytes, want.bytes, JK_HASH_SIZE) == 0);
    jk_cap_release(data);
}

JK_TEST(test_cap_hash_staged_and_incremental_agree_with_the_encoding)
{
    static uint8_t bytes[4096];
    for (size_t i = 0; i < sizeof bytes; i++)
        bytes[i] = (uint8_t)(i * 131 + 7);
    /* page encodings (5 + len bytes) that end before, at and past the
     * staging buffer, and longer ones up to a full page */
    for (uint32_t len = 0; len <= 400; len++)
        jk_check_len(bytes, len);
    static const uint32_t more[] = {1000, 2048, 4095, 4096};
    for (size_t i = 0; i < sizeof more / sizeof more[0]; i++)
        jk_check_len(bytes, more[i]);
}
