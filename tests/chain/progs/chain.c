/* chain.c — a minimal ChainImage for the cycle tests: apply does nothing yet;
 * the transforms set_image to the pinned Verify (slot 1) and Dispatch_0
 * (slot 5) images. */
#include "jark.h"

uint64_t apply(void) { return 0; }
uint64_t transform_to_verify(void)
{
    jk_set_image(JK_PATH(1));
    return 0;
}
uint64_t transform_to_dispatch_0(void)
{
    jk_set_image(JK_PATH(5));
    return 0;
}
JK_ENDPOINT(0, apply);
JK_ENDPOINT(1, transform_to_verify);
JK_ENDPOINT(2, transform_to_dispatch_0);
