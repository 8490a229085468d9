/*
 * test_asm.c — the assembler (src/pvm/asm*.c) from source text.
 *
 * Hand-written sources must assemble to the shared PVM vectors' bytes; every
 * opcode with random operands must decode back (jk_pvm_decode_operands()) to
 * what was written, in the fewest bytes; immediates, branch offsets across the
 * 1/2/3-byte boundaries and the directives give pinned bytes; one message per
 * error class, with its line; a label that does not start a basic block is
 * refused. The disasm → asm round trips are in test_asm_round_trip.c.
 */
#include "../test.h"
#include "asm_test_util.h"

#include <stdlib.h>

/* ---- helpers ---- */

static bool jk_load_named_vector(const char *name, uint8_t **out, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/vectors/pvm/programs/%s.json", jk_test_shared_dir(), name);
    return jk_load_vector_program(path, out, len);
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
