/* disasm.c — the PVM disassembler (stub; being written). */
#include "internal.h"

jk_err jk_pvm_disasm(const uint8_t *blob, size_t blob_len, char **out,
                     jk_diag *diag)
{
    (void)blob;
    (void)blob_len;
    *out = NULL;
    return jk_diag_set(diag, JK_ERR_PVM_BLOB, "disassembler not implemented yet");
}
