/* commands.h — the `jark` subcommands; each returns the process exit code. */
#ifndef JK_TOOLS_COMMANDS_H
#define JK_TOOLS_COMMANDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

int jk_tool_pvm(int argc, char **argv);     /* jark pvm test|run ... */
int jk_tool_asm(int argc, char **argv);     /* jark asm FILE.s -o FILE.pvm */
int jk_tool_disasm(int argc, char **argv);  /* jark disasm FILE.pvm */
int jk_tool_link(int argc, char **argv);    /* jark link ELF -o PROGRAM */
int jk_tool_cc(int argc, char **argv);      /* jark cc [-O0|-O2|-Os] FILE.c... -o PROGRAM */
int jk_tool_pvm_exec(int argc, char **argv); /* jark pvm exec PROGRAM ... */
int jk_tool_image(int argc, char **argv);   /* jark image build|run|show ... */
int jk_tool_devnet(int argc, char **argv);  /* jark devnet [options] */
int jk_tool_chain_show(int argc, char **argv); /* jark chain show --store DIR */
int jk_tool_rpc(int argc, char **argv);     /* jark rpc [--rpc HOST:PORT] METHOD [ARGS] */

/* Read a whole file into a malloc'd buffer (NUL-terminated for text use).
 * Returns 0 on success; on failure prints "jark: PATH: reason" and returns -1. */
int jk_tool_read_file(const char *path, unsigned char **out, size_t *out_len);

/* Parse a whole string as a number: decimal or 0x hex; with allow_negative, a
 * leading '-' gives the two's-complement 64-bit pattern. Returns 0, or -1 when
 * the string is not exactly one number in range. */
int jk_tool_parse_number(const char *text, bool allow_negative, uint64_t *out);

#endif
