/*
 * test_sdk.c — C programs through the whole toolchain: clang-19 for RV64EM,
 * ld.lld-19, the SDK linker, the PVM. Each corpus program (tests/sdk/corpus)
 * is compiled natively and at -O0, -O2 and -Os for the PVM, and the outputs
 * must agree byte for byte; the hash programs' digests are also checked
 * against libsodium. Then: endpoints and arguments, determinism, and the
 * linker's refusals.
 */
#include "../test.h"
#include "jark/sdk.h"
#include "../progs.h"
#include "../../src/sdk/linker.h"

#include "jark/crypto.h"

#include <sodium.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *const jk_opts[3] = {"-O0", "-O2", "-Os"};

/* A scratch directory for this test run. */
static const char *jk_scratch(void)
{
    static char dir[96];
    if (!dir[0] && !jk_test_tmpdir("sdk-test", dir, sizeof dir))
        dir[0] = 0;
    return dir;
}

static char *jk_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t cap = 0;
    *len = 0;
    for (;;) {
        if (*len + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            char *grown = realloc(buf, cap);
            if (!grown)
                break;
            buf = grown;
        }
        size_t n = fread(buf + *len, 1, 4096, f);
        *len += n;
        if (n == 0)
            break;
    }
    fclose(f);
    if (buf)
        buf[*len] = 0;
    return buf;
}

/* Builds `source` natively and returns its stdout (malloc'd), or NULL. */
static char *jk_native_output(const char *source, size_t *len)
{
    char exe[256], out[256], cmd[2048];
    const char *sdk = jk_sdk_dir();
    snprintf(exe, sizeof exe, "%s/native", jk_scratch());
    snprintf(out, sizeof out, "%s/native.out", jk_scratch());
    snprintf(cmd, sizeof cmd, "cc -std=gnu11 -DJARK_NATIVE -I%s -O2 %s -o %s && %s > %s", sdk, source, exe, exe, out);
    if (system(cmd) != 0)
        return NULL;
    return jk_slurp(out, len);
}

/* Builds `source` for the PVM at `opt`; runs endpoint 0; returns the debug
 * output (malloc'd) and the exit. */
static char *jk_pvm_output(const char *source, const char *opt, jk_sdk_exec_result *res, size_t *len)
{
    char program[256];
    snprintf(program, sizeof program, "%s/program.jkp", jk_scratch());
    const char *sources[1] = {source};
    if (jk_test_build(sources, 1, opt, program, NULL) != JK_OK)
        return NULL;
    size_t plen;
    char *bytes = jk_slurp(program, &plen);
    if (!bytes)
        return NULL;
    char *text = NULL;
    size_t text_len = 0;
    FILE *out = open_memstream(&text, &text_len);
    jk_err rc = jk_sdk_exec((const uint8_t *)bytes, plen, NULL, 2000000000, NULL, 0, out, res, NULL);
    fclose(out);
    free(bytes);
    if (rc != JK_OK) {
        free(text);
        return NULL;
    }
    *len = text_len;
    return text;
}

/* Native vs PVM at every optimisation level. Returns the -O2 output. */
static char *jk_corpus_check(const char *name)
{
    char source[256];
    size_t native_len, pvm_len;
    char *kept = NULL;
    snprintf(source, sizeof source, "tests/sdk/corpus/%s.c", name);
    char *native = jk_native_output(source, &native_len);
    if (!native) {
        jk_test_fail(__FILE__, __LINE__, "%s: native build or run failed", name);
        return NULL;
    }
    for (int o = 0; o < 3; o++) {
        jk_sdk_exec_result res;
        char *out = jk_pvm_output(source, jk_opts[o], &res, &pvm_len);
        if (!out) {
            jk_test_fail(__FILE__, __LINE__, "%s %s: PVM build or run failed", name, jk_opts[o]);
            continue;
        }
        if (res.status != JK_PVM_HALT)
            jk_test_fail(__FILE__, __LINE__, "%s %s: ended %s at pc %u", name, jk_opts[o],
                         jk_pvm_status_name(res.status), res.pc);
        if (pvm_len != native_len || memcmp(out, native, native_len) != 0)
            jk_test_fail(__FILE__, __LINE__, "%s %s: output differs from native\n--- native\n%s--- pvm\n%s", name,
                         jk_opts[o], native, out);
        if (o == 1 && !kept)
            kept = out;
        else
            free(out);
    }
    free(native);
    return kept;
}

JK_TEST(test_sdk_corpus_ints) { free(jk_corpus_check("ints")); }
JK_TEST(test_sdk_corpus_recursion) { free(jk_corpus_check("recursion")); }
JK_TEST(test_sdk_corpus_funcptr) { free(jk_corpus_check("funcptr")); }
JK_TEST(test_sdk_corpus_structs) { free(jk_corpus_check("structs")); }
JK_TEST(test_sdk_corpus_memops) { free(jk_corpus_check("memops")); }
JK_TEST(test_sdk_corpus_sort) { free(jk_corpus_check("sort")); }
JK_TEST(test_sdk_corpus_rvedge) { free(jk_corpus_check("rvedge")); }

/* The generator of tests/sdk/corpus/corpus.h, on the host. */
static void jk_corpus_fill(uint8_t *buf, unsigned long len, uint64_t seed)
{
    uint64_t state = seed;
    for (unsigned long i = 0; i < len; i += 8) {
        uint64_t z = (state += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        for (unsigned k = 0; k < 8 && i + k < len; k++)
            buf[i + k] = (uint8_t)(z >> (8 * k));
    }
}

/* Each line "<label> <len> <seed> <hex digest>" must match libsodium. */
static void jk_check_digests(const char *output, const char *label, int sha)
{
    static uint8_t buf[20000];
    int lines = 0;
    const char *p = output;
    while (p && *p) {
        char name[32], hex[65];
        unsigned long len, seed;
        if (sscanf(p, "%31s %lu %lu %64s", name, &len, &seed, hex) == 4 && !strcmp(name, label) &&
            len <= sizeof buf) {
            uint8_t digest[32];
            char want[65];
            jk_corpus_fill(buf, len, seed);
            if (sha)
                crypto_hash_sha256(digest, buf, len);
            else {
                jk_hash h;
                jk_crypto_blake2b256(buf, len, &h);
                memcpy(digest, h.bytes, 32);
            }
            for (int i = 0; i < 32; i++)
                snprintf(want + 2 * i, 3, "%02x", digest[i]);
            if (strcmp(want, hex) != 0)
                jk_test_fail(__FILE__, __LINE__, "%s of %lu bytes: program says %s, libsodium %s", label, len, hex, want);
            lines++;
        }
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    JK_CHECK_EQ(lines, 10);
}

JK_TEST(test_sdk_corpus_blake2b_matches_libsodium)
{
    char *out = jk_corpus_check("blake2b");
    JK_REQUIRE(out != NULL);
    jk_check_digests(out, "blake2b-256", 0);
    free(out);
}

JK_TEST(test_sdk_corpus_sha256_matches_libsodium)
{
    char *out = jk_corpus_check("sha256");
    JK_REQUIRE(out != NULL);
    jk_check_digests(out, "sha256", 1);
    free(out);
}

static const char *jk_write_source(const char *name, const char *text)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", jk_scratch(), name);
    FILE *f = fopen(path, "w");
    if (!f)
        return NULL;
    fputs(text, f);
    fclose(f);
    return path;
}

JK_TEST(test_sdk_endpoints_arguments_and_determinism)
{
    const char *src = jk_write_source("eps.c",
        "#include \"jark.h\"\n"
        "long first(long a, long b) { return a * 100 + b; }\n"
        "long second(long a, long b, long c, long d, long e, long f) { return a + b + c + d + e + f; }\n"
        "long third(void) { jk_print_str(\"third\\n\"); return -5; }\n"
        "JK_ENDPOINT(0, first);\nJK_ENDPOINT(1, second);\nJK_ENDPOINT(2, third);\n");
    JK_REQUIRE(src != NULL);
    char p1[256], p2[256];
    snprintf(p1, sizeof p1, "%s/a.jkp", jk_scratch());
    snprintf(p2, sizeof p2, "%s/b.jkp", jk_scratch());
    const char *sources[1] = {src};
    jk_test_sdk_memo(false); /* two real builds: the test binary's memo would give the first's bytes */
    jk_err e1 = jk_test_build(sources, 1, "-O2", p1, NULL), e2 = jk_test_build(sources, 1, "-O2", p2, NULL);
    jk_test_sdk_memo(true);
    JK_REQUIRE(e1 == JK_OK && e2 == JK_OK);
    size_t l1, l2;
    char *b1 = jk_slurp(p1, &l1), *b2 = jk_slurp(p2, &l2);
    JK_REQUIRE(b1 && b2);
    JK_CHECK(l1 == l2 && memcmp(b1, b2, l1) == 0); /* same sources, same bytes */

    jk_pvm_progfile *pf = malloc(sizeof *pf);
    JK_REQUIRE(pf && jk_pvm_progfile_parse((const uint8_t *)b1, l1, pf, NULL) == JK_OK);
    JK_CHECK_EQ(pf->endpoint_count, 3);
    JK_CHECK(!strcmp(pf->endpoints[0].name, "first"));
    JK_CHECK(!strcmp(pf->endpoints[2].name, "third"));
    free(pf);

    jk_sdk_exec_result res;
    uint64_t args[6] = {3, 4, 5, 6, 7, 8};
    FILE *sink = fopen("/dev/null", "w");
    JK_CHECK_EQ(jk_sdk_exec((const uint8_t *)b1, l1, "first", 100000, args, 2, sink, &res, NULL), JK_OK);
    JK_CHECK_EQ(res.status, JK_PVM_HALT);
    JK_CHECK_EQ(res.r7, 304);
    JK_CHECK_EQ(jk_sdk_exec((const uint8_t *)b1, l1, "second", 100000, args, 6, sink, &res, NULL), JK_OK);
    JK_CHECK_EQ(res.r7, 33);
    JK_CHECK_EQ(jk_sdk_exec((const uint8_t *)b1, l1, NULL, 100000, args, 2, sink, &res, NULL), JK_OK);
    JK_CHECK_EQ(res.r7, 304); /* endpoint 0 by default */
    char *text = NULL;
    size_t text_len = 0;
    FILE *out = open_memstream(&text, &text_len);
    JK_CHECK_EQ(jk_sdk_exec((const uint8_t *)b1, l1, "third", 100000, NULL, 0, out, &res, NULL), JK_OK);
    fclose(out);
    JK_CHECK(text && !strcmp(text, "third\n"));
    JK_CHECK_EQ(res.r7, (uint64_t)-5);
    free(text);
    /* Too little gas: out of gas, not a crash. */
    JK_CHECK_EQ(jk_sdk_exec((const uint8_t *)b1, l1, "third", 5, NULL, 0, sink, &res, NULL), JK_OK);
    JK_CHECK_EQ(res.status, JK_PVM_OUT_OF_GAS);
    JK_CHECK_EQ(jk_sdk_exec((const uint8_t *)b1, l1, "nonesuch", 100, NULL, 0, sink, &res, NULL), JK_ERR_INVALID_ARG);
    fclose(sink);
    free(b1);
    free(b2);
}

/* A program the linker must refuse, with a message naming the problem. */
static void jk_expect_refusal(const char *body, const char *needle)
{
    const char *src = jk_write_source("bad.c", body);
    char program[256];
    jk_diag diag = {{0}};
    snprintf(program, sizeof program, "%s/bad.jkp", jk_scratch());
    const char *sources[1] = {src};
    jk_err rc = jk_test_build(sources, 1, "-O2", program, &diag);
    if (rc == JK_OK || !strstr(diag.msg, needle))
        jk_test_fail(__FILE__, __LINE__, "expected a refusal mentioning '%s', got rc %d: %s", needle, rc, diag.msg);
    if (!strstr(diag.msg, "0x7000"))
        jk_test_fail(__FILE__, __LINE__, "refusal does not name the address: %s", diag.msg);
}

JK_TEST(test_sdk_linker_refuses_what_it_cannot_translate)
{
    jk_expect_refusal("#include \"jark.h\"\nlong f(void) { long r; __asm__ volatile(\"mv %0, gp\" : \"=r\"(r)); return r; }\n"
                      "JK_ENDPOINT(0, f);\n", "gp");
    jk_expect_refusal("#include \"jark.h\"\nlong f(void) { __asm__ volatile(\"ecall\"); return 0; }\nJK_ENDPOINT(0, f);\n",
                      "ecall");
    jk_expect_refusal("#include \"jark.h\"\nlong f(void) { __asm__ volatile(\"csrr a0, cycle\"); return 0; }\n"
                      "JK_ENDPOINT(0, f);\n", "not an RV64EM instruction");
}

JK_TEST(test_sdk_elf_parser_refuses_garbage)
{
    jk_elf elf;
    jk_diag diag = {{0}};
    static const uint8_t junk[100] = {0x7f, 'E', 'L', 'F', 2, 1};
    JK_CHECK_EQ(jk_sdk_elf_parse(junk, 10, &elf, &diag), JK_ERR_PARSE);
    JK_CHECK_EQ(jk_sdk_elf_parse(junk, sizeof junk, &elf, &diag), JK_ERR_PARSE);
    JK_CHECK(diag.msg[0] != 0);
    uint8_t *out;
    size_t out_len;
    JK_CHECK_EQ(jk_sdk_link_elf(junk, sizeof junk, 4096, 0, &out, &out_len, NULL, NULL, &diag), JK_ERR_PARSE);
    JK_CHECK_EQ(jk_sdk_link(junk, sizeof junk, &out, &out_len, NULL, NULL, &diag), JK_ERR_PARSE);
}
