/*
 * image_test_util.h — what the `jark image` tests (test_image.c,
 * test_image_reader.c) share: the count of live cap objects, a scratch folder
 * removed at exit, the tiny program (endpoint "first" halts at once, "second"
 * adds 1 to φ7) and its manifest, and whether the image-file reader refuses
 * given bytes (with a message, and no caps left behind).
 *
 * Static inline, so each test file gets its own copy (and its own scratch
 * folder); every test writes the files it reads.
 */
#ifndef JK_TESTS_IMAGE_IMAGE_TEST_UTIL_H
#define JK_TESTS_IMAGE_IMAGE_TEST_UTIL_H

#include "../test.h"
#include "../progs.h"
#include "jark/image.h"

#include "jark/pvm.h"

#include <dirent.h>
#include <stdlib.h>
#include <unistd.h>

static inline int64_t jk_live(void)
{
    jk_cap_stats s;
    jk_cap_stats_get(&s);
    return s.live_objects;
}

/* ---- a scratch folder ---- */

static char jk_dir[64];

/* At exit: remove the folder and the files the tests left in it. */
static inline void jk_tmpdir_remove(void)
{
    DIR *dir = opendir(jk_dir);
    struct dirent *de;
    char path[sizeof jk_dir + 256 + 2];
    while (dir && (de = readdir(dir)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", jk_dir, de->d_name);
        unlink(path);
    }
    if (dir)
        closedir(dir);
    rmdir(jk_dir);
}

static inline const char *jk_tmpdir(void)
{
    if (!jk_dir[0]) {
        if (jk_test_tmpdir("image-test", jk_dir, sizeof jk_dir))
            atexit(jk_tmpdir_remove);
        else
            jk_dir[0] = 0;
    }
    return jk_dir;
}

static inline const char *jk_path(const char *name)
{
    static char paths[8][256];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, sizeof paths[0], "%s/%s", jk_tmpdir(), name);
    return p;
}

static inline void jk_put(const char *name, const void *bytes, size_t len)
{
    FILE *f = fopen(jk_path(name), "wb");
    if (!f || fwrite(bytes, 1, len, f) != len)
        jk_test_fail(__FILE__, __LINE__, "cannot write %s", name);
    if (f)
        fclose(f);
}

static inline void jk_put_text(const char *name, const char *text)
{
    jk_put(name, text, strlen(text));
}

/* ---- the tiny program ---- */

static uint32_t jk_second_pc;

/* "first" (pc 0): halt; "second": φ7 += 1, halt. Read-only data "RO",
 * read-write data "RW", one heap page, a 4 KiB stack. Writes tiny.jkp. */
static inline void jk_tiny_program(void)
{
    static const char src[] = "jump_ind r0, 0\nadd_imm_64 r7, r7, 1\njump_ind r0, 0\n";
    uint8_t *blob = NULL, *core = NULL, *file = NULL;
    size_t blob_len, core_len, file_len;
    jk_pvm_blob pb;
    if (jk_pvm_asm(src, strlen(src), &blob, &blob_len, NULL) != JK_OK ||
        jk_pvm_blob_parse(blob, blob_len, &pb, NULL) != JK_OK) {
        jk_test_fail(__FILE__, __LINE__, "cannot assemble the tiny program");
        return;
    }
    for (jk_second_pc = 1; !jk_pvm_blob_is_insn_start(&pb, jk_second_pc); jk_second_pc++)
        ;
    jk_pvm_stdprog sp = {(const uint8_t *)"RO", (const uint8_t *)"RW", blob, 2, 2, (uint32_t)blob_len, 1, 4096};
    jk_pvm_endpoint eps[2] = {{"first", 0}, {"second", jk_second_pc}};
    if (jk_pvm_stdprog_encode(&sp, &core, &core_len) != JK_OK ||
        jk_pvm_progfile_encode(eps, 2, core, core_len, &file, &file_len) != JK_OK)
        jk_test_fail(__FILE__, __LINE__, "cannot encode the tiny program");
    else
        jk_put("tiny.jkp", file, file_len);
    free(blob);
    free(core);
    free(file);
}

static const char jk_tiny_manifest[] =
    "{\n"
    "  \"program\": \"tiny.jkp\",\n"
    "  \"pins\": [ {\"slot\": 5, \"data\": \"pin.bin\"}, {\"slot\": 6, \"data_hex\": \"00ff\"} ],\n"
    "  \"mappings\": [ {\"slot\": 20, \"base\": \"0x40000000\", \"size\": \"0x1000\", \"access\": \"rw\"},\n"
    "                  {\"base\": 1342177280, \"size\": 8192, \"access\": \"rw\", \"kind\": \"ephemeral-zero\"} ],\n"
    "  \"state\": [ {\"slot\": 20, \"data_zero\": 4096}, {\"slot\": 21, \"data\": \"pin.bin\"} ],\n"
    "  \"yield_catcher_slot\": 23,\n"
    "  \"ro_slot\": 17, \"rw_slot\": \"0x10\"\n"
    "}\n";

/* Writes tiny.jkp, pin.bin and tiny.json; builds it into *f. */
static inline jk_err jk_tiny_image(jk_image_file *f, jk_diag *diag)
{
    jk_tiny_program();
    jk_put_text("pin.bin", "pinned bytes");
    jk_put_text("tiny.json", jk_tiny_manifest);
    return jk_image_manifest_build(jk_path("tiny.json"), f, diag);
}

static inline jk_image_file *jk_file_new(void)
{
    return calloc(1, sizeof(jk_image_file));
}

static inline void jk_file_free(jk_image_file *f)
{
    if (f)
        jk_image_file_clear(f);
    free(f);
}

/* ---- does the reader refuse? ---- */

static inline bool jk_refused(const uint8_t *b, size_t n, jk_err *err)
{
    jk_image_file *f = jk_file_new();
    jk_diag diag = {{0}};
    jk_err e = jk_image_file_read(b, n, f, &diag);
    if (e != JK_OK && !diag.msg[0])
        jk_test_fail(__FILE__, __LINE__, "refused without a message (%s)", jk_strerror(e));
    if (e != JK_OK && (!jk_cap_is_null(f->image) || !jk_cap_is_null(f->state)))
        jk_test_fail(__FILE__, __LINE__, "refused but left caps behind");
    jk_file_free(f);
    if (err)
        *err = e;
    return e != JK_OK;
}

#endif
