/* commands.h — the `jark` subcommands; each returns the process exit code.
 *
 * One exit-code rule for every command (README.md, "Exit codes"):
 *   0  done: the program halted, the chain accepted, the validators agreed;
 *   1  the guest or the chain said no: a program that panicked, faulted or
 *      ran out of gas, an event or block refused, validators disagreeing;
 *   2  a usage or input error: bad arguments, a file that cannot be read or
 *      written or is malformed, a program that does not build. */
#ifndef JK_TOOLS_COMMANDS_H
#define JK_TOOLS_COMMANDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jark/sdk.h"

enum { JK_EXIT_OK = 0, JK_EXIT_REFUSED = 1, JK_EXIT_USAGE = 2 };

int jk_tool_pvm(int argc, char **argv);     /* jark pvm test|run ... */
int jk_tool_asm(int argc, char **argv);     /* jark asm FILE.s -o FILE.pvm */
int jk_tool_disasm(int argc, char **argv);  /* jark disasm FILE.pvm */
int jk_tool_link(int argc, char **argv);    /* jark link ELF -o PROGRAM */
int jk_tool_cc(int argc, char **argv);      /* jark cc [-O0|-O2|-Os] FILE.c... -o PROGRAM */
int jk_tool_pvm_exec(int argc, char **argv); /* jark pvm exec PROGRAM ... */
int jk_tool_image(int argc, char **argv);   /* jark image build|run|show ... */
int jk_tool_devnet(int argc, char **argv);  /* jark devnet [options] */
int jk_tool_keygen(int argc, char **argv);  /* jark keygen -o FILE */
int jk_tool_event(int argc, char **argv);   /* jark event sign|transfer|report|show ... */
int jk_tool_chain(int argc, char **argv);   /* jark chain genesis|show ... */
int jk_tool_chain_show(int argc, char **argv); /* jark chain show --store DIR */
int jk_tool_chain_new(int argc, char **argv);  /* jark chain new NAME */
int jk_tool_node(int argc, char **argv);       /* jark node --spec SPEC --key FILE ... */
int jk_tool_testnet(int argc, char **argv);    /* jark testnet [options] */

/* Print "at pc N: FILE:LINE" (or that the map does not cover pc) on stderr
 * from the map file at map_path (`jark cc --map`). Returns 0, or -1 after
 * saying why the map cannot be read. */
int jk_tool_print_source(const char *map_path, uint32_t pc);

/* Build options as `jark cc` and `jark chain genesis` take them. */
typedef struct jk_tool_build {
    const char *defines[JK_SDK_MAX_FLAGS], *includes[JK_SDK_MAX_FLAGS];
    jk_sdk_options o; /* points at the arrays above: call jk_tool_build_init */
} jk_tool_build;

void jk_tool_build_init(jk_tool_build *b);

/* If argv[*i] is a build option (-O0|-O2|-Os, -DNAME[=V], -D NAME, -IDIR,
 * -I DIR), take it (and its value: *i advances) and return 1; 0 when it is
 * not one; -1 when it is one but too many were given. */
int jk_tool_build_flag(int argc, char **argv, int *i, jk_tool_build *b);

#define JK_TOOL_BUILD_USAGE "[-O0|-O2|-Os] [-DNAME[=VALUE]]... [-IDIR]..."
int jk_tool_rpc(int argc, char **argv);     /* jark rpc [--rpc HOST:PORT] METHOD [ARGS] */

/* Read a whole file into a malloc'd buffer (NUL-terminated for text use).
 * Returns 0 on success; on failure prints "jark: PATH: reason" and returns -1. */
int jk_tool_read_file(const char *path, unsigned char **out, size_t *out_len);

/* Write len bytes to path (created or truncated). Returns 0, or -1 after
 * printing "jark: cannot write PATH: reason". */
int jk_tool_write_file(const char *path, const void *data, size_t len);

/* Parse a whole string as a number: decimal or 0x hex; with allow_negative, a
 * leading '-' gives the two's-complement 64-bit pattern. Returns 0, or -1 when
 * the string is not exactly one number in range. */
int jk_tool_parse_number(const char *text, bool allow_negative, uint64_t *out);

/* `--engine interp|jit|auto` at argv[*i]: takes it and its value (*i
 * advances) and makes it the engine every kernel of this process runs
 * programs on (jk_pvm_set_auto_engine: results are the same on either).
 * Returns 1 when taken, 0 when argv[*i] is not --engine, -1 on a bad value
 * (message printed). */
int jk_tool_engine_flag(int argc, char **argv, int *i);

/* An option that takes one value and may come once: sets *slot to value and
 * returns 0, or, when *slot is already set, prints "jark CMD: OPT given
 * twice" and returns -1 (a second --dir or --key must not silently win). */
int jk_tool_once(const char *cmd, const char *opt, const char **slot, const char *value);

#endif
