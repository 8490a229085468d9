/* dispatch_instance.c — DispatchInstanceImage (pinned in slot 3): the instance
 * verify makes for an admitted price report. It carries the report in slot 20;
 * endpoint 0 hands a copy back in slot[0] (Dispatch_0.process asks for it). */
#include "demo.h"

uint64_t report(void)
{
    jk_drop(JK_SLOT0);
    jk_copy(JK_PATH(DEMO_EVENT_BLOB_SLOT), JK_SLOT0);
    return DEMO_EVENT_DISPATCH;
}
JK_ENDPOINT(0, report);
