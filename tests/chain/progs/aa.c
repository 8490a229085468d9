/* aa.c — the smallest AttestationAuthority: `attest` yields the kernel's
 * attest marker, which the chain layer put in slot 20 of this instance; the
 * request {key, blob} travels in slot[0]. Returning means "attested".
 * Built with -DJK_TEST_NO_YIELD it returns without asking: every attest
 * would pass, which genesis refuses and the AA tests use. */
#include "jark.h"

uint64_t attest(void)
{
#ifndef JK_TEST_NO_YIELD /* for the tests: an AA that never asks the kernel */
    jk_yield(JK_PATH(20));
#endif
    return 0;
}
JK_ENDPOINT(0, attest);
