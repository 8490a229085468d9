/* sdk_exec.h — building SDK programs (`jark cc`, `jark link`) and running
 * them on the bare PVM (`jark pvm exec`), callable in-process by the tests. */
#ifndef JK_TOOLS_SDK_EXEC_H
#define JK_TOOLS_SDK_EXEC_H

#include "jark/pvm.h"

#include <stdint.h>
#include <stdio.h>

typedef struct jk_exec_result {
    jk_pvm_status status;
    uint64_t r7;
    int64_t gas_used;
    uint32_t pc;
} jk_exec_result;

/* Run endpoint `entry` (NULL: endpoint 0) of a program file with `gas` and up
 * to 6 arguments in φ7..φ12. Debug writes (host call 100) go to `out`. An
 * unknown host call, or a debug write from unreadable memory, ends the run as a
 * panic (said on stderr). Returns 0, or -1 when the file or entry is bad (said
 * on stderr). */
int jk_exec_program(const uint8_t *file, size_t len, const char *entry, int64_t gas,
                    const uint64_t *args, int nargs, FILE *out, jk_exec_result *res);

/* Compile C sources for RV64EM with the SDK, link them twice (the second time
 * with the read-write base the read-only size dictates) and translate to a
 * program file at out_path. opt is "-O0", "-O2" or "-Os". Tool failures are
 * printed on stderr. Returns 0 on success. `stats` (optional) gets the
 * linker's counts; `asm_path` (optional) receives the generated assembly;
 * `link_diag` (optional) the linker's reason when it refuses the program. */
struct jk_link_stats;
int jk_cc_build(const char *const *sources, int nsources, const char *opt, const char *out_path,
                const char *asm_path, struct jk_link_stats *stats, jk_diag *link_diag);

/* jk_cc_build of one source into memory: *out (malloc'd, the caller frees
 * it) receives the program file's bytes. Returns 0 on success; failures are
 * printed on stderr. */
int jk_cc_build_bytes(const char *source, const char *opt, uint8_t **out, size_t *out_len);

/* The SDK directory (holding jark.h, libc.c, link.ld): $JARK_SDK_DIR, or the
 * nearest `sdk/` above the running executable. NULL if not found. */
const char *jk_sdk_dir(void);

#endif
