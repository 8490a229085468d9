/*
 * load.c — chain-spec files on disk (docs/chain-spec.md): the JSON is parsed
 * by parse.c; here the files it names are read relative to the spec's folder,
 * and programs written in C are compiled with the SDK.
 */
#include "jark/image.h"
#include "jark/spec.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct jk_spec_dir {
    char dir[PATH_MAX];
    const jk_sdk_options *build;
} jk_spec_dir;

/* `name` relative to dir (or absolute) into path; false when too long. */
static bool jk_resolve(const char *dir, const char *name, char *path, size_t len)
{
    int n = name[0] == '/' ? snprintf(path, len, "%s", name) : snprintf(path, len, "%s/%s", dir, name);
    return n > 0 && (size_t)n < len;
}

static bool jk_is_c(const char *path)
{
    size_t n = strlen(path);
    return n > 2 && !strcmp(path + n - 2, ".c");
}

static jk_err jk_spec_read_named(void *ctx, const char *const *names, size_t count, bool program, uint8_t **out,
                                 size_t *len, jk_diag *diag)
{
    const jk_spec_dir *d = ctx;
    const char *sources[JK_SDK_MAX_SOURCES];
    const char *name = names[0];
    if (count < 1 || count > JK_SDK_MAX_SOURCES)
        return jk_diag_set(diag, JK_ERR_PARSE, "between 1 and %d files", JK_SDK_MAX_SOURCES);
    char(*paths)[2 * PATH_MAX] = malloc(count * sizeof *paths);
    if (!paths)
        return jk_diag_set(diag, JK_ERR_NOMEM, "out of memory");
    jk_err err = JK_OK;
    for (size_t i = 0; err == JK_OK && i < count; i++) {
        if (!jk_resolve(d->dir, names[i], paths[i], sizeof paths[i]))
            err = jk_diag_set(diag, JK_ERR_IO, "%s: path too long", names[i]);
        else if (count > 1 && !jk_is_c(paths[i]))
            err = jk_diag_set(diag, JK_ERR_PARSE, "%s: several files of one program must all be C (.c)", names[i]);
        sources[i] = paths[i];
    }
    jk_diag inner = {{0}};
    if (err == JK_OK && program && jk_is_c(paths[0])) {
        err = jk_sdk_build(sources, count, d->build, out, len, NULL, &inner);
        if (err != JK_OK)
            jk_diag_set(diag, err, "program %s%s does not build: %s", name, count > 1 ? " (and the rest)" : "",
                        inner.msg);
        free(paths);
        return err;
    }
    char path[2 * PATH_MAX];
    snprintf(path, sizeof path, "%s", paths[0]);
    free(paths);
    if (err != JK_OK)
        return err;
    /* Say what is wrong before reading: a folder read as "read error", and
     * a state file past the longest Data was read whole (a 1.1 GB file took
     * 1.1 GB of memory) before genesis refused it as "cap value exceeds a
     * size bound", exit 1 as if the chain had said no. */
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return jk_diag_set(diag, JK_ERR_IO, "%s %s: %s is a directory", program ? "program" : "state data", name,
                           path);
    if (!program && stat(path, &st) == 0 && (uint64_t)st.st_size > JK_CAP_DATA_MAX_LEN)
        return jk_diag_set(diag, JK_ERR_PARSE, "state data %s: %llu bytes, more than a Data holds (%llu)", name,
                           (unsigned long long)st.st_size, (unsigned long long)JK_CAP_DATA_MAX_LEN);
    err = jk_read_file(path, out, len, &inner);
    if (err != JK_OK)
        return jk_diag_set(diag, err, "%s %s: %s", program ? "program" : "state data", name, inner.msg);
    /* A program file that does not parse is the spec's input error (exit 2),
     * named by its file: genesis would refuse it too, but as "the dispatch
     * program: …" (not saying which) and as the chain saying no (exit 1). */
    jk_pvm_progfile pf;
    if (program && jk_pvm_progfile_parse(*out, *len, &pf, &inner) != JK_OK) {
        free(*out);
        *out = NULL;
        return jk_diag_set(diag, JK_ERR_PARSE, "program %s: not a jark program file: %s", name, inner.msg);
    }
    return JK_OK;
}

jk_err jk_spec_file_load(const char *path, const jk_sdk_options *build, jk_spec_file *out, jk_diag *diag)
{
    memset(out, 0, sizeof *out);
    jk_spec_dir d = {.build = build};
    int n = snprintf(d.dir, sizeof d.dir, "%s", path);
    if (n < 0 || (size_t)n >= sizeof d.dir)
        return jk_diag_set(diag, JK_ERR_IO, "%s: path too long", path);
    char *slash = strrchr(d.dir, '/');
    if (slash)
        *slash = 0;
    else
        snprintf(d.dir, sizeof d.dir, ".");
    uint8_t *text;
    size_t len;
    jk_diag inner = {{0}};
    jk_err err = jk_read_file(path, &text, &len, &inner);
    if (err != JK_OK)
        return jk_diag_set(diag, err, "%s", inner.msg);
    err = jk_spec_file_parse((const char *)text, len, jk_spec_read_named, &d, out, diag);
    free(text);
    return err;
}
