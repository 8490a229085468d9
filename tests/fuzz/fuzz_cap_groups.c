/*
 * fuzz_cap_groups.c — the store's CNode group records (src/cap/load.c,
 * jk_cap_load_grouped): a bundle of records is loaded the way the store
 * loads them. Input: records u16le(len) ‖ bytes; a record starting with
 * the group tag 0x08 is named by its top node (BLAKE2b-256 of 0x05 ‖ its
 * bytes 2..66), any other by H(bytes); inside a record every 32-byte field
 * that starts "JKRF" and then an index byte i is replaced by the name of
 * record i (an earlier one), so that the fuzzer can build trees without
 * finding hashes. The value named by the last record is loaded. A refusal
 * must come with a message; a loaded value must hash to its name and
 * export (grouped) to sound records that load back to the same value and
 * export again to exactly themselves (layout 3 holds a small Data in its
 * group where the input may have given it a record of its own: docs/cap.md
 * "Store: small Data in groups"), and free every object it made. Records
 * of tag 0x08 (layout 2) and 0x09 (layout 3, a form byte per slot) are
 * both read.
 */
#include "fuzz_targets.h"

#include "jark/cap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JK_FG_MAX 64

typedef struct jk_fg_rec {
    jk_hash name;
    const uint8_t *bytes;
    size_t len;
} jk_fg_rec;

typedef struct jk_fg_bundle {
    jk_fg_rec recs[JK_FG_MAX];
    size_t n;
    uint8_t arena[1 << 17]; /* an export may add a form byte a slot */
    size_t used;
} jk_fg_bundle;

static void jk_fg_fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_cap_groups: %s %s\n", what, detail ? detail : "");
    abort();
}

static void jk_fg_name(const uint8_t *p, size_t len, jk_hash *out)
{
    if (len >= 66 && (p[0] == 0x08 || p[0] == 0x09)) {
        uint8_t enc[65] = {JK_CAP_TAG_CNODE_NODE};
        memcpy(enc + 1, p + 2, 64);
        jk_crypto_blake2b256(enc, sizeof enc, out);
    } else {
        jk_crypto_blake2b256(p, len, out);
    }
}

static jk_fg_rec *jk_fg_find(jk_fg_bundle *b, const jk_hash *h)
{
    for (size_t i = 0; i < b->n; i++)
        if (memcmp(b->recs[i].name.bytes, h->bytes, JK_HASH_SIZE) == 0)
            return &b->recs[i];
    return NULL;
}

static jk_err jk_fg_get(void *ctx, const jk_hash *h, const uint8_t **bytes, size_t *len)
{
    jk_fg_rec *r = jk_fg_find(ctx, h);
    if (!r)
        return JK_ERR_CAP_MISSING;
    *bytes = r->bytes;
    *len = r->len;
    return JK_OK;
}

static jk_err jk_fg_has(void *ctx, const jk_hash *h, bool *present)
{
    (void)ctx;
    (void)h;
    *present = false; /* export everything: each record must come back */
    return JK_OK;
}

/* The export's records, kept (a bundle of its own). */
static jk_err jk_fg_keep(void *ctx, const jk_hash *h, const uint8_t *bytes, size_t len)
{
    jk_fg_bundle *b = ctx;
    jk_hash check;
    jk_fg_name(bytes, len, &check);
    if (memcmp(check.bytes, h->bytes, JK_HASH_SIZE) != 0)
        jk_fg_fail("export names a record wrongly", NULL);
    jk_diag diag = {{0}};
    if (jk_cap_store_record_check(h, bytes, len, &diag) != JK_OK)
        jk_fg_fail("export wrote an unsound record:", diag.msg);
    if (jk_fg_find(b, h))
        return JK_OK;
    if (b->n == JK_FG_MAX || b->used + len > sizeof b->arena)
        jk_fg_fail("export wrote more than the bundle held", NULL);
    uint8_t *out = b->arena + b->used;
    memcpy(out, bytes, len);
    b->used += len;
    b->recs[b->n++] = (jk_fg_rec){*h, out, len};
    return JK_OK;
}

/* The second export must give exactly the first one's records. */
static jk_err jk_fg_put(void *ctx, const jk_hash *h, const uint8_t *bytes, size_t len)
{
    jk_fg_rec *r = jk_fg_find(ctx, h);
    if (!r || r->len != len || memcmp(r->bytes, bytes, len) != 0)
        jk_fg_fail("a second export differs from the first", NULL);
    return JK_OK;
}

static void jk_fg_parse(const uint8_t *p, size_t size, jk_fg_bundle *b)
{
    b->n = 0;
    b->used = 0;
    while (size >= 2 && b->n < JK_FG_MAX) {
        size_t len = (size_t)p[0] | (size_t)p[1] << 8;
        p += 2;
        size -= 2;
        if (len > size)
            len = size;
        if (b->used + len > sizeof b->arena)
            return;
        uint8_t *out = b->arena + b->used;
        memcpy(out, p, len);
        b->used += len;
        for (size_t i = 0; i + JK_HASH_SIZE <= len; i++) {
            if (memcmp(out + i, "JKRF", 4) != 0 || out[i + 4] >= b->n)
                continue;
            memcpy(out + i, b->recs[out[i + 4]].name.bytes, JK_HASH_SIZE);
            i += JK_HASH_SIZE - 1;
        }
        jk_fg_rec *r = &b->recs[b->n++];
        r->bytes = out;
        r->len = len;
        jk_fg_name(out, len, &r->name);
        p += len;
        size -= len;
    }
}

int jk_fuzz_cap_groups(const uint8_t *data, size_t size)
{
    static jk_fg_bundle bundle;
    jk_fg_parse(data, size, &bundle);
    if (bundle.n == 0)
        return 0;
    jk_hash root = bundle.recs[bundle.n - 1].name;
    jk_cap_stats s0, s1;
    jk_cap_stats_get(&s0);
    jk_cap_source src = {&bundle, jk_fg_get};
    jk_diag diag = {{0}};
    jk_cap c;
    jk_err err = jk_cap_load_grouped(&src, &root, &c, &diag);
    if (err != JK_OK) {
        if (!diag.msg[0])
            jk_fg_fail("refusal without a message", jk_strerror(err));
    } else {
        jk_hash h;
        jk_cap_hash(c, &h);
        if (memcmp(h.bytes, root.bytes, JK_HASH_SIZE) != 0)
            jk_fg_fail("loaded value hashes to another name", NULL);
        static jk_fg_bundle out;
        out.n = out.used = 0;
        jk_cap_sink keep = {&out, jk_fg_has, jk_fg_keep};
        if (jk_cap_export_grouped(c, &keep, &diag) != JK_OK)
            jk_fg_fail("export failed", diag.msg);
        jk_cap_release(c);
        jk_cap_source again = {&out, jk_fg_get};
        if (jk_cap_load_grouped(&again, &root, &c, &diag) != JK_OK)
            jk_fg_fail("the export does not load:", diag.msg);
        jk_cap_sink same = {&out, jk_fg_has, jk_fg_put};
        if (jk_cap_export_grouped(c, &same, &diag) != JK_OK)
            jk_fg_fail("second export failed", diag.msg);
        jk_cap_release(c);
    }
    jk_cap_stats_get(&s1);
    if (s1.live_objects != s0.live_objects)
        jk_fg_fail("objects leaked or over-freed", NULL);
    return 0;
}

#ifdef JK_FUZZ_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return jk_fuzz_cap_groups(data, size);
}
#endif
