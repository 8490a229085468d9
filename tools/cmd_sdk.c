/*
 * cmd_sdk.c — `jark link`, `jark cc` and `jark pvm exec`: chain programs in C.
 *
 * `jark cc` drives clang-19 and ld.lld-19 (found on PATH, or $JARK_CLANG and
 * $JARK_LLD) and then the SDK linker (sdk/linker). Nothing here is hashed or
 * stored, but the output must still be deterministic: the same sources give
 * the same bytes (no paths, times or debug info reach the program file).
 */
#include "commands.h"
#include "sdk_exec.h"

#include "../sdk/linker/linker.h"

#include <errno.h>
#include <inttypes.h>
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

/* ---- running an SDK program ---- */

int jk_exec_program(const uint8_t *file, size_t len, const char *entry, int64_t gas,
                    const uint64_t *args, int nargs, FILE *out, jk_exec_result *res)
{
    jk_pvm_progfile *pf = malloc(sizeof *pf);
    jk_pvm_program *prog = NULL;
    jk_pvm_memory *mem = NULL;
    jk_diag diag = {{0}};
    int rc = -1;
    if (!pf)
        return -1;
    if (jk_pvm_progfile_parse(file, len, pf, &diag) != JK_OK) {
        fprintf(stderr, "jark: bad program file: %s\n", diag.msg);
        goto done;
    }
    int index = entry ? jk_pvm_progfile_find(pf, entry) : (pf->endpoint_count ? 0 : -1);
    if (index < 0) {
        fprintf(stderr, "jark: no endpoint '%s' in the program (it has %u)\n", entry ? entry : "0",
                pf->endpoint_count);
        goto done;
    }
    if (jk_pvm_program_load(pf->core.code, pf->core.code_len, &prog, &diag) != JK_OK) {
        fprintf(stderr, "jark: bad program code: %s\n", diag.msg);
        goto done;
    }
    jk_pvm_state st;
    memset(&st, 0, sizeof st);
    if (jk_pvm_memory_new(&mem) != JK_OK || jk_pvm_stdprog_init(&pf->core, NULL, 0, mem, st.regs) != JK_OK) {
        fprintf(stderr, "jark: cannot set up the program's memory\n");
        goto done;
    }
    for (int i = 0; i < nargs && i < 6; i++)
        st.regs[7 + i] = args[i];
    st.pc = pf->endpoints[index].pc;
    st.gas = gas;
    jk_pvm_exit ex;
    for (;;) {
        if (jk_pvm_run_engine(prog, mem, &st, &ex, JK_PVM_ENGINE_AUTO) != JK_OK) {
            fprintf(stderr, "jark: endpoint pc %u is not an instruction\n", st.pc);
            goto done;
        }
        if (ex.status != JK_PVM_HOST_CALL)
            break;
        if (ex.host_call == 100) { /* JK_HOST_DEBUG_WRITE (ptr, len) */
            uint64_t ptr = st.regs[7], n = st.regs[8];
            uint8_t chunk[4096];
            bool ok = ptr <= UINT32_MAX && n <= UINT32_MAX - ptr;
            for (uint64_t done_bytes = 0; ok && done_bytes < n;) {
                size_t part = n - done_bytes < sizeof chunk ? (size_t)(n - done_bytes) : sizeof chunk;
                ok = jk_pvm_memory_read(mem, (uint32_t)(ptr + done_bytes), chunk, part) == JK_OK;
                if (ok)
                    fwrite(chunk, 1, part, out);
                done_bytes += part;
            }
            if (!ok) {
                fprintf(stderr, "jark: debug write from unreadable memory 0x%" PRIx64 "+%" PRIu64 "\n", ptr, n);
                ex.status = JK_PVM_PANIC;
                break;
            }
            st.regs[7] = n;
            continue;
        }
        fprintf(stderr, "jark: unknown host call %" PRIu64 " at pc %u\n", ex.host_call, st.pc);
        ex.status = JK_PVM_PANIC;
        break;
    }
    res->status = ex.status;
    res->r7 = st.regs[7];
    res->gas_used = gas - st.gas;
    res->pc = st.pc;
    rc = 0;
done:
    jk_pvm_memory_free(mem);
    jk_pvm_program_free(prog);
    free(pf);
    return rc;
}

int jk_tool_pvm_exec(int argc, char **argv)
{
    const char *path = NULL, *entry = NULL;
    uint64_t args[6], gas = 10000000000ull;
    int nargs = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--entry") && i + 1 < argc) {
            entry = argv[++i];
        } else if (!strcmp(argv[i], "--gas") && i + 1 < argc) {
            if (jk_tool_parse_number(argv[++i], false, &gas) || gas > INT64_MAX) {
                fprintf(stderr, "jark: bad --gas '%s'\n", argv[i]);
                return 2;
            }
        } else if (!strcmp(argv[i], "--arg") && i + 1 < argc) {
            if (nargs == 6 || jk_tool_parse_number(argv[++i], true, &args[nargs])) {
                fprintf(stderr, "jark: bad --arg '%s' (at most 6, decimal or 0x hex)\n", argv[i]);
                return 2;
            }
            nargs++;
        } else if (!strcmp(argv[i], "--engine") && i + 1 < argc) {
            jk_pvm_engine engine;
            if (jk_pvm_engine_parse(argv[++i], &engine) != JK_OK) {
                fprintf(stderr, "jark: --engine wants interp, jit or auto, got '%s'\n", argv[i]);
                return 2;
            }
            jk_pvm_set_auto_engine(engine); /* what jk_exec_program's AUTO runs on */
        } else if (argv[i][0] != '-' && !path) {
            path = argv[i];
        } else {
            fprintf(stderr, "usage: jark pvm exec PROGRAM [--entry NAME] [--gas N] [--arg N]... [--engine interp|jit]\n");
            return 2;
        }
    }
    if (!path) {
        fprintf(stderr, "usage: jark pvm exec PROGRAM [--entry NAME] [--gas N] [--arg N]... [--engine interp|jit]\n");
        return 2;
    }
    unsigned char *bytes;
    size_t len;
    if (jk_tool_read_file(path, &bytes, &len))
        return 1;
    jk_exec_result res;
    int rc = jk_exec_program(bytes, len, entry, (int64_t)gas, args, nargs, stdout, &res);
    free(bytes);
    fflush(stdout);
    if (rc)
        return 1;
    const char *status = res.status == JK_PVM_HOST_CALL ? "panic" : jk_pvm_status_name(res.status);
    fprintf(stderr, "status=%s r7=%" PRIu64 " gas_used=%" PRId64 "\n", status, res.r7, res.gas_used);
    return res.status == JK_PVM_HALT ? 0 : 1;
}

/* ---- building ---- */

const char *jk_sdk_dir(void)
{
    static char dir[PATH_MAX];
    const char *env = getenv("JARK_SDK_DIR");
    struct stat st;
    if (env && *env)
        return env;
    ssize_t n = readlink("/proc/self/exe", dir, sizeof dir - 32);
    if (n <= 0)
        return NULL;
    dir[n] = 0;
    for (int up = 0; up < 4; up++) {
        char *slash = strrchr(dir, '/');
        if (!slash)
            return NULL;
        *slash = 0;
        size_t len = strlen(dir);
        snprintf(dir + len, sizeof dir - len, "/sdk/jark.h");
        if (stat(dir, &st) == 0) {
            dir[len + 4] = 0; /* keep ".../sdk" */
            return dir;
        }
        dir[len] = 0;
    }
    return NULL;
}

/* Run a tool, waiting for it; prints what failed. */
static int jk_run(char *const argv[])
{
    pid_t pid;
    int status;
    int err = posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ);
    if (err) {
        fprintf(stderr, "jark: cannot run %s: %s (run ./scripts/install-deps.sh)\n", argv[0], strerror(err));
        return -1;
    }
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "jark: %s failed\n", argv[0]);
        return -1;
    }
    return 0;
}

static const char *jk_env_or(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return v && *v ? v : fallback;
}

/* Link objects with __jark_rw_base = rw_base into elf_path. */
static int jk_ld(const char *sdk, char **objects, int nobjects, uint32_t rw_base, const char *elf_path)
{
    char script[PATH_MAX], defsym[64];
    snprintf(script, sizeof script, "%s/link.ld", sdk);
    snprintf(defsym, sizeof defsym, "--defsym=__jark_rw_base=0x%x", rw_base);
    char *argv[64];
    int n = 0;
    argv[n++] = (char *)jk_env_or("JARK_LLD", "ld.lld-19");
    argv[n++] = "-static";
    argv[n++] = "--emit-relocs";
    argv[n++] = "--no-pie";
    argv[n++] = "-T";
    argv[n++] = script;
    argv[n++] = defsym;
    argv[n++] = "-o";
    argv[n++] = (char *)elf_path;
    for (int i = 0; i < nobjects && n < 62; i++)
        argv[n++] = objects[i];
    argv[n] = NULL;
    return jk_run(argv);
}

static int jk_read_all(const char *path, unsigned char **bytes, size_t *len)
{
    return jk_tool_read_file(path, bytes, len);
}

static int jk_write_all(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "jark: cannot write %s: %s\n", path, strerror(errno));
        if (f)
            fclose(f);
        return -1;
    }
    return 0;
}

static int jk_link_file(const unsigned char *elf, size_t elf_len, const char *out_path, const char *asm_path,
                        jk_link_stats *stats, jk_diag *diag)
{
    uint8_t *program;
    size_t program_len;
    char *text = NULL;
    jk_err err = jk_link_elf(elf, elf_len, JK_DEFAULT_STACK, JK_DEFAULT_HEAP_PAGES, &program, &program_len,
                             asm_path ? &text : NULL, stats, diag);
    if (err != JK_OK) {
        if (!diag->msg[0])
            jk_diag_set(diag, err, "%s", jk_strerror(err));
        fprintf(stderr, "jark link: %s\n", diag->msg);
        return -1;
    }
    int rc = jk_write_all(out_path, program, program_len);
    if (!rc && asm_path && text)
        rc = jk_write_all(asm_path, text, strlen(text));
    free(program);
    free(text);
    return rc;
}

int jk_cc_build(const char *const *sources, int nsources, const char *opt, const char *out_path,
                const char *asm_path, jk_link_stats *stats, jk_diag *link_diag)
{
    jk_diag own_diag;
    if (!link_diag)
        link_diag = &own_diag;
    link_diag->msg[0] = 0;
    const char *sdk = jk_sdk_dir();
    char tmp[] = "/tmp/jark-cc-XXXXXX";
    char *objects[40];
    int nobjects = 0, rc = -1;
    unsigned char *elf = NULL;
    size_t elf_len = 0;
    char elf_path[PATH_MAX], include[PATH_MAX + 2], libc_include[PATH_MAX + 16], libc_src[PATH_MAX];
    if (!sdk) {
        fprintf(stderr, "jark cc: cannot find the SDK (set JARK_SDK_DIR)\n");
        return -1;
    }
    if (nsources < 1 || nsources > 32) {
        fprintf(stderr, "jark cc: between 1 and 32 source files\n");
        return -1;
    }
    if (!mkdtemp(tmp)) {
        fprintf(stderr, "jark cc: cannot make a temporary directory: %s\n", strerror(errno));
        return -1;
    }
    snprintf(include, sizeof include, "-I%s", sdk);
    snprintf(libc_include, sizeof libc_include, "-isystem%s/libc", sdk);
    snprintf(libc_src, sizeof libc_src, "%s/libc/libc.c", sdk);
    for (int i = 0; i <= nsources; i++) {
        const char *src = i < nsources ? sources[i] : libc_src;
        char obj[PATH_MAX];
        snprintf(obj, sizeof obj, "%s/%d.o", tmp, i);
        char *argv[] = {(char *)jk_env_or("JARK_CLANG", "clang-19"), "--target=riscv64-unknown-elf",
                        "-march=rv64em", "-mabi=lp64e", "-mcmodel=medlow", "-mno-relax", "-ffreestanding",
                        "-fno-pic", "-fno-pie", "-fno-stack-protector", "-fno-asynchronous-unwind-tables",
                        "-fno-unwind-tables", "-fno-common", "-nostdlib", (char *)opt, include, libc_include,
                        i < nsources ? "-fbuiltin" : "-fno-builtin", "-c", (char *)src, "-o", obj, NULL};
        if (jk_run(argv))
            goto done;
        objects[nobjects++] = strdup(obj);
    }
    /* Pass 1 finds the read-only size; pass 2 puts read-write data where the
     * standard program format will map it. */
    snprintf(elf_path, sizeof elf_path, "%s/program.elf", tmp);
    if (jk_ld(sdk, objects, nobjects, JK_PROBE_RW_BASE, elf_path) || jk_read_all(elf_path, &elf, &elf_len))
        goto done;
    jk_elf probe;
    jk_diag diag = {{0}};
    if (jk_elf_parse(elf, elf_len, &probe, &diag) != JK_OK) {
        fprintf(stderr, "jark cc: %s\n", diag.msg);
        goto done;
    }
    const jk_elf_symbol *ro_end = jk_elf_symbol_find(&probe, "__jark_ro_end");
    uint64_t ro_len = ro_end && ro_end->value >= JK_PVM_ZONE_SIZE ? ro_end->value - JK_PVM_ZONE_SIZE : 0;
    jk_elf_free(&probe);
    free(elf);
    elf = NULL;
    uint32_t rw_base = (uint32_t)(2 * JK_PVM_ZONE_SIZE + (ro_len + JK_PVM_ZONE_SIZE - 1) / JK_PVM_ZONE_SIZE * JK_PVM_ZONE_SIZE);
    if (jk_ld(sdk, objects, nobjects, rw_base, elf_path) || jk_read_all(elf_path, &elf, &elf_len))
        goto done;
    rc = jk_link_file(elf, elf_len, out_path, asm_path, stats, link_diag);
done:
    free(elf);
    for (int i = 0; i < nobjects; i++) {
        unlink(objects[i]);
        free(objects[i]);
    }
    unlink(elf_path);
    rmdir(tmp);
    return rc;
}

int jk_cc_build_bytes(const char *source, const char *opt, uint8_t **out, size_t *out_len)
{
    char path[] = "/tmp/jark-cc-out-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) {
        fprintf(stderr, "jark cc: cannot make a temporary file: %s\n", strerror(errno));
        return -1;
    }
    close(fd);
    const char *sources[1] = {source};
    unsigned char *bytes = NULL;
    int rc = jk_cc_build(sources, 1, opt, path, NULL, NULL, NULL);
    if (rc == 0)
        rc = jk_tool_read_file(path, &bytes, out_len);
    unlink(path);
    if (rc == 0)
        *out = bytes;
    return rc;
}

int jk_tool_link(int argc, char **argv)
{
    const char *in = NULL, *out = NULL, *asm_path = NULL;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "-o") && i + 1 < argc)
            out = argv[++i];
        else if (!strcmp(argv[i], "--emit-asm") && i + 1 < argc)
            asm_path = argv[++i];
        else if (argv[i][0] != '-' && !in)
            in = argv[i];
        else
            in = out = NULL, i = argc;
    }
    if (!in || !out) {
        fprintf(stderr, "usage: jark link ELF -o PROGRAM [--emit-asm FILE.s]\n");
        return 2;
    }
    unsigned char *elf;
    size_t len;
    if (jk_tool_read_file(in, &elf, &len))
        return 1;
    jk_link_stats stats;
    jk_diag diag = {{0}};
    int rc = jk_link_file(elf, len, out, asm_path, &stats, &diag);
    free(elf);
    return rc ? 1 : 0;
}

int jk_tool_cc(int argc, char **argv)
{
    const char *out = NULL, *opt = "-O2", *asm_path = NULL;
    const char *sources[32];
    int n = 0;
    bool verbose = false;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "-o") && i + 1 < argc)
            out = argv[++i];
        else if (!strcmp(argv[i], "-O0") || !strcmp(argv[i], "-O2") || !strcmp(argv[i], "-Os"))
            opt = argv[i];
        else if (!strcmp(argv[i], "--emit-asm") && i + 1 < argc)
            asm_path = argv[++i];
        else if (!strcmp(argv[i], "-v"))
            verbose = true;
        else if (argv[i][0] != '-' && n < 32)
            sources[n++] = argv[i];
        else
            n = -1, i = argc;
    }
    if (n <= 0 || !out) {
        fprintf(stderr, "usage: jark cc [-O0|-O2|-Os] FILE.c... -o PROGRAM [--emit-asm FILE.s] [-v]\n");
        return 2;
    }
    jk_link_stats stats;
    if (jk_cc_build(sources, n, opt, out, asm_path, &stats, NULL))
        return 1;
    if (verbose)
        fprintf(stderr, "jark cc: %u RISC-V instructions -> %u PVM instructions (%.2f each), %u jump-table entries, %u code bytes\n",
                stats.rv_insns, stats.pvm_insns, stats.rv_insns ? (double)stats.pvm_insns / stats.rv_insns : 0.0,
                stats.jump_table, stats.code_bytes);
    return 0;
}
