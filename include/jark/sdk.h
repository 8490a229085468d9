/*
 * jark/sdk.h — chain programs written in C (sdk/README.md): compiling C with
 * the SDK into a program file (docs/program-format.md), the RV64EM → PVM
 * linker behind it (docs/sdk-linker.md), and running one entry point of a
 * program file on the bare PVM.
 *
 * Layer: sdk sits beside pvm and depends on it only (crypto → pvm → sdk; the
 * spec layer compiles chains with it). src/sdk/linker.h is its internal
 * header: the ELF reader, the RV64EM decoder and the translator.
 *
 * Compiling runs external tools: clang-19 and ld.lld-19 from PATH, or
 * $JARK_CLANG and $JARK_LLD. Their own messages (a C syntax error) go to the
 * process's stderr as they print them; everything jark itself has to say is
 * in the jk_diag. The build is deterministic: the same sources and options
 * give the same program bytes (no paths, times or debug info reach them).
 * Temporary files live in a private folder under $TMPDIR (or /tmp) that is
 * removed before the call returns.
 *
 * Plain `char` is signed in every build (-fsigned-char): RISC-V's default is
 * unsigned and x86's signed, and a chain program compared against its native
 * build (-DJARK_NATIVE) must behave the same on both.
 */
#ifndef JARK_SDK_H
#define JARK_SDK_H

#include "jark/err.h"
#include "jark/pvm.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---------------------------------------------------------------------------
 * Finding the SDK
 * ------------------------------------------------------------------------- */

/* The SDK folder (holding jark.h, libc/, link.ld): $JARK_SDK_DIR when set;
 * else `sdk/` beside the running executable or in a folder up to four levels
 * above it (a source checkout: build/jark finds ./sdk); else
 * `../share/jark/sdk` from the executable's folder (an installed prefix:
 * PREFIX/bin/jark finds PREFIX/share/jark/sdk). NULL when none holds jark.h
 * (a program embedding libjark sets $JARK_SDK_DIR, e.g. from
 * `pkg-config --variable=sdkdir jark`). The result is a static string, valid until the next
 * call; not thread-safe. */
const char *jk_sdk_dir(void);

/* ---------------------------------------------------------------------------
 * Building
 * ------------------------------------------------------------------------- */

/* What the linker counted (`jark cc -v`). */
typedef struct jk_sdk_link_stats {
    uint32_t rv_insns;   /* RISC-V instructions translated */
    uint32_t pvm_insns;  /* PVM instructions emitted */
    uint32_t jump_table; /* jump-table entries */
    uint32_t code_bytes; /* PVM code bytes */
} jk_sdk_link_stats;

#define JK_SDK_MAX_SOURCES 32
#define JK_SDK_MAX_FLAGS 32 /* -D and -I each */

/* Build options; a zeroed struct (or NULL) means -O2 and nothing else. */
typedef struct jk_sdk_options {
    const char *opt;                  /* "-O0", "-O2" or "-Os"; NULL = "-O2" */
    const char *const *defines;       /* -D arguments without the -D: NAME or NAME=VALUE */
    size_t define_count;              /* at most JK_SDK_MAX_FLAGS */
    const char *const *include_dirs;  /* -I folders, searched before the SDK's */
    size_t include_count;             /* at most JK_SDK_MAX_FLAGS */
    const char *asm_path;             /* optional: write the generated PVM assembly here */
    const char *map_path;             /* optional: write the pc → source line map here
                                         (docs/sdk-linker.md; compiles with -gdwarf-4,
                                         which leaves the program bytes unchanged) */
} jk_sdk_options;

/* Compile C sources with the SDK for RV64EM (clang-19), link them twice with
 * sdk/link.ld (ld.lld-19; the second time with the read-write base the
 * read-only size dictates) and translate the result to a program file.
 * @param[in]  sources, nsources  1..JK_SDK_MAX_SOURCES paths, borrowed.
 * @param[in]  o        options (NULL: defaults); borrowed.
 * @param[out] out      malloc'd program-file bytes the caller frees; untouched
 *                      on failure.
 * @param[out] out_len  their length.
 * @param[out] stats    optional: the linker's counts.
 * @param[out] diag     optional: the reason on failure.
 * @return JK_OK; JK_ERR_INVALID_ARG (no or too many sources, a bad -O level,
 *         too many -D/-I, a -D or -I that is empty or starts with '-');
 *         JK_ERR_IO (the SDK is not found, a tool cannot run or fails — the
 *         compiler's messages are on stderr —, a temporary file fails, the
 *         asm or map file cannot be written); JK_ERR_PARSE (the linker
 *         refuses the program: diag names the address and instruction);
 *         JK_ERR_PVM_ASM / JK_ERR_PVM_TOO_LARGE (the translation does not
 *         assemble); JK_ERR_NOMEM. */
jk_err jk_sdk_build(const char *const *sources, size_t nsources, const jk_sdk_options *o, uint8_t **out,
                    size_t *out_len, jk_sdk_link_stats *stats, jk_diag *diag);

/* jk_sdk_build of one source with -O2 and nothing else: the short form for
 * tests and tools. Returns as jk_sdk_build. */
jk_err jk_sdk_build_one(const char *source, uint8_t **out, size_t *out_len, jk_diag *diag);

/* Translate a linked RV64EM ELF (laid out by sdk/link.ld, linked with
 * --emit-relocs) into a program file with the SDK's stack (64 KiB) and heap
 * (16 pages) — what `jark link` does.
 * @param[in]  elf, elf_len  untrusted bytes, borrowed for the call.
 * @param[out] out, out_len  malloc'd program file (the caller frees it).
 * @param[out] asm_out       optional: malloc'd NUL-terminated PVM assembly.
 * @param[out] stats, diag   optional.
 * @return JK_OK; JK_ERR_PARSE (a malformed or unsupported ELF, or an
 *         instruction the linker cannot translate; diag says which and
 *         where); JK_ERR_PVM_ASM; JK_ERR_PVM_TOO_LARGE; JK_ERR_NOMEM. Never
 *         crashes on any input (fuzzed: tests/fuzz/fuzz_sdk.c). */
jk_err jk_sdk_link(const uint8_t *elf, size_t elf_len, uint8_t **out, size_t *out_len, char **asm_out,
                   jk_sdk_link_stats *stats, jk_diag *diag);

/* ---------------------------------------------------------------------------
 * Running on the bare PVM
 * ------------------------------------------------------------------------- */

typedef struct jk_sdk_exec_result {
    jk_pvm_status status;  /* JK_PVM_HALT, _PANIC, _PAGE_FAULT or _OUT_OF_GAS */
    uint64_t r7;           /* φ7 at the end: the C function's result */
    int64_t gas_used;
    uint32_t pc;           /* where it stopped (the faulting pc on a fault) */
    char reason[96];       /* why a host-side panic: "unknown host call 5", ... ("" otherwise) */
} jk_sdk_exec_result;

/* Run endpoint `entry` (NULL: endpoint 0) of a program file with `gas` and up
 * to 6 arguments in φ7..φ12. Debug writes (host call 100) go to `out` (NULL
 * discards them); any other host call, or a debug write from unreadable
 * memory, ends the run as a panic whose reason is in res->reason. The guest's
 * outcome is not an error: it is res->status.
 * @param[in] file, len  the program file, untrusted, borrowed.
 * @return JK_OK whenever the program ran; JK_ERR_PVM_BLOB (a bad program
 *         file or code); JK_ERR_INVALID_ARG (no endpoint `entry`, nargs > 6,
 *         gas < 0); JK_ERR_NOMEM. */
jk_err jk_sdk_exec(const uint8_t *file, size_t len, const char *entry, int64_t gas, const uint64_t *args,
                   int nargs, FILE *out, jk_sdk_exec_result *res, jk_diag *diag);

/* ---------------------------------------------------------------------------
 * The pc → source line map (`jark cc --map`, docs/sdk-linker.md)
 *
 * Text, one line per run of PVM instructions from one source line:
 * "<pc> <file>:<line>\n", pcs decimal and increasing; a run lasts until the
 * next line's pc. Made from the DWARF line tables of the linked ELF and the
 * linker's pc of each translated RISC-V instruction.
 * ------------------------------------------------------------------------- */

typedef struct jk_sdk_map jk_sdk_map;

/* Read a map file's text (untrusted).
 * @param[out] out  the caller frees it with jk_sdk_map_free.
 * @return JK_OK; JK_ERR_PARSE (a line not "<pc> <file>:<line>", pcs not
 *         increasing, a file name over 255 bytes: diag names the line);
 *         JK_ERR_NOMEM. Never crashes on any input (fuzzed:
 *         tests/fuzz/fuzz_events.c). */
jk_err jk_sdk_map_parse(const char *text, size_t len, jk_sdk_map **out, jk_diag *diag);
void jk_sdk_map_free(jk_sdk_map *m);

/* The source position of `pc`: the entry with the greatest pc <= pc. False
 * when pc precedes every entry. *file points into m, valid while m lives. */
bool jk_sdk_map_find(const jk_sdk_map *m, uint32_t pc, const char **file, uint32_t *line);

#endif
