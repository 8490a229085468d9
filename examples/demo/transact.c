/* transact.c — TransactImage (pinned in slot 2): the instance verify makes for
 * an admitted transact (a transfer or a price update). It carries the blob in
 * slot 20; endpoint 0 hands a copy back in slot[0]. */
#include "demo.h"

uint64_t blob(void)
{
    jk_drop(JK_SLOT0);
    jk_copy(JK_PATH(DEMO_EVENT_BLOB_SLOT), JK_SLOT0);
    return DEMO_EVENT_TRANSACT;
}
JK_ENDPOINT(0, blob);
