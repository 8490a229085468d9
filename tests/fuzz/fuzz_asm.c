/*
 * fuzz_asm.c — fuzz target over the assembler and disassembler.
 *
 * The input is offered as assembly text (any result but a crash is fine) and
 * as a program blob: a blob that parses must disassemble, and its disassembly
 * must assemble back to exactly the same bytes.
 */
#include "fuzz_targets.h"

#include "jark/pvm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int jk_fuzz_asm(const uint8_t *data, size_t size)
{
    uint8_t *blob = NULL;
    size_t blob_len = 0;
    jk_diag diag;
    char *text = malloc(size + 1);
    if (!text)
        abort();
    memcpy(text, data, size);
    text[size] = 0;
    if (jk_pvm_asm(text, size, &blob, &blob_len, &diag) == JK_OK)
        free(blob);
    free(text);

    jk_pvm_blob parsed;
    if (jk_pvm_blob_parse(data, size, &parsed, NULL) != JK_OK)
        return 0;
    /* With 0-byte jump entries ten bytes can declare 6.5 M of them (|j| is
     * bounded by JK_PVM_MAX_JUMP_TABLE, 2^24): the round trip of that 35 MB
     * listing is linear (1.5 s at -O2) but past the fuzzer's timeout under
     * the sanitizers. The listing is ~5 bytes an entry: round-trip blobs whose
     * jump table costs at most 64 K entries. */
    if (parsed.jump_count > 65536)
        return 0;
    char *listing = NULL;
    if (jk_pvm_disasm(data, size, &listing, &diag) != JK_OK) {
        fprintf(stderr, "fuzz_asm: disasm refused a parsable blob: %s\n", diag.msg);
        abort();
    }
    if (jk_pvm_asm(listing, strlen(listing), &blob, &blob_len, &diag) != JK_OK) {
        fprintf(stderr, "fuzz_asm: disassembly does not assemble: %s\n%s", diag.msg, listing);
        abort();
    }
    if (blob_len != size || memcmp(blob, data, size) != 0) {
        fprintf(stderr, "fuzz_asm: round trip changed the bytes\n%s", listing);
        abort();
    }
    free(blob);
    free(listing);
    return 0;
}

#ifdef JK_FUZZ_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return jk_fuzz_asm(data, size);
}
#endif
