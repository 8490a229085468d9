/*
 * file.c — the image file format (docs/image-format.md):
 *
 *   "JKIMG\0" ‖ version (1) ‖ image hash[32] ‖ state hash[32] ‖
 *   E(n) ‖ n × (E(|name|) ‖ name) ‖ E(count) ‖ count × (E(len) ‖ object)
 *
 * where E is the JAM natural (canonical), the names are the Image's endpoint
 * names (n = 0 or the endpoint count), and the objects are those of
 * jark/cap.h reachable from the Image and from the state CNode, each once, in
 * the order jk_cap_export sends them (the Image's, then the state's that the
 * Image does not share): children before parents.
 *
 * Invariant of the reader: it accepts exactly the files the writer makes.
 * Beyond the framing it checks that no object is empty or repeated, that
 * jk_cap_load (which re-hashes and strictly decodes every object) rebuilds
 * both roots, that nothing else is in the file, and finally that exporting
 * the loaded values again sends the file's objects in the file's order. So a
 * file is a canonical encoding: equal values, equal bytes.
 */
#include "jark/image.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* ---- an object table: objects in file order, with a hash index ---- */

typedef struct jk_obj {
    jk_hash name;
    const uint8_t *bytes;  /* reader: into the file */
    size_t len;
    bool used;             /* reader: jk_cap_load read it */
    bool exported;         /* reader: the canonical-order check sent it */
} jk_obj;

typedef struct jk_objtab {
    jk_obj *objs;
    size_t n, cap;
    uint32_t *index;       /* open addressing: object number + 1; 0 = empty */
    size_t index_size;     /* a power of two, > 2 · n */
} jk_objtab;

static void jk_objtab_free(jk_objtab *t)
{
    free(t->objs);
    free(t->index);
    memset(t, 0, sizeof *t);
}

static size_t jk_objtab_bucket(const jk_objtab *t, const jk_hash *h)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)h->bytes[i] << (8 * i);
    return (size_t)(v & (t->index_size - 1));
}

/* The number of the object named h, or -1. */
static long jk_objtab_find(const jk_objtab *t, const jk_hash *h)
{
    if (!t->index_size)
        return -1;
    for (size_t b = jk_objtab_bucket(t, h);; b = (b + 1) & (t->index_size - 1)) {
        uint32_t e = t->index[b];
        if (!e)
            return -1;
        if (!memcmp(t->objs[e - 1].name.bytes, h->bytes, JK_HASH_SIZE))
            return (long)(e - 1);
    }
}

static jk_err jk_objtab_reindex(jk_objtab *t, size_t size)
{
    uint32_t *index = calloc(size, sizeof *index);
    if (!index)
        return JK_ERR_NOMEM;
    free(t->index);
    t->index = index;
    t->index_size = size;
    for (size_t i = 0; i < t->n; i++) {
        size_t b = jk_objtab_bucket(t, &t->objs[i].name);
        while (t->index[b])
            b = (b + 1) & (size - 1);
        t->index[b] = (uint32_t)(i + 1);
    }
    return JK_OK;
}

/* Append an object (the caller has checked it is not present). */
static jk_err jk_objtab_add(jk_objtab *t, const jk_hash *h, const uint8_t *bytes, size_t len)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        jk_obj *objs = realloc(t->objs, cap * sizeof *objs);
        if (!objs)
            return JK_ERR_NOMEM;
        t->objs = objs;
        t->cap = cap;
    }
    jk_obj *o = &t->objs[t->n++];
    memset(o, 0, sizeof *o);
    o->name = *h;
    o->bytes = bytes;
    o->len = len;
    if (2 * t->n >= t->index_size)
        return jk_objtab_reindex(t, t->index_size ? t->index_size * 2 : 128);
    size_t b = jk_objtab_bucket(t, h);
    while (t->index[b])
        b = (b + 1) & (t->index_size - 1);
    t->index[b] = (uint32_t)t->n;
    return JK_OK;
}

/* ---- a growing byte buffer ---- */

typedef struct jk_buf {
    uint8_t *b;
    size_t n, cap;
} jk_buf;

static jk_err jk_buf_put(jk_buf *w, const void *p, size_t len)
{
    if (len > w->cap - w->n) {
        size_t cap = w->cap ? w->cap : 4096;
        while (len > cap - w->n) {
            if (cap > SIZE_MAX / 2)
                return JK_ERR_NOMEM;
            cap *= 2;
        }
        uint8_t *b = realloc(w->b, cap);
        if (!b)
            return JK_ERR_NOMEM;
        w->b = b;
        w->cap = cap;
    }
    if (len)
        memcpy(w->b + w->n, p, len);
    w->n += len;
    return JK_OK;
}

static jk_err jk_buf_nat(jk_buf *w, uint64_t v)
{
    uint8_t enc[9];
    return jk_buf_put(w, enc, jk_pvm_encode_natural(v, enc));
}

/* ---- shared checks ---- */

static bool jk_name_ok(const char *name, size_t len)
{
    if (len < 1 || len > JK_IMAGE_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
            return false;
    }
    return true;
}

/* name_count is 0 or the endpoint count; names valid and unique. */
static jk_err jk_names_check(const jk_image_file *f, jk_err err, jk_diag *diag)
{
    uint32_t eps = jk_cap_image_endpoint_count(f->image);
    if (f->name_count && f->name_count != eps)
        return jk_diag_set(diag, err, "%u endpoint names for an image with %u endpoints", f->name_count, eps);
    for (uint32_t i = 0; i < f->name_count; i++) {
        if (!jk_name_ok(f->names[i], strnlen(f->names[i], JK_IMAGE_NAME_MAX + 1)))
            return jk_diag_set(diag, err, "endpoint name %u is not 1..63 bytes of [A-Za-z0-9_]", i);
        for (uint32_t j = 0; j < i; j++)
            if (!strcmp(f->names[i], f->names[j]))
                return jk_diag_set(diag, err, "endpoint name '%s' is given twice (%u and %u)", f->names[i], j, i);
    }
    return JK_OK;
}

static bool jk_state_ok(jk_cap state)
{
    return jk_cap_is_null(state) ||
           (jk_cap_kind_of(state) == JK_CAP_CNODE && jk_cap_cnode_slot_count(state) == JK_CAP_ROOT_SLOTS);
}

void jk_image_file_clear(jk_image_file *f)
{
    jk_cap_release(f->image);
    jk_cap_release(f->state);
    f->image = jk_cap_null();
    f->state = jk_cap_null();
    f->name_count = 0;
}

int jk_image_file_find(const jk_image_file *f, const char *name)
{
    for (uint32_t i = 0; i < f->name_count; i++)
        if (!strcmp(f->names[i], name))
            return (int)i;
    return -1;
}

/* ---- writer ---- */

typedef struct jk_writer {
    jk_objtab tab;
    jk_buf objs;  /* count × (E(len) ‖ object) */
} jk_writer;

static jk_err jk_writer_has(void *ctx, const jk_hash *h, bool *present)
{
    jk_writer *w = ctx;
    *present = jk_objtab_find(&w->tab, h) >= 0;
    return JK_OK;
}

static jk_err jk_writer_put(void *ctx, const jk_hash *h, const uint8_t *bytes, size_t len)
{
    jk_writer *w = ctx;
    if (w->tab.n >= JK_IMAGE_FILE_MAX_OBJECTS || len > JK_IMAGE_FILE_MAX_OBJECT_LEN)
        return JK_ERR_CAP_TOO_LARGE;
    jk_err err = jk_objtab_add(&w->tab, h, NULL, len);
    if (err == JK_OK)
        err = jk_buf_nat(&w->objs, len);
    if (err == JK_OK)
        err = jk_buf_put(&w->objs, bytes, len);
    return err;
}

jk_err jk_image_file_write(const jk_image_file *f, uint8_t **out, size_t *out_len, jk_diag *diag)
{
    if (jk_cap_kind_of(f->image) != JK_CAP_IMAGE)
        return jk_diag_set(diag, JK_ERR_INVALID_ARG, "the image is a %s, not an Image",
                           jk_cap_kind_name(jk_cap_kind_of(f->image)));
    if (!jk_state_ok(f->state))
        return jk_diag_set(diag, JK_ERR_INVALID_ARG, "the state is not a %u-slot CNode", JK_CAP_ROOT_SLOTS);
    jk_err err = jk_names_check(f, JK_ERR_INVALID_ARG, diag);
    if (err != JK_OK)
        return err;

    jk_writer w;
    jk_buf file = {NULL, 0, 0};
    memset(&w, 0, sizeof w);
    jk_cap_sink sink = {&w, jk_writer_has, jk_writer_put};
    jk_diag d = {{0}};
    jk_hash image_hash, state_hash;
    memset(&state_hash, 0, sizeof state_hash);
    jk_cap_hash(f->image, &image_hash);
    err = jk_cap_export(f->image, &sink, &d);
    if (err == JK_OK && !jk_cap_is_null(f->state)) {
        jk_cap_hash(f->state, &state_hash);
        err = jk_cap_export(f->state, &sink, &d);
    }
    if (err != JK_OK) {
        if (err == JK_ERR_CAP_TOO_LARGE)
            jk_diag_set(diag, err, "more than %u objects, or an object over %u bytes", JK_IMAGE_FILE_MAX_OBJECTS,
                        JK_IMAGE_FILE_MAX_OBJECT_LEN);
        else
            jk_diag_set(diag, err, "export: %s", d.msg[0] ? d.msg : jk_strerror(err));
        goto fail;
    }
    const uint8_t version = JK_IMAGE_FILE_VERSION;
    if ((err = jk_buf_put(&file, JK_IMAGE_FILE_MAGIC, JK_IMAGE_FILE_MAGIC_LEN)) != JK_OK ||
        (err = jk_buf_put(&file, &version, 1)) != JK_OK ||
        (err = jk_buf_put(&file, image_hash.bytes, JK_HASH_SIZE)) != JK_OK ||
        (err = jk_buf_put(&file, state_hash.bytes, JK_HASH_SIZE)) != JK_OK ||
        (err = jk_buf_nat(&file, f->name_count)) != JK_OK)
        goto nomem;
    for (uint32_t i = 0; i < f->name_count; i++) {
        size_t n = strlen(f->names[i]);
        if ((err = jk_buf_nat(&file, n)) != JK_OK || (err = jk_buf_put(&file, f->names[i], n)) != JK_OK)
            goto nomem;
    }
    if ((err = jk_buf_nat(&file, w.tab.n)) != JK_OK || (err = jk_buf_put(&file, w.objs.b, w.objs.n)) != JK_OK)
        goto nomem;
    *out = file.b;
    *out_len = file.n;
    free(w.objs.b);
    jk_objtab_free(&w.tab);
    return JK_OK;
nomem:
    jk_diag_set(diag, err, "out of memory");
fail:
    free(file.b);
    free(w.objs.b);
    jk_objtab_free(&w.tab);
    return err;
}

/* ---- reader ---- */

typedef struct jk_reader {
    const uint8_t *b;
    size_t len, pos;
    jk_objtab tab;
    size_t next;        /* canonical-order check: the next object expected */
    char why[160];      /* canonical-order check: what went wrong */
} jk_reader;

/* A canonical natural at r->pos. */
static jk_err jk_read_nat(jk_reader *r, const char *what, uint64_t *v, jk_diag *diag)
{
    uint8_t enc[9];
    size_t used = jk_pvm_decode_natural(r->b + r->pos, r->len - r->pos, v);
    if (!used)
        return jk_diag_set(diag, JK_ERR_CAP_DECODE, "truncated at byte %zu (%s)", r->pos, what);
    if (jk_pvm_encode_natural(*v, enc) != used)
        return jk_diag_set(diag, JK_ERR_CAP_DECODE, "%s at byte %zu is not a canonical natural", what, r->pos);
    r->pos += used;
    return JK_OK;
}

static jk_err jk_reader_get(void *ctx, const jk_hash *h, const uint8_t **bytes, size_t *len)
{
    jk_reader *r = ctx;
    long i = jk_objtab_find(&r->tab, h);
    if (i < 0)
        return JK_ERR_CAP_MISSING;
    r->tab.objs[i].used = true;
    *bytes = r->tab.objs[i].bytes;
    *len = r->tab.objs[i].len;
    return JK_OK;
}

static jk_err jk_check_has(void *ctx, const jk_hash *h, bool *present)
{
    jk_reader *r = ctx;
    long i = jk_objtab_find(&r->tab, h);
    *present = i >= 0 && r->tab.objs[i].exported;
    return JK_OK;
}

static jk_err jk_check_put(void *ctx, const jk_hash *h, const uint8_t *bytes, size_t len)
{
    jk_reader *r = ctx;
    (void)bytes;
    (void)len;
    if (r->next >= r->tab.n || memcmp(r->tab.objs[r->next].name.bytes, h->bytes, JK_HASH_SIZE) != 0) {
        long i = jk_objtab_find(&r->tab, h);
        snprintf(r->why, sizeof r->why, "objects out of canonical order: object %ld comes where object %zu is",
                 i, r->next);
        return JK_ERR_CAP_DECODE;
    }
    r->tab.objs[r->next++].exported = true;
    return JK_OK;
}

/* Load the value named h (a root of the file) from the table. */
static jk_err jk_reader_load(jk_reader *r, const char *what, const jk_hash *h, jk_cap *out, jk_diag *diag)
{
    jk_cap_source src = {r, jk_reader_get};
    jk_diag d = {{0}};
    jk_err err = jk_cap_load(&src, h, out, &d);
    if (err != JK_OK)
        return jk_diag_set(diag, err, "%s: %s", what, d.msg[0] ? d.msg : jk_strerror(err));
    return JK_OK;
}

static jk_err jk_reader_names(jk_reader *r, jk_image_file *out, jk_diag *diag)
{
    uint64_t n, len;
    jk_err err = jk_read_nat(r, "the endpoint-name count", &n, diag);
    if (err != JK_OK)
        return err;
    if (n > JK_CAP_IMAGE_MAX_ENDPOINTS)
        return jk_diag_set(diag, JK_ERR_CAP_TOO_LARGE, "%llu endpoint names (at most %u)", (unsigned long long)n,
                           JK_CAP_IMAGE_MAX_ENDPOINTS);
    for (uint32_t i = 0; i < n; i++) {
        if ((err = jk_read_nat(r, "an endpoint name's length", &len, diag)) != JK_OK)
            return err;
        if (len > r->len - r->pos)
            return jk_diag_set(diag, JK_ERR_CAP_DECODE, "truncated in endpoint name %u", i);
        if (!jk_name_ok((const char *)r->b + r->pos, (size_t)len))
            return jk_diag_set(diag, JK_ERR_CAP_DECODE, "endpoint name %u is not 1..63 bytes of [A-Za-z0-9_]", i);
        memcpy(out->names[i], r->b + r->pos, (size_t)len);
        out->names[i][len] = 0;
        r->pos += (size_t)len;
        for (uint32_t j = 0; j < i; j++)
            if (!strcmp(out->names[i], out->names[j]))
                return jk_diag_set(diag, JK_ERR_CAP_DECODE, "endpoint name '%s' is given twice", out->names[i]);
    }
    out->name_count = (uint32_t)n;
    return JK_OK;
}

static jk_err jk_reader_objects(jk_reader *r, jk_diag *diag)
{
    uint64_t count, len;
    jk_err err = jk_read_nat(r, "the object count", &count, diag);
    if (err != JK_OK)
        return err;
    if (count == 0)
        return jk_diag_set(diag, JK_ERR_CAP_DECODE, "no objects");
    if (count > JK_IMAGE_FILE_MAX_OBJECTS)
        return jk_diag_set(diag, JK_ERR_CAP_TOO_LARGE, "%llu objects (at most %u)", (unsigned long long)count,
                           JK_IMAGE_FILE_MAX_OBJECTS);
    if (count > (r->len - r->pos) / 2) /* each takes at least 2 bytes */
        return jk_diag_set(diag, JK_ERR_CAP_DECODE, "truncated: %llu objects cannot fit in %zu bytes",
                           (unsigned long long)count, r->len - r->pos);
    r->tab.objs = malloc((size_t)count * sizeof *r->tab.objs);
    size_t size = 128;
    while (size <= 2 * count)
        size *= 2;
    r->tab.index = calloc(size, sizeof *r->tab.index);
    if (!r->tab.objs || !r->tab.index)
        return jk_diag_set(diag, JK_ERR_NOMEM, "out of memory for %llu objects", (unsigned long long)count);
    r->tab.cap = (size_t)count;
    r->tab.index_size = size;
    for (uint32_t i = 0; i < count; i++) {
        if ((err = jk_read_nat(r, "an object length", &len, diag)) != JK_OK)
            return err;
        if (len == 0)
            return jk_diag_set(diag, JK_ERR_CAP_DECODE, "object %u is empty", i);
        if (len > JK_IMAGE_FILE_MAX_OBJECT_LEN)
            return jk_diag_set(diag, JK_ERR_CAP_TOO_LARGE, "object %u is %llu bytes (at most %u)", i,
                               (unsigned long long)len, JK_IMAGE_FILE_MAX_OBJECT_LEN);
        if (len > r->len - r->pos)
            return jk_diag_set(diag, JK_ERR_CAP_DECODE, "truncated in object %u (%llu bytes, %zu left)", i,
                               (unsigned long long)len, r->len - r->pos);
        jk_hash h;
        jk_crypto_blake2b256(r->b + r->pos, (size_t)len, &h);
        long dup = jk_objtab_find(&r->tab, &h);
        if (dup >= 0)
            return jk_diag_set(diag, JK_ERR_CAP_DECODE, "object %u duplicates object %ld", i, dup);
        if ((err = jk_objtab_add(&r->tab, &h, r->b + r->pos, (size_t)len)) != JK_OK)
            return jk_diag_set(diag, err, "out of memory");
        r->pos += (size_t)len;
    }
    if (r->pos != r->len)
        return jk_diag_set(diag, JK_ERR_CAP_DECODE, "%zu trailing bytes after the last object", r->len - r->pos);
    return JK_OK;
}

jk_err jk_image_file_read(const uint8_t *bytes, size_t len, jk_image_file *out, jk_diag *diag)
{
    const size_t header = JK_IMAGE_FILE_MAGIC_LEN + 1 + 2 * JK_HASH_SIZE;
    jk_reader *r = calloc(1, sizeof *r);
    jk_hash image_hash, state_hash, zero;
    jk_cap empty = jk_cap_null(), inst = jk_cap_null();
    jk_err err;
    out->image = out->state = jk_cap_null();
    out->name_count = 0;
    if (!r)
        return jk_diag_set(diag, JK_ERR_NOMEM, "out of memory");
    r->b = bytes;
    r->len = len;
    if (len < JK_IMAGE_FILE_MAGIC_LEN || memcmp(bytes, JK_IMAGE_FILE_MAGIC, JK_IMAGE_FILE_MAGIC_LEN) != 0) {
        err = jk_diag_set(diag, JK_ERR_CAP_DECODE, "not an image file (no \"JKIMG\\0\" magic)");
        goto fail;
    }
    if (len < header) {
        err = jk_diag_set(diag, JK_ERR_CAP_DECODE, "truncated in the header (%zu of %zu bytes)", len, header);
        goto fail;
    }
    if (bytes[JK_IMAGE_FILE_MAGIC_LEN] != JK_IMAGE_FILE_VERSION) {
        err = jk_diag_set(diag, JK_ERR_CAP_DECODE, "image file version %u (this jark reads version %u)",
                          bytes[JK_IMAGE_FILE_MAGIC_LEN], JK_IMAGE_FILE_VERSION);
        goto fail;
    }
    memcpy(image_hash.bytes, bytes + JK_IMAGE_FILE_MAGIC_LEN + 1, JK_HASH_SIZE);
    memcpy(state_hash.bytes, bytes + JK_IMAGE_FILE_MAGIC_LEN + 1 + JK_HASH_SIZE, JK_HASH_SIZE);
    memset(&zero, 0, sizeof zero);
    r->pos = header;
    if ((err = jk_reader_names(r, out, diag)) != JK_OK || (err = jk_reader_objects(r, diag)) != JK_OK)
        goto fail;

    if ((err = jk_reader_load(r, "image", &image_hash, &out->image, diag)) != JK_OK)
        goto fail;
    if (jk_cap_kind_of(out->image) != JK_CAP_IMAGE) {
        err = jk_diag_set(diag, JK_ERR_CAP_DECODE, "the image hash names a %s, not an Image",
                          jk_cap_kind_name(jk_cap_kind_of(out->image)));
        goto fail;
    }
    if (memcmp(state_hash.bytes, zero.bytes, JK_HASH_SIZE) != 0) {
        if ((err = jk_reader_load(r, "state", &state_hash, &out->state, diag)) != JK_OK)
            goto fail;
        if (!jk_state_ok(out->state)) {
            err = jk_diag_set(diag, JK_ERR_CAP_DECODE, "the state hash names a %s, not a %u-slot CNode",
                              jk_cap_kind_name(jk_cap_kind_of(out->state)), JK_CAP_ROOT_SLOTS);
            goto fail;
        }
    }
    for (size_t i = 0; i < r->tab.n; i++)
        if (!r->tab.objs[i].used) {
            err = jk_diag_set(diag, JK_ERR_CAP_DECODE, "object %zu is reachable from neither the image nor the state",
                              i);
            goto fail;
        }
    if ((err = jk_names_check(out, JK_ERR_CAP_DECODE, diag)) != JK_OK)
        goto fail;

    /* Canonical order: exporting the values again must send exactly the
     * file's objects, in the file's order. */
    jk_cap_sink sink = {r, jk_check_has, jk_check_put};
    err = jk_cap_export(out->image, &sink, NULL);
    if (err == JK_OK && !jk_cap_is_null(out->state))
        err = jk_cap_export(out->state, &sink, NULL);
    if (err == JK_OK && r->next != r->tab.n) {
        snprintf(r->why, sizeof r->why, "objects out of canonical order: %zu of %zu exported", r->next, r->tab.n);
        err = JK_ERR_CAP_DECODE;
    }
    if (err != JK_OK) {
        jk_diag_set(diag, err, "%s", r->why[0] ? r->why : jk_strerror(err));
        goto fail;
    }

    /* `image run` must be able to make its instance. */
    jk_diag d = {{0}};
    if (jk_cap_is_null(out->state) && (err = jk_cap_cnode_new(JK_CAP_ROOT_LOG2, &empty)) != JK_OK) {
        jk_diag_set(diag, err, "out of memory");
        goto fail;
    }
    err = jk_cap_instance_genesis(out->image, jk_cap_is_null(out->state) ? empty : out->state, &inst, &d);
    if (err != JK_OK) {
        jk_diag_set(diag, err, "state: %s", d.msg[0] ? d.msg : jk_strerror(err));
        goto fail;
    }
    jk_cap_release(inst);
    jk_cap_release(empty);
    jk_objtab_free(&r->tab);
    free(r);
    return JK_OK;
fail:
    jk_cap_release(empty);
    jk_image_file_clear(out);
    jk_objtab_free(&r->tab);
    free(r);
    return err;
}

/* ---- files on disk ---- */

jk_err jk_image_file_save(const char *path, const jk_image_file *f, jk_diag *diag)
{
    uint8_t *bytes;
    size_t len;
    jk_err err = jk_image_file_write(f, &bytes, &len, diag);
    if (err != JK_OK)
        return err;
    errno = 0;
    FILE *out = fopen(path, "wb");
    bool ok = out && fwrite(bytes, 1, len, out) == len;
    if (out && fclose(out) != 0)
        ok = false;
    if (!ok)
        err = jk_diag_set(diag, JK_ERR_IO, "%s: %s", path, errno ? strerror(errno) : "write error");
    free(bytes);
    return err;
}

jk_err jk_image_file_load(const char *path, jk_image_file *out, jk_diag *diag)
{
    uint8_t *bytes;
    size_t len;
    jk_diag d = {{0}};
    out->image = out->state = jk_cap_null();
    out->name_count = 0;
    jk_err err = jk_read_file(path, &bytes, &len, diag);
    if (err != JK_OK)
        return err;
    err = jk_image_file_read(bytes, len, out, &d);
    free(bytes);
    if (err != JK_OK)
        jk_diag_set(diag, err, "%s: %s", path, d.msg);
    return err;
}
