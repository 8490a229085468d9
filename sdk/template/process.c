/* process.c — @NAME@'s Dispatch_0_Image: runs once per cycle over the
 * dispatch events admitted to endpoint 0. slot[0] = {0: CNode of the event
 * instances, in admission order, 1: AA}. It counts the pings. It could emit
 * transacts or next-cycle dispatches: slot[0] at HALT = a CNode whose slots
 * hold {0: target Data (u32 LE: 0 transact, k + 1 dispatch k), 1: blob}
 * (examples/demo/process.c emits one). Returns the number of pings. */
#include "common.h"

uint64_t process(void)
{
    jk_move(JK_PATH2(0, 1), JK_PATH(SLOT_AA));
    jk_move(JK_PATH2(0, 0), JK_PATH(SLOT_INPUT));
    jk_drop(JK_SLOT0);
    uint64_t n = 0;
    while (n < 65536 && jk_cap_kind(JK_PATH2(SLOT_INPUT, n)) == JK_KIND_INSTANCE)
        n++;
    jk_cnode_mint(JK_SLOT0, 0); /* no emits */
    jk_drop(JK_PATH(SLOT_AA));
    jk_drop(JK_PATH(SLOT_INPUT));
    return n;
}
JK_ENDPOINT(0, process);
