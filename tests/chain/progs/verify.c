/* verify.c — a VerifyImage for the cycle tests. The blob is key[32] ‖ kind
 * ‖ payload: the key must attest the whole blob (through the AA that came in
 * slot[0]); kind 'D' makes a Dispatch event instance, anything else a
 * Transact, each holding the blob in its slot 20. With kind 'M' the verify
 * also scribbles on its own copy of the chain state (slot 40), which must not
 * leak anywhere. */
#include "jark.h"

uint64_t verify(void)
{
    uint8_t head[33];
    jk_move(JK_PATH2(0, 1), JK_PATH(30)); /* the AA */
    jk_move(JK_PATH2(0, 0), JK_PATH(31)); /* the blob */
    if (jk_data_len(JK_PATH(31)) < 33)
        __builtin_trap();
    jk_data_read(JK_PATH(31), 0, 33, head);
    if (head[32] == 'M') {
        jk_drop(JK_PATH(40));
        jk_data_mint(head, 33, JK_PATH(40));
    }
    /* attest(key, blob) */
    jk_drop(JK_SLOT0);
    jk_cnode_mint(JK_SLOT0, 2);
    jk_data_mint(head, 32, JK_PATH2(0, 0));
    jk_copy(JK_PATH(31), JK_PATH2(0, 1));
    if (jk_call(JK_PATH(30), 0, jk_gas(), 0, 0, 0).outcome != JK_OUTCOME_HALT)
        __builtin_trap();
    /* the event instance */
    jk_cnode_mint(JK_PATH(32), 8);
    jk_move(JK_PATH(31), JK_PATH2(32, 20));
    jk_derive_spawn(head[32] == 'D' ? JK_PATH(3) : JK_PATH(2), JK_PATH(32), JK_PATH(33));
    jk_drop(JK_SLOT0);
    jk_move(JK_PATH(33), JK_SLOT0);
    return 1;
}
JK_ENDPOINT(0, verify);
