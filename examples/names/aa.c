/* aa.c — the standard AttestationAuthority (AAImage, pinned in slot 4).
 * `attest` yields the kernel's attest marker, which the chain layer puts in
 * slot 20 of every AA instance it injects; the request {0: key, 1: blob}
 * travels in slot[0]. The kernel decides; returning means "attested". */
#include "jark.h"

uint64_t attest(void)
{
    jk_yield(JK_PATH(20));
    return 0;
}
JK_ENDPOINT(0, attest);
