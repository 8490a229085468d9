/* verify_storm.c — a hostile VerifyImage: blob = key[32] ‖ kind ‖ payload.
 * It attests (key, blob) again and again, the same blob Data each time,
 * until its gas runs out: each attest costs it one CALL of the AA and one
 * YIELD, whatever the blob's length (test_adv_chain.c). */
#include "jark.h"

uint64_t verify(void)
{
    uint8_t head[33];
    jk_move(JK_PATH2(0, 1), JK_PATH(30)); /* the AA */
    jk_move(JK_PATH2(0, 0), JK_PATH(31)); /* the blob */
    jk_data_read(JK_PATH(31), 0, 33, head);
    jk_drop(JK_SLOT0);
    jk_data_mint(head, 32, JK_PATH(35)); /* the key */
    for (;;) {
        jk_cnode_mint(JK_SLOT0, 2);
        jk_copy(JK_PATH(35), JK_PATH2(0, 0));
        jk_copy(JK_PATH(31), JK_PATH2(0, 1));
        if (jk_call(JK_PATH(30), 0, jk_gas(), 0, 0, 0).outcome != JK_OUTCOME_HALT)
            __builtin_trap();
        if (jk_cap_kind(JK_SLOT0) != JK_KIND_NONE)
            jk_drop(JK_SLOT0);
    }
    return 0;
}
JK_ENDPOINT(0, verify);
