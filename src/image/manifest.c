/*
 * manifest.c — the image manifest (`jark image build`) (docs/image-format.md,
 * "Manifest"): JSON in, an Image and an initial-state CNode out.
 *
 * The Image layout is not decided here: jk_kernel_image_from_program lays the
 * program out (read-only and read-write data pinned, stack, endpoint
 * registers), with the manifest's mappings, pins and catcher slot as extras.
 * When the manifest selects or reorders endpoints, the Image is rebuilt from
 * that one's own accessors with the chosen endpoints, so both paths share one
 * layout.
 *
 * Nothing in a manifest is trusted: unknown keys, keys given twice, wrong
 * types and out-of-range values are refused, with a message naming the field
 * ("pins[1].slot: ..."), before anything is built.
 */
#include "jark/bytes.h"
#include "jark/image.h"

#include <json-c/json.h>

#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define JK_FIELD 96 /* room for a field name such as "state[12].data_zero" */

/* ---- small helpers ---- */

__attribute__((format(printf, 4, 5)))
static jk_err jk_mf_fail(jk_diag *diag, jk_err err, const char *field, const char *fmt, ...)
{
    char msg[sizeof diag->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return jk_diag_set(diag, err, "%s: %s", field, msg);
}
/* A whole string as a number: decimal digits, or 0x and hex digits. */
static bool jk_parse_uint(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    unsigned base = 10;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    if (!*s)
        return false;
    for (; *s; s++) {
        unsigned d;
        if (*s >= '0' && *s <= '9')
            d = (unsigned)(*s - '0');
        else if (base == 16 && *s >= 'a' && *s <= 'f')
            d = (unsigned)(*s - 'a' + 10);
        else if (base == 16 && *s >= 'A' && *s <= 'F')
            d = (unsigned)(*s - 'A' + 10);
        else
            return false;
        if (v > (UINT64_MAX - d) / base)
            return false;
        v = v * base + d;
    }
    *out = v;
    return true;
}
/* ---- manifest fields ---- */

typedef struct jk_mf {
    char dir[PATH_MAX];  /* the manifest's folder, for relative paths */
    jk_diag *diag;
} jk_mf;

static const char *jk_json_type(json_object *v)
{
    return json_type_to_name(json_object_get_type(v));
}

/* Refuse keys of obj that are not listed. */
static jk_err jk_mf_keys(jk_mf *m, json_object *obj, const char *field, const char *const *known)
{
    json_object_object_foreach(obj, key, val) {
        (void)val;
        bool ok = false;
        for (size_t i = 0; known[i] && !ok; i++)
            ok = !strcmp(key, known[i]);
        if (!ok)
            return jk_mf_fail(m->diag, JK_ERR_PARSE, field, "unknown key '%.40s'", key);
    }
    return JK_OK;
}

static jk_err jk_mf_type(jk_mf *m, json_object *v, json_type type, const char *field)
{
    if (!json_object_is_type(v, type))
        return jk_mf_fail(m->diag, JK_ERR_PARSE, field, "expected %s %s, got %s",
                          strchr("aeiou", json_type_to_name(type)[0]) ? "an" : "a", json_type_to_name(type),
                          jk_json_type(v));
    return JK_OK;
}

/* A JSON integer, or a string of decimal digits or "0x" and hex digits, in min..max. */
static jk_err jk_mf_number(jk_mf *m, json_object *v, const char *field, uint64_t min, uint64_t max, uint64_t *out)
{
    uint64_t n = 0;
    if (json_object_is_type(v, json_type_int)) {
        if (json_object_get_int64(v) < 0)
            return jk_mf_fail(m->diag, JK_ERR_PARSE, field, "%" PRId64 " is negative", json_object_get_int64(v));
        n = json_object_get_uint64(v);
    } else if (json_object_is_type(v, json_type_string)) {
        if (!jk_parse_uint(json_object_get_string(v), &n))
            return jk_mf_fail(m->diag, JK_ERR_PARSE, field, "\"%.40s\" is not a number (decimal or 0x hex)",
                              json_object_get_string(v));
    } else {
        return jk_mf_fail(m->diag, JK_ERR_PARSE, field,
                          "expected a number (a JSON integer or a \"0x...\" string), got %s", jk_json_type(v));
    }
    if (n < min || n > max)
        return jk_mf_fail(m->diag, JK_ERR_PARSE, field, "%" PRIu64 " is out of range (%" PRIu64 "..%" PRIu64 ")",
                          n, min, max);
    *out = n;
    return JK_OK;
}

static jk_err jk_mf_slot(jk_mf *m, json_object *v, const char *field, uint32_t *out)
{
    uint64_t n;
    jk_err err = jk_mf_number(m, v, field, 1, JK_CAP_ROOT_SLOTS - 1, &n);
    if (err == JK_OK)
        *out = (uint32_t)n;
    return err;
}

/* An optional top-level slot; *out untouched when absent. */
static jk_err jk_mf_opt_slot(jk_mf *m, json_object *root, const char *key, uint32_t *out)
{
    json_object *v;
    if (!json_object_object_get_ex(root, key, &v))
        return JK_OK;
    return jk_mf_slot(m, v, key, out);
}

/* rel, relative to the manifest's folder; false when the result is too long. */
static bool jk_mf_path(jk_mf *m, const char *rel, char *out, size_t size)
{
    int n = rel[0] == '/' || !m->dir[0] ? snprintf(out, size, "%s", rel) : snprintf(out, size, "%s/%s", m->dir, rel);
    return n >= 0 && (size_t)n < size;
}

static jk_err jk_mf_string(jk_mf *m, json_object *v, const char *field, const char **out)
{
    jk_err err = jk_mf_type(m, v, json_type_string, field);
    if (err == JK_OK)
        *out = json_object_get_string(v);
    return err;
}

/* A file named relative to the manifest. */
static jk_err jk_mf_file(jk_mf *m, json_object *v, const char *field, uint8_t **bytes, size_t *len)
{
    const char *rel;
    char path[PATH_MAX];
    jk_diag d = {{0}};
    jk_err err = jk_mf_string(m, v, field, &rel);
    if (err != JK_OK)
        return err;
    if (!jk_mf_path(m, rel, path, sizeof path))
        return jk_mf_fail(m->diag, JK_ERR_IO, field, "the path is too long");
    if ((err = jk_read_file(path, bytes, len, &d)) != JK_OK)
        return jk_mf_fail(m->diag, err, field, "%s", d.msg);
    return JK_OK;
}

/* A cap entry of "pins" or "state":
 * {"slot": S, and one of "image": FILE, "data": FILE, "data_hex": HEX, "data_zero": N}. */
static jk_err jk_mf_cap_entry(jk_mf *m, json_object *e, const char *field, uint32_t *slot, jk_cap *out)
{
    static const char *const known[] = {"slot", "image", "data", "data_hex", "data_zero", NULL};
    static const char *const sources[] = {"image", "data", "data_hex", "data_zero"};
    char sub[JK_FIELD];
    json_object *v = NULL, *src = NULL;
    const char *which = NULL;
    jk_err err = jk_mf_type(m, e, json_type_object, field);
    if (err != JK_OK || (err = jk_mf_keys(m, e, field, known)) != JK_OK)
        return err;
    snprintf(sub, sizeof sub, "%s.slot", field);
    if (!json_object_object_get_ex(e, "slot", &v))
        return jk_mf_fail(m->diag, JK_ERR_PARSE, sub, "missing");
    if ((err = jk_mf_slot(m, v, sub, slot)) != JK_OK)
        return err;
    for (size_t i = 0; i < 4; i++)
        if (json_object_object_get_ex(e, sources[i], &v)) {
            if (which)
                return jk_mf_fail(m->diag, JK_ERR_PARSE, field, "has both '%s' and '%s' (give one)", which,
                                  sources[i]);
            which = sources[i];
            src = v;
        }
    if (!which)
        return jk_mf_fail(m->diag, JK_ERR_PARSE, field, "needs one of 'image', 'data', 'data_hex', 'data_zero'");
    snprintf(sub, sizeof sub, "%s.%s", field, which);
    uint8_t *bytes = NULL;
    size_t len = 0;
    jk_diag d = {{0}};
    if (!strcmp(which, "data")) {
        if ((err = jk_mf_file(m, src, sub, &bytes, &len)) != JK_OK)
            return err;
        err = jk_cap_data_new(bytes, len, out);
        free(bytes);
    } else if (!strcmp(which, "data_zero")) {
        uint64_t n;
        if ((err = jk_mf_number(m, src, sub, 0, JK_CAP_DATA_MAX_LEN, &n)) != JK_OK)
            return err;
        err = jk_cap_data_new_zeroed((size_t)n, out);
    } else if (!strcmp(which, "data_hex")) {
        const char *hex;
        if ((err = jk_mf_string(m, src, sub, &hex)) != JK_OK)
            return err;
        size_t n = strlen(hex);
        if (n % 2)
            return jk_mf_fail(m->diag, JK_ERR_PARSE, sub, "an odd number of hex digits");
        if (!(bytes = malloc(n / 2 + 1)))
            return jk_diag_set(m->diag, JK_ERR_NOMEM, "out of memory");
        for (size_t i = 0; i < n; i += 2) {
            int hi = jk_hex_digit(hex[i]), lo = jk_hex_digit(hex[i + 1]);
            if (hi < 0 || lo < 0) {
                free(bytes);
                return jk_mf_fail(m->diag, JK_ERR_PARSE, sub, "'%c%c' at offset %zu is not a hex byte", hex[i],
                                  hex[i + 1], i);
            }
            bytes[i / 2] = (uint8_t)(hi << 4 | lo);
        }
        err = jk_cap_data_new(bytes, n / 2, out);
        free(bytes);
    } else { /* image */
        const char *rel;
        char path[PATH_MAX];
        if ((err = jk_mf_string(m, src, sub, &rel)) != JK_OK)
            return err;
        if (!jk_mf_path(m, rel, path, sizeof path))
            return jk_mf_fail(m->diag, JK_ERR_IO, sub, "the path is too long");
        jk_image_file *f = calloc(1, sizeof *f);
        if (!f)
            return jk_diag_set(m->diag, JK_ERR_NOMEM, "out of memory");
        err = jk_image_file_load(path, f, &d);
        if (err == JK_OK)
            *out = jk_cap_retain(f->image);
        jk_image_file_clear(f);
        free(f);
        if (err != JK_OK)
            return jk_mf_fail(m->diag, err, sub, "%s", d.msg);
        return JK_OK;
    }
    if (err != JK_OK)
        return jk_mf_fail(m->diag, err, sub, "%s", jk_strerror(err));
    return JK_OK;
}

/* ---- building ---- */

typedef struct jk_build {
    uint8_t *manifest, *program;
    size_t manifest_len, program_len;
    json_object *root;
    jk_pvm_progfile *pf;
    jk_cap_pin pins[JK_CAP_ROOT_SLOTS];
    uint32_t pin_count;
    jk_cap_mapping maps[JK_CAP_IMAGE_MAX_MAPPINGS];
    uint32_t map_count;
    uint32_t select[JK_CAP_IMAGE_MAX_ENDPOINTS];
    uint32_t select_count;
    bool selected;
    jk_cap full, image, state;
} jk_build;

static void jk_build_free(jk_build *b)
{
    free(b->manifest);
    free(b->program);
    if (b->root)
        json_object_put(b->root);
    free(b->pf);
    for (uint32_t i = 0; i < b->pin_count; i++)
        jk_cap_release(b->pins[i].cap);
    jk_cap_release(b->full);
    jk_cap_release(b->image);
    jk_cap_release(b->state);
    free(b);
}

static jk_err jk_mf_parse_json(jk_mf *m, jk_build *b)
{
    json_tokener *tok = json_tokener_new();
    if (!tok)
        return jk_diag_set(m->diag, JK_ERR_NOMEM, "out of memory");
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    const char *text = (const char *)b->manifest;
    size_t len = strlen(text);
    b->root = len <= INT_MAX ? json_tokener_parse_ex(tok, text, (int)len) : NULL;
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    if (len != b->manifest_len)
        return jk_diag_set(m->diag, JK_ERR_PARSE, "JSON: a NUL byte at offset %zu", len);
    if (!b->root || jerr != json_tokener_success) {
        unsigned line = 1, col = 1;
        for (size_t i = 0; i < end && i < len; i++, col++)
            if (text[i] == '\n')
                line++, col = 0;
        return jk_diag_set(m->diag, JK_ERR_PARSE, "JSON: %s at line %u, column %u",
                           jerr == json_tokener_success || jerr == json_tokener_continue
                               ? "unexpected end of input" /* json-c's "continue": it waits for more */
                               : json_tokener_error_desc(jerr),
                           line, col);
    }
    for (size_t i = end; i < len; i++)
        if (text[i] != ' ' && text[i] != '\t' && text[i] != '\n' && text[i] != '\r')
            return jk_diag_set(m->diag, JK_ERR_PARSE, "JSON: text after the manifest object at offset %zu", i);
    /* a key given twice, a number json-c clamped: refused (src/base/json.c) */
    jk_err err = jk_json_check(text, len, true, m->diag);
    if (err != JK_OK)
        return err;
    return jk_mf_type(m, b->root, json_type_object, "manifest");
}

static jk_err jk_mf_pins(jk_mf *m, jk_build *b)
{
    json_object *arr, *e;
    char field[JK_FIELD];
    jk_err err;
    if (!json_object_object_get_ex(b->root, "pins", &arr))
        return JK_OK;
    if ((err = jk_mf_type(m, arr, json_type_array, "pins")) != JK_OK)
        return err;
    size_t n = json_object_array_length(arr);
    if (n > JK_CAP_ROOT_SLOTS - 1)
        return jk_mf_fail(m->diag, JK_ERR_PARSE, "pins", "%zu entries (at most %u)", n, JK_CAP_ROOT_SLOTS - 1);
    for (size_t i = 0; i < n; i++) {
        e = json_object_array_get_idx(arr, i);
        snprintf(field, sizeof field, "pins[%zu]", i);
        jk_cap cap = jk_cap_null();
        uint32_t slot = 0;
        if ((err = jk_mf_cap_entry(m, e, field, &slot, &cap)) != JK_OK)
            return err;
        b->pins[b->pin_count++] = (jk_cap_pin){slot, cap};
        for (uint32_t j = 0; j + 1 < b->pin_count; j++)
            if (b->pins[j].slot == slot)
                return jk_mf_fail(m->diag, JK_ERR_PARSE, field, "slot %u is pinned twice (pins[%u])", slot, j);
    }
    return JK_OK;
}

static jk_err jk_mf_mappings(jk_mf *m, jk_build *b)
{
    static const char *const known[] = {"slot", "base", "size", "access", "kind", NULL};
    json_object *arr, *e, *v;
    char field[JK_FIELD / 2], sub[JK_FIELD];
    jk_err err;
    if (!json_object_object_get_ex(b->root, "mappings", &arr))
        return JK_OK;
    if ((err = jk_mf_type(m, arr, json_type_array, "mappings")) != JK_OK)
        return err;
    size_t n = json_object_array_length(arr);
    if (n > JK_CAP_IMAGE_MAX_MAPPINGS)
        return jk_mf_fail(m->diag, JK_ERR_PARSE, "mappings", "%zu entries (at most %u)", n,
                          JK_CAP_IMAGE_MAX_MAPPINGS);
    for (size_t i = 0; i < n; i++) {
        e = json_object_array_get_idx(arr, i);
        snprintf(field, sizeof field, "mappings[%zu]", i);
        if ((err = jk_mf_type(m, e, json_type_object, field)) != JK_OK ||
            (err = jk_mf_keys(m, e, field, known)) != JK_OK)
            return err;
        jk_cap_mapping *map = &b->maps[b->map_count++];
        memset(map, 0, sizeof *map);
        map->kind = JK_CAP_MAP_PERSISTENT;
        if (json_object_object_get_ex(e, "kind", &v)) {
            const char *kind;
            snprintf(sub, sizeof sub, "%s.kind", field);
            if ((err = jk_mf_string(m, v, sub, &kind)) != JK_OK)
                return err;
            if (!strcmp(kind, "persistent"))
                map->kind = JK_CAP_MAP_PERSISTENT;
            else if (!strcmp(kind, "ephemeral-zero"))
                map->kind = JK_CAP_MAP_EPHEMERAL_ZERO;
            else if (!strcmp(kind, "ephemeral-init"))
                map->kind = JK_CAP_MAP_EPHEMERAL_INIT;
            else
                return jk_mf_fail(m->diag, JK_ERR_PARSE, sub,
                                  "'%.40s' is not persistent, ephemeral-zero or ephemeral-init", kind);
        }
        static const char *const nums[2] = {"base", "size"};
        for (int k = 0; k < 2; k++) {
            uint64_t x;
            snprintf(sub, sizeof sub, "%s.%s", field, nums[k]);
            if (!json_object_object_get_ex(e, nums[k], &v))
                return jk_mf_fail(m->diag, JK_ERR_PARSE, sub, "missing");
            if ((err = jk_mf_number(m, v, sub, k ? 1 : 0, k ? 1ull << 32 : UINT32_MAX, &x)) != JK_OK)
                return err;
            if (x % JK_PVM_PAGE_SIZE)
                return jk_mf_fail(m->diag, JK_ERR_PARSE, sub, "0x%" PRIx64 " is not a multiple of the page size",
                                  x);
            if (k == 1 && x > (1ull << 32) - map->base)
                return jk_mf_fail(m->diag, JK_ERR_PARSE, sub, "the mapping ends past 2^32");
            if (k)
                map->size = (uint32_t)x;
            else
                map->base = (uint32_t)x;
        }
        snprintf(sub, sizeof sub, "%s.access", field);
        const char *access;
        if (!json_object_object_get_ex(e, "access", &v))
            return jk_mf_fail(m->diag, JK_ERR_PARSE, sub, "missing (\"ro\" or \"rw\")");
        if ((err = jk_mf_string(m, v, sub, &access)) != JK_OK)
            return err;
        if (!strcmp(access, "ro"))
            map->access = JK_PVM_ACCESS_READ;
        else if (!strcmp(access, "rw"))
            map->access = JK_PVM_ACCESS_WRITE;
        else
            return jk_mf_fail(m->diag, JK_ERR_PARSE, sub, "'%.40s' is not \"ro\" or \"rw\"", access);
        snprintf(sub, sizeof sub, "%s.slot", field);
        bool has_slot = json_object_object_get_ex(e, "slot", &v);
        if (map->kind == JK_CAP_MAP_EPHEMERAL_ZERO && has_slot)
            return jk_mf_fail(m->diag, JK_ERR_PARSE, sub, "an ephemeral-zero mapping has no slot");
        if (map->kind != JK_CAP_MAP_EPHEMERAL_ZERO && !has_slot)
            return jk_mf_fail(m->diag, JK_ERR_PARSE, sub, "missing");
        uint32_t slot = 0;
        if (has_slot && (err = jk_mf_slot(m, v, sub, &slot)) != JK_OK)
            return err;
        map->slot = (uint8_t)slot;
    }
    return JK_OK;
}

static jk_err jk_mf_endpoints(jk_mf *m, jk_build *b)
{
    json_object *arr, *e;
    char field[JK_FIELD];
    jk_err err;
    if (!json_object_object_get_ex(b->root, "endpoints", &arr))
        return JK_OK;
    if ((err = jk_mf_type(m, arr, json_type_array, "endpoints")) != JK_OK)
        return err;
    size_t n = json_object_array_length(arr);
    if (n == 0 || n > JK_CAP_IMAGE_MAX_ENDPOINTS)
        return jk_mf_fail(m->diag, JK_ERR_PARSE, "endpoints", "%zu entries (1..%u)", n, JK_CAP_IMAGE_MAX_ENDPOINTS);
    for (size_t i = 0; i < n; i++) {
        e = json_object_array_get_idx(arr, i);
        snprintf(field, sizeof field, "endpoints[%zu]", i);
        int index;
        if (json_object_is_type(e, json_type_string)) {
            index = jk_pvm_progfile_find(b->pf, json_object_get_string(e));
            if (index < 0)
                return jk_mf_fail(m->diag, JK_ERR_PARSE, field, "the program has no endpoint '%.63s'",
                                  json_object_get_string(e));
        } else {
            uint64_t x;
            if (!json_object_is_type(e, json_type_int))
                return jk_mf_fail(m->diag, JK_ERR_PARSE, field, "expected an endpoint name or index, got %s",
                                  jk_json_type(e));
            if ((err = jk_mf_number(m, e, field, 0, JK_PVM_MAX_ENDPOINTS - 1, &x)) != JK_OK)
                return err;
            if (x >= b->pf->endpoint_count)
                return jk_mf_fail(m->diag, JK_ERR_PARSE, field, "the program has %u endpoints", b->pf->endpoint_count);
            index = (int)x;
        }
        for (uint32_t j = 0; j < b->select_count; j++)
            if (b->select[j] == (uint32_t)index)
                return jk_mf_fail(m->diag, JK_ERR_PARSE, field, "endpoint '%s' is listed twice",
                                  b->pf->endpoints[index].name);
        b->select[b->select_count++] = (uint32_t)index;
    }
    b->selected = true;
    return JK_OK;
}

/* The Image `full` with endpoints select[0..n) of it, in that order; the
 * rest (code, mappings, pins, catcher) as they are. */
static jk_err jk_image_select(jk_cap full, const uint32_t *select, uint32_t n, jk_cap *out, jk_diag *diag)
{
    jk_cap code = jk_cap_image_code(full);
    size_t len = (size_t)jk_cap_data_len(code);
    uint32_t nmaps = jk_cap_image_mapping_count(full), npins = jk_cap_image_pin_count(full);
    uint8_t *blob = malloc(len ? len : 1);
    jk_cap_mapping *maps = calloc(nmaps + 1, sizeof *maps);
    jk_cap_pin *pins = calloc(npins + 1, sizeof *pins);
    jk_cap_endpoint *eps = calloc(n + 1, sizeof *eps);
    jk_err err = JK_ERR_NOMEM;
    if (!blob || !maps || !pins || !eps)
        goto done;
    if ((err = jk_cap_data_read(code, 0, blob, len)) != JK_OK)
        goto done;
    for (uint32_t i = 0; i < nmaps; i++)
        maps[i] = *jk_cap_image_mapping(full, i);
    for (uint32_t i = 0; i < npins; i++)
        pins[i] = *jk_cap_image_pin(full, i);
    for (uint32_t i = 0; i < n; i++)
        eps[i] = *jk_cap_image_endpoint(full, select[i]);
    jk_cap_image_spec spec = {
        .code = blob, .code_len = len, .mappings = maps, .mapping_count = nmaps, .endpoints = eps,
        .endpoint_count = n, .pins = pins, .pin_count = npins,
        .yield_catcher_slot = jk_cap_image_yield_catcher_slot(full),
    };
    err = jk_cap_image_new(&spec, out, diag);
done:
    free(blob);
    free(maps);
    free(pins);
    free(eps);
    return err;
}

static jk_err jk_mf_state(jk_mf *m, jk_build *b)
{
    json_object *arr, *e;
    char field[JK_FIELD];
    bool seen[JK_CAP_ROOT_SLOTS] = {false};
    jk_err err;
    if (!json_object_object_get_ex(b->root, "state", &arr))
        return JK_OK;
    if ((err = jk_mf_type(m, arr, json_type_array, "state")) != JK_OK)
        return err;
    if ((err = jk_cap_cnode_new(JK_CAP_ROOT_LOG2, &b->state)) != JK_OK)
        return jk_diag_set(m->diag, err, "out of memory");
    size_t n = json_object_array_length(arr);
    for (size_t i = 0; i < n; i++) {
        e = json_object_array_get_idx(arr, i);
        snprintf(field, sizeof field, "state[%zu]", i);
        jk_cap cap = jk_cap_null(), next;
        uint32_t slot = 0;
        if ((err = jk_mf_cap_entry(m, e, field, &slot, &cap)) != JK_OK)
            return err;
        if (seen[slot]) {
            jk_cap_release(cap);
            return jk_mf_fail(m->diag, JK_ERR_PARSE, field, "slot %u is given twice", slot);
        }
        seen[slot] = true;
        err = jk_cap_cnode_set(b->state, slot, cap, &next);
        jk_cap_release(cap);
        if (err != JK_OK)
            return jk_mf_fail(m->diag, err, field, "%s", jk_strerror(err));
        jk_cap_release(b->state);
        b->state = next;
    }
    return JK_OK;
}

jk_err jk_image_manifest_build(const char *manifest_path, jk_image_file *out, jk_diag *diag)
{
    static const char *const known[] = {"program", "endpoints", "pins", "mappings", "state",
                                        "yield_catcher_slot", "ro_slot", "rw_slot", NULL};
    jk_diag local = {{0}}, d = {{0}};
    jk_mf m;
    jk_build *b = calloc(1, sizeof *b);
    jk_err err;
    json_object *v;
    if (!diag)
        diag = &local;
    out->image = out->state = jk_cap_null();
    out->name_count = 0;
    if (!b)
        return jk_diag_set(diag, JK_ERR_NOMEM, "out of memory");
    m.diag = diag;
    snprintf(m.dir, sizeof m.dir, "%s", manifest_path);
    char *slash = strrchr(m.dir, '/');
    if (slash)
        slash[slash == m.dir] = 0; /* "/x.json" keeps "/" */
    else
        m.dir[0] = 0;

    if ((err = jk_read_file(manifest_path, &b->manifest, &b->manifest_len, diag)) != JK_OK ||
        (err = jk_mf_parse_json(&m, b)) != JK_OK || (err = jk_mf_keys(&m, b->root, "manifest", known)) != JK_OK)
        goto done;
    if (!json_object_object_get_ex(b->root, "program", &v)) {
        err = jk_mf_fail(diag, JK_ERR_PARSE, "program", "missing (the program file, relative to the manifest)");
        goto done;
    }
    if ((err = jk_mf_file(&m, v, "program", &b->program, &b->program_len)) != JK_OK)
        goto done;
    if (!(b->pf = malloc(sizeof *b->pf))) {
        err = jk_diag_set(diag, JK_ERR_NOMEM, "out of memory");
        goto done;
    }
    if ((err = jk_pvm_progfile_parse(b->program, b->program_len, b->pf, &d)) != JK_OK) {
        err = jk_mf_fail(diag, err, "program", "%s", d.msg);
        goto done;
    }
    jk_kernel_image_opts opts;
    memset(&opts, 0, sizeof opts);
    if ((err = jk_mf_opt_slot(&m, b->root, "ro_slot", &opts.ro_slot)) != JK_OK ||
        (err = jk_mf_opt_slot(&m, b->root, "rw_slot", &opts.rw_slot)) != JK_OK ||
        (err = jk_mf_opt_slot(&m, b->root, "yield_catcher_slot", &opts.yield_catcher_slot)) != JK_OK ||
        (err = jk_mf_pins(&m, b)) != JK_OK || (err = jk_mf_mappings(&m, b)) != JK_OK ||
        (err = jk_mf_endpoints(&m, b)) != JK_OK)
        goto done;
    uint32_t ro = opts.ro_slot ? opts.ro_slot : JK_KERNEL_DEFAULT_RO_SLOT;
    uint32_t rw = opts.rw_slot ? opts.rw_slot : JK_KERNEL_DEFAULT_RW_SLOT;
    if (ro == rw) {
        err = jk_mf_fail(diag, JK_ERR_PARSE, "rw_slot", "%u is also the ro_slot", rw);
        goto done;
    }
    opts.mappings = b->maps;
    opts.mapping_count = b->map_count;
    opts.pins = b->pins;
    opts.pin_count = b->pin_count;
    err = jk_kernel_image_from_program(b->program, b->program_len, &opts, &b->full, &d);
    if (err == JK_OK && b->selected)
        err = jk_image_select(b->full, b->select, b->select_count, &b->image, &d);
    else if (err == JK_OK)
        b->image = jk_cap_retain(b->full);
    if (err != JK_OK) {
        err = jk_diag_set(diag, err, "image: %s", d.msg[0] ? d.msg : jk_strerror(err));
        goto done;
    }
    if ((err = jk_mf_state(&m, b)) != JK_OK)
        goto done;

    out->image = b->image;
    out->state = b->state;
    b->image = b->state = jk_cap_null();
    out->name_count = jk_cap_image_endpoint_count(out->image);
    for (uint32_t i = 0; i < out->name_count; i++)
        snprintf(out->names[i], sizeof out->names[i], "%s",
                 b->pf->endpoints[b->selected ? b->select[i] : i].name);
    /* What `image run` will do: refuse here a state that collides with a pin. */
    jk_cap empty = jk_cap_null(), inst;
    if (jk_cap_is_null(out->state) && (err = jk_cap_cnode_new(JK_CAP_ROOT_LOG2, &empty)) != JK_OK) {
        jk_diag_set(diag, err, "out of memory");
    } else if ((err = jk_cap_instance_genesis(out->image, jk_cap_is_null(out->state) ? empty : out->state, &inst,
                                              &d)) != JK_OK) {
        jk_diag_set(diag, err, "state: %s", d.msg[0] ? d.msg : jk_strerror(err));
    } else {
        jk_cap_release(inst);
    }
    jk_cap_release(empty);
    if (err != JK_OK)
        jk_image_file_clear(out);
done:
    jk_build_free(b);
    return err;
}
