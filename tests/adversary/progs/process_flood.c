/* process_flood.c — a hostile Dispatch_0 image: slot[0] = {0: events, 1: AA}.
 * It takes the first event's blob (through the event instance's endpoint 1)
 * and emits it as a dispatch 300 times: one emit entry, COPYed into 300
 * slots of the emits CNode, a few hundred gas each whatever the blob's
 * length (test_adv_chain.c). */
#include "jark.h"

uint64_t process(void)
{
    static const uint32_t target = 1; /* dispatch 0 */
    jk_move(JK_PATH2(0, 0), JK_PATH(31)); /* the events */
    jk_drop(JK_SLOT0);
    if (jk_cap_kind(JK_PATH2(31, 0)) != JK_KIND_INSTANCE)
        return 0;
    if (jk_call(JK_PATH2(31, 0), 1, jk_gas(), 0, 0, 0).outcome != JK_OUTCOME_HALT)
        __builtin_trap();
    jk_move(JK_SLOT0, JK_PATH(34)); /* the blob */
    jk_cnode_mint(JK_PATH(33), 1);
    jk_data_mint(&target, 4, JK_PATH2(33, 0));
    jk_move(JK_PATH(34), JK_PATH2(33, 1));
    jk_cnode_mint(JK_SLOT0, 16);
    for (uint64_t i = 0; i < 300; i++)
        jk_copy(JK_PATH(33), JK_PATH2(0, i));
    return 300;
}
JK_ENDPOINT(0, process);
