/* test_tutorial.c — docs/tutorial.md is run as written, so it cannot rot.
 *
 * The tutorial is a transcript. In a ```console block, a line "$ COMMAND"
 * is a command and the lines after it, up to the next "$ " line or the end
 * of the block, are its output (stdout and stderr together; a command that
 * exits with status N > 0 adds a last line "[exit N]"). A line
 * "<!-- file: PATH -->" writes the fenced block that follows it to PATH.
 * Commands run in order with sh, in one fresh directory, with the `jark`
 * beside this test binary first on PATH. Each output must equal the
 * transcript's, except for what differs between runs (mask_varying: hashes
 * and keys, timings); the first difference is printed.
 *
 * Then the counter the tutorial built is run through the chain layer, as
 * its section 5 says. */
#include "../test.h"
#include "example_chain.h"

#include "jark/bytes.h"

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }
static bool is_word(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }

/* What may differ between runs, in place: hex words of 16 or 64 digits
 * (hashes and keys, which change with the compiler and with random keys)
 * become "<hash>", and a number before " ms", " s", " s)" or " events/s"
 * (timings) becomes "<n>". */
static void mask_varying(char *s)
{
    char *w = s, prev = 0;
    const char *p = s;
    while (*p) {
        if (!is_word(prev)) {
            size_t n = 0;
            while (is_hex(p[n]))
                n++;
            if ((n == 16 || n == 64) && !is_word(p[n])) {
                prev = p[n - 1];
                p += n;
                memcpy(w, "<hash>", 6);
                w += 6;
                continue;
            }
            n = 0;
            while ((p[n] >= '0' && p[n] <= '9') || (n > 0 && p[n] == '.'))
                n++;
            if (n && (!strncmp(p + n, " ms", 3) || !strncmp(p + n, " s ", 3) || !strncmp(p + n, " s)", 3) ||
                      !strncmp(p + n, " events/s", 9))) {
                prev = p[n - 1];
                p += n;
                memcpy(w, "<n>", 3);
                w += 3;
                continue;
            }
        }
        prev = *p;
        *w++ = *p++;
    }
    *w = 0;
}

/* Append text to a growing buffer. */
typedef struct tbuf {
    char *s;
    size_t len, cap;
} tbuf;

static bool tbuf_add(tbuf *b, const char *text, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->len + n + 1) * 2;
        char *p = realloc(b->s, cap);
        if (!p)
            return false;
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->len, text, n);
    b->len += n;
    b->s[b->len] = 0;
    return true;
}

/* Run one command in dir; its output (and "[exit N]") into out. */
static bool run_step(const char *dir, const char *bin_dir, const char *cmd, tbuf *out)
{
    char script[PATH_MAX], line[PATH_MAX * 2 + 64];
    snprintf(script, sizeof script, "%s/.tutorial-step.sh", dir);
    FILE *f = fopen(script, "w");
    if (!f)
        return false;
    fprintf(f, "%s\n", cmd);
    fclose(f);
    snprintf(line, sizeof line, "cd '%s' && PATH='%s':\"$PATH\" sh ./.tutorial-step.sh 2>&1", dir, bin_dir);
    FILE *p = popen(line, "r");
    if (!p)
        return false;
    char buf[4096];
    size_t n;
    out->len = 0;
    tbuf_add(out, "", 0);
    while ((n = fread(buf, 1, sizeof buf, p)) > 0)
        tbuf_add(out, buf, n);
    int status = pclose(p);
    unlink(script);
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
    if (code) {
        snprintf(buf, sizeof buf, "[exit %d]\n", code);
        tbuf_add(out, buf, strlen(buf));
    }
    return true;
}

/* Compare a command's output with the transcript's; print the first difference. */
static bool same_output(const char *cmd, char *got, char *want)
{
    mask_varying(got);
    mask_varying(want);
    if (!strcmp(got, want))
        return true;
    printf("docs/tutorial.md: `%s`\n--- expected ---\n%s--- got ---\n%s---\n", cmd, want, got);
    return false;
}

static bool write_file(const char *dir, const char *rel, const char *text, size_t len)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    FILE *f = fopen(path, "w");
    if (!f)
        return false;
    bool ok = fwrite(text, 1, len, f) == len;
    return fclose(f) == 0 && ok;
}

static size_t increment(uint8_t *b, const jk_ex_key *k, uint64_t expect, uint64_t amount)
{
    b[0] = 'I';
    memcpy(b + 1, k->pk, 32);
    jk_put_u64le(b + 33, expect);
    jk_put_u64le(b + 41, amount);
    return 49;
}

/* The tutorial's section 5: the counter it built, block by block. */
static void run_counter(const char *dir)
{
    char spec[PATH_MAX];
    snprintf(spec, sizeof spec, "%s/counter/spec.json", dir);
    jk_ex_chain c;
    JK_REQUIRE(jk_ex_open(&c, spec, NULL, NULL, NULL, 0));
    jk_ex_key alice = jk_ex_key_of(1), bob = jk_ex_key_of(2);
    const jk_chain_endpoint T = JK_CHAIN_ENDPOINT_TRANSACT;
    uint8_t b[49], b2[49];
    size_t events = 0;
    JK_CHECK_EQ(jk_ex_slot_u64(c.g.chain, 20), 10);
    JK_REQUIRE(jk_chain_setup_cycle(c.producer, NULL) == JK_OK);
    JK_CHECK(jk_ex_submit(&c, T, b, increment(b, &alice, 10, 5), &alice));
    JK_CHECK(!jk_ex_submit(&c, T, b2, increment(b2, &alice, 10, 6), &bob));   /* not alice's signature */
    JK_CHECK(!jk_ex_submit(&c, T, b2, increment(b2, &alice, 11, 5), &alice)); /* expects another count */
    JK_CHECK(!jk_ex_submit(&c, T, b2, increment(b2, &alice, 10, 0), &alice)); /* amount 0 */
    JK_REQUIRE(jk_ex_block(&c, NULL, &events, NULL));
    JK_CHECK_EQ(events, 1);
    JK_CHECK_EQ(jk_ex_slot_u64(c.importer->chain, 20), 15);
    /* the replay is dropped; two that expect 15 land in one block, the second skipped */
    JK_REQUIRE(jk_chain_setup_cycle(c.producer, NULL) == JK_OK);
    jk_diag why = {{0}};
    JK_CHECK(!jk_ex_submit_why(&c, T, b, 49, &alice, &why));
    JK_CHECK(strstr(why.msg, "reason 3: expects another count") != NULL);
    JK_CHECK(jk_ex_submit(&c, T, b, increment(b, &alice, 15, 100), &alice));
    JK_CHECK(jk_ex_submit(&c, T, b2, increment(b2, &bob, 15, 1), &bob));
    JK_REQUIRE(jk_ex_block(&c, NULL, &events, NULL));
    JK_CHECK_EQ(events, 2);
    JK_CHECK_EQ(jk_ex_slot_u64(c.importer->chain, 20), 115);
    jk_cap last = jk_cap_cnode_get(jk_cap_instance_cnode(c.importer->chain), 21);
    uint8_t who[32];
    JK_CHECK(jk_cap_data_len(last) == 32 && jk_cap_data_read(last, 0, who, 32) == JK_OK);
    JK_CHECK_MEM(who, alice.pk, 32);
    jk_ex_close(&c);
}

JK_TEST(test_tutorial_runs_as_written)
{
    FILE *md = fopen("docs/tutorial.md", "r");
    JK_REQUIRE(md != NULL);
    char exe[PATH_MAX], dir[64] = "/tmp/jark-tutorial-XXXXXX";
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    JK_REQUIRE(n > 0);
    exe[n] = 0;
    *strrchr(exe, '/') = 0; /* the directory of this binary, where `jark` is built */
    JK_REQUIRE(mkdtemp(dir) != NULL);

    char line[4096], file_target[256] = "", cmd[4096] = "";
    bool in_console = false, in_file = false, in_other = false, have_cmd = false;
    tbuf want = {0}, got = {0}, file = {0};
    int commands = 0, files = 0, lineno = 0;
    while (fgets(line, sizeof line, md)) {
        lineno++;
        bool fence = !strncmp(line, "```", 3);
        if (in_console || in_file || in_other) {
            if (fence) {
                if (in_console && have_cmd) {
                    JK_REQUIRE(run_step(dir, exe, cmd, &got));
                    JK_CHECK(same_output(cmd, got.s, want.s ? want.s : (char *)""));
                    commands++;
                }
                if (in_file) {
                    JK_REQUIRE(write_file(dir, file_target, file.s ? file.s : "", file.len));
                    file_target[0] = 0;
                    files++;
                }
                in_console = in_file = in_other = have_cmd = false;
                continue;
            }
            if (in_file) {
                tbuf_add(&file, line, strlen(line));
            } else if (in_console && !strncmp(line, "$ ", 2)) {
                if (have_cmd) {
                    JK_REQUIRE(run_step(dir, exe, cmd, &got));
                    JK_CHECK(same_output(cmd, got.s, want.s ? want.s : (char *)""));
                    commands++;
                }
                snprintf(cmd, sizeof cmd, "%s", line + 2);
                cmd[strcspn(cmd, "\n")] = 0;
                have_cmd = true;
                want.len = 0;
                tbuf_add(&want, "", 0);
            } else if (in_console && have_cmd) {
                tbuf_add(&want, line, strlen(line));
            }
            continue;
        }
        if (!strncmp(line, "<!-- file: ", 11)) {
            char *end = strstr(line, " -->");
            JK_REQUIRE(end != NULL && (size_t)(end - line) - 11 < sizeof file_target);
            memcpy(file_target, line + 11, (size_t)(end - line) - 11);
            file_target[end - line - 11] = 0;
            continue;
        }
        if (fence) {
            if (file_target[0]) {
                in_file = true;
                file.len = 0;
                tbuf_add(&file, "", 0);
            } else if (!strncmp(line, "```console", 10)) {
                in_console = true;
            } else {
                in_other = true;
            }
            if (!in_file)
                file_target[0] = 0;
            continue;
        }
        if (in_file == false && file_target[0] && line[0] != '\n')
            file_target[0] = 0; /* a file marker applies to the very next block */
    }
    fclose(md);
    JK_CHECK(commands >= 20);
    JK_CHECK(files >= 5);
    run_counter(dir);
    free(want.s);
    free(got.s);
    free(file.s);
    char rm[128];
    snprintf(rm, sizeof rm, "rm -rf '%s'", dir);
    JK_CHECK(system(rm) == 0);
}
