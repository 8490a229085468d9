/* cmd_asm.c — `jark asm` and `jark disasm` (stub; being written). */
#include <stddef.h>

#include "commands.h"

#include <stdio.h>

int jk_tool_asm(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fputs("jark: asm not implemented yet\n", stderr);
    return 2;
}

int jk_tool_disasm(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fputs("jark: disasm not implemented yet\n", stderr);
    return 2;
}
