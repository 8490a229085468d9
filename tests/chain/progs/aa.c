/* aa.c — the smallest AttestationAuthority: `attest` yields the kernel's
 * attest marker, which the chain layer put in slot 20 of this instance; the
 * request {key, blob} travels in slot[0]. Returning means "attested". */
#include "jark.h"

uint64_t attest(void)
{
    jk_yield(JK_PATH(20));
    return 0;
}
JK_ENDPOINT(0, attest);
