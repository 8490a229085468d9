/*
 * asm_test_util.h — what the assembler tests (test_asm.c, test_asm_round_trip.c)
 * share: a seeded random source, assembling a C string, the disasm → asm round
 * trip, and reading a shared PVM vector's program bytes.
 *
 * Static inline, so each test file gets its own copy; each has its own random
 * state, which every test that draws from it seeds first.
 */
#ifndef JK_TESTS_PVM_ASM_TEST_UTIL_H
#define JK_TESTS_PVM_ASM_TEST_UTIL_H

#include "../test.h"
#include "../../src/pvm/asm_internal.h"

#include <json-c/json.h>
#include <stdlib.h>

static uint64_t jk_rng_state;

static inline uint64_t jk_rand(void)
{
    /* splitmix64 */
    uint64_t z = (jk_rng_state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static inline uint32_t jk_rand_below(uint32_t n)
{
    return (uint32_t)(jk_rand() % n);
}

static inline jk_err jk_asm_str(const char *src, uint8_t **blob, size_t *len, jk_diag *diag)
{
    return jk_pvm_asm(src, strlen(src), blob, len, diag);
}

/* disasm → asm must reproduce the blob; returns the listing's count of raw
 * (.insn/.byte) lines through *raw_lines when not NULL. */
static inline bool jk_round_trip(const uint8_t *blob, size_t len, const char *what, size_t *raw_lines)
{
    char *text = NULL;
    jk_diag diag = {{0}};
    jk_err err = jk_pvm_disasm(blob, len, &text, &diag);
    if (err != JK_OK) {
        jk_test_fail(__FILE__, __LINE__, "%s: disasm failed: %s", what, diag.msg);
        return false;
    }
    uint8_t *again = NULL;
    size_t again_len = 0;
    err = jk_pvm_asm(text, strlen(text), &again, &again_len, &diag);
    bool ok = err == JK_OK && again_len == len && memcmp(again, blob, len) == 0;
    if (!ok)
        jk_test_fail(__FILE__, __LINE__, "%s: round trip differs (%s)\n%s", what,
                     err == JK_OK ? "bytes" : diag.msg, text);
    if (raw_lines) {
        *raw_lines = 0;
        for (const char *p = text; (p = strstr(p, "    .")) != NULL; p++)
            (*raw_lines)++;
    }
    free(again);
    free(text);
    return ok;
}

/* The "program" bytes of a shared vector. */
static inline bool jk_load_vector_program(const char *path, uint8_t **out, size_t *len)
{
    json_object *root = json_object_from_file(path);
    json_object *prog;
    if (!root)
        return false;
    if (!json_object_object_get_ex(root, "program", &prog) ||
        !json_object_is_type(prog, json_type_array)) {
        json_object_put(root);
        return false;
    }
    size_t n = json_object_array_length(prog);
    uint8_t *bytes = malloc(n ? n : 1);
    for (size_t i = 0; bytes && i < n; i++)
        bytes[i] = (uint8_t)json_object_get_int(json_object_array_get_idx(prog, i));
    json_object_put(root);
    if (!bytes)
        return false;
    *out = bytes;
    *len = n;
    return true;
}

#endif
