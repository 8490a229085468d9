/*
 * sdk_memo.c — the test binary's SDK builds, remembered (progs.h,
 * jk_test_sdk_memo).
 *
 * The tests build the same chain programs again and again (the test chain
 * of tests/chain/progs for every jk_test_chain_make, the demo chain for
 * every fixture and devnet): each build runs clang-19 on the program and on
 * the SDK's libc and ld.lld-19 twice, ~0.2 s of CPU that a loaded machine
 * stretches to seconds. The link of build/tests wraps jk_sdk_build and
 * jk_sdk_build_one (-Wl,--wrap, Makefile), so every call from the tests,
 * the library (a spec file's C programs) and the tools they run in-process
 * comes here first: a build whose inputs were built before in this process
 * gets a copy of those bytes, and every other build runs the SDK.
 *
 * The key is what the bytes can depend on (the SDK is deterministic: the
 * same inputs give the same bytes, test_sdk_endpoints_arguments_and_
 * determinism): the SDK folder and JARK_CLANG / JARK_LLD, the options, and
 * the path and contents of each source, of every file it includes
 * (quoted or angled, looked up as the compiler would: the including file's
 * folder, the -I folders, the SDK, its libc; recursively), of the SDK's
 * libc.c and link.ld. A file that cannot be read adds its name only: the
 * compiler cannot read it either, or it is a guard the preprocessor skips.
 * A failed build is never remembered, nor one that asks for statistics, an
 * assembly listing or a line map (they are written by the build itself).
 * A test that must see the SDK build (determinism) turns the memo off.
 */
#include "progs.h"
#include "files.h"
#include "test.h"

#include "jark/bytes.h"
#include "jark/crypto.h"
#include "jark/sdk.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

jk_err __real_jk_sdk_build(const char *const *sources, size_t nsources, const jk_sdk_options *o, uint8_t **out,
                           size_t *out_len, jk_sdk_link_stats *stats, jk_diag *diag);
jk_err __wrap_jk_sdk_build(const char *const *sources, size_t nsources, const jk_sdk_options *o, uint8_t **out,
                           size_t *out_len, jk_sdk_link_stats *stats, jk_diag *diag);
jk_err __wrap_jk_sdk_build_one(const char *source, uint8_t **out, size_t *out_len, jk_diag *diag);

#define MEMO_MAX 512       /* programs remembered (a run builds ~100 distinct ones) */
#define MEMO_FILES 256     /* files one key reads at most; past it, no memo */

typedef struct memo_entry {
    jk_hash key;
    uint8_t *bytes;
    size_t len;
} memo_entry;

static memo_entry memo[MEMO_MAX];
static size_t memo_count;
static bool memo_off;
static pthread_mutex_t memo_lock = PTHREAD_MUTEX_INITIALIZER;
static size_t memo_hits, memo_builds;

void jk_test_sdk_memo(bool on)
{
    pthread_mutex_lock(&memo_lock);
    memo_off = !on;
    pthread_mutex_unlock(&memo_lock);
}

void jk_test_sdk_memo_counts(size_t *hits, size_t *builds)
{
    pthread_mutex_lock(&memo_lock);
    *hits = memo_hits;
    *builds = memo_builds;
    pthread_mutex_unlock(&memo_lock);
}

/* The files a key has read (each once). */
typedef struct memo_walk {
    jk_crypto_hasher h;
    char (*seen)[PATH_MAX];
    size_t nseen;
    bool full;               /* MEMO_FILES reached: no memo for this build */
    const jk_sdk_options *o;
    const char *sdk;
} memo_walk;

static void memo_str(memo_walk *w, const char *s)
{
    uint8_t n[8];
    size_t len = s ? strlen(s) : SIZE_MAX;
    jk_put_u64le(n, (uint64_t)len);
    jk_crypto_hasher_update(&w->h, n, sizeof n);
    if (s)
        jk_crypto_hasher_update(&w->h, (const uint8_t *)s, len);
}

static bool memo_read(const char *path, uint8_t **bytes, size_t *len)
{
    return jk_read_file(path, bytes, len, NULL) == JK_OK;
}

static void memo_file(memo_walk *w, const char *path);

/* Each #include of text[0..len): its file, found as the compiler would. */
static void memo_includes(memo_walk *w, const char *from, const char *text, size_t len)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", from);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
    else
        snprintf(dir, sizeof dir, ".");
    for (size_t i = 0; i < len && !w->full;) {
        const char *line = text + i;
        const char *nl = memchr(line, '\n', len - i);
        size_t n = nl ? (size_t)(nl - line) : len - i;
        i += n + 1;
        size_t k = 0;
        while (k < n && (line[k] == ' ' || line[k] == '\t'))
            k++;
        if (k >= n || line[k] != '#')
            continue;
        k++;
        while (k < n && (line[k] == ' ' || line[k] == '\t'))
            k++;
        if (n - k < 7 || memcmp(line + k, "include", 7) != 0)
            continue;
        k += 7;
        while (k < n && (line[k] == ' ' || line[k] == '\t'))
            k++;
        if (k >= n || (line[k] != '"' && line[k] != '<'))
            continue;
        char close = line[k] == '"' ? '"' : '>';
        const char *name = line + k + 1;
        const char *end = memchr(name, close, n - k - 1);
        if (!end || end == name || (size_t)(end - name) >= 256)
            continue;
        char inc[256];
        memcpy(inc, name, (size_t)(end - name));
        inc[end - name] = 0;
        /* where the compiler looks: the includer's folder (quoted only),
         * the -I folders, the SDK, its libc */
        const char *where[2 + JK_SDK_MAX_FLAGS + 2];
        size_t nw = 0;
        if (close == '"')
            where[nw++] = dir;
        for (size_t d = 0; w->o && d < w->o->include_count && d < JK_SDK_MAX_FLAGS; d++)
            where[nw++] = w->o->include_dirs[d];
        char libc[PATH_MAX];
        snprintf(libc, sizeof libc, "%s/libc", w->sdk);
        where[nw++] = w->sdk;
        where[nw++] = libc;
        bool found = false;
        for (size_t d = 0; d < nw && !found; d++) {
            char path[PATH_MAX];
            int m = inc[0] == '/' ? snprintf(path, sizeof path, "%s", inc)
                                  : snprintf(path, sizeof path, "%s/%s", where[d], inc);
            FILE *f = m > 0 && (size_t)m < sizeof path ? fopen(path, "rb") : NULL;
            if (f) {
                fclose(f);
                found = true;
                memo_file(w, path);
            }
        }
        if (!found)
            memo_str(w, inc);
    }
}

/* path's name and contents, and what it includes (each file once). */
static void memo_file(memo_walk *w, const char *path)
{
    for (size_t i = 0; i < w->nseen; i++)
        if (strcmp(w->seen[i], path) == 0)
            return;
    if (w->nseen == MEMO_FILES) {
        w->full = true;
        return;
    }
    snprintf(w->seen[w->nseen++], PATH_MAX, "%s", path);
    memo_str(w, path);
    uint8_t *bytes = NULL;
    size_t len = 0;
    if (!memo_read(path, &bytes, &len)) {
        memo_str(w, NULL);
        return;
    }
    uint8_t n[8];
    jk_put_u64le(n, (uint64_t)len);
    jk_crypto_hasher_update(&w->h, n, sizeof n);
    jk_crypto_hasher_update(&w->h, bytes, len);
    memo_includes(w, path, (const char *)bytes, len);
    free(bytes);
}

/* The key of a build; false when it has none (no memo for it). */
static bool memo_key(const char *const *sources, size_t nsources, const jk_sdk_options *o, jk_hash *key)
{
    const char *sdk = jk_sdk_dir();
    if (!sdk || nsources < 1 || nsources > JK_SDK_MAX_SOURCES)
        return false;
    if (o && (o->define_count > JK_SDK_MAX_FLAGS || o->include_count > JK_SDK_MAX_FLAGS))
        return false;
    memo_walk w = {.o = o, .sdk = sdk};
    w.seen = malloc(MEMO_FILES * sizeof *w.seen);
    if (!w.seen)
        return false;
    jk_crypto_hasher_init(&w.h);
    memo_str(&w, "jark tests: sdk memo 1");
    memo_str(&w, sdk);
    memo_str(&w, getenv("JARK_CLANG"));
    memo_str(&w, getenv("JARK_LLD"));
    memo_str(&w, o ? o->opt : NULL);
    for (size_t i = 0; o && i < o->define_count; i++)
        memo_str(&w, o->defines[i]);
    memo_str(&w, "-I");
    for (size_t i = 0; o && i < o->include_count; i++)
        memo_str(&w, o->include_dirs[i]);
    memo_str(&w, "sources");
    for (size_t i = 0; i < nsources; i++) {
        memo_str(&w, sources[i]);
        /* a source named twice is compiled twice: its place counts */
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s", sources[i]);
        w.nseen = 0;
        memo_file(&w, path);
    }
    char libc[PATH_MAX], ld[PATH_MAX];
    snprintf(libc, sizeof libc, "%s/libc/libc.c", sdk);
    snprintf(ld, sizeof ld, "%s/link.ld", sdk);
    w.nseen = 0;
    memo_file(&w, libc);
    memo_file(&w, ld);
    bool ok = !w.full && jk_crypto_hasher_final(&w.h, key) == JK_OK;
    free(w.seen);
    return ok;
}

jk_err __wrap_jk_sdk_build(const char *const *sources, size_t nsources, const jk_sdk_options *o, uint8_t **out,
                           size_t *out_len, jk_sdk_link_stats *stats, jk_diag *diag)
{
    pthread_mutex_lock(&memo_lock);
    bool off = memo_off;
    pthread_mutex_unlock(&memo_lock);
    jk_hash key;
    if (off || stats || (o && (o->asm_path || o->map_path)) || !memo_key(sources, nsources, o, &key))
        return __real_jk_sdk_build(sources, nsources, o, out, out_len, stats, diag);
    pthread_mutex_lock(&memo_lock);
    for (size_t i = 0; i < memo_count; i++)
        if (memcmp(memo[i].key.bytes, key.bytes, 32) == 0) {
            uint8_t *copy = malloc(memo[i].len ? memo[i].len : 1);
            if (copy) {
                memcpy(copy, memo[i].bytes, memo[i].len);
                *out = copy;
                *out_len = memo[i].len;
                memo_hits++;
            }
            pthread_mutex_unlock(&memo_lock);
            if (copy)
                return JK_OK;
            return jk_diag_set(diag, JK_ERR_NOMEM, "out of memory");
        }
    pthread_mutex_unlock(&memo_lock);
    jk_err err = __real_jk_sdk_build(sources, nsources, o, out, out_len, stats, diag);
    if (err != JK_OK)
        return err;
    pthread_mutex_lock(&memo_lock);
    memo_builds++;
    uint8_t *keep = memo_count < MEMO_MAX ? malloc(*out_len ? *out_len : 1) : NULL;
    if (keep) {
        memcpy(keep, *out, *out_len);
        memo[memo_count++] = (memo_entry){key, keep, *out_len};
    }
    pthread_mutex_unlock(&memo_lock);
    return JK_OK;
}

jk_err __wrap_jk_sdk_build_one(const char *source, uint8_t **out, size_t *out_len, jk_diag *diag)
{
    return __wrap_jk_sdk_build(&source, 1, NULL, out, out_len, NULL, diag);
}

/* ---- its test ---- */

/* Builds DIR/main.c (which includes "value.h") once; its bytes, NULL when
 * it does not build. */
static uint8_t *memo_build(const char *dir, size_t *len)
{
    char src[300];
    snprintf(src, sizeof src, "%s/main.c", dir);
    uint8_t *bytes = NULL;
    return jk_sdk_build_one(src, &bytes, len, NULL) == JK_OK ? bytes : NULL;
}

/* A build made before is answered from memory; a change to an included
 * header (not the source) builds again, and gives other bytes; the memo
 * turned off builds every time. */
JK_TEST(test_sdk_memo_remembers_by_contents_of_every_included_file)
{
    char dir[256];
    JK_REQUIRE(jk_test_tmpdir("sdk-memo", dir, sizeof dir));
    static const char main_c[] = "#include \"jark.h\"\n#include \"value.h\"\n"
                                 "long f(void) { return VALUE; }\nJK_ENDPOINT(0, f);\n";
    jk_test_write_file(dir, "main.c", (const uint8_t *)main_c, strlen(main_c));
    jk_test_write_file(dir, "value.h", (const uint8_t *)"#define VALUE 7\n", 16);
    size_t h0, b0, h, b, l7, l7b, l8, l7c;
    jk_test_sdk_memo_counts(&h0, &b0);
    uint8_t *p7 = memo_build(dir, &l7);
    jk_test_sdk_memo_counts(&h, &b);
    JK_REQUIRE(p7);
    JK_CHECK_EQ(b, b0 + 1);
    uint8_t *p7b = memo_build(dir, &l7b); /* the same inputs: from memory */
    jk_test_sdk_memo_counts(&h, &b);
    JK_REQUIRE(p7b);
    JK_CHECK_EQ(h, h0 + 1);
    JK_CHECK_EQ(b, b0 + 1);
    JK_CHECK(l7b == l7 && memcmp(p7b, p7, l7) == 0);
    jk_test_write_file(dir, "value.h", (const uint8_t *)"#define VALUE 8\n", 16);
    uint8_t *p8 = memo_build(dir, &l8); /* only the header changed: built again */
    jk_test_sdk_memo_counts(&h, &b);
    JK_REQUIRE(p8);
    JK_CHECK_EQ(h, h0 + 1);
    JK_CHECK_EQ(b, b0 + 2);
    JK_CHECK(l8 != l7 || memcmp(p8, p7, l7) != 0);
    jk_test_write_file(dir, "value.h", (const uint8_t *)"#define VALUE 7\n", 16);
    jk_test_sdk_memo(false);
    uint8_t *p7c = memo_build(dir, &l7c); /* memo off: the SDK runs, nothing remembered */
    jk_test_sdk_memo(true);
    jk_test_sdk_memo_counts(&h, &b);
    JK_REQUIRE(p7c);
    JK_CHECK_EQ(h, h0 + 1);
    JK_CHECK_EQ(b, b0 + 2);
    JK_CHECK(l7c == l7 && memcmp(p7c, p7, l7) == 0);
    free(p7);
    free(p7b);
    free(p8);
    free(p7c);
    jk_test_rm_tree(dir);
}
