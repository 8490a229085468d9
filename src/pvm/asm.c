/* asm.c — the PVM text assembler (stub; being written). */
#include "internal.h"

jk_err jk_pvm_asm(const char *source, size_t source_len, uint8_t **out,
                  size_t *out_len, jk_diag *diag)
{
    (void)source;
    (void)source_len;
    *out = NULL;
    *out_len = 0;
    return jk_diag_set(diag, JK_ERR_PVM_ASM, "assembler not implemented yet");
}
