/* progs.h — the test programs the kernel and chain tests run: C compiled with
 * the SDK (jark/sdk.h), made into an Image. */
#ifndef JK_TESTS_PROGS_H
#define JK_TESTS_PROGS_H

#include "jark/kernel.h"

/* The Image of the C program at `source` (a path from the project root)
 * compiled at -O2, with opts (NULL: none). Returns the null cap, after saying
 * why on stdout, when it does not build or its image is refused; the caller
 * releases the image. */
jk_cap jk_test_image(const char *source, const jk_kernel_image_opts *opts);

/* A genesis instance of `image` whose 256-slot root cnode holds caps[i] in
 * slots[i] (i < n; borrowed; a set the cnode refuses is skipped). NEW
 * reference, or the null cap when genesis refuses. */
jk_cap jk_test_instance(jk_cap image, int n, const uint32_t *slots, const jk_cap *caps);

/* Build `sources` (paths from the project root) with jk_sdk_build at `opt`
 * and write the program file to `path`. Returns JK_OK or the build's error
 * (reason in diag, optional). */
jk_err jk_test_build(const char *const *sources, size_t n, const char *opt, const char *path, jk_diag *diag);

/* Run a `jark` command function (tools/commands.h) with argv, its stdout
 * and stderr captured (NUL-terminated, truncated to fit) into out and err
 * (either may be NULL: discarded). Returns the command's exit code, or -1
 * when the capture cannot be set up. */
int jk_test_tool(int (*fn)(int, char **), int argc, char **argv, char *out, size_t out_size, char *err,
                 size_t err_size);

/* Make a fresh folder named after `what` into buf (size >= 96), under one
 * root per test run ($TMPDIR or /tmp, "jark-tests-XXXXXX") that is removed
 * when the runner exits; NULL on failure. jk_test_rm_tree removes a folder
 * and everything below it (earlier, when a test is done with it). */
char *jk_test_tmpdir(const char *what, char *buf, size_t size);
void jk_test_rm_tree(const char *dir);

/* The test binary remembers its SDK builds (tests/sdk_memo.c): a build
 * whose sources, included files, options and SDK are those of an earlier
 * one in this process gets that build's bytes without running the SDK.
 * jk_test_sdk_memo(false) makes every build run the SDK (a test of the
 * SDK's own behaviour, such as its determinism) until turned on again;
 * jk_test_sdk_memo_counts: the builds answered from memory and the builds
 * remembered so far. */
void jk_test_sdk_memo(bool on);
void jk_test_sdk_memo_counts(size_t *hits, size_t *builds);

#endif
