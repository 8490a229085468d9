/* dispatch_instance.c — the contracts chain's DispatchInstanceImage: the instance verify makes
 * for an admitted event; it holds the blob in slot 20 and endpoint 0 hands
 * a copy back. (This chain admits no dispatch events; the image must still
 * exist and differ from the other, so its result differs.) */
#include "contracts.h"

uint64_t blob(void)
{
    jk_drop(JK_SLOT0);
    jk_copy(JK_PATH(EVENT_BLOB_SLOT), JK_SLOT0);
    return 2;
}
JK_ENDPOINT(0, blob);
