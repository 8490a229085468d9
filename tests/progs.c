#define _XOPEN_SOURCE 700 /* nftw */
/* progs.c — see progs.h. */
#include "progs.h"

#include "jark/sdk.h"

#include <stdbool.h>
#include <stdio.h>
#include <ftw.h>
#include <stdlib.h>
#include <unistd.h>

jk_cap jk_test_image(const char *source, const jk_kernel_image_opts *opts)
{
    static const jk_kernel_image_opts no_opts;
    uint8_t *program = NULL;
    size_t len = 0;
    jk_cap image = jk_cap_null();
    jk_diag diag = {{0}};
    if (jk_sdk_build_one(source, &program, &len, &diag) != JK_OK) {
        printf("%s: does not build: %s\n", source, diag.msg);
        return image;
    }
    if (jk_kernel_image_from_program(program, len, opts ? opts : &no_opts, &image, &diag) != JK_OK)
        printf("%s: %s\n", source, diag.msg);
    free(program);
    return image;
}

jk_cap jk_test_instance(jk_cap image, int n, const uint32_t *slots, const jk_cap *caps)
{
    jk_cap cnode, next, inst = jk_cap_null();
    if (jk_cap_cnode_new(JK_CAP_ROOT_LOG2, &cnode) != JK_OK)
        return inst;
    for (int i = 0; i < n; i++)
        if (jk_cap_cnode_set(cnode, slots[i], caps[i], &next) == JK_OK) {
            jk_cap_release(cnode);
            cnode = next;
        }
    jk_cap_instance_genesis(image, cnode, &inst, NULL);
    jk_cap_release(cnode);
    return inst;
}

jk_err jk_test_build(const char *const *sources, size_t n, const char *opt, const char *path, jk_diag *diag)
{
    jk_sdk_options o = {.opt = opt};
    uint8_t *program = NULL;
    size_t len = 0;
    jk_err err = jk_sdk_build(sources, n, &o, &program, &len, NULL, diag);
    if (err != JK_OK)
        return err;
    FILE *f = fopen(path, "wb");
    bool ok = f && fwrite(program, 1, len, f) == len;
    if (f && fclose(f) != 0)
        ok = false;
    free(program);
    return ok ? JK_OK : jk_diag_set(diag, JK_ERR_IO, "cannot write %s", path);
}

/* Point fd at a fresh anonymous file; returns the saved fd, or -1. */
static int jk_redirect(int fd, FILE **to)
{
    fflush(fd == 1 ? stdout : stderr);
    *to = tmpfile();
    int saved = dup(fd);
    if (!*to || saved < 0) {
        if (*to)
            fclose(*to);
        if (saved >= 0)
            close(saved);
        return -1;
    }
    dup2(fileno(*to), fd);
    return saved;
}

static void jk_restore(int fd, int saved, FILE *from, char *buf, size_t size)
{
    fflush(fd == 1 ? stdout : stderr);
    dup2(saved, fd);
    close(saved);
    rewind(from);
    size_t n = buf && size ? fread(buf, 1, size - 1, from) : 0;
    if (buf && size)
        buf[n] = 0;
    fclose(from);
}

int jk_test_tool(int (*fn)(int, char **), int argc, char **argv, char *out, size_t out_size, char *err,
                 size_t err_size)
{
    FILE *fo, *fe;
    int so = jk_redirect(1, &fo);
    if (so < 0)
        return -1;
    int se = jk_redirect(2, &fe);
    if (se < 0) {
        jk_restore(1, so, fo, NULL, 0);
        return -1;
    }
    int rc = fn(argc, argv);
    jk_restore(2, se, fe, err, err_size);
    jk_restore(1, so, fo, out, out_size);
    return rc;
}

/* Every test folder lives under one root per test run, removed when the
 * runner exits, so `make test` leaves nothing behind even when a test stops
 * early. Forked children (the crash tests) exit with _exit or run no
 * atexit handler of the parent's pid: only the creator removes the root. */
static char jk_root[64];
static pid_t jk_root_pid;

static void jk_root_remove(void)
{
    if (jk_root[0] && getpid() == jk_root_pid)
        jk_test_rm_tree(jk_root);
}

char *jk_test_tmpdir(const char *what, char *buf, size_t size)
{
    if (!jk_root[0]) {
        const char *tmp = getenv("TMPDIR");
        snprintf(jk_root, sizeof jk_root, "%.32s/jark-tests-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(jk_root)) {
            jk_root[0] = 0;
            return NULL;
        }
        jk_root_pid = getpid();
        atexit(jk_root_remove);
    }
    snprintf(buf, size, "%s/%.32s-XXXXXX", jk_root, what);
    return mkdtemp(buf);
}

static int jk_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

void jk_test_rm_tree(const char *dir)
{
    nftw(dir, jk_rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}
