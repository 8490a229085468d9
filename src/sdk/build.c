/*
 * build.c — compiling C chain programs with the SDK (`jark cc`): finding
 * the SDK, driving clang-19 and ld.lld-19, and handing the linked ELF to the
 * RV64EM → PVM linker (link.c).
 *
 * Nothing here is hashed or stored, but the output must be deterministic:
 * the same sources and options give the same bytes. So no path, time or
 * debug information reaches the program file; temporary files live in a
 * private folder that is removed before returning.
 */
#include "linker.h"

#include <errno.h>
#include <limits.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define JK_DEFAULT_STACK (64u * 1024)
#define JK_DEFAULT_HEAP_PAGES 16u
#define JK_PROBE_RW_BASE 0x40000000u

/* ---- finding the SDK ---- */

static bool jk_sdk_has_header(char *dir, size_t size, size_t len)
{
    struct stat st;
    snprintf(dir + len, size - len, "/jark.h");
    bool ok = stat(dir, &st) == 0;
    dir[len] = 0;
    return ok;
}

const char *jk_sdk_dir(void)
{
    static char dir[PATH_MAX];
    const char *env = getenv("JARK_SDK_DIR");
    if (env && *env)
        return env;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return NULL;
    exe[n] = 0;
    /* `sdk/` beside the executable or above it (a checkout: build/jark,
     * build/clang/jark), then an installed prefix's share/jark/sdk. */
    for (int up = 0; up < 4; up++) {
        char *slash = strrchr(exe, '/');
        if (!slash)
            return NULL;
        *slash = 0;
        int len = snprintf(dir, sizeof dir, "%s/sdk", exe);
        if (len > 0 && (size_t)len < sizeof dir - 8 && jk_sdk_has_header(dir, sizeof dir, (size_t)len))
            return dir;
        if (up == 0) {
            len = snprintf(dir, sizeof dir, "%s/../share/jark/sdk", exe);
            if (len > 0 && (size_t)len < sizeof dir - 8 && jk_sdk_has_header(dir, sizeof dir, (size_t)len))
                return dir;
        }
    }
    return NULL;
}

/* ---- running the tools ---- */

static const char *jk_env_or(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return v && *v ? v : fallback;
}

/* Run a tool and wait for it. */
static jk_err jk_run(char *const argv[], jk_diag *diag)
{
    pid_t pid;
    int status;
    int err = posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ);
    if (err)
        return jk_diag_set(diag, JK_ERR_IO, "cannot run %s: %s (run ./scripts/install-deps.sh, or set %s)", argv[0],
                           strerror(err), strstr(argv[0], "lld") ? "JARK_LLD" : "JARK_CLANG");
    /* A signal caught while we wait (an embedder's timer: libFuzzer's
     * -timeout alarm interrupted this wait under load) is not the tool
     * failing: wait again. A tool killed by a signal printed nothing, so
     * say which signal rather than point at messages that are not there. */
    pid_t waited;
    do
        waited = waitpid(pid, &status, 0);
    while (waited < 0 && errno == EINTR);
    if (waited < 0)
        return jk_diag_set(diag, JK_ERR_IO, "cannot wait for %s: %s", argv[0], strerror(errno));
    if (WIFSIGNALED(status))
        return jk_diag_set(diag, JK_ERR_IO, "%s was killed by signal %d", argv[0], WTERMSIG(status));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return jk_diag_set(diag, JK_ERR_IO, "%s failed (its messages are above)", argv[0]);
    return JK_OK;
}

static jk_err jk_write_path(const char *path, const void *data, size_t len, jk_diag *diag)
{
    FILE *f = fopen(path, "wb");
    bool ok = f && fwrite(data, 1, len, f) == len;
    if (f && fclose(f) != 0)
        ok = false;
    return ok ? JK_OK : jk_diag_set(diag, JK_ERR_IO, "cannot write %s: %s", path, strerror(errno));
}

/* Link objects with __jark_rw_base = rw_base into elf_path. */
static jk_err jk_ld(const char *sdk, char *const *objects, size_t nobjects, uint32_t rw_base, const char *elf_path,
                    jk_diag *diag)
{
    char script[PATH_MAX], defsym[64];
    snprintf(script, sizeof script, "%s/link.ld", sdk);
    snprintf(defsym, sizeof defsym, "--defsym=__jark_rw_base=0x%x", rw_base);
    char *argv[16 + JK_SDK_MAX_SOURCES + 1];
    size_t n = 0;
    argv[n++] = (char *)jk_env_or("JARK_LLD", "ld.lld-19");
    argv[n++] = "-static";
    argv[n++] = "--emit-relocs";
    argv[n++] = "--no-pie";
    argv[n++] = "-T";
    argv[n++] = script;
    argv[n++] = defsym;
    argv[n++] = "-o";
    argv[n++] = (char *)elf_path;
    for (size_t i = 0; i < nobjects; i++)
        argv[n++] = objects[i];
    argv[n] = NULL;
    return jk_run(argv, diag);
}

/* Check that every -D / -I value is one argument that cannot be read as an
 * option of its own. */
static jk_err jk_check_flags(const char *const *v, size_t n, const char *what, jk_diag *diag)
{
    if (n > JK_SDK_MAX_FLAGS)
        return jk_diag_set(diag, JK_ERR_INVALID_ARG, "at most %d %s options", JK_SDK_MAX_FLAGS, what);
    for (size_t i = 0; i < n; i++)
        if (!v[i] || !v[i][0] || v[i][0] == '-' || strlen(v[i]) > PATH_MAX)
            return jk_diag_set(diag, JK_ERR_INVALID_ARG, "bad %s value '%s'", what, v[i] ? v[i] : "");
    return JK_OK;
}

/* Compile source `src` into `obj` (the SDK's libc when `libc`). */
static jk_err jk_compile(const char *sdk, const jk_sdk_options *o, const char *src, bool libc, const char *obj,
                         jk_diag *diag)
{
    char include[PATH_MAX + 2], libc_include[PATH_MAX + 16];
    snprintf(include, sizeof include, "-I%s", sdk);
    snprintf(libc_include, sizeof libc_include, "-isystem%s/libc", sdk);
    static char *const fixed[] = {"--target=riscv64-unknown-elf", "-march=rv64em", "-mabi=lp64e", "-mcmodel=medlow",
                                  "-mno-relax", "-ffreestanding", "-fsigned-char", "-fno-pic", "-fno-pie",
                                  "-fno-stack-protector", "-fno-asynchronous-unwind-tables", "-fno-unwind-tables",
                                  "-fno-common", "-nostdlib"};
    enum { NFIXED = sizeof fixed / sizeof fixed[0] };
    char *argv[NFIXED + 2 * JK_SDK_MAX_FLAGS + 16];
    char flags[2 * JK_SDK_MAX_FLAGS][PATH_MAX + 3];
    size_t n = 0, nf = 0;
    argv[n++] = (char *)jk_env_or("JARK_CLANG", "clang-19");
    for (size_t i = 0; i < NFIXED; i++)
        argv[n++] = fixed[i];
    argv[n++] = (char *)(o->opt ? o->opt : "-O2");
    if (o->map_path)
        argv[n++] = "-gdwarf-4"; /* line tables for the map; the code is the same */
    for (size_t i = 0; !libc && i < o->define_count; i++) {
        snprintf(flags[nf], sizeof flags[nf], "-D%s", o->defines[i]);
        argv[n++] = flags[nf++];
    }
    for (size_t i = 0; !libc && i < o->include_count; i++) {
        snprintf(flags[nf], sizeof flags[nf], "-I%s", o->include_dirs[i]);
        argv[n++] = flags[nf++];
    }
    argv[n++] = include;
    argv[n++] = libc_include;
    argv[n++] = libc ? "-fno-builtin" : "-fbuiltin";
    argv[n++] = "-c";
    argv[n++] = (char *)src;
    argv[n++] = "-o";
    argv[n++] = (char *)obj;
    argv[n] = NULL;
    return jk_run(argv, diag);
}

jk_err jk_sdk_link(const uint8_t *elf, size_t elf_len, uint8_t **out, size_t *out_len, char **asm_out,
                   jk_sdk_link_stats *stats, jk_diag *diag)
{
    return jk_sdk_link_elf(elf, elf_len, JK_DEFAULT_STACK, JK_DEFAULT_HEAP_PAGES, out, out_len, asm_out, stats, diag);
}

jk_err jk_sdk_build(const char *const *sources, size_t nsources, const jk_sdk_options *opts, uint8_t **out,
                    size_t *out_len, jk_sdk_link_stats *stats, jk_diag *diag)
{
    static const jk_sdk_options defaults;
    const jk_sdk_options *o = opts ? opts : &defaults;
    if (nsources < 1 || nsources > JK_SDK_MAX_SOURCES)
        return jk_diag_set(diag, JK_ERR_INVALID_ARG, "between 1 and %d source files", JK_SDK_MAX_SOURCES);
    if (o->opt && strcmp(o->opt, "-O0") && strcmp(o->opt, "-O2") && strcmp(o->opt, "-Os"))
        return jk_diag_set(diag, JK_ERR_INVALID_ARG, "optimisation '%s': -O0, -O2 or -Os", o->opt);
    jk_err err = jk_check_flags(o->defines, o->define_count, "-D", diag);
    if (err == JK_OK)
        err = jk_check_flags(o->include_dirs, o->include_count, "-I", diag);
    if (err != JK_OK)
        return err;
    const char *sdk = jk_sdk_dir();
    if (!sdk)
        return jk_diag_set(diag, JK_ERR_IO, "cannot find the SDK (set JARK_SDK_DIR)");
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%.*s/jark-cc-XXXXXX", PATH_MAX - 32, jk_env_or("TMPDIR", "/tmp"));
    if (!mkdtemp(tmp))
        return jk_diag_set(diag, JK_ERR_IO, "cannot make a temporary folder %s: %s", tmp, strerror(errno));
    char *objects[JK_SDK_MAX_SOURCES + 1];
    size_t nobjects = 0;
    uint8_t *elf = NULL, *program = NULL;
    size_t elf_len = 0, program_len = 0;
    char *text = NULL;
    char elf_path[PATH_MAX + 16], libc_src[PATH_MAX + 16];
    snprintf(libc_src, sizeof libc_src, "%s/libc/libc.c", sdk);
    snprintf(elf_path, sizeof elf_path, "%s/program.elf", tmp);
    for (size_t i = 0; err == JK_OK && i <= nsources; i++) {
        char obj[PATH_MAX + 16];
        snprintf(obj, sizeof obj, "%s/%zu.o", tmp, i);
        err = jk_compile(sdk, o, i < nsources ? sources[i] : libc_src, i == nsources, obj, diag);
        if (err == JK_OK && !(objects[nobjects++] = strdup(obj)))
            err = jk_diag_set(diag, JK_ERR_NOMEM, "out of memory");
    }
    /* Pass 1 finds the read-only size; pass 2 puts read-write data where the
     * standard program format will map it. */
    if (err == JK_OK)
        err = jk_ld(sdk, objects, nobjects, JK_PROBE_RW_BASE, elf_path, diag);
    if (err == JK_OK)
        err = jk_read_file(elf_path, &elf, &elf_len, diag);
    uint32_t rw_base = 0;
    if (err == JK_OK) {
        jk_elf probe;
        if ((err = jk_sdk_elf_parse(elf, elf_len, &probe, diag)) == JK_OK) {
            const jk_elf_symbol *ro_end = jk_sdk_elf_symbol_find(&probe, "__jark_ro_end");
            uint64_t ro_len = ro_end && ro_end->value >= JK_PVM_ZONE_SIZE ? ro_end->value - JK_PVM_ZONE_SIZE : 0;
            jk_sdk_elf_free(&probe);
            rw_base = (uint32_t)(2 * JK_PVM_ZONE_SIZE +
                                 (ro_len + JK_PVM_ZONE_SIZE - 1) / JK_PVM_ZONE_SIZE * JK_PVM_ZONE_SIZE);
        }
        free(elf);
        elf = NULL;
    }
    if (err == JK_OK)
        err = jk_ld(sdk, objects, nobjects, rw_base, elf_path, diag);
    if (err == JK_OK)
        err = jk_read_file(elf_path, &elf, &elf_len, diag);
    jk_link_pc *pcs = NULL;
    size_t npcs = 0;
    if (err == JK_OK) {
        jk_diag link_diag = {{0}};
        err = jk_sdk_link_elf_map(elf, elf_len, JK_DEFAULT_STACK, JK_DEFAULT_HEAP_PAGES, &program, &program_len,
                              o->asm_path ? &text : NULL, o->map_path ? &pcs : NULL, &npcs, stats, &link_diag);
        if (err != JK_OK)
            jk_diag_set(diag, err, "%s", link_diag.msg[0] ? link_diag.msg : jk_strerror(err));
    }
    if (err == JK_OK && o->map_path)
        err = jk_sdk_map_write(elf, elf_len, pcs, npcs, o->map_path, diag);
    free(pcs);
    if (err == JK_OK && o->asm_path && text)
        err = jk_write_path(o->asm_path, text, strlen(text), diag);
    free(elf);
    free(text);
    for (size_t i = 0; i < nobjects; i++) {
        unlink(objects[i]);
        free(objects[i]);
    }
    unlink(elf_path);
    rmdir(tmp);
    if (err != JK_OK) {
        free(program);
        return err;
    }
    *out = program;
    *out_len = program_len;
    return JK_OK;
}

jk_err jk_sdk_build_one(const char *source, uint8_t **out, size_t *out_len, jk_diag *diag)
{
    return jk_sdk_build(&source, 1, NULL, out, out_len, NULL, diag);
}
