/* counter_v2.c — library image 1: the counter's next version, what a
 * governance upgrade ('U') moves a counter to. It takes over a counter's
 * storage as it is (word 0, the count) and adds word 1, the calls made
 * since. call(arg) adds 2 × arg and returns the count. */
#include "library.h"

uint64_t process(void) { return library_process(); }

uint64_t call(uint64_t arg)
{
    uint64_t w[2] = {storage_get(0) + 2 * arg, storage_get(1) + 1};
    storage_set(w, 2);
    return w[0];
}

uint64_t export(void) { return library_export(); }

JK_ENDPOINT(EP_PROCESS, process);
JK_ENDPOINT(EP_CALL, call);
JK_ENDPOINT(EP_EXPORT, export);
