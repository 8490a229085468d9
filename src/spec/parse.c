/*
 * parse.c — the chain-spec JSON (docs/chain-spec.md) parsed from
 * memory through json-c: every field checked with a message that names it;
 * the files it names (programs, state data) read through the caller's
 * reader. Kept apart from reading and compiling so the fuzz target
 * (tests/fuzz/fuzz_spec.c) runs exactly this code.
 */
#include "jark/spec.h"

#include <json-c/json.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A program entry: a file name, or an array of 1..JK_SDK_MAX_SOURCES C
 * files built together into one program; read through the reader. */
/* `fallback`: the file a missing entry stands for (NULL: none, missing is refused). */
static jk_err jk_program_entry(json_object *v, const char *field, const char *fallback, jk_spec_reader reader,
                               void *ctx, uint8_t **out, size_t *len, jk_diag *diag)
{
    const char *names[JK_SDK_MAX_SOURCES];
    size_t n = 0;
    if (!v && fallback) {
        names[n++] = fallback;
    } else if (v && json_object_is_type(v, json_type_string)) {
        names[n++] = json_object_get_string(v);
    } else if (v && json_object_is_type(v, json_type_array) && json_object_array_length(v) >= 1 &&
               json_object_array_length(v) <= JK_SDK_MAX_SOURCES) {
        for (; n < json_object_array_length(v); n++) {
            json_object *e = json_object_array_get_idx(v, n);
            if (!json_object_is_type(e, json_type_string))
                return jk_diag_set(diag, JK_ERR_PARSE, "%s[%zu]: a file name", field, n);
            names[n] = json_object_get_string(e);
        }
    } else {
        return jk_diag_set(diag, JK_ERR_PARSE, "%s: %s (a file name, or an array of 1..%d C files)", field,
                           v ? "not a file name" : "missing", JK_SDK_MAX_SOURCES);
    }
    return reader(ctx, names, n, true, out, len, diag);
}

/* The keys of object o must all be in `known` (NULL-terminated); else the
 * first other one is refused, named as field.key. */
static bool jk_known_keys(json_object *o, const char *field, const char *const *known, jk_diag *diag)
{
    json_object_object_foreach(o, key, value) {
        (void)value;
        size_t k = 0;
        while (known[k] && strcmp(known[k], key))
            k++;
        if (!known[k]) {
            jk_diag_set(diag, JK_ERR_PARSE, "%s: unknown key '%s'", field, key);
            return false;
        }
    }
    return true;
}

static int jk_key32_cmp(const void *a, const void *b) { return memcmp(a, b, 32); }

static json_object *jk_key(json_object *o, const char *k)
{
    json_object *v = NULL;
    return json_object_object_get_ex(o, k, &v) ? v : NULL;
}

static int jk_hex(const char *s, uint8_t *out, size_t max, size_t *len)
{
    size_t n = strlen(s);
    if (n % 2 || n / 2 > max)
        return -1;
    for (size_t i = 0; i < n / 2; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (uint8_t)v;
    }
    *len = n / 2;
    return 0;
}

/* A whole number. json-c clamps one past int64's range to INT64_MAX or
 * INT64_MIN without a word, so those two values are refused as out of range. */
static int jk_number(json_object *v, int64_t *out)
{
    if (!v || !json_object_is_type(v, json_type_int))
        return -1;
    *out = json_object_get_int64(v);
    return *out == INT64_MAX || *out == INT64_MIN ? -1 : 0;
}

jk_err jk_spec_file_parse(const char *text, size_t len, jk_spec_reader reader, void *ctx, jk_spec_file *out,
                          jk_diag *diag)
{
    memset(out, 0, sizeof *out);
    if (len > INT_MAX)
        return jk_diag_set(diag, JK_ERR_PARSE, "not JSON: too long");
    json_tokener *tok = json_tokener_new();
    if (!tok)
        return jk_diag_set(diag, JK_ERR_NOMEM, "out of memory");
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT); /* no comments, no trailing commas */
    json_object *root = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    /* one JSON value and nothing after it but white space */
    size_t used = json_tokener_get_parse_end(tok);
    while (root && used < len && (text[used] == ' ' || text[used] == '\n' || text[used] == '\t' || text[used] == '\r'))
        used++;
    json_tokener_free(tok);
    if (!root || jerr != json_tokener_success || used != len) {
        json_object_put(root);
        /* json-c calls a truncated text "continue" (it waits for more) */
        return jk_diag_set(diag, JK_ERR_PARSE, "not JSON: %s",
                            jerr == json_tokener_continue  ? "unexpected end of input"
                            : jerr != json_tokener_success ? json_tokener_error_desc(jerr)
                                                           : "text after the value");
    }
    if (!json_object_is_type(root, json_type_object)) {
        json_object_put(root);
        return jk_diag_set(diag, JK_ERR_PARSE, "not a JSON object");
    }
    /* a key given twice, a number json-c clamped: refused (src/base/json.c) */
    jk_err jc = jk_json_check(text, len, true, diag);
    if (jc != JK_OK) {
        json_object_put(root);
        return jc;
    }
    /* every refusal below is JK_ERR_PARSE unless `re` says otherwise (the
     * reader's error, or out of memory) */
    jk_err rc = JK_ERR_PARSE, re = JK_OK;
    json_object *progs = jk_key(root, "programs");
    static const char *const roles[5] = {"chain", "verify", "transact", "dispatch_instance", "aa"};
    jk_chain_spec *s = &out->spec;
    json_object_object_foreach(root, key, value) {
        (void)value;
        if (strcmp(key, "programs") && strcmp(key, "state") && strcmp(key, "validators") && strcmp(key, "gas") &&
            strcmp(key, "max_event_traces")) {
            jk_diag_set(diag, JK_ERR_PARSE, "unknown key '%s'", key);
            goto done;
        }
    }
    if (!progs || !json_object_is_type(progs, json_type_object)) {
        jk_diag_set(diag, JK_ERR_PARSE, "programs: missing (an object of role → file)");
        goto done;
    }
    static const char *const program_keys[] = {"chain", "verify", "transact", "dispatch_instance", "aa", "dispatch", NULL};
    if (!jk_known_keys(progs, "programs", program_keys, diag))
        goto done;
    const uint8_t **role_ptr[5] = {&s->chain, &s->verify, &s->transact, &s->dispatch_instance, &s->aa};
    size_t *role_len[5] = {&s->chain_len, &s->verify_len, &s->transact_len, &s->dispatch_instance_len, &s->aa_len};
    /* The AA defaults to the SDK's standard one (sdk/aa.c): an AA is the
     * kernel's trust anchor, and one that returns without yielding would make
     * every signature check pass, so authors should not need to write one. */
    char standard_aa[4096];
    const char *sdk = jk_sdk_dir();
    bool have_standard = sdk && (size_t)snprintf(standard_aa, sizeof standard_aa, "%s/aa.c", sdk) < sizeof standard_aa;
    for (int r = 0; r < 5; r++) {
        char field[48];
        snprintf(field, sizeof field, "programs.%s", roles[r]);
        const char *fallback = r == 4 && have_standard ? standard_aa : NULL;
        if ((re = jk_program_entry(jk_key(progs, roles[r]), field, fallback, reader, ctx, &out->programs[r],
                                   role_len[r], diag)) != JK_OK)
            goto done;
        *role_ptr[r] = out->programs[r];
    }
    json_object *disp = jk_key(progs, "dispatch");
    size_t nd = disp && json_object_is_type(disp, json_type_array) ? json_object_array_length(disp) : 0;
    if (disp && (!json_object_is_type(disp, json_type_array) || nd > JK_CHAIN_MAX_DISPATCH_ENDPOINTS)) {
        jk_diag_set(diag, JK_ERR_PARSE, "programs.dispatch: an array of at most %d files", JK_CHAIN_MAX_DISPATCH_ENDPOINTS);
        goto done;
    }
    for (size_t k = 0; k < nd; k++) {
        char field[48];
        snprintf(field, sizeof field, "programs.dispatch[%zu]", k);
        if ((re = jk_program_entry(json_object_array_get_idx(disp, k), field, NULL, reader, ctx, &out->programs[5 + k],
                                   &s->dispatch_len[k], diag)) != JK_OK)
            goto done;
        s->dispatch[k] = out->programs[5 + k];
    }
    s->dispatch_count = (uint32_t)nd;

    json_object *state = jk_key(root, "state");
    if (state && !json_object_is_type(state, json_type_array)) {
        jk_diag_set(diag, JK_ERR_PARSE, "state: an array of {slot, data_hex | data_zero | data}");
        goto done;
    }
    size_t ns = state && json_object_is_type(state, json_type_array) ? json_object_array_length(state) : 0;
    out->state_slots = calloc(ns ? ns : 1, sizeof *out->state_slots);
    out->state_data = calloc(ns ? ns : 1, sizeof *out->state_data);
    out->state_len = calloc(ns ? ns : 1, sizeof *out->state_len);
    if (!out->state_slots || !out->state_data || !out->state_len) {
        re = jk_diag_set(diag, JK_ERR_NOMEM, "out of memory");
        goto done;
    }
    out->state_cap = ns;
    for (size_t i = 0; i < ns; i++) {
        json_object *e = json_object_array_get_idx(state, i), *v;
        int64_t slot;
        char field[32];
        snprintf(field, sizeof field, "state[%zu]", i);
        static const char *const state_keys[] = {"slot", "data_hex", "data_zero", "data", NULL};
        if (!json_object_is_type(e, json_type_object)) {
            jk_diag_set(diag, JK_ERR_PARSE, "%s: an object {slot, data_hex | data_zero | data}", field);
            goto done;
        }
        if (!jk_known_keys(e, field, state_keys, diag))
            goto done;
        if (jk_number(jk_key(e, "slot"), &slot) || slot < 0 || slot > 255) {
            jk_diag_set(diag, JK_ERR_PARSE, "state[%zu].slot: a number 20..255", i);
            goto done;
        }
        /* the range and uniqueness genesis requires, refused here as an input error */
        if (slot < 20) {
            jk_diag_set(diag, JK_ERR_PARSE, "state slot %d is outside 20..255 (1..19 are pinned references, 0 the "
                        "scratchpad)", (int)slot);
            goto done;
        }
        for (size_t j = 0; j < i; j++)
            if (out->state_slots[j] == (uint32_t)slot) {
                jk_diag_set(diag, JK_ERR_PARSE, "state[%zu].slot: slot %d given twice (state[%zu])", i, (int)slot, j);
                goto done;
            }
        if ((jk_key(e, "data_hex") != NULL) + (jk_key(e, "data_zero") != NULL) + (jk_key(e, "data") != NULL) > 1) {
            jk_diag_set(diag, JK_ERR_PARSE, "%s: one of data_hex, data_zero and data, not several", field);
            goto done;
        }
        out->state_slots[i] = (uint32_t)slot;
        if ((v = jk_key(e, "data_hex")) && json_object_is_type(v, json_type_string)) {
            const char *hex = json_object_get_string(v);
            out->state_data[i] = malloc(strlen(hex) / 2 + 1);
            if (!out->state_data[i] || jk_hex(hex, out->state_data[i], strlen(hex) / 2, &out->state_len[i])) {
                jk_diag_set(diag, JK_ERR_PARSE, "state[%zu].data_hex: not hex", i);
                goto done;
            }
        } else if ((v = jk_key(e, "data_zero"))) {
            int64_t n;
            if (jk_number(v, &n) || n < 0 || n > (int64_t)JK_CAP_DATA_MAX_LEN) {
                jk_diag_set(diag, JK_ERR_PARSE, "state[%zu].data_zero: a length", i);
                goto done;
            }
            out->state_data[i] = calloc((size_t)n ? (size_t)n : 1, 1);
            out->state_len[i] = (size_t)n;
            if (!out->state_data[i]) {
                re = jk_diag_set(diag, JK_ERR_NOMEM, "out of memory");
                goto done;
            }
        } else if ((v = jk_key(e, "data")) && json_object_is_type(v, json_type_string)) {
            const char *name = json_object_get_string(v);
            if ((re = reader(ctx, &name, 1, false, &out->state_data[i], &out->state_len[i], diag)) != JK_OK)
                goto done;
        } else {
            jk_diag_set(diag, JK_ERR_PARSE, "state[%zu]: needs data_hex, data_zero or data", i);
            goto done;
        }
    }
    s->state_slots = out->state_slots;
    s->state_data = (const uint8_t *const *)out->state_data;
    s->state_len = out->state_len;
    s->state_count = (uint32_t)ns;

    json_object *vals = jk_key(root, "validators");
    size_t nv = vals && json_object_is_type(vals, json_type_array) ? json_object_array_length(vals) : 0;
    if (nv < 1 || nv > JK_CHAIN_MAX_VALIDATORS) {
        jk_diag_set(diag, JK_ERR_PARSE, "validators: an array of 1..%d keys", JK_CHAIN_MAX_VALIDATORS);
        goto done;
    }
    out->validators = calloc(nv ? nv : 1, sizeof *out->validators);
    if (!out->validators) {
        re = jk_diag_set(diag, JK_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < nv; i++) {
        size_t n = 0;
        json_object *v = json_object_array_get_idx(vals, i);
        if (!json_object_is_type(v, json_type_string) ||
            jk_hex(json_object_get_string(v), out->validators[i], 32, &n) || n != 32) {
            jk_diag_set(diag, JK_ERR_PARSE, "validators[%zu]: 64 hex digits (an Ed25519 public key)", i);
            goto done;
        }
    }
    /* one key twice would be one validator with two votes: refused (sorted
     * copy, so a 1,024-key list costs no 10^6 comparisons) */
    {
        uint8_t(*sorted)[32] = malloc(nv * 32);
        if (!sorted) {
            re = jk_diag_set(diag, JK_ERR_NOMEM, "out of memory");
            goto done;
        }
        memcpy(sorted, out->validators, nv * 32);
        qsort(sorted, nv, 32, jk_key32_cmp);
        size_t d = 1;
        while (d < nv && memcmp(sorted[d - 1], sorted[d], 32))
            d++;
        if (d < nv) {
            size_t first = 0, second;
            while (memcmp(out->validators[first], sorted[d], 32))
                first++;
            second = first + 1;
            while (memcmp(out->validators[second], sorted[d], 32))
                second++;
            free(sorted);
            jk_diag_set(diag, JK_ERR_PARSE, "validators[%zu]: the same key as validators[%zu]", second, first);
            goto done;
        }
        free(sorted);
    }
    s->validators = (const uint8_t(*)[32])out->validators;
    s->validator_count = (uint32_t)nv;

    json_object *gas = jk_key(root, "gas");
    int64_t *budgets[4] = {&s->gas.transform, &s->gas.verify, &s->gas.process, &s->gas.block};
    static const char *const names[5] = {"transform", "verify", "process", "block", NULL};
    if (!gas || !json_object_is_type(gas, json_type_object)) {
        jk_diag_set(diag, JK_ERR_PARSE, "gas: missing (an object of transform, verify, process, block)");
        goto done;
    }
    if (!jk_known_keys(gas, "gas", names, diag))
        goto done;
    for (int b = 0; b < 4; b++) {
        json_object *v = jk_key(gas, names[b]);
        if (!v || jk_number(v, budgets[b]) || *budgets[b] < 0) {
            jk_diag_set(diag, JK_ERR_PARSE, "gas.%s: %s", names[b],
                        v ? "a whole number 0..2^63-2" : "missing (a number)");
            goto done;
        }
    }
    json_object *traces = jk_key(root, "max_event_traces");
    int64_t max_traces = 0;
    if (traces && (jk_number(traces, &max_traces) || max_traces < 1 || max_traces > JK_CHAIN_MAX_EVENT_TRACES)) {
        jk_diag_set(diag, JK_ERR_PARSE, "max_event_traces: a number 1..%u", JK_CHAIN_MAX_EVENT_TRACES);
        goto done;
    }
    s->max_event_traces = (uint32_t)max_traces; /* 0: absent, genesis's default */
    rc = JK_OK;
done:
    json_object_put(root);
    if (rc != JK_OK) {
        jk_spec_file_free(out);
        if (re != JK_OK)
            rc = re;
    }
    return rc;
}

void jk_spec_file_free(jk_spec_file *f)
{
    for (size_t i = 0; i < 5 + JK_CHAIN_MAX_DISPATCH_ENDPOINTS; i++)
        free(f->programs[i]);
    for (size_t i = 0; f->state_data && i < f->state_cap; i++)
        free(f->state_data[i]);
    free(f->state_slots);
    free(f->state_data);
    free(f->state_len);
    free(f->validators);
    memset(f, 0, sizeof *f);
}

