/* dispatch_instance.c — the registry's DispatchInstanceImage (pinned in slot
 * 3): the instance verify makes for an admitted claim. It carries the claim
 * in slot 20; endpoint 0 hands a copy back in slot[0] (process asks for it). */
#include "names.h"

uint64_t claim(void)
{
    jk_drop(JK_SLOT0);
    jk_copy(JK_PATH(NAMES_EVENT_BLOB_SLOT), JK_SLOT0);
    return NAMES_EVENT_DISPATCH;
}
JK_ENDPOINT(0, claim);
