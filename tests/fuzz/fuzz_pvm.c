/*
 * fuzz_pvm.c — fuzz target over PVM blob decoding and execution.
 *
 * Any byte string is offered to jk_pvm_program_load; one that loads runs with
 * a small gas limit against a small address space (read-write, read-only and
 * unmapped pages), serving host calls by resuming, on both interpreter back
 * ends. Any crash, leak or sanitizer report is a bug, and so is any difference
 * between the back ends.
 */
#include "fuzz_targets.h"

#include "../../src/pvm/internal.h"

#include <stdio.h>
#include <stdlib.h>

static void jk_fuzz_fail(const char *what)
{
    fprintf(stderr, "fuzz_pvm: %s\n", what);
    abort();
}

int jk_fuzz_pvm(const uint8_t *data, size_t size)
{
    jk_pvm_program *prog = NULL;
    jk_diag diag;
    if (jk_pvm_program_load(data, size, &prog, &diag) != JK_OK) {
        if (!diag.msg[0])
            jk_fuzz_fail("rejected blob without a message");
        return 0;
    }
    /* Registers seeded from the blob's first bytes so addresses vary. */
    uint64_t seed = 0;
    for (size_t i = 0; i < size && i < 8; i++)
        seed = seed << 8 | data[i];
    jk_pvm_memory *mem[2] = {NULL, NULL};
    jk_pvm_state st[2];
    jk_pvm_exit ex[2];
    for (int b = 0; b < 2; b++) {
        if (jk_pvm_memory_new(&mem[b]) != JK_OK)
            jk_fuzz_fail("out of memory");
        jk_pvm_memory_map(mem[b], 0x10000, 0x2000, JK_PVM_ACCESS_WRITE);
        jk_pvm_memory_map(mem[b], 0x12000, 0x1000, JK_PVM_ACCESS_READ);
        jk_pvm_memory_set_heap(mem[b], 0x20000, 0x28000);
        memset(&st[b], 0, sizeof st[b]);
        for (int r = 0; r < JK_PVM_REGS; r++)
            st[b].regs[r] = r % 3 == 0 ? 0x10000 + ((seed >> r) & 0x2FFF) : (seed * (uint64_t)(r + 1));
        st[b].gas = 2000;
        for (int hops = 0; hops < 8; hops++) {
            if (jk_pvm_run_backend(prog, mem[b], &st[b], &ex[b], b) != JK_OK)
                jk_fuzz_fail("run error from pc 0");
            if (ex[b].status != JK_PVM_HOST_CALL)
                break;
            st[b].regs[7] = ex[b].host_call;
        }
    }
    if (ex[0].status != ex[1].status || st[0].pc != st[1].pc || st[0].gas != st[1].gas ||
        memcmp(st[0].regs, st[1].regs, sizeof st[0].regs) != 0 ||
        ex[0].fault_address != ex[1].fault_address)
        jk_fuzz_fail("back ends disagree");
    uint8_t m0[0x3000], m1[0x3000];
    jk_pvm_memory_read(mem[0], 0x10000, m0, sizeof m0);
    jk_pvm_memory_read(mem[1], 0x10000, m1, sizeof m1);
    if (memcmp(m0, m1, sizeof m0) != 0)
        jk_fuzz_fail("back ends disagree on memory");
    jk_pvm_memory_free(mem[0]);
    jk_pvm_memory_free(mem[1]);
    jk_pvm_program_free(prog);
    return 0;
}

#ifdef JK_FUZZ_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return jk_fuzz_pvm(data, size);
}
#endif
