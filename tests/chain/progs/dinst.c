/* dinst.c — a DispatchInstanceImage for the cycle tests: the event's blob
 * (slot 20) by length, or handed back through slot[0]. */
#include "jark.h"

uint64_t dispatch_blob_len(void) { return jk_data_len(JK_PATH(20)) + 1000; }
uint64_t give_blob(void)
{
    jk_drop(JK_SLOT0);
    jk_copy(JK_PATH(20), JK_SLOT0);
    return 0;
}
JK_ENDPOINT(0, dispatch_blob_len);
JK_ENDPOINT(1, give_blob);
