/*
 * exec.c — one entry point of a program file on the bare PVM (`jark pvm
 * exec`): the standard program's memory, arguments in φ7..φ12, and the one
 * host call the SDK's programs can make without a kernel, the debug write.
 */
#include "jark/sdk.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define JK_HOST_DEBUG_WRITE 100 /* docs/abi.md: (ptr, len) → len */

/* Copy guest memory [ptr, ptr+n) to `out`; false when some byte is unreadable. */
static bool jk_exec_debug_write(jk_pvm_memory *mem, uint64_t ptr, uint64_t n, FILE *out)
{
    uint8_t chunk[4096];
    if (ptr > UINT32_MAX || n > UINT32_MAX - ptr)
        return false;
    for (uint64_t done = 0; done < n;) {
        size_t part = n - done < sizeof chunk ? (size_t)(n - done) : sizeof chunk;
        if (jk_pvm_memory_read(mem, (uint32_t)(ptr + done), chunk, part) != JK_OK)
            return false;
        if (out)
            fwrite(chunk, 1, part, out);
        done += part;
    }
    return true;
}

jk_err jk_sdk_exec(const uint8_t *file, size_t len, const char *entry, int64_t gas, const uint64_t *args,
                   int nargs, FILE *out, jk_sdk_exec_result *res, jk_diag *diag)
{
    memset(res, 0, sizeof *res);
    if (nargs < 0 || nargs > 6 || gas < 0)
        return jk_diag_set(diag, JK_ERR_INVALID_ARG, "at most 6 arguments and gas >= 0");
    jk_pvm_progfile *pf = malloc(sizeof *pf);
    jk_pvm_program *prog = NULL;
    jk_pvm_memory *mem = NULL;
    jk_diag d = {{0}};
    jk_err err;
    if (!pf)
        return jk_diag_set(diag, JK_ERR_NOMEM, "out of memory");
    if ((err = jk_pvm_progfile_parse(file, len, pf, &d)) != JK_OK) {
        jk_diag_set(diag, JK_ERR_PVM_BLOB, "bad program file: %s", d.msg);
        err = JK_ERR_PVM_BLOB;
        goto done;
    }
    int index = entry ? jk_pvm_progfile_find(pf, entry) : (pf->endpoint_count ? 0 : -1);
    if (index < 0) {
        err = jk_diag_set(diag, JK_ERR_INVALID_ARG, "no endpoint '%s' in the program (it has %u)",
                          entry ? entry : "0", pf->endpoint_count);
        goto done;
    }
    if ((err = jk_pvm_program_load(pf->core.code, pf->core.code_len, &prog, &d)) != JK_OK) {
        jk_diag_set(diag, JK_ERR_PVM_BLOB, "bad program code: %s", d.msg);
        err = err == JK_ERR_NOMEM ? err : JK_ERR_PVM_BLOB;
        goto done;
    }
    jk_pvm_state st;
    memset(&st, 0, sizeof st);
    if ((err = jk_pvm_memory_new(&mem)) != JK_OK ||
        (err = jk_pvm_stdprog_init(&pf->core, NULL, 0, mem, st.regs)) != JK_OK) {
        jk_diag_set(diag, err, "cannot set up the program's memory: %s", jk_strerror(err));
        goto done;
    }
    for (int i = 0; i < nargs; i++)
        st.regs[7 + i] = args[i];
    st.pc = pf->endpoints[index].pc;
    st.gas = gas;
    jk_pvm_exit ex;
    for (;;) {
        if ((err = jk_pvm_run_engine(prog, mem, &st, &ex, JK_PVM_ENGINE_AUTO)) != JK_OK) {
            jk_diag_set(diag, JK_ERR_PVM_BLOB, "endpoint pc %u is not an instruction", st.pc);
            err = JK_ERR_PVM_BLOB;
            goto done;
        }
        if (ex.status != JK_PVM_HOST_CALL)
            break;
        if (ex.host_call == JK_HOST_DEBUG_WRITE) {
            if (!jk_exec_debug_write(mem, st.regs[7], st.regs[8], out)) {
                snprintf(res->reason, sizeof res->reason, "debug write from unreadable memory 0x%" PRIx64 "+%" PRIu64,
                         st.regs[7], st.regs[8]);
                ex.status = JK_PVM_PANIC;
                break;
            }
            st.regs[7] = st.regs[8];
            continue;
        }
        snprintf(res->reason, sizeof res->reason, "unknown host call %" PRIu64 " at pc %u", ex.host_call, st.pc);
        ex.status = JK_PVM_PANIC;
        break;
    }
    res->status = ex.status;
    res->r7 = st.regs[7];
    res->gas_used = gas - st.gas;
    res->pc = st.pc;
    err = JK_OK;
done:
    jk_pvm_memory_free(mem);
    jk_pvm_program_free(prog);
    free(pf);
    return err;
}
