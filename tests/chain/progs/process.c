/* process.c — a Dispatch_0 image for the cycle tests: counts the events. */
#include "jark.h"

uint64_t process(void)
{
    uint64_t n = 0;
    for (uint64_t i = 0; i < 16; i++)
        if (jk_cap_kind(JK_PATH3(0, 0, i)) == JK_KIND_INSTANCE)
            n++;
    return n;
}
JK_ENDPOINT(0, process);
