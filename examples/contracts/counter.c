/* counter.c — library image 0: a counter. call(arg) adds arg to the count
 * (storage word 0) and returns it. */
#include "library.h"

uint64_t process(void) { return library_process(); }

uint64_t call(uint64_t arg)
{
    uint64_t v = storage_get(0) + arg;
    storage_set(&v, 1);
    return v;
}

uint64_t export(void) { return library_export(); }

JK_ENDPOINT(EP_PROCESS, process);
JK_ENDPOINT(EP_CALL, call);
JK_ENDPOINT(EP_EXPORT, export);
