/*
 * test_asm.c — the assembler and disassembler (src/pvm/asm*.c, disasm.c).
 *
 * The core property: for every valid blob, disasm → asm gives back the
 * identical bytes. Checked on the shared PVM vectors, on thousands of random
 * blobs, and on a blob built to have two consistent branch layouts. The
 * assembler is also checked against the vectors' bytes from hand-written
 * source, against jk_pvm_decode_operands() for every opcode with random
 * operands, and for one message per error class.
 */
#include "../test.h"
#include "../../src/pvm/asm_internal.h"
#include "../../tools/commands.h"

#include <dirent.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <unistd.h>

/* ---- helpers ---- */

static uint64_t jk_rng_state;

static uint64_t jk_rand(void)
{
    /* splitmix64 */
    uint64_t z = (jk_rng_state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static uint32_t jk_rand_below(uint32_t n)
{
    return (uint32_t)(jk_rand() % n);
}

static jk_err jk_asm_str(const char *src, uint8_t **blob, size_t *len, jk_diag *diag)
{
    return jk_pvm_asm(src, strlen(src), blob, len, diag);
}

/* disasm → asm must reproduce the blob; returns the listing's count of raw
 * (.insn/.byte) lines through *raw_lines when not NULL. */
static bool jk_round_trip(const uint8_t *blob, size_t len, const char *what, size_t *raw_lines)
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
static bool jk_load_vector_program(const char *path, uint8_t **out, size_t *len)
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

static bool jk_load_named_vector(const char *name, uint8_t **out, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/vectors/pvm/programs/%s.json", jk_test_shared_dir(), name);
    return jk_load_vector_program(path, out, len);
}

/* Build a blob from its parts. The caller frees the result. */
static uint8_t *jk_make_blob(const uint32_t *table, uint32_t count, unsigned z, const uint8_t *code,
                             uint32_t code_len, const uint8_t *mask, size_t *len)
{
    size_t mask_len = (code_len + 7) / 8;
    uint8_t *blob = malloc(9 + 1 + 9 + (size_t)count * z + code_len + mask_len);
    size_t n = 0;
    if (!blob)
        return NULL;
    n += jk_pvm_encode_natural(count, blob + n);
    blob[n++] = (uint8_t)z;
    n += jk_pvm_encode_natural(code_len, blob + n);
    for (uint32_t i = 0; i < count; i++)
        for (unsigned b = 0; b < z; b++)
            blob[n++] = (uint8_t)(table[i] >> (8 * b));
    memcpy(blob + n, code, code_len);
    n += code_len;
    memcpy(blob + n, mask, mask_len);
    n += mask_len;
    *len = n;
    return blob;
}

/* ---- round trips ---- */

JK_TEST(test_asm_round_trip_vectors)
{
    char dir_path[512];
    snprintf(dir_path, sizeof dir_path, "%s/vectors/pvm/programs", jk_test_shared_dir());
    DIR *dir = opendir(dir_path);
    JK_REQUIRE(dir != NULL);
    size_t count = 0, raw_total = 0;
    struct dirent *ent;
    while ((ent = readdir(dir)) != NULL) {
        size_t nl = strlen(ent->d_name);
        if (nl < 5 || strcmp(ent->d_name + nl - 5, ".json") != 0)
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir_path, ent->d_name);
        uint8_t *blob;
        size_t len, raw = 0;
        if (!jk_load_vector_program(path, &blob, &len)) {
            jk_test_fail(__FILE__, __LINE__, "cannot read %s", path);
            continue;
        }
        jk_round_trip(blob, len, ent->d_name, &raw);
        raw_total += raw;
        free(blob);
        count++;
    }
    closedir(dir);
    JK_CHECK_EQ(count, 201);
    /* The vectors are compiler-style code: every instruction is canonical. */
    JK_CHECK_EQ(raw_total, 0);
}

/* Random operands for an instruction, encoded canonically at pc. */
static size_t jk_random_insn(uint32_t pc, uint32_t code_len_hint, uint8_t *out)
{
    static const int64_t interesting[] = {0,      1,       -1,     127,        128,
                                          -128,   -129,    255,    256,        32767,
                                          32768,  -32768,  -32769, 0x7FFFFF,   0x800000,
                                          -0x800000, 0x7FFFFFFF, -0x7FFFFFFF - 1, -65536, 0x20000};
    const jk_pvm_opinfo *info;
    do
        info = jk_pvm_opinfo_get((uint8_t)jk_rand());
    while (!info);
    jk_pvm_asm_insn in;
    memset(&in, 0, sizeof in);
    in.opcode = info->opcode;
    in.ra = (uint8_t)jk_rand_below(13);
    in.rb = (uint8_t)jk_rand_below(13);
    in.rd = (uint8_t)jk_rand_below(13);
    size_t n_int = sizeof interesting / sizeof interesting[0];
    in.imm_x = (uint64_t)interesting[jk_rand_below((uint32_t)n_int)];
    in.imm_y = (uint64_t)interesting[jk_rand_below((uint32_t)n_int)];
    if (info->format == JK_PVM_ARGS_REG_IMM64)
        in.imm_x = jk_rand() >> jk_rand_below(64);
    in.target = jk_rand_below(4) ? jk_rand_below(code_len_hint + 1)
                                 : pc + (uint64_t)interesting[jk_rand_below((uint32_t)n_int)];
    return jk_pvm_asm_encode(&in, pc, 0, out);
}

JK_TEST(test_asm_round_trip_random_blobs)
{
    enum { BLOBS = 4000, MAX_CODE = 400 };
    static uint8_t code[MAX_CODE + 32], mask[MAX_CODE / 8 + 8];
    uint32_t table[8];
    size_t raw_lines = 0, failures = 0;
    jk_rng_state = 0x6A61726B; /* "jark" */
    for (int iter = 0; iter < BLOBS && failures < 5; iter++) {
        uint32_t target_len = jk_rand_below(4) ? jk_rand_below(64) : jk_rand_below(MAX_CODE);
        uint32_t code_len = 0;
        memset(code, 0, sizeof code);
        memset(mask, 0, sizeof mask);
        while (code_len < target_len) {
            uint32_t pc = code_len, n;
            unsigned kind = jk_rand_below(10);
            if (kind < 6) { /* a canonical instruction */
                n = (uint32_t)jk_random_insn(pc, target_len, code + pc);
                mask[pc / 8] |= (uint8_t)(1u << (pc % 8));
            } else if (kind < 8) { /* an opcode with random operand bytes */
                n = 1 + jk_rand_below(jk_rand_below(4) ? 12 : 30);
                for (uint32_t i = 0; i < n; i++)
                    code[pc + i] = (uint8_t)(i == 0 || jk_rand_below(2) ? jk_rand() : jk_rand_below(16));
                mask[pc / 8] |= (uint8_t)(1u << (pc % 8));
            } else { /* bytes with random bitmask bits */
                n = 1 + jk_rand_below(8);
                for (uint32_t i = 0; i < n; i++) {
                    code[pc + i] = (uint8_t)jk_rand();
                    if (jk_rand_below(3) == 0)
                        mask[(pc + i) / 8] |= (uint8_t)(1u << ((pc + i) % 8));
                }
            }
            code_len += n;
        }
        if (code_len > MAX_CODE)
            code_len = MAX_CODE;
        if (code_len && jk_rand_below(8) == 0) { /* flip a bit */
            uint32_t at = jk_rand_below(code_len);
            mask[at / 8] ^= (uint8_t)(1u << (at % 8));
        }
        if (code_len % 8) /* clear bits past the code, then maybe set tail bits */
            mask[code_len / 8] &= (uint8_t)((1u << (code_len % 8)) - 1);
        bool tail = code_len % 8 && jk_rand_below(8) == 0;
        if (tail)
            mask[code_len / 8] |= (uint8_t)(jk_rand() << (code_len % 8));

        uint32_t count = jk_rand_below(3) ? jk_rand_below(6) : 0;
        unsigned z = jk_rand_below(5);
        if (jk_rand_below(4) && count) { /* usually the size the assembler would pick */
            z = code_len > 255 ? 2 : 1;
        }
        for (uint32_t i = 0; i < count; i++) {
            uint64_t limit = z == 4 ? UINT64_C(1) << 32 : UINT64_C(1) << (8 * z);
            table[i] = jk_rand_below(2) ? jk_rand_below(code_len + 1) : (uint32_t)jk_rand();
            table[i] = (uint32_t)(table[i] % limit);
        }
        size_t len;
        uint8_t *blob = jk_make_blob(table, count, z, code, code_len, mask, &len);
        JK_REQUIRE(blob != NULL);
        jk_pvm_blob parsed;
        if (tail && jk_pvm_blob_parse(blob, len, &parsed, NULL) != JK_OK) {
            /* Should blob parsing come to reject bits past |c|, drop them. */
            free(blob);
            mask[code_len / 8] &= (uint8_t)((1u << (code_len % 8)) - 1);
            blob = jk_make_blob(table, count, z, code, code_len, mask, &len);
            JK_REQUIRE(blob != NULL);
        }
        if (jk_pvm_blob_parse(blob, len, &parsed, NULL) != JK_OK) {
            jk_test_fail(__FILE__, __LINE__, "random blob %d does not parse", iter);
            failures++;
        } else {
            char what[64];
            size_t raw;
            snprintf(what, sizeof what, "random blob %d", iter);
            if (!jk_round_trip(blob, len, what, &raw))
                failures++;
            raw_lines += raw;
        }
        free(blob);
    }
    JK_CHECK(raw_lines > 1000); /* the non-canonical paths were exercised */
}

/* Random bytes, most of which do not parse: disasm must fail cleanly or
 * round-trip. */
JK_TEST(test_asm_round_trip_random_bytes)
{
    uint8_t buf[64];
    jk_rng_state = 42;
    for (int iter = 0; iter < 20000; iter++) {
        size_t len = jk_rand_below(sizeof buf + 1);
        for (size_t i = 0; i < len; i++)
            buf[i] = (uint8_t)(jk_rand_below(3) ? jk_rand_below(8) : jk_rand());
        jk_pvm_blob parsed;
        char *text = NULL;
        jk_diag diag = {{0}};
        if (jk_pvm_blob_parse(buf, len, &parsed, NULL) != JK_OK) {
            jk_err err = jk_pvm_disasm(buf, len, &text, &diag);
            JK_CHECK(err == JK_ERR_PVM_BLOB || err == JK_ERR_PVM_TOO_LARGE);
            JK_CHECK(diag.msg[0] != 0);
            continue;
        }
        if (!jk_round_trip(buf, len, "random bytes", NULL))
            break;
    }
}

/* Two branches that each need a 2-byte offset only because the other has
 * one: both the 2-byte and the 1-byte layouts are consistent, the assembler
 * picks the 1-byte one, so the disassembler must not use labels here. */
JK_TEST(test_asm_round_trip_two_layouts)
{
    uint8_t code[255], mask[32] = {0};
    uint32_t n = 0;
    for (int i = 0; i < 126; i++)
        code[n++] = 1; /* fallthrough */
    code[n++] = 40, code[n++] = 0x80, code[n++] = 0x00; /* @126 jump +128 → 254 */
    code[n++] = 40, code[n++] = 0x7F, code[n++] = 0xFF; /* @129 jump -129 → 0 */
    for (int i = 0; i < 122; i++)
        code[n++] = 1;
    code[n++] = 0; /* @254 trap */
    JK_REQUIRE(n == sizeof code);
    for (uint32_t pc = 0; pc < n; pc++)
        if (pc != 127 && pc != 128 && pc != 130 && pc != 131)
            mask[pc / 8] |= (uint8_t)(1u << (pc % 8));
    size_t len;
    uint8_t *blob = jk_make_blob(NULL, 0, 0, code, n, mask, &len);
    JK_REQUIRE(blob != NULL);
    jk_round_trip(blob, len, "two layouts", NULL);
    /* Both jumps come out as text; pinning the first one's offset with a
     * numeric target settles the second one's. */
    char *text = NULL;
    jk_diag d;
    JK_REQUIRE(jk_pvm_disasm(blob, len, &text, &d) == JK_OK);
    JK_CHECK(strstr(text, "    jump 254 ") != NULL);
    JK_CHECK(strstr(text, "    jump L0 ") != NULL);
    free(text);
    free(blob);

    /* The same program from labels assembles to the compact layout. */
    char src[4096];
    size_t s = 0;
    s += (size_t)snprintf(src + s, sizeof src - s, "y:\n");
    for (int i = 0; i < 126; i++)
        s += (size_t)snprintf(src + s, sizeof src - s, "fallthrough\n");
    s += (size_t)snprintf(src + s, sizeof src - s, "jump x\njump y\n");
    for (int i = 0; i < 122; i++)
        s += (size_t)snprintf(src + s, sizeof src - s, "fallthrough\n");
    snprintf(src + s, sizeof src - s, "x: trap\n");
    jk_diag diag;
    JK_REQUIRE(jk_asm_str(src, &blob, &len, &diag) == JK_OK);
    jk_pvm_blob b;
    JK_REQUIRE(jk_pvm_blob_parse(blob, len, &b, NULL) == JK_OK);
    JK_CHECK_EQ(b.code_len, 253);
    jk_pvm_operands ops;
    jk_pvm_decode_operands(&b, 126, &ops);
    JK_CHECK_EQ(ops.imm_x, 252);
    jk_pvm_decode_operands(&b, 128, &ops);
    JK_CHECK_EQ(ops.imm_x, 0);
    free(blob);
}

/* ---- assembling known programs ---- */

static void jk_check_source(const char *vector, const char *src)
{
    uint8_t *want, *got = NULL;
    size_t want_len, got_len = 0;
    jk_diag diag = {{0}};
    if (!jk_load_named_vector(vector, &want, &want_len)) {
        jk_test_fail(__FILE__, __LINE__, "cannot read vector %s", vector);
        return;
    }
    jk_err err = jk_asm_str(src, &got, &got_len, &diag);
    if (err != JK_OK)
        jk_test_fail(__FILE__, __LINE__, "%s: %s", vector, diag.msg);
    else if (got_len != want_len || memcmp(got, want, want_len) != 0)
        jk_test_fail(__FILE__, __LINE__, "%s: assembled bytes differ from the vector", vector);
    free(got);
    free(want);
}

JK_TEST(test_asm_sources_match_vectors)
{
    jk_check_source("inst_add_32", "add_32 r9, r7, r8\n");
    jk_check_source("inst_branch_eq_ok",
                    "    load_imm r7, 1234\n"
                    "    load_imm r8, 1234\n"
                    "    branch_eq r7, r8, taken   ; forward branch\n"
                    "    trap\n"
                    "taken:\n"
                    "    load_imm_64 r7, 0xdeadbeef\n");
    jk_check_source("inst_load_imm_64", "load_imm_64 r7, 0xDEADBEEFDEADBEEF\n");
    jk_check_source("inst_store_imm_u16", "store_imm_u16 0x20000, 0x1234");
    jk_check_source("inst_store_imm_indirect_u16_with_offset_ok",
                    "# mem[r7 + 256] = 0x1234\nstore_imm_ind_u16 r7, 256, 0x1234\n");
    jk_check_source("inst_load_imm_and_jump_indirect_different_regs_without_offset_ok",
                    ".jump_table target\n"
                    "    load_imm r7, jt(target)\n"
                    "    load_imm_jump_ind r8, r7, 1234, 0\n"
                    "    trap\n"
                    "target: load_imm_64 r9, 0xdeadbeef\n");
    jk_check_source("inst_load_imm_and_jump_indirect_same_regs_with_offset_ok",
                    ".jump_table target\n"
                    "LOAD_IMM R7, JT(target)\n"
                    "add_imm_64 r7, r7, -100\n"
                    "load_imm_jump_ind r7, r7, 1234, 100\n"
                    "trap\n"
                    "target:\n"
                    "load_imm_64 r9, 3735928559\n");
    jk_check_source("inst_load_imm_and_jump",
                    "load_imm_jump r7, 1234, there\ntrap\nthere: load_imm_64 r8, 0xdeadbeef\n");
    jk_check_source("inst_ret_halt", "jump_ind r0, 0");
    jk_check_source("inst_store_indirect_u8_with_offset_ok", "store_ind_u8 r8, r7, 10");
}

/* Every opcode with random operands: the bytes decode back to them. */
JK_TEST(test_asm_operands_decode_back)
{
    static const int64_t imms[] = {0,     1,      -1,      2,          127,      128,
                                   -128,  -129,   255,     256,        -256,     32767,
                                   32768, -32768, -32769,  0x7FFFFF,   0x800000, -0x800000,
                                   -0x800001, 0x7FFFFFFF, -0x7FFFFFFF - 1, -65536, 1234567};
    const size_t n_imms = sizeof imms / sizeof imms[0];
    jk_rng_state = 7;
    for (unsigned op = 0; op < 256; op++) {
        const jk_pvm_opinfo *info = jk_pvm_opinfo_get((uint8_t)op);
        if (!info)
            continue;
        const char *sig = jk_pvm_asm_signature((jk_pvm_argfmt)info->format);
        for (int trial = 0; trial < 40; trial++) {
            char src[512];
            int pad = (int)jk_rand_below(4);
            size_t s = 0;
            for (int i = 0; i < pad; i++)
                s += (size_t)snprintf(src + s, sizeof src - s, "fallthrough\n");
            s += (size_t)snprintf(src + s, sizeof src - s, "%s", info->name);
            uint8_t regs[3];
            uint64_t imm[2] = {0, 0}, target = 0;
            unsigned n_regs = 0, n_imm = 0;
            for (const char *k = sig; *k; k++) {
                s += (size_t)snprintf(src + s, sizeof src - s, k == sig ? " " : ", ");
                if (*k == 'R') {
                    regs[n_regs] = (uint8_t)jk_rand_below(13);
                    s += (size_t)snprintf(src + s, sizeof src - s, "r%u", regs[n_regs]);
                    n_regs++;
                } else if (*k == 'I') {
                    int64_t v = imms[jk_rand_below((uint32_t)n_imms)];
                    imm[n_imm++] = (uint64_t)v;
                    unsigned style = jk_rand_below(3);
                    if (style == 0)
                        s += (size_t)snprintf(src + s, sizeof src - s, "%lld", (long long)v);
                    else if (style == 1) /* the 32-bit pattern */
                        s += (size_t)snprintf(src + s, sizeof src - s, "0x%x",
                                              (unsigned)((uint64_t)v & 0xFFFFFFFFu));
                    else /* the full 64-bit pattern */
                        s += (size_t)snprintf(src + s, sizeof src - s, "0x%016llx",
                                              (unsigned long long)v);
                } else if (*k == 'W') {
                    imm[n_imm] = jk_rand() >> jk_rand_below(64);
                    s += (size_t)snprintf(src + s, sizeof src - s, "0x%llx",
                                          (unsigned long long)imm[n_imm]);
                    n_imm++;
                } else { /* T */
                    int64_t off = jk_rand_below(2) ? (int64_t)jk_rand_below(600) - 300
                                                   : imms[jk_rand_below((uint32_t)n_imms)];
                    target = (uint64_t)((int64_t)pad + off);
                    s += (size_t)snprintf(src + s, sizeof src - s, "%lld", (long long)target);
                }
            }
            snprintf(src + s, sizeof src - s, "\n");

            uint8_t *blob = NULL;
            size_t len;
            jk_diag diag = {{0}};
            if (jk_asm_str(src, &blob, &len, &diag) != JK_OK) {
                jk_test_fail(__FILE__, __LINE__, "%s: %s", src, diag.msg);
                continue;
            }
            jk_pvm_blob b;
            jk_pvm_operands ops;
            JK_CHECK(jk_pvm_blob_parse(blob, len, &b, NULL) == JK_OK);
            jk_pvm_decode_operands(&b, (uint32_t)pad, &ops);
            JK_CHECK_EQ(ops.opcode, op);
            JK_CHECK_EQ(ops.skip, b.code_len - (uint32_t)pad - 1);
            switch ((jk_pvm_argfmt)info->format) {
            case JK_PVM_ARGS_REG_REG:
                JK_CHECK_EQ(ops.rd, regs[0]);
                JK_CHECK_EQ(ops.ra, regs[1]);
                break;
            case JK_PVM_ARGS_REG_REG_REG:
                JK_CHECK_EQ(ops.rd, regs[0]);
                JK_CHECK_EQ(ops.ra, regs[1]);
                JK_CHECK_EQ(ops.rb, regs[2]);
                break;
            default:
                if (n_regs > 0)
                    JK_CHECK_EQ(ops.ra, regs[0]);
                if (n_regs > 1)
                    JK_CHECK_EQ(ops.rb, regs[1]);
                break;
            }
            uint64_t got_target;
            if (jk_pvm_asm_target_of(&ops, &got_target)) {
                JK_CHECK_EQ(got_target, target);
                if (n_imm)
                    JK_CHECK_EQ(ops.imm_x, imm[0]);
            } else {
                if (n_imm > 0)
                    JK_CHECK_EQ(ops.imm_x, imm[0]);
                if (n_imm > 1)
                    JK_CHECK_EQ(ops.imm_y, imm[1]);
            }
            /* Fewest bytes: no immediate is longer than it must be. */
            if (strcmp(sig, "I") == 0 || strcmp(sig, "RI") == 0 || strcmp(sig, "RRI") == 0)
                JK_CHECK_EQ(ops.skip, (sig[1] ? 1u : 0u) + jk_pvm_asm_imm_len(imm[0]));
            free(blob);
        }
    }
}

JK_TEST(test_asm_immediates)
{
    static const struct {
        const char *src;
        uint64_t value; /* decoded ν_X of load_imm */
    } ok[] = {
        {"load_imm r1, 0", 0},
        {"load_imm r1, -1", UINT64_MAX},
        {"load_imm r1, 0xFFFFFFFF", UINT64_MAX},
        {"load_imm r1, 0xFFFF0000", UINT64_C(0xFFFFFFFFFFFF0000)},
        {"load_imm r1, 0xFFFFFFFFFFFF0000", UINT64_C(0xFFFFFFFFFFFF0000)},
        {"load_imm r1, 2147483647", 0x7FFFFFFF},
        {"load_imm r1, 2147483648", UINT64_C(0xFFFFFFFF80000000)},
        {"load_imm r1, -2147483648", UINT64_C(0xFFFFFFFF80000000)},
        {"load_imm r1, +12", 12},
        {"load_imm r1, -0x10", (uint64_t)-16},
        {"load_imm r1, 18446744073709551615", UINT64_MAX}, /* the pattern of -1 */
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        uint8_t *blob = NULL;
        size_t len;
        jk_diag diag = {{0}};
        jk_pvm_blob b;
        jk_pvm_operands ops;
        if (jk_asm_str(ok[i].src, &blob, &len, &diag) != JK_OK) {
            jk_test_fail(__FILE__, __LINE__, "%s: %s", ok[i].src, diag.msg);
            continue;
        }
        JK_CHECK(jk_pvm_blob_parse(blob, len, &b, NULL) == JK_OK);
        jk_pvm_decode_operands(&b, 0, &ops);
        JK_CHECK_EQ(ops.imm_x, ok[i].value);
        JK_CHECK_EQ(ops.skip, 1 + jk_pvm_asm_imm_len(ok[i].value));
        free(blob);
    }
    static const char *const bad[] = {
        "load_imm r1, 0x100000000",
        "load_imm r1, -2147483649",
        "load_imm r1, 0xFFFFFFFF7FFFFFFF",
        "load_imm r1, 4294967296",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t *blob = NULL;
        size_t len;
        jk_diag diag = {{0}};
        JK_CHECK(jk_asm_str(bad[i], &blob, &len, &diag) == JK_ERR_PVM_ASM);
        JK_CHECK(strstr(diag.msg, "line 1: immediate") != NULL);
    }
    /* load_imm_64 takes any 64-bit value, always in 8 bytes. */
    uint8_t *blob = NULL;
    size_t len;
    jk_diag diag;
    JK_REQUIRE(jk_asm_str("load_imm_64 r12, -9223372036854775808\nload_imm_64 r0, 0", &blob, &len,
                          &diag) == JK_OK);
    static const uint8_t want[] = {0, 0, 20, 20, 12, 0, 0, 0, 0, 0, 0, 0, 0x80,
                                   20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x04, 0x00};
    JK_CHECK_EQ(len, sizeof want);
    JK_CHECK_MEM(blob, want, len < sizeof want ? len : sizeof want);
    free(blob);
}

/* Branch offsets across the 1/2/3-byte boundaries, forward and backward. */
JK_TEST(test_asm_layout_offsets)
{
    static const unsigned pads[] = {0, 1, 120, 123, 124, 125, 126, 127, 128, 200,
                                    32760, 32763, 32764, 32765, 32766, 40000};
    for (size_t i = 0; i < sizeof pads / sizeof pads[0]; i++) {
        size_t cap = 64 + (size_t)pads[i] * 12;
        char *src = malloc(cap);
        JK_REQUIRE(src != NULL);
        size_t s = 0;
        s += (size_t)snprintf(src + s, cap - s, "top: branch_ne_imm r1, 7, bottom\n");
        for (unsigned k = 0; k < pads[i]; k++)
            s += (size_t)snprintf(src + s, cap - s, "fallthrough\n");
        snprintf(src + s, cap - s, "bottom: branch_eq r1, r2, top\n");
        uint8_t *blob = NULL;
        size_t len;
        jk_diag diag;
        jk_err err = jk_asm_str(src, &blob, &len, &diag);
        free(src);
        JK_REQUIRE(err == JK_OK);
        jk_pvm_blob b;
        jk_pvm_operands first, last;
        JK_REQUIRE(jk_pvm_blob_parse(blob, len, &b, NULL) == JK_OK);
        jk_pvm_decode_operands(&b, 0, &first);
        uint32_t bottom = 1 + first.skip + pads[i];
        JK_CHECK(jk_pvm_blob_is_insn_start(&b, bottom));
        jk_pvm_decode_operands(&b, bottom, &last);
        JK_CHECK_EQ(first.imm_y, bottom);
        JK_CHECK_EQ(last.imm_x, 0);
        /* Fewest bytes for each offset. */
        JK_CHECK_EQ(first.skip, 2 + jk_pvm_asm_imm_len(bottom));
        JK_CHECK_EQ(last.skip, 1 + jk_pvm_asm_imm_len((uint64_t)0 - bottom));
        jk_round_trip(blob, len, "layout", NULL);
        free(blob);
    }
}

JK_TEST(test_asm_directives)
{
    uint8_t *blob = NULL;
    size_t len;
    jk_diag diag;
    /* .byte is not an instruction start, .insn's first byte is; the bitmask
     * tail sets bits past the code; .jump_entry_size forces z. */
    JK_REQUIRE(jk_asm_str(".jump_entry_size 3\n"
                          ".jump_table a, 0x10203, a\n"
                          "a: .insn 0x33, 1 ; load_imm r1, 0 with no immediate\n"
                          ".byte 0, 0xff\n"
                          ".bitmask_tail 0xF0\n",
                          &blob, &len, &diag) == JK_OK);
    static const uint8_t want[] = {3, 3, 4, 0, 0, 0, 3, 2, 1, 0, 0, 0, 0x33, 1, 0, 0xFF, 0xF1};
    JK_CHECK_EQ(len, sizeof want);
    JK_CHECK_MEM(blob, want, len < sizeof want ? len : sizeof want);
    jk_round_trip(blob, len, "directives", NULL);
    free(blob);

    /* Default z: the smallest that holds every entry; 0 without entries. */
    JK_REQUIRE(jk_asm_str(".jump_table 0\ntrap", &blob, &len, &diag) == JK_OK);
    static const uint8_t want_z1[] = {1, 1, 1, 0, 0, 1};
    JK_CHECK_EQ(len, sizeof want_z1);
    JK_CHECK_MEM(blob, want_z1, len < sizeof want_z1 ? len : sizeof want_z1);
    free(blob);
    JK_REQUIRE(jk_asm_str(".jump_table 0x10000\n", &blob, &len, &diag) == JK_OK);
    static const uint8_t want_z3[] = {1, 3, 0, 0, 0, 1};
    JK_CHECK_EQ(len, sizeof want_z3);
    JK_CHECK_MEM(blob, want_z3, len < sizeof want_z3 ? len : sizeof want_z3);
    free(blob);
    JK_REQUIRE(jk_asm_str("", &blob, &len, &diag) == JK_OK);
    JK_CHECK_EQ(len, 3);
    JK_CHECK(blob[0] == 0 && blob[1] == 0 && blob[2] == 0);
    free(blob);

    /* A label at the very end of the code, and jt() of a repeated label. */
    JK_REQUIRE(jk_asm_str(".jump_table x, end, end\nx: load_imm r1, jt(end)\nend:", &blob, &len,
                          &diag) == JK_OK);
    static const uint8_t want_end[] = {3, 1, 3, 0, 3, 3, 51, 1, 4, 1};
    JK_CHECK_EQ(len, sizeof want_end);
    JK_CHECK_MEM(blob, want_end, len < sizeof want_end ? len : sizeof want_end);
    jk_round_trip(blob, len, "label at end", NULL);
    free(blob);
}

/* ---- errors ---- */

JK_TEST(test_asm_errors)
{
    static const struct {
        const char *src;
        const char *msg; /* must appear in the diagnostic, after "line N: " */
        unsigned line;
    } cases[] = {
        {"trap\nfrobnicate r1\n", "unknown mnemonic 'frobnicate'", 2},
        {"trap\n\nadd_64 r1, r2\n", "add_64 takes 3 operands (rd, ra, rb), got 2", 3},
        {"jump", "jump takes 1 operand", 1},
        {"trap r1", "trap takes 0 operands", 1},
        {"add_64 r1, r2, 5", "operand 3 of add_64 must be a register", 1},
        {"load_imm r1, r2", "must be an immediate", 1},
        {"load_imm r1, nowhere", "must be an immediate", 1},
        {"jump jt(a)\n.jump_table a\na:", "must be a label or a pc", 1},
        {"move_reg r13, r1", "register 'r13' out of range", 1},
        {"move_reg r1, r99999999999999999999", "out of range", 1},
        {"load_imm r1, 0x100000000", "immediate '0x100000000' out of range", 1},
        {"load_imm_64 r1, 18446744073709551616", "does not fit 64 bits", 1},
        {"load_imm_64 r1, -9223372036854775809", "does not fit 64 bits", 1},
        {"load_imm r1, 12abc", "bad number", 1},
        {"load_imm r1, 0x", "bad number", 1},
        {"load_imm r1, jt(a", "expected jt(label)", 1},
        {"load_imm r1, @", "bad operand", 1},
        {"add_64 r1, r2, r3 r4", "bad operand", 1},
        {"add_64 r1, , r3", "missing operand", 1},
        {"add_64 r1, r2,", "missing operand", 1},
        {"\n\njump nowhere\n", "undefined label 'nowhere'", 3},
        {".jump_table a, b\nb:", "undefined label 'a'", 1},
        {"a: trap\nb: trap\na: trap", "duplicate label 'a' (first defined on line 1)", 3},
        {"r1: trap", "register name", 1},
        {"load_imm r1, jt(a)\na: trap", "jt(a): the label is not in the jump table", 1},
        {".frob 1", "unknown directive '.frob'", 1},
        {".byte 256", ".byte needs byte values", 1},
        {".insn -1", ".insn needs byte values", 1},
        {".byte", "at least one byte", 1},
        {".jump_table", "at least one entry", 1},
        {".jump_table 0x100000000", "jump-table entry must be", 1},
        {".jump_entry_size 5", ".jump_entry_size needs a number from 0 to 4", 1},
        {".jump_entry_size 1\n.jump_entry_size 1", "given twice", 2},
        {".jump_entry_size 1, 2", "takes 1 operand", 1},
        {".jump_entry_size 1\ntrap\n.jump_table 256", "does not fit .jump_entry_size 1", 3},
        {".jump_entry_size 0\n.jump_table a\ntrap\na: trap", "does not fit", 2},
        {"trap\n.bitmask_tail 1", "overlaps", 2},
        {".bitmask_tail 0x80", "overlaps", 1},
        {"trap\ntrap\n jump 0x7fffffffffff", "out of reach", 3},
        {"jump -2147483649", "out of reach", 1},
        {"trap\n  ! trap", "unexpected character '!'", 2},
        {"trap\x01", "unexpected byte 0x01", 1},
        {"trap(1)", "unexpected character '('", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t *blob = NULL;
        size_t len = 0;
        jk_diag diag = {{0}};
        char prefix[32];
        jk_err err = jk_asm_str(cases[i].src, &blob, &len, &diag);
        snprintf(prefix, sizeof prefix, "line %u: ", cases[i].line);
        if (err != JK_ERR_PVM_ASM || strncmp(diag.msg, prefix, strlen(prefix)) != 0 ||
            !strstr(diag.msg, cases[i].msg))
            jk_test_fail(__FILE__, __LINE__, "source %zu: got %d '%s', want '%s%s'", i, (int)err,
                         diag.msg, prefix, cases[i].msg);
        if (err == JK_OK)
            free(blob);
    }

    /* A NUL byte inside the given length is an error, not an end. */
    uint8_t *blob = NULL;
    size_t len;
    jk_diag diag = {{0}};
    JK_CHECK(jk_pvm_asm("trap\n\0trap", 10, &blob, &len, &diag) == JK_ERR_PVM_ASM);
    JK_CHECK(strstr(diag.msg, "line 2: unexpected byte 0x00") != NULL);
    /* ... but is fine inside a comment. */
    JK_CHECK(jk_pvm_asm("trap ; \0 x", 10, &blob, &len, &diag) == JK_OK);
    free(blob);
}

JK_TEST(test_asm_disasm_rejects_bad_blobs)
{
    static const uint8_t z5[] = {0, 5, 0};
    static const uint8_t trailing[] = {0, 0, 1, 0, 1, 9};
    static const uint8_t truncated[] = {0, 0, 4, 0};
    char *text = NULL;
    jk_diag diag = {{0}};
    JK_CHECK(jk_pvm_disasm(z5, sizeof z5, &text, &diag) == JK_ERR_PVM_BLOB);
    JK_CHECK(strstr(diag.msg, "above 4") != NULL);
    JK_CHECK(jk_pvm_disasm(trailing, sizeof trailing, &text, &diag) == JK_ERR_PVM_BLOB);
    JK_CHECK(jk_pvm_disasm(truncated, sizeof truncated, &text, &diag) == JK_ERR_PVM_BLOB);
    JK_CHECK(jk_pvm_disasm(NULL, 0, &text, &diag) == JK_ERR_PVM_BLOB);
    JK_CHECK(text == NULL);
}

/* The listing itself: labels, comments, raw bytes for non-canonical forms. */
JK_TEST(test_asm_disasm_listing)
{
    /* jump to 5 (an instruction), a branch to 2 (inside an instruction), a
     * load_imm with an over-long immediate, register nibble 15, bad opcode. */
    static const uint8_t code[] = {
        40, 5,             /* @0 jump L5 */
        51, 1,             /* @2 load_imm r1, 0 */
        0,                 /* @4 trap */
        51, 1, 5, 0,       /* @5 load_imm r1, 5 with 2 bytes: not canonical */
        100, 0xF1,         /* @9 move_reg r1, r15→r12: not canonical */
        255,               /* @11 invalid opcode */
        170, 0x21, 0xF3,   /* @12 branch_eq r1, r2, -13 → -1 */
        81, 1, 0xF2,       /* @15 branch_eq_imm r1, 0, 15 - 14 = 1 */
    };
    uint8_t mask[3] = {0};
    static const uint32_t starts[] = {0, 2, 4, 5, 9, 11, 12, 15};
    for (size_t i = 0; i < sizeof starts / sizeof starts[0]; i++)
        mask[starts[i] / 8] |= (uint8_t)(1u << (starts[i] % 8));
    uint32_t table[] = {4, 3};
    size_t len;
    uint8_t *blob = jk_make_blob(table, 2, 1, code, sizeof code, mask, &len);
    JK_REQUIRE(blob != NULL);
    char *text = NULL;
    jk_diag diag;
    JK_REQUIRE(jk_pvm_disasm(blob, len, &text, &diag) == JK_OK);
    JK_CHECK(strstr(text, ".jump_table L4, 3\n") != NULL);
    JK_CHECK(strstr(text, "    jump L5 ") != NULL);
    JK_CHECK(strstr(text, "L5:\n    .insn 0x33, 0x01, 0x05, 0x00") != NULL);
    JK_CHECK(strstr(text, "; @5 load_imm r1, 5\n") != NULL);
    JK_CHECK(strstr(text, ".insn 0x64, 0xf1") != NULL);
    JK_CHECK(strstr(text, "; @11 invalid opcode 255") != NULL);
    JK_CHECK(strstr(text, "    branch_eq r1, r2, -1 ") != NULL);
    JK_CHECK(strstr(text, "    branch_eq_imm r1, 0, 1 ") != NULL);
    JK_CHECK(strstr(text, "L4:\n    trap") != NULL);
    free(text);
    jk_round_trip(blob, len, "listing", NULL);
    free(blob);
}

/* Random programs with label (and some numeric) targets across offset-size
 * boundaries: every target decodes to its label's pc, and label-only programs
 * come out in the most compact form, so their disassembly is all text with
 * label targets. */
static void jk_random_program(unsigned count, uint32_t reach, bool numeric)
{
    size_t cap = (size_t)count * 64 + 64, s = 0;
    char *src = malloc(cap);
    uint32_t *target = malloc(count * sizeof *target);  /* label index or UINT32_MAX */
    uint64_t *number = malloc(count * sizeof *number);  /* numeric target */
    uint32_t *pc_of = malloc((count + 1) * sizeof *pc_of);
    if (!src || !target || !number || !pc_of) {
        jk_test_fail(__FILE__, __LINE__, "out of memory");
        goto done;
    }
    /* Kinds first, so that label targets can be limited to block starts
     * (labels after a terminator), which is all the assembler accepts. */
    unsigned char *kinds = malloc(count + 1), *block = malloc(count + 1);
    if (!kinds || !block) {
        free(kinds);
        free(block);
        jk_test_fail(__FILE__, __LINE__, "out of memory");
        goto done;
    }
    for (unsigned i = 0; i < count; i++) {
        kinds[i] = (unsigned char)jk_rand_below(10);
        if (kinds[i] == 4 && !numeric)
            kinds[i] = 5;
    }
    block[0] = 1;
    for (unsigned i = 0; i < count; i++)
        block[i + 1] = kinds[i] < 5 || kinds[i] == 9; /* branch, jump, fallthrough */
#define JK_TO_BLOCK(t)                                                         \
    do {                                                                       \
        while ((t) > 0 && !block[(t)])                                         \
            (t)--;                                                             \
    } while (0)
    for (unsigned i = 0; i < count; i++) {
        unsigned kind = kinds[i];
        int64_t t = (int64_t)i + (int64_t)jk_rand_below(2 * reach + 1) - (int64_t)reach;
        if (t < 0)
            t = 0;
        if (t > (int64_t)count)
            t = count;
        JK_TO_BLOCK(t);
        target[i] = UINT32_MAX;
        s += (size_t)snprintf(src + s, cap - s, "l%u: ", i);
        if (kind < 3) {
            target[i] = (uint32_t)t;
            s += (size_t)snprintf(src + s, cap - s, "branch_lt_u_imm r%u, %d, l%u\n",
                                  jk_rand_below(13), (int)jk_rand_below(300) - 150, target[i]);
        } else if (kind == 3) { /* short jumps */
            t = (int64_t)i + (int64_t)jk_rand_below(61) - 30;
            t = t < 0 ? 0 : t > (int64_t)count ? (int64_t)count : t;
            JK_TO_BLOCK(t);
            target[i] = (uint32_t)t;
            s += (size_t)snprintf(src + s, cap - s, "jump l%u\n", target[i]);
        } else if (kind == 4) {
            number[i] = jk_rand_below(reach * 4);
            s += (size_t)snprintf(src + s, cap - s, "branch_ne r1, r2, %llu\n",
                                  (unsigned long long)number[i]);
        } else if (kind == 5) {
            s += (size_t)snprintf(src + s, cap - s, "load_imm_64 r3, %llu\n",
                                  (unsigned long long)jk_rand());
        } else if (kind < 9) {
            s += (size_t)snprintf(src + s, cap - s, "add_64 r1, r2, r3\n");
        } else {
            s += (size_t)snprintf(src + s, cap - s, "fallthrough\n");
        }
    }
    snprintf(src + s, cap - s, "l%u:\n", count);
#undef JK_TO_BLOCK
    free(kinds);
    free(block);

    uint8_t *blob = NULL;
    size_t len;
    jk_diag diag;
    if (jk_asm_str(src, &blob, &len, &diag) != JK_OK) {
        jk_test_fail(__FILE__, __LINE__, "%s", diag.msg);
        goto done;
    }
    jk_pvm_blob b;
    JK_REQUIRE(jk_pvm_blob_parse(blob, len, &b, NULL) == JK_OK);
    unsigned k = 0;
    for (uint32_t pc = 0; pc < b.code_len && k < count; pc += 1 + jk_pvm_blob_skip(&b, pc))
        pc_of[k++] = pc;
    JK_CHECK_EQ(k, count);
    pc_of[count] = b.code_len;
    for (unsigned i = 0; i < k; i++) {
        jk_pvm_operands ops;
        uint64_t got;
        jk_pvm_decode_operands(&b, pc_of[i], &ops);
        if (!jk_pvm_asm_target_of(&ops, &got))
            continue;
        uint64_t want = target[i] != UINT32_MAX ? pc_of[target[i]] : number[i];
        if (got != want) {
            jk_test_fail(__FILE__, __LINE__, "instruction %u at pc %u: target %llu, want %llu", i,
                         pc_of[i], (unsigned long long)got, (unsigned long long)want);
            break;
        }
    }
    size_t raw = 0;
    jk_round_trip(blob, len, "random program", &raw);
    if (!numeric) {
        JK_CHECK_EQ(raw, 0);
        char *text = NULL;
        JK_REQUIRE(jk_pvm_disasm(blob, len, &text, &diag) == JK_OK);
        /* Every target is a label: the last operand of each branch line. */
        for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
            if (strncmp(line, "    jump ", 9) != 0 && strncmp(line, "    branch_", 11) != 0)
                continue;
            char *last = strrchr(line, ',');
            last = last ? last + 2 : line + 9;
            if (*last != 'L') {
                jk_test_fail(__FILE__, __LINE__, "numeric target in a label program: %s", line);
                break;
            }
        }
        free(text);
    }
    free(blob);
done:
    free(src);
    free(target);
    free(number);
    free(pc_of);
}

JK_TEST(test_asm_random_label_programs)
{
    jk_rng_state = 99;
    for (int round = 0; round < 20; round++) {
        jk_random_program(40, 20, false);
        jk_random_program(400, 60, round & 1);
        jk_random_program(3000, 3500, round & 1);
    }
    jk_random_program(100000, 3000, false); /* needs more than 32 layout passes */
}

/* `jark asm` and `jark disasm` through their entry points. */
JK_TEST(test_asm_cli)
{
    char src_path[] = "/tmp/jark_asm_src_XXXXXX", blob_path[] = "/tmp/jark_asm_blob_XXXXXX",
         text_path[] = "/tmp/jark_asm_text_XXXXXX";
    int fds[3] = {mkstemp(src_path), mkstemp(blob_path), mkstemp(text_path)};
    JK_REQUIRE(fds[0] >= 0 && fds[1] >= 0 && fds[2] >= 0);
    for (int i = 0; i < 3; i++)
        close(fds[i]);
    FILE *f = fopen(src_path, "w");
    JK_REQUIRE(f != NULL);
    fputs("add_32 r9, r7, r8 ; the inst_add_32 vector\n", f);
    fclose(f);

    char *asm_argv[] = {src_path, "-o", blob_path, NULL};
    JK_CHECK_EQ(jk_tool_asm(3, asm_argv), 0);
    unsigned char *blob = NULL, *text = NULL;
    size_t len = 0, text_len = 0;
    if (jk_tool_read_file(blob_path, &blob, &len) == 0) {
        static const uint8_t want[] = {0, 0, 3, 190, 135, 9, 1};
        JK_CHECK_EQ(len, sizeof want);
        JK_CHECK_MEM(blob, want, len < sizeof want ? len : sizeof want);
    }
    char *disasm_argv[] = {"-o", text_path, blob_path, NULL};
    JK_CHECK_EQ(jk_tool_disasm(3, disasm_argv), 0);
    if (jk_tool_read_file(text_path, &text, &text_len) == 0)
        JK_CHECK(strstr((char *)text, "    add_32 r9, r7, r8 ") != NULL);
    free(blob);
    free(text);
    unlink(src_path);
    unlink(blob_path);
    unlink(text_path);
}

JK_TEST(test_asm_refuses_label_target_mid_block)
{
    static const char bad[] = "    load_imm r7, 0\nloop:\n    add_imm_64 r7, r7, 1\n    branch_ne_imm r7, 5, loop\n";
    static const char good[] = "    load_imm r7, 0\n    fallthrough\nloop:\n    add_imm_64 r7, r7, 1\n"
                               "    branch_ne_imm r7, 5, loop\n";
    uint8_t *blob = NULL;
    size_t len;
    jk_diag diag = {{0}};
    JK_CHECK_EQ(jk_pvm_asm(bad, strlen(bad), &blob, &len, &diag), JK_ERR_PVM_ASM);
    JK_CHECK(strstr(diag.msg, "line 4:") != NULL);
    JK_CHECK(strstr(diag.msg, "does not start a basic block") != NULL);
    JK_REQUIRE(jk_pvm_asm(good, strlen(good), &blob, &len, &diag) == JK_OK);
    /* The accepted form really loops: r7 counts to 5 and the branch falls out. */
    jk_pvm_program *prog;
    jk_pvm_memory *mem;
    JK_REQUIRE(jk_pvm_program_load(blob, len, &prog, NULL) == JK_OK && jk_pvm_memory_new(&mem) == JK_OK);
    jk_pvm_state st = {.gas = 100};
    jk_pvm_exit ex;
    JK_CHECK_EQ(jk_pvm_run(prog, mem, &st, &ex), JK_OK);
    JK_CHECK_EQ(ex.status, JK_PVM_PANIC); /* the implicit trap after the loop */
    JK_CHECK_EQ(st.regs[7], 5);
    jk_pvm_memory_free(mem);
    jk_pvm_program_free(prog);
    free(blob);
}
