/* process.c — a Dispatch_0 image for the cycle tests. slot[0] = {0: events
 * (Dispatch event instances), 1: AA}. For each event it asks the instance for
 * its blob (endpoint 1 hands it back in slot[0]) and attests (key, blob) —
 * subject to the seen-rule. A report whose text starts with 'X' makes it
 * attest a key nobody used this cycle instead, which must abort the process.
 * Then it emits the first report again twice: as a transact (which the
 * proposer's block then carries) and as a dispatch for the next cycle.
 * Returns the count. */
#include "jark.h"

uint64_t process(void)
{
    uint64_t n = 0;
    jk_move(JK_PATH2(0, 1), JK_PATH(30)); /* the AA */
    jk_move(JK_PATH2(0, 0), JK_PATH(31)); /* the events */
    for (uint64_t i = 0; i < 64; i++) {
        if (jk_cap_kind(JK_PATH2(31, i)) != JK_KIND_INSTANCE)
            continue;
        jk_drop(JK_SLOT0);
        if (jk_call(JK_PATH2(31, i), 1, jk_gas(), 0, 0, 0).outcome != JK_OUTCOME_HALT)
            __builtin_trap();
        uint8_t head[34];
        jk_data_read(JK_SLOT0, 0, 34, head);
        if (head[33] == 'X')
            for (int b = 0; b < 32; b++)
                head[b] = 0xEE;
        jk_move(JK_SLOT0, JK_PATH(33));
        if (jk_cap_kind(JK_PATH(34)) == JK_KIND_NONE)
            jk_copy(JK_PATH(33), JK_PATH(34)); /* the first report, for the emits */
        jk_cnode_mint(JK_SLOT0, 2);
        jk_data_mint(head, 32, JK_PATH2(0, 0));
        jk_move(JK_PATH(33), JK_PATH2(0, 1));
        if (jk_call(JK_PATH(30), 0, jk_gas(), 0, 0, 0).outcome != JK_OUTCOME_HALT)
            __builtin_trap();
        n++;
    }
    jk_drop(JK_SLOT0);
    if (n) {
        static const uint32_t targets[2] = {0, 1}; /* transact; dispatch 0 */
        jk_cnode_mint(JK_SLOT0, 1);
        for (uint64_t e = 0; e < 2; e++) {
            jk_cnode_mint(JK_PATH2(0, e), 1);
            jk_data_mint(&targets[e], 4, JK_PATH3(0, e, 0));
            jk_copy(JK_PATH(34), JK_PATH3(0, e, 1));
        }
    }
    return n;
}
JK_ENDPOINT(0, process);
