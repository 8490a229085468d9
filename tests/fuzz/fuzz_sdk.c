/*
 * fuzz_sdk.c — fuzz target over the SDK's decoders: program files (wrapper and
 * standard program), ELF files through the whole linker, and the DWARF line
 * tables of an ELF (`jark cc --map` and `jark link --map` read them: dwarf.c).
 * Any crash, leak or sanitizer report is a bug; so is a refusal without a
 * message, a program file the linker wrote that its own parser refuses, and
 * line rows out of address order or naming a file outside the ELF.
 */
#include "fuzz_targets.h"

#include "../../src/sdk/linker.h"
#include "jark/pvm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void jk_fuzz_fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_sdk: %s: %s\n", what, detail);
    abort();
}

int jk_fuzz_sdk(const uint8_t *data, size_t size)
{
    jk_diag diag;
    jk_pvm_progfile *pf = malloc(sizeof *pf);
    if (!pf)
        abort();
    diag.msg[0] = 0;
    if (jk_pvm_progfile_parse(data, size, pf, &diag) != JK_OK) {
        if (!diag.msg[0])
            jk_fuzz_fail("program file refused without a message", "");
    } else {
        jk_pvm_program *prog = NULL;
        if (jk_pvm_program_load(pf->core.code, pf->core.code_len, &prog, NULL) == JK_OK) {
            jk_pvm_memory *mem;
            uint64_t regs[JK_PVM_REGS];
            if (jk_pvm_memory_new(&mem) == JK_OK) {
                /* Huge layouts are legal; only build the memory for small ones. */
                if (pf->core.heap_pages < 64 && pf->core.stack_size < (1u << 20))
                    jk_pvm_stdprog_init(&pf->core, data, (uint32_t)(size < 64 ? size : 64), mem, regs);
                jk_pvm_memory_free(mem);
            }
            jk_pvm_program_free(prog);
        }
    }
    free(pf);

    jk_pvm_stdprog sp;
    diag.msg[0] = 0;
    if (jk_pvm_stdprog_parse(data, size, &sp, &diag) != JK_OK && !diag.msg[0])
        jk_fuzz_fail("standard program refused without a message", "");

    jk_elf elf;
    diag.msg[0] = 0;
    if (jk_sdk_elf_parse(data, size, &elf, &diag) == JK_OK) {
        jk_line_row *rows = NULL;
        size_t nrows = 0;
        diag.msg[0] = 0;
        jk_err derr = jk_sdk_dwarf_lines(&elf, &rows, &nrows, &diag);
        if (derr != JK_OK && derr != JK_ERR_NOMEM && !diag.msg[0])
            jk_fuzz_fail("DWARF refused without a message", jk_strerror(derr));
        for (size_t i = 0; derr == JK_OK && i < nrows; i++) {
            if (i && rows[i - 1].addr > rows[i].addr)
                jk_fuzz_fail("line rows out of address order", "");
            const char *f = rows[i].file;
            if (f && strcmp(f, "?") == 0)
                continue; /* a file index the table does not have: dwarf.c's stand-in */
            if (!f || (const uint8_t *)f < data || (const uint8_t *)f >= data + size ||
                !memchr(f, 0, (size_t)(data + size - (const uint8_t *)f)))
                jk_fuzz_fail("a line row's file is not a string inside the ELF", "");
        }
        free(rows);
        jk_sdk_elf_free(&elf);
    } else if (!diag.msg[0]) {
        jk_fuzz_fail("ELF refused without a message", "");
    }

    uint8_t *out = NULL;
    size_t out_len = 0;
    diag.msg[0] = 0;
    jk_err err = jk_sdk_link_elf(data, size, 4096, 1, &out, &out_len, NULL, NULL, &diag);
    if (err == JK_OK) {
        jk_pvm_progfile *back = malloc(sizeof *back);
        if (!back || jk_pvm_progfile_parse(out, out_len, back, &diag) != JK_OK)
            jk_fuzz_fail("the linker wrote a program file its parser refuses", diag.msg);
        free(back);
        free(out);
    } else if (err != JK_ERR_NOMEM && !diag.msg[0]) {
        jk_fuzz_fail("ELF refused without a message", jk_strerror(err));
    }
    return 0;
}

#ifdef JK_FUZZ_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return jk_fuzz_sdk(data, size);
}
#endif
