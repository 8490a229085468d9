/*
 * fuzz_cap.c — fuzz target over every cap decoder: the one-object syntax
 * check (jk_cap_object_check) and the loader (jk_cap_load), which parses every
 * object kind, follows children, checks shapes, builds Images (loading their
 * programs) and Instances (with continuations).
 *
 * Input: byte 0 selects the mode, the rest is its payload.
 *   mode % 4 == 0  one object: the payload is checked by jk_cap_object_check.
 *   mode % 4 == 1  a bundle: records u16le(len) ‖ bytes, each stored under
 *                  H(bytes); the value named by the last record is loaded.
 *   mode % 4 == 2  a bundle with explicit names: u16le(len) ‖ name[32] ‖
 *                  bytes (a name need not match: the loader must notice).
 *   mode % 4 == 3  a linked bundle: as mode 1, but inside a record every
 *                  32-byte field that starts "JKRF" and then an index byte i
 *                  is replaced by the name of record i (an earlier one), so
 *                  the fuzzer can rewire trees without finding hashes.
 * A refusal must come with a diagnostic. A loaded value must hash to its
 * name, must export to exactly the bundle's objects (canonical encoding),
 * must survive its accessors and a change, and must free every object it
 * made. Any crash, leak, sanitizer report or broken rule aborts.
 */
#include "jark/cap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int jk_fuzz_cap(const uint8_t *data, size_t size);

#define JK_FUZZ_MAX_OBJS 512

typedef struct jk_fuzz_obj {
    jk_hash name;
    const uint8_t *bytes;
    size_t len;
    bool exported;
} jk_fuzz_obj;

typedef struct jk_fuzz_bundle {
    jk_fuzz_obj objs[JK_FUZZ_MAX_OBJS];
    size_t n;
} jk_fuzz_bundle;

static void jk_fuzz_fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_cap: %s %s\n", what, detail ? detail : "");
    abort();
}

static jk_fuzz_obj *jk_fuzz_find(jk_fuzz_bundle *b, const jk_hash *h)
{
    for (size_t i = 0; i < b->n; i++)
        if (memcmp(b->objs[i].name.bytes, h->bytes, JK_HASH_SIZE) == 0)
            return &b->objs[i];
    return NULL;
}

static jk_err jk_fuzz_get(void *ctx, const jk_hash *h, const uint8_t **bytes, size_t *len)
{
    jk_fuzz_obj *o = jk_fuzz_find(ctx, h);
    if (!o)
        return JK_ERR_CAP_MISSING;
    *bytes = o->bytes;
    *len = o->len;
    return JK_OK;
}

static jk_err jk_fuzz_has(void *ctx, const jk_hash *h, bool *present)
{
    jk_fuzz_obj *o = jk_fuzz_find(ctx, h);
    *present = o && o->exported;
    return JK_OK;
}

/* Export must reproduce the loaded objects byte for byte. */
static jk_err jk_fuzz_put(void *ctx, const jk_hash *h, const uint8_t *bytes, size_t len)
{
    jk_fuzz_obj *o = jk_fuzz_find(ctx, h);
    if (!o || o->len != len || memcmp(o->bytes, bytes, len) != 0)
        jk_fuzz_fail("export differs from the loaded objects", NULL);
    jk_hash check;
    jk_crypto_blake2b256(bytes, len, &check);
    if (memcmp(check.bytes, h->bytes, JK_HASH_SIZE) != 0)
        jk_fuzz_fail("export names an object wrongly", NULL);
    o->exported = true;
    return JK_OK;
}

/* Room for the rewritten records of a linked bundle. */
static uint8_t jk_fuzz_arena[1 << 17];

/* Replace "JKRF" i ... (32 bytes) by the name of record i < n. */
static const uint8_t *jk_fuzz_link(const uint8_t *p, size_t len, jk_fuzz_bundle *b,
                                   size_t *used)
{
    if (*used + len > sizeof jk_fuzz_arena)
        return p;
    uint8_t *out = jk_fuzz_arena + *used;
    memcpy(out, p, len);
    *used += len;
    for (size_t i = 0; i + JK_HASH_SIZE <= len; i++) {
        if (memcmp(out + i, "JKRF", 4) != 0 || out[i + 4] >= b->n)
            continue;
        memcpy(out + i, b->objs[out[i + 4]].name.bytes, JK_HASH_SIZE);
        i += JK_HASH_SIZE - 1;
    }
    return out;
}

/* Split the payload into objects. */
static void jk_fuzz_parse(const uint8_t *p, size_t size, bool named, bool linked,
                          jk_fuzz_bundle *b)
{
    size_t used = 0;
    b->n = 0;
    while (size >= 2 && b->n < JK_FUZZ_MAX_OBJS) {
        size_t len = (size_t)p[0] | (size_t)p[1] << 8;
        p += 2;
        size -= 2;
        jk_fuzz_obj *o = &b->objs[b->n];
        if (named) {
            if (size < JK_HASH_SIZE)
                return;
            memcpy(o->name.bytes, p, JK_HASH_SIZE);
            p += JK_HASH_SIZE;
            size -= JK_HASH_SIZE;
        }
        if (len > size)
            len = size;
        o->bytes = linked ? jk_fuzz_link(p, len, b, &used) : p;
        o->len = len;
        o->exported = false;
        if (!named)
            jk_crypto_blake2b256(o->bytes, len, &o->name);
        p += len;
        size -= len;
        b->n++;
    }
}

/* Use the value: accessors, a change, a hash. */
static void jk_fuzz_exercise(jk_cap c, uint8_t salt)
{
    jk_cap changed = jk_cap_null();
    jk_hash h;
    switch (jk_cap_kind_of(c)) {
    case JK_CAP_DATA: {
        uint8_t buf[256];
        uint64_t len = jk_cap_data_len(c);
        size_t n = len < sizeof buf ? (size_t)len : sizeof buf;
        if (jk_cap_data_read(c, len - n, buf, n) != JK_OK)
            jk_fuzz_fail("data read failed", NULL);
        uint32_t pages = jk_cap_data_page_count(c);
        if (pages && !jk_cap_data_page(c, pages - 1))
            jk_fuzz_fail("data page missing", NULL);
        if (len && jk_cap_data_write(c, salt % len, &salt, 1, &changed) != JK_OK)
            jk_fuzz_fail("data write failed", NULL);
        break;
    }
    case JK_CAP_CNODE: {
        uint32_t idx, from = 0, seen = 0;
        while (seen < 64 && jk_cap_cnode_next(c, from, &idx)) {
            if (jk_cap_is_null(jk_cap_cnode_get(c, idx)))
                jk_fuzz_fail("cnode next found an empty slot", NULL);
            seen++;
            from = idx + 1;
        }
        if (jk_cap_cnode_set(c, salt % jk_cap_cnode_slot_count(c), jk_cap_null(), &changed) !=
            JK_OK)
            jk_fuzz_fail("cnode set failed", NULL);
        break;
    }
    case JK_CAP_IMAGE:
        if (!jk_cap_image_program(c))
            jk_fuzz_fail("image without program", NULL);
        for (uint32_t i = 0; i < jk_cap_image_endpoint_count(c); i++)
            if (!jk_pvm_program_is_block_start(jk_cap_image_program(c),
                                               jk_cap_image_endpoint(c, i)->pc))
                jk_fuzz_fail("image endpoint not a block start", NULL);
        break;
    case JK_CAP_INSTANCE:
        for (uint32_t i = 0; i < jk_cap_instance_frame_count(c); i++)
            if (!jk_cap_instance_frame(c, i))
                jk_fuzz_fail("instance frame missing", NULL);
        if (jk_cap_instance_with_status(c, JK_CAP_FAULTED, &changed) != JK_OK)
            jk_fuzz_fail("with_status failed", NULL);
        break;
    case JK_CAP_NONE:
        jk_fuzz_fail("loaded the null cap", NULL);
    }
    if (!jk_cap_is_null(changed)) {
        jk_cap_hash(changed, &h);
        jk_cap_release(changed);
    }
}

int jk_fuzz_cap(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    jk_diag diag = {{0}};
    uint8_t mode = data[0] % 4;
    if (mode == 0) {
        if (jk_cap_object_check(data + 1, size - 1, &diag) != JK_OK && !diag.msg[0])
            jk_fuzz_fail("refusal without a message", NULL);
        return 0;
    }
    static jk_fuzz_bundle bundle;
    jk_fuzz_parse(data + 1, size - 1, mode == 2, mode == 3, &bundle);
    if (bundle.n == 0)
        return 0;
    jk_hash root = bundle.objs[bundle.n - 1].name;
    jk_cap_stats s0, s1;
    jk_cap_stats_get(&s0);
    jk_cap_source src = {&bundle, jk_fuzz_get};
    jk_cap c;
    jk_err err = jk_cap_load(&src, &root, &c, &diag);
    if (err != JK_OK) {
        if (!diag.msg[0])
            jk_fuzz_fail("refusal without a message", jk_strerror(err));
    } else {
        jk_hash h;
        jk_cap_hash(c, &h);
        if (memcmp(h.bytes, root.bytes, JK_HASH_SIZE) != 0)
            jk_fuzz_fail("loaded value hashes to another name", NULL);
        jk_cap_sink sink = {&bundle, jk_fuzz_has, jk_fuzz_put};
        if (jk_cap_export(c, &sink, &diag) != JK_OK)
            jk_fuzz_fail("export failed", diag.msg);
        jk_fuzz_exercise(c, data[0]);
        jk_cap_release(c);
    }
    jk_cap_stats_get(&s1);
    if (s1.live_objects != s0.live_objects)
        jk_fuzz_fail("objects leaked or over-freed", NULL);
    return 0;
}

#ifdef JK_FUZZ_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return jk_fuzz_cap(data, size);
}
#endif
