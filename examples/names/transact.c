/* transact.c — the registry's TransactImage (pinned in slot 2): the instance
 * verify makes for an admitted award, renew, transfer or delete. It carries
 * the blob in slot 20; endpoint 0 hands a copy back in slot[0]. */
#include "names.h"

uint64_t blob(void)
{
    jk_drop(JK_SLOT0);
    jk_copy(JK_PATH(NAMES_EVENT_BLOB_SLOT), JK_SLOT0);
    return NAMES_EVENT_TRANSACT;
}
JK_ENDPOINT(0, blob);
