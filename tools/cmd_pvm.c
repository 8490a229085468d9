/*
 * cmd_pvm.c — `jark pvm test PATH...` and `jark pvm run FILE.pvm ...`.
 */
#include "commands.h"
#include "pvm_vectors.h"

#include "jark/pvm.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --engine interp|jit|auto -> *engine; returns 0, or -1 (message printed). */
static int jk_parse_engine(const char *name, jk_pvm_engine *engine)
{
    if (jk_pvm_engine_parse(name, engine) == JK_OK)
        return 0;
    fprintf(stderr, "jark: --engine wants interp, jit or auto, got '%s'\n", name);
    return -1;
}

static int jk_pvm_test(int argc, char **argv)
{
    jk_vector_totals totals = {0, 0};
    jk_pvm_engine engine = JK_PVM_ENGINE_INTERP;
    int paths = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--engine") && i + 1 < argc) {
            if (jk_parse_engine(argv[++i], &engine))
                return 2;
        } else {
            paths++;
        }
    }
    if (paths < 1) {
        fprintf(stderr, "usage: jark pvm test [--engine interp|jit] PATH...\n");
        return 2;
    }
    /* back end 1 is the interpreter's default, 2 the recompiler */
    int backend = engine == JK_PVM_ENGINE_INTERP ? 1 : 2;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--engine")) {
            i++;
            continue;
        }
        if (jk_vectors_run_path(argv[i], backend, stdout, &totals) != 0)
            totals.failed++;
    }
    printf("%zu passed, %zu failed\n", totals.passed, totals.failed);
    return totals.failed ? 1 : 0;
}

/* --map ADDR:LEN[:ro|:rw] (default rw). */
static int jk_parse_map(const char *text, jk_pvm_memory *mem)
{
    char buf[128];
    if (strlen(text) >= sizeof buf)
        return -1;
    strcpy(buf, text);
    char *len_text = strchr(buf, ':');
    if (!len_text)
        return -1;
    *len_text++ = 0;
    jk_pvm_access access = JK_PVM_ACCESS_WRITE;
    char *mode = strchr(len_text, ':');
    if (mode) {
        *mode++ = 0;
        if (!strcmp(mode, "ro"))
            access = JK_PVM_ACCESS_READ;
        else if (strcmp(mode, "rw"))
            return -1;
    }
    uint64_t addr, len;
    if (jk_tool_parse_number(buf, false, &addr) || jk_tool_parse_number(len_text, false, &len) || addr > UINT32_MAX || len > UINT32_MAX)
        return -1;
    return jk_pvm_memory_map(mem, (uint32_t)addr, (uint32_t)len, access) == JK_OK ? 0 : -1;
}

static int jk_pvm_run_cmd(int argc, char **argv)
{
    const char *path = NULL;
    jk_pvm_state state;
    jk_pvm_memory *mem = NULL;
    jk_pvm_program *prog = NULL;
    unsigned char *blob = NULL;
    size_t blob_len = 0;
    int rc = 2;
    jk_pvm_engine engine = JK_PVM_ENGINE_INTERP;

    memset(&state, 0, sizeof state);
    state.gas = 1000000000;
    if (jk_pvm_memory_new(&mem) != JK_OK) {
        fprintf(stderr, "jark: out of memory\n");
        return JK_EXIT_USAGE;
    }
    for (int i = 0; i < argc; i++) {
        uint64_t v;
        if (!strcmp(argv[i], "--gas") && i + 1 < argc) {
            if (jk_tool_parse_number(argv[++i], false, &v) || v > INT64_MAX) {
                fprintf(stderr, "jark: bad --gas value '%s'\n", argv[i]);
                goto done;
            }
            state.gas = (int64_t)v;
        } else if (!strcmp(argv[i], "--reg") && i + 1 < argc) {
            char *eq = strchr(argv[++i], '=');
            uint64_t idx;
            if (!eq) {
                fprintf(stderr, "jark: --reg wants I=V, got '%s'\n", argv[i]);
                goto done;
            }
            *eq = 0;
            if (jk_tool_parse_number(argv[i], false, &idx) || idx >= JK_PVM_REGS || jk_tool_parse_number(eq + 1, true, &v)) {
                fprintf(stderr, "jark: bad --reg '%s=%s' (register 0..12, value decimal or 0x hex)\n",
                        argv[i], eq + 1);
                goto done;
            }
            state.regs[idx] = v;
        } else if (!strcmp(argv[i], "--pc") && i + 1 < argc) {
            if (jk_tool_parse_number(argv[++i], false, &v) || v > UINT32_MAX) {
                fprintf(stderr, "jark: bad --pc value '%s'\n", argv[i]);
                goto done;
            }
            state.pc = (uint32_t)v;
        } else if (!strcmp(argv[i], "--engine") && i + 1 < argc) {
            if (jk_parse_engine(argv[++i], &engine))
                goto done;
        } else if (!strcmp(argv[i], "--map") && i + 1 < argc) {
            if (jk_parse_map(argv[++i], mem)) {
                fprintf(stderr, "jark: bad --map '%s' (ADDR:LEN[:ro|:rw], page-aligned, above 64 KiB)\n",
                        argv[i]);
                goto done;
            }
        } else if (argv[i][0] == '-' || path) {
            fprintf(stderr, "jark: pvm run: unexpected argument '%s'\n", argv[i]);
            goto done;
        } else {
            path = argv[i];
        }
    }
    if (!path) {
        fprintf(stderr, "usage: jark pvm run FILE.pvm [--engine interp|jit] [--gas N] [--reg I=V]... [--pc N] [--map ADDR:LEN[:ro|:rw]]...\n");
        goto done;
    }
    if (jk_tool_read_file(path, &blob, &blob_len))
        goto done;
    jk_diag diag = {{0}};
    jk_err err = jk_pvm_program_load(blob, blob_len, &prog, &diag);
    if (err != JK_OK) {
        fprintf(stderr, "jark: %s: %s\n", path, diag.msg[0] ? diag.msg : jk_strerror(err));
        goto done;
    }
    jk_pvm_exit ex;
    int64_t gas_before = state.gas;
    err = jk_pvm_run_engine(prog, mem, &state, &ex, engine);
    if (err != JK_OK) {
        fprintf(stderr, "jark: %s: %s\n", path, jk_strerror(err));
        goto done;
    }
    printf("status=%s pc=%" PRIu32 " gas=%" PRId64 " gas_used=%" PRId64, jk_pvm_status_name(ex.status),
           state.pc, state.gas, gas_before - state.gas);
    if (ex.status == JK_PVM_PAGE_FAULT)
        printf(" fault_address=0x%" PRIx32, ex.fault_address);
    if (ex.status == JK_PVM_HOST_CALL)
        printf(" host_call=%" PRIu64, ex.host_call);
    printf("\n");
    for (int i = 0; i < JK_PVM_REGS; i++)
        printf("r%d=%" PRIu64 "%s", i, state.regs[i], i + 1 < JK_PVM_REGS ? " " : "\n");
    /* the exit-code rule: the program said no unless it halted */
    rc = ex.status == JK_PVM_HALT ? JK_EXIT_OK : JK_EXIT_REFUSED;
done:
    free(blob);
    jk_pvm_program_free(prog);
    jk_pvm_memory_free(mem);
    return rc;
}

int jk_tool_pvm(int argc, char **argv)
{
    if (argc >= 1 && !strcmp(argv[0], "test"))
        return jk_pvm_test(argc - 1, argv + 1);
    if (argc >= 1 && !strcmp(argv[0], "run"))
        return jk_pvm_run_cmd(argc - 1, argv + 1);
    if (argc >= 1 && !strcmp(argv[0], "exec"))
        return jk_tool_pvm_exec(argc - 1, argv + 1);
    fprintf(stderr, "usage: jark pvm test PATH... | jark pvm run FILE.pvm [options] | jark pvm exec PROGRAM [options]\n");
    return 2;
}
