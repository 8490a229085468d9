/* transact.c — the crowdfund chain's TransactImage: the instance verify makes for an
 * admitted transact. It holds the blob in slot 20; endpoint 0 hands a copy
 * back in slot[0]. Its result differs from dispatch_instance.c's so that the
 * two images differ: the kernel tells the kinds apart by image. */
#include "common.h"

uint64_t blob(void)
{
    jk_drop(JK_SLOT0);
    jk_copy(JK_PATH(EVENT_BLOB_SLOT), JK_SLOT0);
    return 1;
}
JK_ENDPOINT(0, blob);
