/* cmd_chain_new.c — `jark chain new NAME`: write a minimal working chain
 * (every role, a spec, a README) into a new directory NAME, from the SDK's
 * template (sdk/template/, found beside the SDK: jk_sdk_dir). The template's
 * "@NAME@" becomes NAME's last path component. Refuses an existing NAME. */
#include "commands.h"
#include "jark/sdk.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The template's files, in the order they are listed. */
static const char *const jk_template_files[] = {
    "README.md", "spec.json", "common.h", "chain.c", "verify.c",
    "transact.c", "dispatch_instance.c", "process.c", "aa.c",
};
#define JK_TEMPLATE_FILES (sizeof jk_template_files / sizeof jk_template_files[0])

/* Write text to path with every "@NAME@" replaced by name; refuses to
 * overwrite. Returns 0, or -1 after saying why. */
static int jk_new_write(const char *path, const char *text, const char *name)
{
    FILE *f = fopen(path, "wx");
    if (!f) {
        fprintf(stderr, "jark chain new: %s: %s\n", path, strerror(errno));
        return -1;
    }
    const char *p = text, *at;
    while ((at = strstr(p, "@NAME@")) != NULL) {
        fwrite(p, 1, (size_t)(at - p), f);
        fputs(name, f);
        p = at + 6;
    }
    fputs(p, f);
    if (fclose(f) != 0) {
        fprintf(stderr, "jark chain new: %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

int jk_tool_chain_new(int argc, char **argv)
{
    if (argc != 1 || argv[0][0] == '-') {
        fprintf(stderr, "usage: jark chain new NAME   (writes a working chain into the new directory NAME)\n");
        return 2;
    }
    const char *dir = argv[0];
    size_t dlen = strlen(dir);
    while (dlen > 1 && dir[dlen - 1] == '/')
        dlen--;
    const char *name = dir;
    for (size_t i = 0; i < dlen; i++)
        if (dir[i] == '/')
            name = dir + i + 1;
    size_t nlen = (size_t)(dir + dlen - name);
    if (nlen == 0 || nlen > 64 || dlen > PATH_MAX / 2) {
        fprintf(stderr, "jark chain new: '%s': the name must be 1..64 characters\n", dir);
        return 2;
    }
    char base[80];
    memcpy(base, name, nlen);
    base[nlen] = 0;
    for (size_t i = 0; i < nlen; i++) {
        char c = base[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) {
            fprintf(stderr, "jark chain new: '%s': use letters, digits, '-' and '_' in the name\n", base);
            return 2;
        }
    }
    const char *sdk = jk_sdk_dir();
    if (!sdk) {
        fprintf(stderr, "jark chain new: cannot find the SDK (set JARK_SDK_DIR)\n");
        return JK_EXIT_USAGE;
    }
    /* Read every template file first: nothing is written unless all are there. */
    unsigned char *text[JK_TEMPLATE_FILES] = {NULL};
    int rc = JK_EXIT_USAGE; /* an existing folder, a file that cannot be written: input errors */
    char path[PATH_MAX];
    for (size_t i = 0; i < JK_TEMPLATE_FILES; i++) {
        size_t len;
        snprintf(path, sizeof path, "%s/template/%s", sdk, jk_template_files[i]);
        if (jk_tool_read_file(path, &text[i], &len))
            goto done;
    }
    char out_dir[PATH_MAX / 2 + 1];
    memcpy(out_dir, dir, dlen);
    out_dir[dlen] = 0;
    if (mkdir(out_dir, 0755) != 0) {
        fprintf(stderr, "jark chain new: %s: %s\n", out_dir, errno == EEXIST ? "already exists" : strerror(errno));
        goto done;
    }
    printf("created %s/:", out_dir);
    for (size_t i = 0; i < JK_TEMPLATE_FILES; i++) {
        snprintf(path, sizeof path, "%s/%s", out_dir, jk_template_files[i]);
        if (jk_new_write(path, (const char *)text[i], base))
            goto done;
        printf(" %s", jk_template_files[i]);
    }
    printf("\nnext: jark chain genesis %s/spec.json\n", out_dir);
    rc = 0;
done:
    for (size_t i = 0; i < JK_TEMPLATE_FILES; i++)
        free(text[i]);
    return rc;
}
