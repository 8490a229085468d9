/* verify_two.c — a VerifyImage for the batched-verify tests (test_verify_batch.c).
 * The blob is key1[32] ‖ kind ‖ key2[32] ‖ payload. Unless kind is 'N' (no
 * attest), key1 attests the blob; then kind '2' has key2 attest it too, 'H'
 * has key2 attest the blob's first 40 bytes (another message), 'F' faults.
 * Hands back a Transact holding the blob in its slot 20. */
#include "jark.h"

static void attest(const uint8_t *key, const uint8_t *head, int whole)
{
    jk_drop(JK_SLOT0);
    jk_cnode_mint(JK_SLOT0, 2);
    jk_data_mint(key, 32, JK_PATH2(0, 0));
    if (whole)
        jk_copy(JK_PATH(31), JK_PATH2(0, 1));
    else
        jk_data_mint(head, 40, JK_PATH2(0, 1));
    if (jk_call(JK_PATH(30), 0, jk_gas(), 0, 0, 0).outcome != JK_OUTCOME_HALT)
        __builtin_trap();
}

uint64_t verify(void)
{
    uint8_t head[65];
    jk_move(JK_PATH2(0, 1), JK_PATH(30)); /* the AA */
    jk_move(JK_PATH2(0, 0), JK_PATH(31)); /* the blob */
    if (jk_data_len(JK_PATH(31)) < 65)
        __builtin_trap();
    jk_data_read(JK_PATH(31), 0, 65, head);
    uint8_t kind = head[32];
    if (kind != 'N')
        attest(head, head, 1);
    if (kind == 'F')
        jk_fault(7, "after the attest", 16);
    if (kind == '2')
        attest(head + 33, head, 1);
    if (kind == 'H')
        attest(head + 33, head, 0);
    jk_cnode_mint(JK_PATH(32), 8);
    jk_move(JK_PATH(31), JK_PATH2(32, 20));
    jk_derive_spawn(JK_PATH(2), JK_PATH(32), JK_PATH(33));
    jk_drop(JK_SLOT0);
    jk_move(JK_PATH(33), JK_SLOT0);
    return 1;
}
JK_ENDPOINT(0, verify);
