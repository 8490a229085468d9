/* debugprog.c — writes one line to the debug stream and halts with its
 * length (tests/kernel/test_kernel_debug.c). */
#include "jark.h"

static uint64_t say(void)
{
    static const char line[] = "hello from the guest\n";
    jk_debug_write(line, sizeof line - 1);
    return sizeof line - 1;
}

JK_ENDPOINT(0, say);
