/*
 * cmd_sdk.c — `jark link`, `jark cc` and `jark pvm exec`: the command line
 * over jark/sdk.h (chain programs in C).
 */
#include "commands.h"

#include "jark/sdk.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

int jk_tool_pvm_exec(int argc, char **argv)
{
    static const char usage[] =
        "usage: jark pvm exec PROGRAM [--entry NAME] [--gas N] [--arg N]... [--map FILE.map] [--engine interp|jit]\n";
    const char *path = NULL, *entry = NULL, *map_path = NULL;
    uint64_t args[6], gas = 10000000000ull;
    int nargs = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--entry") && i + 1 < argc) {
            entry = argv[++i];
        } else if (!strcmp(argv[i], "--gas") && i + 1 < argc) {
            if (jk_tool_parse_number(argv[++i], false, &gas) || gas > INT64_MAX) {
                fprintf(stderr, "jark: bad --gas '%s'\n", argv[i]);
                return JK_EXIT_USAGE;
            }
        } else if (!strcmp(argv[i], "--arg") && i + 1 < argc) {
            if (nargs == 6 || jk_tool_parse_number(argv[++i], true, &args[nargs])) {
                fprintf(stderr, "jark: bad --arg '%s' (at most 6, decimal or 0x hex)\n", argv[i]);
                return JK_EXIT_USAGE;
            }
            nargs++;
        } else if (!strcmp(argv[i], "--engine")) {
            if (jk_tool_engine_flag(argc, argv, &i) != 1) /* what jk_sdk_exec's AUTO runs on */
                return JK_EXIT_USAGE;
        } else if (!strcmp(argv[i], "--map") && i + 1 < argc) {
            map_path = argv[++i];
        } else if (argv[i][0] != '-' && !path) {
            path = argv[i];
        } else {
            fputs(usage, stderr);
            return JK_EXIT_USAGE;
        }
    }
    if (!path) {
        fputs(usage, stderr);
        return JK_EXIT_USAGE;
    }
    unsigned char *bytes;
    size_t len;
    if (jk_tool_read_file(path, &bytes, &len))
        return JK_EXIT_USAGE;
    jk_sdk_exec_result res;
    jk_diag diag = {{0}};
    jk_err err = jk_sdk_exec(bytes, len, entry, (int64_t)gas, args, nargs, stdout, &res, &diag);
    free(bytes);
    fflush(stdout);
    if (err != JK_OK) {
        fprintf(stderr, "jark: %s\n", diag.msg[0] ? diag.msg : jk_strerror(err));
        return JK_EXIT_USAGE;
    }
    if (res.reason[0])
        fprintf(stderr, "jark: %s\n", res.reason);
    const char *status = res.status == JK_PVM_HOST_CALL ? "panic" : jk_pvm_status_name(res.status);
    fprintf(stderr, "status=%s r7=%" PRIu64 " gas_used=%" PRId64 "\n", status, res.r7, res.gas_used);
    if (res.status != JK_PVM_HALT && map_path && jk_tool_print_source(map_path, res.pc))
        return JK_EXIT_USAGE;
    return res.status == JK_PVM_HALT ? JK_EXIT_OK : JK_EXIT_REFUSED;
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
        return JK_EXIT_USAGE;
    }
    unsigned char *elf;
    size_t len;
    if (jk_tool_read_file(in, &elf, &len))
        return JK_EXIT_USAGE;
    uint8_t *program = NULL;
    size_t program_len = 0;
    char *text = NULL;
    jk_diag diag = {{0}};
    jk_err err = jk_sdk_link(elf, len, &program, &program_len, asm_path ? &text : NULL, NULL, &diag);
    free(elf);
    int rc = JK_EXIT_OK;
    if (err != JK_OK) {
        fprintf(stderr, "jark link: %s\n", diag.msg[0] ? diag.msg : jk_strerror(err));
        rc = JK_EXIT_USAGE;
    } else if (jk_tool_write_file(out, program, program_len) ||
               (asm_path && text && jk_tool_write_file(asm_path, text, strlen(text)))) {
        rc = JK_EXIT_USAGE;
    }
    free(program);
    free(text);
    return rc;
}

int jk_tool_cc(int argc, char **argv)
{
    static const char usage[] =
        "usage: jark cc " JK_TOOL_BUILD_USAGE " FILE.c... -o PROGRAM [--emit-asm FILE.s] [--map FILE.map] [-v]\n";
    const char *out = NULL;
    const char *sources[JK_SDK_MAX_SOURCES];
    jk_tool_build b;
    jk_tool_build_init(&b);
    size_t n = 0;
    bool verbose = false, bad = false;
    for (int i = 0; i < argc && !bad; i++) {
        const char *a = argv[i];
        int flag = jk_tool_build_flag(argc, argv, &i, &b);
        if (flag)
            bad = flag < 0;
        else if (!strcmp(a, "-o") && i + 1 < argc)
            out = argv[++i];
        else if (!strcmp(a, "--emit-asm") && i + 1 < argc)
            b.o.asm_path = argv[++i];
        else if (!strcmp(a, "--map") && i + 1 < argc)
            b.o.map_path = argv[++i];
        else if (!strcmp(a, "-v"))
            verbose = true;
        else if (a[0] != '-' && n < JK_SDK_MAX_SOURCES)
            sources[n++] = a;
        else
            bad = true;
    }
    if (bad || n == 0 || !out) {
        fputs(usage, stderr);
        return JK_EXIT_USAGE;
    }
    jk_sdk_link_stats stats;
    jk_diag diag = {{0}};
    uint8_t *program = NULL;
    size_t len = 0;
    jk_err err = jk_sdk_build(sources, n, &b.o, &program, &len, &stats, &diag);
    if (err != JK_OK) {
        fprintf(stderr, "jark cc: %s\n", diag.msg[0] ? diag.msg : jk_strerror(err));
        return JK_EXIT_USAGE;
    }
    int rc = jk_tool_write_file(out, program, len) ? JK_EXIT_USAGE : JK_EXIT_OK;
    free(program);
    if (verbose && rc == JK_EXIT_OK)
        fprintf(stderr, "jark cc: %u RISC-V instructions -> %u PVM instructions (%.2f each), %u jump-table entries, %u code bytes\n",
                stats.rv_insns, stats.pvm_insns, stats.rv_insns ? (double)stats.pvm_insns / stats.rv_insns : 0.0,
                stats.jump_table, stats.code_bytes);
    return rc;
}
