/* aa.c — the standard AttestationAuthority (../shared/design/attestation.md).
 * `attest` yields the kernel's attest marker (the chain layer puts it in
 * slot 20 of every AA instance it makes); the request {0: key, 1: blob}
 * travels in slot[0]; returning means "attested". Keep it as it is: an AA
 * that returns without yielding would make every signature check pass. */
#include "jark.h"

uint64_t attest(void)
{
    jk_yield(JK_PATH(20));
    return 0;
}
JK_ENDPOINT(0, attest);
