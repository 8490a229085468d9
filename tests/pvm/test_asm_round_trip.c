/*
 * test_asm_round_trip.c — the disassembler (src/pvm/disasm.c) and its round
 * trip through the assembler (src/pvm/asm*.c).
 *
 * The core property: for every valid blob, disasm → asm gives back the
 * identical bytes. Checked on the shared PVM vectors, on thousands of random
 * blobs, on random bytes (which must be refused cleanly or round-trip), on a
 * blob built to have two consistent branch layouts, and on random programs
 * with label targets across offset-size boundaries (label-only ones
 * disassemble to all text with label targets). Also: the listing's labels,
 * comments and raw bytes, the blobs disasm refuses, and `jark asm` / `jark
 * disasm` through their entry points.
 */
#include "../test.h"
#include "asm_test_util.h"
#include "../../tools/commands.h"

#include <dirent.h>
#include <stdlib.h>
#include <unistd.h>

/* ---- helpers ---- */

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
            size_t raw = 0;
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

/* ---- the disassembler ---- */

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
