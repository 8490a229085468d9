/*
 * fuzz_manifest.c — fuzz target over the image manifest
 * (tools/image_manifest.c, docs/image-format.md "Manifest"). Each input is
 * written as the manifest of a scratch folder that also holds a valid program
 * file (p.jkp: endpoints "main" and "other"), a data file (d.bin) and an image
 * file (i.img), so inputs can name real files. Any crash, leak or sanitizer
 * report is a bug; so is a refusal without a message, and so is a built image
 * that does not write out.
 */
#include "fuzz_targets.h"

#include "jark/image.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void jk_fuzz_manifest_fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_manifest: %s: %s\n", what, detail);
    abort();
}

static void jk_fuzz_manifest_put(const char *dir, const char *name, const void *bytes, size_t len)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(bytes, 1, len, f) != len || fclose(f) != 0)
        jk_fuzz_manifest_fail("cannot write the scratch folder", path);
}

static char jk_fuzz_manifest_scratch[64];
static pid_t jk_fuzz_manifest_pid;

/* The scratch folder goes when the process that made it exits. */
static void jk_fuzz_manifest_cleanup(void)
{
    static const char *const names[] = {"p.jkp", "d.bin", "m.json", "i.img"};
    char path[128];
    if (getpid() != jk_fuzz_manifest_pid)
        return;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", jk_fuzz_manifest_scratch, names[i]);
        unlink(path);
    }
    rmdir(jk_fuzz_manifest_scratch);
}

/* The scratch folder, made once per process. */
static const char *jk_fuzz_manifest_dir(void)
{
    char *dir = jk_fuzz_manifest_scratch;
    if (dir[0])
        return dir;
    snprintf(dir, sizeof jk_fuzz_manifest_scratch, "/tmp/jark-fuzz-manifest-%ld", (long)getpid());
    if (mkdir(dir, 0700) != 0 && access(dir, W_OK) != 0)
        jk_fuzz_manifest_fail("cannot make the scratch folder", dir);
    jk_fuzz_manifest_pid = getpid();
    atexit(jk_fuzz_manifest_cleanup);
    static const char source[] = "trap\n";
    uint8_t *blob = NULL, *core = NULL, *file = NULL;
    size_t blob_len = 0, core_len = 0, file_len = 0;
    jk_diag diag = {{0}};
    if (jk_pvm_asm(source, sizeof source - 1, &blob, &blob_len, &diag) != JK_OK)
        jk_fuzz_manifest_fail("cannot assemble the scratch program", diag.msg);
    jk_pvm_stdprog prog = {NULL, NULL, blob, 0, 0, (uint32_t)blob_len, 0, 4096};
    jk_pvm_endpoint endpoints[2] = {{"main", 0}, {"other", 0}};
    if (jk_pvm_stdprog_encode(&prog, &core, &core_len) != JK_OK ||
        jk_pvm_progfile_encode(endpoints, 2, core, core_len, &file, &file_len) != JK_OK)
        jk_fuzz_manifest_fail("cannot encode the scratch program", "");
    jk_fuzz_manifest_put(dir, "p.jkp", file, file_len);
    jk_fuzz_manifest_put(dir, "d.bin", "jark fuzz data", 14);
    static const char image_manifest[] = "{\"program\": \"p.jkp\", \"state\": [{\"slot\": 20, \"data_hex\": \"01\"}]}";
    jk_fuzz_manifest_put(dir, "m.json", image_manifest, sizeof image_manifest - 1);
    char path[128];
    snprintf(path, sizeof path, "%s/m.json", dir);
    jk_image_file image;
    memset(&image, 0, sizeof image);
    uint8_t *bytes = NULL;
    size_t len = 0;
    if (jk_image_manifest_build(path, &image, &diag) != JK_OK ||
        jk_image_file_write(&image, &bytes, &len, &diag) != JK_OK)
        jk_fuzz_manifest_fail("cannot build the scratch image", diag.msg);
    jk_fuzz_manifest_put(dir, "i.img", bytes, len);
    jk_image_file_clear(&image);
    free(bytes);
    free(file);
    free(core);
    free(blob);
    return dir;
}

int jk_fuzz_manifest(const uint8_t *data, size_t size)
{
    const char *dir = jk_fuzz_manifest_dir();
    jk_fuzz_manifest_put(dir, "m.json", data, size);
    char path[128];
    snprintf(path, sizeof path, "%s/m.json", dir);
    jk_image_file image;
    memset(&image, 0, sizeof image);
    jk_diag diag = {{0}};
    jk_err err = jk_image_manifest_build(path, &image, &diag);
    if (err != JK_OK) {
        if (!diag.msg[0])
            jk_fuzz_manifest_fail("manifest refused without a message", jk_strerror(err));
    } else {
        uint8_t *bytes = NULL;
        size_t len = 0;
        if (jk_image_file_write(&image, &bytes, &len, &diag) != JK_OK)
            jk_fuzz_manifest_fail("a built image does not write out", diag.msg);
        free(bytes);
    }
    jk_image_file_clear(&image);
    return 0;
}

#ifdef JK_FUZZ_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return jk_fuzz_manifest(data, size);
}
#endif
