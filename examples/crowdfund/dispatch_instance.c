/* dispatch_instance.c — the crowdfund chain's DispatchInstanceImage: the instance verify
 * makes for an admitted dispatch event. It holds the blob in slot 20;
 * endpoint 0 hands a copy back in slot[0] (process asks for it). */
#include "common.h"

uint64_t blob(void)
{
    jk_drop(JK_SLOT0);
    jk_copy(JK_PATH(EVENT_BLOB_SLOT), JK_SLOT0);
    return 2;
}
JK_ENDPOINT(0, blob);
